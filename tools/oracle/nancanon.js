'use strict';
// Rewrites a module so that its execution is deterministic under the
// spec's NaN rules, which lets three engines be compared bit for bit.
//
// The spec (Wasm 2.0, 4.3.3 "Floating-Point Operations", NaN propagation)
// lets an arithmetic operator that returns a NaN choose its sign, and its
// payload too unless every NaN input was canonical. Engines do choose
// differently (binaryen's interpreter returns +nan:0x400000 for add, sub,
// mul, div, min and max; V8 and myriad return what x86 computes, e.g.
// -nan:0x400000 for inf - inf), and the choice leaks into integers through
// reinterpret, into memory through stores and into control flow. So every
// operator with that freedom (ceil, floor, trunc, nearest, sqrt, add, sub,
// mul, div, min, max of f32 and f64, f32.demote_f64, f64.promote_f32) is
// followed by a call to a helper that
//   - traps (unreachable) if the result is a NaN that is not arithmetic
//     (quiet bit clear): the spec allows only arithmetic NaNs there, so an
//     engine that traps here alone is wrong;
//   - otherwise replaces a NaN by +nan:0x400000 (positive canonical).
// Operators the spec makes deterministic on NaN bits (abs, neg, copysign,
// reinterpret, loads, stores, constants, select, locals, globals) are left
// alone, so their bit-exactness is still compared.
//
// It also adds the export "hashMemory_final", the module's own
// "hashMemory" export (binaryen's -ttf adds it) exported once more at the
// end, so that binaryen, which calls exports in order and prints results
// but not memory, reports a hash of the final memory too.
//
// Only the features of tests/fuzz/tierdiff.sh's list are understood (MVP,
// sign extension, saturating conversions, bulk memory, multi-value, tail
// calls, mutable globals); anything else throws.

class Reader {
	constructor(buf, pos = 0) {
		this.b = buf;
		this.p = pos;
	}
	byte() {
		if (this.p >= this.b.length) throw new Error('unexpected end');
		return this.b[this.p++];
	}
	u32() {
		let r = 0, shift = 0, c;
		do {
			c = this.byte();
			r += (c & 0x7f) * 2 ** shift;
			shift += 7;
		} while (c & 0x80);
		return r;
	}
	skipLeb() {
		while (this.byte() & 0x80);
	}
	skip(n) {
		this.p += n;
		if (this.p > this.b.length) throw new Error('unexpected end');
	}
}

function uleb(n) {
	const out = [];
	do {
		let c = n % 128;
		n = Math.floor(n / 128);
		if (n) c |= 0x80;
		out.push(c);
	} while (n);
	return out;
}

const ARITH_F32 = new Set([0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94,
			   0x95, 0x96, 0x97, 0xb6]);
const ARITH_F64 = new Set([0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
			   0xa3, 0xa4, 0xa5, 0xbb]);

// Copies one function body's instructions, inserting `call h32` / `call
// h64` after the operators above; returns the number inserted.
function rewriteExpr(r, end, out, h32, h64) {
	let n = 0;
	while (r.p < end) {
		const start = r.p;
		const op = r.byte();
		switch (true) {
		case op === 0x02 || op === 0x03 || op === 0x04: {
			const bt = r.b[r.p];
			if (bt === 0x40 || (bt >= 0x6f && bt <= 0x7f)) r.skip(1);
			else r.skipLeb(); // s33 type index
			break;
		}
		case op === 0x0c || op === 0x0d || op === 0x10 || op === 0x12:
		case op >= 0x20 && op <= 0x26:
		case op === 0x41 || op === 0x42 || op === 0xd2:
			r.skipLeb();
			break;
		case op === 0x0e: {
			const k = r.u32();
			for (let i = 0; i <= k; i++) r.skipLeb();
			break;
		}
		case op === 0x11 || op === 0x13:
			r.skipLeb();
			r.skipLeb();
			break;
		case op === 0x1c: {
			const k = r.u32();
			r.skip(k);
			break;
		}
		case op >= 0x28 && op <= 0x3e:
			r.skipLeb();
			r.skipLeb();
			break;
		case op === 0x3f || op === 0x40 || op === 0xd0:
			r.skip(1);
			break;
		case op === 0x43:
			r.skip(4);
			break;
		case op === 0x44:
			r.skip(8);
			break;
		case op === 0xfc: {
			const sub = r.u32();
			if (sub <= 7) break;
			if (sub === 8) { r.skipLeb(); r.skip(1); break; }
			if (sub === 9 || sub === 13) { r.skipLeb(); break; }
			if (sub === 10) { r.skip(2); break; }
			if (sub === 11) { r.skip(1); break; }
			if (sub === 12 || sub === 14) { r.skipLeb(); r.skipLeb(); break; }
			if (sub >= 15 && sub <= 17) { r.skipLeb(); break; }
			throw new Error(`nancanon: 0xfc ${sub} not understood`);
		}
		case op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f:
		case op === 0x1a || op === 0x1b:
		case op >= 0x45 && op <= 0xc4:
		case op === 0xd1:
			break;
		default:
			throw new Error(`nancanon: opcode 0x${op.toString(16)} not understood`);
		}
		for (let i = start; i < r.p; i++) out.push(r.b[i]);
		if (ARITH_F32.has(op)) {
			out.push(0x10, ...uleb(h32));
			n++;
		} else if (ARITH_F64.has(op)) {
			out.push(0x10, ...uleb(h64));
			n++;
		}
	}
	if (r.p !== end) throw new Error('nancanon: body overruns its size');
	return n;
}

function section(id, bytes) {
	return [id, ...uleb(bytes.length), ...bytes];
}

// Helper bodies: (local.get 0) is a NaN iff it differs from itself.
//   if x != x: if (bits & quiet) == 0: unreachable; return canonical
//   x
// Without `strict` the check of the quiet bit is left out (every NaN
// becomes canonical): the variant binaryen runs, because binaryen's
// interpreter returns a signaling NaN operand of ceil, floor and trunc
// unchanged (docs/testing.md, fuzz/regress/oracle/snan-rounding.wasm).
function helperBody(is64, strict) {
	const get0 = [0x20, 0x00];
	const b = [0x00]; // no locals
	if (!is64) {
		b.push(...get0, ...get0, 0x5c, 0x04, 0x40); // f32.ne, if
		if (strict) {
			b.push(...get0, 0xbc, 0x41, ...[0x80, 0x80, 0x80, 0x02], 0x71,
			       0x45, 0x04, 0x40, 0x00, 0x0b); // reinterpret & 0x400000, eqz, if unreachable
		}
		b.push(0x43, 0x00, 0x00, 0xc0, 0x7f, 0x0f, 0x0b); // f32.const nan, return
	} else {
		b.push(...get0, ...get0, 0x62, 0x04, 0x40); // f64.ne, if
		// i64.const 0x0008000000000000 (signed LEB)
		if (strict) {
			b.push(...get0, 0xbd, 0x42,
			       ...[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x04], 0x83,
			       0x50, 0x04, 0x40, 0x00, 0x0b);
		}
		b.push(0x44, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f, 0x0f, 0x0b);
	}
	b.push(...get0, 0x0b);
	return [...uleb(b.length), ...b];
}

// Returns {bytes, inserted} for the module in buf (a Uint8Array); strict
// (the default) makes the helpers trap on a signaling NaN.
function canonicalize(buf, strict = true) {
	const r = new Reader(buf);
	if (buf.length < 8 || r.u32() === undefined) throw new Error('short');
	r.p = 8;
	const secs = [];
	while (r.p < buf.length) {
		const id = r.byte();
		const size = r.u32();
		secs.push({id, start: r.p, end: r.p + size});
		r.skip(size);
	}
	let ntypes = 0, nfuncImports = 0, ndefined = 0;
	for (const s of secs) {
		const sr = new Reader(buf, s.start);
		if (s.id === 1) ntypes = sr.u32();
		if (s.id === 3) ndefined = sr.u32();
		if (s.id === 2) {
			const k = sr.u32();
			for (let i = 0; i < k; i++) {
				sr.skip(sr.u32());
				sr.skip(sr.u32());
				const kind = sr.byte();
				if (kind === 0) { nfuncImports++; sr.skipLeb(); }
				else if (kind === 1) { sr.skip(1); const f = sr.byte(); sr.skipLeb(); if (f & 1) sr.skipLeb(); }
				else if (kind === 2) { const f = sr.byte(); sr.skipLeb(); if (f & 1) sr.skipLeb(); }
				else if (kind === 3) sr.skip(2);
				else throw new Error('nancanon: import kind');
			}
		}
	}
	const t32 = ntypes, t64 = ntypes + 1;
	const h32 = nfuncImports + ndefined, h64 = h32 + 1;
	const out = [...buf.subarray(0, 8)];
	let inserted = 0;
	const haveCode = secs.some((s) => s.id === 10);
	if (!haveCode) return {bytes: buf, inserted: 0};
	let sawType = false;
	for (const s of secs) {
		const body = buf.subarray(s.start, s.end);
		const sr = new Reader(buf, s.start);
		if (s.id === 1) {
			sawType = true;
			sr.u32();
			const rest = [...buf.subarray(sr.p, s.end)];
			out.push(...section(1, [...uleb(ntypes + 2), ...rest,
				0x60, 1, 0x7d, 1, 0x7d, 0x60, 1, 0x7c, 1, 0x7c]));
		} else if (s.id === 3) {
			sr.u32();
			const rest = [...buf.subarray(sr.p, s.end)];
			out.push(...section(3, [...uleb(ndefined + 2), ...rest,
				...uleb(t32), ...uleb(t64)]));
		} else if (s.id === 7) {
			const k = sr.u32();
			const rest = [...buf.subarray(sr.p, s.end)];
			let hashFunc = -1;
			for (let i = 0; i < k; i++) {
				const nl = sr.u32();
				const name = Buffer.from(buf.subarray(sr.p, sr.p + nl)).toString();
				sr.skip(nl);
				const kind = sr.byte();
				const idx = sr.u32();
				if (kind === 0 && name === 'hashMemory') hashFunc = idx;
			}
			if (hashFunc >= 0) {
				const nm = [...Buffer.from('hashMemory_final')];
				out.push(...section(7, [...uleb(k + 1), ...rest,
					...uleb(nm.length), ...nm, 0, ...uleb(hashFunc)]));
			} else {
				out.push(...section(7, [...body]));
			}
		} else if (s.id === 10) {
			const k = sr.u32();
			const code = [...uleb(k + 2)];
			for (let i = 0; i < k; i++) {
				const size = sr.u32();
				const end = sr.p + size;
				const fb = [];
				let nl = sr.u32();
				fb.push(...uleb(nl));
				const ls = sr.p;
				for (; nl > 0; nl--) { sr.skipLeb(); sr.skip(1); }
				fb.push(...buf.subarray(ls, sr.p));
				inserted += rewriteExpr(sr, end, fb, h32, h64);
				code.push(...uleb(fb.length), ...fb);
			}
			code.push(...helperBody(false, strict), ...helperBody(true, strict));
			out.push(...section(10, code));
		} else {
			out.push(...section(s.id, [...body]));
		}
	}
	if (!sawType) throw new Error('nancanon: no type section');
	return {bytes: Uint8Array.from(out), inserted};
}

module.exports = {canonicalize};

if (require.main === module) {
	const fs = require('fs');
	const [, , src, dst] = process.argv;
	const {bytes, inserted} = canonicalize(new Uint8Array(fs.readFileSync(src)));
	fs.writeFileSync(dst, bytes);
	console.error(`nancanon: ${inserted} operators canonicalized`);
}
