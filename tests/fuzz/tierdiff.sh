#!/usr/bin/env bash
# Differential testing of the tiers: N random modules made by binaryen's
# translate-to-fuzz (wasm-opt -ttf) from seeded pseudo-random bytes, each
# run by tierdiff in the interpreter, compiled and mixed; every tier must
# give the same results, traps, logged values and memory.
#
#   tests/fuzz/tierdiff.sh BUILD_DIR [N [FIRST_SEED]]
#
# The seeds are FIRST_SEED..FIRST_SEED+N-1 (default 1), so a run is
# repeatable and a failure is named by its seed. A module that differs is
# kept in BUILD_DIR/fuzz/ for reduction (wasm-reduce), and the script
# exits 1. Only features myriad implements are enabled.
set -euo pipefail
build=${1:?usage: tierdiff.sh BUILD_DIR [N [FIRST_SEED]]}
n=${2:-100}
first=${3:-1}
tool=$build/tierdiff
[ -x "$tool" ] || { echo "tierdiff.sh: $tool not built (no compiler tier?)" >&2; exit 2; }
command -v wasm-opt >/dev/null || { echo "tierdiff.sh: wasm-opt (binaryen) missing" >&2; exit 2; }
out=$build/fuzz
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
features=(--mvp-features --enable-bulk-memory --enable-sign-ext
  --enable-nontrapping-float-to-int --enable-mutable-globals
  --enable-multivalue --enable-tail-call)
bad=0 total=0
for ((s = first; s < first + n; s++)); do
  "$tool" --random "$s" 12000 "$work/in.dat"
  if ! wasm-opt -ttf "$work/in.dat" "${features[@]}" -o "$work/m.wasm" 2>/dev/null; then
    echo "tierdiff.sh: wasm-opt failed on seed $s" >&2
    continue
  fi
  total=$((total + 1))
  if ! "$tool" "$work/m.wasm" >"$work/log"; then
    cp "$work/m.wasm" "$out/seed-$s.wasm"
    echo "seed $s: the tiers differ (module kept as $out/seed-$s.wasm)"
    head -n 60 "$work/log"
    bad=$((bad + 1))
  fi
done
echo "tierdiff.sh: $total random modules, $((total - bad)) agree in every tier, $bad differ"
[ "$bad" -eq 0 ]
