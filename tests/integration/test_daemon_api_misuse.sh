#!/usr/bin/env bash
# test_daemon_api_misuse.sh - every bad request gets "ERR <reason> <text>"
# and the daemon goes on: garbage, overlong and unknown lines, bad ports,
# ACCEPT without LISTEN, ABORT of an unknown id, privileged ports and other
# users' listeners/connections as uid nobody, the request timeout, CONNECT
# refused / timed out / unresolvable with the end reason in STATUS.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

chmod 0755 "$WORK" # uid nobody must reach the sockets
start_daemon A -o daemon.socket_mode=0666 -o limits.request_timeout=1s
start_daemon B -o daemon.socket_mode=0666

check() { # check DESC EXPECTED_PREFIX REQUEST [SOCK]
	local ans
	ans=$(api "${4:-$A_SOCK}" "$3")
	expect_prefix "$1" "$2" "$ans"
	echo "ok: $1 -> $ans"
}

check "garbage line" "ERR badrequest " "hello there"
check "empty line" "ERR badrequest " ""
check "unknown verb" "ERR badrequest unknown request" "FROBNICATE 1"
check "HTTP request" "ERR badrequest " "GET / HTTP/1.1"
check "port 0" "ERR badrequest bad port" "LISTEN 0"
check "port 70000" "ERR badrequest bad port" "LISTEN 70000"
check "port not a number" "ERR badrequest bad port" "CONNECT 127.0.0.1 http"
check "bad UDP port" "ERR badrequest bad UDP port" "CONNECT 127.0.0.1:0 80"
check "unknown option" "ERR badrequest unknown or repeated option" "CONNECT 127.0.0.1 80 turbo"
check "bad timeout" "ERR badrequest bad timeout" "CONNECT 127.0.0.1 80 timeout=-1"
check "STATUS bad id" "ERR badrequest bad id" "STATUS abc"
check "ACCEPT without LISTEN" "ERR notfound " "ACCEPT 6000"
check "ABORT of unknown id" "ERR notfound " "ABORT 987654"
check "STATUS of unknown id" "ERR notfound " "STATUS 987654"

# a line longer than TOU_PROTO_MAX_LINE (1024 bytes)
long=$(head -c 2000 /dev/zero | tr '\0' 'A')
check "overlong line" "ERR badrequest request line longer than 1024" "$long"
long=$(head -c 1100 /dev/zero | tr '\0' 'A')
ans=$(timeout 10 $API raw "$A_SOCK" "$long")
expect_prefix "overlong line without newline" "ERR badrequest request line longer" "$ans"
echo "ok: overlong line without a newline is refused at once"

# a client that never finishes its line is answered and closed (1 s)
ans=$(timeout 10 $API raw "$A_SOCK" "VERS")
expect_prefix "request timeout" "ERR badrequest no complete request line" "$ans"
echo "ok: request timeout -> $ans"

# privileged ports and other users' objects, as uid nobody
# the system python and a copy of the client that nobody can read
cp "$HERE/test_daemon_api.py" "$WORK/api.py"
chmod 0644 "$WORK/api.py"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
NAPI="$PY $WORK/api.py"
ans=$(as_nobody $NAPI req "$A_SOCK" "LISTEN 80")
expect_prefix "LISTEN 80 as nobody" "ERR denied " "$ans"
echo "ok: LISTEN 80 as nobody -> $ans"
ans=$(as_nobody $NAPI req "$A_SOCK" "ACCEPT 443")
expect_prefix "ACCEPT 443 as nobody" "ERR denied " "$ans"
$API hold "$A_SOCK" "LISTEN 80" >"$WORK/l80.out" &
BG_PIDS+=($!)
wait_for "root LISTEN 80" 10 grep -q '^OK 80$' "$WORK/l80.out"
check "second LISTEN on the same port" "ERR inuse " "LISTEN 80"
$API hold "$A_SOCK" "LISTEN 6001" >"$WORK/l6001.out" &
BG_PIDS+=($!)
wait_for "root LISTEN 6001" 10 grep -q '^OK 6001$' "$WORK/l6001.out"
ans=$(as_nobody $NAPI req "$A_SOCK" "ACCEPT 6001")
expect_prefix "ACCEPT on root's listener as nobody" "ERR denied " "$ans"
echo "ok: ACCEPT on root's listener as nobody -> $ans"
# nobody may listen on a high port and accept on it
as_nobody $NAPI hold "$A_SOCK" "LISTEN 6002" >"$WORK/l6002.out" &
BG_PIDS+=($!)
wait_for "nobody LISTEN 6002" 10 grep -q '^OK 6002$' "$WORK/l6002.out"
echo "ok: nobody may LISTEN 6002"

# a root-owned stream A -> B; nobody may not ABORT it, root may
$API hold "$B_SOCK" "LISTEN 7000" >"$WORK/l7000.out" &
BG_PIDS+=($!)
wait_for "LISTEN 7000" 10 grep -q '^OK 7000$' "$WORK/l7000.out"
mkfifo "$WORK/hold.fifo"
sleep 30 >"$WORK/hold.fifo" &
BG_PIDS+=($!)
$API stream "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000" "$WORK/hold.fifo" "$WORK/c.out" --idfile "$WORK/c.id" \
	2>/dev/null &
BG_PIDS+=($!)
wait_for "stream id" 10 test -s "$WORK/c.id"
cid=$(cat "$WORK/c.id")
ans=$(as_nobody $NAPI req "$A_SOCK" "ABORT $cid")
expect_prefix "ABORT of root's stream as nobody" "ERR denied " "$ans"
echo "ok: ABORT of root's stream as nobody -> $ans"
check "ABORT by the owner" "OK" "ABORT $cid"
end=$($API wait-end "$A_SOCK" "$cid" 10)
[ "$end" = aborted ] || fail "end after ABORT is \"$end\", expected aborted"
echo "ok: STATUS after ABORT says end=aborted"
check "ABORT of an ended stream" "ERR notfound " "ABORT $cid"

# CONNECT refused: nothing listens on B's port 7999 -> RST -> ERR refused;
# the id in the text has an end record "refused"
ans=$(api "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7999 timeout=10")
expect_prefix "CONNECT to a closed port" "ERR refused " "$ans"
rid=$(sed -n 's/^ERR refused connection \([0-9]*\) .*/\1/p' <<<"$ans")
[ -n "$rid" ] || fail "no id in \"$ans\""
end=$($API wait-end "$A_SOCK" "$rid" 10)
[ "$end" = refused ] || fail "end after refused CONNECT is \"$end\""
echo "ok: refused CONNECT -> $ans; STATUS end=refused"

# CONNECT to a UDP port where nobody answers: timeout=1 -> ERR timeout
# (a socket that swallows the SYNs: a free port would answer ICMP port
# unreachable, ERR unreachable - test_daemon_icmp.sh)
silent_port dead
ans=$(api "$A_SOCK" "CONNECT 127.0.0.1:$dead 80 timeout=1")
expect_prefix "CONNECT without an answer" "ERR timeout " "$ans"
echo "ok: silent peer -> $ans"
check "unresolvable name" "ERR unreachable " "CONNECT nonexistent.invalid 80 timeout=5"

# ACCEPT timeout=1 with nobody connecting
$API hold "$B_SOCK" "LISTEN 7100" >"$WORK/l7100.out" &
BG_PIDS+=($!)
wait_for "LISTEN 7100" 10 grep -q '^OK 7100$' "$WORK/l7100.out"
check "ACCEPT timeout" "ERR timeout " "ACCEPT 7100 timeout=1" "$B_SOCK"

# limits: max_per_uid=1 (a second stream is refused), max_api_clients=2
start_daemon C -o limits.max_per_uid=1 -o limits.max_api_clients=2 -o limits.request_timeout=5s
mkfifo "$WORK/hold2.fifo"
sleep 30 >"$WORK/hold2.fifo" &
BG_PIDS+=($!)
$API stream "$C_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000" "$WORK/hold2.fifo" "$WORK/c2.out" --idfile "$WORK/c2.id" \
	2>/dev/null &
BG_PIDS+=($!)
wait_for "first stream of C" 10 test -s "$WORK/c2.id"
check "max_per_uid" "ERR limit max_per_uid" "CONNECT 127.0.0.1:$B_PORT 7000" "$C_SOCK"
ans=$($API over-limit "$C_SOCK" 2)
expect_prefix "max_api_clients (2 idle clients, a third one)" "ERR limit too many API clients" "$ans"
echo "ok: max_api_clients -> $ans"
wait_for "VERSION once the idle clients left" 10 sh -c "$API req '$C_SOCK' VERSION | grep -q '^OK '"

# the daemons are still fine
check "still alive (A)" "OK " "VERSION"
check "still alive (B)" "OK " "VERSION" "$B_SOCK"
ans=$(api "$A_SOCK" STATS)
$PY -c 'import json,sys; d=json.loads(sys.argv[1][3:]); assert d["api"]["errors"] >= 20, d["api"]' "$ans" ||
	fail "STATS does not count the errors: $ans"
echo "ok: STATS counts the API errors"
kill -0 "$A_PID" "$B_PID" || fail "a daemon died"
