#!/bin/sh
# Keeps a guide's code in step with code that is compiled and tested:
# every ```c and ```cmake block of GUIDE must appear, word for word (only
# whitespace may differ), in one of the SOURCE files.
#
#   check_snippets.sh GUIDE SOURCE...
set -eu
guide=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Each source squeezed to one line without whitespace.
for f in "$@"; do
	tr -d ' \t\r\n' <"$f" >>"$tmp/sources"
	echo >>"$tmp/sources"
done

# Each block of the guide to a file of its own: block.N (with its line).
awk -v dir="$tmp" '
	/^ *```(c|cmake)$/ { n++; file = dir "/block." n; print NR > (file ".line"); next }
	/^ *```/ { file = ""; next }
	file != "" { print > file }
' "$guide"

status=0
checked=0
for b in "$tmp"/block.*; do
	case $b in *.line) continue ;; esac
	[ -e "$b" ] || continue
	checked=$((checked + 1))
	if ! grep -qF -e "$(tr -d ' \t\r\n' <"$b")" "$tmp/sources"; then
		echo "$guide:$(cat "$b.line"): this block is not in the examples:" >&2
		sed 's/^/    /' "$b" >&2
		status=1
	fi
done
[ "$checked" -gt 0 ] || { echo "$guide: no code blocks found" >&2; exit 1; }
[ "$status" = 0 ] && echo "$guide: $checked blocks, all in the sources"
exit $status
