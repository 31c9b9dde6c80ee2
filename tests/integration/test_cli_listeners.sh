#!/bin/bash
# test_cli_listeners.sh - listeners are first-class in LIST, STATUS and
# ABORT, and a connection has one view (needs root: setpriv):
#  - each listener has its own id (not 0), from the connections' id space;
#    `tou status ID` shows it, `tou status -l` lists it;
#  - `tou abort ID` closes it: its `tou listen` ends with exit 5 and says
#    so, the port refuses connections (exit 4), the id is gone; another
#    user may not close it (denied);
#  - LIST and STATUS <id> agree: a connection in TIME-WAIT after a clean
#    end is TIME-WAIT with end:fin in both (not CLOSED in one of them).
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"
[ "$(id -u)" = 0 ] || fail "needs root (setpriv)"
chmod 0755 "$T"
start_pair -o daemon.socket_mode=0666

listening() {
	"$TOU" -s "$B" status -l | grep -Eq "^[0-9]+ +LISTEN .*/$1 "
}
lid() {
	"$TOU" -s "$B" status -l | awk -v p="/$1\$" '$2 == "LISTEN" && $5 ~ p { print $1 }'
}

step "listeners have their own ids"
"$TOU" -s "$B" listen -k 7000 </dev/null >/dev/null 2>"$T/l0.err" &
LP0=$!
bg $LP0
"$TOU" -s "$B" listen 7001 </dev/null >/dev/null 2>"$T/l1.err" &
LP1=$!
bg $LP1
wait_until 100 0.1 listening 7000 || fail "no listener on 7000"
wait_until 100 0.1 listening 7001 || fail "no listener on 7001"
L0=$(lid 7000)
L1=$(lid 7001)
[ -n "$L0" ] && [ -n "$L1" ] && [ "$L0" != 0 ] && [ "$L1" != 0 ] && [ "$L0" != "$L1" ] ||
	fail "listener ids '$L0' '$L1': $("$TOU" -s "$B" status -l)"
"$TOU" -s "$B" status "$L1" >"$T/s1.txt" || fail "tou status $L1 (a listener)"
grep -Eq "^$L1 +LISTEN +0 +128 +127\\.0\\.0\\.1:$PB/7001 +\\*\$" "$T/s1.txt" || fail "status $L1: $(cat "$T/s1.txt")"
"$TOU" -s "$B" status --json "$L1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["id"] == int(sys.argv[1]) and d["state"] == "LISTEN" and d["local"].endswith("/7001"), d
' "$L1" || fail "status --json $L1"
# a connection's id is another one
"$TOU" -s "$A" connect "127.0.0.1:$PB" 7000 </dev/null >/dev/null 2>"$T/c.err" || fail "connect: $(cat "$T/c.err")"
"$TOU" -s "$B" status --json | python3 -c '
import json, sys
ids = [c["id"] for c in json.load(sys.stdin)]
assert len(ids) == len(set(ids)) and 0 not in ids, ids
' || fail "ids in LIST are not distinct: $("$TOU" -s "$B" status)"

step "another user may not close it"
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups "$TOU" -s "$B" abort "$L1" 2>"$T/deny.err" || rc=$?
[ $rc -eq 1 ] && grep -q 'permission denied' "$T/deny.err" || fail "abort by nobody: exit $rc: $(cat "$T/deny.err")"
listening 7001 || fail "the listener went"

step "tou abort ID closes a listener"
expect_rc 0 "$TOU" -s "$B" abort "$L1"
wait_pid $LP1 100
[ "$WAIT_RC" -eq 5 ] || fail "tou listen 7001 exit $WAIT_RC, want 5: $(cat "$T/l1.err")"
grep -q 'listen 7001: the listener was closed' "$T/l1.err" || fail "message: $(cat "$T/l1.err")"
! listening 7001 || fail "still listed"
expect_rc 1 "$TOU" -s "$B" status "$L1"
expect_rc 4 "$TOU" -s "$A" connect "127.0.0.1:$PB" 7001
listening 7000 || fail "the other listener went too"

step "one view: LIST and STATUS <id> agree on an ended connection in TIME-WAIT"
tw() { # SOCK: a connection in TIME-WAIT
	"$TOU" -s "$1" status state time-wait | awk '!n && NR > 1 && /^[0-9]/ { print $1; n = 1 }'
}
for s in "$A" "$B"; do
	id=$(tw "$s")
	[ -n "$id" ] || continue
	"$TOU" -s "$s" status "$id" >"$T/one.txt"
	"$TOU" -s "$s" status state time-wait >"$T/all.txt"
	grep -Eq "^$id +TIME-WAIT " "$T/one.txt" || fail "status $id: $(cat "$T/one.txt")"
	grep -q 'end:fin' "$T/one.txt" || fail "status $id has no end:fin: $(cat "$T/one.txt")"
	grep -A1 -E "^$id +TIME-WAIT " "$T/all.txt" | grep -q 'end:fin' || fail "LIST: $(cat "$T/all.txt")"
	FOUND=1
done
[ "${FOUND:-0}" = 1 ] || fail "no connection in TIME-WAIT on either side: $("$TOU" -s "$A" status; "$TOU" -s "$B" status)"
echo "PASS"
