#!/usr/bin/env bash
# engine_vs_sgemm.sh [BUILD_DIR] [STEPS] [RUNS]: how close the CPU fp32 engine gets to OpenBLAS sgemm here.
# Runs awsdt-fsdp --model small with 2 threads RUNS times (default 3). The sgemm figure of a run is the best of
# three calibrations (n=1024, 2 threads): one just before the run, the run's own at its start, one just after;
# on a shared machine a single calibration can land in a slow moment and flatter the ratio. Prints each run's
# model FLOP/s, sgemm FLOP/s and ratio, then the medians, and the time per op class of the last run.
# Builds nothing: BUILD_DIR (default: build) must already contain bin/awsdt-fsdp.
set -euo pipefail

build=${1:-build}
steps=${2:-6}
runs=${3:-3}
exe="$build/bin/awsdt-fsdp"
if [[ ! -x "$exe" ]]; then
  echo "engine_vs_sgemm.sh: $exe not found; build it first (ninja -C $build awsdt-fsdp)" >&2
  exit 2
fi

rows=""
for ((r = 1; r <= runs; ++r)); do
  before=$("$exe" --calibrate-only --threads 2 2>&1)
  log=$("$exe" --model small --threads 2 --steps "$steps" --op-breakdown 2>&1)
  after=$("$exe" --calibrate-only --threads 2 2>&1)
  sgemm=$(printf '%s\n%s\n%s\n' "$before" "$log" "$after" | sed -n 's/.*sgemm peak: \([0-9.]*\) GFLOP\/s.*/\1/p' |
    sort -g | tail -n1)
  model=$(sed -n 's/.*median TFLOP\/s\/device: \([0-9.]*\) .*/\1/p' <<<"$log" | head -n1)
  if [[ -z "$sgemm" || -z "$model" ]]; then
    echo "$log"
    echo "engine_vs_sgemm.sh: could not find the sgemm peak or the summary line in the output above" >&2
    exit 1
  fi
  row=$(awk -v r="$r" -v s="$sgemm" -v m="$model" \
    'BEGIN { printf "%d %.2f %.2f %.1f", r, m * 1000, s, 100 * m * 1000 / s }')
  echo "run $row" | awk '{ printf "run %d: model %7.2f GFLOP/s | sgemm %7.2f GFLOP/s | ratio %5.1f%%\n", $2, $3, $4, $5 }'
  rows+="$row"$'\n'
done

echo
echo "last run, op breakdown:"
sed -n '/^op breakdown/,$p' <<<"$log"
echo
# Medians over the runs (model FLOP/s: 6·N + 12·L·d·T per token, N counting small's tied LM head).
printf '%s' "$rows" | awk '
  function median(a, n,   i, j, t) {
    for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { ++n; m[n] = $2; s[n] = $3; q[n] = $4 }
  END {
    printf "median model FLOP/s (6·N + 12·L·d·T): %.2f GFLOP/s over %d runs\n", median(m, n), n
    printf "median sgemm FLOP/s (n=1024, 2 threads, best of 3 calibrations): %.2f GFLOP/s\n", median(s, n)
    printf "median ratio model / sgemm:              %.1f%% (target 70%%)\n", median(q, n)
  }'
