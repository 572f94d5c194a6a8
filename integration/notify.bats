#!/usr/bin/env bats
# NOTIFY_SOCKET: a program in the container tells systemd (or conmon) it is
# ready through sd_notify; the runtime passes READY and the container's pid on
# to the caller's socket, as runc does (podman --sdnotify=container, systemd
# Type=notify units).

load helpers

setup() {
	common_setup
	requires python3
	command -v cc >/dev/null || skip "needs a C compiler (gcc)"
}

teardown() { common_teardown; }

# notify_bundle: a bundle whose program notifies READY=1, then keeps running.
notify_bundle() {
	make_bundle "$BUNDLE" sh -c '/sdnotify "STATUS=starting"; sleep 0.3; /sdnotify READY=1; exec sleep 1000'
	cc -static -O2 -o "$BUNDLE/rootfs/sdnotify" "$LIB_DIR/sdnotify.c" || skip "cannot build a static helper (libc6-dev)"
	python3 "$LIB_DIR/notify_listen.py" "$WORK/host.sock" "$WORK/got" &
	track_pid $!
	retry 50 0.1 test -S "$WORK/host.sock"
}

@test "NOTIFY_SOCKET: run -d passes the container's READY=1 and its pid to the caller's socket" {
	notify_bundle
	NOTIFY_SOCKET=$WORK/host.sock runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null
	retry 50 0.1 grep -q MAINPID "$WORK/got" || fail "nothing forwarded: $(cat "$WORK/got" 2>/dev/null)"
	run cat "$WORK/got"
	assert_line "READY=1"
	assert_line "MAINPID=$(state_field "$CID" pid)"
	assert_output_not_contains STATUS
}

@test "NOTIFY_SOCKET: create, then start waits for READY and passes it on" {
	notify_bundle
	NOTIFY_SOCKET=$WORK/host.sock runtime create -b "$BUNDLE" "$CID" </dev/null >/dev/null
	NOTIFY_SOCKET=$WORK/host.sock runtime start "$CID"
	# start returned: the READY is there already
	run cat "$WORK/got"
	assert_line "READY=1"
	assert_line "MAINPID=$(state_field "$CID" pid)"
	# the program's own socket, not the caller's
	run bash -c 'tr "\0" "\n" <"/proc/$1/environ" | grep ^NOTIFY_SOCKET=' _ "$(state_field "$CID" pid)"
	assert_output NOTIFY_SOCKET=/run/notify/notify.sock
}

@test "NOTIFY_SOCKET: a container that exits before it is ready ends start quietly" {
	runc_differs "runc 1.1's foreground run waits for READY from a container that has exited (until killed)"
	make_bundle "$BUNDLE" true
	python3 "$LIB_DIR/notify_listen.py" "$WORK/host.sock" "$WORK/got" &
	track_pid $!
	retry 50 0.1 test -S "$WORK/host.sock"
	run env NOTIFY_SOCKET="$WORK/host.sock" timeout -k 5 60 "$RUNTIME" --root "$STATE_ROOT" run -b "$BUNDLE" "$CID" </dev/null 3>&-
	assert_success
	[ ! -s "$WORK/got" ] || fail "something was forwarded: $(cat "$WORK/got")"
}
