#!/bin/bash
# test_daemon_pmtu.sh - path MTU discovery: toud sets the don't-fragment
# bit, a router on a narrower link answers "fragmentation needed" (ICMPv6
# "packet too big"), and the connection's MSS follows (daemon/udp_err.c,
# daemon/tcp/tcp_icmp.c).
#
# Three network namespaces in a line, the router R with a small MTU
# towards S (1280, the IPv6 minimum, for both families) and 1500 everywhere else:
#
#   C  vc 10.78.1.2 fd78:1::2  ---  R  ra 10.78.1.1 fd78:1::1
#                                      rb 10.78.2.1 fd78:2::1 (mtu 1280)      ---  S  vs 10.78.2.2 fd78:2::2
#
# toud C (in C) CONNECTs to toud S (in S) and sends 1 MB, over IPv4 and
# over IPv6.  Full-size datagrams (1500 octets) cannot cross R: it drops
# them and answers with ICMP.  The transfer must arrive byte-exact, and
# C's end record must show "pmtu" (the router's MTU) and the MSS that fits
# it; STATS counts the lowering.
#
# Needs root (ip netns).  Environment: TOUD (set by ctest), TOU_SOURCE_DIR.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${TOU_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
TOUD=${TOUD:-$src/build/daemon/toud}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
API="$PY $here/test_daemon_api.py"

NS_C=tou-pm-c-$$ NS_R=tou-pm-r-$$ NS_S=tou-pm-s-$$
work=$(mktemp -d /tmp/tou-pmtu.XXXXXX)
pids=()
fails=0

cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 100); do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.05
	done
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_R" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	if [ "${KEEP_WORK:-0}" = 1 ]; then echo "# work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL $1: $2"
	fails=$((fails + 1))
}

if [ ! -x "$TOUD" ]; then
	echo "FAIL setup: $TOUD is not built"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: needs root for network namespaces"
	exit 1
fi

setup() {
	local ns
	for ns in "$NS_C" "$NS_R" "$NS_S"; do
		ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
	done
	ip link add vc$$ netns "$NS_C" type veth peer name ra$$ netns "$NS_R" || return 1
	ip link add rb$$ netns "$NS_R" type veth peer name vs$$ netns "$NS_S" || return 1
	ip -n "$NS_R" link set rb$$ mtu 1280 || return 1
	ip -n "$NS_C" addr add 10.78.1.2/24 dev vc$$ || return 1
	ip -n "$NS_R" addr add 10.78.1.1/24 dev ra$$ || return 1
	ip -n "$NS_R" addr add 10.78.2.1/24 dev rb$$ || return 1
	ip -n "$NS_S" addr add 10.78.2.2/24 dev vs$$ || return 1
	ip -n "$NS_C" -6 addr add fd78:1::2/64 dev vc$$ nodad || return 1
	ip -n "$NS_R" -6 addr add fd78:1::1/64 dev ra$$ nodad || return 1
	ip -n "$NS_R" -6 addr add fd78:2::1/64 dev rb$$ nodad || return 1
	ip -n "$NS_S" -6 addr add fd78:2::2/64 dev vs$$ nodad || return 1
	ip -n "$NS_C" link set vc$$ up && ip -n "$NS_R" link set ra$$ up || return 1
	ip -n "$NS_R" link set rb$$ up && ip -n "$NS_S" link set vs$$ up || return 1
	ip -n "$NS_C" route add default via 10.78.1.1 || return 1
	ip -n "$NS_S" route add default via 10.78.2.1 || return 1
	ip -n "$NS_C" -6 route add default via fd78:1::1 || return 1
	ip -n "$NS_S" -6 route add default via fd78:2::1 || return 1
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
}
if ! setup; then
	echo "FAIL setup: network namespaces / veth / routes"
	exit 1
fi

start() {
	local name=$1 ns=$2
	ip netns exec "$ns" "$TOUD" -c /dev/null -o "daemon.udp=0.0.0.0:9811 [::]:9811" \
		-o daemon.socket="$work/$name.sock" -o daemon.log_level=debug 2>"$work/$name.log" &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$work/$name.sock" ] && return 0; sleep 0.05; done
	echo "FAIL setup: toud $name did not start"
	tail -20 "$work/$name.log"
	exit 1
}
start C "$NS_C"
start S "$NS_S"
$API hold "$work/S.sock" "LISTEN 7000" >"$work/S.listen" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^OK' "$work/S.listen" && break; sleep 0.05; done
head -c 1000000 /dev/urandom >"$work/data"
: >"$work/empty"

# transfer LABEL DST MTU: 1 MB from C to S at DST; C's end record must
# show pmtu MTU and an MSS that fits it
transfer() {
	local label=$1 dst=$2 mtu=$3
	rm -f "$work/$label.out" "$work/$label.id"
	$API stream "$work/S.sock" "ACCEPT 7000" "$work/empty" "$work/$label.out" --order last 2>/dev/null &
	local rp=$!
	pids+=($rp)
	if ! timeout 120 $API stream "$work/C.sock" "CONNECT $dst 7000" "$work/data" /dev/null \
		--idfile "$work/$label.id" 2>"$work/$label.err"; then
		fail "$label" "CONNECT stream failed: $(cat "$work/$label.err")"
		return
	fi
	wait "$rp" || fail "$label" "receiver failed"
	cmp -s "$work/data" "$work/$label.out" || { fail "$label" "data differ"; return; }
	local id end st
	id=$(cat "$work/$label.id")
	end=$($API wait-end "$work/C.sock" "$id" 60) || { fail "$label" "no end record"; return; }
	st=$($API req "$work/C.sock" "STATUS $id")
	$PY - "$st" "$mtu" "$label" <<'EOF' || fail "$label" "end record: $st"
import json, sys
d = json.loads(sys.argv[1][3:])
mtu = int(sys.argv[2])
hdr = (40 if sys.argv[3] == "ipv6" else 20) + 8 + 20 + (12 if d["timestamps"] else 0)
assert d.get("pmtu") == mtu, ("pmtu", d.get("pmtu"), mtu)
assert d["mss"] == mtu - hdr, ("mss", d["mss"], mtu - hdr)
assert d["end"] == "fin", d["end"]
EOF
	echo "ok $label: 1 MB byte-exact through a $mtu-octet link, pmtu $mtu in STATUS"
}
transfer ipv4 10.78.2.2:9811 1280
transfer ipv6 "[fd78:2::2]:9811" 1280

stats=$($API req "$work/C.sock" STATS)
$PY - "$stats" <<'EOF' || fail stats "$stats"
import json, sys
d = json.loads(sys.argv[1][3:])
assert d["tcp"]["IcmpMssLowered"] >= 2, d["tcp"]
assert d["udp"]["rx_icmp"] >= 2, d["udp"]
EOF
if [ "$fails" != 0 ]; then
	echo "--- C log (last 20 lines)"
	tail -20 "$work/C.log"
	exit 1
fi
echo "ok stats: IcmpMssLowered and rx_icmp counted"
