#!/usr/bin/env bash
# Checks that every flag the documentation names is one its binary's --help lists.
#   tools/check-doc-flags.sh BIN_DIR      (the ctest docs_flags; BIN_DIR is build/bin)
# Prints "FILE: FLAG not in BINARY --help" for each flag that is not, and exits 1 if there is any; otherwise
# prints "N flags documented, all in --help" (N distinct file/binary/flag triples) and exits 0.
#
# Which pages, and which binary a flag is checked against:
#   - The pages: README.md, docs/launcher.md, docs/results.md, and docs/<name>.md for every test_cases/<name>/test_case.json.
#   - A flag in a command belongs to the program the command names. A command is an indented (4 spaces) or
#     fenced code line, or a `backticked span` that starts with a word; commands are split at ; && || and |.
#       awsdt-<name> ...               -> awsdt-<name> --help (words before it, as in `mpirun -np 8
#                                         build/bin/awsdt-fsdp ...`, are the other program's and not checked)
#       awsdt SUBCOMMAND ...           -> awsdt SUBCOMMAND --help, plus awsdt --help (a subcommand that
#                                         awsdt --help does not list is reported too)
#       awsdt run|render NAME -- ...   -> after the lone --, the benchmark's: the "executable" of
#                                         test_cases/NAME/test_case.json
#       any other program              -> not checked (mpirun, srun, sbatch, cmake, ctest, `#SBATCH --requeue`,
#                                         ...): write a foreign flag with its program, e.g. `srun --mpi=pmix`
#   - A flag on its own (a span that starts with a flag, as in a table row's `-b/-e`, or a --long-flag in
#     running text) belongs to the page:
#       docs/<name>.md    -> the "executable" of test_cases/<name>/test_case.json (docs/collectives.md ->
#                            awsdt-collectives, docs/fsdp.md -> awsdt-fsdp); docs/exporter.md -> awsdt-exporter,
#                            docs/healthcheck.md -> awsdt-healthcheck
#       docs/launcher.md, docs/results.md -> awsdt: the --help of awsdt or of any of its subcommands
#       README.md         -> any of the binaries above
#   - Flags are --long or -s(hort) words: "--a/--b" and "-b/-e" are two flags, "=value" is dropped. Short flags
#     are taken from commands and spans only, long ones from running text too.
# Options listed in --help are the words at the start of its option lines ("  -b,--minbytes TEXT  ...").
set -euo pipefail

if [[ $# -ne 1 || ! -d $1 ]]; then
  echo "usage: $0 BIN_DIR (the directory holding awsdt, awsdt-collectives, ...)" >&2
  exit 2
fi
bin=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# The option names in one --help output, one per line.
option_names() {
  awk '/^[[:space:]]+-/ { n = split($1, names, ","); for (i = 1; i <= n; i++) if (names[i] ~ /^-/) print names[i] }'
}

# help_of BINARY [SUBCOMMAND]: its --help text; a binary that cannot print it fails the check.
help_of() {
  local exe=$bin/$1
  shift
  if [[ ! -x $exe ]]; then
    echo "check-doc-flags: $exe is missing: build first" >&2
    exit 2
  fi
  local out
  if ! out=$(timeout 30 "$exe" "$@" --help </dev/null 2>&1); then
    echo "check-doc-flags: $exe $* --help failed:" >&2
    echo "$out" >&2
    exit 2
  fi
  printf '%s\n' "$out"
}

declare -A options=()  # target ("awsdt-fsdp", "awsdt run", "awsdt *", "*") -> " --flag -f ... "
add_options() {        # add_options TARGET NAMES...
  local target=$1
  shift
  options[$target]="${options[$target]:- }$* "
}

# Test cases: NAME=EXECUTABLE, and each benchmark's options.
test_cases=()
pages=(README.md docs/launcher.md docs/results.md)
for manifest in test_cases/*/test_case.json; do
  name=$(basename "$(dirname "$manifest")")
  exe=$(sed -n 's/.*"executable"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest" | head -n 1)
  [[ -n $exe ]] || { echo "check-doc-flags: $manifest names no executable" >&2; exit 2; }
  test_cases+=("$name=$exe")
  help=$(help_of "$exe")
  names=$(option_names <<<"$help" | tr '\n' ' ')
  # A benchmark with subcommands (awsdt-megatron gemm): their options count as the benchmark's.
  while read -r sub; do
    names+=" $(help_of "$exe" "$sub" | option_names | tr '\n' ' ')"
  done < <(sed -n '/^Subcommands:/,/^$/p' <<<"$help" | awk 'NR > 1 && NF {print $1}')
  add_options "$exe" "$names"
  add_options "*" "$names"
  if [[ -f docs/$name.md ]]; then pages+=("docs/$name.md"); fi
done
# Node tools (validation/<name>/ builds awsdt-<name>): docs/exporter.md -> awsdt-exporter, docs/healthcheck.md ->
# awsdt-healthcheck, read like a test case.
for tool in exporter healthcheck; do
  [[ -x $bin/awsdt-$tool ]] || continue  # not built without prometheus-cpp
  test_cases+=("$tool=awsdt-$tool")
  names=$(help_of "awsdt-$tool" | option_names | tr '\n' ' ')
  add_options "awsdt-$tool" "$names"
  add_options "*" "$names"
  pages+=("docs/$tool.md")
done

# The launcher: global options, then every subcommand's.
awsdt_help=$(help_of awsdt)
global=$(option_names <<<"$awsdt_help" | tr '\n' ' ')
subcommands=$(awk '/^Subcommands:/ { on = 1; next } on && /^[[:space:]]+[a-z]/ { print $1 } on && /^[^[:space:]]/ { on = 0 }' \
  <<<"$awsdt_help")
if [[ -z $subcommands ]]; then
  echo "check-doc-flags: awsdt --help lists no subcommands" >&2
  exit 2
fi
add_options "awsdt" "$global"
add_options "awsdt *" "$global"
add_options "*" "$global"
for sub in $subcommands; do
  sub_help=$(help_of awsdt "$sub")
  names=$(option_names <<<"$sub_help" | tr '\n' ' ')
  # A subcommand with subcommands of its own (awsdt results compare|gate|...): theirs count as its options.
  while read -r leaf; do
    names+=" $(help_of awsdt "$sub" "$leaf" | option_names | tr '\n' ' ')"
  done < <(awk '/^Subcommands:/ { on = 1; next } on && /^[[:space:]]+[a-z]/ { print $1 } on && /^[^[:space:]]/ { on = 0 }' \
             <<<"$sub_help")
  add_options "awsdt $sub" "$global $names"
  add_options "awsdt *" "$names"
  add_options "*" "$names"
done

# Every documented flag as "PAGE<TAB>TARGET<TAB>FLAG"; TARGET "@page" is resolved below.
extract() {
  awk -v test_cases="${test_cases[*]}" '
    BEGIN {
      n = split(test_cases, pairs, " ")
      for (i = 1; i <= n; i++) { split(pairs[i], kv, "="); exe_of[kv[1]] = kv[2]; is_exe[kv[2]] = 1 }
    }
    function emit(target, token,   parts, k, f) {
      if (token !~ /^-/) return
      split(token, parts, "/")
      for (k in parts) {
        f = parts[k]
        sub(/=.*/, "", f)
        sub(/[^A-Za-z0-9_-]+$/, "", f)
        if (f ~ /^--?[A-Za-z][A-Za-z0-9_-]*$/) print FILENAME "\t" target "\t" f
      }
    }
    # One command: words split on blanks. See the header for who owns which flag.
    function command(text,   w, n, i, base, prog, target, sub_, tc) {
      n = split(text, w, /[[:space:]]+/)
      i = 1
      if (w[1] == "") i = 2
      if (i > n) return
      if (w[i] ~ /^-/) {
        for (; i <= n; i++) if (w[i] != "--") emit("@page", w[i])
        return
      }
      for (; i <= n; i++) {
        base = w[i]
        sub(/.*\//, "", base)
        if (base == "awsdt" || (base in is_exe)) { prog = base; break }
      }
      if (prog == "") return
      i++
      if (prog != "awsdt") {
        for (; i <= n; i++) if (w[i] != "--") emit(prog, w[i])
        return
      }
      target = "awsdt"
      for (; i <= n; i++) {
        if (w[i] == "--") break
        if (w[i] !~ /^-/ && sub_ == "") {
          sub_ = w[i]
          target = "awsdt " sub_
          print FILENAME "\t" target "\t"
          if (i < n && w[i + 1] !~ /^-/) tc = w[++i]
          continue
        }
        emit(target, w[i])
      }
      if (w[i] == "--" && (tc in exe_of))
        for (i++; i <= n; i++) emit(exe_of[tc], w[i])
    }
    function commands(text,   parts, n, k) {
      gsub(/\\\|/, "|", text)
      n = split(text, parts, /;|&&|\|\||\|/)
      for (k = 1; k <= n; k++) command(parts[k])
    }
    FNR == 1 { fenced = 0 }
    /^[[:space:]]*```/ { fenced = !fenced; next }
    fenced || /^    / {
      line = $0
      sub(/(^|[[:space:]])#.*/, "", line)
      commands(line)
      next
    }
    {
      line = $0
      while (match(line, /`[^`]+`/)) {
        commands(substr(line, RSTART + 1, RLENGTH - 2))
        line = substr(line, 1, RSTART - 1) " " substr(line, RSTART + RLENGTH)
      }
      while (match(line, /(^|[[:space:](])--[A-Za-z][A-Za-z0-9_-]*/)) {
        word = substr(line, RSTART, RLENGTH)
        sub(/^[[:space:](]/, "", word)
        emit("@page", word)
        line = substr(line, RSTART + RLENGTH)
      }
    }
  ' "$@"
}

page_target() {  # page_target PAGE: the binary a flag on its own belongs to
  case $1 in
    README.md) echo "*" ;;
    docs/launcher.md | docs/results.md) echo "awsdt *" ;;
    docs/*.md)
      local name pair
      name=$(basename "$1" .md)
      for pair in "${test_cases[@]}"; do
        if [[ ${pair%%=*} == "$name" ]]; then echo "${pair#*=}"; fi
      done
      ;;
  esac
}

describe() {  # describe TARGET: the --help a flag was looked for in, for the message
  case $1 in
    "*") echo "any awsdt binary's --help" ;;
    "awsdt *") echo "awsdt --help or any awsdt SUBCOMMAND --help" ;;
    *) echo "$1 --help" ;;
  esac
}

checked=0
missing=0
declare -A seen=()
while IFS=$'\t' read -r page target flag; do
  [[ $target == "@page" ]] && target=$(page_target "$page")
  [[ -z ${seen["$page $target $flag"]+set} ]] || continue
  seen["$page $target $flag"]=1
  if [[ -z $flag ]]; then  # "awsdt SUBCOMMAND" was named: it must exist
    if [[ -z ${options[$target]+set} ]]; then
      echo "$page: $target is not a subcommand in awsdt --help"
      missing=$((missing + 1))
    fi
    continue
  fi
  checked=$((checked + 1))
  if [[ " ${options[$target]:-} " != *" $flag "* ]]; then
    echo "$page: $flag not in $(describe "$target")"
    missing=$((missing + 1))
  fi
done < <(extract "${pages[@]}" | sort -u)

if ((missing > 0)); then
  echo "check-doc-flags: $missing documented flag(s) or subcommand(s) not in --help ($checked flags checked)"
  exit 1
fi
echo "$checked flags documented, all in --help"
