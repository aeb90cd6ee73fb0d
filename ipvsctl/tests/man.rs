//! The man page `--generate-man` writes refers to no page that is not shipped: the only
//! ipvsctl page is the one it writes (section 8, as README installs it), and `apply` and
//! `drain` are described in it.

use std::process::Command;

fn man_page() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ipvsctl"))
        .arg("--generate-man")
        .output()
        .expect("run ipvsctl --generate-man");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Every `name(section)` the page refers to, with roff's `\-` read as `-`.
fn references(page: &str) -> Vec<String> {
    let text = page.replace("\\-", "-");
    let mut refs = Vec::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('(') {
        let sect = &text[i + 1..];
        let Some(close) = sect.find(')') else {
            continue;
        };
        if close != 1 || !sect.as_bytes()[0].is_ascii_digit() {
            continue;
        }
        let start = text[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .map_or(0, |s| s + 1);
        if start < i && bytes[start].is_ascii_alphabetic() {
            refs.push(text[start..i + 3].to_string());
        }
    }
    refs
}

#[test]
fn every_page_the_man_page_names_exists() {
    let page = man_page();
    assert!(page.contains(".TH ipvsctl 8"), "the page is not ipvsctl(8)");
    let refs = references(&page);
    assert!(refs.iter().any(|r| r == "ipvsadm(8)"), "{refs:?}");
    // Pages of other packages that a machine with IPVS has (ipvsadm, iproute2).
    let shipped_elsewhere = ["ipvsadm(8)", "ip-netns(8)"];
    for r in &refs {
        assert!(
            r == "ipvsctl(8)" || shipped_elsewhere.contains(&r.as_str()),
            "the man page refers to {r}, which no package ships"
        );
    }
}

#[test]
fn the_man_page_describes_apply_and_drain() {
    let page = man_page().replace("\\-", "-");
    for needle in [
        ".SS \"ipvsctl apply\"",
        ".SS \"ipvsctl drain\"",
        "--dry-run",
        "--prune",
        "--keep",
        "--sctp-service",
        "UDP and SCTP",
    ] {
        assert!(page.contains(needle), "{needle} missing from the man page");
    }
}
