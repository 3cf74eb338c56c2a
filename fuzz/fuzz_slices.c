/*
 * slices: pausing must not change what a run does. The module generated
 * from the input runs straight through (FUZZ_FUEL per call), then on a
 * fresh instance in slices whose fuel comes from the input, then on the
 * scheduler (myr_sched), with a fixed fuel per slice or its adaptive one,
 * on one thread and on two, several instances at once. Every run must record
 * exactly the calls the straight run ended, with the same results, traps,
 * memory, globals and tables. Calls after one that ran out of fuel straight are
 * not run.
 *
 * Input: byte 0 chooses the number of slice sizes (1-8), then two bytes
 * per size, then the generator's bytes.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { JOBS = 3 };

typedef struct Job {
	myr_sched *sched;
	myr_instance *inst;
	myr_func *funcs[16];
	uint32_t nfuncs, next, limit;
	uint64_t seed;
	Trace t;
} Job;

/* Starts the job's next call; false when there is none. */
static bool start_next(Job *j)
{
	while (j->next < j->limit && j->next < j->nfuncs) {
		uint32_t i = j->next++;
		const myr_functype *ft = myr_func_type(j->funcs[i]);
		myr_val args[8];
		myr_error err;
		fuzz_args(ft, j->seed, i, args);
		trace_put(&j->t, "call %u\n", i);
		if (myr_instance_start(j->inst, j->funcs[i], args, ft->nparams,
				       &err))
			return true;
		trace_put(&j->t, "  start: %s\n", err.message);
		trace_end_segment(&j->t);
	}
	return false;
}

static void on_done(myr_instance *inst, myr_status s, void *user)
{
	(void)user;
	Job *j = myr_instance_user(inst, NULL);
	fuzz_record_end(&j->t, inst, s);
	if (start_next(j) && !myr_sched_add(j->sched, inst)) {
		fprintf(stderr, "fuzz: myr_sched_add failed\n");
		abort();
	}
}

static void check(const Trace *ref, const Trace *t, const char *what)
{
	if (t->nseg != ref->nseg || !trace_agree(ref, t, false))
		trace_mismatch(what, ref, t);
}

/* Schedulers are made once (making one calibrates its clock for 20 ms)
 * and run again for every input: one or two threads, a fixed fuel per
 * slice of 1 or 13, or the adaptive budget (0: slices of about 1 us). */
static const int64_t sched_fuel[3] = {1, 13, 0};

static myr_sched *scheduler(uint32_t threads, uint32_t k)
{
	static myr_sched *s[2][3];
	myr_sched **p = &s[threads - 1][k];
	if (!*p) {
		myr_sched_config cfg = {.threads = threads,
					.fuel = sched_fuel[k],
					.on_done = on_done};
		*p = myr_sched_new(fuzz_engine(MYR_TIER_INTERP), &cfg);
		if (!*p)
			abort();
	}
	return *p;
}

static void on_scheduler(const Loaded *l, uint64_t seed, uint32_t threads,
			 uint32_t k, uint32_t limit, const Trace *ref)
{
	myr_sched *s = scheduler(threads, k);
	int64_t fuel = sched_fuel[k];
	Job jobs[JOBS] = {0};
	for (int k = 0; k < JOBS; k++) {
		Job *j = &jobs[k];
		j->sched = s;
		j->seed = seed;
		j->limit = limit;
		j->inst = fuzz_instantiate(l, &j->t);
		j->nfuncs = fuzz_func_exports(myr_instance_module(j->inst),
					      j->funcs, 16, j->inst);
		myr_instance_set_user(j->inst, j, (uint64_t)k);
		if (start_next(j) && !myr_sched_add(s, j->inst))
			abort();
	}
	myr_sched_run(s);
	for (int k = 0; k < JOBS; k++) {
		char what[64];
		snprintf(what, sizeof what,
			 "straight vs scheduler (%u threads, fuel %lld)",
			 threads, (long long)fuel);
		check(ref, &jobs[k].t, what);
	}
	for (int k = 0; k < JOBS; k++) {
		myr_instance_free(jobs[k].inst);
		trace_free(&jobs[k].t);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t slices[8];
	size_t nslices = 1 + (size ? data[0] % 8 : 0), at = size ? 1 : 0;
	for (size_t k = 0; k < nslices; k++) {
		uint32_t v = 0;
		if (at + 2 <= size)
			v = data[at] | (uint32_t)data[at + 1] << 8;
		at = at + 2 <= size ? at + 2 : size;
		/* Mostly tiny slices, where pausing is most frequent. */
		slices[k] = 1 + (v & 0x8000 ? v % 5000 : v % 64);
	}
	GenOptions opt = {.max_body = 200};
	GenModule g;
	if (!gen_module(data + at, size - at, &opt, &g))
		return 0;
	Loaded l;
	fuzz_load(fuzz_engine(MYR_TIER_INTERP), &g, &l);

	Trace ref = {0}, sliced = {0};
	myr_instance *a = fuzz_instantiate(&l, &ref);
	uint32_t ended = fuzz_run_exports(a, g.seed, NULL, 0, 16, &ref);
	myr_instance *b = fuzz_instantiate(&l, &sliced);
	fuzz_run_exports(b, g.seed, slices, nslices, ended, &sliced);
	check(&ref, &sliced, "straight vs slices");
	myr_instance_free(b);
	myr_instance_free(a);
	trace_free(&sliced);

	on_scheduler(&l, g.seed, 1, slices[0] % 3, ended, &ref);
	on_scheduler(&l, g.seed, 2, slices[nslices - 1] % 3, ended, &ref);

	trace_free(&ref);
	fuzz_unload(&l);
	gen_free(&g);
	return 0;
}
