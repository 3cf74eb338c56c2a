/* A WASI program for examples/run_wasi.c: an ordinary C program, built
 * with clang --target=wasm32-wasi against wasi-libc. It reads its
 * arguments and environment like any other, and its exit status comes
 * back to the host. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	const char *greeting = getenv("GREETING");
	if (argc < 2) {
		fprintf(stderr, "usage: %s NAME...\n", argv[0]);
		return 3;
	}
	for (int i = 1; i < argc; i++)
		printf("%s, %s!\n", greeting ? greeting : "Hello", argv[i]);
	return 0;
}
