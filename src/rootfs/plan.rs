//! From config to the list of filesystem operations the init performs
//! (pure: no syscalls, unit tested). Validation of mount destinations,
//! device entries and paths happens here, before anything is created.

use std::path::{Component, Path, PathBuf};

use nix::mount::MsFlags;
use nix::sys::stat::SFlag;
use oci_spec::runtime::{LinuxDeviceType, LinuxIdMapping, LinuxNamespaceType, Spec};

use super::options::{self, Parsed};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bind,
    Proc,
    Sysfs,
    Cgroup,
    Tmpfs,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOp {
    pub kind: Kind,
    /// Host path for binds (relative sources are made relative to the
    /// bundle), otherwise the filesystem's source string.
    pub source: Option<PathBuf>,
    /// Absolute path inside the container.
    pub dest: PathBuf,
    pub fstype: Option<String>,
    pub opts: Parsed,
    /// An idmapped bind mount: the mappings its user namespace gets.
    pub idmap: Option<IdMap>,
}

/// The id mappings of an idmapped mount (the format of a user namespace's
/// `uid_map`: an id on the source filesystem is `containerID`, and is seen
/// through the mount as `hostID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap {
    pub uid: Vec<LinuxIdMapping>,
    pub gid: Vec<LinuxIdMapping>,
    /// `ridmap`: every mount of an `rbind` tree, not just its top.
    pub recursive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNode {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootfsPlan {
    /// Absolute host path of the root filesystem.
    pub rootfs: PathBuf,
    pub readonly: bool,
    pub mounts: Vec<MountOp>,
    /// Create the default devices and /dev symlinks (not when /dev is a
    /// bind mount of a host directory).
    pub setup_dev: bool,
    pub devices: Vec<DeviceNode>,
    pub masked: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    /// `linux.rootfsPropagation`, applied to the container's `/`.
    pub propagation: Option<MsFlags>,
}

/// The devices every container gets (runtime-spec config-linux.md
/// "Default Devices").
pub fn default_devices() -> Vec<DeviceNode> {
    [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)]
        .iter()
        .map(|(n, ma, mi)| DeviceNode {
            path: PathBuf::from("/dev").join(n),
            kind: SFlag::S_IFCHR,
            major: *ma,
            minor: *mi,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect()
}

/// `/dev` symlinks every container gets: (link, target).
pub const DEV_SYMLINKS: &[(&str, &str)] = &[
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
    ("/dev/ptmx", "pts/ptmx"),
    ("/dev/core", "/proc/kcore"),
];

/// An absolute path with no `..` (inside the container, `..` is resolved
/// by the kernel within the root anyway; refusing it keeps plans legible).
fn container_path(field: &str, p: &Path) -> Result<PathBuf> {
    if !p.is_absolute() {
        return Err(Error::config(field, format!("`{}` is not an absolute path", p.display())));
    }
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(Error::config(field, format!("`{}` contains `..`", p.display())));
    }
    Ok(p.to_path_buf())
}

fn kind_of(fstype: Option<&str>, opts: &Parsed) -> Kind {
    if opts.is_bind() || fstype == Some("bind") {
        return Kind::Bind;
    }
    match fstype {
        Some("proc") => Kind::Proc,
        Some("sysfs") => Kind::Sysfs,
        Some("cgroup") | Some("cgroup2") => Kind::Cgroup,
        Some("tmpfs") => Kind::Tmpfs,
        _ => Kind::Other,
    }
}

fn propagation(field: &str, v: &str) -> Result<MsFlags> {
    Ok(match v {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        other => return Err(Error::config(field, format!("unknown propagation `{other}`"))),
    })
}

/// config.md: `idmap`/`ridmap`, or `uidMappings` with `gidMappings` (which
/// imply `idmap`), on a bind mount. Without mappings of its own the mount
/// takes those of the user namespace the container creates.
fn idmap_of(spec: &Spec, i: usize, m: &oci_spec::runtime::Mount, kind: Kind, opts: &Parsed) -> Result<Option<IdMap>> {
    let field = format!("mounts[{i}]");
    let (uid, gid) = (m.uid_mappings().as_ref(), m.gid_mappings().as_ref());
    if uid.is_some() != gid.is_some() {
        return Err(Error::config(field, "`uidMappings` and `gidMappings` must be given together"));
    }
    if opts.idmap.is_none() && uid.is_none() {
        return Ok(None);
    }
    if kind != Kind::Bind {
        return Err(Error::config(field, "`idmap`, `ridmap` and id mappings are only supported on bind mounts"));
    }
    let (uid, gid) = match (uid, gid) {
        (Some(u), Some(g)) => (u.clone(), g.clone()),
        _ => {
            let linux = spec.linux().as_ref();
            let own_userns = linux
                .and_then(|l| l.namespaces().as_ref())
                .into_iter()
                .flatten()
                .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
            let maps = linux.and_then(|l| Some((l.uid_mappings().clone()?, l.gid_mappings().clone()?)));
            match maps {
                Some(maps) if own_userns => maps,
                _ => {
                    return Err(Error::config(
                        field,
                        "`idmap` needs `uidMappings` and `gidMappings`, or a user namespace the container creates with its own mappings",
                    ))
                }
            }
        }
    };
    for (name, maps) in [("uidMappings", &uid), ("gidMappings", &gid)] {
        if maps.is_empty() || maps.iter().any(|x| x.size() == 0) {
            return Err(Error::config(format!("mounts[{i}].{name}"), "must be non-empty mappings of non-zero size"));
        }
    }
    Ok(Some(IdMap { uid, gid, recursive: opts.idmap == Some(true) }))
}

/// Build the root filesystem plan for a config in `bundle`.
pub fn plan(spec: &Spec, bundle: &Path) -> Result<RootfsPlan> {
    let root = spec.root().as_ref().ok_or_else(|| Error::config("root", "is required"))?;
    if root.path().as_os_str().is_empty() {
        return Err(Error::config("root.path", "is empty"));
    }
    let rootfs = bundle.join(root.path());
    let mount_label = crate::lsm::mount_label(spec.linux().as_ref().and_then(|l| l.mount_label().as_ref()));
    let mut mounts = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let field = format!("mounts[{i}].destination");
        let dest = container_path(&field, m.destination())?;
        let opts = options::parse(m.options().as_deref().unwrap_or(&[]));
        let fstype = m.typ().clone().filter(|t| !t.is_empty());
        let kind = kind_of(fstype.as_deref(), &opts);
        let source =
            m.source().as_ref().map(|s| if kind == Kind::Bind && s.is_relative() { bundle.join(s) } else { s.clone() });
        if kind == Kind::Bind && source.is_none() {
            return Err(Error::config(format!("mounts[{i}].source"), "a bind mount needs a source"));
        }
        // What berth reads and writes under /proc must be procfs (see
        // `crate::procfs`); a resolved target inside proc is checked again
        // when mounting.
        if dest == Path::new("/proc") && kind != Kind::Proc {
            return Err(Error::config(field, "only a `proc` filesystem may be mounted on `/proc`"));
        }
        let mut opts = opts;
        if let (Some(l), Kind::Tmpfs | Kind::Other) = (&mount_label, kind) {
            if matches!(fstype.as_deref(), Some("tmpfs" | "devpts" | "mqueue")) {
                opts.data = crate::lsm::with_context(&opts.data, l);
            }
        }
        let idmap = idmap_of(spec, i, m, kind, &opts)?;
        mounts.push(MountOp { kind, source, dest, fstype, opts, idmap });
    }
    let setup_dev = !mounts.iter().any(|m| m.dest == Path::new("/dev") && m.kind == Kind::Bind);
    let linux = spec.linux().as_ref();
    let mut devices = Vec::new();
    for (i, d) in linux.and_then(|l| l.devices().as_ref()).into_iter().flatten().enumerate() {
        let field = format!("linux.devices[{i}]");
        let path = container_path(&format!("{field}.path"), d.path())?;
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::config(format!("{field}.type"), "`a` is only valid in cgroup device rules"));
            }
        };
        devices.push(DeviceNode {
            path,
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        });
    }
    let paths = |field: &str, v: Option<&Vec<String>>| -> Result<Vec<PathBuf>> {
        v.into_iter()
            .flatten()
            .enumerate()
            .map(|(i, p)| container_path(&format!("{field}[{i}]"), Path::new(p)))
            .collect()
    };
    let masked = paths("linux.maskedPaths", linux.and_then(|l| l.masked_paths().as_ref()))?;
    let readonly_paths = paths("linux.readonlyPaths", linux.and_then(|l| l.readonly_paths().as_ref()))?;
    let propagation = match linux.and_then(|l| l.rootfs_propagation().as_ref()).filter(|s| !s.is_empty()) {
        Some(v) => Some(propagation("linux.rootfsPropagation", v)?),
        None => None,
    };
    Ok(RootfsPlan {
        rootfs,
        readonly: root.readonly().unwrap_or(false),
        mounts,
        setup_dev,
        devices,
        masked,
        readonly_paths,
        propagation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load::parse_spec;

    fn spec(extra: &str) -> Spec {
        parse_spec(format!(r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs","readonly":true}}{extra}}}"#).as_bytes())
            .unwrap()
    }

    #[test]
    fn runc_default_spec_plans() {
        let s = crate::spec::template::default_spec(false).unwrap();
        let p = plan(&s, Path::new("/b")).unwrap();
        assert_eq!(p.rootfs, Path::new("/b/rootfs"));
        assert!(p.readonly && p.setup_dev);
        let kinds: Vec<_> = p.mounts.iter().map(|m| (m.dest.to_str().unwrap(), m.kind)).collect();
        assert_eq!(kinds[0], ("/proc", Kind::Proc));
        assert_eq!(kinds[1], ("/dev", Kind::Tmpfs));
        assert_eq!(kinds[6], ("/sys/fs/cgroup", Kind::Cgroup));
        assert_eq!(p.mounts[1].opts.data, "mode=755,size=65536k");
        assert_eq!(p.masked.len(), 10);
    }

    #[test]
    fn bind_sources_are_relative_to_the_bundle_and_order_is_kept() {
        let s = spec(
            r#","mounts":[{"destination":"/a","source":"data","options":["rbind","ro"]},
            {"destination":"/dev","type":"bind","source":"/dev","options":["rbind"]}]"#,
        );
        let p = plan(&s, Path::new("/b")).unwrap();
        assert_eq!(p.mounts[0].source.as_deref(), Some(Path::new("/b/data")));
        assert_eq!(p.mounts[0].kind, Kind::Bind);
        assert!(!p.setup_dev, "a bound /dev gets no default nodes");
    }

    #[test]
    fn bad_entries_name_their_field() {
        let e = plan(&spec(r#","mounts":[{"destination":"rel","type":"tmpfs"}]"#), Path::new("/b"));
        assert!(e.unwrap_err().to_string().contains("mounts[0].destination"));
        let e = plan(&spec(r#","linux":{"maskedPaths":["/ok","bad"]}"#), Path::new("/b"));
        assert!(e.unwrap_err().to_string().contains("linux.maskedPaths[1]"));
        let e = plan(&spec(r#","linux":{"rootfsPropagation":"weird"}"#), Path::new("/b"));
        assert!(e.unwrap_err().to_string().contains("weird"));
        let e = plan(&spec(r#","mounts":[{"destination":"/x","options":["bind"]}]"#), Path::new("/b"));
        assert!(e.unwrap_err().to_string().contains("mounts[0].source"));
    }

    #[test]
    fn idmapped_mounts() {
        let maps = r#""uidMappings":[{"containerID":1000,"hostID":0,"size":1}],"gidMappings":[{"containerID":1000,"hostID":0,"size":1}]"#;
        let s = spec(&format!(
            r#","mounts":[{{"destination":"/a","source":"/x","options":["rbind","ridmap"],{maps}}},
            {{"destination":"/b","source":"/x","options":["bind"],{maps}}}]"#
        ));
        let p = plan(&s, Path::new("/b")).unwrap();
        let a = p.mounts[0].idmap.as_ref().unwrap();
        assert!(a.recursive);
        assert_eq!((a.uid[0].container_id(), a.uid[0].host_id()), (1000, 0));
        assert!(!p.mounts[1].idmap.as_ref().unwrap().recursive, "mappings alone imply idmap");
        // the container's own user namespace mappings when none are given
        let s = spec(
            r#","mounts":[{"destination":"/a","source":"/x","options":["bind","idmap"]}],
            "linux":{"namespaces":[{"type":"user"}],"uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],
            "gidMappings":[{"containerID":0,"hostID":100000,"size":65536}]}"#,
        );
        let a = plan(&s, Path::new("/b")).unwrap().mounts[0].idmap.clone().unwrap();
        assert_eq!((a.uid[0].host_id(), a.gid[0].size()), (100000, 65536));
        assert!(plan(&spec(r#","mounts":[{"destination":"/a","source":"/x","options":["bind"]}]"#), Path::new("/b"))
            .unwrap()
            .mounts[0]
            .idmap
            .is_none());
    }

    #[test]
    fn bad_idmapped_mounts_are_refused() {
        for (m, want) in [
            (r#"{"destination":"/a","source":"/x","options":["bind","idmap"]}"#, "needs `uidMappings`"),
            (
                r#"{"destination":"/a","type":"tmpfs","source":"tmpfs","options":["idmap"],"uidMappings":[{"containerID":0,"hostID":1,"size":1}],"gidMappings":[{"containerID":0,"hostID":1,"size":1}]}"#,
                "only supported on bind mounts",
            ),
            (
                r#"{"destination":"/a","source":"/x","options":["bind"],"uidMappings":[{"containerID":0,"hostID":1,"size":1}]}"#,
                "must be given together",
            ),
            (
                r#"{"destination":"/a","source":"/x","options":["bind"],"uidMappings":[],"gidMappings":[]}"#,
                "mounts[0].uidMappings",
            ),
        ] {
            let e = plan(&spec(&format!(r#","mounts":[{m}]"#)), Path::new("/b")).unwrap_err().to_string();
            assert!(e.contains(want), "{m}: {e}");
        }
    }

    #[test]
    fn devices() {
        let s = spec(
            r#","linux":{"devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":438,"uid":0,"gid":0}],"rootfsPropagation":"rshared"}"#,
        );
        let p = plan(&s, Path::new("/b")).unwrap();
        assert_eq!(p.devices[0].kind, SFlag::S_IFCHR);
        assert_eq!((p.devices[0].major, p.devices[0].minor, p.devices[0].mode), (10, 229, 0o666));
        assert_eq!(p.propagation, Some(MsFlags::MS_SHARED | MsFlags::MS_REC));
        assert_eq!(default_devices().len(), 6);
    }
}
