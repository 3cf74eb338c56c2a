#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, if any is
# missing; with --bench also what the benchmarks compare against, with
# --format the clang-format of `make format`. Needs root (or sudo) only
# when something is missing.
#
#   scripts/deps.sh [--bench | --format]
set -euo pipefail

pkgs=(
  clang-19 lld-19 libclang-rt-19-dev libclang-rt-19-dev-wasm32 # compiler, sanitizers, wasm32 target
  cmake make pkg-config                                         # build
  libcmocka-dev                                                 # unit-test framework
  libcjson-dev                                                  # JSON (spec-test scripts, --json output)
  wabt                                                          # wast2json for the spec tests
  wasi-libc                                                     # libc for C programs compiled to wasm32-wasi
  llvm-19-dev                                                   # the compiler tier's code generator (optional: MYR_JIT=OFF)
  libssl-dev                                                    # SHA-256 of modules, the code cache's key
  binaryen                                                      # wasm-opt -ttf: random modules for the tier differential test
  llvm-19                                                       # llvm-profdata-19, llvm-cov-19: coverage of the fuzz corpora (fuzz/coverage.sh)
)

# V8: the benchmarks' comparison engine and the differential test's second
# oracle (tools/oracle/fuzzdiff.js); any node will do.
command -v node >/dev/null || pkgs+=(nodejs)

if [ "${1:-}" = --bench ]; then
  pkgs+=(hyperfine)   # medians of repeated whole-command runs
  pkgs+=(erlang-base) # BEAM (erl, erlc): the actor benchmarks' comparison
fi
if [ "${1:-}" = --format ]; then
  pkgs+=(clang-format-19) # make format: the layout of the compiler's release
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
