//! Content verification: every blob is read through a [`VerifyingReader`]
//! that hashes and counts the bytes as they stream and fails the read that
//! reaches the end (or goes past the declared size) when they do not match.

use std::fmt;
use std::io::{self, Read};

use oci_spec::image::{Digest, DigestAlgorithm};
use sha2::{Digest as _, Sha256, Sha512};

use super::{Error, Result};

/// Manifests, indexes and configs larger than this are refused (they are
/// read into memory, so a hostile image must not make that unbounded).
pub const MAX_JSON_BLOB: u64 = 16 << 20;

/// Parse and validate a digest string.
pub fn parse_digest(s: &str) -> Result<Digest> {
    let d: Digest = s.parse().map_err(|_| Error::Digest(s.to_string()))?;
    Hasher::new(&d)?;
    Ok(d)
}

/// A running hash for one of the digest algorithms we verify.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(d: &Digest) -> Result<Self> {
        match d.algorithm() {
            DigestAlgorithm::Sha256 => Ok(Hasher::Sha256(Sha256::new())),
            DigestAlgorithm::Sha512 => Ok(Hasher::Sha512(Sha512::new())),
            _ => Err(Error::Digest(d.to_string())),
        }
    }

    pub fn sha256() -> Self {
        Hasher::Sha256(Sha256::new())
    }

    pub fn update(&mut self, buf: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(buf),
            Hasher::Sha512(h) => h.update(buf),
        }
    }

    /// The `alg:hex` string of everything hashed so far.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// A mismatch found while streaming; travels inside an `io::Error`.
#[derive(Debug, Clone)]
pub struct VerifyError {
    pub digest: String,
    pub reason: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "verify blob `{}`: {}", self.digest, self.reason)
    }
}

impl std::error::Error for VerifyError {}

impl VerifyError {
    pub fn to_error(&self) -> Error {
        Error::Verify { digest: self.digest.clone(), reason: self.reason.clone() }
    }
}

/// Checks digest and size of the bytes read through it. The check fires on
/// the read that sees end of file; [`VerifyingReader::finish`] drains the rest
/// so callers that stop early (a tar reader at its end marker) still verify.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Option<Hasher>,
    name: String,
    expected: Option<String>,
    size: Option<u64>,
    read: u64,
    done: bool,
}

impl<R: Read> VerifyingReader<R> {
    /// Verify against `digest` (when known) and `size` (when known); `name`
    /// identifies the blob in errors.
    pub fn new(inner: R, digest: Option<&Digest>, size: Option<u64>, name: &str) -> Result<Self> {
        let hasher = match digest {
            Some(d) => Some(Hasher::new(d)?),
            None => None,
        };
        Ok(VerifyingReader {
            inner,
            hasher,
            name: name.to_string(),
            expected: digest.map(|d| d.to_string()),
            size,
            read: 0,
            done: false,
        })
    }

    fn fail(&self, reason: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, VerifyError { digest: self.name.clone(), reason })
    }

    fn check_end(&mut self) -> io::Result<()> {
        if self.done {
            return Ok(());
        }
        if let Some(size) = self.size {
            if self.read != size {
                return Err(self.fail(format!("blob is truncated: {} of {size} bytes", self.read)));
            }
        }
        if let (Some(h), Some(want)) = (self.hasher.take(), self.expected.as_deref()) {
            let got = h.finish();
            if got != want {
                return Err(self.fail(format!("content has digest `{got}`")));
            }
        }
        self.done = true;
        Ok(())
    }

    /// Read to the end and verify; the reader is consumed.
    pub fn finish(mut self) -> Result<()> {
        io::copy(&mut self, &mut io::sink()).map_err(|e| Error::io("read", &self.name, e))?;
        self.check_end().map_err(|e| Error::io("read", &self.name, e))
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.check_end()?;
            return Ok(0);
        }
        self.read += n as u64;
        if let Some(size) = self.size {
            if self.read > size {
                return Err(self.fail(format!("blob is larger than its declared {size} bytes")));
            }
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Hashes what passes through it (the uncompressed layer, for diff_ids).
pub struct HashingReader<R> {
    pub inner: R,
    hasher: Hasher,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Hasher::sha256() }
    }

    /// Drain the rest of the stream and return (digest, inner reader).
    pub fn finish(mut self) -> io::Result<(String, R)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((self.hasher.finish(), self.inner))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Read a whole small blob (manifest, index, config), verified, bounded.
pub fn read_verified(r: impl Read, digest: Option<&Digest>, size: Option<u64>, name: &str) -> Result<Vec<u8>> {
    if size.is_some_and(|s| s > MAX_JSON_BLOB) {
        return Err(Error::TooLarge(name.to_string()));
    }
    let mut v = VerifyingReader::new(r.take(MAX_JSON_BLOB + 1), digest, size, name)?;
    let mut buf = Vec::new();
    v.read_to_end(&mut buf).map_err(|e| Error::io("read", name, e))?;
    if buf.len() as u64 > MAX_JSON_BLOB {
        return Err(Error::TooLarge(name.to_string()));
    }
    v.finish()?;
    Ok(buf)
}

/// The sha256 digest string of `data`.
pub fn sha256_of(data: &[u8]) -> String {
    let mut h = Hasher::sha256();
    h.update(data);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(data: &[u8]) -> Digest {
        sha256_of(data).parse().unwrap()
    }

    #[test]
    fn good_blob_verifies() {
        let data = b"hello world";
        let d = digest_of(data);
        let out = read_verified(&data[..], Some(&d), Some(11), "x").unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn bad_digest_fails() {
        let d = digest_of(b"other");
        let err = read_verified(&b"hello"[..], Some(&d), Some(5), "x").unwrap_err();
        assert!(matches!(err, Error::Verify { .. }), "{err:?}");
    }

    #[test]
    fn truncated_and_oversized_fail() {
        let data = b"hello";
        let d = digest_of(data);
        let err = read_verified(&data[..4], Some(&d), Some(5), "x").unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let err = read_verified(&b"hello!"[..], Some(&d), Some(5), "x").unwrap_err();
        assert!(matches!(err, Error::Verify { .. }), "{err:?}");
    }

    #[test]
    fn finish_drains_unread_tail() {
        let d = digest_of(b"abcdef");
        let mut v = VerifyingReader::new(&b"abcdeX"[..], Some(&d), Some(6), "x").unwrap();
        let mut two = [0u8; 2];
        v.read_exact(&mut two).unwrap();
        assert!(v.finish().is_err());
    }

    #[test]
    fn unknown_algorithm_is_refused() {
        assert!(parse_digest("md5:abcd").is_err());
        assert!(parse_digest("sha256:zz").is_err());
    }
}
