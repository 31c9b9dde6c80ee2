#!/bin/bash
# test_cli_usage.sh - tou's usage errors say what is wrong and how to say it
# right (exit 2, no daemon contacted): netcat's `tou -l 7000` is answered
# with `tou listen 7000`; an option that does not apply names itself; an
# empty --socket is an error, not the default socket; an unknown option is
# named even before an unknown command.
set -euo pipefail
source "${TOU_SOURCE_DIR:-$(dirname "$0")/../..}/tests/client/cli_lib.sh"

# usage_says WANT-LINE CMD...: exit 2 and a first stderr line containing WANT-LINE
usage_says() {
	local want=$1
	shift
	expect_rc 2 "$@"
	head -n 1 "$T/err" | grep -qF -- "$want" || fail "$*: '$(head -n 1 "$T/err")' lacks '$want'"
}

# A daemon that answers anything, on a socket given by $TOU_SOCKET: a
# command that reached it would not exit 2.
start_fake f
export TOU_SOCKET=$T/f.sock

step "netcat's -l: the command to use"
usage_says "tou listen 7000" "$TOU" -l 7000
usage_says "tou listen -k 7000" "$TOU" -lk 7000
usage_says "tou listen -k 7000" "$TOU" -l -k 7000
usage_says "tou listen 7000" "$TOU" connect -l 7000

step "an option that does not apply names itself"
usage_says "option -k/--keep-open does not apply to 'status'" "$TOU" status -k
usage_says "option -j/--json does not apply to 'connect'" "$TOU" connect -j 127.0.0.1 80
usage_says "option -z/--zeros does not apply to 'status'" "$TOU" status -z
usage_says "option -w/--idle-timeout does not apply to 'abort'" "$TOU" abort -w 3 1

step "an empty --socket is an error (not the default socket)"
usage_says "--socket needs a path" "$TOU" -s '' status
usage_says "--socket needs a path" "$TOU" --socket= status

step "bad values and unknown options are named"
usage_says "unknown option '-x'" "$TOU" -x status
usage_says "unknown option '--bogus'" "$TOU" --bogus 7000
usage_says "unknown option '-y'" "$TOU" status -ky
usage_says "-w/--idle-timeout needs whole seconds" "$TOU" connect -w 0 127.0.0.1 80
usage_says "-q needs whole seconds" "$TOU" connect -q 99999999 127.0.0.1 80
usage_says "unknown filter 'foo'" "$TOU" status foo
usage_says "unknown state 'bogus'" "$TOU" status state bogus
usage_says "unknown command 'lisen'" "$TOU" lisen 7000

step "-q alone is still --quiet"
expect_rc 0 "$TOU" -q stats
expect_rc 2 "$TOU" -q -l 7000
[ ! -s "$T/err" ] || fail "--quiet printed: $(cat "$T/err")"
echo "PASS"
