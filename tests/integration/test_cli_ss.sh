#!/bin/bash
# test_cli_ss.sh - ss and nstat habits against real toud daemons:
#  - `tou status` filters: -l (listeners only), state NAME (several: any),
#    sport/dport [=] [:]PORT, combined;
#  - the options column like ss -ti: ts sack wscale:S,R, nodelay, keepalive;
#  - `tou stats PATTERN...` (shell wildcards), zeros only with -z, --delta
#    from a history file (a second run right away shows no growth; one
#    connection later, TcpActiveOpens 1);
#  - `tou info`: the daemon's version, pid, uptime, socket and UDP sockets.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"

start_pair -o tcp.window_scaling=yes

step "a listener on 7000 and one on 7001, a connection to 7000 (nodelay, keepalive)"
mkfifo "$T/lin" "$T/cin"
"$TOU" -s "$B" listen 7001 </dev/null >/dev/null 2>&1 &
bg $!
"$TOU" -s "$B" listen -k 7000 <"$T/lin" >/dev/null 2>"$T/listen.err" &
bg $!
exec 7<>"$T/lin"
connect_held "$A" "127.0.0.1:$PB" 7000 "$B" "$T/cin" /dev/null "$T/connect.err" --nodelay --keepalive \
	|| fail "could not connect"
wait_until 100 0.1 sh -c "\"$TOU\" -s \"$B\" status | grep -q '/7001 '" || fail "no listener on 7001"

step "filters"
"$TOU" -s "$B" status -l >"$T/l.txt"
[ "$(grep -c ' LISTEN ' "$T/l.txt")" -eq 2 ] || fail "-l: $(cat "$T/l.txt")"
[ "$(grep -vc ' LISTEN \|^ID ' "$T/l.txt")" -eq 0 ] || fail "-l shows more: $(cat "$T/l.txt")"
"$TOU" -s "$B" status state established >"$T/e.txt"
grep -Eq "^[0-9]+ +ESTABLISHED .*127\\.0\\.0\\.1:$PB/7000 " "$T/e.txt" || fail "state established: $(cat "$T/e.txt")"
! grep -q LISTEN "$T/e.txt" || fail "state established shows listeners: $(cat "$T/e.txt")"
"$TOU" -s "$B" status state LISTENING state Time_Wait >"$T/lt.txt"
[ "$(grep -c ' LISTEN ' "$T/lt.txt")" -eq 2 ] && ! grep -q ESTABLISHED "$T/lt.txt" \
	|| fail "two states: $(cat "$T/lt.txt")"
"$TOU" -s "$B" status sport 7001 >"$T/s.txt"
[ "$(grep -c '/7001 ' "$T/s.txt")" -eq 1 ] && [ "$(wc -l <"$T/s.txt")" -eq 2 ] || fail "sport 7001: $(cat "$T/s.txt")"
"$TOU" -s "$A" status dport = :7000 >"$T/d.txt"
grep -Eq "^[0-9]+ +ESTABLISHED .*/7000\$" "$T/d.txt" || fail "dport = :7000: $(cat "$T/d.txt")"
"$TOU" -s "$A" status dport 7001 >"$T/d1.txt"
[ "$(wc -l <"$T/d1.txt")" -eq 1 ] || fail "dport 7001 matches: $(cat "$T/d1.txt")"
"$TOU" -s "$B" status state connected sport 7000 >"$T/c.txt"
grep -q ESTABLISHED "$T/c.txt" && ! grep -q LISTEN "$T/c.txt" || fail "connected sport 7000: $(cat "$T/c.txt")"

step "the options column like ss -ti"
"$TOU" -s "$A" status state established >"$T/o.txt"
grep -Eq "^	 ts sack wscale:[0-9]+,[0-9]+ nodelay keepalive (cubic|newreno) rtt:" "$T/o.txt" \
	|| fail "options column: $(cat "$T/o.txt")"
AID=$(conn_id "$A" "/[0-9]+\$" ESTABLISHED)
"$TOU" -s "$A" status --json "$AID" | python3 -c '
import json, re, sys
d = json.load(sys.stdin)
line = open(sys.argv[1]).read()
want = "wscale:%d,%d" % (d["snd_wscale"], d["rcv_wscale"])
assert want in line, (want, line)
assert d["timestamps"] and d["sack"] and d["nodelay"] and d["keepalive"], d
' "$T/o.txt" || fail "options column does not match STATUS"
exec 8>&- 7>&-

step "stats PATTERN, -z"
"$TOU" -s "$A" stats 'Tcp*' >"$T/p.txt"
# (connect_held may have tried more than once: refused while b was not listening yet)
opens=$(awk '$1 == "TcpActiveOpens" { print $2 }' "$T/p.txt")
[ -n "$opens" ] && [ "$opens" -ge 1 ] || fail "stats Tcp*: $(cat "$T/p.txt")"
[ "$(grep -vc '^Tcp' "$T/p.txt")" -eq 0 ] || fail "stats Tcp* shows others: $(cat "$T/p.txt")"
"$TOU" -s "$A" stats 'udp.tx_*' TcpActiveOpens >"$T/p2.txt"
grep -q '^udp\.tx_datagrams ' "$T/p2.txt" && grep -q '^TcpActiveOpens ' "$T/p2.txt" &&
	[ "$(grep -vc '^udp\.tx_\|^TcpActiveOpens ' "$T/p2.txt")" -eq 0 ] || fail "two patterns: $(cat "$T/p2.txt")"
"$TOU" -s "$A" stats TcpPassiveOpens >"$T/z.txt"
[ ! -s "$T/z.txt" ] || fail "a zero counter without -z: $(cat "$T/z.txt")"
"$TOU" -s "$A" stats -z TcpPassiveOpens >"$T/z.txt"
grep -Eq '^TcpPassiveOpens +0$' "$T/z.txt" || fail "-z: $(cat "$T/z.txt")"

step "stats --delta, like nstat"
export TOU_STATS_HISTORY=$T/history
"$TOU" -s "$A" stats --delta TcpActiveOpens >"$T/d1.txt"
grep -Eq "^TcpActiveOpens +$opens\$" "$T/d1.txt" || fail "first --delta (all new, $opens): $(cat "$T/d1.txt")"
grep -q "^#tou-stats $APID\$" "$T/history" || fail "history header: $(head -n 1 "$T/history")"
"$TOU" -s "$A" stats -d TcpActiveOpens >"$T/d2.txt"
[ ! -s "$T/d2.txt" ] || fail "second --delta right away: $(cat "$T/d2.txt")"
"$TOU" -s "$A" stats -d -z TcpActiveOpens >"$T/d3.txt"
grep -Eq '^TcpActiveOpens +0$' "$T/d3.txt" || fail "--delta -z: $(cat "$T/d3.txt")"
"$TOU" -s "$A" connect "127.0.0.1:$PB" 7000 </dev/null >/dev/null 2>"$T/c2.err" || fail "second connection: $(cat "$T/c2.err")"
"$TOU" -s "$A" stats -d TcpActiveOpens 'udp.*' >"$T/d4.txt"
grep -Eq '^TcpActiveOpens +1$' "$T/d4.txt" || fail "--delta after one connection: $(cat "$T/d4.txt")"
now=$("$TOU" -s "$A" stats udp.tx_datagrams | awk '{ print $2 }')
delta=$(awk '$1 == "udp.tx_datagrams" { print $2 }' "$T/d4.txt")
[ -n "$delta" ] && [ "$delta" -gt 0 ] && [ "$delta" -lt "$now" ] || fail "udp.tx_datagrams delta $delta, total $now"
# another daemon process's history is not ours: all counted as new
sed -i '1s/.*/#tou-stats 1/' "$T/history"
"$TOU" -s "$A" stats -d TcpActiveOpens >"$T/d5.txt"
grep -Eq "^TcpActiveOpens +$((opens + 1))\$" "$T/d5.txt" || fail "--delta of a restarted daemon: $(cat "$T/d5.txt")"

step "tou info"
"$TOU" -s "$A" info >"$T/info.txt"
grep -Eq "^toud [0-9]+\\.[0-9]+\\.[0-9]+, pid $APID, up [0-9]+d [0-9]{2}:[0-9]{2}:[0-9]{2}\$" "$T/info.txt" \
	|| fail "info first line: $(cat "$T/info.txt")"
grep -Eq "^socket +$A\$" "$T/info.txt" || fail "info socket: $(cat "$T/info.txt")"
grep -Eq "^udp +127\\.0\\.0\\.1:$PA\$" "$T/info.txt" || fail "info udp: $(cat "$T/info.txt")"
grep -Eq "^stopping +no\$" "$T/info.txt" || fail "info stopping: $(cat "$T/info.txt")"
"$TOU" -s "$A" info --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["pid"] == int(sys.argv[1]), d' "$APID" \
	|| fail "info --json"
echo "PASS"
