#!/usr/bin/env bash
# test_daemon_install.sh - `cmake --install` (into a DESTDIR) puts toud in
# sbin, toud.conf in /etc/tou (never overwriting an existing one), the
# systemd units (ExecStart naming the installed toud), the sysusers and
# tmpfiles snippets, the man page, docs/API.md and docs/PROTOCOL.md in their places; the
# installed units pass systemd-analyze verify.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"
: "${TOU_BUILD_DIR:?TOU_BUILD_DIR must name the build directory}"

root="$WORK/root"
DESTDIR="$root" cmake --install "$TOU_BUILD_DIR" >"$WORK/install.log" 2>&1 || fail "cmake --install: $(tail -n 5 "$WORK/install.log")"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$TOU_BUILD_DIR/CMakeCache.txt")
p="$root$prefix"
[ -x "$p/sbin/toud" ] || fail "no sbin/toud"
[ -f "$root/etc/tou/toud.conf" ] || fail "no /etc/tou/toud.conf"
cmp "$root/etc/tou/toud.conf" "$HERE/../../conf/toud.conf" || fail "installed toud.conf differs"
unitdir=$(dirname "$(find "$root" -name toud.service | head -n1)")
[ -f "$unitdir/toud.service" ] && [ -f "$unitdir/toud.socket" ] || fail "units not installed"
grep -q "^ExecStart=$prefix/sbin/toud " "$unitdir/toud.service" || fail "ExecStart: $(grep ExecStart "$unitdir/toud.service")"
find "$root" -path '*sysusers.d/tou.conf' | grep -q . || fail "no sysusers.d/tou.conf"
find "$root" -path '*tmpfiles.d/tou.conf' | grep -q . || fail "no tmpfiles.d/tou.conf"
[ -f "$p/share/man/man8/toud.8" ] || fail "no man8/toud.8"
find "$root" -name API.md | grep -q . || fail "no API.md"
find "$root" -name PROTOCOL.md | grep -q . || fail "no PROTOCOL.md"
"$p/sbin/toud" --version | grep -q '^toud ' || fail "installed toud does not run"
echo "ok: installed toud, toud.conf, units, snippets, man page, API.md, PROTOCOL.md"

# the installed units, as systemd would read them (ExecStart must exist)
sed "s|^ExecStart=$prefix/sbin/toud|ExecStart=$p/sbin/toud|" "$unitdir/toud.service" >"$WORK/toud.service"
cp "$unitdir/toud.socket" "$WORK/toud.socket"
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing"
systemd-analyze verify --man=no "$WORK/toud.service" "$WORK/toud.socket" >"$WORK/verify.out" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$WORK/verify.out")"
echo "ok: installed units pass systemd-analyze verify"

# a second install keeps the administrator's toud.conf
echo "# mine" >"$root/etc/tou/toud.conf"
DESTDIR="$root" cmake --install "$TOU_BUILD_DIR" >"$WORK/install2.log" 2>&1 || fail "second install"
[ "$(cat "$root/etc/tou/toud.conf")" = "# mine" ] || fail "install overwrote an existing toud.conf"
echo "ok: an existing /etc/tou/toud.conf is kept"

grep -q '^\.TH TOUD 8 ' "$p/share/man/man8/toud.8" || fail "toud.8 has no .TH TOUD 8 header"
if command -v groff >/dev/null; then
	groff -man -Tutf8 -ww "$p/share/man/man8/toud.8" >/dev/null 2>"$WORK/man.err" || fail "groff: $(cat "$WORK/man.err")"
	[ ! -s "$WORK/man.err" ] || fail "man page warnings: $(cat "$WORK/man.err")"
	echo "ok: toud.8 renders without warnings (groff -ww)"
else
	echo "ok: toud.8 has its header (groff not installed: rendering not checked)"
fi
