#!/usr/bin/env bash
# test_daemon_signals.sh - SIGHUP reloads what can change at run time and
# refuses a bad file (keeping the old configuration); SIGTERM shuts down
# gracefully: the open stream gets a FIN (the peer's app sees EOF and the
# connection ends "fin"), the API socket is removed, exit status 0.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

# ---- SIGHUP ----
conf="$WORK/a.conf"
printf '[daemon]\nlog_level = info\n[tcp]\nrto_min = 200ms\n' >"$conf"
port=$(free_port)
"$TOUD" -c "$conf" -o "daemon.udp=127.0.0.1:$port" -o "daemon.socket=$WORK/A.sock" \
	-o limits.shutdown_timeout=20s 2>"$WORK/A.log" &
A_PID=$!
DAEMON_PIDS+=("$A_PID")
A_SOCK="$WORK/A.sock"
wait_for "A's socket" 10 $API req "$A_SOCK" VERSION

printf '[daemon]\nlog_level = info\nsocket_mode = 0600\n[tcp]\nrto_min = 300ms\ncongestion = newreno\n[limits]\nmax_per_peer = 7\n' >"$conf"
kill -HUP "$A_PID"
wait_for "reload log" 10 grep -q 'configuration reloaded' "$WORK/A.log"
grep -q 'reload: tcp.rto_min: 200ms -> 300ms' "$WORK/A.log" || fail "rto_min change not logged"
grep -q 'reload: tcp.congestion: cubic -> newreno' "$WORK/A.log" || fail "congestion change not logged"
grep -q 'reload: limits.max_per_peer: 4096 -> 7' "$WORK/A.log" || fail "limit change not logged"
grep -q 'reload: daemon.socket_mode: 0660 -> 0600 needs a restart' "$WORK/A.log" || fail "restart-only key not reported"
echo "ok: SIGHUP reload logs every change and keeps restart-only keys"

printf '[tcp]\nrto_min = soon\n' >"$conf"
kill -HUP "$A_PID"
wait_for "refused reload" 10 grep -q 'reload refused, configuration unchanged: .*a.conf:2: rto_min' "$WORK/A.log"
expect_prefix "alive after a bad reload" "OK " "$(api "$A_SOCK" VERSION)"
echo "ok: a bad file on SIGHUP is refused, the daemon keeps running"

# ---- SIGTERM with an open stream ----
start_daemon B
$API hold "$B_SOCK" "LISTEN 7000" >"$WORK/listen.out" &
BG_PIDS+=($!)
wait_for "LISTEN" 10 grep -q '^OK 7000$' "$WORK/listen.out"
head -c 1M /dev/urandom >"$WORK/one.in"
: >"$WORK/empty.in"
# B's app sends nothing and shuts down only after A's FIN (EOF)
$API stream "$B_SOCK" "ACCEPT 7000" "$WORK/empty.in" "$WORK/b.out" --order last --idfile "$WORK/b.id" \
	2>/dev/null &
acc=$!
BG_PIDS+=($acc)
# A's app sends 1 MB, then keeps its side open (a FIFO that stays open)
mkfifo "$WORK/in.fifo"
(cat "$WORK/one.in"; sleep 60) >"$WORK/in.fifo" &
BG_PIDS+=($!)
$API stream "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000" "$WORK/in.fifo" "$WORK/a.out" --idfile "$WORK/a.id" \
	2>/dev/null &
BG_PIDS+=($!)
wait_for "1 MB at B" 30 sh -c "[ \$(stat -c %s '$WORK/b.out' 2>/dev/null || echo 0) -ge 1048576 ]"
kill -TERM "$A_PID"
rc=0
wait "$A_PID" || rc=$?
[ "$rc" = 0 ] || fail "toud exited with $rc after SIGTERM"
grep -q 'Terminated: shutting down (1 connection' "$WORK/A.log" || fail "no shutdown log"
grep -q 'all streams closed; exiting' "$WORK/A.log" || fail "shutdown was not graceful"
[ ! -e "$A_SOCK" ] || fail "API socket left behind"
wait "$acc" || fail "B's app did not get a clean EOF"
cmp "$WORK/one.in" "$WORK/b.out" || fail "data sent before SIGTERM lost"
end=$($API wait-end "$B_SOCK" "$(cat "$WORK/b.id")" 10)
[ "$end" = fin ] || fail "B's end is \"$end\", expected fin"
echo "ok: SIGTERM: FIN to the peer after the queued data, end=fin, exit 0, socket removed"

# ---- SIGTERM deadline: a peer that never closes is reset ----
"$TOUD" -c "$WORK/empty.conf" -o "daemon.udp=127.0.0.1:$(free_port)" -o "daemon.socket=$WORK/C.sock" \
	-o limits.shutdown_timeout=1s 2>"$WORK/C.log" &
C_PID=$!
DAEMON_PIDS+=("$C_PID")
wait_for "C's socket" 10 $API req "$WORK/C.sock" VERSION
$API hold "$B_SOCK" "LISTEN 7001" >"$WORK/listen2.out" &
BG_PIDS+=($!)
wait_for "LISTEN 7001" 10 grep -q '^OK 7001$' "$WORK/listen2.out"
mkfifo "$WORK/in2.fifo" "$WORK/in3.fifo"
sleep 60 >"$WORK/in2.fifo" &
BG_PIDS+=($!)
sleep 60 >"$WORK/in3.fifo" &
BG_PIDS+=($!)
# B's app never shuts down its side (its input never ends)
$API stream "$B_SOCK" "ACCEPT 7001" "$WORK/in3.fifo" "$WORK/b2.out" --order last --idfile "$WORK/b2.id" 2>/dev/null &
BG_PIDS+=($!)
$API stream "$WORK/C.sock" "CONNECT 127.0.0.1:$B_PORT 7001" "$WORK/in2.fifo" "$WORK/c.out" \
	--idfile "$WORK/c.id" 2>/dev/null &
BG_PIDS+=($!)
wait_for "stream up" 10 test -s "$WORK/b2.id"
kill -TERM "$C_PID"
rc=0
wait "$C_PID" || rc=$?
[ "$rc" = 0 ] || fail "toud exited with $rc after the shutdown deadline"
grep -q 'shutdown_timeout reached: resetting 1 remaining' "$WORK/C.log" || fail "deadline not logged"
end=$($API wait-end "$B_SOCK" "$(cat "$WORK/b2.id")" 10)
[ "$end" = reset ] || fail "B's end is \"$end\", expected reset"
echo "ok: SIGTERM deadline resets what is left (peer sees reset), exit 0"
