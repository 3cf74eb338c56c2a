/*
 * run_tiers: the module generated from the input (with canonical NaNs,
 * so that payloads the spec leaves to the engine cannot reach memory or
 * integers) runs interpreted, compiled and mixed (every other function
 * compiled); every call that ended in both tiers must have the same
 * results, traps, memory, globals and tables. A call that runs out of
 * fuel ends the comparison: the tiers spend fuel at the same points but
 * not the same amounts. Without the compiler tier built in, only the
 * interpreter runs. LLVM compiles slowly, so this target is separate from
 * `run` and gets few executions per second.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_tier(const GenModule *g, myr_tier tier, Trace *t)
{
	Loaded l;
	fuzz_load(fuzz_engine(tier), g, &l);
	myr_instance *inst = fuzz_instantiate(&l, t);
	fuzz_run_exports(inst, g->seed, NULL, 0, 16, t);
	myr_instance_free(inst);
	fuzz_unload(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int have_tier = -1;
	if (have_tier < 0)
		have_tier = myr_tier_available(NULL, 0);
	GenOptions opt = {.canonical_nans = true, .max_body = 200};
	GenModule g;
	if (!gen_module(data, size, &opt, &g))
		return 0;
	Trace ref = {0};
	run_tier(&g, MYR_TIER_INTERP, &ref);
	if (have_tier) {
		static const myr_tier others[] = {MYR_TIER_COMPILED,
						  MYR_TIER_MIXED};
		for (size_t k = 0; k < 2; k++) {
			Trace t = {0};
			run_tier(&g, others[k], &t);
			if (!trace_agree(&ref, &t, false))
				trace_mismatch(k ? "interp vs mixed"
						 : "interp vs compiled",
					       &ref, &t);
			trace_free(&t);
		}
	}
	trace_free(&ref);
	gen_free(&g);
	return 0;
}
