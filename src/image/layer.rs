//! One layer blob as a stream of uncompressed tar bytes: the compressed blob
//! is verified (digest, size) as it is read, decompressed by media type, and
//! the uncompressed bytes hashed for the config's diff_id. Nothing is
//! buffered beyond fixed-size read buffers, so a decompression bomb only
//! costs time. [`LayerStream::finish`] drains and checks both digests.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::blob::{HashingReader, VerifyingReader};
use super::budget::Budget;
use super::model::{Compression, LayerDesc};
use super::source::Source;
use super::{Error, Result};

/// Counts compressed bytes for progress display.
struct Counting<R> {
    inner: R,
    counter: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = &self.counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

type Raw = BufReader<VerifyingReader<Counting<Box<dyn Read + Send>>>>;

enum Decoder {
    Plain(Box<Raw>),
    Gzip(Box<flate2::bufread::MultiGzDecoder<Raw>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, Raw>>),
}

impl Read for Decoder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

impl Decoder {
    fn into_inner(self) -> Raw {
        match self {
            Decoder::Plain(r) => *r,
            Decoder::Gzip(r) => r.into_inner(),
            Decoder::Zstd(r) => (*r).finish(),
        }
    }
}

/// The uncompressed tar stream of one layer.
pub struct LayerStream {
    inner: HashingReader<Decoder>,
    name: String,
    diff_id: String,
}

impl Read for LayerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

const BUF: usize = 256 << 10;

/// Open `layer` from `src`; `counter` (if any) accumulates compressed bytes.
pub fn open_layer(src: &Source, layer: &LayerDesc, counter: Option<Arc<AtomicU64>>) -> Result<LayerStream> {
    let name = layer.digest.as_ref().map_or_else(|| layer.path.clone(), ToString::to_string);
    let (r, _) = src.open(&layer.path)?.ok_or_else(|| Error::MissingBlob(name.clone()))?;
    let verifying = VerifyingReader::new(Counting { inner: r, counter }, layer.digest.as_ref(), layer.size, &name)?;
    let mut raw = BufReader::with_capacity(BUF, verifying);
    let compression = match layer.compression {
        Compression::Detect => {
            let head = raw.fill_buf().map_err(|e| Error::io("read", &name, e))?;
            if head.starts_with(&[0x1f, 0x8b]) {
                Compression::Gzip
            } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                Compression::Zstd
            } else {
                Compression::None
            }
        }
        c => c,
    };
    let decoder = match compression {
        Compression::Gzip => Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(raw))),
        Compression::Zstd => Decoder::Zstd(Box::new(
            zstd::stream::read::Decoder::with_buffer(raw).map_err(|e| Error::io("start zstd for", &name, e))?,
        )),
        _ => Decoder::Plain(Box::new(raw)),
    };
    Ok(LayerStream { inner: HashingReader::new(decoder), name, diff_id: layer.diff_id.to_string() })
}

impl LayerStream {
    /// Read uncompressed bytes without hashing them: the threaded applier
    /// hashes them on its own side, to share the CPU work.
    fn read_unhashed(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.inner.read(buf)
    }

    /// After `read_unhashed` reached the end: verify the compressed blob's
    /// digest and size; returns (layer name, expected diff_id).
    fn finish_blob(self) -> Result<(String, String)> {
        let name = self.name;
        let mut raw = self.inner.inner.into_inner();
        io::copy(&mut raw, &mut io::sink()).map_err(|e| Error::io("read", &name, e))?;
        raw.into_inner().finish()?;
        Ok((name, self.diff_id))
    }

    /// Read what the tar reader left (padding, trailing blocks), then check
    /// the diff_id and the blob's digest and size.
    pub fn finish(self) -> Result<()> {
        let name = self.name;
        let (found, decoder) = self.inner.finish().map_err(|e| Error::io("read", &name, e))?;
        let mut raw = decoder.into_inner();
        io::copy(&mut raw, &mut io::sink()).map_err(|e| Error::io("read", &name, e))?;
        raw.into_inner().finish()?;
        if found != self.diff_id {
            return Err(Error::DiffId { layer: name, expected: self.diff_id, found });
        }
        Ok(())
    }
}

/// Chunks of uncompressed tar handed from the decoding thread to the
/// applying one; `End` carries the verification result.
enum Chunk {
    Data(Vec<u8>),
    /// The blob verified (layer name, expected diff_id), or why not.
    End(Result<(String, String)>),
}

/// The applying side of the pipe: a `Read` over the chunks.
struct ChunkReader {
    rx: std::sync::mpsc::Receiver<Chunk>,
    cur: Vec<u8>,
    pos: usize,
    end: Option<Result<(String, String)>>,
    /// sha256 of the uncompressed stream (the diff_id), computed on the
    /// applying thread.
    hasher: super::blob::Hasher,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            if self.end.is_some() {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Chunk::Data(d)) => {
                    self.hasher.update(&d);
                    self.cur = d;
                    self.pos = 0;
                }
                Ok(Chunk::End(r)) => self.end = Some(r),
                Err(_) => return Err(io::Error::new(io::ErrorKind::BrokenPipe, "layer decoder stopped")),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Stream `layer` from `src` onto `dir`, then verify it. Decompression and
/// hashing run on their own thread, writing files on this one, joined by a
/// small bounded queue (memory stays constant); the decoding side charges
/// `budget` and stops at its caps. Errors name the layer.
pub fn apply_image_layer(
    src: &Source,
    layer: &LayerDesc,
    dir: &std::path::Path,
    mode: super::ApplyMode,
    counter: Option<Arc<AtomicU64>>,
    budget: &Budget,
) -> Result<super::ApplyStats> {
    let wrap = |e: Error| Error::Layer { layer: layer.diff_id.to_string(), source: Box::new(e) };
    let mut stream = open_layer(src, layer, counter).map_err(wrap)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(16);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut total = 0u64;
            loop {
                let mut buf = vec![0u8; BUF];
                match read_full_with(|b| stream.read_unhashed(b), &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        total += n as u64;
                        if let Err(e) = budget.charge(total, n as u64) {
                            let _ = tx.send(Chunk::End(Err(e)));
                            return;
                        }
                        buf.truncate(n);
                        if tx.send(Chunk::Data(buf)).is_err() {
                            return; // the applier failed and hung up
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Chunk::End(Err(Error::tar(e))));
                        return;
                    }
                }
            }
            let _ = tx.send(Chunk::End(stream.finish_blob()));
        });
        let mut reader = ChunkReader { rx, cur: Vec::new(), pos: 0, end: None, hasher: super::blob::Hasher::sha256() };
        let applied = super::apply_layer(dir, &mut reader, mode);
        // Drain to the end so the decoder's verdict is known; a stream error
        // is the better explanation for a failed apply.
        let drained = io::copy(&mut reader, &mut io::sink());
        let verdict = reader.end.take();
        let found = std::mem::replace(&mut reader.hasher, super::blob::Hasher::sha256()).finish();
        drop(reader);
        match (verdict, applied, drained) {
            (Some(Err(e)), _, _) => Err(wrap(e)),
            (_, Err(e), _) => Err(wrap(e)),
            (_, Ok(_), Err(e)) => Err(wrap(Error::tar(e))),
            (None, Ok(_), Ok(_)) => Err(wrap(Error::Thread)),
            (Some(Ok((layer, expected))), Ok(stats), Ok(_)) => {
                if found != expected {
                    return Err(wrap(Error::DiffId { layer, expected, found }));
                }
                Ok(stats)
            }
        }
    })
}

fn read_full_with(mut read: impl FnMut(&mut [u8]) -> io::Result<usize>, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
