/*
 * Native driver for one compute kernel. It is compiled with
 * -DKERNEL_SOURCE="path/to/kernel.c" and includes that file, so the
 * kernel's own definition of run() fixes the result type and the output
 * format follows from it: exactly one line as the myriad CLI prints a
 * result ("i32:-5", "i64:123"), so the harness can compare them as strings.
 */
#include <inttypes.h>
#include <stdio.h>

#include KERNEL_SOURCE

static void print_i32(int32_t v)
{
	printf("i32:%" PRId32 "\n", v);
}
static void print_i64(int64_t v)
{
	printf("i64:%" PRId64 "\n", v);
}
static void print_f64(double v)
{
	printf("f64:%.17g\n", v);
}

int main(void)
{
	/* A kernel returning another type fails to compile here, on purpose. */
	_Generic(run(),
		int32_t: print_i32,
		int64_t: print_i64,
		double: print_f64)(run());
	return 0;
}
