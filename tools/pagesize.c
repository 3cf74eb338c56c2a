/*
 * Rewrites a module's memory to the custom-page-sizes form: page size 1
 * byte, minimum and maximum both BYTES. wat2wasm (wabt 1.0.32) cannot
 * write `(pagesize 1)`, so the demo module is assembled with a 64 KiB page
 * and then passed through this. The module must define exactly one
 * memory; imports are copied as they are (so it must not import a
 * memory, which would not be rewritten).
 *
 *   pagesize IN.wasm OUT.wasm BYTES
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t read_leb(const uint8_t *p, size_t n, size_t *at, uint32_t *v)
{
	uint32_t r = 0;
	unsigned shift = 0;
	while (*at < n && shift < 35) {
		uint8_t b = p[(*at)++];
		r |= (uint32_t)(b & 0x7F) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			*v = r;
			return 1;
		}
	}
	return 0;
}

static size_t write_leb(uint8_t *out, uint32_t v)
{
	size_t n = 0;
	do {
		uint8_t b = v & 0x7F;
		v >>= 7;
		out[n++] = b | (v ? 0x80 : 0);
	} while (v);
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: pagesize IN.wasm OUT.wasm BYTES\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	static uint8_t in[1 << 20], out[(1 << 20) + 64];
	size_t n = fread(in, 1, sizeof in, f);
	fclose(f);
	uint32_t bytes = (uint32_t)strtoul(argv[3], NULL, 0);
	if (n < 8 || memcmp(in, "\0asm", 4) != 0) {
		fprintf(stderr, "%s: not a wasm module\n", argv[1]);
		return 1;
	}
	size_t at = 8, o = 8;
	memcpy(out, in, 8);
	int found = 0;
	while (at < n) {
		uint8_t id = in[at++];
		uint32_t size;
		if (!read_leb(in, n, &at, &size) || at + size > n) {
			fprintf(stderr, "%s: malformed section\n", argv[1]);
			return 1;
		}
		if (id == 5 && found) {
			fprintf(stderr,
				"%s: several memory sections are not "
				"supported\n",
				argv[1]);
			return 1;
		}
		if (id == 5) {
			/* One memory: flags 0x09 = has maximum | custom page
			 * size, then min, max, and log2 of the page size. */
			uint8_t body[16];
			size_t b = 0;
			body[b++] = 1;
			body[b++] = 0x09;
			b += write_leb(body + b, bytes);
			b += write_leb(body + b, bytes);
			body[b++] = 0;
			out[o++] = 5;
			o += write_leb(out + o, (uint32_t)b);
			memcpy(out + o, body, b);
			o += b;
			found = 1;
		} else {
			out[o++] = id;
			o += write_leb(out + o, size);
			memcpy(out + o, in + at, size);
			o += size;
		}
		at += size;
	}
	if (!found) {
		fprintf(stderr, "%s: no memory section\n", argv[1]);
		return 1;
	}
	f = fopen(argv[2], "wb");
	if (!f || fwrite(out, 1, o, f) != o || fclose(f) != 0) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
