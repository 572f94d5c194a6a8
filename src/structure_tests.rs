//! The crate's shape, checked: imports between modules only go down (the
//! promise of `lib.rs`'s map). A module that imports one which imports it
//! back, directly or through others, is a helper in the wrong file; the fix
//! is a home of its own for the shared piece, below both users.
//!
//! The check reads the sources as text: every `crate::`, `super::` and
//! `self::` path (with `{..}` groups), and in a `mod.rs`/`lib.rs` the bare
//! paths into its own child modules, name an edge from the module to the
//! longest module prefix of the path. Test code (`#[cfg(test)]` modules,
//! `*_tests.rs`, `tests.rs`, `testutil.rs`) and edges to a module's own
//! ancestors (its `mod.rs` types and errors) do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// Every module of `src/` (the library; not the binaries) and its source.
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(src).unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if rel != "bin" {
                    dirs.push(path);
                }
                continue;
            }
            let Some(stem) = rel.strip_suffix(".rs") else { continue };
            if stem == "main" {
                continue;
            }
            let mut m: Module = stem.split('/').map(str::to_owned).collect();
            if matches!(m.last().map(String::as_str), Some("mod" | "lib")) {
                m.pop();
            }
            out.insert(m, std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

fn is_test_module(m: &[String]) -> bool {
    m.last().is_some_and(|l| l.ends_with("_tests") || l == "tests" || l == "testutil")
}

/// `src` without comments and without the bodies of `#[cfg(test)] mod x { .. }`.
fn production_code(src: &str) -> String {
    let no_comments: String = src.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut out = String::new();
    let mut rest = no_comments.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let item_end = after.find(['{', ';']).unwrap_or(after.len());
        let is_inline_mod = after[..item_end].contains("mod ") && after[item_end..].starts_with('{');
        if !is_inline_mod {
            out.push_str(&after[..item_end.min(after.len())]);
            rest = &after[item_end..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (i, c) in after[item_end..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = item_end + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The paths a `use` group (`a::b, c::{d, e}`) names, relative to it.
fn group_paths(group: &str) -> Vec<Vec<String>> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&group[start..]);
    let mut out = Vec::new();
    for p in parts {
        let p = p.split(" as ").next().unwrap_or("").trim();
        if p.is_empty() || p == "self" || p == "*" {
            continue;
        }
        match p.split_once("::{") {
            Some((head, inner)) => {
                let head: Vec<String> = head.split("::").map(str::to_owned).collect();
                for tail in group_paths(inner.strip_suffix('}').unwrap_or(inner)) {
                    out.push(head.iter().cloned().chain(tail).collect());
                }
                out.push(head);
            }
            None => out.push(p.split("::").map(str::to_owned).collect()),
        }
    }
    out
}

fn ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths in `code` that start with `crate`, `super` or `self`, made
/// absolute from module `m`.
fn paths_in(code: &str, m: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("::") {
        // The head word right before this `::`, only where it starts a path.
        let before = &code[..at];
        let head_start = before.rfind(|c: char| !ident(c)).map_or(0, |i| i + 1);
        let head = &before[head_start..];
        if before[..head_start].ends_with("::") || !matches!(head, "crate" | "super" | "self") {
            continue;
        }
        // The rest of the path: idents and `::`, then maybe one `{..}` group.
        let tail = &code[at..];
        let mut end = 0;
        let mut segs = Vec::new();
        let mut group = None;
        while tail[end..].starts_with("::") {
            end += 2;
            if tail[end..].starts_with('{') {
                let mut depth = 0;
                for (i, c) in tail[end..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                group = Some(&tail[end + 1..end + i]);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                break;
            }
            let len = tail[end..].find(|c: char| !ident(c)).unwrap_or(tail.len() - end);
            if len == 0 {
                break;
            }
            segs.push(tail[end..end + len].to_owned());
            end += len;
        }
        let mut base: Vec<String> = match head {
            "crate" => Vec::new(),
            "self" => m.to_vec(),
            // `super` in a mod.rs or a file alike is the parent module.
            _ => m[..m.len().saturating_sub(1)].to_vec(),
        };
        let mut segs = segs.into_iter().peekable();
        while segs.peek().is_some_and(|s| s == "super") {
            segs.next();
            base.pop();
        }
        let path: Vec<String> = base.into_iter().chain(segs).collect();
        if let Some(g) = group {
            for p in group_paths(g) {
                out.push(path.iter().cloned().chain(p).collect());
            }
        }
        out.push(path);
    }
    out
}

/// The module edges of the library: module -> modules it imports.
fn edges(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mods = modules(src);
    let resolve = |p: &[String]| (1..=p.len()).rev().map(|k| p[..k].to_vec()).find(|k| mods.contains_key(k));
    let mut out = BTreeMap::new();
    for (m, text) in &mods {
        if is_test_module(m) {
            continue;
        }
        let code = production_code(text);
        let is_mod_rs = m.is_empty() || src.join(m.join("/")).join("mod.rs").exists();
        let mut paths = paths_in(&code, m);
        if is_mod_rs {
            // Bare paths into child modules (`systemd::start`, `v1::plan`).
            for (at, _) in code.match_indices("::") {
                let before = &code[..at];
                let start = before.rfind(|c: char| !ident(c)).map_or(0, |i| i + 1);
                if !before[..start].ends_with("::") && start < at {
                    let mut child = m.clone();
                    child.push(before[start..].to_owned());
                    paths.push(child);
                }
            }
        }
        let targets: BTreeSet<Module> = paths
            .iter()
            .filter_map(|p| resolve(p))
            .filter(|t| t != m && !(t.len() < m.len() && m.starts_with(t)) && !is_test_module(t))
            .collect();
        out.insert(m.clone(), targets);
    }
    out
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        found: Vec<Vec<Module>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Module) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut scc = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    scc.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if scc.len() > 1 {
                    self.found.push(scc);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn imports_only_go_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges(&src);
    assert!(edges.len() > 100, "read {} modules", edges.len());
    let mut report = String::new();
    for scc in cycles(&edges) {
        let set: BTreeSet<&Module> = scc.iter().collect();
        report.push_str(&format!("cycle: {}\n", scc.iter().map(|m| name(m)).collect::<Vec<_>>().join(", ")));
        for a in &scc {
            for b in edges[a].iter().filter(|b| set.contains(b)) {
                report.push_str(&format!("    {} -> {}\n", name(a), name(b)));
            }
        }
    }
    assert!(report.is_empty(), "modules that import each other (move the shared piece below both):\n{report}");
}

#[test]
fn the_check_sees_a_cycle() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path();
    std::fs::create_dir(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(src.join("a/mod.rs"), "mod x;\nmod y;\npub use x::X;\n").unwrap();
    std::fs::write(src.join("a/x.rs"), "use super::y::{Y, self};\npub struct X;\n").unwrap();
    std::fs::write(src.join("a/y.rs"), "pub struct Y(crate::a::x::X);\n#[cfg(test)]\nmod t { use crate::b::B; }\n")
        .unwrap();
    std::fs::write(src.join("b.rs"), "// crate::a::x\npub struct B;\n").unwrap();
    let e = edges(src);
    let m = |s: &str| s.split("::").map(str::to_owned).collect::<Module>();
    assert_eq!(e[&m("a::x")], BTreeSet::from([m("a::y")]));
    assert_eq!(e[&m("a::y")], BTreeSet::from([m("a::x")]), "test code and comments do not count");
    assert_eq!(e[&m("a")], BTreeSet::from([m("a::x")]));
    assert!(e[&m("b")].is_empty());
    let c = cycles(&e);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].iter().collect::<BTreeSet<_>>(), BTreeSet::from([&m("a::x"), &m("a::y")]));
}
