/*
 * Function bodies: validation and translation in one pass.
 *
 * The validator's operand stack and the translator's virtual register
 * stack are the same stack. Every value the wasm stack holds at height i
 * has a home slot, T + i, where T is the first temp slot of the frame; a
 * value can also be *lazy*: a reference to a local's slot or a constant,
 * not yet copied anywhere. Instructions read their operands straight from
 * local slots or fold constants into immediates, which is how a wasm
 * sequence such as `local.get 0; i32.const 1; i32.add; local.set 0`
 * becomes the single instruction `i32_add_k s0, s0, 1`.
 *
 * Rules that keep this correct:
 *  - at every label (block/loop/if entry, else, end) all lazy values are
 *    materialized into their home slots, so control-flow merges agree;
 *  - a local.set first materializes lazy values that refer to that local;
 *  - branch values are moved to the home slots of the target label;
 *  - a TEMP value at height i is always in slot T + i.
 */
#include <stdio.h>

#include "reader.h"
#include "runtime.h"

enum { K_TEMP, K_LOCAL, K_CONST };
#define NONE UINT32_MAX
/* Constants beyond this many per function are materialized when used. */
#define POOL_MAX 128

typedef struct Val {
	ValType type;
	uint8_t kind;
	uint32_t slot; /* K_LOCAL */
	uint64_t k;    /* K_CONST */
} Val;

enum { CT_BLOCK, CT_LOOP, CT_IF, CT_ELSE, CT_FUNC };

typedef struct Ctrl {
	uint8_t kind;
	/* Validation: the stack below this point is polymorphic. */
	bool unreachable;
	/* Emission: an enclosing block is unreachable, so is this one. */
	bool dead_parent;
	bool one_result; /* results is `single` (kept inline: ctrls move) */
	uint32_t height; /* operand height at entry, block params excluded */
	uint32_t nparams, nresults;
	const ValType *params, *results;
	ValType single;	     /* storage for a one-result block type */
	uint32_t start;	     /* code index of a loop's header */
	uint32_t patches;    /* forward branches to this label (Patch list) */
	uint32_t else_patch; /* if: the branch to the else arm */
} Ctrl;

/* A branch whose offset field is filled in when its target is known. */
typedef struct Patch {
	uint32_t instr; /* code index of the branch instruction */
	uint32_t field; /* which 32-bit operand holds the offset */
	uint32_t next;
} Patch;

typedef struct Comp {
	Module *m;
	Func *f;
	uint32_t fidx;
	Reader r;
	myr_error *err;
	uint64_t at; /* offset of the instruction being compiled */

	uint32_t nparams, nlocals; /* nlocals includes params */
	ValType *local_types;
	uint32_t T; /* first temp slot */
	/* The constant pool: read-only slots that a call initializes, so a
	 * constant operand costs nothing at run time. */
	uint32_t pool_base, pool_cap, pool_used;
	uint64_t *pool;

	Val *vals;
	uint32_t nvals, cap_vals, max_height;
	Ctrl *ctrls;
	uint32_t nctrls, cap_ctrls;
	Patch *patches;
	uint32_t npatches, cap_patches;

	/* The code arena of the whole module. */
	Cell *code;
	size_t ncode, cap_code;
	uint32_t func_start; /* code index of the function's first cell */
	/* Each loop's header, relative to func_start (Func.loop_at). */
	uint32_t *loops;
	uint32_t nloops, cap_loops;

	/* Peephole state: the last instruction, if nothing (no label) came
	 * after it, and whether its field 0 is a retargetable result slot. */
	uint32_t last;
	Op last_op;
	bool last_has_r;
	/* The instruction before `last`, if no label came between. */
	uint32_t prev;
	Op prev_op;
	bool oom;
} Comp;

/* ------------------------------------------------------------------ */
/* Errors                                                              */

static bool invalid(Comp *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool invalid(Comp *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	failv(c->err, MYR_ERR_INVALID, c->at, c->fidx, fmt, ap);
	va_end(ap);
	return false;
}

static bool malformed(Comp *c, const char *msg)
{
	return fail(c->err, MYR_ERR_MALFORMED, c->at, c->fidx, "%s", msg);
}

static bool oom(Comp *c)
{
	c->oom = true;
	return fail(c->err, MYR_ERR_RESOURCE, c->at, c->fidx,
		    "out of memory while compiling");
}

/* ------------------------------------------------------------------ */
/* Code emission                                                       */

static inline bool dead(const Comp *c)
{
	const Ctrl *l = &c->ctrls[c->nctrls - 1];
	return l->unreachable || l->dead_parent;
}

static inline const ValType *ctrl_results(const Ctrl *l)
{
	return l->one_result ? &l->single : l->results;
}

/* Appends an instruction of `cells` cells; returns its index, or NONE in
 * unreachable code, where nothing is emitted. */
static uint32_t emit(Comp *c, Op op, unsigned cells)
{
	if (dead(c) || c->oom)
		return NONE;
	if (c->ncode + cells > c->cap_code) {
		size_t cap = c->cap_code ? c->cap_code * 2 : 1024;
		while (cap < c->ncode + cells)
			cap *= 2;
		Cell *n = xrealloc_array(c->code, cap, sizeof *n);
		if (!n) {
			oom(c);
			return NONE;
		}
		c->code = n;
		c->cap_code = cap;
	}
	uint32_t at = (uint32_t)c->ncode;
	c->code[at].fn = op_handlers[op];
	memset(&c->code[at + 1], 0, (cells - 1) * sizeof(Cell));
	c->ncode += cells;
	c->prev = c->last;
	c->prev_op = c->last_op;
	c->last = at;
	c->last_op = op;
	c->last_has_r = false;
	return at;
}

static inline void put(Comp *c, uint32_t at, unsigned field, uint32_t v)
{
	if (at != NONE)
		((uint32_t *)&c->code[at + 1])[field] = v;
}

static inline void put64(Comp *c, uint32_t at, unsigned cell, uint64_t v)
{
	if (at != NONE)
		c->code[at + cell].u64 = v;
}

/* A label is about to be placed: no peephole may look across it. */
static inline void label_here(Comp *c)
{
	c->last = c->prev = NONE;
}

/* Takes back the last instruction; the one before becomes the last (its
 * result can no longer be retargeted). */
static void unemit_last(Comp *c)
{
	c->ncode = c->last;
	c->last = c->prev;
	c->last_op = c->prev_op;
	c->last_has_r = false;
	c->prev = NONE;
}

static uint32_t here(const Comp *c)
{
	return (uint32_t)c->ncode;
}

static void emit_r(Comp *c, Op op, unsigned cells, uint32_t r, uint32_t a,
		   uint32_t b, uint32_t d)
{
	uint32_t at = emit(c, op, cells);
	put(c, at, 0, r);
	if (cells > 1) {
		put(c, at, 1, a);
		if (cells > 2) {
			put(c, at, 2, b);
			put(c, at, 3, d);
		}
	}
	c->last_has_r = at != NONE;
}

static void emit_copy(Comp *c, uint32_t dst, uint32_t src)
{
	if (dst == src)
		return;
	if (c->last != NONE && c->last_op == OP_copy && !dead(c)) {
		/* Two copies in a row are one instruction. */
		const uint32_t *f = (const uint32_t *)&c->code[c->last + 1];
		uint32_t r1 = f[0], a1 = f[1];
		c->ncode = c->last;
		emit_r(c, OP_copy2, 3, dst, src, r1, a1);
		return;
	}
	emit_r(c, OP_copy, 2, dst, src, 0, 0);
}

static void emit_const(Comp *c, uint32_t dst, uint64_t k)
{
	uint32_t at = emit(c, OP_const, 3);
	put(c, at, 0, dst);
	put64(c, at, 2, k);
	c->last_has_r = at != NONE;
}

static bool add_patch(Comp *c, Ctrl *l, uint32_t instr, uint32_t field)
{
	if (instr == NONE)
		return true;
	if (c->npatches == c->cap_patches) {
		uint32_t cap = c->cap_patches ? c->cap_patches * 2 : 64;
		Patch *n = xrealloc_array(c->patches, cap, sizeof *n);
		if (!n)
			return oom(c);
		c->patches = n;
		c->cap_patches = cap;
	}
	c->patches[c->npatches] = (Patch){instr, field, l->patches};
	l->patches = c->npatches++;
	return true;
}

static void resolve_patches(Comp *c, Ctrl *l, uint32_t target)
{
	for (uint32_t p = l->patches; p != NONE; p = c->patches[p].next) {
		Patch *pt = &c->patches[p];
		put(c, pt->instr, pt->field, target - pt->instr);
	}
	l->patches = NONE;
}

/* ------------------------------------------------------------------ */
/* The accumulator                                                     */

/* An instruction's accumulator mode (ops.h): result to acc, operand A or
 * operand B from acc. */
enum { ACC_O = 1, ACC_A = 2, ACC_B = 4 };

/* Where each family's variants sit in the op list. */
#define VAL2_N	(OP_i32_add_k - OP_i32_add)
#define VAL1_N	(OP_i32_store - OP_i32_add_k)
#define STORE_N (OP_i32_load_abs - OP_i32_store)
#define BR1_N	(OP_br_add_i32_loop_eq - OP_br_i32_eq)
static const struct AccBlock {
	Op first, base;
	unsigned n, mode;
} acc_blocks[] = {
	{OP_i32_add_o, OP_i32_add, VAL2_N, ACC_O},
	{OP_i32_add_a, OP_i32_add, VAL2_N, ACC_A},
	{OP_i32_add_ao, OP_i32_add, VAL2_N, ACC_A | ACC_O},
	{OP_i32_add_b, OP_i32_add, VAL2_N, ACC_B},
	{OP_i32_add_bo, OP_i32_add, VAL2_N, ACC_B | ACC_O},
	{OP_i32_add_k_o, OP_i32_add_k, VAL1_N, ACC_O},
	{OP_i32_add_k_a, OP_i32_add_k, VAL1_N, ACC_A},
	{OP_i32_add_k_ao, OP_i32_add_k, VAL1_N, ACC_A | ACC_O},
	{OP_i32_store_a, OP_i32_store, STORE_N, ACC_A},
	{OP_i32_store_b, OP_i32_store, STORE_N, ACC_B},
	{OP_br_i32_eq_a, OP_br_i32_eq, BR1_N, ACC_A},
};
_Static_assert(OP_i32_add_a - OP_i32_add_o == VAL2_N &&
		       OP_i32_add_k_a - OP_i32_add_k_o == VAL1_N &&
		       OP_i32_store_b - OP_i32_store_a == STORE_N &&
		       OP_COUNT_ - OP_br_i32_eq_a == BR1_N,
	       "accumulator variants are laid out like their base ops");

/* Base op `op` in accumulator mode `mode`, or OP_COUNT_ if it has no
 * such variant. */
static Op acc_op(Op op, unsigned mode)
{
	if (mode == 0)
		return op;
	for (size_t i = 0; i < sizeof acc_blocks / sizeof *acc_blocks; i++) {
		const struct AccBlock *b = &acc_blocks[i];
		if (b->mode == mode && op >= b->base && op < b->base + b->n)
			return (Op)(b->first + (op - b->base));
	}
	return OP_COUNT_;
}

/* The base op of `op` and its accumulator mode. */
static Op acc_base(Op op, unsigned *mode)
{
	for (size_t i = 0; i < sizeof acc_blocks / sizeof *acc_blocks; i++) {
		const struct AccBlock *b = &acc_blocks[i];
		if (op >= b->first && op < b->first + b->n) {
			*mode = b->mode;
			return (Op)(b->base + (op - b->first));
		}
	}
	*mode = 0;
	return op;
}

/* If temp v, at height h and about to be consumed, is the result of the
 * instruction just emitted, that instruction leaves it in the
 * accumulator instead of its slot and the consumer reads it from there
 * (returns true). Nothing runs between the two but instructions that pass
 * acc through, and a pause saves it, so the value cannot be lost. */
static bool take_acc(Comp *c, const Val *v, uint32_t h)
{
	if (dead(c) || v->kind != K_TEMP || c->last == NONE || !c->last_has_r ||
	    ((uint32_t *)&c->code[c->last + 1])[0] != c->T + h)
		return false;
	unsigned mode;
	Op base = acc_base(c->last_op, &mode);
	Op o = acc_op(base, mode | ACC_O);
	if (o == OP_COUNT_)
		return false;
	c->code[c->last].fn = op_handlers[o];
	c->last_op = o;
	c->last_has_r = false;
	return true;
}

/* ------------------------------------------------------------------ */
/* The operand stack                                                   */

static inline Ctrl *top_ctrl(Comp *c)
{
	return &c->ctrls[c->nctrls - 1];
}

static bool push_val(Comp *c, Val v)
{
	if (c->nvals == c->cap_vals) {
		uint32_t cap = c->cap_vals ? c->cap_vals * 2 : 64;
		Val *n = xrealloc_array(c->vals, cap, sizeof *n);
		if (!n)
			return oom(c);
		c->vals = n;
		c->cap_vals = cap;
	}
	c->vals[c->nvals++] = v;
	if (c->nvals > c->max_height)
		c->max_height = c->nvals;
	return true;
}

static bool push(Comp *c, ValType t)
{
	return push_val(c, (Val){.type = t, .kind = K_TEMP});
}

/* Pops a value of type `expect` (VT_ANY accepts any). In unreachable code
 * the stack below the label is polymorphic: popping yields VT_ANY. */
static bool pop(Comp *c, ValType expect, Val *out)
{
	Ctrl *l = top_ctrl(c);
	if (c->nvals == l->height) {
		if (!l->unreachable)
			return expect == VT_ANY
				       ? invalid(c, "type mismatch: expected a "
						    "value, the stack is empty")
				       : invalid(c,
						 "type mismatch: expected %s, "
						 "the stack is empty",
						 valtype_name(expect));
		*out = (Val){.type = VT_ANY, .kind = K_TEMP};
		return true;
	}
	Val v = c->vals[--c->nvals];
	if (expect != VT_ANY && v.type != VT_ANY && v.type != expect)
		return invalid(c, "type mismatch: expected %s but found %s",
			       valtype_name(expect), valtype_name(v.type));
	*out = v;
	return true;
}

static bool pop_types(Comp *c, uint32_t n, const ValType *types)
{
	Val v;
	for (uint32_t i = n; i-- > 0;)
		if (!pop(c, types[i], &v))
			return false;
	return true;
}

static bool push_types(Comp *c, uint32_t n, const ValType *types)
{
	for (uint32_t i = 0; i < n; i++)
		if (!push(c, types[i]))
			return false;
	return true;
}

/* Checks that the top n values have the given types and leaves them on
 * the stack with those types. In unreachable code, where the stack is
 * polymorphic, the values may not exist: fresh ones are pushed. */
static bool check_keep(Comp *c, uint32_t n, const ValType *types)
{
	uint32_t before = c->nvals;
	if (!pop_types(c, n, types))
		return false;
	if (!dead(c)) {
		c->nvals = before;
		return true;
	}
	return push_types(c, n, types);
}

/* Slot that holds value v, which sits at stack height h. Constants are
 * copied into their home slot first. */
/* The pool slot holding constant k, or NONE when the pool is full. */
static uint32_t pool_slot(Comp *c, uint64_t k)
{
	for (uint32_t i = 0; i < c->pool_used; i++)
		if (c->pool[i] == k)
			return c->pool_base + i;
	if (c->pool_used == c->pool_cap)
		return NONE;
	c->pool[c->pool_used] = k;
	return c->pool_base + c->pool_used++;
}

static uint32_t slot_of(Comp *c, const Val *v, uint32_t h)
{
	if (v->kind == K_LOCAL)
		return v->slot;
	if (v->kind == K_CONST) {
		uint32_t s = dead(c) ? NONE : pool_slot(c, v->k);
		if (s != NONE)
			return s;
		emit_const(c, c->T + h, v->k);
	}
	return c->T + h;
}

/* Moves value v (at height h) into slot dst. */
static void move_to(Comp *c, const Val *v, uint32_t h, uint32_t dst)
{
	if (v->kind == K_CONST)
		emit_const(c, dst, v->k);
	else if (v->kind == K_LOCAL)
		emit_copy(c, dst, v->slot);
	else
		emit_copy(c, dst, c->T + h);
}

static void materialize(Comp *c, uint32_t i)
{
	Val *v = &c->vals[i];
	if (v->kind == K_TEMP)
		return;
	move_to(c, v, i, c->T + i);
	v->kind = K_TEMP;
}

static void materialize_from(Comp *c, uint32_t from)
{
	for (uint32_t i = from; i < c->nvals; i++)
		materialize(c, i);
}

static uint32_t local_slot(const Comp *c, uint32_t idx)
{
	return idx < c->nparams ? idx : idx + FRAME_HEADER;
}

/* ------------------------------------------------------------------ */
/* Control frames                                                      */

static bool push_ctrl(Comp *c, uint8_t kind, uint32_t np, const ValType *p,
		      uint32_t nr, const ValType *r)
{
	if (c->nctrls == c->cap_ctrls) {
		uint32_t cap = c->cap_ctrls ? c->cap_ctrls * 2 : 16;
		Ctrl *n = xrealloc_array(c->ctrls, cap, sizeof *n);
		if (!n)
			return oom(c);
		c->ctrls = n;
		c->cap_ctrls = cap;
	}
	bool was_dead = c->nctrls && dead(c);
	Ctrl *l = &c->ctrls[c->nctrls++];
	*l = (Ctrl){.kind = kind,
		    .dead_parent = was_dead,
		    .height = c->nvals - np,
		    .nparams = np,
		    .params = p,
		    .nresults = nr,
		    .results = r,
		    .patches = NONE,
		    .else_patch = NONE};
	return true;
}

/* The values a branch to label l carries. */
static uint32_t label_arity(const Ctrl *l)
{
	return l->kind == CT_LOOP ? l->nparams : l->nresults;
}

static const ValType *label_types(const Ctrl *l)
{
	return l->kind == CT_LOOP ? l->params : ctrl_results(l);
}

static bool read_label(Comp *c, Ctrl **out, uint32_t *depth)
{
	uint32_t d;
	if (!rd_u32(&c->r, &d))
		return false;
	if (d >= c->nctrls)
		return invalid(c, "unknown label %u", d);
	*depth = d;
	*out = &c->ctrls[c->nctrls - 1 - d];
	return true;
}

/* Block type: empty, one value type, or a type index (multi-value). */
static bool read_blocktype(Comp *c, uint32_t *np, const ValType **p,
			   uint32_t *nr, const ValType **r, ValType *single)
{
	if (rd_left(&c->r) && c->r.p[0] == 0x40) {
		c->r.p++;
		*np = *nr = 0;
		*p = *r = NULL;
		return true;
	}
	if (rd_left(&c->r) && (c->r.p[0] & 0xC0) == 0x40) {
		/* A single-byte negative s33: a value type. */
		uint8_t t = *c->r.p++;
		if (t != VT_I32 && t != VT_I64 && t != VT_F32 && t != VT_F64 &&
		    t != VT_V128 && t != VT_FUNCREF && t != VT_EXTERNREF)
			return malformed(c, "malformed block type");
		*single = t;
		*np = 0;
		*p = NULL;
		*nr = 1;
		*r = single;
		return true;
	}
	int64_t idx;
	if (!rd_s33(&c->r, &idx))
		return false;
	if (idx < 0)
		return malformed(c, "malformed block type");
	if ((uint64_t)idx >= c->m->ntypes)
		return invalid(c, "unknown type %lld", (long long)idx);
	const FuncType *t = &c->m->types[idx];
	*np = t->nparams;
	*p = ft_params(t);
	*nr = t->nresults;
	*r = ft_results(t);
	return true;
}

/* ------------------------------------------------------------------ */
/* Branches                                                            */

/* Are the top n values already in the home slots of label l? */
static bool values_in_place(Comp *c, const Ctrl *l, uint32_t n)
{
	uint32_t base = c->nvals - n;
	if (base == l->height) {
		for (uint32_t i = base; i < c->nvals; i++)
			if (c->vals[i].kind != K_TEMP)
				return false;
		return true;
	}
	return n == 0;
}

static void move_branch_values(Comp *c, const Ctrl *l, uint32_t n)
{
	uint32_t base = c->nvals - n;
	/* Destinations are at or below the sources, so ascending order never
	 * overwrites a source before it is read. */
	for (uint32_t i = 0; i < n; i++)
		move_to(c, &c->vals[base + i], base + i, c->T + l->height + i);
}

static uint32_t cost_since(const Comp *c, uint32_t start)
{
	uint32_t cells = here(c) - start;
	return cells / 2 + 1;
}

static void emit_return(Comp *c, uint32_t n)
{
	if (dead(c))
		return;
	uint32_t hdr = c->nparams;
	if (n == 0) {
		put(c, emit(c, OP_return0, 2), 0, hdr);
	} else if (n == 1) {
		Val v = c->vals[c->nvals - 1];
		uint32_t s = slot_of(c, &v, c->nvals - 1);
		uint32_t at = emit(c, OP_return1, 2);
		put(c, at, 0, s);
		put(c, at, 1, hdr);
	} else {
		/* Copies, not materialize(): a br_table stub must leave the
		 * stack as the other entries expect to find it. */
		for (uint32_t i = c->nvals - n; i < c->nvals; i++)
			move_to(c, &c->vals[i], i, c->T + i);
		uint32_t at = emit(c, OP_returnN, 3);
		put(c, at, 0, c->T + c->nvals - n);
		put(c, at, 1, n);
		put(c, at, 2, hdr);
	}
}

/* An unconditional jump to label l; the branch values are on top. */
static bool emit_jump(Comp *c, Ctrl *l)
{
	if (l->kind == CT_FUNC) {
		emit_return(c, l->nresults);
		return true;
	}
	move_branch_values(c, l, label_arity(l));
	if (l->kind == CT_LOOP) {
		uint32_t at = emit(c, OP_br_loop, 2);
		put(c, at, 0, l->start - at);
		put(c, at, 1, cost_since(c, l->start));
		return true;
	}
	uint32_t at = emit(c, OP_br, 2);
	return add_patch(c, l, at, 0);
}

/* Compare ops come in the order eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s
 * ge_u everywhere in ops.h; these map an index to its negation and to the
 * comparison with swapped operands. */
static const uint8_t cmp_negate[10] = {1, 0, 8, 9, 6, 7, 4, 5, 2, 3};
static const uint8_t cmp_swap[10] = {0, 1, 4, 5, 2, 3, 8, 9, 6, 7};

/* A pending condition: either a slot (test against zero) or a compare
 * whose instruction was just removed so the branch can absorb it. */
typedef struct Cond {
	bool fused;
	bool is64, imm, negate_zero; /* negate_zero: branch if slot == 0 */
	bool acc; /* operand A (or the slot) is in the accumulator */
	uint8_t cmp;
	uint32_t a, b; /* b is the immediate if imm */
	uint32_t slot;
} Cond;

static bool is_cmp_op(Op op, int *cmp, bool *is64, bool *imm)
{
	if (op >= OP_i32_eq && op <= OP_i32_ge_u) {
		*cmp = op - OP_i32_eq, *is64 = false, *imm = false;
	} else if (op >= OP_i64_eq && op <= OP_i64_ge_u) {
		*cmp = op - OP_i64_eq, *is64 = true, *imm = false;
	} else if (op >= OP_i32_eq_k && op <= OP_i32_ge_u_k) {
		*cmp = op - OP_i32_eq_k, *is64 = false, *imm = true;
	} else if (op >= OP_i64_eq_k && op <= OP_i64_ge_u_k) {
		*cmp = op - OP_i64_eq_k, *is64 = true, *imm = true;
	} else {
		return false;
	}
	return true;
}

/* Pops the i32 condition of br_if/if. If the instruction just before
 * computed it with a comparison (or eqz) into its temp, that instruction
 * is taken back and folded into the branch. */
static bool pop_cond(Comp *c, Cond *cond)
{
	Val v;
	if (!pop(c, VT_I32, &v))
		return false;
	*cond = (Cond){0};
	if (dead(c))
		return true;
	uint32_t h = c->nvals;
	int cmp;
	bool is64, imm;
	if (v.kind == K_TEMP && c->last != NONE && c->last_has_r) {
		uint32_t *f = (uint32_t *)&c->code[c->last + 1];
		/* The compare may itself read the accumulator: the branch
		 * then does. */
		unsigned mode;
		Op op = acc_base(c->last_op, &mode);
		if (f[0] == c->T + h) {
			if (is_cmp_op(op, &cmp, &is64, &imm)) {
				*cond = (Cond){.fused = true,
					       .is64 = is64,
					       .imm = imm,
					       .acc = mode != 0,
					       .cmp = (uint8_t)cmp,
					       .a = f[1],
					       .b = f[2]};
				if (mode == ACC_B) {
					/* a < acc is acc > a */
					cond->cmp = cmp_swap[cmp];
					cond->a = f[2];
					cond->b = f[1];
				}
				unemit_last(c);
				return true;
			}
			if (op == OP_i32_eqz || op == OP_i64_eqz) {
				*cond = (Cond){.negate_zero = true,
					       .acc = mode != 0,
					       .slot = f[1]};
				unemit_last(c);
				return true;
			}
		}
	}
	cond->acc = take_acc(c, &v, h);
	cond->slot = slot_of(c, &v, h);
	return true;
}

/* Emits "if cond (negated when `negate`) goto ...". Returns the branch
 * and which field holds its offset; for a loop target the offset and
 * cost are filled in here. */
static uint32_t emit_cond_branch(Comp *c, const Cond *cond, bool negate,
				 const Ctrl *loop, uint32_t *field)
{
	bool is_loop = loop != NULL;
	uint32_t at;
	if (cond->fused && is_loop && !cond->is64 && !cond->acc &&
	    c->last != NONE && c->last_op == OP_i32_add_k && !dead(c)) {
		/* A loop's counter step and its test: one instruction. */
		uint8_t cmp = negate ? cmp_negate[cond->cmp] : cond->cmp;
		const uint32_t *f = (const uint32_t *)&c->code[c->last + 1];
		uint32_t r = f[0], x = f[1], d = f[2];
		unemit_last(c);
		Op op = (Op)((cond->imm ? OP_br_add_i32k_loop_eq
					: OP_br_add_i32_loop_eq) +
			     cmp);
		at = emit(c, op, 5);
		put(c, at, 0, cond->a);
		put(c, at, 1, cond->b);
		put(c, at, 4, r);
		put(c, at, 5, x);
		put(c, at, 6, d);
		*field = 2;
	} else if (cond->fused) {
		uint8_t cmp = negate ? cmp_negate[cond->cmp] : cond->cmp;
		unsigned variant = (is_loop ? 4 : 0) + (cond->imm ? 2 : 0) +
				   (cond->is64 ? 1 : 0);
		Op op = (Op)(OP_br_i32_eq + variant * 10 + cmp);
		at = emit(c, acc_op(op, cond->acc ? ACC_A : 0), 3);
		put(c, at, 0, cond->a);
		put(c, at, 1, cond->b);
		*field = 2;
	} else {
		bool zero = cond->negate_zero != negate;
		Op op = zero ? (is_loop ? OP_br_z_loop : OP_br_z)
			     : (is_loop ? OP_br_nz_loop : OP_br_nz);
		at = emit(c, acc_op(op, cond->acc ? ACC_A : 0),
			  is_loop ? 3 : 2);
		put(c, at, 0, cond->slot);
		*field = 1;
	}
	if (is_loop && at != NONE) {
		put(c, at, *field, loop->start - at);
		put(c, at, *field + 1, cost_since(c, loop->start));
	}
	return at;
}

/* ------------------------------------------------------------------ */
/* Instruction groups                                                  */

static bool fits_k(ValType t, uint64_t k)
{
	return t == VT_I32 || (int64_t)(int32_t)k == (int64_t)k;
}

/* kidx: index of the op among the _k ops of its type, or -1 if it has no
 * immediate form; cmp: compare index or -1. */
static bool binop(Comp *c, ValType t, ValType rt, Op op, int kidx, int cmp,
		  bool commutes)
{
	Val b, a;
	if (!pop(c, t, &b) || !pop(c, t, &a))
		return false;
	uint32_t h = c->nvals;
	if (!push(c, rt) || dead(c))
		return !c->oom;
	uint32_t r = c->T + h;
	Op kbase = t == VT_I32 ? OP_i32_add_k : OP_i64_add_k;
	bool is_sub = op == OP_i32_sub || op == OP_i64_sub;
	/* An immediate form: x op k. */
	const Val *x = NULL;
	uint32_t hx = h;
	Op kop = OP_COUNT_;
	uint64_t k = 0;
	if (is_sub && b.kind == K_CONST && fits_k(t, -b.k) &&
	    (t == VT_I32 || b.k != (uint64_t)INT64_MIN)) {
		/* a - k == a + (-k) */
		x = &a, kop = kbase, k = -b.k;
	} else if (kidx >= 0 && b.kind == K_CONST && fits_k(t, b.k)) {
		x = &a, kop = (Op)(kbase + kidx), k = b.k;
	} else if (kidx >= 0 && a.kind == K_CONST && fits_k(t, a.k) &&
		   (commutes || cmp >= 0)) {
		int k2 = cmp >= 0 ? kidx - cmp + cmp_swap[cmp] : kidx;
		x = &b, hx = h + 1, kop = (Op)(kbase + k2), k = a.k;
	}
	if (x) {
		unsigned m = take_acc(c, x, hx) ? ACC_A : 0;
		emit_r(c, acc_op(kop, m), 3, r, slot_of(c, x, hx), (uint32_t)k,
		       0);
		return true;
	}
	unsigned m = take_acc(c, &a, h)	      ? ACC_A
		     : take_acc(c, &b, h + 1) ? ACC_B
					      : 0;
	uint32_t sa = slot_of(c, &a, h);
	uint32_t sb = slot_of(c, &b, h + 1);
	emit_r(c, acc_op(op, m), 3, r, sa, sb, 0);
	return true;
}

static bool unop(Comp *c, ValType t, ValType rt, Op op)
{
	Val a;
	if (!pop(c, t, &a))
		return false;
	uint32_t h = c->nvals;
	if (!push(c, rt) || dead(c))
		return !c->oom;
	unsigned m = take_acc(c, &a, h) ? ACC_A : 0;
	uint32_t sa = slot_of(c, &a, h);
	emit_r(c, acc_op(op, m), 2, c->T + h, sa, 0, 0);
	return true;
}

/* A conversion that keeps the bits (reinterpret): retype in place. */
static bool retype(Comp *c, ValType from, ValType to)
{
	Val a;
	if (!pop(c, from, &a))
		return false;
	a.type = to;
	return push_val(c, a);
}

static bool read_memarg(Comp *c, unsigned natural_log2, uint32_t *offset)
{
	uint32_t align;
	if (!rd_u32(&c->r, &align))
		return false;
	uint32_t memidx = 0;
	if (align & 0x40) {
		if (!engine_has(c->m->engine, MYR_FEATURE_MULTI_MEMORY))
			return malformed(c, "malformed memop flags");
		align &= ~0x40u;
		if (!rd_u32(&c->r, &memidx))
			return false;
	}
	if (!rd_u32(&c->r, offset))
		return false;
	/* An exponent past 31 cannot describe any alignment: the encoding
	 * itself is wrong. */
	if (align >= 32)
		return malformed(c, "malformed memop flags");
	if (memidx >= c->m->nmems)
		return invalid(c, "unknown memory %u", memidx);
	if (memidx != 0)
		return invalid(c, "memory %u: only memory 0 is supported",
			       memidx);
	if (align > natural_log2)
		return invalid(c, "alignment must not be larger than natural");
	return true;
}

/* A constant address folds into the offset: the effective address is the
 * same 33-bit sum either way. Sums past 4 GiB always trap and keep the
 * general form. */
static bool abs_address(const Val *a, uint32_t offset, uint32_t *ea)
{
	uint64_t sum = (uint64_t)(uint32_t)a->k + offset;
	if (a->kind != K_CONST || sum > UINT32_MAX)
		return false;
	*ea = (uint32_t)sum;
	return true;
}

/* If the address a (a temp at height h) was computed as x + k by the
 * instruction just emitted, that instruction is taken back: the memory
 * access adds k itself (its D field, ops.h). Returns the slot of x, k and
 * whether x is in the accumulator. */
static bool fold_address(Comp *c, const Val *a, uint32_t h, uint32_t *x,
			 uint32_t *k, unsigned *mode)
{
	if (dead(c) || a->kind != K_TEMP || c->last == NONE || !c->last_has_r)
		return false;
	const uint32_t *f = (const uint32_t *)&c->code[c->last + 1];
	if (f[0] != c->T + h || acc_base(c->last_op, mode) != OP_i32_add_k)
		return false;
	*x = f[1];
	*k = f[2];
	c->ncode = c->last;
	c->last = NONE;
	return true;
}

static Op abs_form(Op op)
{
	return (Op)(OP_i32_load_abs + (op - OP_i32_load));
}

static bool load(Comp *c, ValType t, Op op, unsigned natural_log2)
{
	uint32_t offset, ea;
	Val a;
	if (!read_memarg(c, natural_log2, &offset) || !pop(c, VT_I32, &a))
		return false;
	uint32_t h = c->nvals;
	if (!push(c, t) || dead(c))
		return !c->oom;
	if (abs_address(&a, offset, &ea)) {
		emit_r(c, abs_form(op), 2, c->T + h, ea, 0, 0);
		return true;
	}
	uint32_t sa, k = 0;
	unsigned m;
	if (!fold_address(c, &a, h, &sa, &k, &m)) {
		m = take_acc(c, &a, h) ? ACC_A : 0;
		sa = slot_of(c, &a, h);
	}
	emit_r(c, acc_op(op, m), 3, c->T + h, sa, offset, k);
	return true;
}

static bool store(Comp *c, ValType t, Op op, unsigned natural_log2)
{
	uint32_t offset;
	Val v, a;
	if (!read_memarg(c, natural_log2, &offset) || !pop(c, t, &v) ||
	    !pop(c, VT_I32, &a))
		return false;
	if (dead(c))
		return true;
	uint32_t h = c->nvals, ea;
	if (abs_address(&a, offset, &ea)) {
		uint32_t sv = slot_of(c, &v, h + 1);
		uint32_t at = emit(c, abs_form(op), 2);
		put(c, at, 0, sv);
		put(c, at, 1, ea);
		return true;
	}
	/* The value, when computed last, comes in acc; otherwise the
	 * address may have been. */
	uint32_t sa, k = 0;
	unsigned m;
	if (take_acc(c, &v, h + 1)) {
		m = ACC_B;
		sa = slot_of(c, &a, h);
	} else if (!fold_address(c, &a, h, &sa, &k, &m)) {
		m = take_acc(c, &a, h) ? ACC_A : 0;
		sa = slot_of(c, &a, h);
	}
	uint32_t sv = slot_of(c, &v, h + 1);
	uint32_t at = emit(c, acc_op(op, m), 3);
	put(c, at, 0, sa);
	put(c, at, 1, sv);
	put(c, at, 2, offset);
	put(c, at, 3, k);
	return true;
}

/* Reads the 0x00 byte that Wasm 2.0 reserves for a memory index. */
static bool read_memidx(Comp *c)
{
	uint32_t idx;
	if (engine_has(c->m->engine, MYR_FEATURE_MULTI_MEMORY)) {
		if (!rd_u32(&c->r, &idx))
			return false;
	} else {
		uint8_t b;
		if (!rd_u8(&c->r, &b))
			return false;
		if (b != 0)
			return malformed(c, "zero byte expected");
		idx = 0;
	}
	if (idx >= c->m->nmems)
		return invalid(c, "unknown memory %u", idx);
	if (idx != 0)
		return invalid(c, "memory %u: only memory 0 is supported", idx);
	return true;
}

static bool read_table(Comp *c, uint32_t *t)
{
	if (!rd_u32(&c->r, t))
		return false;
	if (*t >= c->m->ntables)
		return invalid(c, "unknown table %u", *t);
	return true;
}

/* Pops n operands (types given, last on top), materializing them into
 * their home slots so that an instruction can take the first slot. */
static bool pop_operands(Comp *c, unsigned n, const ValType *types,
			 uint32_t *slots)
{
	Val v[4];
	for (unsigned i = n; i-- > 0;)
		if (!pop(c, types[i], &v[i]))
			return false;
	if (dead(c))
		return true;
	uint32_t h = c->nvals;
	for (unsigned i = 0; i < n; i++)
		slots[i] = slot_of(c, &v[i], h + i);
	return true;
}

/* Emits a call whose arguments are the top `np` values. */
static bool call_args(Comp *c, const FuncType *t, uint32_t *base)
{
	if (c->nvals >= t->nparams && !dead(c))
		materialize_from(c, c->nvals - t->nparams);
	if (!pop_types(c, t->nparams, ft_params(t)))
		return false;
	*base = c->T + c->nvals;
	return true;
}

static bool check_tail_results(Comp *c, const FuncType *callee)
{
	const FuncType *self = c->f->type;
	if (callee->nresults != self->nresults ||
	    (self->nresults &&
	     memcmp(ft_results(callee), ft_results(self), self->nresults)))
		return invalid(c, "type mismatch: tail call's results differ "
				  "from the function's");
	return true;
}

static bool op_call(Comp *c, bool tail)
{
	uint32_t fi, base;
	if (!rd_u32(&c->r, &fi))
		return false;
	if (fi >= c->m->nfuncs)
		return invalid(c, "unknown function %u", fi);
	const FuncType *t = module_func_type(c->m, fi);
	if (tail && !check_tail_results(c, t))
		return false;
	if (!call_args(c, t, &base))
		return false;
	bool imp = fi < c->m->nfunc_imports;
	if (imp) {
		uint32_t at = tail ? emit(c, OP_return_call_import, 3)
				   : emit(c, OP_call_import, 2);
		put(c, at, 0, base);
		put(c, at, 1, fi);
		if (tail)
			put(c, at, 2, c->nparams);
	} else {
		uint32_t at = emit(c, tail ? OP_return_call : OP_call, 3);
		put(c, at, 0, base);
		put(c, at, 1, c->nparams);
		if (at != NONE)
			c->code[at + 2].ptr =
				&c->m->funcs[fi - c->m->nfunc_imports];
	}
	if (tail) {
		top_ctrl(c)->unreachable = true;
		c->nvals = top_ctrl(c)->height;
		return true;
	}
	return push_types(c, t->nresults, ft_results(t));
}

static bool op_call_indirect(Comp *c, bool tail)
{
	uint32_t ti, table, base;
	Val idx;
	if (!rd_u32(&c->r, &ti) || !rd_u32(&c->r, &table))
		return false;
	if (ti >= c->m->ntypes)
		return invalid(c, "unknown type %u", ti);
	if (table >= c->m->ntables)
		return invalid(c, "unknown table %u", table);
	if (c->m->tables[table].elem != VT_FUNCREF)
		return invalid(c,
			       "type mismatch: call_indirect on a table of "
			       "%s",
			       valtype_name(c->m->tables[table].elem));
	const FuncType *t = &c->m->types[ti];
	if (tail && !check_tail_results(c, t))
		return false;
	if (!pop(c, VT_I32, &idx))
		return false;
	uint32_t hidx = c->nvals;
	if (!call_args(c, t, &base))
		return false;
	if (!dead(c)) {
		/* The index may sit above the arguments; the call reads it
		 * before it builds the callee's frame there. */
		uint32_t sidx = idx.kind == K_LOCAL ? idx.slot : c->T + hidx;
		if (idx.kind == K_CONST)
			emit_const(c, sidx, idx.k);
		uint32_t at = tail ? emit(c, OP_return_call_indirect, 4)
				   : emit(c, OP_call_indirect, 3);
		put(c, at, 0, base);
		put(c, at, 1, sidx);
		put(c, at, 2, table);
		put(c, at, 3, t->canon);
		if (tail)
			put(c, at, 4, c->nparams);
	}
	if (tail) {
		top_ctrl(c)->unreachable = true;
		c->nvals = top_ctrl(c)->height;
		return true;
	}
	return push_types(c, t->nresults, ft_results(t));
}

static bool op_local(Comp *c, uint8_t opcode)
{
	uint32_t idx;
	if (!rd_u32(&c->r, &idx))
		return false;
	if (idx >= c->nlocals)
		return invalid(c, "unknown local %u", idx);
	ValType t = c->local_types[idx];
	uint32_t slot = local_slot(c, idx);
	if (opcode == 0x20) /* local.get */
		return push_val(
			c, (Val){.type = t, .kind = K_LOCAL, .slot = slot});
	Val v;
	if (!pop(c, t, &v))
		return false;
	if (dead(c))
		return opcode == 0x21 || push(c, t);
	uint32_t h = c->nvals;
	bool aliased = false;
	for (uint32_t i = 0; i < c->nvals; i++)
		if (c->vals[i].kind == K_LOCAL && c->vals[i].slot == slot)
			aliased = true;
	if (v.kind == K_TEMP && c->last != NONE && c->last_has_r &&
	    ((uint32_t *)&c->code[c->last + 1])[0] == c->T + h) {
		/* The previous instruction computed the value: let it
		 * write the local directly. Stack entries that still refer
		 * to the local need its old value: the instruction is taken
		 * back, they are copied out, and it is put back after them
		 * (it reads nothing they write: its operands were above
		 * them on the stack). */
		if (aliased) {
			Cell saved[4];
			uint32_t n = here(c) - c->last;
			Op op = c->last_op;
			memcpy(saved, &c->code[c->last], n * sizeof *saved);
			c->ncode = c->last;
			c->last = NONE;
			for (uint32_t i = 0; i < c->nvals; i++)
				if (c->vals[i].kind == K_LOCAL &&
				    c->vals[i].slot == slot)
					materialize(c, i);
			uint32_t at = emit(c, op, n);
			if (at != NONE)
				memcpy(&c->code[at], saved, n * sizeof *saved);
		}
		put(c, c->last, 0, slot);
		c->last_has_r = false;
		if (opcode == 0x22)
			return push_val(c, (Val){.type = t,
						 .kind = K_LOCAL,
						 .slot = slot});
		return true;
	}
	if (aliased) {
		for (uint32_t i = 0; i < c->nvals; i++)
			if (c->vals[i].kind == K_LOCAL &&
			    c->vals[i].slot == slot)
				materialize(c, i);
	}
	move_to(c, &v, h, slot);
	if (opcode == 0x22)
		return push_val(
			c, (Val){.type = t, .kind = K_LOCAL, .slot = slot});
	return true;
}

static bool op_global(Comp *c, uint8_t opcode)
{
	uint32_t idx;
	if (!rd_u32(&c->r, &idx))
		return false;
	const Module *m = c->m;
	if (idx >= m->nglobals)
		return invalid(c, "unknown global %u", idx);
	GlobalType gt = m->global_types[idx];
	bool imp = idx < m->nglobal_imports;
	uint32_t gi = imp ? idx : idx - m->nglobal_imports;
	if (opcode == 0x23) {
		uint32_t h = c->nvals;
		if (!push(c, gt.type) || dead(c))
			return !c->oom;
		emit_r(c, imp ? OP_global_get_imp : OP_global_get, 2, c->T + h,
		       gi, 0, 0);
		return true;
	}
	if (!gt.mut)
		return invalid(c, "global is immutable");
	Val v;
	if (!pop(c, gt.type, &v))
		return false;
	if (dead(c))
		return true;
	uint32_t s = slot_of(c, &v, c->nvals);
	uint32_t at = emit(c, imp ? OP_global_set_imp : OP_global_set, 2);
	put(c, at, 0, s);
	put(c, at, 1, gi);
	return true;
}

/* ------------------------------------------------------------------ */
/* Structured control                                                  */

static bool op_block(Comp *c, uint8_t kind)
{
	uint32_t np, nr;
	const ValType *p, *r;
	ValType single = 0;
	if (!read_blocktype(c, &np, &p, &nr, &r, &single))
		return false;
	Cond cond = {0};
	if (kind == CT_IF && !pop_cond(c, &cond))
		return false;
	if (!check_keep(c, np, p))
		return false;
	if (!dead(c))
		materialize_from(c, 0);
	uint32_t br = NONE, field = 0;
	if (kind == CT_IF && !dead(c))
		br = emit_cond_branch(c, &cond, true, NULL, &field);
	if (!push_ctrl(c, kind, np, p, nr, r))
		return false;
	Ctrl *l = top_ctrl(c);
	if (nr == 1 && r == &single) {
		l->single = single;
		l->one_result = true;
		l->results = NULL;
	}
	label_here(c);
	l->start = here(c);
	if (kind == CT_LOOP) {
		if (c->nloops == c->cap_loops) {
			uint32_t cap = c->cap_loops ? c->cap_loops * 2 : 16;
			uint32_t *n = xrealloc_array(c->loops, cap, sizeof *n);
			if (!n)
				return oom(c);
			c->loops = n;
			c->cap_loops = cap;
		}
		c->loops[c->nloops++] =
			dead(c) ? NONE : l->start - c->func_start;
	}
	if (kind == CT_IF && br != NONE) {
		/* The else patch is kept apart from the end patches. */
		Ctrl tmp = {.patches = NONE};
		if (!add_patch(c, &tmp, br, field))
			return false;
		l->else_patch = tmp.patches;
	}
	return true;
}

/* Checks the stack holds exactly the label's results and moves them home.
 */
static bool end_arm(Comp *c, Ctrl *l)
{
	uint32_t before = c->nvals;
	if (!pop_types(c, l->nresults, ctrl_results(l)))
		return false;
	if (c->nvals != l->height)
		return invalid(c,
			       "type mismatch: %u values remain on the "
			       "stack at the end of a block",
			       c->nvals - l->height);
	if (!dead(c)) {
		c->nvals = before;
		materialize_from(c, l->height);
	}
	return true;
}

static bool op_else(Comp *c)
{
	Ctrl *l = top_ctrl(c);
	if (l->kind != CT_IF)
		return invalid(c, "else without a matching if");
	if (!end_arm(c, l))
		return false;
	if (!dead(c)) {
		uint32_t at = emit(c, OP_br, 2);
		if (!add_patch(c, l, at, 0))
			return false;
	}
	/* The else arm starts with the block's params in their home slots. */
	label_here(c);
	if (l->else_patch != NONE) {
		Patch *p = &c->patches[l->else_patch];
		put(c, p->instr, p->field, here(c) - p->instr);
		l->else_patch = NONE;
	}
	l->kind = CT_ELSE;
	c->nvals = l->height;
	l->unreachable = false;
	for (uint32_t i = 0; i < l->nparams; i++)
		push(c, l->params[i]);
	return !c->oom;
}

static bool op_end(Comp *c)
{
	Ctrl *l = top_ctrl(c);
	if (l->kind == CT_IF) {
		/* No else: the params flow through, so they must be the
		 * results. */
		if (l->nparams != l->nresults ||
		    (l->nparams &&
		     memcmp(l->params, ctrl_results(l), l->nparams)))
			return invalid(c, "type mismatch: if without else "
					  "must leave its params as results");
	}
	if (!end_arm(c, l))
		return false;
	if (l->kind == CT_FUNC) {
		if (!dead(c)) {
			emit_return(c, l->nresults);
			top_ctrl(c)->unreachable = true;
		}
		c->nctrls--;
		return true;
	}
	label_here(c);
	uint32_t target = here(c);
	if (l->else_patch != NONE) {
		Patch *p = &c->patches[l->else_patch];
		put(c, p->instr, p->field, target - p->instr);
	}
	resolve_patches(c, l, target);
	uint32_t nr = l->nresults, h = l->height;
	const ValType *rt = l->results;
	ValType single = l->single;
	bool one = l->one_result;
	c->nctrls--;
	c->nvals = h;
	for (uint32_t i = 0; i < nr; i++)
		if (!push(c, one ? single : rt[i]))
			return false;
	return true;
}

static bool op_br(Comp *c)
{
	Ctrl *l;
	uint32_t depth;
	if (!read_label(c, &l, &depth))
		return false;
	uint32_t n = label_arity(l);
	uint32_t before = c->nvals;
	if (!pop_types(c, n, label_types(l)))
		return false;
	c->nvals = before;
	if (!dead(c) && !emit_jump(c, l))
		return false;
	Ctrl *t = top_ctrl(c);
	t->unreachable = true;
	c->nvals = t->height;
	return true;
}

static bool op_br_if(Comp *c)
{
	Ctrl *l;
	uint32_t depth;
	if (!read_label(c, &l, &depth))
		return false;
	Cond cond;
	if (!pop_cond(c, &cond))
		return false;
	uint32_t n = label_arity(l);
	const ValType *types = label_types(l);
	if (!check_keep(c, n, types))
		return false;
	if (dead(c))
		return true;
	uint32_t field;
	if (l->kind != CT_FUNC && values_in_place(c, l, n)) {
		uint32_t at = emit_cond_branch(
			c, &cond, false, l->kind == CT_LOOP ? l : NULL, &field);
		if (l->kind != CT_LOOP && !add_patch(c, l, at, field))
			return false;
	} else {
		/* Values must move (or it returns): skip over a jump. */
		uint32_t skip = emit_cond_branch(c, &cond, true, NULL, &field);
		if (!emit_jump(c, l))
			return false;
		label_here(c);
		put(c, skip, field, here(c) - skip);
	}
	return true;
}

static bool op_br_table(Comp *c)
{
	uint32_t n;
	if (!rd_u32(&c->r, &n))
		return false;
	if (n > rd_left(&c->r))
		return malformed(c, "unexpected end");
	uint32_t *depths = xcalloc(n + 1, sizeof *depths);
	if (!depths)
		return oom(c);
	bool ok = false;
	Ctrl *l;
	for (uint32_t i = 0; i <= n; i++)
		if (!read_label(c, &l, &depths[i]))
			goto out;
	Val idx;
	if (!pop(c, VT_I32, &idx))
		goto out;
	Ctrl *def = &c->ctrls[c->nctrls - 1 - depths[n]];
	uint32_t arity = label_arity(def);
	for (uint32_t i = 0; i <= n; i++) {
		l = &c->ctrls[c->nctrls - 1 - depths[i]];
		if (label_arity(l) != arity) {
			invalid(c, "type mismatch: br_table labels have "
				   "different arities");
			goto out;
		}
		/* Each label must accept the values on the stack; pop()
		 * leaves the entries in place, so restoring the height
		 * undoes it. */
		uint32_t saved = c->nvals;
		bool good = pop_types(c, arity, label_types(l));
		c->nvals = saved;
		if (!good)
			goto out;
	}
	if (!dead(c)) {
		uint32_t sidx = slot_of(c, &idx, c->nvals);
		uint32_t cells = 2 + (n + 1 + 1) / 2;
		uint32_t at = emit(c, OP_br_table, cells);
		put(c, at, 0, sidx);
		put(c, at, 1, n);
		/* Entries whose label needs moves, a fuel check or a return
		 * go through a stub emitted after the table; entries to the
		 * same label share it. */
		uint32_t *stub = xcalloc(n + 1, sizeof *stub);
		if (!stub) {
			oom(c);
			goto out;
		}
		for (uint32_t i = 0; i <= n && !c->oom; i++) {
			l = &c->ctrls[c->nctrls - 1 - depths[i]];
			bool direct = l->kind != CT_FUNC &&
				      l->kind != CT_LOOP &&
				      values_in_place(c, l, arity);
			if (direct) {
				if (!add_patch(c, l, at, 2 + i))
					break;
				continue;
			}
			uint32_t s = NONE;
			for (uint32_t j = 0; j < i; j++)
				if (depths[j] == depths[i] && stub[j])
					s = stub[j];
			if (s == NONE) {
				label_here(c);
				s = here(c);
				emit_jump(c, l);
			}
			stub[i] = s;
			put(c, at, 2 + i, s - at);
		}
		free(stub);
	}
	Ctrl *t = top_ctrl(c);
	t->unreachable = true;
	c->nvals = t->height;
	ok = !c->oom;
out:
	free(depths);
	return ok;
}

static bool op_select(Comp *c, bool typed)
{
	ValType t = VT_ANY;
	if (typed) {
		uint32_t n;
		uint8_t b;
		if (!rd_u32(&c->r, &n))
			return false;
		if (n != 1)
			return invalid(c, "invalid result arity");
		if (!rd_u8(&c->r, &b))
			return false;
		t = b;
	}
	Val cond, b, a;
	if (!pop(c, VT_I32, &cond) || !pop(c, t, &b) || !pop(c, t, &a))
		return false;
	if (!typed) {
		if (vt_is_ref(a.type) || vt_is_ref(b.type) ||
		    a.type == VT_V128 || b.type == VT_V128)
			return invalid(c,
				       "type mismatch: select without a type "
				       "needs numeric operands");
		if (a.type != VT_ANY && b.type != VT_ANY && a.type != b.type)
			return invalid(c,
				       "type mismatch: select operands %s "
				       "and %s",
				       valtype_name(a.type),
				       valtype_name(b.type));
		t = a.type != VT_ANY ? a.type : b.type;
	}
	uint32_t h = c->nvals;
	if (!push(c, t) || dead(c))
		return !c->oom;
	uint32_t sa = slot_of(c, &a, h);
	uint32_t sb = slot_of(c, &b, h + 1);
	uint32_t sc = slot_of(c, &cond, h + 2);
	emit_r(c, OP_select, 3, c->T + h, sa, sb, sc);
	return true;
}

/* ------------------------------------------------------------------ */
/* The 0xFC prefix: saturating conversions, bulk memory, tables         */

static const ValType I3[3] = {VT_I32, VT_I32, VT_I32};

static bool op_prefix_fc(Comp *c)
{
	uint32_t sub;
	if (!rd_u32(&c->r, &sub))
		return false;
	const Module *m = c->m;
	uint32_t s[4];
	uint32_t seg, t, t2;
	if (sub <= 7) {
		static const struct {
			ValType from, to;
		} conv[8] = {{VT_F32, VT_I32}, {VT_F32, VT_I32},
			     {VT_F64, VT_I32}, {VT_F64, VT_I32},
			     {VT_F32, VT_I64}, {VT_F32, VT_I64},
			     {VT_F64, VT_I64}, {VT_F64, VT_I64}};
		return unop(c, conv[sub].from, conv[sub].to,
			    (Op)(OP_i32_trunc_sat_f32_s + sub));
	}
	switch (sub) {
	case 8: /* memory.init */
		if (!rd_u32(&c->r, &seg) || !read_memidx(c))
			return false;
		if (!m->has_data_count)
			return malformed(c, "data count section required");
		if (seg >= m->data_count)
			return invalid(c, "unknown data segment %u", seg);
		if (!pop_operands(c, 3, I3, s))
			return false;
		if (!dead(c)) {
			uint32_t at = emit(c, OP_memory_init, 3);
			put(c, at, 0, s[0]);
			put(c, at, 1, s[1]);
			put(c, at, 2, s[2]);
			put(c, at, 3, seg);
		}
		return true;
	case 9: /* data.drop */
		if (!rd_u32(&c->r, &seg))
			return false;
		if (!m->has_data_count)
			return malformed(c, "data count section required");
		if (seg >= m->data_count)
			return invalid(c, "unknown data segment %u", seg);
		put(c, emit(c, OP_data_drop, 2), 0, seg);
		return true;
	case 10: /* memory.copy */
	case 11: /* memory.fill */
		if (!read_memidx(c) || (sub == 10 && !read_memidx(c)))
			return false;
		if (!pop_operands(c, 3, I3, s))
			return false;
		if (!dead(c)) {
			uint32_t at = emit(
				c, sub == 10 ? OP_memory_copy : OP_memory_fill,
				3);
			put(c, at, 0, s[0]);
			put(c, at, 1, s[1]);
			put(c, at, 2, s[2]);
		}
		return true;
	case 12: /* table.init elem table */
		if (!rd_u32(&c->r, &seg) || !read_table(c, &t))
			return false;
		if (seg >= m->nelems)
			return invalid(c, "unknown elem segment %u", seg);
		if (m->elems[seg].type != m->tables[t].elem)
			return invalid(c,
				       "type mismatch: table.init of %s "
				       "into a table of %s",
				       valtype_name(m->elems[seg].type),
				       valtype_name(m->tables[t].elem));
		if (!pop_operands(c, 3, I3, s))
			return false;
		if (!dead(c)) {
			uint32_t at = emit(c, OP_table_init, 4);
			put(c, at, 0, s[0]);
			put(c, at, 1, s[1]);
			put(c, at, 2, s[2]);
			put(c, at, 3, t);
			put(c, at, 4, seg);
		}
		return true;
	case 13: /* elem.drop */
		if (!rd_u32(&c->r, &seg))
			return false;
		if (seg >= m->nelems)
			return invalid(c, "unknown elem segment %u", seg);
		put(c, emit(c, OP_elem_drop, 2), 0, seg);
		return true;
	case 14: /* table.copy dst src */
		if (!read_table(c, &t) || !read_table(c, &t2))
			return false;
		if (m->tables[t].elem != m->tables[t2].elem)
			return invalid(c,
				       "type mismatch: table.copy between "
				       "tables of %s and %s",
				       valtype_name(m->tables[t2].elem),
				       valtype_name(m->tables[t].elem));
		if (!pop_operands(c, 3, I3, s))
			return false;
		if (!dead(c)) {
			uint32_t at = emit(c, OP_table_copy, 4);
			put(c, at, 0, s[0]);
			put(c, at, 1, s[1]);
			put(c, at, 2, s[2]);
			put(c, at, 3, t);
			put(c, at, 4, t2);
		}
		return true;
	case 15: { /* table.grow */
		if (!read_table(c, &t))
			return false;
		ValType types[2] = {m->tables[t].elem, VT_I32};
		if (!pop_operands(c, 2, types, s))
			return false;
		uint32_t h = c->nvals;
		if (!push(c, VT_I32) || dead(c))
			return !c->oom;
		emit_r(c, OP_table_grow, 3, c->T + h, s[0], s[1], t);
		return true;
	}
	case 16: { /* table.size */
		if (!read_table(c, &t))
			return false;
		uint32_t h = c->nvals;
		if (!push(c, VT_I32) || dead(c))
			return !c->oom;
		emit_r(c, OP_table_size, 2, c->T + h, t, 0, 0);
		return true;
	}
	case 17: { /* table.fill */
		if (!read_table(c, &t))
			return false;
		ValType types[3] = {VT_I32, m->tables[t].elem, VT_I32};
		if (!pop_operands(c, 3, types, s))
			return false;
		if (!dead(c)) {
			uint32_t at = emit(c, OP_table_fill, 3);
			put(c, at, 0, s[0]);
			put(c, at, 1, s[1]);
			put(c, at, 2, s[2]);
			put(c, at, 3, t);
		}
		return true;
	}
	default:
		return malformed(c, "illegal opcode");
	}
}

/* ------------------------------------------------------------------ */
/* The opcode loop                                                     */

#define BIN_I(T, name, kidx, cmp, comm)                                        \
	binop(c, VT_##T == VT_I32 ? VT_I32 : VT_I64,                           \
	      (cmp) >= 0 ? VT_I32 : (VT_##T), OP_##name, kidx, cmp, comm)

static bool int_binop(Comp *c, ValType t, unsigned i)
{
	/* i indexes the 25 integer binops in the order of ops.h. */
	static const int8_t kidx[25] = {0,  -2, 1,  -1, -1, -1, -1, 2,	3,
					4,  5,	6,  7,	8,  9,	10, 11, 12,
					13, 14, 15, 16, 17, 18, 19};
	static const bool comm[25] = {1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0,
				      0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
	bool is_cmp = i >= 15;
	Op base = t == VT_I32 ? OP_i32_add : OP_i64_add;
	int k = kidx[i] == -2 ? -1 : kidx[i];
	return binop(c, t, is_cmp ? VT_I32 : t, (Op)(base + i), k,
		     is_cmp ? (int)i - 15 : -1, comm[i]);
}

static bool compile_op(Comp *c, uint8_t op)
{
	Val v;
	switch (op) {
	case 0x00: /* unreachable */
		emit(c, OP_unreachable, 1);
		top_ctrl(c)->unreachable = true;
		c->nvals = top_ctrl(c)->height;
		return true;
	case 0x01: /* nop */
		return true;
	case 0x02:
		return op_block(c, CT_BLOCK);
	case 0x03:
		return op_block(c, CT_LOOP);
	case 0x04:
		return op_block(c, CT_IF);
	case 0x05:
		return op_else(c);
	case 0x0B:
		return op_end(c);
	case 0x0C:
		return op_br(c);
	case 0x0D:
		return op_br_if(c);
	case 0x0E:
		return op_br_table(c);
	case 0x0F: { /* return */
		const FuncType *t = c->f->type;
		uint32_t before = c->nvals;
		if (!pop_types(c, t->nresults, ft_results(t)))
			return false;
		c->nvals = before;
		emit_return(c, t->nresults);
		top_ctrl(c)->unreachable = true;
		c->nvals = top_ctrl(c)->height;
		return true;
	}
	case 0x10:
		return op_call(c, false);
	case 0x11:
		return op_call_indirect(c, false);
	case 0x12:
	case 0x13:
		if (!engine_has(c->m->engine, MYR_FEATURE_TAIL_CALL))
			return malformed(c, "illegal opcode (tail calls are "
					    "not enabled)");
		return op == 0x12 ? op_call(c, true)
				  : op_call_indirect(c, true);
	case 0x1A: /* drop */
		return pop(c, VT_ANY, &v);
	case 0x1B:
		return op_select(c, false);
	case 0x1C:
		return op_select(c, true);
	case 0x20:
	case 0x21:
	case 0x22:
		return op_local(c, op);
	case 0x23:
	case 0x24:
		return op_global(c, op);
	case 0x25: { /* table.get */
		uint32_t t, s;
		if (!read_table(c, &t) || !pop_operands(c, 1, I3, &s))
			return false;
		uint32_t h = c->nvals;
		if (!push(c, c->m->tables[t].elem) || dead(c))
			return !c->oom;
		emit_r(c, OP_table_get, 3, c->T + h, s, t, 0);
		return true;
	}
	case 0x26: { /* table.set */
		uint32_t t, s[2];
		if (!read_table(c, &t))
			return false;
		ValType types[2] = {VT_I32, c->m->tables[t].elem};
		if (!pop_operands(c, 2, types, s))
			return false;
		uint32_t at = emit(c, OP_table_set, 3);
		put(c, at, 0, s[0]);
		put(c, at, 1, s[1]);
		put(c, at, 2, t);
		return true;
	}
	case 0x28:
		return load(c, VT_I32, OP_i32_load, 2);
	case 0x29:
		return load(c, VT_I64, OP_i64_load, 3);
	case 0x2A:
		return load(c, VT_F32, OP_i32_load, 2);
	case 0x2B:
		return load(c, VT_F64, OP_i64_load, 3);
	case 0x2C:
		return load(c, VT_I32, OP_i32_load8_s, 0);
	case 0x2D:
		return load(c, VT_I32, OP_i32_load8_u, 0);
	case 0x2E:
		return load(c, VT_I32, OP_i32_load16_s, 1);
	case 0x2F:
		return load(c, VT_I32, OP_i32_load16_u, 1);
	case 0x30:
		return load(c, VT_I64, OP_i64_load8_s, 0);
	case 0x31:
		return load(c, VT_I64, OP_i64_load8_u, 0);
	case 0x32:
		return load(c, VT_I64, OP_i64_load16_s, 1);
	case 0x33:
		return load(c, VT_I64, OP_i64_load16_u, 1);
	case 0x34:
		return load(c, VT_I64, OP_i64_load32_s, 2);
	case 0x35:
		return load(c, VT_I64, OP_i64_load32_u, 2);
	case 0x36:
		return store(c, VT_I32, OP_i32_store, 2);
	case 0x37:
		return store(c, VT_I64, OP_i64_store, 3);
	case 0x38:
		return store(c, VT_F32, OP_i32_store, 2);
	case 0x39:
		return store(c, VT_F64, OP_i64_store, 3);
	case 0x3A:
		return store(c, VT_I32, OP_i32_store8, 0);
	case 0x3B:
		return store(c, VT_I32, OP_i32_store16, 1);
	case 0x3C:
		return store(c, VT_I64, OP_i64_store8, 0);
	case 0x3D:
		return store(c, VT_I64, OP_i64_store16, 1);
	case 0x3E:
		return store(c, VT_I64, OP_i64_store32, 2);
	case 0x3F: { /* memory.size */
		if (!read_memidx(c))
			return false;
		uint32_t h = c->nvals;
		if (!push(c, VT_I32) || dead(c))
			return !c->oom;
		emit_r(c, OP_memory_size, 2, c->T + h, 0, 0, 0);
		return true;
	}
	case 0x40: { /* memory.grow */
		uint32_t s;
		if (!read_memidx(c) || !pop_operands(c, 1, I3, &s))
			return false;
		uint32_t h = c->nvals;
		if (!push(c, VT_I32) || dead(c))
			return !c->oom;
		emit_r(c, OP_memory_grow, 2, c->T + h, s, 0, 0);
		return true;
	}
	case 0x41: {
		int32_t k;
		if (!rd_s32(&c->r, &k))
			return false;
		return push_val(c, (Val){.type = VT_I32,
					 .kind = K_CONST,
					 .k = (uint32_t)k});
	}
	case 0x42: {
		int64_t k;
		if (!rd_s64(&c->r, &k))
			return false;
		return push_val(c, (Val){.type = VT_I64,
					 .kind = K_CONST,
					 .k = (uint64_t)k});
	}
	case 0x43: {
		uint32_t bits;
		if (!rd_f32(&c->r, &bits))
			return false;
		return push_val(
			c, (Val){.type = VT_F32, .kind = K_CONST, .k = bits});
	}
	case 0x44: {
		uint64_t bits;
		if (!rd_f64(&c->r, &bits))
			return false;
		return push_val(
			c, (Val){.type = VT_F64, .kind = K_CONST, .k = bits});
	}
	case 0x45:
		return unop(c, VT_I32, VT_I32, OP_i32_eqz);
	case 0x50:
		return unop(c, VT_I64, VT_I32, OP_i64_eqz);
	case 0x67:
		return unop(c, VT_I32, VT_I32, OP_i32_clz);
	case 0x68:
		return unop(c, VT_I32, VT_I32, OP_i32_ctz);
	case 0x69:
		return unop(c, VT_I32, VT_I32, OP_i32_popcnt);
	case 0x79:
		return unop(c, VT_I64, VT_I64, OP_i64_clz);
	case 0x7A:
		return unop(c, VT_I64, VT_I64, OP_i64_ctz);
	case 0x7B:
		return unop(c, VT_I64, VT_I64, OP_i64_popcnt);
	case 0x8B:
	case 0x8C:
	case 0x8D:
	case 0x8E:
	case 0x8F:
	case 0x90:
	case 0x91:
		return unop(c, VT_F32, VT_F32, (Op)(OP_f32_abs + (op - 0x8B)));
	case 0x99:
	case 0x9A:
	case 0x9B:
	case 0x9C:
	case 0x9D:
	case 0x9E:
	case 0x9F:
		return unop(c, VT_F64, VT_F64, (Op)(OP_f64_abs + (op - 0x99)));
	case 0x92:
	case 0x93:
	case 0x94:
	case 0x95:
	case 0x96:
	case 0x97:
	case 0x98: {
		static const Op fop[7] = {
			OP_f32_add, OP_f32_sub, OP_f32_mul,	OP_f32_div,
			OP_f32_min, OP_f32_max, OP_f32_copysign};
		return binop(c, VT_F32, VT_F32, fop[op - 0x92], -1, -1, false);
	}
	case 0xA0:
	case 0xA1:
	case 0xA2:
	case 0xA3:
	case 0xA4:
	case 0xA5:
	case 0xA6: {
		static const Op fop[7] = {
			OP_f64_add, OP_f64_sub, OP_f64_mul,	OP_f64_div,
			OP_f64_min, OP_f64_max, OP_f64_copysign};
		return binop(c, VT_F64, VT_F64, fop[op - 0xA0], -1, -1, false);
	}
	case 0x5B:
	case 0x5C:
	case 0x5D:
	case 0x5E:
	case 0x5F:
	case 0x60:
		return binop(c, VT_F32, VT_I32, (Op)(OP_f32_eq + (op - 0x5B)),
			     -1, -1, false);
	case 0x61:
	case 0x62:
	case 0x63:
	case 0x64:
	case 0x65:
	case 0x66:
		return binop(c, VT_F64, VT_I32, (Op)(OP_f64_eq + (op - 0x61)),
			     -1, -1, false);
	case 0xA7:
		return unop(c, VT_I64, VT_I32, OP_i32_wrap_i64);
	case 0xA8:
		return unop(c, VT_F32, VT_I32, OP_i32_trunc_f32_s);
	case 0xA9:
		return unop(c, VT_F32, VT_I32, OP_i32_trunc_f32_u);
	case 0xAA:
		return unop(c, VT_F64, VT_I32, OP_i32_trunc_f64_s);
	case 0xAB:
		return unop(c, VT_F64, VT_I32, OP_i32_trunc_f64_u);
	case 0xAC:
		return unop(c, VT_I32, VT_I64, OP_i64_extend_i32_s);
	case 0xAD:
		return unop(c, VT_I32, VT_I64, OP_i64_extend_i32_u);
	case 0xAE:
		return unop(c, VT_F32, VT_I64, OP_i64_trunc_f32_s);
	case 0xAF:
		return unop(c, VT_F32, VT_I64, OP_i64_trunc_f32_u);
	case 0xB0:
		return unop(c, VT_F64, VT_I64, OP_i64_trunc_f64_s);
	case 0xB1:
		return unop(c, VT_F64, VT_I64, OP_i64_trunc_f64_u);
	case 0xB2:
		return unop(c, VT_I32, VT_F32, OP_f32_convert_i32_s);
	case 0xB3:
		return unop(c, VT_I32, VT_F32, OP_f32_convert_i32_u);
	case 0xB4:
		return unop(c, VT_I64, VT_F32, OP_f32_convert_i64_s);
	case 0xB5:
		return unop(c, VT_I64, VT_F32, OP_f32_convert_i64_u);
	case 0xB6:
		return unop(c, VT_F64, VT_F32, OP_f32_demote_f64);
	case 0xB7:
		return unop(c, VT_I32, VT_F64, OP_f64_convert_i32_s);
	case 0xB8:
		return unop(c, VT_I32, VT_F64, OP_f64_convert_i32_u);
	case 0xB9:
		return unop(c, VT_I64, VT_F64, OP_f64_convert_i64_s);
	case 0xBA:
		return unop(c, VT_I64, VT_F64, OP_f64_convert_i64_u);
	case 0xBB:
		return unop(c, VT_F32, VT_F64, OP_f64_promote_f32);
	case 0xBC:
		return retype(c, VT_F32, VT_I32);
	case 0xBD:
		return retype(c, VT_F64, VT_I64);
	case 0xBE:
		return retype(c, VT_I32, VT_F32);
	case 0xBF:
		return retype(c, VT_I64, VT_F64);
	case 0xC0:
		return unop(c, VT_I32, VT_I32, OP_i32_extend8_s);
	case 0xC1:
		return unop(c, VT_I32, VT_I32, OP_i32_extend16_s);
	case 0xC2:
		return unop(c, VT_I64, VT_I64, OP_i64_extend8_s);
	case 0xC3:
		return unop(c, VT_I64, VT_I64, OP_i64_extend16_s);
	case 0xC4:
		return unop(c, VT_I64, VT_I64, OP_i64_extend32_s);
	case 0xD0: { /* ref.null */
		uint8_t t;
		if (!rd_u8(&c->r, &t))
			return false;
		if (!vt_is_ref(t))
			return malformed(c, "malformed reference type");
		return push_val(c, (Val){.type = t, .kind = K_CONST, .k = 0});
	}
	case 0xD1: { /* ref.is_null */
		if (!pop(c, VT_ANY, &v))
			return false;
		if (v.type != VT_ANY && !vt_is_ref(v.type))
			return invalid(c, "type mismatch: ref.is_null of %s",
				       valtype_name(v.type));
		uint32_t h = c->nvals;
		if (!push(c, VT_I32) || dead(c))
			return !c->oom;
		emit_r(c, OP_ref_is_null, 2, c->T + h, slot_of(c, &v, h), 0, 0);
		return true;
	}
	case 0xD2: { /* ref.func */
		uint32_t fi;
		if (!rd_u32(&c->r, &fi))
			return false;
		if (fi >= c->m->nfuncs)
			return invalid(c, "unknown function %u", fi);
		if (!module_func_declared(c->m, fi))
			return invalid(c, "undeclared function reference");
		/* Its object must be in the block: ref.func cannot fail. */
		module_func_place(c->m, fi);
		uint32_t h = c->nvals;
		if (!push(c, VT_FUNCREF) || dead(c))
			return !c->oom;
		emit_r(c, OP_ref_func, 2, c->T + h, fi, 0, 0);
		return true;
	}
	case 0xFC:
		return op_prefix_fc(c);
	default:
		break;
	}
	if (op >= 0x46 && op <= 0x4F) /* i32 compares */
		return int_binop(c, VT_I32, 15 + (op - 0x46));
	if (op >= 0x51 && op <= 0x5A) /* i64 compares */
		return int_binop(c, VT_I64, 15 + (op - 0x51));
	if (op >= 0x6A && op <= 0x78) /* i32 arithmetic */
		return int_binop(c, VT_I32, op - 0x6A);
	if (op >= 0x7C && op <= 0x8A) /* i64 arithmetic */
		return int_binop(c, VT_I64, op - 0x7C);
	char msg[48];
	snprintf(msg, sizeof msg, "illegal opcode 0x%02x", op);
	return malformed(c, msg);
}

/* ------------------------------------------------------------------ */
/* Functions and modules                                               */

static bool compile_func(Comp *c, Func *f)
{
	const FuncType *t = f->type;
	c->f = f;
	c->fidx = f->index;
	c->nparams = t->nparams;
	c->nlocals = t->nparams + f->nlocals;
	free(c->local_types);
	c->local_types = xcalloc(c->nlocals, 1);
	if (!c->local_types)
		return oom(c);
	memcpy(c->local_types, ft_params(t), t->nparams);
	uint32_t k = t->nparams;
	for (uint32_t i = 0; i < f->nruns; i++) {
		memset(c->local_types + k, f->runs[i].type, f->runs[i].count);
		k += f->runs[i].count;
	}
	/* Reserve the pool from an upper bound on the body's constants:
	 * every const opcode is one of these bytes. */
	uint32_t nconst = 0;
	for (uint32_t i = 0; i < f->body_len; i++)
		nconst += f->body[i] >= 0x41 && f->body[i] <= 0x44;
	c->pool_cap = MIN(nconst, (uint32_t)POOL_MAX);
	c->pool_used = 0;
	c->pool_base = c->nlocals + FRAME_HEADER;
	c->T = c->pool_base + c->pool_cap;
	c->nvals = c->max_height = 0;
	c->nctrls = 0;
	c->npatches = 0;
	c->last = NONE;
	c->r = (Reader){.p = f->body,
			.end = f->body + f->body_len,
			.base = c->m->bytes,
			.err = c->err,
			.func = f->index};
	uint32_t start = here(c);
	c->func_start = start;
	c->nloops = 0;
	if (!push_ctrl(c, CT_FUNC, 0, NULL, t->nresults, ft_results(t)))
		return false;
	while (c->nctrls > 0) {
		c->at = rd_offset(&c->r);
		uint8_t op;
		if (rd_eof(&c->r))
			return malformed(c, "unexpected end of section or "
					    "function (END opcode expected)");
		if (!rd_u8(&c->r, &op) || !compile_op(c, op))
			return false;
		if (c->oom)
			return false;
	}
	if (!rd_eof(&c->r)) {
		c->at = rd_offset(&c->r);
		return malformed(c, "section size mismatch: bytes after the "
				    "function's final end");
	}
	uint64_t slots = (uint64_t)c->T + c->max_height + FRAME_HEADER;
	if (slots > UINT32_MAX / 2)
		return invalid(c, "function frame too large");
	f->frame_slots = (uint32_t)slots;
	f->nparams = t->nparams;
	f->nresults = t->nresults;
	f->ninit = f->nlocals + c->pool_used;
	uint64_t *init = xcalloc(f->ninit, sizeof *init);
	if (!init)
		return oom(c);
	if (c->pool_used)
		memcpy(init + f->nlocals, c->pool, c->pool_used * sizeof *init);
	f->init = init;
	f->temp_base = c->T;
	f->nloops = c->nloops;
	if (c->nloops) {
		f->loop_at = xcalloc(c->nloops, sizeof *f->loop_at);
		if (!f->loop_at)
			return oom(c);
		memcpy(f->loop_at, c->loops, c->nloops * sizeof *f->loop_at);
	}
	f->entry_fuel = MIN((here(c) - start) / 2, 64u) + 1;
	f->code = (const Cell *)(uintptr_t)start; /* an index until the end */
	return true;
}

bool compile_module(Module *m, myr_error *err)
{
	Comp c = {.m = m, .err = err};
	c.pool = xcalloc(POOL_MAX, sizeof *c.pool);
	if (!c.pool)
		return oom(&c);
	uint32_t ndef = m->nfuncs - m->nfunc_imports;
	bool ok = true;
	for (uint32_t i = 0; i < ndef && ok; i++)
		ok = compile_func(&c, &m->funcs[i]);
	free(c.local_types);
	free(c.vals);
	free(c.ctrls);
	free(c.patches);
	free(c.pool);
	free(c.loops);
	if (!ok) {
		free(c.code);
		for (uint32_t i = 0; i < ndef; i++)
			m->funcs[i].code = NULL;
		return false;
	}
	m->code = c.code;
	m->code_cells = c.ncode;
	for (uint32_t i = 0; i < ndef; i++) {
		m->funcs[i].code = m->code + (uintptr_t)m->funcs[i].code;
		m->funcs[i].entry = m->funcs[i].code;
	}
	return true;
}

void compile_release(Module *m)
{
	uint32_t ndef = m->nfuncs - m->nfunc_imports;
	if (m->funcs)
		for (uint32_t i = 0; i < ndef; i++) {
			free((void *)m->funcs[i].init);
			m->funcs[i].init = NULL;
			free(m->funcs[i].loop_at);
			m->funcs[i].loop_at = NULL;
		}
	free(m->code);
	m->code = NULL;
}
