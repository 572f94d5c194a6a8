//! The default configuration `berth spec` writes: the same document as
//! `runc spec` (and `runc spec --rootless`), so bundles made for one run on
//! the other unchanged.

use oci_spec::runtime::Spec;

/// runc's default `config.json`, byte for byte (tab-indented).
pub const DEFAULT_JSON: &str = include_str!("default.json");
/// runc's `spec --rootless` document.
pub const ROOTLESS_JSON: &str = include_str!("rootless.json");

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
}
