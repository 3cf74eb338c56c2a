/* myriad, the command-line tool.
 *
 *   myriad run MODULE.wasm --invoke NAME [ARG...] [--fuel N]
 *   myriad validate MODULE.wasm
 *   myriad --help | --version
 *
 * Commands and options are two tables: adding one is adding a row (and,
 * for an option, a field in Options). Exit status: 0 success, 1 the wasm
 * code trapped or failed at run time, 2 bad usage, unreadable file, or a
 * module that does not load or link. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Command line                                                        */

/* Which commands an option belongs to. */
enum { CMD_RUN = 1u << 0, CMD_VALIDATE = 1u << 1, CMD_ALL = ~0u };

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
	} units[] = {{"", 1},	  {"ns", 1},	{"us", 1e3}, {"ms", 1e6},
		     {"s", 1e9},  {"m", 60e9}, {"h", 3600e9}};
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
	} units[] = {{"", 0},	  {"B", 0},	{"K", 10},   {"KiB", 10},
		     {"KB", 10},  {"M", 20},	{"MiB", 20}, {"MB", 20},
		     {"G", 30},	  {"GiB", 30}, {"GB", 30}};
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
	if (errno || *end || end == value || n == 0 || n > max ||
	    *value == '-')
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

static bool set_json(Options *o, const char *value)
{
	(void)value;
	o->json = true;
	return true;
}

static bool set_help(Options *o, const char *value)
{
	(void)value;
	o->help = true;
	return true;
}

static const Option options[] = {
	{"--invoke", "NAME", CMD_RUN, "the exported function to call",
	 set_invoke},
	{"--fuel", "N", CMD_RUN,
	 "run in slices of N fuel (about N instructions) until done", set_fuel},
	{"--instances", "N", CMD_RUN,
	 "run N instances at once, each calling the export (with its index "
	 "0..N-1 if it takes one i32)",
	 set_instances},
	{"--threads", "T", CMD_RUN,
	 "worker threads for --instances (default: one per CPU)",
	 set_threads},
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
	{"--json", NULL, CMD_RUN,
	 "with --instances: print the figures as one JSON object", set_json},
	{"--help", NULL, CMD_ALL, "print this help", set_help},
};

static int cmd_run(const Options *o);
static int cmd_validate(const Options *o);

typedef struct Command {
	const char *name;
	unsigned bit;
	const char *synopsis;
	const char *help;
	int (*run)(const Options *o);
	bool takes_args; /* positional arguments after the module */
} Command;

static const Command commands[] = {
	{"run", CMD_RUN,
	 "MODULE.wasm --invoke NAME [ARG...] | --instances N [--invoke NAME]",
	 "call an exported function and print its results, or run N "
	 "instances at once",
	 cmd_run, true},
	{"validate", CMD_VALIDATE, "MODULE.wasm",
	 "check that a module decodes and validates", cmd_validate, false},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: myriad COMMAND [OPTION...]\n\ncommands:\n");
	for (size_t i = 0; i < COUNT_OF(commands); i++)
		fprintf(out, "  myriad %s %s\n      %s\n", commands[i].name,
			commands[i].synopsis, commands[i].help);
	fprintf(out, "\noptions:\n");
	for (size_t i = 0; i < COUNT_OF(options); i++) {
		const Option *opt = &options[i];
		fprintf(out, "  %s%s%s\n      %s\n", opt->name,
			opt->metavar ? " " : "",
			opt->metavar ? opt->metavar : "", opt->help);
	}
	fprintf(out,
		"  --version\n      print the version\n\n"
		"Arguments are parsed by the function's parameter types: "
		"integers in\ndecimal or 0x hex, floats as decimal, hex, nan, "
		"inf or -inf.\nResults print one per line as TYPE:VALUE.\n"
		"Exit status: 0 success, 1 trap, 2 bad usage or module.\n");
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

static const Option *find_option(const char *name, size_t len)
{
	for (size_t i = 0; i < COUNT_OF(options); i++)
		if (strlen(options[i].name) == len &&
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
	const Option *opt = find_option(arg, len);
	if (!opt || !(opt->commands & cmd->bit))
		return usage_error("%s: unknown option %.*s", cmd->name,
				   (int)len, arg);
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
		} else if (!only_positional && strncmp(arg, "--", 2) == 0) {
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
	if (o->max_memory)
		cfg.max_memory_bytes = o->max_memory;
	if (o->max_stack)
		cfg.max_stack_bytes = o->max_stack;
	l->engine = myr_engine_new(&cfg);
	if (!l->engine) {
		free(bytes);
		fprintf(stderr, "myriad: out of memory\n");
		return EXIT_TRAP;
	}
	myr_error err;
	l->module = myr_module_new(l->engine, bytes, len, &err);
	free(bytes);
	if (!l->module) {
		fprintf(stderr, "%s: %s\n", o->module, err.message);
		return EXIT_USAGE;
	}
	return 0;
}

void unload(Loaded *l)
{
	if (l->inst)
		myr_instance_free(l->inst);
	if (l->module)
		myr_module_free(l->module);
	if (l->engine)
		myr_engine_free(l->engine);
}

/* Prints a failed call or instantiation; returns the exit status. A host
 * function's exit (proc_exit, later) ends the process with its code. */
int report_error(const Options *o, const myr_error *err)
{
	switch (err->kind) {
	case MYR_ERR_TRAP:
		if (err->trap == MYR_TRAP_EXIT)
			return err->exit_code;
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

int check_no_imports(const Options *o, const Loaded *l)
{
	if (myr_module_import_count(l->module) > 0) {
		myr_externdesc d;
		myr_module_import(l->module, 0, &d);
		fprintf(stderr,
			"%s: module imports %.*s.%.*s, which `myriad run` "
			"cannot provide yet\n",
			o->module, (int)d.module_len, d.module, (int)d.name_len,
			d.name);
		return EXIT_USAGE;
	}
	return 0;
}

static int instantiate(const Options *o, Loaded *l)
{
	int rc = check_no_imports(o, l);
	if (rc)
		return rc;
	myr_error err;
	l->inst = myr_instance_new(l->module, NULL, 0, &err);
	return l->inst ? 0 : report_error(o, &err);
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

static void print_float(const char *type, double v, int digits)
{
	const char *sign = signbit(v) ? "-" : "";
	if (isnan(v))
		printf("%s:%snan\n", type, sign);
	else if (isinf(v))
		printf("%s:%sinf\n", type, sign);
	else
		printf("%s:%.*g\n", type, digits, v);
}

static void print_ref(const char *type, const void *ref)
{
	if (ref)
		printf("%s:%p\n", type, ref);
	else
		printf("%s:null\n", type);
}

static void print_result(const myr_val *v)
{
	switch (v->type) {
	case MYR_I32:
		printf("i32:%" PRId32 "\n", v->of.i32);
		break;
	case MYR_I64:
		printf("i64:%" PRId64 "\n", v->of.i64);
		break;
	case MYR_F32:
		print_float("f32", (double)v->of.f32, 9);
		break;
	case MYR_F64:
		print_float("f64", v->of.f64, 17);
		break;
	case MYR_FUNCREF:
		print_ref("funcref", (const void *)v->of.funcref);
		break;
	case MYR_EXTERNREF:
		print_ref("externref", v->of.externref);
		break;
	default:
		printf("%s:?\n", type_name(v->type));
		break;
	}
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

/* --fuel: the same call, run as a pausable one in slices. */
static bool call_in_slices(const Options *o, Loaded *l, myr_func *func,
			   const myr_val *args, myr_val *results,
			   size_t nresults, myr_error *err)
{
	if (!myr_instance_start(l->inst, func, args, o->nargs, err))
		return false;
	myr_status st;
	while ((st = myr_instance_run(l->inst, o->fuel)) == MYR_STATUS_READY)
		;
	if (st != MYR_STATUS_DONE) {
		*err = *myr_instance_error(l->inst);
		return false;
	}
	myr_instance_results(l->inst, results, nresults);
	return true;
}

static int invoke(const Options *o, Loaded *l)
{
	myr_func *func;
	int rc = find_func(o, l, &func);
	if (rc)
		return rc;
	const myr_functype *ft = myr_func_type(func);
	myr_val *args = calloc(o->nargs + 1, sizeof *args);
	myr_val *results = calloc(ft->nresults + 1, sizeof *results);
	if (!args || !results) {
		fprintf(stderr, "myriad: out of memory\n");
		rc = EXIT_TRAP;
	} else if (!(rc = parse_args(o, ft, args))) {
		myr_error err;
		bool ok = o->fuel ? call_in_slices(o, l, func, args, results,
						   ft->nresults, &err)
				  : myr_func_call(func, args, o->nargs, results,
						  ft->nresults, &err);
		if (ok)
			for (uint32_t i = 0; i < ft->nresults; i++)
				print_result(&results[i]);
		else
			rc = report_error(o, &err);
	}
	free(args);
	free(results);
	return rc;
}

static int cmd_run(const Options *o)
{
	if (o->instances) {
		Loaded l = {0};
		int rc = load(o, &l);
		if (!rc)
			rc = run_many(o, &l);
		unload(&l);
		return rc;
	}
	if (!o->invoke)
		return usage_error("run: --invoke NAME is required");
	Loaded l = {0};
	int rc = load(o, &l);
	if (!rc)
		rc = instantiate(o, &l);
	if (!rc)
		rc = invoke(o, &l);
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

/* ------------------------------------------------------------------ */

static void command_help(const Command *cmd)
{
	printf("usage: myriad %s %s\n  %s\n\noptions:\n", cmd->name,
	       cmd->synopsis, cmd->help);
	for (size_t i = 0; i < COUNT_OF(options); i++) {
		const Option *opt = &options[i];
		if (opt->commands & cmd->bit)
			printf("  %s%s%s\n      %s\n", opt->name,
			       opt->metavar ? " " : "",
			       opt->metavar ? opt->metavar : "", opt->help);
	}
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

	/* Positional arguments are at most argc of them. */
	const char **args = calloc((size_t)argc, sizeof *args);
	if (!args)
		return EXIT_TRAP;
	Options o = {.args = args};
	int rc = parse_command_line(cmd, argc, argv, &o);
	if (!rc && o.help)
		command_help(cmd);
	else if (!rc)
		rc = cmd->run(&o);
	free(args);
	return rc;
}
