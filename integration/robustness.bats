#!/usr/bin/env bats
# Crash and race safety (issue 2, "Safety and robustness"): a runtime killed
# mid-create, concurrent creates of one id, config edits after create, and
# nothing left behind (state, process, mount, cgroup) after a failed create.

load helpers

setup() {
	common_setup
	CGPATH=/berth-it-$CID
	track_cgroup "$CGPATH"
}

# host_snapshot: mount points and berth-it cgroups, for before/after diffs
host_snapshot() {
	awk '{print $5}' /proc/self/mountinfo | grep -v "^$WORK" | sort
	for m in $(cgroup_mounts); do ls -d "$m"/berth-it-* 2>/dev/null; done
	return 0
}

# assert_container_gone ID: no state, no cgroup, no live process from it
assert_container_gone() {
	run runtime state "$1"
	assert_failure
	# (a root that was never created is fine: nothing was written)
	if [ -d "$STATE_ROOT" ]; then
		run find "$STATE_ROOT" -mindepth 1 -maxdepth 1 -name "$1*"
		assert_output ""
	fi
	run cgroup_dirs "$CGPATH"
	assert_output ""
}

@test "a runtime killed mid-create leaves something delete --force removes completely" {
	runc_differs "runc killed mid-create leaves its cgroups behind"
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	# a prestart hook that records the state it got and then blocks, so the
	# runtime is reliably in the middle of create when it is killed
	update_config '.hooks.prestart = [{"path":"/bin/sh","args":["sh","-c","cat > \"$0/state.json\"; echo $$ > \"$0/hook.pid\"; exec sleep 60", $w]}]' --arg w "$WORK"
	before=$(host_snapshot)
	"$RUNTIME" --root "$STATE_ROOT" create -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1 3>&- &
	rt=$!
	retry 100 0.1 test -s "$WORK/hook.pid" || fail "prestart hook never ran"
	track_pid "$(cat "$WORK/hook.pid")"
	init=$(jq -r .pid "$WORK/state.json")
	kill -KILL "$rt"
	wait "$rt" || true
	kill -KILL "$(cat "$WORK/hook.pid")" 2>/dev/null || true

	run runtime delete --force "$CID"
	assert_success
	assert_container_gone "$CID"
	# the half-made init is gone too
	if [ "${init:-0}" -gt 1 ]; then
		retry 50 0.1 eval "! kill -0 $init 2>/dev/null || grep -q '^State:.*Z' /proc/$init/status" ||
			fail "init $init survived delete --force"
	fi
	assert_equal "$(host_snapshot)" "$before" "host mounts and cgroups"
}

@test "a runtime killed at random points of create: delete --force always cleans up" {
	runc_differs "runc killed mid-create leaves its cgroups behind"
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	before=$(host_snapshot)
	for delay in 0.001 0.005 0.01 0.02 0.04; do
		"$RUNTIME" --root "$STATE_ROOT" create -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1 3>&- &
		rt=$!
		sleep "$delay"
		kill -KILL "$rt" 2>/dev/null || true
		wait "$rt" || true
		run runtime delete --force "$CID"
		assert_success
		assert_container_gone "$CID"
	done
	assert_equal "$(host_snapshot)" "$before" "host mounts and cgroups"
}

@test "two concurrent creates of one id give exactly one container" {
	runc_differs "runc 1.1 races here: both creates can fail (exec.fifo exists), or the loser removes the winner's state"
	make_bundle "$BUNDLE"
	for round in 1 2 3 4 5; do
		id=$CID-r$round
		runtime create -b "$BUNDLE" "$id" >"$WORK/a.out" 2>&1 &
		a=$!
		runtime create -b "$BUNDLE" "$id" >"$WORK/b.out" 2>&1 &
		b=$!
		ra=0 rb=0
		wait "$a" || ra=$?
		wait "$b" || rb=$?
		[ $((ra == 0)) -ne $((rb == 0)) ] || fail "round $round: exits $ra and $rb" "$(cat "$WORK/a.out" "$WORK/b.out")"
		assert_equal "$(runtime list -q | grep -c "^$id\$")" 1 "containers named $id"
		assert_equal "$(state_field "$id" status)" created
		# exactly one init process: the one in the state
		pid=$(state_field "$id" pid)
		kill -0 "$pid"
	done
}

@test "config.json edited after create changes nothing" {
	make_bundle "$BUNDLE" sh -c 'echo "args=first host=$(hostname) env=$E"'
	update_config '.hostname = "first" | .process.env += ["E=first"]'
	runtime create -b "$BUNDLE" "$CID" >"$WORK/out" 2>&1
	update_config '.hostname = "second" | .process.env += ["E=second"] | .process.args = ["sh","-c","echo args=second"]'
	echo garbage >>"$BUNDLE/config.json"
	runtime start "$CID"
	wait_status "$CID" stopped
	assert_equal "$(cat "$WORK/out")" "args=first host=first env=first"
	# delete works without a usable config.json
	runtime delete "$CID"
}

@test "a bad config fails before any side effect, naming the problem" {
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	cp "$BUNDLE/config.json" "$WORK/good.json"
	before=$(host_snapshot)
	bad() { # DESCRIPTION JQ [EXPECTED SUBSTRING]
		jq "$2" "$WORK/good.json" >"$BUNDLE/config.json"
		run_create -b "$BUNDLE" "$CID"
		[ "$status" -ne 0 ] || fail "$1: accepted"
		[ -z "${3:-}" ] || [[ $output == *"$3"* ]] || fail "$1: message lacks '$3': $output"
		assert_container_gone "$CID"
	}
	bad "process.args of the wrong type" '.process.args = "sh"'
	bad "rlimit of unknown type" '.process.rlimits = [{"type":"RLIMIT_NOPE","soft":1,"hard":1}]' RLIMIT_NOPE
	bad "namespace of unknown type" '.linux.namespaces += [{"type":"nope"}]' nope
	bad "uid of the wrong type" '.process.user.uid = "root"'
	bad "empty args" '.process.args = []'
	bad "mount without destination" '.mounts += [{"type":"tmpfs","source":"tmpfs"}]'
	bad "root.path missing on disk" '.root.path = "no-such-rootfs"'
	echo '{"ociVersion": "1.0.2", "process": ' >"$BUNDLE/config.json"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_container_gone "$CID"
	assert_equal "$(host_snapshot)" "$before" "host mounts and cgroups"
}

@test "an unknown ociVersion is refused, naming it" {
	runc_differs "runc 1.1 does not validate ociVersion"
	make_bundle "$BUNDLE"
	update_config '.ociVersion = "invalid"'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "invalid"
	assert_container_gone "$CID"
}

@test "unknown top-level properties and annotations are ignored" {
	make_bundle "$BUNDLE" true
	update_config '.unknownProperty = {"x": 1} | .annotations = {"org.example.unknown": "v"}'
	run runtime run -b "$BUNDLE" "$CID"
	assert_success
}

@test "a failing create in a user-namespaced, mount-heavy config leaves no mounts" {
	make_bundle "$BUNDLE" /no/such/binary
	update_config '.mounts += [{"destination":"/mnt/t","type":"tmpfs","source":"tmpfs"},{"destination":"/mnt/b","type":"bind","source":$w,"options":["rbind"]}]' --arg w "$WORK"
	before=$(host_snapshot)
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_equal "$(host_snapshot)" "$before" "host mounts and cgroups"
	run mounts_under "$BUNDLE"
	assert_output ""
}

@test "the container cannot reach the runtime binary through /proc/self/exe (CVE-2019-5736)" {
	make_bundle "$BUNDLE"
	sum=$(sha256sum <"$(readlink -f "$RUNTIME")")
	# the container runs the runtime's /proc/<pid>/exe as soon as it exists:
	# open it for writing through any pid it can see, repeatedly
	set_args sh -c 'for i in $(seq 200); do for p in /proc/[0-9]*; do echo x 2>/dev/null > $p/exe && echo WROTE $p; done; done; echo done'
	run runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_output_not_contains "WROTE"
	assert_equal "$(sha256sum <"$(readlink -f "$RUNTIME")")" "$sum" "runtime binary checksum"
}

# freezer_state PATH: FROZEN, FREEZING or THAWED for cgroupsPath PATH (v1
# freezer, else cgroup v2's cgroup.freeze); empty when there is none.
freezer_state() {
	local m
	for m in $(cgroup_mounts); do
		if [ -f "$m$1/freezer.state" ]; then
			cat "$m$1/freezer.state"
			return 0
		fi
		if [ -f "$m$1/cgroup.freeze" ]; then
			[ "$(cat "$m$1/cgroup.freeze")" = 1 ] && echo FROZEN || echo THAWED
			return 0
		fi
	done
}

# killed_delete_rounds ROUNDS: run -d, then a delete --force killed after
# a growing delay; the container must never be left frozen, and the next
# delete --force removes it all.
killed_delete_rounds() {
	local round delay st
	for round in $(seq "$1"); do
		runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
		retry 100 0.05 eval "[ \$(pgrep -c -f 'sleep 3599') -ge 30 ]" || fail "round $round: the processes never started"
		delay=$(printf '0.%03d' $((round * 3 % 40)))
		"$RUNTIME" --root "$STATE_ROOT" delete --force "$CID" </dev/null >/dev/null 2>&1 3>&- &
		sleep "$delay"
		kill -KILL $! 2>/dev/null || true
		wait $! || true
		st=$(state_field "$CID" status)
		[ "$st" != paused ] || fail "round $round (delay $delay): a killed delete --force left the container paused"
		[ "$(freezer_state "$CGPATH")" != FROZEN ] || fail "round $round (delay $delay): cgroup left frozen"
		runtime delete --force "$CID"
		assert_container_gone "$CID"
	done
}

@test "a delete --force killed at random points never leaves the container frozen (own pid namespace)" {
	make_bundle "$BUNDLE" sh -c 'for i in $(seq 40); do sleep 3599 & done; wait'
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	killed_delete_rounds 20
}

@test "a delete --force killed at random points never leaves the container frozen (host pid namespace)" {
	make_bundle "$BUNDLE" sh -c 'for i in $(seq 40); do sleep 3599 & done; wait'
	update_config '.linux.cgroupsPath = $p | .linux.namespaces |= map(select(.type != "pid"))' --arg p "$CGPATH"
	killed_delete_rounds 20
}

# damaged_state_case HOW: a running container whose state.json is then
# damaged by HOW (a shell command run in its state dir): list names it,
# delete --force kills its processes and removes its cgroup and state.
damaged_state_case() {
	make_bundle "$BUNDLE" sh -c 'sleep 3598 & sleep 3598'
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	pid=$(state_field "$CID" pid)
	kill -0 "$pid"
	# (for the teardown, should the runtime leave them)
	retry 50 0.1 eval "[ \$(pgrep -c -f 'sleep 3598') -ge 2 ]"
	for p in $(pgrep -f 'sleep 3598'); do track_pid "$p"; done
	(cd "$STATE_ROOT/$CID" && eval "$1")
	run --separate-stderr runtime list
	assert_success
	[[ $stderr == *"$CID"* ]] || fail "list does not mention $CID" "stdout: $output" "stderr: $stderr"
	run --separate-stderr runtime delete --force "$CID"
	assert_success
	[[ $stderr == *"$CID"* ]] || fail "delete --force does not say what it could not do" "stderr: $stderr"
	retry 50 0.1 eval "! pgrep -f 'sleep 3598' >/dev/null" || fail "the container's processes survived"
	assert_container_gone "$CID"
}

@test "a damaged state.json: list warns about the container, delete --force still removes it all" {
	runc_differs "runc 1.1 cannot delete a container with a damaged state.json"
	damaged_state_case 'echo "{garbage" > state.json'
}

@test "a missing state.json: list warns about the container, delete --force still removes it all" {
	runc_differs "runc 1.1 cannot delete a container without state.json"
	damaged_state_case 'rm state.json'
}
