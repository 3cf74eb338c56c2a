#!/usr/bin/env bash
# What explicit bounds checks cost compiled code: every compute kernel,
# compiled, by the normal build and by a measurement-only build without
# bounds checks, side by side (medians of RUNS=3 runs, code from a cache
# so that compile time is left out).
#
#   cmake -S . -B build-unsafe -DMYR_UNSAFE_NO_BOUNDS_CHECKS=ON
#   cmake --build build-unsafe --target myriad
#   bench/tier/bounds.sh build build-unsafe
#
# The unsafe build is not a sandbox: compiled code can then reach any
# memory of the process. It exists only to be measured like this, is never
# the default, and the normal build has no option that leads to it.
set -uo pipefail
safe=${1:?usage: bounds.sh BUILD_DIR UNSAFE_BUILD_DIR}
unsafe=${2:?usage: bounds.sh BUILD_DIR UNSAFE_BUILD_DIR}
runs=${RUNS:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
kdir=$safe/bench/compute
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() {
  local bin=$1 w=$2 cache=$3 times=() i
  MYRIAD_CACHE_DIR=$cache "$bin" run --tier compiled "$w" --invoke run >"$work/ref" 2>&1
  for ((i = 0; i < runs; i++)); do
    times+=("$( { TIMEFORMAT=%R; time MYRIAD_CACHE_DIR=$cache "$bin" run --tier compiled "$w" --invoke run >"$work/out" 2>&1; } 2>&1)")
    cmp -s "$work/out" "$work/ref" || { echo wrong; return; }
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

printf '%-11s %10s %12s %8s\n' kernel "checked s" "unchecked s" "cost"
for f in "$root"/bench/compute/*.c; do
  k=$(basename "$f" .c)
  [ "$k" = native_main ] && continue
  a=$(median "$safe/myriad" "$kdir/$k.wasm" "$work/c1")
  b=$(median "$unsafe/myriad" "$kdir/$k.wasm" "$work/c2")
  printf '%-11s %10s %12s %8s\n' "$k" "$a" "$b" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.3f", a / b }')"
done
