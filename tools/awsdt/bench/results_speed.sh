#!/usr/bin/env bash
# Speed of `awsdt results compare` on two 30-size collectives sweeps (target: under 100 ms, process start
# included). The sweeps are an awsdt-collectives document from a real 2-rank run, its rows extended to 30 sizes
# (1 B to 512 MiB) with the bandwidths scaled, so that no 512 MiB run is needed to make them.
# Usage: tools/awsdt/bench/results_speed.sh [BUILD_DIR] [RUNS]
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-20}
AWSDT="$BUILD/bin/awsdt"
COLL="$BUILD/bin/awsdt-collectives"
MPIRUN=(mpirun -np 2)
if [[ $(id -u) -eq 0 ]]; then MPIRUN+=(--allow-run-as-root); fi
for exe in "$AWSDT" "$COLL"; do
  [[ -x $exe ]] || { echo "missing $exe: build first (tools/setup.sh)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"${MPIRUN[@]}" "$COLL" all_reduce -b 8 -e 1K -f 2 -n 5 -w 1 -J "$work/real.json" >/dev/null
python3 - "$work" <<'PY'
import copy, json, sys
work = sys.argv[1]
doc = json.load(open(f"{work}/real.json"))
template = doc["rows"][0]
for name, scale in (("a", 1.0), ("b", 0.97)):
    rows = []
    for i in range(30):
        row = copy.deepcopy(template)
        row["size"] = 2 ** i
        row["count"] = max(1, 2 ** i // 4)
        for half in ("out_of_place", "in_place"):
            row[half]["bus_bw"] = scale * (i + 1) / 3
            row[half]["alg_bw"] = scale * (i + 1) / 3
        rows.append(row)
    doc["rows"] = doc["results"] = rows
    json.dump(doc, open(f"{work}/{name}.json", "w"))
PY
"$AWSDT" results compare "$work/a.json" "$work/b.json" >/dev/null  # warm the page cache
: >"$work/times"
for ((i = 0; i < RUNS; i++)); do
  start=$(date +%s%N)
  "$AWSDT" results compare "$work/a.json" "$work/b.json" >/dev/null
  echo $((($(date +%s%N) - start) / 1000)) >>"$work/times"
done
median=$(sort -n "$work/times" | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')
rows=$("$AWSDT" results compare "$work/a.json" "$work/b.json" --csv | grep -c '^all_reduce')
echo "awsdt results compare, two 30-size sweeps ($rows rows): median $((median / 1000)).$(((median % 1000) / 100)) ms of $RUNS runs (target < 100 ms)"
