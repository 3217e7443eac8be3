#!/usr/bin/env bash
# Slow test (label slow): builds containers/Dockerfile.cpu on a Debian 12 base made here (debootstrap from this
# machine's apt mirror, imported with podman or docker: no image registry is needed) with this build's binaries
# (--prebuilt), and runs `awsdt run collectives` with 2 ranks inside. Skips (exit 77) with the reason when this
# machine cannot: no container runtime that runs (or one that cannot start a container), no debootstrap, no
# binaries. Bounded to 9 minutes.
#   container_build.sh SOURCE_DIR BIN_DIR
set -uo pipefail
ROOT=$(cd "$1" && pwd)
BIN=$2
skip() { echo "SKIP: $*"; exit 77; }

[[ -x $BIN/awsdt && -x $BIN/awsdt-collectives ]] || skip "no awsdt binaries in $BIN"
runtime=""
if command -v podman >/dev/null && timeout 20 podman info >/dev/null 2>&1; then runtime=podman
elif command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then runtime=docker
fi
if [[ -z $runtime ]]; then
  why=()
  if command -v podman >/dev/null; then why+=("podman info fails"); else why+=("podman not installed"); fi
  if command -v docker >/dev/null; then why+=("docker has no daemon ($(set +o pipefail; timeout 10 docker info 2>&1 | grep -m1 -i 'cannot connect\|error'))")
  else why+=("docker not installed"); fi
  skip "no container runtime runs here: ${why[*]} (apt-get install podman debootstrap, then rerun)"
fi
command -v debootstrap >/dev/null || skip "debootstrap not installed (apt-get install debootstrap): the base image is made with it"
# A runtime that answers `info` may still be unable to start a container (a sandbox that forbids setrlimit or
# namespaces): start one on the host's own root, no image needed, before spending minutes on the build.
if ! probe=$(timeout 60 "$runtime" run --rm --network host --rootfs / /bin/true 2>&1); then
  skip "$runtime cannot start a container here: $(tr '\n' ' ' <<<"$probe" | cut -c1-200)"
fi

deadline=$((SECONDS + 540))
left() { echo $((deadline - SECONDS)); }
args=(--cpu --runtime "$runtime" --prebuilt "$BIN" --network host --tag awsdt-cpu:test)
if ! "$runtime" image exists awsdt-base/debian:12 2>/dev/null && ! "$runtime" image inspect awsdt-base/debian:12 >/dev/null 2>&1; then
  args+=(--make-base)
else
  args+=(--base awsdt-base/debian:12)
fi
if ! timeout "$(left)" "$ROOT/containers/build.sh" "${args[@]}"; then
  rc=$?
  ((rc == 124)) && skip "the image build did not finish within the test's 9 minutes on this machine"
  echo "FAIL: containers/build.sh ${args[*]} exited $rc"
  exit 1
fi
out=$(timeout "$(left)" "$runtime" run --rm --network host awsdt-cpu:test awsdt run collectives -- all_reduce -b 8 -e 1M 2>&1)
rc=$?
echo "$out" | tail -20
((rc == 0)) || { echo "FAIL: awsdt run collectives in the container exited $rc"; exit 1; }
grep -q "Avg bus bandwidth" <<<"$out" || { echo "FAIL: no 'Avg bus bandwidth' line from 2 ranks"; exit 1; }
echo "ok: Dockerfile.cpu built on a local base; awsdt run collectives ran with 2 ranks inside"
