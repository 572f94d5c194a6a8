#!/bin/bash
# make_docker_archive ROOTFS_DIR NAME:TAG ARCHIVE [CMD_JSON]: a single-layer image of
# ROOTFS_DIR in the docker-archive format (`docker save`'s: manifest.json,
# the config blob, one layer.tar per layer), which `docker load` of Docker
# 20.10 takes (it does not load OCI archives). Built locally with tar, jq and
# sha256sum, no registry; Cmd is CMD_JSON (default `["sh"]`). Used by
# docker.bats and cri.bats (`ctr images import` takes it too).

make_docker_archive() {
	local rootfs=$1 name=$2 out=$3 cmd=${4:-'["sh"]'} tmp diff config
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/dockerimage.XXXXXX") || return 1
	mkdir -p "$tmp/layer"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --exclude=./.done \
		-C "$rootfs" -cf "$tmp/layer/layer.tar" . || { rm -rf "$tmp"; return 1; }
	diff=$(sha256sum "$tmp/layer/layer.tar" | cut -d' ' -f1)
	jq -cn --arg arch "$(go_arch)" --arg diff "sha256:$diff" --argjson cmd "$cmd" '{
		architecture: $arch, os: "linux", created: "1970-01-01T00:00:00Z",
		config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: $cmd},
		rootfs: {type: "layers", diff_ids: [$diff]},
		history: [{created: "1970-01-01T00:00:00Z", created_by: "integration/lib/dockerimage.sh"}]
	}' >"$tmp/config.json"
	config=$(sha256sum "$tmp/config.json" | cut -d' ' -f1)
	mv "$tmp/config.json" "$tmp/$config.json"
	mv "$tmp/layer" "$tmp/$diff"
	jq -cn --arg c "$config.json" --arg l "$diff/layer.tar" --arg n "$name" \
		'[{Config: $c, RepoTags: [$n], Layers: [$l]}]' >"$tmp/manifest.json"
	tar -C "$tmp" -cf "$out" manifest.json "$config.json" "$diff"
	rm -rf "$tmp"
}

# The GOARCH name of this host, as image configs spell it.
go_arch() {
	case "$(uname -m)" in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	armv7l) echo arm ;;
	ppc64le) echo ppc64le ;;
	s390x) echo s390x ;;
	*) uname -m ;;
	esac
}
