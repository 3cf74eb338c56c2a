/*
 * A byte-oriented codec: an LZ77 compressor with a hash of the next three
 * bytes (greedy matching, literal runs and back-references in a varint
 * format) and its decompressor, round-tripping a text-like buffer.
 * Byte loads and stores, unpredictable branches, short copy loops: the
 * shape of a parser or a compression library.
 */
#include "kernel.h"

#define LZ_MAX	(1u << 20)
#define LZ_HASH (1u << 14)

KERNEL_INPUT uint32_t lz_len = LZ_MAX;
KERNEL_INPUT uint32_t lz_passes = KERNEL_SIZE(125, 24);
KERNEL_INPUT uint64_t lz_seed = 5;

static uint8_t src[LZ_MAX], packed[LZ_MAX + LZ_MAX / 64 + 64], back[LZ_MAX];
static uint32_t head[LZ_HASH];

static uint8_t *put_varint(uint8_t *p, uint32_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static const uint8_t *get_varint(const uint8_t *p, uint32_t *v)
{
	uint32_t x = 0;
	for (int s = 0;; s += 7) {
		uint8_t b = *p++;
		x |= (uint32_t)(b & 0x7f) << s;
		if (b < 0x80)
			break;
	}
	*v = x;
	return p;
}

/* Tokens: varint (nlit << 1), then nlit bytes; or varint (len << 1 | 1),
 * varint distance. */
static uint32_t compress(uint32_t n)
{
	for (uint32_t i = 0; i < LZ_HASH; i++)
		head[i] = UINT32_MAX;
	uint8_t *o = packed;
	uint32_t lit = 0, i = 0;
	while (i + 3 <= n) {
		uint32_t h = ((uint32_t)src[i] | (uint32_t)src[i + 1] << 8 |
			      (uint32_t)src[i + 2] << 16) *
				     2654435761u >>
			     18;
		uint32_t cand = head[h];
		head[h] = i;
		uint32_t len = 0;
		if (cand != UINT32_MAX && i - cand < 65536)
			while (i + len < n && len < 255 &&
			       src[cand + len] == src[i + len])
				len++;
		if (len >= 4) {
			if (lit) {
				o = put_varint(o, lit << 1);
				for (uint32_t k = i - lit; k < i; k++)
					*o++ = src[k];
				lit = 0;
			}
			o = put_varint(o, len << 1 | 1);
			o = put_varint(o, i - cand);
			i += len;
		} else {
			lit++;
			i++;
		}
	}
	lit += n - i;
	if (lit) {
		o = put_varint(o, lit << 1);
		for (uint32_t k = n - lit; k < n; k++)
			*o++ = src[k];
	}
	return (uint32_t)(o - packed);
}

static uint32_t decompress(uint32_t plen)
{
	const uint8_t *p = packed, *end = packed + plen;
	uint8_t *o = back;
	while (p < end) {
		uint32_t t;
		p = get_varint(p, &t);
		if (t & 1) {
			uint32_t d;
			p = get_varint(p, &d);
			const uint8_t *from = o - d;
			for (uint32_t k = 0; k < (t >> 1); k++)
				o[k] = from[k];
			o += t >> 1;
		} else {
			for (uint32_t k = 0; k < (t >> 1); k++)
				o[k] = p[k];
			o += t >> 1;
			p += t >> 1;
		}
	}
	return (uint32_t)(o - back);
}

KERNEL_EXPORT int32_t run(void)
{
	uint32_t n = lz_len, passes = lz_passes;
	uint64_t seed = lz_seed;
	if (n > LZ_MAX)
		n = LZ_MAX;
	/* Words from a small vocabulary with random spacing: repetitive
	 * enough to compress, irregular enough to branch. */
	static const char *const words[] = {
		"the ",	 "quick ",  "brown ", "fox ",	   "jumps ", "over ",
		"lazy ", "dog ",    "and ",   "runs ",	   "far ",   "away ",
		"\n",	 "myriad ", "wasm ",  "instances "};
	uint32_t sum = 0;
	for (uint32_t pass = 0; pass < passes; pass++) {
		uint32_t i = 0;
		while (i < n) {
			uint32_t r = lcg_next(&seed);
			const char *w = words[r & 15];
			while (*w && i < n)
				src[i++] = (uint8_t)*w++;
			if ((r >> 8 & 7) == 0 && i < n)
				src[i++] = (uint8_t)('0' + (r >> 16) % 10);
		}
		uint32_t plen = compress(n);
		uint32_t dlen = decompress(plen);
		for (uint32_t k = 0; k < dlen; k += 61)
			sum = (sum ^ back[k]) * 16777619u;
		sum += plen + (dlen == n ? 0 : 0x80000000u);
	}
	return (int32_t)sum;
}
