//! `ipvsctl apply` (and the library's plan and apply under it) against the real kernel: onto an
//! empty table, onto an equal one, onto one with every kind of difference, `--dry-run` and
//! `--check`, and the rollback when the kernel refuses a change partway. Each time `ipvsadm -S -n`
//! (and the library's own reading, for what -S leaves out) equals the desired state.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipvs::{
    Destination, Family, Forward, Netmask, Service, ServiceFlags, ServiceKey, ServiceState, State,
    TunnelFlags, TunnelType,
};

use crate::harness::NetNs;
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Writes `state` as JSON to a file for `apply -f` and returns its path.
fn state_file(ns: &NetNs, tag: &str, state: &State) -> String {
    let path = format!("/tmp/{}-{tag}.json", ns.name());
    std::fs::write(&path, serde_json::to_string_pretty(state).unwrap()).unwrap();
    path
}

fn apply(ns: &NetNs, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    ns.exec("ipvsctl", &all)
}

/// `ipvsadm -S -n` lines a state gives, sorted.
fn expected_save(state: &State) -> Vec<String> {
    let servers: Vec<_> = state
        .services
        .iter()
        .map(|s| configured(&s.service, &s.destinations))
        .collect();
    save_lines(&servers)
}

type Table = BTreeMap<ServiceKey, (Service, BTreeMap<(IpAddr, u16), Destination>)>;

/// A state as a comparable table (the order of services and destinations aside).
fn table(state: &State) -> Table {
    state
        .services
        .iter()
        .map(|s| {
            let d = s
                .destinations
                .iter()
                .map(|d| ((d.addr, d.port), *d))
                .collect();
            (s.service.key, (s.service.clone(), d))
        })
        .collect()
}

/// Both readings of the kernel equal `want`: ipvsadm's `-S -n`, and the library's (thresholds).
fn assert_table_is(ns: &NetNs, want: &State) {
    assert_eq!(ipvsadm_save(ns), expected_save(want), "ipvsadm -S -n");
    let have = open(ns)
        .read_state(&ipvs::ReadOptions::new())
        .expect("read_state");
    assert_eq!(table(&have), table(want), "the library's reading");
}

fn gue(port: u16, flags: TunnelFlags) -> Forward {
    Forward::Tunnel {
        kind: TunnelType::Gue,
        port,
        flags,
    }
}

/// Four services (TCP, UDP, IPv6, fwmark) with masq, route and tunnel destinations.
fn first() -> State {
    let tcp = ServiceKey::tcp(ip("10.1.0.1"), 80);
    let udp = ServiceKey::udp(ip("10.1.0.1"), 53);
    let v6 = ServiceKey::tcp(ip("2001:db8::1"), 443);
    let fwm = ServiceKey::fwmark(7, Family::Inet);
    State {
        services: vec![
            ServiceState::new(Service::new(tcp).with_scheduler("rr"))
                .with_destination(
                    Destination::new(ip("10.2.0.1"), 8080)
                        .with_forward(Forward::Masquerade)
                        .with_weight(2),
                )
                .with_destination(Destination::new(ip("10.2.0.2"), 80))
                .with_destination(
                    Destination::new(ip("10.2.0.3"), 80).with_forward(gue(6080, TunnelFlags::CSUM)),
                ),
            ServiceState::new(Service::new(udp).with_scheduler("wlc")).with_destination(
                Destination::new(ip("10.2.0.1"), 53).with_forward(Forward::Masquerade),
            ),
            ServiceState::new(Service::new(v6).with_scheduler("wrr").with_persistence(300))
                .with_destination(Destination::new(ip("2001:db8:2::1"), 443)),
            ServiceState::new(Service::new(fwm).with_scheduler("lc"))
                .with_destination(Destination::new(ip("10.2.0.9"), 0)),
        ],
        timeouts: None,
        ..Default::default()
    }
}

/// [`first`] with every kind of difference: scheduler, flags, persistence and netmask,
/// weights, forwarding method, tunnel options, thresholds, a destination gone and one added,
/// a service gone (kept without --prune) and one added (SCTP, and an IPv6 fwmark).
fn second() -> State {
    let mut s = first();
    // TCP: scheduler and flags; masq weight and thresholds; route -> masq at the same port;
    // tunnel options; one destination added.
    let tcp = &mut s.services[0];
    tcp.service.scheduler = "sh".into();
    tcp.service.flags |= ServiceFlags::SH_PORT;
    tcp.destinations[0].weight = 5;
    tcp.destinations[0].upper_threshold = 100;
    tcp.destinations[0].lower_threshold = 10;
    tcp.destinations[1].forward = Forward::Masquerade;
    tcp.destinations[2].forward = gue(6081, TunnelFlags::REMCSUM);
    tcp.destinations
        .push(Destination::new(ip("10.2.0.4"), 80).with_forward(Forward::ipip()));
    // UDP: one-packet scheduling; its destination replaced by another.
    let udp = &mut s.services[1];
    udp.service.flags |= ServiceFlags::ONEPACKET;
    udp.destinations = vec![Destination::new(ip("10.2.0.5"), 53).with_forward(Forward::Masquerade)];
    // IPv6: persistence timeout and netmask; weight 0.
    let v6 = &mut s.services[2];
    v6.service.timeout = 120;
    v6.service.netmask = Netmask::V6(64);
    v6.destinations[0].weight = 0;
    // fwmark 7 not named (stays without --prune); two services added.
    s.services.remove(3);
    s.services.push(
        ServiceState::new(
            Service::new(ServiceKey::sctp(ip("10.1.0.3"), 5000)).with_scheduler("rr"),
        )
        .with_destination(Destination::new(ip("10.2.0.6"), 5000).with_forward(Forward::Masquerade)),
    );
    s.services.push(
        ServiceState::new(Service::new(ServiceKey::fwmark(9, Family::Inet6)).with_scheduler("wrr"))
            .with_destination(Destination::new(ip("2001:db8:2::9"), 0).with_weight(4)),
    );
    s
}

#[test]
fn apply_onto_empty_then_equal_table() {
    let ns = NetNs::new();
    let want = first();
    let f = state_file(&ns, "first", &want);
    let (code, out, err) = apply(&ns, &["--check", "-f", &f]);
    assert_eq!(code, 1, "--check on an empty table\n{out}{err}");
    let (code, out, err) = apply(&ns, &["-f", &f]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("apply: 10 changes made\n"), "{out}");
    assert_table_is(&ns, &want);
    // Again: nothing to do, and it says so.
    let before = ns.ipvsadm_ok(&["-S", "-n"]);
    let (code, out, err) = apply(&ns, &["-f", &f]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "apply: no change: the table already matches\n", "")
    );
    let (code, out, _) = apply(&ns, &["--check", "-f", &f]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(ns.ipvsadm_ok(&["-S", "-n"]), before);
}

#[test]
fn apply_every_kind_of_difference_dry_run_first() {
    let ns = NetNs::new();
    let (code, out, err) = apply(&ns, &["-f", &state_file(&ns, "first", &first())]);
    assert_eq!(code, 0, "{out}{err}");
    let before_lines = ns.ipvsadm_ok(&["-S", "-n"]);
    let want = second();
    let f = state_file(&ns, "second", &want);

    let (code, planned, err) = apply(&ns, &["--check", "-f", &f]);
    assert_eq!(code, 1, "{planned}{err}");
    let (code, dry, err) = apply(&ns, &["--dry-run", "-f", &f]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(dry, planned);
    assert_eq!(
        ns.ipvsadm_ok(&["-S", "-n"]),
        before_lines,
        "--dry-run changed the table"
    );
    // Edits in place, not deletes and re-adds, for everything that is no key.
    for line in [
        "-E -t 10.1.0.1:80 -s sh -b sh-port",
        "-e -t 10.1.0.1:80 -r 10.2.0.1:8080 -m -w 5 -x 100 -y 10",
        "-e -t 10.1.0.1:80 -r 10.2.0.2:80 -m -w 1",
        "-e -t 10.1.0.1:80 -r 10.2.0.3:80 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum",
        "-a -t 10.1.0.1:80 -r 10.2.0.4:80 -i -w 1 --tun-type ipip",
        "-E -u 10.1.0.1:53 -s wlc -o",
        "-d -u 10.1.0.1:53 -r 10.2.0.1:53",
        "-E -t [2001:db8::1]:443 -s wrr -p 120 -M 64",
        "-e -t [2001:db8::1]:443 -r [2001:db8:2::1]:443 -g -w 0",
        "-A --sctp-service 10.1.0.3:5000 -s rr",
        "-A -f 9 -6 -s wrr",
        "-a -f 9 -6 -r [2001:db8:2::9]:0 -g -w 4",
    ] {
        assert!(dry.lines().any(|l| l == line), "missing {line:?} in\n{dry}");
    }
    assert!(!dry.contains("-D "), "{dry}");
    assert_eq!(dry.lines().count(), 14, "{dry}");

    // What apply does is exactly what --dry-run said.
    let (code, out, err) = apply(&ns, &["-f", &f]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, format!("{dry}apply: 14 changes made\n"));
    // fwmark 7 stays: not named, no --prune.
    let mut kept = want.clone();
    kept.services.push(first().services[3].clone());
    assert_table_is(&ns, &kept);

    // --prune removes it, and only it.
    let (code, out, err) = apply(&ns, &["--prune", "-f", &f]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "-d -f 7 -r 10.2.0.9:0\n-D -f 7\napply: 2 changes made\n"
    );
    assert_table_is(&ns, &want);
    let (code, _, _) = apply(&ns, &["--check", "--prune", "-f", &f]);
    assert_eq!(code, 0);
}

#[test]
fn apply_reads_ipvsadm_save_text_from_stdin() {
    let ns = NetNs::new();
    let rules = "-A -t 10.1.0.1:80 -s rr\n\
                 -a -t 10.1.0.1:80 -r 10.2.0.1:8080 -m -w 3\n\
                 -A -f 5 -s wlc -p 60\n\
                 -a -f 5 -r 10.2.0.2:0 -g -w 1\n";
    let path = format!("/tmp/{}-rules", ns.name());
    std::fs::write(&path, rules).unwrap();
    let (code, out, err) = ns.exec("sh", &["-c", &format!("ipvsctl apply < {path}")]);
    assert_eq!(code, 0, "{out}{err}");
    let mut want: Vec<String> = rules.lines().map(str::to_string).collect();
    want.sort();
    assert_eq!(ipvsadm_save(&ns), want);
    let (code, out, _) = ns.exec(
        "sh",
        &["-c", &format!("ipvsctl apply --check -f - < {path}")],
    );
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn apply_refused_partway_leaves_the_table_as_it_was() {
    let ns = NetNs::new();
    let (code, out, err) = apply(&ns, &["-f", &state_file(&ns, "first", &first())]);
    assert_eq!(code, 0, "{out}{err}");
    let before = ns.ipvsadm_ok(&["-S", "-n"]);
    let before_thresholds = ns.ipvsadm_ok(&["-L", "-n", "--thresholds"]);
    // Every change of second(), and last an added service whose scheduler the kernel lacks.
    let mut bad = second();
    bad.services.push(ServiceState::new(
        Service::new(ServiceKey::tcp(ip("10.1.0.7"), 80)).with_scheduler("nosuch"),
    ));
    let (code, out, err) = apply(&ns, &["--prune", "-f", &state_file(&ns, "bad", &bad)]);
    assert_eq!(code, 255, "{out}{err}");
    assert!(
        err.contains("apply: the kernel refused `-A -t 10.1.0.7:80 -s nosuch'"),
        "{err}"
    );
    assert!(err.contains("were undone; the table is as it was"), "{err}");
    assert_eq!(out, "");
    assert_eq!(
        ns.ipvsadm_ok(&["-S", "-n"]),
        before,
        "ipvsadm -S -n changed"
    );
    assert_eq!(
        ns.ipvsadm_ok(&["-L", "-n", "--thresholds"]),
        before_thresholds
    );

    // A tunnel option the kernel refuses (GUE port 0 through the library, unchecked), first.
    // `plan` refuses a desired state that fails its checks: the bad value goes into the plan.
    let mut plan = ipvs::plan(
        &open(&ns).read_state(&ipvs::ReadOptions::new()).unwrap(),
        &second(),
        &Default::default(),
    )
    .expect("second() is valid");
    let tunnel = plan
        .changes
        .iter_mut()
        .find_map(|c| match c {
            ipvs::Change::EditDestination { destination, .. }
                if destination.addr == ip("10.2.0.3") =>
            {
                Some(destination)
            }
            _ => None,
        })
        .expect("the plan edits the tunnel");
    tunnel.forward = gue(0, TunnelFlags::empty());
    let r = open(&ns).apply_plan(&plan, None);
    assert!(r.is_err(), "the kernel took a GUE tunnel without a port");
    assert_eq!(
        ns.ipvsadm_ok(&["-S", "-n"]),
        before,
        "ipvsadm -S -n changed"
    );
}

#[test]
fn apply_bad_input_exits_2_and_changes_nothing() {
    let ns = NetNs::new();
    let path = format!("/tmp/{}-bad.json", ns.name());
    std::fs::write(
        &path,
        r#"{"services": [{"protocol": "tcp", "address": "10.1.0.1", "port": 80,
            "destinations": [{"address": "10.2.0.1", "weight": 4294967295}]}]}"#,
    )
    .unwrap();
    let (code, out, err) = apply(&ns, &["-f", &path]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(
        err,
        "apply: services[0].destinations[0].weight: 4294967295 is above 2147483647\n"
    );
    assert_eq!(ns.ipvsadm_ok(&["-S", "-n"]), "");
}

/// Another writer (ipvsadm, a second process) changes an object the plan touches between the
/// library's read and its apply. Each time the refused change names that object as another
/// writer's, the changes the run made before it are undone, and `ipvsadm -S -n` equals what the
/// other writer left.
#[test]
fn apply_conflict_with_another_writer_is_named_and_undone() {
    use ipvs::apply::{ApplyError, Conflict};
    use ipvs::DestinationKey;
    let ns = NetNs::new();
    let tcp = ServiceKey::tcp(ip("10.1.0.1"), 80);
    let udp = ServiceKey::udp(ip("10.1.0.1"), 53);
    let v6 = ServiceKey::tcp(ip("2001:db8::1"), 443);
    let sctp = ServiceKey::sctp(ip("10.1.0.3"), 5000);
    // (what ipvsadm does, the conflict the refusal must name, how many changes come before it)
    let cases: Vec<(&[&str], Conflict)> = vec![
        (
            &["-d", "-u", "10.1.0.1:53", "-r", "10.2.0.1:53"],
            Conflict::DestinationDeleted(DestinationKey::new(udp, ip("10.2.0.1"), 53)),
        ),
        (
            &["-D", "-t", "[2001:db8::1]:443"],
            Conflict::ServiceDeleted(v6),
        ),
        (
            &["-d", "-t", "10.1.0.1:80", "-r", "10.2.0.2:80"],
            Conflict::DestinationDeleted(DestinationKey::new(tcp, ip("10.2.0.2"), 80)),
        ),
        (
            &[
                "-a",
                "-t",
                "10.1.0.1:80",
                "-r",
                "10.2.0.4:80",
                "-g",
                "-w",
                "7",
            ],
            Conflict::DestinationAdded(DestinationKey::new(tcp, ip("10.2.0.4"), 80)),
        ),
        (
            &["-A", "--sctp-service", "10.1.0.3:5000", "-s", "wlc"],
            Conflict::ServiceAdded(sctp),
        ),
    ];
    for (other, conflict) in cases {
        let ipvs = open(&ns);
        ipvs.flush().unwrap();
        ipvs.apply_state(&first(), &Default::default())
            .expect("apply first()");
        let current = ipvs.read_state(&ipvs::ReadOptions::new()).unwrap();
        let plan = ipvs::plan(&current, &second(), &Default::default()).unwrap();
        assert_eq!(plan.len(), 14);
        // The other writer, after the read.
        ns.ipvsadm_ok(other);
        let theirs = ns.ipvsadm_ok(&["-S", "-n"]);
        let theirs_thresholds = ns.ipvsadm_ok(&["-L", "-n", "--thresholds"]);
        let err = ipvs
            .apply_plan(&plan, None)
            .expect_err("the apply met no conflict");
        let text = err.to_string();
        let ApplyError::Refused(r) = err else {
            panic!("not a refusal: {text}");
        };
        assert_eq!(r.conflict, Some(conflict), "ipvsadm {other:?}: {text}");
        let i = plan.changes.iter().position(|c| *c == r.change).unwrap();
        assert!(r.undo_failed.is_empty(), "{text}");
        assert_eq!(r.superseded, 0, "{text}");
        assert!(
            text.starts_with(&format!("the table changed underneath: {conflict}; ")),
            "{text}"
        );
        assert!(
            text.ends_with(&format!(
                "; the {} changes made before it were undone",
                r.undone
            )),
            "{text}"
        );
        // Nothing of this run's remains; what the other writer did stays.
        assert!(
            r.undone >= i,
            "{i} changes came before, {} undone",
            r.undone
        );
        assert_eq!(ns.ipvsadm_ok(&["-S", "-n"]), theirs, "ipvsadm {other:?}");
        assert_eq!(
            ns.ipvsadm_ok(&["-L", "-n", "--thresholds"]),
            theirs_thresholds,
            "ipvsadm {other:?}"
        );
    }
    // The words each conflict reads as.
    assert_eq!(
        Conflict::DestinationAdded(DestinationKey::new(tcp, ip("10.2.0.4"), 80)).to_string(),
        "another writer added the destination 10.2.0.4:80 of TCP 10.1.0.1:80"
    );
    assert_eq!(
        Conflict::ServiceDeleted(v6).to_string(),
        "another writer deleted the service TCP [2001:db8::1]:443"
    );
}

/// A change the kernel refuses by itself, while another writer changed something the plan does
/// not touch: an unknown scheduler in an edit is ENOENT, as a missing destination would be, but
/// the service is there, so it is no conflict; the run is undone and the other writer's service
/// stays. Through `ipvsctl apply`, the message says which.
#[test]
fn apply_refusal_is_no_conflict_when_the_object_is_there() {
    let ns = NetNs::new();
    let ipvs = open(&ns);
    ipvs.apply_state(&first(), &Default::default()).unwrap();
    let current = ipvs.read_state(&ipvs::ReadOptions::new()).unwrap();
    let mut bad = second();
    bad.services[2].service.scheduler = "nosuch".into();
    let plan = ipvs::plan(&current, &bad, &Default::default()).unwrap();
    ns.ipvsadm_ok(&["-A", "-t", "10.5.5.5:80", "-s", "rr"]);
    let theirs = ns.ipvsadm_ok(&["-S", "-n"]);
    let err = ipvs
        .apply_plan(&plan, None)
        .expect_err("an unknown scheduler");
    let text = err.to_string();
    let ipvs::apply::ApplyError::Refused(r) = err else {
        panic!("{text}")
    };
    assert_eq!(r.conflict, None, "{text}");
    assert_eq!(r.error.errno(), Some(libc::ENOENT));
    assert!(r.undone > 0, "{text}");
    assert!(
        text.starts_with(
            "editing the service TCP [2001:db8::1]:443 failed: \
             the kernel has no such scheduler or persistence engine; the "
        ),
        "{text}"
    );
    assert!(!text.contains("underneath"), "{text}");
    assert_eq!(ns.ipvsadm_ok(&["-S", "-n"]), theirs);

    // The command line: ipvsadm's reason, and no word of another writer.
    let (code, out, err) = apply(&ns, &["-f", &state_file(&ns, "bad", &bad)]);
    assert_eq!(code, 255, "{out}{err}");
    assert_eq!(
        err.lines().next().unwrap(),
        "apply: the kernel refused `-E -t [2001:db8::1]:443 -s nosuch -p 120 -M 64': \
         Scheduler or persistence engine not found"
    );
    assert!(!err.contains("underneath"), "{err}");
    assert!(
        err.ends_with("were undone; the table is as it was\n"),
        "{err}"
    );
    assert_eq!(ns.ipvsadm_ok(&["-S", "-n"]), theirs);
}

/// A real concurrent process keeps adding and deleting services of its own (each ipvsadm run
/// checked) while `ipvsctl apply` loads, edits and trims 1,500 services of others: both succeed,
/// and the table ends as the union of what each left.
#[test]
fn apply_alongside_a_concurrent_writer_on_other_services() {
    let ns = NetNs::new();
    let stop = format!("/tmp/{}-stop", ns.name());
    let _ = std::fs::remove_file(&stop);
    let script = format!(
        "i=0; while [ ! -e {stop} ]; do i=$((i+1)); \
         ipvsadm -A -t 10.99.0.1:$i -s rr || exit 1; \
         ipvsadm -a -t 10.99.0.1:$i -r 10.98.0.1:80 -m -w 2 || exit 1; \
         if [ $i -gt 1 ]; then ipvsadm -D -t 10.99.0.1:$((i-1)) || exit 1; fi; \
         done; echo $i"
    );
    let hammer = std::process::Command::new("ip")
        .args(["netns", "exec", ns.name(), "sh", "-c", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the other writer");
    // The other writer's newest service port: how far it got.
    let theirs = |ns: &NetNs| -> u16 {
        open(ns)
            .read_state(&ipvs::ReadOptions::new())
            .unwrap()
            .services
            .iter()
            .filter_map(|s| match s.service.key {
                ServiceKey::Addr { addr, port, .. } if addr == ip("10.99.0.1") => Some(port),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    };
    wait_for(
        "the other writer",
        std::time::Duration::from_secs(10),
        || (theirs(&ns) > 0).then_some(()),
    );
    let big = |weight: u32, dests: u8| State {
        services: (0..1500u16)
            .map(|i| {
                let key = ServiceKey::tcp(ip(&format!("10.3.{}.{}", i / 250, i % 250 + 1)), 80);
                let mut s = ServiceState::new(Service::new(key).with_scheduler("wrr"));
                for d in 1..=dests {
                    s = s.with_destination(
                        Destination::new(ip(&format!("10.4.0.{d}")), 80).with_weight(weight),
                    );
                }
                s
            })
            .collect(),
        timeouts: None,
        ..Default::default()
    };
    let mut last = big(1, 3);
    // How many of the applies the other writer changed its services during: whether it did
    // during one apply is a race (a fast machine applies 1,500 deletions between two of its
    // turns), during none of the three is a test that proved nothing.
    let mut overlapped = Vec::new();
    for (tag, want, changes) in [
        ("load", big(1, 3), 6000),
        ("edit", big(5, 3), 4500),
        ("trim", big(5, 2), 1500),
    ] {
        let before = theirs(&ns);
        let (code, out, err) = apply(&ns, &["-f", &state_file(&ns, tag, &want)]);
        assert_eq!(code, 0, "{tag}: {err}");
        assert!(
            out.ends_with(&format!("apply: {changes} changes made\n")),
            "{tag}: {}",
            out.lines().last().unwrap_or("")
        );
        if theirs(&ns) > before {
            overlapped.push(tag);
        }
        last = want;
    }
    eprintln!("apply: the other writer made changes during: {overlapped:?}");
    assert!(
        !overlapped.is_empty(),
        "the other writer made no change while any apply ran"
    );
    std::fs::write(&stop, "").unwrap();
    let out = hammer.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the other writer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n: u16 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(n > 1, "{n}");
    let mut want = expected_save(&last);
    want.push(format!("-A -t 10.99.0.1:{n} -s rr"));
    want.push(format!("-a -t 10.99.0.1:{n} -r 10.98.0.1:80 -m -w 2"));
    let have = ipvsadm_save(&ns);
    let missing: Vec<&String> = want.iter().filter(|l| !have.contains(l)).collect();
    let extra: Vec<&String> = have.iter().filter(|l| !want.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && have.len() == want.len(),
        "ipvsadm -S -n: missing {missing:?}, extra {extra:?}"
    );
    let _ = std::fs::remove_file(&stop);
}

/// ipvsadm's `-S` never writes `-x` or `-y`: its text cannot say the thresholds, so apply keeps
/// the table's. On an unchanged table `--check` exits 0 and apply changes nothing; a weight
/// changed in the text is edited with the thresholds kept; a `-x` the text does give is set.
#[test]
fn apply_of_ipvsadm_save_text_keeps_the_thresholds_it_cannot_say() {
    let ns = NetNs::new();
    ns.ipvsadm_ok(&["-A", "-t", "10.1.0.1:80", "-s", "rr"]);
    for (real, weight, upper, lower) in [
        ("10.2.0.1:80", "1", "10", "5"),
        ("10.2.0.2:80", "2", "20", "3"),
    ] {
        ns.ipvsadm_ok(&[
            "-a",
            "-t",
            "10.1.0.1:80",
            "-r",
            real,
            "-m",
            "-w",
            weight,
            "-x",
            upper,
            "-y",
            lower,
        ]);
    }
    let thresholds = |ns: &NetNs| -> Vec<(u32, u32, u32)> {
        open(ns)
            .read_state(&ipvs::ReadOptions::new())
            .expect("read_state")
            .services[0]
            .destinations
            .iter()
            .map(|d| (d.weight, d.upper_threshold, d.lower_threshold))
            .collect()
    };
    let mut before = thresholds(&ns);
    before.sort();
    assert_eq!(before, [(1, 10, 5), (2, 20, 3)]);
    let sh = |script: &str| ns.exec("sh", &["-c", script]);

    let (code, out, err) = sh("ipvsadm -Sn | ipvsctl apply --check");
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let (code, out, err) = sh("ipvsadm -Sn | ipvsctl apply --prune");
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "apply: no change: the table already matches\n", "")
    );
    let mut now = thresholds(&ns);
    now.sort();
    assert_eq!(now, before);

    // The weight the text changes is edited; the thresholds it cannot say stay.
    let (code, out, err) = sh("ipvsadm -Sn | sed 's/-w 2/-w 4/' | ipvsctl apply");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("apply: 1 changes made\n"), "{out}");
    let mut now = thresholds(&ns);
    now.sort();
    assert_eq!(now, [(1, 10, 5), (4, 20, 3)]);

    // A threshold the text gives is set; the other stays.
    let (code, out, err) = sh("ipvsadm -Sn | sed 's/-w 4/-w 4 -x 30/' | ipvsctl apply");
    assert_eq!(code, 0, "{out}{err}");
    let mut now = thresholds(&ns);
    now.sort();
    assert_eq!(now, [(1, 10, 5), (4, 30, 3)]);
    assert_eq!(
        sh("ipvsadm -Sn | sed 's/-w 4/-w 4 -x 30/' | ipvsctl apply --check").0,
        0
    );
}
