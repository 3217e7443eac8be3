#!/usr/bin/env bash
# awsdt-megatron train on `small`: TP 2 x 1 thread against TP 1 x 1 thread on this machine (target: >= 1.6x the
# tokens/s), TP 2 with --sequence-parallel with and without --tp-comm-overlap side by side, and each run's exposed
# TP communication per step. Wall-clock figures are medians over the steps after the first (result documents).
# The CPU seconds per step (the processes' user + system time of a STEPS run less a 2-step run, over STEPS - 2)
# do not depend on what else the machine runs: TP 1's CPU per step over TP 2's per rank is the speedup two idle
# cores would give at most. The load average is printed with the figures: on a loaded machine the ranks of TP 2
# wait for each other to be scheduled, and wall-clock ratios mean little.
# Usage: train_tp_speedup.sh [BIN_DIR] [STEPS] [METHOD]   (METHOD: the overlap's ring | pipelined, default ring)
set -euo pipefail
bin=${1:-build/bin}
steps=${2:-8}
method=${3:-ring}
((steps >= 4)) || { echo "train_tp_speedup: STEPS must be >= 4" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
args=(--model small --threads 1 --micro-batch-size 1 --seq-len 256 --calibrate-n 256)

# run TAG RANKS ARGS...: a STEPS run (its result document and CPU time) and a 2-step run (its CPU time).
run() {
  local tag=$1 np=$2
  shift 2
  for n in "$steps" 2; do
    /usr/bin/time -f "%U %S" -o "$tmp/$tag.$n.cpu" mpirun --oversubscribe -np "$np" "$bin/awsdt-megatron" train \
      "${args[@]}" "$@" --steps "$n" --output "$tmp/$tag.$n.json" >"$tmp/$tag.$n.log" 2>&1 ||
      { cat "$tmp/$tag.$n.log" >&2; exit 1; }
  done
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run tp1 1 --tp 1
run tp2 2 --tp 2 --sequence-parallel
run tp2o 2 --tp 2 --sequence-parallel --tp-comm-overlap --tp-comm-overlap-method "$method"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$tmp" "$steps" "$method" <<'PY'
import json, statistics, sys
tmp, steps, method = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def med(tag, key):
    rows = json.load(open(f"{tmp}/{tag}.{steps}.json"))["rows"][1:]
    return statistics.median(r[key] for r in rows)
def cpu_per_step(tag):
    total = lambda n: sum(map(float, open(f"{tmp}/{tag}.{n}.cpu").read().split()[-2:]))
    return (total(steps) - total(2)) / (steps - 2)
runs = [("tp1", "TP 1", 1), ("tp2", "TP 2, SP", 2), ("tp2o", f"TP 2, SP, --tp-comm-overlap ({method})", 2)]
base = med("tp1", "tokens_per_s")
base_cpu = cpu_per_step("tp1")
print(f"{'small, 1 thread per rank':44s} {'tokens/s':>9s} {'speedup':>8s} {'step ms':>8s} {'exposed TP comm ms':>19s} "
      f"{'CPU s/step/rank':>16s} {'idle-core bound':>16s}")
for tag, name, ranks in runs:
    tps, cpu = med(tag, "tokens_per_s"), cpu_per_step(tag) / ranks
    print(f"{name:44s} {tps:9.1f} {tps / base:7.2f}x {med(tag, 'step_ms'):8.1f} {med(tag, 'tp_comm_ms'):19.1f} "
          f"{cpu:16.3f} {base_cpu / cpu:15.2f}x")
print("target: TP 2 >= 1.6x TP 1 (wall clock). Exposed TP comm without vs with --tp-comm-overlap: "
      f"{med('tp2', 'tp_comm_ms'):.1f} ms vs {med('tp2o', 'tp_comm_ms'):.1f} ms per step (medians)")
PY
