# impair_lib.bash - helpers of tests/integration/test_impair_*.sh (sourced;
# not a test itself).
#
# Two real toud daemons, A and B, on 127.0.0.1, with the impairment relay
# (tests/tools/relay.c) between them:
#
#     tou connect (on A) -> toud A -> relay :$RP -> toud B -> tou listen (on B)
#
# A connects to the relay's port; the relay forwards to B and back, applying
# the impairments given in RELAY_ARGS (and changed later with `rctl`).
# Needs TOUD, TOU (binaries) and TOU_TOOLS (dir holding `relay`).
# Every wait is bounded; no assertion depends on how fast the machine is.

: "${TOUD:?TOUD must name the toud binary}"
: "${TOU:?TOU must name the tou binary}"
: "${TOU_TOOLS:?TOU_TOOLS must name the directory of the test tools}"
RELAY="$TOU_TOOLS/relay"
[ -x "$TOUD" ] || { echo "FAIL: $TOUD not built" >&2; exit 1; }
[ -x "$TOU" ] || { echo "FAIL: $TOU not built" >&2; exit 1; }
[ -x "$RELAY" ] || { echo "FAIL: $RELAY not built" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/tou-impair.XXXXXX")
BG_PIDS=()

impair_cleanup() {
	local rc=$? p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "$rc" -ne 0 ]; then
		for f in "$T"/*.log "$T"/*.err; do
			[ -s "$f" ] || continue
			echo "---- $f (last lines)" >&2
			tail -n 25 "$f" >&2
		done
	fi
	if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $T" >&2; else rm -rf "$T"; fi
	exit "$rc"
}
trap impair_cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

step() {
	echo "== $*"
}

# wait_until TRIES DELAY CMD...: run CMD until it succeeds, at most TRIES times.
wait_until() {
	local tries=$1 delay=$2 i
	shift 2
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep "$delay"
	done
	return 1
}

# wait_pid PID TRIES: wait (at most TRIES * 0.1 s) for PID to end; its exit
# status goes to WAIT_RC, 124 if it had to be killed.
wait_pid() {
	local pid=$1 tries=$2 i
	for ((i = 0; i < tries; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		WAIT_RC=124
		return
	fi
	WAIT_RC=0
	wait "$pid" || WAIT_RC=$?
}

socket_ready() {
	[ -S "$1" ] && "$TOU" -s "$1" stats >/dev/null 2>&1
}

# start_toud NAME UDPPORT [toud options...]: sets ${NAME}_PID; socket $T/NAME.sock
start_toud() {
	local name=$1 port=$2
	shift 2
	"$TOUD" -c /dev/null -o "daemon.udp=127.0.0.1:$port" -o "daemon.socket=$T/$name.sock" \
		"$@" >"$T/$name.log" 2>&1 &
	local pid=$!
	BG_PIDS+=("$pid")
	printf -v "${name}_PID" %s "$pid"
	wait_until 100 0.1 socket_ready "$T/$name.sock" || fail "toud $name did not start"
}

# start_pair [toud options...]: daemons A and B (same options) and the relay
# between them with the options in the array RELAY_ARGS.  Sets PA PB (their
# UDP ports), RP (the relay's data port), CP (its control port), SA SB
# (API sockets), A_PID B_PID RELAY_PID.
start_pair() {
	pick_ports
	start_toud A "$PA" "$@"
	start_toud B "$PB" "$@"
	start_relay
}

# pick_ports: free UDP ports PA PB (daemons), RP (relay data), CP (relay
# control); SA SB the daemons' API sockets.
pick_ports() {
	local ports
	ports=$("$RELAY" --pick-ports 4) || fail "relay --pick-ports"
	# shellcheck disable=SC2086
	set -- $ports
	PA=$1 PB=$2 RP=$3 CP=$4
	SA=$T/A.sock SB=$T/B.sock
}

# start_relay: the relay between the daemons on PA and PB (RELAY_ARGS);
# sets RELAY_PID.
start_relay() {
	"$RELAY" --listen "127.0.0.1:$RP" --a "127.0.0.1:$PA" --b "127.0.0.1:$PB" \
		--control "127.0.0.1:$CP" --port-file "$T/relay.ports" "${RELAY_ARGS[@]}" \
		>"$T/relay.log" 2>&1 &
	RELAY_PID=$!
	BG_PIDS+=("$RELAY_PID")
	# the port file appears once both sockets are bound
	wait_until 100 0.1 test -s "$T/relay.ports" || fail "relay did not start"
	"$RELAY" --ctl "$CP" ping >/dev/null || fail "relay does not answer"
}

# rctl COMMAND...: a relay control command; fails the test on ERR.
rctl() {
	"$RELAY" --ctl "$CP" "$@" >"$T/rctl.out" || fail "relay command '$*': $(cat "$T/rctl.out")"
}

# relay_stat DIR KEY: a relay counter (DIR a2b or b2a)
relay_stat() {
	"$RELAY" --ctl "$CP" stats | awk -v d="$1" -v k="$2" '
		$1 == d { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }'
}

# dstat SOCK NAME: a daemon counter from the STATS JSON document (`tou stats
# --json`), by its key, e.g. RetransSegs (TCP-MIB names, tcp_get_stats()).
dstat() {
	local v
	v=$("$TOU" -s "$1" stats --json | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2)
	echo "${v:-MISSING}"
}

# daemons_alive: both daemons still run and answer on their API sockets.
daemons_alive() {
	kill -0 "$A_PID" 2>/dev/null || fail "toud A died"
	kill -0 "$B_PID" 2>/dev/null || fail "toud B died"
	socket_ready "$SA" || fail "toud A does not answer"
	socket_ready "$SB" || fail "toud B does not answer"
}

# make_file PATH BYTES: random content
make_file() {
	head -c "$2" /dev/urandom >"$1" || fail "cannot make $1"
}

# transfer NAME PORT UP_BYTES DOWN_BYTES TRIES: one stream through the relay,
# UP_BYTES from A to B and DOWN_BYTES from B to A at the same time (the
# listener's stdin goes back).  A's CLI sends FIN after its data; B's stdin
# (a FIFO) reaches EOF only once all of A's bytes have arrived at B (or the
# bound passes), so B's FIN never overtakes A's data: that order is tested
# on its own in test_impair_close_order.sh.  Waits at most TRIES * 0.1 s for
# each CLI.  Sets CONN_RC and LISTEN_RC (124 = killed at the bound); files
# $T/NAME.{up,down}[.out].
transfer() {
	local name=$1 port=$2 up=$3 down=$4 tries=$5 i rc
	make_file "$T/$name.up" "$up"
	make_file "$T/$name.down" "$down"
	mkfifo "$T/$name.fifo"
	"$TOU" -s "$SB" listen "$port" <"$T/$name.fifo" >"$T/$name.up.out" 2>"$T/$name.listen.err" &
	local lp=$!
	BG_PIDS+=("$lp")
	(
		cat "$T/$name.down"
		for ((i = 0; i < tries; i++)); do
			[ "$(stat -c %s "$T/$name.up.out" 2>/dev/null || echo 0)" -ge "$up" ] && break
			sleep 0.1
		done
	) >"$T/$name.fifo" &
	BG_PIDS+=("$!")
	# CONNECT is refused (exit 4) until the listener is there: retry, bounded.
	for ((i = 0; i < 50; i++)); do
		"$TOU" -s "$SA" connect "127.0.0.1:$RP" "$port" <"$T/$name.up" >"$T/$name.down.out" \
			2>"$T/$name.connect.err" &
		local cp=$!
		BG_PIDS+=("$cp")
		wait_pid "$cp" "$tries"
		rc=$WAIT_RC
		[ "$rc" -eq 4 ] || break
		sleep 0.1
	done
	CONN_RC=$rc
	wait_pid "$lp" "$tries"
	LISTEN_RC=$WAIT_RC
}

# expect_exact NAME: both directions of transfer NAME arrived byte-exact.
expect_exact() {
	local name=$1 d
	[ "$CONN_RC" -eq 0 ] || fail "$name: tou connect exit $CONN_RC: $(cat "$T/$name.connect.err")"
	[ "$LISTEN_RC" -eq 0 ] || fail "$name: tou listen exit $LISTEN_RC: $(cat "$T/$name.listen.err")"
	for d in up down; do
		local want got
		want=$(sha256sum <"$T/$name.$d" | cut -d' ' -f1)
		got=$(sha256sum <"$T/$name.$d.out" | cut -d' ' -f1)
		[ "$want" = "$got" ] || fail "$name: $d bytes differ ($(stat -c %s "$T/$name.$d.out") of $(stat -c %s "$T/$name.$d") bytes arrived)"
	done
	echo "$name: byte-exact both ways ($(stat -c %s "$T/$name.up") up, $(stat -c %s "$T/$name.down") down)"
}

# gt NAME A B: assert A > B (integers)
gt() {
	[[ "$2" =~ ^[0-9]+$ && "$3" =~ ^[0-9]+$ ]] || fail "$1: not numbers: '$2' '$3'"
	[ "$2" -gt "$3" ] || fail "$1: $2 is not more than $3"
}
