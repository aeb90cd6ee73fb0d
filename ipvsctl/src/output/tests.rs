//! Whole-output tests. Every ipvsadm listing expected here is ipvsadm 1.31's
//! own output, captured in the test VM together with the kernel's netlink
//! replies it printed from (`ipvsctl/tests/fixtures/*.nl`, copies of
//! `ipvs-sys/tests/fixtures/*.nl`, and `listings/*.nl`, `# output:` lines; how to capture
//! them again: the README there). The tests decode those replies (and, for
//! `-c`, the `/proc/net/ip_vs_conn` text ipvsadm read) with the library's own
//! conversions, format them, and compare with what ipvsadm printed. Only the
//! counter suffixes beyond K (`BIG_*`) and the pe columns of `-c
//! --persistent-conn`, which the capture VM's kernel could not be made to
//! produce, the JSON documents, and odd values no kernel reports are checked
//! against hand-made expectations.

use std::collections::HashMap;
use std::net::IpAddr;

use ipvs::{
    Connection, DaemonState, Destination, DestinationEntry, Family, Forward, Info, Netmask,
    Scheduler, Service, ServiceEntry, ServiceFlags, ServiceKey, Stats, SyncDaemon, Timeouts,
    TunnelFlags, TunnelType, VirtualServer,
};
use ipvs_sys::frame::{self, Body};
use ipvs_sys::IpvsMessage;

use super::*;

/// The text of a captured fixture, by its path under `ipvsctl/tests/fixtures`
/// without `.nl`.
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/", $name, ".nl"))
    };
}

/// The `# output:` lines of a fixture, each with its newline.
fn fixture_output(text: &str) -> String {
    comment_lines(text, "# output: ")
}

fn comment_lines(text: &str, prefix: &str) -> String {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The IPVS messages of a fixture (requests and kernel replies, in capture
/// order), decoded; acknowledgements and the end of dumps are left out.
fn fixture_messages(text: &str) -> Vec<IpvsMessage> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(hex) = line.strip_prefix("> ").or_else(|| line.strip_prefix("< ")) else {
            continue;
        };
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        for f in frame::decode(&bytes).expect("a captured netlink message") {
            if let Body::Data(payload) = f.body {
                out.push(IpvsMessage::parse(payload).expect("a captured IPVS message"));
            }
        }
    }
    out
}

/// The table ipvsadm listed in a fixture, decoded from the kernel's replies it
/// got (services in the kernel's order, each with its destinations).
fn fixture_state(text: &str) -> Vec<VirtualServer> {
    ipvs::replay::state(&fixture_messages(text)).expect("the captured table decodes")
}

/// The table of the `list` fixture (the first capture's main listing).
fn list_state() -> Vec<VirtualServer> {
    fixture_state(fixture!("list"))
}

fn lines(expected: &[&str]) -> String {
    expected.iter().map(|l| format!("{l}\n")).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A resolver with the tables the capture VM of `fixtures/listings` had as its
/// /etc/hosts and /etc/services (the capture copies those very files there).
struct FakeNames {
    hosts: HashMap<IpAddr, String>,
    services: HashMap<(u16, String), String>,
}

impl FakeNames {
    fn new() -> Self {
        let table = |text: &'static str| {
            text.lines()
                .map(|l| l.split('#').next().unwrap())
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    Some((f.next()?, f.next()?))
                })
        };
        // The first name of an address is the one gethostbyaddr() returns.
        let mut hosts = HashMap::new();
        for (addr, name) in table(include_str!("../../tests/fixtures/listings/hosts")) {
            hosts.entry(ip(addr)).or_insert_with(|| name.to_string());
        }
        let mut services = HashMap::new();
        for (name, port_proto) in table(include_str!("../../tests/fixtures/listings/services")) {
            let (port, proto) = port_proto.split_once('/').unwrap();
            services
                .entry((port.parse().unwrap(), proto.to_string()))
                .or_insert_with(|| name.to_string());
        }
        FakeNames { hosts, services }
    }
}

impl Names for FakeNames {
    fn host(&self, addr: IpAddr) -> Option<String> {
        self.hosts.get(&addr).cloned()
    }
    fn service(&self, port: u16, proto: &str) -> Option<String> {
        self.services.get(&(port, proto.to_string())).cloned()
    }
}

const INFO: Info = Info {
    version: 0x010201,
    conn_tab_size: 4096,
};

fn service(key: ServiceKey, sched: &str) -> Service {
    Service::new(key).with_scheduler(sched)
}

fn vs(svc: Service, st: Stats, dests: Vec<DestinationEntry>) -> VirtualServer {
    let mut svc = svc;
    // The kernel reports every listed service as hashed.
    svc.flags |= ServiceFlags::HASHED;
    VirtualServer {
        entry: ServiceEntry {
            service: svc,
            stats: st,
        },
        destinations: dests,
    }
}

fn dest(d: Destination, active: u32, st: Stats) -> DestinationEntry {
    DestinationEntry {
        destination: d,
        active_conns: active,
        inactive_conns: 0,
        persistent_conns: 0,
        stats: st,
    }
}

fn numeric(mode: ListMode) -> ListOptions {
    ListOptions {
        mode,
        numeric: true,
        ..ListOptions::default()
    }
}

#[test]
fn default_listing_matches_ipvsadm_fixture() {
    let text = fixture!("list");
    let expected = fixture_output(text);
    assert!(expected.lines().count() > 10);
    let got = list_text_with(
        &INFO,
        &fixture_state(text),
        &numeric(ListMode::Default),
        &FakeNames::new(),
    );
    assert_eq!(got, expected);
}

#[test]
fn stats_listing_matches_ipvsadm_fixture() {
    let text = fixture!("list_stats");
    let got = list_text_with(
        &INFO,
        &fixture_state(text),
        &numeric(ListMode::Stats),
        &NumericOnly,
    );
    assert_eq!(got, fixture_output(text));
}

#[test]
fn empty_listing_matches_ipvsadm_fixture() {
    let text = fixture!("list_empty");
    assert!(fixture_state(text).is_empty());
    assert_eq!(
        list_text_with(&INFO, &[], &numeric(ListMode::Default), &NumericOnly),
        fixture_output(text)
    );
}

#[test]
fn one_service_listing_matches_ipvsadm_fixture() {
    let text = fixture!("get_service");
    let state = fixture_state(text);
    assert_eq!(state.len(), 1);
    assert_eq!(
        state[0].entry.service.key,
        ServiceKey::tcp(ip("10.1.1.1"), 80)
    );
    let got = list_service_text_with(&state[0], &numeric(ListMode::Default), &NumericOnly);
    assert_eq!(got, fixture_output(text));
}

#[test]
fn timeout_matches_ipvsadm_fixture() {
    let expected = fixture_output(include_str!("../../tests/fixtures/get_config.nl"));
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    assert_eq!(timeout_text(&t), expected);
}

#[test]
fn daemon_matches_ipvsadm_fixture() {
    let expected = fixture_output(include_str!("../../tests/fixtures/get_daemon.nl"));
    let master = SyncDaemon {
        sync_maxlen: Some(1472),
        mcast_group: Some(ip("224.0.0.81")),
        mcast_port: Some(8848),
        mcast_ttl: Some(1),
        ..SyncDaemon::new(DaemonState::Master, "sync0", 5)
    };
    let backup = SyncDaemon {
        sync_maxlen: Some(1200),
        mcast_group: Some(ip("224.0.0.81")),
        mcast_port: Some(8849),
        mcast_ttl: Some(2),
        ..SyncDaemon::new(DaemonState::Backup, "sync0", 6)
    };
    assert_eq!(daemon_text(&[master, backup]), expected);
}

#[test]
fn daemon_without_kernel_4_3_fields() {
    // Before 4.3 the kernel reports none of them; zero values are left out too.
    let old = SyncDaemon::new(DaemonState::Backup, "eth0", 255);
    let zero = SyncDaemon {
        sync_maxlen: Some(0),
        mcast_port: Some(0),
        mcast_ttl: Some(0),
        mcast_group: Some(ip("ff02::1:2")),
        ..SyncDaemon::new(DaemonState::Master, "eth1", 1)
    };
    assert_eq!(
        daemon_text(&[old, zero]),
        "backup sync daemon (mcast=eth0, syncid=255)\n\
         master sync daemon (mcast=eth1, syncid=1, group=ff02::1:2)\n"
    );
    assert_eq!(daemon_text(&[]), "");
}

/// The listings of the second capture (`fixtures/listings`): each fixture's
/// own kernel replies in, its ipvsadm output as the expected text.
#[test]
fn listings_match_ipvsadm_captures() {
    let names = FakeNames::new();
    let opts = |mode, numeric, exact, sort| ListOptions {
        mode,
        numeric,
        exact,
        sort,
    };
    for (text, what, o) in [
        (
            fixture!("listings/list_rate"),
            "-L -n --rate",
            opts(ListMode::Rate, true, false, true),
        ),
        (
            fixture!("listings/list_rate_exact"),
            "-L -n --rate --exact",
            opts(ListMode::Rate, true, true, true),
        ),
        (
            fixture!("listings/list_stats_exact"),
            "-L -n --stats --exact",
            opts(ListMode::Stats, true, true, true),
        ),
        (
            fixture!("listings/list_thresholds"),
            "-L -n --thresholds",
            opts(ListMode::Thresholds, true, false, true),
        ),
        (
            fixture!("listings/list_persistent_conn"),
            "-L -n --persistent-conn",
            opts(ListMode::PersistentConn, true, false, true),
        ),
        (
            fixture!("listings/list_tun_info"),
            "-L -n --tun-info",
            opts(ListMode::TunInfo, true, false, true),
        ),
        (
            fixture!("listings/list_nosort"),
            "-L -n --nosort",
            opts(ListMode::Default, true, false, false),
        ),
        (
            fixture!("listings/list_named"),
            "-L",
            opts(ListMode::Default, false, false, true),
        ),
        (
            fixture!("listings/list_named_stats"),
            "-L --stats",
            opts(ListMode::Stats, false, false, true),
        ),
    ] {
        assert!(text.starts_with(&format!("# ipvsadm {what}\n")), "{what}");
        let expected = fixture_output(text);
        assert!(expected.lines().count() > 20, "{what}");
        let got = list_text_with(&INFO, &fixture_state(text), &o, &names);
        assert_eq!(got, expected, "ipvsadm {what}");
    }
}

#[test]
fn numeric_listing_never_asks_the_resolver() {
    let state = fixture_state(fixture!("listings/list_named"));
    let got = list_text_with(
        &INFO,
        &state,
        &numeric(ListMode::Default),
        &FakeNames::new(),
    );
    assert!(got.contains("10.1.1.1:80"));
    assert!(!got.contains("example"));
}

fn big_state() -> Vec<VirtualServer> {
    let big = Stats {
        conns: 123_456_789,
        in_packets: 99_999_999,
        out_packets: 10_000_000_000,
        in_bytes: 200_000_000_000_000,
        out_bytes: u64::MAX,
        cps: 100_000_000,
        in_pps: 123_456_789,
        out_pps: 5,
        in_bps: 999_999_999,
        out_bps: 1_000_000_000_000,
    };
    vec![vs(
        service(ServiceKey::tcp(ip("192.168.0.1"), 443), "wlc"),
        big,
        vec![dest(Destination::new(ip("192.168.0.10"), 443), 0, big)],
    )]
}

#[test]
fn large_counters_use_suffixes_unless_exact() {
    let state = big_state();
    for (mode, exact, expected) in [
        (ListMode::Stats, false, BIG_STATS),
        (ListMode::Stats, true, BIG_STATS_EXACT),
        (ListMode::Rate, false, BIG_RATE),
        (ListMode::Rate, true, BIG_RATE_EXACT),
    ] {
        let opts = ListOptions {
            exact,
            ..numeric(mode)
        };
        let got = list_service_text_with(&state[0], &opts, &NumericOnly);
        assert_eq!(got, lines(expected), "{mode:?} exact={exact}");
    }
}

#[test]
fn save_matches_ipvsadm_captures() {
    for (text, what, numeric) in [
        (fixture!("listings/save_numeric"), "-S -n", true),
        // Names are not cut to the listing's columns in rules.
        (fixture!("listings/save_named"), "-S", false),
    ] {
        assert!(text.starts_with(&format!("# ipvsadm {what}\n")), "{what}");
        let expected = fixture_output(text);
        assert!(expected.lines().count() > 20, "{what}");
        let got = save_text_with(&fixture_state(text), numeric, true, &FakeNames::new());
        assert_eq!(got, expected, "ipvsadm {what}");
    }
}

#[test]
fn save_odd_values_print_as_ipvsadm_would() {
    let mut flag3 = service(ServiceKey::tcp(ip("10.0.0.1"), 80), "sh");
    flag3.flags |= ServiceFlags::SCHED3;
    let mut wrr = service(ServiceKey::udp(ip("10.0.0.2"), 0), "wrr").with_persistence(360);
    wrr.flags |= ServiceFlags::SCHED1 | ServiceFlags::SCHED3 | ServiceFlags::ONEPACKET;
    let other_proto = service(
        ServiceKey::Addr {
            protocol: ipvs::Protocol::Other(33),
            addr: ip("10.0.0.3"),
            port: 9,
        },
        "rr",
    );
    let state = vec![
        vs(
            flag3,
            Stats::default(),
            vec![
                dest(
                    Destination::new(ip("10.9.0.1"), 80).with_forward(Forward::Bypass),
                    0,
                    Stats::default(),
                ),
                dest(
                    Destination::new(ip("10.9.0.2"), 80).with_forward(Forward::Local),
                    0,
                    Stats::default(),
                ),
                dest(
                    Destination::new(ip("2001:db8::9"), 80).with_forward(Forward::Tunnel {
                        kind: TunnelType::Other(9),
                        port: 0,
                        flags: TunnelFlags::empty(),
                    }),
                    0,
                    Stats::default(),
                ),
            ],
        ),
        vs(wrr, Stats::default(), vec![]),
        vs(other_proto, Stats::default(), vec![]),
        vs(
            service(ServiceKey::fwmark(u32::MAX, Family::Inet), "rr"),
            Stats::default(),
            vec![],
        ),
    ];
    let got = save_text_with(&state, true, true, &NumericOnly);
    assert_eq!(
        got,
        lines(&[
            // 0 - 0xffffffff wraps to 1 in ipvsadm's comparator, so this
            // fwmark service sorts before the address services.
            "-A -f -1 -s rr",
            // Bits without a name for sh leave "-b " empty, as in ipvsadm.
            "-A -t 10.0.0.1:80 -s sh -b ",
            "-a -t 10.0.0.1:80 -r 10.9.0.1:80 (null) -w 1",
            "-a -t 10.0.0.1:80 -r 10.9.0.2:80 -g -w 1",
            "-a -t 10.0.0.1:80 -r [2001:db8::9]:80 -i -w 1",
            "-A -u 10.0.0.2:0 -s wrr -p 360 -o -b flag-1,flag-3",
            "-A --xxx-service 10.0.0.3:9 -s rr",
        ])
    );
    let listed = list_service_text_with(&state[0], &numeric(ListMode::TunInfo), &NumericOnly);
    assert_eq!(
        listed,
        lines(&[
            "Prot LocalAddress:Port Scheduler Flags",
            "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn",
            "TCP  10.0.0.1:80 sh ()",
            "  -> 10.9.0.1:80                  (null)  n/a           1      0          0         ",
            "  -> 10.9.0.2:80                  Local   n/a           1      0          0         ",
            "  -> [2001:db8::9]:80             Tunnel  n/a           1      0          0         ",
        ])
    );
    let listed = list_text_with(&INFO, &state, &numeric(ListMode::Default), &NumericOnly);
    let services: Vec<&str> = listed
        .lines()
        .skip(3)
        .filter(|l| !l.starts_with("  ->"))
        .collect();
    assert_eq!(
        services,
        vec![
            "FWM  -1 rr",
            "TCP  10.0.0.1:80 sh ()",
            "UDP  10.0.0.2:0 wrr (flag-1,flag-3) persistent 360 ops",
            "?    10.0.0.3:9 rr",
        ]
    );
}

fn conns() -> Vec<Connection> {
    let c = |proto: &str,
             caddr: &str,
             cport,
             vaddr: &str,
             vport,
             daddr: &str,
             dport,
             state: &str,
             expires| Connection {
        protocol: proto.to_string(),
        client_addr: ip(caddr),
        client_port: cport,
        virtual_addr: ip(vaddr),
        virtual_port: vport,
        dest_addr: ip(daddr),
        dest_port: dport,
        state: state.to_string(),
        expires,
        pe_name: None,
        pe_data: None,
    };
    let mut sipc = c(
        "UDP",
        "2001:db8::5",
        53,
        "2001:db8::1",
        53,
        "2001:db8::10",
        53,
        "UDP",
        299,
    );
    sipc.pe_name = Some("sip".into());
    sipc.pe_data = Some("abc".into());
    vec![
        c(
            "TCP",
            "10.0.0.1",
            36410,
            "10.1.1.1",
            80,
            "10.2.2.3",
            80,
            "ESTABLISHED",
            899,
        ),
        sipc,
        c(
            "TCP", "10.0.0.2", 1234, "10.1.1.3", 80, "10.2.2.4", 80, "NONE", 6000,
        ),
        c(
            "SCTP",
            "10.0.0.3",
            5000,
            "10.1.1.2",
            5000,
            "10.2.2.9",
            5000,
            "ESTABLISHED",
            5,
        ),
    ]
}

/// `-c`: the `/proc/net/ip_vs_conn` text ipvsadm read (captured just before
/// and just after it ran, and equal) in, its output as the expected text.
#[test]
fn connection_listings_match_ipvsadm_captures() {
    let names = FakeNames::new();
    for (text, what, numeric, persistent) in [
        (fixture!("listings/conns_numeric"), "-L -n -c", true, false),
        (
            fixture!("listings/conns_numeric_persistent"),
            "-L -n -c --persistent-conn",
            true,
            true,
        ),
        (fixture!("listings/conns_named"), "-L -c", false, false),
        (
            fixture!("listings/conns_named_persistent"),
            "-L -c --persistent-conn",
            false,
            true,
        ),
    ] {
        assert!(text.starts_with(&format!("# ipvsadm {what}\n")), "{what}");
        let procfs = comment_lines(text, "# ip_vs_conn: ");
        let conns = ipvs::parse_connections(&procfs).unwrap();
        assert!(conns.len() >= 5, "{what}");
        let got = connections_text_with(&conns, numeric, persistent, &names);
        assert_eq!(got, fixture_output(text), "ipvsadm {what}");
    }
    // An empty table is the title alone, as the captured listings begin.
    let title: String = fixture_output(fixture!("listings/conns_numeric"))
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(connections_text_with(&[], true, false, &names), title);
}

/// The pe name and pe data columns of `-c --persistent-conn`, the one part of
/// the connection listing no capture shows: in the capture VM the kernel
/// dropped every SIP packet sent to a `--pe sip` service (the sip engine took
/// no Call-ID from it), so no entry had pe data. Hand-made like `BIG_*`: the
/// captured procfs text with pe fields added to one entry, as the kernel
/// prints them (" %s %s" after the expiry), and ipvsadm's row for it, whose
/// destination takes 16 columns and engine name 18 (`print_conn`).
#[test]
fn connection_pe_columns_follow_ipvsadm_format() {
    let text = fixture!("listings/conns_numeric_persistent");
    let procfs = comment_lines(text, "# ip_vs_conn: ").replace(
        "0A02020C 0035 NONE            594\n",
        "0A02020C 0035 NONE            594 sip a84b4c76e66710\n",
    );
    let conns = ipvs::parse_connections(&procfs).unwrap();
    assert_eq!(
        conns.iter().filter(|c| c.pe_name.is_some()).count(),
        1,
        "{procfs}"
    );
    let row = "UDP 09:54  NONE        10.0.0.1:0         10.1.1.1:53        10.2.2.12:53";
    let expected = fixture_output(text).replace(
        &format!("{row}\n"),
        &format!("{row}     sip                a84b4c76e66710\n"),
    );
    assert_ne!(expected, fixture_output(text));
    let got = connections_text_with(&conns, true, true, &NumericOnly);
    assert_eq!(got, expected);
    // Without --persistent-conn the pe fields are not shown.
    let plain = fixture_output(fixture!("listings/conns_numeric"));
    let got = connections_text_with(&conns, true, false, &NumericOnly);
    assert_eq!(got.lines().count(), plain.lines().count());
    assert!(!got.contains("a84b4c76e66710"));
}

#[test]
fn list_json_has_the_documented_shape() {
    let text = list_json(&INFO, &list_state(), &ListOptions::default());
    assert!(text.ends_with("}\n"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], "1.2.1");
    assert_eq!(v["conn_tab_size"], 4096);
    let services = v["services"].as_array().unwrap();
    assert_eq!(services.len(), 9);
    let first = &services[0];
    assert_eq!(first["family"], "ipv4");
    assert_eq!(first["protocol"], "tcp");
    assert_eq!(first["address"], "10.1.1.1");
    assert_eq!(first["port"], 80);
    assert_eq!(first["fwmark"], serde_json::Value::Null);
    assert_eq!(first["scheduler"], "wlc");
    assert_eq!(first["flags"], serde_json::json!([]));
    assert_eq!(first["netmask"], "255.255.255.255");
    assert_eq!(first["persistence_engine"], serde_json::Value::Null);
    assert_eq!(first["stats"]["conns"], 3);
    assert_eq!(first["stats"]["in_bytes"], 360);
    assert_eq!(first["stats"]["in_bps"], 26);
    let dests = first["destinations"].as_array().unwrap();
    assert_eq!(dests.len(), 4);
    assert_eq!(dests[0]["address"], "10.2.2.2");
    assert_eq!(dests[0]["forward"], "masq");
    assert_eq!(dests[0]["tunnel"], serde_json::Value::Null);
    assert_eq!(dests[0]["weight"], 5);
    // Added with -x 100 -y 10, then edited (`-e ... -w 5`) without them: ipvsadm
    // sends 0 for both, so the kernel reports none.
    assert_eq!(dests[0]["upper_threshold"], 0);
    assert_eq!(dests[0]["lower_threshold"], 0);
    // The same destination in the second capture still has them.
    let thresholds = list_json(
        &INFO,
        &fixture_state(fixture!("listings/list_thresholds")),
        &ListOptions::default(),
    );
    let t: serde_json::Value = serde_json::from_str(&thresholds).unwrap();
    let d = &t["services"][0]["destinations"][0];
    assert_eq!(d["address"], "10.2.2.2");
    assert_eq!(d["upper_threshold"], 100);
    assert_eq!(d["lower_threshold"], 10);
    assert_eq!(dests[1]["forward"], "route");
    assert_eq!(dests[1]["active_conns"], 1);
    assert_eq!(dests[1]["inactive_conns"], 0);
    assert_eq!(dests[1]["persistent_conns"], 0);
    assert_eq!(dests[1]["stats"]["in_packets"], 2);
    assert_eq!(
        dests[2]["tunnel"],
        serde_json::json!({"type": "gue", "port": 6080, "flags": ["csum"]})
    );
    assert_eq!(
        dests[3]["tunnel"],
        serde_json::json!({"type": "gre", "port": 0, "flags": []})
    );
    let pe = &services[1];
    assert_eq!(pe["flags"], serde_json::json!(["persistent"]));
    assert_eq!(pe["timeout"], 100);
    assert_eq!(pe["netmask"], "255.255.255.0");
    assert_eq!(pe["persistence_engine"], "sip");
    assert_eq!(services[4]["flags"], serde_json::json!(["ops"]));
    assert_eq!(services[5]["protocol"], "sctp");
    assert_eq!(
        services[5]["flags"],
        serde_json::json!(["sh-fallback", "sh-port"])
    );
    let v6 = &services[6];
    assert_eq!(v6["family"], "ipv6");
    assert_eq!(v6["address"], "2001:db8::1");
    assert_eq!(v6["netmask"], "64");
    assert_eq!(v6["flags"], serde_json::json!(["persistent", "mh-port"]));
    let fw = &services[8];
    assert_eq!(fw["fwmark"], 8);
    assert_eq!(fw["family"], "ipv6");
    assert_eq!(fw["protocol"], serde_json::Value::Null);
    assert_eq!(fw["address"], serde_json::Value::Null);
    assert_eq!(fw["port"], serde_json::Value::Null);
    assert_eq!(fw["netmask"], "128");
}

#[test]
fn json_counters_are_full_64_bit_numbers() {
    let text = list_json(&INFO, &big_state(), &ListOptions::default());
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["services"][0]["stats"]["out_bytes"].as_u64(),
        Some(u64::MAX)
    );
    assert_eq!(
        v["services"][0]["destinations"][0]["stats"]["in_bytes"].as_u64(),
        Some(200_000_000_000_000)
    );
}

/// What the save document should give back: the configuration, without
/// the kernel's hashed bit.
fn config_of(state: &[VirtualServer]) -> ipvs::State {
    let services = sort::services(state, true)
        .into_iter()
        .map(|v| {
            let mut s = v.entry.service.clone();
            s.flags.remove(ServiceFlags::HASHED);
            let d = sort::dests(&v.destinations, true)
                .into_iter()
                .map(|d| d.destination)
                .collect();
            ipvs::ServiceState {
                service: s,
                destinations: d,
            }
        })
        .collect();
    ipvs::State {
        services,
        timeouts: None,
    }
}

#[test]
fn save_json_round_trips() {
    let state = list_state();
    let text = save_json(&state);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v.get("version").is_none());
    assert!(v["services"][0].get("stats").is_none());
    assert!(v["services"][0]["destinations"][0]
        .get("active_conns")
        .is_none());
    let parsed = parse_save_json(&text).unwrap();
    assert_eq!(parsed, config_of(&state));
    // The listing document reads back the same.
    let listed = list_json(&INFO, &state, &ListOptions::default());
    assert_eq!(parse_save_json(&listed).unwrap(), config_of(&state));
}

#[test]
fn save_json_round_trips_odd_values() {
    let mut svc = service(ServiceKey::udp(ip("10.0.0.2"), 0), "wrr").with_persistence(7);
    svc.flags |= ServiceFlags::SCHED1
        | ServiceFlags::SCHED3
        | ServiceFlags::ONEPACKET
        | ServiceFlags::from_bits_retain(0x100);
    let mut mh = service(ServiceKey::fwmark(u32::MAX, Family::Inet6), "mh");
    mh.flags |= ServiceFlags::MH_FALLBACK | ServiceFlags::SCHED3;
    let other = service(
        ServiceKey::Addr {
            protocol: ipvs::Protocol::Other(33),
            addr: ip("::10.0.0.3"),
            port: 9,
        },
        "my-sched",
    );
    let remcsum = Forward::Tunnel {
        kind: TunnelType::Gue,
        port: 1,
        flags: TunnelFlags::REMCSUM,
    };
    let state = vec![
        vs(
            svc,
            Stats::default(),
            vec![
                dest(
                    Destination::new(ip("10.9.0.1"), 53).with_forward(Forward::Bypass),
                    0,
                    Stats::default(),
                ),
                dest(
                    Destination::new(ip("2001:db8::9"), 0)
                        .with_forward(remcsum)
                        .with_weight(65536),
                    0,
                    Stats::default(),
                ),
            ],
        ),
        vs(
            mh,
            Stats::default(),
            vec![dest(
                Destination::new(ip("2001:db8::1"), 8080).with_forward(Forward::Local),
                0,
                Stats::default(),
            )],
        ),
        vs(other, Stats::default(), vec![]),
    ];
    let text = save_json(&state);
    assert!(text.contains("\"0x00000100\""), "{text}");
    assert!(text.contains("\"::10.0.0.3\""), "{text}");
    assert_eq!(parse_save_json(&text).unwrap(), config_of(&state));
}

#[test]
fn parse_save_json_fills_ipvsadm_defaults() {
    let text = r#"{"services": [
        {"protocol": "tcp", "address": "192.0.2.1", "port": 80,
         "destinations": [{"address": "10.0.0.1", "port": 8080},
                          {"address": "10.0.0.2", "port": 8080, "forward": "masq"},
                          {"address": "10.0.0.3", "forward": "tunnel"}]},
        {"fwmark": 5, "flags": ["persistent"], "destinations": [{"address": "10.0.0.4"}]}
    ]}"#;
    let parsed = parse_save_json(text).unwrap();
    let key = ServiceKey::tcp(ip("192.0.2.1"), 80);
    assert_eq!(parsed.services[0].service, Service::new(key));
    assert_eq!(
        parsed.services[0].service.scheduler,
        Scheduler::WeightedLeastConnection
    );
    assert_eq!(
        parsed.services[0].destinations,
        vec![
            // Route: the service's port, as ipvsadm -g does.
            Destination::new(ip("10.0.0.1"), 80),
            Destination::new(ip("10.0.0.2"), 8080).with_forward(Forward::Masquerade),
            Destination::new(ip("10.0.0.3"), 80).with_forward(Forward::ipip()),
        ]
    );
    let fw = &parsed.services[1].service;
    assert_eq!(fw.key, ServiceKey::fwmark(5, Family::Inet));
    assert!(fw.is_persistent());
    assert_eq!(fw.timeout, 360);
    assert_eq!(fw.netmask, Netmask::full(Family::Inet));
    assert_eq!(
        parsed.services[1].destinations,
        vec![Destination::new(ip("10.0.0.4"), 0)]
    );
}

#[test]
fn parse_save_json_errors_name_the_bad_value() {
    let cases = [
        ("{", "invalid JSON"),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4", "port": 80, "wieght": 1}]}"#,
            "unknown field `wieght`",
        ),
        (
            r#"{"services": [{"protocol": "icmp", "address": "1.2.3.4", "port": 80}]}"#,
            "services[0].protocol: unknown protocol \"icmp\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3", "port": 80}]}"#,
            "services[0].address: invalid IP address \"1.2.3\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4"}]}"#,
            "services[0].port: port 0 needs a persistent service",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4", "port": 1, "flags": ["ops"]}]}"#,
            "services[0].flags: \"ops\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4", "port": 1, "flags": ["sh-port"]}]}"#,
            "services[0].flags: flag \"sh-port\" needs the sh scheduler",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4", "port": 1, "flags": ["fast"]}]}"#,
            "services[0].flags: unknown service flag \"fast\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4", "port": 1, "netmask": "64"}]}"#,
            "services[0].netmask: invalid IPv4 netmask \"64\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "::1", "port": 1, "netmask": "129"}]}"#,
            "services[0].netmask: invalid IPv6 netmask \"129\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "::1", "port": 1, "family": "ipv4"}]}"#,
            "services[0].family: does not match",
        ),
        (
            r#"{"services": [{"fwmark": 0}]}"#,
            "services[0].fwmark: fwmark 0",
        ),
        (
            r#"{"services": [{"fwmark": 1, "address": "1.2.3.4"}]}"#,
            "services[0].fwmark: a fwmark service has no",
        ),
        (
            r#"{"services": [{"fwmark": 1, "family": "inet"}]}"#,
            "services[0].family: unknown address family \"inet\"",
        ),
        (
            r#"{"services": [{"fwmark": 1, "scheduler": "a-very-long-scheduler"}]}"#,
            "services[0].scheduler: invalid name",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "nat"}]}]}"#,
            "services[0].destinations[0].forward: unknown forwarding method \"nat\"",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "masq", "tunnel": {"type": "gre"}}]}]}"#,
            "services[0].destinations[0].tunnel: tunnel options need forward \"tunnel\"",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "tunnel", "tunnel": {"type": "gue"}}]}]}"#,
            "services[0].destinations[0].tunnel.port: a gue tunnel needs a port",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "tunnel", "tunnel": {"type": "gre", "flags": ["remcsum"]}}]}]}"#,
            "remcsum is for gue tunnels only",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "tunnel", "tunnel": {"type": "vxlan"}}]}]}"#,
            "unknown tunnel type \"vxlan\"",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "::1"}]}]}"#,
            "services[0].destinations[0].address: a different address family",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "lower_threshold": 5}]}]}"#,
            "services[0].destinations[0].lower_threshold: 5 is above upper_threshold 0",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "weight": 4294967295}]}]}"#,
            "services[0].destinations[0].weight: 4294967295 is above 2147483647",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "port": 70000}]}]}"#,
            "invalid value: integer `70000`",
        ),
    ];
    for (text, want) in cases {
        let e = parse_save_json(text).expect_err(text);
        assert!(e.contains(want), "{text}\n  gave: {e}\n  want: {want}");
    }
}

#[test]
fn other_json_documents() {
    let t = timeout_json(&Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    });
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&t).unwrap(),
        serde_json::json!({"tcp": 900, "tcp_fin": 120, "udp": 300})
    );
    let d = daemon_json(&[
        SyncDaemon {
            sync_maxlen: Some(1472),
            mcast_group: Some(ip("224.0.0.81")),
            mcast_port: Some(8848),
            mcast_ttl: Some(1),
            ..SyncDaemon::new(DaemonState::Master, "sync0", 5)
        },
        SyncDaemon::new(DaemonState::Backup, "eth0", 6),
    ]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&d).unwrap(),
        serde_json::json!({"daemons": [
            {"state": "master", "mcast_interface": "sync0", "sync_id": 5, "sync_maxlen": 1472,
             "mcast_group": "224.0.0.81", "mcast_port": 8848, "mcast_ttl": 1},
            {"state": "backup", "mcast_interface": "eth0", "sync_id": 6, "sync_maxlen": null,
             "mcast_group": null, "mcast_port": null, "mcast_ttl": null}
        ]})
    );
    let c = connections_json(&conns()[..2]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&c).unwrap(),
        serde_json::json!({"connections": [
            {"protocol": "tcp", "client_address": "10.0.0.1", "client_port": 36410,
             "virtual_address": "10.1.1.1", "virtual_port": 80,
             "destination_address": "10.2.2.3", "destination_port": 80,
             "state": "ESTABLISHED", "expires": 899,
             "persistence_engine": null, "persistence_data": null},
            {"protocol": "udp", "client_address": "2001:db8::5", "client_port": 53,
             "virtual_address": "2001:db8::1", "virtual_port": 53,
             "destination_address": "2001:db8::10", "destination_port": 53,
             "state": "UDP", "expires": 299,
             "persistence_engine": "sip", "persistence_data": "abc"}
        ]})
    );
}

#[test]
fn list_mode_precedence_follows_ipvsadm() {
    assert_eq!(
        ListMode::from_flags(true, true, true, true, true),
        ListMode::Stats
    );
    assert_eq!(
        ListMode::from_flags(false, true, true, false, true),
        ListMode::Rate
    );
    assert_eq!(
        ListMode::from_flags(false, false, true, true, false),
        ListMode::Thresholds
    );
    assert_eq!(
        ListMode::from_flags(false, false, false, true, true),
        ListMode::PersistentConn
    );
    assert_eq!(
        ListMode::from_flags(false, false, false, false, true),
        ListMode::TunInfo
    );
    assert_eq!(
        ListMode::from_flags(false, false, false, false, false),
        ListMode::Default
    );
}

// The K/M/G/T suffixes of print_largenum, expected from its format strings.
// The captures show the K step for real (`listings/list_named_stats`: an
// InBytes of 102047600 prints as `102047K`), but M needs a billion bytes or
// packets and G/T far more, and the rate columns such rates: more than the
// emulated test VM can push through IPVS in reasonable time. These stay
// hand-made; every other expected listing in this file is captured.
const BIG_STATS: &[&str] = &[
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes",
    "  -> RemoteAddress:Port",
    "TCP  192.168.0.1:443               123456K 99999999   10000M     200T18446744T",
    "  -> 192.168.0.10:443              123456K 99999999   10000M     200T18446744T",
];
const BIG_STATS_EXACT: &[&str] = &[
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes",
    "  -> RemoteAddress:Port",
    "TCP  192.168.0.1:443              123456789 99999999 10000000000 200000000000000 18446744073709551615",
    "  -> 192.168.0.10:443             123456789 99999999 10000000000 200000000000000 18446744073709551615",
];
const BIG_RATE: &[&str] = &[
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS",
    "  -> RemoteAddress:Port",
    "TCP  192.168.0.1:443               100000K  123456K        5  999999K    1000G",
    "  -> 192.168.0.10:443             100000000 123456789        5  999999K    1000G",
];
const BIG_RATE_EXACT: &[&str] = &[
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS",
    "  -> RemoteAddress:Port",
    "TCP  192.168.0.1:443              100000000 123456789        5 999999999 1000000000000",
    "  -> 192.168.0.10:443             100000000 123456789        5 999999999 1000000000000",
];
/// A small deterministic generator, so the randomized tests need no crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn random_addr(r: &mut Lcg, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::from((u128::from(r.next()) << 64 | u128::from(r.next())).to_be_bytes())
    } else {
        IpAddr::from((r.next() as u32).to_be_bytes())
    }
}

fn random_stats(r: &mut Lcg) -> Stats {
    let mut n = || match r.below(3) {
        0 => 0,
        1 => r.below(1000),
        _ => r.next() << r.below(12),
    };
    Stats {
        conns: n(),
        in_packets: n(),
        out_packets: n(),
        in_bytes: n(),
        out_bytes: n(),
        cps: n(),
        in_pps: n(),
        out_pps: n(),
        in_bps: n(),
        out_bps: n(),
    }
}

/// A random table. With `valid`, only what ipvsadm could create (so that the
/// JSON save document reads back); otherwise anything the types can hold.
fn random_state(r: &mut Lcg, valid: bool) -> Vec<VirtualServer> {
    let scheds = ["rr", "wlc", "sh", "mh", "lblcr", "x"];
    (0..r.below(6))
        .map(|_| {
            let v6 = r.below(2) == 0;
            let key = match r.below(5) {
                0 => ServiceKey::fwmark(
                    (r.next() as u32).max(1),
                    if v6 { Family::Inet6 } else { Family::Inet },
                ),
                1 if !valid => ServiceKey::Addr {
                    protocol: ipvs::Protocol::Other(r.below(300) as u16),
                    addr: random_addr(r, v6),
                    port: r.next() as u16,
                },
                n => ServiceKey::Addr {
                    protocol: [
                        ipvs::Protocol::Tcp,
                        ipvs::Protocol::Udp,
                        ipvs::Protocol::Sctp,
                    ][(n % 3) as usize],
                    addr: random_addr(r, v6),
                    port: r.next() as u16,
                },
            };
            let mut svc = service(key, r.pick(&scheds));
            if r.below(2) == 0 || (valid && matches!(key, ServiceKey::Addr { port: 0, .. })) {
                svc = svc.with_persistence(r.below(100_000) as u32 + 1);
                if r.below(2) == 0 {
                    svc.netmask = if key.family() == Family::Inet {
                        Netmask::V4(std::net::Ipv4Addr::from(r.next() as u32))
                    } else {
                        Netmask::V6(r.below(128) as u8 + 1)
                    };
                }
            }
            if valid {
                // Any of the three scheduler flags: each has a word for every scheduler.
                svc.flags |= ServiceFlags::from_bits_retain((r.below(8) as u32) << 3);
                let udp = matches!(
                    key,
                    ServiceKey::Addr {
                        protocol: ipvs::Protocol::Udp,
                        ..
                    }
                );
                if (key.is_fwmark() || udp) && r.below(2) == 0 {
                    svc.flags |= ServiceFlags::ONEPACKET;
                }
            } else {
                svc.flags = ServiceFlags::from_bits_retain(r.next() as u32);
                svc.timeout = r.next() as u32;
            }
            if r.below(3) == 0 {
                svc.persistence_engine = Some("sip".into());
            }
            let dests = (0..r.below(5))
                .map(|_| {
                    let tunnel = r.below(3) == 0;
                    let dv6 = if tunnel || !valid {
                        r.below(2) == 0
                    } else {
                        key.family() == Family::Inet6
                    };
                    let fwd = if tunnel {
                        let kind = r.pick(&[TunnelType::Ipip, TunnelType::Gue, TunnelType::Gre]);
                        let (port, flags) = match kind {
                            TunnelType::Gue => (
                                r.next() as u16 | 1,
                                r.pick(&[
                                    TunnelFlags::empty(),
                                    TunnelFlags::CSUM,
                                    TunnelFlags::REMCSUM,
                                ]),
                            ),
                            TunnelType::Gre => {
                                (0, r.pick(&[TunnelFlags::empty(), TunnelFlags::CSUM]))
                            }
                            _ => (0, TunnelFlags::empty()),
                        };
                        let kind = if valid {
                            kind
                        } else {
                            r.pick(&[kind, TunnelType::Other(7)])
                        };
                        Forward::Tunnel { kind, port, flags }
                    } else if valid {
                        r.pick(&[
                            Forward::Masquerade,
                            Forward::DirectRoute,
                            Forward::Local,
                            Forward::Bypass,
                        ])
                    } else {
                        Forward::Other {
                            raw: r.below(8) as u32,
                        }
                    };
                    let mut d =
                        Destination::new(random_addr(r, dv6), r.next() as u16).with_forward(fwd);
                    if let ServiceKey::Addr { port, .. } = key {
                        if valid && (tunnel || fwd == Forward::DirectRoute) {
                            d.port = port;
                        }
                    }
                    d.weight = r.below(70_000) as u32;
                    d.upper_threshold = r.below(1000) as u32;
                    d.lower_threshold = if valid {
                        d.upper_threshold / 2
                    } else {
                        r.next() as u32
                    };
                    DestinationEntry {
                        destination: d,
                        active_conns: r.next() as u32,
                        inactive_conns: r.next() as u32,
                        persistent_conns: r.next() as u32,
                        stats: random_stats(r),
                    }
                })
                .collect();
            let st = random_stats(r);
            vs(svc, st, dests)
        })
        .collect()
}

#[test]
fn random_tables_never_panic_and_keep_every_entry() {
    let mut r = Lcg(0x1234_5678);
    for _ in 0..300 {
        let state = random_state(&mut r, false);
        let n_dests: usize = state.iter().map(|v| v.destinations.len()).sum();
        for mode in [
            ListMode::Default,
            ListMode::Stats,
            ListMode::Rate,
            ListMode::Thresholds,
            ListMode::PersistentConn,
            ListMode::TunInfo,
        ] {
            for (numeric, exact, sort) in [(true, false, true), (false, true, false)] {
                let opts = ListOptions {
                    mode,
                    numeric,
                    exact,
                    sort,
                };
                let text = list_text_with(&INFO, &state, &opts, &FakeNames::new());
                assert_eq!(text.lines().count(), 3 + state.len() + n_dests);
            }
        }
        let saved = save_text_with(&state, false, true, &FakeNames::new());
        assert_eq!(saved.lines().count(), state.len() + n_dests);
        let listed: serde_json::Value =
            serde_json::from_str(&list_json(&INFO, &state, &ListOptions::default())).unwrap();
        assert_eq!(listed["services"].as_array().unwrap().len(), state.len());
        // Odd values may be refused, but never make the parser panic.
        let _ = parse_save_json(&save_json(&state));
    }
}

#[test]
fn random_valid_tables_round_trip_through_save_json() {
    let mut r = Lcg(42);
    for _ in 0..300 {
        let state = random_state(&mut r, true);
        let text = save_json(&state);
        let parsed = parse_save_json(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(parsed, config_of(&state));
    }
}

#[test]
fn watch_json_lines_carry_counters_rates_and_kernel_estimates() {
    use std::time::{Duration, Instant};
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    let state = |conns: u64| {
        vec![VirtualServer {
            entry: ServiceEntry {
                service: Service::new(key),
                stats: Stats {
                    conns,
                    in_bytes: conns * 100,
                    cps: 4,
                    ..Stats::default()
                },
            },
            destinations: vec![DestinationEntry {
                destination: Destination::new(ip("2001:db8::10"), 80),
                active_conns: 1,
                inactive_conns: 2,
                persistent_conns: 0,
                stats: Stats {
                    conns,
                    ..Stats::default()
                },
            }],
        }]
    };
    let info = Info {
        version: 0x010201,
        conn_tab_size: 4096,
    };
    let opts = ListOptions {
        mode: ListMode::from_flags(false, false, false, false, false),
        numeric: true,
        exact: false,
        sort: true,
    };
    let mut sampler = ipvs::Sampler::new();
    let t0 = Instant::now();
    let mut docs = Vec::new();
    for (i, conns) in [10u64, 30, 4].into_iter().enumerate() {
        let s = state(conns);
        let sample = sampler.sample(t0 + Duration::from_secs(2 * i as u64), &s);
        let line = watch_json(1000.5 + i as f64, &info, &s, &sample, &opts);
        assert!(
            line.ends_with('\n') && !line.trim_end().contains('\n'),
            "{line}"
        );
        docs.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
    }
    let svc = |d: &serde_json::Value| d["services"][0].clone();
    assert_eq!(docs[0]["timestamp"], 1000.5);
    assert!(docs[0]["interval"].is_null());
    assert!(svc(&docs[0])["rates"].is_null());
    assert!(svc(&docs[0])["destinations"][0]["rates"].is_null());
    assert_eq!(docs[1]["interval"], 2.0);
    assert_eq!(svc(&docs[1])["stats"]["conns"], 30);
    assert_eq!(svc(&docs[1])["stats"]["cps"], 4);
    assert_eq!(svc(&docs[1])["rates"]["conns"], 10.0);
    assert_eq!(svc(&docs[1])["rates"]["in_bytes"], 1000.0);
    assert_eq!(svc(&docs[1])["destinations"][0]["address"], "2001:db8::10");
    assert_eq!(svc(&docs[1])["destinations"][0]["rates"]["conns"], 10.0);
    // Zeroed in between: the rate restarts from 0 instead of going negative.
    assert_eq!(svc(&docs[2])["rates"]["conns"], 2.0);
    assert_eq!(docs[2]["version"], "1.2.1");
    // The ordinary listing has no rates field.
    assert!(!list_json(&info, &state(1), &opts).contains("rates"));
}
