#!/bin/bash
# addlayer.sh LAYOUT FROM_TAG TO_TAG [LAYER.tar] [JQ_FILTER]: tag TO_TAG in
# the OCI layout LAYOUT as the image FROM_TAG with LAYER.tar (a plain tar,
# stored gzip-compressed) added on top, its config passed through JQ_FILTER
# (default `.`; e.g. `del(.config.Cmd)`). The imgtool tests build their
# hostile images with it: the tar can hold anything GNU tar writes (sparse
# files, xattrs, setuid binaries).
set -euo pipefail

layout=${1:?usage: addlayer.sh LAYOUT FROM_TAG TO_TAG [LAYER.tar] [JQ_FILTER]}
from=${2:?} to=${3:?} layer=${4:-} filter=${5:-.}
blobs=$layout/blobs/sha256
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

put() { # put FILE: store as a blob, print its hex digest
	local hex
	hex=$(sha256sum "$1" | cut -d' ' -f1)
	cp "$1" "$blobs/$hex"
	echo "$hex"
}

entry=$(jq -c --arg t "$from" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)][0]' "$layout/index.json")
[ "$entry" != null ] || { echo "addlayer: no tag $from in $layout" >&2; exit 1; }
manifest=$blobs/$(jq -r .digest <<<"$entry" | cut -d: -f2)
jq . "$manifest" >"$work/manifest.json"
jq . "$blobs/$(jq -r .config.digest "$manifest" | cut -d: -f2)" >"$work/config.json"

if [ -n "$layer" ]; then
	gzip -n -c "$layer" >"$work/layer.gz"
	lhex=$(put "$work/layer.gz")
	diff=$(sha256sum "$layer" | cut -d' ' -f1)
	jq --arg d "sha256:$diff" '.rootfs.diff_ids += [$d]' "$work/config.json" >"$work/c" && mv "$work/c" "$work/config.json"
	jq --arg d "sha256:$lhex" --argjson s "$(stat -c %s "$work/layer.gz")" \
		'.layers += [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $d, size: $s}]' \
		"$work/manifest.json" >"$work/m" && mv "$work/m" "$work/manifest.json"
fi
jq -c "$filter" "$work/config.json" >"$work/c"
chex=$(put "$work/c")
jq -c --arg d "sha256:$chex" --argjson s "$(stat -c %s "$work/c")" '.config.digest = $d | .config.size = $s' \
	"$work/manifest.json" >"$work/m"
mhex=$(put "$work/m")
jq -c --argjson e "$entry" --arg t "$to" --arg d "sha256:$mhex" --argjson s "$(stat -c %s "$work/m")" '
	.manifests |= (map(select(.annotations["org.opencontainers.image.ref.name"] != $t))
		+ [$e + {digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": $t}}])' \
	"$layout/index.json" >"$work/index.json"
mv "$work/index.json" "$layout/index.json"
