#!/usr/bin/env bash
# The compute kernels in every tier print what native code prints, byte
# for byte: compiled, mixed (every other function compiled) and, unless
# QUICK=1, the interpreter (the slow part: about 30 s).
#
#   bench/compute/check_tiers.sh BUILD_DIR
set -uo pipefail
build=$1
kdir=$build/bench/compute/test # the kernels at their test size
here=$(cd "$(dirname "$0")" && pwd)
tiers=(compiled mixed)
[ "${QUICK:-0}" = 1 ] || tiers+=(interp)
bad=0 n=0
for f in "$here"/*.c; do
  k=$(basename "$f" .c)
  [ "$k" = native_main ] && continue
  want=$("$kdir/$k-native")
  for t in "${tiers[@]}"; do
    got=$(MYRIAD_CACHE=off MYRIAD_TIER=$t "$build/myriad" run "$kdir/$k.wasm" --invoke run 2>&1)
    n=$((n + 1))
    if [ "$got" != "$want" ]; then
      echo "FAIL: $k in tier $t printed \"$got\", native \"$want\""
      bad=$((bad + 1))
    fi
  done
done
echo "check_tiers: $n runs, $bad differ from native"
[ "$bad" -eq 0 ]
