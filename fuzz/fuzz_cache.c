/*
 * cache: the code cache's file format (src/codecache.c), which a process
 * reads back from disk and then runs. Byte 0 chooses how the input
 * becomes a file:
 *   0: as it is (mostly refused at the magic, version or checksum);
 *   1: after a valid header for the module, with a valid checksum, so
 *      that the object count, function lists and lengths are what is
 *      fuzzed;
 *   2: objects made from the input (counts and function lists mostly
 *      valid, some empty, repeated or past the module's functions) and
 *      serialized, then one byte of the file changed or the file cut
 *      short where the input says.
 * A file that parses must hold only functions the module defines, each
 * once, and serialize back to exactly its bytes; a file that does not
 * must say why. In mode 2 the file must parse exactly when its objects
 * are valid (an independent check), to the same objects, and every
 * change or cut of a valid file must be refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Noreturn void finding(const char *what)
{
	fprintf(stderr, "fuzz_cache: %s\n", what);
	abort();
}

static const uint8_t *module_hash(void)
{
	static uint8_t h[32];
	static bool done;
	if (!done) {
		code_sha256((const uint8_t *)"fuzz", 4, h);
		done = true;
	}
	return h;
}

/* Parses buf; if it parses, checks its objects and that they serialize
 * back to buf, and hands them out if asked. Returns whether it parsed. */
static bool parse_and_check(const uint8_t *buf, size_t len, uint32_t ndef,
			    CodeObj **objs_out, size_t *n_out)
{
	CodeObj *objs = NULL;
	size_t n = 0;
	char why[128] = "";
	if (!code_parse(buf, len, module_hash(), ndef, &objs, &n, why,
			sizeof why)) {
		if (!why[0])
			finding("a refused file without a reason");
		return false;
	}
	uint8_t *seen = calloc(ndef ? ndef : 1, 1);
	if (!seen)
		abort();
	for (size_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < objs[i].n; k++) {
			uint32_t d = objs[i].defs[k];
			if (d >= ndef || seen[d])
				finding("a parsed file names a function twice "
					"or one the module lacks");
			seen[d] = 1;
		}
	free(seen);
	uint8_t *again = NULL;
	size_t again_len = 0;
	if (!code_serialize(module_hash(), objs, n, &again, &again_len))
		abort();
	if (again_len != len || memcmp(again, buf, len) != 0)
		finding("a parsed file does not serialize back to itself");
	free(again);
	if (objs_out) {
		*objs_out = objs;
		*n_out = n;
	} else {
		code_objs_free(objs, n);
	}
	return true;
}

/* The bytes a valid file for the module starts with: the header alone
 * (a file of no objects, less its count and checksum). */
static size_t header(uint8_t **out)
{
	size_t len = 0;
	if (!code_serialize(module_hash(), NULL, 0, out, &len) || len < 36)
		abort();
	return len - 36;
}

static void wrapped(const uint8_t *data, size_t size, uint32_t ndef)
{
	uint8_t *head = NULL;
	size_t hlen = header(&head);
	uint8_t *buf = malloc(hlen + size + 32);
	if (!buf)
		abort();
	memcpy(buf, head, hlen);
	if (size)
		memcpy(buf + hlen, data, size);
	code_sha256(buf, hlen + size, buf + hlen + size);
	parse_and_check(buf, hlen + size + 32, ndef, NULL, NULL);
	free(buf);
	free(head);
}

/* Whether objs is a file code_parse must accept for a module of ndef
 * defined functions: at most ndef objects, each of 1 to ndef functions,
 * every function one the module defines and named once. */
static bool valid(const CodeObj *objs, size_t nobj, uint32_t ndef)
{
	if (nobj > ndef)
		return false;
	for (size_t i = 0; i < nobj; i++) {
		if (objs[i].n == 0 || objs[i].n > ndef)
			return false;
		for (uint32_t k = 0; k < objs[i].n; k++) {
			if (objs[i].defs[k] >= ndef)
				return false;
			for (size_t j = 0; j <= i; j++)
				for (uint32_t l = 0;
				     l < (j == i ? k : objs[j].n); l++)
					if (objs[j].defs[l] == objs[i].defs[k])
						return false;
		}
	}
	return true;
}

/* The checks of mode 2 on a file that parsed to back[0..nback). */
static void check_made(uint8_t *buf, size_t len, uint32_t ndef,
		       const CodeObj *objs, size_t nobj, CodeObj *back,
		       size_t nback, uint32_t flip, uint8_t xor, uint32_t cut)
{
	if (nback != nobj)
		finding("a file parses to another object count");
	for (size_t i = 0; i < nobj; i++)
		if (back[i].n != objs[i].n || back[i].len != objs[i].len ||
		    memcmp(back[i].defs, objs[i].defs,
			   objs[i].n * sizeof *objs[i].defs) != 0 ||
		    memcmp(back[i].bytes, objs[i].bytes, objs[i].len) != 0)
			finding("a file parses to other objects");
	code_objs_free(back, nback);
	char why[64];
	if (xor) {
		buf[flip % len] ^= xor;
		if (code_parse(buf, len, module_hash(), ndef, &back, &nback,
			       why, sizeof why))
			finding("a file with a changed byte is accepted");
		buf[flip % len] ^= xor;
	}
	if (cut % len && code_parse(buf, cut % len, module_hash(), ndef, &back,
				    &nback, why, sizeof why))
		finding("a file cut short is accepted");
}

static void made(const uint8_t *data, size_t size, uint32_t ndef)
{
	size_t at = 0;
#define NEXT() (at < size ? data[at++] : 0)
	size_t nobj = NEXT() % 5;
	CodeObj objs[4] = {0};
	for (size_t i = 0; i < nobj; i++) {
		CodeObj *o = &objs[i];
		o->n = NEXT() % 5;
		o->defs = malloc((o->n ? o->n : 1) * sizeof *o->defs);
		o->len = NEXT() % 48;
		o->bytes = malloc(o->len ? o->len : 1);
		if (!o->defs || !o->bytes)
			abort();
		/* Mostly distinct and in range; a few repeated or past the
		 * module's functions. */
		for (uint32_t k = 0; k < o->n; k++) {
			uint8_t v = NEXT();
			o->defs[k] =
				v < 240	  ? (uint32_t)(i * 8 + k) % (ndef + 1)
				: v < 248 ? (uint32_t)(v % 8)
					  : ndef + (v & 1);
		}
		for (size_t k = 0; k < o->len; k++)
			o->bytes[k] = NEXT();
	}
	uint32_t flip = NEXT();
	flip |= (uint32_t)NEXT() << 8;
	uint8_t xor = NEXT();
	uint32_t cut = NEXT();
	cut |= (uint32_t)NEXT() << 8;
#undef NEXT
	bool want = valid(objs, nobj, ndef);
	uint8_t *buf = NULL;
	size_t len = 0;
	if (!code_serialize(module_hash(), objs, nobj, &buf, &len))
		abort();
	CodeObj *back = NULL;
	size_t nback = 0;
	bool got = parse_and_check(buf, len, ndef, &back, &nback);
	if (got != want)
		finding(want ? "a valid file is refused"
			     : "an invalid file is accepted");
	if (got)
		check_made(buf, len, ndef, objs, nobj, back, nback, flip, xor,
			   cut);
	free(buf);
	for (size_t i = 0; i < nobj; i++) {
		free(objs[i].defs);
		free(objs[i].bytes);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint32_t ndef = data[1] | (uint32_t)(data[2] & 3) << 8;
	switch (data[0] % 3) {
	case 0:
		parse_and_check(data + 3, size - 3, ndef, NULL, NULL);
		break;
	case 1:
		wrapped(data + 3, size - 3, ndef);
		break;
	default:
		made(data + 3, size - 3, ndef);
		break;
	}
	return 0;
}
