/*
 * Quicksort of pseudo-random 32-bit ints, several rounds: data-dependent
 * branches, recursion and i32 loads/stores. Hand-written rather than libc's
 * qsort so the work is the same code in every engine (no indirect call per
 * comparison, no libc differences).
 */
#include "kernel.h"

#define QS_MAX (1u << 20)

KERNEL_INPUT uint32_t qs_n = QS_MAX;
KERNEL_INPUT uint32_t qs_rounds = KERNEL_SIZE(15, 3);
KERNEL_INPUT uint64_t qs_seed = 12345;

static int32_t data[QS_MAX];

static void insertion_sort(int32_t *a, int32_t n)
{
	for (int32_t i = 1; i < n; i++) {
		int32_t v = a[i], j = i - 1;
		while (j >= 0 && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

static void swap(int32_t *a, int32_t *b)
{
	int32_t t = *a;
	*a = *b;
	*b = t;
}

static void quicksort(int32_t *a, int32_t n)
{
	/* Recurse into the smaller part and loop on the larger, which bounds
	   the recursion depth by log2(n): wasm's shadow stack is small. */
	while (n > 16) {
		/* Median of three as pivot avoids quadratic time on sorted
		 * runs. */
		int32_t mid = n / 2;
		if (a[mid] < a[0])
			swap(&a[mid], &a[0]);
		if (a[n - 1] < a[0])
			swap(&a[n - 1], &a[0]);
		if (a[n - 1] < a[mid])
			swap(&a[n - 1], &a[mid]);
		int32_t pivot = a[mid];
		int32_t i = 0, j = n - 1;
		for (;;) { /* Hoare partition */
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i >= j)
				break;
			swap(&a[i], &a[j]);
			i++;
			j--;
		}
		int32_t left = j + 1; /* a[0..j] <= pivot <= a[j+1..n-1] */
		if (left < n - left) {
			quicksort(a, left);
			a += left;
			n -= left;
		} else {
			quicksort(a + left, n - left);
			n = left;
		}
	}
	insertion_sort(a, n);
}

KERNEL_EXPORT int32_t run(void)
{
	uint32_t n = qs_n, rounds = qs_rounds;
	uint64_t seed = qs_seed;
	uint32_t sum = 0;
	if (n > QS_MAX)
		n = QS_MAX;
	for (uint32_t r = 0; r < rounds; r++) {
		for (uint32_t i = 0; i < n; i++)
			data[i] = (int32_t)lcg_next(&seed);
		quicksort(data, (int32_t)n);
		/* Weighted by position so only the right order gives the right
		   sum; an out-of-order pair poisons the checksum visibly. */
		for (uint32_t i = 0; i < n; i++) {
			sum += (uint32_t)data[i] * (i + 1);
			if (i > 0 && data[i - 1] > data[i])
				sum ^= 0xdeadbeefu;
		}
	}
	return (int32_t)sum;
}
