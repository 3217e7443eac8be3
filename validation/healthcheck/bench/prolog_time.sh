#!/usr/bin/env bash
# The prolog suite's wall time (target: under 10 s, what a Slurm prolog may add to every job), median of RUNS runs:
# on this machine as it is (checks that need GPUs or EFA skip here), and on a fake p5.48xlarge (8 GPUs through the
# fake NVML, 32 EFA devices, a kernel log with 20000 lines), where every prolog check runs.
#   validation/healthcheck/bench/prolog_time.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
runs=${2:-11}
hc=$build/bin/awsdt-healthcheck
fake_nvml=$build/tests/libawsdt_fake_nvml.so
[[ -x $hc ]] || { echo "prolog_time.sh: no $hc (build awsdt-healthcheck)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A fake healthy p5.48xlarge under $tmp/root (the layout of validation/healthcheck/tests/fake_tree.cpp).
make_p5() {
  local r=$tmp/root i
  mkdir -p "$r/sys/devices/virtual/dmi/id" "$r/dev/infiniband" "$r/dev/shm" "$r/proc/self" "$r/proc/4242"
  echo p5.48xlarge >"$r/sys/devices/virtual/dmi/id/product_name"
  for ((i = 0; i < 32; i++)); do
    mkdir -p "$r/sys/class/infiniband/rdmap${i}s0/device"
    echo 0x1d0f >"$r/sys/class/infiniband/rdmap${i}s0/device/vendor"
    echo 0xefa1 >"$r/sys/class/infiniband/rdmap${i}s0/device/device"
    : >"$r/dev/infiniband/uverbs$i"
  done
  printf 'efa 1 0 - Live 0x0\nib_uverbs 1 1 efa, Live 0x0\nib_core 1 2 efa, Live 0x0\n' >"$r/proc/modules"
  printf 'HugePages_Total:    5128\n' >"$r/proc/meminfo"
  printf 'Max locked memory         unlimited            unlimited            bytes\n' >"$r/proc/self/limits"
  printf '/dev/root / ext4 rw 0 0\nfs@tcp:/fsx /fsx lustre rw 0 0\n' >"$r/proc/mounts"
  echo nv-fabricmanager >"$r/proc/4242/comm"
  for ((i = 0; i < 20000; i++)); do echo "6,$i,$i,-;kernel: an ordinary kernel message number $i"; done >"$r/dev/kmsg"
  python3 -c 'import json; print(json.dumps({"gpus": [{"name": "NVIDIA H100 80GB HBM3", "persistence": 1,
    "retired_pages": {"sbe": 0, "dbe": 0, "pending": 0}, "volatile_uncorrected": 0,
    "remapped_rows": {"pending": 0, "failure": 0}, "nvlinks": [1] * 18} for _ in range(8)]}))' >"$tmp/nvml.json"
}

# median_seconds CMD...: the median wall time of RUNS runs (each must exit 0).
median_seconds() {
  local i t0 times=()
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s.%N)
    "$@" >/dev/null || { echo "prolog_time.sh: '$*' failed" >&2; exit 1; }
    times+=("$(echo "$(date +%s.%N) - $t0" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p"
}

make_p5
here=$(median_seconds "$hc" --suite prolog)
p5=$(AWSDT_FAKE_NVML=$tmp/nvml.json median_seconds "$hc" --suite prolog --root "$tmp/root" --nvml-library "$fake_nvml" \
  --require-mount /fsx --efa-provider tcp)
printf 'prolog suite, median of %d runs (target < 10 s):\n' "$runs"
printf '  this machine:        %6.3f s  (%.4f of the target)\n' "$here" "$(echo "$here / 10" | bc -l)"
printf '  fake p5.48xlarge:    %6.3f s  (%.4f of the target)\n' "$p5" "$(echo "$p5 / 10" | bc -l)"
