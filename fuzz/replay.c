/*
 * Replays inputs through a fuzz target without libFuzzer: every file
 * named, and every file of every directory named (not recursively), is
 * passed to LLVMFuzzerTestOneInput once. This is how `make test` runs the
 * committed corpora and the regression inputs (fuzz.replay.<target>).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return 1;
	}
	size_t cap = 4096, n = 0, got;
	uint8_t *buf = malloc(cap);
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	fclose(f);
	if (!buf)
		return 1;
	/* An exact-size copy, so that ASan sees reads past the input. */
	uint8_t *exact = malloc(n ? n : 1);
	if (!exact) {
		free(buf);
		return 1;
	}
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	int bad = 0, files = 0;
	for (int a = 1; a < argc; a++) {
		struct stat st;
		if (stat(argv[a], &st) != 0) {
			fprintf(stderr, "replay: no %s\n", argv[a]);
			return 2;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= replay_file(argv[a]);
			files++;
			continue;
		}
		DIR *d = opendir(argv[a]);
		if (!d)
			return 2;
		char **names = NULL;
		size_t n = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char **nn = realloc(names, (n + 1) * sizeof *names);
			if (!nn)
				return 2;
			names = nn;
			size_t len = strlen(argv[a]) + strlen(de->d_name) + 2;
			names[n] = malloc(len);
			snprintf(names[n++], len, "%s/%s", argv[a], de->d_name);
		}
		closedir(d);
		if (n) /* qsort's array must not be NULL, even empty */
			qsort(names, n, sizeof *names, cmp);
		for (size_t i = 0; i < n; i++) {
			if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
				bad |= replay_file(names[i]);
				files++;
			}
			free(names[i]);
		}
		free(names);
	}
	printf("replay: %d inputs\n", files);
	return bad;
}
