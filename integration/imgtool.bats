#!/usr/bin/env bats
# imgtool end to end (root): unpack compared with umoci, overlay bundles run
# by ${RUNTIME:-berth}, every image form (layout, oci-archive, docker-archive),
# remove and gc leaving nothing behind. Self-contained: builds its busybox
# image with integration/lib/mkimage.sh.

ROOT_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
IMGTOOL=${IMGTOOL:-$ROOT_DIR/target/debug/imgtool}
RUNTIME=${RUNTIME:-berth}

requires_root() {
    [ "$(id -u)" = 0 ] || skip "test requires root"
}

setup_file() {
    [ "$(id -u)" = 0 ] || return 0
    export WORK=$(mktemp -d /tmp/imgtool-bats.XXXXXX)
    "$ROOT_DIR/integration/lib/mkimage.sh" "$WORK/bb" latest >/dev/null
    skopeo copy -q oci:"$WORK/bb":latest oci-archive:"$WORK/bb-oci.tar":latest
    skopeo copy -q oci:"$WORK/bb":latest docker-archive:"$WORK/bb-docker.tar":busybox:latest
}

teardown_file() {
    [ -n "${WORK:-}" ] || return 0
    for id in $("$RUNTIME" list -q 2>/dev/null | grep '^imgtool-bats-' || true); do
        "$RUNTIME" delete -f "$id" >/dev/null 2>&1 || true
    done
    grep -o " $WORK[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf "$WORK"
}

setup() {
    requires_root
    STORE=$WORK/store
}

img() { "$IMGTOOL" --store "$STORE" "$@"; }

# Type, mode, owner, size (files), link target and mtime of every path.
tree() {
    (cd "$1" && find . -printf '%y %m %U:%G %l %T@ %p' -a \( -type f -printf ' %s\n' -o -printf '\n' \) | LC_ALL=C sort -k6)
}

@test "unpack matches umoci raw unpack" {
    img unpack --image "$WORK/bb:latest" "$WORK/flat"
    umoci raw unpack --image "$WORK/bb:latest" "$WORK/umoci-rootfs" >/dev/null 2>&1
    diff <(tree "$WORK/flat/rootfs") <(tree "$WORK/umoci-rootfs")
    [ "$(jq -r '.process.args[0]' "$WORK/flat/config.json")" = sh ]
    img remove "$WORK/flat"
    [ ! -e "$WORK/flat" ]
    rm -rf "$WORK/umoci-rootfs"
}

@test "oci-archive and docker-archive unpack to the same tree" {
    img unpack --image "$WORK/bb:latest" "$WORK/ref"
    for src in "oci-archive:$WORK/bb-oci.tar" "$WORK/bb-oci.tar:latest" "docker-archive:$WORK/bb-docker.tar" "$WORK/bb-docker.tar:busybox:latest"; do
        img unpack --image "$src" "$WORK/other"
        diff <(tree "$WORK/ref/rootfs") <(tree "$WORK/other/rootfs")
        img remove "$WORK/other"
    done
    img remove "$WORK/ref"
}

@test "create gives an overlay bundle that ${RUNTIME} runs, from every image form" {
    command -v "$RUNTIME" >/dev/null || skip "runtime $RUNTIME not installed"
    n=0
    for src in "$WORK/bb:latest" "$WORK/bb-oci.tar" "$WORK/bb-docker.tar"; do
        n=$((n + 1))
        b=$WORK/c$n
        img create --image "$src" "$b" -- sh -c 'echo written > /tmp/f; cat /tmp/f; id -u'
        findmnt -n -t overlay "$b/rootfs" >/dev/null
        [ "$(jq -r .root.readonly "$b/config.json")" = false ]
        run "$RUNTIME" run -b "$b" "imgtool-bats-$$-$n"
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = written ]
        [ "${lines[1]}" = 0 ]
        # The write went to this container's upper layer only.
        [ -f "$b/.overlay/upper/tmp/f" ]
        "$RUNTIME" delete -f "imgtool-bats-$$-$n" >/dev/null 2>&1 || true
    done
    # Three bundles, one stored layer.
    [ "$(img list --json | jq '.layers | length')" -eq 1 ]
    [ "$(img list --json | jq '.layers[0].usedBy | length')" -eq 3 ]
    for i in 1 2 3; do img remove "$WORK/c$i"; [ ! -e "$WORK/c$i" ]; done
    ! grep -q " $WORK/c" /proc/self/mountinfo
}

@test "a second container copies no layer data" {
    img create --image "$WORK/bb" "$WORK/first"
    layer=$(img list --json | jq -r '.layers[0].id')
    before=$(stat -c %Y "$STORE/layers/$layer")
    start=$(date +%s%N)
    img create --image "$WORK/bb" "$WORK/second"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "second create: ${ms}ms"
    [ "$(stat -c %Y "$STORE/layers/$layer")" = "$before" ]
    [ "$(img list --json | jq '.layers | length')" -eq 1 ]
    img remove "$WORK/first" "$WORK/second"
}

@test "remove deletes only its bundle; gc deletes unused layers" {
    img create --image "$WORK/bb" "$WORK/keep"
    img create --image "$WORK/bb" "$WORK/drop"
    touch "$WORK/keep/rootfs/mine"
    img remove "$WORK/drop"
    [ ! -e "$WORK/drop" ]
    [ -f "$WORK/keep/rootfs/mine" ]
    img gc
    [ "$(img list --json | jq '.layers | length')" -eq 1 ]
    img remove "$WORK/keep"
    run img gc
    [[ "$output" == "removed 1 layers"* ]]
    [ "$(ls "$STORE/layers" | wc -l)" -eq 0 ]
    [ "$(ls "$STORE/tmp" | wc -l)" -eq 0 ]
}

@test "a corrupt layer fails create and leaves nothing" {
    cp -a "$WORK/bb" "$WORK/bad"
    layer=$(jq -r '.layers[0].digest' "$WORK/bad/blobs/sha256/$(jq -r '.manifests[0].digest' "$WORK/bad/index.json" | cut -d: -f2)" | cut -d: -f2)
    truncate -s 100000 "$WORK/bad/blobs/sha256/$layer"
    run img create --image "$WORK/bad" "$WORK/never"
    [ "$status" -ne 0 ]
    [[ "$output" == imgtool:* ]]
    [ ! -e "$WORK/never" ]
    [ "$(ls "$STORE/layers" | wc -l)" -eq 0 ]
    ! ls "$STORE/tmp" | grep -v '\.lock$'
    rm -rf "$WORK/bad"
}

@test "an unknown platform lists the available ones" {
    run img unpack --platform linux/s390x --image "$WORK/bb" "$WORK/none"
    [ "$status" -ne 0 ]
    [[ "$output" == *"linux/s390x"*"available: linux/"* ]]
    [ ! -e "$WORK/none" ]
}
