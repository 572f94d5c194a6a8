#!/usr/bin/env bats
# linux.netDevices (config-linux.md "Network Devices"): host devices moved
# into the container's network namespace, renamed when asked, with their
# permanent addresses and up; errors for a missing device, a name clash or
# no network namespace. The test makes a veth pair (this kernel lacks
# `dummy`); once the container's namespace is gone, the kernel destroys the
# moved veth and with it its host-side peer (the spec: the runtime MUST NOT
# move devices back before deletion).

load helpers

setup() {
	common_setup
	command -v ip >/dev/null || skip "needs iproute2"
	# Unique names (at most 15 bytes), removed by teardown if still there.
	VA=bva$$t$BATS_SUITE_TEST_NUMBER
	VB=bvb$$t$BATS_SUITE_TEST_NUMBER
	NETNS=berth-it-$$-$BATS_SUITE_TEST_NUMBER
}

teardown() {
	common_teardown
	ip link del "$VA" 2>/dev/null
	ip link del "$VB" 2>/dev/null
	ip netns del "$NETNS" 2>/dev/null
	return 0
}

make_veth() {
	ip link add "$VA" type veth peer name "$VB" || skip "cannot make a veth pair"
}

# host_has DEV: the device exists in the host's network namespace.
host_has() { ip link show "$1" >/dev/null 2>&1; }

@test "netDevices: a host veth moves in, renamed, with its address, up; the pair is gone after delete" {
	runc_differs "runc 1.1 does not know linux.netDevices"
	make_veth
	ip addr add 10.213.7.1/24 dev "$VA"
	make_bundle "$BUNDLE"
	update_config '.linux.netDevices = {($va): {"name": "ctr0"}}' --arg va "$VA"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run runtime exec "$CID" ip -o link show ctr0
	assert_success
	assert_output_contains "ctr0"
	[[ $output =~ \<[^\>]*UP ]] || fail "ctr0 is not up: $output"
	run runtime exec "$CID" ip -o addr show dev ctr0
	assert_output_contains "inet 10.213.7.1/24"
	run runtime exec "$CID" ip -o link show "$VA"
	assert_failure
	host_has "$VA" && fail "$VA is still on the host"
	host_has "$VB" || fail "the peer $VB left the host"
	runtime delete --force "$CID"
	# The namespace is freed asynchronously: its veth, and so the peer, go with it.
	retry 100 0.1 bash -c "! ip link show $VB >/dev/null 2>&1" || fail "$VB still on the host after delete"
	host_has "$VA" && fail "$VA came back to the host"
	return 0
}

@test "netDevices: without a name the host name is kept; a %d template is numbered by the kernel" {
	runc_differs "runc 1.1 does not know linux.netDevices"
	make_veth
	make_bundle "$BUNDLE"
	update_config '.linux.netDevices = {($va): {}, ($vb): {"name": "eth%d"}}' --arg va "$VA" --arg vb "$VB"
	run_sh "ip -o link show | cut -d: -f2 | tr -d ' ' | sed 's/@.*//' | sort | tr '\n' ' '"
	assert_success
	assert_output "$VA eth0 lo "
}

@test "netDevices: a missing device, a name clash, no network namespace: refused before anything exists" {
	runc_differs "runc 1.1 ignores linux.netDevices"
	make_veth
	make_bundle "$BUNDLE"
	local devs err
	while IFS='|' read -r devs err; do
		update_config ".linux.netDevices = $devs" --arg va "$VA" --arg vb "$VB"
		run_create -b "$BUNDLE" "$CID"
		assert_failure
		assert_output_contains "linux.netDevices"
		assert_output_contains "$err"
		run runtime state "$CID"
		assert_failure
		[ -z "$(cgroup_dirs "/$CID")" ] || fail "cgroup left"
		host_has "$VA" && host_has "$VB" || fail "a device left the host"
	done <<-'EOF'
		{"nosuchdev0": {}}|no network device `nosuchdev0` on the host
		{($va): {"name": "x0"}, ($vb): {"name": "x0"}}|is also the name asked for
		{($va): {"name": "lo"}}|already has a device named `lo`
		{($va): {"name": "bad/name"}}|not a valid interface name
	EOF
	update_config '.linux.netDevices = {($va): {}} | .linux.namespaces |= map(select(.type != "network"))' --arg va "$VA"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "needs a network namespace of the container's own"
	host_has "$VA" || fail "$VA left the host"
}

@test "netDevices: into a namespace joined by path; a create that fails afterwards moves them back" {
	runc_differs "runc 1.1 ignores linux.netDevices"
	make_veth
	ip netns add "$NETNS" || skip "cannot make a network namespace"
	ip netns exec "$NETNS" ip link add taken0 type veth peer name taken1
	make_bundle "$BUNDLE"
	update_config '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)
		| .linux.netDevices = {($va): {"name": "in0"}}' --arg p "/run/netns/$NETNS" --arg va "$VA"
	runtime run -d -b "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1
	run ip netns exec "$NETNS" ip -o link show in0
	assert_success
	host_has "$VA" && fail "$VA is still on the host"
	runtime delete --force "$CID"
	# The joined namespace outlives the container: the device stays there.
	run ip netns exec "$NETNS" ip -o link show in0
	assert_success
	ip netns exec "$NETNS" ip link del in0
	# A name the namespace already has: refused before anything moves.
	ip link add "$VA" type veth peer name "$VB"
	update_config '.linux.netDevices = {($va): {"name": "taken0"}}' --arg va "$VA"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "a device named \`taken0\` already exists"
	host_has "$VA" || fail "$VA left the host"
	# A create hook that fails after the move: the device comes back.
	update_config '.linux.netDevices = {($va): {"name": "in0"}} | .hooks.createRuntime = [{"path": "/bin/false"}]' \
		--arg va "$VA"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	host_has "$VA" || fail "$VA was not moved back to the host"
	run ip netns exec "$NETNS" ip -o link show in0
	assert_failure
}
