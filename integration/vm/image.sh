#!/bin/bash
# Build the test guest once: a small Debian 12 with systemd as PID 1, a pure
# cgroup v2 hierarchy and AppArmor, made with mmdebstrap from the Debian
# mirrors the host's apt uses. Writes into DIR:
#   rootfs.img  ext4 image of the root file system (the guest boots a
#               throw-away snapshot of it, never the file itself)
#   vmlinuz, initrd.img  the guest kernel and initramfs, taken out of it
#   stamp       a hash of this script: a changed script builds anew
# usage: integration/vm/image.sh DIR
set -euo pipefail

dir=${1:?usage: image.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)

# What the guest's tests use, beyond the base system: the init and its bus,
# the LSM and its tools, the kernel, the suite and its helpers, the runtimes
# the suite runs against.
PACKAGES=(
	systemd systemd-sysv dbus udev kmod
	apparmor apparmor-utils
	linux-image-amd64
	bats jq busybox-static procps iproute2 util-linux
	runc crun
)

stamp=$(cat "$0" "$here/guest-boot.sh" | sha256sum | cut -d' ' -f1)
if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$stamp" ] &&
	[ -f "$dir/rootfs.img" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.img" ]; then
	exit 0
fi

# The host's Debian sources (deb.debian.org, a local mirror, a snapshot...)
# as one-line sources for mmdebstrap.
mapfile -t mirrors < <(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
	'Created-By: Packages' 'Origin: Debian' 2>/dev/null | sort -u | awk '{print "deb " $1 " " $2 " " $3}')
[ ${#mirrors[@]} -gt 0 ] || mirrors=("deb http://deb.debian.org/debian bookworm main")

echo "vm image: building in $dir (mmdebstrap, ${#PACKAGES[@]} packages; a few minutes)"
start=$SECONDS
mkdir -p "$dir"
rm -rf "$dir/rootfs" "$dir/rootfs.img.new" "$dir/stamp"
include=$(
	IFS=,
	echo "${PACKAGES[*]}"
)

# mmdebstrap runs each customize hook with the root directory as $1.
mmdebstrap --variant=minbase --include="$include" \
	--customize-hook='echo berth-vm >"$1/etc/hostname"' \
	--customize-hook='printf "127.0.0.1 localhost berth-vm\n" >"$1/etc/hosts"' \
	--customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" >"$1/etc/fstab"' \
	--customize-hook='install -m 755 '"$here"'/guest-boot.sh "$1/usr/local/sbin/berth-vm-job"' \
	--customize-hook='printf "%s\n" "[Unit]" "Description=berth integration job (powers off when done)" \
		"[Service]" "Type=exec" "ExecStart=/usr/local/sbin/berth-vm-job" \
		"[Install]" "WantedBy=multi-user.target" >"$1/etc/systemd/system/berth-vm-job.service"' \
	--customize-hook='chroot "$1" systemctl enable berth-vm-job.service' \
	--customize-hook='chroot "$1" systemctl mask getty@tty1.service serial-getty@ttyS0.service \
		apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
		man-db.timer dpkg-db-backup.timer systemd-timesyncd.service' \
	--customize-hook='chroot "$1" passwd --delete root' \
	--customize-hook='rm -rf "$1/var/cache/apt/archives/"*.deb "$1/var/lib/apt/lists/"*' \
	bookworm "$dir/rootfs" "${mirrors[@]}"

cp -L "$dir/rootfs/vmlinuz" "$dir/vmlinuz"
cp -L "$dir/rootfs/initrd.img" "$dir/initrd.img"
# 3 GiB, sparse: room for the suite's bundles under /tmp
mkfs.ext4 -q -L berth-vm -d "$dir/rootfs" "$dir/rootfs.img.new" 3G
mv "$dir/rootfs.img.new" "$dir/rootfs.img"
rm -rf "$dir/rootfs"
echo "$stamp" >"$dir/stamp"
echo "vm image: built in $((SECONDS - start)) s ($(du -sh --apparent-size "$dir/rootfs.img" | cut -f1) apparent, $(du -sh "$dir/rootfs.img" | cut -f1) on disk)"
