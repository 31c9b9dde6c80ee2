#!/usr/bin/env bash
# test_forward_halfclose.sh - half-close carried both ways through a
# [forward] on A and a [service] on B:
#   0. interactive socat: 20 lines typed one at a time, each echoed back
#      (socat ... EXEC:cat) before the next; the last one typed with the
#      end of input (the client's FIN) still comes back, then EOF;
#   1. client -> server: socat sends 2 MB and shuts its write side; the
#      target (socat ... EXEC:cat) sees EOF only then, echoes every byte
#      and closes; the client reads the whole echo, then EOF.
#   2. server -> client: the target sends 1 MB and shuts its write side
#      first; the client reads it to EOF while its own direction is still
#      open, then sends 1 MB and shuts; the target reads all of it to EOF.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"

ECHO_PORT=$(free_tcp_port)
SRV_PORT=$(free_tcp_port)
socat TCP-LISTEN:"$ECHO_PORT",bind=127.0.0.1,reuseaddr,fork EXEC:cat >"$WORK/echo.log" 2>&1 &
BG_PIDS+=($!)

# the second target speaks first, shuts its side, then reads to EOF
head -c 1M /dev/urandom >"$WORK/s.bin"
head -c 1M /dev/urandom >"$WORK/c.bin"
$PY - "$SRV_PORT" "$WORK/s.bin" "$WORK/got_from_client.bin" "$WORK/srv.ready" <<'PYEOF' &
import socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(1)
open(sys.argv[4], "w").close()
s, _ = ls.accept()
s.sendall(open(sys.argv[2], "rb").read())
s.shutdown(socket.SHUT_WR)          # the target's FIN first
got = bytearray()
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
open(sys.argv[3] + ".tmp", "wb").write(got)
import os
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
s.close()
PYEOF
BG_PIDS+=($!)
wait_for "the echo target" 10 sh -c "echo | socat -t 5 - TCP:127.0.0.1:$ECHO_PORT"
wait_for "the speaking target" 10 test -e "$WORK/srv.ready"

printf '[service echo]\nport = 80\nto = 127.0.0.1:%s\n[service speak]\nport = 81\nto = 127.0.0.1:%s\n' \
	"$ECHO_PORT" "$SRV_PORT" >"$WORK/B.conf"
start_daemon B -c "$WORK/B.conf"
F1=$(free_tcp_port)
F2=$(free_tcp_port)
printf '[forward echo]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s 80\n[forward speak]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s 81\n' \
	"$F1" "$B_PORT" "$F2" "$B_PORT" >"$WORK/A.conf"
start_daemon A -c "$WORK/A.conf"

# interactive: each line comes back before the next is typed (nothing
# waits for more bytes on the way); the last one is typed together with
# the end of input (socat's shutdown: the client's FIN), and its echo and
# then EOF still reach the half-closed client
mkfifo "$WORK/to_socat" "$WORK/from_socat"
socat -t 30 - TCP:127.0.0.1:"$F1" <"$WORK/to_socat" >"$WORK/from_socat" 2>"$WORK/isocat.log" &
soc_pid=$!
BG_PIDS+=($soc_pid)
exec {to_soc}>"$WORK/to_socat" {from_soc}<"$WORK/from_socat"
for i in $(seq 1 20); do
	echo "line $i of an interactive session" >&"$to_soc"
	read -t 30 -r got <&"$from_soc" || fail "interactive: no echo of line $i"
	[ "$got" = "line $i of an interactive session" ] || fail "interactive: line $i came back as \"$got\""
done
echo "the last line, then EOF" >&"$to_soc"
exec {to_soc}>&- # socat shuts down its write side: our FIN
read -t 30 -r got <&"$from_soc" || fail "interactive: the last line did not come back to the half-closed client"
[ "$got" = "the last line, then EOF" ] || fail "interactive: the last line came back as \"$got\""
if read -t 30 -r got <&"$from_soc"; then fail "interactive: \"$got\" after the echo of the last line"; fi
exec {from_soc}<&-
wait "$soc_pid" || fail "interactive: socat failed: $(cat "$WORK/isocat.log")"
echo "ok: interactive socat: 20 lines echoed one by one, the last one with the client's FIN, then EOF"

head -c 2M /dev/urandom >"$WORK/in.bin"
socat -t 60 - TCP:127.0.0.1:"$F1" <"$WORK/in.bin" >"$WORK/out.bin" || fail "socat client failed"
cmp -s "$WORK/in.bin" "$WORK/out.bin" || fail "client-first half-close: echo differs ($(stat -c %s "$WORK/out.bin") bytes back)"
echo "ok: client shut first: 2 MB echoed back whole after its FIN, then EOF"

$PY - "$F2" "$WORK/s.bin" "$WORK/c.bin" <<'PYEOF' || fail "server-first half-close failed"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(60)                    # a hang detector, not a threshold
got = bytearray()
while True:                         # the target's bytes, then its FIN
    b = s.recv(65536)
    if not b:
        break
    got += b
if bytes(got) != open(sys.argv[2], "rb").read():
    sys.exit("the target's 1 MB differs (%d bytes)" % len(got))
s.sendall(open(sys.argv[3], "rb").read())   # our direction still works
s.shutdown(socket.SHUT_WR)
if s.recv(1) != b"":
    sys.exit("data after EOF")
s.close()
PYEOF
wait_for "the target's copy" 30 test -e "$WORK/got_from_client.bin"
cmp -s "$WORK/c.bin" "$WORK/got_from_client.bin" || fail "server-first half-close: the client's 1 MB differs at the target"
echo "ok: target shut first: its 1 MB then EOF reached the client, whose 1 MB then reached the target whole"
