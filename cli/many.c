/*
 * `myriad run MODULE.wasm --instances N`: N instances created up front,
 * alive together, each running _start (a WASI command) or calling the
 * --invoke export once, all under the scheduler in microsecond slices.
 * Prints a summary at the end, or one JSON object with --json: on stdout
 * for --invoke runs, on stderr for WASI commands, whose stdout is the
 * programs' output (in whole lines, see myr_wasi_config.whole_lines).
 * A live progress line shows on a terminal for --invoke runs.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct Run {
	const Options *o;
	myr_sched *sched;
	bool command;  /* a WASI command (_start), not --invoke */
	FILE *figures; /* where the summary goes */
	atomic_uint_fast64_t results_sum;
	atomic_uint_fast64_t exited_zero, exited_nonzero;
	pthread_mutex_t lock; /* first_trap, failed_*, exit_* */
	char first_trap[320];
	bool have_trap;
	/* The lowest-numbered instance that exited with a non-zero code. */
	bool have_exit;
	uint64_t exit_index;
	int exit_code;
	/* The lowest-numbered instance that did not succeed, and the exit
	 * status it stands for. */
	bool failed;
	uint64_t failed_index;
	int failed_status;
	/* Progress line state. */
	bool tty;
	double t_run;
	double last_t;
	uint64_t last_slices;
	uint64_t spawned;
} Run;

static myr_sched *volatile interrupted_sched;
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
	if (interrupted_sched)
		myr_sched_stop(interrupted_sched);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long long kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static uint64_t rss_peak_bytes(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_maxrss * 1024;
}

/* The first result as an unsigned integer (i32 zero-extended). */
static uint64_t result_bits(const myr_val *v)
{
	switch (v->type) {
	case MYR_I32:
		return (uint32_t)v->of.i32;
	case MYR_I64:
		return (uint64_t)v->of.i64;
	case MYR_F32: {
		uint32_t b;
		memcpy(&b, &v->of.f32, 4);
		return b;
	}
	case MYR_F64: {
		uint64_t b;
		memcpy(&b, &v->of.f64, 8);
		return b;
	}
	default:
		return (uint64_t)(uintptr_t)v->of.externref;
	}
}

static void note_failure(Run *r, uint64_t index, int status)
{
	pthread_mutex_lock(&r->lock);
	if (!r->failed || index < r->failed_index) {
		r->failed = true;
		r->failed_index = index;
		r->failed_status = status;
	}
	pthread_mutex_unlock(&r->lock);
}

static void on_done(myr_instance *inst, myr_status status, void *user)
{
	Run *r = user;
	uint64_t index;
	int code;
	myr_instance_user(inst, &index);
	if (status == MYR_STATUS_DONE) {
		myr_val res[8];
		if (myr_instance_results(inst, res, 8) > 0)
			atomic_fetch_add_explicit(&r->results_sum,
						  result_bits(&res[0]),
						  memory_order_relaxed);
	} else if (myr_instance_exit_code(inst, &code)) {
		if (exit_status(code) == 0) {
			atomic_fetch_add_explicit(&r->exited_zero, 1,
						  memory_order_relaxed);
		} else {
			atomic_fetch_add_explicit(&r->exited_nonzero, 1,
						  memory_order_relaxed);
			pthread_mutex_lock(&r->lock);
			if (!r->have_exit || index < r->exit_index) {
				r->have_exit = true;
				r->exit_index = index;
				r->exit_code = exit_status(code);
			}
			pthread_mutex_unlock(&r->lock);
			note_failure(r, index, exit_status(code));
		}
	} else {
		const myr_error *e = myr_instance_error(inst);
		pthread_mutex_lock(&r->lock);
		if (!r->have_trap) {
			snprintf(r->first_trap, sizeof r->first_trap,
				 "instance %" PRIu64 ": %s", index,
				 e ? e->message : "trap");
			r->have_trap = true;
		}
		pthread_mutex_unlock(&r->lock);
		note_failure(r, index, EXIT_TRAP);
	}
	/* Freeing writes out what is left of its output lines. */
	myr_instance_free(inst);
}

static void human_bytes(char *buf, size_t n, double b)
{
	const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	while (b >= 1024 && u < 4)
		b /= 1024, u++;
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

static void on_progress(const myr_sched_stats *st, void *user)
{
	Run *r = user;
	double t = now_s();
	if (r->o->duration_ns &&
	    (t - r->t_run) * 1e9 >= (double)r->o->duration_ns)
		myr_sched_stop(r->sched);
	if (!r->tty)
		return;
	double dt = t - r->last_t;
	double rate = dt > 0 ? (double)(st->slices - r->last_slices) / dt : 0;
	r->last_t = t;
	r->last_slices = st->slices;
	char rss[32];
	human_bytes(rss, sizeof rss, (double)rss_bytes());
	fprintf(stderr,
		"\r  %" PRIu64 " spawned | %" PRIu64 " running | %" PRIu64
		" finished | %" PRIu64 " trapped | %.1fM slices/s | "
		"RSS %s   ",
		r->spawned, st->live, st->completed + st->exited, st->trapped,
		rate / 1e6, rss);
	fflush(stderr);
}

/* The exported function every instance calls and its arguments: the
 * instance's index if it takes one i32, nothing if it takes nothing. */
static int pick_export(const Options *o, const Loaded *l, const char **name,
		       bool *pass_index)
{
	*name = o->invoke ? o->invoke : "_start";
	size_t n = myr_module_export_count(l->module);
	for (size_t i = 0; i < n; i++) {
		myr_externdesc d;
		myr_module_export(l->module, i, &d);
		if (d.kind != MYR_EXTERN_FUNC || d.name_len != strlen(*name) ||
		    memcmp(d.name, *name, d.name_len) != 0)
			continue;
		if (d.func.nparams == 1 && d.func.params[0] == MYR_I32) {
			*pass_index = true;
			return 0;
		}
		if (d.func.nparams == 0) {
			*pass_index = false;
			return 0;
		}
		fprintf(stderr,
			"myriad: %s takes %u parameters; with --instances it "
			"must take none or one i32 (the instance's index)\n",
			*name, d.func.nparams);
		return EXIT_USAGE;
	}
	fprintf(stderr, "%s: no exported function \"%s\"%s\n", o->module, *name,
		o->invoke ? "" : " (name one with --invoke)");
	return EXIT_USAGE;
}

/* Refuses a run that cannot fit in memory, rather than letting the
 * kernel kill it halfway. */
static int check_memory(const Options *o, const Loaded *l)
{
	uint64_t mem = 0;
	uint64_t block = myr_module_instance_size(l->module, &mem);
	/* Small memories are committed in full when spawned; larger ones
	 * (a wasm32 program's 64 KiB pages) only as their pages are
	 * touched, at least one each (data, stack). */
	const myr_config *cfg = myr_engine_config(l->engine);
	bool whole = mem <= cfg->populate_max_slot;
	uint64_t counted = whole ? mem : (mem < 4096 ? mem : 4096);
	uint64_t each = block + counted;
	uint64_t avail = mem_available();
	if (avail && o->instances > avail / (each ? each : 1)) {
		char a[32], e[32];
		human_bytes(a, sizeof a, (double)avail);
		human_bytes(e, sizeof e, (double)each);
		fprintf(stderr,
			"myriad: %" PRIu64 " instances need at least %s each "
			"(%s), %" PRIu64 " in all; %s is available. Use fewer "
			"instances.\n",
			o->instances, e,
			!mem	? "no linear memory"
			: whole ? "their minimum linear memory"
				: "a page of linear memory",
			o->instances * each, a);
		return EXIT_USAGE;
	}
	return 0;
}

static int spawn_all(const Options *o, Loaded *l, Run *r, const char *name,
		     bool pass_index)
{
	for (uint64_t i = 0; i < o->instances && !interrupted; i++) {
		myr_error err;
		myr_instance *inst = myr_instance_new(
			l->module, l->imports,
			myr_module_import_count(l->module), &err);
		if (!inst) {
			fprintf(stderr, "myriad: instance %" PRIu64 ": ", i);
			return report_error(o, &err);
		}
		/* The index is also the instance's MYRIAD_INSTANCE. */
		myr_instance_set_user(inst, NULL, i);
		myr_extern x;
		/* A WASI reactor is initialized before its export is used
		 * (here, on this thread, before the run). */
		if (o->invoke && strcmp(name, "_initialize") != 0 &&
		    myr_instance_export(inst, "_initialize", 11, &x) &&
		    x.kind == MYR_EXTERN_FUNC &&
		    myr_func_type(x.of.func)->nparams == 0 &&
		    myr_func_type(x.of.func)->nresults == 0 &&
		    !myr_func_call(x.of.func, NULL, 0, NULL, 0, &err)) {
			myr_instance_free(inst);
			fprintf(stderr, "myriad: instance %" PRIu64 ": ", i);
			return report_error(o, &err);
		}
		if (!myr_instance_export(inst, name, strlen(name), &x)) {
			myr_instance_free(inst);
			fprintf(stderr, "myriad: no export %s\n", name);
			return EXIT_USAGE;
		}
		myr_val arg = {.type = MYR_I32, .of.i32 = (int32_t)i};
		if (!myr_instance_start(inst, x.of.func, &arg,
					pass_index ? 1 : 0, &err)) {
			myr_instance_free(inst);
			fprintf(stderr, "myriad: instance %" PRIu64 ": ", i);
			return report_error(o, &err);
		}
		if (!myr_sched_add(r->sched, inst)) {
			myr_instance_free(inst);
			fprintf(stderr,
				"myriad: out of memory for the run queue "
				"after %" PRIu64 " instances\n",
				i);
			return EXIT_TRAP;
		}
		r->spawned++;
	}
	return 0;
}

static void free_left(myr_instance *inst, void *user)
{
	(void)user;
	myr_instance_free(inst);
}

typedef struct Figures {
	myr_sched_stats st;
	double reserve_s, spawn_s, wall_s, cpu_s;
	uint64_t rss_before, rss_spawned, populated;
	double overhead;
	bool stopped;
} Figures;

static void print_json(const Options *o, const Run *r, const Figures *f)
{
	cJSON *j = cJSON_CreateObject();
	char sum[32];
	snprintf(sum, sizeof sum, "%" PRIu64,
		 (uint64_t)atomic_load(&((Run *)r)->results_sum));
	cJSON_AddNumberToObject(j, "instances", (double)o->instances);
	cJSON_AddNumberToObject(j, "spawned", (double)r->spawned);
	cJSON_AddNumberToObject(j, "live_peak", (double)f->st.live_peak);
	cJSON_AddNumberToObject(j, "completed", (double)f->st.completed);
	/* completed: returned; exited: ended by proc_exit, with a zero or
	 * non-zero code; trapped: real traps only. */
	cJSON_AddNumberToObject(j, "exited", (double)f->st.exited);
	cJSON_AddNumberToObject(j, "trapped", (double)f->st.trapped);
	cJSON_AddNumberToObject(j, "exited_zero",
				(double)atomic_load(&((Run *)r)->exited_zero));
	cJSON_AddNumberToObject(
		j, "exited_nonzero",
		(double)atomic_load(&((Run *)r)->exited_nonzero));
	/* A WASI command's _start has no results: its sum stays 0. */
	cJSON_AddRawToObject(j, "results_sum", sum);
	cJSON_AddNumberToObject(j, "slices", (double)f->st.slices);
	cJSON_AddNumberToObject(j, "wall_s", f->wall_s);
	cJSON_AddNumberToObject(j, "cpu_s", f->cpu_s);
	cJSON_AddNumberToObject(j, "rss_peak_bytes", (double)rss_peak_bytes());
	cJSON_AddNumberToObject(j, "overhead_bytes_per_instance", f->overhead);
	cJSON_AddNumberToObject(
		j, "spawn_ns_per_instance",
		r->spawned ? f->spawn_s * 1e9 / (double)r->spawned : 0);
	cJSON_AddNumberToObject(j, "switch_ns", f->st.switch_ns);
	cJSON_AddNumberToObject(j, "slice_ns_p50", f->st.slice_ns_p50);
	cJSON_AddNumberToObject(j, "slice_ns_p99", f->st.slice_ns_p99);
	cJSON_AddNumberToObject(j, "slice_ns_mean", f->st.slice_ns_mean);
	/* Everything the workers did per slice beyond running wasm: the
	 * switches, finishing instances, stealing, idling. */
	double all_in = f->st.slices ? f->wall_s * f->st.threads * 1e9 /
					       (double)f->st.slices
				     : 0;
	cJSON_AddNumberToObject(j, "overhead_ns_per_slice",
				all_in > f->st.slice_ns_mean
					? all_in - f->st.slice_ns_mean
					: 0);
	cJSON_AddNumberToObject(j, "slice_ns_target",
				(double)(o->slice_ns ? o->slice_ns : 1000));
	cJSON_AddNumberToObject(j, "slices_per_instance_min",
				(double)f->st.slices_per_instance_min);
	cJSON_AddNumberToObject(j, "slices_per_instance_max",
				(double)f->st.slices_per_instance_max);
	cJSON_AddNumberToObject(j, "threads", f->st.threads);
	cJSON_AddNumberToObject(j, "steals", f->st.steals);
	cJSON_AddNumberToObject(j, "memory_populated_bytes",
				(double)f->populated);
	cJSON_AddNumberToObject(j, "reserve_s", f->reserve_s);
	cJSON_AddBoolToObject(j, "stopped", f->stopped);
	if (r->have_trap)
		cJSON_AddStringToObject(j, "first_trap", r->first_trap);
	char *text = cJSON_PrintUnformatted(j);
	if (text)
		fprintf(r->figures, "%s\n", text);
	free(text);
	cJSON_Delete(j);
}

static void print_summary(const Options *o, const Run *r, const Figures *f)
{
	char rss[32], peak[32];
	human_bytes(rss, sizeof rss, (double)(f->rss_spawned - f->rss_before));
	human_bytes(peak, sizeof peak, (double)rss_peak_bytes());
	fprintf(r->figures, "%s: %" PRIu64 " instances%s\n", o->module,
		r->spawned, f->stopped ? " (stopped before the end)" : "");
	/* An instance that called proc_exit(0) succeeded as much as one
	 * that returned. */
	uint64_t ok = atomic_load(&((Run *)r)->exited_zero);
	uint64_t bad = atomic_load(&((Run *)r)->exited_nonzero);
	fprintf(r->figures,
		"  finished    %" PRIu64 " succeeded, %" PRIu64
		" exited non-zero, %" PRIu64 " trapped, %" PRIu64 " left\n",
		f->st.completed + ok, bad, f->st.trapped, f->st.live);
	if (r->command) {
		/* _start has no results to sum; what a command tells is its
		 * exit code (returning from _start is exit code 0). */
		fprintf(r->figures,
			"  exit codes  %" PRIu64 " zero, %" PRIu64 " non-zero",
			f->st.completed + ok, bad);
		if (r->have_exit)
			fprintf(r->figures,
				" (lowest-numbered: instance %" PRIu64
				", exit code %d)",
				r->exit_index, r->exit_code);
		fprintf(r->figures, "\n");
	} else {
		fprintf(r->figures,
			"  results     sum %" PRIu64
			" (first results, mod 2^64)\n",
			(uint64_t)atomic_load(&((Run *)r)->results_sum));
	}
	fprintf(r->figures,
		"  spawn       %.0f ns per instance (%.2f s), after committing "
		"their memory in bulk in %.2f s\n",
		r->spawned ? f->spawn_s * 1e9 / (double)r->spawned : 0,
		f->spawn_s, f->reserve_s);
	fprintf(r->figures,
		"  memory      %s more RSS after spawning; %.0f bytes per "
		"instance beyond linear memory; peak RSS %s\n",
		rss, f->overhead, peak);
	fprintf(r->figures,
		"  slices      %" PRIu64 " on %u threads: p50 %.0f ns, p99 "
		"%.0f ns, mean %.0f ns (target %" PRIu64 " ns)\n",
		f->st.slices, f->st.threads, f->st.slice_ns_p50,
		f->st.slice_ns_p99, f->st.slice_ns_mean,
		o->slice_ns ? o->slice_ns : 1000);
	fprintf(r->figures, "  switch      %.1f ns between slices (sampled)\n",
		f->st.switch_ns);
	fprintf(r->figures,
		"  fairness    %" PRIu64 "..%" PRIu64 " slices per instance\n",
		f->st.slices_per_instance_min, f->st.slices_per_instance_max);
	fprintf(r->figures, "  time        %.2f s wall, %.2f s CPU\n",
		f->wall_s, f->cpu_s);
	if (r->have_trap)
		fprintf(r->figures, "  first trap  %s\n", r->first_trap);
}

int run_many(const Options *o, Loaded *l)
{
	const char *name;
	bool pass_index = false;
	int rc = pick_export(o, l, &name, &pass_index);
	if (!rc)
		rc = check_memory(o, l);
	if (rc)
		return rc;
	Run r = {.o = o, .command = !o->invoke};
	r.figures = r.command ? stderr : stdout;
	/* A progress line would cut into the programs' output. */
	r.tty = !o->json && !r.command && isatty(STDERR_FILENO);
	pthread_mutex_init(&r.lock, NULL);
	myr_sched_config sc = {.threads = o->threads,
			       .slice_ns = o->slice_ns,
			       .fuel = o->fuel,
			       .on_done = on_done,
			       .user = &r,
			       .on_progress = on_progress,
			       .progress_ms = 100};
	r.sched = myr_sched_new(l->engine, &sc);
	if (!r.sched) {
		fprintf(stderr, "myriad: cannot create the scheduler\n");
		return EXIT_TRAP;
	}
	interrupted_sched = r.sched;
	struct sigaction sa = {.sa_handler = on_sigint}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);

	Figures f = {0};
	myr_engine_stats es0, es1;
	myr_engine_get_stats(l->engine, &es0);
	f.rss_before = rss_bytes();
	/* Commit memory for all of them first, in bulk: that is the
	 * machine's cost, reported apart from the runtime's spawn cost. */
	double tr = now_s();
	if (!myr_module_reserve(l->module, o->instances))
		fprintf(stderr,
			"myriad: could not reserve room for %" PRIu64
			" instances; continuing\n",
			o->instances);
	f.reserve_s = now_s() - tr;
	double t0 = now_s();
	rc = spawn_all(o, l, &r, name, pass_index);
	f.spawn_s = now_s() - t0;
	f.rss_spawned = rss_bytes();
	myr_engine_get_stats(l->engine, &es1);
	f.populated = es1.memory_populated;
	if (r.spawned) {
		/* What reserving and spawning added to RSS, less the
		 * linear memory committed: headers, stacks, globals,
		 * queues. */
		double added = (double)f.rss_spawned - (double)f.rss_before;
		double memory =
			(double)(es1.memory_populated - es0.memory_populated);
		f.overhead = (added - memory) / (double)r.spawned;
	}
	if (r.tty)
		fprintf(stderr, "  spawned %" PRIu64 " instances in %.2f s\n",
			r.spawned, f.spawn_s);
	double c0 = cpu_seconds();
	r.t_run = r.last_t = now_s();
	if (!rc && !interrupted)
		myr_sched_run(r.sched);
	f.wall_s = now_s() - r.t_run;
	f.cpu_s = cpu_seconds() - c0;
	if (r.tty)
		fprintf(stderr, "\n");
	myr_sched_get_stats(r.sched, &f.st);
	f.stopped = f.st.live > 0;
	myr_sched_drain(r.sched, free_left, NULL);
	sigaction(SIGINT, &old, NULL);
	interrupted_sched = NULL;
	if (o->json)
		print_json(o, &r, &f);
	else
		print_summary(o, &r, &f);
	myr_sched_free(r.sched);
	pthread_mutex_destroy(&r.lock);
	if (rc)
		return rc;
	if (interrupted)
		return EXIT_INTERRUPTED;
	return r.failed ? r.failed_status : 0;
}
