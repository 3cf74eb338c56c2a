/*
 * pause_resume: one instance run in slices of fuel, without a scheduler.
 *
 * A call is started with myr_instance_start and then advanced with
 * myr_instance_run(inst, fuel): each run executes about `fuel` internal
 * instructions and returns, paused, if the call is not done. Between runs
 * the host is in control: it can look at the instance, run others, move
 * it to another thread, or give up on it. Here it watches a long
 * computation's progress, then stops a loop that would never end.
 *
 *   pause_resume primes.wasm      (examples/primes.wat assembled)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <myriad.h>

enum { FUEL = 100000, LIMIT = 1000000 };

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
		fprintf(stderr, "usage: %s primes.wasm\n", argv[0]);
		return 2;
	}
	int status = 1;
	myr_error err;
	myr_module *module = NULL;
	myr_instance *inst = NULL;
	/* Limits for code that is not trusted: fuel bounds its time (see
	 * below), the engine's configuration its memory and stack. */
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.max_memory_bytes = 1 << 20;
	cfg.max_stack_bytes = 64 << 10;
	myr_engine *engine = myr_engine_new(&cfg);
	size_t len;
	uint8_t *bytes = read_file(argv[1], &len);
	if (!engine || !bytes)
		goto out;
	module = myr_module_new(engine, bytes, len, &err);
	if (!module || !(inst = myr_instance_new(module, NULL, 0, &err))) {
		fprintf(stderr, "%s: %s\n", argv[1], err.message);
		goto out;
	}
	myr_extern count_primes, spin, checked;
	if (!myr_instance_export(inst, "count_primes", 12, &count_primes) ||
	    !myr_instance_export(inst, "spin", 4, &spin) ||
	    !myr_instance_export(inst, "checked", 7, &checked) ||
	    checked.kind != MYR_EXTERN_GLOBAL) {
		fprintf(stderr, "%s lacks an export\n", argv[1]);
		goto out;
	}

	/* Start the call: the arguments go onto the instance's own value
	 * stack and nothing runs yet. An instance runs one call at a time. */
	myr_val arg = {.type = MYR_I32, .of.i32 = LIMIT};
	if (!myr_instance_start(inst, count_primes.of.func, &arg, 1, &err)) {
		fprintf(stderr, "start: %s\n", err.message);
		goto out;
	}

	/* Each run returns READY while the call is unfinished. The paused
	 * state is the value stack plus a few words, so pausing costs
	 * nothing; the host reads the exported global between slices. */
	myr_status st;
	uint64_t slices = 0;
	int reported = 0;
	while ((st = myr_instance_run(inst, FUEL)) == MYR_STATUS_READY) {
		slices++;
		int32_t n = myr_global_get(checked.of.global).of.i32;
		while (reported < 4 && n >= (reported + 1) * (LIMIT / 5)) {
			reported++;
			printf("%d%% checked after %" PRIu64 " slices\n",
			       reported * 20, slices);
		}
	}
	if (st != MYR_STATUS_DONE) {
		fprintf(stderr, "count_primes: %s\n",
			myr_instance_error(inst)->message);
		goto out;
	}
	myr_val result;
	myr_instance_results(inst, &result, 1);
	printf("%" PRId32 " primes below %d, in %" PRIu64 " slices of %d "
	       "fuel\n",
	       result.of.i32, LIMIT, slices + 1, FUEL);

	/* Fuel is also how a host bounds code it does not trust: spin never
	 * returns, so it gets a budget of ten slices and is then abandoned.
	 * A paused call needs no cleanup: the instance can be freed, or
	 * started again, which discards it. */
	if (!myr_instance_start(inst, spin.of.func, NULL, 0, &err))
		goto out;
	for (int i = 0; i < 10; i++)
		st = myr_instance_run(inst, FUEL);
	printf("spin after 10 slices: %s\n",
	       st == MYR_STATUS_READY ? "still running, abandoned" : "ended");

	/* The instance is as good as new for the next call. */
	arg.of.i32 = 100;
	if (!myr_instance_start(inst, count_primes.of.func, &arg, 1, &err) ||
	    myr_instance_run(inst, INT64_MAX) != MYR_STATUS_DONE)
		goto out;
	myr_instance_results(inst, &result, 1);
	printf("%" PRId32 " primes below 100\n", result.of.i32);
	status = 0;
out:
	free(bytes);
	myr_instance_free(inst);
	myr_module_free(module);
	myr_engine_free(engine);
	return status;
}
