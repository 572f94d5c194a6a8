#!/usr/bin/env bats
# Rootless: the runtime run by an unprivileged user (nobody, through
# setpriv) on a `spec --rootless` config: container root is the caller's
# uid, the state lives under $XDG_RUNTIME_DIR, and without a delegated
# cgroup the container runs in the caller's cgroup (limits are refused).

load helpers

UNPRIV=65534

setup() {
	common_setup
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	requires userns
	mkdir -p "$WORK/xdg"
	chown "$UNPRIV:$UNPRIV" "$WORK/xdg"
	chmod 700 "$WORK/xdg"
	# the teardown (as root) deletes whatever the unprivileged runtime left
	STATE_ROOT=$WORK/xdg/$(basename "$RUNTIME")
	[ "$(basename "$RUNTIME")" = berth ] || STATE_ROOT=$WORK/xdg/runc
	# the prefix that runs a command as the unprivileged user, in a clean
	# environment whose $XDG_RUNTIME_DIR is $WORK/xdg
	AS_UNPRIV=(setpriv --reuid="$UNPRIV" --regid="$UNPRIV" --clear-groups
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK")
}

teardown() { common_teardown; }

# rl ARGS...: the runtime as the unprivileged user, with its default root.
rl() {
	timeout -k 5 "$RUNTIME_TIMEOUT" "${AS_UNPRIV[@]}" "$RUNTIME" "$@" 3>&-
}

# rootless_bundle ARGS...: a busybox bundle with the config of
# `spec --rootless` written by the unprivileged user, who owns it all; args ARGS.
rootless_bundle() {
	make_bundle "$BUNDLE" "$@"
	rm "$BUNDLE/config.json"
	# a rootless user's bundle is its own (as unpacked by it)
	chown -R "$UNPRIV:$UNPRIV" "$BUNDLE"
	(cd "$BUNDLE" && rl spec --rootless) || fail "spec --rootless failed"
	update_config '.process.terminal = false | .process.args = $a | .root.readonly = false' --argjson a "$(json_array "$@")"
}

@test "rootless: spec --rootless maps container root to the caller; run works unprivileged" {
	runc_differs "runc 1.1.5 fails rootless creates here: error reopening /dev/null inside container: permission denied"
	rootless_bundle sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; echo x >/dev/shm/f && echo shm-ok'
	assert_equal "$(jq -c '.linux.uidMappings' "$BUNDLE/config.json")" '[{"containerID":0,"hostID":65534,"size":1}]'
	run rl run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	assert_equal "${lines[0]}" 0 "uid inside"
	assert_equal "${lines[1]}" 0 "gid inside"
	[ "$(echo ${lines[2]})" = "0 $UNPRIV 1" ] || fail "uid_map: ${lines[2]}"
	[ "$(echo ${lines[3]})" = "0 $UNPRIV 1" ] || fail "gid_map: ${lines[3]}"
	assert_line shm-ok
}

@test "rootless: the state lives under \$XDG_RUNTIME_DIR; create, start, exec, ps, kill --all, delete" {
	runc_differs "runc 1.1.5 fails rootless creates here: error reopening /dev/null inside container: permission denied"
	rootless_bundle sleep 1000
	rl create -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>"$WORK/err" || fail "create: $(cat "$WORK/err")"
	[ -d "$STATE_ROOT/$CID" ] || fail "no state under $WORK/xdg: $(find "$WORK/xdg")"
	run rl state "$CID"
	assert_success
	assert_equal "$(echo "$output" | jq -r .status)" created
	rl start "$CID"
	retry 50 0.1 eval '[ "$(rl state "$CID" | jq -r .status)" = running ]' || fail "not running"
	# exec lands in the container's pid namespace and reports the exit code
	run rl exec "$CID" sh -c 'echo pid=$$; id -u; exit 3'
	assert_failure 3
	assert_line pid=2
	assert_line 0
	rl exec -d "$CID" sleep 900
	run rl ps --format json "$CID"
	assert_success
	[ "$(echo "$output" | jq length)" -eq 2 ] || fail "ps: $output"
	# pause needs a cgroup of its own, which this host does not delegate
	run rl pause "$CID"
	assert_failure
	is_runc || assert_output_contains "no cgroup"
	rl kill --all "$CID" KILL
	retry 50 0.1 eval '[ "$(rl state "$CID" | jq -r .status)" = stopped ]' || fail "kill --all did not stop it"
	rl delete "$CID"
	[ ! -e "$STATE_ROOT/$CID" ] || fail "state left behind"
}

@test "rootless: limits without a delegated cgroup are an error naming them, and nothing is left" {
	rootless_bundle true
	update_config '.linux.resources = {"memory":{"limit":104857600},"pids":{"limit":50}}'
	run rl run -b "$BUNDLE" "$CID" </dev/null
	assert_failure
	if ! is_runc; then
		assert_output_contains "rootless"
		assert_output_contains "memory, pids"
	fi
	run rl list -q
	assert_output ""
	[ -z "$(cgroup_dirs "/$CID")" ] || fail "cgroup left: $(cgroup_dirs "/$CID")"
}

@test "rootless: a config without a user namespace is refused" {
	rootless_bundle true
	update_config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings) | del(.linux.gidMappings)'
	run rl run -b "$BUNDLE" "$CID" </dev/null
	assert_failure
	is_runc || assert_output_contains "user namespace"
	run rl list -q
	assert_output ""
}

@test "rootless: files the container writes to a bind mount belong to the caller on the host" {
	runc_differs "runc 1.1.5 fails rootless creates here: error reopening /dev/null inside container: permission denied"
	rootless_bundle sh -c 'echo hi >/mnt/share/f && stat -c %u /mnt/share/f'
	mkdir "$WORK/share"
	chown "$UNPRIV:$UNPRIV" "$WORK/share"
	update_config '.mounts += [{"destination":"/mnt/share","type":"bind","source":"'"$WORK/share"'","options":["rbind"]}]'
	run rl run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	assert_output 0
	assert_equal "$(stat -c %u "$WORK/share/f")" "$UNPRIV"
}

@test "rootless: mappings beyond the caller's own ids go through newuidmap, whose refusal is reported" {
	command -v newuidmap >/dev/null || skip "needs newuidmap (package uidmap)"
	grep -q "^nobody:" /etc/subuid 2>/dev/null && skip "nobody has subordinate ids on this host"
	rootless_bundle true
	update_config '.linux.uidMappings = [{"containerID":0,"hostID":65534,"size":1},{"containerID":1,"hostID":100000,"size":1000}]'
	run rl run -b "$BUNDLE" "$CID" </dev/null
	assert_failure
	is_runc || assert_output_contains "newuidmap"
	run rl list -q
	assert_output ""
	[ -z "$(ls -A "$STATE_ROOT" 2>/dev/null)" ] || fail "state left: $(ls -A "$STATE_ROOT")"
}

@test "rootless: as root inside a user namespace (rootless podman), a config without its own user namespace runs" {
	runc_differs "runc 1.1 fails to mount devpts with gid=5 when gid 5 is not mapped"
	command -v unshare >/dev/null || skip "needs unshare (util-linux)"
	# podman's rootless mode: the runtime is uid 0 of a user namespace the
	# unprivileged user made, and the config has no user namespace
	make_bundle "$BUNDLE" sh -c 'id -u; cat /proc/self/uid_map; test -c /dev/null && echo dev-ok; echo >/dev/shm/x && echo shm-ok'
	update_config 'del(.linux.resources) | .linux.namespaces |= map(select(.type != "user"))'
	chown -R "$UNPRIV:$UNPRIV" "$BUNDLE"
	run rl_in_userns run -b "$BUNDLE" "$CID"
	assert_success
	assert_equal "${lines[0]}" 0 "uid inside"
	[ "$(echo ${lines[1]})" = "0 $UNPRIV 1" ] || fail "uid_map: ${lines[1]}"
	assert_line dev-ok
	assert_line shm-ok
	[ -z "$(ls -A "$STATE_ROOT" 2>/dev/null)" ] || fail "state left: $(ls -A "$STATE_ROOT")"
}

# rl_in_userns ARGS...: the runtime as root of a user namespace made by the
# unprivileged user (its default root then is under $XDG_RUNTIME_DIR too).
rl_in_userns() {
	timeout -k 5 "$RUNTIME_TIMEOUT" "${AS_UNPRIV[@]}" unshare --user --map-root-user "$RUNTIME" "$@" </dev/null 3>&-
}

@test "rootless: run and exec with a terminal" {
	runc_differs "runc 1.1.5 fails rootless creates here: error reopening /dev/null inside container: permission denied"
	rootless_bundle sh -c 'tty; id -u'
	update_config '.process.terminal = true'
	run "$BATS_TEST_DIRNAME/lib/underpty.py" 60 "${AS_UNPRIV[@]}" "$RUNTIME" run -b "$BUNDLE" "$CID"
	assert_success
	assert_output_contains /dev/pts/0
	update_config '.process.terminal = false | .process.args = ["sleep", "100"]'
	rl run -d -b "$BUNDLE" "$CID-2" </dev/null >/dev/null 2>&1
	run "$BATS_TEST_DIRNAME/lib/underpty.py" 60 "${AS_UNPRIV[@]}" "$RUNTIME" exec -t "$CID-2" sh -c 'tty; echo pid=$$'
	assert_success
	assert_output_contains /dev/pts/
	assert_output_contains pid=2
	rl delete -f "$CID-2"
}

# CVE-2023-25809: without a cgroup namespace a rootless container sees the
# host's cgroup hierarchies (bound from /sys, or its cgroup mount), some of
# them writable by the caller; every mount below /sys must be read-only.
@test "rootless: /sys and /sys/fs/cgroup are read-only all the way down" {
	runc_differs "runc 1.1.5 fails rootless creates here: error reopening /dev/null inside container: permission denied"
	rootless_bundle sh -c 'awk '"'"'$5 == "/sys" || index($5, "/sys/") == 1 {split($6, o, ","); print o[1], $5}'"'"' /proc/self/mountinfo'
	update_config '.linux.namespaces |= map(select(.type != "cgroup"))'
	run rl run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	[ -n "$output" ] || fail "no mount below /sys"
	local rw
	rw=$(grep -v '^ro ' <<<"$output" || true)
	[ -z "$rw" ] || fail "writable mounts below /sys: $rw"
}
