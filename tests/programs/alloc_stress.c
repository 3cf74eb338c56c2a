/* A randomized allocator stress test with verification.
 *
 *   alloc_stress [OPS]      (default 50000)
 *
 * Keeps a few thousand live blocks of random sizes (mostly small, some of
 * tens of KiB, a few of a MiB), and at every step frees, reallocates or
 * allocates one at random. Every block is filled with a pattern derived
 * from its slot and generation and checked in full before it is freed or
 * reallocated, so a store that landed in the wrong place, a lost
 * memory.grow, or a realloc that did not preserve contents is caught. On
 * wasm, malloc is dlmalloc inside linear memory, so this exercises
 * memory.grow, memory.copy/fill (memcpy, memset) and many loads/stores.
 * The output is a summary that depends only on the sequence of
 * operations, never on addresses. */
#include "common.h"

#include <stdbool.h>
#include <string.h>

#define SLOTS 4096

typedef struct Block {
	unsigned char *p;
	size_t size;
	uint32_t gen; /* which allocation of this slot: part of the pattern */
} Block;

static Block blocks[SLOTS];

static unsigned char pattern(size_t slot, uint32_t gen, size_t i)
{
	return (unsigned char)(slot * 31 + gen * 7 + i * 13 + (i >> 8));
}

static void fill(size_t slot, size_t from)
{
	Block *b = &blocks[slot];
	for (size_t i = from; i < b->size; i++)
		b->p[i] = pattern(slot, b->gen, i);
}

/* Checks the first n bytes of a block, returns how many were wrong. */
static size_t verify(size_t slot, size_t n)
{
	Block *b = &blocks[slot];
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += b->p[i] != pattern(slot, b->gen, i);
	return bad;
}

/* Mostly small sizes, as real programs allocate, with a tail of large
 * ones that force the heap to grow and to reuse big free chunks. */
static size_t random_size(uint64_t *rng)
{
	uint32_t r = rng_below(rng, 1000);
	if (r < 700)
		return 1 + rng_below(rng, 64);
	if (r < 950)
		return 64 + rng_below(rng, 2048);
	if (r < 998)
		return 4096 + rng_below(rng, 60000);
	return 512 * 1024 + rng_below(rng, 1024 * 1024);
}

int main(int argc, char **argv)
{
	long ops = argc > 1 ? strtol(argv[1], NULL, 10) : 50000;
	uint64_t rng = 0x9E3779B97F4A7C15u;
	size_t live = 0, peak = 0, nlive = 0, bad = 0;
	long n_malloc = 0, n_calloc = 0, n_realloc = 0, n_free = 0;
	uint64_t bytes_checked = 0;

	for (long op = 0; op < ops; op++) {
		size_t slot = rng_below(&rng, SLOTS);
		Block *b = &blocks[slot];
		uint32_t what = rng_below(&rng, 10);
		if (b->p && what < 5) { /* free */
			bad += verify(slot, b->size);
			bytes_checked += b->size;
			free(b->p);
			live -= b->size;
			nlive--;
			b->p = NULL;
			n_free++;
		} else if (b->p) { /* realloc: contents up to min(old,new) kept
				    */
			size_t size = random_size(&rng);
			unsigned char *p = realloc(b->p, size);
			CHECK(p != NULL);
			b->p = p;
			size_t keep = size < b->size ? size : b->size;
			bad += verify(slot, keep);
			bytes_checked += keep;
			live = live - b->size + size;
			b->size = size;
			fill(slot, keep);
			n_realloc++;
		} else if (what < 8) { /* malloc */
			b->size = random_size(&rng);
			b->p = malloc(b->size);
			CHECK(b->p != NULL);
			b->gen++;
			fill(slot, 0);
			live += b->size;
			nlive++;
			n_malloc++;
		} else { /* calloc: must come back zeroed, even reused memory */
			size_t count = 1 + rng_below(&rng, 16);
			size_t each = 1 + rng_below(&rng, 512);
			b->size = count * each;
			b->p = calloc(count, each);
			CHECK(b->p != NULL);
			for (size_t i = 0; i < b->size; i++)
				bad += b->p[i] != 0;
			b->gen++;
			fill(slot, 0);
			live += b->size;
			nlive++;
			n_calloc++;
		}
		if (live > peak)
			peak = live;
	}

	/* Aligned allocations: only whether they are aligned is printed. */
	bool aligned = true;
	for (size_t align = 8; align <= 65536; align *= 2) {
		void *p = aligned_alloc(align, align * 3);
		void *q = NULL;
		CHECK(p != NULL && posix_memalign(&q, align, 100) == 0);
		aligned &= ((uintptr_t)p % align == 0) &&
			   ((uintptr_t)q % align == 0);
		memset(p, 0xAB, align * 3);
		free(p);
		free(q);
	}

	/* An allocation the heap cannot satisfy fails cleanly (volatile: clang
	 * may otherwise drop an unused malloc and assume it succeeded). */
	void *volatile huge = malloc(SIZE_MAX - 65536);
	bool huge_failed = huge == NULL;
	free(huge);

	for (size_t s = 0; s < SLOTS; s++) {
		if (blocks[s].p) {
			bad += verify(s, blocks[s].size);
			bytes_checked += blocks[s].size;
			free(blocks[s].p);
		}
	}
	printf("ops %ld: malloc %ld, calloc %ld, realloc %ld, free %ld\n", ops,
	       n_malloc, n_calloc, n_realloc, n_free);
	printf("live blocks at end %zu, peak live bytes %zu\n", nlive, peak);
	printf("bytes verified %llu, bad bytes %zu\n",
	       (unsigned long long)bytes_checked, bad);
	printf("aligned_alloc/posix_memalign aligned: %s\n",
	       aligned ? "yes" : "NO");
	printf("malloc(SIZE_MAX - 64K) failed: %s\n",
	       huge_failed ? "yes" : "NO");
	return bad != 0;
}
