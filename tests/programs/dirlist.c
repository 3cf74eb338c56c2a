/* Directory listing.
 *
 *   dirlist DIR
 *
 * DIR/tree is prepared by the runner (files of known sizes, a hidden file,
 * a name with a space, nested and empty directories); it is walked
 * recursively with opendir/readdir and printed sorted, because readdir's
 * order is not defined. Then DIR/many gets 300 files with long names,
 * more than fit in one buffer of WASI's fd_readdir, so listing them needs
 * several calls that resume from a cookie; rewinddir, telldir/seekdir and
 * scandir are checked on it, and it is removed again (the program is
 * rerunnable). "." and ".." are skipped: whether they are returned is not
 * something the two sides need to agree on. */
#include "common.h"

#include <dirent.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANY 300

static char path_buf[1024];

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static int d_type_mismatches;

/* Prints the entries of `path` (shown as `shown`) sorted, recursing into
 * directories. */
static void walk(const char *path, const char *shown, int depth)
{
	DIR *d = opendir(path);
	if (!d) {
		printf("%*sopendir %s: %s\n", depth * 2, "", shown,
		       errname(errno));
		return;
	}
	char *names[64];
	unsigned char types[64];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (is_dot(e->d_name))
			continue;
		CHECK(n < 64);
		types[n] = e->d_type;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	/* Sort names, carrying the types along by re-reading them below. */
	char *sorted[64];
	memcpy(sorted, names, sizeof names[0] * (size_t)n);
	qsort(sorted, (size_t)n, sizeof sorted[0], cmp_str);
	printf("%*s%s/ (%d entries)\n", depth * 2, "", shown, n);
	for (int i = 0; i < n; i++) {
		char child[512], child_shown[512];
		snprintf(child, sizeof child, "%s/%s", path, sorted[i]);
		snprintf(child_shown, sizeof child_shown, "%s/%s", shown,
			 sorted[i]);
		struct stat st;
		CHECK(stat(child, &st) == 0);
		unsigned char t = 0;
		for (int j = 0; j < n; j++)
			if (names[j] == sorted[i])
				t = types[j];
		/* d_type may be DT_UNKNOWN; if it is known it must agree. */
		if (t != DT_UNKNOWN &&
		    (t == DT_DIR) != (S_ISDIR(st.st_mode) != 0))
			d_type_mismatches++;
		if (S_ISDIR(st.st_mode))
			walk(child, child_shown, depth + 1);
		else
			printf("%*s%s  %lld bytes\n", depth * 2 + 2, "",
			       sorted[i], (long long)st.st_size);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
}

static const char *many_name(int i)
{
	static char name[128];
	snprintf(name, sizeof name,
		 "entry-%03d-with-a-rather-long-name-to-fill-the-buffer-%c%c%c",
		 i, 'a' + i % 26, 'a' + i / 26 % 26, 'A' + i % 7);
	return name;
}

/* Reads every entry but the dots; returns how many, hashing the sorted
 * names into *hash. */
static int read_all(DIR *d, uint64_t *hash)
{
	char **names = malloc(sizeof *names * (MANY + 8));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (is_dot(e->d_name))
			continue;
		CHECK(n < MANY + 8);
		names[n++] = strdup(e->d_name);
	}
	qsort(names, (size_t)n, sizeof *names, cmp_str);
	*hash = FNV_INIT;
	for (int i = 0; i < n; i++) {
		*hash = fnv1a(*hash, names[i], strlen(names[i]) + 1);
		free(names[i]);
	}
	free(names);
	return n;
}

static int not_dot(const struct dirent *e)
{
	return !is_dot(e->d_name);
}

static void many(const char *dir)
{
	puts("== a directory of many entries");
	char mdir[512];
	snprintf(mdir, sizeof mdir, "%s/many", dir);
	CHECK(mkdir(mdir, 0755) == 0);
	uint64_t expect = FNV_INIT;
	for (int i = 0; i < MANY; i++) { /* created in sorted order */
		snprintf(path_buf, sizeof path_buf, "%s/%s", mdir,
			 many_name(i));
		FILE *f = fopen(path_buf, "w");
		CHECK(f != NULL);
		fprintf(f, "%d\n", i);
		fclose(f);
		expect = fnv1a(expect, many_name(i), strlen(many_name(i)) + 1);
	}
	DIR *d = opendir(mdir);
	CHECK(d != NULL);
	uint64_t h;
	int n = read_all(d, &h);
	printf("readdir: %d entries, names %s\n", n,
	       h == expect ? "all correct" : "WRONG");
	rewinddir(d);
	n = read_all(d, &h);
	printf("after rewinddir: %d entries, names %s\n", n,
	       h == expect ? "all correct" : "WRONG");

	/* telldir/seekdir: going back to a position yields the same entry. */
	rewinddir(d);
	struct dirent *e;
	for (int i = 0; i < 150; i++)
		CHECK(readdir(d) != NULL);
	long pos = telldir(d);
	e = readdir(d);
	CHECK(e != NULL);
	char first[256];
	snprintf(first, sizeof first, "%s", e->d_name);
	for (int i = 0; i < 20; i++)
		readdir(d);
	seekdir(d, pos);
	e = readdir(d);
	printf("seekdir back to telldir: %s\n",
	       e && strcmp(e->d_name, first) == 0 ? "same entry"
						  : "DIFFERENT entry");
	closedir(d);

	struct dirent **list;
	n = scandir(mdir, &list, not_dot, alphasort);
	printf("scandir+alphasort: %d entries\n", n);
	for (int i = 0; i < n; i++) {
		if (i < 2 || i >= n - 2)
			printf("  %s\n", list[i]->d_name);
		free(list[i]);
	}
	free(list);

	for (int i = 0; i < MANY; i++) {
		snprintf(path_buf, sizeof path_buf, "%s/%s", mdir,
			 many_name(i));
		CHECK(unlink(path_buf) == 0);
	}
	d = opendir(mdir);
	printf("after unlinking all: %d entries\n", read_all(d, &h));
	closedir(d);
	CHECK(rmdir(mdir) == 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: dirlist DIR\n");
		return 2;
	}
	puts("== the prepared tree");
	snprintf(path_buf, sizeof path_buf, "%s/tree", argv[1]);
	walk(path_buf, "tree", 0);
	printf("d_type disagreeing with stat: %d\n", d_type_mismatches);
	snprintf(path_buf, sizeof path_buf, "%s/no-such-dir", argv[1]);
	printf("opendir missing: %s\n",
	       opendir(path_buf) ? "opened?!" : errname(errno));
	many(argv[1]);
	return 0;
}
