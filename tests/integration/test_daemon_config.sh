#!/usr/bin/env bash
# test_daemon_config.sh - toud refuses a bad configuration with exit status
# 2 and "file:line: reason": unknown key, bad value, unknown section,
# syntax error, missing -c file, bad -o; --check-config accepts the shipped
# toud.conf and the defaults; --help and --version work.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"
SRC=${TOU_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}

refused() { # refused DESC EXPECTED_MESSAGE_REGEX toud-args...
	local desc=$1 re=$2 rc=0
	shift 2
	"$TOUD" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	[ "$rc" = 2 ] || fail "$desc: exit status $rc, expected 2 ($(cat "$WORK/err"))"
	grep -Eq "$re" "$WORK/err" || fail "$desc: message \"$(cat "$WORK/err")\" does not match /$re/"
	echo "ok: $desc -> $(head -n1 "$WORK/err")"
}

printf '[daemon]\nlog_level = info\n[tcp]\nmss = 1400\nwindow_scale = yes\n' >"$WORK/badkey.conf"
refused "unknown key" "badkey.conf:5: unknown key \"window_scale\" in \[tcp\]" -c "$WORK/badkey.conf" --check-config

printf '[tcp]\n\nrto_min = fast\n' >"$WORK/badval.conf"
refused "bad duration" "badval.conf:3: rto_min: \"fast\" is not a duration" -c "$WORK/badval.conf" --check-config

printf '[limits]\nmax_connections = 0\n' >"$WORK/range.conf"
refused "value out of range" "range.conf:2: max_connections: 0 is out of range" -c "$WORK/range.conf" --check-config

printf '[tcp]\nsend_buffer = 4Q\n' >"$WORK/size.conf"
refused "bad size" "size.conf:2: send_buffer: \"4Q\" is not a size" -c "$WORK/size.conf" --check-config

printf '[daemon]\nudp = localhost:9811\n' >"$WORK/udp.conf"
refused "bad udp address" "udp.conf:2: udp: bad address" -c "$WORK/udp.conf" --check-config

printf '[network]\nfoo = 1\n' >"$WORK/sect.conf"
refused "unknown section" "sect.conf:2: unknown section \[network\]" -c "$WORK/sect.conf" --check-config

printf '[daemon]\nlog_level = info\nthis is not ini\n' >"$WORK/syntax.conf"
refused "syntax error" "syntax.conf:3: syntax error" -c "$WORK/syntax.conf" --check-config

refused "missing -c file" "/nonexistent/toud.conf: No such file" -c /nonexistent/toud.conf --check-config
refused "bad -o value" "^toud: -o tcp.congestion=vegas: congestion: \"vegas\" is not one of cubic, newreno, bbr" \
	-c "$WORK/empty.conf" -o tcp.congestion=vegas --check-config
refused "bad -o syntax" "want section.key=value" -c "$WORK/empty.conf" -o mss=1400 --check-config
refused "unknown option" "Try 'toud --help'" --no-such-option
# the bad file also stops a real start (not only --check-config)
refused "start with a bad file" "badkey.conf:5:" -c "$WORK/badkey.conf"

"$TOUD" -c "$SRC/conf/toud.conf" --check-config >"$WORK/shipped.txt" || fail "shipped toud.conf refused"
"$TOUD" -c "$WORK/empty.conf" --check-config >"$WORK/defaults.txt" || fail "empty config refused"
diff <(tail -n +2 "$WORK/shipped.txt") <(tail -n +2 "$WORK/defaults.txt") >/dev/null ||
	fail "the shipped toud.conf does not list the defaults"
grep -qx 'udp = 0.0.0.0:9811 \[::\]:9811' "$WORK/defaults.txt" || fail "default udp"
grep -qx 'socket = /run/tou/toud.sock' "$WORK/defaults.txt" || fail "default socket"
echo "ok: shipped toud.conf = the defaults"

# Every key is in the shipped toud.conf, commented out with its real
# default (uncommented, the file gives the defaults), in toud.conf(5) and in
# --help; and nothing else is listed there.
sed -E 's/^#([a-z_]+ =)/\1/' "$SRC/conf/toud.conf" >"$WORK/uncommented.conf"
"$TOUD" -c "$WORK/uncommented.conf" --check-config >"$WORK/uncommented.txt" ||
	fail "toud.conf with every key uncommented is refused"
diff <(tail -n +2 "$WORK/uncommented.txt") <(tail -n +2 "$WORK/defaults.txt") ||
	fail "a default in the shipped toud.conf differs from the code's"
keys=$(grep -E '^[a-z_]+ =' "$WORK/defaults.txt" | cut -d' ' -f1)
conf_keys=$(grep -E '^[a-z_]+ =' "$WORK/uncommented.conf" | cut -d' ' -f1)
[ "$(sort <<<"$keys")" = "$(sort <<<"$conf_keys")" ] || fail "toud.conf does not list each key exactly once"
"$TOUD" --help >"$WORK/help.txt"
for k in $keys; do
	grep -Eq "^\.(B|BR) .*\b$k\b" "$SRC/docs/toud.conf.5" || fail "toud.conf.5 does not describe key $k"
	grep -Eq "\b$k\b" "$WORK/help.txt" || fail "toud --help does not list key $k"
done
echo "ok: every key ($(wc -w <<<"$keys")) in toud.conf with its default, in toud.conf.5 and in --help"

"$TOUD" -c "$WORK/empty.conf" -o tcp.mss=1200 -o limits.shutdown_timeout=500ms -o tcp.rto_min=300ms \
	-o tcp.congestion=bbr --check-config >"$WORK/o.txt"
grep -qx 'mss = 1200' "$WORK/o.txt" && grep -qx 'shutdown_timeout = 500ms' "$WORK/o.txt" &&
	grep -qx 'rto_min = 300ms' "$WORK/o.txt" && grep -qx 'congestion = bbr' "$WORK/o.txt" ||
	fail "-o overrides not applied"
echo "ok: -o overrides"

grep -q -- '--check-config' "$WORK/help.txt" || fail "--help" # written above: grep -q on a pipe would SIGPIPE toud (pipefail)
"$TOUD" --version | grep -Eq '^toud [0-9]+\.[0-9]+' || fail "--version"
echo "ok: --help, --version"
