# Sourced by fuzz/run.sh and fuzz/coverage.sh. keep_defined BUILD PREFIX
# TARGET... prints, one per line, the targets BUILD defines as
# PREFIX<target>, and warns about the others: cache exists only in builds
# with the compiler (llvm-19-dev).
keep_defined() {
  local build=$1 prefix=$2 defined t
  shift 2
  defined=$(cmake --build "$build" --target help)
  for t in "$@"; do
    if grep -q "$prefix$t\b" <<<"$defined"; then
      echo "$t"
    else
      echo "$(basename "$0"): no target $t in $build, skipped" >&2
    fi
  done
}
