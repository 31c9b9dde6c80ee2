#!/usr/bin/env python3
"""rfcpeer - a scripted RFC 9293 peer that talks to a real toud.

It sends hand-crafted TCP segments in UDP datagrams (docs/DESIGN.md section 3) to
toud and asserts the exact answers (flags, SEQ, ACK, options), while it drives
the daemon's side through the Unix-socket API (LISTEN, ACCEPT, CONNECT,
STATUS, LIST, STATS).  Each scenario is a named check:

    ok NAME
    FAIL NAME: expected ..., got ...
    N passed, N failed

Exit status 0 only if every check passed.  Standard library only.

"Nothing is sent" is checked without timing: after the segment under test,
a sentinel (a bare ACK to a TCP port nobody listens on) is sent from the same
UDP socket; toud must answer the sentinel with <SEQ=SEG.ACK><CTL=RST> and
nothing for the connection under test may arrive before that RST.  With
several engine shards (docs/DESIGN.md section 5.8), which steer a datagram
by (TCP source port ^ TCP destination port) % shards, the sentinel goes to
a closed port that gives the shard of the connection under test, which
handles both in order.

Usage: rfcpeer.py --udp 127.0.0.1:PORT --api /path/toud.sock [--only NAME,...]
"""

import argparse
import os
import random
import socket
import struct
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tcpseg as T  # noqa: E402
from tcpseg import ACK, FIN, PSH, RST, SYN, seq_add  # noqa: E402
from toudapi import Api, ApiError  # noqa: E402

MSS_DEFAULT = 1452          # docs/DESIGN.md section 3: 1500 - 20 (IP) - 8 (UDP) - 20 (TCP)
SENTINEL_PORT = 9           # the sentinels' TCP ports, on which toud has no listener:
SENTINEL_LAST = 1008        # SENTINEL_PORT .. SENTINEL_LAST (Peer.sentinel_port)
RECV_TIMEOUT = 5.0          # generous: loopback answers take microseconds
# Segments that draw an ACK although unacceptable (challenge ACKs, keep-alives,
# out-of-window data) are answered at most once per 500 ms per connection
# (RFC 5961 section 7; tou and Linux: tcp_invalid_ratelimit): space them more.
CHALLENGE_SPACING = 0.55


class Fail(Exception):
    pass


def is_sentinel(port):
    return SENTINEL_PORT <= port <= SENTINEL_LAST


def fmt_expect(seq=None, ack=None, flags=None, datalen=None):
    return T.describe(seq, ack, flags, datalen)


class Ctx:
    def __init__(self, args):
        self.toud = args.toud_addr
        self.toud6 = args.toud6_addr
        self.api = Api(args.api)
        self.port_next = args.port_base
        self.last_challenge = 0.0
        self.rng = random.Random(9293)
        self.peers = []
        self.cleanup = []
        try:
            self.shards = int(self.api.json("STATUS").get("threads", 1))
        except (ApiError, OSError, ValueError) as e:
            raise Fail("STATUS: %s" % e)

    def new_port(self):
        self.port_next += 1
        return self.port_next

    def pace_challenge(self):
        """Space out segments that provoke challenge ACKs (RFC 5961 section 7
        lets a stack rate-limit them) so that limiting cannot cause a false
        failure.  Not a timing assertion: only a pause before sending."""
        wait = self.last_challenge + CHALLENGE_SPACING - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last_challenge = time.monotonic()

    def peer(self, dport, sport=None, iss=100, family=socket.AF_INET):
        p = Peer(self, dport, sport or self.rng.randrange(20000, 60000), iss, family)
        self.peers.append(p)
        return p

    def listen(self, port):
        try:
            s = self.api.listen(port)
        except (ApiError, OSError) as e:
            raise Fail("LISTEN %d: %s" % (port, e))
        self.cleanup.append(s.close)
        return s

    def accept(self, port):
        try:
            st = self.api.accept(port)
        except (ApiError, OSError) as e:
            raise Fail("ACCEPT %d after the handshake: %s" % (port, e))
        self.cleanup.append(st.close)
        return st

    def status(self, cid):
        try:
            return self.api.status(cid)
        except (ApiError, OSError) as e:
            raise Fail("STATUS %d: %s" % (cid, e))

    def list(self):
        try:
            return self.api.list()
        except (ApiError, OSError) as e:
            raise Fail("LIST: %s" % e)

    def finish(self):
        for fn in reversed(self.cleanup):
            try:
                fn()
            except Exception:
                pass
        self.cleanup = []
        for p in self.peers:
            p.close()
        self.peers = []


class Peer:
    """One TCP endpoint of ours: its own UDP socket, so that toud keys every
    scenario's connection differently."""

    def __init__(self, ctx, dport, sport, iss, family=socket.AF_INET):
        self.ctx = ctx
        self.family = family
        self.u = socket.socket(family, socket.SOCK_DGRAM)
        self.u.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        self.udp_port = self.u.getsockname()[1]
        self.target = ctx.toud6 if family == socket.AF_INET6 else ctx.toud
        self.dport = dport
        self.sport = sport
        self.iss = iss
        self.snd_nxt = iss
        self.irs = None
        self.rcv_nxt = None
        self.ts_ok = False
        self.tsval = 1000
        self.ts_recent = 0
        self.win = 65535
        self.seen = set()
        self.log = []
        self.sentinel_ack = 0x5e000000

    def close(self):
        self.u.close()

    # -- sending
    def raw(self, data):
        self.u.sendto(data, self.target)

    def send(self, flags, seq=None, ack=None, data=b"", win=None, opts=None, sport=None,
             dport=None):
        if seq is None:
            seq = self.snd_nxt
        if ack is None:
            ack = self.rcv_nxt if (flags & ACK and self.rcv_nxt is not None) else 0
        if opts is None:
            opts = b""
            if self.ts_ok and not flags & RST:
                self.tsval += 1
                opts = T.opt_nop() + T.opt_nop() + T.opt_ts(self.tsval, self.ts_recent)
        seg = T.build(sport or self.sport, dport or self.dport, seq, ack, flags,
                      self.win if win is None else win, data, opts)
        self.log.append(">> " + fmt_expect(seq, ack if flags & ACK else None, flags,
                                           len(data) or None))
        self.raw(seg)

    # -- receiving
    def recv_any(self, timeout):
        """The next parsed segment from toud, or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.u.settimeout(left)
            try:
                data, addr = self.u.recvfrom(70000)
            except socket.timeout:
                return None
            except ConnectionRefusedError:
                raise Fail("toud's UDP port is closed (ICMP port unreachable): daemon gone?")
            try:
                s = T.Segment(data)
            except T.MalformedSegment as e:
                raise Fail("toud sent an unparsable segment (%s): %r" % (e, data[:60]))
            self.log.append("<< " + str(s))
            CSUMS.add(s.csum)
            if s.raw[12] & 0x0F:
                HEADER_ISSUES.append("reserved bits set: %s" % s)
            if s.urg and not s.flags & T.URG:
                HEADER_ISSUES.append("urgent pointer %d without URG: %s" % (s.urg, s))
            if s.flags & RST and s.data:
                HEADER_ISSUES.append("RST with data: %s" % s)
            if s.flags & SYN and s.flags & (FIN | RST):
                HEADER_ISSUES.append("SYN with FIN or RST: %s" % s)
            if not s.flags & (SYN | RST) and s.mss is not None:
                HEADER_ISSUES.append("MSS option outside a SYN: %s" % s)
            if not s.flags & SYN and (s.ws is not None or s.sackok):
                HEADER_ISSUES.append("WS or SACK-permitted outside a SYN: %s" % s)
            if not s.flags & ACK and not s.flags & RST and not s.flags == SYN:
                HEADER_ISSUES.append("a segment without ACK that is not a SYN or RST: %s" % s)
            return s

    def expect(self, what, pred=None, timeout=RECV_TIMEOUT):
        """The next segment of this connection.  A segment identical to one
        already received (a retransmission) is skipped unless pred accepts
        it; anything else is returned for the caller to judge."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            s = self.recv_any(max(left, 0))
            if s is None:
                raise Fail("expected %s, got nothing within %.0fs" % (what, timeout))
            if s.sport != self.dport or s.dport != self.sport:
                if is_sentinel(s.sport):
                    continue  # a late sentinel answer
                raise Fail("expected %s, got a segment for other ports: %s" % (what, s))
            if pred is not None and pred(s):
                self.remember(s)
                return s
            if self.is_retransmission(s):
                continue
            self.remember(s)
            return s

    def is_retransmission(self, s):
        """A segment that occupies sequence space (SYN, FIN, data) and was
        already received; pure ACKs are never retransmissions."""
        if not (s.flags & (SYN | FIN) or s.data):
            return False
        return (s.seq, s.flags & (SYN | FIN | RST), len(s.data)) in self.seen

    def remember(self, s):
        if s.flags & (SYN | FIN) or s.data:
            self.seen.add((s.seq, s.flags & (SYN | FIN | RST), len(s.data)))
        self.note_ts(s)

    def note_ts(self, s):
        if self.ts_ok and s.ts is not None:
            self.ts_recent = s.ts[0]

    def expect_seg(self, what, seq=None, ack=None, flags=None, datalen=None, timeout=RECV_TIMEOUT):
        """Expect a segment with exactly these fields (None = any)."""
        def match(s):
            return ((seq is None or s.seq == seq % T.MOD) and
                    (ack is None or s.ack == ack % T.MOD) and
                    (flags is None or s.flags == flags) and
                    (datalen is None or len(s.data) == datalen))
        exp = fmt_expect(seq, ack, flags, datalen)
        s = self.expect("%s %s" % (what, exp), match, timeout)
        if not match(s):
            raise Fail("expected %s %s, got %s" % (what, exp, s))
        return s

    def sentinel_port(self):
        """The first sentinel port whose datagrams toud steers to the shard
        of this connection's (see the module comment)."""
        n = self.ctx.shards
        for q in range(SENTINEL_PORT, SENTINEL_LAST + 1):
            if (self.sport ^ q) % n == (self.sport ^ self.dport) % n:
                return q
        raise Fail("no sentinel port for %d shards" % n)

    def expect_nothing(self, after, allowed=None):
        """Nothing for this connection may arrive before the answer to a
        sentinel sent now (see the module comment)."""
        self.sentinel_ack = (self.sentinel_ack + 7919) % T.MOD
        port = self.sentinel_port()
        seg = T.build(self.sport, port, 1, self.sentinel_ack, ACK, 1000)
        self.raw(seg)
        deadline = time.monotonic() + RECV_TIMEOUT
        while True:
            s = self.recv_any(max(deadline - time.monotonic(), 0))
            if s is None:
                raise Fail("no answer to the sentinel ACK sent to closed port %d after %s "
                           "(expected <SEQ=%d><CTL=RST>)" % (port, after, self.sentinel_ack))
            if is_sentinel(s.sport):
                if s.flags == RST and s.seq == self.sentinel_ack:
                    return
                continue  # answer to an earlier sentinel
            if self.is_retransmission(s) or (allowed is not None and allowed(s)):
                continue
            raise Fail("expected no reply to %s, got %s" % (after, s))

    # -- helpers for the usual handshake (toud passive)
    def handshake(self, syn_opts=None, data=b"", win=None, third_win=None):
        """SYN -> SYN,ACK -> ACK(+data).  Returns the SYN,ACK."""
        if syn_opts is None:
            syn_opts = T.opt_mss(MSS_DEFAULT)
        self.send(SYN, seq=self.iss, opts=syn_opts, win=win)
        sa = self.expect_seg("SYN,ACK", ack=self.iss + 1, flags=SYN | ACK)
        self.irs = sa.seq
        self.rcv_nxt = seq_add(sa.seq, 1)
        self.snd_nxt = seq_add(self.iss, 1)
        syn_ts = T.Segment(T.build(0, 0, 0, opts=syn_opts)).ts
        if syn_ts is not None and sa.ts is not None:
            self.tsval = syn_ts[0]  # later TSvals must not go backwards (PAWS)
            self.ts_ok = True
            self.ts_recent = sa.ts[0]
        self.send(ACK, data=data, win=third_win)
        self.snd_nxt = seq_add(self.snd_nxt, len(data))
        return sa

    def send_data(self, data, flags=ACK | PSH):
        self.send(flags, data=data)
        self.snd_nxt = seq_add(self.snd_nxt, len(data) + (1 if flags & FIN else 0))


def find_conn(ctx, peer):
    """The LIST entry of peer's connection (remote = 127.0.0.1:UDP/TCP)."""
    suffix = ":%d/%d" % (peer.udp_port, peer.sport)
    for c in ctx.list():
        if str(c.get("remote", "")).endswith(suffix):
            return c
    return None


def state_of(ctx, peer):
    c = find_conn(ctx, peer)
    return c.get("state") if c else None


def expect_state(ctx, peer, want, timeout=3.0):
    """LIST must show peer's connection in state want (polled, bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        st = state_of(ctx, peer)
        if st == want:
            return
        if time.monotonic() > deadline:
            raise Fail("expected LIST to show the connection in %s, got %s" % (want, st))
        time.sleep(0.05)


def expect_end(ctx, cid, want, timeout=5.0):
    """STATUS <id> must report end <want> (polled, bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        st = ctx.status(cid)
        if st.get("end") is not None:
            if st.get("end") != want:
                raise Fail("expected STATUS %d end \"%s\", got %s" % (cid, want, st.get("end")))
            return st
        if time.monotonic() > deadline:
            raise Fail("expected STATUS %d end \"%s\", got state %s without end" %
                       (cid, want, st.get("state")))
        time.sleep(0.05)


def established(ctx, syn_opts=None, data=b"hello"):
    """LISTEN + handshake (data on the third segment) + ACCEPT + read data."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    sa = p.handshake(syn_opts=syn_opts, data=data)
    st = ctx.accept(port)
    if data:
        got = st.recv_exact(len(data))
        if got != data:
            raise Fail("app expected %r from the third segment, got %r" % (data, got))
        # the data must be acknowledged (possibly after the delayed-ACK timer)
        p.expect_seg("ACK of the data", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    return p, st, sa


CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


# ---------------------------------------------------------------- closed ports
@check
def syn_closed_port(ctx):
    """RFC 9293 3.10.7.1: If the ACK bit is off, sequence number zero is used,
    <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>."""
    p = ctx.peer(ctx.new_port())
    p.send(SYN, seq=1000, opts=T.opt_mss(1452))
    p.expect_seg("reset", seq=0, ack=1001, flags=RST | ACK)


@check
def syn_data_closed_port(ctx):
    """SEG.LEN counts the SYN and the data: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>."""
    p = ctx.peer(ctx.new_port())
    p.send(SYN, seq=2000, data=b"0123456789")
    p.expect_seg("reset", seq=0, ack=2011, flags=RST | ACK)


@check
def fin_closed_port(ctx):
    """A FIN without ACK to a closed port: SEG.LEN counts the FIN."""
    p = ctx.peer(ctx.new_port())
    p.send(FIN, seq=3000)
    p.expect_seg("reset", seq=0, ack=3001, flags=RST | ACK)


@check
def ack_closed_port(ctx):
    """RFC 9293 3.10.7.1: If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>."""
    p = ctx.peer(ctx.new_port())
    p.send(ACK, seq=5000, ack=777777)
    p.expect_seg("reset", seq=777777, flags=RST)


@check
def rst_closed_port(ctx):
    """RFC 9293 3.10.7.1: An incoming segment containing a RST is discarded."""
    p = ctx.peer(ctx.new_port())
    p.send(RST, seq=6000)
    p.expect_nothing("RST to a closed port")
    p.send(RST | ACK, seq=6000, ack=1234)
    p.expect_nothing("RST,ACK to a closed port")


# ---------------------------------------------------------------- LISTEN
@check
def ack_to_listen(ctx):
    """RFC 9293 3.10.7.2: Any acknowledgment is bad if it arrives on a
    connection still in the LISTEN state ... <SEQ=SEG.ACK><CTL=RST>."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(ACK, seq=100, ack=4242)
    p.expect_seg("reset", seq=4242, flags=RST)


@check
def synack_to_listen(ctx):
    """A SYN,ACK to a listener is an ACK-bearing segment: <SEQ=SEG.ACK><CTL=RST>."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(SYN | ACK, seq=100, ack=99999)
    p.expect_seg("reset", seq=99999, flags=RST)


@check
def rst_to_listen(ctx):
    """RFC 9293 3.10.7.2: An incoming RST should be ignored."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(RST, seq=100)
    p.expect_nothing("RST to a LISTEN port")
    if state_of(ctx, p) is not None:
        raise Fail("RST to LISTEN created a connection: %s" % state_of(ctx, p))


@check
def fin_to_listen(ctx):
    """RFC 9293 3.10.7.2 fourth: Any other control or text-bearing segment
    (not containing SYN) must have an ACK and thus would have been discarded
    by the ACK processing ... drop the segment and return."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(FIN, seq=100)
    p.expect_nothing("FIN without ACK to a LISTEN port")


# ---------------------------------------------------------------- handshake
@check
def handshake_data_on_third(ctx):
    """RFC 9293 3.5 figure 6 (basic three-way handshake), our ISN 100; the
    third segment carries data.  SYN,ACK: <SEQ=ISS><ACK=101><CTL=SYN,ACK>
    with MSS 1452 (docs/DESIGN.md section 3)."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port, iss=100)
    p.send(SYN, seq=100, opts=T.opt_mss(1460))
    sa = p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)
    if sa.mss != MSS_DEFAULT:
        raise Fail("expected MSS %d on the SYN,ACK, got %s" % (MSS_DEFAULT, sa.opt_names()))
    if sa.win == 0:
        raise Fail("SYN,ACK advertises a zero window")
    p.irs, p.rcv_nxt, p.snd_nxt = sa.seq, seq_add(sa.seq, 1), 101
    p.send(ACK, data=b"hello")
    p.snd_nxt = 106
    st = ctx.accept(port)
    got = st.recv_exact(5)
    if got != b"hello":
        raise Fail("app expected b'hello' from the third segment, got %r" % got)
    a = p.expect_seg("ACK of the data", seq=p.rcv_nxt, ack=106, flags=ACK)
    if a.ts is not None:
        raise Fail("timestamps not negotiated (no TS on our SYN) but toud sent %s" % a)
    s = ctx.status(st.id)
    if s.get("state") != "ESTABLISHED":
        raise Fail("expected STATUS state ESTABLISHED, got %s" % s.get("state"))
    st.send(b"world")
    d = p.expect_seg("data from the app", seq=p.rcv_nxt, ack=106, datalen=5)
    if d.data != b"world" or not d.flags & ACK:
        raise Fail("expected <DATA=world> with ACK, got %s %r" % (d, d.data))


@check
def syn_ack_options_none(ctx):
    """A SYN without options: the SYN,ACK carries MSS 1452 and none of WS
    (RFC 7323 2.2: only if received on the SYN), SACK-permitted (RFC 2018)
    or TS (RFC 7323 3.2: MUST NOT send a TSopt on <SYN,ACK> unless received)."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(SYN, seq=100, opts=b"")
    sa = p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)
    names = sa.opt_names()
    if sa.mss != MSS_DEFAULT or sa.ws is not None or sa.sackok or sa.ts is not None:
        raise Fail("expected options exactly [MSS=%d], got %s" % (MSS_DEFAULT, names))


NEGOTIATED = {}


@check
def syn_ack_options_all(ctx):
    """A SYN with MSS, SACK-permitted, TS and WS: the SYN,ACK carries MSS 1452,
    SACK-permitted, WS, and TS with TSecr = our TSval (RFC 7323 4.2)."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    opts = T.opt_mss(1400) + T.opt_sackok() + T.opt_ts(12345, 0) + T.opt_nop() + T.opt_ws(7)
    p.send(SYN, seq=100, opts=opts)
    sa = p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)
    NEGOTIATED["toud SYN,ACK to a full SYN"] = " ".join(sa.opt_names()) + " win=%d" % sa.win
    problems = []
    if sa.mss != MSS_DEFAULT:
        problems.append("MSS=%s (want %d)" % (sa.mss, MSS_DEFAULT))
    if not sa.sackok:
        problems.append("no SACK-permitted")
    if sa.ws is None or sa.ws > 14:
        problems.append("WS=%s (want 0..14, RFC 7323 2.3)" % sa.ws)
    if sa.ts is None or sa.ts[1] != 12345:
        problems.append("TS=%s (want TSecr=12345)" % (sa.ts,))
    if problems:
        raise Fail("SYN,ACK options %s: %s" % (sa.opt_names(), "; ".join(problems)))


@check
def syn_ecn_not_negotiated(ctx):
    """RFC 3168 6.1.1: a SYN with ECE and CWR asks for ECN; a TCP that does
    not set ECE on its SYN,ACK has not agreed (toud does not implement ECN):
    the SYN,ACK carries exactly SYN,ACK and the connection works."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(SYN | T.ECE | T.CWR, seq=100, opts=T.opt_mss(1460))
    sa = p.expect("SYN,ACK", lambda s: bool(s.flags & SYN))
    if sa.flags & (T.ECE | T.CWR):
        # toud claims ECN: then it must be a proper ECN-setup SYN,ACK (ECE, no CWR)
        if sa.flags != SYN | ACK | T.ECE:
            raise Fail("expected <CTL=SYN,ACK> (or an ECN-setup SYN,ACK,ECE), got %s" % sa)
    elif sa.flags != SYN | ACK or sa.ack != 101:
        raise Fail("expected <ACK=101><CTL=SYN,ACK>, got %s" % sa)
    p.rcv_nxt, p.snd_nxt = seq_add(sa.seq, 1), 101
    p.send(ACK, data=b"ecn?")
    p.snd_nxt = 105
    st = ctx.accept(port)
    if st.recv_exact(4) != b"ecn?":
        raise Fail("the connection opened with an ECN SYN did not deliver data")


@check
def unknown_option_skipped(ctx):
    """docs/DESIGN.md section 3 / RFC 9293 3.1 (MUST-6): ignore an option it does not
    implement, assuming that the option has a length field."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    opts = bytes([253, 6, 0xde, 0xad, 0xbe, 0xef]) + T.opt_mss(1460)
    p.send(SYN, seq=100, opts=opts)
    p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)


@check
def old_duplicate_syn(ctx):
    """RFC 9293 3.5 figure 8 (recovery from old duplicate SYN): SYN 90 ->
    SYN,ACK ack 91 -> RST seq 91 -> back to LISTEN -> SYN 100 -> SYN,ACK
    ack 101 -> ACK -> ESTABLISHED."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(SYN, seq=90, opts=T.opt_mss(1460))
    sa1 = p.expect_seg("SYN,ACK to the old SYN", ack=91, flags=SYN | ACK)
    p.send(RST, seq=91)
    p.expect_nothing("<SEQ=91><CTL=RST> in SYN-RECEIVED")
    st = state_of(ctx, p)
    if st is not None:
        raise Fail("after the RST the embryonic connection should be gone (LISTEN), LIST shows %s" % st)
    p.send(SYN, seq=100, opts=T.opt_mss(1460))
    sa2 = p.expect_seg("SYN,ACK to SYN 100", ack=101, flags=SYN | ACK)
    p.rcv_nxt, p.snd_nxt = seq_add(sa2.seq, 1), 101
    p.send(ACK)
    stream = ctx.accept(port)
    s = ctx.status(stream.id)
    if s.get("state") != "ESTABLISHED":
        raise Fail("expected ESTABLISHED after SYN 100, got %s" % s.get("state"))
    del sa1


@check
def syn_received_bad_ack(ctx):
    """RFC 9293 3.10.7.4 fifth, SYN-RECEIVED: If the segment acknowledgment
    is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST> and send
    it.  The connection stays; the right ACK then completes it."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(SYN, seq=100, opts=T.opt_mss(1460))
    sa = p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)
    bad = seq_add(sa.seq, 5000)
    p.send(ACK, seq=101, ack=bad)
    p.expect_seg("reset for the unacceptable ACK", seq=bad, flags=RST)
    p.rcv_nxt, p.snd_nxt = seq_add(sa.seq, 1), 101
    p.send(ACK, data=b"late")
    p.snd_nxt = 105
    stream = ctx.accept(port)
    got = stream.recv_exact(4)
    if got != b"late":
        raise Fail("expected the connection to complete after the right ACK, app got %r" % got)


# ---------------------------------------------------------------- synchronized
@check
def est_syn_challenge_ack(ctx):
    """RFC 9293 3.10.7.4 fourth / RFC 5961 4.2: a SYN in a synchronized state,
    irrespective of the sequence number: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>;
    the connection stays ESTABLISHED."""
    p, st, _ = established(ctx)
    ctx.pace_challenge()
    p.send(SYN, seq=seq_add(p.snd_nxt, 1000), opts=T.opt_mss(1460))
    p.expect_seg("challenge ACK", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    s = ctx.status(st.id)
    if s.get("state") != "ESTABLISHED":
        raise Fail("after the challenge ACK expected ESTABLISHED, got %s" % s.get("state"))
    p.send_data(b"still")
    if st.recv_exact(5) != b"still":
        raise Fail("data after the challenge ACK was not delivered")


@check
def half_open_recovery(ctx):
    """RFC 9293 3.5 figure 10 with RFC 5961: the peer 'crashed' and sends a
    SYN with a new ISN; toud answers <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>;
    the peer answers <SEQ=SEG.ACK><CTL=RST>; toud aborts (end "reset") and
    the next SYN opens a new connection."""
    p, st, _ = established(ctx)
    ctx.pace_challenge()
    new_isn = seq_add(p.snd_nxt, 3000000)
    p.send(SYN, seq=new_isn, opts=T.opt_mss(1460))
    a = p.expect_seg("challenge ACK to the new SYN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    p.send(RST, seq=a.ack)
    p.expect_nothing("the RST answering the challenge ACK")
    expect_end(ctx, st.id, "reset")
    p.send(SYN, seq=new_isn, opts=T.opt_mss(1460))
    p.expect_seg("SYN,ACK for the new connection", ack=seq_add(new_isn, 1), flags=SYN | ACK)


@check
def est_data_out_of_window(ctx):
    """RFC 9293 3.10.7.4 first: If an incoming segment is not acceptable, an
    acknowledgment should be sent in reply <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>;
    the data is dropped."""
    p, st, sa = established(ctx)
    ctx.pace_challenge()
    p.send(ACK | PSH, seq=seq_add(p.snd_nxt, 200000), data=b"far away")
    p.expect_seg("ACK for the out-of-window segment", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    p.send_data(b"near")
    got = st.recv_exact(4)
    if got != b"near":
        raise Fail("expected the app to get b'near' only, got %r" % got)


@check
def est_old_duplicate_data(ctx):
    """A wholly old (duplicate) segment is not acceptable: ACK it with
    <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and drop it."""
    p, st, sa = established(ctx)
    ctx.pace_challenge()
    p.send(ACK | PSH, seq=seq_add(p.snd_nxt, -5), data=b"hello")
    p.expect_seg("ACK for the duplicate", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    p.send_data(b"new")
    got = st.recv_exact(3)
    if got != b"new":
        raise Fail("expected the app to get b'new' only (duplicate dropped), got %r" % got)


@check
def est_rst_in_window_challenge(ctx):
    """RFC 9293 3.10.7.4 first (RFC 5961 3.2): RST with an in-window but not
    exact sequence number -> challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    p, st, _ = established(ctx)
    ctx.pace_challenge()
    p.send(RST, seq=seq_add(p.snd_nxt, 10))
    p.expect_seg("challenge ACK", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    s = ctx.status(st.id)
    if s.get("state") != "ESTABLISHED":
        raise Fail("after an inexact RST expected ESTABLISHED, got %s" % s.get("state"))


@check
def est_rst_out_of_window(ctx):
    """RFC 9293 3.10.7.4 first: If the RST bit is set and the sequence number
    is outside the current receive window, silently drop the segment."""
    p, st, _ = established(ctx)
    p.send(RST, seq=seq_add(p.snd_nxt, 300000))
    p.expect_nothing("an out-of-window RST")
    s = ctx.status(st.id)
    if s.get("state") != "ESTABLISHED":
        raise Fail("after an out-of-window RST expected ESTABLISHED, got %s" % s.get("state"))


@check
def est_rst_exact(ctx):
    """RFC 9293 3.10.7.4: If the RST bit is set and the sequence number exactly
    matches the next expected sequence number (RCV.NXT), reset the connection:
    no reply, STATUS end "reset", the app's stream ends."""
    p, st, _ = established(ctx)
    p.send(RST, seq=p.snd_nxt)
    p.expect_nothing("the exact RST")
    expect_end(ctx, st.id, "reset")
    got, how = st.wait_eof(5)
    if how == "timeout":
        raise Fail("after the reset the app's stream stayed open")


@check
def est_data_without_ack(ctx):
    """RFC 9293 3.10.7.4 fifth: if the ACK bit is off, drop the segment and
    return - the data is not delivered (and then arrives once with ACK)."""
    p, st, _ = established(ctx)
    p.send(PSH, data=b"noack")
    p.expect_nothing("data without the ACK bit")
    p.send_data(b"ACKED")
    got = st.recv_exact(5)
    if got != b"ACKED":
        raise Fail("expected the app to get b'ACKED' (the ACK-less copy dropped), got %r" % got)
    extra = st.recv_some(0.2)
    if extra:
        raise Fail("the app got more than one copy: %r" % extra)


@check
def keepalive_answered(ctx):
    """RFC 9293 3.8.4: a keep-alive is <SEQ=SND.NXT-1> with no data (Linux) or
    one garbage octet (BSD); it is old, hence not acceptable, and MUST be
    answered <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the octet is not delivered."""
    p, st, _ = established(ctx)
    ctx.pace_challenge()
    p.send(ACK, seq=seq_add(p.snd_nxt, -1))
    p.expect_seg("ACK to the keep-alive", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    ctx.pace_challenge()
    p.send(ACK, seq=seq_add(p.snd_nxt, -1), data=b"k")
    p.expect_seg("ACK to the 1-octet keep-alive", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    p.send_data(b"after")
    got = st.recv_exact(5)
    if got != b"after":
        raise Fail("expected the app to get b'after' only, got %r" % got)


@check
def est_ack_unsent_data(ctx):
    """RFC 9293 3.10.7.4 fifth, ESTABLISHED: If the ACK acks something not yet
    sent (SEG.ACK > SND.NXT), then send an ACK, drop the segment, and return."""
    p, st, _ = established(ctx)
    ctx.pace_challenge()
    p.send(ACK | PSH, ack=seq_add(p.rcv_nxt, 1000), data=b"X")
    p.expect_seg("ACK for the ACK of unsent data", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    p.send_data(b"Y")
    got = st.recv_exact(1)
    if got != b"Y":
        raise Fail("the segment acking unsent data must be dropped: app expected b'Y', got %r" % got)


@check
def est_ack_too_old(ctx):
    """RFC 9293 3.10.7.4 fifth / RFC 5961 5.2: an ACK value below
    SND.UNA - MAX.SND.WND: the segment MUST be discarded and an ACK sent back."""
    p, st, _ = established(ctx)
    ctx.pace_challenge()
    p.send(ACK | PSH, ack=seq_add(p.rcv_nxt, -(65535 + 70000)), data=b"Z")
    p.expect_seg("ACK for the too-old ACK", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    p.send_data(b"W")
    got = st.recv_exact(1)
    if got != b"W":
        raise Fail("the segment with the too-old ACK must be dropped: app expected b'W', got %r" % got)


# ---------------------------------------------------------------- options in use
@check
def ooo_data_sack(ctx):
    """RFC 5681 4.2: an out-of-order segment -> immediate duplicate ACK;
    RFC 2018 4: the first SACK block MUST specify the block containing the
    segment which triggered this ACK.  Filling the hole -> ACK of all."""
    opts = T.opt_mss(1460) + T.opt_sackok() + T.opt_ts(500, 0) + T.opt_nop() + T.opt_ws(7)
    p, st, sa = established(ctx, syn_opts=opts)
    if not sa.sackok:
        raise Fail("SACK-permitted not negotiated: %s" % sa.opt_names())
    base = p.snd_nxt
    p.send(ACK | PSH, seq=seq_add(base, 100), data=b"b" * 100)
    d = p.expect_seg("duplicate ACK", seq=p.rcv_nxt, ack=base, flags=ACK)
    want = (seq_add(base, 100), seq_add(base, 200))
    if not d.sack or d.sack[0] != want:
        raise Fail("expected first SACK block %d-%d, got %s" % (want + (d.opt_names(),)))
    p.send(ACK | PSH, seq=base, data=b"a" * 100)
    p.expect_seg("ACK of the filled hole", seq=p.rcv_nxt, ack=seq_add(base, 200), flags=ACK)
    p.snd_nxt = seq_add(base, 200)
    got = st.recv_exact(200)
    if got != b"a" * 100 + b"b" * 100:
        raise Fail("app expected 100*a + 100*b in order, got %r..." % got[:20])


@check
def timestamps_echo(ctx):
    """RFC 7323 3.2: once TSopt is negotiated it MUST be sent in every non-RST
    segment; TSecr echoes TS.Recent (the peer's latest in-order TSval)."""
    opts = T.opt_mss(1460) + T.opt_ts(777, 0)
    p, st, sa = established(ctx, syn_opts=opts, data=b"")
    if sa.ts is None:
        raise Fail("TS not negotiated: %s" % sa.opt_names())
    p.send_data(b"x" * 10)
    my_tsval = p.tsval
    a = p.expect_seg("ACK of the data", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    if a.ts is None or a.ts[1] != my_tsval:
        raise Fail("expected TS with TSecr=%d on %s" % (my_tsval, a))
    st.recv_exact(10)
    st.send(b"y" * 10)
    d = p.expect_seg("data from the app", seq=p.rcv_nxt, datalen=10)
    if d.ts is None:
        raise Fail("data segment without TSopt after negotiation: %s" % d)


@check
def paws_old_timestamp(ctx):
    """RFC 7323 5.3 R1: SEG.TSval < TS.Recent -> not acceptable: send an
    acknowledgment and drop the segment."""
    opts = T.opt_mss(1460) + T.opt_ts(10000, 0)
    p, st, sa = established(ctx, syn_opts=opts, data=b"")
    if sa.ts is None:
        raise Fail("TS not negotiated: %s" % sa.opt_names())
    p.tsval = 20000
    p.send_data(b"1")
    p.expect_seg("ACK", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    ctx.pace_challenge()
    old = T.opt_nop() + T.opt_nop() + T.opt_ts(15000, p.ts_recent)
    p.send(ACK | PSH, data=b"2", opts=old)
    p.expect_seg("ACK for the PAWS-failed segment", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    p.tsval = 30000
    p.send_data(b"3")
    got = st.recv_exact(2)
    if got != b"13":
        raise Fail("expected the app to get b'13' (PAWS drop of b'2'), got %r" % got)


@check
def zero_window_probe(ctx):
    """RFC 9293 3.8.6.1: the peer advertises a zero window; toud must not send
    data beyond it but must probe and keep probing, 3.8.6: "send at least
    one octet of new data even if the send window is zero" (the octet at
    SND.UNA, refused by the peer); when the window opens the data flows,
    byte-exact."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.handshake(data=b"", third_win=0)
    st = ctx.accept(port)
    payload = bytes(random.Random(1).randrange(256) for _ in range(3000))
    una = p.rcv_nxt
    st.send(payload)

    for n in (1, 2):
        s = p.expect("zero-window probe %d" % n, None, timeout=15)
        if not (len(s.data) == 1 and s.seq == una and s.data == payload[:1]):
            raise Fail("expected zero-window probe %d (the first octet, at %d), got %s" %
                       (n, una, s))
        # a receiver with a zero window acks without taking the octet
        p.send(ACK, ack=una, win=0)
        p.seen.clear()
    p.send(ACK, ack=una, win=65535)
    got = collect(p, una, len(payload), timeout=10)
    if got != payload:
        raise Fail("after the window opened expected %d bytes byte-exact, got %d (%s)" %
                   (len(payload), len(got), "equal prefix" if payload.startswith(got) else "different"))


def collect(p, start, n, timeout=10):
    """Receive n data octets from start, acking as they arrive."""
    buf = bytearray(n)
    have = 0
    deadline = time.monotonic() + timeout
    while have < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s = p.recv_any(left)
        if s is None:
            break
        if s.sport != p.dport or not s.data:
            continue
        off = (s.seq - start) % T.MOD
        if off <= have < off + len(s.data) and off + len(s.data) <= n:
            buf[off:off + len(s.data)] = s.data
            have = off + len(s.data)
        p.send(ACK, ack=seq_add(start, have))
    return bytes(buf[:have])


# ---------------------------------------------------------------- closing
@check
def close_toud_first(ctx):
    """RFC 9293 3.5 figure 12, toud is TCP A: app CLOSE -> <FIN,ACK> in
    FIN-WAIT-1; our ACK -> FIN-WAIT-2; our FIN -> <SEQ=F+1><ACK=R+1><ACK>
    and TIME-WAIT; a retransmitted FIN in TIME-WAIT is acknowledged again."""
    p, st, _ = established(ctx)
    st.shutdown_wr()
    f = p.expect_seg("FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=FIN | ACK)
    expect_state(ctx, p, "FIN-WAIT-1")
    p.rcv_nxt = seq_add(f.seq, 1)
    p.send(ACK)
    expect_state(ctx, p, "FIN-WAIT-2")
    p.send(FIN | ACK)
    p.snd_nxt = seq_add(p.snd_nxt, 1)
    p.expect_seg("ACK of our FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    expect_state(ctx, p, "TIME-WAIT")
    got, how = st.wait_eof(5)
    if how != "eof":
        raise Fail("app expected EOF after the peer's FIN, got %s" % how)
    p.send(FIN | ACK, seq=seq_add(p.snd_nxt, -1))
    p.expect_seg("re-ACK of the retransmitted FIN in TIME-WAIT", seq=p.rcv_nxt, ack=p.snd_nxt,
                 flags=ACK)
    expect_state(ctx, p, "TIME-WAIT")


@check
def close_peer_first(ctx):
    """RFC 9293 3.5 figure 12, toud is TCP B: our FIN -> ACK, CLOSE-WAIT, app
    EOF; app CLOSE -> <FIN,ACK>, LAST-ACK; our ACK -> CLOSED, end "fin"."""
    p, st, _ = established(ctx)
    p.send(FIN | ACK)
    p.snd_nxt = seq_add(p.snd_nxt, 1)
    p.expect_seg("ACK of our FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    expect_state(ctx, p, "CLOSE-WAIT")
    got, how = st.wait_eof(5)
    if how != "eof" or got:
        raise Fail("app expected a clean EOF after our FIN, got %s %r" % (how, got))
    st.shutdown_wr()
    f = p.expect_seg("FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=FIN | ACK)
    expect_state(ctx, p, "LAST-ACK")
    p.rcv_nxt = seq_add(f.seq, 1)
    p.send(ACK)
    expect_end(ctx, st.id, "fin")
    # the TCB is gone: a segment for it is answered as for a closed port
    p.send(ACK, ack=seq_add(p.rcv_nxt, 0))
    p.expect_seg("reset for the closed connection", seq=p.rcv_nxt, flags=RST)


@check
def close_wait_dup_fin(ctx):
    """RFC 9293 3.10.7.4: a retransmitted FIN in CLOSE-WAIT is old: it is
    acknowledged again <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and the state stays."""
    p, st, _ = established(ctx)
    p.send(FIN | ACK)
    p.snd_nxt = seq_add(p.snd_nxt, 1)
    p.expect_seg("ACK of our FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    ctx.pace_challenge()
    p.send(FIN | ACK, seq=seq_add(p.snd_nxt, -1))
    p.expect_seg("ACK of the retransmitted FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    expect_state(ctx, p, "CLOSE-WAIT")


@check
def close_simultaneous(ctx):
    """RFC 9293 3.5 figure 13: FINs cross -> CLOSING, <SEQ=F+1><ACK=R+1><ACK>;
    the ACK of toud's FIN -> TIME-WAIT; a retransmitted FIN is re-ACKed."""
    p, st, _ = established(ctx)
    st.shutdown_wr()
    f = p.expect_seg("FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=FIN | ACK)
    # our FIN does not acknowledge toud's FIN: it crossed it
    p.send(FIN | ACK, ack=f.seq)
    p.snd_nxt = seq_add(p.snd_nxt, 1)
    p.rcv_nxt = seq_add(f.seq, 1)
    p.expect_seg("ACK of the crossing FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    expect_state(ctx, p, "CLOSING")
    p.send(ACK)
    expect_state(ctx, p, "TIME-WAIT")
    p.send(FIN | ACK, seq=seq_add(p.snd_nxt, -1))
    p.expect_seg("re-ACK of the retransmitted FIN in TIME-WAIT", seq=p.rcv_nxt, ack=p.snd_nxt,
                 flags=ACK)
    got, how = st.wait_eof(5)
    if how != "eof":
        raise Fail("app expected EOF after the peer's FIN, got %s" % how)


# ---------------------------------------------------------------- active open
def toud_connect(ctx, p, extra=""):
    """Start CONNECT 127.0.0.1:<peer udp port> <peer tcp port>; return the
    API socket and toud's SYN."""
    try:
        host = "[::1]" if p.family == socket.AF_INET6 else "127.0.0.1"
        sock = ctx.api.connect_start("%s:%d" % (host, p.udp_port), p.sport, extra)
    except OSError as e:
        raise Fail("CONNECT: %s" % e)
    ctx.cleanup.append(sock.close)
    syn = p.recv_any(RECV_TIMEOUT)
    if syn is None:
        try:
            ans = Api.connect_finish(sock, 0.5)[1]
        except (ApiError, OSError) as e:
            ans = str(e)
        raise Fail("expected a SYN from CONNECT, got nothing (API: %s)" % ans)
    p.remember(syn)
    if syn.flags != SYN or syn.dport != p.sport:
        raise Fail("expected <CTL=SYN> from CONNECT, got %s" % syn)
    p.dport = syn.sport
    return sock, syn


@check
def connect_handshake(ctx):
    """Active OPEN: toud's SYN carries MSS 1452; our SYN,ACK without TS ->
    <SEQ=ISS+1><ACK=301><CTL=ACK> without TSopt (RFC 7323 3.2); CONNECT
    answers OK; the app's data follows at ISS+1."""
    p = ctx.peer(0)
    sock, syn = toud_connect(ctx, p)
    NEGOTIATED["toud SYN (active open)"] = " ".join(syn.opt_names()) + " win=%d" % syn.win
    if syn.mss != MSS_DEFAULT:
        raise Fail("expected MSS %d on toud's SYN, got %s" % (MSS_DEFAULT, syn.opt_names()))
    p.send(SYN | ACK, seq=300, ack=seq_add(syn.seq, 1), opts=T.opt_mss(1460))
    p.snd_nxt, p.rcv_nxt = 301, seq_add(syn.seq, 1)
    a = p.expect_seg("ACK of our SYN", seq=p.rcv_nxt, ack=301, flags=ACK)
    if a.ts is not None:
        raise Fail("no TS on our SYN,ACK but toud sent TSopt: %s" % a)
    stream, ans = Api.connect_finish(sock)
    if stream is None:
        raise Fail("expected CONNECT -> OK, got %s" % ans)
    ctx.cleanup.append(stream.close)
    stream.send(b"abc")
    d = p.expect_seg("data from the app", seq=p.rcv_nxt, ack=301, datalen=3)
    if d.data != b"abc":
        raise Fail("expected data b'abc', got %r" % d.data)


@check
def simultaneous_open_rst_refused(ctx):
    """RFC 9293 3.10.7.4 second, SYN-RECEIVED: If this connection was initiated
    with an active OPEN (i.e., came from SYN-SENT state), then the connection
    was refused; signal the user "connection refused" -> ERR refused."""
    p = ctx.peer(0)
    sock, syn = toud_connect(ctx, p)
    p.send(SYN, seq=300, opts=T.opt_mss(1460))
    p.expect_seg("SYN,ACK (simultaneous open)", seq=syn.seq, ack=301, flags=SYN | ACK)
    p.send(RST, seq=301)
    stream, ans = Api.connect_finish(sock)
    if stream is not None or not ans.startswith("ERR refused"):
        raise Fail("expected CONNECT -> ERR refused, got %s" % ans)


@check
def connect_refused(ctx):
    """RFC 9293 3.10.7.3: in SYN-SENT, RST with an acceptable ACK: signal
    'connection reset' -> CONNECT answers ERR refused."""
    p = ctx.peer(0)
    sock, syn = toud_connect(ctx, p)
    p.send(RST | ACK, seq=0, ack=seq_add(syn.seq, 1))
    stream, ans = Api.connect_finish(sock)
    if stream is not None or not ans.startswith("ERR refused"):
        raise Fail("expected CONNECT -> ERR refused, got %s" % ans)


@check
def syn_sent_unacceptable(ctx):
    """RFC 9293 3.10.7.3, SYN-SENT: SEG.ACK =< ISS or > SND.NXT -> <SEQ=SEG.ACK>
    <CTL=RST>; a RST without ACK is dropped; then a good SYN,ACK completes."""
    p = ctx.peer(0)
    sock, syn = toud_connect(ctx, p)
    bad = seq_add(syn.seq, 1000)
    p.send(ACK, seq=300, ack=bad)
    p.expect_seg("reset for the bad ACK", seq=bad, flags=RST)
    p.send(RST, seq=300)
    p.expect_nothing("a RST without ACK in SYN-SENT")
    p.send(RST | ACK, seq=300, ack=bad)
    p.expect_nothing("a RST,ACK with an unacceptable ACK in SYN-SENT (drop the segment)")
    p.send(FIN, seq=300)
    p.expect_nothing("a FIN without SYN or ACK in SYN-SENT (neither SYN nor RST: drop)")
    p.send(SYN | ACK, seq=300, ack=seq_add(syn.seq, 1), opts=T.opt_mss(1460))
    p.snd_nxt, p.rcv_nxt = 301, seq_add(syn.seq, 1)
    p.expect_seg("ACK of our SYN", seq=p.rcv_nxt, ack=301, flags=ACK)
    stream, ans = Api.connect_finish(sock)
    if stream is None:
        raise Fail("expected CONNECT -> OK after the good SYN,ACK, got %s" % ans)
    ctx.cleanup.append(stream.close)


@check
def simultaneous_open(ctx):
    """RFC 9293 3.5 figure 7: toud (A) sends SYN; our SYN 300 crosses it ->
    A: SYN-RECEIVED, <SEQ=ISS><ACK=301><CTL=SYN,ACK>; our <SEQ=300><ACK=ISS+1>
    <CTL=SYN,ACK> -> A: ESTABLISHED, <SEQ=ISS+1><ACK=301><CTL=ACK>."""
    p = ctx.peer(0)
    sock, syn = toud_connect(ctx, p)
    p.send(SYN, seq=300, opts=T.opt_mss(1460))
    p.expect_seg("SYN,ACK (simultaneous open)", seq=syn.seq, ack=301, flags=SYN | ACK)
    p.send(SYN | ACK, seq=300, ack=seq_add(syn.seq, 1), opts=T.opt_mss(1460))
    p.snd_nxt, p.rcv_nxt = 301, seq_add(syn.seq, 1)
    p.expect_seg("ACK (figure 7 line 7)", seq=p.rcv_nxt, ack=301, flags=ACK)
    stream, ans = Api.connect_finish(sock)
    if stream is None:
        raise Fail("expected CONNECT -> OK after simultaneous open, got %s" % ans)
    ctx.cleanup.append(stream.close)


# ---------------------------------------------------------------- sending rules
def app_data_segments(p, st, total, ack_each=True, timeout=10, win=None):
    """The app writes `total` bytes; collect toud's data segments until all
    arrived (acking each when ack_each).  Returns (payload, segments)."""
    payload = bytes(random.Random(total).randrange(256) for _ in range(total))
    start = p.rcv_nxt
    st.send(payload)
    segs = []
    buf = bytearray(total)
    have = 0
    deadline = time.monotonic() + timeout
    while have < total:
        s = p.recv_any(max(deadline - time.monotonic(), 0))
        if s is None:
            raise Fail("expected %d bytes from the app, got %d within %ds" % (total, have, timeout))
        if not s.data:
            continue
        segs.append(s)
        off = (s.seq - start) % T.MOD
        if off <= have < off + len(s.data) and off + len(s.data) <= total:
            buf[off:off + len(s.data)] = s.data
            have = off + len(s.data)
        if ack_each:
            p.send(ACK, ack=seq_add(start, have), win=win)
    p.rcv_nxt = seq_add(start, have)
    if bytes(buf) != payload:
        raise Fail("app data arrived corrupted")
    return payload, segs


@check
def mss_default_536(ctx):
    """RFC 9293 3.7.1 (MUST-15): If an MSS Option is not received at connection
    setup, TCP implementations MUST assume a default send MSS of 536."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.handshake(syn_opts=b"", data=b"")
    st = ctx.accept(port)
    _, segs = app_data_segments(p, st, 6000)
    big = [s for s in segs if len(s.data) > 536]
    if big:
        raise Fail("expected data segments of at most 536 octets (no MSS option), got %s" % big[0])


@check
def mss_peer_respected(ctx):
    """RFC 9293 3.7.1: segments never exceed the peer's MSS (here 700, with
    timestamps: data + TCP options <= 700, RFC 6691)."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.handshake(syn_opts=T.opt_mss(700) + T.opt_ts(1, 0) + T.opt_nop() + T.opt_nop(), data=b"")
    st = ctx.accept(port)
    _, segs = app_data_segments(p, st, 8000)
    big = [s for s in segs if len(s.data) + (s.doff - 20) > 700]
    if big:
        raise Fail("expected data + options <= 700 octets (peer MSS 700), got %s" % big[0])


@check
def send_window_respected(ctx):
    """RFC 9293 3.8.6: toud never sends beyond SND.UNA + SND.WND (our window
    1000, unscaled): with nothing acked, at most 1000 octets are in flight."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.win = 1000
    p.handshake(syn_opts=T.opt_mss(1460), data=b"")
    st = ctx.accept(port)
    una = p.rcv_nxt
    st.send(b"w" * 5000)
    top = una
    while True:
        s = p.recv_any(1.5)   # quiet for 1.5 s: toud has sent what it may
        if s is None:
            break
        if s.data:
            end = seq_add(s.seq, len(s.data))
            if T.seq_lt(top, end):
                top = end
            if (end - una) % T.MOD > 1000:
                raise Fail("window 1000 from SND.UNA=%d, toud sent up to %d: %s" % (una, end, s))
    if top == una:
        raise Fail("toud sent nothing into a 1000-octet window")
    p.send(ACK, ack=top, win=65535)
    p.rcv_nxt = top


@check
def retransmit_after_rto(ctx):
    """RFC 6298 (5.4): when the retransmission timer expires, retransmit the
    earliest segment not acknowledged: same SEQ, same data."""
    p, st, _ = established(ctx)
    st.send(b"retransmit me")
    d1 = p.expect_seg("data", seq=p.rcv_nxt, datalen=13)
    d2 = p.recv_any(10)
    while d2 is not None and not d2.data:
        d2 = p.recv_any(10)
    if d2 is None or d2.seq != d1.seq or d2.data != d1.data:
        raise Fail("expected the retransmission %s, got %s" % (d1, d2))
    p.send(ACK, ack=seq_add(d1.seq, 13))
    p.rcv_nxt = seq_add(d1.seq, 13)


@check
def synack_retransmit(ctx):
    """RFC 9293 3.8.1 / RFC 6298: an unacknowledged SYN,ACK is retransmitted
    with the same SEQ and ACK."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(SYN, seq=100, opts=T.opt_mss(1460))
    a = p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)
    b = p.recv_any(10)
    if b is None or b.flags != SYN | ACK or b.seq != a.seq or b.ack != 101:
        raise Fail("expected the SYN,ACK %s again, got %s" % (a, b))


@check
def abort_sends_rst(ctx):
    """RFC 9293 3.10.5 ABORT: send a reset segment <SEQ=SND.NXT><CTL=RST>;
    STATUS end "aborted"."""
    p, st, _ = established(ctx)
    try:
        ans = ctx.api.request("ABORT %d" % st.id)
    except (ApiError, OSError) as e:
        raise Fail("ABORT: %s" % e)
    if not ans.startswith("OK"):
        raise Fail("expected ABORT -> OK, got %s" % ans)
    r = p.expect("RST", lambda s: s.flags & RST)
    if r.flags != RST or r.seq != p.rcv_nxt or r.data:
        raise Fail("expected <SEQ=%d><CTL=RST> (no other flag, as 3.10.5 writes it), got %s" %
                   (p.rcv_nxt, r))
    expect_end(ctx, st.id, "aborted")


@check
def app_gone_data_rst(ctx):
    """docs/DESIGN.md section 6 (as a kernel socket, RFC 2525 2.17): data arriving for an app
    that has gone away aborts the connection with RST."""
    p, st, _ = established(ctx)
    st.close()
    f = p.expect_seg("FIN after the app closed", seq=p.rcv_nxt, ack=p.snd_nxt, flags=FIN | ACK)
    p.rcv_nxt = seq_add(f.seq, 1)
    p.send_data(b"nobody reads this")
    r = p.expect("RST", lambda s: s.flags & RST)
    if not r.flags & RST:
        raise Fail("expected a RST for data to a vanished app, got %s" % r)


@check
def reassembly_overlaps(ctx):
    """RFC 9293 3.10.7.4: segments arriving out of order, duplicated and
    overlapping are delivered once, in order, byte-exact."""
    p, st, _ = established(ctx, data=b"")
    base = p.snd_nxt
    payload = bytes(random.Random(7).randrange(256) for _ in range(4000))
    pieces = [(1000, 2000), (3000, 4000), (500, 1500), (2500, 3200), (0, 600),
              (1800, 2600), (3000, 4000), (0, 100)]
    for a, b in pieces:
        p.send(ACK | PSH, seq=seq_add(base, a), data=payload[a:b])
    got = st.recv_exact(4000, 10)
    if got != payload:
        raise Fail("expected 4000 bytes byte-exact, got %d bytes (%s)" %
                   (len(got), "prefix ok" if payload.startswith(got) else "different"))
    p.snd_nxt = seq_add(base, 4000)
    while True:  # duplicate ACKs for the out-of-order pieces come first
        a = p.expect("ACK of everything <ACK=%d>" % p.snd_nxt,
                     lambda s: s.flags == ACK and s.ack == p.snd_nxt)
        if a.flags != ACK or a.seq != p.rcv_nxt or a.data:
            raise Fail("expected pure ACKs <SEQ=%d>, got %s" % (p.rcv_nxt, a))
        if a.ack == p.snd_nxt:
            break
        if not (T.seq_lt(a.ack, p.snd_nxt) and not T.seq_lt(a.ack, base)):
            raise Fail("ACK outside [%d, %d]: %s" % (base, p.snd_nxt, a))


@check
def urgent_data_inline(ctx):
    """RFC 9293 3.8.5: the URG mechanism; urgent data is part of the stream
    (RFC 6093: delivered in line).  It must be delivered and acknowledged."""
    p, st, _ = established(ctx, data=b"")
    seg = T.build(p.sport, p.dport, p.snd_nxt, p.rcv_nxt, ACK | PSH | T.URG, 65535,
                  b"urgent!", urg=7)
    p.raw(seg)
    p.snd_nxt = seq_add(p.snd_nxt, 7)
    got = st.recv_exact(7)
    if got != b"urgent!":
        raise Fail("expected the app to get b'urgent!', got %r" % got)
    p.expect_seg("ACK of the urgent data", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)


@check
def fin_on_third_segment(ctx):
    """RFC 9293 3.10.7.4: the handshake's ACK carries data and FIN: toud goes
    ESTABLISHED then CLOSE-WAIT, acknowledges data and FIN; the app reads the
    data then EOF."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(SYN, seq=100, opts=T.opt_mss(1460))
    sa = p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)
    p.rcv_nxt, p.snd_nxt = seq_add(sa.seq, 1), 101
    p.send(ACK | FIN, data=b"bye")
    p.snd_nxt = 105
    p.expect_seg("ACK of data and FIN", seq=p.rcv_nxt, ack=105, flags=ACK)
    st = ctx.accept(port)
    got, how = st.wait_eof(5)
    if got != b"bye" or how != "eof":
        raise Fail("expected the app to read b'bye' then EOF, got %r then %s" % (got, how))
    expect_state(ctx, p, "CLOSE-WAIT")


@check
def receive_window_flow_control(ctx):
    """RFC 9293 3.8.6: the app does not read: toud's window closes (right edge
    never moves left, SHLD-14); data beyond a zero window is not accepted (ACK
    <SEQ=SND.NXT><ACK=RCV.NXT>); when the app reads, a window update opens it."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    sa = p.handshake(syn_opts=T.opt_mss(1460) + T.opt_nop() + T.opt_ws(0), data=b"")
    shift = sa.ws or 0
    st = ctx.accept(port)
    chunk = bytes(1400)
    prev_ack = sa
    right = None
    sent = 0
    window = sa.win  # the SYN,ACK window is never scaled (RFC 7323 2.2)
    una = p.snd_nxt
    for _ in range(5000):
        if window == 0:
            break
        # a burst of up to 32 segments inside the window, then wait until
        # toud has acknowledged all of it (delayed ACKs fire within 500 ms)
        room = window - (p.snd_nxt - una) % T.MOD
        offered_edge = seq_add(una, window)
        last_ack = None
        for _ in range(32):
            if room <= 0:
                break
            n = min(len(chunk), room)
            p.send_data(chunk[:n])
            sent += n
            room -= n
        while True:
            try:
                a = p.expect("ACK of octet %d" % sent, lambda s: s.flags & ACK and not s.data)
            except Fail:
                la = last_ack or prev_ack
                raise Fail("segments inside the advertised window got no ACK within %.0fs "
                           "(RFC 9293 3.10.7.4: an unacceptable segment MUST be answered "
                           "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, a full buffer advertises "
                           "WIN=0): after %d octets the app did not read, toud's last ACK %s "
                           "offered right edge %d; we sent up to %d" %
                           (RECV_TIMEOUT, sent, la, offered_edge, p.snd_nxt))
            last_ack = prev_ack = a
            window = a.win << shift
            edge = seq_add(a.ack, window)
            if right is not None and T.seq_lt(edge, right):
                raise Fail("the right window edge moved left: %d -> %d after %d octets" %
                           (right, edge, sent))
            right = edge
            una = a.ack
            if a.ack == p.snd_nxt:
                break
            if T.seq_lt(p.snd_nxt, a.ack):
                raise Fail("toud acknowledged %d beyond what we sent (%d)" % (a.ack, p.snd_nxt))
    else:
        raise Fail("window never closed after %d octets the app did not read" % sent)
    ctx.pace_challenge()
    p.send(ACK | PSH, data=b"!")  # beyond the zero window
    p.expect_seg("ACK for a segment beyond the zero window", seq=p.rcv_nxt, ack=p.snd_nxt,
                 flags=ACK)
    got = st.recv_exact(sent, 20)
    if len(got) != sent:
        raise Fail("the app expected %d octets, got %d" % (sent, len(got)))
    u = p.expect("window update", lambda s: s.flags & ACK and s.win > 0, timeout=RECV_TIMEOUT)
    if u.win == 0:
        raise Fail("expected a window update after the app read, got %s" % u)


# ---------------------------------------------------------------- half close, SACK, misc
@check
def half_close_toud_first_then_data(ctx):
    """RFC 9293 3.10.7.4, FIN-WAIT-2: text is still processed: after the app's
    CLOSE (FIN acked) the peer's data reaches the app, then the peer's FIN
    gives EOF."""
    p, st, _ = established(ctx)
    st.shutdown_wr()
    f = p.expect_seg("FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=FIN | ACK)
    p.rcv_nxt = seq_add(f.seq, 1)
    p.send(ACK)
    p.send_data(b"more after your FIN")
    p.expect_seg("ACK of the data", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    p.send(FIN | ACK)
    p.snd_nxt = seq_add(p.snd_nxt, 1)
    p.expect_seg("ACK of our FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    got, how = st.wait_eof(5)
    if got != b"more after your FIN" or how != "eof":
        raise Fail("expected the app to read the data then EOF, got %r then %s" % (got, how))


@check
def half_close_peer_first_then_data(ctx):
    """RFC 9293 3.10.7.4, CLOSE-WAIT: the app may still SEND after the peer's
    FIN; the data flows, then the app's CLOSE sends FIN."""
    p, st, _ = established(ctx)
    p.send(FIN | ACK)
    p.snd_nxt = seq_add(p.snd_nxt, 1)
    p.expect_seg("ACK of our FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    got, how = st.wait_eof(5)
    if how != "eof":
        raise Fail("app expected EOF after our FIN, got %s" % how)
    st.send(b"reply after your FIN")
    d = p.expect_seg("data in CLOSE-WAIT", seq=p.rcv_nxt, ack=p.snd_nxt, datalen=20)
    p.rcv_nxt = seq_add(d.seq, 20)
    p.send(ACK)
    st.shutdown_wr()
    f = p.expect_seg("FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=FIN | ACK)
    p.rcv_nxt = seq_add(f.seq, 1)
    p.send(ACK)
    expect_end(ctx, st.id, "fin")


@check
def est_old_ack_data_accepted(ctx):
    """RFC 9293 3.10.7.4 fifth: If the ACK is a duplicate (SEG.ACK < SND.UNA),
    it can be ignored - the segment's text is still processed (the ACK is
    within SND.UNA - MAX.SND.WND, so RFC 5961 5.2 accepts it too)."""
    p, st, _ = established(ctx)
    st.send(b"0123456789")
    d = p.expect_seg("data", seq=p.rcv_nxt, datalen=10)
    old_ack = p.rcv_nxt
    p.rcv_nxt = seq_add(d.seq, 10)
    p.send(ACK)
    p.send(ACK | PSH, ack=old_ack, data=b"with an old ACK")
    p.snd_nxt = seq_add(p.snd_nxt, 15)
    got = st.recv_exact(15)
    if got != b"with an old ACK":
        raise Fail("expected the data with a duplicate ACK to be delivered, app got %r" % got)
    p.expect_seg("ACK of the data", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)


@check
def sack_hole_retransmitted_first(ctx):
    """RFC 6675: three duplicate ACKs whose SACK blocks cover all but the
    first segment: the first retransmission is the hole (SND.UNA)."""
    opts = T.opt_mss(1000) + T.opt_sackok() + T.opt_ts(100, 0) + T.opt_nop() + T.opt_nop()
    p, st, sa = established(ctx, syn_opts=opts, data=b"")
    if not sa.sackok:
        raise Fail("SACK not negotiated: %s" % sa.opt_names())
    una = p.rcv_nxt
    st.send(bytes(random.Random(3).randrange(256) for _ in range(6000)))
    segs = []
    while len(segs) < 5:
        s = p.expect("data segment %d" % (len(segs) + 1), lambda s: bool(s.data))
        if s.data:
            segs.append(s)
    first_end = seq_add(segs[0].seq, len(segs[0].data))
    if segs[0].seq != una:
        raise Fail("expected the first data segment at %d, got %s" % (una, segs[0]))
    for k in range(2, 5):
        right = seq_add(segs[k].seq, len(segs[k].data))
        sack = T.opt_nop() + T.opt_nop() + T.opt_sack([(first_end, right)])
        p.tsval += 1
        ts = T.opt_nop() + T.opt_nop() + T.opt_ts(p.tsval, p.ts_recent)
        p.send(ACK, ack=una, opts=ts + sack)
    while True:
        r = p.recv_any(10)
        if r is None:
            raise Fail("no retransmission after three SACK duplicate ACKs")
        if not r.data:
            continue
        key = (r.seq, len(r.data))
        if any((s.seq, len(s.data)) == key for s in segs) or T.seq_lt(r.seq, first_end):
            break  # a retransmission (new data further on is fine)
    if r.seq != una:
        raise Fail("expected the first retransmission to fill the hole at %d, got %s" % (una, r))


CSUMS = set()
HEADER_ISSUES = []


@check
def checksum_not_verified(ctx):
    """docs/DESIGN.md section 3: the TCP checksum field is not verified (the UDP checksum
    protects the segment): a SYN with checksum 0xBEEF is answered."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.raw(T.build(p.sport, port, 100, 0, SYN, 65535, b"", T.opt_mss(1460), checksum=0xBEEF))
    p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)


# ---------------------------------------------------------------- more of the letter
@check
def seq_wraparound(ctx):
    """RFC 9293 3.4: sequence numbers are modulo 2**32: our ISN 0xFFFFFE00,
    data crossing zero is delivered byte-exact and acknowledged past zero."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port, iss=0xFFFFFE00)
    p.handshake(data=b"")
    st = ctx.accept(port)
    payload = bytes(random.Random(11).randrange(256) for _ in range(3000))
    for off in range(0, 3000, 1000):
        p.send_data(payload[off:off + 1000])
    got = st.recv_exact(3000)
    if got != payload:
        raise Fail("expected 3000 octets across the wrap byte-exact, got %d" % len(got))
    want = seq_add(0xFFFFFE01, 3000)
    p.expect("ACK past zero <ACK=%d>" % want, lambda s: s.flags == ACK and s.ack == want)


@check
def send_window_scaled(ctx):
    """RFC 7323 2.3: the peer's window field is shifted by its WS (2): a field
    of 250 is a 1000-octet window; toud keeps at most 1000 octets in flight."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.win = 250
    sa = p.handshake(syn_opts=T.opt_mss(1460) + T.opt_nop() + T.opt_ws(2), data=b"")
    if sa.ws is None:
        raise Fail("window scaling not negotiated: %s" % sa.opt_names())
    st = ctx.accept(port)
    una = p.rcv_nxt
    st.send(b"s" * 5000)
    top = una
    while True:
        s = p.recv_any(1.5)
        if s is None:
            break
        if s.data:
            end = seq_add(s.seq, len(s.data))
            if T.seq_lt(top, end):
                top = end
            if (end - una) % T.MOD > 1000:
                raise Fail("window 250<<2 = 1000 from SND.UNA=%d, toud sent up to %d: %s" %
                           (una, end, s))
    if top == una:
        raise Fail("toud sent nothing into a 1000-octet window")
    if (top - una) % T.MOD < 1000:
        raise Fail("toud used only %d of the 1000-octet window (field 250 scaled by 2)" %
                   ((top - una) % T.MOD))


@check
def isn_clock_driven(ctx):
    """RFC 9293 3.4.1 (MUST-8, RFC 6528): the ISN comes from a clock (plus a
    keyed hash of the 4-tuple): the same 4-tuple a moment later gets a larger
    ISN, never the same one."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(SYN, seq=100, opts=T.opt_mss(1460))
    a = p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)
    p.send(RST, seq=101)
    p.expect_nothing("the RST to SYN-RECEIVED")
    time.sleep(0.1)  # lets the ISN clock advance (not an assertion)
    p.send(SYN, seq=100, opts=T.opt_mss(1460))
    b = p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)
    if not T.seq_lt(a.seq, b.seq):
        raise Fail("same 4-tuple 0.1 s later: ISN %d then %d (expected a larger one)" % (a.seq, b.seq))


def send_quietly(st, data):
    """The app's write in a thread: the daemon need not buffer it all."""
    try:
        st.sock.settimeout(60)
        st.sock.sendall(data)
    except OSError:
        pass


@check
def wscale_clamped_to_14(ctx):
    """RFC 7323 2.3: a Window Scale shift above 14 MUST be used as 14: our WS 15
    and a window field of 4 mean 65536 octets (not 131072).  We acknowledge
    every second segment until toud's cwnd has grown, then stop: the burst
    in flight must not pass 65536 octets."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.win = 4
    limit = 4 << 14
    sa = p.handshake(syn_opts=T.opt_mss(1460) + T.opt_nop() + T.opt_ws(15), data=b"")
    if sa.ws is None:
        raise Fail("window scaling not negotiated: %s" % sa.opt_names())
    st = ctx.accept(port)
    total = 1000000
    threading.Thread(target=send_quietly, args=(st, bytes(total)), daemon=True).start()
    base = p.rcv_nxt
    una = top = base
    segs = 0
    deadline = time.monotonic() + 30
    # phase 1: a normal receiver for 400 kB (cwnd grows past the window)
    while (top - base) % T.MOD < 400000 and time.monotonic() < deadline:
        s = p.recv_any(1.0)
        if s is None:
            if top == una:
                raise Fail("toud stopped sending after %d octets" % ((top - base) % T.MOD))
            una = top
            p.send(ACK, ack=una)
            continue
        if not s.data:
            continue
        end = seq_add(s.seq, len(s.data))
        if (end - una) % T.MOD > limit:
            raise Fail("toud sent up to %d octets beyond our last ACK with a window of "
                       "4 << 14 = %d (a shift of 15 used as 15?)" % ((end - una) % T.MOD, limit))
        if T.seq_lt(top, end):
            top = end
        segs += 1
        if segs % 2 == 0:
            una = top
            p.send(ACK, ack=una)
    una = top
    p.send(ACK, ack=una)
    # phase 2: no more ACKs; whatever toud sends now is bounded by the window
    flight_top = una
    while True:
        s = p.recv_any(1.0)
        if s is None:
            break
        if s.data:
            end = seq_add(s.seq, len(s.data))
            if T.seq_lt(flight_top, end):
                flight_top = end
    flight = (flight_top - una) % T.MOD
    if flight > limit:
        raise Fail("%d octets in flight with a window of 4 << 14 = %d (a shift of 15 used "
                   "as 15?)" % (flight, limit))
    if flight <= 14520:
        raise Fail("only %d octets in flight after 400 kB: cwnd did not grow past the initial "
                   "window, so the check cannot tell shift 14 from 15" % flight)
    p.send(ACK, ack=flight_top)


@check
def syn_retransmit(ctx):
    """RFC 9293 3.8.1 / RFC 6298: an unanswered SYN is retransmitted with the
    same ISN."""
    p = ctx.peer(0)
    sock, syn = toud_connect(ctx, p)
    again = p.recv_any(10)
    if again is None or again.flags != SYN or again.seq != syn.seq:
        raise Fail("expected the SYN %s again, got %s" % (syn, again))
    p.send(RST | ACK, seq=0, ack=seq_add(syn.seq, 1))


@check
def connect_timeout(ctx):
    """CONNECT ... timeout=2 to a peer that never answers: ERR timeout (the
    SYN retransmissions give up, RFC 9293 3.8.3 R2 for SYN)."""
    p = ctx.peer(0)
    sock, syn = toud_connect(ctx, p, "timeout=2")
    try:
        stream, ans = Api.connect_finish(sock, 30)
    except (ApiError, OSError) as e:
        raise Fail("expected CONNECT -> ERR timeout, got %s" % e)
    if stream is not None or not ans.startswith("ERR timeout"):
        raise Fail("expected CONNECT -> ERR timeout, got %s" % ans)


@check
def connect_synack_with_data(ctx):
    """RFC 9293 3.10.7.3, SYN-SENT: a SYN,ACK carrying data: enter
    ESTABLISHED ... continue processing at the sixth step: the data reaches
    the app and is acknowledged <SEQ=ISS+1><ACK=303>."""
    p = ctx.peer(0)
    sock, syn = toud_connect(ctx, p)
    p.send(SYN | ACK, seq=300, ack=seq_add(syn.seq, 1), opts=T.opt_mss(1460), data=b"hi")
    p.snd_nxt, p.rcv_nxt = 303, seq_add(syn.seq, 1)
    stream, ans = Api.connect_finish(sock)
    if stream is None:
        raise Fail("expected CONNECT -> OK, got %s" % ans)
    ctx.cleanup.append(stream.close)
    p.expect("ACK of SYN and data <ACK=303>", lambda s: s.flags == ACK and s.ack == 303)
    got = stream.recv_exact(2)
    if got != b"hi":
        raise Fail("expected the app to get b'hi' from the SYN,ACK, got %r" % got)


def to_time_wait(ctx):
    """Established, toud closes first, our FIN: TIME-WAIT.  Returns p with
    p.rcv_nxt = toud's SND.NXT (after its FIN)."""
    p, st, _ = established(ctx)
    st.shutdown_wr()
    f = p.expect_seg("FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=FIN | ACK)
    p.rcv_nxt = seq_add(f.seq, 1)
    p.send(FIN | ACK)
    p.snd_nxt = seq_add(p.snd_nxt, 1)
    p.expect_seg("ACK of our FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    expect_state(ctx, p, "TIME-WAIT")
    return p, st


@check
def time_wait_new_syn(ctx):
    """RFC 9293 3.6.1: a SYN for the same connection in TIME-WAIT.  Either it
    is treated as in a synchronized state (challenge ACK <SEQ=SND.NXT>
    <ACK=RCV.NXT><CTL=ACK>), or (MAY-2) it reopens the connection - then the
    new ISN MUST be larger than the largest sequence number used before."""
    p, st = to_time_wait(ctx)
    ctx.pace_challenge()
    new_isn = seq_add(p.snd_nxt, 100000)
    p.send(SYN, seq=new_isn, opts=T.opt_mss(1460))
    r = p.expect("challenge ACK or SYN,ACK", lambda s: s.flags in (ACK, SYN | ACK))
    if r.flags == ACK:
        if r.seq != p.rcv_nxt or r.ack != p.snd_nxt:
            raise Fail("expected <SEQ=%d><ACK=%d><CTL=ACK>, got %s" % (p.rcv_nxt, p.snd_nxt, r))
    elif r.flags == SYN | ACK:
        if r.ack != seq_add(new_isn, 1):
            raise Fail("SYN,ACK must acknowledge the new SYN (%d), got %s" % (new_isn + 1, r))
        if not T.seq_lt(p.rcv_nxt, r.seq) and r.seq != p.rcv_nxt:
            raise Fail("reopened from TIME-WAIT with ISN %d not above the old SND.NXT %d "
                       "(RFC 9293 3.6.1 (1))" % (r.seq, p.rcv_nxt))
    else:
        raise Fail("expected a challenge ACK or a SYN,ACK, got %s" % r)


@check
def time_wait_old_syn(ctx):
    """RFC 9293 3.6.1: a SYN in TIME-WAIT whose ISN is below RCV.NXT is an old
    duplicate: it must not reopen the connection (no SYN,ACK)."""
    p, st = to_time_wait(ctx)
    ctx.pace_challenge()
    p.send(SYN, seq=seq_add(p.snd_nxt, -50), opts=T.opt_mss(1460))
    p.expect_nothing("an old SYN in TIME-WAIT",
                     allowed=lambda r: r.flags == ACK and r.seq == p.rcv_nxt and r.ack == p.snd_nxt)


@check
def syn_received_dup_syn(ctx):
    """A retransmitted SYN (same ISN) in SYN-RECEIVED: answered with the
    SYN,ACK again (<SEQ=ISS><ACK=IRS+1>, as Linux does) or by the letter of
    3.10.7.4 (not acceptable: <SEQ=ISS+1><ACK=IRS+1><CTL=ACK>); never a RST
    or a second connection; the handshake then completes."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    p.send(SYN, seq=100, opts=T.opt_mss(1460))
    sa = p.expect_seg("SYN,ACK", ack=101, flags=SYN | ACK)
    p.send(SYN, seq=100, opts=T.opt_mss(1460))
    r = p.expect("SYN,ACK or ACK", lambda s: (s.flags == SYN | ACK and s.seq == sa.seq) or
                 s.flags == ACK)
    ok_synack = r.flags == SYN | ACK and r.seq == sa.seq and r.ack == 101
    ok_ack = r.flags == ACK and r.seq == seq_add(sa.seq, 1) and r.ack == 101
    if not (ok_synack or ok_ack):
        raise Fail("expected <SEQ=%d><ACK=101><CTL=SYN,ACK> or <SEQ=%d><ACK=101><CTL=ACK>, got %s" %
                   (sa.seq, seq_add(sa.seq, 1), r))
    p.rcv_nxt, p.snd_nxt = seq_add(sa.seq, 1), 101
    p.send(ACK, data=b"one")
    p.snd_nxt = 104
    st = ctx.accept(port)
    if st.recv_exact(3) != b"one":
        raise Fail("the handshake did not complete after the duplicate SYN")
    n = sum(1 for c in ctx.list() if str(c.get("remote", "")).endswith(":%d/%d" % (p.udp_port, p.sport)))
    if n != 1:
        raise Fail("expected one connection for the 4-tuple, LIST has %d" % n)


@check
def old_ack_window_ignored(ctx):
    """RFC 9293 3.10.7.4 fifth: the send window is updated only if
    SND.UNA =< SEG.ACK =< SND.NXT (and the WL1/WL2 rule): an old ACK
    advertising window 0 must not close toud's send window."""
    p, st, _ = established(ctx)
    st.send(b"0123456789")
    d = p.expect_seg("data", seq=p.rcv_nxt, datalen=10)
    old_ack = p.rcv_nxt
    p.rcv_nxt = seq_add(d.seq, 10)
    p.send(ACK)                       # SND.UNA advances, window 65535
    p.send(ACK, ack=seq_add(old_ack, 5), win=0)   # an old, reordered ACK
    st.send(b"x" * 100)
    d2 = p.expect("the app's 100 octets", lambda s: bool(s.data))
    if d2.seq != p.rcv_nxt or len(d2.data) != 100:
        raise Fail("expected <SEQ=%d><DATA=100> (window still open), got %s" % (p.rcv_nxt, d2))


@check
def fin_wait_1_needs_fin_acked(ctx):
    """RFC 9293 3.10.7.4, FIN-WAIT-1: enter FIN-WAIT-2 only if our FIN is now
    acknowledged: an ACK of the data before the FIN leaves FIN-WAIT-1."""
    p, st, _ = established(ctx)
    st.send(b"last words")
    st.shutdown_wr()
    got = b""
    fin = None
    while fin is None:
        s = p.expect("data and FIN", lambda s: bool(s.data) or s.flags & FIN)
        got += s.data
        if s.flags & FIN:
            fin = s
    if got != b"last words":
        raise Fail("expected b'last words' before the FIN, got %r" % got)
    fin_seq = seq_add(fin.seq, len(fin.data))
    p.send(ACK, ack=fin_seq)          # acks the data, not the FIN
    expect_state(ctx, p, "FIN-WAIT-1")
    time.sleep(0.1)
    if state_of(ctx, p) != "FIN-WAIT-1":
        raise Fail("an ACK not covering the FIN moved toud to %s" % state_of(ctx, p))
    p.rcv_nxt = seq_add(fin_seq, 1)
    p.send(ACK)
    expect_state(ctx, p, "FIN-WAIT-2")


@check
def last_ack_needs_fin_acked(ctx):
    """RFC 9293 3.10.7.4, LAST-ACK: only the acknowledgment of our FIN closes
    the connection: an older ACK leaves LAST-ACK."""
    p, st, _ = established(ctx)
    p.send(FIN | ACK)
    p.snd_nxt = seq_add(p.snd_nxt, 1)
    p.expect_seg("ACK of our FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=ACK)
    st.wait_eof(5)
    st.shutdown_wr()
    f = p.expect_seg("FIN", seq=p.rcv_nxt, ack=p.snd_nxt, flags=FIN | ACK)
    p.send(ACK, ack=f.seq)            # does not cover the FIN
    expect_state(ctx, p, "LAST-ACK")
    time.sleep(0.1)
    if state_of(ctx, p) != "LAST-ACK":
        raise Fail("an ACK not covering the FIN moved toud to %s" % state_of(ctx, p))
    p.rcv_nxt = seq_add(f.seq, 1)
    p.send(ACK)
    expect_end(ctx, st.id, "fin")


@check
def unlisten_resets_pending(ctx):
    """Closing a listener resets the connections it has not accepted yet (as a
    kernel does when a listening socket is closed): <SEQ=SND.NXT><CTL=RST>."""
    port = ctx.new_port()
    lsock = ctx.listen(port)
    p = ctx.peer(port)
    p.handshake(data=b"")
    expect_state(ctx, p, "ESTABLISHED")
    lsock.close()
    r = p.expect("RST", lambda s: bool(s.flags & RST))
    if not r.flags & RST or r.seq != p.rcv_nxt:
        raise Fail("expected <SEQ=%d><CTL=RST> when the listener closed, got %s" % (p.rcv_nxt, r))


# ---------------------------------------------------------------- spoofing, floods
@check
def rst_from_other_udp_port_ignored(ctx):
    """docs/DESIGN.md section 3: a connection is keyed by remote IP, remote UDP port and both
    TCP ports: an exact RST with the right TCP ports but from another UDP
    port belongs to no connection (dropped), the real one stays ESTABLISHED."""
    p, st, _ = established(ctx)
    spoof = ctx.peer(p.dport, sport=p.sport)
    spoof.send(RST, seq=p.snd_nxt)
    spoof.expect_nothing("a RST from another UDP port")
    s = ctx.status(st.id)
    if s.get("state") != "ESTABLISHED" or s.get("end") is not None:
        raise Fail("a RST from another UDP port affected the connection: %s" % s)
    p.send_data(b"still here")
    if st.recv_exact(10) != b"still here":
        raise Fail("the connection stopped delivering data after the spoofed RST")


@check
def syn_flood_then_legit(ctx):
    """500 SYNs that never complete (from one UDP port, many TCP ports) must
    not keep a legitimate client out: its handshake completes and ACCEPT
    returns it (backlog 128 by default; RFC 4987 SYN cookies or eviction)."""
    port = ctx.new_port()
    ctx.listen(port)
    flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flood.bind(("127.0.0.1", 0))
    try:
        for i in range(500):
            flood.sendto(T.build(10000 + i, port, 7777 + i, 0, SYN, 65535, b"", T.opt_mss(1460)),
                         ctx.toud)
        # wait until toud has answered them all (the answers are SYN,ACKs)
        flood.settimeout(RECV_TIMEOUT)
        answered = 0
        try:
            while answered < 500:
                d = flood.recv(2048)
                if len(d) >= 14 and d[13] & SYN:
                    answered += 1
        except socket.timeout:
            pass
    finally:
        flood.close()
    p = ctx.peer(port)
    try:
        p.handshake(data=b"legit")
    except Fail as e:
        try:
            tcp = ctx.api.stats().get("tcp", {})
            extra = ", STATS DropListenOverflow=%s PassiveOpens=%s" % (
                tcp.get("DropListenOverflow"), tcp.get("PassiveOpens"))
        except (ApiError, OSError, AttributeError):
            extra = ""
        raise Fail("after 500 half-open SYNs a legitimate SYN is not answered (%s)%s; "
                   "RFC 4987 (SYN cookies, or evicting the oldest SYN-RECEIVED) keeps "
                   "a listener reachable" % (e, extra))
    st = ctx.accept(port)
    if st.recv_exact(5) != b"legit":
        raise Fail("the legitimate connection did not deliver its data after the flood "
                   "(%d of 500 flood SYNs were answered)" % answered)


@check
def random_segments_survive(ctx):
    """3000 seeded random segments (random flags, SEQ/ACK near and far from the
    connection's, random windows, valid and invalid options, data) at an
    established connection and a listener: toud keeps answering, a new
    handshake completes (run it on a -DTOU_SANITIZE=ON build to catch memory
    errors)."""
    p, st, _ = established(ctx)
    rng = random.Random(9293)
    opt_pool = [b"", T.opt_mss(rng.randrange(1, 65536)), T.opt_ws(rng.randrange(0, 256)),
                T.opt_sackok(), T.opt_ts(rng.randrange(1 << 32), rng.randrange(1 << 32)),
                T.opt_sack([(p.snd_nxt, seq_add(p.snd_nxt, 100))]), bytes([5, 10, 1, 2]),
                bytes([8, 3, 0, 0]), bytes([2, 40]), bytes([1, 1, 1, 0])]
    for i in range(3000):
        flags = rng.randrange(256)
        near = rng.random() < 0.7
        seq = seq_add(p.snd_nxt, rng.randrange(-70000, 70000)) if near else rng.randrange(1 << 32)
        ack = seq_add(p.rcv_nxt, rng.randrange(-70000, 70000)) if near else rng.randrange(1 << 32)
        opts = b"".join(rng.choice(opt_pool) for _ in range(rng.randrange(0, 4)))[:40]
        data = bytes(rng.randrange(256) for _ in range(rng.choice([0, 0, 1, 10, 500])))
        dport = p.dport if rng.random() < 0.8 else rng.randrange(1, 65536)
        p.raw(T.build(p.sport, dport, seq, ack, flags, rng.randrange(65536), data, opts,
                      urg=rng.randrange(65536) if flags & T.URG else 0))
        if i % 200 == 0:
            while p.recv_any(0.01) is not None:
                pass
    while p.recv_any(0.2) is not None:
        pass
    try:
        ans = ctx.api.request("VERSION")
    except (ApiError, OSError) as e:
        raise Fail("toud stopped answering after random segments: %s" % e)
    if not ans.startswith("OK"):
        raise Fail("VERSION after random segments -> %s" % ans)
    established(ctx, data=b"after the storm")


# ---------------------------------------------------------------- malformed
def malformed_counter(ctx):
    try:
        st = ctx.api.stats()
    except (ApiError, OSError) as e:
        raise Fail("STATS: %s" % e)
    found = []

    def walk(o, path):
        if isinstance(o, dict):
            for k, v in o.items():
                walk(v, path + [str(k)])
        elif isinstance(o, (int, float)) and "malformed" in "/".join(path).lower():
            found.append(o)
    walk(st, [])
    if len(found) != 1:
        raise Fail("expected one malformed-drop counter in STATS, found %d in %s" %
                   (len(found), str(st)[:300]))
    return found[0]


def malformed_case(ctx, what, payload_fn):
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port)
    before = malformed_counter(ctx)
    p.raw(payload_fn(p))
    p.expect_nothing(what)
    after = malformed_counter(ctx)
    if after - before != 1:
        raise Fail("expected the malformed-drop counter to grow by 1 for %s, %d -> %d" %
                   (what, before, after))
    if state_of(ctx, p) is not None:
        raise Fail("%s created a connection" % what)


def syn_bytes(p, opts=b"", doff=None, data=b""):
    return T.build(p.sport, p.dport, 100, 0, SYN, 65535, data, opts, doff=doff)


@check
def malformed_empty(ctx):
    malformed_case(ctx, "an empty datagram", lambda p: b"")


@check
def malformed_short_header(ctx):
    malformed_case(ctx, "a 19-byte datagram", lambda p: syn_bytes(p)[:19])


@check
def malformed_doff_too_small(ctx):
    malformed_case(ctx, "data offset 4 (< 5 words)", lambda p: syn_bytes(p, doff=16))


@check
def malformed_doff_too_big(ctx):
    malformed_case(ctx, "data offset 60 in a 24-byte datagram",
                   lambda p: syn_bytes(p, opts=T.opt_mss(1460), doff=60))


@check
def malformed_optlen_zero(ctx):
    malformed_case(ctx, "an option of length 0",
                   lambda p: syn_bytes(p, opts=bytes([253, 0, 0, 0]) + T.opt_mss(1460)))


@check
def malformed_optlen_overrun(ctx):
    malformed_case(ctx, "an option running past the header",
                   lambda p: syn_bytes(p, opts=T.opt_mss(1460) + bytes([8, 10, 0, 0])))


@check
def malformed_mss_length(ctx):
    malformed_case(ctx, "an MSS option of length 3",
                   lambda p: syn_bytes(p, opts=bytes([2, 3, 5, 1])))


@check
def malformed_huge_garbage(ctx):
    def garbage(p):
        g = bytearray(random.Random(5).randrange(256) for _ in range(65000))
        g[0:4] = struct.pack("!HH", p.sport, p.dport)
        g[12] = 0x30  # data offset 3 words: never a valid header
        return bytes(g)
    malformed_case(ctx, "65000 bytes of garbage", garbage)


@check
def checksum_field_zero(ctx):
    """docs/DESIGN.md section 3: the TCP checksum field is sent as 0 (every segment received
    during this run)."""
    if not CSUMS:
        raise Fail("no segment received yet")
    if CSUMS != {0}:
        bad = sorted(CSUMS - {0})
        raise Fail("expected checksum 0 on every segment, saw %d other values (%s%s)" %
                   (len(bad), ", ".join("0x%04x" % c for c in bad[:5]), ", ..." if len(bad) > 5 else ""))


@check
def header_fields_clean(ctx):
    """RFC 9293 3.1 / 3.2 / 3.10.7: in every segment toud sent during this run
    the reserved bits are zero, the urgent pointer is 0 without URG, a RST
    carries no data, a SYN carries neither FIN nor RST, MSS/WS/SACK-permitted
    appear only on SYNs, and every segment but a SYN or RST has ACK set."""
    if HEADER_ISSUES:
        raise Fail("%d issue(s), first: %s" % (len(HEADER_ISSUES), HEADER_ISSUES[0]))


@check
def daemon_still_works(ctx):
    """After everything above: a normal handshake and data, and VERSION."""
    p, st, _ = established(ctx, data=b"alive")
    try:
        ans = ctx.api.request("VERSION")
    except (ApiError, OSError) as e:
        raise Fail("VERSION: %s" % e)
    if not ans.startswith("OK"):
        raise Fail("expected VERSION -> OK ..., got %s" % ans)


# ---------------------------------------------------------------- IPv6 (--udp6)
CHECKS6 = []


def check6(fn):
    CHECKS6.append(fn)
    return fn


MSS_DEFAULT6 = 1432  # docs/DESIGN.md section 3 / docs/PROTOCOL.md: 1500 - 40 (IPv6) - 8 - 20


@check6
def ipv6_syn_closed_port(ctx):
    """RFC 9293 3.10.7.1 over IPv6: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>."""
    p = ctx.peer(ctx.new_port(), family=socket.AF_INET6)
    p.send(SYN, seq=1000)
    p.expect_seg("reset", seq=0, ack=1001, flags=RST | ACK)


@check6
def ipv6_handshake_mss_1432(ctx):
    """Passive open over IPv6: SYN,ACK MSS 1432 (path MTU 1500 - 40 - 8 - 20),
    data both ways, close."""
    port = ctx.new_port()
    ctx.listen(port)
    p = ctx.peer(port, family=socket.AF_INET6)
    sa = p.handshake(syn_opts=T.opt_mss(1440), data=b"six")
    st = ctx.accept(port)
    if st.recv_exact(3) != b"six":
        raise Fail("app did not get the data sent over IPv6")
    if sa.mss != MSS_DEFAULT6:
        raise Fail("expected MSS %d on an IPv6 SYN,ACK, got %s" % (MSS_DEFAULT6, sa.opt_names()))


@check6
def ipv6_connect_mss_1432(ctx):
    """Active open to [::1]: toud's SYN carries MSS 1432."""
    p = ctx.peer(0, family=socket.AF_INET6)
    sock, syn = toud_connect(ctx, p)
    p.send(SYN | ACK, seq=300, ack=seq_add(syn.seq, 1), opts=T.opt_mss(1440))
    p.snd_nxt, p.rcv_nxt = 301, seq_add(syn.seq, 1)
    p.expect_seg("ACK of our SYN", seq=p.rcv_nxt, ack=301, flags=ACK)
    stream, ans = Api.connect_finish(sock)
    if stream is None:
        raise Fail("expected CONNECT [::1] -> OK, got %s" % ans)
    ctx.cleanup.append(stream.close)
    if syn.mss != MSS_DEFAULT6:
        raise Fail("expected MSS %d on toud's IPv6 SYN, got %s" % (MSS_DEFAULT6, syn.opt_names()))


# ---------------------------------------------------------------- runner
def parse_addr(s):
    host, _, port = s.rpartition(":")
    return (host or "127.0.0.1", int(port))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--udp", help="toud's UDP address, IP:PORT (required)")
    ap.add_argument("--api", help="toud's API socket path (required)")
    ap.add_argument("--udp6", help="toud's IPv6 UDP address [IP]:PORT: adds the IPv6 checks")
    ap.add_argument("--port-base", type=int, default=21000,
                    help="first TCP port used for listeners (default 21000)")
    ap.add_argument("--only", default="", help="comma-separated check names")
    ap.add_argument("--list", action="store_true", help="list the checks and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the segment log of failures")
    args = ap.parse_args()
    if args.list:
        for fn in CHECKS + CHECKS6:
            print(fn.__name__)
        return 0
    if not args.udp or not args.api:
        ap.error("--udp and --api are required")
    args.toud_addr = parse_addr(args.udp)
    args.toud6_addr = None
    checks = list(CHECKS)
    if args.udp6:
        host, _, port = args.udp6.rpartition(":")
        args.toud6_addr = (host.strip("[]"), int(port))
        checks = CHECKS[:-3] + CHECKS6 + CHECKS[-3:]  # checksum/header/alive checks last
    only = set(filter(None, args.only.split(",")))
    unknown = only - {fn.__name__ for fn in checks}
    if unknown:
        print("unknown check(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 2
    ctx = Ctx(args)
    passed = failed = 0
    for fn in checks:
        if only and fn.__name__ not in only:
            continue
        try:
            fn(ctx)
            print("ok %s" % fn.__name__)
            passed += 1
        except Fail as e:
            print("FAIL %s: %s" % (fn.__name__, e))
            failed += 1
            if args.verbose:
                for p in ctx.peers:
                    for line in p.log:
                        print("    %s" % line)
        except Exception as e:  # a bug in this script or an API surprise
            print("FAIL %s: %s: %s" % (fn.__name__, type(e).__name__, e))
            if args.verbose:
                traceback.print_exc(file=sys.stdout)
            failed += 1
        finally:
            ctx.finish()
        sys.stdout.flush()
    if NEGOTIATED:
        for k, v in NEGOTIATED.items():
            print("# %s: %s" % (k, v))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
