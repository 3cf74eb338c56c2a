/* A CPU-bound loop (about 0.2 s natively) for preemption.
 *
 *   preempt [ITERATIONS]
 *
 * Run as many instances at once (myriad run --instances 4 --slice 1us):
 * each reads its index from MYRIAD_INSTANCE (and the count from
 * MYRIAD_INSTANCES; 0 and 1 when unset), computes a checksum that
 * depends on the index, and prints one line. The loop makes no host call,
 * so the only way other instances get to run before it ends is the
 * runtime preempting it. To let the runner check that, each instance
 * also writes to stderr when its loop started and ended on the monotonic
 * clock: with preemption all intervals overlap, even with fewer worker
 * threads than instances; without it, some instance would start only
 * after another has finished. */
#include "common.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

/* Not inlined: calls are safepoints too, along with loop back-edges. */
__attribute__((noinline)) static uint64_t mix(uint64_t x, uint64_t k)
{
	x ^= x >> 31;
	x *= UINT64_C(0x7fb5d329728ea185) + k;
	x ^= x >> 27;
	return x;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long iterations = argc > 1 ? atoll(argv[1]) : 60000000;
	const char *e = getenv("MYRIAD_INSTANCE");
	const char *ne = getenv("MYRIAD_INSTANCES");
	int index = e ? atoi(e) : 0, count = ne ? atoi(ne) : 1;

	long long start = now_ns();
	uint32_t table[256];
	for (int i = 0; i < 256; i++)
		table[i] = (uint32_t)(i * 2654435761u) ^ (uint32_t)index;
	uint64_t x = (uint64_t)index + 1;
	for (long long i = 0; i < iterations; i++) {
		x = mix(x, (uint64_t)i);
		table[x & 255] += (uint32_t)(x >> 40);
	}
	uint64_t sum = x;
	for (int i = 0; i < 256; i++)
		sum = sum * 31 + table[i];
	long long end = now_ns();

	printf("instance %d of %d: %lld iterations, checksum %016llx\n", index,
	       count, iterations, (unsigned long long)sum);
	/* One write per line, so lines from instances sharing stderr do not
	 * interleave. */
	char line[96];
	int n = snprintf(line, sizeof line, "span %d %lld %lld\n", index, start,
			 end);
	write(2, line, (size_t)n);
	return 0;
}
