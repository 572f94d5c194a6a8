//! Black-box tests of the `imgtool` binary that need no privileges: images
//! are built with the library tests' own builders (`image_support`: tar +
//! gzip in memory, an OCI layout in a temp dir).

#![allow(clippy::unwrap_used)] // fixture helpers outside #[test] fns

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::image_support::{layout_of, TarBuilder};

fn imgtool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgtool")).args(args).env_remove("IMGTOOL_STORE").output().unwrap()
}

/// A layer of regular files (mode 0755), names written as given.
fn layer(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut b = TarBuilder::new();
    for (name, data) in entries {
        b.file(name, data, 0o755);
    }
    b.finish()
}

/// A layout with one image per (arch, layer), all tagged `tag`.
fn layout(dir: &Path, tag: &str, images: &[(&str, Vec<u8>)]) -> PathBuf {
    layout_with(dir, tag, images, json!({"Cmd": ["/hello"], "Env": ["A=1"]}))
}

/// The same with the image config's `config` object given.
fn layout_with(dir: &Path, tag: &str, images: &[(&str, Vec<u8>)], config: Value) -> PathBuf {
    let images: Vec<(&str, Vec<Vec<u8>>)> = images.iter().map(|(arch, tar)| (*arch, vec![tar.clone()])).collect();
    layout_of(dir, tag, &images, config).dir
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn unpack_writes_rootfs_and_config() {
    let t = tempfile::tempdir().unwrap();
    let img = layout(
        &t.path().join("img"),
        "v1",
        &[(host_arch(), layer(&[("hello", "hi"), ("etc/passwd", "root:x:0:0::/root:/bin/sh\n")]))],
    );
    let bundle = t.path().join("bundle");
    let o = imgtool(&[
        "unpack",
        "--image",
        &format!("{}:v1", img.display()),
        bundle.to_str().unwrap(),
        "--",
        "/hello",
        "x",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(bundle.join("rootfs/hello")).unwrap(), "hi");
    let cfg: Value = serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["process"]["args"], json!(["/hello", "x"]));
    assert_eq!(cfg["process"]["terminal"], json!(false));
    assert_eq!(cfg["root"]["path"], json!("rootfs"));
    assert!(cfg["process"]["env"].as_array().unwrap().contains(&json!("A=1")));
    // A second unpack into the same bundle is refused.
    let o = imgtool(&["unpack", "--image", &format!("{}:v1", img.display()), bundle.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).starts_with("imgtool: use bundle"), "{}", stderr(&o));
    let o = imgtool(&["remove", bundle.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!bundle.exists());
}

#[test]
fn platform_and_tag_errors_list_the_choices() {
    let t = tempfile::tempdir().unwrap();
    let img =
        layout(&t.path().join("img"), "latest", &[("arm64", layer(&[("a", "a")])), ("ppc64le", layer(&[("b", "b")]))]);
    let b = t.path().join("b");
    let o = imgtool(&["unpack", "--platform", "linux/s390x", "--image", img.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("linux/s390x") && e.contains("linux/arm64") && e.contains("linux/ppc64le"), "{e}");
    let o = imgtool(&["unpack", "--platform", "linux/ppc64le", "--image", img.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(b.join("rootfs/b").exists());
    let o = imgtool(&["inspect", "--image", &format!("{}:nope", img.display())]);
    assert!(stderr(&o).contains("available: latest"), "{}", stderr(&o));
}

#[test]
fn corrupt_images_fail_and_leave_nothing() {
    let t = tempfile::tempdir().unwrap();
    let img = layout(&t.path().join("img"), "latest", &[(host_arch(), layer(&[("a", "a")]))]);
    let o = imgtool(&["inspect", "--image", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let digest = v["layers"][0]["digest"].as_str().unwrap().to_string();
    std::fs::write(img.join("blobs/sha256").join(&digest[7..]), b"not gzip at all").unwrap();
    let b = t.path().join("b");
    let o = imgtool(&["unpack", "--image", img.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains(&digest[7..20]) || stderr(&o).contains("layer"), "{}", stderr(&o));
    assert!(!b.exists());
    std::fs::remove_file(img.join("blobs/sha256").join(&digest[7..])).unwrap();
    let o = imgtool(&["unpack", "--image", img.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(stderr(&o).contains("is missing"), "{}", stderr(&o));
    assert!(!b.exists());
}

#[test]
fn hostile_paths_stay_inside_the_bundle() {
    let t = tempfile::tempdir().unwrap();
    let img = layout(
        &t.path().join("img"),
        "latest",
        &[(host_arch(), layer(&[("../../escaped", "x"), ("/abs-escaped", "y"), ("hello", "")]))],
    );
    let b = t.path().join("b");
    let o = imgtool(&["unpack", "--image", img.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!t.path().join("escaped").exists());
    assert!(b.join("rootfs/escaped").exists());
    assert!(b.join("rootfs/abs-escaped").exists());
}

#[test]
fn bad_references_are_reported() {
    let o = imgtool(&["inspect", "--image", "/nonexistent/img:tag"]);
    assert!(!o.status.success());
    assert!(stderr(&o).starts_with("imgtool: open image `/nonexistent/img`"), "{}", stderr(&o));
    let o = imgtool(&["inspect", "--image", "x", "--platform", "linux"]);
    assert!(stderr(&o).contains("os/arch"), "{}", stderr(&o));
}

#[test]
fn bundles_are_private_and_shared_directories_refused() {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let t = tempfile::tempdir().unwrap();
    let img = layout(&t.path().join("img"), "latest", &[(host_arch(), layer(&[("hello", "hi")]))]);
    let b = t.path().join("b");
    let o = imgtool(&["unpack", "--image", img.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(&b).unwrap().permissions().mode() & 0o7777, 0o700);
    let shared = t.path().join("shared");
    std::fs::DirBuilder::new().mode(0o755).create(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = imgtool(&["unpack", "--image", img.to_str().unwrap(), shared.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("other users can reach it (mode 0755)"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);
}

#[test]
fn an_image_without_a_command_unpacks_with_a_warning() {
    let t = tempfile::tempdir().unwrap();
    let img = layout_with(&t.path().join("img"), "latest", &[(host_arch(), layer(&[("hello", "hi")]))], json!({}));
    let b = t.path().join("b");
    let o = imgtool(&["unpack", "--image", img.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: the image sets neither Entrypoint nor Cmd"), "{}", stderr(&o));
    let cfg: Value = serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    assert!(cfg["process"]["args"][0].as_str().unwrap().contains("set process.args"), "{cfg}");
}

#[test]
fn a_fan_out_index_is_read_once_per_digest() {
    // index.json -> 8 levels of nested indexes, each listing the next 500
    // times: 500^7 walks unless each digest is read once.
    let t = tempfile::tempdir().unwrap();
    let dir = layout(&t.path().join("img"), "latest", &[(host_arch(), layer(&[("hello", "hi")]))]);
    let idx: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let mut desc = idx["manifests"][0].clone();
    desc.as_object_mut().unwrap().remove("annotations");
    let lay = crate::image_support::Layout { dir: dir.clone() };
    for _ in 0..8 {
        let nested = json!({"schemaVersion": 2, "manifests": vec![desc.clone(); 500]});
        let (digest, size) = lay.blob(&serde_json::to_vec(&nested).unwrap());
        desc = json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": size});
    }
    desc["annotations"] = json!({"org.opencontainers.image.ref.name": "fan"});
    let top = json!({"schemaVersion": 2, "manifests": [desc]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    let o = imgtool(&["inspect", "--image", &format!("{}:fan", dir.display())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = imgtool(&["tags", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("fan  "), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn limits_and_foreign_transports_are_clear_errors() {
    let t = tempfile::tempdir().unwrap();
    let img = layout(&t.path().join("img"), "latest", &[(host_arch(), layer(&[("big", &"x".repeat(4096))]))]);
    let b = t.path().join("b");
    let o = imgtool(&["unpack", "--max-layer-size", "2K", "--image", img.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("exceeds the 2.0 KiB limit per layer"), "{}", stderr(&o));
    assert!(!b.exists());
    let o = imgtool(&["unpack", "--image", "docker://busybox", b.to_str().unwrap()]);
    assert!(stderr(&o).contains("skopeo copy docker://busybox oci:DIR:TAG"), "{}", stderr(&o));
}
