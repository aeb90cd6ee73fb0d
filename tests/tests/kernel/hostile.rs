//! Hostile input to `ipvsctl -R` and `ipvsctl apply`: binary bytes, NUL, lines of megabytes, a
//! million lines, JSON nested a hundred thousand deep. Each ends in a clear error (naming the
//! line where there is one) or a success, never a panic or a hang, with the peak memory (RSS)
//! bounded, and after an error the kernel's table is what it was (`ipvsadm -S -n`).
//! Then SIGTERM in the middle of a long `-R` and a long `apply`: the kernel holds exactly the
//! lines `-R` says it applied, and nothing of what `apply` had made.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::{require_ipvs, run, NetNs};
use crate::support::ipvsadm_save;

/// What one run of ipvsctl did.
#[derive(Debug)]
struct Outcome {
    status: i32,
    stderr: String,
    /// Peak resident memory, from GNU time (`/bin/gnu-time`, shipped by tests/run: busybox's
    /// `time -v` reports four times the real figure).
    max_rss_kb: u64,
}

/// A file in the VM's /tmp with `bytes` (the input of a case).
fn input_file(ns: &NetNs, case: &str, bytes: &[u8]) -> PathBuf {
    let path = PathBuf::from(format!("/tmp/{}-{case}.in", ns.name()));
    std::fs::write(&path, bytes).expect("write the input");
    path
}

/// `ipvsctl ARGS < input` (input None: the file is named in ARGS) under GNU time and busybox
/// `timeout` (a hang is status 124 or 143), in the namespace.
fn ipvsctl_with(ns: &NetNs, args: &[&str], input: Option<&Path>) -> Outcome {
    let rss_file = format!("/tmp/{}-rss", ns.name());
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns.name(), "timeout", "300"])
        .args(["gnu-time", "-f", "%M", "-o", &rss_file, "ipvsctl"])
        .args(args)
        .stdout(Stdio::null());
    match input {
        Some(p) => cmd.stdin(std::fs::File::open(p).expect("open the input")),
        None => cmd.stdin(Stdio::null()),
    };
    let out = cmd.output().expect("run ipvsctl");
    let status = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let times = std::fs::read_to_string(&rss_file).unwrap_or_default();
    // The last line: GNU time puts "Command exited with non-zero status N" before it.
    let max_rss_kb = times
        .lines()
        .last()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS in time's report: {times}"));
    assert!(
        ![124, 143].contains(&status),
        "ipvsctl {args:?} did not end within 300 s"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "ipvsctl {args:?} panicked: {stderr}"
    );
    Outcome {
        status,
        stderr,
        max_rss_kb,
    }
}

/// A namespace with a small table that no case may change unless it succeeds.
fn table() -> (NetNs, Vec<String>) {
    let ns = NetNs::new();
    for rule in [
        "-A -t 10.70.0.1:80 -s wlc",
        "-a -t 10.70.0.1:80 -r 10.71.0.1:80 -m -w 2",
        "-A -u 10.70.0.2:53 -s rr",
    ] {
        let args: Vec<&str> = rule.split(' ').collect();
        ns.ipvsadm_ok(&args);
    }
    let before = ipvsadm_save(&ns);
    assert_eq!(before.len(), 3, "{before:?}");
    (ns, before)
}

/// Random bytes from a fixed seed (xorshift64*), the same on every run.
fn binary(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// `n` lines: `n - 1` blank ones, then `last`.
fn million(n: usize, last: &str) -> Vec<u8> {
    let mut v = vec![b'\n'; n - 1];
    v.extend_from_slice(last.as_bytes());
    v.push(b'\n');
    v
}

/// JSON nested `depth` deep: `open` `depth` times, a 1, `close` as often.
fn deep_json(depth: usize, open: &str, close: &str) -> Vec<u8> {
    let mut v = open.repeat(depth).into_bytes();
    v.push(b'1');
    v.extend(close.repeat(depth).bytes());
    v
}

/// Peak memory allowed for an input of `len` bytes: 64 MiB, plus 40 bytes a byte of input. The
/// input is read whole and checked before anything is sent; a line of one-letter words costs
/// most (a string a word: 4 MiB of `x ` peak near 150 MiB on the host), a million rules (45 MB)
/// about 150 MiB.
fn rss_bound_kb(len: usize) -> u64 {
    64 * 1024 + (40 * len as u64) / 1024
}

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    input: Vec<u8>,
    /// The status when it fails; None when it must succeed.
    fails_with: Option<i32>,
    /// What its message must say.
    says: &'static str,
}

fn check_cases(cases: Vec<Case>) {
    require_ipvs();
    let mut report = Vec::new();
    for case in cases {
        let (ns, before) = table();
        let file = input_file(&ns, case.name, &case.input);
        let (args, stdin): (Vec<String>, Option<&Path>) = if case.args.contains(&"-f") {
            let mut a: Vec<String> = case.args.iter().map(|s| s.to_string()).collect();
            a.push(file.display().to_string());
            (a, None)
        } else {
            (
                case.args.iter().map(|s| s.to_string()).collect(),
                Some(&file),
            )
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ipvsctl_with(&ns, &args, stdin);
        let after = ipvsadm_save(&ns);
        std::fs::remove_file(&file).ok();
        report.push(format!(
            "{}: {} bytes, status {}, peak RSS {} KiB, says {:?}",
            case.name,
            case.input.len(),
            out.status,
            out.max_rss_kb,
            out.stderr
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(100)
                .collect::<String>()
        ));
        eprintln!("{}", report.last().unwrap());
        match case.fails_with {
            Some(code) => {
                assert_eq!(out.status, code, "{}: {out:?}", case.name);
                assert_eq!(
                    after, before,
                    "{}: the table changed after an error",
                    case.name
                );
            }
            None => {
                assert_eq!(out.status, 0, "{}: {out:?}", case.name);
                assert!(after.len() > before.len(), "{}: nothing applied", case.name);
            }
        }
        assert!(
            case.fails_with.is_none() || !out.stderr.trim().is_empty(),
            "{}: an error without a message",
            case.name
        );
        assert!(
            out.stderr.contains(case.says),
            "{}: the message does not say {:?}: {:?}",
            case.name,
            case.says,
            out.stderr.chars().take(300).collect::<String>()
        );
        let bound = rss_bound_kb(case.input.len());
        assert!(
            out.max_rss_kb <= bound,
            "{}: peak RSS {} KiB over {bound} KiB",
            case.name,
            out.max_rss_kb
        );
    }
    eprintln!("hostile inputs: {} cases", report.len());
}

#[test]
fn restore_refuses_or_takes_hostile_input_cleanly_and_changes_nothing_on_error() {
    let megabyte_word = format!("-A -t 10.77.0.1:80 -s {}\n", "r".repeat(1 << 20));
    let mut nul_line =
        b"-A -t 10.77.0.1:80 -s rr\n-a -t 10.77.0.1:80 -r 10.78.0.1\0:80 -m\n".to_vec();
    nul_line.extend_from_slice(b"-A -t 10.77.0.2:80\n");
    let cases = vec![
        Case {
            name: "R-binary",
            args: &["-R"],
            input: binary(64 * 1024),
            fails_with: Some(255),
            says: "line 1: Try `ipvsctl -h'",
        },
        Case {
            name: "R-nul",
            args: &["-R"],
            input: nul_line,
            fails_with: Some(2),
            says: "line 2: illegal real server address[:port] specified",
        },
        Case {
            name: "R-nul-only",
            args: &["-R"],
            input: vec![0; 4096],
            fails_with: Some(255),
            says: "line 1: Try `ipvsctl -h'",
        },
        Case {
            name: "R-megabyte-word",
            args: &["-R"],
            input: megabyte_word.into_bytes(),
            fails_with: Some(2),
            says: "line 1: unexpected argument",
        },
        Case {
            name: "R-4MiB-line-of-words",
            args: &["-R"],
            input: format!("-A -t 10.77.0.1:80 {}", "x ".repeat(2 << 20)).into_bytes(),
            fails_with: Some(2),
            says: "line 1: unexpected argument x",
        },
        Case {
            name: "R-million-lines-last-bad",
            args: &["-R"],
            input: million(1_000_000, "-A -t 10.77.0.1:99999 -s rr"),
            fails_with: Some(2),
            says: "line 1000000: illegal virtual server address[:port] specified",
        },
        Case {
            name: "R-million-lines-ok",
            args: &["-R"],
            input: million(1_000_000, "-A -t 10.77.0.1:80 -s rr"),
            fails_with: None,
            says: "",
        },
        Case {
            name: "R-json-binary",
            args: &["-R", "--json"],
            input: binary(64 * 1024),
            fails_with: Some(2),
            says: "invalid JSON",
        },
        Case {
            name: "R-json-deep",
            args: &["-R", "--json"],
            input: deep_json(100_000, "[", "]"),
            fails_with: Some(2),
            says: "invalid JSON",
        },
    ];
    check_cases(cases);
}

#[test]
fn apply_refuses_hostile_input_cleanly_and_changes_nothing() {
    let cases = vec![
        Case {
            name: "apply-binary",
            args: &["apply", "-f"],
            input: binary(64 * 1024),
            fails_with: Some(2),
            says: "not UTF-8",
        },
        Case {
            name: "apply-nul-json",
            args: &["apply", "-f"],
            input: b"{\"services\": [\0]}".to_vec(),
            fails_with: Some(2),
            says: "apply: invalid JSON",
        },
        Case {
            name: "apply-megabyte-word",
            args: &["apply", "-f"],
            input: format!("-A -t 10.77.0.1:80 -s {}\n", "r".repeat(1 << 20)).into_bytes(),
            fails_with: Some(2),
            says: "apply: line 1: unexpected argument",
        },
        Case {
            name: "apply-million-lines-last-bad",
            args: &["apply", "-f"],
            input: million(1_000_000, "-A -t 10.77.0.1:99999 -s rr"),
            fails_with: Some(2),
            says: "apply: line 1000000: illegal virtual server address[:port] specified",
        },
        Case {
            name: "apply-deep-json",
            args: &["apply", "-f"],
            input: deep_json(100_000, "{\"services\":", "}"),
            fails_with: Some(2),
            says: "apply: invalid JSON",
        },
        Case {
            name: "apply-million-lines-ok",
            args: &["apply", "-f"],
            input: million(1_000_000, "-A -t 10.77.0.1:80 -s rr"),
            fails_with: None,
            says: "",
        },
    ];
    check_cases(cases);
}

/// `services` services of `per` destinations each, in `ipvsadm -S -n`'s words: one line a
/// change.
fn long_input(services: usize, per: usize) -> Vec<String> {
    let mut lines = Vec::with_capacity(services * (per + 1));
    for s in 0..services {
        let vip = format!("10.80.{}.{}:80", s / 250, 1 + s % 250);
        lines.push(format!("-A -t {vip} -s rr"));
        for d in 0..per {
            lines.push(format!(
                "-a -t {vip} -r 10.90.{}.{}:80 -m -w 1",
                d / 250,
                1 + d % 250
            ));
        }
    }
    lines
}

/// Starts `ipvsctl ARGS` (its stdin `input`), waits until the kernel shows the first service
/// of the input (so that the sending has begun), sends SIGTERM, and returns the status and
/// stderr.
fn terminate_midway(ns: &NetNs, args: &[&str], input: &Path) -> (i32, String) {
    let mut child = Command::new("ipvsctl")
        .args(args)
        .stdin(std::fs::File::open(input).unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ipvsctl");
    // /proc/net/ip_vs of the namespace, read from a thread inside it: no process per look.
    let mut seen = false;
    for _ in 0..30_000 {
        seen = ns.enter(|| {
            std::fs::read_to_string("/proc/thread-self/net/ip_vs")
                .is_ok_and(|t| t.contains("TCP  0A50"))
        });
        if seen || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(seen, "the kernel never showed the input's first service");
    let pid = child.id().to_string();
    let (rc, _, err) = run("kill", &["-TERM", &pid]);
    assert_eq!(rc, 0, "kill: {err}");
    let out = child.wait_with_output().expect("wait for ipvsctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sigterm_during_a_long_restore_leaves_exactly_the_lines_it_reports() {
    require_ipvs();
    let (ns, before) = table();
    let lines = long_input(500, 99); // 50,000 changes: 50 batches
    let mut text = lines.join("\n");
    text.push('\n');
    let file = input_file(&ns, "sigterm-restore", text.as_bytes());
    let (status, stderr) = terminate_midway(&ns, &["--netns", ns.name(), "-R"], &file);
    std::fs::remove_file(&file).ok();
    eprintln!("-R, SIGTERM midway: status {status}, {stderr}");
    assert_eq!(status, 143, "{stderr}");
    let last: usize = stderr
        .split("interrupted by SIGTERM: input lines 1 to ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line count in {stderr:?}"));
    assert!(
        stderr.contains(&format!(
            "lines 1 to {last} were applied, the lines after it were not sent"
        )),
        "{stderr}"
    );
    assert!(
        last > 0 && last < lines.len(),
        "interrupted at line {last} of {}",
        lines.len()
    );
    // Whole batches: the batch in flight was finished, none was cut.
    assert_eq!(last % 1000, 0, "line {last}");
    let mut expected: Vec<String> = before.clone();
    expected.extend(lines[..last].iter().cloned());
    expected.sort();
    let after = ipvsadm_save(&ns);
    assert!(
        after == expected,
        "the kernel holds {} lines, the first {last} of the input and the table make {}",
        after.len(),
        expected.len()
    );
}

#[test]
fn sigterm_during_a_long_apply_undoes_everything_it_made() {
    require_ipvs();
    let (ns, before) = table();
    let lines = long_input(500, 99);
    // apply makes the table the input: the table's own services stay (no --prune).
    let mut text = lines.join("\n");
    text.push('\n');
    let file = input_file(&ns, "sigterm-apply", text.as_bytes());
    let path = file.display().to_string();
    let (status, stderr) = terminate_midway(
        &ns,
        &["apply", "--netns", ns.name(), "-f", &path],
        Path::new("/dev/null"),
    );
    std::fs::remove_file(&file).ok();
    eprintln!("apply, SIGTERM midway: status {status}, {stderr}");
    assert_eq!(status, 143, "{stderr}");
    let made: usize = stderr
        .split("apply: interrupted by SIGTERM: the ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stderr:?}"));
    assert!(
        stderr.contains("changes made were undone; the table is as it was"),
        "{stderr}"
    );
    assert!(
        made > 0 && made < lines.len(),
        "{made} changes made of {}",
        lines.len()
    );
    assert_eq!(ipvsadm_save(&ns), before, "apply left part of its changes");
}
