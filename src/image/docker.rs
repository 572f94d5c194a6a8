//! `docker save` archives: `manifest.json` lists, per image, the config file,
//! its `RepoTags` and the layer files. Layer files carry no digest in older
//! formats (their integrity rests on the config's diff_ids, checked as they
//! stream); config files named by their digest are verified against it.

use std::sync::Arc;

use oci_spec::image::{Digest, ImageConfiguration};
use serde::Deserialize;

use super::blob::{parse_digest, read_verified, sha256_of};
use super::model::{build_layers, parse_config, Image, TagInfo};
use super::platform::Platform;
use super::reference::Selector;
use super::source::Source;
use super::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// The digest a file's name claims (`blobs/sha256/HEX` or `HEX.json`/`HEX/layer.tar`).
fn digest_from_name(path: &str) -> Option<Digest> {
    let parts: Vec<&str> = path.split('/').collect();
    let hex = match parts.as_slice() {
        ["blobs", alg, hex] => return parse_digest(&format!("{alg}:{hex}")).ok(),
        [file] => file.strip_suffix(".json")?,
        _ => return None,
    };
    parse_digest(&format!("sha256:{hex}")).ok()
}

fn clean(p: &str) -> String {
    super::tarindex::clean_name(std::path::Path::new(p))
}

fn read_entries(src: &Source, name: &str) -> Result<Vec<Entry>> {
    let (r, size) = src.open("manifest.json")?.ok_or_else(|| Error::MissingBlob(format!("{name}/manifest.json")))?;
    let body = read_verified(r, None, Some(size), "manifest.json")?;
    serde_json::from_slice(&body).map_err(|source| Error::Json { what: format!("`manifest.json` of `{name}`"), source })
}

/// An entry's config, verified against the digest its file name claims.
fn read_config(src: &Source, entry: &Entry) -> Result<(Digest, ImageConfiguration)> {
    let cpath = clean(&entry.config);
    let cdigest = digest_from_name(&cpath);
    let (r, size) = src.open(&cpath)?.ok_or_else(|| Error::MissingBlob(cpath.clone()))?;
    let cbody = read_verified(r, cdigest.as_ref(), Some(size), &cpath)?;
    let config_digest = match cdigest {
        Some(d) => d,
        None => parse_digest(&sha256_of(&cbody))?,
    };
    Ok((config_digest, parse_config(&cbody, &cpath)?))
}

/// `imgtool tags` for a docker archive: each image's `RepoTags` (one row
/// per tag) with its config digest and platform.
pub fn tags(src: &Source, name: &str) -> Result<Vec<TagInfo>> {
    let mut out = Vec::new();
    for e in read_entries(src, name)? {
        let (digest, cfg) = read_config(src, &e)?;
        let platform = Platform::of_config(&cfg);
        let tags: Vec<Option<String>> = match e.repo_tags.as_deref() {
            Some(t) if !t.is_empty() => t.iter().cloned().map(Some).collect(),
            _ => vec![None],
        };
        for tag in tags {
            out.push(TagInfo { tag, digest: digest.to_string(), platforms: vec![platform.to_string()] });
        }
    }
    Ok(out)
}

/// Open the image `sel` picks from the docker archive in `src`.
pub fn open(src: Arc<Source>, sel: &Selector, name: &str) -> Result<Image> {
    let entries = read_entries(&src, name)?;
    let tags = || {
        let t: Vec<String> = entries.iter().flat_map(|e| e.repo_tags.clone().unwrap_or_default()).collect();
        if t.is_empty() {
            "none".to_string()
        } else {
            t.join(", ")
        }
    };
    let entry = match sel {
        Selector::Default if entries.len() == 1 => &entries[0],
        Selector::Default => return Err(Error::Ambiguous { path: name.into(), available: tags() }),
        Selector::Tag(t) => {
            let matches = |e: &&Entry| {
                e.repo_tags.iter().flatten().any(|rt| {
                    rt == t
                        || rt.strip_prefix("docker.io/library/") == Some(t)
                        || rt.rsplit_once(':').is_some_and(|(_, tag)| tag == t)
                })
            };
            entries.iter().find(matches).ok_or_else(|| Error::TagNotFound {
                tag: t.clone(),
                path: name.into(),
                available: tags(),
            })?
        }
        Selector::Digest(d) => entries
            .iter()
            .find(|e| digest_from_name(&clean(&e.config)).as_ref() == Some(d))
            .ok_or_else(|| Error::TagNotFound { tag: d.to_string(), path: name.into(), available: tags() })?,
    };
    let (config_digest, config) = read_config(&src, entry)?;
    let descs = entry
        .layers
        .iter()
        .map(|l| {
            let p = clean(l);
            let d = if p.starts_with("blobs/") { digest_from_name(&p) } else { None };
            (p, d, None, String::new())
        })
        .collect();
    let layers = build_layers(&config, descs, name)?;
    Ok(Image { source: src, name: name.into(), manifest_digest: None, config_digest, config, layers })
}
