//! The namespace table (OCI type <-> clone flag <-> /proc/<pid>/ns name) and
//! the plan of which namespaces a container creates and which it joins.
//! The same table feeds validation and `berth features`.

use std::path::PathBuf;

use oci_spec::runtime::{Linux, LinuxNamespaceType};

use crate::error::{Error, Result};

/// (OCI type name, clone flag, name under /proc/<pid>/ns).
pub const TABLE: &[(&str, u64, &str)] = &[
    ("cgroup", libc::CLONE_NEWCGROUP as u64, "cgroup"),
    ("ipc", libc::CLONE_NEWIPC as u64, "ipc"),
    ("mount", libc::CLONE_NEWNS as u64, "mnt"),
    ("network", libc::CLONE_NEWNET as u64, "net"),
    ("pid", libc::CLONE_NEWPID as u64, "pid"),
    ("time", libc::CLONE_NEWTIME as u64, "time"),
    ("user", libc::CLONE_NEWUSER as u64, "user"),
    ("uts", libc::CLONE_NEWUTS as u64, "uts"),
];

pub fn oci_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Time => "time",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Uts => "uts",
    }
}

fn entry(t: LinuxNamespaceType) -> (&'static str, u64, &'static str) {
    let name = oci_name(t);
    TABLE.iter().copied().find(|e| e.0 == name).unwrap_or((name, 0, name))
}

pub fn clone_flag(t: LinuxNamespaceType) -> u64 {
    entry(t).1
}

pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    entry(t).2
}

/// What the container does with each namespace type.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Clone flags for namespaces created new at clone time (user, pid, mount,
    /// net, ipc, uts). Cgroup and time are handled apart (see below).
    pub clone_flags: u64,
    /// A new cgroup namespace, unshared by the init once it sits in its cgroup.
    pub new_cgroup: bool,
    /// A new time namespace, unshared by the parent (for its children) so the
    /// offsets can be written before the init enters it.
    pub new_time: bool,
    /// Namespaces joined by path, in the order they must be entered: user
    /// first (it decides the rights over the others), mount last.
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
}

impl Plan {
    pub fn creates(&self, t: LinuxNamespaceType) -> bool {
        match t {
            LinuxNamespaceType::Cgroup => self.new_cgroup,
            LinuxNamespaceType::Time => self.new_time,
            t => self.clone_flags & clone_flag(t) != 0,
        }
    }
    pub fn joins(&self, t: LinuxNamespaceType) -> Option<&PathBuf> {
        self.join.iter().find(|(k, _)| *k == t).map(|(_, p)| p)
    }
    /// Whether the container has a mount namespace of its own (new or joined).
    pub fn has_mountns(&self) -> bool {
        self.creates(LinuxNamespaceType::Mount) || self.joins(LinuxNamespaceType::Mount).is_some()
    }
    /// Whether the container has a user namespace of its own (new or joined).
    pub fn has_userns(&self) -> bool {
        self.creates(LinuxNamespaceType::User) || self.joins(LinuxNamespaceType::User).is_some()
    }
}

fn join_rank(t: LinuxNamespaceType) -> u8 {
    match t {
        LinuxNamespaceType::User => 0,
        LinuxNamespaceType::Mount => 9,
        _ => 5,
    }
}

/// Open `/proc/<pid>/ns/<name>` (e.g. `pid_for_children` of this process).
pub fn open_proc_ns(pid: u32, name: &str) -> Result<std::os::fd::OwnedFd> {
    let p = format!("/proc/{pid}/ns/{name}");
    nix::fcntl::open(
        p.as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::Init(format!("open `{p}`: {}", crate::error::errno_text(e as i32))))
}

/// Host pids of the processes in the pid namespace of `pid` (the init of
/// a container with a pid namespace of its own): what a container without
/// a cgroup holds. Processes we may not inspect are left out.
pub fn pids_in_pidns_of(pid: i32) -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    let Ok(ns) = std::fs::metadata(format!("/proc/{pid}/ns/pid")) else {
        return Vec::new();
    };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::metadata(format!("/proc/{p}/ns/pid")).is_ok_and(|m| m.ino() == ns.ino() && m.dev() == ns.dev())
        })
        .collect();
    out.sort_unstable();
    out
}

/// The text of a `uid_map`/`gid_map` file for `maps` (one line each).
pub fn id_map_text(maps: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>) -> String {
    maps.into_iter().flatten().map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size())).collect()
}

/// Write the uid and gid mappings of the user namespace of process `pid`.
pub fn write_id_maps(
    pid: i32,
    uid: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>,
    gid: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>,
) -> Result<()> {
    use crate::error::Context;
    let (uid, gid) = (id_map_text(uid), id_map_text(gid));
    std::fs::write(format!("/proc/{pid}/uid_map"), &uid)
        .ctx(|| format!("write uid mappings `{}`", uid.trim().replace('\n', ", ")))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), &gid)
        .ctx(|| format!("write gid mappings `{}`", gid.trim().replace('\n', ", ")))
}

/// Enter the namespace at `path`, which must be of type `t` (setns(2)
/// refuses another type with EINVAL, reported as such).
pub fn join_path(t: LinuxNamespaceType, path: &std::path::Path) -> Result<()> {
    use nix::fcntl::{open, OFlag};
    use std::os::fd::AsFd;
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty()).map_err(|e| {
        Error::Init(format!("open namespace path `{}`: {}", path.display(), crate::error::errno_text(e as i32)))
    })?;
    let flag = nix::sched::CloneFlags::from_bits_retain(clone_flag(t) as i32);
    nix::sched::setns(fd.as_fd(), flag).map_err(|e| {
        let why = if e == nix::errno::Errno::EINVAL {
            format!("it is not a `{}` namespace", oci_name(t))
        } else {
            crate::error::errno_text(e as i32)
        };
        Error::Init(format!("join namespace `{}`: {why}", path.display()))
    })
}

/// Build the plan from `linux.namespaces`; duplicates and relative paths
/// are errors naming the entry.
pub fn plan(linux: Option<&Linux>) -> Result<Plan> {
    let mut p = Plan::default();
    let Some(nss) = linux.and_then(|l| l.namespaces().as_ref()) else {
        return Ok(p);
    };
    let mut seen = Vec::new();
    for (i, ns) in nss.iter().enumerate() {
        let t = ns.typ();
        let field = format!("linux.namespaces[{i}]");
        if seen.contains(&t) {
            return Err(Error::config(field, format!("duplicate namespace type `{}`", oci_name(t))));
        }
        seen.push(t);
        match ns.path() {
            Some(path) if !path.as_os_str().is_empty() => {
                if !path.is_absolute() {
                    return Err(Error::config(
                        format!("{field}.path"),
                        format!("`{}` is not an absolute path", path.display()),
                    ));
                }
                p.join.push((t, path.clone()));
            }
            _ => match t {
                LinuxNamespaceType::Cgroup => p.new_cgroup = true,
                LinuxNamespaceType::Time => p.new_time = true,
                t => p.clone_flags |= clone_flag(t),
            },
        }
    }
    p.join.sort_by_key(|(t, _)| join_rank(*t));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load::parse_spec;

    fn plan_of(json: &str) -> Result<Plan> {
        let s = parse_spec(format!(r#"{{"ociVersion":"1.0.2","linux":{{"namespaces":{json}}}}}"#).as_bytes())?;
        plan(s.linux().as_ref())
    }

    #[test]
    fn new_and_joined_namespaces() {
        let p = plan_of(
            r#"[{"type":"pid"},{"type":"mount","path":"/proc/1/ns/mnt"},{"type":"user","path":"/proc/1/ns/user"},{"type":"network"},{"type":"cgroup"},{"type":"time"}]"#,
        )
        .unwrap();
        assert_eq!(p.clone_flags, (libc::CLONE_NEWPID | libc::CLONE_NEWNET) as u64);
        assert!(p.new_cgroup && p.new_time);
        let order: Vec<_> = p.join.iter().map(|(t, _)| oci_name(*t)).collect();
        assert_eq!(order, ["user", "mount"]);
        assert!(p.has_userns());
    }

    #[test]
    fn duplicates_and_relative_paths_are_errors() {
        let e = plan_of(r#"[{"type":"pid"},{"type":"pid"}]"#).unwrap_err().to_string();
        assert!(e.contains("linux.namespaces[1]") && e.contains("duplicate"), "{e}");
        let e = plan_of(r#"[{"type":"net","path":"proc/1/ns/net"}]"#);
        assert!(e.is_err());
    }

    #[test]
    fn unknown_type_is_rejected_at_parse() {
        assert!(plan_of(r#"[{"type":"bogus"}]"#).is_err());
    }

    #[test]
    fn id_maps_are_one_line_per_mapping() {
        let s = crate::spec::load::parse_spec(
            br#"{"ociVersion":"1.0.2","linux":{"uidMappings":[{"containerID":0,"hostID":1000,"size":2000},{"containerID":2000,"hostID":5000,"size":1}]}}"#,
        )
        .unwrap();
        let l = s.linux().as_ref().unwrap();
        assert_eq!(id_map_text(l.uid_mappings().as_ref()), "0 1000 2000\n2000 5000 1\n");
        assert_eq!(id_map_text(l.gid_mappings().as_ref()), "");
    }
}
