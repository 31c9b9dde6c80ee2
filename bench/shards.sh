#!/bin/bash
# bench/shards.sh - several cores (docs/DESIGN.md section 5.8): bench_tou bulk
# with 1 stream and with 8 streams at once, between two toud daemons with
# [daemon] threads = 1 and with threads = auto (one engine shard per CPU).
#
#   bench/shards.sh [-B BUILD_DIR] [-n BYTES] [-r ROUNDS] [-S STREAMS] [--no-build]
#
# Each round runs the four cases in turn (threads=1 1 stream, auto 1 stream,
# threads=1 8 streams, auto 8 streams), each between two fresh daemons, so
# that a change of the machine's load hits them alike; at the end the
# medians and the medians of the rounds' ratios.  For each run it prints
# the CPU time of every thread of both daemons (is every shard busy?) and,
# with several shards, the segments each shard received and sent (STATS
# "shards": are the streams spread evenly?).  BYTES per transfer (default
# 256M, K/M/G suffixes), ROUNDS (default 5), STREAMS (default 8).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
BYTES=256M
ROUNDS=5
STREAMS=8
BUILD_IT=1
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	-n) BYTES=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	-S) STREAMS=$2; shift 2 ;;
	--no-build) BUILD_IT=0; shift ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [-n BYTES] [-r ROUNDS] [-S STREAMS] [--no-build]" >&2; exit 2 ;;
	esac
done
source "$SRC/bench/lib.sh"
bench_build "$BUILD_IT" toud relay bench
TOUD=$BUILD/daemon/toud RELAY=$BUILD/tests/tools/relay BB=$BUILD/bench
bench_need "$TOUD" "$RELAY" "$BB/bench_tou"

bench_init tou-shards

# median: of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
NBYTES=$(bytes_of "$BYTES")

# thread_ticks PID: "tid:ticks" of each thread (utime + stime, clock ticks)
thread_ticks() {
	local t
	for t in /proc/"$1"/task/*; do
		awk -v t="${t##*/}" '{ print t ":" $14 + $15 }' "$t/stat" 2>/dev/null || true
	done
}
# ticks_delta BEFORE AFTER: the CPU seconds of each thread between the two,
# busiest first ("1.23,0.98,0.01")
ticks_delta() {
	local hz
	hz=$(getconf CLK_TCK)
	awk -v hz="$hz" -F: 'NR == FNR { b[$1] = $2; next } { printf "%.2f\n", ($2 - b[$1]) / hz }' \
		<(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") | sort -gr | paste -sd,
}
# shard_spread SOCK: "in_segs/out_segs" of each shard ("123/456 120/470")
shard_spread() {
	python3 "$SRC/tests/integration/test_daemon_api.py" req "$1" STATS | python3 -c '
import json, sys
doc = json.loads(sys.stdin.read()[3:])
print(" ".join("%d/%d" % (x["in_segs"], x["out_segs"]) for x in doc.get("shards", [])) or "-")'
}

# run THREADS STREAMS TCP-PORT: one transfer between two fresh daemons;
# prints bench_tou's result line with the threads' CPU and the spread
run() {
	local threads=$1 streams=$2 port=$3 a0 b0 a1 b1 line
	start_pair "$TOUD" "$RELAY" -o "daemon.threads=$threads"
	a0=$(thread_ticks "$PID_A") b0=$(thread_ticks "$PID_B")
	line=$("$BB/bench_tou" bulk -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB" -p "$port" -S "$streams" \
		-n "$NBYTES" -P "$PID_A,$PID_B" 2>"$T/bulk.err") || { cat "$T/bulk.err" >&2; exit 1; }
	a1=$(thread_ticks "$PID_A") b1=$(thread_ticks "$PID_B")
	echo "threads=$threads streams=$streams $line cpu_threads_A=$(ticks_delta "$a0" "$a1")" \
		"cpu_threads_B=$(ticks_delta "$b0" "$b1") shards_A=\"$(shard_spread "$T/A.sock")\"" \
		"shards_B=\"$(shard_spread "$T/B.sock")\""
	kill "$PID_A" "$PID_B" 2>/dev/null || true
	wait "$PID_A" "$PID_B" 2>/dev/null || true
	rm -f "$T/A.sock" "$T/B.sock"
}

echo "tou shards benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r)"
echo "transfer size $NBYTES bytes, $ROUNDS rounds, $STREAMS streams; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A MB
port=7100
for r in $(seq "$ROUNDS"); do
	for c in "1 1" "auto 1" "1 $STREAMS" "auto $STREAMS"; do
		set -- $c
		line=$(run "$1" "$2" $((port++)))
		echo "round $r: $line"
		MB[$1.$2]="${MB[$1.$2]:-} $(kv "$line" mb_s)"
	done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

col() { tr ' ' '\n' <<<"${MB[$1]}" | sed '/^$/d'; }
# rratio A B: the median of the rounds' ratios A/B
rratio() { paste <(col "$1") <(col "$2") | awk '{ if ($2 > 0) printf "%.2f\n", $1 / $2 }' | median; }
echo
echo "== MB/s, median of $ROUNDS rounds"
printf "%-28s %10s\n" "threads=1, 1 stream" "$(col 1.1 | median)"
printf "%-28s %10s\n" "threads=auto, 1 stream" "$(col auto.1 | median)"
printf "%-28s %10s\n" "threads=1, $STREAMS streams" "$(col "1.$STREAMS" | median)"
printf "%-28s %10s\n" "threads=auto, $STREAMS streams" "$(col "auto.$STREAMS" | median)"
echo "== ratios (median of the rounds' ratios; target: auto $STREAMS streams >= 1.6 x one stream on 2 cores)"
printf "%-40s %6s\n" "auto $STREAMS streams / threads=1 1 stream" "$(rratio "auto.$STREAMS" 1.1)"
printf "%-40s %6s\n" "auto $STREAMS streams / auto 1 stream" "$(rratio "auto.$STREAMS" auto.1)"
printf "%-40s %6s\n" "auto $STREAMS streams / threads=1 $STREAMS streams" "$(rratio "auto.$STREAMS" "1.$STREAMS")"
printf "%-40s %6s\n" "auto 1 stream / threads=1 1 stream" "$(rratio auto.1 1.1)"
