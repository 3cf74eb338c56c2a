/* Publish/subscribe through a registered broker. The broker registers the
 * name "broker"; subscribers and the publisher find it with whereis, never
 * by being handed its pid. The broker monitors each subscriber and forgets
 * one when its DOWN message arrives.
 *
 * Subscriber 0 and 1 follow "news", 2 follows "weather", 3 follows "news"
 * but leaves after its first message: what is published to it afterwards
 * is dropped, as a send to an actor that has ended is.
 *
 *   myriad run pubsub.wasm
 */
#include <myriad_actor.h>
#include <stdio.h>
#include <stdlib.h>

enum { SUBSCRIBE = 1, SUBSCRIBED, PUBLISH, EVENT, CLOSE, READY, REPORT };
enum { SUBSCRIBERS = 4, MAX_SUBS = 16, TOPIC = 16, TEXT = 64 };

struct subscription {
	char topic[TOPIC];
};
struct publication {
	char topic[TOPIC];
	char text[TEXT];
};
struct start {
	int32_t index;
	int32_t max_events; /* leave after this many events (0: no limit) */
	char topic[TOPIC];
};

static myr_pid broker_pid(void)
{
	myr_pid b = myr_whereis_str("broker");
	if (b == 0) {
		fprintf(stderr, "pubsub: no broker registered\n");
		exit(1);
	}
	return b;
}

MYR_ENTRY(broker)
{
	struct {
		myr_pid pid;
		int64_t ref;
		char topic[TOPIC];
	} subs[MAX_SUBS];
	int nsubs = 0;
	myr_msg_info info;
	myr_pid parent;
	myr_receive_i64(MYR_ANY, &parent, MYR_FOREVER, &info);
	if (myr_register_str("broker") != 0)
		return;
	myr_send_empty(parent, READY);

	for (;;) {
		unsigned char buf[sizeof(struct publication)];
		int32_t n = myr_receive(MYR_ANY, buf, sizeof buf, MYR_FOREVER,
					&info);
		if (n < 0 || (size_t)n > sizeof buf)
			continue;
		if (info.tag == SUBSCRIBE && nsubs < MAX_SUBS) {
			struct subscription s;
			memcpy(&s, buf, sizeof s);
			subs[nsubs].pid = info.sender;
			subs[nsubs].ref = myr_monitor(info.sender);
			memcpy(subs[nsubs].topic, s.topic, TOPIC);
			nsubs++;
			myr_send_empty(info.sender, SUBSCRIBED);
		} else if (info.tag == PUBLISH) {
			struct publication p;
			memcpy(&p, buf, sizeof p);
			for (int i = 0; i < nsubs; i++)
				if (strcmp(subs[i].topic, p.topic) == 0)
					myr_send(subs[i].pid, EVENT, p.text,
						 strlen(p.text));
		} else if (info.tag == MYR_TAG_DOWN) {
			myr_down_msg d;
			if (!myr_decode_down(buf, n, &d))
				continue;
			for (int i = 0; i < nsubs; i++)
				if (subs[i].ref == d.ref)
					subs[i] = subs[--nsubs];
		} else if (info.tag == CLOSE) {
			for (int i = 0; i < nsubs; i++)
				myr_send_empty(subs[i].pid, CLOSE);
			return;
		}
	}
}

MYR_ENTRY(subscriber)
{
	struct start st;
	myr_msg_info info;
	if (myr_receive(MYR_ANY, &st, sizeof st, MYR_FOREVER, &info) !=
	    (int32_t)sizeof st)
		return;
	myr_pid parent = info.sender;
	struct subscription s;
	memcpy(s.topic, st.topic, TOPIC);
	myr_send(broker_pid(), SUBSCRIBE, &s, sizeof s);
	char buf[TEXT + 1];
	myr_receive(SUBSCRIBED, buf, sizeof buf, MYR_FOREVER, &info);
	myr_send_empty(parent, READY);

	char report[256];
	int len = snprintf(report, sizeof report,
			   "subscriber %d (%s):", (int)st.index, st.topic);
	int events = 0;
	for (;;) {
		int32_t n = myr_receive_str(MYR_ANY, buf, sizeof buf,
					    MYR_FOREVER, &info);
		if (n < 0 || info.tag == CLOSE)
			break;
		if (info.tag != EVENT || n >= (int32_t)sizeof buf)
			continue;
		len += snprintf(report + len, sizeof report - (size_t)len,
				"%s %s", events ? "," : "", buf);
		if (++events == st.max_events)
			break;
	}
	myr_send_str(parent, REPORT, report);
}

static void publish(const char *topic, const char *text)
{
	struct publication p = {{0}, {0}};
	snprintf(p.topic, sizeof p.topic, "%s", topic);
	snprintf(p.text, sizeof p.text, "%s", text);
	myr_send(broker_pid(), PUBLISH, &p, sizeof p);
}

int main(void)
{
	static const struct start subs[SUBSCRIBERS] = {
		{0, 0, "news"},
		{1, 0, "news"},
		{2, 0, "weather"},
		{3, 1, "news"},
	};
	myr_msg_info info;
	char buf[256];

	myr_pid broker = myr_spawn_i64("broker", myr_self(), MYR_SPAWN_MONITOR);
	myr_receive(READY, buf, sizeof buf, MYR_FOREVER, &info);
	if (myr_register_str("broker") != 0)
		puts("register \"broker\" again: taken");

	myr_pid pids[SUBSCRIBERS];
	for (int i = 0; i < SUBSCRIBERS; i++)
		pids[i] = myr_spawn_entry("subscriber", &subs[i],
					  sizeof subs[i], 0);
	for (int i = 0; i < SUBSCRIBERS; i++)
		myr_receive(READY, buf, sizeof buf, MYR_FOREVER, &info);

	publish("news", "markets up");
	publish("weather", "rain");
	publish("news", "election");
	publish("sports", "nobody listens");
	publish("news", "markets down");
	publish("weather", "sun");
	myr_send_empty(broker_pid(), CLOSE);

	/* Reports arrive in any order; print them in the subscribers'. */
	char reports[SUBSCRIBERS][256] = {{0}};
	for (int got = 0; got < SUBSCRIBERS; got++) {
		int32_t n = myr_receive_str(REPORT, buf, sizeof buf,
					    MYR_FOREVER, &info);
		for (int i = 0; i < SUBSCRIBERS; i++)
			if (pids[i] == info.sender && n < (int32_t)sizeof buf)
				memcpy(reports[i], buf, (size_t)n + 1);
	}
	for (int i = 0; i < SUBSCRIBERS; i++)
		puts(reports[i]);

	/* The broker has ended: its name is free again. */
	myr_down_msg d;
	int32_t n =
		myr_receive(MYR_TAG_DOWN, buf, sizeof buf, MYR_FOREVER, &info);
	if (myr_decode_down(buf, n, &d) && d.pid == broker)
		printf("broker ended: %s; whereis(\"broker\") = %lld\n",
		       myr_reason_name(d.reason),
		       (long long)myr_whereis_str("broker"));
	return 0;
}
