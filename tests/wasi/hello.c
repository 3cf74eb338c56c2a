/* One line per instance from an ordinary wasi-libc program, as lean as
 * one gets: the whole-lines tests and the million-instance run. It
 * writes with write(2) rather than printf, whose deeper calls cost each
 * instance more value stack and linear memory; see CMakeLists.txt for
 * the stack it is linked with and docs/architecture.md ("WASI") for what
 * an instance of it costs. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	const char *i = getenv("MYRIAD_INSTANCE");
	const char *n = getenv("MYRIAD_INSTANCES");
	char line[96] = "hello from instance ";
	strncat(line, i ? i : "?", 24);
	strcat(line, " of ");
	strncat(line, n ? n : "?", 24);
	strcat(line, "\n");
	return write(1, line, strlen(line)) < 0;
}
