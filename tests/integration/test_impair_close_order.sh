#!/bin/bash
# test_impair_close_order.sh - the peer's FIN arrives while our data is
# still queued behind our own FIN, over a path with 20 ms of delay each way
# (so the data is really in flight).  RFC 9293 3.10.7.4: a FIN received in
# FIN-WAIT-1 whose own FIN is not yet acknowledged leads to CLOSING, and
# the data queued before our FIN must still be sent and acknowledged there.
#  (1) A closes first (FIN-WAIT-1 with data queued: the relay cuts A->B),
#      then B closes: A must be in CLOSING while its data is still queued,
#      and deliver it all once the cut heals.
#  (2) Both send 2 MB and close at once: the FINs cross, both sides CLOSING.
# The engine once stopped sending in CLOSING (found by this test and by the
# simulated-link tests); both streams must arrive byte-exact.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/impair_lib.bash"

RELAY_ARGS=(--seed 51 --delay 20)
start_pair

# a_state STATE: A's only connection is in STATE (tou status's second column)
a_state() {
	"$TOU" -s "$SA" status >"$T/a.status" 2>&1 || return 1
	awk -v s="$1" '$2 == s { f = 1 } END { exit f ? 0 : 1 }' "$T/a.status"
}

step "A in FIN-WAIT-1 with its data queued, then B's FIN: CLOSING"
# The order is made by the relay, not by timing: once the connection is up
# the A->B direction is cut, so A's data and FIN stay queued at A (A's CLI
# gets all 60000 bytes into the initial 64 KiB send buffer and closes),
# B's FIN reaches A, A must go to CLOSING, and only then the cut heals.
make_file "$T/c1.up" 60000
mkfifo "$T/c1.fifo" "$T/c1.in"
"$TOU" -s "$SB" listen 5401 <"$T/c1.fifo" >"$T/c1.up.out" 2>"$T/c1.listen.err" &
LP=$!
BG_PIDS+=("$LP")
exec 7<>"$T/c1.fifo"
wait_until 100 0.1 sh -c "\"$TOU\" -s \"$SB\" status | grep -q LISTEN" ||
	fail "B's listener did not appear"
exec 8<>"$T/c1.in"
"$TOU" -s "$SA" connect "127.0.0.1:$RP" 5401 <"$T/c1.in" >"$T/c1.down.out" \
	2>"$T/c1.connect.err" 7>&- 8>&- &
CPID=$!
BG_PIDS+=("$CPID")
wait_until 300 0.1 a_state ESTABLISHED || fail "A never reached ESTABLISHED: $(cat "$T/a.status")"
rctl a2b partition
cat "$T/c1.up" >&8
exec 8>&- # A's CLI: EOF after its 60000 bytes, so A sends its FIN behind them
wait_until 300 0.1 a_state FIN-WAIT-1 || fail "A never reached FIN-WAIT-1: $(cat "$T/a.status")"
exec 7>&- # B's stdin EOF: B sends its FIN, which reaches A (B->A is not cut)
wait_until 300 0.1 a_state CLOSING ||
	fail "A did not go from FIN-WAIT-1 to CLOSING on B's FIN: $(cat "$T/a.status")"
echo "A is in CLOSING with its data still queued"
rctl a2b heal
wait_pid "$CPID" 600
CONN_RC=$WAIT_RC
wait_pid "$LP" 600
LISTEN_RC=$WAIT_RC
: >"$T/c1.down"
expect_exact c1
daemons_alive

step "both sides send 2 MB and close at once (FINs cross)"
transfer_both() {
	make_file "$T/c2.up" 2000000
	make_file "$T/c2.down" 2000000
	"$TOU" -s "$SB" listen 5402 <"$T/c2.down" >"$T/c2.up.out" 2>"$T/c2.listen.err" &
	LP=$!
	BG_PIDS+=("$LP")
	for ((i = 0; i < 50; i++)); do
		"$TOU" -s "$SA" connect "127.0.0.1:$RP" 5402 <"$T/c2.up" >"$T/c2.down.out" \
			2>"$T/c2.connect.err" &
		CPID=$!
		BG_PIDS+=("$CPID")
		wait_pid "$CPID" 600
		[ "$WAIT_RC" -eq 4 ] || break
		sleep 0.1
	done
	CONN_RC=$WAIT_RC
	wait_pid "$LP" 600
	LISTEN_RC=$WAIT_RC
}
transfer_both
expect_exact c2
daemons_alive
echo PASS
