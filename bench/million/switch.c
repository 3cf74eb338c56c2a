/*
 * What a switch between instances costs, measured from outside the
 * scheduler through the public API only.
 *
 *   switch SPIN.wasm --instances N [--slices S] [--fuel F]
 *
 * The same wasm work (spin() iterations, see spin.wat; S slices' worth,
 * default 4,000,000, for api and half that for sched) is timed run two
 * ways, and the difference is divided by the number of switches:
 *
 *   alone  one instance, one uninterrupted run of the whole chunk of work;
 *   api    N instances, each run for F units of fuel and paused, resumed
 *          round-robin on this thread with myr_instance_run();
 *   sched  N instances under the scheduler (myr_sched, one worker thread,
 *          fixed fuel F per slice), each given k slices of work.
 *
 *   switch_ns = (T_api - T_alone) / slices      (and likewise for sched)
 *
 * A switch so measured is everything between the last instruction of one
 * slice and the first instruction of the next: saving the paused
 * instance's pc and frame, unwinding out of the interpreter, the loop or
 * run queue that picks the next instance, loading that one's state (its
 * header, the top of its value stack and the word of memory it uses, cold
 * when N instances do not fit in the caches) and re-entering the
 * interpreter at its saved pc. The api instances never finish (they run
 * spin() with an endless count), so their figure is switches only; each
 * sched instance finishes once, after k >= 4 slices, so its figure also
 * carries 1/k of what finishing an instance costs (its return, on_done).
 *
 * The work is cut into chunks of C slices (a whole number of rounds over
 * the N instances, C >= 1000), and the two ways alternate chunk by chunk;
 * a figure is the median over chunks of the paired difference, so that a
 * burst of other work on the machine spoils one pair, not the result.
 * Times are CPU time of the process (CLOCK_PROCESS_CPUTIME_ID), which
 * other programs on the machine inflate less than wall time.
 *
 * F defaults to the fuel that makes a slice last about 1 us here
 * (measured first, printed as fuel_per_slice); pass --fuel to use the
 * same budget in several runs of this program.
 *
 * Besides, "call" is the cost of a whole myr_func_call() of the tiny export
 * touch() on each of the N instances in turn: the figure to set beside a
 * JavaScript-to-wasm call in V8, which cannot pause a running instance.
 *
 * Everything timed runs on CPU 0, where the scheduler pins its worker.
 * Output: one JSON object; the figures of the chunks are summarized as
 * median, a 95% interval of the median, min and max.
 */
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "myriad.h"

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double wall_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what, const myr_error *err)
{
	fprintf(stderr, "switch: %s%s%s\n", what, err ? ": " : "",
		err ? err->message : "");
	exit(1);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open the module", NULL);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *bytes = malloc(n > 0 ? (size_t)n : 1);
	if (!bytes || n <= 0 || fread(bytes, 1, (size_t)n, f) != (size_t)n)
		die("cannot read the module", NULL);
	fclose(f);
	*len = (size_t)n;
	return bytes;
}

/* One instance and the two exports of spin.wat. */
typedef struct Inst {
	myr_instance *inst;
	myr_func *spin, *touch;
} Inst;

static myr_func *export_func(myr_instance *inst, const char *name)
{
	myr_extern x;
	if (!myr_instance_export(inst, name, strlen(name), &x) ||
	    x.kind != MYR_EXTERN_FUNC)
		die("the module must export spin and touch", NULL);
	return x.of.func;
}

static Inst make_instance(myr_module *module)
{
	myr_error err;
	Inst in = {.inst = myr_instance_new(module, NULL, 0, &err)};
	if (!in.inst)
		die("cannot instantiate", &err);
	in.spin = export_func(in.inst, "spin");
	in.touch = export_func(in.inst, "touch");
	return in;
}

/* spin() forever, for all that this program is concerned. */
#define ENDLESS INT64_MAX

static void start_spin(const Inst *in, int64_t iterations)
{
	myr_error err;
	myr_val arg = {.type = MYR_I64, .of.i64 = iterations};
	if (!myr_instance_start(in->inst, in->spin, &arg, 1, &err))
		die("cannot start spin", &err);
}

static void run_paused(const Inst *in, int64_t fuel)
{
	if (myr_instance_run(in->inst, fuel) != MYR_STATUS_READY)
		die("spin ended early", NULL);
}

/* The fuel that makes one slice of spin() last about target_ns: time a
 * long warm run in slices of a trial budget, keep the fastest of a few,
 * and scale the budget. */
static int64_t calibrate_fuel(const Inst *in, double target_ns)
{
	const int64_t trial = 100000, slices = 2000;
	double best = 1e30;
	start_spin(in, ENDLESS);
	for (int k = 0; k < 5; k++) {
		double t0 = cpu_s();
		for (int64_t s = 0; s < slices; s++)
			run_paused(in, trial);
		double ns = (cpu_s() - t0) * 1e9 / (double)slices;
		if (ns < best)
			best = ns;
	}
	int64_t fuel = (int64_t)((double)trial * target_ns / best);
	return fuel > 1 ? fuel : 1;
}

/* Iterations of spin() per slice of `fuel`: count the slices of a long
 * run. */
static double iterations_per_slice(const Inst *in, int64_t fuel)
{
	const int64_t iterations = 20000000;
	start_spin(in, iterations);
	uint64_t slices = 0;
	myr_status st;
	do {
		st = myr_instance_run(in->inst, fuel);
		slices++;
	} while (st == MYR_STATUS_READY);
	if (st != MYR_STATUS_DONE)
		die("spin trapped", myr_instance_error(in->inst));
	return (double)iterations / (double)slices;
}

/* Figures of many chunks, summarized. */
typedef struct Series {
	double *v;
	size_t n, cap;
} Series;

static void series_add(Series *s, double x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			die("out of memory", NULL);
	}
	s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median, extremes, and a 95% interval for the median (the box-plot
 * notch of McGill, Tukey and Larsen: median +- 1.58 IQR / sqrt(n)). */
static void series_print(const char *name, Series *s, int last)
{
	qsort(s->v, s->n, sizeof *s->v, cmp_double);
	double med = s->n % 2 ? s->v[s->n / 2]
			      : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
	double iqr = s->v[s->n * 3 / 4] - s->v[s->n / 4];
	printf("  \"%s\": {\"median\": %.3f, \"ci95\": %.3f, \"min\": "
	       "%.3f, \"max\": %.3f, \"chunks\": %zu}%s\n",
	       name, med, 1.58 * iqr / sqrt((double)s->n), s->v[0],
	       s->v[s->n - 1], s->n, last ? "" : ",");
	free(s->v);
}

typedef struct Done {
	uint64_t done, trapped;
} Done;

static void on_done(myr_instance *inst, myr_status status, void *user)
{
	(void)inst;
	Done *d = user;
	if (status == MYR_STATUS_DONE)
		d->done++;
	else
		d->trapped++;
}

static void usage(void)
{
	fprintf(stderr, "usage: switch SPIN.wasm --instances N [--slices S] "
			"[--fuel F]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	uint64_t n = 0, total = 4000000;
	int64_t fuel = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-') {
			path = a;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		uint64_t v = strtoull(argv[++i], NULL, 10);
		if (!strcmp(a, "--instances"))
			n = v;
		else if (!strcmp(a, "--slices"))
			total = v;
		else if (!strcmp(a, "--fuel"))
			fuel = (int64_t)v;
		else
			usage();
	}
	if (!path || !n || !total)
		usage();

	/* Everything timed here runs on CPU 0, where the scheduler puts its
	 * first worker: the same core, the same neighbours. */
	cpu_set_t cpu0;
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	sched_setaffinity(0, sizeof cpu0, &cpu0);

	myr_engine *engine = myr_engine_new(NULL);
	size_t len;
	uint8_t *bytes = read_file(path, &len);
	myr_error err;
	myr_module *module = myr_module_new(engine, bytes, len, &err);
	if (!module)
		die("cannot load the module", &err);
	free(bytes);

	/* The lone instance, made first so that it is the same whatever N
	 * is. */
	Inst lone = make_instance(module);
	if (!fuel)
		fuel = calibrate_fuel(&lone, 1000);
	double ips = iterations_per_slice(&lone, fuel);

	/* All N, committed in bulk first as `myriad run` does: page faults
	 * are the machine's cost, not a switch's. */
	double t_spawn = wall_s();
	if (!myr_module_reserve(module, n))
		fprintf(stderr,
			"switch: could not reserve %" PRIu64
			" instances; going on\n",
			n);
	Inst *all = malloc(n * sizeof *all);
	if (!all)
		die("out of memory", NULL);
	for (uint64_t i = 0; i < n; i++)
		all[i] = make_instance(module);
	double spawn_s = wall_s() - t_spawn;

	/* A chunk is whole rounds over the N instances, at least 1000
	 * slices; there are enough chunks for `total` slices, and at least
	 * three. */
	uint64_t rounds = (1000 + n - 1) / n;
	uint64_t chunk = rounds * n;
	uint64_t chunks = total / chunk > 3 ? total / chunk : 3;
	double t_begin = wall_s();

	/* call: touch() on each instance in turn, before any of them is in
	 * the middle of a spin(). */
	Series call = {0};
	for (uint64_t c = 0; c < chunks; c++) {
		double t0 = cpu_s();
		uint64_t sum = 0;
		for (uint64_t r = 0; r < rounds; r++)
			for (uint64_t i = 0; i < n; i++) {
				myr_val res;
				if (!myr_func_call(all[i].touch, NULL, 0, &res,
						   1, &err))
					die("touch failed", &err);
				sum += (uint64_t)res.of.i32;
			}
		series_add(&call, (cpu_s() - t0) * 1e9 / (double)chunk);
		if (!sum)
			die("touch returned nothing", NULL);
	}

	/* api: alone and round-robin, chunk by chunk. */
	Series alone_slice = {0}, api = {0};
	start_spin(&lone, ENDLESS);
	for (uint64_t i = 0; i < n; i++)
		start_spin(&all[i], ENDLESS);
	for (uint64_t c = 0; c < chunks; c++) {
		/* Alternate which goes first, so that neither always runs
		 * right after the other. */
		double t_alone = 0, t_api = 0;
		for (int half = 0; half < 2; half++) {
			double t0 = cpu_s();
			if ((c + half) % 2 == 0) {
				run_paused(&lone, fuel * (int64_t)chunk);
				t_alone = cpu_s() - t0;
			} else {
				for (uint64_t r = 0; r < rounds; r++)
					for (uint64_t i = 0; i < n; i++)
						run_paused(&all[i], fuel);
				t_api = cpu_s() - t0;
			}
		}
		series_add(&alone_slice, t_alone * 1e9 / (double)chunk);
		series_add(&api, (t_api - t_alone) * 1e9 / (double)chunk);
	}

	/* sched: each instance gets k slices of work, at least 4 (so
	 * finishing weighs at most a quarter of its cost on each switch) and
	 * enough for 20,000 slices a run, for half as many slices in all as
	 * api (each run of the scheduler also waits for its poll). The alone
	 * run does the same iterations. What a run of the scheduler costs
	 * however little it does (starting and joining its worker thread) is
	 * measured with one instance of one iteration and taken off. */
	uint64_t k = (20000 + n - 1) / n;
	k = k < 4 ? 4 : k;
	int64_t iter_each = (int64_t)((double)k * ips);
	uint64_t sched_chunks =
		total / 2 / (k * n) > 3 ? total / 2 / (k * n) : 3;
	Series sched = {0}, sampled = {0}, run_cost = {0};
	uint64_t sched_slices = 0;
	for (uint64_t c = 0; c < sched_chunks; c++) {
		start_spin(&lone, iter_each * (int64_t)n);
		double t0 = cpu_s();
		if (myr_instance_run(lone.inst, ENDLESS) != MYR_STATUS_DONE)
			die("spin did not finish", NULL);
		double t_alone = cpu_s() - t0;

		myr_sched_stats st;
		double t_empty = 0, t_sched = 0;
		for (int empty = 1; empty >= 0; empty--) {
			Done done = {0};
			myr_sched_config sc = {.threads = 1,
					       .fuel = fuel,
					       .on_done = on_done,
					       .user = &done};
			myr_sched *s = myr_sched_new(engine, &sc);
			if (!s)
				die("cannot create the scheduler", NULL);
			uint64_t added = empty ? 1 : n;
			for (uint64_t i = 0; i < added; i++) {
				const Inst *in = empty ? &lone : &all[i];
				start_spin(in, empty ? 1 : iter_each);
				if (!myr_sched_add(s, in->inst))
					die("cannot add to the scheduler",
					    NULL);
			}
			t0 = cpu_s();
			myr_sched_run(s);
			double t = cpu_s() - t0;
			myr_sched_get_stats(s, &st);
			myr_sched_free(s);
			if (done.done != added)
				die("the scheduler did not finish every "
				    "instance",
				    NULL);
			if (empty)
				t_empty = t;
			else
				t_sched = t;
		}
		sched_slices = st.slices;
		series_add(&sched, (t_sched - t_empty - t_alone) * 1e9 /
					   (double)st.slices);
		series_add(&sampled, st.switch_ns);
		series_add(&run_cost, t_empty * 1e6);
	}

	printf("{\n  \"instances\": %" PRIu64 ",\n  \"fuel_per_slice\": "
	       "%" PRId64 ",\n  \"iterations_per_slice\": %.1f,\n"
	       "  \"instance_block_bytes\": %" PRIu64 ",\n"
	       "  \"spawn_s\": %.3f,\n  \"measure_s\": %.3f,\n"
	       "  \"api_slices_per_chunk\": %" PRIu64 ",\n"
	       "  \"sched_slices_per_instance\": %" PRIu64 ",\n"
	       "  \"sched_slices_per_chunk\": %" PRIu64 ",\n",
	       n, fuel, ips, myr_module_instance_size(module, NULL), spawn_s,
	       wall_s() - t_begin, chunk, k, sched_slices);
	series_print("slice_ns", &alone_slice, 0);
	series_print("api_switch_ns", &api, 0);
	series_print("sched_switch_ns", &sched, 0);
	series_print("sched_sampled_switch_ns", &sampled, 0);
	series_print("sched_run_cost_us", &run_cost, 0);
	series_print("call_ns", &call, 1);
	printf("}\n");

	for (uint64_t i = 0; i < n; i++)
		myr_instance_free(all[i].inst);
	myr_instance_free(lone.inst);
	free(all);
	myr_module_free(module);
	myr_engine_free(engine);
	return 0;
}
