/* Runs one WebAssembly spec test script, as converted to JSON by wabt's
 * wast2json, against the public API in myriad.h.
 *
 *   runner [-v] [--features 2.0|3.0] FILE.json
 *
 * Every command of the script runs in order. Each one (apart from
 * "register") counts as passed, failed or skipped; the runner prints
 * "FILE: P passed, F failed, S skipped" and exits 0 if nothing failed.
 * With -v it also prints every failure, with the line in the .wast.
 *
 * Expected errors are compared by kind only (load failure, link error,
 * trap, stack exhaustion); a message that does not contain the script's
 * text is counted as a "message mismatch", and malformed where invalid
 * was expected (or the reverse) as a "kind mismatch": both are printed
 * with -v but are not failures.
 *
 * Modules in the text format (assert_malformed/assert_invalid of "module
 * quote") are skipped: they test a text parser, and myriad has none. So
 * are commands with v128 values: myriad has no SIMD yet. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "myriad.h"
#include "spectest.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Every MYR_FEATURE_* bit: what "--features 3.0" turns on. */
#define FEATURES_ALL                                                           \
	(MYR_FEATURE_TAIL_CALL | MYR_FEATURE_EXTENDED_CONST |                  \
	 MYR_FEATURE_CUSTOM_PAGE_SIZES | MYR_FEATURE_MULTI_MEMORY)
/* Wasm 2.0 plus what does not change any 2.0 test's outcome. 3.0 rules
 * such as extended constant expressions must stay off: the 2.0 suite
 * checks that they are rejected. */
#define FEATURES_2_0 (MYR_FEATURE_TAIL_CALL | MYR_FEATURE_CUSTOM_PAGE_SIZES)

typedef enum Outcome { PASS, FAIL, SKIP, UNCOUNTED } Outcome;

typedef enum SkipReason {
	SKIP_TEXT,    /* a module in the text format */
	SKIP_SIMD,    /* v128 values */
	SKIP_COMMAND, /* a command this runner does not know */
	NSKIP
} SkipReason;

static const char *const skip_names[NSKIP] = {
	[SKIP_TEXT] = "text-format",
	[SKIP_SIMD] = "simd",
	[SKIP_COMMAND] = "unsupported command",
};

/* A name from the script: UTF-8 that may contain NUL bytes. */
typedef struct Name {
	char *bytes;
	size_t len;
} Name;

/* A script-level name ("$M1", or a name given to "register") bound to an
 * instance, NULL if the module it named failed to instantiate. */
typedef struct Binding {
	Name name;
	myr_instance *inst;
} Binding;

typedef struct Bindings {
	Binding *v;
	size_t n, cap;
} Bindings;

typedef struct PtrVec {
	void **v;
	size_t n, cap;
} PtrVec;

typedef struct Runner {
	myr_engine *engine;
	Spectest *spectest;
	bool verbose;
	const char *json_path;
	const char *source; /* the .wast, for messages */
	/* Everything created, in creation order: freed in reverse. Every
	 * module is kept to the end, even one whose instantiation failed,
	 * because the spec lets a failed instantiation leave its functions
	 * in an imported table. */
	PtrVec instances, modules;
	Bindings named, registered;
	myr_instance *current; /* the last module command's instance */
	long line;
	SkipReason skip_reason;
	unsigned passed, failed, skipped, mismatches, kind_mismatches;
	unsigned skips[NSKIP];
} Runner;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "runner: out of memory\n");
		exit(2);
	}
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		fprintf(stderr, "runner: out of memory\n");
		exit(2);
	}
	return p;
}

static void *grow(void *v, size_t *cap, size_t elem)
{
	*cap = *cap ? *cap * 2 : 16;
	void *p = realloc(v, *cap * elem);
	if (!p) {
		fprintf(stderr, "runner: out of memory\n");
		exit(2);
	}
	return p;
}

static void ptrvec_push(PtrVec *pv, void *p)
{
	if (pv->n == pv->cap)
		pv->v = grow(pv->v, &pv->cap, sizeof *pv->v);
	pv->v[pv->n++] = p;
}

/* Reads a whole file and NUL-terminates it. NULL (errno set) on error. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0, got;
	char *buf = xmalloc(cap + 1);
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			char *p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
	}
	bool ok = !ferror(f);
	fclose(f);
	if (!ok) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Prints a failure (with -v) and returns FAIL, so that handlers read
 * `return failf(r, ...)`. */
__attribute__((format(printf, 2, 3))) static Outcome failf(Runner *r,
							   const char *fmt, ...)
{
	if (r->verbose) {
		va_list ap;
		va_start(ap, fmt);
		printf("%s:%ld: ", r->source, r->line);
		vprintf(fmt, ap);
		printf("\n");
		va_end(ap);
	}
	return FAIL;
}

static Outcome skip(Runner *r, SkipReason why)
{
	r->skip_reason = why;
	return SKIP;
}

/* ------------------------------------------------------------------ */
/* JSON strings                                                        */

/* cJSON returns NUL-terminated strings, so a name written "\u0000" in the
 * script would come back cut short. Before parsing, rewrite the escapes
 * that decode to NUL or backslash into escapes of our own: "\u0000"
 * becomes the two characters '\' '0', and a backslash ("\\" or "\u005c")
 * becomes '\' '\'. name_from() undoes this. Backslashes only occur
 * inside JSON strings, so no string tracking is needed. The other
 * strings the runner reads (file names, numbers, messages) contain no
 * backslash in practice. */
static char *escape_nul(const char *in, size_t len)
{
	char *out = xmalloc(2 * len + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '\\' || i + 1 == len) {
			*o++ = in[i];
			continue;
		}
		const char *esc = in + i;
		if (esc[1] == '\\' ||
		    (len - i >= 6 && strncasecmp(esc, "\\u005c", 6) == 0)) {
			memcpy(o, "\\\\\\\\", 4);
			o += 4;
			i += esc[1] == '\\' ? 1 : 5;
		} else if (len - i >= 6 && strncmp(esc, "\\u0000", 6) == 0) {
			memcpy(o, "\\\\0", 3);
			o += 3;
			i += 5;
		} else {
			*o++ = esc[0];
			*o++ = esc[1];
			i++;
		}
	}
	*o = '\0';
	return out;
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Reads a name written by escape_nul(); false if key is absent. */
static bool name_from(const cJSON *obj, const char *key, Name *out)
{
	const char *s = str_of(obj, key);
	if (!s)
		return false;
	size_t n = strlen(s);
	char *b = xmalloc(n + 1);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && (s[i + 1] == '0' || s[i + 1] == '\\'))
			b[len++] = s[++i] == '0' ? '\0' : '\\';
		else
			b[len++] = s[i];
	}
	b[len] = '\0';
	*out = (Name){b, len};
	return true;
}

static bool name_eq(const Name *a, const char *b, size_t len)
{
	return a->len == len && memcmp(a->bytes, b, len) == 0;
}

/* ------------------------------------------------------------------ */
/* Names bound to instances                                            */

/* Binds name to inst, taking ownership of name's bytes. */
static void bind(Bindings *bs, Name name, myr_instance *inst)
{
	for (size_t i = 0; i < bs->n; i++) {
		if (name_eq(&bs->v[i].name, name.bytes, name.len)) {
			bs->v[i].inst = inst;
			free(name.bytes);
			return;
		}
	}
	if (bs->n == bs->cap)
		bs->v = grow(bs->v, &bs->cap, sizeof *bs->v);
	bs->v[bs->n++] = (Binding){name, inst};
}

/* false if the name is unknown; *inst may still be NULL if the name's
 * module failed. */
static bool lookup(const Bindings *bs, const char *name, size_t len,
		   myr_instance **inst)
{
	for (size_t i = 0; i < bs->n; i++) {
		if (name_eq(&bs->v[i].name, name, len)) {
			*inst = bs->v[i].inst;
			return true;
		}
	}
	return false;
}

static void bindings_free(Bindings *bs)
{
	for (size_t i = 0; i < bs->n; i++)
		free(bs->v[i].name.bytes);
	free(bs->v);
}

/* ------------------------------------------------------------------ */
/* Values                                                              */

typedef enum ValStatus { VAL_OK, VAL_SIMD, VAL_BAD } ValStatus;

static const struct {
	const char *name;
	myr_valtype type;
} valtypes[] = {
	{"i32", MYR_I32},
	{"i64", MYR_I64},
	{"f32", MYR_F32},
	{"f64", MYR_F64},
	{"v128", MYR_V128},
	{"funcref", MYR_FUNCREF},
	{"externref", MYR_EXTERNREF},
};

static bool parse_type(const char *s, myr_valtype *out)
{
	for (size_t i = 0; s && i < COUNT_OF(valtypes); i++) {
		if (strcmp(s, valtypes[i].name) == 0) {
			*out = valtypes[i].type;
			return true;
		}
	}
	return false;
}

static const char *type_name(myr_valtype t)
{
	for (size_t i = 0; i < COUNT_OF(valtypes); i++)
		if (valtypes[i].type == t)
			return valtypes[i].name;
	return "?";
}

/* wast2json writes every number as an unsigned decimal string: integers
 * as their two's complement, floats as their bit pattern. */
static bool parse_u64(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* ref.extern N becomes the host pointer N + 1, so that ref.extern 0 is
 * not null. */
static void *extern_ref(uint64_t n)
{
	return (void *)(uintptr_t)(n + 1);
}

static bool parse_number(myr_valtype t, const char *s, myr_val *out)
{
	uint64_t u;
	if (!parse_u64(s, &u))
		return false;
	switch (t) {
	case MYR_I32:
	case MYR_F32: {
		if (u > UINT32_MAX)
			return false;
		uint32_t b = (uint32_t)u;
		if (t == MYR_I32)
			memcpy(&out->of.i32, &b, 4);
		else
			memcpy(&out->of.f32, &b, 4);
		return true;
	}
	case MYR_I64:
		memcpy(&out->of.i64, &u, 8);
		return true;
	case MYR_F64:
		memcpy(&out->of.f64, &u, 8);
		return true;
	case MYR_EXTERNREF:
		out->of.externref = extern_ref(u);
		return true;
	default:
		return false;
	}
}

/* An argument: a typed constant. A non-null funcref cannot be written in
 * a script. */
static ValStatus parse_arg(const cJSON *j, myr_val *out)
{
	const char *type = str_of(j, "type"), *value = str_of(j, "value");
	myr_valtype t;
	if (!parse_type(type, &t))
		return VAL_BAD;
	if (t == MYR_V128)
		return VAL_SIMD;
	memset(out, 0, sizeof *out);
	out->type = t;
	if ((t == MYR_FUNCREF || t == MYR_EXTERNREF) && value &&
	    strcmp(value, "null") == 0)
		return VAL_OK;
	if (t == MYR_FUNCREF)
		return VAL_BAD;
	return parse_number(t, value, out) ? VAL_OK : VAL_BAD;
}

static uint32_t f32_bits(float f)
{
	uint32_t b;
	memcpy(&b, &f, 4);
	return b;
}

static uint64_t f64_bits(double f)
{
	uint64_t b;
	memcpy(&b, &f, 8);
	return b;
}

/* "i32:-1", "f32:1.5 (0x3fc00000)", "externref:7", "funcref:null". */
static void describe(const myr_val *v, char *buf, size_t n)
{
	const char *tn = type_name(v->type);
	switch (v->type) {
	case MYR_I32:
		snprintf(buf, n, "i32:%" PRId32, v->of.i32);
		break;
	case MYR_I64:
		snprintf(buf, n, "i64:%" PRId64, v->of.i64);
		break;
	case MYR_F32:
		snprintf(buf, n, "f32:%.9g (0x%08" PRIx32 ")",
			 (double)v->of.f32, f32_bits(v->of.f32));
		break;
	case MYR_F64:
		snprintf(buf, n, "f64:%.17g (0x%016" PRIx64 ")", v->of.f64,
			 f64_bits(v->of.f64));
		break;
	case MYR_EXTERNREF:
		if (v->of.externref)
			snprintf(buf, n, "externref:%" PRIuPTR,
				 (uintptr_t)v->of.externref - 1);
		else
			snprintf(buf, n, "externref:null");
		break;
	case MYR_FUNCREF:
		if (v->of.funcref)
			snprintf(buf, n, "funcref:%p", (void *)v->of.funcref);
		else
			snprintf(buf, n, "funcref:null");
		break;
	default:
		snprintf(buf, n, "%s:?", tn);
		break;
	}
}

/* The spec's NaN patterns: canonical is a quiet NaN with an empty
 * payload, arithmetic any quiet NaN; either sign. */
static bool nan_matches(myr_valtype t, const myr_val *got, bool canonical)
{
	if (t == MYR_F32) {
		uint32_t b = f32_bits(got->of.f32) & 0x7fffffffu;
		return canonical ? b == 0x7fc00000u
				 : (b & 0x7fc00000u) == 0x7fc00000u;
	}
	uint64_t b = f64_bits(got->of.f64) & 0x7fffffffffffffffull;
	const uint64_t quiet = 0x7ff8000000000000ull;
	return canonical ? b == quiet : (b & quiet) == quiet;
}

static bool same_bits(const myr_val *a, const myr_val *b)
{
	switch (a->type) {
	case MYR_I32:
		return a->of.i32 == b->of.i32;
	case MYR_I64:
		return a->of.i64 == b->of.i64;
	case MYR_F32:
		return f32_bits(a->of.f32) == f32_bits(b->of.f32);
	case MYR_F64:
		return f64_bits(a->of.f64) == f64_bits(b->of.f64);
	case MYR_EXTERNREF:
		return a->of.externref == b->of.externref;
	default:
		return false;
	}
}

/* Does got match the expected value? A reference with a value other
 * than "null" (or none) means any non-null reference for funcref: wabt
 * writes (ref.func) that way, and a function's identity cannot be
 * named in a script. */
static bool matches(const cJSON *exp, const myr_val *got)
{
	const char *value = str_of(exp, "value");
	myr_valtype t;
	if (!parse_type(str_of(exp, "type"), &t) || t != got->type)
		return false;
	bool is_null = value && strcmp(value, "null") == 0;
	if (t == MYR_FUNCREF)
		return is_null == (got->of.funcref == NULL);
	if (t == MYR_EXTERNREF && (is_null || !value))
		return is_null == (got->of.externref == NULL);
	if ((t == MYR_F32 || t == MYR_F64) && value &&
	    strncmp(value, "nan:", 4) == 0)
		return nan_matches(t, got, strcmp(value, "nan:canonical") == 0);
	myr_val want = {.type = t};
	return parse_number(t, value, &want) && same_bits(&want, got);
}

static void describe_expected(const cJSON *exp, char *buf, size_t n)
{
	const char *type = str_of(exp, "type"), *value = str_of(exp, "value");
	myr_valtype t;
	myr_val v = {0};
	if (parse_type(type, &t) && t != MYR_FUNCREF && value &&
	    strcmp(value, "null") != 0 && strncmp(value, "nan:", 4) != 0 &&
	    (v.type = t, parse_number(t, value, &v))) {
		describe(&v, buf, n);
		return;
	}
	if (t == MYR_FUNCREF && value && strcmp(value, "null") != 0)
		value = "non-null";
	snprintf(buf, n, "%s:%s", type ? type : "?", value ? value : "?");
}

/* Does any value in the array have type v128? */
static bool has_v128(const cJSON *vals)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, vals)
	{
		const char *t = str_of(v, "type");
		if (t && strcmp(t, "v128") == 0)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */

static const char *kind_name(myr_errkind k)
{
	static const char *const names[] = {
		[MYR_OK] = "success",
		[MYR_ERR_MALFORMED] = "malformed",
		[MYR_ERR_INVALID] = "invalid",
		[MYR_ERR_LINK] = "link error",
		[MYR_ERR_TRAP] = "trap",
		[MYR_ERR_RESOURCE] = "resource error",
		[MYR_ERR_ARGUMENT] = "argument error",
	};
	if ((unsigned)k < COUNT_OF(names) && names[k])
		return names[k];
	return "unknown error";
}

static void error_init(myr_error *err)
{
	memset(err, 0, sizeof *err);
	err->kind = MYR_OK;
}

/* The loose message check: the script's text must appear in ours (the
 * spec interpreter checks for a prefix; ours add where it happened). */
static void check_message(Runner *r, const cJSON *cmd, const myr_error *err)
{
	const char *want = str_of(cmd, "text");
	if (!want || strstr(err->message, want))
		return;
	if (err->kind == MYR_ERR_TRAP &&
	    strstr(myr_trap_message(err->trap), want))
		return;
	r->mismatches++;
	if (r->verbose)
		printf("%s:%ld: message mismatch: expected \"%s\", got "
		       "\"%s\"\n",
		       r->source, r->line, want, err->message);
}

static bool load_error(myr_errkind k)
{
	return k == MYR_ERR_MALFORMED || k == MYR_ERR_INVALID;
}

/* Malformed and invalid are both "the module does not load", and which of
 * the two a binary is can depend on how it was encoded: wast2json 1.0.32
 * omits the data count section of a module that only uses data.drop, so
 * the spec's assert_invalid "unknown data segment" (memory_init.wast)
 * arrives as a binary that is malformed. So the two are told apart like
 * messages: counted and printed, not failed. */
static void kind_mismatch(Runner *r, myr_errkind want, const myr_error *err)
{
	r->kind_mismatches++;
	if (r->verbose)
		printf("%s:%ld: kind mismatch: expected %s, got %s: %s\n",
		       r->source, r->line, kind_name(want),
		       kind_name(err->kind), err->message);
}

/* How a failure must look. A trap and stack exhaustion are different
 * outcomes in the spec, so they are told apart by the trap code. */
typedef enum TrapRule { ANY_TRAP, NOT_EXHAUSTION, EXHAUSTION } TrapRule;

static bool right_trap(const myr_error *err, TrapRule rule)
{
	bool exhausted = err->trap == MYR_TRAP_STACK_EXHAUSTED;
	return rule == ANY_TRAP || (rule == EXHAUSTION) == exhausted;
}

static Outcome expect_error(Runner *r, const cJSON *cmd, const char *what,
			    const myr_error *err, myr_errkind want,
			    TrapRule rule)
{
	if (err->kind == MYR_OK)
		return failf(r, "%s: expected %s, but it succeeded", what,
			     kind_name(want));
	if (load_error(want) && load_error(err->kind) && err->kind != want) {
		kind_mismatch(r, want, err);
		return PASS;
	}
	if (err->kind != want)
		return failf(r, "%s: expected %s, got %s: %s", what,
			     kind_name(want), kind_name(err->kind),
			     err->message);
	if (want == MYR_ERR_TRAP && !right_trap(err, rule))
		return failf(r, "%s: expected %s, got trap: %s", what,
			     rule == EXHAUSTION ? "stack exhaustion" : "a trap",
			     err->message);
	check_message(r, cmd, err);
	return PASS;
}

/* ------------------------------------------------------------------ */
/* Modules and instances                                               */

/* Loads the module named by cmd's "filename", relative to the script.
 * Keeps it to the end (see Runner.modules). */
static myr_module *load(Runner *r, const cJSON *cmd, myr_error *err)
{
	error_init(err);
	const char *file = str_of(cmd, "filename");
	if (!file) {
		err->kind = MYR_ERR_ARGUMENT;
		snprintf(err->message, sizeof err->message,
			 "command has no filename");
		return NULL;
	}
	const char *slash = strrchr(r->json_path, '/');
	int dirlen = slash ? (int)(slash - r->json_path + 1) : 0;
	size_t plen = (size_t)dirlen + strlen(file) + 1;
	char *path = xmalloc(plen);
	snprintf(path, plen, "%.*s%s", dirlen, r->json_path, file);
	size_t len;
	char *bytes = read_file(path, &len);
	if (!bytes) {
		err->kind = MYR_ERR_ARGUMENT;
		snprintf(err->message, sizeof err->message,
			 "cannot read %s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	free(path);
	myr_module *m =
		myr_module_new(r->engine, (const uint8_t *)bytes, len, err);
	free(bytes);
	if (m) {
		err->kind = MYR_OK;
		ptrvec_push(&r->modules, m);
	}
	return m;
}

/* Finds what satisfies one import: a registered instance's export, or
 * spectest's. Later registrations shadow earlier ones and spectest. */
static bool resolve(Runner *r, const myr_externdesc *d, myr_extern *out)
{
	myr_instance *inst;
	if (lookup(&r->registered, d->module, d->module_len, &inst))
		return inst &&
		       myr_instance_export(inst, d->name, d->name_len, out);
	if (d->module_len == 8 && memcmp(d->module, "spectest", 8) == 0)
		return spectest_lookup(r->spectest, d->name, d->name_len, out);
	return false;
}

/* Resolves every import, then instantiates. A missing import is a link
 * error found by the runner; a wrong type is left to the engine. The
 * instance is kept to the end. */
static myr_instance *instantiate(Runner *r, myr_module *m, myr_error *err)
{
	error_init(err);
	size_t n = myr_module_import_count(m);
	myr_extern *imports = xcalloc(n, sizeof *imports);
	for (size_t i = 0; i < n; i++) {
		myr_externdesc d = {.module = "?",
				    .module_len = 1,
				    .name = "?",
				    .name_len = 1};
		if (!myr_module_import(m, i, &d) ||
		    !resolve(r, &d, &imports[i])) {
			err->kind = MYR_ERR_LINK;
			snprintf(err->message, sizeof err->message,
				 "unknown import \"%.*s\".\"%.*s\"",
				 (int)d.module_len, d.module, (int)d.name_len,
				 d.name);
			free(imports);
			return NULL;
		}
	}
	myr_instance *inst = myr_instance_new(m, imports, n, err);
	free(imports);
	if (inst) {
		err->kind = MYR_OK;
		ptrvec_push(&r->instances, inst);
	}
	return inst;
}

/* ------------------------------------------------------------------ */
/* Actions                                                             */

typedef enum ActStatus {
	ACT_DONE,   /* returned; results filled */
	ACT_ERROR,  /* the call failed; err filled */
	ACT_SIMD,   /* has v128 arguments: not run */
	ACT_BROKEN, /* could not be attempted; why filled */
} ActStatus;

typedef struct Result {
	myr_val *vals;
	size_t n;
	myr_error err;
	char why[320];
} Result;

static myr_instance *action_instance(Runner *r, const cJSON *act, Result *res)
{
	Name mod;
	if (!name_from(act, "module", &mod)) {
		if (!r->current)
			snprintf(res->why, sizeof res->why,
				 "no module instance to act on");
		return r->current;
	}
	myr_instance *inst = NULL;
	if (!lookup(&r->named, mod.bytes, mod.len, &inst))
		snprintf(res->why, sizeof res->why, "unknown module %s",
			 mod.bytes);
	else if (!inst)
		snprintf(res->why, sizeof res->why,
			 "module %s failed to instantiate", mod.bytes);
	free(mod.bytes);
	return inst;
}

static bool find_export(myr_instance *inst, const Name *field,
			myr_externkind kind, myr_extern *out, Result *res)
{
	if (myr_instance_export(inst, field->bytes, field->len, out) &&
	    out->kind == kind)
		return true;
	snprintf(res->why, sizeof res->why, "no exported %s \"%s\"",
		 kind == MYR_EXTERN_FUNC ? "function" : "global", field->bytes);
	return false;
}

static ActStatus invoke(myr_instance *inst, const Name *field,
			const cJSON *args, Result *res)
{
	myr_extern ext;
	if (!find_export(inst, field, MYR_EXTERN_FUNC, &ext, res))
		return ACT_BROKEN;
	size_t nargs = (size_t)cJSON_GetArraySize(args);
	myr_val *vals = xcalloc(nargs, sizeof *vals);
	size_t i = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, args)
	{
		ValStatus st = parse_arg(a, &vals[i++]);
		if (st != VAL_OK) {
			free(vals);
			snprintf(res->why, sizeof res->why, "bad argument %zu",
				 i - 1);
			return st == VAL_SIMD ? ACT_SIMD : ACT_BROKEN;
		}
	}
	res->n = myr_func_type(ext.of.func)->nresults;
	res->vals = xcalloc(res->n, sizeof *res->vals);
	bool ok = myr_func_call(ext.of.func, vals, nargs, res->vals, res->n,
				&res->err);
	free(vals);
	return ok ? ACT_DONE : ACT_ERROR;
}

static ActStatus get_global(myr_instance *inst, const Name *field, Result *res)
{
	myr_extern ext;
	if (!find_export(inst, field, MYR_EXTERN_GLOBAL, &ext, res))
		return ACT_BROKEN;
	res->n = 1;
	res->vals = xcalloc(1, sizeof *res->vals);
	res->vals[0] = myr_global_get(ext.of.global);
	return ACT_DONE;
}

/* Performs an "invoke" or "get". The caller frees res->vals. */
static ActStatus run_action(Runner *r, const cJSON *act, Result *res)
{
	memset(res, 0, sizeof *res);
	error_init(&res->err);
	if (has_v128(cJSON_GetObjectItemCaseSensitive(act, "args")))
		return ACT_SIMD;
	myr_instance *inst = action_instance(r, act, res);
	if (!inst)
		return ACT_BROKEN;
	Name field;
	if (!name_from(act, "field", &field)) {
		snprintf(res->why, sizeof res->why, "action has no field");
		return ACT_BROKEN;
	}
	const char *type = str_of(act, "type");
	ActStatus st;
	if (type && strcmp(type, "invoke") == 0)
		st = invoke(inst, &field,
			    cJSON_GetObjectItemCaseSensitive(act, "args"), res);
	else if (type && strcmp(type, "get") == 0)
		st = get_global(inst, &field, res);
	else {
		snprintf(res->why, sizeof res->why, "unknown action type %s",
			 type ? type : "(none)");
		st = ACT_BROKEN;
	}
	free(field.bytes);
	return st;
}

/* Maps an action that could not run to the command's outcome. */
static Outcome action_not_run(Runner *r, ActStatus st, const Result *res)
{
	if (st == ACT_SIMD)
		return skip(r, SKIP_SIMD);
	return failf(r, "cannot run action: %s", res->why);
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

static bool is_text_module(const cJSON *cmd)
{
	const char *t = str_of(cmd, "module_type");
	return t && strcmp(t, "text") == 0;
}

static Outcome cmd_module(Runner *r, const cJSON *cmd)
{
	myr_error err;
	myr_instance *inst = NULL;
	Outcome o = PASS;
	myr_module *m = load(r, cmd, &err);
	if (!m)
		o = failf(r, "module failed to load (%s): %s",
			  kind_name(err.kind), err.message);
	else if (!(inst = instantiate(r, m, &err)))
		o = failf(r, "module failed to instantiate (%s): %s",
			  kind_name(err.kind), err.message);
	/* A failed module still becomes the current one (NULL), so that
	 * the actions meant for it fail instead of hitting its
	 * predecessor. */
	r->current = inst;
	Name name;
	if (name_from(cmd, "name", &name))
		bind(&r->named, name, inst);
	return o;
}

static Outcome cmd_register(Runner *r, const cJSON *cmd)
{
	Name as, mod;
	myr_instance *inst = r->current;
	if (!name_from(cmd, "as", &as))
		return failf(r, "register without \"as\"");
	if (name_from(cmd, "name", &mod)) {
		if (!lookup(&r->named, mod.bytes, mod.len, &inst))
			inst = NULL;
		free(mod.bytes);
	}
	/* Registering a failed module binds NULL: importing from it is then
	 * an unknown import, and the module that tried fails visibly. */
	bind(&r->registered, as, inst);
	return UNCOUNTED;
}

static Outcome cmd_action(Runner *r, const cJSON *cmd)
{
	Result res;
	ActStatus st = run_action(
		r, cJSON_GetObjectItemCaseSensitive(cmd, "action"), &res);
	Outcome o = PASS;
	if (st == ACT_ERROR)
		o = failf(r, "action failed (%s): %s", kind_name(res.err.kind),
			  res.err.message);
	else if (st != ACT_DONE)
		o = action_not_run(r, st, &res);
	free(res.vals);
	return o;
}

static Outcome compare_results(Runner *r, const cJSON *expected,
			       const Result *res)
{
	size_t n = (size_t)cJSON_GetArraySize(expected);
	if (n != res->n)
		return failf(r, "expected %zu results, got %zu", n, res->n);
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, expected)
	{
		const myr_val *got = &res->vals[i++];
		if (matches(e, got))
			continue;
		char want[96], have[96];
		describe_expected(e, want, sizeof want);
		describe(got, have, sizeof have);
		return failf(r, "result %zu: expected %s, got %s", i - 1, want,
			     have);
	}
	return PASS;
}

static Outcome cmd_assert_return(Runner *r, const cJSON *cmd)
{
	const cJSON *expected =
		cJSON_GetObjectItemCaseSensitive(cmd, "expected");
	/* "either" lists alternatives; only relaxed SIMD uses it. */
	if (cJSON_HasObjectItem(cmd, "either") || has_v128(expected))
		return skip(r, SKIP_SIMD);
	Result res;
	ActStatus st = run_action(
		r, cJSON_GetObjectItemCaseSensitive(cmd, "action"), &res);
	Outcome o;
	if (st == ACT_DONE)
		o = compare_results(r, expected, &res);
	else if (st == ACT_ERROR)
		o = failf(r, "expected a return, got %s: %s",
			  kind_name(res.err.kind), res.err.message);
	else
		o = action_not_run(r, st, &res);
	free(res.vals);
	return o;
}

/* assert_unlinkable, assert_uninstantiable, and assert_trap on a module:
 * the module must load, then fail to instantiate in the given way. */
static Outcome expect_instantiation_error(Runner *r, const cJSON *cmd,
					  myr_errkind want)
{
	if (is_text_module(cmd))
		return skip(r, SKIP_TEXT);
	myr_error err;
	myr_module *m = load(r, cmd, &err);
	if (!m)
		return failf(r, "module failed to load (%s): %s",
			     kind_name(err.kind), err.message);
	instantiate(r, m, &err);
	return expect_error(r, cmd, "instantiation", &err, want, ANY_TRAP);
}

static Outcome expect_action_trap(Runner *r, const cJSON *cmd, TrapRule rule)
{
	Result res;
	ActStatus st = run_action(
		r, cJSON_GetObjectItemCaseSensitive(cmd, "action"), &res);
	Outcome o;
	if (st == ACT_DONE || st == ACT_ERROR)
		o = expect_error(r, cmd, "call", &res.err, MYR_ERR_TRAP, rule);
	else
		o = action_not_run(r, st, &res);
	free(res.vals);
	return o;
}

static Outcome cmd_assert_trap(Runner *r, const cJSON *cmd)
{
	if (!cJSON_HasObjectItem(cmd, "action"))
		return expect_instantiation_error(r, cmd, MYR_ERR_TRAP);
	return expect_action_trap(r, cmd, NOT_EXHAUSTION);
}

static Outcome cmd_assert_exhaustion(Runner *r, const cJSON *cmd)
{
	return expect_action_trap(r, cmd, EXHAUSTION);
}

static Outcome expect_load_error(Runner *r, const cJSON *cmd, myr_errkind want)
{
	if (is_text_module(cmd))
		return skip(r, SKIP_TEXT);
	myr_error err;
	load(r, cmd, &err);
	return expect_error(r, cmd, "load", &err, want, ANY_TRAP);
}

static Outcome cmd_assert_malformed(Runner *r, const cJSON *cmd)
{
	return expect_load_error(r, cmd, MYR_ERR_MALFORMED);
}

static Outcome cmd_assert_invalid(Runner *r, const cJSON *cmd)
{
	return expect_load_error(r, cmd, MYR_ERR_INVALID);
}

static Outcome cmd_assert_unlinkable(Runner *r, const cJSON *cmd)
{
	return expect_instantiation_error(r, cmd, MYR_ERR_LINK);
}

static Outcome cmd_assert_uninstantiable(Runner *r, const cJSON *cmd)
{
	return expect_instantiation_error(r, cmd, MYR_ERR_TRAP);
}

static const struct {
	const char *type;
	Outcome (*run)(Runner *r, const cJSON *cmd);
} commands[] = {
	{"module", cmd_module},
	{"register", cmd_register},
	{"action", cmd_action},
	{"assert_return", cmd_assert_return},
	{"assert_trap", cmd_assert_trap},
	{"assert_exhaustion", cmd_assert_exhaustion},
	{"assert_malformed", cmd_assert_malformed},
	{"assert_invalid", cmd_assert_invalid},
	{"assert_unlinkable", cmd_assert_unlinkable},
	{"assert_uninstantiable", cmd_assert_uninstantiable},
};

static Outcome run_command(Runner *r, const cJSON *cmd)
{
	const char *type = str_of(cmd, "type");
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(cmd, "line");
	r->line = cJSON_IsNumber(line) ? (long)line->valuedouble : 0;
	for (size_t i = 0; type && i < COUNT_OF(commands); i++)
		if (strcmp(type, commands[i].type) == 0)
			return commands[i].run(r, cmd);
	/* e.g. assert_exception (exceptions), which myriad does not have. */
	if (r->verbose)
		printf("%s:%ld: skipped unknown command %s\n", r->source,
		       r->line, type ? type : "(none)");
	return skip(r, SKIP_COMMAND);
}

static void tally(Runner *r, Outcome o)
{
	switch (o) {
	case PASS:
		r->passed++;
		break;
	case FAIL:
		r->failed++;
		break;
	case SKIP:
		r->skipped++;
		r->skips[r->skip_reason]++;
		break;
	case UNCOUNTED:
		break;
	}
}

static void run_script(Runner *r, const cJSON *root)
{
	const cJSON *cmd;
	cJSON_ArrayForEach(cmd,
			   cJSON_GetObjectItemCaseSensitive(root, "commands"))
	{
		tally(r, run_command(r, cmd));
		fflush(stdout); /* a crash must not eat earlier output */
	}
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */

static void print_summary(const Runner *r)
{
	printf("%s: %u passed, %u failed, %u skipped", r->json_path, r->passed,
	       r->failed, r->skipped);
	/* Then why anything was skipped, e.g. " (12 text-format)". */
	bool any = false;
	for (int i = 0; i < NSKIP; i++) {
		if (r->skips[i]) {
			printf("%s%u %s", any ? ", " : " (", r->skips[i],
			       skip_names[i]);
			any = true;
		}
	}
	if (r->kind_mismatches) {
		printf("%s%u kind mismatch%s", any ? ", " : " (",
		       r->kind_mismatches, r->kind_mismatches == 1 ? "" : "es");
		any = true;
	}
	if (r->mismatches) {
		printf("%s%u message mismatch%s", any ? ", " : " (",
		       r->mismatches, r->mismatches == 1 ? "" : "es");
		any = true;
	}
	printf("%s\n", any ? ")" : "");
	/* Now: a sanitizer that finds a leak at exit ends the process
	 * without flushing stdio. */
	fflush(stdout);
}

static void runner_free(Runner *r)
{
	for (size_t i = r->instances.n; i-- > 0;)
		myr_instance_free(r->instances.v[i]);
	for (size_t i = r->modules.n; i-- > 0;)
		myr_module_free(r->modules.v[i]);
	if (r->spectest)
		spectest_free(r->spectest);
	if (r->engine)
		myr_engine_free(r->engine);
	free(r->instances.v);
	free(r->modules.v);
	bindings_free(&r->named);
	bindings_free(&r->registered);
}

static cJSON *parse_script(const char *path)
{
	size_t len;
	char *text = read_file(path, &len);
	if (!text) {
		fprintf(stderr, "runner: cannot read %s: %s\n", path,
			strerror(errno));
		return NULL;
	}
	char *escaped = escape_nul(text, len);
	free(text);
	cJSON *root = cJSON_Parse(escaped);
	free(escaped);
	if (!root || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(
			     root, "commands"))) {
		fprintf(stderr, "runner: %s is not a wast2json script\n", path);
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static void usage(void)
{
	fprintf(stderr, "usage: runner [-v] [--features 2.0|3.0] FILE.json\n");
	exit(2);
}

int main(int argc, char **argv)
{
	Runner r = {0};
	const char *features = "3.0";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			r.verbose = true;
		else if (strcmp(argv[i], "--features") == 0 && i + 1 < argc)
			features = argv[++i];
		else if (argv[i][0] == '-' || r.json_path)
			usage();
		else
			r.json_path = argv[i];
	}
	if (!r.json_path)
		usage();

	myr_config cfg;
	myr_config_default(&cfg);
	if (strcmp(features, "2.0") == 0)
		cfg.features = FEATURES_2_0;
	else if (strcmp(features, "3.0") == 0)
		cfg.features = FEATURES_ALL;
	else
		usage();

	cJSON *root = parse_script(r.json_path);
	if (!root)
		return 2;
	r.source = str_of(root, "source_filename");
	if (!r.source)
		r.source = r.json_path;
	r.engine = myr_engine_new(&cfg);
	r.spectest = r.engine ? spectest_new(r.engine, r.verbose) : NULL;
	if (!r.spectest) {
		fprintf(stderr, "runner: cannot create the engine\n");
		runner_free(&r);
		cJSON_Delete(root);
		return 2;
	}
	run_script(&r, root);
	print_summary(&r);
	runner_free(&r);
	cJSON_Delete(root);
	return r.failed ? 1 : 0;
}
