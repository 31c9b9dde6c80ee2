#!/bin/bash
# bench/fwd.sh - forwarded throughput against the API path, interleaved
# (never part of the test run).
#
#   bench/fwd.sh [-B BUILD_DIR] [--toud BIN] [--before OLD_TOUD] [-N ROUNDS]
#                [-n BYTES] [--no-build] [-o KEY=VALUE]... [-f KEY=VALUE]...
#
# Starts a pair of toud daemons (start_fwd_pair in bench/lib.sh: a
# [forward bench] on A to a [service bench] on B, kernel TCP at both ends)
# and, ROUNDS times (default 7), moves BYTES (default 256M) in turn:
#   API        bench_tou bulk: Unix socket -> A -> tou -> B -> Unix socket
#   forwarded  bench_tcp bulk -c FWD -l TGT: kernel TCP -> A -> tou -> B
#              -> kernel TCP
# (the order rotates between rounds), then prints each round's MB/s and
# ratio, the medians, and the median of the rounds' ratios forwarded / API
# (issue 12's target: >= 0.8), and the daemons' CPU seconds per GB.
# --before OLD_TOUD starts a second pair with that binary (e.g. a build of
# main before a change) and interleaves its two transfers with the new
# pair's in every round: "old" columns and the ratio new / old of the
# forwarded MB/s and of the forwarding daemons' CPU per GB.
# -o adds a toud -o option to every daemon (e.g. -o tcp.send_buffer=8M);
# -f adds a KEY = VALUE line to the [forward bench] sections (e.g.
# -f nodelay=yes).  --toud BIN measures another toud binary.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
TOUD=
BEFORE=
ROUNDS=7
BYTES=256M
BUILD_IT=1
TOPTS=()
FOPTS=()
while [ $# -gt 0 ]; do
	case $1 in
	-B) BUILD=$2; shift 2 ;;
	--toud) TOUD=$2; shift 2 ;;
	--before) BEFORE=$2; shift 2 ;;
	-N) ROUNDS=$2; shift 2 ;;
	-n) BYTES=$2; shift 2 ;;
	-o) TOPTS+=(-o "$2"); shift 2 ;;
	-f) FOPTS+=("$2"); shift 2 ;;
	--no-build) BUILD_IT=0; shift ;;
	-h | --help) sed -n '2,25p' "$0"; exit 0 ;;
	*) echo "usage: $0 [-B BUILD_DIR] [--toud BIN] [--before OLD_TOUD] [-N ROUNDS] [-n BYTES] [--no-build]" \
		"[-o K=V]... [-f K=V]..." >&2
	   exit 2 ;;
	esac
done
if [ "$BUILD_IT" = 1 ]; then
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j2 --target toud relay bench_tcp bench_tou >/dev/null
fi
TOUD=${TOUD:-$BUILD/daemon/toud}
RELAY=$BUILD/tests/tools/relay BB=$BUILD/bench
for f in "$TOUD" "$RELAY" "$BB/bench_tcp" "$BB/bench_tou" ${BEFORE:+"$BEFORE"}; do
	[ -x "$f" ] || { echo "missing $f (build it, or drop --no-build)" >&2; exit 2; }
done

source "$SRC/bench/lib.sh"
bench_init tou-fwd
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bytes_of() { # K/M/G suffix -> bytes
	local n=${1%[KkMmGg]} s=${1: -1}
	case $s in k | K) echo $((n << 10)) ;; m | M) echo $((n << 20)) ;; g | G) echo $((n << 30)) ;; *) echo "$1" ;; esac
}
NBYTES=$(bytes_of "$BYTES")

# pair NAME TOUD: a forwarding pair; its ports and pids in P_<what>[NAME]
declare -A P_UDP P_FWD P_TGT P_PIDS
pair() {
	start_fwd_pair "$2" "$RELAY" "$1" "${TOPTS[@]}"
	P_UDP[$1]=$PB P_FWD[$1]=$FWD P_TGT[$1]=$TGT
	local a="PID_${1}A" b="PID_${1}B"
	P_PIDS[$1]="${!a},${!b}"
	if [ ${#FOPTS[@]} -gt 0 ]; then # more settings for the forward: a reload
		for o in "${FOPTS[@]}"; do printf '%s = %s\n' "${o%%=*}" "${o#*=}" >>"$T/${1}A.conf"; done
		kill -HUP "${!a}"
		sleep 0.5
	fi
}
pair N "$TOUD"
KINDS=("N api" "N fwd")
if [ -n "$BEFORE" ]; then
	pair O "$BEFORE"
	KINDS+=("O api" "O fwd")
fi

# one NAME KIND ROUND: one transfer; prints bench's result line
one() {
	if [ "$2" = api ]; then
		"$BB/bench_tou" bulk -a "$T/${1}A.sock" -b "$T/${1}B.sock" -u "127.0.0.1:${P_UDP[$1]}" -p $((7100 + $3)) \
			-n "$NBYTES" -P "${P_PIDS[$1]}" 2>"$T/api.err" || { cat "$T/api.err" >&2; exit 1; }
	else
		"$BB/bench_tcp" bulk -n "$NBYTES" -c "${P_FWD[$1]}" -l "${P_TGT[$1]}" -P "${P_PIDS[$1]}" ||
			{ echo "forwarded bulk failed" >&2; cat "$T/${1}A.log" "$T/${1}B.log" >&2; exit 1; }
	fi
}

echo "forwarded vs API, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $ROUNDS rounds of $NBYTES bytes;" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
hdr="round    API MB/s   fwd MB/s  fwd/API  API CPU/GB  fwd CPU/GB"
if [ -n "$BEFORE" ]; then hdr+="  | old: API MB/s   fwd MB/s  fwd/API  fwd CPU/GB  | new/old: fwd MB/s  fwd CPU/GB"; fi
echo "$hdr"
declare -A COL # COL[NAME KIND mb|cpu] = the rounds' figures, one a line
for r in $(seq "$ROUNDS"); do
	k=$((r % ${#KINDS[@]}))
	for kind in "${KINDS[@]:k}" "${KINDS[@]:0:k}"; do
		l=$(one $kind "$r")
		COL[$kind mb]+="$(kv "$l" mb_s)"$'\n'
		COL[$kind cpu]+="$(kv "$l" daemon_cpu_s_per_gb)"$'\n'
		printf -v "LAST_${kind% *}_${kind#* }" '%s %s' "$(kv "$l" mb_s)" "$(kv "$l" daemon_cpu_s_per_gb)"
	done
	read -r am ac <<<"$LAST_N_api"
	read -r fm fc <<<"$LAST_N_fwd"
	line=$(printf "%-6s %10s %10s %8s %11s %11s" "$r" "$am" "$fm" "$(ratio "$fm" "$am")" "$ac" "$fc")
	COL[N ratio]+="$(ratio "$fm" "$am")"$'\n'
	if [ -n "$BEFORE" ]; then
		read -r oam oac <<<"$LAST_O_api"
		read -r ofm ofc <<<"$LAST_O_fwd"
		line+=$(printf "  | %13s %10s %8s %11s  | %17s %11s" "$oam" "$ofm" "$(ratio "$ofm" "$oam")" "$ofc" \
			"$(ratio "$fm" "$ofm")" "$(ratio "$fc" "$ofc")")
		COL[O ratio]+="$(ratio "$ofm" "$oam")"$'\n'
		COL[new/old mb]+="$(ratio "$fm" "$ofm")"$'\n'
		COL[new/old cpu]+="$(ratio "$fc" "$ofc")"$'\n'
	fi
	echo "$line"
done
med() { printf '%s' "${COL[$1]}" | median; }
line=$(printf "%-6s %10s %10s %8s %11s %11s" median "$(med 'N api mb')" "$(med 'N fwd mb')" "$(med 'N ratio')" \
	"$(med 'N api cpu')" "$(med 'N fwd cpu')")
if [ -n "$BEFORE" ]; then
	line+=$(printf "  | %13s %10s %8s %11s  | %17s %11s" "$(med 'O api mb')" "$(med 'O fwd mb')" "$(med 'O ratio')" \
		"$(med 'O fwd cpu')" "$(med 'new/old mb')" "$(med 'new/old cpu')")
fi
echo "$line"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "forwarded / API, median of the rounds' ratios: $(med 'N ratio') (target >= 0.8)"
if [ -n "$BEFORE" ]; then
	echo "before ($BEFORE): $(med 'O ratio'); forwarded MB/s new / old: $(med 'new/old mb')," \
		"forwarding daemons' CPU per GB new / old: $(med 'new/old cpu')"
fi
