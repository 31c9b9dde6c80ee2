# test_daemon_common.bash - shared helpers of tests/integration/test_daemon_*.sh
# (sourced; not a test itself).  Needs TOUD (the daemon binary).
: "${TOUD:?TOUD must point to the toud binary}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# the system python starts much faster than wrappers such as pyenv shims
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
API="$PY $HERE/test_daemon_api.py"
WORK=$(mktemp -d /tmp/toud-test.XXXXXX)
: >"$WORK/empty.conf"
DAEMON_PIDS=()
BG_PIDS=()

cleanup() {
	local rc=$? p n
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	# TERM first so that sanitizer builds report leaks; then KILL
	for p in "${DAEMON_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for n in $(seq 100); do
		local alive=0
		for p in "${DAEMON_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.05
	done
	for p in "${DAEMON_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if grep -l 'Sanitizer\|runtime error:' "$WORK"/*.log 2>/dev/null; then
		echo "FAIL: sanitizer report in a daemon log:" >&2
		grep -h -A20 'Sanitizer\|runtime error:' "$WORK"/*.log | head -n 60 >&2
		rc=1
	fi
	if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
	exit "$rc"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	for f in "$WORK"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last 30 lines)" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

# A free UDP port on 127.0.0.1 (the kernel picks it).
free_port() {
	$PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# silent_port VAR: a UDP port on 127.0.0.1 where a socket takes datagrams
# and never answers (a peer that does not answer); into VAR.  A port with
# nothing bound is not silent: the kernel answers "port unreachable" and
# toud ends a CONNECT to it at once as unreachable.
silent_port() {
	local f="$WORK/silent.$RANDOM"
	$PY -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)' "$f" &
	BG_PIDS+=($!)
	wait_for "a silent UDP socket" 10 test -s "$f"
	printf -v "$1" %s "$(cat "$f")"
}

# wait_for DESC SECONDS COMMAND...: poll COMMAND until it succeeds.
wait_for() {
	local desc=$1 secs=$2
	shift 2
	local end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || fail "timed out waiting for $desc"
		sleep 0.05
	done
}

# start_daemon NAME [toud args...]: toud on its own UDP port and socket;
# sets ${NAME}_SOCK, ${NAME}_PORT, ${NAME}_PID.
start_daemon() {
	local name=$1
	shift
	local port sock
	port=$(free_port)
	sock="$WORK/$name.sock"
	"$TOUD" -c "$WORK/empty.conf" -o "daemon.udp=127.0.0.1:$port" -o "daemon.socket=$sock" "$@" \
		2>"$WORK/$name.log" &
	local pid=$!
	DAEMON_PIDS+=("$pid")
	printf -v "${name}_SOCK" %s "$sock"
	printf -v "${name}_PORT" %s "$port"
	printf -v "${name}_PID" %s "$pid"
	wait_for "$name's API socket" 10 $API req "$sock" VERSION
}

api() { $API req "$@"; }

# expect_prefix WHAT PREFIX ANSWER
expect_prefix() {
	case "$3" in
	"$2"*) ;;
	*) fail "$1: expected \"$2...\", got \"$3\"" ;;
	esac
}
