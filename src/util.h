/* Small helpers every source file uses: branch hints, allocation that
 * reports failure, and filling a myr_error. */
#ifndef MYR_UTIL_H
#define MYR_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "myriad.h"

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)   ((a) < (b) ? (a) : (b))
#define MAX(a, b)   ((a) > (b) ? (a) : (b))
#define INTERNAL    __attribute__((visibility("hidden")))

/* Fills err (if not NULL) and returns false, so that error paths read
 * `return fail(err, ...)`. The message gets ", at offset 0x..." and
 * ", in function N" appended when offset/func are known. */
bool fail(myr_error *err, myr_errkind kind, uint64_t offset, uint32_t func,
	  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
bool failv(myr_error *err, myr_errkind kind, uint64_t offset, uint32_t func,
	   const char *fmt, va_list ap);
void error_clear(myr_error *err);

/* calloc/realloc that never return NULL for a zero size and whose
 * overflowing products fail instead of wrapping. */
void *xcalloc(size_t n, size_t size);
void *xrealloc_array(void *p, size_t n, size_t size);

#endif
