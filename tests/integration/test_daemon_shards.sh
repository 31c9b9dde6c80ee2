#!/usr/bin/env bash
# test_daemon_shards.sh - toud with two engine shards ([daemon] threads = 2,
# docs/DESIGN.md section 5.8): connections spread over both shards on the
# connecting side (CONNECT goes to each shard in turn) and on the accepting
# side (the BPF steering by TCP ports), data flows both ways on each,
# byte-exact; STATUS, LIST and ABORT reach a connection on either shard;
# a LISTEN's backlog bounds the accept queues of both shards together;
# a [service] (which lives on shard 0: its port is pinned there) takes
# connections whose ports would hash to either shard; and with the steering off (TOUD_STEERING=kernel: the kernel's own hash
# picks the socket) the datagrams that reach the wrong shard are handed on
# to theirs, counted, and the transfers are still byte-exact.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash" # (and test_daemon_common.bash)

N=4 # connections per round: two per shard

stats_json() { # stats_json SOCK: the STATS document
	local a
	a=$(api "$1" STATS)
	expect_prefix "STATS" "OK " "$a"
	printf '%s\n' "${a#OK }"
}

# shard_field SOCK SHARD FIELD: one per-shard counter of STATS
shard_field() {
	stats_json "$1" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["shards"][int(sys.argv[1])][sys.argv[2]])' "$2" "$3"
}

# transfers NAME SRC DST DSTPORT: N concurrent streams SRC -> DST port 7000,
# 512 KiB each way each, byte-exact
transfers() {
	local name=$1 src=$2 dst=$3 dport=$4 i
	local pids=()
	for i in $(seq "$N"); do
		$API stream "$dst" "ACCEPT 7000 timeout=30" "$WORK/s$i.in" "$WORK/$name.s$i.out" \
			2>"$WORK/$name.acc$i.err" &
		pids+=($!)
	done
	for i in $(seq "$N"); do
		$API stream "$src" "CONNECT 127.0.0.1:$dport 7000 timeout=10" "$WORK/c$i.in" "$WORK/$name.c$i.out" \
			--idfile "$WORK/$name.c$i.id" 2>"$WORK/$name.con$i.err" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail "$name: a stream failed: $(cat "$WORK"/$name.*.err)"
	done
	# which ACCEPT gets which CONNECT is the daemon's choice: compare the
	# sets of contents each way
	local want got
	want=$(cd "$WORK" && sha256sum c*.in | awk '{print $1}' | sort)
	got=$(cd "$WORK" && sha256sum $name.s*.out | awk '{print $1}' | sort)
	[ "$want" = "$got" ] || fail "$name: client -> server data differs"
	want=$(cd "$WORK" && sha256sum s*.in | awk '{print $1}' | sort)
	got=$(cd "$WORK" && sha256sum $name.c*.out | awk '{print $1}' | sort)
	[ "$want" = "$got" ] || fail "$name: server -> client data differs"
	echo "ok: $name: $N streams, 512 KiB each way each, byte-exact"
}

for i in $(seq "$N"); do
	head -c 512K /dev/urandom >"$WORK/c$i.in"
	head -c 512K /dev/urandom >"$WORK/s$i.in"
done

# ---- BPF steering ----
start_daemon A -o daemon.threads=2
start_daemon B -o daemon.threads=2
a=$(api "$A_SOCK" STATUS)
case "$a" in *'"threads":2'*) ;; *) fail "STATUS does not say threads 2: $a" ;; esac
$API hold "$B_SOCK" "LISTEN 7000" >"$WORK/listenB.out" &
BG_PIDS+=($!)
wait_for "LISTEN on B" 10 grep -q '^OK 7000$' "$WORK/listenB.out"
transfers steered "$A_SOCK" "$B_SOCK" "$B_PORT"
for s in 0 1; do
	n=$(shard_field "$A_SOCK" $s active_opens)
	[ "$n" -ge 1 ] || fail "A's shard $s opened no connection ($n)"
	n=$(shard_field "$B_SOCK" $s passive_opens)
	[ "$n" -ge 1 ] || fail "B's shard $s accepted no connection ($n)"
	for d in A B; do
		sock=${d}_SOCK
		for f in in_segs out_segs; do
			n=$(shard_field "${!sock}" $s $f)
			[ "$n" -gt 100 ] || fail "$d's shard $s: $f is $n: data did not flow both ways there"
		done
		n=$(shard_field "${!sock}" $s handed_on)
		[ "$n" = 0 ] || fail "$d's shard $s handed on $n datagrams although the BPF steering is on"
	done
done
echo "ok: both shards of each daemon opened connections and moved data both ways; nothing misdirected"

# STATUS, LIST and ABORT of a live connection on each shard (ids k+1, k+1+n)
$API hold "$B_SOCK" "ACCEPT 7000" >"$WORK/acc-live1.out" &
BG_PIDS+=($!)
$API hold "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000" >"$WORK/live1.out" &
BG_PIDS+=($!)
$API hold "$B_SOCK" "ACCEPT 7000" >"$WORK/acc-live2.out" &
BG_PIDS+=($!)
$API hold "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000" >"$WORK/live2.out" &
BG_PIDS+=($!)
wait_for "live connection 1" 10 grep -q '^OK ' "$WORK/live1.out"
wait_for "live connection 2" 10 grep -q '^OK ' "$WORK/live2.out"
id1=$(awk '{print $2}' "$WORK/live1.out")
id2=$(awk '{print $2}' "$WORK/live2.out")
[ $(((id1 - 1) % 2)) != $(((id2 - 1) % 2)) ] || fail "two CONNECTs in a row went to one shard (ids $id1 $id2)"
list=$(api "$A_SOCK" LIST)
for id in "$id1" "$id2"; do
	case "$list" in *"\"id\":$id,"*) ;; *) fail "LIST misses connection $id: $list" ;; esac
	s=$(api "$A_SOCK" "STATUS $id")
	case "$s" in 'OK {'*'"state":"ESTABLISHED"'*) ;; *) fail "STATUS $id: $s" ;; esac
	a=$(api "$A_SOCK" "ABORT $id")
	[ "$a" = OK ] || fail "ABORT $id: $a"
	end=$($API wait-end "$A_SOCK" "$id" 10) || fail "no end record for $id"
	[ "$end" = aborted ] || fail "connection $id ended \"$end\", expected aborted"
done
echo "ok: STATUS, LIST and ABORT reach connections $id1 and $id2 on both shards"

# ---- one accept queue of `backlog` over both shards ----
# A's CONNECTs alternate between its shards, and B's shard of a connection
# is A's (both steer by the same ports): 3 of 6 reach each shard of B.  No
# ACCEPT waits, so 2 wait in the queues and 4 are refused (reset), not 2
# per shard.
$API hold "$B_SOCK" "LISTEN 7100 backlog=2" >"$WORK/listen7100.out" &
BG_PIDS+=($!)
wait_for "LISTEN 7100 on B" 10 grep -q '^OK 7100$' "$WORK/listen7100.out"
for i in 1 2 3 4 5 6; do
	$API hold "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7100" >"$WORK/bl$i.out" &
	BG_PIDS+=($!)
done
for i in 1 2 3 4 5 6; do wait_for "CONNECT $i to port 7100" 10 grep -q '^OK ' "$WORK/bl$i.out"; done
ended=0
for _ in $(seq 200); do
	ended=0
	for i in 1 2 3 4 5 6; do
		s=$(api "$A_SOCK" "STATUS $(awk '{print $2}' "$WORK/bl$i.out")")
		case "$s" in *'"end":"reset"'*) ended=$((ended + 1)) ;; esac
	done
	[ "$ended" -ge 4 ] && break
	sleep 0.05
done
[ "$ended" = 4 ] || fail "backlog=2 on 2 shards: $ended of 6 connections were refused, not 4"
q=$(api "$B_SOCK" LIST | $PY -c 'import json,sys; l=sys.stdin.read()[3:]; print([c["accept_queue"] for c in json.loads(l) if c.get("state") == "LISTEN" and c["local"].endswith("/7100")][0])')
[ "$q" = 2 ] || fail "listener 7100: accept_queue $q, expected 2"
for i in 1 2; do
	$API hold "$B_SOCK" "ACCEPT 7100 timeout=5" >"$WORK/bl-acc$i.out" &
	BG_PIDS+=($!)
	wait_for "ACCEPT $i of the queued" 10 grep -q '^OK ' "$WORK/bl-acc$i.out"
done
a=$(timeout 10 $API hold "$B_SOCK" "ACCEPT 7100 timeout=1")
expect_prefix "a third ACCEPT (nothing more queued)" "ERR " "$a"
echo "ok: backlog=2 on a 2-shard daemon: 2 connections queued over both shards, 4 refused"

# ---- a [service]: its port is pinned to shard 0 ----
head -c 300K /dev/urandom >"$WORK/svc.bin"
file_server SVC_TCP "$WORK/svc.bin"
printf '[service files]\nport = 7300\nto = 127.0.0.1:%s\n' "$SVC_TCP" >"$WORK/E.conf"
start_daemon E -c "$WORK/E.conf" -o daemon.threads=2
pids=()
for i in 1 2 3 4; do # A's CONNECTs alternate between its shards: local ports of both parities
	: >"$WORK/empty.in"
	$API stream "$A_SOCK" "CONNECT 127.0.0.1:$E_PORT 7300 timeout=10" "$WORK/empty.in" "$WORK/svc$i.out" \
		--order last 2>"$WORK/svc$i.err" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a connection to the service failed: $(cat "$WORK"/svc*.err)"; done
for i in 1 2 3 4; do cmp -s "$WORK/svc.bin" "$WORK/svc$i.out" || fail "service connection $i: wrong bytes"; done
n=$(shard_field "$E_SOCK" 0 passive_opens)
[ "$n" = 4 ] || fail "E's shard 0 accepted $n of the 4 service connections"
echo "ok: 4 connections to a [service] on a 2-shard daemon, all on shard 0, byte-exact"

# ---- no steering: the kernel's hash; misdirected datagrams are handed on ----
export TOUD_STEERING=kernel
start_daemon C -o daemon.threads=2
start_daemon D -o daemon.threads=2
unset TOUD_STEERING
grep -q 'no BPF steering' "$WORK/C.log" || fail "C did not say it runs without steering"
$API hold "$D_SOCK" "LISTEN 7000" >"$WORK/listenD.out" &
BG_PIDS+=($!)
wait_for "LISTEN on D" 10 grep -q '^OK 7000$' "$WORK/listenD.out"
transfers kernel-hash "$C_SOCK" "$D_SOCK" "$D_PORT"
on=0
for d in C D; do
	sock=${d}_SOCK
	for s in 0 1; do
		n=$(shard_field "${!sock}" $s handed_on)
		on=$((on + n))
		n=$(shard_field "${!sock}" $s handoff_dropped)
		[ "$n" = 0 ] || fail "$d's shard $s dropped $n misdirected datagrams"
	done
done
# one UDP 4-tuple between C and D: the kernel gives all of its datagrams
# to one socket of each daemon, so half of the connections are misdirected
[ "$on" -gt 0 ] || fail "no datagram was handed on between shards"
echo "ok: without BPF steering $on misdirected datagrams were handed to their shards, none dropped"
