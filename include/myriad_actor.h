/*
 * myriad_actor.h: the actor ABI for guest programs, the "myriad" import
 * module. Include it in C compiled to wasm32-wasi (clang --target=wasm32-wasi)
 * and run the program with `myriad run`, which links the module whenever a
 * program imports it. docs/guide-actors.md describes the semantics.
 *
 * Every instance is an actor: a pid names it, it has a mailbox, and it can
 * spawn instances of its own module, send them copies of bytes, receive
 * selectively by tag, link to and monitor others, and register a name.
 *
 * The raw imports (myr_self ... myr_whereis) are exactly the ABI: a pid is
 * an int64_t > 0, a pointer and a length are wasm32 i32 values, and a bad
 * pointer traps the caller. The static inline helpers below them only
 * package common calls; a program may use either.
 *
 * On a host (not __wasm__) only the constants are defined.
 */
#ifndef MYRIAD_ACTOR_H
#define MYRIAD_ACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int64_t myr_pid;

/* spawn flags */
#define MYR_SPAWN_LINK	  1 /* link parent and child at once */
#define MYR_SPAWN_MONITOR 2 /* monitor the child; the ref is its pid */

/* spawn errors (a pid is > 0) */
#define MYR_SPAWN_LIMIT	    (-1) /* instance limit or memory ran out */
#define MYR_SPAWN_NO_EXPORT (-2) /* no export of that name of type () -> () */

/* send results */
#define MYR_SEND_OK	 0    /* queued, or dropped: the receiver has ended */
#define MYR_SEND_TOO_BIG (-1) /* larger than the message size limit */
#define MYR_SEND_FULL	 (-2) /* receiver's mailbox full: nothing queued */
#define MYR_SEND_BAD_TAG (-3) /* a negative tag: those are the system's */

/* receive: filters, timeouts and the timed-out result */
#define MYR_ANY	    0	      /* filter: the oldest message of any tag */
#define MYR_NO_WAIT 0	      /* timeout: take a message only if one is there */
#define MYR_FOREVER (-1)      /* timeout: wait as long as it takes */
#define MYR_TIMEOUT (-1)      /* result: nothing matched in time */
#define MYR_MS	    1000000LL /* nanoseconds in a millisecond */

/* system message tags (send refuses negative tags; 0 is the spawn message) */
#define MYR_TAG_SPAWN 0	   /* the first message, from the parent */
#define MYR_TAG_EXIT  (-1) /* exit signal trapped: pid i64, reason i32 */
#define MYR_TAG_DOWN                                                           \
	(-2) /* monitored pid ended: ref i64, pid i64, reason i32 */

/* exit reasons; any other value is the program's own */
#define MYR_NORMAL	 0   /* entry returned, or proc_exit(0) */
#define MYR_TRAP	 1   /* the instance trapped */
#define MYR_KILL	 2   /* cannot be trapped */
#define MYR_NOPROC	 3   /* linked or monitored a pid that had ended */
#define MYR_EXITED_0	 256 /* proc_exit(code), code != 0: 256 + code */
#define MYR_EXITED(code) (MYR_EXITED_0 + (code))

/* Payload sizes of the system messages. */
#define MYR_EXIT_SIZE 12
#define MYR_DOWN_SIZE 20

/* The 16 bytes receive writes at info_ptr. */
typedef struct myr_msg_info {
	myr_pid sender;
	int64_t tag;
} myr_msg_info;

/* A decoded EXIT message: pid ended (or signalled) with reason. */
typedef struct myr_exit_msg {
	myr_pid pid;
	int32_t reason;
} myr_exit_msg;

/* A decoded DOWN message: the monitor ref and what ended, with why. */
typedef struct myr_down_msg {
	int64_t ref;
	myr_pid pid;
	int32_t reason;
} myr_down_msg;

#ifdef __wasm__

#define MYR_IMPORT(name)                                                       \
	__attribute__((import_module("myriad"), import_name(name)))

/* Exports a function `void name(void)` as an entry for myr_spawn. */
#define MYR_ENTRY(name) __attribute__((export_name(#name))) void name(void)

/* The caller's pid. */
MYR_IMPORT("self") myr_pid myr_self(void);

/* Starts an instance of this module running its export `entry` (type
 * () -> ()), with `msg` as its first message (tag 0, sender the caller).
 * Returns the child's pid, MYR_SPAWN_LIMIT or MYR_SPAWN_NO_EXPORT. */
MYR_IMPORT("spawn")
myr_pid myr_spawn(const char *entry, size_t entry_len, const void *msg,
		  size_t msg_len, int32_t flags);

/* Copies msg to to's mailbox: MYR_SEND_OK, MYR_SEND_TOO_BIG, MYR_SEND_FULL,
 * MYR_SEND_BAD_TAG (tag < 0). */
MYR_IMPORT("send")
int32_t myr_send(myr_pid to, int64_t tag, const void *msg, size_t len);

/* Takes the oldest message whose tag is `filter` (MYR_ANY: any), waiting up
 * to timeout_ns (MYR_NO_WAIT, MYR_FOREVER). Returns its length n: when
 * n <= cap it is copied to buf and removed and *info gets its sender and
 * tag; when n > cap nothing happens (ask again with n bytes). MYR_TIMEOUT
 * when nothing matched in time. */
MYR_IMPORT("receive")
int32_t myr_receive(int64_t filter, void *buf, size_t cap, int64_t timeout_ns,
		    myr_msg_info *info);

/* Links both ways (0, or -1). Linking to a pid that has ended delivers an
 * exit signal with reason MYR_NOPROC at once. */
MYR_IMPORT("link") int32_t myr_link(myr_pid pid);
MYR_IMPORT("unlink") int32_t myr_unlink(myr_pid pid);

/* One-way monitor: a DOWN message when pid ends. Returns its ref (> 0). */
MYR_IMPORT("monitor") int64_t myr_monitor(myr_pid pid);

/* Removes a monitor and its DOWN message if not yet received. */
MYR_IMPORT("demonitor") int32_t myr_demonitor(int64_t ref);

/* Turns exit signals (other than kill) into EXIT messages when on != 0.
 * Returns the previous setting. */
MYR_IMPORT("trap_exit") int32_t myr_trap_exit(int32_t on);

/* Sends an exit signal with reason to pid; to oneself, ends now. */
MYR_IMPORT("exit") int32_t myr_exit(myr_pid pid, int32_t reason);

/* Gives the caller a node-wide name (0), or -1 if it is taken. The name is
 * freed when the caller ends. */
MYR_IMPORT("register") int32_t myr_register(const char *name, size_t len);

/* The pid registered under name, or 0. */
MYR_IMPORT("whereis") myr_pid myr_whereis(const char *name, size_t len);

#undef MYR_IMPORT

/* --- helpers ------------------------------------------------------------ */

/* Spawns `entry` (a C string) with a first message of len bytes. */
static inline myr_pid myr_spawn_entry(const char *entry, const void *msg,
				      size_t len, int32_t flags)
{
	return myr_spawn(entry, strlen(entry), msg, len, flags);
}

/* Spawns `entry` with an int64_t as its first message. */
static inline myr_pid myr_spawn_i64(const char *entry, int64_t v, int32_t flags)
{
	return myr_spawn(entry, strlen(entry), &v, sizeof v, flags);
}

/* Sends a C string (without its terminating NUL). */
static inline int32_t myr_send_str(myr_pid to, int64_t tag, const char *s)
{
	return myr_send(to, tag, s, strlen(s));
}

/* Sends an int64_t (8 bytes, little-endian). */
static inline int32_t myr_send_i64(myr_pid to, int64_t tag, int64_t v)
{
	return myr_send(to, tag, &v, sizeof v);
}

/* Sends a message with no payload. */
static inline int32_t myr_send_empty(myr_pid to, int64_t tag)
{
	return myr_send(to, tag, NULL, 0);
}

/* Receives a message of at most cap - 1 bytes as a NUL-terminated string
 * (cap >= 1). Returns its length, MYR_TIMEOUT, or the length of a message
 * too big for buf, which then stays queued (the result is then >= cap). */
static inline int32_t myr_receive_str(int64_t filter, char *buf, size_t cap,
				      int64_t timeout_ns, myr_msg_info *info)
{
	int32_t n = myr_receive(filter, buf, cap - 1, timeout_ns, info);
	if (n >= 0 && (size_t)n < cap)
		buf[n] = '\0';
	return n;
}

/* Receives an int64_t message: true with *v set, false on a timeout or a
 * message that is not 8 bytes (which is then removed when it is shorter,
 * left queued when it is longer). */
static inline bool myr_receive_i64(int64_t filter, int64_t *v,
				   int64_t timeout_ns, myr_msg_info *info)
{
	unsigned char buf[8];
	int32_t n = myr_receive(filter, buf, sizeof buf, timeout_ns, info);
	if (n != (int32_t)sizeof buf)
		return false;
	memcpy(v, buf, sizeof buf);
	return true;
}

/* Registers the caller under a C string name: 0, or -1 if it is taken. */
static inline int32_t myr_register_str(const char *name)
{
	return myr_register(name, strlen(name));
}

/* The pid registered under a C string name, or 0. */
static inline myr_pid myr_whereis_str(const char *name)
{
	return myr_whereis(name, strlen(name));
}

#endif /* __wasm__ */

/* Decodes an EXIT message's payload (n bytes at p): false if n is wrong. */
static inline bool myr_decode_exit(const void *p, int32_t n, myr_exit_msg *e)
{
	if (n != MYR_EXIT_SIZE)
		return false;
	memcpy(&e->pid, p, 8);
	memcpy(&e->reason, (const unsigned char *)p + 8, 4);
	return true;
}

/* Decodes a DOWN message's payload (n bytes at p): false if n is wrong. */
static inline bool myr_decode_down(const void *p, int32_t n, myr_down_msg *d)
{
	if (n != MYR_DOWN_SIZE)
		return false;
	memcpy(&d->ref, p, 8);
	memcpy(&d->pid, (const unsigned char *)p + 8, 8);
	memcpy(&d->reason, (const unsigned char *)p + 16, 4);
	return true;
}

/* A short name for the reasons this ABI defines ("normal", "trap", "kill",
 * "noproc", "exit"), or "other" for a program's own. */
static inline const char *myr_reason_name(int32_t reason)
{
	switch (reason) {
	case MYR_NORMAL:
		return "normal";
	case MYR_TRAP:
		return "trap";
	case MYR_KILL:
		return "kill";
	case MYR_NOPROC:
		return "noproc";
	default:
		return reason > MYR_EXITED_0 && reason <= MYR_EXITED(255)
			       ? "exit"
			       : "other";
	}
}

#ifdef __cplusplus
}
#endif

#endif /* MYRIAD_ACTOR_H */
