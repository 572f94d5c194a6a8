#!/usr/bin/env bats
# Container escapes, each performed as an attacker would (a hostile image, a
# hostile config, a hostile process in the container): the runtime must
# refuse or stay closed. Each test also runs against runc (RUNTIME=runc),
# which checks the test itself, except where runc 1.1 is known to be open
# (runc_differs names the CVE).

load helpers

# with_caps CAPS...: the container process gets exactly these capabilities.
with_caps() {
	update_config '.process.capabilities = {bounding: $c, effective: $c, permitted: $c}' \
		--argjson c "$(json_array "$@")"
}

# ---------------------------------------------------------- CVE-2019-5736

# The attack: the container's program is /proc/self/exe, which the runtime
# resolves while it is itself the process. If that runs the runtime's own
# host binary in the container, a process there keeps /proc/PID/exe open and
# writes through it once the runtime is gone. The "runtime binary" here is a
# copy ($WORK/rt) so that a successful attack harms nothing else.
# The victim's argv makes a runtime block opening its --log fifo, so the
# attacker has all the time it needs.
attack_proc_self_exe() { # RUNTIME_COPY
	local rt=$1 before after vpid exe
	before=$(sha256sum <"$rt")
	make_bundle "$BUNDLE" sleep 3600
	mkfifo "$BUNDLE/rootfs/tmp/logfifo"
	timeout -k 5 60 "$rt" --root "$STATE_ROOT" run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>"$WORK/run.err" 3>&- ||
		fail "the container did not start: $(cat "$WORK/run.err")"
	timeout -k 5 60 "$rt" --root "$STATE_ROOT" exec -d --pid-file "$WORK/victim.pid" "$CID" \
		/proc/self/exe --log /tmp/logfifo state x </dev/null >/dev/null 2>&1 3>&- || true
	sleep 0.5
	vpid=$(cat "$WORK/victim.pid" 2>/dev/null || true)
	exe=$(readlink "/proc/${vpid:-0}/exe" 2>/dev/null || true)
	# What a hostile process in the container does: hold the victim's exe,
	# let it go on (open the fifo's other end), then write through the held
	# descriptor once it is gone.
	timeout -k 5 60 "$rt" --root "$STATE_ROOT" exec "$CID" sh -c '
		for p in /proc/[0-9]*; do
			grep -q logfifo "$p/cmdline" 2>/dev/null && exec 3<"$p/exe" && break
		done
		cat /tmp/logfifo >/dev/null & c=$!
		sleep 1
		echo pwned >/proc/self/fd/3
		kill $c' </dev/null >/dev/null 2>&1 3>&- || true
	after=$(sha256sum <"$rt")
	assert_equal "$after" "$before" "the runtime binary on the host"
	[ "$exe" != "$(readlink -f "$rt")" ] || fail "a container process ran the host's runtime binary ($exe)"
}

@test "CVE-2019-5736: /proc/self/exe in the container never reaches the host binary" {
	cp "$RUNTIME" "$WORK/rt"
	attack_proc_self_exe "$WORK/rt"
}

@test "CVE-2019-5736: still guarded where the pid namespace forbids executable memfds (vm.memfd_noexec=2)" {
	[ -e /proc/sys/vm/memfd_noexec ] || skip "the kernel has no vm.memfd_noexec"
	cp "$RUNTIME" "$WORK/rt"
	# memfd_noexec is per pid namespace: the runtime runs in a new one
	# where executable memfds are refused. Everything (create, exec,
	# delete) happens in there, so the pids in the state make sense.
	export -f attack_proc_self_exe make_bundle rootfs_template build_rootfs spec_template json_array \
		assert_equal fail runtime
	export STATE_ROOT WORK CID BUNDLE RUNTIME BUSYBOX BATS_RUN_TMPDIR RUNTIME_TIMEOUT
	run unshare --pid --fork --mount-proc bash -c '
		echo 2 >/proc/sys/vm/memfd_noexec || exit 3
		attack_proc_self_exe "$WORK/rt"; rc=$?
		"$WORK/rt" --root "$STATE_ROOT" delete --force "$CID" >/dev/null 2>&1
		exit $rc'
	if is_runc && [ "$status" -ne 0 ]; then
		skip "runc 1.1 cannot run containers where executable memfds are refused: $output"
	fi
	assert_success
}

@test "a config without process is refused by run before anything exists" {
	make_bundle "$BUNDLE"
	update_config 'del(.process)'
	run runtime run -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "process"
	run runtime state "$CID"
	assert_failure
	[ -z "$(cgroup_dirs "/$CID")" ] || fail "cgroups left: $(cgroup_dirs "/$CID")"
}

# ---------------------------------------------------------- CVE-2024-21626

# A working directory through a descriptor the runtime leaked
# (/proc/self/fd/N) would be a host directory: refused, or harmless.
@test "CVE-2024-21626: a cwd of /proc/self/fd/N never lands outside the root" {
	make_bundle "$BUNDLE" sh -c 'pwd -P; cd .. && ls'
	local n
	for n in 3 4 5 6 7 8 9 10; do
		update_config '.process.cwd = $c' --arg c "/proc/self/fd/$n"
		run --separate-stderr runtime run -b "$BUNDLE" "$CID-$n" </dev/null
		runtime delete --force "$CID-$n" >/dev/null 2>&1 || true
		[ "$status" -ne 0 ] && continue
		# Started: the cwd must be a directory of the container.
		case $output in
		"(unreachable)"* | *berth* | *cgroup* | *"$WORK"*) fail "fd $n: cwd outside the root: $output" ;;
		esac
	done
}

@test "CVE-2024-21626: exec --cwd /proc/self/fd/N never lands outside the root" {
	make_bundle "$BUNDLE"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null
	local n
	for n in 3 4 5 6 7 8 9 10; do
		run --separate-stderr runtime exec --cwd "/proc/self/fd/$n" "$CID" sh -c 'pwd -P; ls ..'
		[ "$status" -ne 0 ] && continue
		case $output in
		"(unreachable)"* | *berth* | *cgroup* | *"$WORK"*) fail "fd $n: cwd outside the root: $output" ;;
		esac
	done
}

@test "CVE-2024-21626: only stdio reaches the init and exec'd processes" {
	make_bundle "$BUNDLE"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null
	local pid
	pid=$(state_field "$CID" pid)
	run ls "/proc/$pid/fd"
	assert_equal "$(echo $output)" "0 1 2" "the init's descriptors"
	runc_differs "runc 1.1 passes descriptors its caller left open to exec'd processes"
	runtime exec -d --pid-file "$WORK/exec.pid" "$CID" sleep 100 </dev/null >/dev/null
	run ls "/proc/$(cat "$WORK/exec.pid")/fd"
	assert_equal "$(echo $output)" "0 1 2" "the exec'd process' descriptors"
}

# ---------------------------------------------------------- device cgroup

# With CAP_MKNOD but no device rules in the config, the container must not
# read the host's kernel log (c 1:11) or its disks.
device_attack() {
	with_caps CAP_MKNOD CAP_DAC_OVERRIDE
	local disk
	disk=$(awk '$2 == "/" {print $3}' /proc/self/mountinfo | head -n1)
	set_args sh -c "mknod /tmp/kmsg c 1 11 && head -c 1 /tmp/kmsg >/dev/null && echo KMSG-READ;
		mknod /tmp/disk b ${disk%%:*} ${disk##*:} && head -c 512 /tmp/disk >/dev/null && echo DISK-READ;
		head -c 1 /dev/null && echo null-ok"
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_output_not_contains KMSG-READ
	assert_output_not_contains DISK-READ
	assert_output_contains null-ok
}

@test "device cgroup: no linux.resources still means deny-all plus the defaults" {
	make_bundle "$BUNDLE"
	update_config 'del(.linux.resources)'
	device_attack
}

@test "device cgroup: resources without a devices list still deny" {
	make_bundle "$BUNDLE"
	update_config '.linux.resources = {pids: {limit: 100}}'
	device_attack
}

# ---------------------------------------------------------- mount targets

@test "a rootfs whose /proc is a symlink is refused (CVE-2023-27561, CVE-2023-28642)" {
	make_bundle "$BUNDLE" true
	rmdir "$BUNDLE/rootfs/proc"
	mkdir "$BUNDLE/rootfs/fakeproc"
	ln -s /fakeproc "$BUNDLE/rootfs/proc"
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_failure
	[ -z "$(ls -A "$BUNDLE/rootfs/fakeproc")" ] || fail "procfs was mounted through the symlink"
}

@test "a rootfs whose /sys is a symlink is refused" {
	make_bundle "$BUNDLE" true
	rmdir "$BUNDLE/rootfs/sys"
	mkdir "$BUNDLE/rootfs/fakesys"
	ln -s /fakesys "$BUNDLE/rootfs/sys"
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	runc_differs "runc 1.1 mounts sysfs through a /sys symlink"
	assert_failure
	[[ $stderr == *symlink* ]] || fail "no mention of the symlink: $stderr"
}

@test "only proc may be mounted on /proc, and nothing inside it but lxcfs-style files" {
	make_bundle "$BUNDLE" true
	update_config '.mounts += [{destination: "/proc", type: "tmpfs", source: "tmpfs"}]'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	make_bundle "$WORK/b2" true
	echo '|/bin/evil' >"$WORK/core_pattern"
	update_config '.mounts += [{destination: "/proc/sys/kernel/core_pattern", type: "bind", source: $s, options: ["bind"]}]' \
		--arg s "$WORK/core_pattern"
	run_create -b "$BUNDLE" "$CID-2"
	assert_failure
	assert_output_contains /proc
}

# A rootfs that brings its own /dev (no tmpfs there): its /dev/console is a
# symlink to a file the attacker wants writable.
@test "a /dev/console symlink in the rootfs is never followed (CVE-2025-52565)" {
	runc_differs "runc 1.1 follows a /dev/console symlink (fixed in runc 1.2.8)"
	make_bundle "$BUNDLE" true
	update_config '.process.terminal = true | .mounts |= map(select(.destination != "/dev"))'
	cp -a /dev/null /dev/zero /dev/urandom "$BUNDLE/rootfs/dev/"
	mkdir -p "$BUNDLE/rootfs/dev/pts"
	update_config '.mounts += [{destination: "/dev/pts", type: "devpts", source: "devpts", options: ["newinstance","ptmxmode=0666"]}]'
	ln -s ../etc/hostname "$BUNDLE/rootfs/dev/console"
	ln -s pts/ptmx "$BUNDLE/rootfs/dev/ptmx"
	python3 "$LIB_DIR/console_recv.py" "$WORK/console.sock" "$WORK/console.out" >/dev/null 2>&1 &
	track_pid $!
	retry 50 0.1 test -S "$WORK/console.sock"
	run_create --console-socket "$WORK/console.sock" -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains symlink
	assert_equal "$(cat "$BUNDLE/rootfs/etc/hostname")" berth-test "the symlink's target"
}

# Masked paths are covered with /dev/null: a /dev that is not the runtime's
# own (a bind mount of a directory the attacker filled) with a "null" that is
# a plain file would make them readable copies of that file.
@test "masked paths use a /dev/null checked to be the null device (CVE-2025-31133)" {
	runc_differs "runc 1.1 masks with whatever /dev/null the container has (fixed in runc 1.2.8)"
	make_bundle "$BUNDLE" true
	mkdir "$WORK/evil-dev"
	echo "not the null device" >"$WORK/evil-dev/null"
	update_config '.mounts |= map(select(.destination != "/dev" and (.destination | startswith("/dev/") | not)))
		| .mounts += [{destination: "/dev", type: "bind", source: $d, options: ["rbind"]}]' --arg d "$WORK/evil-dev"
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
	assert_failure
	[[ $stderr == *"null device"* ]] || fail "no mention of the null device: $stderr"
}

# ---------------------------------------------------------- host files

@test "--pid-file: a symlink planted at the target is replaced, not written through" {
	make_bundle "$BUNDLE"
	echo precious >"$WORK/victim"
	ln -s "$WORK/victim" "$WORK/pid"
	runtime create --pid-file "$WORK/pid" -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(cat "$WORK/victim")" precious "the symlink's target"
	[ ! -L "$WORK/pid" ] || fail "the pid file is still a symlink"
	assert_equal "$(cat "$WORK/pid")" "$(state_field "$CID" pid)" "the pid file"
}

# ---------------------------------------------------------- clone fallback

# Under Docker's default seccomp profile clone3 fails with ENOSYS; the init
# then comes from the legacy clone and must still be in its cgroup (with
# its limits) before it runs anything.
@test "with clone3 refused, the init is still placed in its cgroup" {
	requires python3
	/usr/bin/python3 -c 'import seccomp' 2>/dev/null || skip "needs python3-seccomp (Debian's /usr/bin/python3)"
	make_bundle "$BUNDLE"
	update_config '.linux.cgroupsPath = $p | .linux.resources = {pids: {limit: 42}}' --arg p "/$CID"
	track_cgroup "/$CID"
	timeout 60 /usr/bin/python3 "$LIB_DIR/no_clone3.py" "$RUNTIME" --root "$STATE_ROOT" run -d -b "$BUNDLE" "$CID" \
		</dev/null >/dev/null 3>&-
	local pid line bad=
	pid=$(state_field "$CID" pid)
	# Every hierarchy of the init names the container's cgroup.
	while IFS= read -r line; do
		case $line in *":/$CID") ;; *) bad+="$line " ;; esac
	done <"/proc/$pid/cgroup"
	[ -z "$bad" ] || fail "outside its cgroup in: $bad"
	run runtime exec "$CID" cat /proc/self/cgroup
	assert_success
}
