#!/bin/bash
# bench/conn.sh - the cost of a connection: setups per second (connect, one
# byte each way, close) through two toud daemons on 127.0.0.1, against the
# kernel's TCP over loopback in the same run (never part of the test run).
#
#   bench/conn.sh [-B BUILD_DIR] [--toud BIN] [-c "1 4 16"] [-t SECONDS]
#                 [--no-build] [--tou-only]
#
# For each number of parallel clients (-c, default "1 4 16") it runs
# bench_conn tcp and bench_conn tou (bench/bench_conn.c) for SECONDS each
# (default 3) and prints setups/s, the ratio tou/kernel and the daemons' CPU
# microseconds per connection; then the same through a [forward] on A to a
# [service] on B with kernel TCP at both ends (bench_conn tcp -f -l: the
# "fwd" columns, their ratio to the API path and the daemons' CPU; not
# with --tou-only).  --toud BIN measures another toud binary
# (e.g. an older build) with the same clients; --tou-only skips the kernel
# rows (for interleaved A/B runs of two daemons).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
TOUD=
CLIENTS="1 4 16"
SECS=3
BUILD_IT=1
TOU_ONLY=0
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	--toud) TOUD=$2; shift 2 ;;
	-c) CLIENTS=$2; shift 2 ;;
	-t) SECS=$2; shift 2 ;;
	--no-build) BUILD_IT=0; shift ;;
	--tou-only) TOU_ONLY=1; shift ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [--toud BIN] [-c \"1 4 16\"] [-t SECONDS] [--no-build] [--tou-only]" >&2; exit 2 ;;
	esac
done
source "$SRC/bench/lib.sh"
bench_build "$BUILD_IT" toud relay bench_conn
TOUD=${TOUD:-$BUILD/daemon/toud}
RELAY=$BUILD/tests/tools/relay BC=$BUILD/bench/bench_conn
bench_need "$TOUD" "$RELAY" "$BC"

bench_init tou-conn
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

if [ "$TOU_ONLY" = 0 ]; then
	start_fwd_pair "$TOUD" "$RELAY" ""
else # (--toud may be a toud from before [forward])
	start_pair "$TOUD" "$RELAY"
fi

echo "== connection setups per second (connect, 1 byte each way, close; ${SECS} s each)"
printf "%-10s %12s %12s %9s %16s %12s %9s %16s\n" "clients" "kTCP /s" "tou /s" "/kTCP" "daemon us/conn" \
	"fwd /s" "fwd/tou" "fwd us/conn"
tport=7100
for c in $CLIENTS; do
	tcp=
	if [ "$TOU_ONLY" = 0 ]; then
		tcp=$("$BC" tcp -c "$c" -t "$SECS")
	fi
	tou=$("$BC" tou -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB" -p "$tport" -c "$c" \
		-t "$SECS" -P "$PID_A,$PID_B" 2>"$T/conn.err") || { cat "$T/conn.err" >&2; exit 1; }
	tport=$((tport + 1))
	fwd=
	if [ "$TOU_ONLY" = 0 ]; then
		fwd=$("$BC" tcp -f "$FWD" -l "$TGT" -c "$c" -t "$SECS" -P "$PID_A,$PID_B") || true
	fi
	printf "%-10s %12s %12s %9s %16s %12s %9s %16s" "$c" "$(kv "$tcp" per_s)" "$(kv "$tou" per_s)" \
		"$(ratio "$(kv "$tou" per_s)" "$(kv "$tcp" per_s)")" "$(kv "$tou" daemon_cpu_us_per_conn)" \
		"$(kv "$fwd" per_s)" "$(if [ -n "$fwd" ]; then ratio "$(kv "$fwd" per_s)" "$(kv "$tou" per_s)"; fi)" \
		"$(kv "$fwd" daemon_cpu_us_per_conn)"
	errs=$(kv "$tou" errors) ferrs=$(kv "$fwd" errors)
	if [ "${errs:-0}" != 0 ]; then printf "  (%s failed)" "$errs"; fi
	if [ "${ferrs:-0}" != 0 ]; then printf "  (fwd: %s failed)" "$ferrs"; fi
	printf "\n"
done
