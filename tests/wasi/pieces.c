/* Output in pieces: a line written by three separate fd_writes, two
 * lines in one, and a last line without its newline, which the runtime
 * ends when the instance ends. Checks that lines stay whole however an
 * instance cuts them. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	const char *i = getenv("MYRIAD_INSTANCE");
	if (!i)
		i = "?";
	printf("piece ");
	fflush(stdout);
	printf("by piece ");
	fflush(stdout);
	printf("%s\n", i);
	fflush(stdout);
	printf("two %s\nlines %s\n", i, i);
	fflush(stdout);
	fprintf(stderr, "err %s\n", i);
	printf("unfinished %s", i);
	return 0;
}
