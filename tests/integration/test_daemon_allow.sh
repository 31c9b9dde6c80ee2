#!/bin/bash
# test_daemon_allow.sh - LISTEN allow=<prefixes> between two real daemons on
# 127.0.0.1: a peer outside the list is refused before a TCB exists - with
# a RST (CONNECT ends "refused" at once) or, with refuse=silent, with
# nothing (CONNECT times out) - and counted in DropListenDenied; a peer
# inside connects and its bytes arrive exactly.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/impair_lib.bash"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
API="$PY ${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/test_daemon_api.py"

pick_ports
start_toud A "$PA"
start_toud B "$PB"

hold() { # hold NAME LINE: a LISTEN on B kept open in the background
	$API hold "$SB" "$2" >"$T/$1.out" 2>&1 &
	BG_PIDS+=("$!")
	wait_until 50 0.1 grep -q '^OK' "$T/$1.out" || fail "$2: $(cat "$T/$1.out")"
}

step "allow=10.0.0.0/8,[fd00::]/8: A (127.0.0.1) is reset before a TCB exists"
hold rst "LISTEN 5901 allow=10.0.0.0/8,[fd00::]/8"
d0=$(dstat "$SB" DropListenDenied)
p0=$(dstat "$SB" PassiveOpens)
ans=$($API req "$SA" "CONNECT 127.0.0.1:$PB 5901 timeout=10")
[[ "$ans" == "ERR refused"* ]] || fail "CONNECT from outside the allow list: $ans"
gt "B DropListenDenied" "$(dstat "$SB" DropListenDenied)" "$d0"
[ "$(dstat "$SB" PassiveOpens)" -eq "$p0" ] || fail "a TCB was made for a refused peer"
echo "ok: $ans"

step "refuse=silent: no answer at all"
hold silent "LISTEN 5902 allow=10.0.0.0/8 refuse=silent"
d0=$(dstat "$SB" DropListenDenied)
o0=$(dstat "$SB" OutRsts)
ans=$($API req "$SA" "CONNECT 127.0.0.1:$PB 5902 timeout=2")
[[ "$ans" == "ERR timeout"* ]] || fail "CONNECT to a silent listener: $ans"
gt "B DropListenDenied" "$(dstat "$SB" DropListenDenied)" "$d0"
[ "$(dstat "$SB" OutRsts)" -eq "$o0" ] || fail "B answered a refused SYN with a RST"
echo "ok: $ans, $(($(dstat "$SB" DropListenDenied) - d0)) SYNs counted"

step "allow=127.0.0.0/8: A connects; 1 MB arrives exactly"
hold ok "LISTEN 5903 allow=127.0.0.0/8,10.0.0.0/8"
make_file "$T/in" 1000000
$API stream "$SB" "ACCEPT 5903" /dev/null "$T/out" >"$T/accept.log" 2>&1 &
acc=$!
BG_PIDS+=("$acc")
$API stream "$SA" "CONNECT 127.0.0.1:$PB 5903" "$T/in" /dev/null >"$T/connect.log" 2>&1 ||
	fail "CONNECT inside the allow list: $(cat "$T/connect.log")"
wait_pid "$acc" 300
[ "$WAIT_RC" -eq 0 ] || fail "ACCEPT side: $(cat "$T/accept.log")"
cmp -s "$T/in" "$T/out" || fail "the bytes differ"
ans=$($API req "$SB" "LISTEN 5904 allow=10.0.0.0/33")
[[ "$ans" == "ERR badrequest allow: bad prefix"* ]] || fail "a bad prefix: $ans"
daemons_alive
echo PASS
