#!/usr/bin/env bash
# The million-instance demo: as many instances of demo/fill.wat as the
# machine's memory allows, up to 1,000,000, alive at once, each filling and
# verifying its own 16 KiB of linear memory in 1 us time slices; then a
# check of every result against the same computation done natively.
#
#   scripts/demo.sh BUILD_DIR        (what `make demo` runs)
# Environment: INSTANCES=N to choose the count, THREADS=T, TIER=auto|interp|compiled.
set -euo pipefail
build=$(cd "${1:?usage: scripts/demo.sh BUILD_DIR}" && pwd)
want=1000000

# Each instance needs its 16 KiB memory plus under 1 KiB of its own; keep
# 15% of what is available for everything else.
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
fit=$((avail_kb * 85 / 100 / 18))
n=${INSTANCES:-$((fit < want ? fit : want))}
if [ -z "${INSTANCES:-}" ] && [ "$n" -lt "$want" ]; then
  echo "myriad demo: this machine has $((avail_kb / 1024)) MiB available;" \
       "one million instances need about 18 GiB, so the demo runs $n."
fi
threads=${THREADS:-$(nproc)}
# TIER=interp|compiled|auto picks how the instances' code runs (default:
# the default tier, auto).
tier=${TIER:-auto}
echo "myriad demo: $n instances of demo/fill.wat, each with its own 16 KiB of"
echo "linear memory, all alive at once, on $threads threads in 1 us slices."
echo "Each fills its memory with words derived from its index, reads every"
echo "word back and checks it, twice, and returns a checksum."
echo

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$build/myriad" run "$build/demo/fill.wasm" --instances "$n" --invoke run \
  --threads "$threads" --slice 1us --tier "$tier" | tee "$out"

expected=$("$build/demo/expect" "$n")
got=$(sed -n 's/^ *results *sum \([0-9]*\).*/\1/p' "$out")
echo
if [ "$got" = "$expected" ] && grep -Eq "finished +$n succeeded, 0 exited non-zero, 0 trapped" "$out"; then
  echo "correct: all $n instances completed and the sum of their results"
  echo "         equals the native computation ($expected)."
else
  echo "WRONG: expected results sum $expected from $n completed instances," \
       "got ${got:-nothing}." >&2
  exit 1
fi
