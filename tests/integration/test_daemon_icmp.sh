#!/bin/bash
# test_daemon_icmp.sh - ICMP errors and failed sends reach the engine
# (daemon/udp_err.c, daemon/tcp/tcp_icmp.c), on loopback:
#   1) `tou connect` to a UDP port where nothing listens: the kernel's
#      "port unreachable" ends the attempt - exit 7 (unreachable), not 6
#      after the SYN retries; the end record says "unreachable" and names
#      the ICMP error.  Also over IPv6 when ::1 exists.
#   2) a SYN that cannot be sent (the kernel refuses it) ends the attempt
#      as unreachable with the errno.
#   3) an established connection whose peer daemon vanished: the "port
#      unreachable" answers to its data are soft errors - the connection
#      stays ESTABLISHED and STATUS shows the error.
#   4) the daemon's UDP socket still works afterwards (a transfer), and
#      STATS counts the ICMP errors.
# No timing thresholds: generous outer timeouts only.
set -euo pipefail
source "$(dirname "$0")/test_daemon_common.bash"
: "${TOU:?TOU must point to the tou binary}"

start_daemon A
start_daemon B
json() { $PY -c 'import json,sys; d=json.loads(sys.stdin.read()[3:]); print(d.get(sys.argv[1], ""))' "$1"; }

# 1) nothing on that UDP port: a socket bound and closed again
DEAD=$(free_port)
rc=0
timeout 120 "$TOU" -s "$A_SOCK" connect "127.0.0.1:$DEAD" 80 </dev/null >/dev/null 2>"$WORK/c1.err" || rc=$?
[ "$rc" = 7 ] || fail "connect to a dead UDP port: exit $rc, want 7 (unreachable): $(cat "$WORK/c1.err")"
grep -q 'port unreachable' "$WORK/c1.err" || fail "message does not name the ICMP error: $(cat "$WORK/c1.err")"
id=$(sed -n 's/.*connection \([0-9][0-9]*\) .*/\1/p' "$WORK/c1.err")
[ -n "$id" ] || fail "no connection id in: $(cat "$WORK/c1.err")"
st=$(api "$A_SOCK" "STATUS $id")
[ "$(json end <<<"$st")" = unreachable ] || fail "end record: $st"
[ "$(json error <<<"$st")" = "port unreachable (ICMP)" ] || fail "error in the end record: $st"
echo "ok 1 dead UDP port: exit 7, end unreachable, error named"

if ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
	P6=$(free_port)
	start_daemon A6 -o "daemon.udp=[::1]:$P6"
	DEAD6=$($PY -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1",0)); print(s.getsockname()[1])')
	rc=0
	timeout 120 "$TOU" -s "$A6_SOCK" connect "[::1]:$DEAD6" 80 </dev/null >/dev/null 2>"$WORK/c6.err" || rc=$?
	[ "$rc" = 7 ] || fail "IPv6 dead UDP port: exit $rc, want 7: $(cat "$WORK/c6.err")"
	grep -q 'port unreachable' "$WORK/c6.err" || fail "IPv6 message: $(cat "$WORK/c6.err")"
	echo "ok 1b IPv6 dead UDP port: exit 7"
else
	echo "# no ::1: IPv6 case not run"
fi

# 2) the SYN cannot leave: from a socket bound to 127.0.0.1 the kernel
# refuses every other destination (EINVAL); 192.0.2.1 is TEST-NET-1
rc=0
timeout 120 "$TOU" -s "$A_SOCK" connect 192.0.2.1:9811 80 </dev/null >/dev/null 2>"$WORK/c2.err" || rc=$?
[ "$rc" = 7 ] || fail "unsendable SYN: exit $rc, want 7: $(cat "$WORK/c2.err")"
grep -q '(send: Invalid argument)' "$WORK/c2.err" || fail "unsendable SYN message: $(cat "$WORK/c2.err")"
echo "ok 2 a SYN the kernel refuses to send: exit 7 with the errno"

# 3) soft error: B's daemon goes away under an established connection
$API hold "$B_SOCK" "LISTEN 7000" >"$WORK/b.listen" 2>&1 &
BG_PIDS+=($!)
wait_for "B's listener" 10 grep -q '^OK' "$WORK/b.listen"
$API stream "$B_SOCK" "ACCEPT 7000" "$WORK/empty.conf" /dev/null --order last 2>/dev/null &
BG_PIDS+=($!)
echo hello >"$WORK/hello"
$API stream "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000" "$WORK/hello" /dev/null --order last \
	--idfile "$WORK/a.id" --send-after "$WORK/go" 2>/dev/null &
BG_PIDS+=($!)
wait_for "the connection id" 10 test -s "$WORK/a.id"
aid=$(cat "$WORK/a.id")
kill -9 "$B_PID"
wait "$B_PID" 2>/dev/null || true
: >"$WORK/go"
errored() { [ "$(api "$A_SOCK" "STATUS $aid" | json error)" = "port unreachable (ICMP)" ]; }
wait_for "the soft error in STATUS" 60 errored
st=$(api "$A_SOCK" "STATUS $aid")
[ "$(json state <<<"$st")" = ESTABLISHED ] || fail "a soft error ended the connection: $st"
[ -z "$(json end <<<"$st")" ] || fail "end record after a soft error: $st"
api "$A_SOCK" "ABORT $aid" >/dev/null
echo "ok 3 port unreachable for an established connection: soft, shown in STATUS"

# 4) the socket still carries a transfer; the counters
start_daemon C
$API hold "$C_SOCK" "LISTEN 7001" >"$WORK/c.listen" 2>&1 &
BG_PIDS+=($!)
wait_for "C's listener" 10 grep -q '^OK' "$WORK/c.listen"
head -c 300000 /dev/urandom >"$WORK/data"
$API stream "$C_SOCK" "ACCEPT 7001" "$WORK/empty.conf" "$WORK/data.out" --order last 2>/dev/null &
RP=$!
BG_PIDS+=($RP)
timeout 120 $API stream "$A_SOCK" "CONNECT 127.0.0.1:$C_PORT 7001" "$WORK/data" /dev/null 2>/dev/null ||
	fail "transfer after the ICMP errors"
wait "$RP" || fail "receiver"
cmp -s "$WORK/data" "$WORK/data.out" || fail "transfer after the ICMP errors: data differ"
stats=$(api "$A_SOCK" STATS)
$PY - "$stats" <<'EOF' || fail "STATS counters: $stats"
import json, sys
d = json.loads(sys.argv[1][3:])
assert d["udp"]["rx_icmp"] >= 2, d["udp"]
assert d["udp"]["tx_failed"] >= 1, d["udp"]
assert d["tcp"]["IcmpAborts"] >= 2, d["tcp"]
assert d["tcp"]["IcmpSoft"] >= 1, d["tcp"]
EOF
echo "ok 4 the socket still works; STATS counts ICMP errors"
