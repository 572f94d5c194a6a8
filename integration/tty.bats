#!/usr/bin/env bats
# process.terminal: --console-socket receives the pty master over SCM_RIGHTS,
# the slave is the container's stdio, controlling tty and /dev/console
# (runtime.md, config.md "terminal", ENGINES.md 3.1).

load helpers

# start_receiver: lib/console_recv.py listening on $WORK/console.sock,
# writing what it reads to $WORK/console.out.
start_receiver() {
	requires python3
	python3 "$LIB_DIR/console_recv.py" "$WORK/console.sock" "$WORK/console.out" "$@" &
	RECV=$!
	track_pid "$RECV"
	retry 50 0.1 test -S "$WORK/console.sock"
}

wait_receiver() {
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$RECV" 2>/dev/null || break
		sleep 0.1
	done
	wait "$RECV" || fail "console receiver failed"
}

@test "--console-socket: the master arrives over the socket and the slave is stdio" {
	make_bundle "$BUNDLE"
	update_config '.process.terminal = true'
	set_args sh -c 'test -t 0 && test -t 1 && test -t 2 && echo all-ttys; tty; echo hello-pty'
	start_receiver
	runtime create -b "$BUNDLE" --console-socket "$WORK/console.sock" "$CID"
	runtime start "$CID"
	wait_receiver
	run cat "$WORK/console.out"
	assert_output_contains "all-ttys"
	assert_output_contains "/dev/pts/"
	assert_output_contains "hello-pty"
	# the fd sent was a pty master
	assert_output_contains "#master=/dev/pts/ptmx"
	# a terminal turns LF into CRLF
	assert_output_contains $'hello-pty\r'
}

@test "terminal: controlling tty, session leader, and /dev/console" {
	make_bundle "$BUNDLE"
	update_config '.process.terminal = true'
	set_args sh -c 'stat -c "%t %F" /dev/console; awk "{print \"tty_nr=\" \$7, \"sid=\" \$6}" /proc/self/stat; echo $$'
	start_receiver
	runtime create -b "$BUNDLE" --console-socket "$WORK/console.sock" "$CID"
	runtime start "$CID"
	wait_receiver
	run cat "$WORK/console.out"
	# /dev/console is the pty slave (major 136 = 0x88)
	assert_output_contains "88 character special file"
	[[ $output != *"tty_nr=0 "* ]] || fail "no controlling tty: $output"
	assert_output_contains "sid=1"
}

@test "terminal: input written to the master reaches the container" {
	make_bundle "$BUNDLE"
	update_config '.process.terminal = true'
	set_args sh -c 'read line; echo "got:$line"'
	start_receiver $'typed-in\n'
	runtime create -b "$BUNDLE" --console-socket "$WORK/console.sock" "$CID"
	runtime start "$CID"
	wait_receiver
	run cat "$WORK/console.out"
	assert_output_contains "got:typed-in"
}

@test "terminal: the runtime's own stdio is not the container's" {
	make_bundle "$BUNDLE"
	update_config '.process.terminal = true'
	set_args sh -c 'echo to-pty'
	start_receiver
	runtime create -b "$BUNDLE" --console-socket "$WORK/console.sock" "$CID" >"$WORK/stdout" 2>&1
	runtime start "$CID"
	wait_receiver
	run cat "$WORK/stdout"
	assert_output ""
}

@test "terminal true without --console-socket fails for create" {
	make_bundle "$BUNDLE"
	update_config '.process.terminal = true'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	run runtime list -q
	assert_output ""
}

@test "--console-socket pointing nowhere fails and leaves nothing" {
	make_bundle "$BUNDLE"
	update_config '.process.terminal = true'
	run_create -b "$BUNDLE" --console-socket "$WORK/nope.sock" "$CID"
	assert_failure
	run runtime list -q
	assert_output ""
}

@test "run with a terminal in the foreground (under a host pty) copies the pty output" {
	make_bundle "$BUNDLE"
	update_config '.process.terminal = true'
	set_args sh -c 'test -t 1 && echo fg-tty; exit 3'
	run "$BATS_TEST_DIRNAME/lib/underpty.py" 60 "$RUNTIME" --root "$STATE_ROOT" run -b "$BUNDLE" "$CID"
	assert_failure 3
	assert_output_contains "fg-tty"
	run runtime state "$CID"
	assert_failure
}

@test "process.consoleSize sets the pty's window size" {
	make_bundle "$BUNDLE"
	update_config '.process.terminal = true | .process.consoleSize = {"height": 41, "width": 133}'
	set_args sh -c 'stty size'
	start_receiver
	runtime create -b "$BUNDLE" --console-socket "$WORK/console.sock" "$CID"
	runtime start "$CID"
	wait_receiver
	run cat "$WORK/console.out"
	assert_output_contains $'41 133\r'
}
