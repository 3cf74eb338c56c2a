#!/usr/bin/env bash
# The myriad command line: exit statuses, help, error messages, WASI
# programs' arguments, environment, directories and output, --instances,
# --fuel, inspect. Run by ctest as
#
#   tests/cli/cli.sh MYRIAD WASM_DIR
#
# where WASM_DIR holds the test modules (tests/wat, tests/wasi).
set -u
myriad=$1
wasm=$2
tmp=$(mktemp -d /tmp/myr-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# run EXPECTED_STATUS ARGS...: runs myriad, keeps stdout and stderr in
# $tmp/out and $tmp/err, checks the exit status.
run() {
	local want=$1
	shift
	"$myriad" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local got=$?
	if [ "$got" != "$want" ]; then
		fail "myriad $*: exit $got, expected $want; stderr: $(head -c 300 "$tmp/err")"
	fi
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
	grep -qF -- "$2" "$tmp/$1" || fail "$1 of the last run lacks \"$2\": $(head -c 300 "$tmp/$1")"
}

lacks() {
	! grep -qF -- "$2" "$tmp/$1" || fail "$1 of the last run has \"$2\""
}

# lines FILE N: FILE has exactly N lines.
lines() {
	local n
	n=$(wc -l <"$tmp/$1")
	[ "$n" -eq "$2" ] || fail "$1 has $n lines, expected $2"
}

ops=$wasm/wasi_ops.wasm
hello=$wasm/wasi_hello.wasm

# --- help, version, usage errors -------------------------------------
run 0 --help
for opt in --invoke --dir --env --fuel --instances --threads --slice \
	--duration --max-memory --max-stack --json --help --version; do
	has out "$opt"
done
for cmd in "myriad run" "myriad validate" "myriad inspect"; do
	has out "$cmd"
done
for status in "  0 " "  1 " "  2 " "  130 " "  N "; do
	has out "$status"
done
run 0 run --help
for opt in --invoke --dir --env --fuel --instances --threads --slice \
	--duration --max-memory --max-stack --json; do
	has out "$opt"
done
has out "Exit status"
run 0 inspect --help
has out "--json"
has out "print the listing as one JSON object"
lacks out "how the run ended"
lacks out "--instances"
has out "Exit status"
run 0 validate --help
lacks out "--json"
has out "Exit status"
# Each command's --help lists exactly the options it accepts.
all_options="--invoke --dir --env --fuel --instances --threads --slice
	--duration --max-memory --max-stack --json --help --version"
for cmd in run validate inspect; do
	"$myriad" $cmd --help >"$tmp/help" 2>&1
	for opt in $all_options; do
		"$myriad" $cmd "$opt" "$tmp/missing.wasm" x </dev/null \
			>/dev/null 2>"$tmp/opterr"
		accepted=yes
		grep -qF -- "unknown option $opt" "$tmp/opterr" && accepted=no
		listed=no
		grep -q -- "^  $opt\( \|\$\)" "$tmp/help" && listed=yes
		[ $accepted = $listed ] ||
			fail "$cmd --help: $opt listed: $listed, accepted: $accepted"
	done
done
run 0 --version
has out "myriad "
run 2
run 2 frobnicate
has err "unknown command"
run 2 run
has err "no module given"
run 2 run "$tmp/missing.wasm"
has err "cannot read"
lines err 1
printf 'not wasm' >"$tmp/bad.wasm"
run 2 run "$tmp/bad.wasm"
lines err 1
run 2 validate "$tmp/bad.wasm"
run 0 validate "$hello"
has out "valid"
run 2 run --fuel 0 "$ops" clock
has err "bad value for --fuel"
run 2 run "$ops" args --foo
has err "unknown option --foo"
has err "after --"

# --- link errors name the import --------------------------------------
run 2 run "$wasm/wasi_unknown.wasm"
has err "no_such_function"
lines err 1
run 2 run "$wasm/wasi_badtype.wasm"
has err "wasi_snapshot_preview1.fd_write"
run 2 run "$wasm/wasi_mixed.wasm" --invoke run
has err "env.add"
# A module without _start is not a command.
run 2 run "$wasm/pause.wasm"
has err "_start"

# --- exit statuses ----------------------------------------------------
run 0 run "$ops" clock
run 7 run "$ops" exit 7
lines err 0
run 0 run "$ops" exit 0
run 1 run "$ops" exit 1
lines err 0 # the program's own 1: nothing said
run 1 run "$ops" trap
has err "trap: unreachable"
lines err 1
run 0 run --invoke fib "$wasm/pause.wasm" 10
has out "i32:55"
run 2 run --invoke nope "$wasm/pause.wasm"
has err "no exported function"

# --- --json for one run ----------------------------------------------
run 0 run --json --invoke fib "$wasm/pause.wasm" 10
has out '{"status":"returned","results":[{"type":"i32","value":"55"}]}'
lines out 1
run 1 run --json --fuel 1000 --invoke fib "$wasm/pause.wasm" 30
has out '{"status":"trapped","trap":"fuel exhausted (--fuel 1000)"}'
has err "trap: fuel exhausted"
# A command's stdout is the program's: the object goes to stderr.
run 0 run --json "$ops" args a
has out "arg a"
lacks out "status"
has err '{"status":"returned","exit_code":0}'
run 7 run --json "$ops" exit 7
has err '{"status":"exited","exit_code":7}'
run 1 run --json "$ops" trap
has err '{"status":"trapped","trap":"unreachable'
# An error before the run starts is the usual message, no JSON.
run 2 run --json --invoke nope "$wasm/pause.wasm"
lacks out "status"
lines err 1

# --- arguments and environment ---------------------------------------
run 0 run "$ops" -- args --foo -x ""
has out "arg $ops"
has out "arg args"
has out "arg --foo"
has out "arg -x"
lines out 5
run 0 run "$ops" args -7 plain
has out "arg -7"
has out "arg plain"
HOME_WAS_PASSED=no MYR_FROM_HOST=hostvalue run 0 run --env A=1 --env "B=two words" \
	--env MYR_FROM_HOST --env MYR_UNSET_VAR "$ops" args
has out "env A=1"
has out "env B=two words"
has out "env MYR_FROM_HOST=hostvalue"
lacks out "MYR_UNSET_VAR"
lacks out "HOME_WAS_PASSED"
lacks out "PATH="

# --- directories ------------------------------------------------------
mkdir -p "$tmp/box" "$tmp/outside"
echo inside >"$tmp/box/in.txt"
echo secret >"$tmp/outside/secret"
ln -s ../outside/secret "$tmp/box/evil"
run 0 run --dir "$tmp/box" "$ops" read in.txt
has out "inside"
run 0 run --dir "$tmp/box::/data" "$ops" read in.txt
has out "inside"
run 76 run --dir "$tmp/box" "$ops" read ../outside/secret
lacks out "secret"
run 76 run --dir "$tmp/box" "$ops" read evil
run 76 run --dir "$tmp/box" "$ops" create ../outside/new
[ ! -e "$tmp/outside/new" ] || fail "create ../outside/new escaped"
run 0 run --dir "$tmp/box::." "$ops" fs
has out "fs ok"
run 2 run --dir "$tmp/nonexistent" "$ops" clock
has err "nonexistent"
lines err 1

# --- fuel -------------------------------------------------------------
run 0 run --fuel 100000000 "$ops" yield 10
run 1 run --fuel 1000 --invoke fib "$wasm/pause.wasm" 30
has err "fuel exhausted"
run 0 run --fuel 100000 --invoke fib "$wasm/pause.wasm" 10
has out "i32:55"
run 0 run --fuel 100000000 "$ops" sleep 20

# --- many instances ---------------------------------------------------
n=2000
"$myriad" run --instances $n --threads 2 "$hello" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] || fail "--instances $n: exit status"
lines out $n
[ "$(sort -u "$tmp/out" | wc -l)" -eq $n ] || fail "--instances: lines repeated"
for i in 0 1 999 $((n - 1)); do
	has out "hello from instance $i of $n"
done
has err "$n succeeded"
# The same through a pipe.
got=$("$myriad" run --instances $n "$hello" 2>/dev/null | sort -u | grep -c "^hello from instance [0-9]* of $n\$")
[ "$got" -eq $n ] || fail "--instances through a pipe: $got whole lines, expected $n"
run 3 run --instances 5 "$ops" exit 3
has err "0 succeeded, 5 exited non-zero, 0 trapped"
# A command has no results to sum: its summary gives exit codes instead.
has err "exit codes  0 zero, 5 non-zero (lowest-numbered: instance 0, exit code 3)"
lacks err "results"
run 0 run --instances 5 "$ops" clock
has err "exit codes  5 zero, 0 non-zero"
lacks err "results"
run 1 run --instances 5 "$ops" trap
has err "first trap"
has err "0 succeeded, 0 exited non-zero, 5 trapped"
# An exit is not a trap: the JSON counts them apart.
run 3 run --instances 5 --json "$ops" exit 3
has err '"exited":5,"trapped":0,"exited_zero":0,"exited_nonzero":5'
run 0 run --instances 5 --json "$ops" exit 0
has err '"exited":5,"trapped":0,"exited_zero":5,"exited_nonzero":0'
run 1 run --instances 5 --json "$ops" trap
has err '"exited":0,"trapped":5'
run 0 run --instances 5 --json "$ops" clock
has err '"completed":5'
run 0 run --instances 4 --invoke fib "$wasm/pause.wasm"
has out "4 instances"

# A stopped run reports how many slices its unfinished instances got,
# after --duration and after Ctrl-C alike.
spin=$wasm/work.wasm
run 0 run --instances 8 --threads 2 --duration 300ms --json --invoke spin "$spin"
has out '"stopped":true'
min=$(grep -o '"slices_per_instance_min":[0-9]*' "$tmp/out" | cut -d: -f2)
[ "${min:-0}" -gt 0 ] || fail "--duration: slices_per_instance_min ${min:-missing}"
run 0 run --instances 8 --threads 2 --duration 300ms --invoke spin "$spin"
has out "(stopped before the end)"
has out "8 left"
lacks out "fairness    0..0"
"$myriad" run --instances 8 --threads 2 --invoke spin "$spin" >"$tmp/out" 2>"$tmp/err" </dev/null &
pid=$!
# SIGINT counts once myriad has its handler: repeat until it ends.
for _ in $(seq 40); do
	sleep 0.5
	kill -INT $pid 2>/dev/null || break
done
wait $pid
status=$?
[ $status -eq 130 ] || fail "SIGINT: exit $status, expected 130"
has out "(stopped before the end)"
lacks out "fairness    0..0"

# A reactor's _initialize runs before the export, in every instance.
run 0 run --invoke answer "$wasm/wasi_reactor.wasm" 2
has out "i32:42"
run 0 run --instances 3 --invoke answer "$wasm/wasi_reactor.wasm"
has out "sum 126" # 3 x 40 + (0 + 1 + 2) as argument and as MYRIAD_INSTANCE

# --- inspect ----------------------------------------------------------
run 0 inspect "$hello"
has out "func   wasi_snapshot_preview1.fd_write (i32, i32, i32, i32) -> (i32)"
has out "func   _start () -> ()"
has out "memories: 1"
has out "pages of 65536 bytes"
has out "functions:"
has out "code:"
has out "custom sections:"
run 0 inspect --json "$wasm/wasi_mixed.wasm"
has out '"module":	"env"'
has out '"name":	"add"'
has out '"page_size":	65536'
has out '"code_size":'
run 2 inspect "$tmp/bad.wasm"

# --- tiers, compile, the code cache ------------------------------------
pause=$wasm/pause.wasm
run 2 run --tier fast "$pause" --invoke fib 10
has err 'bad value for --tier'
if "$myriad" run --tier compiled --no-cache "$pause" --invoke fib 1 >/dev/null 2>&1; then
	run 0 run --tier compiled --no-cache "$pause" --invoke fib 20
	has out 'i32:6765'
	run 0 compile "$pause" -o "$tmp/pause.myrc"
	has out 'functions compiled'
	run 0 run --code "$tmp/pause.myrc" "$pause" --invoke fib 20
	has out 'i32:6765'
	lacks err 'refused'
	# A damaged file is refused, with the reason, and the run goes on.
	head -c 200 "$tmp/pause.myrc" >"$tmp/short.myrc"
	run 0 run --code "$tmp/short.myrc" "$pause" --invoke fib 20
	has err 'refused (corrupt or truncated'
	has out 'i32:6765'
	run 0 run --code "$tmp/pause.myrc" "$ops" exit 0
	has err 'compiled from a different module'
	# The cache: the first compiled run writes it, the next reads it.
	MYRIAD_CACHE_DIR=$tmp/cache run 0 run --tier compiled "$pause" --invoke fib 20
	[ "$(ls "$tmp/cache" | wc -l)" = 1 ] || fail "the code cache has no file"
	for f in "$tmp"/cache/*; do printf 'garbage' >"$f"; done
	MYRIAD_CACHE_DIR=$tmp/cache run 0 run --tier compiled "$pause" --invoke fib 20
	has err 'not a myriad code file'
	has out 'i32:6765'
	MYRIAD_CACHE=off MYRIAD_CACHE_DIR=$tmp/cache2 run 0 run --tier compiled "$pause" --invoke fib 20
	[ ! -e "$tmp/cache2" ] || fail "MYRIAD_CACHE=off wrote a cache"
else
	run 2 run --tier compiled "$pause" --invoke fib 1
	has err 'without the compiler tier'
fi

if [ $failures -ne 0 ]; then
	echo "$failures CLI check(s) failed" >&2
	exit 1
fi
echo "cli: all checks passed"
