//! `ipvsctl conns` against `ipvsadm -Lnc` with real connections: TCP over IPv4 and IPv6, UDP,
//! and a fwmark service with persistence (tc marks the packets). Each filter's rows are the
//! rows of `ipvsadm -Lnc` that the same filter, written here, keeps; the counts add up.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{require_ipvs, NetNs};
use crate::lab::{ipvsctl, modprobe, NatLab, VIP, VIP6};
use crate::support::{http_get, http_server, udp_send, wait_for};

/// A row of `-Lnc`, without its expiry (the two tools read the table a moment apart).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    protocol: String,
    state: String,
    client: (IpAddr, u16),
    virt: (IpAddr, u16),
    dest: (IpAddr, u16),
}

/// `10.0.0.2:80` or `[fd00::2]:80`.
fn endpoint(s: &str) -> (IpAddr, u16) {
    let (a, p) = s.rsplit_once(':').unwrap_or_else(|| panic!("{s:?}"));
    let a = a.trim_start_matches('[').trim_end_matches(']');
    (
        a.parse().unwrap_or_else(|_| panic!("{s:?}")),
        p.parse().unwrap_or_else(|_| panic!("{s:?}")),
    )
}

/// The rows of an `-Lnc` listing (after its two title lines, which must be ipvsadm's).
fn rows(text: &str) -> Vec<Row> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("IPVS connection entries"), "{text}");
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("pro expire state")),
        "{text}"
    );
    let mut rows: Vec<Row> = lines
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 6, "a row of -Lnc: {l:?}");
            Row {
                protocol: f[0].to_string(),
                state: f[2].to_string(),
                client: endpoint(f[3]),
                virt: endpoint(f[4]),
                dest: endpoint(f[5]),
            }
        })
        .collect();
    rows.sort();
    rows
}

fn conns(ns: &NetNs, args: &[&str]) -> String {
    let mut all = vec!["conns"];
    all.extend_from_slice(args);
    ipvsctl(ns, &all)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn conns_filters_and_counts_are_ipvsadm_lnc_filtered_alike() {
    require_ipvs();
    let lab = NatLab::new(2);
    let d = &lab.director;
    for (i, r) in lab.rs.iter().enumerate() {
        for a in [
            format!("192.168.10.{}:8080", 11 + i),
            format!("[fd00:10::{}]:8080", 11 + i),
        ] {
            http_server(r, a.parse().unwrap(), "up");
        }
    }
    let rules = format!(
        "-A -t {VIP}:8080 -s rr\n\
         -a -t {VIP}:8080 -r 192.168.10.11:8080 -m\n\
         -a -t {VIP}:8080 -r 192.168.10.12:8080 -m\n\
         -A -t [{VIP6}]:8080 -s rr\n\
         -a -t [{VIP6}]:8080 -r [fd00:10::11]:8080 -m\n\
         -a -t [{VIP6}]:8080 -r [fd00:10::12]:8080 -m\n\
         -A -u {VIP}:53 -s rr\n\
         -a -u {VIP}:53 -r 192.168.10.11:53 -m\n\
         -a -u {VIP}:53 -r 192.168.10.12:53 -m\n\
         -A -f 7 -s rr -p 60\n\
         -a -f 7 -r 192.168.10.12:5353 -m\n"
    );
    crate::scale::restore(d, &rules);
    // UDP to the VIP's port 5353 carries mark 7 (IPVS reads it at LOCAL_IN, after tc ingress).
    for m in ["sch_ingress", "cls_u32", "act_skbedit"] {
        modprobe(m);
    }
    d.exec_ok("/bin/tc", &["qdisc", "add", "dev", "ext0", "ingress"]);
    d.exec_ok(
        "/bin/tc",
        &[
            "filter", "add", "dev", "ext0", "parent", "ffff:", "protocol", "ip", "u32", "match",
            "ip", "protocol", "17", "0xff", "match", "ip", "dport", "5353", "0xffff", "action",
            "skbedit", "mark", "7",
        ],
    );

    // Held open: ESTABLISHED for the whole test.
    let mut open: Vec<TcpStream> = Vec::new();
    for _ in 0..4 {
        open.push(http_get(&lab.client, format!("{VIP}:8080").parse().unwrap()).0);
    }
    for _ in 0..2 {
        open.push(http_get(&lab.client, format!("[{VIP6}]:8080").parse().unwrap()).0);
    }
    let udp: SocketAddr = format!("{VIP}:53").parse().unwrap();
    let marked: SocketAddr = format!("{VIP}:5353").parse().unwrap();
    for _ in 0..6 {
        udp_send(&lab.client, udp, b"q");
    }
    for _ in 0..3 {
        udp_send(&lab.client, marked, b"q");
    }
    // 6 TCP, 6 UDP, 3 marked UDP and the fwmark service's persistence template.
    let all = wait_for(
        "16 connections in ipvsadm -Lnc",
        Duration::from_secs(30),
        || {
            let r = rows(&d.ipvsadm_ok(&["-L", "-n", "-c"]));
            (r.len() == 16
                && r.iter()
                    .filter(|r| r.protocol == "TCP")
                    .all(|r| r.state == "ESTABLISHED"))
            .then_some(r)
        },
    );
    assert_eq!(rows(&conns(d, &[])), all, "conns without a filter is -Lnc");

    let rs1 = ip("192.168.10.11");
    let rs2 = ip("192.168.10.12");
    let client4 = ip("10.0.0.2");
    let client6 = ip("fd00::2");
    let in_fwmark = move |r: &Row| {
        (r.protocol == "IP" && r.virt == (ip("0.0.0.7"), 0)) || r.dest.0 == rs2 && r.dest.1 == 5353
    };
    type Pred = Box<dyn Fn(&Row) -> bool>;
    let v80 = format!("{VIP}:8080");
    let v6 = format!("[{VIP6}]:8080");
    let u53 = format!("{VIP}:53");
    let cases: Vec<(Vec<&str>, usize, Pred)> = vec![
        (
            vec!["-t", &v80],
            4,
            Box::new(|r| r.protocol == "TCP" && r.virt == (ip(VIP), 8080)),
        ),
        (
            vec!["-t", &v6],
            2,
            Box::new(|r| r.protocol == "TCP" && r.virt == (ip(VIP6), 8080)),
        ),
        (
            vec!["-u", &u53],
            6,
            Box::new(|r| r.protocol == "UDP" && r.virt == (ip(VIP), 53)),
        ),
        (vec!["-f", "7"], 4, Box::new(in_fwmark)),
        (
            vec!["--real-server", "192.168.10.11"],
            5,
            Box::new(move |r| r.dest.0 == rs1),
        ),
        (
            // Not the template: a fwmark service's template has real-server port 0.
            vec!["--real-server", "192.168.10.12:5353"],
            3,
            Box::new(move |r| r.dest == (rs2, 5353)),
        ),
        (
            vec!["--client", "10.0.0.0/24"],
            14,
            Box::new(move |r| r.client.0 == client4),
        ),
        (
            vec!["--client", "[fd00::2]"],
            2,
            Box::new(move |r| r.client.0 == client6),
        ),
        (
            vec!["--protocol", "udp"],
            9,
            Box::new(|r| r.protocol == "UDP"),
        ),
        (
            vec!["--state", "established,syn_recv"],
            6,
            Box::new(|r| r.state == "ESTABLISHED" || r.state == "SYN_RECV"),
        ),
        (
            vec![
                "-u",
                &u53,
                "--real-server",
                "192.168.10.12",
                "--state",
                "UDP",
            ],
            3,
            Box::new(move |r| r.protocol == "UDP" && r.virt == (ip(VIP), 53) && r.dest.0 == rs2),
        ),
    ];
    for (args, n, keep) in &cases {
        let want: Vec<Row> = all.iter().filter(|r| keep(r)).cloned().collect();
        assert_eq!(
            want.len(),
            *n,
            "ipvsadm -Lnc filtered as {args:?}, of all: {all:#?}"
        );
        let got = rows(&conns(d, args));
        assert_eq!(got, want, "ipvsctl conns {args:?}");
        let json: Value = serde_json::from_str(&conns(d, &[&args[..], &["--json"]].concat()))
            .expect("conns --json is JSON");
        let listed = json["connections"].as_array().expect("connections").len();
        assert_eq!(listed, *n, "ipvsctl conns {args:?} --json");
        let counted = conns(d, &[&args[..], &["--count"]].concat());
        assert_eq!(
            counted.trim(),
            n.to_string(),
            "ipvsctl conns {args:?} --count"
        );
    }

    // Per real server: what ipvsadm's rows give, and a sum that is the table's size.
    let by_server = conns(d, &["--count", "--by", "server"]);
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for r in &all {
        let key = match r.dest.0 {
            IpAddr::V4(a) => format!("{a}:{}", r.dest.1),
            IpAddr::V6(a) => format!("[{a}]:{}", r.dest.1),
        };
        *want.entry(key).or_insert(0) += 1;
    }
    let mut lines = by_server.lines();
    assert_eq!(
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["server", "count"]),
        "{by_server}"
    );
    let got: BTreeMap<String, u64> = lines
        .map(|l| {
            let (k, n) = l.split_once(' ').expect(l);
            (k.to_string(), n.trim().parse().expect(l))
        })
        .collect();
    assert_eq!(got, want, "conns --count --by server:\n{by_server}");
    let json: Value =
        serde_json::from_str(&conns(d, &["--count", "--by", "server,state", "--json"]))
            .expect("--count --json is JSON");
    assert_eq!(json["total"], 16);
    let groups = json["counts"].as_array().expect("counts");
    let sum: u64 = groups.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(sum, 16, "{json}");
    assert!(
        groups
            .iter()
            .any(|g| g["server"] == "192.168.10.12:5353" && g["state"] == "UDP"),
        "{json}"
    );

    // Bad filters: exit 2, the value named.
    for (args, named) in [
        (vec!["--state", "ESTABLISHED,BOGUS"], "BOGUS"),
        (vec!["--client", "10.0.0.0/33"], "10.0.0.0/33"),
        (vec!["--count", "--by", "port"], "port"),
        (vec!["-t", "10.0.0.300:80"], "10.0.0.300:80"),
    ] {
        let mut all_args = vec!["conns"];
        all_args.extend_from_slice(&args);
        let (status, out, err) = d.exec("ipvsctl", &all_args);
        assert_eq!(status, 2, "ipvsctl conns {args:?}: {out}{err}");
        assert!(err.contains(named), "ipvsctl conns {args:?}: {err}");
    }
    drop(open);
}
