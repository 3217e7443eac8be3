#!/usr/bin/env bash
# Jobs across two nodes, through `awsdt run` as a user types it, on the multi-node Slurm fixture
# (slurm_cluster.sh start DIR 2: nodes n1 and n2, a shared filesystem, AWSDT_JOB_ROOT on it):
#   test_multinode.sh DIR BIN_DIR
# collectives and fsdp at 2 nodes x 2 tasks with srun/pmix and mpirun (and as HyperPod's Slurm renders it), each
# rank on the node the layout says;
# fsdp preempted by USR1 (a time limit's warning) and by `scontrol requeue` checkpoints, is requeued and ends with
# the losses of an uninterrupted run; a node lost mid-job (kill-node) ends the job, naming the node and its ranks
# (Slurm's log line), and the surviving ranks name a lost rank and its node themselves (the peer watch).
# Prints one "PASS|FAIL: ..." line per check; exits 0 only when none failed.
set -uo pipefail

(($# == 2)) || { echo "usage: test_multinode.sh DIR BIN_DIR" >&2; exit 2; }
DIR=$(cd "$1" && pwd -P) || exit 1
AWSDT=$(cd "$2" && pwd -P)/awsdt
FIXTURE=$(cd "$(dirname "$0")" && pwd -P)/slurm_cluster.sh
# shellcheck source=/dev/null
source "$DIR/env"
export XDG_STATE_HOME=$DIR/multinode-state OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$XDG_STATE_HOME" && mkdir -p "$XDG_STATE_HOME"
cd "$XDG_STATE_HOME" || exit 1

failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
JOB=() # the awsdt job number and Slurm's id of the last submit

readonly TWO_BY_TWO=(-N 2 --tasks-per-node 2 --allow-no-efa)
readonly FSDP_ARGS=(--model tiny --steps 24 --synthetic pattern --log-every 1)

submit() {
  local out
  JOB=()
  out=$("$AWSDT" run "$@" 2>&1)
  read -r -a JOB < <(sed -n 's/^awsdt: job \([0-9]*\) submitted to [a-z-]* as \([0-9]*\).*/\1 \2/p' <<<"$out")
  ((${#JOB[@]} == 2)) || { echo "$out"; return 1; }
}
state() { "$AWSDT" status "${JOB[0]}" | awk 'NR == 2 { print $3 }'; }
# wait_until SECONDS CONDITION...: polls the condition every 0.2 s
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
ended() { [[ $(state) =~ ^(COMPLETED|FAILED|PREEMPTED|CANCELLED|NODE_FAIL|TIMEOUT)$ ]]; }
log_has() { "$AWSDT" logs "${JOB[0]}" 2>/dev/null | grep -E "$1" >/dev/null; }  # not -q: no SIGPIPE to logs
rank_log_has() { "$AWSDT" logs "${JOB[0]}" --rank "$1" 2>/dev/null | grep -E "$2" >/dev/null; }
running() { [[ $(state) == RUNNING ]]; }
n2_idle() { [[ $(sinfo -h -n n2 -o %t) == idle ]]; }
# The "Rank N ... on HOST" lines of a collectives log as "N:HOST ..."
layout() { "$AWSDT" logs "${JOB[0]}" | sed -n 's/^#  Rank *\([0-9]*\) .* on *\([^ ]*\) device.*/\1:\2/p' | paste -sd' '; }
# Step -> loss of the fsdp log, the last line of each step (a resumed run repeats none, but would win)
losses() { "$AWSDT" logs "${JOB[0]}" | sed -n 's/^step \([0-9]*\)\/[0-9]* | Loss: \([0-9.]*\) .*/\1 \2/p' | sort -n -k1,1 -u; }

# collectives_on_two_nodes LAUNCHER [CLUSTER]
collectives_on_two_nodes() {
  local launcher=$1 cluster=${2:-slurm}
  if ! submit collectives "${TWO_BY_TWO[@]}" --cluster "$cluster" --launcher "$launcher" -- \
    all_reduce -b 8 -e 64K -f 8 -n 2 -w 1 ||
    ! wait_until 120 ended; then
    fail "collectives ($launcher): did not end in 120 s"
    return
  fi
  local st lay
  st=$(state) lay=$(layout)
  if [[ $st == COMPLETED && $lay == "0:n1 1:n1 2:n2 3:n2" ]]; then
    pass "collectives 2 nodes x 2 ranks on $cluster through $launcher: COMPLETED, ranks 0-1 on n1, 2-3 on n2"
  else
    fail "collectives on $cluster through $launcher: state $st, layout '$lay' (want 0:n1 1:n1 2:n2 3:n2)"
  fi
}

fsdp_reference() {
  if ! submit fsdp --cluster slurm "${TWO_BY_TWO[@]}" -- "${FSDP_ARGS[@]}" || ! wait_until 180 ended; then
    fail "fsdp: the uninterrupted run did not end in 180 s"
    return
  fi
  REFERENCE=$(losses)
  local hosts
  hosts=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["hosts"]))' \
    "$AWSDT_JOB_ROOT/${JOB[0]}-awsdt-fsdp/result.json" 2>&1)
  if [[ $(state) == COMPLETED && $(wc -l <<<"$REFERENCE") == 24 && $hosts == "n1 n1 n2 n2" ]]; then
    pass "fsdp 2 nodes x 2 ranks: COMPLETED, 24 losses, result's hosts $hosts"
  else
    fail "fsdp: state $(state), $(wc -l <<<"$REFERENCE") losses, hosts '$hosts'"
  fi
}

# fsdp_preempted HOW SIGNAL: interrupts the run after step 5, then expects a checkpoint, a requeue of the same
# Slurm job and the reference's losses.
fsdp_preempted() {
  local how=$1 signal=$2
  if ! submit fsdp --cluster slurm "${TWO_BY_TWO[@]}" -- "${FSDP_ARGS[@]}" || ! wait_until 120 log_has '^step 5/'; then
    fail "fsdp ($how): never reached step 5"
    return
  fi
  case $how in
    usr1) scancel --signal=USR1 "${JOB[1]}" ;;
    requeue) scontrol requeue "${JOB[1]}" ;;
  esac
  wait_until 180 ended || { fail "fsdp ($how): did not end in 180 s after the interruption"; return; }
  local got
  got=$(losses)
  if [[ $(state) == COMPLETED && $got == "$REFERENCE" ]] && log_has "preempted by signal $signal after step" &&
    log_has '^resumed from .*step_'; then
    pass "fsdp preempted by $how: checkpointed, requeued as Slurm job ${JOB[1]}, resumed, losses equal the uninterrupted run's"
  else
    fail "fsdp ($how): state $(state); losses differ from the uninterrupted run's:" \
      "$(diff <(echo "$REFERENCE") <(echo "$got") | head -5 | paste -sd' ')"
    "$AWSDT" logs "${JOB[0]}" | grep -E 'preempt|resumed|awsdt' | head -5
  fi
}

node_lost() {
  if ! submit collectives --cluster slurm "${TWO_BY_TWO[@]}" -- all_reduce -b 64K -e 64K -n 1000000 ||
    ! wait_until 60 log_has 'Rank +3 '; then
    fail "node lost: the job never started"
    return
  fi
  "$FIXTURE" kill-node "$DIR" n2
  local t0=$SECONDS
  if wait_until 90 eval '! running'; then :; fi
  if running; then
    fail "node lost: the job is still RUNNING 90 s after node n2 was killed"
  elif ! log_has 'Node failure on n2' || [[ $(layout) != *"2:n2 3:n2"* ]]; then
    fail "node lost: the log does not name node n2 and its ranks 2-3 (state $(state))"
  elif ! rank_log_has 0 '^awsdt: rank [23] on n2 ended before the job did; ending rank 0 on n1' ||
    ! rank_log_has 1 '^awsdt: rank [23] on n2 ended before the job did; ending rank 1 on n1'; then
    fail "node lost: the surviving ranks 0 and 1 do not name a lost rank of n2:" \
      "$(for r in 0 1; do "$AWSDT" logs "${JOB[0]}" --rank $r 2>&1 | grep -E '^(awsdt|error):' | head -2; done |
        paste -sd'|')"
  else
    pass "node n2 lost mid-job: the job left RUNNING after $((SECONDS - t0)) s (awsdt status: $(state));" \
      "the log names 'Node failure on n2', where ranks 2-3 ran, and ranks 0 and 1 on n1 name" \
      "'$("$AWSDT" logs "${JOB[0]}" | grep -o -m1 'rank [23] on n2 ended before the job did')'"
  fi
  scancel "${JOB[1]}" 2>/dev/null
  "$FIXTURE" start-node "$DIR" n2 >/dev/null
  wait_until 60 n2_idle || fail "node n2 did not come back idle"
}

t0=$SECONDS
collectives_on_two_nodes srun
collectives_on_two_nodes mpirun
# HyperPod's Slurm differs by srun --auto-resume=1 (its SPANK plug-in; the fixture's accepts it).
if grep -q hyperpod_auto_resume "$DIR/plugstack.conf"; then
  collectives_on_two_nodes srun hyperpod-slurm
  grep -q -- '--auto-resume=1' "$AWSDT_JOB_ROOT/${JOB[0]:-none}-awsdt-collectives/job.sbatch" ||
    fail "hyperpod-slurm: the job script has no srun --auto-resume=1"
else
  echo "SKIP: hyperpod-slurm: the fixture has no --auto-resume plug-in (needs libslurm-dev and cc)"
fi
REFERENCE=
fsdp_reference
if [[ -n $REFERENCE ]]; then
  fsdp_preempted usr1 10
  fsdp_preempted requeue 15
fi
node_lost
echo "test_multinode.sh: $failures failure(s) in $((SECONDS - t0)) s"
((failures == 0))
