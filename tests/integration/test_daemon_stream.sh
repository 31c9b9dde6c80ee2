#!/usr/bin/env bash
# test_daemon_stream.sh - stream semantics of the API:
#  - bytes pipelined after the CONNECT line (before OK) are sent first;
#  - backpressure: an app that does not read closes the TCP window (the
#    peer's writes block, nothing is lost) and reading resumes the flow;
#  - an app that closes its socket completely never reads again: data the
#    peer sends afterwards is answered with RST (the peer's end: reset).
#  - ACCEPT nodelay keepalive set the accepted connection's options.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

start_daemon A
start_daemon B
$API hold "$B_SOCK" "LISTEN 7000" >"$WORK/listen.out" &
BG_PIDS+=($!)
wait_for "LISTEN" 10 grep -q '^OK 7000$' "$WORK/listen.out"
: >"$WORK/empty"

# ---- pipelined bytes ----
$API stream "$B_SOCK" "ACCEPT 7000" "$WORK/empty" "$WORK/p.out" --order last 2>/dev/null &
acc=$!
printf 'CONNECT 127.0.0.1:%s 7000\nhello before OK\n' "$B_PORT" | timeout 20 socat -t 10 - UNIX-CONNECT:"$A_SOCK" >"$WORK/p.ans"
wait "$acc" || fail "accepting side"
[ "$(cat "$WORK/p.out")" = "hello before OK" ] || fail "pipelined bytes: got \"$(cat "$WORK/p.out")\""
head -n1 "$WORK/p.ans" | grep -q '^OK ' || fail "no OK: $(cat "$WORK/p.ans")"
echo "ok: bytes written before the OK are the stream's first bytes"

# ---- backpressure ----
head -c 24M /dev/urandom >"$WORK/big"
$API stream "$B_SOCK" "ACCEPT 7000" "$WORK/empty" "$WORK/big.out" --order last --idfile "$WORK/b.id" \
	--read-after "$WORK/go" 2>/dev/null &
acc=$!
$API stream "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000" "$WORK/big" "$WORK/x.out" --idfile "$WORK/a.id" 2>/dev/null &
con=$!
wait_for "B's id" 10 test -s "$WORK/b.id"
bid=$(cat "$WORK/b.id")
aid=$(cat "$WORK/a.id")
# B's app reads nothing: once its Unix socket is full, B's daemon stops
# reading the engine, whose receive buffer fills (as large as auto-tuning
# made it while the app still drained, at most 4 MiB): the window closes
full_buffer() {
	api "$B_SOCK" "STATUS $bid" | $PY -c 'import json,sys; d=json.loads(sys.stdin.read()[3:]); sys.exit(0 if d["recv_queue"] >= 60000 and d["rcv_wnd"] == 0 and d["recv_queue"] <= d["rcv_buf_limit"] + d["rcv_buf_limit"] // 16 else 1)'
}
wait_for "B's receive buffer to fill" 30 full_buffer
sleep 0.5 # (not a timing assertion: gives a broken flow control time to show)
full_buffer || fail "B's receive buffer drained without the app reading"
sent=$(api "$A_SOCK" "STATUS $aid" | $PY -c 'import json,sys; print(json.loads(sys.stdin.read()[3:])["bytes_acked"])')
[ "$sent" -lt 20000000 ] || fail "A got $sent bytes acked although B's app reads nothing"
kill -0 "$con" || fail "A's app finished writing 24 MB into a closed window"
echo "ok: a non-reading app fills the receive buffer and stops the sender (A acked $sent of 24 MB, A's app blocked)"
touch "$WORK/go"
wait "$con" || fail "A's app failed"
wait "$acc" || fail "B's app failed"
cmp "$WORK/big" "$WORK/big.out" || fail "data differs after backpressure"
echo "ok: reading resumes the flow, 24 MB byte-exact"

# ---- app closes completely: later data is answered with RST ----
printf 'data nobody will read\n' >"$WORK/late"
$API stream "$B_SOCK" "ACCEPT 7000" "$WORK/late" "$WORK/r.out" --order last --idfile "$WORK/r.id" \
	--send-after "$WORK/send" 2>/dev/null &
BG_PIDS+=($!)
ans=$($API close-now "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000")
expect_prefix "CONNECT then close" "OK " "$ans"
wait_for "B's id" 10 test -s "$WORK/r.id"
rid=$(cat "$WORK/r.id")
# A sent FIN when its app closed; only then does B's app send data
wait_for "A's FIN at B" 10 sh -c "$API req '$B_SOCK' 'STATUS $rid' | grep -q CLOSE-WAIT"
touch "$WORK/send"
end=$($API wait-end "$B_SOCK" "$rid" 10) || fail "no end record at B"
[ "$end" = reset ] || fail "B's end is \"$end\", expected reset (RST for data to a closed app)"
echo "ok: data sent to an app that closed its socket is answered with RST (B's end: reset)"

# ---- per-stream options: ACCEPT nodelay keepalive, CONNECT without ----
: >"$WORK/empty.in"
$API stream "$B_SOCK" "ACCEPT 7000 nodelay keepalive" "$WORK/empty.in" "$WORK/o1.out" --order last \
	--idfile "$WORK/o1.id" 2>"$WORK/o1.err" &
acc=$!
$API stream "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000" "$WORK/empty.in" "$WORK/o2.out" --order first \
	--idfile "$WORK/o2.id" --send-after "$WORK/go" 2>"$WORK/o2.err" &
con=$!
wait_for "both ids" 10 sh -c "test -s '$WORK/o1.id' && test -s '$WORK/o2.id'"
sb=$(api "$B_SOCK" "STATUS $(cat "$WORK/o1.id")")
sa=$(api "$A_SOCK" "STATUS $(cat "$WORK/o2.id")")
case "$sb" in *'"nodelay":true,"keepalive":true'*) ;; *) fail "ACCEPT nodelay keepalive: $sb" ;; esac
case "$sa" in *'"nodelay":false,"keepalive":false'*) ;; *) fail "plain CONNECT: $sa" ;; esac
touch "$WORK/go"
wait "$con" || fail "A's app failed: $(cat "$WORK/o2.err")"
wait "$acc" || fail "B's app failed: $(cat "$WORK/o1.err")"
echo "ok: ACCEPT nodelay keepalive set the accepted stream's options (STATUS shows them)"
