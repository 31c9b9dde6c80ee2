#!/usr/bin/env bash
# test_forward_config.sh - toud refuses to start on a bad [forward] or
# [service] section, naming the section and the key: a bad value, a
# missing key (--check-config and a real start), a listen address
# another program holds (found only when binding); on SIGHUP a bad section
# refuses the reload and a taken address skips only its section.  A
# forward's listener has the backlog of [limits] max_backlog.  Port 0 is
# refused in a section; FORWARD 0 through the API listens on the port the
# kernel picks and names it in its OK.
set -euo pipefail
. "$(dirname "$0")/test_forward_common.bash"

expect_refusal() { # expect_refusal WHAT PATTERN CONFIG-TEXT
	printf '%s\n' "$3" >"$WORK/bad.conf"
	local rc=0
	"$TOUD" -c "$WORK/bad.conf" --check-config >"$WORK/out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "$1: --check-config accepted it"
	grep -qF -- "$2" "$WORK/out" || fail "$1: message lacks \"$2\": $(cat "$WORK/out")"
	echo "ok: $1: $(head -n1 "$WORK/out")"
}
expect_refusal "bad listen" "[forward web] listen" $'[forward web]\nlisten = 8080\nto = h 80'
expect_refusal "bad to" "[service web] to" $'[service web]\nport = 80\nto = unix:rel'
expect_refusal "bad allow" "[service web] allow" $'[service web]\nport = 80\nto = 127.0.0.1:8000\nallow = 10.0.0.0/40'
expect_refusal "missing to" "[forward web]: \"to\" is missing" $'[forward web]\nlisten = 127.0.0.1:8080'
expect_refusal "listen port 0" "[forward web] listen: port 0" $'[forward web]\nlisten = 127.0.0.1:0\nto = h 80'

# the listen address is taken: the daemon itself exits non-zero, naming it
BUSY=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$PY -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); open(sys.argv[2], "w").close(); time.sleep(60)' \
	"$BUSY" "$WORK/busy.ready" &
BG_PIDS+=($!)
wait_for "the port holder" 10 test -e "$WORK/busy.ready"
printf '[forward web]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1 80\n' "$BUSY" >"$WORK/busy.conf"
rc=0
timeout 30 "$TOUD" -c "$WORK/busy.conf" -o "daemon.udp=127.0.0.1:$(free_port)" -o "daemon.socket=$WORK/x.sock" \
	>"$WORK/busy.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "toud started (rc $rc) with its listen address taken"
grep -qF "[forward web] listen = 127.0.0.1:$BUSY: address already in use" "$WORK/busy.log" ||
	fail "no clear message: $(cat "$WORK/busy.log")"
echo "ok: listen address in use: toud exits $rc naming [forward web] listen"

# SIGHUP: a bad section refuses the whole reload; a section whose address
# is taken is logged and skipped while the others apply; the running
# forward keeps listening through both
LP=$(free_tcp_port)
printf '[forward web]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1 80\n' "$LP" >"$WORK/A.conf"
start_daemon A -c "$WORK/A.conf" -o limits.max_backlog=77
# the forward's kernel listener queues [limits] max_backlog (ss: a
# listening socket's Send-Q is its backlog)
backlog=$(ss -Hltn "sport = :$LP" | awk '{print $3}')
[ "$backlog" = 77 ] || fail "the forward listens with backlog \"$backlog\", not max_backlog = 77"
echo "ok: the forward's TCP listener has the backlog of [limits] max_backlog (77)"
printf '[forward web]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1 80\n[service s]\nport = 80\nto = 127.0.0.1:1\nao = nokey\n' \
	"$LP" >"$WORK/A.conf"
kill -HUP "$A_PID"
wait_for "the refused reload" 10 grep -q 'reload refused, configuration unchanged: .*\[service s\] ao: no \[key nokey\] section' "$WORK/A.log"
echo "ok: SIGHUP with ao = an unknown [key]: the reload is refused, naming it"
printf '[forward web]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1 80\n[forward busy]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1 80\n[service s]\nport = 80\nto = 127.0.0.1:1\n' \
	"$LP" "$BUSY" >"$WORK/A.conf"
kill -HUP "$A_PID"
wait_for "the skipped section" 10 grep -qF "reload: [forward busy] listen = 127.0.0.1:$BUSY: address already in use; not started" "$WORK/A.log"
wait_for "the reload's end" 10 grep -q 'configuration reloaded .*some \[forward\]/\[service\] sections could not start' "$WORK/A.log"
[ "$(stats_field "$A_SOCK" services s port)" = 80 ] || fail "the new [service s] is not running"
$PY -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$LP" ||
	fail "the forward's listener is gone after the reloads"
echo "ok: SIGHUP with a taken address: that section is logged and skipped, the new service starts, the forward keeps listening"

# FORWARD with local port 0: the kernel picks; OK names the port, which
# accepts connections while the API connection holds the tunnel
$PY - "$A_SOCK" <<'PYEOF' || fail "FORWARD 0"
import socket, sys
api = socket.socket(socket.AF_UNIX)
api.connect(sys.argv[1])
api.sendall(b"FORWARD 0 127.0.0.1:1 80\n")
line = b""
while not line.endswith(b"\n"):
    b = api.recv(200)
    if not b:
        sys.exit("no answer")
    line += b
w = line.decode().split()
if len(w) != 3 or w[0] != "OK" or not w[2].startswith("127.0.0.1:") or w[2] == "127.0.0.1:0":
    sys.exit("FORWARD 0 answered %r" % line)
# accepted, then reset by toud (nothing answers at UDP port 1); the API
# connection stays open until then: closing it closes the listener, and a
# connection still in the kernel's accept queue would go with it
try:
    c = socket.create_connection(("127.0.0.1", int(w[2].split(":")[1])), timeout=10)
    try:
        c.recv(1)
    except ConnectionResetError:
        pass
    c.close()
except ConnectionResetError:
    pass
print("ok: FORWARD 0: %s; a connection to that port was accepted" % line.decode().strip())
PYEOF
grep -q 'forward api-[0-9]*: listening on 127.0.0.1:[1-9][0-9]*, to 127.0.0.1:1 80' "$WORK/A.log" ||
	fail "A did not log the port FORWARD 0 got"
wait_for "the connection through FORWARD 0" 30 grep -q 'forward api-[0-9]*: connection refused: 127.0.0.1:80' "$WORK/A.log"
