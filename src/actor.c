/*
 * Actors: instances that spawn, message, link and monitor each other,
 * with Erlang's semantics, through the host module "myriad".
 *
 * Pids. The pid table is an array of Actor slots in chunks that never
 * move. A pid is (node << 48) | (slot << 24) | generation; a slot's
 * generation goes up each time it is reused, so a stale pid finds its
 * slot holding another pid and is treated as ended. Lookups take no
 * table lock: a chunk pointer is published once, and the slot's own lock
 * guards its pid and state.
 *
 * Locks. Each slot has a byte-sized spin lock (a mutex would be 40 bytes
 * per actor). Nothing ever holds two slot locks: an operation on two
 * actors (link, monitor, an exit signal) does its half on each in turn,
 * and every delivery re-checks under the receiver's lock that the link
 * or monitor still exists, which is what makes unlink and demonitor
 * race-free: once they return, no signal for them arrives.
 *
 * Order. A message is queued under the receiver's lock before send
 * returns, and one instance runs on one thread at a time, so messages
 * from one sender to one receiver arrive in the order sent whichever
 * workers they ran on.
 *
 * Waiting. A receive that finds nothing parks its instance with
 * myr_caller_block (no thread is held) after noting under its lock what
 * it waits for; a sender that queues a matching message clears the note
 * and wakes it; the receive is then made again and finds the message.
 * A wake that comes before the instance is parked makes the park return
 * at once (the scheduler's atomic wake state), so none is lost.
 *
 * Ending. An exit signal that ends an actor sets end_req; the actor
 * ends at its next actor call, when woken from a wait, or at its next
 * slice boundary (sched.c checks the flag before running a slice), so a
 * loop that never calls the host is ended too. The scheduler then calls
 * actor_finished, which tells links and monitors, frees the name, the
 * mailbox and the instance, and frees the slot for reuse.
 *
 * Deadlock. One word counts live actors (high half) and actors waiting
 * forever (low half), so a single load sees both consistently: when they
 * are equal, no actor can run, and no actor can wake another.
 *
 * Counting. What every message changes (the message count, the bytes
 * queued) is kept per worker and summed when read, and small messages
 * are blocks each worker reuses (see Shard): a send and the receive
 * that takes it, on one worker, write no line another worker writes.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "actor.h"

enum {
	GEN_BITS = 24,
	IDX_BITS = 24,
	CHUNK_LOG2 = 12,
	CHUNK = 1 << CHUNK_LOG2,
	MAX_SLOTS = 1 << IDX_BITS,
	NCHUNKS = MAX_SLOTS / CHUNK,
	MAX_NAME = 255,
};
#define GEN_MASK ((1u << GEN_BITS) - 1)
#define IDX_MASK ((1u << IDX_BITS) - 1)
#define REF_BIT	 ((int64_t)1 << 62)

typedef struct Reg {
	struct Reg *next;
	int64_t pid;
	uint32_t len;
	char s[];
} Reg;

enum { SIG_LINK, SIG_EXIT, SIG_NOPROC };

enum {
	F_SELF,
	F_SPAWN,
	F_SEND,
	F_RECEIVE,
	F_LINK,
	F_UNLINK,
	F_MONITOR,
	F_DEMONITOR,
	F_TRAP_EXIT,
	F_EXIT,
	F_REGISTER,
	F_WHEREIS,
	NFUNCS
};

/* Counts that each worker keeps on a line of its own, with plain
 * stores: counted with atomic adds on one shared line, they cost every
 * send and receive locked instructions, and the line moved between the
 * workers on every message between them. The last shard is for threads
 * that are not workers (the host), which add atomically. */
typedef struct Shard {
	_Alignas(64) atomic_uint_fast64_t messages;
	/* Bytes this worker queued less those it took out, not yet moved
	 * to queued_base: never more than QUEUED_FLUSH either way. */
	atomic_int_fast64_t queued;
	/* Blocks of small messages (mailbox.c) kept for reuse. */
	Msg *cache;
	uint32_t ncache;
} Shard;

/* Small messages are the blocks of one size that msg_new makes for
 * them: a worker keeps the ones it frees and takes them again for its
 * sends, so a send and the receive that takes it cost no malloc and no
 * free. What a worker frees beyond two batches goes to the depot, where
 * a worker that runs out takes a batch (a collector's frees feed its
 * senders), up to a bound, beyond which blocks go back to malloc. Every
 * block is malloc's, so a thread that is no worker frees it with free. */
enum { MSG_BATCH = 64, MSG_DEPOT_MAX = 1 << 16 };

/* Bytes queued in all mailboxes are queued_base plus every shard's
 * queued. A worker changes its shard and moves it to the base once it
 * passes QUEUED_FLUSH, so most sends and receives write no shared line;
 * the limit check counts every shard as full (queued_slack), so the
 * total never passes max_queued, and a send may be refused up to that
 * much early. Below QUEUED_EXACT, where that would show, and for
 * messages above QUEUED_SMALL, every change goes to the base at once. */
enum { QUEUED_FLUSH = 64 << 10, QUEUED_SMALL = 16 << 10 };
#define QUEUED_EXACT ((uint64_t)64 << 20)

struct myr_actors {
	myr_sched *sched;
	myr_engine *engine;
	myr_actors_config cfg;
	uint64_t max_msg, max_mailbox, max_queued, max_actors;
	Actor *_Atomic *chunks; /* NCHUNKS */
	pthread_mutex_t slot_lock;
	uint32_t free_head; /* slot + 1, 0: none */
	uint32_t next_unused;
	/* live << 32 | waiting forever */
	atomic_uint_fast64_t counts;
	atomic_uint_fast64_t spawned, live_peak;
	Shard *shards;
	uint32_t nshards;
	atomic_int_fast64_t queued_base;
	int64_t queued_slack; /* 0: every change goes to the base */
	pthread_mutex_t depot_lock;
	Msg *depot;
	uint32_t ndepot;
	atomic_uint_fast64_t next_ref;
	Actor *host;
	pthread_mutex_t host_mu;
	pthread_cond_t host_cv;
	atomic_uint host_seq;
	pthread_mutex_t names_lock;
	Reg **names;
	size_t nnames, nbuckets;
	myr_func *funcs[NFUNCS];
};

/* ------------------------------------------------------------------ */
/* Pids and slots                                                      */

static int64_t make_pid(uint32_t idx, uint32_t gen)
{
	return (int64_t)idx << GEN_BITS | gen;
}

/* Plausible as a pid of this node; says nothing about it being alive. */
static bool pid_valid(int64_t pid)
{
	return pid > 0 && (pid >> 48) == 0 && (pid & GEN_MASK) != 0;
}

static void lock(Actor *a)
{
	for (unsigned spins = 0;
	     atomic_exchange_explicit(&a->lock, 1, memory_order_acquire);
	     spins++)
		if (spins > 64)
			sched_yield();
}

static void unlock(Actor *a)
{
	atomic_store_explicit(&a->lock, 0, memory_order_release);
}

static Actor *slot_at(const myr_actors *s, uint32_t idx)
{
	Actor *c = atomic_load_explicit(&s->chunks[idx >> CHUNK_LOG2],
					memory_order_acquire);
	return c ? &c[idx & (CHUNK - 1)] : NULL;
}

/* The slot a pid names, unlocked: check alive() under its lock. */
static Actor *lookup(const myr_actors *s, int64_t pid)
{
	if (!pid_valid(pid))
		return NULL;
	return slot_at(s, (uint32_t)(pid >> GEN_BITS) & IDX_MASK);
}

static bool alive(const Actor *a, int64_t pid)
{
	return a->state == ACTOR_ALIVE && a->pid == pid;
}

static void count_message(myr_actors *s)
{
	int w = sched_worker_id(s->sched);
	atomic_uint_fast64_t *c =
		&s->shards[w >= 0 ? (uint32_t)w : s->nshards - 1].messages;
	if (w >= 0)
		atomic_store_explicit(
			c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			memory_order_relaxed);
	else
		atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* A message like msg_new's, from this worker's blocks when it can. */
static Msg *msg_get(myr_actors *s, int64_t from, int64_t tag, const void *data,
		    uint32_t len)
{
	int w = len <= MSG_SMALL ? sched_worker_id(s->sched) : -1;
	if (w < 0)
		return msg_new(from, tag, data, len);
	Shard *sh = &s->shards[w];
	if (!sh->cache && s->depot) {
		pthread_mutex_lock(&s->depot_lock);
		Msg *last = s->depot;
		uint32_t k = 1;
		while (last && last->next && k < MSG_BATCH) {
			last = last->next;
			k++;
		}
		if (last) {
			sh->cache = s->depot;
			s->depot = last->next;
			s->ndepot -= k;
			last->next = NULL;
			sh->ncache = k;
		}
		pthread_mutex_unlock(&s->depot_lock);
	}
	Msg *m = sh->cache;
	if (!m)
		return msg_new(from, tag, data, len);
	sh->cache = m->next;
	sh->ncache--;
	m->next = NULL;
	m->from = from;
	m->tag = tag;
	m->len = len;
	if (len)
		memcpy(m->data, data, len);
	return m;
}

/* Frees a message taken out of a mailbox. */
static void msg_put(myr_actors *s, Msg *m)
{
	int w = m->len <= MSG_SMALL ? sched_worker_id(s->sched) : -1;
	if (w < 0) {
		free(m);
		return;
	}
	Shard *sh = &s->shards[w];
	m->next = sh->cache;
	sh->cache = m;
	if (++sh->ncache <= 2 * MSG_BATCH)
		return;
	Msg *first = sh->cache, *last = first;
	for (uint32_t k = 1; k < MSG_BATCH; k++)
		last = last->next;
	sh->cache = last->next;
	sh->ncache -= MSG_BATCH;
	pthread_mutex_lock(&s->depot_lock);
	bool room = s->ndepot < MSG_DEPOT_MAX;
	if (room) {
		last->next = s->depot;
		s->depot = first;
		s->ndepot += MSG_BATCH;
	}
	pthread_mutex_unlock(&s->depot_lock);
	if (!room) {
		last->next = NULL;
		mailbox_free_list(first);
	}
}

/* This worker's share of the queued bytes, or NULL to use the base. */
static atomic_int_fast64_t *queued_shard(myr_actors *s, uint64_t n)
{
	if (!s->queued_slack || n > QUEUED_SMALL)
		return NULL;
	int w = sched_worker_id(s->sched);
	return w >= 0 ? &s->shards[w].queued : NULL;
}

/* Counts n more bytes queued (fewer if negative), whatever the limit. */
static void queued_add(myr_actors *s, int64_t n)
{
	atomic_int_fast64_t *q = queued_shard(s, (uint64_t)(n < 0 ? -n : n));
	if (!q) {
		atomic_fetch_add(&s->queued_base, n);
		return;
	}
	int64_t v = atomic_load_explicit(q, memory_order_relaxed) + n;
	if (v > QUEUED_FLUSH || v < -QUEUED_FLUSH) {
		atomic_fetch_add(&s->queued_base, v);
		v = 0;
	}
	atomic_store_explicit(q, v, memory_order_relaxed);
}

/* Counts n more bytes queued if the total stays within max_queued;
 * false, and nothing counted, if it would not. */
static bool queued_take(myr_actors *s, uint64_t n)
{
	int64_t limit = (int64_t)(s->max_queued - (uint64_t)s->queued_slack);
	atomic_int_fast64_t *q = queued_shard(s, n);
	if (!q) {
		if (atomic_fetch_add(&s->queued_base, (int64_t)n) +
			    (int64_t)n <=
		    limit)
			return true;
		atomic_fetch_sub(&s->queued_base, (int64_t)n);
		return false;
	}
	if (atomic_load_explicit(&s->queued_base, memory_order_relaxed) +
		    atomic_load_explicit(q, memory_order_relaxed) + (int64_t)n >
	    limit)
		return false;
	queued_add(s, (int64_t)n);
	return true;
}

static uint64_t queued_total(myr_actors *s)
{
	int64_t t = atomic_load(&s->queued_base);
	for (uint32_t i = 0; i < s->nshards; i++)
		t += atomic_load_explicit(&s->shards[i].queued,
					  memory_order_relaxed);
	return t > 0 ? (uint64_t)t : 0;
}

static void counts_add(myr_actors *s, int64_t live, int64_t waiting)
{
	atomic_fetch_add(&s->counts,
			 (uint64_t)(live * ((int64_t)1 << 32) + waiting));
}

/* A free slot, locked, with the next generation's pid; NULL when the
 * limit is reached or memory ran out. */
static Actor *slot_alloc(myr_actors *s, bool counted)
{
	pthread_mutex_lock(&s->slot_lock);
	if (counted && (atomic_load(&s->counts) >> 32) >= s->max_actors) {
		pthread_mutex_unlock(&s->slot_lock);
		return NULL;
	}
	Actor *a;
	uint32_t gen = 1;
	if (s->free_head) {
		a = slot_at(s, s->free_head - 1);
		s->free_head = a->next_free;
		gen = ((uint32_t)a->pid + 1) & GEN_MASK;
		gen = gen ? gen : 1;
	} else {
		uint32_t idx = s->next_unused;
		if (idx >= MAX_SLOTS) {
			pthread_mutex_unlock(&s->slot_lock);
			return NULL;
		}
		if (!slot_at(s, idx)) {
			Actor *c = calloc(CHUNK, sizeof *c);
			if (!c) {
				pthread_mutex_unlock(&s->slot_lock);
				return NULL;
			}
			for (uint32_t i = 0; i < CHUNK; i++) {
				c[i].slot = idx + i;
				c[i].sys = s;
			}
			atomic_store_explicit(&s->chunks[idx >> CHUNK_LOG2], c,
					      memory_order_release);
		}
		s->next_unused++;
		a = slot_at(s, idx);
	}
	if (counted) {
		/* Counted under slot_lock, so the limit holds exactly. */
		uint64_t live =
			(atomic_fetch_add(&s->counts, (uint64_t)1 << 32) >>
			 32) +
			1;
		uint64_t peak = atomic_load(&s->live_peak);
		while (live > peak && !atomic_compare_exchange_weak(
					      &s->live_peak, &peak, live))
			;
	}
	pthread_mutex_unlock(&s->slot_lock);
	lock(a);
	a->pid = make_pid(a->slot, gen);
	a->state = ACTOR_ALIVE;
	a->wait = WAIT_NO;
	a->trap_exit = 0;
	a->end_reason = 0;
	atomic_store(&a->end_req, false);
	a->mb = (Mailbox){0};
	a->ext = NULL;
	a->inst = NULL;
	return a;
}

static void slot_free(myr_actors *s, Actor *a)
{
	lock(a);
	a->state = ACTOR_FREE;
	a->inst = NULL;
	unlock(a);
	pthread_mutex_lock(&s->slot_lock);
	a->next_free = s->free_head;
	s->free_head = a->slot + 1;
	pthread_mutex_unlock(&s->slot_lock);
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void put_le64(uint8_t *p, int64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

static void put_le32(uint8_t *p, int32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)((uint32_t)v >> (8 * i));
}

/* ------------------------------------------------------------------ */
/* Links, monitors, names: the rarely used part of an actor            */

static ActorExt *ext_of(Actor *a)
{
	if (!a->ext)
		a->ext = calloc(1, sizeof *a->ext);
	return a->ext;
}

static void ext_free(ActorExt *x)
{
	if (!x)
		return;
	free(x->links);
	free(x->watching);
	free(x->watchers);
	free(x->name);
	free(x);
}

static bool links_has(const ActorExt *x, int64_t pid)
{
	for (uint32_t i = 0; x && i < x->nlinks; i++)
		if (x->links[i] == pid)
			return true;
	return false;
}

static bool links_add(Actor *a, int64_t pid)
{
	ActorExt *x = ext_of(a);
	if (!x)
		return false;
	if (links_has(x, pid))
		return true;
	if (x->nlinks == x->caplinks) {
		uint32_t cap = x->caplinks ? x->caplinks * 2 : 2;
		int64_t *l = xrealloc_array(x->links, cap, sizeof *l);
		if (!l)
			return false;
		x->links = l;
		x->caplinks = cap;
	}
	x->links[x->nlinks++] = pid;
	return true;
}

static bool links_remove(Actor *a, int64_t pid)
{
	ActorExt *x = a->ext;
	for (uint32_t i = 0; x && i < x->nlinks; i++)
		if (x->links[i] == pid) {
			x->links[i] = x->links[--x->nlinks];
			return true;
		}
	return false;
}

static bool mons_add(Mon **v, uint32_t *n, uint32_t *cap, Mon m)
{
	if (*n == *cap) {
		uint32_t c = *cap ? *cap * 2 : 2;
		Mon *nv = xrealloc_array(*v, c, sizeof *nv);
		if (!nv)
			return false;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = m;
	return true;
}

/* Removes the entry with ref (and, if pid is not 0, that pid). */
static bool mons_remove(Mon *v, uint32_t *n, int64_t ref, int64_t pid,
			int64_t *other)
{
	for (uint32_t i = 0; i < *n; i++)
		if (v[i].ref == ref && (!pid || v[i].pid == pid)) {
			if (other)
				*other = v[i].pid;
			v[i] = v[--*n];
			return true;
		}
	return false;
}

/* ------------------------------------------------------------------ */
/* Delivery                                                            */

static void host_signal(myr_actors *s)
{
	pthread_mutex_lock(&s->host_mu);
	atomic_fetch_add(&s->host_seq, 1);
	pthread_cond_broadcast(&s->host_cv);
	pthread_mutex_unlock(&s->host_mu);
}

/* Under a's lock: a stops waiting (if it was) and is woken. */
static void wake_locked(myr_actors *s, Actor *a)
{
	if (a->wait == WAIT_FOREVER)
		counts_add(s, 0, -1);
	a->wait = WAIT_NO;
	if (a->inst)
		myr_instance_wake(a->inst);
	else
		host_signal(s);
}

/* Under a's lock: queues m and wakes a if it waits for it. */
static void enqueue_locked(myr_actors *s, Actor *a, Msg *m)
{
	mailbox_put(&a->mb, m);
	count_message(s);
	if (a->wait && (a->filter == 0 || a->filter == m->tag))
		wake_locked(s, a);
}

/* A system message: never refused by the limits, which would lose it
 * (it is a few bytes, and one per link or monitor). */
static Msg *system_msg(myr_actors *s, int64_t from, int64_t tag,
		       const uint8_t *p, uint32_t len)
{
	Msg *m = msg_get(s, from, tag, p, len);
	if (m)
		queued_add(s, (int64_t)len + MSG_OVERHEAD);
	return m;
}

static void host_callback(myr_actors *s, Msg *m)
{
	queued_add(s, -((int64_t)m->len + MSG_OVERHEAD));
	count_message(s);
	s->cfg.on_message(m->from, m->tag, m->data, m->len, s->cfg.user);
	msg_put(s, m);
}

/* Under t's lock: t is to end with reason (the first reason wins). */
static void request_end_locked(myr_actors *s, Actor *t, int32_t reason)
{
	if (!atomic_load(&t->end_req)) {
		t->end_reason = reason;
		atomic_store_explicit(&t->end_req, true, memory_order_release);
	}
	wake_locked(s, t);
}

/* An exit signal from `from` to `to`. SIG_LINK: a linked actor ended
 * (dropped if the link is gone); SIG_EXIT: exit(to, reason), where kill
 * cannot be trapped; SIG_NOPROC: to linked to an actor that had ended. */
static void signal_exit(myr_actors *s, int64_t to, int64_t from, int32_t reason,
			int kind)
{
	Actor *t = lookup(s, to);
	if (!t)
		return;
	lock(t);
	if (!alive(t, to) || (kind == SIG_LINK && !links_remove(t, from))) {
		unlock(t);
		return;
	}
	bool kill = kind == SIG_EXIT && reason == MYR_REASON_KILL;
	Msg *cb = NULL;
	if ((t->trap_exit || !t->inst) && !kill) {
		uint8_t p[12];
		put_le64(p, from);
		put_le32(p + 8, reason);
		Msg *m = system_msg(s, from, MYR_TAG_EXIT, p, sizeof p);
		if (m && !t->inst && s->cfg.on_message)
			cb = m;
		else if (m)
			enqueue_locked(s, t, m);
	} else if (t->inst && (reason != MYR_REASON_NORMAL || kill)) {
		request_end_locked(s, t, reason);
	}
	unlock(t);
	if (cb)
		host_callback(s, cb);
}

/* A DOWN for the monitor ref held by watcher, if it still holds it. */
static void deliver_down(myr_actors *s, int64_t watcher, int64_t ref,
			 int64_t pid, int32_t reason)
{
	Actor *w = lookup(s, watcher);
	if (!w)
		return;
	Msg *cb = NULL;
	lock(w);
	if (alive(w, watcher) && w->ext &&
	    mons_remove(w->ext->watching, &w->ext->nwatching, ref, 0, NULL)) {
		uint8_t p[20];
		put_le64(p, ref);
		put_le64(p + 8, pid);
		put_le32(p + 16, reason);
		Msg *m = system_msg(s, pid, MYR_TAG_DOWN, p, sizeof p);
		if (m && !w->inst && s->cfg.on_message)
			cb = m;
		else if (m)
			enqueue_locked(s, w, m);
	}
	unlock(w);
	if (cb)
		host_callback(s, cb);
}

/* Copies a message to `to`; see the send codes in myriad.h. */
static int send_msg(myr_actors *s, int64_t from, int64_t to, int64_t tag,
		    const void *data, size_t len)
{
	/* Negative tags are the runtime's (EXIT, DOWN): a forged DOWN could
	 * make a supervisor restart a worker that is still running. */
	if (tag < 0)
		return MYR_SEND_BAD_TAG;
	if (len > s->max_msg)
		return MYR_SEND_TOO_BIG;
	Actor *t = lookup(s, to);
	if (!t)
		return 0;
	Msg *m = msg_get(s, from, tag, data, (uint32_t)len);
	if (!m)
		return MYR_SEND_FULL;
	uint64_t cost = (uint64_t)len + MSG_OVERHEAD;
	lock(t);
	if (!alive(t, to)) {
		unlock(t);
		msg_put(s, m);
		return 0;
	}
	if (!t->inst && s->cfg.on_message) {
		unlock(t);
		queued_add(s, (int64_t)cost);
		host_callback(s, m);
		return 0;
	}
	if (t->mb.bytes + cost > s->max_mailbox || !queued_take(s, cost)) {
		unlock(t);
		msg_put(s, m);
		return MYR_SEND_FULL;
	}
	enqueue_locked(s, t, m);
	unlock(t);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Operations shared by guests and the host                            */

static int64_t new_ref(myr_actors *s)
{
	return REF_BIT | (int64_t)atomic_fetch_add(&s->next_ref, 1);
}

/* me monitors pid with ref: DOWN at once (noproc) if pid has ended. */
static int64_t do_monitor(myr_actors *s, Actor *me, int64_t pid, int64_t ref)
{
	lock(me);
	ActorExt *x = ext_of(me);
	bool held = x && mons_add(&x->watching, &x->nwatching, &x->capwatching,
				  (Mon){ref, pid});
	int64_t self = me->pid;
	unlock(me);
	if (!held)
		return 0;
	Actor *t = lookup(s, pid);
	bool ok = false;
	if (t) {
		lock(t);
		ActorExt *tx = alive(t, pid) ? ext_of(t) : NULL;
		ok = tx && mons_add(&tx->watchers, &tx->nwatchers,
				    &tx->capwatchers, (Mon){ref, self});
		unlock(t);
	}
	if (!ok)
		deliver_down(s, self, ref, pid, MYR_REASON_NOPROC);
	return ref;
}

static int do_demonitor(myr_actors *s, Actor *me, int64_t ref)
{
	int64_t target = 0;
	uint64_t bytes = 0;
	lock(me);
	bool held =
		me->ext && mons_remove(me->ext->watching, &me->ext->nwatching,
				       ref, 0, &target);
	bool dropped = mailbox_drop_down(&me->mb, ref, &bytes);
	int64_t self = me->pid;
	unlock(me);
	if (dropped)
		queued_add(s, -(int64_t)bytes);
	Actor *t = held ? lookup(s, target) : NULL;
	if (t) {
		lock(t);
		if (alive(t, target) && t->ext)
			mons_remove(t->ext->watchers, &t->ext->nwatchers, ref,
				    self, NULL);
		unlock(t);
	}
	return held || dropped ? 0 : -1;
}

static int do_link(myr_actors *s, Actor *me, int64_t pid)
{
	if (!pid_valid(pid))
		return -1;
	lock(me);
	int64_t self = me->pid;
	bool held = pid == self || links_add(me, pid);
	unlock(me);
	if (pid == self)
		return 0;
	bool ok = false;
	Actor *t = held ? lookup(s, pid) : NULL;
	if (t) {
		lock(t);
		ok = alive(t, pid) && links_add(t, self);
		unlock(t);
	}
	if (ok)
		return 0;
	lock(me);
	links_remove(me, pid);
	unlock(me);
	if (held)
		signal_exit(s, self, pid, MYR_REASON_NOPROC, SIG_NOPROC);
	return -1;
}

static int do_unlink(myr_actors *s, Actor *me, int64_t pid)
{
	if (!pid_valid(pid))
		return -1;
	lock(me);
	int64_t self = me->pid;
	links_remove(me, pid);
	unlock(me);
	Actor *t = lookup(s, pid);
	if (t) {
		lock(t);
		if (alive(t, pid))
			links_remove(t, self);
		unlock(t);
	}
	return 0;
}

static size_t name_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
	return (size_t)h;
}

static Reg **name_slot(myr_actors *s, const char *p, size_t n)
{
	Reg **l = &s->names[name_hash(p, n) & (s->nbuckets - 1)];
	for (; *l; l = &(*l)->next)
		if ((*l)->len == n && memcmp((*l)->s, p, n) == 0)
			break;
	return l;
}

static bool names_grow(myr_actors *s)
{
	size_t nb = s->nbuckets ? s->nbuckets * 2 : 64;
	Reg **b = calloc(nb, sizeof *b);
	if (!b)
		return false;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (Reg *e = s->names[i], *next; e; e = next) {
			next = e->next;
			size_t k = name_hash(e->s, e->len) & (nb - 1);
			e->next = b[k];
			b[k] = e;
		}
	free(s->names);
	s->names = b;
	s->nbuckets = nb;
	return true;
}

static int64_t do_whereis(myr_actors *s, const char *p, size_t n)
{
	int64_t pid = 0;
	pthread_mutex_lock(&s->names_lock);
	if (s->nbuckets) {
		Reg *e = *name_slot(s, p, n);
		pid = e ? e->pid : 0;
	}
	pthread_mutex_unlock(&s->names_lock);
	return pid;
}

static int do_register(myr_actors *s, Actor *me, const char *p, size_t n)
{
	if (n == 0 || n > MAX_NAME)
		return -1;
	lock(me);
	bool named = me->ext && me->ext->name;
	int64_t self = me->pid;
	unlock(me);
	if (named)
		return -1;
	char *copy = malloc(n);
	Reg *e = malloc(sizeof *e + n);
	if (!copy || !e) {
		free(copy);
		free(e);
		return -1;
	}
	memcpy(copy, p, n);
	memcpy(e->s, p, n);
	e->len = (uint32_t)n;
	e->pid = self;
	pthread_mutex_lock(&s->names_lock);
	if ((s->nnames >= s->nbuckets && !names_grow(s)) ||
	    *name_slot(s, p, n)) {
		pthread_mutex_unlock(&s->names_lock);
		free(copy);
		free(e);
		return -1;
	}
	Reg **l = name_slot(s, p, n);
	e->next = NULL;
	*l = e;
	s->nnames++;
	pthread_mutex_unlock(&s->names_lock);
	lock(me);
	ActorExt *x = ext_of(me);
	if (x) {
		x->name = copy;
		x->name_len = (uint32_t)n;
	}
	unlock(me);
	if (!x) {
		pthread_mutex_lock(&s->names_lock);
		Reg **k = name_slot(s, p, n);
		if (*k && (*k)->pid == self) {
			Reg *d = *k;
			*k = d->next;
			free(d);
			s->nnames--;
		}
		pthread_mutex_unlock(&s->names_lock);
		free(copy);
		return -1;
	}
	return 0;
}

static void names_remove(myr_actors *s, const char *p, size_t n, int64_t pid)
{
	pthread_mutex_lock(&s->names_lock);
	if (s->nbuckets) {
		Reg **l = name_slot(s, p, n);
		if (*l && (*l)->pid == pid) {
			Reg *d = *l;
			*l = d->next;
			free(d);
			s->nnames--;
		}
	}
	pthread_mutex_unlock(&s->names_lock);
}

/* ------------------------------------------------------------------ */
/* Starting and ending                                                 */

static const Export *find_export(const Module *m, const char *name, size_t n)
{
	for (uint32_t i = 0; i < m->nexports; i++) {
		const Export *e = &m->exports[i];
		if (e->kind == EXT_FUNC && e->name.len == n &&
		    memcmp(e->name.s, name, n) == 0)
			return e;
	}
	return NULL;
}

static const FuncType *func_type(const Module *m, uint32_t idx)
{
	if (idx < m->nfunc_imports) {
		uint32_t k = 0;
		for (uint32_t i = 0; i < m->nimports; i++)
			if (m->imports[i].kind == EXT_FUNC && k++ == idx)
				return &m->types[m->imports[i].u.type_idx];
		return NULL;
	}
	return m->funcs[idx - m->nfunc_imports].type;
}

/* The export `name` of type () -> (), or NULL; `tmp` may stand for it
 * (instance_func_or), so the result is only for calling it. */
static myr_func *nullary(myr_instance *inst, const char *name, size_t n,
			 myr_func *tmp)
{
	const Export *e = find_export(inst->mod, name, n);
	if (!e)
		return NULL;
	const FuncType *t = func_type(inst->mod, e->index);
	if (!t || t->nparams || t->nresults)
		return NULL;
	return instance_func_or(inst, e->index, tmp);
}

void actor_mark_signalled(myr_instance *inst)
{
	char msg[64];
	snprintf(msg, sizeof msg, "ended by an exit signal (reason %d)",
		 (int)inst->actor->end_reason);
	exec_set_trap_msg(&inst->ex, MYR_TRAP_HOST, msg);
}

/* Ends an actor whose instance will not run again (or never ran). */
static void actor_end(Actor *a, myr_instance *inst, int32_t reason)
{
	myr_actors *s = a->sys;
	lock(a);
	if (atomic_load(&a->end_req))
		reason = a->end_reason;
	a->state = ACTOR_DEAD;
	if (a->wait == WAIT_FOREVER)
		counts_add(s, 0, -1);
	a->wait = WAIT_NO;
	ActorExt *x = a->ext;
	Mailbox mb = a->mb;
	int64_t pid = a->pid;
	a->ext = NULL;
	a->mb = (Mailbox){0};
	a->inst = NULL;
	unlock(a);
	if (s->cfg.on_exit)
		s->cfg.on_exit(pid, reason, inst, s->cfg.user);
	if (inst) {
		inst->actor = NULL;
		myr_instance_free(inst);
	}
	queued_add(s, -(int64_t)mailbox_clear(&mb));
	if (x) {
		if (x->name)
			names_remove(s, x->name, x->name_len, pid);
		for (uint32_t i = 0; i < x->nlinks; i++)
			signal_exit(s, x->links[i], pid, reason, SIG_LINK);
		for (uint32_t i = 0; i < x->nwatchers; i++)
			deliver_down(s, x->watchers[i].pid, x->watchers[i].ref,
				     pid, reason);
		for (uint32_t i = 0; i < x->nwatching; i++) {
			Actor *t = lookup(s, x->watching[i].pid);
			if (!t)
				continue;
			lock(t);
			if (alive(t, x->watching[i].pid) && t->ext)
				mons_remove(t->ext->watchers,
					    &t->ext->nwatchers,
					    x->watching[i].ref, pid, NULL);
			unlock(t);
		}
		ext_free(x);
	}
	slot_free(s, a);
	counts_add(s, -1, 0);
}

void actor_finished(myr_instance *inst, myr_status status)
{
	int32_t reason = MYR_REASON_NORMAL;
	if (status == MYR_STATUS_EXITED && inst->ex.exit_code != 0)
		reason = MYR_REASON_EXIT + inst->ex.exit_code;
	else if (status == MYR_STATUS_TRAPPED)
		reason = MYR_REASON_TRAP;
	actor_end(inst->actor, inst, reason);
}

/* The actor for inst, with msg queued from parent, linked or monitored
 * as flags say, its reactor initialized and its call started and
 * scheduled. On failure inst is freed and *why says which error. */
static int64_t start_actor(myr_actors *s, myr_instance *inst, myr_func *func,
			   const myr_val *args, size_t nargs, const void *msg,
			   size_t len, uint32_t flags, Actor *parent,
			   myr_error *err)
{
	uint64_t cost = msg ? (uint64_t)len + MSG_OVERHEAD : 0;
	if (msg && !queued_take(s, cost)) {
		myr_instance_free(inst);
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "the mailboxes are full (max_queued_bytes)");
		return MYR_SPAWN_FAILED;
	}
	Msg *m = NULL;
	Actor *a = NULL;
	if ((msg && !(m = msg_get(s, parent->pid, 0, msg, (uint32_t)len))) ||
	    !(a = slot_alloc(s, true))) {
		if (msg)
			queued_add(s, -(int64_t)cost);
		free(m);
		myr_instance_free(inst);
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "too many actors (limit %llu) or out of memory",
		     (unsigned long long)s->max_actors);
		return MYR_SPAWN_FAILED;
	}
	a->inst = inst;
	inst->actor = a;
	int64_t pid = a->pid;
	if (m) {
		mailbox_put(&a->mb, m);
		count_message(s);
	}
	bool linked = (flags & MYR_SPAWN_LINK) && parent->inst &&
		      links_add(a, parent->pid);
	bool watched = (flags & MYR_SPAWN_MONITOR) && ext_of(a) &&
		       mons_add(&a->ext->watchers, &a->ext->nwatchers,
				&a->ext->capwatchers, (Mon){pid, parent->pid});
	unlock(a);
	atomic_fetch_add(&s->spawned, 1);
	if (linked) {
		lock(parent);
		if (!links_add(parent, pid)) {
			unlock(parent);
			lock(a);
			links_remove(a, parent->pid);
			unlock(a);
		} else {
			unlock(parent);
		}
	}
	if (watched) {
		lock(parent);
		ActorExt *px = ext_of(parent);
		if (px)
			mons_add(&px->watching, &px->nwatching,
				 &px->capwatching, (Mon){pid, pid});
		unlock(parent);
	}
	myr_func init_tmp;
	myr_func *init = nullary(inst, "_initialize", 11, &init_tmp);
	myr_error e;
	if (init && init->def != func->def &&
	    !myr_func_call(init, NULL, 0, NULL, 0, &e)) {
		actor_end(a, inst,
			  e.trap == MYR_TRAP_EXIT
				  ? (e.exit_code ? MYR_REASON_EXIT + e.exit_code
						 : MYR_REASON_NORMAL)
				  : MYR_REASON_TRAP);
		return pid;
	}
	if (!myr_instance_start(inst, func, args, nargs, &e) ||
	    !myr_sched_add(s->sched, inst)) {
		actor_end(a, inst, MYR_REASON_TRAP);
		return pid;
	}
	return pid;
}

static int64_t spawn_from(myr_actors *s, Actor *parent, myr_module *module,
			  const myr_extern *imports, size_t nimports,
			  const char *entry, size_t entry_len, const void *msg,
			  size_t len, uint32_t flags, myr_error *err)
{
	const Module *m = module;
	const Export *e = find_export(m, entry, entry_len);
	const FuncType *t = e ? func_type(m, e->index) : NULL;
	if (!t || t->nparams || t->nresults) {
		fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "no export \"%.*s\" of type () -> ()", (int)entry_len,
		     entry);
		return MYR_SPAWN_NO_ENTRY;
	}
	if (len > s->max_msg) {
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "the first message is larger than max_message_bytes");
		return MYR_SPAWN_FAILED;
	}
	if ((atomic_load(&s->counts) >> 32) >= s->max_actors) {
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "too many actors (limit %llu)",
		     (unsigned long long)s->max_actors);
		return MYR_SPAWN_FAILED;
	}
	/* Sized for the entry's frame: spawned actors would otherwise each
	 * move their stack to the heap on their first call. */
	uint32_t slots =
		e->index >= m->nfunc_imports
			? m->funcs[e->index - m->nfunc_imports].frame_slots
			: 0;
	myr_instance *inst =
		instance_new_stack(module, imports, nimports, slots, err);
	if (!inst)
		return MYR_SPAWN_FAILED;
	/* Only started, not kept: an actor makes no objects for the
	 * module's exports. */
	myr_func tmp;
	myr_func *f = instance_func_or(inst, e->index, &tmp);
	static const uint8_t none;
	return start_actor(s, inst, f, NULL, 0, msg ? msg : &none, len, flags,
			   parent, err);
}

/* ------------------------------------------------------------------ */
/* The guest functions                                                 */

#define ACTOR_FN(name) static myr_hostret name(Exec *ex, void *env, uint64_t *a)

/* The bytes [p, p + n) of the caller's memory 0, or NULL (then trap). */
static uint8_t *guest_mem(Exec *ex, uint64_t p, uint64_t n)
{
	myr_memory *m = ex->mem;
	static uint8_t empty;
	if ((uint32_t)n == 0 && (!m || (uint32_t)p <= m->size))
		return m ? m->base + (uint32_t)p : &empty;
	if (!m || (uint32_t)p + (uint64_t)(uint32_t)n > m->size)
		return NULL;
	return m->base + (uint32_t)p;
}

static myr_hostret oob(Exec *ex)
{
	exec_set_trap_msg(ex, MYR_TRAP_MEMORY_OOB, NULL);
	return MYR_HOST_TRAP;
}

/* The caller's actor; traps for an instance that is not one. */
#define ME()                                                                   \
	Actor *me = ex->inst->actor;                                           \
	if (!me) {                                                             \
		exec_set_trap_msg(ex, MYR_TRAP_HOST,                           \
				  "myriad: the instance is not an actor");     \
		return MYR_HOST_TRAP;                                          \
	}

/* The caller ends now, by the exit signal in end_req. */
static myr_hostret end_self(Exec *ex)
{
	actor_mark_signalled(ex->inst);
	return MYR_HOST_TRAP;
}

ACTOR_FN(g_self)
{
	(void)env;
	ME();
	a[0] = (uint64_t)me->pid;
	return MYR_HOST_OK;
}

ACTOR_FN(g_spawn)
{
	myr_actors *s = env;
	ME();
	uint8_t *name = guest_mem(ex, a[0], a[1]);
	uint8_t *msg = guest_mem(ex, a[2], a[3]);
	if (!name || !msg)
		return oob(ex);
	myr_instance *parent = ex->inst;
	const Module *m = parent->mod;
	myr_extern small[16], *imp = small;
	if (m->nimports > COUNT_OF(small) &&
	    !(imp = xcalloc(m->nimports, sizeof *imp))) {
		a[0] = (uint64_t)(int64_t)MYR_SPAWN_FAILED;
		return MYR_HOST_OK;
	}
	uint32_t k[4] = {0};
	for (uint32_t i = 0; i < m->nimports; i++) {
		switch (m->imports[i].kind) {
		case EXT_FUNC:
			imp[i].kind = MYR_EXTERN_FUNC;
			imp[i].of.func = parent->func_imps[k[0]++];
			break;
		case EXT_TABLE:
			imp[i].kind = MYR_EXTERN_TABLE;
			imp[i].of.table = parent->tables[k[1]++];
			break;
		case EXT_MEMORY:
			imp[i].kind = MYR_EXTERN_MEMORY;
			imp[i].of.memory = parent->mems[k[2]++];
			break;
		default:
			imp[i].kind = MYR_EXTERN_GLOBAL;
			imp[i].of.global = parent->global_objs[k[3]++];
			break;
		}
	}
	int64_t pid = spawn_from(s, me, (myr_module *)m, imp, m->nimports,
				 (const char *)name, (uint32_t)a[1], msg,
				 (uint32_t)a[3], (uint32_t)a[4], NULL);
	if (imp != small)
		free(imp);
	a[0] = (uint64_t)pid;
	return MYR_HOST_OK;
}

ACTOR_FN(g_send)
{
	myr_actors *s = env;
	ME();
	uint8_t *p = guest_mem(ex, a[2], a[3]);
	if (!p)
		return oob(ex);
	a[0] = (uint32_t)send_msg(s, me->pid, (int64_t)a[0], (int64_t)a[1], p,
				  (uint32_t)a[3]);
	return MYR_HOST_OK;
}

ACTOR_FN(g_receive)
{
	myr_actors *s = env;
	ME();
	int64_t filter = (int64_t)a[0], timeout = (int64_t)a[3];
	uint32_t cap = (uint32_t)a[2];
	uint8_t *buf = guest_mem(ex, a[1], cap);
	uint8_t *info = guest_mem(ex, a[4], 16);
	if (!buf || !info)
		return oob(ex);
	lock(me);
	if (me->wait == WAIT_FOREVER)
		counts_add(s, 0, -1);
	me->wait = WAIT_NO;
	if (atomic_load(&me->end_req)) {
		unlock(me);
		return end_self(ex);
	}
	Msg **link;
	Msg *m = mailbox_find(&me->mb, filter, &link);
	if (m) {
		uint32_t n = m->len;
		if (n <= cap)
			mailbox_take(&me->mb, link, m);
		unlock(me);
		if (n <= cap) {
			memcpy(buf, m->data, n);
			put_le64(info, m->from);
			put_le64(info + 8, m->tag);
			queued_add(s, -((int64_t)n + MSG_OVERHEAD));
			msg_put(s, m);
		}
		a[0] = n;
		return MYR_HOST_OK;
	}
	uint64_t now = timeout > 0 ? mono_ns() : 0, at = 0;
	if (timeout > 0) {
		/* A receive made again after its wait keeps its deadline. */
		if (!ex->resumed)
			me->deadline = now + (uint64_t)timeout;
		at = me->deadline;
	}
	if (timeout == 0 || (timeout > 0 && now >= at)) {
		unlock(me);
		a[0] = (uint32_t)MYR_RECEIVE_TIMEOUT;
		return MYR_HOST_OK;
	}
	me->filter = filter;
	me->wait = timeout > 0 ? WAIT_TIMED : WAIT_FOREVER;
	if (me->wait == WAIT_FOREVER)
		counts_add(s, 0, 1);
	unlock(me);
	return myr_caller_block((myr_caller *)ex, at);
}

ACTOR_FN(g_link)
{
	myr_actors *s = env;
	ME();
	a[0] = (uint32_t)do_link(s, me, (int64_t)a[0]);
	return atomic_load(&me->end_req) ? end_self(ex) : MYR_HOST_OK;
}

ACTOR_FN(g_unlink)
{
	myr_actors *s = env;
	ME();
	a[0] = (uint32_t)do_unlink(s, me, (int64_t)a[0]);
	return MYR_HOST_OK;
}

ACTOR_FN(g_monitor)
{
	myr_actors *s = env;
	ME();
	a[0] = (uint64_t)do_monitor(s, me, (int64_t)a[0], new_ref(s));
	return MYR_HOST_OK;
}

ACTOR_FN(g_demonitor)
{
	myr_actors *s = env;
	ME();
	a[0] = (uint32_t)do_demonitor(s, me, (int64_t)a[0]);
	return MYR_HOST_OK;
}

ACTOR_FN(g_trap_exit)
{
	(void)env;
	ME();
	lock(me);
	uint32_t prev = me->trap_exit;
	me->trap_exit = (uint32_t)a[0] != 0;
	unlock(me);
	a[0] = prev;
	return MYR_HOST_OK;
}

ACTOR_FN(g_exit)
{
	myr_actors *s = env;
	ME();
	int64_t pid = (int64_t)a[0];
	int32_t reason = (int32_t)(uint32_t)a[1];
	if (pid == me->pid) {
		lock(me);
		if (!atomic_load(&me->end_req)) {
			me->end_reason = reason;
			atomic_store(&me->end_req, true);
		}
		unlock(me);
		return end_self(ex);
	}
	if (!pid_valid(pid)) {
		a[0] = (uint32_t)-1;
		return MYR_HOST_OK;
	}
	signal_exit(s, pid, me->pid, reason, SIG_EXIT);
	a[0] = 0;
	return MYR_HOST_OK;
}

ACTOR_FN(g_register)
{
	myr_actors *s = env;
	ME();
	uint8_t *p = guest_mem(ex, a[0], a[1]);
	if (!p)
		return oob(ex);
	a[0] = (uint32_t)do_register(s, me, (const char *)p, (uint32_t)a[1]);
	return MYR_HOST_OK;
}

ACTOR_FN(g_whereis)
{
	myr_actors *s = env;
	uint8_t *p = guest_mem(ex, a[0], a[1]);
	if (!p)
		return oob(ex);
	a[0] = (uint64_t)do_whereis(s, (const char *)p, (uint32_t)a[1]);
	return MYR_HOST_OK;
}

#define I32 0x7F
#define I64 0x7E
static const struct {
	const char *name;
	RawHostFn fn;
	uint8_t np, nr;
	uint8_t types[6];
} guest_fns[NFUNCS] = {
	[F_SELF] = {"self", g_self, 0, 1, {I64}},
	[F_SPAWN] = {"spawn", g_spawn, 5, 1, {I32, I32, I32, I32, I32, I64}},
	[F_SEND] = {"send", g_send, 4, 1, {I64, I64, I32, I32, I32}},
	[F_RECEIVE] =
		{"receive", g_receive, 5, 1, {I64, I32, I32, I64, I32, I32}},
	[F_LINK] = {"link", g_link, 1, 1, {I64, I32}},
	[F_UNLINK] = {"unlink", g_unlink, 1, 1, {I64, I32}},
	[F_MONITOR] = {"monitor", g_monitor, 1, 1, {I64, I64}},
	[F_DEMONITOR] = {"demonitor", g_demonitor, 1, 1, {I64, I32}},
	[F_TRAP_EXIT] = {"trap_exit", g_trap_exit, 1, 1, {I32, I32}},
	[F_EXIT] = {"exit", g_exit, 2, 1, {I64, I32, I32}},
	[F_REGISTER] = {"register", g_register, 2, 1, {I32, I32, I32}},
	[F_WHEREIS] = {"whereis", g_whereis, 2, 1, {I32, I32, I64}},
};

/* ------------------------------------------------------------------ */
/* The public interface                                                */

static const char actor_mod[] = "myriad";

void actor_config_default(myr_config *cfg)
{
	if (!cfg->max_message_bytes)
		cfg->max_message_bytes = (size_t)1 << 20;
	if (!cfg->max_mailbox_bytes)
		cfg->max_mailbox_bytes = (uint64_t)64 << 20;
	if (!cfg->max_queued_bytes) {
		long pages = sysconf(_SC_PHYS_PAGES);
		long size = sysconf(_SC_PAGESIZE);
		cfg->max_queued_bytes =
			pages > 0 && size > 0
				? (uint64_t)pages * (uint64_t)size / 4
				: (uint64_t)1 << 30;
	}
	if (!cfg->max_actors)
		cfg->max_actors = (uint64_t)4 << 20;
}

myr_actors *myr_actors_new(myr_sched *sched, const myr_actors_config *cfg)
{
	if (!sched)
		return NULL;
	myr_actors *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->chunks = calloc(NCHUNKS, sizeof *s->chunks);
	if (!s->chunks) {
		free(s);
		return NULL;
	}
	s->sched = sched;
	s->engine = sched_engine(sched);
	s->nshards = sched_workers(sched) + 1;
	s->shards = aligned_alloc(_Alignof(Shard), s->nshards * sizeof(Shard));
	if (!s->shards) {
		free(s->chunks);
		free(s);
		return NULL;
	}
	memset(s->shards, 0, s->nshards * sizeof(Shard));
	if (cfg)
		s->cfg = *cfg;
	const myr_config *ec = &s->engine->cfg;
	s->max_msg = MIN(ec->max_message_bytes, (size_t)INT32_MAX);
	s->max_mailbox = ec->max_mailbox_bytes;
	s->max_queued = ec->max_queued_bytes;
	s->max_actors = MIN(ec->max_actors, (uint64_t)MAX_SLOTS - 2);
	uint64_t slack = (uint64_t)(s->nshards - 1) * 2 * QUEUED_FLUSH;
	if (s->max_queued >= QUEUED_EXACT && s->max_queued >= 4 * slack)
		s->queued_slack = (int64_t)slack;
	s->next_ref = 1;
	pthread_mutex_init(&s->slot_lock, NULL);
	pthread_mutex_init(&s->host_mu, NULL);
	pthread_cond_init(&s->host_cv, NULL);
	pthread_mutex_init(&s->names_lock, NULL);
	pthread_mutex_init(&s->depot_lock, NULL);
	s->host = slot_alloc(s, false);
	bool ok = s->host != NULL;
	if (ok) {
		s->host->trap_exit = 1;
		unlock(s->host);
	}
	for (int i = 0; ok && i < NFUNCS; i++) {
		s->funcs[i] = host_func_new_raw(
			s->engine, guest_fns[i].types, guest_fns[i].np,
			guest_fns[i].nr, guest_fns[i].fn, s);
		ok = s->funcs[i] != NULL;
	}
	if (!ok) {
		myr_actors_free(s);
		return NULL;
	}
	return s;
}

void myr_actors_free(myr_actors *s)
{
	if (!s)
		return;
	for (uint32_t c = 0; c < NCHUNKS; c++) {
		Actor *base = atomic_load(&s->chunks[c]);
		if (!base)
			continue;
		for (uint32_t i = 0; i < CHUNK; i++) {
			Actor *a = &base[i];
			mailbox_clear(&a->mb);
			ext_free(a->ext);
			if (a->inst) {
				a->inst->actor = NULL;
				myr_instance_free(a->inst);
			}
		}
		free(base);
	}
	for (size_t i = 0; i < s->nbuckets; i++)
		for (Reg *e = s->names[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	free(s->names);
	for (int i = 0; i < NFUNCS; i++)
		myr_func_free(s->funcs[i]);
	free(s->chunks);
	for (uint32_t i = 0; s->shards && i < s->nshards; i++)
		mailbox_free_list(s->shards[i].cache);
	mailbox_free_list(s->depot);
	free(s->shards);
	pthread_mutex_destroy(&s->depot_lock);
	pthread_mutex_destroy(&s->slot_lock);
	pthread_mutex_destroy(&s->host_mu);
	pthread_cond_destroy(&s->host_cv);
	pthread_mutex_destroy(&s->names_lock);
	free(s);
}

myr_func *myr_actors_func(myr_actors *s, const char *name, size_t len)
{
	for (int i = 0; i < NFUNCS; i++)
		if (strlen(guest_fns[i].name) == len &&
		    memcmp(guest_fns[i].name, name, len) == 0)
			return s->funcs[i];
	return NULL;
}

static bool is_actor_import(const Import *im)
{
	return im->module.len == sizeof actor_mod - 1 &&
	       memcmp(im->module.s, actor_mod, sizeof actor_mod - 1) == 0;
}

bool myr_module_imports_actors(const myr_module *m)
{
	for (uint32_t i = 0; i < m->nimports; i++)
		if (is_actor_import(&m->imports[i]))
			return true;
	return false;
}

bool myr_actors_link(myr_actors *s, const myr_module *m, myr_extern *imports,
		     myr_error *err)
{
	error_clear(err);
	for (uint32_t i = 0; i < m->nimports; i++) {
		const Import *im = &m->imports[i];
		if (imports[i].of.func || !is_actor_import(im))
			continue;
		myr_func *f =
			im->kind == EXT_FUNC
				? myr_actors_func(s, im->name.s, im->name.len)
				: NULL;
		if (!f)
			return fail(err, MYR_ERR_LINK, MYR_NO_OFFSET,
				    MYR_NO_FUNC,
				    "unknown import: myriad.%.*s is not an "
				    "actor function",
				    (int)im->name.len, im->name.s);
		const FuncType *want = &m->types[im->u.type_idx];
		if (want->canon != f->canon)
			return fail(err, MYR_ERR_LINK, MYR_NO_OFFSET,
				    MYR_NO_FUNC,
				    "import myriad.%.*s has the wrong type",
				    (int)im->name.len, im->name.s);
		imports[i].kind = MYR_EXTERN_FUNC;
		imports[i].of.func = f;
	}
	return true;
}

int64_t myr_actors_spawn(myr_actors *s, myr_module *module,
			 const myr_extern *imports, size_t nimports,
			 const char *entry, size_t entry_len, const void *msg,
			 size_t msg_len, uint32_t flags, myr_error *err)
{
	error_clear(err);
	return spawn_from(s, s->host, module, imports, nimports, entry,
			  entry_len, msg, msg_len, flags & MYR_SPAWN_MONITOR,
			  err);
}

int64_t myr_actors_adopt(myr_actors *s, myr_instance *inst, myr_func *func,
			 const myr_val *args, size_t nargs, myr_error *err)
{
	error_clear(err);
	if (func->kind != FUNC_WASM || func->inst != inst) {
		myr_instance_free(inst);
		fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "the function is not one of the instance's");
		return 0;
	}
	int64_t pid = start_actor(s, inst, func, args, nargs, NULL, 0, 0,
				  s->host, err);
	return pid > 0 ? pid : 0;
}

int64_t myr_actors_host_pid(const myr_actors *s)
{
	return s->host->pid;
}

int64_t myr_actor_pid(const myr_instance *inst)
{
	return inst->actor ? inst->actor->pid : 0;
}

int myr_actors_send(myr_actors *s, int64_t to, int64_t tag, const void *msg,
		    size_t len)
{
	return send_msg(s, s->host->pid, to, tag, msg, len);
}

int myr_actors_exit(myr_actors *s, int64_t pid, int32_t reason)
{
	if (!pid_valid(pid) || pid == s->host->pid)
		return -1;
	signal_exit(s, pid, s->host->pid, reason, SIG_EXIT);
	return 0;
}

int64_t myr_actors_monitor(myr_actors *s, int64_t pid)
{
	return do_monitor(s, s->host, pid, new_ref(s));
}

int myr_actors_demonitor(myr_actors *s, int64_t ref)
{
	return do_demonitor(s, s->host, ref);
}

int64_t myr_actors_whereis(myr_actors *s, const char *name, size_t len)
{
	return do_whereis(s, name, len);
}

int myr_actors_receive(myr_actors *s, int64_t filter, void *buf, size_t cap,
		       int64_t timeout_ns, int64_t *from, int64_t *tag)
{
	Actor *h = s->host;
	uint64_t deadline =
		timeout_ns > 0 ? mono_ns() + (uint64_t)timeout_ns : 0;
	for (;;) {
		unsigned seq = atomic_load(&s->host_seq);
		lock(h);
		Msg **link;
		Msg *m = mailbox_find(&h->mb, filter, &link);
		if (m) {
			uint32_t n = m->len;
			if (n <= cap)
				mailbox_take(&h->mb, link, m);
			unlock(h);
			if (n <= cap) {
				if (n)
					memcpy(buf, m->data, n);
				if (from)
					*from = m->from;
				if (tag)
					*tag = m->tag;
				queued_add(s, -((int64_t)n + MSG_OVERHEAD));
				free(m);
			}
			return (int)n;
		}
		/* Senders wake the host only when it says it waits. Several
		 * threads may wait at once, each for its own tag: any message
		 * wakes them all and each looks for its own (with one's
		 * filter here, another would sleep through its message). */
		h->wait = WAIT_TIMED;
		h->filter = 0;
		unlock(h);
		uint64_t now = mono_ns();
		if (timeout_ns == 0 || (timeout_ns > 0 && now >= deadline))
			break;
		pthread_mutex_lock(&s->host_mu);
		while (atomic_load(&s->host_seq) == seq) {
			if (timeout_ns < 0) {
				pthread_cond_wait(&s->host_cv, &s->host_mu);
				continue;
			}
			struct timespec t;
			clock_gettime(CLOCK_REALTIME, &t);
			uint64_t left =
				deadline > mono_ns() ? deadline - mono_ns() : 0;
			if (!left)
				break;
			uint64_t ns = (uint64_t)t.tv_nsec + left;
			t.tv_sec += (time_t)(ns / 1000000000u);
			t.tv_nsec = (long)(ns % 1000000000u);
			pthread_cond_timedwait(&s->host_cv, &s->host_mu, &t);
		}
		pthread_mutex_unlock(&s->host_mu);
	}
	/* h->wait stays set: another thread may still be waiting, and
	 * the next message clears it (wake_locked). */
	return MYR_RECEIVE_TIMEOUT;
}

bool myr_actors_name(myr_actors *s, int64_t pid, char *buf, size_t cap)
{
	Actor *a = lookup(s, pid);
	bool found = false;
	if (!a || !cap)
		return false;
	lock(a);
	if (alive(a, pid) && a->ext && a->ext->name) {
		size_t n = MIN((size_t)a->ext->name_len, cap - 1);
		memcpy(buf, a->ext->name, n);
		buf[n] = 0;
		found = true;
	}
	unlock(a);
	return found;
}

void myr_actors_get_stats(const myr_actors *cs, myr_actors_stats *out)
{
	myr_actors *s = (myr_actors *)cs;
	uint64_t c = atomic_load(&s->counts);
	memset(out, 0, sizeof *out);
	out->live = c >> 32;
	out->waiting = c & 0xffffffffu;
	out->live_peak = atomic_load(&s->live_peak);
	out->spawned = atomic_load(&s->spawned);
	for (uint32_t i = 0; i < s->nshards; i++)
		out->messages += atomic_load_explicit(&s->shards[i].messages,
						      memory_order_relaxed);
	out->queued_bytes = queued_total(s);
}

uint64_t myr_actors_deadlocked(myr_actors *s, int64_t *pids, size_t max)
{
	uint64_t c = atomic_load(&s->counts);
	uint64_t live = c >> 32, waiting = c & 0xffffffffu;
	if (!live || waiting != live)
		return 0;
	size_t n = 0;
	pthread_mutex_lock(&s->slot_lock);
	uint32_t used = s->next_unused;
	pthread_mutex_unlock(&s->slot_lock);
	for (uint32_t i = 1; i < used && n < max; i++) {
		Actor *a = slot_at(s, i);
		lock(a);
		if (a->state == ACTOR_ALIVE && a->wait == WAIT_FOREVER)
			pids[n++] = a->pid;
		unlock(a);
	}
	return live;
}
