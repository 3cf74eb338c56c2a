/* Standard input, output and error, as pipes and as files.
 *
 *   pipes wc          count lines, words and bytes of stdin, and hash it;
 *                     then what stdin is: lseek, isatty
 *   pipes cat         copy stdin to stdout with read/write in odd sizes
 *   pipes gen N       write N generated lines to stdout (default 100000),
 *                     then 1 MiB with one write()
 *
 * Every mode also writes a line to stderr, which must not end up in
 * stdout. stdin reaching end of file, short reads from a pipe, and
 * large stdout writes are what a runtime's fd_read/fd_write must get
 * right. */
#include "common.h"

#include <string.h>
#include <unistd.h>

static int wc(void)
{
	static unsigned char buf[8192];
	size_t lines = 0, words = 0, bytes = 0, n;
	int in_word = 0;
	uint64_t h = FNV_INIT;
	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
		for (size_t i = 0; i < n; i++) {
			int space = buf[i] == ' ' || buf[i] == '\n' ||
				    buf[i] == '\t';
			lines += buf[i] == '\n';
			words += in_word && space;
			in_word = !space;
		}
		bytes += n;
		h = fnv1a(h, buf, n);
	}
	words += in_word;
	printf("%zu lines, %zu words, %zu bytes, hash %016llx, eof %d, error "
	       "%d\n",
	       lines, words, bytes, (unsigned long long)h, feof(stdin) != 0,
	       ferror(stdin) != 0);
	/* The runner gives stdin as a file and as a pipe: a file can seek and
	 * reading it to the end left the offset at its size, a pipe cannot
	 * (ESPIPE). Neither is a terminal. */
	errno = 0;
	long long pos = (long long)lseek(0, 0, SEEK_CUR);
	int err = errno; /* before isatty, which sets ENOTTY */
	printf("stdin: isatty %d, offset after reading %lld (%s)\n", isatty(0),
	       pos, errname(err));
	fprintf(stderr, "pipes wc: done (this line is on stderr)\n");
	return 0;
}

/* Raw read/write with a size that changes every call, handling short
 * writes as well as short reads. */
static int cat(void)
{
	static char buf[7000];
	size_t sizes[] = {1, 10, 4096, 6999, 333, 7000}, k = 0;
	ssize_t n;
	while ((n = read(0, buf, sizes[k++ % 6])) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, (size_t)(n - off));
			CHECK(w > 0);
			off += w;
		}
	}
	CHECK(n == 0);
	fprintf(stderr, "pipes cat: done after %zu reads\n", k);
	return 0;
}

static int gen(long n)
{
	uint64_t rng = 5;
	for (long i = 0; i < n; i++)
		printf("%08ld %016llx %s\n", i,
		       (unsigned long long)rng_next(&rng),
		       i % 3 ? "fizz" : "buzz");
	/* Then 1 MiB handed over in one write(): a runtime (or a pipe) may
	 * take less than all of it per call, so loop on short writes. */
	fflush(stdout);
	static char block[1 << 20];
	for (size_t i = 0; i < sizeof block; i++)
		block[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
	for (size_t off = 0; off < sizeof block;) {
		ssize_t w = write(1, block + off, sizeof block - off);
		CHECK(w > 0);
		off += (size_t)w;
	}
	fprintf(stderr, "pipes gen: %ld lines\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "wc") == 0)
		return wc();
	if (strcmp(mode, "cat") == 0)
		return cat();
	if (strcmp(mode, "gen") == 0)
		return gen(argc > 2 ? atol(argv[2]) : 100000);
	fprintf(stderr, "usage: pipes wc|cat|gen [N]\n");
	return 2;
}
