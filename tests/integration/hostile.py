#!/usr/bin/env python3
"""hostile.py - hostile peers against live toud daemons on loopback.

Used by tests/integration/test_hostile_*.sh (one scenario each):

  ts_poison       off-path TS.Recent poisoning: two forged datagrams with known
                  sequence numbers, then a sweep of the sequence space; the
                  connection survives and transfers byte-exact (issue 9, 1)
  challenge_ack   an off-path host counts the challenge ACKs its own
                  connection gets after spending forged RSTs on a victim's
                  4-tuple: the count must not tell whether the guessed
                  sequence number was in the window (CVE-2016-5696)
  spray           SYNs, RSTs, data and bad ACKs forged at a live transfer and
                  at an idle connection: the ACKs reflected to the forged
                  source stay bounded per connection; the transfer survives
  clean           a clean 100 MB transfer between two daemons: no segment
                  dropped by PAWS (timestamps never go backwards)
  ao_forge        TCP-AO (RFC 5925) connection between daemons sharing a key:
                  in-window data and RSTs forged as the peer without TCP-AO,
                  with a wrong MAC, with an unknown KeyID, and a signed data
                  segment of an earlier connection replayed into the live one;
                  each is discarded and counted (DropAoMissing, DropAoBadMac,
                  DropAoNoKey), the transfer is byte-exact (issue 14)

A forger is a raw IPv4 socket (IPPROTO_RAW: the test builds the IP and UDP
headers, so the source is any address and port); a tou segment is a UDP
payload (docs/PROTOCOL.md).  "Known" sequence numbers come from a sniffer on
lo (AF_PACKET), as an on-path observer would see them.  Needs root; the
test_hostile_*.sh wrappers run it in a network namespace of its own (unshare
-n), so that lo carries nothing but the scenario's traffic.

Prints "ok NAME" / "FAIL NAME: why" lines, figures as "# ..." lines, and
exits non-zero on any failure.
"""

import array
import hashlib
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "rfcpeer"))
import tcpseg as T  # noqa: E402
from toudapi import Api, ApiError  # noqa: E402

LO = "127.0.0.1"
MOD = 1 << 32
FAILS = []


def note(msg):
    print("# " + msg, flush=True)


def ok(name):
    print("ok " + name, flush=True)


def fail(name, why):
    print("FAIL %s: %s" % (name, why), flush=True)
    FAILS.append(name)


# ---- daemons ----------------------------------------------------------------

class Daemon:
    """One toud on 127.0.0.1:<port> with its own API socket."""

    def __init__(self, name, work, conf="/dev/null"):
        self.name = name
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LO, 0))
        self.port = s.getsockname()[1]
        s.close()
        self.sock = os.path.join(work, name + ".sock")
        self.logpath = os.path.join(work, name + ".log")
        toud = os.environ.get("TOUD", "build/daemon/toud")
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen(
            [toud, "-c", conf, "-o", "daemon.udp=%s:%d" % (LO, self.port),
             "-o", "daemon.socket=" + self.sock], stderr=self.log, stdout=self.log)
        self.api = Api(self.sock, timeout=10.0)
        for _ in range(200):
            if os.path.exists(self.sock):
                try:
                    self.api.request("VERSION")
                    break
                except (OSError, ApiError):
                    pass
            time.sleep(0.05)
        else:
            raise RuntimeError("%s: toud did not start (see %s)" % (name, self.logpath))

    def stats(self):
        return self.api.stats()["tcp"]

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        with open(self.logpath) as f:
            text = f.read()
        if "Sanitizer" in text or "runtime error:" in text:
            fail(self.name + "_sanitizer", "sanitizer report in the daemon's log")
        return self.proc.returncode


def tcp_port(addr):
    """'127.0.0.1:9811/50211' -> 50211"""
    return int(addr.rsplit("/", 1)[1])


def open_pair(srv, cli, port, listener=None):
    """cli CONNECTs to srv's TCP `port` (srv LISTENs unless listener is
    given).  Returns (listener, server stream, client stream)."""
    if listener is None:
        listener = srv.api.listen(port)
    pending = cli.api.connect_start("%s:%d" % (LO, srv.port), port, "nodelay")
    s_srv = srv.api.accept(port, timeout=10)
    s_cli, ans = Api.connect_finish(pending, timeout=10)
    if s_cli is None:
        raise RuntimeError("CONNECT failed: " + ans)
    return listener, s_srv, s_cli


# ---- forging and sniffing ---------------------------------------------------

def csum16(b):
    """The Internet checksum (RFC 1071), summed in native byte order (the
    sum is byte-order independent: swap at the end)."""
    if len(b) % 2:
        b += b"\0"
    s = sum(array.array("H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    if sys.byteorder == "little":
        s = ((s & 0xFF) << 8) | (s >> 8)
    return ~s & 0xFFFF


class Forger:
    """Sends UDP datagrams with any IPv4 source (a raw socket builds the IP
    header; the kernel fills in its checksum and length)."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        self.ident = 1
        self.sent = 0

    def send(self, src_port, dst_port, payload, src=LO, dst=LO):
        sa, da = socket.inet_aton(src), socket.inet_aton(dst)
        ulen = 8 + len(payload)
        pseudo = sa + da + struct.pack("!BBH", 0, socket.IPPROTO_UDP, ulen)
        udp = struct.pack("!HHHH", src_port, dst_port, ulen, 0) + payload
        c = csum16(pseudo + udp) or 0xFFFF
        udp = udp[:6] + struct.pack("!H", c) + udp[8:]
        self.ident = (self.ident + 1) & 0xFFFF
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, self.ident, 0, 64,
                         socket.IPPROTO_UDP, 0, sa, da)
        for _ in range(1000):
            try:
                self.s.sendto(ip + udp, (dst, 0))
                break
            except BlockingIOError:
                time.sleep(0.001)
            except OSError as e:
                if e.errno in (105,):  # ENOBUFS: the device queue is full
                    time.sleep(0.001)
                    continue
                raise
        self.sent += 1

    def segment(self, src_port, dst_port, sport, dport, seq, ack=0, flags=0, data=b"",
                ts=None, win=65535):
        opts = b""
        if ts is not None:
            opts = T.opt_nop() + T.opt_nop() + T.opt_ts(ts[0], ts[1])
        self.send(src_port, dst_port, T.build(sport, dport, seq % MOD, ack % MOD, flags, win,
                                               data, opts))


class Sniffer:
    """Every tou segment between two UDP ports on lo, as an on-path observer
    sees it (AF_PACKET; each datagram is seen once on lo's receive path)."""

    def __init__(self):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        self.s.bind(("lo", 0x0800))
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.s.setblocking(False)

    def flush(self):
        """Forget what was captured so far (a full buffer drops new packets)."""
        while True:
            try:
                self.s.recv(70000)
            except BlockingIOError:
                return

    def drain(self):
        """[(udp sport, udp dport, Segment)] of what arrived so far (each IP
        packet appears once: outgoing copies are skipped)."""
        out = []
        while True:
            try:
                pkt, addr = self.s.recvfrom(70000)
            except BlockingIOError:
                return out
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            if len(pkt) < 28 or pkt[9] != socket.IPPROTO_UDP:
                continue
            ihl = (pkt[0] & 0x0F) * 4
            sp, dp = struct.unpack("!HH", pkt[ihl:ihl + 4])
            try:
                seg = T.Segment(pkt[ihl + 8:])
            except T.MalformedSegment:
                continue
            out.append((sp, dp, seg))

    def close(self):
        self.s.close()


def latest(segs, from_port, to_port, tport_from, with_data=False):
    """The last sniffed segment from_port -> to_port of TCP source port
    tport_from (with data, if asked)."""
    for sp, dp, seg in reversed(segs):
        if sp == from_port and dp == to_port and seg.sport == tport_from:
            if with_data and not seg.data:
                continue
            return seg
    return None


# ---- streams ----------------------------------------------------------------

def pattern(n, seed):
    r = random.Random(seed)
    return r.randbytes(n) if hasattr(r, "randbytes") else bytes(r.getrandbits(8) for _ in range(n))


class Transfer:
    """Sends `data` on stream `a`, reads it on stream `b` (threads); result:
    done / sha match / seconds."""

    def __init__(self, a, b, data, timeout):
        self.a, self.b, self.data, self.timeout = a, b, data, timeout
        self.want = hashlib.sha256(data).hexdigest()
        self.got_hash = None
        self.got_len = 0
        self.err = None
        self.t0 = time.monotonic()
        self.seconds = None
        self.tw = threading.Thread(target=self._write, daemon=True)
        self.tr = threading.Thread(target=self._read, daemon=True)
        self.tw.start()
        self.tr.start()

    def _write(self):
        try:
            self.a.sock.settimeout(self.timeout)
            self.a.sock.sendall(self.data)
        except OSError as e:
            self.err = "write: %s" % e

    def _read(self):
        h = hashlib.sha256()
        n = 0
        deadline = self.t0 + self.timeout
        try:
            while n < len(self.data):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.b.sock.settimeout(left)
                chunk = self.b.sock.recv(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
        except OSError as e:
            self.err = "read: %s" % e
        self.got_len = n
        self.got_hash = h.hexdigest()
        self.seconds = time.monotonic() - self.t0

    def wait(self):
        self.tr.join(self.timeout + 5)
        self.tw.join(1)
        return self.got_len == len(self.data) and self.got_hash == self.want

    def why(self):
        return "%d of %d bytes in %.2f s%s" % (self.got_len, len(self.data), self.seconds or -1,
                                               (" (%s)" % self.err) if self.err else "")


# ---- scenarios --------------------------------------------------------------

def learn(sniff, srv, cli, cli_tport, s_srv, s_cli, srv_tport=7000):
    """One exchange on a connection (cli's TCP port cli_tport to srv's
    srv_tport) so that the sniffer sees both sides' latest sequence numbers
    and TSvals.  Returns (up, down, srv RCV.NXT, cli RCV.NXT): the last data
    segments cli -> srv and srv -> cli (2 bytes each)."""
    sniff.flush()
    s_cli.send(b"hi")
    if s_srv.recv_exact(2, timeout=10) != b"hi":
        raise RuntimeError("no hi")
    s_srv.send(b"ok")
    if s_cli.recv_exact(2, timeout=10) != b"ok":
        raise RuntimeError("no ok")
    time.sleep(0.2)  # the delayed ACKs went out
    segs = sniff.drain()
    up = latest(segs, cli.port, srv.port, cli_tport, with_data=True)
    down = latest(segs, srv.port, cli.port, srv_tport, with_data=True)
    if up is None or down is None or up.ts is None or down.ts is None:
        raise RuntimeError("the sniffer saw no data segment with timestamps")
    return up, down, (up.seq + len(up.data)) % MOD, (down.seq + len(down.data)) % MOD


def scenario_ts_poison():
    """Issue 9 item 1: TS.Recent poisoning."""
    work = tempfile.mkdtemp(prefix="tou-hostile.")
    A, B = Daemon("A", work), Daemon("B", work)
    forge, sniff = Forger(), Sniffer()
    try:
        # -- 1. known sequence numbers: two datagrams per direction ----------
        lst, s_a, s_b = open_pair(A, B, 7000)
        bport = tcp_port(s_b.local)
        hb, ha, a_rcv_nxt, b_rcv_nxt = learn(sniff, A, B, bport, s_a, s_b)
        note("known: A RCV.NXT %d (B's TSval %d), B RCV.NXT %d (A's TSval %d)"
             % (a_rcv_nxt, hb.ts[0], b_rcv_nxt, ha.ts[0]))
        evil_b = (hb.ts[0] + 0x7FFFFFFF) % MOD
        evil_a = (ha.ts[0] + 0x7FFFFFFF) % MOD
        # as B to A: a segment covering RCV.NXT without ACK, and one with an
        # ACK far outside the window
        forge.segment(B.port, A.port, bport, 7000, a_rcv_nxt, 0, 0, b"X", ts=(evil_b, 0))
        forge.segment(B.port, A.port, bport, 7000, a_rcv_nxt, ha.seq - 0x80000000, T.ACK, b"X",
                      ts=(evil_b, 0))
        # as A to B
        forge.segment(A.port, B.port, 7000, bport, b_rcv_nxt, 0, 0, b"Y", ts=(evil_a, 0))
        forge.segment(A.port, B.port, 7000, bport, b_rcv_nxt, hb.seq - 0x80000000, T.ACK, b"Y",
                      ts=(evil_a, 0))
        time.sleep(0.1)
        paws0 = A.stats()["DropPaws"] + B.stats()["DropPaws"]
        t1 = Transfer(s_b, s_a, pattern(8 << 20, 1), timeout=20)
        t2 = Transfer(s_a, s_b, pattern(2 << 20, 2), timeout=20)
        r1, r2 = t1.wait(), t2.wait()
        paws = A.stats()["DropPaws"] + B.stats()["DropPaws"] - paws0
        note("after 4 forged datagrams: 8 MiB B->A %s, 2 MiB A->B %s; PAWS drops %d"
             % (t1.why(), t2.why(), paws))
        if r1 and r2:
            ok("ts_poison_known_seq")
        else:
            fail("ts_poison_known_seq", "transfer did not complete byte-exact: B->A %s, A->B %s"
                 % (t1.why(), t2.why()))
        s_a.close()
        s_b.close()

        # -- 2. a sweep: 32 KiB segments end to end over 2^28 sequence
        # numbers around RCV.NXT at an unknown offset (1/16 of a blind sweep
        # of the whole space, which takes 4 GiB on the wire) ------------------
        _, s_a, s_b = open_pair(A, B, 7000, listener=lst)
        bport = tcp_port(s_b.local)
        hb, _, a_rcv_nxt, _ = learn(sniff, A, B, bport, s_a, s_b)
        step = 32768
        nseg = (1 << 28) // step
        start = (a_rcv_nxt - random.Random(5).randrange(nseg) * step - 1000) % MOD
        junk = b"J" * step
        evil = (hb.ts[0] + 0x40000000) % MOD
        t0 = time.monotonic()
        for i in range(nseg):
            forge.segment(B.port, A.port, bport, 7000, start + i * step, 0, 0, junk,
                          ts=(evil, 0))
            if i % 32 == 31:
                time.sleep(0.002)  # the daemon's socket buffer keeps up
        note("sweep: %d forged datagrams (%d MiB) in %.1f s"
             % (nseg, nseg * step >> 20, time.monotonic() - t0))
        t1 = Transfer(s_b, s_a, pattern(8 << 20, 3), timeout=20)
        if t1.wait():
            ok("ts_poison_sweep")
        else:
            fail("ts_poison_sweep", "transfer did not complete byte-exact: " + t1.why())
        s_a.close()
        s_b.close()
        lst.close()
        for d in (A, B):
            if not d.alive():
                fail("daemon_alive", "%s exited" % d.name)
    finally:
        sniff.close()
        A.stop()
        B.stop()


def own_connection(A, port, u, sport, iss=1000):
    """Our own TCP connection (UDP socket u) to A's TCP `port`: returns
    (our SND.NXT, our RCV.NXT, A's TSval echo state)."""
    tsval = 5000
    u.sendto(T.build(sport, port, iss, 0, T.SYN, 65535, b"",
                     T.opt_mss(1400) + T.opt_nop() + T.opt_nop() + T.opt_ts(tsval, 0)),
             (LO, A.port))
    u.settimeout(5)
    while True:
        data, _ = u.recvfrom(70000)
        s = T.Segment(data)
        if s.flags & T.SYN and s.flags & T.ACK:
            break
    rcv_nxt = (s.seq + 1) % MOD
    ts_recent = s.ts[0] if s.ts else 0
    tsval += 1
    u.sendto(T.build(sport, port, iss + 1, rcv_nxt, T.ACK, 65535, b"",
                     T.opt_nop() + T.opt_nop() + T.opt_ts(tsval, ts_recent)), (LO, A.port))
    return iss + 1, rcv_nxt, tsval, ts_recent


def count_answers(u, timeout):
    n = 0
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return n
        u.settimeout(left)
        try:
            u.recvfrom(70000)
            n += 1
        except socket.timeout:
            return n


def scenario_challenge_ack():
    """CVE-2016-5696: can the count of challenge ACKs on the attacker's own
    connection tell whether a forged RST hit a victim's window?"""
    work = tempfile.mkdtemp(prefix="tou-hostile.")
    A, B = Daemon("A", work), Daemon("B", work)
    forge, sniff = Forger(), Sniffer()
    try:
        lst, s_a, s_b = open_pair(A, B, 7000)
        bport = tcp_port(s_b.local)
        counts = {}
        for attempt, in_window in enumerate((True, False, True, False)):
            _, _, a_rcv_nxt, _ = learn(sniff, A, B, bport, s_a, s_b)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            u.bind((LO, 0))
            sport = 30000 + attempt
            snd_nxt, rcv_nxt, tsval, ts_recent = own_connection(A, 7000, u, sport)
            count_answers(u, 0.3)
            time.sleep(1.1)  # a fresh second for the daemon's budget
            # 200 forged RSTs on the victim's 4-tuple: in the window (not at
            # RCV.NXT: each draws a challenge ACK) or far outside it
            base = a_rcv_nxt + 1 if in_window else a_rcv_nxt + 0x40000000
            for i in range(200):
                forge.segment(B.port, A.port, bport, 7000, base + i, 0, T.RST)
            # then 1000 in-window RSTs on our own connection, counted
            t0 = time.monotonic()
            for i in range(1000):
                u.sendto(T.build(sport, 7000, snd_nxt + 1 + i, 0, T.RST, 65535), (LO, A.port))
            spent = time.monotonic() - t0
            n = count_answers(u, 0.5)
            counts.setdefault(in_window, []).append(n)
            # what one connection may draw: one per 500 ms slot its RSTs span
            # (a stalled machine may stretch the burst over several)
            slots = 1 + int(spent / 0.5) + 1
            if n > slots:
                fail("challenge_ack_per_connection", "%d challenge ACKs for 1000 RSTs sent in "
                     "%.2f s (at most %d expected)" % (n, spent, slots))
            note("%s guess: the attacker's own connection got %d challenge ACKs for 1000 RSTs "
                 "(sent in %.2f s)" % ("in-window" if in_window else "out-of-window", n, spent))
            u.close()
        # the counts say nothing of the guess: the same but for a stall that
        # let one more 500 ms slot in (the old fixed budget differed by the
        # 200 RSTs spent on the victim, every time)
        diff = abs(sum(counts[True]) - sum(counts[False]))
        if diff <= 1:
            ok("challenge_ack_count_blind")
        else:
            fail("challenge_ack_count_blind", "in-window guesses drew %s, out-of-window %s"
                 % (counts[True], counts[False]))
        # the victim's connection is intact
        t = Transfer(s_b, s_a, pattern(1 << 20, 4), timeout=20)
        if t.wait():
            ok("challenge_ack_victim_intact")
        else:
            fail("challenge_ack_victim_intact", t.why())
        s_a.close()
        s_b.close()
        lst.close()
    finally:
        sniff.close()
        A.stop()
        B.stop()


def scenario_spray():
    """SYN/RST/data/bad-ACK spray at a live transfer (B -> A) and at an idle
    connection (C -> A), forged as the peers.  The idle connection's peer C
    sends nothing itself, so every segment C receives meanwhile is an ACK
    that A reflected to the forged source."""
    work = tempfile.mkdtemp(prefix="tou-hostile.")
    A, B, C = Daemon("A", work), Daemon("B", work), Daemon("C", work)
    forge, sniff = Forger(), Sniffer()
    try:
        lst, s_a, s_b = open_pair(A, B, 7000)             # the transfer
        _, i_a, i_c = open_pair(A, C, 7000, listener=lst)  # idle
        bport, iport = tcp_port(s_b.local), tcp_port(i_c.local)
        hc, _, i_rcv_nxt, _ = learn(sniff, A, C, iport, i_a, i_c)
        sniff.close()
        tsc = hc.ts[0]
        st0, c0 = A.stats(), C.stats()["InSegs"]
        t = Transfer(s_b, s_a, pattern(32 << 20, 6), timeout=30)
        rng = random.Random(7)
        n = 0
        t0 = time.monotonic()
        while n < 20000:
            for src, port in ((B.port, bport), (C.port, iport)):
                k = n % 5
                seq = rng.getrandbits(32)
                fresh = (tsc + 1000000) % MOD  # passes PAWS: reaches the later checks
                if k == 0:
                    forge.segment(src, A.port, port, 7000, seq, 0, T.SYN, ts=(fresh, 0))
                elif k == 1:
                    # in the idle connection's window: a challenge ACK each
                    forge.segment(src, A.port, port, 7000, i_rcv_nxt + 1 + (n % 1000), 0,
                                  T.RST)
                elif k == 2:
                    forge.segment(src, A.port, port, 7000, seq, rng.getrandbits(32),
                                  T.ACK | T.PSH, b"spray" * 20, ts=(fresh, 0))
                elif k == 3:
                    forge.segment(src, A.port, port, 7000, seq, 0, T.RST)
                else:
                    # an old TSval at RCV.NXT: PAWS
                    forge.segment(src, A.port, port, 7000, i_rcv_nxt, hc.ack, T.ACK,
                                  ts=((tsc - 100000) % MOD, 0))
                n += 1
            if n % 200 == 0:
                time.sleep(0.001)
        spray_s = time.monotonic() - t0
        done = t.wait()
        time.sleep(0.3)
        reflected = C.stats()["InSegs"] - c0
        st1 = A.stats()
        d = {k: st1[k] - st0[k] for k in ("ChallengeAcks", "AckSkippedPaws", "AckSkippedSeq",
                                           "AckSkippedChallenge", "DropOutOfWindow", "DropPaws")
             if k in st1}
        note("spray: %d forged segments (half to each connection) in %.1f s; ACKs reflected by "
             "the idle connection: %d; A's counters: %s" % (n, spray_s, reflected, d))
        # one ACK per 500 ms per connection (cfg invalid_ratelimit)
        bound = 2 * int(spray_s + 1.5) + 2
        if reflected <= bound:
            ok("spray_reflection_bounded")
        else:
            fail("spray_reflection_bounded", "%d ACKs reflected for %d forged segments in %.1f s "
                 "(at most %d expected)" % (reflected, n // 2, spray_s, bound))
        if done:
            ok("spray_transfer_survives")
        else:
            fail("spray_transfer_survives", t.why())
        # the idle connection still works
        i_c.send(b"still")
        if i_a.recv_exact(5, timeout=10) == b"still":
            ok("spray_idle_survives")
        else:
            fail("spray_idle_survives", "no data on the idle connection after the spray")
        for s in (s_a, s_b, i_a, i_c, lst):
            s.close()
    finally:
        A.stop()
        B.stop()
        C.stop()


def scenario_clean():
    """A clean 100 MB transfer each way at once (both daemons build
    segments from received ACKs and from application data, the mix that
    made TSvals go backwards): no PAWS drops."""
    work = tempfile.mkdtemp(prefix="tou-hostile.")
    A, B = Daemon("A", work), Daemon("B", work)
    try:
        lst, s_a, s_b = open_pair(A, B, 7000)
        data = pattern(100 << 20, 8)
        t = Transfer(s_b, s_a, data, timeout=60)
        t2 = Transfer(s_a, s_b, data, timeout=60)
        done = t.wait() and t2.wait()
        time.sleep(0.2)
        pa, pb = A.stats()["DropPaws"], B.stats()["DropPaws"]
        rt = A.stats()["RetransSegs"] + B.stats()["RetransSegs"]
        note("100 MiB B->A: %s, 100 MiB A->B: %s; DropPaws A %d, B %d; %d segments "
             "retransmitted" % (t.why(), t2.why(), pa, pb, rt))
        if not done:
            fail("clean_transfer", "B->A %s, A->B %s" % (t.why(), t2.why()))
        else:
            ok("clean_transfer")
        if pa == 0 and pb == 0:
            ok("clean_no_paws_drops")
        else:
            fail("clean_no_paws_drops", "DropPaws A %d, B %d" % (pa, pb))
        for s in (s_a, s_b, lst):
            s.close()
    finally:
        A.stop()
        B.stop()


def ao_conf(work):
    """A toud.conf with one [key] for 127.0.0.1 (both daemons load it)."""
    secret = os.path.join(work, "k1.secret")
    with open(secret, "w") as f:
        f.write("a hostile test's secret\n")
    os.chmod(secret, 0o600)
    conf = os.path.join(work, "ao.conf")
    with open(conf, "w") as f:
        f.write("[key k1]\npeer = 127.0.0.1\nsend_id = 1\nrecv_id = 1\n"
                "algorithm = hmac-sha-1-96\nsecret_file = %s\n" % secret)
    return conf


def ao_option(keyid, mac):
    """RFC 5925 2.2: kind 29, length, KeyID, RNextKeyID, MAC."""
    return bytes([29, 4 + len(mac), keyid, keyid]) + mac


def scenario_ao_forge():
    """Segments forged as A at B's end of a TCP-AO connection A -> B while
    48 MB flow on it: without the option, with a MAC of random bytes, with a
    KeyID no key has, RSTs at RCV.NXT with a wrong MAC, and a signed data
    segment of an earlier connection (ports and sequence number moved into
    the live one).  RFC 5925 7.5.2: each is silently discarded before any
    other processing, and counted."""
    work = tempfile.mkdtemp(prefix="tou-hostile.")
    conf = ao_conf(work)
    A, B = Daemon("A", work, conf), Daemon("B", work, conf)
    forge, sniff = Forger(), Sniffer()
    try:
        # an earlier connection: one of its signed data segments A -> B
        lst, o_b, o_a = open_pair(B, A, 7000)
        oport = tcp_port(o_a.local)
        old, _, _, _ = learn(sniff, B, A, oport, o_b, o_a)
        if not any(k == 29 for k, _ in old.opts):
            raise RuntimeError("the daemons did not use TCP-AO (no option 29 on the wire)")
        o_a.close()
        o_b.close()
        time.sleep(0.3)
        # the live one
        _, s_b, s_a = open_pair(B, A, 7000, listener=lst)
        aport = tcp_port(s_a.local)
        up, _, b_rcv_nxt, _ = learn(sniff, B, A, aport, s_b, s_a)
        sniff.close()
        st0 = B.stats()
        t = Transfer(s_a, s_b, pattern(48 << 20, 9), timeout=60)
        rng = random.Random(12)
        ts = T.opt_nop() + T.opt_nop() + T.opt_ts((up.ts[0] + 1000000) % MOD, up.ts[1])
        sent = [0] * 5
        for i in range(4000):
            k = i % 5
            seq = (b_rcv_nxt + rng.randrange(0, 32768)) % MOD
            data = b"forged" * 20
            if k == 0:    # no TCP-AO at all
                seg = T.build(aport, 7000, seq, up.ack, T.ACK | T.PSH, 65535, data, ts)
            elif k == 1:  # the right KeyID, a MAC of random bytes
                seg = T.build(aport, 7000, seq, up.ack, T.ACK | T.PSH, 65535, data,
                              ao_option(1, rng.getrandbits(96).to_bytes(12, "big")) + ts)
            elif k == 2:  # a KeyID no key has
                seg = T.build(aport, 7000, seq, up.ack, T.ACK | T.PSH, 65535, data,
                              ao_option(77, rng.getrandbits(96).to_bytes(12, "big")) + ts)
            elif k == 3:  # a RST at RCV.NXT, wrong MAC
                seg = T.build(aport, 7000, b_rcv_nxt, 0, T.RST, 0, b"",
                              ao_option(1, rng.getrandbits(96).to_bytes(12, "big")))
            else:         # the earlier connection's signed segment, moved here
                seg = struct.pack("!HHI", aport, 7000, seq) + old.raw[8:]
            forge.send(A.port, B.port, seg)
            sent[k] += 1
            if i % 100 == 99:
                time.sleep(0.002)
        done = t.wait()
        time.sleep(0.3)
        st1 = B.stats()
        d = {k: st1[k] - st0[k] for k in ("DropAoMissing", "DropAoBadMac", "DropAoNoKey")}
        note("ao_forge: forged %s (missing, bad MAC, unknown KeyID, RST, replay); B's counters "
             "grew by %s; transfer: %s" % (sent, d, t.why()))
        if done:
            ok("ao_forge_transfer_survives")
        else:
            fail("ao_forge_transfer_survives", t.why())
        # every forged segment that reached B is counted under its reason:
        # at most what was sent, and more than half of it (lo may drop some
        # while the transfer fills B's socket buffer)
        want = {"DropAoMissing": sent[0], "DropAoBadMac": sent[1] + sent[3] + sent[4],
                "DropAoNoKey": sent[2]}
        for k, n in want.items():
            if n // 2 < d[k] <= n + 50:  # (+ a few of the transfer's own: none expected)
                ok("ao_forge_counted_%s" % k)
            else:
                fail("ao_forge_counted_%s" % k, "%d counted for %d forged" % (d[k], n))
        s_a.send(b"still")
        if s_b.recv_exact(5, timeout=10) == b"still":
            ok("ao_forge_connection_alive")
        else:
            fail("ao_forge_connection_alive", "no data after the forgeries")
        for s in (s_a, s_b, lst):
            s.close()
    finally:
        A.stop()
        B.stop()


SCENARIOS = {"ts_poison": scenario_ts_poison, "challenge_ack": scenario_challenge_ack,
             "spray": scenario_spray, "clean": scenario_clean, "ao_forge": scenario_ao_forge}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        print("usage: hostile.py %s" % "|".join(SCENARIOS), file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("FAIL setup: needs root (raw and packet sockets)")
        return 1
    try:
        SCENARIOS[sys.argv[1]]()
    except (RuntimeError, OSError, ApiError) as e:
        fail("setup", "%s: %s" % (type(e).__name__, e))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
