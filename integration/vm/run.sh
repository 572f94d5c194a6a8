#!/bin/bash
# Run root integration files in the test guest (see image.sh): boot a
# throw-away snapshot of the cached image under qemu, the repository shared
# read-only over 9p, no network; the guest runs integration/run.sh on FILES
# against the berth built on the host (or RUNTIME=runc, the guest's runc) and
# powers off. Its TAP lines are shown as they come; the exit status is the
# suite's. A guest that does not boot, or does not finish within VM_TIMEOUT
# seconds, is a failure that shows the end of its console.
# usage: integration/vm/run.sh FILE.bats...
# env:   VM_CACHE (image dir), RUNTIME (berth|runc), VM_TIMEOUT (s),
#        VM_ACCEL (kvm|tcg; default: kvm where /dev/kvm boots a stock kernel)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${VM_CACHE:-/var/cache/berth-vm}
timeout_s=${VM_TIMEOUT:-2400}
[ $# -gt 0 ] || { echo "usage: $0 FILE.bats..." >&2; exit 2; }

case ${RUNTIME:-berth} in
runc) guest_runtime=runc ;;
berth | */berth)
	[ -x "$repo/target/release/berth" ] || { echo "vm: $repo/target/release/berth missing (make build)" >&2; exit 1; }
	guest_runtime=/repo/target/release/berth ;;
*) echo "vm: RUNTIME must be berth or runc in the guest, not '$RUNTIME'" >&2; exit 2 ;;
esac

qemu=$(command -v qemu-system-x86_64 || echo "$cache/qemu/usr/bin/qemu-system-x86_64")
[ -x "$qemu" ] || { echo "vm: no qemu-system-x86_64 (make vm-deps)" >&2; exit 1; }
# the unpacked binary's accelerator modules are beside it, not in /usr/lib,
# and its firmware links are not in /usr/share/qemu
firmware=()
if [ "$qemu" = "$cache/qemu/usr/bin/qemu-system-x86_64" ]; then
	export QEMU_MODULE_DIR=$cache/qemu/usr/lib/x86_64-linux-gnu/qemu
	firmware=(-L /usr/share/seabios -L /usr/lib/ipxe/qemu -L /usr/share/qemu)
fi
for f in rootfs.img vmlinuz initrd.img; do
	[ -f "$cache/$f" ] || { echo "vm: $cache/$f missing (make vm-image)" >&2; exit 1; }
done

# KVM only where it boots a stock kernel: PVM's /dev/kvm (kvm_pvm) does not.
accel=${VM_ACCEL:-}
if [ -z "$accel" ]; then
	if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then accel=kvm; else accel=tcg; fi
fi
case $accel in
kvm) accel_args=(-accel kvm -cpu host) ;;
tcg) accel_args=(-accel tcg,thread=multi -cpu "${VM_CPU:-qemu64}") ;;
*) echo "vm: VM_ACCEL must be kvm or tcg" >&2; exit 2 ;;
esac

job=$(mktemp -d /tmp/berth-vm-job.XXXXXX)
chmod 755 "$job"
tailpid= qpid=
cleanup() {
	# (timeout passes the signal on to qemu)
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	[ -n "$tailpid" ] && kill "$tailpid" 2>/dev/null
	rm -rf "$job"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
{
	printf 'RUNTIME=%q\n' "$guest_runtime"
	printf 'FILES=(%s)\n' "$(printf '%q ' "$@")"
} >"$job/env"
: >"$job/out.log"
: >"$job/console.log"

echo "vm: booting the guest ($accel, 2 vCPUs, 2 GiB; timeout ${timeout_s} s): ${*}"
start=$SECONDS
# the disk: a snapshot of the cached image (qemu keeps the writes in a
# temporary qcow2 overlay, dropped when it exits)
timeout -k 10 "$timeout_s" "$qemu" "${firmware[@]}" "${accel_args[@]}" -smp 2 -m 2048 \
	-nodefaults -display none -vga none -no-user-config -nic none -no-reboot \
	-kernel "$cache/vmlinuz" -initrd "$cache/initrd.img" \
	-append "console=ttyS0 root=/dev/vda rw tsc=reliable panic=1 apparmor=1 security=apparmor" \
	-drive "file=$cache/rootfs.img,format=raw,if=virtio,snapshot=on,cache=unsafe" \
	-device virtio-rng-pci \
	-virtfs "local,path=$repo,mount_tag=repo,security_model=none,readonly=on" \
	-virtfs "local,path=$job,mount_tag=job,security_model=none" \
	-serial "file:$job/console.log" -serial "file:$job/out.log" </dev/null &
qpid=$!
tail -n +1 -f --pid="$qpid" "$job/out.log" &
tailpid=$!
wait "$qpid"
qrc=$?
qpid=
wait "$tailpid" 2>/dev/null
tailpid=
elapsed=$((SECONDS - start))

if [ ! -s "$job/exit" ]; then
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		echo "vm: FAILED: the guest did not finish within ${timeout_s} s (killed)"
	else
		echo "vm: FAILED: the guest stopped without finishing its job (qemu exit $qrc)"
	fi
	echo "vm: last lines of the guest console:"
	tail -n 40 "$job/console.log" | sed 's/^/vm console: /'
	exit 1
fi
rc=$(cat "$job/exit")
echo "vm: guest finished in ${elapsed} s, job exit status $rc"
exit "$rc"
