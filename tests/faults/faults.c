/*
 * Allocation-failure injection: every allocation the engine makes (malloc,
 * calloc, realloc, posix_memalign, aligned_alloc, strdup, strndup, mmap,
 * and pthread_create, which a scheduler run needs) is made to fail, one at
 * a time, through each scenario below, for every n from the first call
 * until a run makes no more calls than n. Each run must end cleanly: the
 * API returns an error (MYR_ERR_RESOURCE, or a trap for a run that needed
 * memory) with a message, or memory.grow / table.grow returns -1, and a
 * neighbour instance of the same engine still gives its right results.
 * Built with AddressSanitizer, LeakSanitizer checks at exit that nothing
 * of all those failed runs leaked.
 *
 * The test is linked with -Wl,--wrap=malloc,... against the static
 * library, so the engine's calls come here; the C library's own
 * allocations (and LLVM's, which is a shared library) are not counted.
 *
 * Two modes: "once" fails only the n-th call, "from" fails the n-th and
 * every later one (memory that stays exhausted, which exercises the
 * cleanup paths' own allocations).
 *
 * Usage: faults WASM [SCENARIO [MODE N]] (SCENARIO and one N to reproduce
 * one run). FAULTS_TIER=compiled|mixed|auto tries a compiler tier instead
 * of the interpreter.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "myriad.h"

/* ------------------------------------------------------------------ */
/* The wrappers                                                        */

enum { MODE_ONCE, MODE_FROM };
static atomic_bool armed;
static atomic_long calls, injected;
static long fail_at;
static int mode;

/* Calls of each function while armed, for the summary. */
enum {
	F_MALLOC,
	F_CALLOC,
	F_REALLOC,
	F_MEMALIGN,
	F_STRDUP,
	F_MMAP,
	F_THREAD,
	F_COUNT
};
static const char *const fnames[F_COUNT] = {
	"malloc", "calloc", "realloc", "memalign", "strdup", "mmap", "thread"};
static atomic_long by_fn[F_COUNT];

static bool should_fail(int fn)
{
	if (!atomic_load_explicit(&armed, memory_order_relaxed))
		return false;
	atomic_fetch_add(&by_fn[fn], 1);
	long n = atomic_fetch_add(&calls, 1) + 1;
	if (mode == MODE_ONCE ? n == fail_at : n >= fail_at) {
		atomic_fetch_add(&injected, 1);
		return true;
	}
	return false;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);

void *__wrap_malloc(size_t n)
{
	if (should_fail(F_MALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (should_fail(F_CALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	if (should_fail(F_REALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_realloc(p, n);
}

int __wrap_posix_memalign(void **p, size_t align, size_t n)
{
	if (should_fail(F_MEMALIGN))
		return ENOMEM;
	return __real_posix_memalign(p, align, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
	if (should_fail(F_MEMALIGN)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_aligned_alloc(align, n);
}

char *__wrap_strdup(const char *s)
{
	if (should_fail(F_STRDUP)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	if (should_fail(F_STRDUP)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strndup(s, n);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	if (should_fail(F_MMAP)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return __real_mmap(addr, len, prot, flags, fd, off);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	if (should_fail(F_THREAD))
		return EAGAIN;
	return __real_pthread_create(t, attr, fn, arg);
}

/* ------------------------------------------------------------------ */
/* What the module computes                                            */

static const uint64_t K = 1442695040888963407ull;

static uint64_t step(uint64_t x)
{
	return (x * 6364136223846793005ull) ^ K;
}

static uint64_t mix(uint64_t x)
{
	return step(x) + 1;
}

/* The export "work": x stepped n times through the table (index n & 1:
 * 1 is $step, 0 is $mix), plus the global the start function set. */
static uint64_t work_expect(uint64_t x, uint32_t n)
{
	for (; n; n--)
		x = (n & 1) ? step(x) : mix(x);
	return x + 7;
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                            */

typedef enum { OUT_OK, OUT_CLEAN, OUT_BAD } Outcome;

static char bad_why[512];

static Outcome bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static Outcome bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(bad_why, sizeof bad_why, fmt, ap);
	va_end(ap);
	return OUT_BAD;
}

/* An error returned because an allocation failed: a resource error with
 * a message. */
static bool clean_error(const myr_error *err)
{
	return err->kind == MYR_ERR_RESOURCE && err->message[0];
}

/* A run that needed memory it could not get ends in a trap that says so
 * (a resource limit, not a fault of the program). */
static bool clean_trap(const myr_error *err)
{
	return err->kind == MYR_ERR_TRAP && err->trap == MYR_TRAP_LIMIT &&
	       err->message[0];
}

static const char *errstr(const myr_error *err)
{
	static char s[300];
	snprintf(s, sizeof s, "kind %d trap %d: %s", err->kind, err->trap,
		 err->message);
	return s;
}

/* ------------------------------------------------------------------ */
/* Shared state: one engine with a neighbour instance                  */

static uint8_t *wasm;
static size_t wasm_len;
static myr_tier tier = MYR_TIER_INTERP;
/* An engine, the module and a neighbour instance whose memory holds a
 * pattern, all made before any failure is injected. */
typedef struct World {
	myr_engine *engine;
	myr_module *module;
	myr_func *nap;
	myr_instance *neighbour;
} World;

static World shared;

/* Instances blocked by nap(0), for the waker thread (a fixed array: the
 * test itself must not allocate while failures are injected). */
static pthread_mutex_t waiters_lock = PTHREAD_MUTEX_INITIALIZER;
static myr_instance *waiters[64];
static size_t nwaiters;
static atomic_bool waker_stop;

static void *waker(void *arg)
{
	(void)arg;
	while (!atomic_load(&waker_stop)) {
		struct timespec t = {0, 200 * 1000};
		nanosleep(&t, NULL);
		myr_instance *batch[64];
		pthread_mutex_lock(&waiters_lock);
		size_t n = nwaiters;
		memcpy(batch, waiters, n * sizeof *batch);
		nwaiters = 0;
		pthread_mutex_unlock(&waiters_lock);
		for (size_t i = 0; i < n; i++)
			myr_instance_wake(batch[i]);
	}
	return NULL;
}

/* nap(n): blocks for n * 100 us, or until woken if n is 0. */
static myr_hostret nap(myr_caller *c, void *env, const myr_val *args,
		       myr_val *results)
{
	(void)env;
	if (myr_caller_resumed(c)) {
		results[0].of.i32 = 1;
		return MYR_HOST_OK;
	}
	if (args[0].of.i32 == 0) {
		pthread_mutex_lock(&waiters_lock);
		bool room = nwaiters < 64;
		if (room)
			waiters[nwaiters++] = myr_caller_instance(c);
		pthread_mutex_unlock(&waiters_lock);
		if (!room)
			return myr_caller_trap(c, "faults: too many waiters");
		return myr_caller_block(c, 0);
	}
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	uint64_t now = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
	return myr_caller_block(c, now + (uint64_t)args[0].of.i32 * 100000);
}

static myr_engine *new_engine(void)
{
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.tier = tier;
	return myr_engine_new(&cfg);
}

static myr_func *export_func(myr_instance *inst, const char *name)
{
	myr_extern x;
	if (!myr_instance_export(inst, name, strlen(name), &x) ||
	    x.kind != MYR_EXTERN_FUNC)
		return NULL;
	return x.of.func;
}

static myr_extern imports_of(myr_func *f)
{
	return (myr_extern){.kind = MYR_EXTERN_FUNC, .of.func = f};
}

/* Calls work(x, n) on inst: OK with the right result, CLEAN with a
 * resource error or trap, BAD otherwise. */
static Outcome call_work(myr_instance *inst, uint64_t x, uint32_t n)
{
	myr_func *f = export_func(inst, "work");
	if (!f)
		return bad("no export work");
	myr_val args[2] = {{.type = MYR_I64, .of.i64 = (int64_t)x},
			   {.type = MYR_I32, .of.i32 = (int32_t)n}};
	myr_val r;
	myr_error err;
	if (!myr_func_call(f, args, 2, &r, 1, &err)) {
		if (clean_error(&err) || clean_trap(&err))
			return OUT_CLEAN;
		return bad("work: %s", errstr(&err));
	}
	if ((uint64_t)r.of.i64 != work_expect(x, n))
		return bad("work(%llu, %u) = %llu, want %llu",
			   (unsigned long long)x, n,
			   (unsigned long long)r.of.i64,
			   (unsigned long long)work_expect(x, n));
	return OUT_OK;
}

static Outcome call_i32(myr_instance *inst, const char *name, int32_t arg,
			int32_t *out, bool has_arg)
{
	myr_func *f = export_func(inst, name);
	if (!f)
		return bad("no export %s", name);
	myr_val a = {.type = MYR_I32, .of.i32 = arg}, r;
	myr_error err;
	if (!myr_func_call(f, &a, has_arg ? 1 : 0, &r, 1, &err)) {
		if (clean_error(&err) || clean_trap(&err))
			return OUT_CLEAN;
		return bad("%s: %s", name, errstr(&err));
	}
	*out = r.of.i32;
	return OUT_OK;
}

/* The neighbour: set up before any failure, checked after each run. */
static bool neighbour_ok(const World *w)
{
	myr_instance *neighbour = w->neighbour;
	myr_extern x;
	if (!myr_instance_export(neighbour, "mem", 3, &x))
		return false;
	uint8_t *mem = myr_memory_data(x.of.memory);
	if (memcmp(mem + 16, "myriad faults", 13) != 0)
		return false;
	for (int i = 0; i < 256; i++)
		if (mem[1024 + i] != (uint8_t)(i * 7))
			return false;
	int32_t size;
	if (call_i32(neighbour, "table_size", 0, &size, false) != OUT_OK ||
	    size != 2)
		return false;
	return call_work(neighbour, 12345, 300) == OUT_OK;
}

static bool world_new(World *w)
{
	myr_error err;
	memset(w, 0, sizeof *w);
	w->engine = new_engine();
	if (!w->engine)
		return false;
	myr_functype nap_type = {1, 1, (myr_valtype[]){MYR_I32},
				 (myr_valtype[]){MYR_I32}};
	w->nap = myr_func_new(w->engine, &nap_type, nap, NULL, NULL);
	w->module = myr_module_new(w->engine, wasm, wasm_len, &err);
	myr_extern imp = imports_of(w->nap);
	w->neighbour = w->module && w->nap
			       ? myr_instance_new(w->module, &imp, 1, &err)
			       : NULL;
	if (!w->neighbour)
		return false;
	myr_extern mx;
	myr_instance_export(w->neighbour, "mem", 3, &mx);
	for (int i = 0; i < 256; i++)
		myr_memory_data(mx.of.memory)[1024 + i] = (uint8_t)(i * 7);
	return true;
}

static void world_free(World *w)
{
	myr_instance_free(w->neighbour);
	myr_func_free(w->nap);
	myr_module_free(w->module);
	myr_engine_free(w->engine);
}

static void arm(void)
{
	atomic_store(&armed, true);
}

static void disarm(void)
{
	atomic_store(&armed, false);
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */

/* Engine creation, then decode, validation, translation and the
 * instance layout of a module, in an engine of its own and in the
 * shared one. */
static Outcome sc_module(void)
{
	arm();
	myr_engine *e = new_engine();
	if (!e)
		return OUT_CLEAN;
	Outcome out = OUT_OK;
	myr_error err;
	myr_module *m = myr_module_new(e, wasm, wasm_len, &err);
	if (!m)
		out = clean_error(&err) ? OUT_CLEAN
					: bad("module_new: %s", errstr(&err));
	myr_module_free(m);
	myr_engine_free(e);
	if (out != OUT_OK)
		return out;
	m = myr_module_new(shared.engine, wasm, wasm_len, &err);
	if (!m)
		return clean_error(&err) ? OUT_CLEAN
					 : bad("module_new: %s", errstr(&err));
	myr_module_free(m);
	return OUT_OK;
}

/* Instantiation, calls, value-stack growth, a trap and its error,
 * exports of a global, host objects. */
static Outcome instance_in(World *w)
{
	myr_engine *engine = w->engine;
	myr_extern imp = imports_of(w->nap);
	myr_error err;
	myr_instance *inst = myr_instance_new(w->module, &imp, 1, &err);
	if (!inst)
		return clean_error(&err)
			       ? OUT_CLEAN
			       : bad("instance_new: %s", errstr(&err));
	Outcome out = call_work(inst, 99, 100);
	int32_t depth = 0;
	if (out == OUT_OK) {
		out = call_i32(inst, "down", 3000, &depth, true);
		if (out == OUT_OK && depth != 3000)
			out = bad("down(3000) = %d", depth);
	}
	if (out == OUT_OK) {
		/* A trap's error is built when asked for. */
		myr_val a = {.type = MYR_I64, .of.i64 = 1};
		myr_func *boom = export_func(inst, "boom");
		if (!boom)
			out = bad("no export boom");
		else if (!myr_instance_start(inst, boom, &a, 1, &err))
			out = clean_error(&err)
				      ? OUT_CLEAN
				      : bad("start: %s", errstr(&err));
		else if (myr_instance_run(inst, 1000000) != MYR_STATUS_TRAPPED)
			out = bad("boom did not trap");
		else {
			const myr_error *e = myr_instance_error(inst);
			if (!e || e->trap != MYR_TRAP_UNREACHABLE)
				out = bad("boom's error: %s",
					  e ? errstr(e) : "NULL");
		}
	}
	if (out == OUT_OK) {
		myr_extern g;
		if (!myr_instance_export(inst, "g", 1, &g))
			out = OUT_CLEAN; /* the global object's allocation */
		else if (myr_global_get(g.of.global).of.i64 != 7)
			out = bad("global g is not 7");
	}
	myr_instance_free(inst);
	if (out != OUT_OK)
		return out;
	/* Bulk commit of blocks and memory slots for more instances. */
	if (!myr_module_reserve(w->module, 5000))
		return OUT_CLEAN;
	myr_table *t = myr_table_new(
		engine, MYR_FUNCREF,
		(myr_limits){.min = 10, .max = 20, .has_max = true}, &err);
	if (!t)
		return clean_error(&err) ? OUT_CLEAN
					 : bad("table_new: %s", errstr(&err));
	myr_table_free(t);
	myr_memory *mem =
		myr_memory_new(engine, (myr_limits){.min = 1}, 65536, &err);
	if (!mem)
		return clean_error(&err) ? OUT_CLEAN
					 : bad("memory_new: %s", errstr(&err));
	int64_t old = myr_memory_grow(mem, 40);
	if (old != 1 && old != -1)
		out = bad("myr_memory_grow returned %lld", (long long)old);
	else if (myr_memory_size(mem) != (old == 1 ? 41u : 1u) * 65536)
		out = bad("memory size %llu after grow returned %lld",
			  (unsigned long long)myr_memory_size(mem),
			  (long long)old);
	else if (old == -1)
		out = OUT_CLEAN;
	myr_memory_free(mem);
	return out;
}

/* memory.grow past the slot (the memory moves to a slot of a bigger
 * class, which maps a region) and table.grow, from wasm. */
static Outcome grow_in(World *w)
{
	myr_extern imp = imports_of(w->nap);
	myr_error err;
	myr_instance *inst = myr_instance_new(w->module, &imp, 1, &err);
	if (!inst)
		return clean_error(&err)
			       ? OUT_CLEAN
			       : bad("instance_new: %s", errstr(&err));
	Outcome out = OUT_OK;
	bool failed = false;
	myr_extern mx;
	myr_instance_export(inst, "mem", 3, &mx);
	/* 1 page, then 21 (2 MiB class), then 100 (8 MiB class). */
	int32_t steps[2] = {20, 79}, pages = 1;
	for (int i = 0; i < 2 && out == OUT_OK; i++) {
		int32_t r;
		out = call_i32(inst, "grow_mem", steps[i], &r, true);
		if (out != OUT_OK)
			break;
		if (r == -1)
			failed = true;
		else if (r != pages)
			out = bad("memory.grow returned %d, want %d", r, pages);
		else
			pages += steps[i];
		if (out == OUT_OK &&
		    myr_memory_size(mx.of.memory) != (uint64_t)pages * 65536)
			out = bad("memory of %llu bytes, want %d pages",
				  (unsigned long long)myr_memory_size(
					  mx.of.memory),
				  pages);
	}
	int32_t elems = 2;
	int32_t tsteps[2] = {100, 5000};
	for (int i = 0; i < 2 && out == OUT_OK; i++) {
		int32_t r, size;
		out = call_i32(inst, "grow_table", tsteps[i], &r, true);
		if (out != OUT_OK)
			break;
		if (r == -1)
			failed = true;
		else if (r != elems)
			out = bad("table.grow returned %d, want %d", r, elems);
		else
			elems += tsteps[i];
		if (out == OUT_OK) {
			out = call_i32(inst, "table_size", 0, &size, false);
			if (out == OUT_OK && size != elems)
				out = bad("table of %d, want %d", size, elems);
		}
	}
	if (out == OUT_OK)
		out = call_work(inst, 5, 77);
	myr_instance_free(inst);
	return out == OUT_OK && failed ? OUT_CLEAN : out;
}

/* A fresh engine for each run, so that the slab regions (mappings) are
 * made inside it; its own neighbour is checked as well. */
static Outcome in_fresh_world(Outcome (*fn)(World *w))
{
	World w;
	if (!world_new(&w))
		return bad("cannot set up a fresh engine");
	arm();
	Outcome out = fn(&w);
	disarm();
	if (!neighbour_ok(&w))
		out = bad("the neighbour in the same engine changed");
	world_free(&w);
	return out;
}

static Outcome sc_instance(void)
{
	return in_fresh_world(instance_in);
}

static Outcome sc_grow(void)
{
	return in_fresh_world(grow_in);
}

/* A scheduler: creation, spawning 40 instances (some sleep in a host
 * call, on the timer heap), a run on `threads` workers. */
typedef struct Tally {
	atomic_int done, wrong, trapped;
	char why[256];
} Tally;

static void on_done(myr_instance *inst, myr_status st, void *user)
{
	Tally *t = user;
	uint64_t index;
	myr_instance_user(inst, &index);
	if (st == MYR_STATUS_DONE) {
		myr_val r;
		myr_instance_results(inst, &r, 1);
		uint64_t want =
			index % 4 >= 2 ? mix(index) : work_expect(index, 50);
		if ((uint64_t)r.of.i64 != want)
			atomic_fetch_add(&t->wrong, 1);
		atomic_fetch_add(&t->done, 1);
	} else {
		const myr_error *e = myr_instance_error(inst);
		if (!e || !clean_trap(e)) {
			snprintf(t->why, sizeof t->why, "instance %llu: %s",
				 (unsigned long long)index,
				 e ? errstr(e) : "no error");
			atomic_fetch_add(&t->wrong, 1);
		}
		atomic_fetch_add(&t->trapped, 1);
	}
	myr_instance_free(inst);
}

static void free_instance(myr_instance *inst, void *user)
{
	(void)user;
	myr_instance_free(inst);
}

static Outcome run_sched(uint32_t threads)
{
	Tally t = {0};
	myr_sched_config cfg = {
		.threads = threads, .fuel = 64, .on_done = on_done, .user = &t};
	myr_module *module = shared.module;
	arm();
	myr_sched *s = myr_sched_new(shared.engine, &cfg);
	if (!s)
		return OUT_CLEAN;
	Outcome out = OUT_OK;
	int added = 0;
	myr_extern imp = imports_of(shared.nap);
	for (int i = 0; i < 40; i++) {
		myr_error err;
		myr_instance *inst = myr_instance_new(module, &imp, 1, &err);
		if (!inst) {
			if (!clean_error(&err)) {
				out = bad("instance_new: %s", errstr(&err));
				break;
			}
			out = OUT_CLEAN;
			continue;
		}
		myr_instance_set_user(inst, NULL, (uint64_t)i);
		/* A quarter sleep on a timer, a quarter wait for a wake
		 * from the waker thread. */
		const char *fn = i % 4 == 3   ? "napper"
				 : i % 4 == 2 ? "waiter"
					      : "work";
		myr_val args[2] = {{.type = MYR_I64, .of.i64 = i},
				   {.type = MYR_I32, .of.i32 = 50}};
		if (!myr_instance_start(inst, export_func(inst, fn), args,
					i % 4 >= 2 ? 1 : 2, &err)) {
			myr_instance_free(inst);
			if (!clean_error(&err)) {
				out = bad("start: %s", errstr(&err));
				break;
			}
			out = OUT_CLEAN;
			continue;
		}
		if (!myr_sched_add(s, inst)) {
			myr_instance_free(inst);
			out = OUT_CLEAN;
			continue;
		}
		added++;
	}
	/* The waker is the test's thread, not the engine's: made with the
	 * real pthread_create. */
	pthread_t wt;
	atomic_store(&waker_stop, false);
	bool waking = __real_pthread_create(&wt, NULL, waker, NULL) == 0;
	myr_sched_run(s);
	atomic_store(&waker_stop, true);
	if (waking)
		pthread_join(wt, NULL);
	nwaiters = 0;
	myr_sched_stats st;
	myr_sched_get_stats(s, &st);
	myr_sched_drain(s, free_instance, NULL);
	myr_sched_free(s);
	if (out == OUT_BAD)
		return out;
	if (atomic_load(&t.wrong))
		return bad("%d wrong results (%s)", atomic_load(&t.wrong),
			   t.why);
	if (atomic_load(&t.done) + atomic_load(&t.trapped) != added)
		return bad("%d of %d instances finished",
			   atomic_load(&t.done) + atomic_load(&t.trapped),
			   added);
	if (st.live != 0)
		return bad("%llu instances still live",
			   (unsigned long long)st.live);
	return atomic_load(&t.trapped) ? OUT_CLEAN : out;
}

static Outcome sc_sched1(void)
{
	return run_sched(1);
}

static Outcome sc_sched2(void)
{
	return run_sched(2);
}

typedef struct Scenario {
	const char *name;
	Outcome (*run)(void);
} Scenario;

static const Scenario scenarios[] = {
	{"module", sc_module}, {"instance", sc_instance}, {"grow", sc_grow},
	{"sched1", sc_sched1}, {"sched2", sc_sched2},
};

/* ------------------------------------------------------------------ */
/* The driver                                                          */

static const char *cur_scenario = "";
static long cur_n;
static int cur_mode;

static void on_alarm(int sig)
{
	(void)sig;
	char msg[200];
	int len = snprintf(
		msg, sizeof msg, "faults: %s %s n=%ld did not finish (hang)\n",
		cur_scenario, cur_mode == MODE_ONCE ? "once" : "from", cur_n);
	if (write(2, msg, (size_t)len) < 0)
		_exit(3);
	_exit(3);
}

/* One run with the n-th allocation failing; returns how many failures
 * were injected (0: the run needed fewer than n allocations). */
static long one_run(const Scenario *sc, int md, long n, int *bads)
{
	cur_scenario = sc->name, cur_n = n, cur_mode = md;
	alarm(60);
	atomic_store(&calls, 0);
	atomic_store(&injected, 0);
	for (int i = 0; i < F_COUNT; i++)
		atomic_store(&by_fn[i], 0);
	fail_at = n;
	mode = md;
	Outcome out = sc->run();
	disarm();
	alarm(0);
	long inj = atomic_load(&injected);
	const char *mname = md == MODE_ONCE ? "once" : "from";
	if (out == OUT_BAD) {
		fprintf(stderr, "BAD %s %s n=%ld: %s\n", sc->name, mname, n,
			bad_why);
		(*bads)++;
	} else if (inj == 0 && out != OUT_OK) {
		fprintf(stderr,
			"BAD %s %s n=%ld: failed with no failure injected\n",
			sc->name, mname, n);
		(*bads)++;
	} else if (inj > 0 && out == OUT_OK && md == MODE_FROM && n == 1) {
		/* Everything failing and yet all fine: the wrappers are not
		 * reached (not linked with --wrap). */
		fprintf(stderr, "BAD %s: no allocation reached the wrappers\n",
			sc->name);
		(*bads)++;
	}
	if (!neighbour_ok(&shared)) {
		fprintf(stderr,
			"BAD %s %s n=%ld: the neighbour instance "
			"changed\n",
			sc->name, mname, n);
		(*bads)++;
	}
	return inj;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr,
			"usage: faults WASM [SCENARIO [once|from N]]\n");
		return 2;
	}
	const char *t = getenv("FAULTS_TIER");
	if (t && !myr_tier_parse(t, &tier)) {
		fprintf(stderr, "faults: unknown tier %s\n", t);
		return 2;
	}
	signal(SIGALRM, on_alarm);
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	fseek(f, 0, SEEK_END);
	wasm_len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	wasm = malloc(wasm_len);
	if (!wasm || fread(wasm, 1, wasm_len, f) != wasm_len) {
		fprintf(stderr, "faults: cannot read %s\n", argv[1]);
		return 2;
	}
	fclose(f);

	if (!world_new(&shared)) {
		fprintf(stderr, "faults: setup failed\n");
		return 2;
	}
	if (!neighbour_ok(&shared)) {
		fprintf(stderr, "faults: the neighbour is wrong before any "
				"failure\n");
		return 1;
	}

	int bads = 0;
	for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++) {
		const Scenario *sc = &scenarios[i];
		if (argc > 2 && strcmp(argv[2], sc->name) != 0)
			continue;
		if (argc > 4) {
			int md = strcmp(argv[3], "from") == 0 ? MODE_FROM
							      : MODE_ONCE;
			long inj = one_run(sc, md, atol(argv[4]), &bads);
			printf("%s %s n=%s: %ld failures injected\n", sc->name,
			       argv[3], argv[4], inj);
			continue;
		}
		long total[2] = {0, 0};
		char kinds[200] = "";
		for (int md = MODE_ONCE; md <= MODE_FROM; md++) {
			long n = 1;
			while (one_run(sc, md, n, &bads) > 0)
				n++;
			total[md] = n - 1;
			/* The last run failed nothing: its calls are the
			 * scenario's whole set. */
			for (int k = 0; md == MODE_ONCE && k < F_COUNT; k++) {
				long c = atomic_load(&by_fn[k]);
				size_t len = strlen(kinds);
				if (c)
					snprintf(kinds + len,
						 sizeof kinds - len, " %s %ld",
						 fnames[k], c);
			}
		}
		printf("%-9s %4ld runs failing one call, %4ld failing every "
		       "call from the n-th (calls:%s)\n",
		       sc->name, total[MODE_ONCE], total[MODE_FROM], kinds);
		fflush(stdout);
	}

	world_free(&shared);
	free(wasm);
	if (bads) {
		fprintf(stderr, "faults: %d bad runs\n", bads);
		return 1;
	}
	printf("faults: every injected failure ended cleanly\n");
	return 0;
}
