//! The namespace-wide operations: info, timeouts, flush.

use std::net::IpAddr;

use ipvs::{Destination, Family, Forward, Info, Ipvs, Service, ServiceKey, Timeouts};

use crate::harness::{ipvsadm, require_ipvs, NetNs};
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The `IP Virtual Server version ...` line ipvsadm prints above a listing.
fn header(info: &Info) -> String {
    let (major, minor, patch) = info.version_triple();
    format!(
        "IP Virtual Server version {major}.{minor}.{patch} (size={})",
        info.conn_tab_size
    )
}

#[test]
fn info_gives_the_version_and_table_size_ipvsadm_prints() {
    require_ipvs();
    let ns = NetNs::new();
    let info = open(&ns).info().expect("info");
    assert_eq!(info.version, 0x010201, "IPVS 1.2.1, unchanged since 2.6");
    assert_eq!(info.version_triple(), (1, 2, 1));
    assert!(info.conn_tab_size.is_power_of_two(), "{info:?}");
    let listing = ns.ipvsadm_ok(&["-L", "-n"]);
    assert_eq!(listing.lines().next(), Some(header(&info).as_str()));
    // The connection table is the kernel's, shared by every namespace.
    assert_eq!(Ipvs::new().expect("Ipvs::new").info().expect("info"), info);
}

fn timeouts_line(t: &Timeouts) -> String {
    format!(
        "Timeout (tcp tcpfin udp): {} {} {}",
        t.tcp, t.tcp_fin, t.udp
    )
}

#[test]
fn timeouts_are_read_and_set_per_namespace_and_zero_leaves_one_unchanged() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);
    let defaults = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    assert_eq!(ipvs.timeouts().expect("timeouts"), defaults);
    assert_eq!(
        ns.ipvsadm_ok(&["-L", "--timeout"]),
        timeouts_line(&defaults) + "\n"
    );
    let root_before = ipvsadm(&["-L", "--timeout"]);

    // Only TCP changes: the zeros leave the others as they are.
    ipvs.set_timeouts(&Timeouts {
        tcp: 3600,
        tcp_fin: 0,
        udp: 0,
    })
    .expect("set_timeouts");
    let t = ipvs.timeouts().expect("timeouts");
    assert_eq!(
        t,
        Timeouts {
            tcp: 3600,
            ..defaults
        }
    );
    assert_eq!(
        ns.ipvsadm_ok(&["-L", "--timeout"]),
        timeouts_line(&t) + "\n"
    );

    let all = Timeouts {
        tcp: 7200,
        tcp_fin: 30,
        udp: 45,
    };
    ipvs.set_timeouts(&all).expect("set_timeouts");
    assert_eq!(ipvs.timeouts().expect("timeouts"), all);
    assert_eq!(
        ns.ipvsadm_ok(&["-L", "--timeout"]),
        timeouts_line(&all) + "\n"
    );
    ipvs.set_timeouts(&Timeouts::default())
        .expect("all zero: nothing changes");
    assert_eq!(ipvs.timeouts().expect("timeouts"), all);

    // And ipvsadm's setting is what the library reads.
    ns.ipvsadm_ok(&["--set", "100", "0", "200"]);
    assert_eq!(
        ipvs.timeouts().expect("timeouts"),
        Timeouts {
            tcp: 100,
            tcp_fin: 30,
            udp: 200
        }
    );
    assert_eq!(
        ipvsadm(&["-L", "--timeout"]),
        root_before,
        "other namespaces keep theirs"
    );
}

#[test]
fn flush_deletes_every_service_and_its_destinations() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);
    let keys = [
        ServiceKey::tcp(ip("10.8.0.1"), 80),
        ServiceKey::udp(ip("10.8.0.1"), 53),
        ServiceKey::sctp(ip("10.8.0.1"), 9),
        ServiceKey::fwmark(8, Family::Inet),
        ServiceKey::fwmark(8, Family::Inet6),
        ServiceKey::tcp(ip("2001:db8:8::1"), 80),
    ];
    for key in keys {
        ipvs.add_service(&Service::new(key)).expect("add_service");
        let real = if key.family() == Family::Inet {
            ip("10.8.1.1")
        } else {
            ip("2001:db8:8:1::1")
        };
        ipvs.add_destination(
            &key,
            &Destination::new(real, 80).with_forward(Forward::Masquerade),
        )
        .expect("add_destination");
    }
    assert_eq!(assert_ipvsadm_agrees(&ns, &ipvs).len(), keys.len());
    ipvs.flush().expect("flush");
    assert!(ipvs.services().expect("services").is_empty());
    assert!(ipvs
        .destinations(&keys[0])
        .expect("destinations")
        .is_empty());
    assert_eq!(ipvsadm_save(&ns), Vec::<String>::new());
    ipvs.flush().expect("flushing nothing is fine");
    // The namespace is usable again at once.
    ipvs.add_service(&Service::new(keys[0]))
        .expect("add_service after flush");
    assert_eq!(ipvsadm_save(&ns), ["-A -t 10.8.0.1:80 -s wlc"]);
}
