#!/bin/bash
# Run the OCI runtime-tools validation suite (58 tests) against a runtime.
#
# usage: integration/conformance.sh [RUNTIME]     (default: $RUNTIME, else
#        the repo's target/release/berth). Needs root.
#
# Everything comes from Debian: golang-go and the golang-*-dev libraries
# (installed with apt-get when missing), and the runtime-tools tree from the
# Debian *source* package (bookworm's -dev package lacks validation/ and
# cmd/runtimetest), fetched with `apt-get source` through a private apt
# configuration so the system's apt state is untouched. The build is cached in
# $CONFORMANCE_CACHE (default /var/tmp/berth-conformance).
#
# Output: one line per test, then exactly one `runtime-tools: P passed, F failed`.
# Counting: TAP `ok`/`not ok` lines at column 0 (SKIP is not a pass, TODO not a
# failure); a test that exits non-zero or times out counts one failure; a test
# without assertions (hooks, *_fail, ...) counts one pass unless it printed a
# YAML `error:` block.
#
# Knobs: CONFORMANCE_TESTS="a b" (only these), CONFORMANCE_TIMEOUT (s, 60),
# CONFORMANCE_NO_APT=1, CONFORMANCE_SRC=tarball, CONFORMANCE_MIRROR=uri,
# CONFORMANCE_HIDE_CGROUP2=1 (run each runtime call in a mount namespace
# without /sys/fs/cgroup/unified: lets crun run on a hybrid host),
# CONFORMANCE_STRICT=1 (exit 1 when anything failed).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${CONFORMANCE_CACHE:-/var/tmp/berth-conformance}
TIMEOUT=${CONFORMANCE_TIMEOUT:-60}
PKG=golang-github-opencontainers-runtime-tools
VER=0.9.0.109.ge931285-1
ORIG=${PKG}_0.9.0.109.ge931285.orig.tar.xz
ORIG_SHA256=203989a1ea98cf2aaced79155bbda09270b20db19b03376dde91ab12e5e6a0fe
SUITE=trixie # bookworm's orig tarball is gone from the mirrors
GOPATH_DIR=$CACHE/gopath
SRC=$GOPATH_DIR/src/github.com/opencontainers/runtime-tools
OUT=$CACHE/bin
STAMP_KEY="v1 $ORIG_SHA256"
DEPS=(golang-go golang-github-opencontainers-runtime-tools-dev golang-github-google-uuid-dev
	golang-github-blang-semver-dev golang-github-hashicorp-go-multierror-dev
	golang-github-mrunalp-fileutils-dev golang-github-opencontainers-specs-dev
	golang-github-opencontainers-selinux-dev golang-github-sirupsen-logrus-dev
	golang-github-urfave-cli-dev golang-github-xeipuuv-gojsonschema-dev golang-gocapability-dev
	golang-golang-x-sys-dev golang-gopkg-yaml.v3-dev debian-archive-keyring xz-utils util-linux)

say() { echo "[conformance] $*" >&2; }
die() { say "error: $*"; exit 2; }

install_deps() {
	[ "${CONFORMANCE_NO_APT:-0}" = 1 ] && return 0
	local p missing=()
	for p in "${DEPS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	say "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
		die "apt-get install failed"
}

# shellcheck source=lib/debsrc.sh
source "$(dirname "$0")/lib/debsrc.sh"

fetch_source() { # prints the verified orig tarball
	if [ -n "${CONFORMANCE_SRC:-}" ]; then echo "$CONFORMANCE_SRC"; return; fi
	if [ "${CONFORMANCE_NO_APT:-0}" = 1 ] && ! { [ -f "$CACHE/download/$ORIG" ] &&
		echo "$ORIG_SHA256  $CACHE/download/$ORIG" | sha256sum -c --status; }; then
		die "no source tarball and CONFORMANCE_NO_APT=1"
	fi
	debsrc_fetch "$CACHE" "${CONFORMANCE_MIRROR:-}" "$SUITE" "$PKG=$VER" "$ORIG" "$ORIG_SHA256"
}

# Debian lacks github.com/mndrix/tap-go: a small TAP 13 writer with the API
# the suite uses.
write_tap() {
	local d=$GOPATH_DIR/src/github.com/mndrix/tap-go
	mkdir -p "$d"
	cat >"$d/tap.go" <<'EOF'
// Package tap writes TAP 13 (stand-in for github.com/mndrix/tap-go).
package tap

import (
	"fmt"
	"io"
	"os"
	"strings"

	yaml "gopkg.in/yaml.v3"
)

type T struct {
	next   *int
	todo   bool
	Writer io.Writer
}

func New() *T { n := 1; return &T{next: &n} }

func (t *T) out(f string, a ...interface{}) {
	var w io.Writer = os.Stdout
	if t.Writer != nil {
		w = t.Writer
	}
	fmt.Fprintf(w, f, a...)
}

func (t *T) Header(n int) {
	t.out("TAP version 13\n")
	if n > 0 {
		t.out("1..%d\n", n)
	}
}

func (t *T) Ok(ok bool, msg string) {
	s, d := "ok", ""
	if !ok {
		s = "not ok"
	}
	if t.todo {
		d = " # TODO"
	}
	t.out("%s %d - %s%s\n", s, *t.next, msg, d)
	*t.next++
}

func (t *T) Pass(msg string) { t.Ok(true, msg) }
func (t *T) Fail(msg string) { t.Ok(false, msg) }

func (t *T) Skip(n int, msg string) {
	for i := 0; i < n; i++ {
		t.out("ok %d # SKIP %s\n", *t.next, msg)
		*t.next++
	}
}

func (t *T) Todo() *T    { return &T{next: t.next, todo: true, Writer: t.Writer} }
func (t *T) Count() int  { return *t.next - 1 }
func (t *T) AutoPlan()   { t.out("1..%d\n", t.Count()) }

func (t *T) Diagnostic(msg string) {
	t.out("# %s\n", strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", "\n# "))
}

func (t *T) Diagnosticf(f string, a ...interface{}) { t.Diagnostic(fmt.Sprintf(f, a...)) }

func (t *T) YAML(v interface{}) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	t.out("  ---\n")
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		t.out("  %s\n", l)
	}
	t.out("  ...\n")
	return nil
}
EOF
}

# Debian's blang/semver is v4 code at the v1 import path; GOPATH mode needs
# it at .../semver/v4 too.
write_semver_v4() {
	local from=/usr/share/gocode/src/github.com/blang/semver to=$GOPATH_DIR/src/github.com/blang/semver/v4
	mkdir -p "$to"
	find "$from" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$to/" \;
}

# Go >= 1.19 raises the soft RLIMIT_NOFILE in package os's init, so
# runtimetest would check a limit the runtime never set (runtime-tools #806).
# Record the limit in a package that only imports syscall (initialised before
# os) and let runtimetest read that record.
fix_rlimit_check() {
	local d=$SRC/cmd/runtimetest
	grep -q 'syscall.Getrlimit(rl, &rlimit)' "$d/main.go" || return 0
	mkdir -p "$d/startlimit"
	cat >"$d/startlimit/startlimit.go" <<'EOF'
// Package startlimit keeps RLIMIT_NOFILE as the process started with it.
package startlimit

import "syscall"

var NoFile syscall.Rlimit
var Have bool

func init() { Have = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &NoFile) == nil }
EOF
	cat >"$d/a_startlimit.go" <<'EOF'
package main

import (
	"syscall"

	"github.com/opencontainers/runtime-tools/cmd/runtimetest/startlimit"
)

func getrlimitAtStart(res int, l *syscall.Rlimit) error {
	if res == syscall.RLIMIT_NOFILE && startlimit.Have {
		*l = startlimit.NoFile
		return nil
	}
	return syscall.Getrlimit(res, l)
}
EOF
	sed -i 's/syscall\.Getrlimit(rl, &rlimit)/getrlimitAtStart(rl, \&rlimit)/' "$d/main.go"
}

build() {
	if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$STAMP_KEY $(go version 2>/dev/null)" ]; then
		return 0
	fi
	command -v go >/dev/null || die "go missing (golang-go)"
	local tarball arch
	tarball=$(fetch_source) || exit 2
	rm -rf "$GOPATH_DIR" "$OUT.tmp" && mkdir -p "$SRC" "$OUT.tmp/validation"
	tar -xaf "$tarball" -C "$SRC" --strip-components=1 || die "cannot unpack $tarball"
	write_tap
	write_semver_v4
	fix_rlimit_check
	say "building runtime-tools with $(go version)"
	(cd "$SRC" && export GOPATH="$GOPATH_DIR:/usr/share/gocode" GO111MODULE=off GOFLAGS= \
		GOCACHE="$CACHE/gocache" CGO_ENABLED=0 GOPROXY=off &&
		go build -tags "netgo osusergo" -o "$OUT.tmp/runtimetest" ./cmd/runtimetest &&
		go build -o "$OUT.tmp/validation/" ./validation/...) >&2 || die "go build failed"
	arch=$(go env GOARCH)
	# the source tree's busybox rootfs, with runtimetest inside (misc_props
	# runs the default /runtimetest in a bundle it never copies it into)
	local r
	r=$(mktemp -d "$CACHE/rootfs.XXXXXX") && chmod 755 "$r"
	tar -xzf "$SRC/rootfs-$arch.tar.gz" -C "$r" && cp "$OUT.tmp/runtimetest" "$r/" &&
		tar -C "$r" -czf "$OUT.tmp/rootfs-$arch.tar.gz" . || die "cannot prepare rootfs-$arch.tar.gz"
	rm -rf "$r" "$OUT" && mv "$OUT.tmp" "$OUT"
	echo "$STAMP_KEY $(go version)" >"$OUT/.stamp"
}

# A wrapper set as RUNTIME for the tests: records every id given to create,
# then execs the runtime with the same argv, fds and pid.
write_wrapper() { # FILE IDS
	{
		echo '#!/bin/bash'
		printf 'rt=%q ids=%q hide=%q\n' "$RT" "$2" "${CONFORMANCE_HIDE_CGROUP2:-0}"
		cat <<'EOF'
if [ "${1-}" = create ]; then
	for a; do last=$a; done
	case $last in -*|create) ;; *) echo "$last" >>"$ids" ;; esac
fi
if [ "$hide" = 1 ]; then
	exec unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"' "$rt" "$@"
fi
exec "$rt" "$@"
EOF
	} >"$1"
	chmod 755 "$1"
}

cleanup_test() { # DIR
	local d=$1 id pid m
	for id in $(sort -u "$d/ids" 2>/dev/null); do
		timeout -k 5 20 "$RT" state "$id" >/dev/null 2>&1 || continue
		pid=$(timeout -k 5 20 "$RT" state "$id" 2>/dev/null | jq -r '.pid // 0')
		timeout -k 5 20 "$RT" delete --force "$id" >/dev/null 2>&1
		if timeout -k 5 20 "$RT" state "$id" >/dev/null 2>&1 && [ "${pid:-0}" -gt 1 ]; then
			kill -KILL "$pid" 2>/dev/null
			sleep 0.3
			timeout -k 5 20 "$RT" delete --force "$id" >/dev/null 2>&1
		fi
	done
	for m in $(awk -v p="$d/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m"; done
	# the cgroup tests use fixed paths; rmdir removes only empty ones
	for m in $(awk '$3 ~ /^cgroup2?$/ {print $2}' /proc/self/mounts); do
		for p in testdir/cgrouptest/container testdir/cgrouptest testdir cgrouptest; do
			[ -d "$m/$p" ] && rmdir "$m/$p" 2>/dev/null
		done
	done
	rm -rf --one-file-system "$d"
}

# count TAPFILE RC -> "STATUS PASS FAIL"
count() {
	local tap=$1 rc=$2 ok nok plan
	read -r ok nok plan < <(awk '
		/^ok([ \t]|$)/ { if ($0 !~ /# *[Ss][Kk][Ii][Pp]/) p++; next }
		/^not ok([ \t]|$)/ { if ($0 !~ /# *[Tt][Oo][Dd][Oo]/) f++; next }
		/^1\.\.[0-9]+/ { n = substr($0, 4) + 0 }
		END { print p + 0, f + 0, (n == "" ? -1 : n) }' "$tap")
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "TIMEOUT 0 1"
	elif [ "$rc" != 0 ]; then echo "ERROR 0 1"
	elif [ $((ok + nok)) = 0 ] && [ "$plan" -le 0 ]; then
		if grep -q '^  error:' "$tap"; then echo "FAIL 0 1"; else echo "PASS 1 0"; fi
	elif [ "$nok" -gt 0 ]; then echo "FAIL $ok $nok"
	else echo "PASS $ok 0"; fi
}

main() {
	[ "$(id -u)" = 0 ] || die "needs root"
	local want=${1:-${RUNTIME:-$HERE/../target/release/berth}}
	RT=$(command -v "$want" 2>/dev/null || echo "$want")
	RT=$(readlink -f "$RT")
	[ -x "$RT" ] || die "runtime '$want' not found (make build?)"
	command -v jq >/dev/null || die "jq missing"
	install_deps
	build
	local arch work t d rc res st p f P=0 F=0 t0
	arch=$(cd / && go env GOARCH)
	work=$(mktemp -d /tmp/berth-conformance.XXXXXX) && chmod 755 "$work"
	# like a systemd host, put the bundles under a shared mount: the runtime
	# must make the rootfs's parent private before pivot_root
	mount --bind "$work" "$work" && mount --make-rshared "$work"
	trap 'umount -l "$work" 2>/dev/null; rm -rf --one-file-system "$work"' EXIT
	trap 'exit 130' INT TERM
	echo "# runtime-tools $VER against $RT ($("$RT" --version 2>/dev/null | head -n1))"
	for t in "$OUT"/validation/*; do
		t=${t##*/}
		[ -z "${CONFORMANCE_TESTS:-}" ] || [[ " $CONFORMANCE_TESTS " == *" $t "* ]] || continue
		d=$work/$t
		mkdir -p "$d/tmp"
		cp "$OUT/runtimetest" "$OUT/rootfs-$arch.tar.gz" "$d/"
		: >"$d/ids"
		write_wrapper "$d/runtime" "$d/ids"
		t0=$SECONDS
		(cd "$d" && exec setsid timeout -k 10 "$TIMEOUT" env TMPDIR="$d/tmp" RUNTIME="$d/runtime" \
			"$OUT/validation/$t") >"$d/tap" 2>"$d/err" </dev/null
		rc=$?
		read -r st p f < <(count "$d/tap" "$rc")
		P=$((P + p))
		F=$((F + f))
		printf '%-32s %-7s passed=%-4d failed=%-3d rc=%-3d %ds\n' "$t" "$st" "$p" "$f" "$rc" $((SECONDS - t0))
		if [ "$st" != PASS ] && [ "${CONFORMANCE_VERBOSE:-0}" = 1 ]; then
			grep -E '^not ok|^  error' "$d/tap" | head -n5 | sed 's/^/    /'
			tail -n2 "$d/err" | sed 's/^/    /'
		fi
		cleanup_test "$d"
	done
	echo "runtime-tools: $P passed, $F failed"
	[ "${CONFORMANCE_STRICT:-0}" = 1 ] && [ "$F" -gt 0 ] && exit 1
	exit 0
}

main "$@"
