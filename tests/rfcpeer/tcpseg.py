"""tcpseg - build and parse RFC 9293 TCP segments (header, options, data).

Standard library only.  A segment is what tou carries in one UDP payload
(docs/DESIGN.md section 3): the 20-byte header, options, data, checksum field 0.
"""

import struct

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
FLAG_NAMES = [(SYN, "SYN"), (RST, "RST"), (FIN, "FIN"), (PSH, "PSH"), (ACK, "ACK"),
              (URG, "URG"), (ECE, "ECE"), (CWR, "CWR")]

# RFC 9293 3.2 / RFC 7323 / RFC 2018 option kinds
OPT_EOL, OPT_NOP, OPT_MSS, OPT_WS, OPT_SACKOK, OPT_SACK, OPT_TS = 0, 1, 2, 3, 4, 5, 8

MOD = 1 << 32


def seq_add(a, b):
    return (a + b) % MOD


def seq_lt(a, b):
    return ((a - b) % MOD) > (1 << 31)


def flags_str(f):
    names = [n for bit, n in FLAG_NAMES if f & bit]
    return ",".join(names) if names else "none"


class MalformedSegment(Exception):
    pass


def opt_mss(v):
    return struct.pack("!BBH", OPT_MSS, 4, v)


def opt_ws(shift):
    return struct.pack("!BBB", OPT_WS, 3, shift)


def opt_sackok():
    return struct.pack("!BB", OPT_SACKOK, 2)


def opt_ts(val, ecr):
    return struct.pack("!BBII", OPT_TS, 10, val % MOD, ecr % MOD)


def opt_nop():
    return bytes([OPT_NOP])


def opt_sack(blocks):
    b = struct.pack("!BB", OPT_SACK, 2 + 8 * len(blocks))
    for left, right in blocks:
        b += struct.pack("!II", left % MOD, right % MOD)
    return b


def build(sport, dport, seq, ack=0, flags=0, win=65535, data=b"", opts=b"", urg=0,
          doff=None, checksum=0):
    """Return the bytes of one TCP segment.  opts is raw option bytes, padded
    with zero (EOL) bytes to a 4-byte multiple; doff overrides the data offset
    (in bytes, for malformed segments)."""
    if len(opts) % 4:
        opts = opts + bytes(4 - len(opts) % 4)
    if doff is None:
        doff = 20 + len(opts)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq % MOD, ack % MOD, ((doff // 4) & 0xF) << 4,
                      flags & 0xFF, win & 0xFFFF, checksum, urg)
    return hdr + opts + data


class Segment:
    """A parsed segment.  Fields: sport dport seq ack flags win urg doff opts
    (list of (kind, bytes)), data, and the parsed options mss ws sackok ts
    (tuple val, ecr) sack (list of (left, right))."""

    def __init__(self, raw):
        if len(raw) < 20:
            raise MalformedSegment("short header: %d bytes" % len(raw))
        (self.sport, self.dport, self.seq, self.ack, off, self.flags, self.win,
         self.csum, self.urg) = struct.unpack("!HHIIBBHHH", raw[:20])
        self.doff = (off >> 4) * 4
        if self.doff < 20 or self.doff > len(raw):
            raise MalformedSegment("data offset %d with %d bytes" % (self.doff, len(raw)))
        self.raw = raw
        self.data = raw[self.doff:]
        self.opts = []
        self.mss = self.ws = self.ts = None
        self.sackok = False
        self.sack = []
        o = raw[20:self.doff]
        i = 0
        while i < len(o):
            kind = o[i]
            if kind == OPT_EOL:
                break
            if kind == OPT_NOP:
                i += 1
                continue
            if i + 1 >= len(o) or o[i + 1] < 2 or i + o[i + 1] > len(o):
                raise MalformedSegment("bad option length at %d" % i)
            ln = o[i + 1]
            body = o[i + 2:i + ln]
            self.opts.append((kind, body))
            if kind == OPT_MSS and ln == 4:
                self.mss = struct.unpack("!H", body)[0]
            elif kind == OPT_WS and ln == 3:
                self.ws = body[0]
            elif kind == OPT_SACKOK and ln == 2:
                self.sackok = True
            elif kind == OPT_TS and ln == 10:
                self.ts = struct.unpack("!II", body)
            elif kind == OPT_SACK and (ln - 2) % 8 == 0:
                self.sack = [struct.unpack("!II", body[j:j + 8]) for j in range(0, ln - 2, 8)]
            i += ln

    @property
    def seg_len(self):
        """SEG.LEN: data octets plus one for SYN and one for FIN."""
        return len(self.data) + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)

    def opt_names(self):
        names = []
        for kind, body in self.opts:
            if kind == OPT_MSS and self.mss is not None:
                names.append("MSS=%d" % self.mss)
            elif kind == OPT_WS and self.ws is not None:
                names.append("WS=%d" % self.ws)
            elif kind == OPT_SACKOK:
                names.append("SACK-PERM")
            elif kind == OPT_TS and self.ts is not None:
                names.append("TS=%d/%d" % self.ts)
            elif kind == OPT_SACK:
                names.append("SACK=" + ",".join("%d-%d" % b for b in self.sack))
            else:
                names.append("opt%d(len %d)" % (kind, len(body) + 2))
        return names

    def __str__(self):
        s = "<SEQ=%d><ACK=%d><CTL=%s><WIN=%d>" % (self.seq, self.ack, flags_str(self.flags),
                                                  self.win)
        if self.data:
            s += "<DATA=%d>" % len(self.data)
        names = self.opt_names()
        if names:
            s += "<OPT=%s>" % " ".join(names)
        return s + " (%d->%d)" % (self.sport, self.dport)


def describe(seq=None, ack=None, flags=None, datalen=None):
    s = ""
    if seq is not None:
        s += "<SEQ=%d>" % (seq % MOD)
    if ack is not None:
        s += "<ACK=%d>" % (ack % MOD)
    if flags is not None:
        s += "<CTL=%s>" % flags_str(flags)
    if datalen is not None:
        s += "<DATA=%d>" % datalen
    return s
