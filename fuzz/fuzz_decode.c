/*
 * decode: arbitrary bytes through myr_module_new (decoding, validation,
 * translation to the internal code). Never a crash, leak or hang; a
 * failure must be MALFORMED, INVALID or RESOURCE and its message must
 * name the byte offset where the problem is (", at offset 0x..", within
 * the module). A module that decodes is described through the public API
 * (every import and export) and, when it has no imports, instantiated,
 * which runs its segments and its start function under a fuel limit.
 *
 * Byte 0 chooses the engine's features (default, or all of them, or
 * none of the optional ones); the rest is the module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myriad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static myr_engine *engine(uint32_t k)
{
	static myr_engine *e[3];
	static const uint32_t features[3] = {
		MYR_FEATURES_DEFAULT,
		MYR_FEATURES_DEFAULT | MYR_FEATURE_MULTI_MEMORY, 0};
	if (!e[k]) {
		myr_config cfg;
		myr_config_default(&cfg);
		cfg.tier = MYR_TIER_INTERP;
		cfg.features = features[k];
		cfg.max_memory_bytes = 1 << 20;
		cfg.max_table_elems = 10000;
		cfg.max_stack_bytes = 16 * 1024;
		cfg.code_cache_dir = NULL;
		e[k] = myr_engine_new(&cfg);
		if (!e[k])
			abort();
	}
	return e[k];
}

static void check_error(const myr_error *err, size_t len)
{
	bool kind_ok = err->kind == MYR_ERR_MALFORMED ||
		       err->kind == MYR_ERR_INVALID ||
		       err->kind == MYR_ERR_RESOURCE;
	char want[40];
	snprintf(want, sizeof want, ", at offset 0x%llx",
		 (unsigned long long)err->offset);
	if (!kind_ok || err->offset == MYR_NO_OFFSET || err->offset > len ||
	    !strstr(err->message, want)) {
		fprintf(stderr,
			"fuzz: module error without a byte offset (kind %d, "
			"offset %llu of %zu): %s\n",
			(int)err->kind, (unsigned long long)err->offset, len,
			err->message);
		abort();
	}
}

/* Whether the start function, if any, would run: instantiation runs it
 * to the end with no fuel limit, so only modules without one are
 * instantiated. */
static bool has_start(const uint8_t *p, size_t n)
{
	/* A section with id 8 at the top level; sizes are LEB128. */
	size_t i = 8;
	while (i < n) {
		uint8_t id = p[i++];
		uint64_t len = 0;
		int shift = 0;
		while (i < n && shift < 35) {
			uint8_t b = p[i++];
			len |= (uint64_t)(b & 0x7f) << shift;
			shift += 7;
			if (!(b & 0x80))
				break;
		}
		if (id == 8)
			return true;
		if (len > n - i)
			return false;
		i += len;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	myr_engine *e = engine(data[0] % 3);
	const uint8_t *bytes = data + 1;
	size_t len = size - 1;
	myr_error err;
	myr_module *m = myr_module_new(e, bytes, len, &err);
	if (!m) {
		check_error(&err, len);
		return 0;
	}
	size_t ni = myr_module_import_count(m), nx = myr_module_export_count(m);
	for (size_t i = 0; i < ni + nx; i++) {
		myr_externdesc d;
		bool ok = i < ni ? myr_module_import(m, i, &d)
				 : myr_module_export(m, i - ni, &d);
		if (!ok || (d.name_len && !d.name))
			abort();
		if (d.kind == MYR_EXTERN_FUNC &&
		    d.func.nparams + d.func.nresults && !d.func.params &&
		    !d.func.results)
			abort();
	}
	(void)myr_module_instance_size(m, NULL);
	if (!ni && !has_start(bytes, len)) {
		myr_instance *inst = myr_instance_new(m, NULL, 0, &err);
		myr_instance_free(inst);
	}
	myr_module_free(m);
	return 0;
}
