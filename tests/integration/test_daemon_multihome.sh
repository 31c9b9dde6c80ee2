#!/bin/bash
# test_daemon_multihome.sh - on a host with several addresses, toud answers
# from the address (and the socket) the peer talked to (IP_PKTINFO /
# IPV6_PKTINFO, daemon/udp_route.c).
#
# Two network namespaces joined by a veth pair:
#
#   C (client)  vc: 10.77.0.10/24 fd77::10/64  ---  vs: 10.77.0.1/24 10.77.0.2/24  S (server)
#                                                       fd77::1/64  fd77::2/64
#
# In S, toud "S1" binds 0.0.0.0:9811 [::]:9811 and toud "S3" binds the two
# IPv4 addresses one by one (10.77.0.1:9812 10.77.0.2:9812).  In C, toud "C"
# binds 0.0.0.0:9811 [::]:9811.  "B4"/"B6" is the address of S that the
# kernel would NOT choose as the source towards C (ip route get), so that
# the kernel's choice is always wrong for it.
#   1) IPv4, wildcard socket: a hand-made SYN (python UDP socket in C) to
#      B4:9811 gets its SYN,ACK from B4:9811 (recvfrom's source); C's toud
#      CONNECTs to B4:9811 and moves 1 MB each way byte-exact; S1's OK line
#      shows local B4:9811/<port>.
#   2) the same over IPv6 with B6.
#   3) S3 (two specific IPv4 sockets): a SYN to 10.77.0.2:9812 gets its
#      answer from 10.77.0.2:9812 (not from the first socket), and a toud
#      transfer through it works.
#   0) first, an active open from S1 to C (no learned entry: the kernel's
#      choice of source) works; at the end STATS has the "route" counters,
#      and S1 sent with UDP GSO and the source cmsg together.
#   4) spoofing (issue 14): while S1 sends 16 MB to C over B4, datagrams
#      forged with C's source (10.77.0.10:9811, a raw socket in C) go to
#      S1's OTHER address k4: empty ones, SYNs to the listener and to a
#      closed port.  The reply route is learned only from segments the
#      engine vouches for (tcp.h callbacks.peer), so none moves it: the
#      transfer completes byte-exact (before, S1's next segments left from
#      k4, C's toud answered them with RSTs and the connection was reset),
#      S1's route.changed does not grow and route.kept counts the SYNs.
#
# Needs root (ip netns).  Environment: TOUD (set by ctest), TOU_SOURCE_DIR.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${TOU_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
TOUD=${TOUD:-$src/build/daemon/toud}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
API="$PY $here/test_daemon_api.py"

NS_S=tou-mh-s-$$
NS_C=tou-mh-c-$$
A4=10.77.0.1 A4b=10.77.0.2 C4=10.77.0.10
A6=fd77::1 A6b=fd77::2 C6=fd77::10
work=$(mktemp -d /tmp/tou-multihome.XXXXXX)
pids=()
fails=0 passes=0

log() { echo "# $*"; }
ok() { echo "ok $1"; passes=$((passes + 1)); }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }

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
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	if [ "${KEEP_WORK:-0}" = 1 ]; then echo "# work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$TOUD" ]; then
	echo "FAIL setup: $TOUD is not built"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: needs root for network namespaces"
	exit 1
fi

setup() {
	ip netns add "$NS_S" && ip netns add "$NS_C" || return 1
	ip -n "$NS_S" link set lo up && ip -n "$NS_C" link set lo up || return 1
	ip link add vs$$ netns "$NS_S" type veth peer name vc$$ netns "$NS_C" || return 1
	ip -n "$NS_S" addr add $A4/24 dev vs$$ || return 1
	ip -n "$NS_S" addr add $A4b/24 dev vs$$ || return 1
	ip -n "$NS_C" addr add $C4/24 dev vc$$ || return 1
	ip -n "$NS_S" -6 addr add $A6/64 dev vs$$ nodad || return 1
	ip -n "$NS_S" -6 addr add $A6b/64 dev vs$$ nodad || return 1
	ip -n "$NS_C" -6 addr add $C6/64 dev vc$$ nodad || return 1
	ip -n "$NS_S" link set vs$$ up && ip -n "$NS_C" link set vc$$ up || return 1
}
if ! setup; then
	echo "FAIL setup: network namespaces / veth"
	exit 1
fi

# The source S's kernel picks towards C; B4/B6 are the other addresses.
k4=$(ip -n "$NS_S" -4 route get $C4 | sed -n 's/.* src \([^ ]*\).*/\1/p')
k6=$(ip -n "$NS_S" -6 route get $C6 | sed -n 's/.* src \([^ ]*\).*/\1/p')
if [ "$k4" = $A4b ]; then B4=$A4; else B4=$A4b; fi
if [ "$k6" = $A6b ]; then B6=$A6; else B6=$A6b; fi
log "S's kernel answers C from $k4 and $k6; the peer talks to $B4 and $B6"

# start NAME NS UDP: a toud in namespace NS bound to UDP
start() {
	local name=$1 ns=$2 udp=$3
	ip netns exec "$ns" "$TOUD" -c /dev/null -o daemon.udp="$udp" -o daemon.socket="$work/$name.sock" \
		-o daemon.log_level=debug 2>"$work/$name.log" &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$work/$name.sock" ] && return 0; sleep 0.05; done
	echo "FAIL setup: toud $name did not start; its log:"
	sed 's/^/#   /' "$work/$name.log" | tail -20
	exit 1
}
start S1 "$NS_S" "0.0.0.0:9811 [::]:9811"
start S3 "$NS_S" "$A4:9812 $A4b:9812"
start C "$NS_C" "0.0.0.0:9811 [::]:9811"

# hold LISTEN 7000 on S1 and S3, 7100 on C (while the holders live)
for n in S1 S3; do
	$API hold "$work/$n.sock" "LISTEN 7000" >"$work/$n.listen" 2>&1 &
	pids+=($!)
done
$API hold "$work/C.sock" "LISTEN 7100" >"$work/C.listen" 2>&1 &
pids+=($!)
for n in S1 S3 C; do
	for _ in $(seq 100); do grep -q '^OK' "$work/$n.listen" && break; sleep 0.05; done
done

# probe LABEL DST UDPPORT TCPPORT: a hand-made SYN from a UDP socket in C;
# the answer must come from DST:UDPPORT and be a SYN,ACK (then RST it)
probe() {
	local label=$1 out
	out=$(ip netns exec "$NS_C" $PY -c '
import ipaddress, random, socket, struct, sys
dst, uport, tport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(5)
sport, seq = random.randint(40000, 60000), random.getrandbits(32)
hdr = lambda sq, ak, fl: struct.pack("!HHIIBBHHH", sport, tport, sq, ak, 5 << 4, fl, 65535, 0, 0)
s.sendto(hdr(seq, 0, 0x02), (dst, uport))
try:
    data, frm = s.recvfrom(2048)
except socket.timeout:
    print("no answer within 5 s"); sys.exit(1)
flags = data[13] if len(data) >= 20 else -1
if flags & 0x12 == 0x12:
    s.sendto(hdr((seq + 1) % (1 << 32), 0, 0x04), (dst, uport))
same = ipaddress.ip_address(frm[0]) == ipaddress.ip_address(dst) and frm[1] == uport
print("answer (flags 0x%02x) from %s port %d" % (flags, frm[0], frm[1]))
sys.exit(0 if same and flags & 0x12 == 0x12 else 1)
' "$2" "$3" "$4" 2>&1)
	if [ $? -eq 0 ]; then
		ok "$label ($out)"
	else
		fail "$label" "SYN to $2 port $3: $out"
	fi
}

# transfer LABEL SERVER CLIENT DST TCPPORT EXPECT_LOCAL: the client toud
# CONNECTs to DST, 1 MB each way, byte-exact; the server's OK line shows
# EXPECT_LOCAL/TCPPORT as its local end.
transfer() {
	local label=$1 srv=$2 cli=$3 dst=$4 port=$5 expect=$6
	rm -f "$work"/x.*.out "$work"/x.*.err
	$API stream "$work/$srv.sock" "ACCEPT $port timeout=20" "$work/b.in" "$work/x.b.out" --order last \
		2>"$work/x.acc.err" &
	local acc=$!
	sleep 0.2
	$API stream "$work/$cli.sock" "CONNECT $dst $port timeout=10" "$work/a.in" "$work/x.a.out" \
		2>"$work/x.con.err"
	local rc=$?
	[ $rc -eq 0 ] || kill "$acc" 2>/dev/null
	wait "$acc"
	local arc=$?
	local okline
	okline=$(head -1 "$work/x.acc.err" 2>/dev/null)
	if [ $rc -ne 0 ] || [ $arc -ne 0 ]; then
		fail "$label" "CONNECT $dst: $(head -c 300 "$work/x.con.err" | tr '\n' ' ') / ACCEPT: $(head -c 300 "$work/x.acc.err" | tr '\n' ' ')"
	elif ! cmp -s "$work/a.in" "$work/x.b.out" || ! cmp -s "$work/b.in" "$work/x.a.out"; then
		fail "$label" "data differs ($(stat -c %s "$work/x.b.out") and $(stat -c %s "$work/x.a.out") bytes of 1 MB)"
	elif [ -n "$expect" ] && [ "$(echo "$okline" | cut -d' ' -f3)" != "$expect/$port" ]; then
		fail "$label" "accepting side's OK line \"$okline\": local is not $expect/$port"
	else
		ok "$label (1 MB each way; $okline)"
	fi
}

head -c 1M /dev/urandom >"$work/a.in"
head -c 1M /dev/urandom >"$work/b.in"

log "0) active open from S1 to C (no learned entry yet: the kernel's source, $k4)"
transfer "ipv4_active_open_from_wildcard" C S1 "$C4:9811" 7100 "$C4:9811"
if grep -q "OK [0-9]* $C4:9811/7100 $k4:9811/" "$work/x.acc.err"; then
	ok "ipv4_active_open_source_is_kernels ($(head -1 "$work/x.acc.err"))"
else
	fail "ipv4_active_open_source_is_kernels" "C's OK line: $(head -1 "$work/x.acc.err")"
fi

log "1) IPv4, toud bound to 0.0.0.0:9811, peer talks to $B4"
probe "ipv4_wildcard_syn_ack_from_$B4" $B4 9811 7000
probe "ipv4_wildcard_syn_ack_from_$k4" $k4 9811 7000
transfer "ipv4_wildcard_transfer_to_$B4" S1 C "$B4:9811" 7000 "$B4:9811"

log "2) IPv6, toud bound to [::]:9811, peer talks to $B6"
probe "ipv6_wildcard_syn_ack_from_$B6" $B6 9811 7000
transfer "ipv6_wildcard_transfer_to_$B6" S1 C "[$B6]:9811" 7000 "[$B6]:9811"

log "3) toud bound to $A4:9812 and $A4b:9812, peer talks to the second"
probe "ipv4_two_sockets_syn_ack_from_$A4b" $A4b 9812 7000
probe "ipv4_two_sockets_syn_ack_from_$A4" $A4 9812 7000
transfer "ipv4_two_sockets_transfer_to_$A4b" S3 C "$A4b:9812" 7000 "$A4b:9812"

log "4) spoofed datagrams from C's address to $k4 during a transfer over $B4"
head -c 16M /dev/urandom >"$work/big.in"
: >"$work/empty.in"
rm -f "$work"/sp.* "$work"/x.*
route0=$($API req "$work/S1.sock" STATS | grep -o '"route":{[^}]*}')
$API stream "$work/S1.sock" "ACCEPT 7000 timeout=20" "$work/big.in" "$work/x.s.out" --idfile "$work/sp.sid" \
	--order last 2>"$work/x.acc.err" &
acc=$!
sleep 0.2
# C reads nothing before the spoofing runs (S1's 16 MB cannot be gone
# before) and ends its side only once the spoofer stopped: the connection
# (S1's pin on the route) lives as long as the spoofing
$API stream "$work/C.sock" "CONNECT $B4:9811 7000 timeout=10" "$work/empty.in" "$work/x.c.out" \
	--idfile "$work/sp.cid" --read-after "$work/sp.started" --send-after "$work/sp.stopped" 2>"$work/x.con.err" &
con=$!
ip netns exec "$NS_C" $PY - "$C4" "$k4" "$work" <<'SPOOF' >"$work/sp.out" 2>&1 &
import os, random, socket, struct, sys, time
src, dst, work = sys.argv[1:4]
for _ in range(500):  # both ends have the connection (their OK lines)
    if os.path.exists(work + "/sp.cid") and os.path.exists(work + "/sp.sid"):
        break
    time.sleep(0.02)
else:
    sys.exit("the connection never came up")
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def udp(payload):  # IPv4 + UDP, source = C's toud (10.77.0.10:9811), UDP checksum 0
    u = struct.pack("!HHHH", 9811, 9811, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 0, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    raw.sendto(ip + u, (dst, 0))
def syn(dport):
    return struct.pack("!HHIIBBHHH", random.randint(1024, 65535), dport, random.getrandbits(32), 0,
                       5 << 4, 0x02, 65535, 0, 0)
sent = 0
start = time.time()
out = work + "/x.c.out"
while time.time() - start < 60:
    if os.path.exists(out) and os.path.getsize(out) >= 16 << 20:
        break  # C has it all
    for p in (b"", syn(7000), syn(7999)):
        udp(p)
        sent += 1
    if sent == 30:
        open(work + "/sp.started", "w").close()  # C starts reading now
    time.sleep(0.003)
print(sent)
open(work + "/sp.stopped", "w").close()
SPOOF
spoofer=$!
pids+=($spoofer)
wait $spoofer
spoofed=$(cat "$work/sp.out")
route1=$($API req "$work/S1.sock" STATS | grep -o '"route":{[^}]*}')
touch "$work/sp.stopped" # (if the spoofer failed)
wait $con
crc=$?
wait $acc
arc=$?
num() { echo "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
if [ $crc -ne 0 ] || [ $arc -ne 0 ]; then
	fail "spoof_transfer_survives" "CONNECT: $(head -c 300 "$work/x.con.err" | tr '\n' ' ') / ACCEPT: $(head -c 300 "$work/x.acc.err" | tr '\n' ' ') (spoofer: $spoofed)"
elif ! cmp -s "$work/big.in" "$work/x.c.out"; then
	fail "spoof_transfer_survives" "C got $(stat -c %s "$work/x.c.out") of 16 MB, not byte-exact (spoofer: $spoofed)"
else
	ok "spoof_transfer_survives (16 MB byte-exact while $spoofed forged datagrams went to $k4)"
fi
if ! [ "${spoofed:-0}" -ge 30 ] 2>/dev/null; then
	fail "spoof_sent" "the spoofer: $spoofed"
elif [ "$(num "$route1" changed)" != "$(num "$route0" changed)" ]; then
	fail "spoof_route_unmoved" "route.changed moved: before $route0, after $route1"
elif ! [ "$(num "$route1" kept)" -gt "$(num "$route0" kept)" ]; then
	fail "spoof_route_unmoved" "route.kept did not count the spoofed SYNs: before $route0, after $route1"
else
	ok "spoof_route_unmoved (changed $(num "$route1" changed), kept $(num "$route0" kept) -> $(num "$route1" kept))"
fi

stats=$($API req "$work/S1.sock" STATS)
if $PY -c 'import json,sys; r=json.loads(sys.argv[1][3:])["route"]; assert r["pktinfo"] is True and r["learned"] >= 3 and r["changed"] >= 1, r' "$stats" 2>"$work/stats.err"; then
	ok "stats_route ($(echo "$stats" | grep -o '"route":{[^}]*}'))"
else
	fail "stats_route" "$(tail -1 "$work/stats.err")"
fi

# S1 sent 1 MB from a wildcard socket with the source cmsg: with UDP GSO
# (UDP_SEGMENT and IP(V6)_PKTINFO in one control buffer), unless the kernel has none
if grep -q 'GSO unavailable' "$work/S1.log"; then
	fail "gso_with_pktinfo" "$(grep -m1 'GSO unavailable' "$work/S1.log")"
elif $PY -c 'import json,sys; assert json.loads(sys.argv[1][3:])["udp"]["tx_gso"] > 0' "$stats" 2>/dev/null; then
	ok "gso_with_pktinfo ($(echo "$stats" | grep -o '"tx_gso":[0-9]*'))"
else
	fail "gso_with_pktinfo" "S1 sent no GSO message: $(echo "$stats" | grep -o '"udp":{[^}]*}')"
fi

for i in 0 1 2; do
	if ! kill -0 "${pids[$i]}" 2>/dev/null; then
		fail "toud_alive" "toud ${pids[$i]} exited during the test"
	fi
done
# SIGTERM: a sanitizer build reports leaks now
for i in 0 1 2; do kill -TERM "${pids[$i]}" 2>/dev/null; done
for i in 0 1 2; do
	for _ in $(seq 200); do kill -0 "${pids[$i]}" 2>/dev/null || break; sleep 0.1; done
done
if grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/*.log; then
	fail "sanitizer" "a toud log has sanitizer reports"
	grep -h -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/*.log | head -40 | sed 's/^/#   /'
fi
if [ $fails -ne 0 ]; then
	for n in S1 S3 C; do
		log "$n log (last 15 lines):"
		tail -15 "$work/$n.log" | sed 's/^/#   /'
	done
fi
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
