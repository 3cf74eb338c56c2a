/* Exit codes: how the program ends decides the process's exit status.
 *
 *   exit_code exit N      exit(N) (stdio is flushed first)
 *   exit_code return N    return N from main
 *   exit_code atexit N    an atexit handler prints, then exit(N)
 *   exit_code _Exit N     _Exit(N): no atexit handlers, no stdio flush
 *
 * Each mode prints a line before ending; the "exit" mode also leaves a
 * line without its newline in stdout's buffer, which exit must flush. */
#include "common.h"

#include <string.h>

static void handler(void)
{
	puts("atexit handler ran");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr,
			"usage: exit_code exit|return|atexit|_Exit N\n");
		return 2;
	}
	const char *mode = argv[1];
	int n = atoi(argv[2]);
	printf("mode %s, code %d\n", mode, n);
	if (strcmp(mode, "exit") == 0) {
		printf("unterminated line, flushed by exit");
		exit(n);
	}
	if (strcmp(mode, "return") == 0)
		return n;
	if (strcmp(mode, "atexit") == 0) {
		atexit(handler);
		exit(n);
	}
	if (strcmp(mode, "_Exit") == 0) {
		/* Written before _Exit, so it must appear even though _Exit
		 * skips stdio: fflush hands it to the runtime first. */
		fflush(stdout);
		printf("never flushed");
		_Exit(n);
	}
	fprintf(stderr, "exit_code: unknown mode %s\n", mode);
	return 2;
}
