//! Planned v2 writes (with v1->v2 conversions) against fixture directories.

use super::*;
use crate::cgroups::testutil::{pairs, res, v2_dir, V2_FILES};

fn files(p: &Plan) -> Vec<(String, String)> {
    p.files()
}

#[test]
fn memory_conversions() {
    let t = v2_dir(V2_FILES);
    let p = plan(
        &res(r#"{"memory":{"limit":1000,"swap":3000,"reservation":500,"kernelTCP":5,"swappiness":3,
        "disableOOMKiller":true}}"#),
        t.path(),
        false,
    )
    .unwrap();
    assert_eq!(files(&p), pairs(&[("memory.swap.max", "2000"), ("memory.max", "1000"), ("memory.low", "500")]));
    assert_eq!(p.warnings.len(), 3);
    // swap == limit: no swap at all
    let p = plan(&res(r#"{"memory":{"limit":1000,"swap":1000}}"#), t.path(), false).unwrap();
    assert_eq!(files(&p), pairs(&[("memory.swap.max", "0"), ("memory.max", "1000")]));
    let p = plan(&res(r#"{"memory":{"limit":-1}}"#), t.path(), false).unwrap();
    assert_eq!(files(&p), pairs(&[("memory.swap.max", "max"), ("memory.max", "max")]));
    assert!(plan(&res(r#"{"memory":{"swap":1000}}"#), t.path(), false).is_err());
}

#[test]
fn memory_without_swap_file() {
    let t = v2_dir(&["memory.max"]);
    let p = plan(&res(r#"{"memory":{"limit":-1}}"#), t.path(), false).unwrap();
    assert_eq!(files(&p), pairs(&[("memory.max", "max")]));
    assert!(plan(&res(r#"{"memory":{"limit":10,"swap":20}}"#), t.path(), false).is_err());
    let none = v2_dir(&[]);
    assert!(matches!(plan(&res(r#"{"memory":{"limit":10}}"#), none.path(), false), Err(Error::Unsupported { .. })));
}

#[test]
fn check_before_update() {
    let t = v2_dir(V2_FILES);
    std::fs::write(t.path().join("memory.current"), "5000").unwrap();
    assert!(plan(&res(r#"{"memory":{"limit":1000,"checkBeforeUpdate":true}}"#), t.path(), false).is_err());
    assert!(plan(&res(r#"{"memory":{"limit":1000}}"#), t.path(), false).is_ok());
    assert!(plan(&res(r#"{"memory":{"limit":9000,"checkBeforeUpdate":true}}"#), t.path(), false).is_ok());
}

#[test]
fn cpu_conversions() {
    let t = v2_dir(V2_FILES);
    let p = plan(
        &res(r#"{"cpu":{"shares":1024,"quota":50000,"period":100000,"burst":1000,"idle":0,"cpus":"1","mems":"0"}}"#),
        t.path(),
        false,
    )
    .unwrap();
    assert_eq!(
        files(&p),
        pairs(&[
            ("cpu.weight", "39"),
            ("cpu.max", "50000 100000"),
            ("cpu.max.burst", "1000"),
            ("cpu.idle", "0"),
            ("cpuset.cpus", "1"),
            ("cpuset.mems", "0"),
        ])
    );
    let p = plan(&res(r#"{"cpu":{"quota":-1,"period":100000}}"#), t.path(), false).unwrap();
    assert_eq!(files(&p), pairs(&[("cpu.max", "max 100000")]));
    let p = plan(&res(r#"{"cpu":{"quota":20000}}"#), t.path(), false).unwrap();
    assert_eq!(files(&p), pairs(&[("cpu.max", "20000")]));
    assert!(matches!(plan(&res(r#"{"cpu":{"realtimeRuntime":5}}"#), t.path(), false), Err(Error::Unsupported { .. })));
}

#[test]
fn io_conversions() {
    let t = v2_dir(V2_FILES);
    let r = res(r#"{"blockIO":{"weight":500,"leafWeight":10,"weightDevice":[{"major":8,"minor":0,"weight":1000}],
        "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":600}],"throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":700}],
        "throttleReadIOPSDevice":[{"major":8,"minor":0,"rate":10}],"throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":300}]}}"#);
    let p = plan(&r, t.path(), false).unwrap();
    assert_eq!(
        files(&p),
        pairs(&[
            ("io.weight", "4950"),
            ("io.weight", "8:0 10000"),
            ("io.max", "8:0 rbps=600"),
            ("io.max", "8:0 wbps=700"),
            ("io.max", "8:0 riops=10"),
            ("io.max", "8:16 wiops=300"),
        ])
    );
    assert_eq!(p.warnings.len(), 1);
    let bfq = v2_dir(&["io.bfq.weight"]);
    let p = plan(&res(r#"{"blockIO":{"weight":500}}"#), bfq.path(), false).unwrap();
    assert_eq!(files(&p), pairs(&[("io.bfq.weight", "500")]));
}

#[test]
fn pids_hugetlb_rdma_unified() {
    let t = v2_dir(V2_FILES);
    let r = res(r#"{"pids":{"limit":-1},"hugepageLimits":[{"pageSize":"2MB","limit":4194304}],
        "rdma":{"mlx4_0":{"hcaHandles":2}},"unified":{"memory.high":"123","cpu.weight":"7"}}"#);
    let p = plan(&r, t.path(), false).unwrap();
    assert_eq!(
        files(&p),
        pairs(&[
            ("pids.max", "max"),
            ("hugetlb.2MB.max", "4194304"),
            ("hugetlb.2MB.rsvd.max", "4194304"),
            ("rdma.max", "mlx4_0 hca_handle=2"),
            ("cpu.weight", "7"),
            ("memory.high", "123"),
        ])
    );
    for bad in
        [r#"{"unified":{"../x":"1"}}"#, r#"{"unified":{"cgroup.procs":"1"}}"#, r#"{"unified":{"io.latency":"1"}}"#]
    {
        assert!(plan(&res(bad), t.path(), false).is_err(), "{bad}");
    }
    assert!(plan(&res(r#"{"network":{"classID":1}}"#), t.path(), false).is_err());
}

#[test]
fn devices_become_a_bpf_plan() {
    let t = v2_dir(V2_FILES);
    let r = res(r#"{"devices":[{"allow":false,"access":"rwm"}]}"#);
    let p = plan(&r, t.path(), true).unwrap();
    let (dir, rules) = p.bpf_devices.unwrap();
    assert_eq!(dir, t.path());
    assert_eq!(rules.len(), 1 + devices::DEFAULT_ALLOWED.len());
    assert!(plan(&r, t.path(), false).unwrap().bpf_devices.is_none());
}

#[test]
fn enables_controllers_down_to_parent() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let leaf = root.join("a/b");
    std::fs::create_dir_all(&leaf).unwrap();
    for d in [root.to_path_buf(), root.join("a")] {
        std::fs::write(d.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        std::fs::write(d.join("cgroup.subtree_control"), "").unwrap();
    }
    enable_controllers(root, &leaf).unwrap();
    assert_eq!(std::fs::read_to_string(root.join("a/cgroup.subtree_control")).unwrap(), "+cpu +memory +pids");
    assert!(!leaf.join("cgroup.subtree_control").exists());
}

#[test]
fn freeze_v2_dir() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
    freeze(t.path(), true).unwrap();
    assert!(is_frozen(t.path()).unwrap());
    assert_eq!(std::fs::read_to_string(t.path().join("cgroup.freeze")).unwrap(), "1");
}
