/* qsort, bsearch and the string functions.
 *
 *   strings [N]      sort N numbers and N/4 words (default 20000)
 *
 * qsort and bsearch call back into the program through function pointers
 * (call_indirect on wasm); memmove/memcpy/memset may become bulk memory
 * instructions; strtol and friends are pure integer code with edge cases
 * at every width. Only the "C" locale is used, the same in both libcs. */
#include "common.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorting records by key and then by original index makes qsort's result
 * unique although qsort is not stable. */
typedef struct Rec {
	int key;
	int index;
} Rec;

static int cmp_rec(const void *a, const void *b)
{
	const Rec *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

static void sorting(int n)
{
	puts("== qsort / bsearch");
	uint64_t rng = 12345;
	int *v = malloc(sizeof *v * (size_t)n);
	for (int i = 0; i < n; i++)
		v[i] = (int)(rng_next(&rng) >> 33) - (1 << 30);
	qsort(v, (size_t)n, sizeof *v, cmp_int);
	int sorted = 1;
	for (int i = 1; i < n; i++)
		sorted &= v[i - 1] <= v[i];
	printf("ints: n=%d sorted=%d min=%d median=%d max=%d hash=%016llx\n", n,
	       sorted, v[0], v[n / 2], v[n - 1],
	       (unsigned long long)fnv1a(FNV_INIT, v, sizeof *v * (size_t)n));
	int found = 0;
	for (int i = 0; i < n; i += 7)
		found += bsearch(&v[i], v, (size_t)n, sizeof *v, cmp_int) !=
			 NULL;
	int missing = 1 << 30; /* larger than any value */
	printf("bsearch: found %d of %d, absent key found: %d\n", found,
	       (n + 6) / 7,
	       bsearch(&missing, v, (size_t)n, sizeof *v, cmp_int) != NULL);

	/* Words of random letters, with many duplicates and shared prefixes. */
	int nw = n / 4 > 4 ? n / 4 : 4;
	char **w = malloc(sizeof *w * (size_t)nw);
	for (int i = 0; i < nw; i++) {
		char buf[16];
		int len = 1 + (int)rng_below(&rng, 8);
		for (int j = 0; j < len; j++)
			buf[j] = (char)('a' + rng_below(&rng, 4 + (unsigned)j));
		buf[len] = 0;
		w[i] = strdup(buf);
	}
	qsort(w, (size_t)nw, sizeof *w, cmp_str);
	uint64_t h = FNV_INIT;
	int distinct = 0;
	for (int i = 0; i < nw; i++) {
		h = fnv1a(h, w[i], strlen(w[i]) + 1);
		distinct += i == 0 || strcmp(w[i - 1], w[i]) != 0;
	}
	printf("words: n=%d distinct=%d first=%s last=%s hash=%016llx\n", nw,
	       distinct, w[0], w[nw - 1], (unsigned long long)h);
	for (int i = 0; i < nw; i++)
		free(w[i]);
	free(w);

	Rec r[12];
	for (int i = 0; i < 12; i++)
		r[i] = (Rec){(int)rng_below(&rng, 4), i};
	qsort(r, 12, sizeof r[0], cmp_rec);
	printf("records:");
	for (int i = 0; i < 12; i++)
		printf(" %d/%d", r[i].key, r[i].index);
	putchar('\n');
	free(v);
}

static void tokens(void)
{
	puts("== strtok / strtok_r / strsep-free scanning");
	char text[] = "  the quick,brown fox;; jumps  over,,the lazy dog ";
	int n = 0;
	for (char *t = strtok(text, " ,;"); t; t = strtok(NULL, " ,;"))
		printf("%s[%s]", n++ ? " " : "", t);
	printf(" (%d tokens)\n", n);
	char kv[] = "a=1&bb=22&ccc=&=4&e";
	char *save1, *save2;
	for (char *pair = strtok_r(kv, "&", &save1); pair;
	     pair = strtok_r(NULL, "&", &save1)) {
		char *k = strtok_r(pair, "=", &save2);
		char *v = strtok_r(NULL, "=", &save2);
		printf("  key=%s value=%s\n", k ? k : "(null)",
		       v ? v : "(null)");
	}
	const char *s = "hello, world: hello again";
	printf("strchr=%td strrchr=%td strstr=%td strstr(miss)=%d\n",
	       strchr(s, 'o') - s, strrchr(s, 'o') - s,
	       strstr(s, "hello a") - s, strstr(s, "xyz") != NULL);
	printf("strspn=%zu strcspn=%zu strpbrk=%td memchr=%td memrchr-free\n",
	       strspn(s, "ehl"), strcspn(s, ",:"), strpbrk(s, ":,") - s,
	       (const char *)memchr(s, 'w', strlen(s)) - s);
}

static void memory(void)
{
	puts("== memmove / memcpy / memset / memcmp");
	char buf[64];
	for (int i = 0; i < 64; i++)
		buf[i] = (char)('A' + i % 26);
	memmove(buf + 3, buf, 20); /* overlapping, forwards */
	printf("%.30s\n", buf);
	memmove(buf, buf + 5, 20); /* overlapping, backwards */
	printf("%.30s\n", buf);
	memset(buf + 10, '-', 5);
	memcpy(buf + 20, "0123456789", 10);
	printf("%.40s\n", buf);
	/* A larger overlapping move, in both directions, checked bytewise. */
	static unsigned char big[70000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)(i * 7 + (i >> 9));
	memmove(big + 1001, big, 60000);
	int ok = 1;
	for (size_t i = 0; i < 60000; i++)
		ok &= big[1001 + i] == (unsigned char)(i * 7 + (i >> 9));
	memmove(big, big + 1001, 60000);
	for (size_t i = 0; i < 60000; i++)
		ok &= big[i] == (unsigned char)(i * 7 + (i >> 9));
	printf("big overlapping memmove ok: %d\n", ok);
	int c1 = memcmp("abc\xff", "abc\x01", 4), c2 = memcmp("abc", "abd", 3);
	printf("memcmp signs: %d %d %d\n", (c1 > 0) - (c1 < 0),
	       (c2 > 0) - (c2 < 0), memcmp("same", "same", 4));
	int s1 = strcmp("apple", "apricot"),
	    s2 = strncmp("apple", "apricot", 2);
	printf("strcmp signs: %d %d %d\n", (s1 > 0) - (s1 < 0), s2,
	       strcasecmp("HeLLo", "hello"));
	char dst[12];
	memset(dst, 'x', sizeof dst);
	strncpy(dst, "abc", 6); /* pads with NULs up to 6 */
	printf("strncpy: %d %d %d %c\n", dst[3], dst[4], dst[5], dst[6]);
	char cat[32] = "foo";
	strncat(cat, "barbaz", 3);
	strcat(cat, "!");
	printf("strcat: %s len=%zu strnlen=%zu\n", cat, strlen(cat),
	       strnlen(cat, 4));
	char *d = strndup("duplicate me", 9);
	printf("strndup: [%s]\n", d);
	free(d);
}

static void numbers(void)
{
	puts("== strtol family");
	static const struct {
		const char *s;
		int base;
	} cases[] = {
		{"0", 10},
		{"-0", 10},
		{"  +42xyz", 10},
		{"0x1F", 0},
		{"0x1F", 16},
		{"1F", 16},
		{"0755", 0},
		{"0b101", 0},
		{"101", 2},
		{"zz", 36},
		{"Zz", 36},
		{"2147483647", 10},
		{"2147483648", 10},
		{"-2147483649", 10},
		{"9223372036854775807", 10},
		{"9223372036854775808", 10},
		{"-9223372036854775808", 10},
		{"-9223372036854775809", 10},
		{"18446744073709551615", 10},
		{"18446744073709551616", 10},
		{"-1", 10},
		{"", 10},
		{"   ", 10},
		{"-", 10},
		{"0x", 16},
		{"12 34", 10},
		{"7fffffff", 16},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *s = cases[i].s;
		char *end;
		errno = 0;
		long long ll = strtoll(s, &end, cases[i].base);
		int e1 = errno;
		long consumed1 = end - s;
		errno = 0;
		unsigned long long ull = strtoull(s, &end, cases[i].base);
		int e2 = errno;
		errno = 0;
		/* long is 32-bit on wasm32 and 64-bit natively: its range
		 * differs, so strtol's result is printed through int32 limits
		 * only when it fits both. */
		long l = strtol(s, NULL, cases[i].base);
		int fits = l >= INT32_MIN && l <= INT32_MAX && errno != ERANGE;
		/* Only ERANGE is compared: when nothing is converted musl also
		 * sets EINVAL and glibc leaves errno alone (POSIX allows both).
		 */
		printf("\"%s\"/%d: ll=%lld(%s, used %ld) ull=%llu(%s) l%s\n", s,
		       cases[i].base, ll, e1 == ERANGE ? "ERANGE" : "-",
		       consumed1, ull, e2 == ERANGE ? "ERANGE" : "-",
		       fits ? "=fits" : ":out of int32");
	}
	printf("atoi=%d atol=%ld atoll=%lld\n", atoi(" -123abc"), atol("456"),
	       atoll("-9000000000"));
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%s|%5.2s|%-4d|%c", "abc", "xyz", 7,
			 'q');
	printf("snprintf: [%s] %d\n", buf, n);
	int upper = 0, alpha = 0, digit = 0, space = 0, punct = 0;
	for (int c = 0; c < 128; c++) {
		upper += toupper(c) != c;
		alpha += isalpha(c) != 0;
		digit += isdigit(c) != 0;
		space += isspace(c) != 0;
		punct += ispunct(c) != 0;
	}
	printf("ctype over ASCII: toupper changes %d, alpha %d, digit %d, "
	       "space %d, punct %d\n",
	       upper, alpha, digit, space, punct);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	if (n < 16)
		n = 16;
	sorting(n);
	tokens();
	memory();
	numbers();
	return 0;
}
