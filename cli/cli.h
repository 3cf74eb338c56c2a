/* What the parts of the myriad command share: the parsed options and the
 * loading helpers. */
#ifndef MYR_CLI_H
#define MYR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myriad.h"

enum { EXIT_TRAP = 1, EXIT_USAGE = 2 };

typedef struct Options {
	const char *module; /* the first positional argument */
	const char **args;  /* the other positional arguments */
	size_t nargs;
	const char *invoke; /* --invoke */
	int64_t fuel;       /* --fuel; 0: run each call in one go */
	uint64_t instances; /* --instances; 0: one instance, one call */
	uint32_t threads;   /* --threads; 0: one per CPU */
	uint64_t slice_ns;  /* --slice */
	uint64_t duration_ns; /* --duration; 0: until done */
	uint64_t max_memory;  /* --max-memory; 0: the default */
	uint64_t max_stack;   /* --max-stack; 0: the default */
	bool json;          /* --json */
	bool help;
} Options;

/* Everything a command creates, freed by unload() in reverse. */
typedef struct Loaded {
	myr_engine *engine;
	myr_module *module;
	myr_instance *inst;
} Loaded;

/* main.c */
int load(const Options *o, Loaded *l);
void unload(Loaded *l);
int report_error(const Options *o, const myr_error *err);
int check_no_imports(const Options *o, const Loaded *l);

/* many.c: `run --instances N`. */
int run_many(const Options *o, Loaded *l);

#endif
