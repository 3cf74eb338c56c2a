#!/bin/sh
# Every C source and header of the tree is one that `make format` formats,
# so a new directory of C files cannot drift out of the project's style
# unnoticed.
#
#   check_format_covers.sh SOURCE_DIR
set -eu
cd "$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
find . \( -name .git -o -name 'build*' -o -path ./out \) -prune -o \
	\( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||' | sort >"$tmp/all"
make -s format-files | sort >"$tmp/covered"
missing=$(comm -23 "$tmp/all" "$tmp/covered")
if [ -n "$missing" ]; then
	echo "not covered by make format (Makefile FORMAT_SOURCES):" >&2
	echo "$missing" | sed 's/^/    /' >&2
	exit 1
fi
echo "make format covers all $(wc -l <"$tmp/all") C files"
