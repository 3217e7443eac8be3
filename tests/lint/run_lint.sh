#!/usr/bin/env bash
# The lint tests (ctest label lint): each runs a linter on what the repository ships and on a deliberately broken
# input under tests/lint/broken/, which must fail. The Python tools come from the virtual environment that
# tools/setup.sh makes (.venv-tools), else from PATH; without them the test is skipped (exit 77) with the reason.
#   run_lint.sh hadolint|cfn-lint|efa|k8s|generated SOURCE_DIR [AWSDT]
set -euo pipefail
what=$1
ROOT=$(cd "$2" && pwd)
AWSDT=${3:-}
BROKEN="$ROOT/tests/lint/broken"
VENV="${AWSDT_TOOLS_VENV:-$ROOT/.venv-tools}"
export PATH="$VENV/bin:$PATH"

need() {
  command -v "$1" >/dev/null || { echo "SKIP: $1 not found (tools/setup.sh installs it into $VENV)"; exit 77; }
}
must_fail() {  # must_fail LABEL CMD...: CMD must exit non-zero
  local label=$1
  shift
  if "$@" >/tmp/awsdt-lint.$$ 2>&1; then
    cat /tmp/awsdt-lint.$$
    rm -f /tmp/awsdt-lint.$$
    echo "FAIL: $label passed, but it is broken on purpose"
    exit 1
  fi
  echo "ok: $label fails as it should:"
  sed 's/^/    /' /tmp/awsdt-lint.$$ | head -8
  rm -f /tmp/awsdt-lint.$$
}

case $what in
  hadolint)
    need hadolint
    hadolint --version
    hadolint --no-color "$ROOT/containers/Dockerfile" "$ROOT/containers/Dockerfile.cpu"
    echo "ok: containers/Dockerfile and containers/Dockerfile.cpu pass hadolint"
    must_fail tests/lint/broken/Dockerfile hadolint --no-color "$BROKEN/Dockerfile" ;;
  cfn-lint)
    need cfn-lint
    cfn-lint --version
    cfn-lint "$ROOT"/architectures/cloudformation/*.yaml
    echo "ok: architectures/cloudformation/*.yaml pass cfn-lint"
    must_fail tests/lint/broken/cfn-invalid.yaml cfn-lint "$BROKEN/cfn-invalid.yaml" ;;
  efa)
    need python3
    python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3 has no yaml module"; exit 77; }
    python3 "$ROOT/architectures/cloudformation/generate-batch.py" --check
    python3 "$ROOT/tests/lint/check_efa_counts.py" "$ROOT/architectures/instances.json" \
      "$ROOT/architectures/cloudformation/batch.yaml"
    python3 "$ROOT/tests/lint/check_efa_counts.py" --expect-fail "$ROOT/architectures/instances.json" \
      "$BROKEN/batch-efa-mismatch.yaml" ;;
  k8s)
    need kubernetes-validate
    py="$VENV/bin/python"
    [[ -x $py ]] || py=python3
    mapfile -t files < <(find "$ROOT"/test_cases/*/kubernetes -name '*.yaml' | sort)
    ((${#files[@]})) || { echo "FAIL: no manifests under test_cases/*/kubernetes"; exit 1; }
    "$py" "$ROOT/tests/lint/validate_k8s.py" --crds "$ROOT/tests/fixtures/crds" "${files[@]}"
    "$py" "$ROOT/tests/lint/validate_k8s.py" --crds "$ROOT/tests/fixtures/crds" --expect-fail "$BROKEN"/k8s/*.yaml ;;
  generated)
    [[ -x $AWSDT ]] || { echo "SKIP: no awsdt at $AWSDT"; exit 77; }
    "$ROOT/tools/render-job-files.sh" --check "$AWSDT"
    # And the check itself notices a template change: render from a copy of the templates with one line added.
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/src/test_cases"
    cp -r "$ROOT/tools" "$ROOT/architectures" "$tmp/src/"
    for c in "$ROOT"/test_cases/*/; do
      for d in slurm kubernetes; do
        if [[ -d $c$d ]]; then mkdir -p "$tmp/src/test_cases/$(basename "$c")" && cp -r "$c$d" "$tmp/src/test_cases/$(basename "$c")/"; fi
      done
    done
    echo "# a change nobody regenerated" >>"$tmp/src/architectures/slurm/sbatch.sh.mustache"
    must_fail "job files after a template change" "$tmp/src/tools/render-job-files.sh" --check "$AWSDT" ;;
  *) echo "run_lint.sh: unknown check $what" >&2; exit 2 ;;
esac
