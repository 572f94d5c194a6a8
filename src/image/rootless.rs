//! imgtool run by an unprivileged user (or as root of a user namespace that
//! does not own the host), as `umoci --rootless` works: files cannot be given
//! their image owners, so every file belongs to the caller (container root
//! once the config's user namespace maps it) and an owner other than root is
//! recorded in the `user.rootlesscontainers` xattr (the rootlesscontainers.com
//! convention umoci, PRoot and runROOTLESS read). Device nodes cannot be made.
//! The config gets a user namespace mapping container root to the caller, or
//! the `--uid-map`/`--gid-map` ranges given.

use oci_spec::runtime::{LinuxIdMapping, LinuxIdMappingBuilder};

use super::{Error, Result};

/// The xattr holding a file's owner inside the container.
pub const OWNER_XATTR: &str = "user.rootlesscontainers";

/// "Unchanged" in the rootlesscontainers payload (umoci's `NoopID`).
const NOOP_ID: u64 = u32::MAX as u64;

/// Whether this imgtool cannot chown or make devices: not root, or root only
/// of a user namespace (see [`crate::rootless::in_user_namespace`]).
pub fn is_rootless() -> bool {
    !nix::unistd::geteuid().is_root() || crate::rootless::in_user_namespace()
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The `user.rootlesscontainers` value for an entry owned by `uid:gid` in
/// the image: the protobuf message `Resource { uint32 uid = 1; uint32 gid =
/// 2; }` where root (the default owner) is written as `NoopID`. `None` for
/// root:root, which needs no record.
pub fn owner_record(uid: u64, gid: u64) -> Option<Vec<u8>> {
    if uid == 0 && gid == 0 {
        return None;
    }
    let id = |v: u64| if v == 0 { NOOP_ID } else { v.min(NOOP_ID) };
    let mut out = Vec::with_capacity(12);
    out.push(0x08); // field 1, varint
    varint(id(uid), &mut out);
    out.push(0x10); // field 2, varint
    varint(id(gid), &mut out);
    Some(out)
}

/// Parse `CONTAINER:HOST:SIZE` (umoci's `--uid-map` form).
pub fn parse_mapping(s: &str) -> Result<LinuxIdMapping> {
    let bad = || Error::IdMap(s.to_string());
    let parts: Vec<u32> =
        s.split(':').map(|p| p.trim().parse::<u32>()).collect::<std::result::Result<_, _>>().map_err(|_| bad())?;
    let [container, host, size] = parts[..] else { return Err(bad()) };
    if size == 0 || container.checked_add(size - 1).is_none() || host.checked_add(size - 1).is_none() {
        return Err(bad());
    }
    mapping(container, host, size).ok_or_else(bad)
}

fn mapping(container: u32, host: u32, size: u32) -> Option<LinuxIdMapping> {
    LinuxIdMappingBuilder::default().container_id(container).host_id(host).size(size).build().ok()
}

/// The mappings for the config: those given, else container root onto the
/// caller's own id (what `berth spec --rootless` writes).
pub fn mappings(given: &[String], own: u32) -> Result<Vec<LinuxIdMapping>> {
    if given.is_empty() {
        return mapping(0, own, 1).map(|m| vec![m]).ok_or_else(|| Error::IdMap(format!("0:{own}:1")));
    }
    given.iter().map(|s| parse_mapping(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_records_are_rootlesscontainers_protobuf() {
        assert_eq!(owner_record(0, 0), None);
        // uid 1000 (0xe8 0x07), gid root -> NoopID (0xffffffff).
        assert_eq!(owner_record(1000, 0).unwrap(), vec![0x08, 0xe8, 0x07, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(owner_record(1, 2).unwrap(), vec![0x08, 1, 0x10, 2]);
    }

    #[test]
    fn mappings_parse_and_default_to_the_caller() {
        let m = parse_mapping("0:100000:65536").unwrap();
        assert_eq!((m.container_id(), m.host_id(), m.size()), (0, 100000, 65536));
        for bad in ["0:1", "a:b:c", "0:1:0", "1:2:3:4", "4294967295:0:2"] {
            assert!(matches!(parse_mapping(bad), Err(Error::IdMap(_))), "{bad}");
        }
        let d = mappings(&[], 1234).unwrap();
        assert_eq!((d[0].container_id(), d[0].host_id(), d[0].size()), (0, 1234, 1));
        assert_eq!(mappings(&["0:5:1".into(), "1:100:10".into()], 0).unwrap().len(), 2);
    }
}
