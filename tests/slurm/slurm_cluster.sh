#!/usr/bin/env bash
# Private single-node Slurm cluster for the test suite (no systemd, no root-wide state).
#
#   slurm_cluster.sh start DIR [NODES]  # (re)create DIR, start munged + slurmctld + slurmd(s), wait until idle
#   slurm_cluster.sh stop DIR    # cancel jobs, stop the daemons started from DIR, keep DIR/log
#   slurm_cluster.sh kill-node DIR NODE   # SIGKILL every process of a node of a multi-node cluster (its slurmd,
#                                         # step daemons and tasks), as when a machine is lost
#   slurm_cluster.sh start-node DIR NODE  # start that node's slurmd again
#
# Everything lives under DIR:
#   DIR/slurm.conf        cluster "awsdt-test", node "localhost" (127.0.0.1, CPUs=8, RealMemory=1000),
#                         default partition "debug" (MaxTime=INFINITE)
#   DIR/env               "export SLURM_CONF=DIR/slurm.conf" (+ AWSDT_SLURM_DIR); source it to use the cluster
#   DIR/prolog            the node's Prolog: does nothing unless a test arms it by writing an executable
#                         DIR/prolog.armed, which then runs in its place (the health-check prolog's tests)
#   DIR/jobcomp.txt       jobcomp/filetxt records, read with `sacct -c`
#   DIR/log/*.log         daemon logs; DIR/previous/ keeps the logs of the previous start
#   DIR/munge/            private munge key, socket, pid and log (munged runs as the munge user)
#   DIR/state, DIR/spool, DIR/tmp   slurmctld state, slurmd spool, TmpFS (wiped at every start)
#
# NODES > 1 (default 1) makes a multi-node cluster on this one machine: nodes n1..nNODES, each a slurmd in its own
# UTS and mount namespace (so `hostname` there, and every task it starts, says n<i>; /etc/hosts there is DIR/hosts,
# naming every node 127.0.0.1, and DIR/tmp, the TmpFS, is DIR/tmp/n<i>), each on its own port, with its own
# spool, pid file and log (slurmd-n<i>.log).
# Ranks on different nodes share the host: Open MPI must use tcp between them (its shared-memory transport would
# see two hosts that are in fact one only through the hostname). DIR/fsx is the cluster's shared filesystem, a
# FUSE mount (bindfs) of DIR/fsx-data as FSx for Lustre would be: DIR/env points AWSDT_JOB_ROOT there, so job
# directories and checkpoints are where every node sees them.
#
# Ports: SlurmctldPort=BASE, SlurmdPort=BASE+1 (node i: BASE+i) where BASE = 21000 + 2*(cksum(realpath DIR) % 1000),
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
  echo "usage: $PROG start DIR [NODES] | stop DIR | status DIR | kill-node DIR NODE | start-node DIR NODE" >&2
  exit 2
}

log() { echo "$PROG: $*"; }

NODES=1
# The Slurm names of the nodes: "localhost" for a single-node cluster, n1..nNODES otherwise.
node_names() {
  local i
  if ((NODES == 1)); then echo localhost; else for ((i = 1; i <= NODES; i++)); do echo "n$i"; done; fi
}
slurmd_pidfile() { if ((NODES == 1)); then echo "$DIR/run/slurmd.pid"; else echo "$DIR/run/slurmd-$1.pid"; fi; }
slurmd_log() { if ((NODES == 1)); then echo "$DIR/log/slurmd.log"; else echo "$DIR/log/slurmd-$1.log"; fi; }

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
    local i free=1
    for ((i = 0; i <= NODES; i++)); do port_listening $((base + i)) && free=0; done
    if ((free)); then
      CTLD_PORT=$base
      SLURMD_PORT=$((base + 1))
      return 0
    fi
    base=$((base + NODES + 1))
    ((base < 22999)) || base=21000
  done
  die "no free port pair found for slurmctld/slurmd near $base"
}

stop_cluster() {
  local quiet=${1:-} ctld slurmd=() munged pids=() stray f p
  export SLURM_CONF=$DIR/slurm.conf
  ctld=$(pid_of "$DIR/run/slurmctld.pid" slurmctld) || ctld=
  for f in "$DIR"/run/slurmd*.pid; do p=$(pid_of "$f" slurmd) && slurmd+=("$p"); done
  munged=$(pid_of "$DIR/munge/munged.pid" munged) || munged=

  # Cancel jobs first so slurmd tears down their steps cleanly.
  if [[ -n $ctld && ${#slurmd[@]} -gt 0 ]]; then
    timeout 5 scancel --quiet --full --user="$(id -un)" >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do
      [[ -z $(timeout 5 squeue -h -o %i 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi

  for p in "${slurmd[@]}"; do kill -TERM "$p" 2>/dev/null || true; pids+=("$p"); done
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
  rm -f "$DIR/run/slurmctld.pid" "$DIR"/run/slurmd*.pid "$DIR/munge/munged.pid"
  if mountpoint -q "$DIR/fsx" 2>/dev/null; then fusermount -u "$DIR/fsx" || umount -l "$DIR/fsx" || true; fi
  [[ -n $quiet ]] || log "stopped cluster in $DIR (${#pids[@]} daemons${pids[*]:+: ${pids[*]}}); logs kept in $DIR/log"
}

# srun of this cluster accepts HyperPod's --auto-resume=N (tests/slurm/hyperpod_auto_resume.c), when the SPANK
# header (libslurm-dev) and a C compiler are there; without them the plug-in stack stays empty.
build_spank_plugin() {
  local src
  src=$(dirname "$(readlink -f "$0")")/hyperpod_auto_resume.c
  : >"$DIR/plugstack.conf"
  if [[ -r /usr/include/slurm/spank.h ]] && command -v cc >/dev/null &&
    cc -shared -fPIC -o "$DIR/hyperpod_auto_resume.so" "$src" 2>"$DIR/log/spank-build.log"; then
    echo "optional $DIR/hyperpod_auto_resume.so" >"$DIR/plugstack.conf"
  fi
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
# cred_expire: a requeued job may start again cred_expire+1 s later (default 120 s), which tests wait out.
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool$( ((NODES == 1)) || echo /%n)
TmpFS=$DIR/tmp
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$(slurmd_pidfile %n)
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$(slurmd_log %n)
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
# A node whose slurmd stops answering is DOWN (and its jobs end NODE_FAIL) after 10 s, not the default 300 s.
SlurmdTimeout=10
InactiveLimit=0
PlugStackConfig=$DIR/plugstack.conf
# Does nothing unless a test arms it (DIR/prolog.armed; see the header).
Prolog=$DIR/prolog
$(node_lines)
PartitionName=debug Nodes=$(node_names | paste -sd,) Default=YES MaxTime=INFINITE State=UP
EOF
  build_spank_plugin
  cat >"$DIR/prolog" <<EOF
#!/bin/sh
# Harmless unless a test arms it (see slurm_cluster.sh).
[ -x "$DIR/prolog.armed" ] || exit 0
exec "$DIR/prolog.armed" "\$@"
EOF
  chmod 755 "$DIR/prolog"
  rm -f "$DIR/prolog.armed"
}

node_lines() {
  local name i=0
  for name in $(node_names); do
    echo "NodeName=$name NodeHostname=$name NodeAddr=127.0.0.1 Port=$((SLURMD_PORT + i)) CPUs=$NODE_CPUS" \
      "RealMemory=1000 State=UNKNOWN"
    i=$((i + 1))
  done
}

# start_slurmd NAME: one node's slurmd; beside others, in namespaces of its own that give it hostname NAME and a
# hosts file naming every node (what separate machines would have).
start_slurmd() {
  local name=$1
  if ((NODES == 1)); then
    start_daemon slurmd "$(slurmd_pidfile "$name")" "$(slurmd_log "$name")" slurmd -f "$SLURM_CONF" -N "$name"
    return
  fi
  install -d -m 1777 "$DIR/tmp/$name"
  # shellcheck disable=SC2016  # expanded by the inner sh, from its arguments
  start_daemon slurmd "$(slurmd_pidfile "$name")" "$(slurmd_log "$name")" \
    unshare --uts --mount --propagation private \
    sh -c 'hostname "$1" && mount --bind "$2" /etc/hosts && mount --bind "$3/$1" "$3" && exec slurmd -f "$4" -N "$1"' \
    sh "$name" "$DIR/hosts" "$DIR/tmp" "$SLURM_CONF"
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

# kill_node NAME: the processes in node NAME's UTS namespace are the node's; none of them survives.
kill_node() {
  local name=$1 pid ns p victims=()
  ((NODES > 1)) || die "kill-node needs a multi-node cluster (started with NODES > 1)"
  pid=$(pid_of "$(slurmd_pidfile "$name")" slurmd) || die "node $name has no running slurmd"
  ns=$(readlink "/proc/$pid/ns/uts")
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/ns/uts" 2>/dev/null) == "$ns" ]] && victims+=("${p#/proc/}")
  done
  kill -KILL "${victims[@]}" 2>/dev/null || true
  wait_gone 5 "${victims[@]}" || die "node $name: processes ${victims[*]} survive SIGKILL"
  log "killed node $name: ${#victims[@]} processes (${victims[*]})"
}

start_cluster() {
  local t0=$SECONDS deadline state ctld_log=$DIR/log/slurmctld.log slurmd_log name mpis
  if [[ -e $DIR/slurm.conf ]]; then
    stop_cluster quiet
  fi
  # Fresh state every start; keep the previous logs one generation back.
  mountpoint -q "$DIR/fsx" && die "$DIR/fsx is still mounted; unmount it (fusermount -u) and start again"
  rm -rf "$DIR/state" "$DIR/spool" "$DIR/tmp" "$DIR/run" "$DIR/previous" "$DIR/fsx" "$DIR/fsx-data"
  mkdir -p "$DIR/previous"
  for f in "$DIR"/log "$DIR"/jobcomp.txt; do
    [[ -e $f ]] && mv "$f" "$DIR/previous/"
  done
  install -d -m 755 "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log"
  install -d -m 1777 "$DIR/tmp"

  pick_ports
  write_conf
  { grep -v '^[[:space:]]*#' /etc/hosts; node_names | sed 's/^/127.0.0.1 /'; } >"$DIR/hosts"
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
  if ((NODES > 1)); then  # before the slurmds: their mount namespaces copy it
    mkdir -p "$DIR/fsx-data" "$DIR/fsx"
    bindfs "$DIR/fsx-data" "$DIR/fsx" 9>&- || die "bindfs could not mount the shared filesystem $DIR/fsx"
  fi
  for name in $(node_names); do start_slurmd "$name"; done

  for name in $(node_names); do
    slurmd_log=$(slurmd_log "$name")
    deadline=$((SECONDS + START_TIMEOUT_S))
    while :; do
      state=$(timeout 5 sinfo -h -n "$name" -o %t 2>/dev/null || true)
      [[ $state == idle ]] && break
      pid_of "$(slurmd_pidfile "$name")" slurmd >/dev/null || die "slurmd $name exited during startup" "$slurmd_log"
      pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null || die "slurmctld exited during startup" "$ctld_log"
      ((SECONDS < deadline)) ||
        die "slurmd: node $name is '${state:-unknown}', not idle, after ${START_TIMEOUT_S}s" "$slurmd_log"
      sleep 0.1
    done
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
        die "slurmd: warm-up job $wid ended ${BASH_REMATCH[1]}" "$DIR"/log/slurmd*.log
      fi
      ((SECONDS < deadline)) ||
        die "slurmd: warm-up job $wid not COMPLETED after ${START_TIMEOUT_S}s (${winfo:+$(grep -o 'JobState=[^ ]* Reason=[^ ]*' <<<"$winfo")})" "$DIR"/log/slurmd*.log
      sleep 0.1
    done
  fi

  {
    echo "# Source this file to talk to the awsdt test cluster in $DIR"
    echo "export SLURM_CONF=$SLURM_CONF"
    echo "export AWSDT_SLURM_DIR=$DIR"
    if ((NODES > 1)); then
      echo "# Nodes share this host: Open MPI between them over TCP on loopback (see the header)"
      echo "export OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo"
      echo "export AWSDT_JOB_ROOT=$DIR/fsx/awsdt/jobs"
    fi
  } >"$DIR/env"
  mpis=$(timeout 10 srun --mpi=list 2>/dev/null | sed -n 's/^[[:space:]]\{1,\}\([a-z0-9_]\{1,\}\)$/\1/p' | tr '\n' ' ' || true)
  echo "${mpis% }" >"$DIR/mpi_types"
  log "cluster awsdt-test up in $((SECONDS - t0))s: node(s) $(node_names | paste -sd,) idle (CPUs=$NODE_CPUS each)," \
    "slurmctld port $CTLD_PORT, slurmd port(s) from $SLURMD_PORT; srun --mpi types: ${mpis:-unknown}"
  cat "$DIR/env"
  CLEANUP_ON_DIE=
}

main() {
  local cmd=${1:-} node=
  case $cmd in
    start) (($# == 2 || $# == 3)) || usage ;;
    stop | status) (($# == 2)) || usage ;;
    kill-node | start-node) (($# == 3)) || usage ;;
    *) usage ;;
  esac
  if [[ $cmd == start ]]; then
    NODES=${3:-1}
    [[ $NODES =~ ^[1-9][0-9]?$ ]] || { echo "$PROG: NODES '$NODES' must be a number from 1 to 99" >&2; exit 2; }
  elif [[ -r $2/slurm.conf ]]; then
    NODES=$(grep -c '^NodeName=' "$2/slurm.conf")
  fi
  [[ $cmd == *-node ]] && node=$3
  if [[ $cmd == start ]]; then
    mkdir -p "$2"
  elif [[ ! -d $2 ]]; then
    log "nothing to $cmd: $2 does not exist"
    return 0
  fi
  DIR=$(cd "$2" && pwd -P)
  readonly DIR
  [[ $(id -u) == 0 ]] || die "must run as root (munged is started as the munge user via runuser)"
  for t in munged munge unmunge slurmctld slurmd sinfo scontrol squeue scancel srun ss runuser flock unshare \
    $( ((NODES == 1)) || echo bindfs fusermount mountpoint); do
    command -v "$t" >/dev/null || die "required tool '$t' not found (install slurm-wlm and munge)"
  done

  # Serialise start/stop on the same DIR; fd 9 is closed for the daemons (9>&-).
  exec 9>"$DIR/.lock"
  flock -w 120 9 || die "could not lock $DIR/.lock within 120s"

  case $cmd in
    start) start_cluster ;;
    stop) stop_cluster ;;
    kill-node) kill_node "$node" ;;
    start-node)
      export SLURM_CONF=$DIR/slurm.conf
      start_slurmd "$node"
      ;;
    status)
      local name rc=0
      local f
      for f in "$DIR/run/slurmctld.pid" "$DIR"/run/slurmd*.pid "$DIR/munge/munged.pid"; do
        name=$(basename "$f" .pid)
        if pid_of "$f" "${name%%-*}" >/dev/null; then log "$name running"; else log "$name not running"; rc=3; fi
      done
      return "$rc"
      ;;
  esac
}

main "$@"
