/*
 * tcp_winmax.c - the windowed running maximum of tcp_winmax.h.
 */
#include "tcp_winmax.h"

void tcp_winmax_reset(struct tcp_winmax *m, uint64_t t, uint64_t v)
{
	for (int i = 0; i < 3; i++) {
		m->s[i].t = t;
		m->s[i].v = v;
	}
}

uint64_t tcp_winmax_update(struct tcp_winmax *m, uint64_t win, uint64_t t, uint64_t v)
{
	/* A new maximum, or a window that no longer holds any kept sample,
	 * starts over from this sample alone. */
	if (v >= m->s[0].v || t - m->s[2].t > win) {
		tcp_winmax_reset(m, t, v);
		return v;
	}
	/* Otherwise it replaces the kept samples it beats: the runners-up
	 * are the best of successively later parts of the window. */
	if (v >= m->s[1].v) {
		m->s[1].t = m->s[2].t = t;
		m->s[1].v = m->s[2].v = v;
	} else if (v >= m->s[2].v) {
		m->s[2].t = t;
		m->s[2].v = v;
	}
	uint64_t age = t - m->s[0].t;
	if (age > win) {
		/* the best sample left the window: the runners-up move up
		 * (twice if the second one is too old as well) */
		m->s[0] = m->s[1];
		m->s[1] = m->s[2];
		m->s[2].t = t;
		m->s[2].v = v;
		if (t - m->s[0].t > win) {
			m->s[0] = m->s[1];
			m->s[1] = m->s[2];
		}
	} else if (m->s[1].t == m->s[0].t && age > win / 4) {
		/* a quarter of the window passed with a single best: keep a
		 * fresher runner-up */
		m->s[1].t = m->s[2].t = t;
		m->s[1].v = m->s[2].v = v;
	} else if (m->s[2].t == m->s[1].t && age > win / 2) {
		m->s[2].t = t;
		m->s[2].v = v;
	}
	return m->s[0].v;
}
