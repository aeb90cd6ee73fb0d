//! Whole-output tests. Every ipvsadm listing expected here is ipvsadm 1.31's
//! own output, captured in the test VM together with the kernel's netlink
//! replies it printed from (`ipvsctl/tests/fixtures/*.nl`, copies of `ipvs-sys/tests/fixtures/*.nl`, and
//! `listings/*.nl`, `# output:` lines; how to capture
//! them again: the README there). The tests decode those replies (and, for
//! `-c`, the `/proc/net/ip_vs_conn` text ipvsadm read) with the library's own
//! conversions, format them, and compare with what ipvsadm printed. Only the
//! counter suffixes beyond K (`BIG_*`) and the pe columns of `-c
//! --persistent-conn`, which the capture VM's kernel could not be made to
//! produce, the JSON documents, and odd values no kernel reports are checked
//! against hand-made expectations.

use std::collections::HashMap;
use std::net::IpAddr;

use ipvs::conn::Connection;
use ipvs::{
    DaemonState, Destination, DestinationEntry, Family, Forward, Info, Netmask, Scheduler, Service,
    ServiceEntry, ServiceFlags, ServiceKey, Stats, SyncDaemon, Timeouts, TunnelFlags, TunnelType,
    VirtualServer,
};
use ipvs_sys::frame::{self, Body};
use ipvs_sys::IpvsMessage;

use super::*;

/// Fails showing where `now` first differs from the golden text `was`, 300 bytes either side
/// (`what` names the texts: "listings", "documents").
pub(crate) fn assert_same_as_golden(what: &str, now: &str, was: &str) {
    if now == was {
        return;
    }
    let at = now
        .bytes()
        .zip(was.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(now.len().min(was.len()));
    let from = at.saturating_sub(300);
    let around = |t: &str| {
        String::from_utf8_lossy(&t.as_bytes()[from.min(t.len())..(at + 300).min(t.len())])
            .into_owned()
    };
    panic!(
        "the {what} differ at byte {at}:\nnow:\n{}\nwas:\n{}",
        around(now),
        around(was)
    );
}

#[test]
#[should_panic(expected = "the texts differ at byte 3")]
fn a_golden_text_that_differs_fails_where_it_differs() {
    assert_same_as_golden("texts", "abcX\u{e9}", "abcY\u{e9}");
}

/// The text of a captured fixture, by its path under `ipvsctl/tests/fixtures`
/// without `.nl`.
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/", $name, ".nl"))
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
        for (addr, name) in table(include_str!("../../../tests/fixtures/listings/hosts")) {
            hosts.entry(ip(addr)).or_insert_with(|| name.to_string());
        }
        let mut services = HashMap::new();
        for (name, port_proto) in table(include_str!("../../../tests/fixtures/listings/services")) {
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

/// What the save document should give back: the configuration.
fn config_of(state: &[VirtualServer]) -> ipvs::State {
    let services = sort::services(state, true)
        .into_iter()
        .map(|v| {
            let s = v.entry.service.clone();
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
        ..Default::default()
    }
}

mod fuzz;
mod json_in;
mod json_out;
mod save;
mod stream;
mod text;
