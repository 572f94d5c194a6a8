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
}
