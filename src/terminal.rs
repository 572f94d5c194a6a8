//! Terminals: the pty made inside the container (its own devpts), its master
//! sent over `--console-socket` with SCM_RIGHTS as runc does, and the
//! receiving side used by a foreground `run` with a terminal.

use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};

use crate::error::{Context, Error, Result};

/// Connect to the console socket given by `--console-socket`.
pub fn connect(path: &Path) -> Result<OwnedFd> {
    let s = UnixStream::connect(path).ctx(|| format!("connect to console socket `{}`", path.display()))?;
    Ok(OwnedFd::from(s))
}

/// A new pty from the devpts instance at /dev/pts (the container's, once
/// pivoted or joined): (master, slave, slave name). The slave is opened
/// through the master (TIOCGPTPEER), so it is the master's own peer
/// whatever the container put at `/dev/pts/N`; and a "master" that is not
/// a real pty (a planted `/dev/ptmx`) fails there.
pub fn open_pty() -> Result<(OwnedFd, OwnedFd, String)> {
    let master =
        posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).ctx(|| "open /dev/ptmx".to_string())?;
    grantpt(&master).ctx(|| "grantpt".to_string())?;
    unlockpt(&master).ctx(|| "unlockpt".to_string())?;
    let name = ptsname_r(&master).ctx(|| "ptsname".to_string())?;
    // PtyMaster owns its descriptor; take it over.
    let master = crate::sys::process::own_fd(master.into_raw_fd());
    let slave =
        crate::sys::process::open_pty_peer(master.as_fd()).ctx(|| "open the pty's slave (TIOCGPTPEER)".to_string())?;
    Ok((master, slave, name))
}

/// Give the calling process a new pty as its terminal: the master goes to
/// the console socket `sock`, the slave becomes the controlling terminal
/// and stdio; with `console`, the slave is also bound onto that
/// `/dev/console` (create's init only: an exec'd process must not mount).
pub fn attach(sock: BorrowedFd<'_>, console: Option<BorrowedFd<'_>>) -> Result<()> {
    let (master, slave, name) = open_pty()?;
    if let Some(target) = console {
        crate::rootfs::dev::mount_console(slave.as_fd(), target)?;
    }
    send_fd(sock, master.as_fd(), &name)?;
    drop(master);
    nix::unistd::setsid().ctx(|| "create a session".to_string())?;
    crate::sys::process::set_controlling_tty(slave.as_fd())
        .ctx(|| "make the pty the controlling terminal".to_string())?;
    for target in 0..3 {
        crate::sys::process::dup_onto(slave.as_fd(), target)
            .ctx(|| format!("connect the pty to descriptor {target}"))?;
    }
    Ok(())
}

/// Send `fd` over a unix socket with SCM_RIGHTS; the payload is its name.
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>, name: &str) -> Result<()> {
    crate::fdpass::send(sock, name.as_bytes(), &[fd]).ctx(|| "send the pty master to the console socket".to_string())
}

/// Receive one descriptor sent with SCM_RIGHTS.
pub fn recv_fd(sock: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let (_, fd) = crate::fdpass::recv(sock, &mut buf).ctx(|| "receive the pty master".to_string())?;
    fd.ok_or_else(|| Error::Init("the console socket sent no descriptor".into()))
}

/// Puts the caller's terminal in raw mode for a foreground `run` with a
/// pty, and restores it when dropped. Not a terminal: does nothing.
pub struct RawMode {
    saved: Option<(OwnedFd, nix::sys::termios::Termios)>,
}

impl RawMode {
    pub fn enter(tty: BorrowedFd<'_>, pty: BorrowedFd<'_>) -> RawMode {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let Ok(saved) = tcgetattr(tty) else { return RawMode { saved: None } };
        let _ = crate::sys::process::copy_winsize(tty, pty);
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(tty, SetArg::TCSANOW, &raw);
        RawMode { saved: tty.try_clone_to_owned().ok().map(|fd| (fd, saved)) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some((fd, t)) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(fd, nix::sys::termios::SetArg::TCSANOW, t);
        }
    }
}

/// Copy what is available from one descriptor to another; false on EOF or
/// error (the reading side is done).
pub fn copy_once(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8192];
    match nix::unistd::read(from, &mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let mut off = 0;
            while off < n {
                match nix::unistd::write(to, &buf[off..n]) {
                    Ok(w) => off += w,
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(_) => return false,
                }
            }
            true
        }
    }
}

/// After the container exited: copy what the pty still holds to stdout.
pub fn drain(master: BorrowedFd<'_>) {
    loop {
        let mut pfd = [nix::poll::PollFd::new(master, nix::poll::PollFlags::POLLIN)];
        match nix::poll::poll(&mut pfd, nix::poll::PollTimeout::ZERO) {
            Ok(n) if n > 0 => {
                if !copy_once(master, std::io::stdout().as_fd()) {
                    return;
                }
            }
            _ => return,
        }
    }
}
