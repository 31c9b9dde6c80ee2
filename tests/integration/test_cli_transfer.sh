#!/bin/bash
# test_cli_transfer.sh - a 50 MB random file through two real toud daemons
# on loopback, with the tou CLI, in each direction (connect -> listen, then
# listen -> connect), compared by sha256; both ends must exit 0 (the
# daemons report a clean FIN end).  Then both directions at once.
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
