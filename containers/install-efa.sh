#!/usr/bin/env bash
# Installs the EFA software into a container image: libfabric with the efa provider, rdma-core, Open MPI under
# /opt/amazon/openmpi and aws-ofi-nccl. Only the container flags: --skip-kmod (the kernel module is the host's),
# --skip-limit-conf (memlock limits are the host's or the scheduler's), --no-verify (no EFA device at build
# time); -g installs the GPUDirect-capable packages. Never use these flags on a host.
# Usage (both stages of containers/Dockerfile): install-efa.sh VERSION
set -euo pipefail
version=${1:?usage: install-efa.sh EFA_INSTALLER_VERSION}
work=$(mktemp -d)
curl -fsSL "https://efa-installer.amazonaws.com/aws-efa-installer-${version}.tar.gz" | tar -xz -C "$work"
(cd "$work/aws-efa-installer" && ./efa_installer.sh -y -g -d --skip-kmod --skip-limit-conf --no-verify)
rm -rf "$work" /var/lib/apt/lists/*
