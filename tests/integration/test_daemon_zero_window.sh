#!/usr/bin/env bash
# test_daemon_zero_window.sh - a receiver that stops reading and resumes:
# two toud daemons on loopback; B's application reads 1 MiB, stops for
# ZW_PAUSE seconds (default 15: B's window closes, A probes it with
# backoff), then reads the rest.  Checks:
#   a) the 16 MiB arrive intact (sha256)
#   b) A probed the zero window (tcp.ZeroWindowProbes > 0)
#   c) the probes were not treated as loss: no retransmission timeout at A
#      (tcp.Timeouts stays 0) - before the fix the window update was
#      answered from SND.NXT, past the refused probe octet, which then
#      waited for the backed-off timer (RFC 9293 3.8.6.1; daemon/tcp/README.md
#      "Zero window")
# Prints the resume delay (the longest wait for data once B reads again);
# ZW_PAUSE=60 reproduces the issue's 60 s case by hand.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

PAUSE=${ZW_PAUSE:-15}
# buffers of 1 MiB: the pause is a zero window, not data parked in rings
start_daemon A -o tcp.send_buffer=1M -o tcp.recv_buffer=1M
start_daemon B -o tcp.send_buffer=1M -o tcp.recv_buffer=1M

head -c 16M /dev/urandom >"$WORK/in.bin"
sha_in=$(sha256sum <"$WORK/in.bin")

$API hold "$B_SOCK" "LISTEN 7100" >"$WORK/listen.out" &
BG_PIDS+=($!)
wait_for "LISTEN answer" 10 grep -q '^OK 7100$' "$WORK/listen.out"

stats() { # stats SOCK COUNTER
	$API req "$1" STATS | $PY -c 'import json,sys; print(json.loads(sys.stdin.read()[3:])["tcp"][sys.argv[1]])' "$2"
}
probes0=$(stats "$A_SOCK" ZeroWindowProbes)
timeouts0=$(stats "$A_SOCK" Timeouts)

# the slow reader: ACCEPT, read 1 MiB, pause, read the rest to EOF; print
# the longest gap between two reads after the pause and the time to EOF
$PY - "$B_SOCK" "$WORK/out.bin" "$PAUSE" >"$WORK/reader.out" 2>"$WORK/reader.err" <<'EOF' &
import socket, sys, time
path, out, pause = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(b"ACCEPT 7100\n")
line = b""
while not line.endswith(b"\n"):
    b = s.recv(1)
    if not b:
        sys.exit("no answer to ACCEPT")
    line += b
if not line.startswith(b"OK "):
    sys.exit("ACCEPT: " + line.decode())
# a small socket buffer, so that the daemon's ring fills soon
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
got = 0
with open(out, "wb") as f:
    while got < (1 << 20):
        b = s.recv(65536)
        if not b:
            sys.exit("EOF before the pause")
        f.write(b)
        got += len(b)
    time.sleep(pause)
    resumed = last = time.monotonic()
    gap = 0.0
    while True:
        b = s.recv(262144)
        now = time.monotonic()
        gap = max(gap, now - last)
        last = now
        if not b:
            break
        f.write(b)
print("gap %.3f eof %.3f" % (gap, last - resumed))
EOF
reader=$!
$API stream "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7100" "$WORK/in.bin" /dev/null \
	--order first 2>"$WORK/con.err" || fail "sender: $(cat "$WORK/con.err")"
wait "$reader" || fail "reader: $(cat "$WORK/reader.err")"
[ "$(sha256sum <"$WORK/out.bin")" = "$sha_in" ] || fail "the data differs"
echo "ok: 16 MiB intact after a ${PAUSE} s pause of the reader"

read -r _ gap _ eof <"$WORK/reader.out"
probes=$(($(stats "$A_SOCK" ZeroWindowProbes) - probes0))
timeouts=$(($(stats "$A_SOCK" Timeouts) - timeouts0))
echo "# resume delay (longest wait for data after the pause) ${gap} s, pause to EOF ${eof} s;" \
	"A: ZeroWindowProbes +$probes, Timeouts +$timeouts"
[ "$probes" -gt 0 ] || fail "A sent no zero-window probe: the window never closed"
[ "$timeouts" -eq 0 ] || fail "A had $timeouts retransmission timeout(s): the zero window ended in RTO recovery"
echo "ok: zero window probed ($probes probes), no retransmission timeout"
