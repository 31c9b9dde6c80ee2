# bench/lib.sh - what the bench scripts share (run.sh, cli.sh, grid.sh, fwd.sh,
# rr_syscalls.sh, conn.sh, shards.sh, ...); sourced, not run.
#
#   bench_init PREFIX      a temporary directory $T (/tmp/PREFIX.XXXXXX) and
#                          the exit trap that ends every process in $PIDS and
#                          removes $T and the paths in $CLEAN
#   start_pair TOUD RELAY [toud options...]
#                          two toud daemons on free UDP ports of 127.0.0.1
#                          (picked by RELAY --pick-ports), API sockets
#                          $T/A.sock and $T/B.sock (taking connections
#                          when it returns); sets PA, PB, PID_A, PID_B
#   start_fwd_pair TOUD RELAY NAME [toud options...]
#                          the same pair named NAME (sockets $T/NAMEA.sock
#                          and $T/NAMEB.sock, PID_NAMEA, PID_NAMEB) with a
#                          [forward bench] on A listening on 127.0.0.1:$FWD
#                          to B's tou port 7099, where a [service bench]
#                          connects to 127.0.0.1:$TGT (FWD and TGT: two more
#                          free ports)
#   wait_listener TOU SOCK PORT
#                          until that daemon lists a listener on PORT
#   cli_listen TOU MODE PORT, then cli_connect TOU MODE PORT FILE
#                          one CLI transfer of FILE from daemon A to B:
#                          `tou listen` on B (started, listening: sets
#                          CLI_LP), then `tou connect` from A, waiting for
#                          both.  MODE file: `tou connect < FILE`, `tou
#                          listen > /dev/null`; MODE pipe: `cat FILE | tou
#                          connect`, `tou listen | cat`.  (Callers time what
#                          lies between the two.)
#   kv "LINE" KEY          the value of KEY=... in a result line
#   ratio A B              A / B with two decimals ("-" if B is 0)
#   bytes_of SIZE          a size with a K, M or G suffix in bytes
#   bench_build BUILD_IT TARGET...
#                          configure $BUILD (RelWithDebInfo) from $SRC and
#                          build the targets, unless BUILD_IT is 0 (--no-build)
#   bench_need FILE...     each FILE is executable, or the script stops (exit 2)

kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
bytes_of() {
	local n=${1%[KkMmGg]} s=${1: -1}
	case $s in k | K) echo $((n << 10)) ;; m | M) echo $((n << 20)) ;; g | G) echo $((n << 30)) ;; *) echo "$1" ;; esac
}

bench_build() {
	[ "$1" = 1 ] || return 0
	shift
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$BUILD" -j2 --target "$@" >/dev/null
}

bench_need() {
	local f
	for f; do
		[ -x "$f" ] || { echo "$(basename "$0"): missing $f (build it, or drop --no-build)" >&2; exit 2; }
	done
}

bench_init() {
	T=$(mktemp -d "/tmp/$1.XXXXXX")
	PIDS=()
	CLEAN=()
	trap bench_cleanup EXIT
}

bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T" "${CLEAN[@]}"
}

start_pair() { pair_up "$1" "$2" "" 0 "${@:3}"; }
start_fwd_pair() { pair_up "$1" "$2" "$3" 1 "${@:4}"; }

# pair_up TOUD RELAY NAME FORWARD(0|1) [toud options...]: both of the above
pair_up() {
	local toud=$1 relay=$2 name=$3 fwd=$4 d port ports i
	shift 4
	ports=$("$relay" --pick-ports 4) # free for UDP; the last two serve as TCP ports
	PA=$(sed -n 1p <<<"$ports") PB=$(sed -n 2p <<<"$ports")
	FWD=$(sed -n 3p <<<"$ports") TGT=$(sed -n 4p <<<"$ports")
	: >"$T/${name}A.conf"
	: >"$T/${name}B.conf"
	if [ "$fwd" = 1 ]; then
		printf '[forward bench]\nlisten = 127.0.0.1:%s\nto = 127.0.0.1:%s 7099\n' "$FWD" "$PB" >"$T/${name}A.conf"
		printf '[service bench]\nport = 7099\nto = 127.0.0.1:%s\n' "$TGT" >"$T/${name}B.conf"
	fi
	for d in A B; do
		port=$PA
		if [ $d = B ]; then port=$PB; fi
		"$toud" -c "$T/$name$d.conf" -o "daemon.udp=127.0.0.1:$port" -o "daemon.socket=$T/$name$d.sock" \
			-o daemon.log_level=notice "$@" 2>"$T/$name$d.log" &
		PIDS+=($!)
		printf -v "PID_$name$d" %s $!
	done
	# the socket file appears at bind(2), a moment before listen(2):
	# wait until both take a connection
	for i in $(seq 100); do
		if [ -S "$T/${name}A.sock" ] && [ -S "$T/${name}B.sock" ] &&
			python3 -c 'import socket, sys
for p in sys.argv[1:]:
    socket.socket(socket.AF_UNIX).connect(p)' "$T/${name}A.sock" "$T/${name}B.sock" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "toud did not start:" >&2
	cat "$T/${name}A.log" "$T/${name}B.log" >&2
	exit 1
}

wait_listener() {
	local i
	for i in $(seq 100); do
		if "$1" -s "$2" status 2>/dev/null | grep -q "LISTEN .*/$3 "; then return 0; fi
		sleep 0.05
	done
	echo "no listener on port $3 of $2" >&2
	exit 1
}

cli_listen() {
	if [ "$2" = file ]; then
		"$1" -s "$T/B.sock" listen "$3" >/dev/null 2>"$T/cli.listen.err" </dev/null &
	else
		"$1" -s "$T/B.sock" listen "$3" 2>"$T/cli.listen.err" </dev/null | cat >/dev/null &
	fi
	CLI_LP=$!
	PIDS+=("$CLI_LP")
	wait_listener "$1" "$T/B.sock" "$3"
}

cli_connect() {
	if [ "$2" = file ]; then
		"$1" -s "$T/A.sock" connect "127.0.0.1:$PB" "$3" <"$4" >/dev/null 2>"$T/cli.err"
	else
		cat "$4" | "$1" -s "$T/A.sock" connect "127.0.0.1:$PB" "$3" >/dev/null 2>"$T/cli.err"
	fi || { echo "tou connect failed: $(cat "$T/cli.err")" >&2; exit 1; }
	wait "$CLI_LP" || true
}
