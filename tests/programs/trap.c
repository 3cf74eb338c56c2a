/* Programs that fault, one way per mode:
 *
 *   trap oob          load from an address far outside memory
 *   trap nullfn       call through a null function pointer
 *   trap divzero      integer division by zero
 *   trap unreachable  __builtin_trap()
 *   trap stack        unbounded recursion
 *
 * Natively each is a signal (SIGSEGV, SIGSEGV, SIGFPE, SIGILL, SIGSEGV);
 * on wasm each is a trap ("out of bounds memory access", "uninitialized
 * element" since table slot 0 is always null in clang's output, "integer
 * divide by zero", "unreachable", "call stack exhausted"). Values come
 * through volatile variables and argv so clang cannot see the fault at
 * compile time and replace it with something else (undefined behaviour
 * lets it). A line is printed and flushed first; it must not be lost. */
#include "common.h"

#include <string.h>

static volatile int sink, limit = 1 << 30;

/* Far deeper than any stack: the side effect after the call keeps clang
 * from turning the recursion into a loop, and there are no locals whose
 * address is taken, so on wasm the depth is bounded by the engine's call
 * stack, not by the 64 KiB C stack in linear memory. */
static int recurse(int depth)
{
	if (depth >= limit)
		return 0;
	int r = recurse(depth + 1);
	sink = r;
	return r + 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr,
			"usage: trap oob|nullfn|divzero|unreachable|stack\n");
		return 2;
	}
	const char *mode = argv[1];
	printf("trap mode %s\n", mode);
	fflush(stdout);
	if (strcmp(mode, "oob") == 0) {
		volatile uintptr_t addr = 0xfffffff0u;
		sink = *(volatile int *)addr;
	} else if (strcmp(mode, "nullfn") == 0) {
		void (*volatile fn)(void) = NULL;
		fn();
	} else if (strcmp(mode, "divzero") == 0) {
		volatile int zero = 0;
		sink = argc / zero;
	} else if (strcmp(mode, "unreachable") == 0) {
		__builtin_trap();
	} else if (strcmp(mode, "stack") == 0) {
		sink = recurse(0);
	} else {
		fprintf(stderr, "trap: unknown mode %s\n", mode);
		return 2;
	}
	puts("still running: the fault did not happen");
	return 0;
}
