//! Signals sent to berth while it runs a container in the foreground
//! (`run` and `exec` without `-d`).
//!
//! They are blocked from the verb's first step: a SIGTERM, SIGINT or SIGHUP
//! that arrives while the container is still being created stays pending
//! instead of killing berth half-way (which would leave state and cgroups
//! behind); create and start finish, and the wait loop then reads it from a
//! signalfd and forwards it to the container, as runc does. A signal the
//! caller set to SIG_IGN (`nohup`, a script's background job) is forwarded
//! too: the kernel queues a blocked signal even when it is ignored.
//!
//! `create` and `run -d` block only the signals that ask a program to stop
//! (HUP, INT, QUIT, TERM), unless the caller ignores them: one that came
//! during create lets create finish its step, then the new container is
//! removed and berth exits with 128 + the signal ([`pending_stop`]).
//!
//! The mask is inherited by everything berth clones: the container init
//! and exec'd processes call [`restore_in_child`] first thing, so they run
//! with the caller's mask as before (what the container program finally
//! gets is reset before its execve). Hooks get an empty mask from
//! `std::process`.

use std::sync::OnceLock;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::error::{Context, Result};

/// The mask berth was started with, saved by [`block_forwarded`].
static CALLER_MASK: OnceLock<SigSet> = OnceLock::new();

/// The signals berth forwards: every one it can block, except those raised
/// by its own faults and SIGPIPE (raised by berth's own writes to a closed
/// pipe, e.g. the terminal proxy's; berth ignores it and sees EPIPE).
fn forwarded() -> SigSet {
    let mut mask = SigSet::all();
    for s in [
        Signal::SIGKILL,
        Signal::SIGSTOP,
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGILL,
        Signal::SIGFPE,
        Signal::SIGPIPE,
    ] {
        mask.remove(s);
    }
    mask
}

/// Block every forwarded signal; call it before any side effect.
pub fn block_forwarded() -> Result<()> {
    let old = forwarded().thread_swap_mask(SigmaskHow::SIG_BLOCK).ctx(|| "block signals".to_string())?;
    let _ = CALLER_MASK.set(old);
    Ok(())
}

/// In a process cloned from berth: go back to the caller's mask (a no-op
/// unless [`block_forwarded`] ran).
pub fn restore_in_child() {
    if let Some(mask) = CALLER_MASK.get() {
        let _ = mask.thread_set_mask();
    }
}

/// The signals that ask a program to stop.
const STOP: [Signal; 4] = [Signal::SIGHUP, Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTERM];

/// Signals this process ignores (SigIgn of /proc/self/status).
fn ignored() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

/// The stop signals the caller did not set to SIG_IGN.
fn stop_set() -> SigSet {
    let ign = ignored();
    let mut set = SigSet::empty();
    for s in STOP.into_iter().filter(|s| ign & (1 << (*s as i32 - 1)) == 0) {
        set.add(s);
    }
    set
}

/// Block the stop signals the caller does not ignore (`create`, `run -d`).
pub fn block_stop() -> Result<()> {
    let old = stop_set().thread_swap_mask(SigmaskHow::SIG_BLOCK).ctx(|| "block signals".to_string())?;
    let _ = CALLER_MASK.set(old);
    Ok(())
}

/// A stop signal that arrived since [`block_stop`], taken off the queue.
pub fn pending_stop() -> Option<Signal> {
    let fd = SignalFd::with_flags(&stop_set(), SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).ok()?;
    let info = fd.read_signal().ok()??;
    Signal::try_from(info.ssi_signo as i32).ok()
}

/// A signalfd reading the blocked signals (those pending since
/// [`block_forwarded`] included).
pub fn forwarding_fd() -> Result<SignalFd> {
    SignalFd::with_flags(&forwarded(), SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .ctx(|| "create a signalfd".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_and_sigpipe_are_not_forwarded() {
        let m = forwarded();
        for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGWINCH, Signal::SIGCHLD] {
            assert!(m.contains(s), "{s}");
        }
        for s in [Signal::SIGKILL, Signal::SIGSEGV, Signal::SIGPIPE] {
            assert!(!m.contains(s), "{s}");
        }
    }

    #[test]
    fn stop_set_leaves_out_what_is_ignored() {
        // (the test harness ignores SIGPIPE, not the stop signals)
        assert!(ignored() & (1 << (Signal::SIGPIPE as i32 - 1)) != 0);
        let set = stop_set();
        assert!(set.contains(Signal::SIGTERM) && !set.contains(Signal::SIGPIPE));
    }
}
