#!/usr/bin/env bats
# podman's resource flags go through the runtime (issue: cgroups): limits at
# create, pause/unpause, update, stats and top must behave as with runc.

load helpers
source "$BATS_TEST_DIRNAME/lib/ociimage.sh"
source "$BATS_TEST_DIRNAME/lib/podman.bash"

# The container's own v1 cgroup files, as the container sees them.
cg() { pm exec "$1" cat "/sys/fs/cgroup/$2"; }

start_sleeper() { # ARGS...: podman run -d flags
	cid=$(pm run -d --network none "$@" "$IMAGE" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done')
	[ -n "$cid" ] || fail "podman run -d failed"
}

@test "podman --memory, --memory-swap, --pids-limit, --cpu-shares, --cpus, --cpuset-cpus reach the cgroup" {
	requires cgroups_v1
	load_image
	start_sleeper --memory 64m --memory-swap 128m --pids-limit 77 --cpu-shares 512 --cpus 0.5 --cpuset-cpus 0
	assert_equal "$(cg "$cid" memory/memory.limit_in_bytes)" 67108864 "memory limit"
	assert_equal "$(cg "$cid" memory/memory.memsw.limit_in_bytes)" 134217728 "memory+swap limit"
	assert_equal "$(cg "$cid" pids/pids.max)" 77 "pids limit"
	assert_equal "$(cg "$cid" cpu/cpu.shares)" 512 "cpu shares"
	assert_equal "$(cg "$cid" cpu/cpu.cfs_quota_us)" 50000 "cpu quota"
	assert_equal "$(cg "$cid" cpu/cpu.cfs_period_us)" 100000 "cpu period"
	assert_equal "$(cg "$cid" cpuset/cpuset.cpus)" 0 "cpuset"
}

@test "podman pause and unpause freeze and thaw the container" {
	requires cgroups_v1
	load_image
	start_sleeper
	pid=$(pm inspect -f '{{.State.Pid}}' "$cid")
	pm pause "$cid"
	assert_equal "$(pm inspect -f '{{.State.Status}}' "$cid")" paused "status after pause"
	freezer=$(awk -F: '$2 == "freezer" {print $3}' "/proc/$pid/cgroup")
	assert_equal "$(cat "/sys/fs/cgroup/freezer$freezer/freezer.state")" FROZEN "freezer state"
	pm unpause "$cid"
	assert_equal "$(pm inspect -f '{{.State.Status}}' "$cid")" running "status after unpause"
	assert_equal "$(cat "/sys/fs/cgroup/freezer$freezer/freezer.state")" THAWED "freezer state"
}

@test "podman update changes live limits" {
	requires cgroups_v1
	load_image
	start_sleeper --memory 64m --cpu-shares 512
	pm update --memory 96m --memory-swap 192m --cpu-shares 256 "$cid"
	assert_equal "$(cg "$cid" memory/memory.limit_in_bytes)" 100663296 "memory limit"
	assert_equal "$(cg "$cid" cpu/cpu.shares)" 256 "cpu shares"
}

@test "podman stats and podman top see the container" {
	load_image
	start_sleeper --memory 64m
	run pm stats --no-stream --format '{{.ID}} {{.MemUsage}}' "$cid"
	assert_success
	assert_output_contains "${cid:0:12}"
	assert_output_contains "/ 67.11MB"
	run pm top "$cid"
	assert_success
	assert_output_contains "sleep"
}
