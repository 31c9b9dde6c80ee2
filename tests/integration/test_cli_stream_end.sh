#!/bin/bash
# test_cli_stream_end.sh - tou watches a stream for its whole life, against
# real toud daemons, with stdin held open (idle) all along:
#  - a reset after the peer's FIN ends `tou connect` at once with exit 5;
#  - a reset mid-transfer likewise;
#  - the daemon killed mid-stream: exit 3 at once, the message names the
#    command ("connect HOST PORT: ... the daemon went away");
#  - `tou connect ... | head -c 100`: stdout closed is no error (exit 0, no
#    message) and the peer is not reset (its exit 0);
#  - netcat's -w (idle timeout: exit 6), -q SECONDS (quit after EOF on
#    stdin: exit 0 although the peer never ends), -N, and -4/-6.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"

start_pair

# listening SOCK PORT: the daemon lists a listener on TCP port PORT
listening() {
	"$TOU" -s "$1" status 2>/dev/null | grep -Eq "^[0-9]+ +LISTEN .*/$2 "
}

# listen_bg PORT STDIN STDOUT ERR [opts]: `tou listen` on b; sets LP
listen_bg() {
	local port=$1 in=$2 out=$3 err=$4
	shift 4
	"$TOU" -s "$B" listen "$@" "$port" <"$in" >"$out" 2>"$err" 7>&- 8>&- &
	LP=$!
	bg $LP
	wait_until 100 0.1 listening "$B" "$port" || fail "no listener on $port: $(cat "$err")"
}

# connect_fifo PORT FIFO OUT ERR [opts]: `tou connect` from a to b with
# stdin from FIFO, which this shell holds open on fd 8; sets CP
connect_fifo() {
	local port=$1 fifo=$2 out=$3 err=$4
	shift 4
	"$TOU" -s "$A" connect "$@" "127.0.0.1:$PB" "$port" <"$fifo" >"$out" 2>"$err" 7>&- 8>&- &
	CP=$!
	bg $CP
	exec 8<>"$fifo"
}

one_line() { # FILE PATTERN...: one line, matching every PATTERN
	local f=$1
	shift
	[ "$(wc -l <"$f")" -eq 1 ] || fail "$f: not one line: $(cat "$f")"
	for p in "$@"; do
		grep -qF -- "$p" "$f" || fail "$f lacks '$p': $(cat "$f")"
	done
}

step "1. a reset after the peer's FIN, stdin idle: exit 5 at once"
echo bye >"$T/bye"
listen_bg 6003 "$T/bye" /dev/null "$T/l1.err"
mkfifo "$T/c1.in"
connect_fifo 6003 "$T/c1.in" "$T/c1.out" "$T/c1.err"
wait_until 100 0.1 grep -q bye "$T/c1.out" || fail "no data from the listener: $(cat "$T/c1.err")"
wait_until 100 0.1 has_conn "$B" '/6003$' FIN-WAIT-2 || fail "b: no connection in FIN-WAIT-2"
"$TOU" -s "$B" abort "$(conn_id "$B" '/6003$' FIN-WAIT-2)"
wait_pid $CP 100 # stdin (fd 8) stays open: the end must come from the stream
[ "$WAIT_RC" -eq 5 ] || fail "connect exit $WAIT_RC, want 5: $(cat "$T/c1.err")"
one_line "$T/c1.err" "connect 127.0.0.1:$PB 6003" "reset"
exec 8>&-

step "2. a reset mid-transfer, stdin idle: exit 5 at once"
mkfifo "$T/c2.in"
yes 2>/dev/null | "$TOU" -s "$B" listen 6004 >/dev/null 2>"$T/l2.err" &
bg $!
wait_until 100 0.1 listening "$B" 6004 || fail "no listener on 6004"
connect_fifo 6004 "$T/c2.in" /dev/null "$T/c2.err"
wait_until 100 0.1 has_conn "$B" '/6004$' ESTABLISHED || fail "b: no connection on 6004"
"$TOU" -s "$B" abort "$(conn_id "$B" '/6004$' ESTABLISHED)"
wait_pid $CP 100
[ "$WAIT_RC" -eq 5 ] || fail "connect exit $WAIT_RC, want 5: $(cat "$T/c2.err")"
one_line "$T/c2.err" "connect 127.0.0.1:$PB 6004" "reset"
exec 8>&-

step "3. the daemon killed mid-stream: exit 3 at once, naming the command"
PC=$(free_udp_port)
start_toud c "$PC"
CPID=${BG_PIDS[-1]}
mkfifo "$T/l3.in" "$T/c3.in"
exec 7<>"$T/l3.in"
listen_bg 6005 "$T/l3.in" /dev/null "$T/l3.err"
"$TOU" -s "$T/c.sock" connect "127.0.0.1:$PB" 6005 <"$T/c3.in" >/dev/null 2>"$T/c3.err" 7>&- 8>&- &
CP=$!
bg $CP
exec 8<>"$T/c3.in"
wait_until 100 0.1 has_conn "$B" '/6005$' ESTABLISHED || fail "b: no connection on 6005"
kill -KILL "$CPID"
wait_pid $CP 100
[ "$WAIT_RC" -eq 3 ] || fail "connect exit $WAIT_RC, want 3: $(cat "$T/c3.err")"
one_line "$T/c3.err" "connect 127.0.0.1:$PB 6005" "daemon went away"
exec 8>&- 7>&-

step "4. tou connect | head -c 100: quiet, exit 0, and the peer is not reset"
head -c 3000000 /dev/urandom >"$T/3m"
listen_bg 6006 "$T/3m" /dev/null "$T/l4.err"
set +e
"$TOU" -s "$A" connect "127.0.0.1:$PB" 6006 </dev/null 2>"$T/c4.err" | head -c 100 >"$T/c4.out"
rcs=("${PIPESTATUS[@]}")
set -e
[ "${rcs[0]}" -eq 0 ] || fail "connect exit ${rcs[0]}, want 0: $(cat "$T/c4.err")"
[ ! -s "$T/c4.err" ] || fail "connect printed: $(cat "$T/c4.err")"
[ "$(wc -c <"$T/c4.out")" -eq 100 ] || fail "head got $(wc -c <"$T/c4.out") bytes"
cmp -n 100 "$T/3m" "$T/c4.out" || fail "the first 100 bytes differ"
wait_pid $LP 300
[ "$WAIT_RC" -eq 0 ] || fail "listener (peer) exit $WAIT_RC, want 0: $(cat "$T/l4.err")"

step "5. -w SECONDS: an idle stream ends with exit 6"
mkfifo "$T/l5.in" "$T/c5.in"
exec 7<>"$T/l5.in"
listen_bg 6007 "$T/l5.in" /dev/null "$T/l5.err"
connect_fifo 6007 "$T/c5.in" /dev/null "$T/c5.err" -w 1
wait_pid $CP 100
[ "$WAIT_RC" -eq 6 ] || fail "connect -w 1 exit $WAIT_RC, want 6: $(cat "$T/c5.err")"
one_line "$T/c5.err" "connect 127.0.0.1:$PB 6007" "idle"
exec 8>&- 7>&-
wait_pid $LP 100

step "6. -q SECONDS: quit after EOF on stdin though the peer never ends"
for q in "-q 1" "-q0"; do
	mkfifo "$T/l6.in"
	exec 7<>"$T/l6.in"
	listen_bg 6008 "$T/l6.in" "$T/l6.out" "$T/l6.err"
	rc=0
	# shellcheck disable=SC2086 # $q is two words or one
	echo hi | "$TOU" -s "$A" connect $q "127.0.0.1:$PB" 6008 >/dev/null 2>"$T/c6.err" &
	QP=$!
	bg $QP
	wait_pid $QP 100
	[ "$WAIT_RC" -eq 0 ] || fail "connect $q exit $WAIT_RC, want 0: $(cat "$T/c6.err")"
	wait_until 100 0.1 grep -qx hi "$T/l6.out" || fail "$q: the listener did not get the line"
	kill -0 $LP 2>/dev/null || fail "$q: the listener ended: the peer must not have ended its side"
	exec 7>&-
	wait_pid $LP 100
	rm -f "$T/l6.in"
done

step "7. -N (FIN at EOF, as always) and -4/-6"
listen_bg 6009 /dev/null "$T/l7.out" "$T/l7.err"
echo hi | "$TOU" -s "$A" connect -N -4 "localhost:$PB" 6009 >/dev/null 2>"$T/c7.err" \
	|| fail "connect -N -4 localhost: $(cat "$T/c7.err")"
wait_pid $LP 100
[ "$WAIT_RC" -eq 0 ] || fail "listener exit $WAIT_RC: $(cat "$T/l7.err")"
grep -qx hi "$T/l7.out" || fail "-4 localhost: line not delivered"
expect_rc 7 "$TOU" -s "$A" connect -6 "127.0.0.1:$PB" 6009
expect_err_line "no IPv6 address for 127.0.0.1"
expect_rc 7 "$TOU" -s "$A" connect -4 "[::1]:$PB" 6009
expect_err_line "no IPv4 address for ::1"
expect_rc 2 "$TOU" -s "$B" listen -4 6010
grep -q "^tou: option -4/-6 does not apply to 'listen'" "$T/err" || fail "listen -4: $(cat "$T/err")"
echo "PASS"
