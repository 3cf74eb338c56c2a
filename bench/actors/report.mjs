// The reporting half of bench/actors/run.sh, in node because it is JSON
// and arithmetic. Reads what run.sh left in its work directory:
//   ENGINE-BENCH-N-R.txt   run R of BENCH at size N on ENGINE (myriad or
//                          beam): the program's key=value line, with
//                          rss=BYTES appended for idle, or "error ..."
//   ENGINE-BENCH-N-R.cmd   the command that run was
//   problems               one line per failed or wrong run
//   load.tsv               load average at the start and end
// then computes the medians per engine, benchmark and size, the figures
// the issue asks for, their ratios to BEAM and the verdict on each
// target; prints the table, writes everything to --out as JSON, and
// rewrites the actors section of --docs (if given) between its markers,
// adding them at the end of the file the first time.
// Arguments are --name value pairs; see run.sh for who passes what.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1] ?? '';
const work = opt.work;
const read = (name) => readFileSync(`${work}/${name}`, 'utf8');
const has = (name) => existsSync(`${work}/${name}`);
const big = Number(opt.big);
// Each myriad actor of the benchmark module has exactly this much linear
// memory (bench/actors/CMakeLists.txt), all of it committed when taken.
const LINEAR = 4096;

function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// --- gather ---

// One line of "name k=v k=v ..." into {name, k: Number(v), ...}.
function parseLine(line) {
  const [name, ...pairs] = line.trim().split(/\s+/);
  const rec = { name };
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq > 0) rec[p.slice(0, eq)] = Number(p.slice(eq + 1));
  }
  return rec;
}

// What each benchmark's own answer must be; run.sh already fails a run
// whose program said it was wrong, this catches a line that lies.
const answerOk = {
  ring: (r) => r.token === r.hops && r.hops === r.n * r.m,
  spawn: (r) => Number.isFinite(r.loop_ns) && Number.isFinite(r.all_ns),
  pingpong: (r) => r.value === r.rounds,
  fanin: (r) => r.got === r.n,
  idle: (r) => r.token === r.n && Number.isFinite(r.rss),
};

// runs[engine][bench][n] = [{run, ok, ...fields}]
const runs = {};
for (const f of readdirSync(work).filter((f) => /^[a-z]+-[a-z]+-\d+-\d+\.txt$/.test(f))) {
  const [, engine, bench, n, r] = f.match(/^([a-z]+)-([a-z]+)-(\d+)-(\d+)\.txt$/);
  const text = read(f).trim();
  const rec = text.startsWith(bench) ? parseLine(text) : { name: 'error', error: text.slice(0, 300) };
  rec.run = Number(r);
  rec.ok = rec.name === bench && (answerOk[bench]?.(rec) ?? false);
  if (has(f.replace(/\.txt$/, '.cmd'))) rec.command = read(f.replace(/\.txt$/, '.cmd')).trim();
  ((runs[engine] ??= {})[bench] ??= {})[n] ??= [];
  runs[engine][bench][n].push(rec);
}
for (const e of Object.values(runs))
  for (const b of Object.values(e)) for (const list of Object.values(b)) list.sort((x, y) => x.run - y.run);

const good = (engine, bench, n) => (runs[engine]?.[bench]?.[n] ?? []).filter((r) => r.ok);
const problems = has('problems') ? read('problems').split('\n').filter(Boolean).map((l) => l.replace(/^!! /, '')) : [];
const load = has('load.tsv')
  ? Object.fromEntries(read('load.tsv').split('\n').filter(Boolean).map((l) => l.split('\t')))
  : {};
const engines = ['myriad', 'beam'].filter((e) => runs[e]);

// --- the figures ---

// A figure: its value per run (from a function of one run's record) and
// the median; `better` says which way is good, for the ratio.
function figure(engine, bench, n, per) {
  const list = good(engine, bench, n);
  const values = list.map(per);
  return { median: median(values), values, runs: list.length, failed: (runs[engine]?.[bench]?.[n]?.length ?? 0) - list.length };
}

const sizes = (bench) =>
  [...new Set(engines.flatMap((e) => Object.keys(runs[e]?.[bench] ?? {}).map(Number)))].sort((a, b) => a - b);

const label = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}K` : String(n));

// rows: {id, bench, n, what, unit, better: 'lower'|'higher', engines: {e: figure}, ratio, target?}
const rows = [];
function row(id, bench, n, what, unit, better, per) {
  const r = { id, bench, n, what, unit, better, engines: {} };
  for (const e of engines) r.engines[e] = figure(e, bench, n, per);
  const m = r.engines.myriad?.median;
  const b = r.engines.beam?.median;
  // How many times better myriad is than BEAM (> 1: myriad is ahead).
  r.advantage = m && b ? (better === 'lower' ? b / m : m / b) : null;
  rows.push(r);
  return r;
}

for (const n of sizes('ring')) {
  row(`ring-${n}`, 'ring', n, `ring, ${label(n)} actors: time per hop`, 'ns', 'lower', (r) => r.ns / r.hops);
  row(`ring-build-${n}`, 'ring', n, `ring, ${label(n)} actors: building it, per actor`, 'µs', 'lower', (r) => r.build_ns / r.n / 1000);
}
for (const n of sizes('spawn')) {
  row('spawn', 'spawn', n, `spawn ${label(n)} children: per spawn (memory committed)`, 'µs', 'lower', (r) => r.loop_ns / r.n / 1000);
  row('spawn-child', 'spawn', n, `spawn ${label(n)} children: per child, until every reply is in`, 'µs', 'lower', (r) => r.all_ns / r.n / 1000);
  row('spawn-cold', 'spawn', n, `spawn ${label(n)} children: per spawn, first pass (memory not yet committed)`, 'µs', 'lower', (r) => r.cold_loop_ns / r.n / 1000);
}
for (const n of sizes('pingpong')) {
  row('pingpong', 'pingpong', n, 'ping-pong on two workers: round trip', 'ns', 'lower', (r) => r.ns / r.rounds);
}
for (const n of sizes('fanin')) {
  row('fanin', 'fanin', n, `fan-in, ${label(n)} senders to one collector`, 'messages/s', 'higher', (r) => (r.n / r.ns) * 1e9);
  row('fanin-time', 'fanin', n, `fan-in, ${label(n)} senders: from go to the last message`, 'ms', 'lower', (r) => r.ns / 1e6);
}

// Idle: bytes per actor from the RSS at the small and the big size, run by
// run (the two runs of one index came from the same pass over the cases),
// so that what the process holds besides the actors cancels out.
const idleSizes = sizes('idle');
const idle = {};
if (idleSizes.length >= 2) {
  const [lo, hi] = [idleSizes[0], idleSizes[idleSizes.length - 1]];
  for (const e of engines) {
    const los = Object.fromEntries(good(e, 'idle', lo).map((r) => [r.run, r]));
    const per = good(e, 'idle', hi)
      .filter((r) => los[r.run])
      .map((r) => ({ run: r.run, bytes: (r.rss - los[r.run].rss) / (hi - lo) }));
    const rec = { small: lo, big: hi, values: per.map((p) => p.bytes), runs: per.length, median: median(per.map((p) => p.bytes)) };
    rec.rssSmall = median(good(e, 'idle', lo).map((r) => r.rss));
    rec.rssBig = median(good(e, 'idle', hi).map((r) => r.rss));
    if (e === 'myriad') {
      rec.linear = LINEAR;
      rec.beyondLinear = rec.median === null ? null : rec.median - LINEAR;
    } else {
      // BEAM's own count, for comparison with the RSS figure.
      rec.processesBytes = median(good(e, 'idle', hi).map((r) => r.processes_bytes / r.n));
      rec.processInfoBytes = median(good(e, 'idle', hi).map((r) => r.process_info_bytes));
      rec.beyondLinear = rec.median;
    }
    idle[e] = rec;
  }
  const r = { id: 'idle', bench: 'idle', n: hi, what: `idle actor blocked in receive (RSS, ${label(lo)} vs ${label(hi)})`, unit: 'B', better: 'lower', engines: {} };
  for (const e of engines) r.engines[e] = { median: idle[e].median, values: idle[e].values, runs: idle[e].runs };
  r.advantage = idle.myriad?.median && idle.beam?.median ? idle.beam.median / idle.myriad.median : null;
  rows.push(r);
  const r2 = { id: 'idle-beyond', bench: 'idle', n: hi, what: 'idle actor, beyond its linear memory', unit: 'B', better: 'lower', engines: {} };
  for (const e of engines)
    r2.engines[e] = { median: idle[e].beyondLinear, values: idle[e].values.map((v) => (e === 'myriad' ? v - LINEAR : v)), runs: idle[e].runs };
  r2.advantage = idle.myriad?.beyondLinear > 0 && idle.beam?.median ? idle.beam.median / idle.myriad.beyondLinear : null;
  rows.push(r2);
}
const byId = Object.fromEntries(rows.map((r) => [r.id, r]));

// --- targets (issue 10) ---

const fix = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const int = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : Math.round(x).toLocaleString('en-US'));
const targets = [];
function target(name, value, goal, met, how) {
  targets.push({ name, value, goal, met, how });
}
for (const n of sizes('ring')) {
  const r = byId[`ring-${n}`];
  const m = r.engines.myriad?.median;
  const b = r.engines.beam?.median;
  if (m === null || m === undefined || b === null || b === undefined) {
    target(`ring at ${label(n)}: time per hop`, `myriad ${fix(m)} ns, BEAM ${fix(b)} ns`, '≥ 2× better than BEAM', false, 'not measured on both engines');
    continue;
  }
  target(`ring at ${label(n)}: time per hop`, `myriad ${fix(m)} ns, BEAM ${fix(b)} ns: ${fix(r.advantage, 2)}×`, '≥ 2× better than BEAM',
    r.advantage >= 2, r.advantage >= 2 ? `${fix((r.advantage / 2 - 1) * 100, 0)}% beyond the target` : `${fix(2 / r.advantage, 2)}× short (myriad needs ≤ ${fix(b / 2)} ns)`);
}
if (byId.spawn) {
  const m = byId.spawn.engines.myriad?.median;
  target(`spawn (${label(byId.spawn.n)} children, memory committed)`, `${fix(m, 2)} µs per spawn (BEAM ${fix(byId.spawn.engines.beam?.median, 2)} µs)`, '≤ 1 µs',
    m !== null && m !== undefined && m <= 1, m === null || m === undefined ? 'not measured' : m <= 1 ? `${fix(1 / m, 2)}× under` : `${fix(m, 2)}× over`);
}
if (idle.myriad) {
  const x = idle.myriad.beyondLinear;
  target(`idle actor in receive (${label(idle.myriad.big)})`, `${int(x)} B beyond its ${LINEAR} B of linear memory (BEAM ${int(idle.beam?.median)} B per process)`, '≤ 1 KiB beyond the linear memory',
    x !== null && x <= 1024, x === null ? 'not measured' : x <= 1024 ? `${int(1024 - x)} B to spare` : `${int(x - 1024)} B over`);
}
for (const id of ['pingpong', 'fanin']) {
  const r = byId[id];
  if (!r) continue;
  target(r.what, `${r.better === 'higher' ? int(r.engines.myriad?.median) : fix(r.engines.myriad?.median)} ${r.unit} (BEAM ${r.better === 'higher' ? int(r.engines.beam?.median) : fix(r.engines.beam?.median)}): ${fix(r.advantage, 2)}×`,
    'no figure set; reported beside BEAM', null, r.advantage === null ? 'not measured on both engines' : r.advantage >= 1 ? 'ahead of BEAM' : 'behind BEAM');
}

const report = {
  date: new Date().toISOString(),
  machine: { nproc: Number(opt.nproc), cpu: opt.cpu, ram: opt.ram, kernel: opt.kernel },
  versions: { myriad: opt['myriad-version'], commit: opt.commit, erlang: opt.erlang },
  command: opt.command,
  runs: Number(opt.runs),
  big,
  bigNote: opt['big-note'] || null,
  load,
  problems,
  figures: rows,
  idle,
  targets,
  raw: runs,
};

// --- the tables ---

function table(header, body, align) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (align[i] === 'l' ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (align[i] === 'l' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

const shown = rows.filter((r) => !r.id.startsWith('ring-build') && r.id !== 'spawn-cold' && r.id !== 'fanin-time');
const fmt = (r, v) => (v === null || v === undefined ? '-' : r.unit === 'messages/s' || r.unit === 'B' ? int(v) : fix(v, r.unit === 'µs' ? 2 : 1));
const cell = (r, e) => {
  const f = r.engines[e];
  if (!f || f.median === null || f.median === undefined) return f?.failed ? 'failed' : '-';
  return fmt(r, f.median) + (f.failed ? ` (${f.failed} failed)` : '');
};
const spread = (r, e) => {
  const v = (r.engines[e]?.values ?? []).filter(Number.isFinite);
  return v.length > 1 ? `${fmt(r, Math.min(...v))}..${fmt(r, Math.max(...v))}` : '';
};
const t1 = table(
  ['benchmark', 'unit', 'myriad', 'BEAM', 'myriad ahead by', 'myriad runs', 'BEAM runs'],
  shown.map((r) => [r.what, r.unit, cell(r, 'myriad'), cell(r, 'beam'), r.advantage ? `${fix(r.advantage, 2)}×` : '-', spread(r, 'myriad'), spread(r, 'beam')]),
  ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
);
const extra = rows.filter((r) => r.id.startsWith('ring-build') || r.id === 'spawn-cold' || r.id === 'fanin-time');
const t2 = table(
  ['also measured', 'unit', 'myriad', 'BEAM', 'myriad ahead by'],
  extra.map((r) => [r.what, r.unit, cell(r, 'myriad'), cell(r, 'beam'), r.advantage ? `${fix(r.advantage, 2)}×` : '-']),
  ['l', 'l', 'r', 'r', 'r'],
);
const t3 = table(['target', 'measured', 'goal', 'met', 'by how much'],
  targets.map((t) => [t.name, t.value, t.goal, t.met === null ? '-' : t.met ? 'yes' : '**no**', t.how]), ['l', 'l', 'l', 'l', 'l']);

console.log(`\n== actors: medians of ${report.runs} run${report.runs === 1 ? '' : 's'} (spreads are min..max)\n`);
console.log(t1);
console.log('');
console.log(t2);
console.log('\n== targets\n');
console.log(t3);
writeFileSync(opt.out, JSON.stringify(report, null, 2) + '\n');
console.log(`\n== ${opt.out}`);

// --- docs/performance.md ---

if (opt.docs) {
  const begin = '<!-- actors:begin -->';
  const end = '<!-- actors:end -->';
  const rel = opt.root ? relative(opt.root, opt.out) : opt.out;
  const jsonPath = rel.startsWith('..') ? 'BUILD/bench/actors/results.json' : rel;
  const met = targets.filter((t) => t.met === true).map((t) => t.name);
  const missed = targets.filter((t) => t.met === false).map((t) => t.name);
  const ahead = targets.filter((t) => t.met === null);
  const section = [
    begin,
    `Measured ${report.date.slice(0, 16).replace('T', ' ')} UTC on ${opt.cpu}, \`nproc\` = ${opt.nproc}, ${opt.ram} RAM, Linux ${opt.kernel}; ` +
      `${opt['myriad-version'] || 'myriad'} (${opt.commit || 'unknown commit'}), Erlang/${opt.erlang || 'OTP (version unknown)'}. ` +
      `Load average (1, 5, 15 min) at the start: ${load.start ?? '-'}, at the end: ${load.end ?? '-'}; ` +
      'the machine is a shared 2-vCPU VM, and every figure is inflated by whatever else ran.',
    '',
    `Command: \`${opt.command}\`: medians of ${report.runs} run${report.runs === 1 ? '' : 's'} per engine and case, the engines alternating; ` +
      `full data, every run's line and command, in \`${jsonPath}\`.` +
      (report.bigNote ? ` The big size: ${report.bigNote}.` : ''),
    '',
    t1,
    '',
    t2,
    '',
    '### Targets',
    '',
    t3,
    '',
    `Met: ${met.length ? met.join('; ') : 'none'}. Not met: ${missed.length ? missed.join('; ') : 'none'}.` +
      (ahead.length ? ` Without a set figure: ${ahead.map((t) => `${t.name}, ${t.how}`).join('; ')}.` : ''),
    ...(problems.length ? ['', 'Problems in this run:', '', ...problems.map((p) => `- ${p.replaceAll('|', '\\|')}`)] : []),
    end,
  ].join('\n');
  let text = existsSync(opt.docs) ? readFileSync(opt.docs, 'utf8') : '# Performance\n';
  const b = text.indexOf(begin);
  const e = text.indexOf(end);
  if (b >= 0 && e > b) {
    text = text.slice(0, b) + section + text.slice(e + end.length);
  } else {
    // No (well-formed) markers: add the section rather than lose the run.
    text = `${text.replace(/\n*$/, '\n')}\n## Actors, beside BEAM\n\n` +
      'The actor benchmarks of `bench/actors/` (see `docs/guide-actors.md`), myriad and BEAM on the same machine in the same run.\n\n' +
      `${section}\n`;
  }
  writeFileSync(opt.docs, text);
  console.log(`== rewrote the actors section of ${relative(process.cwd(), opt.docs) || opt.docs}`);
}

process.exit(rows.some((r) => Object.values(r.engines).some((f) => f.failed)) ? 1 : 0);
