/* A supervisor that restarts crashing workers, in the style of Erlang's
 * one_for_one: it traps exits and spawns each worker linked, so a worker's
 * end arrives as an EXIT message with its reason. A worker that ended with
 * anything but "normal" is started again, up to MAX_RESTARTS in all.
 *
 * Worker w on attempt a fails in a way of its own before it succeeds:
 * worker 1 traps once (wasm's unreachable), worker 2 calls
 * exit(7) twice (reason 256 + 7), worker 3 ends itself once with a reason
 * of its own (1000). A last worker never finishes: the supervisor kills it,
 * which it cannot trap.
 *
 *   myriad run supervisor.wasm
 */
#include <myriad_actor.h>
#include <stdio.h>
#include <stdlib.h>

enum { WORKERS = 4, MAX_RESTARTS = 10, RESULT = 1 };
enum { MY_REASON = 1000 };

struct job {
	int32_t worker, attempt;
};

MYR_ENTRY(worker)
{
	struct job job;
	myr_msg_info info;
	if (myr_receive(MYR_ANY, &job, sizeof job, MYR_FOREVER, &info) !=
	    (int32_t)sizeof job)
		return;
	switch (job.worker) {
	case 1:
		if (job.attempt < 1)
			__builtin_trap(); /* wasm's unreachable */
		break;
	case 2:
		if (job.attempt < 2)
			exit(7);
		break;
	case 3:
		if (job.attempt < 1)
			myr_exit(myr_self(), MY_REASON);
		break;
	}
	int64_t result = (int64_t)job.worker * 10 + job.attempt;
	myr_send(info.sender, RESULT, &result, sizeof result);
}

/* Never finishes on its own: waits for a message nobody sends. */
MYR_ENTRY(hanger)
{
	struct job job;
	myr_msg_info info;
	myr_receive(MYR_ANY, &job, sizeof job, MYR_FOREVER, &info);
	myr_receive(MYR_ANY, &job, sizeof job, MYR_FOREVER, &info);
}

struct slot {
	myr_pid pid;
	int attempts;
	int64_t result;
	int done;
	char history[128];
};

static myr_pid start(const char *entry, int w, int attempt)
{
	struct job job = {w, attempt};
	myr_pid pid = myr_spawn_entry(entry, &job, sizeof job, MYR_SPAWN_LINK);
	if (pid < 0) {
		fprintf(stderr, "supervisor: spawn failed (%lld)\n",
			(long long)pid);
		exit(1);
	}
	return pid;
}

int main(void)
{
	struct slot slots[WORKERS] = {0};
	myr_trap_exit(1);
	for (int w = 0; w < WORKERS; w++)
		slots[w].pid = start("worker", w, slots[w].attempts++);
	myr_pid hanger = start("hanger", WORKERS, 0);

	int restarts = 0, finished = 0;
	while (finished < WORKERS) {
		unsigned char buf[64];
		myr_msg_info info;
		int32_t n = myr_receive(MYR_ANY, buf, sizeof buf, MYR_FOREVER,
					&info);
		int w = 0;
		if (info.tag == RESULT) {
			while (w < WORKERS && slots[w].pid != info.sender)
				w++;
			if (w < WORKERS && n == 8)
				memcpy(&slots[w].result, buf, 8);
			continue;
		}
		myr_exit_msg e;
		if (info.tag != MYR_TAG_EXIT || !myr_decode_exit(buf, n, &e))
			continue;
		while (w < WORKERS && slots[w].pid != e.pid)
			w++;
		if (w == WORKERS)
			continue;
		struct slot *s = &slots[w];
		if (e.reason == MYR_NORMAL) {
			s->done = 1;
			finished++;
			continue;
		}
		size_t len = strlen(s->history);
		snprintf(s->history + len, sizeof s->history - len, "%s%s(%d)",
			 len ? ", " : "", myr_reason_name(e.reason),
			 (int)e.reason);
		if (++restarts > MAX_RESTARTS) {
			puts("supervisor: too many restarts, giving up");
			return 1;
		}
		s->pid = start("worker", w, s->attempts++);
	}

	for (int w = 0; w < WORKERS; w++)
		printf("worker %d: %d attempt%s, result %lld%s%s\n", w,
		       slots[w].attempts, slots[w].attempts > 1 ? "s" : "",
		       (long long)slots[w].result,
		       slots[w].history[0] ? ", ended before with " : "",
		       slots[w].history);

	myr_exit(hanger, MYR_KILL);
	unsigned char buf[MYR_EXIT_SIZE];
	myr_msg_info info;
	myr_exit_msg e;
	int32_t n =
		myr_receive(MYR_TAG_EXIT, buf, sizeof buf, MYR_FOREVER, &info);
	if (myr_decode_exit(buf, n, &e) && e.pid == hanger)
		printf("hanger: %s\n", myr_reason_name(e.reason));
	printf("supervisor: %d restarts\n", restarts);
	return 0;
}
