#!/usr/bin/env bash
# Slurm Prolog (slurm.conf: Prolog=<this file>, PrologFlags=Alloc): awsdt-healthcheck's prolog suite (a few seconds)
# before every job. On REBOOT or ISOLATE it drains this node with the failing check in the reason and exits 1, so
# that Slurm requeues the job on another node; anything milder lets the job run. See healthcheck_lib.sh.
# shellcheck source=SCRIPTDIR/healthcheck_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/healthcheck_lib.sh"
hc_run prolog --suite prolog
hc_drain || exit 1
exit 0
