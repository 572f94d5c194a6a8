#!/usr/bin/env bats
# podman drives the runtime: `podman --runtime <RUNTIME> run --rm IMAGE echo
# hello` with an image built locally (no registry), podman's storage and
# runroot private to the test (the host's podman state is untouched), and the
# containers.conf settings this host needs (ENGINES.md G1, G2, G13, G14).

load helpers
source "$BATS_TEST_DIRNAME/lib/ociimage.sh"

setup() {
	requires podman umoci
	common_setup
	P=$WORK/podman
	mkdir -p "$P/bin" "$P/tmp" "$P/cwd"
	# podman keys JSON error logs on the runtime's *name* (G2): call it runc
	ln -s "$RUNTIME" "$P/bin/runc"
	cat >"$P/containers.conf" <<-CONF
		[containers]
		netns = "none"
		default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		events_logfile_path = "$P/events.log"
		tmp_dir = "$P/tmp"
		runtime = "runc"
		[engine.runtimes]
		runc = ["$P/bin/runc"]
	CONF
}

# Global files and cgroups podman creates (G7, G13): remembered before the
# first test, removed after the last one only if they were new.
PODMAN_GLOBALS="/var/lib/containers/cache/blob-info-cache-v1.boltdb /run/containers/networks /etc/containers/networks/netavark.lock /etc/containers/networks /run/containers /var/lib/containers/cache /var/lib/containers"
setup_file() {
	local g
	: >"$BATS_FILE_TMPDIR/new-globals"
	for g in $PODMAN_GLOBALS; do [ -e "$g" ] || echo "$g" >>"$BATS_FILE_TMPDIR/new-globals"; done
	[ -d /sys/fs/cgroup/pids/libpod_parent ] || touch "$BATS_FILE_TMPDIR/new-libpod-parent"
}

teardown_file() {
	local g m
	for g in $(cat "$BATS_FILE_TMPDIR/new-globals" 2>/dev/null); do
		if [ -d "$g" ]; then rmdir "$g" 2>/dev/null; else rm -f "$g"; fi
	done
	if [ -e "$BATS_FILE_TMPDIR/new-libpod-parent" ]; then
		for m in $(cgroup_mounts); do
			[ -d "$m/libpod_parent" ] || continue
			find "$m/libpod_parent" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
	fi
	return 0
}

pm() {
	(cd "$P/cwd" && CONTAINERS_CONF=$P/containers.conf timeout -k 5 120 podman \
		--root "$P/storage" --runroot "$P/runroot" --storage-driver vfs \
		--runtime "$P/bin/runc" "$@" 3>&-)
}

teardown() {
	if [ -n "${P:-}" ] && [ -d "$P" ]; then
		pm rm -a -f >/dev/null 2>&1 || pm rm -a -f >/dev/null 2>&1 # G6: retry once
		pm rmi -a -f >/dev/null 2>&1
		for m in $(mounts_under "$P" | sort -r); do umount -l "$m" 2>/dev/null; done
	fi
	common_teardown
}

load_image() {
	make_oci_image "$WORK/image" "$(rootfs_template)" localhost/berth-busybox:latest
	make_oci_archive "$WORK/image" "$WORK/image.tar"
	pm load -q -i "$WORK/image.tar" >/dev/null || fail "podman load of the local image failed"
	IMAGE=localhost/berth-busybox:latest
}

@test "podman run --rm IMAGE echo hello" {
	load_image
	run pm run --rm --network none "$IMAGE" echo hello
	assert_success
	assert_output hello
}

@test "podman run propagates the exit code and runs a shell pipeline" {
	load_image
	run pm run --rm --network none "$IMAGE" sh -c 'echo a | tr a b; exit 7'
	assert_failure 7
	assert_output b
}

@test "podman run -t (terminal through the console socket)" {
	load_image
	run pm run --rm -t --network none "$IMAGE" sh -c 'test -t 1 && echo tty-ok'
	assert_success
	assert_output_contains tty-ok
}

@test "podman run -d, stop, rm (kill by number, delete --force)" {
	load_image
	cid=$(pm run -d --network none "$IMAGE" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done')
	run pm inspect -f '{{.State.Status}}' "$cid"
	assert_output running
	pm stop -t 5 "$cid"
	run pm inspect -f '{{.State.ExitCode}}' "$cid"
	assert_output 0
	pm rm "$cid"
}

@test "podman reports a missing executable with exit 127" {
	load_image
	run -127 pm run --rm --network none "$IMAGE" /no/such/program
	assert_failure 127
}
