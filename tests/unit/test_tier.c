/* The compiler tier: a running loop moves to machine code (on-stack
 * replacement); compiled code traps exactly like the interpreter; code
 * buffers are checked before use; code pages are never writable and
 * executable at once; instances of a compiled module add no mappings;
 * loops with fast copies pause and resume anywhere.
 * Built without the compiler, the tiers that need it say so. */
/* The runtime's own headers first: cmocka defines a macro named fail. */
#include "module.h"
#include "runtime.h"

#include "testutil.h"

static myr_engine *engine_in(myr_tier tier)
{
	myr_config cfg;
	myr_config_default(&cfg);
	cfg.tier = tier;
	cfg.code_cache_dir = NULL;
	cfg.max_stack_bytes = 64 * 1024;
	return myr_engine_new(&cfg);
}

static uint8_t *module_bytes(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s.wasm", MYR_TEST_WASM_DIR, name);
	uint8_t *b = tu_read_file(path, len);
	if (!b)
		fail_msg("cannot read %s", path);
	return b;
}

static bool have_compiler(void)
{
	char why[200];
	return myr_tier_available(why, sizeof why);
}

/* Whether the run of inst is paused in interpreter code. */
static bool paused_in_interp(const myr_instance *inst)
{
	const Module *m = inst->mod;
	return inst->ex.pc >= m->code && inst->ex.pc < m->code + m->code_cells;
}

static void test_loop_moves_to_machine_code(void **state)
{
	(void)state;
	if (!have_compiler())
		skip();
	myr_engine *ei = engine_in(MYR_TIER_INTERP);
	myr_module *mi = tu_load(ei, "tier");
	myr_error err;
	myr_instance *ii = myr_instance_new(mi, NULL, 0, &err);
	myr_val arg = tu_i32(3000000), expect, r;
	assert_true(
		myr_func_call(tu_export(ii, "sum"), &arg, 1, &expect, 1, &err));

	myr_engine *e = engine_in(MYR_TIER_AUTO);
	myr_module *m = tu_load(e, "tier");
	myr_instance *inst = myr_instance_new(m, NULL, 0, &err);
	assert_non_null(inst);
	assert_true(myr_instance_start(inst, tu_export(inst, "sum"), &arg, 1,
				       &err));
	/* The compiler waits a moment before it starts: the call begins in
	 * the interpreter. */
	assert_int_equal(myr_instance_run(inst, 1000), MYR_STATUS_READY);
	assert_true(paused_in_interp(inst));
	assert_true(myr_module_wait_compiled(m) > 0);
	/* Its next slice resumes at the loop's header in machine code, and
	 * it pauses there again. */
	assert_int_equal(myr_instance_run(inst, 1000), MYR_STATUS_READY);
	assert_false(paused_in_interp(inst));
	myr_status s;
	while ((s = myr_instance_run(inst, 100000)) == MYR_STATUS_READY)
		;
	assert_int_equal(s, MYR_STATUS_DONE);
	assert_int_equal(myr_instance_results(inst, &r, 1), 1);
	assert_int_equal(r.of.i32, expect.of.i32);
	myr_instance_free(inst);
	myr_module_free(m);
	myr_engine_free(e);
	myr_instance_free(ii);
	myr_module_free(mi);
	myr_engine_free(ei);
}

typedef struct TrapCase {
	const char *export;
	myr_val arg[2];
	size_t nargs;
	myr_trap trap;
} TrapCase;

static void test_traps_match_the_interpreter(void **state)
{
	(void)state;
	if (!have_compiler())
		skip();
	static const TrapCase cases[] = {
		{"div",
		 {{.type = MYR_I32, .of.i32 = 1}, {.type = MYR_I32}},
		 2,
		 MYR_TRAP_DIV_BY_ZERO},
		{"div",
		 {{.type = MYR_I32, .of.i32 = INT32_MIN},
		  {.type = MYR_I32, .of.i32 = -1}},
		 2,
		 MYR_TRAP_INT_OVERFLOW},
		{"oob",
		 {{.type = MYR_I32, .of.i32 = 65530}},
		 1,
		 MYR_TRAP_MEMORY_OOB},
		{"unreachable", {{0}}, 0, MYR_TRAP_UNREACHABLE},
		{"down", {{.type = MYR_I32}}, 1, MYR_TRAP_STACK_EXHAUSTED},
		{"badcall",
		 {{.type = MYR_I32, .of.i32 = 1}},
		 1,
		 MYR_TRAP_INDIRECT_TYPE_MISMATCH},
		{"badcall",
		 {{.type = MYR_I32, .of.i32 = 7}},
		 1,
		 MYR_TRAP_UNDEFINED_ELEMENT},
		{"trunc",
		 {{.type = MYR_F64, .of.f64 = 1e300}},
		 1,
		 MYR_TRAP_INT_OVERFLOW},
	};
	myr_tier tiers[2] = {MYR_TIER_INTERP, MYR_TIER_COMPILED};
	myr_error errs[2][sizeof cases / sizeof cases[0]];
	for (int t = 0; t < 2; t++) {
		myr_engine *e = engine_in(tiers[t]);
		myr_module *m = tu_load(e, "tier");
		myr_error err;
		myr_instance *inst = myr_instance_new(m, NULL, 0, &err);
		assert_non_null(inst);
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			myr_val r;
			assert_false(myr_func_call(
				tu_export(inst, cases[i].export), cases[i].arg,
				cases[i].nargs, &r, 1, &errs[t][i]));
			assert_int_equal(errs[t][i].trap, cases[i].trap);
			/* The instance goes on working after a trap. */
			myr_val a = tu_i32(10);
			assert_true(myr_func_call(tu_export(inst, "sum"), &a, 1,
						  &r, 1, &err));
		}
		myr_instance_free(inst);
		myr_module_free(m);
		myr_engine_free(e);
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_string_equal(errs[0][i].message, errs[1][i].message);
		assert_int_equal(errs[0][i].func, errs[1][i].func);
	}
}

static void test_code_buffers_are_checked(void **state)
{
	(void)state;
	if (!have_compiler())
		skip();
	myr_engine *e = engine_in(MYR_TIER_COMPILED);
	size_t len, plen;
	uint8_t *bytes = module_bytes("tier", &len);
	uint8_t *other = module_bytes("pause", &plen);
	myr_error err;
	myr_module *m = myr_module_new(e, bytes, len, &err);
	assert_non_null(m);
	assert_null(myr_module_code_note(m));
	uint8_t *code;
	size_t code_len;
	assert_true(myr_module_code(m, &code, &code_len, &err));
	uint32_t ncompiled = myr_module_wait_compiled(m);
	assert_true(ncompiled >= 7);
	myr_module_free(m);

	/* The buffer as it was is used. */
	m = myr_module_new_with_code(e, bytes, len, code, code_len, &err);
	assert_non_null(m);
	assert_null(myr_module_code_note(m));
	assert_int_equal(myr_module_wait_compiled(m), ncompiled);
	myr_module_free(m);

	struct {
		size_t len;
		size_t flip; /* byte to change, or SIZE_MAX */
		bool other_module;
		const char *why;
	} bad[] = {
		{code_len / 2, SIZE_MAX, false, "truncated"},
		{code_len, code_len - 40, false, "corrupt"},
		{code_len, 3, false, "not a myriad code file"},
		{code_len, SIZE_MAX, true, "different module"},
		{0, SIZE_MAX, false, "not a myriad code file"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t *c = malloc(code_len);
		memcpy(c, code, code_len);
		if (bad[i].flip != SIZE_MAX)
			c[bad[i].flip] ^= 0x20;
		m = bad[i].other_module
			    ? myr_module_new_with_code(e, other, plen, c,
						       bad[i].len, &err)
			    : myr_module_new_with_code(e, bytes, len, c,
						       bad[i].len, &err);
		assert_non_null(m);
		const char *note = myr_module_code_note(m);
		assert_non_null(note);
		if (!strstr(note, bad[i].why))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i,
				 note, bad[i].why);
		/* Compiled afresh, and it runs. */
		assert_true(myr_module_wait_compiled(m) > 0);
		myr_instance *inst = myr_instance_new(m, NULL, 0, &err);
		assert_non_null(inst);
		myr_val a = tu_i32(20), r;
		const char *fn = bad[i].other_module ? "fib" : "sum";
		assert_true(
			myr_func_call(tu_export(inst, fn), &a, 1, &r, 1, &err));
		myr_instance_free(inst);
		myr_module_free(m);
		free(c);
	}
	free(code);
	free(bytes);
	free(other);
	myr_engine_free(e);
}

/* Lines of /proc/self/maps, and whether one of them is writable and
 * executable at once. */
static int count_maps(bool *wx)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		char perms[8] = {0};
		if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' &&
		    perms[2] == 'x')
			*wx = true;
		n++;
	}
	fclose(f);
	return n;
}

static void test_no_writable_code_no_mapping_per_instance(void **state)
{
	(void)state;
	if (!have_compiler())
		skip();
	myr_engine *e = engine_in(MYR_TIER_COMPILED);
	bool wx = false;
	myr_module *m = tu_load(e, "tier");
	myr_error err;
	enum { N = 20000 };
	myr_instance **inst = calloc(N, sizeof *inst);
	myr_instance *first = myr_instance_new(m, NULL, 0, &err);
	int before = count_maps(&wx);
	for (int i = 0; i < N; i++) {
		inst[i] = myr_instance_new(m, NULL, 0, &err);
		assert_non_null(inst[i]);
	}
	myr_val a = tu_i32(100), r;
	assert_true(myr_func_call(tu_export(inst[N - 1], "sum"), &a, 1, &r, 1,
				  &err));
	int after = count_maps(&wx);
	assert_false(wx);
	/* Slabs grow by large steps: a handful of new mappings at most. */
	assert_true(after - before < 64);
	for (int i = 0; i < N; i++)
		myr_instance_free(inst[i]);
	myr_instance_free(first);
	free(inst);
	myr_module_free(m);
	myr_engine_free(e);
}

static void test_without_the_compiler(void **state)
{
	(void)state;
	if (have_compiler())
		skip();
	myr_engine *e = engine_in(MYR_TIER_COMPILED);
	size_t len;
	uint8_t *bytes = module_bytes("tier", &len);
	myr_error err;
	assert_null(myr_module_new(e, bytes, len, &err));
	assert_non_null(strstr(err.message, "without the compiler tier"));
	myr_engine_free(e);
	/* auto runs interpreted. */
	e = engine_in(MYR_TIER_AUTO);
	myr_module *m = myr_module_new(e, bytes, len, &err);
	assert_non_null(m);
	assert_int_equal(myr_module_wait_compiled(m), 0);
	myr_module_free(m);
	myr_engine_free(e);
	free(bytes);
}

/* What a run of one export of fastloop.wasm left: its result or trap,
 * and a hash of memory. */
typedef struct Outcome {
	myr_status status;
	int32_t result;
	myr_trap trap;
	uint64_t mem_hash;
	unsigned slices;
} Outcome;

static uint64_t memory_hash(myr_instance *inst)
{
	myr_extern ext;
	assert_true(myr_instance_export(inst, "memory", 6, &ext));
	const uint8_t *p = myr_memory_data(ext.of.memory);
	uint64_t h = 1469598103934665603ull;
	for (uint64_t i = 0; i < myr_memory_size(ext.of.memory); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* Runs name in a new instance of m, `slice` units of fuel at a time. */
static Outcome run_sliced(myr_module *m, const char *name, int64_t slice)
{
	myr_error err;
	myr_instance *inst = myr_instance_new(m, NULL, 0, &err);
	assert_non_null(inst);
	assert_true(
		myr_instance_start(inst, tu_export(inst, name), NULL, 0, &err));
	Outcome o = {0};
	while ((o.status = myr_instance_run(inst, slice)) == MYR_STATUS_READY)
		o.slices++;
	if (o.status == MYR_STATUS_DONE) {
		myr_val r;
		assert_int_equal(myr_instance_results(inst, &r, 1), 1);
		o.result = r.of.i32;
	} else {
		o.trap = myr_instance_error(inst)->trap;
	}
	o.mem_hash = memory_hash(inst);
	myr_instance_free(inst);
	return o;
}

/* Loops with fast copies (tests/wat/fastloop.wat), paused every 1, 37,
 * 500 or 100,000 units of fuel in compiled code: the check at the loop's
 * head runs at each resume with that much fuel, so the fast copy runs for
 * a few iterations, for many, or not at all, and every way must end as
 * the interpreter's straight run does. */
static void test_fast_loops_in_slices(void **state)
{
	(void)state;
	if (!have_compiler())
		skip();
	static const char *names[] = {
		"up_ne",      "down_value",   "lt_u_step3",
		"le_s",	      "gt_u_swapped", "ge_s_eqz",
		"wrapped",    "oob_midway",   "oob_by_two_bytes",
		"below_zero", "never_equal",  "lookup",
		"nested",     "short",	      "with_call",
		"with_block"};
	static const int64_t slices[] = {1, 37, 500, 100000};
	myr_engine *ei = engine_in(MYR_TIER_INTERP);
	myr_module *mi = tu_load(ei, "fastloop");
	myr_engine *ec = engine_in(MYR_TIER_COMPILED);
	myr_module *mc = tu_load(ec, "fastloop");
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		Outcome want = run_sliced(mi, names[i], INT64_MAX / 2);
		for (size_t k = 0; k < sizeof slices / sizeof *slices; k++) {
			Outcome got = run_sliced(mc, names[i], slices[k]);
			if (got.status != want.status ||
			    got.result != want.result ||
			    got.trap != want.trap ||
			    got.mem_hash != want.mem_hash)
				fail_msg("%s in slices of %lld: status %d/%d, "
					 "result %d/%d, trap %d/%d, memory "
					 "%s",
					 names[i], (long long)slices[k],
					 got.status, want.status, got.result,
					 want.result, got.trap, want.trap,
					 got.mem_hash == want.mem_hash
						 ? "same"
						 : "differs");
		}
	}
	/* The fast copy spends fuel as the checked one does: up_ne (300
	 * iterations of 30 instructions) still pauses every 500 units. */
	Outcome o = run_sliced(mc, "up_ne", 500);
	assert_true(o.slices >= 10);
	myr_module_free(mc);
	myr_engine_free(ec);
	myr_module_free(mi);
	myr_engine_free(ei);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_moves_to_machine_code),
		cmocka_unit_test(test_traps_match_the_interpreter),
		cmocka_unit_test(test_code_buffers_are_checked),
		cmocka_unit_test(test_no_writable_code_no_mapping_per_instance),
		cmocka_unit_test(test_without_the_compiler),
		cmocka_unit_test(test_fast_loops_in_slices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
