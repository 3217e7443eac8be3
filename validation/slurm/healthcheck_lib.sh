# shellcheck shell=bash
# Shared by prolog.sh, epilog.sh and healthcheck_program.sh (sourced): run awsdt-healthcheck and act on its exit
# status as docs/healthcheck.md says: 0 healthy (MONITOR is logged), 3 RESET (logged: reset the GPUs when the node is
# idle), 4 REBOOT and 5 ISOLATE drain the node with the failing check in the reason; anything else (the executable
# missing, a usage error) is logged and leaves the node alone, so that a broken installation cannot drain a cluster.
#
# Environment: AWSDT_HEALTHCHECK (the executable; default awsdt-healthcheck beside this tree's build, else on PATH),
# AWSDT_HEALTHCHECK_ARGS (more flags, e.g. "--require-mount /fsx"), AWSDT_HEALTHCHECK_DIR (results and logs,
# default /tmp/awsdt-healthcheck); healthcheck.env beside these scripts (awsdt render node-health --cluster slurm
# writes one) sets them for every node.

hc_env=$(dirname "${BASH_SOURCE[0]}")/healthcheck.env
# shellcheck source=/dev/null
[[ -r $hc_env ]] && source "$hc_env"

hc_log() { logger -t awsdt-healthcheck -- "$*" 2>/dev/null || true; echo "awsdt-healthcheck: $*" >&2; }

hc_executable() {
  if [[ -n ${AWSDT_HEALTHCHECK:-} ]]; then echo "$AWSDT_HEALTHCHECK"; return; fi
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  for c in "$here/build/bin/awsdt-healthcheck" "$here/bin/awsdt-healthcheck"; do
    [[ -x $c ]] && { echo "$c"; return; }
  done
  echo awsdt-healthcheck
}

# hc_run NAME ARGS...: runs the checks; sets HC_STATUS and HC_REASON (the drain reason, empty when healthy).
hc_run() {
  local name=$1 dir=${AWSDT_HEALTHCHECK_DIR:-/tmp/awsdt-healthcheck} tag
  shift
  tag=$name-${SLURM_JOB_ID:-$$}
  mkdir -p "$dir"
  rm -f "$dir/$tag.reason"
  # shellcheck disable=SC2086  # AWSDT_HEALTHCHECK_ARGS is a list of flags
  "$(hc_executable)" "$@" --output "$dir/$tag.json" --reason-file "$dir/$tag.reason" ${AWSDT_HEALTHCHECK_ARGS:-} \
    >"$dir/$tag.log" 2>&1
  HC_STATUS=$?
  HC_REASON=$(cat "$dir/$tag.reason" 2>/dev/null || true)
  case $HC_STATUS in
    0) ;;
    3) hc_log "$name: a GPU needs a reset (RESET): see $dir/$tag.log" ;;
    4 | 5) ;;
    *) hc_log "$name: awsdt-healthcheck could not run (exit $HC_STATUS), node left alone: $(tail -n 1 "$dir/$tag.log")" ;;
  esac
}

# hc_drain: drains this node with HC_REASON when the checks asked for it; returns 1 then.
hc_drain() {
  [[ $HC_STATUS == 4 || $HC_STATUS == 5 ]] || return 0
  local node=${SLURMD_NODENAME:-$(hostname -s)}
  hc_log "draining $node: $HC_REASON"
  scontrol update nodename="$node" state=drain reason="$HC_REASON" || hc_log "scontrol update failed for $node"
  return 1
}
