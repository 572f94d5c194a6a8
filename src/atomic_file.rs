//! Replacing a file atomically: write a temporary file next to it, then
//! rename it over the destination, so readers see the old content or the
//! new, never a torn one (state files, pid files, imgtool metadata).
//!
//! Files berth writes on the host may sit in directories others can write
//! (a `--pid-file` in /tmp): the temporary name is unpredictable and made
//! with O_CREAT|O_EXCL|O_NOFOLLOW, so a symlink planted at it fails the
//! write instead of redirecting it, and rename(2) replaces a symlink at the
//! destination itself, never the file it points to.
//!
//! Files that describe processes (a container's state) do not outlive a
//! reboot, so [`write_volatile`] swaps the new file in with
//! renameat2(RENAME_EXCHANGE) and unlinks the old one instead: ext4
//! (`auto_da_alloc`) flushes a file renamed over another to disk at once,
//! and on a disk mounted with `discard` freeing those blocks again waits
//! for the device. A state root on ext4 paid that on every state write and
//! at every delete; an exchanged file stays in the page cache.

use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The temporary name used for `dst`: hidden, in the same directory (rename
/// stays on one filesystem), and unpredictable (64 random bits from the
/// OS, through the standard library's randomly keyed hasher).
fn temp_path(dst: &Path) -> PathBuf {
    let name = dst.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = dst.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    dir.join(format!(".{name}.{:016x}.tmp", h.finish()))
}

/// Write `data` to `dst` atomically, the new file created with `mode`
/// (subject to the umask). The temporary file is removed on failure.
pub fn write(dst: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    write_with(dst, data, mode, |tmp| std::fs::rename(tmp, dst))
}

/// [`write`] for files that need not survive a crash of the machine (see
/// the module's comment): an existing `dst` is exchanged with the new file
/// and then unlinked; a missing one (or a filesystem without
/// RENAME_EXCHANGE) gets a plain rename.
pub fn write_volatile(dst: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    use nix::errno::Errno;
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    write_with(dst, data, mode, |tmp| match renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RenameFlags::RENAME_EXCHANGE) {
        // `tmp` names the old file now. Were it left behind (the unlink
        // cannot fail but for the directory going away), it is a hidden
        // name that only the directory's removal takes along.
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(Errno::ENOENT | Errno::EINVAL | Errno::ENOSYS) => std::fs::rename(tmp, dst),
        Err(e) => Err(e.into()),
    })
}

/// Create the temporary file with `data`, then `commit` it into place.
fn write_with(
    dst: &Path,
    data: &[u8],
    mode: u32,
    commit: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temp_path(dst);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(mode)
        .open(&tmp)?;
    let r = (&f).write_all(data).and_then(|()| commit(&tmp));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_and_leaves_no_temporary() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("state.json");
        write(&p, b"one", 0o600).unwrap();
        write(&p, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
        assert!(write(&t.path().join("missing/dir/f"), b"x", 0o644).is_err());
    }

    #[test]
    fn volatile_creates_replaces_and_leaves_no_temporary() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("state.json");
        write_volatile(&p, b"one", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write_volatile(&p, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
        assert!(write_volatile(&t.path().join("missing/dir/f"), b"x", 0o644).is_err());
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }

    /// A symlink at the destination is replaced, never written through.
    #[test]
    fn a_symlink_at_the_destination_is_replaced_not_followed() {
        for w in [write, write_volatile] {
            let t = tempfile::tempdir().unwrap();
            let victim = t.path().join("victim");
            std::fs::write(&victim, b"precious").unwrap();
            let p = t.path().join("pid");
            std::os::unix::fs::symlink(&victim, &p).unwrap();
            w(&p, b"42", 0o644).unwrap();
            assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
            assert_eq!(std::fs::read(&p).unwrap(), b"42");
            assert!(!std::fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
            assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 2);
            // Two temporaries for one destination never share a name.
            assert_ne!(temp_path(&p), temp_path(&p));
        }
    }
}
