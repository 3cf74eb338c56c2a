/* Shared by the execution targets: see harness.h. */
#include "harness.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACE ((size_t)1 << 18)

void trace_put(Trace *t, const char *fmt, ...)
{
	if (t->full)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t k = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	if (t->len + k + 1 > MAX_TRACE) {
		t->full = true;
		return;
	}
	if (t->len + k + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		while (cap < t->len + k + 1)
			cap *= 2;
		char *np = realloc(t->p, cap);
		if (!np) {
			t->full = true;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
	memcpy(t->p + t->len, line, k);
	t->len += k;
	t->p[t->len] = 0;
}

void trace_val(Trace *t, myr_val v)
{
	switch (v.type) {
	case MYR_I32:
		trace_put(t, " i32:%u", (uint32_t)v.of.i32);
		break;
	case MYR_I64:
		trace_put(t, " i64:%llu", (unsigned long long)v.of.i64);
		break;
	case MYR_F32: {
		uint32_t b;
		memcpy(&b, &v.of.f32, 4);
		if (isnan(v.of.f32))
			trace_put(t, " f32:%s",
				  b & 0x00400000 ? "qnan" : "snan");
		else
			trace_put(t, " f32:%08x", b);
		break;
	}
	case MYR_F64: {
		uint64_t b;
		memcpy(&b, &v.of.f64, 8);
		if (isnan(v.of.f64))
			trace_put(t, " f64:%s",
				  b & (1ull << 51) ? "qnan" : "snan");
		else
			trace_put(t, " f64:%016llx", (unsigned long long)b);
		break;
	}
	default:
		trace_put(t, " ref:%s", v.of.externref ? "non-null" : "null");
		break;
	}
}

void trace_end_segment(Trace *t)
{
	if (t->nseg < FUZZ_MAX_SEGS)
		t->ends[t->nseg++] = t->len;
}

void trace_free(Trace *t)
{
	free(t->p);
	memset(t, 0, sizeof *t);
}

bool trace_agree(const Trace *a, const Trace *b, bool whole)
{
	if (whole)
		return a->len == b->len && a->nseg == b->nseg &&
		       (!a->len || memcmp(a->p, b->p, a->len) == 0);
	uint32_t n = a->nseg < b->nseg ? a->nseg : b->nseg;
	if (!n)
		return true;
	size_t len = a->ends[n - 1];
	return len == b->ends[n - 1] && (!len || memcmp(a->p, b->p, len) == 0);
}

_Noreturn void trace_mismatch(const char *what, const Trace *a, const Trace *b)
{
	fprintf(stderr, "MISMATCH: %s\n--- first\n%s\n--- second\n%s\n", what,
		a->p ? a->p : "", b->p ? b->p : "");
	abort();
}

/* ------------------------------------------------------------------ */
/* Engines and modules                                                 */

static pthread_mutex_t engines_lock = PTHREAD_MUTEX_INITIALIZER;
static myr_engine *engines[4];

myr_engine *fuzz_engine(myr_tier tier)
{
	pthread_mutex_lock(&engines_lock);
	if (!engines[tier]) {
		myr_config cfg;
		myr_config_default(&cfg);
		cfg.tier = tier;
		cfg.max_memory_bytes = FUZZ_MAX_MEMORY;
		cfg.max_stack_bytes = FUZZ_MAX_STACK;
		cfg.max_table_elems = FUZZ_MAX_TABLE;
		cfg.code_cache_dir = NULL;
		engines[tier] = myr_engine_new(&cfg);
		if (!engines[tier]) {
			fprintf(stderr, "fuzz: no engine\n");
			abort();
		}
	}
	myr_engine *e = engines[tier];
	pthread_mutex_unlock(&engines_lock);
	return e;
}

static myr_hostret host_h(myr_caller *c, void *env, const myr_val *args,
			  myr_val *results)
{
	(void)c, (void)env;
	results[0].of.i32 = gen_host_h(args[0].of.i32);
	return MYR_HOST_OK;
}

static void dump_module(const GenModule *g)
{
	const char *path = getenv("FUZZ_DUMP");
	if (!path)
		return;
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(g->bytes, 1, g->len, f);
		fclose(f);
	}
}

void fuzz_load(myr_engine *e, const GenModule *g, Loaded *out)
{
	memset(out, 0, sizeof *out);
	myr_error err;
	dump_module(g);
	out->module = myr_module_new(e, g->bytes, g->len, &err);
	if (!out->module) {
		fprintf(stderr,
			"fuzz: a generated module (%zu bytes) does not "
			"validate: %s (FUZZ_DUMP=file.wasm saves it)\n",
			g->len, err.message);
		abort();
	}
	/* The compiler declines nothing in a valid module this small: a
	 * function left interpreted means the emitter made IR LLVM refused,
	 * a bug that the tiers' agreement alone would never show. */
	const char *note = myr_module_code_note(out->module);
	if (note && strstr(note, "stays interpreted")) {
		fprintf(stderr, "fuzz: %s (FUZZ_DUMP=file.wasm saves it)\n",
			note);
		abort();
	}
	out->nimports = myr_module_import_count(out->module);
	out->imports = calloc(out->nimports + 1, sizeof *out->imports);
	if (!out->imports)
		abort();
	if (out->nimports) {
		static const myr_valtype i32 = MYR_I32;
		myr_functype ft = {1, 1, &i32, &i32};
		out->h = myr_func_new(e, &ft, host_h, NULL, NULL);
		out->imports[0] = (myr_extern){.kind = MYR_EXTERN_FUNC,
					       .of.func = out->h};
	}
}

void fuzz_unload(Loaded *l)
{
	myr_module_free(l->module);
	myr_func_free(l->h);
	free(l->imports);
	memset(l, 0, sizeof *l);
}

myr_instance *fuzz_instantiate(const Loaded *l, Trace *t)
{
	myr_error err;
	myr_instance *inst =
		myr_instance_new(l->module, l->imports, l->nimports, &err);
	if (!inst) {
		fprintf(stderr,
			"fuzz: a generated module does not instantiate: %s\n",
			err.message);
		abort();
	}
	trace_put(t, "instantiated\n");
	fuzz_record_state(t, inst);
	trace_end_segment(t);
	return inst;
}

uint32_t fuzz_func_exports(const myr_module *m, myr_func **out, uint32_t max,
			   myr_instance *inst)
{
	uint32_t n = 0;
	size_t nx = myr_module_export_count(m);
	for (size_t i = 0; i < nx && n < max; i++) {
		myr_externdesc d;
		myr_extern x;
		if (myr_module_export(m, i, &d) && d.kind == MYR_EXTERN_FUNC &&
		    myr_instance_export(inst, d.name, d.name_len, &x))
			out[n++] = x.of.func;
	}
	return n;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void fuzz_args(const myr_functype *ft, uint64_t seed, uint32_t call,
	       myr_val *args)
{
	static const uint64_t special[] = {
		0, 1, ~0ull, 0x80000000, 0x7fffffff, 0x8000000000000000ull};
	for (uint32_t k = 0; k < ft->nparams; k++) {
		uint64_t r = mix(seed ^ ((uint64_t)call << 32 | k));
		uint64_t bits = (r & 3) == 0   ? special[(r >> 2) % 6]
				: (r & 3) == 1 ? (r >> 8) & 0xff
					       : mix(r);
		myr_val v = {.type = ft->params[k]};
		switch (v.type) {
		case MYR_I32:
			v.of.i32 = (int32_t)bits;
			break;
		case MYR_I64:
			v.of.i64 = (int64_t)bits;
			break;
		case MYR_F32: {
			uint32_t b = (uint32_t)bits;
			memcpy(&v.of.f32, &b, 4);
			break;
		}
		case MYR_F64:
			memcpy(&v.of.f64, &bits, 8);
			break;
		default:
			break;
		}
		args[k] = v;
	}
}

void fuzz_check_trap(const myr_error *e)
{
	switch (e->trap) {
	case MYR_TRAP_UNREACHABLE:
	case MYR_TRAP_INT_OVERFLOW:
	case MYR_TRAP_DIV_BY_ZERO:
	case MYR_TRAP_INVALID_CONVERSION:
	case MYR_TRAP_MEMORY_OOB:
	case MYR_TRAP_TABLE_OOB:
	case MYR_TRAP_UNDEFINED_ELEMENT:
	case MYR_TRAP_UNINITIALIZED_ELEMENT:
	case MYR_TRAP_INDIRECT_TYPE_MISMATCH:
	case MYR_TRAP_STACK_EXHAUSTED:
		return;
	default:
		fprintf(stderr, "fuzz: unexpected trap %d: %s\n", (int)e->trap,
			e->message);
		abort();
	}
}

static uint64_t hash_bytes(const uint8_t *p, uint64_t n)
{
	uint64_t h = 0x243f6a8885a308d3ull;
	uint64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

void fuzz_record_state(Trace *t, myr_instance *inst)
{
	const myr_module *m = myr_instance_module(inst);
	size_t nx = myr_module_export_count(m);
	for (size_t i = 0; i < nx; i++) {
		myr_externdesc d;
		myr_extern x;
		if (!myr_module_export(m, i, &d) ||
		    !myr_instance_export(inst, d.name, d.name_len, &x))
			continue;
		if (d.kind == MYR_EXTERN_MEMORY) {
			uint64_t size = myr_memory_size(x.of.memory);
			trace_put(t, "  memory %llu bytes, hash %016llx\n",
				  (unsigned long long)size,
				  (unsigned long long)hash_bytes(
					  myr_memory_data(x.of.memory), size));
		} else if (d.kind == MYR_EXTERN_GLOBAL) {
			trace_put(t, "  %.*s", (int)d.name_len, d.name);
			trace_val(t, myr_global_get(x.of.global));
			trace_put(t, "\n");
		} else if (d.kind == MYR_EXTERN_TABLE) {
			trace_put(t, "  table %u:", myr_table_size(x.of.table));
			uint32_t n = myr_table_size(x.of.table);
			for (uint32_t k = 0; k < n && k < 32; k++) {
				myr_val v;
				myr_table_get(x.of.table, k, &v);
				trace_put(t, "%c", v.of.funcref ? 'f' : '-');
			}
			trace_put(t, "\n");
		}
	}
}

void fuzz_record_end(Trace *t, myr_instance *inst, myr_status s)
{
	if (s == MYR_STATUS_DONE) {
		myr_val r[16];
		size_t n = myr_instance_results(inst, r, 16);
		trace_put(t, "  =");
		for (size_t k = 0; k < n && k < 16; k++)
			trace_val(t, r[k]);
		trace_put(t, "\n");
	} else if (s == MYR_STATUS_TRAPPED) {
		const myr_error *e = myr_instance_error(inst);
		fuzz_check_trap(e);
		trace_put(t, "  trap %d: %s\n", (int)e->trap, e->message);
	} else {
		fprintf(stderr, "fuzz: a call ended with status %d\n", (int)s);
		abort();
	}
	fuzz_record_state(t, inst);
	trace_end_segment(t);
}

uint32_t fuzz_run_exports(myr_instance *inst, uint64_t seed,
			  const uint32_t *slices, size_t nslices,
			  uint32_t max_calls, Trace *t)
{
	myr_func *funcs[16];
	uint32_t n =
		fuzz_func_exports(myr_instance_module(inst), funcs, 16, inst);
	uint32_t ended = 0;
	for (uint32_t i = 0; i < n && i < max_calls; i++) {
		const myr_functype *ft = myr_func_type(funcs[i]);
		myr_val args[8];
		fuzz_args(ft, seed, i, args);
		myr_error err;
		trace_put(t, "call %u\n", i);
		if (!myr_instance_start(inst, funcs[i], args, ft->nparams,
					&err)) {
			/* Only a stack too small for the frame fails here. */
			trace_put(t, "  start: %s\n", err.message);
			trace_end_segment(t);
			ended++;
			continue;
		}
		myr_status s;
		if (!nslices) {
			s = myr_instance_run(inst, FUZZ_FUEL);
			if (s == MYR_STATUS_READY) {
				trace_put(t, "  out of fuel\n");
				t->out_of_fuel = true;
				return ended;
			}
		} else {
			uint64_t k = 0;
			do {
				if (k > FUZZ_FUEL + 16) {
					fprintf(stderr,
						"fuzz: call %u makes no "
						"progress in slices\n",
						i);
					abort();
				}
				s = myr_instance_run(inst,
						     slices[k++ % nslices]);
			} while (s == MYR_STATUS_READY);
		}
		fuzz_record_end(t, inst, s);
		ended++;
	}
	return ended;
}
