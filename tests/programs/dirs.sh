# The directories the file-system programs work in, shared by run.sh here
# and bench/programs/run.sh (sourced, not run). Each setup function fills
# a fresh directory; the programs create and remove everything else, so a
# prepared directory can be reused for repeated runs.
# shellcheck shell=bash

# files: one input file.
# shellcheck disable=SC2317 # called by name
setup_files() {
  printf 'first line\nsecond line with spaces\n\nfourth after an empty one\nno newline at end' \
    >"$1/input.txt"
}

# dirlist: a small tree with every kind of entry the program prints.
# shellcheck disable=SC2317 # called by name
setup_tree() {
  local t=$1/tree
  mkdir -p "$t/sub/deeper" "$t/emptydir"
  printf hello >"$t/a.txt"
  head -c 1000 /dev/zero >"$t/b.dat"
  echo space >"$t/with space.txt"
  : >"$t/.hidden"
  : >"$t/empty"
  echo nested >"$t/sub/nested.txt"
  echo x >"$t/sub/deeper/x"
}
