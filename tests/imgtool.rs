//! Black-box tests of the `imgtool` binary that need no privileges: images
//! are built here (tar + gzip in memory, an OCI layout in a temp dir).

#![allow(clippy::unwrap_used)] // fixture helpers outside #[test] fns

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use sha2::Digest as _;

fn imgtool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgtool")).args(args).env_remove("IMGTOOL_STORE").output().unwrap()
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

fn put(dir: &Path, data: &[u8]) -> Value {
    let d = sha(data);
    std::fs::write(dir.join("blobs/sha256").join(&d[7..]), data).unwrap();
    json!({"digest": d, "size": data.len()})
}

fn layer(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o755);
        h.set_size(data.len() as u64);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, data.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

/// A layout with one image per (arch, layer entries), all tagged `tag`.
fn layout(dir: &Path, tag: &str, images: &[(&str, Vec<u8>)]) -> PathBuf {
    layout_with(dir, tag, images, json!({"Cmd": ["/hello"], "Env": ["A=1"]}))
}

/// The same with the image config's `config` object given.
fn layout_with(dir: &Path, tag: &str, images: &[(&str, Vec<u8>)], config: Value) -> PathBuf {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut manifests = Vec::new();
    for (arch, tar) in images {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(tar).unwrap();
        let mut l = put(dir, &gz.finish().unwrap());
        l["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+gzip");
        let cfg = json!({"architecture": arch, "os": "linux", "config": config, "rootfs": {"type": "layers", "diff_ids": [sha(tar)]}});
        let mut c = put(dir, &serde_json::to_vec(&cfg).unwrap());
        c["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
        let m = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c, "layers": [l]});
        let mut md = put(dir, &serde_json::to_vec(&m).unwrap());
        md["mediaType"] = json!("application/vnd.oci.image.manifest.v1+json");
        md["platform"] = json!({"architecture": arch, "os": "linux"});
        md["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        manifests.push(md);
    }
    let idx = json!({"schemaVersion": 2, "manifests": manifests});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    dir.to_path_buf()
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
    for _ in 0..8 {
        let nested = json!({"schemaVersion": 2, "manifests": vec![desc.clone(); 500]});
        desc = put(&dir, &serde_json::to_vec(&nested).unwrap());
        desc["mediaType"] = json!("application/vnd.oci.image.index.v1+json");
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
