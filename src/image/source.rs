//! Where an image's files live: an OCI layout directory, or a tar file
//! (oci-archive, docker-archive) read in place through a [`TarIndex`].

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use oci_spec::image::Digest;

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
