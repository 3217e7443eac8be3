#!/usr/bin/env bash
# engine_vs_sgemm.sh [BUILD_DIR] [STEPS]: how close the CPU fp32 engine gets to OpenBLAS sgemm on this machine.
# Runs awsdt-fsdp --model small with 2 BLAS threads (its start-up sgemm calibration is the sgemm measurement of
# the same run) and prints the achieved model FLOP/s, the sgemm FLOP/s, their ratio, and the time per op class.
# Builds nothing: BUILD_DIR (default: build) must already contain bin/awsdt-fsdp.
set -euo pipefail

build=${1:-build}
steps=${2:-6}
exe="$build/bin/awsdt-fsdp"
if [[ ! -x "$exe" ]]; then
  echo "engine_vs_sgemm.sh: $exe not found; build it first (ninja -C $build awsdt-fsdp)" >&2
  exit 2
fi

log=$("$exe" --model small --threads 2 --steps "$steps" --op-breakdown 2>&1)
echo "$log"
echo

sgemm=$(sed -n 's/.*sgemm peak: \([0-9.]*\) GFLOP\/s.*/\1/p' <<<"$log" | head -n1)
model=$(sed -n 's/.*median TFLOP\/s: \([0-9.]*\) .*/\1/p' <<<"$log" | head -n1)
if [[ -z "$sgemm" || -z "$model" ]]; then
  echo "engine_vs_sgemm.sh: could not find the sgemm peak or the summary line in the output above" >&2
  exit 1
fi
awk -v s="$sgemm" -v m="$model" 'BEGIN {
  mg = m * 1000
  printf "model FLOP/s (torchtitan count, median step): %.2f GFLOP/s\n", mg
  printf "sgemm FLOP/s (n=1024, 2 threads, best run):   %.2f GFLOP/s\n", s
  printf "ratio model / sgemm:                          %.1f%%\n", 100 * mg / s
}'
