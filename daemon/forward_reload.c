/*
 * forward_reload.c - SIGHUP for [forward] and [service] (forward.h
 * forward_reload): the sections of the new configuration against the
 * running entries, by kind and name.  Unchanged: untouched; changed but
 * listening where it did: changed in place (new settings for new
 * connections); listening elsewhere: the old entry retired (its live
 * connections go on) and a new one opened with its counters; gone:
 * retired; new: opened.  The entries themselves are forward.c's.
 */
#include <string.h>

#include "forward_int.h"
#include "log.h"

/* A changed section that listens where it did: the new settings apply to
 * new connections (a forward's resolution, options and ao; a service's
 * target, allow list, ao and limit); the live ones keep theirs. */
static int entry_update(struct fwd_entry *e, const struct fwd_forward_conf *f, const struct fwd_service_conf *s)
{
	if (f) {
		log_notice("%s: changed: to %s -> %s%s%s%s (for new connections)", e->via, e->f.to_text, f->to_text,
			   f->nodelay == 1 ? ", nodelay" : "", f->keepalive == 1 ? ", keepalive" : "",
			   f->ao_required ? ", TCP-AO" : "");
		e->f = *f;
		return 0;
	}
	struct fwd_service_conf old = e->s;
	e->s = *s;
	int r = fwd_service_policy(e);
	if (r != 0) {
		e->s = old;
		if (fwd_service_policy(e) != 0)
			log_err("%s: cannot restore its allow list and ao", e->via);
		log_err("%s: changed settings refused by the engine (%s); keeping the running ones", e->via,
			tcp_strerror(r));
		return -1;
	}
	log_notice("%s: changed: to %s, allow %s%s (for new connections)", e->via, e->s.to_text,
		   e->s.n_allow ? e->s.allow_text : "anyone", e->s.ao_required ? ", TCP-AO required" : "");
	return 0;
}

/* The running configured entry of that kind and name, or NULL. */
static struct fwd_entry *find_configured(struct fwd_set *fs, int is_service, const char *name)
{
	for (struct fwd_entry *e = fs->entries; e; e = e->next)
		if (!e->retired && !e->from_api && e->is_service == is_service && strcmp(fwd_entry_name(e), name) == 0)
			return e;
	return NULL;
}

/* One section of the new configuration against the running entries:
 * 0 (*changed counts it if it was added or changed), or 1 when it could
 * not start (logged). */
static int reload_one(struct fwd_set *fs, const struct fwd_forward_conf *f, const struct fwd_service_conf *s,
		      int *changed)
{
	int svc = s != NULL;
	struct fwd_entry *old = find_configured(fs, svc, svc ? s->name : f->name);
	if (old && !(svc ? fwd_service_differs(&old->s, s) : fwd_forward_differs(&old->f, f)))
		return 0; /* unchanged: not touched */
	if (old && (svc ? old->s.port == s->port : strcmp(old->f.listen_text, f->listen_text) == 0)) {
		if (entry_update(old, f, s) != 0)
			return 1;
		(*changed)++;
		return 0;
	}
	struct fwd_entry *e = fwd_entry_new(fs, f, s, -1);
	if (!e) {
		log_err("reload: [%s %s]: out of memory; not started", svc ? "service" : "forward",
			svc ? s->name : f->name);
		return 1;
	}
	if (old) { /* it listens elsewhere now: a new entry, the same counters */
		e->connections = old->connections;
		e->refused = old->refused;
		e->bytes_out = old->bytes_out;
		e->bytes_in = old->bytes_in;
		fwd_entry_retire(old, "changed where it listens");
	}
	char err[400];
	if (fwd_entry_open(e, err, sizeof err) != 0) {
		log_err("reload: %s; not started (the next reload tries again)", err);
		fwd_entry_discard(e);
		return 1;
	}
	(*changed)++;
	return 0;
}

int forward_reload(struct toud *d, int *changed)
{
	struct fwd_set *fs = d->fwd;
	const struct fwd_conf *fc = &d->cfg.fwd;
	if (!fs || fs->stopped)
		return 0;
	/* first the removed sections: their addresses may be reused below */
	for (struct fwd_entry *e = fs->entries, *next; e; e = next) {
		next = e->next; /* fwd_entry_retire may free e */
		if (e->retired || e->from_api)
			continue;
		int found = 0;
		for (unsigned i = 0; i < (e->is_service ? fc->n_service : fc->n_forward) && !found; i++)
			found = strcmp(e->is_service ? fc->service[i].name : fc->forward[i].name, fwd_entry_name(e)) == 0;
		if (!found) {
			fwd_entry_retire(e, "removed from the configuration");
			(*changed)++;
		}
	}
	int failed = 0;
	for (unsigned i = 0; i < fc->n_forward; i++)
		failed += reload_one(fs, &fc->forward[i], NULL, changed);
	for (unsigned i = 0; i < fc->n_service; i++)
		failed += reload_one(fs, NULL, &fc->service[i], changed);
	return failed;
}

