//! The crate's error type: one variant per kind of failure, each naming the
//! operation and its object. Module errors (cgroups, seccomp) convert in with
//! `#[from]`. Errors are reported once, by `main`.

use std::io;

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
    #[error("{what}: {}", source.desc().to_lowercase())]
    Sys { what: String, source: nix::Error },
    /// Reported by the container's init over the sync socket.
    #[error("{0}")]
    Init(String),
    #[error("{stage} hook #{index} `{path}`: {msg}")]
    Hook { stage: &'static str, index: usize, path: String, msg: String },
    #[error("{0}")]
    Unsupported(String),
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

/// An OS error's text without Rust's " (os error N)" suffix, lower-cased
/// like Go's (runc's) messages: "no such file or directory".
pub fn os_msg(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}
