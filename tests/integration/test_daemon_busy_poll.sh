#!/usr/bin/env bash
# test_daemon_busy_poll.sh - [daemon] busy_poll (toud.conf(5)) takes
# effect: two daemons with busy_poll = 10ms move 2 MiB each way between
# them byte-exact while their loops poll (STATS busy_poll: the setting,
# windows opened, loop iterations without sleeping, datagrams found by
# polling); once no datagram moves, the polling stops (the counters stand
# still while udp's do); a daemon without the key never polls (all 0).
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

# busy SOCK: "us windows polls hits moved" from STATS (moved: udp
# rx_datagrams + tx_datagrams)
busy() {
	local a
	a=$(api "$1" STATS)
	expect_prefix "STATS" "OK " "$a"
	printf '%s\n' "${a#OK }" | $PY -c 'import json,sys
d = json.load(sys.stdin); b = d["busy_poll"]; u = d["udp"]
print(b["us"], b["windows"], b["polls"], b["hits"], u["rx_datagrams"] + u["tx_datagrams"])'
}

start_daemon A -o daemon.busy_poll=10ms
start_daemon B -o daemon.busy_poll=10ms
start_daemon C # the default: off

read -r us windows polls hits moved <<<"$(busy "$A_SOCK")"
[ "$us" = 10000 ] || fail "STATS busy_poll.us is $us, expected 10000"
[ "$windows $polls $hits" = "0 0 0" ] || fail "A polled before any datagram: $windows $polls $hits"
echo "ok: busy_poll = 10ms in STATS, nothing polled while idle"

# exchange NAME SRC_SOCK PORT: a LISTEN on B's PORT, then one stream from
# SRC to it sends $WORK/NAME.in while B's sends $WORK/b.in; byte-exact
# both ways
exchange() {
	local name=$1 src=$2 port=$3 acc
	$API hold "$B_SOCK" "LISTEN $port" >"$WORK/$name.listen" &
	BG_PIDS+=($!)
	wait_for "LISTEN $port answer" 10 grep -q "^OK $port\$" "$WORK/$name.listen"
	$API stream "$B_SOCK" "ACCEPT $port timeout=60" "$WORK/b.in" "$WORK/$name.back" 2>"$WORK/$name.acc.err" &
	acc=$!
	$API stream "$src" "CONNECT 127.0.0.1:$B_PORT $port nodelay timeout=10" "$WORK/$name.in" "$WORK/$name.out" \
		2>"$WORK/$name.con.err" || fail "$name: client stream failed: $(cat "$WORK/$name.con.err")"
	wait "$acc" || fail "$name: server stream failed: $(cat "$WORK/$name.acc.err")"
	cmp -s "$WORK/$name.in" "$WORK/$name.back" || fail "$name: data to B differs"
	cmp -s "$WORK/b.in" "$WORK/$name.out" || fail "$name: data from B differs"
}

head -c 2M /dev/urandom >"$WORK/a.in"
head -c 2M /dev/urandom >"$WORK/b.in"
exchange a "$A_SOCK" 7000
echo "ok: 2 MiB each way with busy polling, byte-exact"

for d in A B; do
	sock=${d}_SOCK
	read -r us windows polls hits moved <<<"$(busy "${!sock}")"
	[ "$windows" -ge 1 ] || fail "$d opened no busy-poll window"
	[ "$polls" -ge 1 ] || fail "$d's loop never turned without sleeping"
	[ "$hits" -ge 1 ] || fail "$d found no datagram by polling"
	echo "ok: $d polled: $windows windows, $polls polls, $hits turns found work"
done

# bounded: a window ends 10 ms after the last datagram moved.  Three
# looks 0.2 s apart with the same datagram count: the last datagram moved
# before the first, so every window had ended by the second, and polls
# stand still from the second to the third (if a datagram moved in
# between - a late ACK - look again)
for try in $(seq 20); do
	read -r _ _ _ _ m0 <<<"$(busy "$A_SOCK")"
	sleep 0.2
	read -r _ _ p1 _ m1 <<<"$(busy "$A_SOCK")"
	sleep 0.2
	read -r _ _ p2 _ m2 <<<"$(busy "$A_SOCK")"
	[ "$m0 $m1" = "$m2 $m2" ] && break
done
[ "$m0 $m1" = "$m2 $m2" ] || fail "datagrams kept moving on A long after the transfer ($m0 $m1 $m2)"
[ "$p1" = "$p2" ] || fail "A kept polling with no datagram moving ($p1 -> $p2 polls)"
echo "ok: no datagram, no polling ($p2 polls)"

# off by default: C talks to B and never polls
head -c 64K /dev/urandom >"$WORK/c.in"
exchange c "$C_SOCK" 7001
read -r us windows polls hits moved <<<"$(busy "$C_SOCK")"
[ "$moved" -ge 1 ] || fail "C moved no datagram"
[ "$us $windows $polls $hits" = "0 0 0 0" ] || fail "C (busy_poll off) polled: $us $windows $polls $hits"
echo "ok: busy_poll off by default: $moved datagrams, no polling"
