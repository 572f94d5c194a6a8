#!/usr/bin/env bats
# No config field silently ignored (issue 14): a field berth does not apply
# is named in a warning on stderr and in --log, a field the runtime-spec
# does not have is named as ignored (config.md: runtimes MUST ignore
# unknown properties), a config for a virtual machine is refused; the same
# for exec's --process file. Values spelled as the runtime-spec schema
# spells them parse even where oci-spec 0.10 spells them otherwise.

load helpers

@test "a field berth does not apply is named on stderr and in --log; the container runs" {
	runc_differs "runc 1.1 ignores fields it does not apply without a word"
	make_bundle "$BUNDLE" true
	update_config '.process.commandLine = "true" | .linux.personality = {"domain": "LINUX", "flags": ["x"]}'
	run --separate-stderr runtime --log "$WORK/log" --log-format json run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	[[ $stderr == *'warning: config.json: `process.commandLine` is not applied: is for Windows'* ]] ||
		fail "no warning on stderr: $stderr"
	[[ $stderr == *'`linux.personality.flags` is not applied'* ]] || fail "no warning on stderr: $stderr"
	run jq -r 'select(.level == "warning") | .msg' "$WORK/log"
	assert_output_contains '`process.commandLine` is not applied'
	assert_output_contains '`linux.personality.flags` is not applied'
}

@test "a field the runtime-spec does not have is named as ignored; the container runs" {
	runc_differs "runc 1.1 ignores unknown fields without a word"
	make_bundle "$BUNDLE" true
	update_config '.linux.resources.memory.bogusLimit = 1 | .extension = {"a": 1}'
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	[[ $stderr == *'unknown field `extension` is ignored'* ]] || fail "stderr: $stderr"
	[[ $stderr == *'unknown field `linux.resources.memory.bogusLimit` is ignored'* ]] || fail "stderr: $stderr"
}

@test "a config for a virtual machine is refused before anything exists" {
	runc_differs "runc 1.1 runs a config with a vm section as a container"
	make_bundle "$BUNDLE" true
	update_config '.vm = {"hypervisor": {"path": "/usr/bin/qemu"}, "kernel": {"path": "/boot/vmlinuz"}}'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "vm: configures a virtual machine"
	run runtime state "$CID"
	assert_failure
	[ -z "$(cgroup_dirs "/$CID")" ] || fail "cgroup left"
}

@test "exec --process: a field berth does not apply is named" {
	runc_differs "runc 1.1 ignores fields it does not apply without a word"
	make_bundle "$BUNDLE"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	jq -n '{args: ["echo", "ran"], cwd: "/", user: {uid: 0, gid: 0, username: "root"}, madeUp: true}' >"$WORK/p.json"
	run --separate-stderr runtime exec --process "$WORK/p.json" "$CID"
	assert_success
	assert_output ran
	[[ $stderr == *'process file: `process.user.username` is not applied'* ]] || fail "stderr: $stderr"
	[[ $stderr == *'process file: unknown field `process.madeUp` is ignored'* ]] || fail "stderr: $stderr"
}

@test "scheduler flags spelled as the runtime-spec schema spells them are applied" {
	runc_differs "runc 1.1 does not support process.scheduler"
	command -v chrt >/dev/null || skip "needs chrt (util-linux)"
	make_bundle "$BUNDLE"
	update_config '.process.scheduler = {"policy": "SCHED_BATCH", "flags": ["SCHED_FLAG_RESET_ON_FORK"]}'
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run chrt -p "$(state_field "$CID" pid)"
	assert_success
	assert_output_contains "SCHED_BATCH|SCHED_RESET_ON_FORK"
	# and in exec's --process file
	jq -n '{args: ["sleep", "30"], cwd: "/", user: {uid: 0, gid: 0},
		scheduler: {policy: "SCHED_BATCH", flags: ["SCHED_FLAG_RESET_ON_FORK"]}}' >"$WORK/p.json"
	runtime exec -d --pid-file "$WORK/exec.pid" --process "$WORK/p.json" "$CID"
	run chrt -p "$(cat "$WORK/exec.pid")"
	assert_output_contains "SCHED_BATCH|SCHED_RESET_ON_FORK"
}
