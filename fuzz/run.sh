#!/usr/bin/env bash
# Builds the libFuzzer targets in BUILD (configured with MYR_FUZZ=ON) and
# runs each of TARGETS for SECONDS, one after the other, then prints per
# target: executions, coverage (libFuzzer's cov: edges and ft: features)
# and findings (crash, leak, timeout and oom inputs, saved under
# BUILD/findings/<target>/). Exits 1 if anything was found.
#
#   fuzz/run.sh BUILD SECONDS [TARGET...]      (make fuzz FUZZ_TIME= TARGETS=)
#
# The corpus grows in BUILD/corpus/<target>/ (seeded from fuzz/corpus/ and
# fuzz/regress/, which are read, never written). FUZZ_FLAGS adds libFuzzer
# flags; FUZZ_NICE=1 runs under nice -n 19.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
build=${1:?usage: fuzz/run.sh BUILD SECONDS [TARGET...]}
secs=${2:?usage: fuzz/run.sh BUILD SECONDS [TARGET...]}
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(decode run slices wasi run_tiers actors cache)
jobs=${JOBS:-$(nproc)}

# A build directory configured from another copy of the tree would fuzz
# that copy's code, whatever this one holds: refuse it.
if [ -f "$build/CMakeCache.txt" ]; then
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
  if [ -n "$home" ] && [ "$(cd "$home" 2>/dev/null && pwd -P)" != "$(cd "$src" && pwd -P)" ]; then
    echo "fuzz/run.sh: $build was configured from $home, not from $src; use another build directory" >&2
    exit 2
  fi
fi
if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q '^MYR_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang-19 -DCMAKE_BUILD_TYPE=Debug \
    -DMYR_FUZZ=ON -DMYR_SHARED=OFF >/dev/null
fi
. "$here/defined.sh"
mapfile -t targets < <(keep_defined "$build" fuzz_ "${targets[@]}")
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/fuzz_}" >/dev/null

declare -A max_len=([decode]=8192 [run]=4096 [slices]=4096 [wasi]=1024 [run_tiers]=2048 [actors]=512 [cache]=4096)
nice=()
[ "${FUZZ_NICE:-0}" = 1 ] && nice=(nice -n 19)
summary=()
found_any=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t findings=$build/findings/$t log=$build/fuzz-$t.log
  mkdir -p "$corpus" "$findings"
  before=$(find "$findings" -type f | wc -l)
  # shellcheck disable=SC2086
  "${nice[@]}" "$build/fuzz/fuzz_$t" -max_total_time="$secs" -max_len="${max_len[$t]:-4096}" \
    -timeout=30 -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$findings/" \
    ${FUZZ_FLAGS:-} "$corpus" "$here/corpus/$t" "$here/regress/$t" >"$log" 2>&1 || true
  after=$(find "$findings" -type f | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  new=$((after - before))
  [ "$new" -gt 0 ] && found_any=1
  summary+=("$(printf '%-10s execs %10s  %-22s findings %d%s' "$t" "${execs:-?}" "${cov:-cov: ? ft: ?}" \
    "$new" "$([ "$new" -gt 0 ] && echo " (see $findings, $log)")")")
  if [ "$new" -gt 0 ]; then
    grep -m1 -A12 -E 'ERROR|MISMATCH|fuzz( wasi)?:' "$log" >&2 || tail -20 "$log" >&2
  fi
done
echo "fuzz: ${secs}s per target"
printf '  %s\n' "${summary[@]}"
exit $found_any
