#!/usr/bin/env bash
# test_daemon_transfer.sh - two toud daemons on loopback move 10 MB each
# way through the Unix-socket API, byte-exact (sha256), in both close
# orders (the connecting side shuts down first / the accepting side
# first); both ends then report a clean end ("fin") through STATUS <id>.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

start_daemon A
start_daemon B

head -c 10M /dev/urandom >"$WORK/a.in"
head -c 10M /dev/urandom >"$WORK/b.in"
sha_a=$(sha256sum <"$WORK/a.in")
sha_b=$(sha256sum <"$WORK/b.in")

$API hold "$B_SOCK" "LISTEN 7000" >"$WORK/listen.out" &
BG_PIDS+=($!)
wait_for "LISTEN answer" 10 grep -q '^OK 7000$' "$WORK/listen.out"

run_case() { # run_case NAME CLIENT_ORDER SERVER_ORDER
	local name=$1 corder=$2 sorder=$3
	rm -f "$WORK"/*.out.bin "$WORK"/*.id
	$API stream "$B_SOCK" "ACCEPT 7000 timeout=60" "$WORK/b.in" "$WORK/b.out.bin" \
		--order "$sorder" --idfile "$WORK/b.id" 2>"$WORK/acc.err" &
	local acc=$!
	$API stream "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000 timeout=10" "$WORK/a.in" "$WORK/a.out.bin" \
		--order "$corder" --idfile "$WORK/a.id" 2>"$WORK/con.err" || fail "$name: client stream failed: $(cat "$WORK/con.err")"
	wait "$acc" || fail "$name: server stream failed: $(cat "$WORK/acc.err")"
	[ "$(sha256sum <"$WORK/a.out.bin")" = "$sha_b" ] || fail "$name: data B->A differs"
	[ "$(sha256sum <"$WORK/b.out.bin")" = "$sha_a" ] || fail "$name: data A->B differs"
	local end
	end=$($API wait-end "$A_SOCK" "$(cat "$WORK/a.id")" 30) || fail "$name: no end record on A"
	[ "$end" = fin ] || fail "$name: A's end is \"$end\", expected fin"
	end=$($API wait-end "$B_SOCK" "$(cat "$WORK/b.id")" 30) || fail "$name: no end record on B"
	[ "$end" = fin ] || fail "$name: B's end is \"$end\", expected fin"
	echo "ok: $name (10 MB each way, sha256 equal, end=fin on both)"
}

run_case "client closes first" first last
run_case "server closes first" last first

# RFC 9293 3.7.1: the MSS follows the path's MTU; by default a loopback
# peer gets [tcp] mss like a network one (1452, less the 12 bytes of the
# timestamp option in every segment), and runs of such segments leave as
# UDP GSO messages (udp.tx_gso)
mss_of() { # mss_of SOCK ID: the connection's send MSS from STATUS
	$API req "$1" "STATUS $2" | $PY -c 'import json,sys; print(json.loads(sys.stdin.read()[3:])["mss"])'
}
mss=$(mss_of "$A_SOCK" "$(cat "$WORK/a.id")")
[ "$mss" = 1440 ] || fail "loopback MSS by default: $mss, expected 1440"
gso=$($API req "$A_SOCK" STATS | $PY -c 'import json,sys; print(json.loads(sys.stdin.read()[3:])["udp"]["tx_gso"])')
[ "$gso" -gt 0 ] || fail "no GSO message sent (udp.tx_gso $gso)"
echo "ok: loopback segments of $mss bytes by default, $gso GSO messages"

# the listener ends with its LISTEN connection
kill "${BG_PIDS[0]}"
wait_for "listener gone" 10 sh -c "$API req '$B_SOCK' 'ACCEPT 7000' | grep -q '^ERR notfound'"
echo "ok: listener closed with its connection"

# IPv6: two daemons on [::1] (bracketed addresses in the OK line)
free_port6() {
	$PY -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1",0)); print(s.getsockname()[1])'
}
p6a=$(free_port6) || fail "IPv6 loopback (::1) unavailable"
p6b=$(free_port6)
"$TOUD" -c "$WORK/empty.conf" -o "daemon.udp=[::1]:$p6a" -o "daemon.socket=$WORK/A6.sock" 2>"$WORK/A6.log" &
DAEMON_PIDS+=($!)
"$TOUD" -c "$WORK/empty.conf" -o "daemon.udp=[::1]:$p6b" -o "daemon.socket=$WORK/B6.sock" 2>"$WORK/B6.log" &
DAEMON_PIDS+=($!)
wait_for "A6" 10 $API req "$WORK/A6.sock" VERSION
wait_for "B6" 10 $API req "$WORK/B6.sock" VERSION
$API hold "$WORK/B6.sock" "LISTEN 7006" >"$WORK/listen6.out" &
BG_PIDS+=($!)
wait_for "LISTEN 7006" 10 grep -q '^OK 7006$' "$WORK/listen6.out"
head -c 1M /dev/urandom >"$WORK/six.in"
$API stream "$WORK/B6.sock" "ACCEPT 7006" "$WORK/six.in" "$WORK/six.b" --order last 2>/dev/null &
acc=$!
$API stream "$WORK/A6.sock" "CONNECT [::1]:$p6b 7006" "$WORK/six.in" "$WORK/six.a" --idfile "$WORK/six.id" 2>"$WORK/six.err" ||
	fail "IPv6 stream: $(cat "$WORK/six.err")"
wait "$acc" || fail "IPv6 accepting side"
cmp "$WORK/six.in" "$WORK/six.a" && cmp "$WORK/six.in" "$WORK/six.b" || fail "IPv6 data differs"
grep -q "^OK [0-9]* \[::1\]:$p6a/[0-9]* \[::1\]:$p6b/7006$" "$WORK/six.err" || fail "IPv6 OK line: $(cat "$WORK/six.err")"
echo "ok: IPv6 stream over [::1], 1 MB each way"
mss=$(mss_of "$WORK/A6.sock" "$(cat "$WORK/six.id")")
[ "$mss" = 1420 ] || fail "IPv6 loopback MSS: $mss, expected 1420"
echo "ok: IPv6 loopback segments of $mss bytes"

# [tcp] mss_loopback = 65487: the loopback interface's MTU (65536 - 48
# unless lo's MTU is smaller: toud caps it at start), 64 KiB segments
mssl=$("$TOUD" -c "$WORK/empty.conf" -o tcp.mss_loopback=65487 --check-config | sed -n 's/^mss_loopback = //p')
[ "${mssl:-0}" -gt 1452 ] || fail "mss_loopback=65487 reads back as \"$mssl\""
start_daemon C -o tcp.mss_loopback=65487
start_daemon D -o tcp.mss_loopback=65487
$API hold "$D_SOCK" "LISTEN 7007" >"$WORK/listen7.out" &
BG_PIDS+=($!)
wait_for "LISTEN 7007" 10 grep -q '^OK 7007$' "$WORK/listen7.out"
$API stream "$D_SOCK" "ACCEPT 7007 timeout=60" "$WORK/b.in" "$WORK/lo.b" --order last 2>/dev/null &
acc=$!
$API stream "$C_SOCK" "CONNECT 127.0.0.1:$D_PORT 7007 timeout=10" "$WORK/a.in" "$WORK/lo.a" --idfile "$WORK/lo.id" \
	2>"$WORK/lo.err" || fail "mss_loopback stream: $(cat "$WORK/lo.err")"
wait "$acc" || fail "mss_loopback accepting side"
cmp "$WORK/a.in" "$WORK/lo.b" && cmp "$WORK/b.in" "$WORK/lo.a" || fail "mss_loopback: data differs"
mss=$(mss_of "$C_SOCK" "$(cat "$WORK/lo.id")")
[ "$mss" = $((mssl - 12)) ] || fail "mss_loopback: MSS $mss, expected $((mssl - 12))"
echo "ok: mss_loopback $mssl: segments of $mss bytes, 10 MB each way byte-exact"
