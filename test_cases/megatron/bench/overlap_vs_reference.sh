#!/usr/bin/env bash
# awsdt-megatron gemm on this machine (2 ranks × 1 thread) against its references, side by side, at shapes where
# the collective costs at least a third of the GEMM (ag_gemm 2048x128x2048, gemm_rs 2048x2048x128, fp32):
#   T_gemm  against plain cblas_sgemm of the same per-rank GEMM, 2 processes at once   (target ratio >= 0.95)
#   T_comm  against awsdt-collectives on the same bytes (all_gather / reduce_scatter)   (target ratio >= 0.95),
#           with awsdt-megatron's default --mpi-wait poll and with spin, the mode awsdt-collectives runs in
#   every method's overlap efficiency and speedup over serial.
# Rounds alternate the programs; medians over rounds are printed (this machine is shared and noisy).
# Usage: test_cases/megatron/bench/overlap_vs_reference.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-5}
OURS="$BUILD/bin/awsdt-megatron"
PLAIN="$BUILD/bench/plain_sgemm"
COLL="$BUILD/bin/awsdt-collectives"
MPIRUN=(mpirun -np 2)
if [[ $(id -u) -eq 0 ]]; then MPIRUN+=(--allow-run-as-root); fi
for exe in "$OURS" "$PLAIN" "$COLL"; do
  [[ -x $exe ]] || { echo "missing $exe: build first (tools/setup.sh)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# CSV column of a method's row: column NAME of the row whose method is METHOD.
column() { awk -F, -v m="$2" -v c="$3" 'NR == 1 {for (i = 1; i <= NF; i++) idx[$i] = i; next} $2 == m {print $idx[c]}' "$1"; }

# pattern, global shape, the per-rank GEMM (m n k), the collective and its bytes
cases=("ag_gemm 2048x128x2048 2048 64 2048 all_gather $((2048 * 2048 * 4))"
       "gemm_rs 2048x2048x128 2048 2048 64 reduce_scatter $((2048 * 2048 * 4))")
for ((r = 1; r <= ROUNDS; r++)); do
  for c in "${cases[@]}"; do
    read -r pattern shape m n k coll bytes <<<"$c"
    "${MPIRUN[@]}" "$OURS" gemm --threads 1 --pattern "$pattern" --shape "$shape" -n 20 -w 3 \
      --csv "$work/ours.csv" >/dev/null
    for method in serial pipelined ring; do
      for col in t_gemm_us t_comm_us t_serial_us t_us efficiency speedup; do
        column "$work/ours.csv" "$method" "$col" >>"$work/$pattern.$method.$col"
      done
    done
    "${MPIRUN[@]}" "$OURS" gemm --threads 1 --pattern "$pattern" --shape "$shape" -n 20 -w 3 --method serial \
      --mpi-wait spin --csv "$work/spin.csv" >/dev/null
    column "$work/spin.csv" serial t_comm_us >>"$work/$pattern.spin"
    "${MPIRUN[@]}" "$PLAIN" "$m" "$n" "$k" 20 3 | awk '{s += $1} END {print s / NR}' >>"$work/$pattern.plain"
    "${MPIRUN[@]}" "$COLL" "$coll" -b "$bytes" -e "$bytes" -n 20 -w 3 -c 0 |
      awk '!/^#/ && NF >= 9 {print $6}' >>"$work/$pattern.coll"
  done
  echo "round $r/$ROUNDS done" >&2
done

for c in "${cases[@]}"; do
  read -r pattern shape m n k coll bytes <<<"$c"
  gemm=$(median <"$work/$pattern.serial.t_gemm_us"); plain=$(median <"$work/$pattern.plain")
  comm=$(median <"$work/$pattern.serial.t_comm_us"); ref=$(median <"$work/$pattern.coll")
  echo "$pattern $shape (fp32, 2 ranks x 1 thread; medians of $ROUNDS rounds)"
  awk -v a="$gemm" -v b="$plain" 'BEGIN {printf "  T_gemm %.1f us, plain sgemm %.1f us: ratio plain/ours = %.3f (target >= 0.95)\n", a, b, b / a}'
  spin=$(median <"$work/$pattern.spin")
  awk -v a="$comm" -v b="$ref" -v c="$coll" 'BEGIN {printf "  T_comm %.1f us, awsdt-collectives %s %.1f us: ratio = %.3f (target >= 0.95)\n", a, c, b, b / a}'
  awk -v a="$spin" -v b="$ref" 'BEGIN {printf "  T_comm with --mpi-wait spin %.1f us: ratio = %.3f\n", a, b / a}'
  awk -v a="$comm" -v b="$gemm" 'BEGIN {printf "  T_comm / T_gemm = %.2f\n", a / b}'
  for method in serial pipelined ring; do
    t=$(median <"$work/$pattern.$method.t_us"); eff=$(median <"$work/$pattern.$method.efficiency")
    sp=$(median <"$work/$pattern.$method.speedup")
    awk -v m="$method" -v t="$t" -v e="$eff" -v s="$sp" \
      'BEGIN {printf "  %-9s T = %9.1f us  overlap efficiency %5.1f%%  speedup over serial %.3f\n", m, t, 100 * e, s}'
  done
done
