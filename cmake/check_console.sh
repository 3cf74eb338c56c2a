#!/bin/sh
# Runs the examples of a guide and checks they print what it shows.
#
#   check_console.sh GUIDE BIN_DIR WASM_DIR
#
# In GUIDE, a ```console block holds commands, each on a line starting
# with "$ ", followed by the output expected from it (standard output and
# error together). An output line "..." stands for any number of lines.
# A ```c block right after a line "<!-- file: NAME -->" is written to
# NAME first. The commands run one by one with bash, in a scratch
# directory holding copies of WASM_DIR/*.wasm, with BIN_DIR first on the
# PATH, as a reader would run them.
set -eu
guide=$1 bin=$2 wasm=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/work" "$tmp/t"
cp "$wasm"/*.wasm "$tmp/work/"

awk -v t="$tmp/t" -v work="$tmp/work" '
	/^<!-- file: .* -->$/ { name = $3; next }
	/^```c$/ && name != "" { file = work "/" name; name = ""; next }
	/^```console$/ { console = 1; next }
	/^```/ { file = ""; console = 0; name = ""; next }
	file != "" { print > file; next }
	console && /^\$ / {
		n++
		printf "%s\n", substr($0, 3) > (t "/cmd." n)
		print NR > (t "/line." n)
		printf "" > (t "/exp." n)
		next
	}
	console && n { print >> (t "/exp." n) }
' "$guide"

# Does the output (file 2) match the expected lines (file 1)? "..." in
# the expected lines matches any number of output lines.
matches() {
	awk '
		FNR == NR { e[++ne] = $0; next }
		{ a[++na] = $0 }
		function m(i, j,    k) {
			if (i > ne)
				return j > na
			if (e[i] == "...") {
				for (k = j; k <= na + 1; k++)
					if (m(i + 1, k))
						return 1
				return 0
			}
			return j <= na && e[i] == a[j] && m(i + 1, j + 1)
		}
		END { exit m(1, 1) ? 0 : 1 }
	' "$1" "$2"
}

status=0
n=0
while [ -e "$tmp/t/cmd.$((n + 1))" ]; do
	n=$((n + 1))
	cmd=$(cat "$tmp/t/cmd.$n")
	(cd "$tmp/work" && PATH="$bin:$PATH" timeout 300 bash -c "$cmd") \
		</dev/null >"$tmp/t/out.$n" 2>&1 || true
	if ! matches "$tmp/t/exp.$n" "$tmp/t/out.$n"; then
		echo "$guide:$(cat "$tmp/t/line.$n"): \$ $cmd" >&2
		echo "  expected:" >&2
		sed 's/^/    /' "$tmp/t/exp.$n" >&2
		echo "  got:" >&2
		sed 's/^/    /' "$tmp/t/out.$n" >&2
		status=1
	fi
done
[ "$n" -gt 0 ] || { echo "$guide: no commands found" >&2; exit 1; }
[ "$status" = 0 ] && echo "$guide: $n commands, all as shown"
exit $status
