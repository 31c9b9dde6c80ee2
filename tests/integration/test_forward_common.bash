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
