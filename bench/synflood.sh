#!/bin/bash
# bench/synflood.sh - a bulk transfer under a spoofed SYN flood against the
# same transfer unflooded, in the same run (issue 14: "a 100 MB transfer
# under a spoofed SYN flood from many UDP ports takes at most 2x its
# unflooded time").  Never part of the test run (a figure, not a threshold).
#
#   bench/synflood.sh [-B BUILD_DIR] [-n BYTES] [-r ROUNDS] [--no-build]
#
# In a network namespace of its own (the flood stays off the host's
# loopback): daemons A and B on 127.0.0.1, bench_tou bulk moves BYTES
# (default 100M) from A to B, ROUNDS times (default 3) alternating
# unflooded and flooded; while flooded, tests/tools/synflood sends spoofed
# SYNs from random 127.1.x.y addresses and UDP ports to B's listening port
# as fast as a raw socket takes them.  Prints each transfer, the median
# seconds of each kind, their ratio, and the counters of what the flood
# cost: B's (datagrams, SYNs shed unread, DropSynRate, cookies, passive
# opens), A's retransmissions and the kernel's UDP receive-queue drops
# (RcvbufErrors) during the flooded transfer.  On a machine with few
# cores the flooder competes with the daemons for them: the ratio then
# counts that too.  Needs root.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
BYTES=100M
ROUNDS=3
BUILD_IT=1
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	-n) BYTES=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	--no-build) BUILD_IT=0; shift ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [-n BYTES] [-r ROUNDS] [--no-build]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespace, raw socket)" >&2; exit 2; }
source "$SRC/bench/lib.sh"
bench_build "$BUILD_IT" toud synflood bench
TOUD=$BUILD/daemon/toud FLOOD=$BUILD/tests/tools/synflood BB=$BUILD/bench
bench_need "$TOUD" "$FLOOD" "$BB/bench_tou"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

T=$(mktemp -d /tmp/tou-bench-flood.XXXXXX)
NS=tou-bf-$$
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
inns() { ip netns exec "$NS" "$@"; }

PA=9811 PB=9812
for d in A B; do
	port=$PA
	if [ $d = B ]; then port=$PB; fi
	ip netns exec "$NS" "$TOUD" -c /dev/null -o "daemon.udp=127.0.0.1:$port" -o "daemon.socket=$T/$d.sock" \
		-o daemon.log_level=notice 2>"$T/$d.log" &
	PIDS+=($!)
	printf -v "PID_$d" %s $!
done
for i in $(seq 100); do
	[ -S "$T/A.sock" ] && [ -S "$T/B.sock" ] && break
	sleep 0.1
done
stats() { # the counters this bench reports, as key=value: B's, A's
	# retransmissions, the namespace's kernel UDP receive-queue drops
	inns cat /proc/net/snmp >"$T/snmp"
	$PY - "$T/B.sock" "$T/A.sock" "$T/snmp" <<'EOF'
import json, socket, sys
def stats(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b"STATS\n")
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    return json.loads(out.decode()[3:])
st, a = stats(sys.argv[1]), stats(sys.argv[2])
t, u = st["tcp"], st["udp"]
udp = [l.split() for l in open(sys.argv[3]) if l.startswith("Udp:")]
kernel = dict(zip(udp[0][1:], udp[1][1:]))
print(" ".join("%s=%s" % (k, v) for k, v in [
    ("rx_datagrams", u["rx_datagrams"]), ("rx_syn_shed", u.get("rx_syn_shed", "-")),
    ("RcvbufErrors", kernel.get("RcvbufErrors", "-")), ("DropSynRate", t.get("DropSynRate", "-")),
    ("SyncookiesSent", t["SyncookiesSent"]), ("PassiveOpens", t["PassiveOpens"]),
    ("A_RetransSegs", a["tcp"]["RetransSegs"])]))
EOF
}
LIMIT=300
bulk() { # bulk PORT: one transfer A -> B; one not done in LIMIT seconds counts as LIMIT
	inns timeout $LIMIT "$BB/bench_tou" bulk -a "$T/A.sock" -b "$T/B.sock" -u "127.0.0.1:$PB" -p "$1" \
		-n "$BYTES" -P "$PID_A,$PID_B" 2>"$T/bulk.err" ||
		echo "tou_bulk seconds=$LIMIT (NOT DONE: gave up after $LIMIT s; $(grep -v STATUS "$T/bulk.err" | tail -n 1))"
}

echo "tou under a SYN flood, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r)"
echo "transfer $BYTES, $ROUNDS rounds; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
plain=() flooded=()
port=7100
for r in $(seq "$ROUNDS"); do
	port=$((port + 1))
	P=$(bulk $port)
	echo "plain   $P"
	plain+=("$(kv "$P" seconds)")
	port=$((port + 1))
	s0=$(stats)
	# (ip netns exec execs the flooder: $! is its pid)
	ip netns exec "$NS" "$FLOOD" --to "127.0.0.1:$PB" --dport $port --count 1000000000 --avoid $PA \
		--avoid $PB >/dev/null 2>"$T/flood.err" &
	FP=$!
	PIDS+=($FP)
	sleep 0.5
	F=$(bulk $port)
	kill $FP 2>/dev/null || true
	wait $FP 2>/dev/null || true
	s1=$(stats)
	echo "flooded $F"
	flooded+=("$(kv "$F" seconds)")
	for k in rx_datagrams rx_syn_shed DropSynRate SyncookiesSent PassiveOpens A_RetransSegs RcvbufErrors; do
		a=$(kv "$s0" $k) b=$(kv "$s1" $k)
		if [ "$a" = - ] || [ "$b" = - ]; then printf "  %s -" "$k"; else printf "  %s +%d" "$k" $((b - a)); fi
	done
	echo
	sleep 1
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mp=$(median "${plain[@]}") mf=$(median "${flooded[@]}")
echo
printf "%-40s %10s\n" "100 MB A->B, median seconds" ""
printf "%-40s %10s\n" "unflooded" "$mp"
printf "%-40s %10s\n" "under the SYN flood" "$mf"
printf "%-40s %10s\n" "flooded / unflooded" "$(awk -v a="$mf" -v b="$mp" 'BEGIN { printf "%.2f", a / b }')"
