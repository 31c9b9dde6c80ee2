#!/bin/bash
# test_interop_kernel.sh - the Linux kernel's own TCP talking to toud
# (docs/DESIGN.md section 8, "Interop").
#
# In a network namespace of its own (tou-itest-$$, removed on exit):
#
#   kernel TCP  --  TUN toutun0 10.211.0.1/24  --  tunbridge  --  UDP  --  toud
#                   (toud appears as 10.211.0.2)                  127.0.0.1:9811
#
# Checks (tests/rfcpeer/kernel_interop.py, plus the CLI here):
#   a) kernel client -> toud listener, 4 MB each way, hashes, both close orders
#      (and `tou listen` with a kernel client)
#   b) toud CONNECTs out to a kernel listener (and `tou connect` to socat)
#   c) the kernel resets (SO_LINGER 0): STATUS end "reset"; ABORT -> ECONNRESET
#   e) the same over IPv6 (the bridge's second lane)
#   f) a kernel without timestamps/SACK/window scaling asking for ECN, MTU 1280
#   d) 5% loss (tc netem if the kernel has it, else tunbridge --loss with a
#      seeded PRNG): byte-exact transfers both ways
# and prints what the kernel and toud negotiated (ss -tin, STATUS).
#
# Needs root (netns, TUN).  Environment: TOUD, TOU, TOU_TOOLS, TOU_SOURCE_DIR
# (set by ctest); run by hand:
#   TOUD=build/daemon/toud TOU=build/client/tou TOU_TOOLS=build/tests/tools \
#     bash tests/integration/test_interop_kernel.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${TOU_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
TOUD=${TOUD:-$src/build/daemon/toud}
TOU=${TOU:-$src/build/client/tou}
TOU_TOOLS=${TOU_TOOLS:-$src/build/tests/tools}
BRIDGE=$TOU_TOOLS/tunbridge
PEERDIR=$src/tests/rfcpeer
MB=${TOU_INTEROP_MB:-4}

NS=tou-itest-$$
TUN=toutun0
KIP=10.211.0.1
TIP=10.211.0.2
UDP=127.0.0.1:9811
UDP6=[::1]:9811
KIP6=fd00:211::1
TIP6=fd00:211::2
work=$(mktemp -d /tmp/tou-interop.XXXXXX)
SOCK=$work/toud.sock
toud_pid= bridge_pid=
fails=0 passes=0

log() { echo "# $*"; }
ok() { echo "ok $1"; passes=$((passes + 1)); }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
nsx() { ip netns exec "$NS" "$@"; }

cleanup() {
	[ -n "$bridge_pid" ] && kill "$bridge_pid" 2>/dev/null
	[ -n "$toud_pid" ] && kill "$toud_pid" 2>/dev/null
	[ -n "$bridge_pid" ] && wait "$bridge_pid" 2>/dev/null
	[ -n "$toud_pid" ] && wait "$toud_pid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$TOUD" "$BRIDGE"; do
	if [ ! -x "$f" ]; then
		echo "FAIL setup: $f is not built"
		exit 1
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: needs root for network namespaces and TUN devices"
	exit 1
fi

ip netns add "$NS" || { echo "FAIL setup: ip netns add $NS"; exit 1; }
nsx ip link set lo up
nsx ip tuntap add dev $TUN mode tun || { echo "FAIL setup: no TUN device"; exit 1; }
nsx ip addr add $KIP/24 dev $TUN
nsx ip -6 addr add $KIP6/64 dev $TUN nodad 2>/dev/null || log "no IPv6 in this namespace"
nsx ip link set $TUN up

# (background processes are started with `ip netns exec` directly, not
# through nsx, so that $! is the process itself and cleanup can kill it)
ip netns exec "$NS" "$TOUD" -c /dev/null -o daemon.udp="$UDP $UDP6" -o daemon.socket="$SOCK" 2>"$work/toud.log" &
toud_pid=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
if [ ! -S "$SOCK" ]; then
	echo "FAIL setup: toud did not create $SOCK; its log:"
	sed 's/^/#   /' "$work/toud.log" | tail -20
	exit 1
fi

# start_bridge [extra tunbridge options]: (re)start the bridge, set BPORT
start_bridge() {
	if [ -n "$bridge_pid" ]; then
		kill "$bridge_pid" 2>/dev/null
		wait "$bridge_pid" 2>/dev/null
		bridge_pid=
	fi
	rm -f "$work/bridge.port"
	ip netns exec "$NS" "$BRIDGE" --tun $TUN --peer $UDP --local-ip $KIP --remote-ip $TIP \
		--peer6 "$UDP6" --local-ip6 $KIP6 --remote-ip6 $TIP6 --port-file "$work/bridge.port" --max-seconds 900 "$@" 2>>"$work/bridge.log" &
	bridge_pid=$!
	for _ in $(seq 100); do [ -s "$work/bridge.port" ] && break; sleep 0.05; done
	BPORT=$(cut -d' ' -f1 "$work/bridge.port" 2>/dev/null)
	BPORT6=$(cut -d' ' -f2 "$work/bridge.port" 2>/dev/null)
	if [ -z "$BPORT" ]; then
		echo "FAIL setup: tunbridge did not start"
		sed 's/^/#   /' "$work/bridge.log"
		exit 1
	fi
}

# run_py LABEL [options]: the python checks against the current bridge
run_py() {
	local label=$1
	shift
	nsx python3 "$PEERDIR/kernel_interop.py" --api "$SOCK" --bridge-port "$BPORT" \
		--toud-ip $TIP --kernel-ip $KIP --bytes $((MB << 20)) --label "$label" "$@" \
		>"$work/py.out" 2>&1
	grep -v '^[0-9]* passed, [0-9]* failed$' "$work/py.out"
	passes=$((passes + $(grep -c '^ok ' "$work/py.out")))
	fails=$((fails + $(grep -c '^FAIL ' "$work/py.out")))
	if ! grep -q '^[0-9]* passed, [0-9]* failed$' "$work/py.out"; then
		fail "kernel_interop$label" "the python driver did not finish"
	fi
}

# a kernel-side helper run inside the namespace: send a file, receive to a file
kclient() { # host port infile outfile
	nsx python3 -c '
import socket, sys, threading
h, p, fin, fout = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for attempt in range(100):  # until `tou listen` listens: RST -> refused
    try:
        s = socket.create_connection((h, p), timeout=60)
        break
    except ConnectionRefusedError:
        if attempt == 99:
            raise
        import time; time.sleep(0.1)
def rx():
    with open(fout, "wb") as f:
        while True:
            d = s.recv(262144)
            if not d:
                break
            f.write(d)
t = threading.Thread(target=rx); t.start()
with open(fin, "rb") as f:
    s.sendall(f.read())
s.shutdown(socket.SHUT_WR)
t.join(120)
sys.exit(1 if t.is_alive() else 0)
' "$@"
}

cli_checks() { # label
	local label=$1 rc
	if [ ! -x "$TOU" ]; then
		fail "cli_listen_kernel_client$label" "$TOU is not built"
		return
	fi
	head -c $((MB << 20)) /dev/urandom >"$work/a.bin"
	head -c $((MB << 20)) /dev/urandom >"$work/b.bin"
	# tou listen <- kernel client
	ip netns exec "$NS" timeout 150 "$TOU" -s "$SOCK" listen -t 30 7500 <"$work/b.bin" >"$work/a.out" 2>"$work/cli.err" &
	local lp=$!
	kclient $TIP 7500 "$work/a.bin" "$work/b.out"
	wait $lp
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "cli_listen_kernel_client$label" "tou listen exited $rc: $(tail -3 "$work/cli.err" | tr '\n' ' ')"
	elif ! cmp -s "$work/a.bin" "$work/a.out" || ! cmp -s "$work/b.bin" "$work/b.out"; then
		fail "cli_listen_kernel_client$label" "data differs: kernel->toud $(stat -c %s "$work/a.out") bytes, toud->kernel $(stat -c %s "$work/b.out") bytes of $((MB << 20))"
	else
		ok "cli_listen_kernel_client$label"
	fi
	# tou connect -> kernel socat echo
	ip netns exec "$NS" timeout 150 socat TCP-LISTEN:7600,bind=$KIP,reuseaddr EXEC:cat 2>"$work/socat.err" &
	local sp=$!
	for _ in $(seq 50); do nsx ss -Htln | grep -q ":7600" && break; sleep 0.1; done
	nsx timeout 150 "$TOU" -s "$SOCK" connect -t 30 127.0.0.1:"$BPORT" 7600 <"$work/a.bin" >"$work/echo.out" 2>"$work/cli.err"
	rc=$?
	wait $sp 2>/dev/null
	if [ $rc -ne 0 ]; then
		fail "cli_connect_kernel_echo$label" "tou connect exited $rc: $(tail -3 "$work/cli.err" | tr '\n' ' ')"
	elif ! cmp -s "$work/a.bin" "$work/echo.out"; then
		fail "cli_connect_kernel_echo$label" "echo differs: got $(stat -c %s "$work/echo.out") of $((MB << 20)) bytes"
	else
		ok "cli_connect_kernel_echo$label"
	fi
}

log "kernel $(uname -r), namespace $NS, toud pid $toud_pid, ${MB} MB per direction"

# ---- a, b, c over a clean path
start_bridge --log-syn
log "tunbridge udp port $BPORT (clean path)"
run_py "" --port-base 7000
log "negotiated on the wire (first passive and first active open, from tunbridge --log-syn):"
grep -m2 'kernel->toud.*\[S\]' "$work/bridge.log" | head -1 | sed 's/^/#   /'
grep -m1 'toud->kernel.*\[S\.\]' "$work/bridge.log" | sed 's/^/#   /'
grep -m1 'toud->kernel.*\[S\] ' "$work/bridge.log" | sed 's/^/#   /'
grep -m1 'kernel->toud.*\[S\.\]' "$work/bridge.log" | sed 's/^/#   /'
cli_checks ""
log "IPv6: kernel [$KIP6] <-> toud [$TIP6] through the bridge's IPv6 lane (udp port $BPORT6)"
run_py "_ipv6" --port-base 7100 --toud-ip $TIP6 --kernel-ip $KIP6 --bridge-port "$BPORT6" \
	--only kernel_to_toud_kernel_closes,toud_to_kernel

# ---- f: a kernel that offers no TCP options but asks for ECN, on a 1280 MTU
log "kernel with tcp_timestamps=0 tcp_sack=0 tcp_window_scaling=0 tcp_ecn=1, TUN MTU 1280"
nsx sysctl -qw net.ipv4.tcp_timestamps=0 net.ipv4.tcp_sack=0 net.ipv4.tcp_window_scaling=0 \
	net.ipv4.tcp_ecn=1
nsx ip link set $TUN mtu 1280
before=$(grep -c '\[S' "$work/bridge.log")
run_py "_noopts_mtu1280" --port-base 7300 --bytes $((1 << 20)) \
	--only kernel_to_toud_kernel_closes,toud_to_kernel
log "negotiated on the wire without options:"
tail -n +1 "$work/bridge.log" | grep '\[S' | tail -n +$((before + 1)) | head -4 | sed 's/^/#   /'
nsx sysctl -qw net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=1 net.ipv4.tcp_window_scaling=1 \
	net.ipv4.tcp_ecn=2
nsx ip link set $TUN mtu 1500

# ---- d: loss
if nsx tc qdisc add dev $TUN root netem loss 5% 2>/dev/null; then
	log "loss: tc netem loss 5% on $TUN (kernel -> toud direction only)"
	start_bridge
	loss_label=_netem5
else
	log "loss: no sch_netem in this kernel; tunbridge --loss 5 --seed 42 (both directions)"
	start_bridge --loss 5 --seed 42
	loss_label=_loss5
fi
run_py "$loss_label" --port-base 7200 --only kernel_to_toud_kernel_closes,toud_to_kernel --timeout 240

kill "$bridge_pid" 2>/dev/null
wait "$bridge_pid" 2>/dev/null
bridge_pid=
sed 's/^/# /' "$work/bridge.log" | grep -v 'up, udp4' | tail -8

if ! kill -0 "$toud_pid" 2>/dev/null; then
	fail "toud_alive" "toud exited during the test; its log:"
	tail -20 "$work/toud.log" | sed 's/^/#   /'
else
	ok "toud_alive"
fi
# SIGTERM: toud exits 0 within its shutdown deadline (leak reports come now)
if kill -0 "$toud_pid" 2>/dev/null; then
	kill -TERM "$toud_pid"
	for _ in $(seq 200); do kill -0 "$toud_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$toud_pid" 2>/dev/null; then
		fail "toud_sigterm" "toud still runs 20 s after SIGTERM"
	else
		wait "$toud_pid"
		st=$?
		toud_pid=
		if [ $st -ne 0 ]; then fail "toud_sigterm" "toud exited $st after SIGTERM"; else ok "toud_sigterm"; fi
	fi
fi
# a sanitizer build (-DTOU_SANITIZE=ON) reports on stderr and may keep running
if grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/toud.log"; then
	fail "toud_sanitizer" "toud's log has sanitizer reports:"
	grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/toud.log" | head -40 | sed 's/^/#   /'
fi
if [ $fails -ne 0 ]; then
	log "toud log (last 30 lines):"
	tail -30 "$work/toud.log" | sed 's/^/#   /'
fi
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
