#!/usr/bin/env bash
# test_daemon_api_uid.sh - max_api_clients is shared fairly between local
# users (issue 14): one uid other than root holds at most
# max_api_clients_per_uid of the API clients that have not sent a request
# line yet, and api_root_reserve of them are root's alone (SO_PEERCRED).
#
# toud with max_api_clients=12, max_api_clients_per_uid=4,
# api_root_reserve=2 (socket mode 0666).  Python processes running as uids
# 65501 (A), 65502 (B), 65503 (C) open idle API connections and hold them:
#   a) A opens 10: 4 are kept, 6 answered "ERR limit ... of uid 65501
#      (max_api_clients_per_uid 4)" at once
#   b) while A holds its 4, B and root are served (VERSION answers OK)
#   c) B holds 4 and C tries 4: C gets 2 (10 = 12 - 2 for root), then
#      "ERR limit ... kept for root"; root is still served
#   d) STATS api counts clients_refused_uid and clients_refused_reserve;
#      the log names the refusals (rate limited per uid)
# Before the shares, A's 10 idle clients were all kept and A alone could
# take all 12, locking root and B out.  Needs root (to run as other uids).
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"
[ "$(id -u)" = 0 ] || fail "needs root (processes of other uids)"
chmod 755 "$WORK"
start_daemon D -o daemon.socket_mode=0666 -o limits.max_api_clients=12 \
	-o limits.max_api_clients_per_uid=4 -o limits.api_root_reserve=2 -o limits.request_timeout=60s

$PY - "$D_SOCK" "$HERE" >"$WORK/driver.out" 2>"$WORK/driver.err" <<'EOF' || fail "driver: $(tail -n 20 "$WORK/driver.err")"
import json, subprocess, sys, time
sock, here = sys.argv[1:3]
sys.path.insert(0, here)
from test_daemon_api import req

# runs as another uid: opens N API connections, says how many the daemon
# kept (no answer) and refused (an ERR line at once), then holds them
HOLDER = r'''
import select, socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append(s)
time.sleep(0.5)
kept, refused, first = 0, 0, ""
for s in socks:
    r, _, _ = select.select([s], [], [], 0)
    if r:
        line = s.recv(4096).decode(errors="replace").strip()
        refused += 1
        first = first or line
    else:
        kept += 1
print("%d %d %s" % (kept, refused, first), flush=True)
sys.stdin.read()  # hold until the driver closes our stdin
'''

holders = []
def hold(uid, n):
    p = subprocess.Popen([sys.executable, "-c", HOLDER, sock, str(n)], user=uid, group=uid,
                         extra_groups=[], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    holders.append(p)
    kept, refused, first = (p.stdout.readline().strip().split(" ", 2) + ["", ""])[:3]
    return int(kept), int(refused), first

def as_uid(uid, line):  # one request as uid
    out = subprocess.run([sys.executable, "-c",
                          "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n"
                          "s.sendall(sys.argv[2].encode()+b'\\n')\nprint(s.recv(4096).decode().strip())",
                          sock, line], user=uid, group=uid, extra_groups=[], capture_output=True, text=True)
    return out.stdout.strip() or out.stderr.strip()

fails = []
def check(name, cond, what):
    print(("ok %s: %s" if cond else "FAIL %s: %s") % (name, what))
    if not cond:
        fails.append(name)

k, r, first = hold(65501, 10)
check("per_uid_share", k == 4 and r == 6 and first.startswith("ERR limit")
      and "max_api_clients_per_uid 4" in first and "65501" in first,
      "A kept %d, refused %d: %s" % (k, r, first))
v = as_uid(65502, "VERSION")
check("other_user_served", v.startswith("OK"), "B while A holds its share: %s" % v)
v = req(sock, "VERSION")
check("root_served", v.startswith("OK"), "root while A holds its share: %s" % v)
k, r, first = hold(65502, 4)
check("second_user_share", k == 4 and r == 0, "B kept %d, refused %d %s" % (k, r, first))
k, r, first = hold(65503, 4)
check("root_reserve", k == 2 and r == 2 and first.startswith("ERR limit") and "kept for root" in first,
      "C kept %d, refused %d: %s" % (k, r, first))
v = req(sock, "VERSION")
check("root_served_in_reserve", v.startswith("OK"), "root with 10 idle clients of others: %s" % v)
api = json.loads(req(sock, "STATS")[3:])["api"]
check("stats", api["clients_refused_uid"] == 6 and api["clients_refused_reserve"] == 2
      and api["clients_refused"] == 8 and api["clients_waiting"] == 10, json.dumps(api))
for p in holders:
    p.stdin.close()
    p.wait()
sys.exit(1 if fails else 0)
EOF
sed 's/^/# /' "$WORK/driver.out"
grep -q '^ok stats' "$WORK/driver.out" || fail "the driver stopped early"
grep -q 'api: client uid 65501 pid [0-9]* refused: too many API clients of uid 65501' "$WORK/D.log" ||
	fail "no log line for uid 65501's refusals"
n=$(grep -c 'api: client uid 65501 .* refused' "$WORK/D.log")
[ "$n" -le 5 ] || fail "$n log lines for uid 65501's 6 refusals: not rate limited (at most 5 per 10 s)"
echo "ok: refusals logged ($n lines for uid 65501), rate limited"
