#!/usr/bin/env bats
# The README's "Using it" walk-through, run as written: the first sh block
# under "## Using it", line by line, with /tmp/ moved into this test's WORK,
# `berth` the runtime under test (with the test's private --root) and
# `imgtool` the repo's, whose store is made private too. Lines marked
# "needs a terminal" are left out (the terminal paths are tty.bats' job).

load helpers

# The repo's imgtool: the release build, else the debug one.
imgtool_bin() {
	local b
	for b in "$REPO_ROOT/target/release/imgtool" "$REPO_ROOT/target/debug/imgtool"; do
		[ -x "$b" ] && echo "$b" && return 0
	done
	return 1
}

@test "README: the 'Using it' walk-through works as written" {
	IMGTOOL=$(imgtool_bin) || fail "no imgtool built (make build)"
	awk '/^## Using it/ { f = 1 } f && /^```sh/ { b = 1; next } b && /^```/ { exit } b' \
		"$REPO_ROOT/README.md" >"$WORK/walk.sh"
	grep -q '^berth run' "$WORK/walk.sh" || fail "no sh block with berth commands under '## Using it'"
	grep -v 'needs a terminal' "$WORK/walk.sh" | sed "s#/tmp/#$WORK/#g" >"$WORK/walk-here.sh"
	cat >"$WORK/run.sh" <<-EOF
		set -euo pipefail
		berth() { "$RUNTIME" --root "$STATE_ROOT" "\$@"; }
		imgtool() { "$IMGTOOL" "\$@"; }
		export IMGTOOL_STORE=$WORK/store
		cd "$REPO_ROOT"
		set -x
		source "$WORK/walk-here.sh"
	EOF
	# output into a file: the detached containers inherit it
	bash "$WORK/run.sh" >"$WORK/out" 2>&1 </dev/null 3>&- || fail "walk-through failed (exit $?):" "$(cat "$WORK/out")"
	run cat "$WORK/out"
	grep -qx 'hello from [[:alnum:]-]*' <<<"$output" || fail "no 'hello from HOSTNAME' line" "$output"
	assert_output_contains "hello from pid"
	assert_output_contains '"status": "running"'
	# everything it made it also took away
	run runtime list -q
	assert_output ""
	[ ! -e "$WORK/box" ] || fail "imgtool remove left $WORK/box"
}

teardown() {
	[ -n "${WORK:-}" ] && [ -x "${IMGTOOL:-}" ] && [ -d "$WORK/box" ] &&
		IMGTOOL_STORE=$WORK/store "$IMGTOOL" remove --force "$WORK/box" 2>/dev/null
	common_teardown
}
