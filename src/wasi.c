/*
 * WASI preview1: the wasi_snapshot_preview1 host module.
 *
 * What is shared and what is not. A myr_wasi holds everything that is the
 * same for every instance: argument and environment strings, the
 * preopened directories' host descriptors, the host stdio descriptors,
 * and one host function object per preview1 function (env points back to
 * the myr_wasi). It never changes after myr_wasi_new, so workers read it
 * without locks. An instance's own state (WasiInst, in the instance's
 * `wasi` slot) exists only once the instance needs it: its own fd table
 * once it opens or closes something, a partial output line, a pending
 * sleep. An instance that writes whole lines and opens nothing has none,
 * which is what lets a million of them print.
 *
 * Whole lines. With whole_lines set, fd_write on stdout/stderr writes
 * the part up to the last newline at once, under one lock (shared by both
 * streams, which may be the same host file), looping over partial writes;
 * what follows the last newline waits in the instance's line buffer. So
 * a line is never split between instances however many write at once.
 *
 * Sleeping. poll_oneoff with nothing ready parks the instance with
 * myr_caller_block until the earliest deadline; the engine calls it
 * again on waking, and the start time kept in WasiInst makes relative
 * timeouts count from the first call. Waiting on a pipe or terminal
 * re-polls every millisecond, parked the same way.
 *
 * Capabilities. Every path is resolved beneath a directory descriptor
 * with openat2(RESOLVE_BENEATH), so `..`, absolute paths and symlinks
 * (also inside the tree, also as the last component) can never name
 * anything outside it; the kernel checks every step, including against
 * concurrent renames. On kernels without openat2 a walk does the same
 * one component at a time with O_NOFOLLOW, expanding symlinks itself.
 * Operations that act on a name (mkdir, unlink, rename) resolve its
 * parent that way and then act on the last component relative to it.
 *
 * Pointers from wasm are checked against memory 0 before use (EFAULT).
 * The guest's structures are little-endian, like the hosts we build for.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "wasi.c copies guest structures as little-endian"
#endif

/* ------------------------------------------------------------------ */
/* Preview1 constants (the witx definitions)                           */

/* clang-format off */
enum {
	E_SUCCESS = 0, E_2BIG = 1, E_ACCES = 2, E_AGAIN = 6, E_BADF = 8,
	E_EXIST = 20, E_FAULT = 21, E_INVAL = 28, E_IO = 29, E_ISDIR = 31,
	E_LOOP = 32, E_MFILE = 33, E_NAMETOOLONG = 37, E_NOENT = 44,
	E_NOMEM = 48, E_NOSYS = 52, E_NOTDIR = 54, E_NOTSUP = 58,
	E_OVERFLOW = 61, E_PERM = 63, E_SPIPE = 70, E_NOTCAPABLE = 76,
};

enum {
	FT_UNKNOWN, FT_BLOCK, FT_CHAR, FT_DIR, FT_FILE, FT_DGRAM, FT_STREAM,
	FT_SYMLINK,
};

enum { CLOCK_REAL, CLOCK_MONO, CLOCK_PROCESS, CLOCK_THREAD };

#define R(bit) (UINT64_C(1) << (bit))
enum {
	R_DATASYNC = 0, R_READ = 1, R_SEEK = 2, R_SETFLAGS = 3, R_SYNC = 4,
	R_TELL = 5, R_WRITE = 6, R_ADVISE = 7, R_ALLOCATE = 8, R_MKDIR = 9,
	R_CREATE = 10, R_LINK_SRC = 11, R_LINK_DST = 12, R_OPEN = 13,
	R_READDIR = 14, R_READLINK = 15, R_RENAME_SRC = 16, R_RENAME_DST = 17,
	R_PATH_STAT = 18, R_PATH_SETSIZE = 19, R_PATH_SETTIMES = 20,
	R_STAT = 21, R_SETSIZE = 22, R_SETTIMES = 23, R_SYMLINK = 24,
	R_RMDIR = 25, R_UNLINK = 26, R_POLL = 27,
};
#define RIGHTS_FILE                                                           \
	(R(R_DATASYNC) | R(R_READ) | R(R_SEEK) | R(R_SETFLAGS) | R(R_SYNC) |  \
	 R(R_TELL) | R(R_WRITE) | R(R_ADVISE) | R(R_ALLOCATE) | R(R_STAT) |  \
	 R(R_SETSIZE) | R(R_SETTIMES) | R(R_POLL))
#define RIGHTS_DIR                                                            \
	(R(R_SETFLAGS) | R(R_SYNC) | R(R_ADVISE) | R(R_MKDIR) |               \
	 R(R_CREATE) | R(R_LINK_SRC) | R(R_LINK_DST) | R(R_OPEN) |           \
	 R(R_READDIR) | R(R_READLINK) | R(R_RENAME_SRC) | R(R_RENAME_DST) |   \
	 R(R_PATH_STAT) | R(R_PATH_SETSIZE) | R(R_PATH_SETTIMES) |            \
	 R(R_STAT) | R(R_SETTIMES) | R(R_SYMLINK) | R(R_RMDIR) |             \
	 R(R_UNLINK) | R(R_POLL))
/* Streams cannot seek: no SEEK or TELL, which is also how wasi-libc's
 * isatty() tells a terminal. */
#define RIGHTS_STREAM (RIGHTS_FILE & ~(R(R_SEEK) | R(R_TELL)))

enum { FDF_APPEND = 1, FDF_DSYNC = 2, FDF_NONBLOCK = 4, FDF_RSYNC = 8,
       FDF_SYNC = 16 };
enum { OF_CREAT = 1, OF_DIRECTORY = 2, OF_EXCL = 4, OF_TRUNC = 8 };
enum { LOOKUP_FOLLOW = 1 };
enum { FST_ATIM = 1, FST_ATIM_NOW = 2, FST_MTIM = 4, FST_MTIM_NOW = 8 };
enum { EV_CLOCK = 0, EV_FD_READ = 1, EV_FD_WRITE = 2 };
enum { SUB_ABSTIME = 1 };
enum { EVRW_HANGUP = 1 };

/* Sizes of the guest's structures. */
enum { SUB_SIZE = 48, EVENT_SIZE = 32, DIRENT_SIZE = 24, FILESTAT_SIZE = 64,
       FDSTAT_SIZE = 24 };
/* clang-format on */

/* Limits. A line longer than this is written in pieces; more fds than
 * this per instance is EMFILE; longer paths are ENAMETOOLONG. */
enum { LINE_MAX_BYTES = 64 * 1024, MAX_FDS = 1024, PATH_BYTES = 4096 };
/* How often a wait on a pipe or terminal looks again (ns). */
#define POLL_RETRY_NS 1000000u

/* ------------------------------------------------------------------ */
/* State                                                               */

/* A guest descriptor. */
typedef struct Fd {
	int host;	 /* host descriptor; -1: this guest fd is not open */
	uint8_t type;	 /* FT_* */
	uint8_t stream;	 /* 1, 2: guest stdout/stderr (the output path) */
	uint16_t flags;	 /* FDF_* as the guest set them */
	bool shared;	 /* the host fd is the myr_wasi's: never closed here */
	int32_t preopen; /* index of the preopened directory, or -1 */
	uint64_t rights, inheriting;
	/* fd_readdir: where entry rd_index starts and where the one after
	 * it starts, as kernel offsets (see w_fd_readdir); 0 means none. */
	uint64_t rd_index;
	int64_t rd_off, rd_next_off;
} Fd;

/* A partial output line waiting for its newline. */
typedef struct Line {
	uint32_t len, cap;
	char data[];
} Line;

/* One instance's own state, made on first need (see the top). */
typedef struct WasiInst {
	myr_wasi *w;
	Fd *fds; /* own fd table, or NULL: the shared one */
	uint32_t nfds;
	Line *line[2];			/* stdout, stderr */
	bool polling;			/* a poll_oneoff is parked */
	uint64_t poll_start, poll_wake; /* its first call; its wake time */
} WasiInst;

struct myr_wasi {
	myr_engine *engine;
	myr_wasi_config cfg; /* pointers below replace the caller's */
	char **argv, **env;  /* copies; env has room for nenv entries */
	size_t argv_bytes, env_bytes; /* with NULs */
	char **guest_names;	      /* of the preopens */
	Fd *base;		      /* fds 0, 1, 2 and the preopens */
	uint32_t nbase;
	pthread_mutex_t out_lock; /* whole lines to stdout and stderr */
	myr_func **funcs;	  /* one per entry of `table` */
};

/* Test hook (tests/unit/test_wasi.c): resolve paths with the walk even
 * when openat2 exists, to test the fallback on this kernel. */
bool wasi_force_walk;
static atomic_bool no_openat2;

/* ------------------------------------------------------------------ */
/* Guest memory                                                        */

/* ptr..ptr+len in memory 0, or NULL if any of it is outside. */
static inline uint8_t *gmem(Exec *ex, uint32_t ptr, uint64_t len)
{
	myr_memory *m = ex->mem;
	if (!m || (uint64_t)ptr + len > m->size)
		return NULL;
	return m->base + ptr;
}

static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}
static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}
static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}
static inline void st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static inline void st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static inline void st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Stores a u32/u64 result at a guest pointer; false if out of bounds. */
static bool put32(Exec *ex, uint32_t ptr, uint32_t v)
{
	uint8_t *p = gmem(ex, ptr, 4);
	if (p)
		st32(p, v);
	return p != NULL;
}

static bool put64(Exec *ex, uint32_t ptr, uint64_t v)
{
	uint8_t *p = gmem(ex, ptr, 8);
	if (p)
		st64(p, v);
	return p != NULL;
}

/* Copies a guest path into buf as a C string: EFAULT, ENAMETOOLONG, or
 * EINVAL for an embedded NUL (the host would cut the path there). */
static uint16_t get_path(Exec *ex, uint32_t ptr, uint32_t len, char *buf)
{
	if (len >= PATH_BYTES)
		return E_NAMETOOLONG;
	const uint8_t *p = gmem(ex, ptr, len);
	if (!p)
		return E_FAULT;
	if (memchr(p, 0, len))
		return E_INVAL;
	memcpy(buf, p, len);
	buf[len] = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Host errors and types                                               */

static uint16_t werr(int e)
{
	/* clang-format off */
	static const struct {
		int host;
		uint16_t wasi;
	} map[] = {
		{E2BIG, 1},	   {EACCES, 2},	     {EADDRINUSE, 3},
		{EADDRNOTAVAIL, 4}, {EAFNOSUPPORT, 5}, {EAGAIN, 6},
		{EALREADY, 7},	   {EBADF, 8},	     {EBADMSG, 9},
		{EBUSY, 10},	   {ECANCELED, 11},   {ECHILD, 12},
		{ECONNABORTED, 13}, {ECONNREFUSED, 14}, {ECONNRESET, 15},
		{EDEADLK, 16},	   {EDESTADDRREQ, 17}, {EDOM, 18},
		{EDQUOT, 19},	   {EEXIST, 20},      {EFAULT, 21},
		{EFBIG, 22},	   {EHOSTUNREACH, 23}, {EIDRM, 24},
		{EILSEQ, 25},	   {EINPROGRESS, 26}, {EINTR, 27},
		{EINVAL, 28},	   {EIO, 29},	     {EISCONN, 30},
		{EISDIR, 31},	   {ELOOP, 32},	     {EMFILE, 33},
		{EMLINK, 34},	   {EMSGSIZE, 35},    {EMULTIHOP, 36},
		{ENAMETOOLONG, 37}, {ENETDOWN, 38},    {ENETRESET, 39},
		{ENETUNREACH, 40}, {ENFILE, 41},      {ENOBUFS, 42},
		{ENODEV, 43},	   {ENOENT, 44},      {ENOEXEC, 45},
		{ENOLCK, 46},	   {ENOLINK, 47},     {ENOMEM, 48},
		{ENOMSG, 49},	   {ENOPROTOOPT, 50}, {ENOSPC, 51},
		{ENOSYS, 52},	   {ENOTCONN, 53},    {ENOTDIR, 54},
		{ENOTEMPTY, 55},   {ENOTRECOVERABLE, 56}, {ENOTSOCK, 57},
		{ENOTSUP, 58},	   {ENOTTY, 59},      {ENXIO, 60},
		{EOVERFLOW, 61},   {EOWNERDEAD, 62},  {EPERM, 63},
		{EPIPE, 64},	   {EPROTO, 65},      {EPROTONOSUPPORT, 66},
		{EPROTOTYPE, 67},  {ERANGE, 68},      {EROFS, 69},
		{ESPIPE, 70},	   {ESRCH, 71},	     {ESTALE, 72},
		{ETIMEDOUT, 73},   {ETXTBSY, 74},     {EXDEV, 75},
	};
	/* clang-format on */
	for (size_t i = 0; i < COUNT_OF(map); i++)
		if (map[i].host == e)
			return map[i].wasi;
	return E_IO;
}

static uint8_t ftype(mode_t m)
{
	if (S_ISREG(m))
		return FT_FILE;
	if (S_ISDIR(m))
		return FT_DIR;
	if (S_ISCHR(m))
		return FT_CHAR;
	if (S_ISBLK(m))
		return FT_BLOCK;
	if (S_ISLNK(m))
		return FT_SYMLINK;
	if (S_ISSOCK(m))
		return FT_STREAM;
	return FT_UNKNOWN; /* pipes */
}

/* The most rights a descriptor of this type can have. wasi-libc's
 * isatty() is true for a character device without SEEK and TELL, so a
 * character device that is not a terminal (/dev/null, /dev/zero) keeps
 * them, as lseek works on it: a program would otherwise take it for a
 * terminal (line-buffer its output, prompt on it). */
static uint64_t max_rights(int host, uint8_t type)
{
	if (type == FT_DIR)
		return RIGHTS_DIR;
	if (type == FT_FILE || (type == FT_CHAR && !isatty(host)))
		return RIGHTS_FILE;
	return RIGHTS_STREAM;
}

static uint64_t ts_ns(struct timespec t)
{
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void put_filestat(uint8_t *p, const struct stat *st)
{
	memset(p, 0, FILESTAT_SIZE);
	st64(p + 0, (uint64_t)st->st_dev);
	st64(p + 8, (uint64_t)st->st_ino);
	p[16] = ftype(st->st_mode);
	st64(p + 24, (uint64_t)st->st_nlink);
	st64(p + 32, (uint64_t)st->st_size);
	st64(p + 40, ts_ns(st->st_atim));
	st64(p + 48, ts_ns(st->st_mtim));
	st64(p + 56, ts_ns(st->st_ctim));
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return ts_ns(t);
}

/* ------------------------------------------------------------------ */
/* Per-instance state and fd tables                                    */

static void inst_free(myr_instance *inst);

static WasiInst *inst_state(Exec *ex)
{
	myr_instance *inst = ex->inst;
	return inst ? inst->wasi : NULL;
}

/* The instance's state, made now if it has none (NULL if out of memory
 * or called without an instance). */
static WasiInst *inst_state_make(Exec *ex, myr_wasi *w)
{
	myr_instance *inst = ex->inst;
	if (!inst)
		return NULL;
	if (!inst->wasi) {
		WasiInst *st = calloc(1, sizeof *st);
		if (!st)
			return NULL;
		st->w = w;
		inst->wasi = st;
	}
	return inst->wasi;
}

/* The fd, or NULL if it is not open. */
static Fd *fd_get(Exec *ex, myr_wasi *w, uint32_t fd)
{
	WasiInst *st = inst_state(ex);
	Fd *t = st && st->fds ? st->fds : w->base;
	uint32_t n = st && st->fds ? st->nfds : w->nbase;
	if (fd >= n || t[fd].host < 0)
		return NULL;
	return &t[fd];
}

/* The instance's own fd table, copied from the shared one the first
 * time it changes anything in it. */
static WasiInst *own_table(Exec *ex, myr_wasi *w)
{
	WasiInst *st = inst_state_make(ex, w);
	if (!st)
		return NULL;
	if (!st->fds) {
		st->fds = xcalloc(w->nbase, sizeof *st->fds);
		if (!st->fds)
			return NULL;
		memcpy(st->fds, w->base, w->nbase * sizeof *st->fds);
		st->nfds = w->nbase;
	}
	return st;
}

/* Puts an open host fd in the lowest free guest slot. */
static uint16_t fd_install(Exec *ex, myr_wasi *w, const Fd *f, uint32_t *out)
{
	WasiInst *st = own_table(ex, w);
	if (!st)
		return E_NOMEM;
	uint32_t i = 0;
	while (i < st->nfds && st->fds[i].host >= 0)
		i++;
	if (i == st->nfds) {
		if (st->nfds >= MAX_FDS)
			return E_MFILE;
		uint32_t n = MIN(MAX(st->nfds * 2, 8u), (uint32_t)MAX_FDS);
		Fd *t = xrealloc_array(st->fds, n, sizeof *t);
		if (!t)
			return E_NOMEM;
		for (uint32_t k = st->nfds; k < n; k++)
			t[k] = (Fd){.host = -1, .preopen = -1};
		st->fds = t;
		st->nfds = n;
	}
	st->fds[i] = *f;
	*out = i;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

/* Writes all of iov to fd: partial writes continue, EINTR retries, and
 * EAGAIN (someone made the descriptor non-blocking) waits until it can
 * take more. Only a real error stops it. */
static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t k = writev(fd, iov, MIN(n, IOV_MAX));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = {.fd = fd, .events = POLLOUT};
				poll(&p, 1, 100);
				continue;
			}
			return errno;
		}
		size_t done = (size_t)k;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++, n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* Appends to an instance's partial line; false if out of memory. */
static bool line_append(Line **lp, const void *data, size_t len)
{
	Line *l = *lp;
	uint32_t have = l ? l->len : 0;
	if (!l || have + len > l->cap) {
		size_t cap = l ? l->cap : 64;
		while (cap < have + len)
			cap *= 2;
		Line *n = realloc(l, sizeof *n + cap);
		if (!n)
			return false;
		n->len = have;
		n->cap = (uint32_t)cap;
		*lp = l = n;
	}
	memcpy(l->data + l->len, data, len);
	l->len += (uint32_t)len;
	return true;
}

/* Writes one instance's pending partial lines, each ended with a newline
 * so that the next instance's output starts on a line of its own. */
static void flush_lines(WasiInst *st)
{
	myr_wasi *w = st->w;
	for (int s = 0; s < 2; s++) {
		Line *l = st->line[s];
		if (!l || !l->len)
			continue;
		int fd = s == 0 ? w->cfg.stdout_fd : w->cfg.stderr_fd;
		struct iovec v[2] = {{l->data, l->len}, {"\n", 1}};
		pthread_mutex_lock(&w->out_lock);
		write_all(fd, v, 2);
		pthread_mutex_unlock(&w->out_lock);
		l->len = 0;
	}
}

/* fd_write to guest stdout/stderr under whole_lines: everything up to the
 * last newline goes out now in one locked write, together with what was
 * waiting; the rest waits. iov[0] is free for the waiting part. */
static uint16_t write_lines(Exec *ex, myr_wasi *w, int s, int host,
			    struct iovec *iov, int n, uint64_t total)
{
	if (!total)
		return 0;
	/* The last newline: in iov[k], at nl. */
	int k = n - 1;
	const char *nl = NULL;
	for (; k >= 1; k--)
		if (iov[k].iov_len &&
		    (nl = memrchr(iov[k].iov_base, '\n', iov[k].iov_len)))
			break;
	WasiInst *st = inst_state(ex);
	Line *pending = st ? st->line[s] : NULL;
	uint64_t have = pending ? pending->len : 0;
	/* What would wait: everything after the newline, or with none, the
	 * whole unfinished line. */
	uint64_t after = 0;
	if (nl) {
		after = iov[k].iov_len -
			(size_t)(nl + 1 - (const char *)iov[k].iov_base);
		for (int i = k + 1; i < n; i++)
			after += iov[i].iov_len;
	}
	if (!nl && have + total <= LINE_MAX_BYTES) {
		st = inst_state_make(ex, w);
		if (!st)
			return E_NOMEM;
		for (int i = 1; i < n; i++)
			if (!line_append(&st->line[s], iov[i].iov_base,
					 iov[i].iov_len))
				return E_NOMEM;
		return 0;
	}
	if (!nl || after > LINE_MAX_BYTES) {
		/* A line too long to hold: it goes out in pieces, this
		 * write being one. */
		k = n - 1;
		while (!iov[k].iov_len)
			k--;
		nl = (const char *)iov[k].iov_base + iov[k].iov_len - 1;
		after = 0;
	}
	/* Out: pending, iov[1..k), and iov[k] up to and including nl. */
	size_t head = (size_t)(nl + 1 - (const char *)iov[k].iov_base);
	struct iovec rest = {(char *)nl + 1, iov[k].iov_len - head};
	iov[k].iov_len = head;
	iov[0].iov_base = pending ? pending->data : NULL;
	iov[0].iov_len = have;
	pthread_mutex_lock(&w->out_lock);
	int e = write_all(host, iov, k + 1);
	pthread_mutex_unlock(&w->out_lock);
	if (pending)
		pending->len = 0;
	if (e)
		return werr(e);
	if (!after)
		return 0;
	/* Keep what follows the newline (iov[k+1..n) are untouched). */
	st = inst_state_make(ex, w);
	if (!st)
		return E_NOMEM;
	bool ok = line_append(&st->line[s], rest.iov_base, rest.iov_len);
	for (int i = k + 1; ok && i < n; i++)
		ok = line_append(&st->line[s], iov[i].iov_base, iov[i].iov_len);
	return ok ? 0 : E_NOMEM;
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */

static uint16_t open_walk(int dirfd, const char *path, int flags, mode_t mode,
			  int *out);

/* Opens path beneath dirfd with open(2) flags (O_NOFOLLOW: a symlink as
 * the last component is not followed). Never reaches outside dirfd:
 * that is ENOTCAPABLE. */
static uint16_t open_beneath(int dirfd, const char *path, int flags,
			     mode_t mode, int *out)
{
	if (!*path)
		return E_NOENT;
	if (*path == '/')
		return E_NOTCAPABLE;
	/* openat2 refuses flags that O_PATH ignores (EINVAL). */
	flags |= O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY);
	if (!wasi_force_walk &&
	    !atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
		/* A mode is EINVAL unless the file may be created. */
		bool creates =
			(flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
		struct open_how how = {
			.flags = (uint64_t)flags,
			.mode = creates ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		for (int tries = 0;; tries++) {
			long fd = syscall(SYS_openat2, dirfd, path, &how,
					  sizeof how);
			if (fd >= 0) {
				*out = (int)fd;
				return 0;
			}
			/* EAGAIN: a rename raced the lookup; look again. */
			if ((errno == EAGAIN || errno == EINTR) && tries < 16)
				continue;
			if (errno == EXDEV)
				return E_NOTCAPABLE;
			if (errno != ENOSYS)
				return werr(errno);
			atomic_store(&no_openat2, true);
			break;
		}
	}
	return open_walk(dirfd, path, flags, mode, out);
}

/* The fallback: one component at a time from dirfd, every step opened
 * with O_NOFOLLOW; a symlink met on the way is read and its target
 * spliced into the rest of the path, and `..` may only climb what the
 * walk itself descended. */
static uint16_t open_walk(int dirfd, const char *path, int flags, mode_t mode,
			  int *out)
{
	enum { MAX_DEPTH = 256, MAX_LINKS = 40 };
	bool follow_last = !(flags & O_NOFOLLOW);
	int stack[MAX_DEPTH];
	int depth = 0; /* stack[0..depth) are opened directories */
	int links = 0;
	uint16_t rc = 0;
	char *rest = strdup(path);
	if (!rest)
		return E_NOMEM;
	size_t pos = 0;
	for (;;) {
		int cur = depth ? stack[depth - 1] : dirfd;
		while (rest[pos] == '/')
			pos++;
		size_t end = pos;
		while (rest[end] && rest[end] != '/')
			end++;
		size_t next = end;
		while (rest[next] == '/')
			next++;
		bool last = rest[next] == 0;
		bool slash = rest[end] == '/'; /* "name/": must be a dir */
		char name[NAME_MAX + 1];
		size_t len = end - pos;
		if (len > NAME_MAX) {
			rc = E_NAMETOOLONG;
			break;
		}
		memcpy(name, rest + pos, len);
		name[len] = 0;
		pos = next;
		if (len == 0 || strcmp(name, ".") == 0 ||
		    strcmp(name, "..") == 0) {
			if (strcmp(name, "..") == 0) {
				if (depth == 0) {
					rc = E_NOTCAPABLE;
					break;
				}
				close(stack[--depth]);
				cur = depth ? stack[depth - 1] : dirfd;
			}
			if (!last)
				continue;
			/* The path ends at a directory we hold. */
			if (flags & O_CREAT) {
				rc = E_ISDIR;
				break;
			}
			int fd = openat(cur, ".", flags & ~O_NOFOLLOW);
			if (fd < 0)
				rc = werr(errno);
			else
				*out = fd;
			break;
		}
		if (!last) {
			int fd = openat(cur, name,
					O_PATH | O_NOFOLLOW | O_CLOEXEC);
			struct stat sb;
			if (fd < 0 || fstat(fd, &sb) != 0) {
				rc = werr(errno);
				if (fd >= 0)
					close(fd);
				break;
			}
			if (S_ISDIR(sb.st_mode)) {
				if (depth == MAX_DEPTH) {
					close(fd);
					rc = E_NAMETOOLONG;
					break;
				}
				stack[depth++] = fd;
				continue;
			}
			close(fd);
			if (!S_ISLNK(sb.st_mode)) {
				rc = E_NOTDIR;
				break;
			}
			/* fall through to expand the link */
		} else {
			int f = flags | O_NOFOLLOW;
			if (slash && !(flags & O_CREAT))
				f |= O_DIRECTORY;
			int fd = openat(cur, name, f, mode);
			struct stat sb;
			if (fd >= 0) {
				/* O_PATH|O_NOFOLLOW opens a symlink itself. */
				if (!follow_last || !(flags & O_PATH) ||
				    fstat(fd, &sb) != 0 ||
				    !S_ISLNK(sb.st_mode)) {
					*out = fd;
					break;
				}
				close(fd);
			} else {
				/* ELOOP or ENOTDIR: maybe a symlink. */
				int e = errno;
				if (!follow_last ||
				    (e != ELOOP && e != ENOTDIR) ||
				    fstatat(cur, name, &sb,
					    AT_SYMLINK_NOFOLLOW) != 0 ||
				    !S_ISLNK(sb.st_mode)) {
					rc = werr(e);
					break;
				}
			}
		}
		/* name is a symlink: splice its target before the rest. */
		if (++links > MAX_LINKS) {
			rc = E_LOOP;
			break;
		}
		char target[PATH_BYTES];
		ssize_t tl = readlinkat(cur, name, target, sizeof target - 1);
		if (tl < 0) {
			rc = werr(errno);
			break;
		}
		target[tl] = 0;
		if (tl == 0) {
			rc = E_NOENT;
			break;
		}
		if (target[0] == '/') {
			rc = E_NOTCAPABLE;
			break;
		}
		size_t rl = strlen(rest + pos);
		char *n = malloc((size_t)tl + 1 + rl + 2);
		if (!n) {
			rc = E_NOMEM;
			break;
		}
		/* Keep a trailing slash of the link's name. */
		snprintf(n, (size_t)tl + rl + 3, "%s%s%s", target,
			 (rl || slash) ? "/" : "", rest + pos);
		free(rest);
		rest = n;
		pos = 0;
	}
	while (depth)
		close(stack[--depth]);
	free(rest);
	return rc;
}

/* For operations on a name: opens the directory part of path beneath
 * dirfd (or uses dirfd itself) and points *name at the last component.
 * path is modified. *parent must be closed if it is not dirfd. */
static uint16_t open_parent(int dirfd, char *path, int *parent,
			    const char **name)
{
	if (!*path)
		return E_NOENT;
	if (*path == '/')
		return E_NOTCAPABLE;
	size_t n = strlen(path);
	/* A trailing slash stays on the name ("dir/"), where the kernel
	 * gives it its meaning; the split is at the slash before it. */
	size_t end = n;
	while (end > 1 && path[end - 1] == '/')
		end--;
	char *slash = NULL;
	for (size_t i = end; i-- > 0;)
		if (path[i] == '/') {
			slash = path + i;
			break;
		}
	if (!slash) {
		*parent = dirfd;
		*name = path;
	} else {
		*slash = 0;
		*name = slash + 1;
		uint16_t e = open_beneath(dirfd, path, O_PATH | O_DIRECTORY, 0,
					  parent);
		*slash = '/';
		if (e)
			return e;
	}
	/* "." and ".." as the last component: the kernel refuses to
	 * remove, rename or create them, but say ENOTCAPABLE when they
	 * would name something outside. */
	const char *nm = *name;
	size_t nl = strcspn(nm, "/");
	if ((nl == 1 && nm[0] == '.') ||
	    (nl == 2 && nm[0] == '.' && nm[1] == '.')) {
		int fd;
		uint16_t e = open_beneath(*parent, nm, O_PATH, 0, &fd);
		if (e == E_NOTCAPABLE) {
			if (*parent != dirfd)
				close(*parent);
			return e;
		}
		if (!e)
			close(fd);
	}
	return 0;
}

static void close_parent(int dirfd, int parent)
{
	if (parent != dirfd)
		close(parent);
}

/* ------------------------------------------------------------------ */
/* The functions                                                       */

/* Raw host functions get their arguments as slots and write results to
 * slots[0..): every preview1 function but proc_exit returns an errno. */
#define WASI_FN(name) static myr_hostret name(Exec *ex, void *env, uint64_t *a)
#define RET(e)                                                                 \
	do {                                                                   \
		a[0] = (uint16_t)(e);                                          \
		return MYR_HOST_OK;                                            \
	} while (0)
#define A32(i) ((uint32_t)a[i])
#define W      ((myr_wasi *)env)

/* For fd lookups that must succeed. */
#define GET_FD(var, fdno)                                                      \
	Fd *var = fd_get(ex, W, (fdno));                                       \
	if (!var)                                                              \
	RET(E_BADF)

WASI_FN(w_nosys)
{
	(void)ex, (void)env;
	RET(E_NOSYS);
}

/* args and environ: a count and a total size, then pointers and bytes. */
static uint16_t put_strings(Exec *ex, uint32_t vec, uint32_t buf,
			    char *const *s, size_t n, const char *const *more,
			    size_t nmore)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += strlen(s[i]) + 1;
	for (size_t i = 0; i < nmore; i++)
		total += strlen(more[i]) + 1;
	uint8_t *v = gmem(ex, vec, (uint64_t)(n + nmore) * 4);
	uint8_t *b = gmem(ex, buf, total);
	if (!v || !b)
		return E_FAULT;
	uint32_t off = 0;
	for (size_t i = 0; i < n + nmore; i++) {
		const char *str = i < n ? s[i] : more[i - n];
		size_t len = strlen(str) + 1;
		st32(v + 4 * i, buf + off);
		memcpy(b + off, str, len);
		off += (uint32_t)len;
	}
	return 0;
}

WASI_FN(w_args_get)
{
	RET(put_strings(ex, A32(0), A32(1), W->argv, W->cfg.argc, NULL, 0));
}

WASI_FN(w_args_sizes_get)
{
	if (!put32(ex, A32(0), (uint32_t)W->cfg.argc) ||
	    !put32(ex, A32(1), (uint32_t)W->argv_bytes))
		RET(E_FAULT);
	RET(0);
}

/* The variables every instance of a run gets besides the configured
 * ones: its index and the number of instances. */
static size_t instance_env(Exec *ex, myr_wasi *w, char bufs[2][48],
			   const char *out[2])
{
	if (!w->cfg.instances)
		return 0;
	uint64_t index = ex->inst ? ex->inst->user_index : 0;
	snprintf(bufs[0], 48, "MYRIAD_INSTANCE=%llu",
		 (unsigned long long)index);
	snprintf(bufs[1], 48, "MYRIAD_INSTANCES=%llu",
		 (unsigned long long)w->cfg.instances);
	out[0] = bufs[0];
	out[1] = bufs[1];
	return 2;
}

WASI_FN(w_environ_get)
{
	char bufs[2][48];
	const char *more[2];
	size_t nmore = instance_env(ex, W, bufs, more);
	RET(put_strings(ex, A32(0), A32(1), W->env, W->cfg.nenv, more, nmore));
}

WASI_FN(w_environ_sizes_get)
{
	char bufs[2][48];
	const char *more[2];
	size_t nmore = instance_env(ex, W, bufs, more);
	size_t bytes = W->env_bytes;
	for (size_t i = 0; i < nmore; i++)
		bytes += strlen(more[i]) + 1;
	if (!put32(ex, A32(0), (uint32_t)(W->cfg.nenv + nmore)) ||
	    !put32(ex, A32(1), (uint32_t)bytes))
		RET(E_FAULT);
	RET(0);
}

static bool host_clock(uint32_t id, clockid_t *c)
{
	switch (id) {
	case CLOCK_REAL:
		*c = CLOCK_REALTIME;
		return true;
	case CLOCK_MONO:
		*c = CLOCK_MONOTONIC;
		return true;
	/* The host process's and the worker thread's CPU time: instances
	 * are not accounted separately. */
	case CLOCK_PROCESS:
		*c = CLOCK_PROCESS_CPUTIME_ID;
		return true;
	case CLOCK_THREAD:
		*c = CLOCK_THREAD_CPUTIME_ID;
		return true;
	}
	return false;
}

WASI_FN(w_clock_res_get)
{
	(void)env;
	clockid_t c;
	struct timespec t;
	if (!host_clock(A32(0), &c))
		RET(E_INVAL);
	if (clock_getres(c, &t) != 0)
		RET(werr(errno));
	RET(put64(ex, A32(1), ts_ns(t)) ? 0 : E_FAULT);
}

WASI_FN(w_clock_time_get)
{
	(void)env;
	clockid_t c;
	if (!host_clock(A32(0), &c))
		RET(E_INVAL);
	RET(put64(ex, A32(2), now_ns(c)) ? 0 : E_FAULT);
}

WASI_FN(w_random_get)
{
	(void)env;
	uint8_t *p = gmem(ex, A32(0), A32(1));
	if (!p)
		RET(E_FAULT);
	for (size_t done = 0, n = A32(1); done < n;) {
		ssize_t k = getrandom(p + done, n - done, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			RET(werr(errno));
		}
		done += (size_t)k;
	}
	RET(0);
}

WASI_FN(w_proc_exit)
{
	WasiInst *st = inst_state(ex);
	(void)env;
	if (st)
		flush_lines(st);
	/* The code as the program gave it; exit statuses are 8 bits, and
	 * the embedder decides what to make of larger values. */
	return myr_caller_exit((myr_caller *)ex, (int)A32(0));
}

WASI_FN(w_sched_yield)
{
	(void)env;
	a[0] = 0;
	return myr_caller_yield((myr_caller *)ex);
}

/* ---- fds ---- */

/* Gathers n guest iovecs at ptr into iov[1..n] (iov[0] is left for
 * write_lines); EFAULT if the array or any buffer is out of bounds. */
static uint16_t get_iovs(Exec *ex, uint32_t ptr, uint32_t n, struct iovec *iov,
			 uint64_t *total)
{
	const uint8_t *v = gmem(ex, ptr, (uint64_t)n * 8);
	if (!v)
		return E_FAULT;
	*total = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t buf = ld32(v + 8 * i), len = ld32(v + 8 * i + 4);
		uint8_t *p = gmem(ex, buf, len);
		if (!p)
			return E_FAULT;
		iov[i + 1] = (struct iovec){p, len};
		*total += len;
	}
	return 0;
}

/* Guests may pass any number of iovecs; more than this many are
 * gathered on the heap. */
enum { IOV_SMALL = 16 };

static uint16_t do_rw(Exec *ex, myr_wasi *w, uint64_t *a, bool write,
		      bool positional)
{
	Fd *f = fd_get(ex, w, A32(0));
	if (!f)
		return E_BADF;
	uint32_t niov = A32(2);
	uint32_t result_ptr = positional ? A32(4) : A32(3);
	uint64_t offset = positional ? a[3] : 0;
	if (niov > 1u << 20)
		return E_INVAL;
	if (!gmem(ex, result_ptr, 4))
		return E_FAULT;
	if (f->type == FT_DIR)
		return E_ISDIR;
	if (positional && (f->stream || f->type != FT_FILE))
		return E_SPIPE;
	/* The rights say which way an fd goes (reading stdout, which may
	 * be a terminal opened both ways, is not for the guest). */
	if (!(f->rights & (write ? R(R_WRITE) : R(R_READ))))
		return E_BADF;
	struct iovec small[IOV_SMALL + 1];
	struct iovec *iov =
		niov < IOV_SMALL ? small : xcalloc(niov + 1, sizeof *iov);
	if (!iov)
		return E_NOMEM;
	uint64_t total;
	uint16_t e = get_iovs(ex, A32(1), niov, iov, &total);
	if (!e && total > UINT32_MAX)
		e = E_INVAL; /* the count could not be returned */
	ssize_t done = 0;
	if (e) {
		/* leave e */
	} else if (write && f->stream && w->cfg.whole_lines) {
		e = write_lines(ex, w, f->stream - 1, f->host, iov,
				(int)niov + 1, total);
		done = (ssize_t)total;
	} else if (write && f->stream) {
		/* Straight through, but all of it: a short write to a pipe
		 * must not lose the rest. */
		int err = write_all(f->host, iov + 1, (int)niov);
		e = err ? werr(err) : 0;
		done = (ssize_t)total;
	} else {
		int n = (int)MIN(niov, (uint32_t)IOV_MAX);
		for (;;) {
			if (positional)
				done = write ? pwritev(f->host, iov + 1, n,
						       (off_t)offset)
					     : preadv(f->host, iov + 1, n,
						      (off_t)offset);
			else
				done = write ? writev(f->host, iov + 1, n)
					     : readv(f->host, iov + 1, n);
			if (done >= 0 || errno != EINTR)
				break;
		}
		if (done < 0)
			e = werr(errno);
	}
	if (iov != small)
		free(iov);
	if (!e)
		put32(ex, result_ptr, (uint32_t)done);
	return e;
}

WASI_FN(w_fd_write)
{
	RET(do_rw(ex, W, a, true, false));
}

/* A read of a pipe, terminal or socket with nothing to read yet parks
 * the instance and looks again in a millisecond (the call is made again
 * on waking), so that no worker thread waits for input. Files are
 * always ready; a guest that asked for non-blocking gets EAGAIN. */
static bool read_would_block(const Fd *f)
{
	if (f->type == FT_FILE || f->type == FT_DIR ||
	    (f->flags & FDF_NONBLOCK))
		return false;
	struct pollfd p = {.fd = f->host, .events = POLLIN};
	return poll(&p, 1, 0) == 0;
}

WASI_FN(w_fd_read)
{
	Fd *f = fd_get(ex, W, A32(0));
	if (f && (f->rights & R(R_READ)) && read_would_block(f))
		return myr_caller_block((myr_caller *)ex,
					now_ns(CLOCK_MONOTONIC) +
						POLL_RETRY_NS);
	RET(do_rw(ex, W, a, false, false));
}

WASI_FN(w_fd_pwrite)
{
	RET(do_rw(ex, W, a, true, true));
}

WASI_FN(w_fd_pread)
{
	RET(do_rw(ex, W, a, false, true));
}

WASI_FN(w_fd_seek)
{
	GET_FD(f, A32(0));
	uint32_t whence = A32(2) & 0xff;
	if (!gmem(ex, A32(3), 8))
		RET(E_FAULT);
	if (f->type == FT_DIR)
		RET(E_BADF);
	if (f->stream || !(f->rights & (R(R_SEEK) | R(R_TELL))))
		RET(E_SPIPE);
	if (whence > 2)
		RET(E_INVAL);
	static const int how[] = {SEEK_SET, SEEK_CUR, SEEK_END};
	off_t r = lseek(f->host, (off_t)a[1], how[whence]);
	if (r < 0)
		RET(werr(errno));
	put64(ex, A32(3), (uint64_t)r);
	RET(0);
}

WASI_FN(w_fd_tell)
{
	GET_FD(f, A32(0));
	if (!gmem(ex, A32(1), 8))
		RET(E_FAULT);
	if (f->type == FT_DIR)
		RET(E_BADF);
	if (f->stream || !(f->rights & (R(R_SEEK) | R(R_TELL))))
		RET(E_SPIPE);
	off_t r = lseek(f->host, 0, SEEK_CUR);
	if (r < 0)
		RET(werr(errno));
	put64(ex, A32(1), (uint64_t)r);
	RET(0);
}

WASI_FN(w_fd_close)
{
	if (!fd_get(ex, W, A32(0)))
		RET(E_BADF);
	WasiInst *st = own_table(ex, W);
	if (!st)
		RET(E_NOMEM);
	Fd *f = &st->fds[A32(0)];
	if (f->stream && st->line[f->stream - 1]) {
		/* What the instance wrote before closing still goes out. */
		flush_lines(st);
	}
	if (!f->shared)
		close(f->host);
	*f = (Fd){.host = -1, .preopen = -1};
	RET(0);
}

WASI_FN(w_fd_renumber)
{
	uint32_t from = A32(0), to = A32(1);
	if (!fd_get(ex, W, from) || !fd_get(ex, W, to))
		RET(E_BADF);
	if (from == to)
		RET(0);
	WasiInst *st = own_table(ex, W);
	if (!st)
		RET(E_NOMEM);
	if (st->fds[to].stream && st->line[st->fds[to].stream - 1])
		flush_lines(st);
	if (!st->fds[to].shared)
		close(st->fds[to].host);
	st->fds[to] = st->fds[from];
	st->fds[from] = (Fd){.host = -1, .preopen = -1};
	RET(0);
}

WASI_FN(w_fd_sync)
{
	GET_FD(f, A32(0));
	if (f->stream)
		RET(0);
	RET(fsync(f->host) == 0 ? 0 : werr(errno));
}

WASI_FN(w_fd_datasync)
{
	GET_FD(f, A32(0));
	if (f->stream)
		RET(0);
	RET(fdatasync(f->host) == 0 ? 0 : werr(errno));
}

WASI_FN(w_fd_fdstat_get)
{
	GET_FD(f, A32(0));
	uint8_t *p = gmem(ex, A32(1), FDSTAT_SIZE);
	if (!p)
		RET(E_FAULT);
	memset(p, 0, FDSTAT_SIZE);
	p[0] = f->type;
	st16(p + 2, f->flags);
	st64(p + 8, f->rights);
	st64(p + 16, f->inheriting);
	RET(0);
}

WASI_FN(w_fd_fdstat_set_flags)
{
	GET_FD(f, A32(0));
	uint16_t flags = (uint16_t)A32(1);
	if (flags == f->flags)
		RET(0);
	/* Flags of a descriptor shared by every instance (stdio, the
	 * preopens) would change them all. */
	if (f->shared)
		RET(E_NOTSUP);
	if (flags & ~(FDF_APPEND | FDF_NONBLOCK))
		RET(E_NOTSUP);
	int fl = fcntl(f->host, F_GETFL);
	if (fl < 0)
		RET(werr(errno));
	fl &= ~(O_APPEND | O_NONBLOCK);
	fl |= (flags & FDF_APPEND ? O_APPEND : 0) |
	      (flags & FDF_NONBLOCK ? O_NONBLOCK : 0);
	if (fcntl(f->host, F_SETFL, fl) != 0)
		RET(werr(errno));
	f->flags = flags;
	RET(0);
}

WASI_FN(w_fd_filestat_get)
{
	GET_FD(f, A32(0));
	uint8_t *p = gmem(ex, A32(1), FILESTAT_SIZE);
	if (!p)
		RET(E_FAULT);
	struct stat sb;
	if (fstat(f->host, &sb) != 0)
		RET(werr(errno));
	put_filestat(p, &sb);
	RET(0);
}

WASI_FN(w_fd_filestat_set_size)
{
	GET_FD(f, A32(0));
	if (f->type != FT_FILE || f->stream)
		RET(E_INVAL);
	RET(ftruncate(f->host, (off_t)a[1]) == 0 ? 0 : werr(errno));
}

/* The timespec pair utimensat takes from preview1's times and flags. */
static uint16_t times_of(uint64_t atim, uint64_t mtim, uint32_t fst,
			 struct timespec t[2])
{
	if (((fst & FST_ATIM) && (fst & FST_ATIM_NOW)) ||
	    ((fst & FST_MTIM) && (fst & FST_MTIM_NOW)))
		return E_INVAL;
	uint64_t v[2] = {atim, mtim};
	for (int i = 0; i < 2; i++) {
		uint32_t set = i ? FST_MTIM : FST_ATIM;
		uint32_t now = i ? FST_MTIM_NOW : FST_ATIM_NOW;
		if (fst & now)
			t[i] = (struct timespec){0, UTIME_NOW};
		else if (fst & set)
			t[i] = (struct timespec){(time_t)(v[i] / 1000000000u),
						 (long)(v[i] % 1000000000u)};
		else
			t[i] = (struct timespec){0, UTIME_OMIT};
	}
	return 0;
}

WASI_FN(w_fd_filestat_set_times)
{
	GET_FD(f, A32(0));
	struct timespec t[2];
	uint16_t e = times_of(a[1], a[2], A32(3), t);
	if (e)
		RET(e);
	if (f->shared && f->preopen < 0)
		RET(E_NOTSUP);
	RET(futimens(f->host, t) == 0 ? 0 : werr(errno));
}

WASI_FN(w_fd_allocate)
{
	GET_FD(f, A32(0));
	if (f->type != FT_FILE || f->stream)
		RET(f->type == FT_DIR ? E_BADF : E_SPIPE);
	int e = posix_fallocate(f->host, (off_t)a[1], (off_t)a[2]);
	RET(e ? werr(e) : 0);
}

/* Rights can only be dropped. */
WASI_FN(w_fd_fdstat_set_rights)
{
	GET_FD(f, A32(0));
	uint64_t base = a[1], inheriting = a[2];
	if ((base & ~f->rights) || (inheriting & ~f->inheriting))
		RET(E_NOTCAPABLE);
	WasiInst *st = own_table(ex, W);
	if (!st)
		RET(E_NOMEM);
	st->fds[A32(0)].rights = base;
	st->fds[A32(0)].inheriting = inheriting;
	RET(0);
}

WASI_FN(w_fd_advise)
{
	GET_FD(f, A32(0));
	if (A32(3) > 5)
		RET(E_INVAL);
	if (f->type != FT_FILE)
		RET(f->type == FT_DIR ? E_BADF : E_SPIPE);
	static const int adv[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL,
				  POSIX_FADV_RANDOM,   POSIX_FADV_WILLNEED,
				  POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
	int e = posix_fadvise(f->host, (off_t)a[1], (off_t)a[2], adv[A32(3)]);
	RET(e ? werr(e) : 0);
}

WASI_FN(w_fd_prestat_get)
{
	GET_FD(f, A32(0));
	if (f->preopen < 0)
		RET(E_BADF);
	uint8_t *p = gmem(ex, A32(1), 8);
	if (!p)
		RET(E_FAULT);
	memset(p, 0, 8);
	st32(p + 4, (uint32_t)strlen(W->guest_names[f->preopen]));
	RET(0);
}

WASI_FN(w_fd_prestat_dir_name)
{
	GET_FD(f, A32(0));
	if (f->preopen < 0)
		RET(E_BADF);
	const char *name = W->guest_names[f->preopen];
	size_t len = strlen(name);
	if (A32(2) < len)
		RET(E_NAMETOOLONG);
	uint8_t *p = gmem(ex, A32(1), len);
	if (!p)
		RET(E_FAULT);
	memcpy(p, name, len);
	RET(0);
}

/* The kernel's directory entry (getdents64). */
struct dirent64_k {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static uint8_t dtype(unsigned char t)
{
	switch (t) {
	case DT_REG:
		return FT_FILE;
	case DT_DIR:
		return FT_DIR;
	case DT_CHR:
		return FT_CHAR;
	case DT_BLK:
		return FT_BLOCK;
	case DT_LNK:
		return FT_SYMLINK;
	case DT_SOCK:
		return FT_STREAM;
	default:
		return FT_UNKNOWN;
	}
}

/* Entries from `cookie` on, as many as fit; the last may be cut short,
 * which tells the guest to ask again with a bigger buffer.
 *
 * Cookies are entry numbers, not the kernel's offsets: those are 64-bit
 * hashes on ext4, and wasi-libc keeps a cookie in a `long` (telldir),
 * 32 bits on wasm32. Each call reads through a descriptor of its own, so
 * that instances sharing a preopen never move each other's position; it
 * starts from where the last call ended when the cookie continues it
 * (the fd remembers that offset), and otherwise counts entries from the
 * start. */
WASI_FN(w_fd_readdir)
{
	GET_FD(f, A32(0));
	uint32_t buf = A32(1), len = A32(2), used_ptr = A32(4);
	uint64_t want = a[3];
	uint8_t *out = gmem(ex, buf, len);
	if (!out || !gmem(ex, used_ptr, 4))
		RET(E_FAULT);
	if (f->type != FT_DIR)
		RET(E_NOTDIR);
	int dfd = openat(f->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		RET(werr(errno));
	/* Where to start reading, and the number of the entry there. */
	uint64_t index = 0;
	int64_t pos = 0;
	if (want && f->rd_off && want == f->rd_index)
		index = want, pos = f->rd_off;
	else if (want && f->rd_next_off && want == f->rd_index + 1)
		index = want, pos = f->rd_next_off;
	if (pos && lseek(dfd, (off_t)pos, SEEK_SET) < 0) {
		int e = errno;
		close(dfd);
		RET(werr(e));
	}
	uint32_t used = 0;
	uint64_t last = 0;
	int64_t last_off = 0, last_next = 0;
	char kbuf[8192] __attribute__((aligned(8)));
	uint16_t rc = 0;
	while (used < len) {
		long n = syscall(SYS_getdents64, dfd, kbuf, sizeof kbuf);
		if (n < 0) {
			rc = werr(errno);
			break;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n && used < len;) {
			struct dirent64_k *d =
				(struct dirent64_k *)(kbuf + off);
			off += d->d_reclen;
			int64_t start = pos;
			pos = d->d_off;
			if (index++ < want)
				continue;
			uint32_t nl = (uint32_t)strlen(d->d_name);
			uint8_t ent[DIRENT_SIZE];
			uint8_t type = dtype(d->d_type);
			if (d->d_type == DT_UNKNOWN) {
				struct stat sb;
				if (fstatat(dfd, d->d_name, &sb,
					    AT_SYMLINK_NOFOLLOW) == 0)
					type = ftype(sb.st_mode);
			}
			memset(ent, 0, sizeof ent);
			st64(ent + 0, index); /* the next entry's number */
			st64(ent + 8, d->d_ino);
			st32(ent + 16, nl);
			ent[20] = type;
			uint32_t k = MIN((uint32_t)DIRENT_SIZE, len - used);
			memcpy(out + used, ent, k);
			used += k;
			k = MIN(nl, len - used);
			memcpy(out + used, d->d_name, k);
			used += k;
			last = index - 1, last_off = start, last_next = pos;
		}
	}
	close(dfd);
	/* Only an fd of this instance's own remembers (the shared ones
	 * are read by every instance). */
	if (!f->shared && last_off) {
		f->rd_index = last;
		f->rd_off = last_off;
		f->rd_next_off = last_next;
	}
	if (!rc)
		put32(ex, used_ptr, used);
	RET(rc);
}

/* ---- paths ---- */

/* The directory fd a path is relative to. */
#define GET_DIR(var, fdno)                                                     \
	GET_FD(var, fdno);                                                     \
	if (var->type != FT_DIR)                                               \
	RET(E_NOTDIR)

WASI_FN(w_path_open)
{
	GET_DIR(d, A32(0));
	uint32_t dirflags = A32(1), oflags = A32(4) & 0xffff;
	uint64_t base = a[5], inheriting = a[6];
	uint32_t fdflags = A32(7) & 0xffff, fd_ptr = A32(8);
	char path[PATH_BYTES];
	uint16_t e = get_path(ex, A32(2), A32(3), path);
	if (e)
		RET(e);
	if (!gmem(ex, fd_ptr, 4))
		RET(E_FAULT);
	bool rd = base & (R(R_READ) | R(R_READDIR));
	bool wr = base &
		  (R(R_WRITE) | R(R_DATASYNC) | R(R_ALLOCATE) | R(R_SETSIZE));
	/* Rights that do not apply to a directory are dropped (the spec
	 * allows it), so asking for one with every right still opens it;
	 * without OF_DIRECTORY, opening one for writing is EISDIR, as
	 * POSIX says open(dir, O_WRONLY) is. */
	int flags = wr && !(oflags & OF_DIRECTORY) ? (rd ? O_RDWR : O_WRONLY)
						   : O_RDONLY;
	if (oflags & OF_CREAT)
		flags |= O_CREAT;
	if (oflags & OF_DIRECTORY)
		flags |= O_DIRECTORY;
	if (oflags & OF_EXCL)
		flags |= O_EXCL;
	if (oflags & OF_TRUNC)
		flags |= O_TRUNC;
	if (fdflags & FDF_APPEND)
		flags |= O_APPEND;
	if (fdflags & FDF_DSYNC)
		flags |= O_DSYNC;
	if (fdflags & (FDF_SYNC | FDF_RSYNC))
		flags |= O_SYNC;
	if (!(dirflags & LOOKUP_FOLLOW))
		flags |= O_NOFOLLOW;
	/* Opened non-blocking so that a FIFO cannot hold the thread;
	 * made blocking again below unless the guest asked. */
	flags |= O_NONBLOCK;
	int hfd;
	e = open_beneath(d->host, path, flags, 0666, &hfd);
	if (e)
		RET(e);
	struct stat sb;
	if (fstat(hfd, &sb) != 0) {
		e = werr(errno);
		close(hfd);
		RET(e);
	}
	if (!(fdflags & FDF_NONBLOCK))
		fcntl(hfd, F_SETFL, fcntl(hfd, F_GETFL) & ~O_NONBLOCK);
	uint8_t type = ftype(sb.st_mode);
	uint64_t max = max_rights(hfd, type);
	Fd nf = {.host = hfd,
		 .type = type,
		 .flags = (uint16_t)(fdflags &
				     (FDF_APPEND | FDF_NONBLOCK | FDF_DSYNC |
				      FDF_SYNC | FDF_RSYNC)),
		 .preopen = -1,
		 .rights = base & max,
		 .inheriting = inheriting};
	uint32_t gfd;
	e = fd_install(ex, W, &nf, &gfd);
	if (e) {
		close(hfd);
		RET(e);
	}
	put32(ex, fd_ptr, gfd);
	RET(0);
}

WASI_FN(w_path_filestat_get)
{
	GET_DIR(d, A32(0));
	char path[PATH_BYTES];
	uint16_t e = get_path(ex, A32(2), A32(3), path);
	if (e)
		RET(e);
	uint8_t *p = gmem(ex, A32(4), FILESTAT_SIZE);
	if (!p)
		RET(E_FAULT);
	int fd;
	int flags = O_PATH | (A32(1) & LOOKUP_FOLLOW ? 0 : O_NOFOLLOW);
	e = open_beneath(d->host, path, flags, 0, &fd);
	if (e)
		RET(e);
	struct stat sb;
	int r = fstat(fd, &sb);
	e = r == 0 ? 0 : werr(errno);
	close(fd);
	if (!e)
		put_filestat(p, &sb);
	RET(e);
}

WASI_FN(w_path_filestat_set_times)
{
	GET_DIR(d, A32(0));
	char path[PATH_BYTES];
	uint16_t e = get_path(ex, A32(2), A32(3), path);
	struct timespec t[2];
	if (!e)
		e = times_of(a[4], a[5], A32(6), t);
	if (e)
		RET(e);
	/* The target opened beneath, then its times set through the
	 * descriptor: never by a name the kernel would resolve again. */
	int fd;
	int flags = O_PATH | (A32(1) & LOOKUP_FOLLOW ? 0 : O_NOFOLLOW);
	e = open_beneath(d->host, path, flags, 0, &fd);
	if (e)
		RET(e);
	int r = utimensat(
		fd, "", t,
		AT_EMPTY_PATH |
			(A32(1) & LOOKUP_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW));
	e = r == 0 ? 0 : werr(errno);
	close(fd);
	RET(e);
}

/* mkdir, rmdir, unlink: an operation on the last component of a path,
 * relative to its parent opened beneath the directory. */
enum { OP_MKDIR, OP_RMDIR, OP_UNLINK };

static uint16_t name_op(Exec *ex, myr_wasi *w, uint64_t *a, int op)
{
	Fd *d = fd_get(ex, w, A32(0));
	if (!d)
		return E_BADF;
	if (d->type != FT_DIR)
		return E_NOTDIR;
	char path[PATH_BYTES];
	uint16_t e = get_path(ex, A32(1), A32(2), path);
	if (e)
		return e;
	int parent;
	const char *name;
	e = open_parent(d->host, path, &parent, &name);
	if (e)
		return e;
	int r;
	switch (op) {
	case OP_MKDIR:
		r = mkdirat(parent, name, 0777);
		break;
	case OP_RMDIR:
		r = unlinkat(parent, name, AT_REMOVEDIR);
		break;
	default:
		r = unlinkat(parent, name, 0);
		/* POSIX lets unlink of a directory say EPERM; preview1
		 * programs expect EISDIR. */
		if (r != 0 && errno == EPERM) {
			struct stat sb;
			if (fstatat(parent, name, &sb, AT_SYMLINK_NOFOLLOW) ==
				    0 &&
			    S_ISDIR(sb.st_mode))
				errno = EISDIR;
		}
		break;
	}
	e = r == 0 ? 0 : werr(errno);
	close_parent(d->host, parent);
	return e;
}

WASI_FN(w_path_create_directory)
{
	RET(name_op(ex, W, a, OP_MKDIR));
}

WASI_FN(w_path_remove_directory)
{
	RET(name_op(ex, W, a, OP_RMDIR));
}

WASI_FN(w_path_unlink_file)
{
	RET(name_op(ex, W, a, OP_UNLINK));
}

WASI_FN(w_path_rename)
{
	GET_DIR(d1, A32(0));
	GET_DIR(d2, A32(3));
	char p1[PATH_BYTES], p2[PATH_BYTES];
	uint16_t e = get_path(ex, A32(1), A32(2), p1);
	if (!e)
		e = get_path(ex, A32(4), A32(5), p2);
	if (e)
		RET(e);
	int par1, par2;
	const char *n1, *n2;
	e = open_parent(d1->host, p1, &par1, &n1);
	if (e)
		RET(e);
	e = open_parent(d2->host, p2, &par2, &n2);
	if (e) {
		close_parent(d1->host, par1);
		RET(e);
	}
	int r = renameat(par1, n1, par2, n2);
	e = r == 0 ? 0 : werr(errno);
	close_parent(d1->host, par1);
	close_parent(d2->host, par2);
	RET(e);
}

WASI_FN(w_path_symlink)
{
	char target[PATH_BYTES], path[PATH_BYTES];
	uint16_t e = get_path(ex, A32(0), A32(1), target);
	if (e)
		RET(e);
	GET_DIR(d, A32(2));
	e = get_path(ex, A32(3), A32(4), path);
	if (e)
		RET(e);
	/* A link's target is only text until something follows it, and
	 * following is checked; still, an absolute target can never be
	 * followed here, so refuse to make one. */
	if (target[0] == '/')
		RET(E_NOTCAPABLE);
	int parent;
	const char *name;
	e = open_parent(d->host, path, &parent, &name);
	if (e)
		RET(e);
	int r = symlinkat(target, parent, name);
	e = r == 0 ? 0 : werr(errno);
	close_parent(d->host, parent);
	RET(e);
}

WASI_FN(w_path_readlink)
{
	GET_DIR(d, A32(0));
	char path[PATH_BYTES];
	uint16_t e = get_path(ex, A32(1), A32(2), path);
	if (e)
		RET(e);
	uint8_t *out = gmem(ex, A32(3), A32(4));
	if (!out || !gmem(ex, A32(5), 4))
		RET(E_FAULT);
	int fd;
	e = open_beneath(d->host, path, O_PATH | O_NOFOLLOW, 0, &fd);
	if (e)
		RET(e);
	char buf[PATH_BYTES];
	ssize_t n = readlinkat(fd, "", buf, sizeof buf);
	e = n >= 0 ? 0 : werr(errno);
	close(fd);
	if (e)
		RET(e == E_NOENT ? E_INVAL : e); /* not a symlink */
	uint32_t k = (uint32_t)MIN((size_t)n, (size_t)A32(4));
	memcpy(out, buf, k);
	put32(ex, A32(5), k);
	RET(0);
}

WASI_FN(w_path_link)
{
	GET_DIR(d1, A32(0));
	GET_DIR(d2, A32(4));
	char p1[PATH_BYTES], p2[PATH_BYTES];
	uint16_t e = get_path(ex, A32(2), A32(3), p1);
	if (!e)
		e = get_path(ex, A32(5), A32(6), p2);
	if (e)
		RET(e);
	/* The source is opened beneath and linked through its descriptor
	 * (AT_EMPTY_PATH), so the kernel never resolves the name again. */
	int src;
	int flags = O_PATH | (A32(1) & LOOKUP_FOLLOW ? 0 : O_NOFOLLOW);
	e = open_beneath(d1->host, p1, flags, 0, &src);
	if (e)
		RET(e);
	int parent;
	const char *name;
	e = open_parent(d2->host, p2, &parent, &name);
	if (e) {
		close(src);
		RET(e);
	}
	int r = linkat(src, "", parent, name, AT_EMPTY_PATH);
	if (r != 0 && errno == ENOENT) {
		/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc
		 * link of the descriptor does not. */
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", src);
		r = linkat(AT_FDCWD, proc, parent, name, AT_SYMLINK_FOLLOW);
	}
	e = r == 0 ? 0 : werr(errno);
	close(src);
	close_parent(d2->host, parent);
	RET(e);
}

/* ---- poll_oneoff ---- */

static void put_event(uint8_t *out, uint64_t userdata, uint16_t error,
		      uint8_t type, uint64_t nbytes, uint16_t flags)
{
	memset(out, 0, EVENT_SIZE);
	st64(out, userdata);
	st16(out + 8, error);
	out[10] = type;
	st64(out + 16, nbytes);
	st16(out + 24, flags);
}

/* Is an fd ready for reading or writing, and how much? Regular files
 * and directories always are; pipes, terminals and sockets are asked
 * without waiting. */
static bool fd_ready(const Fd *f, bool write, uint64_t *nbytes, uint16_t *flags)
{
	*nbytes = 0;
	*flags = 0;
	if (f->type == FT_FILE || f->type == FT_DIR) {
		struct stat sb;
		if (!write && f->type == FT_FILE && fstat(f->host, &sb) == 0) {
			off_t pos = lseek(f->host, 0, SEEK_CUR);
			if (pos >= 0 && sb.st_size > pos)
				*nbytes = (uint64_t)(sb.st_size - pos);
		}
		return true;
	}
	struct pollfd p = {.fd = f->host, .events = write ? POLLOUT : POLLIN};
	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & POLLHUP)
		*flags = EVRW_HANGUP;
	int avail = 0;
	if (!write && ioctl(f->host, FIONREAD, &avail) == 0 && avail > 0)
		*nbytes = (uint64_t)avail;
	else if (write)
		*nbytes = 1;
	return true;
}

WASI_FN(w_poll_oneoff)
{
	uint32_t n = A32(2);
	if (n == 0)
		RET(E_INVAL);
	const uint8_t *in = gmem(ex, A32(0), (uint64_t)n * SUB_SIZE);
	uint8_t *out = gmem(ex, A32(1), (uint64_t)n * EVENT_SIZE);
	if (!in || !out || !gmem(ex, A32(3), 4))
		RET(E_FAULT);
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	WasiInst *st = inst_state(ex);
	/* Called again after parking: relative timeouts count from the
	 * first call. A parked call is recognized by the wake time the
	 * engine still holds (a new call starts with 0). */
	bool redo = st && st->polling && ex->wake_at == st->poll_wake;
	uint64_t start = redo ? st->poll_start : now;
	uint64_t wake = UINT64_MAX;
	uint32_t nev = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *s = in + (size_t)i * SUB_SIZE;
		uint8_t *ev = out + (size_t)nev * EVENT_SIZE;
		uint64_t ud = ld64(s);
		uint8_t tag = s[8];
		if (tag == EV_CLOCK) {
			uint32_t id = ld32(s + 16);
			uint64_t timeout = ld64(s + 24);
			bool abs = ld16(s + 40) & SUB_ABSTIME;
			uint64_t due; /* CLOCK_MONOTONIC */
			if (id == CLOCK_MONO && abs) {
				due = timeout;
			} else if (id == CLOCK_MONO ||
				   (id == CLOCK_REAL && !abs)) {
				due = start + timeout;
				if (due < start)
					due = UINT64_MAX; /* overflow: never */
			} else if (id == CLOCK_REAL) {
				uint64_t real = now_ns(CLOCK_REALTIME);
				due = timeout <= real ? now
						      : now + (timeout - real);
				if (due < now)
					due = UINT64_MAX;
			} else {
				/* CPU-time clocks cannot be waited on. */
				put_event(ev, ud,
					  id == CLOCK_PROCESS ||
							  id == CLOCK_THREAD
						  ? E_NOTSUP
						  : E_INVAL,
					  EV_CLOCK, 0, 0);
				nev++;
				continue;
			}
			if (due <= now) {
				put_event(ev, ud, 0, EV_CLOCK, 0, 0);
				nev++;
			} else if (due < wake) {
				wake = due;
			}
		} else if (tag == EV_FD_READ || tag == EV_FD_WRITE) {
			Fd *f = fd_get(ex, W, ld32(s + 16));
			uint64_t nbytes;
			uint16_t flags;
			if (!f) {
				put_event(ev, ud, E_BADF, tag, 0, 0);
				nev++;
			} else if (fd_ready(f, tag == EV_FD_WRITE, &nbytes,
					    &flags)) {
				put_event(ev, ud, 0, tag, nbytes, flags);
				nev++;
			} else if (now + POLL_RETRY_NS < wake) {
				wake = now + POLL_RETRY_NS;
			}
		} else {
			RET(E_INVAL);
		}
	}
	if (nev || wake == UINT64_MAX) {
		/* Done (or nothing could ever happen: report none rather
		 * than sleep forever). */
		if (st)
			st->polling = false;
		put32(ex, A32(3), nev);
		RET(0);
	}
	st = inst_state_make(ex, W);
	if (!st)
		RET(E_NOMEM);
	st->polling = true;
	st->poll_start = start;
	st->poll_wake = wake;
	return myr_caller_block((myr_caller *)ex, wake);
}

/* ------------------------------------------------------------------ */
/* The module's function table                                         */

/* Signatures: one letter per value, i = i32, I = i64; results after
 * the colon. */
typedef struct WasiDef {
	const char *name;
	const char *sig;
	RawHostFn fn;
} WasiDef;

static const WasiDef table[] = {
	{"args_get", "ii:i", w_args_get},
	{"args_sizes_get", "ii:i", w_args_sizes_get},
	{"environ_get", "ii:i", w_environ_get},
	{"environ_sizes_get", "ii:i", w_environ_sizes_get},
	{"clock_res_get", "ii:i", w_clock_res_get},
	{"clock_time_get", "iIi:i", w_clock_time_get},
	{"fd_advise", "iIIi:i", w_fd_advise},
	{"fd_allocate", "iII:i", w_fd_allocate},
	{"fd_close", "i:i", w_fd_close},
	{"fd_datasync", "i:i", w_fd_datasync},
	{"fd_fdstat_get", "ii:i", w_fd_fdstat_get},
	{"fd_fdstat_set_flags", "ii:i", w_fd_fdstat_set_flags},
	{"fd_fdstat_set_rights", "iII:i", w_fd_fdstat_set_rights},
	{"fd_filestat_get", "ii:i", w_fd_filestat_get},
	{"fd_filestat_set_size", "iI:i", w_fd_filestat_set_size},
	{"fd_filestat_set_times", "iIIi:i", w_fd_filestat_set_times},
	{"fd_pread", "iiiIi:i", w_fd_pread},
	{"fd_prestat_get", "ii:i", w_fd_prestat_get},
	{"fd_prestat_dir_name", "iii:i", w_fd_prestat_dir_name},
	{"fd_pwrite", "iiiIi:i", w_fd_pwrite},
	{"fd_read", "iiii:i", w_fd_read},
	{"fd_readdir", "iiiIi:i", w_fd_readdir},
	{"fd_renumber", "ii:i", w_fd_renumber},
	{"fd_seek", "iIii:i", w_fd_seek},
	{"fd_sync", "i:i", w_fd_sync},
	{"fd_tell", "ii:i", w_fd_tell},
	{"fd_write", "iiii:i", w_fd_write},
	{"path_create_directory", "iii:i", w_path_create_directory},
	{"path_filestat_get", "iiiii:i", w_path_filestat_get},
	{"path_filestat_set_times", "iiiiIIi:i", w_path_filestat_set_times},
	{"path_link", "iiiiiii:i", w_path_link},
	{"path_open", "iiiiiIIii:i", w_path_open},
	{"path_readlink", "iiiiii:i", w_path_readlink},
	{"path_remove_directory", "iii:i", w_path_remove_directory},
	{"path_rename", "iiiiii:i", w_path_rename},
	{"path_symlink", "iiiii:i", w_path_symlink},
	{"path_unlink_file", "iii:i", w_path_unlink_file},
	{"poll_oneoff", "iiii:i", w_poll_oneoff},
	{"proc_exit", "i:", w_proc_exit},
	{"proc_raise", "i:i", w_nosys},
	{"sched_yield", ":i", w_sched_yield},
	{"random_get", "ii:i", w_random_get},
	{"sock_accept", "iii:i", w_nosys},
	{"sock_recv", "iiiiii:i", w_nosys},
	{"sock_send", "iiiii:i", w_nosys},
	{"sock_shutdown", "ii:i", w_nosys},
};

static myr_func *make_func(myr_engine *e, const WasiDef *d, myr_wasi *w)
{
	ValType types[16];
	uint32_t np = 0, nr = 0, k = 0;
	bool results = false;
	for (const char *c = d->sig; *c; c++) {
		if (*c == ':') {
			results = true;
			continue;
		}
		types[k++] = *c == 'I' ? VT_I64 : VT_I32;
		if (results)
			nr++;
		else
			np++;
	}
	return host_func_new_raw(e, types, np, nr, d->fn, w);
}

/* ------------------------------------------------------------------ */
/* The public interface                                                */

void myr_wasi_config_default(myr_wasi_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->stdin_fd = 0;
	cfg->stdout_fd = 1;
	cfg->stderr_fd = 2;
}

/* Copies n strings; *bytes gets their size with NULs. */
static char **copy_strings(const char *const *s, size_t n, size_t *bytes)
{
	char **v = xcalloc(n ? n : 1, sizeof *v);
	*bytes = 0;
	for (size_t i = 0; v && i < n; i++) {
		v[i] = strdup(s[i] ? s[i] : "");
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return NULL;
		}
		*bytes += strlen(v[i]) + 1;
	}
	return v;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* fd 0, 1 or 2 of the shared table from a host descriptor. */
static Fd stdio_fd(int host, int guest)
{
	Fd f = {.host = host, .shared = true, .preopen = -1};
	if (host < 0)
		return f;
	struct stat sb;
	f.type = fstat(host, &sb) == 0 ? ftype(sb.st_mode) : FT_UNKNOWN;
	f.stream = guest ? (uint8_t)guest : 0;
	uint64_t dir = guest ? R(R_WRITE) : R(R_READ);
	f.rights = (RIGHTS_STREAM & ~(R(R_READ) | R(R_WRITE))) | dir;
	if (f.type == FT_CHAR && !isatty(host))
		f.rights |= R(R_SEEK) | R(R_TELL);
	/* A regular file behind stdin can be read like one (the guest's
	 * stdio may fstat and seek it). */
	if (!guest && f.type == FT_FILE)
		f.rights = R(R_READ) | R(R_SEEK) | R(R_TELL) | R(R_STAT) |
			   R(R_POLL);
	return f;
}

static void inst_free(myr_instance *inst)
{
	WasiInst *st = inst->wasi;
	if (!st)
		return;
	flush_lines(st);
	for (uint32_t i = 0; st->fds && i < st->nfds; i++)
		if (st->fds[i].host >= 0 && !st->fds[i].shared)
			close(st->fds[i].host);
	free(st->fds);
	free(st->line[0]);
	free(st->line[1]);
	free(st);
	inst->wasi = NULL;
}

/* The engine calls this when an instance with WASI state is freed; set
 * once, whichever thread makes the first WASI context. */
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static void set_free_hook(void)
{
	wasi_free_hook = inst_free;
}

myr_wasi *myr_wasi_new(myr_engine *engine, const myr_wasi_config *cfg,
		       myr_error *err)
{
	error_clear(err);
	myr_wasi_config def;
	if (!cfg) {
		myr_wasi_config_default(&def);
		cfg = &def;
	}
	if ((cfg->argc && !cfg->argv) || (cfg->nenv && !cfg->env) ||
	    (cfg->ndirs && !cfg->dirs)) {
		fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "a count without its array in myr_wasi_config");
		return NULL;
	}
	myr_wasi *w = calloc(1, sizeof *w);
	if (!w)
		goto oom;
	w->engine = engine;
	w->cfg = *cfg;
	pthread_mutex_init(&w->out_lock, NULL);
	w->argv = copy_strings(cfg->argv, cfg->argc, &w->argv_bytes);
	w->env = copy_strings(cfg->env, cfg->nenv, &w->env_bytes);
	w->guest_names = xcalloc(cfg->ndirs ? cfg->ndirs : 1, sizeof(char *));
	w->nbase = 3 + (uint32_t)cfg->ndirs;
	w->base = xcalloc(w->nbase, sizeof *w->base);
	w->funcs = xcalloc(COUNT_OF(table), sizeof *w->funcs);
	if (!w->argv || !w->env || !w->guest_names || !w->base || !w->funcs)
		goto oom;
	/* The copies stand in for the caller's arrays from now on. */
	w->cfg.argv = (const char *const *)w->argv;
	w->cfg.env = (const char *const *)w->env;
	w->cfg.dirs = NULL;
	w->base[0] = stdio_fd(cfg->stdin_fd, 0);
	w->base[1] = stdio_fd(cfg->stdout_fd, 1);
	w->base[2] = stdio_fd(cfg->stderr_fd, 2);
	for (uint32_t i = 3; i < w->nbase; i++)
		w->base[i] = (Fd){.host = -1, .preopen = -1};
	for (size_t i = 0; i < cfg->ndirs; i++) {
		const myr_wasi_dir *d = &cfg->dirs[i];
		if (!d->host_path) {
			fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
			     "directory %zu has no host path", i);
			myr_wasi_free(w);
			return NULL;
		}
		const char *guest =
			d->guest_path ? d->guest_path : d->host_path;
		w->guest_names[i] = strdup(guest);
		if (!w->guest_names[i])
			goto oom;
		int fd = open(d->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
			     "cannot open directory %s: %s", d->host_path,
			     strerror(errno));
			myr_wasi_free(w);
			return NULL;
		}
		w->base[3 + i] = (Fd){.host = fd,
				      .type = FT_DIR,
				      .shared = true,
				      .preopen = (int32_t)i,
				      .rights = RIGHTS_DIR,
				      .inheriting = RIGHTS_DIR | RIGHTS_FILE};
	}
	for (size_t i = 0; i < COUNT_OF(table); i++) {
		w->funcs[i] = make_func(engine, &table[i], w);
		if (!w->funcs[i])
			goto oom;
	}
	pthread_once(&hook_once, set_free_hook);
	return w;
oom:
	fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
	     "out of memory");
	myr_wasi_free(w);
	return NULL;
}

void myr_wasi_free(myr_wasi *w)
{
	if (!w)
		return;
	for (uint32_t i = 3; w->base && i < w->nbase; i++)
		if (w->base[i].type == FT_DIR && w->base[i].host >= 0)
			close(w->base[i].host);
	for (size_t i = 0; w->funcs && i < COUNT_OF(table); i++)
		myr_func_free(w->funcs[i]);
	free(w->funcs);
	free(w->base);
	free_strings(w->argv, w->cfg.argc);
	free_strings(w->env, w->cfg.nenv);
	free_strings(w->guest_names, w->cfg.ndirs);
	pthread_mutex_destroy(&w->out_lock);
	free(w);
}

myr_func *myr_wasi_func(myr_wasi *w, const char *name, size_t len)
{
	for (size_t i = 0; i < COUNT_OF(table); i++)
		if (strlen(table[i].name) == len &&
		    memcmp(table[i].name, name, len) == 0)
			return w->funcs[i];
	return NULL;
}

static const char *kind_name(ExternKind k)
{
	static const char *names[] = {"function", "table", "memory", "global"};
	return k <= EXT_GLOBAL ? names[k] : "?";
}

bool myr_wasi_link(myr_wasi *w, const myr_module *m, myr_extern *imports,
		   myr_error *err)
{
	static const char wasi_mod[] = "wasi_snapshot_preview1";
	error_clear(err);
	for (uint32_t i = 0; i < m->nimports; i++) {
		const Import *im = &m->imports[i];
		if (imports[i].of.func) /* any kind: the union's pointer */
			continue;
		bool is_wasi = im->module.len == sizeof wasi_mod - 1 &&
			       memcmp(im->module.s, wasi_mod,
				      sizeof wasi_mod - 1) == 0;
		myr_func *f =
			is_wasi && im->kind == EXT_FUNC
				? myr_wasi_func(w, im->name.s, im->name.len)
				: NULL;
		if (!f)
			return fail(err, MYR_ERR_LINK, MYR_NO_OFFSET,
				    MYR_NO_FUNC,
				    "unknown import: %s %.*s.%.*s%s",
				    kind_name(im->kind), (int)im->module.len,
				    im->module.s, (int)im->name.len, im->name.s,
				    is_wasi ? " is not a WASI preview1 "
					      "function"
					    : " (only wasi_snapshot_preview1 "
					      "is provided)");
		if (f->canon != m->types[im->u.type_idx].canon)
			return fail(err, MYR_ERR_LINK, MYR_NO_OFFSET,
				    MYR_NO_FUNC,
				    "import %.*s.%.*s has the wrong type for "
				    "WASI preview1",
				    (int)im->module.len, im->module.s,
				    (int)im->name.len, im->name.s);
		imports[i] =
			(myr_extern){.kind = MYR_EXTERN_FUNC, .of.func = f};
	}
	return true;
}

void myr_wasi_flush(myr_wasi *w, myr_instance *inst)
{
	(void)w;
	if (inst->wasi)
		flush_lines(inst->wasi);
}

bool myr_wasi_exit_code(const myr_instance *inst, int *code)
{
	const Exec *ex = &inst->ex;
	if (ex->status == MYR_STATUS_DONE) {
		*code = 0;
		return true;
	}
	if (ex->status == MYR_STATUS_EXITED) {
		*code = ex->exit_code;
		return true;
	}
	return false;
}
