#!/usr/bin/env bats
# Concurrent verbs on one container and the start handshake (issue 15, and
# issue 8's poststart order): verbs are serialised by a per-container lock
# where the state machine needs it, no verb destroys a container because
# of another verb's race, `kill` and `delete --force` work while another
# verb hangs, and the status comes from the processes, so a killed `start`
# leaves a container whose state tells the truth.

load helpers

setup() {
	common_setup
	CGPATH=/berth-it-$CID
	track_cgroup "$CGPATH"
}

# create_quiet ID: create ID from $BUNDLE (its output to a file: the
# container inherits it).
create_quiet() {
	runtime create -b "$BUNDLE" "$1" </dev/null >"$WORK/create.out" 2>&1 ||
		fail "create $1 failed" "$(cat "$WORK/create.out")"
}

# wait_file FILE: wait (at most 30 s) for FILE to have content.
wait_file() {
	retry 300 0.1 test -s "$1" || fail "$1 never appeared"
}

@test "two concurrent starts: one running container and one clear error" {
	runc_differs "runc 1.1's losing start sometimes fails without any message"
	make_bundle "$BUNDLE"
	for round in $(seq 10); do
		id=$CID-r$round
		create_quiet "$id"
		runtime start "$id" >"$WORK/a.out" 2>&1 &
		a=$!
		runtime start "$id" >"$WORK/b.out" 2>&1 &
		b=$!
		ra=0 rb=0
		wait "$a" || ra=$?
		wait "$b" || rb=$?
		[ $((ra == 0)) -ne $((rb == 0)) ] ||
			fail "round $round: start exits $ra and $rb" "$(cat "$WORK/a.out" "$WORK/b.out")"
		loser=$WORK/a.out
		[ "$ra" -ne 0 ] || loser=$WORK/b.out
		grep -q "running" "$loser" || fail "round $round: unclear error" "$(cat "$loser")" "state: $(runtime state "$id")"
		assert_equal "$(state_field "$id" status)" running "round $round: status"
		kill -0 "$(state_field "$id" pid)"
		runtime delete --force "$id"
	done
}

@test "a start killed after it released the init leaves a running container; the next start fails at once" {
	runc_differs "runc 1.1 reports created until its start removed the fifo, and a second start then waits on the fifo"
	make_bundle "$BUNDLE"
	# startContainer runs in the container, after start released the init:
	# hold it there, then kill the start
	update_config '.hooks.startContainer = [{"path":"/bin/sh","args":["sh","-c","echo $$ > /hook.pid; while [ ! -e /go ]; do sleep 0.05; done"]}]'
	create_quiet "$CID"
	"$RUNTIME" --root "$STATE_ROOT" start "$CID" </dev/null >/dev/null 2>&1 3>&- &
	st=$!
	wait_file "$BUNDLE/rootfs/hook.pid"
	kill -KILL "$st"
	wait "$st" || true
	assert_equal "$(state_field "$CID" status)" running "status after the killed start"
	run runtime start "$CID"
	assert_failure
	assert_output_contains "running"
	pid=$(state_field "$CID" pid)
	touch "$BUNDLE/rootfs/go"
	# Released, the init either runs the program or, finding its start gone
	# when it answers on the fifo, dies of SIGPIPE: either way the status
	# says what happened, never `created`.
	retry 100 0.1 eval "[ \"\$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)\" = 'sleep 3600 ' ] || [ \"\$(state_field $CID status)\" = stopped ]" ||
		fail "neither running its program nor stopped: $(state_field "$CID" status)"
	st=$(state_field "$CID" status)
	case $st in
	running) assert_equal "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "sleep 3600 " "the running program" ;;
	stopped) ;;
	*) fail "status $st after the released init went on" ;;
	esac
}

@test "poststart hooks run only after the container's program was executed" {
	runc_differs "runc 1.1 runs poststart hooks during create"
	make_bundle "$BUNDLE" sleep 3600
	# the hook records the init's command line as it finds it
	update_config '.hooks.poststart = [{"path":"/bin/sh","args":["sh","-c","pid=$(sed -n \"s/.*\\\"pid\\\":\\([0-9]*\\).*/\\1/p\"); tr \"\\0\" \" \" < /proc/$pid/cmdline >> \"$0/seen\"; echo >> \"$0/seen\"", $w]}]' --arg w "$WORK"
	for round in $(seq 10); do
		create_quiet "$CID"
		runtime start "$CID"
		runtime delete --force "$CID"
	done
	run sort -u "$WORK/seen"
	assert_output "sleep 3600 "
}

@test "state of a container being created never says stopped; a plain delete leaves it alone" {
	runc_differs "runc 1.1's plain delete removes a container it is still creating (the create then fails)"
	make_bundle "$BUNDLE"
	update_config '.hooks.prestart = [{"path":"/bin/sh","args":["sh","-c","cat >/dev/null; echo x > \"$0/in-hook\"; while [ ! -e \"$0/go\" ]; do sleep 0.05; done", $w]}]' --arg w "$WORK"
	runtime create -b "$BUNDLE" "$CID" </dev/null >"$WORK/create.out" 2>&1 &
	cr=$!
	wait_file "$WORK/in-hook"
	run runtime state "$CID"
	assert_success
	assert_equal "$(jq -r .status <<<"$output")" creating status
	run runtime delete "$CID"
	assert_failure
	touch "$WORK/go"
	wait "$cr" || fail "create failed" "$(cat "$WORK/create.out")"
	assert_equal "$(state_field "$CID" status)" created
	runtime start "$CID"
	assert_equal "$(state_field "$CID" status)" running
}

@test "a state polled all through create never says stopped" {
	make_bundle "$BUNDLE"
	for round in $(seq 10); do
		id=$CID-r$round
		runtime create -b "$BUNDLE" "$id" </dev/null >"$WORK/create.out" 2>&1 &
		cr=$!
		: >"$WORK/seen"
		while kill -0 "$cr" 2>/dev/null; do
			"$RUNTIME" --root "$STATE_ROOT" state "$id" 2>/dev/null | jq -r .status >>"$WORK/seen"
		done
		wait "$cr" || fail "round $round: create failed" "$(cat "$WORK/create.out")"
		run grep -c stopped "$WORK/seen"
		assert_output 0
		runtime delete --force "$id"
	done
}

@test "kill and delete --force work while start waits in a startContainer hook" {
	make_bundle "$BUNDLE"
	update_config '.hooks.startContainer = [{"path":"/bin/sh","args":["sh","-c","echo $$ > /hook.pid; exec sleep 3600"]}]'
	create_quiet "$CID"
	runtime start "$CID" </dev/null >"$WORK/start.out" 2>&1 &
	st=$!
	wait_file "$BUNDLE/rootfs/hook.pid"
	runtime kill "$CID" CONT
	runtime delete --force "$CID"
	run runtime state "$CID"
	assert_failure
	# (runc 1.1's start reports success: its init said "go" before the hook)
	if ! is_runc; then
		wait "$st" && fail "start succeeded for a container deleted before it ran its program"
	fi
	run cgroup_dirs "/$CID"
	assert_output ""
	run ls -A "$STATE_ROOT"
	assert_output ""
}

@test "delete --force does not wait for a create stuck in a hook on the host" {
	runc_differs "runc 1.1's delete --force does not see a container still in create: its cgroups stay"
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	update_config '.hooks.prestart = [{"path":"/bin/sh","args":["sh","-c","echo $$ > \"$0/hook.pid\"; exec sleep 3600", $w]}]' --arg w "$WORK"
	runtime create -b "$BUNDLE" "$CID" </dev/null >"$WORK/create.out" 2>&1 &
	cr=$!
	wait_file "$WORK/hook.pid"
	track_pid "$(cat "$WORK/hook.pid")"
	run runtime delete --force "$CID"
	assert_success
	is_runc || assert_output_contains "another berth process holds its lock"
	run runtime state "$CID"
	assert_failure
	run cgroup_dirs "$CGPATH"
	assert_output ""
	# the stuck create, once its hook ends, must not touch what is there now
	make_bundle "$WORK/b2"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	create_quiet "$CID"
	kill "$(cat "$WORK/hook.pid")"
	wait "$cr" && fail "the stuck create succeeded" "$(cat "$WORK/create.out")"
	assert_equal "$(state_field "$CID" status)" created "the new container with the same id"
	runtime start "$CID"
	assert_equal "$(state_field "$CID" status)" running "the new container with the same id"
}

@test "a poststart hook may use the runtime on its own container" {
	make_bundle "$BUNDLE"
	update_config '.hooks.poststart = [{"path":"/bin/sh","timeout":20,"args":["sh","-c","cat >/dev/null; \"$0\" --root \"$1\" exec \"$2\" touch /from-hook && \"$0\" --root \"$1\" pause \"$2\" && \"$0\" --root \"$1\" resume \"$2\"", $rt, $root, $id]}]' \
		--arg rt "$RUNTIME" --arg root "$STATE_ROOT" --arg id "$CID"
	create_quiet "$CID"
	run runtime start "$CID"
	assert_success
	[ -e "$BUNDLE/rootfs/from-hook" ] || fail "the hook's exec did not run"
	assert_equal "$(state_field "$CID" status)" running
}

@test "a foreground run holds no lock while its container runs: pause, exec and delete --force work" {
	make_bundle "$BUNDLE"
	"$RUNTIME" --root "$STATE_ROOT" run -b "$BUNDLE" "$CID" </dev/null >"$WORK/run.out" 2>&1 3>&- &
	rt=$!
	track_pid "$rt"
	wait_status "$CID" running
	runtime pause "$CID"
	assert_equal "$(state_field "$CID" status)" paused
	runtime resume "$CID"
	run runtime exec "$CID" echo hello
	assert_success
	assert_output hello
	runtime delete --force "$CID"
	retry 300 0.1 eval "! kill -0 $rt 2>/dev/null || grep -q '^State:.*Z' /proc/$rt/status" || fail "run did not exit"
	run runtime state "$CID"
	assert_failure
}

@test "concurrent start and delete --force: the container ends up gone, nothing left" {
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$CGPATH"
	for round in $(seq 10); do
		create_quiet "$CID"
		runtime start "$CID" >/dev/null 2>&1 &
		a=$!
		runtime delete --force "$CID" >"$WORK/del.out" 2>&1 &
		b=$!
		wait "$a" || true
		wait "$b" || fail "round $round: delete --force failed" "$(cat "$WORK/del.out")"
		# whichever came first, delete --force removed everything
		run runtime state "$CID"
		assert_failure
		run cgroup_dirs "$CGPATH"
		assert_output ""
	done
}
