#!/usr/bin/env bash
# test_daemon_systemd.sh - systemd integration of toud:
#  - `systemd-analyze verify` accepts systemd/toud.service and toud.socket
#    (no warning either); a missing systemd-analyze is a FAILURE.
#  - socket activation of the API socket (systemd-socket-activate -l PATH)
#    and of the UDP socket (--datagram).
#  - sd_notify: READY=1 with STATUS=, WATCHDOG=1 at half of WATCHDOG_USEC,
#    STOPPING=1 on SIGTERM, read from a NOTIFY_SOCKET this test creates.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"
SRC=${TOU_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}

command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (install systemd: tests/setup.sh deps)"
command -v systemd-socket-activate >/dev/null || fail "systemd-socket-activate is missing (install systemd)"

# ---- unit files ----
mkdir -p "$WORK/units"
sed "s|@TOUD_SBIN@|$TOUD|" "$SRC/systemd/toud.service" >"$WORK/units/toud.service"
cp "$SRC/systemd/toud.socket" "$WORK/units/toud.socket"
rc=0
systemd-analyze verify --man=no "$WORK/units/toud.service" "$WORK/units/toud.socket" >"$WORK/verify.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "systemd-analyze verify: $(cat "$WORK/verify.out")"
if grep -q 'toud\.\(service\|socket\)' "$WORK/verify.out"; then
	fail "systemd-analyze verify warns: $(cat "$WORK/verify.out")"
fi
for want in 'Type=notify' 'WatchdogSec=' 'ExecReload=' 'RuntimeDirectory=tou' 'ProtectSystem=strict' \
	'NoNewPrivileges=yes' 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' 'CapabilityBoundingSet=$' \
	'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes' 'User=tou'; do
	grep -q "^$want" "$WORK/units/toud.service" || fail "toud.service lacks $want"
done
grep -q '^ListenStream=/run/tou/toud.sock' "$WORK/units/toud.socket" || fail "toud.socket ListenStream"
grep -q '^SocketMode=0660' "$WORK/units/toud.socket" || fail "toud.socket SocketMode"
grep -q '^u tou ' "$SRC/systemd/tou.sysusers.conf" || fail "sysusers snippet"
echo "ok: systemd-analyze verify accepts toud.service and toud.socket"

# ---- socket activation of the API socket ----
port=$(free_port)
systemd-socket-activate -l "$WORK/act.sock" "$TOUD" -c "$WORK/empty.conf" -o "daemon.udp=127.0.0.1:$port" \
	-o "daemon.socket=$WORK/not-used.sock" 2>"$WORK/act.log" &
act=$!
DAEMON_PIDS+=("$act")
wait_for "activated socket" 10 test -S "$WORK/act.sock"
ans=$(api "$WORK/act.sock" VERSION) # this connection starts toud
expect_prefix "VERSION over the passed socket" "OK " "$ans"
grep -q 'socket activation: API socket fd 3' "$WORK/act.log" || fail "toud did not adopt fd 3"
[ ! -e "$WORK/not-used.sock" ] || fail "toud bound its own socket despite activation"
ans=$(api "$WORK/act.sock" STATUS)
expect_prefix "STATUS" "OK {" "$ans"
grep -q "\"udp\":\"127.0.0.1:$port\"" <<<"$ans" || fail "STATUS: $ans"
kill -TERM "$act"
wait "$act" || fail "activated toud exit status $?"
echo "ok: socket activation of the API socket"

# ---- socket activation of the UDP socket ----
uport=$(free_port)
systemd-socket-activate --datagram -l "127.0.0.1:$uport" "$TOUD" -c "$WORK/empty.conf" \
	-o "daemon.udp=127.0.0.1:1" -o "daemon.socket=$WORK/u.sock" 2>"$WORK/uact.log" &
uact=$!
DAEMON_PIDS+=("$uact")
wait_for "activator listening" 10 grep -q "Listening on 127.0.0.1:$uport" "$WORK/uact.log"
# a datagram (not a valid segment) wakes the activator, which starts toud
$PY -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", int(sys.argv[1])))' "$uport"
wait_for "toud on the passed UDP socket" 10 $API req "$WORK/u.sock" VERSION
grep -q 'socket activation: UDP socket fd 3' "$WORK/uact.log" || fail "toud did not adopt the UDP socket"
ans=$(api "$WORK/u.sock" STATUS)
grep -q "\"udp\":\"127.0.0.1:$uport\"" <<<"$ans" || fail "STATUS with a passed UDP socket: $ans"
kill -TERM "$uact"
wait "$uact" || fail "toud with a passed UDP socket: exit status $?"
echo "ok: socket activation of the UDP socket"

# ---- sd_notify ----
cat >"$WORK/notify.py" <<'PYEOF'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode(errors="replace")
        for line in msg.split("\n"):
            f.write(line + "\n")
PYEOF
: >"$WORK/notify.out"
$PY "$WORK/notify.py" "$WORK/notify.sock" "$WORK/notify.out" &
BG_PIDS+=($!)
wait_for "notify socket" 10 test -S "$WORK/notify.sock"
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=200000 "$TOUD" -c "$WORK/empty.conf" \
	-o "daemon.udp=127.0.0.1:$(free_port)" -o "daemon.socket=$WORK/n.sock" 2>"$WORK/n.log" &
npid=$!
DAEMON_PIDS+=("$npid")
wait_for "READY=1" 10 grep -qx 'READY=1' "$WORK/notify.out"
grep -q '^STATUS=udp 127.0.0.1:' "$WORK/notify.out" || fail "no STATUS= with READY=1: $(cat "$WORK/notify.out")"
grep -qx "MAINPID=$npid" "$WORK/notify.out" || fail "no MAINPID=$npid"
wait_for "three WATCHDOG=1 pings" 10 sh -c "[ \$(grep -cx 'WATCHDOG=1' '$WORK/notify.out') -ge 3 ]"
kill -HUP "$npid"
wait_for "RELOADING=1" 10 grep -qx 'RELOADING=1' "$WORK/notify.out"
kill -TERM "$npid"
wait "$npid" || fail "exit status $? after SIGTERM"
# toud sent STOPPING=1 before it exited; the reader may not have written it yet
wait_for "STOPPING=1" 10 grep -qx 'STOPPING=1' "$WORK/notify.out"
echo "ok: sd_notify READY=1, STATUS=, MAINPID=, WATCHDOG=1 (every 100 ms), RELOADING=1, STOPPING=1"
