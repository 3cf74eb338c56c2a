#!/usr/bin/env bash
# Compute benchmark: times every kernel in every engine and compares each
# engine to native code compiled from the same C source.
#
#   bench/compute/run.sh BUILD_DIR        (what `make bench-compute` runs)
#
# Environment:
#   RUNS=N              timed runs per kernel and engine (default 5), after
#                       one warm-up run; the median is reported
#   ENGINES=a,b         subset of: native,myriad,myriad-interp,myriad-compiled,
#                       node,node-liftoff,node-turbofan
#   KERNELS=a,b         subset of the kernels (the *.c files here)
#   CHECK_TIMEOUT=S     seconds allowed for the checksum run (default 300,
#                       a thousand times native: room for slow interpreters)
#   UPDATE_DOCS=0       don't rewrite the compute section of docs/performance.md
#
# Before timing, every engine runs each kernel once and must print the same
# checksum as native. A mismatch ("wrong") is reported loudly and makes the
# script exit 1 at the end; an engine that is missing or fails on a kernel
# ("fail", e.g. myriad while its engine is being written) is reported in
# the table and the rest goes on. Results: a table on stdout,
# BUILD_DIR/bench/compute/results.json, and docs/performance.md.
set -uo pipefail

. "$(dirname "$0")/../common.sh"
bench_args "$@"
kdir=$build/bench/compute
runs=${RUNS:-5}
# Other work on the machine skews every time; the load is recorded with them.
load_at_start=$(cut -d" " -f1-3 /proc/loadavg)
check_timeout=${CHECK_TIMEOUT:-300}
# The command as it would be retyped, for the record in the docs.
command="$(for v in RUNS ENGINES KERNELS; do [ -n "${!v:-}" ] && printf '%s=%s ' "$v" "${!v}"; done)bench/compute/run.sh $1"


# --- tools -----------------------------------------------------------------

if ! command -v hyperfine >/dev/null; then
  echo "run.sh: installing hyperfine" >&2
  sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  { $sudo apt-get install -y -qq hyperfine >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq hyperfine >/dev/null; }; } ||
    die "could not install hyperfine"
fi
command -v node >/dev/null || die "node not found (the report and the node engines need it)"

# --- what to run -----------------------------------------------------------

# myriad is the default tier (auto: interpreted at once, compiled in the
# background, with the code cache of the build tree, which the warm-up run
# fills); myriad-interp and myriad-compiled are the fixed tiers.
all_engines=(native myriad myriad-interp myriad-compiled node node-liftoff node-turbofan)
all_kernels=()
for f in "$here"/*.c; do
  k=$(basename "$f" .c)
  [ "$k" = native_main ] || all_kernels+=("$k")
done

engines=() kernels=()
select_names engines engine "${ENGINES:-}" "${all_engines[@]}"
select_names kernels kernel "${KERNELS:-}" "${all_kernels[@]}"
if [ ${#engines[@]} -eq 0 ] || [ ${#kernels[@]} -eq 0 ]; then
  die "nothing to run"
fi

# The command line of engine $1 for kernel $2, as words.
engine_cmd() {
  local wasm=$kdir/$2.wasm
  local node_run=(node "$here/run_node.mjs" "$wasm" run)
  case $1 in
  native) echo_words "$kdir/$2-native" ;;
  myriad) echo_words env "MYRIAD_CACHE_DIR=$build/code-cache" "$build/myriad" run "$wasm" --invoke run ;;
  myriad-interp) echo_words "$build/myriad" run --tier interp "$wasm" --invoke run ;;
  myriad-compiled) echo_words "$build/myriad" run --tier compiled --no-cache "$wasm" --invoke run ;;
  node) echo_words "${node_run[@]}" ;;
  # Liftoff is V8's baseline compiler; tier-up would replace its code with
  # TurboFan's for hot functions, so both tiering mechanisms are off.
  node-liftoff) echo_words node --liftoff --no-wasm-tier-up --no-wasm-dynamic-tiering "${node_run[@]:1}" ;;
  # Without Liftoff every function is compiled by TurboFan before it runs.
  node-turbofan) echo_words node --no-liftoff "${node_run[@]:1}" ;;
  esac
}
# Shell-quoted words: hyperfine splits its command the way a shell would.
echo_words() {
  local quoted=() w
  for w in "$@"; do quoted+=("$(printf '%q' "$w")"); done
  echo "${quoted[*]}"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status_file=$work/status.tsv # kernel, engine, status, output or error
: >"$status_file"

# --- check: every engine must compute native's checksum ---------------------

echo "== checksums (each engine once, compared with native)"
bad=0
for k in "${kernels[@]}"; do
  if [ ! -f "$kdir/$k.wasm" ] || [ ! -x "$kdir/$k-native" ]; then
    die "$kdir/$k.wasm or $k-native missing: build first (cmake --build $1)"
  fi
  # Native is the reference even when it is not among the timed engines.
  expect=$("$kdir/$k-native" 2>"$work/err")
  rc=$?
  if [ $rc -ne 0 ] || [ -z "$expect" ]; then
    native_err="native failed (exit $rc): $(oneline <"$work/err")"
    echo "!! $k: $native_err" >&2
    bad=1
  fi
  for e in "${engines[@]}"; do
    if [ -n "${native_err:-}" ]; then
      st=fail detail="no reference: $native_err"
    elif [ "$e" = native ]; then
      st=ok detail=$expect
    elif [[ $e == myriad* ]] && [ ! -x "$build/myriad" ]; then
      st=fail detail="$build/myriad not built"
    else
      out=$(eval "timeout $check_timeout $(engine_cmd "$e" "$k")" 2>"$work/err" </dev/null)
      rc=$?
      if [ $rc -ne 0 ]; then
        [ $rc -eq 124 ] && echo "timed out after ${check_timeout}s" >>"$work/err"
        st=fail detail="exit $rc: $(oneline <"$work/err")"
      elif [ -z "$out" ]; then
        # Exit 0 and no result, e.g. a CLI still stubbed out: not a wrong
        # answer, no answer.
        err=$(oneline <"$work/err")
        st=fail detail="printed no result${err:+: $err}"
      elif [ "$out" != "$expect" ]; then
        st=wrong detail=$(oneline <<<"$out")
      else
        st=ok detail=$out
      fi
    fi
    printf '%s\t%s\t%s\t%s\n' "$k" "$e" "$st" "$detail" >>"$status_file"
    case $st in
    ok) printf '   %-12s %-14s %s\n' "$k" "$e" "$detail" ;;
    fail) printf '   %-12s %-14s FAIL (%s)\n' "$k" "$e" "$detail" ;;
    wrong)
      bad=1
      printf '!!!!!!!! %s %s: WRONG CHECKSUM: got "%s", native says "%s"\n' "$k" "$e" "$detail" "$expect" |
        tee -a "$work/wrong" >&2
      ;;
    esac
  done
  printf "%s\t%s\n" "$k" "$expect" >>"$work/reference.tsv"
  native_err=
done

# --- timing ------------------------------------------------------------------

echo "== timing (hyperfine, 1 warm-up + $runs timed runs each; times include process start)"
while IFS=$'\t' read -r k e st _; do
  [ "$st" = ok ] || continue
  json=$work/$k.$e.json
  if hyperfine --shell=none --style none --warmup 1 --runs "$runs" \
    --export-json "$json" "$(engine_cmd "$e" "$k")" </dev/null >/dev/null 2>"$work/err"; then
    # shellcheck disable=SC2016 # JavaScript, not shell
    node -e 'const r = require(process.argv[1]).results[0];
      console.log(`   ${process.argv[2].padEnd(12)} ${process.argv[3].padEnd(14)} ` +
        `median ${r.median.toFixed(3)} s  (min ${r.min.toFixed(3)}, max ${r.max.toFixed(3)})`);' \
      "$json" "$k" "$e" </dev/null
  else
    # It passed the check run, so this is flaky behaviour worth seeing.
    echo "!! $k $e: hyperfine failed: $(head -c 300 "$work/err")" >&2
    rm -f "$json"
  fi
done <"$status_file"

# node's own start-up is in every node time; measure it so readers can
# tell start-up from compute on the short kernels.
node_startup=
if [[ " ${engines[*]} " == *" node"* ]]; then
  if hyperfine --shell=none --style none --warmup 1 --runs "$runs" \
    --export-json "$work/node-startup.json" "node -e 0" </dev/null >/dev/null 2>&1; then
    node_startup=$work/node-startup.json
  fi
fi

# --- report -------------------------------------------------------------------

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: *//')
update_docs=${UPDATE_DOCS:-1}
node "$here/report.mjs" \
  --work "$work" --out "$kdir/results.json" --root "$root" \
  --docs "$([ "$update_docs" = 0 ] || echo "$root/docs/performance.md")" \
  --engines "$(IFS=,; echo "${engines[*]}")" --kernels "$(IFS=,; echo "${kernels[*]}")" \
  --runs "$runs" --command "$command" \
  --node-startup "$node_startup" \
  --nproc "$(nproc)" --cpu "$cpu" \
  --load "$load_at_start" \
  --node-version "$(node --version)" \
  --clang-version "$(clang-19 --version 2>/dev/null | head -n1)" \
  --hyperfine-version "$(hyperfine --version)" || bad=1

if [ -s "$work/wrong" ]; then
  echo >&2
  echo "!!!!!!!! WRONG CHECKSUMS: some engine disagrees with native:" >&2
  cat "$work/wrong" >&2
fi
exit $bad
