//! Capabilities: the name table (which also feeds `berth features`) and
//! applying the five sets in the kernel's required order: bounding first
//! (while we still hold CAP_SETPCAP), then — after the uid switch, done with
//! keepcaps — permitted/effective/inheritable, then ambient.

use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::{Error, Result};

/// Every capability name berth knows, in kernel order.
pub fn names() -> Vec<String> {
    let mut all: Vec<Capability> = caps::all().into_iter().collect();
    all.sort_by_key(|c| c.index());
    all.iter().map(|c| c.to_string()).collect()
}

/// The five sets, as the kernel crate's type.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CapPlan {
    pub bounding: CapsHashSet,
    pub effective: CapsHashSet,
    pub permitted: CapsHashSet,
    pub inheritable: CapsHashSet,
    pub ambient: CapsHashSet,
}

fn convert(set: &Option<Capabilities>, field: &str) -> Result<CapsHashSet> {
    let mut out = CapsHashSet::new();
    for c in set.iter().flatten() {
        let name = serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let cap: Capability = name.parse().map_err(|_| {
            Error::config(format!("process.capabilities.{field}"), format!("unknown capability `{name}`"))
        })?;
        out.insert(cap);
    }
    Ok(out)
}

/// Translate the config's capability object. An absent object means every
/// set is empty (the container runs without capabilities).
pub fn plan(c: Option<&LinuxCapabilities>) -> Result<CapPlan> {
    let Some(c) = c else { return Ok(CapPlan::default()) };
    Ok(CapPlan {
        bounding: convert(c.bounding(), "bounding")?,
        effective: convert(c.effective(), "effective")?,
        permitted: convert(c.permitted(), "permitted")?,
        inheritable: convert(c.inheritable(), "inheritable")?,
        ambient: convert(c.ambient(), "ambient")?,
    })
}

/// Drop every capability not in the bounding set (needs CAP_SETPCAP, so it
/// runs before the uid switch). Capabilities the kernel does not know are
/// skipped.
pub fn drop_bounding(p: &CapPlan) -> Result<()> {
    use crate::sys::process::{capbset_drop, capbset_read};
    // The prctls themselves (sys::process), not caps::drop: its error is a
    // string, and the errno (EPERM, EINVAL) decides here.
    // Dropped straight away, one prctl each, not read first: dropping a
    // capability that is not in the set is no error. Only without
    // CAP_SETPCAP (EPERM) is the set read, to tell "already out" (fine)
    // from "cannot drop" (fatal).
    for cap in caps::all() {
        if p.bounding.contains(&cap) {
            continue;
        }
        let dropped = match capbset_drop(cap.index()) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => match capbset_read(cap.index()) {
                Ok(false) => Ok(()),
                _ => Err(e),
            },
            r => r,
        };
        match dropped {
            Ok(()) => {}
            // A capability this kernel does not have.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            Err(e) => {
                return Err(Error::Init(format!(
                    "drop `{cap}` from the bounding set: {}",
                    crate::error::errno_text(e.raw_os_error().unwrap_or(0))
                )))
            }
        }
    }
    Ok(())
}

/// Set permitted, inheritable, effective and ambient (after the uid switch).
pub fn apply_sets(p: &CapPlan) -> Result<()> {
    let set = |which: CapSet, v: &CapsHashSet, name: &str| {
        caps::set(None, which, v).map_err(|e| Error::Init(format!("set {name} capabilities: {e}")))
    };
    // The kernel checks each capset(2) against the sets as they are:
    // effective must stay within permitted, and inheritable may only grow
    // within the old permitted set. So shrink effective first, then set
    // inheritable, and reduce permitted last.
    set(CapSet::Effective, &p.effective, "effective")?;
    set(CapSet::Inheritable, &p.inheritable, "inheritable")?;
    set(CapSet::Permitted, &p.permitted, "permitted")?;
    // Ambient capabilities must be both permitted and inheritable; like runc,
    // ones that are not are skipped rather than failing the container.
    caps::clear(None, CapSet::Ambient).map_err(|e| Error::Init(format!("clear ambient capabilities: {e}")))?;
    for cap in &p.ambient {
        if p.permitted.contains(cap) && p.inheritable.contains(cap) {
            caps::raise(None, CapSet::Ambient, *cap)
                .map_err(|e| Error::Init(format!("raise ambient capability `{cap}`: {e}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load::parse_spec;

    #[test]
    fn names_are_kernel_names() {
        let n = names();
        assert_eq!(n[0], "CAP_CHOWN");
        assert!(n.contains(&"CAP_BPF".to_string()));
    }

    #[test]
    fn plan_translates_every_set() {
        let s = parse_spec(
            br#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0},"capabilities":{
            "bounding":["CAP_KILL","CAP_CHOWN"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"],
            "inheritable":[],"ambient":["CAP_KILL"]}}}"#,
        )
        .unwrap();
        let p = plan(s.process().as_ref().unwrap().capabilities().as_ref()).unwrap();
        assert_eq!(p.bounding.len(), 2);
        assert!(p.effective.contains(&Capability::CAP_KILL));
        assert!(p.inheritable.is_empty());
        assert_eq!(p.ambient.len(), 1);
    }
}
