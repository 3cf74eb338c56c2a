/*
 * The code cache's file format (codecache.h). All integers little-endian:
 *
 *   "MYRCODE\n"              magic
 *   u32 format               CODE_FORMAT
 *   u8[32] module            SHA-256 of the module's bytes
 *   u8[16] version           MYR_VERSION, NUL-padded
 *   u64 abi                  jit_abi_hash()
 *   u32 cpu_len, cpu[...]    jit_cpu_key()
 *   u32 nobjs, then per object:
 *     u32 ndefs, u32 defs[ndefs], u64 len, u8 obj[len]
 *   u8[32] SHA-256 of everything before it
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "codecache.h"
#include "jit.h"
#include "myriad.h"

#define CODE_MAGIC  "MYRCODE\n"
#define CODE_FORMAT 1u

void code_sha256(const uint8_t *p, size_t len, uint8_t out[32])
{
	unsigned olen = 32;
	if (!EVP_Digest(p, len, out, &olen, EVP_sha256(), NULL))
		memset(out, 0, 32);
}

typedef struct Buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
} Buf;

static void put(Buf *b, const void *src, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_u32(Buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			(uint8_t)(v >> 24)};
	put(b, x, 4);
}

static void put_u64(Buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_header(Buf *b, const uint8_t mhash[32])
{
	char version[16] = {0};
	snprintf(version, sizeof version, "%s", MYR_VERSION);
	const char *cpu = jit_cpu_key();
	put(b, CODE_MAGIC, 8);
	put_u32(b, CODE_FORMAT);
	put(b, mhash, 32);
	put(b, version, 16);
	put_u64(b, jit_abi_hash());
	put_u32(b, (uint32_t)strlen(cpu));
	put(b, cpu, strlen(cpu));
}

bool code_serialize(const uint8_t mhash[32], const CodeObj *objs, size_t n,
		    uint8_t **out, size_t *out_len)
{
	Buf b = {0};
	put_header(&b, mhash);
	put_u32(&b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		put_u32(&b, objs[i].n);
		for (uint32_t k = 0; k < objs[i].n; k++)
			put_u32(&b, objs[i].defs[k]);
		put_u64(&b, objs[i].len);
		put(&b, objs[i].bytes, objs[i].len);
	}
	uint8_t sum[32];
	if (!b.oom) {
		code_sha256(b.p, b.len, sum);
		put(&b, sum, 32);
	}
	if (b.oom) {
		free(b.p);
		return false;
	}
	*out = b.p;
	*out_len = b.len;
	return true;
}

typedef struct Rd {
	const uint8_t *p, *end;
} Rd;

static bool get(Rd *r, void *dst, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return false;
	memcpy(dst, r->p, n);
	r->p += n;
	return true;
}

static bool get_u32(Rd *r, uint32_t *v)
{
	uint8_t x[4];
	if (!get(r, x, 4))
		return false;
	*v = x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 |
	     (uint32_t)x[3] << 24;
	return true;
}

static bool get_u64(Rd *r, uint64_t *v)
{
	uint32_t lo, hi;
	if (!get_u32(r, &lo) || !get_u32(r, &hi))
		return false;
	*v = lo | (uint64_t)hi << 32;
	return true;
}

void code_objs_free(CodeObj *objs, size_t n)
{
	if (!objs)
		return;
	for (size_t i = 0; i < n; i++) {
		free(objs[i].defs);
		free(objs[i].bytes);
	}
	free(objs);
}

#define WHY(...) (snprintf(why, why_len, __VA_ARGS__), false)

static bool check_header(Rd *r, const uint8_t mhash[32], char *why,
			 size_t why_len)
{
	Buf want = {0};
	put_header(&want, mhash);
	if (want.oom)
		return WHY("out of memory");
	size_t have = (size_t)(r->end - r->p);
	const uint8_t *p = r->p;
	bool ok = false;
	if (have < 8 || memcmp(p, CODE_MAGIC, 8) != 0)
		WHY("not a myriad code file");
	else if (have < 12 || memcmp(p + 8, want.p + 8, 4) != 0)
		WHY("format version differs (this myriad reads %u)",
		    CODE_FORMAT);
	else if (have < 44 || memcmp(p + 12, want.p + 12, 32) != 0)
		WHY("compiled from a different module");
	else if (have < 60 || memcmp(p + 44, want.p + 44, 16) != 0)
		WHY("made by a different myriad version");
	else if (have < want.len ||
		 memcmp(p + 60, want.p + 60, want.len - 60) != 0)
		WHY("made by another build of myriad or for another CPU");
	else
		ok = true, r->p += want.len;
	free(want.p);
	return ok;
}

bool code_parse(const uint8_t *buf, size_t len, const uint8_t mhash[32],
		uint32_t ndef, CodeObj **objs_out, size_t *n_out, char *why,
		size_t why_len)
{
	if (len < 8 || memcmp(buf, CODE_MAGIC, 8) != 0)
		return WHY("not a myriad code file");
	uint8_t sum[32];
	if (len < 12 + 32)
		return WHY("truncated (%zu bytes)", len);
	if (buf[8] != (CODE_FORMAT & 0xff) || buf[9] || buf[10] || buf[11])
		return WHY("format version differs (this myriad reads %u)",
			   CODE_FORMAT);
	code_sha256(buf, len - 32, sum);
	if (memcmp(sum, buf + len - 32, 32) != 0)
		return WHY("corrupt or truncated (checksum mismatch)");
	Rd r = {buf, buf + len - 32};
	if (!check_header(&r, mhash, why, why_len))
		return false;
	uint32_t nobj;
	if (!get_u32(&r, &nobj) || nobj > ndef)
		return WHY("malformed object count");
	CodeObj *objs = calloc(nobj ? nobj : 1, sizeof *objs);
	uint8_t *seen = calloc(ndef ? ndef : 1, 1);
	bool ok = objs && seen;
	if (!ok)
		WHY("out of memory");
	for (uint32_t i = 0; ok && i < nobj; i++) {
		CodeObj *o = &objs[i];
		uint64_t olen;
		if (!get_u32(&r, &o->n) || o->n == 0 || o->n > ndef) {
			ok = WHY("object %u: malformed function count", i);
			break;
		}
		o->defs = calloc(o->n, sizeof *o->defs);
		if (!o->defs) {
			ok = WHY("out of memory");
			break;
		}
		for (uint32_t k = 0; ok && k < o->n; k++) {
			if (!get_u32(&r, &o->defs[k]) || o->defs[k] >= ndef ||
			    seen[o->defs[k]])
				ok = WHY("object %u: malformed function list",
					 i);
			else
				seen[o->defs[k]] = 1;
		}
		if (!ok)
			break;
		if (!get_u64(&r, &olen) || olen > (uint64_t)(r.end - r.p)) {
			ok = WHY("object %u: truncated", i);
			break;
		}
		o->len = (size_t)olen;
		o->bytes = malloc(o->len ? o->len : 1);
		if (!o->bytes || !get(&r, o->bytes, o->len))
			ok = WHY("out of memory");
	}
	if (ok && r.p != r.end)
		ok = WHY("trailing bytes");
	free(seen);
	if (!ok) {
		code_objs_free(objs, nobj);
		return false;
	}
	*objs_out = objs;
	*n_out = nobj;
	return true;
}

char *code_cache_path(const char *dir, const uint8_t mhash[32])
{
	/* The name holds the whole key, so code for another CPU or version
	 * sits beside it instead of replacing it. */
	Buf key = {0};
	put_header(&key, mhash);
	if (key.oom)
		return NULL;
	uint8_t h[32];
	code_sha256(key.p, key.len, h);
	free(key.p);
	size_t n = strlen(dir) + 1 + 64 + 6;
	char *path = malloc(n);
	if (!path)
		return NULL;
	int k = snprintf(path, n, "%s/", dir);
	for (int i = 0; i < 32; i++)
		k += snprintf(path + k, n - (size_t)k, "%02x", h[i]);
	snprintf(path + k, n - (size_t)k, ".myrc");
	return path;
}

bool code_read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	uint8_t *p = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			uint8_t *np = realloc(p, cap);
			if (!np) {
				free(p);
				fclose(f);
				return false;
			}
			p = np;
		}
		size_t got = fread(p + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	bool ok = !ferror(f);
	fclose(f);
	if (!ok) {
		free(p);
		return false;
	}
	*buf = p;
	*len = n;
	return true;
}

/* mkdir -p of the directory part of path. */
static bool make_parent(const char *path)
{
	char *d = strdup(path);
	if (!d)
		return false;
	char *slash = strrchr(d, '/');
	if (slash)
		*slash = 0;
	for (char *p = d + 1; slash && *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(d, 0755) != 0 && errno != EEXIST) {
			free(d);
			return false;
		}
		*p = '/';
	}
	bool ok = !slash || mkdir(d, 0755) == 0 || errno == EEXIST;
	free(d);
	return ok;
}

bool code_write_file(const char *path, const uint8_t *buf, size_t len,
		     char *why, size_t why_len)
{
	if (!make_parent(path))
		return WHY("cannot create the directory of %s: %s", path,
			   strerror(errno));
	size_t n = strlen(path) + 32;
	char *tmp = malloc(n);
	if (!tmp)
		return WHY("out of memory");
	snprintf(tmp, n, "%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	bool ok = fd >= 0;
	size_t done = 0;
	while (ok && done < len) {
		ssize_t w = write(fd, buf + done, len - done);
		if (w <= 0)
			ok = false;
		else
			done += (size_t)w;
	}
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (ok && rename(tmp, path) != 0)
		ok = false;
	if (!ok) {
		WHY("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return ok;
}
