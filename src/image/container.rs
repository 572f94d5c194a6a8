//! Making bundles from images: `unpack` (flat rootfs, like `umoci unpack`)
//! and `create` (overlay of store layers + the bundle's own upper/work dirs;
//! a flat copy where the caller may not mount). A failed unpack or create
//! removes everything it made, so a bundle is either complete or absent.
//! What happens to a bundle afterwards is in [`super::lifecycle`].

use std::path::{Path, PathBuf};

use super::budget::Budget;
use super::bundle::{write_config, ConfigOptions};
use super::fsops::remove_tree;
use super::layer::apply_image_layer;
use super::overlay::{can_mount, guard_mount_point, is_mountpoint, mount_overlay, unmount};
use super::progress::Progress;
use super::store::{BundleRecord, Store};
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
    /// Use `bundle`: it must be absent, or an empty directory that is the
    /// caller's and private. A new bundle directory is made 0700 (as umoci
    /// does): the rootfs holds the image's setuid files and device nodes,
    /// which no other host user may reach through it. An existing shared
    /// directory is refused rather than fixed, because a process of another
    /// user may already hold it open (a cwd inside keeps working after chmod).
    fn prepare(bundle: &Path) -> Result<Self> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        let created_dir = match std::fs::metadata(bundle) {
            Ok(md) => {
                if !md.is_dir() {
                    return Err(Error::BundleExists(bundle.to_path_buf()));
                }
                if md.uid() != nix::unistd::geteuid().as_raw() {
                    return Err(Error::BundleNotOwned { bundle: bundle.to_path_buf(), owner: md.uid() });
                }
                if md.mode() & 0o077 != 0 {
                    return Err(Error::BundleShared { bundle: bundle.to_path_buf(), mode: md.mode() & 0o7777 });
                }
                let mut rd = std::fs::read_dir(bundle).map_err(|e| Error::io("open bundle", bundle, e))?;
                if rd.next().is_some() {
                    return Err(Error::BundleExists(bundle.to_path_buf()));
                }
                false
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = bundle.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
                }
                // Not recursive: a directory that appears meanwhile is not ours.
                std::fs::DirBuilder::new().mode(0o700).create(bundle).map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => Error::BundleExists(bundle.to_path_buf()),
                    _ => Error::io("create bundle", bundle, e),
                })?;
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
            let _ = remove_tree(&self.bundle);
        } else {
            for p in self.made.iter().chain([&self.bundle.join("config.json"), &self.bundle.join(MARKER)]) {
                let _ = if p.is_dir() {
                    remove_tree(p)
                } else {
                    std::fs::remove_file(p).map_err(|e| Error::io("remove", p, e))
                };
            }
        }
    }
}

pub(crate) fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io("resolve", p, e))
}

fn write_marker(bundle: &Path, rec: &BundleRecord) -> Result<()> {
    let p = bundle.join(MARKER);
    let data =
        serde_json::to_vec_pretty(rec).map_err(|source| Error::Json { what: p.display().to_string(), source })?;
    std::fs::write(&p, data).map_err(|e| Error::io("write", &p, e))
}

fn apply_flat(img: &Image, rootfs: &Path, progress: &Progress, budget: &Budget) -> Result<()> {
    for (i, l) in img.layers.iter().enumerate() {
        apply_image_layer(&img.source, l, rootfs, ApplyMode::Flat, progress.counter(i), budget)?;
    }
    Ok(())
}

/// A flat bundle: every layer applied in order onto `bundle/rootfs`.
pub fn unpack_bundle(
    img: &Image,
    bundle: &Path,
    opts: &ConfigOptions,
    progress: &Progress,
    budget: &Budget,
) -> Result<BundleRecord> {
    let bundle = absolute(bundle)?;
    let mut g = BundleGuard::prepare(&bundle)?;
    let rootfs = g.mkdir("rootfs", 0o755)?;
    apply_flat(img, &rootfs, progress, budget)?;
    write_config(&img.config, &bundle, &rootfs, opts)?;
    let rec = BundleRecord {
        bundle: bundle.clone(),
        store: PathBuf::new(),
        image: img.name.clone(),
        config_digest: img.config_digest.to_string(),
        layers: Vec::new(),
        flat: true,
    };
    write_marker(&bundle, &rec)?;
    g.committed = true;
    Ok(rec)
}

/// An overlay bundle over the store's copy of `img`'s layers; where the
/// caller may not mount (rootless outside a user namespace of its own), a
/// flat copy instead (`flat` in the returned record).
pub fn create_bundle(
    store: &Store,
    img: &Image,
    bundle: &Path,
    opts: &ConfigOptions,
    progress: &Progress,
    budget: &Budget,
) -> Result<BundleRecord> {
    let bundle = absolute(bundle)?;
    let _lock = store.lock_shared()?;
    let mut g = BundleGuard::prepare(&bundle)?;
    let rootfs = g.mkdir("rootfs", 0o755)?;
    let flat = !can_mount(&rootfs)?;
    if flat {
        apply_flat(img, &rootfs, progress, budget)?;
    } else {
        let mut lowers = store.ensure_layers(img, progress, budget)?;
        if lowers.is_empty() {
            lowers.push(g.mkdir(".overlay/empty", 0o755)?);
        }
        let upper = g.mkdir(".overlay/upper", 0o755)?;
        let work = g.mkdir(".overlay/work", 0o700)?;
        guard_mount_point(&rootfs)?;
        mount_overlay(&lowers, &upper, &work, &rootfs, store.userxattr)?;
        g.mounted = Some(rootfs.clone());
    }
    write_config(&img.config, &bundle, &rootfs, opts)?;
    let rec = BundleRecord {
        bundle: bundle.clone(),
        store: store.root.clone(),
        image: img.name.clone(),
        config_digest: img.config_digest.to_string(),
        layers: if flat { Vec::new() } else { img.layers.iter().map(|l| l.chain_id.digest().to_string()).collect() },
        flat,
    };
    write_marker(&bundle, &rec)?;
    store.register_bundle(&rec)?;
    if !flat {
        store.record_image(img)?;
    }
    g.committed = true;
    Ok(rec)
}

#[cfg(test)]
#[path = "container_tests.rs"]
mod tests;
