#!/usr/bin/env bats
# mounts: bind/rbind, ro/nosuid/nodev/noexec, tmpfs size/mode, tmpcopyup,
# propagation, config order, root.readonly, and mount destinations that are
# symlinks pointing out of the rootfs (config.md "mounts", config-linux.md).

load helpers

# add_mount JSON: append one mount to the config.
add_mount() { update_config ".mounts += [$1]"; }

# mount_opts DEST: the options of DEST in the container's /proc/self/mountinfo
# (per-mount options, field 6) as printed by the running script.
MOUNTINFO_OPTS='awk -v d="$D" '"'"'$5 == d {print $6}'"'"' /proc/self/mountinfo | tail -n1'
# fs_type: a container-side shell function printing "DEST FSTYPE" for $1
FS_TYPE='fs_type() { awk -v d="$1" '"'"'$5 == d {for (i = 7; $i != "-"; i++); t = $(i+1)} END {print d, t}'"'"' /proc/self/mountinfo; }; '

@test "bind mount of a host directory, read-write" {
	make_bundle "$BUNDLE"
	mkdir "$WORK/host"
	echo from-host >"$WORK/host/file"
	add_mount '{"destination":"/mnt/b","type":"bind","source":"'"$WORK/host"'","options":["bind"]}'
	run_sh 'cat /mnt/b/file; echo from-container > /mnt/b/new'
	assert_success
	assert_output from-host
	assert_equal "$(cat "$WORK/host/new")" from-container
}

@test "bind vs rbind: submounts only with rbind" {
	make_bundle "$BUNDLE"
	mkdir -p "$WORK/host/sub"
	mount -t tmpfs tmpfs "$WORK/host/sub"
	touch "$WORK/host/sub/marker"
	add_mount '{"destination":"/mnt/bind","type":"bind","source":"'"$WORK/host"'","options":["bind"]}'
	add_mount '{"destination":"/mnt/rbind","type":"bind","source":"'"$WORK/host"'","options":["rbind"]}'
	run_sh 'ls /mnt/bind/sub; echo --; ls /mnt/rbind/sub'
	assert_success
	assert_equal "${lines[0]}" "--" "bind shows no submount"
	assert_equal "${lines[1]}" "marker" "rbind shows the submount"
}

@test "ro, nosuid, nodev, noexec on a bind mount" {
	make_bundle "$BUNDLE"
	mkdir "$WORK/host"
	cp "$BUSYBOX" "$WORK/host/bb"
	add_mount '{"destination":"/mnt/r","type":"bind","source":"'"$WORK/host"'","options":["rbind","ro","nosuid","nodev","noexec"]}'
	run_sh 'D=/mnt/r; '"$MOUNTINFO_OPTS"'; touch /mnt/r/x 2>&1; /mnt/r/bb true 2>&1; echo rc=$?'
	assert_success
	opts=${lines[0]}
	for o in ro nosuid nodev noexec; do
		[[ ,$opts, == *,$o,* ]] || fail "option $o missing: $opts"
	done
	assert_output_contains "Read-only file system"
	assert_output_contains "Permission denied"
	[ ! -e "$WORK/host/x" ]
}

@test "a ro bind mount does not make the host source read-only" {
	make_bundle "$BUNDLE"
	mkdir "$WORK/host"
	add_mount '{"destination":"/mnt/r","type":"bind","source":"'"$WORK/host"'","options":["bind","ro"]}'
	run_sh 'true'
	assert_success
	touch "$WORK/host/still-writable"
}

@test "bind mount of a single file" {
	make_bundle "$BUNDLE"
	echo filedata >"$WORK/f"
	add_mount '{"destination":"/etc/myfile","type":"bind","source":"'"$WORK/f"'","options":["bind","ro"]}'
	run_sh 'cat /etc/myfile'
	assert_success
	assert_output filedata
}

@test "tmpfs with size and mode" {
	make_bundle "$BUNDLE"
	add_mount '{"destination":"/mnt/t","type":"tmpfs","source":"tmpfs","options":["size=1m","mode=1770","nosuid"]}'
	run_sh 'stat -c %a /mnt/t; df -k /mnt/t | tail -n1 | awk "{print \$2}"; D=/mnt/t; '"$MOUNTINFO_OPTS"
	assert_success
	assert_equal "${lines[0]}" 1770 mode
	assert_equal "${lines[1]}" 1024 "size in KiB"
	[[ ,${lines[2]}, == *,nosuid,* ]] || fail "nosuid missing: ${lines[2]}"
}

@test "tmpcopyup copies the rootfs content into the tmpfs, leaving the rootfs untouched" {
	make_bundle "$BUNDLE"
	mkdir -p "$BUNDLE/rootfs/data/sub"
	echo original >"$BUNDLE/rootfs/data/sub/file"
	ln -s sub/file "$BUNDLE/rootfs/data/link"
	chmod 750 "$BUNDLE/rootfs/data"
	add_mount '{"destination":"/data","type":"tmpfs","source":"tmpfs","options":["tmpcopyup"]}'
	run_sh "$FS_TYPE"'cat /data/sub/file; readlink /data/link; stat -c %a /data; echo changed > /data/sub/file; fs_type /data'
	assert_success
	assert_equal "${lines[0]}" original
	assert_equal "${lines[1]}" sub/file
	assert_equal "${lines[2]}" 750 "mode of the tmpfs root"
	assert_equal "${lines[3]}" "/data tmpfs" "fs type"
	assert_equal "$(cat "$BUNDLE/rootfs/data/sub/file")" original "rootfs file"
}

@test "mounts are made in config order (a later mount covers an earlier one)" {
	make_bundle "$BUNDLE"
	mkdir "$WORK/a" "$WORK/b"
	echo a >"$WORK/a/which"
	echo b >"$WORK/b/which"
	add_mount '{"destination":"/mnt/o","type":"bind","source":"'"$WORK/a"'","options":["bind"]}'
	add_mount '{"destination":"/mnt/o","type":"bind","source":"'"$WORK/b"'","options":["bind"]}'
	add_mount '{"destination":"/mnt/o/inner","type":"tmpfs","source":"tmpfs"}'
	run_sh 'cat /mnt/o/which; grep -c " /mnt/o/inner " /proc/self/mountinfo'
	assert_success
	assert_equal "${lines[0]}" b
	assert_equal "${lines[1]}" 1
	[ -d "$WORK/b/inner" ] # the mount point was made in the second source
}

@test "mount destination directories are created" {
	make_bundle "$BUNDLE"
	add_mount '{"destination":"/a/b/c/d","type":"tmpfs","source":"tmpfs"}'
	run_sh 'grep -c " /a/b/c/d " /proc/self/mountinfo'
	assert_success
	assert_output 1
}

@test "root.readonly makes / read-only but not the tmpfs mounts" {
	make_bundle "$BUNDLE"
	update_config '.root.readonly = true'
	add_mount '{"destination":"/tmp","type":"tmpfs","source":"tmpfs"}'
	run_sh 'touch /x 2>&1; touch /tmp/y && echo tmp-ok'
	assert_success
	assert_output_contains "Read-only file system"
	assert_output_contains "tmp-ok"
	[ ! -e "$BUNDLE/rootfs/x" ]
}

@test "propagation: an rslave bind sees host mounts made after create; rprivate does not" {
	make_bundle "$BUNDLE"
	mkdir -p "$WORK/prop"
	mount --bind "$WORK/prop" "$WORK/prop"
	mount --make-shared "$WORK/prop"
	mkdir "$WORK/prop/sub"
	add_mount '{"destination":"/mnt/slave","type":"bind","source":"'"$WORK/prop"'","options":["rbind","rslave"]}'
	add_mount '{"destination":"/mnt/private","type":"bind","source":"'"$WORK/prop"'","options":["rbind","rprivate"]}'
	set_args sh -c 'ls /mnt/slave/sub; echo --; ls /mnt/private/sub'
	runtime create -b "$BUNDLE" "$CID" >"$WORK/out" 2>&1
	mount -t tmpfs tmpfs "$WORK/prop/sub"
	touch "$WORK/prop/sub/late"
	runtime start "$CID"
	wait_status "$CID" stopped
	run cat "$WORK/out"
	assert_equal "${lines[0]}" late "slave sees the late mount"
	assert_equal "${lines[1]}" "--" "private does not"
}

@test "propagation: container mounts do not leak to the host through a shared source" {
	make_bundle "$BUNDLE"
	mkdir -p "$WORK/prop/sub"
	mount --bind "$WORK/prop" "$WORK/prop"
	mount --make-shared "$WORK/prop"
	add_mount '{"destination":"/mnt/p","type":"bind","source":"'"$WORK/prop"'","options":["rbind","rprivate"]}'
	add_mount '{"destination":"/mnt/p/sub","type":"tmpfs","source":"tmpfs"}'
	run_sh 'touch /mnt/p/sub/inside'
	assert_success
	run mounts_under "$WORK/prop/sub"
	assert_output ""
	[ ! -e "$WORK/prop/sub/inside" ]
}

@test "rootfsPropagation slave: host mounts under the bundle's parent do not break create" {
	make_bundle "$BUNDLE"
	mount --bind "$WORK" "$WORK"
	mount --make-rshared "$WORK"
	update_config '.linux.rootfsPropagation = "slave"'
	run_sh 'echo ok'
	assert_success
	assert_output ok
}

@test "a rootfs under a shared mount still pivots (parent made private/slave first)" {
	make_bundle "$BUNDLE"
	mount --bind "$WORK" "$WORK"
	mount --make-rshared "$WORK"
	run_sh 'echo pivoted'
	assert_success
	assert_output pivoted
	# nothing of the container propagated back to the host
	run mounts_under "$BUNDLE"
	assert_output ""
}

@test "rootfsPropagation rshared: a rootfs under a shared mount still pivots" {
	make_bundle "$BUNDLE"
	mount --bind "$WORK" "$WORK"
	mount --make-rshared "$WORK"
	update_config '.linux.rootfsPropagation = "rshared"'
	run_sh 'awk "\$5 == \"/\"" /proc/self/mountinfo'
	assert_success
	assert_output_contains " / "
	runc_differs "runc 1.1 leaves the container's / private with rootfsPropagation rshared"
	assert_output_contains "shared:"
}

@test "a mount destination that is a symlink out of the rootfs stays inside it" {
	make_bundle "$BUNDLE"
	mkdir "$WORK/target" "$WORK/target2" "$WORK/src"
	echo payload >"$WORK/src/file"
	# absolute and relative links pointing at a host directory
	ln -s "$WORK/target" "$BUNDLE/rootfs/evil-abs"
	ln -s ../../../../../../../../../../../"$WORK/target2" "$BUNDLE/rootfs/evil-rel"
	add_mount '{"destination":"/evil-abs/m","type":"bind","source":"'"$WORK/src"'","options":["bind"]}'
	add_mount '{"destination":"/evil-rel","type":"tmpfs","source":"tmpfs"}'
	before=$(awk '{print $5}' /proc/self/mountinfo | sort | md5sum)
	set_args sh -c 'cat "$0/m/file"; sleep 2' "$WORK/target"
	runtime run -b "$BUNDLE" "$CID" >"$WORK/out" 2>&1 &
	bg=$!
	sleep 1
	after=$(awk '{print $5}' /proc/self/mountinfo | sort | md5sum)
	wait "$bg" || true
	# nothing was created or mounted on the host through the links
	run ls -A "$WORK/target" "$WORK/target2"
	assert_equal "$(ls -A "$WORK/target" "$WORK/target2" | grep -v -e '^$' -e ':$')" "" "host dirs behind the links"
	assert_equal "$after" "$before" "host mount table while the container ran"
	run mounts_under "$WORK/target"
	assert_output ""
	run mounts_under "$WORK/target2"
	assert_output ""
	# either resolved inside the rootfs (the bind landed at rootfs$WORK/target/m)
	# or refused at create
	run cat "$WORK/out"
	[ "$output" = payload ] || [[ $output == *rror* ]] || fail "unexpected output: $output"
}

@test "a mount source/destination with .. cannot climb out of the rootfs" {
	make_bundle "$BUNDLE"
	mkdir "$WORK/outside"
	add_mount '{"destination":"/../../../../'"${WORK#/}"'/outside/m","type":"tmpfs","source":"tmpfs"}'
	run runtime run -b "$BUNDLE" "$CID" </dev/null
	run ls -A "$WORK/outside"
	assert_output ""
	run mounts_under "$WORK/outside"
	assert_output ""
}

@test "proc, sysfs, devpts, mqueue and cgroup are mounted as configured" {
	make_bundle "$BUNDLE"
	run_sh "$FS_TYPE"'for d in /proc /sys /dev/pts /dev/mqueue /dev/shm; do fs_type $d; done'
	assert_success
	assert_line "/proc proc"
	assert_line "/sys sysfs"
	assert_line "/dev/pts devpts"
	assert_line "/dev/mqueue mqueue"
	assert_line "/dev/shm tmpfs"
}

@test "the cgroup mount shows every v1 controller (or cgroup2)" {
	requires cgroups_v1
	make_bundle "$BUNDLE"
	run_sh 'ls /sys/fs/cgroup'
	assert_success
	for c in $(awk '$3 == "cgroup" {print $2}' /proc/self/mounts | xargs -n1 basename); do
		[ "$c" = systemd ] && continue
		assert_line "$c"
	done
}

@test "a relative mount destination is an error" {
	runc_differs "runc 1.1 accepts relative mount destinations"
	make_bundle "$BUNDLE"
	add_mount '{"destination":"relative/dir","type":"tmpfs","source":"tmpfs"}'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "relative/dir"
}

# idmap_maps CONTAINER_ID HOST_ID SIZE: uidMappings and gidMappings members.
idmap_maps() {
	printf '"uidMappings":[{"containerID":%s,"hostID":%s,"size":%s}],"gidMappings":[{"containerID":%s,"hostID":%s,"size":%s}]' "$@" "$@"
}

@test "idmap bind mount: ids on disk are seen through the mount's mappings, both ways" {
	runc_differs "runc 1.1 has no idmapped mounts"
	make_bundle "$BUNDLE"
	mkdir "$WORK/host"
	touch "$WORK/host/by-1000" "$WORK/host/by-root"
	chown 1000:1000 "$WORK/host" "$WORK/host/by-1000"
	# on-disk 1000 is seen as 0 through the mount (and 0 written as 1000)
	add_mount '{"destination":"/mnt/id","type":"bind","source":"'"$WORK/host"'","options":["bind","idmap"],'"$(idmap_maps 1000 0 1)"'}'
	add_mount '{"destination":"/mnt/plain","type":"bind","source":"'"$WORK/host"'","options":["bind"]}'
	run_sh 'stat -c "%n %u:%g" /mnt/id/by-1000 /mnt/id/by-root /mnt/plain/by-1000; touch /mnt/id/new && echo created'
	assert_success
	assert_line "/mnt/id/by-1000 0:0"
	assert_line "/mnt/id/by-root 65534:65534" # not in the mapping: overflow id
	assert_line "/mnt/plain/by-1000 1000:1000"
	assert_line created
	assert_equal "$(stat -c %u:%g "$WORK/host/new")" 1000:1000 "owner on disk of a file root made through the mount"
	# the host's view of the source is unchanged
	assert_equal "$(stat -c %u "$WORK/host/by-1000")" 1000
}

@test "idmap without mappings takes the container's user namespace mappings" {
	runc_differs "runc 1.1 has no idmapped mounts"
	requires userns
	make_bundle "$BUNDLE"
	chown -R 100000:100000 "$BUNDLE/rootfs"
	mkdir "$WORK/host"
	echo root-owned >"$WORK/host/f"
	update_config '.linux.namespaces += [{"type":"user"}]
		| .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
		| .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]'
	add_mount '{"destination":"/mnt/id","type":"bind","source":"'"$WORK/host"'","options":["rbind","idmap"]}'
	add_mount '{"destination":"/mnt/plain","type":"bind","source":"'"$WORK/host"'","options":["rbind"]}'
	run_sh 'stat -c "%n %u" /mnt/id/f /mnt/plain/f; echo x >/mnt/id/new && echo wrote; echo x >/mnt/plain/new2 2>/dev/null || echo plain-denied'
	assert_success
	assert_line "/mnt/id/f 0"
	assert_line "/mnt/plain/f 65534"
	assert_line wrote
	assert_line plain-denied
	assert_equal "$(stat -c %u "$WORK/host/new")" 0 "container root writes as host root through the idmapped mount"
}

@test "ridmap on an rbind maps the submounts too; options like ro still apply" {
	runc_differs "runc 1.1 has no idmapped mounts"
	make_bundle "$BUNDLE"
	mkdir -p "$WORK/host/sub"
	mount -t tmpfs -o mode=755,uid=1000,gid=1000 tmpfs "$WORK/host/sub"
	touch "$WORK/host/sub/f" && chown 1000:1000 "$WORK/host/sub/f" "$WORK/host"
	add_mount '{"destination":"/mnt/id","type":"bind","source":"'"$WORK/host"'","options":["rbind","ridmap","ro"],'"$(idmap_maps 1000 0 1)"'}'
	run_sh 'stat -c "%n %u" /mnt/id /mnt/id/sub/f; touch /mnt/id/x 2>&1 || true'
	assert_success
	assert_line "/mnt/id 0"
	assert_line "/mnt/id/sub/f 0"
	assert_output_contains "Read-only file system"
	umount "$WORK/host/sub"
}

@test "idmap errors: no mappings and no user namespace, or not a bind mount; nothing is left" {
	runc_differs "runc 1.1 ignores idmap options"
	make_bundle "$BUNDLE"
	mkdir "$WORK/host"
	add_mount '{"destination":"/mnt/id","type":"bind","source":"'"$WORK/host"'","options":["bind","idmap"]}'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "mounts["
	assert_output_contains "uidMappings"
	make_bundle "$BUNDLE"
	add_mount '{"destination":"/mnt/t","type":"tmpfs","source":"tmpfs","options":["idmap"],'"$(idmap_maps 0 1000 1)"'}'
	run_create -b "$BUNDLE" "$CID"
	assert_failure
	assert_output_contains "only supported on bind mounts"
	run runtime list -q
	assert_output ""
}
