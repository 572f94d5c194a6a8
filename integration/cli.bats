#!/usr/bin/env bats
# The command line: global flags, --log/--log-format, --version, --help,
# spec, and how create reports a failed exec (runc's CLI, ENGINES.md).

load helpers

# check_json_error_log FILE: exactly one JSON object {level,msg,time} with
# level "error" and an RFC 3339 time (podman parses the whole file as one).
check_json_error_log() {
	local f=$1
	[ -s "$f" ] || fail "log file $f is empty"
	assert_equal "$(grep -c . "$f")" 1 "number of lines in $f"
	jq -e 'type == "object"' "$f" >/dev/null || fail "not a JSON object: $(cat "$f")"
	assert_equal "$(jq -r 'keys | sort | join(",")' "$f")" "level,msg,time" "keys"
	assert_equal "$(jq -r .level "$f")" error level
	jq -r .time "$f" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' ||
		fail "time is not RFC 3339: $(jq -r .time "$f")"
}

@test "--version prints a version and exits 0" {
	run "$RUNTIME" --version
	assert_success
	assert_output_contains -i "version"
	assert_output_contains "spec"
}

@test "--help, and --help of every verb, exit 0" {
	run "$RUNTIME" --help
	assert_success
	for v in create start state kill delete run list spec; do
		run "$RUNTIME" "$v" --help
		[ "$status" -eq 0 ] || fail "$v --help: exit $status" "$output"
		assert_output_contains "$v"
	done
}

@test "an unknown verb fails" {
	run "$RUNTIME" no-such-verb
	assert_failure
}

@test "--root puts the state in the given directory" {
	make_bundle "$BUNDLE"
	runtime create -b "$BUNDLE" "$CID"
	[ -d "$STATE_ROOT" ]
	[ -n "$(ls -A "$STATE_ROOT")" ]
	run "$RUNTIME" --root "$WORK/other-root" state "$CID"
	assert_failure
}

@test "the default root is used without --root, even with an empty XDG_RUNTIME_DIR (podman)" {
	make_bundle "$BUNDLE"
	track_default_root_id "$CID"
	# default roots (berth, runc) that this test brings into being are removed
	# again at the end if they are left empty
	local new_roots="" d
	for d in /run/berth /run/runc; do [ -e "$d" ] || new_roots="$new_roots $d"; done
	XDG_RUNTIME_DIR= runtime_default_root create -b "$BUNDLE" "$CID"
	# podman calls kill/delete with nothing but XDG_RUNTIME_DIR in the env
	run env -i XDG_RUNTIME_DIR= "$RUNTIME" state "$CID"
	assert_success
	assert_equal "$(jq -r .status <<<"$output")" created
	run runtime state "$CID"
	assert_failure
	env -i XDG_RUNTIME_DIR= "$RUNTIME" delete --force "$CID"
	run runtime_default_root state "$CID"
	assert_failure
	for d in $new_roots; do rmdir "$d" 2>/dev/null || true; done
}

@test "--log-format json writes exactly one JSON error object on failure" {
	run runtime --log "$WORK/log.json" --log-format json state does-not-exist
	assert_failure
	check_json_error_log "$WORK/log.json"
	assert_equal "$(jq -r .msg "$WORK/log.json")" "container does not exist" msg
}

@test "--log-format=json (one argument, as conmon passes it) works the same" {
	run runtime --log="$WORK/log.json" --log-format=json kill does-not-exist 9
	assert_failure
	check_json_error_log "$WORK/log.json"
	assert_output_contains "does not exist"
}

@test "kill of a stopped container logs 'container not running' as JSON (containerd)" {
	make_bundle "$BUNDLE" true
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	wait_status "$CID" stopped
	run runtime --log "$WORK/log.json" --log-format json kill "$CID" 15
	assert_failure
	check_json_error_log "$WORK/log.json"
	jq -r .msg "$WORK/log.json" | grep -q "container not running"
}

@test "--log-format text and --debug are accepted" {
	run runtime --debug --log "$WORK/log.txt" --log-format text state does-not-exist
	assert_failure
	grep -q "does not exist" "$WORK/log.txt"
}

@test "create of a missing executable says 'no such file or directory' and names the path" {
	make_bundle "$BUNDLE" /nonexistent-binary
	run runtime --log "$WORK/log.json" --log-format json create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "/nonexistent-binary"
	assert_output_contains "no such file or directory"
	check_json_error_log "$WORK/log.json"
	jq -r .msg "$WORK/log.json" | grep -q "no such file or directory"
	# detected at create time: nothing is left
	run runtime state "$CID"
	assert_failure
}

@test "create of a program missing from PATH fails with a message podman maps to 127" {
	make_bundle "$BUNDLE" no-such-program
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "no-such-program"
	# podman: "executable file not found in" or "no such file or directory" -> 127
	[[ $output == *"no such file or directory"* || $output == *"executable file not found in"* ]] ||
		fail "message podman cannot map to 127: $output"
}

@test "create of a non-executable file says 'permission denied'" {
	make_bundle "$BUNDLE" /etc/passwd
	run runtime --log "$WORK/log.json" --log-format json create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "/etc/passwd"
	assert_output_contains "permission denied"
	check_json_error_log "$WORK/log.json"
	run runtime state "$CID"
	assert_failure
}

@test "args are resolved with the container's PATH" {
	make_bundle "$BUNDLE" myprog
	mkdir -p "$BUNDLE/rootfs/opt/x"
	printf '#!/bin/sh\necho from-opt\n' >"$BUNDLE/rootfs/opt/x/myprog"
	chmod 755 "$BUNDLE/rootfs/opt/x/myprog"
	update_config '.process.env = ["PATH=/opt/x:/bin"]'
	run runtime run -b "$BUNDLE" "$CID"
	assert_success
	assert_output "from-opt"
}

@test "spec writes a working config.json and refuses to overwrite it" {
	mkdir "$WORK/s"
	cd "$WORK/s"
	run "$RUNTIME" spec
	assert_success
	jq -e '.ociVersion and .process.args and .root.path == "rootfs" and (.linux.namespaces | length > 0)' config.json
	echo keep >>config.json
	run "$RUNTIME" spec
	assert_failure
	assert_output_contains "exists"
	grep -q 'keep$' config.json || fail "config.json was overwritten"
}

@test "spec -b DIR writes into DIR, and the result runs a busybox bundle" {
	mkdir -p "$WORK/b2"
	run "$RUNTIME" spec -b "$WORK/b2"
	assert_success
	[ -f "$WORK/b2/config.json" ]
	# the generated spec, with only args/terminal changed, runs
	cp -a "$(rootfs_template)" "$WORK/b2/rootfs"
	BUNDLE=$WORK/b2
	update_config '.process.terminal = false | .process.args = ["echo", "hello"]'
	run runtime run -b "$BUNDLE" "$CID"
	assert_success
	assert_output "hello"
}

@test "spec --rootless writes a config with a user namespace" {
	mkdir "$WORK/s"
	run "$RUNTIME" spec --rootless -b "$WORK/s"
	assert_success
	jq -e '[.linux.namespaces[].type] | index("user")' "$WORK/s/config.json"
	jq -e '.linux.uidMappings | length > 0' "$WORK/s/config.json"
}

@test "spec on a cgroup v2 host gives the container a cgroup namespace, as runc's does" {
	# cgroup2 at /sys/fs/cgroup in a private mount namespace: the pure v2
	# host's layout, whatever this host has
	mkdir "$WORK/v2" "$WORK/v2r" "$WORK/host"
	run unshare -m --propagation private sh -c 'mount -t cgroup2 none /sys/fs/cgroup &&
		"$1" spec -b "$2" && "$1" spec --rootless -b "$3"' sh "$RUNTIME" "$WORK/v2" "$WORK/v2r"
	assert_success
	assert_equal "$(jq -c '[.linux.namespaces[].type]' "$WORK/v2/config.json")" \
		'["pid","network","ipc","uts","mount","cgroup"]'
	assert_equal "$(jq -c '[.linux.namespaces[].type]' "$WORK/v2r/config.json")" \
		'["pid","ipc","uts","mount","cgroup","user"]'
	# and none where /sys/fs/cgroup is not cgroup2
	run unshare -m --propagation private sh -c 'mount -t tmpfs none /sys/fs/cgroup && "$1" spec -b "$2"' \
		sh "$RUNTIME" "$WORK/host"
	assert_success
	assert_equal "$(jq -c '[.linux.namespaces[].type]' "$WORK/host/config.json")" \
		'["pid","network","ipc","uts","mount"]'
}

@test "create with a missing bundle or config fails and leaves nothing" {
	run_create -b "$WORK/nope" "$CID"
	assert_failure
	mkdir "$WORK/empty"
	run_create -b "$WORK/empty" "$CID"
	assert_failure
	run runtime list -q
	assert_output ""
}

@test "--no-pivot, --no-new-keyring and --preserve-fds 0 are accepted (containerd/podman call shapes)" {
	make_bundle "$BUNDLE" true
	runtime create --bundle "$BUNDLE" --pid-file "$WORK/pid" --no-pivot --no-new-keyring --preserve-fds 0 "$CID"
	[ -s "$WORK/pid" ]
}

# What engines and scripts rely on in runc's command line.
@test "usage errors: an unknown verb exits 3, a bad flag or a missing id exits 1, each written to --log" {
	run runtime --log "$WORK/log.json" --log-format json nosuchverb
	assert_failure 3
	run runtime --log "$WORK/log.json" --log-format json state
	assert_failure 1
	run jq -c 'select(.level == "error")' "$WORK/log.json"
	assert_success
	[ "${#lines[@]}" -eq 2 ] || fail "expected 2 error lines in --log, got: $output"
	run runtime --log "$WORK/log.json" --log-format json --nosuchflag list
	assert_failure 1
	runc_differs "runc 1.1 reports an unknown flag on stderr only, before it opens --log"
	run jq -c 'select(.level == "error")' "$WORK/log.json"
	[ "${#lines[@]}" -eq 3 ] || fail "expected 3 error lines in --log, got: $output"
}

@test "runc's flag spellings: one-dash long flags, a repeated flag, --flag=false" {
	mkdir -p "$WORK/other"
	run runtime -debug --root "$WORK/other" --root "$STATE_ROOT" list -q
	assert_success
	make_bundle "$BUNDLE" true
	run runtime run --keep=false -no-subreaper -b "$BUNDLE" "$CID" </dev/null
	assert_success
	# --keep=false: the container is gone after it exits
	run runtime state "$CID"
	assert_failure
	[ -z "$(ls -A "$WORK/other")" ] || fail "the first --root was used"
}

@test "exec: a failure of exec itself exits 255" {
	run runtime exec nosuchcontainer true
	assert_failure 255
}

# Every error names what is wrong and ends with the OS's reason.
@test "errors keep their cause: a missing rootfs, a cgroup write the kernel refuses, a memory limit too low to start" {
	make_bundle "$BUNDLE" true
	mv "$BUNDLE/rootfs" "$BUNDLE/gone"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "$BUNDLE/rootfs"
	assert_output_contains "no such file or directory"
	mv "$BUNDLE/gone" "$BUNDLE/rootfs"
	update_config '.linux.resources = {cpu: {cpus: "99"}}'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains cpuset.cpus
	assert_output_contains "numerical result out of range"
	update_config '.linux.resources = {memory: {limit: 4096}}'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains -i "memory"
	run runtime state "$CID"
	assert_failure
}

@test "--debug writes debug lines for the steps of create and start, with their timings" {
	make_bundle "$BUNDLE" true
	run runtime --debug --log "$WORK/debug.json" --log-format json run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	run jq -r 'select(.level == "debug") | .msg' "$WORK/debug.json"
	assert_success
	[ "${#lines[@]}" -ge 3 ] || fail "too few debug lines: $output"
	runc_differs "runc's debug lines are its own (nsexec's), without step timings"
	assert_output_contains "create: plan and validate the config:"
	assert_output_contains "create: make the exec guard:"
	assert_output_contains "create: clone the init:"
	assert_output_contains "start: release the init (exec fifo), startContainer hooks:"
	[[ $output =~ \(total\ [0-9.]+\ ms\) ]] || fail "no timings: $output"
	# The init's own steps, reported back to berth before it is ready.
	assert_output_contains "create: init: mount the config's mounts:"
	assert_output_contains "create: init: detach the old root:"
	assert_output_contains "create: init: look up the program:"
	# The default config's new network namespace is made while berth
	# prepares the clone (given a second CPU); the init joins it.
	if [ "$(nproc)" -ge 2 ]; then
		assert_output_contains "create: wait for the network namespace (made meanwhile):"
		assert_output_contains "create: init: join the network namespace berth made:"
	fi
}

@test "without --debug no step lines are written, the init's neither" {
	make_bundle "$BUNDLE" true
	run runtime --log "$WORK/quiet.json" --log-format json run -b "$BUNDLE" "$CID" </dev/null
	assert_success
	if [ -s "$WORK/quiet.json" ]; then
		run jq -r 'select(.level == "debug") | .msg' "$WORK/quiet.json"
		assert_success
		[ -z "$output" ] || fail "debug lines without --debug: $output"
	fi
}

@test "--debug exec reports the exec'd process' steps" {
	make_bundle "$BUNDLE" sleep 100
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	run runtime --debug --log "$WORK/exec.json" --log-format json exec "$CID" true
	assert_success
	run jq -r 'select(.level == "debug") | .msg' "$WORK/exec.json"
	assert_success
	runc_differs "runc's debug lines are its own (nsexec's), without step timings"
	assert_output_contains "exec: process: enter the cgroup, join the namespaces:"
	assert_output_contains "exec: process: look up the program:"
}
