/*
 * Malformed input never crashes: every module of the converted spec suite
 * is fed to myr_module_new truncated at many lengths and with single bits
 * flipped and bytes replaced. Each load must either succeed or fail with a
 * message; under ASan a crash, an overflow or a leak fails the test.
 *
 *   mutate DIR    (DIR: where conformance.sh wrote the converted suite)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "myriad.h"

typedef struct Stats {
	unsigned long modules, loads, accepted, rejected, no_message;
} Stats;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	/* xorshift64*: a fixed sequence, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void try_load(myr_engine *e, const uint8_t *b, size_t n, Stats *st)
{
	myr_error err;
	myr_module *m = myr_module_new(e, b, n, &err);
	st->loads++;
	if (m) {
		st->accepted++;
		myr_module_free(m);
		return;
	}
	st->rejected++;
	if (err.message[0] == '\0' || err.kind == MYR_OK)
		st->no_message++;
}

static void mutate_module(myr_engine *e, const uint8_t *orig, size_t len,
			  Stats *st)
{
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		abort();
	st->modules++;
	/* Truncations: every length of small modules, 256 spread over the
	 * larger ones. Each copy is exactly n bytes so ASan sees overreads. */
	size_t step = len <= 256 ? 1 : len / 256;
	for (size_t n = 0; n < len; n += step) {
		uint8_t *t = malloc(n ? n : 1);
		memcpy(t, orig, n);
		try_load(e, t, n, st);
		free(t);
	}
	/* Bit flips and byte replacements at pseudo-random positions. */
	for (int i = 0; i < 96 && len > 0; i++) {
		memcpy(buf, orig, len);
		size_t at = rng() % len;
		if (i % 3 == 2)
			buf[at] = (uint8_t)rng();
		else
			buf[at] ^= (uint8_t)(1u << (rng() % 8));
		try_load(e, buf, len, st);
	}
	free(buf);
}

static void walk(myr_engine *e, const char *dir, Stats *st)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *ent;
	while ((ent = readdir(d))) {
		if (ent->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
		struct stat sb;
		if (stat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			walk(e, path, st);
			continue;
		}
		size_t nl = strlen(ent->d_name);
		if (nl < 5 || strcmp(ent->d_name + nl - 5, ".wasm") != 0)
			continue;
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		uint8_t *bytes = malloc((size_t)sb.st_size + 1);
		size_t n = fread(bytes, 1, (size_t)sb.st_size, f);
		fclose(f);
		mutate_module(e, bytes, n, st);
		free(bytes);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mutate DIR\n");
		return 2;
	}
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.features = MYR_FEATURES_DEFAULT | MYR_FEATURE_MULTI_MEMORY;
	myr_engine *e = myr_engine_new(&cfg);
	Stats st = {0};
	walk(e, argv[1], &st);
	myr_engine_free(e);
	printf("mutate: %lu modules, %lu loads: %lu accepted, %lu rejected\n",
	       st.modules, st.loads, st.accepted, st.rejected);
	if (st.modules == 0) {
		fprintf(stderr, "mutate: no .wasm files under %s\n", argv[1]);
		return 1;
	}
	if (st.no_message) {
		fprintf(stderr, "mutate: %lu rejections without a message\n",
			st.no_message);
		return 1;
	}
	return 0;
}
