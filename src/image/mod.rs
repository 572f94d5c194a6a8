//! OCI images for imgtool: reading image layouts and archives, verifying every
//! blob as it streams, applying layers safely (flat for `unpack`, one directory
//! per layer for the overlay store), converting the image config into a
//! runtime `config.json`, and managing bundles made from the store.
//!
//! Map: `reference` (what the user typed) -> `open` (`open_image`: finds the
//! files with `source`, a directory or an indexed tar, and picks the reader)
//! -> `layout`/`docker` (the OCI layout and docker archive readers: index,
//! platform pick, manifest, config) -> `model` (the [`Image`] both readers
//! build: layers with diff_ids and chain IDs) -> `layer` (decompress +
//! verify) -> `apply` (tar entries onto a root, via `fsops` which resolves
//! every path inside the root) -> `store`/`overlay`/`container` (layers
//! once, overlay per bundle) and `bundle`/`user` (config.json).

mod apply;
mod blob;
pub mod budget;
pub mod bundle;
pub mod container;
mod docker;
mod error;
pub(crate) mod fsops;
pub mod inspect;
pub mod layer;
pub mod layout;
pub mod lifecycle;
pub mod model;
mod open;
pub mod overlay;
pub mod platform;
pub mod progress;
pub mod reference;
pub mod rootless;
mod source;
pub mod store;
pub mod tags;
mod tarindex;
#[cfg(test)]
pub(crate) mod testutil;
pub mod units;
pub mod usage;
pub mod user;

pub use apply::{apply_layer, ApplyMode, ApplyStats};
pub use error::{Error, Result};
pub use model::{Image, LayerDesc};
pub use open::open_image;
pub use platform::Platform;
pub use reference::ImageRef;
