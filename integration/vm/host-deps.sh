#!/bin/bash
# What the host needs to build and boot the test guest: mmdebstrap and
# e2fsprogs (the image), qemu-system-x86_64 (the guest). Installed with apt;
# quiet when all is there.
#
# qemu-system-x86 comes from apt as usual. Where the host already has a newer
# qemu-utils (a backport) that Breaks Debian 12's qemu-system-common, apt
# cannot install it without a downgrade, so the binary and its accelerator
# modules are unpacked from the two packages into CACHE/qemu instead (their
# libraries and firmware come from apt as usual); integration/vm/run.sh
# looks there.
# usage: integration/vm/host-deps.sh CACHE
set -euo pipefail
cache=${1:?usage: host-deps.sh CACHE}

apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "vm: installing ${missing[*]}"
	[ -n "${apt_updated:-}" ] || { apt-get update -qq && apt_updated=1; }
	# --no-remove: never make room by removing what the host has
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends --no-remove "${missing[@]}" >/dev/null
}

apt_install mmdebstrap e2fsprogs qemu-system-data seabios ipxe-qemu

command -v qemu-system-x86_64 >/dev/null && exit 0
[ -f "$cache/qemu/.unpacked" ] && exit 0
[ -n "${apt_updated:-}" ] || { apt-get update -qq && apt_updated=1; }
if apt-get install -s -qq --no-remove qemu-system-x86 >/dev/null 2>&1; then
	apt_install qemu-system-x86
	exit 0
fi
echo "vm: qemu-system-x86 conflicts with this host's qemu-utils; unpacking its binary into $cache/qemu"
# its shared libraries (not the qemu-system-common it would pull in)
mapfile -t libs < <(apt-cache depends --no-recommends --no-suggests qemu-system-x86 |
	awk '$1 ~ /Depends:$/ && $2 !~ /^(<|qemu-|seabios|ipxe)/ {print $2}' | sort -u)
apt_install "${libs[@]}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq qemu-system-x86 qemu-system-common >/dev/null 2>&1)
rm -rf "$cache/qemu"
mkdir -p "$cache"
for deb in "$tmp"/qemu-system-x86_*.deb "$tmp"/qemu-system-common_*.deb; do
	dpkg-deb -x "$deb" "$tmp/root"
done
touch "$tmp/root/.unpacked"
mv "$tmp/root" "$cache/qemu"
"$cache/qemu/usr/bin/qemu-system-x86_64" --version | head -n1
