//! Idmapped bind mounts (config.md `idmap`/`ridmap`, `uidMappings`,
//! `gidMappings`). berth makes them before cloning the init, in the host's
//! user and mount namespaces that own the source filesystems: a detached
//! copy of the source (open_tree), idmapped with a user namespace that
//! carries the mount's mappings (mount_setattr MOUNT_ATTR_IDMAP). The init
//! inherits the descriptors and moves each one onto its destination
//! (`mounts::mount_all`), even from inside a new user namespace, where it
//! could not make them itself.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::plan::{IdMap, RootfsPlan};
use crate::error::{Context, Error, Result};
use crate::sys::fs as sfs;
use crate::sys::process::{clone_process, Forked};

/// One detached idmapped mount per idmapped entry of `plan.mounts` (None
/// for the others), in the same order.
pub fn prepare(plan: &RootfsPlan) -> Result<Vec<Option<OwnedFd>>> {
    let mut userns: HashMap<(String, String), OwnedFd> = HashMap::new();
    let mut out = Vec::with_capacity(plan.mounts.len());
    for (i, m) in plan.mounts.iter().enumerate() {
        let Some(map) = &m.idmap else {
            out.push(None);
            continue;
        };
        let src = m.source.as_deref().unwrap_or(std::path::Path::new(""));
        let what = |step: &str| format!("mounts[{i}]: idmapped mount of `{}`: {step}", src.display());
        let key = (crate::namespaces::id_map_text(Some(&map.uid)), crate::namespaces::id_map_text(Some(&map.gid)));
        if !userns.contains_key(&key) {
            let ns = userns_with(map)
                .map_err(|e| Error::Init(what(&format!("make a user namespace with its mappings: {e}"))))?;
            userns.insert(key.clone(), ns);
        }
        let ns = userns.get(&key).ok_or_else(|| Error::Init(what("user namespace missing")))?;
        let tree = sfs::open_tree_clone(src, m.opts.is_recursive_bind()).ctx(|| what("open the source"))?;
        sfs::set_idmap(tree.as_fd(), ns.as_fd(), map.recursive).map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::EINVAL) => " (the filesystem may not support idmapped mounts, or a submount does not: use `idmap` rather than `ridmap`)",
                _ => "",
            };
            Error::Init(what(&format!("set the idmapping: {}{hint}", crate::error::os_msg(&e))))
        })?;
        out.push(Some(tree));
    }
    Ok(out)
}

/// A user namespace with `map`'s mappings, held by the returned fd: a
/// short-lived child creates it, berth writes the maps and opens it, and
/// the child is killed.
fn userns_with(map: &IdMap) -> Result<OwnedFd> {
    let forked = clone_process(libc::CLONE_NEWUSER as u64, None).ctx(|| "clone".to_string())?;
    let pid = match forked {
        Forked::Child { .. } => {
            // Dies with berth if berth dies first; otherwise killed below.
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            loop {
                nix::unistd::pause();
            }
        }
        Forked::Parent { pid, .. } => pid,
    };
    let r = crate::namespaces::write_id_maps(pid, Some(&map.uid), Some(&map.gid))
        .and_then(|()| crate::namespaces::open_proc_ns(pid as u32, "user"));
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
    r
}
