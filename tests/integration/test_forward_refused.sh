#!/usr/bin/env bash
# test_forward_refused.sh - a refusal or a reset anywhere on the path
# reaches the application as a reset (ECONNRESET), never a hang or a
# clean EOF: through [forward]s on A to [service]s on B,
#   refuse  B's target refuses (nothing listens): B resets the tou side;
#   deny    the service's allow list leaves 127.0.0.1 out;
#   nopeer  nothing listens on the tou port at B (the peer daemon's RST);
#   reset   the target sends a line, then resets (SO_LINGER 0): the client
#           gets the line, then ECONNRESET;
#   limit   the service's max_per_peer = 2: with two connections live the
#           third is reset (and counted); once one ends a new one gets in;
# and STATS counts the refusals, STATUS <id> keeps the forward and the end.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"

CLOSED=$(free_tcp_port)   # nothing listens there
RST_PORT=$(free_tcp_port)  # sends a line, reads the client's, then resets
HOLD_PORT=$(free_tcp_port) # sends a line to each connection, holds it until EOF
$PY - "$RST_PORT" "$HOLD_PORT" "$WORK/targets.ready" <<'PYEOF' &
import socket, struct, sys, threading
def reset(s):
    s.sendall(b"hello before the reset\n")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.recv(100)                       # the client's line: then RST
    s.close()
def hold(s):
    s.sendall(b"held\n")
    while s.recv(100):
        pass
    s.close()
def serve(ls, handle):
    while True:
        s, _ = ls.accept()
        threading.Thread(target=handle, args=(s,), daemon=True).start()
for port, handle in ((sys.argv[1], reset), (sys.argv[2], hold)):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(8)
    threading.Thread(target=serve, args=(ls, handle), daemon=True).start()
open(sys.argv[3], "w").close()
threading.Event().wait()
PYEOF
BG_PIDS+=($!)
wait_for "the targets" 10 test -e "$WORK/targets.ready"

cat >"$WORK/B.conf" <<EOC
[service refuse]
port = 80
to = 127.0.0.1:$CLOSED
[service deny]
port = 81
to = 127.0.0.1:$RST_PORT
allow = 10.0.0.0/8 2001:db8::/32
[service reset]
port = 82
to = 127.0.0.1:$RST_PORT
[service limit]
port = 83
to = 127.0.0.1:$HOLD_PORT
max_per_peer = 2
EOC
start_daemon B -c "$WORK/B.conf"
declare -A FP
: >"$WORK/A.conf"
for n in refuse:80 deny:81 reset:82 limit:83 nopeer:99; do
	FP[${n%:*}]=$(free_tcp_port)
	printf '[forward %s]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s %s\n' "${n%:*}" "${FP[${n%:*}]}" "$B_PORT" "${n#*:}" \
		>>"$WORK/A.conf"
done
start_daemon A -c "$WORK/A.conf"

# expect_reset NAME [WANT_FIRST_LINE]: connect to forward NAME; read
# (optionally a line first, answered with a line); the connection must end
# with ECONNRESET, not EOF.  The socket timeout only detects a hang.
expect_reset() {
	$PY - "${FP[$1]}" "${2:-}" <<'PYEOF' || fail "forward $1: the client was not reset"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(60)
want = sys.argv[2].encode()
try:
    if want:
        got = b""
        while not got.endswith(b"\n"):
            b = s.recv(100)
            if not b:
                sys.exit("EOF before the line")
            got += b
        if got != want + b"\n":
            sys.exit("got %r" % got)
        s.sendall(b"bye\n")
    while True:
        b = s.recv(100)
        if not b:
            sys.exit("a clean EOF instead of a reset")
except ConnectionResetError:
    sys.exit(0)
except socket.timeout:
    sys.exit("hung: neither data nor a reset in 60 s")
PYEOF
	echo "ok: $1: the client's connection was reset"
}

expect_reset refuse
expect_reset deny
expect_reset nopeer
expect_reset reset "hello before the reset"

n=$(stats_field "$B_SOCK" services refuse refused)
[ "$n" -ge 1 ] || fail "B's service refuse counts $n refusals"
n=$(stats_field "$B_SOCK" services deny refused)
[ "$n" -ge 1 ] || fail "B's service deny counts $n refusals"
n=$(stats_field "$A_SOCK" forwards nopeer refused)
[ "$n" -ge 1 ] || fail "A's forward nopeer counts $n refusals"
# A's first connection (forward refuse) was established, then reset by B:
# its end record says so and names the forward
st=$(api "$A_SOCK" "STATUS 1")
case "$st" in *'"via":"forward refuse"'*'"end":"reset"'*) ;; *) fail "A's STATUS 1: $st" ;; esac
# the allow list is the engine's: the SYN was refused before a TCB existed
n=$(stats_field "$B_SOCK" services deny refused_allow)
[ "$n" -ge 1 ] || fail "B's service deny counts $n allow-list refusals"
api "$B_SOCK" LIST | grep -q '"via":"service deny"' && fail "a connection of service deny exists on B"
grep -q 'forward deny: connection refused: 127.0.0.1:81 refused' "$WORK/A.log" ||
	fail "A did not log the refusal of forward deny"
echo "ok: STATS and the log count and explain the refusals"

# limit: two connections held open (each got the target's line, so each
# is live at B), a third reset at once; once the first ends, a new one
# gets in (max_per_peer counts live connections)
$PY - "${FP[limit]}" "$WORK/limit" <<'PYEOF' &
import os, socket, sys, time
port, base = int(sys.argv[1]), sys.argv[2]
def opened():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(60)
    got = b""
    while not got.endswith(b"\n"):
        b = s.recv(100)
        if not b:
            raise ConnectionResetError("EOF")
        got += b
    if got != b"held\n":
        sys.exit("got %r" % got)
    return s
held = [opened(), opened()]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(60)
try:
    b = s.recv(100)
    sys.exit("the third connection got %r instead of a reset" % b)
except ConnectionResetError:
    pass
except socket.timeout:
    sys.exit("the third connection hung")
open(base + ".third", "w").close()
while not os.path.exists(base + ".go"):
    time.sleep(0.02)
held[0].close()
for attempt in range(600):   # until B has seen the first one end
    try:
        opened().close()
        break
    except ConnectionResetError:
        time.sleep(0.1)
else:
    sys.exit("no connection got in after the first one ended")
open(base + ".fourth", "w").close()
PYEOF
LIMIT_PID=$!
BG_PIDS+=($LIMIT_PID)
wait_for "the third connection's reset" 60 test -e "$WORK/limit.third"
n=$(stats_field "$B_SOCK" services limit refused)
[ "$n" -ge 1 ] || fail "B's service limit counts $n refusals"
[ "$(stats_field "$B_SOCK" services limit active)" = 2 ] || fail "B's service limit does not have 2 live connections"
grep -q 'service limit: connection from 127.0.0.1:[0-9]*/[0-9]* refused: its max_per_peer reached' "$WORK/B.log" ||
	fail "B did not log the max_per_peer refusal"
echo "ok: limit: with max_per_peer = 2 connections live, the third was reset at once ($n counted, logged)"
touch "$WORK/limit.go"
wait "$LIMIT_PID" || fail "forward limit: see above"
[ -e "$WORK/limit.fourth" ] || fail "forward limit: no fourth connection"
echo "ok: limit: once one of them ended, a new connection got in"
