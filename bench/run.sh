#!/bin/bash
# bench/run.sh - tou's throughput and latency against baselines measured in
# the same run on the same machine (never part of the test run).
#
#   bench/run.sh [-B BUILD_DIR] [-n BYTES] [-r ROUNDTRIPS] [-q] [--no-build]
#                [--grid-full | --no-grid]
#
# Builds (or uses) toud, tou, the relay and the bench programs in BUILD_DIR
# (default: build-bench next to this script's source tree, RelWithDebInfo),
# then measures, on loopback:
#   raw UDP   bench_udp bulk: 1472-byte datagrams, sendmmsg/recvmmsg (ceiling),
#             and with UDP GSO/GRO, 44 datagrams per send (toud uses GSO)
#   kernel TCP bench_tcp bulk (loopback MSS ~64K) and with -m 1440 (tou's MSS)
#   tou/API   bench_tou bulk: two toud daemons, bytes through the API sockets
#             (MSS 1452), and again between two daemons with [tcp]
#             mss_loopback = 65487 (64 KiB segments, as kernel TCP on loopback)
#   tou/CLI   `tou connect < FILE` (in /dev/shm), `tou listen > /dev/null`, and
#             through pipes (cat FILE | tou connect, tou listen | cat)
#   tou/AO    bench_tou bulk between daemons sharing a TCP-AO key (RFC 5925),
#             HMAC-SHA-1-96 and AES-128-CMAC-96, with ratios to plain tou
#   RTT       1-byte ping-pong: UDP, kernel TCP (nodelay), UDP through two
#             relay processes (bench_udp relay: tou's shape, no protocol),
#             tou (nodelay) with apps blocked in read(2) and waiting in
#             poll(2) (bench_tou rr -W), with [daemon] busy_poll = 50us,
#             and through `tou connect/listen --nodelay` (bench/cli_rr.py)
#   tou/fwd   two more daemons, a [forward] on A to a [service] on B,
#             kernel TCP at both ends (bench_tcp bulk -c/-l), interleaved
#             with bench_tou bulk through the same two daemons' API: 5
#             rounds, medians and the median of the rounds' ratios
#             (bench/fwd.sh)
#   grid      goodput against the kernel's TCP (its default congestion
#             control and CUBIC) through the same impairment relay at 0, 1,
#             5 % loss and 1, 20, 100 ms RTT (bench/grid.sh; as root only):
#             3 s per point, or 30 s with --grid-full; --no-grid skips it
#   setups/s  bench/conn.sh: connect, 1 byte each way, close, 1/4/16 clients,
#             tou (API, and forwarded) against kernel TCP
#   cores     bench_tou bulk with 1 and with 8 streams at once, between two
#             daemons with [daemon] threads = 1 and with threads = auto (one
#             engine shard per CPU), the two kinds of pair interleaved
# and prints a table: MB/s (10^6 bytes per second), the ratio to kernel TCP,
# to raw UDP and to raw UDP with GSO/GRO, and CPU seconds per GB (for tou:
# the two daemons only).
# -q: 256 MB transfers instead of 1 GB.  BYTES takes K/M/G suffixes.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
BYTES=1G
RTS=5000
BUILD_IT=1
GRID=short
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	-n) BYTES=$2; shift 2 ;;
	-r) RTS=$2; shift 2 ;;
	-q) BYTES=256M; shift ;;
	--no-build) BUILD_IT=0; shift ;;
	--grid-full) GRID=full; shift ;;
	--no-grid) GRID=none; shift ;;
	-h | --help) sed -n '2,38p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [-n BYTES] [-r ROUNDTRIPS] [-q] [--no-build] [--grid-full | --no-grid]" >&2; exit 2 ;;
	esac
done
if [ "$BUILD_IT" = 1 ]; then
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j2 --target toud tou-cli relay tunbridge bench >/dev/null
fi
TOUD=$BUILD/daemon/toud TOU=$BUILD/client/tou RELAY=$BUILD/tests/tools/relay BB=$BUILD/bench
for f in "$TOUD" "$TOU" "$RELAY" "$BB/bench_udp" "$BB/bench_tcp" "$BB/bench_tou"; do
	[ -x "$f" ] || { echo "missing $f (build it, or drop --no-build)" >&2; exit 2; }
done

source "$SRC/bench/lib.sh"
bench_init tou-bench

# kv "LINE" KEY: the value of KEY=... in a result line
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
bytes_of() { # K/M/G suffix -> bytes
	local n=${1%[KkMmGg]} s=${1: -1}
	case $s in k | K) echo $((n << 10)) ;; m | M) echo $((n << 20)) ;; g | G) echo $((n << 30)) ;; *) echo "$1" ;; esac
}
NBYTES=$(bytes_of "$BYTES")

echo "tou benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r)"
echo "transfer size $NBYTES bytes; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

echo "-- baselines"
UDP=$("$BB/bench_udp" bulk -t 3 2>/dev/null); echo "$UDP"
UDPG=$("$BB/bench_udp" bulk -t 3 -g 44 2>/dev/null); echo "$UDPG"
TCP=$("$BB/bench_tcp" bulk -n "$NBYTES"); echo "$TCP"
TCPM=$("$BB/bench_tcp" bulk -n "$NBYTES" -m 1440); echo "$TCPM"
UDPRR=$("$BB/bench_udp" rr -n "$RTS"); echo "$UDPRR"
TCPRR=$("$BB/bench_tcp" rr -n "$RTS"); echo "$TCPRR"
# the shape of a tou round trip with no protocol work: app - Unix socket -
# relay - UDP - relay - Unix socket - app (the architecture's floor)
RELAYRR=$("$BB/bench_udp" relay -n "$RTS"); echo "$RELAYRR"
RELAYRRW=$("$BB/bench_udp" relay -W -n "$RTS"); echo "$RELAYRRW"

echo "-- tou: two toud daemons on 127.0.0.1"
start_pair "$TOUD" "$RELAY"
TOUBULK=$("$BB/bench_tou" bulk -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB" -p 7000 \
	-n "$NBYTES" -P "$PID_A,$PID_B" 2>"$T/bulk.err") || { cat "$T/bulk.err" >&2; exit 1; }
echo "$TOUBULK"
TOURR=$("$BB/bench_tou" rr -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB" -p 7001 -n "$RTS" 2>"$T/rr.err") \
	|| { cat "$T/rr.err" >&2; exit 1; }
echo "$TOURR"
TOURRW=$("$BB/bench_tou" rr -W -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB" -p 7006 -n "$RTS" 2>"$T/rr.err") \
	|| { cat "$T/rr.err" >&2; exit 1; }
echo "$TOURRW"

# The CLI in the path: stdin -> tou -> Unix socket -> toud -> UDP -> toud -> tou -> stdout,
# twice: `tou connect < FILE` (a file in /dev/shm: sendfile(2)) into `tou listen >
# /dev/null` (splice(2)), and through pipes (cat FILE | tou connect, tou listen | cat)
DATA=$(mktemp /dev/shm/tou-bench.XXXXXX)
CLEAN+=("$DATA")
head -c "$NBYTES" /dev/zero >"$DATA"
HZ=$(getconf CLK_TCK)
cli_run() { # cli_run LABEL PORT MODE(file|pipe): prints a tou_cli result line
	local t0 t1 c0a c0b c1a c1b
	cli_listen "$TOU" "$3" "$2"
	c0a=$(awk '{print $14 + $15}' "/proc/$PID_A/stat")
	c0b=$(awk '{print $14 + $15}' "/proc/$PID_B/stat")
	t0=$(date +%s.%N)
	cli_connect "$TOU" "$3" "$2" "$DATA"
	t1=$(date +%s.%N)
	c1a=$(awk '{print $14 + $15}' "/proc/$PID_A/stat")
	c1b=$(awk '{print $14 + $15}' "/proc/$PID_B/stat")
	awk -v l="$1" -v n="$NBYTES" -v t0="$t0" -v t1="$t1" -v c="$((c1a - c0a + c1b - c0b))" -v hz="$HZ" \
		'BEGIN { s = t1 - t0; printf "%s bytes=%d seconds=%.3f mb_s=%.1f daemon_cpu_s=%.2f daemon_cpu_s_per_gb=%.2f\n", l, n, s, n / s / 1e6, c / hz, c / hz / (n / 1e9) }'
}
CLI=$(cli_run tou_cli 7002 file); echo "$CLI"
CLIP=$(cli_run tou_cli_pipe 7005 pipe); echo "$CLIP"
# 1-byte ping-pong through the CLI (pipes as stdin and stdout: splice(2))
CLIRR=$(python3 "$SRC/bench/cli_rr.py" --tou "$TOU" -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB" \
	-p 7007 -n "$RTS" 2>"$T/clirr.err") || { cat "$T/clirr.err" >&2; exit 1; }
echo "$CLIRR"

# TCP-AO (RFC 5925): the same bulk transfer between two more daemons that
# share a [key] for 127.0.0.1, so every segment is MACed and verified
# (bench_tou's CONNECT uses the key that matches the peer).
printf 'a bench key\n' >"$T/ao.key"
chmod 600 "$T/ao.key"
# pair_start NAME [TOUD-ARGS...]: two more daemons ($T/NAME{A,B}.conf if
# written, else no file; TOUD-ARGS added), API sockets $T/NAME{A,B}.sock;
# sets PAIR_PB (B's UDP port) and PAIR_PIDS.  pair_stop ends them.
pair_start() {
	local name=$1 ports pa d p conf
	shift
	ports=$("$RELAY" --pick-ports 2)
	pa=$(sed -n 1p <<<"$ports") PAIR_PB=$(sed -n 2p <<<"$ports")
	PAIR_PIDS=()
	for d in A B; do
		p=$pa
		if [ $d = B ]; then p=$PAIR_PB; fi
		conf=/dev/null
		if [ -f "$T/$name$d.conf" ]; then conf=$T/$name$d.conf; fi
		"$TOUD" -c "$conf" -o "daemon.udp=127.0.0.1:$p" -o "daemon.socket=$T/$name$d.sock" \
			-o daemon.log_level=notice "$@" 2>"$T/$name$d.log" &
		PIDS+=($!)
		PAIR_PIDS+=($!)
	done
	for i in $(seq 100); do
		[ -S "$T/${name}A.sock" ] && [ -S "$T/${name}B.sock" ] && break
		sleep 0.1
	done
}
pair_stop() { # pair_stop NAME
	kill "${PAIR_PIDS[@]}" 2>/dev/null || true
	wait "${PAIR_PIDS[@]}" 2>/dev/null || true
	rm -f "$T/${1}A.sock" "$T/${1}B.sock"
}
# pair_bulk NAME TCP-PORT BENCH-ARGS [TOUD-ARGS...]: bench_tou bulk
# between two more daemons (pair_start; BENCH-ARGS added); prints its
# result line
pair_bulk() {
	local name=$1 port=$2 bargs=$3
	shift 3
	pair_start "$name" "$@"
	# shellcheck disable=SC2086 # BENCH-ARGS are words
	"$BB/bench_tou" bulk -a "$T/${name}A.sock" -b "$T/${name}B.sock" -u "127.0.0.1:$PAIR_PB" -p "$port" $bargs \
		-n "$NBYTES" -P "${PAIR_PIDS[0]},${PAIR_PIDS[1]}" 2>"$T/$name.err" || { cat "$T/$name.err" >&2; exit 1; }
	pair_stop "$name"
}
# pair_rr NAME TCP-PORT BENCH-ARGS [TOUD-ARGS...]: bench_tou rr, the same way
pair_rr() {
	local name=$1 port=$2 bargs=$3
	shift 3
	pair_start "$name" "$@"
	# shellcheck disable=SC2086 # BENCH-ARGS are words
	"$BB/bench_tou" rr -a "$T/${name}A.sock" -b "$T/${name}B.sock" -u "127.0.0.1:$PAIR_PB" -p "$port" $bargs \
		-n "$RTS" 2>"$T/$name.err" || { cat "$T/$name.err" >&2; exit 1; }
	pair_stop "$name"
}
ao_bulk() { # ao_bulk ALGORITHM TCP-PORT: prints bench_tou's result line
	local d
	for d in A B; do
		printf '[key k]\npeer = 127.0.0.1\nsend_id = 1\nrecv_id = 1\nalgorithm = %s\nsecret_file = %s\n' \
			"$1" "$T/ao.key" >"$T/ao$d.conf"
	done
	pair_bulk ao "$2" ""
}
AOSHA=$(ao_bulk hmac-sha-1-96 7003 | sed 's/^/ao-hmac-sha-1-96 /'); echo "$AOSHA"
AOCMAC=$(ao_bulk aes-128-cmac-96 7004 | sed 's/^/ao-aes-128-cmac-96 /'); echo "$AOCMAC"
# The same API transfer with the loopback interface's segments: [tcp]
# mss_loopback = 65487 (64 KiB, as the kernel's TCP on loopback; off by
# default) against the default row's 1452 (hold that one against "kernel
# TCP, MSS 1440").
MSS64=$(pair_bulk m64 7020 "" -o tcp.mss_loopback=65487 | sed 's/^/mss-loopback /'); echo "$MSS64"
# [daemon] busy_poll: two more daemons that poll 50 us after each exchange
BPRR=$(pair_rr bp 7008 "" -o daemon.busy_poll=50us | sed 's/^/busy_poll=50us /'); echo "$BPRR"
BPRRW=$(pair_rr bpw 7009 -W -o daemon.busy_poll=50us | sed 's/^/busy_poll=50us /'); echo "$BPRRW"

# The forwarded path: kernel TCP -> [forward] on FA -> tou -> [service] on
# FB -> kernel TCP, measured by the kernel baseline's own program, in turn
# with the API path through the same two daemons (bench/fwd.sh: 5 rounds,
# medians and the median of the rounds' ratios; the machine's load moves
# between minutes: compare within a round).
echo "-- tou forwarded: bench_tcp -> [forward] on daemon FA -> [service] on FB -> bench_tcp (bench/fwd.sh)"
FWDOUT=$("$SRC/bench/fwd.sh" -B "$BUILD" --no-build -N 5 -n "$NBYTES") || { echo "$FWDOUT" >&2; exit 1; }
echo "$FWDOUT"
FMED=$(grep '^median' <<<"$FWDOUT") # median API-MB/s fwd-MB/s ratio API-CPU/GB fwd-CPU/GB
fcol() { awk -v c="$1" '{ print $c }' <<<"$FMED"; }

# Several cores ([daemon] threads, docs/DESIGN.md section 5.8): the same
# bulk transfer as one stream and as 8 at once, between a pair of daemons
# with one engine shard each and a pair with one per CPU; the pairs take
# turns (1 then auto, twice) so that a change of load hits both alike.
shard_pair() { # shard_pair THREADS STREAMS TCP-PORT: bench_tou's result line
	pair_bulk sh "$3" "-S $2" -o "daemon.threads=$1"
}
best() { # best LINE LINE: the line with the higher mb_s
	if awk -v a="$(kv "$1" mb_s)" -v b="$(kv "$2" mb_s)" 'BEGIN { exit !(a >= b) }'; then echo "$1"; else echo "$2"; fi
}
S1A=$(shard_pair 1 1 7010); echo "threads=1    $S1A"
SAA=$(shard_pair auto 1 7011); echo "threads=auto $SAA"
S8A=$(shard_pair 1 8 7012); echo "threads=1    $S8A"
SA8A=$(shard_pair auto 8 7013); echo "threads=auto $SA8A"
S1B=$(shard_pair 1 1 7014); echo "threads=1    $S1B"
SAB=$(shard_pair auto 1 7015); echo "threads=auto $SAB"
S8B=$(shard_pair 1 8 7016); echo "threads=1    $S8B"
SA8B=$(shard_pair auto 8 7017); echo "threads=auto $SA8B"
S1=$(best "$S1A" "$S1B") SA1=$(best "$SAA" "$SAB") S8=$(best "$S8A" "$S8B") SA8=$(best "$SA8A" "$SA8B")

udp_mb=$(kv "$UDP" mb_s)
udpg_mb=$(kv "$UDPG" mb_s)
tcp_mb=$(kv "$TCP" mb_s)
echo
echo "== throughput (MB/s = 10^6 bytes/s of stream data; UDP: of UDP payload)"
printf "%-34s %10s %9s %9s %9s %12s\n" "" "MB/s" "/kTCP" "/rawUDP" "/UDP-GSO" "CPU s/GB"
row() { printf "%-34s %10s %9s %9s %9s %12s\n" "$1" "$2" "$(ratio "$2" "$tcp_mb")" "$(ratio "$2" "$udp_mb")" "$(ratio "$2" "$udpg_mb")" "$3"; }
row "raw UDP 1472 B, mmsg (ceiling)" "$udp_mb" "$(kv "$UDP" cpu_s_per_gb)"
row "raw UDP, GSO/GRO 44 x 1472 B" "$udpg_mb" "$(kv "$UDPG" cpu_s_per_gb)"
row "kernel TCP loopback" "$tcp_mb" "$(kv "$TCP" cpu_s_per_gb)"
row "kernel TCP, MSS 1440" "$(kv "$TCPM" mb_s)" "$(kv "$TCPM" cpu_s_per_gb)"
row "tou via API (bench_tou)" "$(kv "$TOUBULK" mb_s)" "$(kv "$TOUBULK" daemon_cpu_s_per_gb)"
row "tou via API, mss_loopback 65487" "$(kv "$MSS64" mb_s)" "$(kv "$MSS64" daemon_cpu_s_per_gb)"
row "tou via CLI (< file, > /dev/null)" "$(kv "$CLI" mb_s)" "$(kv "$CLI" daemon_cpu_s_per_gb)"
row "tou via CLI (cat | tou | cat)" "$(kv "$CLIP" mb_s)" "$(kv "$CLIP" daemon_cpu_s_per_gb)"
row "tou via API, TCP-AO HMAC-SHA-1-96" "$(kv "$AOSHA" mb_s)" "$(kv "$AOSHA" daemon_cpu_s_per_gb)"
row "tou via API, TCP-AO AES-128-CMAC-96" "$(kv "$AOCMAC" mb_s)" "$(kv "$AOCMAC" daemon_cpu_s_per_gb)"
row "tou via API (FA/FB, median of 5)" "$(fcol 2)" "$(fcol 5)"
row "tou forwarded (FA/FB, median of 5)" "$(fcol 3)" "$(fcol 6)"
echo
echo "== forwarded against the API path (same daemons, in turn; median of 5 rounds' ratios; target >= 0.8)"
printf "%-34s %10s %12s\n" "" "MB/s ratio" "CPU/GB ratio"
printf "%-34s %10s %12s\n" "forwarded / API" "$(fcol 4)" "$(ratio "$(fcol 6)" "$(fcol 5)")"
echo
echo "== the CLI against the API path (same run; target >= 0.9)"
printf "%-34s %10s\n" "" "MB/s ratio"
printf "%-34s %10s\n" "CLI (files) / API" "$(ratio "$(kv "$CLI" mb_s)" "$(kv "$TOUBULK" mb_s)")"
printf "%-34s %10s\n" "CLI (pipes) / API" "$(ratio "$(kv "$CLIP" mb_s)" "$(kv "$TOUBULK" mb_s)")"
echo
echo "== TCP-AO against plain tou (bench_tou bulk, same run)"
printf "%-34s %10s %12s\n" "" "MB/s ratio" "CPU/GB ratio"
aorow() { printf "%-34s %10s %12s\n" "$1" "$(ratio "$(kv "$2" mb_s)" "$(kv "$TOUBULK" mb_s)")" \
	"$(ratio "$(kv "$2" daemon_cpu_s_per_gb)" "$(kv "$TOUBULK" daemon_cpu_s_per_gb)")"; }
aorow "HMAC-SHA-1-96 / plain" "$AOSHA"
aorow "AES-128-CMAC-96 / plain" "$AOCMAC"
echo
echo "== 1-byte ping-pong round trip (microseconds)"
printf "%-38s %10s %10s %10s %8s\n" "" "p50" "p99" "mean" "/kTCP"
rrow() { printf "%-38s %10s %10s %10s %8s\n" "$1" "$(kv "$2" rtt_us_p50)" "$(kv "$2" rtt_us_p99)" "$(kv "$2" rtt_us_mean)" "$(ratio "$(kv "$2" rtt_us_p50)" "$(kv "$TCPRR" rtt_us_p50)")"; }
rrow "raw UDP" "$UDPRR"
rrow "kernel TCP (nodelay)" "$TCPRR"
rrow "UDP via 2 relays (floor)" "$RELAYRR"
rrow "UDP via 2 relays, poll before read" "$RELAYRRW"
rrow "tou (nodelay, via API)" "$TOURR"
rrow "tou (nodelay, API, poll before read)" "$TOURRW"
rrow "tou (API, busy_poll = 50us)" "$BPRR"
rrow "tou (API, busy_poll = 50us, poll)" "$BPRRW"
rrow "tou (nodelay, CLI, python app)" "$CLIRR"

echo
echo "== several cores: bench_tou bulk, 1 and 8 streams at once (best of two interleaved runs each)"
printf "%-34s %10s %9s %12s\n" "" "MB/s" "/1 stream" "CPU s/GB"
crow() { printf "%-34s %10s %9s %12s\n" "$1" "$(kv "$2" mb_s)" "$(ratio "$(kv "$2" mb_s)" "$(kv "$S1" mb_s)")" "$(kv "$2" daemon_cpu_s_per_gb)"; }
crow "threads=1, 1 stream" "$S1"
crow "threads=1, 8 streams" "$S8"
crow "threads=auto ($(nproc)), 1 stream" "$SA1"
crow "threads=auto ($(nproc)), 8 streams" "$SA8"
echo "threads=auto 8 streams / threads=auto 1 stream: $(ratio "$(kv "$SA8" mb_s)" "$(kv "$SA1" mb_s)")"

if [ "$GRID" != none ]; then
	echo
	if [ "$(id -u)" != 0 ]; then
		echo "== loss/RTT grid against the kernel's TCP: skipped (needs root; bench/grid.sh)"
	else
		gopt=()
		if [ "$GRID" = full ]; then gopt=(--full); fi
		"$SRC/bench/grid.sh" -B "$BUILD" --no-build "${gopt[@]}"
	fi
fi

# The cost of a connection (bench/conn.sh: its own pair of daemons)
echo
"$SRC/bench/conn.sh" -B "$BUILD" --no-build
