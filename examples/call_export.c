/*
 * call_export: the smallest complete embedding of myriad.
 *
 * Reads a module from a file, instantiates it, calls its exports with
 * typed arguments, prints the results, shows how a trap and a malformed
 * module come back as messages, and frees everything.
 *
 *   call_export calc.wasm         (calc.wasm is examples/calc.wat assembled)
 *
 * Against an installed myriad:
 *
 *   cc call_export.c $(pkg-config --cflags --libs myriad) -o call_export
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <myriad.h>

/* Reads a whole file into malloc'd memory (NULL on failure). */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = NULL;
	long size;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) &&
	    fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = buf ? (size_t)size : 0;
	return buf;
}

/* An exported function by name. The myr_func belongs to the instance and
 * is freed with it: never pass it to myr_func_free. */
static myr_func *export_func(myr_instance *inst, const char *name,
			     size_t name_len)
{
	myr_extern ext;
	if (!myr_instance_export(inst, name, name_len, &ext) ||
	    ext.kind != MYR_EXTERN_FUNC)
		return NULL;
	return ext.of.func;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s calc.wasm\n", argv[0]);
		return 2;
	}
	int status = 1;
	myr_error err;
	myr_module *module = NULL;
	myr_instance *inst = NULL;

	/* The engine holds the configuration (limits, features) that every
	 * module and instance made from it shares. NULL means the defaults;
	 * see myr_config_default for what they are. */
	myr_engine *engine = myr_engine_new(NULL);
	if (!engine)
		return 1;

	/* Decoding, validation and compilation happen once, here. The
	 * module copies the bytes, so our buffer can go right away. */
	size_t len;
	uint8_t *bytes = read_file(argv[1], &len);
	if (!bytes) {
		perror(argv[1]);
		goto out;
	}
	module = myr_module_new(engine, bytes, len, &err);
	free(bytes);
	if (!module) {
		fprintf(stderr, "%s: %s\n", argv[1], err.message);
		goto out;
	}

	/* An instance has its own memory, globals and value stack; calc
	 * imports nothing, so the import array is empty. */
	inst = myr_instance_new(module, NULL, 0, &err);
	if (!inst) {
		fprintf(stderr, "instantiate: %s\n", err.message);
		goto out;
	}
	myr_func *fib = export_func(inst, "fib", 3);
	myr_func *divmod = export_func(inst, "divmod", 6);
	myr_func *hypot = export_func(inst, "hypot", 5);
	if (!fib || !divmod || !hypot) {
		fprintf(stderr, "calc.wasm lacks an export\n");
		goto out;
	}

	/* Every value carries its type: a call whose arguments do not match
	 * the function's signature fails with MYR_ERR_ARGUMENT instead of
	 * misreading bits. */
	myr_val args[2], results[2];
	args[0] = (myr_val){.type = MYR_I32, .of.i32 = 50};
	if (!myr_func_call(fib, args, 1, results, 1, &err))
		goto call_failed;
	printf("fib(50) = %" PRId64 "\n", results[0].of.i64);

	/* Two results (multi-value): results[] needs room for both. */
	args[0] = (myr_val){.type = MYR_I32, .of.i32 = 17};
	args[1] = (myr_val){.type = MYR_I32, .of.i32 = 5};
	if (!myr_func_call(divmod, args, 2, results, 2, &err))
		goto call_failed;
	printf("divmod(17, 5) = (%" PRId32 ", %" PRId32 ")\n",
	       results[0].of.i32, results[1].of.i32);

	args[0] = (myr_val){.type = MYR_F64, .of.f64 = 3.0};
	args[1] = (myr_val){.type = MYR_F64, .of.f64 = 4.0};
	if (!myr_func_call(hypot, args, 2, results, 1, &err))
		goto call_failed;
	printf("hypot(3, 4) = %g\n", results[0].of.f64);

	/* A trap ends the call, not the program: myr_func_call returns
	 * false and err says which trap, in which function, in words. */
	args[0] = (myr_val){.type = MYR_I32, .of.i32 = 1};
	args[1] = (myr_val){.type = MYR_I32, .of.i32 = 0};
	if (!myr_func_call(divmod, args, 2, results, 2, &err) &&
	    err.kind == MYR_ERR_TRAP)
		printf("divmod(1, 0) trapped: %s\n", err.message);

	/* The instance stays usable after a trap: calls start afresh. */
	args[0].of.i32 = 9;
	args[1].of.i32 = 4;
	if (!myr_func_call(divmod, args, 2, results, 2, &err))
		goto call_failed;
	printf("divmod(9, 4) = (%" PRId32 ", %" PRId32 ")\n", results[0].of.i32,
	       results[1].of.i32);

	/* A wrongly typed argument is the embedder's mistake, not a trap. */
	args[0] = (myr_val){.type = MYR_I64, .of.i64 = 50};
	if (!myr_func_call(fib, args, 1, results, 1, &err) &&
	    err.kind == MYR_ERR_ARGUMENT)
		printf("fib(i64) refused: %s\n", err.message);

	/* A module that does not load says what is wrong and where: this
	 * one has the magic number right but an unknown version. */
	static const uint8_t bad[] = {0x00, 'a', 's', 'm', 2, 0, 0, 0};
	myr_module *broken = myr_module_new(engine, bad, sizeof bad, &err);
	if (!broken && err.kind == MYR_ERR_MALFORMED)
		printf("bad module: byte %" PRIu64 ": %s\n", err.offset,
		       err.message);
	myr_module_free(broken); /* NULL here; _free accepts it */

	status = 0;
	goto out;
call_failed:
	fprintf(stderr, "call failed: %s\n", err.message);
out:
	/* Reverse order of creation: an instance needs its module, and a
	 * module its engine. Every _free accepts NULL. */
	myr_instance_free(inst);
	myr_module_free(module);
	myr_engine_free(engine);
	return status;
}
