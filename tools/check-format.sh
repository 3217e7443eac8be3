#!/usr/bin/env bash
# Checks every C++ and CUDA source of the repository against .clang-format; names each file that differs and
# exits 1 if any does (clang-format -i FILE fixes it). Usage: tools/check-format.sh [REPO_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
if ! command -v clang-format >/dev/null; then
  echo "check-format: clang-format is not installed (tools/setup.sh installs it)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.cu' '*.cuh' '*.c' '*.h' 2>/dev/null ||
                     find . -path ./build -prune -o -regex '.*\.\(cpp\|hpp\|cu\|cuh\|c\|h\)' -print)
bad=0
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "check-format: $f is not formatted (clang-format -i $f)"
    bad=$((bad + 1))
  fi
done
if ((bad)); then
  echo "check-format: $bad of ${#files[@]} files differ from .clang-format"
  exit 1
fi
echo "check-format: ${#files[@]} files formatted as .clang-format says"
