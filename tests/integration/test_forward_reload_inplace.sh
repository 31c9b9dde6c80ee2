#!/usr/bin/env bash
# test_forward_reload_inplace.sh - a [forward] changed in place by SIGHUP
# (same listen address; its `to` port and its nodelay flag changed) takes
# effect for new connections while a live one goes on with the old ones:
#   B: [service one] (tou port 80) serves a 24 MB file, [service two]
#      (tou port 81) a small one;
#   A: [forward fw] to B's port 80; a transfer through it is paused mid-way
#      (the reader stops: backpressure keeps it open), then A reloads with
#      fw to port 81, nodelay = yes: the listener is not reopened, a new
#      connection gets the small file (service two) with nodelay on, the
#      paused one then finishes the 24 MB file byte-exact with nodelay off.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"

head -c 24M /dev/urandom >"$WORK/one.bin"
printf 'the second service\n' >"$WORK/two.bin"
file_server SRC1 "$WORK/one.bin"
file_server SRC2 "$WORK/two.bin"
printf '[service one]\nport = 80\nto = 127.0.0.1:%s\n[service two]\nport = 81\nto = 127.0.0.1:%s\n' \
	"$SRC1" "$SRC2" >"$WORK/B.conf"
start_daemon B -c "$WORK/B.conf"
FWD_PORT=$(free_tcp_port)
fw() { printf '[forward fw]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s %s\n%s' "$FWD_PORT" "$B_PORT" "$1" "${2:-}"; }
fw 80 >"$WORK/A.conf"
start_daemon A -c "$WORK/A.conf"

# conn_json ID: A's STATUS <id> (live or ended)
conn_json() { api "$A_SOCK" "STATUS $1"; }
# forwards live on shard 0, whose connection ids are 1, 1 + shards, ...
# (docs/DESIGN.md section 5.8): the second forwarded connection's
SHARDS=$(api "$A_SOCK" STATUS | grep -o '"threads":[0-9]*' | cut -d: -f2)
SECOND=$((1 + SHARDS))

paused_fetch "$FWD_PORT" "$WORK/live.out"
wait_for "the paused reader" 30 test -e "$WORK/live.out.paused"
st=$(conn_json 1)
case "$st" in *'"remote":"127.0.0.1:'"$B_PORT"'/80"'*'"nodelay":false'*'"via":"forward fw"'*) ;;
*) fail "the live connection before the reload: $st" ;; esac
echo "ok: a 24 MB transfer through forward fw (to port 80, nodelay off) paused mid-way"

fw 81 $'nodelay = yes\n' >"$WORK/A.conf"
kill -HUP "$A_PID"
wait_for "A's reload" 10 grep -q 'configuration reloaded' "$WORK/A.log"
grep -q "forward fw: changed: to 127.0.0.1:$B_PORT 80 -> 127.0.0.1:$B_PORT 81, nodelay (for new connections)" "$WORK/A.log" ||
	fail "A did not log the change in place"
grep -q 'configuration reloaded from .*: 1 change(s)$' "$WORK/A.log" || fail "A's reload does not count the change"
[ "$(grep -c 'forward fw: listening' "$WORK/A.log")" = 1 ] || fail "forward fw was reopened"

fetch_to "$FWD_PORT" "$WORK/new.out" || fail "the new connection through forward fw failed"
cmp -s "$WORK/new.out" "$WORK/two.bin" || fail "the new connection got $(stat -c %s "$WORK/new.out") bytes, not service two's file"
st=$(conn_json "$SECOND")
case "$st" in *'"remote":"127.0.0.1:'"$B_PORT"'/81"'*'"nodelay":true'*'"via":"forward fw"'*) ;;
*) fail "the new connection: $st" ;; esac
st=$(conn_json 1)
case "$st" in *'"state":"ESTABLISHED"'*'/80"'*'"nodelay":false'*) ;; *) fail "the live connection after the reload: $st" ;; esac
echo "ok: after the reload a new connection went to port 81 (service two) with nodelay on; the live one is untouched"

touch "$WORK/live.out.go"
wait_for "the paused transfer's end" 120 test -e "$WORK/live.out" -o -e "$WORK/live.out.err"
[ ! -e "$WORK/live.out.err" ] || fail "the live transfer failed: $(cat "$WORK/live.out.err")"
cmp -s "$WORK/live.out" "$WORK/one.bin" || fail "the live transfer differs ($(stat -c %s "$WORK/live.out") bytes)"
[ "$(stats_field "$A_SOCK" forwards fw connections)" = 2 ] || fail "forward fw does not count 2 connections"
echo "ok: the connection live across the reload finished the 24 MB of service one byte-exact"
