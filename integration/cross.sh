#!/bin/bash
# berth for aarch64, built and unit-tested on this x86_64 host.
#
# usage: integration/cross.sh std     fetch the aarch64 standard library (needs root); print the sysroot
#        integration/cross.sh check   cargo check --target aarch64-unknown-linux-gnu --all-targets (-D warnings)
#        integration/cross.sh build   cargo build --release --target aarch64-unknown-linux-gnu (static berth)
#        integration/cross.sh test    the library's unit tests, built for aarch64, run under qemu-user
#
# The compiler: rustup's own when it has the aarch64-unknown-linux-gnu target.
# Without network access `rustup target add` cannot fetch that target's std, so
# otherwise Debian's: rustc-web (a Rust as new as rustup's) with the aarch64 std
# of the very same version, Debian's libstd-rust-web-dev:arm64. `std` downloads
# that package with a private apt configuration (the system's sources, arm64
# only; dpkg's architectures and the system's apt state are untouched) and
# unpacks it into $CROSS_CACHE (default /var/cache/berth-cross), a sysroot
# beside Debian's own; it is redone when rustc-web's version changes.
# C code (zstd) and the link use Debian's gcc-aarch64-linux-gnu; the tests run
# under Debian's qemu-user-static (no binfmt_misc needed: cargo runs them
# through it).
#
# When a piece is missing, check/build/test say what and exit 0 (skipped),
# unless BERTH_CROSS_TOOLS=required. Other failures exit non-zero.
set -uo pipefail

TARGET=aarch64-unknown-linux-gnu
CACHE=${CROSS_CACHE:-/var/cache/berth-cross}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARGO=${CARGO:-cargo}

say() { echo "cross: $*" >&2; }
skip() {
	if [ "${BERTH_CROSS_TOOLS:-}" = required ]; then
		say "error: BERTH_CROSS_TOOLS=required but $*"
		exit 1
	fi
	say "skipped ($TARGET): $*"
	exit 0
}

rustup_has_target() {
	command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$TARGET"
}

debian_rustc_version() {
	dpkg-query -W -f='${Status} ${Version}' rustc-web 2>/dev/null | sed -n 's/^install ok installed //p'
}

sysroot_of() { # version -> the sysroot directory (may not exist yet)
	echo "$CACHE/sysroot-$1/usr"
}

# The aarch64 std matching Debian's rustc-web, unpacked once into $CACHE.
fetch_std() {
	local ver sysroot apt deb
	ver=$(debian_rustc_version)
	[ -n "$ver" ] || { say "Debian's rustc-web is not installed"; return 1; }
	sysroot=$(sysroot_of "$ver")
	if ls "$sysroot/lib/rustlib/$TARGET/lib/"libstd-*.rlib >/dev/null 2>&1; then
		echo "$sysroot"
		return 0
	fi
	[ "$(id -u)" = 0 ] || { say "fetching the aarch64 std needs root (apt-get)"; return 1; }
	apt=$CACHE/apt
	mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$CACHE/debs"
	local opts=(-o APT::Architecture=arm64 -o APT::Architectures=arm64
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o Dir::State::status=/dev/null
		-o Debug::NoLocking=1 -o Acquire::Languages=none -o APT::Sandbox::User=root)
	say "fetching Debian's libstd-rust-web-dev:arm64 $ver"
	apt-get "${opts[@]}" update >&2 || { say "apt-get update (arm64 lists) failed"; return 1; }
	(cd "$CACHE/debs" && apt-get "${opts[@]}" download "libstd-rust-web-dev=$ver" >&2) ||
		{ say "apt-get download libstd-rust-web-dev:arm64=$ver failed"; return 1; }
	deb=$(ls "$CACHE/debs/libstd-rust-web-dev_"*"_arm64.deb" 2>/dev/null | grep -F "_${ver//:/%3a}_" | head -n1)
	[ -n "$deb" ] || { say "the downloaded package is not there"; return 1; }
	rm -rf "$CACHE/sysroot-$ver.tmp"
	dpkg-deb -x "$deb" "$CACHE/sysroot-$ver.tmp" && mv "$CACHE/sysroot-$ver.tmp" "$CACHE/sysroot-$ver" ||
		{ say "unpacking $deb failed"; return 1; }
	rm -f "$deb"
	echo "$sysroot"
}

# Set up the environment for cargo --target $TARGET, or skip saying why.
setup() {
	command -v aarch64-linux-gnu-gcc >/dev/null ||
		skip "Debian's gcc-aarch64-linux-gnu is not installed (make deps)"
	[ -e /usr/aarch64-linux-gnu/lib/libc.so ] ||
		skip "Debian's libc6-dev-arm64-cross is not installed (make deps)"
	export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
	export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
	export CARGO_TARGET_DIR=$ROOT/target/cross
	FLAGS=""
	if rustup_has_target; then
		say "rustup's $(rustc -V) with its $TARGET target"
		return
	fi
	local ver sysroot
	ver=$(debian_rustc_version)
	[ -n "$ver" ] || skip "rustup has no $TARGET target (rustup target add needs network access) and Debian's rustc-web is not installed (make deps)"
	sysroot=$(sysroot_of "$ver")
	ls "$sysroot/lib/rustlib/$TARGET/lib/"libstd-*.rlib >/dev/null 2>&1 ||
		skip "no aarch64 std for Debian's rustc $ver in $CACHE (integration/cross.sh std, part of make deps)"
	export RUSTC=/usr/bin/rustc
	FLAGS="--sysroot $sysroot"
	say "Debian's $(/usr/bin/rustc -V) with the aarch64 std of libstd-rust-web-dev:arm64"
}

case "${1:-}" in
std)
	fetch_std
	;;
check)
	setup
	RUSTFLAGS="$FLAGS -D warnings" "$CARGO" check --quiet --target "$TARGET" --all-targets || exit 1
	say "cargo check --target $TARGET --all-targets: no errors, no warnings"
	;;
build)
	setup
	RUSTFLAGS="$FLAGS -C target-feature=+crt-static" "$CARGO" build --release --target "$TARGET" --bin berth || exit 1
	say "built $CARGO_TARGET_DIR/$TARGET/release/berth"
	;;
test)
	setup
	command -v qemu-aarch64-static >/dev/null || skip "Debian's qemu-user-static is not installed (make deps)"
	export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
	# Tests of features qemu-user 7.2 (Debian 12) does not emulate, skipped
	# here only: openat2 (ENOSYS: image unpacking, procfs and rootfs path
	# resolution), bpf(2) (the cgroup v2 device program), and the error of
	# spawning a missing program (glibc's vfork-based posix_spawn reports it
	# through memory that qemu's emulated vfork does not share).
	skips=(image::apply image::container image::fsops image::layout image::store procfs::
		rootfs::paths cgroups::root_tests::v2_device_program criu::tests::version_over_rpc)
	args=()
	for s in "${skips[@]}"; do args+=(--skip "$s"); done
	RUSTFLAGS="$FLAGS" "$CARGO" test --target "$TARGET" --lib -- "${args[@]}" || exit 1
	;;
*)
	echo "usage: $0 std|check|build|test" >&2
	exit 2
	;;
esac
