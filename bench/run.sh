#!/usr/bin/env bash
# Every benchmark, in order; each writes its section of docs/performance.md.
#   bench/run.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench/run.sh BUILD_DIR}
"$here/compute/run.sh" "$build"
"$here/tier/run.sh" "$build"
"$here/million/run.sh" "$build"
"$here/programs/run.sh" "$build"
"$here/actors/run.sh" "$build"
