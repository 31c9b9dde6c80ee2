/*
 * usage.c - live connections per daemon, per local uid and per peer
 * address (usage.h): one small table of counts under one mutex.  The
 * entries are few (one per active user and per peer address), so a
 * linear search is enough; an entry goes when its count reaches 0.
 */
#include "usage.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { BY_UID, BY_PEER };

struct usage_entry {
	int kind;
	long long uid;                  /* BY_UID */
	int family;                     /* BY_PEER: 4 or 6 */
	uint8_t addr[16];
	unsigned n;
};

struct usage {
	pthread_mutex_t mu;
	unsigned total;
	struct usage_entry *e;
	unsigned n, cap;
};

struct usage *usage_new(void)
{
	struct usage *u = calloc(1, sizeof *u);
	if (u && pthread_mutex_init(&u->mu, NULL) != 0) {
		free(u);
		return NULL;
	}
	return u;
}

void usage_free(struct usage *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->mu);
	free(u->e);
	free(u);
}

static int same(const struct usage_entry *e, int kind, long long uid, const struct tcp_endpoint *p)
{
	if (e->kind != kind)
		return 0;
	if (kind == BY_UID)
		return e->uid == uid;
	return e->family == p->family && memcmp(e->addr, p->addr, p->family == 6 ? 16 : 4) == 0;
}

/* With u->mu held. */
static struct usage_entry *find(struct usage *u, int kind, long long uid, const struct tcp_endpoint *p)
{
	for (unsigned i = 0; i < u->n; i++)
		if (same(&u->e[i], kind, uid, p))
			return &u->e[i];
	return NULL;
}

/* With u->mu held: count one more or one less for that key. */
static int bump(struct usage *u, int kind, long long uid, const struct tcp_endpoint *p, int delta)
{
	struct usage_entry *e = find(u, kind, uid, p);
	if (!e) {
		if (delta < 0)
			return 0; /* its start was not counted (out of memory then) */
		if (u->n == u->cap) {
			unsigned cap = u->cap ? u->cap * 2 : 64;
			struct usage_entry *ne = realloc(u->e, cap * sizeof *ne);
			if (!ne)
				return -1;
			u->e = ne;
			u->cap = cap;
		}
		e = &u->e[u->n++];
		memset(e, 0, sizeof *e);
		e->kind = kind;
		e->uid = uid;
		if (kind == BY_PEER) {
			e->family = p->family;
			memcpy(e->addr, p->addr, p->family == 6 ? 16 : 4);
		}
	}
	if (delta > 0) {
		e->n++;
		return 0;
	}
	if (--e->n == 0)
		*e = u->e[--u->n]; /* the last takes its place */
	return 0;
}

int usage_add(struct usage *u, long long uid, const struct tcp_endpoint *peer, int delta)
{
	if (!u)
		return 0;
	pthread_mutex_lock(&u->mu);
	int r = 0;
	if (delta > 0)
		u->total++;
	else if (u->total)
		u->total--;
	if (uid >= 0)
		r |= bump(u, BY_UID, uid, NULL, delta);
	r |= bump(u, BY_PEER, 0, peer, delta);
	pthread_mutex_unlock(&u->mu);
	return r ? -1 : 0;
}

unsigned usage_total(struct usage *u)
{
	if (!u)
		return 0;
	pthread_mutex_lock(&u->mu);
	unsigned n = u->total;
	pthread_mutex_unlock(&u->mu);
	return n;
}

static unsigned count(struct usage *u, int kind, long long uid, const struct tcp_endpoint *p)
{
	if (!u)
		return 0;
	pthread_mutex_lock(&u->mu);
	const struct usage_entry *e = find(u, kind, uid, p);
	unsigned n = e ? e->n : 0;
	pthread_mutex_unlock(&u->mu);
	return n;
}

unsigned usage_uid(struct usage *u, long long uid)
{
	return count(u, BY_UID, uid, NULL);
}

unsigned usage_peer(struct usage *u, const struct tcp_endpoint *peer)
{
	return count(u, BY_PEER, 0, peer);
}
