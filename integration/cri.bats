#!/usr/bin/env bats
# Kubernetes' way in: containerd's CRI plugin with the runtime under test as
# a RuntimeClass handler (`runtime_type = "io.containerd.runc.v2"`, options
# `BinaryName`, the README's recipe), driven the way the kubelet drives it:
# pod sandbox, containers in it, exec, resource updates, stop and removal.
# Debian 12 has no crictl or kubelet: lib/cri/cri.py speaks the CRI over
# containerd's socket instead (ENGINES.md section 3).
#
# One private containerd per file, in a network namespace of its own (the
# CRI streaming server listens on TCP there): its root, state, sockets, the
# shim's runtime root (options `Root`) and the pods' cgroup parent are its
# own; all is stopped and removed in teardown_file. Pods use the node's
# network (this host has no CNI plugins), so no CNI set-up is involved. The
# default handler is runc; pods ask for the handler `berth` explicitly.

load helpers
source "$BATS_TEST_DIRNAME/lib/dockerimage.sh"

CRI_PY=$BATS_TEST_DIRNAME/lib/cri/cri.py
IMAGE=localhost/berth-busybox:latest

cri() {
	timeout -k 5 150 "$CRI_PY" "$CR/containerd.sock" "$@" 3>&-
}

cctr() {
	timeout -k 5 120 ctr --address "$CR/containerd.sock" -n k8s.io "$@" 3>&-
}

cri_usable() {
	command -v containerd >/dev/null && command -v ctr >/dev/null && command -v protoc >/dev/null &&
		command -v ip >/dev/null && /usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null
}

setup_file() {
	cri_usable || return 0
	export CR CR_NETNS=berth-it-cri-$$ CR_CGROUP=berth-it-cri-$$
	CR=$(mktemp -d /tmp/berth-cri.XXXXXX)
	[ -d /run/containerd ] || touch "$CR/new-run-containerd"
	mkdir -p "$CR/root" "$CR/state" "$CR/opt" "$CR/rt" "$CR/rt-default" "$CR/logs" "$CR/cni/bin" "$CR/cni/conf"
	cat >"$CR/config.toml" <<-EOF
		version = 2
		root = "$CR/root"
		state = "$CR/state"
		disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
		  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
		[grpc]
		  address = "$CR/containerd.sock"
		[ttrpc]
		  address = "$CR/containerd.sock.ttrpc"
		[debug]
		  address = "$CR/debug.sock"
		[metrics]
		  address = ""
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$CR/opt"
		[plugins."io.containerd.grpc.v1.cri"]
		  sandbox_image = "$IMAGE"
		  # the sandbox's oom_score_adj (-998) needs CAP_SYS_RESOURCE, which
		  # this host's bounding set lacks (ENGINES.md section 3)
		  restrict_oom_score_adj = true
		  stream_server_address = "127.0.0.1"
		  stream_server_port = "0"
		  [plugins."io.containerd.grpc.v1.cri".cni]
		    bin_dir = "$CR/cni/bin"
		    conf_dir = "$CR/cni/conf"
		  [plugins."io.containerd.grpc.v1.cri".containerd]
		    snapshotter = "overlayfs"
		    default_runtime_name = "runc"
		    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
		      runtime_type = "io.containerd.runc.v2"
		      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
		        Root = "$CR/rt-default"
		    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth]
		      runtime_type = "io.containerd.runc.v2"
		      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth.options]
		        BinaryName = "$RUNTIME"
		        Root = "$CR/rt"
	EOF
	ip netns add "$CR_NETNS" && ip -n "$CR_NETNS" link set lo up || return 0
	nsenter --net="/run/netns/$CR_NETNS" containerd --config "$CR/config.toml" \
		>"$CR/containerd.log" 2>&1 </dev/null 3>&- &
	echo $! >"$CR/pid"
	retry 300 0.1 cri version >/dev/null 2>&1 || return 0
	# the image for the sandboxes (its Cmd keeps them up) and the containers
	WORK=$CR
	make_docker_archive "$(rootfs_template)" "$IMAGE" "$CR/image.tar" '["sleep", "100000000"]' &&
		cctr images import "$CR/image.tar" >/dev/null
}

teardown_file() {
	[ -n "${CR:-}" ] && [ -d "$CR" ] || return 0
	local pid p m
	pid=$(cat "$CR/pid" 2>/dev/null)
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		retry 100 0.1 eval '[ ! -e /proc/$pid ] || grep -q "^State:.*Z" /proc/$pid/status' || kill -KILL "$pid" 2>/dev/null
	fi
	# shims and containers of this containerd: by its unique address
	for p in /proc/[0-9]*; do
		grep -qF -- "$CR/containerd.sock" "$p/cmdline" 2>/dev/null && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	for m in $(mounts_under "$CR" | sort -r); do umount -l "$m" 2>/dev/null; done
	# containers whose shim died with the daemon: by their cgroup, ours alone
	for m in $(cgroup_mounts); do
		[ -d "$m/$CR_CGROUP" ] || continue
		for p in $(find "$m/$CR_CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	sleep 0.2
	for m in $(cgroup_mounts); do
		[ -d "$m/$CR_CGROUP" ] && find "$m/$CR_CGROUP" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	ip netns del "$CR_NETNS" 2>/dev/null
	if [ -e "$CR/new-run-containerd" ]; then
		rmdir /run/containerd/s /run/containerd 2>/dev/null
	fi
	rm -rf --one-file-system "$CR"
	return 0
}

setup() {
	cri_usable || skip "needs containerd, protoc, python3-grpcio and python3-protobuf (make deps)"
	common_setup
	[ -n "${CR:-}" ] && [ -S "$CR/containerd.sock" ] ||
		fail "private containerd did not start: $(tail -n 5 "${CR:-/nonexistent}/containerd.log" 2>/dev/null)"
	cctr images check 2>/dev/null | grep -q "$IMAGE" || fail "ctr import of the local busybox image failed"
	POD_IDS=()
}

teardown() {
	local p
	for p in "${POD_IDS[@]}"; do
		cri stopp "$p" >/dev/null 2>&1
		cri rmp "$p" >/dev/null 2>&1
	done
	common_teardown
}

# pod_config NAME: a pod sandbox config (crictl's pod-config.json) on the
# node's network (and so, as the kubelet does it, the node's uts namespace:
# no hostname), with its own pid and ipc namespaces.
pod_config() {
	jq -n --arg name "$1" --arg uid "uid-$1-$$" --arg logs "$CR/logs/$1" --arg cg "/$CR_CGROUP" '{
		metadata: {name: $name, uid: $uid, namespace: "berth-it"},
		log_directory: $logs,
		linux: {cgroup_parent: $cg, security_context: {namespace_options: {network: "NODE", pid: "POD", ipc: "POD"}}}
	}' >"$WORK/pod-$1.json"
	echo "$WORK/pod-$1.json"
}

# container_config NAME ARGS...: a container config (crictl's
# container-config.json) running ARGS in the busybox image.
container_config() {
	local name=$1
	shift
	jq -n --arg name "$name" --arg image "$IMAGE" --argjson args "$(json_array "$@")" '{
		metadata: {name: $name},
		image: {image: $image},
		command: $args,
		log_path: ($name + ".log"),
		linux: {}
	}' >"$WORK/ctr-$name.json"
	echo "$WORK/ctr-$name.json"
}

# run_pod NAME [HANDLER]: RunPodSandbox; sets POD (and registers it for teardown).
run_pod() {
	POD_JSON=$(pod_config "$1")
	POD=$(cri runp "$POD_JSON" "${2-berth}") || fail "RunPodSandbox failed"
	POD_IDS+=("$POD")
}

# start_container NAME ARGS...: CreateContainer + StartContainer in $POD; sets CTR.
start_container() {
	local cfg
	cfg=$(container_config "$@")
	CTR=$(cri create "$POD" "$cfg" "$POD_JSON") || fail "CreateContainer failed"
	cri start "$CTR" || fail "StartContainer failed"
}

container_state() {
	cri status "$1" | jq -r .state
}

@test "CRI: a pod with the handler berth runs its sandbox and container through the runtime under test" {
	run_pod web
	run cri podstatus "$POD"
	assert_success
	assert_equal "$(jq -r .state <<<"$output")" SANDBOX_READY "pod state"
	assert_equal "$(jq -r .runtime_handler <<<"$output")" berth "runtime handler"
	start_container hello sh -c 'echo hello from the pod; sleep 1000'
	assert_equal "$(container_state "$CTR")" CONTAINER_RUNNING "container state"
	# both are the runtime's own: its state root (the handler's Root) lists them
	run "$RUNTIME" --root "$CR/rt/k8s.io" list -q
	assert_success
	assert_line "$POD"
	assert_line "$CTR"
	# the container's output reaches the kubelet's log file (CRI log format)
	retry 50 0.1 grep -q 'stdout F hello from the pod' "$CR/logs/web/hello.log" ||
		fail "log: $(cat "$CR/logs/web/hello.log" 2>&1)"
}

@test "CRI: a pod without the handler uses the default runtime (runc), not the runtime under test" {
	run_pod other ""
	run runc --root "$CR/rt-default/k8s.io" list -q
	assert_line "$POD"
	run "$RUNTIME" --root "$CR/rt/k8s.io" list -q
	assert_output_not_contains "$POD"
}

@test "CRI: ExecSync returns the command's output and exit code" {
	run_pod ex
	start_container c sleep 1000
	run --separate-stderr cri exec "$CTR" 30 sh -c 'echo out; echo err >&2; exit 3'
	assert_failure 3
	assert_output out
	assert_equal "$stderr" err stderr
	run cri exec "$CTR" 30 id -u
	assert_output 0
}

@test "CRI: containers of a pod share its pid and ipc namespaces (joined by path)" {
	run_pod shared
	start_container a sleep 1000
	a=$CTR
	start_container b sleep 1001
	b=$CTR
	run cri exec "$b" 30 ps -o args
	assert_success
	# the sandbox's process, the other container's and its own
	assert_line "sleep 100000000"
	assert_line "sleep 1000"
	assert_line "sleep 1001"
	ns='readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid'
	na=$(cri exec "$a" 30 sh -c "$ns")
	nb=$(cri exec "$b" 30 sh -c "$ns")
	assert_equal "$nb" "$na" "namespaces of the two containers"
	[ "$na" != "$(sh -c "$ns")" ] || fail "the pod shares the host's namespaces"
}

@test "CRI: UpdateContainerResources changes a running container's limits" {
	run_pod upd
	start_container c sleep 1000
	echo '{"memory_limit_in_bytes": 67108864, "cpu_shares": 512}' >"$WORK/res.json"
	cri update "$CTR" "$WORK/res.json"
	run cri exec "$CTR" 30 cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares
	assert_success
	assert_output "67108864
512"
}

@test "CRI: stop and remove a container, then its pod; the runtime keeps nothing" {
	run_pod gone
	start_container c sh -c 'trap "exit 0" TERM; sleep 1000 & wait'
	cri stop "$CTR" 10
	run cri status "$CTR"
	assert_equal "$(jq -r .state <<<"$output")" CONTAINER_EXITED "state after stop"
	assert_equal "$(jq -r '.exit_code // 0' <<<"$output")" 0 "exit code after a TERM the container handles"
	cri rm "$CTR"
	cri stopp "$POD"
	cri rmp "$POD"
	run "$RUNTIME" --root "$CR/rt/k8s.io" list -q
	assert_output_not_contains "$POD"
	assert_output_not_contains "$CTR"
	run cri podstatus "$POD"
	assert_failure
}
