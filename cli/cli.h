/* What the parts of the myriad command share: the parsed options and the
 * loading helpers. */
#ifndef MYR_CLI_H
#define MYR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myriad.h"

/* Exit statuses (see `myriad --help`). A program's own exit code passes
 * through, so 1 and 2 can also be the program's: myriad says on stderr
 * when it is its own. */
enum { EXIT_TRAP = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

typedef struct Options {
	const char *module; /* the first positional argument */
	const char **args;  /* the other positional arguments */
	size_t nargs;
	const char **envs; /* --env KEY=VALUE or KEY */
	size_t nenvs;
	const char **dirs; /* --dir HOST[::GUEST] */
	size_t ndirs;
	const char *invoke;   /* --invoke */
	int64_t fuel;	      /* --fuel: total, or per slice with --instances */
	uint64_t instances;   /* --instances; 0: one instance, one call */
	uint32_t threads;     /* --threads; 0: one per CPU */
	uint64_t slice_ns;    /* --slice */
	uint64_t duration_ns; /* --duration; 0: until done */
	uint64_t max_memory;  /* --max-memory; 0: the default */
	uint64_t max_stack;   /* --max-stack; 0: the default */
	bool json;	      /* --json */
	bool help;
	bool tier_set;	       /* --tier given */
	myr_tier tier;	       /* --tier */
	const char *cache_dir; /* --cache-dir */
	bool no_cache;	       /* --no-cache */
	const char *output;    /* compile -o */
	const char *code;      /* run --code */
	bool compiling;	       /* the compile command */
	/* Actors: limits (0: the defaults) and --stats. */
	uint64_t max_message, max_mailbox, max_queued, max_actors;
	bool stats;
} Options;

/* Everything a command creates, freed by unload() in reverse. */
typedef struct Loaded {
	myr_engine *engine;
	myr_module *module;
	myr_wasi *wasi;
	myr_extern *imports; /* for myr_instance_new: WASI functions */
	myr_instance *inst;
	bool noted; /* the module's code note was printed */
	/* A program importing "myriad" runs as actors under sched. */
	myr_sched *sched;
	myr_actors *actors;
} Loaded;

/* main.c */
int load(const Options *o, Loaded *l);
void unload(Loaded *l);
int report_error(const Options *o, const myr_error *err);
/* Creates the WASI context of a run (instances > 0: one of N, stdin
 * empty, whole lines) and links the module's imports against it. */
int link_wasi(const Options *o, Loaded *l, uint64_t instances);
/* The exit status of a program that ended with an exit code. */
int exit_status(int code);

/* actors.c: a program that imports "myriad". actors_prepare makes the
 * scheduler and the actor system before linking; run_actors runs the
 * first actor and everything it spawns. */
int actors_prepare(const Options *o, Loaded *l);
int run_actors(const Options *o, Loaded *l);
/* Exit status of a run that ended in a deadlock. */
enum { EXIT_DEADLOCK = 3 };

/* many.c: `run --instances N`. */
int run_many(const Options *o, Loaded *l);

/* inspect.c: `inspect`. */
int inspect_module(const Options *o, const Loaded *l);

#endif
