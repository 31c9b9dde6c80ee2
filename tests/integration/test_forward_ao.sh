#!/usr/bin/env bash
# test_forward_ao.sh - TCP-AO (RFC 5925) on tunnels: B's [service ao] has
# ao = required, its [service keyed] ao = a (one [key] only).  A's
# forwards send with a named [key] (ao = b, ao = d):
#   - through ao = b both services carry the file byte-exact, and B's
#     STATUS shows the connection with TCP-AO;
#   - a forward with the other key (ao = d) reaches [service keyed], which
#     resets it (the client sees ECONNRESET) and counts it as refused;
#   - a daemon without keys is never let in by [service ao]: the engine
#     drops its SYNs before a TCB (refused_ao), its client is reset when
#     the forward's timeout ends the attempt.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"

head -c 2M /dev/urandom >"$WORK/data.bin"
file_server SRC "$WORK/data.bin"
printf 'secret one for the tunnel test\n' >"$WORK/k1"
printf 'secret two for the tunnel test\n' >"$WORK/k2"
chmod 600 "$WORK/k1" "$WORK/k2"
key() { printf '[key %s]\npeer = 127.0.0.1\nsend_id = %s\nrecv_id = %s\nalgorithm = hmac-sha-1-96\nsecret_file = %s\n' "$@"; }
{
	key a 2 1 "$WORK/k1"
	key c 4 3 "$WORK/k2"
	printf '[service ao]\nport = 80\nto = 127.0.0.1:%s\nao = required\n' "$SRC"
	printf '[service keyed]\nport = 81\nto = 127.0.0.1:%s\nao = a\n' "$SRC"
} >"$WORK/B.conf"
start_daemon B -c "$WORK/B.conf"
declare -A FP
fwd() { FP[$1]=$(free_tcp_port); printf '[forward %s]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s %s\n%s\n' "$1" "${FP[$1]}" "$B_PORT" "$2" "$3"; }
{
	key b 1 2 "$WORK/k1"
	key d 3 4 "$WORK/k2"
	fwd ao 80 "ao = b"
	fwd keyed 81 "ao = b"
	fwd other 81 "ao = d"
} >"$WORK/A.conf"
start_daemon A -c "$WORK/A.conf"
fwd plain 80 "timeout = 2s" >"$WORK/P.conf"
start_daemon P -c "$WORK/P.conf"

fetch() { # fetch NAME: the whole file through forward NAME, checked
	fetch_to "${FP[$1]}" "$WORK/$1.out" || fail "forward $1: the fetch failed"
	cmp -s "$WORK/$1.out" "$WORK/data.bin" || fail "forward $1: the file differs"
}
expect_reset() { # expect_reset PORT WHAT
	$PY - "$1" <<'PYEOF' || fail "$2: the client was not reset"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(60)
try:
    b = s.recv(100)
    sys.exit("got %d bytes" % len(b) if b else "a clean EOF instead of a reset")
except ConnectionResetError:
    pass
PYEOF
}

fetch ao
fetch keyed
echo "ok: forwards with [key b] carry 2 MB byte-exact through [service ao] (required) and [service keyed] (ao = a)"
$PY - "${FP[ao]}" "$WORK/hold.ready" <<'PYEOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(1)
open(sys.argv[2], "w").close()
time.sleep(30)
PYEOF
BG_PIDS+=($!)
wait_for "a held connection" 10 test -e "$WORK/hold.ready"
api "$B_SOCK" LIST | $PY -c '
import json, sys
conns = json.loads(sys.stdin.read()[3:])
c = [c for c in conns if c.get("via") == "service ao" and "end" not in c]
sys.exit(0 if c and c[0].get("ao") else "no TCP-AO on %r" % c)' || fail "B's connection via service ao shows no TCP-AO"
echo "ok: B's LIST shows the service's connection with TCP-AO"

expect_reset "${FP[other]}" "a connection made with [key d] to [service keyed]"
[ "$(stats_field "$B_SOCK" services keyed refused)" -ge 1 ] || fail "B's service keyed counts no refusal"
grep -q 'service keyed: connection from .* refused: not made with its ao key' "$WORK/B.log" ||
	fail "B did not log why service keyed refused"
echo "ok: [service keyed] (ao = a) resets a connection made with another key, logged and counted"

expect_reset "${FP[plain]}" "a daemon without keys to [service ao]"
n=$(stats_field "$B_SOCK" services ao refused_ao)
[ "$n" -ge 1 ] || fail "B counts $n TCP-AO refusals on service ao"
api "$B_SOCK" LIST | grep -q '"state":"SYN-RECEIVED"' && fail "B made a TCB for a SYN without TCP-AO"
echo "ok: [service ao] drops SYNs without TCP-AO before a TCB ($n counted); the keyless client is reset at its timeout"
