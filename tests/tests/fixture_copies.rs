//! Each published crate carries the test data its own tests read, so that they pass from the
//! packaged sources (`cargo package` verifies them). Where that data is a copy of another
//! crate's (ipvsctl's output tests read ipvs-sys's captures; its apply tests read the README's
//! example rules file), the copies must stay the same bytes as their originals.

use std::path::Path;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn assert_same(copy: &str, original: &str) {
    let read = |p: &str| {
        let path = Path::new(ROOT).join(p);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    assert!(
        read(copy) == read(original),
        "{copy} differs from {original}: copy it again"
    );
}

#[test]
fn ipvsctl_fixtures_are_copies_of_ipvs_sys_captures() {
    let dir = Path::new(ROOT).join("ipvsctl/tests/fixtures");
    let mut copied = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let name = entry.expect("directory entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".nl") {
            assert_same(
                &format!("ipvsctl/tests/fixtures/{name}"),
                &format!("ipvs-sys/tests/fixtures/{name}"),
            );
            copied += 1;
        }
    }
    assert!(copied > 0, "no .nl fixture in {}", dir.display());
}

#[test]
fn ipvsctl_example_rules_are_the_docs_example() {
    assert_same(
        "ipvsctl/tests/fixtures/ipvs-rules.json",
        "docs/examples/ipvs-rules.json",
    );
}

#[test]
fn ipvsctl_example_healthd_rules_are_the_docs_example() {
    assert_same(
        "ipvsctl/tests/fixtures/healthd-rules.json",
        "docs/examples/healthd-rules.json",
    );
}
