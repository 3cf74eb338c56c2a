/*
 * Soak: N instances of soak.wasm alive at once under the scheduler, each
 * with 16 KiB of linear memory. A tenth of them, chosen from a seed, trap,
 * exit (myr_caller_exit, as WASI's proc_exit does), sleep (a timed block)
 * or wait (an untimed block, ended by a waker thread's myr_instance_wake)
 * at a random one of their 4096 steps; every other instance's result,
 * and the way every instance ended, is checked against what the host
 * computes.
 *
 *   soak WASM INSTANCES [SEED [THREADS]]
 *
 * Prints the counts, the times and the peak RSS; exits 1 on any mismatch.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "myriad.h"

enum { ACT_NONE, ACT_TRAP, ACT_EXIT, ACT_SLEEP, ACT_WAIT, ACT_COUNT };
static const char *const act_names[ACT_COUNT] = {"return", "trap", "exit",
						 "sleep", "wait"};

static uint64_t seed;

static uint64_t splitmix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* What instance id does, and at which of its 4096 steps. */
static void plan(uint64_t id, int *action, uint32_t *at)
{
	uint64_t r = splitmix(seed ^ splitmix(id));
	*action = r % 10 == 0 ? 1 + (int)((r >> 8) % 4) : ACT_NONE;
	*at = (uint32_t)((r >> 20) % 4096);
}

/* soak.wat's result: the words it wrote, each xor its step, summed. */
static uint64_t expect(uint64_t id)
{
	uint64_t sum = 0;
	for (uint64_t j = 0; j < 2048; j++) {
		uint64_t x = (id * 0x9E3779B97F4A7C15ull + j) *
			     0xD6E8FEB86659FD93ull;
		x ^= x >> 29;
		sum += x ^ (j + 2048);
	}
	return sum;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ */
/* Host functions                                                      */

static myr_hostret host_nap(myr_caller *c, void *env, const myr_val *args,
			    myr_val *results)
{
	(void)env, (void)results;
	if (myr_caller_resumed(c))
		return MYR_HOST_OK;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	uint64_t ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
	return myr_caller_block(c, ns + (uint64_t)args[0].of.i32 * 1000);
}

/* Instances waiting for a wake, which the waker thread hands out. */
static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static myr_instance **waiting;
static size_t nwaiting, capwaiting;
static atomic_bool run_over;
static atomic_ulong wakes;

static myr_hostret host_wait(myr_caller *c, void *env, const myr_val *args,
			     myr_val *results)
{
	(void)env, (void)args, (void)results;
	if (myr_caller_resumed(c))
		return MYR_HOST_OK;
	pthread_mutex_lock(&wait_lock);
	if (nwaiting == capwaiting) {
		size_t cap = capwaiting ? capwaiting * 2 : 1024;
		myr_instance **n = realloc(waiting, cap * sizeof *n);
		if (!n) {
			pthread_mutex_unlock(&wait_lock);
			return myr_caller_trap(c, "soak: out of memory");
		}
		waiting = n;
		capwaiting = cap;
	}
	/* Registered before it is parked: a wake that comes first makes
	 * the block return at once. */
	waiting[nwaiting++] = myr_caller_instance(c);
	pthread_mutex_unlock(&wait_lock);
	return myr_caller_block(c, 0);
}

static void *waker(void *arg)
{
	(void)arg;
	myr_instance **batch = NULL;
	size_t cap = 0;
	while (!atomic_load(&run_over)) {
		struct timespec nap = {0, 500 * 1000};
		nanosleep(&nap, NULL);
		pthread_mutex_lock(&wait_lock);
		size_t n = nwaiting;
		if (n > cap) {
			myr_instance **b = realloc(batch, n * sizeof *b);
			if (!b) {
				pthread_mutex_unlock(&wait_lock);
				continue;
			}
			batch = b;
			cap = n;
		}
		if (n)
			memcpy(batch, waiting, n * sizeof *batch);
		nwaiting = 0;
		pthread_mutex_unlock(&wait_lock);
		/* Each was registered once and cannot finish before this
		 * wake, so it is alive here. */
		for (size_t i = 0; i < n; i++)
			myr_instance_wake(batch[i]);
		atomic_fetch_add(&wakes, n);
	}
	free(batch);
	return NULL;
}

static myr_hostret host_exit(myr_caller *c, void *env, const myr_val *args,
			     myr_val *results)
{
	(void)env, (void)results;
	return myr_caller_exit(c, args[0].of.i32);
}

/* ------------------------------------------------------------------ */
/* Checking                                                            */

typedef struct Tally {
	atomic_ulong ended[ACT_COUNT]; /* by planned action, ended right */
	atomic_ulong wrong;
	atomic_ulong reported; /* the first few mismatches are printed */
} Tally;

static void report(Tally *t, uint64_t id, const char *what)
{
	if (atomic_fetch_add(&t->reported, 1) < 10)
		fprintf(stderr, "soak: instance %" PRIu64 ": %s\n", id, what);
	atomic_fetch_add(&t->wrong, 1);
}

static void on_done(myr_instance *inst, myr_status st, void *user)
{
	Tally *t = user;
	uint64_t id;
	myr_instance_user(inst, &id);
	int action;
	uint32_t at;
	plan(id, &action, &at);
	char why[300];
	bool ok;
	switch (action) {
	case ACT_TRAP: {
		const myr_error *e = myr_instance_error(inst);
		ok = st == MYR_STATUS_TRAPPED &&
		     e->trap == MYR_TRAP_UNREACHABLE;
		snprintf(why, sizeof why, "should trap, ended %d: %s", st,
			 e->message);
		break;
	}
	case ACT_EXIT: {
		int code = -1;
		ok = st == MYR_STATUS_EXITED &&
		     myr_instance_exit_code(inst, &code) &&
		     code == (int)(id & 127);
		snprintf(why, sizeof why, "should exit with %d, ended %d (%d)",
			 (int)(id & 127), st, code);
		break;
	}
	default: {
		myr_val r = {0};
		ok = st == MYR_STATUS_DONE &&
		     myr_instance_results(inst, &r, 1) == 1 &&
		     r.type == MYR_I64 && (uint64_t)r.of.i64 == expect(id);
		snprintf(why, sizeof why,
			 "%s: ended %d with %016" PRIx64 ", want %016" PRIx64,
			 act_names[action], st, (uint64_t)r.of.i64, expect(id));
		break;
	}
	}
	if (ok)
		atomic_fetch_add(&t->ended[action], 1);
	else
		report(t, id, why);
	myr_instance_free(inst);
}

static uint64_t rss_peak_bytes(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (uint64_t)u.ru_maxrss * 1024;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: soak WASM INSTANCES [SEED [THREADS]]\n");
		return 2;
	}
	uint64_t n = strtoull(argv[2], NULL, 10);
	seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
	uint32_t threads = argc > 4 ? (uint32_t)atoi(argv[4]) : 0;
	size_t len;
	uint8_t *bytes = read_file(argv[1], &len);
	if (!bytes) {
		fprintf(stderr, "soak: cannot read %s\n", argv[1]);
		return 2;
	}
	myr_engine *e = myr_engine_new(NULL);
	myr_error err;
	myr_module *m = myr_module_new(e, bytes, len, &err);
	free(bytes);
	if (!m) {
		fprintf(stderr, "soak: %s\n", err.message);
		return 2;
	}
	myr_functype t_i32 = {1, 0, (myr_valtype[]){MYR_I32}, NULL};
	myr_functype t_void = {0, 0, NULL, NULL};
	myr_func *fn_nap = myr_func_new(e, &t_i32, host_nap, NULL, NULL);
	myr_func *fn_wait = myr_func_new(e, &t_void, host_wait, NULL, NULL);
	myr_func *fn_exit = myr_func_new(e, &t_i32, host_exit, NULL, NULL);
	myr_extern imports[3] = {
		{.kind = MYR_EXTERN_FUNC, .of.func = fn_nap},
		{.kind = MYR_EXTERN_FUNC, .of.func = fn_wait},
		{.kind = MYR_EXTERN_FUNC, .of.func = fn_exit},
	};

	Tally t = {0};
	myr_sched_config scfg = {
		.threads = threads, .on_done = on_done, .user = &t};
	myr_sched *s = myr_sched_new(e, &scfg);
	uint64_t planned[ACT_COUNT] = {0};
	double t0 = now_s();
	if (!s || !myr_module_reserve(m, n)) {
		fprintf(stderr, "soak: cannot reserve %" PRIu64 " instances\n",
			n);
		return 2;
	}
	double t1 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		myr_instance *inst = myr_instance_new(m, imports, 3, &err);
		if (!inst) {
			fprintf(stderr, "soak: instance %" PRIu64 ": %s\n", i,
				err.message);
			return 1;
		}
		int action;
		uint32_t at;
		plan(i, &action, &at);
		planned[action]++;
		myr_instance_set_user(inst, NULL, i);
		myr_extern run;
		myr_val args[3] = {{.type = MYR_I32, .of.i32 = (int32_t)i},
				   {.type = MYR_I32, .of.i32 = action},
				   {.type = MYR_I32, .of.i32 = (int32_t)at}};
		if (!myr_instance_export(inst, "run", 3, &run) ||
		    !myr_instance_start(inst, run.of.func, args, 3, &err) ||
		    !myr_sched_add(s, inst)) {
			fprintf(stderr,
				"soak: cannot start instance %" PRIu64 "\n", i);
			return 1;
		}
	}
	double t2 = now_s();
	pthread_t wt;
	pthread_create(&wt, NULL, waker, NULL);
	myr_sched_run(s);
	atomic_store(&run_over, true);
	pthread_join(wt, NULL);
	double t3 = now_s();
	myr_sched_stats st;
	myr_sched_get_stats(s, &st);

	bool ok = atomic_load(&t.wrong) == 0 && st.live == 0;
	printf("soak: %" PRIu64 " instances, seed %" PRIu64 ", %u threads\n", n,
	       seed, st.threads);
	for (int a = 0; a < ACT_COUNT; a++) {
		uint64_t got = atomic_load(&t.ended[a]);
		printf("  %-6s planned %8" PRIu64 ", ended right %8" PRIu64
		       "\n",
		       act_names[a], planned[a], got);
		if (got != planned[a])
			ok = false;
	}
	printf("  wrong %lu, wakes %lu, live at the end %" PRIu64
	       ", completed %" PRIu64 " exited %" PRIu64 " trapped %" PRIu64
	       "\n",
	       atomic_load(&t.wrong), atomic_load(&wakes), st.live,
	       st.completed, st.exited, st.trapped);
	printf("  reserve %.1f s, spawn %.1f s (%.0f ns each), run %.1f s, "
	       "%" PRIu64 " slices, p50 %.0f ns p99 %.0f ns, "
	       "peak RSS %.2f GB (%.1f KB per instance)\n",
	       t1 - t0, t2 - t1, n ? (t2 - t1) * 1e9 / (double)n : 0, t3 - t2,
	       st.slices, st.slice_ns_p50, st.slice_ns_p99,
	       (double)rss_peak_bytes() / 1e9,
	       n ? (double)rss_peak_bytes() / 1e3 / (double)n : 0);
	myr_sched_free(s);
	myr_func_free(fn_nap);
	myr_func_free(fn_wait);
	myr_func_free(fn_exit);
	myr_module_free(m);
	myr_engine_free(e);
	free(waiting);
	printf("soak: %s\n", ok ? "every instance ended as planned" : "FAILED");
	return ok ? 0 : 1;
}
