//! One set of checks on values, three ways in. The library's `Service::validate` and
//! `Destination::validate` check a state built in Rust, a JSON state (`ipvsctl apply`,
//! `ipvsctl -R --json`) and the command line. Rust and JSON get the library's message. The
//! command line gets ipvsadm's, byte for byte, with ipvsadm's exit code, from the same check.
//! Each bad value leaves the kernel as it was.

use ipvs::{
    Destination, Forward, Service, ServiceFlags, ServiceKey, ServiceState, State, TunnelFlags,
    TunnelType,
};

use crate::harness::NetNs;
use crate::support::*;

/// A bad value, as a Rust state (the table plus one bad service or destination), as JSON,
/// and as an ipvsadm command line.
struct Case {
    name: &'static str,
    /// The bad service or destination, added to [`base`] as its second service or its
    /// service's second destination.
    rust: State,
    /// The library's message, with the place of the bad value.
    message: &'static str,
    /// The same value on ipvsadm's command line.
    cli: &'static [&'static str],
}

fn vip() -> ServiceKey {
    ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80)
}

/// The table every case starts from (set by ipvsadm): one service, one NAT destination.
fn base() -> State {
    State {
        services: vec![ServiceState::new(Service::new(vip()).with_scheduler("rr"))
            .with_destination(
                Destination::new("10.0.0.2".parse().unwrap(), 80).with_forward(Forward::Masquerade),
            )],
        timeouts: None,
        ..Default::default()
    }
}

fn with_service(s: Service) -> State {
    let mut st = base();
    st.services.push(ServiceState::new(s));
    st
}

fn with_destination(d: Destination) -> State {
    let mut st = base();
    st.services[0].destinations.push(d);
    st
}

fn real(addr: &str) -> Destination {
    Destination::new(addr.parse().unwrap(), 80).with_forward(Forward::Masquerade)
}

fn cases() -> Vec<Case> {
    let mut ops = Service::new(ServiceKey::tcp("192.0.2.2".parse().unwrap(), 53));
    ops.flags |= ServiceFlags::ONEPACKET;
    vec![
        Case {
            name: "weight above INT_MAX",
            rust: with_destination(real("10.0.0.3").with_weight(ipvs::limits::MAX_WEIGHT + 1)),
            message: "services[0].destinations[1].weight: 2147483648 is above 2147483647",
            cli: &[
                "-a",
                "-t",
                "192.0.2.1:80",
                "-r",
                "10.0.0.3",
                "-m",
                "-w",
                "2147483648",
            ],
        },
        Case {
            name: "port 0 without persistence",
            rust: with_service(Service::new(ServiceKey::tcp(
                "192.0.2.2".parse().unwrap(),
                0,
            ))),
            message: "services[1].port: port 0 needs a persistent service",
            cli: &["-A", "-t", "192.0.2.2:0"],
        },
        Case {
            name: "one-packet scheduling on TCP",
            rust: with_service(ops),
            message: "services[1].flags: \"ops\" (one-packet scheduling) is only for UDP or \
                      fwmark services",
            cli: &["-A", "-t", "192.0.2.2:53", "-o"],
        },
        Case {
            name: "another family, not tunnelled",
            rust: with_destination(real("2001:db8::3")),
            message: "services[0].destinations[1].address: a different address family than the \
                      service's is allowed only for tunnels",
            cli: &["-a", "-t", "192.0.2.1:80", "-r", "[2001:db8::3]:80", "-m"],
        },
        Case {
            name: "gue without a port",
            rust: with_destination(real("10.0.0.3").with_forward(Forward::Tunnel {
                kind: TunnelType::Gue,
                port: 0,
                flags: TunnelFlags::empty(),
            })),
            message: "services[0].destinations[1].tunnel.port: a gue tunnel needs a port \
                      (1 to 65535)",
            cli: &[
                "-a",
                "-t",
                "192.0.2.1:80",
                "-r",
                "10.0.0.3",
                "-i",
                "--tun-type",
                "gue",
            ],
        },
        Case {
            name: "persistence above 31 days",
            rust: with_service(
                Service::new(ServiceKey::tcp("192.0.2.2".parse().unwrap(), 80))
                    .with_persistence(ipvs::limits::MAX_TIMEOUT + 1),
            ),
            message: "services[1].timeout: 2678401 is above 2678400",
            cli: &["-A", "-t", "192.0.2.2:80", "-p", "2678401"],
        },
    ]
}

/// ipvsadm sets up [`base`]; returns its `-S -n`.
fn set_up(ns: &NetNs) -> Vec<String> {
    ns.ipvsadm_ok(&["-A", "-t", "192.0.2.1:80", "-s", "rr"]);
    ns.ipvsadm_ok(&["-a", "-t", "192.0.2.1:80", "-r", "10.0.0.2:80", "-m"]);
    let before = ipvsadm_save(ns);
    let base_state = base();
    assert_eq!(before.len(), 2, "{before:?}");
    assert_eq!(
        before[0],
        save_lines(&[configured(&base_state.services[0].service, &[])])[0],
        "the base table"
    );
    before
}

#[test]
fn a_bad_value_gets_one_check_from_rust_json_and_the_command_line() {
    for case in cases() {
        let ns = NetNs::new();
        let before = set_up(&ns);

        // Rust: the library's check, naming the place.
        let e = case.rust.validate().expect_err(case.name).to_string();
        assert_eq!(e, case.message, "{}: Rust", case.name);

        // JSON, as the library writes the state: the same check and message.
        let path = format!("/tmp/{}-values.json", ns.name());
        let json = serde_json::to_string_pretty(&case.rust).unwrap();
        std::fs::write(&path, &json).unwrap();
        let (rc, out, err) = ns.exec("ipvsctl", &["apply", "-f", &path]);
        assert_eq!(
            (rc, out.as_str(), err.as_str()),
            (2, "", format!("apply: {}\n", case.message).as_str()),
            "{}: ipvsctl apply of\n{json}",
            case.name
        );
        assert_eq!(
            ipvsadm_save(&ns),
            before,
            "{}: apply changed the table",
            case.name
        );
        let (rc, out, err) = ns.exec("sh", &["-c", &format!("ipvsctl -R --json < {path}")]);
        assert_eq!(
            (rc, out.as_str(), err.as_str()),
            (2, "", format!("{}\n", case.message).as_str()),
            "{}: ipvsctl -R --json",
            case.name
        );
        assert_eq!(
            ipvsadm_save(&ns),
            before,
            "{}: -R --json changed the table",
            case.name
        );

        // The command line: ipvsadm's message and exit code, from the same check.
        let (adm_rc, adm_out, adm_err) = ns.ipvsadm(case.cli);
        assert_ne!(adm_rc, 0, "{}: ipvsadm took {:?}", case.name, case.cli);
        assert_eq!(
            ipvsadm_save(&ns),
            before,
            "{}: ipvsadm changed the table",
            case.name
        );
        let (rc, out, err) = ns.exec("ipvsctl", case.cli);
        assert_eq!(
            (rc, out, err.replace("ipvsctl", "ipvsadm")),
            (adm_rc, adm_out, adm_err),
            "{}: ipvsctl {:?}",
            case.name,
            case.cli
        );
        assert_eq!(
            ipvsadm_save(&ns),
            before,
            "{}: ipvsctl changed the table",
            case.name
        );
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn the_library_refuses_the_bad_value_before_the_kernel_sees_it() {
    // A Rust program that checks first: the kernel would have taken this weight as a
    // negative int and refused it (ERANGE); the check names the field instead.
    let ns = NetNs::new();
    let before = set_up(&ns);
    let heavy = real("10.0.0.3").with_weight(ipvs::limits::MAX_WEIGHT + 1);
    let e = heavy.validate(&vip()).unwrap_err();
    assert_eq!(
        e,
        ipvs::limits::InvalidValue::Weight(ipvs::limits::MAX_WEIGHT + 1)
    );
    assert_eq!(e.field(), "weight");
    // Unchecked, the kernel refuses it too, and the table stays as it was.
    let refused = open(&ns).add_destination(&vip(), &heavy);
    assert!(refused.is_err(), "the kernel took weight {}", heavy.weight);
    assert_eq!(ipvsadm_save(&ns), before);
}
