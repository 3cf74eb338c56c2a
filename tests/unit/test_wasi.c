/* WASI preview1: programs compiled with clang and wasi-libc (tests/wasi/)
 * and a few text-format modules, run through the public API. The escape
 * tests check on the host, after each attempt, that nothing outside the
 * preopened directory was read, created or changed, with openat2 and
 * with the component walk that stands in for it on older kernels. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* For myr_instance.wasi: whether an instance made WASI state. Before
 * cmocka.h, whose fail() macro would rewrite util.h's fail(). */
#include "runtime.h"

#include "testutil.h"

/* src/wasi.c: resolve paths by the walk even where openat2 exists. */
extern bool wasi_force_walk;

enum {
	WASI_ENOENT = 44,
	WASI_ENOTCAPABLE = 76,
	WASI_ENOSYS = 52,
	WASI_EEXIST = 20,
	WASI_ELOOP = 32,
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ */
/* Running a program once                                              */

typedef struct Prog {
	myr_engine *engine;
	myr_module *module;
	myr_wasi *wasi;
	myr_extern *imports;
} Prog;

/* Loads wasi_<name>.wasm and links it against a WASI context made from
 * cfg (argv[0] is the program's name). */
static void prog_open(Prog *p, const char *name, myr_wasi_config *cfg)
{
	char file[64];
	snprintf(file, sizeof file, "wasi_%s", name);
	p->engine = myr_engine_new(NULL);
	p->module = tu_load(p->engine, file);
	myr_error err;
	p->wasi = myr_wasi_new(p->engine, cfg, &err);
	if (!p->wasi)
		fail_msg("myr_wasi_new: %s", err.message);
	size_t n = myr_module_import_count(p->module);
	p->imports = calloc(n + 1, sizeof *p->imports);
	if (!myr_wasi_link(p->wasi, p->module, p->imports, &err))
		fail_msg("myr_wasi_link: %s", err.message);
}

static void prog_close(Prog *p)
{
	free(p->imports);
	myr_wasi_free(p->wasi);
	myr_module_free(p->module);
	myr_engine_free(p->engine);
}

static myr_instance *prog_instance(Prog *p)
{
	myr_error err;
	myr_instance *inst =
		myr_instance_new(p->module, p->imports,
				 myr_module_import_count(p->module), &err);
	if (!inst)
		fail_msg("instantiate: %s", err.message);
	return inst;
}

/* A memory file standing in for stdout or stderr. */
static int out_file(void)
{
	int fd = memfd_create("out", MFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Everything written to an out_file, NUL-terminated (malloc'd). */
static char *slurp(int fd, size_t *len)
{
	off_t n = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
	buf[n] = 0;
	if (len)
		*len = (size_t)n;
	return buf;
}

/* The result of one run of a program. */
typedef struct Outcome {
	bool ended; /* returned or exited (else it trapped) */
	int code;   /* the exit code */
	char *out;  /* its stdout (malloc'd) */
} Outcome;

/* Runs ops.wasm (or another program) with argv {name, args...}, dir
 * preopened as "." if given, stdout captured, to completion. */
static Outcome run_prog(const char *name, const char *dir,
			const char *const *args)
{
	const char *argv[16] = {name};
	size_t argc = 1;
	while (args && args[argc - 1])
		argv[argc] = args[argc - 1], argc++;
	myr_wasi_dir d = {dir, "."};
	myr_wasi_config cfg;
	myr_wasi_config_default(&cfg);
	cfg.argv = argv;
	cfg.argc = argc;
	cfg.dirs = dir ? &d : NULL;
	cfg.ndirs = dir ? 1 : 0;
	cfg.stdout_fd = out_file();
	Prog p;
	prog_open(&p, name, &cfg);
	myr_instance *inst = prog_instance(&p);
	myr_error err;
	myr_func_call(tu_export(inst, "_start"), NULL, 0, NULL, 0, &err);
	Outcome o = {0};
	o.ended = myr_wasi_exit_code(inst, &o.code);
	if (!o.ended && myr_instance_status(inst) != MYR_STATUS_TRAPPED) {
		/* myr_func_call does not leave a status: read the error. */
		o.ended = err.kind == MYR_ERR_TRAP && err.trap == MYR_TRAP_EXIT;
		o.code = o.ended ? err.exit_code : -1;
	}
	myr_instance_free(inst);
	prog_close(&p);
	o.out = slurp(cfg.stdout_fd, NULL);
	close(cfg.stdout_fd);
	return o;
}

/* ops.wasm OP ARGS...: its exit code is the WASI errno of OP. */
static int ops(const char *dir, const char *op, const char *a, const char *b,
	       char **out)
{
	const char *args[] = {op, a, b, NULL};
	if (!a)
		args[1] = NULL;
	else if (!b)
		args[2] = NULL;
	Outcome o = run_prog("ops", dir, args);
	if (!o.ended)
		fail_msg("ops %s %s: trapped", op, a ? a : "");
	if (out)
		*out = o.out;
	else
		free(o.out);
	return o.code;
}

/* ------------------------------------------------------------------ */
/* A sandbox on the host                                               */

typedef struct Sandbox {
	char root[256];	   /* the temporary directory */
	char box[300];	   /* root/box: preopened */
	char outside[300]; /* root/outside: must never change */
	struct timespec secret_mtime;
} Sandbox;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void at(char *buf, size_t n, const char *dir, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void sandbox_make(Sandbox *s)
{
	snprintf(s->root, sizeof s->root, "/tmp/myr-wasi-XXXXXX");
	assert_non_null(mkdtemp(s->root));
	at(s->box, sizeof s->box, s->root, "box");
	at(s->outside, sizeof s->outside, s->root, "outside");
	assert_int_equal(mkdir(s->box, 0755), 0);
	assert_int_equal(mkdir(s->outside, 0755), 0);
	char p[512], t[512];
	at(p, sizeof p, s->outside, "secret");
	write_file(p, "secret\n");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	s->secret_mtime = st.st_mtim;
	at(p, sizeof p, s->box, "in.txt");
	write_file(p, "inside\n");
	at(p, sizeof p, s->box, "sub");
	assert_int_equal(mkdir(p, 0755), 0);
	/* Symlinks inside that point out, in every way one can. */
	at(p, sizeof p, s->box, "evil");
	assert_int_equal(symlink("../outside/secret", p), 0);
	at(p, sizeof p, s->box, "up");
	assert_int_equal(symlink("..", p), 0);
	at(p, sizeof p, s->box, "sub/upup");
	assert_int_equal(symlink("../..", p), 0);
	at(p, sizeof p, s->box, "abs");
	at(t, sizeof t, s->outside, "secret");
	assert_int_equal(symlink(t, p), 0);
	at(p, sizeof p, s->box, "dangling");
	assert_int_equal(symlink("../outside/created", p), 0);
	at(p, sizeof p, s->box, "good");
	assert_int_equal(symlink("sub/../in.txt", p), 0);
	at(p, sizeof p, s->box, "loop");
	assert_int_equal(symlink("loop", p), 0);
}

/* Fails the test if anything outside the box is not as it was made:
 * one file, same content, same modification time. */
static void sandbox_check_outside(const Sandbox *s)
{
	DIR *d = opendir(s->outside);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strcmp(e->d_name, "secret") != 0)
			fail_msg("escape: %s/%s was created", s->outside,
				 e->d_name);
		n++;
	}
	closedir(d);
	if (n != 1)
		fail_msg("escape: %s/secret was removed", s->outside);
	char p[512];
	at(p, sizeof p, s->outside, "secret");
	FILE *f = fopen(p, "r");
	char buf[64] = {0};
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_string_equal(buf, "secret\n");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	if (st.st_mtim.tv_sec != s->secret_mtime.tv_sec ||
	    st.st_mtim.tv_nsec != s->secret_mtime.tv_nsec)
		fail_msg("escape: the times of %s were changed", p);
	/* Nothing next to the box either. */
	d = opendir(s->root);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "box") && strcmp(e->d_name, "outside"))
			fail_msg("escape: %s/%s was created", s->root,
				 e->d_name);
	closedir(d);
}

static bool box_has(const Sandbox *s, const char *name)
{
	char p[512];
	struct stat st;
	at(p, sizeof p, s->box, name);
	return lstat(p, &st) == 0;
}

static void rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char p[1024];
			snprintf(p, sizeof p, "%s/%s", path, e->d_name);
			rm_tree(p);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* ------------------------------------------------------------------ */
/* Escapes                                                             */

/* One attempt to get out: the errno it must get, and a check of the
 * host afterwards. */
typedef struct Escape {
	const char *op, *a, *b;
} Escape;

static const Escape escapes[] = {
	{"read", "..", NULL},
	{"read", "../outside/secret", NULL},
	{"read", "../../etc/passwd", NULL},
	{"read", "/etc/passwd", NULL},
	{"read", "sub/../../outside/secret", NULL},
	{"read", "evil", NULL},		     /* symlink pointing out */
	{"read", "up/outside/secret", NULL}, /* symlink to .. */
	{"read", "sub/upup/outside/secret", NULL},
	{"read", "abs", NULL}, /* absolute symlink */
	{"opendir", "up", NULL},
	{"opendir", "..", NULL},
	{"readdir", "up", NULL},
	{"stat", "up", NULL},
	{"stat", "../outside/secret", NULL},
	{"stat", "evil", NULL},
	{"create", "../outside/new", NULL},
	{"create", "up/outside/new", NULL},
	{"create", "/tmp/myr-wasi-created", NULL},
	{"create", "dangling", NULL}, /* O_CREAT through a symlink */
	{"create-excl", "up/new", NULL},
	{"mkdir", "../outside/d", NULL},
	{"mkdir", "up/d", NULL},
	{"mkdir", "/tmp/myr-wasi-dir", NULL},
	{"rmdir", "..", NULL},
	{"rmdir", "up/outside", NULL},
	{"rmdir", "../outside", NULL},
	{"unlink", "../outside/secret", NULL},
	{"unlink", "up/outside/secret", NULL},
	{"unlink", "..", NULL},
	{"rename", "in.txt", "../outside/moved"},
	{"rename", "in.txt", "up/moved"},
	{"rename", "../outside/secret", "stolen"},
	{"rename", "up/outside/secret", "stolen"},
	{"rename", "sub", "../moved"},
	{"link", "../outside/secret", "hard"},
	{"link", "in.txt", "../outside/hard"},
	{"link", "up/outside/secret", "hard"},
	{"symlink", "x", "../outside/link"},
	{"symlink", "x", "up/link"},
	{"symlink", "/etc/passwd", "abs2"}, /* absolute target */
	{"settimes", "evil", NULL},
	{"settimes", "../outside/secret", NULL},
	{"readlink", "../outside/secret", NULL},
	{"readlink", "up/outside/x", NULL},
};

static void check_escapes(bool walk)
{
	Sandbox s;
	sandbox_make(&s);
	wasi_force_walk = walk;
	for (size_t i = 0; i < COUNT_OF(escapes); i++) {
		const Escape *e = &escapes[i];
		char *out;
		int rc = ops(s.box, e->op, e->a, e->b, &out);
		if (rc != WASI_ENOTCAPABLE)
			fail_msg("%s %s %s: errno %d, not ENOTCAPABLE (%s)",
				 e->op, e->a, e->b ? e->b : "", rc,
				 walk ? "walk" : "openat2");
		if (strstr(out, "secret") || strstr(out, "root:"))
			fail_msg("%s %s: read something outside: %s", e->op,
				 e->a, out);
		free(out);
		sandbox_check_outside(&s);
	}
	/* Nothing was made or lost inside either. */
	assert_true(box_has(&s, "in.txt"));
	assert_true(box_has(&s, "sub"));
	assert_false(box_has(&s, "stolen"));
	assert_false(box_has(&s, "hard"));
	assert_false(box_has(&s, "abs2"));
	wasi_force_walk = false;
	rm_tree(s.root);
	struct stat st;
	assert_int_not_equal(lstat("/tmp/myr-wasi-created", &st), 0);
	assert_int_not_equal(lstat("/tmp/myr-wasi-dir", &st), 0);
}

static void test_escapes_refused(void **state)
{
	(void)state;
	check_escapes(false);
}

static void test_escapes_refused_by_the_walk(void **state)
{
	(void)state;
	check_escapes(true);
}

/* Symlinks that stay inside work, however they get there; the ones
 * that do not are refused only when followed. */
static void check_inside(bool walk)
{
	Sandbox s;
	sandbox_make(&s);
	wasi_force_walk = walk;
	char *out;
	assert_int_equal(ops(s.box, "read", "in.txt", NULL, &out), 0);
	assert_string_equal(out, "inside\n");
	free(out);
	assert_int_equal(ops(s.box, "read", "good", NULL, &out), 0);
	assert_string_equal(out, "inside\n");
	free(out);
	assert_int_equal(ops(s.box, "read", "sub/../in.txt", NULL, &out), 0);
	assert_string_equal(out, "inside\n");
	free(out);
	assert_int_equal(ops(s.box, "read", "./sub/./../in.txt", NULL, &out),
			 0);
	free(out);
	assert_int_equal(ops(s.box, "read", "sub/upup", NULL, NULL),
			 WASI_ENOTCAPABLE);
	/* Not following a symlink: it is seen, not what it names. */
	assert_int_equal(ops(s.box, "lstat", "evil", NULL, &out), 0);
	assert_non_null(strstr(out, "type 7")); /* a symlink */
	free(out);
	assert_int_equal(ops(s.box, "open-nofollow", "good", NULL, NULL),
			 WASI_ELOOP);
	assert_int_equal(ops(s.box, "read", "loop", NULL, NULL), WASI_ELOOP);
	assert_int_equal(ops(s.box, "read", "missing", NULL, NULL),
			 WASI_ENOENT);
	assert_int_equal(ops(s.box, "create-excl", "in.txt", NULL, NULL),
			 WASI_EEXIST);
	assert_int_equal(ops(s.box, "create-excl", "evil", NULL, NULL),
			 WASI_EEXIST);
	assert_int_equal(ops(s.box, "readlink", "evil", NULL, &out), 0);
	assert_string_equal(out, "../outside/secret\n");
	free(out);
	/* A symlink to outside may be made (it is text) but not used. */
	assert_int_equal(ops(s.box, "symlink", "../outside/secret", "s2", NULL),
			 0);
	assert_int_equal(ops(s.box, "read", "s2", NULL, NULL),
			 WASI_ENOTCAPABLE);
	/* Unlinking the symlink removes the link, not what it names. */
	assert_int_equal(ops(s.box, "unlink", "evil", NULL, NULL), 0);
	assert_false(box_has(&s, "evil"));
	assert_int_equal(ops(s.box, "rename", "in.txt", "sub/moved", NULL), 0);
	assert_true(box_has(&s, "sub/moved"));
	assert_int_equal(ops(s.box, "link", "sub/moved", "hard", NULL), 0);
	assert_true(box_has(&s, "hard"));
	assert_int_equal(ops(s.box, "mkdir", "sub/new", NULL, NULL), 0);
	assert_int_equal(ops(s.box, "mkdir", "sub/new", NULL, NULL),
			 WASI_EEXIST);
	assert_int_equal(ops(s.box, "rmdir", "sub/new", NULL, NULL), 0);
	assert_int_equal(ops(s.box, "settimes", "hard", NULL, NULL), 0);
	assert_int_equal(ops(s.box, "readdir", ".", NULL, &out), 0);
	assert_non_null(strstr(out, "hard 4\n"));
	assert_non_null(strstr(out, "sub 3\n"));
	assert_non_null(strstr(out, "up 7\n"));
	free(out);
	sandbox_check_outside(&s);
	wasi_force_walk = false;
	rm_tree(s.root);
}

static void test_paths_inside(void **state)
{
	(void)state;
	check_inside(false);
}

static void test_paths_inside_by_the_walk(void **state)
{
	(void)state;
	check_inside(true);
}

/* A program doing ordinary file work with libc in its directory. */
static void test_files_through_libc(void **state)
{
	(void)state;
	Sandbox s;
	sandbox_make(&s);
	char *out;
	int rc = ops(s.box, "fs", NULL, NULL, &out);
	if (rc)
		fail_msg("fs: %d: %s", rc, out);
	assert_string_equal(out, "fs ok\n");
	free(out);
	assert_false(box_has(&s, "d"));
	sandbox_check_outside(&s);
	rm_tree(s.root);
}

/* ------------------------------------------------------------------ */
/* Memory, errors, the rest of preview1                                */

static void test_bad_pointers_are_efault(void **state)
{
	(void)state;
	Sandbox s;
	sandbox_make(&s);
	char *out;
	int rc = ops(s.box, "efault", NULL, NULL, &out);
	if (rc)
		fail_msg("efault: %s", out);
	free(out);
	rm_tree(s.root);
}

static void test_unimplemented_are_enosys(void **state)
{
	(void)state;
	char *out;
	int rc = ops(NULL, "nosys", NULL, NULL, &out);
	if (rc)
		fail_msg("nosys: %s", out);
	free(out);
}

static void test_clocks_and_random(void **state)
{
	(void)state;
	assert_int_equal(ops(NULL, "clock", NULL, NULL, NULL), 0);
	assert_int_equal(ops(NULL, "random", NULL, NULL, NULL), 0);
}

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(ops(NULL, "exit", "0", NULL, NULL), 0);
	assert_int_equal(ops(NULL, "exit", "7", NULL, NULL), 7);
	assert_int_equal(ops(NULL, "exit", "255", NULL, NULL), 255);
	/* Returning from main is exit code 0 (wasi-libc's _start then
	 * returns rather than calling proc_exit). */
	assert_int_equal(ops(NULL, "clock", NULL, NULL, NULL), 0);
	const char *args[] = {"trap", NULL};
	Outcome o = run_prog("ops", NULL, args);
	assert_false(o.ended);
	free(o.out);
}

/* Arguments, environment, and the instance's index and count. */
static void test_args_and_env(void **state)
{
	(void)state;
	const char *argv[] = {"prog", "args", "two words", ""};
	const char *env[] = {"A=1", "EMPTY=", "B=two words"};
	myr_wasi_config cfg;
	myr_wasi_config_default(&cfg);
	cfg.argv = argv;
	cfg.argc = 4;
	cfg.env = env;
	cfg.nenv = 3;
	cfg.instances = 7;
	cfg.stdout_fd = out_file();
	Prog p;
	prog_open(&p, "ops", &cfg);
	myr_instance *inst = prog_instance(&p);
	myr_instance_set_user(inst, NULL, 5);
	myr_error err;
	assert_true(myr_func_call(tu_export(inst, "_start"), NULL, 0, NULL, 0,
				  &err));
	myr_instance_free(inst);
	prog_close(&p);
	char *out = slurp(cfg.stdout_fd, NULL);
	close(cfg.stdout_fd);
	assert_string_equal(out, "arg prog\narg args\narg two words\narg \n"
				 "env A=1\nenv EMPTY=\nenv B=two words\n"
				 "env MYRIAD_INSTANCE=5\n"
				 "env MYRIAD_INSTANCES=7\n");
	free(out);
}

/* Link errors name the import; an embedder's own functions sit next to
 * WASI's; unimplemented preview1 functions are ENOSYS. */
static myr_hostret host_add(myr_caller *c, void *env, const myr_val *args,
			    myr_val *results)
{
	(void)c, (void)env;
	results[0] = tu_i32(args[0].of.i32 + args[1].of.i32);
	return MYR_HOST_OK;
}

static void test_linking(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	myr_wasi_config cfg;
	myr_wasi_config_default(&cfg);
	cfg.stdout_fd = out_file();
	myr_error err;
	myr_wasi *w = myr_wasi_new(e, &cfg, &err);
	assert_non_null(w);
	myr_extern imports[4];

	myr_module *m = tu_load(e, "wasi_badtype");
	memset(imports, 0, sizeof imports);
	assert_false(myr_wasi_link(w, m, imports, &err));
	assert_int_equal(err.kind, MYR_ERR_LINK);
	assert_non_null(strstr(err.message, "wasi_snapshot_preview1.fd_write"));
	myr_module_free(m);

	m = tu_load(e, "wasi_unknown");
	memset(imports, 0, sizeof imports);
	assert_false(myr_wasi_link(w, m, imports, &err));
	assert_non_null(strstr(err.message, "no_such_function"));
	myr_module_free(m);

	/* env.add unresolved: the error names it. */
	m = tu_load(e, "wasi_mixed");
	memset(imports, 0, sizeof imports);
	assert_false(myr_wasi_link(w, m, imports, &err));
	assert_non_null(strstr(err.message, "env.add"));
	/* Filled by the embedder first: kept. */
	myr_valtype ii[] = {MYR_I32, MYR_I32};
	myr_functype ft = {2, 1, ii, ii};
	myr_func *add = myr_func_new(e, &ft, host_add, NULL, NULL);
	memset(imports, 0, sizeof imports);
	imports[0] = (myr_extern){.kind = MYR_EXTERN_FUNC, .of.func = add};
	assert_true(myr_wasi_link(w, m, imports, &err));
	assert_ptr_equal(imports[0].of.func, add);
	assert_ptr_equal(imports[1].of.func, myr_wasi_func(w, "fd_write", 8));
	assert_null(myr_wasi_func(w, "fd_writ", 7));
	myr_instance *inst = myr_instance_new(m, imports, 3, &err);
	assert_non_null(inst);
	myr_val r;
	assert_true(
		myr_func_call(tu_export(inst, "run"), NULL, 0, &r, 1, &err));
	assert_int_equal(r.of.i32, 106);
	assert_true(
		myr_func_call(tu_export(inst, "raise"), NULL, 0, &r, 1, &err));
	assert_int_equal(r.of.i32, WASI_ENOSYS);
	/* More iovecs than the host gathers on its stack. */
	myr_val n = tu_i32(3000);
	assert_true(myr_func_call(tu_export(inst, "many_iovs"), &n, 1, &r, 1,
				  &err));
	assert_int_equal(r.of.i32, 3000);
	myr_instance_free(inst);
	char *out = slurp(cfg.stdout_fd, NULL);
	assert_int_equal(strlen(out), 6 + 3000);
	assert_memory_equal(out, "mixed\n0123456789012", 19);
	free(out);
	close(cfg.stdout_fd);
	myr_wasi_free(w);

	/* Whole lines: a line and an empty iovec after it need no state;
	 * a partial line does, and comes out when the instance is freed. */
	cfg.whole_lines = true;
	cfg.stdout_fd = out_file();
	w = myr_wasi_new(e, &cfg, &err);
	memset(imports + 1, 0, sizeof imports - sizeof *imports);
	assert_true(myr_wasi_link(w, m, imports, &err));
	inst = myr_instance_new(m, imports, 3, &err);
	assert_true(myr_func_call(tu_export(inst, "line_and_empty"), NULL, 0,
				  &r, 1, &err));
	assert_int_equal(r.of.i32, 0);
	assert_null(inst->wasi);
	n = tu_i32(5);
	assert_true(myr_func_call(tu_export(inst, "many_iovs"), &n, 1, &r, 1,
				  &err));
	assert_non_null(inst->wasi);
	out = slurp(cfg.stdout_fd, NULL);
	assert_string_equal(out, "mixed\n");
	free(out);
	myr_instance_free(inst);
	out = slurp(cfg.stdout_fd, NULL);
	assert_string_equal(out, "mixed\n01234\n");
	free(out);
	close(cfg.stdout_fd);

	/* Called directly, without an instance or memory: no crash. */
	myr_val args[4] = {tu_i32(1), tu_i32(0), tu_i32(1), tu_i32(0)};
	assert_true(myr_func_call(myr_wasi_func(w, "fd_write", 8), args, 4, &r,
				  1, &err));
	assert_int_equal(r.of.i32, 21); /* EFAULT */
	assert_true(myr_func_call(myr_wasi_func(w, "sched_yield", 11), NULL, 0,
				  &r, 1, &err));
	assert_int_equal(r.of.i32, 0);

	myr_module_free(m);
	myr_func_free(add);
	myr_wasi_free(w);
	/* A directory that cannot be opened is an error naming it. */
	myr_wasi_dir d = {"/nonexistent/dir", "x"};
	cfg.dirs = &d;
	cfg.ndirs = 1;
	assert_null(myr_wasi_new(e, &cfg, &err));
	assert_non_null(strstr(err.message, "/nonexistent/dir"));
	myr_engine_free(e);
}

/* ------------------------------------------------------------------ */
/* Under the scheduler                                                 */

typedef struct Tally {
	atomic_ulong ended, trapped, bad_code, with_state;
	int expect_code;
} Tally;

static void on_done(myr_instance *inst, myr_status st, void *user)
{
	Tally *t = user;
	int code;
	(void)st;
	if (myr_wasi_exit_code(inst, &code)) {
		atomic_fetch_add(&t->ended, 1);
		if (code != t->expect_code)
			atomic_fetch_add(&t->bad_code, 1);
	} else {
		atomic_fetch_add(&t->trapped, 1);
	}
	/* Did the instance need WASI state of its own? (It should not
	 * for printing whole lines.) */
	if (inst->wasi)
		atomic_fetch_add(&t->with_state, 1);
	myr_instance_free(inst);
}

/* n instances of p, started at _start with indices 0..n-1, run on
 * `threads` workers (fuel per slice: 0 for the timed default). */
static void run_sched(Prog *p, uint64_t n, uint32_t threads, int64_t fuel,
		      Tally *t, myr_sched_stats *st)
{
	myr_sched_config sc = {.threads = threads,
			       .fuel = fuel,
			       .on_done = on_done,
			       .user = t};
	myr_sched *s = myr_sched_new(p->engine, &sc);
	assert_non_null(s);
	myr_error err;
	for (uint64_t i = 0; i < n; i++) {
		myr_instance *inst = prog_instance(p);
		assert_true(myr_instance_start(inst, tu_export(inst, "_start"),
					       NULL, 0, &err));
		myr_instance_set_user(inst, NULL, i);
		assert_true(myr_sched_add(s, inst));
	}
	myr_sched_run(s);
	myr_sched_get_stats(s, st);
	myr_sched_free(s);
}

static void ops_config(myr_wasi_config *cfg, const char **argv, size_t argc)
{
	myr_wasi_config_default(cfg);
	cfg->argv = argv;
	cfg->argc = argc;
	cfg->stdout_fd = out_file();
}

/* ops tty with stdio from these host fds and /dev preopened as ".";
 * returns what it printed (malloc'd). */
static char *tty_listing(int in, int err, const char *path)
{
	const char *argv[] = {"ops", "tty", path};
	myr_wasi_dir dev = {"/dev", "."};
	myr_wasi_config cfg;
	ops_config(&cfg, argv, 3);
	cfg.stdin_fd = in;
	cfg.stderr_fd = err;
	cfg.dirs = &dev;
	cfg.ndirs = 1;
	Prog p;
	prog_open(&p, "ops", &cfg);
	myr_instance *inst = prog_instance(&p);
	myr_error e;
	myr_func_call(tu_export(inst, "_start"), NULL, 0, NULL, 0, &e);
	int code = -1;
	assert_true(myr_wasi_exit_code(inst, &code));
	assert_int_equal(code, 0);
	myr_instance_free(inst);
	prog_close(&p);
	char *out = slurp(cfg.stdout_fd, NULL);
	close(cfg.stdout_fd);
	return out;
}

/* A character device is a terminal to the program only if it is one on
 * the host: /dev/null and /dev/zero are character devices that wasi-libc's
 * isatty() must not take for terminals (it would line-buffer them). */
static void test_isatty(void **state)
{
	(void)state;
	int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(null_in >= 0 && null_out >= 0);
	char *out = tty_listing(null_in, null_out, "zero");
	assert_string_equal(out, "fd 0: type 2 tty 0\n"
				 "fd 1: type 4 tty 0\n"
				 "fd 2: type 2 tty 0\n"
				 "zero: type 2 tty 0\n");
	free(out);
	close(null_in);
	close(null_out);

	/* A pseudo-terminal is one. */
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) || unlockpt(master)) {
		printf("test_isatty: no pseudo-terminal here (%s); only "
		       "non-terminals checked\n",
		       strerror(errno));
		if (master >= 0)
			close(master);
		return;
	}
	int tty = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(tty >= 0);
	out = tty_listing(tty, tty, "");
	assert_string_equal(out, "fd 0: type 2 tty 1\n"
				 "fd 1: type 4 tty 0\n"
				 "fd 2: type 2 tty 1\n");
	free(out);
	close(tty);
	close(master);
}

/* 64 instances sleeping 200 ms at once on one thread: parked, they all
 * sleep together and finish in about one sleep; holding the thread, they
 * would take one after another, 12.8 s. The upper bound only tells those
 * two apart (a quarter of the serial time, 16 sleeps), so a loaded
 * machine cannot make it fail; the lower one is the sleep itself. */
static void test_sleeps_park(void **state)
{
	(void)state;
	enum { N = 64, MS = 200 };
	const char *modes[] = {"sleep", "sleep-abs", "sleep-real"};
	for (size_t k = 0; k < COUNT_OF(modes); k++) {
		const char *argv[] = {"ops", modes[k], "200"};
		myr_wasi_config cfg;
		ops_config(&cfg, argv, 3);
		Prog p;
		prog_open(&p, "ops", &cfg);
		Tally t = {.expect_code = 0};
		myr_sched_stats st;
		double t0 = now_s();
		run_sched(&p, N, 1, 0, &t, &st);
		double dt = now_s() - t0;
		assert_int_equal(atomic_load(&t.ended), N);
		assert_int_equal(atomic_load(&t.bad_code), 0);
		double serial = N * MS / 1000.0;
		if (dt < MS / 1000.0 - 0.005 || dt > serial / 4)
			fail_msg("%s: %d sleeps of %d ms on one thread took "
				 "%.3f s (serially: %.1f s)",
				 modes[k], N, MS, dt, serial);
		prog_close(&p);
		close(cfg.stdout_fd);
	}
	/* Without the scheduler, the calling thread sleeps. */
	double t0 = now_s();
	assert_int_equal(ops(NULL, "sleep", "50", NULL, NULL), 0);
	assert_true(now_s() - t0 >= 0.050);
}

/* sched_yield ends the slice: with slices long enough for the whole
 * program, 100 yields make at least 101 slices. */
static void test_sched_yield(void **state)
{
	(void)state;
	const char *argv[] = {"ops", "yield", "100"};
	myr_wasi_config cfg;
	ops_config(&cfg, argv, 3);
	Prog p;
	prog_open(&p, "ops", &cfg);
	Tally t = {.expect_code = 0};
	myr_sched_stats st;
	run_sched(&p, 1, 1, 1000000000, &t, &st);
	assert_int_equal(atomic_load(&t.ended), 1);
	assert_true(st.slices >= 101);
	prog_close(&p);
	close(cfg.stdout_fd);
}

/* poll_oneoff on stdin: a pipe with data is ready at once; an empty one
 * lets the timeout fire. */
static void test_poll_stdin(void **state)
{
	(void)state;
	int fds[2];
	for (int with_data = 0; with_data < 2; with_data++) {
		assert_int_equal(pipe(fds), 0);
		if (with_data)
			assert_int_equal(write(fds[1], "x", 1), 1);
		const char *argv[] = {"ops", "poll-stdin", "100"};
		myr_wasi_config cfg;
		ops_config(&cfg, argv, 3);
		cfg.stdin_fd = fds[0];
		Prog p;
		prog_open(&p, "ops", &cfg);
		Tally t = {.expect_code = 0};
		myr_sched_stats st;
		double t0 = now_s();
		run_sched(&p, 1, 1, 0, &t, &st);
		double dt = now_s() - t0;
		prog_close(&p);
		char *out = slurp(cfg.stdout_fd, NULL);
		if (with_data) {
			/* The fd's event, not the clock's, proves it was ready
			 * before the timeout; no upper bound on wall time,
			 * which a loaded or instrumented run can pass. */
			assert_string_equal(out, "event 1 error 0\n");
		} else {
			assert_string_equal(out, "event 2 error 0\n");
			assert_true(dt >= 0.095);
		}
		free(out);
		close(cfg.stdout_fd);
		close(fds[0]);
		close(fds[1]);
	}
}

/* A read of an empty pipe parks the instance instead of holding the
 * worker: on one thread, a second instance finishes while the first
 * still waits for its input. */
typedef struct Finish {
	double t0, at[2];
} Finish;

static void note_finish(myr_instance *inst, myr_status st, void *user)
{
	Finish *f = user;
	uint64_t index;
	(void)st;
	myr_instance_user(inst, &index);
	f->at[index] = now_s() - f->t0;
	myr_instance_free(inst);
}

typedef struct Feeder {
	int fd;
	pthread_t thread;
} Feeder;

static void *feed_later(void *arg)
{
	Feeder *f = arg;
	struct timespec nap = {0, 300 * 1000 * 1000};
	nanosleep(&nap, NULL);
	if (write(f->fd, "late\n", 5) != 5)
		abort();
	close(f->fd);
	return NULL;
}

static void test_reads_park(void **state)
{
	(void)state;
	myr_engine *e = myr_engine_new(NULL);
	myr_module *m = tu_load(e, "wasi_ops");
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	/* The other one needs the thread a thousand times (yields). */
	const char *cat[] = {"ops", "cat"}, *other[] = {"ops", "yield", "1000"};
	myr_wasi_config cfg[2];
	myr_wasi *w[2];
	myr_extern imports[2][64];
	myr_sched_config sc = {.threads = 1, .on_done = note_finish};
	Finish fin = {0};
	sc.user = &fin;
	myr_sched *s = myr_sched_new(e, &sc);
	myr_error err;
	for (int i = 0; i < 2; i++) {
		ops_config(&cfg[i], i ? other : cat, i ? 3 : 2);
		if (!i)
			cfg[i].stdin_fd = fds[0];
		w[i] = myr_wasi_new(e, &cfg[i], &err);
		memset(imports[i], 0, sizeof imports[i]);
		assert_true(myr_module_import_count(m) <= 64);
		assert_true(myr_wasi_link(w[i], m, imports[i], &err));
		myr_instance *inst = myr_instance_new(
			m, imports[i], myr_module_import_count(m), &err);
		assert_non_null(inst);
		assert_true(myr_instance_start(inst, tu_export(inst, "_start"),
					       NULL, 0, &err));
		myr_instance_set_user(inst, NULL, (uint64_t)i);
		assert_true(myr_sched_add(s, inst));
	}
	Feeder feeder = {.fd = fds[1]};
	fin.t0 = now_s();
	pthread_create(&feeder.thread, NULL, feed_later, &feeder);
	myr_sched_run(s);
	pthread_join(feeder.thread, NULL);
	myr_sched_free(s);
	if (fin.at[1] > 0.150 || fin.at[0] < 0.290)
		fail_msg("the reader finished at %.3f s, the other at %.3f s",
			 fin.at[0], fin.at[1]);
	char *out = slurp(cfg[0].stdout_fd, NULL);
	assert_string_equal(out, "late\n");
	free(out);
	for (int i = 0; i < 2; i++) {
		myr_wasi_free(w[i]);
		close(cfg[i].stdout_fd);
	}
	close(fds[0]);
	myr_module_free(m);
	myr_engine_free(e);
}

/* ------------------------------------------------------------------ */
/* Whole lines                                                         */

/* Collects what a pipe carries, on a thread of its own. */
typedef struct Drain {
	int fd;
	char *buf;
	size_t len, cap;
	pthread_t thread;
} Drain;

static void *drain_main(void *arg)
{
	Drain *d = arg;
	for (;;) {
		if (d->len + 65536 > d->cap) {
			d->cap = d->cap ? d->cap * 2 : 1 << 20;
			d->buf = realloc(d->buf, d->cap + 1);
			if (!d->buf)
				abort();
		}
		/* Small reads, so that the writers see a full pipe and
		 * partial writes. */
		ssize_t k = read(d->fd, d->buf + d->len, 4096);
		if (k <= 0)
			break;
		d->len += (size_t)k;
	}
	d->buf[d->len] = 0;
	return NULL;
}

/* Checks that text is exactly one line "hello from instance I of N" for
 * each I in 0..n-1, in any order. */
static void check_hello_lines(const char *text, size_t len, uint64_t n)
{
	uint8_t *seen = calloc(n, 1);
	assert_non_null(seen);
	uint64_t lines = 0;
	const char *p = text, *end = text + len;
	char want[64];
	snprintf(want, sizeof want, " of %llu\n", (unsigned long long)n);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			fail_msg("a last line without its newline: %.40s", p);
		unsigned long long i;
		int used = 0;
		if (sscanf(p, "hello from instance %llu%n", &i, &used) != 1 ||
		    i >= n || seen[i] ||
		    (size_t)(nl + 1 - (p + used)) != strlen(want) ||
		    memcmp(p + used, want, strlen(want)) != 0)
			fail_msg("line %llu is wrong: %.*s",
				 (unsigned long long)lines, (int)(nl - p), p);
		seen[i] = 1;
		lines++;
		p = nl + 1;
	}
	assert_int_equal(lines, n);
	free(seen);
}

/* 100,000 instances on two threads, each writing one line, to a pipe
 * read in small pieces and to a file: exactly 100,000 whole lines, and
 * not one instance needed WASI state of its own. */
static void test_whole_lines(void **state)
{
	(void)state;
	const uint64_t n = 100000;
	for (int to_pipe = 0; to_pipe < 2; to_pipe++) {
		const char *argv[] = {"hello"};
		myr_wasi_config cfg;
		myr_wasi_config_default(&cfg);
		cfg.argv = argv;
		cfg.argc = 1;
		cfg.instances = n;
		cfg.whole_lines = true;
		Drain d = {0};
		int fds[2];
		if (to_pipe) {
			assert_int_equal(pipe(fds), 0);
			cfg.stdout_fd = fds[1];
			d.fd = fds[0];
			pthread_create(&d.thread, NULL, drain_main, &d);
		} else {
			cfg.stdout_fd = out_file();
		}
		Prog p;
		prog_open(&p, "hello", &cfg);
		Tally t = {.expect_code = 0};
		myr_sched_stats st;
		run_sched(&p, n, 2, 0, &t, &st);
		prog_close(&p);
		assert_int_equal(atomic_load(&t.ended), n);
		assert_int_equal(atomic_load(&t.with_state), 0);
		if (to_pipe) {
			close(fds[1]);
			pthread_join(d.thread, NULL);
			close(fds[0]);
			check_hello_lines(d.buf, d.len, n);
			free(d.buf);
		} else {
			size_t len;
			char *text = slurp(cfg.stdout_fd, &len);
			close(cfg.stdout_fd);
			check_hello_lines(text, len, n);
			free(text);
		}
	}
}

/* Lines written in pieces, several lines in one write, stderr, and a
 * last line without its newline, from 20,000 instances: every line comes
 * out whole and exactly once. */
static void test_lines_in_pieces(void **state)
{
	(void)state;
	const uint64_t n = 20000;
	const char *argv[] = {"pieces"};
	myr_wasi_config cfg;
	myr_wasi_config_default(&cfg);
	cfg.argv = argv;
	cfg.argc = 1;
	cfg.instances = n;
	cfg.whole_lines = true;
	cfg.stdout_fd = out_file();
	cfg.stderr_fd = out_file();
	Prog p;
	prog_open(&p, "pieces", &cfg);
	Tally t = {.expect_code = 0};
	myr_sched_stats st;
	run_sched(&p, n, 2, 50, &t, &st);
	prog_close(&p);
	assert_int_equal(atomic_load(&t.ended), n);
	static const char *const kinds[] = {"piece by piece", "two", "lines",
					    "unfinished", "err"};
	uint8_t *seen = calloc(n * 5, 1);
	assert_non_null(seen);
	for (int f = 0; f < 2; f++) {
		size_t len;
		char *text = slurp(f ? cfg.stderr_fd : cfg.stdout_fd, &len);
		for (char *line = text; *line;) {
			char *nl = strchr(line, '\n');
			assert_non_null(nl);
			*nl = 0;
			char *sp = strrchr(line, ' ');
			assert_non_null(sp);
			*sp = 0;
			unsigned long long i = strtoull(sp + 1, NULL, 10);
			size_t k = 0;
			while (k < 5 && strcmp(kinds[k], line) != 0)
				k++;
			if (k == 5 || i >= n || seen[i * 5 + k] ||
			    (k == 4) != (f == 1))
				fail_msg("bad line: %s %s", line, sp + 1);
			seen[i * 5 + k] = 1;
			line = nl + 1;
		}
		free(text);
	}
	for (uint64_t i = 0; i < n * 5; i++)
		if (!seen[i])
			fail_msg("missing: %s %llu", kinds[i % 5],
				 (unsigned long long)(i / 5));
	free(seen);
	close(cfg.stdout_fd);
	close(cfg.stderr_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes_refused),
		cmocka_unit_test(test_escapes_refused_by_the_walk),
		cmocka_unit_test(test_paths_inside),
		cmocka_unit_test(test_paths_inside_by_the_walk),
		cmocka_unit_test(test_files_through_libc),
		cmocka_unit_test(test_bad_pointers_are_efault),
		cmocka_unit_test(test_unimplemented_are_enosys),
		cmocka_unit_test(test_clocks_and_random),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_args_and_env),
		cmocka_unit_test(test_linking),
		cmocka_unit_test(test_sleeps_park),
		cmocka_unit_test(test_sched_yield),
		cmocka_unit_test(test_poll_stdin),
		cmocka_unit_test(test_reads_park),
		cmocka_unit_test(test_whole_lines),
		cmocka_unit_test(test_lines_in_pieces),
		cmocka_unit_test(test_isatty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
