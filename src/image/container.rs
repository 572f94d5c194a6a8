//! Bundles made from images: `unpack` (flat rootfs, like `umoci unpack`),
//! `create` (overlay of store layers + the bundle's own upper/work dirs) and
//! `remove`. A failed unpack or create removes everything it made, so a
//! bundle is either complete or absent.

use std::path::{Path, PathBuf};

use super::bundle::{write_config, ConfigOptions};
use super::layer::apply_image_layer;
use super::overlay::{is_mountpoint, mount_overlay, unmount};
use super::progress::Progress;
use super::store::{read_json, BundleRecord, Store};
use super::{ApplyMode, Error, Image, Result};

/// The marker every imgtool bundle carries.
pub const MARKER: &str = ".imgtool.json";

/// Undoes a half-made bundle unless committed.
struct BundleGuard {
    bundle: PathBuf,
    created_dir: bool,
    made: Vec<PathBuf>,
    mounted: Option<PathBuf>,
    committed: bool,
}

impl BundleGuard {
    /// Use `bundle`: it must be absent or an empty directory.
    fn prepare(bundle: &Path) -> Result<Self> {
        let created_dir = match std::fs::read_dir(bundle) {
            Ok(mut rd) => {
                if rd.next().is_some() {
                    return Err(Error::BundleExists(bundle.to_path_buf()));
                }
                false
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(bundle).map_err(|e| Error::io("create bundle", bundle, e))?;
                true
            }
            Err(e) => return Err(Error::io("open bundle", bundle, e)),
        };
        Ok(BundleGuard { bundle: bundle.to_path_buf(), created_dir, made: Vec::new(), mounted: None, committed: false })
    }

    fn mkdir(&mut self, rel: &str, mode: u32) -> Result<PathBuf> {
        use std::os::unix::fs::DirBuilderExt;
        let p = self.bundle.join(rel);
        std::fs::DirBuilder::new().recursive(true).mode(mode).create(&p).map_err(|e| Error::io("create", &p, e))?;
        if let Some(first) = Path::new(rel).components().next() {
            let top = self.bundle.join(first);
            if !self.made.contains(&top) {
                self.made.push(top);
            }
        }
        Ok(p)
    }
}

impl Drop for BundleGuard {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if let Some(m) = self.mounted.take() {
            let _ = unmount(&m, true);
            if is_mountpoint(&m).unwrap_or(true) {
                return; // never delete through a mount
            }
        }
        if self.created_dir {
            let _ = std::fs::remove_dir_all(&self.bundle);
        } else {
            for p in self.made.iter().chain([&self.bundle.join("config.json"), &self.bundle.join(MARKER)]) {
                let _ = if p.is_dir() { std::fs::remove_dir_all(p) } else { std::fs::remove_file(p) };
            }
        }
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io("resolve", p, e))
}

fn write_marker(bundle: &Path, rec: &BundleRecord) -> Result<()> {
    let p = bundle.join(MARKER);
    let data =
        serde_json::to_vec_pretty(rec).map_err(|source| Error::Json { what: p.display().to_string(), source })?;
    std::fs::write(&p, data).map_err(|e| Error::io("write", &p, e))
}

/// A flat bundle: every layer applied in order onto `bundle/rootfs`.
pub fn unpack_bundle(img: &Image, bundle: &Path, opts: &ConfigOptions, progress: &Progress) -> Result<()> {
    let bundle = absolute(bundle)?;
    let mut g = BundleGuard::prepare(&bundle)?;
    let rootfs = g.mkdir("rootfs", 0o755)?;
    for (i, l) in img.layers.iter().enumerate() {
        apply_image_layer(&img.source, l, &rootfs, ApplyMode::Flat, progress.counter(i))?;
    }
    write_config(&img.config, &bundle, &rootfs, opts)?;
    let rec = BundleRecord {
        bundle: bundle.clone(),
        store: PathBuf::new(),
        image: img.name.clone(),
        config_digest: img.config_digest.to_string(),
        layers: Vec::new(),
    };
    write_marker(&bundle, &rec)?;
    g.committed = true;
    Ok(())
}

/// An overlay bundle over the store's copy of `img`'s layers.
pub fn create_bundle(
    store: &Store,
    img: &Image,
    bundle: &Path,
    opts: &ConfigOptions,
    progress: &Progress,
) -> Result<BundleRecord> {
    let bundle = absolute(bundle)?;
    let _lock = store.lock_shared()?;
    let mut g = BundleGuard::prepare(&bundle)?;
    let mut lowers = store.ensure_layers(img, progress)?;
    if lowers.is_empty() {
        lowers.push(g.mkdir(".overlay/empty", 0o755)?);
    }
    let upper = g.mkdir(".overlay/upper", 0o755)?;
    let work = g.mkdir(".overlay/work", 0o700)?;
    let rootfs = g.mkdir("rootfs", 0o755)?;
    mount_overlay(&lowers, &upper, &work, &rootfs)?;
    g.mounted = Some(rootfs.clone());
    write_config(&img.config, &bundle, &rootfs, opts)?;
    let rec = BundleRecord {
        bundle: bundle.clone(),
        store: store.root.clone(),
        image: img.name.clone(),
        config_digest: img.config_digest.to_string(),
        layers: img.layers.iter().map(|l| l.chain_id.digest().to_string()).collect(),
    };
    write_marker(&bundle, &rec)?;
    store.register_bundle(&rec)?;
    store.record_image(img)?;
    g.committed = true;
    Ok(rec)
}

/// Unmount and delete an imgtool bundle (and only it). `force` detaches a
/// busy mount lazily instead of failing.
pub fn remove_bundle(bundle: &Path, force: bool) -> Result<()> {
    let bundle = absolute(bundle)?;
    let Some(rec) = read_json::<BundleRecord>(&bundle.join(MARKER))? else {
        return Err(Error::NotBundle(bundle));
    };
    let rootfs = bundle.join("rootfs");
    if is_mountpoint(&rootfs)? {
        unmount(&rootfs, force)?;
    }
    if is_mountpoint(&rootfs)? {
        return Err(Error::StillMounted(bundle));
    }
    if !rec.store.as_os_str().is_empty() && rec.store.is_dir() {
        Store { root: rec.store.clone() }.unregister_bundle(&bundle)?;
    }
    std::fs::remove_dir_all(&bundle).map_err(|e| Error::io("remove bundle", &bundle, e))
}

#[cfg(test)]
#[path = "container_tests.rs"]
mod tests;
