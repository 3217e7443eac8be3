#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SEED_DIR SECONDS: fuzzes from the committed seeds for SECONDS; new inputs go to a work
# corpus beside the fuzzer (never into the source tree), a crash, leak or hang to its artifacts directory, and
# any of them fails (libFuzzer's exit status). A hang is an input that takes over 10 s.
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
work=$(dirname "$fuzzer")/work/$(basename "$fuzzer")
mkdir -p "$work/corpus" "$work/artifacts"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
