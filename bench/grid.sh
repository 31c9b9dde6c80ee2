#!/bin/bash
# bench/grid.sh - goodput of tou against the Linux kernel's own TCP on the
# same impaired path, in the same run (never part of the test run; ctest
# only checks that it works: tests/integration/test_bench_grid.sh).
#
#   bench/grid.sh [-B BUILD_DIR] [--full] [-t SECONDS] [--loss "0 1 5"]
#                 [--rtt "1 20 100"] [--cc "cubic"] [--tou "cubic bbr"]
#                 [--no-build]
#
# The path: every datagram crosses the impairment relay (tests/tools/relay.c),
# which drops LOSS % of the datagrams in each direction at random (seeded)
# and delays them so that the round trip is RTT ms (RTT/2 each way; 1 ms:
# 1 ms one way, 0 the other).  Two relays with the same settings:
#
#   tou:    bench_tou -> toud A -> UDP -> relay -> UDP -> toud B -> bench_tou
#           (one pair of daemons and one relay per --tou congestion control)
#   kernel: bench_tcp in netns A -> TUN -> tunbridge -> UDP -> relay -> UDP
#           -> tunbridge -> TUN -> netns B (tests/tools/tunbridge.c --netns)
#
# Segments are alike: the TUN MTU is 1492, so the kernel's segments (with
# timestamps) carry 1440 bytes of data, as tou's do with its default MSS
# 1452; each segment is one UDP datagram of 1472 bytes either way.
#
# For each point (LOSS, RTT) it measures, interleaved: tou with each --tou
# congestion control ([tcp] congestion: cubic, the default, and bbr), the
# kernel with its default congestion control (sysctl
# net.ipv4.tcp_congestion_control) and with each --cc name
# (TCP_CONGESTION); goodput is the stream bytes received during SECONDS from
# the connection's start (slow start included) over those seconds.
# Default: a short grid, 3 s per point (about 2 minutes); --full: 30 s per
# point (about 15 minutes).  Needs root (network namespaces, TUN devices).
# Prints one row per point: MB/s (10^6 bytes/s) and the ratios of each tou
# column to each kernel column.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
SECS=3
LOSSES="0 1 5"
RTTS="1 20 100"
CCS="cubic"
TOUCCS="cubic bbr"
BUILD_IT=1
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	-t) SECS=$2; shift 2 ;;
	--full) SECS=30; shift ;;
	--loss) LOSSES=$2; shift 2 ;;
	--rtt) RTTS=$2; shift 2 ;;
	--cc) CCS=$2; shift 2 ;;
	--tou) TOUCCS=$2; shift 2 ;;
	--no-build) BUILD_IT=0; shift ;;
	-h | --help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [--full] [-t SECONDS] [--loss LIST] [--rtt LIST] [--cc LIST] [--tou LIST] [--no-build]" >&2; exit 2 ;;
	esac
done
if [ "$(id -u)" != 0 ]; then
	echo "grid.sh: needs root (network namespaces and TUN devices)" >&2
	exit 2
fi
if [ "$BUILD_IT" = 1 ]; then
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j2 --target toud relay tunbridge bench >/dev/null
fi
TOUD=$BUILD/daemon/toud TOOLS=$BUILD/tests/tools BB=$BUILD/bench
RELAY=$TOOLS/relay BRIDGE=$TOOLS/tunbridge
for f in "$TOUD" "$RELAY" "$BRIDGE" "$BB/bench_tcp" "$BB/bench_tou"; do
	[ -x "$f" ] || { echo "grid.sh: missing $f (build it, or drop --no-build)" >&2; exit 2; }
done
for cc in $CCS; do
	grep -qw "$cc" /proc/sys/net/ipv4/tcp_available_congestion_control ||
		modprobe "tcp_$cc" 2>/dev/null ||
		{ echo "grid.sh: the kernel has no congestion control '$cc'" >&2; exit 2; }
done

source "$SRC/bench/lib.sh"
bench_init tou-grid
NSA=tougridA$$ NSB=tougridB$$
KA=10.213.0.1 KB=10.213.0.2
# the namespaces go with the rest at exit
grid_cleanup() {
	bench_cleanup
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
}
trap grid_cleanup EXIT
trap 'exit 130' INT TERM

kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3g", a / b; else print "-" }'; }
wait_file() { # wait_file FILE: until it exists and is not empty (10 s)
	local i
	for i in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done
	echo "grid.sh: $1 did not appear" >&2
	return 1
}
# start_relay NAME A-PORT B-PORT: a relay between 127.0.0.1:A and :B; sets
# NAME_PORT (data) and NAME_CTL (control)
start_relay() {
	"$RELAY" --listen 127.0.0.1:0 --control 127.0.0.1:0 --a "127.0.0.1:$2" --b "127.0.0.1:$3" \
		--seed 15 --port-file "$T/$1.ports" 2>"$T/$1.log" &
	PIDS+=($!)
	wait_file "$T/$1.ports"
	printf -v "${1}_PORT" %s "$(cut -d' ' -f1 "$T/$1.ports")"
	printf -v "${1}_CTL" %s "$(cut -d' ' -f2 "$T/$1.ports")"
}
# impair CTL-PORT LOSS RTT: both directions lose LOSS %, delays sum to RTT ms
impair() {
	local ab=$(($3 / 2)) ba
	ba=$(($3 - ab))
	"$RELAY" --ctl "$1" clear >/dev/null
	"$RELAY" --ctl "$1" both loss "$2" >/dev/null
	"$RELAY" --ctl "$1" a2b delay "$ba" >/dev/null
	"$RELAY" --ctl "$1" b2a delay "$ab" >/dev/null
}

# -- the kernel's path: two namespaces, a TUN in each, bridged over the relay
PORTS=$("$RELAY" --pick-ports 2)
BA=$(sed -n 1p <<<"$PORTS") BBP=$(sed -n 2p <<<"$PORTS")
start_relay KREL "$BA" "$BBP"
ip netns add "$NSA"
ip netns add "$NSB"
# bridge NS TUN-IP PEER-IP UDP-PORT
bridge() {
	"$BRIDGE" --netns "$1" --tun tougrid0 --bind "127.0.0.1:$4" --peer "127.0.0.1:$KREL_PORT" \
		--local-ip "$2" --remote-ip "$3" --port-file "$T/$1.bport" 2>"$T/$1.blog" &
	PIDS+=($!)
	wait_file "$T/$1.bport"
	ip netns exec "$1" ip link set lo up
	ip netns exec "$1" ip link set tougrid0 mtu 1492
	ip netns exec "$1" ip addr add "$2/24" dev tougrid0
	ip netns exec "$1" ip link set tougrid0 up
}
bridge "$NSA" "$KA" "$KB" "$BA"
bridge "$NSB" "$KB" "$KA" "$BBP"
KDEFAULT=$(ip netns exec "$NSA" cat /proc/sys/net/ipv4/tcp_congestion_control)

# -- tou's paths: per congestion control two daemons on loopback (sockets
# $T/<cc>A.sock, $T/<cc>B.sock), A sends to its relay, B answers it
for tcc in $TOUCCS; do
	pair_up "$TOUD" "$RELAY" "$tcc" 0 -o daemon.log_level=warning -o "tcp.congestion=$tcc"
	start_relay "TREL_$tcc" "$PA" "$PB"
done

echo "tou against the kernel's TCP on one impaired path, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r)"
echo "$SECS s per run; loss each way; kernel default congestion control: $KDEFAULT; tou: $TOUCCS; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
hdr=$(printf "%-6s %-6s" "loss%" "RTT ms")
for tcc in $TOUCCS; do hdr+=$(printf " %10s" "tou:$tcc"); done
hdr+=$(printf " %10s" "k:$KDEFAULT")
for cc in $CCS; do hdr+=$(printf " %10s" "k:$cc"); done
for tcc in $TOUCCS; do
	hdr+=$(printf " %14s" "$tcc/k:$KDEFAULT")
	for cc in $CCS; do hdr+=$(printf " %14s" "$tcc/k:$cc"); done
done
echo "== goodput (MB/s) and ratios"
echo "$hdr"
TPORT=7100
fails=0
for loss in $LOSSES; do
	for rtt in $RTTS; do
		impair "$KREL_CTL" "$loss" "$rtt"
		line=$(printf "%-6s %-6s" "$loss" "$rtt")
		declare -A TOU=() K=()
		for tcc in $TOUCCS; do
			ctl=TREL_${tcc}_CTL port=TREL_${tcc}_PORT
			impair "${!ctl}" "$loss" "$rtt"
			TPORT=$((TPORT + 1))
			r=$("$BB/bench_tou" bulk -a "$T/${tcc}A.sock" -b "$T/${tcc}B.sock" -u "127.0.0.1:${!port}" \
				-p "$TPORT" -t "$SECS" 2>>"$T/bench.err") || fails=$((fails + 1))
			TOU[$tcc]=$(kv "$r" mb_s)
			line+=$(printf " %10s" "${TOU[$tcc]}")
		done
		r=$("$BB/bench_tcp" bulk -t "$SECS" -N "$NSA,$NSB" -A "$KB" 2>>"$T/bench.err") ||
			fails=$((fails + 1))
		K[default]=$(kv "$r" mb_s)
		line+=$(printf " %10s" "${K[default]}")
		for cc in $CCS; do
			r=$("$BB/bench_tcp" bulk -t "$SECS" -N "$NSA,$NSB" -A "$KB" -C "$cc" 2>>"$T/bench.err") ||
				fails=$((fails + 1))
			K[$cc]=$(kv "$r" mb_s)
			line+=$(printf " %10s" "${K[$cc]}")
		done
		for tcc in $TOUCCS; do
			line+=$(printf " %14s" "$(ratio "${TOU[$tcc]}" "${K[default]}")")
			for cc in $CCS; do line+=$(printf " %14s" "$(ratio "${TOU[$tcc]}" "${K[$cc]}")"); done
		done
		echo "$line"
		unset TOU K
	done
done
# What crossed each relay over the whole grid (datagrams; the data direction
# a2b): both paths went through it, and the drops are the loss asked for.
echo
echo "== relay counters over the grid (datagrams)"
relay_sum() { # relay_sum LABEL CTL-PORT
	"$RELAY" --ctl "$2" stats | awk -v l="$1" '$1 == "a2b" || $1 == "b2a" {
		split($2, rx, "="); split($3, tx, "="); split($6, dl, "=")
		printf "%-7s %s rx=%s tx=%s drop_loss=%s\n", l, $1, rx[2], tx[2], dl[2] }'
}
for tcc in $TOUCCS; do
	ctl=TREL_${tcc}_CTL
	relay_sum "tou-$tcc" "${!ctl}"
done
relay_sum kernel "$KREL_CTL"
if [ "$fails" -gt 0 ]; then
	echo "grid.sh: $fails run(s) failed:" >&2
	cat "$T/bench.err" >&2
	exit 1
fi
