//! The layer store: each layer unpacked once into `layers/<chain-hex>/diff`
//! (overlay style, whiteouts as char 0/0), shared read-only by every bundle.
//!
//! Concurrency: a layer is unpacked into `tmp/` and renamed into place, so a
//! reader never sees half a layer; a per-layer `flock` keeps two processes
//! from doing the same work, and if both do anyway the rename loser deletes
//! its copy. Users of layers (create) hold the store lock shared, `gc` holds
//! it exclusive, so gc never deletes a layer a bundle is being made from.
//! Bundles are recorded in `bundles/` so `gc` and `list` know who uses what;
//! `gc` also keeps layers that a mount reads (a running container whose
//! bundle is gone), see [`super::usage`].
//!
//! A store made by root marks opaque directories with `trusted.overlay.*`
//! xattrs; one made rootless uses `user.overlay.*` and is mounted with
//! `userxattr` (as overlayfs requires in a user namespace). `store.json`
//! records which.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::blob::sha256_of;
use super::budget::Budget;
use super::fsops::remove_tree;
use super::layer::apply_image_layer;
use super::progress::Progress;
use super::usage::{describe, Usage};
use super::{ApplyMode, Error, Image, LayerDesc, Result};

/// The default store location of root.
pub const DEFAULT_STORE: &str = "/var/lib/berth/imgtool";

/// The store used without `--store`: root's, or for a rootless caller
/// `$XDG_DATA_HOME/berth/imgtool` (`~/.local/share/berth/imgtool`).
pub fn default_store() -> PathBuf {
    if !super::rootless::is_rootless() {
        return PathBuf::from(DEFAULT_STORE);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".local/share")));
    match data {
        Some(d) => d.join("berth/imgtool"),
        None => PathBuf::from(DEFAULT_STORE),
    }
}

/// `layers/<hex>/layer.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerInfo {
    pub chain_id: String,
    pub diff_id: String,
    pub size: u64,
    pub entries: u64,
}

/// `bundles/<id>.json` and the bundle's own `.imgtool.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BundleRecord {
    pub bundle: PathBuf,
    /// Empty for `unpack` bundles, which use no store.
    pub store: PathBuf,
    pub image: String,
    pub config_digest: String,
    /// Chain IDs (hex), bottom layer first.
    pub layers: Vec<String>,
    /// The rootfs is a flat copy (`unpack`, or `create` where overlay
    /// mounts are not permitted), not an overlay of the layers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flat: bool,
}

impl BundleRecord {
    /// The rootfs is an overlay of store layers (and can be mounted).
    pub fn is_overlay(&self) -> bool {
        !self.flat && !self.store.as_os_str().is_empty()
    }
}

/// `store.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoreConfig {
    /// `trusted` or `user`: the xattr namespace of the layers' overlay metadata.
    #[serde(rename = "overlayXattrs")]
    overlay_xattrs: String,
}

/// `images/<config-hex>.json`: what was made from which image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRecord {
    pub names: BTreeSet<String>,
    pub config_digest: String,
    pub layers: Vec<String>,
}

/// A held store lock (released on drop).
pub struct StoreLock {
    _lock: Flock<File>,
}

/// What `gc` removed, and what it kept because something uses it.
#[derive(Debug, Default, Clone, Serialize)]
pub struct GcReport {
    pub layers: Vec<String>,
    pub bytes: u64,
    pub stale_bundles: Vec<PathBuf>,
    /// (layer hex, who uses it) for unrecorded layers a mount still reads.
    pub kept: Vec<(String, String)>,
}

/// A layer store rooted at a directory.
#[derive(Debug, Clone)]
pub struct Store {
    pub root: PathBuf,
    /// Overlay metadata in `user.overlay.*` (mount with `userxattr`).
    pub userxattr: bool,
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let data =
        serde_json::to_vec_pretty(v).map_err(|source| Error::Json { what: path.display().to_string(), source })?;
    crate::atomic_file::write(path, &data, 0o644).map_err(|e| Error::io("write", path, e))
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|source| Error::Json { what: path.display().to_string(), source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}.{}.{}.{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

impl Store {
    /// Open (creating) the store at `root`. A new store's overlay xattrs
    /// are `user.` when imgtool runs rootless, else `trusted.`; a rootless
    /// caller cannot use a `trusted.` store.
    pub fn open(root: &Path) -> Result<Store> {
        for d in ["layers", "tmp", "bundles", "images"] {
            let p = root.join(d);
            std::fs::create_dir_all(&p).map_err(|e| Error::io("create store directory", &p, e))?;
        }
        // Layers hold the image's setuid files and devices: keep other users out.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("restrict", root, e))?;
        let rootless = super::rootless::is_rootless();
        let cfg_path = root.join("store.json");
        let userxattr = match read_json::<StoreConfig>(&cfg_path)? {
            Some(c) => c.overlay_xattrs == "user",
            None => {
                // A store from before store.json holds trusted.* layers.
                let legacy = std::fs::read_dir(root.join("layers")).is_ok_and(|mut d| d.next().is_some());
                let user = rootless && !legacy;
                let c = StoreConfig { overlay_xattrs: if user { "user" } else { "trusted" }.into() };
                write_json(&cfg_path, &c)?;
                user
            }
        };
        if rootless && !userxattr {
            return Err(Error::StoreKind { store: root.to_path_buf() });
        }
        Ok(Store { root: root.to_path_buf(), userxattr })
    }

    /// The store of an existing bundle record, without creating anything.
    pub fn existing(root: &Path) -> Result<Store> {
        let userxattr = read_json::<StoreConfig>(&root.join("store.json"))?.is_some_and(|c| c.overlay_xattrs == "user");
        Ok(Store { root: root.to_path_buf(), userxattr })
    }

    /// How this store's layers are applied.
    pub fn apply_mode(&self) -> ApplyMode {
        ApplyMode::Overlay { userxattr: self.userxattr }
    }

    fn lock(&self, arg: FlockArg) -> Result<StoreLock> {
        let p = self.root.join("lock");
        let f = File::options().create(true).append(true).open(&p).map_err(|e| Error::io("open", &p, e))?;
        let lock = Flock::lock(f, arg).map_err(|(_, e)| Error::sys("lock", &p, e))?;
        Ok(StoreLock { _lock: lock })
    }

    /// Held while layers are in use being set up (create).
    pub fn lock_shared(&self) -> Result<StoreLock> {
        self.lock(FlockArg::LockShared)
    }

    /// Held by gc.
    pub fn lock_exclusive(&self) -> Result<StoreLock> {
        self.lock(FlockArg::LockExclusive)
    }

    /// `layers/<hex>` for a chain ID.
    pub fn layer_dir(&self, chain_id: &str) -> PathBuf {
        let hex = chain_id.rsplit(':').next().unwrap_or(chain_id);
        self.root.join("layers").join(hex)
    }

    /// Is this layer in the store?
    pub fn has_layer(&self, chain_id: &str) -> bool {
        self.layer_dir(chain_id).join("layer.json").is_file()
    }

    /// Make sure every layer of `img` is in the store (missing ones are
    /// unpacked in parallel); returns their `diff` dirs, bottom first.
    pub fn ensure_layers(&self, img: &Image, progress: &Progress, budget: &Budget) -> Result<Vec<PathBuf>> {
        let missing: Vec<usize> =
            (0..img.layers.len()).filter(|&i| !self.has_layer(img.layers[i].chain_id.as_ref())).collect();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(missing.len()).min(4);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    while !failed.load(Ordering::Relaxed) {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = missing.get(k) else { break };
                        if let Err(e) = self.unpack_layer(img, &img.layers[i], progress.counter(i), budget) {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut g) = first_error.lock() {
                                g.get_or_insert(e);
                            }
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().map_err(|_| Error::Thread)? {
            return Err(e);
        }
        Ok(img.layers.iter().map(|l| self.layer_dir(l.chain_id.as_ref()).join("diff")).collect())
    }

    fn unpack_layer(
        &self,
        img: &Image,
        layer: &LayerDesc,
        counter: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
        budget: &Budget,
    ) -> Result<()> {
        let chain = layer.chain_id.to_string();
        let hex = layer.chain_id.digest().to_string();
        // One unpacker per layer at a time; the loser of the lock finds it done.
        let lock_path = self.root.join("tmp").join(format!("{hex}.lock"));
        let f =
            File::options().create(true).append(true).open(&lock_path).map_err(|e| Error::io("open", &lock_path, e))?;
        let _lock = Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| Error::sys("lock", &lock_path, e))?;
        if self.has_layer(&chain) {
            return Ok(());
        }
        let tmp = self.root.join("tmp").join(unique(&hex));
        let result = (|| {
            let diff = tmp.join("diff");
            std::fs::create_dir_all(&diff).map_err(|e| Error::io("create", &diff, e))?;
            let stats = apply_image_layer(&img.source, layer, &diff, self.apply_mode(), counter, budget)?;
            let info = LayerInfo {
                chain_id: chain.clone(),
                diff_id: layer.diff_id.to_string(),
                size: stats.bytes,
                entries: stats.entries,
            };
            write_json(&tmp.join("layer.json"), &info)?;
            let dst = self.layer_dir(&chain);
            match std::fs::rename(&tmp, &dst) {
                Ok(()) => Ok(()),
                // Someone else stored it first (without our lock: an older
                // store or a crashed holder); theirs is as good as ours.
                Err(e) if dst.join("layer.json").is_file() => {
                    let _ = e;
                    remove_tree(&tmp)
                }
                Err(e) => Err(Error::io("rename layer to", &dst, e)),
            }
        })();
        if result.is_err() {
            let _ = remove_tree(&tmp);
        }
        result.map_err(|e| match e {
            e @ Error::Layer { .. } => e,
            e => Error::Layer { layer: chain, source: Box::new(e) },
        })
    }

    /// Remember that `img` was used (for `list`).
    pub fn record_image(&self, img: &Image) -> Result<()> {
        let p = self.root.join("images").join(format!("{}.json", img.config_digest.digest()));
        let mut rec = read_json::<ImageRecord>(&p)?.unwrap_or(ImageRecord {
            names: BTreeSet::new(),
            config_digest: img.config_digest.to_string(),
            layers: img.layers.iter().map(|l| l.chain_id.digest().to_string()).collect(),
        });
        rec.names.insert(img.name.clone());
        write_json(&p, &rec)
    }

    fn record_path(&self, bundle: &Path) -> PathBuf {
        let id = sha256_of(bundle.as_os_str().as_encoded_bytes());
        self.root.join("bundles").join(format!("{}.json", &id[7..23]))
    }

    pub fn register_bundle(&self, rec: &BundleRecord) -> Result<()> {
        write_json(&self.record_path(&rec.bundle), rec)
    }

    pub fn unregister_bundle(&self, bundle: &Path) -> Result<()> {
        let p = self.record_path(bundle);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", &p, e)),
            _ => Ok(()),
        }
    }

    /// Registered bundles that still exist, and those that are gone.
    pub fn bundles(&self) -> Result<(Vec<BundleRecord>, Vec<PathBuf>)> {
        let (mut live, mut stale) = (Vec::new(), Vec::new());
        for p in self.list_json("bundles")? {
            let Some(rec) = read_json::<BundleRecord>(&p)? else { continue };
            let own = read_json::<BundleRecord>(&rec.bundle.join(".imgtool.json")).ok().flatten();
            if own.as_ref() == Some(&rec) {
                live.push(rec);
            } else {
                stale.push(p);
            }
        }
        Ok((live, stale))
    }

    fn list_json(&self, sub: &str) -> Result<Vec<PathBuf>> {
        let dir = self.root.join(sub);
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
        let mut out: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Stored layers: hex -> info.
    pub fn layers(&self) -> Result<BTreeMap<String, LayerInfo>> {
        let dir = self.root.join("layers");
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
        let mut out = BTreeMap::new();
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(info) = read_json::<LayerInfo>(&e.path().join("layer.json"))? {
                out.insert(name, info);
            }
        }
        Ok(out)
    }

    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        self.list_json("images")?.iter().filter_map(|p| read_json::<ImageRecord>(p).transpose()).collect()
    }

    /// Delete layers no live bundle uses, stale bundle records, leftovers in
    /// `tmp/`, and image records whose layers are gone. A layer that no
    /// record names but a mount still reads (a container whose bundle was
    /// removed with `--force`) is kept, unless `force`.
    pub fn gc(&self, force: bool) -> Result<GcReport> {
        let _lock = self.lock_exclusive()?;
        let usage = Usage::scan();
        let mut report = GcReport::default();
        let (live, stale) = self.bundles()?;
        for p in stale {
            if let Some(rec) = read_json::<BundleRecord>(&p)? {
                report.stale_bundles.push(rec.bundle);
            }
            let _ = std::fs::remove_file(&p);
        }
        let used: BTreeSet<String> = live.iter().flat_map(|b| b.layers.iter().cloned()).collect();
        for (hex, info) in self.layers()? {
            if used.contains(&hex) {
                continue;
            }
            let users = usage.layer_users(&self.layer_dir(&hex).join("diff"));
            if !users.is_empty() && !force {
                report.kept.push((hex, describe(&users)));
                continue;
            }
            // Rename first so a half-deleted layer never looks stored.
            let dst = self.root.join("tmp").join(unique(&format!("gc-{hex}")));
            std::fs::rename(self.root.join("layers").join(&hex), &dst).map_err(|e| Error::io("move out", &dst, e))?;
            remove_tree(&dst)?;
            report.bytes += info.size;
            report.layers.push(hex);
        }
        let tmp = self.root.join("tmp");
        for e in std::fs::read_dir(&tmp).map_err(|e| Error::io("list", &tmp, e))?.flatten() {
            let p = e.path();
            if p.is_dir() {
                remove_tree(&p)?
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
        let stored = self.layers()?;
        for p in self.list_json("images")? {
            if let Some(rec) = read_json::<ImageRecord>(&p)? {
                if rec.layers.iter().any(|l| !stored.contains_key(l)) {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
