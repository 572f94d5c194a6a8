#!/usr/bin/env bats
# AppArmor (process.apparmorProfile, exec --apparmor): a profile loaded with
# apparmor_parser confines the container's process from its execve on,
# seen in /proc/PID/attr/current and aa-status, and what it denies is
# really denied. Needs a host where AppArmor is enabled (the test guest of
# `make test-vm`); elsewhere every test skips with the reason. (A profile on
# a host without AppArmor is an error: process.bats.)

load helpers

setup() {
	common_setup
	requires apparmor
	PROFILE=berth-it-$CID
}

teardown() {
	common_teardown
	local f
	for f in "$BATS_TEST_TMPDIR"/*.aa; do
		[ -f "$f" ] && apparmor_parser -R "$f" 2>/dev/null
	done
	return 0
}

# load_profile NAME [RULES...]: load (replace) an enforcing profile NAME
# that allows what a container needs, plus RULES (each without its comma);
# removed by the teardown.
# No abstractions are included: apparmor_parser stays quick.
load_profile() {
	local name=$1 f
	shift
	f=$BATS_TEST_TMPDIR/$name.aa
	{
		echo "profile $name flags=(attach_disconnected,mediate_deleted) {"
		printf '  %s,\n' file capability network signal ptrace unix mount umount pivot_root "$@"
		echo "}"
	} >"$f"
	apparmor_parser -r -W "$f" || fail "apparmor_parser could not load $f"
}

@test "apparmorProfile: the init runs confined, seen in attr/current and aa-status" {
	load_profile "$PROFILE"
	make_bundle "$BUNDLE" sleep 1000
	update_config '.process.apparmorProfile = $p' --arg p "$PROFILE"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >"$WORK/run.out" 2>&1 || fail "$(cat "$WORK/run.out")"
	pid=$(state_field "$CID" pid)
	assert_equal "$(tr -d '\0' <"/proc/$pid/attr/current")" "$PROFILE (enforce)" "attr/current of the init"
	run aa-status
	assert_success
	assert_output_contains "($pid) $PROFILE"
	# the process inside sees the same
	run runtime exec "$CID" cat /proc/1/attr/current
	assert_success
	assert_equal "$(tr -d '\0' <<<"$output")" "$PROFILE (enforce)" "attr/current inside"
}

@test "exec --apparmor and process.apparmorProfile of exec confine the exec'd process" {
	load_profile "$PROFILE"
	load_profile "$PROFILE-exec"
	make_bundle "$BUNDLE" sleep 1000
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >"$WORK/run.out" 2>&1 || fail "$(cat "$WORK/run.out")"
	pid=$(state_field "$CID" pid)
	assert_equal "$(tr -d '\0' <"/proc/$pid/attr/current")" unconfined "init without a profile"
	run runtime exec --apparmor "$PROFILE-exec" "$CID" cat /proc/self/attr/current
	assert_success
	assert_equal "$(tr -d '\0' <<<"$output")" "$PROFILE-exec (enforce)" "exec --apparmor"
	jq -n --arg p "$PROFILE" '{args: ["cat", "/proc/self/attr/current"], env: ["PATH=/bin:/sbin"], cwd: "/", user: {uid: 0, gid: 0},
		apparmorProfile: $p}' >"$WORK/process.json"
	run runtime exec --process "$WORK/process.json" "$CID"
	assert_success
	assert_equal "$(tr -d '\0' <<<"$output")" "$PROFILE (enforce)" "exec --process with apparmorProfile"
}

@test "a denying profile really denies: the file read and the write it forbids fail" {
	load_profile "$PROFILE" 'deny /etc/berth-secret r' 'deny /tmp/** w'
	make_bundle "$BUNDLE"
	echo secret >"$BUNDLE/rootfs/etc/berth-secret"
	# unconfined, both work
	run_sh 'cat /etc/berth-secret && echo x >/tmp/f && echo wrote'
	assert_success
	assert_output "$(printf 'secret\nwrote')"
	runtime delete --force "$CID" 2>/dev/null || true

	update_config '.process.apparmorProfile = $p' --arg p "$PROFILE"
	run_sh 'cat /etc/berth-secret; echo "read: $?"; echo x >/tmp/f; echo "write: $?"; cat /etc/hostname >/dev/null && echo other-reads-ok'
	assert_success
	assert_line "read: 1"
	assert_line "write: 1"
	assert_line other-reads-ok
	[[ $stderr == *"Permission denied"* ]] || fail "no permission denied: $stderr"
}

@test "a profile that is not loaded: create fails naming it, and nothing is left" {
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p | .process.apparmorProfile = $a' --arg p "/berth-it-$CID" --arg a "$PROFILE-nosuch"
	track_cgroup "/berth-it-$CID"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	is_runc || assert_output_contains "$PROFILE-nosuch"
	run runtime state "$CID"
	assert_failure
	run cgroup_dirs "/berth-it-$CID"
	assert_output ""
}
