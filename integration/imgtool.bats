#!/usr/bin/env bats
# imgtool end to end (root): unpack compared with umoci, overlay bundles run
# by the runtime under test (RUNTIME, berth or runc), every image form
# (layout, oci-archive, docker-archive), and what the bundles go through:
# other users, running containers, unmounts, hostile images, rootless use.
# Self-contained: setup_file builds the busybox image with lib/mkimage.sh
# and the hostile ones from it with lib/addlayer.sh and GNU tar.

load helpers

IMGTOOL=${IMGTOOL:-$REPO_ROOT/target/debug/imgtool}
UNPRIV=65534

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	export IMGS=$(mktemp -d /tmp/imgtool-bats.XXXXXX)
	chmod 755 "$IMGS" # the rootless tests read the images as $UNPRIV
	local bb=$IMGS/bb s=$IMGS/staging
	"$LIB_DIR/mkimage.sh" "$bb" latest >/dev/null
	skopeo copy -q oci:"$bb":latest oci-archive:"$IMGS/bb-oci.tar":latest
	skopeo copy -q oci:"$bb":latest docker-archive:"$IMGS/bb-docker.tar":busybox:latest

	# suid: a setuid-root copy of busybox
	mkdir -p "$s/suid/bin" && cp /bin/busybox "$s/suid/bin/suid" && chmod 4755 "$s/suid/bin/suid"
	tar --owner=0 --group=0 --numeric-owner -C "$s/suid" -cf "$s/suid.tar" bin
	"$LIB_DIR/addlayer.sh" "$bb" latest suid "$s/suid.tar"
	# sparse-gnu / sparse-pax: a 1 TiB file that is one hole
	mkdir -p "$s/sparse" && truncate -s 1T "$s/sparse/big"
	tar --sparse --format=gnu -C "$s/sparse" -cf "$s/gnu.tar" big
	tar --sparse --format=posix -C "$s/sparse" -cf "$s/pax.tar" big
	"$LIB_DIR/addlayer.sh" "$bb" latest sparse-gnu "$s/gnu.tar"
	"$LIB_DIR/addlayer.sh" "$bb" latest sparse-pax "$s/pax.tar"
	# nocmd: neither Entrypoint nor Cmd
	"$LIB_DIR/addlayer.sh" "$bb" latest nocmd "" 'del(.config.Cmd) | del(.config.Entrypoint)'
	# owned: files of other owners, and a 0555 directory with content
	mkdir -p "$s/owned/home/user" "$s/owned/ro" && echo f >"$s/owned/home/user/f" && echo r >"$s/owned/ro/r"
	chown -R 1000:1001 "$s/owned/home/user" && chmod 0555 "$s/owned/ro"
	tar --numeric-owner -C "$s/owned" -cf "$s/owned.tar" home ro
	"$LIB_DIR/addlayer.sh" "$bb" latest owned "$s/owned.tar"
	# overlay-xattrs: overlay metadata that would change what a userxattr
	# overlay shows: /etc opaque (hiding passwd), a file marked a whiteout
	# in an "x"-opaque dir, /var redirected to /etc; plus a real whiteout
	mkdir -p "$s/ovl/etc" "$s/ovl/home" "$s/ovl/var" && echo kept >"$s/ovl/home/keep" && : >"$s/ovl/etc/.wh.group"
	python3 - "$s/ovl" <<-'EOF'
		import os, sys
		d = sys.argv[1]
		os.setxattr(d + "/etc", "user.overlay.opaque", b"y")
		os.setxattr(d + "/home", "user.overlay.opaque", b"x")
		os.setxattr(d + "/home/keep", "user.overlay.whiteout", b"")
		os.setxattr(d + "/var", "user.overlay.redirect", b"/etc")
	EOF
	tar --format=posix --xattrs --xattrs-include='user.*' --owner=0 --group=0 --numeric-owner \
		-C "$s/ovl" -cf "$s/ovl.tar" etc home var
	"$LIB_DIR/addlayer.sh" "$bb" latest overlay-xattrs "$s/ovl.tar"
	rm -rf "$s"
}

teardown_file() {
	[ -n "${IMGS:-}" ] && rm -rf "$IMGS"
	return 0
}

setup() {
	common_setup
	STORE=$WORK/store
	AS_UNPRIV=(setpriv --reuid="$UNPRIV" --regid="$UNPRIV" --clear-groups
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/xdg")
}

teardown() { common_teardown; }

img() { "$IMGTOOL" --store "$STORE" "$@"; }

# Type, mode, owner, size (files), link target and mtime of every path.
tree() {
	(cd "$1" && find . -printf '%y %m %U:%G %l %T@ %p' -a \( -type f -printf ' %s\n' -o -printf '\n' \) | LC_ALL=C sort -k6)
}

# A directory of the unprivileged user.
unpriv_dir() {
	mkdir -p "$@" && chown "$UNPRIV:$UNPRIV" "$@" && chmod 700 "$@"
}

@test "unpack matches umoci raw unpack" {
	requires umoci
	img unpack --image "$IMGS/bb:latest" "$WORK/flat"
	umoci raw unpack --image "$IMGS/bb:latest" "$WORK/umoci-rootfs" >/dev/null 2>&1
	diff <(tree "$WORK/flat/rootfs") <(tree "$WORK/umoci-rootfs")
	[ "$(jq -r '.process.args[0]' "$WORK/flat/config.json")" = sh ]
	img remove "$WORK/flat"
	[ ! -e "$WORK/flat" ]
}

@test "oci-archive and docker-archive unpack to the same tree" {
	img unpack --image "$IMGS/bb:latest" "$WORK/ref"
	for src in "oci-archive:$IMGS/bb-oci.tar" "$IMGS/bb-oci.tar:latest" "docker-archive:$IMGS/bb-docker.tar" "$IMGS/bb-docker.tar:busybox:latest"; do
		img unpack --image "$src" "$WORK/other"
		diff <(tree "$WORK/ref/rootfs") <(tree "$WORK/other/rootfs")
		img remove "$WORK/other"
	done
	img remove "$WORK/ref"
}

@test "create gives an overlay bundle that the runtime runs, from every image form" {
	n=0
	for src in "$IMGS/bb:latest" "$IMGS/bb-oci.tar" "$IMGS/bb-docker.tar"; do
		n=$((n + 1))
		b=$WORK/c$n
		img create --image "$src" "$b" -- sh -c 'echo written > /tmp/f; cat /tmp/f; id -u'
		findmnt -n -t overlay "$b/rootfs" >/dev/null
		[ "$(jq -r .root.readonly "$b/config.json")" = false ]
		run runtime run -b "$b" "$CID-$n"
		assert_success
		assert_equal "${lines[0]}" written
		assert_equal "${lines[1]}" 0
		# The write went to this container's upper layer only.
		[ -f "$b/.overlay/upper/tmp/f" ]
	done
	# Three bundles, one stored layer.
	[ "$(img list --json | jq '.layers | length')" -eq 1 ]
	[ "$(img list --json | jq '.layers[0].usedBy | length')" -eq 3 ]
	for i in 1 2 3; do img remove "$WORK/c$i"; [ ! -e "$WORK/c$i" ]; done
	[ -z "$(mounts_under "$WORK")" ]
}

@test "a second container copies no layer data" {
	img create --image "$IMGS/bb" "$WORK/first"
	layer=$(img list --json | jq -r '.layers[0].id')
	before=$(stat -c %Y "$STORE/layers/$layer")
	img create --image "$IMGS/bb" "$WORK/second"
	[ "$(stat -c %Y "$STORE/layers/$layer")" = "$before" ]
	[ "$(img list --json | jq '.layers | length')" -eq 1 ]
	img remove "$WORK/first" "$WORK/second"
}

@test "remove deletes only its bundle; gc deletes unused layers; sizes in one unit" {
	img create --image "$IMGS/bb" "$WORK/keep"
	img create --image "$IMGS/bb" "$WORK/drop"
	touch "$WORK/keep/rootfs/mine"
	img remove "$WORK/drop"
	[ ! -e "$WORK/drop" ]
	[ -f "$WORK/keep/rootfs/mine" ]
	img gc
	[ "$(img list --json | jq '.layers | length')" -eq 1 ]
	# list shows sizes as gc does: binary units, not raw byte counts
	run img list
	[[ "${lines[1]}" =~ ^[0-9a-f]{12}\ +[0-9.]+\ (KiB|MiB)\  ]] || fail "list: $output"
	img remove "$WORK/keep"
	run img gc
	[[ "$output" =~ ^removed\ 1\ layers\ \([0-9.]+\ (KiB|MiB)\) ]] || fail "gc: $output"
	[ "$(ls "$STORE/layers" | wc -l)" -eq 0 ]
	[ "$(ls "$STORE/tmp" | wc -l)" -eq 0 ]
}

@test "the progress line names layers as list does" {
	requires python3
	run "$LIB_DIR/underpty.py" 60 "$IMGTOOL" --store "$STORE" create --image "$IMGS/bb" "$WORK/b"
	assert_success
	id=$(img list --json | jq -r '.layers[0].id[:12]')
	assert_output_contains "$id "
	run img list
	assert_output_contains "$id "
	img remove "$WORK/b"
}

@test "a corrupt layer fails create and leaves nothing" {
	cp -a "$IMGS/bb" "$WORK/bad"
	layer=$(jq -r '.layers[0].digest' "$WORK/bad/blobs/sha256/$(jq -r '.manifests[0].digest' "$WORK/bad/index.json" | cut -d: -f2)" | cut -d: -f2)
	truncate -s 100000 "$WORK/bad/blobs/sha256/$layer"
	run img create --image "$WORK/bad" "$WORK/never"
	assert_failure
	[[ "$output" == imgtool:* ]]
	[ ! -e "$WORK/never" ]
	[ "$(ls "$STORE/layers" | wc -l)" -eq 0 ]
	! ls "$STORE/tmp" | grep -v '\.lock$'
}

@test "an unknown platform lists the available ones" {
	run img unpack --platform linux/s390x --image "$IMGS/bb" "$WORK/none"
	assert_failure
	[[ "$output" == *"linux/s390x"*"available: linux/"* ]]
	[ ! -e "$WORK/none" ]
}

@test "bundles are private: another user cannot reach an image's setuid-root binary" {
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	img unpack --image "$IMGS/bb:suid" "$WORK/flat"
	img create --image "$IMGS/bb:suid" "$WORK/ovl"
	for b in "$WORK/flat" "$WORK/ovl"; do
		assert_equal "$(stat -c %a "$b")" 700 "mode of $b"
		# the threat: a setuid-root binary, there for root to see
		assert_equal "$(stat -c '%a %u' "$b/rootfs/bin/suid")" "4755 0"
		run "${AS_UNPRIV[@]}" stat -c %a "$b/rootfs/bin/suid"
		assert_failure
		assert_output_contains "Permission denied"
		run "${AS_UNPRIV[@]}" "$b/rootfs/bin/suid" id -u
		assert_failure
		# the control: opened up, the bundle would hand it out
		chmod 755 "$b"
		run "${AS_UNPRIV[@]}" stat -c %a "$b/rootfs/bin/suid"
		chmod 700 "$b"
		assert_success
		assert_output 4755
	done
	img remove "$WORK/flat" "$WORK/ovl"
}

@test "an existing bundle directory others can reach, or not the caller's, is refused" {
	mkdir -m 755 "$WORK/shared"
	run img unpack --image "$IMGS/bb" "$WORK/shared"
	assert_failure
	assert_output_contains "other users can reach it (mode 0755)"
	[ -z "$(ls -A "$WORK/shared")" ]
	run img create --image "$IMGS/bb" "$WORK/shared"
	assert_failure
	[ -z "$(ls -A "$WORK/shared")" ]
	[ -z "$(mounts_under "$WORK")" ]
	unpriv_dir "$WORK/theirs"
	run img unpack --image "$IMGS/bb" "$WORK/theirs"
	assert_failure
	assert_output_contains "belongs to uid $UNPRIV"
	# a private, empty directory of the caller's is fine
	mkdir -m 700 "$WORK/mine"
	img unpack --image "$IMGS/bb" "$WORK/mine"
	img remove "$WORK/mine"
}

@test "remove and gc refuse what a running container uses; --force overrides" {
	img create --image "$IMGS/bb" "$WORK/b" -- sleep 600
	runtime run -d -b "$WORK/b" "$CID" </dev/null >/dev/null 2>&1
	wait_status "$CID" running
	pid=$(state_field "$CID" pid)
	run img remove "$WORK/b"
	assert_failure
	assert_output_contains "in use by process $pid"
	assert_output_contains "--force"
	[ -f "$WORK/b/config.json" ] && findmnt -n "$WORK/b/rootfs" >/dev/null
	run img list --json
	assert_equal "$(echo "$output" | jq -r '.bundles[0].inUse[0]')" "process $pid (\`sleep\`)"
	# the host's mount gone, the container still holds the bundle
	umount "$WORK/b/rootfs"
	run img remove "$WORK/b"
	assert_failure
	assert_output_contains "in use by process $pid"
	img mount "$WORK/b"
	# forced: the bundle goes, the running container keeps its layers
	img remove --force "$WORK/b"
	[ ! -e "$WORK/b" ]
	assert_equal "$(state_field "$CID" status)" running
	layer=$(img list --json | jq -r '.layers[0].id')
	run img gc
	assert_success
	assert_output_contains "kept layer ${layer:0:12}: in use by process $pid"
	[ -d "$STORE/layers/$layer" ]
	cmp /bin/busybox "/proc/$pid/root/bin/busybox"
	run img gc --force
	assert_success
	[ ! -e "$STORE/layers/$layer" ]
	runtime delete -f "$CID"
}

@test "an unmounted overlay bundle is refused by the runtime, not run empty; mount brings it back" {
	img create --image "$IMGS/bb" "$WORK/b" -- echo hello
	umount "$WORK/b/rootfs"
	run img list
	assert_output_contains "NOT MOUNTED"
	run runtime run -b "$WORK/b" "$CID"
	assert_failure
	is_runc || assert_output_contains "imgtool mount $WORK/b"
	# nothing was made inside the bare mount point
	assert_equal "$(ls -A "$WORK/b/rootfs" | tr '\n' ' ')" ".imgtool-not-mounted dev proc sys "
	img mount "$WORK/b"
	img mount "$WORK/b" # again: nothing to do
	findmnt -n -t overlay "$WORK/b/rootfs" >/dev/null
	run img list
	assert_output_contains "overlay, mounted"
	run runtime run -b "$WORK/b" "$CID-2"
	assert_success
	assert_output hello
	img remove "$WORK/b"
}

@test "sparse layer entries are refused, never written out" {
	for kind in gnu pax; do
		run img unpack --image "$IMGS/bb:sparse-$kind" "$WORK/b"
		assert_failure
		assert_output_contains "refuse sparse file \`big\`"
		[ ! -e "$WORK/b" ]
		run img create --image "$IMGS/bb:sparse-$kind" "$WORK/b"
		assert_failure
		[ ! -e "$WORK/b" ]
	done
	# a terabyte was asked for; the store holds the busybox layer only
	[ "$(du -sm "$STORE" | cut -f1)" -lt 20 ]
}

@test "uncompressed bytes are capped per layer and per image" {
	run img unpack --max-layer-size 1M --image "$IMGS/bb" "$WORK/b"
	assert_failure
	assert_output_contains "exceeds the 1.0 MiB limit per layer (raise it with --max-layer-size)"
	[ ! -e "$WORK/b" ]
	# each layer fits, both do not: the busybox layer plus 1 KiB
	blob=$(jq -r '.layers[0].digest' "$IMGS/bb/blobs/sha256/$(jq -r '.manifests[0].digest' "$IMGS/bb/index.json" | cut -d: -f2)" | cut -d: -f2)
	cap=$(($(gzip -dc "$IMGS/bb/blobs/sha256/$blob" | wc -c) + 1024))
	run env IMGTOOL_MAX_IMAGE_SIZE=$cap "$IMGTOOL" --store "$STORE" create --image "$IMGS/bb:owned" "$WORK/b"
	assert_failure
	assert_output_contains "limit per image (raise it with --max-image-size)"
	[ ! -e "$WORK/b" ]
	! ls "$STORE/tmp" | grep -v '\.lock$'
	run img unpack --max-layer-size 12x --image "$IMGS/bb" "$WORK/b"
	assert_failure
	assert_output_contains "parse size \`12x\`"
	img unpack --max-layer-size 0 --max-image-size 3M --image "$IMGS/bb" "$WORK/b"
	img remove "$WORK/b"
}

@test "an image without Entrypoint or Cmd unpacks with a warning; a command given overrides" {
	run img unpack --image "$IMGS/bb:nocmd" "$WORK/b"
	assert_success
	assert_output_contains "warning: the image sets neither Entrypoint nor Cmd: set process.args in \`$WORK/b/config.json\`"
	jq -r '.process.args[0]' "$WORK/b/config.json" | grep -q "set process.args in config.json"
	run runtime run -b "$WORK/b" "$CID"
	assert_failure
	assert_output_contains "set process.args in config.json"
	img create --image "$IMGS/bb:nocmd" "$WORK/c" -- echo given
	run runtime run -b "$WORK/c" "$CID-2"
	assert_success
	assert_output given
	img remove "$WORK/b" "$WORK/c"
}

@test "tags lists the tags and platforms of a layout and of archives" {
	arch=$(jq -r '.manifests[0].platform.architecture' "$IMGS/bb/index.json")
	run "$IMGTOOL" tags "$IMGS/bb"
	assert_success
	[[ ${lines[0]} =~ ^TAG\ +DIGEST\ +PLATFORMS$ ]] || fail "header: ${lines[0]}"
	for t in latest suid nocmd overlay-xattrs; do
		echo "$output" | grep -Eq "^$t +sha256:[0-9a-f]{12}  linux/$arch" || fail "no $t: $output"
	done
	run "$IMGTOOL" tags --json "oci-archive:$IMGS/bb-oci.tar"
	assert_success
	assert_equal "$(echo "$output" | jq -r '.[0].tag + " " + .[0].platforms[0]')" "latest linux/$arch"
	run "$IMGTOOL" tags "$IMGS/bb-docker.tar"
	assert_success
	assert_line_matches() { echo "$output" | grep -Eq "$1" || fail "no line like $1: $output"; }
	assert_line_matches "^(docker.io/library/)?busybox:latest +sha256:[0-9a-f]{12}  linux/$arch"
}

@test "registry and containers-storage references say to copy with skopeo first" {
	for ref in docker://docker.io/library/busybox:latest containers-storage:localhost/x:1 docker-daemon:alpine:3; do
		run img create --image "$ref" "$WORK/b"
		assert_failure
		assert_output_contains "skopeo copy $ref oci:DIR:TAG"
		[ ! -e "$WORK/b" ]
	done
	run "$IMGTOOL" tags docker://busybox
	assert_failure
	assert_output_contains "skopeo copy"
}

@test "rootless: unpack as an unprivileged user records owners and writes a user-namespace config" {
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	requires python3
	unpriv_dir "$WORK/home" "$WORK/u"
	run "${AS_UNPRIV[@]}" "$IMGTOOL" unpack --image "$IMGS/bb:owned" "$WORK/u/b"
	assert_success
	b=$WORK/u/b
	assert_equal "$(stat -c '%a %u' "$b")" "700 $UNPRIV"
	# every file is the caller's; the image's owner 1000:1001 is recorded
	# in user.rootlesscontainers (protobuf uid=1000, gid=1001), as umoci does
	assert_equal "$(stat -c %u:%g "$b/rootfs/home/user/f")" "$UNPRIV:$UNPRIV"
	assert_equal "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.rootlesscontainers").hex())' "$b/rootfs/home/user/f")" 08e80710e907
	run python3 -c 'import os,sys; os.getxattr(sys.argv[1], "user.rootlesscontainers")' "$b/rootfs/bin/busybox"
	assert_failure # root-owned files need no record
	# a 0555 directory got its content, then its mode
	assert_equal "$(stat -c %a "$b/rootfs/ro")" 555
	assert_equal "$(cat "$b/rootfs/ro/r")" r
	jq -e '.linux.namespaces | map(.type) | index("user")' "$b/config.json" >/dev/null
	assert_equal "$(jq -c '.linux.uidMappings | map([.containerID, .hostID, .size])' "$b/config.json")" "[[0,$UNPRIV,1]]"
	# explicit mappings
	"${AS_UNPRIV[@]}" "$IMGTOOL" unpack --uid-map 0:$UNPRIV:1 --gid-map 0:$UNPRIV:1 --gid-map 1:100000:10 \
		--image "$IMGS/bb" "$WORK/u/m"
	assert_equal "$(jq -c '.linux.gidMappings | map(.hostID)' "$WORK/u/m/config.json")" "[$UNPRIV,100000]"
	run img unpack --uid-map 0:1:1 --image "$IMGS/bb" "$WORK/rootmap"
	assert_failure
	assert_output_contains "for rootless use"
	"${AS_UNPRIV[@]}" "$IMGTOOL" remove "$b" "$WORK/u/m"
	[ ! -e "$b" ] && [ ! -e "$WORK/u/m" ]
}

@test "rootless: a bundle unpacked by an unprivileged user runs as that user" {
	runc_differs "runc 1.1.5 fails rootless creates here: error reopening /dev/null inside container: permission denied"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	requires userns
	unpriv_dir "$WORK/home" "$WORK/u" "$WORK/xdg"
	"${AS_UNPRIV[@]}" "$IMGTOOL" unpack --image "$IMGS/bb:owned" "$WORK/u/b" -- sh -c 'id -u; stat -c %u /home/user/f'
	run timeout 60 "${AS_UNPRIV[@]}" "$RUNTIME" run -b "$WORK/u/b" "$CID" </dev/null
	assert_success
	assert_equal "${lines[0]}" 0 "uid in the container"
	assert_equal "${lines[1]}" 0 "owner of a file, in the container"
}

@test "rootless: create outside a user namespace makes a flat copy, with a warning" {
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	unpriv_dir "$WORK/home" "$WORK/u"
	run "${AS_UNPRIV[@]}" "$IMGTOOL" create --image "$IMGS/bb:owned" "$WORK/u/b"
	assert_success
	assert_output_contains "is a flat copy, not an overlay"
	[ -x "$WORK/u/b/rootfs/bin/busybox" ]
	! findmnt -n "$WORK/u/b/rootfs" >/dev/null
	run "${AS_UNPRIV[@]}" "$IMGTOOL" list
	assert_success
	assert_output_contains "flat copy"
	run "${AS_UNPRIV[@]}" "$IMGTOOL" mount "$WORK/u/b"
	assert_success
	assert_output_contains "is a flat bundle: its rootfs is a directory, nothing to mount"
	# the default rootless store is under the caller's $HOME
	[ -f "$WORK/home/.local/share/berth/imgtool/store.json" ]
	# a root store is not for a rootless caller
	img list >/dev/null
	chown -R "$UNPRIV" "$STORE"
	run "${AS_UNPRIV[@]}" "$IMGTOOL" --store "$STORE" create --image "$IMGS/bb" "$WORK/u/c"
	assert_failure
	assert_output_contains "it was made by root"
	"${AS_UNPRIV[@]}" "$IMGTOOL" remove "$WORK/u/b"
	[ ! -e "$WORK/u/b" ]
}

@test "rootless: in a user namespace, create mounts an overlay with userxattr that an image's overlay xattrs cannot steer" {
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	requires userns python3
	unpriv_dir "$WORK/home" "$WORK/u" "$WORK/xdg"
	# One session (a user namespace owning its mount namespace): the mount
	# lives as long as it does.
	cat >"$WORK/u/session.sh" <<-'EOF'
		set -e
		cd "$1"
		S=$1
		img() { "$IMGTOOL" --store "$S/store" "$@"; }
		mkdir -p xdg
		# control: a user.overlay.opaque directory in an upper layer hides a
		# lower /etc/passwd, had imgtool kept the image's xattr
		mkdir -p ctl/lo/etc ctl/up/etc ctl/m && echo x >ctl/lo/etc/passwd
		python3 -c 'import os; os.setxattr("ctl/up/etc", "user.overlay.opaque", b"y")'
		mount -t overlay overlay -o lowerdir=ctl/up:ctl/lo,userxattr ctl/m
		[ ! -e ctl/m/etc/passwd ] && echo control: attack works
		img create --image "$IMGS/bb:overlay-xattrs" b -- sh -c 'echo in-container; ls /etc/passwd'
		findmnt -n -o OPTIONS b/rootfs | grep -q userxattr && echo mounted with userxattr
		[ -f b/rootfs/etc/passwd ] && echo passwd visible
		[ -f b/rootfs/home/keep ] && echo keep visible
		[ ! -e b/rootfs/var/passwd ] && echo var not redirected
		[ ! -e b/rootfs/etc/group ] && echo the real whiteout hides group
		python3 - store/layers <<-'PY'
			import os, sys
			bad = [(p, k) for r, ds, fs in os.walk(sys.argv[1]) for p in [r] + [os.path.join(r, f) for f in fs]
			       if not os.path.islink(p) for k in os.listxattr(p) if k.startswith("user.overlay.")]
			print("no overlay xattrs from the image" if not bad else bad)
		PY
		if [ -n "$BERTH" ]; then XDG_RUNTIME_DIR="$1/xdg" "$BERTH" run -b b c1 </dev/null; fi
		umount b/rootfs
		img list | grep -q "NOT MOUNTED" && echo unmounted
		img mount b && [ -f b/rootfs/etc/passwd ] && echo remounted
		img remove b && [ ! -e b ] && echo removed
		img create --image "$IMGS/bb" b2 >/dev/null
	EOF
	berth=
	is_runc || berth=$RUNTIME
	run timeout 120 "${AS_UNPRIV[@]}" IMGTOOL="$IMGTOOL" IMGS="$IMGS" BERTH="$berth" \
		unshare --user --map-root-user --mount sh "$WORK/u/session.sh" "$WORK/u"
	assert_success
	for l in "control: attack works" "mounted with userxattr" "passwd visible" "keep visible" "var not redirected" \
		"the real whiteout hides group" "no overlay xattrs from the image" unmounted remounted removed; do
		assert_line "$l"
	done
	if ! is_runc; then
		assert_line in-container
		assert_line /etc/passwd
	fi
	# The session is over: its mounts are gone, and outside it this user
	# may not mount the bundle again; it says where to do that.
	run "${AS_UNPRIV[@]}" "$IMGTOOL" --store "$WORK/u/store" list
	assert_output_contains "NOT MOUNTED"
	run "${AS_UNPRIV[@]}" "$IMGTOOL" mount "$WORK/u/b2"
	assert_failure
	assert_output_contains "from a user namespace that owns its mount namespace"
	"${AS_UNPRIV[@]}" "$IMGTOOL" remove "$WORK/u/b2"
	[ ! -e "$WORK/u/b2" ]
}
