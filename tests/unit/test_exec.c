/* Execution: pausing and resuming in fuel slices gives the results of
 * uninterrupted runs; stacks grow and stop at their limit; a trap ends
 * only its own instance. And what myriad.h promises about results and
 * freeing; which function objects an instance carries. */
/* The runtime's own header first: cmocka defines a macro named fail. */
#include "runtime.h"

#include "testutil.h"

enum { NINST = 8 };

typedef struct Job {
	const char *export;
	myr_val args[2];
	size_t nargs;
} Job;

/* Instance i runs job i % njobs. */
static const Job jobs[] = {
	{"fib", {{.type = MYR_I32, .of.i32 = 18}}, 1},
	{"churn",
	 {{.type = MYR_I32, .of.i32 = 12345},
	  {.type = MYR_I32, .of.i32 = 3000}},
	 2},
	{"fib", {{.type = MYR_I32, .of.i32 = 15}}, 1},
	{"churn",
	 {{.type = MYR_I32, .of.i32 = 777}, {.type = MYR_I32, .of.i32 = 1500}},
	 2},
	{"deep", {{.type = MYR_I32, .of.i32 = 2000}}, 1},
	{"even", {{.type = MYR_I64, .of.i64 = 100001}}, 1},
};

#define COUNT ((int)(sizeof jobs / sizeof jobs[0]))

static uint64_t as_u64(myr_val v)
{
	return v.type == MYR_I64 ? (uint64_t)v.of.i64 : (uint32_t)v.of.i32;
}

/* Runs every instance's job uninterrupted, then again interleaved in
 * slices of `fuel`, and compares. */
static void interleaved(int64_t fuel)
{
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "pause");
	myr_instance *inst[NINST];
	uint64_t expect[NINST];
	myr_error err;
	for (int i = 0; i < NINST; i++) {
		inst[i] = myr_instance_new(m, NULL, 0, &err);
		assert_non_null(inst[i]);
		const Job *j = &jobs[i % COUNT];
		myr_val r;
		assert_true(myr_func_call(tu_export(inst[i], j->export),
					  j->args, j->nargs, &r, 1, &err));
		expect[i] = as_u64(r);
	}
	for (int i = 0; i < NINST; i++) {
		const Job *j = &jobs[i % COUNT];
		assert_true(myr_instance_start(inst[i],
					       tu_export(inst[i], j->export),
					       j->args, j->nargs, &err));
		assert_int_equal(myr_instance_status(inst[i]),
				 MYR_STATUS_READY);
	}
	int live = NINST;
	long slices[NINST] = {0};
	while (live > 0) {
		for (int i = 0; i < NINST; i++) {
			if (myr_instance_status(inst[i]) != MYR_STATUS_READY)
				continue;
			slices[i]++;
			myr_status s = myr_instance_run(inst[i], fuel);
			assert_true(s == MYR_STATUS_READY ||
				    s == MYR_STATUS_DONE);
			if (s == MYR_STATUS_DONE) {
				myr_val r;
				assert_int_equal(
					myr_instance_results(inst[i], &r, 1),
					1);
				assert_int_equal(as_u64(r), expect[i]);
				live--;
			}
		}
	}
	for (int i = 0; i < NINST; i++) {
		/* Each job is long enough to have been paused many times. */
		assert_true(slices[i] > 10);
		myr_instance_free(inst[i]);
	}
	myr_module_free(m);
	myr_engine_free(e);
}

static void test_slices_of_1(void **state)
{
	(void)state;
	interleaved(1);
}

static void test_slices_of_37(void **state)
{
	(void)state;
	interleaved(37);
}

static void test_slices_of_500(void **state)
{
	(void)state;
	interleaved(500);
}

/* A stack that starts at 64 bytes grows to hold deep recursion, and a
 * recursion deeper than the limit traps cleanly; the instance can then
 * run another call. */
static void test_stack_growth_and_limit(void **state)
{
	(void)state;
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.initial_stack_bytes = 64;
	cfg.max_stack_bytes = 256 * 1024;
	myr_engine *e = myr_engine_new(&cfg);
	myr_module *m = tu_load(e, "pause");
	myr_error err;
	myr_instance *inst = myr_instance_new(m, NULL, 0, &err);
	assert_non_null(inst);
	myr_func *deep = tu_export(inst, "deep");
	myr_val arg = tu_i32(1000), r;
	assert_true(myr_func_call(deep, &arg, 1, &r, 1, &err));
	assert_int_equal(r.of.i32, 1000);
	arg = tu_i32(1000000);
	assert_false(myr_func_call(deep, &arg, 1, &r, 1, &err));
	assert_int_equal(err.kind, MYR_ERR_TRAP);
	assert_int_equal(err.trap, MYR_TRAP_STACK_EXHAUSTED);
	assert_non_null(strstr(err.message, "call stack exhausted"));
	arg = tu_i32(50);
	assert_true(myr_func_call(deep, &arg, 1, &r, 1, &err));
	assert_int_equal(r.of.i32, 50);
	/* Tail calls run in constant stack, far past the limit's depth. */
	arg = tu_i64(3000001);
	assert_true(
		myr_func_call(tu_export(inst, "even"), &arg, 1, &r, 1, &err));
	assert_int_equal(r.of.i32, 0);
	myr_instance_free(inst);
	myr_module_free(m);
	myr_engine_free(e);
}

/* An out-of-bounds access traps one instance; its neighbour, interleaved
 * with it, finishes with the right result. */
static void test_trap_is_isolated(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "pause");
	myr_error err;
	myr_instance *a = myr_instance_new(m, NULL, 0, &err);
	myr_instance *b = myr_instance_new(m, NULL, 0, &err);
	assert_non_null(a);
	assert_non_null(b);
	/* 70000 words do not fit in one 64 KiB page. */
	myr_val bad[2] = {tu_i32(1), tu_i32(70000)};
	myr_val good[2] = {tu_i32(1), tu_i32(1000)};
	assert_true(myr_instance_start(a, tu_export(a, "churn"), bad, 2, &err));
	assert_true(
		myr_instance_start(b, tu_export(b, "churn"), good, 2, &err));
	myr_status sa = MYR_STATUS_READY, sb = MYR_STATUS_READY;
	while (sa == MYR_STATUS_READY || sb == MYR_STATUS_READY) {
		if (sa == MYR_STATUS_READY)
			sa = myr_instance_run(a, 50);
		if (sb == MYR_STATUS_READY)
			sb = myr_instance_run(b, 50);
	}
	assert_int_equal(sa, MYR_STATUS_TRAPPED);
	assert_int_equal(myr_instance_error(a)->trap, MYR_TRAP_MEMORY_OOB);
	assert_int_equal(sb, MYR_STATUS_DONE);
	myr_val r, expect;
	assert_int_equal(myr_instance_results(b, &r, 1), 1);
	assert_true(myr_func_call(tu_export(a, "churn"), good, 2, &expect, 1,
				  &err));
	assert_int_equal(r.of.i64, expect.of.i64);
	myr_instance_free(a);
	myr_instance_free(b);
	myr_module_free(m);
	myr_engine_free(e);
}

/* Every _free takes NULL; freeing what an instance owns does nothing
 * (the instance still uses it, which ASan would catch). */
static void test_free_null_and_owned(void **state)
{
	(void)state;
	myr_engine_free(NULL);
	myr_module_free(NULL);
	myr_func_free(NULL);
	myr_global_free(NULL);
	myr_table_free(NULL);
	myr_memory_free(NULL);
	myr_instance_free(NULL);
	myr_sched_free(NULL);
	myr_wasi_free(NULL);
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "pause");
	myr_error err;
	myr_instance *inst = myr_instance_new(m, NULL, 0, &err);
	assert_non_null(inst);
	myr_extern mem;
	assert_true(myr_instance_export(inst, "memory", 6, &mem));
	myr_memory_free(mem.of.memory);
	myr_func_free(tu_export(inst, "churn"));
	myr_val args[2] = {tu_i32(1), tu_i32(1000)}, r;
	assert_true(
		myr_func_call(tu_export(inst, "churn"), args, 2, &r, 1, &err));
	assert_int_equal(myr_memory_size(mem.of.memory), 65536);
	myr_instance_free(inst);
	myr_module_free(m);
	myr_engine_free(e);
}

static myr_hostret check_prefilled(myr_caller *caller, void *env,
				   const myr_val *args, myr_val *results)
{
	(void)caller, (void)args;
	int *bad = env;
	if (results[0].type != MYR_I64 || results[0].of.i64 != 0 ||
	    results[1].type != MYR_F32)
		(*bad)++;
	results[0].of.i64 = 7;
	results[1].of.f32 = 0.5f;
	return MYR_HOST_OK;
}

/* Results arrive typed: a host function called directly finds its
 * results' types set, and a call fills in the types of what it returns,
 * whatever the caller's array held. */
static void test_results_are_typed(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	static const myr_valtype res[2] = {MYR_I64, MYR_F32};
	const myr_functype t = {0, 2, NULL, res};
	int bad = 0;
	myr_func *f = myr_func_new(e, &t, check_prefilled, &bad, NULL);
	myr_val out[2] = {{.type = MYR_F64, .of.i64 = 0x1234},
			  {.type = MYR_EXTERNREF, .of.i64 = -1}};
	myr_error err;
	assert_true(myr_func_call(f, NULL, 0, out, 2, &err));
	assert_int_equal(bad, 0);
	assert_int_equal(out[0].type, MYR_I64);
	assert_int_equal(out[0].of.i64, 7);
	assert_int_equal(out[1].type, MYR_F32);
	assert_true(out[1].of.f32 == 0.5f);
	myr_func_free(f);

	myr_module *m = tu_load(e, "pause");
	myr_instance *inst = myr_instance_new(m, NULL, 0, &err);
	assert_non_null(inst);
	myr_val n = tu_i32(10), r = {.type = MYR_F64, .of.i64 = -1};
	assert_true(myr_func_call(tu_export(inst, "fib"), &n, 1, &r, 1, &err));
	assert_int_equal(r.type, MYR_I32);
	assert_int_equal(r.of.i32, 55);
	assert_true(
		myr_instance_start(inst, tu_export(inst, "fib"), &n, 1, &err));
	assert_int_equal(myr_instance_run(inst, 1000000), MYR_STATUS_DONE);
	r = (myr_val){.type = MYR_F64, .of.i64 = -1};
	assert_int_equal(myr_instance_results(inst, &r, 1), 1);
	assert_int_equal(r.type, MYR_I32);
	assert_int_equal(r.of.i32, 55);
	myr_instance_free(inst);
	myr_module_free(m);
	myr_engine_free(e);
}

static int32_t call_i32(myr_func *f)
{
	myr_val r = {.type = MYR_F64};
	myr_error err;
	if (!myr_func_call(f, NULL, 0, &r, 1, &err))
		fail_msg("call: %s", err.message);
	return r.type == MYR_I32 ? r.of.i32 : -1;
}

static myr_func *call_ref(myr_func *f)
{
	myr_val r = {.type = MYR_I32};
	myr_error err;
	if (!myr_func_call(f, NULL, 0, &r, 1, &err) || r.type != MYR_FUNCREF)
		fail_msg("call returned no funcref");
	return r.of.funcref;
}

/* Each function has one object per instance, whoever asks: the export
 * and ref.func (or table.get) give the same pointer, calls through it
 * run that instance's function. An actor's instance (instance_new_stack)
 * leaves the objects of exported-only functions out of its block until
 * they are asked for, and is smaller by them. */
static void test_function_objects(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "funcrefs");
	myr_error err;
	for (int actor = 0; actor < 2; actor++) {
		myr_instance *inst =
			actor ? instance_new_stack(m, NULL, 0, 0, &err)
			      : myr_instance_new(m, NULL, 0, &err);
		assert_non_null(inst);
		myr_func *lazy = atomic_load(&inst->lazy_refs);
		if (actor)
			assert_null(lazy);
		else
			assert_ptr_equal(lazy, inst->refs + m->nrefs);
		/* d (ref.func) and e (element) are in the block. */
		assert_int_equal(m->nrefs, 2);
		myr_func *d = call_ref(tu_export(inst, "get_d"));
		assert_ptr_equal(d, tu_export(inst, "d"));
		assert_true(d >= inst->refs && d < inst->refs + m->nrefs);
		myr_func *ef = call_ref(tu_export(inst, "get_e"));
		assert_ptr_equal(ef, tu_export(inst, "e"));
		assert_int_equal(call_i32(tu_export(inst, "call_e")), 5);
		/* Exported only: one object each, the same every time. */
		myr_func *a = tu_export(inst, "a");
		assert_ptr_equal(a, tu_export(inst, "a"));
		assert_ptr_equal(a->inst, inst);
		assert_int_equal(call_i32(a), 1);
		assert_int_equal(call_i32(tu_export(inst, "b")), 2);
		assert_int_equal(call_i32(tu_export(inst, "c")), 3);
		assert_int_equal(call_i32(d), 4);
		assert_non_null(atomic_load(&inst->lazy_refs));
		if (actor) {
			myr_instance *full = myr_instance_new(m, NULL, 0, &err);
			assert_non_null(full);
			/* a, b, c, get_d, get_e, call_e: 6 objects less. */
			assert_true(inst->block_size + 6 * sizeof(myr_func) <=
				    full->block_size + 63);
			assert_true(inst->block_size < full->block_size);
			myr_instance_free(full);
		}
		myr_instance_free(inst);
	}
	myr_module_free(m);
	myr_engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slices_of_1),
		cmocka_unit_test(test_slices_of_37),
		cmocka_unit_test(test_slices_of_500),
		cmocka_unit_test(test_stack_growth_and_limit),
		cmocka_unit_test(test_trap_is_isolated),
		cmocka_unit_test(test_free_null_and_owned),
		cmocka_unit_test(test_results_are_typed),
		cmocka_unit_test(test_function_objects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
