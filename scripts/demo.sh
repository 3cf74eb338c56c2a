#!/usr/bin/env bash
# The demo: the compute kernels on myriad next to native code.
#   scripts/demo.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: scripts/demo.sh BUILD_DIR}
ENGINES=${ENGINES:-native,myriad} RUNS=${RUNS:-1} UPDATE_DOCS=0 \
	"$here/bench/compute/run.sh" "$build"
