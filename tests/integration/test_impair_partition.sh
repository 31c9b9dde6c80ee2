#!/bin/bash
# test_impair_partition.sh - the relay drops everything for a while.
#  (1) A short partition (a few retransmission timeouts, well inside the
#      retry limit) during a transfer, then heal: the connection survives
#      (RFC 6298 5.5 back-off, then recovery) and the stream is byte-exact.
#  (2) A partition longer than the retransmission limit (tcp.retries=5:
#      RFC 9293 3.8.3 R2): both ends give up, the CLIs exit 6 (timed out)
#      and each daemon's end record for the stream says "timeout".
#  (3) After healing, the same daemons carry a new stream byte-exact.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/impair_lib.bash"

RELAY_ARGS=(--seed 61)
start_pair -o tcp.retries=5

# open_held NAME PORT: a stream whose two stdins are FIFOs this shell holds
# (fd 7: B's, fd 8: A's); sets LP, CPID, AID, BID.
open_held() {
	local name=$1 port=$2 i
	mkfifo "$T/$name.bin" "$T/$name.ain"
	"$TOU" -v -s "$SB" listen "$port" <"$T/$name.bin" >"$T/$name.at_b" 2>"$T/$name.listen.err" &
	LP=$!
	BG_PIDS+=("$LP")
	exec 7<>"$T/$name.bin"
	for ((i = 0; i < 50; i++)); do
		"$TOU" -v -s "$SA" connect "127.0.0.1:$RP" "$port" <"$T/$name.ain" >"$T/$name.at_a" \
			2>"$T/$name.connect.err" 7>&- &
		CPID=$!
		BG_PIDS+=("$CPID")
		exec 8<>"$T/$name.ain"
		wait_until 50 0.1 grep -q 'connected: id' "$T/$name.connect.err" && break
		exec 8>&-
		wait_pid "$CPID" 10
		[ "$WAIT_RC" -eq 4 ] || fail "$name: connect exit $WAIT_RC: $(cat "$T/$name.connect.err")"
		sleep 0.1
	done
	AID=$(sed -n 's/.*connected: id \([0-9]*\).*/\1/p' "$T/$name.connect.err")
	wait_until 50 0.1 grep -q 'accepted: id' "$T/$name.listen.err" || fail "$name: not accepted"
	BID=$(sed -n 's/.*accepted: id \([0-9]*\).*/\1/p' "$T/$name.listen.err")
	[ -n "$AID" ] && [ -n "$BID" ] || fail "$name: no connection ids"
}

# size_at_least FILE BYTES
size_at_least() {
	[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]
}

step "short partition during a transfer, then heal"
open_held short 5501
make_file "$T/short.part1" 1000000
make_file "$T/short.part2" 1000000
cat "$T/short.part1" >&8
wait_until 300 0.1 size_at_least "$T/short.at_b" 1000000 || fail "first MB did not arrive"
t0=$(dstat "$SA" Timeouts)
rctl partition
cat "$T/short.part2" >&8 # sent into the partition: retransmission timeouts
timeouts_reached() { [ "$(dstat "$SA" Timeouts)" -ge "$1" ]; }
wait_until 300 0.1 timeouts_reached $((t0 + 2)) \
	|| fail "no retransmission timeouts during the partition"
rctl heal
exec 8>&- 7>&- # both sides EOF: FINs after the data
wait_pid "$CPID" 600
CONN_RC=$WAIT_RC
wait_pid "$LP" 600
LISTEN_RC=$WAIT_RC
[ "$CONN_RC" -eq 0 ] || fail "connect exit $CONN_RC after heal: $(cat "$T/short.connect.err")"
[ "$LISTEN_RC" -eq 0 ] || fail "listen exit $LISTEN_RC after heal: $(cat "$T/short.listen.err")"
cat "$T/short.part1" "$T/short.part2" | cmp -s - "$T/short.at_b" || fail "short: bytes differ after heal"
gt "relay partition drops" "$(relay_stat a2b drop_partition)" 0
"$TOU" -s "$SA" status --json "$AID" | grep -q '"end":"fin"' || fail "A end record: $("$TOU" -s "$SA" status "$AID")"
echo "short: byte-exact after the partition healed"
daemons_alive

step "partition longer than the retry limit: both ends time out"
open_held long 5502
echo "before the partition (A)" >&8
echo "before the partition (B)" >&7
wait_until 100 0.1 size_at_least "$T/long.at_b" 25 || fail "A's line did not arrive"
wait_until 100 0.1 size_at_least "$T/long.at_a" 25 || fail "B's line did not arrive"
rctl partition
echo "lost in the partition (A)" >&8 # unacknowledged data on both sides
echo "lost in the partition (B)" >&7
wait_pid "$CPID" 1200
CONN_RC=$WAIT_RC
wait_pid "$LP" 1200
LISTEN_RC=$WAIT_RC
exec 8>&- 7>&-
[ "$CONN_RC" -eq 6 ] || fail "connect exit $CONN_RC, want 6 (timed out): $(cat "$T/long.connect.err")"
[ "$LISTEN_RC" -eq 6 ] || fail "listen exit $LISTEN_RC, want 6 (timed out): $(cat "$T/long.listen.err")"
"$TOU" -s "$SA" status --json "$AID" | grep -q '"end":"timeout"' || fail "A end record: $("$TOU" -s "$SA" status "$AID")"
"$TOU" -s "$SB" status --json "$BID" | grep -q '"end":"timeout"' || fail "B end record: $("$TOU" -s "$SB" status "$BID")"
echo "long: both ends timed out, end records say timeout"
daemons_alive

step "healed: a new stream through the same daemons"
rctl heal
transfer after 5503 1000000 200000 600
expect_exact after
daemons_alive
"$RELAY" --ctl "$CP" stats
echo PASS
