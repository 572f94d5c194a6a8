#!/usr/bin/env bats
# podman drives checkpoint and restore through the runtime (ENGINES.md:
# `checkpoint --help` as the probe, then `checkpoint --image-path ...
# --work-path ...`, `delete --force`, `restore -d ...`), with podman's
# storage private to the test. podman runs `criu` from PATH itself (its
# version check), so a directory holding the CRIU under test goes first in
# PATH; the runtime finds it there too.

load helpers
source "$BATS_TEST_DIRNAME/lib/ociimage.sh"
source "$BATS_TEST_DIRNAME/lib/podman.bash"

COUNTER='i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done'

# pmc ARGS...: podman with the CRIU under test first in PATH.
pmc() {
	mkdir -p "$P/criu-bin"
	ln -sf "$CRIU" "$P/criu-bin/criu"
	PATH=$P/criu-bin:$PATH pm "$@"
}

# last_log CID: the last line the container printed (empty if none).
last_log() { pm logs "$1" 2>/dev/null | tail -n1; }

# wait_log_above CID N: until the container's last line is a number above N.
wait_log_above() {
	local i v
	for ((i = 0; i < 200; i++)); do
		v=$(last_log "$1")
		[ -n "$v" ] && [ "$v" -gt "$2" ] && return 0
		sleep 0.05
	done
	fail "container $1: last line '$v', wanted above $2"
}

@test "podman container checkpoint and restore: the container counts on" {
	requires criu
	load_image
	cid=$(pmc run -d --network none "$IMAGE" sh -c "$COUNTER")
	wait_log_above "$cid" 2
	run pmc container checkpoint "$cid"
	assert_success
	run pm inspect -f '{{.State.Status}} {{.State.Checkpointed}}' "$cid"
	assert_output "exited true"
	last=$(last_log "$cid")

	run pmc container restore "$cid"
	assert_success
	run pm inspect -f '{{.State.Status}} {{.State.Restored}}' "$cid"
	assert_output "running true"
	wait_log_above "$cid" "$last"
	# no restart: the numbers after the checkpoint go on from the last one
	pm logs "$cid" | awk 'NR - 1 != $0 { print "line " NR ": " $0; exit 1 }'
}

@test "podman container checkpoint --leave-running" {
	requires criu
	load_image
	cid=$(pmc run -d --network none "$IMAGE" sh -c "$COUNTER")
	wait_log_above "$cid" 2
	run pmc container checkpoint --leave-running "$cid"
	assert_success
	run pm inspect -f '{{.State.Status}}' "$cid"
	assert_output running
	wait_log_above "$cid" "$(last_log "$cid")"
}

@test "podman checkpoint --export, then restore --import as a new container" {
	requires criu
	load_image
	cid=$(pmc run -d --network none --name "ck-$CID" "$IMAGE" sh -c "$COUNTER")
	wait_log_above "$cid" 2
	run pmc container checkpoint --export "$WORK/ck.tar.gz" "$cid"
	assert_success
	[ -s "$WORK/ck.tar.gz" ] || fail "no exported checkpoint"
	last=$(last_log "$cid")
	pm rm -f "$cid" >/dev/null

	run pmc container restore --import "$WORK/ck.tar.gz" --name "ck2-$CID"
	assert_success
	run pm inspect -f '{{.State.Status}}' "ck2-$CID"
	assert_output running
	wait_log_above "ck2-$CID" "$last"
}
