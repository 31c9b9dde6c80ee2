/*
 * fifo.h - an intrusive FIFO: the queued objects embed a struct fifo_link.
 * The bridges' ready queue, a listener's accept queue and its waiting
 * ACCEPT clients.
 */
#ifndef TOUD_FIFO_H
#define TOUD_FIFO_H

#include <stddef.h>

struct fifo_link {
	struct fifo_link *next;
};

struct fifo {
	struct fifo_link *head, *tail;
	unsigned len;
};

/* The object a (non-NULL) link is embedded in. */
#define FIFO_ENTRY(link, type, member) ((type *)(void *)((char *)(link) - offsetof(type, member)))

static inline void fifo_push(struct fifo *f, struct fifo_link *x)
{
	x->next = NULL;
	if (f->tail)
		f->tail->next = x;
	else
		f->head = x;
	f->tail = x;
	f->len++;
}

static inline struct fifo_link *fifo_pop(struct fifo *f)
{
	struct fifo_link *x = f->head;
	if (!x)
		return NULL;
	f->head = x->next;
	if (!f->head)
		f->tail = NULL;
	x->next = NULL;
	f->len--;
	return x;
}

/* Takes x out of f; 1 if it was queued there, else 0. */
static inline int fifo_remove(struct fifo *f, struct fifo_link *x)
{
	struct fifo_link *prev = NULL;
	for (struct fifo_link **pp = &f->head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != x)
			continue;
		*pp = x->next;
		if (f->tail == x)
			f->tail = prev;
		x->next = NULL;
		f->len--;
		return 1;
	}
	return 0;
}

#endif
