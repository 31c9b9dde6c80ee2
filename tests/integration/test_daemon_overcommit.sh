#!/usr/bin/env bash
# test_daemon_overcommit.sh - memory follows use: under strict overcommit
# (vm.overcommit_memory=2: every private writable mapping is charged
# against CommitLimit when it is made) two daemons start and carry 1,000
# connections, and a transfer runs across one of them.  Before buffers
# were allocated on first need, each connection reserved two 4 MiB rings:
# 1,000 connections on each side asked for 16 GB of commit.
#
# vm.overcommit_memory is machine-wide: it is set only for the few seconds
# this needs and restored by an EXIT trap, whatever happens.  Needs root.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

[ "$(id -u)" = 0 ] || fail "needs root (vm.overcommit_memory)"
OC=/proc/sys/vm/overcommit_memory
old_mode=$(cat "$OC")
# strict accounting fails every allocation beyond CommitLimit, for every
# process on the machine: only with room to spare
read -r limit committed < <(awk '/^CommitLimit:/ { l = $2 } /^Committed_AS:/ { c = $2 } END { print l, c }' /proc/meminfo)
[ $((limit - committed)) -gt $((2 * 1024 * 1024)) ] ||
	fail "less than 2 GiB of commit headroom ($committed of $limit KiB committed): not setting strict overcommit on this machine now"

restore() {
	echo "$old_mode" >"$OC" 2>/dev/null || true
}
trap 'restore; cleanup' EXIT

N=1000
echo 2 >"$OC"
echo "vm.overcommit_memory=2 (was $old_mode)"
start_daemon A -o "limits.max_per_peer=$((N + 10))"
start_daemon B -o "limits.max_per_peer=$((N + 10))"

$PY "$HERE/../tools/conn_load.py" idle "$A_SOCK" "$B_SOCK" "$B_PORT" "$N" --pids "$A_PID,$B_PID" \
	>"$WORK/idle.out" 2>&1 || { cat "$WORK/idle.out" >&2; fail "not all $N connections opened under strict overcommit"; }
cat "$WORK/idle.out"
grep -q "opened $N connections .* (0 failed)" "$WORK/idle.out" || fail "connections failed"
echo "ok: $N connections under vm.overcommit_memory=2"

# then a transfer between the same daemons, still under strict overcommit
head -c 2M /dev/urandom >"$WORK/data"
$API hold "$B_SOCK" "LISTEN 7001" >"$WORK/listen.out" &
BG_PIDS+=($!)
wait_for "LISTEN" 10 grep -q '^OK 7001$' "$WORK/listen.out"
: >"$WORK/empty"
$API stream "$B_SOCK" "ACCEPT 7001" "$WORK/empty" "$WORK/data.out" --order last 2>/dev/null &
acc=$!
$API stream "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7001" "$WORK/data" "$WORK/x.out" 2>/dev/null ||
	fail "transfer under strict overcommit: CONNECT side"
wait "$acc" || fail "transfer under strict overcommit: ACCEPT side"
cmp "$WORK/data" "$WORK/data.out" || fail "data differs"
echo "ok: 2 MB byte-exact under vm.overcommit_memory=2"
restore
echo "vm.overcommit_memory restored to $(cat "$OC")"
kill -0 "$A_PID" && kill -0 "$B_PID" || fail "a daemon died"
