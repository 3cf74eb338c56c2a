/*
 * One WASI operation per run, chosen by argv[1], for test_wasi.c and the
 * CLI tests: `ops.wasm OP ARG...`. The exit code is the WASI errno of the
 * operation (0: it worked), so the test can check the answer and then the
 * host's file system. Path operations call preview1 directly (not libc,
 * which would refuse some paths itself) relative to fd 3, the first
 * preopened directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <wasi/api.h>

#define DIRFD 3

static const __wasi_rights_t all_rights = ~(__wasi_rights_t)0;

/* path_open as imported, path and length apart: the wrapper in
 * wasi/api.h would strlen() the path itself. */
int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path,
		      int32_t path_len, int32_t oflags, int64_t base,
		      int64_t inheriting, int32_t fdflags, int32_t fd_ptr)
	__attribute__((import_module("wasi_snapshot_preview1"),
		       import_name("path_open")));

static int op_open(const char *path, __wasi_lookupflags_t look,
		   __wasi_oflags_t of, __wasi_rights_t rights, bool print)
{
	__wasi_fd_t fd;
	__wasi_errno_t e = __wasi_path_open(DIRFD, look, path, of, rights,
					    all_rights, 0, &fd);
	if (e)
		return e;
	if (print) {
		char buf[256];
		__wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
		__wasi_size_t n;
		while ((e = __wasi_fd_read(fd, &iov, 1, &n)) == 0 && n > 0)
			fwrite(buf, 1, n, stdout);
	}
	if (of & __WASI_OFLAGS_CREAT) {
		__wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
		__wasi_size_t n;
		e = __wasi_fd_write(fd, &iov, 1, &n);
	}
	(void)__wasi_fd_close(fd);
	return e;
}

static int op_stat(const char *path, __wasi_lookupflags_t look)
{
	__wasi_filestat_t st;
	__wasi_errno_t e = __wasi_path_filestat_get(DIRFD, look, path, &st);
	if (!e)
		printf("type %d size %llu\n", st.filetype,
		       (unsigned long long)st.size);
	return e;
}

/* fd_readdir with a small buffer, so that entries get cut and asked
 * for again; prints the names but "." and "..". */
static int op_readdir(const char *path)
{
	__wasi_fd_t fd;
	__wasi_errno_t e =
		__wasi_path_open(DIRFD, 1, path, __WASI_OFLAGS_DIRECTORY,
				 all_rights, all_rights, 0, &fd);
	if (e)
		return e;
	uint8_t buf[40];
	__wasi_dircookie_t cookie = 0;
	for (;;) {
		__wasi_size_t used;
		e = __wasi_fd_readdir(fd, buf, sizeof buf, cookie, &used);
		if (e)
			break;
		if (used < sizeof(__wasi_dirent_t))
			break;
		__wasi_dirent_t d;
		memcpy(&d, buf, sizeof d);
		if (sizeof d + d.d_namlen > used && used < sizeof buf)
			return 1; /* cut short but not at the end */
		if (sizeof d + d.d_namlen <= sizeof buf) {
			const char *name = (const char *)buf + sizeof d;
			if (!(d.d_namlen == 1 && name[0] == '.') &&
			    !(d.d_namlen == 2 && name[0] == '.' &&
			      name[1] == '.'))
				printf("%.*s %d\n", (int)d.d_namlen, name,
				       d.d_type);
		} else {
			printf("(long name)\n");
		}
		cookie = d.d_next;
	}
	(void)__wasi_fd_close(fd);
	return e;
}

/* What fds 0, 1, 2 and the file at path (if any) are, as fd_fdstat_get
 * and wasi-libc's isatty() tell: "fd 0: type 2 tty 0". */
static int op_tty(const char *path)
{
	int fds[4] = {0, 1, 2, -1};
	if (*path) {
		__wasi_fd_t fd;
		__wasi_rights_t want =
			__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE |
			__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL;
		__wasi_errno_t e =
			__wasi_path_open(DIRFD, 1, path, 0, want, 0, 0, &fd);
		if (e)
			return e;
		fds[3] = (int)fd;
	}
	for (int i = 0; i < 4 && fds[i] >= 0; i++) {
		__wasi_fdstat_t st;
		__wasi_errno_t e = __wasi_fd_fdstat_get(fds[i], &st);
		if (e)
			return e;
		char name[8];
		snprintf(name, sizeof name, "fd %d", i);
		printf("%s: type %d tty %d\n", i < 3 ? name : path,
		       st.fs_filetype, isatty(fds[i]));
	}
	return 0;
}

static void check(int *bad, const char *what, __wasi_errno_t got,
		  __wasi_errno_t want)
{
	if (got != want) {
		printf("%s: %d, expected %d\n", what, got, want);
		*bad = 1;
	}
}

/* Every pointer argument out of bounds in turn: EFAULT, no crash. */
static int op_efault(void)
{
	int bad = 0;
	uintptr_t end = __builtin_wasm_memory_size(0) * 65536;
	void *out = (void *)(end - 2); /* 2 bytes left: too few for all */
	void *far = (void *)(uintptr_t)0xfffffff0u;
	__wasi_size_t n;
	__wasi_ciovec_t ciov = {(const uint8_t *)far, 16};
	__wasi_iovec_t iov = {(uint8_t *)far, 16};
	check(&bad, "fd_write iovs", __wasi_fd_write(1, far, 1, &n),
	      __WASI_ERRNO_FAULT);
	check(&bad, "fd_write buf", __wasi_fd_write(1, &ciov, 1, &n),
	      __WASI_ERRNO_FAULT);
	check(&bad, "fd_write nwritten",
	      __wasi_fd_write(1, &(__wasi_ciovec_t){(const uint8_t *)"", 0}, 1,
			      out),
	      __WASI_ERRNO_FAULT);
	check(&bad, "fd_read buf", __wasi_fd_read(0, &iov, 1, &n),
	      __WASI_ERRNO_FAULT);
	check(&bad, "args_sizes_get", __wasi_args_sizes_get(out, &n),
	      __WASI_ERRNO_FAULT);
	check(&bad, "args_get", __wasi_args_get(far, far), __WASI_ERRNO_FAULT);
	check(&bad, "environ_get", __wasi_environ_get(far, far),
	      __WASI_ERRNO_FAULT);
	check(&bad, "clock_time_get", __wasi_clock_time_get(0, 0, out),
	      __WASI_ERRNO_FAULT);
	check(&bad, "clock_res_get", __wasi_clock_res_get(1, far),
	      __WASI_ERRNO_FAULT);
	check(&bad, "random_get", __wasi_random_get(far, 16),
	      __WASI_ERRNO_FAULT);
	check(&bad, "fd_fdstat_get", __wasi_fd_fdstat_get(1, far),
	      __WASI_ERRNO_FAULT);
	check(&bad, "fd_filestat_get", __wasi_fd_filestat_get(1, out),
	      __WASI_ERRNO_FAULT);
	check(&bad, "fd_prestat_get", __wasi_fd_prestat_get(DIRFD, far),
	      __WASI_ERRNO_FAULT);
	check(&bad, "fd_prestat_dir_name",
	      __wasi_fd_prestat_dir_name(DIRFD, far, 64), __WASI_ERRNO_FAULT);
	check(&bad, "path_open path",
	      raw_path_open(DIRFD, 0, (int32_t)(uintptr_t)out, 10, 0, 0, 0, 0,
			    (int32_t)(uintptr_t)&n),
	      __WASI_ERRNO_FAULT);
	check(&bad, "path_open fd",
	      raw_path_open(DIRFD, 0, (int32_t)(uintptr_t)".", 1, 0, 0, 0, 0,
			    (int32_t)(uintptr_t)out),
	      __WASI_ERRNO_FAULT);
	check(&bad, "path_filestat_get buf",
	      __wasi_path_filestat_get(DIRFD, 0, ".", out), __WASI_ERRNO_FAULT);
	check(&bad, "fd_readdir buf", __wasi_fd_readdir(DIRFD, far, 64, 0, &n),
	      __WASI_ERRNO_FAULT);
	check(&bad, "fd_seek result", __wasi_fd_seek(DIRFD, 0, 0, out),
	      __WASI_ERRNO_FAULT);
	__wasi_event_t ev;
	check(&bad, "poll_oneoff in", __wasi_poll_oneoff(far, &ev, 1, &n),
	      __WASI_ERRNO_FAULT);
	return bad;
}

/* Functions of preview1 that are not implemented answer ENOSYS. */
static int op_nosys(void)
{
	int bad = 0;
	__wasi_fd_t fd;
	__wasi_size_t n;
	__wasi_roflags_t rf;
	check(&bad, "sock_accept", __wasi_sock_accept(1, 0, &fd),
	      __WASI_ERRNO_NOSYS);
	check(&bad, "sock_recv", __wasi_sock_recv(1, NULL, 0, 0, &n, &rf),
	      __WASI_ERRNO_NOSYS);
	check(&bad, "sock_send", __wasi_sock_send(1, NULL, 0, 0, &n),
	      __WASI_ERRNO_NOSYS);
	check(&bad, "sock_shutdown", __wasi_sock_shutdown(1, 0),
	      __WASI_ERRNO_NOSYS);
	return bad;
}

/* Ordinary file work through libc, in the preopened directory. */
static int op_fs(void)
{
#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			printf("failed: %s (line %d, errno %d)\n", #c,         \
			       __LINE__, errno);                               \
			return 1;                                              \
		}                                                              \
	} while (0)
	CHECK(mkdir("d", 0755) == 0);
	CHECK(mkdir("d", 0755) != 0 && errno == EEXIST);
	FILE *f = fopen("d/a.txt", "w");
	CHECK(f);
	CHECK(fputs("hello, file\n", f) >= 0);
	CHECK(fclose(f) == 0);
	int fd = open("d/a.txt", O_RDWR);
	CHECK(fd >= 0);
	char buf[64] = {0};
	CHECK(read(fd, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0);
	CHECK(lseek(fd, 0, SEEK_CUR) == 5);
	CHECK(lseek(fd, -5, SEEK_END) == 7);
	CHECK(pread(fd, buf, 4, 7) == 4 && memcmp(buf, "file", 4) == 0);
	CHECK(pwrite(fd, "FILE", 4, 7) == 4);
	CHECK(lseek(fd, 0, SEEK_CUR) == 7); /* pread/pwrite keep it */
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_size == 12 && S_ISREG(st.st_mode));
	CHECK(posix_fallocate(fd, 0, 100) == 0); /* fd_allocate */
	CHECK(fstat(fd, &st) == 0 && st.st_size == 100);
	CHECK(ftruncate(fd, 5) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 5);
	CHECK(fsync(fd) == 0);
	/* Rights can be dropped, not regained. */
	__wasi_fdstat_t fs;
	CHECK(__wasi_fd_fdstat_get(fd, &fs) == 0 &&
	      (fs.fs_rights_base & __WASI_RIGHTS_FD_WRITE));
	CHECK(__wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_READ, 0) == 0);
	CHECK(write(fd, "x", 1) < 0 && errno == EBADF);
	CHECK(__wasi_fd_fdstat_set_rights(fd, fs.fs_rights_base, 0) ==
	      __WASI_ERRNO_NOTCAPABLE);
	CHECK(close(fd) == 0);
	CHECK(stat("d/a.txt", &st) == 0 && st.st_size == 5);
	CHECK(rename("d/a.txt", "d/b.txt") == 0);
	CHECK(access("d/a.txt", F_OK) != 0 && errno == ENOENT);
	f = fopen("d/b.txt", "a");
	CHECK(f && fputs("++", f) >= 0 && fclose(f) == 0);
	f = fopen("d/b.txt", "r");
	CHECK(f && fgets(buf, sizeof buf, f) && strcmp(buf, "hello++") == 0);
	fclose(f);
	DIR *d = opendir("d");
	CHECK(d);
	int seen = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		seen += strcmp(e->d_name, "b.txt") == 0;
	closedir(d);
	CHECK(seen == 1);
	CHECK(rmdir("d") != 0 && errno == ENOTEMPTY);
	CHECK(unlink("d/b.txt") == 0);
	CHECK(unlink("d") != 0);
	CHECK(rmdir("d") == 0);
	CHECK(open("nonexistent", O_RDONLY) < 0 && errno == ENOENT);
	printf("fs ok\n");
	return 0;
#undef CHECK
}

static int op_clock(void)
{
	__wasi_timestamp_t t, r;
	for (__wasi_clockid_t c = 0; c < 4; c++) {
		if (__wasi_clock_time_get(c, 1, &t) ||
		    __wasi_clock_res_get(c, &r) || r == 0)
			return 1;
	}
	if (__wasi_clock_time_get(0, 1, &t) || t < 1600000000ull * 1000000000)
		return 2; /* realtime is after 2020 */
	if (__wasi_clock_time_get(9, 1, &t) != __WASI_ERRNO_INVAL)
		return 3;
	__wasi_timestamp_t a, b;
	(void)__wasi_clock_time_get(1, 1, &a);
	(void)__wasi_clock_time_get(1, 1, &b);
	return b >= a ? 0 : 4;
}

/* poll_oneoff with a read subscription on stdin and a timeout: says
 * which came first. */
static int op_poll_stdin(int ms)
{
	__wasi_subscription_t s[2] = {
		{.userdata = 1,
		 .u = {.tag = __WASI_EVENTTYPE_FD_READ,
		       .u.fd_read = {.file_descriptor = 0}}},
		{.userdata = 2,
		 .u = {.tag = __WASI_EVENTTYPE_CLOCK,
		       .u.clock = {.id = __WASI_CLOCKID_MONOTONIC,
				   .timeout = (uint64_t)ms * 1000000}}},
	};
	__wasi_event_t ev[2];
	__wasi_size_t n;
	__wasi_errno_t e = __wasi_poll_oneoff(s, ev, 2, &n);
	if (e)
		return e;
	for (__wasi_size_t i = 0; i < n; i++)
		printf("event %llu error %d\n",
		       (unsigned long long)ev[i].userdata, ev[i].error);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 100;
	const char *op = argv[1], *p = argc > 2 ? argv[2] : "";
	const char *q = argc > 3 ? argv[3] : "";
	__wasi_rights_t rd = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK;
	__wasi_rights_t wr = __WASI_RIGHTS_FD_WRITE;
	if (!strcmp(op, "open"))
		return op_open(p, 1, 0, rd, false);
	if (!strcmp(op, "open-nofollow"))
		return op_open(p, 0, 0, rd, false);
	if (!strcmp(op, "read"))
		return op_open(p, 1, 0, rd, true);
	if (!strcmp(op, "create"))
		return op_open(p, 1, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
			       wr, false);
	if (!strcmp(op, "create-excl"))
		return op_open(p, 1, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL,
			       wr, false);
	if (!strcmp(op, "opendir"))
		return op_open(p, 1, __WASI_OFLAGS_DIRECTORY, rd, false);
	if (!strcmp(op, "opendir-nofollow"))
		return op_open(p, 0, __WASI_OFLAGS_DIRECTORY, rd, false);
	if (!strcmp(op, "stat"))
		return op_stat(p, 1);
	if (!strcmp(op, "lstat"))
		return op_stat(p, 0);
	if (!strcmp(op, "mkdir"))
		return __wasi_path_create_directory(DIRFD, p);
	if (!strcmp(op, "rmdir"))
		return __wasi_path_remove_directory(DIRFD, p);
	if (!strcmp(op, "unlink"))
		return __wasi_path_unlink_file(DIRFD, p);
	if (!strcmp(op, "rename"))
		return __wasi_path_rename(DIRFD, p, DIRFD, q);
	if (!strcmp(op, "symlink"))
		return __wasi_path_symlink(p, DIRFD, q);
	if (!strcmp(op, "link"))
		return __wasi_path_link(DIRFD, 0, p, DIRFD, q);
	if (!strcmp(op, "settimes"))
		return __wasi_path_filestat_set_times(
			DIRFD, 1, p, 0, 0,
			__WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW);
	if (!strcmp(op, "readlink")) {
		uint8_t buf[256];
		__wasi_size_t n;
		__wasi_errno_t e =
			__wasi_path_readlink(DIRFD, p, buf, sizeof buf, &n);
		if (!e)
			printf("%.*s\n", (int)n, buf);
		return e;
	}
	if (!strcmp(op, "readdir"))
		return op_readdir(p);
	if (!strcmp(op, "fs"))
		return op_fs();
	if (!strcmp(op, "efault"))
		return op_efault();
	if (!strcmp(op, "nosys"))
		return op_nosys();
	if (!strcmp(op, "clock"))
		return op_clock();
	if (!strcmp(op, "args")) {
		extern char **environ;
		for (int i = 0; i < argc; i++)
			printf("arg %s\n", argv[i]);
		for (char **e = environ; *e; e++)
			printf("env %s\n", *e);
		return 0;
	}
	if (!strcmp(op, "exit"))
		exit(atoi(p));
	if (!strcmp(op, "sleep")) {
		struct timespec t = {atoi(p) / 1000,
				     (atoi(p) % 1000) * 1000000L};
		return nanosleep(&t, NULL) ? errno : 0;
	}
	if (!strcmp(op, "sleep-abs") || !strcmp(op, "sleep-real")) {
		/* An absolute deadline: poll_oneoff with ABSTIME. */
		clockid_t c = op[6] == 'a' ? CLOCK_MONOTONIC : CLOCK_REALTIME;
		struct timespec t;
		clock_gettime(c, &t);
		long ns = t.tv_nsec + (atoi(p) % 1000) * 1000000L;
		t.tv_sec += atoi(p) / 1000 + ns / 1000000000L;
		t.tv_nsec = ns % 1000000000L;
		return clock_nanosleep(c, TIMER_ABSTIME, &t, NULL);
	}
	if (!strcmp(op, "yield")) {
		for (int i = atoi(p); i > 0; i--)
			if (__wasi_sched_yield())
				return 1;
		return 0;
	}
	if (!strcmp(op, "random")) {
		uint8_t buf[300] = {0};
		if (__wasi_random_get(buf, sizeof buf))
			return 1;
		int nonzero = 0;
		for (size_t i = 0; i < sizeof buf; i++)
			nonzero += buf[i] != 0;
		return nonzero > 200 ? 0 : 2;
	}
	if (!strcmp(op, "poll-stdin"))
		return op_poll_stdin(atoi(p));
	if (!strcmp(op, "cat")) {
		/* stdin to stdout */
		int c;
		while ((c = getchar()) != EOF)
			putchar(c);
		return 0;
	}
	if (!strcmp(op, "tty"))
		return op_tty(p);
	if (!strcmp(op, "trap"))
		__builtin_trap();
	return 101;
}
