//! Root tests against this host's real hierarchies. Each skips with a printed
//! reason when not root or when the hierarchy it needs is missing, names its
//! cgroups `berth-test-*` and removes them (and its child processes).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::*;

fn skip(why: &str) -> bool {
    eprintln!("SKIP: {why}");
    true
}

fn not_root() -> bool {
    !nix::unistd::geteuid().is_root() && skip("needs root")
}

fn sleeper() -> Child {
    Command::new("sleep").arg("100").stdin(Stdio::null()).spawn().unwrap()
}

fn proc_state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(") ").unwrap().1;
    after.chars().next().unwrap()
}

/// Removes the test cgroup even when an assertion fails.
struct Cleanup(Cgroup, Vec<Child>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &mut self.1 {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.0.thaw();
        let _ = self.0.destroy();
    }
}

#[test]
fn v1_lifecycle_limits_freeze_kill_destroy() {
    if not_root() {
        return;
    }
    if detect().unwrap() == Layout::V2 {
        skip("host is pure cgroup v2");
        return;
    }
    let name = format!("/berth-test-v1-{}/ctr", std::process::id());
    let cg = Cgroup::resolve(Some(&name), "ignored").unwrap();
    let top = Path::new("/sys/fs/cgroup/memory").join(name.trim_start_matches('/').split('/').next().unwrap());
    assert!(!top.exists());
    let mut guard = Cleanup(cg.clone(), Vec::new());
    cg.create().unwrap();
    let r: LinuxResources = serde_json::from_str(
        r#"{"memory":{"limit":104857600,"swap":209715200,"kernelTCP":52428800,"reservation":52428800,"swappiness":10,"disableOOMKiller":true,"kernel":-1},
            "pids":{"limit":20},
            "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0"},
            "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":229,"access":"rw"}]}"#,
    )
    .unwrap();
    let warnings = cg.apply(Some(&r), false).unwrap();
    eprintln!("warnings: {warnings:?}");
    let read =
        |ctrl: &str, f: &str| std::fs::read_to_string(cg.v1_dir(ctrl).unwrap().join(f)).unwrap().trim().to_owned();
    assert_eq!(read("memory", "memory.limit_in_bytes"), "104857600");
    assert_eq!(read("memory", "memory.memsw.limit_in_bytes"), "209715200");
    assert_eq!(read("memory", "memory.kmem.tcp.limit_in_bytes"), "52428800");
    assert_eq!(read("memory", "memory.swappiness"), "10");
    assert!(read("memory", "memory.oom_control").contains("oom_kill_disable 1"));
    assert_eq!(read("pids", "pids.max"), "20");
    assert_eq!(read("cpu", "cpu.shares"), "512");
    assert_eq!(read("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(read("cpuset", "cpuset.cpus"), "0");
    let list = read("devices", "devices.list");
    assert!(list.starts_with("c 10:229 rw\nc *:* m\nb *:* m\nc 1:3 rwm"), "{list}");

    let child = sleeper();
    let pid = child.id() as i32;
    guard.1.push(child);
    cg.add_pid(pid).unwrap();
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(own.contains(&format!("memory:{name}")), "{own}");
    assert!(own.contains(&format!("0::{name}")), "hybrid: unified membership too: {own}");
    assert_eq!(cg.pids().unwrap(), vec![pid]);

    cg.freeze().unwrap();
    assert!(cg.is_frozen().unwrap());
    assert_eq!(proc_state(pid), 'D', "a frozen task sleeps uninterruptibly");
    cg.thaw().unwrap();
    assert!(!cg.is_frozen().unwrap());
    assert_eq!(proc_state(pid), 'S');

    // update changes a live limit and leaves devices alone
    let up = merge_update(
        &r,
        &UpdateFlags {
            memory: Some(209715200),
            memory_swap: Some(419430400),
            pids_limit: Some(30),
            ..Default::default()
        },
    );
    cg.update(&up).unwrap();
    assert_eq!(read("memory", "memory.limit_in_bytes"), "209715200");
    assert_eq!(read("pids", "pids.max"), "30");
    assert_eq!(read("devices", "devices.list"), list);

    let stats = cg.stats().unwrap();
    assert_eq!(stats.pids.current, 1);
    assert_eq!(stats.pids.limit, 30);
    assert_eq!(stats.memory.usage.limit, 209715200);
    assert_eq!(stats.cpuset.cpus, vec![0]);
    assert!(serde_json::to_string(&stats).unwrap().contains("\"kernelTCP\""));

    cg.kill_all(Signal::SIGKILL).unwrap();
    let status = guard.1[0].wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
    cg.destroy().unwrap();
    for d in cg.dirs() {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    assert!(!top.exists(), "parent created by create() left behind");
    cg.destroy().unwrap(); // already gone is fine
}

#[test]
fn v1_oom_notifier_registers() {
    if not_root() {
        return;
    }
    if detect().unwrap() == Layout::V2 {
        skip("host is pure cgroup v2");
        return;
    }
    let cg = Cgroup::resolve(Some(&format!("/berth-test-oom-{}", std::process::id())), "x").unwrap();
    let _guard = Cleanup(cg.clone(), Vec::new());
    cg.create().unwrap();
    let mut n = cg.oom_notifier().unwrap();
    assert_eq!(n.wait(Duration::from_millis(20)).unwrap(), Some(0));
    cg.destroy().unwrap();
    // removal wakes the eventfd and reports the cgroup gone
    assert_eq!(n.wait(Duration::from_secs(2)).unwrap(), None);
}

#[test]
fn resolve_rejects_systemd_form() {
    assert!(matches!(Cgroup::resolve(Some("system.slice:berth:x"), "x"), Err(Error::SystemdPath(_))));
}

#[test]
fn relative_path_goes_under_own_cgroup() {
    if detect().is_err() {
        skip("no cgroups mounted");
        return;
    }
    let cg = Cgroup::resolve(Some("berth-test-rel/ctr"), "x").unwrap();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mem = own.lines().find_map(|l| l.strip_prefix("4:memory:")).map(str::to_owned);
    if let (Some(mem), Some(dir)) = (mem, cg.v1_dir("memory")) {
        let want = Path::new("/sys/fs/cgroup/memory").join(mem.trim_start_matches('/')).join("berth-test-rel/ctr");
        assert_eq!(dir, want);
    }
    let default = Cgroup::resolve(None, "myid").unwrap();
    assert!(default.dirs().all(|d| d.ends_with("myid")));
}

#[test]
fn v2_device_program_denies_for_real() {
    if not_root() {
        return;
    }
    let base = Path::new("/sys/fs/cgroup/unified");
    let base = if detect().unwrap() == Layout::V2 { Path::new("/sys/fs/cgroup") } else { base };
    if !base.join("cgroup.procs").exists() {
        skip("no cgroup2 mount at /sys/fs/cgroup/unified");
        return;
    }
    let dir = base.join(format!("berth-test-bpf-{}", std::process::id()));
    let cg = testutil::v2_cgroup(base, dir.clone());
    let _guard = Cleanup(cg.clone(), Vec::new());
    std::fs::create_dir(&dir).unwrap();
    let r: LinuxResources = serde_json::from_str(r#"{"devices":[{"allow":false,"access":"rwm"}]}"#).unwrap();
    let plan = cg.plan(&r, true).unwrap();
    let (d, rules) = plan.bpf_devices.unwrap();
    apply::attach_devices(&d, &rules).unwrap();
    // attaching again (an update) replaces the program rather than stacking
    apply::attach_devices(&d, &rules).unwrap();
    let fd = fsops::open_path(&dir).unwrap();
    let ids =
        crate::sys::bpf::prog_query(std::os::fd::AsFd::as_fd(&fd), crate::sys::bpf::ATTACH_CGROUP_DEVICE).unwrap();
    assert_eq!(ids.len(), 1);

    let script =
        format!("echo $$ > {}/cgroup.procs || exit 3; head -c1 /dev/null || exit 4; head -c1 /dev/kmsg", dir.display());
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(3), "join failed: {err}");
    assert_ne!(out.status.code(), Some(4), "/dev/null must stay allowed: {err}");
    assert!(!out.status.success());
    assert!(err.contains("Operation not permitted"), "{err}");
    cg.destroy().unwrap();
    assert!(!dir.exists());
}
