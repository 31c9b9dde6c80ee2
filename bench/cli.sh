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
# rounds with its ratio to the API path's median ("/API") and the median of
# its ratios to the API transfer of the same round ("rounds": less moved by
# a load that changes between rounds), and the CPU seconds per GB
# of the two daemons and of the apps (bench_tou; the tou and cat processes):
# on a shared machine the CPU figures move less than the rates.  The CLI's
# time includes starting tou, the handshake and the wait for a clean end.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
BYTES=256M
ROUNDS=7
BEFORE=
BUILD_IT=1
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	-n) BYTES=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	--before) BEFORE=$2; shift 2 ;;
	--no-build) BUILD_IT=0; shift ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [-n BYTES] [-r ROUNDS] [--before TOU_BINARY] [--no-build]" >&2; exit 2 ;;
	esac
done
source "$SRC/bench/lib.sh"
bench_build "$BUILD_IT" toud tou-cli relay bench
TOUD=$BUILD/daemon/toud TOU=$BUILD/client/tou RELAY=$BUILD/tests/tools/relay BB=$BUILD/bench
bench_need "$TOUD" "$TOU" "$RELAY" "$BB/bench_tou" ${BEFORE:+"$BEFORE"}

bench_init tou-cli-bench
DATA=$(mktemp /dev/shm/tou-cli-bench.XXXXXX)
CLEAN+=("$DATA")

n=${BYTES%[KkMmGg]} s=${BYTES: -1}
case $s in k | K) NBYTES=$((n << 10)) ;; m | M) NBYTES=$((n << 20)) ;; g | G) NBYTES=$((n << 30)) ;; *) NBYTES=$BYTES ;; esac
head -c "$NBYTES" /dev/zero >"$DATA"

start_pair "$TOUD" "$RELAY" -o daemon.log_level=warning

TPORT=7200
HZ=$(getconf CLK_TCK)
dticks() { awk '{ t += $14 + $15 } END { print t }' "/proc/$PID_A/stat" "/proc/$PID_B/stat"; }
# result T0 T1 DTICKS0 APP_CPU_S: "MB/s daemon-CPU-s/GB app-CPU-s/GB"
result() {
	awk -v n="$NBYTES" -v a="$1" -v b="$2" -v d="$(($(dticks) - $3))" -v hz="$HZ" -v app="$4" \
		'BEGIN { gb = n / 1e9; printf "%.1f %.2f %.2f\n", n / (b - a) / 1e6, d / hz / gb, app / gb }'
}
# children_cpu FILE: user+system seconds of this shell's waited-for children
# into FILE (`times` in this shell: in a $(...) it would see the children
# of that subshell)
children_cpu() {
	times >"$1.times"
	tail -n 1 "$1.times" | awk '{ for (i = 1; i <= 2; i++) { split($i, p, "m"); s += p[1] * 60 + p[2] } } END { print s }' >"$1"
}
# cli TOU MODE: one CLI transfer of the file (in a subshell: its children
# are the tou and cat processes of this transfer)
cli() {
	local t0 t1 d0
	TPORT=$((TPORT + 1))
	cli_listen "$1" "$2" "$TPORT"
	children_cpu "$T/cpu0"
	d0=$(dticks)
	t0=$(date +%s.%N)
	cli_connect "$1" "$2" "$TPORT" "$DATA"
	t1=$(date +%s.%N)
	children_cpu "$T/cpu1"
	result "$t0" "$t1" "$d0" "$(awk '{ v[NR] = $1 } END { print v[2] - v[1] }' "$T/cpu0" "$T/cpu1")"
}
api() {
	local out d0 t0 t1
	TPORT=$((TPORT + 1))
	d0=$(dticks)
	out=$("$BB/bench_tou" bulk -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB" -p "$TPORT" -n "$NBYTES" 2>/dev/null)
	t1=$(tr ' ' '\n' <<<"$out" | sed -n 's/^seconds=//p')
	result 0 "$t1" "$d0" "$(tr ' ' '\n' <<<"$out" | sed -n 's/^app_cpu_s=//p')"
}

KEYS=(api file pipe)
if [ -n "$BEFORE" ]; then KEYS+=(file_before pipe_before); fi
declare -A R D A Q
API_ROUND=
add() { # add KEY "MB/s dcpu acpu"
	local m d a
	read -r m d a <<<"$2"
	if [ "$1" = api ]; then API_ROUND=$m; fi
	R[$1]+=" $m"
	Q[$1]+=" $(awk -v a="$m" -v b="$API_ROUND" 'BEGIN { printf "%.3f", a / b }')"
	D[$1]+=" $d"
	A[$1]+=" $a"
}
for ((r = 0; r < ROUNDS; r++)); do
	add api "$(api)"
	add file "$(cli "$TOU" file)"
	add pipe "$(cli "$TOU" pipe)"
	if [ -n "$BEFORE" ]; then
		add file_before "$(cli "$BEFORE" file)"
		add pipe_before "$(cli "$BEFORE" pipe)"
	fi
done
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
API=$(median "${R[api]}")
echo "tou CLI against the API path, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $NBYTES bytes, $ROUNDS rounds interleaved"
echo "(medians; CPU s/GB: the two daemons, and the apps: bench_tou, or the tou and cat processes)"
printf "%-46s %9s %6s %7s %10s %10s   %s\n" "" "MB/s" "/API" "rounds" "toud s/GB" "apps s/GB" "(MB/s of each round)"
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
	printf "%-46s %9s %6s %7s %10s %10s  %s\n" "$(label "$k")" "$m" \
		"$(awk -v a="$m" -v b="$API" 'BEGIN { printf "%.2f", a / b }')" "$(median "${Q[$k]}")" "$(median "${D[$k]}")" \
		"$(median "${A[$k]}")" "${R[$k]}"
done
