"""toudapi - a minimal client of toud's Unix-socket API (client/tou_proto.h).

Standard library only.  One request line per Unix connection; the answer is
one line "OK ..." or "ERR <reason> <text>".  After OK to CONNECT or ACCEPT the
Unix connection carries the stream's bytes; after OK to LISTEN it stays open
as long as the listener should live.
"""

import json
import socket
import time


class ApiError(Exception):
    pass


def read_line(sock, timeout):
    """Read one answer line byte by byte so that no stream byte that follows
    it is consumed.  Returns the line without its newline."""
    sock.settimeout(timeout)
    buf = b""
    while not buf.endswith(b"\n"):
        try:
            b = sock.recv(1)
        except socket.timeout:
            raise ApiError("no answer line within %.1fs (got %r so far)" % (timeout, buf))
        if not b:
            raise ApiError("daemon closed the API connection (got %r)" % buf)
        buf += b
        if len(buf) > 1 << 20:
            raise ApiError("answer line too long")
    return buf[:-1].decode("utf-8", "replace")


class Stream:
    """A stream after OK <id> <local> <remote>."""

    def __init__(self, sock, answer):
        self.sock = sock
        parts = answer.split()
        if len(parts) < 4 or parts[0] != "OK":
            raise ApiError("bad stream answer %r" % answer)
        self.id = int(parts[1])
        self.local = parts[2]
        self.remote = parts[3]

    def send(self, data):
        self.sock.settimeout(10)
        self.sock.sendall(data)

    def recv_exact(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        buf = b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(n - len(buf))
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            buf += b
        return buf

    def recv_some(self, timeout=1.0):
        """Whatever is available within timeout: bytes, b'' at EOF, None if
        nothing arrived, 'reset' if the daemon reset the Unix connection."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return "reset"

    def wait_eof(self, timeout=5.0):
        """Read until EOF; returns (bytes read before EOF, how) with how in
        'eof', 'reset', 'timeout'."""
        deadline = time.monotonic() + timeout
        got = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got, "timeout"
            r = self.recv_some(left)
            if r is None:
                return got, "timeout"
            if r == "reset":
                return got, "reset"
            if r == b"":
                return got, "eof"
            got += r

    def shutdown_wr(self):
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Api:
    def __init__(self, path, timeout=5.0):
        self.path = path
        self.timeout = timeout

    def open(self, line):
        """Send one request; return the socket without reading the answer."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        s.sendall(line.encode() + b"\n")
        return s

    def request(self, line, timeout=None):
        s = self.open(line)
        try:
            return read_line(s, timeout or self.timeout)
        finally:
            s.close()

    def json(self, line):
        ans = self.request(line)
        if not ans.startswith("OK "):
            raise ApiError("%s -> %s" % (line, ans))
        try:
            return json.loads(ans[3:])
        except ValueError as e:
            raise ApiError("%s -> unparsable JSON (%s): %r" % (line, e, ans[:200]))

    def list(self):
        return self.json("LIST")

    def status(self, cid):
        return self.json("STATUS %d" % cid)

    def stats(self):
        return self.json("STATS")

    def listen(self, port):
        s = self.open("LISTEN %d" % port)
        ans = read_line(s, self.timeout)
        if not ans.startswith("OK"):
            s.close()
            raise ApiError("LISTEN %d -> %s" % (port, ans))
        return s

    def accept(self, port, timeout=5.0):
        s = self.open("ACCEPT %d timeout=%d" % (port, max(1, int(timeout))))
        ans = read_line(s, timeout + 2)
        if not ans.startswith("OK "):
            s.close()
            raise ApiError("ACCEPT %d -> %s" % (port, ans))
        return Stream(s, ans)

    def connect_start(self, target, port, extra=""):
        """CONNECT without waiting for the answer (the peer must first answer
        the SYN); finish with connect_finish()."""
        return self.open(("CONNECT %s %d %s" % (target, port, extra)).rstrip())

    @staticmethod
    def connect_finish(sock, timeout=5.0):
        ans = read_line(sock, timeout)
        if ans.startswith("OK "):
            return Stream(sock, ans), ans
        sock.close()
        return None, ans
