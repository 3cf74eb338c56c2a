#!/usr/bin/env bash
# The million-instance benchmark: what an instance costs, what a switch
# costs, how long slices are, how fair and how parallel the scheduler is,
# and the same workload in node's V8 beside it.
#
#   bench/million/run.sh BUILD_DIR        (run by `make bench`)
#
# Environment:
#   RUNS=N          runs of each `myriad run` at 1K and 100K instances
#                   (default 3); the median of each figure is reported
#   MILLION=0       skip everything at a million instances (the 1M runs
#                   take minutes); otherwise the big runs use 1,000,000
#                   instances, or fewer if the memory available is short,
#                   and say so
#   MILLION_RUNS=N  runs at a million (default 1)
#   MILLION_N=N     instances in the big run instead of 1,000,000 (e.g. to
#                   leave memory to other work on a shared machine)
#   SWITCH_SLICES=N slices of work per way in the switch program (4000000)
#   V8=0            skip node
#   V8_SECONDS=S    most seconds V8 may spend creating instances (90)
#   UPDATE_DOCS=0   don't rewrite the million section of docs/performance.md
#   WORK=DIR        keep the raw results in DIR (default: a temporary
#                   directory, removed at the end); a part whose result
#                   file is already there is not run again, so deleting
#                   some files of DIR and running again redoes just those
#                   parts (e.g. the big run after memory was short)
#
# Every `myriad run` must produce the results' sum demo/expect computes;
# a wrong sum, a failure or a trap makes this script exit 1 at the end.
# Results: tables on stdout, BUILD_DIR/bench/million/results.json, and
# docs/performance.md between <!-- million:begin --> and <!-- million:end -->.
set -uo pipefail

. "$(dirname "$0")/../common.sh"
bench_args "$@"
out=$build/bench/million
runs=${RUNS:-3}
million=${MILLION:-1}
million_runs=${MILLION_RUNS:-1}
million_n=${MILLION_N:-1000000}
switch_slices=${SWITCH_SLICES:-4000000}
v8=${V8:-1}
v8_seconds=${V8_SECONDS:-90}
command="$(for v in RUNS MILLION MILLION_RUNS MILLION_N SWITCH_SLICES V8 V8_SECONDS; do [ -n "${!v:-}" ] && printf '%s=%s ' "$v" "${!v}"; done)bench/million/run.sh $1"

for f in "$build/myriad" "$build/demo/fill.wasm" "$build/demo/expect" "$out/switch" \
  "$out/spin.wasm" "$out/fill-64k.wasm" "$out/touch.wasm"; do
  [ -e "$f" ] || die "$f missing: build first (make, or cmake --build $1)"
done
command -v node >/dev/null || die "node not found (the report needs it)"

if [ -n "${WORK:-}" ]; then
  mkdir -p "$WORK" && work=$(cd "$WORK" && pwd) || die "cannot use WORK=$WORK"
  rm -f "$work/problems"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
bad=0
# Other work on this 2-core machine skews every time: the load average is
# recorded as each part starts.
# note_load PART [RESULT_FILE...]: a part whose result files are all kept
# from an earlier pass (WORK) keeps the load noted when it ran.
ran_any=
note_load() {
  local part=$1 f kept=1
  shift
  [ $# -gt 0 ] || kept=
  for f in "$@"; do [ -s "$work/$f" ] || kept=; done
  [ -n "$kept" ] && return
  [ "$part" = end ] && [ -z "$ran_any" ] && return
  ran_any=1
  touch "$work/load.tsv"
  awk -F'\t' -v p="$part" '$1 != p' "$work/load.tsv" >"$work/load.tmp"
  printf '%s\t%s\n' "$part" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/load.tmp"
  mv "$work/load.tmp" "$work/load.tsv"
}
mem_available() {
  awk '/^MemAvailable:/ { printf "%.0f\n", $2 * 1024 }' /proc/meminfo
}

# demo/expect's sum for n instances; deterministic, so kept in the build
# tree (a million takes it several seconds).
expect_sum() {
  local f=$out/expect-$1.txt
  [ -s "$f" ] || "$build/demo/expect" "$1" >"$f"
  cat "$f"
}

# --- how many is "a million" on this machine --------------------------------

# A fill.wasm instance is 16 KiB of memory plus under 1 KiB of the rest;
# 17 KiB each and 1.5 GiB for everything else keep a run clear of the OOM
# killer (there is no swap). Rounded down to thousands.
big=0
big_note=
if [ "$million" != 0 ]; then
  fits=$((($(mem_available) - 3 * 1024 ** 3 / 2) / (17 * 1024) / 1000 * 1000))
  big=$million_n
  if [ "$fits" -lt "$big" ]; then
    big=$fits
    big_note="scaled down from $million_n to $big: $(($(mem_available) / 1024 ** 2)) MiB available"
    echo "== $big_note"
  fi
  [ "$big" -gt 100000 ] || { big=0; big_note="skipped: not enough memory for more than 100K instances"; }
fi
sizes=(1000 100000)
[ "$big" -gt 0 ] && sizes+=("$big")

# --- 1. myriad run: spawn, overhead, slices, fairness; 1 and 2 workers -----

# myriad_run N THREADS R: one run, its JSON kept as fill-N-tTHREADS-R.json.
myriad_run() {
  local n=$1 t=$2 r=$3 json=$work/fill-$1-t$2-$3.json
  if [ -s "$json" ] && grep -q "^$n	$t	$r	ok$" "$work/fill.tsv" 2>/dev/null; then
    echo "   (kept) myriad run fill.wasm --instances $n --threads $t   (run $r)"
    return
  fi
  sed -i "/^$n	$t	$r	/d" "$work/fill.tsv" 2>/dev/null
  echo "   myriad run fill.wasm --instances $n --threads $t   (run $r)"
  "$build/myriad" run "$build/demo/fill.wasm" --instances "$n" --invoke run \
    --threads "$t" --json >"$json" 2>"$work/err" </dev/null
  local rc=$? want got
  want=$(expect_sum "$n")
  # JSON numbers that big lose precision in JavaScript: compare the text.
  got=$(grep -o '"results_sum":[0-9]*' "$json" | cut -d: -f2)
  if [ $rc -ne 0 ] || [ "$got" != "$want" ]; then
    echo "!! myriad run --instances $n --threads $t: exit $rc, sum ${got:-none}, expected $want: $(head -c 300 "$work/err")" | tee -a "$work/problems" >&2
    bad=1
  fi
  printf '%s\t%s\t%s\t%s\n' "$n" "$t" "$r" "$([ "$got" = "$want" ] && echo ok || echo wrong)" >>"$work/fill.tsv"
}

big_runs=
[ "$big" -gt 0 ] && big_runs=", $million_runs at $big on 2"
echo "== myriad run fill.wasm: $runs runs at 1K and 100K instances on 2 workers, $runs at 100K on 1$big_runs"
for n in "${sizes[@]}"; do expect_sum "$n" >/dev/null; done
small_files=()
for r in $(seq "$runs"); do small_files+=("fill-1000-t2-$r.json" "fill-100000-t2-$r.json" "fill-100000-t1-$r.json"); done
note_load "myriad run" "${small_files[@]}"
for r in $(seq "$runs"); do
  myriad_run 1000 2 "$r"
  myriad_run 100000 2 "$r"
  myriad_run 100000 1 "$r"
done
if [ "$big" -gt 0 ]; then
  # Other programs may have taken memory since: look again.
  fits=$((($(mem_available) - 3 * 1024 ** 3 / 2) / (17 * 1024) / 1000 * 1000))
  if [ "$fits" -lt "$big" ] && [ "$fits" -gt 100000 ]; then
    big_note="scaled down from $million_n to $fits: $(($(mem_available) / 1024 ** 2)) MiB available when the big run started"
    big=$fits
    echo "== $big_note"
    expect_sum "$big" >/dev/null
  fi
  big_files=()
  for r in $(seq "$million_runs"); do big_files+=("fill-$big-t2-$r.json"); done
  note_load "myriad run $big" "${big_files[@]}"
  for r in $(seq "$million_runs"); do myriad_run "$big" 2 "$r"; done
fi

# --- 2. switch cost, from outside the scheduler -----------------------------

# The fuel per slice is measured once (at N = 1) and used at every N, so
# that every row does the same slices.
echo "== switch cost (bench/million/switch.c)"
switch_sizes=(1 1000 100000)
[ "$million" != 0 ] && switch_sizes+=(1000000)
switch_files=()
for n in "${switch_sizes[@]}"; do switch_files+=("switch-$n.json"); done
note_load "switch" "${switch_files[@]}"
fuel=
for n in "${switch_sizes[@]}"; do
  if [ -s "$work/switch-$n.json" ]; then
    echo "   (kept) switch --instances $n"
  else
    echo "   switch --instances $n"
  fi
  if [ -s "$work/switch-$n.json" ] || "$out/switch" "$out/spin.wasm" --instances "$n" --slices "$switch_slices" ${fuel:+--fuel "$fuel"} \
    >"$work/switch-$n.json" 2>"$work/err" </dev/null; then
    [ -n "$fuel" ] || fuel=$(grep -o '"fuel_per_slice": [0-9]*' "$work/switch-$n.json" | grep -o '[0-9]*$')
  else
    echo "!! switch --instances $n failed: $(head -c 300 "$work/err")" | tee -a "$work/problems" >&2
    rm -f "$work/switch-$n.json"
    bad=1
  fi
done

# --- 3. node's V8 -------------------------------------------------------------

# Each mode in a child process of its own, with a heap limit, an RSS cap
# that leaves 3 GiB to the rest of the machine, and a time limit.
if [ "$v8" != 0 ]; then
  v8_max=1000000
  [ "$million" = 0 ] && v8_max=100000
  cap=$((16 * 1024 ** 3))
  room=$(($(mem_available) - 3 * 1024 ** 3))
  [ "$room" -lt "$cap" ] && cap=$room
  for mode in default no-trap-handler; do
    flags=(--max-old-space-size=16384)
    [ "$mode" = no-trap-handler ] && flags+=(--disable-wasm-trap-handler)
    if [ -s "$work/v8-$mode.json" ] && [ -s "$work/v8-$mode.check" ]; then
      echo "== (kept) V8 ($mode)"
      continue
    fi
    echo "== V8 ($mode): node ${flags[*]} bench/million/v8.mjs (up to $v8_max instances, ${v8_seconds}s)"
    note_load "V8 $mode"
    printf '%s\n' "${flags[*]}" >"$work/v8-$mode.flags"
    if timeout $((v8_seconds + 900)) node "${flags[@]}" "$here/v8.mjs" "$out/fill-64k.wasm" "$out/touch.wasm" \
      --max "$v8_max" --rss-cap "$cap" --seconds "$v8_seconds" >"$work/v8-$mode.json" 2>"$work/err" </dev/null; then
      n=$(grep -o '"instances":[0-9]*' "$work/v8-$mode.json" | head -n1 | cut -d: -f2)
      got=$(grep -o '"results_sum":"[0-9]*"' "$work/v8-$mode.json" | grep -o '[0-9]\+')
      want=$(expect_sum "$n")
      if [ "$got" != "$want" ]; then
        echo "!! V8 $mode: results' sum $got for $n instances, expected $want" | tee -a "$work/problems" >&2
        bad=1
      fi
      echo "$([ "$got" = "$want" ] && echo ok || echo wrong)" >"$work/v8-$mode.check"
    else
      echo "!! V8 $mode: node failed: $(tail -c 400 "$work/err")" | tee -a "$work/problems" >&2
      printf '{"failed": %s}\n' "$(tail -c 300 "$work/err" | node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0, "utf8")))')" >"$work/v8-$mode.json"
    fi
  done
fi
note_load "end"

# --- report -----------------------------------------------------------------

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: *//')
ram=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1024 / 1024 }' /proc/meminfo)
swap=$(awk '/^SwapTotal:/ { printf "%.1f GiB", $2 / 1024 / 1024 }' /proc/meminfo)
node "$here/report.mjs" \
  --work "$work" --out "$out/results.json" --root "$root" \
  --docs "$([ "${UPDATE_DOCS:-1}" = 0 ] || echo "$root/docs/performance.md")" \
  --command "$command" --runs "$runs" --million-runs "$million_runs" \
  --big "$big" --big-note "$big_note" --v8-seconds "$v8_seconds" \
  --nproc "$(nproc)" --cpu "$cpu" --ram "$ram" --swap "$swap" \
  --kernel "$(uname -r)" \
  --myriad-version "$("$build/myriad" --version 2>/dev/null | head -n1)" \
  --commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD -- src include cli 2>/dev/null || echo ' (with uncommitted changes)')" \
  --node-version "$(node --version)" \
  --clang-version "$(clang-19 --version 2>/dev/null | head -n1)" || bad=1

if [ -s "$work/problems" ]; then
  echo >&2
  echo "!!!!!!!! problems:" >&2
  cat "$work/problems" >&2
fi
exit $bad
