#!/bin/bash
# test_cli_status.sh - `tou status` against a live connection between two
# real toud daemons: both ends are ESTABLISHED with the right addresses and
# ports, the byte counters move, --json and `status ID` agree; then both
# ends close cleanly (exit 0).  Also `tou stats` and libtou's example.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"

start_pair

step "a live connection: stdin of both ends held open"
mkfifo "$T/lin" "$T/cin"
"$TOU" -s "$B" listen 7000 <"$T/lin" >"$T/lout" 2>"$T/listen.err" &
LP=$!
bg $LP
exec 7<>"$T/lin"
connect_held "$A" "127.0.0.1:$PB" 7000 "$B" "$T/cin" "$T/cout" "$T/connect.err" \
	|| fail "could not connect"
wait_until 100 0.1 has_conn "$A" "^127\\.0\\.0\\.1:$PA/" ESTABLISHED || fail "a: no ESTABLISHED connection"
wait_until 100 0.1 has_conn "$B" "^127\\.0\\.0\\.1:$PB/7000\$" ESTABLISHED || fail "b: no ESTABLISHED connection"

"$TOU" -s "$A" status >"$T/a.txt"
"$TOU" -s "$B" status >"$T/b.txt"
cat "$T/a.txt" "$T/b.txt"
head -1 "$T/a.txt" | grep -q '^ID  *State  *Recv-Q  *Send-Q  *Local  *Remote' || fail "header"
# a: local 127.0.0.1:PA/<ephemeral>, remote 127.0.0.1:PB/7000
grep -Eq "^[0-9]+ +ESTABLISHED +[0-9]+ +[0-9]+ +127\\.0\\.0\\.1:$PA/[0-9]+ +127\\.0\\.0\\.1:$PB/7000\$" "$T/a.txt" \
	|| fail "a: connection line"
# b: local 127.0.0.1:PB/7000, remote 127.0.0.1:PA/<the same ephemeral port>
EPH=$(awk '$2 == "ESTABLISHED" { split($5, x, "/"); print x[2]; exit }' "$T/a.txt")
grep -Eq "^[0-9]+ +ESTABLISHED +[0-9]+ +[0-9]+ +127\\.0\\.0\\.1:$PB/7000 +127\\.0\\.0\\.1:$PA/$EPH\$" "$T/b.txt" \
	|| fail "b: connection line (ephemeral port $EPH)"
grep -Eq "rtt:[0-9.]+/[0-9.]+ rto:[0-9]+ mss:[0-9]+ cwnd:[0-9]+" "$T/a.txt" || fail "a: details line"

step "bytes move: the counters follow"
head -c 100000 /dev/urandom >"$T/chunk"
cat "$T/chunk" >&8
AID=$(conn_id "$A" "^127\\.0\\.0\\.1:$PA/" ESTABLISHED)
BID=$(conn_id "$B" "/7000\$" ESTABLISHED)
received_all() {
	"$TOU" -s "$B" status --json "$BID" | python3 -c \
		'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["bytes_received"] >= 100000 else 1)'
}
wait_until 100 0.1 received_all || fail "b did not receive 100000 bytes"
"$TOU" -s "$A" status --json "$AID" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["state"] == "ESTABLISHED", d
assert d["bytes_sent"] >= 100000, d
assert d["remote"].endswith("/7000"), d
assert "end" not in d, d
' || fail "a: status --json"
"$TOU" -s "$A" status "$AID" | tr '\n' ' ' | grep -Eq "^ID .* $AID +ESTABLISHED .*bytes_sent:[0-9]{6,}" \
	|| fail "status ID"

step "both ends close: exit 0, the data arrived"
exec 8>&- 7>&-
wait_pid $CP 300
[ "$WAIT_RC" -eq 0 ] || fail "connect exit $WAIT_RC: $(cat "$T/connect.err")"
wait_pid $LP 300
[ "$WAIT_RC" -eq 0 ] || fail "listen exit $WAIT_RC: $(cat "$T/listen.err")"
cmp "$T/chunk" "$T/lout" || fail "bytes differ"
"$TOU" -s "$A" status "$AID" | grep -Eq "^$AID +(TIME-WAIT|CLOSED) " || fail "a: state after close"

step "listen -k: two streams one after another"
"$TOU" -s "$B" listen -k 7200 </dev/null >"$T/k.out" 2>"$T/k.err" &
KP=$!
bg $KP
for n in 1 2; do
	printf 'stream %s\n' $n >"$T/k.in"
	for ((i = 0; i < 100; i++)); do
		rc=0
		"$TOU" -s "$A" connect "127.0.0.1:$PB" 7200 <"$T/k.in" >/dev/null 2>"$T/connect.err" || rc=$?
		[ $rc -eq 4 ] || break
		sleep 0.1
	done
	[ $rc -eq 0 ] || fail "connect $n to listen -k: exit $rc: $(cat "$T/connect.err")"
done
wait_until 50 0.1 grep -q 'stream 2' "$T/k.out" || fail "second stream not written"
printf 'stream 1\nstream 2\n' | cmp - "$T/k.out" || fail "listen -k output: $(cat "$T/k.out")"
kill -0 $KP || fail "listen -k exited: $(cat "$T/k.err")"

step "stats like nstat"
expect_rc 0 "$TOU" -s "$A" stats
grep -Eq '^TcpActiveOpens +[1-9][0-9]* *$' "$T/out" || fail "stats: $(cat "$T/out")"
grep -Eq '^udp\.tx_datagrams +[1-9][0-9]* *$' "$T/out" || fail "stats: $(cat "$T/out")"
expect_rc 0 "$TOU" -s "$A" stats --json
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" || fail "stats --json"

step "libtou example: echo server and client"
ECHO=${TOU_BUILD_DIR:?}/client/examples/tou_echo
TOU_SOCKET=$B "$ECHO" server 7100 1 2>"$T/echo-server.err" &
EP=$!
bg $EP
printf 'hello through libtou\n' >"$T/msg"
rc=1
for ((i = 0; i < 100; i++)); do
	rc=0
	TOU_SOCKET=$A "$ECHO" client "127.0.0.1:$PB" 7100 <"$T/msg" >"$T/echoed" 2>"$T/echo-client.err" || rc=$?
	[ $rc -eq 4 ] || break
	sleep 0.1
done
[ $rc -eq 0 ] || fail "echo client exit $rc: $(cat "$T/echo-client.err")"
cmp "$T/msg" "$T/echoed" || fail "echo differs"
wait_pid $EP 100
[ "$WAIT_RC" -eq 0 ] || fail "echo server exit $WAIT_RC: $(cat "$T/echo-server.err")"
echo "PASS"
