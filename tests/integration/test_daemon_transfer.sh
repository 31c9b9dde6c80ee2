#!/usr/bin/env bash
# test_daemon_transfer.sh - two toud daemons on loopback move 10 MB each
# way through the Unix-socket API, byte-exact (sha256), in both close
# orders (the connecting side shuts down first / the accepting side
# first); both ends then report a clean end ("fin") through STATUS <id>.
set -euo pipefail
. "$(dirname "$0")/test_daemon_common.bash"

start_daemon A
start_daemon B

head -c 10M /dev/urandom >"$WORK/a.in"
head -c 10M /dev/urandom >"$WORK/b.in"
sha_a=$(sha256sum <"$WORK/a.in")
sha_b=$(sha256sum <"$WORK/b.in")

$API hold "$B_SOCK" "LISTEN 7000" >"$WORK/listen.out" &
BG_PIDS+=($!)
wait_for "LISTEN answer" 10 grep -q '^OK 7000$' "$WORK/listen.out"

run_case() { # run_case NAME CLIENT_ORDER SERVER_ORDER
	local name=$1 corder=$2 sorder=$3
	rm -f "$WORK"/*.out.bin "$WORK"/*.id
	$API stream "$B_SOCK" "ACCEPT 7000 timeout=60" "$WORK/b.in" "$WORK/b.out.bin" \
		--order "$sorder" --idfile "$WORK/b.id" 2>"$WORK/acc.err" &
	local acc=$!
	$API stream "$A_SOCK" "CONNECT 127.0.0.1:$B_PORT 7000 timeout=10" "$WORK/a.in" "$WORK/a.out.bin" \
		--order "$corder" --idfile "$WORK/a.id" 2>"$WORK/con.err" || fail "$name: client stream failed: $(cat "$WORK/con.err")"
	wait "$acc" || fail "$name: server stream failed: $(cat "$WORK/acc.err")"
	[ "$(sha256sum <"$WORK/a.out.bin")" = "$sha_b" ] || fail "$name: data B->A differs"
	[ "$(sha256sum <"$WORK/b.out.bin")" = "$sha_a" ] || fail "$name: data A->B differs"
	local end
	end=$($API wait-end "$A_SOCK" "$(cat "$WORK/a.id")" 30) || fail "$name: no end record on A"
	[ "$end" = fin ] || fail "$name: A's end is \"$end\", expected fin"
	end=$($API wait-end "$B_SOCK" "$(cat "$WORK/b.id")" 30) || fail "$name: no end record on B"
	[ "$end" = fin ] || fail "$name: B's end is \"$end\", expected fin"
	echo "ok: $name (10 MB each way, sha256 equal, end=fin on both)"
}

run_case "client closes first" first last
run_case "server closes first" last first

# the listener ends with its LISTEN connection
kill "${BG_PIDS[0]}"
wait_for "listener gone" 10 sh -c "$API req '$B_SOCK' 'ACCEPT 7000' | grep -q '^ERR notfound'"
echo "ok: listener closed with its connection"
