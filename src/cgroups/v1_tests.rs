//! Planned v1 writes against fixture directories (no root needed).

use std::path::{Path, PathBuf};

use super::*;
use crate::cgroups::testutil::{hybrid_host, pairs, res, v1_host};
use crate::cgroups::{Cgroup, Hierarchies};

fn files(p: &Plan) -> Vec<(String, String)> {
    p.files()
}

fn no_devices(cg: &Cgroup, r: &LinuxResources) -> Plan {
    cg.plan(r, false).unwrap()
}

#[test]
fn memory_new_cgroup_limit_then_swap() {
    let (_t, cg) = v1_host(&[
        ("memory.limit_in_bytes", "9223372036854771712"),
        ("memory.memsw.limit_in_bytes", "9223372036854771712"),
        ("memory.kmem.tcp.limit_in_bytes", "9223372036854771712"),
    ]);
    let r = res(r#"{"memory":{"limit":1000,"reservation":500,"swap":3000,"kernel":100,"kernelTCP":200,
        "swappiness":10,"disableOOMKiller":true,"useHierarchy":true}}"#);
    let p = no_devices(&cg, &r);
    assert_eq!(
        files(&p),
        pairs(&[
            ("memory.limit_in_bytes", "1000"),
            ("memory.memsw.limit_in_bytes", "3000"),
            ("memory.soft_limit_in_bytes", "500"),
            ("memory.kmem.tcp.limit_in_bytes", "200"),
            ("memory.swappiness", "10"),
            ("memory.oom_control", "1"),
            ("memory.use_hierarchy", "1"),
        ])
    );
    assert_eq!(p.warnings.len(), 1, "kernel memory is ignored with a warning");
}

#[test]
fn memory_raise_writes_swap_first() {
    let (_t, cg) = v1_host(&[("memory.limit_in_bytes", "1000"), ("memory.memsw.limit_in_bytes", "2000")]);
    let p = no_devices(&cg, &res(r#"{"memory":{"limit":5000,"swap":8000}}"#));
    assert_eq!(files(&p), pairs(&[("memory.memsw.limit_in_bytes", "8000"), ("memory.limit_in_bytes", "5000")]));
    // unlimited memory implies unlimited swap
    let p = no_devices(&cg, &res(r#"{"memory":{"limit":-1}}"#));
    assert_eq!(files(&p), pairs(&[("memory.memsw.limit_in_bytes", "-1"), ("memory.limit_in_bytes", "-1")]));
}

#[test]
fn memory_without_swap_accounting_warns() {
    let (_t, cg) = v1_host(&[("memory.limit_in_bytes", "1")]);
    let p = no_devices(&cg, &res(r#"{"memory":{"limit":1000,"swap":2000,"kernelTCP":5,"useHierarchy":false}}"#));
    assert_eq!(files(&p), pairs(&[("memory.limit_in_bytes", "1000"), ("memory.use_hierarchy", "0")]));
    assert_eq!(p.warnings.len(), 2);
    assert!(matches!(p.writes[1].on_einval, OnEinval::Warn(_)));
    assert!(cg.plan(&res(r#"{"memory":{"swappiness":101}}"#), false).is_err());
}

#[test]
fn cpu_and_cpuset() {
    let (_t, cg) =
        v1_host(&[("cpu.cfs_burst_us", "0"), ("cpu.rt_period_us", "0"), ("cpu.rt_runtime_us", "0"), ("cpu.idle", "0")]);
    let r = res(r#"{"cpu":{"shares":512,"quota":50000,"period":100000,"burst":1000,"realtimePeriod":1000000,
        "realtimeRuntime":950000,"idle":1,"cpus":"0-1","mems":"0"}}"#);
    let p = no_devices(&cg, &r);
    assert_eq!(
        files(&p),
        pairs(&[
            ("cpu.shares", "512"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "50000"),
            ("cpu.cfs_burst_us", "1000"),
            ("cpu.rt_period_us", "1000000"),
            ("cpu.rt_runtime_us", "950000"),
            ("cpu.idle", "1"),
            ("cpuset.cpus", "0-1"),
            ("cpuset.mems", "0"),
        ])
    );
    assert_eq!(p.writes[1].on_einval, OnEinval::RetryLast);
    assert!(p.writes[1].path.starts_with(cg.v1_dir("cpu").unwrap()));
    assert!(p.writes[7].path.starts_with(cg.v1_dir("cpuset").unwrap()));
    assert!(cg.plan(&res(r#"{"cpu":{"shares":1}}"#), false).is_err());
    assert!(cg.plan(&res(r#"{"cpu":{"quota":100,"burst":1000}}"#), false).is_err());
    let (_t2, bare) = v1_host(&[]);
    assert!(matches!(bare.plan(&res(r#"{"cpu":{"realtimeRuntime":5}}"#), false), Err(Error::Unsupported { .. })));
}

#[test]
fn pids_values() {
    let (_t, cg) = v1_host(&[]);
    assert_eq!(files(&no_devices(&cg, &res(r#"{"pids":{"limit":32}}"#))), pairs(&[("pids.max", "32")]));
    assert_eq!(files(&no_devices(&cg, &res(r#"{"pids":{"limit":-1}}"#))), pairs(&[("pids.max", "max")]));
    assert_eq!(files(&no_devices(&cg, &res(r#"{"pids":{"limit":0}}"#))), pairs(&[("pids.max", "0")]));
}

#[test]
fn blkio_cfq_and_bfq() {
    let r = res(r#"{"blockIO":{"weight":300,"leafWeight":200,
        "weightDevice":[{"major":8,"minor":0,"weight":500,"leafWeight":300}],
        "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":600}],
        "throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":300}]}}"#);
    let all = [
        ("blkio.weight", ""),
        ("blkio.leaf_weight", ""),
        ("blkio.weight_device", ""),
        ("blkio.leaf_weight_device", ""),
        ("blkio.throttle.read_bps_device", ""),
        ("blkio.throttle.write_iops_device", ""),
    ];
    let (_t, cg) = v1_host(&all);
    assert_eq!(
        files(&no_devices(&cg, &r)),
        pairs(&[
            ("blkio.weight", "300"),
            ("blkio.leaf_weight", "200"),
            ("blkio.weight_device", "8:0 500"),
            ("blkio.leaf_weight_device", "8:0 300"),
            ("blkio.throttle.read_bps_device", "8:0 600"),
            ("blkio.throttle.write_iops_device", "8:16 300"),
        ])
    );
    // this host's kernel: bfq only, no leaf weights
    let (_t, bfq) = v1_host(&[("blkio.bfq.weight", "100")]);
    let r2 = res(r#"{"blockIO":{"weight":300,"weightDevice":[{"major":8,"minor":0,"weight":500}]}}"#);
    assert_eq!(files(&no_devices(&bfq, &r2)), pairs(&[("blkio.bfq.weight", "300"), ("blkio.bfq.weight", "8:0 500")]));
    assert!(matches!(bfq.plan(&r, false), Err(Error::Unsupported { .. })));
}

#[test]
fn hugetlb_network_rdma_unified_need_their_controllers() {
    let (_t, cg) = v1_host(&[]);
    let err = |j: &str| cg.plan(&res(j), false).unwrap_err().to_string();
    assert!(err(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":1}]}"#).contains("hugetlb"));
    assert!(err(r#"{"rdma":{"mlx":{"hcaHandles":1}}}"#).contains("rdma"));
    assert!(err(r#"{"unified":{"memory.high":"1"}}"#).contains("cgroup v2"));
    let p = no_devices(&cg, &res(r#"{"network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5}]}}"#));
    assert_eq!(files(&p), pairs(&[("net_cls.classid", "1048577"), ("net_prio.ifpriomap", "eth0 5")]));
}

#[test]
fn hugetlb_with_rsvd() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("hugetlb.2MB.limit_in_bytes"), "").unwrap();
    std::fs::write(d.join("hugetlb.2MB.rsvd.limit_in_bytes"), "").unwrap();
    let mut p = Plan::default();
    let l: Vec<oci_spec::runtime::LinuxHugepageLimit> =
        serde_json::from_str(r#"[{"pageSize":"2MB","limit":4194304}]"#).unwrap();
    plan_hugetlb(&l, d, &mut p).unwrap();
    assert_eq!(
        files(&p),
        pairs(&[("hugetlb.2MB.limit_in_bytes", "4194304"), ("hugetlb.2MB.rsvd.limit_in_bytes", "4194304")])
    );
    let l: Vec<oci_spec::runtime::LinuxHugepageLimit> =
        serde_json::from_str(r#"[{"pageSize":"1GB","limit":1}]"#).unwrap();
    assert!(plan_hugetlb(&l, d, &mut p).is_err());
}

#[test]
fn devices_in_config_order_first() {
    let (_t, cg) = v1_host(&[]);
    let r = res(
        r#"{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":229,"access":"rw"}]}"#,
    );
    let p = cg.plan(&r, true).unwrap();
    let f = files(&p);
    assert_eq!(f[0], ("devices.deny".to_string(), "a".to_string()));
    assert_eq!(f[1], ("devices.allow".to_string(), "c 10:229 rw".to_string()));
    assert_eq!(f.len(), 2 + devices::DEFAULT_ALLOWED.len());
    assert!(p.writes[0].path.starts_with(cg.v1_dir("devices").unwrap()));
    // no devices hierarchy on v1 is fatal (security), as in runc
    let v1 = cg.hierarchies.v1().iter().filter(|h| h.controllers[0] != "devices").cloned().collect();
    let nodev = Cgroup { hierarchies: Hierarchies::V1 { v1 }, ..cg.clone() };
    assert!(nodev.plan(&r, true).is_err());
    assert!(nodev.plan(&r, false).is_ok(), "update leaves devices alone");
}

#[test]
fn hybrid_unified_keys_go_to_cgroup2_dir() {
    let (_t, cg) = hybrid_host(&[], &["hugetlb.2MB.max"]);
    let u = &cg.hierarchies.unified().unwrap().path;
    let p = no_devices(&cg, &res(r#"{"unified":{"hugetlb.2MB.max":"4194304"}}"#));
    assert_eq!(p.writes[0].path, u.join("hugetlb.2MB.max"));
    assert!(cg.plan(&res(r#"{"unified":{"memory.high":"1"}}"#), false).is_err());
}

#[test]
fn cpuset_init_copies_from_parent() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let leaf: PathBuf = root.join("a/b");
    std::fs::create_dir_all(&leaf).unwrap();
    for (d, cpus, mems) in [(root, "0-1", "0"), (&root.join("a"), "", ""), (leaf.as_path(), "", "")] {
        let d: &Path = d;
        std::fs::write(d.join("cpuset.cpus"), cpus).unwrap();
        std::fs::write(d.join("cpuset.mems"), mems).unwrap();
    }
    init_cpuset(root, &leaf).unwrap();
    assert_eq!(std::fs::read_to_string(leaf.join("cpuset.cpus")).unwrap(), "0-1");
    assert_eq!(std::fs::read_to_string(root.join("a/cpuset.mems")).unwrap(), "0");
}

#[test]
fn freezer_v1_host() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("freezer.state"), "THAWED").unwrap();
    // a plain file reads back what we wrote, like a freezer that froze at once
    freeze(tmp.path(), true).unwrap();
    assert!(is_frozen(tmp.path()).unwrap());
    freeze(tmp.path(), false).unwrap();
    assert!(!is_frozen(tmp.path()).unwrap());
}

#[test]
fn exec_sub_cgroups_per_controller_or_for_all() {
    let (tmp, cg) = v1_host(&[]);
    for d in ["cpu/ctr/a", "memory/ctr/b", "pids/ctr/b"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    let sub = cg.sub(&["cpu:a".into(), "memory:b".into()]).unwrap();
    assert_eq!(sub.v1_dir("cpu"), Some(tmp.path().join("cpu/ctr/a").as_path()));
    assert_eq!(sub.v1_dir("memory"), Some(tmp.path().join("memory/ctr/b").as_path()));
    assert_eq!(sub.v1_dir("pids"), Some(tmp.path().join("pids/ctr").as_path()), "unnamed controllers stay put");
    // one path for all: must exist in every hierarchy
    assert!(cg.sub(&["b".into()]).is_err());
    assert!(cg.sub(&["cpu:../../escape".into()]).is_err());
    assert!(cg.sub(&["nosuch:a".into()]).is_err());
    assert!(cg.sub(&["cpu:missing".into()]).is_err());
}
