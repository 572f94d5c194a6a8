#!/usr/bin/env bats
# cgroups, the basics of issue 2: the container's cgroup at cgroupsPath in
# every v1 controller (or v2), the init placed in it before it can run
# anything, removed on delete, nothing left after a failed create.
# (Applying linux.resources is the cgroups issue's suite.)

load helpers

setup() {
	common_setup
	CGPATH=/berth-it-$CID
	track_cgroup "$CGPATH"
	track_cgroup "/berth-it-rel"
}

# v1 controllers mounted on this host (not name=systemd), one per line
v1_controllers() {
	awk '$3 == "cgroup" {print $4}' /proc/self/mounts | tr ',' '\n' |
		grep -E '^(cpu|cpuacct|cpuset|memory|devices|freezer|blkio|pids|net_cls|net_prio|perf_event|hugetlb|rdma|misc)$' | sort -u
}

@test "create places the init in cgroupsPath in every v1 controller before start" {
	requires cgroups_v1
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	for c in $(v1_controllers); do
		line=$(grep -E "^[0-9]+:([^:]*,)?$c(,[^:]*)?:" "/proc/$pid/cgroup")
		assert_equal "${line##*:}" "$CGPATH" "cgroup of the init in $c"
		m=$(awk -v c="$c" '$3 == "cgroup" && ("," $4 ",") ~ ("," c ",") {print $2}' /proc/self/mounts | head -n1)
		grep -qx "$pid" "$m$CGPATH/cgroup.procs" || fail "$pid not in $m$CGPATH/cgroup.procs"
	done
}

@test "cgroup2: the init is placed in cgroupsPath before start" {
	requires cgroups_unified
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	assert_equal "$(grep '^0::' "/proc/$pid/cgroup")" "0::$CGPATH"
	grep -qx "$pid" "/sys/fs/cgroup$CGPATH/cgroup.procs" || fail "$pid not in /sys/fs/cgroup$CGPATH/cgroup.procs"
}

@test "the cgroup is removed on delete, in every hierarchy" {
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	run cgroup_dirs "$CGPATH"
	[ -n "$output" ] || fail "no cgroup made at $CGPATH"
	runtime kill "$CID" KILL
	wait_status "$CID" stopped
	runtime delete "$CID"
	run cgroup_dirs "$CGPATH"
	assert_output ""
}

@test "delete --force of a running container kills it and removes the cgroup" {
	make_bundle "$BUNDLE" sh -c 'sleep 1000 & sleep 1000 & wait'
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	sleep 0.3
	runtime delete --force "$CID"
	run cgroup_dirs "$CGPATH"
	assert_output ""
}

@test "no cgroup is left after a failed create" {
	make_bundle "$BUNDLE" /no/such/binary
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	run cgroup_dirs "$CGPATH"
	assert_output ""
}

@test "a relative cgroupsPath goes under the runtime's own cgroup" {
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = "berth-it-rel"'
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	own=$(cgroup_of $$ pids)
	# on v2 under the parent of the runtime's cgroup, as runc does: the own
	# one has processes, so its children could get no controllers
	cgroup_unified && own=$(dirname "$own")
	want=${own%/}/berth-it-rel
	track_cgroup "$want"
	assert_equal "$(cgroup_of "$pid" pids)" "$want" "pids cgroup"
	runtime delete --force "$CID"
	[ ! -d "$(cgroup_file pids "$want" .)" ] || fail "relative cgroup left behind"
}

@test "without cgroupsPath the container still gets its own cgroup, removed on delete" {
	make_bundle "$BUNDLE"
	update_config 'del(.linux.cgroupsPath)'
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	cg=$(cgroup_of "$pid" pids)
	own=$(cgroup_of $$ pids)
	[ "$cg" != "$own" ] || fail "container shares the runtime's cgroup $cg"
	track_cgroup "$cg"
	runtime delete --force "$CID"
	[ ! -d "$(cgroup_file pids "$cg" .)" ] || fail "default cgroup $cg left behind"
}

@test "the systemd cgroupsPath form without --systemd-cgroup is an error or works, never a stray dir" {
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = "system.slice:berth-it:'"$CID"'"'
	# (not `run`: a successful create's init would hold bats' capture pipe)
	runtime create -b "$BUNDLE" "$CID" >"$WORK/out" 2>&1 || true
	runtime delete --force "$CID" 2>/dev/null || true
	run cgroup_dirs "/system.slice:berth-it:$CID"
	assert_output ""
}

@test "exec --cgroup cpu:sub puts the process in an existing sub-cgroup of that controller only" {
	requires cgroups_v1
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	cpu=$(awk '$3 == "cgroup" && ("," $4 ",") ~ /,cpu,/ {print $2}' /proc/self/mounts | head -n1)
	mem=$(awk '$3 == "cgroup" && ("," $4 ",") ~ /,memory,/ {print $2}' /proc/self/mounts | head -n1)
	mkdir "$cpu$CGPATH/sub"
	run runtime exec --cgroup cpu:sub "$CID" cat /proc/self/cgroup
	assert_success
	grep -Eq "^[0-9]+:([^:]*,)?cpu(,[^:]*)?:$CGPATH/sub\$" <<<"$output" || fail "cpu: $output"
	grep -Eq "^[0-9]+:([^:]*,)?memory(,[^:]*)?:$CGPATH\$" <<<"$output" || fail "memory: $output"
	run runtime exec --cgroup cpu:nosuch "$CID" true
	assert_failure
	run runtime exec --cgroup 'cpu:../../escape' "$CID" true
	assert_failure
	runtime delete --force "$CID"
	[ ! -d "$cpu$CGPATH" ] || fail "cgroup left: $cpu$CGPATH"
	[ ! -d "$mem$CGPATH" ] || fail "cgroup left: $mem$CGPATH"
}

@test "exec into a cgroup the process cannot enter fails and runs nothing (an empty v1 cpuset)" {
	requires cgroups_v1
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	cpuset=$(awk '$3 == "cgroup" && ("," $4 ",") ~ /,cpuset,/ {print $2}' /proc/self/mounts | head -n1)
	[ -n "$cpuset" ] || skip "no v1 cpuset hierarchy"
	mkdir "$cpuset$CGPATH/empty"
	# No CPUs, no memory nodes: the kernel refuses every task (ENOSPC).
	echo "" >"$cpuset$CGPATH/empty/cpuset.cpus"
	echo "" >"$cpuset$CGPATH/empty/cpuset.mems"
	run runtime exec --cgroup cpuset:empty "$CID" touch /ran
	assert_failure
	assert_output_contains "no space left on device"
	[ ! -e "$BUNDLE/rootfs/ran" ] || fail "the process ran outside its cgroup"
	[ -z "$(cat "$cpuset$CGPATH/empty/tasks")" ] || fail "a task in the empty cpuset"
	run runtime exec "$CID" true
	assert_success
	rmdir "$cpuset$CGPATH/empty"
	runtime delete --force "$CID"
}

@test "cgroup2: exec --cgroup sub puts the process in an existing sub-cgroup" {
	requires cgroups_unified
	make_bundle "$BUNDLE"
	# (no cgroup namespace: /proc/self/cgroup shows the host's path)
	update_config '.linux.namespaces |= map(select(.type != "cgroup")) | .linux.cgroupsPath = $p' --arg p "$CGPATH"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	mkdir "/sys/fs/cgroup$CGPATH/sub"
	run runtime exec --cgroup sub "$CID" cat /proc/self/cgroup
	assert_success
	assert_output "0::$CGPATH/sub"
	run runtime exec --cgroup nosuch "$CID" true
	assert_failure
	runtime delete --force "$CID"
	[ ! -d "/sys/fs/cgroup$CGPATH" ] || fail "cgroup left: /sys/fs/cgroup$CGPATH"
}

@test "a user namespace without a cgroup namespace: /sys/fs/cgroup is the container's own cgroup, read-only" {
	requires userns
	if cgroup_unified; then
		runc_differs "runc 1.1.5 binds the host's whole cgroup2 tree there, not the container's cgroup"
	fi
	make_bundle "$BUNDLE" sh -c 'cat /proc/self/cgroup
		grep -E " /sys/fs/cgroup(/pids)? " /proc/self/mounts | cut -d" " -f3,4 | cut -d, -f1
		f=/sys/fs/cgroup/cgroup.procs; [ -e $f ] || f=/sys/fs/cgroup/pids/cgroup.procs; echo procs: $(cat $f 2>&1)
		mkdir /sys/fs/cgroup/x 2>/dev/null || echo mkdir-refused'
	chown -R 100000:100000 "$BUNDLE/rootfs"
	update_config '.linux.namespaces |= map(select(.type != "cgroup")) + [{"type":"user"}]
		| .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
		| .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
		| .linux.cgroupsPath = $p' --arg p "$CGPATH"
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	if cgroup_unified; then
		# a fresh cgroup2 mount is refused here (EPERM): the runtime binds
		# the container's own cgroup directory instead
		assert_equal "${lines[0]}" "0::$CGPATH" "cgroup"
		assert_line "cgroup2 ro"
	else
		# (the tmpfs that holds the v1 hierarchies may be writable: runc's is)
		assert_output_contains ":pids:$CGPATH"
		assert_line "cgroup ro"
	fi
	# its cgroup.procs lists the container's init: its own cgroup
	[[ $output == *"procs: 1 "* ]] || fail "not the container's own cgroup: $output"
	assert_line mkdir-refused
}

@test "cgroup2 with a cgroup namespace (nsdelegate): sub-cgroups inside, the root's limits not writable" {
	requires cgroups_unified
	grep -q nsdelegate /proc/self/mountinfo || skip "cgroup2 is not mounted with nsdelegate"
	make_bundle "$BUNDLE" sh -c 'cat /proc/self/cgroup
		mkdir /sys/fs/cgroup/sub && echo $$ >/sys/fs/cgroup/sub/cgroup.procs && cat /proc/self/cgroup
		echo 10 >/sys/fs/cgroup/pids.max 2>/dev/null || echo root-limit-refused'
	update_config '.linux.namespaces |= map(select(.type != "cgroup")) + [{"type":"cgroup"}]
		| .linux.cgroupsPath = $p
		| .linux.resources.pids.limit = 50
		| (.mounts[] | select(.destination == "/sys/fs/cgroup") | .options) |= map(select(. != "ro")) + ["rw"]' --arg p "$CGPATH"
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	assert_equal "${lines[0]}" "0::/" "cgroup at the namespace root"
	assert_equal "${lines[1]}" "0::/sub" "cgroup after moving into a sub-cgroup"
	assert_line root-limit-refused
}

@test "cgroup2: kill --all empties the cgroup while its processes keep forking" {
	requires cgroups_unified
	[ -e /sys/fs/cgroup/system.slice/cgroup.kill ] || skip "the kernel has no cgroup.kill"
	make_bundle "$BUNDLE" sh -c 'sleep 1000 & while :; do sleep 1000 & sleep 0.2; done'
	update_config '.linux.namespaces |= map(select(.type != "pid")) | .linux.cgroupsPath = $p
		| .linux.resources.pids.limit = 40' --arg p "$CGPATH"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	retry 100 0.1 grep -q "populated 1" "/sys/fs/cgroup$CGPATH/cgroup.events"
	sleep 1
	runtime kill --all "$CID" KILL
	retry 100 0.1 grep -q "populated 0" "/sys/fs/cgroup$CGPATH/cgroup.events" ||
		fail "processes left: $(cat "/sys/fs/cgroup$CGPATH/cgroup.procs")"
	runtime delete --force "$CID"
	[ ! -d "/sys/fs/cgroup$CGPATH" ] || fail "cgroup left: /sys/fs/cgroup$CGPATH"
}

@test "the device cgroup (v1 devices, v2 eBPF filter): a node not allowed cannot be opened, an allowed one can" {
	# 42 is the kernel's "sample" major: no driver, so an allowed open
	# fails with ENXIO and a denied one with EPERM
	make_bundle "$BUNDLE" sh -c ': <>/dev/berth-dev'
	update_config '.linux.devices = [{"path": "/dev/berth-dev", "type": "c", "major": 42, "minor": 0, "fileMode": 438}]
		| .linux.cgroupsPath = $p' --arg p "$CGPATH"
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_failure
	[[ $stderr == *"Operation not permitted"* ]] || fail "not denied by the device cgroup: $stderr"
	update_config '.linux.resources.devices += [{"allow": true, "type": "c", "major": 42, "minor": 0, "access": "rw"}]'
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_failure
	[[ $stderr == *"No such device"* ]] || fail "not let through by the device cgroup: $stderr"
}

@test "cgroup2: a container without a cgroup namespace leaves the host's cgroup2 options alone (nsdelegate)" {
	requires cgroups_unified
	# A fresh cgroup2 mount made from the host's cgroup namespace applies
	# its options to the one cgroup2 superblock: without nsdelegate in
	# them, the kernel clears it host-wide (and memory_recursiveprot).
	runc_differs "runc 1.1.5 mounts cgroup2 afresh there, which clears nsdelegate on the host"
	opts() { awk '$5 == "/sys/fs/cgroup" {print $NF}' /proc/self/mountinfo; }
	before=$(opts)
	[[ $before == *nsdelegate* ]] || skip "cgroup2 is not mounted with nsdelegate"
	make_bundle "$BUNDLE" sh -c 'ls /sys/fs/cgroup >/dev/null'
	update_config '.linux.namespaces |= map(select(.type != "cgroup")) | .linux.cgroupsPath = $p' --arg p "$CGPATH"
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	assert_equal "$(opts)" "$before" "super options of the host's cgroup2 mount"
}
