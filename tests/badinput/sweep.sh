#!/usr/bin/env bash
# sweep.sh BIN_DIR TABLE...: every flag of every executable, given hostile values (flags.txt says which flags
# and of what kind); each must be refused the way bad input is: exit status 2, exactly one line on stderr that
# names the flag, no core dump, and nothing left behind (every run starts in an empty directory, which must stay
# empty, and writes its output files there). Prints one line per case that misbehaves and exits 1 if any did.
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
failures=0 cases=0
fail() {
  printf 'sweep: %s: %s\n' "$1" "$2"
  failures=$((failures + 1))
}

# check LABEL FLAG ARGV...: runs ARGV in an empty directory and checks how it refused.
check() {
  local label=$1 flag=$2
  shift 2
  local dir=$scratch/run
  rm -rf "$dir"
  mkdir -p "$dir"
  cases=$((cases + 1))
  (cd "$dir" && ulimit -c unlimited && HOME=$scratch/home XDG_STATE_HOME=$scratch/state timeout 60 "$@" \
    >"$scratch/stdout" 2>"$scratch/stderr" </dev/null)
  local status=$? lines
  lines=$(wc -l <"$scratch/stderr")
  # A message without its newline still counts as a line.
  [[ -s $scratch/stderr && $(tail -c 1 "$scratch/stderr" | od -An -c | tr -d ' ') != '\n' ]] && lines=$((lines + 1))
  if ((status == 124)); then
    fail "$label" "still running after 60 s (the value was accepted)"
  elif ((status >= 128)); then
    fail "$label" "killed by signal $((status - 128))"
  elif ((status != 2)); then
    fail "$label" "exit status $status, expected 2; stderr: $(head -c 300 "$scratch/stderr")"
  elif ((lines != 1)); then
    fail "$label" "$lines lines on stderr, expected 1: $(head -c 300 "$scratch/stderr")"
  elif ! grep -qF -- "$flag" "$scratch/stderr"; then
    fail "$label" "stderr does not name $flag: $(head -c 300 "$scratch/stderr")"
  fi
  local left
  left=$(ls -A "$dir")
  [[ -z $left ]] && return
  fail "$label" "left behind: $(tr '\n' ' ' <<<"$left")"
}

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
      value=${value//@DIR@/$scratch/run}
      eval "given=(${context//@DIR@/$scratch/run})"
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
      check "${words[*]} $flag $(printf '%q' "$value")" "$flag" "${argv[@]}"
    done
  done <"$table"
done
echo "sweep: $cases cases, $failures misbehaved"
((failures == 0))
