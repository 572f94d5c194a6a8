#!/usr/bin/env bats
# Signals to a foreground `run` or `exec` (issue 15): forwarded to the
# container's process, also when they arrive while the container is still
# being created (which must leave no half-made container), and also when
# the caller set them to SIG_IGN (nohup, a script's background job).
#
# The containers here have no pid namespace of their own: their init is
# then an ordinary process whose default action for TERM/INT/HUP is to
# die, so a forwarded signal is seen in the exit status (128 + signal)
# without the race of a trap not yet installed.

load helpers

setup() {
	common_setup
	CGPATH=/berth-it-$CID
	track_cgroup "$CGPATH"
}

# no_pidns: the bundle's container shares the host's pid namespace.
no_pidns() {
	update_config '.linux.namespaces |= map(select(.type != "pid")) | .linux.cgroupsPath = $p' --arg p "$CGPATH"
}

# gone ID: no state, no state dir, no cgroup left.
assert_gone() {
	run runtime state "$1"
	assert_failure
	if [ -d "$STATE_ROOT" ]; then
		run ls -A "$STATE_ROOT"
		assert_output ""
	fi
	run cgroup_dirs "$CGPATH"
	assert_output ""
}

# bg_runtime OUT ARGS...: the runtime in the background, straight (no
# `timeout` wrapper, so that signals reach it); sets RT to its pid.
bg_runtime() {
	local out=$1
	shift
	"$RUNTIME" --root "$STATE_ROOT" "$@" </dev/null >"$out" 2>&1 3>&- &
	RT=$!
	track_pid "$RT"
}

# wait_exit PID: wait (at most 60 s) for a background job; sets RC.
wait_exit() {
	retry 600 0.1 eval "! kill -0 $1 2>/dev/null || grep -q '^State:.*Z' /proc/$1/status 2>/dev/null" ||
		fail "process $1 did not exit"
	RC=0
	wait "$1" || RC=$?
}

# hook_gate: a prestart hook that says it runs and then waits for $WORK/go,
# holding the runtime in the middle of create.
hook_gate() {
	update_config '.hooks.prestart = [{"path":"/bin/sh","args":["sh","-c","cat >/dev/null; touch \"$0/in-hook\"; while [ ! -e \"$0/go\" ]; do sleep 0.05; done", $w]}]' --arg w "$WORK"
}

@test "a signal to a foreground run while it creates the container is forwarded once it runs; nothing is left" {
	make_bundle "$BUNDLE" sleep 3600
	no_pidns
	hook_gate
	# (SIGINT: see the SIG_IGN test; a script's background job ignores it)
	for sig in TERM HUP; do
		rm -f "$WORK/in-hook" "$WORK/go"
		bg_runtime "$WORK/out" run -b "$BUNDLE" "$CID"
		retry 300 0.1 test -e "$WORK/in-hook" || fail "$sig: the prestart hook never ran" "$(cat "$WORK/out")"
		kill -"$sig" "$RT"
		# the runtime must still be there, holding the signal, not dead
		# half-way through create
		kill -0 "$RT" || fail "$sig: the runtime died during create"
		touch "$WORK/go"
		wait_exit "$RT"
		assert_equal "$RC" "$((128 + $(kill -l "$sig")))" "$sig: exit status of run"
		assert_gone "$CID"
	done
}

@test "a foreground run forwards signals to the running container and exits with its status" {
	make_bundle "$BUNDLE" sleep 3600
	no_pidns
	bg_runtime "$WORK/out" run -b "$BUNDLE" "$CID"
	wait_status "$CID" running
	kill -USR1 "$RT"
	wait_exit "$RT"
	assert_equal "$RC" "$((128 + $(kill -l USR1)))" "exit status of run"
	assert_gone "$CID"
}

@test "a foreground exec forwards signals to its process" {
	make_bundle "$BUNDLE" sleep 3600
	no_pidns
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	bg_runtime "$WORK/out" exec "$CID" sleep 3600
	retry 100 0.1 eval "pgrep -P $RT >/dev/null" || fail "exec's process never appeared" "$(cat "$WORK/out")"
	kill -TERM "$RT"
	wait_exit "$RT"
	assert_equal "$RC" 143 "exit status of exec"
	assert_equal "$(state_field "$CID" status)" running "the container itself"
}

@test "signals the caller ignored (nohup, background jobs) are still forwarded" {
	make_bundle "$BUNDLE" sleep 3600
	no_pidns
	for sig in HUP INT; do
		(
			trap '' "$sig"
			exec "$RUNTIME" --root "$STATE_ROOT" run -b "$BUNDLE" "$CID" </dev/null >"$WORK/out" 2>&1 3>&-
		) &
		RT=$!
		track_pid "$RT"
		wait_status "$CID" running
		pid=$(state_field "$CID" pid)
		bit=$((1 << ($(kill -l "$sig") - 1)))
		if (($(printf '%d' "0x$(awk '/^SigIgn:/ {print $2}' "/proc/$pid/status")") & bit)); then
			runtime delete --force "$CID"
			wait_exit "$RT"
			skip "the container program inherits the caller's SIG_IGN (reset before its exec is the other half of issue 15)"
		fi
		kill -"$sig" "$RT"
		wait_exit "$RT"
		assert_equal "$RC" "$((128 + $(kill -l "$sig")))" "$sig: exit status of run"
		assert_gone "$CID"
	done
}

@test "a signal to create or run -d while they create the container: it is removed, the runtime exits 128+n" {
	runc_differs "runc 1.1 ignores the signal during create and leaves a created container"
	make_bundle "$BUNDLE" sleep 3600
	no_pidns
	hook_gate
	for verb in create "run -d"; do
		for sig in TERM HUP; do
			rm -f "$WORK/in-hook" "$WORK/go"
			# shellcheck disable=SC2086 # the verb is two words
			bg_runtime "$WORK/out" $verb -b "$BUNDLE" "$CID"
			retry 300 0.1 test -e "$WORK/in-hook" || fail "$verb/$sig: the prestart hook never ran" "$(cat "$WORK/out")"
			kill -"$sig" "$RT"
			kill -0 "$RT" || fail "$verb/$sig: the runtime died during create"
			touch "$WORK/go"
			wait_exit "$RT"
			assert_equal "$RC" "$((128 + $(kill -l "$sig")))" "$verb/$sig: exit status"
			grep -q "interrupted by SIG$sig" "$WORK/out" || fail "$verb/$sig: no word on why" "$(cat "$WORK/out")"
			assert_gone "$CID"
		done
	done
}
