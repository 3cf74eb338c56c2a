/* What demo/fill.wat's run(id) returns, computed natively, summed over
 * instances 0..N-1 modulo 2^64: the demo compares it with the sum myriad
 * reports. Usage: expect N */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t word(uint32_t seed, uint32_t i)
{
	uint32_t x = (seed ^ i) * 0x27d4eb2du;
	return x ^ (x >> 15);
}

static uint64_t run(uint32_t id)
{
	uint64_t sum = 0;
	for (uint32_t pass = 0; pass < 2; pass++) {
		uint32_t seed = id * 0x9e3779b1u + pass * 0x85ebca6bu;
		for (uint32_t i = 0; i < 4096; i++)
			sum = sum * 31 + word(seed, i);
	}
	return sum;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: expect N\n");
		return 2;
	}
	uint64_t n = strtoull(argv[1], NULL, 10), total = 0;
	for (uint64_t id = 0; id < n; id++)
		total += run((uint32_t)id);
	printf("%" PRIu64 "\n", total);
	return 0;
}
