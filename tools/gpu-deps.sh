#!/usr/bin/env bash
# Prepares the build dependencies for a GPU machine that has CUDA, cmake and ninja but none of our Debian
# packages and no network: downloads the .deb files here (apt-get download) and unpacks them into .gpu-deps/,
# which tools/gpu-check.sh uses when present. Carry .gpu-deps with the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS="$PWD/.gpu-deps"
PACKAGES=(libcli11-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 nlohmann-json3-dev libgtest-dev
  libyaml-cpp-dev libyaml-cpp0.7 libsqlite3-dev libsqlite3-0 libkainjow-mustache-dev)
rm -rf "$DEPS" && mkdir -p "$DEPS/debs"
(cd "$DEPS/debs" && apt-get download "${PACKAGES[@]}")
for deb in "$DEPS"/debs/*.deb; do dpkg -x "$deb" "$DEPS"; done
rm -rf "$DEPS/debs" "$DEPS/usr/share/doc"
grep -qx '/.gpu-deps/' .git/info/exclude 2>/dev/null || echo '/.gpu-deps/' >>.git/info/exclude
du -sh "$DEPS"
