/*
 * mailbox: actors that wait for messages from another thread.
 *
 * Three instances of mailbox.wasm (examples/mailbox.wat) run under the
 * scheduler. Each asks env.recv for its next message; while there is
 * none, the host function parks the instance with myr_caller_block, and
 * the producer thread that posts a message wakes it with
 * myr_instance_wake. Messages travel through the instances' linear
 * memories: recv copies bytes in, env.send copies the reply out, both
 * checking the guest's pointers first. Once its mailbox is closed and
 * empty, recv ends the instance as an exit with code 0, the way WASI's
 * proc_exit does.
 *
 *   mailbox mailbox.wasm
 *
 * Against an installed myriad:
 *
 *   cc mailbox.c $(pkg-config --cflags --libs myriad)
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <myriad.h>

enum { ACTORS = 3, QUEUE = 8 };

static const char *const messages[] = {
	"hello",
	"from another thread",
	"through linear memory",
	"to three actors",
	"in wasm",
	"goodbye",
};

/* One actor's mailbox, reached from its host calls through the instance's
 * user pointer. The producer and the actor's worker thread both touch
 * the queue, hence the lock. */
typedef struct Mailbox {
	pthread_mutex_t lock;
	const char *queue[QUEUE]; /* posted, not yet received */
	unsigned head, tail;
	bool closed;
	myr_instance *inst;
	/* Written only by the actor's own host calls (one instance never
	 * runs on two threads at once) and read after the run. */
	char replies[256];
	char ending[sizeof(((myr_error *)0)->message)];
} Mailbox;

static atomic_int waits; /* how often an actor parked for lack of mail */

/* The n bytes at ptr in the calling instance's memory, or NULL if any of
 * them lies outside it. Pointers from wasm are untrusted: check them
 * before touching anything. */
static uint8_t *guest_bytes(myr_caller *caller, int32_t ptr, int32_t n)
{
	myr_memory *mem = myr_caller_memory(caller);
	if (!mem || n < 0 ||
	    (uint64_t)(uint32_t)ptr + (uint32_t)n > myr_memory_size(mem))
		return NULL;
	return myr_memory_data(mem) + (uint32_t)ptr;
}

/* env.recv(buf, cap) -> len. With no message, the instance is parked
 * (no timer: only myr_instance_wake ends the wait) and this function is
 * called again, with the same arguments, once it is woken. A wake may
 * also come early or twice, so it always looks at the queue afresh. */
static myr_hostret host_recv(myr_caller *caller, void *env, const myr_val *args,
			     myr_val *results)
{
	(void)env;
	Mailbox *mb = myr_instance_user(myr_caller_instance(caller), NULL);
	pthread_mutex_lock(&mb->lock);
	const char *msg =
		mb->head != mb->tail ? mb->queue[mb->head++ % QUEUE] : NULL;
	bool closed = mb->closed;
	pthread_mutex_unlock(&mb->lock);
	if (!msg && closed)
		return myr_caller_exit(caller, 0);
	if (!msg) {
		atomic_fetch_add(&waits, 1);
		return myr_caller_block(caller, 0);
	}
	size_t len = strlen(msg);
	uint8_t *buf = guest_bytes(caller, args[0].of.i32, args[1].of.i32);
	if (!buf || len > (size_t)args[1].of.i32)
		return myr_caller_trap(caller, "recv: no room for the message");
	memcpy(buf, msg, len);
	/* results[0] already has its type (i32); only the value is ours. */
	results[0].of.i32 = (int32_t)len;
	return MYR_HOST_OK;
}

/* env.send(buf, len): reads the reply out of the instance's memory. */
static myr_hostret host_send(myr_caller *caller, void *env, const myr_val *args,
			     myr_val *results)
{
	(void)env, (void)results;
	Mailbox *mb = myr_instance_user(myr_caller_instance(caller), NULL);
	const uint8_t *text =
		guest_bytes(caller, args[0].of.i32, args[1].of.i32);
	if (!text)
		return myr_caller_trap(caller, "send: reply outside memory");
	size_t used = strlen(mb->replies);
	snprintf(mb->replies + used, sizeof mb->replies - used, "%s%.*s",
		 used ? " | " : "", (int)args[1].of.i32, (const char *)text);
	return MYR_HOST_OK;
}

/* Queues a message, or closes the mailbox (msg NULL), and wakes the
 * actor. The wake is made under the lock: the actor must not see its
 * mailbox closed, end and be freed by on_done before the wake touches
 * it. After the unlock the producer never uses inst again. */
static void post(Mailbox *mb, const char *msg)
{
	pthread_mutex_lock(&mb->lock);
	if (msg && mb->tail - mb->head < QUEUE)
		mb->queue[mb->tail++ % QUEUE] = msg;
	else if (!msg)
		mb->closed = true;
	myr_instance_wake(mb->inst);
	pthread_mutex_unlock(&mb->lock);
}

/* The producer: one message every 2 ms, round robin, then closes every
 * mailbox. Meanwhile the actors are parked, holding no thread. */
static void *producer(void *arg)
{
	Mailbox *boxes = arg;
	size_t n = sizeof messages / sizeof messages[0];
	for (size_t i = 0; i < n; i++) {
		nanosleep(&(struct timespec){0, 2000000}, NULL);
		post(&boxes[i % ACTORS], messages[i]);
	}
	for (int a = 0; a < ACTORS; a++)
		post(&boxes[a], NULL);
	return NULL;
}

/* An actor ended: returned, exited (myr_caller_exit) or trapped. */
static void on_done(myr_instance *inst, myr_status status, void *user)
{
	(void)user;
	Mailbox *mb = myr_instance_user(inst, NULL);
	int code;
	if (myr_instance_exit_code(inst, &code))
		snprintf(mb->ending, sizeof mb->ending, "exit code %d", code);
	else if (status == MYR_STATUS_TRAPPED)
		snprintf(mb->ending, sizeof mb->ending, "trap: %s",
			 myr_instance_error(inst)->message);
	else
		snprintf(mb->ending, sizeof mb->ending, "returned");
	myr_instance_free(inst);
}

static void free_instance(myr_instance *inst, void *user)
{
	(void)user;
	myr_instance_free(inst);
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
	if (argc != 2) {
		fprintf(stderr, "usage: %s mailbox.wasm\n", argv[0]);
		return 2;
	}
	int status = 1;
	myr_error err;
	Mailbox boxes[ACTORS] = {0};
	for (int a = 0; a < ACTORS; a++)
		pthread_mutex_init(&boxes[a].lock, NULL);
	myr_module *module = NULL;
	myr_func *recv_fn = NULL, *send_fn = NULL;
	myr_sched *sched = NULL;
	myr_engine *engine = myr_engine_new(NULL);
	size_t len;
	uint8_t *bytes = read_file(argv[1], &len);
	if (!engine || !bytes)
		goto out;
	module = myr_module_new(engine, bytes, len, &err);
	if (!module) {
		fprintf(stderr, "%s: %s\n", argv[1], err.message);
		goto out;
	}

	static const myr_valtype i32x2[] = {MYR_I32, MYR_I32};
	const myr_functype recv_type = {2, 1, i32x2, i32x2};
	const myr_functype send_type = {2, 0, i32x2, NULL};
	recv_fn = myr_func_new(engine, &recv_type, host_recv, NULL, NULL);
	send_fn = myr_func_new(engine, &send_type, host_send, NULL, NULL);
	/* mailbox.wasm declares recv, then send. Were they the other way
	 * round, instantiation would fail with MYR_ERR_LINK: the types
	 * differ. (many_instances.c matches imports by name.) */
	const myr_extern imports[] = {
		{.kind = MYR_EXTERN_FUNC, .of.func = recv_fn},
		{.kind = MYR_EXTERN_FUNC, .of.func = send_fn},
	};
	const myr_sched_config cfg = {.on_done = on_done};
	if (!recv_fn || !send_fn || !(sched = myr_sched_new(engine, &cfg)))
		goto out;

	for (int a = 0; a < ACTORS; a++) {
		Mailbox *mb = &boxes[a];
		mb->inst = myr_instance_new(module, imports, 2, &err);
		if (!mb->inst) {
			fprintf(stderr, "actor %d: %s\n", a, err.message);
			goto out;
		}
		myr_instance_set_user(mb->inst, mb, (uint64_t)a);
		myr_extern run;
		if (!myr_instance_export(mb->inst, "run", 3, &run) ||
		    !myr_instance_start(mb->inst, run.of.func, NULL, 0, &err) ||
		    !myr_sched_add(sched, mb->inst)) {
			fprintf(stderr, "actor %d did not start\n", a);
			myr_instance_free(mb->inst);
			goto out;
		}
	}

	/* Without a thread, post everything up front: the actors then find
	 * their mail waiting instead of being woken for it. */
	pthread_t thread;
	bool threaded = pthread_create(&thread, NULL, producer, boxes) == 0;
	if (!threaded)
		producer(boxes);
	myr_sched_run(sched); /* until every actor has ended */
	if (threaded)
		pthread_join(thread, NULL);

	for (int a = 0; a < ACTORS; a++)
		printf("actor %d: %s (%s)\n", a, boxes[a].replies,
		       boxes[a].ending);
	printf("actors parked %d times waiting for mail\n",
	       atomic_load(&waits));
	status = 0;
out:
	/* After a failed start, the instances already added are still in
	 * the scheduler (after a run, nothing is). */
	if (sched)
		myr_sched_drain(sched, free_instance, NULL);
	for (int a = 0; a < ACTORS; a++)
		pthread_mutex_destroy(&boxes[a].lock);
	myr_sched_free(sched);
	myr_func_free(recv_fn);
	myr_func_free(send_fn);
	myr_module_free(module);
	myr_engine_free(engine);
	free(bytes);
	return status;
}
