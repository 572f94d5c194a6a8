#!/bin/bash
# imgtool benchmark: flat unpack time of imgtool vs `umoci raw unpack` on the
# same image (ratio; goal >= 2x), and the time to create a second container
# from an image already in the store (goal < 10 ms). Needs root.
# The image: the busybox layout from mkimage.sh plus, to give decompression
# something to do, a layer of BENCH_DIR (default /usr/lib/python3.11).
set -euo pipefail

root_dir=$(cd "$(dirname "$0")/../.." && pwd)
imgtool=${IMGTOOL:-$root_dir/target/release/imgtool}
runs=${RUNS:-3}
bench_dir=${BENCH_DIR:-/usr/lib/python3.11}
[ "$(id -u)" = 0 ] || { echo "bench/imgtool: needs root" >&2; exit 77; }
[ -x "$imgtool" ] || { echo "bench/imgtool: build $imgtool first (cargo build --release)" >&2; exit 1; }

work=$(mktemp -d /tmp/imgtool-bench.XXXXXX)
cleanup() {
    { grep -o " $work[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf "$work"
}
trap cleanup EXIT

[ -d "$bench_dir" ] || bench_dir=
EXTRA_DIR=$bench_dir "$root_dir/integration/lib/mkimage.sh" "$work/img" latest >/dev/null

now() { date +%s%N; }
best() { sort -n | head -1; }

time_imgtool() {
    for i in $(seq "$runs"); do
        rm -rf "$work/b"
        s=$(now); "$imgtool" unpack --image "$work/img:latest" "$work/b" 2>/dev/null; e=$(now)
        echo $(( (e - s) / 1000000 ))
    done | best
}

time_umoci() {
    for i in $(seq "$runs"); do
        rm -rf "$work/r"
        s=$(now); umoci raw unpack --image "$work/img:latest" "$work/r" >/dev/null 2>&1; e=$(now)
        echo $(( (e - s) / 1000000 ))
    done | best
}

ours=$(time_imgtool)
theirs=$(time_umoci)
# The ratio means something only if both made the same tree.
tree() { (cd "$1" && find . -printf '%y %m %U:%G %l %p' -a \( -type f -printf ' %s\n' -o -printf '\n' \) | LC_ALL=C sort -k5); }
if ! cmp -s <(tree "$work/b/rootfs") <(tree "$work/r"); then
    echo "bench/imgtool: imgtool and umoci unpacked different trees" >&2
    exit 1
fi
ratio=$(awk -v a="$theirs" -v b="$ours" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
size=$(du -sh "$work/b/rootfs" | cut -f1)
entries=$(find "$work/b/rootfs" | wc -l)
echo "unpack ($size rootfs, $entries entries, same tree, best of $runs): imgtool ${ours}ms, umoci ${theirs}ms, ratio ${ratio}x (goal >= 2x)"

store=$work/store
"$imgtool" --store "$store" create --image "$work/img:latest" "$work/c1" 2>/dev/null
for i in $(seq "$runs"); do
    s=$(now); "$imgtool" --store "$store" create --image "$work/img:latest" "$work/c2" 2>/dev/null; e=$(now)
    echo $(( (e - s) / 1000 ))
    "$imgtool" --store "$store" remove "$work/c2"
done | best | awk '{ printf "second container from a stored image: %.1fms (goal < 10ms)\n", $1 / 1000 }'
"$imgtool" --store "$store" remove "$work/c1"
