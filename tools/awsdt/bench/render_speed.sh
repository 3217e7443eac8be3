#!/usr/bin/env bash
# Speed of `awsdt render` for a 1024-node job on every backend (target: under 50 ms each, process start
# included). Prints the median of RUNS renders per backend.
# Usage: tools/awsdt/bench/render_speed.sh [BUILD_DIR] [RUNS]
set -euo pipefail
AWSDT="${1:-build}/bin/awsdt"
RUNS=${2:-11}
[[ -x $AWSDT ]] || { echo "missing $AWSDT: build first (tools/setup.sh)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
img=123456789012.dkr.ecr.us-east-1.amazonaws.com/awsdt:1
declare -A flags=(
  [slurm]="--cluster slurm"
  [hyperpod-slurm]="--cluster hyperpod-slurm --container $img"
  [eks]="--cluster eks --container $img"
  [eks-torchrun]="--cluster eks --launcher torchrun --container $img"
  [hyperpod-eks]="--cluster hyperpod-eks --container $img"
  [batch]="--cluster batch --container $img --queue q"
)
status=0
for backend in slurm hyperpod-slurm eks eks-torchrun hyperpod-eks batch; do
  times=()
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N)
    # shellcheck disable=SC2086  # the flag strings are word lists on purpose
    "$AWSDT" render collectives -N 1024 --instance-type p5.48xlarge ${flags[$backend]} -o "$out/$backend" >/dev/null
    t1=$(date +%s%N)
    times+=($(((t1 - t0) / 1000)))
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  verdict=OK
  if ((median >= 50000)); then verdict=SLOW; status=1; fi
  printf '%-16s 1024 nodes: median %6.2f ms over %d renders (target < 50 ms) %s\n' "$backend" \
    "$(awk -v us="$median" 'BEGIN {print us / 1000}')" "$RUNS" "$verdict"
done
exit $status
