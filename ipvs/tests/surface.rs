//! The library's surface stays small (issue 18): at most 30 public methods on `Ipvs` and 46
//! public names at the crate root. Read from the sources, so a new method or re-export that
//! breaks the bound fails here, and the fix is a module or an existing entry point.

use std::fs;
use std::path::Path;

fn src(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(name);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The names `pub` items declare at column 0 of `text` (not those after `#[doc(hidden)]`).
fn declared(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut hidden = false;
    for line in text.lines() {
        if line.starts_with("#[doc(hidden)]") {
            hidden = true;
            continue;
        }
        let kinds = [
            "pub mod ",
            "pub struct ",
            "pub enum ",
            "pub fn ",
            "pub type ",
            "pub const ",
            "pub trait ",
        ];
        // bitflags! declares its types indented: `    pub struct ServiceFlags: u32 {`.
        let flags = line
            .strip_prefix("    pub struct ")
            .filter(|r| r.contains(": u"));
        if let Some(rest) = kinds.iter().find_map(|k| line.strip_prefix(k)).or(flags) {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !hidden {
                names.push(name);
            }
        }
        if !line.starts_with("#[") && !line.starts_with("///") && !line.trim().is_empty() {
            hidden = false;
        }
    }
    names
}

#[test]
fn ipvs_has_at_most_30_methods() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut methods = Vec::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with("impl Ipvs {") {
                inside = true;
            } else if inside && line.starts_with('}') {
                inside = false;
            } else if inside {
                if let Some(rest) = line.strip_prefix("    pub fn ") {
                    methods.push(rest.split('(').next().unwrap().to_string());
                }
            }
        }
    }
    assert!(
        methods.len() >= 20,
        "the scan found too few methods: {methods:?}"
    );
    assert!(
        methods.len() <= 30,
        "{} public methods on Ipvs: {methods:?}",
        methods.len()
    );
}

#[test]
fn the_crate_root_has_at_most_46_names() {
    let lib = src("lib.rs");
    let mut names = declared(&lib);
    // `pub use a::b::{C, D};` and `pub use a::B;` over one or more lines.
    let mut rest = lib.as_str();
    while let Some(at) = rest.find("\npub use ") {
        let stmt = &rest[at + 9..];
        let end = stmt.find(';').unwrap();
        let stmt = &stmt[..end];
        if stmt == "types::*" {
            names.extend(declared(&src("types.rs")));
        } else if let Some(open) = stmt.find('{') {
            names.extend(
                stmt[open + 1..stmt.len() - 1]
                    .split(',')
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty()),
            );
        } else {
            names.push(stmt.rsplit("::").next().unwrap().to_string());
        }
        rest = &rest[at + 9 + end..];
    }
    names.sort();
    names.dedup();
    assert!(names.len() >= 30, "the scan found too few names: {names:?}");
    assert!(
        names.len() <= 46,
        "{} names at the crate root: {names:?}",
        names.len()
    );
}
