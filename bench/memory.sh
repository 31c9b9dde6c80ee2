#!/bin/bash
# bench/memory.sh - memory per connection and connection churn of toud (never
# part of the test run; figures, not verdicts).
#
#   bench/memory.sh [-B BUILD_DIR] [--toud PATH] [-n IDLE_CONNS] [-c CHURN_CONNS] [--no-build]
#
# Starts two toud daemons on 127.0.0.1 (default settings; limits raised so
# that they hold the connections: max_connections, max_per_peer,
# max_per_uid) and, with tests/tools/conn_load.py:
#   idle   N connections (default 10000) from A to B, then idle: resident
#          and virtual memory per connection of each daemon (VmRSS/VmSize
#          growth / N); then A closes them all first and keeps N TIME-WAIT
#          connections: A's resident memory per TIME-WAIT
#   churn  C connections (default 20000), 4 at a time: CONNECT, one byte each
#          way, close, with the client closing first and then the server:
#          counts of ERR limit / ERR timeout / other failures, setups/s
# --toud PATH measures another toud binary (e.g. a build of an older commit).
# Needs `ulimit -n` above N + 100 (the script raises the soft limit).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
TOUD=
N=10000
C=20000
BUILD_IT=1
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	--toud) TOUD=$2; BUILD_IT=0; shift 2 ;;
	-n) N=$2; shift 2 ;;
	-c) C=$2; shift 2 ;;
	--no-build) BUILD_IT=0; shift ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [--toud PATH] [-n IDLE] [-c CHURN] [--no-build]" >&2; exit 2 ;;
	esac
done
source "$SRC/bench/lib.sh"
bench_build "$BUILD_IT" toud
TOUD=${TOUD:-$BUILD/daemon/toud}
bench_need "$TOUD"
LOAD="python3 $SRC/tests/tools/conn_load.py"
ulimit -n "$(ulimit -Hn)"

T=$(mktemp -d /tmp/tou-mem.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
: >"$T/empty.conf"

free_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME: a daemon; sets NAME_SOCK NAME_PORT NAME_PID
start() {
	local name=$1 port sock
	port=$(free_port)
	sock=$T/$name.sock
	"$TOUD" -c "$T/empty.conf" -o "daemon.udp=127.0.0.1:$port" -o "daemon.socket=$sock" \
		-o "daemon.log_level=warning" -o "limits.max_connections=$((N + C + 1000))" \
		-o "limits.max_per_peer=$((N + C + 1000))" -o "limits.max_per_uid=$((N + C + 1000))" \
		2>"$T/$name.log" &
	PIDS+=($!)
	printf -v "${name}_SOCK" %s "$sock"
	printf -v "${name}_PORT" %s "$port"
	printf -v "${name}_PID" %s "$!"
	for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.05; done
	echo "toud $name did not start" >&2
	exit 1
}

echo "== toud: $TOUD"
echo "== idle connections ($N) and TIME-WAIT"
start A
start B
$LOAD idle "$A_SOCK" "$B_SOCK" "$B_PORT" "$N" --pids "$A_PID,$B_PID" --time-wait || true
kill "$A_PID" "$B_PID"
wait "$A_PID" "$B_PID" 2>/dev/null || true
PIDS=()

for closer in client server; do
	echo "== churn ($C connections, $closer closes first)"
	start A
	start B
	$LOAD churn "$A_SOCK" "$B_SOCK" "$B_PORT" "$C" --parallel 4 --closer "$closer" || true
	kill "$A_PID" "$B_PID"
	wait "$A_PID" "$B_PID" 2>/dev/null || true
	PIDS=()
done
