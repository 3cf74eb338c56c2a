/*
 * The compiler tier's policy (tier.h): what to compile, when, and where
 * the code comes from (a cache file, the embedder, or LLVM).
 *
 * AUTO compiles on one background thread per module being compiled, at
 * the lowest priority (nice 19), so that busy workers keep their cores:
 * functions in which runs were seen paused (Func.hot, counted by
 * tier_resume_at) go first, in small batches so the first machine code
 * arrives soon; then the rest, in larger batches. Every batch is one
 * object file; calls between batches look up the callee's machine code
 * when made, so a batch can be linked as soon as it is built.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "tier.h"

#ifdef MYR_JIT
#include "codecache.h"
#include "jit.h"
#endif

static const char *const tier_names[] = {"auto", "interp", "compiled", "mixed"};

const char *myr_tier_name(myr_tier t)
{
	return (unsigned)t < 4 ? tier_names[t] : "?";
}

bool myr_tier_parse(const char *name, myr_tier *out)
{
	for (unsigned i = 0; i < 4; i++)
		if (strcmp(name, tier_names[i]) == 0) {
			*out = (myr_tier)i;
			return true;
		}
	return false;
}

#ifndef MYR_JIT

bool myr_tier_available(char *why, size_t why_len)
{
	if (why)
		snprintf(why, why_len,
			 "this myriad was built without the compiler tier "
			 "(LLVM 19 was not found at build time)");
	return false;
}

bool tier_module_start(Module *m, const uint8_t *code, size_t code_len,
		       myr_error *err)
{
	(void)m, (void)code, (void)code_len, (void)err;
	return true;
}

void tier_module_stop(Module *m)
{
	(void)m;
}

const Cell *tier_resume_at(const Module *m, const Cell *pc)
{
	(void)m;
	return pc;
}

bool tier_pending(const Module *m)
{
	(void)m;
	return false;
}

bool myr_module_code(myr_module *m, uint8_t **code, size_t *code_len,
		     myr_error *err)
{
	(void)m, (void)code, (void)code_len;
	char why[160];
	myr_tier_available(why, sizeof why);
	return fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC, "%s",
		    why);
}

const char *myr_module_code_note(const myr_module *m)
{
	(void)m;
	return NULL;
}

uint32_t myr_module_wait_compiled(myr_module *m)
{
	(void)m;
	return 0;
}

#else

/* Larger bodies stay interpreted: LLVM's time grows faster than linearly
 * in a function's size, and such functions are rare and rarely hot. */
#define MAX_BODY	 ((uint32_t)256 << 10)
/* Wasm body bytes per batch: small while hot functions wait (the hottest
 * is always in, whatever its size), then large (fewer objects, fewer
 * mappings). LLVM takes about a second per 10 KB here. */
#define HOT_BATCH	 ((size_t)4 << 10)
#define COLD_BATCH	 ((size_t)64 << 10)
/* AUTO waits this long before compiling, so that a module that is used
 * for a moment (a test, a short command) costs no compilation: freeing a
 * module waits for the batch being compiled. */
#define AUTO_DELAY_NS	 100000000L
/* ... of which it first waits this long before hashing the module and
 * starting LLVM, so that a module used for a moment costs nothing. */
#define AUTO_START_NS	 10000000L
/* A function is hot once a run was seen paused in it this often; counts
 * stop at HOT_CAP. */
#define HOT_CAP		 1024
#define HOT_MIN		 2
/* Functions that are not hot are compiled only once the module has lived
 * this long; hot ones are noticed within AUTO_POLL_NS. */
#define AUTO_COLD_NS	 2000000000L
#define AUTO_POLL_NS	 10000000L
/* What LLVM takes per byte of wasm here, about (docs/performance.md). */
#define AUTO_NS_PER_BYTE 100000L

enum { ST_NONE, ST_BUSY, ST_DONE, ST_DECLINED };

typedef struct Loaded {
	CodeObj obj;
	JitCode *code;
} Loaded;

typedef struct TierModule {
	myr_tier mode;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool has_thread, stop, finished;
	pid_t tid;	/* the background thread's, for its priority */
	uint8_t *state; /* ST_* per defined function */
	uint32_t ndone;
	Loaded *objs;
	size_t nobjs, cap_objs;
	uint8_t hash[32];
	char *cache_path; /* NULL: no cache */
	bool fresh; /* code was compiled here (not all loaded): worth caching */
	bool prepared; /* find_code has run */
	char note[320];
} TierModule;

bool myr_tier_available(char *why, size_t why_len)
{
	return jit_init(why, why_len);
}

static uint32_t ndefs(const Module *m)
{
	return m->nfuncs - m->nfunc_imports;
}

static void set_note(TierModule *t, const char *fmt, const char *a,
		     const char *b)
{
	if (!t->note[0])
		snprintf(t->note, sizeof t->note, fmt, a, b);
}

/* Links one object and records it; takes the object's memory. */
static bool load_obj(Module *m, CodeObj *o, char *err, size_t err_len)
{
	TierModule *t = m->tier;
	JitCode *code;
	if (!jit_load(m, o->bytes, o->len, o->defs, o->n, &code, err, err_len))
		return false;
	pthread_mutex_lock(&t->lock);
	if (t->nobjs == t->cap_objs) {
		size_t cap = t->cap_objs ? t->cap_objs * 2 : 8;
		Loaded *n = realloc(t->objs, cap * sizeof *n);
		if (!n) {
			/* The code stays linked (it is already published);
			 * only the cache loses it. */
			pthread_mutex_unlock(&t->lock);
			free(o->bytes), free(o->defs);
			*o = (CodeObj){0};
			return true;
		}
		t->objs = n;
		t->cap_objs = cap;
	}
	t->objs[t->nobjs++] = (Loaded){*o, code};
	for (uint32_t i = 0; i < o->n; i++)
		t->state[o->defs[i]] = ST_DONE;
	t->ndone += o->n;
	pthread_mutex_unlock(&t->lock);
	*o = (CodeObj){0};
	return true;
}

/* Builds and loads defs[0..n) as one object. If LLVM fails on the batch,
 * each function is tried alone and the ones that fail are declined. */
static void compile_batch(Module *m, uint32_t *defs, uint32_t n, bool quick)
{
	TierModule *t = m->tier;
	char err[256];
	JitObject obj;
	if (jit_build(m, defs, n, quick, &obj, err, sizeof err)) {
		CodeObj o = {.defs = defs,
			     .n = n,
			     .bytes = obj.bytes,
			     .len = obj.len};
		if (load_obj(m, &o, err, sizeof err)) {
			t->fresh = true;
			return;
		}
		free(obj.bytes);
	}
	if (n == 1) {
		pthread_mutex_lock(&t->lock);
		t->state[defs[0]] = ST_DECLINED;
		char fn[32];
		snprintf(fn, sizeof fn, "%u", m->funcs[defs[0]].index);
		set_note(t, "function %s stays interpreted: %s", fn, err);
		pthread_mutex_unlock(&t->lock);
		free(defs);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t *one = malloc(sizeof *one);
		if (!one)
			break;
		*one = defs[i];
		compile_batch(m, one, 1, quick);
	}
	free(defs);
}

/* Whether def is one the mode compiles at all. */
static bool wanted(const Module *m, uint32_t def)
{
	if (m->funcs[def].body_len > MAX_BODY)
		return false;
	return m->tier->mode != MYR_TIER_MIXED || def % 2 == 0;
}

/* The next batch (caller holds the lock): the hottest waiting function
 * and what else fits. NULL when nothing is left. */
static uint32_t *next_batch(Module *m, uint32_t *n, bool cold_ok,
			    int64_t age_ns, bool *left, bool *quick)
{
	TierModule *t = m->tier;
	uint32_t nd = ndefs(m), best = UINT32_MAX, best_hot = 0;
	for (uint32_t i = 0; i < nd; i++) {
		uint32_t h =
			__atomic_load_n(&m->funcs[i].hot, __ATOMIC_RELAXED);
		if (t->state[i] == ST_NONE &&
		    (best == UINT32_MAX || h > best_hot))
			best = i, best_hot = h;
	}
	*left = best != UINT32_MAX;
	bool hot = best_hot >= HOT_MIN;
	if (best == UINT32_MAX || (!hot && !cold_ok))
		return NULL;
	/* AUTO's cold batches are built quickly; every other mode asked for
	 * all its code before the run, so it gets the best. */
	*quick = t->mode == MYR_TIER_AUTO && !hot;
	/* AUTO spends on compiling at most half the time the module has
	 * lived: a short run never waits long for a batch at its end. */
	size_t budget = hot ? HOT_BATCH : COLD_BATCH, used = 0;
	if (t->mode == MYR_TIER_AUTO) {
		size_t afford = (size_t)(age_ns / 2 / AUTO_NS_PER_BYTE);
		if (m->funcs[best].body_len > afford)
			return NULL;
		budget = budget < afford ? budget : afford;
	}
	uint32_t *defs = malloc(sizeof *defs * 64), cap = 64, k = 0;
	if (!defs)
		return NULL;
	defs[k++] = best;
	used += m->funcs[best].body_len;
	t->state[best] = ST_BUSY;
	for (uint32_t i = 0; i < nd && used < budget; i++) {
		if (t->state[i] != ST_NONE)
			continue;
		/* While some functions are hot, batch only hot ones. */
		if (hot && __atomic_load_n(&m->funcs[i].hot, __ATOMIC_RELAXED) <
				   HOT_MIN)
			continue;
		if (used + m->funcs[i].body_len > budget)
			continue;
		if (k == cap) {
			uint32_t *nx = realloc(defs, sizeof *defs * cap * 2);
			if (!nx)
				break;
			defs = nx, cap *= 2;
		}
		defs[k++] = i;
		used += m->funcs[i].body_len;
		t->state[i] = ST_BUSY;
	}
	*n = k;
	return defs;
}

static void write_cache(Module *m)
{
	TierModule *t = m->tier;
	if (!t->cache_path || !t->fresh || t->nobjs == 0)
		return;
	CodeObj *objs = calloc(t->nobjs, sizeof *objs);
	if (!objs)
		return;
	for (size_t i = 0; i < t->nobjs; i++)
		objs[i] = t->objs[i].obj;
	uint8_t *buf;
	size_t len;
	char why[256];
	if (code_serialize(t->hash, objs, t->nobjs, &buf, &len)) {
		if (!code_write_file(t->cache_path, buf, len, why, sizeof why))
			set_note(t, "code cache: %s%s", why, "");
		else
			t->fresh = false;
		free(buf);
	}
	free(objs);
}

/* Compiles everything the mode wants, batch by batch. */
static void compile_all(Module *m)
{
	TierModule *t = m->tier;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t age = (now.tv_sec - t0.tv_sec) * 1000000000L +
			      (now.tv_nsec - t0.tv_nsec) + AUTO_DELAY_NS;
		bool cold_ok = t->mode != MYR_TIER_AUTO || age >= AUTO_COLD_NS;
		pthread_mutex_lock(&t->lock);
		uint32_t n = 0;
		bool left = false, quick = false;
		uint32_t *defs = t->stop ? NULL
					 : next_batch(m, &n, cold_ok, age,
						      &left, &quick);
		if (!defs && left && !t->stop) {
			/* Nothing hot yet: look again in a moment. */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += AUTO_POLL_NS;
			if (until.tv_nsec >= 1000000000L)
				until.tv_sec++, until.tv_nsec -= 1000000000L;
			pthread_cond_timedwait(&t->cond, &t->lock, &until);
			pthread_mutex_unlock(&t->lock);
			continue;
		}
		pthread_mutex_unlock(&t->lock);
		if (!defs)
			break;
		compile_batch(m, defs, n, quick);
	}
	pthread_mutex_lock(&t->lock);
	bool stopped = t->stop;
	pthread_mutex_unlock(&t->lock);
	if (!stopped)
		write_cache(m);
	pthread_mutex_lock(&t->lock);
	/* Release: tier_pending reads it without the lock. */
	__atomic_store_n(&t->finished, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

/* Loads code from a cache file or the embedder's buffer; false (with a
 * note) if it is not for this module, CPU and myriad. */
static bool load_code(Module *m, const uint8_t *buf, size_t len,
		      const char *what)
{
	TierModule *t = m->tier;
	CodeObj *objs;
	size_t n;
	char why[256];
	if (!code_parse(buf, len, t->hash, ndefs(m), &objs, &n, why,
			sizeof why)) {
		set_note(t, "%s refused (%s); compiling afresh", what, why);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		for (uint32_t k = 0; k < objs[i].n; k++)
			t->state[objs[i].defs[k]] = ST_BUSY;
		ok = load_obj(m, &objs[i], why, sizeof why);
	}
	code_objs_free(objs, n);
	if (!ok)
		set_note(t, "%s refused (%s); compiling afresh", what, why);
	/* Whatever did load stays: it checked out. Anything left is
	 * compiled as the mode says. */
	for (uint32_t i = 0; i < ndefs(m); i++)
		if (t->state[i] == ST_BUSY)
			t->state[i] = ST_NONE;
	return ok;
}

/* The module's hash, its cache file, and code from the cache or the
 * embedder. */
static void find_code(Module *m, const uint8_t *code, size_t code_len)
{
	TierModule *t = m->tier;
	const myr_config *cfg = &m->engine->cfg;
	code_sha256(m->bytes, m->len, t->hash);
	/* MIXED is for tests of calls between the tiers: a cache made by
	 * another tier would hide them. */
	if (cfg->code_cache_dir && cfg->code_cache_dir[0] &&
	    t->mode != MYR_TIER_MIXED)
		t->cache_path = code_cache_path(cfg->code_cache_dir, t->hash);
	if (code) {
		load_code(m, code, code_len, "the supplied code");
	} else if (t->cache_path) {
		uint8_t *buf;
		size_t len;
		if (code_read_file(t->cache_path, &buf, &len)) {
			char what[64 + 512];
			snprintf(what, sizeof what, "code cache file %s",
				 t->cache_path);
			load_code(m, buf, len, what);
			free(buf);
		}
	}
	t->prepared = true;
}

/* Waits ns unless the module is being freed; false if it is. */
static bool wait_or_stop(TierModule *t, long ns)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ns / 1000000000L;
	until.tv_nsec += ns % 1000000000L;
	if (until.tv_nsec >= 1000000000L)
		until.tv_sec++, until.tv_nsec -= 1000000000L;
	pthread_mutex_lock(&t->lock);
	while (!t->stop &&
	       pthread_cond_timedwait(&t->cond, &t->lock, &until) == 0)
		;
	bool go = !t->stop;
	pthread_mutex_unlock(&t->lock);
	return go;
}

static void mark_finished(TierModule *t)
{
	pthread_mutex_lock(&t->lock);
	/* Release: tier_pending reads it without the lock. */
	__atomic_store_n(&t->finished, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static void *background(void *arg)
{
	/* Linux gives each thread its own nice value. */
	Module *m = arg;
	TierModule *t = m->tier;
	pthread_mutex_lock(&t->lock);
	t->tid = (pid_t)syscall(SYS_gettid);
	if (!t->stop)
		setpriority(PRIO_PROCESS, (id_t)t->tid, 19);
	pthread_mutex_unlock(&t->lock);
	/* A module freed within moments costs nothing at all; after that,
	 * code from the cache is worth having at once, compiling only
	 * later. */
	if (!wait_or_stop(t, AUTO_START_NS))
		return NULL;
	if (!t->prepared) {
		if (!jit_init(NULL, 0)) {
			mark_finished(t);
			return NULL;
		}
		find_code(m, NULL, 0);
	}
	if (wait_or_stop(t, AUTO_DELAY_NS - AUTO_START_NS))
		compile_all(m);
	else
		mark_finished(t);
	return NULL;
}

bool tier_module_start(Module *m, const uint8_t *code, size_t code_len,
		       myr_error *err)
{
	const myr_config *cfg = &m->engine->cfg;
	if (cfg->tier == MYR_TIER_INTERP || ndefs(m) == 0)
		return true;
	if (cfg->tier != MYR_TIER_AUTO && !jit_init(NULL, 0)) {
		char why[200];
		myr_tier_available(why, sizeof why);
		return fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "tier %s: %s", myr_tier_name(cfg->tier), why);
	}
	TierModule *t = calloc(1, sizeof *t);
	uint8_t *state = calloc(ndefs(m), 1);
	if (!t || !state) {
		free(t);
		free(state);
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "out of memory");
	}
	m->tier = t;
	t->mode = cfg->tier;
	t->state = state;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	for (uint32_t i = 0; i < ndefs(m); i++)
		if (!wanted(m, i))
			t->state[i] = ST_DECLINED;
	/* AUTO does all of this on its thread: the module starts running
	 * (interpreted) as soon as it would without the compiler. Code the
	 * embedder supplied is loaded at once, whatever the tier. */
	if (t->mode != MYR_TIER_AUTO || code)
		find_code(m, code, code_len);
	if (t->mode == MYR_TIER_AUTO &&
	    pthread_create(&t->thread, NULL, background, m) == 0) {
		t->has_thread = true;
		return true;
	}
	compile_all(m);
	return true;
}

void tier_module_stop(Module *m)
{
	TierModule *t = m->tier;
	if (!t)
		return;
	if (t->has_thread) {
		pthread_mutex_lock(&t->lock);
		t->stop = true;
		/* Someone now waits for the batch in progress: it gets the
		 * priority of the thread that waits. */
		if (t->tid)
			setpriority(PRIO_PROCESS, (id_t)t->tid,
				    getpriority(PRIO_PROCESS, 0));
		pthread_cond_broadcast(&t->cond);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->thread, NULL);
		/* What was compiled so far is worth keeping: the next run of a
		 * short program starts from it. */
		write_cache(m);
	}
	for (size_t i = 0; i < t->nobjs; i++) {
		jit_unload(t->objs[i].code);
		free(t->objs[i].obj.defs);
		free(t->objs[i].obj.bytes);
	}
	free(t->objs);
	free(t->state);
	free(t->cache_path);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
	free(t);
	m->tier = NULL;
}

const Cell *tier_resume_at(const Module *m, const Cell *pc)
{
	Func *f = (Func *)module_func_at(m, pc);
	if (!f)
		return pc;
	const Cell *entry = __atomic_load_n(&f->entry, __ATOMIC_ACQUIRE);
	if (entry == f->code) {
		/* Only the order among functions matters, and a function that
		 * stays interpreted (declined) would otherwise make every
		 * resume of every instance write this shared line. */
		if (__atomic_load_n(&f->hot, __ATOMIC_RELAXED) < HOT_CAP)
			__atomic_fetch_add(&f->hot, 1, __ATOMIC_RELAXED);
		return pc;
	}
	/* A loop can start at the function's first cell: a pause there is
	 * at the loop's header (which is also right for a call that has not
	 * started, whose locals are still as they were initialized). */
	uint32_t at = (uint32_t)(pc - f->code);
	for (uint32_t j = 0; j < f->nloops; j++)
		if (f->loop_at[j] == at)
			return entry + 3 * (1 + (size_t)j);
	return pc == f->code ? entry : pc;
}

bool tier_pending(const Module *m)
{
	TierModule *t = m->tier;
	return t && !__atomic_load_n(&t->finished, __ATOMIC_ACQUIRE);
}

uint32_t myr_module_wait_compiled(myr_module *m)
{
	TierModule *t = m->tier;
	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	while (!t->finished)
		pthread_cond_wait(&t->cond, &t->lock);
	uint32_t n = t->ndone;
	pthread_mutex_unlock(&t->lock);
	return n;
}

bool myr_module_code(myr_module *m, uint8_t **code, size_t *code_len,
		     myr_error *err)
{
	error_clear(err);
	if (myr_module_wait_compiled(m) == 0)
		return fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "the module has no compiled code (tier %s)",
			    myr_tier_name(m->engine->cfg.tier));
	TierModule *t = m->tier;
	CodeObj *objs = calloc(t->nobjs, sizeof *objs);
	if (!objs)
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "out of memory");
	for (size_t i = 0; i < t->nobjs; i++)
		objs[i] = t->objs[i].obj;
	bool ok = code_serialize(t->hash, objs, t->nobjs, code, code_len);
	free(objs);
	if (!ok)
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "out of memory");
	return true;
}

const char *myr_module_code_note(const myr_module *m)
{
	TierModule *t = m->tier;
	return t && t->note[0] ? t->note : NULL;
}

#endif
