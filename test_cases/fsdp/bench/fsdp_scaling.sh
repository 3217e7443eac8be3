#!/usr/bin/env bash
# FSDP scaling on CPUs: the `small` model, 1 rank x 1 BLAS thread vs 2 ranks x 1 thread (full sharding) at the
# same global batch, and 2 ranks with vs without --no-overlap. Prints tokens/s, the 2-rank/1-rank throughput
# ratio against the ideal 2x, and the median exposed communication time per step.
# Usage: fsdp_scaling.sh [path/to/awsdt-fsdp] [steps]   (MPIRUN and MPIRUN_FLAGS override the launcher)
set -euo pipefail

EXE=${1:-$(dirname "$0")/../../../build/bin/awsdt-fsdp}
STEPS=${2:-6}
MPIRUN=${MPIRUN:-mpirun}
MPIRUN_FLAGS=${MPIRUN_FLAGS:---oversubscribe --allow-run-as-root --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo}
COMMON="--model small --threads 1 --seq-len 256 --micro-batch-size 1 --global-batch-size 4 --steps $STEPS --log-every 1000"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

field() {  # field FILE KEY: a number from the result document's summary
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['summary'][sys.argv[2]])" "$1" "$2"
}

echo "# awsdt-fsdp scaling: model small, seq 256, global batch 4, $STEPS steps (the first is not counted)"
"$EXE" $COMMON --output "$TMP/one.json" > "$TMP/one.log"
$MPIRUN $MPIRUN_FLAGS -np 2 "$EXE" $COMMON --sharding full --output "$TMP/two.json" > "$TMP/two.log"
$MPIRUN $MPIRUN_FLAGS -np 2 "$EXE" $COMMON --sharding full --no-overlap --output "$TMP/two_serial.json" \
  > "$TMP/two_serial.log"

one=$(field "$TMP/one.json" median_tokens_per_s)
two=$(field "$TMP/two.json" median_tokens_per_s)
serial=$(field "$TMP/two_serial.json" median_tokens_per_s)
exp_two=$(field "$TMP/two.json" median_exposed_comm_ms)
exp_serial=$(field "$TMP/two_serial.json" median_exposed_comm_ms)
state_one=$(field "$TMP/one.json" per_rank_state_bytes)
state_two=$(field "$TMP/two.json" per_rank_state_bytes)
ag=$(field "$TMP/two.json" bytes_all_gathered_per_step)
rs=$(field "$TMP/two.json" bytes_reduce_scattered_per_step)
python3 - "$one" "$two" "$serial" "$exp_two" "$exp_serial" "$state_one" "$state_two" "$ag" "$rs" <<'PY'
import sys
one, two, serial, exp_two, exp_serial, s1, s2, ag, rs = map(float, sys.argv[1:])
print(f"1 rank  x 1 thread            : {one:10.1f} tokens/s")
print(f"2 ranks x 1 thread (overlap)  : {two:10.1f} tokens/s   ratio {two / one:.2f}x (ideal 2.00x, {100 * two / one / 2:.0f}% efficiency)")
print(f"2 ranks x 1 thread (no overlap): {serial:10.1f} tokens/s   ratio {serial / one:.2f}x")
print(f"exposed comm per step         : overlap {exp_two:.1f} ms, no-overlap {exp_serial:.1f} ms")
print(f"per-rank params+grads+AdamW   : 1 rank {s1 / 2**20:.1f} MiB, 2 ranks {s2 / 2**20:.1f} MiB")
print(f"per step on 2 ranks           : all-gathered {ag / 2**20:.1f} MiB, reduce-scattered {rs / 2**20:.1f} MiB")
PY
