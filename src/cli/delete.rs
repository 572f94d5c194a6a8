//! `berth delete [--force] ID`: remove a stopped container (or any, with
//! --force, killing it first). Deleting an unknown id with --force is not
//! an error (engines call it to clean up after failures).
//!
//! `--force` never waits long for another verb: if the container's lock
//! is busy it kills the container's processes (what that verb may be
//! waiting on), waits a moment, then goes on without the lock. With a
//! damaged or missing state.json it still kills what it can find (the
//! cgroup recovered by `state::salvage`) and says what it could not do.

use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::Globals;
use crate::error::{Error, Result};
use crate::logging;
use crate::process::parent;
use crate::state::lock::{Lock, LockMode};
use crate::state::salvage::{salvage, Salvaged};
use crate::state::store::ContainerDir;
use crate::state::{init_alive, Status, Stored};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kill the container first if it is still running
    #[arg(short = 'f', long)]
    pub force: bool,
    pub id: String,
}

/// How long `delete --force` waits for the lock once it killed the
/// container's processes.
const FORCE_PATIENCE: Duration = Duration::from_secs(2);

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let dir = g.container(&a.id)?;
    let lock = match if a.force { force_lock(&dir) } else { plain_lock(&dir) } {
        Ok(l) => l,
        Err(Error::NotExist(_)) if a.force => return Ok(()),
        Err(e) => return Err(e),
    };
    let stored = match dir.load() {
        Ok(s) => s,
        Err(e) if a.force => return delete_damaged(&dir, lock.as_ref(), &e),
        Err(e) => return Err(e),
    };
    let status = dir.status(&stored);
    if !status.can_delete() && !a.force {
        return Err(not_stopped(&a.id, status));
    }
    parent::destroy(&dir, lock.as_ref(), &stored)
}

/// The lock for a plain `delete`. A container whose lock is busy (being
/// created, started...) is not stopped: say so at once rather than wait
/// for the other verb to finish and then refuse.
fn plain_lock(dir: &ContainerDir) -> Result<Option<Lock>> {
    if let Some(l) = dir.lock_within(LockMode::Exclusive, Duration::ZERO)? {
        return Ok(Some(l));
    }
    if let Ok(stored) = dir.load() {
        let status = dir.status(&stored);
        if !status.can_delete() {
            return Err(not_stopped(&dir.id, status));
        }
    }
    dir.lock(LockMode::Exclusive).map(Some)
}

fn not_stopped(id: &str, status: Status) -> Error {
    Error::Status(format!("cannot delete container {id} that is not stopped: {}", status.as_str()))
}

/// The lock for `delete --force`; `None` when another berth holds it and
/// did not let go once the container's processes were killed.
fn force_lock(dir: &ContainerDir) -> Result<Option<Lock>> {
    if let Some(l) = dir.lock_within(LockMode::Exclusive, Duration::ZERO)? {
        return Ok(Some(l));
    }
    match dir.load() {
        Ok(stored) => kill_processes(&stored),
        Err(_) => {
            let s = salvage(dir);
            kill_salvaged(&s);
        }
    }
    if let Some(l) = dir.lock_within(LockMode::Exclusive, FORCE_PATIENCE)? {
        return Ok(Some(l));
    }
    logging::warn(&format!(
        "container {}: another berth process holds its lock and did not finish; deleting it anyway",
        dir.id
    ));
    Ok(None)
}

fn kill_processes(stored: &Stored) {
    if init_alive(stored.pid, stored.start_time) {
        let _ = kill(Pid::from_raw(stored.pid), Signal::SIGKILL);
    }
    if let Some(cg) = stored.own_cgroup() {
        let _ = cg.kill_all(Signal::SIGKILL);
    }
}

fn kill_salvaged(s: &Salvaged) {
    if let Some((pid, start)) = s.init {
        if init_alive(pid, start) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    if let Some(cg) = &s.cgroup {
        let _ = cg.kill_all(Signal::SIGKILL);
    }
}

/// `delete --force` of a container whose state.json could not be loaded
/// (`why`): kill and remove what can be recovered, warn about the rest.
fn delete_damaged(dir: &ContainerDir, lock: Option<&Lock>, why: &Error) -> Result<()> {
    let s = salvage(dir);
    if s.only_reserved {
        // A create killed between reserving the id and its first state
        // write: nothing was started, nothing to say.
        return dir.remove();
    }
    let what = match why {
        Error::NotExist(_) => "has no state.json".to_string(),
        e => format!("has an unreadable state.json ({e})"),
    };
    kill_salvaged(&s);
    let mut left = Vec::new();
    match &s.cgroup {
        Some(cg) => {
            if let Err(e) = cg.destroy() {
                left.push(format!("its cgroup (from {}) could not be removed: {e}", s.cgroup_source));
            }
        }
        None => left.push(
            "its cgroup could not be recovered (config.json is unreadable too): processes in it were not killed"
                .to_string(),
        ),
    }
    if s.init.is_none() && s.cgroup.is_some() {
        left.push(format!("its processes were found through its cgroup (from {}) only", s.cgroup_source));
    }
    left.push("poststop hooks were not run".to_string());
    logging::warn(&format!("container {} {what}: {}", dir.id, left.join("; ")));
    if lock.is_some_and(|l| !l.names_path()) {
        return Ok(());
    }
    dir.remove()
}
