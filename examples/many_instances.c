/*
 * many_instances: ten thousand instances alive at once under the
 * scheduler, calling back into the host.
 *
 * Every instance of worker.wasm (examples/worker.wat) imports two host
 * functions:
 *
 *   env.sleep_ms(i32)        parks the instance, not a thread, for a while
 *   env.report(i32, i64)     adds one result to a tally kept by the host
 *
 * The scheduler runs the instances on one worker thread per CPU in slices
 * of about a microsecond; on_done counts each instance as it ends and
 * frees it.
 *
 *   many_instances worker.wasm [N]
 *
 * Against an installed myriad:
 *
 *   cc many_instances.c $(pkg-config --cflags --libs myriad)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <myriad.h>

/* What the host learns from the instances. Host functions and on_done run
 * on the scheduler's worker threads, several at a time, so the counters
 * are atomic. */
typedef struct Tally {
	atomic_uint_fast64_t finished, trapped, reports, total_steps;
	atomic_uint_fast64_t longest; /* steps << 32 | index, the largest */
	atomic_bool have_trap;
	char trap_message[sizeof(((myr_error *)0)->message)];
} Tally;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* env.sleep_ms(ms). A blocking host call does not wait: it parks the
 * instance with myr_caller_block and returns, and the worker thread moves
 * on to other instances. When the wake time comes, the scheduler calls
 * this function again with the same arguments, so it must tell the first
 * call from the one after waking: the instance's user pointer (set in
 * main) is its own deadline slot, 0 while it is not sleeping. */
static myr_hostret host_sleep_ms(myr_caller *caller, void *env,
				 const myr_val *args, myr_val *results)
{
	(void)env, (void)results;
	uint64_t *wake_at =
		myr_instance_user(myr_caller_instance(caller), NULL);
	if (*wake_at == 0) {
		if (args[0].of.i32 <= 0)
			return MYR_HOST_OK;
		*wake_at = now_ns() + (uint64_t)args[0].of.i32 * 1000000u;
	}
	if (now_ns() < *wake_at)
		return myr_caller_block(caller, *wake_at);
	*wake_at = 0; /* woken: the call is complete */
	return MYR_HOST_OK;
}

/* env.report(index, steps). env is the Tally given to myr_func_new. The
 * arguments come from untrusted code, so they are checked: an instance
 * may report only for itself, and a host function refuses with a trap,
 * which ends that instance and no other. */
static myr_hostret host_report(myr_caller *caller, void *env,
			       const myr_val *args, myr_val *results)
{
	(void)results;
	Tally *t = env;
	uint64_t self;
	myr_instance_user(myr_caller_instance(caller), &self);
	if ((uint32_t)args[0].of.i32 != self)
		return myr_caller_trap(caller, "report: not this instance");
	uint64_t steps = (uint64_t)args[1].of.i64;
	atomic_fetch_add(&t->reports, 1);
	atomic_fetch_add(&t->total_steps, steps);
	uint64_t mine = steps << 32 | self, best = atomic_load(&t->longest);
	while (mine > best &&
	       !atomic_compare_exchange_weak(&t->longest, &best, mine))
		;
	return MYR_HOST_OK;
}

/* Called by the scheduler, on a worker thread, when an instance finishes
 * or traps. Nothing else refers to the instance any more, so it is freed
 * here: its memory returns to the engine while the others still run. */
static void on_done(myr_instance *inst, myr_status status, void *user)
{
	Tally *t = user;
	if (status == MYR_STATUS_DONE) {
		atomic_fetch_add(&t->finished, 1);
	} else {
		atomic_fetch_add(&t->trapped, 1);
		/* Keep the first message; myr_sched_run returning makes it
		 * visible to the main thread. */
		if (!atomic_exchange(&t->have_trap, true))
			snprintf(t->trap_message, sizeof t->trap_message, "%s",
				 myr_instance_error(inst)->message);
	}
	myr_instance_free(inst);
}

/* For myr_sched_drain: frees instances a failed start left behind. */
static void free_instance(myr_instance *inst, void *user)
{
	(void)user;
	myr_instance_free(inst);
}

/* A host function for each import. imports[i] must satisfy the module's
 * import i, in the order the module declares them, so they are matched
 * by name rather than assumed. */
typedef struct HostFunc {
	const char *name;
	myr_func *func;
} HostFunc;

/* Import names come with a length: they may contain NUL bytes. */
static bool name_is(const char *name, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(name, want, len) == 0;
}

static bool resolve_imports(const myr_module *module, const HostFunc *host,
			    size_t nhost, myr_extern *imports)
{
	size_t n = myr_module_import_count(module);
	for (size_t i = 0; i < n; i++) {
		myr_externdesc d;
		myr_module_import(module, i, &d);
		const HostFunc *found = NULL;
		for (size_t j = 0; j < nhost && !found; j++)
			if (d.kind == MYR_EXTERN_FUNC &&
			    name_is(d.module, d.module_len, "env") &&
			    name_is(d.name, d.name_len, host[j].name))
				found = &host[j];
		if (!found) {
			fprintf(stderr, "no host function for %.*s.%.*s\n",
				(int)d.module_len, d.module, (int)d.name_len,
				d.name);
			return false;
		}
		imports[i] = (myr_extern){.kind = MYR_EXTERN_FUNC,
					  .of.func = found->func};
	}
	return true;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = NULL;
	long size;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) &&
	    fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = buf ? (size_t)size : 0;
	return buf;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s worker.wasm [N]\n", argv[0]);
		return 2;
	}
	uint64_t n = argc == 3 ? strtoull(argv[2], NULL, 10) : 10000;
	if (n == 0 || n > UINT32_MAX) {
		fprintf(stderr, "N must be between 1 and 2^32-1\n");
		return 2;
	}
	int status = 1;
	myr_error err;
	Tally tally = {0};
	myr_module *module = NULL;
	myr_func *sleep_fn = NULL, *report_fn = NULL;
	myr_sched *sched = NULL;
	uint64_t *wake_at = calloc(n, sizeof *wake_at);
	myr_engine *engine = myr_engine_new(NULL);
	if (!engine || !wake_at)
		goto out;

	size_t len;
	uint8_t *bytes = read_file(argv[1], &len);
	if (!bytes) {
		perror(argv[1]);
		goto out;
	}
	module = myr_module_new(engine, bytes, len, &err);
	free(bytes);
	if (!module) {
		fprintf(stderr, "%s: %s\n", argv[1], err.message);
		goto out;
	}

	/* Host functions are typed like wasm functions; an import links
	 * only if the types match exactly. One myr_func serves every
	 * instance: env is shared, per-instance state goes through the
	 * caller's instance. */
	static const myr_valtype sleep_params[] = {MYR_I32};
	static const myr_valtype report_params[] = {MYR_I32, MYR_I64};
	const myr_functype sleep_type = {.nparams = 1, .params = sleep_params};
	const myr_functype report_type = {.nparams = 2,
					  .params = report_params};
	sleep_fn = myr_func_new(engine, &sleep_type, host_sleep_ms, NULL, NULL);
	report_fn =
		myr_func_new(engine, &report_type, host_report, &tally, NULL);
	const HostFunc host[] = {{"sleep_ms", sleep_fn}, {"report", report_fn}};
	myr_extern imports[2];
	if (!sleep_fn || !report_fn || myr_module_import_count(module) > 2 ||
	    !resolve_imports(module, host, 2, imports))
		goto out;

	/* The scheduler: threads = 0 is one worker per CPU, slice_ns = 0 is
	 * the default slice of 1 us. */
	const myr_sched_config cfg = {.on_done = on_done, .user = &tally};
	sched = myr_sched_new(engine, &cfg);
	if (!sched)
		goto out;

	/* Optional: commit room for n instances in one go instead of page by
	 * page as they are created. */
	myr_module_reserve(module, n);

	for (uint64_t i = 0; i < n; i++) {
		myr_instance *inst = myr_instance_new(
			module, imports, myr_module_import_count(module), &err);
		if (!inst) {
			fprintf(stderr, "instance %" PRIu64 ": %s\n", i,
				err.message);
			goto drain;
		}
		/* The user pointer and index are the embedder's: here the
		 * instance's sleep deadline and its number. */
		myr_instance_set_user(inst, &wake_at[i], i);
		myr_extern run;
		myr_val arg = {.type = MYR_I32, .of.i32 = (int32_t)i};
		if (!myr_instance_export(inst, "run", 3, &run) ||
		    !myr_instance_start(inst, run.of.func, &arg, 1, &err) ||
		    !myr_sched_add(sched, inst)) {
			fprintf(stderr, "instance %" PRIu64 " did not start\n",
				i);
			myr_instance_free(inst);
			goto drain;
		}
	}

	/* Runs every instance to its end on the worker threads; this thread
	 * waits here. on_done has freed each instance by the time it
	 * returns. */
	myr_sched_run(sched);

	myr_sched_stats st;
	myr_sched_get_stats(sched, &st);
	uint64_t longest = atomic_load(&tally.longest);
	printf("%" PRIu64 " instances: %" PRIu64 " finished, %" PRIu64
	       " trapped\n",
	       n, (uint64_t)atomic_load(&tally.finished),
	       (uint64_t)atomic_load(&tally.trapped));
	if (atomic_load(&tally.have_trap))
		printf("trap: %s\n", tally.trap_message);
	printf("reports: %" PRIu64 ", Collatz steps in all: %" PRIu64 "\n",
	       (uint64_t)atomic_load(&tally.reports),
	       (uint64_t)atomic_load(&tally.total_steps));
	printf("longest: from %" PRIu64 ", %" PRIu64 " steps\n",
	       (longest & 0xFFFFFFFFu) + 1, longest >> 32);
	printf("%" PRIu64 " slices on %" PRIu32 " threads, at most %" PRIu64
	       " instances alive, %.3f s\n",
	       st.slices, st.threads, st.live_peak, st.wall_s);
	status = 0;
	goto out;
drain:
	/* Instances already added are still in the scheduler: take them
	 * out and free them. */
	myr_sched_drain(sched, free_instance, NULL);
out:
	/* Instances first (all freed by now), then what they imported, then
	 * the module and the engine. */
	myr_sched_free(sched);
	myr_func_free(sleep_fn);
	myr_func_free(report_fn);
	myr_module_free(module);
	myr_engine_free(engine);
	free(wake_at);
	return status;
}
