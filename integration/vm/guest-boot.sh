#!/bin/bash
# The guest's side of `make test-vm`, baked into the image as
# /usr/local/sbin/berth-vm-job and started by berth-vm-job.service at boot.
# It waits until systemd says the system is up, runs the job the host put on
# the `job` 9p share (integration/vm/guest-job.sh from the read-only `repo`
# share), writes the exit status there and powers the guest off. The job's
# output goes to the second serial port, which the host shows as it comes.
tty=/dev/ttyS1
stty -F "$tty" raw -echo 2>/dev/null
exec >"$tty" 2>&1
rc=125
finish() {
	echo "$rc" >/job/exit
	echo "berth-vm: job exit status $rc"
	sync
	systemctl poweroff --force --force
}
trap finish EXIT
mkdir -p /repo /job
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 job /job || exit
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro,cache=loose repo /repo || exit
state=$(systemctl is-system-running --wait)
echo "berth-vm: system $state after $(cut -d' ' -f1 /proc/uptime) s; $(uname -r); cgroup fs $(stat -fc %T /sys/fs/cgroup); AppArmor $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null || echo absent)"
if [ "$state" != running ]; then
	systemctl --failed --no-legend --no-pager
fi
bash /repo/integration/vm/guest-job.sh
rc=$?
