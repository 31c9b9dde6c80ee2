#!/bin/bash
# test_cli_transfer.sh - a 50 MB random file through two real toud daemons
# on loopback, with the tou CLI, in each direction (connect -> listen, then
# listen -> connect), compared by sha256; both ends must exit 0 (the
# daemons report a clean FIN end).  Then both directions at once.
# stdin and stdout of each kind, as tou moves them (client/tou_pipe.c):
# regular files (sendfile(2) in, splice(2) through a pipe out), pipes
# (splice(2) both ways), and a socket as both stdin and stdout, like inetd
# (read(2)/write(2)); half-close with each: byte-exact, exit 0.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"

start_pair

head -c 50000000 /dev/urandom >"$T/big"
SUM=$(sha256sum <"$T/big" | cut -d' ' -f1)

# listen_then_connect PORT LISTEN_IN LISTEN_OUT CONNECT_IN CONNECT_OUT [connect opts]
# Starts `tou listen` on daemon b, then `tou connect` from daemon a; waits
# (bounded) for both; both must exit 0.
listen_then_connect() {
	local port=$1 lin=$2 lout=$3 cin=$4 cout=$5
	shift 5
	"$TOU" -s "$B" listen "$port" <"$lin" >"$lout" 2>"$T/listen.err" &
	local lp=$!
	bg $lp
	# The listener exists when LIST on b... has no entry for it: wait for
	# the LISTEN to be answered by checking a refused probe is no longer
	# refused is racy, so retry the connect while it is refused (exit 4).
	local rc i
	for ((i = 0; i < 100; i++)); do
		rc=0
		"$TOU" -s "$A" connect -v "$@" "127.0.0.1:$PB" "$port" <"$cin" >"$cout" 2>"$T/connect.err" || rc=$?
		[ $rc -eq 4 ] || break
		sleep 0.1
	done
	[ $rc -eq 0 ] || fail "connect exit $rc: $(cat "$T/connect.err")"
	wait_pid $lp 600
	[ "$WAIT_RC" -eq 0 ] || fail "listen exit $WAIT_RC: $(cat "$T/listen.err")"
	IDS+=("$(sed -n 's/^tou: connected: id \([0-9]*\) .*/\1/p' "$T/connect.err")")
}
IDS=()

step "50 MB connect -> listen"
listen_then_connect 5000 /dev/null "$T/got1" "$T/big" "$T/empty1" --progress
[ "$(sha256sum <"$T/got1" | cut -d' ' -f1)" = "$SUM" ] || fail "connect -> listen: sha256 differs"
[ ! -s "$T/empty1" ] || fail "connect side received bytes"
grep -q 'sent 47.7 MiB' "$T/connect.err" || fail "--progress summary missing: $(tail -c 300 "$T/connect.err")"

step "50 MB listen -> connect"
listen_then_connect 5001 "$T/big" "$T/empty2" /dev/null "$T/got2"
[ "$(sha256sum <"$T/got2" | cut -d' ' -f1)" = "$SUM" ] || fail "listen -> connect: sha256 differs"
[ ! -s "$T/empty2" ] || fail "listen side received bytes"

step "both directions at once (8 MB each way)"
head -c 8000000 "$T/big" >"$T/up"
tail -c 8000000 "$T/big" >"$T/down"
listen_then_connect 5002 "$T/down" "$T/up.out" "$T/up" "$T/down.out" --nodelay
cmp "$T/up" "$T/up.out" || fail "upstream differs"
cmp "$T/down" "$T/down.out" || fail "downstream differs"

# wait_listening PORT: until daemon b lists a listener on PORT
wait_listening() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$TOU" -s "$B" status 2>/dev/null | grep -q "LISTEN .*/$1 " && return 0
		sleep 0.05
	done
	fail "no listener on port $1"
}

# through_pipes PORT LISTEN_IN LISTEN_OUT CONNECT_IN CONNECT_OUT [connect opts]:
# as listen_then_connect, but every stdin and stdout of tou is a pipe
# (cat FILE | tou ... | cat >FILE)
through_pipes() {
	local port=$1 lin=$2 lout=$3 cin=$4 cout=$5
	shift 5
	(cat "$lin" | "$TOU" -s "$B" listen "$port" 2>"$T/listen.err" | cat >"$lout") &
	local lp=$! rc=0
	bg $lp
	wait_listening "$port"
	(cat "$cin" | "$TOU" -s "$A" connect -v "$@" "127.0.0.1:$PB" "$port" 2>"$T/connect.err" |
		cat >"$cout") || rc=$?
	[ $rc -eq 0 ] || fail "connect (pipes) exit $rc: $(cat "$T/connect.err")"
	wait_pid $lp 600
	[ "$WAIT_RC" -eq 0 ] || fail "listen (pipes) exit $WAIT_RC: $(cat "$T/listen.err")"
	IDS+=("$(sed -n 's/^tou: connected: id \([0-9]*\) .*/\1/p' "$T/connect.err")")
}

# sock_io IN OUT CMD...: CMD with one end of a socketpair as both its stdin
# and stdout (as inetd starts a program); IN is written into the other end,
# then shut down (half-close), and what comes back goes to OUT until EOF.
# Exits with CMD's status.
sock_io() {
	python3 -c '
import socket, subprocess, sys, threading
fin, fout, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
a, b = socket.socketpair()
p = subprocess.Popen(cmd, stdin=b, stdout=b)
b.close()
def feed():
    with open(fin, "rb") as f:
        while True:
            chunk = f.read(65536)
            if not chunk:
                break
            a.sendall(chunk)
    a.shutdown(socket.SHUT_WR)
t = threading.Thread(target=feed)
t.start()
with open(fout, "wb") as f:
    while True:
        d = a.recv(65536)
        if not d:
            break
        f.write(d)
t.join()
sys.exit(p.wait())
' "$@"
}

step "50 MB connect -> listen, stdin and stdout pipes on both ends"
through_pipes 5003 /dev/null "$T/got3" "$T/big" "$T/empty3"
[ "$(sha256sum <"$T/got3" | cut -d' ' -f1)" = "$SUM" ] || fail "pipes: sha256 differs"
[ ! -s "$T/empty3" ] || fail "pipes: connect side received bytes"

step "both directions at once through pipes (each side half-closes first in turn)"
through_pipes 5004 "$T/down" "$T/up.out4" "$T/up" "$T/down.out4" --nodelay
cmp "$T/up" "$T/up.out4" || fail "pipes: upstream differs"
cmp "$T/down" "$T/down.out4" || fail "pipes: downstream differs"
head -c 100 "$T/big" >"$T/small"
through_pipes 5005 "$T/big" "$T/small.out5" "$T/small" "$T/big.out5"
cmp "$T/small" "$T/small.out5" || fail "pipes, early half-close: upstream differs"
[ "$(sha256sum <"$T/big.out5" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "pipes, early half-close: downstream (after our FIN) differs"

step "both directions, tou connect's stdin and stdout one socket (no splice)"
"$TOU" -s "$B" listen 5006 <"$T/down" >"$T/up.out6" 2>"$T/listen.err" &
lp=$!
bg $lp
wait_listening 5006
rc=0
sock_io "$T/up" "$T/down.out6" "$TOU" -s "$A" connect -v "127.0.0.1:$PB" 5006 2>"$T/connect.err" || rc=$?
[ $rc -eq 0 ] || fail "connect (socket stdio) exit $rc: $(cat "$T/connect.err")"
wait_pid $lp 600
[ "$WAIT_RC" -eq 0 ] || fail "listen exit $WAIT_RC: $(cat "$T/listen.err")"
cmp "$T/up" "$T/up.out6" || fail "socket stdio: upstream differs"
cmp "$T/down" "$T/down.out6" || fail "socket stdio: downstream differs"
IDS+=("$(sed -n 's/^tou: connected: id \([0-9]*\) .*/\1/p' "$T/connect.err")")

step "the daemon reports each connection ended cleanly (fin, or TIME-WAIT)"
for id in "${IDS[@]}"; do
	[ -n "$id" ] || fail "connection id not printed by -v"
	"$TOU" -s "$A" status --json "$id" | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c.get("end") == "fin" or ("end" not in c and c["state"] == "TIME-WAIT"), c
' || fail "connection $id did not end cleanly"
done
echo "PASS"
