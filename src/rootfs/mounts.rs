//! Applying the mount plan inside the container's new mount namespace,
//! before pivot_root: root propagation, the rootfs bind, then every mount in
//! config order (binds with their remount flags, tmpfs with `tmpcopyup`,
//! the cgroup tree), each onto a destination resolved inside the rootfs.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use nix::sys::statvfs::{fstatvfs, FsFlags};

use super::paths::{self, fd_path};
use super::plan::{Kind, MountOp, RootfsPlan};
use crate::cgroups::{Cgroup, Layout};
use crate::error::{Context, Error, Result};
use crate::mountinfo;
use crate::sys::fs as sfs;

const NONE: Option<&str> = None;

/// Flags that only make sense in the first mount(2) call, never a remount.
fn remount_flags(f: MsFlags) -> MsFlags {
    f & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT)
}

/// Make the container's view of the host private or slave (so nothing it
/// mounts leaks out), make the rootfs' parent mount private (pivot_root
/// refuses a shared parent), and turn the rootfs into a mount point.
/// Returns the O_PATH descriptor of the rootfs mount.
pub fn prepare_root(plan: &RootfsPlan) -> Result<OwnedFd> {
    let first = match plan.propagation {
        Some(p) if !p.contains(MsFlags::MS_UNBINDABLE) => p | MsFlags::MS_REC,
        _ => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    };
    mount(NONE, "/", NONE, first, NONE).ctx(|| "set the propagation of `/`".to_string())?;
    let rootfs = &plan.rootfs;
    // Only a shared tree (rootfsPropagation `shared`, `rshared`) can leave
    // the rootfs' parent mount shared: making a mount slave or private
    // also takes it out of its peer group, and the default is rslave.
    if first.contains(MsFlags::MS_SHARED) {
        let entries = mountinfo::read();
        if let Some(parent) = mountinfo::containing_mount(&entries, rootfs) {
            if parent.optional.iter().any(|o| o.starts_with("shared:")) {
                mount(NONE, &parent.mount_point, NONE, MsFlags::MS_PRIVATE, NONE)
                    .ctx(|| format!("make the rootfs parent mount `{}` private", parent.mount_point.display()))?;
            }
        }
    }
    mount(Some(rootfs), rootfs, NONE, MsFlags::MS_BIND | MsFlags::MS_REC, NONE)
        .ctx(|| format!("bind mount the rootfs `{}` onto itself", rootfs.display()))?;
    paths::open_root(rootfs)
}

/// Every configured mount, in order.
/// `idmapped` holds the detached idmapped mounts berth prepared
/// (`super::idmap`), one slot per entry of `plan.mounts`.
pub fn mount_all(
    root: BorrowedFd<'_>,
    plan: &RootfsPlan,
    idmapped: &[Option<OwnedFd>],
    in_userns: bool,
    new_cgroupns: bool,
    cg: Option<&Cgroup>,
) -> Result<()> {
    for (i, m) in plan.mounts.iter().enumerate() {
        let r = match idmapped.get(i).and_then(|f| f.as_ref()) {
            Some(tree) => mount_idmapped(root, m, tree.as_fd(), in_userns),
            None => mount_one(root, m, in_userns, new_cgroupns, cg),
        };
        r.map_err(|e| Error::Init(format!("mount `{}` on `{}`: {e}", source_name(m), m.dest.display())))?;
    }
    Ok(())
}

fn source_name(m: &MountOp) -> String {
    m.source.as_ref().map(|s| s.display().to_string()).or_else(|| m.fstype.clone()).unwrap_or_else(|| "none".into())
}

fn mount_one(
    root: BorrowedFd<'_>,
    m: &MountOp,
    in_userns: bool,
    new_cgroupns: bool,
    cg: Option<&Cgroup>,
) -> Result<()> {
    match m.kind {
        Kind::Bind => mount_bind(root, m, in_userns),
        Kind::Cgroup => mount_cgroup(root, m, in_userns, new_cgroupns, cg),
        _ => mount_fs(root, m, in_userns),
    }
}

/// Files under /proc that a bind mount may cover (runc's list: what lxcfs
/// provides). Anything else inside procfs is refused: a mount over, say,
/// /proc/self/attr or /proc/sys/kernel/core_pattern would redirect what
/// berth or the kernel writes there (CVE-2019-16884 class).
const PROC_BIND_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// Refuse a non-proc mount whose resolved target is inside a procfs
/// (through the config's path or a symlink in the rootfs), unless it is
/// one of [`PROC_BIND_ALLOWED`].
fn check_not_in_proc(target: BorrowedFd<'_>, m: &MountOp) -> Result<()> {
    const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    let in_proc = sfs::fs_magic(target).ctx(|| "statfs the mount target".to_string())? == PROC_SUPER_MAGIC;
    if in_proc && !PROC_BIND_ALLOWED.iter().any(|a| Path::new(a) == m.dest) {
        return Err(Error::Init(format!(
            "`{}` resolves inside /proc: only proc itself, or a bind of one of {}, may be mounted there",
            m.dest.display(),
            PROC_BIND_ALLOWED.join(", ")
        )));
    }
    Ok(())
}

/// The target of a proc or sysfs mount: a real directory, reached without
/// any symlink. A rootfs whose /proc is a symlink would put procfs
/// elsewhere and leave a fake /proc for the writes that follow
/// (CVE-2023-27561, CVE-2023-28642).
fn real_dir(root: BorrowedFd<'_>, dest: &Path) -> Result<OwnedFd> {
    use nix::fcntl::{OFlag, ResolveFlag};
    let resolve = ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS;
    let open = |p: &Path| {
        let rel: PathBuf = p.components().filter(|c| !matches!(c, std::path::Component::RootDir)).collect();
        let rel = if rel.as_os_str().is_empty() { PathBuf::from(".") } else { rel };
        let how =
            nix::fcntl::OpenHow::new().flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC).resolve(resolve);
        nix::fcntl::openat2(root, &rel, how)
    };
    let refuse =
        |why: &str| Err(Error::Init(format!("`{}` in the rootfs {why}: refusing to mount there", dest.display())));
    match open(dest) {
        Ok(fd) => Ok(fd),
        Err(nix::errno::Errno::ELOOP) => refuse("is, or passes through, a symlink"),
        Err(nix::errno::Errno::ENOTDIR) => refuse("is not a directory"),
        Err(nix::errno::Errno::ENOENT) => {
            let parent = dest.parent().unwrap_or(Path::new("/"));
            let name = dest.file_name().unwrap_or_default();
            let dir = match open(parent) {
                Ok(d) => d,
                Err(nix::errno::Errno::ELOOP) => return refuse("passes through a symlink"),
                Err(e) => return Err(e).ctx(|| format!("open `{}` in the rootfs", parent.display())),
            };
            match nix::sys::stat::mkdirat(dir.as_fd(), name, nix::sys::stat::Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(e).ctx(|| format!("create `{}` in the rootfs", dest.display())),
            }
            match open(dest) {
                Ok(fd) => Ok(fd),
                Err(nix::errno::Errno::ELOOP) => refuse("is a symlink"),
                Err(e) => Err(e).ctx(|| format!("open `{}` in the rootfs", dest.display())),
            }
        }
        Err(e) => Err(e).ctx(|| format!("open `{}` in the rootfs", dest.display())),
    }
}

fn mount_bind(root: BorrowedFd<'_>, m: &MountOp, in_userns: bool) -> Result<()> {
    let src = m.source.as_deref().unwrap_or(Path::new(""));
    let meta = std::fs::metadata(src).ctx(|| format!("stat bind source `{}`", src.display()))?;
    let target =
        if meta.is_dir() { paths::mkdir_all(root, &m.dest, 0o755)? } else { paths::ensure_file(root, &m.dest)? };
    check_not_in_proc(target.as_fd(), m)?;
    let rec = if m.opts.is_recursive_bind() { MsFlags::MS_REC } else { MsFlags::empty() };
    mount(Some(src), &fd_path(target.as_fd()), NONE, MsFlags::MS_BIND | rec, NONE).ctx(|| "bind".to_string())?;
    finish_mount(root, m, true, in_userns)
}

/// Attach a detached idmapped copy of the bind source (made by berth) at
/// the destination, then apply the mount's other options.
fn mount_idmapped(root: BorrowedFd<'_>, m: &MountOp, tree: BorrowedFd<'_>, in_userns: bool) -> Result<()> {
    let is_dir = nix::sys::stat::fstat(tree)
        .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .ctx(|| "stat the idmapped source".to_string())?;
    let target = if is_dir { paths::mkdir_all(root, &m.dest, 0o755)? } else { paths::ensure_file(root, &m.dest)? };
    check_not_in_proc(target.as_fd(), m)?;
    sfs::move_mount_onto(tree, target.as_fd()).ctx(|| "attach the idmapped mount".to_string())?;
    finish_mount(root, m, true, in_userns)
}

/// Remount flags, propagation and recursive attributes on the new mount,
/// reached by resolving the destination again (it now crosses the mount).
fn finish_mount(root: BorrowedFd<'_>, m: &MountOp, is_bind: bool, in_userns: bool) -> Result<()> {
    let extra = remount_flags(m.opts.flags);
    let needs_remount = is_bind && !extra.is_empty();
    if !needs_remount && m.opts.propagation.is_empty() && m.opts.rec_set == 0 && m.opts.rec_clear == 0 {
        return Ok(());
    }
    let fd = paths::resolve(root, &m.dest).ctx(|| "reopen the new mount".to_string())?;
    if needs_remount {
        let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | extra;
        if in_userns {
            flags |= locked_flags(fd.as_fd());
        }
        mount(NONE, &fd_path(fd.as_fd()), NONE, flags, NONE).ctx(|| "remount with the bind options".to_string())?;
        // A remount changes the top mount only. A recursive bind that asks
        // for read-only would otherwise leave writable whatever it brought
        // along below: rootless `/sys` (`rbind,ro`) carries the host's
        // cgroup hierarchies, some writable by the caller (CVE-2023-25809).
        // So `rbind` + `ro` is read-only all the way down, as Docker makes
        // read-only binds where the kernel allows.
        if m.opts.flags.contains(MsFlags::MS_REC | MsFlags::MS_RDONLY) {
            sfs::mount_setattr_recursive(fd.as_fd(), sfs::MOUNT_ATTR_RDONLY, 0)
                .ctx(|| "make the recursive bind read-only below its top".to_string())?;
        }
    }
    for p in &m.opts.propagation {
        mount(NONE, &fd_path(fd.as_fd()), NONE, *p, NONE).ctx(|| "set propagation".to_string())?;
    }
    if m.opts.rec_set != 0 || m.opts.rec_clear != 0 {
        sfs::mount_setattr_recursive(fd.as_fd(), m.opts.rec_set, m.opts.rec_clear)
            .ctx(|| "set recursive mount attributes".to_string())?;
    }
    Ok(())
}

/// The flags of an existing mount that an unprivileged remount must keep.
pub fn locked_flags(fd: BorrowedFd<'_>) -> MsFlags {
    let Ok(st) = fstatvfs(fd) else { return MsFlags::empty() };
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (s, m) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(s) {
            out |= m;
        }
    }
    out
}

fn mount_fs(root: BorrowedFd<'_>, m: &MountOp, in_userns: bool) -> Result<()> {
    let target = match m.kind {
        Kind::Proc | Kind::Sysfs => real_dir(root, &m.dest)?,
        _ => {
            let t = paths::mkdir_all(root, &m.dest, 0o755)?;
            check_not_in_proc(t.as_fd(), m)?;
            t
        }
    };
    // For tmpcopyup, keep a handle on the directory being covered: its
    // content is copied into the new tmpfs through it.
    let covered = if m.opts.tmpcopyup {
        Some(
            paths::resolve_with(root, &m.dest, nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY)
                .ctx(|| "open the directory to copy up".to_string())?,
        )
    } else {
        None
    };
    let source = m.source.clone().unwrap_or_else(|| PathBuf::from(m.fstype.as_deref().unwrap_or("none")));
    let data = (!m.opts.data.is_empty()).then_some(m.opts.data.as_str());
    let r = mount(Some(&source), &fd_path(target.as_fd()), m.fstype.as_deref(), m.opts.flags, data);
    match r {
        Ok(()) => {}
        // sysfs can't be mounted in a user namespace that doesn't own the
        // network namespace: bind the host's instead, as runc does.
        Err(nix::errno::Errno::EPERM) if m.kind == Kind::Sysfs && in_userns => {
            let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
            mount(Some("/sys"), &fd_path(target.as_fd()), NONE, flags, NONE).ctx(|| "bind /sys".to_string())?;
            // The bind brings the host's mounts below /sys along, the
            // writable cgroup hierarchies of a rootless user among them:
            // the options go on every one of them (CVE-2023-25809).
            let fd = paths::resolve(root, &m.dest).ctx(|| "reopen /sys".to_string())?;
            sfs::mount_setattr_recursive(fd.as_fd(), attrs_of(m.opts.flags), 0)
                .ctx(|| "apply the sysfs mount options to the bound /sys and every mount below it".to_string())?;
        }
        // devpts `gid=5` where gid 5 is not mapped (a rootless user
        // namespace with the caller's gid only): the pty group is moot
        // there, so mount without it, as crun does.
        Err(nix::errno::Errno::EINVAL)
            if m.fstype.as_deref() == Some("devpts") && in_userns && m.opts.data.contains("gid=") =>
        {
            let data: Vec<&str> = m.opts.data.split(',').filter(|o| !o.starts_with("gid=")).collect();
            let data = data.join(",");
            mount(Some(&source), &fd_path(target.as_fd()), m.fstype.as_deref(), m.opts.flags, Some(data.as_str()))
                .ctx(|| "mount devpts".to_string())?;
        }
        Err(e) => return Err(e).ctx(|| format!("mount {}", m.fstype.as_deref().unwrap_or("filesystem"))),
    }
    if let Some(old) = covered {
        let new = paths::resolve_with(root, &m.dest, nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY)
            .ctx(|| "open the new tmpfs".to_string())?;
        copy_tree(&fd_path(old.as_fd()), &fd_path(new.as_fd())).ctx(|| "copy up into the tmpfs".to_string())?;
    }
    finish_mount(root, m, false, in_userns)
}

/// Copy a directory tree, keeping modes, owners and symlinks (tmpcopyup).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // `from` may be a /proc/self/fd link: follow it for the directory itself.
    let meta = std::fs::metadata(from)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    std::os::unix::fs::lchown(to, Some(meta.uid()), Some(meta.gid()))?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let md = std::fs::symlink_metadata(&src)?;
        let ft = md.file_type();
        if ft.is_dir() {
            std::fs::create_dir(&dst)?;
            copy_tree(&src, &dst)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
            std::os::unix::fs::lchown(&dst, Some(md.uid()), Some(md.gid()))?;
        } else if ft.is_file() {
            std::fs::copy(&src, &dst)?;
            std::os::unix::fs::lchown(&dst, Some(md.uid()), Some(md.gid()))?;
        }
    }
    Ok(())
}

/// One cgroup hierarchy as the container should see it.
struct Hierarchy {
    /// Name under the cgroup mount (`cpu`, `memory`, `systemd`, `unified`, or
    /// empty for a pure cgroup2 host).
    name: String,
    fstype: String,
    /// mount(2) data for a fresh mount (`cpu`, `name=systemd`).
    options: String,
    /// The host directory of this process' cgroup in the hierarchy.
    host_dir: PathBuf,
}

/// The container's cgroup in each hierarchy, from the cgroup resolved at
/// create time (the init sits in it by now).
fn hierarchies(cg: &Cgroup) -> Vec<Hierarchy> {
    let base = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let v1 = cg.hierarchies.v1().iter().map(|h| Hierarchy {
        name: base(&h.mountpoint),
        fstype: "cgroup".into(),
        options: h.controllers.join(","),
        host_dir: h.path.clone(),
    });
    let unified = cg.hierarchies.unified().into_iter().map(|h| Hierarchy {
        // On a pure v2 host the hierarchy is the cgroup mount itself.
        name: if cg.layout() == Layout::V2 { String::new() } else { base(&h.mountpoint) },
        fstype: "cgroup2".into(),
        options: String::new(),
        host_dir: h.path.clone(),
    });
    v1.chain(unified).collect()
}

/// The host cgroup directories that `mount_cgroup` binds into the container
/// for the `cgroup` mount `m`, as (container path, host directory); none
/// where it mounts a cgroup filesystem of its own. CRIU must be told about
/// these binds (external mounts) at checkpoint and restore.
pub fn cgroup_binds(m: &MountOp, cg: &Cgroup, in_userns: bool, new_cgroupns: bool) -> Vec<(PathBuf, PathBuf)> {
    let hs = hierarchies(cg);
    if m.fstype.as_deref() == Some("cgroup2") || hs.iter().all(|h| h.name.is_empty()) {
        if new_cgroupns || in_userns {
            return Vec::new();
        }
        return hs
            .into_iter()
            .filter(|h| h.fstype == "cgroup2")
            .take(1)
            .map(|h| (m.dest.clone(), h.host_dir))
            .collect();
    }
    if new_cgroupns {
        return Vec::new();
    }
    hs.into_iter().filter(|h| !h.name.is_empty()).map(|h| (m.dest.join(&h.name), h.host_dir)).collect()
}

fn mount_cgroup(
    root: BorrowedFd<'_>,
    m: &MountOp,
    in_userns: bool,
    new_cgroupns: bool,
    cg: Option<&Cgroup>,
) -> Result<()> {
    let flags = remount_flags(m.opts.flags) & !MsFlags::MS_RDONLY;
    let hs = cg.map(hierarchies).unwrap_or_default();
    let target = paths::mkdir_all(root, &m.dest, 0o755)?;
    check_not_in_proc(target.as_fd(), m)?;
    // Pure cgroup2 host (or a `cgroup2` mount asked for by type). A fresh
    // cgroup2 mount needs CAP_SYS_ADMIN over the owner of the cgroup
    // namespace: a new user namespace without its own cgroup namespace is
    // refused (EPERM), so it gets its own cgroup directory bound instead,
    // as runc does. Some kernels refuse a user namespace the fresh mount
    // even in a cgroup namespace of its own (Debian 12's 6.1: EBUSY for a
    // rootless container); it then gets the same bind, also as runc does
    // (its cgroup directory is what the cgroup namespace shows as `/`).
    if m.fstype.as_deref() == Some("cgroup2") || hs.iter().all(|h| h.name.is_empty()) {
        let own = hs.iter().find(|h| h.fstype == "cgroup2");
        if new_cgroupns {
            use nix::errno::Errno;
            let fresh = mount(Some("cgroup2"), &fd_path(target.as_fd()), Some("cgroup2"), m.opts.flags, NONE);
            match (fresh, own) {
                (Ok(()), _) => {}
                (Err(Errno::EPERM | Errno::EBUSY), Some(h)) if in_userns => {
                    bind_cgroup_dir(root, &h.host_dir, &m.dest, m.opts.flags)?
                }
                (Err(e), _) => return Err(e).ctx(|| "mount cgroup2".to_string()),
            }
        } else if let Some(h) = own {
            bind_cgroup_dir(root, &h.host_dir, &m.dest, m.opts.flags)?;
        }
        return Ok(());
    }
    mount(Some("tmpfs"), &fd_path(target.as_fd()), Some("tmpfs"), flags, Some("mode=755"))
        .ctx(|| "mount tmpfs for the cgroup hierarchies".to_string())?;
    // The tmpfs is new and berth's alone: its directories are made and
    // opened in it directly, nothing in it to resolve inside the root.
    let base = paths::resolve(root, &m.dest).ctx(|| "open the cgroup tmpfs".to_string())?;
    for h in &hs {
        if h.name.is_empty() {
            continue;
        }
        let dir = dir_in_tmpfs(base.as_fd(), &h.name)?;
        if new_cgroupns {
            let data = (!h.options.is_empty()).then_some(h.options.as_str());
            mount(Some(h.fstype.as_str()), &fd_path(dir.as_fd()), Some(h.fstype.as_str()), m.opts.flags, data)
                .ctx(|| format!("mount cgroup hierarchy `{}`", h.name))?;
        } else {
            bind_host_cgroup(dir.as_fd(), &h.host_dir)?;
        }
        // Co-mounted controllers (`cpu,cpuacct`) also get one symlink each.
        if h.name.contains(',') {
            for part in h.name.split(',') {
                let _ = nix::unistd::symlinkat(h.name.as_str(), base.as_fd(), part);
            }
        }
    }
    if new_cgroupns {
        if m.opts.flags.contains(MsFlags::MS_RDONLY) {
            mount(NONE, &fd_path(base.as_fd()), NONE, MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | flags, NONE)
                .ctx(|| "make the cgroup tmpfs read-only".to_string())?;
        }
        return Ok(());
    }
    // The mount's options on the tmpfs and every bind below it, and on
    // whatever each bind brought along, in one call: a read-only cgroup
    // mount must not keep writable hierarchies below it (CVE-2023-25809).
    sfs::mount_setattr_recursive(base.as_fd(), attrs_of(m.opts.flags), 0)
        .ctx(|| format!("apply the mount options to `{}` and the hierarchies below it", m.dest.display()))
}

/// Directory `name` made in the cgroup tmpfs `base` (O_PATH), not
/// following anything.
fn dir_in_tmpfs(base: BorrowedFd<'_>, name: &str) -> Result<OwnedFd> {
    use nix::fcntl::OFlag;
    match nix::sys::stat::mkdirat(base, name, nix::sys::stat::Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(e).ctx(|| format!("create `{name}` in the cgroup tmpfs")),
    }
    nix::fcntl::openat(
        base,
        name,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("open `{name}` in the cgroup tmpfs"))
}

fn bind_cgroup_dir(root: BorrowedFd<'_>, host: &Path, dest: &Path, flags: MsFlags) -> Result<()> {
    let dir = paths::mkdir_all(root, dest, 0o755)?;
    bind_host_cgroup(dir.as_fd(), host)?;
    // Recursively: a read-only cgroup mount must not keep writable
    // hierarchies mounted below it (CVE-2023-25809).
    let fd = paths::resolve(root, dest).ctx(|| "reopen the cgroup bind".to_string())?;
    sfs::mount_setattr_recursive(fd.as_fd(), attrs_of(flags), 0)
        .ctx(|| format!("apply the mount options to cgroup `{}`", dest.display()))
}

/// Bind the host's cgroup directory `host` (and what is mounted below it)
/// onto the directory `dir`; the caller applies the mount's options.
fn bind_host_cgroup(dir: BorrowedFd<'_>, host: &Path) -> Result<()> {
    mount(Some(host), &fd_path(dir), NONE, MsFlags::MS_BIND | MsFlags::MS_REC, NONE)
        .ctx(|| format!("bind cgroup `{}`", host.display()))
}

/// The mount_setattr(2) attributes for the restricting MS_* flags.
fn attrs_of(flags: MsFlags) -> u64 {
    [
        (MsFlags::MS_RDONLY, sfs::MOUNT_ATTR_RDONLY),
        (MsFlags::MS_NOSUID, sfs::MOUNT_ATTR_NOSUID),
        (MsFlags::MS_NODEV, sfs::MOUNT_ATTR_NODEV),
        (MsFlags::MS_NOEXEC, sfs::MOUNT_ATTR_NOEXEC),
    ]
    .iter()
    .filter(|(f, _)| flags.contains(*f))
    .fold(0, |a, (_, attr)| a | attr)
}
