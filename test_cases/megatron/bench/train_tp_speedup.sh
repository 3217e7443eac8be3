#!/usr/bin/env bash
# awsdt-megatron train on `small`: TP 2 x 1 thread against TP 1 x 1 thread on this machine (target: >= 1.6x the
# tokens/s), and TP 2's exposed TP communication per step; medians over the steps after the first, from the
# result documents. Usage: train_tp_speedup.sh [BIN_DIR] [STEPS]
set -euo pipefail
bin=${1:-build/bin}
steps=${2:-8}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
args=(--model small --threads 1 --steps "$steps" --micro-batch-size 1 --seq-len 256 --calibrate-n 256)
mpirun --oversubscribe -np 1 "$bin/awsdt-megatron" train "${args[@]}" --tp 1 --output "$tmp/tp1.json" >/dev/null
mpirun --oversubscribe -np 2 "$bin/awsdt-megatron" train "${args[@]}" --tp 2 --output "$tmp/tp2.json" >/dev/null
python3 - "$tmp/tp1.json" "$tmp/tp2.json" <<'PY'
import json, statistics, sys
def med(path, key):
    rows = json.load(open(path))["rows"][1:]
    return statistics.median(r[key] for r in rows)
tp1 = med(sys.argv[1], "tokens_per_s")
tp2 = med(sys.argv[2], "tokens_per_s")
print(f"small, 1 thread per rank: TP 1 {tp1:.1f} tokens/s, TP 2 {tp2:.1f} tokens/s: {tp2 / tp1:.2f}x (target >= 1.6x)")
print(f"TP 2 exposed TP comm per step: {med(sys.argv[2], 'tp_comm_ms'):.1f} ms of {med(sys.argv[2], 'step_ms'):.1f} ms "
      "(no --tp-comm-overlap yet: every TP collective blocks)")
PY
