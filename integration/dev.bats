#!/usr/bin/env bats
# /dev: default devices, pts/ptmx, fd and std* links, linux.devices,
# maskedPaths and readonlyPaths (config-linux.md "Default Devices", "Devices").

load helpers

@test "default devices exist with the right numbers and modes" {
	make_bundle "$BUNDLE"
	run_sh 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a" /dev/$d; done'
	assert_success
	assert_line "/dev/null character special file 1:3 666"
	assert_line "/dev/zero character special file 1:5 666"
	assert_line "/dev/full character special file 1:7 666"
	assert_line "/dev/random character special file 1:8 666"
	assert_line "/dev/urandom character special file 1:9 666"
	assert_line "/dev/tty character special file 5:0 666"
}

@test "default devices work" {
	make_bundle "$BUNDLE"
	run_sh 'echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1 && head -c 8 /dev/urandom | wc -c && echo full > /dev/full; echo rc=$?'
	assert_success
	assert_line " 00 00 00 00"
	assert_line 8
	assert_output_not_contains "rc=0"
}

@test "/dev/pts, /dev/ptmx, /dev/fd and /dev/std* links" {
	make_bundle "$BUNDLE"
	run_sh 'readlink /dev/fd; readlink /dev/stdin; readlink /dev/stdout; readlink /dev/stderr; readlink /dev/ptmx || stat -c "%t:%T" /dev/ptmx; grep -c " /dev/pts " /proc/self/mountinfo; ls /dev/pts'
	assert_success
	assert_equal "${lines[0]}" /proc/self/fd
	assert_equal "${lines[1]}" /proc/self/fd/0
	assert_equal "${lines[2]}" /proc/self/fd/1
	assert_equal "${lines[3]}" /proc/self/fd/2
	[ "${lines[4]}" = pts/ptmx ] || [ "${lines[4]}" = /dev/pts/ptmx ] || [ "${lines[4]}" = 5:2 ] || fail "ptmx: ${lines[4]}"
	assert_equal "${lines[5]}" 1 "devpts mounts"
	assert_line ptmx
}

@test "a pty can be opened through /dev/ptmx" {
	make_bundle "$BUNDLE"
	run_sh 'exec 5<>/dev/ptmx && ls /dev/pts'
	assert_success
	assert_line 0
}

@test "/dev/shm is writable and /dev/mqueue is mounted" {
	make_bundle "$BUNDLE"
	run_sh 'echo x > /dev/shm/f && cat /dev/shm/f && grep -c " /dev/mqueue " /proc/self/mountinfo'
	assert_success
	assert_equal "${lines[0]}" x
	assert_equal "${lines[1]}" 1
}

@test "linux.devices: character and block nodes with mode, uid and gid" {
	make_bundle "$BUNDLE"
	update_config '.linux.devices = [
		{"path":"/dev/mychar","type":"c","major":1,"minor":3,"fileMode":438,"uid":1000,"gid":100},
		{"path":"/dev/sub/myblk","type":"b","major":7,"minor":200,"fileMode":384,"uid":0,"gid":0},
		{"path":"/dev/myfifo","type":"p","fileMode":420}]
		| .linux.resources.devices += [{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"}]'
	run_sh 'stat -c "%n %F %t:%T %a %u:%g" /dev/mychar /dev/sub/myblk; stat -c "%n %F %a" /dev/myfifo; echo data > /dev/mychar && echo write-ok'
	assert_success
	assert_line "/dev/mychar character special file 1:3 666 1000:100"
	assert_line "/dev/sub/myblk block special file 7:c8 600 0:0"
	assert_line "/dev/myfifo fifo 644"
	assert_line "write-ok"
}

@test "linux.devices with a relative path is an error" {
	runc_differs "runc 1.1 accepts a relative device path"
	make_bundle "$BUNDLE"
	update_config '.linux.devices = [{"path":"dev/rel","type":"c","major":1,"minor":3}]'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
}

@test "a /dev node in the rootfs that is a symlink to a host file is not followed" {
	# a command that ends: the container is a session of its own, which
	# timeout(1) no longer kills along with the runtime
	make_bundle "$BUNDLE" true
	echo secret >"$WORK/hostfile"
	# the runtime mounts a tmpfs on /dev (default spec), so rootfs/dev content
	# is hidden; but a linux.devices node whose parent is a link must not land
	# on the host
	ln -s "$WORK" "$BUNDLE/rootfs/evil"
	update_config '.mounts |= map(select(.destination != "/dev"))
		| .linux.devices = [{"path":"/evil/node","type":"c","major":1,"minor":3,"fileMode":438}]'
	run runtime run -b "$BUNDLE" "$CID" </dev/null
	[ ! -e "$WORK/node" ] || fail "device node created on the host"
	assert_equal "$(cat "$WORK/hostfile")" secret
}

@test "maskedPaths: files read empty, directories are empty, host unaffected" {
	make_bundle "$BUNDLE"
	mkdir -p "$BUNDLE/rootfs/secretdir"
	echo s >"$BUNDLE/rootfs/secretdir/f"
	echo s >"$BUNDLE/rootfs/etc/secret"
	pf=$(ls -d /proc/kcore /proc/keys /proc/timer_list 2>/dev/null | head -n1)
	update_config '.linux.maskedPaths += ["/etc/secret", "/secretdir", $pf, "/does/not/exist"]' --arg pf "$pf"
	run_sh 'wc -c < /etc/secret; ls -A /secretdir | wc -l; cat '"$pf"' | wc -c'
	assert_success
	assert_equal "${lines[0]}" 0 "masked file size"
	assert_equal "${lines[1]}" 0 "masked dir entries"
	assert_equal "${lines[2]}" 0 "$pf size"
	assert_equal "$(cat "$BUNDLE/rootfs/etc/secret")" s
}

@test "readonlyPaths: writes fail, reads work" {
	make_bundle "$BUNDLE"
	update_config '.linux.readonlyPaths += ["/etc", "/proc/sys", "/does/not/exist"]'
	run_sh 'cat /etc/hostname; touch /etc/new 2>&1; echo 1 > /proc/sys/kernel/ns_last_pid 2>&1; touch /tmp/ok && echo tmp-writable'
	assert_success
	assert_equal "${lines[0]}" berth-test
	assert_output_contains "Read-only file system"
	assert_line tmp-writable
	[ ! -e "$BUNDLE/rootfs/etc/new" ]
}

@test "a masked path that is a symlink in the rootfs does not mask a host file" {
	make_bundle "$BUNDLE"
	echo keep >"$WORK/hostfile"
	ln -s "$WORK/hostfile" "$BUNDLE/rootfs/etc/linkfile"
	update_config '.linux.maskedPaths += ["/etc/linkfile"] | .linux.readonlyPaths += ["/etc/linkfile"]'
	run runtime run -b "$BUNDLE" "$CID" </dev/null
	run mounts_under "$WORK/hostfile"
	assert_output ""
	assert_equal "$(cat "$WORK/hostfile")" keep
}
