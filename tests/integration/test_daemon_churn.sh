#!/usr/bin/env bash
# test_daemon_churn.sh - TIME-WAIT never denies service (issue 9 item 6):
# connection churn through two daemons whose max_connections is far below
# the number of connections that end in TIME-WAIT: every CONNECT succeeds,
# whichever side closes first, and the closing side recycles its oldest
# TIME-WAIT at max_time_wait (counted in STATS).  Before, TIME-WAIT TCBs
# filled the engine's table (2 x max_connections) and CONNECTs got
# `ERR limit`.  (bench/memory.sh runs the 20,000-connection version.)
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

LIMITS=(-o limits.max_connections=32 -o limits.max_time_wait=200)
start_daemon A "${LIMITS[@]}"
start_daemon B "${LIMITS[@]}"
stat_of() { # stat_of SOCK NAME
	api "$1" STATS | $PY -c 'import json,sys; print(json.loads(sys.stdin.read()[3:])["tcp"][sys.argv[1]])' "$2"
}
for closer in client server; do
	$PY "$HERE/../tools/conn_load.py" churn "$A_SOCK" "$B_SOCK" "$B_PORT" 1000 --parallel 4 \
		--closer "$closer" >"$WORK/churn.out" 2>&1 || { cat "$WORK/churn.out" >&2; fail "churn, $closer closes first"; }
	cat "$WORK/churn.out"
	grep -q "1000 ok, 0 ERR limit, 0 ERR timeout, 0 other" "$WORK/churn.out" || fail "churn, $closer closes first"
done
ra=$(stat_of "$A_SOCK" TimeWaitRecycled)
rb=$(stat_of "$B_SOCK" TimeWaitRecycled)
echo "TimeWaitRecycled: A $ra, B $rb"
[ "$ra" -gt 0 ] || fail "A (client, closed first 1000 times) recycled no TIME-WAIT at max_time_wait 200"
[ "$rb" -gt 0 ] || fail "B (server, closed first 1000 times) recycled no TIME-WAIT at max_time_wait 200"
echo "ok: 2 x 1000 connections with max_connections 32, no ERR limit; TIME-WAIT bounded by recycling"
