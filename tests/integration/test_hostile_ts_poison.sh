#!/bin/bash
# test_hostile_ts_poison.sh - tests/integration/hostile.py ts_poison against live toud
# daemons on loopback (forged datagrams from a raw socket; needs root).
# Environment: TOUD (set by ctest); by hand:
#   TOUD=build/daemon/toud bash tests/integration/test_hostile_ts_poison.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${TOU_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
export TOUD=${TOUD:-$src/build/daemon/toud}
exec timeout 300 python3 "$here/hostile.py" ts_poison
