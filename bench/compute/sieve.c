/*
 * Sieve of Eratosthenes over a byte array, repeated: byte loads and stores
 * in tight loops with a strided inner loop.
 */
#include <string.h>

#include "kernel.h"

#define SIEVE_MAX (4u << 20) /* static size of the array: 4 MiB */

KERNEL_INPUT uint32_t sieve_limit = SIEVE_MAX;
KERNEL_INPUT uint32_t sieve_passes = KERNEL_SIZE(72, 30);

static uint8_t composite[SIEVE_MAX];

KERNEL_EXPORT int32_t run(void)
{
	uint32_t limit = sieve_limit, passes = sieve_passes;
	uint32_t sum = 0;
	if (limit > SIEVE_MAX)
		limit = SIEVE_MAX;
	for (uint32_t p = 0; p < passes; p++) {
		memset(composite, 0, limit);
		for (uint32_t i = 2; (uint64_t)i * i < limit; i++)
			if (!composite[i])
				for (uint32_t j = i * i; j < limit; j += i)
					composite[j] = 1;
		/* Fold every prime found into the checksum, mixed with the pass
		   number so that repeating the same pass is not a no-op. */
		uint32_t count = 0, acc = 0;
		for (uint32_t i = 2; i < limit; i++)
			if (!composite[i]) {
				count++;
				acc = acc * 31 + i;
			}
		sum += (count ^ acc) + p;
	}
	return (int32_t)sum;
}
