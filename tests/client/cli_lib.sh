# cli_lib.sh - helpers shared by tests/integration/test_cli_*.sh (sourced).
#
# Provides: a private temporary directory $T removed on exit with every
# process started through `bg`; bounded waits; exit-code checks; daemon
# start-up for the fake daemon and the real toud.

: "${TOU:?TOU must name the tou binary}"
: "${TOU_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/tou-cli-test.XXXXXX")
BG_PIDS=()
AT_EXIT=() # commands (one string each) run at exit, after the processes end

cleanup() {
	local rc=$?
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for c in "${AT_EXIT[@]}"; do
		eval "$c" || true
	done
	# a sanitizer build's report in a daemon's log fails the test
	if grep -l 'Sanitizer\|runtime error:' "$T"/*.log >/dev/null 2>&1; then
		echo "FAIL: sanitizer report in a daemon log:" >&2
		grep -h -A20 'Sanitizer\|runtime error:' "$T"/*.log | head -n 60 >&2
		rc=1
	fi
	if [ "$rc" -ne 0 ] && [ -d "$T" ]; then
		for f in "$T"/*.log "$T"/*.err; do
			[ -s "$f" ] || continue
			echo "---- $f (last lines)" >&2
			tail -n 30 "$f" >&2
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

step() {
	echo "== $*"
}

# Remember a background process (started by the caller with `&`).
bg() {
	BG_PIDS+=("$1")
}

# wait_until TRIES DELAY CMD...: run CMD until it succeeds, at most TRIES times.
wait_until() {
	local tries=$1 delay=$2
	shift 2
	local i
	for ((i = 0; i < tries; i++)); do
		if "$@"; then
			return 0
		fi
		sleep "$delay"
	done
	return 1
}

# wait_pid PID TRIES: wait (bounded, TRIES * 0.1 s) for PID to exit; its
# exit status goes to $WAIT_RC.  Fails the test if it does not exit.
wait_pid() {
	local pid=$1 tries=$2 i
	for ((i = 0; i < tries; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "process $pid did not exit in time"
	fi
	WAIT_RC=0
	wait "$pid" || WAIT_RC=$?
}

# expect_rc WANT CMD...: run CMD (stdin from /dev/null), check its exit code.
expect_rc() {
	local want=$1
	shift
	local rc=0
	"$@" </dev/null >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "command: $*" >&2
		echo "stderr: $(cat "$T/err")" >&2
		fail "exit code $rc, want $want"
	fi
}

# One-line message on stderr, naming the cause.
expect_err_line() {
	local pattern=$1
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "stderr is not one line: $(cat "$T/err")"
	grep -qi -- "$pattern" "$T/err" || fail "stderr '$(cat "$T/err")' lacks '$pattern'"
}

socket_ready() {
	[ -S "$1" ] && "$TOU" -s "$1" stats >/dev/null 2>&1
}

# start_fake NAME: the fake daemon (tests/client/fake_toud.py) on $T/NAME.sock
start_fake() {
	local sock="$T/$1.sock"
	python3 "$TOU_SOURCE_DIR/tests/client/fake_toud.py" "$sock" >"$T/$1.log" 2>&1 &
	bg $!
	wait_until 100 0.1 socket_ready "$sock" || fail "fake daemon $1 did not start"
}

# A free UDP port on 127.0.0.1 (bound and released; the daemon gets it next).
free_udp_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_toud NAME UDPPORT [toud options...]: a real daemon on 127.0.0.1:UDPPORT
# with its API socket on $T/NAME.sock.
start_toud() {
	local name=$1 port=$2
	shift 2
	: "${TOUD:?TOUD must name the toud binary}"
	[ -x "$TOUD" ] || fail "toud binary $TOUD not built"
	local sock="$T/$name.sock"
	"$TOUD" -c /dev/null -o "daemon.udp=127.0.0.1:$port" -o "daemon.socket=$sock" "$@" \
		>"$T/$name.log" 2>&1 &
	bg $!
	wait_until 100 0.1 socket_ready "$sock" || fail "toud $name did not start"
}

# start_pair [toud options for b...]: real daemons a and b on free UDP
# ports of 127.0.0.1; sets PA, PB (their UDP ports), A, B (their API
# sockets) and APID (a's pid).
start_pair() {
	PA=$(free_udp_port)
	start_toud a "$PA"
	APID=${BG_PIDS[-1]}
	PB=$(free_udp_port)
	start_toud b "$PB" "$@"
	A=$T/a.sock
	B=$T/b.sock
}

# conn_id SOCK PORTPATTERN STATE: id of the first connection whose line in
# `tou status` has STATE and a local address matching PORTPATTERN.
conn_id() {
	"$TOU" -s "$1" status 2>/dev/null | awk -v p="$2" -v s="$3" \
		'!n && $2 == s && $5 ~ p { print $1; n = 1 }'
}

has_conn() {
	[ -n "$(conn_id "$@")" ]
}

conn_or_exit() {
	has_conn "$1" "$2" ESTABLISHED || ! kill -0 "$3" 2>/dev/null
}

# connect_held FROM_SOCK HOST PORT TO_SOCK FIFO OUT ERR [opts...]:
# `tou connect` with stdin from FIFO, which this shell keeps open on fd 8
# (so the connection stays up until `exec 8>&-`).  Retries while the
# listener on TO_SOCK is not there yet (refused), bounded.  Sets CP.
connect_held() {
	local from=$1 host=$2 port=$3 to=$4 fifo=$5 out=$6 err=$7 i
	shift 7
	for ((i = 0; i < 50; i++)); do
		# (fds 7 and 8 of this shell hold FIFOs open: not for the child)
		"$TOU" -s "$from" connect "$@" "$host" "$port" <"$fifo" >"$out" 2>"$err" 7>&- 8>&- &
		CP=$!
		exec 8<>"$fifo"
		if wait_until 100 0.1 conn_or_exit "$to" "/$port\$" "$CP" &&
			kill -0 "$CP" 2>/dev/null; then
			bg "$CP"
			return 0
		fi
		exec 8>&-
		wait "$CP" || true
		sleep 0.1
	done
	return 1
}
