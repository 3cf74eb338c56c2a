/*
 * The scheduler: many instances, a few worker threads, microsecond slices.
 *
 * Each worker owns a run queue (a ring of instance pointers that only it
 * touches, so the per-slice path takes no lock and no atomic
 * read-modify-write). A slice is: take the front instance, run it with the
 * current fuel budget, put it at the back if it paused. Instances reach a
 * worker from other threads through its inbox (a locked array, checked
 * with one relaxed load per slice).
 *
 * Stealing is cooperative: an idle worker posts a request on a busy one,
 * which at its next slice boundary (a microsecond later) moves the back
 * half of its queue to the idle worker's inbox. Nobody ever touches
 * another worker's queue.
 *
 * Time is read with the TSC on one slice in 16 (on this project's machines
 * a read costs about 11 ns, a tenth of the switch budget): those samples
 * give the slice-length histogram, the switch cost, and the fuel rate from
 * which each slice's budget is set so that slices last slice_ns.
 *
 * While an instance runs, the header of the one after next and the stack
 * top of the next are prefetched, so that the switch finds them in cache
 * even when a million instances have pushed everything else out.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "actor.h"
#include "runtime.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t ticks(void)
{
	return __rdtsc();
}
#else
static inline uint64_t ticks(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
#endif

/* Slice-length histogram: HIST_NS-wide buckets up to HIST_BUCKETS *
 * HIST_NS, and one overflow bucket. */
enum { HIST_NS = 20, HIST_BUCKETS = 5000, SAMPLE_MASK = 15 };

/* An instance parked by a host call until a time (in TSC ticks). */
typedef struct Timer {
	uint64_t at;
	myr_instance *inst;
} Timer;

typedef struct Worker {
	struct myr_sched *s;
	uint32_t id;
	pthread_t thread;
	/* The run queue: q[head..tail) modulo cap, owner only. */
	myr_instance **q;
	size_t cap, head, tail;
	/* id + 1 of a worker waiting for part of this queue, or 0. */
	atomic_uint steal_req;
	/* Instances handed to this worker by other threads, and instances
	 * in its timer heap that myr_instance_wake wants out early. */
	pthread_mutex_t lock;
	myr_instance **in;
	size_t nin, capin;
	/* When the inbox array cannot grow: instances linked through their
	 * over_next, so that handing one over never fails. */
	myr_instance *over_head, *over_tail;
	atomic_size_t nin_hint;
	myr_instance **wakes;
	size_t nwakes, capwakes;
	atomic_size_t nwakes_hint;
	/* Figures, written by the owner, read by anyone. */
	atomic_uint_fast64_t slices, completed, exited, trapped, steals;
	atomic_uint_fast64_t switch_ticks, switch_samples, slice_ticks;
	atomic_int_fast64_t fuel;
	uint64_t inst_slices_min, inst_slices_max;
	atomic_uint *hist;
	double rate; /* fuel per tick, smoothed */
	/* Sleeping instances, a min-heap on `at` (owner only). */
	Timer *timers;
	size_t ntimers, cap_timers;
	bool failed; /* could not grow its queue */
	/* An idle worker naps on cv (under lock) with sleeping set, so that
	 * handing it an instance or a wake rouses it at once instead of at
	 * the end of its nap. */
	pthread_cond_t cv;
	atomic_bool sleeping;
	/* Every instance added through this worker until it finishes or is
	 * drained (its reg_owner says which worker): what myr_sched_drain
	 * finds parked instances by, as it finds the others in queues and
	 * heaps. Linked on add and unlinked on finish, under a byte lock of
	 * its own, so that parking and waking (an actor's every receive
	 * that waits, and the send that answers it) do no list work and
	 * touch no line but the instance's. */
	atomic_uchar reg_lock;
	myr_instance *reg;
} Worker;

struct myr_sched {
	myr_engine *engine;
	myr_sched_config cfg;
	Worker *w;
	uint32_t nw;
	atomic_bool stop;
	atomic_uint_fast64_t remaining, added, live_peak;
	atomic_uint next_add;
	double ns_per_tick;
	uint64_t tick_cost;
	uint64_t slice_ticks;
	struct timespec t_start;
	double wall_s;
	/* Inside myr_sched_run; read by myr_sched_add on any thread. It
	 * changes under add_lock, which an add that finds it false holds
	 * while it queues directly: else a host thread could push onto a
	 * queue just as a run starting on another thread hands it to its
	 * workers. */
	atomic_bool running;
	pthread_mutex_t add_lock;
	/* Only myr_sched_run ends a run: it sets quit once it has seen no
	 * instance left, and idle workers leave then. A worker that left on
	 * its own could miss an instance added from another thread at that
	 * moment, and the run would wait for it forever. */
	atomic_bool quit;
	/* The run is on the caller's thread, as worker 0 alone (threads
	 * could not be started): it leaves by itself, and every instance is
	 * handed to worker 0. */
	atomic_bool solo;
	/* Workers wait for this before their first slice: 1 go, -1 leave
	 * (not every thread could be started). */
	atomic_int go;
	pthread_mutex_t end_lock;
	pthread_cond_t end_cond; /* signalled when the last instance ends */
};

/* ------------------------------------------------------------------ */
/* Time                                                                */

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Measures the TSC against the monotonic clock, and what reading it
 * costs (subtracted from sampled intervals). */
static void calibrate(myr_sched *s)
{
	double c0 = mono_s();
	uint64_t t0 = ticks();
	struct timespec nap = {0, 20 * 1000 * 1000};
	nanosleep(&nap, NULL);
	double c1 = mono_s();
	uint64_t t1 = ticks();
	s->ns_per_tick = (c1 - c0) * 1e9 / (double)(t1 - t0);
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 1000; i++) {
		uint64_t a = ticks(), b = ticks();
		if (b - a < best)
			best = b - a;
	}
	s->tick_cost = best;
	s->slice_ticks = (uint64_t)((double)s->cfg.slice_ns / s->ns_per_tick);
	if (!s->slice_ticks)
		s->slice_ticks = 1;
}

/* The worker whose thread this is, so that a wake or an add made by
 * an instance it runs goes straight onto its own queue. */
static _Thread_local Worker *this_worker;

/* ------------------------------------------------------------------ */
/* Queues                                                              */

static size_t qlen(const Worker *w)
{
	return w->tail - w->head;
}

static bool qpush(Worker *w, myr_instance *inst)
{
	if (qlen(w) == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 1024;
		myr_instance **q = xcalloc(cap, sizeof *q);
		if (!q)
			return false;
		for (size_t i = 0; i < qlen(w); i++)
			q[i] = w->q[(w->head + i) & (w->cap - 1)];
		free(w->q);
		w->tail = qlen(w);
		w->head = 0;
		w->q = q;
		w->cap = cap;
	}
	w->q[w->tail++ & (w->cap - 1)] = inst;
	return true;
}

static myr_instance *qpop(Worker *w)
{
	return w->q[w->head++ & (w->cap - 1)];
}

/* Never fails: the instances would be lost. */
static void inbox_put(Worker *w, myr_instance **items, size_t n)
{
	pthread_mutex_lock(&w->lock);
	if (w->nin + n > w->capin) {
		size_t cap = MAX(w->capin * 2, w->nin + n);
		myr_instance **in = xrealloc_array(w->in, cap, sizeof *in);
		if (in) {
			w->in = in;
			w->capin = cap;
		}
	}
	if (w->nin + n <= w->capin) {
		memcpy(w->in + w->nin, items, n * sizeof *items);
		w->nin += n;
	} else {
		for (size_t i = 0; i < n; i++) {
			items[i]->over_next = NULL;
			if (w->over_tail)
				w->over_tail->over_next = items[i];
			else
				w->over_head = items[i];
			w->over_tail = items[i];
		}
	}
	atomic_store_explicit(&w->nin_hint, w->nin + (w->over_head != NULL),
			      memory_order_release);
	if (atomic_load_explicit(&w->sleeping, memory_order_relaxed))
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

/* An idle worker's nap: up to ns, cut short by anything handed to it. */
static void nap(Worker *w, double ns)
{
	pthread_mutex_lock(&w->lock);
	if (!w->nin && !w->over_head && !w->nwakes &&
	    !atomic_load_explicit(&w->steal_req, memory_order_relaxed) &&
	    !atomic_load(&w->s->stop)) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		long add = (long)ns;
		until.tv_sec += add / 1000000000;
		until.tv_nsec += add % 1000000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		atomic_store_explicit(&w->sleeping, true, memory_order_relaxed);
		pthread_cond_timedwait(&w->cv, &w->lock, &until);
		atomic_store_explicit(&w->sleeping, false,
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&w->lock);
}

static void inbox_drain(Worker *w)
{
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nin; i++)
		if (!qpush(w, w->in[i])) {
			/* Keep the rest for later rather than lose them. */
			memmove(w->in, w->in + i, (w->nin - i) * sizeof *w->in);
			w->nin -= i;
			w->failed = true;
			pthread_mutex_unlock(&w->lock);
			return;
		}
	w->nin = 0;
	while (w->over_head) {
		myr_instance *inst = w->over_head;
		if (!qpush(w, inst)) {
			w->failed = true;
			pthread_mutex_unlock(&w->lock);
			return;
		}
		w->over_head = inst->over_next;
		inst->over_next = NULL;
	}
	w->over_tail = NULL;
	atomic_store_explicit(&w->nin_hint, 0, memory_order_relaxed);
	pthread_mutex_unlock(&w->lock);
}

/* Where an instance from outside the workers goes: round robin, or to
 * worker 0 when it runs alone. */
static Worker *pick_worker(myr_sched *s)
{
	if (atomic_load_explicit(&s->solo, memory_order_acquire))
		return &s->w[0];
	return &s->w[atomic_fetch_add(&s->next_add, 1) % s->nw];
}

/* At a slice boundary: a thief is waiting; give it the back half. */
static void answer_steal(Worker *w, unsigned req)
{
	Worker *thief = &w->s->w[req - 1];
	size_t n = qlen(w) / 2;
	if (n) {
		myr_instance **batch = malloc(n * sizeof *batch);
		if (batch) {
			for (size_t i = 0; i < n; i++)
				batch[i] =
					w->q[(w->tail - n + i) & (w->cap - 1)];
			w->tail -= n;
			inbox_put(thief, batch, n);
			free(batch);
			atomic_fetch_add_explicit(&thief->steals, 1,
						  memory_order_relaxed);
		}
	}
	atomic_store_explicit(&w->steal_req, 0, memory_order_release);
}

/* An idle worker asks the others, one at a time, for work. */
static void try_steal(Worker *w)
{
	myr_sched *s = w->s;
	for (uint32_t k = 1; k < s->nw; k++) {
		Worker *v = &s->w[(w->id + k) % s->nw];
		/* A napping worker has nothing to give. */
		if (atomic_load_explicit(&v->sleeping, memory_order_relaxed))
			continue;
		unsigned expect = 0;
		if (!atomic_compare_exchange_strong(&v->steal_req, &expect,
						    w->id + 1))
			continue;
		/* The victim answers at its next slice boundary; it may also
		 * have nothing to give, or be idle itself. */
		double until = mono_s() + 0.002;
		while (atomic_load_explicit(&v->steal_req,
					    memory_order_acquire) ==
			       w->id + 1 &&
		       !atomic_load_explicit(&w->nin_hint,
					     memory_order_acquire) &&
		       mono_s() < until && !atomic_load(&s->stop)) {
			/* The victim may be idle and asking us: say we have
			 * nothing either, or both wait the whole time. */
			unsigned mine = atomic_load_explicit(
				&w->steal_req, memory_order_acquire);
			if (mine)
				answer_steal(w, mine);
			sched_yield();
		}
		expect = w->id + 1;
		atomic_compare_exchange_strong(&v->steal_req, &expect, 0);
		if (atomic_load_explicit(&w->nin_hint, memory_order_acquire))
			return;
	}
	/* Nothing anywhere right now: let the busy ones have the CPU. */
	nap(w, 200 * 1000);
}

/* ------------------------------------------------------------------ */
/* Parked instances                                                    */

#define NOT_IN_HEAP UINT32_MAX

/* Heap entries know their instance and the instance knows its entry, so
 * an early wake can take it out. */
static void timer_set(Worker *w, size_t i, Timer t)
{
	w->timers[i] = t;
	t.inst->timer_pos = (uint32_t)i;
}

static void timer_sift(Worker *w, size_t i, Timer t)
{
	while (i > 0 && w->timers[(i - 1) / 2].at > t.at) {
		timer_set(w, i, w->timers[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	size_t n = w->ntimers;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && w->timers[c + 1].at < w->timers[c].at)
			c++;
		if (w->timers[c].at >= t.at)
			break;
		timer_set(w, i, w->timers[c]);
		i = c;
	}
	timer_set(w, i, t);
}

static bool timer_push(Worker *w, uint64_t at, myr_instance *inst)
{
	if (w->ntimers == w->cap_timers) {
		size_t cap = w->cap_timers ? w->cap_timers * 2 : 64;
		Timer *t = xrealloc_array(w->timers, cap, sizeof *t);
		if (!t)
			return false;
		w->timers = t;
		w->cap_timers = cap;
	}
	inst->timer_owner = w->id;
	timer_sift(w, w->ntimers++, (Timer){at, inst});
	return true;
}

/* Takes entry i out of the heap. */
static myr_instance *timer_take(Worker *w, size_t i)
{
	myr_instance *inst = w->timers[i].inst;
	inst->timer_pos = NOT_IN_HEAP;
	Timer last = w->timers[--w->ntimers];
	if (i < w->ntimers)
		timer_sift(w, i, last);
	return inst;
}

static void requeue(Worker *w, myr_instance *inst)
{
	inst->ex.status = MYR_STATUS_READY;
	inst->ex.resumed = true;
	if (!qpush(w, inst))
		inbox_put(w, &inst, 1);
}

/* Moves every instance whose time has come back to the run queue. One
 * that myr_instance_wake is already taking out is left to the wake
 * request in flight, which requeues it. */
static void fire_timers(Worker *w, uint64_t now)
{
	while (w->ntimers && w->timers[0].at <= now) {
		myr_instance *inst = timer_take(w, 0);
		unsigned char expect = WAKE_TIMED;
		if (atomic_compare_exchange_strong(&inst->ex.wake, &expect,
						   WAKE_NONE))
			requeue(w, inst);
	}
}

/* Early wakes of instances in this worker's heap. */
static void wakes_drain(Worker *w)
{
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nwakes; i++) {
		myr_instance *inst = w->wakes[i];
		if (inst->timer_pos != NOT_IN_HEAP)
			timer_take(w, inst->timer_pos);
		atomic_store(&inst->ex.wake, WAKE_NONE);
		inst->ex.status = MYR_STATUS_READY;
		inst->ex.resumed = true;
		if (!qpush(w, inst)) {
			/* Keep the rest for the next boundary. */
			memmove(w->wakes, w->wakes + i,
				(w->nwakes - i) * sizeof *w->wakes);
			w->nwakes -= i;
			pthread_mutex_unlock(&w->lock);
			return;
		}
	}
	w->nwakes = 0;
	atomic_store_explicit(&w->nwakes_hint, 0, memory_order_relaxed);
	pthread_mutex_unlock(&w->lock);
}

void sched_wake_timed(myr_sched *s, myr_instance *inst)
{
	Worker *w = &s->w[inst->timer_owner];
	pthread_mutex_lock(&w->lock);
	if (w->nwakes == w->capwakes) {
		size_t cap = w->capwakes ? w->capwakes * 2 : 64;
		myr_instance **n = xrealloc_array(w->wakes, cap, sizeof *n);
		if (!n) {
			/* The timer will still fire. */
			atomic_store(&inst->ex.wake, WAKE_TIMED);
			pthread_mutex_unlock(&w->lock);
			return;
		}
		w->wakes = n;
		w->capwakes = cap;
	}
	w->wakes[w->nwakes++] = inst;
	atomic_store_explicit(&w->nwakes_hint, w->nwakes, memory_order_release);
	if (atomic_load_explicit(&w->sleeping, memory_order_relaxed))
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

/* A registry is held for a few stores, so a spin is enough. */
static void reg_acquire(Worker *w)
{
	for (unsigned spins = 0;
	     atomic_exchange_explicit(&w->reg_lock, 1, memory_order_acquire);
	     spins++)
		if (spins > 64)
			sched_yield();
}

static void reg_release(Worker *w)
{
	atomic_store_explicit(&w->reg_lock, 0, memory_order_release);
}

static void reg_link(Worker *w, myr_instance *inst)
{
	reg_acquire(w);
	inst->reg_owner = w->id;
	inst->reg_prev = NULL;
	inst->reg_next = w->reg;
	if (w->reg)
		w->reg->reg_prev = inst;
	w->reg = inst;
	reg_release(w);
}

/* Under the owner's reg_lock. */
static void reg_unlink_locked(Worker *w, myr_instance *inst)
{
	if (inst->reg_prev)
		inst->reg_prev->reg_next = inst->reg_next;
	else
		w->reg = inst->reg_next;
	if (inst->reg_next)
		inst->reg_next->reg_prev = inst->reg_prev;
	inst->reg_prev = inst->reg_next = NULL;
}

static void reg_unlink(myr_sched *s, myr_instance *inst)
{
	Worker *w = &s->w[inst->reg_owner];
	reg_acquire(w);
	reg_unlink_locked(w, inst);
	reg_release(w);
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* A host call blocked the instance: onto this worker's timers, or parked
 * until myr_instance_wake, unless a wake already came. */
static void park(Worker *w, myr_instance *inst)
{
	myr_sched *s = w->s;
	Exec *ex = &inst->ex;
	ex->status = MYR_STATUS_BLOCKED;
	if (ex->wake_at) {
		uint64_t now = ticks(), ns = mono_ns();
		uint64_t at = now;
		if (ex->wake_at > ns)
			at += (uint64_t)((double)(ex->wake_at - ns) /
					 s->ns_per_tick);
		/* Into the heap first, then TIMED: a wake that sees TIMED
		 * finds it there. */
		if (timer_push(w, at, inst)) {
			unsigned char expect = WAKE_NONE;
			if (atomic_compare_exchange_strong(&ex->wake, &expect,
							   WAKE_TIMED))
				return;
			/* Woken while running: out again at once. */
			timer_take(w, inst->timer_pos);
		}
	} else {
		/* Nothing holds it now but its registry: the wake that takes
		 * PARKED from here requeues it. */
		unsigned char expect = WAKE_NONE;
		if (atomic_compare_exchange_strong(&ex->wake, &expect,
						   WAKE_PARKED))
			return;
	}
	atomic_store(&ex->wake, WAKE_NONE); /* woken while running */
	requeue(w, inst);
}

void sched_wake(myr_sched *s, myr_instance *inst)
{
	/* Only the wake that took PARKED gets here: the instance is ours to
	 * requeue, and no ordering beyond the queue's is needed. */
	atomic_store_explicit(&inst->ex.wake, WAKE_NONE, memory_order_relaxed);
	inst->ex.status = MYR_STATUS_READY;
	inst->ex.resumed = true;
	/* Woken by an instance this thread runs (a message, say): onto this
	 * worker's queue, where it runs after the waker with what the waker
	 * wrote still in cache, without a lock or another thread's wake-up.
	 * Idle workers steal when one worker gathers too much. */
	Worker *w = this_worker;
	if (w && w->s == s && qpush(w, inst))
		return;
	inbox_put(pick_worker(s), &inst, 1);
}

/* Moves everything worker w holds to worker 0, which then runs alone:
 * between runs, or on worker 0's thread during a solo run (w's thread
 * is not running then). Other threads may still be handing w instances
 * they picked before the run went solo, so worker 0 calls this again
 * when w's inbox or wakes fill. */
static void gather(myr_sched *s, Worker *w)
{
	Worker *w0 = &s->w[0];
	pthread_mutex_lock(&w->lock);
	myr_instance **in = w->in, **wakes = w->wakes;
	size_t nin = w->nin, nwakes = w->nwakes;
	myr_instance *over = w->over_head;
	w->in = w->wakes = NULL;
	w->nin = w->capin = w->nwakes = w->capwakes = 0;
	w->over_head = w->over_tail = NULL;
	atomic_store(&w->nin_hint, 0);
	atomic_store(&w->nwakes_hint, 0);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < nin; i++)
		if (!qpush(w0, in[i]))
			inbox_put(w0, &in[i], 1);
	free(in);
	while (over) {
		myr_instance *next = over->over_next;
		if (!qpush(w0, over))
			inbox_put(w0, &over, 1);
		over = next;
	}
	while (qlen(w)) {
		myr_instance *inst = qpop(w);
		if (!qpush(w0, inst))
			inbox_put(w0, &inst, 1);
	}
	while (w->ntimers) {
		uint64_t at = w->timers[0].at;
		myr_instance *inst = timer_take(w, 0);
		if (timer_push(w0, at, inst))
			continue;
		/* No room in worker 0's heap: it runs now, and its blocking
		 * call, made again, blocks again. An early wake in flight
		 * (among the wakes below) requeues it instead. */
		unsigned char expect = WAKE_TIMED;
		if (atomic_compare_exchange_strong(&inst->ex.wake, &expect,
						   WAKE_NONE))
			requeue(w0, inst);
	}
	/* Early wakes are answered here rather than moved. */
	for (size_t i = 0; i < nwakes; i++) {
		myr_instance *inst = wakes[i];
		if (inst->timer_pos != NOT_IN_HEAP)
			timer_take(&s->w[inst->timer_owner], inst->timer_pos);
		atomic_store(&inst->ex.wake, WAKE_NONE);
		requeue(w0, inst);
	}
	free(wakes);
}

/* Nothing to run but sleepers: wait for the first (or new work). */
static void nap_until_timer(Worker *w)
{
	uint64_t now = ticks();
	uint64_t wait = w->timers[0].at > now ? w->timers[0].at - now : 0;
	double ns = MIN((double)wait * w->s->ns_per_tick, 1e6);
	if (ns > 2000)
		nap(w, ns);
}

/* ------------------------------------------------------------------ */
/* Workers                                                             */

static void finish(Worker *w, myr_instance *inst, int rc)
{
	myr_sched *s = w->s;
	inst->ex.status =
		rc == RUN_DONE ? MYR_STATUS_DONE : ended_status(&inst->ex);
	if (inst->slices < w->inst_slices_min)
		w->inst_slices_min = inst->slices;
	if (inst->slices > w->inst_slices_max)
		w->inst_slices_max = inst->slices;
	atomic_uint_fast64_t *count = rc == RUN_DONE ? &w->completed
				      : inst->ex.status == MYR_STATUS_EXITED
					      ? &w->exited
					      : &w->trapped;
	atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
	reg_unlink(s, inst);
	/* An actor's instance belongs to the actor system, which frees it. */
	if (inst->actor)
		actor_finished(inst, (myr_status)inst->ex.status);
	else if (s->cfg.on_done)
		s->cfg.on_done(inst, (myr_status)inst->ex.status, s->cfg.user);
	if (atomic_fetch_sub(&s->remaining, 1) == 1) {
		pthread_mutex_lock(&s->end_lock);
		pthread_cond_signal(&s->end_cond);
		pthread_mutex_unlock(&s->end_lock);
	}
}

static void record_sample(Worker *w, uint64_t dt, int64_t given, int64_t left,
			  bool full)
{
	myr_sched *s = w->s;
	dt = dt > s->tick_cost ? dt - s->tick_cost : 0;
	atomic_fetch_add_explicit(&w->slice_ticks, dt, memory_order_relaxed);
	double ns = (double)dt * s->ns_per_tick;
	size_t b = (size_t)(ns / HIST_NS);
	atomic_fetch_add_explicit(&w->hist[MIN(b, (size_t)HIST_BUCKETS)], 1,
				  memory_order_relaxed);
	if (!full || dt == 0 || s->cfg.fuel)
		return;
	/* Fuel actually spent over the time it took, smoothed; the next
	 * budget is what that rate spends in slice_ns. */
	double rate = (double)(given - left) / (double)dt;
	w->rate = w->rate > 0 ? w->rate * 0.875 + rate * 0.125 : rate;
	int64_t fuel = (int64_t)(w->rate * (double)s->slice_ticks);
	fuel = MAX(fuel, (int64_t)8);
	fuel = MIN(fuel, (int64_t)100000000);
	atomic_store_explicit(&w->fuel, fuel, memory_order_relaxed);
}

static void prefetch_instance(const myr_instance *inst)
{
	__builtin_prefetch(inst);
	__builtin_prefetch((const char *)inst + 64);
	__builtin_prefetch((const char *)inst + 128);
	/* The header's tail: every slice reads its actor pointer, and for
	 * an actor prefetch_state follows it a slice from now. */
	__builtin_prefetch(&inst->actor);
}

static void prefetch_state(const myr_instance *inst)
{
	/* Its header was prefetched a slice ago: reading it is cheap. */
	const uint64_t *fp = inst->ex.stack + inst->ex.fp_off;
	__builtin_prefetch(fp);
	__builtin_prefetch(fp + 8);
	if (inst->ex.mem)
		__builtin_prefetch(inst->ex.mem->base);
	/* An actor's first act is a receive or a send: its record. */
	if (inst->actor)
		__builtin_prefetch(inst->actor);
}

static void *worker_main(void *arg)
{
	Worker *w = arg;
	myr_sched *s = w->s;
	int go;
	while ((go = atomic_load(&s->go)) == 0)
		sched_yield();
	if (go < 0)
		return NULL;
	this_worker = w;
	bool solo = atomic_load(&s->solo);
	uint64_t n = atomic_load(&w->slices);
	uint64_t t_end = 0;
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		for (uint32_t i = 1; solo && i < s->nw; i++)
			if (atomic_load_explicit(&s->w[i].nin_hint,
						 memory_order_relaxed) ||
			    atomic_load_explicit(&s->w[i].nwakes_hint,
						 memory_order_relaxed))
				gather(s, &s->w[i]);
		if (atomic_load_explicit(&w->nin_hint, memory_order_relaxed))
			inbox_drain(w);
		if (atomic_load_explicit(&w->nwakes_hint, memory_order_relaxed))
			wakes_drain(w);
		unsigned req = atomic_load_explicit(&w->steal_req,
						    memory_order_acquire);
		if (req)
			answer_steal(w, req);
		if (qlen(w) == 0) {
			if (w->ntimers)
				fire_timers(w, ticks());
			if (qlen(w))
				continue;
			if (atomic_load(&s->quit))
				break;
			if (atomic_load(&s->remaining) == 0) {
				if (solo)
					break;
				/* Until myr_sched_run, woken by the last
				 * finish, says the run is over. */
				struct timespec nap = {0, 20000};
				nanosleep(&nap, NULL);
				continue;
			}
			if (w->ntimers) {
				nap_until_timer(w);
			} else if (solo) {
				nap(w, 50 * 1000);
			} else {
				try_steal(w);
			}
			continue;
		}
		myr_instance *inst = qpop(w);
		size_t left = qlen(w);
		if (left >= 2)
			prefetch_instance(w->q[(w->head + 1) & (w->cap - 1)]);
		if (left >= 1)
			prefetch_state(w->q[w->head & (w->cap - 1)]);
		int64_t fuel =
			atomic_load_explicit(&w->fuel, memory_order_relaxed);
		unsigned phase = (unsigned)n & SAMPLE_MASK;
		uint64_t t0 = 0;
		if (phase == 0) {
			t0 = ticks();
			if (w->ntimers && w->timers[0].at <= t0)
				fire_timers(w, t0);
			if (t_end) {
				uint64_t sw = t0 - t_end;
				sw = sw > s->tick_cost ? sw - s->tick_cost : 0;
				atomic_fetch_add_explicit(&w->switch_ticks, sw,
							  memory_order_relaxed);
				atomic_fetch_add_explicit(&w->switch_samples, 1,
							  memory_order_relaxed);
			}
		}
		/* An exit signal ended the actor while it waited or ran. */
		if (UNLIKELY(inst->actor != NULL) &&
		    actor_end_requested(inst)) {
			actor_mark_signalled(inst);
			finish(w, inst, RUN_TRAP);
			continue;
		}
		inst->ex.running = true;
		int rc = exec_run(&inst->ex, fuel);
		inst->ex.running = false;
		inst->slices++;
		n++;
		if (phase == 0)
			record_sample(w, ticks() - t0, fuel, inst->ex.fuel_left,
				      rc == RUN_OUT_OF_FUEL);
		/* A switch is measured from a slice that ran out of fuel to
		 * the next one; finishing an instance is not a switch. */
		t_end = phase == SAMPLE_MASK && rc == RUN_OUT_OF_FUEL ? ticks()
								      : 0;
		atomic_store_explicit(&w->slices, n, memory_order_relaxed);
		if (LIKELY(rc == RUN_OUT_OF_FUEL || rc == RUN_YIELD)) {
			if (UNLIKELY(!qpush(w, inst))) {
				/* Out of memory for the queue: put it in the
				 * inbox, which grows separately. */
				inbox_put(w, &inst, 1);
			}
			continue;
		}
		if (rc == RUN_BLOCKED) {
			park(w, inst);
			continue;
		}
		finish(w, inst, rc);
	}
	this_worker = NULL;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The public interface                                                */

myr_engine *sched_engine(myr_sched *s)
{
	return s->engine;
}

uint32_t sched_workers(const myr_sched *s)
{
	return s->nw;
}

int sched_worker_id(const myr_sched *s)
{
	const Worker *w = this_worker;
	return w && w->s == s ? (int)w->id : -1;
}

myr_sched *myr_sched_new(myr_engine *engine, const myr_sched_config *cfg)
{
	myr_sched *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->engine = engine;
	if (cfg)
		s->cfg = *cfg;
	if (!s->cfg.threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		s->cfg.threads = n > 0 ? (uint32_t)n : 1;
	}
	if (!s->cfg.slice_ns)
		s->cfg.slice_ns = 1000;
	s->nw = s->cfg.threads;
	pthread_mutex_init(&s->end_lock, NULL);
	pthread_mutex_init(&s->add_lock, NULL);
	pthread_cond_init(&s->end_cond, NULL);
	s->w = calloc(s->nw, sizeof *s->w);
	if (!s->w) {
		free(s);
		return NULL;
	}
	for (uint32_t i = 0; i < s->nw; i++) {
		Worker *w = &s->w[i];
		w->s = s;
		w->id = i;
		pthread_mutex_init(&w->lock, NULL);
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&w->cv, &ca);
		pthread_condattr_destroy(&ca);
		w->hist = calloc(HIST_BUCKETS + 1, sizeof *w->hist);
		w->inst_slices_min = UINT64_MAX;
		atomic_store(&w->fuel, s->cfg.fuel ? s->cfg.fuel : 256);
		if (!w->hist) {
			myr_sched_free(s);
			return NULL;
		}
	}
	calibrate(s);
	return s;
}

void myr_sched_free(myr_sched *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nw; i++) {
		Worker *w = &s->w[i];
		free(w->q);
		free(w->in);
		free(w->hist);
		free(w->timers);
		free(w->wakes);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cv);
	}
	pthread_mutex_destroy(&s->end_lock);
	pthread_mutex_destroy(&s->add_lock);
	pthread_cond_destroy(&s->end_cond);
	free(s->w);
	free(s);
}

bool myr_sched_add(myr_sched *s, myr_instance *inst)
{
	if (inst->ex.status != MYR_STATUS_READY)
		return false;
	inst->slices = 0;
	inst->sched = s;
	Worker *w = pick_worker(s);
	uint64_t live = atomic_fetch_add(&s->remaining, 1) + 1;
	atomic_fetch_add(&s->added, 1);
	uint64_t peak = atomic_load(&s->live_peak);
	while (live > peak &&
	       !atomic_compare_exchange_weak(&s->live_peak, &peak, live))
		;
	if (!atomic_load(&s->running)) {
		pthread_mutex_lock(&s->add_lock);
		if (!atomic_load(&s->running)) {
			reg_link(w, inst);
			bool ok = qpush(w, inst);
			pthread_mutex_unlock(&s->add_lock);
			if (!ok) {
				reg_unlink(s, inst);
				atomic_fetch_sub(&s->remaining, 1);
				atomic_fetch_sub(&s->added, 1);
			}
			return ok;
		}
		pthread_mutex_unlock(&s->add_lock);
	}
	/* Spawned by an instance this thread runs: onto its queue and into
	 * its registry. Registered first: it may run, and finish, as soon as
	 * it is queued elsewhere. */
	Worker *here = this_worker;
	bool mine = here && here->s == s;
	reg_link(mine ? here : w, inst);
	if (!(mine && qpush(here, inst)))
		inbox_put(w, &inst, 1);
	return true;
}

static void set_running(myr_sched *s, bool on)
{
	pthread_mutex_lock(&s->add_lock);
	atomic_store(&s->running, on);
	pthread_mutex_unlock(&s->add_lock);
}

void myr_sched_stop(myr_sched *s)
{
	atomic_store(&s->stop, true);
}

static void pin(pthread_t t, uint32_t cpu)
{
#ifdef __linux__
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0 || cpu >= (uint32_t)n)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(t, sizeof set, &set);
#else
	(void)t, (void)cpu;
#endif
}

/* Waits until no instance is left or a stop is asked for, reporting
 * progress every progress_ms. */
static void wait_for_end(myr_sched *s, double t0)
{
	uint32_t ms = s->cfg.progress_ms ? s->cfg.progress_ms : 20;
	pthread_mutex_lock(&s->end_lock);
	while (atomic_load(&s->remaining) > 0 && !atomic_load(&s->stop)) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(ms % 1000) * 1000000;
		until.tv_sec += ms / 1000 + until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&s->end_cond, &s->end_lock, &until);
		pthread_mutex_unlock(&s->end_lock);
		s->wall_s = mono_s() - t0;
		if (s->cfg.on_progress && s->cfg.progress_ms) {
			myr_sched_stats st;
			myr_sched_get_stats(s, &st);
			s->cfg.on_progress(&st, s->cfg.user);
		}
		pthread_mutex_lock(&s->end_lock);
	}
	pthread_mutex_unlock(&s->end_lock);
}

void myr_sched_run(myr_sched *s)
{
	atomic_store(&s->stop, false);
	set_running(s, true);
	double t0 = mono_s();
	for (;;) {
		atomic_store(&s->quit, false);
		atomic_store(&s->go, 0);
		uint32_t started = 0;
		for (uint32_t i = 0; i < s->nw; i++) {
			if (pthread_create(&s->w[i].thread, NULL, worker_main,
					   &s->w[i]) != 0)
				break;
			pin(s->w[i].thread, i);
			started++;
		}
		if (started < s->nw) {
			/* The queue of a worker without a thread would never
			 * run (nobody touches another worker's queue): the
			 * threads that did start leave before their first
			 * slice, and this thread runs everything. */
			atomic_store(&s->go, -1);
			for (uint32_t i = 0; i < started; i++)
				pthread_join(s->w[i].thread, NULL);
			started = 0;
		}
		if (started == 0) {
			atomic_store(&s->solo, true);
			for (uint32_t i = 1; i < s->nw; i++)
				gather(s, &s->w[i]);
			atomic_store(&s->go, 1);
			worker_main(&s->w[0]);
			atomic_store(&s->solo, false);
		} else {
			atomic_store(&s->go, 1);
			wait_for_end(s, t0);
		}
		atomic_store(&s->quit, true);
		for (uint32_t i = 0; i < started; i++)
			pthread_join(s->w[i].thread, NULL);
		/* Whatever is still in an inbox goes back to a queue, so a
		 * later run picks it up. */
		for (uint32_t i = 0; i < s->nw; i++)
			inbox_drain(&s->w[i]);
		/* Instances added from another thread as the run was ending
		 * are run now rather than left for a later run. */
		if (started == 0 || atomic_load(&s->stop) ||
		    atomic_load(&s->remaining) == 0)
			break;
	}
	s->wall_s = mono_s() - t0;
	set_running(s, false);
}

void myr_sched_drain(myr_sched *s, void (*fn)(myr_instance *, void *),
		     void *user)
{
	/* Every instance still here is in a registry, wherever else it is
	 * (a queue, an inbox, a heap, parked): empty the rest, then hand
	 * back what the registries hold. */
	for (uint32_t i = 0; i < s->nw; i++) {
		Worker *w = &s->w[i];
		w->head = w->tail = 0;
		w->ntimers = 0;
		pthread_mutex_lock(&w->lock);
		w->nin = w->nwakes = 0;
		w->over_head = w->over_tail = NULL;
		atomic_store(&w->nin_hint, 0);
		atomic_store(&w->nwakes_hint, 0);
		pthread_mutex_unlock(&w->lock);
	}
	for (uint32_t i = 0; i < s->nw; i++) {
		Worker *w = &s->w[i];
		reg_acquire(w);
		while (w->reg) {
			myr_instance *inst = w->reg;
			reg_unlink_locked(w, inst);
			inst->timer_pos = NOT_IN_HEAP;
			atomic_store(&inst->ex.wake, WAKE_NONE);
			if (inst->ex.status == MYR_STATUS_BLOCKED)
				inst->ex.status = MYR_STATUS_READY;
			atomic_fetch_sub(&s->remaining, 1);
			if (fn)
				fn(inst, user);
		}
		reg_release(w);
	}
}

static void note_slices(const myr_instance *inst, uint64_t *min, uint64_t *max)
{
	*min = MIN(*min, inst->slices);
	*max = MAX(*max, inst->slices);
}

/* The slice range of the instances a stopped run left in the scheduler:
 * without them, a run stopped before any instance finished would report
 * no range at all. Only between runs, when no worker touches the queues. */
static void held_slices(myr_sched *s, uint64_t *min, uint64_t *max)
{
	for (uint32_t i = 0; i < s->nw; i++) {
		Worker *w = &s->w[i];
		reg_acquire(w);
		for (const myr_instance *p = w->reg; p; p = p->reg_next)
			note_slices(p, min, max);
		reg_release(w);
	}
}

static double percentile(const uint64_t *hist, uint64_t total, double p)
{
	if (!total)
		return 0;
	uint64_t want = (uint64_t)((double)total * p), seen = 0;
	for (size_t b = 0; b <= HIST_BUCKETS; b++) {
		seen += hist[b];
		if (seen > want)
			return ((double)b + 0.5) * HIST_NS;
	}
	return (double)HIST_BUCKETS * HIST_NS;
}

void myr_sched_get_stats(const myr_sched *s, myr_sched_stats *out)
{
	memset(out, 0, sizeof *out);
	out->threads = s->nw;
	out->added = atomic_load(&((myr_sched *)s)->added);
	out->live = atomic_load(&((myr_sched *)s)->remaining);
	out->live_peak = atomic_load(&((myr_sched *)s)->live_peak);
	uint64_t *hist = calloc(HIST_BUCKETS + 1, sizeof *hist);
	uint64_t samples = 0, sw = 0, swn = 0, sl = 0;
	out->slices_per_instance_min = UINT64_MAX;
	for (uint32_t i = 0; i < s->nw; i++) {
		Worker *w = &s->w[i];
		out->slices += atomic_load(&w->slices);
		out->completed += atomic_load(&w->completed);
		out->exited += atomic_load(&w->exited);
		out->trapped += atomic_load(&w->trapped);
		out->steals += (uint32_t)atomic_load(&w->steals);
		sw += atomic_load(&w->switch_ticks);
		sl += atomic_load(&w->slice_ticks);
		swn += atomic_load(&w->switch_samples);
		out->slices_per_instance_min =
			MIN(out->slices_per_instance_min, w->inst_slices_min);
		out->slices_per_instance_max =
			MAX(out->slices_per_instance_max, w->inst_slices_max);
		for (size_t b = 0; hist && b <= HIST_BUCKETS; b++) {
			uint64_t c = atomic_load_explicit(&w->hist[b],
							  memory_order_relaxed);
			hist[b] += c;
			samples += c;
		}
	}
	if (!atomic_load(&s->running))
		held_slices((myr_sched *)s, &out->slices_per_instance_min,
			    &out->slices_per_instance_max);
	if (out->slices_per_instance_min == UINT64_MAX)
		out->slices_per_instance_min = 0;
	if (hist) {
		out->slice_ns_p50 = percentile(hist, samples, 0.50);
		out->slice_ns_p99 = percentile(hist, samples, 0.99);
		free(hist);
	}
	out->switch_ns = swn ? (double)sw / (double)swn * s->ns_per_tick : 0;
	out->slice_ns_mean =
		samples ? (double)sl / (double)samples * s->ns_per_tick : 0;
	out->wall_s = s->wall_s;
	out->fuel_per_slice = atomic_load(&s->w[0].fuel);
}

void myr_instance_set_user(myr_instance *inst, void *user, uint64_t index)
{
	inst->user = user;
	inst->user_index = index;
}

void *myr_instance_user(const myr_instance *inst, uint64_t *index)
{
	if (index)
		*index = inst->user_index;
	return inst->user;
}

void myr_engine_get_stats(myr_engine *e, myr_engine_stats *out)
{
	memset(out, 0, sizeof *out);
	out->instances_live = atomic_load(&e->instances_live);
	SlabStats ms = {0}, bs = {0};
	for (int i = 0; i < MEM_CLASSES; i++)
		slab_class_stats(&e->mem_slab.classes[i], &ms);
	for (int i = 0; i < BLOCK_CLASSES; i++)
		slab_class_stats(&e->blocks[i], &bs);
	out->memory_reserved = ms.reserved;
	out->memory_populated = ms.populated;
	out->memory_slots_live = ms.live;
	out->blocks_populated = bs.populated;
	out->mappings = ms.regions + bs.regions;
}
