/* myriad, the command-line tool.
 *
 *   myriad run [OPTION...] MODULE.wasm [--] [ARG...]
 *   myriad run [OPTION...] MODULE.wasm --invoke NAME [ARG...]
 *   myriad validate MODULE.wasm
 *   myriad inspect [--json] MODULE.wasm
 *   myriad --help | --version
 *
 * Commands and options are two tables: adding one is adding a row (and,
 * for an option, a field in Options). Every module runs with WASI
 * preview1 available; the exit statuses are listed in `usage`. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Command line                                                        */

/* Which commands an option belongs to. */
enum {
	CMD_RUN = 1u << 0,
	CMD_VALIDATE = 1u << 1,
	CMD_INSPECT = 1u << 2,
	CMD_COMPILE = 1u << 3,
	CMD_ALL = ~0u
};

typedef struct Option {
	const char *name;
	const char *metavar; /* NULL if the option takes no value */
	unsigned commands;
	const char *help;
	bool (*set)(Options *o, const char *value);
} Option;

static bool set_invoke(Options *o, const char *value)
{
	o->invoke = value;
	return true;
}

static bool set_fuel(Options *o, const char *value)
{
	char *end;
	errno = 0;
	long long n = strtoll(value, &end, 10);
	if (errno || *end || end == value || n <= 0)
		return false;
	o->fuel = n;
	return true;
}

/* "1us", "500ns", "10s", "2m", or a bare number of nanoseconds. */
static bool parse_duration(const char *value, uint64_t *ns)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	if (errno || end == value || v < 0)
		return false;
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"", 1},	 {"ns", 1},   {"us", 1e3},  {"ms", 1e6},
		     {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	for (size_t i = 0; i < COUNT_OF(units); i++)
		if (strcmp(end, units[i].unit) == 0) {
			*ns = (uint64_t)(v * units[i].ns);
			return *ns > 0;
		}
	return false;
}

/* "65536", "64K", "16KiB", "2M", "1G": bytes (K = 1024). */
static bool parse_size(const char *value, uint64_t *bytes)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 0);
	if (errno || end == value || *value == '-')
		return false;
	static const struct {
		const char *unit;
		unsigned shift;
	} units[] = {{"", 0},	 {"B", 0},    {"K", 10},   {"KiB", 10},
		     {"KB", 10}, {"M", 20},   {"MiB", 20}, {"MB", 20},
		     {"G", 30},	 {"GiB", 30}, {"GB", 30}};
	for (size_t i = 0; i < COUNT_OF(units); i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v > (UINT64_MAX >> units[i].shift))
				return false;
			*bytes = (uint64_t)v << units[i].shift;
			return true;
		}
	return false;
}

static bool set_count(uint64_t *out, const char *value, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(value, &end, 10);
	if (errno || *end || end == value || n == 0 || n > max || *value == '-')
		return false;
	*out = n;
	return true;
}

static bool set_instances(Options *o, const char *value)
{
	return set_count(&o->instances, value, UINT64_C(1) << 32);
}

static bool set_threads(Options *o, const char *value)
{
	uint64_t n;
	if (!set_count(&n, value, 1024))
		return false;
	o->threads = (uint32_t)n;
	return true;
}

static bool set_slice(Options *o, const char *value)
{
	return parse_duration(value, &o->slice_ns);
}

static bool set_duration(Options *o, const char *value)
{
	return parse_duration(value, &o->duration_ns);
}

static bool set_max_memory(Options *o, const char *value)
{
	return parse_size(value, &o->max_memory) && o->max_memory > 0;
}

static bool set_max_stack(Options *o, const char *value)
{
	return parse_size(value, &o->max_stack) && o->max_stack >= 64;
}

/* --dir HOST[::GUEST] */
static bool set_max_message(Options *o, const char *value)
{
	return parse_size(value, &o->max_message) && o->max_message > 0 &&
	       o->max_message <= INT32_MAX;
}

static bool set_max_mailbox(Options *o, const char *value)
{
	return parse_size(value, &o->max_mailbox) && o->max_mailbox > 0;
}

static bool set_max_queued(Options *o, const char *value)
{
	return parse_size(value, &o->max_queued) && o->max_queued > 0;
}

static bool set_max_actors(Options *o, const char *value)
{
	return set_count(&o->max_actors, value, (UINT64_C(1) << 24) - 2) &&
	       o->max_actors > 0;
}

static bool set_stats(Options *o, const char *value)
{
	(void)value;
	o->stats = true;
	return true;
}

static bool set_dir(Options *o, const char *value)
{
	if (!*value || strncmp(value, "::", 2) == 0)
		return false;
	o->dirs[o->ndirs++] = value;
	return true;
}

/* --env KEY=VALUE, or KEY: the host's value of KEY (nothing if unset). */
static bool set_env(Options *o, const char *value)
{
	if (!*value || *value == '=')
		return false;
	o->envs[o->nenvs++] = value;
	return true;
}

static bool set_json(Options *o, const char *value)
{
	(void)value;
	o->json = true;
	return true;
}

static bool set_tier(Options *o, const char *value)
{
	o->tier_set = true;
	return myr_tier_parse(value, &o->tier) && o->tier != MYR_TIER_MIXED;
}

static bool set_cache_dir(Options *o, const char *value)
{
	o->cache_dir = value;
	return *value != 0;
}

static bool set_no_cache(Options *o, const char *value)
{
	(void)value;
	o->no_cache = true;
	return true;
}

static bool set_code(Options *o, const char *value)
{
	o->code = value;
	return *value != 0;
}

static bool set_output(Options *o, const char *value)
{
	o->output = value;
	return *value != 0;
}

static bool set_help(Options *o, const char *value)
{
	(void)value;
	o->help = true;
	return true;
}

static const Option options[] = {
	{"--invoke", "NAME", CMD_RUN,
	 "call the exported function NAME with the arguments (parsed by its "
	 "parameter types) and print its results, instead of running _start; "
	 "a reactor's _initialize runs first",
	 set_invoke},
	{"--dir", "HOST[::GUEST]", CMD_RUN,
	 "give the program the host directory HOST, named GUEST (default: "
	 "HOST); paths never reach outside it (repeatable)",
	 set_dir},
	{"--env", "KEY=VALUE", CMD_RUN,
	 "set an environment variable; KEY alone passes the host's value. "
	 "Nothing else of the host environment is passed (repeatable)",
	 set_env},
	{"--fuel", "N", CMD_RUN,
	 "give the run N units of fuel (about N instructions) in all; when "
	 "they are spent it traps with \"fuel exhausted\". With --instances: "
	 "a fixed N per time slice instead of slices timed by --slice",
	 set_fuel},
	{"--instances", "N", CMD_RUN,
	 "run N instances at once under the scheduler. A WASI command: each "
	 "runs _start with MYRIAD_INSTANCE=0..N-1 and MYRIAD_INSTANCES=N in "
	 "its environment, stdin empty, output in whole lines, and the "
	 "figures go to stderr. With --invoke: each calls NAME (with its "
	 "index if NAME takes one i32) and the figures go to stdout",
	 set_instances},
	{"--threads", "T", CMD_RUN,
	 "worker threads for --instances (default: one per CPU)", set_threads},
	{"--slice", "TIME", CMD_RUN,
	 "time slice per instance, e.g. 1us, 500ns, 2ms (default 1us)",
	 set_slice},
	{"--duration", "TIME", CMD_RUN,
	 "stop --instances after TIME (e.g. 10s) and report what ran",
	 set_duration},
	{"--max-memory", "BYTES", CMD_RUN,
	 "largest linear memory (e.g. 64K, 16M, 4G; default 4G)",
	 set_max_memory},
	{"--max-stack", "BYTES", CMD_RUN,
	 "largest value stack per instance (default 1M)", set_max_stack},
	{"--max-message", "BYTES", CMD_RUN,
	 "actors: largest message (default 1M); a larger send returns -1",
	 set_max_message},
	{"--max-mailbox", "BYTES", CMD_RUN,
	 "actors: bytes queued in one mailbox, 32 per message included "
	 "(default 64M); a send past it returns -2",
	 set_max_mailbox},
	{"--max-queued", "BYTES", CMD_RUN,
	 "actors: bytes queued in all mailboxes (default a quarter of the "
	 "machine's memory); a send past it returns -2",
	 set_max_queued},
	{"--max-actors", "N", CMD_RUN,
	 "actors: most alive at once (default 4194304); a spawn past it "
	 "returns -1",
	 set_max_actors},
	{"--stats", NULL, CMD_RUN,
	 "actors: every second, print live actors, messages per second and "
	 "queued bytes on stderr",
	 set_stats},
	{"--json", NULL, CMD_RUN,
	 "print how the run ended as one JSON object: status, results, exit "
	 "code or trap (on stderr for a WASI command, whose stdout is its "
	 "own). With --instances: the run's figures instead of the summary",
	 set_json},
	{"--tier", "auto|interp|compiled", CMD_RUN,
	 "how functions run: auto (the default) starts interpreted and "
	 "compiles to machine code in the background, hot functions first; "
	 "interp never compiles; compiled compiles everything before the "
	 "run starts. The environment variable MYRIAD_TIER sets the default",
	 set_tier},
	{"--cache-dir", "DIR", CMD_RUN | CMD_COMPILE,
	 "keep compiled code in DIR between runs (default: $MYRIAD_CACHE_DIR, "
	 "else $XDG_CACHE_HOME/myriad, else ~/.cache/myriad)",
	 set_cache_dir},
	{"--no-cache", NULL, CMD_RUN | CMD_COMPILE,
	 "neither read nor write the code cache (as does MYRIAD_CACHE=off)",
	 set_no_cache},
	{"--code", "FILE", CMD_RUN,
	 "run the machine code in FILE, made by `myriad compile` (it is "
	 "checked first: code for another module, CPU or myriad version is "
	 "refused with a message, and the module is compiled as --tier says)",
	 set_code},
	{"-o", "FILE", CMD_COMPILE,
	 "where to write the compiled code (default: MODULE.wasm with the "
	 "extension .myrc)",
	 set_output},
	/* An option several commands take may mean something different to
	 * each: it then has a row per command. */
	{"--json", NULL, CMD_INSPECT,
	 "print the listing as one JSON object instead of text", set_json},
	{"--help", NULL, CMD_ALL, "print this help", set_help},
};

static int cmd_run(const Options *o);
static int cmd_validate(const Options *o);
static int cmd_inspect(const Options *o);
static int cmd_compile(const Options *o);

typedef struct Command {
	const char *name;
	unsigned bit;
	const char *synopsis;
	const char *help;
	int (*run)(const Options *o);
	bool takes_args;       /* positional arguments after the module */
	const char *exit_help; /* its exit statuses */
} Command;

static const char exit_help[] =
	"Exit status:\n"
	"  0    success: _start returned, or proc_exit(0), or the call of\n"
	"       --invoke returned\n"
	"  N    the program called proc_exit(N) (N modulo 256, like a\n"
	"       native process)\n"
	"  1    the wasm code trapped (myriad prints \"trap: ...\" on\n"
	"       stderr) or ran out of --fuel, or a limit (--max-memory) or\n"
	"       the host's memory ran out\n"
	"  2    bad usage, an unreadable, malformed or invalid module, an\n"
	"       import that cannot be linked, a --dir that cannot be opened,\n"
	"       or --instances N that cannot fit in memory (a one-line\n"
	"       message on stderr)\n"
	"  130  interrupted (SIGINT)\n"
	"A program can exit with 1, 2 or 130 itself: what myriad reports is\n"
	"always explained by a line on stderr beginning with \"myriad:\",\n"
	"\"trap:\" or the module's name; the program's own exit is silent.\n"
	"With --instances: 0 if every instance that finished succeeded,\n"
	"otherwise the status of the lowest-numbered instance that did not\n"
	"(its exit code, or 1 if it trapped); 130 if interrupted, after the\n"
	"summary.\n";

static const char exit_help_module[] =
	"Exit status:\n"
	"  0    the module is valid\n"
	"  2    bad usage, or a module that cannot be read, is malformed or\n"
	"       is invalid (a one-line message on stderr)\n";

static const char exit_help_compile[] =
	"Exit status:\n"
	"  0    the code was written\n"
	"  2    bad usage, a module that cannot be read, is malformed or\n"
	"       is invalid, a myriad built without the compiler tier, or a\n"
	"       file that cannot be written (a one-line message on stderr)\n";

static const Command commands[] = {
	{"run", CMD_RUN,
	 "[OPTION...] MODULE.wasm [--] [ARG...]\n"
	 "  myriad run [OPTION...] MODULE.wasm --invoke NAME [ARG...]",
	 "run a WASI command (its _start) with ARGs as its arguments (argv[0] "
	 "is MODULE.wasm), or call one export; options go before --, "
	 "everything after it is the program's",
	 cmd_run, true, exit_help},
	{"validate", CMD_VALIDATE, "MODULE.wasm",
	 "check that a module decodes and validates", cmd_validate, false,
	 exit_help_module},
	{"inspect", CMD_INSPECT, "[--json] MODULE.wasm",
	 "list a module's imports and exports with their types, memories, "
	 "tables, globals, functions, code size and custom sections",
	 cmd_inspect, false, exit_help_module},
	{"compile", CMD_COMPILE, "[-o FILE] MODULE.wasm",
	 "compile every function of a module to machine code for this CPU "
	 "and write it to a file, for `myriad run --code FILE` or an "
	 "embedder's myr_module_new_with_code",
	 cmd_compile, false, exit_help_compile},
};

/* Prints text indented and wrapped at 79 columns. */
static void wrap(FILE *out, const char *text, int indent)
{
	const int width = 79;
	int col = 0;
	const char *p = text;
	while (*p) {
		size_t word = strcspn(p, " ");
		if (col && col + 1 + (int)word > width) {
			fputc('\n', out);
			col = 0;
		}
		if (!col)
			col = fprintf(out, "%*s", indent, "");
		else
			col += fprintf(out, " ");
		col += fprintf(out, "%.*s", (int)word, p);
		p += word;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

static void print_option(FILE *out, const Option *opt)
{
	fprintf(out, "  %s%s%s\n", opt->name, opt->metavar ? " " : "",
		opt->metavar ? opt->metavar : "");
	wrap(out, opt->help, 6);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: myriad COMMAND [OPTION...]\n\ncommands:\n");
	for (size_t i = 0; i < COUNT_OF(commands); i++) {
		fprintf(out, "  myriad %s %s\n", commands[i].name,
			commands[i].synopsis);
		wrap(out, commands[i].help, 6);
	}
	/* Grouped by command: an option may mean something else to each. */
	for (size_t c = 0; c < COUNT_OF(commands); c++) {
		bool any = false;
		for (size_t i = 0; i < COUNT_OF(options); i++) {
			if (options[i].commands == CMD_ALL ||
			    !(options[i].commands & commands[c].bit))
				continue;
			if (!any)
				fprintf(out, "\noptions of myriad %s:\n",
					commands[c].name);
			any = true;
			print_option(out, &options[i]);
		}
	}
	fprintf(out,
		"\noptions of every command:\n"
		"  --help\n      print this help, or with a command, that "
		"command's own\n"
		"  --version\n      print the version (myriad --version)\n\n"
		"WASI: every module can import wasi_snapshot_preview1 "
		"(programs built with\n"
		"clang --target=wasm32-wasi run unchanged); any other import "
		"is a link error.\n\n"
		"With --invoke, arguments are parsed by the function's "
		"parameter types:\n"
		"integers in decimal or 0x hex, floats as decimal, hex, nan, "
		"inf or -inf.\n"
		"Results print one per line as TYPE:VALUE.\n"
		"Sizes take K, M, G (KiB, MiB, GiB); times take ns, us, ms, s, "
		"m, h.\n\n%s",
		exit_help);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt,
							     ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "myriad: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see myriad --help)\n");
	va_end(ap);
	return EXIT_USAGE;
}

/* The option `name` of the command `bit`, or NULL if it has none. */
static const Option *find_option(const char *name, size_t len, unsigned bit)
{
	for (size_t i = 0; i < COUNT_OF(options); i++)
		if ((options[i].commands & bit) &&
		    strlen(options[i].name) == len &&
		    strncmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
}

/* Applies "--name", "--name VALUE" or "--name=VALUE" at argv[*i]. */
static int parse_option(const Command *cmd, char **argv, int argc, int *i,
			Options *o)
{
	const char *arg = argv[*i], *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const Option *opt = find_option(arg, len, cmd->bit);
	if (!opt)
		return usage_error("%s: unknown option %.*s%s", cmd->name,
				   (int)len, arg,
				   cmd->takes_args && o->module
					   ? " (arguments for the program go "
					     "after --)"
					   : "");
	const char *value = eq ? eq + 1 : NULL;
	if (opt->metavar && !value) {
		if (*i + 1 >= argc)
			return usage_error("%s needs a value (%s)", opt->name,
					   opt->metavar);
		value = argv[++*i];
	}
	if (!opt->metavar && value)
		return usage_error("%s takes no value", opt->name);
	if (!opt->set(o, value))
		return usage_error("bad value for %s: \"%s\"", opt->name,
				   value);
	return 0;
}

/* Options may come anywhere; anything else is positional. Negative
 * numbers ("-7", "-inf") are positional: options start with "--", and
 * "--" alone ends them. */
static int parse_command_line(const Command *cmd, int argc, char **argv,
			      Options *o)
{
	bool only_positional = false;
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		if (!only_positional && strcmp(arg, "--") == 0) {
			only_positional = true;
		} else if (!only_positional && (strncmp(arg, "--", 2) == 0 ||
						(cmd->bit == CMD_COMPILE &&
						 strcmp(arg, "-o") == 0))) {
			int rc = parse_option(cmd, argv, argc, &i, o);
			if (rc)
				return rc;
		} else if (!o->module) {
			o->module = arg;
		} else if (cmd->takes_args) {
			o->args[o->nargs++] = arg;
		} else {
			return usage_error("%s: unexpected argument \"%s\"",
					   cmd->name, arg);
		}
	}
	if (!o->help && !o->module)
		return usage_error("%s: no module given", cmd->name);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0, got;
	uint8_t *buf = malloc(cap);
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			uint8_t *p = realloc(buf, cap);
			if (!p)
				free(buf);
			buf = p;
		}
	}
	int saved = buf ? (ferror(f) ? errno : 0) : ENOMEM;
	fclose(f);
	if (saved) {
		free(buf);
		errno = saved;
		return NULL;
	}
	*len = n;
	return buf;
}

static bool cmd_is_compile(const Options *o)
{
	return o->output != NULL || o->compiling;
}

/* The code cache's directory (malloc'd), NULL when it is off. */
static char *cache_dir(const Options *o)
{
	const char *off = getenv("MYRIAD_CACHE");
	if (o->no_cache || (off && strcmp(off, "off") == 0))
		return NULL;
	if (o->cache_dir)
		return strdup(o->cache_dir);
	const char *d = getenv("MYRIAD_CACHE_DIR");
	if (d && *d)
		return strdup(d);
	const char *base = getenv("XDG_CACHE_HOME"), *sub = "myriad";
	if (!base || !*base) {
		base = getenv("HOME");
		sub = ".cache/myriad";
	}
	if (!base || !*base)
		return NULL;
	size_t n = strlen(base) + strlen(sub) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", base, sub);
	return p;
}

/* Reads and compiles o->module; on failure prints why and returns the
 * exit status. */
int load(const Options *o, Loaded *l)
{
	size_t len;
	uint8_t *bytes = read_file(o->module, &len);
	if (!bytes) {
		fprintf(stderr, "myriad: cannot read %s: %s\n", o->module,
			strerror(errno));
		return EXIT_USAGE;
	}
	myr_config cfg;
	myr_config_default(&cfg);
	if (o->tier_set)
		cfg.tier = o->tier;
	char *cache = NULL;
	if (cmd_is_compile(o)) {
		cfg.tier = MYR_TIER_COMPILED;
	} else if (cfg.tier != MYR_TIER_INTERP) {
		cache = cache_dir(o);
		cfg.code_cache_dir = cache;
	}
	if (cfg.tier != MYR_TIER_AUTO && cfg.tier != MYR_TIER_INTERP) {
		char why[200];
		if (!myr_tier_available(why, sizeof why)) {
			free(bytes);
			free(cache);
			fprintf(stderr, "myriad: tier %s: %s\n",
				myr_tier_name(cfg.tier), why);
			return EXIT_USAGE;
		}
	}
	if (o->max_memory)
		cfg.max_memory_bytes = o->max_memory;
	if (o->max_stack)
		cfg.max_stack_bytes = o->max_stack;
	if (o->max_message)
		cfg.max_message_bytes = (size_t)o->max_message;
	if (o->max_mailbox)
		cfg.max_mailbox_bytes = o->max_mailbox;
	if (o->max_queued)
		cfg.max_queued_bytes = o->max_queued;
	if (o->max_actors)
		cfg.max_actors = o->max_actors;
	l->engine = myr_engine_new(&cfg);
	free(cache);
	if (!l->engine) {
		free(bytes);
		fprintf(stderr, "myriad: out of memory\n");
		return EXIT_TRAP;
	}
	myr_error err;
	uint8_t *code = NULL;
	size_t code_len = 0;
	if (o->code && !(code = read_file(o->code, &code_len))) {
		fprintf(stderr, "myriad: cannot read %s: %s\n", o->code,
			strerror(errno));
		free(bytes);
		return EXIT_USAGE;
	}
	l->module = myr_module_new_with_code(l->engine, bytes, len, code,
					     code_len, &err);
	free(bytes);
	free(code);
	if (!l->module) {
		fprintf(stderr, "%s: %s\n", o->module, err.message);
		return EXIT_USAGE;
	}
	const char *note = myr_module_code_note(l->module);
	if (note) {
		fprintf(stderr, "myriad: %s\n", note);
		l->noted = true;
	}
	return 0;
}

void unload(Loaded *l)
{
	if (l->inst)
		myr_instance_free(l->inst);
	free(l->imports);
	myr_actors_free(l->actors);
	myr_sched_free(l->sched);
	myr_wasi_free(l->wasi);
	/* tier auto finds code in the background: a problem it met is told
	 * at the end. */
	const char *note = l->module ? myr_module_code_note(l->module) : NULL;
	if (note && !l->noted)
		fprintf(stderr, "myriad: %s\n", note);
	if (l->module)
		myr_module_free(l->module);
	if (l->engine)
		myr_engine_free(l->engine);
}

int exit_status(int code)
{
	return code & 0xff;
}

/* Prints a failed call or instantiation; returns the exit status. The
 * program's exit (proc_exit) ends the process with its code, silently. */
int report_error(const Options *o, const myr_error *err)
{
	switch (err->kind) {
	case MYR_ERR_TRAP:
		if (err->trap == MYR_TRAP_EXIT)
			return exit_status(err->exit_code);
		fprintf(stderr, "trap: %s\n", err->message);
		return EXIT_TRAP;
	case MYR_ERR_LINK:
	case MYR_ERR_MALFORMED:
	case MYR_ERR_INVALID:
	case MYR_ERR_ARGUMENT:
		fprintf(stderr, "%s: %s\n", o->module, err->message);
		return EXIT_USAGE;
	default:
		fprintf(stderr, "myriad: %s\n", err->message);
		return EXIT_TRAP;
	}
}

/* The program's environment from --env: KEY=VALUE as given, KEY alone
 * from the host (skipped if the host has no KEY). Strings in *keep are
 * the caller's to free. */
static const char **wasi_env(const Options *o, size_t *n, char ***keep)
{
	const char **env = calloc(o->nenvs + 1, sizeof *env);
	*keep = calloc(o->nenvs + 1, sizeof **keep);
	*n = 0;
	if (!env || !*keep)
		return env;
	for (size_t i = 0; i < o->nenvs; i++) {
		const char *e = o->envs[i];
		if (strchr(e, '=')) {
			env[(*n)++] = e;
			continue;
		}
		const char *v = getenv(e);
		if (!v)
			continue;
		char *kv = malloc(strlen(e) + strlen(v) + 2);
		if (!kv)
			continue;
		sprintf(kv, "%s=%s", e, v);
		(*keep)[i] = kv;
		env[(*n)++] = kv;
	}
	return env;
}

int link_wasi(const Options *o, Loaded *l, uint64_t instances)
{
	myr_wasi_config wc;
	myr_wasi_config_default(&wc);
	/* argv[0] is the module as named on the command line; with
	 * --invoke the arguments are the function's, not the program's. */
	size_t argc = 1 + (o->invoke ? 0 : o->nargs);
	const char **argv = calloc(argc, sizeof *argv);
	myr_wasi_dir *dirs = calloc(o->ndirs + 1, sizeof *dirs);
	char **dir_copies = calloc(o->ndirs + 1, sizeof *dir_copies);
	char **env_copies = NULL;
	size_t nenv = 0;
	const char **env = wasi_env(o, &nenv, &env_copies);
	int rc = 0, devnull = -1;
	if (!argv || !dirs || !dir_copies || !env || !env_copies) {
		fprintf(stderr, "myriad: out of memory\n");
		rc = EXIT_TRAP;
		goto out;
	}
	argv[0] = o->module;
	for (size_t i = 1; i < argc; i++)
		argv[i] = o->args[i - 1];
	for (size_t i = 0; i < o->ndirs; i++) {
		/* HOST::GUEST; the host part may itself contain "::" only
		 * if a guest name follows, so split at the last one. */
		char *d = dir_copies[i] = strdup(o->dirs[i]);
		if (!d) {
			rc = EXIT_TRAP;
			goto out;
		}
		char *sep = NULL;
		for (char *p = strstr(d, "::"); p; p = strstr(p + 1, "::"))
			sep = p;
		if (sep && sep != d) {
			*sep = 0;
			dirs[i].guest_path = *(sep + 2) ? sep + 2 : ".";
		}
		dirs[i].host_path = d;
		if (!dirs[i].guest_path)
			dirs[i].guest_path = d;
	}
	wc.argv = argv;
	wc.argc = argc;
	wc.env = env;
	wc.nenv = nenv;
	wc.dirs = dirs;
	wc.ndirs = o->ndirs;
	if (instances) {
		/* Many programs reading one stdin would each get random
		 * pieces of it: they get an empty one. */
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		wc.stdin_fd = devnull;
		wc.instances = instances;
		wc.whole_lines = true;
	}
	/* Actors share one WASI context: their lines must not mix. */
	if (l->actors)
		wc.whole_lines = true;
	myr_error err;
	l->wasi = myr_wasi_new(l->engine, &wc, &err);
	if (!l->wasi) {
		fprintf(stderr, "myriad: %s\n", err.message);
		rc = EXIT_USAGE;
		goto out;
	}
	size_t n = myr_module_import_count(l->module);
	l->imports = calloc(n + 1, sizeof *l->imports);
	if (!l->imports) {
		rc = EXIT_TRAP;
		goto out;
	}
	if (l->actors &&
	    !myr_actors_link(l->actors, l->module, l->imports, &err)) {
		fprintf(stderr, "%s: %s\n", o->module, err.message);
		rc = EXIT_USAGE;
	} else if (!myr_wasi_link(l->wasi, l->module, l->imports, &err)) {
		fprintf(stderr, "%s: %s\n", o->module, err.message);
		rc = EXIT_USAGE;
	}
out:
	/* The WASI context copied what it keeps, except /dev/null, which
	 * stays open for the run (the process's exit closes it). */
	for (size_t i = 0; dir_copies && i < o->ndirs; i++)
		free(dir_copies[i]);
	for (size_t i = 0; env_copies && i < o->nenvs; i++)
		free(env_copies[i]);
	free(dir_copies);
	free(env_copies);
	free(dirs);
	free(argv);
	free(env);
	if (rc && devnull >= 0)
		close(devnull);
	return rc;
}

static int run_ended(const Options *o, bool ok, const myr_error *err,
		     const myr_val *results, size_t nresults);

static int instantiate(const Options *o, Loaded *l)
{
	myr_error err;
	l->inst = myr_instance_new(l->module, l->imports,
				   myr_module_import_count(l->module), &err);
	if (l->inst)
		return 0;
	/* A trap (or exit) in the start function is the run's ending. */
	if (err.kind == MYR_ERR_TRAP)
		return run_ended(o, false, &err, NULL, 0);
	return report_error(o, &err);
}

/* ------------------------------------------------------------------ */
/* Values                                                              */

/* Decimal or 0x hex, optionally signed; the unsigned range is accepted
 * too (0xffffffff is an i32). *out is the two's complement bits. */
static bool parse_int(const char *s, int bits, uint64_t *out)
{
	bool neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	/* strtoull would also take spaces and a second sign. */
	unsigned char c = (unsigned char)*s;
	if (!(base == 16 ? isxdigit(c) : isdigit(c)))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end)
		return false;
	uint64_t max = bits == 64 ? UINT64_MAX : UINT32_MAX;
	uint64_t min_mag = (uint64_t)1 << (bits - 1);
	if (neg ? v > min_mag : v > max)
		return false;
	*out = neg ? (uint64_t)0 - v : v;
	return true;
}

/* strtod/strtof: decimal, hex floats, nan, inf, with a sign. Values out
 * of range round to infinity or zero, as a wasm text literal would. */
static bool parse_float(const char *s, myr_valtype t, myr_val *out)
{
	if (!*s || isspace((unsigned char)*s))
		return false;
	char *end;
	if (t == MYR_F32)
		out->of.f32 = strtof(s, &end);
	else
		out->of.f64 = strtod(s, &end);
	return *end == '\0';
}

static bool parse_arg(const char *s, myr_valtype t, myr_val *out)
{
	uint64_t u;
	memset(out, 0, sizeof *out);
	out->type = t;
	switch (t) {
	case MYR_I32:
		if (!parse_int(s, 32, &u))
			return false;
		out->of.i32 = (int32_t)(uint32_t)u;
		return true;
	case MYR_I64:
		if (!parse_int(s, 64, &u))
			return false;
		out->of.i64 = (int64_t)u;
		return true;
	case MYR_F32:
	case MYR_F64:
		return parse_float(s, t, out);
	case MYR_FUNCREF:
	case MYR_EXTERNREF:
		return strcmp(s, "null") == 0;
	default:
		return false;
	}
}

static const char *type_name(myr_valtype t)
{
	switch (t) {
	case MYR_I32:
		return "i32";
	case MYR_I64:
		return "i64";
	case MYR_F32:
		return "f32";
	case MYR_F64:
		return "f64";
	case MYR_V128:
		return "v128";
	case MYR_FUNCREF:
		return "funcref";
	case MYR_EXTERNREF:
		return "externref";
	}
	return "?";
}

static void format_float(char *buf, size_t n, double v, int digits)
{
	const char *sign = signbit(v) ? "-" : "";
	if (isnan(v))
		snprintf(buf, n, "%snan", sign);
	else if (isinf(v))
		snprintf(buf, n, "%sinf", sign);
	else
		snprintf(buf, n, "%.*g", digits, v);
}

static void format_ref(char *buf, size_t n, const void *ref)
{
	if (ref)
		snprintf(buf, n, "%p", ref);
	else
		snprintf(buf, n, "null");
}

/* A result's value as --invoke prints it after "TYPE:". */
static void format_value(char *buf, size_t n, const myr_val *v)
{
	switch (v->type) {
	case MYR_I32:
		snprintf(buf, n, "%" PRId32, v->of.i32);
		break;
	case MYR_I64:
		snprintf(buf, n, "%" PRId64, v->of.i64);
		break;
	case MYR_F32:
		format_float(buf, n, (double)v->of.f32, 9);
		break;
	case MYR_F64:
		format_float(buf, n, v->of.f64, 17);
		break;
	case MYR_FUNCREF:
		format_ref(buf, n, (const void *)v->of.funcref);
		break;
	case MYR_EXTERNREF:
		format_ref(buf, n, v->of.externref);
		break;
	default:
		snprintf(buf, n, "?");
		break;
	}
}

static void print_result(const myr_val *v)
{
	char value[64];
	format_value(value, sizeof value, v);
	printf("%s:%s\n", type_name(v->type), value);
}

/* --json without --instances: how the one run ended, as one object.
 * The values are strings, written as --invoke prints them, because an
 * i64 does not survive a JSON number and nan and inf are not numbers. */
static void print_run_json(const Options *o, bool ok, const myr_error *err,
			   const myr_val *results, size_t nresults)
{
	cJSON *j = cJSON_CreateObject();
	if (ok && !o->invoke) {
		/* Returning from _start is a command's exit with 0. */
		cJSON_AddStringToObject(j, "status", "returned");
		cJSON_AddNumberToObject(j, "exit_code", 0);
	} else if (ok) {
		cJSON_AddStringToObject(j, "status", "returned");
		cJSON *list = cJSON_AddArrayToObject(j, "results");
		for (size_t i = 0; list && i < nresults; i++) {
			char value[64];
			format_value(value, sizeof value, &results[i]);
			cJSON *r = cJSON_CreateObject();
			cJSON_AddStringToObject(r, "type",
						type_name(results[i].type));
			cJSON_AddStringToObject(r, "value", value);
			cJSON_AddItemToArray(list, r);
		}
	} else if (err->kind == MYR_ERR_TRAP && err->trap == MYR_TRAP_EXIT) {
		cJSON_AddStringToObject(j, "status", "exited");
		cJSON_AddNumberToObject(j, "exit_code", err->exit_code);
	} else if (err->kind == MYR_ERR_TRAP) {
		cJSON_AddStringToObject(j, "status", "trapped");
		cJSON_AddStringToObject(j, "trap", err->message);
	} else {
		cJSON_AddStringToObject(j, "status", "failed");
		cJSON_AddStringToObject(j, "error", err->message);
	}
	/* A command's stdout is the program's. */
	FILE *out = o->invoke ? stdout : stderr;
	char *text = cJSON_PrintUnformatted(j);
	if (text) {
		fflush(stdout);
		fprintf(out, "%s\n", text);
	}
	free(text);
	cJSON_Delete(j);
}

/* How a run that started ended: JSON with --json, then the exit status
 * (report_error's message included). */
static int run_ended(const Options *o, bool ok, const myr_error *err,
		     const myr_val *results, size_t nresults)
{
	if (o->json)
		print_run_json(o, ok, err, results, nresults);
	if (ok)
		return 0;
	fflush(stdout);
	return report_error(o, err);
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

static bool uses_v128(const myr_functype *ft)
{
	for (uint32_t i = 0; i < ft->nparams; i++)
		if (ft->params[i] == MYR_V128)
			return true;
	for (uint32_t i = 0; i < ft->nresults; i++)
		if (ft->results[i] == MYR_V128)
			return true;
	return false;
}

/* Finds the function to invoke and checks that the arguments fit it. */
static int find_func(const Options *o, Loaded *l, myr_func **func)
{
	myr_extern ext;
	if (!myr_instance_export(l->inst, o->invoke, strlen(o->invoke), &ext) ||
	    ext.kind != MYR_EXTERN_FUNC) {
		fprintf(stderr, "%s: no exported function \"%s\"\n", o->module,
			o->invoke);
		return EXIT_USAGE;
	}
	const myr_functype *ft = myr_func_type(ext.of.func);
	if (uses_v128(ft)) {
		fprintf(stderr,
			"myriad: %s uses v128, which is not supported\n",
			o->invoke);
		return EXIT_USAGE;
	}
	if (o->nargs != ft->nparams) {
		fprintf(stderr,
			"myriad: %s takes %" PRIu32 " argument%s, %zu "
			"given\n",
			o->invoke, ft->nparams, ft->nparams == 1 ? "" : "s",
			o->nargs);
		return EXIT_USAGE;
	}
	*func = ext.of.func;
	return 0;
}

static int parse_args(const Options *o, const myr_functype *ft, myr_val *args)
{
	for (size_t i = 0; i < o->nargs; i++) {
		if (!parse_arg(o->args[i], ft->params[i], &args[i])) {
			fprintf(stderr,
				"myriad: argument %zu of %s: \"%s\" is not "
				"a%s %s\n",
				i + 1, o->invoke, o->args[i],
				ft->params[i] == MYR_I32 ||
						ft->params[i] == MYR_I64
					? "n"
					: "",
				type_name(ft->params[i]));
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* --fuel N: the call gets N units in all. It runs as a pausable call,
 * given what is left each time: a yield (sched_yield) comes back with fuel
 * left, a sleep is waited out here, and running out is a trap. */
static bool call_with_fuel(const Options *o, myr_instance *inst, myr_func *func,
			   const myr_val *args, size_t nargs, myr_val *results,
			   size_t nresults, myr_error *err)
{
	if (!myr_instance_start(inst, func, args, nargs, err))
		return false;
	int64_t left = o->fuel;
	for (;;) {
		myr_status st = myr_instance_run(inst, left);
		if (st == MYR_STATUS_READY) {
			left = myr_instance_fuel_left(inst);
			if (left > 0)
				continue;
			memset(err, 0, sizeof *err);
			err->kind = MYR_ERR_TRAP;
			err->trap = MYR_TRAP_LIMIT;
			snprintf(err->message, sizeof err->message,
				 "fuel exhausted (--fuel %" PRId64 ")",
				 o->fuel);
			return false;
		}
		if (st == MYR_STATUS_BLOCKED) {
			uint64_t at = myr_instance_wake_at(inst);
			struct timespec t = {(time_t)(at / 1000000000u),
					     (long)(at % 1000000000u)};
			if (at)
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
						&t, NULL);
			else
				nanosleep(&(struct timespec){0, 1000000}, NULL);
			continue;
		}
		if (st != MYR_STATUS_DONE) {
			*err = *myr_instance_error(inst);
			return false;
		}
		myr_instance_results(inst, results, nresults);
		return true;
	}
}

static bool call(const Options *o, Loaded *l, myr_func *func,
		 const myr_val *args, size_t nargs, myr_val *results,
		 size_t nresults, myr_error *err)
{
	if (o->fuel)
		return call_with_fuel(o, l->inst, func, args, nargs, results,
				      nresults, err);
	return myr_func_call(func, args, nargs, results, nresults, err);
}

/* The export `name` if it is a function taking and returning nothing. */
static myr_func *nullary_export(Loaded *l, const char *name)
{
	myr_extern ext;
	if (!myr_instance_export(l->inst, name, strlen(name), &ext) ||
	    ext.kind != MYR_EXTERN_FUNC)
		return NULL;
	const myr_functype *ft = myr_func_type(ext.of.func);
	return ft->nparams == 0 && ft->nresults == 0 ? ext.of.func : NULL;
}

static int invoke(const Options *o, Loaded *l)
{
	myr_func *func;
	int rc = find_func(o, l, &func);
	if (rc)
		return rc;
	/* A WASI reactor is initialized before its exports are used. */
	myr_func *init = nullary_export(l, "_initialize");
	if (init && strcmp(o->invoke, "_initialize") != 0) {
		myr_error err;
		if (!call(o, l, init, NULL, 0, NULL, 0, &err))
			return run_ended(o, false, &err, NULL, 0);
	}
	const myr_functype *ft = myr_func_type(func);
	myr_val *args = calloc(o->nargs + 1, sizeof *args);
	myr_val *results = calloc(ft->nresults + 1, sizeof *results);
	if (!args || !results) {
		fprintf(stderr, "myriad: out of memory\n");
		rc = EXIT_TRAP;
	} else if (!(rc = parse_args(o, ft, args))) {
		myr_error err;
		bool ok = call(o, l, func, args, o->nargs, results,
			       ft->nresults, &err);
		for (uint32_t i = 0; ok && !o->json && i < ft->nresults; i++)
			print_result(&results[i]);
		rc = run_ended(o, ok, &err, results, ft->nresults);
	}
	free(args);
	free(results);
	return rc;
}

/* A WASI command: _start, and its exit code becomes ours. */
static int run_command(const Options *o, Loaded *l)
{
	myr_func *start = nullary_export(l, "_start");
	if (!start) {
		fprintf(stderr,
			"%s: no _start function: not a WASI command (call one "
			"of its exports with --invoke NAME)\n",
			o->module);
		return EXIT_USAGE;
	}
	myr_error err;
	bool ok = call(o, l, start, NULL, 0, NULL, 0, &err);
	return run_ended(o, ok, &err, NULL, 0);
}

static int cmd_run(const Options *o)
{
	Loaded l = {0};
	int rc = load(o, &l);
	bool actors = !rc && myr_module_imports_actors(l.module);
	if (actors)
		rc = actors_prepare(o, &l);
	if (!rc)
		rc = link_wasi(o, &l, o->instances);
	if (!rc && actors) {
		rc = run_actors(o, &l);
	} else if (!rc && o->instances) {
		rc = run_many(o, &l);
	} else if (!rc) {
		rc = instantiate(o, &l);
		if (!rc)
			rc = o->invoke ? invoke(o, &l) : run_command(o, &l);
	}
	unload(&l);
	return rc;
}

static int cmd_validate(const Options *o)
{
	Loaded l = {0};
	int rc = load(o, &l);
	if (!rc)
		printf("%s: valid\n", o->module);
	unload(&l);
	return rc;
}

static int cmd_compile(const Options *o)
{
	Options c = *o;
	c.compiling = true;
	c.no_cache = true;
	Loaded l = {0};
	int rc = load(&c, &l);
	char *out = NULL;
	if (!rc && !o->output) {
		size_t n = strlen(o->module) + 8;
		out = malloc(n);
		const char *dot = strrchr(o->module, '.');
		int keep = dot && !strchr(dot, '/') ? (int)(dot - o->module)
						    : (int)strlen(o->module);
		if (out)
			snprintf(out, n, "%.*s.myrc", keep, o->module);
	}
	const char *path = o->output ? o->output : out;
	uint8_t *code = NULL;
	size_t len = 0;
	myr_error err;
	if (!rc && !path) {
		rc = EXIT_TRAP;
	} else if (!rc && !myr_module_code(l.module, &code, &len, &err)) {
		fprintf(stderr, "%s: %s\n", o->module, err.message);
		rc = EXIT_USAGE;
	} else if (!rc) {
		FILE *f = fopen(path, "wb");
		bool ok = f && fwrite(code, 1, len, f) == len;
		if (f && fclose(f) != 0)
			ok = false;
		if (!ok) {
			fprintf(stderr, "myriad: cannot write %s: %s\n", path,
				strerror(errno));
			rc = EXIT_USAGE;
		} else {
			printf("%s: %u functions compiled, %zu bytes\n", path,
			       myr_module_wait_compiled(l.module), len);
		}
	}
	free(code);
	free(out);
	unload(&l);
	return rc;
}

static int cmd_inspect(const Options *o)
{
	Loaded l = {0};
	int rc = load(o, &l);
	if (!rc)
		rc = inspect_module(o, &l);
	unload(&l);
	return rc;
}

/* ------------------------------------------------------------------ */

static void command_help(const Command *cmd)
{
	printf("usage: myriad %s %s\n", cmd->name, cmd->synopsis);
	wrap(stdout, cmd->help, 2);
	printf("\noptions:\n");
	for (size_t i = 0; i < COUNT_OF(options); i++)
		if (options[i].commands & cmd->bit)
			print_option(stdout, &options[i]);
	printf("\n%s", cmd->exit_help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *first = argv[1];
	if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(first, "--version") == 0) {
		printf("myriad %s\n", MYR_VERSION);
		return 0;
	}
	const Command *cmd = NULL;
	for (size_t i = 0; i < COUNT_OF(commands); i++)
		if (strcmp(first, commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd)
		return usage_error("unknown command \"%s\"", first);

	/* Positional arguments and repeated options are at most argc. */
	const char **args = calloc((size_t)argc, sizeof *args);
	const char **envs = calloc((size_t)argc, sizeof *envs);
	const char **dirs = calloc((size_t)argc, sizeof *dirs);
	if (!args || !envs || !dirs) {
		free(args);
		free(envs);
		free(dirs);
		return EXIT_TRAP;
	}
	Options o = {.args = args, .envs = envs, .dirs = dirs};
	int rc = parse_command_line(cmd, argc, argv, &o);
	if (!rc && o.help)
		command_help(cmd);
	else if (!rc)
		rc = cmd->run(&o);
	free(args);
	free(envs);
	free(dirs);
	return rc;
}
