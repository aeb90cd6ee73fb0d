//! `ipvsctl top` on the host, without IPVS and without a terminal: what it refuses, before
//! the kernel is asked anything. The view itself is tested on ratatui's test backend
//! (src/top/tests.rs) and in a pseudo-terminal in the VM (tests/tests/kernel/top.rs).
#![forbid(unsafe_code)]

use assert_cmd::Command;
use predicates::prelude::*;

fn ipvsctl() -> Command {
    Command::cargo_bin("ipvsctl").expect("the ipvsctl binary")
}

#[test]
fn not_a_terminal_is_refused_with_the_listings_for_pipes() {
    // assert_cmd gives the program pipes, not a terminal.
    ipvsctl()
        .args(["top", "--interval", "2"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("top: needs a terminal")
                .and(predicate::str::contains("-Ln --rate --watch 1"))
                .and(predicate::str::contains("-Ln --json --watch 1")),
        );
}

#[test]
fn bad_values_are_named_with_exit_2() {
    for (args, value) in [
        (&["top", "--interval", "0"][..], "'0'"),
        (&["top", "--interval", "soon"], "'soon'"),
        (&["top", "--interval", "-1"], "'-1'"),
        (&["top", "--interval", "NaN"], "'NaN'"),
        (&["top", "--bogus"], "'--bogus'"),
    ] {
        ipvsctl()
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(value));
    }
    // The service as ipvsadm reads it: its own message and exit code.
    ipvsctl()
        .args(["top", "-t", "10.0.0.1:http-nope"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "top: -t 10.0.0.1:http-nope: illegal virtual server address[:port] specified",
        ));
    ipvsctl().args(["top", "-6"]).assert().code(2).stdout("");
}

#[test]
fn help_man_page_and_completions_know_top() {
    ipvsctl().args(["top", "--help"]).assert().code(0).stdout(
        predicate::str::contains("--interval <SECONDS>")
            .and(predicate::str::contains("--netns <NAME|PATH>"))
            .and(predicate::str::contains("NO_COLOR")),
    );
    ipvsctl()
        .arg("--generate-man")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(".SS \"ipvsctl top\""));
    ipvsctl()
        .args(["--generate-completions", "bash"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("top"));
    ipvsctl()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ipvsctl top [--netns name]"));
}
