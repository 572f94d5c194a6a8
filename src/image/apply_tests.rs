use super::*;
use crate::image::testutil::TarBuilder;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::PathBuf;

fn root_dir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let r = t.path().join("root");
    std::fs::create_dir(&r).unwrap();
    (t, r)
}

fn apply(root: &Path, tar: &[u8], mode: ApplyMode) -> Result<ApplyStats> {
    apply_layer(root, tar, mode)
}

const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

fn xattr(root: &Root, name: &str, key: &str) -> Option<Vec<u8>> {
    crate::sys::image::lgetxattr_at(root.fd(), OsStr::new(name), key).unwrap_or(None)
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn applies_all_entry_types() {
    let (_t, r) = root_dir();
    let tar = TarBuilder::new()
        .dir("etc/", 0o755)
        .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644)
        .file_owned("bin/su", "x", 0o4755, 0, 0)
        .file_owned("home/u/f", "y", 0o600, 1000, 1001)
        .symlink("bin/sh", "busybox")
        .hardlink("bin/su2", "bin/su")
        .node(tar::EntryType::Fifo, "run/fifo", 0, 0)
        .node(tar::EntryType::Char, "dev/null", 1, 3)
        .file_xattr("xf", "z", &[("user.test", "v"), ("trusted.overlay.opaque", "y")])
        .finish();
    let st = apply(&r, &tar, ApplyMode::Flat).unwrap();
    assert_eq!(st.entries, 9);
    assert_eq!(std::fs::read_to_string(r.join("etc/passwd")).unwrap(), "root:x:0:0::/root:/bin/sh\n");
    let su = std::fs::metadata(r.join("bin/su")).unwrap();
    assert_eq!(su.permissions().mode() & 0o7777, 0o4755);
    assert_eq!(su.mtime(), 1_600_000_000);
    assert_eq!(std::fs::read_link(r.join("bin/sh")).unwrap(), PathBuf::from("busybox"));
    assert_eq!(std::fs::metadata(r.join("bin/su2")).unwrap().ino(), su.ino());
    assert!(std::fs::symlink_metadata(r.join("run/fifo")).unwrap().file_type().is_fifo());
    assert_eq!(std::fs::metadata(r.join("etc")).unwrap().mtime(), 1_600_000_000);
    if is_root() {
        let f = std::fs::metadata(r.join("home/u/f")).unwrap();
        assert_eq!((f.uid(), f.gid()), (1000, 1001));
        let n = std::fs::symlink_metadata(r.join("dev/null")).unwrap();
        assert!(n.file_type().is_char_device());
        assert_eq!(n.rdev(), nix::sys::stat::makedev(1, 3));
    }
    let root = Root::open(&r).unwrap();
    let v = crate::sys::image::lgetxattr_at(root.fd(), OsStr::new("xf"), "user.test");
    if let Ok(v) = v {
        assert_eq!(v.as_deref(), Some(&b"v"[..]));
    }
    // Overlay metadata from the image is never applied.
    assert_eq!(crate::sys::image::lgetxattr_at(root.fd(), OsStr::new("xf"), OPAQUE_XATTR).unwrap_or(None), None);
}

#[test]
fn flat_whiteouts_remove_lower_content_only() {
    let (_t, r) = root_dir();
    let l1 = TarBuilder::new().file("a/b", "1", 0o644).file("a/c", "2", 0o644).file("d/e", "3", 0o644).finish();
    apply(&r, &l1, ApplyMode::Flat).unwrap();
    let l2 = TarBuilder::new()
        .file("a/.wh.b", "", 0o644)
        .file(".wh.d", "", 0o644)
        .file("a/new", "4", 0o644)
        .file("a/.wh.new", "", 0o644)
        .file(".wh...", "", 0o644)
        .finish();
    apply(&r, &l2, ApplyMode::Flat).unwrap();
    assert!(!r.join("a/b").exists());
    assert!(r.join("a/c").exists());
    assert!(!r.join("d").exists());
    assert!(r.join("a/new").exists(), "a whiteout does not hide its own layer");
    assert!(r.exists());
}

#[test]
fn flat_opaque_applies_first_wherever_it_is() {
    let (_t, r) = root_dir();
    let l1 = TarBuilder::new().file("x/1", "1", 0o644).file("x/sub/2", "2", 0o644).file("y", "y", 0o644).finish();
    apply(&r, &l1, ApplyMode::Flat).unwrap();
    let l2 = TarBuilder::new()
        .file("x/before", "b", 0o644)
        .file("x/sub/kept", "k", 0o644)
        .file("x/.wh..wh..opq", "", 0o644)
        .file("x/after", "a", 0o644)
        .finish();
    apply(&r, &l2, ApplyMode::Flat).unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(r.join("x")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["after", "before", "sub"]);
    assert!(!r.join("x/sub/2").exists());
    assert!(r.join("x/sub/kept").exists());
    assert!(r.join("y").exists());
}

#[test]
fn replacing_types() {
    let (_t, r) = root_dir();
    apply(&r, &TarBuilder::new().file("p/q", "1", 0o644).file("f", "1", 0o644).finish(), ApplyMode::Flat).unwrap();
    apply(&r, &TarBuilder::new().file("p", "now a file", 0o644).dir("f", 0o755).finish(), ApplyMode::Flat).unwrap();
    assert!(r.join("p").is_file());
    assert!(r.join("f").is_dir());
}

#[test]
fn overlay_mode_records_whiteouts_and_opaque() {
    if !is_root() {
        eprintln!("skip: overlay whiteouts need CAP_MKNOD");
        return;
    }
    let (_t, r) = root_dir();
    let l = TarBuilder::new()
        .file("a/.wh.gone", "", 0o644)
        .file("o/.wh..wh..opq", "", 0o644)
        .file("o/f", "x", 0o644)
        .file(".wh.dir", "", 0o644)
        .dir("dir", 0o755)
        .finish();
    apply(&r, &l, ApplyMode::Overlay { userxattr: false }).unwrap();
    let w = std::fs::symlink_metadata(r.join("a/gone")).unwrap();
    assert!(w.file_type().is_char_device());
    assert_eq!(w.rdev(), 0);
    let root = Root::open(&r).unwrap();
    let o = open_child_dir(root.fd(), OsStr::new("o")).unwrap();
    let _ = o;
    assert_eq!(
        crate::sys::image::lgetxattr_at(root.fd(), OsStr::new("o"), OPAQUE_XATTR).unwrap().as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(
        crate::sys::image::lgetxattr_at(root.fd(), OsStr::new("dir"), OPAQUE_XATTR).unwrap().as_deref(),
        Some(&b"y"[..]),
        "a directory over a whiteout is opaque"
    );
    assert!(r.join("o/f").exists());
}

/// Layouts: `root` is applied to, `outside` must never change.
fn escape_case(layers: &[Vec<u8>]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let r = t.path().join("a/b/root");
    let out = t.path().join("outside");
    std::fs::create_dir_all(&r).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("secret"), "keep").unwrap();
    for l in layers {
        let _ = apply(&r, l, ApplyMode::Flat);
    }
    (t, r, out)
}

fn assert_outside_untouched(t: &Path, out: &Path) {
    assert_eq!(std::fs::read_to_string(out.join("secret")).unwrap(), "keep");
    let names: Vec<_> = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let top: Vec<_> = std::fs::read_dir(t).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(top.len(), 2, "{top:?}");
    assert!(!Path::new("/evil-imgtool-test").exists());
}

#[test]
fn escapes_are_contained() {
    let cases: Vec<Vec<Vec<u8>>> = vec![
        vec![TarBuilder::new()
            .file("../../../outside/secret", "pwn", 0o644)
            .file("../../../outside/new", "pwn", 0o644)
            .finish()],
        vec![TarBuilder::new()
            .file("/../../../../outside/new", "pwn", 0o644)
            .file("/evil-imgtool-test", "pwn", 0o644)
            .finish()],
        vec![TarBuilder::new()
            .symlink("l", "../../../outside")
            .file("l/new", "pwn", 0o644)
            .file("l/secret", "pwn", 0o644)
            .finish()],
        vec![TarBuilder::new().symlink("abs", "/").file("abs/evil-imgtool-test", "pwn", 0o644).finish()],
        // The symlink in a lower layer, the write in an upper one.
        vec![
            TarBuilder::new().symlink("l", "../../../outside").finish(),
            TarBuilder::new().file("l/secret", "pwn", 0o644).dir("l/newdir", 0o755).finish(),
        ],
        vec![
            TarBuilder::new().symlink("d", "../../..").finish(),
            TarBuilder::new()
                .file("d/outside/.wh.secret", "", 0o644)
                .file("d/outside/.wh..wh..opq", "", 0o644)
                .finish(),
        ],
        vec![TarBuilder::new().hardlink("h", "../../../outside/secret").finish()],
        vec![TarBuilder::new().symlink("l", "../../../outside").hardlink("h", "l/secret").finish()],
        vec![TarBuilder::new().symlink("l", "/").hardlink("h", "l/etc/passwd").finish()],
        vec![
            TarBuilder::new().symlink("l", "../../../outside/secret").finish(),
            TarBuilder::new().file("l", "replaced link, not target", 0o644).finish(),
        ],
    ];
    for (i, layers) in cases.iter().enumerate() {
        let (t, r, out) = escape_case(layers);
        assert_outside_untouched(t.path(), &out);
        let _ = (i, r);
    }
}

#[test]
fn hardlink_to_a_symlink_links_the_symlink() {
    let (_t, r) = root_dir();
    let l = TarBuilder::new().symlink("l", "/etc/passwd").hardlink("h", "l").finish();
    apply(&r, &l, ApplyMode::Flat).unwrap();
    assert!(std::fs::symlink_metadata(r.join("h")).unwrap().file_type().is_symlink());
}

#[test]
fn truncated_tar_is_an_error() {
    let (_t, r) = root_dir();
    let tar = TarBuilder::new().file("big", &"x".repeat(5000), 0o644).finish();
    let err = apply(&r, &tar[..3000], ApplyMode::Flat).unwrap_err();
    assert!(matches!(err, Error::Entry { .. } | Error::Tar(_)), "{err:?}");
}

#[test]
fn overlay_xattrs_from_an_image_are_dropped_in_both_namespaces() {
    // An overlay mounted with `userxattr` (rootless, in a user namespace)
    // reads user.overlay.*: a layer carrying them could hide a lower
    // directory (opaque), show another path (redirect) or white out files.
    let hostile: [(&str, &str); 5] = [
        ("user.overlay.opaque", "y"),
        ("user.overlay.redirect", "/etc"),
        ("user.overlay.whiteout", ""),
        ("trusted.overlay.opaque", "y"),
        ("trusted.overlay.redirect", "/etc"),
    ];
    for mode in [ApplyMode::Flat, ApplyMode::Overlay { userxattr: true }, ApplyMode::Overlay { userxattr: false }] {
        let (_t, r) = root_dir();
        let mut all = hostile.to_vec();
        all.push(("user.kept", "v"));
        let l = TarBuilder::new().dir_xattr("d", &all).file_xattr("d/f", "x", &all).finish();
        apply(&r, &l, mode).unwrap();
        let root = Root::open(&r).unwrap();
        for name in ["d", "d/f"] {
            for (k, _) in hostile {
                assert_eq!(xattr(&root, name, k), None, "{mode:?}: {name} has {k}");
            }
        }
        if let Some(v) = xattr(&root, "d/f", "user.kept") {
            assert_eq!(v, b"v", "ordinary user xattrs are kept");
        }
    }
    assert!(!xattr_allowed("user.overlay.anything", false));
    assert!(!xattr_allowed("trusted.overlay.metacopy", false));
    assert!(xattr_allowed("user.mime_type", true));
    assert!(!xattr_allowed("security.capability", true) && xattr_allowed("security.capability", false));
    assert!(!xattr_allowed("user.rootlesscontainers", true) && xattr_allowed("user.rootlesscontainers", false));
}

#[test]
fn userxattr_overlay_marks_opaque_with_user_xattrs() {
    let (_t, r) = root_dir();
    let l = TarBuilder::new().file("o/.wh..wh..opq", "", 0o644).file("o/f", "x", 0o644).finish();
    apply(&r, &l, ApplyMode::Overlay { userxattr: true }).unwrap();
    let root = Root::open(&r).unwrap();
    assert_eq!(xattr(&root, "o", "user.overlay.opaque").as_deref(), Some(&b"y"[..]));
    assert_eq!(xattr(&root, "o", OPAQUE_XATTR), None);
}

#[test]
fn sparse_entries_are_refused_not_inflated() {
    for (what, tar) in [
        ("gnu", TarBuilder::new().file("before", "1", 0o644).gnu_sparse("big", 1 << 40, b"end").finish()),
        ("pax", TarBuilder::new().file("before", "1", 0o644).pax_sparse("big", 1 << 40).finish()),
    ] {
        let (_t, r) = root_dir();
        let err = apply(&r, &tar, ApplyMode::Flat).unwrap_err();
        let Error::Entry { source, .. } = &err else { panic!("{what}: {err:?}") };
        assert!(matches!(**source, Error::Sparse { .. }), "{what}: {err:?}");
        assert!(err.to_string().contains("big") || source.to_string().contains("big"), "{what}: {err}");
        assert!(!r.join("big").exists() && !r.join("GNUSparseFile.0").exists(), "{what}: nothing written");
    }
}
