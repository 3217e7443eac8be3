#!/usr/bin/env bash
# awsdt-fabric's pingpong against libfabric's own fi_pingpong (Debian's libfabric-bin), on the same provider,
# host and sizes, one run after the other: latency at 8 B and bandwidth at 1 MiB, medians over rounds, and the
# ratios (target: within 10%). Both move a message there and back and report half the round trip (the loop's
# time over twice its iterations); both inject what fits the provider's inject size; bandwidth is bytes over that
# half round trip; neither warms up (fi_pingpong has no warm-up, so awsdt-fabric runs with -w 0). The load
# average before and after is printed: both spin, so other work on the cores shows in the figures.
#
#   test_cases/fabric/bench/compare_fi_pingpong.sh [BUILD_DIR]     (default build/)
#   PROVIDER=tcp ROUNDS=5 ITERS=10000 BIG_ITERS=1000 test_cases/fabric/bench/compare_fi_pingpong.sh build-fabric
#
# On cores that other work shares (builds), CHRT="chrt -f 10" runs every process of both tools under SCHED_FIFO
# (root), so that the compilers wait instead of preempting a spinning peer; both tools get the same treatment.
set -euo pipefail
BUILD=${1:-build}
EXE="$BUILD/bin/awsdt-fabric"
PROVIDER=${PROVIDER:-shm}
ROUNDS=${ROUNDS:-11}
ITERS=${ITERS:-100000}         # round trips at 8 B
BIG_ITERS=${BIG_ITERS:-5000}   # round trips at 1 MiB
CHRT=${CHRT:-}                 # e.g. "chrt -f 10": the scheduling both tools' processes run under
MPIRUN=${MPIRUN:-mpirun --oversubscribe --allow-run-as-root --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo}
command -v fi_pingpong >/dev/null || { echo "fi_pingpong not found: apt-get install libfabric-bin" >&2; exit 2; }
[ -x "$EXE" ] || { echo "$EXE not built: ninja -C $BUILD awsdt-fabric" >&2; exit 2; }
port=47600

# fi_pingpong at SIZE for N round trips: prints "usec/xfer MB/sec" (MB = 1e6 bytes).
fi_run() {
  local size=$1 n=$2
  port=$((port + 1))
  # One core each, as mpirun binds the two awsdt-fabric ranks: spinning peers must not share a core.
  timeout 300 $CHRT taskset -c 0 fi_pingpong -p "$PROVIDER" -e rdm -S "$size" -I "$n" -B "$port" >/dev/null 2>&1 &
  local server=$!
  sleep 0.3
  timeout 300 $CHRT taskset -c 1 fi_pingpong -p "$PROVIDER" -e rdm -S "$size" -I "$n" -P "$port" 127.0.0.1 | tail -1 | awk '{print $7, $6}'
  wait "$server"
}

# awsdt-fabric's pingpong at SIZE for N round trips, 2 ranks: prints "usec/xfer MB/sec".
awsdt_run() {
  local size=$1 n=$2 csv
  csv=$(mktemp)
  $MPIRUN --bind-to core -np 2 $CHRT "$EXE" pingpong -p "$PROVIDER" -b "$size" -e "$size" -n "$n" -w 0 --csv "$csv" >/dev/null
  awk -F, 'NR == 2 {print $7, $11 * 1000}' "$csv"
  rm -f "$csv"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(load)
declare -A fi_lat awsdt_lat fi_bw awsdt_bw
for round in $(seq "$ROUNDS"); do
  read -r l _ < <(fi_run 8 "$ITERS");            fi_lat[$round]=$l
  read -r l _ < <(awsdt_run 8 "$ITERS");         awsdt_lat[$round]=$l
  read -r _ b < <(fi_run 1048576 "$BIG_ITERS");  fi_bw[$round]=$b
  read -r _ b < <(awsdt_run 1048576 "$BIG_ITERS"); awsdt_bw[$round]=$b
  echo "round $round: 8 B latency fi_pingpong ${fi_lat[$round]} us, awsdt-fabric ${awsdt_lat[$round]} us;" \
       "1 MiB bandwidth fi_pingpong ${fi_bw[$round]} MB/s, awsdt-fabric ${awsdt_bw[$round]} MB/s"
done

m_fi_lat=$(printf '%s\n' "${fi_lat[@]}" | median)
m_awsdt_lat=$(printf '%s\n' "${awsdt_lat[@]}" | median)
m_fi_bw=$(printf '%s\n' "${fi_bw[@]}" | median)
m_awsdt_bw=$(printf '%s\n' "${awsdt_bw[@]}" | median)
awk -v p="$PROVIDER" -v r="$ROUNDS" -v h="$(hostname)" -v lb="$load_before" -v la="$(load)" -v c="$CHRT" -v fl="$m_fi_lat" -v al="$m_awsdt_lat" -v fb="$m_fi_bw" -v ab="$m_awsdt_bw" 'BEGIN {
  lr = al / fl; br = ab / fb
  printf "provider %s on %s, medians of %d rounds (fi_pingpong -e rdm vs awsdt-fabric pingpong, 2 processes)\n", p, h, r
  printf "load average (1, 5, 15 min) before %s, after %s%s\n", lb, la, c == "" ? "" : ", both tools under " c
  printf "latency   8 B:   fi_pingpong %8.2f us    awsdt-fabric %8.2f us    ratio %.3f  %s\n", fl, al, lr, (lr <= 1.10 && lr >= 0.90) ? "within 10%" : "OUTSIDE 10%"
  printf "bandwidth 1 MiB: fi_pingpong %8.1f MB/s  awsdt-fabric %8.1f MB/s  ratio %.3f  %s\n", fb, ab, br, (br <= 1.10 && br >= 0.90) ? "within 10%" : "OUTSIDE 10%"
}'
