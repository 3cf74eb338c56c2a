/* A parallel word count with a thousand workers. The text is generated
 * from a fixed seed, cut at spaces into one chunk per worker, and each
 * chunk travels as its worker's first message. Each worker counts the
 * words of its chunk and how often each of the first KEEP vocabulary
 * words appears, and sends the counts back. The totals are checked
 * against a count of the whole text done here in one actor, and the
 * expected-output file holds the known answer.
 *
 *   myriad run wordcount.wasm [WORKERS]     (default 1000)
 */
#include <myriad_actor.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { WORDS = 200000, KEEP = 4, COUNTS = 1 };

static const char *const vocabulary[] = {
	"the",	     "actor", "sends", "a",	     "message", "to",
	"another",   "which", "may",   "crash",	     "and",	"be",
	"restarted", "by",    "its",   "supervisor",
};
enum { VOCABULARY = sizeof vocabulary / sizeof vocabulary[0] };

struct counts {
	int64_t words;
	int64_t keep[KEEP];
};

static int is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\t';
}

static void count(const char *p, size_t n, struct counts *c)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && is_space(p[i]))
			i++;
		size_t start = i;
		while (i < n && !is_space(p[i]))
			i++;
		if (i == start)
			break;
		c->words++;
		for (int k = 0; k < KEEP; k++)
			if (strlen(vocabulary[k]) == i - start &&
			    memcmp(vocabulary[k], p + start, i - start) == 0)
				c->keep[k]++;
	}
}

MYR_ENTRY(worker)
{
	myr_msg_info info;
	char small[1];
	/* Asked with no room first: the result is the chunk's length. */
	int32_t n = myr_receive(MYR_ANY, small, 0, MYR_FOREVER, &info);
	char *chunk = malloc(n > 0 ? (size_t)n : 1);
	if (!chunk ||
	    myr_receive(MYR_ANY, chunk, (size_t)n, MYR_FOREVER, &info) != n)
		exit(1);
	struct counts c = {0};
	count(chunk, (size_t)n, &c);
	myr_send(info.sender, COUNTS, &c, sizeof c);
}

/* The text: WORDS words drawn from the vocabulary by a xorshift generator,
 * separated by one or two spaces or a newline. */
static char *generate(size_t *len)
{
	size_t cap = (size_t)WORDS * 12, n = 0;
	char *text = malloc(cap);
	if (!text)
		return NULL;
	uint32_t x = 2463534242u;
	for (int w = 0; w < WORDS; w++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		const char *word = vocabulary[x % VOCABULARY];
		size_t k = strlen(word);
		memcpy(text + n, word, k);
		n += k;
		unsigned sep = (x >> 8) % 8;
		text[n++] = sep == 0 ? '\n' : ' ';
		if (sep == 1)
			text[n++] = ' ';
	}
	*len = n;
	return text;
}

int main(int argc, char **argv)
{
	long workers = argc > 1 ? atol(argv[1]) : 1000;
	size_t len;
	char *text = generate(&len);
	if (!text || workers < 1)
		return 1;

	myr_pid *pids = malloc((size_t)workers * sizeof *pids);
	if (!pids)
		return 1;
	size_t at = 0;
	long started = 0;
	for (long w = 0; w < workers; w++) {
		size_t end = w == workers - 1 ? len : len * (w + 1) / workers;
		while (end < len && !is_space(text[end]))
			end++;
		if (end < at)
			end = at;
		pids[w] = myr_spawn_entry("worker", text + at, end - at, 0);
		if (pids[w] < 0) {
			fprintf(stderr, "wordcount: spawn %ld failed (%lld)\n",
				w, (long long)pids[w]);
			return 1;
		}
		started++;
		at = end;
	}

	struct counts total = {0};
	for (long got = 0; got < started; got++) {
		struct counts c;
		myr_msg_info info;
		if (myr_receive(COUNTS, &c, sizeof c, MYR_FOREVER, &info) !=
		    (int32_t)sizeof c)
			return 1;
		total.words += c.words;
		for (int k = 0; k < KEEP; k++)
			total.keep[k] += c.keep[k];
	}

	struct counts one = {0};
	count(text, len, &one);
	printf("wordcount: %ld workers, %zu bytes\n", started, len);
	printf("words: %lld\n", (long long)total.words);
	for (int k = 0; k < KEEP; k++)
		printf("%s: %lld\n", vocabulary[k], (long long)total.keep[k]);
	int same = memcmp(&one, &total, sizeof one) == 0;
	puts(same ? "wordcount: matches the count in one actor"
		  : "wordcount: DIFFERS from the count in one actor");
	return same ? 0 : 1;
}
