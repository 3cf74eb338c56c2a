/* Valid modules from arbitrary bytes: see gen.h. */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, FUNCREF = 0x70 };

enum {
	MAX_TYPES = 8,
	MAX_FUNCS = 8,
	MAX_GLOBALS = 6,
	MAX_USER_LOCALS = 6,
	NCOUNTERS = 4, /* nested counted loops in one function */
	MAX_LABELS = 64,
	MAX_DEPTH = 6,
	MAX_ARITY = 3,
	PAGE = 65536,
};

typedef struct Buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
} Buf;

typedef struct Type {
	uint8_t np, nr;
	uint8_t p[MAX_ARITY], r[MAX_ARITY];
} Type;

typedef struct Label {
	uint8_t n;
	uint8_t t[MAX_ARITY];
} Label;

typedef struct Gen {
	const uint8_t *in;
	size_t n, i;
	const GenOptions *opt;
	Type types[MAX_TYPES];
	uint32_t ntypes;
	uint32_t nimports, nfuncs; /* nfuncs counts the import */
	uint32_t ftype[MAX_FUNCS];
	bool has_mem, mem_has_max;
	uint32_t mem_min, mem_max;
	uint32_t table_size;
	uint32_t nglobals;
	uint8_t gtype[MAX_GLOBALS];
	bool gmut[MAX_GLOBALS];
	/* The function being generated. */
	uint32_t cur;
	uint32_t nuser; /* params and user locals: what code may touch */
	uint8_t ltype[MAX_ARITY + MAX_USER_LOCALS];
	uint32_t counter0, counters_used, tmp_f32, tmp_f64;
	Label labels[MAX_LABELS];
	uint32_t nlabels;
	uint32_t budget;
	Buf *b;
} Gen;

/* ------------------------------------------------------------------ */
/* Bytes out                                                           */

static void put(Buf *b, uint8_t x)
{
	if (b->len == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	b->p[b->len++] = x;
}

static void put_n(Buf *b, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(b, ((const uint8_t *)p)[i]);
}

static void uleb(Buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		put(b, c | (v ? 0x80 : 0));
	} while (v);
}

static void sleb(Buf *b, int64_t v)
{
	for (;;) {
		uint8_t c = v & 0x7f;
		v >>= 7; /* arithmetic: clang does so for signed */
		bool done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
		put(b, c | (done ? 0 : 0x80));
		if (done)
			return;
	}
}

static void name(Buf *b, const char *s)
{
	size_t n = strlen(s);
	uleb(b, n);
	put_n(b, s, n);
}

static void section(Buf *out, uint8_t id, Buf *body)
{
	put(out, id);
	uleb(out, body->len);
	put_n(out, body->p, body->len);
	out->oom |= body->oom;
	free(body->p);
	*body = (Buf){0};
}

/* ------------------------------------------------------------------ */
/* Choices in                                                          */

/* 0..n-1; 0 once the input is used up. */
static uint32_t pick(Gen *g, uint32_t n)
{
	if (n <= 1 || g->i >= g->n)
		return 0;
	uint32_t v = g->in[g->i++];
	if (n > 256 && g->i < g->n)
		v |= (uint32_t)g->in[g->i++] << 8;
	return v % n;
}

static uint64_t raw(Gen *g, int bytes)
{
	uint64_t v = 0;
	for (int k = 0; k < bytes && g->i < g->n; k++)
		v |= (uint64_t)g->in[g->i++] << (8 * k);
	return v;
}

static uint8_t valtype(Gen *g)
{
	static const uint8_t t[] = {I32, I64, F32, F64};
	return t[pick(g, 4)];
}

/* ------------------------------------------------------------------ */
/* Instructions                                                        */

static void op(Gen *g, uint8_t x)
{
	put(g->b, x);
	if (g->budget)
		g->budget--;
}

static void op_fc(Gen *g, uint32_t sub)
{
	op(g, 0xfc);
	uleb(g->b, sub);
}

static void const_of(Gen *g, uint8_t t)
{
	static const int32_t i32s[] = {0,	  1,	     -1,    2,
				       INT32_MIN, INT32_MAX, 31,    32,
				       65535,	  65536,     -65536};
	static const int64_t i64s[] = {
		0,  1,		-1,	    INT64_MIN,	 INT64_MAX,  63,
		64, 0x80000000, 0xffffffff, 0x100000000, -0x80000000};
	static const uint32_t f32s[] = {
		0,	    0x80000000, 0x3f800000, 0xbf800000, 0x7f800000,
		0xff800000, 0x7fc00000, 0x7fa00000, 0x4f000000, 0x5f000000,
		0x3f000000, 0xcf000000, 0x4f800000, 0x00000001, 0xdf000000};
	static const uint64_t f64s[] = {0,
					0x8000000000000000ull,
					0x3ff0000000000000ull,
					0xbff0000000000000ull,
					0x7ff0000000000000ull,
					0xfff0000000000000ull,
					0x7ff8000000000000ull,
					0x7ff4000000000000ull,
					0x41e0000000000000ull,
					0x43e0000000000000ull,
					0x3fe0000000000000ull,
					0xc1e0000000000000ull,
					0x41efffffffe00000ull,
					0xc3e0000000000000ull,
					0x0000000000000001ull};
	uint32_t k = pick(g, 4);
	switch (t) {
	case I32:
		op(g, 0x41);
		sleb(g->b, k == 0   ? (int32_t)pick(g, 16)
			   : k == 1 ? (int32_t)raw(g, 4)
				    : i32s[pick(g, sizeof i32s / 4)]);
		break;
	case I64:
		op(g, 0x42);
		sleb(g->b, k == 0   ? (int64_t)pick(g, 16)
			   : k == 1 ? (int64_t)raw(g, 8)
				    : i64s[pick(g, sizeof i64s / 8)]);
		break;
	case F32: {
		op(g, 0x43);
		uint32_t v = k == 1 ? (uint32_t)raw(g, 4)
				    : f32s[pick(g, sizeof f32s / 4)];
		put_n(g->b, &v, 4);
		break;
	}
	default: {
		op(g, 0x44);
		uint64_t v =
			k == 1 ? raw(g, 8) : f64s[pick(g, sizeof f64s / 8)];
		put_n(g->b, &v, 8);
		break;
	}
	}
}

/* A user local of type t, or -1. */
static int64_t local_of(Gen *g, uint8_t t)
{
	uint32_t n = 0, which;
	for (uint32_t i = 0; i < g->nuser; i++)
		n += g->ltype[i] == t;
	if (!n)
		return -1;
	which = pick(g, n);
	for (uint32_t i = 0; i < g->nuser; i++)
		if (g->ltype[i] == t && which-- == 0)
			return i;
	return -1;
}

static int64_t global_of(Gen *g, uint8_t t, bool mut)
{
	uint32_t n = 0, which;
	for (uint32_t i = 0; i < g->nglobals; i++)
		n += g->gtype[i] == t && (!mut || g->gmut[i]);
	if (!n)
		return -1;
	which = pick(g, n);
	for (uint32_t i = 0; i < g->nglobals; i++)
		if (g->gtype[i] == t && (!mut || g->gmut[i]) && which-- == 0)
			return i;
	return -1;
}

static void leaf(Gen *g, uint8_t t)
{
	int64_t x;
	switch (pick(g, 3)) {
	case 1:
		if ((x = local_of(g, t)) >= 0) {
			op(g, 0x20);
			uleb(g->b, (uint64_t)x);
			return;
		}
		break;
	case 2:
		if ((x = global_of(g, t, false)) >= 0) {
			op(g, 0x23);
			uleb(g->b, (uint64_t)x);
			return;
		}
		break;
	}
	const_of(g, t);
}

static void expr(Gen *g, uint8_t t, int depth);
static void stmts(Gen *g, int depth);

static void push_label(Gen *g, const uint8_t *t, uint8_t n)
{
	Label *l = &g->labels[g->nlabels++];
	l->n = n;
	if (n)
		memcpy(l->t, t, n);
}

static bool labels_full(const Gen *g)
{
	return g->nlabels + 2 >= MAX_LABELS;
}

/* The value now on the stack, with a NaN replaced by the canonical one,
 * when the options ask for it. */
static void canon(Gen *g, uint8_t t)
{
	if (!g->opt->canonical_nans || (t != F32 && t != F64))
		return;
	uint32_t tmp = t == F32 ? g->tmp_f32 : g->tmp_f64;
	op(g, 0x22);
	uleb(g->b, tmp);
	if (t == F32) {
		uint32_t nan = 0x7fc00000;
		op(g, 0x43);
		put_n(g->b, &nan, 4);
	} else {
		uint64_t nan = 0x7ff8000000000000ull;
		op(g, 0x44);
		put_n(g->b, &nan, 8);
	}
	op(g, 0x20);
	uleb(g->b, tmp);
	op(g, 0x20);
	uleb(g->b, tmp);
	op(g, t == F32 ? 0x5b : 0x61); /* eq: false only for NaN */
	op(g, 0x1b);
}

static void addr(Gen *g, int depth)
{
	switch (pick(g, 5)) {
	case 0:
	case 1: {
		uint32_t limit = g->mem_min ? g->mem_min * PAGE : 64;
		op(g, 0x41);
		sleb(g->b, (int32_t)pick(g, limit + 16));
		break;
	}
	case 2:
		expr(g, I32, depth + 1);
		op(g, 0x41);
		sleb(g->b, g->mem_min ? (int32_t)(g->mem_min * PAGE - 1) : 255);
		op(g, 0x71); /* and */
		break;
	case 3:
		expr(g, I32, depth + 1);
		break;
	default:
		op(g, 0x41);
		sleb(g->b, (int32_t)(g->mem_min * PAGE - pick(g, 16)));
		break;
	}
}

static void memarg(Gen *g, uint32_t max_align)
{
	static const uint32_t big[] = {65535, 65536, 0xfffffff0u, 0xffffffffu,
				       PAGE * 2};
	uleb(g->b, pick(g, max_align + 1));
	uleb(g->b, pick(g, 8) ? pick(g, 33) : big[pick(g, 5)]);
}

static const struct Mem {
	uint8_t op, t, align;
} loads[] =
	{
		{0x28, I32, 2}, {0x29, I64, 3}, {0x2a, F32, 2}, {0x2b, F64, 3},
		{0x2c, I32, 0}, {0x2d, I32, 0}, {0x2e, I32, 1}, {0x2f, I32, 1},
		{0x30, I64, 0}, {0x31, I64, 0}, {0x32, I64, 1}, {0x33, I64, 1},
		{0x34, I64, 2}, {0x35, I64, 2},
},
  stores[] = {
	  {0x36, I32, 2}, {0x37, I64, 3}, {0x38, F32, 2},
	  {0x39, F64, 3}, {0x3a, I32, 0}, {0x3b, I32, 1},
	  {0x3c, I64, 0}, {0x3d, I64, 1}, {0x3e, I64, 2},
};

static const struct Mem *pick_mem(Gen *g, const struct Mem *list, size_t n,
				  uint8_t t)
{
	uint32_t count = 0, which;
	for (size_t i = 0; i < n; i++)
		count += list[i].t == t || t == 0;
	which = pick(g, count);
	for (size_t i = 0; i < n; i++)
		if ((list[i].t == t || t == 0) && which-- == 0)
			return &list[i];
	return &list[0];
}

/* Conversions and tests whose result is of type `to`. Codes above 0xff
 * are 0xfc-prefixed. `canon`: the operand's bits are observed. */
static const struct Conv {
	uint16_t op;
	uint8_t to, from, nargs;
	bool canon;
} convs[] = {
	{0xa7, I32, I64, 1, 0},	 {0xa8, I32, F32, 1, 0},
	{0xa9, I32, F32, 1, 0},	 {0xaa, I32, F64, 1, 0},
	{0xab, I32, F64, 1, 0},	 {0xbc, I32, F32, 1, 1},
	{0x45, I32, I32, 1, 0},	 {0x50, I32, I64, 1, 0},
	{0x100, I32, F32, 1, 0}, {0x101, I32, F32, 1, 0},
	{0x102, I32, F64, 1, 0}, {0x103, I32, F64, 1, 0},
	{0xac, I64, I32, 1, 0},	 {0xad, I64, I32, 1, 0},
	{0xae, I64, F32, 1, 0},	 {0xaf, I64, F32, 1, 0},
	{0xb0, I64, F64, 1, 0},	 {0xb1, I64, F64, 1, 0},
	{0xbd, I64, F64, 1, 1},	 {0x104, I64, F32, 1, 0},
	{0x105, I64, F32, 1, 0}, {0x106, I64, F64, 1, 0},
	{0x107, I64, F64, 1, 0}, {0xb2, F32, I32, 1, 0},
	{0xb3, F32, I32, 1, 0},	 {0xb4, F32, I64, 1, 0},
	{0xb5, F32, I64, 1, 0},	 {0xb6, F32, F64, 1, 0},
	{0xbe, F32, I32, 1, 0},	 {0xb7, F64, I32, 1, 0},
	{0xb8, F64, I32, 1, 0},	 {0xb9, F64, I64, 1, 0},
	{0xba, F64, I64, 1, 0},	 {0xbb, F64, F32, 1, 0},
	{0xbf, F64, I64, 1, 0},
};

static void unop_or_binop(Gen *g, uint8_t t, int depth)
{
	static const uint8_t un32[] = {0x67, 0x68, 0x69, 0xc0, 0xc1};
	static const uint8_t un64[] = {0x79, 0x7a, 0x7b, 0xc2, 0xc3, 0xc4};
	uint8_t base_bin, nbin, base_un = 0, nun = 0;
	const uint8_t *un = NULL;
	switch (t) {
	case I32:
		base_bin = 0x6a, nbin = 15, un = un32, nun = sizeof un32;
		break;
	case I64:
		base_bin = 0x7c, nbin = 15, un = un64, nun = sizeof un64;
		break;
	case F32:
		base_bin = 0x92, nbin = 7, base_un = 0x8b, nun = 7;
		break;
	default:
		base_bin = 0xa0, nbin = 7, base_un = 0x99, nun = 7;
		break;
	}
	if (pick(g, 3) == 0) {
		expr(g, t, depth + 1);
		uint32_t k = pick(g, nun);
		op(g, un ? un[k] : (uint8_t)(base_un + k));
	} else {
		expr(g, t, depth + 1);
		expr(g, t, depth + 1);
		op(g, (uint8_t)(base_bin + pick(g, nbin)));
	}
}

static void compare(Gen *g, int depth)
{
	static const uint8_t base[] = {0x46, 0x51, 0x5b, 0x61};
	static const uint8_t count[] = {10, 10, 6, 6};
	static const uint8_t ts[] = {I32, I64, F32, F64};
	uint32_t k = pick(g, 4);
	expr(g, ts[k], depth + 1);
	expr(g, ts[k], depth + 1);
	op(g, (uint8_t)(base[k] + pick(g, count[k])));
}

static void convert(Gen *g, uint8_t t, int depth)
{
	uint32_t n = 0, which;
	for (size_t i = 0; i < sizeof convs / sizeof *convs; i++)
		n += convs[i].to == t;
	which = pick(g, n);
	for (size_t i = 0; i < sizeof convs / sizeof *convs; i++) {
		const struct Conv *c = &convs[i];
		if (c->to != t || which-- != 0)
			continue;
		expr(g, c->from, depth + 1);
		if (c->canon)
			canon(g, c->from);
		if (c->op > 0xff)
			op_fc(g, c->op & 0xff);
		else
			op(g, (uint8_t)c->op);
		return;
	}
}

static const Type *ftype(const Gen *g, uint32_t f)
{
	return &g->types[g->ftype[f]];
}

/* A function to call from the current one: mostly one defined after it
 * (so calls form a DAG and runs end), sometimes any. -1 if none fits. */
static int64_t callee(Gen *g, bool want_result, uint8_t t)
{
	bool any = pick(g, 8) == 0;
	uint32_t n = 0, which;
	for (uint32_t f = 0; f < g->nfuncs; f++) {
		const Type *ty = ftype(g, f);
		bool ok = (any || f > g->cur || f < g->nimports) &&
			  (!want_result || (ty->nr == 1 && ty->r[0] == t));
		n += ok;
	}
	if (!n)
		return -1;
	which = pick(g, n);
	for (uint32_t f = 0; f < g->nfuncs; f++) {
		const Type *ty = ftype(g, f);
		bool ok = (any || f > g->cur || f < g->nimports) &&
			  (!want_result || (ty->nr == 1 && ty->r[0] == t));
		if (ok && which-- == 0)
			return f;
	}
	return -1;
}

static int64_t type_with_result(Gen *g, uint8_t t)
{
	uint32_t n = 0, which;
	for (uint32_t i = 0; i < g->ntypes; i++)
		n += g->types[i].nr == 1 && g->types[i].r[0] == t;
	if (!n)
		return -1;
	which = pick(g, n);
	for (uint32_t i = 0; i < g->ntypes; i++)
		if (g->types[i].nr == 1 && g->types[i].r[0] == t &&
		    which-- == 0)
			return i;
	return -1;
}

static void args(Gen *g, const Type *ty, int depth)
{
	for (uint32_t i = 0; i < ty->np; i++)
		expr(g, ty->p[i], depth + 1);
}

static void values(Gen *g, const uint8_t *t, uint32_t n, int depth)
{
	for (uint32_t i = 0; i < n; i++)
		expr(g, t[i], depth + 1);
}

static void drops(Gen *g, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		op(g, 0x1a);
}

static void table_index(Gen *g, int depth)
{
	if (pick(g, 4)) {
		op(g, 0x41);
		sleb(g->b, (int32_t)pick(g, g->table_size + 2));
	} else {
		expr(g, I32, depth + 1);
	}
}

static void call_indirect(Gen *g, uint32_t type, int depth)
{
	args(g, &g->types[type], depth);
	table_index(g, depth);
	op(g, 0x11);
	uleb(g->b, type);
	put(g->b, 0);
}

/* A counted loop: the counter is tested at the top, so every way back to
 * the loop header (including a br from inside) spends one count. With the
 * counters all in use, or sometimes anyway, the loop has only a random
 * exit and fuel ends it. `t`: the loop's result type, 0 for none. */
static void loop(Gen *g, uint8_t t, int depth)
{
	bool counted = g->counters_used < NCOUNTERS && pick(g, 16) != 1;
	uint32_t c = g->counter0 + g->counters_used;
	uint8_t bt = t ? t : 0x40;
	if (counted) {
		g->counters_used++;
		op(g, 0x41);
		sleb(g->b,
		     pick(g, 8) ? (int32_t)pick(g, 6) : (int32_t)pick(g, 100));
		op(g, 0x21);
		uleb(g->b, c);
		op(g, 0x02); /* the way out */
		put(g->b, bt);
		push_label(g, &t, t ? 1 : 0);
	}
	op(g, 0x03);
	put(g->b, bt);
	push_label(g, NULL, 0);
	if (counted) {
		if (t)
			expr(g, t, depth + 1);
		op(g, 0x20);
		uleb(g->b, c);
		op(g, 0x45);
		op(g, 0x0d);
		uleb(g->b, 1);
		if (t)
			op(g, 0x1a);
		op(g, 0x20);
		uleb(g->b, c);
		op(g, 0x41);
		sleb(g->b, 1);
		op(g, 0x6b);
		op(g, 0x21);
		uleb(g->b, c);
	}
	stmts(g, depth + 1);
	/* The back edge: taken always, on a condition, or never. */
	uint32_t back = counted ? pick(g, 3) : 1;
	if (back == 1)
		expr(g, I32, depth + 1);
	if (back) {
		op(g, back == 1 ? 0x0d : 0x0c);
		uleb(g->b, 0);
	}
	if (t)
		expr(g, t, depth + 1);
	op(g, 0x0b);
	g->nlabels--;
	if (counted) {
		op(g, 0x0b);
		g->nlabels--;
		g->counters_used--;
	}
}

static void stmt(Gen *g, int depth);

/* counter * scale + base: an address that moves with a loop's counter. */
static void affine_addr(Gen *g, uint32_t c, uint32_t scale, int32_t base)
{
	op(g, 0x20);
	uleb(g->b, c);
	op(g, 0x41);
	sleb(g->b, (int32_t)scale);
	op(g, pick(g, 2) ? 0x6c : 0x74); /* mul, or shl by a small count */
	op(g, 0x41);
	sleb(g->b, base);
	op(g, 0x6a);
}

/* A loop in the shape clang gives a counted one, tested at the bottom
 * (`br_if 0` on the stepped counter against a bound), whose body is a
 * few loads and stores at addresses that move with the counter: the
 * loops the compiler gives a fast copy (src/jit_emit.c, "Fast loops").
 * Start, step, bound and comparison are drawn so that the loop usually
 * ends after a few dozen iterations, and sometimes never does (fuel ends
 * it), runs off memory (a trap), or has something in its body that
 * makes it no candidate at all. */
static void affine_loop(Gen *g, int depth)
{
	if (!g->has_mem || g->counters_used >= NCOUNTERS || labels_full(g)) {
		loop(g, 0, depth);
		return;
	}
	static const int32_t steps[] = {1, 2, 4, 3, -1, -2, -4, 8};
	/* ne, lt_s, lt_u, le_s, le_u; gt_s, gt_u, ge_s, ge_u going down */
	static const uint8_t up[] = {0x47, 0x48, 0x49, 0x4c, 0x4d};
	static const uint8_t down[] = {0x47, 0x4a, 0x4b, 0x4e, 0x4f};
	uint32_t c = g->counter0 + g->counters_used++;
	int32_t step = steps[pick(g, 8)];
	int32_t start = (int32_t)pick(g, 64) - (pick(g, 4) ? 0 : 32);
	int32_t end = start + step * (int32_t)(1 + pick(g, 64));
	if (!pick(g, 8))
		end += 1; /* never equal with an even step */
	uint8_t cmp = step > 0 ? up[pick(g, 5)] : down[pick(g, 5)];
	if (!pick(g, 16))
		cmp = 0x46 + (uint8_t)pick(g, 10); /* any, the wrong way too */
	uint32_t limit = g->mem_min ? g->mem_min * PAGE : 64;
	uint32_t scale = 1u << pick(g, 4);
	int32_t base = pick(g, 4) ? (int32_t)pick(g, limit / 2 + 1)
				  : (int32_t)limit - (int32_t)pick(g, 600);
	op(g, 0x41);
	sleb(g->b, start);
	op(g, 0x21);
	uleb(g->b, c);
	op(g, 0x03);
	put(g->b, 0x40);
	push_label(g, NULL, 0);
	for (uint32_t n = 1 + pick(g, 4); n && g->budget; n--) {
		if (!pick(g, 8)) {
			stmt(g, depth + 1);
			continue;
		}
		bool store = pick(g, 2);
		const struct Mem *m =
			store ? pick_mem(g, stores,
					 sizeof stores / sizeof *stores, 0)
			      : pick_mem(g, loads, sizeof loads / sizeof *loads,
					 0);
		affine_addr(g, c, store ? scale : 1u << pick(g, 4),
			    base + (int32_t)pick(g, 16) - 8);
		if (!store) {
			op(g, m->op);
			memarg(g, m->align);
			int64_t x = local_of(g, m->t);
			op(g, x >= 0 ? 0x21 : 0x1a);
			if (x >= 0)
				uleb(g->b, (uint64_t)x);
			continue;
		}
		/* The value: a leaf, or a load next to it combined with one. */
		if (pick(g, 2)) {
			leaf(g, m->t);
		} else {
			const struct Mem *l = pick_mem(
				g, loads, sizeof loads / sizeof *loads, m->t);
			affine_addr(g, c, scale, base + (int32_t)pick(g, 64));
			op(g, l->op);
			memarg(g, l->align);
			leaf(g, m->t);
			op(g, m->t == I32   ? 0x6a
			      : m->t == I64 ? 0x7c
			      : m->t == F32 ? 0x92
					    : 0xa0); /* add */
		}
		canon(g, m->t);
		op(g, m->op);
		memarg(g, m->align);
	}
	op(g, 0x20);
	uleb(g->b, c);
	op(g, 0x41);
	sleb(g->b, step);
	op(g, 0x6a);
	op(g, 0x22);
	uleb(g->b, c);
	op(g, 0x41);
	sleb(g->b, end);
	op(g, cmp);
	op(g, 0x0d);
	uleb(g->b, 0);
	op(g, 0x0b);
	g->nlabels--;
	g->counters_used--;
}

/* An expression that leaves one value of type t. */
static void expr(Gen *g, uint8_t t, int depth)
{
	int64_t x;
	if (depth >= MAX_DEPTH || g->budget == 0 || labels_full(g)) {
		leaf(g, t);
		return;
	}
	switch (pick(g, 20)) {
	case 0:
	case 1:
		leaf(g, t);
		return;
	case 2:
	case 3:
	case 4:
		unop_or_binop(g, t, depth);
		return;
	case 5:
		if (t == I32) {
			compare(g, depth);
			return;
		}
		convert(g, t, depth);
		return;
	case 6:
		convert(g, t, depth);
		return;
	case 7:
	case 8:
		if (g->has_mem) {
			const struct Mem *m = pick_mem(
				g, loads, sizeof loads / sizeof *loads, t);
			addr(g, depth);
			op(g, m->op);
			memarg(g, m->align);
			return;
		}
		break;
	case 9:
		expr(g, t, depth + 1);
		expr(g, t, depth + 1);
		expr(g, I32, depth + 1);
		if (pick(g, 2)) {
			op(g, 0x1c);
			uleb(g->b, 1);
			put(g->b, t);
		} else {
			op(g, 0x1b);
		}
		return;
	case 10:
		op(g, 0x02);
		put(g->b, t);
		push_label(g, &t, 1);
		stmts(g, depth + 1);
		expr(g, t, depth + 1);
		op(g, 0x0b);
		g->nlabels--;
		return;
	case 11:
		expr(g, I32, depth + 1);
		op(g, 0x04);
		put(g->b, t);
		push_label(g, &t, 1);
		stmts(g, depth + 1);
		expr(g, t, depth + 1);
		op(g, 0x05);
		stmts(g, depth + 1);
		expr(g, t, depth + 1);
		op(g, 0x0b);
		g->nlabels--;
		return;
	case 12:
		loop(g, t, depth);
		return;
	case 13:
		if (pick(g, 3) && (x = callee(g, true, t)) >= 0) {
			args(g, ftype(g, (uint32_t)x), depth);
			op(g, 0x10);
			uleb(g->b, (uint64_t)x);
			return;
		}
		if ((x = type_with_result(g, t)) >= 0) {
			call_indirect(g, (uint32_t)x, depth);
			return;
		}
		break;
	case 14:
		if ((x = local_of(g, t)) >= 0) {
			expr(g, t, depth + 1);
			op(g, 0x22);
			uleb(g->b, (uint64_t)x);
			return;
		}
		break;
	case 15:
		if (t == I32 && g->has_mem) {
			if (pick(g, 2)) {
				op(g, 0x3f);
				put(g->b, 0);
			} else {
				expr(g, I32, depth + 1);
				op(g, 0x40);
				put(g->b, 0);
			}
			return;
		}
		break;
	case 16:
		/* br_if carrying the block's value out. */
		op(g, 0x02);
		put(g->b, t);
		push_label(g, &t, 1);
		expr(g, t, depth + 1);
		expr(g, I32, depth + 1);
		op(g, 0x0d);
		uleb(g->b, 0);
		g->nlabels--;
		op(g, 0x0b);
		return;
	case 17:
		if (t == I32) {
			switch (pick(g, 3)) {
			case 0:
				op_fc(g, 0x10); /* table.size */
				uleb(g->b, 0);
				return;
			case 1:
				table_index(g, depth);
				op(g, 0x25); /* table.get */
				uleb(g->b, 0);
				op(g, 0xd1); /* ref.is_null */
				return;
			default:
				op(g, 0xd0);
				put(g->b, FUNCREF);
				expr(g, I32, depth + 1);
				op_fc(g, 0x0f); /* table.grow */
				uleb(g->b, 0);
				return;
			}
		}
		break;
	case 18:
		if ((x = global_of(g, t, false)) >= 0) {
			op(g, 0x23);
			uleb(g->b, (uint64_t)x);
			return;
		}
		break;
	default:
		break;
	}
	unop_or_binop(g, t, depth);
}

/* Label d (0: innermost) as a relative depth, and its types. */
static const Label *label(const Gen *g, uint32_t d)
{
	return &g->labels[g->nlabels - 1 - d];
}

static bool same_label_types(const Label *a, const Label *b)
{
	return a->n == b->n && memcmp(a->t, b->t, a->n) == 0;
}

static void br_table(Gen *g, int depth)
{
	uint32_t d = pick(g, g->nlabels);
	const Label *target = label(g, d);
	uint32_t same[MAX_LABELS], n = 0;
	for (uint32_t k = 0; k < g->nlabels; k++)
		if (same_label_types(label(g, k), target))
			same[n++] = k;
	values(g, target->t, target->n, depth);
	table_index(g, depth);
	uint32_t entries = pick(g, 5);
	op(g, 0x0e);
	uleb(g->b, entries);
	for (uint32_t i = 0; i < entries; i++)
		uleb(g->b, same[pick(g, n)]);
	uleb(g->b, same[pick(g, n)]);
}

/* A block, if or (rarely) unreachable-tail region with a type index:
 * params are consumed first, results dropped after. */
static void typed_block(Gen *g, int depth)
{
	uint32_t ti = pick(g, g->ntypes);
	const Type *ty = &g->types[ti];
	bool is_if = pick(g, 2);
	values(g, ty->p, ty->np, depth);
	if (is_if)
		expr(g, I32, depth + 1);
	op(g, is_if ? 0x04 : 0x02);
	sleb(g->b, ti);
	push_label(g, ty->r, ty->nr);
	for (int arm = 0; arm < (is_if ? 2 : 1); arm++) {
		if (arm)
			op(g, 0x05);
		for (uint32_t i = ty->np; i-- > 0;) {
			int64_t l = pick(g, 2) ? local_of(g, ty->p[i]) : -1;
			if (l >= 0) {
				op(g, 0x21);
				uleb(g->b, (uint64_t)l);
			} else {
				op(g, 0x1a);
			}
		}
		stmts(g, depth + 1);
		values(g, ty->r, ty->nr, depth);
	}
	op(g, 0x0b);
	g->nlabels--;
	drops(g, ty->nr);
}

static void stmt(Gen *g, int depth)
{
	int64_t x;
	const Type *cur = ftype(g, g->cur);
	switch (pick(g, 24)) {
	case 0:
		op(g, 0x01);
		return;
	case 1:
	case 2:
	case 3: {
		uint8_t t = valtype(g);
		if ((x = local_of(g, t)) >= 0) {
			expr(g, t, depth + 1);
			op(g, 0x21);
			uleb(g->b, (uint64_t)x);
			return;
		}
		break;
	}
	case 4: {
		uint8_t t = valtype(g);
		if ((x = global_of(g, t, true)) >= 0) {
			expr(g, t, depth + 1);
			op(g, 0x24);
			uleb(g->b, (uint64_t)x);
			return;
		}
		break;
	}
	case 5:
	case 6:
		if (g->has_mem) {
			const struct Mem *m = pick_mem(
				g, stores, sizeof stores / sizeof *stores, 0);
			addr(g, depth);
			expr(g, m->t, depth + 1);
			canon(g, m->t);
			op(g, m->op);
			memarg(g, m->align);
			return;
		}
		break;
	case 7:
		expr(g, valtype(g), depth + 1);
		op(g, 0x1a);
		return;
	case 8:
		expr(g, I32, depth + 1);
		op(g, 0x04);
		put(g->b, 0x40);
		push_label(g, NULL, 0);
		stmts(g, depth + 1);
		if (pick(g, 2)) {
			op(g, 0x05);
			stmts(g, depth + 1);
		}
		op(g, 0x0b);
		g->nlabels--;
		return;
	case 9:
		op(g, 0x02);
		put(g->b, 0x40);
		push_label(g, NULL, 0);
		stmts(g, depth + 1);
		op(g, 0x0b);
		g->nlabels--;
		return;
	case 10:
		loop(g, 0, depth);
		return;
	case 11:
		affine_loop(g, depth);
		return;
	case 12:
	case 13: {
		uint32_t d = pick(g, g->nlabels);
		const Label *l = label(g, d);
		values(g, l->t, l->n, depth);
		expr(g, I32, depth + 1);
		op(g, 0x0d);
		uleb(g->b, d);
		drops(g, l->n);
		return;
	}
	case 14: {
		/* br ends the block early: rarer than br_if. */
		if (pick(g, 3))
			break;
		uint32_t d = pick(g, g->nlabels);
		const Label *l = label(g, d);
		values(g, l->t, l->n, depth);
		op(g, 0x0c);
		uleb(g->b, d);
		return;
	}
	case 15:
		br_table(g, depth);
		return;
	case 16:
		if ((x = callee(g, false, 0)) >= 0) {
			const Type *ty = ftype(g, (uint32_t)x);
			args(g, ty, depth);
			op(g, 0x10);
			uleb(g->b, (uint64_t)x);
			drops(g, ty->nr);
			return;
		}
		break;
	case 17: {
		uint32_t ti = pick(g, g->ntypes);
		call_indirect(g, ti, depth);
		drops(g, g->types[ti].nr);
		return;
	}
	case 18:
		if (!g->has_mem)
			break;
		switch (pick(g, 5)) {
		case 0:
			expr(g, I32, depth + 1);
			op(g, 0x40);
			put(g->b, 0);
			op(g, 0x1a);
			return;
		case 1: /* fill: dst, value, length */
			addr(g, depth);
			expr(g, I32, depth + 1);
			op(g, 0x41);
			sleb(g->b, pick(g, 64));
			op_fc(g, 0x0b);
			put(g->b, 0);
			return;
		case 2: /* copy: dst, src, length */
			addr(g, depth);
			addr(g, depth);
			op(g, 0x41);
			sleb(g->b, pick(g, 64));
			op_fc(g, 0x0a);
			put(g->b, 0);
			put(g->b, 0);
			return;
		case 3: /* init from a data segment */
			addr(g, depth);
			op(g, 0x41);
			sleb(g->b, pick(g, 40));
			op(g, 0x41);
			sleb(g->b, pick(g, 40));
			op_fc(g, 0x08);
			uleb(g->b, pick(g, 2));
			put(g->b, 0);
			return;
		default:
			op_fc(g, 0x09);
			uleb(g->b, pick(g, 2));
			return;
		}
	case 19:
		typed_block(g, depth);
		return;
	case 20:
		table_index(g, depth);
		switch (pick(g, 3)) {
		case 0:
			op(g, 0xd0);
			put(g->b, FUNCREF);
			break;
		case 1:
			op(g, 0xd2);
			uleb(g->b,
			     g->nimports + pick(g, g->nfuncs - g->nimports));
			break;
		default:
			table_index(g, depth);
			op(g, 0x25);
			uleb(g->b, 0);
			break;
		}
		op(g, 0x26);
		uleb(g->b, 0);
		return;
	case 21:
		if (pick(g, 2))
			break;
		if (pick(g, 2)) {
			values(g, cur->r, cur->nr, depth);
			op(g, 0x0f);
			return;
		}
		/* A tail call to a function with the same results. */
		for (uint32_t f = 0; f < g->nfuncs; f++) {
			const Type *ty = ftype(g, f);
			if ((f > g->cur || pick(g, 8) == 0) &&
			    ty->nr == cur->nr &&
			    memcmp(ty->r, cur->r, cur->nr) == 0) {
				args(g, ty, depth);
				op(g, 0x12);
				uleb(g->b, f);
				return;
			}
		}
		break;
	case 22:
		if (pick(g, 4) == 0) {
			op(g, 0x00); /* unreachable */
			return;
		}
		break;
	default:
		break;
	}
	op(g, 0x01);
}

static void stmts(Gen *g, int depth)
{
	if (depth >= MAX_DEPTH || labels_full(g))
		return;
	uint32_t n = pick(g, depth < 2 ? 7 : 3);
	for (uint32_t i = 0; i < n && g->budget; i++)
		stmt(g, depth);
}

/* ------------------------------------------------------------------ */
/* The module                                                          */

static void gen_types(Gen *g, bool with_h)
{
	g->ntypes = 1 + pick(g, MAX_TYPES - 1);
	for (uint32_t i = 0; i < g->ntypes; i++) {
		Type *t = &g->types[i];
		t->np = (uint8_t)pick(g, MAX_ARITY + 1);
		t->nr = (uint8_t)pick(g, MAX_ARITY);
		if (pick(g, 8) == 0)
			t->nr = MAX_ARITY;
		for (uint32_t k = 0; k < t->np; k++)
			t->p[k] = valtype(g);
		for (uint32_t k = 0; k < t->nr; k++)
			t->r[k] = valtype(g);
	}
	if (with_h) {
		Type *t = &g->types[g->ntypes < MAX_TYPES ? g->ntypes++
							  : MAX_TYPES - 1];
		*t = (Type){.np = 1, .nr = 1, .p = {I32}, .r = {I32}};
	}
}

static void type_section(Gen *g, Buf *out)
{
	Buf s = {0};
	uleb(&s, g->ntypes);
	for (uint32_t i = 0; i < g->ntypes; i++) {
		const Type *t = &g->types[i];
		put(&s, 0x60);
		uleb(&s, t->np);
		put_n(&s, t->p, t->np);
		uleb(&s, t->nr);
		put_n(&s, t->r, t->nr);
	}
	section(out, 1, &s);
}

static void function_body(Gen *g, Buf *code)
{
	const Type *ty = ftype(g, g->cur);
	uint32_t nuser_locals = pick(g, MAX_USER_LOCALS + 1);
	g->nuser = ty->np + nuser_locals;
	memcpy(g->ltype, ty->p, ty->np);
	for (uint32_t i = 0; i < nuser_locals; i++)
		g->ltype[ty->np + i] = valtype(g);
	g->counter0 = g->nuser;
	g->tmp_f32 = g->counter0 + NCOUNTERS;
	g->tmp_f64 = g->tmp_f32 + 1;
	g->counters_used = 0;
	g->budget = g->opt->max_body ? g->opt->max_body : 300;

	Buf body = {0};
	g->b = &body;
	uleb(&body, nuser_locals + 3);
	for (uint32_t i = 0; i < nuser_locals; i++) {
		uleb(&body, 1);
		put(&body, g->ltype[ty->np + i]);
	}
	uleb(&body, NCOUNTERS);
	put(&body, I32);
	uleb(&body, 1);
	put(&body, F32);
	uleb(&body, 1);
	put(&body, F64);
	g->nlabels = 0;
	push_label(g, ty->r, ty->nr);
	stmts(g, 0);
	values(g, ty->r, ty->nr, 0);
	put(&body, 0x0b);
	g->nlabels = 0;
	uleb(code, body.len);
	put_n(code, body.p, body.len);
	code->oom |= body.oom;
	free(body.p);
	g->b = NULL;
}

static void const_expr(Gen *g, Buf *b, uint8_t t)
{
	Buf *saved = g->b;
	uint32_t budget = g->budget;
	g->b = b;
	g->budget = 1;
	const_of(g, t);
	g->b = saved;
	g->budget = budget;
	put(b, 0x0b);
}

bool gen_module(const uint8_t *data, size_t size, const GenOptions *opt,
		GenModule *out)
{
	Gen g = {.in = data, .n = size, .opt = opt};
	memset(out, 0, sizeof *out);
	/* The seed comes from the whole input, before any is consumed. */
	uint64_t seed = 1469598103934665603ull;
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 1099511628211ull;
	out->seed = seed;

	bool with_h = pick(&g, 4) == 1;
	gen_types(&g, with_h);
	g.nimports = with_h ? 1 : 0;
	g.nfuncs = g.nimports + 1 + pick(&g, MAX_FUNCS - 1);
	if (with_h)
		g.ftype[0] = g.ntypes - 1;
	for (uint32_t f = g.nimports; f < g.nfuncs; f++)
		g.ftype[f] = pick(&g, g.ntypes);
	g.has_mem = pick(&g, 8) != 1;
	g.mem_min = pick(&g, 3);
	g.mem_has_max = pick(&g, 2);
	g.mem_max = g.mem_min + pick(&g, 3);
	uint32_t nelems = pick(&g, g.nfuncs + 3);
	g.table_size = nelems + pick(&g, 3);
	g.nglobals = pick(&g, MAX_GLOBALS + 1);
	for (uint32_t i = 0; i < g.nglobals; i++) {
		g.gtype[i] = valtype(&g);
		g.gmut[i] = pick(&g, 4) != 1;
	}

	Buf m = {0}, s = {0};
	put_n(&m, "\0asm\1\0\0\0", 8);
	type_section(&g, &m);
	if (with_h) {
		uleb(&s, 1);
		name(&s, "env");
		name(&s, "h");
		put(&s, 0x00);
		uleb(&s, g.ftype[0]);
		section(&m, 2, &s);
	}
	uleb(&s, g.nfuncs - g.nimports);
	for (uint32_t f = g.nimports; f < g.nfuncs; f++)
		uleb(&s, g.ftype[f]);
	section(&m, 3, &s);

	uleb(&s, 1); /* table 0 */
	put(&s, FUNCREF);
	bool tmax = pick(&g, 2);
	put(&s, tmax ? 1 : 0);
	uleb(&s, g.table_size);
	if (tmax)
		uleb(&s, g.table_size + pick(&g, 4));
	section(&m, 4, &s);

	if (g.has_mem) {
		uleb(&s, 1);
		put(&s, g.mem_has_max ? 1 : 0);
		uleb(&s, g.mem_min);
		if (g.mem_has_max)
			uleb(&s, g.mem_max);
		section(&m, 5, &s);
	}

	if (g.nglobals) {
		uleb(&s, g.nglobals);
		for (uint32_t i = 0; i < g.nglobals; i++) {
			put(&s, g.gtype[i]);
			put(&s, g.gmut[i] ? 1 : 0);
			const_expr(&g, &s, g.gtype[i]);
		}
		section(&m, 6, &s);
	}

	char nm[16];
	uleb(&s, (g.nfuncs - g.nimports) + g.has_mem + g.nglobals + 1);
	for (uint32_t f = g.nimports; f < g.nfuncs; f++) {
		snprintf(nm, sizeof nm, "f%u", f);
		name(&s, nm);
		put(&s, 0x00);
		uleb(&s, f);
	}
	if (g.has_mem) {
		name(&s, "mem");
		put(&s, 0x02);
		uleb(&s, 0);
	}
	name(&s, "tab");
	put(&s, 0x01);
	uleb(&s, 0);
	for (uint32_t i = 0; i < g.nglobals; i++) {
		snprintf(nm, sizeof nm, "g%u", i);
		name(&s, nm);
		put(&s, 0x03);
		uleb(&s, i);
	}
	section(&m, 7, &s);

	uleb(&s, 1); /* elem: active, table 0, at 0 */
	put(&s, 0x00);
	put(&s, 0x41);
	sleb(&s, 0);
	put(&s, 0x0b);
	uleb(&s, nelems);
	for (uint32_t i = 0; i < nelems; i++)
		uleb(&s, pick(&g, g.nfuncs));
	section(&m, 9, &s);

	if (g.has_mem) {
		uleb(&s, 2);
		section(&m, 12, &s); /* data count */
	}

	uleb(&s, g.nfuncs - g.nimports);
	for (g.cur = g.nimports; g.cur < g.nfuncs; g.cur++)
		function_body(&g, &s);
	section(&m, 10, &s);

	if (g.has_mem) {
		uleb(&s, 2);
		/* 0: active, in bounds of the initial memory. */
		uint32_t len = g.mem_min ? pick(&g, 33) : 0;
		uint32_t at = g.mem_min ? pick(&g, 1024) : 0;
		put(&s, 0x00);
		put(&s, 0x41);
		sleb(&s, at);
		put(&s, 0x0b);
		uleb(&s, len);
		for (uint32_t i = 0; i < len; i++)
			put(&s, (uint8_t)raw(&g, 1));
		/* 1: passive. */
		len = pick(&g, 33);
		put(&s, 0x01);
		uleb(&s, len);
		for (uint32_t i = 0; i < len; i++)
			put(&s, (uint8_t)raw(&g, 1));
		section(&m, 11, &s);
	}
	if (m.oom || s.oom) {
		free(m.p);
		free(s.p);
		return false;
	}
	free(s.p);
	out->bytes = m.p;
	out->len = m.len;
	out->imports_h = with_h;
	return true;
}

void gen_free(GenModule *m)
{
	free(m->bytes);
	m->bytes = NULL;
	m->len = 0;
}
