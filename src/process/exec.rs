//! Finding the program to run the way runc does (Go's exec.LookPath with
//! the container's PATH), so a missing or non-executable program is an
//! error at create time, with the words podman maps to exit codes 127/126.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The PATH from a process environment (the default if it has none).
pub fn path_var(env: &[String]) -> String {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .map(str::to_string)
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string())
}

fn check_executable(p: &Path) -> Result<(), String> {
    let md = std::fs::metadata(p).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "no such file or directory".to_string()
        } else {
            crate::error::os_msg(&e)
        }
    })?;
    if md.is_dir() || md.permissions().mode() & 0o111 == 0 {
        return Err("permission denied".to_string());
    }
    // The mode bits allow it; ask the kernel for this user's right too.
    nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).map_err(|_| "permission denied".to_string())
}

/// Resolve `arg0` (relative to `cwd` when it has a slash but is relative).
pub fn find(arg0: &str, path: &str, cwd: &Path) -> Result<PathBuf, String> {
    if arg0.contains('/') {
        let p = if Path::new(arg0).is_absolute() { PathBuf::from(arg0) } else { cwd.join(arg0) };
        check_executable(&p).map_err(|e| format!("exec: \"{arg0}\": stat {arg0}: {e}"))?;
        return Ok(p);
    }
    let mut denied = false;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let p = Path::new(dir).join(arg0);
        match check_executable(&p) {
            Ok(()) => return Ok(if p.is_absolute() { p } else { cwd.join(p) }),
            Err(e) if e == "permission denied" => denied = true,
            Err(_) => {}
        }
    }
    if denied {
        return Err(format!("exec: \"{arg0}\": permission denied"));
    }
    Err(format!("exec: \"{arg0}\": executable file not found in $PATH"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn lookup_like_go() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(bin.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(bin.join("data"), "x").unwrap();
        std::fs::set_permissions(bin.join("data"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let path = format!("/nonexistent:{}", bin.display());
        assert_eq!(find("tool", &path, Path::new("/")).unwrap(), bin.join("tool"));
        let e = find("nosuch", &path, Path::new("/")).unwrap_err();
        assert!(e.contains("executable file not found in $PATH"), "{e}");
        let e = find("/nosuch/x", &path, Path::new("/")).unwrap_err();
        assert!(e.contains("no such file or directory"), "{e}");
        let e = find(bin.join("data").to_str().unwrap(), &path, Path::new("/")).unwrap_err();
        assert!(e.contains("permission denied"), "{e}");
        assert_eq!(find("./tool", &path, &bin).unwrap(), bin.join("./tool"));
        assert_eq!(path_var(&["A=1".into(), "PATH=/x".into()]), "/x");
    }
}
