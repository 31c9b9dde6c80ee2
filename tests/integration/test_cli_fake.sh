#!/bin/bash
# test_cli_fake.sh - the tou CLI against the fake daemon (tests/client/
# fake_toud.py): piping both ways with half-close, exit codes, status and
# stats rendering, option handling.  Needs no real toud, so it pins the
# CLI's own behaviour; test_cli_transfer.sh / test_cli_exit_codes.sh run
# the same checks against real daemons.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"

start_fake fake
S=$T/fake.sock
export TOU_SOCKET=$S

step "transfer both directions at once, hashes and exit 0 on both sides"
head -c 5000000 /dev/urandom >"$T/up"
head -c 3000000 /dev/urandom >"$T/down"
"$TOU" listen 5000 <"$T/down" >"$T/up.out" 2>"$T/listen.err" &
LP=$!
bg $LP
# The listener exists once CONNECT stops being refused; retry bounded.
ok=0
for i in $(seq 1 50); do
	rc=0
	"$TOU" connect 127.0.0.1 5000 <"$T/up" >"$T/down.out" 2>"$T/connect.err" || rc=$?
	if [ $rc -eq 4 ]; then sleep 0.1; continue; fi
	[ $rc -eq 0 ] || fail "connect exit $rc: $(cat "$T/connect.err")"
	ok=1
	break
done
[ $ok -eq 1 ] || fail "listener never appeared"
wait_pid $LP 100
[ "$WAIT_RC" -eq 0 ] || fail "listen exit $WAIT_RC: $(cat "$T/listen.err")"
cmp "$T/up" "$T/up.out" || fail "upstream bytes differ"
cmp "$T/down" "$T/down.out" || fail "downstream bytes differ"

step "empty input: FIN at once, the other direction still delivered"
"$TOU" listen 5001 </dev/null >"$T/empty.out" 2>"$T/listen.err" &
LP=$!
bg $LP
printf 'only one way\n' >"$T/one"
rc=0
for i in $(seq 1 50); do
	rc=0
	"$TOU" connect 127.0.0.1 5001 <"$T/one" >"$T/none.out" 2>"$T/connect.err" || rc=$?
	[ $rc -eq 4 ] && { sleep 0.1; continue; }
	break
done
[ $rc -eq 0 ] || fail "connect exit $rc"
wait_pid $LP 100
[ "$WAIT_RC" -eq 0 ] || fail "listen exit $WAIT_RC"
cmp "$T/one" "$T/empty.out" || fail "bytes differ"
[ ! -s "$T/none.out" ] || fail "unexpected bytes"

step "listen -k: streams one after another, all written to stdout"
"$TOU" listen -k 5004 </dev/null >"$T/k.out" 2>"$T/listen.err" &
LP=$!
bg $LP
for n in 1 2 3; do
	printf 'stream %s\n' $n >"$T/k.in"
	for i in $(seq 1 50); do
		rc=0
		"$TOU" connect 127.0.0.1 5004 <"$T/k.in" >/dev/null 2>"$T/connect.err" || rc=$?
		[ $rc -eq 4 ] || break
		sleep 0.1
	done
	[ $rc -eq 0 ] || fail "connect $n exit $rc: $(cat "$T/connect.err")"
done
wait_until 50 0.1 grep -q 'stream 3' "$T/k.out" || fail "third stream not written"
kill -0 $LP || fail "listen -k exited"
printf 'stream 1\nstream 2\nstream 3\n' | cmp - "$T/k.out" || fail "listen -k output: $(cat "$T/k.out")"
kill -TERM $LP
wait_pid $LP 50
[ "$WAIT_RC" -eq 130 ] || fail "listen -k after SIGTERM exit $WAIT_RC, want 130"

step "status during a live transfer, then abort: both ends exit 5 (reset/aborted)"
mkfifo "$T/in-l" "$T/in-c"
"$TOU" listen 5002 <"$T/in-l" >/dev/null 2>"$T/listen.err" &
LP=$!
bg $LP
exec 7<>"$T/in-l" # keep the listener's stdin open (no EOF)
sleep 0.2
"$TOU" connect 127.0.0.1 5002 <"$T/in-c" >/dev/null 2>"$T/connect.err" 7>&- &
CP=$!
bg $CP
exec 8<>"$T/in-c"
wait_until 100 0.1 has_conn "$S" '/5002$' ESTABLISHED || fail "no ESTABLISHED connection on 5002"
"$TOU" status >"$T/status.txt"
grep -q '^ID  *State  *Recv-Q  *Send-Q  *Local  *Remote' "$T/status.txt" || fail "status header: $(cat "$T/status.txt")"
grep -q 'ESTABLISHED .* 127.0.0.1:9811/5002 ' "$T/status.txt" || fail "listen side not shown"
grep -q 'rtt:0.150/0.075 rto:200 mss:1452 cwnd:14520' "$T/status.txt" || fail "details not shown"
LID=$(conn_id "$S" '/5002$' ESTABLISHED)
"$TOU" status --json "$LID" >"$T/one.json"
grep -q "\"id\":$LID," "$T/one.json" || fail "status --json ID"
"$TOU" status "$LID" | grep -q "^$LID  *ESTABLISHED" || fail "status ID"
expect_rc 0 "$TOU" abort "$LID"
wait_pid $CP 100
[ "$WAIT_RC" -eq 5 ] || fail "connect side exit $WAIT_RC, want 5: $(cat "$T/connect.err")"
grep -qi 'reset' "$T/connect.err" || fail "message: $(cat "$T/connect.err")"
wait_pid $LP 100
[ "$WAIT_RC" -eq 5 ] || fail "listen side exit $WAIT_RC, want 5: $(cat "$T/listen.err")"
grep -qi 'aborted' "$T/listen.err" || fail "message: $(cat "$T/listen.err")"
exec 7>&- 8>&-

step "exit codes"
expect_rc 4 "$TOU" connect 127.0.0.1 6999
expect_err_line 'refused'
expect_rc 6 "$TOU" connect --timeout 1 192.0.2.1 80
expect_err_line 'timed out'
expect_rc 7 "$TOU" connect unreachable.invalid 80
expect_err_line 'unreachable'
expect_rc 3 "$TOU" -s "$T/nothing.sock" status
expect_err_line 'daemon not reachable'
TOU_SOCKET=$T/nothing.sock expect_rc 3 "$TOU" connect 127.0.0.1 80
expect_err_line "$T/nothing.sock"
expect_rc 1 "$TOU" abort 99999
expect_err_line 'no such connection'
expect_rc 6 "$TOU" listen --timeout 1 5003
expect_err_line 'timed out'
expect_rc 4 "$TOU" -q connect 127.0.0.1 6999
[ ! -s "$T/err" ] || fail "-q printed: $(cat "$T/err")"

step "bad usage exits 2"
expect_rc 2 "$TOU"
expect_rc 2 "$TOU" frobnicate
expect_rc 2 "$TOU" connect 127.0.0.1
expect_rc 2 "$TOU" connect 127.0.0.1 0
expect_rc 2 "$TOU" connect 127.0.0.1 65536
expect_rc 2 "$TOU" connect 127.0.0.1 80x
expect_rc 2 "$TOU" connect 127.0.0.1 80 extra
expect_rc 2 "$TOU" connect --json 127.0.0.1 80
expect_rc 2 "$TOU" connect --timeout 0 127.0.0.1 80
expect_rc 2 "$TOU" connect --timeout 127.0.0.1 80
expect_rc 2 "$TOU" listen -k
expect_rc 2 "$TOU" status notanid
expect_rc 2 "$TOU" --bogus status
expect_rc 2 "$TOU" -s
expect_rc 2 "$TOU" help nosuchcommand

step "help and version"
expect_rc 0 "$TOU" --help
grep -q '^Exit status:' "$T/out" || fail "--help lacks exit codes"
for c in connect listen status stats abort; do
	expect_rc 0 "$TOU" help $c
	grep -q "^Usage: tou $c" "$T/out" || fail "help $c"
	expect_rc 0 "$TOU" $c --help
	grep -q "^Usage: tou $c" "$T/out" || fail "$c --help"
done
expect_rc 0 "$TOU" --version
grep -Eq '^tou [0-9]+\.[0-9]+' "$T/out" || fail "--version: $(cat "$T/out")"

step "stats like nstat, and --json"
expect_rc 0 "$TOU" stats
grep -Eq '^TcpActiveOpens +[1-9][0-9]* *$' "$T/out" || fail "stats: $(cat "$T/out")"
# like nstat: zeros only with -z
! grep -q '^drops\.bad_request' "$T/out" || fail "a zero counter shown without -z: $(cat "$T/out")"
expect_rc 0 "$TOU" stats -z
grep -Eq '^drops\.bad_request +0 *$' "$T/out" || fail "nested counter (-z): $(cat "$T/out")"
expect_rc 0 "$TOU" stats
grep -Eq '^UdpInDatagrams +7 *$' "$T/out" || fail "MIB-style nested counter: $(cat "$T/out")"
expect_rc 0 "$TOU" stats --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["TcpActiveOpens"] >= 1' "$T/out" \
	|| fail "stats --json is not the daemon's JSON"
expect_rc 0 "$TOU" status --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d, list) and len(d) >= 4' "$T/out" \
	|| fail "status --json is not a list of connections"

echo "PASS"
