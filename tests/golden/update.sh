#!/usr/bin/env bash
# Regenerates the golden renders after an intended template change: tests/golden/update.sh [BUILD_DIR]
# Review the diff before committing it: these files are what users submit.
set -euo pipefail
cd "$(dirname "$0")"
AWSDT="$(realpath "${1:-../../build}")/bin/awsdt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
img=123456789012.dkr.ecr.us-east-1.amazonaws.com/awsdt:1
render() {  # render OUT_DIR FLAGS...: the fixed job every golden file shares, plus per-backend flags
  local out=$1
  shift
  "$AWSDT" render collectives -N 2 --instance-type p5.48xlarge --job-dir /fsx/awsdt/jobs/golden --time 02:00:00 \
    --env NCCL_DEBUG=INFO -o "$tmp/$out" "$@" -- all_reduce -b 8 -e 1G -f 2 >/dev/null
}
render slurm --cluster slurm --partition p5 --account ml --bin-dir /fsx/awsdt/bin
render hyperpod-slurm --cluster hyperpod-slurm --container nvcr.io/nvidia/pytorch:24.07-py3 --mount /fsx:/fsx
render eks --cluster eks --container "$img" --namespace training
render eks-torchrun --cluster eks --launcher torchrun --container "$img"
render hyperpod-eks --cluster hyperpod-eks --container "$img" --retries 3
render batch --cluster batch --container "$img" --queue p5-queue
cp "$tmp/slurm/job.sbatch" slurm.sbatch
cp "$tmp/hyperpod-slurm/job.sbatch" hyperpod-slurm.sbatch
cp "$tmp/eks/mpijob.yaml" eks-mpijob.yaml
cp "$tmp/eks-torchrun/pytorchjob.yaml" eks-pytorchjob.yaml
cp "$tmp/hyperpod-eks/hyperpodpytorchjob.yaml" hyperpod-eks.yaml
cp "$tmp/batch/job-definition.json" batch-job-definition.json
cp "$tmp/batch/submit-job.json" batch-submit-job.json
echo "golden renders updated in $(pwd)"
