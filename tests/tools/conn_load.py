#!/usr/bin/env python3
"""conn_load.py - many connections through two toud daemons' APIs.

  conn_load.py idle  A_SOCK B_SOCK B_UDP_PORT N [--pids PID_A,PID_B] [--time-wait]
  conn_load.py churn A_SOCK B_SOCK B_UDP_PORT N [--parallel P] [--closer client|server]

idle: B listens on TCP port 7000; N connections are opened from A (CONNECT)
and taken on B (ACCEPT), in batches; once all are ESTABLISHED and idle, the
daemons' resident (VmRSS) and virtual (VmSize) memory is read from /proc
before and after, and the growth per connection printed.  --time-wait then
closes them from A's side (A keeps each in TIME-WAIT) and prints A's memory
per TIME-WAIT connection.  Exit 1 if a connection failed.

churn: N connections, P at a time: CONNECT, one byte each way, close (by
the client first or the server first); prints the count of `ERR limit`,
`ERR timeout` and other failures, and setups per second.  Exit 1 on any
failure.
"""
import argparse
import os
import socket
import sys
import threading
import time

PORT = 7000


def api(path, line, timeout=60.0):
    for _ in range(2000):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            break
        except BlockingIOError:
            # the daemon's accept queue on its API socket is full: it
            # takes them one loop turn at a time
            s.close()
            time.sleep(0.005)
    else:
        raise OSError("cannot connect to %s: its accept queue stays full" % path)
    s.sendall(line.encode() + b"\n")
    return s


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        buf += c
    return buf.decode(errors="replace").strip()


def mem(pid):
    rss = vsz = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmSize:"):
                vsz = int(line.split()[1])
    return rss, vsz  # KiB


def listen(b_sock):
    s = api(b_sock, "LISTEN %d backlog=1024" % PORT)
    ans = read_line(s)
    if not ans.startswith("OK"):
        sys.exit("LISTEN: %s" % ans)
    return s


def accept_side(a, report, go):
    """Child process: N ACCEPTs on B (their sockets would not fit in one
    process's descriptor limit with the CONNECT side's)."""
    acc = [api(a.b_sock, "ACCEPT %d" % PORT) for _ in range(a.n)]
    failed = 0
    for s in acc:
        if not read_line(s).startswith("OK"):
            failed += 1
    os.write(report, b"%d\n" % failed)
    os.read(go, 1)  # the parent closed its side: read to EOF, close
    for s in acc:
        s.settimeout(30)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        s.close()
    os._exit(0)


def idle(a):
    lst = listen(a.b_sock)
    pids = [int(p) for p in a.pids.split(",")] if a.pids else []
    before = [mem(p) for p in pids]
    report_r, report_w = os.pipe()
    go_r, go_w = os.pipe()
    child = os.fork()
    if child == 0:
        accept_side(a, report_w, go_r)
    held = []
    failed = 0
    batch = 200
    t0 = time.time()
    for start in range(0, a.n, batch):
        k = min(batch, a.n - start)
        con = [api(a.a_sock, "CONNECT 127.0.0.1:%d %d" % (a.b_udp, PORT)) for _ in range(k)]
        for s in con:
            ans = read_line(s)
            if not ans.startswith("OK"):
                failed += 1
                print("failed: %s" % ans, file=sys.stderr)
                s.close()
            else:
                held.append(s)
    with os.fdopen(report_r) as f:
        failed += int(f.readline() or "1")
    setup = time.time() - t0
    print("opened %d connections in %.1f s (%d failed)" % (a.n, setup, failed))
    # idle: the engine gives rings back after an RTO without use
    time.sleep(2)
    after = [mem(p) for p in pids]
    for name, b, f in zip(("A", "B"), before, after):
        print("toud %s: RSS %d -> %d KiB, VSZ %d -> %d KiB: per idle connection %.2f KiB resident, "
              "%.2f KiB virtual" % (name, b[0], f[0], b[1], f[1], (f[0] - b[0]) / a.n, (f[1] - b[1]) / a.n))
    # A closes first: A's connections end in TIME-WAIT, B's in CLOSED
    for s in held:
        s.close()
    os.write(go_w, b"x")
    os.waitpid(child, 0)
    if a.time_wait and pids:
        time.sleep(2)
        tw = mem(pids[0])
        print("toud A after closing all (each in TIME-WAIT): RSS %d KiB: %.2f KiB per TIME-WAIT "
              "above the daemon before the connections" % (tw[0], (tw[0] - before[0][0]) / a.n))
    lst.close()
    return 1 if failed else 0


class Churn:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.next = 0
        self.ok = 0
        self.err_limit = 0
        self.err_timeout = 0
        self.err_other = []

    def take(self):
        with self.lock:
            if self.next >= self.a.n:
                return False
            self.next += 1
            return True

    def note(self, what):
        with self.lock:
            if what == "ok":
                self.ok += 1
            elif what.startswith("ERR limit"):
                self.err_limit += 1
            elif what.startswith("ERR timeout"):
                self.err_timeout += 1
            else:
                self.err_other.append(what)

    def one(self):
        a = self.a
        acc = api(a.b_sock, "ACCEPT %d timeout=30" % PORT)
        con = api(a.a_sock, "CONNECT 127.0.0.1:%d %d timeout=30" % (a.b_udp, PORT))
        ans = read_line(con)
        if not ans.startswith("OK"):
            acc.close()
            con.close()
            return ans
        ans = read_line(acc)
        if not ans.startswith("OK"):
            acc.close()
            con.close()
            return "accept: " + ans
        con.sendall(b"x")
        if acc.recv(1) != b"x":
            return "server got no byte"
        acc.sendall(b"y")
        if con.recv(1) != b"y":
            return "client got no byte"
        first, second = (con, acc) if a.closer == "client" else (acc, con)
        first.close()
        try:
            while second.recv(4096):
                pass
        except OSError:
            pass
        second.close()
        return "ok"

    def worker(self):
        while self.take():
            try:
                self.note(self.one())
            except OSError as e:
                self.note("socket error: %s" % e)


def churn(a):
    lst = listen(a.b_sock)
    c = Churn(a)
    t0 = time.time()
    th = [threading.Thread(target=c.worker) for _ in range(a.parallel)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    dt = time.time() - t0
    lst.close()
    print("churn %d connections, %d parallel, %s closes first: %d ok, %d ERR limit, %d ERR timeout, "
          "%d other; %.0f setups/s" % (a.n, a.parallel, a.closer, c.ok, c.err_limit, c.err_timeout,
                                       len(c.err_other), a.n / dt))
    for e in c.err_other[:10]:
        print("  other: %s" % e)
    return 0 if c.ok == a.n else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("idle", "churn"))
    p.add_argument("a_sock")
    p.add_argument("b_sock")
    p.add_argument("b_udp", type=int)
    p.add_argument("n", type=int)
    p.add_argument("--pids", default="")
    p.add_argument("--time-wait", action="store_true")
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--closer", choices=("client", "server"), default="client")
    a = p.parse_args()
    return idle(a) if a.mode == "idle" else churn(a)


if __name__ == "__main__":
    sys.exit(main())
