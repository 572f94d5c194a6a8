//! Checkpoint and restore with CRIU, as runc 1.1 does them.
//!
//! berth talks to CRIU through its RPC interface: `criu swrk FD` on one end
//! of a SOCK_SEQPACKET socket pair, one protobuf `criu_req` per request and
//! `criu_resp` per answer, with notifications (`setup-namespaces`,
//! `post-restore`, `orphan-pts-master` ...) answered in between (`swrk`).
//! The messages are encoded by hand (`proto`): berth sets about thirty
//! fields of `criu_opts` and reads a handful of the answer. The
//! checkpoint-restore project's `rust-criu` crate was evaluated and not
//! used: its notification callback is a bare `fn` (no way to run the
//! container's hooks, write its state or pass the pty master to the console
//! socket from it), it cannot send `cgroup_root` (restoring into the new
//! container's cgroups, e.g. under a new id), `join_ns`, `config_file` or a
//! pre-dump / feature-check request, and it pins protobuf =3.7.2 with 6.6k
//! lines of generated code (about 130 KB more in a release binary, for
//! code that berth's hot path never runs).
//!
//! `plan` turns the container's config and the command line into CRIU's
//! options (pure, unit-tested), `checkpoint` and `restore` drive a dump and
//! a restore: restore creates a container like `create` does (state,
//! cgroups, hooks, pid file, console socket), with CRIU in place of the
//! init.

pub mod checkpoint;
pub mod plan;
pub mod proto;
pub mod restore;
mod swrk;

use std::io;
use std::path::{Path, PathBuf};

use crate::error::os::os_msg;

/// Errors of talking to CRIU.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("criu `{0}` not found in PATH (pass --criu PATH; the README says how to get CRIU)")]
    NotFound(String),
    #[error("run `{} swrk`: {}", path.display(), os_msg(source))]
    Spawn { path: PathBuf, source: io::Error },
    #[error(
        "CRIU {found} (`{}`) is too old: checkpoint/restore needs CRIU {need} or newer here ({why})",
        path.display()
    )]
    TooOld { path: PathBuf, found: String, need: String, why: &'static str },
    #[error("talk to CRIU: {what}: {}", os_msg(source))]
    Rpc { what: &'static str, source: io::Error },
    #[error("bad answer from CRIU: {0}")]
    Protocol(String),
    /// CRIU answered a request with `success: false`, or died.
    #[error("criu {op} failed: {detail}; log file: {}", log.display())]
    Failed { op: &'static str, detail: String, log: PathBuf },
    #[error("CRIU is missing features: {0}")]
    MissingFeatures(String),
}

/// A CRIU version, comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub i32, pub i32, pub i32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)?;
        if self.2 != 0 {
            write!(f, ".{}", self.2)?;
        }
        Ok(())
    }
}

/// The oldest CRIU berth works with on a kernel, and why. 3.15 is what the
/// options berth sends need (external pid namespaces, the cgroup v2
/// freezer); newer kernels need newer CRIUs.
pub fn required_version(kernel: (u32, u32)) -> (Version, &'static str) {
    if kernel >= (6, 16) {
        (Version(4, 2, 0), "CRIU before 4.2 cannot checkpoint TCP sockets on Linux 6.16 and later")
    } else if kernel >= (6, 13) {
        (Version(4, 1, 0), "Linux 6.13 split the vDSO's vvar area, which CRIU handles since 4.1")
    } else {
        (Version(3, 15, 0), "external pid namespaces and the cgroup v2 freezer")
    }
}

/// The running kernel's (major, minor), from /proc/sys/kernel/osrelease.
pub fn kernel_version() -> (u32, u32) {
    let text = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    parse_kernel_version(&text)
}

fn parse_kernel_version(release: &str) -> (u32, u32) {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// The CRIU binary: `--criu PATH` (a name without `/` is looked up in
/// PATH, as exec would), default `criu`.
pub fn find(criu: Option<&str>) -> Result<PathBuf, Error> {
    let name = criu.unwrap_or("criu");
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
        .ok_or_else(|| Error::NotFound(name.to_string()))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A CRIU found and checked: its path and version.
#[derive(Debug, Clone)]
pub struct Criu {
    pub path: PathBuf,
    pub version: Version,
}

impl Criu {
    /// Find CRIU, ask its version over RPC and refuse one too old for this
    /// kernel, naming the version needed.
    pub fn open(criu: Option<&str>) -> crate::Result<Criu> {
        let path = find(criu)?;
        let v = swrk::version(&path)?;
        let version = Version(v.major, v.minor, v.sublevel);
        let (need, why) = required_version(kernel_version());
        if version < need {
            return Err(Error::TooOld { path, found: version.to_string(), need: need.to_string(), why }.into());
        }
        Ok(Criu { path, version })
    }
}

/// Errors CRIU logs that do not make it fail: without CAP_SYS_RESOURCE in
/// its bounding set (as here) it cannot raise its own RLIMIT_NOFILE.
const HARMLESS: &[&str] = &["rlimit: Can't setup RLIMIT_NOFILE for self"];

fn is_harmless(msg: &str) -> bool {
    HARMLESS.iter().any(|h| msg.contains(h))
}

/// The first error CRIU logged (`Error (criu/file.c:123): msg`), without
/// its time stamp and source location, for the error berth reports.
pub fn first_log_error(log: &str) -> Option<String> {
    log.lines().find_map(|l| {
        let rest = &l[l.find("Error (")?..];
        let msg = rest.split_once("): ").map(|(_, m)| m).unwrap_or(rest);
        let msg = msg.trim().trim_end_matches('.');
        (!is_harmless(msg)).then(|| msg.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert_eq!(parse_kernel_version("6.18.44-fc-v1252\n"), (6, 18));
        assert_eq!(parse_kernel_version("5.10.0-35-amd64"), (5, 10));
        assert_eq!(parse_kernel_version("garbage"), (0, 0));
    }

    #[test]
    fn required_versions_follow_the_kernel() {
        assert_eq!(required_version((6, 18)).0, Version(4, 2, 0));
        assert_eq!(required_version((6, 13)).0, Version(4, 1, 0));
        assert_eq!(required_version((6, 1)).0, Version(3, 15, 0));
        assert!(Version(3, 17, 1) < Version(4, 1, 0));
        assert!(Version(4, 2, 1) >= Version(4, 2, 0));
        assert_eq!(Version(4, 2, 0).to_string(), "4.2");
        assert_eq!(Version(3, 17, 1).to_string(), "3.17.1");
    }

    #[test]
    fn log_error_line() {
        let log = "(00.001) Warn  (criu/x.c:1): harmless\n\
                   (00.002) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n\
                   (00.012) Error (criu/sk-inet.c:199): inet: Connected TCP socket, consider using --tcp-established option.\n\
                   (00.013) Error (criu/cr-dump.c:1600): Dump files (pid: 1) failed with -1\n";
        assert_eq!(
            first_log_error(log).as_deref(),
            Some("inet: Connected TCP socket, consider using --tcp-established option")
        );
        assert_eq!(first_log_error("all fine\n"), None);
    }

    /// The real RPC path (spawn, socket pair, request, answer) against
    /// integration/lib/fake_criu.py, which answers as CRIU 3.17.1 would.
    #[test]
    fn version_over_rpc_and_the_too_old_error() {
        let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/lib/fake_criu.py");
        let v = swrk::version(&fake).unwrap();
        assert_eq!((v.major, v.minor, v.sublevel), (3, 17, 1));
        let opened = Criu::open(fake.to_str());
        if required_version(kernel_version()).0 > Version(3, 17, 1) {
            let e = opened.unwrap_err().to_string();
            assert!(e.starts_with("CRIU 3.17.1 (`"), "{e}");
            assert!(e.contains("or newer here"), "{e}");
        } else {
            assert_eq!(opened.unwrap().version, Version(3, 17, 1));
        }
        let e = swrk::version(Path::new("/nonexistent/criu")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/criu swrk"), "{e}");
    }

    #[test]
    fn lookup_in_path_and_explicit_paths() {
        assert_eq!(find(Some("/x/criu")).unwrap(), PathBuf::from("/x/criu"));
        assert!(matches!(find(Some("no-such-criu-binary-here")), Err(Error::NotFound(_))));
    }
}
