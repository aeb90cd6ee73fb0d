//! ipvsctl's options that go anywhere (`--json`, `--netns`, `--watch`,
//! `--count`), and `-R` lines, which refuse them.

use std::time::Duration;

use super::super::{Command, Context, Watch};
use super::*;

fn restore_line(line: &str) -> Result<super::super::Invocation, super::super::Failure> {
    super::super::parse("ipvsctl", &args(line), Context::RestoreLine)
}

#[test]
fn json_before_the_command() {
    let inv = ok("--json -Ln");
    assert!(inv.json && matches!(inv.command, Command::List(_)));
}

#[test]
fn netns_and_json_after_the_command() {
    let inv = ok("-S --netns=/proc/1/ns/net --json");
    assert_eq!(inv.netns.as_deref(), Some("/proc/1/ns/net"));
    assert!(inv.json);
}

#[test]
fn restore_takes_json() {
    assert!(ok("-R --json").json);
}

#[test]
fn netns_with_a_change() {
    let inv = ok("--netns blue -A -t 1.2.3.4:80");
    assert_eq!(inv.netns.as_deref(), Some("blue"));
}

#[test]
fn json_is_illegal_with_changes() {
    usage(
        "-A -t 1.2.3.4:80 --json",
        "Illegal 'json' option with the 'add-service' command",
    );
    usage(
        "--json -C",
        "Illegal 'json' option with the 'flush' command",
    );
}

#[test]
fn netns_is_given_once() {
    usage(
        "--netns a --netns b -L",
        "multiple 'netns' options specified",
    );
}

#[test]
fn watch_with_count_and_json() {
    let inv = ok("-Ln --watch 2 --count 3 --json");
    assert_eq!(
        inv.watch,
        Some(Watch {
            interval: Duration::from_secs(2),
            count: Some(3)
        })
    );
    assert!(inv.json);
    assert!(matches!(inv.command, Command::List(_)));
}

#[test]
fn watch_a_fraction_of_a_second_without_count() {
    let inv = ok("--watch 0.5 -L -t 10.0.0.1:80");
    assert_eq!(
        inv.watch.map(|w| w.interval),
        Some(Duration::from_millis(500))
    );
    assert_eq!(inv.watch.and_then(|w| w.count), None);
}

#[test]
fn watch_any_listing() {
    assert_eq!(
        ok("-L --timeout --watch 1").watch.map(|w| w.count),
        Some(None)
    );
}

#[test]
fn no_watch_without_the_option() {
    assert_eq!(ok("-Ln").watch, None);
}

#[test]
fn watch_alone_watches_the_default_listing() {
    assert!(matches!(ok("--watch 1").command, Command::List(_)));
}

#[test]
fn bad_watch_intervals() {
    for v in ["0", "abc", "-1", "inf", "86401"] {
        usage(
            &format!("-L --watch {v}"),
            &format!(
                "invalid --watch interval `{v}' specified (seconds, more than 0 and at most 86400)"
            ),
        );
    }
}

#[test]
fn bad_counts() {
    for v in ["-1", "0", "x"] {
        usage(
            &format!("-L --watch 1 --count {v}"),
            &format!("invalid --count value `{v}' specified (a whole number, 1 or more)"),
        );
    }
}

#[test]
fn count_needs_watch() {
    usage("-L --count 3", "--count needs --watch");
}

#[test]
fn watch_is_only_for_listings() {
    for line in [
        "-Z --watch 1",
        "-S --watch 1",
        "-A -t 10.0.0.1:80 --watch 1",
        "--watch 1 -v",
    ] {
        usage(line, "--watch is only for listings (-L)");
    }
}

#[test]
fn restore_lines_take_changes() {
    assert!(restore_line("-A -t 1.2.3.4:80").is_ok());
}

#[test]
fn restore_lines_refuse_globals() {
    assert_eq!(
        restore_line("-L --json").unwrap_err().message,
        "--json: unknown option"
    );
    for line in ["--json -L", "--generate-man"] {
        assert_eq!(restore_line(line).unwrap_err().message, TRY, "{line:?}");
    }
}

#[test]
fn restore_lines_refuse_a_nested_restore() {
    assert_eq!(restore_line("-R").unwrap_err().message, TRY);
}

#[test]
fn an_empty_restore_line_is_no_command() {
    assert_eq!(restore_line("").unwrap_err().message, TRY);
}

#[test]
fn settings_only_with_a_json_save() {
    let inv = ok("-S -n --json --settings");
    assert!(inv.settings && inv.json);
    assert!(!ok("-S --json").settings);
    for line in [
        "-S --settings",
        "-L --json --settings",
        "-R --json --settings",
        "-A -t 10.0.0.1:80 --settings",
    ] {
        usage(line, "--settings is only for -S --json");
    }
}
