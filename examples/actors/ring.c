/* A ring of N actors passes a token around M times. Each actor adds one to
 * the token and forwards it to the next, so after M rounds the token holds
 * N * M: a lost, duplicated or reordered message shows in the count.
 *
 *   myriad run ring.wasm [N [M]]     (defaults: 1000 actors, 100 rounds)
 */
#include <myriad_actor.h>
#include <stdio.h>
#include <stdlib.h>

enum { TOKEN = 1, STOP = 2 };

/* One actor of the ring: its first message is the pid it forwards to. */
MYR_ENTRY(node)
{
	myr_msg_info info;
	myr_pid next;
	int64_t token;
	if (!myr_receive_i64(MYR_ANY, &next, MYR_FOREVER, &info))
		return;
	for (;;) {
		if (!myr_receive_i64(MYR_ANY, &token, MYR_FOREVER, &info))
			return;
		myr_send_i64(next, info.tag, info.tag == TOKEN ? token + 1 : 0);
		if (info.tag == STOP)
			return;
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	long rounds = argc > 2 ? atol(argv[2]) : 100;
	if (n < 1 || rounds < 1) {
		fprintf(stderr, "usage: ring [N [M]] (N, M >= 1)\n");
		return 2;
	}

	/* Built backwards: each new actor forwards to the one spawned before
	 * it, the first one to us, and we send to the last one. */
	myr_pid next = myr_self();
	for (long i = 1; i < n; i++) {
		next = myr_spawn_i64("node", next, 0);
		if (next < 0) {
			fprintf(stderr, "ring: spawn %ld failed (%lld)\n", i,
				(long long)next);
			return 1;
		}
	}
	printf("ring: %ld actors, %ld rounds\n", n, rounds);

	myr_msg_info info;
	int64_t token = 0;
	for (long r = 0; r < rounds; r++) {
		myr_send_i64(next, TOKEN, token + 1);
		if (!myr_receive_i64(TOKEN, &token, MYR_FOREVER, &info)) {
			fprintf(stderr, "ring: bad token message\n");
			return 1;
		}
	}
	long long want = (long long)n * rounds;
	printf("token: %lld hops (expected %lld)\n", (long long)token, want);

	/* The stop message goes round once; every actor ends after passing
	 * it on, so the run ends with us. */
	int64_t ignored;
	myr_send_i64(next, STOP, 0);
	myr_receive_i64(STOP, &ignored, MYR_FOREVER, &info);
	puts(token == want ? "ring: ok" : "ring: WRONG COUNT");
	return token == want ? 0 : 1;
}
