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

@test "cgroup2: the init is placed in cgroupsPath" {
	requires cgroups_v2
	[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || skip "hybrid host: cgroup2 holds no controllers"
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	assert_equal "$(grep '^0::' "/proc/$pid/cgroup")" "0::$CGPATH"
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
	requires cgroups_v1
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = "berth-it-rel"'
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	own=$(grep -E '^[0-9]+:pids:' /proc/self/cgroup | cut -d: -f3)
	want=${own%/}/berth-it-rel
	assert_equal "$(grep -E '^[0-9]+:pids:' "/proc/$pid/cgroup" | cut -d: -f3)" "$want" "pids cgroup"
	runtime delete --force "$CID"
	[ ! -d "/sys/fs/cgroup/pids$want" ] || fail "relative cgroup left behind"
}

@test "without cgroupsPath the container still gets its own cgroup, removed on delete" {
	requires cgroups_v1
	make_bundle "$BUNDLE"
	update_config 'del(.linux.cgroupsPath)'
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	cg=$(grep -E '^[0-9]+:pids:' "/proc/$pid/cgroup" | cut -d: -f3)
	own=$(grep -E '^[0-9]+:pids:' /proc/self/cgroup | cut -d: -f3)
	[ "$cg" != "$own" ] || fail "container shares the runtime's cgroup $cg"
	track_cgroup "$cg"
	runtime delete --force "$CID"
	[ ! -d "/sys/fs/cgroup/pids$cg" ] || fail "default cgroup $cg left behind"
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
