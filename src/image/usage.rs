//! Who is using a bundle or a stored layer right now, asked of the kernel
//! rather than of a runtime, so it holds whichever runtime (berth, runc,
//! crun) runs the bundle and whatever state directory it keeps:
//!
//! - a process whose root directory is the bundle's `rootfs` (same device
//!   and inode as `/proc/PID/root`): the container's processes, from
//!   `create` on (the init has pivoted by then), for flat and overlay
//!   bundles alike;
//! - the root mount of another mount namespace that is an overlay whose
//!   `upperdir` is the bundle's upper directory or whose `lowerdir` names a
//!   stored layer: a container keeps its copy of the overlay as its root
//!   after the host's mount is gone (and its processes may have exited
//!   while something holds the namespace).
//!
//! Only the root of another namespace counts there: every mount namespace
//! made while a bundle is mounted (any container's, any `unshare -m`)
//! starts with a copy of the host's mounts, the bundle's among them, at the
//! same path, and that copy uses nothing. In imgtool's own namespace a
//! bundle's overlay is the bundle being mounted, not used; for layers it
//! counts, since that mount reads them. A container that starts after the
//! scan is not seen: the check narrows the window, it cannot close it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One process, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub comm: String,
}

/// Something that uses a bundle or a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    /// A process (in a container) whose root or mount namespace uses it.
    Process(Proc),
    /// An overlay mounted in imgtool's own mount namespace.
    Mount(PathBuf),
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            User::Process(p) => write!(f, "process {} (`{}`)", p.pid, p.comm),
            User::Mount(m) => write!(f, "the overlay mounted on `{}`", m.display()),
        }
    }
}

/// The overlay directories one mount names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverlayDirs {
    pub lowers: Vec<String>,
    pub upper: Option<String>,
}

/// Parse an overlay mount's super options (`/proc/PID/mountinfo`).
/// `lowerdir` lists layers top first, separated by `:` (`::` before
/// data-only layers); mounts made with the new mount API may show
/// `lowerdir+`/`datadir+` once per layer instead.
pub fn overlay_dirs(super_options: &str) -> OverlayDirs {
    let mut out = OverlayDirs::default();
    for opt in super_options.split(',') {
        let Some((key, value)) = opt.split_once('=') else { continue };
        let value = crate::mountinfo::unescape(value);
        match key {
            "lowerdir" => out.lowers.extend(value.split(':').filter(|s| !s.is_empty()).map(str::to_string)),
            "lowerdir+" | "datadir+" => out.lowers.push(value),
            "upperdir" => out.upper = Some(value),
            _ => {}
        }
    }
    out
}

/// Does a `lowerdir` entry name the layer directory `diff`? Absolute entries
/// must equal it; relative ones (imgtool mounts with paths relative to the
/// store's layer directory when the absolute ones do not fit in a page) must
/// be its tail, which the layer's 64-hex chain ID makes unique.
pub fn names_dir(entry: &str, diff: &Path) -> bool {
    let e = Path::new(entry);
    if e.is_absolute() {
        e == diff
    } else {
        e.components().count() >= 2 && diff.ends_with(e)
    }
}

struct OverlayMount {
    /// In imgtool's own mount namespace.
    own: bool,
    mount_point: PathBuf,
    /// A process of that namespace.
    owner: Proc,
    dirs: OverlayDirs,
}

/// A snapshot of process roots and overlay mounts.
pub struct Usage {
    /// (process, root device, root inode), imgtool itself excluded.
    roots: Vec<(Proc, u64, u64)>,
    overlays: Vec<OverlayMount>,
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|s| s.trim_end().to_string()).unwrap_or_default()
}

impl Usage {
    /// Look at every process this caller may inspect (others are skipped:
    /// an unprivileged caller sees its own, which are the ones that can use
    /// its bundles) and at each mount namespace once.
    pub fn scan() -> Usage {
        let me = std::process::id();
        let own_ns = std::fs::metadata("/proc/self/ns/mnt").map(|m| m.ino()).ok();
        let mut roots = Vec::new();
        let mut overlays = Vec::new();
        let mut seen_ns: HashSet<u64> = HashSet::new();
        let pids = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()));
        for pid in pids {
            if u32::try_from(pid).ok() == Some(me) {
                continue;
            }
            if let Ok(m) = std::fs::metadata(format!("/proc/{pid}/root")) {
                roots.push((Proc { pid, comm: String::new() }, m.dev(), m.ino()));
            }
            let Ok(ns) = std::fs::metadata(format!("/proc/{pid}/ns/mnt")).map(|m| m.ino()) else { continue };
            if !seen_ns.insert(ns) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")) else {
                seen_ns.remove(&ns); // try another process of that namespace
                continue;
            };
            for e in crate::mountinfo::parse(&text).into_iter().filter(|e| e.fstype == "overlay") {
                let own = Some(ns) == own_ns;
                if !own && e.mount_point != Path::new("/") {
                    continue; // a copy of the host's mounts, see the module comment
                }
                overlays.push(OverlayMount {
                    own,
                    mount_point: e.mount_point,
                    owner: Proc { pid, comm: String::new() },
                    dirs: overlay_dirs(&e.super_options),
                });
            }
        }
        Usage { roots, overlays }
    }

    /// Who uses the bundle whose rootfs is `rootfs` (and, for an overlay
    /// bundle, whose upper directory is `upper`).
    pub fn bundle_users(&self, rootfs: &Path, upper: Option<&Path>) -> Vec<User> {
        let mut pids: Vec<i32> = Vec::new();
        if let Ok(m) = std::fs::metadata(rootfs) {
            pids.extend(self.roots.iter().filter(|(_, d, i)| (*d, *i) == (m.dev(), m.ino())).map(|(p, _, _)| p.pid));
        }
        if let Some(upper) = upper {
            let upper = upper.to_string_lossy();
            pids.extend(
                self.overlays
                    .iter()
                    .filter(|o| !o.own && o.dirs.upper.as_deref() == Some(&*upper))
                    .map(|o| o.owner.pid),
            );
        }
        processes(pids)
    }

    /// Who uses the stored layer directory `diff` (`layers/<hex>/diff`).
    pub fn layer_users(&self, diff: &Path) -> Vec<User> {
        let using = self.overlays.iter().filter(|o| o.dirs.lowers.iter().any(|l| names_dir(l, diff)));
        let (own, other): (Vec<&OverlayMount>, Vec<&OverlayMount>) = using.partition(|o| o.own);
        let mut users = processes(other.iter().map(|o| o.owner.pid).collect());
        users.extend(own.into_iter().map(|o| User::Mount(o.mount_point.clone())));
        users
    }
}

/// Distinct pids as users, in pid order, named by their `comm`.
fn processes(mut pids: Vec<i32>) -> Vec<User> {
    pids.sort_unstable();
    pids.dedup();
    let mut names: HashMap<i32, String> = HashMap::new();
    pids.into_iter()
        .map(|pid| User::Process(Proc { pid, comm: names.entry(pid).or_insert_with(|| comm(pid)).clone() }))
        .collect()
}

/// "process 12 (`sleep`) and 2 more", for messages.
pub fn describe(users: &[User]) -> String {
    match users {
        [] => "nothing".into(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_overlay_options() {
        let d = overlay_dirs("rw,lowerdir=/s/layers/b/diff:/s/layers/a/diff,upperdir=/b/.overlay/upper,workdir=/w");
        assert_eq!(d.lowers, ["/s/layers/b/diff", "/s/layers/a/diff"]);
        assert_eq!(d.upper.as_deref(), Some("/b/.overlay/upper"));
        let d = overlay_dirs("rw,lowerdir+=/x\\040y,lowerdir+=/z,datadir+=/d,userxattr");
        assert_eq!(d.lowers, ["/x y", "/z", "/d"]);
        assert_eq!(d.upper, None);
        assert_eq!(overlay_dirs("rw,lowerdir=/a::/data").lowers, ["/a", "/data"]);
    }

    #[test]
    fn lowerdir_entries_name_layers_absolute_or_relative() {
        let diff = Path::new("/var/lib/s/layers/abc/diff");
        assert!(names_dir("/var/lib/s/layers/abc/diff", diff));
        assert!(names_dir("abc/diff", diff));
        assert!(!names_dir("/other/abc/diff", diff));
        assert!(!names_dir("diff", diff), "one component names nothing");
        assert!(!names_dir("abd/diff", diff));
    }

    #[test]
    fn describes_users() {
        let p = |pid| User::Process(Proc { pid, comm: "sleep".into() });
        assert_eq!(describe(&[p(7)]), "process 7 (`sleep`)");
        assert_eq!(describe(&[p(7), p(8), User::Mount("/m".into())]), "process 7 (`sleep`) and 2 more");
    }

    #[test]
    fn imgtool_itself_is_never_a_user() {
        // Every process here shares "/" with this test, which must not count.
        let users = Usage::scan().bundle_users(Path::new("/"), None);
        let me = i32::try_from(std::process::id()).unwrap();
        assert!(!users.iter().any(|u| matches!(u, User::Process(p) if p.pid == me)));
    }
}
