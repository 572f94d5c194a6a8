//! Reading a bundle's `config.json`, with errors that name the field.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::error::{Context, Error, Result};

/// A parsed config and where it came from.
pub struct Bundle {
    /// Absolute, canonical bundle directory.
    pub dir: PathBuf,
    pub spec: Spec,
    /// The exact bytes read, kept so the state directory holds the config as
    /// it was at create time (edits made after create change nothing).
    pub raw: Vec<u8>,
}

/// Load `<dir>/config.json`.
pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    let dir = std::fs::canonicalize(dir).ctx(|| format!("open bundle `{}`", dir.display()))?;
    let path = dir.join("config.json");
    let raw = std::fs::read(&path).ctx(|| format!("read `{}`", path.display()))?;
    let spec = parse_spec(&raw)?;
    check_rootfs_mounted(&dir, &spec)?;
    Ok(Bundle { dir, spec, raw })
}

/// An imgtool overlay bundle whose overlay is not mounted (after a reboot or
/// an unmount) shows the bare mount point, which imgtool marks: refuse it
/// with the fix, rather than fail later at the first mount inside it.
fn check_rootfs_mounted(dir: &Path, spec: &Spec) -> Result<()> {
    let Some(root) = spec.root().as_ref() else { return Ok(()) };
    let rootfs = dir.join(root.path());
    if std::fs::symlink_metadata(rootfs.join(crate::image::overlay::NOT_MOUNTED)).is_ok() {
        return Err(Error::config(
            "root.path",
            format!(
                "`{}` is the mount point of an imgtool overlay with nothing mounted on it: run `imgtool mount {}`",
                rootfs.display(),
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Parse config bytes; a type error names the JSON path of the bad field.
pub fn parse_spec(raw: &[u8]) -> Result<Spec> {
    let de = &mut serde_json::Deserializer::from_slice(raw);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        Error::config(if path == "." { "config.json".to_string() } else { path }, inner.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_error_names_the_field() {
        let e = parse_spec(br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":"x","gid":0}}}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("process.user.uid"), "{e}");
    }

    #[test]
    fn unknown_capability_is_rejected() {
        let e = parse_spec(
            br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_TEST"]}}}"#,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("CAP_TEST") || e.contains("capabilities"), "{e}");
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(parse_spec(b"{").is_err());
    }

    #[test]
    fn an_unmounted_imgtool_rootfs_is_refused() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("rootfs")).unwrap();
        let spec = parse_spec(br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"}}"#).unwrap();
        assert!(check_rootfs_mounted(t.path(), &spec).is_ok());
        crate::image::overlay::guard_mount_point(&t.path().join("rootfs")).unwrap();
        let e = check_rootfs_mounted(t.path(), &spec).unwrap_err().to_string();
        assert!(e.contains("imgtool mount"), "{e}");
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let s = parse_spec(br#"{"ociVersion":"1.0.2","whatever":{"x":1},"annotations":{"a":"b"}}"#).unwrap();
        assert_eq!(s.version(), "1.0.2");
    }
}
