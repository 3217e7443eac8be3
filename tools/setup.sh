#!/usr/bin/env bash
# Set-up for a fresh Debian 12 / Ubuntu 22.04+ machine: installs the missing packages (only those), then
# configures and builds awsdt into ./build. Idempotent and quick when everything is already there.
#   tools/setup.sh            install + build
#   AWSDT_BUILD_DIR=dir       build somewhere else (default: build)
#   AWSDT_CMAKE_ARGS="..."    extra configure arguments (e.g. -DAWSDT_WITH_CUDA=OFF)
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR="${AWSDT_BUILD_DIR:-build}"

# Compiler and build tools, MPI and libfabric, the libraries we build against, and what the tests drive.
PACKAGES=(
  g++ cmake ninja-build pkg-config git
  openmpi-bin libopenmpi-dev libfabric-bin libfabric-dev
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev libgtest-dev
  libopenblas-openmp-dev libsqlite3-dev libcpp-httplib-dev libkainjow-mustache-dev
  slurm-wlm munge awscli shellcheck clang-format
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

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  # shellcheck disable=SC2086  # AWSDT_CMAKE_ARGS is a list of words on purpose
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${AWSDT_CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "awsdt setup: built into $BUILD_DIR (binaries in $BUILD_DIR/bin)"
