# test_forward_common.bash - shared helpers of tests/integration/test_forward_*.sh
# (sourced; not a test itself): two daemons, B with a [service], A with a
# [forward] to it.
. "$(dirname "${BASH_SOURCE[0]}")/test_daemon_common.bash"

# A free TCP port on 127.0.0.1 (the kernel picks it).
free_tcp_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_pair SERVICE_TO [SERVICE_EXTRA_LINE]: daemon B with [service svc]
# (tou port 80, to = SERVICE_TO), then daemon A with [forward fw] listening
# on 127.0.0.1:$FWD_PORT to B's tou port 80.  Sets FWD_PORT too.
start_pair() {
	printf '[service svc]\nport = 80\nto = %s\n%s\n' "$1" "${2:-}" >"$WORK/B.conf"
	start_daemon B -c "$WORK/B.conf"
	FWD_PORT=$(free_tcp_port)
	printf '[forward fw]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s 80\n' "$FWD_PORT" "$B_PORT" >"$WORK/A.conf"
	start_daemon A -c "$WORK/A.conf"
}

# stats_field SOCK KIND NAME FIELD: one counter of STATS' forwards/services
stats_field() {
	api "$1" STATS | $PY -c '
import json, sys
doc = json.loads(sys.stdin.read()[3:])
print(next(e for e in doc[sys.argv[1]] if e["name"] == sys.argv[2])[sys.argv[3]])' "$2" "$3" "$4"
}

# file_server VAR FILE: a TCP server on 127.0.0.1 (port into VAR) that
# sends FILE whole to every connection, then closes it.
file_server() {
	local f="$WORK/fileserver.$RANDOM"
	$PY - "$2" "$f" <<'PYEOF' &
import os, socket, sys, threading
data = open(sys.argv[1], "rb").read()
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(64)
open(sys.argv[2] + ".tmp", "w").write("%d\n" % ls.getsockname()[1])
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
def serve(s):
    try:
        s.sendall(data)
    except OSError:
        pass
    s.close()
while True:
    s, _ = ls.accept()
    threading.Thread(target=serve, args=(s,), daemon=True).start()
PYEOF
	BG_PIDS+=($!)
	wait_for "a file server" 10 test -s "$f"
	printf -v "$1" %s "$(cat "$f")"
}

# fetch_to PORT OUT: connect to 127.0.0.1:PORT, write every byte read
# until EOF to OUT; non-zero on an error (a reset, a 120 s silence).
fetch_to() {
	$PY - "$1" "$2" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(120)
with open(sys.argv[2], "wb") as f:
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        f.write(b)
PYEOF
}

# paused_fetch PORT OUT: connect to 127.0.0.1:PORT, read 1 MiB, create
# OUT.paused, wait for OUT.go to exist, read to EOF; OUT gets every byte
# read (OUT.err the error, if any).  In the background; its pid in
# PAUSED_PID.
paused_fetch() {
	$PY - "$1" "$2" <<'PYEOF' &
import os, socket, sys, time
out = sys.argv[2]
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.settimeout(120)
    got = bytearray()
    while len(got) < 1 << 20:
        b = s.recv(65536)
        if not b:
            break
        got += b
    open(out + ".paused", "w").close()
    while not os.path.exists(out + ".go"):
        time.sleep(0.02)
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        got += b
    open(out + ".tmp", "wb").write(got)
    os.rename(out + ".tmp", out)
except Exception as e:
    open(out + ".err", "w").write(repr(e))
PYEOF
	PAUSED_PID=$!
	BG_PIDS+=($PAUSED_PID)
}

# expect_refused PORT WHAT: a TCP connection to 127.0.0.1:PORT is refused
# by the kernel (nothing listens there any more).
expect_refused() {
	$PY - "$1" <<'PYEOF' || fail "$2: 127.0.0.1:$1 still accepts connections"
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10).close()
except ConnectionRefusedError:
    sys.exit(0)
sys.exit("connected")
PYEOF
}
