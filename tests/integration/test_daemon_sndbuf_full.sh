#!/bin/bash
# test_daemon_sndbuf_full.sh - toud's UDP socket buffer runs full (sendmmsg
# EAGAIN): the unsent segments stay in toud's queue, in order, until the
# socket takes them (udp.c); what does not fit is counted in
# udp.tx_dropped and recovered by TCP.  Byte-exact either way.
#
# Two network namespaces (tou-sb-a-$$, tou-sb-b-$$) joined by a veth pair;
# A's egress goes through a tbf qdisc slower than toud with a queue longer
# than A's socket buffer, and both daemons have 64 MiB TCP buffers, so
# that A's datagrams pile up in its socket buffer.  Checks:
#   a) 48 MiB A -> B arrive intact (sha256), both CLI ends exit 0
#   b) every segment the engine emitted was sent or counted:
#      udp.tx_datagrams + udp.tx_dropped == tcp.OutSegs
#   c) the daemons stop cleanly on SIGTERM
# Needs root (netns, tc).  Environment: TOUD, TOU (set by ctest).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${TOU_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
TOUD=${TOUD:-$src/build/daemon/toud}
TOU=${TOU:-$src/build/client/tou}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
NA=tou-sb-a-$$ NB=tou-sb-b-$$
work=$(mktemp -d /tmp/tou-sndbuf.XXXXXX)
pa= pb= lp=
fails=0 passes=0

log() { echo "# $*"; }
ok() { echo "ok $1"; passes=$((passes + 1)); }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }

cleanup() {
	[ -n "$lp" ] && kill "$lp" 2>/dev/null
	[ -n "$pa" ] && kill "$pa" 2>/dev/null
	[ -n "$pb" ] && kill "$pb" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: needs root for network namespaces and tc"
	exit 1
fi
ip netns add "$NA" && ip netns add "$NB" || { echo "FAIL setup: ip netns add"; exit 1; }
ip link add sba0 netns "$NA" type veth peer name sbb0 netns "$NB" || { echo "FAIL setup: veth"; exit 1; }
ip -n "$NA" addr add 10.212.0.1/24 dev sba0
ip -n "$NB" addr add 10.212.0.2/24 dev sbb0
for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
ip -n "$NA" link set sba0 up
ip -n "$NB" link set sbb0 up
# slower than toud, and a queue (256 MB) that holds more than the socket
# buffer (8 MiB asked, doubled by the kernel): the socket fills, not the qdisc
ip netns exec "$NA" tc qdisc add dev sba0 root tbf rate 400mbit burst 256kb limit 256mb ||
	{ echo "FAIL setup: tc tbf"; exit 1; }

start() { # name ip
	ip netns exec "$3" "$TOUD" -c /dev/null -o "daemon.udp=$2:9811" -o "daemon.socket=$work/$1.sock" \
		-o tcp.send_buffer=64M -o tcp.recv_buffer=64M -o daemon.log_level=notice 2>"$work/$1.log" &
}
start A 10.212.0.1 "$NA"
pa=$!
start B 10.212.0.2 "$NB"
pb=$!
for i in $(seq 100); do
	[ -S "$work/A.sock" ] && [ -S "$work/B.sock" ] && break
	sleep 0.1
done
[ -S "$work/A.sock" ] && [ -S "$work/B.sock" ] || { echo "FAIL setup: daemons did not start"; exit 1; }

head -c $((48 << 20)) /dev/urandom >"$work/in.bin"
"$TOU" -s "$work/B.sock" listen 5000 >"$work/out.bin" 2>"$work/listen.err" &
lp=$!
for i in $(seq 100); do
	"$TOU" -s "$work/B.sock" status --json 2>/dev/null | grep -q '"listeners":1' && break
	sleep 0.05
done
"$TOU" -s "$work/A.sock" connect 10.212.0.2 5000 <"$work/in.bin" 2>"$work/connect.err"
crc=$?
wait "$lp"
lrc=$?
lp=
if [ $crc -ne 0 ] || [ $lrc -ne 0 ]; then
	fail "transfer" "tou connect exit $crc, tou listen exit $lrc: $(cat "$work/connect.err" "$work/listen.err")"
elif [ "$(sha256sum <"$work/in.bin")" != "$(sha256sum <"$work/out.bin")" ]; then
	fail "transfer" "received $(stat -c %s "$work/out.bin") bytes that differ from the 48 MiB sent"
else
	ok "transfer"
fi

"$TOU" -s "$work/A.sock" stats --json >"$work/stats.json" 2>&1
if $PY - "$work/stats.json" <<'EOF'; then ok "accounting"; else fail "accounting" "$(cat "$work/stats.json")"; fi
import json, sys
d = json.load(open(sys.argv[1]))
u, t = d["udp"], d["tcp"]
print("# udp %s" % {k: u[k] for k in ("tx_datagrams", "tx_dropped", "tx_batches", "tx_gso")})
print("# tcp %s" % {k: t[k] for k in ("OutSegs", "RetransSegs", "Timeouts", "FastRetransmits")})
sys.exit(0 if u["tx_datagrams"] + u["tx_dropped"] + u["tx_errors"] == t["OutSegs"] else 1)
EOF

for n in A B; do
	p=$pa
	[ $n = B ] && p=$pb
	kill -TERM "$p"
	wait "$p"
	st=$?
	if [ $st -ne 0 ]; then fail "sigterm_$n" "toud $n exited $st"; else ok "sigterm_$n"; fi
	if grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/$n.log"; then
		fail "sanitizer_$n" "$(grep -E -A12 'Sanitizer|runtime error:' "$work/$n.log" | head -30)"
	fi
done
pa= pb=
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
