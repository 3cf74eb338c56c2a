/* Helpers shared by the unit tests: loading the test modules that the
 * build assembles into MYR_TEST_WASM_DIR, and calling exports. */
#ifndef MYR_TESTUTIL_H
#define MYR_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "myriad.h"

static inline uint8_t *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Machine code of the modules loaded so far, when the tests run with
 * MYRIAD_TIER=compiled or mixed: a test program loads the same module
 * many times, and compiling it once is enough (the later loads also test
 * myr_module_new_with_code). */
typedef struct TuCode {
	char name[64];
	uint8_t *code;
	size_t len;
} TuCode;

static inline TuCode *tu_code_of(const char *name)
{
	static TuCode codes[32];
	const char *tier = getenv("MYRIAD_TIER");
	if (!tier || (strcmp(tier, "compiled") && strcmp(tier, "mixed")))
		return NULL;
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
		if (strcmp(codes[i].name, name) == 0 || !codes[i].name[0]) {
			snprintf(codes[i].name, sizeof codes[i].name, "%s",
				 name);
			return &codes[i];
		}
	}
	return NULL;
}

/* Loads MYR_TEST_WASM_DIR/name.wasm; fails the test if it cannot. */
static inline myr_module *tu_load(myr_engine *e, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s.wasm", MYR_TEST_WASM_DIR, name);
	size_t len;
	uint8_t *bytes = tu_read_file(path, &len);
	if (!bytes)
		fail_msg("cannot read %s", path);
	myr_error err;
	TuCode *c = tu_code_of(name);
	myr_module *m = myr_module_new_with_code(
		e, bytes, len, c ? c->code : NULL, c ? c->len : 0, &err);
	free(bytes);
	if (!m)
		fail_msg("%s: %s", path, err.message);
	if (c && c->code && myr_module_code_note(m))
		fail_msg("%s: %s", path, myr_module_code_note(m));
	if (c && !c->code)
		myr_module_code(m, &c->code, &c->len, &err);
	return m;
}

static inline myr_func *tu_export(myr_instance *inst, const char *name)
{
	myr_extern x;
	if (!myr_instance_export(inst, name, strlen(name), &x) ||
	    x.kind != MYR_EXTERN_FUNC)
		fail_msg("no exported function %s", name);
	return x.of.func;
}

static inline myr_val tu_i32(int32_t v)
{
	return (myr_val){.type = MYR_I32, .of.i32 = v};
}

static inline myr_val tu_i64(int64_t v)
{
	return (myr_val){.type = MYR_I64, .of.i64 = v};
}

#endif
