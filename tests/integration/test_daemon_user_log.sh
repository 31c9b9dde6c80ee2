#!/bin/bash
# test_daemon_user_log.sh - toud as people run it without systemd (needs
# root):
#  - [daemon] user: started as root, toud becomes that user (uid, gid,
#    supplementary groups) once its sockets are bound, keeps no capability
#    (CapEff, CapPrm 0; NoNewPrivs 1), and still carries streams; the API
#    socket (mode 0660, socket_group) serves a non-root member of the group
#    and refuses others; an unknown user stops it with the reason;
#  - its log on a file has timestamps and level names, no "<N>" prefixes;
#    on the journal's stream (JOURNAL_STREAM names it) the "<N>" prefixes;
#  - [daemon] syslog = yes: the lines go to syslog(3) (facility daemon),
#    caught on a /dev/log of our own in a private mount namespace.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"
[ "$(id -u)" = 0 ] || fail "needs root"
chmod 0755 "$T" # the daemon's user and the client's must reach the sockets

step "[daemon] user = nobody: root given up after binding"
PA=$(free_udp_port)
start_toud a "$PA" -o daemon.user=nobody -o daemon.socket_group=nogroup
APID=${BG_PIDS[-1]}
st=/proc/$APID/status
grep -Eq '^Uid:\s+65534\s+65534\s+65534\s+65534$' "$st" || fail "uids: $(grep ^Uid "$st")"
grep -Eq '^Gid:\s+65534\s+65534\s+65534\s+65534$' "$st" || fail "gids: $(grep ^Gid "$st")"
grep -Eq '^Groups:\s+65534\s*$' "$st" || fail "groups: $(grep ^Groups "$st")"
grep -Eq '^CapEff:\s+0+$' "$st" || fail "effective capabilities: $(grep ^CapEff "$st")"
grep -Eq '^CapPrm:\s+0+$' "$st" || fail "permitted capabilities: $(grep ^CapPrm "$st")"
grep -Eq '^NoNewPrivs:\s+1$' "$st" || fail "$(grep ^NoNewPrivs "$st")"
grep -q 'running as user nobody (uid 65534, gid 65534, groups 65534), no capabilities' "$T/a.log" ||
	fail "log: $(cat "$T/a.log")"
[ "$(stat -c '%U:%G %a' "$T/a.sock")" = "nobody:nogroup 660" ] || fail "socket: $(stat -c '%U:%G %a' "$T/a.sock")"

step "it still carries streams; a member of the socket's group may use it, others not"
PB=$(free_udp_port)
start_toud b "$PB"
"$TOU" -s "$T/b.sock" listen 7000 </dev/null >"$T/got" 2>"$T/l.err" &
LP=$!
bg $LP
wait_until 100 0.1 sh -c "\"$TOU\" -s \"$T/b.sock\" status | grep -q '/7000 '" || fail "no listener"
echo "through a daemon that gave up root" >"$T/line"
setpriv --reuid=nobody --regid=nogroup --init-groups "$TOU" -s "$T/a.sock" connect "127.0.0.1:$PB" 7000 \
	<"$T/line" >/dev/null 2>"$T/c.err" || fail "connect as nobody: $(cat "$T/c.err")"
wait_pid $LP 100
[ "$WAIT_RC" -eq 0 ] || fail "listener: $(cat "$T/l.err")"
cmp "$T/line" "$T/got" || fail "line differs"
rc=0
setpriv --reuid=daemon --regid=daemon --init-groups "$TOU" -s "$T/a.sock" stats >/dev/null 2>"$T/d.err" || rc=$?
[ $rc -eq 3 ] || fail "a user outside the group: exit $rc: $(cat "$T/d.err")"

step "by default the socket's group is tou (the install step's), if it exists"
PD=$(free_udp_port)
start_toud d "$PD"
if getent group tou >/dev/null; then
	[ "$(stat -c '%G %a' "$T/d.sock")" = "tou 660" ] || fail "default socket: $(stat -c '%G %a' "$T/d.sock")"
else
	grep -q 'group "tou" not found' "$T/d.log" || fail "no word of the missing group tou: $(cat "$T/d.log")"
	[ "$(stat -c '%a' "$T/d.sock")" = 660 ] || fail "default socket mode: $(stat -c '%a' "$T/d.sock")"
fi

step "an unknown user stops toud with the reason"
rc=0
"$TOUD" -c /dev/null -o "daemon.udp=127.0.0.1:$(free_udp_port)" -o "daemon.socket=$T/x.sock" \
	-o daemon.user=no-such-user-tou >"$T/x.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "exit $rc: $(cat "$T/x.log")"
grep -q 'user no-such-user-tou: no user "no-such-user-tou"' "$T/x.log" || fail "message: $(cat "$T/x.log")"

step "log lines: timestamps on a file, <N> prefixes on the journal's stream"
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[-+][0-9]{4}'
grep -Eq "^$ts toud\\[$APID\\]: notice: toud [0-9.]+ started: " "$T/a.log" || fail "plain log: $(head -n 3 "$T/a.log")"
! grep -q '^<[0-9]>' "$T/a.log" || fail "<N> prefixes on a file: $(grep -m1 '^<' "$T/a.log")"
: >"$T/j.log"
js=$(stat -c '%d:%i' "$T/j.log")
(exec env JOURNAL_STREAM="$js" "$TOUD" -c /dev/null -o "daemon.udp=127.0.0.1:$(free_udp_port)" \
	-o "daemon.socket=$T/j.sock" >>"$T/j.log" 2>&1) &
bg $!
wait_until 100 0.1 socket_ready "$T/j.sock" || fail "toud j did not start"
grep -Eq '^<5>toud [0-9.]+ started: ' "$T/j.log" || fail "journal log: $(head -n 3 "$T/j.log")"

step "syslog = yes: lines go to syslog (facility daemon)"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace") + "\n")
' "$T/devlog.sock" "$T/syslog.txt" &
bg $!
wait_until 100 0.1 test -S "$T/devlog.sock" || fail "no syslog collector"
PS=$(free_udp_port)
: >"$T/empty.conf" # (/dev/null is hidden in there)
unshare -m sh -c 'mount -t tmpfs tmpfs /dev && touch /dev/log && mount --bind "$1" /dev/log &&
	exec "$2" -c "$5" -o "daemon.udp=127.0.0.1:$3" -o "daemon.socket=$4" -o daemon.syslog=yes' \
	_ "$T/devlog.sock" "$TOUD" "$PS" "$T/s.sock" "$T/empty.conf" >"$T/s.log" 2>&1 &
bg $!
wait_until 100 0.1 socket_ready "$T/s.sock" || fail "toud with syslog did not start: $(cat "$T/s.log")"
# <29>: facility daemon (3) * 8 + notice (5)
wait_until 100 0.1 grep -Eq '^<29>.* toud\[[0-9]+\]: toud [0-9.]+ started: udp 127\.0\.0\.1:'"$PS" "$T/syslog.txt" ||
	fail "syslog: $(cat "$T/syslog.txt")"
! grep -q 'started' "$T/s.log" || fail "the line went to stderr too: $(cat "$T/s.log")"
echo "PASS"
