/* The out-of-line parts of the byte reader: LEB128 and UTF-8. */
#include "reader.h"

bool rd_fail(Reader *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	failv(r->err, MYR_ERR_MALFORMED, rd_offset(r), r->func, fmt, ap);
	va_end(ap);
	return false;
}

bool rd_fail_at(Reader *r, uint64_t offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	failv(r->err, MYR_ERR_MALFORMED, offset, r->func, fmt, ap);
	va_end(ap);
	return false;
}

bool rd_leb_slow(Reader *r, unsigned bits, bool is_signed, uint64_t *out)
{
	uint64_t result = 0;
	unsigned shift = 0;
	const unsigned max_bytes = (bits + 6) / 7;
	const uint8_t *start = r->p;
	for (unsigned i = 0;; i++) {
		if (r->p >= r->end)
			return rd_fail(r, "unexpected end");
		uint8_t byte = *r->p++;
		if (i == max_bytes - 1) {
			if (byte & 0x80)
				return rd_fail_at(
					r, (uint64_t)(start - r->base),
					"integer representation too long");
			/* Bits of the last byte that lie beyond `bits`: zero
			 * for unsigned, copies of the sign bit for signed. */
			unsigned used = bits - shift; /* 1..7 */
			uint8_t extra = (uint8_t)(0x7F & ~((1u << used) - 1));
			if (is_signed) {
				bool neg = (byte >> (used - 1)) & 1;
				if ((byte & extra) != (neg ? extra : 0))
					return rd_fail_at(
						r, (uint64_t)(start - r->base),
						"integer too large");
			} else if (byte & extra) {
				return rd_fail_at(r,
						  (uint64_t)(start - r->base),
						  "integer too large");
			}
		}
		result |= (uint64_t)(byte & 0x7F) << shift;
		shift += 7;
		if (!(byte & 0x80)) {
			if (is_signed && shift < 64 && (byte & 0x40))
				result |= ~(uint64_t)0 << shift;
			break;
		}
	}
	if (bits < 64) {
		uint64_t mask = ((uint64_t)1 << bits) - 1;
		if (is_signed) {
			/* Sign-extend from `bits` so callers can cast. */
			uint64_t sign = (uint64_t)1 << (bits - 1);
			result &= mask;
			result = (result ^ sign) - sign;
		} else {
			result &= mask;
		}
	}
	*out = result;
	return true;
}

bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		unsigned n;
		uint32_t cp, min;
		if ((c & 0xE0) == 0xC0) {
			n = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

bool rd_name(Reader *r, const char **s, uint32_t *len)
{
	uint32_t n;
	const uint8_t *b;
	if (!rd_u32(r, &n))
		return false;
	if (n > rd_left(r))
		return rd_fail(r, "unexpected end (name length %u)", n);
	uint64_t at = rd_offset(r);
	if (!rd_bytes(r, n, &b))
		return false;
	if (!utf8_valid(b, n))
		return rd_fail_at(r, at, "malformed UTF-8 encoding");
	*s = (const char *)b;
	*len = n;
	return true;
}
