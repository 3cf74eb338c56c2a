/*
 * actors: the actor system under random scripts. The input becomes a
 * script for tests/wat/actor_bot.wat (the scripted actor the unit tests
 * use): spawns, sends of every size up to past the limits, selective
 * receives with every kind of timeout, links, monitors, exit signals,
 * trap_exit, names, traps and proc_exit, with pids taken from what earlier
 * calls returned, the host's pid, stale and forged ones. The host starts
 * one to four actors on parts of the script and, while two workers (or
 * one) run them, acts on them through the host API: sends, exit signals,
 * monitors, demonitors, receives.
 *
 * Whatever happens, the rules that must hold are checked, and a breach
 * aborts (a finding):
 *   - every actor ends exactly once, for a reason the script could cause;
 *   - each of the host's monitors gets exactly one DOWN, with its pid,
 *     unless it was demonitored first, after which it gets none;
 *   - system messages to the host have their size, and EXIT names its
 *     sender; nobody can send a negative (system) tag;
 *   - at the end nothing is alive, waiting or queued, and the counts of
 *     started and ended actors agree.
 * Actors that all wait forever (a deadlock the script made) are killed by
 * the host, as an embedder would. A run that does not end in 20 s is a
 * finding too.
 *
 * Spawns point forward in the script and a script has at most four, so
 * an input starts at most 4 * 2^4 actors: no fork bomb, no endless chain.
 * Jumps go only to the end: no endless loop.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "myriad.h"
#include "myriad_actor.h"

#include "../tests/wat/actor_bot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef MYR_FUZZ_ACTOR_BOT
#error "MYR_FUZZ_ACTOR_BOT: the path of the assembled actor_bot.wasm"
#endif

enum {
	MAX_INS = 48,
	MAX_SPAWNS = 4,
	MAX_ROOTS = 4,
	MAX_MONITORS = 32,
	MAX_MESSAGE = 1024,
	PATIENCE_S = 20,
};

/* The reasons a script can give: exit signals' and proc_exit's codes. */
static const int32_t exit_reasons[] = {0, 1, 2, 3, 7, 255, 261, -9, 0x7fffffff};
static const int32_t exit_codes[] = {0, 1, 5, 255};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool reason_possible(int32_t r)
{
	if (r >= MYR_REASON_NORMAL && r <= MYR_REASON_NOPROC)
		return true;
	for (size_t i = 0; i < COUNT(exit_reasons); i++)
		if (r == exit_reasons[i])
			return true;
	for (size_t i = 0; i < COUNT(exit_codes); i++)
		if (exit_codes[i] && r == MYR_REASON_EXIT + exit_codes[i])
			return true;
	return false;
}

static _Noreturn void finding(const char *fmt, long long a, long long b)
{
	fprintf(stderr, "fuzz_actors: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n");
	abort();
}

/* ------------------------------------------------------------------ */
/* What lasts across inputs: engines, the bot, schedulers               */

typedef struct Bot {
	myr_engine *e;
	myr_module *m;
	myr_wasi *wasi;
	myr_extern imports[16];
	size_t nimports;
	myr_sched *sched[3];
} Bot;

static Bot bots[2]; /* interpreted, compiled */
static bool have_compiled;

static uint8_t *read_all(const char *path, size_t *len)
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

/* One thread in slices of one instruction's fuel, two with the adaptive
 * ~1 us slices, two with slices of 5. */
static const uint32_t sched_threads[3] = {1, 2, 2};
static const int64_t sched_fuel[3] = {1, 0, 5};

static void bot_init(Bot *b, myr_tier tier)
{
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.tier = tier;
	cfg.code_cache_dir = NULL;
	cfg.max_memory_bytes = 65536;
	cfg.max_stack_bytes = 64 * 1024;
	cfg.max_message_bytes = MAX_MESSAGE;
	cfg.max_mailbox_bytes = 8192;
	cfg.max_queued_bytes = 65536;
	cfg.max_actors = 40;
	b->e = myr_engine_new(&cfg);
	size_t len = 0;
	uint8_t *bytes = read_all(MYR_FUZZ_ACTOR_BOT, &len);
	if (!b->e || !bytes) {
		fprintf(stderr, "fuzz_actors: cannot read %s\n",
			MYR_FUZZ_ACTOR_BOT);
		abort();
	}
	myr_error err;
	b->m = myr_module_new(b->e, bytes, len, &err);
	free(bytes);
	myr_wasi_config wc;
	myr_wasi_config_default(&wc);
	b->wasi = b->m ? myr_wasi_new(b->e, &wc, &err) : NULL;
	if (!b->wasi) {
		fprintf(stderr, "fuzz_actors: %s\n", err.message);
		abort();
	}
	b->nimports = myr_module_import_count(b->m);
	for (int k = 0; k < 3; k++) {
		myr_sched_config sc = {.threads = sched_threads[k],
				       .fuel = sched_fuel[k]};
		b->sched[k] = myr_sched_new(b->e, &sc);
		if (!b->sched[k])
			abort();
	}
}

static Bot *bot_for(bool compiled)
{
	static bool done;
	if (!done) {
		done = true;
		bot_init(&bots[0], MYR_TIER_INTERP);
		have_compiled = myr_tier_available(NULL, 0);
		if (have_compiled)
			bot_init(&bots[1], MYR_TIER_COMPILED);
	}
	return &bots[compiled && have_compiled];
}

/* ------------------------------------------------------------------ */
/* The input as a script                                                */

typedef struct Script {
	int64_t w[MAX_INS][5];
	uint32_t n;
} Script;

typedef struct Reader {
	const uint8_t *p;
	size_t n, at;
} Reader;

static uint8_t byte(Reader *r)
{
	return r->at < r->n ? r->p[r->at++] : 0;
}

/* A pid, mostly one an earlier instruction left in a register. */
static int64_t pid_arg(uint8_t x, int64_t host)
{
	switch (x & 15) {
	case 0:
		return R(1); /* whoever sent the script */
	case 1:
		return R(2); /* self */
	case 2:
		return host;
	case 3:
		return 0;
	case 4:
		return -1;
	case 5:
		/* The host's slot in another generation: stale. */
		return host + ((int64_t)1 << 24);
	case 6:
		return R(13); /* the last message's sender */
	case 7:
		return (int64_t)1 << 62 | 1; /* a ref, not a pid */
	default:
		return R(3 + (x & 15) - 8); /* r3..r10 */
	}
}

static int64_t tag_arg(uint8_t x)
{
	static const int64_t tags[8] = {1, 2, 3, 0, -1, -2, 7, INT64_MIN};
	return tags[x & 7];
}

/* Encodes up to 8 bytes of name as the i64 REGISTER, WHEREIS and SPAWN
 * read from. */
static int64_t name_word(const char *s)
{
	uint64_t v = 0;
	size_t n = strlen(s);
	for (size_t i = n; i-- > 0;)
		v = v << 8 | (uint8_t)s[i];
	return (int64_t)v;
}

static void decode_script(Reader *r, int64_t host, Script *s)
{
	static const int64_t timeouts[4] = {MYR_NO_WAIT, 100000, 1000000,
					    MYR_FOREVER};
	static const int64_t caps[8] = {0, 8, 12, 20, 400, 4096, 11, 70000};
	static const int64_t lens[8] = {
		0, 1, 100, MAX_MESSAGE, MAX_MESSAGE + 1, 4000, 32768, 40000};
	static const char *names[4] = {"a", "bb", "run", "ccccccc"};
	s->n = 1 + byte(r) % MAX_INS;
	uint32_t spawns = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		uint8_t op = byte(r) % (O_NOPS + 1), x = byte(r), y = byte(r),
			z = byte(r);
		int64_t *w = s->w[i];
		int64_t dst = 3 + x % 10;
		int64_t a = 0, b = 0, c = 0;
		switch (op) {
		case O_SET:
		case O_ADD:
			a = pid_arg(y, host);
			b = (int8_t)z;
			break;
		case O_SEND:
			a = pid_arg(y, host);
			b = tag_arg(z);
			c = (int64_t)z << 32 | y;
			break;
		case O_SENDN:
			a = pid_arg(y, host);
			b = tag_arg(z);
			c = lens[z >> 5];
			break;
		case O_RECV: {
			static const int64_t filters[4] = {MYR_ANY, 1, -1, -2};
			a = z & 16 ? tag_arg(y) : filters[y & 3];
			b = caps[z & 7];
			c = timeouts[(z >> 3) & 3];
			break;
		}
		case O_LINK:
		case O_UNLINK:
		case O_MON:
		case O_DEMON: /* a ref MONITOR left in a register, or a pid */
			a = pid_arg(y, host);
			break;
		case O_TRAPX:
			a = y & 1;
			break;
		case O_EXIT:
			a = pid_arg(y, host);
			b = exit_reasons[z % COUNT(exit_reasons)];
			break;
		case O_REG:
		case O_WHERE: {
			static const int64_t name_lens[4] = {1, 2, 3, 9};
			a = name_word(names[y & 3]);
			b = z & 4 ? name_lens[z & 3]
				  : (int64_t)strlen(names[y & 3]);
			if (z == 255)
				b = 70000; /* past memory: traps */
			break;
		}
		case O_SPAWN: {
			/* Only forward, into the rest of the script. */
			if (spawns == MAX_SPAWNS || i + 1 >= s->n) {
				op = O_SELF;
				break;
			}
			spawns++;
			static const char *entries[4] = {"run", "run",
							 "badtype", "nope"};
			const char *e = entries[y & 3];
			uint32_t start = i + 1 + (z % (s->n - i - 1));
			uint32_t count = 1 + (y >> 2) % (s->n - start);
			a = name_word(e);
			b = (int64_t)strlen(e) | (int64_t)(z >> 6) << 8;
			c = start | (int64_t)count << 16;
			break;
		}
		case O_REPORT:
			a = pid_arg(y, host);
			b = tag_arg(z);
			break;
		case O_JLT:
		case O_JEQ:
		case O_JNE:
			/* To the end only. */
			a = pid_arg(y, host);
			b = pid_arg(z, host);
			c = 0xFFFF;
			break;
		case O_LOAD:
		case O_STORE:
			a = y;
			b = pid_arg(z, host);
			break;
		case O_SPIN:
			a = (int64_t)y * z;
			break;
		case O_PEXIT:
			a = exit_codes[y % COUNT(exit_codes)];
			break;
		default:
			break;
		}
		w[0] = op;
		w[1] = dst;
		w[2] = a;
		w[3] = b;
		w[4] = c;
	}
}

/* ------------------------------------------------------------------ */
/* One run                                                              */

typedef struct Monitor {
	int64_t ref, pid;
	bool demonitored;
	int downs;
} Monitor;

typedef struct Run {
	Bot *bot;
	myr_sched *sched;
	myr_actors *act;
	int64_t host;
	pthread_mutex_t mu;
	int64_t *ended; /* pids in the order they ended */
	size_t nended, capended;
	int64_t known[64]; /* pids the host knows of */
	size_t nknown;
	Monitor mons[MAX_MONITORS];
	size_t nmons;
	pthread_t thread;
	atomic_bool running;
	bool thread_started;
} Run;

static void on_exit_cb(int64_t pid, int32_t reason, myr_instance *inst,
		       void *user)
{
	(void)inst;
	Run *run = user;
	if (!reason_possible(reason))
		finding("actor %lld ended for reason %lld, which nothing gave",
			pid, reason);
	pthread_mutex_lock(&run->mu);
	for (size_t i = 0; i < run->nended; i++)
		if (run->ended[i] == pid)
			finding("actor %lld ended twice (reason %lld)", pid,
				reason);
	if (run->nended == run->capended) {
		run->capended = run->capended ? 2 * run->capended : 32;
		run->ended =
			realloc(run->ended, run->capended * sizeof *run->ended);
		if (!run->ended)
			abort();
	}
	run->ended[run->nended++] = pid;
	pthread_mutex_unlock(&run->mu);
}

static void know(Run *run, int64_t pid)
{
	if (pid <= 0 || run->nknown == COUNT(run->known))
		return;
	for (size_t i = 0; i < run->nknown; i++)
		if (run->known[i] == pid)
			return;
	run->known[run->nknown++] = pid;
}

static void add_monitor(Run *run, int64_t ref, int64_t pid)
{
	if (ref <= 0)
		finding("monitor of %lld gave ref %lld", pid, ref);
	if (run->nmons < MAX_MONITORS)
		run->mons[run->nmons++] = (Monitor){ref, pid, false, 0};
}

/* Takes one message from the host's mailbox and checks it; false when
 * there was none in time. */
static bool host_receive(Run *run, int64_t filter, size_t cap, int64_t timeout)
{
	uint8_t buf[MAX_MESSAGE];
	int64_t from = 0, tag = 0;
	int n = myr_actors_receive(run->act, filter, buf, cap, timeout, &from,
				   &tag);
	if (n == MYR_RECEIVE_TIMEOUT)
		return false;
	if (n < 0 || n > MAX_MESSAGE)
		finding("host receive returned %lld (cap %lld)", n,
			(long long)cap);
	if ((size_t)n > cap)
		return true; /* too big for buf: left queued */
	if (filter != MYR_ANY && tag != filter)
		finding("receive for tag %lld took tag %lld", filter, tag);
	know(run, from);
	if (tag == MYR_TAG_EXIT) {
		if (n != 12 || le64(buf) != from)
			finding("EXIT of %lld bytes from %lld", n, from);
		if (!reason_possible(le32(buf + 8)))
			finding("EXIT from %lld with reason %lld", from,
				le32(buf + 8));
	} else if (tag == MYR_TAG_DOWN) {
		if (n != 20)
			finding("DOWN of %lld bytes from %lld", n, from);
		int64_t ref = le64(buf), pid = le64(buf + 8);
		Monitor *m = NULL;
		for (size_t i = 0; i < run->nmons; i++)
			if (run->mons[i].ref == ref)
				m = &run->mons[i];
		if (!m)
			finding("DOWN for ref %lld (pid %lld) nobody asked for",
				ref, pid);
		if (m->demonitored || m->downs || m->pid != pid)
			finding("DOWN for ref %lld of pid %lld: demonitored, "
				"repeated or of another pid",
				ref, pid);
		if (!reason_possible(le32(buf + 16)))
			finding("DOWN of %lld with reason %lld", pid,
				le32(buf + 16));
		m->downs++;
	}
	return true;
}

static void *run_thread(void *user)
{
	Run *run = user;
	myr_sched_run(run->sched);
	atomic_store(&run->running, false);
	return NULL;
}

static void start_running(Run *run)
{
	atomic_store(&run->running, true);
	if (pthread_create(&run->thread, NULL, run_thread, run))
		abort();
	run->thread_started = true;
}

static void join_run(Run *run)
{
	if (run->thread_started)
		pthread_join(run->thread, NULL);
	run->thread_started = false;
}

static int64_t host_spawn(Run *run, const Script *s, uint32_t start,
			  uint32_t flags)
{
	myr_error err;
	Bot *b = run->bot;
	uint32_t count = s->n - start;
	if (run->nmons == MAX_MONITORS)
		flags &= ~(uint32_t)MYR_SPAWN_MONITOR; /* no room to check it */
	int64_t pid = myr_actors_spawn(run->act, b->m, b->imports, b->nimports,
				       "run", 3, s->w[start], count * INS_BYTES,
				       flags, &err);
	if (pid <= 0) {
		if (pid != MYR_SPAWN_FAILED)
			finding("host spawn returned %lld (flags %lld)", pid,
				flags);
		return pid;
	}
	know(run, pid);
	if (flags & MYR_SPAWN_MONITOR)
		add_monitor(run, pid, pid);
	return pid;
}

static int64_t some_pid(Run *run, uint8_t x)
{
	if (x % 8 == 7)
		return run->host + ((int64_t)1 << 24); /* stale */
	if (run->nknown == 0)
		return run->host;
	return run->known[x % run->nknown];
}

/* One of the host's acts while the actors run: 3 bytes of input. */
static void host_act(Run *run, const Script *s, uint8_t op, uint8_t x,
		     uint8_t y)
{
	switch (op % 9) {
	case 0: {
		uint8_t msg[MAX_MESSAGE + 1] = {0};
		static const size_t lens[4] = {0, 8, MAX_MESSAGE,
					       MAX_MESSAGE + 1};
		size_t len = lens[y & 3];
		int64_t tag = tag_arg(y);
		int r = myr_actors_send(run->act, some_pid(run, x), tag, msg,
					len);
		int want = tag < 0		? MYR_SEND_BAD_TAG
			   : len > MAX_MESSAGE	? MYR_SEND_TOO_BIG
			   : r == MYR_SEND_FULL ? r
						: 0;
		if (r != want)
			finding("host send with tag %lld returned %lld", tag,
				r);
		break;
	}
	case 1:
		myr_actors_exit(run->act, some_pid(run, x),
				exit_reasons[y % COUNT(exit_reasons)]);
		break;
	case 2: {
		int64_t pid = some_pid(run, x);
		if (pid != run->host && run->nmons < MAX_MONITORS)
			add_monitor(run, myr_actors_monitor(run->act, pid),
				    pid);
		break;
	}
	case 3:
		if (run->nmons) {
			Monitor *m = &run->mons[x % run->nmons];
			/* Demonitoring twice is allowed, and the DOWN may
			 * already have been taken. */
			myr_actors_demonitor(run->act, m->ref);
			if (!m->downs)
				m->demonitored = true;
		}
		break;
	case 4:
		host_receive(run, y & 1 ? MYR_ANY : tag_arg(x),
			     y & 2 ? 4 : MAX_MESSAGE, y & 4 ? 100000 : 0);
		break;
	case 5:
		know(run, myr_actors_whereis(run->act, "bb", 2));
		break;
	case 6:
		if (s->n > 1)
			host_spawn(run, s, 1 + x % (s->n - 1), y & 3);
		break;
	case 7: {
		struct timespec t = {0, 20000 * (long)(y & 7)};
		nanosleep(&t, NULL);
		break;
	}
	default: {
		char name[16];
		myr_actors_name(run->act, some_pid(run, x), name, y & 15);
		break;
	}
	}
}

static uint64_t live(Run *run)
{
	myr_actors_stats st;
	myr_actors_get_stats(run->act, &st);
	return st.live;
}

/* Until every actor has ended: kills the ones deadlocked, and runs the
 * scheduler again if an actor the host spawned arrived after it had
 * finished. */
static void finish(Run *run)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t pids[64];
	for (;;) {
		uint64_t n = live(run);
		if (n == 0)
			break;
		if (!atomic_load(&run->running)) {
			join_run(run);
			if (live(run))
				start_running(run);
			continue;
		}
		uint64_t d = myr_actors_deadlocked(run->act, pids, 64);
		if (d && d == n)
			for (uint64_t i = 0; i < d && i < 64; i++)
				myr_actors_exit(run->act, pids[i],
						MYR_REASON_KILL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > PATIENCE_S)
			finding("%lld actors still alive after %lld s", n,
				PATIENCE_S);
		struct timespec t = {0, 50000};
		nanosleep(&t, NULL);
	}
	join_run(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Reader r = {data, size, 0};
	uint8_t mode = byte(&r);
	Run run = {0};
	run.bot = bot_for(mode & 0x80);
	run.sched = run.bot->sched[mode % 3];
	pthread_mutex_init(&run.mu, NULL);
	myr_actors_config ac = {.on_exit = on_exit_cb, .user = &run};
	run.act = myr_actors_new(run.sched, &ac);
	if (!run.act)
		abort();
	run.host = myr_actors_host_pid(run.act);
	myr_error err;
	Bot *b = run.bot;
	/* Linking fills only empty slots: the last run's actor functions
	 * went with its actor system. */
	memset(b->imports, 0, sizeof b->imports);
	if (!myr_actors_link(run.act, b->m, b->imports, &err) ||
	    !myr_wasi_link(b->wasi, b->m, b->imports, &err)) {
		fprintf(stderr, "fuzz_actors: link: %s\n", err.message);
		abort();
	}

	Script s;
	decode_script(&r, run.host, &s);
	uint32_t roots = 1 + (mode >> 2) % MAX_ROOTS;
	for (uint32_t k = 0; k < roots; k++) {
		uint32_t start = k == 0 ? 0 : byte(&r) % s.n;
		host_spawn(&run, &s, start, k == 0 ? (mode >> 4) & 3 : 0);
	}
	start_running(&run);
	while (r.at < r.n) {
		uint8_t op = byte(&r), x = byte(&r), y = byte(&r);
		host_act(&run, &s, op, x, y);
	}
	finish(&run);

	/* Everything has ended: take what is left for the host. */
	while (host_receive(&run, MYR_ANY, MAX_MESSAGE, 0))
		;
	for (size_t i = 0; i < run.nmons; i++)
		if (!run.mons[i].demonitored && run.mons[i].downs != 1)
			finding("monitor of %lld got %lld DOWNs",
				run.mons[i].pid, run.mons[i].downs);
	myr_actors_stats st;
	myr_actors_get_stats(run.act, &st);
	if (st.live || st.waiting || st.queued_bytes)
		finding("after the run: %lld live, %lld bytes queued",
			(long long)st.live, (long long)st.queued_bytes);
	if (st.spawned != run.nended)
		finding("%lld actors started, %lld ended",
			(long long)st.spawned, (long long)run.nended);
	myr_actors_free(run.act);
	pthread_mutex_destroy(&run.mu);
	free(run.ended);
	return 0;
}
