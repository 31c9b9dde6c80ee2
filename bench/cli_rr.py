#!/usr/bin/env python3
"""bench/cli_rr.py - 1-byte ping-pong through the tou CLI (never part of the
test run): `tou connect --nodelay` and `tou listen --nodelay` between two
running toud daemons, each with pipes for stdin and stdout; this process
plays both applications (writes a byte into connect's stdin, reads it from
listen's stdout, writes it back into listen's stdin, reads it from
connect's stdout).

  cli_rr.py --tou TOU -a SOCK_A -b SOCK_B -u HOST:UDPPORT_B [-p PORT]
            [-n COUNT] [--strace DIR] [--sockets]

--sockets: each tou's stdin and stdout are one end of a socketpair (as
inetd starts a program) instead of pipes: tou's read(2)/write(2) path
rather than splice(2).

Prints one line of key=value words (bench/run.sh parses it):
  tou_cli_rr n=.. rtt_us_p50=.. rtt_us_p99=.. rtt_us_min=.. rtt_us_mean=..
With --strace DIR each tou runs under `strace -c -f -o DIR/{connect,listen}`
and the line adds the system calls per round trip of each (sys_connect=..,
sys_listen=.., and by name).
"""
import argparse
import os
import socket
import subprocess
import sys
import time


def strace_counts(path):
    """{syscall: calls} from a strace -c table"""
    counts = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) >= 5 and w[-1] != "total" and w[0].replace(".", "").isdigit() and w[3].isdigit():
                counts[w[-1]] = counts.get(w[-1], 0) + int(w[3])
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tou", required=True)
    ap.add_argument("-a", required=True)
    ap.add_argument("-b", required=True)
    ap.add_argument("-u", required=True)
    ap.add_argument("-p", type=int, default=7010)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--strace")
    ap.add_argument("--sockets", action="store_true")
    o = ap.parse_args()
    keep = []

    def spawn(c):
        """tou with pipes (or one socket) as stdin and stdout: (proc, in_fd, out_fd)"""
        if o.sockets:
            mine, its = socket.socketpair()
            proc = subprocess.Popen(c, stdin=its, stdout=its)
            its.close()
            keep.append(mine)
            return proc, mine.fileno(), mine.fileno()
        proc = subprocess.Popen(c, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        return proc, proc.stdin.fileno(), proc.stdout.fileno()

    def cmd(name, args):
        pre = ["strace", "-c", "-f", "-o", os.path.join(o.strace, name)] if o.strace else []
        return pre + [o.tou] + args

    lst, lin, lout = spawn(cmd("listen", ["-s", o.b, "listen", "--nodelay", str(o.p)]))
    for _ in range(100):
        st = subprocess.run([o.tou, "-s", o.b, "status"], capture_output=True, text=True).stdout
        if any(" LISTEN " in f" {line} " and line.split()[4].endswith(f"/{o.p}") for line in st.splitlines()[1:]
               if len(line.split()) > 4):
            break
        time.sleep(0.05)
    con, cin, cout = spawn(cmd("connect", ["-s", o.a, "connect", "--nodelay", o.u, str(o.p)]))
    rts = []
    for i in range(o.n + 50):  # the first 50: warm-up, not counted
        t = time.perf_counter_ns()
        os.write(cin, b"p")
        if os.read(lout, 1) != b"p":
            sys.exit("cli_rr: the listen side lost the byte")
        os.write(lin, b"q")
        if os.read(cout, 1) != b"q":
            sys.exit("cli_rr: the connect side lost the byte")
        if i >= 50:
            rts.append(time.perf_counter_ns() - t)
    if o.sockets:  # half-close each; what is left is read to EOF
        for k in keep:
            k.shutdown(socket.SHUT_WR)
        for k in keep:
            while k.recv(65536):
                pass
    else:
        con.stdin.close()
        lst.stdin.close()
        con.stdout.read()
        lst.stdout.read()
    rc = con.wait(), lst.wait()
    rts.sort()
    n = len(rts)
    words = [f"tou_cli_rr n={n}", f"rtt_us_p50={rts[n // 2] / 1e3:.1f}",
             f"rtt_us_p99={rts[n * 99 // 100] / 1e3:.1f}", f"rtt_us_min={rts[0] / 1e3:.1f}",
             f"rtt_us_mean={sum(rts) / n / 1e3:.1f}"]
    if o.strace:
        for name in ("connect", "listen"):
            c = strace_counts(os.path.join(o.strace, name))
            total = o.n + 50
            words.append(f"sys_{name}={sum(c.values()) / total:.2f}")
            words += [f"{name}_{k}={v / total:.2f}" for k, v in sorted(c.items()) if v / total >= 0.05]
    print(" ".join(words))
    if rc != (0, 0):
        sys.exit(f"cli_rr: tou exited {rc}")


if __name__ == "__main__":
    main()
