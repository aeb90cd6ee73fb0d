//! The headline test: five services of every kind, each with a masquerading, a
//! direct-routing and a GUE-tunnelling real server, edited, read back with 64-bit statistics,
//! and ipvsadm, run against the same kernel state, prints exactly what the library reports.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipvs::{
    Destination, Family, Forward, Netmask, Service, ServiceFlags, ServiceKey, TunnelFlags,
    TunnelType,
};

use crate::harness::{require_ipvs, NetNs};
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn gue(port: u16, flags: TunnelFlags) -> Forward {
    Forward::Tunnel {
        kind: TunnelType::Gue,
        port,
        flags,
    }
}

/// A service as first added and as edited, with its three destinations as added and as edited.
struct Case {
    added: Service,
    edited: Service,
    dests: [(Destination, Destination); 3],
}

/// masq, route, gue for `base` (10.2.N or 2001:db8:2:N): the route and tunnel ones at `port`,
/// which need not be the service's port (ipvsadm's command line forces it, the kernel does not).
fn three_dests(base: &str, masq_port: u16, port: u16) -> [(Destination, Destination); 3] {
    let at = |last: u8| {
        if base.contains(':') {
            ip(&format!("{base}::{last}"))
        } else {
            ip(&format!("{base}.{last}"))
        }
    };
    let masq = Destination::new(at(1), masq_port).with_forward(Forward::Masquerade);
    let route = Destination::new(at(2), port).with_forward(Forward::DirectRoute);
    let tunnel = Destination::new(at(3), port).with_forward(gue(6080, TunnelFlags::CSUM));
    [
        (
            masq,
            Destination {
                upper_threshold: 100,
                lower_threshold: 10,
                ..masq.with_weight(3)
            },
        ),
        // Weight 0 quiesces a server: no new connections, and it stays listed.
        (route, route.with_weight(0)),
        (
            tunnel,
            tunnel
                .with_forward(gue(6081, TunnelFlags::REMCSUM))
                .with_weight(2),
        ),
    ]
}

fn cases() -> Vec<Case> {
    let tcp = ServiceKey::tcp(ip("10.1.0.1"), 80);
    let udp = ServiceKey::udp(ip("10.1.0.1"), 53);
    let sctp = ServiceKey::sctp(ip("10.1.0.2"), 5000);
    let fwm = ServiceKey::fwmark(7, Family::Inet);
    let v6 = ServiceKey::tcp(ip("2001:db8::1"), 443);
    vec![
        Case {
            added: Service::new(tcp),
            edited: Service {
                flags: ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT,
                ..Service::new(tcp).with_scheduler("sh")
            },
            dests: three_dests("10.2.1", 8080, 8081),
        },
        Case {
            added: Service::new(udp).with_scheduler("rr"),
            edited: Service {
                flags: ServiceFlags::ONEPACKET,
                ..Service::new(udp).with_scheduler("wrr")
            },
            dests: three_dests("10.2.2", 53, 53),
        },
        Case {
            added: Service {
                flags: ServiceFlags::SH_PORT,
                ..Service::new(sctp).with_scheduler("sh")
            },
            edited: Service {
                flags: ServiceFlags::PERSISTENT | ServiceFlags::MH_FALLBACK,
                ..Service::new(sctp)
                    .with_scheduler("mh")
                    .with_persistence(120)
            },
            dests: three_dests("10.2.3", 5000, 5000),
        },
        Case {
            added: Service {
                netmask: Netmask::V4("255.255.0.0".parse().unwrap()),
                ..Service::new(fwm).with_persistence(600)
            },
            // Not persistent any more: the edit clears the flag (its mask covers every bit).
            edited: Service::new(fwm).with_scheduler("lc"),
            // A firewall-mark service's real servers may have any port, 0 included.
            dests: three_dests("10.2.4", 80, 0),
        },
        Case {
            added: Service {
                netmask: Netmask::V6(64),
                ..Service::new(v6).with_scheduler("mh").with_persistence(300)
            },
            edited: Service {
                netmask: Netmask::V6(48),
                ..Service::new(v6).with_scheduler("sed").with_persistence(60)
            },
            dests: three_dests("2001:db8:2:5", 8443, 443),
        },
    ]
}

/// The library's view of one service must be exactly `service` with `dests`.
fn assert_reads_back(ipvs: &ipvs::Ipvs, service: &Service, dests: &[Destination]) {
    let entry = ipvs
        .service(&service.key)
        .expect("service")
        .expect("the service is there");
    // The kernel reports every service it holds as hashed; the library drops that bit.
    assert_eq!(&entry.service, service);
    assert!(!entry.service.flags.contains(ServiceFlags::HASHED));
    let got: BTreeSet<String> = ipvs
        .destinations(&service.key)
        .expect("destinations")
        .iter()
        .map(|d| format!("{:?}", d.destination))
        .collect();
    let want: BTreeSet<String> = dests.iter().map(|d| format!("{d:?}")).collect();
    assert_eq!(got, want, "destinations of {:?}", service.key);
}

#[test]
fn five_services_with_masq_route_and_gue_dests_read_back_as_ipvsadm_saves_them() {
    require_ipvs();
    let ns = NetNs::new();
    // The virtual addresses are routable from inside, so local clients can reach them; so are
    // the real servers, behind a dummy interface that swallows what is sent to them (without a
    // route the kernel would answer some attempts with ICMP errors, which count as replies).
    add_dummy(&ns, "vip0", &["10.1.0.100/16", "2001:db8::100/64"]);
    add_dummy(&ns, "rs0", &["10.2.255.254/16", "2001:db8:2::fffe/48"]);
    let ipvs = open(&ns);
    let cases = cases();

    for c in &cases {
        ipvs.add_service(&c.added).expect("add_service");
        for (d, _) in &c.dests {
            ipvs.add_destination(&c.added.key, d)
                .unwrap_or_else(|e| panic!("add {d:?} to {:?}: {e}", c.added.key));
        }
    }
    for c in &cases {
        let added: Vec<Destination> = c.dests.iter().map(|(d, _)| *d).collect();
        assert_reads_back(&ipvs, &c.added, &added);
    }
    assert_eq!(assert_ipvsadm_agrees(&ns, &ipvs).len(), 5);

    for c in &cases {
        ipvs.edit_service(&c.edited).expect("edit_service");
        for (_, d) in &c.dests {
            ipvs.edit_destination(&c.edited.key, d)
                .unwrap_or_else(|e| panic!("edit {d:?} of {:?}: {e}", c.edited.key));
        }
    }
    for c in &cases {
        let edited: Vec<Destination> = c.dests.iter().map(|(_, d)| *d).collect();
        assert_reads_back(&ipvs, &c.edited, &edited);
    }

    // Traffic from a local client: two TCP connection attempts, one UDP datagram, one IPv6
    // attempt. Each is scheduled (a connection) and counted, though no server answers.
    let tcp = SocketAddr::from((ip("10.1.0.1"), 80));
    tcp_knock(&ns, tcp);
    tcp_knock(&ns, tcp);
    udp_send(&ns, SocketAddr::from((ip("10.1.0.1"), 53)), b"ping");
    tcp_knock(&ns, SocketAddr::from((ip("2001:db8::1"), 443)));
    let conns_of = |state: &[ipvs::VirtualServer], key: ServiceKey| {
        state
            .iter()
            .find(|vs| vs.entry.service.key == key)
            .map(|vs| vs.entry.stats.conns)
    };
    // The kernel folds its per-CPU counters into what it reports every 2 seconds.
    let state = wait_for(
        "the traffic in the statistics",
        Duration::from_secs(8),
        || {
            let state = ipvs.state().expect("state");
            let counted = [(0, 2), (1, 1), (4, 1)]
                .iter()
                .all(|&(i, n)| conns_of(&state, cases[i].edited.key) == Some(n));
            counted.then_some(state)
        },
    );

    let tcp_stats = &state
        .iter()
        .find(|vs| vs.entry.service.key == cases[0].edited.key)
        .unwrap()
        .entry
        .stats;
    assert_eq!(
        (tcp_stats.conns, tcp_stats.in_packets),
        (2, 2),
        "one SYN per attempt"
    );
    assert_eq!(tcp_stats.in_bytes, 120, "two 60-byte SYNs");
    // Nobody answers, but an ICMP error about an unreachable real server may come back
    // through IPVS and be counted as outgoing: at most one per SYN.
    assert!(
        tcp_stats.out_packets <= 2,
        "out packets {} for 2 unanswered SYNs",
        tcp_stats.out_packets
    );
    let dest_conns: u64 = state
        .iter()
        .flat_map(|vs| &vs.destinations)
        .map(|d| d.stats.conns)
        .sum();
    assert_eq!(dest_conns, 4, "each connection went to one real server");
    for vs in &state {
        let route = vs
            .destinations
            .iter()
            .find(|d| d.destination.forward == Forward::DirectRoute)
            .unwrap();
        assert_eq!(
            route.stats.conns, 0,
            "a quiesced (weight 0) server gets no connection"
        );
    }

    // ipvsadm, against the same kernel state, prints what the library reported: the rules...
    assert_ipvsadm_agrees(&ns, &ipvs);
    // ... (spelled out for the TCP service, the route and tunnel ports the kernel kept) ...
    let tcp_rules: Vec<String> = ipvsadm_save(&ns)
        .into_iter()
        .filter(|l| l.contains(" -t 10.1.0.1:80"))
        .collect();
    assert_eq!(
        tcp_rules,
        [
            "-A -t 10.1.0.1:80 -s sh -b sh-fallback,sh-port",
            "-a -t 10.1.0.1:80 -r 10.2.1.1:8080 -m -w 3",
            "-a -t 10.1.0.1:80 -r 10.2.1.2:8081 -g -w 0",
            "-a -t 10.1.0.1:80 -r 10.2.1.3:8081 -i -w 2 --tun-type gue --tun-port 6081 --tun-remcsum",
        ]
    );
    // ... and the listings, with connection counts, thresholds, tunnels and 64-bit counters.
    for listing in [
        Listing::Plain,
        Listing::Thresholds,
        Listing::PersistentConn,
        Listing::TunInfo,
        Listing::StatsExact,
    ] {
        assert_listing_agrees(&ns, &state, listing);
    }

    // The connection table, as the kernel's file has it: the three TCP attempts, and the
    // IPv6 service's persistence template (client network /48, port 0). The one-packet UDP
    // service keeps no connection.
    let mut conns = ipvs
        .connections()
        .expect("connections")
        .collect::<Result<Vec<_>, _>>()
        .expect("connections");
    let mut in_file = ipvs::conn::parse_connections(&ns.exec_ok("cat", &["/proc/net/ip_vs_conn"]))
        .expect("parse");
    for c in conns.iter_mut().chain(in_file.iter_mut()) {
        c.expires = 0; // read a moment apart
    }
    let key = |c: &ipvs::conn::Connection| (c.client_addr, c.client_port, c.protocol.clone());
    conns.sort_by_key(key);
    in_file.sort_by_key(key);
    assert_eq!(conns, in_file);
    assert_eq!(conns.len(), 4, "{conns:?}");
    assert_connections_agree(&ns, &ipvs);
    let summary: Vec<[String; 4]> = conns
        .iter()
        .map(|c| {
            [
                format!("{} {}", c.protocol, addrport(c.client_addr, c.client_port)),
                addrport(c.virtual_addr, c.virtual_port),
                addrport(c.dest_addr, c.dest_port),
                c.state.clone(),
            ]
        })
        .collect();
    // The TCP service hashes source address and port (sh-port): either server that has a weight.
    for (i, row) in summary[..2].iter().enumerate() {
        let port = conns[i].client_port;
        assert_eq!(row[0], format!("TCP 10.1.0.100:{port}"));
        assert_eq!(
            (row[1].as_str(), row[3].as_str()),
            ("10.1.0.1:80", "SYN_RECV")
        );
        assert!(
            ["10.2.1.1:8080", "10.2.1.3:8081"].contains(&row[2].as_str()),
            "{row:?}"
        );
    }
    let v6_port = conns[3].client_port;
    assert_eq!(
        summary[2..],
        [
            [
                "TCP [2001:db8::]:0".to_string(),
                "[2001:db8::1]:443".into(),
                "[2001:db8:2:5::1]:8443".into(),
                "NONE".into()
            ],
            [
                format!("TCP [2001:db8::100]:{v6_port}"),
                "[2001:db8::1]:443".into(),
                "[2001:db8:2:5::1]:8443".into(),
                "SYN_RECV".into()
            ],
        ],
        "{conns:?}"
    );
}
