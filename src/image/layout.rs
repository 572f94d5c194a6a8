//! The OCI image layout reader (a directory or an `oci-archive:` tar):
//! the layout's `index.json`, tags (`org.opencontainers.image.ref.name`),
//! nested indexes, platform selection, then the manifest and config, every
//! blob verified. The result is the model's [`Image`], whose layers carry
//! their diff_ids and chain IDs, ready to apply.

use std::collections::BTreeSet;
use std::sync::Arc;

use oci_spec::image::{Descriptor, Digest, ImageIndex, ImageManifest, MediaType};

use super::blob::read_verified;
use super::model::{build_layers, parse_config, Image};
use super::platform::{self, Platform};
use super::reference::Selector;
use super::source::{read_blob, Source};
use super::{Error, Result};

pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
const MAX_DEPTH: usize = 8;

pub(crate) const INDEX_TYPES: [&str; 2] =
    ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
pub(crate) const MANIFEST_TYPES: [&str; 2] =
    ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];

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

/// Open the image `sel` picks from the OCI layout in `src`, for platform
/// `want` (`explicit`: the user asked for it, so a single-manifest image of
/// another platform is an error).
pub(crate) fn open(src: Arc<Source>, sel: &Selector, name: &str, want: &Platform, explicit: bool) -> Result<Image> {
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

    let cplat = Platform::of_config(&config);
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

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
