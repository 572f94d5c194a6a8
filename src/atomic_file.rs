//! Replacing a file atomically: write a temporary file next to it, then
//! rename it over the destination, so readers see the old content or the
//! new, never a torn one (state files, pid files, imgtool metadata).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The temporary name used for `dst`: hidden, in the same directory (rename
/// stays on one filesystem), and unique per process (concurrent writers).
fn temp_path(dst: &Path) -> PathBuf {
    let name = dst.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = dst.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join(format!(".{name}.tmp{}", std::process::id()))
}

/// Write `data` to `dst` atomically, the new file created with `mode`
/// (subject to the umask). The temporary file is removed on failure.
pub fn write(dst: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let tmp = temp_path(dst);
    let r = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| f.write_all(data))
        .and_then(|()| std::fs::rename(&tmp, dst));
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
}
