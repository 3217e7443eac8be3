#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, the `fuzz` preset: clang, ASan + UBSan) and runs them:
#
#   tools/fuzz.sh                      every target for AWSDT_FUZZ_SECONDS (20) through ctest -L fuzz, as CI does,
#                                      one per CPU at a time (each fuzzer is one process on one core)
#   tools/fuzz.sh SECONDS [TARGET...]  the named targets (default: all) for SECONDS each, one after the other
#   tools/fuzz.sh --build-only         builds every target and stops (CI builds while other tests run)
#
# Targets: safetensors, token_file, checkpoint, manifest, catalog, profile, templates, escape. New inputs
# collect in BUILD/fuzz/work/<fuzzer>/corpus (kept between runs), crashes, leaks and hangs in .../artifacts/;
# reproduce one with `BUILD/fuzz/fuzz_NAME ARTIFACT`. Exits non-zero on any finding. Environment:
# AWSDT_FUZZ_DIR (build directory, default build-fuzz), AWSDT_FUZZ_JOBS (compile jobs, default the CPU count).
# Without clang's libFuzzer (Debian: clang, libclang-rt-14-dev) it says so and exits 77.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${AWSDT_FUZZ_DIR:-$root/build-fuzz}
jobs=${AWSDT_FUZZ_JOBS:-$(nproc)}
log() { printf 'fuzz.sh: %s\n' "$*" >&2; }

if ! command -v clang++ >/dev/null; then
  log "skipped: no clang++ (apt-get install clang libclang-rt-14-dev)"
  exit 77
fi
start=$SECONDS
[[ -f $dir/build.ninja ]] || cmake --preset fuzz -S "$root" -B "$dir" >"$dir.configure.log" 2>&1 ||
  { cat "$dir.configure.log" >&2; log "ERROR: configuring $dir failed"; exit 1; }
if ! grep -q '^AWSDT_HAVE_LIBFUZZER:INTERNAL=1' "$dir/CMakeCache.txt"; then
  log "skipped: clang++ cannot link libFuzzer (apt-get install libclang-rt-14-dev)"
  exit 77
fi
mapfile -t all < <(sed -n 's/^awsdt_add_fuzzer(\([a-z_]*\) .*/\1/p' "$root/tests/fuzz/CMakeLists.txt")
if [[ $# -eq 0 || $1 == --build-only ]]; then
  cmake --build "$dir" -j "$jobs" --target "${all[@]/#/fuzz_}"
  log "build $((SECONDS - start)) s"
  [[ ${1:-} == --build-only ]] && exit 0
  status=0
  ctest --test-dir "$dir" -L fuzz --output-on-failure -j "$(nproc)" || status=$?
  log "build and $((${#all[@]})) targets: $((SECONDS - start)) s"
  exit $status
fi
seconds=$1
shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
cmake --build "$dir" -j "$jobs" --target "${targets[@]/#/fuzz_}"
status=0
for t in "${targets[@]}"; do
  log "$t: $seconds s"
  "$root/tests/fuzz/run_fuzzer.sh" "$dir/fuzz/fuzz_$t" "$root/tests/fuzz/corpus/$t" "$seconds" || status=1
done
exit $status
