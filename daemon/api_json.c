/*
 * api_json.c - JSON output of the API.  Only numbers and strings we
 * produce ourselves go out; strings are escaped all the same.
 */
#include "api_json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(struct sbuf *b)
{
	memset(b, 0, sizeof *b);
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	sb_init(b);
}

static int sb_reserve(struct sbuf *b, size_t more)
{
	if (b->oom)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sb_json_str(struct sbuf *b, const char *s)
{
	sb_printf(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			sb_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			sb_printf(b, "\\u%04x", ch);
		else
			sb_printf(b, "%c", ch);
	}
	sb_printf(b, "\"");
}

void json_conn(struct sbuf *b, const struct tcp_conn_info *i, long long uid, const char *local,
	       const char *remote, const char *via, const char *end)
{
	sb_printf(b, "{\"id\":%" PRIu64 ",\"state\":", i->id);
	sb_json_str(b, tcp_state_name(i->state));
	sb_printf(b, ",\"local\":");
	sb_json_str(b, local);
	sb_printf(b, ",\"remote\":");
	sb_json_str(b, remote);
	if (uid >= 0)
		sb_printf(b, ",\"uid\":%lld", uid);
	sb_printf(b,
		  ",\"send_queue\":%" PRIu32 ",\"recv_queue\":%" PRIu32 ",\"snd_wnd\":%" PRIu32
		  ",\"rcv_wnd\":%" PRIu32 ",\"mss\":%" PRIu32 ",\"cwnd\":%" PRIu32 ",\"ssthresh\":%" PRIu32
		  ",\"srtt_us\":%" PRIu64 ",\"rttvar_us\":%" PRIu64 ",\"rto_us\":%" PRIu64
		  ",\"retransmits\":%" PRIu64 ",\"bytes_sent\":%" PRIu64 ",\"bytes_acked\":%" PRIu64
		  ",\"bytes_received\":%" PRIu64 ",\"segs_in\":%" PRIu64 ",\"segs_out\":%" PRIu64
		  ",\"snd_wscale\":%u,\"rcv_wscale\":%u,\"sack\":%s,\"timestamps\":%s,\"nodelay\":%s,\"keepalive\":%s,\"cc\":",
		  i->send_queue, i->recv_queue, i->snd_wnd, i->rcv_wnd, i->mss, i->cwnd, i->ssthresh,
		  (uint64_t)i->srtt, (uint64_t)i->rttvar, (uint64_t)i->rto, i->retransmits, i->bytes_sent,
		  i->bytes_acked, i->bytes_received, i->segs_in, i->segs_out, i->snd_wscale, i->rcv_wscale,
		  i->sack_ok ? "true" : "false", i->ts_ok ? "true" : "false",
		  i->nodelay ? "true" : "false", i->keepalive ? "true" : "false");
	sb_json_str(b, i->cc_name ? i->cc_name : "");
	sb_printf(b, ",\"snd_buf\":%" PRIu32 ",\"snd_buf_limit\":%" PRIu32 ",\"rcv_buf\":%" PRIu32
		  ",\"rcv_buf_limit\":%" PRIu32, i->snd_buf_alloc, i->snd_buf_limit, i->rcv_buf_alloc,
		  i->rcv_buf_limit);
	if (i->pmtu)
		sb_printf(b, ",\"pmtu\":%" PRIu32, i->pmtu);
	if (i->pacing_rate) {
		sb_printf(b, ",\"pacing_rate\":%" PRIu64 ",\"model_bw\":%" PRIu64
			  ",\"model_min_rtt_us\":%" PRIu64 ",\"cc_state\":",
			  i->pacing_rate, i->model_bw, (uint64_t)i->model_min_rtt);
		sb_json_str(b, i->cc_state);
	}
	if (i->error_kind) {
		char t[160];
		conn_error_text(i, t, sizeof t);
		sb_printf(b, ",\"error\":");
		sb_json_str(b, t);
	}
	/* TCP-AO (RFC 5925): the KeyID we send with, the RNextKeyID we ask for */
	if (i->ao)
		sb_printf(b, ",\"ao\":{\"keyid\":%u,\"rnextkeyid\":%u}", i->ao_send_id, i->ao_recv_id);
	if (via) {
		sb_printf(b, ",\"via\":");
		sb_json_str(b, via);
	}
	if (end) {
		sb_printf(b, ",\"end\":");
		sb_json_str(b, end);
	}
	sb_printf(b, "}");
}

void conn_error_text(const struct tcp_conn_info *i, char *buf, size_t len)
{
	if (!i->error_kind) {
		snprintf(buf, len, "%s", "");
		return;
	}
	const char *what = tcp_icmp_name((enum tcp_icmp_kind)i->error_kind);
	if (i->error_local)
		snprintf(buf, len, "%s (send: %s)", what, i->error_errno ? strerror(i->error_errno) : "failed");
	else
		snprintf(buf, len, "%s (ICMP)", what);
}

void json_tcp_stats(struct sbuf *b, const struct tcp_stats *s)
{
#define S(name) sb_printf(b, "%s\"" #name "\":%" PRIu64, first ? "" : ",", s->name), first = 0
	int first = 1;
	sb_printf(b, "{");
	S(ActiveOpens); S(PassiveOpens); S(AttemptFails); S(EstabResets); S(CurrEstab);
	S(InSegs); S(OutSegs); S(RetransSegs); S(InErrs); S(OutRsts);
	S(DropMalformed); S(DropNoConn); S(DropOutOfWindow); S(DropBadAck); S(DropPaws);
	S(DropListenOverflow); S(DropRcvBufFull); S(ChallengeAcks); S(ChallengeAcksSuppressed);
	S(FastRetransmits); S(Timeouts); S(DelayedAcks); S(SackRecoveries); S(ZeroWindowProbes);
	S(KeepAlives); S(AckSkippedPaws); S(AckSkippedSeq); S(AckSkippedChallenge);
	S(AckSkippedTimeWait);
	S(RackLost); S(TlpProbes); S(TlpRecoveries); S(HystartCss);
	S(PacingDelays);
	S(IcmpIn); S(IcmpAborts); S(IcmpSoft); S(IcmpMssLowered); S(IcmpIgnored);
	S(DropAoMissing); S(DropAoNoKey); S(DropAoBadMac); S(AoKeyChanges);
	S(DropListenDenied);
	S(SyncookiesSent); S(SyncookiesRecv); S(SyncookiesFailed); S(DropSynRate);
	S(TimeWaitRecycled); S(TimeWaitReused); S(NoMemory);
	sb_printf(b, "}");
#undef S
}
