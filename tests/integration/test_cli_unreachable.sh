#!/bin/bash
# test_cli_unreachable.sh - destinations that can never be one TCP peer
# (RFC 1122 4.2.3.10: an OPEN to a broadcast or multicast address is an
# error) are refused at once with "unreachable", never tried until a
# timeout: the limited broadcast, multicast (IPv4 and IPv6), the
# unspecified addresses, 0.0.0.0/8, an IPv4-mapped broadcast, and the
# directed broadcast of a subnet of the host (in a network namespace whose
# veth has 10.77.0.1/24).  By `tou connect` (exit 7, the reason named), by
# the daemon's CONNECT for API users (ERR unreachable), and for a name
# that resolves to such an address (/etc/netns/NS/hosts).  Needs root.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces)"
API_REQ="python3 $TOU_SOURCE_DIR/tests/integration/test_daemon_api.py req"

PA=$(free_udp_port)
start_toud a "$PA"
A=$T/a.sock

step "tou connect: exit 7 at once, the reason named"
while read -r dst why; do
	# -t 30: a destination that is tried would end in a timeout (6)
	expect_rc 7 "$TOU" -s "$A" connect -t 30 "$dst:$PA" 80
	expect_err_line "host unreachable (.* is $why, not one host)"
done <<'LIST'
255.255.255.255 the limited broadcast address
224.0.0.1 a multicast address
239.255.0.9 a multicast address
0.0.0.0 the unspecified address
0.1.2.3 a 'this network' address (0.0.0.0/8)
[::] the unspecified address
[ff02::1] a multicast address
[ff0e::5] a multicast address
[::ffff:255.255.255.255] the limited broadcast address
LIST

step "the daemon's CONNECT refuses them too (API users, without libtou)"
for dst in 255.255.255.255 224.0.0.1 0.0.0.0 '[::]' '[ff02::1]'; do
	ans=$($API_REQ "$A" "CONNECT $dst:$PA 80 timeout=30")
	case $ans in
	"ERR unreachable "*"not one host"*) ;;
	*) fail "CONNECT $dst: $ans" ;;
	esac
done
# a unicast address is still tried (no listener there: refused)
expect_rc 4 "$TOU" -s "$A" connect "127.0.0.1:$PA" 80

step "the directed broadcast of a local subnet, and names, in a namespace"
NS=tou-cli-$$
ip netns add "$NS"
AT_EXIT+=("ip netns del $NS 2>/dev/null" "rm -rf /etc/netns/$NS")
ip -n "$NS" link set lo up
ip link add tcv$$ netns "$NS" type veth peer name tcw$$ netns "$NS"
ip -n "$NS" addr add 10.77.0.1/24 brd + dev tcv$$
ip -n "$NS" link set tcv$$ up
ip -n "$NS" link set tcw$$ up
mkdir -p "/etc/netns/$NS"
printf '10.77.0.255 bcast.test\n224.0.0.9 mcast.test\n10.77.0.2 uni.test\n' >"/etc/netns/$NS/hosts"
ip netns exec "$NS" "$TOUD" -c /dev/null -o "daemon.udp=10.77.0.1:9811" -o "daemon.socket=$T/n.sock" \
	>"$T/n.log" 2>&1 &
bg $!
wait_until 100 0.1 socket_ready "$T/n.sock" || fail "toud in $NS did not start"
expect_rc 7 ip netns exec "$NS" "$TOU" -s "$T/n.sock" connect -t 30 10.77.0.255 80
expect_err_line "10.77.0.255 is the broadcast address of tcv$$, not one host"
ans=$($API_REQ "$T/n.sock" "CONNECT 10.77.0.255 80 timeout=30")
case $ans in
"ERR unreachable 10.77.0.255 is the broadcast address of tcv$$"*) ;;
*) fail "daemon, CONNECT 10.77.0.255: $ans" ;;
esac
for name in bcast.test mcast.test; do
	expect_rc 7 "$TOU" -s "$T/n.sock" connect -t 30 "$name" 80
	expect_err_line "$name is .*, not one host"
done
# a host of that subnet is tried: nobody answers, so the timeout ends it
expect_rc 6 "$TOU" -s "$T/n.sock" connect -t 1 uni.test 80
echo "PASS"
