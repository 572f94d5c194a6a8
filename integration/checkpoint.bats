#!/usr/bin/env bats
# checkpoint and restore with CRIU (runc 1.1's verbs and flags). Needs a CRIU
# that works on this kernel (`make criu`; $CRIU overrides): without one the
# tests skip saying so. The runtime gets it with the global --criu flag.

load helpers

# A counter whose value lives only in the shell's memory; each step is
# written over /tmp/count (never renamed: CRIU restores open files by path).
COUNTER='i=0; while :; do echo $i > /tmp/count; i=$((i+1)); sleep 0.1; done'

cr() { runtime --criu "$CRIU" "$@"; }

# count: the counter's last value (retried over an empty, half-written file).
count() {
	local v i
	for ((i = 0; i < 50; i++)); do
		v=$(cat "${1:-$BUNDLE}/rootfs/tmp/count" 2>/dev/null)
		[ -n "$v" ] && { echo "$v"; return; }
		sleep 0.02
	done
	echo -1
}

# wait_count_above N [BUNDLE]: until the counter is above N (10 s at most).
wait_count_above() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(count "${2:-}")" -gt "$1" ] && return 0
		sleep 0.05
	done
	fail "counter stuck at $(count "${2:-}"), wanted above $1"
}

# lines FILE: its number of lines (0 while it does not exist).
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# wait_lines FILE N: until FILE has more than N lines (10 s at most).
wait_lines() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(lines "$1")" -gt "$2" ] && return 0
		sleep 0.05
	done
	fail "$1: $(lines "$1") lines, wanted more than $2" "$(tail -n3 "$1" 2>/dev/null)"
}

# counter_container: $CID runs COUNTER detached, in cgroup /berth-it-$CID.
counter_container() {
	make_bundle "$WORK/bundle" sh -c "$COUNTER"
	update_config '.linux.cgroupsPath = $p' --arg p "/berth-it-$CID"
	track_cgroup "/berth-it-$CID"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	wait_count_above 2
}

# nothing_left ID CGROUP: no state, no cgroup, no criu-root mount.
nothing_left() {
	run runtime state "$1"
	assert_failure
	[ -z "$(cgroup_dirs "$2")" ] || fail "cgroup left behind: $(cgroup_dirs "$2")"
	[ -z "$(mounts_under "$STATE_ROOT")" ] || fail "mounts left behind: $(mounts_under "$STATE_ROOT")"
}

teardown() {
	local p n
	for p in $(cat "$WORK/.pgids" 2>/dev/null); do kill -KILL -- "-$p" 2>/dev/null; done
	for n in $(cat "$WORK/.netns" 2>/dev/null); do ip netns del "$n" 2>/dev/null; done
	common_teardown
}

@test "checkpoint --help exits 0 (podman's probe for checkpoint support)" {
	run runtime checkpoint --help
	assert_success
	assert_output_contains "--image-path"
}

@test "a checkpointed container is gone; restored, it counts on from where it was" {
	requires criu
	counter_container
	run cr checkpoint --image-path "$WORK/image" --work-path "$WORK/work" "$CID"
	assert_success
	[ -f "$WORK/work/dump.log" ] || fail "no dump.log in --work-path"
	# gone: no state, no cgroup, nothing counting
	nothing_left "$CID" "/berth-it-$CID"
	last=$(count)
	sleep 0.3
	assert_equal "$(count)" "$last" "counter while checkpointed"
	# what podman does next
	run runtime delete --force "$CID"
	assert_success

	cr restore -b "$BUNDLE" -d --image-path "$WORK/image" --work-path "$WORK/work" --pid-file "$WORK/pid" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(state_field "$CID" status)" running
	pid=$(state_field "$CID" pid)
	assert_equal "$(cat "$WORK/pid")" "$pid" "pid file"
	grep -q "/berth-it-$CID\$" "/proc/$pid/cgroup" || fail "restored init not in its cgroup: $(cat "/proc/$pid/cgroup")"
	# the shell's memory came back: no restart from 0
	wait_count_above "$last"
	# the init is the same process inside: still pid 1, still the counter
	run runtime exec "$CID" cat /proc/1/cmdline
	assert_success
	assert_output_contains 'i=$((i+1))'
}

@test "checkpoint --leave-running, then restore from a copy of the bundle under a new id" {
	requires criu
	counter_container
	before=$(count)
	run cr checkpoint --leave-running --image-path "$WORK/image" "$CID"
	assert_success
	assert_equal "$(state_field "$CID" status)" running
	wait_count_above "$(count)"

	cp -a "$WORK/bundle" "$WORK/copy"
	rm -f "$WORK/copy/rootfs/tmp/count"
	BUNDLE=$WORK/copy update_config '.linux.cgroupsPath = $p' --arg p "/berth-it-$CID-2"
	track_cgroup "/berth-it-$CID-2"
	cr restore -d -b "$WORK/copy" --image-path "$WORK/image" "$CID-2" </dev/null >/dev/null 2>&1
	assert_equal "$(state_field "$CID-2" status)" running
	assert_equal "$(state_field "$CID" status)" running
	pid=$(state_field "$CID-2" pid)
	grep -q "/berth-it-$CID-2\$" "/proc/$pid/cgroup" || fail "not in the new cgroup: $(cat "/proc/$pid/cgroup")"
	wait_count_above "$before" "$WORK/copy"
	assert_equal "$(state_field "$CID-2" bundle)" "$WORK/copy"
}

@test "a foreground restore gets its stdio pipes back and exits with the container's status" {
	requires criu
	make_bundle "$WORK/bundle" sh -c 'i=0; while [ $i -lt 30 ]; do echo $i; i=$((i+1)); sleep 0.1; done; exit 3'
	runtime run -d -b "$BUNDLE" "$CID" </dev/null 2>/dev/null > >(cat >"$WORK/out1")
	wait_lines "$WORK/out1" 4
	run cr checkpoint --image-path "$WORK/image" "$CID"
	assert_success
	last=$(tail -n1 "$WORK/out1")
	run --separate-stderr cr restore -b "$BUNDLE" --image-path "$WORK/image" "$CID" </dev/null
	assert_failure 3
	assert_equal "$(head -n1 <<<"$output")" "$((last + 1))" "first line after restore"
	assert_equal "$(tail -n1 <<<"$output")" 29 "last line"
	run runtime state "$CID"
	assert_failure
}

@test "an established TCP connection to a peer outside survives with --tcp-established; without it checkpoint fails" {
	requires criu
	ns=bt-$$-$BATS_SUITE_TEST_NUMBER
	ip netns add "$ns" && echo "$ns" >>"$WORK/.netns"
	ip -n "$ns" link set lo up
	make_bundle "$WORK/bundle" nc -l -p 7007 -e cat
	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' --arg p "/run/netns/$ns"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	retry 100 0.05 sh -c "ip netns exec $ns ss -Hltn | grep -q :7007"
	# the peer: numbers sent one by one, the echoes written to a file
	setsid ip netns exec "$ns" sh -c 'i=0; while [ $i -lt 900 ]; do echo $i; i=$((i+1)); sleep 0.1; done | busybox nc 127.0.0.1 7007 >"$1"' _ "$WORK/echo" &
	echo $! >>"$WORK/.pgids"
	wait_lines "$WORK/echo" 2

	run cr checkpoint --image-path "$WORK/image1" "$CID"
	assert_failure
	if ! is_runc; then assert_output_contains "tcp-established"; fi
	assert_equal "$(state_field "$CID" status)" running
	wait_lines "$WORK/echo" "$(($(lines "$WORK/echo") + 2))"

	run cr checkpoint --tcp-established --image-path "$WORK/image" "$CID"
	assert_success
	cr restore -b "$BUNDLE" -d --tcp-established --image-path "$WORK/image" "$CID" </dev/null >/dev/null 2>&1
	wait_lines "$WORK/echo" "$(($(lines "$WORK/echo") + 5))"
	# one connection throughout: every number came back, in order
	awk 'NR - 1 != $0 { print "line " NR ": " $0; exit 1 }' "$WORK/echo"
}

@test "a TCP connection inside the container's own network namespace survives (loopback restored)" {
	requires criu
	runc_differs "runc restores a container's own network namespace empty (loopback down)"
	make_bundle "$WORK/bundle" sh -c 'ip link set lo up; nc -l -p 7007 -e cat & sleep 0.3; i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done | nc 127.0.0.1 7007 >/tmp/echo'
	update_config '.process.capabilities.bounding += ["CAP_NET_ADMIN"] | .process.capabilities.effective += ["CAP_NET_ADMIN"] | .process.capabilities.permitted += ["CAP_NET_ADMIN"]'
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	echo_file=$BUNDLE/rootfs/tmp/echo
	wait_lines "$echo_file" 2
	run cr checkpoint --tcp-established --image-path "$WORK/image" "$CID"
	assert_success
	cr restore -b "$BUNDLE" -d --tcp-established --image-path "$WORK/image" "$CID" </dev/null >/dev/null 2>&1
	wait_lines "$echo_file" "$(($(lines "$echo_file") + 5))"
	awk 'NR - 1 != $0 { print "line " NR ": " $0; exit 1 }' "$echo_file"
}

@test "--empty-ns network: the network namespace comes back unconfigured (loopback down)" {
	requires criu
	make_bundle "$WORK/bundle" sh -c "ip link set lo up; $COUNTER"
	update_config '.process.capabilities.bounding += ["CAP_NET_ADMIN"] | .process.capabilities.effective += ["CAP_NET_ADMIN"] | .process.capabilities.permitted += ["CAP_NET_ADMIN"]'
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	wait_count_above 1
	run runtime exec "$CID" cat /sys/class/net/lo/operstate
	assert_output unknown
	run cr checkpoint --empty-ns network --image-path "$WORK/image" "$CID"
	assert_success
	cr restore -b "$BUNDLE" -d --empty-ns network --image-path "$WORK/image" "$CID" </dev/null >/dev/null 2>&1
	wait_count_above "$(count)"
	run runtime exec "$CID" cat /sys/class/net/lo/operstate
	assert_output down
}

@test "file locks: refused without --file-locks, held again after restore with it" {
	requires criu python3
	make_bundle "$WORK/bundle" /usr/bin/python3 -c 'import fcntl, time
a = open("/tmp/flock", "w"); fcntl.flock(a, fcntl.LOCK_EX)
b = open("/tmp/posix", "w"); fcntl.lockf(b, fcntl.LOCK_EX)
open("/tmp/locked", "w").close()
time.sleep(3600)'
	# the host's python, through read-only binds of /usr (external mounts for CRIU)
	update_config '.mounts += [{"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]}]'
	ln -s usr/lib "$BUNDLE/rootfs/lib"
	[ -e /lib64 ] && ln -s usr/lib64 "$BUNDLE/rootfs/lib64"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	retry 100 0.05 test -e "$BUNDLE/rootfs/tmp/locked"

	run cr checkpoint --image-path "$WORK/image1" "$CID"
	assert_failure
	assert_equal "$(state_field "$CID" status)" running

	run cr checkpoint --file-locks --image-path "$WORK/image" "$CID"
	assert_success
	cr restore -b "$BUNDLE" -d --file-locks --image-path "$WORK/image" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(state_field "$CID" status)" running
	run flock -n "$BUNDLE/rootfs/tmp/flock" true
	assert_failure
	run python3 -c 'import fcntl, sys; fcntl.lockf(open(sys.argv[1], "w"), fcntl.LOCK_EX | fcntl.LOCK_NB)' "$BUNDLE/rootfs/tmp/posix"
	assert_failure
	assert_output_contains "Resource temporarily unavailable"
}

@test "cgroup limits survive checkpoint and restore" {
	requires criu
	make_bundle "$WORK/bundle" sh -c "$COUNTER"
	update_config '.linux.cgroupsPath = $p | .linux.resources.memory.limit = 67108864 | .linux.resources.pids.limit = 77' --arg p "/berth-it-$CID"
	track_cgroup "/berth-it-$CID"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	wait_count_above 1
	run cr checkpoint --image-path "$WORK/image" "$CID"
	assert_success
	cr restore -b "$BUNDLE" -d --image-path "$WORK/image" "$CID" </dev/null >/dev/null 2>&1
	local mem pids m
	for m in $(cgroup_dirs "/berth-it-$CID"); do
		[ -f "$m/memory.limit_in_bytes" ] && mem=$(cat "$m/memory.limit_in_bytes")
		[ -f "$m/memory.max" ] && mem=$(cat "$m/memory.max")
		[ -f "$m/pids.max" ] && pids=$(cat "$m/pids.max")
	done
	assert_equal "$mem" 67108864 "memory limit"
	assert_equal "$pids" 77 "pids limit"
	pid=$(state_field "$CID" pid)
	for m in $(cgroup_dirs "/berth-it-$CID"); do
		grep -qx "$pid" "$m/cgroup.procs" || fail "pid $pid not in $m"
	done
}

@test "paused containers can be checkpointed; created, stopped and unknown ones cannot" {
	requires criu
	counter_container
	runtime pause "$CID"
	run cr checkpoint --leave-running --image-path "$WORK/image" "$CID"
	assert_success
	assert_equal "$(state_field "$CID" status)" paused
	runtime resume "$CID"
	runtime kill "$CID" KILL
	wait_status "$CID" stopped
	run cr checkpoint --image-path "$WORK/image2" "$CID"
	assert_failure
	assert_output_contains -i stopped
	runtime delete "$CID"

	make_bundle "$WORK/b2" sleep 100
	runtime create -b "$WORK/b2" "$CID-c" </dev/null >/dev/null 2>&1
	run cr checkpoint --image-path "$WORK/image3" "$CID-c"
	assert_failure
	assert_output_contains -i created
	assert_equal "$(state_field "$CID-c" status)" created

	run cr checkpoint --image-path "$WORK/image4" "$CID-nope"
	assert_failure
	assert_output_contains -i "does not exist"
}

@test "bad image directories fail clearly and leave nothing behind" {
	requires criu
	counter_container
	: >"$WORK/file"
	run cr checkpoint --image-path "$WORK/file" "$CID"
	assert_failure
	assert_output_contains "$WORK/file"
	assert_equal "$(state_field "$CID" status)" running

	run cr restore -b "$BUNDLE" -d --image-path "$WORK/missing" "$CID-2" </dev/null
	assert_failure
	assert_output_contains "$WORK/missing"
	nothing_left "$CID-2" "/$CID-2"

	mkdir "$WORK/empty"
	run cr restore -b "$BUNDLE" -d --image-path "$WORK/empty" "$CID-3" </dev/null
	assert_failure
	nothing_left "$CID-3" "/$CID-3"

	run cr restore -b "$BUNDLE" -d --image-path "$WORK/empty" "$CID" </dev/null
	assert_failure
	if ! is_runc; then assert_output_contains "exists"; fi
	assert_equal "$(state_field "$CID" status)" running

	# a damaged checkpoint: CRIU fails, and the half-made container goes
	run cr checkpoint --leave-running --image-path "$WORK/image" "$CID"
	assert_success
	rm "$WORK/image"/pstree.img
	update_config '.linux.cgroupsPath = $p' --arg p "/berth-it-$CID-4"
	track_cgroup "/berth-it-$CID-4"
	run cr restore -b "$BUNDLE" -d --image-path "$WORK/image" "$CID-4" </dev/null
	assert_failure
	if ! is_runc; then assert_output_contains "restore.log"; fi
	nothing_left "$CID-4" "/berth-it-$CID-4"
}

@test "a CRIU too old for this kernel is refused, naming the version needed" {
	requires python3
	runc_differs "runc 1.1 only asks for CRIU 3.0 and fails later, in the dump"
	make_bundle "$WORK/bundle" sleep 100
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run runtime --criu "$LIB_DIR/fake_criu.py" checkpoint --image-path "$WORK/image" "$CID"
	assert_failure
	assert_output_contains "CRIU 3.17.1"
	assert_output_contains "too old"
	assert_output_contains "or newer"
	assert_equal "$(state_field "$CID" status)" running
	run runtime --criu "$WORK/no-such-criu" checkpoint --image-path "$WORK/image" "$CID"
	assert_failure
	assert_output_contains "no-such-criu"
}

@test "--pre-dump: a memory pre-dump, or a clear error where the kernel cannot track memory" {
	requires criu
	counter_container
	if "$CRIU" check --feature mem_dirty_track >/dev/null 2>&1; then
		run cr checkpoint --pre-dump --image-path "$WORK/image/parent" "$CID"
		assert_success
		assert_equal "$(state_field "$CID" status)" running
		run cr checkpoint --parent-path ../parent --image-path "$WORK/image/final" "$CID"
		assert_success
	else
		run cr checkpoint --pre-dump --image-path "$WORK/image" "$CID"
		assert_failure
		assert_output_contains -i "missing features"
		assert_equal "$(state_field "$CID" status)" running
	fi
}

@test "a container with a terminal: restore sends the new pty master to --console-socket" {
	requires criu python3
	make_bundle "$WORK/bundle" sh -c 'i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done'
	update_config '.process.terminal = true'
	python3 "$LIB_DIR/console_recv.py" "$WORK/c1.sock" "$WORK/c1.out" &
	track_pid $!
	retry 100 0.05 test -S "$WORK/c1.sock"
	runtime run -d -b "$BUNDLE" --console-socket "$WORK/c1.sock" "$CID" </dev/null >/dev/null 2>&1
	retry 100 0.05 grep -q 'tick 3' "$WORK/c1.out"
	run cr checkpoint --image-path "$WORK/image" "$CID"
	assert_success

	python3 "$LIB_DIR/console_recv.py" "$WORK/c2.sock" "$WORK/c2.out" &
	track_pid $!
	retry 100 0.05 test -S "$WORK/c2.sock"
	cr restore -b "$BUNDLE" -d --console-socket "$WORK/c2.sock" --image-path "$WORK/image" "$CID" </dev/null >/dev/null 2>&1
	assert_equal "$(state_field "$CID" status)" running
	retry 100 0.05 grep -q 'tick' "$WORK/c2.out" || fail "nothing on the new terminal: $(cat "$WORK/c2.out")"
	# it counts on: the first tick on the new terminal follows the last one on the old
	last=$(grep -o 'tick [0-9]*' "$WORK/c1.out" | tail -n1 | cut -d' ' -f2)
	first=$(grep -o 'tick [0-9]*' "$WORK/c2.out" | head -n1 | cut -d' ' -f2)
	[ "$first" -gt "$last" ] || fail "first tick after restore $first, last before $last"
}
