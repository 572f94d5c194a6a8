//! Every field of the runtime-spec config, and what berth does with it:
//! applied, refused, or not applied with a warning that names it. Nothing
//! a config sets is dropped without a word (issue 14): create (and exec,
//! for its `--process` file) walk the JSON they were given through
//! [`review`], which looks each field up here.
//!
//! The table is checked against oci-spec's own types by a test that asks
//! serde for every field they have (`probe.rs`): a field oci-spec gains
//! fails that test until it has a line here. `features` reads the same
//! table, so it cannot claim what is not applied.
//!
//! Paths are JSON paths: keys joined by `.`, `[]` for the elements of an
//! array, `*` for the keys of a map. A row covers its own field and
//! everything below it; the longest row that covers a field decides.

use serde_json::Value;

use crate::error::{Error, Result};

/// What berth does with a field that is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Applied; the text says by what (refusing values the host cannot
    /// take, where it says so).
    Applied(&'static str),
    /// Read by the module named, which applies some values and warns about
    /// the others (naming the field) or refuses them, as the text says.
    Checked(&'static str),
    /// Not applied: the container runs, and a warning names the field.
    Warned(&'static str),
    /// A config that sets it is refused before anything is created.
    Refused(&'static str),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub path: &'static str,
    pub handling: Handling,
}

mod table;
pub use table::TABLE;

/// Whether the config was given whole, or as exec's `process` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Config,
    Process,
}

/// The handling of the field at `path` (e.g. `linux.netDevices.*.name`).
pub fn handling(path: &str) -> Option<Handling> {
    lookup(path).map(|f| f.handling)
}

/// Whether berth applies the field at `path` (for `features`).
pub fn is_applied(path: &str) -> bool {
    matches!(handling(path), Some(Handling::Applied(_)))
}

/// Look at every field `value` sets: a refused one is an error naming it;
/// the others that are not applied, and fields the runtime-spec does not
/// have (which config.md says to ignore), come back as warnings, one per
/// field.
pub fn review(value: &Value, scope: Scope) -> Result<Vec<String>> {
    let mut r = Review::default();
    let (root, what) = match scope {
        Scope::Config => (String::new(), "config.json"),
        Scope::Process => ("process".to_string(), "process file"),
    };
    let rows: Vec<&'static Field> = TABLE.iter().filter(|f| related(f.path, &root)).collect();
    r.walk(value, root, &rows);
    if let Some((path, why)) = r.refused.first() {
        return Err(Error::config(path.clone(), *why));
    }
    let mut out = Vec::new();
    for (path, why) in r.warned {
        out.push(format!("{what}: `{path}` is not applied: {why}"));
    }
    for path in r.unknown {
        out.push(format!("{what}: unknown field `{path}` is ignored"));
    }
    Ok(out)
}

#[derive(Default)]
struct Review {
    warned: Vec<(String, &'static str)>,
    refused: Vec<(String, &'static str)>,
    unknown: Vec<String>,
}

impl Review {
    /// Walk the value at `path`; `rows` are the rows that cover `path` or
    /// lie below it (the table narrows as the walk descends).
    fn walk(&mut self, v: &Value, path: String, rows: &[&'static Field]) {
        if let Some(f) = rows.iter().filter(|f| covers(f.path, &path)).max_by_key(|f| f.path.len()) {
            match f.handling {
                Handling::Applied(_) | Handling::Checked(_) => {}
                Handling::Warned(why) => {
                    if !self.warned.iter().any(|(p, _)| p == f.path) {
                        self.warned.push((f.path.to_string(), why));
                    }
                }
                Handling::Refused(why) => self.refused.push((f.path.to_string(), why)),
            }
            return;
        }
        let below = |p: &str| -> Vec<&'static Field> { rows.iter().copied().filter(|f| related(f.path, p)).collect() };
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let literal = join(&path, k);
                    let mut sub = below(&literal);
                    let mut next = literal;
                    if sub.is_empty() {
                        // A map: its keys are `*` in the table.
                        let star = join(&path, "*");
                        sub = below(&star);
                        if sub.is_empty() {
                            self.unknown(next);
                            continue;
                        }
                        next = star;
                    }
                    self.walk(child, next, &sub);
                }
            }
            Value::Array(a) => {
                let item = format!("{path}[]");
                let sub = below(&item);
                for child in a {
                    self.walk(child, item.clone(), &sub);
                }
            }
            // A value where the table has an object or array.
            _ => {}
        }
    }

    fn unknown(&mut self, path: String) {
        if !self.unknown.contains(&path) {
            self.unknown.push(path);
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `entry` covers `path`: the same node or one below it.
fn covers(entry: &str, path: &str) -> bool {
    path.strip_prefix(entry).is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with("[]"))
}

fn lookup(path: &str) -> Option<&'static Field> {
    TABLE.iter().filter(|f| covers(f.path, path)).max_by_key(|f| f.path.len())
}

/// The row at `row` covers `path` or lies below it.
fn related(row: &str, path: &str) -> bool {
    path.is_empty() || covers(row, path) || covers(path, row)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::spec::probe;

    /// Fields of runtime-spec 1.3's schema that oci-spec 0.10 does not
    /// have (it drops them when parsing; `review` still sees them).
    const NOT_IN_OCI_SPEC: &[&str] = &["freebsd"];

    /// Rows that stand for everything below them: maps of free-form keys
    /// and values, and sections berth does not read.
    const SUBTREES: &[&str] = &[
        "annotations",
        "linux.sysctl",
        "linux.resources.unified",
        "uidMappings",
        "gidMappings",
        "solaris",
        "windows",
        "zos",
        "vm",
    ];

    /// Every field oci-spec can parse has a row of its own (or is below a
    /// row of SUBTREES), and every row names a field oci-spec has: a field
    /// added to oci-spec fails here until the table says what berth does
    /// with it.
    #[test]
    fn the_table_covers_every_field_of_oci_spec() {
        let leaves = probe::leaf_paths::<oci_spec::runtime::Spec>();
        let uncovered: Vec<&String> = leaves
            .iter()
            .filter(|p| {
                let field = p.strip_suffix("[]").unwrap_or(p);
                !TABLE.iter().any(|f| f.path == field) && !SUBTREES.iter().any(|s| covers(s, p))
            })
            .collect();
        assert!(uncovered.is_empty(), "fields with no row in spec::fields::TABLE: {uncovered:#?}");
        let nodes = probe::node_paths::<oci_spec::runtime::Spec>();
        let stale: Vec<&str> =
            TABLE.iter().map(|f| f.path).filter(|p| !nodes.contains(*p) && !NOT_IN_OCI_SPEC.contains(p)).collect();
        assert!(stale.is_empty(), "rows that name no field of oci-spec: {stale:?}");
        let mut seen = BTreeSet::new();
        for f in TABLE {
            assert!(seen.insert(f.path), "row `{}` twice", f.path);
        }
    }

    /// exec's `process` object is covered by the same rows.
    #[test]
    fn the_table_covers_exec_process_objects() {
        for leaf in probe::leaf_paths::<oci_spec::runtime::Process>() {
            let path = format!("process.{leaf}");
            assert!(lookup(&path).is_some(), "{path} has no row");
        }
    }

    fn review_json(json: &str) -> Result<Vec<String>> {
        review(&serde_json::from_str(json).unwrap(), Scope::Config)
    }

    #[test]
    fn applied_fields_pass_quietly() {
        let w = review_json(crate::spec::template::DEFAULT_JSON).unwrap();
        assert!(w.is_empty(), "{w:?}");
        let w = review_json(
            r#"{"ociVersion":"1.3.0","annotations":{"a.b":"c"},"linux":{"sysctl":{"net.ipv4.ip_forward":"1"},
            "netDevices":{"eth0.5":{"name":"x"}},"timeOffsets":{"monotonic":{"secs":1}},"resources":{},
            "memoryPolicy":{"mode":"MPOL_BIND","nodes":"0"}},"mounts":[],"process":{"capabilities":{}}}"#,
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
    }

    /// A field its module decides on (memory.kernel: warned by cgroups
    /// when not 0) is not warned about twice.
    #[test]
    fn checked_fields_are_left_to_their_module() {
        let w = review_json(r#"{"ociVersion":"1.3.0","linux":{"mountLabel":"x","resources":{"memory":{"kernel":0}}}}"#);
        assert!(w.unwrap().is_empty());
        assert!(matches!(handling("linux.resources.memory.kernel"), Some(Handling::Checked(_))));
        assert!(!is_applied("linux.resources.memory.kernel"));
    }

    #[test]
    fn fields_not_applied_are_named_once() {
        let w = review_json(
            r#"{"ociVersion":"1.3.0","process":{"commandLine":"x","user":{"uid":0,"username":"u"}},
            "linux":{"personality":{"domain":"LINUX","flags":["a","b"]}},"windows":{"layerFolders":["a","b"]},
            "solaris":{"milestone":"m"}}"#,
        )
        .unwrap();
        assert_eq!(w.len(), 5, "{w:?}");
        for field in ["process.commandLine", "process.user.username", "linux.personality.flags", "windows", "solaris"] {
            assert!(w.iter().any(|l| l.contains(&format!("`{field}`"))), "{field}: {w:?}");
        }
    }

    #[test]
    fn unknown_fields_are_named() {
        let w = review_json(
            r#"{"ociVersion":"1.3.0","linux":{"resourcez":{"x":1},"netDevices":{"eth0":{"nom":"x"}}},"extra":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(
            w,
            [
                "config.json: unknown field `extra` is ignored",
                "config.json: unknown field `linux.netDevices.*.nom` is ignored",
                "config.json: unknown field `linux.resourcez` is ignored",
            ]
        );
    }

    #[test]
    fn refused_fields_are_errors() {
        let e = review_json(r#"{"ociVersion":"1.3.0","vm":{"hypervisor":{"path":"/x"}}}"#).unwrap_err().to_string();
        assert!(e.contains("`vm`") || e.contains("vm:"), "{e}");
        assert!(e.contains("virtual machine"), "{e}");
    }

    #[test]
    fn exec_process_files_are_reviewed_as_process() {
        let v = serde_json::json!({"args": ["x"], "cwd": "/", "commandLine": "x", "bogus": 1});
        let w = review(&v, Scope::Process).unwrap();
        assert_eq!(
            w,
            [
                "process file: `process.commandLine` is not applied: is for Windows; process.args is used on Linux",
                "process file: unknown field `process.bogus` is ignored",
            ]
        );
    }

    #[test]
    fn lookups() {
        assert!(is_applied("linux.netDevices.*.name"));
        assert!(is_applied("linux.intelRdt.schemata"));
        assert!(is_applied("linux.resources.memory.limit"));
        assert!(!is_applied("linux.personality.flags"));
        assert_eq!(handling("linux.bogus"), None);
    }
}
