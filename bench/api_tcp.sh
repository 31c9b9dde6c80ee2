#!/bin/bash
# bench/api_tcp.sh - one stream through tou's API against the kernel's TCP,
# interleaved rounds in one run (never part of the test run).
#
#   bench/api_tcp.sh [-B BUILD_DIR] [-n BYTES] [-r ROUNDS] [--no-build]
#
# Two pairs of toud daemons on 127.0.0.1: one with the defaults (MSS 1452)
# and one with [tcp] mss_loopback = 65487 (64 KiB segments, as the kernel's
# TCP uses on loopback).  Each round measures, one after the other:
#   ktcp        bench_tcp bulk (loopback: ~64 KiB segments)
#   ktcp1440    bench_tcp bulk -m 1440 (tou's data per segment)
#   tou         bench_tou bulk through the default pair
#   tou64k      bench_tou bulk through the mss_loopback pair
# and prints each one's median MB/s (10^6 bytes/s of stream data), its
# ratio to kernel TCP's median, the median of its ratios to the kernel TCP
# transfer of the same round ("rounds"), and the median CPU seconds per GB
# of everything in the path (kernel TCP: its two processes; tou: the two
# daemons and bench_tou's two processes).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
BYTES=256M
ROUNDS=7
BUILD_IT=1
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	-n) BYTES=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	--no-build) BUILD_IT=0; shift ;;
	-h | --help) sed -n '2,19p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [-n BYTES] [-r ROUNDS] [--no-build]" >&2; exit 2 ;;
	esac
done
source "$SRC/bench/lib.sh"
bench_build "$BUILD_IT" toud relay bench
TOUD=$BUILD/daemon/toud RELAY=$BUILD/tests/tools/relay BB=$BUILD/bench
bench_need "$TOUD" "$RELAY" "$BB/bench_tou" "$BB/bench_tcp"

bench_init tou-api-tcp
start_pair "$TOUD" "$RELAY" -o daemon.log_level=warning
PB_D=$PB
pair_up "$TOUD" "$RELAY" L 0 -o daemon.log_level=warning -o tcp.mss_loopback=65487 # (lib.sh)
PB_L=$PB

kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }
declare -A R C Q
K_ROUND=
add() { # add KEY MB/S CPU-S/GB
	if [ "$1" = ktcp ]; then K_ROUND=$2; fi
	R[$1]+=" $2"
	C[$1]+=" $3"
	Q[$1]+=" $(awk -v a="$2" -v b="$K_ROUND" 'BEGIN { printf "%.3f", a / b }')"
}
tou_cpu() { # tou_cpu LINE: daemons + apps CPU s per GB
	awk -v d="$(kv "$1" daemon_cpu_s)" -v a="$(kv "$1" app_cpu_s)" -v b="$(kv "$1" bytes)" \
		'BEGIN { printf "%.2f", (d + a) / (b / 1e9) }'
}
port=7000
for ((r = 0; r < ROUNDS; r++)); do
	l=$("$BB/bench_tcp" bulk -n "$BYTES")
	add ktcp "$(kv "$l" mb_s)" "$(kv "$l" cpu_s_per_gb)"
	l=$("$BB/bench_tcp" bulk -n "$BYTES" -m 1440)
	add ktcp1440 "$(kv "$l" mb_s)" "$(kv "$l" cpu_s_per_gb)"
	port=$((port + 1))
	l=$("$BB/bench_tou" bulk -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB_D" -p "$port" -n "$BYTES" \
		-P "$PID_A,$PID_B" 2>/dev/null)
	add tou "$(kv "$l" mb_s)" "$(tou_cpu "$l")"
	l=$("$BB/bench_tou" bulk -a "$T/LA.sock" -b "$T/LB.sock" -u "127.0.0.1:$PB_L" -p "$port" -n "$BYTES" \
		-P "$PID_LA,$PID_LB" 2>/dev/null)
	add tou64k "$(kv "$l" mb_s)" "$(tou_cpu "$l")"
done
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
K=$(median "${R[ktcp]}")
echo "one stream: tou's API against kernel TCP, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $BYTES, $ROUNDS rounds interleaved, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-44s %9s %6s %7s %9s   %s\n" "" "MB/s" "/kTCP" "rounds" "CPU s/GB" "(MB/s of each round)"
label() {
	case $1 in
	ktcp) echo "kernel TCP, loopback" ;;
	ktcp1440) echo "kernel TCP, MSS 1440" ;;
	tou) echo "tou via API (MSS 1452)" ;;
	tou64k) echo "tou via API, mss_loopback = 65487" ;;
	esac
}
for k in ktcp ktcp1440 tou tou64k; do
	m=$(median "${R[$k]}")
	printf "%-44s %9s %6s %7s %9s  %s\n" "$(label $k)" "$m" "$(awk -v a="$m" -v b="$K" 'BEGIN { printf "%.2f", a / b }')" \
		"$(median "${Q[$k]}")" "$(median "${C[$k]}")" "${R[$k]}"
done
