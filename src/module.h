/*
 * The decoded form of a module: what decode.c produces from the bytes and
 * what compile.c and instance.c read. Immutable once myr_module_new()
 * returns, and shared by every instance.
 */
#ifndef MYR_MODULE_H
#define MYR_MODULE_H

#include "myriad.h"
#include "util.h"

/* Value types use their binary encodings (see myr_valtype). */
typedef uint8_t ValType;
enum {
	VT_I32 = 0x7F,
	VT_I64 = 0x7E,
	VT_F32 = 0x7D,
	VT_F64 = 0x7C,
	VT_V128 = 0x7B,
	VT_FUNCREF = 0x70,
	VT_EXTERNREF = 0x6F,
};

static inline bool vt_is_ref(ValType t)
{
	return t == VT_FUNCREF || t == VT_EXTERNREF;
}

#define VT_ANY 0 /* the unknown type of values popped in unreachable code */

/* decode.c: "i32", "funcref", ...; "any" for VT_ANY, "?" otherwise. */
const char *valtype_name(ValType t);

typedef struct FuncType {
	uint32_t nparams, nresults;
	ValType *types; /* nparams params, then nresults results */
	uint32_t canon; /* engine-wide id: equal ids <=> equal signatures */
} FuncType;

static inline const ValType *ft_params(const FuncType *t)
{
	return t->types;
}
static inline const ValType *ft_results(const FuncType *t)
{
	return t->types + t->nparams;
}

typedef struct Limits {
	uint64_t min, max; /* max is meaningful only if has_max */
	bool has_max;
} Limits;

typedef struct MemType {
	Limits lim;	   /* in pages */
	uint8_t page_log2; /* 16 for 64 KiB pages, 0 for (pagesize 1) */
} MemType;

typedef struct TableType {
	ValType elem;
	Limits lim; /* in elements */
} TableType;

typedef struct GlobalType {
	ValType type;
	bool mut;
} GlobalType;

/* A constant expression, kept as its bytes (including the final `end`)
 * and evaluated at instantiation by consteval.c. `offset` is its position
 * in the module, for error messages. */
typedef struct ConstExpr {
	const uint8_t *code;
	uint32_t len;
	uint32_t offset;
} ConstExpr;

typedef enum ExternKind {
	EXT_FUNC = 0,
	EXT_TABLE = 1,
	EXT_MEMORY = 2,
	EXT_GLOBAL = 3,
} ExternKind;

/* Names point into Module.bytes; they are UTF-8, validated, and may
 * contain NUL, so they carry a length. */
typedef struct Name {
	const char *s;
	uint32_t len;
} Name;

typedef struct Import {
	Name module, name;
	ExternKind kind;
	union {
		uint32_t type_idx; /* EXT_FUNC: index into Module.types */
		TableType table;
		MemType mem;
		GlobalType global;
	} u;
} Import;

typedef struct Export {
	Name name;
	ExternKind kind;
	uint32_t index; /* into the function/table/memory/global index space */
} Export;

typedef struct Global {
	GlobalType type;
	ConstExpr init;
} Global;

typedef enum SegMode {
	SEG_ACTIVE,
	SEG_PASSIVE,
	SEG_DECLARATIVE,
} SegMode;

/* One item of an element segment: the three forms a funcref/externref
 * constant expression can take in Wasm 2.0. */
typedef enum ElemItemKind {
	ITEM_NULL, /* ref.null */
	ITEM_FUNC, /* ref.func idx (or a bare index in the legacy forms) */
	ITEM_GLOBAL_GET, /* global.get idx */
} ElemItemKind;

typedef struct ElemItem {
	uint8_t kind; /* ElemItemKind */
	uint32_t idx; /* function or global index */
} ElemItem;

typedef struct ElemSeg {
	SegMode mode;
	ValType type;	  /* VT_FUNCREF or VT_EXTERNREF */
	uint32_t table;	  /* active only */
	ConstExpr offset; /* active only; i32 */
	uint32_t count;
	ElemItem *items;
} ElemSeg;

typedef struct DataSeg {
	SegMode mode;	      /* SEG_ACTIVE or SEG_PASSIVE */
	uint32_t mem;	      /* active only */
	ConstExpr offset;     /* active only; i32 */
	const uint8_t *bytes; /* points into Module.bytes */
	uint32_t len;
	/* Precomputed at load (instance.c): the offset when it is a
	 * constant, and the part of the bytes between the first and the last
	 * non-zero byte, all that a fresh (zeroed) memory needs copied. */
	bool const_offset;
	uint32_t offset_value;
	uint32_t nz_start, nz_len;
} DataSeg;

/* Runs of identical local types as declared in the code section. */
typedef struct LocalRun {
	uint32_t count;
	ValType type;
} LocalRun;

union Cell;

/*
 * A function defined by the module (imports are not Funcs). Filled by the
 * decoder (type, body) and then by the compiler (code and frame layout).
 */
typedef struct Func {
	uint32_t type_idx;
	const FuncType *type;
	/* Decoder: the body's bytes after the local declarations. */
	const uint8_t *body;
	uint32_t body_len;
	uint32_t body_offset; /* offset of `body` in the module */
	uint32_t nlocals;     /* declared locals, parameters excluded */
	uint32_t nruns;
	LocalRun *runs;
	/* Compiler: see docs/architecture.md, "Frames". */
	const union Cell *code;
	uint32_t nparams, nresults;
	uint32_t frame_slots; /* slots this function may touch above fp */
	/* What a call copies above the frame header: zeros for the declared
	 * locals, then the constant pool. */
	const uint64_t *init;
	uint32_t ninit;
	uint32_t entry_fuel; /* fuel spent on entering the function */
	uint32_t index;	     /* in the function index space */
	uint32_t temp_base;  /* T: the first operand temp slot */
	/* Where calls enter: `code`, until the compiled tier replaces it
	 * with the entry cell of the function's machine code (tier.c; read
	 * and written atomically). */
	const union Cell *entry;
	/* The interpreter code index of each loop's header, by the loop's
	 * ordinal in the body (UINT32_MAX for loops in unreachable code): a
	 * run paused there can move to compiled code (on-stack
	 * replacement). */
	uint32_t nloops;
	uint32_t *loop_at;
	/* Compiled tier: the machine-code entry that takes arguments in
	 * registers (NULL until compiled), its resume cells (cell 0 enters
	 * the function, cell 1 + j resumes at loop j), and how often a run
	 * was seen paused in the function's interpreter code. */
	void *native;
	const union Cell *native_cells;
	uint32_t hot;
} Func;

struct myr_module {
	myr_engine *engine;
	uint8_t *bytes; /* private copy; names, bodies and data point here */
	size_t len;

	uint32_t ntypes;
	FuncType *types;

	uint32_t nimports;
	Import *imports;
	/* Counts of imports per kind; imported entities come first in each
	 * index space. */
	uint32_t nfunc_imports, ntable_imports, nmem_imports, nglobal_imports;

	/* Index spaces (imports first). func_types[i] is the type index of
	 * function i, imported or not. */
	uint32_t nfuncs; /* total, imports included */
	uint32_t *func_types;
	Func *funcs; /* defined functions: nfuncs - nfunc_imports */

	uint32_t ntables;
	TableType *tables; /* all tables, imported first */
	uint32_t nmems;
	MemType *mems;
	uint32_t nglobals;
	GlobalType *global_types; /* all globals, imported first */
	Global *globals;	  /* defined: nglobals - nglobal_imports */

	uint32_t nexports;
	Export *exports;

	bool has_start;
	uint32_t start;

	uint32_t nelems;
	ElemSeg *elems;

	bool has_data_count;
	uint32_t data_count;
	uint32_t ndatas;
	DataSeg *datas;

	/* Functions that may be referenced by ref.func in code: those named in
	 * element segments, exports and global initializers (spec: C.refs).
	 * A bitset of nfuncs bits. */
	uint8_t *declared_funcs;

	/* Of those, the ones the module itself can make a reference to:
	 * element items, constant expressions, ref.func in a body (set by
	 * compile.c). The others are only exported. */
	uint8_t *placed_funcs;

	/* Functions that need a myr_func object per instance. A placed
	 * function's object is in the instance block: ref_slot[i] is its
	 * index there (nrefs of them). An exported-only function's object
	 * is made when first asked for, because an instance that nobody
	 * asks for its exports (a spawned actor) should not carry them:
	 * ref_slot[i] is then REF_LAZY | its index among the nlazy.
	 * UINT32_MAX: no object. Filled by instance_prepare. */
	uint32_t nrefs, nlazy;
	uint32_t *ref_slot;

	/* The instance block's layout: byte offsets of each part
	 * (instance.c). */
	struct {
		uint32_t own_mems, own_tables, globals, global_imps, mems;
		uint32_t tables, func_imps, refs, dropped, stack, size;
	} layout;
	/* Initial values of the defined globals, where they do not depend on
	 * the instance; global_dynamic marks those that do. */
	uint64_t *global_init;
	uint8_t *global_dynamic;
	bool any_global_dynamic;

	/* myr_functype copies of `types` for the public API (api.c). */
	myr_functype *pub_types;
	myr_valtype *pub_valtypes;

	/* Instances whose instantiation trapped, kept for the references
	 * they may have left in imported tables (instance.c). */
	struct myr_instance *orphans;

	/* The compiled code of every function (compile.c). */
	union Cell *code;
	size_t code_cells;

	/* The compiled tier's state for this module (tier.c), or NULL. */
	struct TierModule *tier;
};

typedef struct myr_module Module;

static inline bool module_func_declared(const Module *m, uint32_t f)
{
	return (m->declared_funcs[f >> 3] >> (f & 7)) & 1;
}

static inline bool module_func_placed(const Module *m, uint32_t f)
{
	return (m->placed_funcs[f >> 3] >> (f & 7)) & 1;
}

static inline void module_func_place(Module *m, uint32_t f)
{
	m->placed_funcs[f >> 3] |= (uint8_t)(1u << (f & 7));
}

enum { REF_LAZY = 0x80000000u };

static inline const FuncType *module_func_type(const Module *m, uint32_t f)
{
	return &m->types[m->func_types[f]];
}

/* decode.c: parses and validates everything but function bodies. On
 * failure fills err (kind MALFORMED or INVALID, with the byte offset). */
bool decode_module(Module *m, myr_error *err);

/* Frees everything decode_module allocated (safe on a partial module). */
void module_release(Module *m);

/* instance.c: computes the instance layout and the initial state at load;
 * frees what that made and the instances kept by failed instantiations. */
bool instance_prepare(Module *m, myr_error *err);
void instance_unprepare(Module *m);

#endif
