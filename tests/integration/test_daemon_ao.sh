#!/bin/bash
# test_daemon_ao.sh - TCP-AO (RFC 5925, docs/PROTOCOL.md "TCP-AO") between
# two real daemons, A and B, with the impairment relay between them:
#
#     CONNECT on A -> toud A -> relay :$RP -> toud B -> LISTEN ao=required on B
#
# The relay is a UDP endpoint, so B sees A at the relay's address and port
# (a NAT, as far as the daemons can tell): the MAC must not depend on the
# addresses the daemons see.  Steps:
#  1. AO required, 4 MB byte-exact; the connection's STATUS shows its KeyIDs.
#  2. A daemon without a key, and one with the wrong secret, cannot connect
#     to the ao=required listener; B counts the discarded SYNs.
#  3. The relay flips bits in 3 % of datagrams (anywhere in the segment):
#     nothing corrupted reaches the application (byte-exact), B counts them.
#  4. A data segment of an earlier connection, replayed into a live one with
#     its ports, is discarded and counted; the live stream stays exact.
#  5. Key rollover in the middle of a stalled 12 MB transfer: both daemons
#     reload with a new preferred key; the connection switches KeyIDs
#     (RNextKeyID) and nothing is lost or discarded.
#  6. API errors: an unknown key name, ao=required without a matching key.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/impair_lib.bash"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
API="$PY ${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/test_daemon_api.py"

RELAY_ARGS=(--seed 29)

# key FILE NAME SEND RECV ALG SECRETFILE [preferred]: append a [key] section
key() {
	cat >>"$1" <<EOF
[key $2]
peer = 127.0.0.1
send_id = $3
recv_id = $4
algorithm = $5
secret_file = $6
preferred = ${7:-no}
EOF
}

secret() { # secret FILE TEXT: a secret file only we may read
	printf '%s\n' "$2" >"$1"
	chmod 600 "$1"
}

# ao_drops SOCK: the three TCP-AO discard counters of a daemon, summed
ao_drops() {
	local n=0 k v
	for k in DropAoMissing DropAoNoKey DropAoBadMac; do
		v=$(dstat "$1" "$k")
		[[ "$v" =~ ^[0-9]+$ ]] || fail "counter $k missing"
		n=$((n + v))
	done
	echo "$n"
}

ao_counters() { # the drop counters and what explains a spurious segment
	local k out=""
	for k in DropAoMissing DropAoNoKey DropAoBadMac DropNoConn TlpProbes RetransSegs; do out+=" $k=$(dstat "$1" "$k")"; done
	echo "$out"
}
# Clean path: no segment discarded for a bad MAC or an unknown key, and none
# for a missing option -- but one exception a kernel TCP shares: when a daemon
# is descheduled longer than its peer's tail loss probe timeout (2*SRTT +
# 2 ms, RFC 8985 7.2), the peer sends its FIN twice and, CLOSED after the first
# ACK, answers the second ACK with a RST it cannot sign (no TCB, RFC 5925
# 7.7), which the TIME-WAIT side discards.  Each such drop needs a segment
# the other side got for no connection and a retransmission that caused it.
clean_path() { # clean_path SELF PEER NAME
	local self=$1 peer=$2 name=$3
	local missing nokey badmac noconn retrans
	missing=$(dstat "$self" DropAoMissing) nokey=$(dstat "$self" DropAoNoKey)
	badmac=$(dstat "$self" DropAoBadMac) noconn=$(dstat "$peer" DropNoConn)
	retrans=$(dstat "$peer" RetransSegs)
	if [ "$nokey" -ne 0 ] || [ "$badmac" -ne 0 ] || [ "$missing" -gt "$noconn" ] ||
		{ [ "$missing" -gt 0 ] && [ "$retrans" -eq 0 ]; }; then
		fail "$name discarded segments of a clean path: A$(ao_counters "$SA"); B$(ao_counters "$SB")"
	fi
	[ "$missing" -eq 0 ] ||
		echo "note: $name discarded $missing unsigned RST(s) of a peer that resent its FIN (see above)"
}

reloaded() { # reloaded LOG N: the daemon logged its N-th reload
	[ "$(grep -c 'configuration reloaded' "$1")" -ge "$2" ]
}

# ao_stream NAME PORT BYTES [CONNECT options] [-- ACCEPT-side stream options]:
# BYTES from A to B on a new connection; B's side reads to EOF.  Runs in the
# background: ACC_PID, CON_PID; A's connection id lands in $T/NAME.id.
ao_stream() {
	local name=$1 port=$2 bytes=$3 copts="" aopts=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do copts+=" $1"; shift; done
	[ $# -gt 0 ] && shift && aopts=("$@")
	make_file "$T/$name.up" "$bytes"
	$API stream "$SB" "ACCEPT $port" /dev/null "$T/$name.out" "${aopts[@]}" \
		>"$T/$name.accept.log" 2>&1 &
	ACC_PID=$!
	BG_PIDS+=("$ACC_PID")
	$API stream "$SA" "CONNECT 127.0.0.1:$RP $port$copts" "$T/$name.up" /dev/null \
		--idfile "$T/$name.id" >"$T/$name.connect.log" 2>&1 &
	CON_PID=$!
	BG_PIDS+=("$CON_PID")
}

# ao_wait NAME: both sides ended cleanly and the bytes are exact
ao_wait() {
	local name=$1
	wait_pid "$CON_PID" 600
	[ "$WAIT_RC" -eq 0 ] || fail "$name: CONNECT side exit $WAIT_RC: $(cat "$T/$name.connect.log")"
	wait_pid "$ACC_PID" 600
	[ "$WAIT_RC" -eq 0 ] || fail "$name: ACCEPT side exit $WAIT_RC: $(cat "$T/$name.accept.log")"
	cmp -s "$T/$name.up" "$T/$name.out" ||
		fail "$name: $(cmp -l "$T/$name.up" "$T/$name.out" 2>/dev/null | wc -l) bytes differ" \
			"(sizes $(stat -c %s "$T/$name.up") / $(stat -c %s "$T/$name.out"))"
}

pick_ports
secret "$T/ab.key" "correct horse battery staple"
: >"$T/A.conf"
: >"$T/B.conf"
key "$T/A.conf" ab 1 2 hmac-sha-1-96 "$T/ab.key"
key "$T/B.conf" ba 2 1 hmac-sha-1-96 "$T/ab.key"
start_toud A "$PA" -c "$T/A.conf"
start_toud B "$PB" -c "$T/B.conf"
start_relay
grep -q "TCP-AO: 1 key(s) loaded" "$T/A.log" || fail "A did not load its key: $(cat "$T/A.log")"

step "1. LISTEN ao=required on B; 4 MB from A with its key, through the relay"
$API hold "$SB" "LISTEN 5701 ao=required" >"$T/listen.out" 2>&1 &
BG_PIDS+=("$!")
wait_until 50 0.1 grep -q '^OK' "$T/listen.out" || fail "LISTEN: $(cat "$T/listen.out")"
ao_stream one 5701 4000000 ao=ab
ao_wait one
clean_path "$SA" "$SB" A
clean_path "$SB" "$SA" B
st=$($API req "$SA" "STATUS $(cat "$T/one.id")")
grep -q '"ao":{"keyid":1,"rnextkeyid":2}' <<<"$st" || fail "STATUS shows no TCP-AO: $st"
echo "ok: byte-exact, $(dstat "$SB" InSegs) segments in at B, none discarded by TCP-AO"

step "2. without the key / with the wrong secret: SYNs discarded and counted"
ports=$("$RELAY" --pick-ports 1)
: >"$T/C.conf"
start_toud C "$ports" -c "$T/C.conf"
SC=$T/C.sock
m0=$(dstat "$SB" DropAoMissing)
ans=$($API req "$SC" "CONNECT 127.0.0.1:$PB 5701 timeout=2")
[[ "$ans" == "ERR timeout"* ]] || fail "plain CONNECT to ao=required: $ans"
gt "B DropAoMissing" "$(dstat "$SB" DropAoMissing)" "$m0"
secret "$T/wrong.key" "correct horse battery stapler"
key "$T/C.conf" wrong 1 2 hmac-sha-1-96 "$T/wrong.key"
kill -HUP "$C_PID"
wait_until 50 0.1 reloaded "$T/C.log" 1 || fail "C did not reload: $(tail -3 "$T/C.log")"
b0=$(dstat "$SB" DropAoBadMac)
ans=$($API req "$SC" "CONNECT 127.0.0.1:$PB 5701 timeout=2")
[[ "$ans" == "ERR timeout"* ]] || fail "CONNECT with the wrong key: $ans"
gt "B DropAoBadMac" "$(dstat "$SB" DropAoBadMac)" "$b0"
echo "ok: $(dstat "$SB" DropAoMissing) without TCP-AO, $(dstat "$SB" DropAoBadMac) with a bad MAC"

step "3. the relay corrupts 3 % of datagrams: 2 MB still byte-exact"
rctl corrupt 3
rctl reset-stats
b0=$(dstat "$SB" DropAoBadMac)
ao_stream three 5701 2000000
ao_wait three
gt "relay corrupted a2b" "$(relay_stat a2b corrupted)" 0
gt "B DropAoBadMac" "$(dstat "$SB" DropAoBadMac)" "$b0"
echo "ok: relay corrupted $(relay_stat a2b corrupted) a2b + $(relay_stat b2a corrupted) b2a;" \
	"discarded: B $(ao_drops "$SB"), A $(ao_drops "$SA") (all causes so far)"
rctl clear

step "4. a segment of an earlier connection replayed into a live one"
ao_stream four-old 5701 200000
ao_wait four-old
rctl save >/dev/null
rm -f "$T/four.gate"
ao_stream four 5701 1000000 -- --read-after "$T/four.gate" --order last
wait_until 100 0.1 test -s "$T/four.id" || fail "the second connection did not open"
# B holds all of it unread; the connection is still open on both sides
wait_until 100 0.1 bash -c "$API req '$SA' 'STATUS $(cat "$T/four.id")' | grep -q '\"send_queue\":0,'" ||
	fail "the second connection did not deliver its bytes to B"
b0=$(dstat "$SB" DropAoBadMac)
"$RELAY" --ctl "$CP" replay-into-latest >"$T/replay.out" || fail "replay: $(cat "$T/replay.out")"
wait_until 50 0.1 bash -c "[ \$(${API} req '$SB' STATS | grep -o '\"DropAoBadMac\":[0-9]*' | cut -d: -f2) -gt $b0 ]" ||
	fail "the replayed segment was not discarded as a bad MAC"
touch "$T/four.gate"
ao_wait four
echo "ok: replayed segment discarded ($(cat "$T/replay.out")), stream exact"

step "5. key rollover during a 12 MB transfer"
rm -f "$T/five.gate"
d0=$(($(ao_drops "$SA") + $(ao_drops "$SB")))
ao_stream five 5701 12000000 -- --read-after "$T/five.gate" --order last
wait_until 100 0.1 test -s "$T/five.id" || fail "the transfer did not start"
# B does not read yet: the transfer stalls with megabytes buffered on both
wait_until 100 0.1 bash -c "$API req '$SA' 'STATUS $(cat "$T/five.id")' | grep -q '\"send_queue\":[1-9][0-9]\{5,\}'" ||
	fail "the transfer did not fill the buffers"
secret "$T/ab2.key" "a new key for a new day"
key "$T/A.conf" ab2 11 12 aes-128-cmac-96 "$T/ab2.key" yes
key "$T/B.conf" ba2 12 11 aes-128-cmac-96 "$T/ab2.key" yes
kill -HUP "$A_PID"
wait_until 50 0.1 reloaded "$T/A.log" 1 || fail "A did not reload: $(tail -3 "$T/A.log")"
kill -HUP "$B_PID"
wait_until 50 0.1 reloaded "$T/B.log" 1 || fail "B did not reload: $(tail -3 "$T/B.log")"
touch "$T/five.gate"
ao_wait five
gt "A AoKeyChanges" "$(dstat "$SA" AoKeyChanges)" 0
gt "B AoKeyChanges" "$(dstat "$SB" AoKeyChanges)" 0
st=$($API req "$SA" "STATUS $(cat "$T/five.id")")
grep -q '"ao":{"keyid":11,"rnextkeyid":12}' <<<"$st" || fail "A's connection did not roll over: $st"
[ $(($(ao_drops "$SA") + $(ao_drops "$SB"))) -eq "$d0" ] || fail "segments were discarded during the rollover"
echo "ok: 12 MB exact across the rollover; the connection ends with KeyID 11"

step "6. API: unknown key, ao=required without a matching key"
ans=$($API req "$SA" "CONNECT 127.0.0.1:$RP 5701 ao=nosuchkey")
[[ "$ans" == "ERR badrequest no [key nosuchkey]"* ]] || fail "unknown key: $ans"
ans=$($API req "$SA" "CONNECT 127.0.0.2:$RP 5701 ao=required")
[[ "$ans" == "ERR denied"* ]] || fail "ao=required, no key for 127.0.0.2: $ans"
daemons_alive
echo PASS
