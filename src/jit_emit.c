/*
 * Wasm function bodies to LLVM IR, for the compiler tier (jit.h has the
 * calling convention and the frame contract).
 *
 * The translation keeps wasm values in SSA form inside a function, the
 * way any wasm-to-LLVM compiler does, with one twist that makes the code
 * pausable: the operand stack has *stack allocas*, one per height and
 * type, and at every point where control flow merges (a label, a call's
 * continuation, a resume point) the live stack is in them, exactly as the
 * interpreter keeps it in its home slots T + height. Locals are allocas
 * too. LLVM's mem2reg turns all of it back into registers and phis; what
 * the allocas buy is that a resume path (which enters the middle of the
 * function from its entry block) can simply store the frame's values into
 * them and branch to the label, and a pause path can read them and store
 * them into the frame. Because the discipline is the interpreter's own
 * (a value at height i lives in slot i; a branch moves its values to the
 * target's heights), the two tiers agree on the frame at every safepoint,
 * which is what lets a run move between them.
 *
 * Every function also gets:
 *   - at entry, a switch on `resume`: 0 starts it, anything else reloads
 *     locals and the stack from the frame and jumps to the resume point;
 *   - one pause block per loop, taken at a back-edge when fuel has run
 *     out: it stores the stack and (through the shared spill block) the
 *     locals, and records the loop's resume cell in ex->pc;
 *   - one shared trap block per trap kind.
 */
#include <stddef.h>
#include <stdio.h>

#include <llvm-c/Core.h>

#include "build_id.h"
#include "jit.h"
#include "reader.h"

#define CC_TAIL 18 /* LLVM's tailcc: guaranteed tail calls */

enum {
	H_COUNT_ =
#define MYR_HELPER_COUNT(n, r, p) +1
		MYR_JIT_HELPERS(MYR_HELPER_COUNT)
#undef MYR_HELPER_COUNT
};
enum {
#define MYR_HELPER_ID(n, r, p) H_##n,
	MYR_JIT_HELPERS(MYR_HELPER_ID)
#undef MYR_HELPER_ID
};
static const struct {
	const char *name, *params;
	char ret;
} helper_sig[H_COUNT_] = {
#define MYR_HELPER_SIG(n, r, p) {#n, p, #r[0]},
	MYR_JIT_HELPERS(MYR_HELPER_SIG)
#undef MYR_HELPER_SIG
};

/* What the code assumes about the runtime's structures: part of the code
 * cache's key (jit_abi_hash). */
#define MYR_JIT_OFFSETS(X)                                                     \
	X(offsetof(Exec, stack))                                               \
	X(offsetof(Exec, stack_end))                                           \
	X(offsetof(Exec, inst))                                                \
	X(offsetof(Exec, globals))                                             \
	X(offsetof(Exec, global_imps))                                         \
	X(offsetof(Exec, mem))                                                 \
	X(offsetof(Exec, tables))                                              \
	X(offsetof(Exec, func_imps))                                           \
	X(offsetof(Exec, pc))                                                  \
	X(offsetof(Exec, fp_off))                                              \
	X(offsetof(Exec, fuel_left))                                           \
	X(offsetof(Exec, unwind))                                              \
	X(offsetof(Exec, native_limit))                                        \
	X(offsetof(myr_memory, base))                                          \
	X(offsetof(myr_memory, size))                                          \
	X(offsetof(myr_table, elems))                                          \
	X(offsetof(myr_table, size))                                           \
	X(offsetof(myr_func, kind))                                            \
	X(offsetof(myr_func, canon))                                           \
	X(offsetof(myr_func, def))                                             \
	X(offsetof(myr_func, inst))                                            \
	X(offsetof(Func, native))                                              \
	X(offsetof(Func, frame_slots))                                         \
	X(sizeof(Func))                                                        \
	X(offsetof(myr_instance, mod))                                         \
	X(offsetof(Module, funcs))                                             \
	X(offsetof(Module, types))                                             \
	X(offsetof(FuncType, canon))                                           \
	X(sizeof(FuncType))                                                    \
	X(sizeof(Cell))                                                        \
	X(FRAME_HEADER)                                                        \
	X(RUN_OUT_OF_FUEL)                                                     \
	X(RUN_DEPTH)                                                           \
	X(FUNC_WASM)                                                           \
	X(MYR_TRAP_COUNT_)

uint64_t jit_abi_hash(void)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = MYR_BUILD_ID; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
#ifdef MYR_UNSAFE_NO_BOUNDS_CHECKS
	/* Code without bounds checks must never be taken for real code. */
	h = (h ^ 0x756e73616665ull) * 1099511628211ull;
#endif
#ifdef MYR_UNSAFE_NO_FUEL_CHECKS
	h = (h ^ 0x6e6f6675656cull) * 1099511628211ull;
#endif
#define MYR_HASH_ONE(v) h = (h ^ (uint64_t)(v)) * 1099511628211ull;
	MYR_JIT_OFFSETS(MYR_HASH_ONE)
#undef MYR_HASH_ONE
	for (int i = 0; i < H_COUNT_; i++) {
		for (const char *p = helper_sig[i].name; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ull;
		for (const char *p = helper_sig[i].params; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ull;
		h = (h ^ (uint8_t)helper_sig[i].ret) * 1099511628211ull;
	}
	return h;
}

/* ------------------------------------------------------------------ */
/* The object being built                                              */

typedef struct Emit {
	const Module *m;
	LLVMContextRef C;
	LLVMModuleRef M;
	LLVMBuilderRef bld;
	LLVMTypeRef t_void, t_i1, t_i8, t_i32, t_i64, t_f32, t_f64, t_ptr;
	LLVMTypeRef t_cell;
	LLVMValueRef op_native;
	LLVMValueRef helper[H_COUNT_];
	LLVMTypeRef helper_ty[H_COUNT_];
	unsigned md_tbaa, md_prof;
	LLVMValueRef tbaa_mem, tbaa_rt, tbaa_frame, tbaa_glob, tbaa_tab;
	LLVMValueRef unlikely; /* branch weights */
	LLVMValueRef rsp_md;
	/* The batch: defined function defs[i] is at position i. */
	const uint32_t *defs;
	uint32_t n;
	int32_t *pos_of; /* by defined index: position, or -1 */
	LLVMValueRef *fast, *gen, *cells;
	bool fast_loops; /* loops get fast copies (MYRIAD_JIT_FAST_LOOPS=0: no)
			  */
	char *err;
	size_t err_len;
} Emit;

/* LLVM's type for a wasm value (references are their pointer bits). */
static LLVMTypeRef vtype(const Emit *e, ValType t)
{
	switch (t) {
	case VT_I32:
		return e->t_i32;
	case VT_F32:
		return e->t_f32;
	case VT_F64:
		return e->t_f64;
	default:
		return e->t_i64;
	}
}

/* Index of the stack alloca for a type: i32, i64 (and refs), f32, f64. */
static unsigned vkind(ValType t)
{
	switch (t) {
	case VT_I32:
		return 0;
	case VT_F32:
		return 2;
	case VT_F64:
		return 3;
	default:
		return 1;
	}
}

/* The fast entry's return type: {fuel, result} or fuel. */
static LLVMTypeRef ret_type(const Emit *e, const FuncType *ft)
{
	if (ft->nresults != 1)
		return e->t_i64;
	LLVMTypeRef el[2] = {e->t_i64, vtype(e, ft_results(ft)[0])};
	return LLVMStructTypeInContext(e->C, el, 2, 0);
}

static LLVMTypeRef fast_type(const Emit *e, const FuncType *ft)
{
	LLVMTypeRef small[16];
	uint32_t n = 4 + ft->nparams;
	LLVMTypeRef *p = n <= 16 ? small : xcalloc(n, sizeof *p);
	if (!p)
		return NULL;
	p[0] = e->t_ptr, p[1] = e->t_ptr, p[2] = e->t_i64, p[3] = e->t_i32;
	for (uint32_t i = 0; i < ft->nparams; i++)
		p[4 + i] = vtype(e, ft_params(ft)[i]);
	LLVMTypeRef t = LLVMFunctionType(ret_type(e, ft), p, n, 0);
	if (p != small)
		free(p);
	return t;
}

static LLVMValueRef ci32(const Emit *e, uint64_t v)
{
	return LLVMConstInt(e->t_i32, v, 0);
}
static LLVMValueRef ci64(const Emit *e, uint64_t v)
{
	return LLVMConstInt(e->t_i64, v, 0);
}

static LLVMMetadataRef md_const(LLVMTypeRef t, uint64_t v)
{
	return LLVMValueAsMetadata(LLVMConstInt(t, v, 0));
}

static LLVMValueRef tbaa_tag(Emit *e, LLVMMetadataRef root, const char *name)
{
	LLVMMetadataRef ty[3] = {
		LLVMMDStringInContext2(e->C, name, strlen(name)), root,
		md_const(e->t_i64, 0)};
	LLVMMetadataRef node = LLVMMDNodeInContext2(e->C, ty, 3);
	LLVMMetadataRef tag[3] = {node, node, md_const(e->t_i64, 0)};
	return LLVMMetadataAsValue(e->C, LLVMMDNodeInContext2(e->C, tag, 3));
}

static LLVMTypeRef letter_type(const Emit *e, char c)
{
	switch (c) {
	case 'p':
		return e->t_ptr;
	case 'i':
		return e->t_i32;
	case 'l':
		return e->t_i64;
	default:
		return e->t_void;
	}
}

static void emit_init(Emit *e)
{
	LLVMContextRef C = e->C;
	e->t_void = LLVMVoidTypeInContext(C);
	e->t_i1 = LLVMInt1TypeInContext(C);
	e->t_i8 = LLVMInt8TypeInContext(C);
	e->t_i32 = LLVMInt32TypeInContext(C);
	e->t_i64 = LLVMInt64TypeInContext(C);
	e->t_f32 = LLVMFloatTypeInContext(C);
	e->t_f64 = LLVMDoubleTypeInContext(C);
	e->t_ptr = LLVMPointerTypeInContext(C, 0);
	LLVMTypeRef cell[4] = {e->t_ptr, e->t_i32, e->t_i32, e->t_ptr};
	e->t_cell = LLVMStructTypeInContext(C, cell, 4, 0);
	e->op_native = LLVMAddFunction(e->M, "myr_op_native",
				       LLVMFunctionType(e->t_void, NULL, 0, 0));
	unsigned cold = LLVMGetEnumAttributeKindForName("cold", 4);
	unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
	for (int i = 0; i < H_COUNT_; i++) {
		LLVMTypeRef p[12];
		size_t np = strlen(helper_sig[i].params);
		for (size_t k = 0; k < np; k++)
			p[k] = letter_type(e, helper_sig[i].params[k]);
		e->helper_ty[i] = LLVMFunctionType(
			letter_type(e, helper_sig[i].ret), p, (unsigned)np, 0);
		char name[64];
		snprintf(name, sizeof name, "myr_rt_%s", helper_sig[i].name);
		e->helper[i] = LLVMAddFunction(e->M, name, e->helper_ty[i]);
		LLVMAddAttributeAtIndex(
			e->helper[i], LLVMAttributeFunctionIndex,
			LLVMCreateEnumAttribute(C, nounwind, 0));
	}
	LLVMAddAttributeAtIndex(e->helper[H_trap], LLVMAttributeFunctionIndex,
				LLVMCreateEnumAttribute(C, cold, 0));
	LLVMAddAttributeAtIndex(e->helper[H_need_stack],
				LLVMAttributeFunctionIndex,
				LLVMCreateEnumAttribute(C, cold, 0));
	e->md_tbaa = LLVMGetMDKindIDInContext(C, "tbaa", 4);
	e->md_prof = LLVMGetMDKindIDInContext(C, "prof", 4);
	LLVMMetadataRef rname = LLVMMDStringInContext2(C, "myriad", 6);
	LLVMMetadataRef root = LLVMMDNodeInContext2(C, &rname, 1);
	e->tbaa_mem = tbaa_tag(e, root, "linear memory");
	e->tbaa_rt = tbaa_tag(e, root, "runtime");
	e->tbaa_frame = tbaa_tag(e, root, "frame");
	e->tbaa_glob = tbaa_tag(e, root, "global");
	e->tbaa_tab = tbaa_tag(e, root, "table");
	LLVMMetadataRef w[3] = {LLVMMDStringInContext2(C, "branch_weights", 14),
				md_const(e->t_i32, 1),
				md_const(e->t_i32, 2000)};
	e->unlikely = LLVMMetadataAsValue(C, LLVMMDNodeInContext2(C, w, 3));
	LLVMMetadataRef rsp = LLVMMDStringInContext2(C, "rsp", 3);
	e->rsp_md = LLVMMetadataAsValue(C, LLVMMDNodeInContext2(C, &rsp, 1));
}

/* ------------------------------------------------------------------ */
/* One function                                                        */

enum { L_BLOCK, L_LOOP, L_IF, L_ELSE, L_FUNC };

typedef struct SVal {
	LLVMValueRef v; /* NULL: only in its stack alloca */
	ValType t;
	bool in_sa; /* its stack alloca holds it */
} SVal;

typedef struct Lbl {
	uint8_t kind;
	bool end_reached;
	uint32_t height; /* stack height at entry, params excluded */
	uint32_t np, nr;
	const ValType *p, *r;
	ValType single;
	LLVMBasicBlockRef target; /* end, or a loop's header */
	LLVMBasicBlockRef else_bb;
	LLVMBasicBlockRef pause;     /* a loop's pause block */
	LLVMBasicBlockRef fast_exit; /* where a fast loop's copy leaves */
	uint32_t op_start;	     /* instruction count at a loop's header */
} Lbl;

typedef struct Fn {
	Emit *e;
	const Func *f;
	const FuncType *ft;
	uint32_t fidx, pos;
	LLVMValueRef fn, ex, fp, cells;
	LLVMBuilderRef AB; /* allocas, at the top of the entry block */
	LLVMBasicBlockRef entry, spill;
	LLVMValueRef sw; /* the resume switch */
	LLVMBasicBlockRef trap[MYR_TRAP_COUNT_];
	uint32_t nlocals;
	ValType *ltype;
	LLVMValueRef *local;
	LLVMValueRef fuel, mem, memsize;
	LLVMValueRef (*sa)[4];
	uint32_t sa_cap;
	SVal *stk;
	uint32_t nstk, cap_stk;
	Lbl *lbl;
	uint32_t nlbl, cap_lbl;
	uint32_t loops, calls, ops;
	bool dead;
	uint32_t dead_depth;
	Reader r;
	bool fail;
	struct FastLoop *fast; /* emitting a loop's fast copy */
} Fn;

#define B (F->e->bld)
#define E (F->e)

static bool fn_fail(Fn *F, const char *what)
{
	if (!F->fail)
		snprintf(E->err, E->err_len, "function %u, offset 0x%zx: %s",
			 F->fidx, (size_t)(F->r.p - E->m->bytes), what);
	F->fail = true;
	return false;
}

static LLVMBasicBlockRef new_bb(Fn *F, const char *name)
{
	return LLVMAppendBasicBlockInContext(E->C, F->fn, name);
}

static void at(Fn *F, LLVMBasicBlockRef bb)
{
	LLVMPositionBuilderAtEnd(B, bb);
}

static LLVMValueRef tag(LLVMValueRef inst, Emit *e, LLVMValueRef tbaa)
{
	LLVMSetMetadata(inst, e->md_tbaa, tbaa);
	return inst;
}

/* Loads and stores through a byte offset from a pointer. */
static LLVMValueRef field_ptr(Fn *F, LLVMValueRef base, size_t off)
{
	LLVMValueRef idx = ci64(E, off);
	return LLVMBuildInBoundsGEP2(B, E->t_i8, base, &idx, 1, "");
}

static LLVMValueRef load_at(Fn *F, LLVMTypeRef t, LLVMValueRef base, size_t off,
			    LLVMValueRef tbaa)
{
	LLVMValueRef v = LLVMBuildLoad2(B, t, field_ptr(F, base, off), "");
	return tag(v, E, tbaa);
}

static void store_at(Fn *F, LLVMValueRef v, LLVMValueRef base, size_t off,
		     LLVMValueRef tbaa)
{
	tag(LLVMBuildStore(B, v, field_ptr(F, base, off)), E, tbaa);
}

static LLVMValueRef ex_load(Fn *F, LLVMTypeRef t, size_t off)
{
	return load_at(F, t, F->ex, off, E->tbaa_rt);
}

static void ex_store(Fn *F, LLVMValueRef v, size_t off)
{
	store_at(F, v, F->ex, off, E->tbaa_rt);
}

static LLVMValueRef cbr(Fn *F, LLVMValueRef cond, LLVMBasicBlockRef yes,
			LLVMBasicBlockRef no, bool yes_unlikely)
{
	LLVMValueRef br = LLVMBuildCondBr(B, cond, yes, no);
	if (yes_unlikely)
		LLVMSetMetadata(br, E->md_prof, E->unlikely);
	return br;
}

/* Slot values: i32 and f32 zero-extended to 64 bits, floats as bits. */
static LLVMValueRef to_slot(Fn *F, LLVMValueRef v, ValType t)
{
	switch (t) {
	case VT_I32:
		return LLVMBuildZExt(B, v, E->t_i64, "");
	case VT_F32:
		return LLVMBuildZExt(B, LLVMBuildBitCast(B, v, E->t_i32, ""),
				     E->t_i64, "");
	case VT_F64:
		return LLVMBuildBitCast(B, v, E->t_i64, "");
	default:
		return v;
	}
}

static LLVMValueRef from_slot(Fn *F, LLVMValueRef s, ValType t)
{
	switch (t) {
	case VT_I32:
		return LLVMBuildTrunc(B, s, E->t_i32, "");
	case VT_F32:
		return LLVMBuildBitCast(B, LLVMBuildTrunc(B, s, E->t_i32, ""),
					E->t_f32, "");
	case VT_F64:
		return LLVMBuildBitCast(B, s, E->t_f64, "");
	default:
		return s;
	}
}

static LLVMValueRef slot_ptr(Fn *F, LLVMValueRef base, uint64_t slot)
{
	LLVMValueRef idx = ci64(E, slot);
	return LLVMBuildInBoundsGEP2(B, E->t_i64, base, &idx, 1, "");
}

static LLVMValueRef frame_load(Fn *F, LLVMValueRef base, uint64_t slot,
			       ValType t)
{
	LLVMValueRef v =
		LLVMBuildLoad2(B, E->t_i64, slot_ptr(F, base, slot), "");
	return from_slot(F, tag(v, E, E->tbaa_frame), t);
}

static void frame_store(Fn *F, LLVMValueRef base, uint64_t slot, LLVMValueRef v,
			ValType t)
{
	tag(LLVMBuildStore(B, to_slot(F, v, t), slot_ptr(F, base, slot)), E,
	    E->tbaa_frame);
}

static uint32_t local_slot(const Fn *F, uint32_t i)
{
	return i < F->ft->nparams ? i : i + FRAME_HEADER;
}

static LLVMValueRef alloca_of(Fn *F, LLVMTypeRef t)
{
	return LLVMBuildAlloca(F->AB, t, "");
}

/* The stack alloca of height h for type t. */
static LLVMValueRef sa(Fn *F, uint32_t h, ValType t)
{
	if (h >= F->sa_cap) {
		uint32_t cap = MAX(h + 1, F->sa_cap * 2);
		void *n = xrealloc_array(F->sa, cap, sizeof *F->sa);
		if (!n) {
			fn_fail(F, "out of memory");
			return alloca_of(F, vtype(E, t));
		}
		F->sa = n;
		memset(F->sa + F->sa_cap, 0, (cap - F->sa_cap) * sizeof *F->sa);
		F->sa_cap = cap;
	}
	LLVMValueRef *p = &F->sa[h][vkind(t)];
	if (!*p)
		*p = alloca_of(F, vtype(E, t));
	return *p;
}

static LLVMValueRef sa_load(Fn *F, uint32_t h, ValType t)
{
	return LLVMBuildLoad2(B, vtype(E, t), sa(F, h, t), "");
}

static void sa_store(Fn *F, uint32_t h, ValType t, LLVMValueRef v)
{
	LLVMBuildStore(B, v, sa(F, h, t));
}

static bool push(Fn *F, LLVMValueRef v, ValType t)
{
	if (F->nstk == F->cap_stk) {
		uint32_t cap = F->cap_stk ? F->cap_stk * 2 : 32;
		SVal *n = xrealloc_array(F->stk, cap, sizeof *n);
		if (!n)
			return fn_fail(F, "out of memory");
		F->stk = n;
		F->cap_stk = cap;
	}
	F->stk[F->nstk++] = (SVal){.v = v, .t = t};
	return true;
}

/* The value at height h, loaded from its alloca if need be. */
static LLVMValueRef val_at(Fn *F, uint32_t h)
{
	SVal *s = &F->stk[h];
	if (!s->v)
		s->v = sa_load(F, h, s->t);
	return s->v;
}

static LLVMValueRef pop(Fn *F)
{
	if (F->nstk == 0) {
		fn_fail(F, "operand stack underflow");
		return LLVMGetUndef(E->t_i32);
	}
	LLVMValueRef v = val_at(F, F->nstk - 1);
	F->nstk--;
	return v;
}

static ValType top_type(const Fn *F)
{
	return F->nstk ? F->stk[F->nstk - 1].t : VT_I32;
}

/* Puts every stack value in its alloca: done before any control-flow
 * edge, so that the target finds the stack where it looks for it. */
static void flush(Fn *F)
{
	for (uint32_t i = 0; i < F->nstk; i++) {
		SVal *s = &F->stk[i];
		if (!s->in_sa) {
			sa_store(F, i, s->t, s->v);
			s->in_sa = true;
		}
	}
}

/* Loads the top n values here, where every branch taken from this block
 * finds them: a value first loaded inside one branch's block would not
 * dominate the others. */
static void materialize(Fn *F, uint32_t n)
{
	for (uint32_t i = 0; i < n && i < F->nstk; i++)
		val_at(F, F->nstk - 1 - i);
}

/* After a label: the values must be read from their allocas again. */
static void forget(Fn *F)
{
	for (uint32_t i = 0; i < F->nstk; i++)
		F->stk[i].v = NULL;
}

/* Stores stack values 0..n from their allocas into the frame. */
static void spill_stack(Fn *F, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		frame_store(F, F->fp, F->f->temp_base + i,
			    sa_load(F, i, F->stk[i].t), F->stk[i].t);
}

static LLVMValueRef cell_ptr(Fn *F, uint32_t k)
{
	return field_ptr(F, F->cells, (size_t)k * sizeof(Cell) * 3);
}

static LLVMValueRef fuel_now(Fn *F)
{
	return LLVMBuildLoad2(B, E->t_i64, F->fuel, "fuel");
}

/* Records where the run stops: this frame at resume cell k. */
static void set_stop(Fn *F, uint32_t k, LLVMValueRef why)
{
	ex_store(F, cell_ptr(F, k), offsetof(Exec, pc));
	LLVMValueRef stack = ex_load(F, E->t_ptr, offsetof(Exec, stack));
	LLVMValueRef off =
		LLVMBuildSub(B, LLVMBuildPtrToInt(B, F->fp, E->t_i64, ""),
			     LLVMBuildPtrToInt(B, stack, E->t_i64, ""), "");
	ex_store(F, LLVMBuildLShr(B, off, ci64(E, 3), ""),
		 offsetof(Exec, fp_off));
	ex_store(F, fuel_now(F), offsetof(Exec, fuel_left));
	ex_store(F, why, offsetof(Exec, unwind));
}

static LLVMValueRef ret_sent(Fn *F)
{
	LLVMValueRef sent = ci64(E, (uint64_t)NATIVE_UNWIND);
	if (F->ft->nresults != 1)
		return LLVMBuildRet(B, sent);
	LLVMTypeRef rt = ret_type(E, F->ft);
	LLVMValueRef v = LLVMBuildInsertValue(B, LLVMGetUndef(rt), sent, 0, "");
	return LLVMBuildRet(B, v);
}

static LLVMBasicBlockRef trap_block(Fn *F, myr_trap code)
{
	if (F->trap[code])
		return F->trap[code];
	LLVMBasicBlockRef cur = LLVMGetInsertBlock(B);
	LLVMBasicBlockRef bb = F->trap[code] = new_bb(F, "trap");
	at(F, bb);
	LLVMValueRef a[3] = {F->ex, ci32(E, code), ci32(E, F->fidx)};
	LLVMBuildCall2(B, E->helper_ty[H_trap], E->helper[H_trap], a, 3, "");
	ret_sent(F);
	at(F, cur);
	return bb;
}

/* Traps with `code` if cond holds; goes on in a new block. */
static void trap_if(Fn *F, LLVMValueRef cond, myr_trap code)
{
	LLVMBasicBlockRef ok = new_bb(F, "ok");
	cbr(F, cond, trap_block(F, code), ok, true);
	at(F, ok);
}

static void mem_reload(Fn *F)
{
	if (F->e->m->nmems == 0)
		return;
	LLVMValueRef mobj = ex_load(F, E->t_ptr, offsetof(Exec, mem));
	LLVMBuildStore(B,
		       load_at(F, E->t_ptr, mobj, offsetof(myr_memory, base),
			       E->tbaa_rt),
		       F->mem);
	LLVMBuildStore(B,
		       load_at(F, E->t_i64, mobj, offsetof(myr_memory, size),
			       E->tbaa_rt),
		       F->memsize);
}

/* A resume point: reloads stack values 0..n (types as the stack has them
 * now) from the frame and goes to `to`. */
static void add_resume(Fn *F, uint32_t k, uint32_t n, LLVMBasicBlockRef to)
{
	LLVMBasicBlockRef cur = LLVMGetInsertBlock(B);
	LLVMBasicBlockRef bb = new_bb(F, "resume");
	at(F, bb);
	for (uint32_t i = 0; i < n; i++)
		sa_store(
			F, i, F->stk[i].t,
			frame_load(F, F->fp, F->f->temp_base + i, F->stk[i].t));
	LLVMBuildBr(B, to);
	LLVMAddCase(F->sw, ci32(E, k), bb);
	at(F, cur);
}

/* The same after a call: values 0..h, then the call's results. */
static void add_resume_after(Fn *F, uint32_t k, uint32_t h, uint32_t nr,
			     const ValType *rt, LLVMBasicBlockRef to)
{
	LLVMBasicBlockRef cur = LLVMGetInsertBlock(B);
	LLVMBasicBlockRef bb = new_bb(F, "resume");
	at(F, bb);
	for (uint32_t i = 0; i < h + nr; i++) {
		ValType t = i < h ? F->stk[i].t : rt[i - h];
		sa_store(F, i, t, frame_load(F, F->fp, F->f->temp_base + i, t));
	}
	LLVMBuildBr(B, to);
	LLVMAddCase(F->sw, ci32(E, k), bb);
	at(F, cur);
}

static LLVMValueRef intrinsic(Fn *F, const char *name, LLVMTypeRef *types,
			      unsigned ntypes, LLVMTypeRef *fty)
{
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
	*fty = LLVMIntrinsicGetType(E->C, id, types, ntypes);
	return LLVMGetIntrinsicDeclaration(E->M, id, types, ntypes);
}

static LLVMValueRef call_intr(Fn *F, const char *name, LLVMTypeRef t,
			      LLVMValueRef *args, unsigned nargs)
{
	LLVMTypeRef fty;
	LLVMValueRef fn = intrinsic(F, name, &t, 1, &fty);
	return LLVMBuildCall2(B, fty, fn, args, nargs, "");
}

static LLVMValueRef call_helper(Fn *F, int h, LLVMValueRef *args)
{
	return LLVMBuildCall2(B, E->helper_ty[h], E->helper[h], args,
			      (unsigned)strlen(helper_sig[h].params), "");
}

/* ------------------------------------------------------------------ */
/* Labels and branches                                                 */

static Lbl *push_lbl(Fn *F, uint8_t kind, uint32_t np, const ValType *p,
		     uint32_t nr, const ValType *r, ValType single)
{
	if (F->nlbl == F->cap_lbl) {
		uint32_t cap = F->cap_lbl ? F->cap_lbl * 2 : 16;
		Lbl *n = xrealloc_array(F->lbl, cap, sizeof *n);
		if (!n) {
			fn_fail(F, "out of memory");
			return NULL;
		}
		F->lbl = n;
		F->cap_lbl = cap;
	}
	Lbl *l = &F->lbl[F->nlbl++];
	*l = (Lbl){.kind = kind,
		   .height = F->nstk - np,
		   .np = np,
		   .nr = nr,
		   .p = p,
		   .r = r,
		   .single = single};
	return l;
}

static uint32_t arity(const Lbl *l)
{
	return l->kind == L_LOOP ? l->np : l->nr;
}

static const ValType *label_types(const Lbl *l)
{
	/* (single is read through the label each time: the label stack
	 * moves when it grows) */
	if (l->kind == L_LOOP)
		return l->p;
	return l->r ? l->r : &l->single;
}

static LLVMBasicBlockRef end_block(Fn *F, Lbl *l)
{
	if (!l->target)
		l->target = new_bb(F, "end");
	return l->target;
}

static void emit_return(Fn *F)
{
	uint32_t nr = F->ft->nresults;
	const ValType *rt = ft_results(F->ft);
	if (F->nstk < nr) {
		fn_fail(F, "operand stack underflow at return");
		return;
	}
	uint32_t b = F->nstk - nr;
	LLVMValueRef fuel = fuel_now(F);
	if (nr == 0) {
		LLVMBuildRet(B, fuel);
	} else if (nr == 1) {
		LLVMValueRef v = LLVMBuildInsertValue(
			B, LLVMGetUndef(ret_type(E, F->ft)), fuel, 0, "");
		v = LLVMBuildInsertValue(B, v, val_at(F, b), 1, "");
		LLVMBuildRet(B, v);
	} else {
		for (uint32_t i = 0; i < nr; i++)
			frame_store(F, F->fp, i, val_at(F, b + i), rt[i]);
		LLVMBuildRet(B, fuel);
	}
}

/* A loop's back-edge: fuel is checked, and the loop's pause block taken
 * when it has run out (the values are in the loop's allocas by then). */
static void back_edge(Fn *F, Lbl *l)
{
	uint32_t cost = F->ops - l->op_start + 1;
#ifdef MYR_UNSAFE_NO_FUEL_CHECKS
	/* Measurement only: a loop that never pauses. */
	(void)cost;
	LLVMBuildBr(B, l->target);
	return;
#endif
	LLVMValueRef fuel = fuel_now(F);
	LLVMBasicBlockRef go = new_bb(F, "again");
	cbr(F, LLVMBuildICmp(B, LLVMIntSLE, fuel, ci64(E, 0), ""), l->pause, go,
	    true);
	at(F, go);
	LLVMBuildStore(B, LLVMBuildSub(B, fuel, ci64(E, cost), ""), F->fuel);
	LLVMBuildBr(B, l->target);
}

/* Branches to l with its values on top of the stack (which stays as it
 * is: the caller decides what follows). The stack below the label's
 * height must already be in its allocas. */
static void branch_to(Fn *F, Lbl *l)
{
	if (l->kind == L_FUNC) {
		emit_return(F);
		return;
	}
	uint32_t n = arity(l);
	const ValType *ty = label_types(l);
	if (F->nstk < n) {
		fn_fail(F, "operand stack underflow at a branch");
		return;
	}
	LLVMValueRef small[8];
	LLVMValueRef *v = n <= 8 ? small : xcalloc(n, sizeof *v);
	if (!v) {
		fn_fail(F, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		v[i] = val_at(F, F->nstk - n + i);
	for (uint32_t i = 0; i < n; i++)
		sa_store(F, l->height + i, ty[i], v[i]);
	if (v != small)
		free(v);
	if (l->kind == L_LOOP) {
		back_edge(F, l);
	} else {
		LLVMBuildBr(B, end_block(F, l));
		l->end_reached = true;
	}
}

static Lbl *label(Fn *F, uint32_t depth)
{
	if (depth >= F->nlbl) {
		fn_fail(F, "unknown label");
		return NULL;
	}
	return &F->lbl[F->nlbl - 1 - depth];
}

static void go_dead(Fn *F)
{
	F->dead = true;
	F->dead_depth = 0;
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */

typedef enum CallKind {
	CALL_DIRECT,   /* a function of this object: a direct call */
	CALL_DYNAMIC,  /* a defined function: its machine code if it has any */
	CALL_IMPORT,   /* through the imported function object */
	CALL_INDIRECT, /* through a table */
} CallKind;

/* The call of one site; the stack holds its arguments (and, for
 * call_indirect, the element index above them). */
typedef struct Site {
	CallKind kind;
	bool tail;
	const FuncType *ft;
	uint32_t fi;	/* function index (direct, dynamic, import) */
	uint32_t table; /* indirect */
	uint32_t type_idx;
	uint32_t h, base; /* stack height below the arguments; T + h */
	uint32_t k_after, k_before;
	LLVMValueRef *args;
	LLVMValueRef index; /* indirect */
	LLVMBasicBlockRef cont;
} Site;

static LLVMValueRef cell_for(Fn *F, uint32_t k)
{
	return cell_ptr(F, k);
}

/* The callee's results reach the continuation through their allocas. */
static void results_to_cont(Fn *F, Site *s, LLVMValueRef *res)
{
	for (uint32_t i = 0; i < s->ft->nresults; i++)
		sa_store(F, s->h + i, ft_results(s->ft)[i], res[i]);
	LLVMBuildBr(B, s->cont);
}

/* Native call of machine code `callee` (known, or loaded at run time)
 * whose frame needs `slots` slots. Ends in the continuation. */
static void native_call(Fn *F, Site *s, LLVMValueRef callee, LLVMValueRef slots)
{
	const FuncType *ft = s->ft;
	uint32_t n = ft->nparams, nr = ft->nresults;
	uint32_t base = s->tail ? 0 : s->base;
	LLVMValueRef cfp = slot_ptr(F, F->fp, base);
	/* Room for the callee's frame, or stop to grow the stack. */
	LLVMValueRef idx = slots;
	LLVMValueRef end = LLVMBuildInBoundsGEP2(B, E->t_i64, cfp, &idx, 1, "");
	LLVMValueRef lim = ex_load(F, E->t_ptr, offsetof(Exec, stack_end));
	LLVMBasicBlockRef grow = new_bb(F, "grow"), go = new_bb(F, "call");
	cbr(F, LLVMBuildICmp(B, LLVMIntUGT, end, lim, ""), grow, go, true);
	at(F, grow);
	spill_stack(F, s->h + n + (s->kind == CALL_INDIRECT));
	LLVMValueRef need = LLVMBuildAdd(
		B, LLVMBuildZExt(B, slots, E->t_i64, ""), ci64(E, base), "");
	LLVMValueRef a[6] = {F->ex,	  F->fp,
			     need,	  cell_for(F, s->k_before),
			     fuel_now(F), ci32(E, F->fidx)};
	call_helper(F, H_need_stack, a);
	LLVMBuildBr(B, F->spill);
	at(F, go);

	LLVMValueRef small[16];
	unsigned na = 4 + n;
	LLVMValueRef *args = na <= 16 ? small : xcalloc(na, sizeof *args);
	if (!args) {
		fn_fail(F, "out of memory");
		return;
	}
	args[0] = F->ex, args[1] = cfp, args[2] = fuel_now(F);
	args[3] = ci32(E, 0);
	memcpy(args + 4, s->args, n * sizeof *args);
	LLVMTypeRef fty = fast_type(E, ft);
	if (!s->tail) {
		LLVMValueRef hdr = slot_ptr(F, cfp, n);
		tag(LLVMBuildStore(B, cell_for(F, s->k_after), hdr), E,
		    E->tbaa_frame);
		tag(LLVMBuildStore(B, ci64(E, (uint64_t)base << 1),
				   slot_ptr(F, hdr, 1)),
		    E, E->tbaa_frame);
	}
	LLVMValueRef r = LLVMBuildCall2(B, fty, callee, args, na, "");
	LLVMSetInstructionCallConv(r, CC_TAIL);
	if (args != small)
		free(args);
	if (s->tail) {
		LLVMSetTailCallKind(r, LLVMTailCallKindMustTail);
		LLVMBuildRet(B, r);
		return;
	}
	LLVMValueRef rf = nr == 1 ? LLVMBuildExtractValue(B, r, 0, "") : r;
	LLVMBasicBlockRef unwind = new_bb(F, "unwind"), ok = new_bb(F, "ret");
	cbr(F,
	    LLVMBuildICmp(B, LLVMIntEQ, rf, ci64(E, (uint64_t)NATIVE_UNWIND),
			  ""),
	    unwind, ok, true);
	at(F, unwind);
	spill_stack(F, s->h);
	LLVMBuildBr(B, F->spill);
	at(F, ok);
	LLVMBuildStore(B, rf, F->fuel);
	LLVMValueRef resv[16];
	LLVMValueRef *res = nr <= 16 ? resv : xcalloc(nr, sizeof *res);
	if (!res) {
		fn_fail(F, "out of memory");
		return;
	}
	if (nr == 1)
		res[0] = LLVMBuildExtractValue(B, r, 1, "");
	else
		for (uint32_t i = 0; i < nr; i++)
			res[i] = frame_load(F, cfp, i, ft_results(ft)[i]);
	mem_reload(F);
	results_to_cont(F, s, res);
	if (res != resv)
		free(res);
}

/* A call made by the runtime (jit_rt.c): the arguments go to the frame,
 * the results come back there. `what` is the function object or the
 * defined function's index. */
static void helper_call(Fn *F, Site *s, LLVMValueRef fnobj, uint32_t def)
{
	const FuncType *ft = s->ft;
	uint32_t n = ft->nparams, nr = ft->nresults;
	for (uint32_t i = 0; i < n; i++)
		frame_store(F, F->fp, s->base + i, s->args[i],
			    ft_params(ft)[i]);
	/* A stop that makes the call again (a stack that must grow, a host
	 * call that blocks) resumes before the call_indirect: its table
	 * index must be in the frame too. */
	if (s->kind == CALL_INDIRECT)
		frame_store(F, F->fp, s->base + n, val_at(F, s->h + n), VT_I32);
	if (s->tail) {
		LLVMValueRef a[8] = {F->ex,
				     F->fp,
				     ci32(E, s->base),
				     ci32(E, F->ft->nparams),
				     fnobj ? fnobj : ci32(E, def),
				     cell_for(F, s->k_before),
				     fuel_now(F),
				     ci32(E, F->fidx)};
		LLVMValueRef r = call_helper(F, fnobj ? H_tail : H_tail_def, a);
		LLVMBasicBlockRef gone = new_bb(F, "gone"),
				  keep = new_bb(F, "keep"),
				  done = new_bb(F, "done");
		LLVMValueRef sw = LLVMBuildSwitch(B, r, done, 2);
		LLVMAddCase(sw, ci64(E, (uint64_t)NATIVE_UNWIND), gone);
		LLVMAddCase(sw, ci64(E, (uint64_t)NATIVE_UNWIND_KEEP), keep);
		at(F, gone);
		ret_sent(F);
		at(F, keep);
		spill_stack(F, s->h);
		LLVMBuildBr(B, F->spill);
		at(F, done);
		LLVMBuildStore(B, r, F->fuel);
		/* The results are at fp[0..): return them, from above the
		 * stack, whose entries below must stay as they are: code after
		 * an enclosing `end` finds them there. */
		uint32_t height = F->nstk;
		for (uint32_t i = 0; i < nr; i++)
			push(F, frame_load(F, F->fp, i, ft_results(ft)[i]),
			     ft_results(ft)[i]);
		emit_return(F);
		F->nstk = height;
		return;
	}
	LLVMValueRef a[8] = {F->ex,
			     F->fp,
			     ci32(E, s->base),
			     fnobj ? fnobj : ci32(E, def),
			     cell_for(F, s->k_after),
			     cell_for(F, s->k_before),
			     fuel_now(F),
			     ci32(E, F->fidx)};
	LLVMValueRef r = call_helper(F, fnobj ? H_call : H_call_def, a);
	LLVMBasicBlockRef unwind = new_bb(F, "unwind"), ok = new_bb(F, "ret");
	cbr(F,
	    LLVMBuildICmp(B, LLVMIntEQ, r, ci64(E, (uint64_t)NATIVE_UNWIND),
			  ""),
	    unwind, ok, true);
	at(F, unwind);
	spill_stack(F, s->h);
	LLVMBuildBr(B, F->spill);
	at(F, ok);
	LLVMBuildStore(B, r, F->fuel);
	LLVMValueRef resv[16];
	LLVMValueRef *res = nr <= 16 ? resv : xcalloc(nr, sizeof *res);
	if (!res) {
		fn_fail(F, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < nr; i++)
		res[i] = frame_load(F, F->fp, s->base + i, ft_results(ft)[i]);
	mem_reload(F);
	results_to_cont(F, s, res);
	if (res != resv)
		free(res);
}

/* Loads a pointer-sized field with acquire ordering (machine code
 * published by another thread). */
static LLVMValueRef load_acquire(Fn *F, LLVMValueRef base, size_t off)
{
	LLVMValueRef v = load_at(F, E->t_ptr, base, off, E->tbaa_rt);
	LLVMSetOrdering(v, LLVMAtomicOrderingAcquire);
	LLVMSetAlignment(v, 8);
	return v;
}

static LLVMValueRef funcs_base(Fn *F)
{
	LLVMValueRef inst = ex_load(F, E->t_ptr, offsetof(Exec, inst));
	LLVMValueRef mod = load_at(F, E->t_ptr, inst,
				   offsetof(myr_instance, mod), E->tbaa_rt);
	return load_at(F, E->t_ptr, mod, offsetof(Module, funcs), E->tbaa_rt);
}

/* The machine code of a function: native if it has some, else the
 * slow path through the runtime. */
static void call_maybe_native(Fn *F, Site *s, LLVMValueRef nat,
			      LLVMValueRef slots, LLVMValueRef fnobj,
			      uint32_t def)
{
	LLVMBasicBlockRef yes = new_bb(F, "native"), no = new_bb(F, "slow");
	LLVMBuildCondBr(B, LLVMBuildIsNotNull(B, nat, ""), yes, no);
	at(F, yes);
	native_call(F, s, nat, slots);
	at(F, no);
	helper_call(F, s, fnobj, def);
}

static bool emit_call(Fn *F, Site *s)
{
	const Module *m = E->m;
	const FuncType *ft = s->ft;
	uint32_t n = ft->nparams;
	uint32_t extra = s->kind == CALL_INDIRECT;
	if (F->nstk < n + extra)
		return fn_fail(F, "operand stack underflow at a call");
	s->h = F->nstk - n - extra;
	s->base = F->f->temp_base + s->h;
	uint32_t site = F->calls++;
	s->k_after = 1 + F->f->nloops + 2 * site;
	s->k_before = s->k_after + 1;
	flush(F);
	LLVMBasicBlockRef call_bb = new_bb(F, "site");
	LLVMBuildBr(B, call_bb);
	at(F, call_bb);
	forget(F);
	add_resume(F, s->k_before, F->nstk, call_bb);
	if (!s->tail) {
		s->cont = new_bb(F, "cont");
		add_resume_after(F, s->k_after, s->h, ft->nresults,
				 ft_results(ft), s->cont);
	}
	LLVMValueRef small[16];
	s->args = n <= 16 ? small : xcalloc(n, sizeof *s->args);
	if (!s->args)
		return fn_fail(F, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		s->args[i] = val_at(F, s->h + i);
	bool same_np = ft->nparams == F->ft->nparams;

	switch (s->kind) {
	case CALL_DIRECT: {
		const Func *cf = &m->funcs[s->fi - m->nfunc_imports];
		int32_t pos = E->pos_of[s->fi - m->nfunc_imports];
		if (s->tail && !same_np)
			helper_call(F, s, NULL, s->fi - m->nfunc_imports);
		else
			native_call(F, s, E->fast[pos],
				    ci64(E, cf->frame_slots));
		break;
	}
	case CALL_DYNAMIC: {
		uint32_t def = s->fi - m->nfunc_imports;
		const Func *cf = &m->funcs[def];
		if (s->tail && !same_np) {
			helper_call(F, s, NULL, def);
			break;
		}
		LLVMValueRef fs = funcs_base(F);
		LLVMValueRef nat = load_acquire(F, fs,
						(size_t)def * sizeof(Func) +
							offsetof(Func, native));
		call_maybe_native(F, s, nat, ci64(E, cf->frame_slots), NULL,
				  def);
		break;
	}
	case CALL_IMPORT: {
		LLVMValueRef imps =
			ex_load(F, E->t_ptr, offsetof(Exec, func_imps));
		LLVMValueRef fnobj = load_at(F, E->t_ptr, imps,
					     (size_t)s->fi * 8, E->tbaa_rt);
		helper_call(F, s, fnobj, 0);
		break;
	}
	case CALL_INDIRECT: {
		LLVMValueRef idx = val_at(F, s->h + n);
		LLVMValueRef tabs =
			ex_load(F, E->t_ptr, offsetof(Exec, tables));
		LLVMValueRef t = load_at(F, E->t_ptr, tabs,
					 (size_t)s->table * 8, E->tbaa_rt);
		LLVMValueRef size = load_at(
			F, E->t_i32, t, offsetof(myr_table, size), E->tbaa_tab);
		trap_if(F, LLVMBuildICmp(B, LLVMIntUGE, idx, size, ""),
			MYR_TRAP_UNDEFINED_ELEMENT);
		LLVMValueRef elems =
			load_at(F, E->t_ptr, t, offsetof(myr_table, elems),
				E->tbaa_tab);
		LLVMValueRef i64i = LLVMBuildZExt(B, idx, E->t_i64, "");
		LLVMValueRef fnobj = tag(
			LLVMBuildLoad2(B, E->t_ptr,
				       LLVMBuildInBoundsGEP2(B, E->t_i64, elems,
							     &i64i, 1, ""),
				       ""),
			E, E->tbaa_tab);
		trap_if(F, LLVMBuildIsNull(B, fnobj, ""),
			MYR_TRAP_UNINITIALIZED_ELEMENT);
		/* Signature ids are the engine's, known only at run time. */
		LLVMValueRef inst = ex_load(F, E->t_ptr, offsetof(Exec, inst));
		LLVMValueRef mod =
			load_at(F, E->t_ptr, inst, offsetof(myr_instance, mod),
				E->tbaa_rt);
		LLVMValueRef types = load_at(
			F, E->t_ptr, mod, offsetof(Module, types), E->tbaa_rt);
		LLVMValueRef want =
			load_at(F, E->t_i32, types,
				(size_t)s->type_idx * sizeof(FuncType) +
					offsetof(FuncType, canon),
				E->tbaa_rt);
		LLVMValueRef have =
			load_at(F, E->t_i32, fnobj, offsetof(myr_func, canon),
				E->tbaa_rt);
		trap_if(F, LLVMBuildICmp(B, LLVMIntNE, want, have, ""),
			MYR_TRAP_INDIRECT_TYPE_MISMATCH);
		if (s->tail && !same_np) {
			helper_call(F, s, fnobj, 0);
			break;
		}
		/* Machine code of this instance: call it directly. */
		LLVMValueRef kind =
			load_at(F, E->t_i8, fnobj, offsetof(myr_func, kind),
				E->tbaa_rt);
		LLVMValueRef finst =
			load_at(F, E->t_ptr, fnobj, offsetof(myr_func, inst),
				E->tbaa_rt);
		LLVMValueRef mine = LLVMBuildAnd(
			B,
			LLVMBuildICmp(B, LLVMIntEQ, kind,
				      LLVMConstInt(E->t_i8, FUNC_WASM, 0), ""),
			LLVMBuildICmp(B, LLVMIntEQ, finst, inst, ""), "");
		LLVMBasicBlockRef wasm = new_bb(F, "wasm"),
				  slow = new_bb(F, "slow");
		LLVMBuildCondBr(B, mine, wasm, slow);
		at(F, wasm);
		LLVMValueRef def = load_at(F, E->t_ptr, fnobj,
					   offsetof(myr_func, def), E->tbaa_rt);
		LLVMValueRef nat = load_acquire(F, def, offsetof(Func, native));
		LLVMValueRef slots = LLVMBuildZExt(
			B,
			load_at(F, E->t_i32, def, offsetof(Func, frame_slots),
				E->tbaa_rt),
			E->t_i64, "");
		call_maybe_native(F, s, nat, slots, fnobj, 0);
		at(F, slow);
		helper_call(F, s, fnobj, 0);
		break;
	}
	}
	if (s->args != small)
		free(s->args);
	/* The stack after the call: the results, in their allocas. */
	F->nstk = s->h;
	if (s->tail) {
		go_dead(F);
		return !F->fail;
	}
	at(F, s->cont);
	for (uint32_t i = 0; i < ft->nresults; i++) {
		push(F, NULL, ft_results(ft)[i]);
		F->stk[F->nstk - 1].in_sa = true;
	}
	forget(F);
	return !F->fail;
}

/* ------------------------------------------------------------------ */
/* Memory                                                              */

static bool memarg(Fn *F, uint32_t *offset)
{
	uint32_t align, memidx;
	if (!rd_u32(&F->r, &align))
		return false;
	if (align & 0x40) {
		if (!rd_u32(&F->r, &memidx) || memidx != 0)
			return fn_fail(F, "memory index");
	}
	return rd_u32(&F->r, offset);
}

/* The address of an access of `size` bytes at the popped address plus
 * offset, after the bounds check. */
static LLVMValueRef fast_address(Fn *F, uint32_t offset);

static LLVMValueRef address(Fn *F, uint32_t offset, unsigned size)
{
	if (F->fast) {
		LLVMValueRef p = fast_address(F, offset);
		if (p)
			return p;
	}
	/* address + offset + size > memsize, as address > memsize - (offset
	 * + size): the right side is loop-invariant, so an access costs one
	 * compare and branch. Both sides are below 2^63, so a signed compare
	 * is exact, and a memory smaller than offset + size makes the limit
	 * negative: every access traps, as it must. */
	LLVMValueRef a = LLVMBuildZExt(B, pop(F), E->t_i64, "");
	LLVMValueRef ms = LLVMBuildLoad2(B, E->t_i64, F->memsize, "");
	LLVMValueRef lim =
		LLVMBuildSub(B, ms, ci64(E, (uint64_t)offset + size), "");
#ifndef MYR_UNSAFE_NO_BOUNDS_CHECKS
	trap_if(F, LLVMBuildICmp(B, LLVMIntSGT, a, lim, ""),
		MYR_TRAP_MEMORY_OOB);
#else
	/* Measurement only (CMake MYR_UNSAFE_NO_BOUNDS_CHECKS): what the
	 * checks cost. An access out of bounds reaches whatever is mapped. */
	(void)lim;
#endif
	LLVMValueRef mem = LLVMBuildLoad2(B, E->t_ptr, F->mem, "");
	LLVMValueRef ea = LLVMBuildAdd(B, a, ci64(E, offset), "");
	return LLVMBuildGEP2(B, E->t_i8, mem, &ea, 1, "");
}

static void emit_load(Fn *F, uint32_t offset, ValType t, unsigned size,
		      bool sign)
{
	LLVMValueRef p = address(F, offset, size);
	LLVMTypeRef mt = LLVMIntTypeInContext(E->C, size * 8);
	if (t == VT_F32 || t == VT_F64)
		mt = vtype(E, t);
	LLVMValueRef v = LLVMBuildLoad2(B, mt, p, "");
	LLVMSetAlignment(v, 1);
	tag(v, E, E->tbaa_mem);
	if (t == VT_I32 || t == VT_I64) {
		LLVMTypeRef rt = vtype(E, t);
		if (size * 8 < LLVMGetIntTypeWidth(rt))
			v = sign ? LLVMBuildSExt(B, v, rt, "")
				 : LLVMBuildZExt(B, v, rt, "");
	}
	push(F, v, t);
}

static void emit_store(Fn *F, uint32_t offset, ValType t, unsigned size)
{
	LLVMValueRef v = pop(F);
	LLVMValueRef p = address(F, offset, size);
	if ((t == VT_I32 || t == VT_I64) &&
	    size * 8 < LLVMGetIntTypeWidth(vtype(E, t)))
		v = LLVMBuildTrunc(B, v, LLVMIntTypeInContext(E->C, size * 8),
				   "");
	LLVMValueRef st = LLVMBuildStore(B, v, p);
	LLVMSetAlignment(st, 1);
	tag(st, E, E->tbaa_mem);
}

/* ------------------------------------------------------------------ */
/* Numbers                                                             */

static LLVMValueRef bool_i32(Fn *F, LLVMValueRef c)
{
	return LLVMBuildZExt(B, c, E->t_i32, "");
}

static void icmp(Fn *F, LLVMIntPredicate p)
{
	LLVMValueRef b = pop(F), a = pop(F);
	push(F, bool_i32(F, LLVMBuildICmp(B, p, a, b, "")), VT_I32);
}

static void fcmp(Fn *F, LLVMRealPredicate p)
{
	LLVMValueRef b = pop(F), a = pop(F);
	push(F, bool_i32(F, LLVMBuildFCmp(B, p, a, b, "")), VT_I32);
}

/* Integer binary operations by their offset from i32.add / i64.add. */
static void int_binop(Fn *F, ValType t, unsigned op)
{
	LLVMTypeRef ty = vtype(E, t);
	unsigned bits = t == VT_I32 ? 32 : 64;
	LLVMValueRef b = pop(F), a = pop(F), r = NULL;
	LLVMValueRef zero = LLVMConstInt(ty, 0, 0);
	LLVMValueRef mask = LLVMConstInt(ty, bits - 1, 0);
	switch (op) {
	case 0:
		r = LLVMBuildAdd(B, a, b, "");
		break;
	case 1:
		r = LLVMBuildSub(B, a, b, "");
		break;
	case 2:
		r = LLVMBuildMul(B, a, b, "");
		break;
	case 3: /* div_s */
	case 5: /* rem_s */ {
		trap_if(F, LLVMBuildICmp(B, LLVMIntEQ, b, zero, ""),
			MYR_TRAP_DIV_BY_ZERO);
		LLVMValueRef minus1 = LLVMConstAllOnes(ty);
		LLVMValueRef ism1 = LLVMBuildICmp(B, LLVMIntEQ, b, minus1, "");
		if (op == 3) {
			LLVMValueRef min =
				LLVMConstInt(ty, (uint64_t)1 << (bits - 1), 0);
			trap_if(F,
				LLVMBuildAnd(
					B, ism1,
					LLVMBuildICmp(B, LLVMIntEQ, a, min, ""),
					""),
				MYR_TRAP_INT_OVERFLOW);
			r = LLVMBuildSDiv(B, a, b, "");
		} else {
			/* x rem -1 is 0, and srem of MIN by -1 is undefined
			 * in LLVM: divide by 1 instead. */
			LLVMValueRef d = LLVMBuildSelect(
				B, ism1, LLVMConstInt(ty, 1, 0), b, "");
			r = LLVMBuildSRem(B, a, d, "");
		}
		break;
	}
	case 4:
	case 6:
		trap_if(F, LLVMBuildICmp(B, LLVMIntEQ, b, zero, ""),
			MYR_TRAP_DIV_BY_ZERO);
		r = op == 4 ? LLVMBuildUDiv(B, a, b, "")
			    : LLVMBuildURem(B, a, b, "");
		break;
	case 7:
		r = LLVMBuildAnd(B, a, b, "");
		break;
	case 8:
		r = LLVMBuildOr(B, a, b, "");
		break;
	case 9:
		r = LLVMBuildXor(B, a, b, "");
		break;
	case 10:
		r = LLVMBuildShl(B, a, LLVMBuildAnd(B, b, mask, ""), "");
		break;
	case 11:
		r = LLVMBuildAShr(B, a, LLVMBuildAnd(B, b, mask, ""), "");
		break;
	case 12:
		r = LLVMBuildLShr(B, a, LLVMBuildAnd(B, b, mask, ""), "");
		break;
	case 13:
	case 14: {
		LLVMValueRef args[3] = {a, a, b};
		r = call_intr(F, op == 13 ? "llvm.fshl" : "llvm.fshr", ty, args,
			      3);
		break;
	}
	}
	push(F, r, t);
}

/* Wasm's float arithmetic never returns a signaling NaN, but LLVM may
 * fold an operation away (x - 0.0 to x, demote(promote x) to x) and pass
 * one through. Where an operand makes such a fold possible, the result
 * gets its quiet bit set if it is a NaN (x86's own instructions do that
 * everywhere else). Folds that only become possible after inlining are
 * not covered (docs/architecture.md, "NaN bits"). */
static LLVMValueRef quiet(Fn *F, LLVMValueRef v)
{
	LLVMTypeRef ft = LLVMTypeOf(v);
	bool f32 = ft == E->t_f32;
	LLVMTypeRef it = f32 ? E->t_i32 : E->t_i64;
	LLVMValueRef bits = LLVMBuildBitCast(B, v, it, "");
	LLVMValueRef q = LLVMBuildOr(
		B, bits, LLVMConstInt(it, f32 ? 0x00400000u : 1ull << 51, 0),
		"");
	LLVMValueRef nan = LLVMBuildFCmp(B, LLVMRealUNO, v, v, "");
	return LLVMBuildSelect(B, nan, LLVMBuildBitCast(B, q, ft, ""), v, "");
}

static bool foldable(LLVMValueRef v)
{
	return LLVMIsConstant(v) || LLVMIsAFPExtInst(v) ||
	       LLVMIsAFPTruncInst(v);
}

static void unary_intr(Fn *F, const char *name, ValType t)
{
	LLVMValueRef a = pop(F);
	LLVMValueRef r = call_intr(F, name, vtype(E, t), &a, 1);
	/* (fabs is a bit operation in wasm too, and keeps the payload) */
	bool fl = t == VT_F32 || t == VT_F64;
	push(F,
	     fl && foldable(a) && strcmp(name, "llvm.fabs") != 0 ? quiet(F, r)
								 : r,
	     t);
}

static void count_bits(Fn *F, const char *name, ValType t)
{
	LLVMValueRef args[2] = {pop(F), LLVMConstInt(E->t_i1, 0, 0)};
	push(F, call_intr(F, name, vtype(E, t), args, 2), t);
}

static void float_binop(Fn *F, ValType t, unsigned op)
{
	LLVMValueRef b = pop(F), a = pop(F), r = NULL;
	LLVMValueRef ab[2] = {a, b};
	switch (op) {
	case 0:
		r = LLVMBuildFAdd(B, a, b, "");
		break;
	case 1:
		r = LLVMBuildFSub(B, a, b, "");
		break;
	case 2:
		r = LLVMBuildFMul(B, a, b, "");
		break;
	case 3:
		r = LLVMBuildFDiv(B, a, b, "");
		break;
	case 4: /* wasm's min/max are IEEE 754-2019 minimum/maximum */
		r = call_intr(F, "llvm.minimum", vtype(E, t), ab, 2);
		break;
	case 5:
		r = call_intr(F, "llvm.maximum", vtype(E, t), ab, 2);
		break;
	case 6:
		r = call_intr(F, "llvm.copysign", vtype(E, t), ab, 2);
		break;
	}
	/* x86 has no instruction for IEEE minimum/maximum: LLVM's expansion
	 * returns a NaN operand as it is. */
	bool q = op == 4 || op == 5 || (op < 4 && (foldable(a) || foldable(b)));
	push(F, q ? quiet(F, r) : r, t);
}

static void float_unop(Fn *F, ValType t, unsigned op)
{
	static const char *const names[7] = {"llvm.fabs",  NULL,
					     "llvm.ceil",  "llvm.floor",
					     "llvm.trunc", "llvm.roundeven",
					     "llvm.sqrt"};
	if (op == 1) {
		push(F, LLVMBuildFNeg(B, pop(F), ""), t);
		return;
	}
	unary_intr(F, names[op], t);
}

/* Trapping float-to-int truncation: NaN is an invalid conversion, a
 * value outside (lo, hi) an overflow. */
static void trunc_trap(Fn *F, ValType from, ValType to, bool sign, double lo,
		       double hi)
{
	LLVMValueRef x = pop(F);
	LLVMTypeRef ft = vtype(E, from);
	trap_if(F, LLVMBuildFCmp(B, LLVMRealUNO, x, x, ""),
		MYR_TRAP_INVALID_CONVERSION);
	LLVMValueRef in = LLVMBuildAnd(
		B, LLVMBuildFCmp(B, LLVMRealOGT, x, LLVMConstReal(ft, lo), ""),
		LLVMBuildFCmp(B, LLVMRealOLT, x, LLVMConstReal(ft, hi), ""),
		"");
	trap_if(F, LLVMBuildNot(B, in, ""), MYR_TRAP_INT_OVERFLOW);
	LLVMTypeRef it = vtype(E, to);
	push(F,
	     sign ? LLVMBuildFPToSI(B, x, it, "")
		  : LLVMBuildFPToUI(B, x, it, ""),
	     to);
}

static void trunc_sat(Fn *F, ValType from, ValType to, bool sign)
{
	LLVMValueRef x = pop(F);
	LLVMTypeRef types[2] = {vtype(E, to), vtype(E, from)};
	const char *name = sign ? "llvm.fptosi.sat" : "llvm.fptoui.sat";
	LLVMTypeRef fty;
	LLVMValueRef fn = intrinsic(F, name, types, 2, &fty);
	push(F, LLVMBuildCall2(B, fty, fn, &x, 1, ""), to);
}

static void convert(Fn *F, ValType from, ValType to, bool sign)
{
	(void)from;
	LLVMValueRef a = pop(F);
	LLVMTypeRef t = vtype(E, to);
	push(F,
	     sign ? LLVMBuildSIToFP(B, a, t, "") : LLVMBuildUIToFP(B, a, t, ""),
	     to);
}

static void sext_from(Fn *F, ValType t, unsigned bits)
{
	LLVMValueRef a = pop(F);
	LLVMTypeRef nt = LLVMIntTypeInContext(E->C, bits);
	push(F, LLVMBuildSExt(B, LLVMBuildTrunc(B, a, nt, ""), vtype(E, t), ""),
	     t);
}

/* ------------------------------------------------------------------ */
/* Globals and tables                                                  */

static LLVMValueRef global_ptr(Fn *F, uint32_t g)
{
	const Module *m = E->m;
	if (g < m->nglobal_imports) {
		LLVMValueRef imps =
			ex_load(F, E->t_ptr, offsetof(Exec, global_imps));
		return load_at(F, E->t_ptr, imps, (size_t)g * 8, E->tbaa_rt);
	}
	LLVMValueRef gl = ex_load(F, E->t_ptr, offsetof(Exec, globals));
	return field_ptr(F, gl, (size_t)(g - m->nglobal_imports) * 8);
}

static LLVMValueRef table_obj(Fn *F, uint32_t t)
{
	LLVMValueRef tabs = ex_load(F, E->t_ptr, offsetof(Exec, tables));
	return load_at(F, E->t_ptr, tabs, (size_t)t * 8, E->tbaa_rt);
}

/* The slot of element i of table t, after the bounds check. */
static LLVMValueRef table_elem(Fn *F, uint32_t t, LLVMValueRef i)
{
	LLVMValueRef tab = table_obj(F, t);
	LLVMValueRef size = load_at(F, E->t_i32, tab, offsetof(myr_table, size),
				    E->tbaa_tab);
	trap_if(F, LLVMBuildICmp(B, LLVMIntUGE, i, size, ""),
		MYR_TRAP_TABLE_OOB);
	LLVMValueRef elems = load_at(F, E->t_ptr, tab,
				     offsetof(myr_table, elems), E->tbaa_tab);
	LLVMValueRef i64i = LLVMBuildZExt(B, i, E->t_i64, "");
	return LLVMBuildInBoundsGEP2(B, E->t_i64, elems, &i64i, 1, "");
}

/* A helper that returns nonzero after recording a trap. */
static void checked(Fn *F, LLVMValueRef rc)
{
	LLVMBasicBlockRef fail = new_bb(F, "failed"), ok = new_bb(F, "ok");
	cbr(F, LLVMBuildIsNotNull(B, rc, ""), fail, ok, true);
	at(F, fail);
	ret_sent(F);
	at(F, ok);
}

/* ------------------------------------------------------------------ */
/* The instruction loop                                                */

static bool blocktype(Fn *F, uint32_t *np, const ValType **p, uint32_t *nr,
		      const ValType **r, ValType *single)
{
	const Module *m = E->m;
	*np = *nr = 0;
	*p = *r = NULL;
	if (rd_left(&F->r) && F->r.p[0] == 0x40) {
		F->r.p++;
		return true;
	}
	if (rd_left(&F->r) && (F->r.p[0] & 0xC0) == 0x40) {
		*single = *F->r.p++;
		*nr = 1;
		return true;
	}
	int64_t idx;
	if (!rd_s33(&F->r, &idx) || idx < 0 || (uint64_t)idx >= m->ntypes)
		return fn_fail(F, "block type");
	const FuncType *t = &m->types[idx];
	*np = t->nparams;
	*p = ft_params(t);
	*nr = t->nresults;
	*r = ft_results(t);
	return true;
}

/* Skips the immediates of an instruction in unreachable code. */
static bool skip_immediates(Fn *F, uint8_t op)
{
	Reader *r = &F->r;
	uint32_t u, n;
	uint64_t u64;
	const uint8_t *bytes;
	switch (op) {
	case 0x0C:
	case 0x0D:
	case 0x10:
	case 0x12:
	case 0x20:
	case 0x21:
	case 0x22:
	case 0x23:
	case 0x24:
	case 0x25:
	case 0x26:
	case 0xD2:
		return rd_u32(r, &u);
	case 0x0E:
		if (!rd_u32(r, &n))
			return false;
		for (uint64_t i = 0; i <= n; i++)
			if (!rd_u32(r, &u))
				return false;
		return true;
	case 0x11:
	case 0x13:
		return rd_u32(r, &u) && rd_u32(r, &u);
	case 0x1C:
		if (!rd_u32(r, &n))
			return false;
		for (uint32_t i = 0; i < n; i++)
			if (!rd_u8(r, (uint8_t *)&u))
				return false;
		return true;
	case 0x3F:
	case 0x40:
	case 0xD0:
		return rd_u8(r, (uint8_t *)&u);
	case 0x41: {
		int32_t k;
		return rd_s32(r, &k);
	}
	case 0x42: {
		int64_t k;
		return rd_s64(r, &k);
	}
	case 0x43:
		return rd_bytes(r, 4, &bytes);
	case 0x44:
		return rd_bytes(r, 8, &bytes);
	case 0xFC:
		if (!rd_u32(r, &u))
			return false;
		switch (u) {
		case 8:
			return rd_u32(r, &n) && rd_u8(r, (uint8_t *)&n);
		case 9:
		case 13:
		case 15:
		case 16:
		case 17:
			return rd_u32(r, &n);
		case 10:
			return rd_u8(r, (uint8_t *)&n) &&
			       rd_u8(r, (uint8_t *)&n);
		case 11:
			return rd_u8(r, (uint8_t *)&n);
		case 12:
		case 14:
			return rd_u32(r, &n) && rd_u32(r, &n);
		default:
			return true;
		}
	default:
		if (op >= 0x28 && op <= 0x3E) {
			uint32_t align;
			if (!rd_u32(r, &align))
				return false;
			if ((align & 0x40) && !rd_u32(r, &u))
				return false;
			return rd_u64(r, &u64);
		}
		return true;
	}
}

/* ------------------------------------------------------------------ */
/* Fast loops                                                          */

/*
 * An innermost loop whose body is straight-line code ending in `br_if 0`
 * gets a second copy without fuel checks and without the bounds checks
 * of its affine accesses, entered when a check at the loop's head proves
 * them unneeded for the next K iterations. The proof is over a small
 * abstract interpretation of the body: every i32 value is m * S[b] + d
 * (S[b]: local b at the start of the iteration; wrapping arithmetic), a
 * local that ends each iteration as S[x] + step is an induction variable,
 * so such a value moves by a constant s per iteration; the loop's
 * condition compares one of them with a loop-invariant value, which
 * gives the number of iterations N left. K = min(N, fuel / cost): the
 * copy never runs longer than the fuel would have let the checked loop
 * run, so preemption stays as fine as before. Each affine access is in
 * bounds at its first and its K-th iteration, hence, being linear and
 * within [0, 2^32), at every one between, and its address is computed as
 * start + s * k in 64 bits: no wrap for LLVM to fear, one exit, a
 * countable trip, which is what its vectorizer needs.
 *
 * The check is made where the loop is entered and where a paused run
 * resumes it (so a loop paused every microsecond goes back to the fast
 * copy at every slice); a back-edge of the checked copy stays in it, so a
 * loop that the check refused (a trap ahead, an unknown count) pays
 * nothing more per iteration. Accesses whose address the analysis cannot
 * follow keep their bounds check in the fast copy too, and everything
 * else (traps of divisions, conversions) is emitted as usual, so both
 * copies do the same thing in the same order.
 */
/* FL_MIN_K: fewer iterations than this are left to the checked copy,
 * where checking the accesses would cost more than it saves (nbody's
 * loops over five bodies ran slower with a fast copy for every entry). */
enum { FL_MAX_STACK = 64, FL_MAX_OPS = 4096, FL_MAX_ACCS = 256, FL_MIN_K = 8 };
enum { LIN_UNK, LIN_AFF, LIN_CMP };
#define FL_NO_LOCAL UINT32_MAX

/* Comparison kinds (after putting the induction variable on the left). */
enum { FC_NE, FC_EQ, FC_LT, FC_LE, FC_GT, FC_GE };

typedef struct Lin {
	uint8_t kind;
	uint8_t cmp;	     /* LIN_CMP: FC_*, */
	bool sign;	     /* a signed comparison */
	uint32_t m, b, d;    /* LIN_AFF: m * S[b] + d */
	uint32_t m2, b2, d2; /* LIN_CMP: right side (left in m, b, d) */
} Lin;

typedef struct FastAcc {
	uint32_t m, b, d; /* the address at the start of the iteration */
	int32_t s;	  /* its step per iteration */
	uint32_t offset, size;
	bool affine;
	LLVMValueRef a0; /* at the head: the address at k = 0, 64 bits */
} FastAcc;

typedef struct FastLoop {
	uint32_t cost; /* fuel per iteration, as back_edge counts it */
	FastAcc *acc;
	uint32_t nacc, next;
	/* The condition: while x(k) CMP y, x(k) = x0 + s*k. */
	uint8_t cmp;
	bool sign;
	uint32_t xm, xb, xd, ym, yb, yd;
	int32_t s;
	LLVMValueRef k; /* the iteration in the fast copy */
} FastLoop;

static Lin lin_const(uint32_t d)
{
	return (Lin){.kind = LIN_AFF, .m = 0, .b = FL_NO_LOCAL, .d = d};
}

static Lin lin_add(Lin a, Lin b)
{
	if (a.kind != LIN_AFF || b.kind != LIN_AFF)
		return (Lin){.kind = LIN_UNK};
	if (a.m == 0 || a.b == FL_NO_LOCAL)
		return (Lin){
			.kind = LIN_AFF, .m = b.m, .b = b.b, .d = a.d + b.d};
	if (b.m == 0 || b.b == FL_NO_LOCAL)
		return (Lin){
			.kind = LIN_AFF, .m = a.m, .b = a.b, .d = a.d + b.d};
	if (a.b != b.b)
		return (Lin){.kind = LIN_UNK};
	uint32_t m = a.m + b.m;
	return (Lin){.kind = LIN_AFF,
		     .m = m,
		     .b = m ? a.b : FL_NO_LOCAL,
		     .d = a.d + b.d};
}

static Lin lin_scale(Lin a, uint32_t c)
{
	if (a.kind != LIN_AFF)
		return a;
	uint32_t m = a.m * c;
	return (Lin){.kind = LIN_AFF,
		     .m = m,
		     .b = m ? a.b : FL_NO_LOCAL,
		     .d = a.d * c};
}

static bool lin_is_const(Lin a)
{
	return a.kind == LIN_AFF && (a.m == 0 || a.b == FL_NO_LOCAL);
}

/* Numeric instructions 0x45..0xC4 with one operand (the rest have two). */
static bool numeric_unary(uint8_t op)
{
	return op == 0x45 || op == 0x50 || (op >= 0x67 && op <= 0x69) ||
	       (op >= 0x79 && op <= 0x7B) || (op >= 0x8B && op <= 0x91) ||
	       (op >= 0x99 && op <= 0x9F) || op >= 0xA7;
}

static uint8_t cmp_negate(uint8_t c)
{
	static const uint8_t neg[] = {
		[FC_NE] = FC_EQ, [FC_EQ] = FC_NE, [FC_LT] = FC_GE,
		[FC_LE] = FC_GT, [FC_GT] = FC_LE, [FC_GE] = FC_LT};
	return neg[c];
}

static uint8_t cmp_mirror(uint8_t c)
{
	static const uint8_t mir[] = {
		[FC_NE] = FC_NE, [FC_EQ] = FC_EQ, [FC_LT] = FC_GT,
		[FC_LE] = FC_GE, [FC_GT] = FC_LT, [FC_GE] = FC_LE};
	return mir[c];
}

/* The step per iteration of m * S[b] + d, or false if it has none (b is
 * written in the body but is not an induction variable). */
static bool lin_step(const bool *written, const Lin *end, uint32_t m,
		     uint32_t b, int32_t *s)
{
	if (m == 0 || b == FL_NO_LOCAL || !written[b]) {
		*s = 0;
		return true;
	}
	const Lin *e = &end[b];
	if (e->kind != LIN_AFF || e->m != 1 || e->b != b)
		return false;
	*s = (int32_t)(m * e->d);
	return true;
}

static bool op_one(Fn *F, uint8_t op, bool *done);

/* Reads the body of the loop that starts at F->r (after its block type)
 * and fills fl if it can have a fast copy. */
static bool fast_scan(Fn *F, FastLoop *fl)
{
	Reader r = F->r;
	r.err = NULL;
	Lin st[FL_MAX_STACK];
	uint32_t n = 0, ops = 0;
	bool ok = false;
	bool *written = xcalloc(F->nlocals, sizeof *written);
	Lin *val = xcalloc(F->nlocals, sizeof *val);
	FastAcc *acc = xcalloc(FL_MAX_ACCS, sizeof *acc);
	uint32_t nacc = 0;
	Lin cond = {.kind = LIN_UNK};
	if (!written || !val || !acc)
		goto out;
	for (;;) {
		uint8_t op;
		uint32_t u, idx;
		if (++ops > FL_MAX_OPS || !rd_u8(&r, &op))
			goto out;
		if (op == 0x0D) { /* br_if: only `br_if 0` then `end` */
			uint8_t next;
			if (!rd_u32(&r, &u) || u != 0 || n != 1 ||
			    !rd_u8(&r, &next) || next != 0x0B)
				goto out;
			cond = st[0];
			break;
		}
		if (op >= 0x28 && op <= 0x3E) {
			uint32_t align, offset;
			static const uint8_t size[23] = {4, 8, 4, 8, 1, 1, 2, 2,
							 1, 1, 2, 2, 4, 4, 4, 8,
							 4, 8, 1, 2, 1, 2, 4};
			if (!rd_u32(&r, &align) ||
			    ((align & 0x40) && (!rd_u32(&r, &idx) || idx)) ||
			    !rd_u32(&r, &offset) || nacc == FL_MAX_ACCS)
				goto out;
			bool store = op >= 0x36;
			if (n < 1u + store)
				goto out;
			Lin a = st[n - 1 - store];
			n -= 1u + store;
			acc[nacc++] = (FastAcc){.m = a.m,
						.b = a.b,
						.d = a.d,
						.offset = offset,
						.size = size[op - 0x28],
						.affine = a.kind == LIN_AFF};
			if (!store)
				st[n++] = (Lin){.kind = LIN_UNK};
			continue;
		}
		if (op >= 0x45 && op <= 0xC4) {
			bool unary = numeric_unary(op);
			if (n < 2u - unary)
				goto out;
			Lin b = st[n - 1], a = unary ? b : st[n - 2];
			Lin res = {.kind = LIN_UNK};
			n -= 2u - unary;
			if (op == 0x45 && a.kind == LIN_CMP) {
				res = a;
				res.cmp = cmp_negate(a.cmp);
			} else if (op == 0x45 && a.kind == LIN_AFF) {
				res = (Lin){.kind = LIN_CMP,
					    .cmp = FC_EQ,
					    .m = a.m,
					    .b = a.b,
					    .d = a.d,
					    .b2 = FL_NO_LOCAL};
			} else if (op >= 0x46 && op <= 0x4F &&
				   a.kind == LIN_AFF && b.kind == LIN_AFF) {
				static const uint8_t c[10] = {
					FC_EQ, FC_NE, FC_LT, FC_LT, FC_GT,
					FC_GT, FC_LE, FC_LE, FC_GE, FC_GE};
				res = (Lin){.kind = LIN_CMP,
					    .cmp = c[op - 0x46],
					    .sign = op >= 0x48 && !(op & 1),
					    .m = a.m,
					    .b = a.b,
					    .d = a.d,
					    .m2 = b.m,
					    .b2 = b.b,
					    .d2 = b.d};
			} else if (op == 0x6A) {
				res = lin_add(a, b);
			} else if (op == 0x6B) {
				res = lin_add(a, lin_scale(b, UINT32_MAX));
			} else if (op == 0x6C && lin_is_const(b)) {
				res = lin_scale(a, b.d);
			} else if (op == 0x6C && lin_is_const(a)) {
				res = lin_scale(b, a.d);
			} else if (op == 0x74 && lin_is_const(b)) {
				res = lin_scale(a, 1u << (b.d & 31));
			}
			st[n++] = res;
			continue;
		}
		switch (op) {
		case 0x01:
			continue;
		case 0x1A:
			if (!n)
				goto out;
			n--;
			continue;
		case 0x1C:
			if (!rd_u32(&r, &u) || u != 1 || !rd_u8(&r, &op))
				goto out;
			/* fall through */
		case 0x1B:
			if (n < 3)
				goto out;
			n -= 2;
			st[n - 1] = (Lin){.kind = LIN_UNK};
			continue;
		case 0x20:
		case 0x21:
		case 0x22:
			if (!rd_u32(&r, &idx) || idx >= F->nlocals)
				goto out;
			if (op == 0x20) {
				if (n == FL_MAX_STACK)
					goto out;
				st[n++] = written[idx] ? val[idx]
					  : F->ltype[idx] == VT_I32
						  ? (Lin){.kind = LIN_AFF,
							  .m = 1,
							  .b = idx}
						  : (Lin){.kind = LIN_UNK};
			} else {
				if (!n)
					goto out;
				written[idx] = true;
				val[idx] = st[n - 1];
				if (F->ltype[idx] != VT_I32)
					val[idx] = (Lin){.kind = LIN_UNK};
				if (op == 0x21)
					n--;
			}
			continue;
		case 0x23:
		case 0x24:
			if (!rd_u32(&r, &idx) || (op == 0x24 && !n) ||
			    (op == 0x23 && n == FL_MAX_STACK))
				goto out;
			if (op == 0x24)
				n--;
			else
				st[n++] = (Lin){.kind = LIN_UNK};
			continue;
		case 0x3F:
			if (!rd_u8(&r, &op) || n == FL_MAX_STACK)
				goto out;
			st[n++] = (Lin){.kind = LIN_UNK};
			continue;
		case 0x41: {
			int32_t k;
			if (!rd_s32(&r, &k) || n == FL_MAX_STACK)
				goto out;
			st[n++] = lin_const((uint32_t)k);
			continue;
		}
		case 0x42: {
			int64_t k;
			if (!rd_s64(&r, &k) || n == FL_MAX_STACK)
				goto out;
			st[n++] = (Lin){.kind = LIN_UNK};
			continue;
		}
		case 0x43:
		case 0x44: {
			const uint8_t *bytes;
			if (!rd_bytes(&r, op == 0x43 ? 4 : 8, &bytes) ||
			    n == FL_MAX_STACK)
				goto out;
			st[n++] = (Lin){.kind = LIN_UNK};
			continue;
		}
		case 0xFC: /* the saturating conversions only */
			if (!rd_u32(&r, &u) || u > 7 || !n)
				goto out;
			st[n - 1] = (Lin){.kind = LIN_UNK};
			continue;
		default:
			goto out; /* control flow, calls, tables, grow, ... */
		}
	}
	/* The condition: an induction variable against an invariant. */
	if (cond.kind == LIN_AFF)
		cond = (Lin){.kind = LIN_CMP,
			     .cmp = FC_NE,
			     .m = cond.m,
			     .b = cond.b,
			     .d = cond.d,
			     .b2 = FL_NO_LOCAL};
	if (cond.kind != LIN_CMP)
		goto out;
	int32_t sx, sy;
	if (!lin_step(written, val, cond.m, cond.b, &sx) ||
	    !lin_step(written, val, cond.m2, cond.b2, &sy) ||
	    (sx == 0) == (sy == 0))
		goto out;
	fl->cmp = cond.cmp;
	fl->sign = cond.sign;
	if (sx) {
		fl->xm = cond.m, fl->xb = cond.b, fl->xd = cond.d;
		fl->ym = cond.m2, fl->yb = cond.b2, fl->yd = cond.d2;
		fl->s = sx;
	} else {
		fl->xm = cond.m2, fl->xb = cond.b2, fl->xd = cond.d2;
		fl->ym = cond.m, fl->yb = cond.b, fl->yd = cond.d;
		fl->s = sy;
		fl->cmp = cmp_mirror(cond.cmp);
	}
	uint32_t us = (uint32_t)fl->s, neg = 0u - us;
	switch (fl->cmp) {
	case FC_NE: /* only steps of +-2^j: the count is then exact */
		if ((us & (us - 1)) && (neg & (neg - 1)))
			goto out;
		break;
	case FC_LT:
	case FC_LE:
		if (fl->s <= 0)
			goto out;
		break;
	case FC_GT:
	case FC_GE:
		if (fl->s >= 0)
			goto out;
		break;
	default:
		goto out;
	}
	for (uint32_t i = 0; i < nacc; i++)
		if (acc[i].affine &&
		    !lin_step(written, val, acc[i].m, acc[i].b, &acc[i].s))
			acc[i].affine = false;
	fl->cost = ops + 1; /* as back_edge counts: the body, br_if, 1 */
	fl->acc = acc;
	fl->nacc = nacc;
	acc = NULL;
	ok = true;
out:
	free(written);
	free(val);
	free(acc);
	return ok;
}

/* m * S[b] + d, from the locals as they are now (i32). */
static LLVMValueRef lin_value(Fn *F, uint32_t m, uint32_t b, uint32_t d)
{
	if (m == 0 || b == FL_NO_LOCAL)
		return ci32(E, d);
	LLVMValueRef v = LLVMBuildLoad2(B, E->t_i32, F->local[b], "");
	if (m != 1)
		v = LLVMBuildMul(B, v, ci32(E, m), "");
	if (d)
		v = LLVMBuildAdd(B, v, ci32(E, d), "");
	return v;
}

static LLVMValueRef nsw_add(Fn *F, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildNSWAdd(B, a, b, "");
}

/* At the loop's head: the iterations left, N (i64), and whether the
 * count is known. */
static LLVMValueRef fast_count(Fn *F, FastLoop *fl, LLVMValueRef *known)
{
	LLVMValueRef x0 = lin_value(F, fl->xm, fl->xb, fl->xd);
	LLVMValueRef y = lin_value(F, fl->ym, fl->yb, fl->yd);
	LLVMValueRef one = ci64(E, 1), kexit;
	if (fl->cmp == FC_NE) {
		/* x0 + s*k == y (mod 2^32) first at k = D / |s|, if |s|
		 * divides D = +-(y - x0). */
		uint32_t mag =
			fl->s > 0 ? (uint32_t)fl->s : 0u - (uint32_t)fl->s;
		LLVMValueRef d = fl->s > 0 ? LLVMBuildSub(B, y, x0, "")
					   : LLVMBuildSub(B, x0, y, "");
		d = LLVMBuildZExt(B, d, E->t_i64, "");
		*known = LLVMBuildICmp(B, LLVMIntEQ,
				       LLVMBuildAnd(B, d, ci64(E, mag - 1), ""),
				       ci64(E, 0), "");
		kexit = LLVMBuildLShr(
			B, d, ci64(E, (uint64_t)__builtin_ctz(mag)), "");
		return LLVMBuildAdd(B, kexit, one, "");
	}
	/* Ordered: make it "while x < y" (or <=) with x going up, in the
	 * unsigned domain: signed values move there by flipping the sign
	 * bit, a falling x against y by taking both's complement. */
	uint8_t c = fl->cmp;
	uint32_t s = (uint32_t)fl->s;
	if (fl->sign) {
		x0 = LLVMBuildXor(B, x0, ci32(E, 0x80000000u), "");
		y = LLVMBuildXor(B, y, ci32(E, 0x80000000u), "");
	}
	if (c == FC_GT || c == FC_GE) {
		x0 = LLVMBuildNot(B, x0, "");
		y = LLVMBuildNot(B, y, "");
		s = 0u - s;
		c = c == FC_GT ? FC_LT : FC_LE;
	}
	LLVMValueRef x64 = LLVMBuildZExt(B, x0, E->t_i64, "");
	LLVMValueRef y64 = LLVMBuildZExt(B, y, E->t_i64, "");
	if (c == FC_LE)
		y64 = LLVMBuildAdd(B, y64, one, "");
	/* The first k with x0 + s*k >= y: 0 if x0 >= y already. */
	LLVMValueRef below = LLVMBuildICmp(B, LLVMIntULT, x64, y64, "");
	LLVMValueRef gap = LLVMBuildSub(B, y64, x64, "");
	LLVMValueRef up = LLVMBuildUDiv(
		B, LLVMBuildAdd(B, gap, ci64(E, s - 1u), ""), ci64(E, s), "");
	kexit = LLVMBuildSelect(B, below, up, ci64(E, 0), "");
	/* ... and x must not wrap on the way there, or it goes on. */
	LLVMValueRef last = LLVMBuildAdd(
		B, x64, LLVMBuildMul(B, kexit, ci64(E, s), ""), "");
	*known = LLVMBuildICmp(B, LLVMIntULE, last, ci64(E, UINT32_MAX), "");
	return LLVMBuildAdd(B, kexit, one, "");
}

/* Emits the check at the loop's head (the current block), which goes to
 * the fast copy or to `slow`, then the fast copy itself: its body is read
 * from F->r a first time, which is then rewound for the checked copy. */
static void fast_loop(Fn *F, FastLoop *fl, Lbl *l, LLVMBasicBlockRef slow)
{
	LLVMValueRef known;
	LLVMValueRef n = fast_count(F, fl, &known);
	LLVMValueRef fuel = fuel_now(F);
	LLVMValueRef avail = LLVMBuildSelect(
		B, LLVMBuildICmp(B, LLVMIntSGT, fuel, ci64(E, 0), ""),
		LLVMBuildSDiv(B, fuel, ci64(E, fl->cost), ""), ci64(E, 0), "");
#ifdef MYR_UNSAFE_NO_FUEL_CHECKS
	avail = ci64(E, UINT64_MAX >> 1);
#endif
	LLVMValueRef k = LLVMBuildSelect(
		B, LLVMBuildICmp(B, LLVMIntULT, n, avail, ""), n, avail, "");
	LLVMValueRef enough = LLVMBuildAnd(
		B, known,
		LLVMBuildICmp(B, LLVMIntUGE, k, ci64(E, FL_MIN_K), ""), "");
	LLVMBasicBlockRef check = new_bb(F, "fast.check");
	LLVMBuildCondBr(B, enough, check, slow);
	at(F, check);
	LLVMValueRef go = LLVMConstInt(E->t_i1, 1, 0);
	LLVMValueRef last = LLVMBuildSub(B, k, ci64(E, 1), "");
	LLVMValueRef ms = LLVMBuildLoad2(B, E->t_i64, F->memsize, "");
	for (uint32_t i = 0; i < fl->nacc; i++) {
		FastAcc *a = &fl->acc[i];
		if (!a->affine)
			continue;
		a->a0 = LLVMBuildZExt(B, lin_value(F, a->m, a->b, a->d),
				      E->t_i64, "");
		LLVMValueRef an = nsw_add(
			F, a->a0,
			LLVMBuildNSWMul(B, last,
					ci64(E, (uint64_t)(int64_t)a->s), ""));
		LLVMValueRef lo = a->s < 0 ? an : a->a0,
			     hi = a->s < 0 ? a->a0 : an;
		LLVMValueRef lim = LLVMBuildSub(
			B, ms, ci64(E, (uint64_t)a->offset + a->size), "");
		go = LLVMBuildAnd(
			B, go, LLVMBuildICmp(B, LLVMIntSGE, lo, ci64(E, 0), ""),
			"");
		go = LLVMBuildAnd(
			B, go, LLVMBuildICmp(B, LLVMIntSLE, hi, lim, ""), "");
	}
#ifdef MYR_UNSAFE_NO_BOUNDS_CHECKS
	go = LLVMConstInt(E->t_i1, 1, 0); /* measurement only */
#endif
	LLVMBasicBlockRef pre = new_bb(F, "fast.pre"), body = new_bb(F, "fast"),
			  done = new_bb(F, "fast.done");
	l->fast_exit = new_bb(F, "fast.exit");
	LLVMBuildCondBr(B, go, pre, slow);

	at(F, pre);
	LLVMValueRef kv = alloca_of(F, E->t_i64);
	LLVMBuildStore(B, ci64(E, 0), kv);
	LLVMBuildStore(B,
		       LLVMBuildSub(B, fuel,
				    LLVMBuildMul(B, k, ci64(E, fl->cost), ""),
				    ""),
		       F->fuel);
	LLVMBuildBr(B, body);

	at(F, body);
	fl->k = LLVMBuildLoad2(B, E->t_i64, kv, "k");
	fl->next = 0;
	Reader saved = F->r;
	uint32_t ops = F->ops, height = F->nstk;
	F->fast = fl;
	for (;;) {
		uint8_t op;
		bool end = false;
		if (!rd_u8(&F->r, &op)) {
			fn_fail(F, "truncated body");
			break;
		}
		F->ops++;
		if (op == 0x0D) {
			uint32_t depth;
			if (rd_u32(&F->r, &depth))
				pop(F); /* known true until the last */
			break;
		}
		if (!op_one(F, op, &end) || F->fail || end) {
			fn_fail(F, "fast loop body");
			break;
		}
	}
	F->fast = NULL;
	if (F->nstk != height)
		fn_fail(F, "fast loop: stack height");
	LLVMValueRef k1 = LLVMBuildAdd(B, fl->k, ci64(E, 1), "");
	LLVMBuildStore(B, k1, kv);
	LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntULT, k1, k, ""), body, done);

	/* All N done: out of the loop; else (fuel) on in the checked copy. */
	at(F, done);
	LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, k, n, ""), l->fast_exit,
			slow);
	F->r = saved;
	F->ops = ops;
	forget(F);
}

/* In a fast copy: the address of an affine access without its check, or
 * NULL for one that keeps it. */
static LLVMValueRef fast_address(Fn *F, uint32_t offset)
{
	FastLoop *fl = F->fast;
	if (fl->next >= fl->nacc) {
		fn_fail(F, "fast loop: accesses");
		return NULL;
	}
	FastAcc *a = &fl->acc[fl->next++];
	if (!a->affine)
		return NULL;
	pop(F);
	LLVMValueRef addr =
		nsw_add(F, a->a0,
			LLVMBuildNSWMul(B, fl->k,
					ci64(E, (uint64_t)(int64_t)a->s), ""));
	LLVMValueRef ea = LLVMBuildNUWAdd(B, addr, ci64(E, offset), "");
	LLVMValueRef mem = LLVMBuildLoad2(B, E->t_ptr, F->mem, "");
	return LLVMBuildGEP2(B, E->t_i8, mem, &ea, 1, "");
}

static bool op_block(Fn *F, uint8_t kind)
{
	uint32_t np, nr;
	const ValType *p, *r;
	ValType single = 0;
	if (!blocktype(F, &np, &p, &nr, &r, &single))
		return false;
	if (F->dead) {
		if (kind == L_LOOP)
			F->loops++;
		F->dead_depth++;
		return true;
	}
	LLVMValueRef cond = kind == L_IF ? pop(F) : NULL;
	flush(F);
	Lbl *l = push_lbl(F, kind, np, p, nr, r, single);
	if (!l)
		return false;
	if (kind == L_LOOP) {
		uint32_t ord = F->loops++;
		FastLoop fl = {0};
		bool fast = np == 0 && nr == 0 && E->fast_loops &&
			    fast_scan(F, &fl);
		l->target = new_bb(F, "loop");
		/* With a fast copy, entering and resuming go to the check
		 * that chooses between the copies; back-edges stay. */
		LLVMBasicBlockRef head =
			fast ? new_bb(F, "loop.head") : l->target;
		LLVMBuildBr(B, head);
		/* Its pause block, then its resume point. */
		l->pause = new_bb(F, "pause");
		at(F, l->pause);
		spill_stack(F, F->nstk);
		set_stop(F, 1 + ord, LLVMConstInt(E->t_i8, RUN_OUT_OF_FUEL, 0));
		LLVMBuildBr(B, F->spill);
		at(F, head);
		add_resume(F, 1 + ord, F->nstk, head);
		if (fast) {
			fast_loop(F, &fl, l, l->target);
			free(fl.acc);
			at(F, l->target);
		}
		l->op_start = F->ops;
		forget(F);
	} else if (kind == L_IF) {
		LLVMBasicBlockRef then = new_bb(F, "then");
		l->else_bb = new_bb(F, "else");
		LLVMBuildCondBr(B, LLVMBuildIsNotNull(B, cond, ""), then,
				l->else_bb);
		at(F, then);
		forget(F);
	}
	return true;
}

static bool op_else(Fn *F)
{
	if (F->dead && F->dead_depth > 0)
		return true;
	Lbl *l = &F->lbl[F->nlbl - 1];
	if (l->kind != L_IF)
		return fn_fail(F, "else without if");
	if (!F->dead) {
		branch_to(F, l);
	}
	at(F, l->else_bb);
	l->else_bb = NULL;
	l->kind = L_ELSE;
	F->dead = false;
	F->nstk = l->height;
	for (uint32_t i = 0; i < l->np; i++) {
		push(F, NULL, l->p[i]);
		F->stk[F->nstk - 1].in_sa = true;
	}
	return true;
}

static bool op_end(Fn *F, bool *done)
{
	if (F->dead && F->dead_depth > 0) {
		F->dead_depth--;
		return true;
	}
	Lbl *l = &F->lbl[F->nlbl - 1];
	if (l->kind == L_FUNC) {
		if (!F->dead)
			emit_return(F);
		F->nlbl--;
		*done = true;
		return true;
	}
	if (l->kind == L_LOOP) {
		/* Reached by falling through only, and from a fast copy that
		 * ran the loop to its end. */
		if (l->fast_exit) {
			if (!F->dead) {
				flush(F);
				LLVMBuildBr(B, l->fast_exit);
			}
			at(F, l->fast_exit);
			F->dead = false;
			forget(F);
		}
		F->nlbl--;
		return true;
	}
	if (!F->dead)
		branch_to(F, l);
	if (l->kind == L_IF) {
		/* No else: the params are the results, already in place. */
		at(F, l->else_bb);
		LLVMBuildBr(B, end_block(F, l));
		l->end_reached = true;
	}
	uint32_t h = l->height, nr = l->nr;
	const ValType *rt = l->r ? l->r : &l->single;
	ValType rts[1] = {l->single};
	if (nr == 1 && rt == &l->single)
		rt = rts;
	bool reached = l->end_reached;
	LLVMBasicBlockRef end = l->target;
	F->nlbl--;
	F->nstk = h;
	if (!reached) {
		go_dead(F);
		return true;
	}
	at(F, end);
	F->dead = false;
	forget(F);
	for (uint32_t i = 0; i < nr; i++) {
		push(F, NULL, rt[i]);
		F->stk[F->nstk - 1].in_sa = true;
	}
	return true;
}

static bool op_br_table(Fn *F)
{
	uint32_t n;
	if (!rd_u32(&F->r, &n))
		return false;
	uint32_t *depth = xcalloc((size_t)n + 1, sizeof *depth);
	if (!depth)
		return fn_fail(F, "out of memory");
	for (uint32_t i = 0; i <= n; i++)
		if (!rd_u32(&F->r, &depth[i])) {
			free(depth);
			return false;
		}
	if (F->dead) {
		free(depth);
		return true;
	}
	LLVMValueRef idx = pop(F);
	flush(F);
	if (depth[n] < F->nlbl)
		materialize(F, arity(label(F, depth[n])));
	/* One block per distinct target. */
	LLVMBasicBlockRef *bb = xcalloc(F->nlbl, sizeof *bb);
	if (!bb) {
		free(depth);
		return fn_fail(F, "out of memory");
	}
	LLVMBasicBlockRef cur = LLVMGetInsertBlock(B);
	for (uint32_t i = 0; i <= n; i++) {
		uint32_t d = depth[i];
		if (d >= F->nlbl) {
			free(depth);
			free(bb);
			return fn_fail(F, "unknown label");
		}
		if (bb[d])
			continue;
		bb[d] = new_bb(F, "case");
		at(F, bb[d]);
		branch_to(F, label(F, d));
	}
	at(F, cur);
	LLVMValueRef sw = LLVMBuildSwitch(B, idx, bb[depth[n]], n);
	for (uint32_t i = 0; i < n; i++)
		LLVMAddCase(sw, ci32(E, i), bb[depth[i]]);
	free(depth);
	free(bb);
	go_dead(F);
	return true;
}

static bool op_fc(Fn *F)
{
	uint32_t sub, a, b;
	uint8_t z;
	if (!rd_u32(&F->r, &sub))
		return false;
	if (sub <= 7) {
		if (F->dead)
			return true;
		static const ValType from[8] = {VT_F32, VT_F32, VT_F64, VT_F64,
						VT_F32, VT_F32, VT_F64, VT_F64};
		trunc_sat(F, from[sub], sub < 4 ? VT_I32 : VT_I64, !(sub & 1));
		return true;
	}
	LLVMValueRef args[8];
	switch (sub) {
	case 8: /* memory.init */
		if (!rd_u32(&F->r, &a) || !rd_u8(&F->r, &z))
			return false;
		if (F->dead)
			return true;
		args[3] = pop(F), args[2] = pop(F), args[1] = pop(F);
		args[0] = F->ex, args[4] = ci32(E, a),
		args[5] = ci32(E, F->fidx);
		{
			LLVMValueRef t = args[1];
			args[1] = args[1];
			(void)t;
		}
		/* (d, s, n) are popped as n, s, d */
		{
			LLVMValueRef n_ = args[3], s_ = args[2], d_ = args[1];
			args[1] = d_, args[2] = s_, args[3] = n_;
		}
		checked(F, call_helper(F, H_memory_init, args));
		return true;
	case 9: /* data.drop */
		if (!rd_u32(&F->r, &a))
			return false;
		if (F->dead)
			return true;
		args[0] = F->ex, args[1] = ci32(E, a);
		call_helper(F, H_data_drop, args);
		return true;
	case 10: /* memory.copy */
	case 11: /* memory.fill */
		if (!rd_u8(&F->r, &z) || (sub == 10 && !rd_u8(&F->r, &z)))
			return false;
		if (F->dead)
			return true;
		args[3] = pop(F), args[2] = pop(F), args[1] = pop(F);
		args[0] = F->ex, args[4] = ci32(E, F->fidx);
		checked(F, call_helper(
				   F, sub == 10 ? H_memory_copy : H_memory_fill,
				   args));
		return true;
	case 12: /* table.init seg table */
		if (!rd_u32(&F->r, &a) || !rd_u32(&F->r, &b))
			return false;
		if (F->dead)
			return true;
		args[5] = pop(F), args[4] = pop(F), args[3] = pop(F);
		args[0] = F->ex, args[1] = ci32(E, b), args[2] = ci32(E, a);
		args[6] = ci32(E, F->fidx);
		checked(F, call_helper(F, H_table_init, args));
		return true;
	case 13: /* elem.drop */
		if (!rd_u32(&F->r, &a))
			return false;
		if (F->dead)
			return true;
		args[0] = F->ex, args[1] = ci32(E, a);
		call_helper(F, H_elem_drop, args);
		return true;
	case 14: /* table.copy dst src */
		if (!rd_u32(&F->r, &a) || !rd_u32(&F->r, &b))
			return false;
		if (F->dead)
			return true;
		args[5] = pop(F), args[4] = pop(F), args[3] = pop(F);
		args[0] = F->ex, args[1] = ci32(E, a), args[2] = ci32(E, b);
		args[6] = ci32(E, F->fidx);
		checked(F, call_helper(F, H_table_copy, args));
		return true;
	case 15: /* table.grow */
		if (!rd_u32(&F->r, &a))
			return false;
		if (F->dead)
			return true;
		args[3] = pop(F), args[2] = pop(F);
		args[0] = F->ex, args[1] = ci32(E, a);
		push(F, call_helper(F, H_table_grow, args), VT_I32);
		return true;
	case 16: /* table.size */
		if (!rd_u32(&F->r, &a))
			return false;
		if (F->dead)
			return true;
		push(F,
		     load_at(F, E->t_i32, table_obj(F, a),
			     offsetof(myr_table, size), E->tbaa_tab),
		     VT_I32);
		return true;
	case 17: /* table.fill */
		if (!rd_u32(&F->r, &a))
			return false;
		if (F->dead)
			return true;
		args[4] = pop(F), args[3] = pop(F), args[2] = pop(F);
		args[0] = F->ex, args[1] = ci32(E, a),
		args[5] = ci32(E, F->fidx);
		checked(F, call_helper(F, H_table_fill, args));
		return true;
	default:
		return fn_fail(F, "unknown 0xFC instruction");
	}
}

static bool op_local(Fn *F, uint8_t op)
{
	uint32_t i;
	if (!rd_u32(&F->r, &i))
		return false;
	if (F->dead)
		return true;
	if (i >= F->nlocals)
		return fn_fail(F, "unknown local");
	LLVMTypeRef t = vtype(E, F->ltype[i]);
	if (op == 0x20) {
		push(F, LLVMBuildLoad2(B, t, F->local[i], ""), F->ltype[i]);
	} else if (op == 0x21) {
		LLVMBuildStore(B, pop(F), F->local[i]);
	} else {
		LLVMBuildStore(B, val_at(F, F->nstk - 1), F->local[i]);
	}
	return true;
}

static bool op_global(Fn *F, uint8_t op)
{
	uint32_t g;
	if (!rd_u32(&F->r, &g))
		return false;
	if (F->dead)
		return true;
	if (g >= E->m->nglobals)
		return fn_fail(F, "unknown global");
	ValType t = E->m->global_types[g].type;
	LLVMValueRef p = global_ptr(F, g);
	if (op == 0x23) {
		LLVMValueRef v = tag(LLVMBuildLoad2(B, E->t_i64, p, ""), E,
				     E->tbaa_glob);
		push(F, from_slot(F, v, t), t);
	} else {
		tag(LLVMBuildStore(B, to_slot(F, pop(F), t), p), E,
		    E->tbaa_glob);
	}
	return true;
}

static bool op_call_op(Fn *F, uint8_t op)
{
	const Module *m = E->m;
	Site s = {.tail = op == 0x12 || op == 0x13};
	if (op == 0x10 || op == 0x12) {
		if (!rd_u32(&F->r, &s.fi))
			return false;
		if (F->dead)
			return true;
		if (s.fi >= m->nfuncs)
			return fn_fail(F, "unknown function");
		s.ft = module_func_type(m, s.fi);
		if (s.fi < m->nfunc_imports)
			s.kind = CALL_IMPORT;
		else
			s.kind = E->pos_of[s.fi - m->nfunc_imports] >= 0
					 ? CALL_DIRECT
					 : CALL_DYNAMIC;
	} else {
		if (!rd_u32(&F->r, &s.type_idx) || !rd_u32(&F->r, &s.table))
			return false;
		if (F->dead)
			return true;
		if (s.type_idx >= m->ntypes || s.table >= m->ntables)
			return fn_fail(F, "call_indirect immediates");
		s.ft = &m->types[s.type_idx];
		s.kind = CALL_INDIRECT;
	}
	return emit_call(F, &s);
}

static bool op_numeric(Fn *F, uint8_t op)
{
	static const LLVMIntPredicate icmps[10] = {
		LLVMIntEQ,  LLVMIntNE,	LLVMIntSLT, LLVMIntULT, LLVMIntSGT,
		LLVMIntUGT, LLVMIntSLE, LLVMIntULE, LLVMIntSGE, LLVMIntUGE};
	static const LLVMRealPredicate fcmps[6] = {LLVMRealOEQ, LLVMRealUNE,
						   LLVMRealOLT, LLVMRealOGT,
						   LLVMRealOLE, LLVMRealOGE};
	if (op == 0x45 || op == 0x50) {
		LLVMValueRef a = pop(F);
		LLVMValueRef z = LLVMConstInt(LLVMTypeOf(a), 0, 0);
		push(F, bool_i32(F, LLVMBuildICmp(B, LLVMIntEQ, a, z, "")),
		     VT_I32);
		return true;
	}
	if (op >= 0x46 && op <= 0x4F) {
		icmp(F, icmps[op - 0x46]);
		return true;
	}
	if (op >= 0x51 && op <= 0x5A) {
		icmp(F, icmps[op - 0x51]);
		return true;
	}
	if (op >= 0x5B && op <= 0x60) {
		fcmp(F, fcmps[op - 0x5B]);
		return true;
	}
	if (op >= 0x61 && op <= 0x66) {
		fcmp(F, fcmps[op - 0x61]);
		return true;
	}
	if (op >= 0x6A && op <= 0x78) {
		int_binop(F, VT_I32, op - 0x6A);
		return true;
	}
	if (op >= 0x7C && op <= 0x8A) {
		int_binop(F, VT_I64, op - 0x7C);
		return true;
	}
	if (op >= 0x8B && op <= 0x91) {
		float_unop(F, VT_F32, op - 0x8B);
		return true;
	}
	if (op >= 0x92 && op <= 0x98) {
		float_binop(F, VT_F32, op - 0x92);
		return true;
	}
	if (op >= 0x99 && op <= 0x9F) {
		float_unop(F, VT_F64, op - 0x99);
		return true;
	}
	if (op >= 0xA0 && op <= 0xA6) {
		float_binop(F, VT_F64, op - 0xA0);
		return true;
	}
	LLVMValueRef a;
	switch (op) {
	case 0x67:
		count_bits(F, "llvm.ctlz", VT_I32);
		return true;
	case 0x68:
		count_bits(F, "llvm.cttz", VT_I32);
		return true;
	case 0x69:
		unary_intr(F, "llvm.ctpop", VT_I32);
		return true;
	case 0x79:
		count_bits(F, "llvm.ctlz", VT_I64);
		return true;
	case 0x7A:
		count_bits(F, "llvm.cttz", VT_I64);
		return true;
	case 0x7B:
		unary_intr(F, "llvm.ctpop", VT_I64);
		return true;
	case 0xA7:
		push(F, LLVMBuildTrunc(B, pop(F), E->t_i32, ""), VT_I32);
		return true;
	case 0xA8:
		trunc_trap(F, VT_F32, VT_I32, true, -2147483904.0,
			   2147483648.0);
		return true;
	case 0xA9:
		trunc_trap(F, VT_F32, VT_I32, false, -1.0, 4294967296.0);
		return true;
	case 0xAA:
		trunc_trap(F, VT_F64, VT_I32, true, -2147483649.0,
			   2147483648.0);
		return true;
	case 0xAB:
		trunc_trap(F, VT_F64, VT_I32, false, -1.0, 4294967296.0);
		return true;
	case 0xAC:
		push(F, LLVMBuildSExt(B, pop(F), E->t_i64, ""), VT_I64);
		return true;
	case 0xAD:
		push(F, LLVMBuildZExt(B, pop(F), E->t_i64, ""), VT_I64);
		return true;
	case 0xAE:
		trunc_trap(F, VT_F32, VT_I64, true, -9223373136366403584.0,
			   9223372036854775808.0);
		return true;
	case 0xAF:
		trunc_trap(F, VT_F32, VT_I64, false, -1.0,
			   18446744073709551616.0);
		return true;
	case 0xB0:
		trunc_trap(F, VT_F64, VT_I64, true, -9223372036854777856.0,
			   9223372036854775808.0);
		return true;
	case 0xB1:
		trunc_trap(F, VT_F64, VT_I64, false, -1.0,
			   18446744073709551616.0);
		return true;
	case 0xB2:
	case 0xB3:
		convert(F, VT_I32, VT_F32, op == 0xB2);
		return true;
	case 0xB4:
	case 0xB5:
		convert(F, VT_I64, VT_F32, op == 0xB4);
		return true;
	case 0xB6: {
		LLVMValueRef a = pop(F);
		LLVMValueRef r = LLVMBuildFPTrunc(B, a, E->t_f32, "");
		push(F, foldable(a) ? quiet(F, r) : r, VT_F32);
	}
		return true;
	case 0xB7:
	case 0xB8:
		convert(F, VT_I32, VT_F64, op == 0xB7);
		return true;
	case 0xB9:
	case 0xBA:
		convert(F, VT_I64, VT_F64, op == 0xB9);
		return true;
	case 0xBB: {
		LLVMValueRef a = pop(F);
		LLVMValueRef r = LLVMBuildFPExt(B, a, E->t_f64, "");
		push(F, foldable(a) ? quiet(F, r) : r, VT_F64);
	}
		return true;
	case 0xBC:
		push(F, LLVMBuildBitCast(B, pop(F), E->t_i32, ""), VT_I32);
		return true;
	case 0xBD:
		push(F, LLVMBuildBitCast(B, pop(F), E->t_i64, ""), VT_I64);
		return true;
	case 0xBE:
		push(F, LLVMBuildBitCast(B, pop(F), E->t_f32, ""), VT_F32);
		return true;
	case 0xBF:
		push(F, LLVMBuildBitCast(B, pop(F), E->t_f64, ""), VT_F64);
		return true;
	case 0xC0:
		sext_from(F, VT_I32, 8);
		return true;
	case 0xC1:
		sext_from(F, VT_I32, 16);
		return true;
	case 0xC2:
		sext_from(F, VT_I64, 8);
		return true;
	case 0xC3:
		sext_from(F, VT_I64, 16);
		return true;
	case 0xC4:
		sext_from(F, VT_I64, 32);
		return true;
	default:
		(void)a;
		return fn_fail(F, "unknown instruction");
	}
}

/* Loads and stores: opcode 0x28.. gives the type, size and sign. */
static bool op_memory(Fn *F, uint8_t op)
{
	static const struct {
		ValType t;
		uint8_t size;
		bool sign, store;
	} mo[23] = {{VT_I32, 4, 0, 0}, {VT_I64, 8, 0, 0}, {VT_F32, 4, 0, 0},
		    {VT_F64, 8, 0, 0}, {VT_I32, 1, 1, 0}, {VT_I32, 1, 0, 0},
		    {VT_I32, 2, 1, 0}, {VT_I32, 2, 0, 0}, {VT_I64, 1, 1, 0},
		    {VT_I64, 1, 0, 0}, {VT_I64, 2, 1, 0}, {VT_I64, 2, 0, 0},
		    {VT_I64, 4, 1, 0}, {VT_I64, 4, 0, 0}, {VT_I32, 4, 0, 1},
		    {VT_I64, 8, 0, 1}, {VT_F32, 4, 0, 1}, {VT_F64, 8, 0, 1},
		    {VT_I32, 1, 0, 1}, {VT_I32, 2, 0, 1}, {VT_I64, 1, 0, 1},
		    {VT_I64, 2, 0, 1}, {VT_I64, 4, 0, 1}};
	uint32_t offset;
	if (!memarg(F, &offset))
		return false;
	if (F->dead)
		return true;
	unsigned i = op - 0x28;
	if (mo[i].store)
		emit_store(F, offset, mo[i].t, mo[i].size);
	else
		emit_load(F, offset, mo[i].t, mo[i].size, mo[i].sign);
	return true;
}

static bool op_one(Fn *F, uint8_t op, bool *done)
{
	Reader *r = &F->r;
	switch (op) {
	case 0x02:
		return op_block(F, L_BLOCK);
	case 0x03:
		return op_block(F, L_LOOP);
	case 0x04:
		return op_block(F, L_IF);
	case 0x05:
		return op_else(F);
	case 0x0B:
		return op_end(F, done);
	default:
		break;
	}
	if (F->dead)
		return skip_immediates(F, op);
	switch (op) {
	case 0x00:
		LLVMBuildBr(B, trap_block(F, MYR_TRAP_UNREACHABLE));
		go_dead(F);
		return true;
	case 0x01:
		return true;
	case 0x0C: {
		uint32_t d;
		if (!rd_u32(r, &d))
			return false;
		Lbl *l = label(F, d);
		if (!l)
			return false;
		flush(F);
		branch_to(F, l);
		go_dead(F);
		return true;
	}
	case 0x0D: {
		uint32_t d;
		if (!rd_u32(r, &d))
			return false;
		Lbl *l = label(F, d);
		if (!l)
			return false;
		LLVMValueRef c = pop(F);
		flush(F);
		materialize(F, arity(l));
		LLVMBasicBlockRef yes = new_bb(F, "br_if"),
				  no = new_bb(F, "no");
		LLVMBuildCondBr(B, LLVMBuildIsNotNull(B, c, ""), yes, no);
		at(F, yes);
		branch_to(F, l);
		at(F, no);
		return true;
	}
	case 0x0E:
		return op_br_table(F);
	case 0x0F:
		emit_return(F);
		go_dead(F);
		return true;
	case 0x10:
	case 0x11:
	case 0x12:
	case 0x13:
		return op_call_op(F, op);
	case 0x1A:
		pop(F);
		return true;
	case 0x1B:
	case 0x1C: {
		if (op == 0x1C) {
			uint32_t n;
			uint8_t t;
			if (!rd_u32(r, &n))
				return false;
			for (uint32_t i = 0; i < n; i++)
				if (!rd_u8(r, &t))
					return false;
		}
		LLVMValueRef c = pop(F);
		ValType t = top_type(F);
		LLVMValueRef b = pop(F), a = pop(F);
		push(F,
		     LLVMBuildSelect(B, LLVMBuildIsNotNull(B, c, ""), a, b, ""),
		     t);
		return true;
	}
	case 0x20:
	case 0x21:
	case 0x22:
		return op_local(F, op);
	case 0x23:
	case 0x24:
		return op_global(F, op);
	case 0x25: { /* table.get */
		uint32_t t;
		if (!rd_u32(r, &t))
			return false;
		LLVMValueRef p = table_elem(F, t, pop(F));
		push(F, tag(LLVMBuildLoad2(B, E->t_i64, p, ""), E, E->tbaa_tab),
		     E->m->tables[t].elem);
		return true;
	}
	case 0x26: { /* table.set */
		uint32_t t;
		if (!rd_u32(r, &t))
			return false;
		LLVMValueRef v = pop(F);
		LLVMValueRef p = table_elem(F, t, pop(F));
		tag(LLVMBuildStore(B, v, p), E, E->tbaa_tab);
		return true;
	}
	case 0x3F: { /* memory.size */
		uint8_t z;
		if (!rd_u8(r, &z))
			return false;
		LLVMValueRef ms = LLVMBuildLoad2(B, E->t_i64, F->memsize, "");
		ms = LLVMBuildLShr(B, ms, ci64(E, E->m->mems[0].page_log2), "");
		push(F, LLVMBuildTrunc(B, ms, E->t_i32, ""), VT_I32);
		return true;
	}
	case 0x40: { /* memory.grow */
		uint8_t z;
		if (!rd_u8(r, &z))
			return false;
		LLVMValueRef a[2] = {F->ex, pop(F)};
		push(F, call_helper(F, H_memory_grow, a), VT_I32);
		mem_reload(F);
		return true;
	}
	case 0x41: {
		int32_t k;
		if (!rd_s32(r, &k))
			return false;
		push(F, ci32(E, (uint32_t)k), VT_I32);
		return true;
	}
	case 0x42: {
		int64_t k;
		if (!rd_s64(r, &k))
			return false;
		push(F, ci64(E, (uint64_t)k), VT_I64);
		return true;
	}
	case 0x43: {
		uint32_t bits;
		if (!rd_f32(r, &bits))
			return false;
		push(F, LLVMConstBitCast(ci32(E, bits), E->t_f32), VT_F32);
		return true;
	}
	case 0x44: {
		uint64_t bits;
		if (!rd_f64(r, &bits))
			return false;
		push(F, LLVMConstBitCast(ci64(E, bits), E->t_f64), VT_F64);
		return true;
	}
	case 0xD0: {
		uint8_t t;
		if (!rd_u8(r, &t))
			return false;
		push(F, ci64(E, 0), t);
		return true;
	}
	case 0xD1: {
		LLVMValueRef a = pop(F);
		push(F, bool_i32(F, LLVMBuildIsNull(B, a, "")), VT_I32);
		return true;
	}
	case 0xD2: {
		uint32_t fi;
		if (!rd_u32(r, &fi))
			return false;
		LLVMValueRef a[2] = {F->ex, ci32(E, fi)};
		push(F, call_helper(F, H_ref_func, a), VT_FUNCREF);
		return true;
	}
	case 0xFC:
		return op_fc(F);
	default:
		if (op >= 0x28 && op <= 0x3E)
			return op_memory(F, op);
		return op_numeric(F, op);
	}
}

/* The function's prologue: the resume switch, parameters and locals,
 * the entry's fuel and native stack checks, and the shared spill block. */
static void prologue(Fn *F)
{
	const Func *f = F->f;
	uint32_t np = F->ft->nparams;
	F->entry = new_bb(F, "entry");
	F->AB = LLVMCreateBuilderInContext(E->C);
	LLVMPositionBuilderAtEnd(F->AB, F->entry);
	at(F, F->entry);
	F->fuel = alloca_of(F, E->t_i64);
	F->mem = alloca_of(F, E->t_ptr);
	F->memsize = alloca_of(F, E->t_i64);
	for (uint32_t i = 0; i < F->nlocals; i++)
		F->local[i] = alloca_of(F, vtype(E, F->ltype[i]));
	LLVMValueRef fuel = LLVMGetParam(F->fn, 2);
	LLVMValueRef resume = LLVMGetParam(F->fn, 3);
	LLVMBuildStore(B, fuel, F->fuel);
	LLVMBasicBlockRef start = new_bb(F, "start"),
			  restore = new_bb(F, "restore");
	F->spill = new_bb(F, "spill");
	/* The entry block keeps only allocas and this branch, so allocas
	 * added later still come first. */
	LLVMValueRef br =
		cbr(F, LLVMBuildICmp(B, LLVMIntNE, resume, ci32(E, 0), ""),
		    restore, start, true);
	LLVMPositionBuilderBefore(F->AB, br);

	at(F, restore);
	for (uint32_t i = 0; i < F->nlocals; i++)
		LLVMBuildStore(
			B, frame_load(F, F->fp, local_slot(F, i), F->ltype[i]),
			F->local[i]);
	mem_reload(F);
	F->sw = LLVMBuildSwitch(B, resume, trap_block(F, MYR_TRAP_UNREACHABLE),
				8);

	at(F, F->spill);
	for (uint32_t i = 0; i < F->nlocals; i++)
		frame_store(F, F->fp, local_slot(F, i),
			    LLVMBuildLoad2(B, vtype(E, F->ltype[i]),
					   F->local[i], ""),
			    F->ltype[i]);
	ret_sent(F);

	at(F, start);
	for (uint32_t i = 0; i < F->nlocals; i++) {
		LLVMValueRef v = i < np ? LLVMGetParam(F->fn, 4 + i)
					: LLVMConstNull(vtype(E, F->ltype[i]));
		LLVMBuildStore(B, v, F->local[i]);
	}
	/* Out of fuel, or too deep on the machine stack: stop before the
	 * first instruction (resume cell 0 starts the call again). */
	LLVMTypeRef fty;
	LLVMValueRef rr =
		intrinsic(F, "llvm.read_register", &E->t_i64, 1, &fty);
	LLVMValueRef sp = LLVMBuildCall2(B, fty, rr, &E->rsp_md, 1, "");
	LLVMValueRef lim = ex_load(F, E->t_i64, offsetof(Exec, native_limit));
	LLVMValueRef no_fuel =
		LLVMBuildICmp(B, LLVMIntSLE, fuel, ci64(E, 0), "");
#ifdef MYR_UNSAFE_NO_FUEL_CHECKS
	no_fuel = LLVMConstInt(E->t_i1, 0, 0);
#endif
	LLVMValueRef deep = LLVMBuildICmp(B, LLVMIntULT, sp, lim, "");
	LLVMBasicBlockRef stop = new_bb(F, "stop"), body = new_bb(F, "body");
	cbr(F, LLVMBuildOr(B, no_fuel, deep, ""), stop, body, true);
	at(F, stop);
	set_stop(F, 0,
		 LLVMBuildSelect(B, no_fuel,
				 LLVMConstInt(E->t_i8, RUN_OUT_OF_FUEL, 0),
				 LLVMConstInt(E->t_i8, RUN_DEPTH, 0), ""));
	LLVMBuildBr(B, F->spill);
	at(F, body);
	LLVMBuildStore(B, LLVMBuildSub(B, fuel, ci64(E, f->entry_fuel), ""),
		       F->fuel);
	mem_reload(F);
}

static bool emit_body(Emit *e, uint32_t pos)
{
	const Module *m = e->m;
	uint32_t def = e->defs[pos];
	const Func *f = &m->funcs[def];
	Fn F_ = {.e = e, .f = f, .ft = f->type, .fidx = f->index, .pos = pos};
	Fn *F = &F_;
	F->fn = e->fast[pos];
	F->ex = LLVMGetParam(F->fn, 0);
	F->fp = LLVMGetParam(F->fn, 1);
	F->nlocals = f->type->nparams + f->nlocals;
	F->ltype = xcalloc(F->nlocals, 1);
	F->local = xcalloc(F->nlocals, sizeof *F->local);
	if (!F->ltype || !F->local) {
		free(F->ltype);
		free(F->local);
		return fn_fail(F, "out of memory");
	}
	memcpy(F->ltype, ft_params(f->type), f->type->nparams);
	uint32_t k = f->type->nparams;
	for (uint32_t i = 0; i < f->nruns; i++) {
		memset(F->ltype + k, f->runs[i].type, f->runs[i].count);
		k += f->runs[i].count;
	}
	/* The resume cells are referenced before their number is known: a
	 * placeholder global stands in until the end. */
	F->cells = LLVMAddGlobal(e->M, e->t_i8, "cells.tmp");
	prologue(F);
	F->r = (Reader){.p = f->body,
			.end = f->body + f->body_len,
			.base = m->bytes,
			.func = f->index};
	push_lbl(F, L_FUNC, 0, NULL, f->type->nresults, ft_results(f->type), 0);
	bool done = false, ok = true;
	while (ok && !done && !F->fail) {
		uint8_t op;
		if (!rd_u8(&F->r, &op)) {
			ok = fn_fail(F, "truncated body");
			break;
		}
		F->ops++;
		ok = op_one(F, op, &done);
		if (!ok && !F->fail)
			fn_fail(F, "malformed body");
	}
	ok = ok && !F->fail;
	if (ok) {
		/* The resume cells: 0 enters, then loops, then two per call
		 * site. */
		uint32_t ncells = 1 + f->nloops + 2 * F->calls;
		LLVMValueRef *cv = xcalloc(ncells, sizeof *cv);
		if (!cv) {
			ok = fn_fail(F, "out of memory");
		} else {
			for (uint32_t i = 0; i < ncells; i++) {
				LLVMValueRef fields[4] = {
					e->op_native, ci32(e, i),
					ci32(e, f->type->nparams), e->gen[pos]};
				cv[i] = LLVMConstNamedStruct(e->t_cell, fields,
							     4);
			}
			LLVMTypeRef at_ = LLVMArrayType2(e->t_cell, ncells);
			char name[32];
			snprintf(name, sizeof name, "cells%u", pos);
			LLVMValueRef g = LLVMAddGlobal(e->M, at_, name);
			LLVMSetInitializer(
				g, LLVMConstArray2(e->t_cell, cv, ncells));
			LLVMSetGlobalConstant(g, 1);
			LLVMSetLinkage(g, LLVMInternalLinkage);
			LLVMSetAlignment(g, 8);
			LLVMReplaceAllUsesWith(F->cells, g);
			e->cells[pos] = g;
			free(cv);
		}
	}
	LLVMDeleteGlobal(F->cells);
	LLVMDisposeBuilder(F->AB);
	free(F->ltype);
	free(F->local);
	free(F->sa);
	free(F->stk);
	free(F->lbl);
	return ok;
}

/* The NativeGen wrapper: parameters from the frame, the one result to
 * fp[0] (the body writes several results there itself). */
static void emit_gen(Emit *e, uint32_t pos)
{
	const Func *f = &e->m->funcs[e->defs[pos]];
	const FuncType *ft = f->type;
	LLVMValueRef g = e->gen[pos];
	LLVMBuilderRef b = e->bld;
	LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(e->C, g, ""));
	Fn F_ = {.e = e, .f = f, .ft = ft};
	Fn *F = &F_;
	LLVMValueRef fp = LLVMGetParam(g, 1);
	uint32_t na = 4 + ft->nparams;
	LLVMValueRef *args = xcalloc(na, sizeof *args);
	if (!args)
		return;
	args[0] = LLVMGetParam(g, 0), args[1] = fp,
	args[2] = LLVMGetParam(g, 2);
	args[3] = LLVMGetParam(g, 3);
	for (uint32_t i = 0; i < ft->nparams; i++)
		args[4 + i] = frame_load(F, fp, i, ft_params(ft)[i]);
	LLVMValueRef r =
		LLVMBuildCall2(b, fast_type(e, ft), e->fast[pos], args, na, "");
	LLVMSetInstructionCallConv(r, CC_TAIL);
	free(args);
	if (ft->nresults != 1) {
		LLVMBuildRet(b, r);
		return;
	}
	LLVMValueRef rf = LLVMBuildExtractValue(b, r, 0, "");
	LLVMBasicBlockRef keep = LLVMAppendBasicBlockInContext(e->C, g, "");
	LLVMBasicBlockRef out = LLVMAppendBasicBlockInContext(e->C, g, "");
	LLVMBuildCondBr(b,
			LLVMBuildICmp(b, LLVMIntEQ, rf,
				      ci64(e, (uint64_t)NATIVE_UNWIND), ""),
			out, keep);
	LLVMPositionBuilderAtEnd(b, keep);
	frame_store(F, fp, 0, LLVMBuildExtractValue(b, r, 1, ""),
		    ft_results(ft)[0]);
	LLVMBuildBr(b, out);
	LLVMPositionBuilderAtEnd(b, out);
	LLVMBuildRet(b, rf);
}

bool jit_emit_module(LLVMContextRef C, LLVMModuleRef M, const Module *m,
		     const uint32_t *defs, uint32_t n, char *err,
		     size_t err_len);

bool jit_emit_module(LLVMContextRef C, LLVMModuleRef M, const Module *m,
		     const uint32_t *defs, uint32_t n, char *err,
		     size_t err_len)
{
	Emit e = {.m = m,
		  .C = C,
		  .M = M,
		  .defs = defs,
		  .n = n,
		  .err = err,
		  .err_len = err_len};
	/* For measuring what the fast copies of loops gain (with --no-cache:
	 * the code cache does not know about it). */
	const char *fast_loops = getenv("MYRIAD_JIT_FAST_LOOPS");
	e.fast_loops = !fast_loops || strcmp(fast_loops, "0") != 0;
	uint32_t ndef = m->nfuncs - m->nfunc_imports;
	e.pos_of = xcalloc(ndef ? ndef : 1, sizeof *e.pos_of);
	e.fast = xcalloc(n ? n : 1, sizeof *e.fast);
	e.gen = xcalloc(n ? n : 1, sizeof *e.gen);
	e.cells = xcalloc(n ? n : 1, sizeof *e.cells);
	bool ok = e.pos_of && e.fast && e.gen && e.cells;
	if (!ok)
		snprintf(err, err_len, "out of memory");
	e.bld = LLVMCreateBuilderInContext(C);
	emit_init(&e);
	for (uint32_t i = 0; ok && i < ndef; i++)
		e.pos_of[i] = -1;
	LLVMTypeRef gen_params[4] = {e.t_ptr, e.t_ptr, e.t_i64, e.t_i32};
	LLVMTypeRef gen_ty = LLVMFunctionType(e.t_i64, gen_params, 4, 0);
	unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
	for (uint32_t i = 0; ok && i < n; i++) {
		const Func *f = &m->funcs[defs[i]];
		e.pos_of[defs[i]] = (int32_t)i;
		char name[32];
		snprintf(name, sizeof name, "f%u", f->index);
		e.fast[i] = LLVMAddFunction(M, name, fast_type(&e, f->type));
		LLVMSetFunctionCallConv(e.fast[i], CC_TAIL);
		LLVMSetLinkage(e.fast[i], LLVMInternalLinkage);
		LLVMAddAttributeAtIndex(
			e.fast[i], LLVMAttributeFunctionIndex,
			LLVMCreateEnumAttribute(C, nounwind, 0));
		snprintf(name, sizeof name, "g%u", f->index);
		e.gen[i] = LLVMAddFunction(M, name, gen_ty);
		LLVMSetLinkage(e.gen[i], LLVMInternalLinkage);
		LLVMAddAttributeAtIndex(
			e.gen[i], LLVMAttributeFunctionIndex,
			LLVMCreateEnumAttribute(C, nounwind, 0));
	}
	for (uint32_t i = 0; ok && i < n; i++) {
		ok = emit_body(&e, i);
		if (ok)
			emit_gen(&e, i);
	}
	if (ok) {
		/* The one exported symbol: machine code and resume cells of
		 * every function, in batch order. */
		LLVMValueRef *dir = xcalloc(2 * (size_t)n + 1, sizeof *dir);
		if (!dir) {
			snprintf(err, err_len, "out of memory");
			ok = false;
		} else {
			for (uint32_t i = 0; i < n; i++) {
				dir[2 * i] = e.fast[i];
				dir[2 * i + 1] = e.cells[i];
			}
			LLVMTypeRef dt =
				LLVMArrayType2(e.t_ptr, 2 * (uint64_t)n);
			LLVMValueRef g = LLVMAddGlobal(M, dt, "myr_dir");
			LLVMSetInitializer(g, LLVMConstArray2(e.t_ptr, dir,
							      2 * (uint64_t)n));
			LLVMSetGlobalConstant(g, 1);
			free(dir);
		}
	}
	LLVMDisposeBuilder(e.bld);
	free(e.pos_of);
	free(e.fast);
	free(e.gen);
	free(e.cells);
	return ok;
}
