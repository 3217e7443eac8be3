#!/usr/bin/env bash
# Private single-node Slurm cluster for the test suite (no systemd, no root-wide state).
#
#   slurm_cluster.sh start DIR   # (re)create DIR, start munged + slurmctld + slurmd, wait until idle
#   slurm_cluster.sh stop DIR    # cancel jobs, stop the daemons started from DIR, keep DIR/log
#
# Everything lives under DIR:
#   DIR/slurm.conf        cluster "awsdt-test", node "localhost" (127.0.0.1, CPUs=8, RealMemory=1000),
#                         default partition "debug" (MaxTime=INFINITE)
#   DIR/env               "export SLURM_CONF=DIR/slurm.conf" (+ AWSDT_SLURM_DIR); source it to use the cluster
#   DIR/jobcomp.txt       jobcomp/filetxt records, read with `sacct -c`
#   DIR/log/*.log         daemon logs; DIR/previous/ keeps the logs of the previous start
#   DIR/munge/            private munge key, socket, pid and log (munged runs as the munge user)
#   DIR/state, DIR/spool, DIR/tmp   slurmctld state, slurmd spool, TmpFS (wiped at every start)
#
# Ports: SlurmctldPort=BASE, SlurmdPort=BASE+1 where BASE = 21000 + 2*(cksum(realpath DIR) % 1000),
# i.e. in 21000-22999, away from a system Slurm (6817/6818).  If either port is already listening, the
# next pair is tried.  AWSDT_SLURM_PORT_BASE=N forces BASE.
#
# `start` returns once node localhost is idle AND a warm-up batch job (job 1, "awsdt-warmup") has
# COMPLETED, so the first test job is scheduled at once.  AWSDT_SLURM_WARMUP=0 skips the warm-up.
# Timeouts: AWSDT_SLURM_START_TIMEOUT (30 s per stage), AWSDT_SLURM_STOP_TIMEOUT (15 s).
#
# Starting on a DIR whose cluster is still running stops that cluster first.  Every daemon is started
# with AWSDT_SLURM_CLUSTER=DIR in its environment, so `stop` also finds stray slurmstepd processes.
# Any failure prints one line "slurm_cluster.sh: ERROR: ..." naming the daemon, then its log tail,
# and exits non-zero.
set -euo pipefail

readonly PROG=slurm_cluster.sh
readonly START_TIMEOUT_S=${AWSDT_SLURM_START_TIMEOUT:-30}
readonly STOP_TIMEOUT_S=${AWSDT_SLURM_STOP_TIMEOUT:-15}
readonly NODE_CPUS=8

usage() {
  echo "usage: $PROG start|stop|status DIR" >&2
  exit 2
}

log() { echo "$PROG: $*"; }

# die MESSAGE [LOGFILE...]: one ERROR line, the tail of each non-empty log, and exit 1.  During
# `start`, daemons already started from DIR are stopped again so no half-started cluster is left.
CLEANUP_ON_DIE=
die() {
  local msg=$1 f
  shift
  echo "$PROG: ERROR: $msg${1:+ (log: $1)}" >&2
  for f in "$@"; do
    if [[ -s $f ]]; then
      echo "---- last lines of $f ----" >&2
      tail -n 25 "$f" >&2
      echo "----" >&2
    fi
  done
  if [[ -n $CLEANUP_ON_DIE ]]; then
    CLEANUP_ON_DIE=
    stop_cluster quiet || true
  fi
  exit 1
}

# A pid is alive when ps knows it and it is not a zombie (killed daemons linger as zombies here).
alive() {
  local pid=$1 stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  stat=${stat//[[:space:]]/}
  [[ -n $stat && $stat != Z* ]]
}

# pid_of PIDFILE COMM -> prints the pid if the pid file names a live process called COMM.
pid_of() {
  local pidfile=$1 comm=$2 pid name
  [[ -r $pidfile ]] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  alive "$pid" || return 1
  name=$(ps -o comm= -p "$pid" 2>/dev/null) || return 1
  [[ ${name//[[:space:]]/} == "$comm" ]] || return 1
  echo "$pid"
}

# Pids of live processes (other than ourselves) whose environment carries AWSDT_SLURM_CLUSTER=$DIR.
marked_pids() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    if grep -qzxF "AWSDT_SLURM_CLUSTER=$DIR" "/proc/$p/environ" 2>/dev/null && alive "$p"; then
      echo "$p"
    fi
  done
}

# wait_gone TIMEOUT PID... -> 0 when all are gone
wait_gone() {
  local deadline=$((SECONDS + $1)) p any
  shift
  while :; do
    any=0
    for p in "$@"; do alive "$p" && any=1; done
    ((any)) || return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

port_listening() {
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

pick_ports() {
  local base tries
  if [[ -n ${AWSDT_SLURM_PORT_BASE:-} ]]; then
    base=$AWSDT_SLURM_PORT_BASE
  else
    base=$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
    base=$((21000 + 2 * (base % 1000)))
  fi
  for ((tries = 0; tries < 50; tries++)); do
    if ! port_listening "$base" && ! port_listening $((base + 1)); then
      CTLD_PORT=$base
      SLURMD_PORT=$((base + 1))
      return 0
    fi
    base=$((base + 2))
    ((base < 22999)) || base=21000
  done
  die "no free port pair found for slurmctld/slurmd near $base"
}

stop_cluster() {
  local quiet=${1:-} ctld slurmd munged pids=() stray
  export SLURM_CONF=$DIR/slurm.conf
  ctld=$(pid_of "$DIR/run/slurmctld.pid" slurmctld) || ctld=
  slurmd=$(pid_of "$DIR/run/slurmd.pid" slurmd) || slurmd=
  munged=$(pid_of "$DIR/munge/munged.pid" munged) || munged=

  # Cancel jobs first so slurmd tears down their steps cleanly.
  if [[ -n $ctld && -n $slurmd ]]; then
    timeout 5 scancel --quiet --full --user="$(id -un)" >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do
      [[ -z $(timeout 5 squeue -h -o %i 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi

  [[ -n $slurmd ]] && { kill -TERM "$slurmd" 2>/dev/null || true; pids+=("$slurmd"); }
  [[ -n $ctld ]] && { kill -TERM "$ctld" 2>/dev/null || true; pids+=("$ctld"); }
  if ((${#pids[@]})) && ! wait_gone "$STOP_TIMEOUT_S" "${pids[@]}"; then
    log "slurm daemons did not exit within ${STOP_TIMEOUT_S}s of SIGTERM; sending SIGKILL"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait_gone 5 "${pids[@]}" || die "slurm daemons ${pids[*]} survive SIGKILL"
  fi

  # Whatever is left from this cluster (slurmstepd, job processes started with our marker).
  mapfile -t stray < <(marked_pids | grep -vxF "${munged:-none}" || true)
  if ((${#stray[@]})); then
    kill -KILL "${stray[@]}" 2>/dev/null || true
    wait_gone 5 "${stray[@]}" || true
  fi

  if [[ -n $munged ]]; then
    kill -TERM "$munged" 2>/dev/null || true
    if ! wait_gone "$STOP_TIMEOUT_S" "$munged"; then
      kill -KILL "$munged" 2>/dev/null || true
      wait_gone 5 "$munged" || die "munged $munged survives SIGKILL" "$DIR/munge/munged.log"
    fi
    pids+=("$munged")
  fi
  rm -f "$DIR/run/slurmctld.pid" "$DIR/run/slurmd.pid" "$DIR/munge/munged.pid"
  [[ -n $quiet ]] || log "stopped cluster in $DIR (${#pids[@]} daemons${pids[*]:+: ${pids[*]}}); logs kept in $DIR/log"
}

write_conf() {
  cat >"$DIR/slurm.conf" <<EOF
# Generated by $PROG for the awsdt test suite.  Private single-node cluster; do not edit.
ClusterName=awsdt-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
TmpFS=$DIR/tmp
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
SlurmdParameters=config_overrides
DebugFlags=NO_CONF_HASH
MinJobAge=300
# Schedule batch jobs at submission instead of up to 3 s later (default batch_sched_delay=3).
SchedulerParameters=batch_sched_delay=0
KillWait=2
InactiveLimit=0
PlugStackConfig=$DIR/plugstack.conf
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$NODE_CPUS RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$DIR/plugstack.conf"
}

start_munged() {
  local sock=$DIR/munge/munge.socket mlog=$DIR/munge/munged.log deadline
  install -d -m 755 -o munge -g munge "$DIR/munge"
  dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  chown munge:munge "$DIR/munge/munge.key"
  chmod 400 "$DIR/munge/munge.key"
  rm -f "$sock" "$sock.lock" "$DIR/munge/munged.pid" "$mlog"
  AWSDT_SLURM_CLUSTER=$DIR runuser -u munge -- munged \
    --socket="$sock" --key-file="$DIR/munge/munge.key" --pid-file="$DIR/munge/munged.pid" \
    --log-file="$mlog" --seed-file="$DIR/munge/munged.seed" --num-threads=2 \
    </dev/null >>"$DIR/log/munged.stdout" 2>&1 9>&- ||
    die "munged failed to start" "$mlog" "$DIR/log/munged.stdout"
  deadline=$((SECONDS + START_TIMEOUT_S))
  until munge -n -S "$sock" 2>/dev/null | unmunge -S "$sock" >/dev/null 2>&1; do
    pid_of "$DIR/munge/munged.pid" munged >/dev/null || [[ ! -e $DIR/munge/munged.pid ]] ||
      die "munged exited during startup" "$mlog"
    ((SECONDS < deadline)) || die "munged not answering on $sock after ${START_TIMEOUT_S}s" "$mlog"
    sleep 0.1
  done
}

# start_daemon NAME PIDFILE LOGFILE CMD... ; waits for the pid file to name a live NAME process.
start_daemon() {
  local name=$1 pidfile=$2 logfile=$3 deadline
  shift 3
  AWSDT_SLURM_CLUSTER=$DIR "$@" </dev/null >>"$DIR/log/$name.stdout" 2>&1 9>&- ||
    die "$name failed to start (exit $?)" "$logfile" "$DIR/log/$name.stdout"
  deadline=$((SECONDS + START_TIMEOUT_S))
  until pid_of "$pidfile" "$name" >/dev/null; do
    ((SECONDS < deadline)) || die "$name did not come up within ${START_TIMEOUT_S}s" "$logfile" "$DIR/log/$name.stdout"
    sleep 0.1
  done
}

start_cluster() {
  local t0=$SECONDS deadline state ctld_log=$DIR/log/slurmctld.log slurmd_log=$DIR/log/slurmd.log mpis
  if [[ -e $DIR/slurm.conf ]]; then
    stop_cluster quiet
  fi
  # Fresh state every start; keep the previous logs one generation back.
  rm -rf "$DIR/state" "$DIR/spool" "$DIR/tmp" "$DIR/run" "$DIR/previous"
  mkdir -p "$DIR/previous"
  for f in "$DIR"/log "$DIR"/jobcomp.txt; do
    [[ -e $f ]] && mv "$f" "$DIR/previous/"
  done
  install -d -m 755 "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log"
  install -d -m 1777 "$DIR/tmp"

  pick_ports
  write_conf
  CLEANUP_ON_DIE=1
  export SLURM_CONF=$DIR/slurm.conf
  unset SLURM_CONFIG_FILE

  start_munged
  start_daemon slurmctld "$DIR/run/slurmctld.pid" "$ctld_log" slurmctld -i -f "$SLURM_CONF"
  deadline=$((SECONDS + START_TIMEOUT_S))
  until timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; do
    pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null || die "slurmctld exited during startup" "$ctld_log"
    ((SECONDS < deadline)) || die "slurmctld not answering on port $CTLD_PORT after ${START_TIMEOUT_S}s" "$ctld_log"
    sleep 0.1
  done
  start_daemon slurmd "$DIR/run/slurmd.pid" "$slurmd_log" slurmd -f "$SLURM_CONF" -N localhost

  deadline=$((SECONDS + START_TIMEOUT_S))
  while :; do
    state=$(timeout 5 sinfo -h -n localhost -o %t 2>/dev/null || true)
    [[ $state == idle ]] && break
    pid_of "$DIR/run/slurmd.pid" slurmd >/dev/null || die "slurmd exited during startup" "$slurmd_log"
    pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null || die "slurmctld exited during startup" "$ctld_log"
    ((SECONDS < deadline)) ||
      die "slurmd: node localhost is '${state:-unknown}', not idle, after ${START_TIMEOUT_S}s" "$slurmd_log"
    sleep 0.1
  done

  # Warm-up batch job: proves munge credentials, slurmd launch and slurmstepd work, and waits out
  # slurmctld's first scheduling pass (about 3 s after start), so tests' batch jobs start at once.
  if [[ ${AWSDT_SLURM_WARMUP:-1} != 0 ]]; then
    local wid winfo
    wid=$(timeout 10 sbatch --parsable --job-name=awsdt-warmup --output=/dev/null --chdir=/ --wrap true 2>&1) ||
      die "slurmctld: warm-up sbatch failed: $wid" "$ctld_log"
    wid=${wid%%;*}
    deadline=$((SECONDS + START_TIMEOUT_S))
    while :; do
      winfo=$(timeout 5 scontrol show job -o "$wid" 2>/dev/null || true)
      [[ $winfo == *" JobState=COMPLETED "* ]] && break
      if [[ $winfo =~ \ JobState=(FAILED|CANCELLED|NODE_FAIL|BOOT_FAIL|TIMEOUT|OUT_OF_MEMORY) ]]; then
        die "slurmd: warm-up job $wid ended ${BASH_REMATCH[1]}" "$slurmd_log"
      fi
      ((SECONDS < deadline)) ||
        die "slurmd: warm-up job $wid not COMPLETED after ${START_TIMEOUT_S}s (${winfo:+$(grep -o 'JobState=[^ ]* Reason=[^ ]*' <<<"$winfo")})" "$slurmd_log"
      sleep 0.1
    done
  fi

  {
    echo "# Source this file to talk to the awsdt test cluster in $DIR"
    echo "export SLURM_CONF=$SLURM_CONF"
    echo "export AWSDT_SLURM_DIR=$DIR"
  } >"$DIR/env"
  mpis=$(timeout 10 srun --mpi=list 2>/dev/null | sed -n 's/^[[:space:]]\{1,\}\([a-z0-9_]\{1,\}\)$/\1/p' | tr '\n' ' ' || true)
  echo "${mpis% }" >"$DIR/mpi_types"
  log "cluster awsdt-test up in $((SECONDS - t0))s: node localhost idle (CPUs=$NODE_CPUS)," \
    "slurmctld port $CTLD_PORT, slurmd port $SLURMD_PORT; srun --mpi types: ${mpis:-unknown}"
  cat "$DIR/env"
  CLEANUP_ON_DIE=
}

main() {
  (($# == 2)) || usage
  local cmd=$1
  case $cmd in start | stop | status) ;; *) usage ;; esac
  if [[ $cmd == start ]]; then
    mkdir -p "$2"
  elif [[ ! -d $2 ]]; then
    log "nothing to $cmd: $2 does not exist"
    return 0
  fi
  DIR=$(cd "$2" && pwd -P)
  readonly DIR
  [[ $(id -u) == 0 ]] || die "must run as root (munged is started as the munge user via runuser)"
  for t in munged munge unmunge slurmctld slurmd sinfo scontrol squeue scancel srun ss runuser flock; do
    command -v "$t" >/dev/null || die "required tool '$t' not found (install slurm-wlm and munge)"
  done

  # Serialise start/stop on the same DIR; fd 9 is closed for the daemons (9>&-).
  exec 9>"$DIR/.lock"
  flock -w 120 9 || die "could not lock $DIR/.lock within 120s"

  case $cmd in
    start) start_cluster ;;
    stop) stop_cluster ;;
    status)
      local name rc=0
      for name in slurmctld slurmd munged; do
        local pidfile=$DIR/run/$name.pid
        [[ $name == munged ]] && pidfile=$DIR/munge/munged.pid
        if pid_of "$pidfile" "$name" >/dev/null; then log "$name running"; else log "$name not running"; rc=3; fi
      done
      return "$rc"
      ;;
  esac
}

main "$@"
