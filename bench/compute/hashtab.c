/*
 * An open-addressing hash table (linear probing, 64-bit keys, 32-bit
 * values) under a mix of inserts, lookups that hit and miss, and
 * deletions with backward-shift: data-dependent branches and random
 * accesses over a table larger than the caches, the shape of a key-value
 * service rather than a numeric loop.
 */
#include "kernel.h"

#define HT_LOG2 20
#define HT_SIZE (1u << HT_LOG2)

KERNEL_INPUT uint32_t ht_ops = KERNEL_SIZE(27000000, 8000000);
KERNEL_INPUT uint32_t ht_keys = 600000; /* live keys stay near this */
KERNEL_INPUT uint64_t ht_seed = 99;

static uint64_t keys[HT_SIZE]; /* 0: empty */
static uint32_t vals[HT_SIZE];

static uint32_t slot_of(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k & (HT_SIZE - 1);
}

static void erase(uint32_t i)
{
	/* Backward-shift deletion: later entries of the run move up so that
	 * no lookup stops early at the hole. */
	for (;;) {
		uint32_t j = i;
		for (;;) {
			j = (j + 1) & (HT_SIZE - 1);
			if (keys[j] == 0) {
				keys[i] = 0;
				return;
			}
			uint32_t home = slot_of(keys[j]);
			if (((j - home) & (HT_SIZE - 1)) >=
			    ((j - i) & (HT_SIZE - 1)))
				break;
		}
		keys[i] = keys[j];
		vals[i] = vals[j];
		i = j;
	}
}

KERNEL_EXPORT int32_t run(void)
{
	uint32_t ops = ht_ops, nkeys = ht_keys;
	uint64_t seed = ht_seed;
	uint32_t sum = 0, live = 0;
	for (uint32_t n = 0; n < ops; n++) {
		uint32_t r = lcg_next(&seed);
		/* Keys from a range twice the target population: about half
		 * the lookups miss. */
		uint64_t k =
			(uint64_t)(r % (2 * nkeys)) * 0x9e3779b97f4a7c15ull | 1;
		uint32_t i = slot_of(k);
		while (keys[i] != 0 && keys[i] != k)
			i = (i + 1) & (HT_SIZE - 1);
		uint32_t what = (r >> 28) & 3;
		if (keys[i] == k) {
			if (what == 0 && live > nkeys / 2) {
				erase(i);
				live--;
			} else {
				vals[i] += r;
				sum = (sum ^ vals[i]) * 16777619u;
			}
		} else if (what != 3 && live < nkeys) {
			keys[i] = k;
			vals[i] = r;
			live++;
		} else {
			sum += i;
		}
	}
	return (int32_t)(sum ^ live);
}
