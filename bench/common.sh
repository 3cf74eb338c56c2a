# Shared by the benchmark scripts (sourced, after `set -uo pipefail`):
# the BUILD_DIR argument, errors, and name selection.
#
#   . "$(dirname "$0")/../common.sh"; bench_args "$@"
#
# bench_args sets here (the script's folder), root (the repository) and
# build (BUILD_DIR, absolute), or prints the usage and exits 2.
bench_args() {
  if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
  fi
  here=$(cd "$(dirname "$0")" && pwd)
  root=$(cd "$here/../.." && pwd)
  build=$(cd "$1" && pwd) || exit 2
}

die() {
  echo "$(basename "$(dirname "$0")")/run.sh: $*" >&2
  exit 2
}

# Squeezes a command's output or error to one short line for a table.
oneline() {
  tr '\n' ' ' | head -c 300 | sed 's/ *$//'
}

# select_names OUT WHAT WANTED KNOWN...: sets array OUT to the names in the
# comma-separated WANTED (or to all KNOWN if WANTED is empty). An unknown
# name is an error rather than silently skipped: a typo should not produce
# a quietly empty benchmark.
select_names() {
  local -n result=$1
  local what=$2 wanted=$3 w ws
  shift 3
  result=()
  if [ -z "$wanted" ]; then
    result=("$@")
    return
  fi
  IFS=, read -ra ws <<<"$wanted"
  for w in "${ws[@]}"; do
    [[ " $* " == *" $w "* ]] || die "unknown $what '$w' (known: $*)"
    result+=("$w")
  done
}
