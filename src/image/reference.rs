//! Image references as users type them: `[TRANSPORT:]PATH[:TAG]` or
//! `[TRANSPORT:]PATH@DIGEST`, where TRANSPORT is `oci`, `oci-archive` or
//! `docker-archive` (skopeo's names) and is guessed from PATH when omitted.
//! Other skopeo transports (a registry, a daemon, containers-storage) are
//! not read: they get an error that says how to copy the image over first.

use std::fmt;
use std::path::{Path, PathBuf};

use oci_spec::image::Digest;

use super::blob::parse_digest;
use super::{Error, Result};

/// How the image at `path` is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Decide from the file system: a directory is a layout, a file an archive.
    Auto,
    Oci,
    OciArchive,
    DockerArchive,
}

/// Which image inside the layout or archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The only image, or the one tagged `latest`.
    Default,
    /// `org.opencontainers.image.ref.name` (or a docker `RepoTags` entry).
    Tag(String),
    /// A manifest or index digest.
    Digest(Digest),
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub transport: Transport,
    pub path: PathBuf,
    pub selector: Selector,
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        match &self.selector {
            Selector::Default => Ok(()),
            Selector::Tag(t) => write!(f, ":{t}"),
            Selector::Digest(d) => write!(f, "@{d}"),
        }
    }
}

/// Transports of containers/image (skopeo, podman) that imgtool does not
/// speak, and registry URLs.
const FOREIGN: [&str; 9] = [
    "docker://",
    "docker-daemon:",
    "containers-storage:",
    "dir:",
    "ostree:",
    "sif:",
    "tarball:",
    "http://",
    "https://",
];

impl ImageRef {
    /// Parse `s`. A `:TAG` suffix is only split off when the part before it
    /// exists (or the whole string does not), so paths with colons work.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::Reference { reference: s.to_string(), reason: reason.to_string() };
        if let Some(t) = FOREIGN.iter().find(|t| s.starts_with(*t)).filter(|_| !Path::new(s).exists()) {
            return Err(Error::Transport { reference: s.to_string(), transport: t.to_string() });
        }
        let (transport, rest) = [
            ("oci:", Transport::Oci),
            ("oci-archive:", Transport::OciArchive),
            ("docker-archive:", Transport::DockerArchive),
        ]
        .iter()
        .find_map(|(p, t)| s.strip_prefix(p).map(|r| (*t, r)))
        .unwrap_or((Transport::Auto, s));
        if rest.is_empty() {
            return Err(bad("empty path"));
        }
        if let Some((path, digest)) = rest.rsplit_once('@') {
            let digest = parse_digest(digest).map_err(|_| bad("invalid digest after `@`"))?;
            return Ok(ImageRef { transport, path: path.into(), selector: Selector::Digest(digest) });
        }
        if !Path::new(rest).exists() {
            // The first `:` whose prefix exists splits PATH from TAG (docker
            // tags such as `repo/name:tag` contain both `/` and `:`); for a
            // path that does not exist, the last `:` after the last `/`.
            let existing = rest.match_indices(':').map(|(i, _)| i).find(|&i| i > 0 && Path::new(&rest[..i]).exists());
            let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
            let guess = rest[last_slash..].rfind(':').map(|i| i + last_slash).filter(|&i| i > 0);
            if let Some(colon) = existing.or(guess) {
                let (path, tag) = (&rest[..colon], &rest[colon + 1..]);
                if tag.is_empty() {
                    return Err(bad("empty tag"));
                }
                return Ok(ImageRef { transport, path: path.into(), selector: Selector::Tag(tag.to_string()) });
            }
        }
        Ok(ImageRef { transport, path: rest.into(), selector: Selector::Default })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let r = ImageRef::parse("/nonexistent/img:latest").unwrap();
        assert_eq!(r.path, PathBuf::from("/nonexistent/img"));
        assert_eq!(r.selector, Selector::Tag("latest".into()));
        assert_eq!(r.transport, Transport::Auto);

        let r = ImageRef::parse("oci-archive:/x/a.tar").unwrap();
        assert_eq!((r.transport, r.selector), (Transport::OciArchive, Selector::Default));

        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("img@{d}")).unwrap();
        assert_eq!(r.selector, Selector::Digest(d.parse().unwrap()));

        let dir = tempfile::tempdir().unwrap();
        let tarp = dir.path().join("a.tar");
        std::fs::write(&tarp, "").unwrap();
        let r = ImageRef::parse(&format!("{}:docker.io/lib/bb:1", tarp.display())).unwrap();
        assert_eq!((r.path, r.selector), (tarp, Selector::Tag("docker.io/lib/bb:1".into())));

        let r = ImageRef::parse("some.dir/img").unwrap();
        assert_eq!(r.selector, Selector::Default);
        assert!(ImageRef::parse("img@sha256:zz").is_err());
        assert!(ImageRef::parse("img:").is_err());
    }

    #[test]
    fn foreign_transports_say_to_copy_first() {
        for r in
            ["docker://busybox:latest", "containers-storage:localhost/x", "docker-daemon:alpine:3", "https://r.io/x"]
        {
            let e = ImageRef::parse(r).unwrap_err();
            assert!(matches!(e, Error::Transport { .. }), "{r}: {e:?}");
            let msg = e.to_string();
            assert!(msg.contains("skopeo copy") && msg.contains(r), "{msg}");
        }
    }

    #[test]
    fn existing_path_with_colon_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a:b");
        std::fs::create_dir(&p).unwrap();
        let r = ImageRef::parse(p.to_str().unwrap()).unwrap();
        assert_eq!((r.path, r.selector), (p, Selector::Default));
    }
}
