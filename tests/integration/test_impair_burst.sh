#!/bin/bash
# test_impair_burst.sh - byte-exact transfers through the impairment relay
# under burst loss: runs of consecutive datagrams lost in both directions
# (several segments of one window and their ACKs at once).  A burst ends
# after its count or its duration, whichever comes first, so a quiet flow
# (one retransmission per RTO) is not cut off for long.  Recovery needs SACK
# (RFC 2018, RFC 6675) or retransmission timeouts (RFC 6298); both are
# correct, the counters must show that loss was repaired.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/impair_lib.bash"

RELAY_ARGS=(--seed 23 --burst 1,6,50)
start_pair

step "1 % of datagrams start a burst of up to 6 losses within 50 ms: 3 MB up, 1 MB down"
r0=$(dstat "$SA" RetransSegs)
transfer burst6 5101 3000000 1000000 1200
expect_exact burst6
gt "relay burst drops" "$(relay_stat a2b drop_burst)" 0
gt "A retransmitted" "$(dstat "$SA" RetransSegs)" "$r0"
daemons_alive

step "0.5 % of datagrams start a burst of up to 20 losses within 100 ms: 2 MB up, 0.5 MB down"
rctl burst 0.5,20,100
rctl reset-stats
r0=$(dstat "$SA" RetransSegs)
transfer burst20 5102 2000000 500000 1200
expect_exact burst20
gt "relay burst drops" "$(relay_stat a2b drop_burst)" 0
gt "A retransmitted" "$(dstat "$SA" RetransSegs)" "$r0"
daemons_alive
"$RELAY" --ctl "$CP" stats
for k in RetransSegs FastRetransmits Timeouts SackRecoveries; do echo "A $k $(dstat "$SA" $k)"; done
echo PASS
