//! Real HTTP traffic through every forwarding method, with IPVS programmed by the `ipvsctl`
//! binary: masquerading (NAT, IPv4 and IPv6), direct routing and tunnelling (ipip and gue). Each
//! test counts which real server answered each request (see `lab.rs` for the networks), and
//! checks what `ipvsctl -Lnc` and `-Lnc --json` list for those connections.

use crate::harness::require_ipvs;
use crate::lab::*;

/// 8 requests: few, because the VM is emulated, and enough for rr's 4:4 and wrr's 6:2.
const N: usize = 8;

#[test]
fn nat_rr_wrr_weight_zero_delete_and_persistence_share_requests_as_configured() {
    require_ipvs();
    let lab = NatLab::new(2);
    let d = &lab.director;
    let svc = format!("{VIP}:80");
    let vip_url = url(VIP);
    ipvsctl(d, &["-A", "-t", &svc, "-s", "rr"]);
    ipvsctl(d, &["-a", "-t", &svc, "-r", "192.168.10.11:80", "-m"]);
    ipvsctl(d, &["-a", "-t", &svc, "-r", "192.168.10.12:80", "-m"]);

    // Round robin: an even split, and the connection table says the same, closed both ways.
    assert_eq!(
        tally(&lab.client, &vip_url, N),
        counts(&[("rs1", 4), ("rs2", 4)])
    );
    assert_eq!(
        wait_connections(d, &format!("{VIP}:80"), N, "TIME_WAIT"),
        counts(&[("192.168.10.11:80", 4), ("192.168.10.12:80", 4)])
    );
    assert!(connections(d)
        .iter()
        .all(|c| c.protocol == "TCP" && c.client.starts_with("10.0.0.2:")));
    // Masquerading: the replies come back through the director, and are counted.
    let (stats, dests) = settled_stats(d, N as u64, 4 * N as u64);
    assert!(
        stats["out_packets"].as_u64().unwrap() >= 3 * N as u64,
        "{stats}"
    );
    for rs in ["192.168.10.11", "192.168.10.12"] {
        assert_eq!(dests[rs]["conns"], 4, "{rs}: {}", dests[rs]);
    }

    // Weighted round robin, weights 3 and 1: 3:1.
    ipvsctl(
        d,
        &["-e", "-t", &svc, "-r", "192.168.10.11:80", "-m", "-w", "3"],
    );
    ipvsctl(d, &["-E", "-t", &svc, "-s", "wrr"]);
    assert_eq!(
        tally(&lab.client, &vip_url, N),
        counts(&[("rs1", 6), ("rs2", 2)])
    );

    // Weight 0: no new connections for that server.
    ipvsctl(
        d,
        &["-e", "-t", &svc, "-r", "192.168.10.12:80", "-m", "-w", "0"],
    );
    assert_eq!(tally(&lab.client, &vip_url, N), counts(&[("rs1", N)]));

    // A deleted server: its traffic moves to the rest.
    ipvsctl(
        d,
        &["-e", "-t", &svc, "-r", "192.168.10.12:80", "-m", "-w", "1"],
    );
    ipvsctl(d, &["-d", "-t", &svc, "-r", "192.168.10.11:80"]);
    assert_eq!(tally(&lab.client, &vip_url, N), counts(&[("rs2", N)]));

    // Persistence: one client stays on one server, though round robin would alternate.
    ipvsctl(d, &["-a", "-t", &svc, "-r", "192.168.10.11:80", "-m"]);
    ipvsctl(d, &["-E", "-t", &svc, "-s", "rr", "-p", "60"]);
    let persistent = tally(&lab.client, &vip_url, N);
    assert_eq!(
        persistent.len(),
        1,
        "one client, one server: {persistent:?}"
    );
    assert_eq!(persistent.values().sum::<usize>(), N);
    let chosen = if persistent.contains_key("rs1") {
        "192.168.10.11:80"
    } else {
        "192.168.10.12:80"
    };
    // The persistence template (client port 0) names that server; it has served connections,
    // so the kernel calls it ASSURED.
    let templates: Vec<Conn> = connections(d)
        .into_iter()
        .filter(|c| c.client == "10.0.0.2:0")
        .collect();
    assert_eq!(templates.len(), 1, "{templates:?}");
    assert_eq!(templates[0].dest, chosen);
    assert_eq!(templates[0].state, "ASSURED");
}

#[test]
fn nat_over_ipv6_splits_round_robin_and_lists_the_connections() {
    require_ipvs();
    let lab = NatLab::new(2);
    let d = &lab.director;
    let svc = format!("[{VIP6}]:80");
    ipvsctl(d, &["-A", "-t", &svc, "-s", "rr"]);
    ipvsctl(d, &["-a", "-t", &svc, "-r", "[fd00:10::11]:80", "-m"]);
    ipvsctl(d, &["-a", "-t", &svc, "-r", "[fd00:10::12]:80", "-m"]);
    assert_eq!(
        tally(&lab.client, &url(VIP6), N),
        counts(&[("rs1", 4), ("rs2", 4)])
    );
    assert_eq!(
        wait_connections(d, &svc, N, "TIME_WAIT"),
        counts(&[("[fd00:10::11]:80", 4), ("[fd00:10::12]:80", 4)])
    );
    assert!(connections(d)
        .iter()
        .all(|c| c.client.starts_with("[fd00::2]:")));
    let (stats, _) = settled_stats(d, N as u64, 4 * N as u64);
    assert!(
        stats["out_packets"].as_u64().unwrap() >= 3 * N as u64,
        "{stats}"
    );
}

/// Round robin over the lab's two real servers with `switch` (`-g` or `-i ...`), 8 requests:
/// an even split, the connections listed to the right servers, and the replies never through
/// the director: its outgoing counters stay 0 while it counts every request's packets.
fn balanced_and_bypassing(lab: &LanLab, switch: &[&str]) {
    let d = &lab.director;
    let svc = format!("{VIP}:80");
    ipvsctl(d, &["-A", "-t", &svc, "-s", "rr"]);
    for rs in ["10.0.0.11:80", "10.0.0.12:80"] {
        let mut args = vec!["-a", "-t", &svc, "-r", rs];
        args.extend_from_slice(switch);
        ipvsctl(d, &args);
    }
    assert_eq!(
        tally(&lab.client, &url(VIP), N),
        counts(&[("rs1", 4), ("rs2", 4)])
    );
    // The director sees the client's packets only (the kernel's input-only state table): the
    // client's FIN leaves each connection in FIN_WAIT, where NAT, seeing both, reaches TIME_WAIT.
    assert_eq!(
        wait_connections(d, &svc, N, "FIN_WAIT"),
        counts(&[("10.0.0.11:80", 4), ("10.0.0.12:80", 4)])
    );
    // SYN, ACK, request, FIN, ACK in per connection; nothing out.
    let (stats, dests) = settled_stats(d, N as u64, 4 * N as u64);
    assert_eq!(
        (stats["out_packets"].as_u64(), stats["out_bytes"].as_u64()),
        (Some(0), Some(0)),
        "{stats}"
    );
    for rs in ["10.0.0.11", "10.0.0.12"] {
        let s = &dests[rs];
        assert_eq!(s["conns"], 4, "{rs}: {s}");
        assert_eq!(
            (s["out_packets"].as_u64(), s["out_bytes"].as_u64()),
            (Some(0), Some(0)),
            "{rs}: {s}"
        );
    }
}

#[test]
fn direct_routing_only_the_director_answers_arp_and_replies_bypass_it() {
    require_ipvs();
    let lab = LanLab::new(2);
    let director_mac = mac_of(&lab.director, "eth0");
    // The VIP on the real servers' loopback without the lecture's sysctls: they answer ARP for
    // it too (what arp_ignore is for; also shows that this check can fail).
    for r in &lab.rs {
        ip(r, &format!("addr add {VIP}/32 dev lo"));
    }
    let all = arp_answers(&lab.client, VIP);
    assert_eq!(
        all.len(),
        3,
        "director and both real servers answer: {all:?}"
    );
    for r in &lab.rs {
        ip(r, &format!("addr del {VIP}/32 dev lo"));
    }
    ip(&lab.client, "neigh flush all");
    lab.real_servers_own_the_vip("lo");
    assert_eq!(arp_answers(&lab.client, VIP), vec![director_mac.clone()]);
    ip(&lab.client, "neigh flush all");

    balanced_and_bypassing(&lab, &["-g"]);
    // The client's packets for the VIP went to the director's MAC.
    let neigh = lab.client.exec_ok("ip", &["neigh", "show", VIP]);
    assert!(neigh.contains(&director_mac), "{neigh}");
}

#[test]
fn tunnelling_ipip_real_servers_decapsulate_and_answer_directly() {
    require_ipvs();
    modprobe("ipip");
    let lab = LanLab::new(2);
    lab.real_servers_own_the_vip("tunl0");
    balanced_and_bypassing(&lab, &["-i"]);
    let tun = ipvsctl(&lab.director, &["-Ln", "--tun-info"]);
    assert_eq!(tun.matches(" Tunnel  ipip ").count(), 2, "{tun}");
}

#[test]
fn tunnelling_gue_with_tun_port_real_servers_decapsulate_and_answer_directly() {
    require_ipvs();
    modprobe("ipip");
    modprobe("fou");
    let lab = LanLab::new(2);
    lab.real_servers_own_the_vip("tunl0");
    for r in &lab.rs {
        ip(r, "fou add port 6080 gue");
    }
    balanced_and_bypassing(&lab, &["-i", "--tun-type", "gue", "--tun-port", "6080"]);
    let tun = ipvsctl(&lab.director, &["-Ln", "--tun-info"]);
    assert_eq!(tun.matches(" gue:6080:-c ").count(), 2, "{tun}");
    // The real servers' GUE socket is what took the requests in.
    for r in &lab.rs {
        let fou = r.exec_ok("ip", &["fou", "show"]);
        assert!(fou.contains("port 6080 gue"), "{fou}");
    }
}
