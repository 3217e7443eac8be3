#!/usr/bin/env bash
# HyperPod lifecycle script for awsdt (OnCreate): FSx for Lustre at /fsx on every node, then Slurm, Docker,
# enroot and pyxis from AWS's base-config lifecycle scripts (github.com/aws-samples/awsome-distributed-training,
# 1.architectures/5.sagemaker-hyperpod/LifecycleScripts/base-config), which upload beside this file as base-config/.
# HyperPod runs it as root from the directory it downloaded the S3 prefix to.
set -euxo pipefail
cd "$(dirname "$0")"
params=provisioning_parameters.json
fsx_dns=$(python3 -c "import json; print(json.load(open('$params'))['fsx_dns_name'])")
fsx_mount=$(python3 -c "import json; print(json.load(open('$params'))['fsx_mountname'])")

mkdir -p /fsx
if ! mountpoint -q /fsx; then
  mount -t lustre -o relatime,flock "$fsx_dns@tcp:/$fsx_mount" /fsx
  echo "$fsx_dns@tcp:/$fsx_mount /fsx lustre defaults,relatime,flock,_netdev 0 0" >>/etc/fstab
fi
# Where awsdt's jobs and the enroot image live (test_cases/*/slurm/*.sbatch: /fsx/awsdt/jobs, /fsx/awsdt/awsdt.sqsh).
mkdir -p /fsx/awsdt/jobs
chmod 1777 /fsx/awsdt /fsx/awsdt/jobs

if [[ -f base-config/on_create.sh ]]; then
  cp "$params" base-config/
  (cd base-config && bash on_create.sh)
else
  echo "awsdt on_create: base-config/ missing: upload AWS's base-config lifecycle scripts beside this file" >&2
  exit 1
fi
