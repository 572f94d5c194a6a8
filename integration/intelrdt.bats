#!/usr/bin/env bats
# linux.intelRdt (config-linux.md "IntelRdt"): with no resctrl filesystem
# mounted the runtime MUST generate an error. This host has no resctrl (no
# Intel RDT), so what runs here is the refusal; the group, schemata and
# monitoring writes are unit-tested against a fixture resctrl tree
# (src/resctrl.rs).

load helpers

resctrl_mounted() { awk '$3 == "resctrl" {f=1} END {exit !f}' /proc/self/mounts; }

setup() {
	common_setup
	if resctrl_mounted; then
		skip "resctrl is mounted here: these tests are for a host without it"
	fi
}

# refused JSON [MESSAGE]: create with linux.intelRdt = JSON fails naming
# Intel RDT (and MESSAGE), and leaves no state and no cgroup.
refused() {
	update_config ".linux.intelRdt = $1"
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "Intel RDT"
	[ -z "${2:-}" ] || assert_output_contains "$2"
	run runtime state "$CID"
	assert_failure
	[ -z "$(ls -A "$STATE_ROOT" 2>/dev/null)" ] || fail "state left: $(ls -A "$STATE_ROOT")"
	[ -z "$(cgroup_dirs "/$CID")" ] || fail "cgroup left"
}

@test "intelRdt cache and bandwidth schemas without resctrl: refused, nothing left" {
	make_bundle "$BUNDLE"
	refused '{"l3CacheSchema": "L3:0=f"}'
	refused '{"closID": "gold", "memBwSchema": "MB:0=50"}'
}

@test "intelRdt closID, schemata or monitoring without resctrl: refused, nothing left" {
	runc_differs "runc 1.1 ignores intelRdt without l3CacheSchema/memBwSchema when RDT is off"
	make_bundle "$BUNDLE"
	refused '{"closID": "gold"}' "no resctrl filesystem is mounted"
	refused '{"schemata": ["L3:0=f", "MB:0=50"]}'
	refused '{"enableMonitoring": true}'
	refused '{"closID": "/"}'
}

@test "features: intelRdt is supported; the annotation says this host has no resctrl" {
	runc_differs "runc 1.1's features has no resctrl annotation"
	run runtime features
	assert_success
	assert_equal "$(jq -cS .linux.intelRdt <<<"$output")" '{"enabled":true,"monitoring":true,"schemata":true}'
	assert_equal "$(jq -r '.annotations["io.github.berth.resctrl"]' <<<"$output")" \
		"not mounted: linux.intelRdt is refused on this host"
}
