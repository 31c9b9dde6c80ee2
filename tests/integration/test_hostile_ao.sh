#!/bin/bash
# test_hostile_ao.sh - tests/integration/hostile.py ao_forge against live toud
# daemons sharing a TCP-AO key (issue 14): segments forged without TCP-AO,
# with wrong MACs or KeyIDs, and a replayed signed segment of an earlier
# connection are discarded and counted; the transfer survives (forged
# datagrams from a raw socket; needs root).  The daemons,
# the forger and the sniffer share a network namespace of their own, whose
# lo carries nothing else (no other test's traffic fills the sniffer).
#   (the set-up is tests/integration/hostile_run.bash)
exec bash "$(dirname "$0")/hostile_run.bash" ao_forge
