// The reporting half of bench/million/run.sh, in node because it is JSON
// and arithmetic. Reads what run.sh left in its work directory:
//   fill-N-tT-R.json   `myriad run fill.wasm --instances N --threads T --json`
//   fill.tsv           N, T, run, ok|wrong (results' sum against demo/expect)
//   switch-N.json      bench/million/switch at N instances
//   v8-MODE.json       bench/million/v8.mjs, MODE = default | no-trap-handler
//   v8-MODE.flags, v8-MODE.check   node's flags; ok|wrong
//   load.tsv           load average as each part started
// then prints the tables, writes everything to --out as JSON, and rewrites
// the million section of --docs (if given) between its markers, creating
// them after the compute section the first time.
// Arguments are --name value pairs; see run.sh for who passes what.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1] ?? '';
const work = opt.work;
const read = (name) => readFileSync(`${work}/${name}`, 'utf8');
const has = (name) => existsSync(`${work}/${name}`);
const tsv = (name) => (has(name) ? read(name).split('\n').filter(Boolean).map((l) => l.split('\t')) : []);
function json(name) {
  try {
    return JSON.parse(read(name));
  } catch {
    return null;
  }
}
function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// --- gather ---

// myriad run: the runs of each (instances, threads), and the median of
// every numeric field over them.
const checks = Object.fromEntries(tsv('fill.tsv').map(([n, t, r, st]) => [`${n}-t${t}-${r}`, st]));
const fill = {};
for (const f of readdirSync(work).filter((f) => /^fill-\d+-t\d+-\d+\.json$/.test(f))) {
  const [, n, t, r] = f.match(/^fill-(\d+)-t(\d+)-(\d+)\.json$/);
  const key = `${n}/${t}`;
  fill[key] ??= { instances: Number(n), threads: Number(t), runs: [] };
  const j = json(f);
  fill[key].runs.push({ run: Number(r), correct: checks[`${n}-t${t}-${r}`] === 'ok', ...(j ?? { failed: true }) });
}
// A run that failed (no JSON: refused, crashed) counts against
// correctness but has no figures; a group with no figures is left out of
// the tables and listed under the problems.
for (const g of Object.values(fill)) {
  g.correct = g.runs.every((r) => r.correct);
  const measured = g.runs.filter((r) => !r.failed);
  g.median = {};
  for (const k of Object.keys(measured[0] ?? {})) {
    if (typeof measured[0][k] === 'number' && k !== 'run') g.median[k] = median(measured.map((r) => r[k]));
  }
  g.measured = measured.length;
}
for (const [key, g] of Object.entries(fill)) if (!g.measured) delete fill[key];
const fillSizes = [...new Set(Object.values(fill).map((g) => g.instances))].sort((a, b) => a - b);
const problems = has('problems') ? read('problems').split('\n').filter(Boolean).map((l) => l.replace(/^!! /, '')) : [];

const sw = readdirSync(work)
  .filter((f) => /^switch-\d+\.json$/.test(f))
  .map((f) => json(f))
  .filter(Boolean)
  .sort((a, b) => a.instances - b.instances);

const v8 = {};
for (const mode of ['default', 'no-trap-handler']) {
  if (!has(`v8-${mode}.json`)) continue;
  v8[mode] = {
    flags: has(`v8-${mode}.flags`) ? read(`v8-${mode}.flags`).trim() : '',
    correct: has(`v8-${mode}.check`) && read(`v8-${mode}.check`).trim() === 'ok',
    ...(json(`v8-${mode}.json`) ?? { failed: 'no output' }),
  };
}
// With WORK reused, a part is noted again on every pass: the last note of
// each part is kept, in the order parts first appeared.
const loadByPart = new Map();
for (const [part, avg] of tsv('load.tsv')) loadByPart.set(part, avg);
const load = [...loadByPart].map(([part, avg]) => ({ part, avg }));

const report = {
  date: new Date().toISOString(),
  machine: { nproc: Number(opt.nproc), cpu: opt.cpu, ram: opt.ram, swap: opt.swap, kernel: opt.kernel },
  versions: { myriad: opt['myriad-version'], commit: opt.commit, node: opt['node-version'], clang: opt['clang-version'] },
  command: opt.command,
  runs: Number(opt.runs),
  millionRuns: Number(opt['million-runs']),
  big: Number(opt.big),
  bigNote: opt['big-note'] || null,
  load,
  problems,
  fill: Object.values(fill).sort((a, b) => a.instances - b.instances || a.threads - b.threads),
  switch: sw,
  v8,
};

// --- formatting ---

const int = (x) => (x === null || x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));
const fix = (x, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));
const big = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}K` : String(n));
const bytes = (b) => {
  if (b === null || b === undefined) return '-';
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) (b /= 1024), i++;
  return `${b.toFixed(i ? 1 : 0)} ${u[i]}`;
};
function table(header, rows, align) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (align[i] === 'l' ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (align[i] === 'l' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

const two = (n) => fill[`${n}/2`];
const largest = fillSizes.length ? two(fillSizes[fillSizes.length - 1]) : null;

// 1. Instances under the scheduler.
const runsOf = (g) => `${g.runs.length}${g.correct ? '' : ' (WRONG)'}`;
const t1 = table(
  ['instances', 'runs', 'spawn ns/inst', 'overhead B/inst', 'reserve s', 'run s', 'slices', 'slice p50 ns', 'slice p99 ns',
    'slices/inst min..max', 'switch ns (sampled)', 'peak RSS'],
  fillSizes.filter((n) => two(n)).map((n) => {
    const m = two(n).median;
    return [int(n), runsOf(two(n)), int(m.spawn_ns_per_instance), int(m.overhead_bytes_per_instance), fix(m.reserve_s, 2),
      fix(m.wall_s, 2), int(m.slices), int(m.slice_ns_p50), int(m.slice_ns_p99),
      `${int(m.slices_per_instance_min)}..${int(m.slices_per_instance_max)}`, fix(m.switch_ns), bytes(m.rss_peak_bytes)];
  }),
  ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
);

// 2. Switches.
const ci = (s) => (s ? `${fix(s.median)} ± ${fix(s.ci95)}` : '-');
const t2 = table(
  ['live instances', 'their state', 'slice ns', 'switch ns, myr_instance_run', 'switch ns, scheduler', 'sampled in scheduler', 'myr_func_call ns'],
  sw.map((s) => [
    s.instances === 1 ? '1 (itself)' : int(s.instances),
    bytes(s.instances * (s.instance_block_bytes + 4096)),
    int(s.slice_ns.median),
    ci(s.api_switch_ns),
    ci(s.sched_switch_ns),
    fix(s.sched_sampled_switch_ns.median),
    fix(s.call_ns.median),
  ]),
  ['r', 'r', 'r', 'r', 'r', 'r', 'r'],
);

// 3. One worker versus two.
const one = fill['100000/1'];
const dual = fill['100000/2'];
const rate = (g) => (g ? g.instances / g.median.wall_s : null);
const speedup = one && dual ? rate(dual) / rate(one) : null;
// The same ratio per CPU-second: how much of the speed-up the scheduler
// would give if both CPUs were its own (other work on the machine takes
// some of them, the second worker's share more than the first's).
const efficiency = one && dual ? one.median.cpu_s / dual.median.cpu_s : null;
const t3 = table(
  ['workers', 'runs', 'run s', 'CPU s', 'CPUs it got', 'instances/s', 'instances per CPU-s', 'slices/s', 'steals', 'speed-up'],
  [one, dual].filter(Boolean).map((g) => [g.threads, runsOf(g), fix(g.median.wall_s, 2), fix(g.median.cpu_s, 2),
    fix(g.median.cpu_s / g.median.wall_s, 2), int(rate(g)), int(g.instances / g.median.cpu_s),
    int(g.median.slices / g.median.wall_s), int(g.median.steals), g === dual && speedup ? `${fix(speedup, 2)}×` : '1×']),
  ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
);

// 4. V8 beside myriad.
const vd = v8.default;
const vn = v8['no-trap-handler'];
const swBig = sw.length ? sw[sw.length - 1] : null;
const swHot = sw.find((s) => s.instances === 1000);
const v8col = (v, f) => (!v ? 'not run' : v.failed ? `failed: ${String(v.failed).slice(0, 80)}` : f(v));
const lm = largest?.median;
const t4 = largest
  ? table(
      ['', 'myriad', 'V8, default', 'V8, --disable-wasm-trap-handler'],
      [
        ['instances alive at once', `${int(largest.instances)} (all that were asked for)`,
          v8col(vd, (v) => int(v.instances)), v8col(vn, (v) => int(v.instances))],
        ['why it stopped', '-', v8col(vd, (v) => v.stop), v8col(vn, (v) => v.stop)],
        ['memory per instance', '16 KiB (1-byte pages)', '64 KiB (one wasm page)', '64 KiB (one wasm page)'],
        ['results correct', largest.correct ? 'yes' : 'NO', v8col(vd, (v) => (v.correct ? 'yes' : 'NO')), v8col(vn, (v) => (v.correct ? 'yes' : 'NO'))],
        ['create, ns/instance', `${int(lm.spawn_ns_per_instance)} + ${int((lm.reserve_s * 1e9) / largest.instances)} committing memory in bulk`,
          v8col(vd, (v) => int(v.create_ns_per_instance)), v8col(vn, (v) => int(v.create_ns_per_instance))],
        ['run(i), CPU ns/instance', `${int((lm.cpu_s * 1e9) / largest.instances)} (in 1 µs slices, interleaved)`,
          v8col(vd, (v) => `${int(v.run_ns_per_instance)} (to the end, one after another)`),
          v8col(vn, (v) => `${int(v.run_ns_per_instance)} (to the end, one after another)`)],
        ['RSS per live instance', bytes(lm.rss_peak_bytes / largest.instances),
          v8col(vd, (v) => bytes(v.rss_per_instance)), v8col(vn, (v) => bytes(v.rss_per_instance))],
        ['tiny call, 1K instances round-robin', swHot ? `${fix(swHot.call_ns.median)} ns` : '-',
          v8col(vd, (v) => (v.call_hot ? `${fix(v.call_hot.ns)} ns` : '-')), v8col(vn, (v) => (v.call_hot ? `${fix(v.call_hot.ns)} ns` : '-'))],
        ['tiny call, all live instances', swBig ? `${fix(swBig.call_ns.median)} ns (${big(swBig.instances)})` : '-',
          v8col(vd, (v) => (v.call_all ? `${fix(v.call_all.ns)} ns (${big(v.call_all.instances)})` : '-')),
          v8col(vn, (v) => (v.call_all ? `${fix(v.call_all.ns)} ns (${big(v.call_all.instances)})` : '-'))],
        ['preemption', swBig ? `every ~1 µs; a switch costs ${fix(swBig.sched_switch_ns.median)} ns at ${big(swBig.instances)} (scheduler)` : 'every ~1 µs',
          'none: a call runs to its end', 'none: a call runs to its end'],
      ],
      ['l', 'l', 'l', 'l'],
    )
  : '(no myriad run to compare with)';

// Targets.
const targets = [];
function target(name, value, goal, ok, how) {
  targets.push({ name, value, goal, met: ok, how });
}
if (largest) {
  const o = lm.overhead_bytes_per_instance;
  target(`overhead per instance at ${big(largest.instances)}`, `${int(o)} B`, '≤ 1 KiB (the brief\'s budget)', o <= 1024,
    o <= 1024 ? `${fix(1024 / o, 2)}× under` : `${fix(o / 1024, 2)}× over`);
  const p50 = lm.slice_ns_p50;
  const sp = lm.spawn_ns_per_instance;
  target(`spawn at ${big(largest.instances)}`, `${int(sp)} ns`, '≤ 1 µs', sp <= 1000,
    sp <= 1000 ? `${fix(1000 / sp, 2)}× under` : `${fix(sp / 1000, 2)}× over`);
  const p99 = lm.slice_ns_p99;
  const p50ok = Math.abs(p50 - 1000) <= 200, p99ok = p99 <= 3000;
  target(`slice length p50 / p99 at ${big(largest.instances)}`, `${int(p50)} / ${int(p99)} ns`,
    'p50 within 20% of 1 µs, p99 ≤ 3 µs', p50ok && p99ok,
    `p50 within ${fix(Math.abs(p50 - 1000) / 10, 0)}% of 1 µs; p99 ${p99ok ? `${fix(3000 / p99, 1)}× under` : `${fix(p99 / 3000, 1)}× over`} 3 µs`);
}
if (swHot) {
  const v = swHot.api_switch_ns.median;
  const s = swHot.sched_switch_ns.median;
  target('switch, small working set (1K live)', `${fix(v)} ns (myr_instance_run), ${fix(s)} ns (scheduler), ${fix(swHot.sched_sampled_switch_ns.median)} ns sampled`,
    '≤ 15 ns', s <= 15, s <= 15 ? `${fix(15 - s)} ns to spare through the scheduler` : `${fix(s / 15, 1)}× the target through the scheduler; the sampled figure is ${swHot.sched_sampled_switch_ns.median <= 15 ? 'within it' : 'over it too'}`);
}
if (swBig && swBig.instances >= 100000) {
  const v = swBig.api_switch_ns.median;
  const s = swBig.sched_switch_ns.median;
  target(`switch at ${big(swBig.instances)} live (cold)`, `${fix(v)} ns (myr_instance_run), ${fix(s)} ns (scheduler), ${fix(swBig.sched_sampled_switch_ns.median)} ns sampled`,
    '≤ 50 ns', s <= 50, s <= 50 ? `${fix(50 - s)} ns to spare` : `${fix(s / 50, 1)}× the target through the scheduler; the sampled figure is ${swBig.sched_sampled_switch_ns.median <= 50 ? 'within it' : 'over it too'}`);
}
if (speedup) target('2 workers against 1 (100K instances)', `${fix(speedup, 2)}× the instances per second`, '≥ 1.8×', speedup >= 1.8,
  `${fix((speedup / 1.8) * 100, 0)}% of the target; per CPU-second the 2 workers do ${fix(efficiency, 2)}× the work of 1`);
report.targets = targets;
const t5 = table(['target', 'measured', 'goal', 'met', 'by how much'],
  targets.map((t) => [t.name, t.value, t.goal, t.met ? 'yes' : '**no**', t.how]), ['l', 'l', 'l', 'l', 'l']);

// --- print and save ---

console.log('\n== myriad run fill.wasm (medians)\n');
console.log(t1);
console.log('\n== switch cost\n');
console.log(t2);
console.log('\n== 1 vs 2 workers (100K instances)\n');
console.log(t3);
console.log('\n== myriad and V8\n');
console.log(t4);
console.log('\n== targets\n');
console.log(t5);
writeFileSync(opt.out, JSON.stringify(report, null, 2) + '\n');
console.log(`\n== ${opt.out}`);

// --- docs/performance.md ---

if (opt.docs) {
  const begin = '<!-- million:begin -->';
  const end = '<!-- million:end -->';
  const rel = relative(opt.root, opt.out);
  const jsonPath = rel.startsWith('..') ? 'BUILD/bench/million/results.json' : rel;
  const loads = load.map((l) => `${l.part}: ${l.avg}`).join('; ');
  const fuel = sw[0]?.fuel_per_slice;
  const reservePerPage = largest ? (lm.reserve_s * 1e9) / largest.instances / 4 : null;
  const summary = [];
  const met = targets.filter((t) => t.met).map((t) => t.name);
  const missed = targets.filter((t) => !t.met).map((t) => t.name);
  summary.push(`Met: ${met.length ? met.join('; ') : 'none'}. Not met: ${missed.length ? missed.join('; ') : 'none'}.`);
  if (largest) {
    summary.push(
      `${int(largest.instances)} instances of fill.wasm were alive together and every result was ${largest.correct ? 'right' : '**not** right'}; ` +
        `spawning one took ${int(lm.spawn_ns_per_instance)} ns and ${int(lm.overhead_bytes_per_instance)} bytes beside its 16 KiB of memory. ` +
        `Committing that memory is the machine's cost, not the runtime's: ${fix(lm.reserve_s, 1)} s in bulk for the run, ` +
        `about ${fix(reservePerPage / 1000, 1)} µs per 4 KiB page, on a VM where a first-touch page fault costs 14-17 µs.`,
    );
  }
  if (swHot && swBig) {
    summary.push(
      `A switch measured from outside (the time the same work takes when cut into ${fuel}-fuel slices across N instances, less the time it takes in one run) ` +
        `is ${fix(swHot.api_switch_ns.median)} ns through \`myr_instance_run\` and ${fix(swHot.sched_switch_ns.median)} ns through the scheduler with 1K live instances, ` +
        `and ${fix(swBig.api_switch_ns.median)} / ${fix(swBig.sched_switch_ns.median)} ns with ${big(swBig.instances)}. ` +
        `The scheduler's own sampled figure (${fix(swHot.sched_sampled_switch_ns.median)} / ${fix(swBig.sched_sampled_switch_ns.median)} ns) counts only the loop between two slices: ` +
        `from the end of one \`exec_run\` to the start of the next; the outside measure adds leaving and re-entering the interpreter (saving and restoring pc, frame, memory base and size) ` +
        `and the cache misses on the next instance's header, stack and memory that the work inside the slice then takes. ` +
        `With ${big(swBig.instances)} instances every switch lands on memory that is neither in the caches nor in the TLB (the state of ${big(swBig.instances)} spin instances is ${bytes(swBig.instances * (swBig.instance_block_bytes + 4096))}; ` +
        `on a VM a TLB miss is a two-dimensional page walk), which is what the scheduler's prefetching of the next instance hides only in part.`,
    );
  }
  if (speedup) {
    summary.push(
      `Two workers finished 100K instances ${fix(speedup, 2)}× as fast as one, using ${fix(dual.median.cpu_s / dual.median.wall_s, 2)} CPUs against ${fix(one.median.cpu_s / one.median.wall_s, 2)}; ` +
        `per CPU-second they did ${fix(efficiency, 2)}× the work of one worker, so the scheduler itself loses ${efficiency >= 1 ? 'nothing measurable' : `${fix((1 - efficiency) * 100, 0)}%`} to running in parallel ` +
        (speedup >= 1.95 ? `and the two workers had the machine's two CPUs to themselves.`
          : `and the rest of the gap is CPU time that other work on this 2-vCPU VM took (the load averages above).`),
    );
  }
  if (vd && !vd.failed) {
    const outOfMemory = (v) => /out of memory|cannot allocate/i.test(v.stop);
    const trend = (v) =>
      v.ns_per_instance_by_10k.length >= 2
        ? `; creating and running an instance slowed as live instances accumulated (ns per instance over each block of 10,000: ` +
          `${int(v.ns_per_instance_by_10k[0])} for the first, ${int(v.ns_per_instance_by_10k[v.ns_per_instance_by_10k.length - 1])} for the last), ` +
          'as every 64 KiB memory counts as external memory and the full garbage collections that triggers walk every live instance'
        : '';
    summary.push(
      `V8 with its defaults held ${int(vd.instances)} instances ("${vd.stop}")` +
        (outOfMemory(vd)
          ? ': each memory reserves 8 GiB of address space plus guard regions so that bounds checks can be left to the MMU, and the 128 TiB of user address space run out. '
          : '. ') +
        (vn && !vn.failed
          ? `With \`--disable-wasm-trap-handler\` (explicit bounds checks, no reservations) it held ${int(vn.instances)} ("${vn.stop}")${trend(vn)}. `
          : '') +
        'V8 has no preemption and no time slices: a call runs to its end, so there is no V8 switch to compare with; the comparable figure is a call of a tiny export, ' +
        `${vd.call_hot ? fix(vd.call_hot.ns) : '-'} ns in V8 (${vn?.call_hot ? fix(vn.call_hot.ns) : '-'} ns without the trap handler) against ` +
        `${swHot ? fix(swHot.call_ns.median) : '-'} ns for \`myr_func_call\` over 1K instances.`,
    );
  }
  const section = [
    begin,
    '## A million instances',
    '',
    'Can one machine hold a million live instances, each with 16 KiB of memory, and switch between them every microsecond? ' +
      '`bench/million/run.sh` (run by `make bench`) measures it with the demo module `demo/fill.wat` (`run(i)` fills and checks its 16 KiB twice, about 200 slices of 1 µs), ' +
      'a switch-cost program that uses only the public API (`bench/million/switch.c`, module `spin.wat`), and the same workload in node\'s V8 (`bench/million/v8.mjs`).',
    '',
    `Measured ${report.date.slice(0, 16).replace('T', ' ')} UTC on ${opt.cpu}, \`nproc\` = ${opt.nproc}, ${opt.ram} RAM, ${opt.swap} swap, Linux ${opt.kernel}; ` +
      `${opt['myriad-version']} (${opt.commit}), ${opt['clang-version']}, node ${opt['node-version']}. ` +
      `Load average (1, 5, 15 min) as each part started: ${loads}. The machine has 2 vCPUs and other work was running on it: every time below is inflated by it, the 1-vs-2-worker ratio most.`,
    '',
    `Command: \`${opt.command}\` (full data in \`${jsonPath}\`).` + (report.bigNote ? ` The big run: ${report.bigNote}.` : ''),
    '',
    '### Instances under the scheduler',
    '',
    `\`myriad run fill.wasm --instances N --invoke run --threads 2 --json\`: N instances created up front and alive together, each calling \`run(i)\` in 1 µs slices on 2 workers. ` +
      `Medians of ${opt.runs} runs (${opt['million-runs']} at the largest N); every run's results' sum equals \`demo/expect N\`. ` +
      '*spawn* is instantiation and start after the memory was committed in bulk (*reserve*); *overhead* is RSS added per instance beyond its linear memory; ' +
      'slice lengths are sampled on one slice in 16; *switch (sampled)* is the scheduler\'s own figure, from the end of a slice that ran out of fuel to the start of the next. ' +
      '*slices/inst* is the fairness figure: every instance does the same work, and the spread comes from the fuel budget, which the scheduler retunes as it goes so that slices last 1 µs ' +
      '(an instance that ran while the budget was low needed more slices), not from instances waiting longer than others.',
    '',
    t1,
    '',
    '### What a switch costs',
    '',
    `\`bench/million/switch SPIN.wasm --instances N --fuel ${fuel ?? 'F'}\`: the same wasm work (a loop that adds one to a counter in the instance's memory) runs as one instance in one uninterrupted run, ` +
      `and as N instances each paused every ${fuel ?? 'F'} units of fuel (a slice of about 1 µs, measured), either resumed round-robin by a loop around \`myr_instance_run\` ` +
      'or by the scheduler (one worker, fixed fuel); the extra time divided by the number of slices is the cost of one switch. ' +
      'A switch is thus everything between the last instruction of one slice and the first of the next: saving the paused instance\'s pc and frame, unwinding out of the interpreter, ' +
      'picking the next instance, loading its state (header, top of its value stack, the memory word it uses) and re-entering the interpreter at its pc. ' +
      'The scheduler column also carries 1/k of finishing an instance (each gets k ≥ 4 slices of work); the cost of starting the worker thread is measured and taken off. ' +
      'Each figure is the median over chunks of work, the two ways alternating chunk by chunk, in CPU time, on CPU 0, ± a 95% interval of the median. ' +
      '*Their state* is the span of the instances\' blocks and 4 KiB memory slots; a switch touches a few cache lines and two pages of each instance, ' +
      'which for 1K instances stay in the caches and TLBs and for 100K and 1M do not. ' +
      '*myr_func_call* is a whole call of the tiny export `touch()` on each instance in turn.',
    '',
    t2,
    '',
    '### One worker or two',
    '',
    '100K instances of fill.wasm run to the end with `--threads 1` and `--threads 2` (medians; the 2-worker runs are the 100K row above).',
    '',
    t3,
    '',
    '### Beside V8',
    '',
    `node ${opt['node-version']} compiles \`demo/fill.wat\` assembled with its ordinary 64 KiB page (V8 does not implement custom page sizes), then creates instances one after the other, keeps them alive, ` +
      `and calls \`run(i)\` on each once, until V8 throws, the RSS reaches its cap (16 GiB or what the machine can spare), ${opt['v8-seconds']} s have passed, or ${report.big ? '1,000,000' : '100,000'} are alive; ` +
      'each mode runs in its own child process. Then a `touch.wat` instance is made on every live instance\'s memory and `touch()` is called on them round-robin. ' +
      'V8 cannot preempt a running wasm call, so it has no time slices and no switches: the tiny call is the nearest thing to compare.',
    '',
    t4,
    '',
    '### Targets',
    '',
    t5,
    '',
    ...summary.flatMap((p) => [p, '']),
    ...(problems.length ? ['Problems in this run:', '', ...problems.map((p) => `- ${p}`), ''] : []),
    end,
  ].join('\n');
  const path = opt.docs;
  let text = readFileSync(path, 'utf8');
  const b = text.indexOf(begin);
  const e = text.indexOf(end);
  if (b >= 0 && e > b) {
    text = text.slice(0, b) + section + text.slice(e + end.length);
  } else {
    const after = '<!-- compute:end -->';
    const at = text.indexOf(after);
    text = at >= 0
      ? `${text.slice(0, at + after.length)}\n\n${section}${text.slice(at + after.length)}`
      : `${text.replace(/\n*$/, '\n')}\n${section}\n`;
  }
  writeFileSync(path, text);
  console.log(`== rewrote the million section of ${relative(process.cwd(), path) || path}`);
}
