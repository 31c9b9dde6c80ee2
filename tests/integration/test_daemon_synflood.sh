#!/usr/bin/env bash
# test_daemon_synflood.sh - legitimate clients connect through a SYN flood.
#
# In a network namespace of its own (tou-sf-$$; the flood stays off the
# host's loopback), daemon B listens on port 7200 with an echo server
# behind it, and tests/tools/synflood sends SF_COUNT (default 100,000)
# spoofed SYNs to B from random 127.1.x.y addresses and UDP ports as fast
# as a raw socket takes them.  Meanwhile clients connect through daemon A
# (8 at a time, for as long as the flood lasts and at least SF_MIN
# connections, default 64), each sending 4 KiB and reading the echo back,
# and one more sends 8 MiB through the echo once the flood runs.  The
# listener's backlog is SF_BACKLOG (default 8: B hands the listener only a
# share of the SYNs of each full receive batch, and the SYN,ACKs to the
# spoofed sources come back as ICMP errors that end their TCBs, so a
# larger backlog would not overflow).
# Checks:
#   a) every legitimate exchange completes byte-exact: no CONNECT refused,
#      reset or timed out (with SYN cookies no half-open connection is
#      pushed out of B's backlog, RFC 4987 3.6; before them the oldest was,
#      and a client whose CONNECT had been answered OK got a reset; and a
#      client whose handshake ACK B's full socket buffer dropped is not
#      reset for the later segments that reach B first)
#   b) the flood did overflow the backlog: B's tcp.SyncookiesSent > 0
#   c) B's half-open connections stay within its backlog (no flood TCBs
#      beyond it) and both daemons stop cleanly
#   d) the 8 MiB exchange under the flood comes back byte-exact, and B shed
#      SYNs of full receive batches (udp.rx_syn_shed > 0, issue 14): the
#      connections' segments kept their place in the socket's queue
# SF_COOKIES=no runs B without cookies (the old behaviour, for a by-hand
# before/after); SF_LOG=debug sets both daemons' log level (B then logs
# every cookie it refuses); SF_PCAP=1 writes B's segments to $WORK/B.pcap
# (KEEP_WORK=1 keeps it).  Needs root (netns, raw socket).
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

COUNT=${SF_COUNT:-100000}
MIN=${SF_MIN:-64}
BACKLOG=${SF_BACKLOG:-8}
COOKIES=${SF_COOKIES:-yes}
FLOOD=${TOU_TOOLS:-$TOU_BUILD_DIR/tests/tools}/synflood
[ "$(id -u)" = 0 ] || fail "needs root (network namespace, raw socket)"
[ -x "$FLOOD" ] || fail "no synflood tool at $FLOOD"
NS=tou-sf-$$
ip netns add "$NS" || fail "ip netns add"
# cleanup (test_daemon_common.bash) takes the exit status from $?
trap 'rc=$?; set +e; ip netns del "$NS" 2>/dev/null; (exit $rc); cleanup' EXIT
ip -n "$NS" link set lo up

start_ns_daemon() { # name port [args]
	local name=$1 port=$2
	shift 2
	ip netns exec "$NS" "$TOUD" -c "$WORK/empty.conf" -o "daemon.udp=127.0.0.1:$port" \
		-o "daemon.socket=$WORK/$name.sock" -o daemon.log_level=${SF_LOG:-notice} "$@" 2>"$WORK/$name.log" &
	DAEMON_PIDS+=($!)
	printf -v "${name}_PID" %s "$!"
	wait_for "$name's API socket" 10 $API req "$WORK/$name.sock" VERSION
}
A_PORT=9811 B_PORT=9812
start_ns_daemon A $A_PORT
start_ns_daemon B $B_PORT -o tcp.syncookies="$COOKIES" ${SF_PCAP:+-o daemon.pcap=$WORK/B.pcap}

$PY - "$WORK/A.sock" "$WORK/B.sock" "$B_PORT" "$A_PORT" "$FLOOD" "$NS" "$COUNT" "$MIN" "$HERE" "$BACKLOG" \
	>"$WORK/driver.out" 2>"$WORK/driver.err" <<'EOF' || fail "driver: $(tail -n 20 "$WORK/driver.err")"
import json, os, socket, subprocess, sys, threading, time
a_sock, b_sock, b_port, a_port, flood, ns, count, minimum, here, backlog = sys.argv[1:11]
count, minimum = int(count), int(minimum)
sys.path.insert(0, here)
from test_daemon_api import connect as api, read_line as line, req

def stats(path):
    st = json.loads(req(path, "STATS")[3:])
    st["tcp"]["rx_syn_shed"] = st["udp"]["rx_syn_shed"]
    return st["tcp"]

def recv_all(s):
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b

# the listener and an echo server: 8 ACCEPTs always waiting
lst = api(b_sock)
lst.sendall(("LISTEN 7200 backlog=%s\n" % backlog).encode())
ans = line(lst)
if not ans.startswith("OK"):
    sys.exit("LISTEN: " + ans)
stop = threading.Event()

def server():
    while not stop.is_set():
        try:
            s = api(b_sock)
            s.sendall(b"ACCEPT 7200\n")
            if not line(s).startswith("OK "):
                s.close()
                continue
            data = recv_all(s)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            recv_all(s)
            s.close()
        except OSError:
            pass

servers = [threading.Thread(target=server, daemon=True) for _ in range(8)]
for t in servers:
    t.start()

ok, failures, during = 0, [], 0
lock = threading.Lock()
flooding = threading.Event()

def client(n, size=4096):
    global ok, during
    payload = os.urandom(size)
    s = api(a_sock)
    s.settimeout(120)
    s.sendall(("CONNECT 127.0.0.1:%s 7200\n" % b_port).encode())
    ans = line(s)
    in_flood = flooding.is_set()
    if not ans.startswith("OK "):
        with lock:
            failures.append("connect %d: %s" % (n, ans))
        return
    try:
        if size > 4096:  # sent while the echo comes back
            def send():
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
            sender = threading.Thread(target=send)
            sender.start()
            echo = recv_all(s)
            sender.join()
        else:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            echo = recv_all(s)
    except OSError as e:
        echo = ("error %s" % e).encode()
    s.close()
    with lock:
        if echo == payload:
            ok += 1
            during += in_flood
        else:
            failures.append("exchange %d: %d of %d bytes back (%s)" % (n, len(echo), len(payload), ans))

def clients(first):
    k = 0
    while flooding.is_set() or k < minimum // 8:
        client(first + 8 * k)
        k += 1

before = stats(b_sock)
flooding.set()
proc = subprocess.Popen(["ip", "netns", "exec", ns, flood, "--to", "127.0.0.1:%s" % b_port,
                         "--dport", "7200", "--count", str(count), "--avoid", a_port,
                         "--avoid", b_port], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
workers = [threading.Thread(target=clients, args=(i,)) for i in range(8)]
for t in workers:
    t.start()
time.sleep(0.3)  # the flood runs
bulk = threading.Thread(target=client, args=(-1, 8 << 20))
bulk.start()
bulk.join()
out, err = proc.communicate()
# the daemon may still be working through the flood's datagrams
time.sleep(1)
flooding.clear()
for t in workers:
    t.join()
stop.set()
after = stats(b_sock)
# the half-open connections B holds (while the listener still listens)
s = api(b_sock)
s.sendall(b"LIST\n")
conns = json.loads(recv_all(s).decode()[3:])
print("B half-open %d" % sum(1 for c in conns if c.get("state") == "SYN-RECEIVED"))
if proc.returncode != 0:
    sys.exit("synflood: " + err.decode())
print("flood: %s" % out.decode().strip())
print("legit: %d ok, %d failed, %d of them during the flood" % (ok, len(failures), during))
big_failed = any(f.startswith(("exchange -1", "connect -1")) for f in failures)
print("bulk: 8 MiB echo %s" % ("FAILED" if big_failed else "byte-exact"))
for k in ("SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed", "DropListenOverflow",
          "PassiveOpens", "AttemptFails", "DropSynRate", "rx_syn_shed"):
    print("B %s +%d" % (k, after[k] - before[k]))
for f in failures[:10]:
    print("failure: " + f)
sys.exit(0)
EOF
cat "$WORK/driver.out" | sed 's/^/# /'
failed=$(sed -n 's/^legit: [0-9]* ok, \([0-9]*\) failed.*/\1/p' "$WORK/driver.out")
okn=$(sed -n 's/^legit: \([0-9]*\) ok.*/\1/p' "$WORK/driver.out")
cookies=$(sed -n 's/^B SyncookiesSent +\([0-9]*\)/\1/p' "$WORK/driver.out")
[ -n "$failed" ] && [ -n "$okn" ] || fail "no result from the driver"
[ "$okn" -ge "$MIN" ] || fail "only $okn legitimate exchanges"
[ "$failed" -eq 0 ] || fail "$failed legitimate connection(s) failed during the SYN flood"
echo "ok: $okn legitimate exchanges during a $COUNT-SYN flood, none failed"
if [ "$COOKIES" = yes ]; then
	[ "${cookies:-0}" -gt 0 ] || fail "the flood never overflowed B's backlog (no SYN cookie sent)"
	echo "ok: B answered $cookies SYNs with cookies"
fi
half=$(sed -n 's/^B half-open \([0-9]*\)$/\1/p' "$WORK/driver.out")
[ -n "$half" ] && [ "$half" -le "$BACKLOG" ] || fail "B holds ${half:-?} half-open connections, more than its backlog"
echo "ok: B holds $half half-open connections (backlog $BACKLOG)"
grep -q '^bulk: 8 MiB echo byte-exact' "$WORK/driver.out" || fail "the 8 MiB exchange under the flood failed"
shed=$(sed -n 's/^B rx_syn_shed +\([0-9]*\)/\1/p' "$WORK/driver.out")
[ "${shed:-0}" -gt 0 ] || fail "B shed no SYN of a full receive batch (udp.rx_syn_shed)"
echo "ok: 8 MiB echoed byte-exact under the flood; B shed $shed SYNs of full receive batches"
for n in A B; do
	p=${n}_PID
	kill -TERM "${!p}"
	wait "${!p}" || fail "toud $n exited $?"
done
DAEMON_PIDS=()
echo "ok: both daemons stopped cleanly"
