#!/bin/bash
# test_cli_exit_codes.sh - the tou CLI's exit codes against real toud
# daemons: refused (4), reset by the peer (5) and aborted (5), timed out
# (6) both by --timeout and by the daemon's SYN retries, daemon not
# running (3), port in use (1), bad usage (2); each with a one-line
# message naming the cause.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"

start_pair

step "refused: no listener on the port"
expect_rc 4 "$TOU" -s "$A" connect "127.0.0.1:$PB" 6000
expect_err_line 'refused'

step "reset: the listening side aborts the connection"
mkfifo "$T/lin" "$T/cin"
"$TOU" -s "$B" listen 6001 <"$T/lin" >/dev/null 2>"$T/listen.err" &
LP=$!
bg $LP
exec 7<>"$T/lin"
connect_held "$A" "127.0.0.1:$PB" 6001 "$B" "$T/cin" /dev/null "$T/connect.err" \
	|| fail "no connection to abort"
BID=$(conn_id "$B" '/6001$' ESTABLISHED)
expect_rc 0 "$TOU" -s "$B" abort "$BID"
wait_pid $CP 300
[ "$WAIT_RC" -eq 5 ] || fail "connect (peer reset) exit $WAIT_RC, want 5: $(cat "$T/connect.err")"
[ "$(wc -l <"$T/connect.err")" -eq 1 ] || fail "not one line: $(cat "$T/connect.err")"
grep -qi 'reset' "$T/connect.err" || fail "message: $(cat "$T/connect.err")"
wait_pid $LP 300
[ "$WAIT_RC" -eq 5 ] || fail "listen (aborted) exit $WAIT_RC, want 5: $(cat "$T/listen.err")"
grep -qi 'aborted' "$T/listen.err" || fail "message: $(cat "$T/listen.err")"
exec 7>&- 8>&-
"$TOU" -s "$B" status "$BID" | grep -q 'end:aborted' || fail "b: end record"

step "timeout: nobody answers on that UDP port (--timeout 1)"
# A socket that takes the datagrams and never answers: with nothing bound
# there the kernel answers "port unreachable" and the attempt ends at once
# as unreachable (exit 7, test_daemon_icmp.sh), not as a timeout.
DEAD=$(free_udp_port)
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
time.sleep(600)' "$DEAD" "$T/sink.ready" &
bg $!
wait_until 100 0.1 test -e "$T/sink.ready" || fail "UDP sink did not start"
expect_rc 6 "$TOU" -s "$A" connect --timeout 1 "127.0.0.1:$DEAD" 80
expect_err_line 'timed out'

step "timeout: no stream to accept (listen --timeout 1)"
expect_rc 6 "$TOU" -s "$B" listen --timeout 1 6200
expect_err_line 'timed out'

step "timeout: the daemon's own SYN retries give up"
PC=$(free_udp_port)
start_toud c "$PC" -o tcp.syn_retries=1 -o tcp.rto_initial=200ms
expect_rc 6 "$TOU" -s "$T/c.sock" connect "127.0.0.1:$DEAD" 80
expect_err_line 'timed out'

step "timeout mid-stream: the peer's daemon vanishes, retransmissions give up"
PD=$(free_udp_port)
start_toud d "$PD" -o tcp.retries=2 -o tcp.rto_initial=200ms -o tcp.rto_min=200ms -o tcp.rto_max=400ms
PE=$(free_udp_port)
start_toud e "$PE"
EPID=${BG_PIDS[-1]}
mkfifo "$T/cin2" "$T/lin2"
"$TOU" -s "$T/e.sock" listen 6100 <"$T/lin2" >/dev/null 2>/dev/null &
bg $!
exec 7<>"$T/lin2"
connect_held "$T/d.sock" "127.0.0.1:$PE" 6100 "$T/e.sock" "$T/cin2" /dev/null "$T/connect.err" \
	|| fail "no connection to d"
kill -KILL "$EPID"
wait "$EPID" 2>/dev/null || true
head -c 100000 /dev/urandom >&8
wait_pid $CP 300
exec 8>&- 7>&-
[ "$WAIT_RC" -eq 6 ] || fail "connect (peer vanished) exit $WAIT_RC, want 6: $(cat "$T/connect.err")"
grep -qi 'timed out' "$T/connect.err" || fail "message: $(cat "$T/connect.err")"

step "daemon not running"
expect_rc 3 "$TOU" -s "$T/none.sock" connect "127.0.0.1:$PB" 80
expect_err_line 'daemon not reachable'
TOU_SOCKET=$T/none.sock expect_rc 3 "$TOU" status
expect_err_line "$T/none.sock"

step "port in use"
"$TOU" -s "$B" listen -k 6002 </dev/null >/dev/null 2>&1 &
bg $!
# The -k listener answers a probe (and keeps listening).
wait_until 100 0.1 "$TOU" -s "$A" -q connect "127.0.0.1:$PB" 6002 </dev/null >/dev/null \
	|| fail "listener on 6002 did not appear"
expect_rc 1 "$TOU" -s "$B" listen 6002
expect_err_line 'in use'

step "no such connection"
expect_rc 1 "$TOU" -s "$A" abort 987654321
expect_err_line 'no such connection'
expect_rc 1 "$TOU" -s "$A" status 987654321
expect_err_line 'no such connection'

step "bad usage: 2"
expect_rc 2 "$TOU" -s "$A"
expect_rc 2 "$TOU" -s "$A" connect
expect_rc 2 "$TOU" -s "$A" connect "127.0.0.1:$PB" 99999
expect_rc 2 "$TOU" -s "$A" listen 0
expect_rc 2 "$TOU" -s "$A" --nope status
expect_rc 2 "$TOU" -s "$A" connect '127.0.0.1:99999999' 80
echo "PASS"
