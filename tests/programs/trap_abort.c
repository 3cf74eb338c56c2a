/* abort(): natively the process dies of SIGABRT; in wasi-libc abort() is
 * the wasm `unreachable` instruction, so a WASI runtime reports a trap.
 * The line printed and flushed before must still reach stdout. */
#include "common.h"

int main(void)
{
	puts("about to abort");
	fflush(stdout);
	abort();
}
