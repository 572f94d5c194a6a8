#!/bin/bash
# Time `RUNTIME run` of /bin/true in a busybox bundle: berth vs runc vs crun,
# side by side in one run, plus a bare `unshare` + `chroot` floor.
#
# usage: integration/bench/runtime.sh [ITERATIONS]   (default 200; needs root)
#   BERTH=path (default target/release/berth), RUNC=runc, CRUN=crun
#
# The bundle is the default spec (pid, net, ipc, uts, mount namespaces, no
# cgroupsPath) with args ["/bin/true"] and terminal off; a foreground `run`
# deletes its container on exit, so every iteration reuses one id and the
# runtime is exec'd directly by hyperfine (-N, no shell in between). crun 1.8 refuses hybrid cgroup
# hosts, so on one it runs inside `unshare -m` with /sys/fs/cgroup/unified
# unmounted (the mount namespace costs ~1 ms, so crun is charged for it; the
# row says so; that row also pays for two sh execs). Prints ms per container and the ratio berth/runc.
# Also runs integration/bench/imgtool.sh when it exists.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
N=${1:-200}
BERTH=${BERTH:-$REPO/target/release/berth}
RUNC=${RUNC:-$(command -v runc || true)}
CRUN=${CRUN:-$(command -v crun || true)}
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 2; }

W=$(mktemp -d /tmp/berth-bench.XXXXXX)
chmod 755 "$W"
cleanup() {
	local m
	for m in $(awk -v p="$W/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m"; done
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT

# the bundle: busybox-static rootfs, default config from runc spec
B=$W/bundle
mkdir -p "$B/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$B/rootfs/bin/busybox"
for a in sh true; do ln -s busybox "$B/rootfs/bin/$a"; done
if [ -x "$BERTH" ] && (cd "$B" && "$BERTH" spec >/dev/null 2>&1); then :; else (cd "$B" && rm -f config.json && runc spec); fi
jq '.process.terminal = false | .process.args = ["/bin/true"]' "$B/config.json" >"$B/c" && mv "$B/c" "$B/config.json"

hybrid=0
if [ -d /sys/fs/cgroup/unified ] && [ "$(stat -fc %T /sys/fs/cgroup/unified)" = cgroup2fs ] &&
	[ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then hybrid=1; fi

# crun on a hybrid host: a private mount namespace without the cgroup2 mount
cat >"$W/hide" <<'EOF'
#!/bin/sh
exec unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup/unified; exec "$0" "$@"' "$@"
EOF
chmod 755 "$W/hide"
# the floor: new namespaces + chroot + exec /bin/true, no runtime at all
FLOOR="unshare --pid --net --ipc --uts --mount --fork chroot $B/rootfs /bin/true"

names=() cmds=()
add() { # NAME COMMAND
	if ! bash -c "$2" >/dev/null 2>&1; then echo "bench: $1 does not run here; left out" >&2; return; fi
	names+=("$1")
	cmds+=("$2")
}
[ -x "$BERTH" ] && add berth "$BERTH --root $W/root-berth run -b $B bench" || echo "bench: $BERTH missing (make build); left out" >&2
[ -n "$RUNC" ] && add runc "$RUNC --root $W/root-runc run -b $B bench"
if [ -n "$CRUN" ]; then
	if [ $hybrid = 1 ]; then add "crun(unshare -m)" "$W/hide $CRUN --root $W/root-crun run -b $B bench"
	else add crun "$CRUN --root $W/root-crun run -b $B bench"; fi
fi
add "floor(unshare+chroot)" "$FLOOR"

echo "# bench: run of /bin/true, $N iterations each, $(nproc) cpus, kernel $(uname -r)"
declare -A ms=()
if command -v hyperfine >/dev/null; then
	args=()
	for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
	hyperfine -N --warmup 10 --runs "$N" --export-json "$W/h.json" --style basic "${args[@]}" >&2 || hyperfine --warmup 10 --runs "$N" --export-json "$W/h.json" --style basic "${args[@]}" >&2
	while IFS=$'\t' read -r name mean sd; do ms[$name]=$mean; printf '%-24s %8.2f ms  (± %.2f)\n' "$name" "$mean" "$sd"; done < <(
		jq -r '.results[] | [.command, (.mean * 1000), (.stddev * 1000)] | @tsv' "$W/h.json")
else
	for i in "${!names[@]}"; do
		t0=$(date +%s%N)
		for ((k = 0; k < N; k++)); do bash -c "${cmds[$i]}" >/dev/null 2>&1; done
		t1=$(date +%s%N)
		ms[${names[$i]}]=$(awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN {printf "%.2f", (b - a) / n / 1e6}')
		printf '%-24s %8.2f ms\n' "${names[$i]}" "${ms[${names[$i]}]}"
	done
fi
if [ -n "${ms[berth]:-}" ] && [ -n "${ms[runc]:-}" ]; then
	awk -v b="${ms[berth]}" -v r="${ms[runc]}" 'BEGIN {printf "berth/runc ratio: %.2f (goal <= 0.35)\n", b / r}'
fi
for c in "crun" "crun(unshare -m)"; do
	if [ -n "${ms[$c]:-}" ] && [ -n "${ms[runc]:-}" ]; then
		awk -v c="${ms[$c]}" -v r="${ms[runc]}" -v n="$c" 'BEGIN {printf "%s/runc ratio: %.2f\n", n, c / r}'
	fi
done

if [ -x "$HERE/imgtool.sh" ]; then
	echo "# imgtool"
	"$HERE/imgtool.sh"
fi
