#!/usr/bin/env bash
# test_forward_cli.sh - one-off tunnels through the API (FORWARD, SERVE)
# with the CLI: `tou serve 80 127.0.0.1:HTTP` on B and `tou forward PORT
# B 80` on A carry curl to python3 -m http.server byte-exact; tou status
# names each stream's tunnel (via), tou stats shows the tunnel's counters;
# interrupting `tou forward` (exit 0) closes its listener while a 48 MB
# transfer through it goes on to the last byte; interrupting `tou serve`
# closes B's port (CONNECT is refused); a port in use, a privileged port
# or another user's Unix socket are refused with a clear error.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"
: "${TOU:?TOU must point to the tou binary}"
[ "$(id -u)" = 0 ] || fail "needs root (setpriv)"

mkdir -p "$WORK/www"
head -c 3M /dev/urandom >"$WORK/www/f.bin"
HTTP_PORT=$(free_tcp_port)
$PY -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$HTTP_PORT" >"$WORK/http.log" 2>&1 &
BG_PIDS+=($!)
wait_for "http.server" 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/f.bin"
head -c 48M /dev/urandom >"$WORK/data.bin"
file_server SRC "$WORK/data.bin"

chmod 0755 "$WORK" # uid nobody must reach the sockets
start_daemon B -o daemon.socket_mode=0666
start_daemon A -o daemon.socket_mode=0666
"$TOU" -s "$B_SOCK" serve 80 "127.0.0.1:$HTTP_PORT" 2>"$WORK/serve.err" &
SERVE=$!
BG_PIDS+=($SERVE)
"$TOU" -s "$B_SOCK" serve 81 "127.0.0.1:$SRC" 127.0.0.0/8 2>"$WORK/serve81.err" &
SERVE81=$!
BG_PIDS+=($SERVE81)
FP=$(free_tcp_port)
FP2=$(free_tcp_port)
"$TOU" -s "$A_SOCK" forward "$FP" "127.0.0.1:$B_PORT" 80 2>"$WORK/forward.err" &
FWD=$!
BG_PIDS+=($FWD)
"$TOU" -s "$A_SOCK" forward "127.0.0.1:$FP2" "127.0.0.1:$B_PORT" 81 2>"$WORK/forward2.err" &
FWD2=$!
BG_PIDS+=($FWD2)
wait_for "tou forward's tunnel" 10 grep -q "tunnel [0-9]* on 127.0.0.1:$FP: connections to $FP go to" "$WORK/forward.err"
wait_for "the second tou forward" 10 grep -q "tunnel" "$WORK/forward2.err"
wait_for "tou serve's tunnels" 10 sh -c "grep -q 'tunnel [0-9]* on 80: tou port 80 goes to' '$WORK/serve.err' && grep -q tunnel '$WORK/serve81.err'"

curl -sS --max-time 60 -o "$WORK/f.out" "http://127.0.0.1:$FP/f.bin" || fail "curl through the tunnels failed"
cmp -s "$WORK/f.out" "$WORK/www/f.bin" || fail "the body differs after the tunnels"
echo "ok: curl -> tou forward (A) -> tou serve (B) -> http.server: 3 MB byte-exact"

# a transfer paused mid-way shows its tunnel in tou status on both sides
paused_fetch "$FP2" "$WORK/p.out"
wait_for "the paused reader" 30 test -e "$WORK/p.out.paused"
"$TOU" -s "$A_SOCK" status >"$WORK/status.A"
"$TOU" -s "$B_SOCK" status >"$WORK/status.B"
grep -q 'via:forward api-[0-9]*$' "$WORK/status.A" || fail "tou status on A names no forward: $(cat "$WORK/status.A")"
grep -q 'via:service api-[0-9]*$' "$WORK/status.B" || fail "tou status on B names no service: $(cat "$WORK/status.B")"
"$TOU" -s "$A_SOCK" stats 'forward.*' >"$WORK/stats.A"
grep -Eq '^forward\.api-[0-9]+\.connections +1$' "$WORK/stats.A" || fail "tou stats on A: $(cat "$WORK/stats.A")"
grep -Eq '^forward\.api-[0-9]+\.bytes_from_peer +[0-9]+$' "$WORK/stats.A" || fail "tou stats on A lacks bytes: $(cat "$WORK/stats.A")"
"$TOU" -s "$B_SOCK" stats 'service.*.to' >"$WORK/stats.B"
grep -q "127.0.0.1:$HTTP_PORT" "$WORK/stats.B" || fail "tou stats on B: $(cat "$WORK/stats.B")"
echo "ok: tou status shows via:forward api-N / via:service api-N, tou stats the tunnels' counters"

# interrupting tou forward: exit 0, the listener goes, the live transfer stays
kill -INT "$FWD2"
rc=0
wait "$FWD2" || rc=$?
[ "$rc" = 0 ] || fail "tou forward exited $rc on SIGINT"
wait_for "the tunnel's removal" 10 grep -q 'forward api-[0-9]*: its API client went away: listener closed; 1 live connection' "$WORK/A.log"
expect_refused "$FP2" "the interrupted tou forward"
touch "$WORK/p.out.go"
wait_for "the paused transfer's end" 120 test -e "$WORK/p.out" -o -e "$WORK/p.out.err"
[ ! -e "$WORK/p.out.err" ] || fail "the transfer failed: $(cat "$WORK/p.out.err")"
cmp -s "$WORK/p.out" "$WORK/data.bin" || fail "the transfer through the removed tunnel differs"
echo "ok: SIGINT to tou forward: exit 0, its port refuses, the 48 MB transfer through it arrived byte-exact"

# interrupting tou serve closes B's tou port
kill -INT "$SERVE81"
wait "$SERVE81" || true
wait_for "B's tunnel removal" 10 grep -q 'service api-[0-9]*: its API client went away' "$WORK/B.log"
rc=0
"$TOU" -s "$A_SOCK" connect "127.0.0.1:$B_PORT" 81 </dev/null >/dev/null 2>"$WORK/c.err" || rc=$?
[ "$rc" = 4 ] || fail "a connection to the closed tou port: exit $rc (want 4, refused): $(cat "$WORK/c.err")"
echo "ok: SIGINT to tou serve closes its tou port (a new connection is refused)"

# refusals: a local port in use, a privileged port, a tou port in use, another user's socket
expect_fail() { # expect_fail WHAT STATUS PATTERN COMMAND...
	local what=$1 want=$2 pat=$3 rc=0
	shift 3
	"$@" >/dev/null 2>"$WORK/e.err" || rc=$?
	[ "$rc" = "$want" ] || fail "$what: exit $rc (want $want): $(cat "$WORK/e.err")"
	grep -q -- "$pat" "$WORK/e.err" || fail "$what: message lacks \"$pat\": $(cat "$WORK/e.err")"
	echo "ok: $what refused: $(head -n1 "$WORK/e.err")"
}
expect_fail "tou forward on a port in use" 1 "address already in use" \
	"$TOU" -s "$A_SOCK" forward "$FP" "127.0.0.1:$B_PORT" 80
expect_fail "tou serve on a tou port in use" 1 "port = 80: address in use" "$TOU" -s "$B_SOCK" serve 80 127.0.0.1:1
expect_fail "tou forward of port 80 by nobody" 1 "only root" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$TOU" -s "$A_SOCK" forward 80 127.0.0.1 80
$PY -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$WORK/root.sock"
expect_fail "tou serve of root's Unix socket by nobody" 1 "only root or the socket's owner" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$TOU" -s "$B_SOCK" serve 5000 "unix:$WORK/root.sock"
expect_fail "tou serve to a bad target" 2 "is not ADDR:PORT or unix:/path" "$TOU" -s "$B_SOCK" serve 5001 nowhere

# the first tunnels still work
curl -sS --max-time 60 -o "$WORK/f2.out" "http://127.0.0.1:$FP/f.bin" || fail "curl after the refusals failed"
cmp -s "$WORK/f2.out" "$WORK/www/f.bin" || fail "the body differs after the refusals"
kill -INT "$FWD" "$SERVE"
echo "ok: the refusals left the running tunnels alone"
