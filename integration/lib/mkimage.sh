#!/bin/bash
# mkimage.sh OUTDIR [TAG]: build a small busybox OCI image layout from the
# host's static busybox (Debian's busybox-static): one gzip layer holding
# /bin/busybox with its applet symlinks, /etc/passwd, /etc/group and the
# usual empty directories. Deterministic: same busybox, same digests.
# OUTDIR may already be a layout; TAG (default `latest`) is added/replaced.
# EXTRA_DIR=/some/dir adds a second gzip layer holding that host directory
# at the same path (the benchmark uses it for a heavier image).
set -euo pipefail

out=${1:?usage: mkimage.sh OUTDIR [TAG]}
tag=${2:-latest}
busybox=${BUSYBOX:-/bin/busybox}

[ -x "$busybox" ] || { echo "mkimage: no static busybox at $busybox (apt-get install busybox-static)" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'dynamically linked' && { echo "mkimage: $busybox is not static" >&2; exit 1; }

case "$(dpkg --print-architecture 2>/dev/null || uname -m)" in
    amd64|x86_64) arch=amd64 variant= ;;
    arm64|aarch64) arch=arm64 variant=v8 ;;
    armhf) arch=arm variant=v7 ;;
    armel) arch=arm variant=v5 ;;
    i386) arch=386 variant= ;;
    ppc64el) arch=ppc64le variant= ;;
    *) arch=$(dpkg --print-architecture) variant= ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,root,home,var}
cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

mktar() { # mktar DIR OUT [PATHS...]
    local dir=$1 out=$2; shift 2
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -C "$dir" -cf "$out" "$@"
}
mktar "$root" "$work/layer.tar" .
gzip -n -6 < "$work/layer.tar" > "$work/layer.tar.gz"

mkdir -p "$out/blobs/sha256"
put() { # put FILE -> prints digest hex, stores the blob
    local hex
    hex=$(sha256sum "$1" | cut -d' ' -f1)
    cp "$1" "$out/blobs/sha256/$hex"
    echo "$hex"
}
size() { stat -c %s "$1"; }

diff_ids=("sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)")
layers=('{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'"$(put "$work/layer.tar.gz")"'","size":'"$(size "$work/layer.tar.gz")"'}')
if [ -n "${EXTRA_DIR:-}" ]; then
    mktar / "$work/extra.tar" "${EXTRA_DIR#/}"
    gzip -n -6 < "$work/extra.tar" > "$work/extra.tar.gz"
    diff_ids+=("sha256:$(sha256sum "$work/extra.tar" | cut -d' ' -f1)")
    layers+=('{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'"$(put "$work/extra.tar.gz")"'","size":'"$(size "$work/extra.tar.gz")"'}')
fi

jq -cn --arg arch "$arch" --arg variant "$variant" --argjson diffs "$(printf '%s\n' "${diff_ids[@]}" | jq -R . | jq -cs .)" '{
    created: "1970-01-01T00:00:00Z", architecture: $arch, os: "linux",
    config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"], WorkingDir: "/"},
    rootfs: {type: "layers", diff_ids: $diffs},
    history: [{created: "1970-01-01T00:00:00Z", created_by: "integration/lib/mkimage.sh"}]
} | if $variant != "" then .variant = $variant else . end' > "$work/config.json"
config=$(put "$work/config.json")

jq -cn --arg c "sha256:$config" --argjson cs "$(size "$work/config.json")" \
    --argjson layers "$(printf '%s\n' "${layers[@]}" | jq -cs .)" '{
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
    layers: $layers
}' > "$work/manifest.json"
manifest=$(put "$work/manifest.json")

printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
[ -f "$out/index.json" ] || echo '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}' > "$out/index.json"
jq -c --arg m "sha256:$manifest" --argjson ms "$(size "$work/manifest.json")" --arg tag "$tag" \
    --arg arch "$arch" --arg variant "$variant" '
    .manifests |= (map(select(.annotations["org.opencontainers.image.ref.name"] != $tag)) + [{
        mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
        platform: ({architecture: $arch, os: "linux"} + (if $variant != "" then {variant: $variant} else {} end)),
        annotations: {"org.opencontainers.image.ref.name": $tag}}])' "$out/index.json" > "$work/index.json"
mv "$work/index.json" "$out/index.json"
echo "$out:$tag sha256:$manifest"
