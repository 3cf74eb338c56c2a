/*
 * run_wasi: runs a program compiled for WASI (preview1), as
 * `myriad run` does, with its arguments and one environment variable.
 *
 *   run_wasi greet.wasm Ada Grace       (guest/greet.c compiled to wasm)
 *
 * myriad's WASI layer is a set of host functions for the module
 * wasi_snapshot_preview1; myr_wasi_link puts them in the import array.
 * Its exit status is the program's.
 */
#include <stdio.h>
#include <stdlib.h>

#include <myriad.h>

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

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAM.wasm [ARG...]\n", argv[0]);
		return 2;
	}
	int status = 125; /* the host failed, not the program */
	myr_error err;
	myr_module *module = NULL;
	myr_wasi *wasi = NULL;
	myr_extern *imports = NULL;
	myr_instance *inst = NULL;
	myr_engine *engine = myr_engine_new(NULL);
	size_t len;
	uint8_t *bytes = read_file(argv[1], &len);
	if (!engine || !bytes)
		goto out;
	module = myr_module_new(engine, bytes, len, &err);
	if (!module)
		goto failed;

	/* What the program sees: argv (argv[0] is its name), an environment
	 * with only what is listed (nothing of the host's leaks in), and no
	 * directories, so it cannot open any file. */
	static const char *const env[] = {"GREETING=Hello from the host"};
	myr_wasi_config cfg;
	myr_wasi_config_default(&cfg);
	cfg.argv = (const char *const *)argv + 1;
	cfg.argc = (size_t)argc - 1;
	cfg.env = env;
	cfg.nenv = 1;
	wasi = myr_wasi_new(engine, &cfg, &err);
	if (!wasi)
		goto failed;

	/* A zeroed array means "nothing linked yet"; myr_wasi_link fills
	 * every wasi_snapshot_preview1 import and fails on any other. Host
	 * functions of your own would be put in first. */
	size_t nimports = myr_module_import_count(module);
	imports = calloc(nimports + 1, sizeof *imports);
	if (!imports || !myr_wasi_link(wasi, module, imports, &err))
		goto failed;
	inst = myr_instance_new(module, imports, nimports, &err);
	if (!inst)
		goto failed;

	/* A WASI command's entry point is its export _start. proc_exit, or
	 * main returning, ends it; myr_wasi_exit_code tells an exit from a
	 * trap. */
	myr_extern start;
	if (!myr_instance_export(inst, "_start", 6, &start)) {
		fprintf(stderr, "%s: not a WASI command (no _start)\n",
			argv[1]);
		goto out;
	}
	int code;
	myr_func_call(start.of.func, NULL, 0, NULL, 0, &err);
	if (myr_wasi_exit_code(inst, &code)) {
		status = code;
		goto out;
	}
	/* Otherwise it trapped: err says how. */
failed:
	fprintf(stderr, "%s: %s\n", argv[1], err.message);
out:
	/* The instance before the WASI context it was linked with. */
	myr_instance_free(inst);
	myr_wasi_free(wasi);
	free(imports);
	myr_module_free(module);
	myr_engine_free(engine);
	free(bytes);
	return status;
}
