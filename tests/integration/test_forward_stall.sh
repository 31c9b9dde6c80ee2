#!/usr/bin/env bash
# test_forward_stall.sh - backpressure end to end through a [forward] on A
# and a [service] on B, with a target that stops reading:
#   1. the client sends 128 MiB; the target accepts but reads nothing.  The
#      stall reaches tou (B advertises a zero window: rcv_wnd 0 in LIST, A
#      sees snd_wnd 0 and its send buffer full: send_queue = snd_buf_limit,
#      which grows with cwnd up to send_buffer) and then the client: its
#      writes block with most of the 128 MiB unsent;
#   2. meanwhile each daemon's resident memory (VmRSS) has grown by no more
#      than the buffers its configuration allows for the connection
#      ([tcp] send_buffer on A, recv_buffer on B, plus the bridge's own
#      bounds from daemon/bridge.h) and a fixed allowance for the allocator;
#   3. the target starts reading: all 128 MiB arrive byte-exact (sha256),
#      the client's FIN after them.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"

SIZE_MIB=128
SNDBUF_MIB=4 RCVBUF_MIB=4 # the [tcp] defaults, written out: the bound below uses them
head -c ${SIZE_MIB}M /dev/urandom >"$WORK/payload.bin"

TGT_PORT=$(free_tcp_port)
$PY - "$TGT_PORT" "$WORK" <<'PYEOF' >"$WORK/target.log" 2>&1 &
import hashlib, os, socket, sys, time
port, work = int(sys.argv[1]), sys.argv[2]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(4)
open(work + "/target.ready", "w").close()
s, _ = ls.accept()
open(work + "/target.accepted", "w").close()
while not os.path.exists(work + "/go"):     # read nothing until told
    time.sleep(0.05)
h, n = hashlib.sha256(), 0
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
open(work + "/target.sum.tmp", "w").write("%s %d\n" % (h.hexdigest(), n))
os.rename(work + "/target.sum.tmp", work + "/target.sum")
s.close()
PYEOF
BG_PIDS+=($!)
wait_for "the target" 10 test -e "$WORK/target.ready"

printf '[tcp]\nsend_buffer = %dM\nrecv_buffer = %dM\n' $SNDBUF_MIB $RCVBUF_MIB >"$WORK/tcp.conf"
cat "$WORK/tcp.conf" - >"$WORK/Bx.conf" <<<"$(printf '[service svc]\nport = 80\nto = 127.0.0.1:%s\n' "$TGT_PORT")"
start_daemon B -c "$WORK/Bx.conf"
FWD_PORT=$(free_tcp_port)
cat "$WORK/tcp.conf" - >"$WORK/Ax.conf" <<<"$(printf '[forward fw]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s 80\n' "$FWD_PORT" "$B_PORT")"
start_daemon A -c "$WORK/Ax.conf"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
A_RSS0=$(rss_kib "$A_PID") B_RSS0=$(rss_kib "$B_PID")

# the client: sends the payload, its progress in client.sent, then FIN and
# waits for the target's close
$PY - "$FWD_PORT" "$WORK" <<'PYEOF' >"$WORK/client.log" 2>&1 &
import os, socket, sys
port, work = int(sys.argv[1]), sys.argv[2]
data = memoryview(open(work + "/payload.bin", "rb").read())
s = socket.create_connection(("127.0.0.1", port))
sent = 0
def note():
    open(work + "/client.sent.tmp", "w").write("%d\n" % sent)
    os.rename(work + "/client.sent.tmp", work + "/client.sent")
while sent < len(data):
    sent += s.send(data[sent:sent + 65536])   # blocks while the path is full
    note()
s.shutdown(socket.SHUT_WR)
open(work + "/client.fin", "w").close()
if s.recv(1) != b"":
    sys.exit("data from the target")
PYEOF
CLIENT=$!
BG_PIDS+=($CLIENT)
wait_for "the target's accept" 20 test -e "$WORK/target.accepted"

# conn FIELD SOCK: FIELD of the one forwarded connection in LIST
conn() {
	api "$2" LIST | $PY -c '
import json, sys
doc = json.loads(sys.stdin.read()[3:])
c = [e for e in doc if e.get("via")]
print(c[0][sys.argv[1]] if len(c) == 1 else -1)' "$1"
}
stalled() {
	# a daemon that buffers without bound takes it all: no need to wait
	[ -e "$WORK/client.fin" ] && fail "the client sent all $SIZE_MIB MiB into a target that reads nothing"
	[ "$(conn rcv_wnd "$B_SOCK")" = 0 ] && [ "$(conn snd_wnd "$A_SOCK")" = 0 ] &&
		[ "$(conn send_queue "$A_SOCK")" -ge "$(conn snd_buf_limit "$A_SOCK")" ]
}
end=$((SECONDS + 60))
until stalled; do
	[ "$SECONDS" -lt "$end" ] || fail "timed out waiting for B's zero window and A's full send buffer; A: $(api "$A_SOCK" LIST); B: $(api "$B_SOCK" LIST)"
	sleep 0.1
done
echo "ok: the stall reached tou: B advertises a zero window, A's send buffer is full"

# the client is blocked: its count stops moving, far below the payload
prev=-1
while :; do
	cur=$(cat "$WORK/client.sent" 2>/dev/null || echo 0)
	[ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 1
done
[ -e "$WORK/client.fin" ] && fail "the client sent all $SIZE_MIB MiB into a target that reads nothing"
[ "$cur" -lt $((SIZE_MIB * 1024 * 1024 / 2)) ] || fail "the client got $cur bytes out before blocking"
echo "ok: the client blocks after $((cur / 1024)) KiB of $SIZE_MIB MiB"

A_RSS=$(rss_kib "$A_PID") B_RSS=$(rss_kib "$B_PID")
A_GROW=$((A_RSS - A_RSS0)) B_GROW=$((B_RSS - B_RSS0))
# What the configuration lets one connection hold (daemon/bridge.h):
# A: its send ring (send_buffer) + the bridge's read buffer + bytes held
# from one read (BRIDGE_RBUF each); B: its receive ring (recv_buffer) +
# the stream's queue (BRIDGE_WQ_HIGH + one BRIDGE_RBUF write); each plus 4
# MiB for the allocator and libuv.
RBUF_KIB=256 WQ_KIB=1024 SLACK_KIB=4096
A_MAX=$((SNDBUF_MIB * 1024 + 2 * RBUF_KIB + SLACK_KIB))
B_MAX=$((RCVBUF_MIB * 1024 + WQ_KIB + RBUF_KIB + SLACK_KIB))
echo "# resident memory during the stall: A $A_RSS0 -> $A_RSS KiB (+$A_GROW, bound $A_MAX), B $B_RSS0 -> $B_RSS KiB (+$B_GROW, bound $B_MAX)"
[ "$A_GROW" -le "$A_MAX" ] || fail "A grew by $A_GROW KiB during the stall, more than its buffers allow ($A_MAX KiB)"
[ "$B_GROW" -le "$B_MAX" ] || fail "B grew by $B_GROW KiB during the stall, more than its buffers allow ($B_MAX KiB)"
echo "ok: resident memory bounded by the configured buffers on both daemons"

touch "$WORK/go"
wait_for "the target's sha256" 120 test -e "$WORK/target.sum"
want="$(sha256sum <"$WORK/payload.bin" | cut -d' ' -f1) $((SIZE_MIB * 1024 * 1024))"
[ "$(cat "$WORK/target.sum")" = "$want" ] || fail "the target got $(cat "$WORK/target.sum"), expected $want"
wait "$CLIENT" || fail "the client failed: $(cat "$WORK/client.log")"
echo "ok: the target read again: $SIZE_MIB MiB arrived byte-exact, then the client's FIN"
