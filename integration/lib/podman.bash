# Shared by the podman test files: podman with private storage and runroot
# (the host's podman state is untouched), the runtime under test reached
# through a symlink named `runc` (podman keys --log-format=json on the name,
# ENGINES.md G2), and the containers.conf settings this host needs (G1, G13).
# Load after helpers.bash and lib/ociimage.sh.

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

