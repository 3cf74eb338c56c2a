/* Actors (issue 10): every rule of the "myriad" module, played out by
 * tests/wat/actor_bot.wat, a guest that runs a script of actor calls the
 * test writes and reports its registers to the host, so that each test
 * composes its scenario here and checks every result. The runs use two
 * workers. Nothing is asserted on timing except generous bounds (the
 * machine is shared): where an order matters, the actors synchronise
 * through messages, monitors, or the host waiting for a visible state. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "myriad_actor.h"

#include "../wat/actor_bot.h"

/* ------------------------------------------------------------------ */
/* Scripts for actor_bot.wat                                           */

#define PARENT	 R(1)
#define ME	 R(2)
#define LAST_TAG R(14)
#define LAST_VAL R(15)

enum { MAX_INS = 256 };

/* Scripts go to the guest as they lie in memory. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the scripts are written in the host's byte order: little-endian"
#endif

typedef struct Script {
	int64_t w[MAX_INS][5];
	uint32_t n;
} Script;

static uint32_t ins(Script *s, int64_t op, int64_t dst, int64_t a, int64_t b,
		    int64_t c)
{
	assert_true(s->n < MAX_INS);
	int64_t *w = s->w[s->n];
	w[0] = op;
	w[1] = dst;
	w[2] = a;
	w[3] = b;
	w[4] = c;
	return s->n++;
}

/* Up to 8 bytes of a name as the i64 REGISTER, WHEREIS and SPAWN take. */
static int64_t nm(const char *name)
{
	uint8_t b[8] = {0};
	memcpy(b, name, strnlen(name, 8));
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return (int64_t)v;
}

/* dst = receive(filter, cap, timeout) */
static uint32_t rcv(Script *s, int dst, int64_t filter, int64_t cap,
		    int64_t timeout)
{
	return ins(s, O_RECV, dst, filter, cap, timeout);
}

/* dst = send(to, tag, the 8 bytes of v) */
static uint32_t snd(Script *s, int dst, int64_t to, int64_t tag, int64_t v)
{
	return ins(s, O_SEND, dst, to, tag, v);
}

static uint32_t report_to(Script *s, int64_t to, int64_t tag)
{
	return ins(s, O_REPORT, 0, to, tag, 0);
}

static uint32_t report(Script *s, int64_t tag)
{
	return report_to(s, PARENT, tag);
}

static uint32_t end(Script *s)
{
	return ins(s, O_END, 0, 0, 0, 0);
}

static uint32_t trap(Script *s)
{
	return ins(s, O_TRAP, 0, 0, 0, 0);
}

static uint32_t jump(Script *s, int64_t to)
{
	return ins(s, O_JEQ, 0, 0, 0, to);
}

/* Spawns the child whose script is instructions [start, start + count)
 * of this one (its jumps count from start). */
static uint32_t spawn_child(Script *s, int dst, uint32_t flags, uint32_t start,
			    uint32_t count)
{
	return ins(s, O_SPAWN, dst, nm("run"), 3 | (int64_t)flags << 8,
		   start | (int64_t)count << 16);
}

/* ------------------------------------------------------------------ */
/* An actor system to run them in                                      */

typedef struct Ended {
	int64_t pid;
	int32_t reason;
	int trap; /* myr_trap of a trapped instance, else -1 */
	char message[64];
} Ended;

typedef struct HostMsg {
	int64_t from, tag;
	uint8_t data[REPORT_BYTES];
	size_t len;
} HostMsg;

typedef struct Sys {
	myr_engine *e;
	myr_module *bot;
	myr_wasi *wasi;
	myr_sched *sched;
	myr_actors *act;
	myr_extern imports[16];
	size_t nimports;
	int64_t host;
	pthread_mutex_t mu;
	Ended *ended;
	size_t nended, capended;
	/* What on_message got, when the host takes messages by callback. */
	HostMsg *got;
	size_t ngot, capgot;
	pthread_t thread;
	bool in_background;
	bool stopped; /* a run was stopped, with actors left alive */
} Sys;

static void on_exit_cb(int64_t pid, int32_t reason, myr_instance *inst,
		       void *user)
{
	Sys *s = user;
	Ended e = {pid, reason, -1, ""};
	if (inst && myr_instance_status(inst) == MYR_STATUS_TRAPPED) {
		const myr_error *err = myr_instance_error(inst);
		e.trap = (int)err->trap;
		snprintf(e.message, sizeof e.message, "%s", err->message);
	}
	pthread_mutex_lock(&s->mu);
	if (s->nended == s->capended) {
		s->capended = s->capended ? s->capended * 2 : 64;
		s->ended = realloc(s->ended, s->capended * sizeof *s->ended);
	}
	s->ended[s->nended++] = e;
	pthread_mutex_unlock(&s->mu);
}

static void on_message_cb(int64_t from, int64_t tag, const void *msg,
			  size_t len, void *user)
{
	Sys *s = user;
	pthread_mutex_lock(&s->mu);
	if (s->ngot == s->capgot) {
		s->capgot = s->capgot ? s->capgot * 2 : 16;
		s->got = realloc(s->got, s->capgot * sizeof *s->got);
	}
	HostMsg *m = &s->got[s->ngot++];
	m->from = from;
	m->tag = tag;
	m->len = len;
	memcpy(m->data, msg, len < sizeof m->data ? len : sizeof m->data);
	pthread_mutex_unlock(&s->mu);
}

/* An engine with cfg's limits (NULL: defaults), a scheduler of two
 * workers (fuel per slice: 0 adapts) and its actor system, with the bot
 * module loaded and linked. */
static Sys *sys_new_with(const myr_config *cfg, int64_t fuel, bool callback)
{
	Sys *s = calloc(1, sizeof *s);
	assert_non_null(s);
	pthread_mutex_init(&s->mu, NULL);
	s->e = myr_engine_new(cfg);
	assert_non_null(s->e);
	s->bot = tu_load(s->e, "actor_bot");
	myr_error err;
	myr_wasi_config wc;
	myr_wasi_config_default(&wc);
	s->wasi = myr_wasi_new(s->e, &wc, &err);
	assert_non_null(s->wasi);
	myr_sched_config sc = {.threads = 2, .fuel = fuel};
	s->sched = myr_sched_new(s->e, &sc);
	assert_non_null(s->sched);
	myr_actors_config ac = {.on_exit = on_exit_cb, .user = s};
	if (callback)
		ac.on_message = on_message_cb;
	s->act = myr_actors_new(s->sched, &ac);
	assert_non_null(s->act);
	s->host = myr_actors_host_pid(s->act);
	assert_true(s->host > 0);
	s->nimports = myr_module_import_count(s->bot);
	assert_true(s->nimports <= 16);
	if (!myr_actors_link(s->act, s->bot, s->imports, &err) ||
	    !myr_wasi_link(s->wasi, s->bot, s->imports, &err))
		fail_msg("link: %s", err.message);
	return s;
}

static Sys *sys_new(void)
{
	return sys_new_with(NULL, 0, false);
}

static void sys_free(Sys *s)
{
	assert_false(s->in_background);
	if (!s->stopped) {
		/* Every actor ended, and the counts say so. */
		myr_actors_stats st;
		myr_actors_get_stats(s->act, &st);
		assert_int_equal(st.live, 0);
		assert_int_equal(st.waiting, 0);
		assert_int_equal(myr_actors_deadlocked(s->act, NULL, 0), 0);
	}
	myr_actors_free(s->act);
	myr_sched_free(s->sched);
	myr_wasi_free(s->wasi);
	myr_module_free(s->bot);
	myr_engine_free(s->e);
	pthread_mutex_destroy(&s->mu);
	free(s->ended);
	free(s->got);
	free(s);
}

/* Starts a bot from the host running script sc; its pid. */
static int64_t bot_flags(Sys *s, const Script *sc, uint32_t flags)
{
	myr_error err;
	int64_t pid =
		myr_actors_spawn(s->act, s->bot, s->imports, s->nimports, "run",
				 3, sc->w, sc->n * INS_BYTES, flags, &err);
	if (pid <= 0)
		fail_msg("spawn: %lld %s", (long long)pid, err.message);
	/* Node 0, and a generation that is never 0. */
	assert_int_equal(pid >> 48, 0);
	assert_true((pid & 0xFFFFFF) != 0);
	return pid;
}

static int64_t bot(Sys *s, const Script *sc)
{
	return bot_flags(s, sc, 0);
}

static void run(Sys *s)
{
	myr_sched_run(s->sched);
}

static void *run_thread(void *user)
{
	myr_sched_run(((Sys *)user)->sched);
	return NULL;
}

/* Runs the scheduler on another thread, so the host can act meanwhile. */
static void run_background(Sys *s)
{
	s->in_background = true;
	assert_int_equal(pthread_create(&s->thread, NULL, run_thread, s), 0);
}

static void join(Sys *s)
{
	assert_true(s->in_background);
	pthread_join(s->thread, NULL);
	s->in_background = false;
}

/* How pid ended; INT32_MIN if it has not. */
static int32_t reason_of(Sys *s, int64_t pid)
{
	int32_t r = INT32_MIN;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nended; i++)
		if (s->ended[i].pid == pid)
			r = s->ended[i].reason;
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* How pid ended, in full (a zero pid if it has not). */
static Ended end_of(Sys *s, int64_t pid)
{
	Ended e = {0};
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nended; i++)
		if (s->ended[i].pid == pid)
			e = s->ended[i];
	pthread_mutex_unlock(&s->mu);
	return e;
}

static size_t ended_count(Sys *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->nended;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {.tv_sec = ms / 1000,
			     .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&t, NULL);
}

/* A state the host waits for must come about within a minute, however
 * loaded the machine; if not, the test fails instead of hanging. */
enum { PATIENCE_MS = 60000 };
#define PATIENCE_NS ((int64_t)PATIENCE_MS * 1000000)
/* The timeout of a receive whose message must come: a bug that loses it
 * then fails the test instead of hanging it. */
#define SOON PATIENCE_NS

static uint64_t waiting_now(Sys *s)
{
	myr_actors_stats st;
	myr_actors_get_stats(s->act, &st);
	return st.waiting;
}

/* Until n actors wait forever in receive. */
static void wait_until_waiting(Sys *s, uint64_t n)
{
	for (int i = 0; i < PATIENCE_MS && waiting_now(s) != n; i++)
		sleep_ms(1);
	assert_int_equal(waiting_now(s), n);
}

/* A bot's REPORT: its registers, the info and the start of the buffer
 * of its last receive. */
typedef struct Report {
	int64_t r[16];
	int64_t from, tag; /* what the last receive wrote at info */
	uint8_t info[16];
	uint8_t buf[256];
	int64_t sender; /* who reported */
} Report;

static Report parse_report(const uint8_t *raw, int64_t sender)
{
	Report rep;
	memcpy(rep.r, raw, 128);
	memcpy(&rep.from, raw + 128, 8);
	memcpy(&rep.tag, raw + 136, 8);
	memcpy(rep.info, raw + 128, 16);
	memcpy(rep.buf, raw + 144, 256);
	rep.sender = sender;
	return rep;
}

/* Takes the report with this tag from the host's mailbox, waiting up to
 * timeout_ns for it. */
static Report take_report(Sys *s, int64_t tag, int64_t timeout_ns)
{
	uint8_t raw[REPORT_BYTES];
	int64_t from = 0, t = 0;
	int n = myr_actors_receive(s->act, tag, raw, sizeof raw, timeout_ns,
				   &from, &t);
	if (n != REPORT_BYTES)
		fail_msg("no report with tag %lld (receive: %d)",
			 (long long)tag, n);
	assert_int_equal(t, tag);
	return parse_report(raw, from);
}

/* After a run: the report with this tag. */
static Report report_of(Sys *s, int64_t tag)
{
	return take_report(s, tag, 0);
}

static void no_report(Sys *s, int64_t tag)
{
	uint8_t raw[REPORT_BYTES];
	assert_int_equal(
		myr_actors_receive(s->act, tag, raw, sizeof raw, 0, NULL, NULL),
		MYR_RECEIVE_TIMEOUT);
}

/* The last receive of the report took an EXIT from pid with reason. */
static void assert_exit_msg(const Report *rep, int64_t pid, int32_t reason)
{
	assert_int_equal(rep->tag, MYR_TAG_EXIT);
	assert_int_equal(rep->from, pid);
	assert_int_equal(le64(rep->buf), pid);
	assert_int_equal(le32(rep->buf + 8), reason);
}

/* ... a DOWN for ref about pid with reason. */
static void assert_down_msg(const Report *rep, int64_t ref, int64_t pid,
			    int32_t reason)
{
	assert_int_equal(rep->tag, MYR_TAG_DOWN);
	assert_int_equal(le64(rep->buf), ref);
	assert_int_equal(le64(rep->buf + 8), pid);
	assert_int_equal(le32(rep->buf + 16), reason);
}

static bool all_ee(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xEE)
			return false;
	return true;
}

static uint64_t queued_bytes(Sys *s)
{
	myr_actors_stats st;
	myr_actors_get_stats(s->act, &st);
	return st.queued_bytes;
}

/* ------------------------------------------------------------------ */
/* Ordering                                                            */

/* Twelve actors and the host's own thread each send 3,000 numbered
 * messages to one receiver, on two workers in slices of a few
 * instructions: the receiver checks that each sender's numbers arrive as
 * 0, 1, 2, ... (a table of the next number expected per sender). */
static void test_order_per_pair_across_workers(void **state)
{
	(void)state;
	enum { SENDERS = 12, K = 3000, TOTAL = (SENDERS + 1) * K };
	Sys *s = sys_new_with(NULL, 40, false);
	Script rs = {0};
	/* r3 messages, r6 out of order; the tag is 1 + the sender's index
	 * and the payload its sequence number. */
	uint32_t top = rcv(&rs, 0, 0, 8, PATIENCE_NS);
	ins(&rs, O_JEQ, 0, R(0), -1, top + 9);
	ins(&rs, O_LOAD, 7, LAST_TAG, 0, 0);
	ins(&rs, O_JEQ, 0, R(7), LAST_VAL, top + 5);
	ins(&rs, O_ADD, 6, R(6), 1, 0);
	ins(&rs, O_ADD, 8, LAST_VAL, 1, 0);
	ins(&rs, O_STORE, 0, LAST_TAG, R(8), 0);
	ins(&rs, O_ADD, 3, R(3), 1, 0);
	ins(&rs, O_JLT, 0, R(3), TOTAL, top);
	report(&rs, 900); /* top + 9 */
	int64_t receiver = bot(s, &rs);
	int64_t senders[SENDERS];
	for (int i = 0; i < SENDERS; i++) {
		Script ss = {0};
		ins(&ss, O_SET, 3, 0, 0, 0);
		uint32_t loop = snd(&ss, 0, receiver, 1 + i, R(3));
		ins(&ss, O_JNE, 0, R(0), 0, loop + 5);
		ins(&ss, O_ADD, 3, R(3), 1, 0);
		ins(&ss, O_JLT, 0, R(3), K, loop);
		end(&ss);
		trap(&ss); /* loop + 5 */
		senders[i] = bot(s, &ss);
	}
	run_background(s);
	for (int64_t seq = 0; seq < K; seq++)
		assert_int_equal(myr_actors_send(s->act, receiver, 1 + SENDERS,
						 &seq, sizeof seq),
				 0);
	Report rep = take_report(s, 900, PATIENCE_NS);
	join(s);
	assert_int_equal(rep.r[3], TOTAL);
	assert_int_equal(rep.r[6], 0);
	for (int i = 0; i < SENDERS; i++)
		assert_int_equal(reason_of(s, senders[i]), MYR_REASON_NORMAL);
	myr_sched_stats st;
	myr_sched_get_stats(s->sched, &st);
	assert_int_equal(st.threads, 2);
	assert_int_equal(queued_bytes(s), 0);
	sys_free(s);
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */

/* The oldest message of the tag asked for; older ones of other tags stay
 * where they are, in their order. */
static void test_selective_receive(void **state)
{
	(void)state;
	Sys *s = sys_new();
	Script sc = {0};
	rcv(&sc, 3, 2, 8, 0);
	report(&sc, 101);
	rcv(&sc, 3, 9, 8, 0); /* no such tag: nothing taken */
	report(&sc, 102);
	rcv(&sc, 3, 0, 8, 0);
	report(&sc, 103);
	rcv(&sc, 3, 3, 8, 0);
	report(&sc, 104);
	rcv(&sc, 3, 0, 8, 0);
	report(&sc, 105);
	rcv(&sc, 3, 0, 8, 0);
	report(&sc, 106);
	rcv(&sc, 3, 0, 8, 0);
	report(&sc, 107);
	int64_t pid = bot(s, &sc);
	const int64_t tags[] = {1, 2, 3, 2, 1}, vals[] = {11, 22, 33, 44, 55};
	for (int i = 0; i < 5; i++)
		assert_int_equal(
			myr_actors_send(s->act, pid, tags[i], &vals[i], 8), 0);
	run(s);
	const int64_t want_tag[] = {2, 0, 1, 3, 2, 1, 0};
	const int64_t want_val[] = {22, 0, 11, 33, 44, 55, 0};
	for (int i = 0; i < 7; i++) {
		Report rep = report_of(s, 101 + i);
		if (!want_tag[i]) {
			assert_int_equal(rep.r[3], MYR_RECEIVE_TIMEOUT);
			continue;
		}
		assert_int_equal(rep.r[3], 8);
		assert_int_equal(rep.tag, want_tag[i]);
		assert_int_equal(rep.from, s->host);
		assert_int_equal(le64(rep.buf), want_val[i]);
	}
	assert_int_equal(reason_of(s, pid), MYR_REASON_NORMAL);
	sys_free(s);
}

/* Timeout 0 never waits; a finite one ends with -1 after at least its
 * time when nothing matches (a message of another tag does not end it
 * and stays), or with the message when one comes in time; -1 waits
 * until the host sends, however long that takes. */
static void test_receive_timeouts(void **state)
{
	(void)state;
	Sys *s = sys_new();

	/* 0, and finite with only a non-matching message there. */
	Script a = {0};
	rcv(&a, 3, 9, 8, 0);
	rcv(&a, 4, 9, 8, 50 * 1000000);
	rcv(&a, 5, 5, 8, 0);
	ins(&a, O_SET, 7, LAST_VAL, 0, 0);
	rcv(&a, 6, 0, 8, 0);
	report(&a, 1);
	int64_t pa = bot(s, &a);
	int64_t v = 55;
	assert_int_equal(myr_actors_send(s->act, pa, 5, &v, 8), 0);

	/* Finite, and the message comes from another actor in time (the
	 * sender first spins, so the receiver is likely parked by then). */
	Script b = {0};
	rcv(&b, 3, 7, 8, PATIENCE_NS / 2);
	report(&b, 2);
	int64_t pb = bot(s, &b);
	/* A receive's deadline is its own: after one of 50 ms (woken in
	 * time or not), the next waits its 30 s for the tag 8 that comes
	 * well after the first's deadline. */
	Script b2 = {0};
	rcv(&b2, 4, 7, 8, 50 * 1000000);
	rcv(&b2, 5, 8, 8, PATIENCE_NS / 2);
	report(&b2, 5);
	int64_t pb2 = bot(s, &b2);
	Script c = {0};
	ins(&c, O_SPIN, 0, 300000, 0, 0);
	snd(&c, 3, pb, 7, 77);
	snd(&c, 0, pb2, 7, 78);
	rcv(&c, 0, 9, 0, 150 * 1000000);
	snd(&c, 0, pb2, 8, 88);
	int64_t pc = bot(s, &c);

	uint64_t t0 = mono_ns();
	run(s);
	uint64_t took = mono_ns() - t0;
	Report ra = report_of(s, 1);
	assert_int_equal(ra.r[3], MYR_RECEIVE_TIMEOUT);
	assert_int_equal(ra.r[4], MYR_RECEIVE_TIMEOUT);
	assert_int_equal(ra.r[5], 8);
	assert_int_equal(ra.r[7], 55);
	assert_int_equal(ra.r[6], MYR_RECEIVE_TIMEOUT);
	assert_true(took >= 50 * 1000000);
	Report rb = report_of(s, 2);
	assert_int_equal(rb.r[3], 8);
	assert_int_equal(rb.from, pc);
	assert_int_equal(le64(rb.buf), 77);
	Report rb5 = report_of(s, 5);
	assert_true(rb5.r[4] == 8 || rb5.r[4] == MYR_RECEIVE_TIMEOUT);
	assert_int_equal(rb5.r[5], 8);
	assert_int_equal(le64(rb5.buf), 88);
	/* Woken by the messages, not by the timers (half the patience). */
	assert_true(took < (uint64_t)PATIENCE_NS / 2);

	/* Forever: the actor parks, and is still there when the host sends
	 * a while later. */
	Script d = {0};
	report(&d, 3);
	rcv(&d, 3, 0, 8, -1);
	report(&d, 4);
	int64_t pd = bot(s, &d);
	run_background(s);
	take_report(s, 3, PATIENCE_NS);
	wait_until_waiting(s, 1);
	sleep_ms(20);
	assert_int_equal(reason_of(s, pd), INT32_MIN);
	v = 44;
	assert_int_equal(myr_actors_send(s->act, pd, 4, &v, 8), 0);
	Report rd = take_report(s, 4, PATIENCE_NS);
	join(s);
	assert_int_equal(rd.r[3], 8);
	assert_int_equal(le64(rd.buf), 44);
	assert_int_equal(waiting_now(s), 0);
	sys_free(s);
}

/* A message larger than the buffer: receive returns its length, copies
 * nothing (buffer and info untouched) and leaves it queued, at its place;
 * asked again with room, it is taken. */
static void test_buffer_too_small(void **state)
{
	(void)state;
	Sys *s = sys_new();
	Script sc = {0};
	rcv(&sc, 3, 0, 10, 0);
	rcv(&sc, 4, 0, 0, 0);
	rcv(&sc, 5, 4, 99, 0);
	report(&sc, 1);
	rcv(&sc, 6, 0, 100, 0);
	report(&sc, 2);
	rcv(&sc, 7, 0, 100, 0);
	rcv(&sc, 8, 0, 100, 0);
	report(&sc, 3);
	int64_t pid = bot(s, &sc);
	uint8_t big[100];
	for (int i = 0; i < 100; i++)
		big[i] = (uint8_t)(i + 1);
	int64_t small = 5;
	assert_int_equal(myr_actors_send(s->act, pid, 4, big, sizeof big), 0);
	assert_int_equal(myr_actors_send(s->act, pid, 4, &small, 8), 0);
	run(s);
	Report r1 = report_of(s, 1);
	assert_int_equal(r1.r[3], 100);
	assert_int_equal(r1.r[4], 100);
	assert_int_equal(r1.r[5], 100);
	assert_true(all_ee(r1.buf, sizeof r1.buf));
	assert_true(all_ee(r1.info, sizeof r1.info));
	Report r2 = report_of(s, 2);
	assert_int_equal(r2.r[6], 100);
	assert_memory_equal(r2.buf, big, sizeof big);
	assert_true(all_ee(r2.buf + 100, sizeof r2.buf - 100));
	assert_int_equal(r2.from, s->host);
	assert_int_equal(r2.tag, 4);
	Report r3 = report_of(s, 3);
	assert_int_equal(r3.r[7], 8);
	assert_int_equal(r3.r[8], MYR_RECEIVE_TIMEOUT);
	assert_int_equal(queued_bytes(s), 0);
	sys_free(s);
}

/* ------------------------------------------------------------------ */
/* Links, trap_exit, kill, noproc                                      */

/* A waits for nothing after linking to B and telling B to end; B ends as
 * `ending` says. Returns A's pid (B's in *pb). */
static int64_t linked_pair(Sys *s, void (*ending)(Script *), int64_t *pb)
{
	Script b = {0};
	rcv(&b, 3, 0, 8, SOON);
	ending(&b);
	*pb = bot(s, &b);
	Script a = {0};
	ins(&a, O_LINK, 3, *pb, 0, 0);
	snd(&a, 4, *pb, 1, 0);
	rcv(&a, 5, 0, 8, SOON);
	report(&a, 66); /* never: the link ends it first */
	return bot(s, &a);
}

static void end_trap(Script *s)
{
	trap(s);
}

static void end_42(Script *s)
{
	ins(s, O_EXIT, 0, ME, 42, 0);
	report(s, 67); /* never: exit(self) ends now */
}

static void end_proc_exit_7(Script *s)
{
	ins(s, O_PEXIT, 0, 7, 0, 0);
}

/* An abnormal end ends the linked partner with the same reason, in both
 * directions and along a chain; a normal end does not; unlink undoes a
 * link on both sides. */
static void test_links(void **state)
{
	(void)state;
	Sys *s = sys_new();
	int64_t b1, b2, b3;
	int64_t a1 = linked_pair(s, end_trap, &b1);
	int64_t a2 = linked_pair(s, end_42, &b2);
	int64_t a3 = linked_pair(s, end_proc_exit_7, &b3);

	/* The other direction: the one that linked ends, its partner
	 * waiting in receive is ended. */
	Script w = {0};
	rcv(&w, 3, 0, 8, SOON);
	report(&w, 68);
	int64_t b4 = bot(s, &w);
	Script a = {0};
	ins(&a, O_LINK, 3, b4, 0, 0);
	trap(&a);
	int64_t a4 = bot(s, &a);

	/* Normal: B ends, A (linked, and monitoring B to know when) goes
	 * on. */
	Script bn = {0};
	rcv(&bn, 3, 0, 8, SOON);
	int64_t b5 = bot(s, &bn);
	Script an = {0};
	ins(&an, O_LINK, 3, b5, 0, 0);
	ins(&an, O_MON, 4, b5, 0, 0);
	snd(&an, 0, b5, 1, 0);
	rcv(&an, 5, MYR_TAG_DOWN, 64, SOON);
	report(&an, 5);
	int64_t a5 = bot(s, &an);

	/* Unlinked before B traps: A lives on. */
	Script bu = {0};
	rcv(&bu, 3, 0, 8, SOON);
	trap(&bu);
	int64_t b6 = bot(s, &bu);
	Script au = {0};
	ins(&au, O_LINK, 3, b6, 0, 0);
	ins(&au, O_UNLINK, 4, b6, 0, 0);
	ins(&au, O_MON, 5, b6, 0, 0);
	snd(&au, 0, b6, 1, 0);
	rcv(&au, 6, MYR_TAG_DOWN, 64, SOON);
	report(&au, 6);
	int64_t a6 = bot(s, &au);

	/* Unlinked, then the one that unlinked traps: its former partner
	 * lives on (unlink removes both sides). */
	Script bv = {0};
	rcv(&bv, 3, 1, 8, SOON);
	ins(&bv, O_MON, 4, LAST_VAL, 0, 0);
	snd(&bv, 0, LAST_VAL, 2, 0);
	rcv(&bv, 5, MYR_TAG_DOWN, 64, SOON);
	report(&bv, 8);
	int64_t b8 = bot(s, &bv);
	Script av = {0};
	ins(&av, O_LINK, 3, b8, 0, 0);
	ins(&av, O_UNLINK, 4, b8, 0, 0);
	snd(&av, 0, b8, 1, ME);
	rcv(&av, 5, 2, 8, SOON);
	trap(&av);
	int64_t a8 = bot(s, &av);

	/* A chain made by spawn's link flag: root - child - grandchild; the
	 * grandchild traps, and the exit travels up to the root. */
	Script ch = {0};
	spawn_child(&ch, 3, MYR_SPAWN_LINK, 4, 5);
	rcv(&ch, 4, 0, 8, SOON);
	report(&ch, 69);
	end(&ch);
	/* 4: the child, whose 3 is the grandchild */
	spawn_child(&ch, 3, MYR_SPAWN_LINK, 3, 2);
	rcv(&ch, 4, 0, 8, SOON);
	end(&ch);
	ins(&ch, O_SPIN, 0, 10000, 0, 0);
	trap(&ch);
	int64_t root = bot(s, &ch);

	/* Links to itself or to what is not a pid are refused quietly. */
	Script self = {0};
	ins(&self, O_LINK, 3, ME, 0, 0);
	ins(&self, O_LINK, 4, 0, 0, 0);
	ins(&self, O_LINK, 5, -7, 0, 0);
	report(&self, 7);
	int64_t a7 = bot(s, &self);

	run(s);
	assert_int_equal(reason_of(s, b1), MYR_REASON_TRAP);
	assert_int_equal(reason_of(s, a1), MYR_REASON_TRAP);
	assert_int_equal(reason_of(s, b2), 42);
	assert_int_equal(reason_of(s, a2), 42);
	assert_int_equal(reason_of(s, b3), MYR_REASON_EXIT + 7);
	assert_int_equal(reason_of(s, a3), MYR_REASON_EXIT + 7);
	assert_int_equal(reason_of(s, a4), MYR_REASON_TRAP);
	assert_int_equal(reason_of(s, b4), MYR_REASON_TRAP);
	no_report(s, 66);
	no_report(s, 67);
	no_report(s, 68);

	Report r5 = report_of(s, 5);
	assert_int_equal(r5.r[3], 0);
	assert_int_equal(r5.r[5], MYR_DOWN_SIZE);
	assert_down_msg(&r5, r5.r[4], b5, MYR_REASON_NORMAL);
	assert_int_equal(reason_of(s, b5), MYR_REASON_NORMAL);
	assert_int_equal(reason_of(s, a5), MYR_REASON_NORMAL);

	Report r6 = report_of(s, 6);
	assert_int_equal(r6.r[4], 0);
	assert_down_msg(&r6, r6.r[5], b6, MYR_REASON_TRAP);
	assert_int_equal(reason_of(s, a6), MYR_REASON_NORMAL);

	assert_int_equal(reason_of(s, root), MYR_REASON_TRAP);
	no_report(s, 69);

	Report r8 = report_of(s, 8);
	assert_down_msg(&r8, r8.r[4], a8, MYR_REASON_TRAP);
	assert_int_equal(reason_of(s, b8), MYR_REASON_NORMAL);

	Report r7 = report_of(s, 7);
	assert_int_equal(r7.r[3], 0);
	assert_int_equal(r7.r[4], -1);
	assert_int_equal(r7.r[5], -1);
	assert_int_equal(reason_of(s, a7), MYR_REASON_NORMAL);

	/* Every actor ended: 16 bots, the child and the grandchild. */
	assert_int_equal(ended_count(s), 18);
	size_t trapped = 0;
	for (size_t i = 0; i < s->nended; i++)
		trapped += s->ended[i].reason == MYR_REASON_TRAP;
	assert_int_equal(trapped, 3 + 2 + 1 + 3);
	sys_free(s);
}

/* An actor that traps exits gets EXIT messages (pid, reason) instead of
 * ending: from a linked actor that traps or ends normally, and from
 * exit(), whatever the reason but kill; trap_exit returns the previous
 * setting. A non-trapping actor ignores exit(pid, normal) from another. */
static void test_trap_exit(void **state)
{
	(void)state;
	Sys *s = sys_new();
	Script b = {0};
	rcv(&b, 3, 0, 8, SOON);
	trap(&b);
	int64_t pb = bot(s, &b);
	Script c = {0};
	rcv(&c, 3, 0, 8, SOON);
	ins(&c, O_EXIT, 4, LAST_VAL, 42, 0);
	ins(&c, O_EXIT, 5, LAST_VAL, 0, 0);
	report_to(&c, s->host, 2);
	int64_t pc = bot(s, &c);
	Script d = {0};
	rcv(&d, 3, 0, 8, SOON);
	end(&d);
	int64_t pd = bot(s, &d);

	Script a = {0};
	ins(&a, O_TRAPX, 3, 1, 0, 0);
	ins(&a, O_TRAPX, 4, 1, 0, 0);
	ins(&a, O_LINK, 5, pb, 0, 0);
	snd(&a, 0, pb, 1, 0);
	rcv(&a, 6, MYR_TAG_EXIT, 64, SOON);
	report(&a, 10);
	snd(&a, 0, pc, 1, ME);
	rcv(&a, 7, MYR_TAG_EXIT, 64, SOON);
	report(&a, 11);
	rcv(&a, 8, MYR_TAG_EXIT, 64, SOON);
	report(&a, 12);
	ins(&a, O_LINK, 0, pd, 0, 0);
	snd(&a, 0, pd, 1, 0);
	rcv(&a, 9, MYR_TAG_EXIT, 64, SOON);
	report(&a, 13);
	ins(&a, O_TRAPX, 10, 0, 0, 0);
	ins(&a, O_TRAPX, 11, 0, 0, 0);
	report(&a, 14);
	int64_t pa = bot(s, &a);

	/* Not trapping: exit(F, normal) from E is ignored; F then gets E's
	 * message (sent after the signal) and goes on. */
	Script f = {0};
	rcv(&f, 3, 5, 8, SOON);
	report(&f, 20);
	int64_t pf = bot(s, &f);
	Script e = {0};
	ins(&e, O_EXIT, 3, pf, 0, 0);
	snd(&e, 4, pf, 5, 1);
	int64_t pe = bot(s, &e);

	run(s);
	Report r10 = report_of(s, 10);
	assert_int_equal(r10.r[3], 0);
	assert_int_equal(r10.r[4], 1);
	assert_int_equal(r10.r[5], 0);
	assert_int_equal(r10.r[6], MYR_EXIT_SIZE);
	assert_exit_msg(&r10, pb, MYR_REASON_TRAP);
	Report r11 = report_of(s, 11);
	assert_int_equal(r11.r[7], MYR_EXIT_SIZE);
	assert_exit_msg(&r11, pc, 42);
	Report r12 = report_of(s, 12);
	assert_exit_msg(&r12, pc, MYR_REASON_NORMAL);
	Report r13 = report_of(s, 13);
	assert_exit_msg(&r13, pd, MYR_REASON_NORMAL);
	Report r14 = report_of(s, 14);
	assert_int_equal(r14.r[10], 1);
	assert_int_equal(r14.r[11], 0);
	assert_int_equal(reason_of(s, pa), MYR_REASON_NORMAL);
	assert_int_equal(reason_of(s, pb), MYR_REASON_TRAP);
	Report r2 = report_of(s, 2);
	assert_int_equal(r2.r[4], 0);
	assert_int_equal(r2.r[5], 0);

	Report r20 = report_of(s, 20);
	assert_int_equal(r20.r[3], 8);
	assert_int_equal(r20.from, pe);
	assert_int_equal(reason_of(s, pf), MYR_REASON_NORMAL);
	sys_free(s);
}

/* kill ends an actor that traps exits, one waiting in receive and one
 * looping without ever calling the host; another reason ends one in a
 * timed receive (whose timer must then find nothing) and a looping one
 * that does not trap; exit(self) ends at once; a killed actor's trapping
 * partner hears of it as an EXIT with reason kill (a link signal, which
 * can be trapped). */
static void test_kill(void **state)
{
	(void)state;
	Sys *s = sys_new();
	/* Trapping, waiting forever. */
	Script a = {0};
	ins(&a, O_TRAPX, 3, 1, 0, 0);
	report(&a, 1);
	rcv(&a, 4, 0, 8, -1);
	report(&a, 2); /* never */
	int64_t pa = bot(s, &a);
	/* Spinning forever, trapping too, linked to a trapping watcher. */
	Script b = {0};
	ins(&b, O_TRAPX, 3, 1, 0, 0);
	ins(&b, O_SPIN, 0, -1, 0, 0);
	int64_t pb = bot(s, &b);
	Script w = {0};
	ins(&w, O_TRAPX, 3, 1, 0, 0);
	ins(&w, O_LINK, 4, pb, 0, 0);
	report(&w, 3);
	rcv(&w, 5, MYR_TAG_EXIT, 64, SOON);
	report(&w, 4);
	int64_t pw = bot(s, &w);
	/* Spinning, not trapping, ended by an exit signal of its own
	 * reason from a guest. */
	Script c = {0};
	ins(&c, O_SPIN, 0, -1, 0, 0);
	int64_t pc = bot(s, &c);
	/* Killed while parked in a timed receive, whose timer would fire
	 * later (the run goes on past it: F waits longer). */
	Script e = {0};
	report(&e, 7);
	rcv(&e, 3, 5, 8, 100 * 1000000);
	report(&e, 8); /* never */
	int64_t pe = bot(s, &e);
	Script f = {0};
	rcv(&f, 3, 5, 8, 300 * 1000000);
	int64_t pf = bot(s, &f);
	/* exit(self). */
	Script d = {0};
	ins(&d, O_EXIT, 0, ME, 5, 0);
	report(&d, 5); /* never */
	int64_t pd = bot(s, &d);

	run_background(s);
	take_report(s, 1, PATIENCE_NS);
	take_report(s, 3, PATIENCE_NS);
	take_report(s, 7, PATIENCE_NS);
	assert_int_equal(myr_actors_exit(s->act, pe, 42), 0);
	assert_int_equal(myr_actors_exit(s->act, pa, MYR_REASON_KILL), 0);
	assert_int_equal(myr_actors_exit(s->act, pb, MYR_REASON_KILL), 0);
	Script k = {0};
	ins(&k, O_EXIT, 3, pc, 77, 0);
	report(&k, 6);
	bot(s, &k);
	Report r4 = take_report(s, 4, PATIENCE_NS);
	Report r6 = take_report(s, 6, PATIENCE_NS);
	join(s);
	assert_int_equal(reason_of(s, pa), MYR_REASON_KILL);
	assert_int_equal(reason_of(s, pb), MYR_REASON_KILL);
	assert_int_equal(reason_of(s, pc), 77);
	assert_int_equal(reason_of(s, pd), 5);
	assert_int_equal(reason_of(s, pe), 42);
	assert_int_equal(reason_of(s, pf), MYR_REASON_NORMAL);
	assert_int_equal(reason_of(s, pw), MYR_REASON_NORMAL);
	assert_int_equal(r4.r[4], 0);
	assert_exit_msg(&r4, pb, MYR_REASON_KILL);
	assert_int_equal(r6.r[3], 0);
	no_report(s, 2);
	no_report(s, 5);
	no_report(s, 8);
	/* The host cannot be signalled, nor can what is not a pid. */
	assert_int_equal(myr_actors_exit(s->act, s->host, MYR_REASON_KILL), -1);
	assert_int_equal(myr_actors_exit(s->act, 0, MYR_REASON_KILL), -1);
	sys_free(s);
}

/* Linking to an actor that has ended delivers an exit signal with reason
 * noproc at once (an EXIT message when trapping, else the end);
 * monitoring one delivers a DOWN with noproc at once. */
static void test_noproc(void **state)
{
	(void)state;
	Sys *s = sys_new();
	Script b = {0};
	end(&b);
	int64_t pb = bot(s, &b);
	Script a = {0};
	ins(&a, O_MON, 3, pb, 0, 0);
	rcv(&a, 4, MYR_TAG_DOWN, 64, SOON); /* now pb has surely ended */
	ins(&a, O_TRAPX, 0, 1, 0, 0);
	ins(&a, O_LINK, 5, pb, 0, 0);
	rcv(&a, 6, MYR_TAG_EXIT, 64, 0);
	report(&a, 1);
	ins(&a, O_MON, 7, pb, 0, 0);
	rcv(&a, 8, MYR_TAG_DOWN, 64, 0);
	report(&a, 2);
	ins(&a, O_TRAPX, 0, 0, 0, 0);
	ins(&a, O_LINK, 9, pb, 0, 0);
	report(&a, 3); /* never: the noproc signal ends it */
	int64_t pa = bot(s, &a);
	run(s);
	Report r1 = report_of(s, 1);
	assert_int_equal(r1.r[5], -1);
	assert_int_equal(r1.r[6], MYR_EXIT_SIZE);
	assert_exit_msg(&r1, pb, MYR_REASON_NOPROC);
	Report r2 = report_of(s, 2);
	assert_true(r2.r[7] > 0);
	assert_true(r2.r[7] != r2.r[3]);
	assert_int_equal(r2.r[8], MYR_DOWN_SIZE);
	assert_down_msg(&r2, r2.r[7], pb, MYR_REASON_NOPROC);
	no_report(s, 3);
	assert_int_equal(reason_of(s, pa), MYR_REASON_NOPROC);
	sys_free(s);
}

/* ------------------------------------------------------------------ */
/* Monitors                                                            */

/* A DOWN (ref, pid, reason) when the watched actor ends, one-way (the
 * watcher lives on); spawn's monitor flag, whose ref is the child's pid;
 * demonitor before the end (no DOWN ever comes) and after the DOWN was
 * queued but not received (it is taken out of the mailbox). */
static void test_monitors(void **state)
{
	(void)state;
	Sys *s = sys_new();
	Script b = {0};
	rcv(&b, 3, 0, 8, SOON);
	trap(&b);
	int64_t pb = bot(s, &b);
	Script a = {0};
	ins(&a, O_MON, 3, pb, 0, 0);
	snd(&a, 0, pb, 1, 0);
	rcv(&a, 4, MYR_TAG_DOWN, 64, SOON);
	report(&a, 1);
	/* spawn with the monitor flag: a child that traps at once */
	spawn_child(&a, 5, MYR_SPAWN_MONITOR, a.n + 4, 1);
	rcv(&a, 6, MYR_TAG_DOWN, 64, SOON);
	report(&a, 2);
	end(&a);
	trap(&a); /* the child's script */
	int64_t pa = bot(s, &a);

	/* Demonitor before the end. */
	Script c = {0};
	rcv(&c, 3, 0, 8, SOON);
	trap(&c);
	int64_t pc = bot(s, &c);
	Script d = {0};
	ins(&d, O_MON, 3, pc, 0, 0);
	ins(&d, O_DEMON, 4, R(3), 0, 0);
	ins(&d, O_MON, 5, pc, 0, 0);
	snd(&d, 0, pc, 1, 0);
	rcv(&d, 6, MYR_TAG_DOWN, 64, SOON);
	report(&d, 3);
	rcv(&d, 7, MYR_TAG_DOWN, 64, 0);
	report(&d, 5);
	bot(s, &d);

	/* Demonitor with the DOWN already queued: a receive with no room
	 * sees it there without taking it. */
	Script e = {0};
	rcv(&e, 3, 0, 8, SOON);
	trap(&e);
	int64_t pe = bot(s, &e);
	Script f = {0};
	ins(&f, O_MON, 3, pe, 0, 0);
	snd(&f, 0, pe, 1, 0);
	uint32_t peek = rcv(&f, 4, MYR_TAG_DOWN, 0, PATIENCE_NS);
	ins(&f, O_JNE, 0, R(4), MYR_DOWN_SIZE, peek);
	ins(&f, O_DEMON, 5, R(3), 0, 0);
	rcv(&f, 6, MYR_TAG_DOWN, 64, 0);
	ins(&f, O_DEMON, 7, R(3), 0, 0);
	ins(&f, O_DEMON, 8, 12345, 0, 0);
	/* Monitoring oneself is allowed, and removable. */
	ins(&f, O_MON, 9, ME, 0, 0);
	ins(&f, O_DEMON, 10, R(9), 0, 0);
	report(&f, 4);
	bot(s, &f);

	run(s);
	Report r1 = report_of(s, 1);
	int64_t ref = r1.r[3];
	assert_true(ref > 0);
	assert_true(ref != pb);
	assert_true(ref >> 62 == 1); /* never a pid */
	assert_int_equal(r1.r[4], MYR_DOWN_SIZE);
	assert_down_msg(&r1, ref, pb, MYR_REASON_TRAP);
	assert_int_equal(r1.from, pb);
	Report r2 = report_of(s, 2);
	assert_true(r2.r[5] > 0);
	assert_down_msg(&r2, r2.r[5], r2.r[5], MYR_REASON_TRAP);
	assert_int_equal(reason_of(s, pa), MYR_REASON_NORMAL);
	assert_int_equal(reason_of(s, r2.r[5]), MYR_REASON_TRAP);

	Report r3 = report_of(s, 3);
	assert_int_equal(r3.r[4], 0);
	assert_int_equal(r3.r[6], MYR_DOWN_SIZE);
	assert_down_msg(&r3, r3.r[5], pc, MYR_REASON_TRAP);
	assert_int_equal(report_of(s, 5).r[7], MYR_RECEIVE_TIMEOUT);

	Report r4 = report_of(s, 4);
	assert_int_equal(r4.r[4], MYR_DOWN_SIZE);
	assert_int_equal(r4.r[5], 0);
	assert_int_equal(r4.r[6], MYR_RECEIVE_TIMEOUT);
	assert_int_equal(r4.r[7], -1);
	assert_int_equal(r4.r[8], -1);
	assert_true(r4.r[9] > 0);
	assert_int_equal(r4.r[10], 0);
	assert_int_equal(queued_bytes(s), 0);
	sys_free(s);
}

/* A pointer or length outside the caller's memory traps the caller
 * ("out of bounds memory access"), which ends as a trap; proc_exit(0)
 * is a normal end and proc_exit(n) reason 256 + n. */
static void test_bad_pointers_and_exit_codes(void **state)
{
	(void)state;
	Sys *s = sys_new();
	Script a = {0};
	ins(&a, O_SENDN, 3, ME, 1, 0x8001);
	report(&a, 1);
	int64_t pa = bot(s, &a);
	Script b = {0};
	rcv(&b, 3, 0, 0x10000 - 0x190 + 1, 0);
	report(&b, 2);
	int64_t pb = bot(s, &b);
	Script c = {0};
	ins(&c, O_PEXIT, 0, 0, 0, 0);
	report(&c, 3);
	int64_t pc = bot(s, &c);
	Script d = {0};
	ins(&d, O_PEXIT, 0, 255, 0, 0);
	int64_t pd = bot(s, &d);
	/* In bounds to the last byte: fine. */
	Script e = {0};
	ins(&e, O_SENDN, 3, ME, 1, 0x8000);
	snd(&e, 0, ME, 2, 9);
	rcv(&e, 4, 2, 0x10000 - 0x190, 0);
	report(&e, 4);
	int64_t pe = bot(s, &e);
	run(s);
	for (int i = 0; i < 2; i++) {
		Ended x = end_of(s, i ? pb : pa);
		assert_int_equal(x.reason, MYR_REASON_TRAP);
		assert_int_equal(x.trap, MYR_TRAP_MEMORY_OOB);
		assert_non_null(
			strstr(x.message, "out of bounds memory access"));
	}
	no_report(s, 1);
	no_report(s, 2);
	no_report(s, 3);
	assert_int_equal(reason_of(s, pc), MYR_REASON_NORMAL);
	assert_int_equal(reason_of(s, pd), MYR_REASON_EXIT + 255);
	Report r = report_of(s, 4);
	assert_int_equal(r.r[3], 0);
	assert_int_equal(r.r[4], 8);
	assert_int_equal(reason_of(s, pe), MYR_REASON_NORMAL);
	sys_free(s);
}

/* ------------------------------------------------------------------ */
/* Stale pids                                                          */

/* An actor ends and a new one takes its slot: the old pid names nobody.
 * A send to it is dropped (0, as to what was never a pid), exit signals
 * to it reach no one, link gives noproc, monitor a DOWN with noproc,
 * and its name is gone. */
static void test_stale_pids(void **state)
{
	(void)state;
	Sys *s = sys_new();
	Script a = {0};
	ins(&a, O_REG, 3, nm("stale"), 5, 0);
	report(&a, 1);
	int64_t old = bot(s, &a);
	run(s);
	assert_int_equal(report_of(s, 1).r[3], 0);
	assert_int_equal(reason_of(s, old), MYR_REASON_NORMAL);
	assert_int_equal(myr_actors_whereis(s->act, "stale", 5), 0);

	Script b = {0};
	rcv(&b, 3, 0, 64, 0);
	ins(&b, O_TRAPX, 0, 1, 0, 0);
	ins(&b, O_LINK, 4, old, 0, 0);
	rcv(&b, 5, MYR_TAG_EXIT, 64, 0);
	report(&b, 2);
	ins(&b, O_MON, 6, old, 0, 0);
	rcv(&b, 7, MYR_TAG_DOWN, 64, 0);
	report(&b, 3);
	ins(&b, O_EXIT, 8, old, MYR_REASON_KILL, 0);
	snd(&b, 9, old, 1, 0);
	ins(&b, O_WHERE, 10, nm("stale"), 5, 0);
	rcv(&b, 11, 0, 64, 0);
	report(&b, 4);
	int64_t young = bot(s, &b);
	/* The same slot, a new generation. */
	assert_true(young != old);
	assert_int_equal(young >> 24, old >> 24);
	assert_false(myr_actors_name(s->act, old, (char[8]){0}, 8));
	/* What was never a pid: dropped as well. */
	assert_int_equal(myr_actors_send(s->act, 0, 1, NULL, 0), 0);
	assert_int_equal(myr_actors_send(s->act, -5, 1, NULL, 0), 0);
	assert_int_equal(
		myr_actors_send(s->act, (int64_t)1 << 40 | 1, 1, NULL, 0), 0);
	int64_t v = 1;
	assert_int_equal(myr_actors_send(s->act, old, 1, &v, 8), 0);
	assert_int_equal(myr_actors_exit(s->act, old, MYR_REASON_KILL), 0);
	int64_t ref = myr_actors_monitor(s->act, old);
	assert_true(ref > 0);
	run(s);
	Report r2 = report_of(s, 2);
	assert_int_equal(r2.r[3], MYR_RECEIVE_TIMEOUT);
	assert_int_equal(r2.r[4], -1);
	assert_exit_msg(&r2, old, MYR_REASON_NOPROC);
	Report r3 = report_of(s, 3);
	assert_down_msg(&r3, r3.r[6], old, MYR_REASON_NOPROC);
	Report r4 = report_of(s, 4);
	assert_int_equal(r4.r[8], 0);
	assert_int_equal(r4.r[9], 0);
	assert_int_equal(r4.r[10], 0);
	assert_int_equal(r4.r[11], MYR_RECEIVE_TIMEOUT);
	assert_int_equal(reason_of(s, young), MYR_REASON_NORMAL);
	/* The host's monitor of the old pid: DOWN noproc at once. */
	uint8_t down[MYR_DOWN_SIZE];
	int64_t from, tag;
	assert_int_equal(myr_actors_receive(s->act, MYR_TAG_DOWN, down,
					    sizeof down, 0, &from, &tag),
			 MYR_DOWN_SIZE);
	assert_int_equal(le64(down), ref);
	assert_int_equal(le64(down + 8), old);
	assert_int_equal(le32(down + 16), MYR_REASON_NOPROC);
	assert_int_equal(from, old);
	assert_int_equal(queued_bytes(s), 0);
	sys_free(s);
}

/* ------------------------------------------------------------------ */
/* Limits                                                              */

/* With a message limit of 1,024 bytes and mailboxes of 4,000: a message
 * of 1,025 bytes is refused (-1), sends to a full mailbox are refused (-2),
 * and in both cases nothing is queued: the receiver gets exactly the
 * messages whose send returned 0. */
static void test_full_mailbox_and_oversized_message(void **state)
{
	(void)state;
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.max_message_bytes = 1024;
	cfg.max_mailbox_bytes = 4000;
	Sys *s = sys_new_with(&cfg, 0, false);

	/* Guests: A spawns C, which monitors A and, once A has ended,
	 * counts what A managed to queue. */
	Script a = {0};
	uint32_t child = 11;
	spawn_child(&a, 7, 0, child, 9);
	ins(&a, O_SENDN, 3, R(7), 3, 1025);
	ins(&a, O_SENDN, 4, R(7), 3, 1024);
	ins(&a, O_SET, 5, 0, 0, 0);
	ins(&a, O_SENDN, 6, R(7), 3, 100); /* 4 */
	ins(&a, O_JNE, 0, R(6), 0, 8);
	ins(&a, O_ADD, 5, R(5), 1, 0);
	jump(&a, 4);
	ins(&a, O_SENDN, 8, R(7), 3, 100); /* 8 */
	report(&a, 1);
	end(&a);
	assert_int_equal(a.n, child);
	ins(&a, O_MON, 3, PARENT, 0, 0);
	rcv(&a, 4, MYR_TAG_DOWN, 64, SOON);
	ins(&a, O_SET, 5, 0, 0, 0);
	rcv(&a, 6, 3, 2000, 0); /* 3 */
	ins(&a, O_JEQ, 0, R(6), -1, 7);
	ins(&a, O_ADD, 5, R(5), 1, 0);
	jump(&a, 3);
	report_to(&a, s->host, 2); /* 7 */
	end(&a);
	assert_int_equal(a.n, child + 9);
	bot(s, &a);

	/* The host: fills B's mailbox before B runs. */
	Script b = {0};
	ins(&b, O_SET, 5, 0, 0, 0);
	rcv(&b, 6, 3, 600, 0); /* 1 */
	ins(&b, O_JEQ, 0, R(6), -1, 5);
	ins(&b, O_ADD, 5, R(5), 1, 0);
	jump(&b, 1);
	report(&b, 3); /* 5 */
	int64_t pb = bot(s, &b);
	uint8_t msg[1025] = {0};
	uint64_t before = queued_bytes(s);
	assert_int_equal(myr_actors_send(s->act, pb, 3, msg, 1025),
			 MYR_SEND_TOO_BIG);
	assert_int_equal(queued_bytes(s), before);
	int sent = 0;
	while (myr_actors_send(s->act, pb, 3, msg, 100) == 0)
		sent++;
	/* The script (6 instructions) and the messages fill 4,000 bytes,
	 * each counting 32 more. */
	assert_int_equal(sent, (4000 - (6 * INS_BYTES + 32)) / (100 + 32));
	/* At the limit exactly still fits; one byte more does not. */
	uint64_t room = 4000 - (6 * INS_BYTES + 32) - (uint64_t)sent * 132 - 32;
	assert_true(room < 100);
	assert_int_equal(myr_actors_send(s->act, pb, 3, msg, room + 1),
			 MYR_SEND_FULL);
	assert_int_equal(myr_actors_send(s->act, pb, 3, msg, room), 0);
	sent++;
	uint64_t full = queued_bytes(s);
	assert_int_equal(myr_actors_send(s->act, pb, 3, msg, 0), MYR_SEND_FULL);
	assert_int_equal(queued_bytes(s), full);

	run(s);
	Report r1 = report_of(s, 1);
	assert_int_equal(r1.r[3], MYR_SEND_TOO_BIG);
	assert_int_equal(r1.r[4], 0);
	assert_true(r1.r[5] >= 1);
	assert_true(r1.r[5] <= 4000 / 132);
	assert_int_equal(r1.r[6], MYR_SEND_FULL);
	assert_int_equal(r1.r[8], MYR_SEND_FULL);
	Report r2 = report_of(s, 2);
	assert_int_equal(r2.r[5], r1.r[5] + 1);
	Report r3 = report_of(s, 3);
	assert_int_equal(r3.r[5], sent);
	assert_int_equal(queued_bytes(s), 0);
	sys_free(s);
}

/* Negative tags are the system's: neither a guest nor the host can send
 * one, so an EXIT or a DOWN always comes from the runtime. Tag 0 (the
 * spawn message's) may be sent. */
static void test_system_tags_not_forged(void **state)
{
	(void)state;
	Sys *s = sys_new();
	Script a = {0};
	snd(&a, 3, s->host, MYR_TAG_EXIT, 1);
	snd(&a, 4, s->host, MYR_TAG_DOWN, 2);
	snd(&a, 5, ME, INT64_MIN, 3);
	snd(&a, 6, s->host, 0, 4);
	report(&a, 1);
	int64_t pa = bot(s, &a);
	assert_int_equal(myr_actors_send(s->act, pa, MYR_TAG_DOWN, NULL, 0),
			 MYR_SEND_BAD_TAG);
	assert_int_equal(myr_actors_send(s->act, s->host, -7, NULL, 0),
			 MYR_SEND_BAD_TAG);
	run(s);
	Report rep = report_of(s, 1);
	assert_int_equal(rep.r[3], MYR_SEND_BAD_TAG);
	assert_int_equal(rep.r[4], MYR_SEND_BAD_TAG);
	assert_int_equal(rep.r[5], MYR_SEND_BAD_TAG);
	assert_int_equal(rep.r[6], 0);
	/* What is left for the host: the tag-0 message only. */
	uint8_t buf[16];
	int64_t from = 0, tag = 1;
	assert_int_equal(myr_actors_receive(s->act, MYR_ANY, buf, sizeof buf, 0,
					    &from, &tag),
			 8);
	assert_int_equal(from, pa);
	assert_int_equal(tag, 0);
	assert_int_equal(le64(buf), 4);
	assert_int_equal(myr_actors_receive(s->act, MYR_ANY, buf, sizeof buf, 0,
					    &from, &tag),
			 MYR_RECEIVE_TIMEOUT);
	assert_int_equal(reason_of(s, pa), MYR_REASON_NORMAL);
	sys_free(s);
}

/* The limit on all mailboxes together: sends to any actor are refused
 * once it is reached (nothing queued), and so is a spawn whose first
 * message would pass it. */
static void test_total_queued_limit(void **state)
{
	(void)state;
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.max_queued_bytes = 3000;
	Sys *s = sys_new_with(&cfg, 0, false);
	Script b = {0};
	ins(&b, O_SET, 5, 0, 0, 0);
	rcv(&b, 6, 3, 600, 0); /* 1 */
	ins(&b, O_JEQ, 0, R(6), -1, 5);
	ins(&b, O_ADD, 5, R(5), 1, 0);
	jump(&b, 1);
	report(&b, 3); /* 5 */
	int64_t pids[3];
	for (int i = 0; i < 3; i++)
		pids[i] = bot(s, &b);
	uint8_t msg[200] = {0};
	int sent = 0;
	for (int i = 0;
	     myr_actors_send(s->act, pids[i % 3], 3, msg, sizeof msg) == 0; i++)
		sent++;
	uint64_t q = queued_bytes(s);
	assert_true(q <= 3000);
	assert_true(q + sizeof msg + 32 > 3000);
	assert_int_equal(
		myr_actors_send(s->act, pids[sent % 3], 3, msg, sizeof msg),
		MYR_SEND_FULL);
	myr_error err;
	assert_int_equal(myr_actors_spawn(s->act, s->bot, s->imports,
					  s->nimports, "run", 3, msg,
					  sizeof msg, 0, &err),
			 MYR_SPAWN_FAILED);
	assert_int_equal(err.kind, MYR_ERR_RESOURCE);
	assert_int_equal(queued_bytes(s), q);
	run(s);
	int64_t got = 0;
	for (int i = 0; i < 3; i++)
		got += report_of(s, 3).r[5];
	assert_int_equal(got, sent);
	assert_int_equal(queued_bytes(s), 0);
	sys_free(s);
}

/* spawn of an export that is missing or of the wrong type: -2, and no
 * actor; past max_actors: -1, until one ends; past the engine's instance
 * limit or with a first message over the size limit: -1. */
static void test_spawn_errors(void **state)
{
	(void)state;
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.max_actors = 4;
	Sys *s = sys_new_with(&cfg, 0, false);
	myr_error err;
	const char *bad[] = {"nope", "badtype", "memory", "ru"};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(myr_actors_spawn(s->act, s->bot, s->imports,
						  s->nimports, bad[i],
						  strlen(bad[i]), NULL, 0, 0,
						  &err),
				 MYR_SPAWN_NO_ENTRY);
		assert_int_equal(err.kind, MYR_ERR_ARGUMENT);
	}
	myr_actors_stats st;
	myr_actors_get_stats(s->act, &st);
	assert_int_equal(st.spawned, 0);
	assert_int_equal(st.live, 0);

	/* From a guest; then children up to the limit (A and 3 children),
	 * one more refused, one killed, its slot taken again. */
	Script a = {0};
	uint32_t child = 18;
	ins(&a, O_SPAWN, 3, nm("nope"), 4, 0);
	ins(&a, O_SPAWN, 4, nm("badtype"), 7, 0);
	ins(&a, O_SPAWN, 5, nm("memory"), 6, 0);
	spawn_child(&a, 6, MYR_SPAWN_MONITOR, child, 1);
	spawn_child(&a, 7, MYR_SPAWN_MONITOR, child, 1);
	spawn_child(&a, 8, MYR_SPAWN_MONITOR, child, 1);
	spawn_child(&a, 9, MYR_SPAWN_MONITOR, child, 1);
	ins(&a, O_EXIT, 0, R(6), MYR_REASON_KILL, 0);
	rcv(&a, 10, MYR_TAG_DOWN, 64, SOON);
	spawn_child(&a, 11, MYR_SPAWN_MONITOR, child, 1);
	spawn_child(&a, 12, MYR_SPAWN_MONITOR, child, 1);
	report(&a, 1);
	ins(&a, O_EXIT, 0, R(7), MYR_REASON_KILL, 0);
	ins(&a, O_EXIT, 0, R(8), MYR_REASON_KILL, 0);
	ins(&a, O_EXIT, 0, R(11), MYR_REASON_KILL, 0);
	/* (Not pids if the limit holds; else no child is left behind.) */
	ins(&a, O_EXIT, 0, R(9), MYR_REASON_KILL, 0);
	ins(&a, O_EXIT, 0, R(12), MYR_REASON_KILL, 0);
	end(&a);
	assert_int_equal(a.n, child);
	rcv(&a, 3, 0, 8, -1);
	bot(s, &a);
	run(s);
	Report r = report_of(s, 1);
	assert_int_equal(r.r[3], MYR_SPAWN_NO_ENTRY);
	assert_int_equal(r.r[4], MYR_SPAWN_NO_ENTRY);
	assert_int_equal(r.r[5], MYR_SPAWN_NO_ENTRY);
	assert_true(r.r[6] > 0 && r.r[7] > 0 && r.r[8] > 0);
	assert_int_equal(r.r[9], MYR_SPAWN_FAILED);
	assert_down_msg(&r, r.r[6], r.r[6], MYR_REASON_KILL);
	assert_true(r.r[11] > 0);
	assert_int_equal(r.r[12], MYR_SPAWN_FAILED);
	myr_actors_get_stats(s->act, &st);
	assert_int_equal(st.spawned, 5);
	assert_int_equal(st.live_peak, 4);
	assert_int_equal(st.live, 0);

	/* From the host: four waiting actors, a fifth refused. */
	Script w = {0};
	rcv(&w, 3, 0, 8, -1);
	int64_t pids[4];
	for (int i = 0; i < 4; i++)
		pids[i] = bot(s, &w);
	assert_int_equal(myr_actors_spawn(s->act, s->bot, s->imports,
					  s->nimports, "run", 3, w.w,
					  w.n * INS_BYTES, 0, &err),
			 MYR_SPAWN_FAILED);
	assert_int_equal(err.kind, MYR_ERR_RESOURCE);
	for (int i = 0; i < 4; i++)
		assert_int_equal(myr_actors_send(s->act, pids[i], 1, NULL, 0),
				 0);
	run(s);
	sys_free(s);

	/* The engine's instance limit, and a first message over the size
	 * limit: -1 too. */
	myr_config_default(&cfg);
	cfg.max_instances = 2;
	cfg.max_message_bytes = 512;
	s = sys_new_with(&cfg, 0, false);
	uint8_t big[513] = {0};
	assert_int_equal(myr_actors_spawn(s->act, s->bot, s->imports,
					  s->nimports, "run", 3, big,
					  sizeof big, 0, &err),
			 MYR_SPAWN_FAILED);
	assert_int_equal(err.kind, MYR_ERR_RESOURCE);
	/* The first child waits until the second spawn has been refused,
	 * so its instance is alive then whichever worker runs it. */
	Script g = {0};
	spawn_child(&g, 3, 0, 5, 2);
	spawn_child(&g, 4, 0, 5, 2);
	snd(&g, 5, R(3), 1, 0);
	report(&g, 1);
	end(&g);
	rcv(&g, 3, 0, 8, -1); /* 5: the child */
	end(&g);
	bot(s, &g);
	run(s);
	r = report_of(s, 1);
	assert_true(r.r[3] > 0);
	assert_int_equal(r.r[4], MYR_SPAWN_FAILED);
	sys_free(s);
}

/* ------------------------------------------------------------------ */
/* Names                                                               */

/* 200 actors race to register one name: exactly one wins, and every one
 * of them then finds the winner by whereis. The name is freed when the
 * winner ends (also by a trap) and can be taken again. */
static void test_name_race(void **state)
{
	(void)state;
	enum { RACERS = 200 };
	Sys *s = sys_new_with(NULL, 20, false);
	Script sc = {0};
	ins(&sc, O_REG, 3, nm("leader"), 6, 0);
	ins(&sc, O_WHERE, 4, nm("leader"), 6, 0);
	ins(&sc, O_REG, 5, nm("other"), 5, 0);
	report(&sc, 1);
	rcv(&sc, 6, 8, 8, -1);
	int64_t pids[RACERS];
	for (int i = 0; i < RACERS; i++)
		pids[i] = bot(s, &sc);
	run_background(s);
	int64_t winner = 0;
	int wins = 0;
	Report reps[RACERS];
	for (int i = 0; i < RACERS; i++) {
		reps[i] = take_report(s, 1, PATIENCE_NS);
		if (reps[i].r[3] == 0) {
			wins++;
			winner = reps[i].sender;
		} else {
			assert_int_equal(reps[i].r[3], -1);
		}
	}
	assert_int_equal(wins, 1);
	for (int i = 0; i < RACERS; i++) {
		assert_int_equal(reps[i].r[4], winner);
		/* One name per actor: the winner cannot take another; the
		 * first loser to try takes "other". */
		if (reps[i].sender == winner)
			assert_int_equal(reps[i].r[5], -1);
	}
	assert_int_equal(myr_actors_whereis(s->act, "leader", 6), winner);
	char name[16];
	assert_true(myr_actors_name(s->act, winner, name, sizeof name));
	assert_string_equal(name, "leader");
	assert_true(myr_actors_name(s->act, winner, name, 4));
	assert_string_equal(name, "lea");
	int64_t other = myr_actors_whereis(s->act, "other", 5);
	assert_true(other > 0 && other != winner);
	for (int i = 0; i < RACERS; i++)
		assert_int_equal(myr_actors_send(s->act, pids[i], 8, NULL, 0),
				 0);
	join(s);
	assert_int_equal(myr_actors_whereis(s->act, "leader", 6), 0);
	assert_int_equal(myr_actors_whereis(s->act, "other", 5), 0);
	assert_false(myr_actors_name(s->act, winner, name, sizeof name));

	/* Taken again; freed by a trap too; bad names. */
	Script t = {0};
	ins(&t, O_REG, 5, nm("x"), 0, 0);
	ins(&t, O_REG, 7, nm("y"), 256, 0);
	ins(&t, O_REG, 3, nm("leader"), 6, 0);
	ins(&t, O_WHERE, 4, nm("leader"), 6, 0);
	ins(&t, O_WHERE, 6, nm("nobody"), 6, 0);
	report(&t, 2);
	trap(&t);
	int64_t p = bot(s, &t);
	run(s);
	Report r = report_of(s, 2);
	assert_int_equal(r.r[3], 0);
	assert_int_equal(r.r[4], p);
	assert_int_equal(r.r[5], -1);
	assert_int_equal(r.r[6], 0);
	assert_int_equal(r.r[7], -1);
	assert_int_equal(reason_of(s, p), MYR_REASON_TRAP);
	assert_int_equal(myr_actors_whereis(s->act, "leader", 6), 0);
	sys_free(s);
}

/* ------------------------------------------------------------------ */
/* Everything at once                                                  */

static uint32_t rnd(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*x >> 33);
}

/* Rounds of 300 actors, some trapping exits, that wait for the host's
 * go, then link to, unlink from, monitor and signal earlier ones at
 * random and end in one of three ways, in slices of a few instructions
 * on two workers, while the host monitors them all. Each ends exactly
 * once: one that traps exits with its own reason, one that does not
 * with its own or one a signal can bring (trap, 7, 9, noproc); the host
 * gets one DOWN for each, with that reason; the counts return to 0. */
static void test_link_storm(void **state)
{
	(void)state;
	enum { N = 300, ROUNDS = 3 };
	Sys *s = sys_new_with(NULL, 100, false);
	uint64_t seed = 42;
	static int64_t pids[N], refs[N];
	static int32_t own[N];
	static bool traps[N], downs[N];
	for (int round = 0; round < ROUNDS; round++) {
		size_t ended_before = ended_count(s);
		for (int i = 0; i < N; i++) {
			Script sc = {0};
			traps[i] = rnd(&seed) % 4 == 0;
			if (traps[i])
				ins(&sc, O_TRAPX, 0, 1, 0, 0);
			rcv(&sc, 0, 50, 0, -1);
			for (uint32_t k = rnd(&seed) % 3; i && k; k--)
				ins(&sc, O_LINK, 0, pids[rnd(&seed) % i], 0, 0);
			if (i && rnd(&seed) % 2)
				ins(&sc, O_MON, 0, pids[rnd(&seed) % i], 0, 0);
			if (i && rnd(&seed) % 4 == 0)
				ins(&sc, O_UNLINK, 0, pids[rnd(&seed) % i], 0,
				    0);
			if (i && rnd(&seed) % 8 == 0)
				ins(&sc, O_EXIT, 0, pids[rnd(&seed) % i], 9, 0);
			ins(&sc, O_SPIN, 0, rnd(&seed) % 20000, 0, 0);
			rcv(&sc, 0, 0, 64, rnd(&seed) % 3 ? 0 : 1000000);
			own[i] = (int32_t)(rnd(&seed) % 3);
			if (own[i] == 0)
				end(&sc);
			else if (own[i] == 1)
				trap(&sc);
			else
				ins(&sc, O_EXIT, 0, ME, own[i] = 7, 0);
			pids[i] = bot(s, &sc);
			refs[i] = myr_actors_monitor(s->act, pids[i]);
			downs[i] = false;
		}
		/* Everyone traps exits, or not, before anyone signals. */
		run_background(s);
		wait_until_waiting(s, N);
		for (int i = 0; i < N; i++)
			assert_int_equal(
				myr_actors_send(s->act, pids[i], 50, NULL, 0),
				0);
		join(s);
		assert_int_equal(ended_count(s) - ended_before, N);
		for (int i = 0; i < N; i++) {
			int32_t r = reason_of(s, pids[i]);
			if (traps[i])
				assert_int_equal(r, own[i]);
			else if (r != own[i] && r != MYR_REASON_TRAP &&
				 r != 7 && r != 9 && r != MYR_REASON_NOPROC)
				fail_msg("actor %d ended with reason %d", i,
					 (int)r);
		}
		uint8_t d[MYR_DOWN_SIZE];
		int64_t from;
		for (int k = 0; k < N; k++) {
			assert_int_equal(
				myr_actors_receive(s->act, MYR_TAG_DOWN, d,
						   sizeof d, 0, &from, NULL),
				MYR_DOWN_SIZE);
			int i = 0;
			while (i < N && refs[i] != le64(d))
				i++;
			assert_true(i < N);
			assert_false(downs[i]);
			downs[i] = true;
			assert_int_equal(le64(d + 8), pids[i]);
			assert_int_equal(from, pids[i]);
			assert_int_equal(le32(d + 16), reason_of(s, pids[i]));
		}
		assert_int_equal(myr_actors_receive(s->act, 0, d, sizeof d, 0,
						    NULL, NULL),
				 MYR_RECEIVE_TIMEOUT);
		assert_int_equal(queued_bytes(s), 0);
	}
	sys_free(s);
}

/* ------------------------------------------------------------------ */
/* Deadlock                                                            */

/* Two actors wait forever and a third waits with a timeout: no deadlock
 * (the third will run again). Once the third has gone, the two are
 * deadlocked, and myr_actors_deadlocked names them. */
static void test_deadlock(void **state)
{
	(void)state;
	Sys *s = sys_new();
	Script f = {0};
	rcv(&f, 3, 0, 8, -1);
	int64_t pa = bot(s, &f), pb = bot(s, &f);
	Script t = {0};
	report(&t, 1);
	rcv(&t, 3, 5, 8, PATIENCE_NS);
	int64_t pt = bot(s, &t);
	int64_t pids[4] = {0};
	assert_int_equal(myr_actors_deadlocked(s->act, pids, 4), 0);
	run_background(s);
	take_report(s, 1, PATIENCE_NS);
	wait_until_waiting(s, 2);
	sleep_ms(20);
	assert_int_equal(myr_actors_deadlocked(s->act, pids, 4), 0);
	assert_int_equal(myr_actors_send(s->act, pt, 5, NULL, 0), 0);
	/* on_exit comes before the actor stops counting as live. */
	for (int i = 0;
	     i < PATIENCE_MS && myr_actors_deadlocked(s->act, pids, 4) != 2;
	     i++)
		sleep_ms(1);
	assert_int_equal(reason_of(s, pt), MYR_REASON_NORMAL);
	assert_int_equal(myr_actors_deadlocked(s->act, pids, 4), 2);
	assert_true((pids[0] == pa && pids[1] == pb) ||
		    (pids[0] == pb && pids[1] == pa));
	int64_t one;
	assert_int_equal(myr_actors_deadlocked(s->act, &one, 1), 2);
	/* The run does not end by itself: stop it; the actors' instances
	 * are freed with the actor system. */
	myr_sched_stop(s->sched);
	join(s);
	s->stopped = true;
	myr_sched_drain(s->sched, NULL, NULL);
	myr_actors_stats st;
	myr_actors_get_stats(s->act, &st);
	assert_int_equal(st.live, 2);
	assert_int_equal(st.waiting, 2);
	sys_free(s);
}

/* ------------------------------------------------------------------ */
/* The host's side                                                     */

/* The host has a pid of its own: actors send to it, and it receives with
 * a filter, a timeout (0, finite, forever) and the too-small buffer rule;
 * it monitors and demonitors; an actor it made itself is adopted. */
static void test_host_api(void **state)
{
	(void)state;
	Sys *s = sys_new();
	uint8_t buf[REPORT_BYTES];
	int64_t from = 0, tag = 0;
	assert_int_equal(
		myr_actors_receive(s->act, 0, buf, sizeof buf, 0, &from, &tag),
		MYR_RECEIVE_TIMEOUT);
	uint64_t t0 = mono_ns();
	assert_int_equal(myr_actors_receive(s->act, 0, buf, sizeof buf,
					    20 * 1000000, &from, &tag),
			 MYR_RECEIVE_TIMEOUT);
	assert_true(mono_ns() - t0 >= 20 * 1000000);

	/* An adopted instance: its first message comes from the host. */
	myr_error err;
	myr_instance *inst =
		myr_instance_new(s->bot, s->imports, s->nimports, &err);
	assert_non_null(inst);
	assert_int_equal(myr_actor_pid(inst), 0);
	int64_t pa = myr_actors_adopt(s->act, inst, tu_export(inst, "run"),
				      NULL, 0, &err);
	assert_true(pa > 0);
	assert_int_equal(myr_actor_pid(inst), pa);
	/* Another instance's function: refused, and the instance freed. */
	myr_instance *other =
		myr_instance_new(s->bot, s->imports, s->nimports, &err);
	myr_instance *wrong =
		myr_instance_new(s->bot, s->imports, s->nimports, &err);
	assert_non_null(other);
	assert_non_null(wrong);
	assert_int_equal(myr_actors_adopt(s->act, wrong,
					  tu_export(other, "run"), NULL, 0,
					  &err),
			 0);
	assert_int_equal(err.kind, MYR_ERR_ARGUMENT);
	myr_instance_free(other);
	Script a = {0};
	ins(&a, O_REG, 3, nm("adopted"), 7, 0);
	snd(&a, 0, PARENT, 7, 70);
	snd(&a, 0, PARENT, 8, 80);
	rcv(&a, 3, 0, 8, -1);
	trap(&a);
	assert_int_equal(myr_actors_send(s->act, pa, 0, a.w, a.n * INS_BYTES),
			 0);
	int64_t ref = myr_actors_monitor(s->act, pa);
	assert_true(ref > 0 && ref != pa);
	/* A monitor removed before the end sends nothing. */
	int64_t ref2 = myr_actors_monitor(s->act, pa);
	assert_int_equal(myr_actors_demonitor(s->act, ref2), 0);
	assert_int_equal(myr_actors_demonitor(s->act, ref2), -1);

	/* Spawned with the monitor flag: the ref is its pid. */
	Script b = {0};
	report(&b, 9);
	int64_t pb = bot_flags(s, &b, MYR_SPAWN_MONITOR | MYR_SPAWN_LINK);

	run_background(s);
	/* Forever, with a filter: the later message of tag 8 first. */
	assert_int_equal(
		myr_actors_receive(s->act, 8, buf, sizeof buf, -1, &from, &tag),
		8);
	assert_int_equal(from, pa);
	assert_int_equal(tag, 8);
	assert_int_equal(le64(buf), 80);
	assert_int_equal(
		myr_actors_receive(s->act, 7, buf, sizeof buf, -1, &from, &tag),
		8);
	assert_int_equal(tag, 7);
	assert_int_equal(le64(buf), 70);
	assert_int_equal(myr_actors_whereis(s->act, "adopted", 7), pa);
	assert_int_equal(myr_actors_send(s->act, pa, 1, NULL, 0), 0);
	/* Too small: the report stays. */
	Report r9 = take_report(s, 9, PATIENCE_NS);
	(void)r9;
	join(s);
	assert_int_equal(reason_of(s, pa), MYR_REASON_TRAP);
	assert_int_equal(reason_of(s, pb), MYR_REASON_NORMAL);
	assert_int_equal(myr_actors_receive(s->act, MYR_TAG_DOWN, buf, 19, 0,
					    &from, &tag),
			 MYR_DOWN_SIZE);
	int64_t refs[2] = {0};
	int32_t reasons[2] = {0};
	for (int i = 0; i < 2; i++) {
		from = tag = 0;
		assert_int_equal(myr_actors_receive(s->act, MYR_TAG_DOWN, buf,
						    sizeof buf, 0, &from, &tag),
				 MYR_DOWN_SIZE);
		assert_int_equal(tag, MYR_TAG_DOWN);
		refs[i] = le64(buf);
		assert_int_equal(le64(buf + 8), from);
		reasons[i] = le32(buf + 16);
	}
	if (refs[0] != ref) {
		int64_t r = refs[0];
		refs[0] = refs[1];
		refs[1] = r;
		int32_t x = reasons[0];
		reasons[0] = reasons[1];
		reasons[1] = x;
	}
	assert_int_equal(refs[0], ref);
	assert_int_equal(reasons[0], MYR_REASON_TRAP);
	assert_int_equal(refs[1], pb);
	assert_int_equal(reasons[1], MYR_REASON_NORMAL);
	assert_int_equal(
		myr_actors_receive(s->act, 0, buf, sizeof buf, 0, &from, &tag),
		MYR_RECEIVE_TIMEOUT);
	assert_int_equal(myr_actors_whereis(s->act, "adopted", 7), 0);

	/* The host's receive with a buffer too small leaves the message. */
	Script c = {0};
	report(&c, 10);
	bot(s, &c);
	run(s);
	assert_int_equal(myr_actors_receive(s->act, 0, buf, 10, 0, &from, &tag),
			 REPORT_BYTES);
	assert_int_equal(myr_actors_receive(s->act, 0, buf, 0, 0, NULL, NULL),
			 REPORT_BYTES);
	report_of(s, 10);

	myr_actors_stats st;
	myr_actors_get_stats(s->act, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.spawned, 3);
	assert_int_equal(st.queued_bytes, 0);
	sys_free(s);
}

typedef struct HostWaiter {
	Sys *s;
	int64_t filter, timeout;
	int n;
	int64_t value;
	uint64_t took;
} HostWaiter;

static void *host_waiter(void *user)
{
	HostWaiter *w = user;
	uint64_t t0 = mono_ns();
	w->n = myr_actors_receive(w->s->act, w->filter, &w->value,
				  sizeof w->value, w->timeout, NULL, NULL);
	w->took = mono_ns() - t0;
	return NULL;
}

/* Several host threads may wait at once, each for its own tag: a message
 * wakes the one it is for, not only at its deadline (the receive would
 * still find it then), whichever began waiting last and whether another
 * has stopped waiting. */
static void test_host_receivers_on_two_threads(void **state)
{
	(void)state;
	Sys *s = sys_new();
	HostWaiter w[3] = {{s, 1, PATIENCE_NS / 2, 0, 0, 0},
			   {s, 2, PATIENCE_NS / 2, 0, 0, 0},
			   {s, 3, 200 * 1000000, 0, 0, 0}};
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
			pthread_create(&t[i], NULL, host_waiter, &w[i]), 0);
		/* Most likely waiting by now; if not, it finds its
		 * message queued, which must work too. */
		sleep_ms(100);
	}
	/* The third gives up first. */
	pthread_join(t[2], NULL);
	assert_int_equal(w[2].n, MYR_RECEIVE_TIMEOUT);
	for (int i = 0; i < 2; i++) {
		int64_t v = 10 * w[i].filter;
		assert_int_equal(myr_actors_send(s->act, s->host, w[i].filter,
						 &v, sizeof v),
				 0);
		/* Its message in, before the other's is sent. */
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].n, 8);
		assert_int_equal(w[i].value, v);
		assert_true(w[i].took < (uint64_t)w[i].timeout);
	}
	sys_free(s);
}

/* With on_message, messages to the host (DOWN and EXIT included) go to
 * the callback, in order, and are not queued. */
static void test_host_callback(void **state)
{
	(void)state;
	Sys *s = sys_new_with(NULL, 0, true);
	Script a = {0};
	snd(&a, 0, PARENT, 5, 50);
	snd(&a, 0, PARENT, 6, 60);
	ins(&a, O_LINK, 3, PARENT, 0, 0);
	trap(&a);
	int64_t pa = bot(s, &a);
	int64_t ref = myr_actors_monitor(s->act, pa);
	int64_t v = 1;
	assert_int_equal(myr_actors_send(s->act, s->host, 4, &v, 8), 0);
	run(s);
	assert_int_equal(s->ngot, 5);
	assert_int_equal(s->got[0].from, s->host);
	assert_int_equal(s->got[0].tag, 4);
	assert_int_equal(s->got[1].from, pa);
	assert_int_equal(s->got[1].tag, 5);
	assert_int_equal(le64(s->got[1].data), 50);
	assert_int_equal(s->got[2].tag, 6);
	assert_int_equal(le64(s->got[2].data), 60);
	/* The link signal first, then the monitor (in either order would
	 * do; both must come, once). */
	int exits = 0, downs = 0;
	for (int i = 3; i < 5; i++) {
		HostMsg *m = &s->got[i];
		assert_int_equal(m->from, pa);
		if (m->tag == MYR_TAG_EXIT) {
			exits++;
			assert_int_equal(m->len, MYR_EXIT_SIZE);
			assert_int_equal(le64(m->data), pa);
			assert_int_equal(le32(m->data + 8), MYR_REASON_TRAP);
		} else {
			downs++;
			assert_int_equal(m->tag, MYR_TAG_DOWN);
			assert_int_equal(m->len, MYR_DOWN_SIZE);
			assert_int_equal(le64(m->data), ref);
			assert_int_equal(le32(m->data + 16), MYR_REASON_TRAP);
		}
	}
	assert_int_equal(exits, 1);
	assert_int_equal(downs, 1);
	uint8_t buf[64];
	assert_int_equal(
		myr_actors_receive(s->act, 0, buf, sizeof buf, 0, NULL, NULL),
		MYR_RECEIVE_TIMEOUT);
	assert_int_equal(queued_bytes(s), 0);
	sys_free(s);
}

/* ------------------------------------------------------------------ */
/* The ring                                                            */

/* How many actors the ring has (MYR_TEST_RING_ROUNDS sets how many
 * rounds): MYR_TEST_RING_ACTORS if set; else a million, or as many as 85% of
 * the memory available holds (as scripts/demo.sh scales the demo); under
 * AddressSanitizer, whose shadow memory and quarantine make each actor far
 * larger and slower, 20,000; in an unoptimized build, 100,000. */
#if defined(__SANITIZE_ADDRESS__)
#define MYR_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MYR_TEST_ASAN 1
#endif
#endif

/* What one ring actor takes (about 5 KiB measured), with room. */
enum { RING_ACTOR_KB = 8 };

static uint64_t ring_size(void)
{
	const char *env = getenv("MYR_TEST_RING_ACTORS");
	if (env && *env)
		return strtoull(env, NULL, 10);
#if defined(MYR_TEST_ASAN)
	return 20000;
#elif !defined(__OPTIMIZE__)
	return 100000;
#else
	uint64_t want = 1000000, avail_kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %" SCNu64, &avail_kb) == 1)
			break;
	if (f)
		fclose(f);
	uint64_t fit = avail_kb * 85 / 100 / RING_ACTOR_KB;
	return avail_kb && fit < want ? fit : want;
#endif
}

/* actor_ring.wasm with its one page of memory made 128 bytes in 1-byte
 * pages (custom-page-sizes, which wat2wasm cannot write, as tools/pagesize
 * does for the demo): a million ring actors then need no 4 KiB page each
 * for their memories. */
static myr_module *load_ring(myr_engine *e)
{
	char path[512];
	snprintf(path, sizeof path, "%s/actor_ring.wasm", MYR_TEST_WASM_DIR);
	size_t len;
	uint8_t *in = tu_read_file(path, &len);
	assert_non_null(in);
	assert_true(len > 8);
	uint8_t *out = malloc(len + 8);
	assert_non_null(out);
	/* (memory 1): one memory, no maximum, one page; and the same as
	 * flags 0x09 (a maximum, a page size), 128, 128, log2 page size 0. */
	static const uint8_t page[] = {5, 3, 1, 0, 1};
	static const uint8_t small[] = {5, 7, 1, 9, 0x80, 1, 0x80, 1, 0};
	memcpy(out, in, 8);
	size_t at = 8, o = 8;
	bool found = false;
	while (at < len) {
		size_t start = at++;
		uint32_t size = 0;
		unsigned shift = 0;
		uint8_t b;
		do {
			b = in[at++];
			size |= (uint32_t)(b & 0x7F) << shift;
			shift += 7;
		} while (b & 0x80);
		at += size;
		assert_true(at <= len);
		if (at - start == sizeof page &&
		    memcmp(in + start, page, sizeof page) == 0) {
			memcpy(out + o, small, sizeof small);
			o += sizeof small;
			found = true;
		} else {
			memcpy(out + o, in + start, at - start);
			o += at - start;
		}
	}
	assert_true(found);
	myr_error err;
	myr_module *m = myr_module_new(e, out, o, &err);
	if (!m)
		fail_msg("actor_ring: %s", err.message);
	uint64_t mem = 0;
	myr_module_instance_size(m, &mem);
	assert_int_equal(mem, 128);
	free(in);
	free(out);
	return m;
}

/* N actors pass a token round M times, each adding one: it must come
 * back as N * M, and every actor must end normally. */
static void test_ring(void **state)
{
	(void)state;
	uint64_t n = ring_size();
	const char *env = getenv("MYR_TEST_RING_ROUNDS");
	int64_t rounds = env && *env   ? strtoll(env, NULL, 10)
			 : n >= 100000 ? 3
				       : 20;
	myr_config cfg;
	myr_config_default(&cfg);
	myr_engine *e = myr_engine_new(&cfg);
	assert_non_null(e);
	myr_module *m = load_ring(e);
	assert_true(myr_module_reserve(m, n));
	myr_sched_config sc = {.threads = 2};
	myr_sched *sched = myr_sched_new(e, &sc);
	assert_non_null(sched);
	myr_actors *act = myr_actors_new(sched, NULL);
	assert_non_null(act);
	myr_extern imports[8] = {0};
	assert_true(myr_module_import_count(m) <= 8);
	myr_error err;
	assert_true(myr_actors_link(act, m, imports, &err));
	int64_t args[2] = {(int64_t)n, rounds};
	uint64_t t0 = mono_ns();
	int64_t root =
		myr_actors_spawn(act, m, imports, myr_module_import_count(m),
				 "ring", 4, args, sizeof args, 0, &err);
	assert_true(root > 0);
	myr_sched_run(sched);
	double s = (double)(mono_ns() - t0) * 1e-9;
	int64_t res[2] = {0};
	int64_t from = 0, tag = 0;
	assert_int_equal(
		myr_actors_receive(act, 1, res, sizeof res, 0, &from, &tag),
		sizeof res);
	assert_int_equal(from, root);
	assert_int_equal(res[1], (int64_t)n);
	assert_int_equal(res[0], (int64_t)n * rounds);
	myr_actors_stats st;
	myr_actors_get_stats(act, &st);
	assert_int_equal(st.spawned, n);
	assert_int_equal(st.live_peak, n);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.queued_bytes, 0);
	myr_sched_stats ss;
	myr_sched_get_stats(sched, &ss);
	assert_int_equal(ss.trapped, 0);
	printf("ring: %" PRIu64 " actors, %" PRId64 " rounds: token %" PRId64
	       " in %.2f s\n",
	       n, rounds, res[0], s);
	myr_actors_free(act);
	myr_sched_free(sched);
	myr_module_free(m);
	myr_engine_free(e);
}

int main(void)
{
	/* MYR_TEST=pattern runs only the tests it names. */
	if (getenv("MYR_TEST"))
		cmocka_set_test_filter(getenv("MYR_TEST"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_per_pair_across_workers),
		cmocka_unit_test(test_selective_receive),
		cmocka_unit_test(test_receive_timeouts),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_trap_exit),
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_noproc),
		cmocka_unit_test(test_bad_pointers_and_exit_codes),
		cmocka_unit_test(test_monitors),
		cmocka_unit_test(test_stale_pids),
		cmocka_unit_test(test_full_mailbox_and_oversized_message),
		cmocka_unit_test(test_system_tags_not_forged),
		cmocka_unit_test(test_total_queued_limit),
		cmocka_unit_test(test_spawn_errors),
		cmocka_unit_test(test_name_race),
		cmocka_unit_test(test_link_storm),
		cmocka_unit_test(test_deadlock),
		cmocka_unit_test(test_host_api),
		cmocka_unit_test(test_host_receivers_on_two_threads),
		cmocka_unit_test(test_host_callback),
		cmocka_unit_test(test_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
