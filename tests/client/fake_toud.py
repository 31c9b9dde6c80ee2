#!/usr/bin/env python3
"""fake_toud.py - a stand-in for toud's Unix-socket API (client/tou_proto.h),
for testing the tou CLI and libtou without the real daemon.

Usage: fake_toud.py SOCKET_PATH

Everything happens inside this one process: a CONNECT to a port that has
a LISTEN is paired with an ACCEPT on that port and the two Unix
connections are relayed to each other (with half-close: EOF from one app
becomes EOF for the other).  Each side has its own connection id, like
two daemons would.  Special cases for error paths:
  - CONNECT to a port without a listener       -> ERR refused
  - CONNECT to host "unreachable.invalid"      -> ERR unreachable
  - CONNECT to a host starting with "192.0.2." -> waits min(timeout, 1) s
                                                  then ERR timeout
  - ABORT <id>: that side ends "aborted", its peer ends "reset", and both
    Unix connections are closed.
STATUS/LIST/STATS/VERSION answer JSON in the daemon's documented shape.
"""
import json
import os
import socket
import sys
import threading
import time

LOCK = threading.Lock()
CONNS = {}        # id -> Conn
LISTENERS = {}    # port -> Listener
NEXT_ID = [1]
STATS = {"TcpActiveOpens": 0, "TcpPassiveOpens": 0, "TcpAttemptFails": 0,
         "TcpEstabResets": 0, "TcpCurrEstab": 0, "TcpInSegs": 0, "TcpOutSegs": 0,
         "drops": {"bad_request": 0}, "udp": {"InDatagrams": 7}}


def new_id():
    with LOCK:
        i = NEXT_ID[0]
        NEXT_ID[0] += 1
        return i


class Conn:
    def __init__(self, sock, port, local_port, remote_port):
        self.id = new_id()
        self.sock = sock
        self.state = "ESTABLISHED"
        self.end = None
        self.local = "127.0.0.1:9811/%d" % local_port
        self.remote = "127.0.0.1:9811/%d" % remote_port
        self.sent = 0
        self.received = 0
        self.peer = None
        self.eof_out = False   # this app sent EOF (our FIN)
        self.eof_in = False    # the peer app sent EOF (their FIN)

    def obj(self):
        d = {"id": self.id, "state": self.state, "local": self.local,
             "remote": self.remote, "uid": os.getuid(), "send_queue": 0,
             "recv_queue": 0, "snd_wnd": 65535, "rcv_wnd": 65535, "mss": 1452,
             "cwnd": 14520, "ssthresh": 4294967295, "srtt_us": 150,
             "rttvar_us": 75, "rto_us": 200000, "retransmits": 0,
             "bytes_sent": self.sent, "bytes_acked": self.sent,
             "bytes_received": self.received, "segs_in": 1, "segs_out": 1,
             "cc": "cubic"}
        if self.end:
            d["end"] = self.end
        return d


class Listener:
    def __init__(self, port):
        self.port = port
        self.pending = []          # (Conn of the connecting side) waiting
        self.cond = threading.Condition(LOCK)


def update_states(c):
    """Called with LOCK held after a half-close on pair c/c.peer."""
    p = c.peer
    for x in (c, p):
        if x.eof_out and x.eof_in:
            x.state = "TIME-WAIT"
            x.end = "fin"
        elif x.eof_out:
            x.state = "FIN-WAIT-2"
        elif x.eof_in:
            x.state = "CLOSE-WAIT"


def relay(src, dst):
    """Copy src's app bytes to dst's app until EOF, then half-close."""
    try:
        while True:
            data = src.sock.recv(262144)
            if not data:
                break
            dst.sock.sendall(data)
            with LOCK:
                src.sent += len(data)
                dst.received += len(data)
    except OSError:
        pass
    with LOCK:
        if src.end or dst.end:
            return  # aborted
        src.eof_out = True
        dst.eof_in = True
        update_states(src)
    try:
        dst.sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def start_pair(a, b):
    a.peer, b.peer = b, a
    with LOCK:
        CONNS[a.id] = a
        CONNS[b.id] = b
        STATS["TcpActiveOpens"] += 1
        STATS["TcpPassiveOpens"] += 1
    threading.Thread(target=relay, args=(a, b), daemon=True).start()
    threading.Thread(target=relay, args=(b, a), daemon=True).start()


def send_line(sock, line):
    sock.sendall((line + "\n").encode())


def read_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        ch = sock.recv(1)
        if not ch:
            return None
        buf += ch
        if len(buf) > 1024:
            return None
    return buf[:-1].decode(errors="replace")


def handle(sock):
    line = read_line(sock)
    if line is None:
        sock.close()
        return
    w = line.split(" ")
    cmd, args = w[0], w[1:]
    keep = False
    try:
        if cmd == "CONNECT" and len(args) >= 2:
            host, port = args[0], int(args[1])
            opts = dict(a.split("=", 1) for a in args[2:] if "=" in a)
            if host == "unreachable.invalid":
                send_line(sock, "ERR unreachable name does not resolve")
            elif host.startswith("192.0.2."):
                time.sleep(min(float(opts.get("timeout", "1")), 1.0))
                send_line(sock, "ERR timeout no answer to SYN")
            else:
                with LOCK:
                    lst = LISTENERS.get(port)
                    if not lst:
                        STATS["TcpAttemptFails"] += 1
                if not lst:
                    send_line(sock, "ERR refused connection refused")
                else:
                    eph = 40000 + NEXT_ID[0]
                    c = Conn(sock, port, eph, port)
                    with LOCK:
                        lst.pending.append(c)
                        lst.cond.notify_all()
                    keep = True  # ACCEPT side answers both
        elif cmd == "LISTEN" and len(args) >= 1:
            port = int(args[0])
            with LOCK:
                if port in LISTENERS:
                    busy = True
                else:
                    busy = False
                    LISTENERS[port] = Listener(port)
            if busy:
                send_line(sock, "ERR inuse port %d already listened on" % port)
            else:
                send_line(sock, "OK %d" % port)
                # The listener lives as long as this connection.
                try:
                    while sock.recv(4096):
                        pass
                except OSError:
                    pass
                with LOCK:
                    LISTENERS.pop(port, None)
        elif cmd == "ACCEPT" and len(args) >= 1:
            port = int(args[0])
            opts = dict(a.split("=", 1) for a in args[1:] if "=" in a)
            limit = float(opts["timeout"]) if "timeout" in opts else None
            deadline = None if limit is None else time.time() + limit
            with LOCK:
                lst = LISTENERS.get(port)
                c = None
                while lst is not None and not lst.pending:
                    left = None if deadline is None else deadline - time.time()
                    if left is not None and left <= 0:
                        break
                    lst.cond.wait(left if left is not None else 0.5)
                    lst = LISTENERS.get(port)
                if lst is not None and lst.pending:
                    c = lst.pending.pop(0)
            if lst is None:
                send_line(sock, "ERR notfound no listener on port %d" % port)
            elif c is None:
                send_line(sock, "ERR timeout no connection within %s s" % opts["timeout"])
            else:
                s = Conn(sock, port, port, int(c.local.rsplit("/", 1)[1]))
                send_line(c.sock, "OK %d %s %s" % (c.id, c.local, c.remote))
                send_line(sock, "OK %d %s %s" % (s.id, s.local, s.remote))
                start_pair(c, s)
                keep = True
        elif cmd == "STATUS" and len(args) == 1:
            with LOCK:
                c = CONNS.get(int(args[0]))
                doc = json.dumps(c.obj(), separators=(",", ":")) if c else None
            if doc:
                send_line(sock, "OK " + doc)
            else:
                send_line(sock, "ERR notfound no connection %s" % args[0])
        elif cmd == "LIST" and not args:
            with LOCK:
                doc = json.dumps([c.obj() for c in CONNS.values()], separators=(",", ":"))
            send_line(sock, "OK " + doc)
        elif cmd == "STATS" and not args:
            with LOCK:
                STATS["TcpCurrEstab"] = sum(1 for c in CONNS.values() if not c.end)
                doc = json.dumps(STATS)
            send_line(sock, "OK " + doc)
        elif cmd == "VERSION" and not args:
            send_line(sock, "OK fake-0.1")
        elif cmd == "ABORT" and len(args) == 1:
            with LOCK:
                c = CONNS.get(int(args[0]))
                if c and not c.end:
                    c.end, c.state = "aborted", "CLOSED"
                    c.peer.end, c.peer.state = "reset", "CLOSED"
                    STATS["TcpEstabResets"] += 1
            if c:
                for x in (c, c.peer):
                    try:
                        x.sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                send_line(sock, "OK")
            else:
                send_line(sock, "ERR notfound no connection %s" % args[0])
        else:
            with LOCK:
                STATS["drops"]["bad_request"] += 1
            send_line(sock, "ERR badrequest cannot parse request")
    except (ValueError, OSError) as e:
        try:
            send_line(sock, "ERR badrequest %s" % str(e).replace("\n", " "))
        except OSError:
            pass
    if not keep:
        sock.close()


def main():
    path = sys.argv[1]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(64)
    while True:
        s, _ = srv.accept()
        threading.Thread(target=handle, args=(s,), daemon=True).start()


if __name__ == "__main__":
    main()
