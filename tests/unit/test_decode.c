/*
 * The decoder on hand-built modules: one valid module with every section,
 * every truncation of it, and a table of malformed and invalid ones that
 * must fail with the spec's wording, the right kind and, for some, the
 * right offset.
 */
/* Before cmocka.h, whose fail() macro would clash with util.h's fail(). */
#include "engine.h"
#include "module.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* ------------------------------------------------------------------ */
/* Building modules                                                    */

typedef struct Buf {
	uint8_t *p;
	size_t n, cap;
} Buf;

static void b_bytes(Buf *b, const void *src, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (n)
		memcpy(b->p + b->n, src, n);
	b->n += n;
}

static void b_byte(Buf *b, uint8_t v)
{
	b_bytes(b, &v, 1);
}

static void b_u32(Buf *b, uint32_t v)
{
	do {
		uint8_t byte = v & 0x7F;
		v >>= 7;
		b_byte(b, byte | (v ? 0x80 : 0));
	} while (v);
}

static void b_str(Buf *b, const char *s)
{
	b_u32(b, (uint32_t)strlen(s));
	b_bytes(b, s, strlen(s));
}

#define B(buf, ...)                                                            \
	do {                                                                   \
		static const uint8_t bytes_[] = {__VA_ARGS__};                 \
		b_bytes(buf, bytes_, sizeof bytes_);                           \
	} while (0)

/* Appends section `id` holding `c` (which it empties) and records where
 * the section ends. */
static void b_section(Buf *m, uint8_t id, Buf *c, size_t *ends, int *nends)
{
	b_byte(m, id);
	b_u32(m, (uint32_t)c->n);
	b_bytes(m, c->p, c->n);
	free(c->p);
	*c = (Buf){0};
	ends[(*nends)++] = m->n;
}

static const uint8_t header[8] = {0x00, 'a', 's', 'm', 1, 0, 0, 0};

/* Offsets noted while building the full module, checked after decoding. */
static size_t body0_offset, data0_offset, global0_offset;

/*
 * A module with every section: 2 types, imports of a function, a table and
 * a global, 2 functions, a table, a memory, 2 globals, 4 exports, a start
 * function, 4 element segments (forms 0, 1, 5 and 7), a data count, 2
 * bodies, 2 data segments and 2 custom sections.
 */
static Buf full_module(size_t *ends, int *nends)
{
	Buf m = {0}, c = {0};
	*nends = 0;
	b_bytes(&m, header, sizeof header);
	ends[(*nends)++] = m.n;

	b_str(&c, "first");
	B(&c, 1, 2, 3);
	b_section(&m, 0, &c, ends, nends);

	/* types: 0 = [] -> [], 1 = [i32] -> [i32] */
	B(&c, 2, 0x60, 0, 0, 0x60, 1, 0x7F, 1, 0x7F);
	b_section(&m, 1, &c, ends, nends);

	/* imports: func 0 : type 1, table 0 : funcref 1.., global 0 : i32 */
	b_u32(&c, 3);
	b_str(&c, "env");
	b_str(&c, "f");
	B(&c, 0x00, 1);
	b_str(&c, "env");
	b_str(&c, "t");
	B(&c, 0x01, 0x70, 0x00, 1);
	b_str(&c, "env");
	b_str(&c, "g");
	B(&c, 0x03, 0x7F, 0);
	b_section(&m, 2, &c, ends, nends);

	/* functions 1 : type 0, 2 : type 1 */
	B(&c, 2, 0, 1);
	b_section(&m, 3, &c, ends, nends);

	/* table 1: externref 2..10 */
	B(&c, 1, 0x6F, 0x01, 2, 10);
	b_section(&m, 4, &c, ends, nends);

	/* memory 0: 1..2 pages */
	B(&c, 1, 0x01, 1, 2);
	b_section(&m, 5, &c, ends, nends);

	/* globals 1 = (mut i32) global.get 0, 2 = funcref ref.func 2 */
	B(&c, 2);
	global0_offset = m.n + 2 + c.n + 2; /* after id, size, type, mut */
	B(&c, 0x7F, 1, 0x23, 0, 0x0B);
	B(&c, 0x70, 0, 0xD2, 2, 0x0B);
	b_section(&m, 6, &c, ends, nends);

	b_u32(&c, 4);
	b_str(&c, "main");
	B(&c, 0, 1);
	b_str(&c, "mem");
	B(&c, 2, 0);
	b_str(&c, "tab");
	B(&c, 1, 1);
	b_str(&c, "g");
	B(&c, 3, 1);
	b_section(&m, 7, &c, ends, nends);

	B(&c, 1);
	b_section(&m, 8, &c, ends, nends);

	B(&c, 4);
	/* form 0: table 0, offset i32.const 0, functions [0] */
	B(&c, 0, 0x41, 0, 0x0B, 1, 0);
	/* form 1: passive, elemkind funcref, functions [2] */
	B(&c, 1, 0x00, 1, 2);
	/* form 5: passive externref, [ref.null extern] */
	B(&c, 5, 0x6F, 1, 0xD0, 0x6F, 0x0B);
	/* form 7: declarative funcref, [ref.func 1, global.get 2] */
	B(&c, 7, 0x70, 2, 0xD2, 1, 0x0B, 0x23, 2, 0x0B);
	b_section(&m, 9, &c, ends, nends);

	B(&c, 2);
	b_section(&m, 12, &c, ends, nends);

	/* body 0: 2 i32 locals, a nop; body 1: local.get 0 */
	B(&c, 2);
	body0_offset =
		m.n + 2 + c.n + 4; /* after id, size, body size, locals */
	B(&c, 5, 1, 2, 0x7F, 0x01, 0x0B);
	B(&c, 4, 0, 0x20, 0, 0x0B);
	b_section(&m, 10, &c, ends, nends);

	B(&c, 2);
	/* active at 8: "hi"; passive: "abc" */
	data0_offset = m.n + 2 + c.n + 5;
	B(&c, 0, 0x41, 8, 0x0B, 2, 'h', 'i');
	B(&c, 1, 3, 'a', 'b', 'c');
	b_section(&m, 11, &c, ends, nends);

	b_str(&c, "last");
	b_section(&m, 0, &c, ends, nends);
	return m;
}

static Module *module_of(myr_engine *e, const uint8_t *bytes, size_t len)
{
	Module *m = calloc(1, sizeof *m);
	assert_non_null(m);
	m->bytes = malloc(len ? len : 1);
	assert_non_null(m->bytes);
	if (len)
		memcpy(m->bytes, bytes, len);
	m->len = len;
	m->engine = e;
	return m;
}

static void module_done(Module *m)
{
	module_release(m);
	free(m->bytes);
	free(m);
}

/* ------------------------------------------------------------------ */
/* The valid module                                                    */

static void test_full_module(void **state)
{
	(void)state;
	size_t ends[32];
	int nends;
	Buf b = full_module(ends, &nends);
	myr_engine *e = myr_engine_new(NULL);
	Module *m = module_of(e, b.p, b.n);
	myr_error err;
	error_clear(&err);
	if (!decode_module(m, &err))
		fail_msg("decode failed: %s", err.message);

	assert_int_equal(m->ntypes, 2);
	assert_int_equal(m->types[1].nparams, 1);
	assert_int_equal(m->types[1].nresults, 1);
	assert_int_equal(ft_results(&m->types[1])[0], VT_I32);
	assert_int_not_equal(m->types[0].canon, m->types[1].canon);
	uint8_t i32s[2] = {VT_I32, VT_I32};
	assert_int_equal(engine_canon_type(e, i32s, 1, 1), m->types[1].canon);

	assert_int_equal(m->nimports, 3);
	assert_int_equal(m->nfunc_imports, 1);
	assert_int_equal(m->ntable_imports, 1);
	assert_int_equal(m->nmem_imports, 0);
	assert_int_equal(m->nglobal_imports, 1);
	assert_int_equal(m->imports[0].name.len, 1);
	assert_memory_equal(m->imports[0].module.s, "env", 3);
	assert_int_equal(m->imports[1].u.table.elem, VT_FUNCREF);

	assert_int_equal(m->nfuncs, 3);
	assert_int_equal(m->func_types[0], 1);
	assert_int_equal(m->func_types[1], 0);
	assert_int_equal(m->func_types[2], 1);
	assert_int_equal(m->funcs[1].index, 2);
	assert_ptr_equal(m->funcs[1].type, &m->types[1]);

	assert_int_equal(m->ntables, 2);
	assert_int_equal(m->tables[1].elem, VT_EXTERNREF);
	assert_true(m->tables[1].lim.has_max);
	assert_int_equal(m->tables[1].lim.max, 10);
	assert_int_equal(m->nmems, 1);
	assert_int_equal(m->mems[0].lim.min, 1);
	assert_int_equal(m->mems[0].page_log2, 16);

	assert_int_equal(m->nglobals, 3);
	assert_true(m->global_types[1].mut);
	assert_int_equal(m->global_types[2].type, VT_FUNCREF);
	assert_int_equal(m->globals[0].init.offset, global0_offset);
	assert_int_equal(m->globals[0].init.len, 3);
	assert_int_equal(m->globals[0].init.code[2], 0x0B);

	assert_int_equal(m->nexports, 4);
	assert_int_equal(m->exports[2].kind, EXT_TABLE);
	assert_int_equal(m->exports[2].index, 1);
	assert_true(m->has_start);
	assert_int_equal(m->start, 1);

	assert_int_equal(m->nelems, 4);
	assert_int_equal(m->elems[0].mode, SEG_ACTIVE);
	assert_int_equal(m->elems[0].items[0].kind, ITEM_FUNC);
	assert_int_equal(m->elems[1].mode, SEG_PASSIVE);
	assert_int_equal(m->elems[2].type, VT_EXTERNREF);
	assert_int_equal(m->elems[2].items[0].kind, ITEM_NULL);
	assert_int_equal(m->elems[3].mode, SEG_DECLARATIVE);
	assert_int_equal(m->elems[3].count, 2);
	assert_int_equal(m->elems[3].items[1].kind, ITEM_GLOBAL_GET);
	assert_int_equal(m->elems[3].items[1].idx, 2);

	assert_true(m->has_data_count);
	assert_int_equal(m->data_count, 2);
	assert_int_equal(m->ndatas, 2);
	assert_int_equal(m->datas[0].mode, SEG_ACTIVE);
	assert_int_equal(m->datas[0].len, 2);
	assert_ptr_equal(m->datas[0].bytes, m->bytes + data0_offset);
	assert_int_equal(m->datas[1].mode, SEG_PASSIVE);
	assert_memory_equal(m->datas[1].bytes, "abc", 3);

	const Func *f = &m->funcs[0];
	assert_int_equal(f->nlocals, 2);
	assert_int_equal(f->nruns, 1);
	assert_int_equal(f->runs[0].type, VT_I32);
	assert_int_equal(f->body_offset, body0_offset);
	assert_ptr_equal(f->body, m->bytes + body0_offset);
	assert_int_equal(f->body_len, 2);
	assert_int_equal(m->funcs[1].nlocals, 0);
	assert_int_equal(m->funcs[1].body_len, 3);

	/* Every function is referenced (element segments, an export and a
	 * global initializer), and each by an element segment, so each is
	 * placed (its object goes in the instance block); instance_prepare
	 * gives the defined ones their slots (test_exec checks them). */
	for (uint32_t i = 0; i < 3; i++) {
		assert_true(module_func_declared(m, i));
		assert_true(module_func_placed(m, i));
	}
	assert_non_null(m->ref_slot);

	module_done(m);
	myr_engine_free(e);
	free(b.p);
}

/* Every prefix of the module must decode or fail cleanly; one that stops
 * inside a section must be malformed. */
static void test_truncations(void **state)
{
	(void)state;
	size_t ends[32];
	int nends;
	Buf b = full_module(ends, &nends);
	myr_engine *e = myr_engine_new(NULL);
	for (size_t len = 0; len < b.n; len++) {
		bool boundary = false;
		for (int k = 0; k < nends; k++)
			boundary |= ends[k] == len;
		Module *m = module_of(e, b.p, len);
		myr_error err;
		error_clear(&err);
		bool ok = decode_module(m, &err);
		if (!boundary && (ok || err.kind != MYR_ERR_MALFORMED))
			fail_msg("prefix of %zu bytes: %s", len,
				 ok ? "accepted" : err.message);
		module_done(m);
	}
	myr_engine_free(e);
	free(b.p);
}

/* A count far larger than the module must fail before allocating. */
static void test_huge_counts(void **state)
{
	(void)state;
	static const uint8_t sections[][8] = {
		{1, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F},  /* types */
		{2, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F},  /* imports */
		{3, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F},  /* functions */
		{6, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F},  /* globals */
		{9, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F},  /* elements */
		{11, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, /* data */
	};
	myr_engine *e = myr_engine_new(NULL);
	for (size_t i = 0; i < COUNT_OF(sections); i++) {
		uint8_t bytes[16];
		memcpy(bytes, header, 8);
		memcpy(bytes + 8, sections[i], 7);
		Module *m = module_of(e, bytes, 15);
		myr_error err;
		error_clear(&err);
		assert_false(decode_module(m, &err));
		assert_int_equal(err.kind, MYR_ERR_MALFORMED);
		assert_non_null(strstr(err.message, "length out of bounds"));
		assert_int_equal(err.offset, 10);
		module_done(m);
	}
	myr_engine_free(e);
}

/* ------------------------------------------------------------------ */
/* Malformed and invalid modules                                       */

#define HDR 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00
#define MOD(...)                                                               \
	.bytes = (const uint8_t[]){__VA_ARGS__},                               \
	.len = sizeof((const uint8_t[]){__VA_ARGS__})
#define ANY_OFFSET (UINT64_MAX - 1)
/* Features for the cases that need something other than the defaults. */
#define WASM2	 MYR_FEATURE_TAIL_CALL
#define NO_PAGES (MYR_FEATURES_DEFAULT & ~MYR_FEATURE_CUSTOM_PAGE_SIZES)

typedef struct BadCase {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	uint32_t features; /* 0: defaults */
	myr_errkind kind;
	const char *text;
	uint64_t offset; /* ANY_OFFSET: not checked */
} BadCase;

static const BadCase bad_cases[] = {
	{"empty", (const uint8_t[]){0}, 0, 0, MYR_ERR_MALFORMED,
	 "unexpected end", 0},
	{"magic", MOD('\0', 'a', 's', 'n', 1, 0, 0, 0), 0, MYR_ERR_MALFORMED,
	 "magic header not detected", 0},
	{"version", MOD(0, 'a', 's', 'm', 2, 0, 0, 0), 0, MYR_ERR_MALFORMED,
	 "unknown binary version", 4},
	{"short version", MOD(0, 'a', 's', 'm', 1, 0), 0, MYR_ERR_MALFORMED,
	 "unexpected end", ANY_OFFSET},
	{"section id", MOD(HDR, 13, 0), 0, MYR_ERR_MALFORMED,
	 "malformed section id", 8},
	{"section order", MOD(HDR, 3, 1, 0, 2, 1, 0), 0, MYR_ERR_MALFORMED,
	 "unexpected content after last section", 11},
	{"repeated section", MOD(HDR, 6, 1, 0, 6, 1, 0), 0, MYR_ERR_MALFORMED,
	 "unexpected content after last section", 11},
	{"datacount after code", MOD(HDR, 10, 1, 0, 12, 1, 0), 0,
	 MYR_ERR_MALFORMED, "unexpected content after last section", 11},
	{"section size mismatch", MOD(HDR, 1, 2, 0, 0, 6, 1, 0), 0,
	 MYR_ERR_MALFORMED, "section size mismatch", 10},
	{"section past the end", MOD(HDR, 1, 9, 0), 0, MYR_ERR_MALFORMED,
	 "length out of bounds", 9},
	{"truncated entry", MOD(HDR, 4, 1, 1), 0, MYR_ERR_MALFORMED,
	 "unexpected end of section or function", 11},
	{"name utf8", MOD(HDR, 2, 6, 1, 1, 0xC0, 0, 0, 0), 0, MYR_ERR_MALFORMED,
	 "malformed UTF-8 encoding", 12},
	{"custom name utf8", MOD(HDR, 0, 3, 2, 0xED, 0xA0), 0,
	 MYR_ERR_MALFORMED, "malformed UTF-8 encoding", 11},
	{"custom name past section", MOD(HDR, 0, 1, 4, 'a', 'b', 'c', 'd'), 0,
	 MYR_ERR_MALFORMED, "length out of bounds", 10},
	{"integer too large",
	 MOD(HDR, 5, 7, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x70), 0,
	 MYR_ERR_MALFORMED, "integer too large", 12},
	{"integer too long",
	 MOD(HDR, 5, 8, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0), 0,
	 MYR_ERR_MALFORMED, "integer representation too long", 12},
	{"limits flags", MOD(HDR, 5, 3, 1, 2, 0), 0, MYR_ERR_MALFORMED,
	 "integer too large", 11},
	{"limits flags 3.0", MOD(HDR, 5, 3, 1, 4, 0), 0, MYR_ERR_MALFORMED,
	 "malformed limits flags", 11},
	{"table limits page size", MOD(HDR, 4, 4, 1, 0x70, 8, 0), 0,
	 MYR_ERR_MALFORMED, "malformed limits flags", 12},
	{"reference type", MOD(HDR, 4, 4, 1, 0x7F, 0, 0), 0, MYR_ERR_MALFORMED,
	 "malformed reference type", 11},
	{"value type", MOD(HDR, 1, 4, 1, 0x60, 1, 0x40), 0, MYR_ERR_MALFORMED,
	 "malformed value type", 13},
	{"mutability", MOD(HDR, 6, 6, 1, 0x7F, 2, 0x41, 0, 0x0B), 0,
	 MYR_ERR_MALFORMED, "malformed mutability", 12},
	{"import kind", MOD(HDR, 2, 4, 1, 0, 0, 4), 0, MYR_ERR_MALFORMED,
	 "malformed import kind", 13},
	{"export kind", MOD(HDR, 7, 4, 1, 0, 4, 0), 0, MYR_ERR_MALFORMED,
	 "malformed export kind", 12},
	{"elem segment kind", MOD(HDR, 9, 2, 1, 8), 0, MYR_ERR_MALFORMED,
	 "malformed elements segment kind", 11},
	{"data segment kind", MOD(HDR, 11, 2, 1, 3), 0, MYR_ERR_MALFORMED,
	 "malformed data segment kind", 11},
	{"function without code", MOD(HDR, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0), 0,
	 MYR_ERR_MALFORMED,
	 "function and code section have inconsistent lengths", ANY_OFFSET},
	{"code without function", MOD(HDR, 10, 4, 1, 2, 0, 0x0B), 0,
	 MYR_ERR_MALFORMED,
	 "function and code section have inconsistent lengths", ANY_OFFSET},
	{"data count", MOD(HDR, 12, 1, 1), 0, MYR_ERR_MALFORMED,
	 "data count and data section have inconsistent lengths", ANY_OFFSET},
	{"locals overflow",
	 MOD(HDR, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 12, 1, 10, 2, 0xFF, 0xFF,
	     0xFF, 0xFF, 0x0F, 0x7F, 2, 0x7E, 0x0B),
	 0, MYR_ERR_MALFORMED, "too many locals", 0x16},
	{"locals limit",
	 MOD(HDR, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 8, 1, 6, 1, 0xD1, 0x86,
	     0x03, 0x7F, 0x0B),
	 0, MYR_ERR_RESOURCE, "too many locals", ANY_OFFSET},
	{"illegal opcode in initializer", MOD(HDR, 6, 4, 1, 0x7F, 0, 0x06), 0,
	 MYR_ERR_MALFORMED, "illegal opcode", 13},
	{"initializer without end",
	 MOD(HDR, 6, 5, 1, 0x7F, 0, 0x41, 0, 0x0A, 1, 0), 0, MYR_ERR_MALFORMED,
	 "illegal opcode", 15},
	/* Validation. */
	{"multiple memories", MOD(HDR, 5, 5, 2, 0, 0, 0, 0), 0, MYR_ERR_INVALID,
	 "multiple memories", ANY_OFFSET},
	{"memory too large", MOD(HDR, 5, 5, 1, 0, 0x81, 0x80, 4), 0,
	 MYR_ERR_INVALID, "memory size must be at most 65536 pages (4GiB)", 11},
	{"memory min over max", MOD(HDR, 5, 4, 1, 1, 2, 1), 0, MYR_ERR_INVALID,
	 "size minimum must not be greater than maximum", 11},
	{"table min over max", MOD(HDR, 4, 5, 1, 0x70, 1, 2, 1), 0,
	 MYR_ERR_INVALID, "size minimum must not be greater than maximum", 11},
	{"unknown type", MOD(HDR, 2, 5, 1, 0, 0, 0, 0), 0, MYR_ERR_INVALID,
	 "unknown type 0", 14},
	{"unknown function export", MOD(HDR, 7, 5, 1, 1, 'f', 0, 7), 0,
	 MYR_ERR_INVALID, "unknown function 7", 14},
	{"duplicate export",
	 MOD(HDR, 5, 3, 1, 0, 0, 7, 9, 2, 1, 'm', 2, 0, 1, 'm', 2, 0), 0,
	 MYR_ERR_INVALID, "duplicate export name", 20},
	{"start type",
	 MOD(HDR, 1, 5, 1, 0x60, 0, 1, 0x7F, 3, 2, 1, 0, 8, 1, 0, 10, 6, 1, 4,
	     0, 0x41, 0, 0x0B),
	 0, MYR_ERR_INVALID, "start function", 0x15},
	{"global.get of a defined global (2.0)",
	 MOD(HDR, 6, 11, 2, 0x7F, 0, 0x41, 0, 0x0B, 0x7F, 0, 0x23, 0, 0x0B),
	 WASM2, MYR_ERR_INVALID, "unknown global 0", 18},
	{"global.get of a later global (3.0)",
	 MOD(HDR, 6, 11, 2, 0x7F, 0, 0x23, 1, 0x0B, 0x7F, 0, 0x41, 0, 0x0B), 0,
	 MYR_ERR_INVALID, "unknown global 1", 13},
	{"global.get of a mutable global",
	 MOD(HDR, 2, 7, 1, 0, 1, 'g', 3, 0x7F, 1, 6, 6, 1, 0x7F, 0, 0x23, 0,
	     0x0B),
	 0, MYR_ERR_INVALID, "constant expression required", ANY_OFFSET},
	{"nop in initializer", MOD(HDR, 6, 7, 1, 0x7F, 0, 0x41, 0, 0x01, 0x0B),
	 0, MYR_ERR_INVALID, "constant expression required", 15},
	{"i32.add without extended-const",
	 MOD(HDR, 6, 9, 1, 0x7F, 0, 0x41, 1, 0x41, 2, 0x6A, 0x0B), WASM2,
	 MYR_ERR_INVALID, "constant expression required", 17},
	{"i32.add on i64",
	 MOD(HDR, 6, 9, 1, 0x7F, 0, 0x42, 1, 0x41, 2, 0x6A, 0x0B), 0,
	 MYR_ERR_INVALID, "type mismatch", 17},
	{"initializer type", MOD(HDR, 6, 6, 1, 0x7F, 0, 0x42, 0, 0x0B), 0,
	 MYR_ERR_INVALID, "type mismatch", ANY_OFFSET},
	{"empty initializer", MOD(HDR, 6, 4, 1, 0x7F, 0, 0x0B), 0,
	 MYR_ERR_INVALID, "type mismatch", ANY_OFFSET},
	{"unknown function in ref.func",
	 MOD(HDR, 6, 6, 1, 0x70, 0, 0xD2, 3, 0x0B), 0, MYR_ERR_INVALID,
	 "unknown function 3", 13},
	{"data without memory", MOD(HDR, 11, 6, 1, 0, 0x41, 0, 0x0B, 0), 0,
	 MYR_ERR_INVALID, "unknown memory 0", 12},
	{"elem without table", MOD(HDR, 9, 6, 1, 0, 0x41, 0, 0x0B, 0), 0,
	 MYR_ERR_INVALID, "unknown table 0", 12},
	{"elem type vs table",
	 MOD(HDR, 4, 4, 1, 0x6F, 0, 0, 9, 8, 1, 6, 0, 0x41, 0, 0x0B, 0x70, 0),
	 0, MYR_ERR_INVALID, "type mismatch", ANY_OFFSET},
	{"elem offset type",
	 MOD(HDR, 4, 4, 1, 0x70, 0, 0, 9, 6, 1, 0, 0x42, 0, 0x0B, 0), 0,
	 MYR_ERR_INVALID, "type mismatch", ANY_OFFSET},
	/* custom-page-sizes */
	{"page size 2^17", MOD(HDR, 5, 4, 1, 8, 0, 17), 0, MYR_ERR_INVALID,
	 "invalid custom page size", 13},
	{"page size 2^65", MOD(HDR, 5, 4, 1, 8, 0, 65), 0, MYR_ERR_MALFORMED,
	 "invalid custom page size", 13},
	{"page size disabled", MOD(HDR, 5, 4, 1, 8, 0, 0), NO_PAGES,
	 MYR_ERR_MALFORMED, "malformed limits flags", 11},
};

static void test_bad_modules(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT_OF(bad_cases); i++) {
		const BadCase *c = &bad_cases[i];
		myr_config cfg;
		myr_config_default(&cfg);
		if (c->features)
			cfg.features = c->features;
		myr_engine *e = myr_engine_new(&cfg);
		Module *m = module_of(e, c->bytes, c->len);
		myr_error err;
		error_clear(&err);
		if (decode_module(m, &err))
			fail_msg("%s: accepted", c->name);
		if (err.kind != c->kind || !strstr(err.message, c->text))
			fail_msg("%s: got kind %d \"%s\", want kind %d \"%s\"",
				 c->name, err.kind, err.message, c->kind,
				 c->text);
		if (c->offset != ANY_OFFSET && err.offset != c->offset)
			fail_msg("%s: offset 0x%llx, want 0x%llx (%s)", c->name,
				 (unsigned long long)err.offset,
				 (unsigned long long)c->offset, err.message);
		module_done(m);
		myr_engine_free(e);
	}
}

/* ------------------------------------------------------------------ */
/* Features that change what is valid                                 */

static Module *decode_ok(myr_engine *e, const uint8_t *bytes, size_t len)
{
	Module *m = module_of(e, bytes, len);
	myr_error err;
	error_clear(&err);
	if (!decode_module(m, &err))
		fail_msg("decode failed: %s", err.message);
	return m;
}

static void test_extended_const(void **state)
{
	(void)state;
	/* g0 = 1; g1 = g0 * (2 + 3) as i32; elem offset = global.get 1 */
	static const uint8_t bytes[] = {
		HDR, 4,	   4,	 1, 0x70, 0, 8,	   6, 17,   2, 0x7F, 0,	   0x41,
		1,   0x0B, 0x7F, 0, 0x23, 0, 0x41, 2, 0x41, 3, 0x6A, 0x6C, 0x0B,
		9,   6,	   1,	 0, 0x23, 1, 0x0B, 0,
	};
	myr_engine *e = myr_engine_new(NULL);
	Module *m = decode_ok(e, bytes, sizeof bytes);
	assert_int_equal(m->nglobals, 2);
	assert_int_equal(m->globals[1].init.len, 9);
	assert_int_equal(m->elems[0].offset.len, 3);
	module_done(m);
	myr_engine_free(e);
}

static void test_custom_page_size(void **state)
{
	(void)state;
	/* memory 0: 16 KiB of 1-byte pages, at most 4 GiB of them */
	static const uint8_t bytes[] = {
		HDR, 5,	   11,	 1,    9,    0x80, 0x80,
		1,   0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0,
	};
	myr_engine *e = myr_engine_new(NULL);
	Module *m = decode_ok(e, bytes, sizeof bytes);
	assert_int_equal(m->mems[0].page_log2, 0);
	assert_int_equal(m->mems[0].lim.min, 16384);
	assert_int_equal(m->mems[0].lim.max, UINT32_MAX);
	module_done(m);
	myr_engine_free(e);
}

static void test_multi_memory(void **state)
{
	(void)state;
	static const uint8_t bytes[] = {
		HDR, 5, 5, 2, 0, 1, 0, 0, 11, 7, 1, 2, 1, 0x41, 0, 0x0B, 0,
	};
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.features |= MYR_FEATURE_MULTI_MEMORY;
	myr_engine *e = myr_engine_new(&cfg);
	Module *m = decode_ok(e, bytes, sizeof bytes);
	assert_int_equal(m->nmems, 2);
	assert_int_equal(m->datas[0].mem, 1);
	module_done(m);
	myr_engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_module),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_huge_counts),
		cmocka_unit_test(test_bad_modules),
		cmocka_unit_test(test_extended_const),
		cmocka_unit_test(test_custom_page_size),
		cmocka_unit_test(test_multi_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
