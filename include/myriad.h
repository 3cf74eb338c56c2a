/*
 * myriad: a WebAssembly runtime built to run a million instances at once.
 *
 * This is the only public header. Everything it declares is prefixed myr_.
 *
 * Ownership, in one paragraph: an engine owns nothing but its configuration
 * and its type registry, and must outlive every object created from it. A
 * module is immutable after myr_module_new() and may be instantiated any
 * number of times, from any thread; it must outlive its instances. An
 * instance owns its memories, tables, globals and the function objects of
 * its exports. Host objects (myr_func_new, myr_global_new, myr_table_new,
 * myr_memory_new) are owned by the caller and freed with their _free call.
 * Whatever an instance imports must outlive that instance: free instances in
 * the reverse order of their creation. Every _free function accepts NULL
 * and then does nothing; myr_func_free, myr_global_free, myr_table_free and
 * myr_memory_free do nothing either for an object an instance owns (one
 * of its exports), which goes with the instance.
 */
#ifndef MYRIAD_H
#define MYRIAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MYR_VERSION "0.1.0"

typedef struct myr_engine myr_engine;
typedef struct myr_module myr_module;
typedef struct myr_instance myr_instance;
typedef struct myr_func myr_func;
typedef struct myr_table myr_table;
typedef struct myr_memory myr_memory;
typedef struct myr_global myr_global;
typedef struct myr_caller myr_caller;

/* ------------------------------------------------------------------ */
/* Values                                                              */

/* The numeric codes are the binary-format encodings of the types. */
typedef enum myr_valtype {
	MYR_I32 = 0x7F,
	MYR_I64 = 0x7E,
	MYR_F32 = 0x7D,
	MYR_F64 = 0x7C,
	MYR_V128 = 0x7B,
	MYR_FUNCREF = 0x70,
	MYR_EXTERNREF = 0x6F,
} myr_valtype;

/* f32/f64 values keep their exact bit patterns (NaN payloads included).
 * A null reference is a NULL pointer. */
typedef struct myr_val {
	myr_valtype type;
	union {
		int32_t i32;
		int64_t i64;
		float f32;
		double f64;
		myr_func *funcref;
		void *externref;
	} of;
} myr_val;

typedef struct myr_functype {
	uint32_t nparams, nresults;
	const myr_valtype *params;
	const myr_valtype *results;
} myr_functype;

/* ------------------------------------------------------------------ */
/* Errors and traps                                                    */

typedef enum myr_errkind {
	MYR_OK = 0,
	MYR_ERR_MALFORMED, /* the bytes are not a WebAssembly binary */
	MYR_ERR_INVALID,   /* well-formed but fails validation */
	MYR_ERR_LINK,	   /* an import is missing or has the wrong type */
	MYR_ERR_TRAP,	   /* execution trapped; see myr_error.trap */
	MYR_ERR_RESOURCE,  /* a configured limit or the host ran out */
	MYR_ERR_ARGUMENT,  /* the API was called with wrong arguments */
} myr_errkind;

typedef enum myr_trap {
	MYR_TRAP_NONE = 0,
	MYR_TRAP_UNREACHABLE,
	MYR_TRAP_INT_OVERFLOW,
	MYR_TRAP_DIV_BY_ZERO,
	MYR_TRAP_INVALID_CONVERSION,
	MYR_TRAP_MEMORY_OOB,
	MYR_TRAP_TABLE_OOB,
	MYR_TRAP_UNDEFINED_ELEMENT,
	MYR_TRAP_UNINITIALIZED_ELEMENT,
	MYR_TRAP_INDIRECT_TYPE_MISMATCH,
	MYR_TRAP_STACK_EXHAUSTED,
	MYR_TRAP_HOST, /* raised by a host function, message in myr_error */
	MYR_TRAP_EXIT, /* a host function ended the instance (e.g. proc_exit) */
	MYR_TRAP_LIMIT, /* a resource limit was hit (fuel, memory, instances) */
	MYR_TRAP_COUNT_
} myr_trap;

/* The spec's wording for each trap ("integer divide by zero", ...). */
const char *myr_trap_message(myr_trap trap);

#define MYR_NO_OFFSET UINT64_MAX
#define MYR_NO_FUNC   UINT32_MAX

typedef struct myr_error {
	myr_errkind kind;
	myr_trap trap;	   /* for MYR_ERR_TRAP */
	int exit_code;	   /* for MYR_TRAP_EXIT */
	uint64_t offset;   /* byte offset in the module, or MYR_NO_OFFSET */
	uint32_t func;	   /* function index, or MYR_NO_FUNC */
	char message[256]; /* one line, says what and where */
} myr_error;

/* ------------------------------------------------------------------ */
/* Engine                                                              */

/* Optional parts of the language. Wasm 2.0 (MVP, sign extension,
 * non-trapping conversions, multi-value, bulk memory, reference types) is
 * always on; these add to it. */
enum {
	MYR_FEATURE_TAIL_CALL = 1u << 0,
	MYR_FEATURE_EXTENDED_CONST = 1u << 1, /* and 3.0's global.get rule */
	MYR_FEATURE_CUSTOM_PAGE_SIZES = 1u << 2,
	MYR_FEATURE_MULTI_MEMORY = 1u << 3,
	MYR_FEATURES_DEFAULT = MYR_FEATURE_TAIL_CALL |
			       MYR_FEATURE_EXTENDED_CONST |
			       MYR_FEATURE_CUSTOM_PAGE_SIZES,
};

/* How a module's functions run. AUTO (the default) starts every module
 * interpreted at once and compiles its functions to machine code on a
 * background thread, hot ones first; a running instance moves to the
 * machine code at its next loop header or call. INTERP never compiles.
 * COMPILED compiles every function before myr_module_new returns (tests,
 * benchmarks, ahead-of-time use). MIXED compiles every other function
 * before returning, for tests of calls between the two tiers. Without
 * the compiler built in (myr_tier_available), every tier is INTERP. */
typedef enum myr_tier {
	MYR_TIER_AUTO = 0,
	MYR_TIER_INTERP = 1,
	MYR_TIER_COMPILED = 2,
	MYR_TIER_MIXED = 3,
} myr_tier;

/* Whether this build and machine can compile; if not, why (in why). */
bool myr_tier_available(char *why, size_t why_len);
/* "auto", "interp", "compiled", "mixed"; parsing returns false for
 * anything else. */
const char *myr_tier_name(myr_tier tier);
bool myr_tier_parse(const char *name, myr_tier *out);

typedef struct myr_config {
	/* MYR_FEATURE_* bits. */
	uint32_t features;
	/* Largest value stack of one instance, in bytes. Past it a call traps
	 * with "call stack exhausted". Stacks start small and grow. */
	size_t max_stack_bytes;
	/* Initial value stack of one instance, in bytes. */
	size_t initial_stack_bytes;
	/* Largest linear memory, in bytes; memory.grow past it returns -1 and
	 * a module whose minimum exceeds it fails to instantiate. */
	uint64_t max_memory_bytes;
	/* Largest table, in elements (same rules as memory). */
	uint32_t max_table_elems;
	/* Most instances alive at once (0: no limit). */
	uint64_t max_instances;
	/* Linear memories come from slab slots sized in powers of two up to
	 * 256 MiB; larger ones get a mapping of their own, at most this
	 * many at once. */
	uint32_t max_large_memories;
	/* Slots of at most this many bytes are populated in bulk as they are
	 * handed out, which is several times cheaper than first-touch page
	 * faults on virtual machines (0: never populate). */
	size_t populate_max_slot;
	/* The tier modules run in. myr_config_default takes it from the
	 * environment variable MYRIAD_TIER if set (auto, interp, compiled,
	 * mixed), else AUTO. */
	myr_tier tier;
	/* A directory where compiled code is kept between runs, keyed by the
	 * module's SHA-256, myriad's version and the CPU features the code
	 * uses (NULL: no cache). The engine copies the string. */
	const char *code_cache_dir;
	/* Actors (see "Actors" below). Largest message in bytes (default
	 * 1 MiB); bytes queued in one mailbox (default 64 MiB); bytes queued
	 * in all mailboxes together (default a quarter of the machine's
	 * memory); actors alive at once (default 4,194,304; at most
	 * 16,777,215). A queued message counts its payload plus 32 bytes. */
	size_t max_message_bytes;
	uint64_t max_mailbox_bytes;
	uint64_t max_queued_bytes;
	uint64_t max_actors;
} myr_config;

void myr_config_default(myr_config *cfg);
myr_engine *myr_engine_new(const myr_config *cfg /* NULL: defaults */);
void myr_engine_free(myr_engine *engine);
const myr_config *myr_engine_config(const myr_engine *engine);

/* ------------------------------------------------------------------ */
/* Modules                                                             */

typedef enum myr_externkind {
	MYR_EXTERN_FUNC = 0,
	MYR_EXTERN_TABLE = 1,
	MYR_EXTERN_MEMORY = 2,
	MYR_EXTERN_GLOBAL = 3,
} myr_externkind;

typedef struct myr_limits {
	uint64_t min;
	uint64_t max; /* meaningful only if has_max */
	bool has_max;
} myr_limits;

/* The type of an import or export. Names are UTF-8 and may contain NUL
 * bytes, so they always come with a length. */
typedef struct myr_externdesc {
	const char *module; /* imports only */
	size_t module_len;
	const char *name;
	size_t name_len;
	myr_externkind kind;
	myr_functype func;	 /* MYR_EXTERN_FUNC */
	myr_valtype elem;	 /* MYR_EXTERN_TABLE: element type */
	myr_limits limits;	 /* TABLE (elements), MEMORY (pages) */
	uint32_t page_size;	 /* MEMORY: bytes per page */
	myr_valtype global_type; /* MYR_EXTERN_GLOBAL */
	bool global_mutable;
} myr_externdesc;

/* Decodes, validates and compiles. The bytes are copied; on failure
 * returns NULL and fills err (offset and function index included). */
myr_module *myr_module_new(myr_engine *engine, const uint8_t *bytes, size_t len,
			   myr_error *err);
void myr_module_free(myr_module *module);

/* The same, using compiled code the embedder kept (what myr_module_code
 * returned, for the same module bytes, myriad version and CPU). The code
 * is checked before use: if it does not match, it is not used, the
 * module is compiled as its tier says, and myr_module_code_note says
 * why. */
myr_module *myr_module_new_with_code(myr_engine *engine, const uint8_t *bytes,
				     size_t len, const uint8_t *code,
				     size_t code_len, myr_error *err);
/* The module's compiled code as one buffer (malloc'd, for the caller to
 * free), in the code cache's format. Waits for a background compilation
 * to finish. False, with err, if the module has no compiled code. */
bool myr_module_code(myr_module *module, uint8_t **code, size_t *code_len,
		     myr_error *err);
/* Why supplied or cached code was not used, or why compiling failed (the
 * module then runs interpreted); NULL if nothing went wrong. */
const char *myr_module_code_note(const myr_module *module);
/* Waits until the background compiler has done what it will do for the
 * module; returns how many of its functions have machine code. */
uint32_t myr_module_wait_compiled(myr_module *module);

/* Bytes one instance takes besides its linear memories, and (in
 * *memory_bytes) the initial size of its own linear memories. */
uint64_t myr_module_instance_size(const myr_module *module,
				  uint64_t *memory_bytes);

/* Prepares room for n more instances of the module: their blocks and
 * small linear memories are committed now, in bulk, instead of page by
 * page when first touched (several times cheaper on virtual machines).
 * Optional. False if address space ran out. */
bool myr_module_reserve(myr_module *module, uint64_t n);

size_t myr_module_import_count(const myr_module *module);
size_t myr_module_export_count(const myr_module *module);
/* Descriptions stay valid as long as the module. */
bool myr_module_import(const myr_module *module, size_t i, myr_externdesc *out);
bool myr_module_export(const myr_module *module, size_t i, myr_externdesc *out);

/* ------------------------------------------------------------------ */
/* Host objects and externs                                            */

typedef struct myr_extern {
	myr_externkind kind;
	union {
		myr_func *func;
		myr_table *table;
		myr_memory *memory;
		myr_global *global;
	} of;
} myr_extern;

/* What a host function returns. */
typedef enum myr_hostret {
	MYR_HOST_OK = 0,
	MYR_HOST_TRAP,	/* after myr_caller_trap() or myr_caller_exit() */
	MYR_HOST_YIELD, /* done, and the caller's time slice ends here */
	MYR_HOST_BLOCK, /* not done: see myr_caller_block */
} myr_hostret;

/* A host function reads args[0..nparams) and writes results[0..nresults),
 * typed as its myr_functype says: each results[i] arrives with its type
 * already set and its value zeroed, so writing the value is enough.
 * caller gives access to the calling instance's memory (NULL when called
 * directly through myr_func_call). */
typedef myr_hostret (*myr_host_fn)(myr_caller *caller, void *env,
				   const myr_val *args, myr_val *results);

myr_func *myr_func_new(myr_engine *engine, const myr_functype *type,
		       myr_host_fn fn, void *env, void (*env_free)(void *));
/* Frees a host function. Functions of instances are freed with them. */
void myr_func_free(myr_func *func);
/* The type stays valid as long as the function. */
const myr_functype *myr_func_type(const myr_func *func);

/* The instance that called the host function, and its memory 0 (NULL if it
 * has none). Valid only during the host call. */
myr_instance *myr_caller_instance(myr_caller *caller);
myr_memory *myr_caller_memory(myr_caller *caller);
/* Ends the calling instance with a trap carrying msg; return its value. */
myr_hostret myr_caller_trap(myr_caller *caller, const char *msg);
/* Ends the calling instance as an exit with this code (e.g. proc_exit). */
myr_hostret myr_caller_exit(myr_caller *caller, int code);
/* The call has done its work; the instance gives up the rest of its time
 * slice (e.g. sched_yield). Return its value. */
myr_hostret myr_caller_yield(myr_caller *caller);
/* The call cannot complete yet: the instance is parked, without holding a
 * thread, until wake_at_ns (CLOCK_MONOTONIC; 0 for no timer) or until
 * myr_instance_wake, and then the host function is called again with the
 * same arguments. Return its value. Under myr_func_call, which has no
 * scheduler, the calling thread sleeps instead. */
myr_hostret myr_caller_block(myr_caller *caller, uint64_t wake_at_ns);
/* True during the call made again after a block (by the timer or a wake),
 * so a blocking host function can tell it from the first call. */
bool myr_caller_resumed(myr_caller *caller);

myr_global *myr_global_new(myr_engine *engine, myr_valtype type, bool mutable_,
			   myr_val init);
void myr_global_free(myr_global *global);
myr_val myr_global_get(const myr_global *global);
/* Fails (returns false) if the global is immutable or the type differs. */
bool myr_global_set(myr_global *global, myr_val v);
myr_valtype myr_global_type(const myr_global *global, bool *mutable_);

myr_table *myr_table_new(myr_engine *engine, myr_valtype elem,
			 myr_limits limits, myr_error *err);
void myr_table_free(myr_table *table);
uint32_t myr_table_size(const myr_table *table);
bool myr_table_get(const myr_table *table, uint32_t i, myr_val *out);
bool myr_table_set(myr_table *table, uint32_t i, myr_val v);

/* limits are in pages of page_size bytes (65536, or 1 for the
 * custom-page-sizes proposal). */
myr_memory *myr_memory_new(myr_engine *engine, myr_limits limits,
			   uint32_t page_size, myr_error *err);
void myr_memory_free(myr_memory *memory);
/* The memory's bytes. Growing may move them: the pointer is valid until
 * the next memory.grow or myr_memory_grow. */
uint8_t *myr_memory_data(myr_memory *memory);
uint64_t myr_memory_size(const myr_memory *memory); /* bytes */
uint32_t myr_memory_page_size(const myr_memory *memory);
/* Grows by delta pages; returns the old size in pages, or -1. */
int64_t myr_memory_grow(myr_memory *memory, uint64_t delta);

/* ------------------------------------------------------------------ */
/* Instances                                                           */

/* imports[i] satisfies the module's import i (see myr_module_import).
 * Runs active segments and the start function. On failure returns NULL
 * and fills err; a trap during instantiation keeps the effects the spec
 * says it keeps on imported memories and tables. */
myr_instance *myr_instance_new(myr_module *module, const myr_extern *imports,
			       size_t nimports, myr_error *err);
void myr_instance_free(myr_instance *inst);
const myr_module *myr_instance_module(const myr_instance *inst);

/* Looks an export up by name. The objects stay valid as long as inst. */
bool myr_instance_export(myr_instance *inst, const char *name, size_t name_len,
			 myr_extern *out);

/* Calls a function and runs it to completion. args are typed as
 * myr_func_type(func) says; a wrong count or type is MYR_ERR_ARGUMENT.
 * results needs room for every result (nresults at least the type's);
 * each is filled in whole, type included, so its type need not be set. */
bool myr_func_call(myr_func *func, const myr_val *args, size_t nargs,
		   myr_val *results, size_t nresults, myr_error *err);

/* ------------------------------------------------------------------ */
/* Pausable execution                                                  */

/* Every instance owns one value stack, so it runs at most one call at a
 * time. A call is started, then run in slices of fuel: one unit of fuel is
 * about one internal instruction, spent at loop back-edges and calls. An
 * instance that ran out of fuel can be resumed later, from any thread. */
typedef enum myr_status {
	MYR_STATUS_IDLE = 0, /* no call started */
	MYR_STATUS_READY,    /* started or paused: myr_instance_run resumes */
	MYR_STATUS_DONE,     /* finished; results available */
	MYR_STATUS_TRAPPED,  /* trapped; myr_instance_error says why */
	MYR_STATUS_BLOCKED,  /* parked by a host call; see myr_caller_block */
	/* Ended by an exit (myr_caller_exit, e.g. WASI proc_exit), which is
	 * the program's way to finish, not a fault: myr_instance_exit_code
	 * gives the code; myr_instance_error describes it as MYR_TRAP_EXIT
	 * and myr_func_call fails with that error. */
	MYR_STATUS_EXITED,
} myr_status;

bool myr_instance_start(myr_instance *inst, myr_func *func, const myr_val *args,
			size_t nargs, myr_error *err);
/* Runs until the call finishes, traps or spends fuel (then READY). A
 * BLOCKED instance stays BLOCKED until its wake time or a wake. */
myr_status myr_instance_run(myr_instance *inst, int64_t fuel);
/* Wakes an instance parked by myr_caller_block, before its timer if it
 * has one; a wake that comes while the instance is not blocked makes its
 * next block return at once. Safe from any thread, but not concurrently
 * with freeing the instance: wake only instances known to be alive. */
void myr_instance_wake(myr_instance *inst);
myr_status myr_instance_status(const myr_instance *inst);
/* Copies up to n results of a DONE call, type included; returns how many
 * there are. */
size_t myr_instance_results(const myr_instance *inst, myr_val *results,
			    size_t n);
/* The trap of a TRAPPED instance (or the MYR_TRAP_EXIT of an EXITED one).
 * Never NULL; valid until the instance is freed, or, if memory ran out
 * for it, until the next myr_instance_error call on the same thread. */
const myr_error *myr_instance_error(const myr_instance *inst);
/* True if the instance's call ended by an exit (MYR_STATUS_EXITED), with
 * the code given to myr_caller_exit in *code (code may be NULL); false if
 * it returned, trapped or has not ended. */
bool myr_instance_exit_code(const myr_instance *inst, int *code);

/* ------------------------------------------------------------------ */
/* The scheduler: many instances on a few threads                      */

/* Instances whose call was started with myr_instance_start run in slices
 * of about slice_ns on `threads` worker threads, each with its own run
 * queue; idle workers steal work. When an instance's call ends (status
 * DONE, EXITED or TRAPPED), on_done is called on the worker thread that
 * ran it; the callback may read its results and free it. */
typedef struct myr_sched myr_sched;

typedef void (*myr_done_fn)(myr_instance *inst, myr_status status, void *user);

typedef struct myr_sched_stats {
	uint64_t added;	    /* instances added */
	uint64_t completed; /* finished with results */
	uint64_t exited;    /* ended by an exit (MYR_STATUS_EXITED) */
	uint64_t trapped;   /* ended by a trap, exits not included */
	uint64_t live;	    /* added, not yet finished */
	uint64_t live_peak;
	uint64_t slices;
	/* The fewest and most slices an instance got: over the finished
	 * instances during a run, and also over those a stopped run left
	 * unfinished when read after myr_sched_run returns. */
	uint64_t slices_per_instance_min, slices_per_instance_max;
	double slice_ns_p50, slice_ns_p99, slice_ns_mean; /* sampled */
	double switch_ns; /* mean, sampled; see docs/architecture.md */
	double wall_s;	  /* since myr_sched_run started */
	uint32_t threads;
	uint32_t steals;	/* batches handed to idle workers */
	int64_t fuel_per_slice; /* current budget of worker 0 */
} myr_sched_stats;

typedef struct myr_sched_config {
	uint32_t threads;  /* 0: one per online CPU */
	uint64_t slice_ns; /* target slice length; 0: 1000 (1 us) */
	int64_t fuel;	   /* fixed fuel per slice instead (0: adapt) */
	myr_done_fn on_done;
	void *user;
	/* Called every progress_ms (0: never) on the thread inside
	 * myr_sched_run, with the current figures. */
	void (*on_progress)(const myr_sched_stats *stats, void *user);
	uint32_t progress_ms;
} myr_sched_config;

myr_sched *myr_sched_new(myr_engine *engine, const myr_sched_config *cfg);
void myr_sched_free(myr_sched *sched);
/* Adds a started instance (status READY); false if it is not READY or
 * memory ran out. Outside a run: from one thread at a time, and not while
 * myr_sched_run is being entered. During a run: from any threads at once
 * (on_done callbacks, host functions, other threads). An instance added
 * from another thread just as the run ends is run before myr_sched_run
 * returns, or, if it came after the run's last look, stays queued for the
 * next myr_sched_run (myr_sched_get_stats' `live` counts it). */
bool myr_sched_add(myr_sched *sched, myr_instance *inst);
/* Runs until every added instance is done or myr_sched_stop is called;
 * instances not finished then stay READY and can be run again. */
void myr_sched_run(myr_sched *sched);
/* Asks the run to stop at the workers' next slice boundary. Safe from a
 * signal handler. */
void myr_sched_stop(myr_sched *sched);
void myr_sched_get_stats(const myr_sched *sched, myr_sched_stats *out);
/* Takes every instance still in the scheduler out of it (after a stopped
 * run) and passes each to fn, e.g. to free it. */
void myr_sched_drain(myr_sched *sched,
		     void (*fn)(myr_instance *inst, void *user), void *user);

/* Where an engine's memory goes: for measuring the per-instance cost. */
typedef struct myr_engine_stats {
	uint64_t instances_live;
	uint64_t memory_reserved;  /* address space of memory slabs */
	uint64_t memory_populated; /* bytes of it populated in bulk */
	uint64_t memory_slots_live;
	uint64_t blocks_populated; /* instance blocks populated in bulk */
	uint64_t mappings;	   /* slab regions */
} myr_engine_stats;

void myr_engine_get_stats(myr_engine *engine, myr_engine_stats *out);

/* Slices run and the index given by the embedder, for schedulers. */
void myr_instance_set_user(myr_instance *inst, void *user, uint64_t index);
void *myr_instance_user(const myr_instance *inst, uint64_t *index);

/* Fuel a paused or parked run had left when it stopped (at most what the
 * last myr_instance_run gave; 0 or less after running out), for
 * embedders that give a call a total budget across slices. */
int64_t myr_instance_fuel_left(const myr_instance *inst);
/* When a BLOCKED instance's timer fires (CLOCK_MONOTONIC ns), so that an
 * embedder running it without the scheduler knows when to call
 * myr_instance_run again; 0 if it waits for myr_instance_wake only. */
uint64_t myr_instance_wake_at(const myr_instance *inst);

/* ------------------------------------------------------------------ */
/* Actors                                                              */

/*
 * Instances that spawn, message, link and monitor each other, with
 * Erlang's semantics, through the host module "myriad" (the guest ABI is
 * in docs/guide-actors.md). A myr_actors belongs to one scheduler: every
 * actor is an instance run by it. Actors' instances are owned by the
 * actor system (the scheduler's on_done is not called for them; see
 * on_exit); myr_actors_free frees those still alive, e.g. after a
 * stopped run and myr_sched_drain.
 *
 * A pid is an int64 > 0: bits 0..23 a generation (never 0), 24..47 a
 * slot index, 48..61 a node id (0 here); bits 62 and 63 are 0. A pid of
 * an actor that has ended never names another. Monitor refs have bit 62
 * set, so a ref is never a pid (except spawn's monitor, whose ref is the
 * child's pid). The host has a pid of its own.
 */
typedef struct myr_actors myr_actors;

/* These few are macros spelled exactly as in myriad_actor.h, the guests'
 * header, so that a program may include both. */
#define MYR_SPAWN_LINK	  1
#define MYR_SPAWN_MONITOR 2

/* Why an actor ended. 256 + code: proc_exit(code), code != 0; other
 * values are the guest's own. */
enum {
	MYR_REASON_NORMAL = 0,
	MYR_REASON_TRAP = 1,
	MYR_REASON_KILL = 2,
	MYR_REASON_NOPROC = 3,
	MYR_REASON_EXIT = 256,
};

/* System message tags. EXIT's payload: pid i64, reason i32 (12 bytes);
 * DOWN's: ref i64, pid i64, reason i32 (20 bytes), little-endian. */
#define MYR_TAG_EXIT (-1)
#define MYR_TAG_DOWN (-2)

/* send: 0 queued (or dropped: the receiver has ended), -1 larger than
 * max_message_bytes, -2 the receiver's mailbox (or all mailboxes
 * together) is full, -3 the tag is negative (those are the system
 * messages'); nothing was queued. spawn: -1 the actor limit, an
 * instance limit or memory ran out, -2 no export of that name and type
 * () -> (). receive: -1 timed out. */
#define MYR_SEND_TOO_BIG (-1)
#define MYR_SEND_FULL	 (-2)
#define MYR_SEND_BAD_TAG (-3)
enum {
	MYR_SPAWN_FAILED = -1,
	MYR_SPAWN_NO_ENTRY = -2,
	MYR_RECEIVE_TIMEOUT = -1,
};

typedef struct myr_actors_config {
	/* An actor ended, with this reason. Called on the thread where it
	 * ended, before its instance is freed (inst's results and error
	 * can be read; inst is NULL if it never started). */
	void (*on_exit)(int64_t pid, int32_t reason, myr_instance *inst,
			void *user);
	/* A message to the host's pid. If set, it is called on the
	 * sender's thread and the message is not queued; else messages
	 * wait for myr_actors_receive. */
	void (*on_message)(int64_t from, int64_t tag, const void *msg,
			   size_t len, void *user);
	void *user;
} myr_actors_config;

typedef struct myr_actors_stats {
	uint64_t live;	       /* actors alive, the host not counted */
	uint64_t live_peak;
	uint64_t spawned;      /* actors started */
	uint64_t messages;     /* messages queued, system ones included */
	uint64_t queued_bytes; /* what the mailboxes hold now */
	uint64_t waiting;      /* actors waiting forever in receive */
} myr_actors_stats;

myr_actors *myr_actors_new(myr_sched *sched, const myr_actors_config *cfg);
void myr_actors_free(myr_actors *actors);
/* The host function for myriad.<name>, or NULL. */
myr_func *myr_actors_func(myr_actors *actors, const char *name, size_t len);
/* Fills imports[i] for every import of module from "myriad"; entries
 * already filled are kept (like myr_wasi_link, which can run after it).
 * Fails with MYR_ERR_LINK naming an unknown name or a wrong type. */
bool myr_actors_link(myr_actors *actors, const myr_module *module,
		     myr_extern *imports, myr_error *err);
/* True if the module imports anything from "myriad". */
bool myr_module_imports_actors(const myr_module *module);

/* Starts an actor from the host: a new instance of module linked with
 * imports, running its export `entry` (() -> (); a reactor's
 * _initialize first), with msg as its first message (tag 0, from the
 * host). flags: MYR_SPAWN_LINK is ignored (the host does not end),
 * MYR_SPAWN_MONITOR sends the host a DOWN when it ends. Returns its pid,
 * or MYR_SPAWN_FAILED / MYR_SPAWN_NO_ENTRY with err filled. The actor
 * runs when the scheduler does (or at once if it is running). */
int64_t myr_actors_spawn(myr_actors *actors, myr_module *module,
			 const myr_extern *imports, size_t nimports,
			 const char *entry, size_t entry_len, const void *msg,
			 size_t msg_len, uint32_t flags, myr_error *err);
/* Makes an instance the caller created an actor that runs func(args)
 * (its module's _initialize first, if it exports one and func is
 * another function). The actor system owns inst from then on, also on
 * failure (0, err filled: inst freed). */
int64_t myr_actors_adopt(myr_actors *actors, myr_instance *inst,
			 myr_func *func, const myr_val *args, size_t nargs,
			 myr_error *err);
/* The pid of the host, of an actor's instance (0 if not an actor). */
int64_t myr_actors_host_pid(const myr_actors *actors);
int64_t myr_actor_pid(const myr_instance *inst);

/* As the guest functions of the same names, from the host's pid. Safe
 * from any thread, during a run or not. */
int myr_actors_send(myr_actors *actors, int64_t to, int64_t tag,
		    const void *msg, size_t len);
int myr_actors_exit(myr_actors *actors, int64_t pid, int32_t reason);
int64_t myr_actors_monitor(myr_actors *actors, int64_t pid);
int myr_actors_demonitor(myr_actors *actors, int64_t ref);
int64_t myr_actors_whereis(myr_actors *actors, const char *name, size_t len);
/* Takes the oldest message to the host whose tag is filter (0: any),
 * waiting up to timeout_ns (0: not at all, -1: forever) on this thread.
 * Returns its length n; when n <= cap it is copied to buf and removed,
 * with its sender and tag in *from and *tag (either may be NULL); when
 * n > cap nothing is removed. MYR_RECEIVE_TIMEOUT if none came. */
int myr_actors_receive(myr_actors *actors, int64_t filter, void *buf,
		       size_t cap, int64_t timeout_ns, int64_t *from,
		       int64_t *tag);
/* The registered name of pid (NUL-terminated, cut to cap), or false. */
bool myr_actors_name(myr_actors *actors, int64_t pid, char *buf, size_t cap);

void myr_actors_get_stats(const myr_actors *actors, myr_actors_stats *out);
/* A deadlock: every live actor waits forever in receive (no timeout),
 * so nothing but the host can ever wake one. Returns how many are stuck
 * (0: no deadlock) and up to max of their pids in pids. Only the
 * embedder knows whether the host will still send: ask when it won't. */
uint64_t myr_actors_deadlocked(myr_actors *actors, int64_t *pids,
			       size_t max);

/* ------------------------------------------------------------------ */
/* WASI preview1                                                       */

/*
 * The wasi_snapshot_preview1 host module, so that programs built with
 * clang --target=wasm32-wasi and wasi-libc run unchanged.
 *
 * A myr_wasi holds what every instance linked with it shares: arguments,
 * environment, preopened directories and the host's stdio descriptors;
 * it is immutable once made, safe to use from any thread, and must
 * outlive those instances. Each instance's own WASI state (files it
 * opened, an unfinished output line, a pending sleep) is made on first
 * need and freed with the instance, so an instance that only writes
 * whole lines and opens nothing costs nothing extra.
 *
 * Blocking: poll_oneoff's sleeps, and reads of a pipe or terminal with
 * nothing to read, park the instance (myr_caller_block) instead of a
 * thread, and sched_yield ends its slice; under myr_func_call the calling
 * thread sleeps. proc_exit ends the instance as an exit
 * (MYR_STATUS_EXITED, myr_instance_exit_code). Capabilities: every path
 * is resolved beneath a preopened directory; `..`, absolute paths and
 * symlinks never reach outside it (ENOTCAPABLE). Pointers are checked
 * against memory 0 (EFAULT). proc_raise and sock_* return ENOSYS; every other
 * preview1 function is implemented (see docs/architecture.md, "WASI").
 */
typedef struct myr_wasi myr_wasi;

typedef struct myr_wasi_dir {
	const char *host_path;	/* a directory on the host */
	const char *guest_path; /* what the program calls it: "/data", "." */
} myr_wasi_dir;

typedef struct myr_wasi_config {
	/* argv[0] is the program's name. Strings are copied. */
	const char *const *argv;
	size_t argc;
	/* "KEY=VALUE" strings; nothing of the host's is passed unless
	 * given here. */
	const char *const *env;
	size_t nenv;
	/* Preopened directories, guest fds 3, 4, ... in this order. */
	const myr_wasi_dir *dirs;
	size_t ndirs;
	/* Host descriptors behind guest fds 0, 1, 2 (default 0, 1, 2;
	 * -1: the fd is not open). Not closed by myr_wasi_free. */
	int stdin_fd, stdout_fd, stderr_fd;
	/* More than 0: a run of this many instances. Each instance's
	 * environment gets MYRIAD_INSTANCE=<its index> (the index given to
	 * myr_instance_set_user) and MYRIAD_INSTANCES=<instances>. */
	uint64_t instances;
	/* Buffer each instance's stdout and stderr and write them to the
	 * host in whole lines, so that lines of concurrent instances never
	 * mix (a line longer than 64 KiB is written in pieces). A partial
	 * last line is written, with a newline added, when the instance
	 * exits, is flushed or freed. Without it, writes go straight
	 * through. */
	bool whole_lines;
} myr_wasi_config;

/* Defaults: no arguments, environment or directories; stdio 0, 1, 2. */
void myr_wasi_config_default(myr_wasi_config *cfg);
/* Opens the preopened directories; fails (MYR_ERR_ARGUMENT) naming one
 * that cannot be opened. */
myr_wasi *myr_wasi_new(myr_engine *engine, const myr_wasi_config *cfg,
		       myr_error *err);
/* After every instance linked with it is freed. */
void myr_wasi_free(myr_wasi *wasi);

/* The host function for wasi_snapshot_preview1.<name> (owned by wasi),
 * or NULL if preview1 has no function of that name. */
myr_func *myr_wasi_func(myr_wasi *wasi, const char *name, size_t name_len);
/* Fills imports[i] (for myr_instance_new) for every import of module
 * from wasi_snapshot_preview1. Entries already filled (a non-NULL
 * object) are kept: to add host functions of your own, zero the array,
 * fill yours, then call this. Fails with MYR_ERR_LINK naming the first
 * import that is neither filled nor a preview1 function of the right
 * type. */
bool myr_wasi_link(myr_wasi *wasi, const myr_module *module,
		   myr_extern *imports, myr_error *err);
/* Writes out the instance's buffered partial lines now (whole_lines),
 * e.g. when its call has ended and it is kept alive. */
void myr_wasi_flush(myr_wasi *wasi, myr_instance *inst);
/* How the instance's program ended: true with *code = 0 if its call
 * returned, or the value given to proc_exit; false if it trapped or has
 * not ended. */
bool myr_wasi_exit_code(const myr_instance *inst, int *code);

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_H */
