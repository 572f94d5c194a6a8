//! The image model every reader produces and every consumer takes: an
//! [`Image`] is a config plus its layers ([`LayerDesc`]: where the blob is,
//! how it is compressed, its diff_id and chain ID) and the `Source` to
//! read them from. The OCI layout reader (`layout.rs`) and the docker
//! archive reader (`docker.rs`) both build it with `build_layers`; the
//! layer stream, the store and the bundle code read it. A new image format
//! is a new reader beside them, not an edit here.

use std::sync::Arc;

use oci_spec::image::{Digest, ImageConfiguration};
use serde::Serialize;

use super::blob::{parse_digest, sha256_of};
use super::source::Source;
use super::{Error, Result};

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    /// Unknown from metadata (docker-archive): sniff the magic bytes.
    Detect,
}

impl Compression {
    /// The compression a layer media type implies; unknown types are errors.
    pub fn for_media_type(mt: &str) -> Result<Self> {
        Ok(match mt {
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar" => Compression::None,
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Compression::Gzip,
            "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
            | "application/vnd.docker.image.rootfs.diff.tar.zstd" => Compression::Zstd,
            "" => Compression::Detect,
            other => return Err(Error::MediaType(other.to_string())),
        })
    }
}

/// One layer of a resolved image.
#[derive(Debug, Clone)]
pub struct LayerDesc {
    /// The file holding the blob inside the source.
    pub path: String,
    /// The blob's digest and size, when the format records them.
    pub digest: Option<Digest>,
    pub size: Option<u64>,
    pub media_type: String,
    pub compression: Compression,
    /// Digest of the uncompressed tar, from the config.
    pub diff_id: Digest,
    /// The chain ID naming this layer and all below it (the store key).
    pub chain_id: Digest,
}

/// A resolved image: config plus layers, and where to read their blobs.
#[derive(Debug, Clone)]
pub struct Image {
    pub source: Arc<Source>,
    pub name: String,
    pub manifest_digest: Option<Digest>,
    pub config_digest: Digest,
    pub config: ImageConfiguration,
    pub layers: Vec<LayerDesc>,
}

/// One entry of a layout's index (or one docker-archive image), as
/// `imgtool tags` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagInfo {
    /// `None` for an untagged entry.
    pub tag: Option<String>,
    /// The manifest or index digest (the config digest in a docker archive).
    pub digest: String,
    /// `os/arch[/variant]` of each image behind the entry; `unknown` where
    /// nothing says.
    pub platforms: Vec<String>,
}

/// Chain IDs per image-spec `config.md`: ChainID(L0) = DiffID(L0),
/// ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
pub fn chain_ids(diff_ids: &[Digest]) -> Result<Vec<Digest>> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => parse_digest(&sha256_of(format!("{prev} {d}").as_bytes()))?,
        };
        out.push(next);
    }
    Ok(out)
}

pub(crate) fn parse_config(body: &[u8], what: &str) -> Result<ImageConfiguration> {
    ImageConfiguration::from_reader(body).map_err(|source| Error::Oci { what: format!("config `{what}`"), source })
}

/// Pair layer blobs with the config's diff_ids and compute chain IDs.
pub(crate) fn build_layers(
    config: &ImageConfiguration,
    descs: Vec<(String, Option<Digest>, Option<u64>, String)>,
    name: &str,
) -> Result<Vec<LayerDesc>> {
    let diff_ids = config.rootfs().diff_ids().iter().map(|d| parse_digest(d)).collect::<Result<Vec<_>>>()?;
    if diff_ids.len() != descs.len() {
        return Err(Error::LayerCount { path: name.into(), layers: descs.len(), diff_ids: diff_ids.len() });
    }
    let chains = chain_ids(&diff_ids)?;
    descs
        .into_iter()
        .zip(diff_ids.into_iter().zip(chains))
        .map(|((path, digest, size, media_type), (diff_id, chain_id))| {
            let compression = Compression::for_media_type(&media_type)?;
            Ok(LayerDesc { path, digest, size, media_type, compression, diff_id, chain_id })
        })
        .collect()
}
