#!/usr/bin/env bash
# test_forward_refused.sh - a refusal or a reset anywhere on the path
# reaches the application as a reset (ECONNRESET), never a hang or a
# clean EOF: through [forward]s on A to [service]s on B,
#   refuse  B's target refuses (nothing listens): B resets the tou side;
#   deny    the service's allow list leaves 127.0.0.1 out;
#   nopeer  nothing listens on the tou port at B (the peer daemon's RST);
#   reset   the target sends a line, then resets (SO_LINGER 0): the client
#           gets the line, then ECONNRESET;
# and STATS counts the refusals, STATUS <id> keeps the forward and the end.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"

CLOSED=$(free_tcp_port)   # nothing listens there
RST_PORT=$(free_tcp_port)
$PY - "$RST_PORT" "$WORK/rst.ready" <<'PYEOF' &
import socket, struct, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(8)
open(sys.argv[2], "w").close()
while True:
    s, _ = ls.accept()
    s.sendall(b"hello before the reset\n")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.recv(100)                       # the client's line: then RST
    s.close()
PYEOF
BG_PIDS+=($!)
wait_for "the resetting target" 10 test -e "$WORK/rst.ready"

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
EOC
start_daemon B -c "$WORK/B.conf"
declare -A FP
: >"$WORK/A.conf"
for n in refuse:80 deny:81 reset:82 nopeer:99; do
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
