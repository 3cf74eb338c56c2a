/*
 * A generator of valid WebAssembly modules from arbitrary bytes, for the
 * fuzz targets that execute code (run, run_tiers, slices).
 *
 * Every input gives a module that must validate: functions with loops
 * (bounded by a counter, or sometimes not), blocks and ifs with block
 * types of any arity, br/br_if/br_table to any label, calls, tail calls,
 * call_indirect through a table, locals, globals, memory loads, stores,
 * grow, fill, copy and init, table get/set, i32/i64/f32/f64 arithmetic,
 * comparisons and conversions, and the instructions that trap. The bytes
 * are read as a stream of choices; once they run out every choice is 0,
 * which always means the smallest option, so generation ends.
 */
#ifndef MYR_FUZZ_GEN_H
#define MYR_FUZZ_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct GenOptions {
	/* NaNs are made canonical before they become bits (reinterpret,
	 * store): the spec lets engines pick arithmetic NaN payloads, so
	 * comparing two engines needs this; one engine against itself does
	 * not. */
	bool canonical_nans;
	/* Most instructions in one function body (0: a default). */
	uint32_t max_body;
} GenOptions;

typedef struct GenModule {
	uint8_t *bytes;
	size_t len;
	/* The module imports env.h : (i32) -> i32 as function 0 when set
	 * (gen_host_h is its meaning). */
	bool imports_h;
	/* 64-bit seed for the exports' arguments, from the input. */
	uint64_t seed;
} GenModule;

/* False only if memory ran out. Free with gen_free. */
bool gen_module(const uint8_t *data, size_t size, const GenOptions *opt,
		GenModule *out);
void gen_free(GenModule *m);

/* What env.h computes: a pure function, so that it may run on any thread
 * and in any tier. */
static inline int32_t gen_host_h(int32_t x)
{
	uint32_t v = (uint32_t)x * 2654435761u;
	return (int32_t)(v ^ (v >> 15));
}

#endif
