/* `myriad run` of a program that imports "myriad": the program's _start
 * (or the --invoke export) is the first actor; the run lasts until every
 * actor has ended, and its exit status is the first actor's. When every
 * live actor waits forever in receive, nothing can wake any of them (the
 * command line sends nothing): the run stops with a deadlock report. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

enum { SAMPLE = 8, CHECK_MS = 50 };

typedef struct Run {
	const Options *o;
	Loaded *l;
	int64_t first;	 /* the first actor's pid (0 until adopted) */
	bool adopting;	 /* it is being started: an end now is its end */
	bool first_done; /* it has ended, with first_reason */
	int32_t first_reason;
	myr_status first_status;
	myr_error first_err;
	myr_val results[16];
	size_t nresults;
	/* Deadlock: the figures seen at the last check, and how many checks
	 * in a row found every actor waiting. */
	uint64_t seen_messages;
	int stuck_checks;
	bool deadlock;
	uint64_t stuck;
	int64_t sample[SAMPLE];
	size_t nsample;
	/* --stats */
	double last_t;
	uint64_t last_messages;
} Run;

static volatile sig_atomic_t interrupted;
static myr_sched *running_sched;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
	if (running_sched)
		myr_sched_stop(running_sched);
}

static void on_exit_cb(int64_t pid, int32_t reason, myr_instance *inst,
		       void *user)
{
	Run *r = user;
	if (pid != r->first && !r->adopting)
		return;
	r->first_done = true;
	r->first_reason = reason;
	r->first_status = inst ? myr_instance_status(inst) : MYR_STATUS_TRAPPED;
	if (inst && (r->first_status == MYR_STATUS_TRAPPED ||
		     r->first_status == MYR_STATUS_EXITED))
		r->first_err = *myr_instance_error(inst);
	if (inst && r->first_status == MYR_STATUS_DONE)
		r->nresults = myr_instance_results(inst, r->results,
						   sizeof r->results /
							   sizeof *r->results);
}

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void on_progress(const myr_sched_stats *st, void *user)
{
	(void)st;
	Run *r = user;
	myr_actors_stats as;
	myr_actors_get_stats(r->l->actors, &as);
	/* Two checks in a row with every actor waiting and no message in
	 * between: the state is stable (one check already is; the second
	 * costs nothing and guards the report). */
	uint64_t n = myr_actors_deadlocked(r->l->actors, r->sample, SAMPLE);
	if (n && as.messages == r->seen_messages) {
		if (++r->stuck_checks >= 2) {
			r->deadlock = true;
			r->stuck = n;
			r->nsample = (size_t)(n < SAMPLE ? n : SAMPLE);
			myr_sched_stop(r->l->sched);
		}
	} else {
		r->stuck_checks = n ? 1 : 0;
	}
	r->seen_messages = as.messages;
	double now = mono_s();
	if (r->o->stats && now - r->last_t >= 1.0) {
		double rate = (double)(as.messages - r->last_messages) /
			      (now - r->last_t);
		fprintf(stderr,
			"myriad: actors %" PRIu64 " live (peak %" PRIu64
			"), %" PRIu64 " spawned, %.0f messages/s, %" PRIu64
			" bytes queued, %" PRIu64 " waiting\n",
			as.live, as.live_peak, as.spawned, rate,
			as.queued_bytes, as.waiting);
		r->last_t = now;
		r->last_messages = as.messages;
	}
}

static Run the_run;

int actors_prepare(const Options *o, Loaded *l)
{
	if (o->instances) {
		fprintf(stderr, "myriad: --instances cannot be used with a "
				"program that imports \"myriad\" (it spawns "
				"its own)\n");
		return EXIT_USAGE;
	}
	if (o->json) {
		fprintf(stderr, "myriad: --json is not supported for actor "
				"programs\n");
		return EXIT_USAGE;
	}
	Run *r = &the_run;
	memset(r, 0, sizeof *r);
	r->o = o;
	r->l = l;
	myr_sched_config sc = {
		.threads = o->threads,
		.slice_ns = o->slice_ns,
		.fuel = o->fuel,
		.on_progress = on_progress,
		.user = r,
		.progress_ms = CHECK_MS,
	};
	l->sched = myr_sched_new(l->engine, &sc);
	myr_actors_config ac = {.on_exit = on_exit_cb, .user = r};
	l->actors = l->sched ? myr_actors_new(l->sched, &ac) : NULL;
	if (!l->actors) {
		fprintf(stderr, "myriad: out of memory\n");
		return EXIT_TRAP;
	}
	return 0;
}

/* The function the first actor runs, with its arguments. */
static int first_call(const Options *o, Loaded *l, myr_func **func,
		      myr_val *args)
{
	const char *name = o->invoke ? o->invoke : "_start";
	myr_extern ext;
	if (!myr_instance_export(l->inst, name, strlen(name), &ext) ||
	    ext.kind != MYR_EXTERN_FUNC) {
		if (o->invoke)
			fprintf(stderr, "%s: no exported function \"%s\"\n",
				o->module, name);
		else
			fprintf(stderr,
				"%s: no _start function: not a WASI command "
				"(call one of its exports with --invoke "
				"NAME)\n",
				o->module);
		return EXIT_USAGE;
	}
	const myr_functype *ft = myr_func_type(ext.of.func);
	if (!o->invoke && (ft->nparams || ft->nresults)) {
		fprintf(stderr, "%s: _start is not of type () -> ()\n",
			o->module);
		return EXIT_USAGE;
	}
	size_t nargs = o->invoke ? o->nargs : 0;
	if (nargs != ft->nparams || ft->nparams > 16 || ft->nresults > 16) {
		fprintf(stderr,
			"myriad: %s takes %" PRIu32 " arguments, %zu given\n",
			name, ft->nparams, nargs);
		return EXIT_USAGE;
	}
	for (uint32_t i = 0; i < ft->nparams; i++) {
		char *end;
		args[i].type = ft->params[i];
		if (ft->params[i] == MYR_I32 || ft->params[i] == MYR_I64) {
			long long v = strtoll(o->args[i], &end, 0);
			if (ft->params[i] == MYR_I32)
				args[i].of.i32 = (int32_t)v;
			else
				args[i].of.i64 = v;
		} else if (ft->params[i] == MYR_F32) {
			args[i].of.f32 = strtof(o->args[i], &end);
		} else if (ft->params[i] == MYR_F64) {
			args[i].of.f64 = strtod(o->args[i], &end);
		} else {
			end = (char *)o->args[i];
		}
		if (!*o->args[i] || *end) {
			fprintf(stderr,
				"myriad: argument %u of %s: \"%s\" is not a "
				"number of its type\n",
				i + 1, name, o->args[i]);
			return EXIT_USAGE;
		}
	}
	*func = ext.of.func;
	return 0;
}

static void print_value(const myr_val *v)
{
	switch (v->type) {
	case MYR_I32:
		printf("i32:%" PRId32 "\n", v->of.i32);
		break;
	case MYR_I64:
		printf("i64:%" PRId64 "\n", v->of.i64);
		break;
	case MYR_F32:
		printf("f32:%.9g\n", (double)v->of.f32);
		break;
	case MYR_F64:
		printf("f64:%.17g\n", v->of.f64);
		break;
	default:
		printf("ref\n");
		break;
	}
}

static void report_deadlock(const Run *r)
{
	fprintf(stderr,
		"myriad: deadlock: %" PRIu64 " actor%s wait%s forever in "
		"receive and nothing can wake %s:",
		r->stuck, r->stuck == 1 ? "" : "s", r->stuck == 1 ? "s" : "",
		r->stuck == 1 ? "it" : "them");
	for (size_t i = 0; i < r->nsample; i++) {
		char name[64];
		fprintf(stderr, "%s pid %" PRId64, i ? "," : "", r->sample[i]);
		if (myr_actors_name(r->l->actors, r->sample[i], name,
				    sizeof name))
			fprintf(stderr, " (%s)", name);
	}
	fprintf(stderr, "%s\n", r->stuck > r->nsample ? ", ..." : "");
}

int run_actors(const Options *o, Loaded *l)
{
	Run *r = &the_run;
	myr_error err;
	l->inst = myr_instance_new(l->module, l->imports,
				   myr_module_import_count(l->module), &err);
	if (!l->inst) {
		if (err.kind == MYR_ERR_TRAP && err.trap == MYR_TRAP_EXIT)
			return exit_status(err.exit_code);
		if (err.kind == MYR_ERR_TRAP) {
			fprintf(stderr, "trap: %s\n", err.message);
			return EXIT_TRAP;
		}
		return report_error(o, &err);
	}
	myr_func *func = NULL;
	myr_val args[16];
	int rc = first_call(o, l, &func, args);
	if (rc)
		return rc;
	r->adopting = true;
	r->first = myr_actors_adopt(l->actors, l->inst, func, args,
				    o->invoke ? o->nargs : 0, &err);
	r->adopting = false;
	l->inst = NULL; /* the actor system's now */
	if (!r->first)
		return report_error(o, &err);

	struct sigaction sa = {.sa_handler = on_sigint}, old;
	sigemptyset(&sa.sa_mask);
	running_sched = l->sched;
	sigaction(SIGINT, &sa, &old);
	r->last_t = mono_s();
	myr_sched_run(l->sched);
	sigaction(SIGINT, &old, NULL);
	running_sched = NULL;
	myr_sched_stats st;
	myr_sched_get_stats(l->sched, &st);
	if (st.live)
		myr_sched_drain(l->sched, NULL, NULL);
	fflush(stdout);
	if (r->deadlock) {
		report_deadlock(r);
		return EXIT_DEADLOCK;
	}
	if (interrupted) {
		fprintf(stderr, "myriad: interrupted\n");
		return EXIT_INTERRUPTED;
	}
	if (!r->first_done) {
		fprintf(stderr, "myriad: the run stopped before the first "
				"actor ended\n");
		return EXIT_TRAP;
	}
	int32_t reason = r->first_reason;
	if (r->first_status == MYR_STATUS_DONE) {
		for (size_t i = 0; i < r->nresults; i++)
			print_value(&r->results[i]);
		return 0;
	}
	if (r->first_status == MYR_STATUS_EXITED)
		return exit_status(r->first_err.exit_code);
	if (reason == MYR_REASON_TRAP) {
		fprintf(stderr, "trap: %s\n", r->first_err.message);
		return EXIT_TRAP;
	}
	if (reason == MYR_REASON_NORMAL)
		return 0;
	if (reason > MYR_REASON_EXIT)
		return exit_status(reason - MYR_REASON_EXIT);
	fprintf(stderr,
		"myriad: the first actor was ended by an exit signal, reason "
		"%" PRId32 "\n",
		reason);
	return EXIT_TRAP;
}
