#!/usr/bin/env bash
# What the sandbox's checks cost compiled code: every compute kernel,
# compiled, by the normal build and by measurement-only builds without
# bounds checks, without fuel checks (preemption), or without both, side
# by side (medians of RUNS=3 runs, code from a cache so that compile time
# is left out).
#
#   cmake -S . -B build-nobounds -DMYR_UNSAFE_NO_BOUNDS_CHECKS=ON
#   cmake -S . -B build-nofuel -DMYR_UNSAFE_NO_FUEL_CHECKS=ON
#   cmake -S . -B build-nochecks -DMYR_UNSAFE_NO_BOUNDS_CHECKS=ON -DMYR_UNSAFE_NO_FUEL_CHECKS=ON
#   cmake --build build-nobounds --target myriad   (and the others)
#   bench/tier/checks.sh build build-nobounds build-nofuel build-nochecks
#
# Each column after the first is one more build; "x" is the normal
# build's time over that build's, what its missing checks cost. The
# unsafe builds are not sandboxes (compiled code can reach any memory of
# the process, or never be preempted): they exist only to be measured like
# this, are never the default, and the normal build has no option that
# leads to them.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: checks.sh BUILD_DIR OTHER_BUILD_DIR..." >&2; exit 2; }
builds=("$@")
runs=${RUNS:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
kdir=${builds[0]}/bench/compute
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

printf '%-11s %10s' kernel "$(basename "${builds[0]}") s"
for b in "${builds[@]:1}"; do printf ' %14s %6s' "$(basename "$b") s" x; done
echo
for f in "$root"/bench/compute/*.c; do
  k=$(basename "$f" .c)
  [ "$k" = native_main ] && continue
  ref=$(median "${builds[0]}/myriad" "$kdir/$k.wasm" "$work/c0")
  printf '%-11s %10s' "$k" "$ref"
  i=1
  for b in "${builds[@]:1}"; do
    t=$(median "$b/myriad" "$kdir/$k.wasm" "$work/c$i")
    printf ' %14s %6s' "$t" \
      "$(awk -v a="$ref" -v b="$t" 'BEGIN { if (b > 0) printf "%.3f", a / b }')"
    i=$((i + 1))
  done
  echo
done
