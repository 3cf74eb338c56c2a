/* The "spectest" host module (see spectest.h). Its contents follow the
 * spec interpreter's host/spectest.ml: globals are 666 and 666.6, the
 * table holds 10..20 funcrefs, the memory 1..2 pages. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectest.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const myr_valtype t_i32[] = {MYR_I32};
static const myr_valtype t_i64[] = {MYR_I64};
static const myr_valtype t_f32[] = {MYR_F32};
static const myr_valtype t_f64[] = {MYR_F64};
static const myr_valtype t_i32_f32[] = {MYR_I32, MYR_F32};
static const myr_valtype t_f64_f64[] = {MYR_F64, MYR_F64};

typedef struct PrintFn {
	const char *name;
	myr_functype type;
} PrintFn;

static const PrintFn print_fns[] = {
	{"print", {0, 0, NULL, NULL}},
	{"print_i32", {1, 0, t_i32, NULL}},
	{"print_i64", {1, 0, t_i64, NULL}},
	{"print_f32", {1, 0, t_f32, NULL}},
	{"print_f64", {1, 0, t_f64, NULL}},
	{"print_i32_f32", {2, 0, t_i32_f32, NULL}},
	{"print_f64_f64", {2, 0, t_f64_f64, NULL}},
};

enum { NPRINT = COUNT_OF(print_fns), NGLOBALS = 4 };

typedef struct Export {
	const char *name;
	myr_extern ext;
} Export;

/* What a print function needs to know when called: its own type (the
 * host-call interface passes no argument count) and whether to print. */
typedef struct PrintEnv {
	const PrintFn *fn;
	const bool *verbose;
} PrintEnv;

struct Spectest {
	bool verbose;
	PrintEnv envs[NPRINT];
	myr_func *funcs[NPRINT];
	myr_global *globals[NGLOBALS];
	myr_table *table;
	myr_memory *memory;
	Export exports[NPRINT + NGLOBALS + 2];
	size_t nexports;
};

static void print_val(const myr_val *v)
{
	switch (v->type) {
	case MYR_I32:
		printf("%" PRId32 ":i32", v->of.i32);
		break;
	case MYR_I64:
		printf("%" PRId64 ":i64", v->of.i64);
		break;
	case MYR_F32:
		printf("%.9g:f32", (double)v->of.f32);
		break;
	case MYR_F64:
		printf("%.17g:f64", v->of.f64);
		break;
	default:
		printf("?");
		break;
	}
}

static myr_hostret print_host(myr_caller *caller, void *env,
			      const myr_val *args, myr_val *results)
{
	const PrintEnv *pe = env;
	(void)caller;
	(void)results;
	if (!*pe->verbose)
		return MYR_HOST_OK;
	printf("spectest.%s(", pe->fn->name);
	for (uint32_t i = 0; i < pe->fn->type.nparams; i++) {
		if (i)
			printf(", ");
		print_val(&args[i]);
	}
	printf(")\n");
	return MYR_HOST_OK;
}

static void add_export(Spectest *s, const char *name, myr_extern ext)
{
	s->exports[s->nexports++] = (Export){name, ext};
}

static bool add_funcs(Spectest *s, myr_engine *engine)
{
	for (size_t i = 0; i < NPRINT; i++) {
		s->envs[i] = (PrintEnv){&print_fns[i], &s->verbose};
		s->funcs[i] = myr_func_new(engine, &print_fns[i].type,
					   print_host, &s->envs[i], NULL);
		if (!s->funcs[i])
			return false;
		myr_extern ext = {.kind = MYR_EXTERN_FUNC};
		ext.of.func = s->funcs[i];
		add_export(s, print_fns[i].name, ext);
	}
	return true;
}

static bool add_globals(Spectest *s, myr_engine *engine)
{
	static const char *const names[NGLOBALS] = {"global_i32", "global_i64",
						    "global_f32", "global_f64"};
	const myr_val init[NGLOBALS] = {
		{.type = MYR_I32, .of.i32 = 666},
		{.type = MYR_I64, .of.i64 = 666},
		{.type = MYR_F32, .of.f32 = 666.6f},
		{.type = MYR_F64, .of.f64 = 666.6},
	};
	for (size_t i = 0; i < NGLOBALS; i++) {
		s->globals[i] =
			myr_global_new(engine, init[i].type, false, init[i]);
		if (!s->globals[i])
			return false;
		myr_extern ext = {.kind = MYR_EXTERN_GLOBAL};
		ext.of.global = s->globals[i];
		add_export(s, names[i], ext);
	}
	return true;
}

static bool add_table_and_memory(Spectest *s, myr_engine *engine)
{
	myr_error err;
	s->table = myr_table_new(
		engine, MYR_FUNCREF,
		(myr_limits){.min = 10, .max = 20, .has_max = true}, &err);
	if (!s->table) {
		fprintf(stderr, "spectest: table: %s\n", err.message);
		return false;
	}
	myr_extern ext = {.kind = MYR_EXTERN_TABLE};
	ext.of.table = s->table;
	add_export(s, "table", ext);

	s->memory = myr_memory_new(
		engine, (myr_limits){.min = 1, .max = 2, .has_max = true},
		65536, &err);
	if (!s->memory) {
		fprintf(stderr, "spectest: memory: %s\n", err.message);
		return false;
	}
	ext = (myr_extern){.kind = MYR_EXTERN_MEMORY};
	ext.of.memory = s->memory;
	add_export(s, "memory", ext);
	return true;
}

Spectest *spectest_new(myr_engine *engine, bool verbose)
{
	Spectest *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->verbose = verbose;
	if (!add_funcs(s, engine) || !add_globals(s, engine) ||
	    !add_table_and_memory(s, engine)) {
		spectest_free(s);
		return NULL;
	}
	return s;
}

void spectest_free(Spectest *s)
{
	if (!s)
		return;
	/* After a failed spectest_new() some objects may be missing. */
	if (s->memory)
		myr_memory_free(s->memory);
	if (s->table)
		myr_table_free(s->table);
	for (size_t i = 0; i < NGLOBALS; i++)
		if (s->globals[i])
			myr_global_free(s->globals[i]);
	for (size_t i = 0; i < NPRINT; i++)
		if (s->funcs[i])
			myr_func_free(s->funcs[i]);
	free(s);
}

bool spectest_lookup(const Spectest *s, const char *name, size_t name_len,
		     myr_extern *out)
{
	for (size_t i = 0; i < s->nexports; i++) {
		const char *n = s->exports[i].name;
		if (strlen(n) == name_len && memcmp(n, name, name_len) == 0) {
			*out = s->exports[i].ext;
			return true;
		}
	}
	return false;
}
