//! Parsing /proc/self/mountinfo (proc(5)): finding the mount that holds a
//! path, and the cgroup hierarchies mounted on the host.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Root of the mount within its filesystem.
    pub root: String,
    pub mount_point: PathBuf,
    /// Optional fields such as `shared:1`, `master:2`.
    pub optional: Vec<String>,
    pub fstype: String,
    pub source: String,
    pub super_options: String,
}

/// Undo mountinfo's octal escapes (`\040` for a space).
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            if pre.len() < 6 || post.len() < 3 {
                return None;
            }
            Some(Entry {
                root: unescape(pre[3]),
                mount_point: PathBuf::from(unescape(pre[4])),
                optional: pre[6..].iter().map(|s| s.to_string()).collect(),
                fstype: post[0].to_string(),
                source: unescape(post[1]),
                super_options: post[2].to_string(),
            })
        })
        .collect()
}

pub fn read() -> Vec<Entry> {
    std::fs::read_to_string("/proc/self/mountinfo").map(|t| parse(&t)).unwrap_or_default()
}

/// The mount point of the mount that contains `path` (the last, i.e. top,
/// of the longest matching mount points).
pub fn containing_mount<'a>(entries: &'a [Entry], path: &Path) -> Option<&'a Entry> {
    entries
        .iter()
        .filter(|e| path.starts_with(&e.mount_point))
        .max_by_key(|e| e.mount_point.as_os_str().len())
        .and_then(|best| entries.iter().rev().find(|e| e.mount_point == best.mount_point))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 30 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 22 0:40 / /tmp/a\\040b rw - tmpfs tmpfs rw
";

    #[test]
    fn parses_fields_and_escapes() {
        let e = parse(SAMPLE);
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].optional, vec!["shared:1"]);
        assert_eq!(e[2].super_options, "rw,cpu");
        assert_eq!(e[4].mount_point, Path::new("/tmp/a b"));
    }

    #[test]
    fn containing_mount_is_the_longest_prefix() {
        let e = parse(SAMPLE);
        assert_eq!(containing_mount(&e, Path::new("/home/x")).unwrap().mount_point, Path::new("/"));
        assert_eq!(
            containing_mount(&e, Path::new("/sys/fs/cgroup/cpu/x")).unwrap().mount_point,
            Path::new("/sys/fs/cgroup/cpu")
        );
        assert_eq!(containing_mount(&e, Path::new("/tmp/a b/c")).unwrap().fstype, "tmpfs");
    }
}
