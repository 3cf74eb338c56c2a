// The reporting half of bench/programs/run.sh, in node because it is JSON
// and arithmetic: reads status.tsv, whats.tsv and hyperfine's JSON files
// from run.sh's work directory, then
//   - prints the results table (case x engine: median seconds, ratios),
//   - writes the same data as JSON to --out,
//   - rewrites the part of --docs (if given) between <!-- programs:begin -->
//     and <!-- programs:end -->, appending the markers at the end of the
//     file if they are not there yet.
// Arguments are --name value pairs; see run.sh for who passes what.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1] ?? '';

const engines = opt.engines.split(',');
const cases = opt.cases.split(',');

function readTsv(name) {
  const file = `${opt.work}/${name}`;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
}
const whats = Object.fromEntries(readTsv('whats.tsv'));
const status = {};
for (const [c, e, st, detail] of readTsv('status.tsv')) status[`${c}/${e}`] = { st, detail: detail ?? '' };

// One record per case and engine. status: "ok" (same stdout and exit
// status as native), "wrong" (they differ; still timed), "fail" (missing,
// crashed or timed out; not timed).
const results = cases.map((c) => {
  const byEngine = {};
  for (const e of engines) {
    const s = status[`${c}/${e}`] ?? { st: 'fail', detail: 'not run' };
    const rec = { status: s.st };
    if (s.detail) rec.detail = s.detail;
    const json = `${opt.work}/${c}.${e}.json`;
    if (s.st !== 'fail' && existsSync(json)) {
      const h = JSON.parse(readFileSync(json, 'utf8')).results[0];
      Object.assign(rec, { median: h.median, mean: h.mean, stddev: h.stddev, min: h.min, max: h.max, times: h.times });
    }
    byEngine[e] = rec;
  }
  return { case: c, what: whats[c] ?? '', engines: byEngine };
});

// Ratios of medians, each pair only where both engines' outputs were right.
const pairs = [
  ['myriad', 'native'],
  ['node', 'native'],
  ['myriad', 'node'],
].filter(([a, b]) => engines.includes(a) && engines.includes(b));
for (const r of results) {
  r.ratios = {};
  for (const [a, b] of pairs) {
    const x = r.engines[a], y = r.engines[b];
    if (x.status === 'ok' && y.status === 'ok' && x.median && y.median) r.ratios[`${a}/${b}`] = x.median / y.median;
  }
}
// The geometric mean is the right mean for ratios (a 2x win and a 2x loss
// cancel out); it says over how many cases it was taken.
const geomean = {};
for (const [a, b] of pairs) {
  const k = `${a}/${b}`;
  const xs = results.map((r) => r.ratios[k]).filter((x) => x !== undefined);
  geomean[k] = { ratio: xs.length ? Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length) : null, cases: xs.length };
}

const nodeStartup = opt['node-startup'] ? JSON.parse(readFileSync(opt['node-startup'], 'utf8')).results[0].median : null;

const report = {
  date: new Date().toISOString(),
  machine: { nproc: Number(opt.nproc), cpu: opt.cpu, loadAverageAtStart: opt.load },
  command: opt.command,
  versions: { node: opt['node-version'], clang: opt['clang-version'], hyperfine: opt['hyperfine-version'] },
  runs: Number(opt.runs),
  nodeStartup,
  engines,
  cases: results,
  geomean,
};
writeFileSync(opt.out, JSON.stringify(report, null, 2) + '\n');

// --- the table ------------------------------------------------------------------

const secs = (rec) => {
  if (!rec || rec.status === 'fail') return 'fail';
  if (rec.median === undefined) return 'untimed';
  return rec.median.toFixed(3) + (rec.status === 'wrong' ? ' ≠' : '');
};
const ratio = (x) => (x === undefined || x === null ? '-' : x.toFixed(2));
const header = ['case', ...engines.map((e) => `${e} s`), ...pairs.map(([a, b]) => `${a} / ${b}`)];
const rows = results.map((r) => [r.case, ...engines.map((e) => secs(r.engines[e])), ...pairs.map(([a, b]) => ratio(r.ratios[`${a}/${b}`]))]);
const geoRow = ['**geomean**', ...engines.map(() => ''), ...pairs.map(([a, b]) => {
  const g = geomean[`${a}/${b}`];
  if (g.ratio === null) return '-';
  const n = g.cases < results.length ? ` (${g.cases})` : '';
  return `**${g.ratio.toFixed(2)}**${n}`;
})];

// A markdown table, its columns padded to line up in the source too; the
// first column (or all, with leftAll) left-aligned, the rest right-aligned.
function markdownTable(head, body, leftAll = false) {
  const all = [head, ...body];
  const w = head.map((_, i) => Math.max(...all.map((r) => [...r[i]].length)));
  const left = (i) => i === 0 || leftAll;
  const line = (r) => '| ' + r.map((x, i) => (left(i) ? x.padEnd(w[i]) : x.padStart(w[i]))).join(' | ') + ' |';
  const rule = '|' + w.map((n, i) => (left(i) ? ':' + '-'.repeat(n + 1) : '-'.repeat(n + 1) + ':')).join('|') + '|';
  return [line(head), rule, ...body.map(line)].join('\n');
}
const table = markdownTable(header, [...rows, geoRow]);
console.log(table);

const differences = [];
for (const r of results)
  for (const e of engines) {
    const rec = r.engines[e];
    if (rec.status !== 'ok') differences.push(`- ${r.case} / ${e}: ${rec.status}: ${rec.detail ?? ''}`);
  }
if (differences.length) console.log('\n' + differences.join('\n'));

// --- the docs section ---------------------------------------------------------------

if (opt.docs) {
  const when = report.date.replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
  const cases = markdownTable(
    ['case', 'what it does'],
    results.map((r) => [r.case, r.what]),
    true,
  );
  const lines = [
    `Measured ${when} on ${opt.cpu.split(' ').slice(0, 2).join(' ')}, \`nproc\` = ${opt.nproc}, ` +
      `with ${opt['node-version'] ? 'node ' + opt['node-version'] : 'no node'}, ${opt['clang-version']} and ` +
      `${opt['hyperfine-version']}; load average at start ${opt.load} (1, 5, 15 min: other work on the CPUs inflates every time).`,
    '',
    `Command: \`${opt.command}\` (${opt.runs} timed runs after 1 warm-up; full data in \`${opt['out-shown']}\`).`,
    '',
    cases,
    '',
    'Seconds are medians of the whole process (start, compile, run, exit); a ratio is the first engine\'s time over ' +
      'the second\'s (lower is better for the first), taken only where both printed what native prints. ' +
      '"≠": the output differs from native\'s (listed below); "fail": missing, crashed or timed out.',
  ];
  if (nodeStartup !== null) lines.push('', `node's own start-up (\`node -e 0\`, median): ${nodeStartup.toFixed(3)} s, included in every node time.`);
  lines.push('', table);
  if (differences.length) lines.push('', 'Not the same as native:', '', ...differences);
  const section = lines.join('\n');

  let doc = readFileSync(opt.docs, 'utf8');
  const begin = '<!-- programs:begin -->', end = '<!-- programs:end -->';
  const i = doc.indexOf(begin), j = doc.indexOf(end);
  if (i < 0 || j < i) doc = doc.replace(/\n*$/, '\n\n') + `${begin}\n${section}\n${end}\n`;
  else doc = doc.slice(0, i + begin.length) + '\n' + section + '\n' + doc.slice(j);
  writeFileSync(opt.docs, doc);
  console.log(`\nwrote ${opt.out} and the programs section of ${relative(opt.root, opt.docs)}`);
} else {
  console.log(`\nwrote ${opt.out}`);
}
