#!/usr/bin/env bash
# test_forward_reload.sh - SIGHUP adds, changes and removes [forward] and
# [service] sections during live traffic without touching the others:
#   A: [forward keep] (unchanged) and [forward old] (removed) each carry a
#      48 MB transfer that is paused mid-way (the reader stops; backpressure
#      keeps the connections open) while A reloads with [forward old]
#      gone, [forward moves] on a new address and a new [forward new]:
#      the new and moved forwards carry whole files at once, the removed
#      and the old address refuse new connections, STATS lists keep,
#      moves (its counters carried over) and new.
#   B: [service svc] gets an allow list in place by SIGHUP: new connections
#      from outside it are reset before a TCB exists (counted), the live
#      ones go on.
# Then both paused transfers finish byte-exact.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"

head -c 48M /dev/urandom >"$WORK/data.bin"
SUM=$(sha256sum <"$WORK/data.bin")
file_server SRC "$WORK/data.bin"
printf '[service svc]\nport = 80\nto = 127.0.0.1:%s\n' "$SRC" >"$WORK/B.conf"
start_daemon B -c "$WORK/B.conf"

P_KEEP=$(free_tcp_port)
P_OLD=$(free_tcp_port)
P_M1=$(free_tcp_port)
P_M2=$(free_tcp_port)
P_NEW=$(free_tcp_port)
fwd() { printf '[forward %s]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s 80\n' "$1" "$2" "$B_PORT"; }
{ fwd keep "$P_KEEP"; fwd old "$P_OLD"; fwd moves "$P_M1"; } >"$WORK/A.conf"
start_daemon A -c "$WORK/A.conf"

# fetch PORT WHAT: the whole file through 127.0.0.1:PORT, checked
fetch() {
	fetch_to "$1" "$WORK/fetch.out" || fail "$2: the fetch through port $1 failed"
	[ "$(sha256sum <"$WORK/fetch.out")" = "$SUM" ] || fail "$2: the file differs ($(stat -c %s "$WORK/fetch.out") bytes)"
}

fetch "$P_M1" "forward moves before the reload"
paused_fetch "$P_KEEP" "$WORK/keep.out"
paused_fetch "$P_OLD" "$WORK/old.out"
wait_for "the paused readers" 30 test -e "$WORK/keep.out.paused" -a -e "$WORK/old.out.paused"
live_via() { api "$1" LIST | grep -q "\"state\":\"ESTABLISHED\"[^}]*\"via\":\"$2\""; }
live_via "$A_SOCK" "forward keep" || fail "no live connection via forward keep: $(api "$A_SOCK" LIST)"
live_via "$A_SOCK" "forward old" || fail "no live connection via forward old"
echo "ok: two 48 MB transfers paused mid-way (via forward keep, via forward old)"

{ fwd keep "$P_KEEP"; fwd moves "$P_M2"; fwd new "$P_NEW"; } >"$WORK/A.conf"
kill -HUP "$A_PID"
wait_for "A's reload" 10 grep -q 'configuration reloaded' "$WORK/A.log"
grep -q 'forward old: removed from the configuration: listener closed; 1 live connection(s) go on' "$WORK/A.log" ||
	fail "A did not log the removal of forward old"
[ "$(grep -c 'forward keep: listening' "$WORK/A.log")" = 1 ] || fail "forward keep was reopened"
grep -q 'configuration reloaded .*could not start' "$WORK/A.log" && fail "a section could not start"
expect_refused "$P_OLD" "the removed forward old"
expect_refused "$P_M1" "forward moves' old address"
fetch "$P_NEW" "the new forward new"
fetch "$P_M2" "forward moves at its new address"
live_via "$A_SOCK" "forward keep" || fail "the connection via forward keep is gone after the reload"
live_via "$A_SOCK" "forward old" || fail "the connection via the removed forward old is gone after the reload"
names=$(api "$A_SOCK" STATS | $PY -c 'import json,sys; print(" ".join(sorted(e["name"] for e in json.loads(sys.stdin.read()[3:])["forwards"])))')
[ "$names" = "keep moves new" ] || fail "STATS lists the forwards \"$names\""
[ "$(stats_field "$A_SOCK" forwards keep connections)" = 1 ] || fail "forward keep's counters changed"
[ "$(stats_field "$A_SOCK" forwards moves connections)" = 2 ] || fail "forward moves' counters were not carried over"
[ "$(stats_field "$A_SOCK" forwards new connections)" = 1 ] || fail "forward new counts no connection"
echo "ok: A reloaded: old refuses, new and moves (new address) carry whole files, keep and the live connections untouched"

# B: an allow list on the live service, in place
printf '[service svc]\nport = 80\nto = 127.0.0.1:%s\nallow = 10.0.0.0/8\n' "$SRC" >"$WORK/B.conf"
kill -HUP "$B_PID"
wait_for "B's reload" 10 grep -q 'service svc: changed: .*allow 10.0.0.0/8' "$WORK/B.log"
$PY - "$P_NEW" <<'PYEOF' || fail "a connection from outside B's new allow list was not reset"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(60)
try:
    b = s.recv(100)
    sys.exit("got %d bytes" % len(b) if b else "a clean EOF instead of a reset")
except ConnectionResetError:
    pass
PYEOF
n=$(stats_field "$B_SOCK" services svc refused_allow)
[ "$n" -ge 1 ] || fail "B counts $n allow-list refusals"
live_via "$B_SOCK" "service svc" || fail "B's live connections are gone after its reload"
echo "ok: B's service got an allow list in place: outsiders reset before a TCB ($n counted), live connections kept"

touch "$WORK/keep.out.go" "$WORK/old.out.go"
wait_for "the paused transfers' end" 120 test -e "$WORK/keep.out" -a -e "$WORK/old.out"
for f in keep old; do
	[ ! -e "$WORK/$f.out.err" ] || fail "the transfer via forward $f failed: $(cat "$WORK/$f.out.err")"
	[ "$(sha256sum <"$WORK/$f.out")" = "$SUM" ] || fail "the transfer via forward $f differs ($(stat -c %s "$WORK/$f.out") bytes)"
done
echo "ok: both transfers live across the reloads arrived byte-exact (forward keep, removed forward old)"
