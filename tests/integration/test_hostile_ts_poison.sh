#!/bin/bash
# test_hostile_ts_poison.sh - tests/integration/hostile.py ts_poison against live toud
# daemons (forged datagrams from a raw socket; needs root).  The daemons,
# the forger and the sniffer share a network namespace of their own, whose
# lo carries nothing else (no other test's traffic fills the sniffer).
#   (the set-up is tests/integration/hostile_run.bash)
exec bash "$(dirname "$0")/hostile_run.bash" ts_poison
