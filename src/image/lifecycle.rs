//! A bundle after it is made: `mount` brings an overlay bundle's rootfs back
//! after a reboot or an unmount, `remove` deletes a bundle unless a
//! container uses it, and [`BundleStatus`] says for `list` whether each is
//! mounted and in use. Use is found by [`super::usage`], whatever runtime
//! runs the bundle.

use std::path::{Path, PathBuf};

use super::container::{absolute, MARKER};
use super::fsops::remove_tree;
use super::overlay::{can_mount, guard_mount_point, is_mountpoint, mount_overlay, unmount};
use super::store::{read_json, BundleRecord, Store};
use super::usage::{describe, Usage, User};
use super::{Error, Result};

/// The bundle's own record (`.imgtool.json`).
pub fn read_record(bundle: &Path) -> Result<BundleRecord> {
    read_json::<BundleRecord>(&bundle.join(MARKER))?.ok_or_else(|| Error::NotBundle(bundle.to_path_buf()))
}

fn upper_of(rec: &BundleRecord) -> Option<PathBuf> {
    rec.is_overlay().then(|| rec.bundle.join(".overlay/upper"))
}

/// What `mount` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mounted {
    /// The overlay was mounted now.
    Now,
    /// It was mounted already.
    Already,
    /// A flat bundle: its rootfs is a directory, nothing to mount.
    Flat,
}

/// Mount an overlay bundle's rootfs again from its record: the layers must
/// still be in the store (a bundle's record keeps `gc` from deleting them).
pub fn mount_bundle(bundle: &Path) -> Result<Mounted> {
    let bundle = absolute(bundle)?;
    let rec = read_record(&bundle)?;
    if !rec.is_overlay() {
        return Ok(Mounted::Flat);
    }
    let rootfs = bundle.join("rootfs");
    if is_mountpoint(&rootfs)? {
        return Ok(Mounted::Already);
    }
    let store = Store::existing(&rec.store)?;
    let _lock = store.lock_shared()?;
    let mut lowers = Vec::with_capacity(rec.layers.len());
    for hex in &rec.layers {
        if !store.has_layer(hex) {
            return Err(Error::LayerMissing { bundle, layer: hex.clone(), store: store.root });
        }
        lowers.push(store.layer_dir(hex).join("diff"));
    }
    if lowers.is_empty() {
        lowers.push(bundle.join(".overlay/empty"));
    }
    // Bundles from before the guard existed get it now.
    guard_mount_point(&rootfs)?;
    if !can_mount(&rootfs)? {
        return Err(Error::MountDenied { bundle });
    }
    let (upper, work) = (bundle.join(".overlay/upper"), bundle.join(".overlay/work"));
    mount_overlay(&lowers, &upper, &work, &rootfs, store.userxattr)?;
    Ok(Mounted::Now)
}

/// Unmount and delete an imgtool bundle (and only it), unless a container
/// uses it. `force` deletes it anyway (a busy rootfs is detached lazily; the
/// container loses its writable layer).
pub fn remove_bundle(bundle: &Path, force: bool) -> Result<()> {
    let bundle = absolute(bundle)?;
    let rec = read_record(&bundle)?;
    let rootfs = bundle.join("rootfs");
    let users = Usage::scan().bundle_users(&rootfs, upper_of(&rec).as_deref());
    if !users.is_empty() && !force {
        return Err(Error::InUse { op: "remove bundle", path: bundle, by: describe(&users) });
    }
    if is_mountpoint(&rootfs)? {
        unmount(&rootfs, force)?;
    }
    if is_mountpoint(&rootfs)? {
        return Err(Error::StillMounted(bundle));
    }
    if !rec.store.as_os_str().is_empty() && rec.store.is_dir() {
        Store::existing(&rec.store)?.unregister_bundle(&bundle)?;
    }
    remove_tree(&bundle)
}

/// A bundle as `list` shows it.
#[derive(Debug, Clone)]
pub struct BundleStatus {
    pub record: BundleRecord,
    /// The overlay is mounted on `rootfs` (always true of a flat bundle).
    pub mounted: bool,
    pub users: Vec<User>,
}

/// The status of each of `records`.
pub fn statuses(records: Vec<BundleRecord>, usage: &Usage) -> Result<Vec<BundleStatus>> {
    records
        .into_iter()
        .map(|record| {
            let rootfs = record.bundle.join("rootfs");
            let mounted = !record.is_overlay() || is_mountpoint(&rootfs)?;
            let users = usage.bundle_users(&rootfs, upper_of(&record).as_deref());
            Ok(BundleStatus { record, mounted, users })
        })
        .collect()
}
