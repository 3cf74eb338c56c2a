#!/usr/bin/env bash
# Spec conformance: converts the WebAssembly spec tests to JSON with wabt's
# wast2json, runs tests/spec/runner on every file, prints one line per file
# and writes docs/conformance.md.
#
#   tests/spec/conformance.sh [--report FILE] [--tier TIER] BUILD_DIR
#
# --tier runs every module in that tier (MYRIAD_TIER: interp, compiled,
# mixed, auto); its logs and results get the tier in their names, so runs
# in different tiers can be compared file by file.
#
# Three groups of files:
#   (a) wasm-2.0   the Wasm 2.0 release suite, wasm-2.0/*.wast without simd/,
#                  run with --features 2.0
#   (b) tail-call  return_call.wast and return_call_indirect.wast from the
#                  3.0 suite, run with --features 3.0
#   (c) wasm-3.0   the rest of the 3.0 suite's top level (not simd/, legacy/,
#                  custom/) plus core-shadowed/memory_grow.wast, --features
#                  3.0; a file whose feature myriad lacks is skipped unrun
# (a) and (b) are the target: the script exits 1 if any of their files has
# a failure. Failures in (c) are listed but do not fail the script. The last
# line is the target's total, "conformance: N passed, M failed, K skipped".
#
# Environment: MYR_TESTSUITE (the suite, default ../shared/wasm-testsuite
# beside the project),
# MYR_SPEC_TIMEOUT (seconds per file, default 600), JOBS (default nproc).
set -euo pipefail

# Feature groups (the manifest's "feature" column) that myriad implements.
# A group-(c) file runs only if every part of its feature ("a+b") is here.
IMPLEMENTED="MVP reference-types bulk-memory tail-call"

# ---------------------------------------------------------------------------
# One file: convert if needed, run, write one result record. Runs in
# parallel, invoked by the main script below as `conformance.sh --job LINE`.

# The record: group, file, status, passed, failed, skipped, notes (TSV).
# status is ok, fail, error (the runner did not finish cleanly) or skip.
record() {
	local IFS=$'\t'
	printf '%s\n' "$*" >"$RESULTS/$idx.tsv"
}

job() {
	IFS=$'\t' read -r idx group file features flags action cmds <<<"$1"
	if [ "$action" != run ]; then
		record "$group" "$file" skip 0 0 "$cmds" "${action#skip:}"
		return
	fi
	local wast="$SUITE/$file" json="$OUT/${file%.wast}.json"
	local log="$OUT/${file%.wast}$SUFFIX.log"
	mkdir -p "$(dirname "$json")"
	if [ ! "$json" -nt "$wast" ]; then
		[ "$flags" = none ] && flags=
		# Relative input path: messages then read "wasm-2.0/i32.wast:12".
		# shellcheck disable=SC2086 # flags is a list of options
		if ! (cd "$SUITE" && wast2json $flags "$file" -o "$json") \
			>"$log" 2>&1; then
			rm -f "$json"
			record "$group" "$file" error 0 1 0 "wast2json failed"
			return
		fi
	fi
	local rc=0
	timeout "$TIMEOUT" "$RUNNER" -v --features "$features" "$json" \
		>"$log" 2>&1 || rc=$?
	local re='^.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped( \((.*)\))?$'
	local line p=0 f=0 s=0 why=""
	line=$(grep -E "$re" "$log" | tail -n 1 || true)
	if [[ $line =~ $re ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} s=${BASH_REMATCH[3]}
		why=${BASH_REMATCH[5]}
	fi
	# A crash, a sanitizer report (ASan exits 1, like a failed test) or a
	# timeout: the file's counts cannot be trusted, so it gets one more
	# failure.
	local what=
	if grep -qE '^(==[0-9]+==ERROR: [A-Za-z]+Sanitizer|SUMMARY: [A-Za-z]+Sanitizer)|runtime error: ' "$log"; then
		what="sanitizer report"
	elif [ "$rc" = 124 ]; then
		what="runner timed out after ${TIMEOUT}s"
	elif [ "$rc" -gt 128 ]; then
		what="runner killed by signal $((rc - 128))"
	elif [ "$rc" -gt 1 ] || [ -z "$line" ]; then
		what="runner exited with status $rc"
	fi
	if [ -n "$what" ]; then
		record "$group" "$file" error "$p" "$((f + 1))" "$s" \
			"$what${why:+; $why}"
	elif [ "$rc" = 0 ]; then
		record "$group" "$file" ok "$p" "$f" "$s" "$why"
	else
		record "$group" "$file" fail "$p" "$f" "$s" "$why"
	fi
}

# Logs and results of a run in a chosen tier are kept apart.
SUFFIX=${MYRIAD_TIER:+.$MYRIAD_TIER}
export SUFFIX

if [ "${1:-}" = --job ]; then
	job "$2"
	exit 0
fi

# ---------------------------------------------------------------------------
# The main script: plan the jobs, run them in parallel, report in order.

usage() {
	echo "usage: $0 [--report FILE] [--tier TIER] BUILD_DIR" >&2
	exit 2
}

self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
root=$(cd "$(dirname "$0")/../.." && pwd)
report="$root/docs/conformance.md"
build=
while [ $# -gt 0 ]; do
	case "$1" in
	--report)
		[ $# -ge 2 ] || usage
		report=$2
		shift 2
		;;
	--tier)
		[ $# -ge 2 ] || usage
		export MYRIAD_TIER=$2
		shift 2
		;;
	-*) usage ;;
	*)
		[ -z "$build" ] || usage
		build=$1
		shift
		;;
	esac
done
[ -n "$build" ] || usage
SUFFIX=${MYRIAD_TIER:+.$MYRIAD_TIER}
export SUFFIX
[ -z "$SUFFIX" ] || report="${report%.md}$SUFFIX.md"

SUITE=${MYR_TESTSUITE:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/wasm-testsuite}
TIMEOUT=${MYR_SPEC_TIMEOUT:-600}
RUNNER="$(cd "$build" && pwd)/tests/spec/runner"
OUT="$(cd "$build" && pwd)/spec"
RESULTS="$OUT/.results$SUFFIX"
export SUITE TIMEOUT RUNNER OUT RESULTS

[ -f "$SUITE/manifest.tsv" ] || {
	echo "conformance: no test suite at $SUITE (set MYR_TESTSUITE)" >&2
	exit 2
}
[ -x "$RUNNER" ] || {
	echo "conformance: $RUNNER not built (make build)" >&2
	exit 2
}
command -v wast2json >/dev/null || {
	echo "conformance: wast2json not found (apt-get install wabt)" >&2
	exit 2
}

# Why wast2json cannot convert a file: the "note" column of the README's
# per-file tables, keyed by the file's path in the suite.
declare -A NOTE
while IFS=$'\t' read -r key note; do
	NOTE[$key]=$note
done < <(awk -F'|' '
	/^## / {
		sec = "x"
		if ($0 ~ /^## Summary: wasm-2.0/) sec = "wasm-2.0/"
		if ($0 ~ /^## Per-file table/) sec = ""
		next
	}
	sec != "x" && $2 ~ /\.wast/ {
		f = $2; n = $(NF - 1)
		gsub(/^ +| +$/, "", f); gsub(/^ +| +$/, "", n)
		print sec f "\t" n
	}' "$SUITE/README.md")

implemented() {
	local part
	IFS='+' read -ra parts <<<"$1"
	for part in "${parts[@]}"; do
		part=${part%% (*}
		[[ " $IMPLEMENTED " == *" $part "* ]] || return 1
	done
}

# Prints one job line: idx group file features flags action commands.
plan_row() {
	local group=$1 path=$2 feature=$3 conv=$4 flags=$5 cmds=$6 features=$7
	local action=run
	if [ "$group" = wasm-3.0 ] && ! implemented "$feature"; then
		action="skip:feature $feature not implemented"
	elif [ "$conv" != yes ]; then
		action="skip:wast2json 1.0.32 cannot convert: ${NOTE[$path]:-see the suite README}"
	fi
	printf '%04d\t%s\t%s\t%s\t%s\t%s\t%s\n' "$njobs" "$group" "$path" \
		"$features" "$flags" "$action" "$cmds"
	njobs=$((njobs + 1))
}

plan() {
	local file feature conv flags cmds rest
	njobs=0
	while IFS=$'\t' read -r file feature conv flags cmds rest; do
		[[ $file == simd/* ]] && continue
		plan_row wasm-2.0 "wasm-2.0/$file" "$feature" "$conv" "$flags" \
			"$cmds" 2.0
	done < <(tail -n +2 "$SUITE/wasm-2.0/manifest.tsv")
	for file in return_call.wast return_call_indirect.wast; do
		IFS=$'\t' read -r file feature conv flags cmds rest \
			< <(grep -P "^$file\t" "$SUITE/manifest.tsv")
		plan_row tail-call "$file" "$feature" "$conv" "$flags" "$cmds" 3.0
	done
	while IFS=$'\t' read -r file feature conv flags cmds rest; do
		case "$file" in
		simd/* | legacy/* | custom/*) continue ;;
		return_call.wast | return_call_indirect.wast) continue ;;
		esac
		plan_row wasm-3.0 "$file" "$feature" "$conv" "$flags" "$cmds" 3.0
	done < <(tail -n +2 "$SUITE/manifest.tsv")
}

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
plan >"$OUT/jobs$SUFFIX.tsv"
njobs=$(wc -l <"$OUT/jobs$SUFFIX.tsv")
xargs -a "$OUT/jobs$SUFFIX.tsv" -d '\n' -n 1 -P "${JOBS:-$(nproc)}" "$self" --job
if [ "$(find "$RESULTS" -name '*.tsv' | wc -l)" -ne "$njobs" ]; then
	echo "conformance: some jobs left no result" >&2
	exit 2
fi
results=$(cat "$RESULTS"/*.tsv)

# ---------------------------------------------------------------------------
# Reporting.

declare -A P F S RUN SKIPPED
for g in wasm-2.0 tail-call wasm-3.0; do
	P[$g]=0 F[$g]=0 S[$g]=0 RUN[$g]=0 SKIPPED[$g]=0
done
target_bad=()
other_bad=()
while IFS=$'\t' read -r group file status p f s notes; do
	P[$group]=$((P[$group] + p))
	F[$group]=$((F[$group] + f))
	S[$group]=$((S[$group] + s))
	case "$status" in
	skip)
		SKIPPED[$group]=$((SKIPPED[$group] + 1))
		tag=SKIP
		;;
	ok) tag=PASS ;;
	*) tag=FAIL ;;
	esac
	[ "$status" = skip ] || RUN[$group]=$((RUN[$group] + 1))
	if [ "$tag" = FAIL ]; then
		if [ "$group" = wasm-3.0 ]; then
			other_bad+=("$file")
		else
			target_bad+=("$file")
		fi
	fi
	if [ "$status" = skip ]; then
		printf '%s %-9s %s: %s\n' "$tag" "$group" "$file" "$notes"
	else
		printf '%s %-9s %s: %d passed, %d failed, %d skipped%s\n' "$tag" \
			"$group" "$file" "$p" "$f" "$s" "${notes:+ ($notes)}"
	fi
done <<<"$results"

# The first failures of each failing target file, from its log.
for file in "${target_bad[@]}"; do
	log="$OUT/${file%.wast}$SUFFIX.log"
	echo "--- $file (full log: $log)"
	{
		grep -E '^[^ ]+:[0-9]+: ' "$log" |
			grep -v ': message mismatch: ' | head -n 10
		grep -E 'ERROR: [A-Za-z]+Sanitizer|runtime error: ' "$log" |
			head -n 3
	} 2>/dev/null || true
done

# The target's totals: groups (a) and (b).
TP=$((${P[wasm-2.0]} + ${P[tail-call]}))
TF=$((${F[wasm-2.0]} + ${F[tail-call]}))
TS=$((${S[wasm-2.0]} + ${S[tail-call]}))

total_row() {
	local g=$4
	printf '| %s | %s | %s | %d | %d | %d | %d | %d |' "$1" "$2" "$3" \
		"${P[$g]}" "${F[$g]}" "${S[$g]}" "${RUN[$g]}" "${SKIPPED[$g]}"
}

group_line() {
	printf '%d passed, %d failed, %d skipped; %d files run, %d skipped' \
		"${P[$1]}" "${F[$1]}" "${S[$1]}" "${RUN[$1]}" "${SKIPPED[$1]}"
}

write_report() {
	local commit
	commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -z "$(git -C "$root" status --porcelain 2>/dev/null)" ] ||
		commit="$commit + uncommitted changes"
	cat <<EOF
# Spec conformance

Generated by \`tests/spec/conformance.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')
at commit $commit, with wabt $(wast2json --version) \`wast2json\`.

Reproduce with \`make conformance\` (which runs
\`tests/spec/conformance.sh build\`); \`make test\` runs the same suite as the
ctest \`conformance\`. One file by hand:
\`build/tests/spec/runner -v --features 2.0 build/spec/wasm-2.0/i32.json\`.

The target is groups (a) and (b) with no failure. Group (c) is the rest of
the Wasm 3.0 suite: it shows how far myriad is from 3.0, and its failures do
not fail the run.

| group | what | features | passed | failed | skipped | files run | files skipped |
|---|---|---|---:|---:|---:|---:|---:|
$(total_row "(a) wasm-2.0" "Wasm 2.0 release suite \`wasm-2.0/*.wast\`, no SIMD" 2.0 wasm-2.0)
$(total_row "(b) tail-call" "\`return_call*.wast\` of the 3.0 suite" 3.0 tail-call)
| **target (a)+(b)** | | | **$TP** | **$TF** | **$TS** | | |
$(total_row "(c) wasm-3.0" "rest of the 3.0 top level + \`core-shadowed/memory_grow.wast\`" 3.0 wasm-3.0)

Counts are script commands (modules, actions and assertions; \`register\` is
not counted). Within a file that runs, "text-format" skips are
\`assert_malformed\`/\`assert_invalid\` of modules in the text format (they
test a WAT parser, which myriad does not have) and "simd" skips are
commands with v128 values. A file skipped whole counts its manifest's
command total as skipped. A runner that crashed, leaked or timed out counts
as one extra failure. Expected errors pass on their kind (load failure,
link error, trap, stack exhaustion); "message mismatches" count error
texts that differ from the script's, "kind mismatches" modules that were
malformed where the script says invalid or the reverse. Neither fails. Implemented feature groups (for group c): $IMPLEMENTED.

| file | group | passed | failed | skipped | notes |
|---|---|---:|---:|---:|---|
EOF
	while IFS=$'\t' read -r group file status p f s notes; do
		[ "$status" = skip ] && p=- f=-
		printf '| %s | %s | %s | %s | %s | %s |\n' "$file" "$group" "$p" \
			"$f" "$s" "${notes//|/\\|}"
	done <<<"$results"
}

mkdir -p "$(dirname "$report")"
write_report >"$report"

echo
echo "(a) wasm-2.0:  $(group_line wasm-2.0)"
echo "(b) tail-call: $(group_line tail-call)"
echo "(c) wasm-3.0:  $(group_line wasm-3.0) (not gating)"
if [ ${#other_bad[@]} -gt 0 ]; then
	echo "(c) files with failures (not gating): ${other_bad[*]}"
fi
if [ ${#target_bad[@]} -gt 0 ]; then
	echo "target files with failures: ${target_bad[*]}"
fi
echo "report: $report"
echo "conformance: $TP passed, $TF failed, $TS skipped"
[ ${#target_bad[@]} -eq 0 ]
