#!/usr/bin/env python3
"""kernel_interop - the Linux kernel's TCP talking to toud through tunbridge.

Run inside the network namespace that tests/integration/test_interop_kernel.sh
sets up (TUN with the kernel's address, tunbridge, toud).  Checks:

  kernel_to_toud_kernel_closes   kernel client -> toud listener, N MB each way,
                                 hashes match, the kernel sends FIN first
  kernel_to_toud_toud_closes     the same, toud's app closes first
  toud_to_kernel                 toud CONNECTs out to a kernel listener (toud
                                 closes first; _kernel_closes: the kernel does)
  kernel_parallel                20 kernel clients at once, 256 kB each way
  kernel_keepalive               the kernel's keep-alives are answered
  kernel_rst                     kernel closes with SO_LINGER 0 (RST): STATUS
                                 end "reset"
  toud_abort                     ABORT <id>: the kernel socket gets ECONNRESET
  kernel_to_slow_reader          toud's app pauses: zero window, kernel probes
  toud_to_slow_kernel            the kernel app pauses: toud probes (persist)
  (with --loss-label) the transfers run over a lossy path: byte-exact still

Prints "ok NAME" / "FAIL NAME: ..." and "N passed, N failed"; also what the
kernel and toud negotiated (ss -tin, STATUS).  Standard library only.
"""

import argparse
import hashlib
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from toudapi import Api, ApiError  # noqa: E402


class Fail(Exception):
    pass


def sha(b):
    return hashlib.sha256(b).hexdigest()[:16]


class End:
    """One side of a transfer: a socket, the bytes it sends, what it gets."""

    def __init__(self, name, sock, data):
        self.name = name
        self.sock = sock
        self.data = data
        self.got = bytearray()
        self.eof = threading.Event()
        self.err = None
        self.sent = threading.Event()


def transfer(a, b, first, timeout):
    """a and b send their data concurrently; `first` shuts down its write
    side right after sending, the other only after it has read EOF.  Both
    read until EOF.  Returns nothing; raises Fail on error or timeout."""
    def sender(e, other_first):
        try:
            e.sock.settimeout(timeout)
            e.sock.sendall(e.data)
            e.sent.set()
            if not other_first:
                e.sock.shutdown(socket.SHUT_WR)
            else:
                if not e.eof.wait(timeout):
                    raise Fail("%s never saw EOF" % e.name)
                e.sock.shutdown(socket.SHUT_WR)
        except Exception as ex:  # recorded, reported by the caller
            e.err = e.err or "send: %s" % ex

    def receiver(e):
        try:
            e.sock.settimeout(timeout)
            while True:
                d = e.sock.recv(262144)
                if not d:
                    break
                e.got += d
            e.eof.set()
        except Exception as ex:
            e.err = e.err or "recv after %d bytes: %s" % (len(e.got), ex)
            e.eof.set()

    threads = [threading.Thread(target=sender, args=(a, a is not first)),
               threading.Thread(target=sender, args=(b, b is not first)),
               threading.Thread(target=receiver, args=(a,)),
               threading.Thread(target=receiver, args=(b,))]
    for t in threads:
        t.daemon = True
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        raise Fail("transfer did not finish within %ds: %s got %d/%d, %s got %d/%d" %
                   (timeout, a.name, len(a.got), len(b.data), b.name, len(b.got), len(a.data)))
    for e in (a, b):
        if e.err:
            raise Fail("%s: %s" % (e.name, e.err))
    for src, dst in ((a, b), (b, a)):
        if bytes(dst.got) != src.data:
            raise Fail("%s -> %s: sent %d bytes sha %s, received %d bytes sha %s" %
                       (src.name, dst.name, len(src.data), sha(src.data), len(dst.got),
                        sha(bytes(dst.got))))


def expect_end(api, cid, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = api.status(cid)
        except (ApiError, OSError) as e:
            raise Fail("STATUS %d: %s" % (cid, e))
        if last.get("end") is not None:
            if last["end"] != want:
                raise Fail("expected STATUS %d end \"%s\", got \"%s\"" % (cid, want, last["end"]))
            return last
        time.sleep(0.05)
    raise Fail("expected STATUS %d end \"%s\" within %ds, got %s" % (cid, want, timeout, last))


class Runner:
    def __init__(self, args):
        self.args = args
        self.api = Api(args.api)
        self.passed = 0
        self.failed = 0
        self.port = args.port_base
        self.rng = random.Random(args.seed)
        self.negotiated_printed = False
        self.af = socket.AF_INET6 if ":" in args.toud_ip else socket.AF_INET
        self.bridge_host = "[::1]" if self.af == socket.AF_INET6 else "127.0.0.1"

    def next_port(self):
        self.port += 1
        return self.port

    def run(self, name, fn):
        name = name + self.args.label
        try:
            fn()
            print("ok %s" % name)
            self.passed += 1
        except Fail as e:
            print("FAIL %s: %s" % (name, e))
            self.failed += 1
        except Exception as e:
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
            self.failed += 1
        sys.stdout.flush()

    def data(self, n):
        return self.rng.randbytes(n)

    # -- a kernel client connected to a toud listener
    def kernel_client(self):
        port = self.next_port()
        try:
            lsock = self.api.listen(port)
        except (ApiError, OSError) as e:
            raise Fail("LISTEN %d: %s" % (port, e))
        k = socket.socket(self.af, socket.SOCK_STREAM)
        k.settimeout(10)
        try:
            k.connect((self.args.toud_ip, port))
        except OSError as e:
            lsock.close()
            raise Fail("kernel connect to %s:%d through the bridge: %s" % (self.args.toud_ip, port, e))
        try:
            st = self.api.accept(port, timeout=10)
        except (ApiError, OSError) as e:
            lsock.close()
            raise Fail("ACCEPT %d: %s" % (port, e))
        return lsock, k, st

    def show_negotiated(self, st):
        if self.negotiated_printed:
            return
        self.negotiated_printed = True
        try:
            out = subprocess.run(["ss", "-tinH", "dst", self.args.toud_ip], capture_output=True,
                                 text=True, timeout=5).stdout
        except Exception as e:
            out = "ss failed: %s" % e
        print("# kernel view (ss -tin):")
        for line in out.strip().splitlines():
            print("#   " + line.strip())
        try:
            s = self.api.status(st.id)
            keys = ["state", "mss", "snd_wnd", "rcv_wnd", "cwnd", "srtt_us", "rto_us", "cc",
                    "snd_wscale", "rcv_wscale", "sack", "sack_ok", "timestamps", "ts_ok", "wscale"]
            print("# toud view (STATUS %d): %s" % (st.id, " ".join(
                "%s=%s" % (k, s[k]) for k in keys if k in s)))
            print("# toud STATUS json: %s" % s)
        except (ApiError, OSError) as e:
            print("# STATUS failed: %s" % e)

    def kernel_to_toud(self, first_closer):
        def fn():
            lsock, k, st = self.kernel_client()
            try:
                n = self.args.bytes
                kd, td = self.data(n), self.data(n)
                ke = End("kernel", k, kd)
                te = End("toud-app", st.sock, td)
                # capture the options while the connection is up
                self.show_negotiated(st)
                transfer(ke, te, ke if first_closer == "kernel" else te, self.args.timeout)
                st.close()
                k.close()
                expect_end(self.api, st.id, "fin")
            finally:
                lsock.close()
                k.close()
                st.close()
        return fn

    def toud_to_kernel(self, first_closer="toud"):
        return lambda: self._toud_to_kernel(first_closer)

    def _toud_to_kernel(self, first_closer):
        port = self.next_port()
        ls = socket.socket(self.af, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.args.kernel_ip, port))
        ls.listen(4)
        ls.settimeout(10)
        try:
            try:
                sock = self.api.connect_start("%s:%d" % (self.bridge_host, self.args.bridge_port), port)
                stream, ans = Api.connect_finish(sock, 15)
            except (ApiError, OSError) as e:
                raise Fail("CONNECT %s:%d %d: %s" % (self.bridge_host, self.args.bridge_port, port, e))
            if stream is None:
                raise Fail("CONNECT %s:%d %d -> %s" % (self.bridge_host, self.args.bridge_port, port, ans))
            try:
                k, _ = ls.accept()
            except socket.timeout:
                raise Fail("the kernel listener got no connection although CONNECT said %s" % ans)
            try:
                n = self.args.bytes
                te = End("toud-app", stream.sock, self.data(n))
                ke = End("kernel", k, self.data(n))
                transfer(te, ke, te if first_closer == "toud" else ke, self.args.timeout)
                stream.close()
                k.close()
                expect_end(self.api, stream.id, "fin")
            finally:
                k.close()
                stream.close()
        finally:
            ls.close()

    def kernel_to_slow_reader(self):
        """The toud app does not read for a while: toud's window closes, the
        kernel probes the zero window; then the app reads everything."""
        lsock, k, st = self.kernel_client()
        try:
            n = self.args.bytes * 3
            data = self.data(n)
            err = []

            def send():
                try:
                    k.settimeout(self.args.timeout)
                    k.sendall(data)
                    k.shutdown(socket.SHUT_WR)
                except Exception as e:
                    err.append(e)
            t = threading.Thread(target=send, daemon=True)
            t.start()
            time.sleep(self.args.pause)  # the app is busy: nothing read
            s = self.api.status(st.id)
            zero = s.get("rcv_wnd")
            got, how = st.wait_eof(self.args.timeout)
            t.join(5)
            if err:
                raise Fail("kernel send: %s" % err[0])
            if how != "eof" or got != data:
                raise Fail("after the pause the app got %d of %d octets (%s, %s)" %
                           (len(got), n, how, "equal prefix" if data.startswith(got) else "different"))
            print("# slow reader: toud rcv_wnd during the pause %s, recv_queue %s" %
                  (zero, s.get("recv_queue")))
            k.close()
            st.close()
            expect_end(self.api, st.id, "fin")
        finally:
            lsock.close()
            k.close()
            st.close()

    def toud_to_slow_kernel(self):
        """The kernel app does not read for a while (small SO_RCVBUF): the
        kernel's window closes and toud must probe it (persist timer); then
        everything arrives byte-exact."""
        port = self.next_port()
        ls = socket.socket(self.af, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        ls.bind((self.args.kernel_ip, port))
        ls.listen(4)
        ls.settimeout(10)
        try:
            sock = self.api.connect_start("%s:%d" % (self.bridge_host, self.args.bridge_port), port)
            stream, ans = Api.connect_finish(sock, 15)
            if stream is None:
                raise Fail("CONNECT -> %s" % ans)
            k, _ = ls.accept()
            try:
                n = self.args.bytes
                data = self.data(n)
                err = []

                def send():
                    try:
                        stream.sock.settimeout(self.args.timeout)
                        stream.sock.sendall(data)
                        stream.sock.shutdown(socket.SHUT_WR)
                    except Exception as e:
                        err.append(e)
                t = threading.Thread(target=send, daemon=True)
                t.start()
                time.sleep(self.args.pause)
                s = self.api.status(stream.id)
                k.settimeout(self.args.timeout)
                got = bytearray()
                while True:
                    d = k.recv(65536)
                    if not d:
                        break
                    got += d
                t.join(5)
                if err:
                    raise Fail("toud app send: %s" % err[0])
                if bytes(got) != data:
                    raise Fail("the kernel got %d of %d octets (%s)" %
                               (len(got), n, "equal prefix" if data.startswith(bytes(got)) else "different"))
                print("# slow kernel reader: toud snd_wnd during the pause %s, send_queue %s" %
                      (s.get("snd_wnd"), s.get("send_queue")))
                k.close()
                stream.close()
                expect_end(self.api, stream.id, "fin")
            finally:
                k.close()
                stream.close()
        finally:
            ls.close()

    def kernel_parallel(self):
        """20 kernel clients at once, 256 kB each way each: demultiplexing by
        TCP port behind one bridge UDP address, every stream byte-exact."""
        port = self.next_port()
        try:
            lsock = self.api.listen(port)
        except (ApiError, OSError) as e:
            raise Fail("LISTEN %d: %s" % (port, e))
        pairs = []
        try:
            for i in range(20):
                k = socket.socket(self.af, socket.SOCK_STREAM)
                k.settimeout(10)
                k.connect((self.args.toud_ip, port))
                st = self.api.accept(port, timeout=10)
                pairs.append((k, st))
            ends = []
            threads = []
            for i, (k, st) in enumerate(pairs):
                ke = End("kernel%d" % i, k, self.data(256 << 10))
                te = End("toud-app%d" % i, st.sock, self.data(256 << 10))
                ends.append((ke, te))
                t = threading.Thread(target=self._pair, args=(ke, te), daemon=True)
                threads.append(t)
                t.start()
            for t in threads:
                t.join(self.args.timeout)
            for ke, te in ends:
                if getattr(ke, "fail", None):
                    raise Fail(ke.fail)
            for k, st in pairs:
                k.close()
                st.close()
            for _, st in pairs:
                expect_end(self.api, st.id, "fin")
        except (ApiError, OSError) as e:
            raise Fail("setting up 20 connections: %s" % e)
        finally:
            lsock.close()
            for k, st in pairs:
                k.close()
                st.close()

    def _pair(self, ke, te):
        try:
            transfer(ke, te, ke, self.args.timeout)
        except Fail as e:
            ke.fail = str(e)

    def kernel_keepalive(self):
        """The kernel sends keep-alives (TCP_KEEPIDLE 1 s, KEEPINTVL 1 s,
        KEEPCNT 2) on an idle connection: toud answers them, so after 6 idle
        seconds the connection still carries data both ways."""
        lsock, k, st = self.kernel_client()
        try:
            k.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            k.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
            k.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
            k.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)
            time.sleep(6)  # idle: the kernel probes (not a timing assertion)
            try:
                k.sendall(b"still alive?")
            except OSError as e:
                raise Fail("the kernel dropped the idle connection: %s" % e)
            if st.recv_exact(12, 10) != b"still alive?":
                raise Fail("data after the idle period did not reach the toud app")
            st.send(b"yes")
            k.settimeout(10)
            try:
                d = k.recv(3)
            except OSError as e:
                raise Fail("the kernel socket failed after the idle period: %s" % e)
            if d != b"yes":
                raise Fail("expected b'yes' after the idle period, got %r" % d)
        finally:
            lsock.close()
            k.close()
            st.close()

    def kernel_rst(self):
        lsock, k, st = self.kernel_client()
        try:
            k.sendall(b"before the reset")
            got = st.recv_exact(16, 10)
            if got != b"before the reset":
                raise Fail("toud app expected 16 bytes before the reset, got %r" % got)
            k.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            k.close()
            expect_end(self.api, st.id, "reset")
            _, how = st.wait_eof(5)
            if how == "timeout":
                raise Fail("after the kernel's RST the toud app's stream stayed open")
        finally:
            lsock.close()
            k.close()
            st.close()

    def toud_abort(self):
        lsock, k, st = self.kernel_client()
        try:
            ans = self.api.request("ABORT %d" % st.id)
            if not ans.startswith("OK"):
                raise Fail("ABORT %d -> %s" % (st.id, ans))
            k.settimeout(10)
            try:
                d = k.recv(100)
                raise Fail("kernel expected ECONNRESET after ABORT, got %r" % d)
            except ConnectionResetError:
                pass
            except socket.timeout:
                raise Fail("kernel socket saw nothing within 10s after ABORT")
            expect_end(self.api, st.id, "aborted")
        finally:
            lsock.close()
            k.close()
            st.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--toud-ip", default="10.211.0.2", help="toud's synthetic address")
    ap.add_argument("--kernel-ip", default="10.211.0.1", help="the TUN address")
    ap.add_argument("--bridge-port", type=int, required=True,
                    help="tunbridge's UDP port (its IPv6 one when --toud-ip is IPv6)")
    ap.add_argument("--bytes", type=int, default=4 << 20)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--port-base", type=int, default=7000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pause", type=float, default=3.0,
                    help="seconds a slow reader does not read (not a timing assertion)")
    ap.add_argument("--label", default="", help="suffix for check names, e.g. _loss5")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    r = Runner(args)
    checks = [
        ("kernel_to_toud_kernel_closes", r.kernel_to_toud("kernel")),
        ("kernel_to_toud_toud_closes", r.kernel_to_toud("toud")),
        ("toud_to_kernel", r.toud_to_kernel("toud")),
        ("toud_to_kernel_kernel_closes", r.toud_to_kernel("kernel")),
        ("kernel_to_slow_reader", r.kernel_to_slow_reader),
        ("toud_to_slow_kernel", r.toud_to_slow_kernel),
        ("kernel_parallel", r.kernel_parallel),
        ("kernel_keepalive", r.kernel_keepalive),
        ("kernel_rst", r.kernel_rst),
        ("toud_abort", r.toud_abort),
    ]
    only = set(filter(None, args.only.split(",")))
    for name, fn in checks:
        if not only or name in only:
            r.run(name, fn)
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
