#!/usr/bin/env bats
# The systemd cgroup driver (`--systemd-cgroup`) against a real systemd:
# the host's own when it is pid 1 (detected), otherwise one this file starts
# as pid 1 of private namespaces (lib/systemd-ns.sh; SD_CGROUP=v2 makes that
# one a unified-only systemd). Every runtime call and every look at units and
# cgroups then happens inside its namespaces, through `sd`.
#
# Only create/run get --systemd-cgroup: later verbs must find the driver in
# the container's state, as with runc.

load helpers
source "$BATS_TEST_DIRNAME/lib/ociimage.sh"

setup_file() {
	requires root
	export SD_NS=$BATS_TEST_DIRNAME/lib/systemd-ns.sh
	if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
		export SD_DIR=
		# files podman makes on the host: removed at the end if new
		local g
		for g in /var/lib/containers/cache /var/lib/containers /run/containers /etc/containers/networks; do
			[ -e "$g" ] || echo "$g" >>"$BATS_FILE_TMPDIR/new-globals"
		done
	else
		command -v systemctl >/dev/null && [ -x /lib/systemd/systemd ] ||
			skip "needs systemd (the systemd package) to start one"
		export SD_DIR=$BATS_FILE_TMPDIR/systemd
		if ! "$SD_NS" start "$SD_DIR" >"$BATS_FILE_TMPDIR/sd-start.log" 2>&1; then
			cp "$BATS_FILE_TMPDIR/sd-start.log" "$BATS_FILE_TMPDIR/sd-failed"
		fi
	fi
}

teardown_file() {
	local g
	[ -n "${SD_DIR:-}" ] && "$SD_NS" stop "$SD_DIR"
	for g in $(cat "$BATS_FILE_TMPDIR/new-globals" 2>/dev/null); do
		rm -rf --one-file-system "$g"
	done
	return 0
}

# sd CMD...: run CMD where the systemd under test is.
sd() {
	if [ -n "${SD_DIR:-}" ]; then "$SD_NS" exec "$SD_DIR" "$@"; else "$@"; fi
}

# The runtime, where the systemd is; `sdrt` adds --systemd-cgroup.
runtime() {
	sd timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" "$@" 3>&-
}
sdrt() { runtime --systemd-cgroup "$@"; }

setup() {
	common_setup
	if [ -f "$BATS_FILE_TMPDIR/sd-failed" ]; then
		skip "could not start a systemd in private namespaces: $(tail -n 3 "$BATS_FILE_TMPDIR/sd-failed")"
	fi
	# one slice per test, so that its units are easy to find and stop
	SLICE=bt$$x$BATS_SUITE_TEST_NUMBER.slice
	UNIT=berth-it-$CID.scope
	SCOPE=/$SLICE/$UNIT
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p' --arg p "$SLICE:berth-it:$CID"
	no_cgroupns
}

# no_cgroupns: drop the cgroup namespace `spec` gives a container on a v2
# host (runc's and berth's alike): the tests read the unit's cgroup in the
# container's /proc/self/cgroup, which a cgroup namespace shows as `/`.
no_cgroupns() {
	update_config '.linux.namespaces |= map(select(.type != "cgroup"))'
}

teardown() {
	local id
	[ -f "$WORK/containers.conf" ] && pm rm -a -f >/dev/null 2>&1
	sd systemctl stop "berth-it-user-$CID.service" >/dev/null 2>&1
	for id in $(runtime list -q 2>/dev/null) "$CID"; do
		runtime delete --force "$id" >/dev/null 2>&1
	done
	sd systemctl stop "$SLICE" >/dev/null 2>&1
	sd systemctl reset-failed >/dev/null 2>&1
	common_teardown
}

is_v2() { sd test -f /sys/fs/cgroup/cgroup.controllers; }

# cgfile CONTROLLER FILE [CGROUP]: a file of the container's cgroup (CGROUP,
# default $SCOPE) in CONTROLLER's hierarchy.
cgfile() {
	if is_v2; then echo "/sys/fs/cgroup${3:-$SCOPE}/$2"; else echo "/sys/fs/cgroup/$1${3:-$SCOPE}/$2"; fi
}

cgread() { sd cat "$(cgfile "$@")"; }

# requires_controller NAME: skip unless the container's hierarchy has it.
requires_controller() {
	if is_v2; then
		sd grep -qw "$1" /sys/fs/cgroup/cgroup.controllers || skip "no $1 controller in the unified hierarchy here"
	else
		sd test -d "/sys/fs/cgroup/$1" || skip "no v1 $1 hierarchy"
	fi
}

prop() { sd systemctl show -P "$1" "${2:-$UNIT}"; }

# wait_unit_gone UNIT: systemd forgets a stopped transient unit.
unit_gone() { [ "$(prop LoadState "$1")" = not-found ] || [ "$(prop ActiveState "$1")" = inactive ]; }

# Directories named after the unit anywhere in the cgroup tree.
unit_dirs() { sd find /sys/fs/cgroup -name "$1" -type d 2>/dev/null; }

@test "run -d: the container is a transient scope in its slice, Delegate=yes, in every hierarchy" {
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop ActiveState)" active
	assert_equal "$(prop Delegate)" yes
	assert_equal "$(prop Slice)" "$SLICE"
	assert_equal "$(prop ControlGroup)" "$SCOPE"
	pid=$(state_field "$CID" pid)
	run sd cat "/proc/$pid/cgroup"
	assert_success
	local l
	if is_v2; then
		# (v1 lines, if any, are the host's business on a v2 systemd)
		assert_line "0::$SCOPE"
	else
		while IFS= read -r l; do
			[ "${l##*:}" = "$SCOPE" ] || fail "not in the scope: $l" "$output"
		done <<<"$output"
	fi
	# the unit lists the init as its process
	sd systemctl status --no-pager "$UNIT" | grep -q "$pid" || fail "pid $pid not in $UNIT"
}

@test "limits are unit properties and cgroup files" {
	requires_controller memory
	requires_controller pids
	requires_controller cpu
	update_config '.linux.resources.memory = {"limit": 104857600}
		| .linux.resources.pids = {"limit": 50}
		| .linux.resources.cpu = {"shares": 512, "quota": 50000, "period": 100000}'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop TasksMax)" 50
	assert_equal "$(prop CPUQuotaPerSecUSec)" 500ms
	assert_equal "$(cgread pids pids.max)" 50
	if is_v2; then
		assert_equal "$(prop MemoryMax)" 104857600
		assert_equal "$(prop CPUWeight)" 20
		assert_equal "$(cgread memory memory.max)" 104857600
		assert_equal "$(cgread cpu cpu.weight)" 20
		assert_equal "$(cgread cpu cpu.max)" "50000 100000"
	else
		assert_equal "$(prop MemoryLimit)" 104857600
		assert_equal "$(prop CPUShares)" 512
		assert_equal "$(cgread memory memory.limit_in_bytes)" 104857600
		assert_equal "$(cgread cpu cpu.shares)" 512
		assert_equal "$(cgread cpu cpu.cfs_quota_us)" 50000
	fi
}

@test "a CPU quota systemd rounds to whole percents is rounded in the file too" {
	requires_controller cpu
	runc_differs "runc 1.1.5 writes the unrounded quota, which systemd overwrites with its own at its next reload"
	update_config '.linux.resources.cpu = {"quota": 12345, "period": 100000}'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop CPUQuotaPerSecUSec)" 130ms
	local f=cpu.cfs_quota_us want=13000
	if is_v2; then f=cpu.max want="13000 100000"; fi
	assert_equal "$(cgread cpu $f)" "$want"
	sd systemctl daemon-reload
	assert_equal "$(cgread cpu $f)" "$want"
}

@test "update (without the flag) sets the unit's properties and the files" {
	requires_controller memory
	requires_controller pids
	update_config '.linux.resources.memory = {"limit": 104857600} | .linux.resources.pids = {"limit": 50}'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	runtime update --memory 200m --pids-limit 20 "$CID"
	assert_equal "$(prop TasksMax)" 20
	assert_equal "$(cgread pids pids.max)" 20
	if is_v2; then
		assert_equal "$(prop MemoryMax)" 209715200
		assert_equal "$(cgread memory memory.max)" 209715200
	else
		assert_equal "$(prop MemoryLimit)" 209715200
		assert_equal "$(cgread memory memory.limit_in_bytes)" 209715200
	fi
	# a daemon-reload re-applies the unit's properties: still the new values
	sd systemctl daemon-reload
	assert_equal "$(cgread pids pids.max)" 20
}

@test "delete (without the flag) stops the unit and removes every cgroup directory" {
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	[ -n "$(unit_dirs "$UNIT")" ] || fail "no cgroup directories for $UNIT"
	runtime delete --force "$CID"
	unit_gone "$UNIT" || fail "$UNIT still $(prop ActiveState)"
	run unit_dirs "$UNIT"
	assert_output ""
	run runtime state "$CID"
	assert_failure
}

@test "exec, ps, pause/resume, events, kill --all: later verbs find the unit's cgroup without the flag" {
	set_args sh -c 'sleep 1000 & exec sleep 1001'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run runtime exec "$CID" cat /proc/self/cgroup
	assert_success
	grep -q ":$SCOPE\$" <<<"$output" || fail "exec not in the scope" "$output"
	run runtime ps -f json "$CID"
	assert_success
	assert_equal "$(jq length <<<"$output")" 2 "processes"
	runtime pause "$CID"
	assert_equal "$(state_field "$CID" status)" paused
	runtime resume "$CID"
	assert_equal "$(state_field "$CID" status)" running
	run runtime events --stats "$CID"
	assert_success
	[ "$(jq -r .type <<<"$output")" = stats ] || fail "events: $output"
	runtime kill --all "$CID" KILL
	wait_status "$CID" stopped
	run runtime ps -f json "$CID"
	[ "$output" = "[]" ] || [ "$output" = null ] || [ "$output" = "" ] || fail "processes left: $output"
}

@test "a foreground run: the unit goes away with the container" {
	set_args sh -c 'cat /proc/self/cgroup; exit 3'
	run sdrt run -b "$BUNDLE" "$CID" </dev/null
	assert_failure 3
	assert_output_contains ":$SCOPE"
	unit_gone "$UNIT" || fail "$UNIT still $(prop ActiveState)"
	run unit_dirs "$UNIT"
	assert_output ""
}

@test "a stopped container's unit and directories go with delete" {
	set_args true
	sdrt create -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	runtime start "$CID"
	wait_status "$CID" stopped
	runtime delete "$CID"
	unit_gone "$UNIT" || fail "$UNIT still $(prop ActiveState)"
	run unit_dirs "$UNIT"
	assert_output ""
}

@test "nested slices named in cgroupsPath are created" {
	local s=${SLICE%.slice}
	SLICE=$s-inner.slice
	SCOPE=/$s.slice/$SLICE/$UNIT
	update_config '.linux.cgroupsPath = $p' --arg p "$SLICE:berth-it:$CID"
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop ControlGroup)" "$SCOPE"
	assert_equal "$(prop ActiveState "$SLICE")" active
	SLICE=$s.slice # the teardown stops the outer slice
}

@test "an empty cgroupsPath means system.slice and the prefix runc" {
	update_config 'del(.linux.cgroupsPath)'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop ControlGroup "runc-$CID.scope")" "/system.slice/runc-$CID.scope"
	runtime delete --force "$CID"
	unit_gone "runc-$CID.scope" || fail "runc-$CID.scope left"
}

@test "a device whitelist holds in a new slice, after a daemon-reload and a sibling unit" {
	# /fuse: a device anyone may open, not in the default rules
	mknod "$BUNDLE/rootfs/fuse" c 10 229
	if ! is_v2; then
		runc_differs "runc 1.1 sets the device policy after starting the unit: in a new slice systemd keeps the container in the slice's devices cgroup, which allows every device"
	fi
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop DevicePolicy)" strict
	local probe='exec 3<>/fuse && echo opened'
	run runtime exec "$CID" sh -c "$probe"
	assert_output_contains "not permitted"
	sd systemctl daemon-reload
	sd systemd-run --quiet --slice "$SLICE" --scope true
	run runtime exec "$CID" sh -c "$probe"
	assert_output_contains "not permitted"
	if ! is_v2; then
		pid=$(state_field "$CID" pid)
		run sd grep ':devices:' "/proc/$pid/cgroup"
		assert_output_contains ":devices:$SCOPE"
	fi
	# the same container allowed the device: the open is not refused
	runtime delete --force "$CID"
	update_config '.linux.resources.devices += [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run runtime exec "$CID" sh -c "$probe"
	assert_output_not_contains "not permitted"
}

@test "org.systemd.property.* annotations become unit properties (Sec in seconds)" {
	update_config '.annotations = {"org.systemd.property.TimeoutStopSec": "uint64 7",
		"org.systemd.property.CollectMode": "'"'inactive-or-failed'"'"}'
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(prop TimeoutStopUSec)" 7s
	assert_equal "$(prop CollectMode)" inactive-or-failed
}

@test "a malformed org.systemd.property annotation is refused, nothing left" {
	update_config '.annotations = {"org.systemd.property.TimeoutStopSec": "soon"}'
	run_create_sd -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains TimeoutStopSec
	run runtime state "$CID"
	assert_failure
	run unit_dirs "$UNIT"
	assert_output ""
}

@test "two containers with one cgroupsPath: the second fails and leaves the first alone" {
	runc_differs "runc 1.1 puts the second container in the first one's unit (with a deprecation warning; runc 1.2 refuses)"
	sdrt run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	pid=$(state_field "$CID" pid)
	run_create_sd -b "$BUNDLE" "$CID-2"
	assert_failure
	assert_output_contains "$UNIT"
	run runtime state "$CID-2"
	assert_failure
	assert_equal "$(state_field "$CID" status)" running
	assert_equal "$(prop ActiveState)" active
	run cgread pids cgroup.procs
	assert_output "$pid"
}

# run_create_sd ARGS: `run` a create with --systemd-cgroup that should fail
# (its output through a file, see run_create).
run_create_sd() {
	local pre=()
	[ -z "${SD_DIR:-}" ] || pre=("$SD_NS" exec "$SD_DIR")
	run bash -c 'f=$1; shift; "$@" >"$f" 2>&1 </dev/null; rc=$?; cat "$f"; exit $rc' _ "$WORK/.create.out" \
		"${pre[@]}" timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" --systemd-cgroup create "$@" 3>&-
}

@test "no bus daemon: the driver talks to systemd's private socket" {
	[ -n "${SD_DIR:-}" ] || [ "$(id -u)" = 0 ] || skip "needs root"
	sd unshare -m sh -c 'mount -t tmpfs -o size=4k tmpfs /run/dbus && exec "$@"' _ \
		timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" --systemd-cgroup \
		run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1 3>&-
	assert_equal "$(prop ActiveState)" active
	sd unshare -m sh -c 'mount -t tmpfs -o size=4k tmpfs /run/dbus && exec "$@"' _ \
		timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" delete --force "$CID" 3>&-
	unit_gone "$UNIT" || fail "$UNIT left"
}

@test "cgroupsPath not of the form slice:prefix:name is refused, nothing left" {
	for p in /berth-it/x "$SLICE:$CID" "bad:berth-it:$CID"; do
		update_config '.linux.cgroupsPath = $p' --arg p "$p"
		run_create_sd -b "$BUNDLE" "$CID"
		assert_failure
		run runtime state "$CID"
		assert_failure
	done
	run unit_dirs "$UNIT"
	assert_output ""
}

@test "without a systemd the driver fails clearly, leaving nothing" {
	[ -n "${SD_DIR:-}" ] || skip "systemd is pid 1 here"
	run bash -c 'f=$1; shift; "$@" >"$f" 2>&1 </dev/null; rc=$?; cat "$f"; exit $rc' _ "$WORK/.create.out" \
		timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" --systemd-cgroup create -b "$BUNDLE" "$CID" 3>&-
	assert_failure
	assert_output_contains -i "systemd"
	run timeout 10 "$RUNTIME" --root "$STATE_ROOT" state "$CID"
	assert_failure
}

# pm ARGS: podman with private storage, --cgroup-manager systemd, and the
# runtime under test (named runc: podman keys its log format on the name).
pm() {
	sd env CONTAINERS_CONF="$WORK/containers.conf" timeout -k 5 120 podman --root "$WORK/storage" \
		--runroot "$WORK/runroot" --storage-driver vfs --cgroup-manager systemd --runtime "$WORK/bin/runc" "$@" 3>&-
}

@test "podman --cgroup-manager systemd: run, limits, update, pause, stop, rm" {
	requires podman umoci
	# podman asks for a pids limit by default
	requires_controller pids
	requires_controller memory
	mkdir -p "$WORK/bin" "$WORK/tmp"
	ln -s "$RUNTIME" "$WORK/bin/runc"
	cat >"$WORK/containers.conf" <<-CONF
		[containers]
		netns = "none"
		[engine]
		events_logger = "file"
		events_logfile_path = "$WORK/events.log"
		tmp_dir = "$WORK/tmp"
		runtime = "runc"
		[engine.runtimes]
		runc = ["$WORK/bin/runc"]
	CONF
	make_oci_image "$WORK/image" "$(rootfs_template)" localhost/berth-busybox:latest >/dev/null
	make_oci_archive "$WORK/image" "$WORK/image.tar"
	pm load -q -i "$WORK/image.tar" >/dev/null || fail "podman load failed"
	run pm run --rm localhost/berth-busybox:latest cat /proc/self/cgroup
	assert_success
	grep -Eq ':/machine.slice/libpod-[0-9a-f]{64}.scope$' <<<"$output" || fail "not in a libpod scope" "$output"

	cid=$(pm run -d --memory 64m --pids-limit 30 localhost/berth-busybox:latest sleep 1000)
	local unit=libpod-$cid.scope mem=MemoryLimit
	if is_v2; then mem=MemoryMax; fi
	assert_equal "$(prop Delegate "$unit")" yes
	assert_equal "$(prop "$mem" "$unit")" 67108864
	assert_equal "$(prop TasksMax "$unit")" 30
	pm update --memory 128m "$cid" >/dev/null
	assert_equal "$(prop "$mem" "$unit")" 134217728
	pm pause "$cid" >/dev/null
	assert_equal "$(pm inspect -f '{{.State.Status}}' "$cid")" paused
	pm unpause "$cid" >/dev/null
	pm stop -t 1 "$cid" >/dev/null 2>&1
	pm rm "$cid" >/dev/null
	unit_gone "$unit" || fail "$unit left"
	run unit_dirs "$unit"
	assert_output ""
	pm rmi -a -f >/dev/null 2>&1
	for m in $(mounts_under "$WORK/storage" | sort -r); do sd umount -l "$m" 2>/dev/null; done
}

UNPRIV=65534

# as_user CMD...: CMD as the unprivileged user, whose runtime directory is
# $WORK/xdg, where the systemd is. (/proc/sys, read-only over /proc in the
# private namespaces, is unmounted first: a user namespace cannot mount a
# proc that is partly covered.)
as_user() {
	user_argv
	"${UARGV[@]}" "$@" 3>&-
}

# user_argv: UARGV = the prefix as_user puts before a command.
user_argv() {
	UARGV=()
	[ -z "${SD_DIR:-}" ] || UARGV=("$SD_NS" exec "$SD_DIR")
	UARGV+=(unshare -m sh -c 'umount -l /proc/sys 2>/dev/null; exec "$@"' _
		setpriv --reuid=$UNPRIV --regid=$UNPRIV --clear-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin
		XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK" timeout -k 5 "$RUNTIME_TIMEOUT")
}

# A `spec --rootless` bundle of the unprivileged user (sleep 1000).
rootless_bundle() {
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	requires userns
	mkdir -p "$WORK/xdg"
	chown "$UNPRIV:$UNPRIV" "$WORK/xdg"
	chmod 700 "$WORK/xdg"
	rm "$BUNDLE/config.json"
	chown -R "$UNPRIV:$UNPRIV" "$BUNDLE"
	(cd "$BUNDLE" && as_user "$RUNTIME" spec --rootless) || fail "spec --rootless failed"
	update_config '.process.terminal = false | .process.args = ["sleep", "1000"] | .linux.cgroupsPath = $p' \
		--arg p ":berth-it:$CID"
	no_cgroupns
}

@test "rootless: the container is a unit of the user's own systemd (cgroup v2)" {
	is_v2 || skip "needs cgroup v2 (a user manager delegates nothing on v1; the refusal is tested)"
	runc_differs "runc 1.1.5's rootless exec leaves the new process outside the unit (moving it is best effort there)"
	rootless_bundle
	# the user's manager, as user@.service runs it (without PAM and logind)
	sd systemd-run --quiet --uid=$UNPRIV --gid=$UNPRIV -p Delegate=yes -p Type=notify \
		-E XDG_RUNTIME_DIR="$WORK/xdg" -E HOME="$WORK" --unit "berth-it-user-$CID.service" /lib/systemd/systemd --user
	local rt=("$RUNTIME" --root "$WORK/xdg/state")
	as_user "${rt[@]}" --systemd-cgroup run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>"$WORK/run.err" || fail "run: $(cat "$WORK/run.err")"
	mgr=$(as_user systemctl --user show -P ControlGroup)
	local scope=$mgr/user.slice/$UNIT
	[ "$(as_user systemctl --user show -P ControlGroup "$UNIT")" = "$scope" ] || fail "unit not in $scope"
	assert_equal "$(as_user systemctl --user show -P Delegate "$UNIT")" yes
	run as_user "${rt[@]}" exec "$CID" cat /proc/self/cgroup
	assert_success
	assert_line "0::$scope"
	as_user "${rt[@]}" pause "$CID"
	assert_equal "$(as_user "${rt[@]}" state "$CID" | jq -r .status)" paused
	as_user "${rt[@]}" resume "$CID"
	as_user "${rt[@]}" delete --force "$CID"
	assert_equal "$(as_user systemctl --user show -P LoadState "$UNIT")" not-found
}

@test "rootless on a v1 or hybrid host is refused, leaving nothing" {
	is_v2 && skip "cgroup v2 here: the user manager test runs instead"
	rootless_bundle
	user_argv
	run bash -c 'f=$1; shift; "$@" >"$f" 2>&1 </dev/null; rc=$?; cat "$f"; exit $rc' _ "$WORK/.create.out" \
		"${UARGV[@]}" "$RUNTIME" --root "$WORK/xdg/state" --systemd-cgroup create -b "$BUNDLE" "$CID"
	assert_failure
	is_runc || assert_output_contains "cgroup v2"
	run as_user "$RUNTIME" --root "$WORK/xdg/state" state "$CID"
	assert_failure
}
