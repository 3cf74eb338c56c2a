#!/usr/bin/env bash
# Runs every test program natively and as a WASI command on myriad, and
# requires the same stdout and the same exit status from both.
#
#   tests/programs/run.sh BUILD_DIR [CASE...]     (ctest runs it as `programs`)
#
# CASE names (or shell patterns such as 'trap-*') select cases; by default
# all run. Environment:
#   KEEP=1           keep the work directory (outputs, prepared directories)
#   RUN_TIMEOUT=S    seconds allowed for each run (default 120)
#   QUICK=1          a shorter preemption loop (2M iterations instead of the
#                    program's 60M), for slow builds: ctest sets it when
#                    the project is built with sanitizers
#
# Each case gives both sides the same arguments, environment, standard
# input and a freshly prepared directory: natively the environment is
# exactly the case's (env -i) and the directory is passed by its real
# path; on myriad the variables are given with --env and the directory is
# preopened as /data (--dir HOST::/data), so the programs take the
# directory as an argument and print paths relative to it. After the run
# the two directories must also hold the same files.
#
# The programs that fault are the exception to "the same exit status":
# natively they die of a signal, on myriad the instance traps, so each side
# is checked against its own expectation (native: the signal; myriad: exit
# status 1 and "trap: " followed by the trap's message on stderr), and stdout,
# which they flush before faulting, must still be the same.
#
# Until the WASI command line exists (`myriad run --help` lists --dir) only
# the native side runs, with a message saying so.
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [CASE...]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd) || exit 2
shift
selected=("$@")
pdir=$build/tests/programs
myriad=$build/myriad
run_timeout=${RUN_TIMEOUT:-120}

# A fault must not leave core files behind.
ulimit -c 0

work=$(mktemp -d "${TMPDIR:-/tmp}/myriad-programs.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
  echo "programs: keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/cwd"

if [ -x "$myriad" ] && "$myriad" run --help 2>&1 | grep -q -- '--dir'; then
  have_myriad=1
else
  have_myriad=0
  echo "programs: SKIPPING the myriad side: '$myriad run --help' does not list --dir"
  echo "programs: (the WASI command line is not built yet); only the native programs run"
fi

# Standard input for the stdin cases: the same bytes for both sides.
seq 1 20000 >"$work/numbers.txt"

# --- directories the programs work in ------------------------------------------

# setup_files, setup_tree: see dirs.sh.
# shellcheck source=SCRIPTDIR/dirs.sh
. "$here/dirs.sh"

# What a directory holds, as text: every path, and a checksum per file.
tree_state() {
  (
    cd "$1" || exit
    find . -mindepth 1 -type d | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum
  )
}

# --- one case ------------------------------------------------------------------

# run_one STDIN PIPES PREFIX COMMAND...: runs COMMAND in the neutral working
# directory with a time limit, standard input from the file STDIN, output
# to PREFIX.out and PREFIX.err; with PIPES=1 standard input and output are
# pipes instead of files. Sets rc to its exit status. The braces take
# bash's own "Segmentation fault" report to /dev/null.
run_one() {
  local in=$1 pipes=$2 prefix=$3
  shift 3
  if [ "$pipes" = 1 ]; then
    local st
    # shellcheck disable=SC2002 # cat makes stdin a pipe, not the file
    { cat "$in" | (cd "$work/cwd" && exec timeout "$run_timeout" "$@") 2>"$prefix.err" |
      cat >"$prefix.out"; st=("${PIPESTATUS[@]}"); } 2>/dev/null
    rc=${st[1]}
  else
    { (cd "$work/cwd" && exec timeout "$run_timeout" "$@") <"$in" >"$prefix.out" \
      2>"$prefix.err"; } 2>/dev/null
    rc=$?
  fi
}

passed=0 failed=0
failures=()

# check NAME PROGRAM [OPTIONS] [-- ARGS...]
#   --env K=V        an environment variable (repeatable)
#   --stdin FILE     standard input, a file in the work directory
#                    (default /dev/null)
#   --dir SETUP      a fresh directory per side, populated by function
#                    SETUP; @DIR@ in ARGS becomes its path (native) or
#                    /data (myriad); afterwards both must hold the same
#   --exit N         the expected exit status (default 0)
#   --trap SIG MSG   natively killed by signal SIG; on myriad exit status 1
#                    and "trap: MSG" on stderr
#   --instances N    N copies at once: natively N processes with
#                    MYRIAD_INSTANCE=0..N-1 and MYRIAD_INSTANCES=N, on myriad
#                    --instances N --slice 1us; stdout lines are sorted
#                    (their order is up to the scheduler), and on myriad
#                    every instance's running interval (reported on stderr)
#                    must overlap every other's
#   --threads T      on myriad, T worker threads for --instances (default:
#                    one per CPU)
#   --pipes          standard input and output are pipes, not files
check() {
  local name=$1 prog=$2
  shift 2
  local envs=() stdin=/dev/null setup='' expect_exit=0 trap_sig='' trap_msg='' instances=0 threads='' pipes=0
  while [ $# -gt 0 ]; do
    case $1 in
    --env) envs+=("$2"); shift 2 ;;
    --stdin) stdin=$work/$2; shift 2 ;;
    --dir) setup=$2; shift 2 ;;
    --exit) expect_exit=$2; shift 2 ;;
    --trap) trap_sig=$2 trap_msg=$3; shift 3 ;;
    --instances) instances=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --pipes) pipes=1; shift ;;
    --) shift; break ;;
    *) echo "check $name: unknown option $1" >&2; exit 2 ;;
    esac
  done
  local args=("$@")

  if [ ${#selected[@]} -gt 0 ]; then
    local s match=0
    for s in "${selected[@]}"; do
      # shellcheck disable=SC2053 # a pattern on purpose
      [[ $name == $s ]] && match=1
    done
    [ $match = 1 ] || return 0
  fi

  local cw=$work/$name
  mkdir -p "$cw"
  local problems=()
  if [ ! -x "$pdir/$prog-native" ] || [ ! -f "$pdir/$prog.wasm" ]; then
    echo "FAIL $name: $pdir/$prog-native or $prog.wasm missing (build first: cmake --build BUILD_DIR)"
    failed=$((failed + 1))
    failures+=("$name")
    return
  fi

  # Native.
  local nargs=("${args[@]}") a
  if [ -n "$setup" ]; then
    mkdir -p "$cw/native-dir"
    "$setup" "$cw/native-dir"
    nargs=()
    for a in "${args[@]}"; do nargs+=("${a//@DIR@/$cw/native-dir}"); done
  fi
  local nrc
  if [ "$instances" -gt 0 ]; then
    local i pids=()
    for ((i = 0; i < instances; i++)); do
      (cd "$work/cwd" && exec timeout "$run_timeout" env -i "${envs[@]}" \
        MYRIAD_INSTANCE=$i MYRIAD_INSTANCES="$instances" \
        "$pdir/$prog-native" "${nargs[@]}") <"$stdin" >"$cw/native.out.$i" 2>"$cw/native.err.$i" &
      pids+=($!)
    done
    nrc=0
    for i in "${!pids[@]}"; do
      wait "${pids[$i]}" || nrc=$?
    done
    cat "$cw"/native.out.* | LC_ALL=C sort >"$cw/native.out"
    cat "$cw"/native.err.* >"$cw/native.err"
  else
    run_one "$stdin" "$pipes" "$cw/native" env -i "${envs[@]}" "$pdir/$prog-native" "${nargs[@]}"
    nrc=$rc
  fi

  if [ -n "$trap_sig" ]; then
    local signum
    signum=$(kill -l "$trap_sig")
    [ "$nrc" -eq $((128 + signum)) ] ||
      problems+=("native: expected death by SIG$trap_sig (status $((128 + signum))), got status $nrc")
  elif [ "$nrc" -ne "$expect_exit" ]; then
    problems+=("native: expected exit status $expect_exit, got $nrc")
  fi
  [ "$nrc" -eq 124 ] && problems+=("native: timed out after ${run_timeout}s")

  # myriad.
  if [ $have_myriad = 1 ]; then
    local margs=("${args[@]}") mopts=()
    if [ -n "$setup" ]; then
      mkdir -p "$cw/myriad-dir"
      "$setup" "$cw/myriad-dir"
      mopts+=(--dir "$cw/myriad-dir::/data")
      margs=()
      for a in "${args[@]}"; do margs+=("${a//@DIR@//data}"); done
    fi
    local e
    for e in "${envs[@]}"; do mopts+=(--env "$e"); done
    [ "$instances" -gt 0 ] && mopts+=(--instances "$instances" --slice 1us)
    [ -n "$threads" ] && mopts+=(--threads "$threads")
    local mcmd=("$myriad" run "${mopts[@]}" "$pdir/$prog.wasm" -- "${margs[@]}")
    printf '%q ' "${mcmd[@]}" >"$cw/myriad.cmd"
    run_one "$stdin" "$pipes" "$cw/myriad" "${mcmd[@]}"
    local mrc=$rc
    if [ "$instances" -gt 0 ]; then
      LC_ALL=C sort -o "$cw/myriad.out" "$cw/myriad.out"
    fi

    if [ "$mrc" -eq 124 ]; then
      problems+=("myriad: timed out after ${run_timeout}s")
    elif [ -n "$trap_sig" ]; then
      [ "$mrc" -eq 1 ] || problems+=("myriad: expected exit status 1 (a trap), got $mrc")
      grep -qF "trap: $trap_msg" "$cw/myriad.err" ||
        problems+=("myriad: stderr does not say \"trap: $trap_msg\"")
    elif [ "$mrc" -ne "$nrc" ]; then
      problems+=("exit status: native $nrc, myriad $mrc")
    fi
    cmp -s "$cw/native.out" "$cw/myriad.out" || problems+=("stdout differs")
    if [ -n "$setup" ] &&
      ! cmp -s <(tree_state "$cw/native-dir") <(tree_state "$cw/myriad-dir"); then
      problems+=("the directories differ after the run")
    fi
  fi

  # Every instance's interval must overlap every other's: the latest start
  # comes before the earliest end. Only on myriad: natively the processes
  # are started one after the other, and whether short ones overlap is up
  # to the kernel.
  if [ "$instances" -gt 0 ] && [ -f "$cw/myriad.err" ]; then
    local spans
    spans=$(grep -c '^span ' "$cw/myriad.err")
    if [ "$spans" -ne "$instances" ]; then
      problems+=("myriad: $spans of $instances instances reported their span")
    elif ! awk '$1 == "span" { if ($3 > s) s = $3; if (e == "" || $4 < e) e = $4 }
                END { exit !(s < e) }' "$cw/myriad.err"; then
      problems+=("myriad: the instances did not all run at the same time (no preemption?)")
    fi
  fi

  if [ ${#problems[@]} -eq 0 ]; then
    printf 'ok   %-18s %s\n' "$name" "$([ $have_myriad = 1 ] && echo "native = myriad" || echo "native only")"
    passed=$((passed + 1))
    return
  fi
  failed=$((failed + 1))
  failures+=("$name")
  printf 'FAIL %-18s\n' "$name"
  local p
  for p in "${problems[@]}"; do echo "     - $p"; done
  [ -f "$cw/myriad.cmd" ] && echo "     myriad command: $(cat "$cw/myriad.cmd")"
  if [ -f "$cw/myriad.out" ] && ! cmp -s "$cw/native.out" "$cw/myriad.out"; then
    echo "     stdout diff (first 40 lines):"
    diff -u --label native --label myriad "$cw/native.out" "$cw/myriad.out" | head -n 40 | sed 's/^/     | /'
  fi
  if [ -n "$setup" ] && [ -d "$cw/myriad-dir" ]; then
    diff -u --label native-dir --label myriad-dir <(tree_state "$cw/native-dir") \
      <(tree_state "$cw/myriad-dir") | head -n 20 | sed 's/^/     | /'
  fi
  local side
  for side in native myriad; do
    if [ -s "$cw/$side.err" ]; then
      echo "     $side stderr (first 10 lines):"
      head -n 10 "$cw/$side.err" | sed 's/^/     | /'
    fi
  done
}

# --- the cases -------------------------------------------------------------------

check printf_fmt printf_fmt
check alloc_stress alloc_stress
check strings strings
check mathlib mathlib
check json json
check bignum bignum

# Arguments that a command line could mangle: empty, spaced, option-like
# (after myriad's own "--" they belong to the program), quotes, UTF-8.
check args_env args_env \
  --env MYR_TEST_A=alpha --env MYR_TEST_EMPTY= --env MYR_TEST_EQUALS=a=b=c \
  --env "MYR_TEST_SPACE=two words" --env MYR_TEST_UTF8=ünï --env OTHER_VAR=not-printed \
  -- "" "two words" -x -- --dir --env 'quote"back\slash' ünï "$(printf 'tab\there')"
check args_env-none args_env
# Many and long: 2000 arguments of 100 bytes, 300 variables.
many_args=() many_env=()
for ((i = 0; i < 2000; i++)); do many_args+=("$(printf 'arg%04d-%096d' "$i" "$i")"); done
for ((i = 0; i < 300; i++)); do many_env+=(--env "MYR_TEST_V$i=value $i"); done
check args_env-many args_env "${many_env[@]}" -- "${many_args[@]}"

check exit-0 exit_code -- exit 0
check exit-1 exit_code --exit 1 -- exit 1
check exit-42 exit_code --exit 42 -- exit 42
check exit-255 exit_code --exit 255 -- exit 255
check return-0 exit_code -- return 0
check return-7 exit_code --exit 7 -- return 7
check return-200 exit_code --exit 200 -- return 200
check atexit-3 exit_code --exit 3 -- atexit 3
check _Exit-5 exit_code --exit 5 -- _Exit 5
check exit-usage exit_code --exit 2

check files files --dir setup_files -- @DIR@
check dirlist dirlist --dir setup_tree -- @DIR@
check sleep_clock sleep_clock

check pipes-wc pipes --pipes --stdin numbers.txt -- wc
check file-wc pipes --stdin numbers.txt -- wc
check pipes-cat pipes --pipes --stdin numbers.txt -- cat
check pipes-gen pipes --pipes -- gen 100000
check file-gen pipes -- gen 100000

check trap_abort trap_abort --trap ABRT unreachable
check trap-oob trap --trap SEGV "out of bounds memory access" -- oob
check trap-nullfn trap --trap SEGV "uninitialized element" -- nullfn
check trap-divzero trap --trap FPE "integer divide by zero" -- divzero
check trap-unreachable trap --trap ILL unreachable -- unreachable
check trap-stack trap --trap SEGV "call stack exhausted" -- stack

# With one worker thread, four instances that all run at once can only
# be preemption at work, whatever the number of CPUs.
preempt_args=()
[ "${QUICK:-0}" = 1 ] && preempt_args=(2000000)
check preempt preempt --instances 4 -- "${preempt_args[@]}"
check preempt-1thread preempt --instances 4 --threads 1 -- "${preempt_args[@]}"

# --- summary ---------------------------------------------------------------------

echo
total=$((passed + failed))
if [ $total -eq 0 ]; then
  echo "programs: no case matches ${selected[*]}" >&2
  exit 2
fi
if [ $have_myriad = 0 ]; then
  echo "programs: $passed of $total cases passed natively; the myriad side was SKIPPED (no WASI command line)"
else
  echo "programs: $passed of $total cases passed (native = myriad)"
fi
if [ $failed -gt 0 ]; then
  echo "programs: FAILED: ${failures[*]}"
  exit 1
fi
exit 0
