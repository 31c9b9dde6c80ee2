#!/bin/bash
# test_impair_loss.sh - byte-exact transfers between two real toud daemons
# through the impairment relay under 1 % and 5 % random loss in BOTH
# directions (data and ACKs), data flowing both ways at once.  Loss must be
# repaired by retransmission (RFC 9293 3.8.1, RFC 6298, RFC 5681 fast
# retransmit, RFC 2018 SACK): the counters must show it happened.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/impair_lib.bash"

RELAY_ARGS=(--seed 11 --loss 1)
start_pair

step "1 % loss each way: 3 MB up, 1 MB down"
r0=$(dstat "$SA" RetransSegs)
transfer loss1 5001 3000000 1000000 600
expect_exact loss1
gt "relay dropped datagrams" "$(relay_stat a2b drop_loss)" 0
gt "A retransmitted" "$(dstat "$SA" RetransSegs)" "$r0"
daemons_alive

step "5 % loss each way: 3 MB up, 1 MB down"
rctl loss 5
rctl reset-stats
r0=$(dstat "$SA" RetransSegs)
b0=$(dstat "$SB" RetransSegs)
transfer loss5 5002 3000000 1000000 1200
expect_exact loss5
gt "relay dropped a2b" "$(relay_stat a2b drop_loss)" 0
gt "relay dropped b2a" "$(relay_stat b2a drop_loss)" 0
gt "A retransmitted" "$(dstat "$SA" RetransSegs)" "$r0"
gt "B retransmitted" "$(dstat "$SB" RetransSegs)" "$b0"
daemons_alive
"$RELAY" --ctl "$CP" stats
for k in RetransSegs FastRetransmits Timeouts SackRecoveries; do echo "A $k $(dstat "$SA" $k)"; done
echo PASS
