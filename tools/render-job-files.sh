#!/usr/bin/env bash
# Generates the ready-to-submit job files under test_cases/<case>/slurm/*.sbatch and
# test_cases/<case>/kubernetes/*.yaml with `awsdt render`, from the job templates in architectures/ (the source
# tree's, so a template edit shows up here before any rebuild). One list below names every file.
#
#   tools/render-job-files.sh [AWSDT]            regenerate the committed files (AWSDT default: build/bin/awsdt)
#   tools/render-job-files.sh --check [AWSDT]    render into a temporary directory and fail (exit 1, with the
#                                                diff) when a committed file differs or is missing (test
#                                                job_files)
#   AWSDT_IMAGE=...  AWSDT_SQSH=...  AWSDT_OUT=DIR tools/render-job-files.sh
#                                                your own image and enroot file, written under DIR instead
#
# The files assume a cluster made from architectures/ (docs/infrastructure.md): FSx for Lustre at /fsx on every
# node, the image imported by containers/build.sh to /fsx/awsdt/awsdt.sqsh (Slurm, pyxis) or pushed to ECR as
# awsdt:latest (EKS, HyperPod EKS), Slurm partitions named after the instance family (p5, p4d).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
check=0
if [[ ${1:-} == --check ]]; then
  check=1
  shift
fi
AWSDT="${1:-$ROOT/build/bin/awsdt}"
[[ -x $AWSDT ]] || { echo "render-job-files: no awsdt at $AWSDT (build first, or pass its path)" >&2; exit 2; }

# ECR reference users replace (or set AWSDT_IMAGE and regenerate): containers/build.sh --push prints theirs.
IMAGE="${AWSDT_IMAGE:-AWS_ACCOUNT_ID.dkr.ecr.AWS_REGION.amazonaws.com/awsdt:latest}"
SQSH="${AWSDT_SQSH:-/fsx/awsdt/awsdt.sqsh}"
OUT="${AWSDT_OUT:-$ROOT}"

# Test cases, catalog, EFA environment and templates all from this tree, whichever build awsdt comes from.
export AWSDT_HOME="$ROOT"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ((check)); then OUT="$tmp/expected"; fi

family() { local f="${1%%.*}"; echo "${f%%-*}"; }  # p5.48xlarge -> p5, p6-b200.48xlarge -> p6

# job CASE KIND INSTANCE NODES STEM [-- BENCH ARGS]
#   KIND: slurm | hyperpod-slurm (-> slurm/STEM.sbatch); mpijob | pytorchjob | hyperpod-eks (-> kubernetes/STEM.yaml)
job() {
  local case=$1 kind=$2 instance=$3 nodes=$4 stem=$5
  shift 5
  local name="awsdt-${case}-${stem//_/-}"
  name="${name//./-}"
  local -a flags=(-N "$nodes" --instance-type "$instance" --name "$name" --templates "$ROOT/architectures")
  local dest src
  case $kind in
    slurm | hyperpod-slurm)
      flags+=(--cluster "$kind" --partition "$(family "$instance")" --container "$SQSH" --mount /fsx:/fsx
        --job-dir "/fsx/awsdt/jobs/$case-$stem")
      src=job.sbatch dest="$OUT/test_cases/$case/slurm/$stem.sbatch" ;;
    mpijob)
      flags+=(--cluster eks --container "$IMAGE" --mount /fsx:/fsx --job-dir "$case-$stem")
      src=mpijob.yaml dest="$OUT/test_cases/$case/kubernetes/$stem.yaml" ;;
    pytorchjob)
      flags+=(--cluster eks --launcher torchrun --container "$IMAGE" --mount /fsx:/fsx --job-dir "$case-$stem")
      src=pytorchjob.yaml dest="$OUT/test_cases/$case/kubernetes/$stem.yaml" ;;
    hyperpod-eks)
      flags+=(--cluster hyperpod-eks --container "$IMAGE" --mount /fsx:/fsx --job-dir "$case-$stem")
      src=hyperpodpytorchjob.yaml dest="$OUT/test_cases/$case/kubernetes/$stem.yaml" ;;
    *) echo "render-job-files: unknown kind $kind" >&2; exit 2 ;;
  esac
  local dir="$tmp/render/$case-$stem"
  if ! "$AWSDT" render "$case" "${flags[@]}" -o "$dir" "$@" >"$dir.log" 2>&1; then
    echo "render-job-files: awsdt render $case ${flags[*]} $* failed:" >&2
    cat "$dir.log" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$dest")"
  cp "$dir/$src" "$dest"
  generated+=("${dest#"$OUT"/}")
}

mkdir -p "$tmp/render"
generated=()

# awsdt-collectives: nccl-tests' sweeps (8 B to 8 GB, 100 iterations) on 2 nodes.
for inst in p5.48xlarge p4d.24xlarge; do
  f=$(family "$inst")
  for coll in all_reduce all_gather reduce_scatter all_to_all; do
    job collectives slurm "$inst" 2 "$coll-$f" -- "$coll"
  done
  job collectives mpijob "$inst" 2 "all_reduce-$f-mpijob" -- all_reduce
done
job collectives hyperpod-slurm p5.48xlarge 2 all_reduce-p5-hyperpod -- all_reduce

# awsdt-fsdp: Llama 3.1 8B on 4 nodes, 70B on 8 (p5: 64 H100s) or 16 (p4d: 128 A100s of 40 GB: sharded weights,
# gradients and AdamW state of 70B take about 9 GB each).
for inst in p5.48xlarge p4d.24xlarge; do
  f=$(family "$inst")
  n70=8
  [[ $f == p4d ]] && n70=16
  job fsdp slurm "$inst" 4 "llama3_1_8b-$f" -- --model llama3_1_8b
  job fsdp slurm "$inst" "$n70" "llama3_1_70b-$f" -- --model llama3_1_70b
  job fsdp mpijob "$inst" 4 "llama3_1_8b-$f-mpijob" -- --model llama3_1_8b
  job fsdp mpijob "$inst" "$n70" "llama3_1_70b-$f-mpijob" -- --model llama3_1_70b
done
job fsdp hyperpod-slurm p5.48xlarge 4 llama3_1_8b-p5-hyperpod -- --model llama3_1_8b
job fsdp pytorchjob p5.48xlarge 4 llama3_1_8b-p5-pytorchjob -- --model llama3_1_8b
job fsdp hyperpod-eks p5.48xlarge 4 llama3_1_8b-p5-hyperpod -- --model llama3_1_8b
job fsdp hyperpod-eks p5.48xlarge 8 llama3_1_70b-p5-hyperpod -- --model llama3_1_70b

# awsdt-megatron train (the GPU default): Llama 3.1 8B at TP 8 + SP within a node (NVLink), data parallelism with
# the distributed optimizer across 2 nodes (EFA), as Megatron-LM users run it; gemm: tensor parallelism within
# one node, every pattern of Llama 3.1 70B.
gemm_args=(gemm --pattern all --model llama3_1_70b --tp 8 --seq 8192 -n 20)
for inst in p5.48xlarge p4d.24xlarge; do
  f=$(family "$inst")
  job megatron slurm "$inst" 2 "train-llama3_1_8b-$f"
  job megatron mpijob "$inst" 2 "train-llama3_1_8b-$f-mpijob"
  job megatron slurm "$inst" 1 "gemm-llama3_1_70b-$f" -- "${gemm_args[@]}"
  job megatron mpijob "$inst" 1 "gemm-llama3_1_70b-$f-mpijob" -- "${gemm_args[@]}"
done

if ((check)); then
  status=0
  for rel in "${generated[@]}"; do
    if ! diff -u "$ROOT/$rel" "$OUT/$rel" >"$tmp/diff" 2>&1; then
      echo "render-job-files: $rel differs from what the templates render today (run tools/render-job-files.sh):"
      head -40 "$tmp/diff"
      status=1
    fi
  done
  # A committed file that no entry above generates any more is stale too.
  while IFS= read -r rel; do
    if [[ ! -e $OUT/$rel ]]; then
      echo "render-job-files: $rel is committed but no longer generated (delete it or add it to the list)"
      status=1
    fi
  done < <(cd "$ROOT" && for c in collectives fsdp megatron; do
    find "test_cases/$c/slurm" "test_cases/$c/kubernetes" -type f 2>/dev/null; done | sort)
  ((status == 0)) && echo "render-job-files: ${#generated[@]} job files match their templates"
  exit "$status"
fi
echo "render-job-files: wrote ${#generated[@]} job files under $OUT/test_cases"
