#!/bin/bash
# make_oci_image LAYOUT_DIR ROOTFS_DIR [NAME]: a single-layer OCI image (tag
# "latest") of ROOTFS_DIR in an OCI layout, built locally with umoci (no
# registry). NAME (default localhost/berth-busybox:latest) is recorded in the
# index as org.opencontainers.image.ref.name and io.containerd.image.name,
# which podman load / ctr import use to name the image.
# make_oci_archive LAYOUT_DIR ARCHIVE: the layout as an oci-archive tarball.
# Used by podman.bats and containerd.bats; needs root and umoci.

make_oci_image() {
	local layout=$1 rootfs=$2 name=${3:-localhost/berth-busybox:latest} tmp
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ociimage.XXXXXX") || return 1
	umoci init --layout "$layout" &&
		umoci new --image "$layout:latest" &&
		umoci unpack --image "$layout:latest" "$tmp/b" >/dev/null &&
		cp -a "$rootfs/." "$tmp/b/rootfs/" &&
		rm -f "$tmp/b/rootfs/.done" &&
		umoci repack --image "$layout:latest" "$tmp/b" &&
		umoci config --image "$layout:latest" --config.cmd sh --config.env PATH=/bin:/sbin:/usr/bin --author berth-tests &&
		umoci gc --layout "$layout" || { rm -rf "$tmp"; return 1; }
	rm -rf "$tmp"
	# name the manifest in the index (ctr import / podman load read these)
	jq --arg n "$name" '.manifests |= map(.annotations = ((.annotations // {}) + {"io.containerd.image.name": $n, "org.opencontainers.image.ref.name": "latest"}))' \
		"$layout/index.json" >"$layout/index.json.new" && mv "$layout/index.json.new" "$layout/index.json"
}

make_oci_archive() {
	tar -C "$1" -cf "$2" .
}
