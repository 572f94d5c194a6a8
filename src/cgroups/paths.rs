//! Where a container's cgroup lives: the host layout (v1, v2, hybrid) read
//! from `/proc/self/mountinfo`, the caller's own cgroups from
//! `/proc/self/cgroup`, and `linux.cgroupsPath` resolved against them the way
//! runc's cgroupfs driver does. Everything here is pure text processing so it
//! is unit tested with fixture strings.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// How cgroups are mounted on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Only cgroup v1 hierarchies.
    V1,
    /// Only the cgroup v2 unified hierarchy.
    V2,
    /// v1 controllers plus a cgroup2 mount (usually `/sys/fs/cgroup/unified`).
    Hybrid,
}

/// One cgroup or cgroup2 line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// Path inside the hierarchy that is mounted (field 4; `/` normally).
    pub root: String,
    pub mountpoint: PathBuf,
    /// `true` for cgroup2.
    pub unified: bool,
    /// Super options (`rw,cpu,cpuacct`, `rw,name=systemd`).
    pub options: Vec<String>,
}

/// One line of `/proc/<pid>/cgroup`: `id:controllers:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcCgroup {
    /// Empty for the v2 line `0::/path`.
    pub controllers: Vec<String>,
    pub path: String,
}

pub(crate) fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    crate::mountinfo::parse(text)
        .into_iter()
        .filter_map(|e| {
            let unified = match e.fstype.as_str() {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            Some(CgroupMount {
                root: e.root,
                mountpoint: e.mount_point,
                unified,
                options: e.super_options.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<ProcCgroup> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.splitn(3, ':');
            let _id = it.next()?;
            let ctrls = it.next()?;
            let path = it.next()?;
            Some(ProcCgroup {
                controllers: ctrls.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
                path: path.to_owned(),
            })
        })
        .collect()
}

pub(crate) fn layout_of(mounts: &[CgroupMount]) -> Result<Layout> {
    let v1 = mounts.iter().any(|m| !m.unified);
    let v2 = mounts.iter().any(|m| m.unified);
    match (v1, v2) {
        (true, true) => Ok(Layout::Hybrid),
        (true, false) => Ok(Layout::V1),
        (false, true) => Ok(Layout::V2),
        (false, false) => Err(Error::NoHierarchy),
    }
}

/// runc's `CleanPath`: lexically clean, and for a relative path first clean it
/// as if it were absolute so that `..` can never climb above its base.
pub(crate) fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return String::new();
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str().unwrap_or_default()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    let joined = parts.join("/");
    if p.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Join a path inside a hierarchy (`/a/b`) onto the directory where that
/// hierarchy is mounted, honouring a mount of a sub-tree (mount root != `/`).
fn join_in_mount(mount: &CgroupMount, cgpath: &str) -> PathBuf {
    let rel = Path::new(cgpath).strip_prefix(&mount.root).unwrap_or_else(|_| Path::new(cgpath.trim_start_matches('/')));
    let rel = rel.strip_prefix("/").unwrap_or(rel);
    mount.mountpoint.join(rel)
}

/// One hierarchy the container's cgroup lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    /// v1 controllers of this hierarchy (`["cpu"]`, `["name=systemd"]`);
    /// empty for the unified hierarchy.
    pub controllers: Vec<String>,
    /// Where the hierarchy is mounted.
    pub mountpoint: PathBuf,
    /// The container's cgroup directory (absolute).
    pub path: PathBuf,
    /// Topmost directory of `path` that did not exist when the path was
    /// resolved; `destroy` removes up to it (if empty), never above.
    pub create_from: Option<PathBuf>,
}

/// A container's cgroup directories, in the shapes a host can have: the
/// type holds nothing a host cannot be (no v2 host without its unified
/// directory, no v1 directories on a v2 host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchies {
    /// Only v1 hierarchies: one directory in each the caller belongs to
    /// (never none), named hierarchies (`name=systemd`) too.
    V1 { v1: Vec<Hierarchy> },
    /// v1 controllers plus a cgroup2 mount (usually
    /// `/sys/fs/cgroup/unified`): the v1 hierarchies do the work, the
    /// unified one gets membership and the `unified` keys, as with runc.
    Hybrid { v1: Vec<Hierarchy>, unified: Hierarchy },
    /// Only the unified hierarchy.
    V2 { unified: Hierarchy },
}

impl Hierarchies {
    /// The shape of what was found on a host of `layout`: a hybrid host
    /// whose cgroup2 mount the caller is not in works as a v1 one (its
    /// unified hierarchy would only have got membership); nothing at all
    /// is an error.
    pub(crate) fn new(layout: Layout, v1: Vec<Hierarchy>, unified: Option<Hierarchy>) -> Result<Hierarchies> {
        match (layout, unified) {
            (Layout::V2, Some(unified)) => Ok(Hierarchies::V2 { unified }),
            (Layout::Hybrid, Some(unified)) => Ok(Hierarchies::Hybrid { v1, unified }),
            (Layout::V1 | Layout::Hybrid, _) if !v1.is_empty() => Ok(Hierarchies::V1 { v1 }),
            _ => Err(Error::NoHierarchy),
        }
    }

    pub fn layout(&self) -> Layout {
        match self {
            Hierarchies::V1 { .. } => Layout::V1,
            Hierarchies::Hybrid { .. } => Layout::Hybrid,
            Hierarchies::V2 { .. } => Layout::V2,
        }
    }

    /// The v1 hierarchies (none on v2).
    pub fn v1(&self) -> &[Hierarchy] {
        match self {
            Hierarchies::V1 { v1 } | Hierarchies::Hybrid { v1, .. } => v1,
            Hierarchies::V2 { .. } => &[],
        }
    }

    /// The unified hierarchy (v2, or a hybrid host's cgroup2 mount).
    pub fn unified(&self) -> Option<&Hierarchy> {
        match self {
            Hierarchies::V1 { .. } => None,
            Hierarchies::Hybrid { unified, .. } | Hierarchies::V2 { unified } => Some(unified),
        }
    }

    /// Every hierarchy, v1 first.
    pub fn iter(&self) -> impl Iterator<Item = &Hierarchy> {
        self.v1().iter().chain(self.unified())
    }

    /// Every hierarchy, v1 first, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Hierarchy> {
        let (v1, unified): (&mut [Hierarchy], Option<&mut Hierarchy>) = match self {
            Hierarchies::V1 { v1 } => (v1, None),
            Hierarchies::Hybrid { v1, unified } => (v1, Some(unified)),
            Hierarchies::V2 { unified } => (&mut [], Some(unified)),
        };
        v1.iter_mut().chain(unified)
    }
}

/// The directory of the hierarchy among `hs` that holds v1 `controller`
/// (`memory`, `name=systemd`).
pub(crate) fn controller_dir<'a>(hs: &'a [Hierarchy], controller: &str) -> Option<&'a Path> {
    hs.iter().find(|h| h.controllers.iter().any(|c| c == controller)).map(|h| h.path.as_path())
}

/// Inner path for the cgroupfs driver: the cleaned `cgroupsPath`, or the
/// container id (relative, under the caller's cgroup) as runc does.
pub(crate) fn inner_path(cgroups_path: Option<&str>, id: &str) -> Result<String> {
    let raw = cgroups_path.unwrap_or("");
    if !raw.starts_with('/') && raw.split(':').count() == 3 {
        return Err(Error::SystemdPath(raw.to_owned()));
    }
    let p = clean_path(raw);
    if !p.is_empty() && p != "/" {
        return Ok(p);
    }
    if !raw.is_empty() {
        return Err(Error::InvalidPath(raw.to_owned()));
    }
    let id = clean_path(id);
    if id.is_empty() {
        return Err(Error::InvalidPath(id));
    }
    Ok(id)
}

/// Resolve the container's directories: v1 hierarchies (every controller
/// and named hierarchy the caller belongs to) and the unified one.
pub(crate) fn resolve_with(mounts: &[CgroupMount], own: &[ProcCgroup], inner: &str) -> Result<Hierarchies> {
    let layout = layout_of(mounts)?;
    let absolute = inner.starts_with('/');
    let mut v1 = Vec::new();
    for line in own.iter().filter(|l| !l.controllers.is_empty()) {
        let Some(mount) = mounts.iter().find(|m| !m.unified && line.controllers.iter().all(|c| m.options.contains(c)))
        else {
            continue;
        };
        let path = if absolute {
            mount.mountpoint.join(inner.trim_start_matches('/'))
        } else {
            join_in_mount(mount, &line.path).join(inner)
        };
        v1.push(Hierarchy {
            controllers: line.controllers.clone(),
            mountpoint: mount.mountpoint.clone(),
            path,
            create_from: None,
        });
    }
    let unified = match (mounts.iter().find(|m| m.unified), own.iter().find(|l| l.controllers.is_empty())) {
        (Some(mount), Some(line)) => {
            let path = if absolute {
                mount.mountpoint.join(inner.trim_start_matches('/'))
            } else {
                // Pure v2: like runc, go to the parent of our own cgroup, which
                // has no processes of its own and can delegate controllers.
                let base = if layout == Layout::V2 {
                    Path::new(&line.path).parent().map(|p| p.to_string_lossy().into_owned())
                } else {
                    None
                };
                join_in_mount(mount, base.as_deref().unwrap_or(&line.path)).join(inner)
            };
            Some(Hierarchy { controllers: Vec::new(), mountpoint: mount.mountpoint.clone(), path, create_from: None })
        }
        _ => None,
    };
    Hierarchies::new(layout, v1, unified)
}

/// The caller's own cgroup in every hierarchy (where a rootless container
/// without a cgroup of its own stays).
pub(crate) fn own_with(mounts: &[CgroupMount], own: &[ProcCgroup]) -> Result<Hierarchies> {
    let mut hs = resolve_with(mounts, own, "")?;
    if let (Hierarchies::Hybrid { unified: u, .. } | Hierarchies::V2 { unified: u }, Some(mount), Some(line)) =
        (&mut hs, mounts.iter().find(|m| m.unified), own.iter().find(|l| l.controllers.is_empty()))
    {
        u.path = join_in_mount(mount, &line.path);
    }
    for h in hs.iter_mut() {
        h.path = h.path.components().collect();
    }
    Ok(hs)
}

/// The topmost missing directory between the mountpoint and `path`.
pub(crate) fn first_missing(mountpoint: &Path, path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix(mountpoint).ok()?;
    let mut cur = mountpoint.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        if !cur.exists() {
            return Some(cur);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
30 24 0:26 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
35 30 0:31 / /sys/fs/cgroup/net\\040cls rw - cgroup cgroup rw,net_cls,net_prio
";
    const PROC: &str = "9:name=systemd:/\n4:memory:/process_api/x\n1:cpu:/\n5:net_cls,net_prio:/n\n0::/u\n";

    #[test]
    fn parses_mountinfo_and_layout() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(m.len(), 5);
        assert_eq!(m[4].mountpoint, PathBuf::from("/sys/fs/cgroup/net cls"));
        assert!(m[3].unified);
        assert_eq!(layout_of(&m).unwrap(), Layout::Hybrid);
        assert_eq!(layout_of(&m[3..4]).unwrap(), Layout::V2);
        assert_eq!(layout_of(&m[..2]).unwrap(), Layout::V1);
        assert!(layout_of(&[]).is_err());
    }

    #[test]
    fn cleans_like_runc() {
        assert_eq!(clean_path("../../a/./b/"), "a/b");
        assert_eq!(clean_path("/a/../../b"), "/b");
        assert_eq!(clean_path(""), "");
    }

    #[test]
    fn own_cgroup_dirs() {
        let m = parse_mountinfo(MOUNTINFO);
        let own = parse_proc_cgroup(PROC);
        let hs = own_with(&m, &own).unwrap();
        for h in hs.iter() {
            assert!(!h.path.to_string_lossy().ends_with('/'), "{}", h.path.display());
            assert!(h.path.starts_with(&h.mountpoint));
        }
        let uni = resolve_with(&m, &own, "x").unwrap();
        assert_eq!(uni.unified().unwrap().path.parent(), Some(hs.unified().unwrap().path.as_path()));
    }

    #[test]
    fn inner_path_rules() {
        assert_eq!(inner_path(None, "ctr").unwrap(), "ctr");
        assert_eq!(inner_path(Some(""), "ctr").unwrap(), "ctr");
        assert_eq!(inner_path(Some("/a/b"), "ctr").unwrap(), "/a/b");
        assert_eq!(inner_path(Some("x/../y"), "ctr").unwrap(), "y");
        assert!(matches!(inner_path(Some("system.slice:berth:ctr"), "c"), Err(Error::SystemdPath(_))));
        assert!(inner_path(Some("/"), "c").is_err());
    }

    #[test]
    fn resolves_absolute_and_relative() {
        let m = parse_mountinfo(MOUNTINFO);
        let own = parse_proc_cgroup(PROC);
        let hs = resolve_with(&m, &own, "/cgtest").unwrap();
        assert_eq!(hs.layout(), Layout::Hybrid);
        let dirs: Vec<_> = hs.v1().iter().map(|h| h.path.clone()).collect();
        assert_eq!(
            dirs,
            vec![
                PathBuf::from("/sys/fs/cgroup/systemd/cgtest"),
                PathBuf::from("/sys/fs/cgroup/memory/cgtest"),
                PathBuf::from("/sys/fs/cgroup/cpu/cgtest"),
                PathBuf::from("/sys/fs/cgroup/net cls/cgtest"),
            ]
        );
        assert_eq!(hs.unified().unwrap().path, PathBuf::from("/sys/fs/cgroup/unified/cgtest"));

        let hs = resolve_with(&m, &own, "rel/c").unwrap();
        assert_eq!(hs.v1()[1].path, PathBuf::from("/sys/fs/cgroup/memory/process_api/x/rel/c"));
        assert_eq!(hs.v1()[3].path, PathBuf::from("/sys/fs/cgroup/net cls/n/rel/c"));
        // hybrid: relative to our own unified cgroup, as runc's v1 driver
        assert_eq!(hs.unified().unwrap().path, PathBuf::from("/sys/fs/cgroup/unified/u/rel/c"));
    }

    #[test]
    fn pure_v2_relative_goes_under_parent() {
        let m = parse_mountinfo("1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let own = parse_proc_cgroup("0::/user.slice/session-1.scope\n");
        let hs = resolve_with(&m, &own, "ctr").unwrap();
        let Hierarchies::V2 { unified } = hs else { panic!("{hs:?}") };
        assert_eq!(unified.path, PathBuf::from("/sys/fs/cgroup/user.slice/ctr"));
    }

    #[test]
    fn mount_of_subtree() {
        // inside a cgroup namespace / bind of a sub-tree
        let m = parse_mountinfo("1 0 0:1 /a /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let own = parse_proc_cgroup("0::/a/b\n");
        let hs = resolve_with(&m, &own, "c").unwrap();
        assert_eq!(hs.unified().unwrap().path, PathBuf::from("/sys/fs/cgroup/c"));
    }

    #[test]
    fn finds_first_missing() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("a")).unwrap();
        let p = tmp.path().join("a/b/c");
        assert_eq!(first_missing(tmp.path(), &p), Some(tmp.path().join("a/b")));
        assert_eq!(first_missing(tmp.path(), &tmp.path().join("a")), None);
    }
}
