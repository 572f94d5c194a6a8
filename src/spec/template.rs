//! The default configuration `berth spec` writes: the same document as
//! `runc spec` (and `runc spec --rootless`), so bundles made for one run on
//! the other unchanged.

use oci_spec::runtime::Spec;

/// runc's default `config.json`, byte for byte (tab-indented).
pub const DEFAULT_JSON: &str = include_str!("default.json");
/// runc's `spec --rootless` document.
pub const ROOTLESS_JSON: &str = include_str!("rootless.json");

/// The entry runc's `spec` adds after the mount namespace when the host's
/// `/sys/fs/cgroup` is cgroup2: a container of its own cgroup namespace.
const MOUNT_NS: &str = "\t\t\t\t\"type\": \"mount\"\n\t\t\t}";
const MOUNT_AND_CGROUP_NS: &str =
    "\t\t\t\t\"type\": \"mount\"\n\t\t\t},\n\t\t\t{\n\t\t\t\t\"type\": \"cgroup\"\n\t\t\t}";

/// The text of `spec` (or `spec --rootless`): on a pure cgroup v2 host
/// (`unified`), runc's document has a cgroup namespace after the mount
/// namespace, and so does this one.
pub fn spec_text(rootless: bool, unified: bool) -> String {
    let t = if rootless { ROOTLESS_JSON } else { DEFAULT_JSON };
    if unified {
        t.replacen(MOUNT_NS, MOUNT_AND_CGROUP_NS, 1)
    } else {
        t.to_string()
    }
}

/// The default spec as a typed value, for callers that adjust it (imgtool).
pub fn default_spec(rootless: bool) -> Result<Spec, serde_json::Error> {
    serde_json::from_str(if rootless { ROOTLESS_JSON } else { DEFAULT_JSON })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_as_specs() {
        let s = default_spec(false).unwrap();
        assert_eq!(s.hostname().as_deref(), Some("runc"));
        let r = default_spec(true).unwrap();
        assert!(r.linux().as_ref().unwrap().uid_mappings().is_some());
    }

    fn namespace_types(text: &str) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn a_unified_host_gets_runcs_cgroup_namespace() {
        // what runc 1.1.5's `spec` (and `spec --rootless`) wrote with
        // cgroup2 at /sys/fs/cgroup, and without
        assert_eq!(namespace_types(&spec_text(false, false)), ["pid", "network", "ipc", "uts", "mount"]);
        assert_eq!(namespace_types(&spec_text(false, true)), ["pid", "network", "ipc", "uts", "mount", "cgroup"]);
        assert_eq!(namespace_types(&spec_text(true, false)), ["pid", "ipc", "uts", "mount", "user"]);
        assert_eq!(namespace_types(&spec_text(true, true)), ["pid", "ipc", "uts", "mount", "cgroup", "user"]);
        assert_eq!(spec_text(false, false), DEFAULT_JSON);
        // tab-indented like the rest of the document
        assert!(spec_text(false, true).contains("\t\t\t{\n\t\t\t\t\"type\": \"cgroup\"\n\t\t\t}\n\t\t],"));
    }
}
