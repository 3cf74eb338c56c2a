/*
 * What the execution targets share: engines with small limits, loading a
 * generated module with its host import, running its exports in one of
 * several ways, and a trace of what happened to compare runs with.
 */
#ifndef MYR_FUZZ_HARNESS_H
#define MYR_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gen.h"
#include "myriad.h"

/* The limits every execution target runs under. */
enum {
	FUZZ_MAX_MEMORY = 4 * 65536,
	FUZZ_MAX_STACK = 16 * 1024,
	FUZZ_MAX_TABLE = 1000,
	FUZZ_FUEL = 200000, /* per export, in a straight run */
	FUZZ_MAX_SEGS = 32,
};

/* A textual record of a run, cut into segments: instantiation, then one
 * per export call that ended (returned or trapped). An export that ran
 * out of fuel ends the trace without closing its segment. */
typedef struct Trace {
	char *p;
	size_t len, cap;
	bool full;
	size_t ends[FUZZ_MAX_SEGS];
	uint32_t nseg;
	bool out_of_fuel;
} Trace;

void trace_put(Trace *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* NaNs as their kind only (quiet or signaling): engines may choose
 * payloads. */
void trace_val(Trace *t, myr_val v);
void trace_end_segment(Trace *t);
void trace_free(Trace *t);
/* Whether a and b agree on every segment both closed; with `whole`,
 * also on the number of segments and on what followed them. */
bool trace_agree(const Trace *a, const Trace *b, bool whole);
/* Prints both to stderr and aborts: a finding. */
_Noreturn void trace_mismatch(const char *what, const Trace *a, const Trace *b);

/* One engine per tier, made on first use, for the process's lifetime. */
myr_engine *fuzz_engine(myr_tier tier);

typedef struct Loaded {
	myr_module *module;
	myr_extern *imports;
	myr_func *h;
	size_t nimports;
} Loaded;

/* Aborts if a generated module does not validate: the generator and the
 * validator disagree, which is a finding. */
void fuzz_load(myr_engine *e, const GenModule *g, Loaded *out);
void fuzz_unload(Loaded *l);
/* Aborts if it fails: generated modules must instantiate. */
myr_instance *fuzz_instantiate(const Loaded *l, Trace *t);

/* The function exports in order, and the arguments of call i. */
uint32_t fuzz_func_exports(const myr_module *m, myr_func **out, uint32_t max,
			   myr_instance *inst);
void fuzz_args(const myr_functype *ft, uint64_t seed, uint32_t call,
	       myr_val *args);

/* What a call left: results or trap, then memory and globals. */
void fuzz_record_end(Trace *t, myr_instance *inst, myr_status s);
void fuzz_record_state(Trace *t, myr_instance *inst);

/* Runs the exports of inst in order. slice == 0: each with FUZZ_FUEL in
 * one myr_instance_run (running out ends the trace). slice > 0: in
 * slices, the k-th of fuel slices[k % nslices], until it ends; aborts if
 * that takes more slices than the fuel a straight run had. Runs at most
 * max_calls calls. Returns the number of calls that ended. */
uint32_t fuzz_run_exports(myr_instance *inst, uint64_t seed,
			  const uint32_t *slices, size_t nslices,
			  uint32_t max_calls, Trace *t);

/* Aborts unless the trap is one that wasm code can cause. */
void fuzz_check_trap(const myr_error *e);

#endif
