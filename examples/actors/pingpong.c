/* Ping-pong: two actors bounce a counter. The ponger is spawned linked and
 * monitored; at the end it is told to stop, and the DOWN message says it
 * ended normally. The pinger receives selectively (only PONG), so an
 * unrelated message sent to it early waits in its mailbox until it asks.
 *
 *   myriad run pingpong.wasm [ROUNDS]     (default 10000)
 */
#include <myriad_actor.h>
#include <stdio.h>
#include <stdlib.h>

enum { PING = 1, PONG = 2, STOP = 3, NOTE = 4 };

MYR_ENTRY(ponger)
{
	myr_msg_info info;
	int64_t v;
	myr_pid pinger;
	if (!myr_receive_i64(MYR_ANY, &pinger, MYR_FOREVER, &info))
		return;
	/* Sent before the first pong: the pinger only reads it at the end. */
	myr_send_str(pinger, NOTE, "hello from the ponger");
	for (;;) {
		if (!myr_receive_i64(MYR_ANY, &v, MYR_FOREVER, &info))
			return;
		if (info.tag == STOP)
			return;
		myr_send_i64(info.sender, PONG, v + 1);
	}
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10000;
	myr_pid me = myr_self();
	myr_pid ponger =
		myr_spawn_i64("ponger", me, MYR_SPAWN_LINK | MYR_SPAWN_MONITOR);
	if (ponger < 0) {
		fprintf(stderr, "pingpong: spawn failed (%lld)\n",
			(long long)ponger);
		return 1;
	}

	myr_msg_info info;
	int64_t v = 0;
	for (long i = 0; i < rounds; i++) {
		myr_send_i64(ponger, PING, v + 1);
		if (!myr_receive_i64(PONG, &v, MYR_FOREVER, &info) ||
		    info.sender != ponger) {
			fprintf(stderr, "pingpong: bad pong\n");
			return 1;
		}
	}
	printf("pingpong: %ld round trips, counter %lld (expected %lld)\n",
	       rounds, (long long)v, 2LL * rounds);

	/* Nothing with tag NOTE was asked for until now, yet it was kept. */
	char note[64];
	if (myr_receive_str(NOTE, note, sizeof note, MYR_NO_WAIT, &info) >= 0)
		printf("note: %s\n", note);

	/* Nothing else is queued: a receive with a short timeout times out. */
	char buf[8];
	if (myr_receive(MYR_ANY, buf, sizeof buf, 10 * MYR_MS, &info) ==
	    MYR_TIMEOUT)
		puts("mailbox: empty after 10 ms");

	myr_send_empty(ponger, STOP);
	char down[MYR_DOWN_SIZE];
	myr_down_msg d;
	int32_t n = myr_receive(MYR_TAG_DOWN, down, sizeof down, MYR_FOREVER,
				&info);
	if (!myr_decode_down(down, n, &d) || d.pid != ponger) {
		fprintf(stderr, "pingpong: bad DOWN message\n");
		return 1;
	}
	printf("ponger ended: %s\n", myr_reason_name(d.reason));
	return v == 2LL * rounds ? 0 : 1;
}
