#!/bin/bash
# bench/cli.sh - the CLI's throughput against the API path's, interleaved
# rounds in one run (never part of the test run).
#
#   bench/cli.sh [-B BUILD_DIR] [-n BYTES] [-r ROUNDS] [--before TOU_BINARY]
#                [--no-build]
#
# Two toud daemons on 127.0.0.1; each round measures, one after the other:
#   api    bench_tou bulk: bytes written to and read from the API sockets
#   file   tou connect < FILE (in /dev/shm),  tou listen > /dev/null
#   pipe   cat FILE | tou connect,            tou listen | cat >/dev/null
#   (and, with --before, the same two CLI transfers with that tou binary,
#    e.g. one built from an older commit: a before/after in the same run)
# and prints each one's median MB/s (10^6 bytes/s of stream data) over the
# rounds with its ratio to the API path's median.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
BYTES=256M
ROUNDS=3
BEFORE=
BUILD_IT=1
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	-n) BYTES=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	--before) BEFORE=$2; shift 2 ;;
	--no-build) BUILD_IT=0; shift ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [-n BYTES] [-r ROUNDS] [--before TOU_BINARY] [--no-build]" >&2; exit 2 ;;
	esac
done
if [ "$BUILD_IT" = 1 ]; then
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j2 --target toud tou-cli relay bench >/dev/null
fi
TOUD=$BUILD/daemon/toud TOU=$BUILD/client/tou RELAY=$BUILD/tests/tools/relay BB=$BUILD/bench
for f in "$TOUD" "$TOU" "$RELAY" "$BB/bench_tou" ${BEFORE:+"$BEFORE"}; do
	[ -x "$f" ] || { echo "cli.sh: missing $f" >&2; exit 2; }
done

T=$(mktemp -d /tmp/tou-cli-bench.XXXXXX)
DATA=$(mktemp /dev/shm/tou-cli-bench.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T" "$DATA"
}
trap cleanup EXIT

n=${BYTES%[KkMmGg]} s=${BYTES: -1}
case $s in k | K) NBYTES=$((n << 10)) ;; m | M) NBYTES=$((n << 20)) ;; g | G) NBYTES=$((n << 30)) ;; *) NBYTES=$BYTES ;; esac
head -c "$NBYTES" /dev/zero >"$DATA"

PORTS=$("$RELAY" --pick-ports 2)
PA=$(sed -n 1p <<<"$PORTS") PB=$(sed -n 2p <<<"$PORTS")
for d in A B; do
	port=$PA
	if [ $d = B ]; then port=$PB; fi
	"$TOUD" -c /dev/null -o "daemon.udp=127.0.0.1:$port" -o "daemon.socket=$T/$d.sock" \
		-o daemon.log_level=warning 2>"$T/$d.log" &
	PIDS+=($!)
done
for i in $(seq 100); do
	[ -S "$T/A.sock" ] && [ -S "$T/B.sock" ] && break
	sleep 0.1
done

TPORT=7200
# cli TOU MODE: one CLI transfer of the file; prints MB/s
cli() {
	local tou=$1 mode=$2 lp t0 t1
	TPORT=$((TPORT + 1))
	if [ "$mode" = file ]; then
		"$tou" -s "$T/B.sock" listen "$TPORT" >/dev/null 2>"$T/listen.err" </dev/null &
	else
		"$tou" -s "$T/B.sock" listen "$TPORT" 2>"$T/listen.err" </dev/null | cat >/dev/null &
	fi
	lp=$!
	for i in $(seq 50); do
		"$TOU" -s "$T/B.sock" status 2>/dev/null | grep -q "LISTEN .*/$TPORT " && break
		sleep 0.05
	done
	t0=$(date +%s.%N)
	if [ "$mode" = file ]; then
		"$tou" -s "$T/A.sock" connect "127.0.0.1:$PB" "$TPORT" <"$DATA" >/dev/null 2>"$T/connect.err"
	else
		cat "$DATA" | "$tou" -s "$T/A.sock" connect "127.0.0.1:$PB" "$TPORT" >/dev/null 2>"$T/connect.err"
	fi || { echo "cli.sh: tou connect failed: $(cat "$T/connect.err")" >&2; exit 1; }
	wait $lp || true
	t1=$(date +%s.%N)
	awk -v n="$NBYTES" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", n / (b - a) / 1e6 }'
}
api() {
	TPORT=$((TPORT + 1))
	"$BB/bench_tou" bulk -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB" -p "$TPORT" -n "$NBYTES" 2>/dev/null |
		tr ' ' '\n' | sed -n 's/^mb_s=//p'
}

KEYS=(api file pipe)
if [ -n "$BEFORE" ]; then KEYS+=(file_before pipe_before); fi
declare -A R
for ((r = 0; r < ROUNDS; r++)); do
	R[api]+=" $(api)"
	R[file]+=" $(cli "$TOU" file)"
	R[pipe]+=" $(cli "$TOU" pipe)"
	if [ -n "$BEFORE" ]; then
		R[file_before]+=" $(cli "$BEFORE" file)"
		R[pipe_before]+=" $(cli "$BEFORE" pipe)"
	fi
done
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
API=$(median "${R[api]}")
echo "tou CLI against the API path, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $NBYTES bytes, $ROUNDS rounds interleaved"
printf "%-46s %10s %8s   %s\n" "" "MB/s p50" "/API" "(each round)"
label() {
	case $1 in
	api) echo "API (bench_tou bulk)" ;;
	file) echo "CLI: tou connect < file, listen > /dev/null" ;;
	pipe) echo "CLI: cat file | tou connect, listen | cat" ;;
	file_before) echo "CLI before ($BEFORE): file" ;;
	pipe_before) echo "CLI before: pipe" ;;
	esac
}
for k in "${KEYS[@]}"; do
	m=$(median "${R[$k]}")
	printf "%-46s %10s %8s  %s\n" "$(label "$k")" "$m" \
		"$(awk -v a="$m" -v b="$API" 'BEGIN { printf "%.2f", a / b }')" "${R[$k]}"
done
