#!/bin/bash
# test_cli_ao_allow.sh - `tou connect --ao KEY` and `tou listen --ao POLICY
# --allow PREFIX` reach the API's ao= and allow= (issue 14), against real
# daemons a and b sharing a [key] for 127.0.0.1, and c without keys:
#  - b listens with --ao required: c (no key) cannot connect (its SYN is
#    discarded: exit 6, timed out, and b counts DropAoMissing); a with
#    --ao k1 moves 1 MB each way byte-exact, and b's STATUS of the stream
#    shows its TCP-AO KeyIDs
#  - connect --ao with a key the daemon does not have: exit 2, one line
#  - listen --allow 10.0.0.0/8 refuses c at 127.0.0.1 before a connection
#    exists (exit 4, DropListenDenied); --allow 192.0.2.1 --allow
#    127.0.0.0/8 (two options, one list) lets it in
#  - usage: --allow on connect, a key name on listen, empty values: exit 2
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"

printf 'a shared secret\n' >"$T/k1.secret"
chmod 600 "$T/k1.secret"
cat >"$T/ao.conf" <<EOF
[key k1]
peer = 127.0.0.1
send_id = 1
recv_id = 1
algorithm = hmac-sha-1-96
secret_file = $T/k1.secret
EOF
PB=$(free_udp_port)
start_toud a "$(free_udp_port)" -c "$T/ao.conf"
start_toud b "$PB" -c "$T/ao.conf"
start_toud c "$(free_udp_port)"
A=$T/a.sock B=$T/b.sock C=$T/c.sock
# (awk reads to the end: an early exit would SIGPIPE tou once STATS passes a
# stdio buffer, and pipefail would end the test)
stat_of() { "$TOU" -s "$1" stats -z | awk -v k="$2" '!n && $1 ~ k { print $2; n = 1 }'; }

step "listen --ao required: no key, no connection; connect --ao k1: byte-exact"
head -c 1000000 /dev/urandom >"$T/up"
head -c 1000000 /dev/urandom >"$T/down"
"$TOU" -s "$B" listen -v -k --ao required 7000 <"$T/down" >"$T/up.out" 2>"$T/listen.err" &
LP=$!
bg $LP
wait_until 50 0.1 sh -c "'$TOU' -s '$B' status -l | grep -q '/7000 '" || fail "no listener on 7000"
expect_rc 6 "$TOU" -s "$C" connect -t 2 "127.0.0.1:$PB" 7000
expect_err_line "timed out"
missing=$(stat_of "$B" DropAoMissing)
[ "${missing:-0}" -gt 0 ] || fail "b did not count the unsigned SYN (DropAoMissing ${missing:-none})"
rc=0
"$TOU" -s "$A" connect --ao k1 "127.0.0.1:$PB" 7000 <"$T/up" >"$T/down.out" 2>"$T/connect.err" || rc=$?
[ $rc -eq 0 ] || fail "connect --ao k1: exit $rc: $(cat "$T/connect.err")"
wait_until 50 0.1 sh -c "[ \$(stat -c %s '$T/up.out') -ge 1000000 ]" || true
cmp "$T/up" "$T/up.out" || fail "upstream bytes differ"
cmp "$T/down" "$T/down.out" || fail "downstream bytes differ"
# (-v: "accepted: id N ..."; STATUS N answers for a live stream or its end record)
id=$(sed -n 's/.*accepted: id \([0-9]*\) .*/\1/p' "$T/listen.err" | head -n 1)
[ -n "$id" ] || fail "tou listen -v named no accepted stream: $(cat "$T/listen.err")"
"$TOU" -s "$B" status -j "$id" >"$T/st.json"
grep -q '"ao"' "$T/st.json" || fail "b's STATUS of the stream shows no TCP-AO: $(cat "$T/st.json")"
kill $LP 2>/dev/null || true
echo "ok: c refused silently (DropAoMissing $missing), a's stream signed: $(grep -o '"ao":{[^}]*}' "$T/st.json")"

step "connect --ao with an unknown key: usage error from the daemon"
expect_rc 2 "$TOU" -s "$A" connect --ao nosuch "127.0.0.1:$PB" 7000
expect_err_line "nosuch"

step "listen --allow: refused before a connection exists, or let in"
"$TOU" -s "$B" listen --allow 10.0.0.0/8 7001 </dev/null >/dev/null 2>"$T/l1.err" &
bg $!
wait_until 50 0.1 sh -c "'$TOU' -s '$B' status -l | grep -q '/7001 '" || fail "no listener on 7001"
denied0=$(stat_of "$B" DropListenDenied)
# (from c: a would sign its SYN with k1, and an AO connection discards the
# unsigned RST of the refusal, RFC 5925 7.5.2: it would time out)
expect_rc 4 "$TOU" -s "$C" connect -t 5 "127.0.0.1:$PB" 7001
denied1=$(stat_of "$B" DropListenDenied)
[ "${denied1:-0}" -gt "${denied0:-0}" ] || fail "DropListenDenied did not grow (${denied0:-none} -> ${denied1:-none})"
printf 'let in\n' >"$T/in"
"$TOU" -s "$B" listen --allow 192.0.2.1 --allow 127.0.0.0/8 7002 </dev/null >"$T/in.out" 2>"$T/l2.err" &
LP2=$!
bg $LP2
wait_until 50 0.1 sh -c "'$TOU' -s '$B' status -l | grep -q '/7002 '" || fail "no listener on 7002"
"$TOU" -s "$C" connect "127.0.0.1:$PB" 7002 <"$T/in" >/dev/null 2>"$T/c2.err" || fail "connect to 7002: $(cat "$T/c2.err")"
wait_pid $LP2 100
[ "$WAIT_RC" -eq 0 ] || fail "listen --allow 7002: exit $WAIT_RC: $(cat "$T/l2.err")"
cmp "$T/in" "$T/in.out" || fail "bytes differ through the allowed listener"
echo "ok: 10.0.0.0/8 refused 127.0.0.1 (DropListenDenied ${denied0:-0} -> $denied1); 127.0.0.0/8 let it in"

step "usage errors"
# usage LINE-PATTERN CMD...: exit 2, the first stderr line names the problem
usage() {
	local want=$1
	shift
	expect_rc 2 "$@"
	head -n 1 "$T/err" | grep -qi -- "$want" || fail "$*: first stderr line '$(head -n 1 "$T/err")' lacks '$want'"
}
usage "option --allow does not apply to 'connect'" "$TOU" -s "$A" connect --allow 10.0.0.0/8 127.0.0.1 7000
usage "takes 'required' or 'optional'" "$TOU" -s "$B" listen --ao k1 7003
usage "--allow needs address prefixes" "$TOU" -s "$B" listen --allow "" 7003
usage "--ao needs a key name" "$TOU" -s "$A" connect --ao "" 127.0.0.1 7000
usage "--ao needs a key name" "$TOU" -s "$A" connect --ao "a b" 127.0.0.1 7000
echo "ok: all"
