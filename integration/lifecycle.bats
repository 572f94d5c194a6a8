#!/usr/bin/env bats
# create / start / state / kill / delete / run / list: the lifecycle and the
# process model (runtime-spec runtime.md, ENGINES.md 3.1-3.3).

load helpers

@test "create, start, kill, delete: created -> running -> stopped -> gone" {
	make_bundle "$BUNDLE"
	# (create's stdout goes to a file: the container inherits it)
	runtime create -b "$BUNDLE" --pid-file "$WORK/pid" "$CID" >"$WORK/create.out"
	assert_equal "$(cat "$WORK/create.out")" "" "create's stdout"

	run runtime state "$CID"
	assert_success
	assert_equal "$(jq -r .status <<<"$output")" created status
	assert_equal "$(jq -r .id <<<"$output")" "$CID" id
	assert_equal "$(jq -r .bundle <<<"$output")" "$BUNDLE" bundle
	jq -e '.ociVersion | type == "string"' <<<"$output"
	pid=$(jq -r .pid <<<"$output")
	[ "$pid" -gt 1 ]
	# the pid file holds the host pid of the init, in decimal, without newline
	assert_equal "$(cat "$WORK/pid")" "$pid" "pid file"
	assert_equal "$(wc -c <"$WORK/pid")" "${#pid}" "pid file length"
	kill -0 "$pid"

	runtime start "$CID"
	wait_status "$CID" running
	assert_equal "$(state_field "$CID" pid)" "$pid" "pid after start"

	runtime kill "$CID" KILL
	wait_status "$CID" stopped
	runtime delete "$CID"
	run runtime state "$CID"
	assert_failure
	assert_output_contains "does not exist"
	run runtime list -q
	assert_output ""
}

@test "create leaves no runtime process behind; the init is reaped by the caller's subreaper" {
	requires python3
	make_bundle "$BUNDLE" sh -c 'exit 3'
	python3 "$LIB_DIR/subreaper.py" "$WORK/report" \
		"$RUNTIME" --root "$STATE_ROOT" create -b "$BUNDLE" --pid-file "$WORK/pid" "$CID" \
		::: "$RUNTIME" --root "$STATE_ROOT" start "$CID"
	run cat "$WORK/report"
	assert_equal "$(jq -r .create_rc <<<"$output")" 0 "create exit"
	assert_equal "$(jq -r .start_rc <<<"$output")" 0 "start exit"
	pid=$(cat "$WORK/pid")
	# exactly one live child after create: the container init (pid file)
	assert_equal "$(jq -c '[.children_after_create[] | select(.state != "Z") | .pid]' <<<"$output")" "[$pid]" "children after create"
	# ...which the subreaper reaped with the container's exit status
	assert_equal "$(jq -c ".reaped[\"$pid\"]" <<<"$output")" '{"exit":3}' "reaped status"
	wait_status "$CID" stopped
}

@test "state notices on its own that the init exited" {
	make_bundle "$BUNDLE" true
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	wait_status "$CID" stopped 50
	run runtime state "$CID"
	assert_equal "$(jq -r .pid <<<"$output")" 0 "pid of a stopped container"
}

@test "delete --force of an unknown id exits 0" {
	run runtime delete --force does-not-exist
	assert_success
	run runtime delete -f does-not-exist
	assert_success
}

@test "delete of an unknown id fails saying it does not exist" {
	run runtime delete does-not-exist
	assert_failure
	assert_output_contains "does not exist"
}

@test "a duplicate id is refused and the first container is untouched" {
	make_bundle "$BUNDLE"
	runtime create -b "$BUNDLE" "$CID"
	pid=$(state_field "$CID" pid)
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains -i "exists"
	assert_equal "$(state_field "$CID" status)" created
	assert_equal "$(state_field "$CID" pid)" "$pid"
}

@test "invalid container ids are refused and leave nothing" {
	make_bundle "$BUNDLE"
	long=$(printf 'a%.0s' $(seq 1 1100))
	for id in "" "/" ".." "." "a/b" "../x" "$long"; do
		run_create -b "$BUNDLE" "$id"
		[ "$status" -ne 0 ] || fail "id '${id:0:40}' was accepted"
	done
	run runtime list -q
	assert_output ""
	# a root that was never created is fine too: nothing was written
	if [ -d "$STATE_ROOT" ]; then
		run find "$STATE_ROOT" -mindepth 1 -maxdepth 1
		assert_output ""
	fi
	[ ! -e "/run/x" ] && [ ! -e "$WORK/x" ]
}

@test "create without an id fails" {
	make_bundle "$BUNDLE"
	run_create -b "$BUNDLE"
	assert_failure
}

@test "kill takes a signal number, a name, or a SIG-prefixed name; TERM by default" {
	make_bundle "$BUNDLE" sh -c 'n=0
		trap "n=\$((n+1)); echo usr1 \$n >> /tmp/log" USR1
		trap "echo term >> /tmp/log; exit 7" TERM
		while :; do sleep 0.05; done'
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	wait_status "$CID" running
	sleep 0.3 # let sh install its traps
	runtime kill "$CID" 10
	retry 50 0.1 grep -q 'usr1 1' "$BUNDLE/rootfs/tmp/log"
	runtime kill "$CID" USR1
	retry 50 0.1 grep -q 'usr1 2' "$BUNDLE/rootfs/tmp/log"
	runtime kill "$CID" SIGUSR1
	retry 50 0.1 grep -q 'usr1 3' "$BUNDLE/rootfs/tmp/log"
	runtime kill "$CID"
	retry 50 0.1 grep -q 'term' "$BUNDLE/rootfs/tmp/log"
	wait_status "$CID" stopped
}

@test "kill of a created container delivers the signal" {
	make_bundle "$BUNDLE"
	runtime create -b "$BUNDLE" "$CID"
	runtime kill "$CID" KILL
	wait_status "$CID" stopped
}

@test "kill of a stopped container fails with 'container not running'" {
	make_bundle "$BUNDLE" true
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	wait_status "$CID" stopped
	run runtime kill "$CID" KILL
	assert_failure
	assert_output_contains "container not running"
}

@test "kill of an unknown container fails; an invalid signal is refused" {
	run runtime kill does-not-exist KILL
	assert_failure
	make_bundle "$BUNDLE"
	runtime create -b "$BUNDLE" "$CID"
	run runtime kill "$CID" NOSUCHSIG
	assert_failure
	assert_equal "$(state_field "$CID" status)" created
}

@test "start of a running or stopped container fails" {
	make_bundle "$BUNDLE"
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	run runtime start "$CID"
	assert_failure
	runtime kill "$CID" KILL
	wait_status "$CID" stopped
	run runtime start "$CID"
	assert_failure
	run runtime start does-not-exist
	assert_failure
}

@test "delete of a running container fails without --force and succeeds with it" {
	make_bundle "$BUNDLE"
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	pid=$(state_field "$CID" pid)
	run runtime delete "$CID"
	assert_failure
	assert_equal "$(state_field "$CID" status)" running
	runtime delete --force "$CID"
	run runtime state "$CID"
	assert_failure
	retry 50 0.1 eval '! kill -0 '"$pid"' 2>/dev/null'
}

@test "delete of a created container fails without --force (runtime-spec delete)" {
	runc_differs "runc deletes a created container without --force"
	make_bundle "$BUNDLE"
	runtime create -b "$BUNDLE" "$CID"
	run runtime delete "$CID"
	assert_failure
	assert_equal "$(state_field "$CID" status)" created
}

@test "delete of a stopped container removes its state" {
	make_bundle "$BUNDLE" true
	runtime create -b "$BUNDLE" "$CID"
	runtime start "$CID"
	wait_status "$CID" stopped
	runtime delete "$CID"
	run runtime state "$CID"
	assert_failure
	[ ! -e "$STATE_ROOT/$CID" ]
}

@test "list: table, json and -q" {
	make_bundle "$BUNDLE"
	runtime create -b "$BUNDLE" "$CID"
	runtime create -b "$BUNDLE" "$CID-b"
	runtime start "$CID-b"
	run runtime list -q
	assert_success
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "$CID $CID-b " "list -q"
	run runtime list -f json
	assert_success
	assert_equal "$(jq -r '.[] | select(.id == "'"$CID"'") | .status' <<<"$output")" created
	assert_equal "$(jq -r '.[] | select(.id == "'"$CID-b"'") | .status' <<<"$output")" running
	assert_equal "$(jq -r '.[] | select(.id == "'"$CID"'") | .bundle' <<<"$output")" "$BUNDLE"
	run runtime list --format json
	assert_success
	assert_equal "$(jq length <<<"$output")" 2
	run runtime list
	assert_success
	assert_output_contains "ID"
	assert_output_contains "$CID-b"
}

@test "list of an empty root prints an empty JSON array" {
	run --separate-stderr runtime list -f json
	assert_success
	# runc prints `null`; both decode to an empty list
	assert_equal "$(jq -c 'length' <<<"${output:-x}")" "0"
}

@test "run in the foreground exits with the container's status" {
	make_bundle "$BUNDLE" sh -c 'echo out; echo err >&2; exit 42'
	run --separate-stderr runtime run -b "$BUNDLE" "$CID"
	assert_failure 42
	assert_output "out"
	assert_equal "$stderr" "err" stderr
	# a foreground run deletes the container when it exits
	run runtime state "$CID"
	assert_failure
}

@test "run in the foreground reports a signal death as 128+N" {
	make_bundle "$BUNDLE"
	runtime run -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1 &
	bg=$!
	wait_status "$CID" running
	runtime kill "$CID" KILL
	status=0
	wait "$bg" || status=$?
	assert_failure 137
}

@test "run -d returns at once and leaves the container running" {
	make_bundle "$BUNDLE"
	runtime run -d -b "$BUNDLE" --pid-file "$WORK/pid" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(state_field "$CID" status)" running
	assert_equal "$(state_field "$CID" pid)" "$(cat "$WORK/pid")"
	runtime run --detach -b "$BUNDLE" "$CID-2" </dev/null >/dev/null 2>&1
	assert_equal "$(state_field "$CID-2" status)" running
}

@test "create -b accepts a relative bundle path and state shows it absolute" {
	make_bundle "$BUNDLE"
	cd "$WORK"
	runtime create --bundle bundle "$CID"
	assert_equal "$(state_field "$CID" bundle)" "$BUNDLE"
}

@test "create defaults the bundle to the current directory" {
	make_bundle "$BUNDLE"
	cd "$BUNDLE"
	runtime create "$CID"
	assert_equal "$(state_field "$CID" bundle)" "$BUNDLE"
}

@test "run --keep leaves the stopped container until delete; --no-subreaper is accepted" {
	make_bundle "$BUNDLE" sh -c 'exit 4'
	run runtime run --keep --no-subreaper -b "$BUNDLE" "$CID" </dev/null
	assert_failure 4
	assert_equal "$(state_field "$CID" status)" stopped
	runtime delete "$CID"
	run runtime state "$CID"
	assert_failure
}

# Two containers in one cgroupsPath (an engine's pod, a caller's own cgroup):
# the second is warned, and deleting it never touches the first's processes.
@test "a shared cgroup: create warns, and delete --force kills only the container's own processes" {
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "/$CID-shared"
	track_cgroup "/$CID-shared"
	runtime run -d -b "$BUNDLE" "$CID-a" </dev/null >/dev/null
	local a
	a=$(state_field "$CID-a" pid)
	run_create -b "$BUNDLE" "$CID-b"
	assert_success
	local created=$output
	runtime start "$CID-b"
	run runtime delete --force "$CID-b"
	assert_success
	kill -0 "$a" || fail "the first container's init was killed"
	assert_equal "$(state_field "$CID-a" status)" running "the first container"
	runc_differs "runc 1.1 does not warn about a cgroup that already has processes"
	[[ $created == *"not empty"* ]] || fail "no warning about the shared cgroup: $created"
}
