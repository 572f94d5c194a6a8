//! Mount options: the one table that both parsing and `berth features` use,
//! and the translation of an option list into flags, propagation, recursive
//! attributes and filesystem data.

use nix::mount::MsFlags;

use crate::sys::fs as sfs;

/// What an option does.
#[derive(Debug, Clone, Copy)]
enum Opt {
    /// Set (false) or clear (true) a mount(2) flag.
    Flag(bool, MsFlags),
    /// A propagation type, applied with a separate mount(2) call.
    Propagation(MsFlags),
    /// A recursive attribute for mount_setattr(2): (clear?, attribute).
    Recursive(bool, u64),
    /// berth/runc extension: copy the directory's content into a new tmpfs.
    TmpCopyUp,
    /// An idmapped bind mount (config.md): recursive (`ridmap`) or not.
    Idmap(bool),
}

const NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);

const TABLE: &[(&str, Opt)] = &[
    ("acl", Opt::Flag(false, MsFlags::MS_POSIXACL)),
    ("async", Opt::Flag(true, MsFlags::MS_SYNCHRONOUS)),
    ("atime", Opt::Flag(true, MsFlags::MS_NOATIME)),
    ("bind", Opt::Flag(false, MsFlags::MS_BIND)),
    ("defaults", Opt::Flag(false, MsFlags::empty())),
    ("dev", Opt::Flag(true, MsFlags::MS_NODEV)),
    ("diratime", Opt::Flag(true, MsFlags::MS_NODIRATIME)),
    ("dirsync", Opt::Flag(false, MsFlags::MS_DIRSYNC)),
    ("exec", Opt::Flag(true, MsFlags::MS_NOEXEC)),
    ("idmap", Opt::Idmap(false)),
    ("iversion", Opt::Flag(false, MsFlags::MS_I_VERSION)),
    ("lazytime", Opt::Flag(false, MsFlags::MS_LAZYTIME)),
    ("loud", Opt::Flag(true, MsFlags::MS_SILENT)),
    ("mand", Opt::Flag(false, MsFlags::MS_MANDLOCK)),
    ("noacl", Opt::Flag(true, MsFlags::MS_POSIXACL)),
    ("noatime", Opt::Flag(false, MsFlags::MS_NOATIME)),
    ("nodev", Opt::Flag(false, MsFlags::MS_NODEV)),
    ("nodiratime", Opt::Flag(false, MsFlags::MS_NODIRATIME)),
    ("noexec", Opt::Flag(false, MsFlags::MS_NOEXEC)),
    ("noiversion", Opt::Flag(true, MsFlags::MS_I_VERSION)),
    ("nolazytime", Opt::Flag(true, MsFlags::MS_LAZYTIME)),
    ("nomand", Opt::Flag(true, MsFlags::MS_MANDLOCK)),
    ("norelatime", Opt::Flag(true, MsFlags::MS_RELATIME)),
    ("nostrictatime", Opt::Flag(true, MsFlags::MS_STRICTATIME)),
    ("nosuid", Opt::Flag(false, MsFlags::MS_NOSUID)),
    ("nosymfollow", Opt::Flag(false, NOSYMFOLLOW)),
    ("private", Opt::Propagation(MsFlags::MS_PRIVATE)),
    ("ratime", Opt::Recursive(true, sfs::MOUNT_ATTR_NOATIME)),
    ("rbind", Opt::Flag(false, MsFlags::from_bits_retain(MsFlags::MS_BIND.bits() | MsFlags::MS_REC.bits()))),
    ("rdev", Opt::Recursive(true, sfs::MOUNT_ATTR_NODEV)),
    ("rdiratime", Opt::Recursive(true, sfs::MOUNT_ATTR_NODIRATIME)),
    ("relatime", Opt::Flag(false, MsFlags::MS_RELATIME)),
    ("remount", Opt::Flag(false, MsFlags::MS_REMOUNT)),
    ("rexec", Opt::Recursive(true, sfs::MOUNT_ATTR_NOEXEC)),
    ("ridmap", Opt::Idmap(true)),
    ("rnoatime", Opt::Recursive(false, sfs::MOUNT_ATTR_NOATIME)),
    ("rnodev", Opt::Recursive(false, sfs::MOUNT_ATTR_NODEV)),
    ("rnodiratime", Opt::Recursive(false, sfs::MOUNT_ATTR_NODIRATIME)),
    ("rnoexec", Opt::Recursive(false, sfs::MOUNT_ATTR_NOEXEC)),
    ("rnorelatime", Opt::Recursive(true, sfs::MOUNT_ATTR_RELATIME)),
    ("rnostrictatime", Opt::Recursive(true, sfs::MOUNT_ATTR_STRICTATIME)),
    ("rnosuid", Opt::Recursive(false, sfs::MOUNT_ATTR_NOSUID)),
    ("rnosymfollow", Opt::Recursive(false, sfs::MOUNT_ATTR_NOSYMFOLLOW)),
    ("ro", Opt::Flag(false, MsFlags::MS_RDONLY)),
    ("rprivate", Opt::Propagation(MsFlags::from_bits_retain(MsFlags::MS_PRIVATE.bits() | MsFlags::MS_REC.bits()))),
    ("rrelatime", Opt::Recursive(false, sfs::MOUNT_ATTR_RELATIME)),
    ("rro", Opt::Recursive(false, sfs::MOUNT_ATTR_RDONLY)),
    ("rrw", Opt::Recursive(true, sfs::MOUNT_ATTR_RDONLY)),
    ("rshared", Opt::Propagation(MsFlags::from_bits_retain(MsFlags::MS_SHARED.bits() | MsFlags::MS_REC.bits()))),
    ("rslave", Opt::Propagation(MsFlags::from_bits_retain(MsFlags::MS_SLAVE.bits() | MsFlags::MS_REC.bits()))),
    ("rstrictatime", Opt::Recursive(false, sfs::MOUNT_ATTR_STRICTATIME)),
    ("rsuid", Opt::Recursive(true, sfs::MOUNT_ATTR_NOSUID)),
    ("rsymfollow", Opt::Recursive(true, sfs::MOUNT_ATTR_NOSYMFOLLOW)),
    (
        "runbindable",
        Opt::Propagation(MsFlags::from_bits_retain(MsFlags::MS_UNBINDABLE.bits() | MsFlags::MS_REC.bits())),
    ),
    ("rw", Opt::Flag(true, MsFlags::MS_RDONLY)),
    ("shared", Opt::Propagation(MsFlags::MS_SHARED)),
    ("silent", Opt::Flag(false, MsFlags::MS_SILENT)),
    ("slave", Opt::Propagation(MsFlags::MS_SLAVE)),
    ("strictatime", Opt::Flag(false, MsFlags::MS_STRICTATIME)),
    ("suid", Opt::Flag(true, MsFlags::MS_NOSUID)),
    ("symfollow", Opt::Flag(true, NOSYMFOLLOW)),
    ("sync", Opt::Flag(false, MsFlags::MS_SYNCHRONOUS)),
    ("tmpcopyup", Opt::TmpCopyUp),
    ("unbindable", Opt::Propagation(MsFlags::MS_UNBINDABLE)),
];

/// Every option name berth understands (for `berth features`).
pub fn names() -> Vec<&'static str> {
    TABLE.iter().map(|(n, _)| *n).collect()
}

/// The meaning of one mount's option list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub flags: MsFlags,
    /// Propagation changes, in the order given.
    pub propagation: Vec<MsFlags>,
    pub rec_set: u64,
    pub rec_clear: u64,
    /// Options passed to the filesystem (`mode=755,size=65536k`).
    pub data: String,
    pub tmpcopyup: bool,
    /// `idmap` (Some(false)) or `ridmap` (Some(true)).
    pub idmap: Option<bool>,
}

impl Parsed {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }
    pub fn is_recursive_bind(&self) -> bool {
        self.is_bind() && self.flags.contains(MsFlags::MS_REC)
    }
}

impl Default for Parsed {
    fn default() -> Self {
        Parsed {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            rec_set: 0,
            rec_clear: 0,
            data: String::new(),
            tmpcopyup: false,
            idmap: None,
        }
    }
}

pub fn parse(options: &[String]) -> Parsed {
    let mut p = Parsed::default();
    let mut data: Vec<&str> = Vec::new();
    for o in options {
        match TABLE.iter().find(|(n, _)| *n == o.as_str()).map(|(_, opt)| *opt) {
            Some(Opt::Flag(false, f)) => p.flags |= f,
            Some(Opt::Flag(true, f)) => p.flags &= !f,
            Some(Opt::Propagation(f)) => p.propagation.push(f),
            Some(Opt::Recursive(false, a)) => {
                p.rec_set |= a;
                p.rec_clear &= !a;
                if a & sfs::MOUNT_ATTR_ATIME_MASK != 0 || a == sfs::MOUNT_ATTR_RELATIME {
                    p.rec_clear |= sfs::MOUNT_ATTR_ATIME_MASK;
                }
            }
            Some(Opt::Recursive(true, a)) => {
                p.rec_clear |= a;
                p.rec_set &= !a;
            }
            Some(Opt::TmpCopyUp) => p.tmpcopyup = true,
            Some(Opt::Idmap(rec)) => p.idmap = Some(rec || p.idmap == Some(true)),
            None => data.push(o),
        }
    }
    p.data = data.join(",");
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_data_and_propagation() {
        let p = parse(&v(&["nosuid", "strictatime", "mode=755", "size=65536k", "rslave", "ro", "rw"]));
        assert_eq!(p.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(p.data, "mode=755,size=65536k");
        assert_eq!(p.propagation, vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]);
        assert!(!p.is_bind());
    }

    #[test]
    fn rbind_and_recursive_attributes() {
        let p = parse(&v(&["rbind", "rro", "rnosuid", "tmpcopyup"]));
        assert!(p.is_recursive_bind());
        assert_eq!(p.rec_set, sfs::MOUNT_ATTR_RDONLY | sfs::MOUNT_ATTR_NOSUID);
        assert!(p.tmpcopyup);
        let p = parse(&v(&["bind", "rro", "rrw"]));
        assert!(p.is_bind() && !p.is_recursive_bind());
        assert_eq!(p.rec_set, 0);
        assert_eq!(p.rec_clear, sfs::MOUNT_ATTR_RDONLY);
    }

    #[test]
    fn table_is_sorted_and_complete() {
        let n = names();
        let mut sorted = n.clone();
        sorted.sort();
        assert_eq!(n, sorted);
        assert!(n.contains(&"tmpcopyup") && n.contains(&"rnosymfollow"));
        assert!(n.contains(&"idmap") && n.contains(&"ridmap"));
    }

    #[test]
    fn idmap_options_are_not_passed_to_the_filesystem() {
        let p = parse(&v(&["rbind", "ridmap"]));
        assert_eq!((p.idmap, p.data.as_str()), (Some(true), ""));
        assert_eq!(parse(&v(&["bind", "idmap"])).idmap, Some(false));
        assert_eq!(parse(&v(&["bind"])).idmap, None);
    }
}
