#!/usr/bin/env python3
"""test_daemon_api.py - a minimal client of toud's Unix-socket API for the
daemon's integration tests (the tou CLI is tested on its own).

  req SOCK LINE            one request, print the whole answer
  raw SOCK DATA            send DATA (no newline added), keep our side
                           open, print the answer
  hold SOCK LINE           send LINE, print the answer line, keep the
                           connection open until killed (LISTEN)
  stream SOCK LINE IN OUT [--order first|last|now] [--idfile F]
                           open a stream (CONNECT/ACCEPT), send IN, write
                           what arrives to OUT.  --order first: shut down
                           our side as soon as IN is sent; last: only after
                           the peer's EOF; now: as first.
                           --read-after FILE: read nothing before FILE exists
                           --send-after FILE: send nothing before FILE exists
  over-limit SOCK N        open N idle clients, then send VERSION on one more
                           and print its answer
  close-now SOCK LINE      send LINE, print the answer, close at once
  wait-end SOCK ID SECS    poll STATUS ID until it has "end"; print it
"""
import json
import os
import socket
import sys
import threading
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            break
        buf += b
    return buf.decode(errors="replace").rstrip("\n")


def req(path, line):
    s = connect(path)
    try:
        s.sendall(line.encode() + b"\n")
    except OSError:
        pass  # the daemon may answer (ERR limit) and close before reading
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except OSError:
            break
        if not b:
            break
        out += b
    s.close()
    return out.decode(errors="replace").rstrip("\n")


def main():
    cmd = sys.argv[1]
    if cmd == "req":
        print(req(sys.argv[2], sys.argv[3]))
        return 0
    if cmd == "raw":  # send bytes as they are, keep our side open, print the answer
        s = connect(sys.argv[2])
        s.sendall(sys.argv[3].encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
        print(out.decode(errors="replace").rstrip("\n"))
        return 0
    if cmd == "hold":
        s = connect(sys.argv[2])
        s.sendall(sys.argv[3].encode() + b"\n")
        print(read_line(s), flush=True)
        while True:
            b = s.recv(4096)
            if not b:
                return 0
    if cmd == "stream":
        path, line, infile, outfile = sys.argv[2:6]
        order, idfile, gate, sgate = "first", None, None, None
        rest = sys.argv[6:]
        while rest:
            if rest[0] == "--order":
                order = rest[1]
            elif rest[0] == "--idfile":
                idfile = rest[1]
            elif rest[0] == "--read-after":  # do not read before FILE exists
                gate = rest[1]
            elif rest[0] == "--send-after":  # do not send before FILE exists
                sgate = rest[1]
            rest = rest[2:]
        s = connect(path)
        s.sendall(line.encode() + b"\n")
        reply = read_line(s)
        print(reply, file=sys.stderr, flush=True)
        if not reply.startswith("OK "):
            print(reply)
            return 3
        if idfile:
            with open(idfile, "w") as f:
                f.write(reply.split()[1] + "\n")
        got_eof = threading.Event()
        err = []

        def receiver():
            while gate and not os.path.exists(gate):
                time.sleep(0.02)
            try:
                # unbuffered: tests watch the file grow
                with open(outfile, "wb", buffering=0) as f:
                    while True:
                        b = s.recv(262144)
                        if not b:
                            break
                        view = memoryview(b)
                        while view:
                            view = view[f.write(view):]
            except Exception as e:  # noqa: BLE001
                err.append(e)
            got_eof.set()

        t = threading.Thread(target=receiver)
        t.start()
        while sgate and not os.path.exists(sgate):
            time.sleep(0.02)
        with open(infile, "rb") as f:
            while True:
                b = f.read(262144)
                if not b:
                    break
                s.sendall(b)
        if order == "last":
            got_eof.wait()
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        t.join()
        s.close()
        if err:
            print("receive error:", err[0], file=sys.stderr)
            return 4
        return 0
    if cmd == "over-limit":  # N idle clients, then one more: print its answer
        idle = []
        for _ in range(int(sys.argv[3])):
            idle.append(connect(sys.argv[2]))
        # the daemon accepts in the kernel's (FIFO) order: this one is last
        print(req(sys.argv[2], "VERSION"))
        for c in idle:
            c.close()
        return 0
    if cmd == "close-now":
        s = connect(sys.argv[2])
        s.sendall(sys.argv[3].encode() + b"\n")
        print(read_line(s))
        s.close()
        return 0
    if cmd == "wait-end":
        path, cid, secs = sys.argv[2], sys.argv[3], float(sys.argv[4])
        deadline = time.time() + secs
        while time.time() < deadline:
            ans = req(path, "STATUS " + cid)
            if ans.startswith("OK "):
                doc = json.loads(ans[3:])
                if "end" in doc:
                    print(doc["end"])
                    return 0
            time.sleep(0.05)
        print("no end record for", cid, "last answer:", ans, file=sys.stderr)
        return 5
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
