#!/bin/bash
bats_require_minimum_version 1.5.0
# Shared helpers for the root integration suite (bats).
#
# The suite is runtime-agnostic: RUNTIME names the binary under test (default:
# the repo's target/release/berth). `RUNTIME=runc make integration` runs the
# very same tests against runc, which checks the tests themselves; where the
# issue asks for something runc does differently the test calls
# `runc_differs "reason"` (listed in integration/compat.txt).
#
# Every test gets:
#   STATE_ROOT  a private --root for the runtime (/run/berth-test-<pid>-<n>)
#   WORK        a scratch dir (mode 0755 so user-namespaced roots can reach it)
#   BUNDLE      $WORK/bundle, made by make_bundle
#   CID         a container id unique to this test
# and a teardown that force-deletes every container the test made, kills the
# helper processes it registered, unmounts what is left below WORK, removes
# the cgroups it registered and removes STATE_ROOT and WORK.

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
INTEGRATION_DIR=$REPO_ROOT/integration
LIB_DIR=$INTEGRATION_DIR/lib

RUNTIME=${RUNTIME:-$REPO_ROOT/target/release/berth}
if [[ $RUNTIME != */* ]]; then RUNTIME=$(command -v -- "$RUNTIME" || echo "$RUNTIME"); fi
case $RUNTIME in /*) ;; *) RUNTIME=$PWD/$RUNTIME ;; esac
BUSYBOX=${BUSYBOX:-/bin/busybox}
# Seconds a single runtime call may take before the test gives up on it.
RUNTIME_TIMEOUT=${RUNTIME_TIMEOUT:-60}

# ------------------------------------------------------------ assertions --

fail() {
	printf '%s\n' "$@" >&2
	return 1
}

assert_success() {
	if [ "$status" -ne 0 ]; then
		fail "expected success, got exit $status" "output: $output" "${stderr:+stderr: $stderr}"
	fi
}

# assert_failure [STATUS]
assert_failure() {
	if [ "$status" -eq 0 ]; then
		fail "expected failure, got exit 0" "output: $output"
	elif [ $# -gt 0 ] && [ "$status" -ne "$1" ]; then
		fail "expected exit $1, got $status" "output: $output"
	fi
}

assert_equal() { # ACTUAL EXPECTED [what]
	if [ "$1" != "$2" ]; then
		fail "${3:-value} differs" "expected: '$2'" "actual:   '$1'"
	fi
}

assert_output() { # EXPECTED: whole $output
	assert_equal "$output" "$1" output
}

assert_output_contains() { # SUBSTRING (case-insensitive with -i)
	local nocase=0
	if [ "$1" = -i ]; then nocase=1; shift; fi
	if [ $nocase = 1 ]; then
		[[ ${output,,} == *"${1,,}"* ]] || fail "output lacks '$1'" "output: $output"
	else
		[[ $output == *"$1"* ]] || fail "output lacks '$1'" "output: $output"
	fi
}

assert_output_not_contains() {
	[[ $output != *"$1"* ]] || fail "output unexpectedly contains '$1'" "output: $output"
}

assert_line() { # EXACT_LINE: one line of $output equals it
	local l
	while IFS= read -r l; do [ "$l" = "$1" ] && return 0; done <<<"$output"
	fail "no line '$1' in output" "output: $output"
}

# ------------------------------------------------------------ skipping --

is_runc() {
	[ "$(basename "$(readlink -f "$RUNTIME")")" = runc ] && return 0
	"$RUNTIME" --version 2>/dev/null | head -n1 | grep -q '^runc '
}

# runc_differs REASON: the issue asks for behaviour runc does not have; the
# test checks the issue's behaviour and is skipped under runc.
runc_differs() {
	if is_runc; then skip "runc differs: $*"; fi
}

# requires FEATURE...: skip (with the reason) unless the host has all of them.
requires() {
	local f
	for f in "$@"; do
		case $f in
		root) [ "$(id -u)" = 0 ] || skip "needs root" ;;
		cgroups_v1)
			awk '$3 == "cgroup" {f=1} END {exit !f}' /proc/self/mounts || skip "needs cgroup v1 controllers" ;;
		cgroups_v2)
			awk '$3 == "cgroup2" {f=1} END {exit !f}' /proc/self/mounts || skip "needs a cgroup2 mount" ;;
		cgroups_unified)
			cgroup_unified ||
				skip "needs a pure cgroup v2 host (controllers in the unified hierarchy; this host's are v1)" ;;
		apparmor)
			[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] || skip "needs AppArmor enabled"
			command -v apparmor_parser >/dev/null || skip "needs apparmor_parser (apparmor)" ;;
		userns)
			[ -e /proc/self/ns/user ] || skip "needs user namespaces"
			[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" != 0 ] || skip "user namespaces disabled" ;;
		timens) [ -e /proc/self/ns/time ] || skip "needs time namespaces" ;;
		podman) command -v podman >/dev/null || skip "needs podman" ;;
		containerd) command -v containerd >/dev/null && command -v ctr >/dev/null || skip "needs containerd and ctr" ;;
		python3) command -v python3 >/dev/null || skip "needs python3" ;;
		umoci) command -v umoci >/dev/null || skip "needs umoci" ;;
		skopeo) command -v skopeo >/dev/null || skip "needs skopeo" ;;
		criu) find_criu || skip "needs a CRIU that works on this kernel (make criu; \$CRIU overrides)" ;;
		*) fail "requires: unknown feature '$f'" ;;
		esac
	done
}

# find_criu: set CRIU to a CRIU that works on this kernel ($CRIU if set,
# else what integration/criu-build.sh --check finds; looked up once per run).
find_criu() {
	if [ -z "${CRIU:-}" ]; then
		local cache=$BATS_RUN_TMPDIR/.criu
		[ -f "$cache" ] || "$INTEGRATION_DIR/criu-build.sh" --check >"$cache" 2>/dev/null
		CRIU=$(cat "$cache")
	fi
	[ -n "$CRIU" ] && [ -x "$CRIU" ]
}

# ------------------------------------------------------------ runtime --

# runtime ARGS...: the runtime under test with this test's private --root.
# fd 3 (bats' own output) is closed: a container init holding it would keep
# bats waiting. Never capture the stdout of a successful create with `run` or
# $(...): the container inherits it, and the capture waits until it exits.
runtime() {
	timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" "$@" 3>&-
}

# run_create ARGS...: `run runtime create ARGS` for creates expected to fail,
# safe when one wrongly succeeds: the output goes through a file, so the new
# container cannot hold bats' capture pipe open.
run_create() {
	run bash -c 'f=$1; shift; "$@" >"$f" 2>&1 </dev/null; rc=$?; cat "$f"; exit $rc' _ "$WORK/.create.out" \
		timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" --root "$STATE_ROOT" create "$@" 3>&-
}

# runtime_default_root ARGS...: the runtime with its default state root (no
# --root). Register ids made this way with track_default_root_id.
runtime_default_root() {
	timeout -k 5 "$RUNTIME_TIMEOUT" "$RUNTIME" "$@" 3>&-
}

track_default_root_id() { echo "$1" >>"$WORK/.default-root-ids"; }

# track_pid PID: a helper process the teardown must kill.
track_pid() { echo "$1" >>"$WORK/.pids"; }

# track_cgroup PATH: a cgroupsPath (absolute) the teardown removes from every hierarchy.
track_cgroup() { echo "$1" >>"$WORK/.cgroups"; }

# state_field ID FIELD: one field of `state ID` (empty when state fails).
state_field() {
	runtime state "$1" 2>/dev/null | jq -r ".$2"
}

# wait_status ID STATUS [TRIES]: poll state (every 0.1 s) until STATUS.
wait_status() {
	local i st
	for ((i = 0; i < ${3:-100}; i++)); do
		st=$(state_field "$1" status)
		[ "$st" = "$2" ] && return 0
		sleep 0.1
	done
	fail "container $1: status '$st', wanted '$2'"
}

# retry TRIES DELAY CMD...
retry() {
	local n=$1 d=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep "$d"
	done
	return 1
}

# ------------------------------------------------------------ bundles --

# The busybox rootfs is built once per bats run and copied per bundle.
rootfs_template() {
	local t=$BATS_RUN_TMPDIR/rootfs-template
	(
		flock 9
		if [ ! -f "$t/.done" ]; then
			rm -rf "$t" && mkdir -p "$t"
			build_rootfs "$t" && touch "$t/.done"
		fi
	) 9>"$BATS_RUN_TMPDIR/.rootfs.lock"
	echo "$t"
}

# build_rootfs DIR: busybox + applet symlinks, passwd/group, the usual dirs.
build_rootfs() {
	local r=$1 a
	[ -x "$BUSYBOX" ] || fail "$BUSYBOX missing (apt-get install busybox-static)" || return 1
	mkdir -p "$r"/{bin,sbin,etc,dev,proc,sys,tmp,root,run,var,mnt,usr/bin,usr/sbin}
	chmod 1777 "$r/tmp"
	cp "$BUSYBOX" "$r/bin/busybox"
	for a in $("$BUSYBOX" --list); do
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	cat >"$r/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/:/bin/false
		user:x:1000:1000:user:/tmp:/bin/sh
		nobody:x:65534:65534:nobody:/:/bin/false
	EOF
	cat >"$r/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		users:x:100:
		user:x:1000:
		nogroup:x:65534:
	EOF
	echo berth-test >"$r/etc/hostname"
}

# A default config.json: `$RUNTIME spec`, or `runc spec` if that fails.
spec_template() {
	local d
	d=$(mktemp -d "$WORK/spec.XXXXXX")
	if ! (cd "$d" && "$RUNTIME" spec >/dev/null 2>&1 && jq -e .ociVersion config.json >/dev/null 2>&1); then
		rm -f "$d/config.json"
		(cd "$d" && runc spec) || fail "neither '$RUNTIME spec' nor 'runc spec' made a config.json" || return 1
	fi
	cat "$d/config.json"
	rm -rf "$d"
}

# make_bundle DIR [ARGS...]: a busybox bundle in DIR; process.args = ARGS
# (default: sleep 3600), terminal false, root.readonly false. Sets BUNDLE=DIR.
make_bundle() {
	local dir=$1 t
	shift
	[ $# -gt 0 ] || set -- sleep 3600
	mkdir -p "$dir"
	t=$(rootfs_template) || return 1
	cp -a "$t" "$dir/rootfs" && rm -f "$dir/rootfs/.done"
	spec_template >"$dir/config.json.in" || return 1
	jq --argjson args "$(json_array "$@")" '.process.terminal = false | .process.args = $args | .root.readonly = false' \
		<"$dir/config.json.in" >"$dir/config.json"
	rm -f "$dir/config.json.in"
	echo "$dir" >>"$WORK/.bundles"
	BUNDLE=$dir
}

# update_config 'JQ EXPR' [JQ ARGS...]: edit $BUNDLE/config.json in place.
update_config() {
	local expr=$1
	shift
	jq "$@" "$expr" "$BUNDLE/config.json" >"$BUNDLE/config.json.new" &&
		mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# set_args ARGS...: process.args of $BUNDLE.
set_args() {
	update_config '.process.args = $args' --argjson args "$(json_array "$@")"
}

# json_array STRINGS...: a JSON array of the arguments.
json_array() {
	local x out=
	for x in "$@"; do out+=${out:+,}$(jq -n --arg v "$x" '$v'); done
	echo "[$out]"
}

# run_sh SCRIPT: run `sh -c SCRIPT` in a foreground container ($CID, $BUNDLE)
# through bats' `run` with stdout and stderr apart ($output, $stderr, $status).
run_sh() {
	set_args sh -c "$1"
	run --separate-stderr runtime run -b "$BUNDLE" "$CID" </dev/null
}

# ------------------------------------------------------------ host state --

# Mount points at or below DIR in this mount namespace.
mounts_under() {
	awk -v p="$1" '$5 == p || index($5, p "/") == 1 {print $5}' /proc/self/mountinfo
}

# Every v1 controller hierarchy (and cgroup2) mount point.
cgroup_mounts() {
	awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts
}

# ------------------------------------------------------------ cgroups --
# Tests read the host's cgroup layout instead of assuming one: on a pure v2
# host (/sys/fs/cgroup is cgroup2) every controller is in the one unified
# hierarchy; otherwise (v1 or hybrid) each v1 controller has its own.

# cgroup_unified: true on a pure cgroup v2 host.
cgroup_unified() { [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; }

# cgroup_mount CONTROLLER: the mount point of the hierarchy that holds
# CONTROLLER (v1: its own mount; v2: /sys/fs/cgroup, where the freezer is
# cgroup.freeze and the device filter an eBPF program). Empty if none.
cgroup_mount() {
	if cgroup_unified; then
		case $1 in freezer | devices) echo /sys/fs/cgroup ;; esac
		grep -qw -- "$1" /sys/fs/cgroup/cgroup.controllers && echo /sys/fs/cgroup
		return 0
	fi
	awk -v c="$1" '$3 == "cgroup" && ("," $4 ",") ~ ("," c ",") {print $2; exit}' /proc/self/mounts
}

# cgroup_of PID [CONTROLLER]: the cgroup path of PID in the hierarchy that
# holds CONTROLLER (v1), or in the unified one (v2, or no CONTROLLER).
cgroup_of() {
	if [ -z "${2:-}" ] || cgroup_unified; then
		sed -n 's/^0:://p' "/proc/$1/cgroup"
	else
		awk -F: -v c="$2" '("," $2 ",") ~ ("," c ",") {print $3; exit}' "/proc/$1/cgroup"
	fi
}

# cgroup_file CONTROLLER CGPATH FILE: the host path of FILE in the cgroup
# CGPATH of the hierarchy holding CONTROLLER.
cgroup_file() {
	local m
	m=$(cgroup_mount "$1")
	[ -n "$m" ] || fail "no cgroup hierarchy holds the $1 controller" || return 1
	echo "$m$2/$3"
}

# cgroup_dirs PATH: the dirs of cgroupsPath PATH that exist in any hierarchy.
cgroup_dirs() {
	local m
	for m in $(cgroup_mounts); do
		[ -d "$m$1" ] && echo "$m$1"
	done
	return 0
}

# ------------------------------------------------------------ setup/teardown --

common_setup() {
	requires root
	[ -x "$RUNTIME" ] || fail "runtime '$RUNTIME' not found or not executable (make build, or set RUNTIME=)"
	STATE_ROOT=/run/berth-test-$$-$BATS_SUITE_TEST_NUMBER
	rm -rf "$STATE_ROOT"
	WORK=$(mktemp -d /tmp/berth-it.XXXXXX)
	chmod 755 "$WORK"
	CID=bt-$$-$BATS_SUITE_TEST_NUMBER
	BUNDLE=$WORK/bundle
}

# Delete every container of STATE_ROOT (and registered default-root ids).
delete_all_containers() {
	local ids id pid
	[ -n "${STATE_ROOT:-}" ] || return 0
	ids=$({
		timeout -k 2 20 "$RUNTIME" --root "$STATE_ROOT" list -q 2>/dev/null
		[ -d "$STATE_ROOT" ] && ls -A "$STATE_ROOT" 2>/dev/null
		echo "$CID"
	} | sort -u)
	for id in $ids; do
		pid=$(timeout -k 2 20 "$RUNTIME" --root "$STATE_ROOT" state "$id" 2>/dev/null | jq -r '.pid // 0' 2>/dev/null)
		timeout -k 2 20 "$RUNTIME" --root "$STATE_ROOT" delete --force "$id" >/dev/null 2>&1
		if timeout -k 2 20 "$RUNTIME" --root "$STATE_ROOT" state "$id" >/dev/null 2>&1; then
			echo "# teardown: runtime could not delete $id; killing pid ${pid:-?}" >&3
			[ -n "$pid" ] && [ "$pid" -gt 1 ] && kill -KILL "$pid" 2>/dev/null
			sleep 0.2
			timeout -k 2 20 "$RUNTIME" --root "$STATE_ROOT" delete --force "$id" >/dev/null 2>&1
		fi
	done
	if [ -f "$WORK/.default-root-ids" ]; then
		for id in $(sort -u "$WORK/.default-root-ids"); do
			timeout -k 2 20 "$RUNTIME" delete --force "$id" >/dev/null 2>&1
		done
	fi
}

# kill_strays: processes whose cgroup path names this test's unique CID (an
# init whose state the runtime lost), then remove those cgroups.
kill_strays() {
	local f p m d
	[ -n "${CID:-}" ] || return 0
	# one grep over every process (forks are dear in an emulated guest)
	for f in $(grep -l -e "/$CID" -e "/berth-it-$CID" /proc/[0-9]*/cgroup 2>/dev/null); do
		p=${f#/proc/}
		p=${p%/cgroup}
		[ "$p" != $$ ] && [ "$p" != "$BASHPID" ] || continue
		# zombies and exiting processes (pid 1 reaps them) are not strays
		# (their cmdline is empty; `-s` cannot tell: proc files have size 0)
		[ -n "$(tr -d '\0' <"/proc/$p/cmdline" 2>/dev/null)" ] || continue
		echo "# teardown: killing stray container process $p ($(tr "\0" " " <"/proc/$p/cmdline" 2>/dev/null))" >&3
		kill -KILL "$p" 2>/dev/null
	done
	sleep 0.1
	for m in $(cgroup_mounts); do
		for d in "$m/$CID"*; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null
		done
	done
	return 0
}

common_teardown() {
	[ -n "${WORK:-}" ] && [ -d "$WORK" ] || return 0
	delete_all_containers
	local p m c
	kill_strays
	if [ -f "$WORK/.pids" ]; then
		for p in $(cat "$WORK/.pids"); do
			[ "$p" -gt 1 ] 2>/dev/null && kill -KILL "$p" 2>/dev/null
		done
	fi
	if [ -f "$WORK/.cgroups" ]; then
		for c in $(sort -u "$WORK/.cgroups"); do
			# deepest first; rmdir only removes empty, unused cgroups
			for m in $(cgroup_dirs "$c" | sort -r); do rmdir "$m" 2>/dev/null; done
		done
	fi
	for m in $(mounts_under "$WORK" | sort -r) $(mounts_under "$STATE_ROOT" | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf --one-file-system "$WORK"
	[ -n "${STATE_ROOT:-}" ] && rm -rf --one-file-system "$STATE_ROOT"
	return 0
}

setup() { common_setup; }
teardown() { common_teardown; }
