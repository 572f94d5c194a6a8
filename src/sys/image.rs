//! Syscalls for imgtool's layer application that nix does not wrap: extended
//! attributes set on an fd or on a name inside an already-resolved directory
//! fd, without ever following a symlink in the final component.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;

fn cstring(bytes: &[u8]) -> nix::Result<CString> {
    CString::new(bytes).map_err(|_| Errno::EINVAL)
}

/// `fsetxattr(2)`: set `key` on the open file `fd`.
pub fn fsetxattr(fd: BorrowedFd<'_>, key: &str, value: &[u8]) -> nix::Result<()> {
    let key = cstring(key.as_bytes())?;
    // SAFETY: fd is a live descriptor borrowed for the call; key is a valid
    // NUL-terminated string and value points to value.len() readable bytes.
    let rc = unsafe { libc::fsetxattr(fd.as_raw_fd(), key.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    Errno::result(rc).map(drop)
}

/// The `/proc/self/fd/N/NAME` path naming `name` inside the directory `dir`.
/// The magic link resolves to `dir` itself, so only `name` is looked up and
/// the l* syscalls never follow it if it is a symlink.
fn fd_child_path(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<CString> {
    if name.as_bytes().contains(&b'/') || name.is_empty() {
        return Err(Errno::EINVAL);
    }
    let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    path.extend_from_slice(name.as_bytes());
    cstring(&path)
}

/// `lsetxattr(2)` on `name` inside `dir` (not following a final symlink).
pub fn lsetxattr_at(dir: BorrowedFd<'_>, name: &OsStr, key: &str, value: &[u8]) -> nix::Result<()> {
    let path = fd_child_path(dir, name)?;
    let key = cstring(key.as_bytes())?;
    // SAFETY: path and key are valid NUL-terminated strings; value points to
    // value.len() readable bytes; dir stays open for the duration of the call.
    let rc = unsafe { libc::lsetxattr(path.as_ptr(), key.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    Errno::result(rc).map(drop)
}

/// `lgetxattr(2)` on `name` inside `dir`; `Ok(None)` when the attribute is absent.
pub fn lgetxattr_at(dir: BorrowedFd<'_>, name: &OsStr, key: &str) -> nix::Result<Option<Vec<u8>>> {
    let path = fd_child_path(dir, name)?;
    let key = cstring(key.as_bytes())?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: path and key are valid C strings; buf is writable for buf.len() bytes.
    let rc = unsafe { libc::lgetxattr(path.as_ptr(), key.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    match Errno::result(rc) {
        Ok(n) => {
            buf.truncate(usize::try_from(n).map_err(|_| Errno::EOVERFLOW)?);
            Ok(Some(buf))
        }
        Err(Errno::ENODATA) => Ok(None),
        Err(e) => Err(e),
    }
}
