//! The crate's error type: one variant per kind of failure, each naming the
//! operation and its object. Module errors (cgroups, seccomp) convert in with
//! `#[from]`. Errors are reported once, by `main`.

pub mod os;

use std::io;

pub use os::{errno_text, os_msg};

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command line usage (a missing id, a bad flag value).
    #[error("{0}")]
    Usage(String),
    /// The bundle's config is invalid; names the field and what is wrong.
    #[error("invalid config: {field}: {msg}")]
    Config { field: String, msg: String },
    #[error("invalid container id `{id}`: {why}")]
    BadId { id: String, why: &'static str },
    #[error("container does not exist")]
    NotExist(String),
    #[error("container with id exists: {0}")]
    Exists(String),
    /// A verb that the container's status forbids (runc's wording).
    #[error("{0}")]
    Status(String),
    #[error("{what}: {}", os_msg(source))]
    Io { what: String, source: io::Error },
    #[error("{what}: {}", errno_text(*source as i32))]
    Sys { what: String, source: nix::Error },
    /// Reported by the container's init over the sync socket.
    #[error("{0}")]
    Init(String),
    #[error("{stage} hook #{index} `{path}`: {msg}")]
    Hook { stage: &'static str, index: usize, path: String, msg: String },
    #[error("{0}")]
    Unsupported(String),
    /// The container process' final execve failed; it exits with `code`
    /// (127: not found, 126: found but not executable), as a shell would.
    #[error("exec `{program}`: {}", os_msg(source))]
    Exec { program: String, code: i32, source: io::Error },
    /// Not a failure: `run` finished and berth must exit with this code.
    #[error("exit status {0}")]
    Exit(i32),
    #[error(transparent)]
    Cgroups(#[from] crate::cgroups::Error),
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::Error),
    #[error(transparent)]
    Criu(#[from] crate::criu::Error),
}

impl Error {
    pub fn config(field: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Config { field: field.into(), msg: msg.into() }
    }
}

/// Attach "what was being done" to low-level errors.
pub trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io { what: what(), source })
    }
}

impl<T> Context<T> for nix::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Sys { what: what(), source })
    }
}

/// The whole message of an error for the one place that prints it: its
/// own text, then each cause in turn (the OS reason of a cgroup write, the
/// errno of a failed seccomp load...), unless the text already says it.
/// OS errors are worded as runc words them ("no such file or directory").
pub fn report(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = if let Some(io) = s.downcast_ref::<io::Error>() {
            os_msg(io)
        } else if let Some(errno) = s.downcast_ref::<nix::errno::Errno>() {
            errno_text(*errno as i32)
        } else {
            s.to_string()
        };
        if !text.is_empty() && !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cur = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_adds_each_cause_once() {
        let cg = crate::cgroups::Error::Write {
            path: "/sys/fs/cgroup/memory/x/memory.limit_in_bytes".into(),
            value: "4096".into(),
            source: io::Error::from_raw_os_error(libc::EBUSY),
        };
        let e = Error::from(cg);
        assert_eq!(
            report(&e),
            "write `4096` to `/sys/fs/cgroup/memory/x/memory.limit_in_bytes`: device or resource busy"
        );
        // Io already ends with its OS reason: not repeated.
        let e = Error::Io { what: "open `/x`".into(), source: io::Error::from_raw_os_error(libc::ENOENT) };
        assert_eq!(report(&e), "open `/x`: no such file or directory");
        let e = Error::Sys { what: "mount `proc`".into(), source: nix::errno::Errno::EPERM };
        assert_eq!(report(&e), "mount `proc`: operation not permitted");
    }
}
