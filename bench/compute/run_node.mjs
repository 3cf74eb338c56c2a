// node [v8 flags] run_node.mjs KERNEL.wasm EXPORT [ARGS...]
//
// Runs one export of a wasm module in node and prints each result the way
// the myriad CLI does ("i32:42", "i64:-1"), so run.sh can compare engines'
// output as plain strings. The module gets no imports: the compute kernels
// must not need a host, and one that does is an error here, not a stub.
import { readFileSync } from 'node:fs';

function fail(msg) {
  process.stderr.write(`run_node: ${msg}\n`);
  process.exit(2);
}

const [file, name, ...rawArgs] = process.argv.slice(2);
if (!file || !name) fail('usage: node [v8 flags] run_node.mjs FILE.wasm EXPORT [ARGS...]');

let module;
try {
  module = new WebAssembly.Module(readFileSync(file));
} catch (e) {
  fail(`${file}: ${e.message}`);
}

const imports = WebAssembly.Module.imports(module);
if (imports.length > 0) {
  const list = imports.map((i) => `${i.module}.${i.name} (${i.kind})`).join(', ');
  fail(`${file} has imports, expected none: ${list}`);
}

const fn = new WebAssembly.Instance(module, {}).exports[name];
if (typeof fn !== 'function') fail(`${file}: no exported function "${name}"`);

// The JS API does not tell a function's wasm signature, so the results are
// typed by their JS type: BigInt comes from i64, Number from i32/f32/f64.
// Arguments likewise: "i64:5" or a value too big for a Number becomes a
// BigInt; anything else is a Number.
const args = rawArgs.map((a) => {
  const m = /^(i32|i64|f32|f64):(.*)$/.exec(a);
  if (m) return m[1] === 'i64' ? BigInt(m[2]) : Number(m[2]);
  return Number(a);
});

function format(v) {
  if (typeof v === 'bigint') return `i64:${v}`;
  if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 && !Object.is(v, -0)) return `i32:${v}`;
  return `f64:${v}`;
}

let result;
try {
  result = fn(...args);
} catch (e) {
  fail(`${file}: ${name} trapped: ${e.message}`);
}
const results = result === undefined ? [] : Array.isArray(result) ? result : [result];
for (const r of results) process.stdout.write(format(r) + '\n');
