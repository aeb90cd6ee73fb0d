//! Destinations: every forwarding method and tunnel, weights and thresholds, mixed families.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipvs::{Destination, Family, Forward, Service, ServiceKey, TunnelFlags, TunnelType};

use crate::harness::{require_ipvs, NetNs};
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tunnel(kind: TunnelType, port: u16, flags: TunnelFlags) -> Forward {
    Forward::Tunnel { kind, port, flags }
}

fn configured(ipvs: &ipvs::Ipvs, key: &ServiceKey) -> BTreeSet<String> {
    ipvs.destinations(key)
        .expect("destinations")
        .iter()
        .map(|d| format!("{:?}", d.destination))
        .collect()
}

fn debug_set(dests: &[Destination]) -> BTreeSet<String> {
    dests.iter().map(|d| format!("{d:?}")).collect()
}

/// Every forwarding method, every tunnel type and checksum option, weights and thresholds.
fn added() -> Vec<Destination> {
    let d = |last: u8, port: u16, forward: Forward| {
        Destination::new(ip(&format!("10.5.1.{last}")), port).with_forward(forward)
    };
    vec![
        d(1, 8080, Forward::Masquerade),
        Destination {
            upper_threshold: 200,
            lower_threshold: 50,
            ..d(2, 8080, Forward::Masquerade).with_weight(5)
        },
        d(3, 80, Forward::DirectRoute),
        d(4, 80, Forward::ipip()),
        d(5, 80, tunnel(TunnelType::Gue, 6080, TunnelFlags::empty())),
        d(6, 80, tunnel(TunnelType::Gue, 6080, TunnelFlags::CSUM)),
        d(7, 80, tunnel(TunnelType::Gue, 6081, TunnelFlags::REMCSUM)),
        d(8, 80, tunnel(TunnelType::Gre, 0, TunnelFlags::empty())),
        d(9, 80, tunnel(TunnelType::Gre, 0, TunnelFlags::CSUM)),
        d(10, 80, Forward::Local),
        // The kernel reads the weight as an int: i32::MAX is its largest.
        d(11, 80, Forward::Masquerade).with_weight(i32::MAX as u32),
    ]
}

/// Each destination edited: forwarding method, tunnel options, weight or thresholds.
fn edited(d: &Destination) -> Destination {
    let forward = match d.forward {
        Forward::Masquerade if d.weight == 1 => Forward::DirectRoute,
        Forward::DirectRoute => Forward::ipip(),
        Forward::Tunnel {
            kind: TunnelType::Ipip,
            ..
        } => tunnel(TunnelType::Gre, 0, TunnelFlags::CSUM),
        Forward::Tunnel {
            kind: TunnelType::Gue,
            port,
            flags,
        } => {
            let flags = if flags.is_empty() {
                TunnelFlags::REMCSUM
            } else {
                TunnelFlags::empty()
            };
            tunnel(TunnelType::Gue, port + 100, flags)
        }
        Forward::Tunnel {
            kind: TunnelType::Gre,
            flags,
            ..
        } => tunnel(TunnelType::Gre, 0, flags ^ TunnelFlags::CSUM),
        Forward::Local => Forward::Masquerade,
        other => other,
    };
    Destination {
        forward,
        weight: d.weight / 2 + 1,
        upper_threshold: d.upper_threshold * 2,
        lower_threshold: d.lower_threshold / 2,
        ..*d
    }
}

#[test]
fn destinations_of_every_method_are_added_listed_edited_and_deleted() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);
    let key = ServiceKey::tcp(ip("10.5.0.1"), 80);
    ipvs.add_service(&Service::new(key).with_scheduler("wrr"))
        .expect("add_service");
    assert!(ipvs.destinations(&key).expect("destinations").is_empty());

    let dests = added();
    for d in &dests {
        ipvs.add_destination(&key, d)
            .unwrap_or_else(|e| panic!("add_destination {d:?}: {e}"));
    }
    assert_eq!(configured(&ipvs, &key), debug_set(&dests));
    let entries = ipvs.destinations(&key).expect("destinations");
    for e in &entries {
        assert_eq!(
            (e.active_conns, e.inactive_conns, e.persistent_conns),
            (0, 0, 0)
        );
        assert_eq!(e.stats, ipvs::Stats::default());
    }
    let state = assert_ipvsadm_agrees(&ns, &ipvs);
    for listing in [Listing::Plain, Listing::Thresholds, Listing::TunInfo] {
        assert_listing_agrees(&ns, &state, listing);
    }
    // The thresholds, which -S does not save, as ipvsadm lists them.
    let thresholds = ns.ipvsadm_ok(&["-L", "-n", "--thresholds"]);
    assert!(
        thresholds
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["->", "10.5.1.2:8080", "200", "50", "0", "0"]),
        "{thresholds}"
    );

    let edits: Vec<Destination> = dests.iter().map(edited).collect();
    for e in &edits {
        ipvs.edit_destination(&key, e)
            .unwrap_or_else(|err| panic!("edit_destination {e:?}: {err}"));
    }
    assert_eq!(configured(&ipvs, &key), debug_set(&edits));
    let state = assert_ipvsadm_agrees(&ns, &ipvs);
    for listing in [Listing::Plain, Listing::Thresholds, Listing::TunInfo] {
        assert_listing_agrees(&ns, &state, listing);
    }

    for (i, e) in edits.iter().enumerate() {
        ipvs.delete_destination(&key, e.addr, e.port)
            .unwrap_or_else(|err| panic!("delete_destination {e:?}: {err}"));
        assert_eq!(configured(&ipvs, &key), debug_set(&edits[i + 1..]));
    }
    assert_eq!(
        ipvsadm_save(&ns),
        ["-A -t 10.5.0.1:80 -s wrr"],
        "the service stays without destinations"
    );
}

#[test]
fn tunnels_may_cross_address_families_and_fwmark_services_take_any_port() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);
    let v4 = ServiceKey::udp(ip("10.6.0.1"), 53);
    let v6 = ServiceKey::tcp(ip("2001:db8:6::1"), 80);
    let fwm4 = ServiceKey::fwmark(10, Family::Inet);
    let fwm6 = ServiceKey::fwmark(11, Family::Inet6);
    let plan: Vec<(ServiceKey, Vec<Destination>)> = vec![
        (
            v4,
            vec![
                Destination::new(ip("10.6.1.1"), 53).with_forward(Forward::Masquerade),
                // IPv6 real servers of an IPv4 service: only tunnels can carry them.
                Destination::new(ip("2001:db8:6:1::2"), 53).with_forward(Forward::ipip()),
                Destination::new(ip("2001:db8:6:1::3"), 53).with_forward(tunnel(
                    TunnelType::Gue,
                    6080,
                    TunnelFlags::CSUM,
                )),
            ],
        ),
        (
            v6,
            vec![
                Destination::new(ip("2001:db8:6:1::10"), 8080).with_forward(Forward::Masquerade),
                Destination::new(ip("10.6.1.10"), 80).with_forward(tunnel(
                    TunnelType::Gre,
                    0,
                    TunnelFlags::CSUM,
                )),
            ],
        ),
        (
            fwm4,
            vec![
                Destination::new(ip("10.6.2.1"), 0).with_forward(Forward::DirectRoute),
                Destination::new(ip("10.6.2.2"), 8080).with_forward(Forward::Masquerade),
            ],
        ),
        (
            fwm6,
            vec![Destination::new(ip("2001:db8:6:2::1"), 0).with_forward(Forward::DirectRoute)],
        ),
    ];
    for (key, dests) in &plan {
        ipvs.add_service(&Service::new(*key).with_scheduler("rr"))
            .expect("add_service");
        for d in dests {
            ipvs.add_destination(key, d)
                .unwrap_or_else(|e| panic!("add {d:?} to {key:?}: {e}"));
        }
        assert_eq!(configured(&ipvs, key), debug_set(dests));
    }
    let state = assert_ipvsadm_agrees(&ns, &ipvs);
    assert_listing_agrees(&ns, &state, Listing::TunInfo);
    let mixed = ipvs.destinations(&v4).expect("destinations");

    // Traffic to the IPv4 service reaches each real server once (round robin): the
    // connection table then holds IPv4 clients of IPv6 real servers.
    add_dummy(&ns, "net0", &["10.6.0.100/16", "2001:db8:6::fffe/48"]);
    for _ in 0..3 {
        udp_send(
            &ns,
            std::net::SocketAddr::from((ip("10.6.0.1"), 53)),
            b"query",
        );
    }
    let conns = assert_connections_agree(&ns, &ipvs);
    let mut dests: Vec<IpAddr> = conns.iter().map(|c| c.dest_addr).collect();
    dests.sort();
    assert_eq!(
        dests,
        [ip("10.6.1.1"), ip("2001:db8:6:1::2"), ip("2001:db8:6:1::3")],
        "{conns:?}"
    );
    assert!(conns
        .iter()
        .all(|c| c.client_addr == ip("10.6.0.100") && c.virtual_addr == ip("10.6.0.1")));
    assert_eq!(
        mixed
            .iter()
            .filter(|d| d.destination.family() == Family::Inet6)
            .count(),
        2
    );

    // A masquerading (or routed) server of the other family is refused.
    let wrong = Destination::new(ip("2001:db8:6:1::4"), 53).with_forward(Forward::Masquerade);
    let err = ipvs.add_destination(&v4, &wrong).unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
    assert_eq!(
        err.ipvsadm_message(),
        "Invalid operation.  Possibly wrong module version, address not unicast, ..."
    );
    assert_eq!(
        mixed.len(),
        ipvs.destinations(&v4).expect("destinations").len()
    );
}
