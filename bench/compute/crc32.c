/*
 * Table-driven CRC-32 (the reflected IEEE polynomial used by zlib and
 * Ethernet) over a pseudo-random buffer, several passes: byte loads, a
 * dependent table lookup per byte, shifts and xors.
 */
#include "kernel.h"

#define CRC_BUF_MAX (1u << 20)

KERNEL_INPUT uint32_t crc_len = CRC_BUF_MAX;
KERNEL_INPUT uint32_t crc_passes = KERNEL_SIZE(480, 100);
KERNEL_INPUT uint64_t crc_seed = 1;

static uint8_t buf[CRC_BUF_MAX];
static uint32_t table[256];

KERNEL_EXPORT int32_t run(void)
{
	uint32_t len = crc_len, passes = crc_passes;
	uint64_t seed = crc_seed;
	if (len > CRC_BUF_MAX)
		len = CRC_BUF_MAX;
	/* The table is built at run time, not written as a literal: it costs
	   ~2k iterations, nothing next to the passes, and exercises the shifts.
	 */
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		table[n] = c;
	}
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)lcg_next(&seed);
	/* The CRC state carries across passes: each pass depends on the last,
	   so none can be skipped or computed once and reused. */
	uint32_t crc = 0xFFFFFFFFu;
	for (uint32_t p = 0; p < passes; p++)
		for (uint32_t i = 0; i < len; i++)
			crc = table[(crc ^ buf[i]) & 0xFF] ^ (crc >> 8);
	return (int32_t)~crc;
}
