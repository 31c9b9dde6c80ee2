#!/bin/bash
# test_rfc_peer.sh - tests/rfcpeer/rfcpeer.py (a scripted RFC 9293 peer that
# sends hand-crafted segments) against a fresh toud on loopback.
# Environment: TOUD (and TOU_SOURCE_DIR), set by ctest; by hand:
#   TOUD=build/daemon/toud bash tests/integration/test_rfc_peer.sh [rfcpeer options]
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${TOU_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
TOUD=${TOUD:-$src/build/daemon/toud}
work=$(mktemp -d /tmp/tou-rfcpeer.XXXXXX)
SOCK=$work/toud.sock
toud_pid=

cleanup() {
	if [ -n "$toud_pid" ]; then
		kill "$toud_pid" 2>/dev/null
		wait "$toud_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$TOUD" ]; then
	echo "FAIL setup: $TOUD is not built"
	exit 1
fi

# a UDP port free on 127.0.0.1 and ::1 (the kernel picks it)
port=$(python3 -c '
import socket
for _ in range(50):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", p))
    except OSError:
        continue
    print(p); break')

"$TOUD" -c /dev/null -o daemon.udp="127.0.0.1:$port [::1]:$port" -o daemon.socket="$SOCK" 2>"$work/toud.log" &
toud_pid=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
if [ ! -S "$SOCK" ]; then
	echo "FAIL setup: toud did not create $SOCK; its log:"
	tail -20 "$work/toud.log" | sed 's/^/#   /'
	exit 1
fi

timeout 540 python3 "$src/tests/rfcpeer/rfcpeer.py" --udp 127.0.0.1:$port --udp6 "[::1]:$port" --api "$SOCK" -v "$@"
rc=$?

if ! kill -0 "$toud_pid" 2>/dev/null; then
	echo "FAIL toud_alive: toud exited during the run; its log:"
	tail -30 "$work/toud.log" | sed 's/^/#   /'
	rc=1
fi
# SIGTERM: toud stops within its shutdown deadline and exits 0 (a sanitizer
# build reports leaks only now)
if [ -n "$toud_pid" ] && kill -0 "$toud_pid" 2>/dev/null; then
	kill -TERM "$toud_pid"
	for _ in $(seq 200); do kill -0 "$toud_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$toud_pid" 2>/dev/null; then
		echo "FAIL toud_sigterm: toud still runs 20 s after SIGTERM"
		rc=1
	else
		wait "$toud_pid"
		st=$?
		toud_pid=
		if [ $st -ne 0 ]; then
			echo "FAIL toud_sigterm: toud exited $st after SIGTERM"
			rc=1
		fi
	fi
fi
# a sanitizer build (-DTOU_SANITIZE=ON) reports on stderr and may keep running
if grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/toud.log"; then
	echo "FAIL toud_sanitizer: toud's log has sanitizer reports:"
	grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/toud.log" | head -40 | sed 's/^/#   /'
	rc=1
fi
if [ $rc -ne 0 ]; then
	echo "# toud log (last 40 lines):"
	tail -40 "$work/toud.log" | sed 's/^/#   /'
fi
exit $rc
