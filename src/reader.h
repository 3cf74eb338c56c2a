/*
 * A cursor over module bytes with the binary format's primitive readers
 * (bytes, LEB128 integers, floats). Shared by the decoder and the function
 * compiler. Every reader returns false on malformed input after filling
 * the error with the spec's wording and the byte offset; callers
 * propagate false.
 */
#ifndef MYR_READER_H
#define MYR_READER_H

#include "util.h"

typedef struct Reader {
	const uint8_t *p;
	const uint8_t *end;
	const uint8_t *base; /* start of the module: offsets are p - base */
	myr_error *err;
	uint32_t func; /* function index for messages, or MYR_NO_FUNC */
} Reader;

static inline uint64_t rd_offset(const Reader *r)
{
	return (uint64_t)(r->p - r->base);
}

static inline bool rd_eof(const Reader *r)
{
	return r->p >= r->end;
}

static inline size_t rd_left(const Reader *r)
{
	return (size_t)(r->end - r->p);
}

/* Malformed-input error at the reader's position. */
bool rd_fail(Reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, at an explicit offset. */
bool rd_fail_at(Reader *r, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline bool rd_u8(Reader *r, uint8_t *out)
{
	if (UNLIKELY(r->p >= r->end))
		return rd_fail(r, "unexpected end");
	*out = *r->p++;
	return true;
}

static inline bool rd_bytes(Reader *r, size_t n, const uint8_t **out)
{
	if (UNLIKELY(rd_left(r) < n))
		return rd_fail(r, "unexpected end");
	*out = r->p;
	r->p += n;
	return true;
}

/* LEB128 of at most `bits` bits (32, 33 or 64), signed or not. The spec
 * makes three malformations distinct: running off the end ("unexpected
 * end"), more bytes than ceil(bits/7) ("integer representation too long")
 * and set bits beyond `bits` in the last byte ("integer too large"). */
bool rd_leb_slow(Reader *r, unsigned bits, bool is_signed, uint64_t *out);

static inline bool rd_u32(Reader *r, uint32_t *out)
{
	if (LIKELY(r->p < r->end && *r->p < 0x80)) {
		*out = *r->p++;
		return true;
	}
	uint64_t v;
	if (!rd_leb_slow(r, 32, false, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static inline bool rd_s32(Reader *r, int32_t *out)
{
	uint64_t v;
	if (!rd_leb_slow(r, 32, true, &v))
		return false;
	*out = (int32_t)(uint32_t)v;
	return true;
}

static inline bool rd_s33(Reader *r, int64_t *out)
{
	uint64_t v;
	if (!rd_leb_slow(r, 33, true, &v))
		return false;
	*out = (int64_t)v;
	return true;
}

static inline bool rd_u64(Reader *r, uint64_t *out)
{
	return rd_leb_slow(r, 64, false, out);
}

static inline bool rd_s64(Reader *r, int64_t *out)
{
	uint64_t v;
	if (!rd_leb_slow(r, 64, true, &v))
		return false;
	*out = (int64_t)v;
	return true;
}

static inline bool rd_f32(Reader *r, uint32_t *bits)
{
	const uint8_t *b;
	if (!rd_bytes(r, 4, &b))
		return false;
	memcpy(bits, b, 4);
	return true;
}

static inline bool rd_f64(Reader *r, uint64_t *bits)
{
	const uint8_t *b;
	if (!rd_bytes(r, 8, &b))
		return false;
	memcpy(bits, b, 8);
	return true;
}

/* A name: u32 length then that many bytes of valid UTF-8. */
bool rd_name(Reader *r, const char **s, uint32_t *len);

/* True if bytes[0..len) is valid UTF-8 (no overlongs, no surrogates, at
 * most U+10FFFF). */
bool utf8_valid(const uint8_t *bytes, size_t len);

#endif
