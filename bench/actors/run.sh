#!/usr/bin/env bash
# The actor benchmarks, myriad and BEAM side by side: the same workloads
# as a guest program (actors.c, run by `myriad run`) and as Erlang
# (actors.erl, run by `erl -noshell`).
#
#   bench/actors/run.sh BUILD_DIR        (run by `make bench`)
#
#   ring      N actors pass a token round M times (N = 1K, 100K, BIG):
#             ns per hop, the ring built beforehand
#   spawn     one actor spawns BIG children that each receive one message,
#             reply and end; twice, the second pass timed: us per spawn
#             (the spawning loop) and per child (until every reply is in)
#   pingpong  round trips between two actors: ns per round trip
#   fanin     BIG actors each send one message to one collector, after a go
#             signal spread through a 100-ary tree: messages per second
#             from the first go to the last message received
#   idle      actors blocked in receive: the process's RSS is sampled while
#             1K and BIG of them wait; bytes per actor from the difference,
#             minus the 4 KiB of linear memory each myriad actor has (the
#             benchmark module's whole memory, populated when it is taken)
#
# Environment:
#   RUNS=N          runs of each benchmark per engine (default 3); medians
#   BIG=N           the "million" (default 1,000,000, or fewer when the
#                   memory available is short, and the table says so)
#   ENGINES=a,b     myriad, beam (default both)
#   BENCHES=a,b     ring, spawn, pingpong, fanin, idle (default all)
#   MYRIAD_FLAGS=.. extra options for `myriad run` (e.g. --threads 2)
#   TIMEOUT=S       seconds one run may take (default 600)
#   UPDATE_DOCS=0   don't rewrite the actors section of docs/performance.md
#   WORK=DIR        keep the raw results in DIR (default: a temporary
#                   directory); a result already there is not run again
#
# Every run checks its own answer (token count, replies, messages); a wrong
# answer or a failed run is reported and makes the script exit 1 at the
# end. Results: a table on stdout, BUILD_DIR/bench/actors/results.json, and
# docs/performance.md between <!-- actors:begin --> and <!-- actors:end -->.
set -uo pipefail

. "$(dirname "$0")/../common.sh"
bench_args "$@"
out=$build/bench/actors
runs=${RUNS:-3}
timeout_s=${TIMEOUT:-600}
command="$(for v in RUNS BIG ENGINES BENCHES MYRIAD_FLAGS; do [ -n "${!v:-}" ] && printf '%s=%q ' "$v" "${!v}"; done)bench/actors/run.sh $1"
select_names engines engine "${ENGINES:-}" myriad beam
select_names benches benchmark "${BENCHES:-}" ring spawn pingpong fanin idle
read -ra myriad_flags <<<"${MYRIAD_FLAGS:-}"

command -v node >/dev/null || die "node not found (the report needs it)"
if [[ " ${engines[*]} " == *" myriad "* ]]; then
  for f in "$build/myriad" "$out/actors.wasm"; do
    [ -e "$f" ] || die "$f missing: build first (make, or cmake --build $1)"
  done
fi
if [[ " ${engines[*]} " == *" beam "* ]]; then
  command -v erl >/dev/null && command -v erlc >/dev/null ||
    die "erl and erlc not found (apt-get install erlang-base)"
  mkdir -p "$out/beam"
  erlc -o "$out/beam" "$here/actors.erl" || die "erlc actors.erl failed"
fi

if [ -n "${WORK:-}" ]; then
  mkdir -p "$WORK" && work=$(cd "$WORK" && pwd) || die "cannot use WORK=$WORK"
  rm -f "$work/problems"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
bad=0
problem() {
  echo "!! $*" | tee -a "$work/problems" >&2
  bad=1
}
mem_available() {
  awk '/^MemAvailable:/ { printf "%.0f\n", $2 * 1024 }' /proc/meminfo
}

# --- how many is "a million" on this machine ----------------------------------

# A myriad actor here is 4 KiB of linear memory plus its instance and
# mailbox; a BEAM process about 2.7 KB. 8 KiB each and 2 GiB for the rest
# keep either clear of the OOM killer (there is no swap). Rounded down to
# thousands; the fan-in tree adds 1% of inner nodes.
want_big=${BIG:-1000000}
fits=$((($(mem_available) - 2 * 1024 ** 3) / (8 * 1024) / 1000 * 1000))
big=$want_big
big_note=
if [ "$fits" -lt "$big" ]; then
  big=$fits
  big_note="scaled down from $want_big to $big: $(($(mem_available) / 1024 ** 2)) MiB available"
  echo "== $big_note"
fi
[ "$big" -ge 10000 ] || die "not enough memory for 10,000 actors"

# benchmark | arguments: rings of 5M hops, and the rest at BIG.
cases=()
for b in "${benches[@]}"; do
  case $b in
  ring) cases+=("ring|1000 5000" "ring|100000 50" "ring|$big $((5000000 / big > 0 ? 5000000 / big : 1))") ;;
  spawn) cases+=("spawn|$big") ;;
  pingpong) cases+=("pingpong|500000") ;;
  fanin) cases+=("fanin|$big") ;;
  idle) cases+=("idle|1000 1500" "idle|$big 1500") ;;
  esac
done

# run_case ENGINE BENCH ARGS R: one run; its output line (and, for idle,
# the RSS sampled while the actors wait) in ENGINE-BENCH-N-R.txt.
run_case() {
  local engine=$1 bench=$2 args=$3 r=$4 n=${3%% *} cmd
  local file=$work/$engine-$bench-$n-$r.txt
  if [ -s "$file" ] && ! grep -q '^error' "$file"; then
    echo "   (kept) $engine $bench $args   (run $r)"
    return
  fi
  echo "   $engine $bench $args   (run $r)"
  if [ "$engine" = myriad ]; then
    cmd=("$build/myriad" run "${myriad_flags[@]}" "$out/actors.wasm" "$bench" $args)
  else
    cmd=(erl -noshell +P 4000000 -pa "$out/beam" -run actors main "$bench" $args)
  fi
  printf '%s\n' "${cmd[*]}" >"$work/$engine-$bench-$n-$r.cmd"
  # Started in the background so that its RSS can be read while it runs;
  # erl execs the emulator, so $! is the process that holds the actors.
  timeout "$timeout_s" "${cmd[@]}" >"$file.out" 2>"$work/err" </dev/null &
  local pid=$! rss=
  if [ "$bench" = idle ]; then
    local child
    while kill -0 "$pid" 2>/dev/null && ! grep -q '^idle ' "$file.out"; do sleep 0.05; done
    # timeout(1) runs the command as its child.
    child=$(pgrep -P "$pid" | head -n1)
    sleep 0.5
    rss=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/${child:-$pid}/status" 2>/dev/null)
  fi
  wait "$pid"
  local rc=$?
  if [ $rc -ne 0 ] || ! grep -q "^$bench " "$file.out"; then
    problem "$engine $bench $args (run $r): exit $rc: $(cat "$file.out" "$work/err" | oneline)"
    grep '^error' "$file.out" >"$file" || echo "error exit=$rc" >"$file"
    return
  fi
  { grep "^$bench " "$file.out" | head -n1 | tr -d '\n'; [ -n "$rss" ] && printf ' rss=%s' "$rss"; echo; } >"$file"
}

printf '%s\t%s\n' start "$(cut -d' ' -f1-3 /proc/loadavg)" >"$work/load.tsv"
for c in "${cases[@]}"; do
  bench=${c%%|*} args=${c#*|}
  echo "== $bench $args"
  for r in $(seq "$runs"); do
    for engine in "${engines[@]}"; do run_case "$engine" "$bench" "$args" "$r"; done
  done
done
printf '%s\t%s\n' end "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/load.tsv"

# --- report -------------------------------------------------------------------

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: *//')
ram=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1024 / 1024 }' /proc/meminfo)
node "$here/report.mjs" \
  --work "$work" --out "$out/results.json" --root "$root" \
  --docs "$([ "${UPDATE_DOCS:-1}" = 0 ] || echo "$root/docs/performance.md")" \
  --command "$command" --runs "$runs" --big "$big" --big-note "$big_note" \
  --nproc "$(nproc)" --cpu "$cpu" --ram "$ram" --kernel "$(uname -r)" \
  --myriad-version "$("$build/myriad" --version 2>/dev/null | head -n1)" \
  --commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD -- src include cli 2>/dev/null || echo ' (with uncommitted changes)')" \
  --erlang "$(erl -noshell -eval 'io:format("OTP ~s, erts ~s", [erlang:system_info(otp_release), erlang:system_info(version)]), halt().' 2>/dev/null)" || bad=1

if [ -s "$work/problems" ]; then
  echo >&2
  echo "!!!!!!!! problems:" >&2
  cat "$work/problems" >&2
fi
exit $bad
