/*
 * Runtime objects: the internal code cell, the execution state an
 * interpreter run carries, and the structs behind the public handles
 * (instances, functions, memories, tables, globals).
 */
#ifndef MYR_RUNTIME_H
#define MYR_RUNTIME_H

#include "engine.h"
#include "module.h"
#include "ops.h"

typedef struct Exec Exec;
typedef union Cell Cell;

/* preserve_none lets every handler argument live in a register; ASan
 * cannot realign the stack under it, so sanitizer builds do without. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MYR_SANITIZED 1
#endif
#endif
#if defined(__clang__) && __clang_major__ >= 19 && !defined(MYR_SANITIZED)
#define MYR_CC __attribute__((preserve_none))
#else
#define MYR_CC
#endif

/* Every handler receives the interpreter's registers as arguments so that
 * they live in machine registers across the tail-call chain. `acc` is the
 * accumulator: a value passed from one instruction to the next (ops.h). */
#define OP_PARAMS                                                              \
	const Cell *pc, uint64_t *fp, uint8_t *mem, uint64_t memsize,          \
		int64_t fuel, Exec *ex, uint64_t acc
typedef MYR_CC int (*OpFn)(OP_PARAMS);

union Cell {
	OpFn fn;
	uint64_t u64;
	int64_t i64;
	uint32_t u32[2];
	int32_t s32[2];
	const void *ptr;
};

/* interp.c: the handler of each op. */
extern const OpFn op_handlers[OP_COUNT_];

/* The value compiled code returns instead of its fuel when it stops;
 * a helper returns NATIVE_UNWIND_KEEP when the stop leaves the calling
 * compiled frame in place, which must then be saved too. */
#define NATIVE_UNWIND	   INT64_MIN
#define NATIVE_UNWIND_KEEP (INT64_MIN + 1)
/* A compiled function's entry from the interpreter: starts (resume 0)
 * or resumes it in the frame at fp; returns the fuel left, or
 * NATIVE_UNWIND. */
typedef int64_t (*NativeGen)(Exec *ex, uint64_t *fp, int64_t fuel,
			     uint32_t resume);

/* What a run returns (the handlers' return value). */
enum {
	RUN_DONE = 0,
	RUN_TRAP = 1,
	RUN_OUT_OF_FUEL = 2,
	RUN_YIELD = 3,	 /* a host call ended the slice; resumes after it */
	RUN_BLOCKED = 4, /* a host call parked the instance; redoes the call */
	/* Only between compiled code and the run that entered it (tier.h):
	 * the value stack must grow, or the native stack be emptied, before
	 * the run goes on from the saved pc. */
	RUN_GROW = 5,
	RUN_DEPTH = 6,
};

/* Exec.wake: how a BLOCKED instance waits. PARKED: without a timer, on
 * the scheduler's parked list; TIMED: in a worker's timer heap; EARLY: a
 * wake came while it was not waiting (the next block returns at once). */
enum { WAKE_NONE, WAKE_PARKED, WAKE_TIMED, WAKE_EARLY };

/* Frame layout (see docs/architecture.md): fp[0..nparams) parameters,
 * then FRAME_HEADER slots of linkage, then locals, then operand temps. */
enum { FRAME_HEADER = 3 };
/* Header slot 0: return pc. Slot 1: (fp - caller fp) in slots, shifted
 * left by one; bit 0 set when the call crossed into another instance,
 * whose caller is then saved in slot 2. */
#define HDR_RET	   0
#define HDR_LINK   1
#define HDR_CALLER 2

struct myr_memory {
	uint8_t *base;
	uint64_t size;	       /* bytes */
	uint64_t max_size;     /* bytes, after applying the engine limit */
	uint64_t capacity;     /* bytes usable before growing must move */
	uint64_t declared_max; /* in pages, as the type says (for linking) */
	bool has_max;
	uint8_t page_log2;
	int8_t slab_class;  /* MemSlab class of the slot, -1: own mapping */
	bool owned_by_host; /* created by myr_memory_new */
	myr_engine *engine;
};

struct myr_table {
	uint64_t *elems;    /* myr_func* or host externref pointers; 0 = null */
	uint32_t size, max; /* max after applying the engine limit */
	uint32_t cap;
	uint32_t declared_max; /* as the type says (for linking) */
	bool has_max;
	ValType type;
	bool owned_by_host;
};

struct myr_global {
	uint64_t *cell;
	ValType type;
	bool mut;
	bool owned_by_host;
	uint64_t own; /* the value of host-created globals */
};

typedef struct Exec Exec;
typedef myr_hostret (*RawHostFn)(Exec *ex, void *env, uint64_t *slots);

enum FuncKind { FUNC_WASM, FUNC_HOST, FUNC_RAW_HOST };

struct myr_func {
	uint8_t kind; /* FuncKind */
	uint32_t canon;
	const FuncType *type;
	const Func *def;    /* FUNC_WASM */
	myr_instance *inst; /* FUNC_WASM: the instance it runs in */
};

/* A host function: myr_func followed by what the host gave. */
typedef struct HostFunc {
	myr_func base;
	myr_host_fn fn;
	RawHostFn raw;
	void *env;
	void (*env_free)(void *);
	FuncType type;
	myr_functype pub_type; /* what myr_func_type returns */
} HostFunc;

/*
 * The execution state of one instance's value stack. Handlers reach the
 * current instance's globals, tables and imports through it; a call into
 * another instance switches those fields and the return switches back.
 */
struct Exec {
	uint64_t *stack;     /* slot 0 of the value stack */
	uint64_t *stack_end; /* one past the last slot */
	size_t max_slots;    /* growth limit */

	/* The instance whose code runs now, and its pieces. */
	myr_instance *inst;
	uint64_t *globals;	/* defined globals */
	uint64_t **global_imps; /* imported globals */
	myr_memory *mem;	/* memory 0, or NULL */
	myr_table **tables;
	myr_func **func_imps; /* imported functions */

	/* A paused run: where to resume, the fuel it had left, and the
	 * accumulator (a loop's branch may be about to consume it). */
	const Cell *pc;
	size_t fp_off;
	int64_t fuel_left;
	uint64_t wake_at;  /* a BLOCKED run's CLOCK_MONOTONIC ns, 0: none */
	atomic_uchar wake; /* WAKE_* (myr_instance_wake may race a worker) */
	bool resumed;	   /* the next host call is one made again on waking */
	uint64_t acc;

	/* How the run ended if it trapped: compact, because a million
	 * instances carry it; myr_instance_error expands it on demand. */
	uint8_t trap;	/* myr_trap, MYR_TRAP_NONE if none */
	uint8_t status; /* myr_status */
	bool running;	/* inside exec_run: a nested call needs its own stack */
	bool stack_inline; /* the stack is the instance block's, not malloc'd */
	uint32_t trap_func;
	int32_t exit_code;
	char *trap_msg;	  /* a host trap's message (malloc'd), or NULL */
	myr_error *error; /* built by myr_instance_error (malloc'd) */
	const FuncType *call_type; /* type of the started call */

	/* The compiled tier (tier.h). Native code that must stop returns
	 * NATIVE_UNWIND to its caller after saving its frame, and `unwind`
	 * says why (a RUN_* code). `nest` counts the runs that native code
	 * started inside itself (calls of interpreted functions): while one
	 * is open, native frames hold pointers into the stack, so it cannot
	 * move. Native code may use the machine stack down to
	 * `native_limit`; a RUN_GROW asks for `grow_need` slots above the
	 * saved frame. */
	uint8_t unwind;
	/* The last failure to grow the stack was the host's memory running
	 * out, not the limit: the trap is then MYR_TRAP_LIMIT. */
	bool stack_nomem;
	uint32_t nest;
	uintptr_t native_limit;
	size_t grow_need;
};

/* An instance is one block (see instance.c, "Layout"): this header, then
 * its own memories and tables, globals, import pointers, function
 * objects, the dropped-segment bitset and the initial value stack. */
struct myr_instance {
	const Module *mod;
	myr_engine *engine;
	Exec ex;
	uint64_t *globals;	/* defined globals: nglobals - imports */
	uint64_t **global_imps; /* imported globals' cells */
	myr_memory **mems;
	myr_table **tables;
	myr_func **func_imps;
	myr_func *refs; /* mod->nrefs function objects */
	/* mod->nlazy objects of exported-only functions, made on demand
	 * (instance_lazy_func), or NULL. */
	_Atomic(myr_func *) lazy_refs;
	uint8_t *dropped; /* bitset: elem segments, then data segments */
	/* Global objects: imported ones, and exported ones created on
	 * demand by myr_instance_export (allocated when first needed). */
	myr_global **global_objs;
	union {
		myr_instance *next_orphan; /* see keep_until_module_free */
		/* sched.c: in a full inbox's overflow list (an instance the
		 * scheduler holds was never an orphan). */
		myr_instance *over_next;
	};
	uint32_t block_size; /* bytes of the block, for freeing it */
	/* For whoever runs the instance (the scheduler). */
	void *user;
	uint64_t user_index;
	uint32_t slices;
	uint32_t reg_owner;	 /* the worker whose registry holds it */
	struct myr_sched *sched; /* the scheduler it was added to */
	/* Per-instance state of the WASI layer (wasi.c), created on first
	 * use and freed with the instance through wasi_free_hook. */
	void *wasi;
	/* The scheduler's registry of the instances added through a worker. */
	myr_instance *reg_prev, *reg_next;
	uint32_t timer_pos;   /* index in its worker's timer heap */
	uint32_t timer_owner; /* that worker */
	/* Its record in the actor system (actor.h), if it is an actor. */
	struct Actor *actor;
};

/* instance.c: myr_instance_new with a value stack of at least stack_slots
 * in the instance's block (when that stays a small block), for a caller
 * that knows the frame of the function the instance will start with. */
myr_instance *instance_new_stack(myr_module *m, const myr_extern *imports,
				 size_t nimports, uint32_t stack_slots,
				 myr_error *err);

/* Set by the WASI layer: frees an instance's `wasi` state. */
extern void (*wasi_free_hook)(myr_instance *inst);

/* sched.c: puts an instance woken by myr_instance_wake back in line. */
void sched_wake(struct myr_sched *s, myr_instance *inst);
/* The same for an instance waiting on a worker's timer. */
void sched_wake_timed(struct myr_sched *s, myr_instance *inst);
/* The engine a scheduler was made for. */
myr_engine *sched_engine(struct myr_sched *s);
/* How many workers it has, and which of them this thread is (-1: none of
 * them), for state kept per worker that only its thread writes. */
uint32_t sched_workers(const struct myr_sched *s);
int sched_worker_id(const struct myr_sched *s);

static inline void exec_enter(Exec *ex, myr_instance *inst)
{
	ex->inst = inst;
	ex->globals = inst->globals;
	ex->global_imps = inst->global_imps;
	ex->mem = inst->mod->nmems ? inst->mems[0] : NULL;
	ex->tables = inst->tables;
	ex->func_imps = inst->func_imps;
}

/* instance.c: the object of exported-only function number `lazy`
 * (REF_LAZY), made with its siblings on first use; NULL when out of
 * memory. */
myr_func *instance_lazy_func(const myr_instance *inst, uint32_t lazy);

static inline void instance_func_init(myr_func *f, myr_instance *inst,
				      uint32_t idx)
{
	const Func *def = &inst->mod->funcs[idx - inst->mod->nfunc_imports];
	*f = (myr_func){.kind = FUNC_WASM,
			.canon = def->type->canon,
			.type = def->type,
			.def = def,
			.inst = inst};
}

/* The object function `idx` of inst has now, without making one: NULL
 * if the module never references it, or if it is exported only and its
 * objects are not made yet. */
static inline myr_func *instance_func_had(const myr_instance *inst,
					  uint32_t idx)
{
	const Module *m = inst->mod;
	if (idx < m->nfunc_imports)
		return inst->func_imps[idx];
	uint32_t s = m->ref_slot[idx];
	if (s == UINT32_MAX)
		return NULL;
	if (!(s & REF_LAZY))
		return &inst->refs[s];
	myr_func *a = atomic_load_explicit(&((myr_instance *)inst)->lazy_refs,
					   memory_order_acquire);
	return a ? &a[s & ~REF_LAZY] : NULL;
}

/* The function object of function `idx` of inst (imported or defined),
 * or NULL if the module never references it (or, for an exported-only
 * function, the host's memory ran out making it). */
static inline myr_func *instance_func(const myr_instance *inst, uint32_t idx)
{
	myr_func *f = instance_func_had(inst, idx);
	uint32_t s = inst->mod->ref_slot[idx];
	if (f || idx < inst->mod->nfunc_imports || s == UINT32_MAX)
		return f;
	return instance_lazy_func(inst, s & ~REF_LAZY);
}

/* For a call that only starts function `idx` (the object is not kept):
 * its object if it has one already, else `tmp` made to stand for it, so
 * that starting an export does not make the objects of them all. */
static inline myr_func *instance_func_or(myr_instance *inst, uint32_t idx,
					 myr_func *tmp)
{
	myr_func *f = instance_func_had(inst, idx);
	if (f)
		return f;
	instance_func_init(tmp, inst, idx);
	return tmp;
}

static inline bool instance_dropped(const myr_instance *inst, uint32_t bit)
{
	return (inst->dropped[bit >> 3] >> (bit & 7)) & 1;
}

static inline void instance_drop(myr_instance *inst, uint32_t bit)
{
	inst->dropped[bit >> 3] |= (uint8_t)(1u << (bit & 7));
}

/* compile.c: validates and translates every function body of m;
 * compile_release frees what it made. */
bool compile_module(Module *m, myr_error *err);
void compile_release(Module *m);

/* interp.c */
/* Prepares ex to call f (a wasm function) with args already in slots
 * 0..nparams of the stack. False if the stack cannot hold the frame. */
bool exec_prepare_call(Exec *ex, const Func *f, myr_instance *inst);
/* Runs from the saved pc for at most `fuel` units. */
int exec_run(Exec *ex, int64_t fuel);
/* Grows the stack so that `need` slots fit above fp; returns the new fp
 * or NULL past the limit. */
uint64_t *exec_grow_stack(Exec *ex, uint64_t *fp, size_t need);

/* interp.c, for compiled code: calls fn with its arguments at fp + base
 * from the compiled function `func` whose resume cells after and before
 * the call are ret and redo. Returns the fuel left (results at fp +
 * base), or NATIVE_UNWIND after saving the callee's state. The tail forms
 * replace the caller's frame (header slot own_hdr), leave the results at
 * fp[0..), and return NATIVE_UNWIND_KEEP when the caller's frame is still
 * there to be saved. The _wasm forms call f of instance inst. */
int64_t exec_call_from_native(Exec *ex, uint64_t *fp, uint32_t base,
			      const myr_func *fn, const Cell *ret,
			      const Cell *redo, int64_t fuel, uint32_t func);
int64_t exec_call_wasm_from_native(Exec *ex, uint64_t *fp, uint32_t base,
				   const Func *f, myr_instance *inst,
				   const Cell *ret, const Cell *redo,
				   int64_t fuel, uint32_t func);
int64_t exec_tail_from_native(Exec *ex, uint64_t *fp, uint32_t base,
			      uint32_t own_hdr, const myr_func *fn,
			      const Cell *redo, int64_t fuel, uint32_t func);
int64_t exec_tail_wasm_from_native(Exec *ex, uint64_t *fp, uint32_t base,
				   uint32_t own_hdr, const Func *f,
				   myr_instance *inst, const Cell *redo,
				   int64_t fuel, uint32_t func);
/* No room for `need` slots above fp: a trap past the stack limit, else a
 * request (RUN_GROW) to grow the stack and go on from redo. */
int64_t exec_native_need_stack(Exec *ex, uint64_t *fp, size_t need,
			       const Cell *redo, int64_t fuel, uint32_t func);

/* interp.c: the reference an element segment item evaluates to. */
uint64_t exec_elem_value(myr_instance *inst, const ElemItem *it);

/* The defined function whose interpreter code holds pc, or NULL if pc is
 * not in m's code. */
static inline const Func *module_func_at(const Module *m, const Cell *pc)
{
	uint32_t lo = 0, hi = m->nfuncs - m->nfunc_imports;
	if (!m->code || pc < m->code || pc >= m->code + m->code_cells)
		return NULL;
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (m->funcs[mid].code <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return &m->funcs[lo];
}

/* interp.c: the full trap record of ex as a myr_error, and setting a
 * trap with a message (copied). */
void exec_error(const Exec *ex, myr_error *out);
void exec_set_trap_msg(Exec *ex, myr_trap trap, const char *msg);

/* api.c: the status of a run that ended with RUN_TRAP, EXITED for an exit
 * (myr_caller_exit), else TRAPPED. */
myr_status ended_status(const Exec *ex);

/* memory.c */
bool memory_init_obj(myr_memory *m, myr_engine *e, const MemType *t,
		     myr_error *err);
void memory_release(myr_memory *m);
/* Commits slots for n more memories of type t in bulk. */
bool memory_reserve(myr_engine *e, const MemType *t, uint64_t n);
int64_t memory_grow(myr_memory *m, uint64_t delta_pages);

/* table.c */
bool table_init_obj(myr_table *t, const TableType *type, uint32_t limit,
		    myr_error *err);
void table_release(myr_table *t);
int64_t table_grow(myr_table *t, uint32_t delta, uint64_t init);

/* interp.c: conversions between slots and public values. */
uint64_t exec_val_to_slot(const myr_val *v);
void exec_slot_to_val(ValType t, uint64_t s, myr_val *v);

/* api.c: a host function taking its arguments as raw slots. */
myr_func *host_func_new_raw(myr_engine *engine, const ValType *types,
			    uint32_t np, uint32_t nr, RawHostFn fn, void *env);

/* disasm.c: prints defined function idx's internal code. */
#include <stdio.h>
size_t code_dump(const Module *m, uint32_t idx, FILE *out);

/* instance.c */
bool instance_eval_const(myr_instance *inst, const ConstExpr *e, uint64_t *out);

#endif
