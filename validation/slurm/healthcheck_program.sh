#!/usr/bin/env bash
# Slurm HealthCheckProgram (slurm.conf: HealthCheckProgram=<this file>, HealthCheckInterval, HealthCheckNodeState=IDLE):
# the lightweight suite, periodically. Drains on REBOOT or ISOLATE; a node this program drained earlier
# (its reason starts with "awsdt-healthcheck:") is resumed once every check passes again. See healthcheck_lib.sh.
# shellcheck source=SCRIPTDIR/healthcheck_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/healthcheck_lib.sh"
hc_run periodic --suite lightweight
hc_drain || exit 0
node=${SLURMD_NODENAME:-$(hostname -s)}
if [[ $HC_STATUS == 0 ]] && scontrol show node "$node" 2>/dev/null | grep -q 'Reason=awsdt-healthcheck:'; then
  hc_log "resuming $node: every check passes"
  scontrol update nodename="$node" state=resume
fi
exit 0
