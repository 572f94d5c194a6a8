#!/usr/bin/env bats
# hooks: all six, in order, with the state on stdin, the statuses of the
# current runtime-spec (runtime.md lifecycle, config.md "POSIX-platform Hooks"),
# args/env/timeout, and what a failing hook does.

load helpers

# The hooks log into $HOOKLOG, a host dir that is also bind-mounted at the
# same path inside the container, so hooks running in either namespace (before
# or after pivot_root) write to the same place. The hook itself is /bin/sh,
# which exists both on the host and in the busybox rootfs.
setup() {
	common_setup
	HOOKLOG=$WORK/hooklog
	mkdir -p "$HOOKLOG"
	make_bundle "$BUNDLE"
	update_config '.mounts += [{"destination":$d,"type":"bind","source":$d,"options":["bind"]}]' --arg d "$HOOKLOG"
}

# hook NAME [EXIT]: a hook object that saves stdin to $HOOKLOG/NAME.json,
# appends NAME to $HOOKLOG/order and exits EXIT (default 0).
hook() {
	jq -n --arg d "$HOOKLOG" --arg n "$1" --arg rc "${2:-0}" \
		'{path:"/bin/sh", args:["sh","-c","cat > \"$0/$1.json\"; echo \"$1\" >> \"$0/order\"; exit $2", $d, $n, $rc], env:["HOOKENV=yes"]}'
}

add_hook() { # STAGE NAME [EXIT]
	update_config '.hooks[$s] += [$h]' --arg s "$1" --argjson h "$(hook "$2" "${3:-0}")"
}

all_hooks() {
	add_hook prestart prestart
	add_hook createRuntime createRuntime
	add_hook createContainer createContainer
	add_hook startContainer startContainer
	add_hook poststart poststart
	add_hook poststop poststop
}

hook_field() { jq -r ".$2" "$HOOKLOG/$1.json"; }

create_hooks() {
	add_hook prestart prestart
	add_hook createRuntime createRuntime
	add_hook createContainer createContainer
}

@test "create-phase hooks run during create, in order, with state on stdin" {
	create_hooks
	runtime create -b "$BUNDLE" --pid-file "$WORK/pid" "$CID"
	run cat "$HOOKLOG/order"
	assert_output "$(printf 'prestart\ncreateRuntime\ncreateContainer')"
	pid=$(cat "$WORK/pid")
	for h in prestart createRuntime createContainer; do
		assert_equal "$(hook_field $h id)" "$CID" "$h id"
		assert_equal "$(hook_field $h bundle)" "$BUNDLE" "$h bundle"
		jq -e '.ociVersion' "$HOOKLOG/$h.json" >/dev/null
	done
	for h in prestart createRuntime; do
		assert_equal "$(hook_field $h pid)" "$pid" "$h pid"
	done
}

@test "the createContainer hook gets the init's host pid (state.pid is as seen by the host)" {
	runc_differs "runc 1.1 passes the pid as seen in the container (1) to createContainer hooks"
	add_hook createContainer createContainer
	runtime create -b "$BUNDLE" --pid-file "$WORK/pid" "$CID"
	assert_equal "$(hook_field createContainer pid)" "$(cat "$WORK/pid")" "createContainer pid"
}

# runtime.md: `creating` is step 2 (the environment being made); the
# create-phase hooks are steps 3-5, after it, so they see `created`, which is
# also what the runtime-tools suite (hooks_stdin) and crun give them.
@test "create-phase hooks see status 'created' (runtime.md: they run after step 2)" {
	runc_differs "runc 1.1 gives the create-phase hooks 'creating'"
	create_hooks
	runtime create -b "$BUNDLE" "$CID"
	for h in prestart createRuntime createContainer; do
		assert_equal "$(hook_field $h status)" created "$h status"
	done
}

@test "all six hooks run in the spec's order with the spec's statuses" {
	runc_differs "runc 1.1 runs poststart hooks during create"
	all_hooks
	runtime create -b "$BUNDLE" "$CID"
	[ ! -e "$HOOKLOG/startContainer.json" ] && [ ! -e "$HOOKLOG/poststart.json" ] ||
		fail "start-phase hooks ran during create"
	runtime start "$CID"
	# poststart has run before start returned
	[ -e "$HOOKLOG/poststart.json" ] || fail "poststart had not run when start returned"
	runtime kill "$CID" KILL
	wait_status "$CID" stopped
	runtime delete "$CID"
	run cat "$HOOKLOG/order"
	assert_output "$(printf 'prestart\ncreateRuntime\ncreateContainer\nstartContainer\npoststart\npoststop')"
	assert_equal "$(hook_field startContainer status)" created "startContainer status"
	assert_equal "$(hook_field poststart status)" running "poststart status"
	assert_equal "$(hook_field poststop status)" stopped "poststop status"
}

@test "startContainer runs in the container, poststop after delete" {
	add_hook startContainer startContainer
	add_hook poststop poststop
	# startContainer resolves in the container: prove it by a file only there
	update_config '.hooks.startContainer[0].args[2] = "cat > \"$0/$1.json\"; echo \"$1\" >> \"$0/order\"; hostname > \"$0/hostname\""'
	update_config '.hostname = "inside-ns"'
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	retry 50 0.1 test -e "$HOOKLOG/startContainer.json"
	assert_equal "$(cat "$HOOKLOG/hostname")" inside-ns "hostname seen by startContainer"
	[ ! -e "$HOOKLOG/poststop.json" ]
	runtime delete --force "$CID"
	[ -e "$HOOKLOG/poststop.json" ] || fail "poststop did not run before delete returned"
}

@test "createContainer runs in the container's namespaces, prestart in the runtime's" {
	add_hook prestart prestart
	add_hook createContainer createContainer
	update_config '.hooks.prestart[0].args[2] = "cat > /dev/null; readlink /proc/self/ns/uts > \"$0/prestart.uts\""'
	update_config '.hooks.createContainer[0].args[2] = "cat > /dev/null; readlink /proc/self/ns/uts > \"$0/createContainer.uts\""'
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	assert_equal "$(cat "$HOOKLOG/prestart.uts")" "$(readlink /proc/self/ns/uts)" "prestart uts ns"
	assert_equal "$(cat "$HOOKLOG/createContainer.uts")" "$(readlink /proc/$pid/ns/uts)" "createContainer uts ns"
}

@test "hooks get their args and env" {
	add_hook prestart prestart
	update_config '.hooks.prestart[0].args[2] = "cat > /dev/null; echo \"$0 $1 $HOOKENV\" > \"$0/args\""'
	runtime create -b "$BUNDLE" "$CID"
	assert_equal "$(cat "$HOOKLOG/args")" "$HOOKLOG prestart yes"
}

@test "a failing prestart hook aborts create and leaves nothing" {
	add_hook prestart prestart 1
	update_config '.linux.cgroupsPath = $p' --arg p "/berth-it-$CID"
	track_cgroup "/berth-it-$CID"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	run runtime state "$CID"
	assert_failure
	run cgroup_dirs "/berth-it-$CID"
	assert_output ""
}

@test "a failing createRuntime hook aborts create and the later hooks do not run" {
	add_hook createRuntime createRuntime 3
	add_hook createContainer createContainer
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	[ ! -e "$HOOKLOG/createContainer.json" ]
	run runtime state "$CID"
	assert_failure
}

@test "a hook that outlives its timeout fails create" {
	add_hook prestart prestart
	update_config '.hooks.prestart[0].args[2] = "exec sleep 30" | .hooks.prestart[0].timeout = 1'
	SECONDS=0
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	[ "$SECONDS" -lt 20 ] || fail "timeout not enforced (${SECONDS}s)"
}

# runtime.md step 9: a failing poststart hook is an error, the container is
# stopped and the lifecycle goes on at step 12 (destroy) and 13 (poststop).
@test "a failing poststart hook makes start fail, destroys the container, runs poststop" {
	runc_differs "runc 1.1 runs poststart hooks during create"
	add_hook poststart poststart 1
	add_hook poststop poststop
	runtime create -b "$BUNDLE" --pid-file "$WORK/pid" "$CID"
	run runtime start "$CID"
	assert_failure
	assert_output_contains "poststart"
	run runtime state "$CID"
	assert_failure
	retry 50 0.1 sh -c "! grep -q . /proc/$(cat "$WORK/pid")/cmdline 2>/dev/null" || fail "the init still runs"
	run cat "$HOOKLOG/order"
	assert_output "$(printf 'poststart\npoststop')"
}

@test "a failing poststop hook only warns: delete succeeds and later hooks run" {
	runc_differs "runc 1.1 stops at a failing poststop hook"
	add_hook poststop first 1
	add_hook poststop second
	runtime create -b "$BUNDLE" "$CID"
	run runtime delete --force "$CID"
	assert_success
	run cat "$HOOKLOG/order"
	assert_output "$(printf 'first\nsecond')"
	run runtime state "$CID"
	assert_failure
}

@test "a hook path that does not exist fails create" {
	update_config '.hooks.prestart = [{"path":"/no/such/hook"}]'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	run runtime state "$CID"
	assert_failure
}
