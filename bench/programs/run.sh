#!/usr/bin/env bash
# WASI programs benchmark: the deterministic programs of tests/programs,
# with larger inputs, timed natively, on myriad and on node's WASI.
#
#   bench/programs/run.sh BUILD_DIR
#
# Environment:
#   RUNS=N            timed runs per case and engine (default 3), after one
#                     warm-up run; the median is reported
#   ENGINES=a,b       subset of: native,myriad,node
#   CASES=a,b         subset of the cases below
#   CHECK_TIMEOUT=S   seconds allowed for the checking run (default 300)
#   UPDATE_DOCS=0     don't rewrite the programs section of docs/performance.md
#
# Every engine first runs every case once; its stdout and exit status must
# be native's. A difference is reported and the case is still timed (its
# time is marked in the table); it makes the script exit 1 when myriad
# differs, but not when only node does, since node is the yardstick here,
# not the subject (its WASI has known gaps, e.g. it truncates file times
# to seconds). Results: a table on stdout, BUILD_DIR/bench/programs/
# results.json, and the programs section of docs/performance.md.
set -uo pipefail

. "$(dirname "$0")/../common.sh"
bench_args "$@"
pdir=$build/tests/programs
out_dir=$build/bench/programs
runs=${RUNS:-3}
check_timeout=${CHECK_TIMEOUT:-300}
load_at_start=$(cut -d" " -f1-3 /proc/loadavg)
# The build directory as the docs show it: relative to the repository if it
# is inside it, else just BUILD_DIR (the docs must not name this machine's
# paths).
case $build/ in
"$root"/*) shown_build=${build#"$root"/} ;;
*) shown_build=BUILD_DIR ;;
esac
command="$(for v in RUNS ENGINES CASES; do [ -n "${!v:-}" ] && printf '%s=%s ' "$v" "${!v}"; done)bench/programs/run.sh $shown_build"


command -v hyperfine >/dev/null || die "hyperfine not found (apt-get install hyperfine)"
command -v node >/dev/null || die "node not found"

# setup_files, setup_tree: the directories the file-system programs expect.
# shellcheck source=SCRIPTDIR/../../tests/programs/dirs.sh
. "$root/tests/programs/dirs.sh"

# --- the cases -------------------------------------------------------------------
#
# case NAME PROGRAM "WHAT" [--dir SETUP] [--stdin FILE] [--env K=V]... [-- ARGS...]
# Inputs are larger than the tests' so that most cases run for a tenth of
# a second or more natively; "startup" is the smallest program there is,
# for the fixed cost of starting each engine.

all_cases=()
declare -A c_prog c_what c_setup c_stdin c_env c_args
case_() {
  local name=$1
  all_cases+=("$name")
  c_prog[$name]=$2 c_what[$name]=$3 c_setup[$name]='' c_stdin[$name]='' c_env[$name]='' c_args[$name]=''
  shift 3
  while [ $# -gt 0 ]; do
    case $1 in
    --dir) c_setup[$name]=$2; shift 2 ;;
    --stdin) c_stdin[$name]=$2; shift 2 ;;
    --env) c_env[$name]+="$2 "; shift 2 ;;
    --) shift; c_args[$name]="$*"; break ;;
    *) die "case $name: unknown option $1" ;;
    esac
  done
}
# Arguments and values are single words without quotes: they are joined
# with spaces into the command line hyperfine runs.
case_ startup exit_code "process start and exit: main returns 0" -- return 0
case_ printf_fmt printf_fmt "printf/snprintf/sscanf of ints and doubles, about 200 lines"
case_ alloc_stress alloc_stress "100k random malloc/calloc/realloc/free, every byte verified" -- 100000
case_ strings strings "qsort 200k ints + 50k words, string functions, strtol" -- 200000
case_ mathlib mathlib "libm: each function over 300k points" -- 300000
case_ json json "parse and print a 1.2 MB JSON document twice" -- 10000
case_ bignum bignum "3000!, F(24000), 2^32768 in base-1e9 limbs" -- 3000
case_ args_env args_env "argv and environment" \
  --env MYR_TEST_A=alpha --env MYR_TEST_EQUALS=a=b=c -- one two three
case_ files files "file I/O in a preopened directory (1 MiB file, seeks, renames)" \
  --dir setup_files -- @DIR@
case_ dirlist dirlist "create, list (readdir, scandir) and remove 300 files" \
  --dir setup_tree -- @DIR@
case_ pipes-gen pipes "printf 300k lines (9 MB) + 1 MiB write to a pipe" -- gen 300000
case_ pipes-cat pipes "copy 6.9 MB from stdin (a file) to stdout in odd-sized reads" \
  --stdin big.txt -- cat
case_ preempt preempt "CPU-bound loop, no host calls, one instance"

all_engines=(native myriad node)
engines=() cases=()
select_names engines engine "${ENGINES:-}" "${all_engines[@]}"
select_names cases case "${CASES:-}" "${all_cases[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/myriad-bench-programs.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out_dir" "$work/cwd"
seq 1 1000000 >"$work/big.txt"

# Each engine gets its own prepared directory per case: the programs leave
# it as they found it, so it is prepared once and reused for every run.
case_dir() {
  echo "$work/dirs/$1.$2"
}

# The command line of engine $1 for case $2, as one string for hyperfine.
engine_cmd() {
  local e=$1 c=$2 prog=${c_prog[$2]} args=${c_args[$2]} envs=${c_env[$2]} opts='' v
  local dir
  dir=$(case_dir "$e" "$c")
  if [ -n "${c_setup[$c]}" ]; then
    if [ "$e" = native ]; then
      args=${args//@DIR@/$dir}
    else
      args=${args//@DIR@//data}
      opts="--dir $dir::/data "
    fi
  fi
  for v in $envs; do opts+="--env $v "; done
  case $e in
  native) echo "${envs:+env -i $envs}$pdir/$prog-native $args" ;;
  myriad) echo "$build/myriad run $opts$pdir/$prog.wasm -- $args" ;;
  node) echo "node --no-warnings $here/run_wasi.mjs $opts$pdir/$prog.wasm $args" ;;
  esac
}

# --- check: every engine must print what native prints ------------------------

echo "== checking (each engine once, compared with native)"
status_file=$work/status.tsv # case, engine, status, detail
: >"$status_file"
bad=0

# Runs engine $1 on case $2 once, in a freshly prepared directory, leaving
# WORK/CASE.ENGINE.out and .err; returns the exit status.
run_once() {
  local e=$1 c=$2 stdin=/dev/null
  [ -n "${c_stdin[$c]}" ] && stdin=$work/${c_stdin[$c]}
  if [ -n "${c_setup[$c]}" ]; then
    mkdir -p "$(case_dir "$e" "$c")"
    "${c_setup[$c]}" "$(case_dir "$e" "$c")"
  fi
  # Word splitting of the command string is intended: it is the string
  # hyperfine splits too.
  # shellcheck disable=SC2046
  (cd "$work/cwd" && exec timeout "$check_timeout" $(engine_cmd "$e" "$c")) \
    <"$stdin" >"$work/$c.$e.out" 2>"$work/$c.$e.err"
}

# The first differing line on each side, for the report.
first_difference() {
  diff "$1" "$2" | awk '/^</ && a == "" { a = substr($0, 3) }
    /^>/ && b == "" { b = substr($0, 3) }
    END { printf "native \"%s\", this engine \"%s\"", a, b }' | head -c 400
}

record() { # case engine status detail
  printf '%s\t%s\t%s\t%s\n' "$@" >>"$status_file"
  case $3 in
  ok) printf '   %-13s %-7s ok\n' "$1" "$2" ;;
  fail) printf '   %-13s %-7s FAIL (%s)\n' "$1" "$2" "$4" ;;
  wrong) printf '!! %-13s %-7s DIFFERS: %s\n' "$1" "$2" "$4" ;;
  esac
}

for c in "${cases[@]}"; do
  prog=${c_prog[$c]}
  if [ ! -x "$pdir/$prog-native" ] || [ ! -f "$pdir/$prog.wasm" ]; then
    die "$pdir/$prog-native or $prog.wasm missing: build first (cmake --build $1)"
  fi
  # Native is the reference even when it is not among the timed engines.
  run_once native "$c"
  nrc=$?
  if [ $nrc -eq 124 ]; then
    die "$c: native timed out after ${check_timeout}s"
  fi
  for e in "${engines[@]}"; do
    if [ "$e" = native ]; then
      record "$c" native ok "exit $nrc"
      continue
    fi
    if [ "$e" = myriad ] && [ ! -x "$build/myriad" ]; then
      record "$c" "$e" fail "$build/myriad not built"
      continue
    fi
    run_once "$e" "$c"
    rc=$?
    if [ $rc -eq 124 ]; then
      record "$c" "$e" fail "timed out after ${check_timeout}s"
    elif [ $rc -ne $nrc ]; then
      record "$c" "$e" wrong "exit $rc, native $nrc: $(oneline <"$work/$c.$e.err")"
    elif ! cmp -s "$work/$c.native.out" "$work/$c.$e.out"; then
      record "$c" "$e" wrong "stdout differs; first difference: $(first_difference \
        "$work/$c.native.out" "$work/$c.$e.out")"
    else
      record "$c" "$e" ok
      continue
    fi
    [ "$e" = myriad ] && bad=1
  done
done

# --- timing --------------------------------------------------------------------------

echo "== timing (hyperfine, 1 warm-up + $runs timed runs each, whole process)"
while IFS=$'\t' read -r c e st _; do
  [ "$st" = fail ] && continue
  # stdout goes to a pipe (--output=pipe), as in a pipeline: /dev/null is a
  # character device, which wasi-libc takes for a terminal and line-buffers.
  shell=(--shell=none)
  cmd=$(engine_cmd "$e" "$c")
  if [ -n "${c_stdin[$c]}" ]; then
    shell=(--shell=bash)
    cmd="$cmd < $work/${c_stdin[$c]}"
  fi
  if (cd "$work/cwd" && hyperfine "${shell[@]}" --style none --output=pipe --warmup 1 \
    --runs "$runs" --export-json "$work/$c.$e.json" "$cmd" </dev/null >/dev/null 2>"$work/err"); then
    # shellcheck disable=SC2016 # JavaScript, not shell
    node -e 'const r = require(process.argv[1]).results[0];
      console.log(`   ${process.argv[2].padEnd(13)} ${process.argv[3].padEnd(7)} ` +
        `median ${r.median.toFixed(3)} s  (min ${r.min.toFixed(3)}, max ${r.max.toFixed(3)})`);' \
      "$work/$c.$e.json" "$c" "$e" </dev/null
  else
    echo "!! $c $e: hyperfine failed: $(head -c 300 "$work/err")" >&2
    rm -f "$work/$c.$e.json"
  fi
done <"$status_file"

node_startup=
if [[ " ${engines[*]} " == *" node "* ]] &&
  hyperfine --shell=none --style none --warmup 1 --runs "$runs" \
    --export-json "$work/node-startup.json" "node -e 0" </dev/null >/dev/null 2>&1; then
  node_startup=$work/node-startup.json
fi

# --- report ----------------------------------------------------------------------------

whats=$work/whats.tsv
for c in "${cases[@]}"; do printf '%s\t%s\n' "$c" "${c_what[$c]}"; done >"$whats"
update_docs=${UPDATE_DOCS:-1}
node "$here/report.mjs" \
  --work "$work" --out "$out_dir/results.json" --out-shown "$shown_build/bench/programs/results.json" --root "$root" \
  --docs "$([ "$update_docs" = 0 ] || echo "$root/docs/performance.md")" \
  --engines "$(IFS=,; echo "${engines[*]}")" --cases "$(IFS=,; echo "${cases[*]}")" \
  --runs "$runs" --command "$command" \
  --node-startup "$node_startup" \
  --nproc "$(nproc)" --cpu "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: *//')" \
  --load "$load_at_start" \
  --node-version "$(node --version)" \
  --clang-version "$(clang-19 --version 2>/dev/null | head -n1)" \
  --hyperfine-version "$(hyperfine --version)" || bad=1

if [ $bad -ne 0 ]; then
  echo "run.sh: myriad's output differs from native's on some case (see above)" >&2
fi
exit $bad
