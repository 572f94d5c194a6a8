#!/usr/bin/env bats
# linux.resources and the verbs built on cgroups: limits visible in the
# container's cgroup files, an OOM kill, a fork bomb held by pids.max,
# pause/resume really freezing, update changing live limits (flags,
# --resources FILE, --resources -), ps, events, kill --all, and nothing left
# behind on delete. Each test reads the host's cgroup layout: v1 (or
# hybrid) controller files, or the unified ones of a pure cgroup v2 host
# (the test guest of `make test-vm`).

load helpers

setup() {
	common_setup
	CGPATH=/berth-it-res-$CID
	track_cgroup "$CGPATH"
}

# cg CONTROLLER FILE: the host path of FILE in the container's cgroup, in
# the hierarchy that holds CONTROLLER.
cg() { cgroup_file "$1" "$CGPATH" "$2"; }

# cgval CONTROLLER FILE: its value.
cgval() { cat "$(cg "$1" "$2")"; }

# v1 memory+swap limits (memory.memsw.*), or v2 swap limits (memory.swap.max).
has_swap_limit() {
	if cgroup_unified; then
		[ -e "/sys/fs/cgroup/system.slice/memory.swap.max" ] || [ -e /sys/fs/cgroup/init.scope/memory.swap.max ]
	else
		[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]
	fi
}

# requires_controllers CONTROLLER...: skip unless each is available (v1: a
# hierarchy of its own; v2: in the unified one).
requires_controllers() {
	local c
	for c in "$@"; do
		[ -n "$(cgroup_mount "$c")" ] || skip "needs the $c cgroup controller"
	done
}

# bundle_with ARGS...: make_bundle with cgroupsPath set.
bundle_with() {
	make_bundle "$BUNDLE" "$@"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
}

# start_detached: create + start $CID (stdout to a file: the container keeps it).
start_detached() {
	runtime create -b "$BUNDLE" "$CID" >"$WORK/create.out" 2>&1 </dev/null || {
		cat "$WORK/create.out"
		return 1
	}
	runtime start "$CID"
}

# pids_of ID: the host pids of `ps --format json`, one per line.
pids_of() { runtime ps --format json "$1" | jq -r '.[]?'; }

# counter: the value the container's counter loop last wrote.
counter() {
	local v
	v=$(cat "$BUNDLE/rootfs/tmp/counter" 2>/dev/null)
	echo "${v:-0}"
}
counter_above() { [ "$(counter)" -gt "$1" ]; }

# nprocs_is ID N: ps lists N processes.
nprocs_is() { [ "$(pids_of "$1" | wc -l)" -eq "$2" ]; }

# gone PID: the process no longer runs (missing or a zombie).
gone() { [ ! -e "/proc/$1/stat" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

@test "limits from linux.resources are in the container's cgroup files" {
	requires_controllers memory pids cpu cpuset
	bundle_with
	update_config '.linux.resources += {
		"memory": {"limit": 67108864, "reservation": 33554432},
		"pids": {"limit": 42},
		"cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}}'
	start_detached
	assert_equal "$(cgval pids pids.max)" 42 pids.max
	assert_equal "$(cgval cpuset cpuset.cpus)" 0 cpuset.cpus
	assert_equal "$(cgval cpuset cpuset.mems)" 0 cpuset.mems
	if cgroup_unified; then
		assert_equal "$(cgval memory memory.max)" 67108864 memory.max
		assert_equal "$(cgval memory memory.low)" 33554432 memory.low
		# shares 512 -> weight 1 + (512 - 2) * 9999 / 262142 (runc's conversion)
		assert_equal "$(cgval cpu cpu.weight)" 20 cpu.weight
		assert_equal "$(cgval cpu cpu.max)" "50000 100000" cpu.max
	else
		assert_equal "$(cgval memory memory.limit_in_bytes)" 67108864 memory.limit_in_bytes
		assert_equal "$(cgval memory memory.soft_limit_in_bytes)" 33554432 memory.soft_limit_in_bytes
		assert_equal "$(cgval cpu cpu.shares)" 512 cpu.shares
		assert_equal "$(cgval cpu cpu.cfs_quota_us)" 50000 cpu.cfs_quota_us
		assert_equal "$(cgval cpu cpu.cfs_period_us)" 100000 cpu.cfs_period_us
	fi
	# the init is in that cgroup
	pid=$(state_field "$CID" pid)
	grep -qx "$pid" "$(cg memory cgroup.procs)"
}

@test "the container sees its own limits through its /sys/fs/cgroup mount" {
	requires_controllers memory pids
	if cgroup_unified; then
		bundle_with sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max'
	else
		bundle_with sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
	fi
	update_config '.linux.resources += {"memory": {"limit": 67108864}, "pids": {"limit": 42}}'
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	assert_output "$(printf '67108864\n42')"
}

@test "an OOM kill under a small memory limit: exit 137" {
	requires_controllers memory
	# tail keeps an ever-growing line buffer
	bundle_with tail /dev/zero
	update_config '.linux.resources += {"memory": {"limit": 16777216}}'
	if has_swap_limit; then update_config '.linux.resources.memory.swap = 16777216'; fi
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_equal "$status" 137 "exit status"
}

@test "events reports the OOM kill and ends when delete removes the cgroup" {
	requires_controllers memory
	bundle_with sh -c 'read x </dev/stdin; sleep 0.5; tail /dev/zero'
	update_config '.linux.resources += {"memory": {"limit": 16777216}}'
	if has_swap_limit; then update_config '.linux.resources.memory.swap = 16777216'; fi
	mkfifo "$WORK/go"
	# The init waits for a line on its stdin (the fifo) before it eats memory.
	runtime create -b "$BUNDLE" "$CID" <"$WORK/go" >"$WORK/create.out" 2>&1 &
	exec 5>"$WORK/go"
	wait $!
	runtime events --interval 1s "$CID" >"$WORK/events" 2>"$WORK/events.err" &
	ev=$!
	track_pid "$ev"
	sleep 0.3
	runtime start "$CID"
	echo go >&5
	exec 5>&-
	wait_status "$CID" stopped 100
	# events goes on while the container exists (stats of a stopped
	# container included) and ends once delete removes its cgroup, as
	# runc's on v1 (on v2 runc 1.1's ends when the cgroup empties: both
	# are fine there)
	sleep 1.2
	if ! cgroup_unified; then
		gone "$ev" && fail "events ended before delete"
	fi
	runtime delete "$CID"
	retry 50 0.1 gone "$ev" || fail "events did not end" "$(cat "$WORK/events.err")"
	# (runc on v2 reports the one OOM kill twice: oom and oom_kill)
	run sh -c 'jq -c "select(.type == \"oom\")" "$1" | sort -u' _ "$WORK/events"
	assert_output "{\"type\":\"oom\",\"id\":\"$CID\"}"
}

@test "cgroup2: memory.events counts the OOM kill" {
	requires cgroups_unified
	requires_controllers memory
	bundle_with tail /dev/zero
	update_config '.linux.resources += {"memory": {"limit": 16777216}}'
	if has_swap_limit; then update_config '.linux.resources.memory.swap = 16777216'; fi
	start_detached
	wait_status "$CID" stopped 300
	grep -Eq '^oom_kill [1-9]' "$(cg memory memory.events)" || fail "memory.events: $(cat "$(cg memory memory.events)")"
	assert_equal "$(cgval memory memory.swap.max 2>/dev/null || echo 0)" 0 "memory.swap.max (swap = limit: no swap)"
}

@test "a fork bomb is held at pids.max and the container can still be deleted" {
	requires_controllers pids
	bundle_with sh -c 'bomb() { bomb & bomb & wait; }; bomb 2>/dev/null'
	update_config '.linux.resources += {"pids": {"limit": 16}}'
	start_detached
	sleep 2
	current=$(cgval pids pids.current)
	[ "$current" -le 16 ] || fail "pids.current $current above pids.max 16"
	grep -Eq '^max [1-9]' "$(cg pids pids.events)" || fail "pids.max never hit: $(cgval pids pids.events)"
	n=$(pids_of "$CID" | wc -l)
	[ "$n" -le 16 ] || fail "ps lists $n processes"
	runtime delete --force "$CID"
	run cgroup_dirs "$CGPATH"
	assert_output ""
}

@test "pause freezes every process, resume thaws them" {
	requires_controllers freezer
	bundle_with sh -c 'sleep 1000 & i=0; while :; do i=$((i+1)); echo $i >/tmp/counter; sleep 0.05; done'
	start_detached
	retry 50 0.1 counter_above 2
	runtime pause "$CID"
	assert_equal "$(state_field "$CID" status)" paused status
	if cgroup_unified; then
		assert_equal "$(cgval freezer cgroup.freeze)" 1 cgroup.freeze
		grep -qx "frozen 1" "$(cg freezer cgroup.events)" || fail "cgroup.events: $(cgval freezer cgroup.events)"
	else
		assert_equal "$(cgval freezer freezer.state)" FROZEN freezer.state
	fi
	run runtime list --format json
	assert_equal "$(jq -r ".[] | select(.id == \"$CID\") | .status" <<<"$output")" paused "list status"
	# frozen tasks show state D (v1), or S (the v2 freezer parks them in
	# an interruptible trap)
	want=D
	cgroup_unified && want=S
	[ "$(pids_of "$CID" | wc -l)" -ge 2 ] || fail "too few processes: $(pids_of "$CID")"
	for p in $(pids_of "$CID"); do
		st=$(awk '{print $3}' "/proc/$p/stat")
		assert_equal "$st" "$want" "state of pid $p"
	done
	before=$(counter)
	sleep 1
	assert_equal "$(counter)" "$before" "counter while paused"

	runtime resume "$CID"
	assert_equal "$(state_field "$CID" status)" running status
	if cgroup_unified; then
		assert_equal "$(cgval freezer cgroup.freeze)" 0 cgroup.freeze
	else
		assert_equal "$(cgval freezer freezer.state)" THAWED freezer.state
	fi
	retry 50 0.1 counter_above "$before" || fail "counter did not advance after resume"
}

@test "pause and resume refuse the wrong status like runc" {
	requires_controllers freezer
	bundle_with
	start_detached
	run runtime resume "$CID"
	assert_failure
	assert_output_contains "container not paused"
	runtime pause "$CID"
	run runtime pause "$CID"
	assert_failure
	assert_output_contains "container not running"
	# SIGKILL reaches a paused container (it is thawed to die)
	runtime kill "$CID" KILL
	wait_status "$CID" stopped
	run runtime pause "$CID"
	assert_failure
	assert_output_contains "container not running"
	run runtime resume "$CID"
	assert_failure
	assert_output_contains "container not paused"
}

@test "a created container can be paused and resumed" {
	requires_controllers freezer
	bundle_with
	runtime create -b "$BUNDLE" "$CID" >"$WORK/create.out" 2>&1 </dev/null
	runtime pause "$CID"
	assert_equal "$(state_field "$CID" status)" paused status
	runtime resume "$CID"
	assert_equal "$(state_field "$CID" status)" created status
	runtime start "$CID"
	wait_status "$CID" running
}

@test "update with runc's flags changes the live limits" {
	requires_controllers memory pids cpu cpuset
	bundle_with
	update_config '.linux.resources += {"memory": {"limit": 67108864}, "pids": {"limit": 42}, "cpu": {"shares": 512}}'
	start_detached
	runtime update --memory 96m --memory-reservation 32m --pids-limit 30 --cpu-share 256 \
		--cpu-quota 20000 --cpu-period 100000 --cpuset-cpus 0 --cpuset-mems 0 "$CID"
	assert_equal "$(cgval pids pids.max)" 30 pids.max
	assert_equal "$(cgval cpuset cpuset.cpus)" 0 cpuset.cpus
	if cgroup_unified; then
		mem=memory.max quota=cpu.max q=20000
		assert_equal "$(cgval memory memory.max)" 100663296 memory.max
		assert_equal "$(cgval memory memory.low)" 33554432 memory.low
		# shares 256 -> weight 1 + (256 - 2) * 9999 / 262142
		assert_equal "$(cgval cpu cpu.weight)" 10 cpu.weight
		assert_equal "$(cgval cpu cpu.max)" "20000 100000" cpu.max
		q="20000 100000"
	else
		mem=memory.limit_in_bytes quota=cpu.cfs_quota_us q=20000
		assert_equal "$(cgval memory memory.limit_in_bytes)" 100663296 memory.limit_in_bytes
		assert_equal "$(cgval memory memory.soft_limit_in_bytes)" 33554432 memory.soft_limit_in_bytes
		assert_equal "$(cgval cpu cpu.shares)" 256 cpu.shares
		assert_equal "$(cgval cpu cpu.cfs_quota_us)" 20000 cpu.cfs_quota_us
		assert_equal "$(cgval cpu cpu.cfs_period_us)" 100000 cpu.cfs_period_us
	fi
	# a later update keeps what it does not name; -1 lifts the pids limit
	runtime update --pids-limit -1 "$CID"
	assert_equal "$(cgval pids pids.max)" max pids.max
	assert_equal "$(cgval memory "$mem")" 100663296 "memory after the pids update"
	assert_equal "$(cgval cpu "$quota")" "$q" "quota after the pids update"
	if [ -n "$(cgroup_mount io)" ] && cgroup_unified && [ -e "$(cg io io.weight)" ]; then
		# blkio weight 300 -> io.weight 1 + (300 - 10) * 9999 / 990
		runtime update --blkio-weight 300 "$CID"
		assert_equal "$(cgval io io.weight)" "default 2930" io.weight
	elif ! cgroup_unified && [ -e "$(cg blkio blkio.weight)" ]; then
		runtime update --blkio-weight 300 "$CID"
		assert_equal "$(cgval blkio blkio.weight)" 300 blkio.weight
	fi
	run runtime update --memory lots "$CID"
	assert_failure
	assert_output_contains "memory"
}

@test "update --resources=FILE (podman) and --resources - (stdin, containerd)" {
	requires_controllers memory pids
	bundle_with
	update_config '.linux.resources += {"memory": {"limit": 67108864}, "pids": {"limit": 42}}'
	start_detached
	if has_swap_limit; then
		printf '{"memory":{"limit":100663296,"swap":201326592}}' >"$WORK/res.json"
	else
		printf '{"memory":{"limit":100663296}}' >"$WORK/res.json"
	fi
	mem=memory.limit_in_bytes
	cgroup_unified && mem=memory.max
	runtime update --resources="$WORK/res.json" "$CID"
	assert_equal "$(cgval memory "$mem")" 100663296 "$mem"
	if has_swap_limit && cgroup_unified; then
		# OCI swap is memory + swap; v2's memory.swap.max is the swap alone
		assert_equal "$(cgval memory memory.swap.max)" 100663296 memory.swap.max
	elif has_swap_limit; then
		assert_equal "$(cgval memory memory.memsw.limit_in_bytes)" 201326592 memory.memsw.limit_in_bytes
	fi
	assert_equal "$(cgval pids pids.max)" 42 "pids.max untouched"
	echo '{"pids":{"limit":7}}' | runtime update --resources - "$CID"
	assert_equal "$(cgval pids pids.max)" 7 pids.max
	assert_equal "$(cgval memory "$mem")" 100663296 "memory untouched"
	# with --resources, the flags are ignored (runc)
	echo '{"pids":{"limit":9}}' | runtime update -r - --pids-limit 99 "$CID"
	assert_equal "$(cgval pids pids.max)" 9 pids.max
	run runtime update -r "$WORK/nope.json" "$CID"
	assert_failure
}

@test "update of a stopped container fails like runc" {
	bundle_with true
	start_detached
	wait_status "$CID" stopped
	run runtime update --memory 64m "$CID"
	assert_failure
	assert_output_contains "container not running"
}

@test "ps --format json lists the host pids; table filters ps output" {
	bundle_with sh -c 'sleep 1000 & sleep 1001 & wait'
	start_detached
	pid=$(state_field "$CID" pid)
	retry 50 0.1 nprocs_is "$CID" 3 || fail "want 3 processes: $(runtime ps -f json "$CID")"
	run runtime ps --format json "$CID"
	assert_success
	jq -e --argjson p "$pid" 'type == "array" and length == 3 and index($p) != null' <<<"$output"
	json=$output

	run runtime ps "$CID"
	assert_success
	[[ ${lines[0]} == *PID* ]] || fail "no header: $output"
	assert_equal "${#lines[@]}" 4 "header + 3 processes"
	for l in "${lines[@]:1}"; do
		p=$(awk '{print $2}' <<<"$l")
		jq -e --argjson p "$p" 'index($p) != null' <<<"$json" >/dev/null || fail "pid $p not in the container: $l"
	done

	# options after the id go to ps
	run runtime ps "$CID" -o pid,comm
	assert_success
	assert_equal "$(awk 'NR > 1 {print $2}' <<<"$output" | sort | tr '\n' ' ')" "sh sleep sleep " commands

	run runtime ps -f xml "$CID"
	assert_failure
	assert_output_contains "invalid format option"
}

@test "ps of a stopped container: header only, json null" {
	bundle_with true
	start_detached
	wait_status "$CID" stopped
	run runtime ps -f json "$CID"
	assert_success
	assert_output null
	run runtime ps "$CID"
	assert_success
	assert_equal "${#lines[@]}" 1 "lines"
}

@test "events --stats prints one stats object in runc's shape" {
	requires_controllers memory pids cpu
	bundle_with
	update_config '.linux.resources += {"memory": {"limit": 67108864}, "pids": {"limit": 42}}'
	start_detached
	run --separate-stderr runtime events --stats "$CID"
	assert_success
	assert_equal "${#lines[@]}" 1 "lines"
	jq -e --arg id "$CID" '.type == "stats" and .id == $id' <<<"$output"
	jq -e '.data | has("cpu") and has("memory") and has("pids") and has("blkio") and has("hugetlb")' <<<"$output"
	jq -e '.data.memory.usage.limit == 67108864 and .data.memory.usage.usage > 0' <<<"$output"
	jq -e '.data.pids.current >= 1 and .data.pids.limit == 42' <<<"$output"
	jq -e '.data.cpu.usage.total > 0' <<<"$output"
	# per-CPU usage is v1's cpuacct.usage_percpu; v2's cpu.stat has none
	cgroup_unified || jq -e '(.data.cpu.usage.percpu | length) >= 1' <<<"$output"
}

@test "events prints stats every interval; refuses a stopped container" {
	bundle_with
	start_detached
	run timeout 2.5 "$RUNTIME" --root "$STATE_ROOT" events --interval 500ms "$CID"
	n=$(grep -c '"type":"stats"' <<<"$output")
	[ "$n" -ge 3 ] || fail "got $n stats lines in 2.5 s" "$output"
	run runtime events --interval 0s "$CID"
	assert_failure
	runtime kill "$CID" KILL
	wait_status "$CID" stopped
	run runtime events --stats "$CID"
	assert_failure
	assert_output_contains "is not running"
}

@test "kill --all signals every process, also after the init exited (no pid namespace)" {
	bundle_with sh -c 'sleep 1001 & sleep 1002 & sleep 0.5'
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	start_detached
	wait_status "$CID" stopped
	run pids_of "$CID"
	assert_equal "${#lines[@]}" 2 "processes left after the init exited"
	left=$output
	runtime kill --all "$CID" KILL
	for p in $left; do
		retry 50 0.1 gone "$p" || fail "pid $p survived kill --all"
	done
	run runtime ps -f json "$CID"
	assert_output null
}

@test "nothing is left in any hierarchy after delete, paused or limited" {
	requires_controllers memory pids freezer
	bundle_with sh -c 'sleep 1000 & wait'
	update_config '.linux.resources += {"memory": {"limit": 67108864}, "pids": {"limit": 42}}'
	start_detached
	run cgroup_dirs "$CGPATH"
	[ -n "$output" ] || fail "no cgroup at $CGPATH"
	runtime update --pids-limit 50 "$CID"
	runtime pause "$CID"
	runtime delete --force "$CID"
	run cgroup_dirs "$CGPATH"
	assert_output ""
	run runtime state "$CID"
	assert_failure
}

@test "cgroup v2: pause through cgroup.freeze, limits in the unified files" {
	requires cgroups_unified
	bundle_with
	update_config '.linux.resources += {"memory": {"limit": 67108864}, "pids": {"limit": 42}}'
	start_detached
	d=/sys/fs/cgroup$CGPATH
	assert_equal "$(cat "$d/memory.max")" 67108864 memory.max
	assert_equal "$(cat "$d/pids.max")" 42 pids.max
	runtime pause "$CID"
	assert_equal "$(cat "$d/cgroup.freeze")" 1 cgroup.freeze
	assert_equal "$(state_field "$CID" status)" paused status
	runtime resume "$CID"
	assert_equal "$(cat "$d/cgroup.freeze")" 0 cgroup.freeze
	runtime update --memory 96m "$CID"
	assert_equal "$(cat "$d/memory.max")" 100663296 memory.max
}

@test "cgroup2: blockIO throttles become io.max lines of the device" {
	requires cgroups_unified
	requires_controllers io
	dev=$(mountpoint -d /)
	[ ! -e "/sys/dev/block/$dev/partition" ] || skip "the root file system is on a partition ($dev): io.max takes whole disks"
	bundle_with
	update_config '.linux.resources.blockIO = {
		"throttleReadBpsDevice": [{"major": $maj, "minor": $min, "rate": 1048576}],
		"throttleWriteIOPSDevice": [{"major": $maj, "minor": $min, "rate": 100}]}' \
		--argjson maj "${dev%:*}" --argjson min "${dev#*:}"
	start_detached
	assert_equal "$(cgval io io.max)" "$dev rbps=1048576 wbps=max riops=max wiops=100" io.max
}
