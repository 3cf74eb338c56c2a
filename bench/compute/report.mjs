// The reporting half of run.sh, in node because it is JSON and arithmetic:
// reads the checksum results (status.tsv, reference.tsv) and hyperfine's
// JSON files from run.sh's work directory, then
//   - prints the results table (kernel x engine: median seconds, ratio to
//     native, geometric mean of the ratios),
//   - writes the same data as JSON to --out and prints it,
//   - rewrites the compute section of --docs (if given) between the
//     <!-- compute:begin --> and <!-- compute:end --> markers.
// Arguments are --name value pairs; see run.sh for who passes what.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1] ?? '';

const engines = opt.engines.split(',');
const kernels = opt.kernels.split(',');
const ratioEngines = engines.filter((e) => e !== 'native'); // native/native is 1

function readTsv(name) {
  const file = `${opt.work}/${name}`;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
}
const reference = Object.fromEntries(readTsv('reference.tsv'));
const status = {};
for (const [k, e, st, detail] of readTsv('status.tsv')) status[`${k}/${e}`] = { st, detail };

// One record per kernel and engine. status is "ok" (checksum matched and
// timed), "wrong" (checksum differs from native), "fail" (missing binary,
// crash, trap or timeout) or "untimed" (checked, but hyperfine failed).
const results = kernels.map((k) => {
  const byEngine = {};
  for (const e of engines) {
    const s = status[`${k}/${e}`] ?? { st: 'fail', detail: 'not run' };
    const rec = { status: s.st };
    if (s.st === 'ok') {
      const json = `${opt.work}/${k}.${e}.json`;
      if (existsSync(json)) {
        const h = JSON.parse(readFileSync(json, 'utf8')).results[0];
        Object.assign(rec, { median: h.median, mean: h.mean, stddev: h.stddev, min: h.min, max: h.max, times: h.times });
      } else {
        rec.status = 'untimed';
      }
    } else {
      rec[s.st === 'wrong' ? 'output' : 'error'] = s.detail;
    }
    byEngine[e] = rec;
  }
  const native = byEngine.native;
  for (const e of ratioEngines) {
    if (native?.median && byEngine[e].median) byEngine[e].ratio = byEngine[e].median / native.median;
  }
  return { kernel: k, checksum: reference[k] ?? null, engines: byEngine };
});

// Geometric mean over the kernels where the engine has a ratio: the right
// mean for ratios (a 2x win and a 2x loss cancel out). A partial mean says
// over how many kernels it was taken, since it is not comparable otherwise.
const geomean = {};
for (const e of ratioEngines) {
  const ratios = results.map((r) => r.engines[e].ratio).filter((x) => x !== undefined);
  geomean[e] = ratios.length
    ? { ratio: Math.exp(ratios.reduce((s, x) => s + Math.log(x), 0) / ratios.length), kernels: ratios.length }
    : { ratio: null, kernels: 0 };
}

// Median seconds of `node -e 0`, when a node engine ran: part of every node time.
const nodeStartup = opt['node-startup']
  ? JSON.parse(readFileSync(opt['node-startup'], 'utf8')).results[0].median
  : null;

const report = {
  date: new Date().toISOString(),
  machine: { nproc: Number(opt.nproc), cpu: opt.cpu, loadAverageAtStart: opt.load },
  command: opt.command,
  nodeStartup,
  versions: { node: opt['node-version'], clang: opt['clang-version'], hyperfine: opt['hyperfine-version'] },
  runs: Number(opt.runs),
  engines,
  results,
  geomean,
};

// --- the table, as markdown (it reads fine in a terminal too) ---

function cell(rec, field) {
  if (rec.status === 'ok') return rec[field] === undefined ? '' : rec[field].toFixed(field === 'ratio' ? 2 : 3);
  return rec.status;
}
const header = ['kernel', ...engines.map((e) => `${e} s`), ...ratioEngines.map((e) => `${e} ×`)];
const rows = results.map((r) => [
  r.kernel,
  ...engines.map((e) => cell(r.engines[e], 'median')),
  ...ratioEngines.map((e) => (engines.includes('native') ? cell(r.engines[e], 'ratio') : '')),
]);
rows.push([
  '**geomean**',
  ...engines.map(() => ''),
  ...ratioEngines.map((e) => {
    const g = geomean[e];
    if (g.ratio === null) return '-';
    const s = g.ratio.toFixed(2);
    return g.kernels < kernels.length ? `${s} (${g.kernels}/${kernels.length})` : `**${s}**`;
  }),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
const table = [
  line(header),
  `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  ...rows.map(line),
].join('\n');

console.log('\n== results (median seconds; × = engine time / native time, lower is better)\n');
console.log(table);
writeFileSync(opt.out, JSON.stringify(report, null, 2) + '\n');
console.log(`\n== ${opt.out}\n`);
console.log(JSON.stringify(report, null, 2));

// --- docs/performance.md ---

if (opt.docs) {
  const begin = '<!-- compute:begin -->';
  const end = '<!-- compute:end -->';
  const problems = results.flatMap((r) =>
    engines
      .filter((e) => r.engines[e].status !== 'ok')
      .map((e) => `- ${r.kernel} / ${e}: ${r.engines[e].status}: ${r.engines[e].error ?? r.engines[e].output ?? ''}`),
  );
  // The JSON's path relative to the repository when it is inside it.
  const rel = relative(opt.root, opt.out);
  const jsonPath = rel.startsWith('..') ? opt.out : rel;
  const section = [
    begin,
    `Measured ${report.date.slice(0, 16).replace('T', ' ')} UTC on ${opt.cpu}, \`nproc\` = ${opt.nproc}, ` +
      `with node ${opt['node-version']}, ${opt['clang-version']} and ${opt['hyperfine-version']}; ` +
      `load average at start ${opt.load} (1, 5, 15 min: other work on the CPUs inflates every time).`,
    '',
    `Command: \`${opt.command}\` (${report.runs} timed run${report.runs === 1 ? '' : 's'} after 1 warm-up; full data in \`${jsonPath}\`).`,
    ...(nodeStartup === null
      ? []
      : ['', `node's own start-up (\`node -e 0\`, median): ${nodeStartup.toFixed(3)} s, included in every node time.`]),
    '',
    'Seconds are medians of the whole process (start, compile, run); × is engine time / native time ' +
      '(lower is better); the geometric mean is taken over the kernels that ran, with the count shown when ' +
      'some did not. "fail": the engine is missing, crashed, trapped or timed out; "wrong": its checksum ' +
      'differs from native\'s.',
    '',
    table,
    ...(problems.length ? ['', 'Not timed:', '', ...problems.map((p) => p.replaceAll('|', '\\|'))] : []),
    end,
  ].join('\n');

  let doc = existsSync(opt.docs) ? readFileSync(opt.docs, 'utf8') : '# Performance\n';
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end);
  if (a >= 0 && b > a) {
    doc = doc.slice(0, a) + section + doc.slice(b + end.length);
  } else {
    // No (well-formed) markers: add the section rather than lose the run.
    doc = doc.replace(/\n*$/, '\n\n') + '## Compute kernels\n\n' + section + '\n';
  }
  writeFileSync(opt.docs, doc);
  console.log(`\n== updated ${opt.docs}`);
}
