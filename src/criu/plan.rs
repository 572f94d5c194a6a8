//! What berth asks of CRIU, as data: the container's config and the command
//! line turned into `criu_opts` for a dump and for a restore. Pure (the
//! callers look up inodes, fds and file types first), unit-tested by value.
//!
//! The mounts CRIU cannot dump are the ones whose source lies outside the
//! container: bind mounts of host paths, the host cgroup directories bound
//! under /sys/fs/cgroup, device nodes bound from the host (in a user
//! namespace) and /dev/null over masked files. Each is named to CRIU as an
//! external mount: at dump `key = val = the container path` (masked files:
//! `val = /dev/null`); at restore `key = that val`, `val = the host source`,
//! which may differ (a new cgroup under a new id, a new bundle).

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxNamespaceType;

use super::proto::{CgMode, Opts};
use crate::cgroups::Cgroup;
use crate::error::{Error, Result};
use crate::rootfs::plan::{Kind, RootfsPlan};

/// The log level runc asks for (4: debug), so that the logs explain failures.
const LOG_LEVEL: i32 = 4;
/// CRIU's configuration file for containers, unless the `org.criu.config`
/// annotation names another (or is empty: none). berth reads runc's file:
/// it is a drop-in for runc, and podman documents this path for CRIU settings.
pub const DEFAULT_CONFIG: &str = "/etc/criu/runc.conf";
pub const CONFIG_ANNOTATION: &str = "org.criu.config";
/// Where `checkpoint` records the init's stdio, in the image directory
/// (runc's file name and format: a JSON array of three link targets).
pub const DESCRIPTORS: &str = "descriptors.json";

/// Flags `checkpoint` and `restore` share (runc's meanings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Common {
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub manage_cgroups_mode: Option<CgMode>,
    /// CLONE_NEW* bits of namespaces CRIU recreates empty (`--empty-ns`).
    pub empty_ns: u32,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
}

/// `--manage-cgroups-mode`.
pub fn parse_cg_mode(s: &str) -> Result<CgMode> {
    match s {
        "soft" => Ok(CgMode::Soft),
        "full" => Ok(CgMode::Full),
        "strict" => Ok(CgMode::Strict),
        _ => Err(Error::Usage(format!("invalid --manage-cgroups-mode `{s}`: use soft, full or strict"))),
    }
}

/// `--empty-ns`: only the network namespace can be left empty (as with runc;
/// CRIU accepts no other).
pub fn parse_empty_ns(names: &[String]) -> Result<u32> {
    let mut mask = 0;
    for n in names {
        match n.as_str() {
            "network" => mask |= libc::CLONE_NEWNET as u32,
            _ => return Err(Error::Usage(format!("--empty-ns `{n}`: only `network` is supported"))),
        }
    }
    Ok(mask)
}

/// The parts of a container the options depend on.
pub struct Container<'a> {
    pub spec: &'a oci_spec::runtime::Spec,
    pub rootfs: &'a RootfsPlan,
    pub ns: &'a crate::namespaces::Plan,
    /// Its cgroup (at restore: the new container's).
    pub cgroup: Option<&'a Cgroup>,
}

impl Container<'_> {
    fn in_userns(&self) -> bool {
        self.ns.has_userns()
    }

    /// (container path, host source) of every mount whose source is on the
    /// host, in config order.
    fn external_mounts(&self) -> Vec<(PathBuf, PathBuf)> {
        let mut out = Vec::new();
        for m in &self.rootfs.mounts {
            match m.kind {
                Kind::Bind => {
                    if let Some(src) = &m.source {
                        out.push((m.dest.clone(), src.clone()));
                    }
                }
                Kind::Cgroup => {
                    if let Some(cg) = self.cgroup {
                        out.extend(crate::rootfs::mounts::cgroup_binds(m, cg, self.in_userns(), self.ns.new_cgroup));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Device nodes: bound from the host in a user namespace, made with
    /// mknod otherwise (then CRIU ignores the names, as they are no mounts).
    fn device_paths(&self) -> Vec<PathBuf> {
        let defaults = if self.rootfs.setup_dev { crate::rootfs::plan::default_devices() } else { Vec::new() };
        defaults.iter().chain(&self.rootfs.devices).map(|d| d.path.clone()).collect()
    }

    /// CRIU's configuration file: the `org.criu.config` annotation, an empty
    /// one meaning none, else `DEFAULT_CONFIG`.
    fn config_file(&self) -> Option<String> {
        match self.spec.annotations().as_ref().and_then(|a| a.get(CONFIG_ANNOTATION)) {
            Some(f) if f.is_empty() => None,
            Some(f) => Some(f.clone()),
            None => Some(DEFAULT_CONFIG.to_string()),
        }
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// CRIU's name for a namespace joined by path that it treats as external
/// (`extRootNetNS`, `extRootPidNS`: runc's keys, so images are portable).
pub fn external_ns_key(t: LinuxNamespaceType) -> Option<&'static str> {
    match t {
        LinuxNamespaceType::Network => Some("extRootNetNS"),
        LinuxNamespaceType::Pid => Some("extRootPidNS"),
        _ => None,
    }
}

fn common_opts(o: &mut Opts, c: &Common) {
    o.tcp_established = c.tcp_established;
    o.ext_unix_sk = c.ext_unix_sk;
    o.shell_job = c.shell_job;
    o.file_locks = c.file_locks;
    o.manage_cgroups_mode = c.manage_cgroups_mode;
    o.empty_ns = (c.empty_ns != 0).then_some(c.empty_ns);
    o.auto_dedup = c.auto_dedup;
    o.lazy_pages = c.lazy_pages;
    o.log_level = Some(LOG_LEVEL);
    o.manage_cgroups = true;
    o.notify_scripts = true;
    o.orphan_pts_master = true;
}

/// What `checkpoint` found out about the running container.
pub struct DumpFacts {
    pub pid: i32,
    pub images_dir_fd: i32,
    pub work_dir_fd: Option<i32>,
    /// (type, inode) of each network/pid namespace joined by path.
    pub external_ns: Vec<(LinuxNamespaceType, u64)>,
    /// Masked paths that are files (masked with /dev/null, a host mount).
    pub masked_files: Vec<PathBuf>,
    /// `--parent-path` (relative to the image directory): a pre-dump.
    pub parent: Option<String>,
    pub page_server: Option<(String, i32)>,
}

/// The options of a dump (or pre-dump) of container `c`.
pub fn dump_opts(c: &Container<'_>, common: &Common, f: &DumpFacts, leave_running: bool, pre_dump: bool) -> Opts {
    let mut o = Opts {
        images_dir_fd: f.images_dir_fd,
        work_dir_fd: f.work_dir_fd,
        log_file: Some("dump.log".into()),
        root: Some(path_str(&c.rootfs.rootfs)),
        pid: Some(f.pid),
        leave_running,
        config_file: c.config_file(),
        page_server: f.page_server.clone(),
        ..Default::default()
    };
    common_opts(&mut o, common);
    for (t, ino) in &f.external_ns {
        if let Some(key) = external_ns_key(*t) {
            o.external.push(format!("{}[{ino}]:{key}", crate::namespaces::proc_name(*t)));
        }
    }
    // CRIU freezes the tasks with the cgroup freezer (a paused container
    // stays paused), rather than with ptrace one by one.
    // CRIU freezes the container with its cgroup's freezer.
    o.freeze_cgroup = c.cgroup.and_then(Cgroup::freezer_dir).map(path_str);
    if let Some(parent) = &f.parent {
        o.parent_img = Some(parent.clone());
        o.track_mem = true;
    }
    // A pre-dump saves memory only: no mounts or descriptors to name.
    if pre_dump {
        return o;
    }
    for (dest, _) in c.external_mounts() {
        o.ext_mnt.push((path_str(&dest), path_str(&dest)));
    }
    for p in &f.masked_files {
        o.ext_mnt.push((path_str(p), "/dev/null".into()));
    }
    for d in c.device_paths() {
        o.ext_mnt.push((path_str(&d), path_str(&d)));
    }
    o
}

/// What `restore` prepared.
pub struct RestoreFacts {
    pub images_dir_fd: i32,
    pub work_dir_fd: Option<i32>,
    /// The rootfs bound onto a mount point of its own (CRIU's `root`).
    pub root: PathBuf,
    /// (type, fd number) of each network/pid namespace joined by path.
    pub external_ns: Vec<(LinuxNamespaceType, i32)>,
    /// The init's stdio at checkpoint (`descriptors.json`).
    pub descriptors: Vec<String>,
}

/// The options of a restore of container `c` from a checkpoint.
pub fn restore_opts(c: &Container<'_>, common: &Common, f: &RestoreFacts) -> Result<Opts> {
    let mut o = Opts {
        images_dir_fd: f.images_dir_fd,
        work_dir_fd: f.work_dir_fd,
        log_file: Some("restore.log".into()),
        root: Some(path_str(&f.root)),
        // The restored init becomes berth's child, not CRIU's: berth waits
        // for it in the foreground, as for `run`.
        rst_sibling: true,
        // A device node may sit at another path on the new host.
        evasive_devices: true,
        config_file: c.config_file(),
        ..Default::default()
    };
    common_opts(&mut o, common);
    for (t, fd) in &f.external_ns {
        if let Some(key) = external_ns_key(*t) {
            o.inherit_fd.push((key.to_string(), *fd));
        }
    }
    for (t, path) in &c.ns.join {
        if external_ns_key(*t).is_some() {
            continue;
        }
        if *t == LinuxNamespaceType::Cgroup {
            return Err(Error::Unsupported(format!(
                "restore into the cgroup namespace `{}` joined by path: CRIU cannot do that",
                path.display()
            )));
        }
        o.join_ns.push((crate::namespaces::proc_name(*t).to_string(), path_str(path)));
    }
    for (dest, src) in c.external_mounts() {
        o.ext_mnt.push((path_str(&dest), path_str(&src)));
    }
    if !c.rootfs.masked.is_empty() {
        o.ext_mnt.push(("/dev/null".into(), "/dev/null".into()));
    }
    for d in c.device_paths() {
        o.ext_mnt.push((path_str(&d), path_str(&d)));
    }
    if let Some(cg) = c.cgroup {
        o.cg_root = cgroup_roots(cg);
    }
    // Pipes at the init's stdio reach the outside (a shim, conmon, a
    // shell): restore connects them to berth's own stdio instead.
    for (i, d) in f.descriptors.iter().enumerate().take(3) {
        if d.starts_with("pipe:") {
            o.inherit_fd.push((d.clone(), i as i32));
        }
    }
    Ok(o)
}

/// CRIU's `cgroup_root`s: the checkpointed cgroup is recreated at the new
/// container's path (a default for every controller, then one per v1
/// controller whose path differs from it).
pub fn cgroup_roots(cg: &Cgroup) -> Vec<(Option<String>, String)> {
    let rel = |h: &crate::cgroups::Hierarchy| {
        let r = h.path.strip_prefix(&h.mountpoint).unwrap_or(&h.path);
        format!("/{}", r.to_string_lossy().trim_start_matches('/'))
    };
    let hs = &cg.hierarchies;
    let Some(default) = hs.unified().or(hs.v1().first()).map(rel) else { return Vec::new() };
    let mut out = vec![(None, default.clone())];
    for h in hs.v1() {
        let path = rel(h);
        if path != default {
            out.extend(h.controllers.iter().map(|c| (Some(c.clone()), path.clone())));
        }
    }
    out
}

/// Parse `descriptors.json`.
pub fn parse_descriptors(data: &[u8]) -> std::result::Result<Vec<String>, String> {
    let v: Vec<String> = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    if v.len() < 3 {
        return Err(format!("{} entries, 3 expected", v.len()));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::hybrid_paths;

    fn spec(json: &str) -> oci_spec::runtime::Spec {
        crate::spec::load::parse_spec(json.as_bytes()).unwrap()
    }

    const CONFIG: &str = r#"{"ociVersion":"1.0.2","root":{"path":"/b/rootfs"},
        "annotations":{"x":"y"},
        "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                  {"destination":"/data","type":"bind","source":"/srv/data","options":["rbind"]},
                  {"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup"}],
        "linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"network","path":"/run/netns/n1"},
                               {"type":"uts","path":"/proc/1/ns/uts"}],
                 "maskedPaths":["/proc/kcore","/proc/acpi"]}}"#;

    fn with<T>(cg: &Cgroup, f: impl FnOnce(&Container<'_>) -> T) -> T {
        let s = spec(CONFIG);
        let rootfs = crate::rootfs::plan::plan(&s, Path::new("/b")).unwrap();
        let ns = crate::namespaces::plan(s.linux().as_ref()).unwrap();
        f(&Container { spec: &s, rootfs: &rootfs, ns: &ns, cgroup: Some(cg) })
    }

    #[test]
    fn dump_names_external_mounts_namespaces_and_freezer() {
        let cg = hybrid_paths("/c1");
        let facts = DumpFacts {
            pid: 42,
            images_dir_fd: 5,
            work_dir_fd: Some(6),
            external_ns: vec![(LinuxNamespaceType::Network, 4026532000)],
            masked_files: vec!["/proc/kcore".into()],
            parent: None,
            page_server: None,
        };
        let common = Common { tcp_established: true, ..Default::default() };
        let o = with(&cg, |c| dump_opts(c, &common, &facts, false, false));
        assert_eq!(o.pid, Some(42));
        assert_eq!(o.root.as_deref(), Some("/b/rootfs"));
        assert!(o.tcp_established && o.orphan_pts_master && o.manage_cgroups && o.notify_scripts);
        assert!(!o.leave_running);
        assert_eq!(o.external, ["net[4026532000]:extRootNetNS"]);
        assert_eq!(o.freeze_cgroup.as_deref(), Some("/sys/fs/cgroup/freezer/c1"));
        assert_eq!(o.config_file.as_deref(), Some(DEFAULT_CONFIG));
        let keys: Vec<(&str, &str)> = o.ext_mnt.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            &keys[..5],
            &[
                ("/data", "/data"),
                ("/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct"),
                ("/sys/fs/cgroup/freezer", "/sys/fs/cgroup/freezer"),
                ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/unified"),
                ("/proc/kcore", "/dev/null"),
            ]
        );
        assert_eq!(keys[5], ("/dev/null", "/dev/null"), "default devices follow");
    }

    #[test]
    fn pre_dump_names_no_mounts() {
        let cg = hybrid_paths("/c1");
        let facts = DumpFacts {
            pid: 1,
            images_dir_fd: 3,
            work_dir_fd: None,
            external_ns: vec![],
            masked_files: vec![],
            parent: Some("../parent".into()),
            page_server: None,
        };
        let o = with(&cg, |c| dump_opts(c, &Common::default(), &facts, true, true));
        assert!(o.ext_mnt.is_empty());
        assert!(o.track_mem);
        assert_eq!(o.parent_img.as_deref(), Some("../parent"));
    }

    #[test]
    fn restore_maps_mounts_to_new_sources_and_cgroups() {
        let cg = hybrid_paths("/new-id");
        let facts = RestoreFacts {
            images_dir_fd: 3,
            work_dir_fd: None,
            root: "/run/berth/new-id/criu-root".into(),
            external_ns: vec![(LinuxNamespaceType::Network, 7)],
            descriptors: vec!["/dev/null".into(), "pipe:[123]".into(), "pipe:[124]".into()],
        };
        let o = with(&cg, |c| restore_opts(c, &Common::default(), &facts)).unwrap();
        assert!(o.rst_sibling && o.evasive_devices);
        assert_eq!(
            o.inherit_fd,
            [("extRootNetNS".to_string(), 7), ("pipe:[123]".to_string(), 1), ("pipe:[124]".to_string(), 2)]
        );
        assert_eq!(o.join_ns, [("uts".to_string(), "/proc/1/ns/uts".to_string())]);
        assert!(o.ext_mnt.contains(&("/data".into(), "/srv/data".into())));
        assert!(o.ext_mnt.contains(&("/sys/fs/cgroup/freezer".into(), "/sys/fs/cgroup/freezer/new-id".into())));
        assert!(o.ext_mnt.contains(&("/dev/null".into(), "/dev/null".into())));
        assert_eq!(o.cg_root, [(None, "/new-id".to_string())]);
    }

    #[test]
    fn cgroup_roots_per_controller_when_paths_differ() {
        let mut cg = hybrid_paths("/a");
        if let Some(freezer) = cg.hierarchies.iter_mut().nth(1) {
            freezer.path = "/sys/fs/cgroup/freezer/b".into();
        }
        assert_eq!(cgroup_roots(&cg), [(None, "/a".to_string()), (Some("freezer".to_string()), "/b".to_string())]);
    }

    #[test]
    fn config_file_annotation() {
        let cg = hybrid_paths("/a");
        let s = spec(r#"{"ociVersion":"1.0.2","root":{"path":"r"},"annotations":{"org.criu.config":""}}"#);
        let rootfs = crate::rootfs::plan::plan(&s, Path::new("/b")).unwrap();
        let ns = crate::namespaces::plan(None).unwrap();
        let c = Container { spec: &s, rootfs: &rootfs, ns: &ns, cgroup: Some(&cg) };
        assert_eq!(c.config_file(), None);
    }

    #[test]
    fn flag_parsing() {
        assert_eq!(parse_cg_mode("full").unwrap(), CgMode::Full);
        assert!(parse_cg_mode("ignore").is_err());
        assert_eq!(parse_empty_ns(&["network".into()]).unwrap(), libc::CLONE_NEWNET as u32);
        assert!(parse_empty_ns(&["pid".into()]).unwrap_err().to_string().contains("only `network`"));
        assert_eq!(parse_descriptors(br#"["/dev/null","pipe:[1]","pipe:[2]"]"#).unwrap().len(), 3);
        assert!(parse_descriptors(b"{}").is_err());
        assert!(parse_descriptors(br#"["a"]"#).is_err());
    }
}
