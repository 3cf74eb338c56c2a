/* Many instances under the scheduler: correct results in tiny slices,
 * memory isolation, trap isolation, clean slot reuse, stack growth, and
 * every limit enforced with a clear error. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "testutil.h"

typedef struct Tally {
	atomic_ulong done, trapped, wrong;
	uint64_t (*expect)(uint64_t index);
	myr_trap expect_trap;
} Tally;

static void on_done(myr_instance *inst, myr_status st, void *user)
{
	Tally *t = user;
	uint64_t index;
	myr_instance_user(inst, &index);
	if (st == MYR_STATUS_DONE) {
		myr_val r;
		myr_instance_results(inst, &r, 1);
		uint64_t got = r.type == MYR_I64 ? (uint64_t)r.of.i64
						 : (uint32_t)r.of.i32;
		if (got != t->expect(index))
			atomic_fetch_add(&t->wrong, 1);
		atomic_fetch_add(&t->done, 1);
	} else {
		if (myr_instance_error(inst)->trap != t->expect_trap)
			atomic_fetch_add(&t->wrong, 1);
		atomic_fetch_add(&t->trapped, 1);
	}
	myr_instance_free(inst);
}

static void free_instance(myr_instance *inst, void *user)
{
	(void)user;
	myr_instance_free(inst);
}

/* Instantiates m, starts fn(arg) with user index `index` and adds it to
 * s; NULL if any step fails (no assertion: callable from other threads). */
static myr_instance *spawn(myr_sched *s, myr_module *m,
			   const myr_extern *imports, size_t nimports,
			   const char *fn, int32_t arg, uint64_t index)
{
	myr_error err;
	myr_instance *inst = myr_instance_new(m, imports, nimports, &err);
	if (!inst)
		return NULL;
	myr_val a = tu_i32(arg);
	myr_instance_set_user(inst, NULL, index);
	if (!myr_instance_start(inst, tu_export(inst, fn), &a, 1, &err) ||
	    !myr_sched_add(s, inst)) {
		myr_instance_free(inst);
		return NULL;
	}
	return inst;
}

/* Spawns n instances of module calling `fn(index)` and runs them. */
static void run_many(myr_engine *e, myr_module *m, const char *fn, uint64_t n,
		     int64_t fuel, uint32_t threads, Tally *t,
		     myr_sched_stats *st)
{
	myr_sched_config cfg = {.threads = threads,
				.fuel = fuel,
				.on_done = on_done,
				.user = t};
	myr_sched *s = myr_sched_new(e, &cfg);
	assert_non_null(s);
	for (uint64_t i = 0; i < n; i++)
		assert_non_null(spawn(s, m, NULL, 0, fn, (int32_t)i, i));
	myr_sched_run(s);
	myr_sched_get_stats(s, st);
	myr_sched_free(s);
}

static uint64_t work_expect(uint64_t id)
{
	uint64_t x = (uint32_t)id;
	for (int i = 0; i < 200; i++)
		x = x * 6364136223846793005ull ^ 1442695040888963407ull;
	return x;
}

/* 100,000 instances, slices of 8 fuel units (a few instructions): every
 * result right, every instance paused many times. */
static void test_hundred_thousand_tiny_slices(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "work");
	Tally t = {.expect = work_expect};
	myr_sched_stats st;
	run_many(e, m, "work", 100000, 8, 2, &t, &st);
	assert_int_equal(atomic_load(&t.done), 100000);
	assert_int_equal(atomic_load(&t.wrong), 0);
	assert_int_equal(st.completed, 100000);
	assert_int_equal(st.live_peak, 100000);
	assert_true(st.slices_per_instance_min >= 20);
	myr_module_free(m);
	myr_engine_free(e);
}

static uint64_t deep_expect(uint64_t id)
{
	return id % 500 + 7;
}

/* Recursion up to 500 deep in thousands of instances whose stacks start
 * at 64 bytes: they grow mid-run, between slices. */
static void test_stacks_grow_under_the_scheduler(void **state)
{
	(void)state;
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.initial_stack_bytes = 64;
	myr_engine *e = myr_engine_new(&cfg);
	myr_module *m = tu_load(e, "work");
	Tally t = {.expect = deep_expect};
	myr_sched_stats st;
	run_many(e, m, "deep", 3000, 5, 2, &t, &st);
	assert_int_equal(atomic_load(&t.done), 3000);
	assert_int_equal(atomic_load(&t.wrong), 0);
	myr_module_free(m);
	myr_engine_free(e);
}

static uint64_t boom_expect(uint64_t id)
{
	return id + 1;
}

static uint64_t mono_ns(void);

typedef struct Stopper {
	myr_sched *s;
	uint64_t after;
	uint64_t give_up_ns; /* 0 until the first progress report */
} Stopper;

/* Stops once `after` slices have run and every instance has had one (on
 * a loaded machine a worker's thread can wait tens of milliseconds for a
 * CPU while the other runs everything), or after 20 s regardless, so
 * that a broken count fails the assertions instead of hanging. */
static void stop_after(const myr_sched_stats *st, void *user)
{
	Stopper *p = user;
	uint64_t now = mono_ns();
	if (!p->give_up_ns)
		p->give_up_ns = now + 20000000000ull;
	if ((st->slices >= p->after && st->slices_per_instance_min >= 1) ||
	    now > p->give_up_ns)
		myr_sched_stop(p->s);
}

/* A run stopped before any instance finished still reports how many
 * slices its instances got: the range covers the unfinished ones. */
static void test_stopped_run_reports_slices_per_instance(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "work");
	Stopper stop = {.after = 20000};
	myr_sched_config cfg = {.threads = 2,
				.fuel = 50,
				.user = &stop,
				.on_progress = stop_after,
				.progress_ms = 5};
	stop.s = myr_sched_new(e, &cfg);
	assert_non_null(stop.s);
	for (int i = 0; i < 64; i++)
		assert_non_null(spawn(stop.s, m, NULL, 0, "spin", i, 0));
	myr_sched_run(stop.s);
	myr_sched_stats st;
	myr_sched_get_stats(stop.s, &st);
	assert_int_equal(st.live, 64);
	assert_int_equal(st.completed + st.exited + st.trapped, 0);
	assert_true(st.slices >= stop.after);
	assert_true(st.slices_per_instance_min >= 1);
	assert_true(st.slices_per_instance_max >= st.slices_per_instance_min);
	assert_true(st.slices_per_instance_max <= st.slices);
	myr_sched_drain(stop.s, free_instance, NULL);
	myr_sched_free(stop.s);
	myr_module_free(m);
	myr_engine_free(e);
}

/* Every 97th instance traps; the others finish with the right result. */
static void test_traps_end_only_their_instance(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "work");
	Tally t = {.expect = boom_expect, .expect_trap = MYR_TRAP_UNREACHABLE};
	myr_sched_stats st;
	run_many(e, m, "boom", 9700, 3, 2, &t, &st);
	assert_int_equal(atomic_load(&t.trapped), 100);
	assert_int_equal(atomic_load(&t.done), 9600);
	assert_int_equal(atomic_load(&t.wrong), 0);
	assert_int_equal(st.trapped, 100);
	myr_module_free(m);
	myr_engine_free(e);
}

static uint64_t one(uint64_t id)
{
	(void)id;
	return 1;
}

/* Each instance fills its page with its own pattern and checks it after
 * being switched out thousands of times among its neighbours. */
static void test_memories_are_isolated(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "iso");
	Tally t = {.expect = one};
	myr_sched_stats st;
	run_many(e, m, "fill_check", 2000, 50, 2, &t, &st);
	assert_int_equal(atomic_load(&t.done), 2000);
	assert_int_equal(atomic_load(&t.wrong), 0);
	myr_module_free(m);
	myr_engine_free(e);
}

static myr_status call1(myr_instance *inst, const char *fn, myr_val *args,
			size_t n, myr_val *res)
{
	myr_error err;
	if (myr_func_call(tu_export(inst, fn), args, n, res, res ? 1 : 0, &err))
		return MYR_STATUS_DONE;
	assert_int_equal(err.kind, MYR_ERR_TRAP);
	assert_int_equal(err.trap, MYR_TRAP_MEMORY_OOB);
	assert_non_null(strstr(err.message, "out of bounds memory access"));
	return MYR_STATUS_TRAPPED;
}

/* Accesses at the end of memory and near 2^32, with the largest offsets,
 * trap; the neighbouring slot (the next instance's memory) is unchanged. */
static void test_out_of_bounds_never_reaches_a_neighbour(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "iso");
	myr_error err;
	myr_instance *a = myr_instance_new(m, NULL, 0, &err);
	myr_instance *b = myr_instance_new(m, NULL, 0, &err);
	assert_non_null(a);
	assert_non_null(b);
	myr_val id = tu_i32(7), r;
	assert_int_equal(call1(b, "fill_check", &id, 1, &r), MYR_STATUS_DONE);
	assert_int_equal(r.of.i32, 1);
	myr_extern mb;
	assert_true(myr_instance_export(b, "memory", 6, &mb));
	uint8_t *snap = malloc(65536);
	memcpy(snap, myr_memory_data(mb.of.memory), 65536);
	const uint32_t addrs[] = {65533,      65535,	  65536,
				  65540,      131072,	  0x7FFFFFFF,
				  0xFFFFFFF0, 0xFFFFFFFC, 0xFFFFFFFF};
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		myr_val arg = tu_i32((int32_t)addrs[i]);
		assert_int_equal(call1(a, "load32", &arg, 1, &r),
				 MYR_STATUS_TRAPPED);
		myr_val st[2] = {arg, tu_i32(-1)};
		assert_int_equal(call1(a, "store32", st, 2, NULL),
				 MYR_STATUS_TRAPPED);
		assert_int_equal(call1(a, "load64_far", &arg, 1, &r),
				 MYR_STATUS_TRAPPED);
		assert_int_equal(call1(a, "store8_far", &arg, 1, NULL),
				 MYR_STATUS_TRAPPED);
	}
	/* The last byte is in bounds, one past it is not. */
	myr_val last = tu_i32(65535), past = tu_i32(65536);
	assert_int_equal(call1(a, "load8", &last, 1, &r), MYR_STATUS_DONE);
	assert_int_equal(call1(a, "load8", &past, 1, &r), MYR_STATUS_TRAPPED);
	/* offset 0xFFFFFFF8 + address 0 is still past the end. */
	myr_val zero = tu_i32(0);
	assert_int_equal(call1(a, "load64_far", &zero, 1, &r),
			 MYR_STATUS_TRAPPED);
	/* The maximum is one page: growing fails, the memory stays put. */
	myr_val one_page = tu_i32(1);
	assert_int_equal(call1(a, "grow", &one_page, 1, &r), MYR_STATUS_DONE);
	assert_int_equal(r.of.i32, -1);
	assert_memory_equal(snap, myr_memory_data(mb.of.memory), 65536);
	free(snap);
	myr_instance_free(a);
	myr_instance_free(b);
	myr_module_free(m);
	myr_engine_free(e);
}

/* Instances that filled their memories are freed; new ones reuse those
 * slots and must see only zeros. */
static void test_reused_slots_are_clean(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "iso");
	myr_error err;
	enum { N = 64 };
	myr_instance *inst[N];
	uint8_t *bases[N];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			inst[i] = myr_instance_new(m, NULL, 0, &err);
			assert_non_null(inst[i]);
			myr_extern mem;
			assert_true(myr_instance_export(inst[i], "memory", 6,
							&mem));
			bases[i] = myr_memory_data(mem.of.memory);
			myr_val r;
			assert_int_equal(
				call1(inst[i], "any_nonzero", NULL, 0, &r),
				MYR_STATUS_DONE);
			assert_int_equal(r.of.i32, 0);
			myr_val id = tu_i32(round * N + i + 1);
			assert_int_equal(
				call1(inst[i], "fill_check", &id, 1, &r),
				MYR_STATUS_DONE);
			assert_int_equal(r.of.i32, 1);
		}
		for (int i = 0; i < N; i++)
			myr_instance_free(inst[i]);
	}
	/* The last round ran in slots the first rounds used. */
	myr_instance *again = myr_instance_new(m, NULL, 0, &err);
	myr_extern mem;
	assert_true(myr_instance_export(again, "memory", 6, &mem));
	bool reused = false;
	for (int i = 0; i < N; i++)
		reused |= bases[i] == myr_memory_data(mem.of.memory);
	assert_true(reused);
	myr_instance_free(again);
	myr_module_free(m);
	myr_engine_free(e);
}

static void test_limits(void **state)
{
	(void)state;
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.max_instances = 3;
	cfg.max_large_memories = 1;
	myr_engine *e = myr_engine_new(&cfg);
	myr_module *iso = tu_load(e, "iso");
	myr_module *big = tu_load(e, "big");
	myr_error err;
	/* Instance count. */
	myr_instance *a = myr_instance_new(iso, NULL, 0, &err);
	myr_instance *b = myr_instance_new(iso, NULL, 0, &err);
	assert_non_null(a);
	assert_non_null(b);
	/* One large memory is allowed, a second is not. */
	myr_instance *c = myr_instance_new(big, NULL, 0, &err);
	assert_non_null(c);
	myr_instance_free(a);
	myr_instance *d = myr_instance_new(big, NULL, 0, &err);
	assert_null(d);
	assert_int_equal(err.kind, MYR_ERR_RESOURCE);
	assert_non_null(strstr(err.message, "too many large linear memories"));
	myr_instance_free(c);
	a = myr_instance_new(iso, NULL, 0, &err);
	c = myr_instance_new(iso, NULL, 0, &err);
	assert_non_null(a);
	assert_non_null(c);
	d = myr_instance_new(iso, NULL, 0, &err);
	assert_null(d);
	assert_int_equal(err.kind, MYR_ERR_RESOURCE);
	assert_non_null(strstr(err.message, "too many instances (limit 3)"));
	myr_instance_free(a);
	myr_instance_free(b);
	myr_instance_free(c);
	myr_module_free(iso);
	myr_module_free(big);
	myr_engine_free(e);

	/* Memory size: a minimum above the limit fails to instantiate, and
	 * growing past it returns -1. */
	myr_config_default(&cfg);
	cfg.max_memory_bytes = 256u << 20;
	e = myr_engine_new(&cfg);
	big = tu_load(e, "big");
	assert_null(myr_instance_new(big, NULL, 0, &err));
	assert_int_equal(err.kind, MYR_ERR_RESOURCE);
	assert_non_null(strstr(err.message, "exceeds the limit"));
	myr_module_free(big);
	myr_engine_free(e);
	cfg.max_memory_bytes = 310u << 20;
	e = myr_engine_new(&cfg);
	big = tu_load(e, "big");
	myr_instance *g = myr_instance_new(big, NULL, 0, &err);
	assert_non_null(g);
	myr_val n = tu_i32(200), r; /* 5000 pages > 310 MiB */
	assert_true(myr_func_call(tu_export(g, "grow"), &n, 1, &r, 1, &err));
	assert_int_equal(r.of.i32, -1);
	n = tu_i32(10);
	assert_true(myr_func_call(tu_export(g, "grow"), &n, 1, &r, 1, &err));
	assert_int_equal(r.of.i32, 4800);
	myr_instance_free(g);
	myr_module_free(big);
	myr_engine_free(e);
}

/* The demo module (16 KiB in 1-byte pages) on a few instances, checked
 * against the same computation done here. */
static uint32_t demo_word(uint32_t seed, uint32_t i)
{
	uint32_t x = (seed ^ i) * 0x27d4eb2du;
	return x ^ (x >> 15);
}

static uint64_t demo_expect(uint64_t id)
{
	uint64_t sum = 0;
	for (uint32_t pass = 0; pass < 2; pass++) {
		uint32_t seed = (uint32_t)id * 0x9e3779b1u + pass * 0x85ebca6bu;
		for (uint32_t i = 0; i < 4096; i++)
			sum = sum * 31 + demo_word(seed, i);
	}
	return sum;
}

static void test_custom_page_size_demo(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	size_t len;
	uint8_t *bytes = tu_read_file(MYR_DEMO_WASM, &len);
	assert_non_null(bytes);
	myr_error err;
	myr_module *m = myr_module_new(e, bytes, len, &err);
	free(bytes);
	assert_non_null(m);
	uint64_t mem = 0;
	myr_module_instance_size(m, &mem);
	assert_int_equal(mem, 16384);
	assert_true(myr_module_reserve(m, 300));
	Tally t = {.expect = demo_expect};
	myr_sched_stats st;
	run_many(e, m, "run", 300, 0, 2, &t, &st);
	assert_int_equal(atomic_load(&t.done), 300);
	assert_int_equal(atomic_load(&t.wrong), 0);
	myr_module_free(m);
	myr_engine_free(e);
}

/* ------------------------------------------------------------------ */
/* Host calls that yield, sleep or wait                                */

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

typedef struct HostEnv {
	uint64_t deadline[4096]; /* per instance index: nap's wake time */
	atomic_int yields;
	_Atomic(myr_instance *) waiting; /* the instance blocked in wait() */
	atomic_int value;		 /* what signal() hands to wait() */
} HostEnv;

static uint64_t index_of(myr_caller *c)
{
	uint64_t i;
	myr_instance_user(myr_caller_instance(c), &i);
	return i;
}

/* nap(ms): the first call blocks until now + ms; the call made again on
 * waking finds the time passed and returns. */
static myr_hostret host_nap(myr_caller *c, void *env, const myr_val *args,
			    myr_val *res)
{
	(void)res;
	HostEnv *h = env;
	uint64_t *d = &h->deadline[index_of(c) % 4096];
	uint64_t now = mono_ns();
	if (!*d)
		*d = now + (uint64_t)args[0].of.i32 * 1000000u;
	if (now >= *d)
		return MYR_HOST_OK;
	return myr_caller_block(c, *d);
}

static myr_hostret host_yield(myr_caller *c, void *env, const myr_val *args,
			      myr_val *res)
{
	(void)args, (void)res;
	atomic_fetch_add(&((HostEnv *)env)->yields, 1);
	return myr_caller_yield(c);
}

static myr_hostret host_wait(myr_caller *c, void *env, const myr_val *args,
			     myr_val *res)
{
	(void)args;
	HostEnv *h = env;
	/* Published before the value is read: either this call sees the
	 * signal's value, or the signal sees the waiter and wakes it (a wake
	 * before the block makes the block return at once). Read first, a
	 * signal between the read and the store was lost. */
	atomic_store(&h->waiting, myr_caller_instance(c));
	int v = atomic_load(&h->value);
	if (v) {
		res[0].of.i32 = v;
		return MYR_HOST_OK;
	}
	return myr_caller_block(c, 0);
}

static myr_hostret host_signal(myr_caller *c, void *env, const myr_val *args,
			       myr_val *res)
{
	(void)c, (void)res;
	HostEnv *h = env;
	atomic_store(&h->value, args[0].of.i32);
	myr_instance *w = atomic_load(&h->waiting);
	if (w)
		myr_instance_wake(w);
	return MYR_HOST_OK;
}

/* wait_long(): blocks with a 10 s timer; the call made again after the
 * wake returns 1 if that came before the timer. The first call must not
 * look resumed, the second must. */
static myr_hostret host_wait_long(myr_caller *c, void *env, const myr_val *args,
				  myr_val *res)
{
	(void)args;
	HostEnv *h = env;
	if (!myr_caller_resumed(c)) {
		atomic_store(&h->waiting, myr_caller_instance(c));
		h->deadline[0] = mono_ns() + 10000000000ull;
		return myr_caller_block(c, h->deadline[0]);
	}
	res[0].of.i32 = mono_ns() < h->deadline[0];
	return MYR_HOST_OK;
}

/* end(id): id % 3 == 0 exits with code id, 1 traps, 2 returns. */
static myr_hostret host_end(myr_caller *c, void *env, const myr_val *args,
			    myr_val *res)
{
	(void)env, (void)res;
	int id = args[0].of.i32;
	if (id % 3 == 0)
		return myr_caller_exit(c, id);
	if (id % 3 == 1)
		return myr_caller_trap(c, "ended by a trap");
	return MYR_HOST_OK;
}

enum { NHOST = 6 };

typedef struct HostRun {
	myr_engine *e;
	myr_module *m;
	myr_func *f[NHOST];
	myr_extern imports[NHOST];
} HostRun;

static void host_setup(HostRun *r, HostEnv *env)
{
	static const myr_valtype i32 = MYR_I32;
	const myr_functype t_nap = {1, 0, &i32, NULL},
			   t_void = {0, 0, NULL, NULL},
			   t_wait = {0, 1, NULL, &i32};
	r->e = myr_engine_new(NULL);
	r->m = tu_load(r->e, "host");
	r->f[0] = myr_func_new(r->e, &t_nap, host_nap, env, NULL);
	r->f[1] = myr_func_new(r->e, &t_void, host_yield, env, NULL);
	r->f[2] = myr_func_new(r->e, &t_wait, host_wait, env, NULL);
	r->f[3] = myr_func_new(r->e, &t_nap, host_signal, env, NULL);
	r->f[4] = myr_func_new(r->e, &t_wait, host_wait_long, env, NULL);
	r->f[5] = myr_func_new(r->e, &t_nap, host_end, env, NULL);
	for (int i = 0; i < NHOST; i++)
		r->imports[i] =
			(myr_extern){MYR_EXTERN_FUNC, {.func = r->f[i]}};
}

static void host_teardown(HostRun *r)
{
	myr_module_free(r->m);
	for (int i = 0; i < NHOST; i++)
		myr_func_free(r->f[i]);
	myr_engine_free(r->e);
}

static myr_instance *host_instance(HostRun *r, myr_sched *s, const char *fn,
				   int32_t arg, uint64_t index)
{
	myr_instance *inst = spawn(s, r->m, r->imports, NHOST, fn, arg, index);
	assert_non_null(inst);
	return inst;
}

static uint64_t plus_one(uint64_t id)
{
	return id + 1;
}

/* 2000 instances sleep 30 ms each in a host call: they are parked, not
 * holding the two threads, so the run takes about one nap, not 2000/2. */
static void test_blocked_instances_do_not_hold_threads(void **state)
{
	(void)state;
	HostEnv *env = calloc(1, sizeof *env);
	HostRun r;
	host_setup(&r, env);
	Tally t = {.expect = plus_one};
	myr_sched_config cfg = {.threads = 2, .on_done = on_done, .user = &t};
	myr_sched *s = myr_sched_new(r.e, &cfg);
	for (int i = 0; i < 2000; i++)
		host_instance(&r, s, "napper", i, (uint64_t)i);
	uint64_t t0 = mono_ns();
	myr_sched_run(s);
	uint64_t took = mono_ns() - t0;
	assert_int_equal(atomic_load(&t.done), 2000);
	assert_int_equal(atomic_load(&t.wrong), 0);
	/* Serially, 60 s; in parallel, 30 ms plus scheduling. The bound is
	 * loose: it tells parked from blocked, it is not a speed target. */
	assert_true(took < 5000000000ull);
	for (int i = 0; i < 2000; i++)
		assert_true(env->deadline[i] != 0 && t0 <= env->deadline[i]);
	myr_sched_free(s);
	host_teardown(&r);
	free(env);
}

static uint64_t same(uint64_t id)
{
	return id;
}

/* A yielding host call ends the slice even with fuel to spare. */
static void test_yield_ends_the_slice(void **state)
{
	(void)state;
	HostEnv *env = calloc(1, sizeof *env);
	HostRun r;
	host_setup(&r, env);
	Tally t = {.expect = same};
	myr_sched_config cfg = {.threads = 1,
				.fuel = 1000000000,
				.on_done = on_done,
				.user = &t};
	myr_sched *s = myr_sched_new(r.e, &cfg);
	for (int i = 0; i < 10; i++)
		host_instance(&r, s, "yielder", i, (uint64_t)i);
	myr_sched_run(s);
	myr_sched_stats st;
	myr_sched_get_stats(s, &st);
	assert_int_equal(atomic_load(&t.done), 10);
	assert_int_equal(atomic_load(&env->yields), 1000);
	assert_true(st.slices_per_instance_min >= 100);
	myr_sched_free(s);
	host_teardown(&r);
	free(env);
}

static void *run_thread(void *s)
{
	myr_sched_run(s);
	return NULL;
}

/* Runs s on another thread; once the instance is parked on its timer,
 * wakes it from this one. */
static void run_and_wake_early(myr_sched *s, HostEnv *env)
{
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run_thread, s), 0);
	struct timespec ms = {0, 1000000};
	while (!atomic_load(&env->waiting))
		nanosleep(&ms, NULL);
	struct timespec settle = {0, 50000000};
	nanosleep(&settle, NULL);
	myr_instance_wake(atomic_load(&env->waiting));
	pthread_join(t, NULL);
}

static uint64_t forty_two_or_zero(uint64_t id)
{
	return id == 0 ? 42 : 0;
}

/* An instance waiting without a timer is woken by another instance's
 * host call and sees what it was handed; the call is made again. */
static void test_wake_from_another_instance(void **state)
{
	(void)state;
	HostEnv *env = calloc(1, sizeof *env);
	HostRun r;
	host_setup(&r, env);
	Tally t = {.expect = forty_two_or_zero};
	myr_sched_config cfg = {.threads = 2, .on_done = on_done, .user = &t};
	myr_sched *s = myr_sched_new(r.e, &cfg);
	host_instance(&r, s, "waiter", 0, 0);
	host_instance(&r, s, "signaller", 42, 1);
	myr_sched_run(s);
	assert_int_equal(atomic_load(&t.done), 2);
	assert_int_equal(atomic_load(&t.wrong), 0);
	myr_sched_free(s);

	/* A wake also ends a block on a timer, long before the timer. */
	atomic_store(&env->waiting, NULL);
	atomic_store(&env->value, 0);
	t = (Tally){.expect = one};
	s = myr_sched_new(r.e, &cfg);
	uint64_t t0 = mono_ns();
	host_instance(&r, s, "long_waiter", 0, 0);
	run_and_wake_early(s, env);
	assert_int_equal(atomic_load(&t.done), 1);
	assert_true(mono_ns() - t0 < 5000000000ull);
	myr_sched_free(s);

	/* Without a scheduler, myr_func_call sleeps through a nap. */
	myr_error err;
	myr_instance *inst = myr_instance_new(r.m, r.imports, NHOST, &err);
	assert_non_null(inst);
	myr_val a = tu_i32(5), res;
	t0 = mono_ns();
	assert_true(
		myr_func_call(tu_export(inst, "napper"), &a, 1, &res, 1, &err));
	assert_int_equal(res.of.i32, 6);
	assert_true(mono_ns() - t0 >= 30000000ull);
	myr_instance_free(inst);
	host_teardown(&r);
	free(env);
}

typedef struct Endings {
	atomic_int returned, exited, trapped, wrong;
} Endings;

static void on_ending(myr_instance *inst, myr_status st, void *user)
{
	Endings *n = user;
	uint64_t index;
	int code = -1;
	myr_instance_user(inst, &index);
	bool exited = myr_instance_exit_code(inst, &code);
	const myr_error *e = myr_instance_error(inst);
	switch (st) {
	case MYR_STATUS_DONE:
		atomic_fetch_add(&n->returned, 1);
		if (index % 3 != 2 || exited)
			atomic_fetch_add(&n->wrong, 1);
		break;
	case MYR_STATUS_EXITED:
		atomic_fetch_add(&n->exited, 1);
		if (index % 3 != 0 || !exited || code != (int)index ||
		    e->trap != MYR_TRAP_EXIT || e->exit_code != (int)index)
			atomic_fetch_add(&n->wrong, 1);
		break;
	case MYR_STATUS_TRAPPED:
		atomic_fetch_add(&n->trapped, 1);
		if (index % 3 != 1 || exited || e->trap != MYR_TRAP_HOST)
			atomic_fetch_add(&n->wrong, 1);
		break;
	default:
		atomic_fetch_add(&n->wrong, 1);
	}
	myr_instance_free(inst);
}

/* An exit (myr_caller_exit, WASI's proc_exit) is a way to finish: its
 * status is EXITED, with the code, and the scheduler counts it apart from
 * traps. */
/* An instance added from an outside thread just as the run's last
 * instance finishes is run, not lost, and the run never waits for it
 * forever (a worker that left on its own used to miss it). Many rounds
 * aim at the moment the last instance ends. */
typedef struct LateAdd {
	Tally tally;
	myr_module *m;
	myr_sched *s;
	atomic_int go;
} LateAdd;

static void on_done_signal(myr_instance *inst, myr_status st, void *user)
{
	LateAdd *l = user;
	on_done(inst, st, &l->tally);
	atomic_store(&l->go, 1);
}

static void *add_late(void *arg)
{
	LateAdd *l = arg;
	while (!atomic_load(&l->go))
		;
	return spawn(l->s, l->m, NULL, 0, "work", 7, 7) ? NULL : (void *)1;
}

static void test_late_adds_are_run(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	LateAdd l = {.tally = {.expect = work_expect}};
	l.m = tu_load(e, "work");
	myr_sched_config cfg = {
		.threads = 2, .on_done = on_done_signal, .user = &l};
	for (int round = 0; round < 200; round++) {
		atomic_store(&l.go, 0);
		l.s = myr_sched_new(e, &cfg);
		assert_non_null(l.s);
		assert_non_null(spawn(l.s, l.m, NULL, 0, "work", 7, 7));
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, add_late, &l), 0);
		myr_sched_run(l.s);
		void *failed;
		pthread_join(t, &failed);
		assert_null(failed);
		/* An add after the run had ended waits for the next run. */
		myr_sched_stats st;
		myr_sched_get_stats(l.s, &st);
		if (st.live)
			myr_sched_run(l.s);
		myr_sched_get_stats(l.s, &st);
		assert_int_equal(st.live, 0);
		myr_sched_free(l.s);
	}
	assert_int_equal(atomic_load(&l.tally.done), 400);
	assert_int_equal(atomic_load(&l.tally.wrong), 0);
	myr_module_free(l.m);
	myr_engine_free(e);
}

static void test_exits_are_not_traps(void **state)
{
	(void)state;
	HostEnv *env = calloc(1, sizeof *env);
	HostRun r;
	host_setup(&r, env);
	Endings n = {0};
	myr_sched_config cfg = {.threads = 2, .on_done = on_ending, .user = &n};
	myr_sched *s = myr_sched_new(r.e, &cfg);
	for (int i = 0; i < 300; i++)
		host_instance(&r, s, "ender", i, (uint64_t)i);
	myr_sched_run(s);
	myr_sched_stats st;
	myr_sched_get_stats(s, &st);
	assert_int_equal(atomic_load(&n.wrong), 0);
	assert_int_equal(atomic_load(&n.returned), 100);
	assert_int_equal(atomic_load(&n.exited), 100);
	assert_int_equal(atomic_load(&n.trapped), 100);
	assert_int_equal(st.completed, 100);
	assert_int_equal(st.exited, 100);
	assert_int_equal(st.trapped, 100);
	myr_sched_free(s);

	/* The same outside the scheduler: myr_instance_run says EXITED,
	 * myr_func_call fails with the exit as its error. */
	myr_error err;
	myr_instance *inst = myr_instance_new(r.m, r.imports, NHOST, &err);
	assert_non_null(inst);
	myr_val a = tu_i32(42), res;
	assert_true(myr_instance_start(inst, tu_export(inst, "ender"), &a, 1,
				       &err));
	assert_int_equal(myr_instance_run(inst, 1000), MYR_STATUS_EXITED);
	int code = 0;
	assert_true(myr_instance_exit_code(inst, &code));
	assert_int_equal(code, 42);
	assert_int_equal(myr_instance_error(inst)->trap, MYR_TRAP_EXIT);
	a = tu_i32(4);
	assert_false(
		myr_func_call(tu_export(inst, "ender"), &a, 1, &res, 1, &err));
	assert_int_equal(err.trap, MYR_TRAP_HOST);
	assert_int_equal(myr_instance_status(inst), MYR_STATUS_TRAPPED);
	assert_false(myr_instance_exit_code(inst, &code));
	a = tu_i32(6);
	assert_false(
		myr_func_call(tu_export(inst, "ender"), &a, 1, &res, 1, &err));
	assert_int_equal(err.trap, MYR_TRAP_EXIT);
	assert_int_equal(err.exit_code, 6);
	assert_int_equal(myr_instance_status(inst), MYR_STATUS_EXITED);
	myr_instance_free(inst);
	host_teardown(&r);
	free(env);
}

int main(void)
{
	/* MYR_TEST=pattern runs only the tests it names. */
	if (getenv("MYR_TEST"))
		cmocka_set_test_filter(getenv("MYR_TEST"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hundred_thousand_tiny_slices),
		cmocka_unit_test(test_stacks_grow_under_the_scheduler),
		cmocka_unit_test(test_traps_end_only_their_instance),
		cmocka_unit_test(test_stopped_run_reports_slices_per_instance),
		cmocka_unit_test(test_memories_are_isolated),
		cmocka_unit_test(test_out_of_bounds_never_reaches_a_neighbour),
		cmocka_unit_test(test_reused_slots_are_clean),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_custom_page_size_demo),
		cmocka_unit_test(test_blocked_instances_do_not_hold_threads),
		cmocka_unit_test(test_yield_ends_the_slice),
		cmocka_unit_test(test_wake_from_another_instance),
		cmocka_unit_test(test_exits_are_not_traps),
		cmocka_unit_test(test_late_adds_are_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
