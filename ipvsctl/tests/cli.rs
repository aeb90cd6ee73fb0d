//! The `ipvsctl` binary on the host, without IPVS: every case here fails (or
//! finishes) before the kernel is asked anything, so none of them needs root
//! or changes the machine. Messages and exit codes are ipvsadm 1.31's,
//! checked against it on Debian 12. Kernel behaviour is proven in the VM.
#![forbid(unsafe_code)]

use assert_cmd::Command;
use predicates::prelude::*;

fn ipvsctl() -> Command {
    Command::cargo_bin("ipvsctl").expect("the ipvsctl binary")
}

/// The program path as argv[0] gives it, which ipvsadm echoes in its hints.
fn prog() -> &'static str {
    env!("CARGO_BIN_EXE_ipvsctl")
}

fn try_help() -> String {
    let p = prog();
    format!("Try `{p} -h' or '{p} --help' for more information.\n")
}

/// `args` fails with `code`, prints nothing on stdout and exactly `stderr`.
fn fails(args: &[&str], code: i32, stderr: &str) {
    ipvsctl()
        .args(args)
        .assert()
        .code(code)
        .stdout("")
        .stderr(stderr.to_string());
}

fn usage(args: &[&str], message: &str) {
    fails(args, 2, &format!("{message}\n"));
}

#[test]
fn bad_weights_ports_and_thresholds() {
    let add = ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2"];
    for w in ["-1", "2147483648", "abc", "", "5 ", "0x5"] {
        let args: Vec<&str> = add.iter().copied().chain(["-w", w]).collect();
        usage(&args, "illegal weight specified");
    }
    let args: Vec<&str> = add.iter().copied().chain(["-x", "-5"]).collect();
    usage(&args, "illegal u_threshold specified");
    let args: Vec<&str> = add.iter().copied().chain(["-y", "x"]).collect();
    usage(&args, "illegal l_threshold specified");
    for svc in [
        "10.0.0.1:65536",
        "10.0.0.1:",
        "80",
        "[::1]",
        "1.2.3.4.5:80",
        "10.0.0.1:nosuchport",
    ] {
        usage(
            &["-A", "-t", svc],
            "illegal virtual server address[:port] specified",
        );
    }
    usage(
        &["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:99999"],
        "illegal real server address[:port] specified",
    );
    usage(&["-A", "-f", "0"], "invalid fwmark value `0' specified");
    usage(
        &["-A", "-t", "10.0.0.1:80", "-p", "0"],
        "invalid timeout value `0' specified",
    );
}

#[test]
fn schedulers_and_flags() {
    usage(
        &["-A", "-t", "10.0.0.1:80", "-b", "sh-port"],
        "incompatible scheduler flag `sh-port'",
    );
    usage(
        &["-A", "-t", "10.0.0.1:80", "-s", "rr", "-b", "mh-fallback"],
        "incompatible scheduler flag `mh-fallback'",
    );
    usage(
        &["-A", "-t", "10.0.0.1:80", "-s", "sh", "-b", "sh-port,bogus"],
        "invalid scheduler flag `bogus'",
    );
    usage(
        &["-A", "-t", "10.0.0.1:80", "-s", "rr", "-s", "wrr"],
        "multiple 'scheduler' options specified",
    );
    usage(
        &["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-s", "rr"],
        "Illegal 'scheduler' option with the 'add-server' command",
    );
}

#[test]
fn conflicting_commands_and_missing_options() {
    usage(&["-L", "-A"], "invalid option `-A'");
    usage(&["-LA"], "invalid option `-LA'");
    usage(
        &["-A"],
        "You need to supply the 'service-address' option for the 'add-service' command",
    );
    usage(
        &["-a", "-t", "10.0.0.1:80"],
        "You need to supply the 'real-server' option for the 'add-server' command",
    );
    usage(
        &["-d", "-t", "10.0.0.1:80", "-r", "10.0.0.2", "-m"],
        "Illegal 'forwarding-method' option with the 'delete-server' command",
    );
    usage(
        &["-L", "-c", "--timeout"],
        "The option 'timeout' conflicts with the 'connection' option in the 'list' command",
    );
    usage(
        &["-L", "-c", "--stats"],
        "options conflicts in the list command",
    );
    usage(
        &["-S", "-t", "10.0.0.1:80"],
        "Illegal 'service-address' option with the 'save' command",
    );
    usage(
        &["-A", "-t", "10.0.0.1:80", "-t", "10.0.0.2:80"],
        "multiple 'service-address' options specified",
    );
    usage(
        &["--set", "1", "2"],
        "--set option requires 3 timeout values",
    );
    usage(&["-C", "extra"], "unexpected argument extra");
}

#[test]
fn service_and_destination_rules() {
    usage(
        &["-A", "-t", "10.0.0.1:0"],
        "Zero port specified for non-persistent service",
    );
    usage(
        &["-A", "-t", "10.0.0.1"],
        "Zero port specified for non-persistent service",
    );
    usage(
        &["-A", "-t", "10.0.0.1:53", "-o"],
        "One-Packet Scheduling is only for UDP virtual services",
    );
    usage(&["-A", "-t", "10.0.0.1:80", "-6"], "-6 used before -f\n");
    usage(
        &["-a", "-t", "10.0.0.1:80", "-r", "[2001:db8::1]:80", "-m"],
        "Different address family is allowed only for tunneling servers",
    );
}

#[test]
fn tunnel_options_need_ipip() {
    let base = ["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2"];
    let run = |extra: &[&str], msg: &str| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        usage(&args, msg);
    };
    run(
        &["--tun-type", "gue"],
        "Tunnel options conflict with forward method",
    );
    run(
        &["-m", "--tun-csum"],
        "Tunnel options conflict with forward method",
    );
    run(
        &["-g", "--tun-port", "6080"],
        "Tunnel options conflict with forward method",
    );
    run(
        &["-i", "--tun-type", "gue"],
        "You need to supply the 'tun-port' option for the 'gue' tunnel type",
    );
    run(
        &["-i", "--tun-port", "6080"],
        "Illegal 'tun-port' option with the 'ipip' tunnel type",
    );
    run(
        &["-i", "--tun-type", "gre", "--tun-remcsum"],
        "Illegal 'tun-remcsum' option with the 'gre' tunnel type",
    );
    run(
        &[
            "-i",
            "--tun-type",
            "gue",
            "--tun-port",
            "1",
            "--tun-nocsum",
            "--tun-csum",
        ],
        "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type",
    );
    run(
        &["-i", "--tun-type", "vxlan"],
        "illegal tunnel type specified",
    );
}

#[test]
fn daemons() {
    usage(
        &["--start-daemon", "primary"],
        "illegal start-daemon parameter specified",
    );
    usage(&["--stop-daemon", "x"], "illegal start_daemon specified");
    usage(
        &["--start-daemon", "master", "--syncid", "256"],
        "illegal syncid specified",
    );
    usage(
        &["--start-daemon", "master", "--mcast-group", "10.0.0.1"],
        "invalid IPv4 mcast-group `10.0.0.1'",
    );
    usage(
        &["--stop-daemon", "master", "--mcast-ttl", "2"],
        "Illegal 'mcast-ttl' option with the 'stop-daemon' command",
    );
}

#[test]
fn malformed_options_exit_255() {
    fails(&["--bogus"], 255, &try_help());
    fails(&["-n", "-L"], 255, &try_help());
    fails(&["10.0.0.1"], 255, &try_help());
    fails(&["-A", "--bogus"], 255, "--bogus: unknown option\n");
    fails(&["-A", "-t"], 255, "-t: missing argument\n");
    fails(&["-At"], 255, "-At: missing argument\n");
    fails(
        &["-L", "--numeric=1"],
        255,
        "--numeric=1: option does not take an argument\n",
    );
    fails(
        &["-A", "-t", "10.0.0.1:80", "-p", "-1"],
        255,
        "-1: unknown option\n",
    );
}

#[test]
fn restore_checks_everything_before_sending() {
    let input = "-A -t 10.0.0.1:80 -s rr\n\
                 -a -t 10.0.0.1:80 -r 10.0.0.2 -m\n\
                 \n\
                 -a -t 10.0.0.1:80 -r 10.0.0.3 -m -w 70000x\n\
                 -A -t 10.0.0.9:80\n";
    ipvsctl()
        .arg("-R")
        .write_stdin(input)
        .assert()
        .code(2)
        .stdout("")
        .stderr("line 4: illegal weight specified\n");
    ipvsctl()
        .arg("-R")
        .write_stdin("-A -t 10.0.0.1:80\n-A --bogus\n")
        .assert()
        .code(255)
        .stderr("line 2: --bogus: unknown option\n");
    ipvsctl()
        .arg("--restore")
        .write_stdin("-A -t 10.0.0.1:80\n-t 10.0.0.2:80\n")
        .assert()
        .code(255)
        .stderr(format!("line 2: {}", try_help()));
    ipvsctl()
        .arg("-R")
        .write_stdin("ipvsadm -A -t 10.0.0.1:80 # web\n")
        .assert()
        .code(2)
        .stderr("line 1: unexpected argument #\n");
    usage(
        &["-R", "-n"],
        "Illegal 'numeric' option with the 'restore' command",
    );
}

#[test]
fn restore_json_checks_its_input() {
    ipvsctl()
        .args(["-R", "--json"])
        .write_stdin("{\"services\": [{\"protocol\": \"tcp\"}]}")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with("services[0]"));
    ipvsctl()
        .args(["-R", "--json"])
        .write_stdin("-A -t 10.0.0.1:80\n")
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("invalid JSON"));
}

#[test]
fn json_only_where_it_means_something() {
    usage(
        &["-A", "-t", "10.0.0.1:80", "--json"],
        "Illegal 'json' option with the 'add-service' command",
    );
    usage(
        &["--json", "--set", "1", "2", "3"],
        "Illegal 'json' option with the 'set' command",
    );
}

#[test]
fn help_and_version() {
    ipvsctl()
        .arg("--help")
        .assert()
        .success()
        .stderr("")
        .stdout(predicate::str::contains("--tcp-service <service-address>"))
        .stdout(predicate::str::contains("--json"))
        .stdout(predicate::str::contains("--netns <NAME|PATH>"));
    // -h is ipvsadm's usage text after our version line, with the program's own name.
    ipvsctl()
        .arg("-h")
        .assert()
        .success()
        .stderr("")
        .stdout(predicate::str::starts_with("ipvsctl v"))
        .stdout(predicate::str::contains("\nUsage:\n  "))
        .stdout(predicate::str::contains(
            "  --tcp-service|-t  service-address   service-address is host[:port]\n",
        ))
        .stdout(predicate::str::ends_with(
            "  --mcast-ttl ttl                     Multicast TTL (default=1)\n",
        ));
    ipvsctl()
        .arg("-v")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("ipvsctl v"))
        .stdout(predicate::str::contains("ipvsadm v1.31"));
}

#[test]
fn man_page_and_completions() {
    ipvsctl()
        .arg("--generate-man")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(".ie"))
        .stdout(predicate::str::contains(".TH ipvsctl"));
    for shell in ["bash", "zsh", "fish"] {
        ipvsctl()
            .args(["--generate-completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("real-server"));
    }
    fails(
        &["--generate-completions", "tcsh"],
        2,
        "unknown shell `tcsh' (bash, zsh, fish, elvish or powershell)\n",
    );
}

#[test]
fn program_name_comes_from_argv0() {
    let out = std::process::Command::new(prog())
        .arg("-Q")
        .output()
        .expect("run ipvsctl");
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(String::from_utf8_lossy(&out.stderr), try_help());
}

#[test]
fn watch_values_are_checked_before_the_kernel() {
    let interval = "(seconds, more than 0 and at most 86400)";
    usage(
        &["-Ln", "--watch", "0"],
        &format!("invalid --watch interval `0' specified {interval}"),
    );
    usage(
        &["-Ln", "--json", "--watch", "abc"],
        &format!("invalid --watch interval `abc' specified {interval}"),
    );
    usage(
        &["-Ln", "--watch", "1", "--count", "-1"],
        "invalid --count value `-1' specified (a whole number, 1 or more)",
    );
    usage(&["-Z", "--watch", "1"], "--watch is only for listings (-L)");
    usage(&["-Ln", "--count", "2"], "--count needs --watch");
}

#[test]
fn exporter_refuses_a_namespace_given_twice_before_opening_anything() {
    let p = prog();
    fails(
        &[
            "exporter", "--netns", "blue", "--netns", "green", "--netns", "blue",
        ],
        2,
        &format!("{p} exporter: --netns blue is given twice (each namespace once)\n"),
    );
}
