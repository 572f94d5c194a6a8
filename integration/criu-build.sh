#!/bin/bash
# Find or build a CRIU that works on the running kernel; print its path.
#
# usage: integration/criu-build.sh [--check]    (needs root to build)
#   --check  only print the path of a working CRIU (exit 1 when there is none)
#
# The distribution's criu is used when `criu check` passes and it is not a
# version known to fail on this kernel. Debian 12's 3.17 fails on kernels
# >= 6.13 (the vDSO split into [vvar] + [vvar_vclock], handled since 4.1),
# and 4.1.x cannot dump TCP sockets on kernels >= 6.16 (SO_PASSCRED
# restricted, fixed in 4.2). Otherwise CRIU 4.2.1 is built from Debian sid's
# *source* package, fetched with `apt-get source` through a private apt
# configuration (the system's apt sources and state are untouched; only the
# upstream tarball is used, checked against a pinned sha256), with
# bookworm's -dev packages, into $CRIU_CACHE (default /var/tmp/berth-criu):
# the binary is $CRIU_CACHE/bin/criu. Nothing is installed into system paths;
# `install -m 755 $CRIU_CACHE/bin/criu /usr/local/sbin/criu` does that.
#
# Knobs: CRIU_CACHE, CRIU_MIRROR=uri (default: the first Debian mirror of the
# apt sources), CRIU_SRC=tarball (skip the download).
set -uo pipefail

CACHE=${CRIU_CACHE:-/var/tmp/berth-criu}
VER=4.2.1
ORIG=criu_$VER.orig.tar.xz
ORIG_SHA256=29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9
SUITE=sid
STAMP_KEY="v1 $ORIG_SHA256"
# Build dependencies (bookworm's), and what criu runs at dump/restore time
# (ip for network namespaces, iptables for the TCP network lock, tar for tmpfs).
BUILD_DEPS=(gcc make pkgconf python3 protobuf-c-compiler protobuf-compiler libprotobuf-dev libprotobuf-c-dev
	libnl-3-dev libnet1-dev libcap-dev libaio-dev libgnutls28-dev libnftables-dev libbsd-dev uuid-dev libdrm-dev
	iproute2 iptables tar xz-utils debian-archive-keyring)

say() { echo "[criu] $*" >&2; }
die() { say "error: $*"; exit 2; }

version_of() { # CRIU -> "4.2.1" (empty when it does not run)
	"$1" --version 2>/dev/null | sed -n 's/^Version: *//p' | head -n1
}

# version_ge A B: A >= B (dotted, missing parts are 0)
version_ge() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

# usable CRIU: `criu check` passes and the version is not known to fail here.
usable() {
	local c=$1 v kernel
	[ -x "$c" ] || return 1
	v=$(version_of "$c")
	[ -n "$v" ] || return 1
	kernel=$(uname -r | cut -d- -f1)
	if version_ge "$kernel" 6.16 && ! version_ge "$v" 4.2; then
		say "$c is CRIU $v: it cannot dump TCP sockets on kernel $kernel (needs 4.2)"
		return 1
	fi
	"$c" check >/dev/null 2>&1 || { say "$c is CRIU $v: \`criu check\` fails on kernel $kernel"; return 1; }
}

cached() { [ -x "$CACHE/bin/criu" ] && [ "$(cat "$CACHE/bin/.stamp" 2>/dev/null)" = "$STAMP_KEY" ]; }

find_working() {
	if cached && usable "$CACHE/bin/criu"; then echo "$CACHE/bin/criu"; return 0; fi
	local sys
	sys=$(command -v criu 2>/dev/null) && usable "$sys" && { echo "$sys"; return 0; }
	return 1
}

install_deps() {
	local p missing=()
	for p in "${BUILD_DEPS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	say "installing ${missing[*]}"
	local apt=(apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends)
	DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${missing[@]}" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${missing[@]}" >&2; } ||
		die "apt-get install failed"
}

# shellcheck source=lib/debsrc.sh
source "$(dirname "$0")/lib/debsrc.sh"

fetch_source() { # prints the verified upstream tarball
	if [ -n "${CRIU_SRC:-}" ]; then echo "$CRIU_SRC"; return; fi
	debsrc_fetch "$CACHE" "${CRIU_MIRROR:-}" "$SUITE" "criu=$VER-1" "$ORIG" "$ORIG_SHA256"
}

build() {
	install_deps
	local src build
	src=$(fetch_source) || exit 2
	build=$CACHE/build
	rm -rf "$build" && mkdir -p "$build" "$CACHE/bin"
	tar -xJf "$src" -C "$build" || die "unpack $src"
	say "building CRIU $VER (make -j2 criu)"
	make -C "$build/criu-$VER" -j2 criu >"$CACHE/build.log" 2>&1 || {
		tail -n 30 "$CACHE/build.log" >&2
		die "build failed (log: $CACHE/build.log)"
	}
	install -m 755 "$build/criu-$VER/criu/criu" "$CACHE/bin/criu" || die "install into $CACHE/bin"
	echo "$STAMP_KEY" >"$CACHE/bin/.stamp"
	rm -rf "$build"
}

if find_working; then exit 0; fi
[ "${1:-}" = --check ] && exit 1
[ "$(id -u)" = 0 ] || die "building CRIU needs root (apt-get for the build dependencies)"
build
usable "$CACHE/bin/criu" || die "the CRIU built in $CACHE/bin does not pass \`criu check\` on this kernel"
echo "$CACHE/bin/criu"
