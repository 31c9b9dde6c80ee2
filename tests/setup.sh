#!/usr/bin/env bash
# tests/setup.sh - the two Quick start commands of README.md.
#
#   tests/setup.sh run    install what is missing, build, install, start toud on
#                         its defaults and send a line through it
#   tests/setup.sh test   install what is missing, build (plain, ASan+UBSan and
#                         libFuzzer builds) and run the whole test suite
#   tests/setup.sh deps   only install the Debian packages
#
# Needs root (apt-get, make install, network namespaces in the tests).
# Environment: JOBS (build parallelism, default 2), FUZZ_SECONDS (per fuzz
# target, default 30), BUILD (build directory, default ./build).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
JOBS=${JOBS:-2}
BUILD=${BUILD:-$top/build}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

say() { printf '\n== %s\n' "$*"; }

# Everything a fresh Debian 12 needs, by package name.
PACKAGES=(
	build-essential cmake pkg-config          # toolchain
	libuv1-dev libinih-dev libsystemd-dev     # toud's libraries
	nettle-dev                                # TCP-AO's HMAC-SHA1 and AES-CMAC
	clang libclang-rt-14-dev                  # libFuzzer and sanitizer runtimes
	python3 socat iproute2 procps util-linux  # test drivers, netns, setpriv
	curl                                      # HTTP client through [forward] (test_forward_*)
	tshark                                    # pcap test decodes our captures
	valgrind                                  # memcheck of the tests and of a live toud
	systemd                                   # systemd-analyze, systemd-socket-activate
	kmod                                      # modprobe sch_netem for impairment tests
	zsh                                       # zsh -n of the zsh completion (test_cli_install)
)

deps() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "all packages present"
		return
	fi
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends "${missing[@]}"
}

build() { # build DIR [cmake args...]
	local dir=$1
	shift
	cmake -S "$top" -B "$dir" "$@"
	cmake --build "$dir" -j "$JOBS"
}

run() {
	deps
	build "$BUILD"
	say "installing to /usr/local"
	cmake --install "$BUILD"
	install -d -m 0755 /etc/tou
	[ -f /etc/tou/toud.conf ] || install -m 0644 conf/toud.conf /etc/tou/toud.conf
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		say "starting toud.socket and toud.service with systemd"
		systemctl daemon-reload
		systemctl enable --now toud.socket toud.service
	elif ! tou -q stats >/dev/null 2>&1; then
		# (cmake --install created the user and group tou)
		say "starting toud in the background (no systemd here) as user tou; log: /var/log/toud.log"
		install -d -m 0755 -o tou -g tou /run/tou
		nohup toud -o daemon.user=tou >>/var/log/toud.log 2>&1 &
	fi
	for _ in $(seq 50); do tou -q stats >/dev/null 2>&1 && break; sleep 0.1; done
	say "toud is up; a stream to ourselves over UDP port 9811:"
	tou listen 7 >/tmp/tou-quickstart.out &
	local listener=$!
	sleep 0.3
	echo "hello from tou, $(date)" | tou connect 127.0.0.1 7
	wait "$listener"
	printf 'the listener received: '
	cat /tmp/tou-quickstart.out
	say "connections and counters: tou status; tou stats"
	tou stats
}

fuzz() {
	say "libFuzzer build (clang) and ${FUZZ_SECONDS}s per target"
	CC=clang cmake -S "$top" -B "$top/build-fuzz" -DTOU_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	local src name work t
	for src in "$top"/tests/fuzz/fuzz_*.c; do
		name=$(basename "$src" .c)
		cmake --build "$top/build-fuzz" -j "$JOBS" --target "$name"
		t="$top/build-fuzz/tests/$name"
		work=$(mktemp -d)
		cp -r "$top/tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
		say "fuzzing $name"
		"$t" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$top/tests/fuzz/" "$work" 2>&1 | tail -n 12
		rm -rf "$work"
	done
}

test_all() {
	deps
	say "ASan+UBSan build: unit, simulation, fuzz-corpus and module tests"
	build "$top/build-asan" -DTOU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	(cd "$top/build-asan" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$JOBS" -E '^integration/')
	fuzz
	say "release build: the whole suite"
	build "$BUILD"
	cd "$BUILD"
	ctest --output-on-failure
}

case "${1:-}" in
run) run ;;
test) test_all ;;
deps) deps ;;
*)
	echo "usage: $0 run|test|deps" >&2
	exit 2
	;;
esac
