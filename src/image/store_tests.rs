use super::*;
use crate::image::budget::Budget;
use crate::image::testutil::{layout_of, TarBuilder};
use crate::image::{open_image, ImageRef, Platform};
use serde_json::json;

fn image(dir: &Path, extra: &str) -> Image {
    let l1 = TarBuilder::new().file("base", "b", 0o644).finish();
    let l2 = TarBuilder::new().file(extra, "x", 0o644).file(".wh.base", "", 0o644).finish();
    layout_of(dir, "latest", &[("amd64", vec![l1, l2])], json!({"Cmd": ["sh"]}));
    open_image(&ImageRef::parse(&dir.display().to_string()).unwrap(), &Platform::parse("linux/amd64").unwrap(), false)
        .unwrap()
}

fn root() -> bool {
    let r = nix::unistd::geteuid().is_root();
    if !r {
        eprintln!("skip: the overlay store needs root (whiteout devices)");
    }
    r
}

fn tmp_is_empty(s: &Store) -> bool {
    std::fs::read_dir(s.root.join("tmp"))
        .unwrap()
        .filter_map(|e| e.ok())
        .all(|e| e.path().extension().is_some_and(|x| x == "lock"))
}

#[test]
fn layers_are_stored_once_and_shared_by_chain_id() {
    if !root() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let store = Store::open(&t.path().join("store")).unwrap();
    let a = image(&t.path().join("a"), "only-a");
    let b = image(&t.path().join("b"), "only-b");
    // Two "processes" unpacking the same image at once, plus another image
    // sharing the base layer.
    std::thread::scope(|s| {
        s.spawn(|| store.ensure_layers(&a, &Progress::quiet(), &Budget::unlimited()).unwrap());
        s.spawn(|| {
            Store::open(&store.root).unwrap().ensure_layers(&a, &Progress::quiet(), &Budget::unlimited()).unwrap()
        });
        s.spawn(|| store.ensure_layers(&b, &Progress::quiet(), &Budget::unlimited()).unwrap());
    });
    assert_eq!(store.layers().unwrap().len(), 3, "base shared, two tops");
    assert!(tmp_is_empty(&store));
    let dirs = store.ensure_layers(&a, &Progress::quiet(), &Budget::unlimited()).unwrap();
    assert!(dirs[1].join("only-a").is_file());
    assert!(std::fs::symlink_metadata(dirs[1].join("base")).unwrap().file_type().is_char_device());
    // Nothing uses them: gc removes all.
    let report = store.gc(false).unwrap();
    assert_eq!(report.layers.len(), 3);
    assert!(store.layers().unwrap().is_empty());
}

#[test]
fn a_corrupt_layer_leaves_nothing_in_the_store() {
    if !root() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let store = Store::open(&t.path().join("store")).unwrap();
    let img = image(&t.path().join("a"), "x");
    let blob = t.path().join("a").join(&img.layers[1].path);
    let mut data = std::fs::read(&blob).unwrap();
    data.truncate(data.len() / 2);
    std::fs::write(&blob, data).unwrap();
    let e = store.ensure_layers(&img, &Progress::quiet(), &Budget::unlimited()).unwrap_err();
    assert!(matches!(e, Error::Layer { .. }), "{e:?}");
    assert!(!store.has_layer(img.layers[1].chain_id.as_ref()));
    assert!(tmp_is_empty(&store));
}

use std::os::unix::fs::FileTypeExt;
