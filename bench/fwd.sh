#!/bin/bash
# bench/fwd.sh - forwarded throughput against the API path, interleaved
# (never part of the test run).
#
#   bench/fwd.sh [-B BUILD_DIR] [--toud BIN] [-N ROUNDS] [-n BYTES] [--no-build]
#                [-o KEY=VALUE]... [-f KEY=VALUE]...
#
# Starts one pair of toud daemons (start_fwd_pair in bench/lib.sh: a
# [forward bench] on FA to a [service bench] on FB, kernel TCP at both
# ends) and, ROUNDS times (default 7), moves BYTES (default 256M) in turn:
#   API        bench_tou bulk: Unix socket -> FA -> tou -> FB -> Unix socket
#   forwarded  bench_tcp bulk -c FWD -l TGT: kernel TCP -> FA -> tou -> FB
#              -> kernel TCP
# (which goes first alternates between rounds), then prints each round's
# MB/s and ratio, the medians, and the median of the rounds' ratios
# forwarded / API (issue 12's target: >= 0.8).  -o adds a toud -o option to
# both daemons (e.g. -o tcp.send_buffer=8M); -f adds a KEY = VALUE line
# to the [forward bench] section (e.g. -f nodelay=yes).  --toud BIN
# measures another toud binary (e.g. a build from before a change).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
TOUD=
ROUNDS=7
BYTES=256M
BUILD_IT=1
TOPTS=()
FOPTS=()
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	--toud) TOUD=$2; shift 2 ;;
	-N) ROUNDS=$2; shift 2 ;;
	-n) BYTES=$2; shift 2 ;;
	-o) TOPTS+=(-o "$2"); shift 2 ;;
	-f) FOPTS+=("$2"); shift 2 ;;
	--no-build) BUILD_IT=0; shift ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [--toud BIN] [-N ROUNDS] [-n BYTES] [--no-build] [-o K=V]... [-f K=V]..." >&2
	   exit 2 ;;
	esac
done
if [ "$BUILD_IT" = 1 ]; then
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j2 --target toud relay bench_tcp bench_tou >/dev/null
fi
TOUD=${TOUD:-$BUILD/daemon/toud}
RELAY=$BUILD/tests/tools/relay BB=$BUILD/bench
for f in "$TOUD" "$RELAY" "$BB/bench_tcp" "$BB/bench_tou"; do
	[ -x "$f" ] || { echo "missing $f (build it, or drop --no-build)" >&2; exit 2; }
done

source "$SRC/bench/lib.sh"
bench_init tou-fwd
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bytes_of() { # K/M/G suffix -> bytes
	local n=${1%[KkMmGg]} s=${1: -1}
	case $s in k | K) echo $((n << 10)) ;; m | M) echo $((n << 20)) ;; g | G) echo $((n << 30)) ;; *) echo "$1" ;; esac
}
NBYTES=$(bytes_of "$BYTES")

start_fwd_pair "$TOUD" "$RELAY" F "${TOPTS[@]}"
if [ ${#FOPTS[@]} -gt 0 ]; then # more settings for the forward: a reload
	for o in "${FOPTS[@]}"; do printf '%s = %s\n' "${o%%=*}" "${o#*=}" >>"$T/FA.conf"; done
	kill -HUP "$PID_FA"
	sleep 0.5
fi

api() {
	"$BB/bench_tou" bulk -a "$T/FA.sock" -b "$T/FB.sock" -u "127.0.0.1:$PB" -p $((7100 + $1)) \
		-n "$NBYTES" -P "$PID_FA,$PID_FB" 2>"$T/api.err" || { cat "$T/api.err" >&2; exit 1; }
}
fwd() {
	"$BB/bench_tcp" bulk -n "$NBYTES" -c "$FWD" -l "$TGT" -P "$PID_FA,$PID_FB" ||
		{ echo "forwarded bulk failed" >&2; cat "$T/FA.log" "$T/FB.log" >&2; exit 1; }
}

echo "forwarded vs API, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $ROUNDS rounds of $NBYTES bytes;" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %10s %10s %8s %12s %12s\n" round "API MB/s" "fwd MB/s" "fwd/API" "API CPU/GB" "fwd CPU/GB"
A=() F=() R=() AC=() FC=()
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then a=$(api "$r"); f=$(fwd); else f=$(fwd); a=$(api "$r"); fi
	A+=("$(kv "$a" mb_s)") F+=("$(kv "$f" mb_s)") R+=("$(ratio "$(kv "$f" mb_s)" "$(kv "$a" mb_s)")")
	AC+=("$(kv "$a" daemon_cpu_s_per_gb)") FC+=("$(kv "$f" daemon_cpu_s_per_gb)")
	printf "%-6s %10s %10s %8s %12s %12s\n" "$r" "${A[-1]}" "${F[-1]}" "${R[-1]}" "${AC[-1]}" "${FC[-1]}"
done
printf "%-6s %10s %10s %8s %12s %12s\n" median "$(printf '%s\n' "${A[@]}" | median)" \
	"$(printf '%s\n' "${F[@]}" | median)" "$(printf '%s\n' "${R[@]}" | median)" \
	"$(printf '%s\n' "${AC[@]}" | median)" "$(printf '%s\n' "${FC[@]}" | median)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "forwarded / API, median of the rounds' ratios: $(printf '%s\n' "${R[@]}" | median) (target >= 0.8)"
