/*
 * run: a module generated from the input (gen.c) must validate and
 * instantiate; every export is called with FUZZ_FUEL in the interpreter.
 * Two instances of the module, alive together, must record the same
 * results, traps, memory, globals and tables: the run is deterministic
 * and instances share nothing but the immutable module.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GenOptions opt = {0};
	GenModule g;
	if (!gen_module(data, size, &opt, &g))
		return 0;
	Loaded l;
	fuzz_load(fuzz_engine(MYR_TIER_INTERP), &g, &l);
	Trace a = {0}, b = {0};
	myr_instance *ia = fuzz_instantiate(&l, &a);
	myr_instance *ib = fuzz_instantiate(&l, &b);
	fuzz_run_exports(ia, g.seed, NULL, 0, 16, &a);
	fuzz_run_exports(ib, g.seed, NULL, 0, 16, &b);
	if (!trace_agree(&a, &b, true))
		trace_mismatch("two instances of one module", &a, &b);
	myr_instance_free(ib);
	myr_instance_free(ia);
	trace_free(&a);
	trace_free(&b);
	fuzz_unload(&l);
	gen_free(&g);
	return 0;
}
