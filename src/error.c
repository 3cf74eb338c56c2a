/* Filling myr_error: one line that says what went wrong and where. */
#include <stdio.h>

#include "util.h"

static const char *const trap_messages[MYR_TRAP_COUNT_] = {
	[MYR_TRAP_NONE] = "no trap",
	[MYR_TRAP_UNREACHABLE] = "unreachable",
	[MYR_TRAP_INT_OVERFLOW] = "integer overflow",
	[MYR_TRAP_DIV_BY_ZERO] = "integer divide by zero",
	[MYR_TRAP_INVALID_CONVERSION] = "invalid conversion to integer",
	[MYR_TRAP_MEMORY_OOB] = "out of bounds memory access",
	[MYR_TRAP_TABLE_OOB] = "out of bounds table access",
	[MYR_TRAP_UNDEFINED_ELEMENT] = "undefined element",
	[MYR_TRAP_UNINITIALIZED_ELEMENT] = "uninitialized element",
	[MYR_TRAP_INDIRECT_TYPE_MISMATCH] = "indirect call type mismatch",
	[MYR_TRAP_STACK_EXHAUSTED] = "call stack exhausted",
	[MYR_TRAP_HOST] = "host trap",
	[MYR_TRAP_EXIT] = "exit",
	[MYR_TRAP_LIMIT] = "resource limit exceeded",
};

const char *myr_trap_message(myr_trap trap)
{
	if ((unsigned)trap >= MYR_TRAP_COUNT_)
		return "unknown trap";
	return trap_messages[trap];
}

void error_clear(myr_error *err)
{
	if (!err)
		return;
	memset(err, 0, sizeof *err);
	err->offset = MYR_NO_OFFSET;
	err->func = MYR_NO_FUNC;
}

bool failv(myr_error *err, myr_errkind kind, uint64_t offset, uint32_t func,
	   const char *fmt, va_list ap)
{
	if (!err)
		return false;
	err->kind = kind;
	err->trap = MYR_TRAP_NONE;
	err->offset = offset;
	err->func = func;
	size_t cap = sizeof err->message;
	int n = vsnprintf(err->message, cap, fmt, ap);
	size_t used = n < 0 ? 0 : MIN((size_t)n, cap - 1);
	if (func != MYR_NO_FUNC && used < cap) {
		n = snprintf(err->message + used, cap - used,
			     ", in function %u", func);
		used = n < 0 ? used : MIN(used + (size_t)n, cap - 1);
	}
	if (offset != MYR_NO_OFFSET && used < cap)
		snprintf(err->message + used, cap - used, ", at offset 0x%llx",
			 (unsigned long long)offset);
	return false;
}

bool fail(myr_error *err, myr_errkind kind, uint64_t offset, uint32_t func,
	  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	failv(err, kind, offset, func, fmt, ap);
	va_end(ap);
	return false;
}

void *xcalloc(size_t n, size_t size)
{
	if (n == 0 || size == 0)
		n = size = 1;
	return calloc(n, size);
}

void *xrealloc_array(void *p, size_t n, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return realloc(p, bytes ? bytes : 1);
}
