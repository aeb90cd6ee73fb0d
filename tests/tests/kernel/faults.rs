//! Faults: no privileges, a namespace that goes away, a reply that never comes, answers that
//! overflow the socket. Each ends in a clear message or error, never a hang or a panic. (A dump
//! interrupted by a concurrent change, `NLM_F_DUMP_INTR`, which IPVS's dumps never mark, is
//! injected in ipvs-sys's host tests, `socket::tests`.)

use std::net::IpAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use ipvs::{Change, Ipvs, Service, ServiceKey};
use ipvs_sys::{Error as SysError, IpvsSocket};

use crate::harness::{require_ipvs, run, NetNs};
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The uid and gid of `nobody`: no capabilities once a process has switched to them.
const NOBODY: u32 = 65534;

/// Runs `program args` as nobody, bounded by busybox `timeout` (a hang exits 124 or 143):
/// status, stdout, stderr.
fn as_nobody(program: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("timeout")
        .arg("30")
        .arg(program)
        .args(args)
        .uid(NOBODY)
        .gid(NOBODY)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} as nobody: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn without_cap_net_admin_ipvsctl_says_what_ipvsadm_says_and_exits_as_it_does() {
    require_ipvs();
    // The user really has no privilege: its capability sets are empty.
    let (_, status, _) = as_nobody("cat", &["/proc/self/status"]);
    let caps: Vec<&str> = status
        .lines()
        .filter(|l| l.starts_with("CapEff:") || l.starts_with("CapPrm:"))
        .collect();
    assert_eq!(caps.len(), 2, "{status}");
    assert!(
        caps.iter().all(|l| l.ends_with("0000000000000000")),
        "{caps:?}"
    );

    let cases: &[&[&str]] = &[
        &["-L", "-n"],
        &["-L", "-n", "-c"],
        &["-L", "--timeout"],
        &["-S", "-n"],
        &["-A", "-t", "10.99.0.1:80", "-s", "rr"],
        &["-a", "-t", "10.99.0.1:80", "-r", "10.99.1.1:80", "-m"],
        &["-D", "-t", "10.99.0.1:80"],
        &["-C"],
        &["-Z"],
        &["--set", "900", "120", "300"],
    ];
    for args in cases {
        let ctl = as_nobody("ipvsctl", args);
        let adm = as_nobody("ipvsadm", args);
        eprintln!("as nobody, {args:?}: ipvsctl {ctl:?}, ipvsadm {adm:?}");
        assert_ne!(
            ctl.0, 0,
            "ipvsctl {args:?} succeeded without privileges: {ctl:?}"
        );
        assert!(
            ![124, 143].contains(&ctl.0) && !ctl.2.contains("panicked"),
            "ipvsctl {args:?} hung or panicked: {ctl:?}"
        );
        assert_eq!(
            ctl, adm,
            "ipvsctl (left) and ipvsadm (right), {args:?}, as nobody"
        );
        assert!(ctl.2.contains("Permission denied"), "{ctl:?}");
    }
    // The JSON forms fail the same way, with the same message.
    let plain = as_nobody("ipvsctl", &["-L", "-n"]);
    for args in [&["-L", "-n", "--json"][..], &["-L", "-n", "-c", "--json"]] {
        let (code, stdout, stderr) = as_nobody("ipvsctl", args);
        assert_eq!(
            (code, stdout.as_str(), &stderr),
            (plain.0, "", &plain.2),
            "{args:?}"
        );
    }
}

#[test]
fn a_namespace_deleted_while_a_handle_is_open_keeps_working_for_that_handle_alone() {
    require_ipvs();
    let ns = NetNs::new();
    let name = ns.name().to_string();
    // Without a hang: a 5 s wait for the kernel at most.
    let ipvs = ipvs::OpenOptions::new()
        .netns(ns.name())
        .timeout(Duration::from_secs(5))
        .open()
        .expect("open");
    let key = ServiceKey::tcp(ip("10.98.0.1"), 80);
    ipvs.add_service(&Service::new(key).with_scheduler("rr"))
        .expect("add_service");
    drop(ns); // ip netns delete: the name goes, the handle's socket keeps the namespace

    // The open handle still reads and changes its namespace.
    assert_eq!(ipvs.services().expect("services").len(), 1);
    ipvs.delete_service(&key).expect("delete_service");
    assert!(ipvs.services().expect("services").is_empty());

    // A new handle by the gone name: a clear error, the namespace's path and ENOENT.
    match Ipvs::in_netns(&name) {
        Err(e @ ipvs::Error::Netns { .. }) => {
            assert_eq!(e.errno(), Some(libc::ENOENT), "{e}");
            assert!(e.to_string().contains(&name), "{e}");
        }
        other => panic!("a deleted namespace: {other:?}"),
    }
    // ipvsctl: its message and exit 2, whether by name or by a dead process's path.
    let path = ipvs_sys::netns::netns_path(&name);
    let (code, stdout, stderr) = run("ipvsctl", &["--netns", &name, "-L", "-n"]);
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (
            2,
            "",
            format!(
                "Can't open network namespace {}: No such file or directory\n",
                path.display()
            )
            .as_str()
        )
    );
    let mut child = Command::new("sleep").arg("60").spawn().expect("sleep");
    let proc_path = PathBuf::from(format!("/proc/{}/ns/net", child.id()));
    child.kill().expect("kill");
    child.wait().expect("wait");
    let (code, _, stderr) = run(
        "ipvsctl",
        &[
            "--netns",
            proc_path.to_str().unwrap(),
            "-A",
            "-t",
            "10.98.0.2:80",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "Can't open network namespace {}: ",
            proc_path.display()
        )),
        "{stderr}"
    );
}

/// A socket of the wire layer in the namespace.
fn socket(ns: &NetNs) -> IpvsSocket {
    IpvsSocket::open_in_netns(&ipvs_sys::netns::netns_path(ns.name())).expect("IpvsSocket")
}

#[test]
fn a_reply_that_never_comes_times_out_and_the_socket_stays_usable() {
    require_ipvs();
    let ns = NetNs::new();
    let mut sock = socket(&ns);
    sock.set_timeout(Duration::from_millis(500))
        .expect("set_timeout");
    let key = ServiceKey::tcp(ip("10.97.0.1"), 80);
    let add = Change::AddService(Service::new(key).with_scheduler("rr"));
    // Without NLM_F_ACK the kernel answers a change that succeeds with nothing at all.
    match sock.request_without_ack(&ipvs::replay::message(&add)) {
        Err(SysError::Timeout) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The change was made; the socket answers the next request as usual.
    assert_eq!(ipvsadm_save(&ns), ["-A -t 10.97.0.1:80 -s rr"]);
    let services = sock
        .dump(&ipvs_sys::IpvsMessage::new(
            ipvs_sys::Command::GetService,
            vec![],
        ))
        .expect("dump after the timeout");
    assert_eq!(services.len(), 1);
}

#[test]
fn answers_overflowing_the_receive_queue_make_smaller_sends_or_an_overrun_that_says_what_ran() {
    require_ipvs();
    let ns = NetNs::new();
    let mut sock = socket(&ns);
    // Every change fails (no such service), so every one is answered: the most answers a
    // send can bring.
    let deletes = |n: usize| -> Vec<ipvs_sys::IpvsMessage> {
        (0..n)
            .map(|i| {
                ipvs::replay::message(&Change::DeleteService(ServiceKey::tcp(
                    ip("10.96.0.1"),
                    1000 + i as u16,
                )))
            })
            .collect()
    };
    let granted = sock.set_receive_buffer(1).expect("set_receive_buffer");
    assert!(granted < 8192, "the smallest queue: {granted} bytes");
    assert_eq!(
        sock.batch_limit(),
        1,
        "one answer per send fits in {granted} bytes"
    );
    // Handled: smaller sends, every refusal reported.
    let results = sock.batch(&deletes(200)).expect("batch with smaller sends");
    assert_eq!(results.len(), 200);
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().err().map(|e| e.errno) == Some(libc::ESRCH)),
        "{results:?}"
    );

    // Forced: 64 answers to one send into that queue overflow it.
    sock.set_batch_limit(64);
    let mut msgs = deletes(64);
    msgs.extend(deletes(10));
    match sock.batch(&msgs) {
        Err(SysError::BatchOverrun {
            done,
            in_flight,
            refused,
        }) => {
            assert!(done.is_empty(), "{done:?}");
            assert_eq!(in_flight, 0..64);
            // The first answers fitted, later ones were dropped.
            assert!(!refused.is_empty() && refused.len() < 64, "{refused:?}");
            assert!(
                refused
                    .iter()
                    .all(|(i, e)| *i < 64 && e.errno == libc::ESRCH),
                "{refused:?}"
            );
        }
        other => panic!("expected an overrun, got {other:?}"),
    }
    assert_eq!(sock.batch_limit(), 32, "later sends are halved");
    // The socket still answers right: the overrun emptied the queue, without which the kernel
    // would drop every later answer (the socket stays congested until then).
    let info = sock
        .request(&ipvs_sys::IpvsMessage::new(
            ipvs_sys::Command::GetInfo,
            vec![],
        ))
        .expect("GET_INFO after the overrun");
    assert_eq!(info.len(), 1);
    let services = sock
        .dump(&ipvs_sys::IpvsMessage::new(
            ipvs_sys::Command::GetService,
            vec![],
        ))
        .expect("dump after the overrun");
    assert!(services.is_empty());

    // The library's apply over its own socket (a large queue): 3000 refusals, none lost.
    let lib: Ipvs = open(&ns);
    let changes: Vec<Change> = (0..3000u16)
        .map(|i| Change::DeleteService(ServiceKey::tcp(ip("10.96.0.2"), i + 1)))
        .collect();
    let results = lib.apply(&changes).expect("apply");
    assert_eq!(results.len(), 3000);
    assert!(results
        .iter()
        .all(|r| r.as_ref().err().and_then(|e| e.errno()) == Some(libc::ESRCH)));
}
