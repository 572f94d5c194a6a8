//! Resolving a reference to one image: the layout's `index.json`, tags
//! (`org.opencontainers.image.ref.name`), nested indexes, platform selection,
//! then the manifest and config, every blob verified. The result, [`Image`],
//! lists the layers with their diff_ids and chain IDs, ready to apply.

use std::collections::BTreeSet;
use std::sync::Arc;

use oci_spec::image::{Descriptor, Digest, ImageConfiguration, ImageIndex, ImageManifest, MediaType};

use super::blob::{parse_digest, read_verified, sha256_of};
use super::layer::Compression;
use super::platform::{self, Platform};
use super::reference::{ImageRef, Selector, Transport};
use super::source::Source;
use super::tarindex::TarIndex;
use super::{docker, Error, Result};

pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
const MAX_DEPTH: usize = 8;

pub(crate) const INDEX_TYPES: [&str; 2] =
    ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
pub(crate) const MANIFEST_TYPES: [&str; 2] =
    ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];

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

pub(crate) fn open_source(r: &ImageRef) -> Result<(Source, Transport)> {
    let path = &r.path;
    let meta = std::fs::metadata(path).map_err(|e| super::Error::io("open image", path, e))?;
    if meta.is_dir() {
        return Ok((Source::Dir(path.clone()), Transport::Oci));
    }
    let idx = TarIndex::build(path)?;
    let transport = match r.transport {
        Transport::Auto if idx.contains("index.json") => Transport::OciArchive,
        Transport::Auto if idx.contains("manifest.json") => Transport::DockerArchive,
        Transport::Auto => {
            return Err(Error::Reference {
                reference: r.to_string(),
                reason: "neither an OCI layout nor a docker archive".into(),
            })
        }
        t => t,
    };
    Ok((Source::Tar(idx), transport))
}

/// Resolve `r` for platform `want`. `explicit` says the user asked for the
/// platform, so a single-manifest image of another platform is an error.
pub fn open_image(r: &ImageRef, want: &Platform, explicit: bool) -> Result<Image> {
    let (source, transport) = open_source(r)?;
    let source = Arc::new(source);
    let name = r.to_string();
    match transport {
        Transport::DockerArchive => docker::open(source, &r.selector, &name),
        _ => open_oci(source, &r.selector, &name, want, explicit),
    }
}

pub(crate) fn read_blob(src: &Source, d: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
    let (r, _) = src.open_blob(d)?;
    read_verified(r, Some(d), size, d.as_ref())
}

fn is_index(desc: &Descriptor, body: Option<&[u8]>) -> bool {
    let mt = desc.media_type().to_string();
    if INDEX_TYPES.contains(&mt.as_str()) {
        return true;
    }
    if MANIFEST_TYPES.contains(&mt.as_str()) {
        return false;
    }
    body.and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok()).is_some_and(|v| v.get("manifests").is_some())
}

/// The most descriptors a walk reads from nested indexes. index.json itself
/// is bounded by the blob size cap; this bounds what it fans out to.
pub(crate) const MAX_DESCRIPTORS: usize = 10_000;

/// A walk over nested indexes: each digest is taken once (a hostile index
/// listing the same child index many times, at every level, would otherwise
/// cost `fan-out ^ depth` reads; a repeated manifest is one candidate), and
/// the descriptors seen in nested indexes are capped.
pub(crate) struct Walk<'a> {
    src: &'a Source,
    seen: std::collections::HashSet<String>,
    descriptors: usize,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(src: &'a Source) -> Self {
        Walk { src, seen: std::collections::HashSet::new(), descriptors: 0 }
    }

    /// Start a new walk that shares this one's descriptor count.
    pub(crate) fn forget_seen(&mut self) {
        self.seen.clear();
    }

    /// Flatten `descs` into manifest candidates with their platforms,
    /// loading nested indexes (a nested index's platform applies to its
    /// children that have none).
    pub(crate) fn flatten(
        &mut self,
        descs: &[Descriptor],
        inherited: Option<Platform>,
        depth: usize,
        out: &mut Vec<(Descriptor, Option<Platform>)>,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Error::TooDeep(MAX_DEPTH));
        }
        if depth > 0 {
            self.descriptors += descs.len();
            if self.descriptors > MAX_DESCRIPTORS {
                return Err(Error::TooManyDescriptors(MAX_DESCRIPTORS));
            }
        }
        for d in descs {
            let plat = d.platform().as_ref().map(Platform::from_oci).or_else(|| inherited.clone());
            let mt = d.media_type().to_string();
            if INDEX_TYPES.contains(&mt.as_str()) {
                if !self.seen.insert(d.digest().to_string()) {
                    continue; // walked already: its manifests are in `out`
                }
                let body = read_blob(self.src, d.digest(), Some(d.size()))?;
                let idx = parse_index(&body, d.digest().as_ref())?;
                self.flatten(idx.manifests(), plat, depth + 1, out)?;
            } else if MANIFEST_TYPES.contains(&mt.as_str()) && self.seen.insert(d.digest().to_string()) {
                out.push((d.clone(), plat));
            }
            // Anything else (attestations, artifacts) is not an image: skipped.
        }
        Ok(())
    }
}

/// The layout's `index.json`.
pub(crate) fn read_top_index(src: &Source) -> Result<ImageIndex> {
    let (r, size) = src.open("index.json")?.ok_or_else(|| Error::MissingBlob(format!("{}/index.json", src.name())))?;
    let body = read_verified(r, None, Some(size), &format!("{}/index.json", src.name()))?;
    parse_index(&body, "index.json")
}

pub(crate) fn parse_index(body: &[u8], what: &str) -> Result<ImageIndex> {
    ImageIndex::from_reader(body).map_err(|source| Error::Oci { what: format!("index `{what}`"), source })
}

fn list<I: IntoIterator<Item = String>>(items: I) -> String {
    let v: Vec<String> = items.into_iter().collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn open_oci(src: Arc<Source>, sel: &Selector, name: &str, want: &Platform, explicit: bool) -> Result<Image> {
    let top = read_top_index(&src)?;
    let tag_of = |d: &Descriptor| d.annotations().as_ref().and_then(|a| a.get(REF_NAME).cloned());
    let tags: BTreeSet<String> = top.manifests().iter().filter_map(tag_of).collect();

    let roots: Vec<Descriptor> = match sel {
        Selector::Digest(d) => {
            let body = read_blob(&src, d, None)?;
            let found = top.manifests().iter().find(|x| x.digest() == d).cloned();
            let desc = match found {
                Some(x) => x,
                None => {
                    let probe = Descriptor::new(MediaType::Other(String::new()), 0, d.clone());
                    let mt = if is_index(&probe, Some(&body)) { INDEX_TYPES[0] } else { MANIFEST_TYPES[0] };
                    Descriptor::new(MediaType::from(mt), body.len() as u64, d.clone())
                }
            };
            vec![desc]
        }
        Selector::Tag(t) => {
            let v: Vec<Descriptor> =
                top.manifests().iter().filter(|d| tag_of(d).as_deref() == Some(t)).cloned().collect();
            if v.is_empty() {
                return Err(Error::TagNotFound { tag: t.clone(), path: name.into(), available: list(tags) });
            }
            v
        }
        Selector::Default => {
            let latest: Vec<Descriptor> =
                top.manifests().iter().filter(|d| tag_of(d).as_deref() == Some("latest")).cloned().collect();
            if !latest.is_empty() {
                latest
            } else if tags.len() > 1 {
                return Err(Error::Ambiguous { path: name.into(), available: list(tags) });
            } else {
                top.manifests().clone()
            }
        }
    };

    let mut cands = Vec::new();
    Walk::new(&src).flatten(&roots, None, 0, &mut cands)?;
    let plats: Vec<Option<Platform>> = cands.iter().map(|(_, p)| p.clone()).collect();
    let available = || list(plats.iter().map(|p| p.as_ref().map_or("unknown".into(), Platform::to_string)));
    let pick = if cands.len() == 1 && plats[0].is_none() { Some(0) } else { platform::select(&plats, want) };
    let Some(i) = pick else {
        return Err(Error::NoPlatform { wanted: want.to_string(), path: name.into(), available: available() });
    };
    let (mdesc, _) = &cands[i];
    let mbody = read_blob(&src, mdesc.digest(), Some(mdesc.size()))?;
    let manifest = ImageManifest::from_reader(&mbody[..])
        .map_err(|source| Error::Oci { what: format!("manifest `{}`", mdesc.digest()), source })?;
    let cdesc = manifest.config();
    let cbody = read_blob(&src, cdesc.digest(), Some(cdesc.size()))?;
    let config = parse_config(&cbody, cdesc.digest().as_ref())?;

    let cplat = Platform {
        os: config.os().to_string(),
        arch: config.architecture().to_string(),
        variant: config.variant().clone(),
    };
    if explicit && cands.len() == 1 && platform::select(&[Some(cplat.clone())], want).is_none() {
        return Err(Error::NoPlatform { wanted: want.to_string(), path: name.into(), available: cplat.to_string() });
    }

    let descs: Vec<(String, Option<Digest>, Option<u64>, String)> = manifest
        .layers()
        .iter()
        .map(|l| (Source::blob_path(l.digest()), Some(l.digest().clone()), Some(l.size()), l.media_type().to_string()))
        .collect();
    let layers = build_layers(&config, descs, name)?;
    Ok(Image {
        source: src,
        name: name.into(),
        manifest_digest: Some(mdesc.digest().clone()),
        config_digest: cdesc.digest().clone(),
        config,
        layers,
    })
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

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
