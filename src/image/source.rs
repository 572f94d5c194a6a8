//! Where an image's files live: an OCI layout directory, or a tar file
//! (oci-archive, docker-archive) read in place through a [`TarIndex`];
//! [`open_source`] finds out which (and which format) a reference names.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use oci_spec::image::Digest;

use super::blob::read_verified;
use super::reference::{ImageRef, Transport};
use super::tarindex::TarIndex;
use super::{Error, Result};

/// A directory or an indexed tar file holding an image.
#[derive(Debug)]
pub enum Source {
    Dir(PathBuf),
    Tar(TarIndex),
}

impl Source {
    /// Display name of the source (for errors).
    pub fn name(&self) -> String {
        match self {
            Source::Dir(p) => p.display().to_string(),
            Source::Tar(t) => t.path.display().to_string(),
        }
    }

    /// Open the file at `rel` (a clean relative path), with its size;
    /// `Ok(None)` when there is no such file.
    pub fn open(&self, rel: &str) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        match self {
            Source::Dir(dir) => {
                let path = dir.join(rel);
                match File::open(&path) {
                    Ok(f) => {
                        let size = f.metadata().map_err(|e| Error::io("stat", &path, e))?.len();
                        Ok(Some((Box::new(f), size)))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io("open", path, e)),
                }
            }
            Source::Tar(idx) => idx.open(rel),
        }
    }

    pub fn exists(&self, rel: &str) -> bool {
        match self {
            Source::Dir(dir) => dir.join(rel).is_file(),
            Source::Tar(idx) => idx.contains(rel),
        }
    }

    /// The path of a blob in an OCI layout.
    pub fn blob_path(d: &Digest) -> String {
        format!("blobs/{}/{}", d.algorithm().as_ref(), d.digest())
    }

    /// Open a blob by digest; a missing blob is an error.
    pub fn open_blob(&self, d: &Digest) -> Result<(Box<dyn Read + Send>, u64)> {
        self.open(&Self::blob_path(d))?.ok_or_else(|| Error::MissingBlob(d.to_string()))
    }
}

/// The files `r` names and the format they are in: a directory is an OCI
/// layout; a tar file is an oci-archive or a docker-archive, by what it holds
/// unless the reference says.
pub(crate) fn open_source(r: &ImageRef) -> Result<(Source, Transport)> {
    let path = &r.path;
    let meta = std::fs::metadata(path).map_err(|e| Error::io("open image", path, e))?;
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

/// Read a whole blob, verified against its digest (and size, when known).
pub(crate) fn read_blob(src: &Source, d: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
    let (r, _) = src.open_blob(d)?;
    read_verified(r, Some(d), size, d.as_ref())
}
