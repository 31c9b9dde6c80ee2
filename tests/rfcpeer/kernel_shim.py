#!/usr/bin/env python3
"""kernel_shim - a stand-in for toud made of the Linux kernel's TCP, used to
validate rfcpeer.py itself (a test of the test): if a check fails against
the kernel too, suspect the check (or a documented Linux deviation) first.

Run as root inside a network namespace with a TUN device NAME that has
10.211.0.2/16 and MTU 1492 (so the kernel advertises MSS 1452):

  * UDP side: one UDP socket (--udp).  Every distinct UDP peer gets a synthetic
    address 10.211.1.N; its datagrams become IPv4 packets 10.211.1.N ->
    10.211.0.2 written to the TUN; packets the kernel routes to 10.211.1.N go
    back to that UDP peer without the IP header.
  * API side: a subset of client/tou_proto.h on a Unix socket (--api):
    LISTEN ACCEPT CONNECT STATUS LIST STATS ABORT VERSION, served with kernel
    sockets bound to 10.211.0.2; LIST/STATUS states come from `ss -tan`.

Not part of the test suite; see tests/rfcpeer/README.md.
"""

import argparse
import fcntl
import json
import os
import socket
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tcpseg as T  # noqa: E402

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
KIP = "10.211.0.2"

lock = threading.Lock()
peers = {}      # udp addr -> index
peer_by_ip = {}  # "10.211.1.N" -> udp addr
stats = {"DropMalformed": 0}
conns = {}      # id -> dict(sock, local port, remote ip, remote port, end)
next_id = [1]


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def peer_ip(addr):
    with lock:
        if addr not in peers:
            n = len(peers) + 1
            peers[addr] = n
            peer_by_ip["10.211.%d.%d" % (1 + n // 250, n % 250 + 1)] = addr
        n = peers[addr]
    return "10.211.%d.%d" % (1 + n // 250, n % 250 + 1)


def udp_to_tun(u, tun):
    while True:
        data, addr = u.recvfrom(70000)
        try:
            T.Segment(data)
        except T.MalformedSegment:
            stats["DropMalformed"] += 1
            continue
        src = socket.inet_aton(peer_ip(addr))
        dst = socket.inet_aton(KIP)
        seg = bytearray(data)
        seg[16:18] = b"\0\0"
        ph = src + dst + struct.pack("!BBH", 0, 6, len(seg))
        seg[16:18] = struct.pack("!H", csum(ph + bytes(seg)))
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 0, 0x4000, 64, 6, 0,
                                   src, dst))
        ip[10:12] = struct.pack("!H", csum(bytes(ip)))
        os.write(tun, bytes(ip) + bytes(seg))


def tun_to_udp(u, tun):
    while True:
        pkt = os.read(tun, 70000)
        if len(pkt) < 20 or pkt[0] >> 4 != 4 or pkt[9] != 6:
            continue
        ihl = (pkt[0] & 15) * 4
        tot = struct.unpack("!H", pkt[2:4])[0]
        dst = socket.inet_ntoa(pkt[16:20])
        addr = peer_by_ip.get(dst)
        if addr:
            u.sendto(pkt[ihl:tot], addr)


def ip_of_target(target):
    host, _, port = target.rpartition(":")
    return peer_ip((host, int(port)))


def remote_str(ip, port):
    for addr, _ in peers.items():
        if peer_ip(addr) == ip:
            return "%s:%d/%d" % (addr[0], addr[1], port)
    return "%s:0/%d" % (ip, port)


SS_STATE = {"ESTAB": "ESTABLISHED", "SYN-RECV": "SYN-RECEIVED", "SYN-SENT": "SYN-SENT",
            "FIN-WAIT-1": "FIN-WAIT-1", "FIN-WAIT-2": "FIN-WAIT-2", "CLOSE-WAIT": "CLOSE-WAIT",
            "LAST-ACK": "LAST-ACK", "CLOSING": "CLOSING", "TIME-WAIT": "TIME-WAIT"}


def ss_list():
    out = subprocess.run(["ss", "-tanH"], capture_output=True, text=True).stdout
    res = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 5 or f[0] not in SS_STATE:
            continue
        lip, lport = f[3].rsplit(":", 1)
        rip, rport = f[4].rsplit(":", 1)
        if lip != KIP:
            continue
        res.append({"state": SS_STATE[f[0]], "local": "127.0.0.1:9811/%s" % lport,
                    "remote": remote_str(rip, int(rport)), "lport": int(lport),
                    "rip": rip, "rport": int(rport)})
    return res


def splice(cid, c, tcp):
    info = conns[cid]

    def t2u():
        try:
            while True:
                d = tcp.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        except ConnectionResetError:
            info["end"] = "reset"
            c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        info["t2u"] = True

    def u2t():
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                tcp.sendall(d)
            tcp.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        info["u2t"] = True

    a = threading.Thread(target=t2u, daemon=True)
    b = threading.Thread(target=u2t, daemon=True)
    a.start()
    b.start()
    a.join()
    b.join()
    if info.get("end") is None:
        info["end"] = "fin"
    tcp.close()


def register(tcp, rip, rport):
    with lock:
        cid = next_id[0]
        next_id[0] += 1
    conns[cid] = {"sock": tcp, "lport": tcp.getsockname()[1], "rip": rip, "rport": rport,
                  "end": None}
    return cid


def status_obj(cid):
    info = conns[cid]
    obj = {"id": cid, "local": "127.0.0.1:9811/%d" % info["lport"],
           "remote": remote_str(info["rip"], info["rport"])}
    for e in ss_list():
        if e["lport"] == info["lport"] and e["rip"] == info["rip"] and e["rport"] == info["rport"]:
            obj["state"] = e["state"]
    if info["end"]:
        obj["end"] = info["end"]
        obj.setdefault("state", "CLOSED")
    return obj


def handle(c):
    buf = b""
    while not buf.endswith(b"\n"):
        d = c.recv(1)
        if not d:
            c.close()
            return
        buf += d
    w = buf.decode().split()
    cmd = w[0] if w else ""
    try:
        if cmd == "LISTEN":
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((KIP, int(w[1])))
            ls.listen(16)
            listeners[int(w[1])] = ls
            c.sendall(b"OK %s\n" % w[1].encode())
            while c.recv(100):
                pass
            ls.close()
            listeners.pop(int(w[1]), None)
            c.close()
        elif cmd == "ACCEPT":
            ls = listeners[int(w[1])]
            ls.settimeout(5)
            tcp, (rip, rport) = ls.accept()
            tcp.settimeout(None)
            cid = register(tcp, rip, rport)
            c.sendall(("OK %d 127.0.0.1:9811/%d %s\n" % (cid, int(w[1]), remote_str(rip, rport))).encode())
            splice(cid, c, tcp)
        elif cmd == "CONNECT":
            rip = ip_of_target(w[1])
            tcp = socket.socket()
            tcp.bind((KIP, 0))
            tcp.settimeout(10)
            try:
                tcp.connect((rip, int(w[2])))
            except ConnectionRefusedError:
                c.sendall(b"ERR refused connection refused\n")
                c.close()
                return
            except socket.timeout:
                c.sendall(b"ERR timeout timed out\n")
                c.close()
                return
            tcp.settimeout(None)
            cid = register(tcp, rip, int(w[2]))
            c.sendall(("OK %d 127.0.0.1:9811/%d %s\n" % (cid, tcp.getsockname()[1],
                                                          remote_str(rip, int(w[2])))).encode())
            splice(cid, c, tcp)
        elif cmd == "STATUS":
            c.sendall(("OK %s\n" % json.dumps(status_obj(int(w[1])))).encode())
            c.close()
        elif cmd == "LIST":
            c.sendall(("OK %s\n" % json.dumps(ss_list())).encode())
            c.close()
        elif cmd == "STATS":
            c.sendall(("OK %s\n" % json.dumps(stats)).encode())
            c.close()
        elif cmd == "ABORT":
            s = conns[int(w[1])]["sock"]
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            conns[int(w[1])]["end"] = "aborted"
            c.sendall(b"OK\n")
            c.close()
        elif cmd == "VERSION":
            c.sendall(b"OK kernel-shim\n")
            c.close()
        else:
            c.sendall(b"ERR badrequest unknown\n")
            c.close()
    except Exception as e:
        try:
            c.sendall(("ERR internal %s\n" % e).encode())
            c.close()
        except OSError:
            pass


listeners = {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--udp", required=True)
    ap.add_argument("--api", required=True)
    ap.add_argument("--tun", required=True)
    a = ap.parse_args()
    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", a.tun.encode(), IFF_TUN | IFF_NO_PI))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host, _, port = a.udp.rpartition(":")
    u.bind((host, int(port)))
    threading.Thread(target=udp_to_tun, args=(u, tun), daemon=True).start()
    threading.Thread(target=tun_to_udp, args=(u, tun), daemon=True).start()
    srv = socket.socket(socket.AF_UNIX)
    if os.path.exists(a.api):
        os.unlink(a.api)
    srv.bind(a.api)
    srv.listen(64)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
