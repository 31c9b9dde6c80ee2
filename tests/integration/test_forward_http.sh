#!/usr/bin/env bash
# test_forward_http.sh - unmodified HTTP servers and clients through two
# toud daemons on loopback: curl -> [forward] on A -> tou -> [service] on B
# -> a Python http.server.
#   1. `python3 -m http.server`: a 100 MB file arrives byte-exact (sha256);
#   2. 200 concurrent requests (one curl --parallel, 200 connections at
#      once) to an http.server whose handler answers only when all 200
#      requests are in (a barrier): so 200 forwarded connections are open
#      together through both daemons; every body is its own file;
#      Both daemons start with a soft open-files limit of 128: they raise
#      it for max_connections (else accept(2) fails with EMFILE);
#   3. LIST shows a live forwarded stream's forward / service ("via");
#      STATS counts the connections and the bytes of each side.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"
NCONC=200

mkdir -p "$WORK/www"
head -c 100M /dev/urandom >"$WORK/www/big.bin"
for i in $(seq 0 19); do head -c $((1000 + i * 7919)) /dev/urandom >"$WORK/www/f$i.bin"; done
HTTP_PORT=$(free_tcp_port)
$PY -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$HTTP_PORT" >"$WORK/http.log" 2>&1 &
BG_PIDS+=($!)
# the barrier server: http.server's own file handler, each GET held until
# NCONC of them wait together (a hang detector of 90 s, not a threshold:
# on a timeout every held request gets 503 and curl --fail fails)
SYNC_PORT=$(free_tcp_port)
$PY - "$SYNC_PORT" "$WORK/www" "$NCONC" >"$WORK/sync.log" 2>&1 <<'PYEOF' &
import functools, http.server, sys, threading
n = int(sys.argv[3])
barrier = threading.Barrier(n, timeout=90)
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/sync/"):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                self.send_error(503, "fewer than %d requests arrived together" % n)
                return
            self.path = self.path[len("/sync"):]
        super().do_GET()
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 2 * n      # the target's own backlog: not ours to test
    daemon_threads = True
Server(("127.0.0.1", int(sys.argv[1])), functools.partial(Handler, directory=sys.argv[2])).serve_forever()
PYEOF
BG_PIDS+=($!)
wait_for "http.server" 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/f0.bin"
wait_for "the barrier server" 10 curl -sf -o /dev/null "http://127.0.0.1:$SYNC_PORT/f0.bin"

# both daemons start with a soft open-files limit of 128 (a shell's usual
# 1024 does the same to more connections): toud raises it to what
# max_connections needs, so the NCONC connections below do not run out of
# file descriptors
printf '#!/bin/sh\nexec prlimit --nofile=128: "%s" "$@"\n' "$TOUD" >"$WORK/toud-lowfd"
chmod +x "$WORK/toud-lowfd"
TOUD=$WORK/toud-lowfd
printf '[service svc]\nport = 80\nto = 127.0.0.1:%s\n[service sync]\nport = 81\nto = 127.0.0.1:%s\n' \
	"$HTTP_PORT" "$SYNC_PORT" >"$WORK/B.conf"
start_daemon B -c "$WORK/B.conf"
FWD_PORT=$(free_tcp_port)
SYNC_FWD=$(free_tcp_port)
printf '[forward fw]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s 80\n[forward sync]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s 81\n' \
	"$FWD_PORT" "$B_PORT" "$SYNC_FWD" "$B_PORT" >"$WORK/A.conf"
start_daemon A -c "$WORK/A.conf"

for d in A B; do
	pid_var=${d}_PID
	soft=$(awk '/^Max open files/ { print $4 }' "/proc/${!pid_var}/limits")
	want=$((4096 + 1024 + 64)) hard=$(ulimit -Hn) # max_connections + max_api_clients + spare
	[ "$hard" = unlimited ] || [ "$hard" -ge "$want" ] || want=$hard
	[ "$soft" = "$want" ] || fail "toud $d has a soft open-files limit of $soft, expected $want"
	grep -q 'open files: soft limit raised from 128 to' "$WORK/$d.log" || fail "toud $d does not log the raise"
done
echo "ok: both daemons raised their soft open-files limit from 128 for max_connections + max_api_clients"
curl -sS --fail --max-time 120 -o "$WORK/big.out" "http://127.0.0.1:$FWD_PORT/big.bin" || fail "curl of big.bin failed"
[ "$(sha256sum <"$WORK/big.out")" = "$(sha256sum <"$WORK/www/big.bin")" ] || fail "big.bin differs after the tunnel"
echo "ok: 100 MB through [forward] + [service], sha256 equal"

# NCONC requests at once from one curl, each body checked against its file
args=()
for i in $(seq 0 $((NCONC - 1))); do
	args+=(-o "$WORK/c$i.out" "http://127.0.0.1:$SYNC_FWD/sync/f$((i % 20)).bin")
done
curl -sS --fail --max-time 120 --parallel --parallel-immediate --parallel-max "$NCONC" "${args[@]}" 2>"$WORK/curl.log" ||
	fail "$NCONC concurrent requests: curl failed: $(tr '\r' '\n' <"$WORK/curl.log" | grep -o 'curl: .*' | sort | uniq -c | head -5)"
for i in $(seq 0 $((NCONC - 1))); do
	cmp -s "$WORK/c$i.out" "$WORK/www/f$((i % 20)).bin" || fail "concurrent request $i: wrong body"
done
n=$(stats_field "$A_SOCK" forwards sync connections)
[ "$n" = "$NCONC" ] || fail "A counts $n connections of forward sync, expected $NCONC"
n=$(stats_field "$B_SOCK" services sync connections)
[ "$n" = "$NCONC" ] || fail "B counts $n connections of service sync, expected $NCONC"
echo "ok: $NCONC concurrent requests open together through both daemons, every body correct"

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
[ "$n" -ge 2 ] || fail "A counts $n connections of forward fw, expected >= 2"
n=$(stats_field "$B_SOCK" services svc connections)
[ "$n" -ge 2 ] || fail "B counts $n connections of service svc, expected >= 2"
n=$(stats_field "$A_SOCK" forwards fw bytes_from_peer)
[ "$n" -ge $((100 * 1024 * 1024)) ] || fail "A counts $n bytes from the peer, expected >= 100 MiB"
n=$(stats_field "$B_SOCK" services svc bytes_to_peer)
[ "$n" -ge $((100 * 1024 * 1024)) ] || fail "B counts $n bytes to the peer, expected >= 100 MiB"
for f in fw sync; do
	n=$(stats_field "$A_SOCK" forwards $f refused)
	[ "$n" = 0 ] || fail "A refused $n connections of forward $f, expected 0"
done
echo "ok: STATS counts connections and bytes on both sides"
