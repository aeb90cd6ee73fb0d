//! No import circles between ipvsctl's modules (issue 18): in the graph of `use` declarations
//! (`crate::`, `super::`, `self::` and a parent's `use child::`, re-exports included), read from
//! `src/` with test modules and comments left out, no module reaches itself again. A circle
//! means two modules that can only be understood together; the fix is a third module both use
//! (as `cli/entry.rs` for the options and the parser).
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module by its path from the crate root (`["cli", "parser"]`).
type Module = Vec<String>;

/// Every module of `src` but the tests, with its source (test modules and comments cut).
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path == src.join("main.rs") {
                continue;
            }
            let rel = path
                .strip_prefix(src)
                .expect("under src")
                .with_extension("");
            let mut module: Module = rel
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            if module.iter().any(|m| m == "tests" || m.ends_with("_tests")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            found.insert(module, code(&text));
        }
    }
    found
}

/// The source without line comments and without a `#[cfg(test)] mod NAME { ... }` (always last).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod ") && next.ends_with('{'))
        {
            break;
        }
        out.push_str(line.split("//").next().unwrap_or(""));
        out.push('\n');
    }
    out
}

/// The paths a use tree names: `a::{b, c::{d as e}}` gives `a::b` and `a::c::d`.
fn paths(tree: &str) -> Vec<Vec<String>> {
    let Some(open) = tree.find('{') else {
        let leaf = tree.split(" as ").next().unwrap_or("");
        return vec![leaf
            .split("::")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s != "self" && s != "*")
            .collect()];
    };
    let close = tree.rfind('}').expect("a closing brace");
    let prefix = paths(tree[..open].trim_end_matches([':', ' ']))
        .pop()
        .unwrap_or_default();
    let (mut items, mut depth, mut start) = (Vec::new(), 0, open + 1);
    for (i, ch) in tree.char_indices().take(close).skip(open + 1) {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&tree[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&tree[start..close]);
    items
        .into_iter()
        .filter(|item| !item.trim().is_empty())
        .flat_map(paths)
        .map(|p| prefix.iter().cloned().chain(p).collect())
        .collect()
}

/// The module->module edges of the `use` declarations.
fn edges(modules: &BTreeMap<Module, String>) -> BTreeSet<(Module, Module)> {
    let mut edges = BTreeSet::new();
    for (module, text) in modules {
        // rustfmt puts each `use` declaration at the start of a line.
        let starts = text.match_indices('\n').map(|(i, _)| i + 1).chain([0]);
        for start in starts {
            let line = text[start..].trim_start_matches(' ');
            let Some(decl) = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
                .iter()
                .find_map(|p| line.strip_prefix(p))
            else {
                continue;
            };
            let Some(end) = decl.find(';') else { continue };
            let tree = decl[..end].split_whitespace().collect::<Vec<_>>().join(" ");
            for path in paths(&tree) {
                let Some(first) = path.first() else { continue };
                let mut full: Module = match first.as_str() {
                    "crate" => Vec::new(),
                    "super" => module[..module.len().saturating_sub(1)].to_vec(),
                    child => {
                        let below: Module = [module.clone(), vec![child.to_string()]].concat();
                        if !modules.contains_key(&below) {
                            continue;
                        }
                        below
                    }
                };
                let mut segs = path[1..].iter().peekable();
                while segs.peek().is_some_and(|s| *s == "super") {
                    full.pop();
                    segs.next();
                }
                full.extend(segs.cloned());
                // The longest prefix that is a module: `output::text::list_text` is `output::text`.
                let target = (0..=full.len())
                    .rev()
                    .map(|n| full[..n].to_vec())
                    .find(|m| modules.contains_key(m));
                if let Some(target) = target.filter(|t| t != module) {
                    edges.insert((module.clone(), target));
                }
            }
        }
    }
    edges
}

/// A circle of the graph, if there is one (depth first, the path on the stack).
fn circle(edges: &BTreeSet<(Module, Module)>) -> Option<Vec<Module>> {
    let mut next: BTreeMap<&Module, Vec<&Module>> = BTreeMap::new();
    for (a, b) in edges {
        next.entry(a).or_default().push(b);
    }
    let mut done = BTreeSet::new();
    fn visit<'a>(
        m: &'a Module,
        next: &BTreeMap<&'a Module, Vec<&'a Module>>,
        stack: &mut Vec<&'a Module>,
        done: &mut BTreeSet<&'a Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = stack.iter().position(|s| *s == m) {
            return Some(stack[at..].iter().map(|m| (*m).clone()).collect());
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m);
        for n in next.get(m).into_iter().flatten() {
            if let Some(c) = visit(n, next, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m);
        None
    }
    let starts: Vec<&Module> = next.keys().copied().collect();
    starts
        .into_iter()
        .find_map(|m| visit(m, &next, &mut Vec::new(), &mut done))
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

#[test]
fn no_module_of_ipvsctl_imports_one_that_imports_it_back() {
    let modules = modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let edges = edges(&modules);
    // The reading sees the graph: known edges are in it (else no circle could be found either).
    let m = |s: &str| s.split("::").map(String::from).collect::<Module>();
    for (a, b) in [
        ("cli::parser", "cli::options"),
        ("cli::options", "cli::entry"),
        ("output::text", "output::listing"),
        ("cli", "cli::lexer"),
    ] {
        assert!(edges.contains(&(m(a), m(b))), "no edge {a} -> {b}");
    }
    assert!(edges.len() > 60, "only {} edges", edges.len());
    if let Some(c) = circle(&edges) {
        let names: Vec<String> = c.iter().chain(c.first()).map(name).collect();
        panic!("an import circle: {}", names.join(" -> "));
    }
}

#[test]
fn a_circle_is_found() {
    let modules: BTreeMap<Module, String> = [
        (vec![], "mod a;\nmod b;\n".to_string()),
        (vec!["a".into()], "use super::b::{self, X};\n".to_string()),
        (vec!["b".into()], "pub use crate::a::Y as Z;\n".to_string()),
    ]
    .into_iter()
    .collect();
    let edges = edges(&modules);
    assert_eq!(edges.len(), 2, "{edges:?}");
    assert!(circle(&edges).is_some());
}
