#!/usr/bin/env bats
# linux.namespaces: every type new, inherited, joined by path; user namespace
# id maps; time namespace offsets; cgroup namespace (config-linux.md).

load helpers

# ns_inode TYPE [PID]: the inode of /proc/PID/ns/TYPE (host side).
ns_of() { readlink "/proc/${2:-self}/ns/$1"; }

ALL_NS="pid network ipc uts mount cgroup"

# proc name of a namespace type
proc_name() {
	case $1 in network) echo net ;; mount) echo mnt ;; *) echo "$1" ;; esac
}

@test "every namespace type in the config is new" {
	make_bundle "$BUNDLE"
	update_config '.linux.namespaces = [{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}]'
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	for t in $ALL_NS; do
		n=$(proc_name "$t")
		[ "$(ns_of "$n" "$pid")" != "$(ns_of "$n")" ] || fail "$t namespace is the host's"
	done
}

@test "a new network namespace is the container's alone, with only its loopback, up" {
	make_bundle "$BUNDLE"
	# /sys/class/net of the container's own sysfs: its interfaces; lo's
	# flags in hex (IFF_UP is 0x1), as runc's "loopback" network sets them.
	run_sh 'readlink /proc/self/ns/net; ls /sys/class/net; cat /sys/class/net/lo/flags'
	assert_success
	[ "${lines[0]}" != "$(ns_of net)" ] || fail "the network namespace is the host's"
	assert_equal "${lines[1]}" lo "interfaces"
	[ $((${lines[2]} & 1)) -eq 1 ] || fail "lo is down: flags ${lines[2]}"
	# Two containers alive at once: each namespace is new. (Both alive:
	# the kernel reuses a freed namespace's inode number, so one compared
	# with the exited container above may match.)
	set_args sleep 1000
	runtime create -b "$BUNDLE" "$CID-2"
	runtime create -b "$BUNDLE" "$CID-3"
	local n2 n3
	n2=$(ns_of net "$(state_field "$CID-2" pid)")
	n3=$(ns_of net "$(state_field "$CID-3" pid)")
	[ "$n2" != "$n3" ] || fail "two containers share a network namespace: $n2"
	[ "$n2" != "$(ns_of net)" ] && [ "$n3" != "$(ns_of net)" ] || fail "a container's network namespace is the host's"
}

@test "namespaces not in the config are inherited from the runtime" {
	make_bundle "$BUNDLE"
	update_config '.linux.namespaces = [{"type":"mount"}] | del(.hostname)'
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	for t in pid network ipc uts cgroup; do
		n=$(proc_name "$t")
		assert_equal "$(ns_of "$n" "$pid")" "$(ns_of "$n")" "$t namespace"
	done
}

@test "the container sees itself as pid 1 in a new pid namespace" {
	make_bundle "$BUNDLE"
	run_sh 'echo $$; ls /proc | grep -c "^[0-9]"'
	assert_success
	assert_equal "${lines[0]}" 1 "pid"
}

@test "namespaces are joined by path, and the holder's namespace is really used" {
	make_bundle "$BUNDLE"
	unshare --net --uts --ipc sh -c 'hostname holder-host; exec sleep 600' &
	holder=$!
	track_pid "$holder"
	retry 50 0.1 sh -c '[ "$(nsenter -t "$1" -u hostname 2>/dev/null)" = holder-host ]' _ "$holder" ||
		fail "namespace holder not ready"
	update_config '.linux.namespaces |= map(select(.type != "network" and .type != "uts" and .type != "ipc"))
		| .linux.namespaces += [{"type":"network","path":$n},{"type":"uts","path":$u},{"type":"ipc","path":$i}]
		| del(.hostname)' \
		--arg n "/proc/$holder/ns/net" --arg u "/proc/$holder/ns/uts" --arg i "/proc/$holder/ns/ipc"
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	for n in net uts ipc; do
		assert_equal "$(ns_of "$n" "$pid")" "$(ns_of "$n" "$holder")" "$n namespace"
	done
	runtime delete --force "$CID"
	run_sh 'hostname'
	assert_success
	assert_output "holder-host"
}

@test "a namespace path of the wrong type is an error and leaves nothing" {
	make_bundle "$BUNDLE"
	unshare --uts sleep 600 &
	holder=$!
	track_pid "$holder"
	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' --arg p "/proc/$holder/ns/uts"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	run runtime state "$CID"
	assert_failure
	run runtime list -q
	assert_output ""
}

@test "a namespace path that does not exist is an error" {
	make_bundle "$BUNDLE"
	update_config '.linux.namespaces |= map(if .type == "network" then .path = "/proc/999999999/ns/net" else . end)'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	run runtime list -q
	assert_output ""
}

@test "an unknown namespace type is an error naming it" {
	make_bundle "$BUNDLE"
	update_config '.linux.namespaces += [{"type":"bogusns"}]'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "bogusns"
	run runtime list -q
	assert_output ""
}

@test "a duplicated namespace type is an error" {
	make_bundle "$BUNDLE"
	update_config '.linux.namespaces += [{"type":"ipc"}]'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
}

@test "user namespace: uid/gid maps written as configured, root inside" {
	requires userns
	make_bundle "$BUNDLE"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type":"user"}]
		| .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
		| .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]'
	run_sh 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; touch /tmp/f && stat -c %u /tmp/f'
	assert_success
	[ "$(echo ${lines[0]})" = "0 100000 65536" ] || fail "uid_map: ${lines[0]}"
	[ "$(echo ${lines[1]})" = "0 100000 65536" ] || fail "gid_map: ${lines[1]}"
	assert_equal "${lines[2]}" 0 "uid inside"
	assert_equal "${lines[3]}" 0 "gid inside"
	assert_equal "${lines[4]}" 0 "owner of a new file inside"
	assert_equal "$(stat -c %u "$BUNDLE/rootfs/tmp/f")" 100000 "owner of the file on the host"
}

@test "user namespace: several mapping ranges" {
	requires userns
	make_bundle "$BUNDLE"
	chown -R 200000:200000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type":"user"}]
		| .linux.uidMappings = [{"containerID":0,"hostID":200000,"size":1000},{"containerID":1000,"hostID":300000,"size":10}]
		| .linux.gidMappings = [{"containerID":0,"hostID":200000,"size":2000}]'
	run_sh 'cat /proc/self/uid_map; echo; cat /proc/self/gid_map'
	assert_success
	[ "$(echo ${lines[0]})" = "0 200000 1000" ] || fail "uid_map 1: ${lines[0]}"
	[ "$(echo ${lines[1]})" = "1000 300000 10" ] || fail "uid_map 2: ${lines[1]}"
}

@test "user namespace created from the host ns: the container ns is owned by a new user ns" {
	requires userns
	make_bundle "$BUNDLE"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces += [{"type":"user"}]
		| .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
		| .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]'
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	[ "$(ns_of user "$pid")" != "$(ns_of user)" ]
	grep -q '100000' "/proc/$pid/uid_map"
}

@test "time namespace: timeOffsets show in /proc/self/timens_offsets" {
	requires timens
	runc_differs "runc 1.1 does not support the time namespace"
	make_bundle "$BUNDLE"
	update_config '.linux.namespaces += [{"type":"time"}]
		| .linux.timeOffsets = {"monotonic":{"secs":86400,"nanosecs":0},"boottime":{"secs":172800,"nanosecs":5}}'
	run_sh 'cat /proc/self/timens_offsets | tr -s " "; cut -d" " -f1 /proc/uptime'
	assert_success
	assert_line "monotonic 86400 0"
	assert_line "boottime 172800 5"
	# boottime moved forward by two days
	up=${lines[2]%.*}
	[ "$up" -ge 172800 ] || fail "uptime $up not offset"
}

@test "time namespace without offsets is new" {
	requires timens
	runc_differs "runc 1.1 does not support the time namespace"
	make_bundle "$BUNDLE"
	update_config '.linux.namespaces += [{"type":"time"}]'
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	# the init has not exec'd yet: its children's time ns is the new one
	[ "$(readlink "/proc/$pid/ns/time_for_children")" != "$(ns_of time)" ]
}

@test "cgroup namespace: the container sees its cgroup as the root" {
	make_bundle "$BUNDLE"
	# (the spec template may have the cgroup namespace already: runc's on v2)
	update_config '.linux.namespaces |= map(select(.type != "cgroup")) + [{"type":"cgroup"}]
		| .linux.cgroupsPath = $p' --arg p "/berth-it-$CID"
	track_cgroup "/berth-it-$CID"
	run_sh 'cat /proc/self/cgroup'
	assert_success
	# every line (each v1 controller's, the unified one) reads "N:ctrl:/"
	bad=$(grep -v -E '^[0-9]+:[^:]*:/$' <<<"$output" || true)
	[ -z "$bad" ] || fail "not at the cgroup ns root: $bad"
}

@test "without a cgroup namespace the container sees its host cgroup path" {
	make_bundle "$BUNDLE"
	update_config '.linux.namespaces |= map(select(.type != "cgroup")) | .linux.cgroupsPath = $p' --arg p "/berth-it-$CID"
	track_cgroup "/berth-it-$CID"
	run_sh 'cat /proc/self/cgroup'
	assert_success
	if cgroup_unified; then
		assert_output "0::/berth-it-$CID"
	else
		assert_output_contains ":pids:/berth-it-$CID"
	fi
}

@test "uts namespace: hostname" {
	make_bundle "$BUNDLE"
	update_config '.hostname = "berth-host"'
	run_sh 'hostname'
	assert_success
	assert_equal "${lines[0]}" berth-host
	[ "$(hostname)" != berth-host ]
}

@test "uts namespace: domainname" {
	runc_differs "runc 1.1 ignores domainname"
	make_bundle "$BUNDLE"
	update_config '.hostname = "berth-host" | .domainname = "example.org"'
	run_sh 'cat /proc/sys/kernel/domainname'
	assert_success
	assert_output example.org
	[ "$(cat /proc/sys/kernel/domainname)" != example.org ]
}

@test "hostname without a uts namespace is an error" {
	make_bundle "$BUNDLE"
	update_config '.linux.namespaces |= map(select(.type != "uts")) | .hostname = "nope"'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	[ "$(hostname)" != nope ]
}
