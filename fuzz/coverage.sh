#!/usr/bin/env bash
# Lines of src/ covered by replaying the fuzz corpora: builds the replay
# programs of fuzz/ in BUILD (default build-cov) with clang's source-based
# coverage, replays fuzz/corpus/<t>, fuzz/regress/<t> and, if present,
# the corpus a campaign grew in FUZZ_BUILD/corpus/<t> (default
# build-fuzz), then prints llvm-cov's report of src/ per file and in
# total, per target and all together.
#
#   fuzz/coverage.sh [BUILD] [TARGET...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
build=${1:-build-cov}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(decode run slices wasi run_tiers actors cache)
grown=${FUZZ_BUILD:-$src/build-fuzz}/corpus
flags="-fprofile-instr-generate -fcoverage-mapping"

cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang-19 -DCMAKE_BUILD_TYPE=Release \
  -DMYR_SHARED=OFF -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
. "$here/defined.sh"
mapfile -t targets < <(keep_defined "$build" fuzz_replay_ "${targets[@]}")
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_replay_}" >/dev/null

prof=$build/profiles
rm -rf "$prof"
mkdir -p "$prof"
objects=()
for t in "${targets[@]}"; do
  dirs=("$here/corpus/$t" "$here/regress/$t")
  [ -d "$grown/$t" ] && dirs+=("$grown/$t")
  LLVM_PROFILE_FILE="$prof/$t-%p.profraw" "$build/fuzz/fuzz_replay_$t" "${dirs[@]}" >/dev/null
  llvm-profdata-19 merge -sparse "$prof/$t"-*.profraw -o "$prof/$t.profdata"
  objects+=(-object "$build/fuzz/fuzz_replay_$t")
  printf '%-10s ' "$t"
  llvm-cov-19 report "$build/fuzz/fuzz_replay_$t" -instr-profile="$prof/$t.profdata" \
    "$src/src" | awk '/^TOTAL/ {printf "src/ lines %d of %d covered (%s)\n", $8 - $9, $8, $10}'
done
llvm-profdata-19 merge -sparse "$prof"/*.profdata -o "$prof/all.profdata"
echo "all targets together, src/ per file:"
llvm-cov-19 report "${objects[@]:1}" -instr-profile="$prof/all.profdata" "$src/src"
