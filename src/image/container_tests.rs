use super::*;
use crate::image::budget::Budget;
use crate::image::lifecycle::remove_bundle;
use crate::image::overlay::is_mountpoint;
use crate::image::testutil::{layout_of, TarBuilder};
use crate::image::{open_image, ImageRef, Platform};
use serde_json::json;

fn image(dir: &Path) -> Image {
    let l1 = TarBuilder::new()
        .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644)
        .file("etc/group", "root:x:0:\n", 0o644)
        .file("f", "1", 0o644)
        .finish();
    let l2 = TarBuilder::new().file(".wh.f", "", 0o644).file("g", "2", 0o644).finish();
    layout_of(dir, "latest", &[("amd64", vec![l1, l2])], json!({"Cmd": ["sh"]}));
    open_image(&ImageRef::parse(&dir.display().to_string()).unwrap(), &Platform::parse("linux/amd64").unwrap(), false)
        .unwrap()
}

#[test]
fn unpack_makes_a_flat_bundle_and_remove_deletes_it() {
    let t = tempfile::tempdir().unwrap();
    let img = image(&t.path().join("img"));
    let b = t.path().join("bundle");
    unpack_bundle(&img, &b, &ConfigOptions::default(), &Progress::quiet(), &Budget::unlimited()).unwrap();
    assert!(b.join("config.json").is_file());
    assert!(b.join("rootfs/g").is_file());
    assert!(!b.join("rootfs/f").exists());
    assert!(matches!(
        unpack_bundle(&img, &b, &ConfigOptions::default(), &Progress::quiet(), &Budget::unlimited()),
        Err(Error::BundleExists(_))
    ));
    remove_bundle(&b, false).unwrap();
    assert!(!b.exists());
}

#[test]
fn a_failed_unpack_leaves_no_bundle() {
    let t = tempfile::tempdir().unwrap();
    let img = image(&t.path().join("img"));
    std::fs::write(t.path().join("img").join(&img.layers[1].path), b"garbage").unwrap();
    let b = t.path().join("bundle");
    assert!(unpack_bundle(&img, &b, &ConfigOptions::default(), &Progress::quiet(), &Budget::unlimited()).is_err());
    assert!(!b.exists());
    // A pre-existing empty bundle dir is left empty.
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700).create(&b).unwrap();
    assert!(unpack_bundle(&img, &b, &ConfigOptions::default(), &Progress::quiet(), &Budget::unlimited()).is_err());
    assert_eq!(std::fs::read_dir(&b).unwrap().count(), 0);
    // An unknown user fails after the rootfs is written: still nothing left.
    let img = image(&t.path().join("img2"));
    let opts = ConfigOptions { user: Some("ghost".into()), ..Default::default() };
    assert!(matches!(
        unpack_bundle(&img, &t.path().join("b2"), &opts, &Progress::quiet(), &Budget::unlimited()),
        Err(Error::UserNotFound(_))
    ));
    assert!(!t.path().join("b2").exists());
}

#[test]
fn remove_refuses_foreign_directories() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("keep"), "x").unwrap();
    assert!(matches!(remove_bundle(t.path(), false), Err(Error::NotBundle(_))));
    assert!(t.path().join("keep").exists());
}

#[test]
fn create_mounts_an_overlay_and_remove_cleans_up() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skip: overlay mounts need root");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let store = Store::open(&t.path().join("store")).unwrap();
    let img = image(&t.path().join("img"));
    let b = t.path().join("bundle");
    let rec =
        create_bundle(&store, &img, &b, &ConfigOptions::default(), &Progress::quiet(), &Budget::unlimited()).unwrap();
    // Whatever the assertions say, unmount and delete before reporting.
    let checks = std::panic::catch_unwind(|| {
        assert!(is_mountpoint(&b.join("rootfs")).unwrap());
        assert!(b.join("rootfs/g").is_file());
        assert!(!b.join("rootfs/f").exists(), "the whiteout hides the lower file");
        std::fs::write(b.join("rootfs/new"), "w").unwrap();
        assert!(b.join(".overlay/upper/new").is_file());
        assert_eq!(store.bundles().unwrap().0, vec![rec.clone()]);
        // gc keeps layers in use.
        assert!(store.gc(false).unwrap().layers.is_empty());
    });
    remove_bundle(&b, true).unwrap();
    if let Err(p) = checks {
        std::panic::resume_unwind(p);
    }
    assert!(!b.exists());
    assert!(store.bundles().unwrap().0.is_empty());
    assert_eq!(store.gc(false).unwrap().layers.len(), 2);
}
