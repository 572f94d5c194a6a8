use super::*;
use crate::image::layer::apply_image_layer;
use crate::image::testutil::{gzip, tagged, zstd, Layout, TarBuilder, GZIP, TAR, ZSTD};
use crate::image::{open_image, ApplyMode, ImageRef};
use serde_json::json;

fn layers() -> Vec<(Vec<u8>, &'static str, Vec<u8>)> {
    let l1 = TarBuilder::new().file("bin/a", "a", 0o755).file("etc/gone", "x", 0o644).finish();
    let l2 = TarBuilder::new().file("etc/.wh.gone", "", 0o644).file("z", "zstd", 0o644).finish();
    let l3 = TarBuilder::new().file("plain", "p", 0o644).finish();
    vec![(l1.clone(), GZIP, gzip(&l1)), (l2.clone(), ZSTD, zstd(&l2)), (l3.clone(), TAR, l3)]
}

fn open(r: &str) -> Result<Image> {
    open_image(&ImageRef::parse(r).unwrap(), &Platform::parse("linux/amd64").unwrap(), false)
}

fn unpack(img: &Image) -> Result<tempfile::TempDir> {
    let t = tempfile::tempdir()?;
    for l in &img.layers {
        apply_image_layer(&img.source, l, t.path(), ApplyMode::Flat, None, &crate::image::budget::Budget::unlimited())?;
    }
    Ok(t)
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::io("test", "", e)
    }
}

#[test]
fn reads_a_tagged_image_with_gzip_zstd_and_plain_layers() {
    let t = tempfile::tempdir().unwrap();
    let lay = Layout::new(t.path());
    let m = lay.image(&layers(), "amd64", json!({"Cmd": ["sh"]}));
    lay.index(vec![tagged(m, "v1")]);
    let img = open(&format!("{}:v1", t.path().display())).unwrap();
    assert_eq!(img.layers.len(), 3);
    assert_eq!(img.layers[0].chain_id, img.layers[0].diff_id);
    assert_ne!(img.layers[1].chain_id, img.layers[1].diff_id);
    let root = unpack(&img).unwrap();
    assert!(root.path().join("bin/a").exists());
    assert!(!root.path().join("etc/gone").exists());
    assert_eq!(std::fs::read_to_string(root.path().join("z")).unwrap(), "zstd");
    // No tag: the only image is the default.
    assert!(open(&t.path().display().to_string()).is_ok());
    let err = open(&format!("{}:nope", t.path().display())).unwrap_err();
    assert!(err.to_string().contains("v1"), "{err}");
}

#[test]
fn picks_the_platform_from_an_index_and_lists_others() {
    let t = tempfile::tempdir().unwrap();
    let lay = Layout::new(t.path());
    let a = lay.image(&layers()[..1], "arm64", json!({}));
    let b = lay.image(&layers()[2..], "amd64", json!({}));
    // Both manifests under one tag (umoci calls this ambiguous).
    lay.index(vec![tagged(a, "latest"), tagged(b, "latest")]);
    let img = open(&t.path().display().to_string()).unwrap();
    assert_eq!(img.config.architecture().to_string(), "amd64");
    let r = ImageRef::parse(&t.path().display().to_string()).unwrap();
    let img = open_image(&r, &Platform::parse("linux/arm64/v8").unwrap(), true).unwrap();
    assert_eq!(img.layers.len(), 1);
    let err = open_image(&r, &Platform::parse("linux/s390x").unwrap(), true).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("linux/arm64") && msg.contains("linux/amd64"), "{msg}");
}

#[test]
fn follows_nested_indexes_and_digests() {
    let t = tempfile::tempdir().unwrap();
    let lay = Layout::new(t.path());
    let a = lay.image(&layers()[2..], "amd64", json!({}));
    let inner = json!({"schemaVersion": 2, "manifests": [a.clone()]});
    let (d, s) = lay.blob(&serde_json::to_vec(&inner).unwrap());
    lay.index(vec![tagged(
        json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": s}),
        "latest",
    )]);
    let img = open(&t.path().display().to_string()).unwrap();
    assert_eq!(img.layers.len(), 1);
    let img = open(&format!("{}@{}", t.path().display(), a["digest"].as_str().unwrap())).unwrap();
    assert_eq!(img.layers.len(), 1);
    let img = open(&format!("{}@{d}", t.path().display())).unwrap();
    assert_eq!(img.layers.len(), 1);
}

fn broken(f: impl FnOnce(&Layout, &serde_json::Value)) -> Error {
    let t = tempfile::tempdir().unwrap();
    let lay = Layout::new(t.path());
    let m = lay.image(&layers(), "amd64", json!({}));
    lay.index(vec![m.clone()]);
    f(&lay, &m);
    match open(&t.path().display().to_string()) {
        Err(e) => e,
        Ok(img) => unpack(&img).map(drop).unwrap_err(),
    }
}

fn first_layer(lay: &Layout, m: &serde_json::Value) -> std::path::PathBuf {
    let mb = std::fs::read(lay.path_of(m["digest"].as_str().unwrap())).unwrap();
    let mv: serde_json::Value = serde_json::from_slice(&mb).unwrap();
    lay.path_of(mv["layers"][0]["digest"].as_str().unwrap())
}

#[test]
fn hostile_blobs_are_errors() {
    let e = broken(|lay, m| std::fs::remove_file(first_layer(lay, m)).unwrap());
    assert!(matches!(e, Error::Layer { .. }) && format!("{:?}", e).contains("MissingBlob"), "{e:?}");

    let e = broken(|lay, m| {
        let p = first_layer(lay, m);
        let mut b = std::fs::read(&p).unwrap();
        b.truncate(b.len() - 3);
        std::fs::write(&p, b).unwrap();
    });
    assert!(
        format!("{e:?}").contains("Verify") || format!("{e:?}").contains("Tar") || format!("{e:?}").contains("Io"),
        "{e:?}"
    );

    // Same size, different bytes: a digest mismatch (gzip stays valid).
    let e = broken(|lay, m| {
        let p = first_layer(lay, m);
        let other = TarBuilder::new().file("bin/b", "b", 0o755).file("etc/gone", "x", 0o644).finish();
        std::fs::write(&p, gzip(&other)).unwrap();
    });
    assert!(format!("{e:?}").contains("Verify"), "{e:?}");

    // A manifest whose bytes do not match its digest.
    let e = broken(|lay, m| {
        let p = lay.path_of(m["digest"].as_str().unwrap());
        let mut b = std::fs::read(&p).unwrap();
        let n = b.len();
        b[n - 1] = b' ';
        std::fs::write(&p, b).unwrap();
    });
    assert!(matches!(e, Error::Verify { .. }), "{e:?}");
}

#[test]
fn wrong_diff_id_and_media_type_are_errors() {
    let t = tempfile::tempdir().unwrap();
    let lay = Layout::new(t.path());
    let l = TarBuilder::new().file("f", "x", 0o644).finish();
    let mut ls = vec![(l.clone(), TAR, l.clone())];
    ls[0].0 = TarBuilder::new().file("g", "y", 0o644).finish(); // config lists another diff_id
    let m = lay.image(&ls, "amd64", json!({}));
    lay.index(vec![m]);
    let img = open(&t.path().display().to_string()).unwrap();
    let e = unpack(&img).map(drop).unwrap_err();
    assert!(format!("{e:?}").contains("DiffId"), "{e:?}");

    let t = tempfile::tempdir().unwrap();
    let lay = Layout::new(t.path());
    let m = lay.image(&[(l.clone(), "application/x-unknown", l)], "amd64", json!({}));
    lay.index(vec![m]);
    assert!(matches!(open(&t.path().display().to_string()), Err(Error::MediaType(_))));
}

/// Store a nested index listing `child` `n` times; returns its descriptor.
fn fan_out(lay: &Layout, child: &serde_json::Value, n: usize) -> serde_json::Value {
    let idx = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": vec![child.clone(); n]});
    let (d, s) = lay.blob(&serde_json::to_vec(&idx).unwrap());
    json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": s})
}

#[test]
fn a_fan_out_index_is_walked_once_per_digest() {
    // Seven levels of 200 repeated children: 200^6 walks without a visited
    // set, seven blob reads with one.
    let t = tempfile::tempdir().unwrap();
    let lay = Layout::new(t.path());
    let mut desc = lay.image(&layers()[2..], "amd64", json!({"Cmd": ["sh"]}));
    for _ in 0..7 {
        desc = fan_out(&lay, &desc, 200);
    }
    let top: Descriptor = serde_json::from_value(desc.clone()).unwrap();
    lay.index(vec![tagged(desc, "latest")]);
    let src = Source::Dir(t.path().to_path_buf());
    let mut walk = Walk::new(&src);
    let mut out = Vec::new();
    walk.flatten(&[top], None, 0, &mut out).unwrap();
    assert_eq!(walk.seen.len(), 7 + 1, "each index read once, and the manifest");
    assert_eq!(walk.descriptors, 7 * 200);
    assert_eq!(out.len(), 1, "the one manifest, found once");
    assert_eq!(open(&t.path().display().to_string()).unwrap().layers.len(), 1);
}

#[test]
fn descriptors_in_nested_indexes_are_capped() {
    let t = tempfile::tempdir().unwrap();
    let lay = Layout::new(t.path());
    let m = lay.image(&layers()[2..], "amd64", json!({"Cmd": ["sh"]}));
    let wide = fan_out(&lay, &m, MAX_DESCRIPTORS + 1);
    lay.index(vec![tagged(wide, "latest")]);
    let err = open(&t.path().display().to_string()).unwrap_err();
    assert!(matches!(err, Error::TooManyDescriptors(MAX_DESCRIPTORS)), "{err:?}");
}
