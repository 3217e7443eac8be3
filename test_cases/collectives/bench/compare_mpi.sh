#!/usr/bin/env bash
# Speed of awsdt-collectives against a plain MPI_Allreduce loop, side by side in one run (2 ranks):
#   bandwidth at 64 MiB float: our busbw / plain busbw           (target >= 0.97)
#   harness overhead at 8 B:   (our time - plain time) / plain   (target <= 0.05)
# The 8 B comparison is also made against the plain loop at MPI_THREAD_MULTIPLE, the level awsdt's
# communication threads need, to separate the harness's cost from Open MPI's cost of thread support.
# Rounds alternate the two programs; medians over rounds are compared (this machine is shared and noisy).
# Usage: test_cases/collectives/bench/compare_mpi.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-7}
OURS="$BUILD/bin/awsdt-collectives"
PLAIN="$BUILD/bench/plain_mpi_allreduce"
MPIRUN=(mpirun -np 2 --bind-to none)
if [[ $(id -u) -eq 0 ]]; then MPIRUN+=(--allow-run-as-root); fi
for exe in "$OURS" "$PLAIN"; do
  [[ -x $exe ]] || { echo "missing $exe: build first (tools/setup.sh)" >&2; exit 2; }
done

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# Out-of-place time and busbw of the single data row of an nccl-tests table.
ours_row() { "${MPIRUN[@]}" "$OURS" all_reduce -b "$1" -e "$1" -n "$2" -w "$3" -c 0 | awk '!/^#/ && NF >= 9 {print $6, $8}'; }

big=$((64 << 20))
: >/tmp/awsdt_cmp_bw_ours; : >/tmp/awsdt_cmp_bw_plain; : >/tmp/awsdt_cmp_lat_ours; : >/tmp/awsdt_cmp_lat_plain
: >/tmp/awsdt_cmp_lat_plain_mt
for ((r = 1; r <= ROUNDS; r++)); do
  ours_row $big 20 5 | awk '{print $2}' >>/tmp/awsdt_cmp_bw_ours
  "${MPIRUN[@]}" "$PLAIN" $big 20 5 | awk '{print $3}' >>/tmp/awsdt_cmp_bw_plain
  ours_row 8 20000 1000 | awk '{print $1}' >>/tmp/awsdt_cmp_lat_ours
  "${MPIRUN[@]}" "$PLAIN" 8 20000 1000 | awk '{print $2}' >>/tmp/awsdt_cmp_lat_plain
  "${MPIRUN[@]}" "$PLAIN" 8 20000 1000 multiple | awk '{print $2}' >>/tmp/awsdt_cmp_lat_plain_mt
  echo "round $r/$ROUNDS done" >&2
done
bw_ours=$(median </tmp/awsdt_cmp_bw_ours); bw_plain=$(median </tmp/awsdt_cmp_bw_plain)
lat_ours=$(median </tmp/awsdt_cmp_lat_ours); lat_plain=$(median </tmp/awsdt_cmp_lat_plain)
lat_plain_mt=$(median </tmp/awsdt_cmp_lat_plain_mt)
echo "all_reduce 64 MiB float, 2 ranks: busbw awsdt $bw_ours GB/s, plain MPI $bw_plain GB/s" \
     "(medians of $ROUNDS)"
awk -v a="$bw_ours" -v b="$bw_plain" 'BEGIN {printf "bandwidth ratio awsdt/plain = %.3f (target >= 0.97)\n", a / b}'
echo "all_reduce 8 B, 2 ranks: time awsdt $lat_ours us, plain MPI $lat_plain us (medians of $ROUNDS)"
awk -v a="$lat_ours" -v b="$lat_plain" 'BEGIN {printf "harness overhead (awsdt-plain)/plain = %.3f (target <= 0.05)\n", (a - b) / b}'
echo "plain MPI at MPI_THREAD_MULTIPLE: $lat_plain_mt us"
awk -v a="$lat_ours" -v b="$lat_plain_mt" 'BEGIN {printf "harness overhead vs plain at the same thread level = %.3f\n", (a - b) / b}'
