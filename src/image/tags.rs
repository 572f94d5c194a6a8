//! `imgtool tags`: what a layout or archive holds, like `umoci ls`, with
//! the platforms behind each tag. An OCI layout's tags are the
//! `org.opencontainers.image.ref.name` annotations of `index.json`; an
//! entry that is an index lists the platforms of its manifests (walked with
//! the same once-per-digest, capped [`Walk`] that `open_image` uses), a
//! manifest without a platform in its descriptor gets its config's. A
//! docker archive's tags are its `RepoTags`.

use std::collections::HashMap;

use oci_spec::image::Descriptor;

use super::layout::{read_top_index, Walk, INDEX_TYPES, REF_NAME};
use super::model::parse_config;
pub use super::model::TagInfo;
use super::platform::Platform;
use super::reference::{ImageRef, Transport};
use super::source::{open_source, read_blob, Source};
use super::{docker, Result};

/// The tags of the layout or archive `r` names (its selector is ignored).
pub fn list_tags(r: &ImageRef) -> Result<Vec<TagInfo>> {
    let (src, transport) = open_source(r)?;
    if transport == Transport::DockerArchive {
        return docker::tags(&src, &r.path.display().to_string());
    }
    let top = read_top_index(&src)?;
    let mut walk = Walk::new(&src);
    let mut memo: HashMap<String, Vec<String>> = HashMap::new();
    let mut out = Vec::new();
    for d in top.manifests() {
        let digest = d.digest().to_string();
        let platforms = match memo.get(&digest) {
            Some(p) => p.clone(),
            None => {
                let p = platforms_of(&src, &mut walk, d)?;
                memo.insert(digest.clone(), p.clone());
                p
            }
        };
        let tag = d.annotations().as_ref().and_then(|a| a.get(REF_NAME).cloned());
        out.push(TagInfo { tag, digest, platforms });
    }
    Ok(out)
}

fn platforms_of(src: &Source, walk: &mut Walk<'_>, d: &Descriptor) -> Result<Vec<String>> {
    // Each top-level entry gets its own visited set; the descriptor cap
    // stays shared, so many entries cannot multiply the work either.
    walk.forget_seen();
    let mut cands = Vec::new();
    walk.flatten(std::slice::from_ref(d), None, 0, &mut cands)?;
    let top_is_index = INDEX_TYPES.contains(&d.media_type().to_string().as_str());
    cands
        .iter()
        .map(|(m, p)| match p {
            Some(p) => Ok(p.to_string()),
            None if !top_is_index => config_platform(src, m),
            None => Ok("unknown".to_string()),
        })
        .collect()
}

/// The platform a manifest's config names.
fn config_platform(src: &Source, m: &Descriptor) -> Result<String> {
    let body = read_blob(src, m.digest(), Some(m.size()))?;
    let manifest = oci_spec::image::ImageManifest::from_reader(&body[..])
        .map_err(|source| super::Error::Oci { what: format!("manifest `{}`", m.digest()), source })?;
    let c = manifest.config();
    let cfg = parse_config(&read_blob(src, c.digest(), Some(c.size()))?, c.digest().as_ref())?;
    Ok(Platform::of_config(&cfg).to_string())
}

/// Text for `imgtool tags`: one line per entry.
pub fn render(tags: &[TagInfo]) -> String {
    let short = |d: &str| d.split_once(':').map_or(d.to_string(), |(a, h)| format!("{a}:{}", &h[..h.len().min(12)]));
    let width = tags.iter().filter_map(|t| t.tag.as_ref().map(String::len)).max().unwrap_or(0).max(6);
    let mut out = format!("{:<width$}  {:<19}  PLATFORMS\n", "TAG", "DIGEST");
    for t in tags {
        let p = if t.platforms.is_empty() { "-".to_string() } else { t.platforms.join(", ") };
        out.push_str(&format!("{:<width$}  {:<19}  {p}\n", t.tag.as_deref().unwrap_or("<none>"), short(&t.digest)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::testutil::{tagged, Layout, TarBuilder, TAR};
    use serde_json::json;

    #[test]
    fn lists_tags_with_platforms() {
        let t = tempfile::tempdir().unwrap();
        let lay = Layout::new(t.path());
        let l = TarBuilder::new().file("f", "x", 0o644).finish();
        let amd = lay.image(&[(l.clone(), TAR, l.clone())], "amd64", json!({}));
        let arm = lay.image(&[(l.clone(), TAR, l.clone())], "arm64", json!({}));
        let idx = json!({"schemaVersion": 2, "manifests": [amd, arm]});
        let (d, s) = lay.blob(&serde_json::to_vec(&idx).unwrap());
        let multi = json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": s});
        let mut bare = amd.clone();
        bare.as_object_mut().unwrap().remove("platform");
        lay.index(vec![tagged(multi.clone(), "multi"), tagged(multi, "again"), tagged(bare, "v1"), arm]);
        let tags = list_tags(&ImageRef::parse(&t.path().display().to_string()).unwrap()).unwrap();
        let got: Vec<(Option<&str>, Vec<&str>)> =
            tags.iter().map(|t| (t.tag.as_deref(), t.platforms.iter().map(String::as_str).collect())).collect();
        assert_eq!(
            got,
            vec![
                (Some("multi"), vec!["linux/amd64", "linux/arm64"]),
                (Some("again"), vec!["linux/amd64", "linux/arm64"]),
                (Some("v1"), vec!["linux/amd64"]),
                (None, vec!["linux/arm64"]),
            ]
        );
        let text = render(&tags);
        assert!(text.starts_with("TAG"), "{text}");
        assert!(text.contains("<none>") && text.contains("linux/amd64, linux/arm64"), "{text}");
    }
}
