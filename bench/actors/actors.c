/*
 * The myriad side of the actor benchmarks (bench/actors/run.sh), one guest
 * program with a mode per benchmark; actors.erl is the same for BEAM.
 *
 *   myriad run actors.wasm ring N M       N actors pass a token M times round
 *   myriad run actors.wasm spawn N        spawn N children, each receives
 *                                         one message, replies and ends
 *   myriad run actors.wasm pingpong R     R round trips between two actors
 *   myriad run actors.wasm fanin N        N actors each send one message to
 *                                         one collector
 *   myriad run actors.wasm idle N MS      N actors blocked in receive for MS
 *                                         milliseconds (memory is sampled
 *                                         from outside meanwhile)
 *
 * Each prints one line of key=value pairs (times in ns, by the guest's
 * monotonic clock), or a line starting "error". The module runs with a
 * tiny linear memory (the build gives it 4 KiB in 1-byte pages), so it uses
 * no malloc and no stdio: the arguments and the output go through WASI
 * directly, and nothing but the actor under test holds state.
 */
#include <myriad_actor.h>
#include <wasi/api.h>

enum { TOKEN = 1, STOP, DONE, GO, PING, PONG, DATA };

/* --- output, arguments, clock -------------------------------------------- */

static char line[256];
static size_t line_len;

static void put(const char *s)
{
	while (*s && line_len < sizeof line - 1)
		line[line_len++] = *s++;
}

static void put_u64(uint64_t v)
{
	char d[24];
	int n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && line_len < sizeof line - 1)
		line[line_len++] = d[--n];
}

static void put_kv(const char *key, int64_t v)
{
	put(" ");
	put(key);
	put("=");
	if (v < 0) {
		put("-");
		v = -v;
	}
	put_u64((uint64_t)v);
}

static void flush_line(void)
{
	line[line_len++] = '\n';
	__wasi_ciovec_t io = {(const uint8_t *)line, line_len};
	size_t written;
	(void)!__wasi_fd_write(1, &io, 1, &written);
	line_len = 0;
}

static int64_t now_ns(void)
{
	__wasi_timestamp_t t = 0;
	(void)!__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
	return (int64_t)t;
}

static int64_t parse(const char *s)
{
	int64_t v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

static int fail(const char *what, int64_t v)
{
	put("error ");
	put(what);
	put_kv("value", v);
	flush_line();
	return 1;
}

/* A send that waits while the receiver's mailbox is full (a sender that
 * outruns its receiver is told so instead of queueing without bound). */
static int64_t full_retries;

static int32_t send_i64(myr_pid to, int64_t tag, int64_t v)
{
	int32_t r;
	while ((r = myr_send_i64(to, tag, v)) == MYR_SEND_FULL) {
		full_retries++;
		char none[1];
		myr_msg_info info;
		myr_receive(-1000, none, 0, 20000, &info); /* sleep 20 us */
	}
	return r;
}

static int64_t recv_i64(int64_t filter, myr_msg_info *info)
{
	int64_t v = 0;
	myr_receive(filter, &v, sizeof v, MYR_FOREVER, info);
	return v;
}

static myr_pid spawn(const char *entry, int64_t v)
{
	myr_pid p;
	while ((p = myr_spawn_i64(entry, v, 0)) == MYR_SPAWN_LIMIT) {
		char none[1];
		myr_msg_info info;
		myr_receive(-1000, none, 0, 1000000, &info); /* 1 ms */
	}
	return p;
}

/* --- ring and idle ------------------------------------------------------- */

/* First message: the pid to forward to. Tokens go on with one added; the
 * stop goes on once, then the actor ends. */
MYR_ENTRY(ring_node)
{
	myr_msg_info info;
	myr_pid next = recv_i64(MYR_ANY, &info);
	for (;;) {
		int64_t v = recv_i64(MYR_ANY, &info);
		send_i64(next, info.tag, v + 1);
		if (info.tag == STOP)
			return;
	}
}

/* Spawns a chain of n - 1 actors ending at us; returns its head. */
static myr_pid build_ring(int64_t n)
{
	myr_pid next = myr_self();
	for (int64_t i = 1; i < n; i++) {
		next = spawn("ring_node", next);
		if (next < 0)
			return next;
	}
	return next;
}

static int ring(int64_t n, int64_t rounds)
{
	int64_t t0 = now_ns();
	myr_pid head = build_ring(n);
	if (head < 0)
		return fail("spawn", head);
	int64_t t1 = now_ns();
	myr_msg_info info;
	int64_t token = 0;
	for (int64_t r = 0; r < rounds; r++) {
		send_i64(head, TOKEN, token + 1);
		token = recv_i64(TOKEN, &info);
	}
	int64_t t2 = now_ns();
	send_i64(head, STOP, 0);
	recv_i64(STOP, &info);
	put("ring");
	put_kv("n", n);
	put_kv("m", rounds);
	put_kv("hops", n * rounds);
	put_kv("token", token);
	put_kv("build_ns", t1 - t0);
	put_kv("ns", t2 - t1);
	put_kv("full_retries", full_retries);
	flush_line();
	return token == n * rounds ? 0 : 1;
}

static int idle(int64_t n, int64_t ms)
{
	myr_pid head = build_ring(n);
	if (head < 0)
		return fail("spawn", head);
	/* One round first, so that every actor has run and now waits in
	 * receive again. */
	myr_msg_info info;
	send_i64(head, TOKEN, 1);
	int64_t token = recv_i64(TOKEN, &info);
	put("idle");
	put_kv("n", n);
	put_kv("token", token);
	flush_line();
	char none[1];
	myr_receive(-1000, none, 0, ms * MYR_MS, &info);
	send_i64(head, STOP, 0);
	recv_i64(STOP, &info);
	put("idle-done");
	put_kv("n", n);
	flush_line();
	return token == n ? 0 : 1;
}

/* --- spawn --------------------------------------------------------------- */

MYR_ENTRY(spawn_child)
{
	myr_msg_info info;
	recv_i64(MYR_ANY, &info);
	send_i64(info.sender, DONE, 0);
}

/* Two passes: the first commits the memory the children need, the second
 * is the one that counts (slots and blocks are reused). */
static int spawn_bench(int64_t n)
{
	put("spawn");
	put_kv("n", n);
	for (int pass = 0; pass < 2; pass++) {
		int64_t t0 = now_ns();
		for (int64_t i = 0; i < n; i++)
			if (spawn("spawn_child", i) < 0)
				return fail("spawn", i);
		int64_t t1 = now_ns();
		myr_msg_info info;
		for (int64_t i = 0; i < n; i++)
			recv_i64(DONE, &info);
		int64_t t2 = now_ns();
		put_kv(pass ? "loop_ns" : "cold_loop_ns", t1 - t0);
		put_kv(pass ? "all_ns" : "cold_all_ns", t2 - t0);
	}
	put_kv("full_retries", full_retries);
	flush_line();
	return 0;
}

/* --- ping-pong ----------------------------------------------------------- */

MYR_ENTRY(ponger)
{
	myr_msg_info info;
	recv_i64(MYR_ANY, &info);
	for (;;) {
		int64_t v = recv_i64(MYR_ANY, &info);
		if (info.tag == STOP)
			return;
		send_i64(info.sender, PONG, v + 1);
	}
}

static int pingpong(int64_t rounds)
{
	myr_pid p = spawn("ponger", 0);
	if (p < 0)
		return fail("spawn", p);
	myr_msg_info info;
	int64_t v = 0;
	/* A short warm-up puts both on their workers. */
	for (int i = 0; i < 1000; i++) {
		send_i64(p, PING, v);
		v = recv_i64(PONG, &info);
	}
	v = 0;
	int64_t t0 = now_ns();
	for (int64_t r = 0; r < rounds; r++) {
		send_i64(p, PING, v);
		v = recv_i64(PONG, &info);
	}
	int64_t t1 = now_ns();
	send_i64(p, STOP, 0);
	put("pingpong");
	put_kv("rounds", rounds);
	put_kv("value", v);
	put_kv("ns", t1 - t0);
	flush_line();
	return v == rounds ? 0 : 1;
}

/* --- fan-in ------------------------------------------------------------- */

/* The senders are the leaves of a tree of FANOUT-ary spreaders, so that no
 * actor holds more than FANOUT pids in its small memory and the go signal
 * reaches them all quickly. Each tree node gets its depth as its first
 * message, then the collector's pid and its number of leaves; it reports
 * DONE to its parent once its whole subtree is spawned and waiting, and
 * passes GO on. The leaves then send one message each to the collector. */
enum { FANOUT = 100 };

static myr_pid kids[FANOUT];
static int nkids;

/* Spawns the children of a node at depth (> 0) with leaves below it and
 * waits until every subtree is ready. */
static int spread(int64_t depth, int64_t leaves, myr_pid to)
{
	int64_t per = 1;
	for (int64_t d = 1; d < depth; d++)
		per *= FANOUT;
	nkids = 0;
	for (int64_t left = leaves; left > 0 && nkids < FANOUT; left -= per) {
		myr_pid k = spawn("tree_node", depth - 1);
		if (k < 0)
			return -1;
		send_i64(k, DATA, to);
		send_i64(k, DATA, left < per ? left : per);
		kids[nkids++] = k;
	}
	myr_msg_info info;
	for (int i = 0; i < nkids; i++)
		recv_i64(DONE, &info);
	return 0;
}

static void go(void)
{
	for (int i = 0; i < nkids; i++)
		send_i64(kids[i], GO, 0);
}

MYR_ENTRY(tree_node)
{
	myr_msg_info info;
	int64_t depth = recv_i64(MYR_ANY, &info);
	myr_pid parent = info.sender;
	myr_pid to = recv_i64(DATA, &info);
	int64_t leaves = recv_i64(DATA, &info);
	if (depth > 0 && spread(depth, leaves, to) < 0)
		return;
	send_i64(parent, DONE, 0);
	recv_i64(GO, &info);
	if (depth > 0)
		go();
	else
		send_i64(to, DATA, 1);
}

static int fanin(int64_t n)
{
	int64_t depth = 1, cap = FANOUT;
	while (cap < n) {
		cap *= FANOUT;
		depth++;
	}
	int64_t t0 = now_ns();
	if (spread(depth, n, myr_self()) < 0)
		return fail("spawn", n);
	int64_t t1 = now_ns();
	go();
	myr_msg_info info;
	int64_t got = 0;
	for (int64_t i = 0; i < n; i++)
		got += recv_i64(DATA, &info);
	int64_t t2 = now_ns();
	put("fanin");
	put_kv("n", n);
	put_kv("depth", depth);
	put_kv("got", got);
	put_kv("build_ns", t1 - t0);
	put_kv("ns", t2 - t1);
	put_kv("full_retries", full_retries);
	flush_line();
	return got == n ? 0 : 1;
}

/* --- main ---------------------------------------------------------------- */

int main(void)
{
	static char buf[256];
	static char *argv[8];
	size_t argc = 0, size = 0;
	if (__wasi_args_sizes_get(&argc, &size) != 0 || argc > 8 ||
	    size > sizeof buf ||
	    __wasi_args_get((uint8_t **)argv, (uint8_t *)buf) != 0)
		return fail("arguments", (int64_t)argc);
	const char *mode = argc > 1 ? argv[1] : "";
	int64_t a = argc > 2 ? parse(argv[2]) : 0;
	int64_t b = argc > 3 ? parse(argv[3]) : 0;
	if (strcmp(mode, "ring") == 0 && a > 0 && b > 0)
		return ring(a, b);
	if (strcmp(mode, "spawn") == 0 && a > 0)
		return spawn_bench(a);
	if (strcmp(mode, "pingpong") == 0 && a > 0)
		return pingpong(a);
	if (strcmp(mode, "fanin") == 0 && a > 0)
		return fanin(a);
	if (strcmp(mode, "idle") == 0 && a > 0)
		return idle(a, b);
	return fail("usage: ring N M | spawn N | pingpong R | fanin N | "
		    "idle N MS",
		    0);
}
