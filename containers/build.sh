#!/usr/bin/env bash
# Builds the awsdt image with docker or podman, tags it with awsdt's version and the pinned versions, optionally
# pushes it to Amazon ECR and imports it with enroot for pyxis, and prints the image reference that
# `awsdt run --container` takes. Run from anywhere; the build context is the repository (tracked and untracked
# files that git does not ignore). docs/containers.md.
#
#   containers/build.sh                       GPU image (containers/Dockerfile): awsdt:<version>-cuda<..>-efa<..>-nccl<..>
#   containers/build.sh --cpu                 CPU image (containers/Dockerfile.cpu): awsdt-cpu:<version>
# Options:
#   --runtime docker|podman     default: docker if its daemon answers, else podman
#   --tag NAME:TAG              an extra tag
#   --build-arg KEY=VALUE       passed on (EFA_INSTALLER_VERSION, NCCL_VERSION, CUDA_VERSION, GDRCOPY_VERSION, ...)
#   --push                      push to ECR: <account>.dkr.ecr.<region>.amazonaws.com/awsdt (the repository is
#                               created when missing); --region, --account, --repository override the defaults
#                               (AWS_REGION / the caller's account / awsdt)
#   --enroot FILE.sqsh          enroot import -o FILE.sqsh {dockerd,podman}://IMAGE (for pyxis: --container FILE.sqsh)
#   --base IMAGE                Dockerfile.cpu's base (default debian:12)
#   --make-base                 make the base locally: debootstrap Debian 12 from this machine's apt mirror and
#                               import it as awsdt-base/debian:12 (for machines that reach no registry)
#   --prebuilt DIR              (CPU) put DIR's awsdt* binaries (built on Debian 12) in the image instead of
#                               compiling in the build
#   --network MODE              build network (e.g. host), passed to the runtime
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cpu=0 runtime="" push=0 enroot_out="" base="" make_base=0 prebuilt="" network=""
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}" account="" repository=awsdt
extra_tags=() build_args=()
die() { echo "containers/build.sh: $*" >&2; exit 1; }
while (($#)); do
  case $1 in
    --cpu) cpu=1 ;;
    --runtime) runtime=${2:?}; shift ;;
    --tag) extra_tags+=("${2:?}"); shift ;;
    --build-arg) build_args+=(--build-arg "${2:?}"); shift ;;
    --push) push=1 ;;
    --region) region=${2:?}; shift ;;
    --account) account=${2:?}; shift ;;
    --repository) repository=${2:?}; shift ;;
    --enroot) enroot_out=${2:?}; shift ;;
    --base) base=${2:?}; shift ;;
    --make-base) make_base=1 ;;
    --prebuilt) prebuilt=${2:?}; shift ;;
    --network) network=${2:?}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (--help lists them)" ;;
  esac
  shift
done

if [[ -z $runtime ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then runtime=docker
  elif command -v podman >/dev/null; then runtime=podman
  else die "neither a docker daemon nor podman is available"; fi
fi
command -v "$runtime" >/dev/null || die "$runtime not found"

version=$(sed -n 's/^project(awsdt VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
# The pinned versions are the Dockerfile's ARG defaults unless --build-arg overrides them.
pin() {
  local v
  v=$(printf '%s\n' "${build_args[@]}" | sed -n "s/^$1=//p" | tail -1)
  [[ -n $v ]] || v=$(sed -n "s/^ARG $1=//p" "$ROOT/containers/Dockerfile" | head -1)
  echo "$v"
}

if ((cpu)); then
  dockerfile=containers/Dockerfile.cpu
  name=awsdt-cpu
  tag="$version"
else
  dockerfile=containers/Dockerfile
  name=awsdt
  tag="$version-cuda$(pin CUDA_VERSION)-efa$(pin EFA_INSTALLER_VERSION)-nccl$(pin NCCL_VERSION | sed 's/^v//')"
fi
image="$name:$tag"

if ((make_base)); then
  ((cpu)) || die "--make-base makes a Debian 12 base for --cpu only"
  command -v debootstrap >/dev/null || die "--make-base needs debootstrap (apt-get install debootstrap)"
  mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    awk '{print $2}' | grep -v security | head -1)
  [[ -n $mirror ]] || mirror=http://deb.debian.org/debian
  rootfs=$(mktemp -d)
  echo "containers/build.sh: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    { tail -20 "$rootfs.log" >&2; rm -rf "$rootfs"; die "debootstrap failed"; }
  tar -C "$rootfs" -c . | "$runtime" import - awsdt-base/debian:12 >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  base=awsdt-base/debian:12
fi
[[ -n $base ]] && build_args+=(--build-arg "BASE_IMAGE=$base")
build_args+=(--build-arg "AWSDT_VERSION=$version")

# The context: the repository's files (not build trees or virtual environments), plus prebuilt binaries.
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
(cd "$ROOT" && git ls-files -co --exclude-standard -z | xargs -0 -I{} find {} -maxdepth 0 -type f -print0 |
  tar --null -T - -cf -) | tar -C "$ctx" -xf -
if [[ -n $prebuilt ]]; then
  ((cpu)) || die "--prebuilt is for --cpu (the GPU image builds with CUDA inside)"
  [[ -x $prebuilt/awsdt ]] || die "--prebuilt $prebuilt has no awsdt"
  mkdir -p "$ctx/prebuilt/bin"
  cp "$prebuilt"/awsdt* "$ctx/prebuilt/bin/"
fi

net=()
[[ -n $network ]] && net=(--network "$network")
echo "containers/build.sh: $runtime build -f $dockerfile -t $image"
"$runtime" build "${net[@]}" "${build_args[@]}" -f "$ctx/$dockerfile" -t "$image" "$ctx"
"$runtime" tag "$image" "$name:latest"
for t in "${extra_tags[@]}"; do "$runtime" tag "$image" "$t"; done
ref="$image"

if ((push)); then
  command -v aws >/dev/null || die "--push needs the AWS CLI"
  [[ -n $region ]] || die "--push needs --region or AWS_REGION"
  [[ -n $account ]] || account=$(aws sts get-caller-identity --query Account --output text)
  registry="$account.dkr.ecr.$region.amazonaws.com"
  aws ecr describe-repositories --region "$region" --repository-names "$repository" >/dev/null 2>&1 ||
    aws ecr create-repository --region "$region" --repository-name "$repository" >/dev/null
  aws ecr get-login-password --region "$region" | "$runtime" login --username AWS --password-stdin "$registry"
  ref="$registry/$repository:$tag"
  "$runtime" tag "$image" "$ref"
  "$runtime" push "$ref"
  "$runtime" tag "$image" "$registry/$repository:latest"
  "$runtime" push "$registry/$repository:latest"
fi

if [[ -n $enroot_out ]]; then
  command -v enroot >/dev/null || die "--enroot needs enroot (installed on ParallelCluster/HyperPod nodes by architectures/)"
  scheme=dockerd
  [[ $runtime == podman ]] && scheme=podman
  rm -f "$enroot_out"
  enroot import -o "$enroot_out" "$scheme://$image"
  ref="$(cd "$(dirname "$enroot_out")" && pwd)/$(basename "$enroot_out")"
fi

echo "image: $ref"
echo "run:   awsdt run collectives --container $ref ...   (docs/infrastructure.md)"
