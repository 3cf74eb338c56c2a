'use strict';
// Differential execution of myriad against two independent engines:
// binaryen's interpreter (wasm-opt --fuzz-exec-before) and V8 (this
// process's WebAssembly). Random modules come from binaryen's
// translate-to-fuzz (wasm-opt -ttf) on seeded bytes; each is made
// NaN-deterministic (nancanon.js), then run by all three engines with
// binaryen's convention: exports in order, zero arguments,
// hangLimitInitializer before each, the fuzzing-support log-* imports.
// What is compared is described in docs/testing.md ("Differential
// execution against binaryen and V8").
//
//   node fuzzdiff.js --build DIR [--first SEED] [--count N] [--size BYTES]
//                    [--tiers K] [--batch B] [--out DIR] [--quiet]
//                    [--no-canon] [--binaryen-strict]
//   node fuzzdiff.js --build DIR --files A.wasm B.wasm ...
//
// Seeds FIRST..FIRST+N-1 give the -ttf input (BYTES splitmix64 bytes, the
// same as `tierdiff --random SEED BYTES`). Every K-th module (default 0:
// none) is also compared across myriad's tiers. --files replays given
// modules (the regression corpus) instead. --no-canon runs the modules as
// -ttf made them, to see what the NaN rewriting takes away.
// --binaryen-strict gives binaryen the strict helpers too, as myriad and
// V8 (it shows binaryen's signaling-NaN bug, docs/testing.md). A module that differs is kept in
// the --out directory (default DIR/fuzz-diff) with the three traces. Exit
// status 1 if any module differed.
const fs = require('fs');
const os = require('os');
const path = require('path');
const {spawnSync} = require('child_process');
const {canonicalize} = require('./nancanon.js');

// Tail calls are on by default from V8 11.2 (node 20); node 18's V8 (Debian
// 12's nodejs) has them behind this flag, which later V8s still accept.
require('v8').setFlagsFromString('--experimental-wasm-return-call');

const FEATURES = ['--mvp-features', '--enable-bulk-memory', '--enable-sign-ext',
	'--enable-nontrapping-float-to-int', '--enable-mutable-globals',
	'--enable-multivalue', '--enable-tail-call'];

function parseArgs(argv) {
	const o = {first: 1, count: 100, size: 12000, tiers: 0, batch: 200,
		   files: null, quiet: false, canon: true, binStrict: false};
	for (let i = 2; i < argv.length; i++) {
		const a = argv[i];
		const next = () => argv[++i];
		if (a === '--build') o.build = next();
		else if (a === '--first') o.first = Number(next());
		else if (a === '--count') o.count = Number(next());
		else if (a === '--size') o.size = Number(next());
		else if (a === '--tiers') o.tiers = Number(next());
		else if (a === '--batch') o.batch = Number(next());
		else if (a === '--out') o.out = next();
		else if (a === '--quiet') o.quiet = true;
		else if (a === '--no-canon') o.canon = false;
		else if (a === '--binaryen-strict') o.binStrict = true;
		else if (a === '--files') { o.files = argv.slice(i + 1); break; }
		else throw new Error(`fuzzdiff: unknown argument ${a}`);
	}
	if (!o.build) throw new Error('fuzzdiff: --build DIR is required');
	o.out = o.out || path.join(o.build, 'fuzz-diff');
	return o;
}

// splitmix64, as tools/tierdiff.c's --random.
function randomBytes(seed, len) {
	const M = (1n << 64n) - 1n;
	let x = BigInt(seed) & M;
	const out = Buffer.alloc(len);
	for (let i = 0; i < len; i++) {
		x = (x + 0x9e3779b97f4a7c15n) & M;
		let z = x;
		z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
		z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
		out[i] = Number((z ^ (z >> 31n)) & 0xffn);
	}
	return out;
}

// ---- the module's function types (V8 needs them for arguments/results)

const VT = {0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x70: 'ref', 0x6f: 'ref'};

function exportTypes(buf) {
	let p = 8;
	const leb = () => {
		let r = 0, s = 0, c;
		do { c = buf[p++]; r += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80);
		return r;
	};
	const types = [], funcs = [], exps = [];
	while (p < buf.length) {
		const id = buf[p++], size = leb(), end = p + size;
		if (id === 1) {
			for (let n = leb(); n > 0; n--) {
				p++; // 0x60
				const params = [], results = [];
				for (let k = leb(); k > 0; k--) params.push(VT[buf[p++]]);
				for (let k = leb(); k > 0; k--) results.push(VT[buf[p++]]);
				types.push({params, results});
			}
		} else if (id === 2) {
			for (let n = leb(); n > 0; n--) {
				const skip = () => { const n = leb(); p += n; };
				skip();
				skip();
				const kind = buf[p++];
				if (kind === 0) funcs.push(leb());
				else if (kind === 1) { p++; const f = buf[p++]; leb(); if (f & 1) leb(); }
				else if (kind === 2) { const f = buf[p++]; leb(); if (f & 1) leb(); }
				else p += 2;
			}
		} else if (id === 3) {
			for (let n = leb(); n > 0; n--) funcs.push(leb());
		} else if (id === 7) {
			for (let n = leb(); n > 0; n--) {
				const nl = leb();
				const name = buf.subarray(p, p + nl).toString();
				p += nl;
				const kind = buf[p++], idx = leb();
				exps.push({name, kind, type: kind === 0 ? types[funcs[idx]] : null});
			}
		}
		p = end;
	}
	return exps;
}

// ---- trap kinds: messages of each engine mapped to the spec's kinds

// myriad's myr_trap codes (include/myriad.h)
const MYR_KIND = {1: 'unreachable', 2: 'overflow', 3: 'div-zero', 4: 'convert',
	5: 'memory', 6: 'table', 7: 'table', 8: 'table', 9: 'table',
	10: 'limit', 13: 'limit'};

function kindOfMessage(m) {
	m = m.toLowerCase();
	if (/stack|host limit|maximum call/.test(m)) return 'limit';
	if (/unreachable/.test(m)) return 'unreachable';
	if (/by 0|by zero|divide by zero/.test(m)) return 'div-zero';
	if (/trunc|float unrepresentable|conversion/.test(m)) return 'convert';
	if (/\btable\b|calltable|callindirect|call_indirect|signature|null function|uninitialized|\belem/.test(m)) return 'table';
	if (/overflow|unrepresentable/.test(m)) return 'overflow';
	if (/memory|segment|> memory|out of bounds/.test(m)) return 'memory';
	return 'other';
}

// myriad's "integer overflow" covers both a trunc out of range and
// INT_MIN / -1; the other engines tell them apart.
function sameKind(my, other) {
	if (my === other) return true;
	if (my === 'overflow' && other === 'convert') return true;
	return false;
}

// ---- value encodings: every engine's value becomes {t, bits} with bits a
// BigInt of the value's own width (i32/f32 32 bits, i64/f64 64 bits);
// nanOnly marks a float that only says it is a NaN (V8: an ECMAScript
// Number has one NaN value, ES2023 6.1.6.1, so the bits do not cross).

const dv = new DataView(new ArrayBuffer(8));
function f32bits(x) { dv.setFloat32(0, x); return BigInt(dv.getUint32(0)); }
function f64bits(x) { dv.setFloat64(0, x); return dv.getBigUint64(0); }
function isNanBits(t, b) {
	if (t === 'f32') return (b & 0x7f800000n) === 0x7f800000n && (b & 0x7fffffn) !== 0n;
	if (t === 'f64') return (b & 0x7ff0000000000000n) === 0x7ff0000000000000n &&
		(b & 0xfffffffffffffn) !== 0n;
	return false;
}

function fromJs(t, v) {
	switch (t) {
	case 'i32': return {t, bits: BigInt(v >>> 0)};
	case 'i64': return {t, bits: BigInt.asUintN(64, BigInt(v))};
	case 'f32': return Number.isNaN(v) ? {t, nanOnly: true} : {t, bits: f32bits(v)};
	case 'f64': return Number.isNaN(v) ? {t, nanOnly: true} : {t, bits: f64bits(v)};
	default: return {t: 'ref'};
	}
}

// myriad's exact tokens "i32:-5", "f32:7fc00000"
function fromMyriad(tok) {
	const [t, v] = tok.split(':');
	if (t === 'i32') return {t, bits: BigInt.asUintN(32, BigInt(v))};
	if (t === 'i64') return {t, bits: BigInt.asUintN(64, BigInt(v))};
	if (t === 'f32' || t === 'f64') return {t, bits: BigInt('0x' + v)};
	return {t: 'ref'};
}

// A binaryen literal as printed (Literal's operator<<), read as type t.
function fromBinaryen(t, s) {
	if (t === 'i32') return {t, bits: BigInt.asUintN(32, BigInt(s))};
	if (t === 'i64') return {t, bits: BigInt.asUintN(64, BigInt(s))};
	if (t !== 'f32' && t !== 'f64') return {t: 'ref'};
	const neg = s.startsWith('-');
	const body = neg ? s.slice(1) : s;
	const w = t === 'f32';
	const sign = neg ? (w ? 0x80000000n : 0x8000000000000000n) : 0n;
	if (body.startsWith('nan')) {
		const payload = body.length > 3 ? BigInt(body.slice(4)) : (w ? 0x400000n : 0x8000000000000n);
		return {t, bits: sign | (w ? 0x7f800000n : 0x7ff0000000000000n) | payload};
	}
	if (body === 'inf') return {t, bits: sign | (w ? 0x7f800000n : 0x7ff0000000000000n)};
	const x = parseFloat(s);
	if (Number.isNaN(x)) return {t, bad: s};
	return w ? {t, bits: f32bits(Math.fround(x))} : {t, bits: f64bits(x)};
}

function sameVal(a, b) {
	if (a.t !== b.t) return false;
	if (a.t === 'ref') return true;
	if (a.bad || b.bad) return false;
	if (a.nanOnly || b.nanOnly) {
		const an = a.nanOnly || isNanBits(a.t, a.bits);
		const bn = b.nanOnly || isNanBits(b.t, b.bits);
		return an && bn;
	}
	return a.bits === b.bits;
}

function showVal(v) {
	if (v.t === 'ref') return 'ref';
	if (v.bad) return `${v.t}:?${v.bad}`;
	if (v.nanOnly) return `${v.t}:nan`;
	const w = v.t === 'i32' || v.t === 'f32' ? 8 : 16;
	return `${v.t}:${v.bits.toString(16).padStart(w, '0')}`;
}

// ---- engine runs, each into {inst, calls: [{name, logs, out}], mem}
// out: {k: 'ok', vals} | {k: 'trap', kind, msg} | {k: 'limit', msg}

function parseMyriad(lines) {
	const r = {inst: null, calls: [], mem: null, tiers: null};
	let cur = null;
	for (const line of lines) {
		const s = line.trim();
		if (s.startsWith('call ')) {
			cur = {name: s.slice(5), logs: [], out: null};
			r.calls.push(cur);
		} else if (s.startsWith('log ')) {
			cur.logs.push(fromMyriad(s.slice(4)));
		} else if (s === '=' || s.startsWith('= ')) {
			cur.out = {k: 'ok', vals: s.slice(1).trim().split(/\s+/).filter(Boolean).map(fromMyriad)};
		} else if (s.startsWith('trap ')) {
			const m = /^trap (\d+): (.*)$/.exec(s);
			const kind = MYR_KIND[m[1]] || 'other';
			cur.out = kind === 'limit' ? {k: 'limit', msg: m[2]} : {k: 'trap', kind, msg: m[2]};
		} else if (s.startsWith('out of fuel')) {
			if (cur) cur.out = {k: 'limit', msg: 'out of fuel'};
		} else if (s.startsWith('memory ')) {
			const m = /fnv32 ([0-9a-f]+)/.exec(s);
			r.mem = m[1];
		} else if (s.startsWith('module:') || s.startsWith('instantiate:') || s.startsWith('import ')) {
			r.inst = s;
		} else if (s.startsWith('tiers ')) {
			r.tiers = s.slice(6);
		}
	}
	return r;
}

function parseBinaryen(text, types) {
	const r = {inst: null, calls: [], mem: null};
	let cur = null;
	for (const line of text.split('\n')) {
		let m;
		if ((m = /^\[fuzz-exec\] calling (.*)$/.exec(line))) {
			cur = {name: m[1], logs: [], out: null, rawLogs: []};
			r.calls.push(cur);
		} else if ((m = /^\[LoggingExternalInterface logging (.*)\]$/.exec(line))) {
			if (cur) cur.rawLogs.push(m[1].split(' '));
			else r.inst = (r.inst || '') + 'log before any call';
		} else if ((m = /^\[fuzz-exec\] note result: (.*?) => (.*)$/.exec(line))) {
			const ty = types.get(m[1]);
			let toks = m[2];
			if (toks.startsWith('(')) toks = toks.slice(1, -1);
			toks = toks.split(', ');
			cur.out = {k: 'ok', vals: ty && toks.length === ty.results.length ? ty.results.map((t, i) => fromBinaryen(t, toks[i])) : [{t: 'i32', bad: m[2]}]};
		} else if ((m = /^\[(trap|host limit)(.*)\]$/.exec(line))) {
			const msg = (m[1] + m[2]).trim();
			const kind = kindOfMessage(msg);
			const out = kind === 'limit' ? {k: 'limit', msg} : {k: 'trap', kind, msg};
			if (cur) cur.out = out;
			else r.inst = 'instantiate: ' + msg;
		}
	}
	for (const c of r.calls) {
		if (!c.out) c.out = {k: 'ok', vals: []};
	}
	return r;
}

// binaryen's log lines are untyped (an i64 is printed as two i32s, low
// then high); they are read with the types myriad logged.
function typeBinaryenLogs(b, my) {
	for (let i = 0; i < b.calls.length; i++) {
		const c = b.calls[i], mc = my.calls[i];
		c.logs = c.rawLogs.map((toks, j) => {
			const t = mc && mc.logs[j] ? mc.logs[j].t : (toks.length === 2 ? 'i64' : 'i32');
			if (t === 'i64' && toks.length === 2) {
				const lo = BigInt.asUintN(32, BigInt(toks[0]));
				const hi = BigInt.asUintN(32, BigInt(toks[1]));
				return {t, bits: (hi << 32n) | lo};
			}
			if (toks.length !== 1) return {t, bad: toks.join(' ')};
			return fromBinaryen(t, toks[0]);
		});
	}
}

function fnv32(bytes) {
	let h = 2166136261;
	for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619) >>> 0;
	return h.toString(16).padStart(8, '0');
}

const LOG_TYPES = {'log-i32': 'i32', 'log-i64': 'i64', 'log-f32': 'f32', 'log-f64': 'f64'};

function zero(t) { return t === 'i64' ? 0n : 0; }

function runV8(bytes, exps) {
	const r = {inst: null, calls: [], mem: null};
	let cur = null;
	const logs = [];
	const imports = {'fuzzing-support': {}};
	for (const [name, t] of Object.entries(LOG_TYPES))
		imports['fuzzing-support'][name] = (v) => { logs.push(fromJs(t, v)); };
	let inst;
	try {
		inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
	} catch (e) {
		r.inst = (e instanceof WebAssembly.RuntimeError ? 'instantiate: ' : 'module: ') + e.message;
		return r;
	}
	const hang = inst.exports.hangLimitInitializer;
	const call = (f, ty) => {
		try {
			const v = f(...ty.params.map(zero));
			const vals = ty.results.length === 0 ? [] :
				ty.results.length === 1 ? [v] : [...v];
			return {k: 'ok', vals: vals.map((x, i) => fromJs(ty.results[i], x))};
		} catch (e) {
			if (e instanceof RangeError) return {k: 'limit', msg: e.message};
			if (e instanceof WebAssembly.RuntimeError) {
				return {k: 'trap', kind: kindOfMessage(e.message), msg: e.message};
			}
			return {k: 'trap', kind: 'other', msg: String(e)};
		}
	};
	for (const x of exps) {
		if (x.kind !== 0) continue;
		cur = {name: x.name, logs: [], out: null};
		r.calls.push(cur);
		logs.length = 0;
		if (hang) {
			const h = call(hang, {params: [], results: []});
			if (h.k !== 'ok') {
				cur.out = h;
				cur.logs = logs.slice();
				if (h.k === 'limit') break;
				continue;
			}
		}
		cur.out = call(inst.exports[x.name], x.type);
		cur.logs = logs.slice();
		if (cur.out.k === 'limit') break;
	}
	const mx = exps.find((x) => x.kind === 2);
	if (mx) r.mem = fnv32(new Uint8Array(inst.exports[mx.name].buffer));
	return r;
}

// ---- comparison of myriad (my) with one oracle (o). Returns
// {verdict: 'agree' | 'limit' | 'differ', why}

function showOut(o) {
	if (!o) return 'nothing';
	if (o.k === 'ok') return '= ' + o.vals.map(showVal).join(' ');
	return `${o.k} ${o.kind || ''} (${o.msg})`;
}

function compare(my, o, oname) {
	if (my.inst || o.inst) {
		const a = my.inst ? my.inst.split(':')[0] : 'ok';
		const b = o.inst ? o.inst.split(':')[0] : 'ok';
		if (a === b || (my.inst && o.inst)) return {verdict: 'agree', noteInst: true};
		return {verdict: 'differ', why: `instantiation: myriad ${my.inst || 'ok'}, ${oname} ${o.inst || 'ok'}`};
	}
	const n = Math.max(my.calls.length, o.calls.length);
	for (let i = 0; i < n; i++) {
		const a = my.calls[i], b = o.calls[i];
		if (a && a.out && a.out.k === 'limit') return {verdict: 'limit', who: 'myriad', why: a.out.msg};
		if (b && b.out && b.out.k === 'limit') return {verdict: 'limit', who: oname, why: b.out.msg};
		if (!a || !b || a.name !== b.name) {
			return {verdict: 'differ', why: `export ${i}: myriad calls ${a ? a.name : '(none)'}, ${oname} ${b ? b.name : '(none)'}`};
		}
		const where = `export ${i} (${a.name})`;
		if (a.logs.length !== b.logs.length) {
			return {verdict: 'differ', why: `${where}: myriad logged ${a.logs.length} values, ${oname} ${b.logs.length}`};
		}
		for (let j = 0; j < a.logs.length; j++) {
			if (!sameVal(a.logs[j], b.logs[j])) {
				return {verdict: 'differ', why: `${where}: log ${j}: myriad ${showVal(a.logs[j])}, ${oname} ${showVal(b.logs[j])}`};
			}
		}
		const ao = a.out, bo = b.out;
		if (ao.k !== bo.k) return {verdict: 'differ', why: `${where}: myriad ${showOut(ao)}, ${oname} ${showOut(bo)}`};
		if (ao.k === 'trap') {
			if (!sameKind(ao.kind, bo.kind) && bo.kind !== 'other') {
				return {verdict: 'differ', why: `${where}: trap kinds: myriad ${showOut(ao)}, ${oname} ${showOut(bo)}`};
			}
			continue;
		}
		const av = ao.vals, bv = bo.vals;
		if (av.length !== bv.length || av.some((v, k) => !sameVal(v, bv[k]))) {
			return {verdict: 'differ', why: `${where}: myriad ${showOut(ao)}, ${oname} ${showOut(bo)}`};
		}
	}
	if (o.mem !== null && my.mem !== o.mem) {
		return {verdict: 'differ', why: `final memory: myriad fnv32 ${my.mem}, ${oname} ${o.mem}`};
	}
	return {verdict: 'agree'};
}

// ---- driver

function tally() {
	return {generated: 0, genFailed: 0, compared: 0, agreed: 0, differ: 0,
		notCompared: {}, tiersCompared: 0, tiersDiffer: 0, instTrap: 0,
		inserted: 0, examples: [], limited: [], ms: {ttf: 0, canon: 0, binaryen: 0, myriad: 0, v8: 0}};
}

function runBatch(o, items, T) {
	// items: [{label, raw (Buffer|null), canon (Uint8Array), file}]
	let t = Date.now();
	const td = spawnSync(path.join(o.build, 'tierdiff'),
		['--trace', '--tiers', String(o.tiers), ...items.map((it) => it.file)],
		{maxBuffer: 1 << 30, encoding: 'utf8'});
	if (td.error || td.status === 2) throw new Error(`tierdiff failed: ${td.error || td.stderr}`);
	T.ms.myriad += Date.now() - t;
	const blocks = new Map();
	let curBlock = null;
	for (const line of td.stdout.split('\n')) {
		if (line.startsWith('module ')) { curBlock = []; blocks.set(line.slice(7), curBlock); }
		else if (line === 'end') curBlock = null;
		else if (curBlock) curBlock.push(line);
	}
	for (const it of items) {
		const lines = blocks.get(it.file);
		if (!lines) throw new Error(`tierdiff gave no trace for ${it.file}`);
		const my = parseMyriad(lines);
		const exps = exportTypes(Buffer.from(it.canon));
		const types = new Map(exps.filter((x) => x.kind === 0).map((x) => [x.name, x.type]));
		const bin = parseBinaryen(it.binText, types);
		typeBinaryenLogs(bin, my);
		t = Date.now();
		const v8 = runV8(it.canon, exps);
		T.ms.v8 += Date.now() - t;
		if (my.tiers !== null) {
			T.tiersCompared++;
			if (my.tiers !== 'ok') T.tiersDiffer++;
		}
		const rb = it.binFailed ? {verdict: 'limit', who: 'binaryen', why: it.binFailed} : compare(my, bin, 'binaryen');
		const rv = compare(my, v8, 'v8');
		if (my.inst) T.instTrap++;
		const bad = [rb, rv].filter((x) => x.verdict === 'differ');
		const tiersBad = my.tiers !== null && my.tiers !== 'ok';
		if (bad.length || tiersBad) {
			T.differ++;
			const why = bad.map((x) => x.why).concat(tiersBad ? [`tiers ${my.tiers}`] : []);
			T.examples.push(`${it.label}: ${why.join('; ')}`);
			fs.mkdirSync(o.out, {recursive: true});
			const base = path.join(o.out, it.label.replace(/[^\w.-]/g, '_'));
			if (it.raw) fs.writeFileSync(base + '.raw.wasm', it.raw);
			fs.writeFileSync(base + '.wasm', it.canon);
			fs.writeFileSync(base + '.txt', [`${it.label}`, ...why, '--- myriad', ...lines,
				'--- binaryen', it.binText, '--- v8', JSON.stringify(v8.calls.map((c) =>
					({name: c.name, logs: c.logs.map(showVal), out: showOut(c.out)})), null, 1)].join('\n'));
			if (!o.quiet) console.log(`MISMATCH ${it.label}: ${why.join('; ')} (kept as ${base}.wasm)`);
		} else if (rb.verdict === 'limit' || rv.verdict === 'limit') {
			const who = rb.verdict === 'limit' ? rb : rv;
			const key = `${who.who}: ${who.why.replace(/\d+/g, 'N')}`;
			T.notCompared[key] = (T.notCompared[key] || 0) + 1;
			T.limited.push(`${it.label}: ${who.who}: ${who.why}`);
		} else {
			T.compared++;
			T.agreed++;
		}
		fs.rmSync(it.file, {force: true});
	}
}

function binaryenRun(file) {
	const b = spawnSync('wasm-opt', [file, ...FEATURES, '--fuzz-exec-before', '-q'],
		{encoding: 'utf8', maxBuffer: 1 << 28, timeout: 600000});
	if (b.error) return {failed: `wasm-opt: ${b.error.code || b.error}`};
	if (b.status !== 0) return {failed: `wasm-opt exit ${b.status}`, text: b.stdout};
	return {text: b.stdout};
}

function main() {
	const o = parseArgs(process.argv);
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzzdiff-'));
	const T = tally();
	const t0 = Date.now();
	try {
		let items = [];
		const flush = () => { if (items.length) runBatch(o, items, T); items = []; };
		const add = (label, raw, i) => {
			let c, t = Date.now();
			try {
				c = o.canon ? canonicalize(new Uint8Array(raw)) :
					{bytes: new Uint8Array(raw), inserted: 0};
			} catch (e) {
				T.genFailed++;
				if (!o.quiet) console.log(`${label}: ${e.message}`);
				return;
			}
			T.inserted += c.inserted;
			const file = path.join(work, `c${i}.wasm`);
			fs.writeFileSync(file, c.bytes);
			// binaryen runs the lenient variant: its interpreter keeps a
			// signaling NaN through ceil, floor and trunc unchanged, which
			// the strict helpers would report as a trap.
			let binFile = file;
			if (o.canon && !o.binStrict) {
				binFile = path.join(work, `b${i}.wasm`);
				fs.writeFileSync(binFile, canonicalize(new Uint8Array(raw), false).bytes);
			}
			T.ms.canon += Date.now() - t;
			t = Date.now();
			const b = binaryenRun(binFile);
			T.ms.binaryen += Date.now() - t;
			if (binFile !== file) fs.rmSync(binFile, {force: true});
			items.push({label, raw, canon: c.bytes, file, binText: b.text || '', binFailed: b.failed});
			if (items.length >= o.batch) flush();
		};
		if (o.files) {
			o.files.forEach((f, i) => add(path.basename(f), fs.readFileSync(f), i));
		} else {
			const inFile = path.join(work, 'in.dat'), mFile = path.join(work, 'm.wasm');
			for (let s = o.first; s < o.first + o.count; s++) {
				const t = Date.now();
				fs.writeFileSync(inFile, randomBytes(s, o.size));
				const g = spawnSync('wasm-opt', ['-ttf', inFile, ...FEATURES, '-o', mFile],
					{encoding: 'utf8', timeout: 600000});
				T.ms.ttf += Date.now() - t;
				if (g.status !== 0) { T.genFailed++; continue; }
				T.generated++;
				add(`seed-${s}-size-${o.size}`, fs.readFileSync(mFile), s);
			}
		}
		flush();
	} finally {
		fs.rmSync(work, {recursive: true, force: true});
	}
	const secs = (Date.now() - t0) / 1000;
	const nc = Object.values(T.notCompared).reduce((a, b) => a + b, 0);
	const total = T.compared + T.differ + nc;
	console.log(`fuzzdiff: ${total} modules (${o.files ? 'files' : `seeds ${o.first}..${o.first + o.count - 1}, ${o.size} bytes`}) ` +
		`in ${secs.toFixed(1)} s, ${(total / secs).toFixed(1)} modules/s`);
	console.log(`fuzzdiff: compared with binaryen and V8: ${T.compared + T.differ}, agreed ${T.agreed}, mismatches ${T.differ}` +
		`${T.instTrap ? ` (${T.instTrap} failed to instantiate in myriad)` : ''}`);
	console.log(`fuzzdiff: not compared (an engine hit its own limit): ${nc}`);
	for (const [k, v] of Object.entries(T.notCompared).sort((a, b) => b[1] - a[1]))
		console.log(`fuzzdiff:   ${v} ${k}`);
	if (T.genFailed) console.log(`fuzzdiff: wasm-opt -ttf or nancanon failed: ${T.genFailed}`);
	console.log(`fuzzdiff: tiers compared on ${T.tiersCompared} modules, ${T.tiersDiffer} differ`);
	console.log(`fuzzdiff: NaN-canonicalizing calls inserted: ${T.inserted}`);
	console.log(`fuzzdiff: seconds in ${Object.entries(T.ms).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(', ')}`);
	for (const e of T.examples.slice(0, 20)) console.log(`fuzzdiff: MISMATCH ${e}`);
	for (const e of T.limited.slice(0, 50)) console.log(`fuzzdiff: NOT COMPARED ${e}`);
	process.exitCode = T.differ ? 1 : 0;
}

main();
