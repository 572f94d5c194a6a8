#!/usr/bin/env bats
# Docker Engine (Debian's docker.io 20.10) drives the runtime: what a Docker
# user does every day, through a private dockerd that has the runtime under
# test registered in daemon.json `runtimes` and made the default runtime
# (so `docker build` RUN steps use it too). ENGINES.md section 3.
#
# The private daemon is started once for the file and leaves the host alone:
# its config, data-root, exec-root (and so its own containerd and the
# runtime's state root, exec-root/runtime-runc/moby), socket, pidfile and
# client config live in $DK; it runs inside a network namespace of its own
# (`ip netns add`, entered with nsenter, which keeps the host's /sys), so
# docker0, its iptables rules and ip_forward touch only that namespace; its
# containers' cgroups are below a cgroup-parent of its own. Everything is
# stopped and removed in teardown_file. The image is a docker-archive built
# locally from the suite's busybox rootfs (no registry).

load helpers
source "$BATS_TEST_DIRNAME/lib/dockerimage.sh"

# Debian's client: /usr/local/bin may hold a newer docker of its own.
DOCKER=/usr/bin/docker
IMAGE=berth-busybox:latest

dk() {
	timeout -k 5 120 "$DOCKER" "$@" 3>&-
}

# The daemon's configuration; $1 is live-restore (true|false).
write_daemon_json() {
	jq -n --arg rt "$RUNTIME" --arg cg "/$DK_CGROUP" --arg key "$DK/key.json" --argjson lr "$1" '{
		runtimes: {"berth-it": {path: $rt}},
		"default-runtime": "berth-it",
		"exec-opts": ["native.cgroupdriver=cgroupfs"],
		"cgroup-parent": $cg,
		"storage-driver": "overlay2",
		"deprecated-key-path": $key,
		"live-restore": $lr
	}' >"$DK/daemon.json"
}

start_dockerd() {
	nsenter --net="/run/netns/$DK_NETNS" dockerd --config-file "$DK/daemon.json" \
		--data-root "$DK/data" --exec-root "$DK/run" --pidfile "$DK/docker.pid" \
		-H "$DOCKER_HOST" >>"$DK/dockerd.log" 2>&1 </dev/null 3>&- &
	echo $! >"$DK/dockerd.launched"
	retry 300 0.1 dk version >/dev/null 2>&1 ||
		fail "private dockerd did not start: $(tail -n 5 "$DK/dockerd.log")"
}

# stop_dockerd: SIGTERM by pid, as an init system would; dockerd stops its
# containers (unless live-restore) and its containerd first.
stop_dockerd() {
	local pid
	pid=$(cat "$DK/dockerd.launched" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	retry 300 0.1 eval '! alive "$pid"' || kill -KILL "$pid" 2>/dev/null
	rm -f "$DK/dockerd.launched"
	return 0
}

# alive PID: running, not a zombie (the daemon may be an orphan that this
# sandbox's pid 1 never reaps).
alive() {
	[ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# Global paths dockerd and the shims make outside $DK (hard-coded in them):
# removed after the last test if they were new and are empty.
DOCKER_GLOBALS="/run/docker/plugins /run/docker /run/containerd/s /run/containerd"

setup_file() {
	[ -x "$DOCKER" ] && command -v dockerd >/dev/null && command -v ip >/dev/null || return 0
	export DK DK_NETNS=berth-it-dk-$$ DK_CGROUP=berth-it-docker-$$
	DK=$(mktemp -d /tmp/berth-dk.XXXXXX)
	export DOCKER_HOST=unix://$DK/docker.sock DOCKER_CONFIG=$DK/client DOCKER_BUILDKIT=0
	local g
	for g in $DOCKER_GLOBALS; do [ -e "$g" ] || echo "$g" >>"$DK/new-globals"; done
	mkdir -p "$DK/client"
	ip netns add "$DK_NETNS" && ip -n "$DK_NETNS" link set lo up || return 0
	write_daemon_json false
	start_dockerd || return 0
	WORK=$DK
	make_docker_archive "$(rootfs_template)" "$IMAGE" "$DK/image.tar" &&
		dk load -q -i "$DK/image.tar" >/dev/null
}

teardown_file() {
	[ -n "${DK:-}" ] && [ -d "$DK" ] || return 0
	local ids p m g
	ids=$(dk ps -aq 2>/dev/null)
	[ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1
	# with live-restore on, dockerd would leave running containers behind
	write_daemon_json false
	stop_dockerd
	# anything of this daemon still alive (its containerd, shims): by its
	# unique address in the command line
	for p in /proc/[0-9]*; do
		grep -qF -- "$DK/run/containerd" "$p/cmdline" 2>/dev/null && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	for m in $(mounts_under "$DK" | sort -r); do umount -l "$m" 2>/dev/null; done
	# containers whose shim died with the daemon: by their cgroup, ours alone
	for m in $(cgroup_mounts); do
		[ -d "$m/$DK_CGROUP" ] || continue
		for p in $(find "$m/$DK_CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	sleep 0.2
	for m in $(cgroup_mounts); do
		[ -d "$m/$DK_CGROUP" ] && find "$m/$DK_CGROUP" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	ip netns del "$DK_NETNS" 2>/dev/null
	for g in $(cat "$DK/new-globals" 2>/dev/null); do rmdir "$g" 2>/dev/null; done
	rm -rf --one-file-system "$DK"
	return 0
}

setup() {
	[ -x "$DOCKER" ] && command -v dockerd >/dev/null || skip "needs Debian's docker.io (make deps)"
	common_setup
	[ -n "${DK:-}" ] && [ -S "$DK/docker.sock" ] ||
		fail "private dockerd did not start: $(tail -n 5 "${DK:-/nonexistent}/dockerd.log" 2>/dev/null)"
	dk image inspect "$IMAGE" >/dev/null 2>&1 || fail "docker load of the local busybox image failed"
}

teardown() {
	local ids
	ids=$(dk ps -aq 2>/dev/null)
	[ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1
	common_teardown
}

# inspect NAME FORMAT: one `docker inspect -f` value.
inspect() {
	dk inspect -f "$2" "$1"
}

# wait_inspect NAME FORMAT VALUE: poll docker inspect (up to 30 s).
wait_inspect() {
	local v i
	for ((i = 0; i < 300; i++)); do
		v=$(inspect "$1" "$2" 2>/dev/null)
		[ "$v" = "$3" ] && return 0
		sleep 0.1
	done
	fail "$1: $2 is '$v', wanted '$3'"
}

# A detached container that exits at once on SIGTERM (a plain `sleep` as
# pid 1 would ignore it and make `docker stop` wait its 10 s).
TRAP_SLEEP='trap "exit 0" TERM; sleep 1000 & wait'

# ------------------------------------------------------------ run --

@test "docker run --rm IMAGE echo hello, through the runtime under test" {
	run dk run --rm "$IMAGE" echo hello
	assert_success
	assert_output hello

	# the runtime under test made it: its own state root answers for it
	dk run -d --name c1 "$IMAGE" sleep 1000 >/dev/null
	id=$(inspect c1 '{{.Id}}')
	assert_equal "$(inspect c1 '{{.HostConfig.Runtime}}')" berth-it runtime
	root=$(dirname "$(ls -d "$DK"/run/runtime-*/moby/"$id")")
	run "$RUNTIME" --root "$root" state "$id"
	assert_success
	assert_equal "$(jq -r .status <<<"$output")" running status
	assert_equal "$(jq -r .pid <<<"$output")" "$(inspect c1 '{{.State.Pid}}')" pid
}

@test "docker run: exit codes (the command's, 127 not found, 126 not executable)" {
	run dk run --rm "$IMAGE" sh -c 'echo out; exit 3'
	assert_failure 3
	assert_output out
	run -127 dk run --rm "$IMAGE" /no/such/program
	assert_output_contains "no such file or directory"
	run -126 dk run --rm "$IMAGE" /etc/passwd
	assert_output_contains "permission denied"
}

@test "docker run -i: stdin reaches the container" {
	run bash -c 'echo from-stdin | "$0" run -i --rm "$1" sh -c "read l; echo got \$l" 3>&-' "$DOCKER" "$IMAGE"
	assert_success
	assert_output "got from-stdin"
}

@test "docker run -d, logs, stop (SIGTERM, then the exit code)" {
	dk run -d --name c1 "$IMAGE" sh -c 'echo started; trap "echo stopping; exit 0" TERM; sleep 1000 & wait' >/dev/null
	assert_equal "$(inspect c1 '{{.State.Status}}')" running status
	retry 100 0.1 eval 'dk logs c1 | grep -q started'
	dk stop -t 20 c1
	assert_equal "$(inspect c1 '{{.State.Status}} {{.State.ExitCode}}')" "exited 0" state
	run dk logs c1
	assert_output "started
stopping"
	dk rm c1
	run dk ps -aq
	assert_output ""
}

@test "docker run -it: the container's stdio is a terminal" {
	run "$LIB_DIR/underpty.py" 60 "$DOCKER" run -it --rm "$IMAGE" sh -c 'test -t 0 && test -t 1 && tty && echo tty-ok'
	assert_success
	assert_output_contains /dev/pts/
	assert_output_contains tty-ok
}

# ------------------------------------------------------------ exec --

@test "docker exec: output and exit code" {
	dk run -d --name c1 "$IMAGE" sleep 1000 >/dev/null
	run dk exec c1 sh -c 'echo in-$(hostname); exit 4'
	assert_failure 4
	assert_output "in-$(inspect c1 '{{.Config.Hostname}}')"
	run dk exec c1 ps -o comm
	assert_success
	assert_line sleep
}

@test "docker exec -it twice in a row into one container" {
	dk run -d --name c1 "$IMAGE" sleep 1000 >/dev/null
	for i in 1 2; do
		run "$LIB_DIR/underpty.py" 60 "$DOCKER" exec -it c1 sh -c "test -t 0 && tty && echo exec-$i"
		[ "$status" -eq 0 ] || fail "exec -it number $i exited $status" "output: $output"
		assert_output_contains "exec-$i"
	done
	# and the container's own /dev/console is untouched by them
	run dk exec c1 sh -c 'grep -c " /dev/console " /proc/self/mountinfo'
	assert_output 0
}

@test "docker exec -u, -w, -e" {
	dk run -d --name c1 -e FROM_RUN=1 "$IMAGE" sleep 1000 >/dev/null
	run dk exec -u 1000:100 -w /tmp -e FOO=bar c1 sh -c 'id -u; id -g; pwd; echo $FOO $FROM_RUN'
	assert_success
	assert_output "1000
100
/tmp
bar 1"
	run dk exec -u user c1 id -un
	assert_output user
}

@test "docker exec gets the container's --oom-score-adj" {
	dk run -d --name c1 --oom-score-adj 300 "$IMAGE" sleep 1000 >/dev/null
	run dk exec c1 cat /proc/1/oom_score_adj /proc/self/oom_score_adj
	assert_success
	assert_output "300
300"
}

# ------------------------------------------------------------ observe --

@test "docker top lists the container's processes" {
	dk run -d --name c1 "$IMAGE" sh -c 'sleep 1000 & sleep 1001 & wait' >/dev/null
	retry 50 0.1 eval 'dk top c1 | grep -q "sleep 1001"'
	run dk top c1
	assert_success
	assert_output_contains "sleep 1000"
	assert_output_contains "sleep 1001"
	assert_output_contains "$(inspect c1 '{{.State.Pid}}')"
}

@test "docker stats --no-stream shows memory use and pids" {
	dk run -d --name c1 "$IMAGE" sh -c 'sleep 1000 & wait' >/dev/null
	run dk stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' c1
	assert_success
	[[ $output =~ ^c1\ [0-9.]+[KMG]i?B\ /\ [0-9.]+[KMGT]i?B\ 2$ ]] || fail "unexpected stats: $output"
}

# ------------------------------------------------------------ lifecycle --

@test "docker pause / unpause" {
	dk run -d --name c1 "$IMAGE" sleep 1000 >/dev/null
	dk pause c1
	assert_equal "$(inspect c1 '{{.State.Status}} {{.State.Paused}}')" "paused true" state
	run dk exec c1 true
	assert_failure
	assert_output_contains -i paused
	dk unpause c1
	assert_equal "$(inspect c1 '{{.State.Status}} {{.State.Paused}}')" "running false" state
	run dk exec c1 echo alive
	assert_output alive
}

@test "docker update changes a running container's limits (memory, cpu shares, pids)" {
	dk run -d --name c1 -m 128m "$IMAGE" sleep 1000 >/dev/null
	run dk exec c1 cat /sys/fs/cgroup/memory/memory.limit_in_bytes
	assert_output $((128 << 20))
	dk update --memory 64m --memory-swap 64m --cpu-shares 512 --pids-limit 7 c1 >/dev/null
	run dk exec c1 cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/pids/pids.max
	assert_output "$((64 << 20))
512
7"
}

@test "docker kill -s sends the signal; wait returns the exit code" {
	dk run -d --name c1 "$IMAGE" sh -c 'trap "echo got-usr1; exit 9" USR1; sleep 1000 & wait' >/dev/null
	dk kill -s USR1 c1
	run dk wait c1
	assert_output 9
	run dk logs c1
	assert_output got-usr1
	dk run -d --name c2 "$IMAGE" sleep 1000 >/dev/null
	dk kill c2
	assert_equal "$(inspect c2 '{{.State.ExitCode}}')" 137 "exit code after docker kill"
}

@test "docker rm -f removes a running container" {
	dk run -d --name c1 "$IMAGE" sleep 1000 >/dev/null
	pid=$(inspect c1 '{{.State.Pid}}')
	dk rm -f c1
	run dk ps -aq
	assert_output ""
	retry 50 0.1 eval '! alive "$pid"' ||
		fail "container process $pid still alive"
}

@test "docker run --restart on-failure:2 restarts twice" {
	dk run -d --name c1 --restart on-failure:2 "$IMAGE" sh -c 'echo ran; exit 3' >/dev/null
	wait_inspect c1 '{{.RestartCount}} {{.State.Status}}' "2 exited"
	assert_equal "$(inspect c1 '{{.State.ExitCode}}')" 3 "exit code"
	run dk logs c1
	assert_output "ran
ran
ran"
}

@test "docker run --init: docker-init is pid 1 and reaps" {
	# the orphaned `sleep 0` is reparented to pid 1, which must reap it
	run dk run --rm --init "$IMAGE" sh -c 'tr "\0" " " </proc/1/cmdline | cut -d" " -f1-2; sh -c "sleep 0 &"; sleep 0.5; echo zombies: $(ps -o stat | grep -c Z)'
	assert_success
	assert_output "/sbin/docker-init --
zombies: 0"
}

@test "docker healthcheck: unhealthy, then healthy (exec'd every interval)" {
	dk run -d --name c1 --health-cmd 'test -e /tmp/ready' --health-interval 1s --health-retries 1 "$IMAGE" sleep 1000 >/dev/null
	wait_inspect c1 '{{.State.Health.Status}}' unhealthy
	dk exec c1 touch /tmp/ready
	wait_inspect c1 '{{.State.Health.Status}}' healthy
}

# ------------------------------------------------------------ resources --

@test "docker run -m: the OOM kill shows as OOMKilled true" {
	run dk run --name c1 -m 16m --memory-swap 16m "$IMAGE" sh -c 'echo start; tail /dev/zero'
	assert_failure 137
	assert_equal "$(inspect c1 '{{.State.OOMKilled}} {{.State.ExitCode}}')" "true 137" state
	dk run --name c2 -m 16m --memory-swap 16m "$IMAGE" true
	assert_equal "$(inspect c2 '{{.State.OOMKilled}}')" false "OOMKilled without an OOM"
}

@test "docker run --pids-limit: forks past the limit fail" {
	run dk run --rm --pids-limit 5 "$IMAGE" sh -c 'cat /sys/fs/cgroup/pids/pids.max; i=0; while [ $i -lt 10 ]; do sleep 30 & i=$((i+1)); done'
	assert_line 5
	assert_output_contains "can't fork"
}

# ------------------------------------------------------------ filesystem --

@test "docker run --read-only, with --tmpfs writable" {
	run dk run --rm --read-only --tmpfs /run:size=1m "$IMAGE" sh -c 'touch /x 2>&1; echo tmp >/run/f && cat /run/f; grep " /run " /proc/mounts'
	assert_success
	assert_line "touch: /x: Read-only file system"
	assert_line tmp
	assert_output_contains "tmpfs /run tmpfs rw,nosuid,nodev,noexec"
	assert_output_contains size=1024k
}

@test "docker run -v: a bind mount, read-write and :ro" {
	mkdir "$WORK/data" && echo from-host >"$WORK/data/in"
	run dk run --rm -v "$WORK/data:/data" "$IMAGE" sh -c 'cat /data/in; echo from-container >/data/out'
	assert_success
	assert_output from-host
	assert_equal "$(cat "$WORK/data/out")" from-container "file written by the container"
	run dk run --rm -v "$WORK/data:/data:ro" "$IMAGE" sh -c 'cat /data/in; touch /data/x'
	assert_failure
	assert_output_contains "Read-only file system"
}

@test "docker volume: a named volume outlives its container" {
	dk volume create bv1 >/dev/null
	dk run --rm -v bv1:/v "$IMAGE" sh -c 'echo kept >/v/f'
	run dk run --rm -v bv1:/v:ro "$IMAGE" cat /v/f
	assert_success
	assert_output kept
	dk volume rm bv1
}

@test "docker cp into and out of a running container" {
	dk run -d --name c1 "$IMAGE" sleep 1000 >/dev/null
	echo to-container >"$WORK/f"
	dk cp "$WORK/f" c1:/tmp/f
	run dk exec c1 cat /tmp/f
	assert_output to-container
	dk exec c1 sh -c 'echo from-container >/tmp/g'
	dk cp c1:/tmp/g "$WORK/g"
	assert_equal "$(cat "$WORK/g")" from-container "copied out"
}

@test "docker commit, then run the new image" {
	dk run -d --name c1 "$IMAGE" sh -c "echo committed >/marker; $TRAP_SLEEP" >/dev/null
	retry 50 0.1 dk exec c1 test -e /marker
	dk commit c1 berth-committed:1 >/dev/null
	run dk run --rm berth-committed:1 cat /marker
	assert_success
	assert_output committed
	dk rmi -f berth-committed:1 >/dev/null
}

@test "docker build (offline, FROM the loaded image; RUN steps use the runtime)" {
	mkdir "$WORK/ctx"
	printf '%s\n' "FROM $IMAGE" 'RUN echo built-by-$(id -un) >/built' 'CMD ["cat", "/built"]' >"$WORK/ctx/Dockerfile"
	run dk build -q -t berth-built:1 "$WORK/ctx"
	assert_success
	run dk run --rm berth-built:1
	assert_output built-by-root
	dk rmi -f berth-built:1 >/dev/null
}

# ------------------------------------------------------------ security --

@test "docker run --user: id, and writing to /dev/stdout and /dev/stderr" {
	run --separate-stderr dk run --rm --user 1000:1000 "$IMAGE" sh -c 'id -u; id -g; echo out >/dev/stdout; echo err >/dev/stderr'
	assert_success
	assert_output "1000
1000
out"
	assert_equal "$stderr" err stderr
	mkdir "$WORK/owned" && chmod 777 "$WORK/owned"
	dk run --rm --user 1000:1000 -v "$WORK/owned:/o" "$IMAGE" touch /o/f
	assert_equal "$(stat -c %u:%g "$WORK/owned/f")" 1000:1000 "owner of a file made by --user 1000:1000"
}

@test "docker run --cap-drop / --cap-add" {
	run dk run --rm --cap-drop CHOWN "$IMAGE" sh -c 'touch /f; chown 1000 /f'
	assert_failure
	assert_output_contains "Operation not permitted"
	run dk run --rm "$IMAGE" sh -c 'touch /f; chown 1000 /f && echo chown-ok'
	assert_output chown-ok
	run dk run --rm "$IMAGE" ip link set lo mtu 1280
	assert_failure
	run dk run --rm --cap-add NET_ADMIN "$IMAGE" sh -c 'ip link set lo mtu 1280 && echo net-admin-ok'
	assert_output net-admin-ok
	run dk run --rm --cap-drop ALL "$IMAGE" grep CapEff /proc/self/status
	assert_output "CapEff:	0000000000000000"
}

@test "docker run --security-opt no-new-privileges" {
	run dk run --rm --security-opt no-new-privileges "$IMAGE" grep NoNewPrivs /proc/self/status
	assert_output "NoNewPrivs:	1"
	run dk run --rm "$IMAGE" grep NoNewPrivs /proc/self/status
	assert_output "NoNewPrivs:	0"
}

@test "docker's default seccomp profile, unconfined, and a custom profile" {
	# the default profile refuses unshare(2) without CAP_SYS_ADMIN
	run dk run --rm "$IMAGE" sh -c 'grep ^Seccomp: /proc/self/status; unshare -U true'
	assert_failure
	assert_line "Seccomp:	2"
	assert_output_contains "Operation not permitted"
	run dk run --rm --security-opt seccomp=unconfined "$IMAGE" sh -c 'grep ^Seccomp: /proc/self/status; unshare -U true && echo unshared'
	assert_success
	assert_output "Seccomp:	0
unshared"
	cat >"$WORK/no-mkdir.json" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ALLOW",
		 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
	EOF
	run dk run --rm --security-opt seccomp="$WORK/no-mkdir.json" "$IMAGE" sh -c 'touch /tmp/f && echo touch-ok; mkdir /tmp/d'
	assert_failure
	assert_line touch-ok
	assert_output_contains "mkdir: can't create directory '/tmp/d': Operation not permitted"
}

@test "signals the container did not ask to ignore are not ignored (SIGPIPE)" {
	run --separate-stderr dk run --rm "$IMAGE" sh -c 'grep SigIgn /proc/self/status; yes | head -n 1'
	assert_success
	assert_output "SigIgn:	0000000000000000
y"
	assert_equal "$stderr" "" stderr
}

# ------------------------------------------------------------ network --

@test "docker run --network none: only lo, and it is up" {
	run dk run --rm --network none "$IMAGE" sh -c 'ls /sys/class/net; ip -o link show lo; ping -c1 -W2 127.0.0.1 >/dev/null && echo ping-ok'
	assert_success
	assert_line lo
	assert_output_not_contains eth0
	assert_output_contains "LOOPBACK,UP"
	assert_line ping-ok
}

@test "docker run --pid/--ipc/--network container:NAME joins a running container's namespaces" {
	dk run -d --name side --ipc shareable "$IMAGE" sleep 1000 >/dev/null
	ns='readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; readlink /proc/self/ns/net'
	theirs=$(dk exec side sh -c "$ns")
	run dk run --rm --pid container:side --ipc container:side --network container:side "$IMAGE" sh -c "$ns; ps -o args"
	assert_success
	assert_output_contains "$theirs"
	assert_line "sleep 1000"
}

@test "docker run --network host sees the daemon's interfaces" {
	run dk run --rm --network host "$IMAGE" ls /sys/class/net
	assert_success
	assert_line docker0
}

@test "docker run -p: a published port of a bridge container is reachable" {
	dk run -d --name web -p 127.0.0.1:18080:80 "$IMAGE" sh -c 'mkdir /www && echo hello-web >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
	run dk exec web ip -o -4 addr show eth0
	assert_output_contains "$(inspect web '{{.NetworkSettings.IPAddress}}')"
	# (no wget -T: it crashes Debian's static busybox 1.35)
	retry 100 0.1 timeout 5 nsenter --net="/run/netns/$DK_NETNS" "$BUSYBOX" wget -q -O "$WORK/page" http://127.0.0.1:18080/ ||
		fail "port 18080 not reachable: $(dk logs web 2>&1)"
	assert_equal "$(cat "$WORK/page")" hello-web page
}

# ------------------------------------------------------------ daemon --

@test "dockerd restart: --restart always comes back; with live-restore containers keep running" {
	dk run -d --name always --restart always "$IMAGE" sh -c "$TRAP_SLEEP" >/dev/null
	dk run -d --name once "$IMAGE" sh -c "$TRAP_SLEEP" >/dev/null
	stop_dockerd
	start_dockerd
	wait_inspect always '{{.State.Status}}' running
	assert_equal "$(inspect once '{{.State.Status}}')" exited "a container without a restart policy"
	run dk exec always echo back
	assert_output back

	# live-restore: the daemon goes away, the container does not
	write_daemon_json true
	stop_dockerd
	start_dockerd
	pid=$(inspect always '{{.State.Pid}}')
	stop_dockerd
	alive "$pid" || fail "container pid $pid died with the daemon despite live-restore"
	start_dockerd
	assert_equal "$(inspect always '{{.State.Status}} {{.State.Pid}}')" "running $pid" "state after live restore"
	run dk exec always echo restored
	assert_output restored
	dk stop -t 20 always
	assert_equal "$(inspect always '{{.State.Status}}')" exited status
	write_daemon_json false
	kill -HUP "$(cat "$DK/docker.pid")"
}
