//! Fixtures for the cgroup tests, here and in the modules that take a
//! [`Cgroup`] (`criu`, `rootfs`): fake hosts whose cgroup directories are
//! temporary directories holding the control files a test names, so the
//! planners can be tested by value without root or a real hierarchy.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use tempfile::TempDir;

use super::{Cgroup, Hierarchies, Hierarchy};

/// `linux.resources` from JSON.
pub(crate) fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

/// Owned (file, value) pairs, to compare with [`super::Plan::files`].
pub(crate) fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// The hierarchy of `controllers` mounted at `mountpoint`, with the
/// container's directory at `rel` below it.
pub(crate) fn hierarchy(controllers: &[&str], mountpoint: &Path, rel: &str) -> Hierarchy {
    Hierarchy {
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
        mountpoint: mountpoint.to_owned(),
        path: mountpoint.join(rel.trim_start_matches('/')),
        create_from: None,
    }
}

/// The v1 controllers a fake v1 host mounts, one hierarchy each.
pub(crate) const V1_CONTROLLERS: [&str; 9] =
    ["cpu", "cpuset", "memory", "pids", "blkio", "devices", "freezer", "net_cls", "net_prio"];

/// A fake v1 host: a hierarchy per [`V1_CONTROLLERS`] entry at
/// `TMP/<controller>`, the container's directory `ctr` in each, holding
/// `files` (each in the directory of the controller its name starts with;
/// `cgroup.*` files in memory's).
pub(crate) fn v1_host(files: &[(&str, &str)]) -> (TempDir, Cgroup) {
    let tmp = tempfile::tempdir().unwrap();
    let mut v1 = Vec::new();
    for ctrl in V1_CONTROLLERS {
        let h = hierarchy(&[ctrl], &tmp.path().join(ctrl), "ctr");
        std::fs::create_dir_all(&h.path).unwrap();
        v1.push(h);
    }
    for (f, v) in files {
        let ctrl = f.split('.').next().unwrap();
        let ctrl = if ctrl == "cgroup" { "memory" } else { ctrl };
        std::fs::write(tmp.path().join(ctrl).join("ctr").join(f), v).unwrap();
    }
    (tmp, Cgroup { hierarchies: Hierarchies::V1 { v1 }, systemd: None })
}

/// [`v1_host`] plus a cgroup2 mount at `TMP/unified`, the container's
/// directory `ctr` there holding `unified_files` (empty).
pub(crate) fn hybrid_host(files: &[(&str, &str)], unified_files: &[&str]) -> (TempDir, Cgroup) {
    let (tmp, cg) = v1_host(files);
    let unified = hierarchy(&[], &tmp.path().join("unified"), "ctr");
    std::fs::create_dir_all(&unified.path).unwrap();
    for f in unified_files {
        std::fs::write(unified.path.join(f), "").unwrap();
    }
    let v1 = cg.hierarchies.v1().to_vec();
    (tmp, Cgroup { hierarchies: Hierarchies::Hybrid { v1, unified }, systemd: None })
}

/// A fake v2 cgroup directory holding the (empty) interface files of the
/// controllers it has enabled.
pub(crate) fn v2_dir(files: &[&str]) -> TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::write(tmp.path().join(f), "").unwrap();
    }
    tmp
}

/// The interface files of a v2 cgroup with every controller enabled.
pub(crate) const V2_FILES: &[&str] = &[
    "memory.max",
    "memory.low",
    "memory.swap.max",
    "memory.current",
    "cpu.weight",
    "cpu.max",
    "cpu.max.burst",
    "cpu.idle",
    "cpuset.cpus",
    "cpuset.mems",
    "pids.max",
    "io.weight",
    "io.max",
    "hugetlb.2MB.max",
    "hugetlb.2MB.rsvd.max",
    "rdma.max",
    "memory.high",
];

/// A pure v2 host's cgroup `dir` (the unified hierarchy mounted at `mountpoint`).
pub(crate) fn v2_cgroup(mountpoint: &Path, dir: PathBuf) -> Cgroup {
    let unified =
        Hierarchy { controllers: Vec::new(), mountpoint: mountpoint.to_owned(), path: dir, create_from: None };
    Cgroup { hierarchies: Hierarchies::V2 { unified }, systemd: None }
}

/// A hybrid host's cgroup at `rel` as paths only (nothing on disk): the
/// `cpu,cpuacct` and `freezer` hierarchies and the unified one, under
/// `/sys/fs/cgroup`.
pub(crate) fn hybrid_paths(rel: &str) -> Cgroup {
    let root = Path::new("/sys/fs/cgroup");
    let v1 = vec![
        hierarchy(&["cpu", "cpuacct"], &root.join("cpu,cpuacct"), rel),
        hierarchy(&["freezer"], &root.join("freezer"), rel),
    ];
    let unified = hierarchy(&[], &root.join("unified"), rel);
    Cgroup { hierarchies: Hierarchies::Hybrid { v1, unified }, systemd: None }
}
