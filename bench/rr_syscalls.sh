#!/bin/bash
# bench/rr_syscalls.sh - the system calls of one 1-byte request/response
# round trip through tou (never part of the test run; needs strace).
#
#   bench/rr_syscalls.sh [-B BUILD_DIR] [-n ROUNDTRIPS] [--toud TOUD_BINARY]
#                        [-o SECTION.KEY=VALUE]... [-W]
#
# Two toud daemons on 127.0.0.1 (TOUD_BINARY: another build of toud, for a
# before/after), bench_tou rr (ping-pong over a nodelay stream, both apps in
# one process tree); strace -c -f counts the calls of each daemon (attached)
# and of the apps while ROUNDTRIPS (default 5000) round trips run.  Prints,
# per round trip, each side's calls by name and the totals; epoll_wait
# returns are the daemons' wakeups (one loop turn each).  The setup (LISTEN,
# CONNECT, ACCEPT) is in the counts too, a few dozen calls: negligible
# over thousands of round trips.  -o: given to both daemons (e.g.
# -o daemon.busy_poll=50us); -W: the apps wait in poll(2) before read(2).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
N=5000
TOUD=
OPTS=()
W=
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	-n) N=$2; shift 2 ;;
	--toud) TOUD=$2; shift 2 ;;
	-o) OPTS+=(-o "$2"); shift 2 ;;
	-W) W=-W; shift ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [-n ROUNDTRIPS] [--toud TOUD_BINARY] [-o SECTION.KEY=VALUE]... [-W]" >&2; exit 2 ;;
	esac
done
TOUD=${TOUD:-$BUILD/daemon/toud}
RELAY=$BUILD/tests/tools/relay BB=$BUILD/bench
command -v strace >/dev/null || { echo "rr_syscalls.sh: needs strace" >&2; exit 2; }
for f in "$TOUD" "$RELAY" "$BB/bench_tou"; do
	[ -x "$f" ] || { echo "rr_syscalls.sh: missing $f" >&2; exit 2; }
done
source "$SRC/bench/lib.sh"
bench_init tou-rrsys
start_pair "$TOUD" "$RELAY" -o daemon.log_level=warning "${OPTS[@]}"
DP=("$PID_A" "$PID_B")
for i in 0 1; do
	strace -c -f -o "$T/d$i.strace" -p "${DP[$i]}" 2>/dev/null &
	PIDS+=($!)
done
sleep 0.5 # strace attached
strace -c -f -o "$T/app.strace" "$BB/bench_tou" rr $W -a "$T/A.sock" -b "$T/B.sock" \
	-u "127.0.0.1:$PB" -p 7300 -n "$N" >"$T/rr.out" 2>"$T/rr.err" ||
	{ cat "$T/rr.err" >&2; exit 1; }
sleep 0.3
for i in 0 1; do kill -INT "${PIDS[$((2 + i))]}"; done
wait "${PIDS[2]}" "${PIDS[3]}" 2>/dev/null || true

# per round trip: calls by name from strace -c's table
per_rt() { # per_rt FILE LABEL
	awk -v n="$N" -v l="$2" '
		$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { name = $NF; calls = $4; if (calls ~ /^[0-9]+$/) c[name] += calls }
		END { t = 0; line = ""
		      for (k in c) { t += c[k]; if (c[k] / n >= 0.05) line = line sprintf(" %s=%.2f", k, c[k] / n) }
		      printf "%-8s total=%.2f%s\n", l, t / n, line }' "$1"
}
echo "1-byte ping-pong through two toud daemons: system calls per round trip ($N round trips)"
echo "toud: $TOUD ${OPTS[*]}"
cat "$T/rr.out"
per_rt "$T/d0.strace" "toud A"
per_rt "$T/d1.strace" "toud B"
per_rt "$T/app.strace" "apps"
