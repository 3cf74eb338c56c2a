#!/usr/bin/env bash
# What preemption costs compiled code: every compute kernel as INSTANCES
# instances (default 2, one per CPU) under the scheduler, compiled, with
# 1 us slices and with 1 ms slices, side by side in one run; and the
# switch cost the scheduler samples, compiled against interpreted.
#
#   bench/tier/run.sh BUILD_DIR        (part of `make bench`)
#
# Environment: RUNS=N (default 5) timed runs per line, the two slice
# lengths alternating, KERNELS=a,b.
# Prints a table and writes BUILD_DIR/bench/tier/results.json.
set -uo pipefail
. "$(dirname "$0")/../common.sh"
bench_args "$@"
runs=${RUNS:-5}
n=${INSTANCES:-2}
kdir=$build/bench/compute
out=$build/bench/tier
mkdir -p "$out"
myriad=$build/myriad
"$myriad" run --tier compiled "$kdir/fib.wasm" --invoke run >/dev/null 2>&1 ||
  die "$myriad cannot run compiled code (built without the compiler tier?)"

all=()
for f in "$root"/bench/compute/*.c; do
  k=$(basename "$f" .c)
  [ "$k" = native_main ] || all+=("$k")
done
kernels=()
select_names kernels kernel "${KERNELS:-}" "${all[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Code from the cache, so that no line pays for compiling.
export MYRIAD_CACHE_DIR=$work/cache

# Wall seconds of one run (bash's own timer, whatever the command prints).
time_run() {
  { TIMEFORMAT=%R; time "$@" >"$work/out" 2>"$work/err"; } 2>&1
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-11s %9s %9s %7s %11s %11s\n' kernel "1us s" "1ms s" "1us/1ms" "switch c ns" "switch i ns"
json="["
sep=
for k in "${kernels[@]}"; do
  w=$kdir/$k.wasm
  "$myriad" run --tier compiled "$w" --invoke run >/dev/null 2>&1 # fill the cache
  # The two slice lengths alternate run by run, so that a change in the
  # machine's load over the runs weighs on both alike.
  a=() b=() sw=() ok1=0
  for ((i = 0; i < runs; i++)); do
    a+=("$(time_run "$myriad" run --tier compiled "$w" --instances "$n" --invoke run --slice 1us)")
    sw+=("$(sed -n 's/^ *switch *\([0-9.]*\) ns.*/\1/p' "$work/out" "$work/err" | head -n 1)")
    ok1=$((ok1 + $(cat "$work/out" "$work/err" | grep -c "finished *$n succeeded")))
    b+=("$(time_run "$myriad" run --tier compiled "$w" --instances "$n" --invoke run --slice 1ms)")
  done
  t1=$(printf '%s\n' "${a[@]}" | median)
  t2=$(printf '%s\n' "${b[@]}" | median)
  # The switch cost the scheduler sampled, median over the 1 us runs.
  sw_c=$(printf '%s\n' "${sw[@]}" | grep . | median)
  # The interpreter's switch cost, sampled the same way (one short run).
  timeout 60 "$myriad" run --tier interp "$w" --instances "$n" --invoke run --slice 1us \
    --duration 3s >"$work/iout" 2>&1
  sw_i=$(sed -n 's/^ *switch *\([0-9.]*\) ns.*/\1/p' "$work/iout" | head -n 1)
  ratio=$(awk -v a="$t1" -v b="$t2" 'BEGIN { if (b > 0) printf "%.3f", a / b }')
  [ "$ok1" -eq "$runs" ] || ratio="wrong"
  printf '%-11s %9s %9s %7s %11s %11s\n' "$k" "$t1" "$t2" "$ratio" "${sw_c:-?}" "${sw_i:-?}"
  json+="$sep{\"kernel\":\"$k\",\"slice_1us_s\":$t1,\"slice_1ms_s\":$t2,\"ratio\":\"$ratio\",\"switch_compiled_ns\":\"${sw_c:-}\",\"switch_interp_ns\":\"${sw_i:-}\"}"
  sep=,
done
json+="]"
echo "$json" >"$out/results.json"
echo "results: $out/results.json"
