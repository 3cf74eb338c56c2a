/* Shared by the test programs: each program is compiled twice from the
 * same source, natively (glibc) and to wasm32-wasi (wasi-libc), and must
 * print exactly the same thing both ways. These helpers print things whose
 * raw form differs between the two C libraries (errno values and messages)
 * in a form that does not. */
#ifndef PROGRAMS_COMMON_H
#define PROGRAMS_COMMON_H

/* POSIX and BSD functions (nanosleep, strdup, scandir, ...) with -std=c11. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* errno's symbolic name. The numbers differ between Linux and WASI and
 * strerror's wording differs between glibc and wasi-libc, so the names
 * are the only thing both sides can agree on. */
static inline const char *errname(int e)
{
	switch (e) {
	case 0:
		return "0";
	case ENOENT:
		return "ENOENT";
	case EEXIST:
		return "EEXIST";
	case ENOTDIR:
		return "ENOTDIR";
	case EISDIR:
		return "EISDIR";
	case ENOTEMPTY:
		return "ENOTEMPTY";
	case EBADF:
		return "EBADF";
	case EINVAL:
		return "EINVAL";
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	case ERANGE:
		return "ERANGE";
	case EDOM:
		return "EDOM";
	case ENOMEM:
		return "ENOMEM";
	case ESPIPE:
		return "ESPIPE";
	case ENAMETOOLONG:
		return "ENAMETOOLONG";
	case ELOOP:
		return "ELOOP";
	case EXDEV:
		return "EXDEV";
	case ENOSYS:
		return "ENOSYS";
	case ENOTSUP:
		return "ENOTSUP";
	default:
		return "E?";
	}
}

/* Deterministic pseudo-random numbers (xorshift64*): the same sequence on
 * every platform, so "random" tests are reproducible. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

/* A uniform-enough number in [0, n). */
static inline uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)((rng_next(s) >> 32) % n);
}

/* FNV-1a, to summarize large outputs in one line. */
static inline uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}
#define FNV_INIT UINT64_C(0xcbf29ce484222325)

/* Fails the program with a message naming the line: a check that should
 * never fail natively or on a correct runtime. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("CHECK FAILED line %d: %s\n", __LINE__, #cond); \
			exit(99);                                              \
		}                                                              \
	} while (0)

#endif
