#!/bin/bash
# test_impair_reorder.sh - byte-exact transfers through the impairment relay
# when datagrams arrive out of order: (1) 10 % of datagrams held back until
# 3 later ones passed, (2) a 2 ms delay with 0..4 ms of jitter per datagram
# (like netem, jitter reorders).  Out-of-order segments must be queued and
# reassembled (RFC 9293 3.10.7.4 "segment text"), and duplicate ACKs from
# reordering must not break the transfer.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/impair_lib.bash"

RELAY_ARGS=(--seed 31 --reorder 10 --reorder-gap 3)
start_pair

step "10 % held back behind 3 later datagrams: 3 MB up, 1 MB down"
transfer reorder 5201 3000000 1000000 1200
expect_exact reorder
gt "relay reordered a2b" "$(relay_stat a2b reordered)" 0
gt "relay reordered b2a" "$(relay_stat b2a reordered)" 0
daemons_alive

step "2 ms delay + 0..4 ms jitter each way: 2 MB up, 1 MB down"
rctl clear delay 2 jitter 4
rctl reset-stats
transfer jitter 5202 2000000 1000000 1200
expect_exact jitter
gt "relay delayed a2b" "$(relay_stat a2b delayed)" 0
daemons_alive
"$RELAY" --ctl "$CP" stats
echo PASS
