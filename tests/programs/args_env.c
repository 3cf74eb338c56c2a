/* Command-line arguments and the environment.
 *
 * Prints every argument after argv[0] (argv[0] is the program's path
 * natively and whatever the runtime chooses on wasm, so only its presence
 * is checked), escaping bytes outside printable ASCII so empty, spaced
 * and UTF-8 arguments are visible; then the environment variables whose
 * names start with MYR_TEST_, sorted (environ's order is not specified,
 * and the runtime or shell may add variables of its own), and a few
 * getenv lookups. */
#include "common.h"

#include <string.h>

extern char **environ;

static void print_escaped(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p >= 0x20 && *p < 0x7f)
			putchar(*p);
		else
			printf("\\x%02x", *p);
	}
	putchar('"');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	printf("argc=%d argv[0] present: %s argv[argc] is NULL: %s\n", argc,
	       argv[0] && argv[0][0] ? "yes" : "no",
	       argv[argc] == NULL ? "yes" : "no");
	for (int i = 1; i < argc; i++) {
		printf("argv[%d] len %zu ", i, strlen(argv[i]));
		print_escaped(argv[i]);
		putchar('\n');
	}

	size_t n = 0;
	for (char **e = environ; *e; e++)
		n += strncmp(*e, "MYR_TEST_", 9) == 0;
	char **mine = malloc(sizeof *mine * (n + 1));
	n = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "MYR_TEST_", 9) == 0)
			mine[n++] = *e;
	qsort(mine, n, sizeof *mine, cmp_str);
	printf("%zu MYR_TEST_ variables:\n", n);
	for (size_t i = 0; i < n; i++) {
		printf("  ");
		print_escaped(mine[i]);
		putchar('\n');
	}
	free(mine);

	static const char *names[] = {"MYR_TEST_A", "MYR_TEST_EMPTY",
				      "MYR_TEST_EQUALS", "MYR_TEST_MISSING"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *v = getenv(names[i]);
		printf("getenv(%s) = ", names[i]);
		if (v)
			print_escaped(v);
		else
			printf("(unset)");
		putchar('\n');
	}
	/* setenv/unsetenv change only this process's copy. */
	setenv("MYR_TEST_A", "changed", 1);
	setenv("MYR_TEST_NEW", "new", 0);
	unsetenv("MYR_TEST_EMPTY");
	printf("after setenv: A=%s NEW=%s EMPTY=%s\n", getenv("MYR_TEST_A"),
	       getenv("MYR_TEST_NEW"),
	       getenv("MYR_TEST_EMPTY") ? "set" : "(unset)");
	return 0;
}
