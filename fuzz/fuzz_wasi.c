/*
 * wasi: WASI preview1 calls with arguments from the input, against a
 * directory tree made for the purpose, must never reach outside the
 * preopened directory, crash, leak a descriptor or answer anything but an
 * errno.
 *
 * The tree (in /dev/shm, else $TMPDIR; $MYR_FUZZ_TMPDIR chooses; made once per
 * process, its inside remade before every input):
 *
 *   base/canary            outside: must never be opened, read or changed
 *   base/outside/secret    outside, likewise
 *   base/root/             the preopen (guest fd 3, "/sandbox")
 *     a, sub/b, sub/deeper/, link_in -> a, link_dir -> sub, loop -> loop,
 *     link_up -> .., link_canary -> ../canary, link_abs -> base/canary,
 *     sub/link_up2 -> ../../outside
 *
 * The guest is a module built here from the input: one function making up
 * to MAX_CALLS calls of any preview1 function, each argument chosen by its
 * role (descriptor, path from a list of escapes and ordinary names or
 * from the input, pointer in or out of bounds, iovec list, flags,
 * offsets), storing every errno in memory. After the run, inotify on base
 * and base/outside must have seen nothing but the tree's own directory
 * entry, the canary and the listings of base and outside must be as made,
 * every errno must be below 77, and the process must have as many open
 * descriptors as before.
 *
 * Input: byte 0: bit 0 resolves paths by the component walk instead of
 * openat2 (wasi_force_walk), bit 1 whole-line output; then one byte per
 * call choosing the function, then the bytes of its arguments.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "myriad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* src/wasi.c: resolve paths by the walk even where openat2 exists. */
extern bool wasi_force_walk;

enum {
	MAX_CALLS = 24,
	DICT_AT = 0x100,
	IOVS_AT = 0x7000,
	SUBS_AT = 0x7400,
	BUF_AT = 0x9000,
	INPATH_AT = 0xA000,
	OUT_AT = 0xC000,
	PAGE = 65536,
};

/* ------------------------------------------------------------------ */
/* The tree                                                            */

static char base[256], root[300];
static int inotify_fd = -1, null_fd = -1;
static struct stat canary_st;

static void die(const char *what)
{
	fprintf(stderr, "fuzz wasi: %s: %s\n", what, strerror(errno));
	abort();
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[400];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(p);
	close(fd);
}

static void make_link(const char *target, const char *name)
{
	char p[400];
	snprintf(p, sizeof p, "%s/%s", root, name);
	if (symlink(target, p) != 0)
		die(p);
}

static void make_dir(const char *dir, const char *name)
{
	char p[400];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (mkdir(p, 0755) != 0)
		die(p);
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st, (void)flag;
	if (ftw->level == 0)
		return 0; /* root itself stays: it is the preopen */
	if (remove(path) != 0) {
		/* A directory the guest made without write permission. */
		chmod(path, 0755);
		remove(path);
	}
	return 0;
}

static void reset_tree(void)
{
	nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	chmod(root, 0755);
	write_file(root, "a", "hello, sandbox\n");
	make_dir(root, "sub");
	write_file(root, "sub/b", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n");
	make_dir(root, "sub/deeper");
	make_link("a", "link_in");
	make_link("sub", "link_dir");
	make_link("loop", "loop");
	make_link("..", "link_up");
	make_link("../canary", "link_canary");
	char abs[400];
	snprintf(abs, sizeof abs, "%s/canary", base);
	make_link(abs, "link_abs");
	make_link("../../outside", "sub/link_up2");
	/* What the reset itself caused. */
	char buf[4096];
	while (read(inotify_fd, buf, sizeof buf) > 0)
		;
}

static void setup(void)
{
	/* A tmpfs if there is one: the guest's fd_sync and fd_datasync
	 * cost a disk flush each elsewhere (ten times fewer executions). */
	const char *tmp = getenv("MYR_FUZZ_TMPDIR");
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
						    : getenv("TMPDIR");
	snprintf(base, sizeof base, "%s/myr-fuzz-wasi-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		die("mkdtemp");
	snprintf(root, sizeof root, "%s/root", base);
	write_file(base, "canary", "canary: must not be touched\n");
	make_dir(base, "outside");
	write_file(base, "outside/secret", "secret\n");
	make_dir(base, "root");
	char canary[400];
	snprintf(canary, sizeof canary, "%s/canary", base);
	if (stat(canary, &canary_st) != 0)
		die(canary);
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	char outside[400];
	snprintf(outside, sizeof outside, "%s/outside", base);
	if (inotify_fd < 0 ||
	    inotify_add_watch(inotify_fd, base, IN_ALL_EVENTS) < 0 ||
	    inotify_add_watch(inotify_fd, outside, IN_ALL_EVENTS) < 0)
		die("inotify");
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		die("/dev/null");
}

static void cleanup(void)
{
	char cmd[400];
	if (!base[0])
		return;
	nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(cmd, sizeof cmd, "%s/root", base);
	rmdir(cmd);
	snprintf(cmd, sizeof cmd, "%s/outside/secret", base);
	unlink(cmd);
	snprintf(cmd, sizeof cmd, "%s/outside", base);
	rmdir(cmd);
	snprintf(cmd, sizeof cmd, "%s/canary", base);
	unlink(cmd);
	rmdir(base);
}

/* Names in dir, sorted, joined by '/'. */
static void listing(const char *dir, char *out, size_t cap)
{
	char names[16][64];
	int n = 0;
	DIR *d = opendir(dir);
	if (!d)
		die(dir);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    n < 16)
			snprintf(names[n++], 64, "%s", de->d_name);
	closedir(d);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char t[64];
				memcpy(t, names[i], 64);
				memcpy(names[i], names[j], 64);
				memcpy(names[j], t, 64);
			}
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		strncat(out, names[i], cap - strlen(out) - 1);
		strncat(out, "/", cap - strlen(out) - 1);
	}
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void check_no_escape(void)
{
	/* The watch on base sees the tree's own entry ("root") when the
	 * guest opens or reads the preopen itself: that is inside. */
	char buf[8192];
	ssize_t n;
	while ((n = read(inotify_fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			bool inside = ev->len && strcmp(ev->name, "root") == 0;
			if (!inside) {
				fprintf(stderr,
					"fuzz wasi: ESCAPE: event 0x%x on "
					"'%s' outside the preopen\n",
					ev->mask, ev->len ? ev->name : "");
				abort();
			}
			p += sizeof *ev + ev->len;
		}
	}
	char canary[400], got[64];
	snprintf(canary, sizeof canary, "%s/canary", base);
	struct stat st;
	int fd = open(canary, O_RDONLY);
	ssize_t r = fd >= 0 ? read(fd, got, sizeof got - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (stat(canary, &st) != 0 || r < 0 ||
	    st.st_size != canary_st.st_size ||
	    st.st_mtim.tv_sec != canary_st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != canary_st.st_mtim.tv_nsec ||
	    st.st_mode != canary_st.st_mode || st.st_ino != canary_st.st_ino ||
	    (got[r] = 0, strcmp(got, "canary: must not be touched\n")) != 0) {
		fprintf(stderr, "fuzz wasi: ESCAPE: the canary changed\n");
		abort();
	}
	/* Our own read of the canary made events: drop them. */
	while (read(inotify_fd, buf, sizeof buf) > 0)
		;
	char l[1024];
	listing(base, l, sizeof l);
	if (strcmp(l, "canary/outside/root/") != 0) {
		fprintf(stderr, "fuzz wasi: ESCAPE: base holds %s\n", l);
		abort();
	}
	char outside[400];
	snprintf(outside, sizeof outside, "%s/outside", base);
	listing(outside, l, sizeof l);
	if (strcmp(l, "secret/") != 0) {
		fprintf(stderr, "fuzz wasi: ESCAPE: outside holds %s\n", l);
		abort();
	}
}

/* ------------------------------------------------------------------ */
/* The guest                                                           */

typedef struct Buf {
	uint8_t *p;
	size_t len, cap;
} Buf;

static void put(Buf *b, uint8_t x)
{
	if (b->len == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	b->p[b->len++] = x;
}

static void put_n(Buf *b, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(b, ((const uint8_t *)p)[i]);
}

static void uleb(Buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		put(b, c | (v ? 0x80 : 0));
	} while (v);
}

static void sleb(Buf *b, int64_t v)
{
	for (;;) {
		uint8_t c = v & 0x7f;
		v >>= 7;
		bool done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
		put(b, c | (done ? 0 : 0x80));
		if (done)
			return;
	}
}

static void name(Buf *b, const char *s)
{
	uleb(b, strlen(s));
	put_n(b, s, strlen(s));
}

static void section(Buf *out, uint8_t id, Buf *s)
{
	put(out, id);
	uleb(out, s->len);
	put_n(out, s->p, s->len);
	free(s->p);
	*s = (Buf){0};
}

/* Argument roles: F fd, P out pointer, S path (ptr, len), V iovecs (ptr,
 * count), B buffer (ptr, len), O i64 offset, A i64 small length, l lookup
 * flags, o open flags, d fd flags, w whence, t time flags, R i64 rights,
 * T i64 time, c clock, x i32 anything, X i64 anything, U subscriptions
 * (ptr), E events out (ptr), N subscription count. */
static const struct Fn {
	const char *name, *roles;
	bool no_result;
} fns[] = {
	{"args_get", "PP", 0},
	{"args_sizes_get", "PP", 0},
	{"environ_get", "PP", 0},
	{"environ_sizes_get", "PP", 0},
	{"clock_res_get", "cP", 0},
	{"clock_time_get", "cXP", 0},
	{"fd_advise", "FOAx", 0},
	{"fd_allocate", "FOA", 0},
	{"fd_close", "F", 0},
	{"fd_datasync", "F", 0},
	{"fd_fdstat_get", "FP", 0},
	{"fd_fdstat_set_flags", "Fd", 0},
	{"fd_fdstat_set_rights", "FRR", 0},
	{"fd_filestat_get", "FP", 0},
	{"fd_filestat_set_size", "FO", 0},
	{"fd_filestat_set_times", "FTTt", 0},
	{"fd_pread", "FVOP", 0},
	{"fd_prestat_get", "FP", 0},
	{"fd_prestat_dir_name", "FB", 0},
	{"fd_pwrite", "FVOP", 0},
	{"fd_read", "FVP", 0},
	{"fd_readdir", "FBOP", 0},
	{"fd_renumber", "FF", 0},
	{"fd_seek", "FOwP", 0},
	{"fd_sync", "F", 0},
	{"fd_tell", "FP", 0},
	{"fd_write", "FVP", 0},
	{"path_create_directory", "FS", 0},
	{"path_filestat_get", "FlSP", 0},
	{"path_filestat_set_times", "FlSTTt", 0},
	{"path_link", "FlSFS", 0},
	{"path_open", "FlSoRRdP", 0},
	{"path_readlink", "FSBP", 0},
	{"path_remove_directory", "FS", 0},
	{"path_rename", "FSFS", 0},
	{"path_symlink", "SFS", 0},
	{"path_unlink_file", "FS", 0},
	{"poll_oneoff", "UENP", 0},
	{"proc_raise", "x", 0},
	{"sched_yield", "", 0},
	{"random_get", "B", 0},
	{"sock_accept", "FxP", 0},
	{"sock_recv", "FVxPP", 0},
	{"sock_send", "FVxP", 0},
	{"sock_shutdown", "Fx", 0},
	{"proc_exit", "x", 1},
};
#define NFNS (sizeof fns / sizeof *fns)

/* A path with a NUL inside: its length counts the bytes after it. */
static const char a_nul_b[] = "a\0b";

/* Paths the guest may name: ordinary ones and every way out we know. */
static const char *const dict[] = {
	"a",
	"sub",
	"sub/b",
	"sub/deeper",
	".",
	"..",
	"../canary",
	"../outside/secret",
	"../root/a",
	"link_up",
	"link_up/canary",
	"link_up/outside/secret",
	"link_canary",
	"link_abs",
	"link_in",
	"link_dir/b",
	"sub/link_up2",
	"sub/link_up2/secret",
	"sub/link_up2/new",
	"loop",
	"new",
	"sub/new",
	"newdir",
	"newdir/x",
	"newlink",
	"/etc/passwd",
	"/",
	"a/",
	"sub/",
	"sub/../a",
	"sub/../../canary",
	"sub/deeper/../../..",
	"./././a",
	"",
	"..//canary",
	"link_up/root/a",
	"link_dir/../../canary",
	"sub/deeper/../../../outside",
	"new/../../canary",
	"../../../../../../tmp",
	a_nul_b,
	"link_dir",
	"link_dir/",
	"sub/link_up2/..",
};
#define NDICT (sizeof dict / sizeof *dict)

typedef struct In {
	const uint8_t *p;
	size_t n, i;
} In;

static uint32_t pick(In *in, uint32_t n)
{
	if (n <= 1 || in->i >= in->n)
		return 0;
	return in->p[in->i++] % n;
}

static uint64_t raw(In *in, int bytes)
{
	uint64_t v = 0;
	for (int k = 0; k < bytes && in->i < in->n; k++)
		v |= (uint64_t)in->p[in->i++] << (8 * k);
	return v;
}

static void i32c(Buf *b, int64_t v)
{
	put(b, 0x41);
	sleb(b, (int32_t)v);
}

static void i64c(Buf *b, int64_t v)
{
	put(b, 0x42);
	sleb(b, v);
}

static uint32_t dict_at[NDICT], dict_len[NDICT];

/* Where each path of dict lies in the guest's memory: known before the
 * body that names them is generated (the data segment comes after it in
 * the module, and the first input must not see zeroes). */
static void dict_layout(void)
{
	uint32_t at = DICT_AT;
	for (size_t i = 0; i < NDICT; i++) {
		dict_at[i] = at;
		dict_len[i] = dict[i] == a_nul_b ? (uint32_t)sizeof a_nul_b - 1
						 : (uint32_t)strlen(dict[i]);
		at += dict_len[i] + 1;
	}
}

static void arg(Buf *b, In *in, char role, uint32_t call)
{
	static const int64_t offsets[] = {0,	       1,	    5,
					  (1ll << 31), (1ll << 32), (1ll << 40),
					  (1ll << 62), -1,	    -4096};
	switch (role) {
	case 'F': {
		static const int32_t fds[] = {3, 3, 3, 4, 5,  6,      0,
					      1, 2, 7, 8, -1, 1000000};
		uint32_t k = pick(in, sizeof fds / sizeof *fds + 1);
		i32c(b, k < sizeof fds / sizeof *fds ? fds[k]
						     : (int32_t)raw(in, 4));
		break;
	}
	case 'P':
	case 'E': {
		uint32_t k = pick(in, 8);
		i32c(b, k == 0	 ? PAGE - (int32_t)pick(in, 16)
			: k == 1 ? (int32_t)raw(in, 4)
				 : OUT_AT + 64 * (int32_t)call +
					   (int32_t)pick(in, 8));
		break;
	}
	case 'S': {
		uint32_t k = pick(in, 12);
		if (k == 0) { /* bytes from the input */
			i32c(b, INPATH_AT + 64 * (int32_t)pick(in, 4));
			i32c(b, pick(in, 64));
		} else if (k == 1) {
			i32c(b, (int32_t)raw(in, 4));
			i32c(b, (int32_t)raw(in, 2));
		} else if (k == 2) {
			i32c(b, PAGE - 3);
			i32c(b, 8);
		} else {
			uint32_t d = pick(in, NDICT);
			i32c(b, dict_at[d]);
			i32c(b, dict_len[d]);
		}
		break;
	}
	case 'V': {
		uint32_t k = pick(in, 8);
		i32c(b, k == 0	 ? (int32_t)raw(in, 4)
			: k == 1 ? PAGE - 8
				 : IOVS_AT + 8 * (int32_t)pick(in, 4));
		i32c(b, k == 2 ? (int32_t)raw(in, 4) : (int32_t)pick(in, 5));
		break;
	}
	case 'B': {
		uint32_t k = pick(in, 6);
		i32c(b, k == 0	 ? (int32_t)raw(in, 4)
			: k == 1 ? PAGE - (int32_t)pick(in, 64)
				 : BUF_AT + (int32_t)pick(in, 256));
		i32c(b, k == 2 ? (int32_t)raw(in, 4) : (int32_t)pick(in, 300));
		break;
	}
	case 'O':
		i64c(b, pick(in, 2) ? (int64_t)pick(in, 64)
				    : offsets[pick(in, sizeof offsets / 8)]);
		break;
	case 'A':
		i64c(b, (int64_t)pick(in, 4097));
		break;
	case 'l':
	case 'd':
	case 't':
		i32c(b,
		     pick(in, 4) ? (int32_t)pick(in, 32) : (int32_t)raw(in, 4));
		break;
	case 'o':
		i32c(b, pick(in, 16));
		break;
	case 'w':
		i32c(b, pick(in, 4));
		break;
	case 'R':
		i64c(b, pick(in, 3) ? -1 : (int64_t)raw(in, 8));
		break;
	case 'T':
	case 'X':
		i64c(b, pick(in, 2) ? (int64_t)pick(in, 1000)
				    : (int64_t)raw(in, 8));
		break;
	case 'c':
		i32c(b, pick(in, 5));
		break;
	case 'U':
		i32c(b, pick(in, 4) ? SUBS_AT + 48 * (int32_t)pick(in, 4)
				    : (int32_t)raw(in, 4));
		break;
	case 'N':
		i32c(b, pick(in, 5));
		break;
	default:
		i32c(b,
		     pick(in, 2) ? (int32_t)pick(in, 8) : (int32_t)raw(in, 4));
		break;
	}
}

static bool is_i64(char role)
{
	return strchr("OARTX", role) != NULL;
}

/* The parameter types of fns[i] as a wasm type: S, V and B are two i32s. */
static void params_of(const struct Fn *f, Buf *t)
{
	for (const char *r = f->roles; *r; r++) {
		put(t, is_i64(*r) ? 0x7e : 0x7f);
		if (strchr("SVB", *r))
			put(t, 0x7f);
	}
}

static void data_at(Buf *s, uint32_t at, const void *p, size_t n)
{
	put(s, 0x00);
	i32c(s, at);
	put(s, 0x0b);
	uleb(s, n);
	put_n(s, p, n);
}

/* Subscriptions (48 bytes each): clock relative 0 ns, clock 1 us, fd_read
 * on 3 (a directory), fd_write on 1. */
static void subscriptions(Buf *s)
{
	uint8_t subs[4 * 48] = {0};
	for (int k = 0; k < 4; k++) {
		uint8_t *p = subs + 48 * k;
		p[0] = (uint8_t)k; /* userdata */
		p[8] = k < 2 ? 0 : k == 2 ? 1 : 2;
		if (k < 2) {
			uint32_t id = 1; /* monotonic */
			uint64_t timeout = k ? 1000 : 0;
			memcpy(p + 16, &id, 4);
			memcpy(p + 24, &timeout, 8);
		} else {
			uint32_t fd = k == 2 ? 3 : 1;
			memcpy(p + 16, &fd, 4);
		}
	}
	data_at(s, SUBS_AT, subs, sizeof subs);
}

static void build_guest(In *in, Buf *m)
{
	Buf s = {0}, t = {0};
	put_n(m, "\0asm\1\0\0\0", 8);
	/* Types: one per function (duplicates are allowed), then run's. */
	uleb(&s, NFNS + 1);
	for (size_t i = 0; i < NFNS; i++) {
		put(&s, 0x60);
		params_of(&fns[i], &t);
		uleb(&s, t.len);
		put_n(&s, t.p, t.len);
		t.len = 0;
		if (fns[i].no_result) {
			uleb(&s, 0);
		} else {
			uleb(&s, 1);
			put(&s, 0x7f);
		}
	}
	free(t.p);
	put_n(&s, "\x60\x00\x00", 3);
	section(m, 1, &s);
	uleb(&s, NFNS);
	for (size_t i = 0; i < NFNS; i++) {
		name(&s, "wasi_snapshot_preview1");
		name(&s, fns[i].name);
		put(&s, 0x00);
		uleb(&s, i);
	}
	section(m, 2, &s);
	put_n(&s, "\x01", 1);
	uleb(&s, NFNS);
	section(m, 3, &s);
	put_n(&s, "\x01\x01\x01\x01", 4); /* memory 1..1 pages */
	section(m, 5, &s);
	uleb(&s, 2);
	name(&s, "memory");
	put(&s, 0x02);
	uleb(&s, 0);
	name(&s, "run");
	put(&s, 0x00);
	uleb(&s, NFNS);
	section(m, 7, &s);

	/* Each errno is checked by the guest itself (unreachable if it is
	 * 77 or more), not stored: a pointer from the input could land on
	 * any store's slot. */
	Buf body = {0};
	uleb(&body, 0);
	uint32_t n = 0;
	while (in->i < in->n && n < MAX_CALLS) {
		const struct Fn *f = &fns[pick(in, NFNS)];
		for (const char *r = f->roles; *r; r++)
			arg(&body, in, *r, n);
		put(&body, 0x10);
		uleb(&body, (uint64_t)(f - fns));
		if (!f->no_result) {
			i32c(&body, 77);
			put(&body, 0x4f); /* i32.ge_u */
			put_n(&body, "\x04\x40\x00\x0b", 4);
		}
		n++;
	}
	put(&body, 0x0b);
	uleb(&s, 1);
	uleb(&s, body.len);
	put_n(&s, body.p, body.len);
	free(body.p);
	section(m, 10, &s);

	/* Data: the path list, iovecs, subscriptions, bytes of the input
	 * as paths and as data. */
	uleb(&s, 5);
	Buf d = {0};
	for (size_t i = 0; i < NDICT; i++) {
		put_n(&d, dict[i], dict_len[i]);
		put(&d, 0);
	}
	data_at(&s, DICT_AT, d.p, d.len);
	free(d.p);
	uint32_t iovs[8] = {BUF_AT,	  16,  BUF_AT + 256, 0,
			    BUF_AT + 512, 200, PAGE - 4,     64};
	data_at(&s, IOVS_AT, iovs, sizeof iovs);
	subscriptions(&s);
	uint8_t bytes[256] = {0};
	for (int k = 0; k < 256; k++)
		bytes[k] = (uint8_t)(k < 64 ? 'a' + k % 26 : raw(in, 1));
	data_at(&s, BUF_AT, bytes, sizeof bytes);
	data_at(&s, INPATH_AT, bytes + 64, 192);
	section(m, 11, &s);
}

/* ------------------------------------------------------------------ */

static myr_engine *engine;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!engine) {
		myr_config cfg;
		myr_config_default(&cfg);
		cfg.tier = MYR_TIER_INTERP;
		cfg.code_cache_dir = NULL;
		engine = myr_engine_new(&cfg);
		setup();
		dict_layout();
		atexit(cleanup);
	}
	if (!size)
		return 0;
	wasi_force_walk = data[0] & 1;
	reset_tree();
	int fds_before = open_fds();

	In in = {data, size, 1};
	Buf m = {0};
	build_guest(&in, &m);

	myr_error err;
	myr_module *mod = myr_module_new(engine, m.p, m.len, &err);
	if (!mod) {
		fprintf(stderr, "fuzz wasi: the guest does not validate: %s\n",
			err.message);
		abort();
	}
	myr_wasi_config wc;
	myr_wasi_config_default(&wc);
	static const char *const argv[] = {"guest", "--flag", "x"};
	static const char *const env[] = {"A=1", "LONG=xxxxxxxxxxxxxxxx"};
	myr_wasi_dir dir = {root, "/sandbox"};
	wc.argv = argv;
	wc.argc = 3;
	wc.env = env;
	wc.nenv = 2;
	wc.dirs = &dir;
	wc.ndirs = 1;
	wc.stdin_fd = null_fd;
	wc.stdout_fd = null_fd;
	wc.stderr_fd = null_fd;
	wc.whole_lines = data[0] & 2;
	myr_wasi *w = myr_wasi_new(engine, &wc, &err);
	if (!w)
		die(err.message);
	myr_extern imports[NFNS] = {0};
	if (!myr_wasi_link(w, mod, imports, &err)) {
		fprintf(stderr, "fuzz wasi: link: %s\n", err.message);
		abort();
	}
	myr_instance *inst = myr_instance_new(mod, imports, NFNS, &err);
	if (!inst)
		die(err.message);
	myr_extern run;
	if (!myr_instance_export(inst, "run", 3, &run) ||
	    !myr_instance_start(inst, run.of.func, NULL, 0, &err))
		abort();
	myr_status s;
	for (int rounds = 0;; rounds++) {
		s = myr_instance_run(inst, 1000000);
		if (s == MYR_STATUS_READY && rounds < 1000)
			continue;
		if (s == MYR_STATUS_BLOCKED && rounds < 1000) {
			/* poll_oneoff's clocks: wait if it is soon. */
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			uint64_t t = (uint64_t)now.tv_sec * 1000000000u +
				     (uint64_t)now.tv_nsec;
			uint64_t at = myr_instance_wake_at(inst);
			if (at && at > t && at - t < 2000000) {
				struct timespec nap = {0, (long)(at - t)};
				nanosleep(&nap, NULL);
				continue;
			}
		}
		break;
	}
	if (s == MYR_STATUS_TRAPPED) {
		/* The guest's only trap is its check of an errno; WASI
		 * answers EFAULT for pointers out of bounds. */
		fprintf(stderr,
			"fuzz wasi: the guest trapped (an errno of 77 or "
			"more?): "
			"%s\n",
			myr_instance_error(inst)->message);
		abort();
	}
	if (s != MYR_STATUS_DONE && s != MYR_STATUS_EXITED &&
	    s != MYR_STATUS_BLOCKED) {
		fprintf(stderr, "fuzz wasi: the guest ended with status %d\n",
			(int)s);
		abort();
	}
	myr_instance_free(inst);
	myr_wasi_free(w);
	myr_module_free(mod);
	free(m.p);
	check_no_escape();
	int fds_after = open_fds();
	if (fds_after != fds_before) {
		fprintf(stderr, "fuzz wasi: %d descriptors before, %d after\n",
			fds_before, fds_after);
		abort();
	}
	return 0;
}
