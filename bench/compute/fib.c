/* Recursive Fibonacci: measures call/return cost and little else. */
#include "kernel.h"

KERNEL_INPUT int32_t fib_n = KERNEL_SIZE(43, 40);

static uint32_t fib(int32_t n)
{
	/* Unsigned so fib(n) for large n wraps instead of overflowing (UB). */
	return n < 2 ? (uint32_t)n : fib(n - 1) + fib(n - 2);
}

KERNEL_EXPORT int32_t run(void)
{
	return (int32_t)fib(fib_n);
}
