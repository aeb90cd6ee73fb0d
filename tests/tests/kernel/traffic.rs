//! Real traffic through a masquerading service: connections, 64-bit statistics, zeroing.
//!
//! One namespace holds everything: a real server (an HTTP server of this test process, its
//! socket opened inside the namespace) on 10.7.0.2:8080, two virtual services on 10.7.0.100:80
//! and 10.7.0.101:80 masquerading to it, and a local client. IPVS schedules locally sent
//! packets too (its LOCAL_OUT hooks), so the client's requests go through the services.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipvs::{Destination, Forward, Service, ServiceKey, Stats, VirtualServer};
use ipvs_sys::{Attr, Command, IpvsMessage, IpvsSocket, ServiceAttr, StatsAttr};

use crate::harness::{require_ipvs, NetNs};
use crate::support::*;

const BODY: &str = "hello from the real server";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn counters(s: &Stats) -> [u64; 5] {
    [
        s.conns,
        s.in_packets,
        s.out_packets,
        s.in_bytes,
        s.out_bytes,
    ]
}

fn find(state: &[VirtualServer], key: ServiceKey) -> &VirtualServer {
    state
        .iter()
        .find(|vs| vs.entry.service.key == key)
        .unwrap_or_else(|| panic!("{key:?} is not listed"))
}

/// Waits until the services have counted `conns` connections each, then until the kernel has
/// folded every packet into what it reports (it does every 2 s), and returns the state.
fn settled(ipvs: &ipvs::Ipvs, want: &[(ServiceKey, u64)]) -> Vec<VirtualServer> {
    wait_for(
        "the connections in the statistics",
        Duration::from_secs(10),
        || {
            let state = ipvs.state().expect("state");
            want.iter()
                .all(|(k, n)| find(&state, *k).entry.stats.conns == *n)
                .then_some(())
        },
    );
    std::thread::sleep(Duration::from_millis(2500));
    ipvs.state().expect("state")
}

/// The services' counters as the kernel sends them in the 64-bit nest (`STATS64`), read with
/// the wire layer directly.
fn stats64_on_the_wire(ns: &NetNs) -> Vec<(u16, [u64; 5])> {
    let path = PathBuf::from(format!("/run/netns/{}", ns.name()));
    let mut sock = IpvsSocket::open_in_netns(&path).expect("IpvsSocket::open_in_netns");
    let replies = sock
        .dump(&IpvsMessage::new(Command::GetService, vec![]))
        .expect("GET_SERVICE dump");
    let mut out = Vec::new();
    for m in &replies {
        for a in &m.attrs {
            let Attr::Service(attrs) = a else { continue };
            let port = attrs
                .iter()
                .find_map(|a| match a {
                    ServiceAttr::Port(p) => Some(*p),
                    _ => None,
                })
                .expect("port");
            let stats = attrs
                .iter()
                .find_map(|a| match a {
                    ServiceAttr::Stats64(s) => Some(s),
                    _ => None,
                })
                .expect("the kernel sends STATS64");
            let mut c = [0u64; 5];
            for s in stats {
                match *s {
                    StatsAttr::Conns(v) => c[0] = v,
                    StatsAttr::InPkts(v) => c[1] = v,
                    StatsAttr::OutPkts(v) => c[2] = v,
                    StatsAttr::InBytes(v) => c[3] = v,
                    StatsAttr::OutBytes(v) => c[4] = v,
                    _ => {}
                }
            }
            out.push((port, c));
        }
    }
    out
}

#[test]
fn http_through_masquerading_services_is_counted_listed_as_connections_and_zeroed() {
    require_ipvs();
    let ns = NetNs::new();
    add_dummy(
        &ns,
        "lan0",
        &[
            "10.7.0.1/24",
            "10.7.0.2/24",
            "10.7.0.100/24",
            "10.7.0.101/24",
        ],
    );
    let server = SocketAddr::from((ip("10.7.0.2"), 8080));
    http_server(&ns, server, BODY);
    let ipvs = open(&ns);
    let a = ServiceKey::tcp(ip("10.7.0.100"), 80);
    let b = ServiceKey::tcp(ip("10.7.0.101"), 80);
    for key in [a, b] {
        ipvs.add_service(&Service::new(key).with_scheduler("rr"))
            .expect("add_service");
        ipvs.add_destination(
            &key,
            &Destination::new(server.ip(), server.port()).with_forward(Forward::Masquerade),
        )
        .expect("add_destination");
    }
    assert!(ipvs
        .connections()
        .expect("connections")
        .collect::<Result<Vec<_>, _>>()
        .expect("connections")
        .is_empty());

    // One connection, kept open: it is in the connection table, ESTABLISHED, and active.
    let vip_a = SocketAddr::from((ip("10.7.0.100"), 80));
    let (open_conn, answer) = http_get(&ns, vip_a);
    assert!(
        answer.ends_with(BODY),
        "answer through the service: {answer:?}"
    );
    let client = open_conn.local_addr().expect("local address");
    let conns = ipvs
        .connections()
        .expect("connections")
        .collect::<Result<Vec<_>, _>>()
        .expect("connections");
    assert_eq!(conns.len(), 1, "{conns:?}");
    let c = &conns[0];
    assert_eq!(c.protocol, "TCP");
    assert_eq!((c.client_addr, c.client_port), (client.ip(), client.port()));
    assert_eq!((c.virtual_addr, c.virtual_port), (vip_a.ip(), 80));
    assert_eq!((c.dest_addr, c.dest_port), (server.ip(), 8080));
    assert_eq!(c.state, "ESTABLISHED");
    assert!(
        c.expires > 800 && c.expires <= 900,
        "TCP timeout 900 s: {}",
        c.expires
    );
    assert_eq!(c.pe_name, None);

    // The same table as the kernel's file in the namespace and as ipvsadm -L -n -c shows it.
    let proc_conns = ipvs::conn::parse_connections(&ns.exec_ok("cat", &["/proc/net/ip_vs_conn"]))
        .expect("parse /proc/net/ip_vs_conn");
    assert_eq!(proc_conns.len(), 1);
    assert!(c.expires.abs_diff(proc_conns[0].expires) <= 2);
    assert_eq!(
        ipvs::conn::Connection {
            expires: c.expires,
            ..proc_conns[0].clone()
        },
        *c
    );
    assert_connections_agree(&ns, &ipvs);
    let listed = ns.ipvsadm_ok(&["-L", "-n", "-c"]);
    let row: Vec<&str> = listed
        .lines()
        .nth(2)
        .expect("a connection row")
        .split_whitespace()
        .collect();
    assert_eq!(
        [row[0], row[2], row[3], row[4], row[5]],
        [
            "TCP",
            "ESTABLISHED",
            client.to_string().as_str(),
            "10.7.0.100:80",
            "10.7.0.2:8080"
        ],
        "{listed}"
    );
    let state = ipvs.state().expect("state");
    assert_eq!(find(&state, a).destinations[0].active_conns, 1);
    assert_listing_agrees(&ns, &state, Listing::Plain);

    // More requests, then every connection closed.
    let vip_b = SocketAddr::from((ip("10.7.0.101"), 80));
    for to in [vip_b, vip_a, vip_b] {
        let (conn, answer) = http_get(&ns, to);
        assert!(answer.ends_with(BODY), "{answer:?}");
        drop(conn);
    }
    drop(open_conn);
    let state = settled(&ipvs, &[(a, 2), (b, 2)]);
    for key in [a, b] {
        let vs = find(&state, key);
        let s = &vs.entry.stats;
        assert_eq!(s.conns, 2);
        // Per connection at least SYN, ACK, request, FIN in; SYN-ACK, answer, FIN out.
        assert!(s.in_packets >= 8 && s.out_packets >= 6, "{s:?}");
        assert!(s.in_bytes >= 40 * s.in_packets, "{s:?}");
        assert!(
            s.out_bytes >= 2 * BODY.len() as u64 + 40 * s.out_packets,
            "{s:?}"
        );
        // One real server: it counted exactly what its service counted.
        assert_eq!(counters(&vs.destinations[0].stats), counters(s));
    }
    let conns = assert_connections_agree(&ns, &ipvs);
    assert_eq!(conns.len(), 4, "closed connections stay a while: {conns:?}");
    assert!(conns.iter().all(|c| c.dest_addr == server.ip()));

    // The library reports the kernel's 64-bit counters, and ipvsadm lists the same numbers.
    let wire = stats64_on_the_wire(&ns);
    assert_eq!(wire.len(), 2);
    for (port, c) in &wire {
        assert_eq!(*port, 80);
        assert!(
            [a, b]
                .iter()
                .any(|k| counters(&find(&state, *k).entry.stats) == *c),
            "{c:?} is not what the library reported"
        );
    }
    assert_listing_agrees(&ns, &state, Listing::StatsExact);

    // Zeroing one service clears it and its real server, and leaves the other alone.
    let before_b = counters(&find(&state, b).entry.stats);
    ipvs.zero(Some(&a)).expect("zero one service");
    let state = ipvs.state().expect("state");
    assert_eq!(counters(&find(&state, a).entry.stats), [0; 5]);
    assert_eq!(counters(&find(&state, a).destinations[0].stats), [0; 5]);
    assert_eq!(counters(&find(&state, b).entry.stats), before_b);
    assert_listing_agrees(&ns, &state, Listing::StatsExact);

    ipvs.zero(None).expect("zero all");
    let state = ipvs.state().expect("state");
    for vs in &state {
        assert_eq!(counters(&vs.entry.stats), [0; 5]);
        assert_eq!(counters(&vs.destinations[0].stats), [0; 5]);
    }
    assert_listing_agrees(&ns, &state, Listing::StatsExact);
}
