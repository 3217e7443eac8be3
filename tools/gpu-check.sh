#!/usr/bin/env bash
# The GPU check: on a machine with GPUs and the CUDA toolkit, build awsdt with CUDA and NCCL required, run the
# `gpu` tests, the collectives on every GPU of this machine (one process, -g N, env bootstrap: no MPI needed) and
# the CUDA training engine (awsdt-fsdp --device cuda: one GPU, then sharded over all of them).
# Without our Debian packages there, run tools/gpu-deps.sh on a machine that has apt first and carry .gpu-deps.
# NCCL comes from the CUDA toolkit or, failing that, from the pip wheel (nvidia-nccl-cu*).
# Results go to $OUT (default /tmp/awsdt-gpu-check).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/awsdt-gpu-check}
BUILD=${AWSDT_GPU_BUILD_DIR:-build-gpu}
mkdir -p "$OUT"

DEPS="$PWD/.gpu-deps"
if [[ -d $DEPS/usr ]]; then
  export CMAKE_PREFIX_PATH="$DEPS/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export LD_LIBRARY_PATH="$DEPS/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
nccl_args=()
if ! compgen -G "/usr/local/cuda/lib64/libnccl.so*" >/dev/null; then
  if root=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>/dev/null); then
    nccl_args=(-DNCCL_ROOT="$root")
    export LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi

set -o pipefail
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAWSDT_WITH_CUDA=ON -DAWSDT_WITH_NCCL=ON \
  -DCMAKE_CUDA_ARCHITECTURES=native "${nccl_args[@]}" 2>&1 | tee "$OUT/configure.log"
cmake --build "$BUILD" -j "$(nproc)" 2>&1 | tail -n 20 | tee "$OUT/build.log"
ctest --test-dir "$BUILD" -L gpu --output-on-failure 2>&1 | tee "$OUT/gpu-tests.log"

ngpus=$(nvidia-smi -L | wc -l)
env MASTER_ADDR=127.0.0.1 MASTER_PORT=29533 RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 \
  "$BUILD/bin/awsdt-collectives" all -b 8 -e 1G -f 4 -g "$ngpus" --backend nccl --bootstrap env \
  -J "$OUT/collectives.json" 2>&1 | tee "$OUT/collectives.txt"
env MASTER_ADDR=127.0.0.1 MASTER_PORT=29534 RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 \
  "$BUILD/bin/awsdt-collectives" all_reduce -b 1M -e 256M -f 4 -g "$ngpus" -G 10 --backend nccl --bootstrap env \
  2>&1 | tee "$OUT/collectives-graph.txt"

# The CUDA training engine on one GPU (through NCCL, env bootstrap: no MPI needed): llama3_2_1b shapes with 4
# layers (MFU against the catalog's peak), and a reduced llama3_1_8b (2 layers) for the FSDP issue's 1-GPU figures.
env MASTER_ADDR=127.0.0.1 MASTER_PORT=29535 RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 \
  "$BUILD/bin/awsdt-fsdp" --device cuda --model llama3_2_1b --n-layers 4 --seq-len 2048 --micro-batch-size 4 \
  --steps 12 --log-every 2 --output "$OUT/fsdp-llama3_2_1b.json" 2>&1 | tee "$OUT/fsdp-llama3_2_1b.txt"
env MASTER_ADDR=127.0.0.1 MASTER_PORT=29536 RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 \
  "$BUILD/bin/awsdt-fsdp" --device cuda --model llama3_1_8b --n-layers 2 --seq-len 2048 --micro-batch-size 2 \
  --steps 8 --log-every 2 --output "$OUT/fsdp-llama3_1_8b.json" 2>&1 | tee "$OUT/fsdp-llama3_1_8b.txt"
# Sharded training across every GPU of this machine (ZeRO-3 over NCCL, one process per GPU, env bootstrap):
# the reduced llama3_1_8b again, at the same per-GPU batch.
if (( ngpus >= 2 )); then
  pids=()
  for ((r = ngpus - 1; r >= 0; --r)); do
    log="$OUT/fsdp-llama3_1_8b-${ngpus}gpu-rank$r.txt"
    out=(); (( r == 0 )) && out=(--output "$OUT/fsdp-llama3_1_8b-${ngpus}gpu.json")
    env MASTER_ADDR=127.0.0.1 MASTER_PORT=29537 RANK=$r WORLD_SIZE=$ngpus LOCAL_RANK=$r \
      "$BUILD/bin/awsdt-fsdp" --device cuda --model llama3_1_8b --n-layers 2 --seq-len 2048 --micro-batch-size 2 \
      --global-batch-size $((2 * ngpus)) --sharding full --steps 8 --log-every 2 "${out[@]}" >"$log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  cat "$OUT/fsdp-llama3_1_8b-${ngpus}gpu-rank0.txt"
fi
