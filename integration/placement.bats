#!/usr/bin/env bats
# Where container processes run and take memory from: linux.memoryPolicy
# (config-linux.md "Memory policy": set_mempolicy(2) for the container) and
# process.execCPUAffinity (config.md: `initial` before the process joins
# the container's cgroup, `final` after; not applicable to the init).
# The kernel shows a process' policy in /proc/PID/numa_maps (each mapping
# without a policy of its own shows the task's) and its CPUs in
# Cpus_allowed_list.

load helpers

# policy_of: the container-side command printing the policy of the process
# reading numa_maps (its first mapping's line, without the address).
policy_of='head -n1 /proc/self/numa_maps | cut -d" " -f2-'

requires_numa_maps() {
	[ -r /proc/self/numa_maps ] || skip "needs a NUMA kernel (/proc/self/numa_maps)"
}

requires_two_cpus() {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs"
}

@test "memoryPolicy MPOL_BIND: the init and every exec'd process allocate from node 0 only" {
	runc_differs "runc 1.1 does not know linux.memoryPolicy"
	requires_numa_maps
	make_bundle "$BUNDLE"
	update_config '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "0"}'
	run_sh "$policy_of"
	assert_success
	[[ $output == "bind:0 "* ]] || fail "not bound to node 0: $output"
	make_bundle "$BUNDLE"
	update_config '.linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "0"}'
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run runtime exec "$CID" sh -c "$policy_of"
	assert_success
	[[ $output == "bind:0 "* ]] || fail "exec'd process not bound to node 0: $output"
	run runtime exec "$CID" sh -c 'head -n1 /proc/1/numa_maps | cut -d" " -f2-'
	[[ $output == "bind:0 "* ]] || fail "init not bound to node 0: $output"
}

@test "memoryPolicy: every mode and flag this one-node host allows, as the kernel reports it" {
	runc_differs "runc 1.1 does not know linux.memoryPolicy"
	requires_numa_maps
	make_bundle "$BUNDLE"
	local policy want
	while IFS='|' read -r policy want; do
		update_config ".linux.memoryPolicy = $policy"
		run_sh "$policy_of"
		assert_success
		[[ $output == "$want "* ]] || fail "$policy: expected '$want', got: $output"
	done <<-'EOF'
		{"mode":"MPOL_DEFAULT"}|default
		{"mode":"MPOL_LOCAL"}|local
		{"mode":"MPOL_PREFERRED","nodes":"0"}|prefer:0
		{"mode":"MPOL_BIND","nodes":"0"}|bind:0
		{"mode":"MPOL_INTERLEAVE","nodes":"0"}|interleave:0
		{"mode":"MPOL_PREFERRED_MANY","nodes":"0"}|prefer (many):0
		{"mode":"MPOL_WEIGHTED_INTERLEAVE","nodes":"0"}|weighted interleave:0
		{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_STATIC_NODES"]}|bind=static:0
		{"mode":"MPOL_INTERLEAVE","nodes":"0","flags":["MPOL_F_RELATIVE_NODES"]}|interleave=relative:0
		{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_NUMA_BALANCING"]}|bind=balancing:0
	EOF
}

@test "memoryPolicy: a node the host lacks, or a mode without nodes, is refused before anything exists" {
	runc_differs "runc 1.1 does not know linux.memoryPolicy"
	make_bundle "$BUNDLE"
	local last
	last=$(sed 's/.*[-,]//' /sys/devices/system/node/online 2>/dev/null || echo 0)
	update_config ".linux.memoryPolicy = {\"mode\": \"MPOL_BIND\", \"nodes\": \"0-$((last + 1))\"}"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "linux.memoryPolicy.nodes"
	assert_output_contains "node $((last + 1)) does not exist"
	update_config '.linux.memoryPolicy = {"mode": "MPOL_INTERLEAVE"}'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "MPOL_INTERLEAVE needs at least one node"
	run runtime state "$CID"
	assert_failure
	[ -z "$(ls -A "$STATE_ROOT" 2>/dev/null)" ] || fail "state left: $(ls -A "$STATE_ROOT")"
	[ -z "$(cgroup_dirs "/$CID")" ] || fail "cgroup left"
}

@test "execCPUAffinity final: an exec'd process runs on the CPUs asked for; the init is not pinned" {
	runc_differs "runc 1.1 does not know process.execCPUAffinity"
	requires_two_cpus
	local all
	all=$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status)
	make_bundle "$BUNDLE"
	# From config.json: exec without --process inherits the container's
	# process (as runc's exec does); config.md: not for the init.
	update_config '.process.execCPUAffinity = {"final": "1"}'
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run runtime exec "$CID" awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status
	assert_success
	assert_output 1
	run runtime exec "$CID" awk '/^Cpus_allowed_list:/ {print $2}' /proc/1/status
	assert_output "$all"
	# From --process, as engines pass it.
	jq -n '{args: ["awk", "/^Cpus_allowed_list:/ {print $2}", "/proc/self/status"], cwd: "/",
		user: {uid: 0, gid: 0}, execCPUAffinity: {initial: "1", final: "0"}}' >"$WORK/p.json"
	run runtime exec --process "$WORK/p.json" "$CID"
	assert_success
	assert_output 0
}

@test "execCPUAffinity initial: berth runs the process there until it is in the container's cgroup" {
	runc_differs "runc 1.1 does not know process.execCPUAffinity"
	requires_two_cpus
	make_bundle "$BUNDLE"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	jq -n '{args: ["awk", "/^Cpus_allowed_list:/ {print $2}", "/proc/self/status"], cwd: "/",
		user: {uid: 0, gid: 0}, execCPUAffinity: {initial: "1"}}' >"$WORK/p.json"
	run --separate-stderr runtime --debug --log "$WORK/log" exec --process "$WORK/p.json" "$CID"
	assert_success
	grep -q 'CPU affinity `1` until the process is in the container' "$WORK/log" ||
		fail "no initial affinity in the debug log: $(cat "$WORK/log")"
	# Without `final` the kernel decides once the process is in the cgroup
	# (config.md). Since Linux 6.2 it keeps an affinity asked for with
	# sched_setaffinity within the cgroup's CPUs (so `initial` shows);
	# before, the move gave the process the cgroup's CPUs, as the init has.
	local pid
	pid=$(state_field "$CID" pid)
	if printf '6.2\n%s\n' "$(uname -r)" | sort -V -C; then
		assert_output 1
	else
		assert_output "$(awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$pid/status")"
	fi
	# berth's own affinity is put back: a second exec without it runs everywhere.
	jq '.execCPUAffinity = {final: "0-1"}' "$WORK/p.json" >"$WORK/p2.json"
	run runtime exec --process "$WORK/p2.json" "$CID"
	assert_output 0-1
}

@test "execCPUAffinity: a CPU the host lacks is refused before the process exists" {
	runc_differs "runc 1.1 does not know process.execCPUAffinity"
	make_bundle "$BUNDLE"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	local n
	n=$(nproc --all)
	jq -n --arg c "$((n + 8))" '{args: ["true"], cwd: "/", user: {uid: 0, gid: 0}, execCPUAffinity: {final: $c}}' \
		>"$WORK/p.json"
	run runtime exec --process "$WORK/p.json" "$CID"
	assert_failure
	assert_output_contains "execCPUAffinity.final"
	assert_output_contains "CPU $((n + 8)) does not exist"
	jq '.execCPUAffinity = {final: "1-0"}' "$WORK/p.json" >"$WORK/p2.json"
	run runtime exec --process "$WORK/p2.json" "$CID"
	assert_failure
}
