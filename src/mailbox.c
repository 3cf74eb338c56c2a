/*
 * Mailboxes: a singly linked FIFO of messages, each one allocation of
 * header and payload. An empty mailbox owns nothing. The owner's lock
 * (actor.c) protects it; nothing here locks.
 *
 * Selective receive walks from the oldest message, so a receive that
 * skips k messages costs k steps, as in Erlang.
 */
#include "actor.h"

Msg *msg_new(int64_t from, int64_t tag, const void *data, uint32_t len)
{
	Msg *m = malloc(sizeof *m + (len <= MSG_SMALL ? MSG_SMALL : len));
	if (!m)
		return NULL;
	m->next = NULL;
	m->from = from;
	m->tag = tag;
	m->len = len;
	if (len)
		memcpy(m->data, data, len);
	return m;
}

void mailbox_put(Mailbox *mb, Msg *m)
{
	m->next = NULL;
	if (mb->tail)
		mb->tail->next = m;
	else
		mb->head = m;
	mb->tail = m;
	mb->bytes += (uint64_t)m->len + MSG_OVERHEAD;
}

Msg *mailbox_find(Mailbox *mb, int64_t filter, Msg ***link)
{
	Msg **l = &mb->head;
	for (Msg *m = mb->head; m; l = &m->next, m = m->next)
		if (filter == 0 || m->tag == filter) {
			*link = l;
			return m;
		}
	return NULL;
}

/* `next` is a Msg's first member, so a link that is not the head is the
 * message before. */
void mailbox_take(Mailbox *mb, Msg **link, Msg *m)
{
	*link = m->next;
	if (mb->tail == m)
		mb->tail = link == &mb->head ? NULL : (Msg *)(void *)link;
	mb->bytes -= (uint64_t)m->len + MSG_OVERHEAD;
}

bool mailbox_drop_down(Mailbox *mb, int64_t ref, uint64_t *bytes)
{
	Msg **l = &mb->head;
	for (Msg *m = mb->head; m; l = &m->next, m = m->next) {
		int64_t r;
		if (m->tag != MYR_TAG_DOWN || m->len < 8)
			continue;
		memcpy(&r, m->data, 8);
		if (r != ref)
			continue;
		*bytes = (uint64_t)m->len + MSG_OVERHEAD;
		mailbox_take(mb, l, m);
		free(m);
		return true;
	}
	return false;
}

uint64_t mailbox_clear(Mailbox *mb)
{
	uint64_t bytes = mb->bytes;
	mailbox_free_list(mb->head);
	mb->head = mb->tail = NULL;
	mb->bytes = 0;
	return bytes;
}

void mailbox_free_list(Msg *m)
{
	while (m) {
		Msg *next = m->next;
		free(m);
		m = next;
	}
}
