#!/bin/bash
# hostile_run.bash SCENARIO - runs one tests/integration/hostile.py scenario
# against live toud daemons (forged datagrams from a raw socket; needs
# root).  The daemons, the forger and the sniffer share a network namespace
# of their own, whose lo carries nothing else (no other test's traffic fills
# the sniffer).  Called by the test_hostile_*.sh wrappers.
# Environment: TOUD (set by ctest); by hand:
#   TOUD=build/daemon/toud bash tests/integration/test_hostile_clean.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${TOU_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
export TOUD=${TOUD:-$src/build/daemon/toud}
if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: needs root (a network namespace, raw and packet sockets)"
	exit 1
fi
exec unshare -n sh -c 'ip link set lo up && exec timeout 300 python3 "$0" "$1"' "$here/hostile.py" "$1"
