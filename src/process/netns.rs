//! The container's new network namespace, made ahead of the clone on a
//! thread of berth's own while berth prepares the rest (state, cgroup,
//! exec fifo): making a network namespace is the dearest part of the clone
//! (the kernel initialises every per-namespace network subsystem, about
//! half a millisecond), and bringing its loopback up waits for the global
//! RTNL lock. The init then only joins it (setns) first thing.
//!
//! Only where berth may use more than one CPU (on one the thread would
//! only take turns with berth), and where the result is the same as a
//! CLONE_NEWNET at the clone: no user namespace anywhere (the namespace
//! would be owned by berth's user namespace instead of the container's)
//! and no `netDevices` (berth moves them into the namespace the init sits
//! in when it asks for `Go`). The thread ends before the clone (`take`
//! joins it, and so does a drop on the way out of a failed create): berth
//! is single-threaded again when it clones, so the init never inherits a
//! lock a thread held.

use std::os::fd::OwnedFd;
use std::thread::JoinHandle;

use nix::sched::{unshare, CloneFlags};
use oci_spec::runtime::LinuxNamespaceType;

use super::Plan;
use crate::error::{Context, Error, Result};

pub struct NetnsAhead(Option<JoinHandle<Result<OwnedFd>>>);

impl NetnsAhead {
    /// Start making the namespace, if `plan` allows it (see the module's
    /// comment); `None`: the clone makes it, as it always did.
    pub fn start(plan: &Plan) -> Result<Option<NetnsAhead>> {
        let allowed = plan.ns.creates(LinuxNamespaceType::Network)
            && !plan.ns.has_userns()
            && !plan.outer_userns
            && plan.net_devices.is_empty();
        if !allowed || !several_cpus() {
            return Ok(None);
        }
        let thread = std::thread::Builder::new()
            .name("berth-netns".into())
            .spawn(make)
            .ctx(|| "start a thread for the network namespace".to_string())?;
        Ok(Some(NetnsAhead(Some(thread))))
    }

    /// Wait for the namespace: a descriptor of it, its `lo` up.
    pub fn take(mut self) -> Result<OwnedFd> {
        join(self.0.take())
    }
}

impl Drop for NetnsAhead {
    fn drop(&mut self) {
        let _ = join(self.0.take());
    }
}

/// Whether berth may run on more than one CPU.
fn several_cpus() -> bool {
    let Ok(set) = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) else { return false };
    (0..nix::sched::CpuSet::count()).filter(|&c| set.is_set(c).unwrap_or(false)).nth(1).is_some()
}

fn join(thread: Option<JoinHandle<Result<OwnedFd>>>) -> Result<OwnedFd> {
    let thread = thread.ok_or_else(|| Error::Init("the network namespace was taken already".into()))?;
    // berth aborts on panic: a thread that returns at all returns a Result.
    thread.join().unwrap_or_else(|_| Err(Error::Init("the network namespace thread failed".into())))
}

/// On the thread: a namespace of its own (unshare affects the calling
/// thread alone), held by a descriptor, with its loopback up (runc's
/// "loopback" network: `--network none` containers still talk to
/// 127.0.0.1).
fn make() -> Result<OwnedFd> {
    unshare(CloneFlags::CLONE_NEWNET).ctx(|| "create the network namespace".to_string())?;
    let ns = nix::fcntl::open(
        "/proc/thread-self/ns/net",
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| "open the new network namespace".to_string())?;
    crate::sys::net::set_up("lo").ctx(|| "bring up the loopback interface `lo`".to_string())?;
    Ok(ns)
}
