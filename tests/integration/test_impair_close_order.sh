#!/bin/bash
# test_impair_close_order.sh - the peer's FIN arrives while our data is
# still queued behind our own FIN, over a path with 20 ms of delay each way
# (so the data is really in flight).  RFC 9293 3.10.7.4: a FIN received in
# FIN-WAIT-1 whose own FIN is not yet acknowledged leads to CLOSING, and
# the data queued before our FIN must still be sent and acknowledged there.
#  (1) A closes first (FIN-WAIT-1 with data queued), then B closes: A goes
#      through CLOSING while its 3 MB are still on the way.
#  (2) Both send 2 MB and close at once: the FINs cross, both sides CLOSING.
# The engine once stopped sending in CLOSING (found by this test and by the
# simulated-link tests); both streams must arrive byte-exact.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/impair_lib.bash"

RELAY_ARGS=(--seed 51 --delay 20)
# Receive buffers far smaller than the 3 MB of step 1, so that a listener
# that does not read keeps A's data (and A's FIN behind it) queued at A.
start_pair -o tcp.recv_buffer=256K

step "A in FIN-WAIT-1 with 3 MB queued, then B's FIN"
make_file "$T/c1.up" 3000000
mkfifo "$T/c1.fifo"
"$TOU" -s "$SB" listen 5401 <"$T/c1.fifo" >"$T/c1.up.out" 2>"$T/c1.listen.err" &
LP=$!
BG_PIDS+=("$LP")
exec 7<>"$T/c1.fifo"
wait_until 100 0.1 sh -c "\"$TOU\" -s \"$SB\" status | grep -q LISTEN" ||
	fail "B's listener did not appear"
# The listener stops reading: B's window closes once its buffers are full,
# so A's CLI, which writes its whole stdin and then closes, leaves A in
# FIN-WAIT-1 with most of the data still queued -- however slow the machine.
kill -STOP "$LP"
"$TOU" -s "$SA" connect "127.0.0.1:$RP" 5401 <"$T/c1.up" >"$T/c1.down.out" \
	2>"$T/c1.connect.err" 7>&- &
CPID=$!
BG_PIDS+=("$CPID")
if ! wait_until 300 0.1 sh -c "\"$TOU\" -s \"$SA\" status | grep -q FIN-WAIT-1"; then
	kill -CONT "$LP"
	fail "A never reached FIN-WAIT-1: $("$TOU" -s "$SA" status 2>&1)"
fi
exec 7>&- # B's stdin EOF: B sends its FIN while A's data is still queued
kill -CONT "$LP"
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
