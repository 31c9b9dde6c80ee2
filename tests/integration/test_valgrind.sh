#!/usr/bin/env bash
# test_valgrind.sh - docs/DESIGN.md section 8 "valgrind-clean": memcheck finds no invalid
# access, no use of uninitialised memory and no definite leak
#  (1) in every unit, simulated-link, daemon-module and client test program
#      (the simulated link with a twentieth of its seeds: valgrind is ~30x
#      slower), and
#  (2) in a live toud: 2 MB each way with a plain toud, malformed datagrams
#      (short header, data offset past the end, bad option lengths, random
#      bytes), bad API requests, STATUS/LIST/STATS, an ABORT, then SIGTERM:
#      the daemon exits 0 with an empty memcheck report.
# This runs only in the plain build (valgrind does not run ASan binaries).
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"
: "${TOU_BUILD_DIR:?TOU_BUILD_DIR must point to the build directory}"

command -v valgrind >/dev/null || fail "valgrind is not installed (tests/setup.sh installs it)"
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite)

# ---- (1) the test programs ----
progs=()
for p in "$TOU_BUILD_DIR"/tests/unit_test_* "$TOU_BUILD_DIR"/tests/sim_test_* \
	"$TOU_BUILD_DIR"/tests/daemon/daemon_test_* "$TOU_BUILD_DIR"/tests/client/client_test_*; do
	[ -x "$p" ] && progs+=("$p")
done
[ "${#progs[@]}" -ge 10 ] || fail "found only ${#progs[@]} test programs in $TOU_BUILD_DIR/tests"
for p in "${progs[@]}"; do
	name=$(basename "$p")
	if ! SIM_SCALE=0.05 "${VG[@]}" --log-file="$WORK/vg-$name.txt" "$p" >"$WORK/$name.out" 2>&1; then
		tail -n 20 "$WORK/$name.out" >&2
		cat "$WORK/vg-$name.txt" >&2
		fail "$name under valgrind"
	fi
	[ -s "$WORK/vg-$name.txt" ] && { cat "$WORK/vg-$name.txt" >&2; fail "$name: memcheck report"; }
	echo "ok: $name is valgrind-clean ($(tail -n 1 "$WORK/$name.out"))"
done

# ---- (2) a live daemon under valgrind ----
cat >"$WORK/toud-vg" <<EOF
#!/bin/sh
exec ${VG[*]} --log-file="$WORK/vg-toud.txt" "$TOUD" "\$@"
EOF
chmod +x "$WORK/toud-vg"
REAL_TOUD=$TOUD
TOUD="$WORK/toud-vg"
start_daemon V
TOUD=$REAL_TOUD
start_daemon N

head -c 2M /dev/urandom >"$WORK/v.in"
head -c 2M /dev/urandom >"$WORK/n.in"
$API hold "$V_SOCK" "LISTEN 7000" >"$WORK/listen.out" &
BG_PIDS+=($!)
wait_for "LISTEN answer" 30 grep -q '^OK 7000$' "$WORK/listen.out"
$API stream "$V_SOCK" "ACCEPT 7000 timeout=120" "$WORK/v.in" "$WORK/v.out" --order last \
	--idfile "$WORK/v.id" 2>"$WORK/acc.err" &
acc=$!
$API stream "$N_SOCK" "CONNECT 127.0.0.1:$V_PORT 7000 timeout=60" "$WORK/n.in" "$WORK/n.out" \
	--order first 2>"$WORK/con.err" || fail "client stream: $(cat "$WORK/con.err")"
wait "$acc" || fail "server stream: $(cat "$WORK/acc.err")"
cmp -s "$WORK/v.in" "$WORK/n.out" || fail "data V->N differs"
cmp -s "$WORK/n.in" "$WORK/v.out" || fail "data N->V differs"
echo "ok: 2 MB each way through a toud under valgrind"

# malformed datagrams at V's UDP port: each is dropped and counted
$PY - "$V_PORT" <<'EOF'
import os, random, socket, struct, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def hdr(off, flags=0x02, opts=b""):
    return struct.pack("!HHIIBBHHH", 40000, 7000, 1, 0, off << 4, flags, 65535, 0, 0) + opts
dgrams = [b"", b"\x00", hdr(5)[:19],                 # short headers
          hdr(15),                                     # data offset past the end
          hdr(6, opts=b"\x02\x01\x00\x00"),            # option length 1
          hdr(6, opts=b"\x02\x09\x00\x00"),            # option length past the header
          hdr(6, opts=b"\x08\x0a\x00\x00"),            # truncated timestamps
          hdr(4)]                                      # data offset below 5
rnd = random.Random(7)
dgrams += [bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 120))) for _ in range(300)]
for d in dgrams:
    s.sendto(d, ("127.0.0.1", port))
EOF
ans=$(api "$V_SOCK" "hello there")
expect_prefix "garbage request" "ERR badrequest " "$ans"
ans=$(api "$V_SOCK" "$(head -c 2000 /dev/zero | tr '\0' A)")
expect_prefix "overlong request" "ERR badrequest " "$ans"
for q in STATS LIST "STATUS $(cat "$WORK/v.id")"; do
	ans=$(api "$V_SOCK" "$q")
	expect_prefix "$q" "OK" "$ans"
done
stats=$(api "$V_SOCK" STATS)
malformed=$(printf '%s\n' "$stats" | $PY -c '
import json, sys
line = sys.stdin.readline()
doc = json.loads(line[len("OK "):])
def find(d):
    if isinstance(d, dict):
        for k, v in d.items():
            if k == "DropMalformed":
                return v
            r = find(v)
            if r is not None:
                return r
print(find(doc))')
[ "$malformed" != None ] && [ "$malformed" -ge 8 ] || fail "DropMalformed is $malformed after 8 malformed datagrams"
echo "ok: malformed datagrams and requests answered or counted (DropMalformed $malformed)"

# an ABORT of a live connection (RST), then SIGTERM
$API stream "$N_SOCK" "CONNECT 127.0.0.1:$V_PORT 7000 timeout=60" /dev/null "$WORK/x.out" \
	--order last 2>/dev/null &
BG_PIDS+=($!)
$API stream "$V_SOCK" "ACCEPT 7000 timeout=60" /dev/null "$WORK/y.out" --order last \
	--idfile "$WORK/y.id" 2>/dev/null &
BG_PIDS+=($!)
wait_for "the second connection" 60 test -s "$WORK/y.id"
ans=$(api "$V_SOCK" "ABORT $(cat "$WORK/y.id")")
expect_prefix "ABORT" "OK" "$ans"

kill -TERM "$V_PID"
rc=0
wait "$V_PID" || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/vg-toud.txt" >&2; fail "toud under valgrind exited $rc"; }
[ -s "$WORK/vg-toud.txt" ] && { cat "$WORK/vg-toud.txt" >&2; fail "toud: memcheck report"; }
echo "ok: toud exits 0 on SIGTERM with an empty memcheck report"
