/* Clocks and sleeping.
 *
 * Sleeps for tens of milliseconds with nanosleep, usleep, clock_nanosleep
 * (relative and absolute), poll and select, and checks on the monotonic
 * clock that at least the requested time passed. Times vary from run to run, so
 * only pass/fail is printed, never a time. The upper bound is loose (a loaded
 * machine, or a runtime that parks the instance and resumes it later, may
 * oversleep); it catches a sleep that is wildly too long, e.g. a unit mix-up.
 */
#include "common.h"

#include <poll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t clock)
{
	struct timespec ts;
	CHECK(clock_gettime(clock, &ts) == 0);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void report(const char *what, long long requested_ns, long long t0)
{
	long long elapsed = now_ns(CLOCK_MONOTONIC) - t0;
	printf("%-34s %s\n", what,
	       elapsed < requested_ns ? "FAIL: woke too early"
	       : elapsed > requested_ns + 2000000000LL
		       ? "FAIL: slept over 2 s too long"
		       : "ok");
}

int main(void)
{
	struct timespec res;
	printf("%-34s %s\n", "clock_getres(MONOTONIC) <= 1 ms",
	       clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 &&
			       res.tv_nsec <= 1000000
		       ? "ok"
		       : "FAIL");

	/* The wall clock: after 2020, and agreeing with time(). */
	long long wall = now_ns(CLOCK_REALTIME);
	time_t t = time(NULL);
	printf("%-34s %s\n", "CLOCK_REALTIME after 2020",
	       wall / 1000000000 > 1577836800LL ? "ok" : "FAIL");
	printf("%-34s %s\n", "time() agrees with CLOCK_REALTIME",
	       t - wall / 1000000000 >= 0 && t - wall / 1000000000 <= 2
		       ? "ok"
		       : "FAIL");

	/* The monotonic clock never goes back. */
	long long prev = now_ns(CLOCK_MONOTONIC);
	int backwards = 0;
	for (int i = 0; i < 10000; i++) {
		long long n = now_ns(CLOCK_MONOTONIC);
		backwards += n < prev;
		prev = n;
	}
	printf("%-34s %s\n", "monotonic never decreases",
	       backwards ? "FAIL" : "ok");

	long long t0 = now_ns(CLOCK_MONOTONIC);
	struct timespec req = {0, 30 * 1000000};
	CHECK(nanosleep(&req, NULL) == 0);
	report("nanosleep 30 ms", 30000000, t0);

	t0 = now_ns(CLOCK_MONOTONIC);
	CHECK(usleep(20000) == 0);
	report("usleep 20 ms", 20000000, t0);

	t0 = now_ns(CLOCK_MONOTONIC);
	req = (struct timespec){0, 25 * 1000000};
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) == 0);
	report("clock_nanosleep relative 25 ms", 25000000, t0);

	/* Absolute: sleep until a deadline 40 ms from now. */
	t0 = now_ns(CLOCK_MONOTONIC);
	long long deadline = t0 + 40000000;
	req = (struct timespec){(time_t)(deadline / 1000000000),
				(long)(deadline % 1000000000)};
	int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &req, NULL);
	report("clock_nanosleep absolute +40 ms", 40000000, t0);
	printf("%-34s %s\n", "  returned 0", r == 0 ? "ok" : "FAIL");

	/* poll and select with no descriptors are sleeps too (poll_oneoff
	 * with only a clock subscription on WASI). */
	t0 = now_ns(CLOCK_MONOTONIC);
	CHECK(poll(NULL, 0, 30) == 0);
	report("poll(none, 30 ms)", 30000000, t0);

	t0 = now_ns(CLOCK_MONOTONIC);
	struct timeval tv = {0, 20000};
	CHECK(select(0, NULL, NULL, NULL, &tv) == 0);
	report("select(none, 20 ms)", 20000000, t0);

	/* A descriptor that is ready at once: stdin is /dev/null or a file,
	 * so poll returns without waiting for the timeout. */
	t0 = now_ns(CLOCK_MONOTONIC);
	struct pollfd pfd = {.fd = 0, .events = POLLIN};
	int ready = poll(&pfd, 1, 5000);
	long long took = now_ns(CLOCK_MONOTONIC) - t0;
	printf("%-34s %s\n", "poll(stdin readable, 5 s)",
	       ready == 1 && (pfd.revents & POLLIN) && took < 2500000000LL
		       ? "ok"
		       : "FAIL");

	/* Many short sleeps: each one a separate trip through the host. */
	t0 = now_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < 20; i++)
		CHECK(usleep(1000) == 0);
	report("20 x usleep 1 ms", 20000000, t0);

	t0 = now_ns(CLOCK_MONOTONIC);
	req = (struct timespec){0, 0};
	CHECK(nanosleep(&req, NULL) == 0);
	report("nanosleep 0", 0, t0);
	return 0;
}
