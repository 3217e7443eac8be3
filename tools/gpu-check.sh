#!/usr/bin/env bash
# The GPU check: on a machine with GPUs and the CUDA toolkit, build awsdt with CUDA and NCCL required, then run
# the CUDA training engine (awsdt-fsdp --device cuda: one GPU, then sharded over all of them), the collectives on
# every GPU of this machine (one process, -g N, env bootstrap: no MPI needed), awsdt-megatron train on CUDA (TP 1
# against awsdt-fsdp's MFU, then TP over every GPU), awsdt-megatron's TP GEMMs (against torch.matmul on one GPU,
# then the TP table over every GPU) and the `gpu` tests.
# The measurements come before the tests, and every test has a time limit, so that a lease that ends early (or a
# hanging test) still leaves the figures. Nothing stops at the first failure; the exit status is the worst seen.
# Without our Debian packages there, run tools/gpu-deps.sh on a machine that has apt first and carry .gpu-deps.
# NCCL comes from the CUDA toolkit or, failing that, from the pip wheel (nvidia-nccl-cu*).
# Results go to $OUT (default /tmp/awsdt-gpu-check): one log, gpu-check.log, and the JSON result documents,
# few files, as a device lease returns only a handful.
set -uo pipefail
cd "$(dirname "$0")/.." || exit
OUT=${OUT:-/tmp/awsdt-gpu-check}
BUILD=${AWSDT_GPU_BUILD_DIR:-build-gpu}
mkdir -p "$OUT"
LOG="$OUT/gpu-check.log"
: >"$LOG"
status=0
# step TITLE COMMAND...: runs one stage with its output appended to the log (and shown), and remembers a failure.
step() {
  local title=$1
  shift
  echo "=== $title" | tee -a "$LOG"
  "$@" 2>&1 | tee -a "$LOG"
  local rc=${PIPESTATUS[0]}
  if ((rc != 0)); then
    echo "=== $title: FAILED (exit $rc)" | tee -a "$LOG"
    status=$rc
  fi
  return "$rc"
}

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

nvidia-smi -L | tee -a "$LOG"
step configure cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAWSDT_WITH_CUDA=ON \
  -DAWSDT_WITH_NCCL=ON -DCMAKE_CUDA_ARCHITECTURES=native "${nccl_args[@]}" || exit
step build cmake --build "$BUILD" -j "$(nproc)" || exit

# on_gpus RANK WORLD PORT COMMAND...: one process of a torchrun-style (env bootstrap) launch.
on_gpus() {
  local rank=$1 world=$2 port=$3
  shift 3
  env MASTER_ADDR=127.0.0.1 MASTER_PORT="$port" RANK="$rank" WORLD_SIZE="$world" LOCAL_RANK="$rank" "$@"
}
fsdp="$BUILD/bin/awsdt-fsdp"
# The CUDA training engine on one GPU (through NCCL): llama3_2_1b shapes with 4 layers (MFU against the
# catalog's peak), and a reduced llama3_1_8b (2 layers) for the FSDP issue's 1-GPU figures.
step "fsdp llama3_2_1b, 4 layers, 1 GPU" on_gpus 0 1 29535 "$fsdp" --device cuda --model llama3_2_1b --n-layers 4 \
  --seq-len 2048 --micro-batch-size 4 --steps 12 --log-every 2 --output "$OUT/fsdp-llama3_2_1b.json"
# The same with the flash-style attention kernels (CUDA cores) instead of the chunked tensor-core default.
step "fsdp llama3_2_1b, 4 layers, 1 GPU, --attention flash" on_gpus 0 1 29538 "$fsdp" --device cuda \
  --model llama3_2_1b --n-layers 4 --seq-len 2048 --micro-batch-size 4 --steps 6 --log-every 2 --attention flash \
  --output "$OUT/fsdp-llama3_2_1b-flash.json"
# The reference side by side: the same model and batch in a plain PyTorch loop (AMP bf16, SDPA, fused AdamW).
step "llama3_2_1b, 4 layers: awsdt-fsdp vs PyTorch" python3 test_cases/fsdp/bench/gpu_vs_pytorch.py --exe "$fsdp" \
  --steps 12 --awsdt-json "$OUT/fsdp-llama3_2_1b.json"
step "fsdp llama3_1_8b, 2 layers, 1 GPU" on_gpus 0 1 29536 "$fsdp" --device cuda --model llama3_1_8b --n-layers 2 \
  --seq-len 2048 --micro-batch-size 2 --steps 8 --log-every 2 --output "$OUT/fsdp-llama3_1_8b.json"

ngpus=$(nvidia-smi -L | wc -l)
# awsdt-megatron train on CUDA (issue 21): TP 1 on one GPU, the same model and batch as the first fsdp run (its MFU
# must be fsdp's within 5%, its losses fsdp's), then TP = every GPU of this machine with SP at the same global
# batch (its losses must follow TP 1's); the NCCL TP collectives run on the model's stream.
meg="$BUILD/bin/awsdt-megatron"
step "megatron train llama3_2_1b, 4 layers, TP 1, 1 GPU" on_gpus 0 1 29540 "$meg" train --device cuda --tp 1 \
  --model llama3_2_1b --n-layers 4 --seq-len 2048 --micro-batch-size 4 --steps 12 --log-every 2 \
  --output "$OUT/megatron-train-tp1.json"
tpn_args=()
if ((ngpus >= 2)); then
  pids=()
  for ((r = ngpus - 1; r >= 0; --r)); do
    out=()
    ((r == 0)) && out=(--output "$OUT/megatron-train-tp${ngpus}.json")
    on_gpus "$r" "$ngpus" 29541 "$meg" train --device cuda --tp "$ngpus" --sequence-parallel --model llama3_2_1b \
      --n-layers 4 --seq-len 2048 --micro-batch-size 4 --steps 12 --log-every 2 "${out[@]}" \
      >"/tmp/megatron-train-rank$r.txt" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  tee -a "$LOG" </tmp/megatron-train-rank0.txt
  ((status == 0)) || cat /tmp/megatron-train-rank*.txt >>"$LOG"
  tpn_args=(--tpn "$OUT/megatron-train-tp${ngpus}.json")
fi
step "megatron train vs fsdp (MFU within 5%, losses)" python3 test_cases/megatron/bench/gpu_train_check.py \
  --fsdp "$OUT/fsdp-llama3_2_1b.json" --tp1 "$OUT/megatron-train-tp1.json" "${tpn_args[@]}"

# Sharded training across every GPU of this machine (ZeRO-3 over NCCL, one process per GPU): the reduced
# llama3_1_8b again, at the same per-GPU batch. Rank 0's output goes to the log; the others' only on failure.
if ((ngpus >= 2)); then
  pids=()
  for ((r = ngpus - 1; r >= 0; --r)); do
    out=()
    ((r == 0)) && out=(--output "$OUT/fsdp-llama3_1_8b-${ngpus}gpu.json")
    on_gpus "$r" "$ngpus" 29537 "$fsdp" --device cuda --model llama3_1_8b --n-layers 2 --seq-len 2048 \
      --micro-batch-size 2 --global-batch-size $((2 * ngpus)) --sharding full --steps 8 --log-every 2 "${out[@]}" \
      >"/tmp/fsdp-rank$r.txt" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  tee -a "$LOG" </tmp/fsdp-rank0.txt
  ((status == 0)) || cat /tmp/fsdp-rank*.txt >>"$LOG"
fi

step "collectives, all ops, $ngpus GPU(s)" on_gpus 0 1 29533 "$BUILD/bin/awsdt-collectives" all -b 8 -e 1G -f 4 \
  -g "$ngpus" --backend nccl --bootstrap env -J "$OUT/collectives.json"
step "all_reduce through a CUDA graph" on_gpus 0 1 29534 "$BUILD/bin/awsdt-collectives" all_reduce -b 1M -e 256M \
  -f 4 -g "$ngpus" -G 10 --backend nccl --bootstrap env

# awsdt-megatron gemm: on one GPU, its GEMMs against torch.matmul (cuBLASLt) at Llama-3 70B TP8 per-rank shapes and
# the cost of chunking; on every GPU of this machine, the whole table at TP = the GPU count.
meg="$BUILD/bin/awsdt-megatron"
step "megatron GEMMs vs torch.matmul, 1 GPU" python3 test_cases/megatron/bench/gpu_gemm_vs_torch.py --exe "$meg"
if ((ngpus >= 2)); then
  pids=()
  for ((r = ngpus - 1; r >= 0; --r)); do
    out=()
    ((r == 0)) && out=(-J "$OUT/megatron-${ngpus}gpu.json")
    on_gpus "$r" "$ngpus" 29539 "$meg" gemm --bootstrap env --backend nccl --pattern all --method all \
      --model llama3_1_70b --tp "$ngpus" --seq 8192 -n 20 "${out[@]}" >"/tmp/megatron-rank$r.txt" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  tee -a "$LOG" </tmp/megatron-rank0.txt
fi

# awsdt-healthcheck on real GPUs: NVML (count, model, persistence, ECC, row remapping, NVLink state and counters),
# the kernel log's Xids, the clock, and the GEMM check's bf16 TFLOP/s per GPU through cuBLASLt (against the catalog's
# peak when the instance type is known).
hc="$BUILD/bin/awsdt-healthcheck"
step "healthcheck lightweight (NVML, Xids, NVLink)" "$hc" --suite lightweight -o "$OUT/healthcheck-lightweight.json"
step "healthcheck GEMM on every GPU" "$hc" --check gemm --exclusive -o "$OUT/healthcheck-gemm.json"
# Each GPU's memory bandwidth (device-to-device copies, bytes read + written per second) and the node's all_reduce
# through awsdt-collectives on every GPU (skipped on one GPU), against the catalog when the instance type is known.
step "healthcheck GPU memory bandwidth, node all_reduce" "$hc" --check gpu-membw --check node-allreduce --exclusive \
  -o "$OUT/healthcheck-membw-allreduce.json"

step "gpu tests" ctest --test-dir "$BUILD" -L gpu --output-on-failure --timeout 240
echo "=== gpu-check: exit $status" | tee -a "$LOG"
exit "$status"
