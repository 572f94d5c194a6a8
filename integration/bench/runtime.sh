#!/bin/bash
# berth vs runc vs crun, side by side in one run: the `run` lifecycle of
# /bin/true, create, start, exec of /bin/true into a running container,
# delete, CONCURRENT creates at once, the peak RSS of `run`, the stripped
# size of each binary; then imgtool vs umoci (integration/bench/imgtool.sh).
#
# usage: integration/bench/runtime.sh [ROUNDS]   (default 100; needs root)
#   BERTH=path (default target/release/berth), RUNC=runc, CRUN=crun,
#   CONCURRENT=100 containers created at once, CONC_ROUNDS=3 times each
#
# Fair by construction: the whole bench runs inside one private mount
# namespace, and on a hybrid cgroup host (which crun 1.8 refuses) the
# cgroup2 mount is hidden there, for every runtime alike: nobody pays a
# per-call wrapper. The bundle is the runtime-spec default (`berth spec`:
# pid, net, ipc, uts, mount namespaces, no cgroupsPath) with terminal off.
# Rounds are interleaved (each round times every runtime once, in a
# rotating order) and lifecycle.py prints medians and the ratios berth/X
# as a markdown table; the floor is `unshare` + `chroot` of /bin/true.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
N=${1:-100}
BERTH=${BERTH:-$REPO/target/release/berth}
RUNC=${RUNC:-$(command -v runc || true)}
CRUN=${CRUN:-$(command -v crun || true)}
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 2; }

# Into a private mount namespace first (once), cgroup2 hidden on hybrid hosts.
if [ -z "${BERTH_BENCH_NS:-}" ]; then
	export BERTH_BENCH_NS=1 BERTH CRUN RUNC
	exec unshare -m --propagation private "$0" "$@"
fi
hybrid=no
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] && [ -d /sys/fs/cgroup/unified ] &&
	[ "$(stat -fc %T /sys/fs/cgroup/unified)" = cgroup2fs ]; then
	hybrid=yes
	umount -l /sys/fs/cgroup/unified
fi

W=$(mktemp -d /tmp/berth-bench.XXXXXX)
chmod 755 "$W"
cleanup() {
	local r
	for r in "$W"/root-*; do
		[ -d "$r" ] || continue
		case $r in
		*/root-berth) "$BERTH" --root "$r" list -q 2>/dev/null | xargs -r -n1 "$BERTH" --root "$r" delete --force ;;
		*/root-runc) "$RUNC" --root "$r" list -q 2>/dev/null | xargs -r -n1 "$RUNC" --root "$r" delete --force ;;
		*/root-crun) "$CRUN" --root "$r" list -q 2>/dev/null | xargs -r -n1 "$CRUN" --root "$r" delete --force ;;
		esac
	done >/dev/null 2>&1 || true
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT

# Two bundles on one busybox-static rootfs: /bin/true, and a sleep for exec.
mkdir -p "$W/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$W/rootfs/bin/busybox"
for a in sh true sleep; do ln -s busybox "$W/rootfs/bin/$a"; done
spec() { # DIR ARGS-JSON
	mkdir -p "$1"
	if [ -x "$BERTH" ] && (cd "$1" && "$BERTH" spec >/dev/null 2>&1); then :; else (cd "$1" && rm -f config.json && runc spec); fi
	jq --arg root "$W/rootfs" --argjson args "$2" \
		'.root.path = $root | .process.terminal = false | .process.args = $args' "$1/config.json" >"$1/c"
	mv "$1/c" "$1/config.json"
}
spec "$W/bundle-true" '["/bin/true"]'
spec "$W/bundle-sleep" '["sleep", "1000000"]'
gcc -O2 -static -o "$W/rtime" "$HERE/rtime.c"

runtimes=()
add() { # NAME PATH
	local b=$W/probe-$1
	mkdir -p "$b"
	if ! "$2" --root "$W/root-$1" run -b "$W/bundle-true" probe >/dev/null 2>"$b.err"; then
		echo "bench: $1 does not run here ($(tail -1 "$b.err")); left out" >&2
		return
	fi
	runtimes+=("$1=$2")
}
if [ -x "$BERTH" ]; then add berth "$BERTH"; else echo "bench: $BERTH missing (make build); left out" >&2; fi
[ -n "$RUNC" ] && add runc "$RUNC"
[ -n "$CRUN" ] && add crun "$CRUN"

echo "# bench: $(date -u +%Y-%m-%d), $(nproc) cpus, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"hybrid cgroups: $hybrid (cgroup2 hidden for all), $N rounds"
for r in "${runtimes[@]}"; do
	name=${r%%=*} path=${r#*=}
	strip -o "$W/stripped" "$path" 2>/dev/null || cp "$path" "$W/stripped"
	# (ldd fails on a static non-PIE executable: no shared libraries)
	libs=$({ ldd "$path" 2>/dev/null || true; } | awk '$3 ~ /^\// {print $3}' | xargs -r stat -Lc %s | awk '{s += $1} END {print s + 0}')
	printf '# %-6s %s: %s bytes as installed, %s stripped, %s in shared libraries\n' "$name" \
		"$("$path" --version 2>/dev/null | head -1)" "$(stat -Lc %s "$path")" "$(stat -c %s "$W/stripped")" "$libs"
done
python3 "$HERE/lifecycle.py" "$W" "$N" "${CONCURRENT:-100}" "${CONC_ROUNDS:-3}" "${runtimes[@]}"

if [ -x "$HERE/imgtool.sh" ]; then
	echo "# imgtool"
	"$HERE/imgtool.sh"
fi
