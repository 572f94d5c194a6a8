//! An index of a tar file's members (name -> data offset and size), so that
//! oci-archive and docker-archive blobs are read in place by seeking, without
//! extracting the archive. Symlinks and hardlinks between members (old
//! `docker save` output links repeated layers) are followed inside the index.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

use super::{Error, Result};

/// Where one member's data lives in the tar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub offset: u64,
    pub size: u64,
}

/// The members of one tar file.
#[derive(Debug)]
pub struct TarIndex {
    pub path: PathBuf,
    members: HashMap<String, Member>,
}

/// Normalise a member name: no leading `/` or `./`, `..` clamped.
pub fn clean_name(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts.join("/")
}

impl TarIndex {
    /// Read the headers of `path` (seeking over member data).
    pub fn build(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let mut archive = tar::Archive::new(file);
        let mut members = HashMap::new();
        let mut links: Vec<(String, String)> = Vec::new();
        let entries = archive.entries_with_seek().map_err(|e| Error::io("read tar", path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("read tar", path, e))?;
            let name = clean_name(&entry.path().map_err(|e| Error::io("read tar", path, e))?);
            match entry.header().entry_type() {
                EntryType::Regular | EntryType::Continuous => {
                    members.insert(name, Member { offset: entry.raw_file_position(), size: entry.size() });
                }
                EntryType::Symlink => {
                    if let Ok(Some(target)) = entry.link_name() {
                        let base = Path::new(&name).parent().unwrap_or(Path::new("")).join(&target);
                        let target = if target.is_absolute() { target.to_path_buf() } else { base };
                        links.push((name, clean_name(&target)));
                    }
                }
                EntryType::Link => {
                    if let Ok(Some(target)) = entry.link_name() {
                        links.push((name, clean_name(&target)));
                    }
                }
                _ => {}
            }
        }
        // Resolve links in a few rounds (chains of links), ignoring cycles.
        for _ in 0..8 {
            let mut changed = false;
            for (name, target) in &links {
                if members.contains_key(name) {
                    continue;
                }
                if let Some(m) = members.get(target).copied() {
                    members.insert(name.clone(), m);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Ok(TarIndex { path: path.to_path_buf(), members })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.members.contains_key(name)
    }

    pub fn member(&self, name: &str) -> Option<Member> {
        self.members.get(name).copied()
    }

    /// A reader over one member's data, from its own file handle (so several
    /// layers can stream from one archive in parallel).
    pub fn open(&self, name: &str) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        let Some(m) = self.member(name) else { return Ok(None) };
        let mut f = File::open(&self.path).map_err(|e| Error::io("open", &self.path, e))?;
        f.seek(SeekFrom::Start(m.offset)).map_err(|e| Error::io("seek in", &self.path, e))?;
        Ok(Some((Box::new(f.take(m.size)), m.size)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_members_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        let mut b = tar::Builder::new(File::create(&path).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "./dir/one", &b"hello"[..]).unwrap();
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(EntryType::Symlink);
        l.set_size(0);
        b.append_link(&mut l, "other/link", "../dir/one").unwrap();
        b.into_inner().unwrap();

        let idx = TarIndex::build(&path).unwrap();
        let (mut r, size) = idx.open("dir/one").unwrap().unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!((s.as_str(), size), ("hello", 5));
        assert_eq!(idx.member("other/link"), idx.member("dir/one"));
        assert!(idx.open("nope").unwrap().is_none());
    }
}
