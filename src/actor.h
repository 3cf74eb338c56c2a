/*
 * Actors: the records behind pids, mailboxes, and what the scheduler
 * needs to know of them. See actor.c for the design and
 * docs/architecture.md ("Actors") for the figures.
 */
#ifndef MYR_ACTOR_H
#define MYR_ACTOR_H

#include <stdatomic.h>

#include "runtime.h"

/* A queued message: a header and the payload right after it. */
typedef struct Msg {
	struct Msg *next;
	int64_t from, tag;
	uint32_t len;
	uint8_t data[];
} Msg;

/* What a message costs against the limits: its payload and a header.
 * Messages of up to MSG_SMALL bytes all take blocks of the same size,
 * which actor.c reuses. */
enum { MSG_OVERHEAD = 32, MSG_SMALL = 32 };

/* A FIFO of messages. Empty, it is three zero words and owns nothing. */
typedef struct Mailbox {
	Msg *head, *tail;
	uint64_t bytes; /* payloads + MSG_OVERHEAD each */
} Mailbox;

/* mailbox.c */
Msg *msg_new(int64_t from, int64_t tag, const void *data, uint32_t len);
void mailbox_put(Mailbox *mb, Msg *m);
/* The oldest message whose tag is filter (0: any), and the link that
 * points to it (for mailbox_take), or NULL. */
Msg *mailbox_find(Mailbox *mb, int64_t filter, Msg ***link);
void mailbox_take(Mailbox *mb, Msg **link, Msg *m);
/* Removes a DOWN message of monitor ref; true if there was one. */
bool mailbox_drop_down(Mailbox *mb, int64_t ref, uint64_t *bytes);
/* Frees every message; returns the bytes they counted. */
uint64_t mailbox_clear(Mailbox *mb);
/* Frees a list of messages linked through next. */
void mailbox_free_list(Msg *m);

/* A monitor, seen from either end: the ref and the pid at the other. */
typedef struct Mon {
	int64_t ref, pid;
} Mon;

/* What few actors have: links, monitors and a name. Made on first use. */
typedef struct ActorExt {
	int64_t *links;
	Mon *watching; /* monitors this actor holds */
	Mon *watchers; /* monitors on this actor */
	uint32_t nlinks, caplinks, nwatching, capwatching, nwatchers,
		capwatchers;
	char *name;
	uint32_t name_len;
} ActorExt;

enum { ACTOR_FREE = 0, ACTOR_ALIVE, ACTOR_DEAD };
enum { WAIT_NO = 0, WAIT_TIMED, WAIT_FOREVER };

/* One slot of the pid table. Slots never move: a pointer to one stays
 * valid for the system's life, and its pid says whom it holds now. */
typedef struct Actor {
	atomic_uchar lock;
	uint8_t state;	   /* ACTOR_* */
	uint8_t wait;	   /* WAIT_*: parked in receive */
	uint8_t trap_exit; /* exit signals become EXIT messages */
	/* An exit signal asked it to end, with end_reason: read without the
	 * lock by the scheduler at slice boundaries. */
	atomic_bool end_req;
	int32_t end_reason;
	int64_t pid;
	myr_instance *inst; /* NULL for the host */
	Mailbox mb;
	int64_t filter;	   /* what a parked receive waits for */
	uint64_t deadline; /* a timed receive's end, CLOCK_MONOTONIC ns */
	ActorExt *ext;
	struct myr_actors *sys;
	uint32_t slot;	    /* its index in the table */
	uint32_t next_free; /* free list (slot + 1), while ACTOR_FREE */
} Actor;

/* engine.c: the actor limits' defaults, for fields left at 0. */
void actor_config_default(myr_config *cfg);

/* sched.c, at a slice boundary: an exit signal wants the actor ended. */
static inline bool actor_end_requested(const myr_instance *inst)
{
	return atomic_load_explicit(&inst->actor->end_req,
				    memory_order_acquire);
}
/* Prepares the instance's Exec to end by that signal (a trap record). */
void actor_mark_signalled(myr_instance *inst);
/* The instance's run ended (status DONE, EXITED or TRAPPED): the actor
 * ends, its links and monitors hear of it, its instance is freed. */
void actor_finished(myr_instance *inst, myr_status status);

#endif
