#!/bin/bash
# test_impair_dup.sh - byte-exact transfers through the impairment relay
# when datagrams are duplicated (10 % sent twice, some of them late), then
# under everything at once (loss, duplication, reordering, jitter).  A
# duplicate segment is an old one by the time it arrives: it must be
# trimmed/ignored (RFC 9293 3.10.7.4 acceptability test) and acknowledged,
# never delivered twice.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/impair_lib.bash"

RELAY_ARGS=(--seed 41 --dup 10)
start_pair

step "10 % duplicated each way: 3 MB up, 1 MB down"
transfer dup 5301 3000000 1000000 1200
expect_exact dup
gt "relay duplicated a2b" "$(relay_stat a2b duplicated)" 0
gt "relay duplicated b2a" "$(relay_stat b2a duplicated)" 0
daemons_alive

step "all at once: 2 % loss, 5 % dup, 5 % reorder, 1 ms + 0..2 ms jitter: 2 MB up, 1 MB down"
rctl loss 2 dup 5 reorder 5 delay 1 jitter 2
rctl reset-stats
transfer mix 5302 2000000 1000000 1800
expect_exact mix
gt "relay dropped" "$(relay_stat a2b drop_loss)" 0
gt "relay duplicated" "$(relay_stat a2b duplicated)" 0
gt "relay reordered" "$(relay_stat a2b reordered)" 0
daemons_alive
"$RELAY" --ctl "$CP" stats
echo PASS
