#!/bin/bash
# A real systemd (the host's, 252 on Debian 12) as pid 1 of private
# namespaces, for testing `--systemd-cgroup` on a host whose pid 1 is not
# systemd. What it takes (each learnt the hard way):
#   - `container=...` in its environment, or it acts as the machine's init
#     (sets the clock, sysctls, ...);
#   - a cgroup namespace rooted at a fresh child of our cgroup in every
#     hierarchy, joined from inside the new pid namespace (a process outside
#     it reads as pid 0 in cgroup.procs, and systemd gives up);
#   - its own tmpfs on /sys/fs/cgroup with the host's v1 hierarchies mounted
#     again with the same options, and empty read-only placeholders where
#     systemd would mount a hierarchy the host has not (else it mounts new
#     global hierarchies and every host process's /proc/PID/cgroup changes);
#   - a read-only `/` and /proc/sys, a private /run and /dev (and /var/tmp);
#   - its own units: a target that pulls in only dbus and an idle anchor
#     service, with sysinit/basic empty and tmpfiles/udev/journald masked
#     (tmpfiles would clean the shared /tmp).
# /tmp stays the host's (read-write) so bundles made there can be used.
#
# With SD_CGROUP=v2 it gets only the unified hierarchy (cgroup2 on
# /sys/fs/cgroup): a pure-v2 systemd, with the controllers the host's
# cgroup2 has (on a hybrid host, few or none: still real units, delegation,
# freezer, cgroup.kill and eBPF device programs).
#
# usage: systemd-ns.sh start DIR    start it; DIR (empty or new) keeps its
#                                   pid, units, log and cgroup list
#        systemd-ns.sh exec DIR CMD...   run CMD in its namespaces
#        systemd-ns.sh stop DIR     stop it, remove its cgroups
set -euo pipefail
SELF=$(readlink -f "$0")

die() {
	echo "systemd-ns: $*" >&2
	exit 1
}

# The cgroup hierarchies of this process: "mountpoint options own-path".
hierarchies() {
	local line id ctrls path mnt opts
	while IFS=: read -r id ctrls path; do
		if [ -z "$ctrls" ]; then
			mnt=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
			opts=
		else
			read -r mnt opts < <(awk -v c="$ctrls" '$3 == "cgroup" {
				n = split($4, o, ","); k = split(c, want, ","); hit = 0
				for (i = 1; i <= k; i++) for (j = 1; j <= n; j++) if (o[j] == want[i]) hit++
				if (hit == k) { print $2, $4; exit } }' /proc/self/mounts)
		fi
		[ -n "$mnt" ] && echo "$mnt ${opts:--} $path"
	done </proc/self/cgroup
}

write_units() {
	local u=$1
	mkdir -p "$u"
	cat >"$u/berth-test.target" <<-'EOF'
		[Unit]
		Description=berth test systemd
		Wants=dbus.socket dbus.service berth-anchor.service
	EOF
	cat >"$u/berth-anchor.service" <<-'EOF'
		[Unit]
		Description=an idle unit in system.slice
		DefaultDependencies=no
		[Service]
		ExecStart=/bin/sleep infinity
	EOF
	for t in sysinit.target basic.target; do
		printf '[Unit]\nDescription=empty %s\n' "$t" >"$u/$t"
	done
	for m in systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer \
		systemd-tmpfiles-clean.service systemd-udevd.service systemd-udevd-control.socket \
		systemd-udevd-kernel.socket systemd-udev-trigger.service systemd-journald.service \
		systemd-journald.socket systemd-journald-dev-log.socket systemd-journald-audit.socket \
		syslog.socket systemd-journal-flush.service; do
		ln -sf /dev/null "$u/$m"
	done
}

# Inside the new pid and mount namespaces, as their pid 1: join the fresh
# cgroups, enter a new cgroup namespace, build the mounts, exec systemd.
stage2() {
	local dir=$1 d
	while read -r d; do
		echo 0 >"$d/cgroup.procs"
	done <"$dir/cgroups"
	exec unshare --cgroup -- "$SELF" stage3 "$dir"
}

stage3() {
	local dir=$1
	# the host's cgroup mounts go: only ours are to be seen
	umount -R /sys/fs/cgroup
	if [ "$(cat "$dir/mode")" = v2 ]; then
		mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
	else
		mount_v1
	fi
	private_mounts
	cd /
	exec env -i container=berth-test SYSTEMD_UNIT_PATH="$dir/units:" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		/lib/systemd/systemd --unit=berth-test.target --log-target=console --log-level=info \
		--show-status=no --default-standard-output=null --default-standard-error=null
}

# The host's hierarchies again (in the new cgroup namespace), on a tmpfs.
mount_v1() {
	local mnt opts path name c
	mount -t tmpfs -o mode=755,nosuid,nodev,noexec tmpfs /sys/fs/cgroup
	while read -r mnt opts path; do
		name=${mnt#/sys/fs/cgroup/}
		mkdir -p "/sys/fs/cgroup/$name"
		if [ "$opts" = - ]; then
			mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "/sys/fs/cgroup/$name"
		else
			mount -t cgroup -o "$opts" cgroup "/sys/fs/cgroup/$name"
		fi
	done <"$dir/hierarchies"
	# systemd mounts every enabled controller (cpu and cpuacct together, and
	# net_cls with net_prio) where nothing is mounted yet: leave nothing empty.
	for c in $(awk 'NR > 1 && $4 == 1 {print $1}' /proc/cgroups); do
		case $c in
		cpu | cpuacct) name=cpu,cpuacct ;;
		net_cls | net_prio) name=net_cls,net_prio ;;
		*) name=$c ;;
		esac
		[ -e "/sys/fs/cgroup/$name" ] && continue
		mkdir "/sys/fs/cgroup/$name"
		mount -t tmpfs -o ro,size=4k,mode=555 placeholder "/sys/fs/cgroup/$name"
	done
	mount -o remount,ro,nosuid,nodev,noexec -t tmpfs tmpfs /sys/fs/cgroup
}

private_mounts() {
	mount --bind /proc/sys /proc/sys
	mount -o remount,bind,ro /proc/sys
	mount --bind /tmp /tmp
	mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
	mkdir -p /run/lock
	# scratch space tools expect to be writable (podman's image copies)
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp

	mount -t tmpfs -o mode=755,nosuid tmpfs /dev
	mknod -m 666 /dev/null c 1 3
	mknod -m 666 /dev/zero c 1 5
	mknod -m 666 /dev/full c 1 7
	mknod -m 666 /dev/random c 1 8
	mknod -m 666 /dev/urandom c 1 9
	mknod -m 666 /dev/tty c 5 0
	mkdir /dev/pts /dev/shm /dev/mqueue
	mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
	ln -s pts/ptmx /dev/ptmx
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr

	mount -o remount,bind,ro /
}

start() {
	local dir=$1 mnt opts path name i sub
	mkdir -p "$dir"
	echo "${SD_CGROUP:-host}" >"$dir/mode"
	: >"$dir/cgroups"
	hierarchies >"$dir/hierarchies"
	[ -s "$dir/hierarchies" ] || die "no cgroup hierarchies"
	name=berth-sd-$$-$RANDOM
	echo "$name" >"$dir/name"
	while read -r mnt opts path; do
		sub=$mnt${path%/}/$name
		mkdir "$sub"
		echo "$sub" >>"$dir/cgroups"
		if [ -f "$sub/cpuset.cpus" ]; then
			cat "$mnt${path%/}/cpuset.cpus" >"$sub/cpuset.cpus"
			cat "$mnt${path%/}/cpuset.mems" >"$sub/cpuset.mems"
		fi
	done <"$dir/hierarchies"
	write_units "$dir/units"
	setsid unshare --pid --fork --mount --uts --ipc --net --propagation private --mount-proc \
		-- "$SELF" stage2 "$dir" </dev/null >"$dir/log" 2>&1 &
	echo $! >"$dir/unshare.pid"
	# The systemd is the unshare's child.
	for ((i = 0; i < 100; i++)); do
		pid=$(pgrep -P "$(cat "$dir/unshare.pid")" | head -n1 || true)
		if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ]; then
			echo "$pid" >"$dir/pid"
			break
		fi
		sleep 0.05
	done
	[ -s "$dir/pid" ] || {
		cat "$dir/log" >&2
		stop "$dir"
		die "systemd did not start"
	}
	# Up once the bus answers and the anchor runs.
	for ((i = 0; i < 200; i++)); do
		if in_ns "$dir" systemctl is-active --quiet berth-anchor.service dbus.service 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	cat "$dir/log" >&2
	stop "$dir"
	die "systemd did not come up"
}

in_ns() {
	local dir=$1
	shift
	nsenter --target "$(cat "$dir/pid")" --pid --mount --uts --ipc --net --cgroup --wd="$PWD" -- "$@"
}

stop() {
	local dir=$1 pid i d
	pid=$(cat "$dir/pid" 2>/dev/null || true)
	if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
		# SIGRTMIN+4 (poweroff): in a container systemd then exits.
		kill -s RTMIN+4 "$pid" 2>/dev/null || true
		for ((i = 0; i < 100 && ${#pid} > 0; i++)); do
			[ -d "/proc/$pid" ] || break
			sleep 0.1
		done
		[ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
	fi
	local up
	up=$(cat "$dir/unshare.pid" 2>/dev/null || true)
	[ -n "$up" ] && kill -KILL "$up" 2>/dev/null
	# Every process still in its cgroups, then the cgroups, deepest first.
	if [ -f "$dir/cgroups" ]; then
		for d in $(cat "$dir/cgroups"); do
			for i in 1 2 3; do
				find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
				find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
				[ -d "$d" ] || break
				sleep 0.2
			done
		done
	fi
	return 0
}

cmd=${1:-}
shift || true
case $cmd in
start) start "$@" ;;
stop) stop "$@" ;;
exec)
	dir=$1
	shift
	in_ns "$dir" "$@"
	;;
stage2) stage2 "$@" ;;
stage3) stage3 "$@" ;;
*) die "usage: $0 start|exec|stop DIR" ;;
esac
