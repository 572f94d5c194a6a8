#!/usr/bin/env bats
# linux.seccomp: actions, errnoRet, argument conditions, default action, and
# the profile being the last thing installed before exec (config-linux.md).

load helpers

# seccomp JSON: set linux.seccomp (architectures native).
set_seccomp() { update_config ".linux.seccomp = $1"; }

@test "SCMP_ACT_ERRNO with the default errno (EPERM)" {
	make_bundle "$BUNDLE"
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
		"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	run_sh 'mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touch-ok'
	assert_success
	assert_output_contains "Operation not permitted"
	assert_line touch-ok
}

@test "SCMP_ACT_ERRNO with errnoRet" {
	make_bundle "$BUNDLE"
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}'
	run_sh 'mkdir /tmp/d 2>&1'
	assert_output_contains "Permission denied"
}

@test "defaultErrnoRet applies to the default action" {
	make_bundle "$BUNDLE"
	set_seccomp '{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[]}'
	update_config '.linux.seccomp.syscalls = [{"names":$n,"action":"SCMP_ACT_ALLOW"}]' --argjson n "$(allowed_syscalls)"
	run_sh 'mkdir /tmp/d 2>&1; echo done'
	assert_output_contains "Function not implemented"
	assert_line done
}

# A generous allow-list for a busybox shell (everything but mkdir/mkdirat).
allowed_syscalls() {
	printf '%s\n' read write open openat close stat fstat lstat newfstatat statx poll lseek mmap mprotect munmap brk \
		rt_sigaction rt_sigprocmask rt_sigreturn ioctl pread64 readv writev access faccessat faccessat2 pipe pipe2 \
		dup dup2 dup3 getpid getppid getuid geteuid getgid getegid gettid fork vfork clone clone3 execve execveat \
		exit exit_group wait4 waitid kill tgkill fcntl getcwd chdir fchdir getdents getdents64 uname \
		arch_prctl prctl set_tid_address set_robust_list rseq futex getrandom sysinfo readlink readlinkat \
		sigaltstack getpgrp setpgid getpgid getsid setsid umask getrlimit prlimit64 nanosleep clock_nanosleep \
		clock_gettime gettimeofday time times select pselect6 ppoll epoll_create1 epoll_ctl epoll_wait \
		madvise mremap fadvise64 sched_getaffinity sched_yield capget capset setuid setgid setgroups \
		close_range fstatfs statfs | jq -R . | jq -sc .
}

@test "SCMP_ACT_KILL kills the process with SIGSYS" {
	make_bundle "$BUNDLE"
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chroot"],"action":"SCMP_ACT_KILL"}]}'
	# (busybox runs applets in-process: exec one in a subshell)
	run_sh '(exec chroot / true); echo rc=$?'
	assert_success
	assert_line rc=159
}

@test "SCMP_ACT_KILL_PROCESS and SCMP_ACT_TRAP" {
	make_bundle "$BUNDLE"
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
		{"names":["chroot"],"action":"SCMP_ACT_KILL_PROCESS"},
		{"names":["sync"],"action":"SCMP_ACT_TRAP"}]}'
	run_sh '(exec chroot / true); echo rc=$?; (exec sync); echo rc=$?'
	assert_success
	assert_line rc=159
	[ "${lines[1]}" = rc=159 ] || fail "trap: ${lines[1]}"
}

@test "argument conditions: kill(pid, SIGUSR1) denied, kill(pid, 0) allowed" {
	make_bundle "$BUNDLE"
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO",
		"args":[{"index":1,"value":10,"op":"SCMP_CMP_EQ"}]}]}'
	run_sh 'kill -0 $$ && echo sig0-ok; kill -USR1 $$ 2>&1; echo rc=$?'
	assert_success
	assert_line sig0-ok
	assert_output_contains "Operation not permitted"
}

@test "argument conditions: SCMP_CMP_MASKED_EQ and several args (all must match)" {
	make_bundle "$BUNDLE"
	# deny kill only when sig == 10 AND pid & 0 == 0 (always): same as above,
	# but through MASKED_EQ and two conditions
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":1,
		"args":[{"index":1,"value":10,"op":"SCMP_CMP_EQ"},{"index":0,"value":0,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}'
	run_sh 'kill -USR2 $$ 2>&1; trap "" USR2; kill -USR1 $$ 2>&1; echo rc=$?'
	assert_output_contains "Operation not permitted"
}

@test "a getcwd errno profile still lets the container start" {
	runc_differs "runc 1.1 calls getcwd after installing the profile and fails create"
	make_bundle "$BUNDLE"
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
	# /bin/pwd as its own process: busybox sh's builtin pwd may not call getcwd
	run_sh 'cd /tmp && /bin/pwd -P 2>&1; echo rc=$?'
	assert_success
	assert_line rc=1
	assert_output_contains "Operation not permitted"
}

@test "the default runtime-tools style profile (defaultAction ERRNO) runs a shell" {
	make_bundle "$BUNDLE"
	set_seccomp '{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[]}'
	update_config '.linux.seccomp.syscalls = [{"names":$n,"action":"SCMP_ACT_ALLOW"}]' --argjson n "$(allowed_syscalls)"
	run_sh 'echo alive'
	assert_success
	assert_output alive
}

@test "an unknown syscall name is ignored, an unknown action is an error" {
	make_bundle "$BUNDLE"
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["no_such_syscall_xyz"],"action":"SCMP_ACT_ERRNO"}]}'
	run_sh 'echo ok'
	assert_success
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_BOGUS"}]}'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
}

@test "seccomp with noNewPrivileges false still installs (root has CAP_SYS_ADMIN at install time)" {
	make_bundle "$BUNDLE"
	update_config '.process.noNewPrivileges = false'
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	run_sh 'grep NoNewPrivs /proc/self/status; grep Seccomp: /proc/self/status; mkdir /tmp/d 2>&1; true'
	assert_success
	assert_output_contains "Operation not permitted"
	assert_line "$(printf 'Seccomp:\t2')"
}

# start_agent ERRNO: lib/seccomp_agent.py on $WORK/agent.sock, logging to
# $WORK/agent/ (state.N.json per listener, `calls`), answering -ERRNO.
start_agent() {
	mkdir -p "$WORK/agent"
	python3 "$BATS_TEST_DIRNAME/lib/seccomp_agent.py" "$WORK/agent.sock" "$WORK/agent" "$1" </dev/null >"$WORK/agent/log" 2>&1 3>&- &
	track_pid $!
	retry 100 0.05 test -S "$WORK/agent.sock" || fail "seccomp agent did not start: $(cat "$WORK/agent/log")"
}

notify_mkdir_profile() { # LISTENER_PATH
	set_seccomp "$(jq -nc --arg p "$1" '{defaultAction:"SCMP_ACT_ALLOW",listenerPath:$p,listenerMetadata:"meta=1",
		syscalls:[{names:["mkdir","mkdirat"],action:"SCMP_ACT_NOTIFY"}]}')"
}

@test "SCMP_ACT_NOTIFY: the agent at listenerPath gets the process state and the listener, and answers" {
	requires python3
	start_agent 18 # EXDEV
	make_bundle "$BUNDLE"
	notify_mkdir_profile "$WORK/agent.sock"
	run_sh 'mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touch-ok'
	assert_success
	assert_output_contains "cross-device link"
	assert_line touch-ok
	# one connection, one state: config-linux.md "The Container Process State"
	local st=$WORK/agent/state.1.json
	[ -f "$st" ] || fail "the agent got no state"
	[ ! -e "$WORK/agent/state.2.json" ] || fail "more than one state sent"
	assert_equal "$(jq -c .fds "$st")" '["seccompFd"]' fds
	assert_equal "$(jq -r .metadata "$st")" "meta=1" metadata
	assert_equal "$(jq -r .state.id "$st")" "$CID" state.id
	assert_equal "$(jq -r .state.status "$st")" creating state.status
	assert_equal "$(jq -r .state.bundle "$st")" "$BUNDLE" state.bundle
	assert_equal "$(jq -r '.pid == .state.pid and .pid > 0' "$st")" true "pid is the init's"
	[ -n "$(jq -r .ociVersion "$st")" ] || fail "no ociVersion"
	# the notified call was mkdir (83) or mkdirat (258)
	grep -Eq '^(83|258) ' "$WORK/agent/calls" || fail "agent saw: $(cat "$WORK/agent/calls")"
}

@test "SCMP_ACT_NOTIFY with exec: the exec'd process's listener reaches the agent too" {
	requires python3
	start_agent 18
	make_bundle "$BUNDLE"
	notify_mkdir_profile "$WORK/agent.sock"
	set_args sleep 1000
	runtime create -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	runtime start "$CID"
	run runtime exec "$CID" sh -c 'mkdir /tmp/e 2>&1; echo rc=$?'
	assert_success
	assert_output_contains "cross-device link"
	local st=$WORK/agent/state.2.json
	[ -f "$st" ] || fail "the agent got no state for the exec'd process"
	assert_equal "$(jq -r .state.status "$st")" running state.status
	assert_equal "$(jq -r .state.pid "$st")" "$(state_field "$CID" pid)" "state.pid is the init's"
	[ "$(jq -r .pid "$st")" != "$(jq -r .state.pid "$st")" ] || fail "pid should be the exec'd process"
}

@test "SCMP_ACT_NOTIFY with noNewPrivileges false loads the filter and hands it over as well" {
	requires python3
	start_agent 18
	make_bundle "$BUNDLE"
	update_config '.process.noNewPrivileges = false'
	notify_mkdir_profile "$WORK/agent.sock"
	run_sh 'mkdir /tmp/d 2>&1; echo rc=$?'
	assert_success
	assert_output_contains "cross-device link"
}

@test "a listenerPath nobody listens on fails create, names the path, and leaves nothing" {
	make_bundle "$BUNDLE"
	notify_mkdir_profile "$WORK/nobody.sock"
	set_args true
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "$WORK/nobody.sock"
	assert_output_contains -i "no such file"
	run runtime list -q
	assert_output ""
	[ -z "$(cgroup_dirs "/$CID")" ] || fail "cgroup left: $(cgroup_dirs "/$CID")"
}

@test "SCMP_ACT_NOTIFY without listenerPath is an error before anything is created" {
	make_bundle "$BUNDLE"
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "listenerPath"
	run runtime list -q
	assert_output ""
}

# add_socketcall32: lib/socketcall32.c (a static i386 program without libc that
# makes socket and SysV IPC calls both through socketcall(2)/ipc(2) and
# directly) built into $BUNDLE/rootfs/socketcall32; skips when this host cannot
# build or run 32-bit x86 programs.
add_socketcall32() {
	command -v cc >/dev/null || skip "needs a C compiler (Debian package gcc)"
	cc -m32 -static -nostdlib -ffreestanding -fno-pic -fno-stack-protector -O2 \
		-o "$BUNDLE/rootfs/socketcall32" "$LIB_DIR/socketcall32.c" 2>"$WORK/cc.err" ||
		skip "cannot build a 32-bit x86 program: $(head -c 300 "$WORK/cc.err")"
}

# The multiplexers: a 32-bit process need not call socket(2) to make a socket.
x86_profile='{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
	"syscalls":[{"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":72},
		{"names":["shmget"],"action":"SCMP_ACT_ERRNO","errnoRet":72}]}'

@test "x86 (32-bit): without a profile, socketcall(2) and ipc(2) make sockets and shm segments" {
	make_bundle "$BUNDLE"
	add_socketcall32
	run_sh '/socketcall32'
	[ "$status" -ne 139 ] && [ "$status" -ne 126 ] || skip "this kernel does not run 32-bit x86 programs (IA32 emulation)"
	assert_success
	for how in socketcall-socket socket socketcall-socketpair socketpair ipc-shmget shmget; do
		grep -Eq "^$how [0-9]+\$" <<<"$output" || fail "$how failed unfiltered" "output: $output"
	done
}

@test "x86 (32-bit): a profile denying socket and shmget denies socketcall(SYS_SOCKET) and ipc(SHMGET) too" {
	make_bundle "$BUNDLE"
	add_socketcall32
	set_seccomp "$x86_profile"
	run_sh '/socketcall32'
	[ "$status" -ne 139 ] && [ "$status" -ne 126 ] || skip "this kernel does not run 32-bit x86 programs (IA32 emulation)"
	assert_success
	# EMULTIHOP (72), both ways in
	assert_line "socketcall-socket -72"
	assert_line "socket -72"
	assert_line "ipc-shmget -72"
	assert_line "shmget -72"
	# other socket calls are not touched
	assert_line "socketcall-socketpair 0"
	assert_line "socketpair 0"
}

@test "x86 (32-bit): a profile that does not list SCMP_ARCH_X86 kills 32-bit programs" {
	make_bundle "$BUNDLE"
	add_socketcall32
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["socket"],"action":"SCMP_ACT_ERRNO"}]}'
	run_sh '/socketcall32; echo rc=$?'
	assert_success
	# SIGSYS (libseccomp's bad-arch action): no socket gets made
	assert_line rc=159
	assert_output_not_contains "socket"
}
