/*
 * Integer matrix multiply C = A * B, N x N, 32-bit wrapping arithmetic:
 * i32 multiply-add and row-major memory traffic. The i-k-j loop order keeps
 * the inner loop streaming over contiguous rows of B and C.
 */
#include <string.h>

#include "kernel.h"

#define MM_MAX 512

KERNEL_INPUT uint32_t mm_n = MM_MAX;
KERNEL_INPUT uint32_t mm_reps = KERNEL_SIZE(48, 14);
KERNEL_INPUT uint64_t mm_seed = 42;

static uint32_t a[MM_MAX][MM_MAX], b[MM_MAX][MM_MAX], c[MM_MAX][MM_MAX];

KERNEL_EXPORT int32_t run(void)
{
	uint32_t n = mm_n, reps = mm_reps;
	uint64_t seed = mm_seed;
	uint32_t sum = 0;
	if (n > MM_MAX)
		n = MM_MAX;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++) {
			a[i][j] = lcg_next(&seed) & 0xffff;
			b[i][j] = lcg_next(&seed) & 0xffff;
		}
	for (uint32_t r = 0; r < reps; r++) {
		memset(c, 0, sizeof c);
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t k = 0; k < n; k++) {
				uint32_t aik =
					a[i][k] +
					r; /* each rep computes new values */
				for (uint32_t j = 0; j < n; j++)
					c[i][j] += aik * b[k][j];
			}
		/* Position-dependent hash so a transposed or shifted result
		 * fails. */
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t j = 0; j < n; j++)
				sum = (sum ^ c[i][j]) * 16777619u;
	}
	return (int32_t)sum;
}
