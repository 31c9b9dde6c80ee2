#!/usr/bin/env bash
# test_forward_http.sh - an unmodified HTTP server and client through two
# toud daemons on loopback: curl -> [forward fw] on A -> tou -> [service svc]
# on B -> python3 -m http.server.  A 40 MB file arrives byte-exact (sha256),
# then 100 concurrent requests all get their own body; LIST shows a live
# forwarded stream's forward ("via"), STATS counts the connections and the
# bytes of each side.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"

mkdir -p "$WORK/www"
head -c 40M /dev/urandom >"$WORK/www/big.bin"
for i in $(seq 0 19); do head -c $((1000 + i * 7919)) /dev/urandom >"$WORK/www/f$i.bin"; done
HTTP_PORT=$(free_tcp_port)
$PY -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$HTTP_PORT" >"$WORK/http.log" 2>&1 &
BG_PIDS+=($!)
wait_for "http.server" 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/f0.bin"

start_pair "127.0.0.1:$HTTP_PORT"

curl -sS --max-time 120 -o "$WORK/big.out" "http://127.0.0.1:$FWD_PORT/big.bin" || fail "curl of big.bin failed"
[ "$(sha256sum <"$WORK/big.out")" = "$(sha256sum <"$WORK/www/big.bin")" ] || fail "big.bin differs after the tunnel"
echo "ok: 40 MB through [forward] + [service], sha256 equal"

# 100 concurrent requests, each body checked against its file
seq 0 99 | xargs -P 100 -I{} sh -c \
	'n=$(({} % 20)); curl -sS --max-time 120 -o "'"$WORK"'/c{}.out" "http://127.0.0.1:'"$FWD_PORT"'/f$n.bin"' ||
	fail "a concurrent curl failed"
for i in $(seq 0 99); do
	cmp -s "$WORK/c$i.out" "$WORK/www/f$((i % 20)).bin" || fail "concurrent request $i: wrong body"
done
echo "ok: 100 concurrent requests, every body correct"

# a live stream: LIST on both daemons names its forward / service
$PY -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(30)' "$FWD_PORT" &
HOLD=$!
BG_PIDS+=($HOLD)
wait_for "a LIST entry via forward fw on A" 10 sh -c "$API req '$A_SOCK' LIST | grep -q '\"via\":\"forward fw\"'"
wait_for "a LIST entry via service svc on B" 10 sh -c "$API req '$B_SOCK' LIST | grep -q '\"via\":\"service svc\"'"
kill "$HOLD" 2>/dev/null || true
echo "ok: LIST shows via forward fw (A) and via service svc (B)"

n=$(stats_field "$A_SOCK" forwards fw connections)
[ "$n" -ge 101 ] || fail "A counts $n forwarded connections, expected >= 101"
n=$(stats_field "$B_SOCK" services svc connections)
[ "$n" -ge 101 ] || fail "B counts $n service connections, expected >= 101"
n=$(stats_field "$A_SOCK" forwards fw bytes_from_peer)
[ "$n" -ge $((40 * 1024 * 1024)) ] || fail "A counts $n bytes from the peer, expected >= 40 MiB"
n=$(stats_field "$B_SOCK" services svc bytes_to_peer)
[ "$n" -ge $((40 * 1024 * 1024)) ] || fail "B counts $n bytes to the peer, expected >= 40 MiB"
n=$(stats_field "$A_SOCK" forwards fw refused)
[ "$n" = 0 ] || fail "A refused $n connections, expected 0"
echo "ok: STATS counts connections and bytes on both sides"
