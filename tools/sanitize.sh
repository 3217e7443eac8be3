#!/usr/bin/env bash
# Runs the tests under the sanitizers (CMakePresets.json's asan and tsan presets, CPU only, -O1 with asserts on):
#
#   tools/sanitize.sh [--build-only] [asan] [tsan]   both when none is named; exits non-zero on any failure or
#                                                    report; --build-only builds what the tests need and stops
#
#   asan  AddressSanitizer + LeakSanitizer + UBSan over `ctest -L "unit|mpi"`, in build-asan/, but `format`
#         (clang-format has nothing to sanitize)
#   tsan  ThreadSanitizer over the threaded code: streams (core_stream), the watchdog (core_bench), the
#         bootstrap (core_env_bootstrap), communicators (core_mpi_comm_np2) and the FSDP engine's overlap of
#         communication with compute (fsdp_engine, and awsdt-fsdp on 2 MPI ranks), in build-tsan/
#
# Only the targets those tests run are built. Every report fails, also one from a child process whose exit
# status a test expected to be non-zero: the sanitizers write reports to files (log_path) and this script fails
# when any is there, printing it. Suppressions (tools/sanitizers/*.supp) are for third-party code only, each
# with its reason. The tests run two at a time (ctest -j 2): under the sanitizers the MPI tests spend much of
# their time starting processes and waiting for each other. Environment: AWSDT_ASAN_DIR, AWSDT_TSAN_DIR (build
# directories), AWSDT_SANITIZE_JOBS (parallel compile jobs; default: the CPU count), AWSDT_SANITIZE_TEST_JOBS
# (tests at once; default 2), AWSDT_SANITIZE_TESTS (a ctest -R regex instead of the selection above, e.g. to
# check one test).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${AWSDT_SANITIZE_JOBS:-$(nproc)}
test_jobs=${AWSDT_SANITIZE_TEST_JOBS:-2}
supp=$root/tools/sanitizers
build_only=false
if [[ ${1:-} == --build-only ]]; then
  build_only=true
  shift
fi
kinds=("$@")
[[ ${#kinds[@]} -gt 0 ]] || kinds=(asan tsan)

log() { printf 'sanitize.sh: %s\n' "$*" >&2; }

# configure PRESET DIR: configures once; later runs only rebuild.
configure() {
  [[ -f $2/build.ninja ]] || cmake --preset "$1" -B "$2" >"$2.configure.log" 2>&1 ||
    { cat "$2.configure.log" >&2; log "ERROR: configuring $2 failed"; exit 1; }
}

# targets_of DIR CTEST_ARGS...: the build targets the selected tests run: the programs under DIR/tests and
# DIR/bin in their commands (read from the generated CTestTestfile.cmake files, since ctest shows no command for
# a program not built yet); a bare DIR/bin argument, as docs_flags has, means every program there.
targets_of() {
  local dir=$1
  shift
  ctest --test-dir "$dir" -N --show-only=json-v1 "$@" | python3 -c '
import json, os, re, shlex, sys
d = sys.argv[1]
names = {t["name"] for t in json.load(sys.stdin)["tests"]}
bins = [t.split(":")[0] for t in os.popen("ninja -C " + d + " -t targets all").read().split("\n")]
bins = [os.path.basename(t) for t in bins if t.startswith("bin/")]
programs = set()
for root, _, files in os.walk(d):
    if "CTestTestfile.cmake" not in files:
        continue
    for line in open(os.path.join(root, "CTestTestfile.cmake")):
        m = re.match(r"add_test\(\[=\[(.+?)\]=\] (.*)\)$", line.strip())
        if not m or m.group(1) not in names:
            continue
        for arg in shlex.split(m.group(2)):
            if arg == d + "/bin":
                programs.update(bins)
            elif arg.startswith((d + "/bin/", d + "/tests/")):
                programs.add(os.path.basename(arg))
print(" ".join(sorted(programs)))' "$dir"
}

# check_reports DIR: fails, printing them, when the sanitizers wrote any report under DIR.
check_reports() {
  local reports
  reports=$(find "$1" -type f 2>/dev/null | sort)
  [[ -z $reports ]] && return 0
  for r in $reports; do
    log "REPORT $r:"
    head -n 60 "$r" >&2
  done
  log "ERROR: $(wc -l <<<"$reports") sanitizer report(s) under $1"
  return 1
}

# run_suite NAME PRESET DIR CTEST_ARGS...: configure, build what the tests need, run them with reports to files.
run_suite() {
  local name=$1 preset=$2 dir=$3
  shift 3
  local start=$SECONDS
  configure "$preset" "$dir"
  local targets
  targets=$(targets_of "$dir" "$@")
  [[ -n ${AWSDT_SANITIZE_TESTS:-} ]] || targets+=" ${extra_targets:-}"
  log "$name: building $(wc -w <<<"$targets") targets in $dir"
  # shellcheck disable=SC2086  # a list of target names
  cmake --build "$dir" -j "$jobs" --target $targets
  local built=$SECONDS
  if $build_only; then
    log "$name: build $((built - start)) s"
    return 0
  fi
  reports=$dir/sanitizer-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  local status=0
  ctest --test-dir "$dir" --output-on-failure -j "$test_jobs" "$@" || status=$?
  extra_runs "$name" "$dir" || status=1
  check_reports "$reports" || status=1
  log "$name: build $((built - start)) s, tests $((SECONDS - built)) s, status $status"
  return $status
}

# Runs beyond ctest: awsdt-fsdp on 2 MPI ranks with communication overlapped (the engine's stream and MPI).
extra_runs() {
  [[ $1 == tsan && -z ${AWSDT_SANITIZE_TESTS:-} ]] || return 0
  local mpirun
  mpirun=$(sed -n 's/^MPIEXEC_EXECUTABLE:FILEPATH=//p' "$2/CMakeCache.txt")
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 300 "$mpirun" --oversubscribe \
    --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo -np 2 \
    "$2/bin/awsdt-fsdp" --model tiny --steps 4 --sharding full --threads 1 >"$2/fsdp-tsan.log" 2>&1 ||
    { cat "$2/fsdp-tsan.log" >&2; log "ERROR: awsdt-fsdp on 2 ranks under TSan failed"; return 1; }
}

# select_tests CTEST_ARGS...: the selection, or -R $AWSDT_SANITIZE_TESTS when that is set (one test, quickly).
select_tests() {
  if [[ -n ${AWSDT_SANITIZE_TESTS:-} ]]; then echo -R "$AWSDT_SANITIZE_TESTS"; else echo "$@"; fi
}

# Tests that assert timing (a stream's CPU time, communication hidden behind compute): the sanitizers slow
# compute and communication by different factors, so their ratios mean nothing here. And the exporter's resident
# memory over a thousand scrapes: ASan keeps freed memory in quarantine (256 MiB), and LeakSanitizer checks for
# leaks itself. Their code still runs in the other tests.
export GTEST_FILTER='-Stream.CountsItsWorkersCpuTimeNotItsSleep:MpiComm.CollectiveOverlapsWithCompute'
GTEST_FILTER+=':Served.ThousandScrapesLeakNoMemoryOrDescriptors'

status=0
for kind in "${kinds[@]}"; do
  case $kind in
    asan)
      dir=${AWSDT_ASAN_DIR:-$root/build-asan}
      common="log_path=$dir/sanitizer-reports/report:print_stacktrace=1"
      # fast_unwind_on_malloc=0: Open MPI and PMIx are built without frame pointers, so the fast unwinder stops
      # at their first frame, and they unload their plugins in MPI_Finalize: only the full stack reaches a frame
      # in libmpi that tools/sanitizers/lsan.supp can name.
      export ASAN_OPTIONS="$common:detect_leaks=1:check_initialization_order=1:detect_stack_use_after_return=1"
      ASAN_OPTIONS+=":fast_unwind_on_malloc=0"
      export LSAN_OPTIONS="$common:suppressions=$supp/lsan.supp:print_suppressions=0"
      export UBSAN_OPTIONS="$common:halt_on_error=1"
      # shellcheck disable=SC2046  # the selection's words
      run_suite asan asan "$dir" $(select_tests -L "unit|mpi" -E '^format$') || status=1
      unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
      ;;
    tsan)
      dir=${AWSDT_TSAN_DIR:-$root/build-tsan}
      # One OpenMP thread: GCC's libgomp is not built with TSan, so its barriers look like races; the threads
      # under test (streams, watchdog, bootstrap, MPI progress) are ours and stay.
      export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
      export TSAN_OPTIONS="log_path=$dir/sanitizer-reports/report:suppressions=$supp/tsan.supp:halt_on_error=0:second_deadlock_stack=1"
      # shellcheck disable=SC2046  # the selection's words
      extra_targets=awsdt-fsdp run_suite tsan tsan "$dir" \
        $(select_tests -R '^(core_stream|core_bench|core_env_bootstrap|core_mpi_comm_np2|fsdp_engine)$') || status=1
      unset TSAN_OPTIONS OMP_NUM_THREADS OPENBLAS_NUM_THREADS
      ;;
    *)
      log "ERROR: unknown sanitizer '$kind'; expected asan or tsan"
      exit 2
      ;;
  esac
done
exit $status
