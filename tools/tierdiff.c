/*
 * tierdiff: runs a module's exported functions in the interpreter, in
 * compiled code and in the two mixed (every other function compiled), and
 * checks that every tier saw the same thing: results, traps, values
 * logged through binaryen's fuzzing imports ("fuzzing-support" log-i32,
 * log-i64, log-f32, log-f64) and the final contents of memory.
 *
 *   tierdiff [-v] MODULE.wasm...
 *   tierdiff --random SEED LEN FILE   (LEN pseudo-random bytes from SEED,
 *                                      the input of wasm-opt -ttf)
 *
 *   tierdiff --trace [--tiers K] MODULE.wasm...
 *                                     (the interpreter's exact trace of
 *                                      each module for the oracle
 *                                      comparison, tools/oracle/)
 *
 * Exit status 0 if every module agreed in every tier, 1 on a mismatch (the
 * two traces are printed), 2 on bad usage or an unreadable file. Modules
 * that fail to decode or instantiate are reported the same way in every
 * tier (that must agree too). Exports run in order with zero arguments,
 * each with at most FUEL units of fuel; once one runs out, its state
 * differs between tiers (they spend fuel at the same points, but not the
 * same amounts per point), so the rest of that module is not compared.
 * NaNs compare by kind (quiet or signaling, sign ignored), not by payload:
 * the spec lets an engine choose the payload of an arithmetic NaN.
 *
 * --trace follows binaryen's --fuzz-exec convention instead, so that the
 * trace can be compared with binaryen's interpreter and V8: before every
 * export the export "hangLimitInitializer" (if any) runs, values are
 * printed with their exact bits (the modules compared there have their
 * arithmetic NaNs made canonical, tools/oracle/nancanon.js), a trap is
 * named by its kind, and memory is hashed with 32-bit FNV-1a. Every K-th
 * module (K = 0: none) is also run in the compiled and mixed tiers, under
 * the same convention, and "tiers ok" or "tiers differ" is printed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myriad.h"

#define FUEL	   ((int64_t)20000000)
#define MAX_TRACE  ((size_t)1 << 20)
#define MAX_MEMORY ((uint64_t)16 << 20)

typedef struct Trace {
	char *p;
	size_t len, cap;
	bool full;
	bool exact; /* --trace: exact bits, binaryen's call convention */
} Trace;

__attribute__((format(printf, 2, 3))) static void put(Trace *t, const char *fmt,
						      ...)
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
		size_t cap = t->cap ? t->cap * 2 : 4096;
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

/* A value as text; NaNs by kind only, unless the trace is exact. */
static void put_val(Trace *t, myr_val v)
{
	if (t->exact) {
		uint32_t b32;
		uint64_t b64;
		switch (v.type) {
		case MYR_I32:
			put(t, " i32:%d", (int32_t)v.of.i32);
			return;
		case MYR_I64:
			put(t, " i64:%lld", (long long)v.of.i64);
			return;
		case MYR_F32:
			memcpy(&b32, &v.of.f32, 4);
			put(t, " f32:%08x", b32);
			return;
		case MYR_F64:
			memcpy(&b64, &v.of.f64, 8);
			put(t, " f64:%016llx", (unsigned long long)b64);
			return;
		default:
			break;
		}
	}
	switch (v.type) {
	case MYR_I32:
		put(t, " i32:%u", (uint32_t)v.of.i32);
		break;
	case MYR_I64:
		put(t, " i64:%llu", (unsigned long long)v.of.i64);
		break;
	case MYR_F32: {
		uint32_t b;
		memcpy(&b, &v.of.f32, 4);
		if (isnan(v.of.f32))
			put(t, " f32:%s", b & 0x00400000 ? "qnan" : "snan");
		else
			put(t, " f32:%08x", b);
		break;
	}
	case MYR_F64: {
		uint64_t b;
		memcpy(&b, &v.of.f64, 8);
		if (isnan(v.of.f64))
			put(t, " f64:%s", b & (1ull << 51) ? "qnan" : "snan");
		else
			put(t, " f64:%016llx", (unsigned long long)b);
		break;
	}
	default:
		/* References: whether null is all a tier can agree on. */
		put(t, " ref:%s", v.of.externref ? "non-null" : "null");
		break;
	}
}

static myr_hostret log_value(myr_caller *c, void *env, const myr_val *args,
			     myr_val *results)
{
	(void)c, (void)results;
	Trace *t = env;
	put(t, "  log");
	put_val(t, args[0]);
	put(t, "\n");
	return MYR_HOST_OK;
}

static uint32_t fnv32(const uint8_t *p, uint64_t n)
{
	uint32_t h = 2166136261u;
	for (uint64_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint64_t fnv(const uint8_t *p, uint64_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (uint64_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static void put_trap(Trace *t, myr_instance *inst)
{
	const myr_error *e = myr_instance_error(inst);
	if (t->exact)
		put(t, "  trap %d: %s\n", (int)e->trap, e->message);
	else
		put(t, "  trap: %s\n", e->message);
}

/* One module in one tier, into t. */
static void run_tier(const uint8_t *bytes, size_t len, myr_tier tier, Trace *t)
{
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.tier = tier;
	cfg.max_memory_bytes = MAX_MEMORY;
	cfg.max_stack_bytes = 256 * 1024;
	cfg.max_table_elems = 100000;
	myr_engine *e = myr_engine_new(&cfg);
	myr_error err;
	myr_module *m = e ? myr_module_new(e, bytes, len, &err) : NULL;
	if (!m) {
		put(t, "module: %s\n", e ? err.message : "no engine");
		myr_engine_free(e);
		return;
	}
	/* Nothing in these modules is too large to compile: a function
	 * left interpreted means the emitter made IR that LLVM refused, a
	 * compiler bug the comparison alone would never show. */
	const char *note = myr_module_code_note(m);
	if (note && strstr(note, "stays interpreted"))
		put(t, "compiler: %s\n", note);
	if (getenv("TIERDIFF_DEBUG"))
		fprintf(stderr, "%s: %u functions compiled%s%s\n",
			myr_tier_name(tier), myr_module_wait_compiled(m),
			myr_module_code_note(m) ? ": " : "",
			myr_module_code_note(m) ? myr_module_code_note(m) : "");
	size_t ni = myr_module_import_count(m);
	myr_extern *imports = calloc(ni ? ni : 1, sizeof *imports);
	myr_func **hosts = calloc(ni ? ni : 1, sizeof *hosts);
	bool linked = imports && hosts;
	for (size_t i = 0; linked && i < ni; i++) {
		myr_externdesc d;
		myr_module_import(m, i, &d);
		bool is_log = d.kind == MYR_EXTERN_FUNC && d.module_len == 15 &&
			      memcmp(d.module, "fuzzing-support", 15) == 0 &&
			      d.name_len >= 4 &&
			      memcmp(d.name, "log-", 4) == 0 &&
			      d.func.nparams == 1 && d.func.nresults == 0;
		if (!is_log) {
			put(t, "import %.*s.%.*s: not provided\n",
			    (int)d.module_len, d.module, (int)d.name_len,
			    d.name);
			linked = false;
			break;
		}
		hosts[i] = myr_func_new(e, &d.func, log_value, t, NULL);
		imports[i] = (myr_extern){.kind = MYR_EXTERN_FUNC,
					  .of.func = hosts[i]};
	}
	myr_instance *inst =
		linked ? myr_instance_new(m, imports, ni, &err) : NULL;
	if (linked && !inst)
		put(t, "instantiate: %s\n", err.message);
	size_t nx = inst ? myr_module_export_count(m) : 0;
	myr_extern hang = {0};
	bool has_hang =
		t->exact && inst &&
		myr_instance_export(inst, "hangLimitInitializer", 20, &hang) &&
		hang.kind == MYR_EXTERN_FUNC;
	for (size_t i = 0; i < nx; i++) {
		myr_externdesc d;
		myr_module_export(m, i, &d);
		if (d.kind != MYR_EXTERN_FUNC)
			continue;
		myr_extern x;
		myr_instance_export(inst, d.name, d.name_len, &x);
		myr_val args[64];
		if (d.func.nparams > 64)
			continue;
		for (uint32_t k = 0; k < d.func.nparams; k++)
			args[k] = (myr_val){.type = d.func.params[k]};
		put(t, "call %.*s\n", (int)d.name_len, d.name);
		if (has_hang) {
			/* binaryen resets the hang limit before every export */
			myr_status hs = MYR_STATUS_TRAPPED;
			if (myr_instance_start(inst, hang.of.func, NULL, 0,
					       &err))
				hs = myr_instance_run(inst, FUEL);
			if (hs == MYR_STATUS_READY) {
				put(t, "  out of fuel: the rest is not "
				       "compared\n");
				break;
			}
			if (hs != MYR_STATUS_DONE) {
				put_trap(t, inst);
				continue;
			}
		}
		if (!myr_instance_start(inst, x.of.func, args, d.func.nparams,
					&err)) {
			put(t, "  start: %s\n", err.message);
			continue;
		}
		myr_status s = myr_instance_run(inst, FUEL);
		if (s == MYR_STATUS_READY) {
			/* Out of fuel: from here on the tiers may differ. */
			put(t, "  out of fuel: the rest is not compared\n");
			break;
		}
		if (s == MYR_STATUS_DONE) {
			myr_val r[64];
			size_t n = myr_instance_results(inst, r, 64);
			put(t, "  =");
			for (size_t k = 0; k < n; k++)
				put_val(t, r[k]);
			put(t, "\n");
		} else {
			put_trap(t, inst);
		}
	}
	if (inst) {
		myr_extern mx;
		for (size_t i = 0; i < nx; i++) {
			myr_externdesc d;
			myr_module_export(m, i, &d);
			if (d.kind == MYR_EXTERN_MEMORY &&
			    myr_instance_export(inst, d.name, d.name_len,
						&mx)) {
				uint64_t size = myr_memory_size(mx.of.memory);
				if (t->exact) {
					put(t,
					    "memory %.*s: %llu bytes, fnv32 "
					    "%08x\n",
					    (int)d.name_len, d.name,
					    (unsigned long long)size,
					    fnv32(myr_memory_data(mx.of.memory),
						  size));
					continue;
				}
				put(t,
				    "memory %.*s: %llu bytes, hash %016llx\n",
				    (int)d.name_len, d.name,
				    (unsigned long long)size,
				    (unsigned long long)fnv(
					    myr_memory_data(mx.of.memory),
					    size));
			}
		}
		myr_instance_free(inst);
	}
	for (size_t i = 0; hosts && i < ni; i++)
		myr_func_free(hosts[i]);
	free(hosts);
	free(imports);
	myr_module_free(m);
	myr_engine_free(e);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0, got;
	uint8_t *b = malloc(cap);
	while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *nb = realloc(b, cap *= 2);
			if (!nb)
				free(b);
			b = nb;
		}
	}
	fclose(f);
	*len = n;
	return b;
}

/* splitmix64: the same bytes for the same seed on every machine. */
static int random_bytes(const char *seed_s, const char *len_s, const char *path)
{
	uint64_t x = strtoull(seed_s, NULL, 0);
	size_t len = (size_t)strtoull(len_s, NULL, 0);
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "tierdiff: cannot write %s\n", path);
		return 2;
	}
	for (size_t i = 0; i < len; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		fputc((int)((z ^ (z >> 31)) & 0xff), f);
	}
	return fclose(f) == 0 ? 0 : 2;
}

/* --trace: one block per module on stdout, "module PATH" ... "end". */
static int trace_main(int argc, char **argv)
{
	int a = 2;
	long every = 0;
	if (a + 1 < argc && strcmp(argv[a], "--tiers") == 0) {
		every = strtol(argv[a + 1], NULL, 0);
		a += 2;
	}
	char why[200];
	if (every > 0 && !myr_tier_available(why, sizeof why)) {
		fprintf(stderr, "tierdiff: %s\n", why);
		return 2;
	}
	static const myr_tier others[] = {MYR_TIER_COMPILED, MYR_TIER_MIXED};
	int bad = 0;
	for (long k = 0; a < argc; a++, k++) {
		size_t len;
		uint8_t *bytes = read_all(argv[a], &len);
		printf("module %s\n", argv[a]);
		if (!bytes) {
			printf("unreadable\nend\n");
			continue;
		}
		Trace ref = {.exact = true};
		run_tier(bytes, len, MYR_TIER_INTERP, &ref);
		fputs(ref.p ? ref.p : "", stdout);
		if (every > 0 && k % every == 0) {
			const char *differ = NULL;
			for (size_t i = 0; i < 2 && !differ; i++) {
				Trace t = {.exact = true};
				run_tier(bytes, len, others[i], &t);
				if (t.len != ref.len ||
				    (t.len && memcmp(t.p, ref.p, t.len) != 0)) {
					differ = myr_tier_name(others[i]);
					fprintf(stderr,
						"tierdiff: %s: interp vs %s\n"
						"--- interp\n%s--- %s\n%s",
						argv[a], differ,
						ref.p ? ref.p : "", differ,
						t.p ? t.p : "");
				}
				free(t.p);
			}
			if (differ)
				bad++;
			printf("tiers %s%s\n", differ ? "differ: " : "ok",
			       differ ? differ : "");
		}
		printf("end\n");
		fflush(stdout);
		free(ref.p);
		free(bytes);
	}
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--random") == 0)
		return random_bytes(argv[2], argv[3], argv[4]);
	if (argc > 1 && strcmp(argv[1], "--trace") == 0)
		return trace_main(argc, argv);
	bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	int first = verbose ? 2 : 1;
	if (first >= argc) {
		fprintf(stderr, "usage: tierdiff [-v] MODULE.wasm...\n");
		return 2;
	}
	char why[200];
	if (!myr_tier_available(why, sizeof why)) {
		fprintf(stderr, "tierdiff: %s\n", why);
		return 2;
	}
	static const myr_tier tiers[] = {MYR_TIER_INTERP, MYR_TIER_COMPILED,
					 MYR_TIER_MIXED};
	int bad = 0, agreed = 0;
	for (int a = first; a < argc; a++) {
		size_t len;
		uint8_t *bytes = read_all(argv[a], &len);
		if (!bytes) {
			fprintf(stderr, "tierdiff: cannot read %s\n", argv[a]);
			return 2;
		}
		Trace ref = {0};
		run_tier(bytes, len, tiers[0], &ref);
		bool same = true;
		for (size_t k = 1; k < sizeof tiers / sizeof *tiers; k++) {
			Trace t = {0};
			run_tier(bytes, len, tiers[k], &t);
			if (t.len != ref.len ||
			    (t.len && memcmp(t.p, ref.p, t.len) != 0)) {
				printf("MISMATCH %s: interp vs %s\n--- "
				       "interp\n%s"
				       "--- %s\n%s",
				       argv[a], myr_tier_name(tiers[k]),
				       ref.p ? ref.p : "",
				       myr_tier_name(tiers[k]), t.p ? t.p : "");
				same = false;
			}
			free(t.p);
		}
		if (verbose && same)
			printf("ok %s\n%s", argv[a], ref.p ? ref.p : "");
		if (same)
			agreed++;
		else
			bad++;
		free(ref.p);
		free(bytes);
	}
	printf("tierdiff: %d modules agree in every tier, %d differ\n", agreed,
	       bad);
	return bad ? 1 : 0;
}
