#!/usr/bin/env bats
# The systemd cgroup driver (`--systemd-cgroup`) against a real systemd:
# the host's own when it is pid 1 (detected), otherwise one this file starts
# as pid 1 of private namespaces (lib/systemd-ns.sh; SD_CGROUP=v2 makes that
# one a unified-only systemd). Every runtime call and every look at units and
# cgroups then happens inside its namespaces, through `sd`.
#
# Only create/run get --systemd-cgroup: later verbs must find the driver in
# the container's state, as with runc.

load helpers

setup_file() {
	requires root
	export SD_NS=$BATS_TEST_DIRNAME/lib/systemd-ns.sh
	if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
		export SD_DIR=
	else
		command -v systemctl >/dev/null && [ -x /lib/systemd/systemd ] ||
			skip "needs systemd (the systemd package) to start one"
		export SD_DIR=$BATS_FILE_TMPDIR/systemd
		if ! "$SD_NS" start "$SD_DIR" >"$BATS_FILE_TMPDIR/sd-start.log" 2>&1; then
			cp "$BATS_FILE_TMPDIR/sd-start.log" "$BATS_FILE_TMPDIR/sd-failed"
		fi
	fi
}

teardown_file() {
	[ -n "${SD_DIR:-}" ] && "$SD_NS" stop "$SD_DIR"
	return 0
}

# sd CMD...: run CMD where the systemd under test is.
sd() {
	if [ -n "${SD_DIR:-}" ]; then "$SD_NS" exec "$SD_DIR" "$@"; else "$@"; fi
}

# The runtime, where the systemd is; `sdrt` adds --systemd-cgroup.
runtime() {
	sd timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" "$@" 3>&-
}
sdrt() { runtime --systemd-cgroup "$@"; }

setup() {
	common_setup
	if [ -f "$BATS_FILE_TMPDIR/sd-failed" ]; then
		skip "could not start a systemd in private namespaces: $(tail -n 3 "$BATS_FILE_TMPDIR/sd-failed")"
	fi
	# one slice per test, so that its units are easy to find and stop
	SLICE=bt$$x$BATS_SUITE_TEST_NUMBER.slice
	UNIT=berth-it-$CID.scope
	SCOPE=/$SLICE/$UNIT
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$SLICE:berth-it:$CID"
}

teardown() {
	local id
	for id in $(runtime list -q 2>/dev/null) "$CID"; do
		runtime delete --force "$id" >/dev/null 2>&1
	done
	sd systemctl stop "$SLICE" >/dev/null 2>&1
	sd systemctl reset-failed >/dev/null 2>&1
	common_teardown
}

is_v2() { sd test -f /sys/fs/cgroup/cgroup.controllers; }

# cgfile CONTROLLER FILE [CGROUP]: a file of the container's cgroup (CGROUP,
# default $SCOPE) in CONTROLLER's hierarchy.
cgfile() {
	if is_v2; then echo "/sys/fs/cgroup${3:-$SCOPE}/$2"; else echo "/sys/fs/cgroup/$1${3:-$SCOPE}/$2"; fi
}

cgread() { sd cat "$(cgfile "$@")"; }

# requires_controller NAME: skip unless the container's hierarchy has it.
requires_controller() {
	if is_v2; then
		sd grep -qw "$1" /sys/fs/cgroup/cgroup.controllers || skip "no $1 controller in the unified hierarchy here"
	else
		sd test -d "/sys/fs/cgroup/$1" || skip "no v1 $1 hierarchy"
	fi
}

prop() { sd systemctl show -P "$1" "${2:-$UNIT}"; }

# wait_unit_gone UNIT: systemd forgets a stopped transient unit.
unit_gone() { [ "$(prop LoadState "$1")" = not-found ] || [ "$(prop ActiveState "$1")" = inactive ]; }

# Directories named after the unit anywhere in the cgroup tree.
unit_dirs() { sd find /sys/fs/cgroup -name "$1" -type d 2>/dev/null; }

@test "run -d: the container is a transient scope in its slice, Delegate=yes, in every hierarchy" {
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop ActiveState)" active
	assert_equal "$(prop Delegate)" yes
	assert_equal "$(prop Slice)" "$SLICE"
	assert_equal "$(prop ControlGroup)" "$SCOPE"
	pid=$(state_field "$CID" pid)
	run sd cat "/proc/$pid/cgroup"
	assert_success
	local l
	while IFS= read -r l; do
		[ "${l##*:}" = "$SCOPE" ] || fail "not in the scope: $l" "$output"
	done <<<"$output"
	# the unit lists the init as its process
	sd systemctl status --no-pager "$UNIT" | grep -q "$pid" || fail "pid $pid not in $UNIT"
}

@test "limits are unit properties and cgroup files" {
	requires_controller memory
	requires_controller pids
	requires_controller cpu
	update_config '.linux.resources.memory = {"limit": 104857600}
		| .linux.resources.pids = {"limit": 50}
		| .linux.resources.cpu = {"shares": 512, "quota": 50000, "period": 100000}'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop TasksMax)" 50
	assert_equal "$(prop CPUQuotaPerSecUSec)" 500ms
	assert_equal "$(cgread pids pids.max)" 50
	if is_v2; then
		assert_equal "$(prop MemoryMax)" 104857600
		assert_equal "$(prop CPUWeight)" 20
		assert_equal "$(cgread memory memory.max)" 104857600
		assert_equal "$(cgread cpu cpu.weight)" 20
		assert_equal "$(cgread cpu cpu.max)" "50000 100000"
	else
		assert_equal "$(prop MemoryLimit)" 104857600
		assert_equal "$(prop CPUShares)" 512
		assert_equal "$(cgread memory memory.limit_in_bytes)" 104857600
		assert_equal "$(cgread cpu cpu.shares)" 512
		assert_equal "$(cgread cpu cpu.cfs_quota_us)" 50000
	fi
}

@test "a CPU quota systemd rounds to whole percents is rounded in the file too" {
	requires_controller cpu
	runc_differs "runc 1.1.5 writes the unrounded quota, which systemd overwrites with its own at its next reload"
	update_config '.linux.resources.cpu = {"quota": 12345, "period": 100000}'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop CPUQuotaPerSecUSec)" 130ms
	local f=cpu.cfs_quota_us want=13000
	if is_v2; then f=cpu.max want="13000 100000"; fi
	assert_equal "$(cgread cpu $f)" "$want"
	sd systemctl daemon-reload
	assert_equal "$(cgread cpu $f)" "$want"
}

@test "update (without the flag) sets the unit's properties and the files" {
	requires_controller memory
	requires_controller pids
	update_config '.linux.resources.memory = {"limit": 104857600} | .linux.resources.pids = {"limit": 50}'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	runtime update --memory 200m --pids-limit 20 "$CID"
	assert_equal "$(prop TasksMax)" 20
	assert_equal "$(cgread pids pids.max)" 20
	if is_v2; then
		assert_equal "$(prop MemoryMax)" 209715200
		assert_equal "$(cgread memory memory.max)" 209715200
	else
		assert_equal "$(prop MemoryLimit)" 209715200
		assert_equal "$(cgread memory memory.limit_in_bytes)" 209715200
	fi
	# a daemon-reload re-applies the unit's properties: still the new values
	sd systemctl daemon-reload
	assert_equal "$(cgread pids pids.max)" 20
}

@test "delete (without the flag) stops the unit and removes every cgroup directory" {
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	[ -n "$(unit_dirs "$UNIT")" ] || fail "no cgroup directories for $UNIT"
	runtime delete --force "$CID"
	unit_gone "$UNIT" || fail "$UNIT still $(prop ActiveState)"
	run unit_dirs "$UNIT"
	assert_output ""
	run runtime state "$CID"
	assert_failure
}

@test "exec, ps, pause/resume, events, kill --all: later verbs find the unit's cgroup without the flag" {
	set_args sh -c 'sleep 1000 & exec sleep 1001'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run runtime exec "$CID" cat /proc/self/cgroup
	assert_success
	grep -q ":$SCOPE\$" <<<"$output" || fail "exec not in the scope" "$output"
	run runtime ps -f json "$CID"
	assert_success
	assert_equal "$(jq length <<<"$output")" 2 "processes"
	runtime pause "$CID"
	assert_equal "$(state_field "$CID" status)" paused
	runtime resume "$CID"
	assert_equal "$(state_field "$CID" status)" running
	run runtime events --stats "$CID"
	assert_success
	[ "$(jq -r .type <<<"$output")" = stats ] || fail "events: $output"
	runtime kill --all "$CID" KILL
	wait_status "$CID" stopped
	run runtime ps -f json "$CID"
	[ "$output" = "[]" ] || [ "$output" = null ] || [ "$output" = "" ] || fail "processes left: $output"
}

@test "a foreground run: the unit goes away with the container" {
	set_args sh -c 'cat /proc/self/cgroup; exit 3'
	run sdrt run -b "$BUNDLE" "$CID" </dev/null
	assert_failure 3
	assert_output_contains ":$SCOPE"
	unit_gone "$UNIT" || fail "$UNIT still $(prop ActiveState)"
	run unit_dirs "$UNIT"
	assert_output ""
}

@test "a stopped container's unit and directories go with delete" {
	set_args true
	sdrt create -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	runtime start "$CID"
	wait_status "$CID" stopped
	runtime delete "$CID"
	unit_gone "$UNIT" || fail "$UNIT still $(prop ActiveState)"
	run unit_dirs "$UNIT"
	assert_output ""
}

@test "nested slices named in cgroupsPath are created" {
	local s=${SLICE%.slice}
	SLICE=$s-inner.slice
	SCOPE=/$s.slice/$SLICE/$UNIT
	update_config '.linux.cgroupsPath = $p' --arg p "$SLICE:berth-it:$CID"
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop ControlGroup)" "$SCOPE"
	assert_equal "$(prop ActiveState "$SLICE")" active
	SLICE=$s.slice # the teardown stops the outer slice
}

@test "an empty cgroupsPath means system.slice and the prefix runc" {
	update_config 'del(.linux.cgroupsPath)'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop ControlGroup "runc-$CID.scope")" "/system.slice/runc-$CID.scope"
	runtime delete --force "$CID"
	unit_gone "runc-$CID.scope" || fail "runc-$CID.scope left"
}

@test "a device whitelist holds in a new slice, after a daemon-reload and a sibling unit" {
	# /fuse: a device anyone may open, not in the default rules
	mknod "$BUNDLE/rootfs/fuse" c 10 229
	if ! is_v2; then
		runc_differs "runc 1.1 sets the device policy after starting the unit: in a new slice systemd keeps the container in the slice's devices cgroup, which allows every device"
	fi
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop DevicePolicy)" strict
	local probe='exec 3<>/fuse && echo opened'
	run runtime exec "$CID" sh -c "$probe"
	assert_output_contains "not permitted"
	sd systemctl daemon-reload
	sd systemd-run --quiet --slice "$SLICE" --scope true
	run runtime exec "$CID" sh -c "$probe"
	assert_output_contains "not permitted"
	if ! is_v2; then
		pid=$(state_field "$CID" pid)
		run sd grep ':devices:' "/proc/$pid/cgroup"
		assert_output_contains ":devices:$SCOPE"
	fi
	# the same container allowed the device: the open is not refused
	runtime delete --force "$CID"
	update_config '.linux.resources.devices += [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run runtime exec "$CID" sh -c "$probe"
	assert_output_not_contains "not permitted"
}

@test "two containers with one cgroupsPath: the second fails and leaves the first alone" {
	runc_differs "runc 1.1 puts the second container in the first one's unit (with a deprecation warning; runc 1.2 refuses)"
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	pid=$(state_field "$CID" pid)
	run_create_sd -b "$BUNDLE" "$CID-2"
	assert_failure
	assert_output_contains "$UNIT"
	run runtime state "$CID-2"
	assert_failure
	assert_equal "$(state_field "$CID" status)" running
	assert_equal "$(prop ActiveState)" active
	run cgread pids cgroup.procs
	assert_output "$pid"
}

# run_create_sd ARGS: `run` a create with --systemd-cgroup that should fail
# (its output through a file, see run_create).
run_create_sd() {
	local pre=()
	[ -z "${SD_DIR:-}" ] || pre=("$SD_NS" exec "$SD_DIR")
	run bash -c 'f=$1; shift; "$@" >"$f" 2>&1 </dev/null; rc=$?; cat "$f"; exit $rc' _ "$WORK/.create.out" \
		"${pre[@]}" timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" --systemd-cgroup create "$@" 3>&-
}

@test "no bus daemon: the driver talks to systemd's private socket" {
	[ -n "${SD_DIR:-}" ] || [ "$(id -u)" = 0 ] || skip "needs root"
	sd unshare -m sh -c 'mount -t tmpfs -o size=4k tmpfs /run/dbus && exec "$@"' _ \
		timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" --systemd-cgroup \
		run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1 3>&-
	assert_equal "$(prop ActiveState)" active
	sd unshare -m sh -c 'mount -t tmpfs -o size=4k tmpfs /run/dbus && exec "$@"' _ \
		timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" delete --force "$CID" 3>&-
	unit_gone "$UNIT" || fail "$UNIT left"
}

@test "cgroupsPath not of the form slice:prefix:name is refused, nothing left" {
	for p in /berth-it/x "$SLICE:$CID" "bad:berth-it:$CID"; do
		update_config '.linux.cgroupsPath = $p' --arg p "$p"
		run_create_sd -b "$BUNDLE" "$CID"
		assert_failure
		run runtime state "$CID"
		assert_failure
	done
	run unit_dirs "$UNIT"
	assert_output ""
}

@test "without a systemd the driver fails clearly, leaving nothing" {
	[ -n "${SD_DIR:-}" ] || skip "systemd is pid 1 here"
	run bash -c 'f=$1; shift; "$@" >"$f" 2>&1 </dev/null; rc=$?; cat "$f"; exit $rc' _ "$WORK/.create.out" \
		timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" --systemd-cgroup create -b "$BUNDLE" "$CID" 3>&-
	assert_failure
	assert_output_contains -i "systemd"
	run timeout 10 "$RUNTIME" --root "$STATE_ROOT" state "$CID"
	assert_failure
}
