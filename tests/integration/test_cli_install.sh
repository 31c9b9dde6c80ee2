#!/bin/bash
# test_cli_install.sh - what `cmake --install` gives users of tou and
# admins of toud (into a DESTDIR):
#  - libtou static (libtou.a) and shared (libtou.so.0: SONAME, exports only
#    the tou_* API), with pkg-config files for both (tou, tou-static): a
#    program built with each runs against a live toud;
#  - man pages tou(1), toud(8), toud.conf(5) that render without warnings
#    and name the installed API.md by a path that exists;
#  - bash and zsh completion where the shells look (the paths tou(1)
#    names), syntax-checked (bash -n, zsh -n), answering scripted bash
#    completion queries (commands, options, states, live connection ids),
#    and knowing every option `tou COMMAND --help` lists;
#  - toud.service with LogsDirectory= and StateDirectory= (pcap and state
#    under ProtectSystem=strict), clean under systemd-analyze verify, with
#    an exposure of at most 2.0 under systemd-analyze security;
#  - the install step's user creation (systemd/tou-sysusers.sh) makes the
#    system user and group tou, with systemd-sysusers and without.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"
: "${TOU_BUILD_DIR:?TOU_BUILD_DIR must name the build directory}"
SRC=$TOU_SOURCE_DIR

root=$T/root
DESTDIR="$root" cmake --install "$TOU_BUILD_DIR" >"$T/install.log" 2>&1 || fail "cmake --install: $(tail -n 5 "$T/install.log")"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$TOU_BUILD_DIR/CMakeCache.txt")
p=$root$prefix
libdir=$(dirname "$(find "$p" -name libtou.a | head -n 1)")
[ -f "$libdir/libtou.a" ] || fail "no libtou.a"
incdir=$p/include

step "libtou: static and shared, SONAME, exported symbols"
[ -L "$libdir/libtou.so" ] && [ -L "$libdir/libtou.so.0" ] || fail "libtou.so symlinks: $(ls -l "$libdir")"
so=$(readlink -f "$libdir/libtou.so.0")
readelf -d "$so" | grep -q 'SONAME.*\[libtou\.so\.0\]' || fail "SONAME: $(readelf -d "$so" | grep SONAME)"
nm -D --defined-only "$so" | awk '{ print $3 }' >"$T/exports"
grep -q '^tou_connect$' "$T/exports" || fail "tou_connect not exported"
bad=$(grep -v '^tou_' "$T/exports" || true)
[ -z "$bad" ] || fail "libtou.so exports more than tou_*: $bad"
! grep -q '^tou_addr_not_unicast$' "$T/exports" || fail "an internal function is exported"
[ -f "$incdir/tou.h" ] && [ -f "$incdir/tou_proto.h" ] || fail "headers not installed"

step "pkg-config tou (shared) and tou-static: programs built with each run"
PA=$(free_udp_port)
start_toud a "$PA"
cat >"$T/v.c" <<'CEOF'
#include <stdio.h>
#include <tou.h>
int main(int argc, char **argv)
{
	char v[64];
	int r = tou_version(argc > 1 ? argv[1] : NULL, v, sizeof v);
	if (r < 0) {
		fprintf(stderr, "%s\n", tou_strerror(r));
		return 1;
	}
	printf("%s\n", v);
	return 0;
}
CEOF
export PKG_CONFIG_PATH=$libdir/pkgconfig
for pc in tou tou-static; do
	flags=$(pkg-config --define-variable=prefix="$p" --cflags --libs "$pc") || fail "pkg-config $pc"
	# shellcheck disable=SC2086 # flags are words
	cc -o "$T/v-$pc" "$T/v.c" $flags || fail "build with pkg-config $pc: $flags"
	LD_LIBRARY_PATH=$libdir "$T/v-$pc" "$T/a.sock" >"$T/v.out" || fail "$pc program failed"
	grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' "$T/v.out" || fail "$pc program: $(cat "$T/v.out")"
done
readelf -d "$T/v-tou" | grep -q 'NEEDED.*\[libtou\.so\.0\]' || fail "pkg-config tou did not link libtou.so.0"
! readelf -d "$T/v-tou-static" | grep -q 'libtou' || fail "pkg-config tou-static linked the shared library"

step "man pages: installed, rendering, naming the installed API.md"
api=$prefix/share/doc/tou/API.md
[ -f "$root$api" ] || fail "no $api"
for page in man1/tou.1 man5/toud.conf.5 man8/toud.8; do
	f=$p/share/man/$page
	[ -f "$f" ] || fail "no $page"
	! grep -q '@[A-Z_]*@' "$f" || fail "$page: placeholder left: $(grep '@[A-Z_]*@' "$f")"
	groff -man -Tutf8 -ww "$f" >/dev/null 2>"$T/groff.err" || fail "groff $page"
	[ ! -s "$T/groff.err" ] || fail "$page warnings: $(cat "$T/groff.err")"
done
grep -q "$api" "$p/share/man/man1/tou.1" || fail "tou.1 does not name $api"
grep -q "$api" "$p/share/man/man8/toud.8" || fail "toud.8 does not name $api"
grep -q '^\.TH TOUD\.CONF 5 ' "$p/share/man/man5/toud.conf.5" || fail "toud.conf.5 header"
# (every key in toud.conf(5): test_daemon_config)

step "completion: installed where tou(1) says, syntax"
bash_comp=$(sed -n 's/^\.I \(.*bash\\-completion.*\)$/\1/p' "$p/share/man/man1/tou.1" | sed 's/\\-/-/g')
zsh_comp=$(sed -n 's/^\.I \(.*zsh.*_tou\)$/\1/p' "$p/share/man/man1/tou.1" | sed 's/\\-/-/g')
[ -n "$bash_comp" ] && [ -f "$root$bash_comp" ] || fail "bash completion not at '$bash_comp'"
[ -n "$zsh_comp" ] && [ -f "$root$zsh_comp" ] || fail "zsh completion not at '$zsh_comp'"
bash -n "$root$bash_comp" || fail "bash -n"
command -v zsh >/dev/null || fail "zsh is missing (tests/setup.sh deps)"
zsh -n "$root$zsh_comp" || fail "zsh -n"
head -n 1 "$root$zsh_comp" | grep -qx '#compdef tou' || fail "zsh completion: no #compdef tou"

step "completion: scripted bash queries"
# a live connection whose id the completion must offer for `tou abort`
mkfifo "$T/lin" "$T/cin"
PB=$(free_udp_port)
start_toud b "$PB"
"$TOU" -s "$T/b.sock" listen 7000 <"$T/lin" >/dev/null 2>&1 &
bg $!
exec 7<>"$T/lin"
connect_held "$T/a.sock" "127.0.0.1:$PB" 7000 "$T/b.sock" "$T/cin" /dev/null "$T/c.err" || fail "no connection"
CID=$(conn_id "$T/a.sock" "/[0-9]+\$" ESTABLISHED)
cat >"$T/q.bash" <<'QEOF'
source "$1"
shift
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
_tou
printf '%s\n' "${COMPREPLY[@]}"
QEOF
complete_q() { # WORDS...: the completions of the last word
	PATH=$(dirname "$TOU"):$PATH bash "$T/q.bash" "$root$bash_comp" "$@" | sort
}
[ "$(complete_q tou sta | tr '\n' ' ')" = "stats status " ] || fail "tou sta: $(complete_q tou sta)"
[ "$(complete_q tou -v i)" = info ] || fail "tou -v i: $(complete_q tou -v i)"
complete_q tou status state est | grep -qx established || fail "state est"
complete_q tou connect - | grep -qx -- -w || fail "connect -: no -w"
complete_q tou connect - | grep -qx -- -4 || fail "connect -: no -4"
! complete_q tou status - | grep -qx -- -w || fail "status -: offers -w"
complete_q tou -s "$T/a.sock" abort '' | grep -qx "$CID" || fail "abort: id $CID not offered: $(complete_q tou -s "$T/a.sock" abort '')"
complete_q tou -s "$T/a.sock" stats Tcp | grep -qx TcpActiveOpens || fail "stats Tcp: no TcpActiveOpens"
[ -z "$(complete_q tou -t '')" ] || fail "a number after -t: $(complete_q tou -t '')"
exec 8>&- 7>&-

step "completion: every option of --help is known to both scripts"
for c in connect listen status stats info abort; do
	# the option lines of the help: "  -t, --timeout S     give up..."
	opts=$("$TOU" "$c" --help | sed -n 's/^  \(-[^ ].*\)/\1/p' | sed 's/  .*//' |
		grep -oE '(^|[ ,/])--?[a-zA-Z46][a-z-]*' | sed 's/^[ ,/]*//' | sort -u)
	[ -n "$opts" ] || fail "no options found in tou $c --help"
	known=$(PATH=$(dirname "$TOU"):$PATH bash -c 'source "$1"; _tou_options "$2"' _ "$root$bash_comp" "$c")
	for o in $opts; do
		case " $known " in *" $o "*) ;; *) fail "bash completion of $c lacks $o" ;; esac
		grep -q -- "$o" "$root$zsh_comp" || fail "zsh completion lacks $o"
	done
done

step "toud.service: writable log and state directories, verify, security"
unit=$(find "$root" -name toud.service | head -n 1)
grep -q '^LogsDirectory=tou$' "$unit" || fail "no LogsDirectory=tou"
grep -q '^StateDirectory=tou$' "$unit" || fail "no StateDirectory=tou"
sed "s|^ExecStart=$prefix/sbin/toud|ExecStart=$p/sbin/toud|" "$unit" >"$T/toud.service"
cp "$(dirname "$unit")/toud.socket" "$T/toud.socket"
systemd-analyze verify --man=no "$T/toud.service" "$T/toud.socket" >"$T/verify.out" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$T/verify.out")"
! grep -q 'toud\.\(service\|socket\)' "$T/verify.out" || fail "verify warns: $(cat "$T/verify.out")"
systemd-analyze security --offline=true --no-pager "$T/toud.service" >"$T/security.out" 2>&1 ||
	fail "systemd-analyze security: $(tail -n 3 "$T/security.out")"
level=$(sed -n 's/.*Overall exposure level for toud.service: \([0-9.]*\).*/\1/p' "$T/security.out")
[ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure level '$level' (want <= 2.0)"

step "the install step creates the system user and group tou"
for mode in sysusers fallback; do
	r=$T/users-$mode
	mkdir -p "$r/etc"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$r/etc/passwd"
	printf 'root:x:0:\n' >"$r/etc/group"
	: >"$r/etc/shadow"
	: >"$r/etc/gshadow"
	fb=0
	[ $mode = fallback ] && fb=1
	TOU_SYSUSERS_FALLBACK=$fb sh "$SRC/systemd/tou-sysusers.sh" "$SRC/systemd/tou.sysusers.conf" "$r" \
		>"$T/users.out" 2>&1 || fail "$mode: $(cat "$T/users.out")"
	grep -Eq '^tou:x:[0-9]+:[0-9]+:[^:]*:/:/(usr/)?sbin/nologin$' "$r/etc/passwd" || fail "$mode: passwd: $(cat "$r/etc/passwd")"
	gid=$(awk -F: '$1 == "tou" { print $4 }' "$r/etc/passwd")
	grep -q "^tou:x:$gid:" "$r/etc/group" || fail "$mode: group: $(cat "$r/etc/group")"
	# a second run leaves them alone
	TOU_SYSUSERS_FALLBACK=$fb sh "$SRC/systemd/tou-sysusers.sh" "$SRC/systemd/tou.sysusers.conf" "$r" \
		>"$T/users.out" 2>&1 || fail "$mode, again: $(cat "$T/users.out")"
	[ "$(grep -c '^tou:' "$r/etc/passwd")" -eq 1 ] || fail "$mode: tou twice"
done
grep -q 'tou-sysusers.sh' "$TOU_BUILD_DIR/cmake_install.cmake" "$TOU_BUILD_DIR"/*/cmake_install.cmake ||
	fail "cmake --install does not run tou-sysusers.sh"
echo "PASS"
