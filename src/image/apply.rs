//! Applying one layer's tar stream onto a directory, per image-spec
//! `layer.md`. Two modes: [`ApplyMode::Flat`] changes an existing rootfs
//! (whiteouts delete from the layers below), [`ApplyMode::Overlay`] fills an
//! empty per-layer directory for the overlay store (whiteouts become char
//! 0/0 devices, opaque directories get `trusted.overlay.opaque=y`, or
//! `user.overlay.opaque=y` for an overlay mounted with `userxattr` in a user
//! namespace).
//!
//! What a layer may not do: carry overlay metadata of its own (an image's
//! `trusted.overlay.*` or `user.overlay.*` xattrs could hide or redirect
//! other layers' files once mounted), or hold GNU/PAX sparse entries (a few
//! bytes that expand into terabytes of holes; refused, as umoci refuses them).
//!
//! Ordering rules: a whiteout only hides content of *lower* layers, so it
//! never removes what this layer already wrote; an opaque marker acts as if
//! it came first in its directory whatever its position in the tar. Both
//! follow from tracking which paths (and their ancestors) this layer wrote.
//! Directory mtimes are set at the end, after their children are written.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{
    fchmod, fchmodat, futimens, makedev, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use tar::EntryType;

use super::fsops::{clean, is_dir, is_whiteout, join, list_dir, lstat_at, open_child_dir, remove_all_at, Comps, Root};
use super::rootless::{owner_record, OWNER_XATTR};
use super::{Error, Result};
use crate::sys::image::{fsetxattr, lsetxattr_at};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
/// The overlay xattr namespaces: `trusted.` for a mount by real root,
/// `user.` for one made with `userxattr` (in a user namespace).
const OVERLAY_XATTR_PREFIXES: [&str; 2] = ["trusted.overlay.", "user.overlay."];

/// How whiteouts are represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// Apply onto a full rootfs: whiteouts delete.
    Flat,
    /// Fill one overlay lower directory: whiteouts are recorded overlay-style,
    /// with `user.overlay.*` xattrs when `userxattr` (else `trusted.overlay.*`).
    Overlay { userxattr: bool },
}

impl ApplyMode {
    fn is_overlay(self) -> bool {
        matches!(self, ApplyMode::Overlay { .. })
    }

    fn opaque_xattr(self) -> &'static str {
        match self {
            ApplyMode::Overlay { userxattr: true } => "user.overlay.opaque",
            _ => "trusted.overlay.opaque",
        }
    }
}

/// Whether a layer's xattr `key` is applied. Overlay metadata is never taken
/// from an image, in either namespace (an opaque, redirect or whiteout xattr
/// changes what the mounted overlay shows). Rootless, only `user.` xattrs
/// can be set at all, and the layer's own ownership record is replaced by
/// the one imgtool writes.
pub fn xattr_allowed(key: &str, rootless: bool) -> bool {
    if OVERLAY_XATTR_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return false;
    }
    !(rootless && (key.starts_with("trusted.") || key.starts_with("security.") || key == OWNER_XATTR))
}

/// What one layer application did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyStats {
    pub entries: u64,
    pub bytes: u64,
}

/// Metadata of one tar entry, gathered before it is written.
struct Meta {
    uid: u64,
    gid: u64,
    mode: u32,
    mtime: i64,
    xattrs: Vec<(String, Vec<u8>)>,
    /// A PAX sparse file (`GNU.sparse.*` records), with its real name if given.
    sparse: bool,
    sparse_name: Option<String>,
}

struct Applier {
    root: Root,
    mode: ApplyMode,
    /// Not root: no chown (owners recorded in an xattr instead), no device
    /// nodes, no trusted./security. xattrs.
    rootless: bool,
    /// Paths this layer wrote, and all their ancestors.
    touched: HashSet<OsString>,
    /// Directories' mtimes, and (rootless) modes, to set at the end.
    dir_times: Vec<(Comps, i64, Option<u32>)>,
    /// The last parent directory used (tar entries come grouped by directory).
    cache: Option<(Comps, OwnedFd)>,
    stats: ApplyStats,
    buf: Vec<u8>,
}

/// Apply the tar stream `reader` onto `root`. The caller verifies the stream
/// afterwards ([`super::layer::LayerStream::finish`]) and discards `root` on
/// any error.
pub fn apply_layer<R: Read>(root: &Path, reader: R, mode: ApplyMode) -> Result<ApplyStats> {
    let mut a = Applier {
        root: Root::open(root)?,
        mode,
        rootless: super::rootless::is_rootless(),
        touched: HashSet::new(),
        dir_times: Vec::new(),
        cache: None,
        stats: ApplyStats::default(),
        buf: vec![0; 128 << 10],
    };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(Error::tar)? {
        let mut entry = entry.map_err(Error::tar)?;
        let path = entry.path().map_err(Error::tar)?.into_owned();
        a.entry(&mut entry).map_err(|e| Error::Entry { entry: path.display().to_string(), source: Box::new(e) })?;
        a.stats.entries += 1;
    }
    a.finish()?;
    Ok(a.stats)
}

fn meta_of<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<Meta> {
    let h = entry.header();
    let mut m = Meta {
        // Some writers leave ids blank: that means 0, as GNU tar reads it.
        uid: h.uid().unwrap_or(0),
        gid: h.gid().unwrap_or(0),
        mode: h.mode().map_err(Error::tar)? & 0o7777,
        mtime: i64::try_from(h.mtime().map_err(Error::tar)?).unwrap_or(0),
        xattrs: Vec::new(),
        sparse: false,
        sparse_name: None,
    };
    if let Some(exts) = entry.pax_extensions().map_err(Error::tar)? {
        for ext in exts {
            let ext = ext.map_err(Error::tar)?;
            let Ok(key) = ext.key() else { continue };
            let num =
                || std::str::from_utf8(ext.value_bytes()).ok().and_then(|v| v.split('.').next()?.parse::<i64>().ok());
            match key {
                "uid" => m.uid = num().and_then(|v| u64::try_from(v).ok()).unwrap_or(m.uid),
                "gid" => m.gid = num().and_then(|v| u64::try_from(v).ok()).unwrap_or(m.gid),
                "mtime" => m.mtime = num().unwrap_or(m.mtime),
                "GNU.sparse.name" => {
                    m.sparse = true;
                    m.sparse_name = Some(String::from_utf8_lossy(ext.value_bytes()).into_owned());
                }
                k if k.starts_with("GNU.sparse.") => m.sparse = true,
                _ => {
                    if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                        m.xattrs.push((name.to_string(), ext.value_bytes().to_vec()));
                    }
                }
            }
        }
    }
    Ok(m)
}

impl Applier {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let comps = clean(&entry.path().map_err(Error::tar)?);
        let kind = entry.header().entry_type();
        let meta = meta_of(entry)?;
        if kind == EntryType::GNUSparse || meta.sparse {
            let entry = meta.sparse_name.clone().unwrap_or_else(|| join(&comps).to_string_lossy().into_owned());
            return Err(Error::Sparse { entry });
        }
        let Some((name, parent)) = comps.split_last() else {
            // The root itself: only its metadata can change.
            if kind == EntryType::Directory {
                let fd =
                    self.root.dir(&[], false)?.ok_or_else(|| Error::sys("open", &self.root.path, Errno::ENOENT))?;
                self.set_fd_meta(fd.as_fd(), &meta, &comps)?;
                let deferred = self.keep_writable(fd.as_fd(), &meta, &comps)?;
                self.dir_times.push((comps, meta.mtime, deferred));
            }
            return Ok(());
        };
        let name_bytes = name.as_bytes();
        if name_bytes == OPAQUE.as_bytes() {
            return self.opaque(parent);
        }
        if let Some(target) = name_bytes.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            if target.starts_with(WHITEOUT_PREFIX.as_bytes()) {
                return Ok(()); // other aufs metadata (.wh..wh.plnk and such)
            }
            return self.whiteout(parent, OsStr::from_bytes(target));
        }
        self.mark_touched(&comps);
        let dir = self.parent(parent)?;
        let existing = lstat_at(dir.as_fd(), name).map_err(|e| Error::sys("stat", self.root.display(&comps), e))?;
        let want_dir = kind == EntryType::Directory;
        let mut kept_dir = false;
        let mut over_whiteout = false;
        if let Some(st) = existing {
            if is_dir(&st) && want_dir {
                kept_dir = true;
            } else if is_dir(&st) {
                remove_all_at(dir.as_fd(), name).map_err(|e| Error::sys("remove", self.root.display(&comps), e))?;
                self.cache = None;
            } else {
                over_whiteout = self.mode.is_overlay() && is_whiteout(&st);
                unlinkat(dir.as_fd(), name.as_os_str(), UnlinkatFlags::NoRemoveDir)
                    .map_err(|e| Error::sys("remove", self.root.display(&comps), e))?;
            }
        }
        let at = self.root.display(&comps);
        match kind {
            EntryType::Regular | EntryType::Continuous => {
                let fd = openat(
                    dir.as_fd(),
                    name.as_os_str(),
                    OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|e| Error::sys("create", &at, e))?;
                let mut file = File::from(fd);
                self.copy(entry, &mut file).map_err(|e| Error::io("write", &at, e))?;
                self.set_fd_meta(file.as_fd(), &meta, &comps)?;
                let t = TimeSpec::new(meta.mtime, 0);
                futimens(file.as_fd(), &t, &t).map_err(|e| Error::sys("set times of", &at, e))?;
            }
            EntryType::Directory => {
                if !kept_dir {
                    mkdirat(dir.as_fd(), name.as_os_str(), Mode::from_bits_truncate(0o700))
                        .map_err(|e| Error::sys("create directory", &at, e))?;
                }
                let fd = open_child_dir(dir.as_fd(), name).map_err(|e| Error::sys("open directory", &at, e))?;
                self.set_fd_meta(fd.as_fd(), &meta, &comps)?;
                if over_whiteout {
                    // A directory replacing a whiteout must not show what lies below.
                    fsetxattr(fd.as_fd(), self.mode.opaque_xattr(), b"y")
                        .map_err(|e| Error::sys("mark opaque", &at, e))?;
                }
                let deferred = self.keep_writable(fd.as_fd(), &meta, &comps)?;
                self.dir_times.push((comps.clone(), meta.mtime, deferred));
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(Error::tar)?
                    .ok_or_else(|| Error::NoLinkTarget { entry: at.display().to_string() })?;
                symlinkat(target.as_ref(), dir.as_fd(), name.as_os_str())
                    .map_err(|e| Error::sys("create symlink", &at, e))?;
                self.set_at_meta(dir.as_fd(), name, &meta, &comps, false)?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(Error::tar)?
                    .ok_or_else(|| Error::NoLinkTarget { entry: at.display().to_string() })?;
                self.hardlink(dir.as_fd(), name, &comps, &clean(&target))?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (kind_flag, dev) = match kind {
                    EntryType::Fifo => (SFlag::S_IFIFO, 0),
                    k => {
                        if self.rootless {
                            return Ok(()); // an unprivileged unpack cannot make devices
                        }
                        let h = entry.header();
                        let major = h.device_major().map_err(Error::tar)?.unwrap_or(0);
                        let minor = h.device_minor().map_err(Error::tar)?.unwrap_or(0);
                        (
                            if k == EntryType::Char { SFlag::S_IFCHR } else { SFlag::S_IFBLK },
                            makedev(major.into(), minor.into()),
                        )
                    }
                };
                mknodat(dir.as_fd(), name.as_os_str(), kind_flag, Mode::from_bits_truncate(0o600), dev)
                    .map_err(|e| Error::sys("create node", &at, e))?;
                self.set_at_meta(dir.as_fd(), name, &meta, &comps, true)?;
            }
            other => return Err(Error::EntryType { entry: at.display().to_string(), kind: other.as_byte() }),
        }
        Ok(())
    }

    fn copy<R: Read>(&mut self, from: &mut R, to: &mut File) -> std::io::Result<()> {
        loop {
            let n = from.read(&mut self.buf)?;
            if n == 0 {
                return Ok(());
            }
            to.write_all(&self.buf[..n])?;
            self.stats.bytes += n as u64;
        }
    }

    /// The parent directory, created if missing (tar need not list it).
    fn parent(&mut self, parent: &[OsString]) -> Result<OwnedFd> {
        if let Some((p, fd)) = &self.cache {
            if p.as_slice() == parent {
                return fd.try_clone().map_err(|e| Error::io("dup", self.root.display(parent), e));
            }
        }
        let fd =
            self.root.dir(parent, true)?.ok_or_else(|| Error::sys("open", self.root.display(parent), Errno::ENOENT))?;
        let dup = fd.try_clone().map_err(|e| Error::io("dup", self.root.display(parent), e))?;
        self.cache = Some((parent.to_vec(), dup));
        Ok(fd)
    }

    fn mark_touched(&mut self, comps: &[OsString]) {
        for i in (1..=comps.len()).rev() {
            if !self.touched.insert(join(&comps[..i])) {
                break;
            }
        }
    }

    fn is_touched(&self, comps: &[OsString]) -> bool {
        self.touched.contains(&join(comps))
    }

    fn whiteout(&mut self, parent: &[OsString], target: &OsStr) -> Result<()> {
        if target.is_empty() || target == "." || target == ".." {
            return Ok(());
        }
        let mut comps = parent.to_vec();
        comps.push(target.to_os_string());
        if self.is_touched(&comps) {
            return Ok(()); // whiteouts only hide lower layers
        }
        match self.mode {
            ApplyMode::Flat => {
                let Some(dir) = self.root.dir(parent, false)? else { return Ok(()) };
                remove_all_at(dir.as_fd(), target).map_err(|e| Error::sys("remove", self.root.display(&comps), e))?;
                self.cache = None;
            }
            ApplyMode::Overlay { .. } => {
                let dir = self.parent(parent)?;
                match mknodat(dir.as_fd(), target, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(Error::sys("create whiteout", self.root.display(&comps), e)),
                }
            }
        }
        Ok(())
    }

    fn opaque(&mut self, dir_comps: &[OsString]) -> Result<()> {
        match self.mode {
            ApplyMode::Flat => {
                let Some(dir) = self.root.dir(dir_comps, false)? else { return Ok(()) };
                self.clear_untouched(dir.as_fd(), &mut dir_comps.to_vec())?;
                self.cache = None;
            }
            ApplyMode::Overlay { .. } => {
                self.mark_touched(dir_comps);
                let dir = self
                    .root
                    .dir(dir_comps, true)?
                    .ok_or_else(|| Error::sys("open", self.root.display(dir_comps), Errno::ENOENT))?;
                fsetxattr(dir.as_fd(), self.mode.opaque_xattr(), b"y")
                    .map_err(|e| Error::sys("mark opaque", self.root.display(dir_comps), e))?;
            }
        }
        Ok(())
    }

    /// Delete everything below `dir` that this layer did not write.
    fn clear_untouched(&self, dir: BorrowedFd<'_>, comps: &mut Comps) -> Result<()> {
        let names = list_dir(dir).map_err(|e| Error::sys("list", self.root.display(comps), e))?;
        for n in names {
            comps.push(n.clone());
            let r = if !self.is_touched(comps) {
                remove_all_at(dir, &n).map_err(|e| Error::sys("remove", self.root.display(comps), e))
            } else {
                match lstat_at(dir, &n) {
                    Ok(Some(st)) if is_dir(&st) => {
                        let sub =
                            open_child_dir(dir, &n).map_err(|e| Error::sys("open", self.root.display(comps), e))?;
                        self.clear_untouched(sub.as_fd(), comps)
                    }
                    _ => Ok(()),
                }
            };
            comps.pop();
            r?;
        }
        Ok(())
    }

    fn hardlink(&mut self, dir: BorrowedFd<'_>, name: &OsStr, comps: &[OsString], target: &[OsString]) -> Result<()> {
        let at = self.root.display(comps);
        let Some((tname, tparent)) = target.split_last() else {
            return Err(Error::NoLinkTarget { entry: at.display().to_string() });
        };
        // The target's directory is resolved inside the root like any path;
        // linkat without AT_SYMLINK_FOLLOW then links the entry itself.
        let tdir = self
            .root
            .dir(tparent, false)?
            .ok_or_else(|| Error::sys("link to", self.root.display(target), Errno::ENOENT))?;
        linkat(tdir.as_fd(), tname.as_os_str(), dir, name, AtFlags::empty())
            .map_err(|e| Error::sys("link to", self.root.display(target), e))
    }

    fn chown_ids(&self, meta: &Meta) -> Option<(Uid, Gid)> {
        if self.rootless {
            return None;
        }
        Some((Uid::from_raw(u32::try_from(meta.uid).ok()?), Gid::from_raw(u32::try_from(meta.gid).ok()?)))
    }

    /// The xattrs to set on an entry: the layer's allowed ones, and when
    /// rootless the record of an owner that could not be given.
    fn xattrs_of<'m>(&self, meta: &'m Meta) -> impl Iterator<Item = (&'m str, std::borrow::Cow<'m, [u8]>)> {
        let rootless = self.rootless;
        let record = if rootless { owner_record(meta.uid, meta.gid) } else { None };
        meta.xattrs
            .iter()
            .filter(move |(k, _)| xattr_allowed(k, rootless))
            .map(|(k, v)| (k.as_str(), std::borrow::Cow::Borrowed(v.as_slice())))
            .chain(record.map(|r| (OWNER_XATTR, std::borrow::Cow::Owned(r))))
    }

    /// Owner, mode (after chown, which clears setuid) and xattrs via an fd.
    fn set_fd_meta(&self, fd: BorrowedFd<'_>, meta: &Meta, comps: &[OsString]) -> Result<()> {
        let at = || self.root.display(comps);
        if let Some((u, g)) = self.chown_ids(meta) {
            fchown(fd, Some(u), Some(g)).map_err(|e| Error::sys("change owner of", at(), e))?;
        }
        fchmod(fd, Mode::from_bits_truncate(meta.mode)).map_err(|e| Error::sys("change mode of", at(), e))?;
        for (k, v) in self.xattrs_of(meta) {
            match fsetxattr(fd, k, &v) {
                Ok(()) | Err(Errno::EOPNOTSUPP) => {}
                Err(e) => return Err(Error::sys("set xattr on", at(), e)),
            }
        }
        Ok(())
    }

    /// The same for entries that cannot be opened (symlinks, nodes).
    fn set_at_meta(
        &self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        meta: &Meta,
        comps: &[OsString],
        chmod: bool,
    ) -> Result<()> {
        let at = || self.root.display(comps);
        if let Some((u, g)) = self.chown_ids(meta) {
            fchownat(dir, name, Some(u), Some(g), AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(|e| Error::sys("change owner of", at(), e))?;
        }
        if chmod {
            // Only for nodes this call just created (never a symlink).
            fchmodat(dir, name, Mode::from_bits_truncate(meta.mode), FchmodatFlags::FollowSymlink)
                .map_err(|e| Error::sys("change mode of", at(), e))?;
        }
        for (k, v) in self.xattrs_of(meta) {
            match lsetxattr_at(dir, name, k, &v) {
                Ok(()) | Err(Errno::EOPNOTSUPP) | Err(Errno::EPERM) => {}
                Err(e) => return Err(Error::sys("set xattr on", at(), e)),
            }
        }
        let t = TimeSpec::new(meta.mtime, 0);
        utimensat(dir, name, &t, &t, UtimensatFlags::NoFollowSymlink).map_err(|e| Error::sys("set times of", at(), e))
    }

    /// Rootless, a directory without owner rwx (an image's 0555 `/proc`,
    /// or a 0555 directory with content) would refuse its own children: it
    /// stays u+rwx until [`Self::finish`], which gives it its mode (root
    /// needs none of this). Returns the mode to set then.
    fn keep_writable(&self, fd: BorrowedFd<'_>, meta: &Meta, comps: &[OsString]) -> Result<Option<u32>> {
        if !self.rootless || meta.mode & 0o700 == 0o700 {
            return Ok(None);
        }
        fchmod(fd, Mode::from_bits_truncate(meta.mode | 0o700))
            .map_err(|e| Error::sys("change mode of", self.root.display(comps), e))?;
        Ok(Some(meta.mode))
    }

    /// Directory mtimes (and deferred modes) last: writing children changed
    /// them, deepest first.
    fn finish(&mut self) -> Result<()> {
        self.cache = None;
        for (comps, mtime, mode) in std::mem::take(&mut self.dir_times).iter().rev() {
            if let Some(fd) = self.root.dir(comps, false)? {
                if let Some(mode) = mode {
                    fchmod(fd.as_fd(), Mode::from_bits_truncate(*mode))
                        .map_err(|e| Error::sys("change mode of", self.root.display(comps), e))?;
                }
                let t = TimeSpec::new(*mtime, 0);
                futimens(fd.as_fd(), &t, &t).map_err(|e| Error::sys("set times of", self.root.display(comps), e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
