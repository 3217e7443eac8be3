#!/usr/bin/env bash
# sweep.sh BIN_DIR TABLE...: every flag of every executable, given hostile values (flags.txt says which flags
# and of what kind); each must be refused the way bad input is: exit status 2, exactly one line on stderr that
# names the flag, no core dump, and nothing left behind (every run starts in an empty directory, which must stay
# empty, and writes its output files there). Prints one line per case that misbehaves and exits 1 if any did.
# The cases run AWSDT_SWEEP_JOBS at a time (default: twice the CPUs; most of a case's time is process start-up).
#
# A table row:  PROGRAM [SUBCOMMAND...] | FLAG | KIND | [CONTEXT...]
#   FLAG     the long name; the value is passed as --flag=VALUE (a short-only flag as -f VALUE)
#   KIND     one of the kinds below, or a bash array literal of values: ('' 1:2:3:4)
#   CONTEXT  the other arguments, which make a valid and quick run; @DIR@ is the run's empty directory.
# An empty or '#' line is a comment.
set -uo pipefail
bin=$(cd "$1" && pwd)
shift

# The hostile values of each kind (a value that is valid for some flag of a kind belongs in its row instead).
declare -A kinds=(
  [count]="-1 0 99999999999999999999 nan '' \$'\\xff' 1.5"      # an integer >= 1
  [count0]="-1 99999999999999999999 nan '' \$'\\xff' 1.5"        # an integer >= 0
  [real+]="-1 0 nan inf 1e999 '' \$'\\xff'"                      # a number > 0
  [real0]="-1 nan inf 1e999 '' \$'\\xff'"                        # a number >= 0
  [bytes]="-1 nan '' \$'\\xff' 99999999999999999999 1Q 1.5.5"    # a size: 8, 64K, 1M, 2G
  [word]="'' bogus \$'\\xff'"                                    # one of a fixed set of words
  [infile]="'' @DIR@/missing / /etc/hostname/x \$'@DIR@/\\xff'"  # a file that is read
  [outfile]="/ /proc/version @DIR@/no/such/dir/out"              # a file that is written
  [outdir]="/proc/version /etc/hostname /proc/no/such"           # a directory that is written into
  [indir]="'' @DIR@/missing /etc/hostname"                       # a directory that is read
)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/cases" "$scratch/out"
cases=0

# check CASE_FILE: runs the case (label, flag, argv; written by the loop below) in its own empty directory and
# writes one line per misbehaviour to out/.
check() {
  local label flag argv=() dir out
  source "$1"
  dir=$scratch/run.${1##*/}
  out=$scratch/out/${1##*/}
  fail() { printf 'sweep: %s: %s\n' "$label" "$1" >>"$out"; }
  mkdir -p "$dir"
  (cd "$dir" && ulimit -c unlimited && HOME=$scratch/home XDG_STATE_HOME=$scratch/state timeout 60 "${argv[@]}" \
    >"$out.stdout" 2>"$out.stderr" </dev/null)
  local status=$? lines
  lines=$(wc -l <"$out.stderr")
  # A message without its newline still counts as a line.
  [[ -s $out.stderr && $(tail -c 1 "$out.stderr" | od -An -c | tr -d ' ') != '\n' ]] && lines=$((lines + 1))
  if ((status == 124)); then
    fail "still running after 60 s (the value was accepted)"
  elif ((status >= 128)); then
    fail "killed by signal $((status - 128))"
  elif ((status != 2)); then
    fail "exit status $status, expected 2; stderr: $(head -c 300 "$out.stderr")"
  elif ((lines != 1)); then
    fail "$lines lines on stderr, expected 1: $(head -c 300 "$out.stderr")"
  elif ! grep -qF -- "$flag" "$out.stderr"; then
    fail "stderr does not name $flag: $(head -c 300 "$out.stderr")"
  fi
  local left
  left=$(ls -A "$dir")
  [[ -z $left ]] || fail "left behind: $(tr '\n' ' ' <<<"$left")"
  rm -rf "$dir" "$out.stdout" "$out.stderr"
}
export -f check
export scratch

declare -A defaults  # PROGRAM words -> the CONTEXT of its '*' row
declare -A skipped  # programs not built
values=() given=()  # set by eval below
for table in "$@"; do
  while IFS='|' read -r program flag kind context; do
    [[ -z ${program// /} || $program =~ ^[[:space:]]*# ]] && continue
    read -r -a words <<<"$program"
    flag=${flag// /}
    if [[ $flag == '*' ]]; then
      defaults[${words[*]}]=$context
      continue
    fi
    [[ -n ${context// /} ]] || context=${defaults[${words[*]}]:-}
    if [[ ! -x $bin/${words[0]} ]]; then  # not built here (awsdt-fabric needs libfabric)
      [[ -n ${skipped[${words[0]}]:-} ]] || echo "sweep: ${words[0]} is not in $bin: its rows are skipped"
      skipped[${words[0]}]=1
      continue
    fi
    kind=$(sed 's/^ *//; s/ *$//' <<<"$kind")
    if [[ $kind == '('* ]]; then
      eval "values=$kind"
    elif [[ -n ${kinds[$kind]:-} ]]; then
      eval "values=(${kinds[$kind]})"
    else
      echo "sweep: $table: unknown kind '$kind' for $flag" >&2
      exit 2
    fi
    for value in "${values[@]}"; do
      cases=$((cases + 1))
      run=$scratch/run.$(printf '%05d' "$cases")  # the case's own directory (check makes it)
      value=${value//@DIR@/$run}
      eval "given=(${context//@DIR@/$run})"
      args=()  # the context without the flag under test (the last of two would win)
      for ((i = 0; i < ${#given[@]}; i++)); do
        if [[ ${given[i]} == "$flag" ]]; then
          i=$((i + 1))
        elif [[ ${given[i]} != "$flag="* ]]; then
          args+=("${given[i]}")
        fi
      done
      if [[ $flag == --* ]]; then
        argv=("$bin/${words[0]}" "${words[@]:1}" "$flag=$value" "${args[@]}")
      else
        argv=("$bin/${words[0]}" "${words[@]:1}" "$flag" "$value" "${args[@]}")
      fi
      {
        printf 'label=%q flag=%q\n' "${words[*]} $flag $(printf '%q' "$value")" "$flag"
        printf 'argv=('
        printf '%q ' "${argv[@]}"
        printf ')\n'
      } >"$scratch/cases/$(printf '%05d' "$cases")"
    done
  done <"$table"
done
jobs=${AWSDT_SWEEP_JOBS:-$((2 * $(nproc)))}
find "$scratch/cases" -type f -print0 | sort -z | xargs -0 -r -n 1 -P "$jobs" bash -c 'check "$1"' check
failures=$(cat "$scratch"/out/* 2>/dev/null | wc -l)
cat "$scratch"/out/* 2>/dev/null  # in the table's order
echo "sweep: $cases cases, $failures misbehaved"
((failures == 0))
