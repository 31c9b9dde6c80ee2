#!/bin/bash
# bench/rr_ab.sh - 1-byte ping-pong rows interleaved round by round, with
# medians (never part of the test run).
#
#   bench/rr_ab.sh [-B BUILD_DIR] [-n ROUNDTRIPS] [-R ROUNDS] [--toud TOUD_BINARY]
#                  [--busy-poll DURATION]
#
# Each round runs, one after the other: kernel TCP (bench_tcp rr, nodelay),
# UDP through two relay processes (bench_udp relay, and -W: the floor of
# tou's architecture; -S: the relays SCHED_BATCH), then tou between two
# fresh toud daemons: apps blocked in read(2), apps waiting in poll(2)
# (-W), both again with [daemon] busy_poll = DURATION (default 50us), and
# both with the daemons started through `chrt -b 0` (SCHED_BATCH, what
# toud.service's CPUSchedulingPolicy=batch does).  --toud adds the same two
# tou rows for another toud binary (a before/after).  ROUNDTRIPS (3000)
# per row, ROUNDS (5) rounds.  Prints every row's p50 per round, then per
# row the median p50 and p99 and the median of the rounds' p50 / kernel
# TCP's p50 of the same round (compare ratios: the machine's load moves
# between rounds).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
N=3000
ROUNDS=5
OTHER=
BUSY=50us
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	-n) N=$2; shift 2 ;;
	-R) ROUNDS=$2; shift 2 ;;
	--toud) OTHER=$2; shift 2 ;;
	--busy-poll) BUSY=$2; shift 2 ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [-n ROUNDTRIPS] [-R ROUNDS] [--toud TOUD_BINARY] [--busy-poll DURATION]" >&2; exit 2 ;;
	esac
done
TOUD=$BUILD/daemon/toud RELAY=$BUILD/tests/tools/relay BB=$BUILD/bench
for f in "$TOUD" "$RELAY" "$BB/bench_tcp" "$BB/bench_udp" "$BB/bench_tou" $OTHER; do
	[ -x "$f" ] || { echo "rr_ab.sh: missing $f" >&2; exit 2; }
done
source "$SRC/bench/lib.sh"
bench_init tou-rrab
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }

# tou_rr TOUD FLAGS [toud options...]: one bench_tou rr between two fresh daemons
PORT=7400
tou_rr() {
	local toud=$1 flags=$2 out
	shift 2
	PIDS=()
	start_pair "$toud" "$RELAY" -o daemon.log_level=warning "$@"
	PORT=$((PORT + 1))
	# shellcheck disable=SC2086 # FLAGS are words
	out=$("$BB/bench_tou" rr $flags -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB" -p "$PORT" -n "$N" \
		2>"$T/rr.err") || { cat "$T/rr.err" >&2; kill "$PID_A" "$PID_B"; exit 1; }
	kill "$PID_A" "$PID_B"
	wait "$PID_A" "$PID_B" 2>/dev/null || true
	rm -f "$T/A.sock" "$T/B.sock"
	echo "$out"
}

# toud as SCHED_BATCH
printf '#!/bin/sh\nexec chrt -b 0 "%s" "$@"\n' "$TOUD" >"$T/toud-batch"
chmod +x "$T/toud-batch"
ROWS=("kernel TCP, nodelay" "UDP via 2 relays" "UDP via 2 relays, -W" "UDP via 2 relays, -S"
	"UDP via 2 relays, -S -W" "tou" "tou -W" "tou busy_poll=$BUSY" "tou busy_poll=$BUSY -W"
	"tou SCHED_BATCH" "tou SCHED_BATCH -W")
[ -n "$OTHER" ] && ROWS+=("tou ($OTHER)" "tou ($OTHER) -W")
echo "ping-pong, $ROUNDS interleaved rounds of $N, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
	"kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$T/results"
for r in $(seq "$ROUNDS"); do
	lines=()
	lines+=("$("$BB/bench_tcp" rr -n "$N")")
	lines+=("$("$BB/bench_udp" relay -n "$N")")
	lines+=("$("$BB/bench_udp" relay -W -n "$N")")
	lines+=("$("$BB/bench_udp" relay -S -n "$N")")
	lines+=("$("$BB/bench_udp" relay -S -W -n "$N")")
	lines+=("$(tou_rr "$TOUD" "")")
	lines+=("$(tou_rr "$TOUD" -W)")
	lines+=("$(tou_rr "$TOUD" "" -o "daemon.busy_poll=$BUSY")")
	lines+=("$(tou_rr "$TOUD" -W -o "daemon.busy_poll=$BUSY")")
	lines+=("$(tou_rr "$T/toud-batch" "")")
	lines+=("$(tou_rr "$T/toud-batch" -W)")
	if [ -n "$OTHER" ]; then
		lines+=("$(tou_rr "$OTHER" "")")
		lines+=("$(tou_rr "$OTHER" -W)")
	fi
	base=$(kv "${lines[0]}" rtt_us_p50)
	for i in "${!lines[@]}"; do
		p50=$(kv "${lines[$i]}" rtt_us_p50) p99=$(kv "${lines[$i]}" rtt_us_p99)
		printf '%s\t%s\t%s\t%s\t%s\n' "$i" "$r" "$p50" "$p99" "$(awk -v a="$p50" -v b="$base" 'BEGIN { printf "%.2f", a / b }')" >>"$T/results"
		printf 'round %s  %-34s p50 %7s  p99 %8s\n' "$r" "${ROWS[$i]}" "$p50" "$p99"
	done
done
echo
printf '%-34s %-40s %8s %8s %8s\n' "" "p50 per round" "med p50" "med p99" "/kTCP"
med() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for i in "${!ROWS[@]}"; do
	printf '%-34s %-40s %8s %8s %8s\n' "${ROWS[$i]}" \
		"$(awk -F'\t' -v i="$i" '$1 == i { printf "%s ", $3 }' "$T/results")" \
		"$(awk -F'\t' -v i="$i" '$1 == i { print $3 }' "$T/results" | med)" \
		"$(awk -F'\t' -v i="$i" '$1 == i { print $4 }' "$T/results" | med)" \
		"$(awk -F'\t' -v i="$i" '$1 == i { print $5 }' "$T/results" | med)"
done
