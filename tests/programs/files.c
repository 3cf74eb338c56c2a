/* Files in a preopened directory.
 *
 *   files DIR
 *
 * DIR is the directory the runner prepared: natively its real path, on a
 * WASI runtime the guest path it was preopened as (e.g. /data). It holds
 * input.txt (written by the runner); everything else is created here.
 * Covers stdio (fopen modes, fread/fwrite, fseek/ftell, fgets, fscanf)
 * and POSIX calls (open flags, read/write, lseek, pread/pwrite, fstat,
 * ftruncate, rename, unlink, mkdir/rmdir) and their errors. Paths are
 * printed relative to DIR so both sides print the same thing.
 *
 * The program is rerunnable: it removes what it creates, except
 * result.txt which it overwrites, so the benchmark can run it repeatedly
 * on the same directory. */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *dir;

/* DIR/name in one of two rotating buffers (rename needs two at once). */
static const char *at(const char *name)
{
	static char buf[2][512];
	static int which;
	which ^= 1;
	snprintf(buf[which], sizeof buf[which], "%s/%s", dir, name);
	return buf[which];
}

/* The size of DIR/name, or the error as a name. */
static void show_stat(const char *name)
{
	struct stat st;
	if (stat(at(name), &st) != 0) {
		printf("  stat %s: %s\n", name, errname(errno));
		return;
	}
	/* A directory's size depends on the file system: not printed. */
	if (S_ISDIR(st.st_mode))
		printf("  stat %s: directory\n", name);
	else if (S_ISREG(st.st_mode))
		printf("  stat %s: regular file, %lld bytes\n", name,
		       (long long)st.st_size);
	else
		printf("  stat %s: other\n", name);
}

/* A syscall-style result: "ok" or the error's name. */
static const char *res(int r)
{
	return r == 0 ? "ok" : errname(errno);
}

static void read_input(void)
{
	puts("== read input.txt (prepared by the runner)");
	FILE *f = fopen(at("input.txt"), "r");
	CHECK(f != NULL);
	char line[256];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		printf("  line %d: [%s]\n", ++n, line);
	}
	printf("  eof=%d error=%d\n", feof(f) != 0, ferror(f) != 0);
	fclose(f);
	show_stat("input.txt");
}

static void stdio_files(void)
{
	puts("== stdio: write, read back, seek, append");
	FILE *f = fopen(at("out.txt"), "w");
	CHECK(f != NULL);
	for (int i = 0; i < 1000; i++)
		fprintf(f, "line %04d: %d\n", i, i * i);
	printf("  ftell after writing: %ld\n", ftell(f));
	CHECK(fclose(f) == 0);
	show_stat("out.txt");

	f = fopen(at("out.txt"), "r");
	CHECK(f != NULL);
	int ok = 0, a, b;
	while (fscanf(f, "line %d: %d\n", &a, &b) == 2)
		ok += b == a * a;
	printf("  fscanf read back %d good lines\n", ok);
	char buf[32] = {0};
	CHECK(fseek(f, 1234, SEEK_SET) == 0);
	size_t got = fread(buf, 1, 20, f);
	for (size_t i = 0; i < got; i++)
		if (buf[i] == '\n')
			buf[i] = '|';
	printf("  at 1234: %zu bytes [%.*s] ftell=%ld\n", got, (int)got - 1,
	       buf, ftell(f));
	CHECK(fseek(f, -10, SEEK_END) == 0);
	got = fread(buf, 1, sizeof buf - 1, f);
	buf[got] = 0;
	printf("  last %zu bytes [%.*s]\n", got, (int)got - 1, buf);
	CHECK(fseek(f, -5, SEEK_CUR) == 0);
	printf("  SEEK_CUR -5: ftell=%ld\n", ftell(f));
	rewind(f);
	printf("  rewind: ftell=%ld first char %c\n", ftell(f), fgetc(f));
	fclose(f);

	f = fopen(at("out.txt"), "a");
	CHECK(f != NULL);
	fputs("appended tail\n", f);
	fclose(f);
	show_stat("out.txt");
	f = fopen(at("out.txt"), "r+");
	CHECK(f != NULL);
	fseek(f, -14, SEEK_END);
	printf("  tail: [%.13s]\n", fgets(buf, sizeof buf, f));
	/* Overwrite in place with r+: the size must not change. */
	fseek(f, 0, SEEK_SET);
	fputs("LINE", f);
	fclose(f);
	show_stat("out.txt");

	printf("  fopen missing for reading: %s\n",
	       fopen(at("missing.txt"), "r") ? "opened?!" : errname(errno));
}

static void posix_files(void)
{
	puts("== POSIX: open flags, read/write, lseek, pread/pwrite, truncate");
	int fd = open(at("out.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644);
	printf("  O_CREAT|O_EXCL on existing: %s\n",
	       fd < 0 ? errname(errno) : "opened?!");
	fd = open(at("bin.dat"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	/* Static: wasm-ld gives the C stack 64 KiB by default. */
	static unsigned char block[65536], back[65536];
	for (size_t i = 0; i < sizeof block; i++)
		block[i] = (unsigned char)(i * 31 + (i >> 8));
	ssize_t w = write(fd, block, sizeof block);
	printf("  write 64 KiB: %zd\n", w);
	/* Writing past the end leaves a hole that reads back as zeros. */
	off_t pos = lseek(fd, 100000, SEEK_SET);
	w = write(fd, "X", 1);
	struct stat st;
	fstat(fd, &st);
	printf("  lseek 100000 + write 1: pos %lld, size %lld\n",
	       (long long)pos, (long long)st.st_size);
	unsigned char hole[100];
	ssize_t r = pread(fd, hole, sizeof hole, 70000);
	int zeros = 0;
	for (ssize_t i = 0; i < r; i++)
		zeros += hole[i] == 0;
	printf("  pread in the hole: %zd bytes, %d zero\n", r, zeros);
	r = pwrite(fd, "pwrite!", 7, 10);
	printf("  pwrite 7 at 10: %zd, file position still %lld\n", r,
	       (long long)lseek(fd, 0, SEEK_CUR));
	lseek(fd, 0, SEEK_SET);
	r = read(fd, back, sizeof back);
	memcpy(block + 10, "pwrite!", 7);
	printf("  read back 64 KiB: %zd bytes, %s\n", r,
	       memcmp(back, block, sizeof back) == 0 ? "identical"
						     : "DIFFERENT");
	printf("  hash %016llx\n",
	       (unsigned long long)fnv1a(FNV_INIT, back, sizeof back));
	printf("  ftruncate to 5000: %s\n", res(ftruncate(fd, 5000)));
	fstat(fd, &st);
	printf("  size now %lld, read at end: %zd\n", (long long)st.st_size,
	       read(fd, back, 10));
	printf("  lseek SEEK_END: %lld\n", (long long)lseek(fd, 0, SEEK_END));
	printf("  fsync: %s\n", res(fsync(fd)));
	close(fd);
	printf("  read on closed fd: %s\n",
	       read(fd, back, 1) < 0 ? errname(errno) : "succeeded?!");

	fd = open(at("append.log"), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
		  0644);
	CHECK(fd >= 0);
	write(fd, "one\n", 4);
	lseek(fd, 0, SEEK_SET); /* O_APPEND: writes still go to the end */
	write(fd, "two\n", 4);
	close(fd);
	fd = open(at("append.log"), O_RDONLY);
	char text[16] = {0};
	r = read(fd, text, sizeof text - 1);
	close(fd);
	printf("  O_APPEND after lseek 0: [%.*s]\n", (int)r - 1, text);

	/* A big file through stdio in odd-sized chunks. */
	FILE *f = fopen(at("big.dat"), "wb");
	uint64_t h = FNV_INIT, rng = 7;
	size_t total = 0;
	while (total < (1 << 20)) {
		unsigned char chunk[3001];
		size_t n = 1 + rng_below(&rng, sizeof chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = (unsigned char)rng_next(&rng);
		fwrite(chunk, 1, n, f);
		h = fnv1a(h, chunk, n);
		total += n;
	}
	fclose(f);
	f = fopen(at("big.dat"), "rb");
	uint64_t h2 = FNV_INIT;
	size_t total2 = 0, n;
	while ((n = fread(block, 1, 4096, f)) > 0) {
		h2 = fnv1a(h2, block, n);
		total2 += n;
	}
	fclose(f);
	printf("  big file: wrote %zu, read %zu, hashes %s\n", total, total2,
	       h == h2 ? "equal" : "DIFFER");
}

static void more(void)
{
	puts("== links, times, large offsets, fcntl, relative paths");
	/* Symbolic and hard links inside the directory. */
	printf("  symlink link.txt -> input.txt: %s\n",
	       res(symlink("input.txt", at("link.txt"))));
	char target[64];
	ssize_t n = readlink(at("link.txt"), target, sizeof target);
	printf("  readlink: %.*s\n", n < 0 ? 0 : (int)n, target);
	struct stat st, lst;
	printf("  stat through the link: %s", res(stat(at("link.txt"), &st)));
	printf(", %lld bytes; lstat: %s, a symlink: %s\n",
	       (long long)st.st_size, res(lstat(at("link.txt"), &lst)),
	       S_ISLNK(lst.st_mode) ? "yes" : "no");
	FILE *f = fopen(at("link.txt"), "r");
	char line[64] = "";
	printf("  read through the link: [%s]\n",
	       f && fgets(line, sizeof line, f) ? strtok(line, "\n")
						: "(failed)");
	if (f)
		fclose(f);
	printf("  readlink on a regular file: %s\n",
	       readlink(at("input.txt"), target, sizeof target) < 0
		       ? errname(errno)
		       : "succeeded?!");
	printf("  hard link: %s", res(link(at("input.txt"), at("hard.txt"))));
	stat(at("hard.txt"), &st);
	printf(", %lld bytes, %lld links\n", (long long)st.st_size,
	       (long long)st.st_nlink);
	printf("  unlink both links: %s %s\n", res(unlink(at("link.txt"))),
	       res(unlink(at("hard.txt"))));
	show_stat("input.txt");

	/* Timestamps set to fixed values read back exactly. */
	f = fopen(at("times.txt"), "w");
	fclose(f);
	struct timespec ts[2] = {{1000000000, 123456789},
				 {1234567890, 987654321}};
	printf("  utimensat: %s",
	       res(utimensat(AT_FDCWD, at("times.txt"), ts, 0)));
	stat(at("times.txt"), &st);
	printf(", atime %lld.%09ld mtime %lld.%09ld\n",
	       (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	int fd = open(at("times.txt"), O_WRONLY);
	struct timespec only_m[2] = {{0, UTIME_OMIT}, {2000000000, 5}};
	printf("  futimens (atime omitted): %s", res(futimens(fd, only_m)));
	fstat(fd, &st);
	printf(", atime %lld.%09ld mtime %lld.%09ld\n",
	       (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	close(fd);
	unlink(at("times.txt"));

	/* Offsets past 4 GiB: 64-bit all the way through (a sparse file). */
	fd = open(at("sparse.dat"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	off_t big = (off_t)5 << 30;
	printf("  lseek to 5 GiB: %lld\n", (long long)lseek(fd, big, SEEK_SET));
	printf("  write there: %zd\n", write(fd, "Z", 1));
	fstat(fd, &st);
	printf("  size %lld\n", (long long)st.st_size);
	char c = 0;
	printf("  pread at 5 GiB: %zd [%c]\n", pread(fd, &c, 1, big), c);
	printf("  ftruncate to 4 GiB + 1: %s",
	       res(ftruncate(fd, ((off_t)4 << 30) + 1)));
	fstat(fd, &st);
	printf(", size %lld\n", (long long)st.st_size);
	close(fd);
	unlink(at("sparse.dat"));

	/* Flags changed after opening. */
	fd = open(at("flags.txt"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(fd, "abc", 3);
	int fl = fcntl(fd, F_GETFL);
	printf("  F_GETFL: read-write %s, append %s\n",
	       (fl & O_ACCMODE) == O_RDWR ? "yes" : "no",
	       fl & O_APPEND ? "yes" : "no");
	printf("  F_SETFL O_APPEND: %s",
	       res(fcntl(fd, F_SETFL, fl | O_APPEND)));
	lseek(fd, 0, SEEK_SET);
	write(fd, "def", 3);
	fstat(fd, &st);
	printf(", then write after lseek 0: size %lld, append now %s\n",
	       (long long)st.st_size,
	       fcntl(fd, F_GETFL) & O_APPEND ? "yes" : "no");
	close(fd);
	unlink(at("flags.txt"));

	/* Paths with . and .. that stay inside the directory, and paths
	 * relative to a working directory set with chdir. */
	mkdir(at("d1"), 0755);
	show_stat("./d1/../input.txt");
	show_stat("d1/./../d1/.");
	printf("  chdir DIR/d1: %s\n", res(chdir(at("d1"))));
	f = fopen("../input.txt", "r");
	printf("  fopen ../input.txt from there: %s\n",
	       f ? "ok" : errname(errno));
	if (f)
		fclose(f);
	f = fopen("rel.txt", "w");
	printf("  create rel.txt there: %s\n", f ? "ok" : errname(errno));
	if (f)
		fclose(f);
	show_stat("d1/rel.txt");
	unlink(at("d1/rel.txt"));
	rmdir(at("d1"));
}

static void names(void)
{
	puts("== rename, unlink, mkdir, rmdir");
	printf("  rename out.txt -> renamed.txt: %s\n",
	       res(rename(at("out.txt"), at("renamed.txt"))));
	show_stat("out.txt");
	show_stat("renamed.txt");
	printf("  rename over an existing file: %s\n",
	       res(rename(at("append.log"), at("renamed.txt"))));
	show_stat("renamed.txt");
	printf("  rename missing: %s\n", res(rename(at("nope"), at("nope2"))));
	printf("  mkdir sub: %s\n", res(mkdir(at("sub"), 0755)));
	printf("  mkdir sub again: %s\n", res(mkdir(at("sub"), 0755)));
	show_stat("sub");
	FILE *f = fopen(at("sub/inner.txt"), "w");
	CHECK(f != NULL);
	fputs("inner\n", f);
	fclose(f);
	printf("  rename into sub: %s\n",
	       res(rename(at("bin.dat"), at("sub/bin.dat"))));
	show_stat("sub/bin.dat");
	printf("  rmdir non-empty: %s\n", res(rmdir(at("sub"))));
	printf("  opendir on a file: %s\n",
	       opendir(at("big.dat")) ? "opened?!" : errname(errno));
	printf("  open missing/x: %s\n", open(at("missing/x"), O_RDONLY) < 0
						 ? errname(errno)
						 : "opened?!");
	printf("  unlink sub/inner.txt: %s\n",
	       res(unlink(at("sub/inner.txt"))));
	printf("  unlink sub/bin.dat: %s\n", res(unlink(at("sub/bin.dat"))));
	printf("  unlink again: %s\n", res(unlink(at("sub/bin.dat"))));
	printf("  rmdir sub: %s\n", res(rmdir(at("sub"))));
	show_stat("sub");
	printf("  unlink big.dat: %s\n", res(unlink(at("big.dat"))));

	/* Errors of operations on the wrong kind of file. */
	CHECK(mkdir(at("da"), 0755) == 0 && mkdir(at("da/inner"), 0755) == 0);
	CHECK(mkdir(at("db"), 0755) == 0 && mkdir(at("db/inner"), 0755) == 0);
	FILE *plain = fopen(at("plain"), "w");
	CHECK(plain != NULL);
	fclose(plain);
	printf("  unlink a directory: %s\n", res(unlink(at("da"))));
	printf("  rmdir a file: %s\n", res(rmdir(at("plain"))));
	printf("  mkdir over a file: %s\n", res(mkdir(at("plain"), 0755)));
	int dfd = open(at("da"), O_WRONLY);
	printf("  open a directory for writing: %s\n",
	       dfd < 0 ? errname(errno) : "opened?!");
	dfd = open(at("da"), O_RDONLY | O_DIRECTORY);
	char byte;
	printf("  read from a directory: %s\n",
	       read(dfd, &byte, 1) < 0 ? errname(errno) : "read?!");
	close(dfd);
	printf("  a file with a trailing slash: %s\n",
	       res(access(at("plain/"), F_OK)));
	printf("  rename a directory over a non-empty one: %s\n",
	       res(rename(at("da"), at("db"))));
	printf("  rename a directory into itself: %s\n",
	       res(rename(at("da"), at("da/inner/x"))));
	printf("  rename a file over a directory: %s\n",
	       res(rename(at("plain"), at("db"))));
	CHECK(rmdir(at("da/inner")) == 0 && rmdir(at("db/inner")) == 0);
	printf("  rename a directory over an empty one: %s\n",
	       res(rename(at("da"), at("db"))));
	show_stat("da");
	show_stat("db");
	CHECK(rmdir(at("db")) == 0 && unlink(at("plain")) == 0);

	/* Timestamps come from the host clock: only check they are sane. */
	struct stat st;
	stat(at("renamed.txt"), &st);
	time_t now = time(NULL);
	printf("  mtime within a day of now: %s\n",
	       st.st_mtime > now - 86400 && st.st_mtime <= now + 86400 ? "yes"
								       : "NO");
	printf("  rename renamed.txt -> result.txt: %s\n",
	       res(rename(at("renamed.txt"), at("result.txt"))));
	show_stat("result.txt");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: files DIR\n");
		return 2;
	}
	dir = argv[1];
	read_input();
	stdio_files();
	posix_files();
	more();
	names();
	return 0;
}
