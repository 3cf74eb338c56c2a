// node --no-warnings run_wasi.mjs [--dir HOST::GUEST]... [--env KEY=VALUE]... MODULE.wasm [ARG...]
//
// Runs a WASI command under node's `node:wasi` with the same command line
// shape as `myriad run`: the arguments after the module are the program's
// (argv[0] is the module's path, as myriad passes it), the environment is
// only what --env gives, and each --dir preopens HOST as GUEST. The exit
// status is the program's; a trap is reported on stderr with status 1,
// like myriad.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

function usage() {
  process.stderr.write('usage: node run_wasi.mjs [--dir HOST::GUEST]... [--env K=V]... MODULE.wasm [ARG...]\n');
  process.exit(2);
}

const argv = process.argv.slice(2);
const preopens = {};
const env = {};
while (argv.length && argv[0].startsWith('--')) {
  const [opt, value] = argv.splice(0, 2);
  if (value === undefined) usage();
  if (opt === '--dir') {
    const [host, guest = host] = value.split('::');
    preopens[guest] = host;
  } else if (opt === '--env') {
    const eq = value.indexOf('=');
    if (eq <= 0) usage();
    env[value.slice(0, eq)] = value.slice(eq + 1);
  } else {
    usage();
  }
}
const [file, ...args] = argv;
if (!file) usage();

const wasi = new WASI({ version: 'preview1', args: [file, ...args], env, preopens, returnOnExit: true });
try {
  const module = await WebAssembly.compile(readFileSync(file));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  process.exitCode = wasi.start(instance);
} catch (e) {
  process.stderr.write(`run_wasi: trap: ${e.message}\n`);
  process.exitCode = 1;
}
