#!/usr/bin/env bats
# process: env, cwd, user (uid, gid, additionalGids, umask), rlimits,
# capabilities (all five sets), noNewPrivileges, oomScoreAdj, sysctl, and
# which fds reach the container (config.md "process", ENGINES.md fds).

load helpers

status_field() { # NAME: the container-side command printing one /proc/self/status line
	echo "grep '^$1:' /proc/self/status | cut -f2- | tr '\t' ' '"
}

@test "env is exactly the configured one" {
	make_bundle "$BUNDLE"
	update_config '.process.env = ["PATH=/bin", "FOO=bar baz", "EMPTY="]'
	run_sh 'env | sort'
	assert_success
	assert_line "FOO=bar baz"
	assert_line "EMPTY="
	assert_line "PATH=/bin"
	assert_output_not_contains "BATS"
}

@test "cwd is set, and created when missing" {
	make_bundle "$BUNDLE"
	update_config '.process.cwd = "/usr/bin"'
	run_sh 'pwd'
	assert_success
	assert_output /usr/bin
	update_config '.process.cwd = "/new/dir"'
	run_sh 'pwd'
	assert_success
	assert_output /new/dir
}

@test "a relative cwd is an error" {
	make_bundle "$BUNDLE"
	update_config '.process.cwd = "tmp"'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
}

@test "the container has no host cwd" {
	make_bundle "$BUNDLE"
	cd "$WORK"
	run_sh 'readlink /proc/self/cwd; ls /proc/self/cwd/ | head -n3'
	assert_success
	assert_equal "${lines[0]}" /
}

@test "user: uid, gid and additionalGids" {
	make_bundle "$BUNDLE"
	update_config '.process.user = {"uid":1000,"gid":1000,"additionalGids":[10,20,100]}'
	run_sh "$(status_field Uid); $(status_field Gid); $(status_field Groups); id -u; id -g"
	assert_success
	assert_equal "${lines[0]}" "1000 1000 1000 1000"
	assert_equal "${lines[1]}" "1000 1000 1000 1000"
	assert_equal "$(echo ${lines[2]})" "10 20 100"
	assert_equal "${lines[3]}" 1000
}

@test "user: without additionalGids the container has no supplementary groups" {
	make_bundle "$BUNDLE"
	update_config '.process.user = {"uid":0,"gid":0}'
	run_sh "$(status_field Groups)"
	assert_success
	assert_equal "$(echo $output)" ""
}

@test "user: umask" {
	make_bundle "$BUNDLE"
	update_config '.process.user.umask = 63' # 0077
	run_sh 'umask; touch /tmp/f; stat -c %a /tmp/f'
	assert_success
	assert_equal "${lines[0]}" 0077
	assert_equal "${lines[1]}" 600
}

@test "rlimits are applied, soft and hard" {
	make_bundle "$BUNDLE"
	update_config '.process.rlimits = [{"type":"RLIMIT_NOFILE","soft":1000,"hard":2000},{"type":"RLIMIT_CORE","soft":0,"hard":0},{"type":"RLIMIT_NPROC","soft":555,"hard":666}]'
	run_sh 'ulimit -n; grep -E "^Max (open files|core file size|processes)" /proc/self/limits'
	assert_success
	assert_equal "${lines[0]}" 1000
	assert_output_contains "$(printf 'Max open files            1000                 2000')"
	assert_output_contains "$(printf 'Max processes             555                  666')"
	assert_output_contains "$(printf 'Max core file size        0                    0')"
}

@test "an unknown rlimit type is an error" {
	make_bundle "$BUNDLE"
	update_config '.process.rlimits = [{"type":"RLIMIT_BOGUS","soft":1,"hard":1}]'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "RLIMIT_BOGUS"
}

@test "capabilities: all five sets for root" {
	make_bundle "$BUNDLE"
	# CAP_CHOWN (0) + CAP_KILL (5) = 0x21; CAP_NET_RAW (13) bounding only
	update_config '.process.capabilities = {
		"bounding":["CAP_CHOWN","CAP_KILL","CAP_NET_RAW"],
		"effective":["CAP_CHOWN","CAP_KILL"],
		"permitted":["CAP_CHOWN","CAP_KILL"],
		"inheritable":["CAP_CHOWN","CAP_KILL"],
		"ambient":["CAP_CHOWN"]}'
	run_sh "$(status_field CapInh); $(status_field CapPrm); $(status_field CapEff); $(status_field CapBnd); $(status_field CapAmb)"
	assert_success
	assert_equal "${lines[0]}" 0000000000000021 CapInh
	assert_equal "${lines[1]}" 0000000000000021 CapPrm
	assert_equal "${lines[2]}" 0000000000000021 CapEff
	assert_equal "${lines[3]}" 0000000000002021 CapBnd
	assert_equal "${lines[4]}" 0000000000000001 CapAmb
}

@test "capabilities: a non-root user keeps ambient capabilities across exec" {
	make_bundle "$BUNDLE"
	update_config '.process.user = {"uid":1000,"gid":1000}
		| .process.capabilities = {
		"bounding":["CAP_CHOWN","CAP_NET_BIND_SERVICE"],
		"effective":["CAP_NET_BIND_SERVICE"],
		"permitted":["CAP_NET_BIND_SERVICE"],
		"inheritable":["CAP_NET_BIND_SERVICE"],
		"ambient":["CAP_NET_BIND_SERVICE"]}'
	run_sh "$(status_field CapEff); $(status_field CapAmb); $(status_field Uid)"
	assert_success
	assert_equal "${lines[0]}" 0000000000000400 CapEff
	assert_equal "${lines[1]}" 0000000000000400 CapAmb
	assert_equal "${lines[2]}" "1000 1000 1000 1000"
}

@test "capabilities: none at all" {
	make_bundle "$BUNDLE"
	update_config '.process.capabilities = {"bounding":[],"effective":[],"permitted":[],"inheritable":[],"ambient":[]}'
	run_sh "$(status_field CapEff); $(status_field CapBnd); touch /tmp/x && chown 1:1 /tmp/x; echo rc=\$?"
	assert_success
	assert_equal "${lines[0]}" 0000000000000000
	assert_equal "${lines[1]}" 0000000000000000
	assert_line rc=1
}

@test "an unknown capability is an error naming it" {
	runc_differs "runc 1.1 ignores unknown capabilities"
	make_bundle "$BUNDLE"
	update_config '.process.capabilities.bounding += ["CAP_TEST"]'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "CAP_TEST"
	run runtime list -q
	assert_output ""
}

@test "noNewPrivileges true and false" {
	make_bundle "$BUNDLE"
	update_config '.process.noNewPrivileges = true'
	run_sh "$(status_field NoNewPrivs)"
	assert_success
	assert_output 1
	update_config '.process.noNewPrivileges = false'
	run_sh "$(status_field NoNewPrivs)"
	assert_success
	assert_output 0
}

@test "oomScoreAdj" {
	make_bundle "$BUNDLE"
	update_config '.process.oomScoreAdj = 789'
	run_sh 'cat /proc/self/oom_score_adj'
	assert_success
	assert_output 789
	[ "$(cat /proc/self/oom_score_adj)" != 789 ]
}

@test "sysctl in the container's network and ipc namespaces" {
	make_bundle "$BUNDLE"
	update_config '.linux.sysctl = {"net.ipv4.ip_forward":"1","kernel.shmmni":"1234","net.ipv4.ping_group_range":"0 0"}'
	host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	run_sh 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni; tr "\t" " " < /proc/sys/net/ipv4/ping_group_range'
	assert_success
	assert_equal "${lines[0]}" 1
	assert_equal "${lines[1]}" 1234
	assert_equal "${lines[2]}" "0 0"
	assert_equal "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "host ip_forward"
}

@test "a sysctl outside the container's namespaces is refused" {
	make_bundle "$BUNDLE"
	update_config '.linux.sysctl = {"kernel.pid_max":"40000"}'
	before=$(cat /proc/sys/kernel/pid_max)
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_equal "$(cat /proc/sys/kernel/pid_max)" "$before"
}

# The container's descriptors are listed from the host once its program is
# an idle `sleep`: listing them from a shell pipeline inside would race with
# the shell's own pipe descriptors.
container_fds() {
	local pid
	pid=$(state_field "$CID" pid)
	[ -n "$pid" ] && [ "$pid" -gt 0 ] || fail "no pid for $CID"
	ls "/proc/$pid/fd" | sort -n | tr "\n" " "
}

# start_created: start $CID and wait until its program is the idle sleep.
start_created() {
	local pid
	runtime start "$CID" || fail "start failed"
	pid=$(state_field "$CID" pid)
	retry 50 0.1 grep -qx sleep "/proc/$pid/comm" || fail "the container never reached its sleep"
}

@test "only fds 0-2 reach the container" {
	make_bundle "$BUNDLE"
	set_args sleep 30
	exec 5<"$BUNDLE/config.json" 7>"$WORK/junk" 9<&0
	runtime create -b "$BUNDLE" "$CID" </dev/null >"$WORK/out" 2>&1
	exec 5<&- 7>&- 9<&-
	start_created
	assert_equal "$(container_fds)" "0 1 2 "
}

@test "fd 3 from the caller (containerd's socket) does not leak in" {
	make_bundle "$BUNDLE"
	set_args sleep 30
	timeout -k 5 60 "$RUNTIME" --root "$STATE_ROOT" create -b "$BUNDLE" "$CID" 3<"$BUNDLE/config.json" </dev/null >"$WORK/out" 2>&1
	start_created
	assert_equal "$(container_fds)" "0 1 2 "
}

@test "--preserve-fds N passes fds 3..3+N-1" {
	make_bundle "$BUNDLE"
	echo three >"$WORK/f3"
	echo four >"$WORK/f4"
	set_args sh -c 'cat <&3; cat <&4; exec sleep 30'
	timeout -k 5 60 "$RUNTIME" --root "$STATE_ROOT" create --preserve-fds 2 -b "$BUNDLE" "$CID" \
		3<"$WORK/f3" 4<"$WORK/f4" 5<"$WORK/f4" </dev/null >"$WORK/out" 2>&1
	start_created
	assert_equal "$(container_fds)" "0 1 2 3 4 "
	assert_equal "$(cat "$WORK/out")" "three
four"
}

@test "LISTEN_FDS passes socket-activation fds" {
	make_bundle "$BUNDLE"
	echo three >"$WORK/f3"
	set_args sh -c 'cat <&3; echo "LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID"; exec sleep 30'
	# LISTEN_PID must be the runtime's own pid (runc checks it): no wrapper
	env LISTEN_FDS=1 sh -c 'export LISTEN_PID=$$; exec "$@"' sh \
		"$RUNTIME" --root "$STATE_ROOT" create -b "$BUNDLE" "$CID" 3<"$WORK/f3" </dev/null >"$WORK/out" 2>&1
	start_created
	assert_equal "$(container_fds)" "0 1 2 3 "
	assert_equal "$(cat "$WORK/out")" "three
LISTEN_FDS=1 LISTEN_PID=1"
}

@test "stdio fds are passed through untouched (pipes stay pipes)" {
	make_bundle "$BUNDLE"
	set_args sh -c 'readlink /proc/$$/fd/0; readlink /proc/$$/fd/1; read l; echo "got $l"'
	out=$(echo line-in | runtime run -b "$BUNDLE" "$CID" | cat)
	[[ $out == pipe:* ]] || fail "stdin is not a pipe: $out"
	[[ $out == *"got line-in"* ]] || fail "stdin not read: $out"
}

@test "personality LINUX32" {
	runc_differs "runc 1.1 does not support linux.personality"
	make_bundle "$BUNDLE"
	update_config '.linux.personality = {"domain":"LINUX32"}'
	run_sh 'uname -m'
	assert_success
	assert_output i686
}

@test "scheduler policy and ioPriority" {
	runc_differs "runc 1.1 does not support process.scheduler / ioPriority"
	make_bundle "$BUNDLE"
	update_config '.process.scheduler = {"policy":"SCHED_BATCH","nice":5} | .process.ioPriority = {"class":"IOPRIO_CLASS_BE","priority":6}'
	run_sh 'cut -d" " -f19,41 /proc/self/stat'
	assert_success
	# field 19 nice, field 41 policy (3 = SCHED_BATCH)
	assert_output "5 3"
}

@test "process.apparmorProfile on a host without AppArmor is an error naming it, and nothing is left" {
	[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && skip "AppArmor is enabled on this host"
	make_bundle "$BUNDLE" true
	update_config '.process.apparmorProfile = "acme_secure_profile"'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	is_runc || assert_output_contains "process.apparmorProfile"
	is_runc || assert_output_contains "AppArmor is not enabled"
	run runtime list -q
	assert_output ""
	# exec --apparmor asks the same of an exec'd process
	make_bundle "$BUNDLE" sleep 100
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run runtime exec --apparmor acme_secure_profile "$CID" true
	assert_failure
	is_runc || assert_output_contains "AppArmor is not enabled"
}

@test "process.selinuxLabel on a host without SELinux is an error; linux.mountLabel alone is ignored" {
	[ -e /sys/fs/selinux/enforce ] && skip "SELinux is enabled on this host"
	make_bundle "$BUNDLE" true
	update_config '.process.selinuxLabel = "system_u:system_r:container_t:s0"'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains -i "selinux"
	run runtime list -q
	assert_output ""
	runc_differs "runc 1.1 passes context= to the /dev tmpfs without SELinux and fails (EINVAL)"
	update_config 'del(.process.selinuxLabel) | .linux.mountLabel = "system_u:object_r:container_file_t:s0"'
	run_sh 'echo ran'
	assert_success
	assert_output ran
}

# The Rust runtime ignores SIGPIPE in berth itself, and callers (nohup, a
# script's background jobs) ignore or block signals: none of that may reach
# the container's program, which starts with default dispositions and an
# empty mask, so `yes | head -1` ends.
@test "signals: the program starts with default dispositions and an empty mask" {
	make_bundle "$BUNDLE" cat /proc/self/status
	run --separate-stderr python3 "$LIB_DIR/ignore_signals.py" \
		/usr/bin/timeout -k 5 60 "$RUNTIME" --root "$STATE_ROOT" run -b "$BUNDLE" "$CID" </dev/null 3>&-
	assert_success
	assert_line "SigBlk:	0000000000000000"
	local status_lines=$output
	run_sh 'yes | head -n 1'
	assert_success
	assert_output y
	output=$status_lines
	runc_differs "runc 1.1 leaves signal 32 ignored (Go's runtime cannot touch it)"
	assert_line "SigIgn:	0000000000000000"
}

@test "exec: signals start at their defaults too" {
	make_bundle "$BUNDLE"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null
	run --separate-stderr python3 "$LIB_DIR/ignore_signals.py" \
		/usr/bin/timeout -k 5 60 "$RUNTIME" --root "$STATE_ROOT" exec "$CID" cat /proc/self/status </dev/null 3>&-
	assert_success
	assert_line "SigBlk:	0000000000000000"
	runc_differs "runc 1.1 leaves signal 32 ignored (Go's runtime cannot touch it)"
	assert_line "SigIgn:	0000000000000000"
}

# A caller with almost no descriptors left (runc raises its soft limit, so
# must berth), and a container without RLIMIT_NOFILE of its own gets the
# caller's limit, not the runtime's raised one.
@test "a caller's low RLIMIT_NOFILE: create and exec work, the container gets the caller's limit" {
	make_bundle "$BUNDLE"
	update_config 'del(.process.rlimits)'
	bash -c 'ulimit -Sn 5; exec "$@"' _ timeout -k 5 60 "$RUNTIME" --root "$STATE_ROOT" run -d -b "$BUNDLE" "$CID" \
		</dev/null >/dev/null 3>&-
	run bash -c 'ulimit -Sn 5; exec "$@"' _ timeout -k 5 60 "$RUNTIME" --root "$STATE_ROOT" exec "$CID" sh -c 'ulimit -n' \
		</dev/null 3>&-
	assert_success
	runc_differs "runc 1.1 gives the container its own raised limit"
	assert_output 5
	pid=$(state_field "$CID" pid)
	assert_equal "$(awk '/Max open files/ {print $4}' "/proc/$pid/limits")" 5 "the init's soft limit"
}
