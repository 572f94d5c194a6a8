#!/usr/bin/env bats
# containerd drives the runtime through its runc shim: `ctr run --runc-binary
# <RUNTIME> --rm IMAGE id echo hello`, on a private containerd instance
# (ENGINES.md 3.2) with an image imported from a locally built oci-archive.

load helpers
source "$BATS_TEST_DIRNAME/lib/ociimage.sh"

# One private containerd per file: its state, sockets and content live in
# $CD (BATS_FILE_TMPDIR); only the shim sockets (/run/containerd/s) and the
# runtime root /run/containerd/runc/<ns> are outside, and are removed after.
setup_file() {
	command -v containerd >/dev/null && command -v ctr >/dev/null || return 0
	command -v umoci >/dev/null || return 0
	export CD=$BATS_FILE_TMPDIR/cd CD_NS=berth-it-$$
	mkdir -p "$CD/root" "$CD/state" "$CD/opt" "$CD/fifo"
	[ -d /run/containerd ] || touch "$BATS_FILE_TMPDIR/new-run-containerd"
	cat >"$CD/config.toml" <<-EOF2
		version = 2
		root = "$CD/root"
		state = "$CD/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
		  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs",
		  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp",
		  "io.containerd.internal.v1.tracing"]
		[grpc]
		  address = "$CD/containerd.sock"
		[ttrpc]
		  address = "$CD/containerd.sock.ttrpc"
		[debug]
		  address = "$CD/debug.sock"
		[metrics]
		  address = ""
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$CD/opt"
	EOF2
	containerd --config "$CD/config.toml" >"$CD/containerd.log" 2>&1 3>&- &
	echo $! >"$CD/pid"
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$CD/containerd.sock" ] && ctr --address "$CD/containerd.sock" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	# the image, built once for the file
	WORK=$BATS_FILE_TMPDIR
	make_oci_image "$CD/image" "$(rootfs_template)" localhost/berth-busybox:latest >/dev/null &&
		make_oci_archive "$CD/image" "$CD/image.tar" &&
		cctr images import "$CD/image.tar" >/dev/null
}

cctr() {
	timeout -k 5 120 ctr --address "$CD/containerd.sock" -n "$CD_NS" "$@" 3>&-
}

teardown_file() {
	[ -n "${CD:-}" ] && [ -f "$CD/pid" ] || return 0
	local c m
	for c in $(cctr containers ls -q 2>/dev/null); do
		cctr tasks kill -s KILL "$c" >/dev/null 2>&1
		cctr tasks delete -f "$c" >/dev/null 2>&1
		cctr containers delete "$c" >/dev/null 2>&1
	done
	cctr images rm localhost/berth-busybox:latest >/dev/null 2>&1
	kill -TERM "$(cat "$CD/pid")" 2>/dev/null
	sleep 1
	kill -KILL "$(cat "$CD/pid")" 2>/dev/null
	for m in $(mounts_under "$CD" | sort -r); do umount -l "$m" 2>/dev/null; done
	rm -rf "/run/containerd/runc/$CD_NS"
	for m in $(cgroup_mounts); do
		[ -d "$m/$CD_NS" ] && find "$m/$CD_NS" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	if [ -e "$BATS_FILE_TMPDIR/new-run-containerd" ]; then
		rmdir /run/containerd/s /run/containerd/runc /run/containerd/fifo /run/containerd 2>/dev/null
	fi
	rm -rf --one-file-system "$CD"
	return 0
}

setup() {
	requires containerd umoci
	common_setup
	[ -S "$CD/containerd.sock" ] || fail "private containerd did not start: $(tail -n5 "$CD/containerd.log")"
	IMAGE=localhost/berth-busybox:latest
}

@test "ctr run --runc-binary RUNTIME --rm IMAGE echo hello" {
	run cctr run --runc-binary "$RUNTIME" --fifo-dir "$CD/fifo" --rm "$IMAGE" "$CID" echo hello
	assert_success
	assert_output hello
}

@test "ctr run propagates the exit status" {
	run cctr run --runc-binary "$RUNTIME" --fifo-dir "$CD/fifo" --rm "$IMAGE" "$CID" sh -c 'echo out; exit 5'
	assert_failure 5
	assert_output out
}

@test "ctr run -d, task kill, task delete (numeric signals, delete --force twice)" {
	cctr run -d --runc-binary "$RUNTIME" --fifo-dir "$CD/fifo" "$IMAGE" "$CID" sleep 1000
	run cctr tasks ls
	assert_output_contains "$CID"
	assert_output_contains RUNNING
	cctr tasks kill -s KILL "$CID"
	retry 50 0.1 eval 'cctr tasks ls | grep "$CID" | grep -q STOPPED'
	cctr tasks delete "$CID"
	cctr containers delete "$CID"
}

@test "ctr run --tty (pty master over the console socket)" {
	run "$BATS_TEST_DIRNAME/lib/underpty.py" 60 ctr --address "$CD/containerd.sock" -n "$CD_NS" run -t --runc-binary "$RUNTIME" --fifo-dir "$CD/fifo" --rm "$IMAGE" "$CID" sh -c 'test -t 0 && echo tty-ok'
	[ "$status" -eq 0 ] || fail "ctr run -t exited $status; output: $output; containerd log: $(tail -n 20 "$CD/containerd.log")"
	assert_output_contains tty-ok
}

@test "a failed create reports the runtime's error through the shim" {
	run cctr run --runc-binary "$RUNTIME" --fifo-dir "$CD/fifo" --rm "$IMAGE" "$CID" /no/such/program
	assert_failure
	assert_output_contains "no such file or directory"
	cctr containers delete "$CID" 2>/dev/null || true
}

@test "ctr tasks checkpoint: pause, checkpoint --leave-running, resume; the task runs on (--exit stops it)" {
	requires criu
	# the shim runs the runtime with containerd's environment: --criu via a wrapper
	printf '#!/bin/sh\necho "$*" >>"%s"\nexec "%s" --criu "%s" "$@"\n' "$WORK/calls" "$RUNTIME" "$CRIU" >"$WORK/runtime-criu"
	chmod +x "$WORK/runtime-criu"
	cctr run -d --runc-binary "$WORK/runtime-criu" --fifo-dir "$CD/fifo" "$IMAGE" "$CID" \
		sh -c 'i=0; while :; do echo $i > /tmp/count; i=$((i+1)); sleep 0.1; done'
	run cctr tasks checkpoint --image-path "$WORK/image" --work-path "$WORK/work" "$CID"
	[ "$status" -eq 0 ] || fail "checkpoint failed: $output" "$(tail -n 5 "$CD/containerd.log")"
	[ -f "$WORK/image/inventory.img" ] || fail "no CRIU images in $WORK/image"
	run cctr tasks ls
	assert_output_contains RUNNING
	a=$(cctr tasks exec --exec-id c1 "$CID" cat /tmp/count)
	retry 50 0.1 eval '[ "$(cctr tasks exec --exec-id c2-$RANDOM "$CID" cat /tmp/count)" -gt "$a" ]'

	run cctr tasks checkpoint --exit --image-path "$WORK/image2" "$CID"
	[ "$status" -eq 0 ] || fail "checkpoint --exit failed: $output"
	retry 50 0.1 eval 'cctr tasks ls | grep "$CID" | grep -q STOPPED'
	cctr tasks delete "$CID"
	cctr containers delete "$CID"
}

@test "ctr containers checkpoint --task and restore --live (restore -d ... -no-subreaper)" {
	requires criu
	printf '#!/bin/sh\necho "$*" >>"%s"\nexec "%s" --criu "%s" "$@"\n' "$WORK/calls" "$RUNTIME" "$CRIU" >"$WORK/runtime-criu"
	chmod +x "$WORK/runtime-criu"
	cctr run -d --runc-binary "$WORK/runtime-criu" --fifo-dir "$CD/fifo" "$IMAGE" "$CID" \
		sh -c 'i=0; while :; do echo $i > /tmp/count; i=$((i+1)); sleep 0.1; done'
	retry 50 0.1 eval '[ "$(cctr tasks exec --exec-id a-$RANDOM "$CID" cat /tmp/count)" -gt 2 ]'
	run cctr containers checkpoint --task --rw "$CID" "localhost/ck-$CID:1"
	[ "$status" -eq 0 ] || fail "checkpoint failed: $output" "$(tail -n 5 "$CD/containerd.log")"
	a=$(cctr tasks exec --exec-id b-$RANDOM "$CID" cat /tmp/count)
	cctr tasks kill -s KILL "$CID"
	retry 50 0.1 eval 'cctr tasks ls | grep "$CID" | grep -q STOPPED'
	cctr tasks delete "$CID"
	cctr containers delete "$CID"

	run cctr containers restore --live --rw "$CID" "localhost/ck-$CID:1"
	[ "$status" -eq 0 ] || fail "restore failed: $output" "$(tail -n 5 "$CD/containerd.log")"
	run cctr tasks ls
	assert_output_contains RUNNING
	retry 50 0.1 eval '[ "$(cctr tasks exec --exec-id c-$RANDOM "$CID" cat /tmp/count)" -gt "$a" ]'
	grep -q ' restore .*--detach.* -no-subreaper' "$WORK/calls" || fail "no restore call: $(cat "$WORK/calls")"
	cctr tasks kill -s KILL "$CID"
	retry 50 0.1 eval 'cctr tasks ls | grep "$CID" | grep -q STOPPED'
	cctr tasks delete "$CID"
	cctr containers delete "$CID"
	cctr images rm "localhost/ck-$CID:1" >/dev/null
}
