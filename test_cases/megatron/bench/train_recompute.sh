#!/usr/bin/env bash
# awsdt-megatron train --recompute on `small` at TP 2 with --sequence-parallel, 1 thread per rank: what activation
# recomputation saves (activation bytes per rank, peak RSS) and costs (step time: the recomputed forward of every
# block, and exposed TP communication: its all-gathers and o_proj's reduce-scatter run again), against the same run
# without it. Wall-clock figures are medians over the steps after the first (result documents); the load average
# is printed with them.
# Usage: train_recompute.sh [BIN_DIR] [STEPS] [SEQ_LEN]   (SEQ_LEN at most small's 256, the default)
set -euo pipefail
bin=${1:-build/bin}
steps=${2:-6}
seq=${3:-256}
((steps >= 3)) || { echo "train_recompute: STEPS must be >= 3" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
args=(--model small --threads 1 --micro-batch-size 1 --seq-len "$seq" --calibrate-n 256 --tp 2 --sequence-parallel
  --steps "$steps")

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for tag in keep recompute; do
  extra=()
  [[ $tag == recompute ]] && extra=(--recompute)
  mpirun --oversubscribe -np 2 "$bin/awsdt-megatron" train "${args[@]}" "${extra[@]}" --output "$tmp/$tag.json" \
    >"$tmp/$tag.log" 2>&1 || { cat "$tmp/$tag.log" >&2; exit 1; }
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$tmp" "$seq" <<'PY'
import json, statistics, sys
tmp, seq = sys.argv[1], sys.argv[2]
docs = {t: json.load(open(f"{tmp}/{t}.json")) for t in ("keep", "recompute")}
med = lambda t, k: statistics.median(r[k] for r in docs[t]["rows"][1:])
mib = lambda b: b / 2**20
print(f"{'small, TP 2 + SP, seq ' + seq + ', 1 thread per rank':44s} {'step ms':>8s} {'tokens/s':>9s} "
      f"{'exposed TP comm ms':>19s} {'activations MiB/rank':>21s} {'peak RSS MiB':>13s} {'final loss':>11s}")
for t, name in (("keep", "activations kept"), ("recompute", "--recompute")):
    s = docs[t]["summary"]
    print(f"{name:44s} {med(t, 'step_ms'):8.1f} {med(t, 'tokens_per_s'):9.1f} {med(t, 'tp_comm_ms'):19.1f} "
          f"{mib(s['per_rank_activation_bytes']):21.2f} {mib(s['peak_rss_bytes']):13.1f} {s['final_loss']:11.6f}")
k, r = docs["keep"]["summary"], docs["recompute"]["summary"]
print(f"recompute keeps {r['per_rank_activation_bytes'] / k['per_rank_activation_bytes']:.2f}x the activation bytes "
      f"at {med('recompute', 'step_ms') / med('keep', 'step_ms'):.2f}x the step time; "
      f"same final loss: {r['final_loss'] == k['final_loss']}")
PY
