#!/usr/bin/env bash
# Smoke test of the private Slurm cluster started by slurm_cluster.sh:
#   test_slurm_cluster.sh DIR
# Prints one "PASS|FAIL|SKIP: ..." line per check; exits 0 only if no check failed.
set -uo pipefail

readonly PROG=test_slurm_cluster.sh
readonly JOB_TIMEOUT_S=${AWSDT_SLURM_JOB_TIMEOUT:-60}

(($# == 1)) || { echo "usage: $PROG DIR" >&2; exit 2; }
DIR=$(cd "$1" 2>/dev/null && pwd -P) || { echo "FAIL: cluster directory $1 does not exist" >&2; exit 1; }
[[ -r $DIR/env ]] || { echo "FAIL: $DIR/env missing; run slurm_cluster.sh start $DIR first" >&2; exit 1; }
# shellcheck source=/dev/null
source "$DIR/env"

WORK=$DIR/smoke
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK" || exit 1

failures=0
t_start=$SECONDS
pass() { echo "PASS: $*"; }
skip() { echo "SKIP: $*"; }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# field JOBINFO KEY -> value of KEY= in one-line `scontrol show job -o` output
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1" | head -n 1; }

# submit ARGS... -> prints the job id (stdout/stderr of the job go to $WORK/ID.out)
submit() {
  local id
  id=$(sbatch --parsable --output="$WORK/%j.out" --chdir="$WORK" "$@" 2>"$WORK/sbatch.err") || {
    echo "sbatch failed: $(tr '\n' ' ' <"$WORK/sbatch.err")" >&2
    return 1
  }
  echo "${id%%;*}"
}

# wait_state ID STATE... -> waits (bounded) until JobState is one of STATEs or terminal; sets INFO.
INFO=
wait_state() {
  local id=$1 deadline=$((SECONDS + JOB_TIMEOUT_S)) st want
  shift
  while :; do
    INFO=$(scontrol show job -o "$id" 2>/dev/null)
    st=$(field "$INFO" JobState)
    for want in "$@"; do [[ $st == "$want" ]] && return 0; done
    case $st in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
        return 1 ;;
    esac
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# expect_job NAME ID STATE EXITCODE -> checks final state and ExitCode; extra check via OUTPUT_CHECK
expect_job() {
  local name=$1 id=$2 want_state=$3 want_exit=$4 t0=$SECONDS st ec
  if ! wait_state "$id" "$want_state"; then
    st=$(field "$INFO" JobState)
    fail "$name: job $id is ${st:-unknown} after $((SECONDS - t0))s, expected $want_state (ExitCode=$(field "$INFO" ExitCode) Reason=$(field "$INFO" Reason)); output: $(tail -n 5 "$WORK/$id.out" 2>/dev/null | tr '\n' '|')"
    return 1
  fi
  ec=$(field "$INFO" ExitCode)
  if [[ -n $want_exit && $ec != "$want_exit" ]]; then
    fail "$name: job $id is $want_state but ExitCode=$ec, expected $want_exit"
    return 1
  fi
  return 0
}

declare -A EXPECT_SACCT=()

# 1. srun inside sbatch, 2 tasks
t0=$SECONDS
if id=$(submit -N1 --ntasks-per-node=2 --wrap 'srun hostname'); then
  if expect_job "srun hostname" "$id" COMPLETED 0:0; then
    n=$(grep -c . "$WORK/$id.out")
    if [[ $n == 2 ]]; then
      pass "sbatch -N1 --ntasks-per-node=2 'srun hostname': job $id COMPLETED ExitCode 0:0, 2 task lines ($((SECONDS - t0))s)"
    else
      fail "srun hostname: job $id COMPLETED but printed $n lines, expected 2: $(tr '\n' '|' <"$WORK/$id.out")"
    fi
  fi
  EXPECT_SACCT[$id]=COMPLETED
else
  fail "srun hostname: sbatch failed"
fi

# 2. failing job, exit code 3
t0=$SECONDS
if id=$(submit -n1 --wrap 'echo about to fail; exit 3'); then
  expect_job "exit 3" "$id" FAILED 3:0 &&
    pass "sbatch --wrap 'exit 3': job $id FAILED ExitCode 3:0 ($((SECONDS - t0))s)"
  EXPECT_SACCT[$id]=FAILED
else
  fail "exit 3: sbatch failed"
fi

# 3. cancel a running job
t0=$SECONDS
if id=$(submit -n1 --wrap 'sleep 300'); then
  if wait_state "$id" RUNNING; then
    scancel "$id"
    expect_job "scancel" "$id" CANCELLED "" &&
      pass "sbatch 'sleep 300' + scancel: job $id RUNNING then CANCELLED ($((SECONDS - t0))s)"
  else
    fail "scancel: job $id never reached RUNNING (JobState=$(field "$INFO" JobState) Reason=$(field "$INFO" Reason))"
    scancel "$id" 2>/dev/null
  fi
  EXPECT_SACCT[$id]=CANCELLED
else
  fail "scancel: sbatch failed"
fi

# 4. Open MPI mpirun, 2 ranks, inside sbatch (a real MPI program: init, allreduce, finalize)
t0=$SECONDS
MPI_PROG=
if command -v mpicc >/dev/null; then
  cat >"$WORK/mpi_hello.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
  int rank, size, sum = 0;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  printf("rank %d of %d sum %d\n", rank, size, sum);
  MPI_Finalize();
  return 0;
}
EOF
  if mpicc -O0 -o "$WORK/mpi_hello" "$WORK/mpi_hello.c" 2>"$WORK/mpicc.err"; then
    MPI_PROG=$WORK/mpi_hello
  else
    fail "mpirun: mpicc failed: $(head -n 3 "$WORK/mpicc.err" | tr '\n' '|')"
  fi
else
  fail "mpirun: mpicc not found (install libopenmpi-dev / openmpi-bin)"
fi

# check_mpi_output NAME ID
check_mpi_output() {
  local name=$1 id=$2 lines
  lines=$(grep -c '^rank [01] of 2 sum 1$' "$WORK/$id.out")
  if [[ $lines == 2 ]]; then
    pass "$name: job $id COMPLETED ExitCode 0:0, 2 ranks, allreduce ok ($((SECONDS - t0))s)"
  else
    fail "$name: job $id COMPLETED but output is not 2 ranks: $(tail -n 5 "$WORK/$id.out" | tr '\n' '|')"
  fi
}

if [[ -n $MPI_PROG ]]; then
  if id=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    submit -N1 -n2 --wrap "mpirun -np 2 --mca btl self,vader,tcp $MPI_PROG"); then
    expect_job "mpirun" "$id" COMPLETED 0:0 && check_mpi_output "sbatch -n2 'mpirun -np 2 --mca btl self,vader,tcp'" "$id"
    EXPECT_SACCT[$id]=COMPLETED
  else
    fail "mpirun: sbatch failed"
  fi

  # 5. srun --mpi=pmix (only where the pmix plugin exists)
  t0=$SECONDS
  if grep -qw pmix "$DIR/mpi_types" 2>/dev/null; then
    if id=$(OMPI_MCA_btl=self,vader,tcp submit -N1 -n2 --wrap "srun --mpi=pmix $MPI_PROG"); then
      expect_job "srun --mpi=pmix" "$id" COMPLETED 0:0 && check_mpi_output "sbatch -n2 'srun --mpi=pmix'" "$id"
      EXPECT_SACCT[$id]=COMPLETED
    else
      fail "srun --mpi=pmix: sbatch failed"
    fi
  else
    skip "srun --mpi=pmix: pmix plugin not available ($(cat "$DIR/mpi_types" 2>/dev/null))"
  fi
fi

# 6. job history from the jobcomp file (sacct -c)
t0=$SECONDS
if ((${#EXPECT_SACCT[@]})); then
  ids=$(printf '%s,' "${!EXPECT_SACCT[@]}")
  ids=${ids%,}
  missing=
  deadline=$((SECONDS + 10))
  while :; do
    out=$(sacct -c -n -P -o JobID,State,ExitCode -j "$ids" 2>"$WORK/sacct.err")
    missing=
    for id in "${!EXPECT_SACCT[@]}"; do
      grep -q "^$id|${EXPECT_SACCT[$id]}|" <<<"$out" || missing+=" $id:${EXPECT_SACCT[$id]}"
    done
    [[ -z $missing ]] && break
    ((SECONDS < deadline)) || break
    sleep 0.2
  done
  if [[ -z $missing ]]; then
    pass "sacct -c lists all ${#EXPECT_SACCT[@]} jobs with their states ($ids)"
  else
    fail "sacct -c is missing${missing}; got: $(tr '\n' ' ' <<<"$out") $(head -n 2 "$WORK/sacct.err" | tr '\n' ' ')"
  fi
else
  fail "sacct -c: no jobs were submitted"
fi

if ((failures)); then
  echo "$PROG: $failures check(s) FAILED in $((SECONDS - t_start))s (job outputs in $WORK, logs in $DIR/log)"
  exit 1
fi
echo "$PROG: all checks passed in $((SECONDS - t_start))s"
