// The million-instance workload in node's V8, for the side-by-side table
// of docs/performance.md. bench/million/run.sh runs it in a child process,
// once with V8's defaults and once with --disable-wasm-trap-handler:
//
//   node [V8 FLAGS] v8.mjs FILL.wasm TOUCH.wasm [--max N] [--rss-cap BYTES]
//                          [--seconds S] [--calls N]
//
// 1. Capacity. Instances of fill.wasm (demo/fill.wat with an ordinary
//    64 KiB page: V8 has no custom page sizes) are created one after the
//    other and kept alive, and each runs run(i) once, so that every live
//    instance has done what myriad's do (fill and check 16 KiB of its
//    memory). It stops at the first of: --max instances, an RSS of
//    --rss-cap bytes (checked every 1,000, so that the machine is never
//    run out of memory), --seconds of creating, or an exception from V8,
//    whose message is reported as the reason.
// 2. Calls. V8 cannot pause a running instance: an instance runs a call to
//    its end and nothing else runs on that thread meanwhile, so there are
//    no time slices and no switches to measure. The nearest thing is a call
//    into each live instance in turn: for each fill instance a touch.wasm
//    instance is made on its memory (no new wasm memory), and touch() is
//    called on the first 1,000 of them round-robin (cache-hot), then on all
//    of them (as cold as the instance count makes it). Each figure is the
//    median of several timed passes, after one pass to warm up.
//
// Prints one JSON object. The results' sum is printed so that run.sh can
// check it against demo/expect.
import { readFileSync } from 'node:fs';

const [fillPath, touchPath, ...rest] = process.argv.slice(2);
const opt = { max: 1e6, 'rss-cap': 16 * 2 ** 30, seconds: 90, calls: 2e6 };
for (let i = 0; i < rest.length; i += 2) opt[rest[i].replace(/^--/, '')] = Number(rest[i + 1]);

const fill = new WebAssembly.Module(readFileSync(fillPath));
const touch = new WebAssembly.Module(readFileSync(touchPath));
const now = () => Number(process.hrtime.bigint()); // ns
const rss = () => process.memoryUsage.rss();

// --- 1. capacity ---

const live = [];
const rss0 = rss();
let createNs = 0;
let runNs = 0;
let sum = 0n;
let stop = null;
// ns per instance (creation + run) over each block of 10,000, to show how
// the cost moves as live instances accumulate.
const blocks = [];
let blockStart = now();
const t0 = now();
try {
  for (let i = 0; i < opt.max; i++) {
    const a = now();
    const inst = new WebAssembly.Instance(fill, {});
    const b = now();
    sum += inst.exports.run(i);
    const c = now();
    live.push(inst);
    createNs += b - a;
    runNs += c - b;
    if ((i + 1) % 1000 === 0) {
      if (rss() >= opt['rss-cap']) {
        stop = `stopped by the benchmark: RSS reached the cap of ${(opt['rss-cap'] / 2 ** 30).toFixed(1)} GiB`;
        break;
      }
      if ((c - t0) / 1e9 >= opt.seconds) {
        stop = `stopped by the benchmark: ${opt.seconds} s time cap`;
        break;
      }
    }
    if ((i + 1) % 10000 === 0) {
      blocks.push(Math.round((c - blockStart) / 10000));
      blockStart = c;
    }
  }
  stop ??= `stopped by the benchmark: reached ${opt.max} instances`;
} catch (e) {
  stop = `${e.constructor?.name ?? 'Error'}: ${e.message}`;
}
const capacitySeconds = (now() - t0) / 1e9;
const rssLive = rss();
const n = live.length;

// --- 2. calls ---

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
// ns per call of touch() over fns round-robin: passes of about
// opt.calls / 5 calls each (whole rounds, at least one).
function timeCalls(fns) {
  const rounds = Math.max(1, Math.round(opt.calls / 5 / fns.length));
  const pass = () => {
    let s = 0;
    const a = now();
    for (let r = 0; r < rounds; r++) for (let i = 0; i < fns.length; i++) s += fns[i]();
    const ns = (now() - a) / (rounds * fns.length);
    if (s === 0) throw new Error('touch returned nothing');
    return ns;
  };
  pass(); // warm-up: V8 compiles touch lazily and tiers it up
  return { ns: median([pass(), pass(), pass(), pass(), pass()]), calls: 5 * rounds * fns.length };
}
const touches = [];
let callStop = null;
try {
  for (const inst of live) touches.push(new WebAssembly.Instance(touch, { m: { memory: inst.exports.memory } }).exports.touch);
} catch (e) {
  callStop = `${e.constructor?.name ?? 'Error'}: ${e.message} after ${touches.length} touch instances`;
}
const hot = touches.length ? timeCalls(touches.slice(0, 1000)) : null;
const all = touches.length > 1000 ? timeCalls(touches) : hot;

console.log(
  JSON.stringify({
    node: process.version,
    flags: process.execArgv,
    instances: n,
    stop,
    capacity_s: capacitySeconds,
    create_ns_per_instance: n ? createNs / n : null,
    run_ns_per_instance: n ? runNs / n : null,
    ns_per_instance_by_10k: blocks,
    rss_bytes: rssLive,
    rss_per_instance: n ? (rssLive - rss0) / n : null,
    results_sum: BigInt.asUintN(64, sum).toString(),
    call_hot: hot && { instances: Math.min(1000, touches.length), ...hot },
    call_all: all && { instances: touches.length, ...all },
    call_stop: callStop,
  }),
);
