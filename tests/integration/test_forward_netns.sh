#!/usr/bin/env bash
# test_forward_netns.sh - the HTTP fetch of test_forward_http.sh between two
# network namespaces joined by a veth pair, not on loopback:
#
#   A: curl -> [forward web] 127.0.0.1:8080 -> toud A 10.79.0.1:9811
#        == UDP over veth ==
#   B: toud B 10.79.0.2:9811 -> [service web] -> python3 -m http.server 127.0.0.1:8080
#
# The server listens on B's own loopback, so nothing but tou reaches it
# from A.  A 100 MB file arrives byte-exact (sha256), then 20 concurrent
# requests each get their own body; the veth counters show that the bytes
# crossed it.  Needs root (ip netns): without it the test is skipped (exit
# 77, ctest's SKIP_RETURN_CODE) with the reason.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

NS_A=tou-fwa-$$ NS_B=tou-fwb-$$
IP_A=10.79.0.1 IP_B=10.79.0.2
skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "network namespaces need root (uid $(id -u))"
# cleanup (test_daemon_common.bash) kills the daemons; a namespace
# whose name is deleted goes away with its last process
trap 'rc=$?; ip netns del "$NS_A" 2>/dev/null; ip netns del "$NS_B" 2>/dev/null; (exit $rc); cleanup' EXIT
ip netns add "$NS_A" 2>"$WORK/netns.err" && ip netns add "$NS_B" 2>>"$WORK/netns.err" ||
	skip "cannot create a network namespace: $(head -n 1 "$WORK/netns.err")"
ip -n "$NS_A" link set lo up
ip -n "$NS_B" link set lo up
ip link add fwa$$ netns "$NS_A" type veth peer name fwb$$ netns "$NS_B"
ip -n "$NS_A" addr add $IP_A/24 dev fwa$$
ip -n "$NS_B" addr add $IP_B/24 dev fwb$$
ip -n "$NS_A" link set fwa$$ up
ip -n "$NS_B" link set fwb$$ up

mkdir -p "$WORK/www"
head -c 100M /dev/urandom >"$WORK/www/big.bin"
for i in $(seq 0 19); do head -c $((1000 + i * 7919)) /dev/urandom >"$WORK/www/f$i.bin"; done
ip netns exec "$NS_B" $PY -m http.server --bind 127.0.0.1 --directory "$WORK/www" 8080 >"$WORK/http.log" 2>&1 &
BG_PIDS+=($!)
wait_for "http.server in B" 10 ip netns exec "$NS_B" curl -sf -o /dev/null http://127.0.0.1:8080/f0.bin

printf '[service web]\nport = 80\nto = 127.0.0.1:8080\n' >"$WORK/B.conf"
printf '[forward web]\nlisten = 127.0.0.1:8080\nto = %s:9811 80\n' $IP_B >"$WORK/A.conf"
# start_ns NAME NS UDP: toud in namespace NS (ip netns exec execs it: $! is toud)
start_ns() {
	ip netns exec "$2" "$TOUD" -c "$WORK/$1.conf" -o "daemon.udp=$3" -o "daemon.socket=$WORK/$1.sock" \
		2>"$WORK/$1.log" &
	DAEMON_PIDS+=($!)
	wait_for "toud $1's API socket" 10 $API req "$WORK/$1.sock" VERSION
}
start_ns B "$NS_B" $IP_B:9811
start_ns A "$NS_A" $IP_A:9811
# A's loopback has no route to B's server but through the forward
ip netns exec "$NS_A" curl -s -o /dev/null --max-time 5 "http://$IP_B:8080/f0.bin" &&
	fail "B's http.server is reachable from A without tou"

rx0=$(ip netns exec "$NS_A" cat /sys/class/net/fwa$$/statistics/rx_bytes)
ip netns exec "$NS_A" curl -sS --fail --max-time 120 -o "$WORK/big.out" http://127.0.0.1:8080/big.bin ||
	fail "curl of big.bin failed"
[ "$(sha256sum <"$WORK/big.out")" = "$(sha256sum <"$WORK/www/big.bin")" ] || fail "big.bin differs after the tunnel"
rx=$(($(ip netns exec "$NS_A" cat /sys/class/net/fwa$$/statistics/rx_bytes) - rx0))
[ "$rx" -ge $((100 * 1024 * 1024)) ] || fail "only $rx bytes came in over the veth for a 100 MiB file"
echo "ok: 100 MB from B's http.server to A's curl over a veth ($rx bytes in on A's side), sha256 equal"

args=()
for i in $(seq 0 19); do args+=(-o "$WORK/c$i.out" "http://127.0.0.1:8080/f$i.bin"); done
ip netns exec "$NS_A" curl -sS --fail --max-time 120 --parallel --parallel-immediate --parallel-max 20 "${args[@]}" ||
	fail "concurrent requests: curl failed"
for i in $(seq 0 19); do
	cmp -s "$WORK/c$i.out" "$WORK/www/f$i.bin" || fail "concurrent request $i: wrong body"
done
echo "ok: 20 concurrent requests between the namespaces, every body correct"
