//! OOM notifications for `berth events`: on v1 an eventfd registered on
//! `memory.oom_control` through `cgroup.event_control`; on v2 a poll for
//! `POLLPRI` on `memory.events` (kernfs signals every change), comparing the
//! `oom_kill` counter.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

use super::{Error, Result};

/// Waits for OOM kills in one memory cgroup.
#[derive(Debug)]
pub struct OomNotifier {
    dir: PathBuf,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    V1 { efd: EventFd, _control: File },
    V2 { events: File, last: u64 },
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| Error::Open { path: path.to_owned(), source })
}

fn oom_kills(path: &Path, f: &File) -> Result<u64> {
    let mut buf = [0u8; 512];
    let n = f.read_at(&mut buf, 0).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    let text = String::from_utf8_lossy(&buf[..n]);
    Ok(text.lines().filter_map(|l| l.strip_prefix("oom_kill ")).find_map(|v| v.trim().parse().ok()).unwrap_or(0))
}

impl OomNotifier {
    pub(crate) fn v1(dir: &Path) -> Result<Self> {
        let oom = dir.join("memory.oom_control");
        let control = open(&oom)?;
        let efd =
            EventFd::from_flags(EfdFlags::EFD_CLOEXEC).map_err(|source| Error::Oom { path: oom.clone(), source })?;
        let reg = dir.join("cgroup.event_control");
        let line = format!("{} {}", efd.as_fd().as_raw_fd(), control.as_raw_fd());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&reg)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(|source| Error::Write { path: reg, value: line, source })?;
        Ok(OomNotifier { dir: dir.to_owned(), kind: Kind::V1 { efd, _control: control } })
    }

    pub(crate) fn v2(dir: &Path) -> Result<Self> {
        let path = dir.join("memory.events");
        let events = open(&path)?;
        let last = oom_kills(&path, &events)?;
        Ok(OomNotifier { dir: dir.to_owned(), kind: Kind::V2 { events, last } })
    }

    /// Wait up to `timeout` and return the number of new OOM kills (0 on
    /// timeout), or `None` once the cgroup has been removed.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<u64>> {
        let ms = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let path = self.dir.join("memory.events");
        match &mut self.kind {
            Kind::V1 { efd, .. } => {
                let mut fds = [PollFd::new(efd.as_fd(), PollFlags::POLLIN)];
                let n = poll(&mut fds, ms).map_err(|source| Error::Oom { path: self.dir.clone(), source })?;
                if n == 0 {
                    return Ok(Some(0));
                }
                let count = efd.read().map_err(|source| Error::Oom { path: self.dir.clone(), source })?;
                // The eventfd also fires when the cgroup is removed.
                if !self.dir.exists() {
                    return Ok(None);
                }
                Ok(Some(count))
            }
            Kind::V2 { events, last } => {
                let mut fds = [PollFd::new(events.as_fd(), PollFlags::POLLPRI)];
                poll(&mut fds, ms).map_err(|source| Error::Oom { path: path.clone(), source })?;
                if !self.dir.exists() {
                    return Ok(None);
                }
                let now = oom_kills(&path, events)?;
                let new = now.saturating_sub(*last);
                *last = now;
                Ok(Some(new))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_counts_from_fixture() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("memory.events");
        std::fs::write(&f, "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n").unwrap();
        let mut n = OomNotifier::v2(tmp.path()).unwrap();
        std::fs::write(&f, "low 0\nhigh 0\nmax 2\noom 3\noom_kill 4\n").unwrap();
        // a regular file polls ready at once
        assert_eq!(n.wait(Duration::from_millis(10)).unwrap(), Some(3));
        assert_eq!(n.wait(Duration::from_millis(10)).unwrap(), Some(0));
    }
}
