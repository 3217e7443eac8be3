#!/usr/bin/env bash
# Slurm Epilog (slurm.conf: Epilog=<this file>): after every job, the checks a job's crash most often leaves behind
# (new Xids, ECC errors), so that the next job does not start on a GPU the last one broke. Drains on REBOOT or
# ISOLATE like the prolog; see healthcheck_lib.sh.
# shellcheck source=SCRIPTDIR/healthcheck_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/healthcheck_lib.sh"
hc_run epilog --check gpu-xid --check gpu-ecc
hc_drain || exit 1
exit 0
