//! Image builders for tests: tar layers built in memory (including hostile
//! names the `tar` crate's safe API refuses) and OCI layouts written to temp
//! dirs. One copy for both kinds of tests: the library's unit tests have it
//! as `crate::image::testutil`, the black-box tests in `tests/` include this
//! file as their `image_support` module. So it imports nothing of berth,
//! only crates berth itself depends on.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::Digest as _;

/// `sha256:<hex>` of `data`.
pub fn sha256_of(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// Builds a layer tar in memory.
pub struct TarBuilder {
    b: tar::Builder<Vec<u8>>,
}

fn header(kind: tar::EntryType, name: &str, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_600_000_000);
    h.set_size(0);
    let raw = &mut h.as_old_mut().name;
    raw.fill(0);
    raw[..name.len()].copy_from_slice(name.as_bytes());
    h
}

fn set_link(h: &mut tar::Header, target: &str) {
    let raw = &mut h.as_old_mut().linkname;
    raw.fill(0);
    raw[..target.len()].copy_from_slice(target.as_bytes());
}

impl Default for TarBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TarBuilder {
    pub fn new() -> Self {
        TarBuilder { b: tar::Builder::new(Vec::new()) }
    }

    fn push(&mut self, mut h: tar::Header, data: &[u8]) -> &mut Self {
        h.set_size(data.len() as u64);
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }

    pub fn file(&mut self, name: &str, data: &str, mode: u32) -> &mut Self {
        self.push(header(tar::EntryType::Regular, name, mode), data.as_bytes())
    }

    pub fn file_owned(&mut self, name: &str, data: &str, mode: u32, uid: u64, gid: u64) -> &mut Self {
        let mut h = header(tar::EntryType::Regular, name, mode);
        h.set_uid(uid);
        h.set_gid(gid);
        self.push(h, data.as_bytes())
    }

    pub fn dir(&mut self, name: &str, mode: u32) -> &mut Self {
        self.push(header(tar::EntryType::Directory, name, mode), b"")
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        let mut h = header(tar::EntryType::Symlink, name, 0o777);
        set_link(&mut h, target);
        self.push(h, b"")
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        let mut h = header(tar::EntryType::Link, name, 0o644);
        set_link(&mut h, target);
        self.push(h, b"")
    }

    pub fn node(&mut self, kind: tar::EntryType, name: &str, major: u32, minor: u32) -> &mut Self {
        let mut h = header(kind, name, 0o640);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.push(h, b"")
    }

    /// A file with PAX xattrs.
    pub fn file_xattr(&mut self, name: &str, data: &str, xattrs: &[(&str, &str)]) -> &mut Self {
        let pax: Vec<(String, Vec<u8>)> =
            xattrs.iter().map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.as_bytes().to_vec())).collect();
        self.b.append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice()))).unwrap();
        self.file(name, data, 0o644)
    }

    /// A directory with PAX xattrs.
    pub fn dir_xattr(&mut self, name: &str, xattrs: &[(&str, &str)]) -> &mut Self {
        let pax: Vec<(String, Vec<u8>)> =
            xattrs.iter().map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.as_bytes().to_vec())).collect();
        self.b.append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice()))).unwrap();
        self.dir(name, 0o755)
    }

    /// An old-GNU sparse file of `real_size` bytes: one hole, then `data`.
    pub fn gnu_sparse(&mut self, name: &str, real_size: u64, data: &[u8]) -> &mut Self {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::GNUSparse);
        h.set_mode(0o644);
        h.set_mtime(1_600_000_000);
        h.set_path(name).unwrap();
        let g = h.as_gnu_mut().unwrap();
        g.sparse[0].set_offset(real_size - data.len() as u64);
        g.sparse[0].set_length(data.len() as u64);
        g.set_real_size(real_size);
        self.push(h, data)
    }

    /// A PAX (format 1.0) sparse file as GNU tar writes it: the real name and
    /// size in `GNU.sparse.*` records, the map and data as the member body.
    pub fn pax_sparse(&mut self, name: &str, real_size: u64) -> &mut Self {
        let real = real_size.to_string();
        let recs: [(&str, &[u8]); 4] = [
            ("GNU.sparse.major", b"1"),
            ("GNU.sparse.minor", b"0"),
            ("GNU.sparse.name", name.as_bytes()),
            ("GNU.sparse.realsize", real.as_bytes()),
        ];
        self.b.append_pax_extensions(recs).unwrap();
        let mut body = format!("1\n{}\n1\n", real_size - 1).into_bytes();
        body.resize(512, 0);
        body.push(b'x');
        self.push(header(tar::EntryType::Regular, "GNUSparseFile.0/f", 0o644), &body)
    }

    pub fn finish(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.b, tar::Builder::new(Vec::new()));
        b.into_inner().unwrap()
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 1).unwrap()
}

/// Writes an OCI image layout.
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Layout { dir: dir.to_path_buf() }
    }

    /// Store a blob; returns its descriptor (without media type).
    pub fn blob(&self, data: &[u8]) -> (String, u64) {
        let d = sha256_of(data);
        std::fs::write(self.dir.join("blobs/sha256").join(&d[7..]), data).unwrap();
        (d, data.len() as u64)
    }

    pub fn path_of(&self, digest: &str) -> PathBuf {
        self.dir.join("blobs/sha256").join(&digest[7..])
    }

    /// An image from (uncompressed tar, media type, stored bytes) layers;
    /// returns the manifest descriptor.
    pub fn image(&self, layers: &[(Vec<u8>, &str, Vec<u8>)], arch: &str, config: Value) -> Value {
        let diff_ids: Vec<String> = layers.iter().map(|(t, _, _)| sha256_of(t)).collect();
        let cfg = json!({"architecture": arch, "os": "linux", "config": config, "rootfs": {"type": "layers", "diff_ids": diff_ids}});
        let (cd, cs) = self.blob(&serde_json::to_vec(&cfg).unwrap());
        let ldescs: Vec<Value> = layers
            .iter()
            .map(|(_, mt, stored)| {
                let (d, s) = self.blob(stored);
                json!({"mediaType": mt, "digest": d, "size": s})
            })
            .collect();
        let m = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs}, "layers": ldescs});
        let (md, ms) = self.blob(&serde_json::to_vec(&m).unwrap());
        json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
            "platform": {"architecture": arch, "os": "linux"}})
    }

    pub fn index(&self, manifests: Vec<Value>) {
        let idx =
            json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
        std::fs::write(self.dir.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
    }
}

/// A descriptor with a `ref.name` annotation.
pub fn tagged(mut desc: Value, tag: &str) -> Value {
    desc["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    desc
}

/// A layout with one image per (architecture, layer tars), its layers
/// gzipped, each image tagged `tag`, with `config` as the image config's
/// `config` object.
pub fn layout_of(dir: &Path, tag: &str, images: &[(&str, Vec<Vec<u8>>)], config: Value) -> Layout {
    let lay = Layout::new(dir);
    let manifests = images
        .iter()
        .map(|(arch, tars)| {
            let layers: Vec<_> = tars.iter().map(|t| (t.clone(), GZIP, gzip(t))).collect();
            tagged(lay.image(&layers, arch, config.clone()), tag)
        })
        .collect();
    lay.index(manifests);
    lay
}

pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
