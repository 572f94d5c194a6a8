//! `berth kill ID [SIGNAL]`: signal the init, or every process with --all.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::Globals;
use crate::error::{Context, Error, Result};
use crate::state::{init_alive, Status};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Signal every process in the container's cgroup
    #[arg(short = 'a', long)]
    pub all: bool,
    pub id: String,
    /// Signal name (KILL, SIGKILL, kill) or number; default TERM
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

/// Parse a signal given as a number, a name, or a name without `SIG`.
pub fn parse_signal(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| Error::Usage(format!("unknown signal `{s}`")));
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    name.parse::<Signal>().map_err(|_| Error::Usage(format!("unknown signal `{s}`")))
}

pub fn run(a: Args, g: &Globals) -> Result<()> {
    let sig = parse_signal(&a.signal)?;
    let dir = g.container(&a.id)?;
    let stored = dir.load()?;
    let status = dir.status(&stored);
    if a.all {
        // As runc: every process in the cgroup, whatever the status. Without
        // a pid namespace of its own, processes outlive a stopped init.
        match stored.own_cgroup() {
            Some(cg) => cg.kill_all(sig)?,
            // No cgroup of its own (rootless, or one it shares): the
            // processes of its pid namespace, or the init alone.
            None => {
                let members = stored.pidns_members();
                let pids = if members.is_empty() && init_alive(stored.pid, stored.start_time) {
                    vec![stored.pid]
                } else {
                    members
                };
                for p in pids {
                    let _ = kill(Pid::from_raw(p), sig);
                }
            }
        }
        return Ok(());
    }
    if !status.can_kill() {
        return Err(Error::Status("container not running".into()));
    }
    if stored.shares_host_pidns && sig == Signal::SIGKILL {
        if let Some(cg) = stored.own_cgroup() {
            cg.kill_all(sig)?;
        }
    }
    kill(Pid::from_raw(stored.pid), sig).ctx(|| format!("send {sig} to the container init"))?;
    // A frozen task does not die until thawed (v1 freezer); runc thaws for
    // SIGKILL only, so other signals stay pending until `resume`.
    if status == Status::Paused && sig == Signal::SIGKILL {
        if let Some(cg) = &stored.cgroup {
            cg.thaw()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_spellings() {
        for s in ["9", "KILL", "SIGKILL", "kill", "sigkill"] {
            assert_eq!(parse_signal(s).unwrap(), Signal::SIGKILL, "{s}");
        }
        assert_eq!(parse_signal("USR1").unwrap(), Signal::SIGUSR1);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("999").is_err());
    }
}
