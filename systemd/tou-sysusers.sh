#!/bin/sh
# tou-sysusers.sh - create the "tou" system user and group (toud runs as
# it; members of the group may use the API socket), as the install step
# does: with systemd-sysusers and our sysusers.d(5) snippet where it
# exists, else with groupadd/useradd (shadow), else addgroup/adduser
# (BusyBox).  An existing user or group is left alone.
#
#   tou-sysusers.sh SNIPPET [ROOT]      ROOT: act on ROOT/etc (tests)
#
# TOU_SYSUSERS_FALLBACK=1 skips systemd-sysusers (tests of the fallback).
set -eu
snippet=$1
root=${2:-}

if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
	echo "tou-sysusers: not root: create the system user and group tou yourself" >&2
	exit 0
fi
if [ "${TOU_SYSUSERS_FALLBACK:-0}" != 1 ] && command -v systemd-sysusers >/dev/null 2>&1; then
	if [ -n "$root" ]; then
		exec systemd-sysusers --root="$root" "$snippet"
	fi
	exec systemd-sysusers "$snippet"
fi
passwd=${root}/etc/passwd
group=${root}/etc/group
grep -q '^tou:' "$group" 2>/dev/null || {
	if command -v groupadd >/dev/null 2>&1; then
		groupadd ${root:+-P "$root"} --system tou
	else
		[ -z "$root" ] || { echo "tou-sysusers: no groupadd for ROOT" >&2; exit 1; }
		addgroup -S tou
	fi
}
grep -q '^tou:' "$passwd" 2>/dev/null || {
	nologin=/usr/sbin/nologin
	[ -x "$nologin" ] || nologin=/sbin/nologin
	if command -v useradd >/dev/null 2>&1; then
		useradd ${root:+-P "$root"} --system -g tou -d / -s "$nologin" -c "tou daemon" tou
	else
		[ -z "$root" ] || { echo "tou-sysusers: no useradd for ROOT" >&2; exit 1; }
		adduser -S -D -H -G tou -h / -s "$nologin" -g "tou daemon" tou
	fi
}
