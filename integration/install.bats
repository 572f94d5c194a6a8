#!/usr/bin/env bats
# `make install` as a person at a shell uses it: berth and imgtool, their man
# pages and bash/zsh/fish completions, under PREFIX inside DESTDIR (the host's
# /usr/local is untouched), and `make uninstall` takes them all away again.
# The binaries installed are the repo's own (not RUNTIME's): this file checks
# the installation, the same under RUNTIME=runc.

load helpers

# Installed once for the file; the last test uninstalls.
setup_file() {
	export DEST=$BATS_FILE_TMPDIR/dest PREFIX=/opt/berth-it
	export P=$DEST$PREFIX
	make -s -C "$REPO_ROOT" install DESTDIR="$DEST" PREFIX="$PREFIX" >"$BATS_FILE_TMPDIR/make.log" 2>&1 ||
		touch "$BATS_FILE_TMPDIR/install-failed"
}

setup() {
	common_setup
	[ ! -e "$BATS_FILE_TMPDIR/install-failed" ] ||
		fail "make install failed: $(tail -n 20 "$BATS_FILE_TMPDIR/make.log")"
}

@test "make install: berth and imgtool in PREFIX/bin, and they run" {
	[ -x "$P/bin/berth" ] && [ -x "$P/bin/imgtool" ] || fail "binaries missing: $(ls -R "$DEST")"
	run "$P/bin/berth" --version
	assert_success
	assert_output_contains "berth version"
	run "$P/bin/imgtool" --version
	assert_success
	assert_output_contains imgtool
	# nothing outside PREFIX
	run ls "$DEST"
	assert_output opt
	run ls "$DEST/opt"
	assert_output berth-it
	run ls "$P"
	assert_output "bin
share"
}

@test "make install: a man page for berth, imgtool and each verb, and man renders them" {
	requires_man
	local verbs="create start run state kill delete exec list pause resume ps update events spec features"
	for v in "" $verbs; do
		[ -f "$P/share/man/man8/berth${v:+-$v}.8" ] || fail "no berth${v:+-$v}.8: $(ls "$P/share/man/man8")"
	done
	for v in "" unpack create remove gc list inspect; do
		[ -f "$P/share/man/man1/imgtool${v:+-$v}.1" ] || fail "no imgtool${v:+-$v}.1: $(ls "$P/share/man/man1")"
	done
	for f in "$P"/share/man/man8/*.8 "$P"/share/man/man1/*.1; do
		run --separate-stderr env MANWIDTH=100 man --warnings -l "$f"
		[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail "man -l $f: exit $status: $stderr"
		assert_output_contains NAME
		assert_output_contains SYNOPSIS
	done
	# the pages are found through MANPATH, as after a real install
	run env MANPATH="$P/share/man" MANWIDTH=100 man 8 berth-exec
	assert_success
	assert_output_contains "berth-exec - Run a new process inside a running container"
	assert_output_contains --console-socket
	run env MANPATH="$P/share/man" MANWIDTH=100 man 8 berth
	assert_output_contains "berth-create(8)"
}

@test "make install: bash completion parses and completes verbs and flags" {
	f=$P/share/bash-completion/completions/berth
	run bash -n "$f"
	assert_success
	bash -n "$P/share/bash-completion/completions/imgtool"
	run bash -c 'source "$1"; complete -p berth; COMP_WORDS=(berth ex); COMP_CWORD=1; _berth berth ex berth; printf "%s\n" "${COMPREPLY[@]}"' _ "$f"
	assert_success
	assert_output_contains "-F _berth"
	assert_line exec
	run bash -c 'source "$1"; COMP_WORDS=(berth exec --con); COMP_CWORD=2; _berth berth --con exec; printf "%s\n" "${COMPREPLY[@]}"' _ "$f"
	assert_line --console-socket
	run bash -c 'source "$1"; COMP_WORDS=(imgtool cr); COMP_CWORD=1; _imgtool imgtool cr imgtool; printf "%s\n" "${COMPREPLY[@]}"' _ "$P/share/bash-completion/completions/imgtool"
	assert_line create
}

@test "make install: zsh and fish completions parse" {
	command -v zsh >/dev/null || skip "needs zsh (make deps)"
	command -v fish >/dev/null || skip "needs fish (make deps)"
	for p in berth imgtool; do
		run zsh -n "$P/share/zsh/site-functions/_$p"
		[ "$status" -eq 0 ] || fail "zsh -n _$p: $output"
		run fish --no-execute "$P/share/fish/vendor_completions.d/$p.fish"
		[ "$status" -eq 0 ] || fail "fish --no-execute $p.fish: $output"
	done
	run fish -c "source $P/share/fish/vendor_completions.d/berth.fish; complete -C 'berth ex'"
	assert_success
	assert_output_contains exec
}

@test "make uninstall removes everything make install put there" {
	run make -s -C "$REPO_ROOT" uninstall DESTDIR="$DEST" PREFIX="$PREFIX"
	assert_success
	run find "$DEST" -type f
	assert_output ""
}

requires_man() {
	command -v man >/dev/null || skip "needs man (make deps: man-db)"
}
