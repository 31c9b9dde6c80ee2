#!/bin/bash
# test_bench_grid.sh - bench/grid.sh works: one short point (1 % loss,
# 20 ms RTT, 1 s per run) of tou against the kernel's TCP through the
# impairment relay.  It checks that the tool runs to the end, prints a row
# with a goodput for tou (CUBIC and BBR), the kernel's default congestion
# control and CUBIC (each above zero: data crossed), that the paths went
# through their relay
# and lost datagrams there (the impairment applies to both), and that no
# network namespace is left behind.  No goodput is compared: figures are
# bench/'s business, not a test's.
#
# Needs root (network namespaces, TUN).  Environment: TOU_BUILD_DIR,
# TOU_SOURCE_DIR (set by ctest).
set -u
src=${TOU_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TOU_BUILD_DIR:-$src/build}
out=$(mktemp /tmp/tou-grid-test.XXXXXX)
trap 'rm -f "$out"' EXIT
fails=0
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
ok() { echo "ok $1"; }

if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: needs root for network namespaces and TUN devices"
	exit 1
fi
before=$(ip netns list | grep -c '^tougrid' || true)

rc=0
bash "$src/bench/grid.sh" -B "$build" --no-build -t 1 --loss 1 --rtt 20 --cc cubic >"$out" 2>&1 || rc=$?
sed 's/^/# /' "$out"
[ $rc -eq 0 ] && ok "grid.sh exits 0" || fail "grid.sh exited $rc"

# the row: loss rtt tou:cubic tou:bbr k:default k:cubic and the ratios
# cubic/k:default cubic/k:cubic bbr/k:default bbr/k:cubic
row=$(awk '$1 == "1" && $2 == "20"' "$out")
if [ -z "$row" ]; then
	fail "no row for 1 % loss, 20 ms"
else
	read -r _ _ tou tbbr kdef kcubic r1 r2 r3 r4 <<<"$row"
	for v in "tou-cubic:$tou" "tou-bbr:$tbbr" "kernel-default:$kdef" "kernel-cubic:$kcubic"; do
		if awk -v x="${v#*:}" 'BEGIN { exit !(x + 0 > 0) }'; then
			ok "goodput ${v%%:*} ${v#*:} MB/s > 0"
		else
			fail "goodput ${v%%:*} is '${v#*:}'"
		fi
	done
	for r in "$r1" "$r2" "$r3" "$r4"; do
		[[ $r =~ ^[0-9.e+-]+$ ]] && ok "ratio $r" || fail "ratio '$r' is not a number"
	done
fi

# the relay counters: each path's data direction crossed its relay, lossy
for path in tou-cubic tou-bbr kernel; do
	line=$(awk -v p="$path" '$1 == p && $2 == "a2b"' "$out")
	rx=$(sed -n 's/.* rx=\([0-9]*\).*/\1/p' <<<"$line")
	dl=$(sed -n 's/.* drop_loss=\([0-9]*\).*/\1/p' <<<"$line")
	if [ "${rx:-0}" -gt 0 ] && [ "${dl:-0}" -gt 0 ]; then
		ok "$path path crossed the relay: $rx datagrams, $dl dropped"
	else
		fail "$path path relay counters: '$line'"
	fi
done

after=$(ip netns list | grep -c '^tougrid' || true)
[ "$after" -le "$before" ] && ok "namespaces removed" || fail "grid.sh left network namespaces behind"

[ $fails -eq 0 ] || exit 1
