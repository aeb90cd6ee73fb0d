//! ipvsctl's documents written by its serializer ([`Ours`]) and by serde_json's
//! `to_writer_pretty` ([`SerdeJson`]) are the same bytes, on tables with the values at their
//! edges: IPv6, fwmark services, no destinations, the largest counters, scheduler and engine
//! names that need escaping, tunnels, and the settings.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::IpAddr;

use ipvs::settings::{SettingChange, Settings, SysctlValue};
use ipvs::{
    Change, DaemonState, Destination, Forward, Netmask, Scheduler, ServiceFlags, Stats,
    TunnelFlags, TunnelType,
};

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const MAX: Stats = Stats {
    conns: u64::MAX,
    in_packets: u64::MAX,
    out_packets: u64::MAX,
    in_bytes: u64::MAX,
    out_bytes: u64::MAX,
    cps: u64::MAX,
    in_pps: u64::MAX,
    out_pps: u64::MAX,
    in_bps: u64::MAX,
    out_bps: u64::MAX,
};

/// Names that need every kind of escaping, and some that need none.
const ODD: &[&str] = &[
    "we\"ird",
    "back\\slash",
    "ctl\u{1}\u{1f}\t\n\r\u{8}\u{c}",
    "ünïcödé€😀",
    "\u{7f}\u{2028}",
    "",
    "sip",
    "a-name-longer-than-sixteen-bytes",
];

fn table() -> Vec<VirtualServer> {
    let mut servers = Vec::new();
    let dests = |n: u32| -> Vec<DestinationEntry> {
        (0..n)
            .map(|j| {
                let (addr, forward) = match j % 6 {
                    0 => (ip("10.0.0.1"), Forward::Masquerade),
                    1 => (ip("2001:db8::ffff:1"), Forward::DirectRoute),
                    2 => (
                        ip("255.255.255.255"),
                        Forward::Tunnel {
                            kind: TunnelType::Gue,
                            port: 65535,
                            flags: TunnelFlags::CSUM | TunnelFlags::REMCSUM,
                        },
                    ),
                    3 => (
                        ip("::"),
                        Forward::Tunnel {
                            kind: TunnelType::Other(200),
                            port: 0,
                            flags: TunnelFlags::empty(),
                        },
                    ),
                    4 => (ip("0.0.0.0"), Forward::Other { raw: 77 }),
                    _ => (ip("fe80::1:2:3:4"), Forward::Local),
                };
                DestinationEntry {
                    destination: Destination::new(addr, u16::MAX - j as u16)
                        .with_forward(forward)
                        .with_weight(if j == 0 { u32::MAX } else { j })
                        .with_thresholds(0..=u32::MAX),
                    active_conns: u32::MAX,
                    inactive_conns: j,
                    persistent_conns: u32::MAX - j,
                    stats: if j % 2 == 0 { MAX } else { Stats::default() },
                }
            })
            .collect()
    };
    for (i, name) in ODD.iter().enumerate() {
        let i = i as u32;
        let key = match i % 4 {
            0 => ServiceKey::tcp(ip("192.168.0.1"), 80),
            1 => ServiceKey::udp(ip("2001:db8::1"), u16::MAX),
            2 => ServiceKey::fwmark(u32::MAX, Family::Inet6),
            _ => ServiceKey::fwmark(1, Family::Inet),
        };
        let mut service = Service::new(key).with_scheduler(Scheduler::Other((*name).into()));
        service.persistence_engine = Some((*name).into());
        service.flags = ServiceFlags::PERSISTENT | ServiceFlags::ONEPACKET;
        service.timeout = u32::MAX;
        service.netmask = if i.is_multiple_of(2) {
            Netmask::V4(std::net::Ipv4Addr::new(255, 255, 0, 0))
        } else {
            Netmask::V6(128)
        };
        servers.push(VirtualServer {
            entry: ServiceEntry {
                service,
                stats: if i.is_multiple_of(2) {
                    MAX
                } else {
                    Stats::default()
                },
            },
            destinations: dests(i),
        });
    }
    // The fixed schedulers, without destinations and with many.
    for (i, s) in ["wlc", "mh", "sh", "none", "rr"].iter().enumerate() {
        let key = ServiceKey::tcp(ip("10.1.1.1"), i as u16);
        servers.push(VirtualServer {
            entry: ServiceEntry {
                service: Service::new(key).with_scheduler(*s),
                stats: Stats::default(),
            },
            destinations: dests(if i == 0 { 0 } else { 12 }),
        });
    }
    servers
}

/// The same bytes, and not few of them.
#[track_caller]
fn same(ours: &str, theirs: &str) {
    assert!(ours.len() > 10);
    assert!(ours == theirs, "ours:\n{ours}\ntheirs:\n{theirs}");
}

fn listed<W: Writes>(servers: &[VirtualServer], opts: &ListOptions) -> String {
    let info = Info {
        version: 0x01ff09,
        conn_tab_size: u32::MAX,
    };
    let (entries, dests) = (held(servers), held_dests(servers));
    let mut out = Chunked::keep();
    let done = list_by::<W, Infallible>(&info, &entries, dests, opts, &mut out);
    into_text(out, done)
}

fn saved<W: Writes>(servers: &[VirtualServer], settings: Option<&Settings>) -> String {
    let (entries, dests) = (held(servers), held_dests(servers));
    let mut out = Chunked::keep();
    let done = save_by::<W, Infallible>(&entries, dests, settings, &mut out);
    into_text(out, done)
}

fn daemons() -> Vec<SyncDaemon> {
    vec![
        SyncDaemon {
            sync_maxlen: Some(u16::MAX),
            mcast_group: Some(ip("ff02::1:2")),
            mcast_port: Some(u16::MAX),
            mcast_ttl: Some(u8::MAX),
            ..SyncDaemon::new(DaemonState::Master, "we\"ird\\if\u{1}ü", u32::MAX)
        },
        SyncDaemon::new(DaemonState::Backup, "eth0", 0),
    ]
}

#[test]
fn listings_and_save_documents_are_serde_jsons_bytes() {
    let servers = table();
    for opts in [
        ListOptions::default(),
        ListOptions {
            sort: false,
            ..ListOptions::default()
        },
    ] {
        same(
            &listed::<Ours>(&servers, &opts),
            &listed::<SerdeJson>(&servers, &opts),
        );
        same(
            &listed::<Ours>(&[], &opts),
            &listed::<SerdeJson>(&[], &opts),
        );
    }
    assert_eq!(
        list_json(&INFO, &[], &ListOptions::default()),
        listed_empty()
    );
    let settings = Settings {
        timeouts: Some(Timeouts {
            tcp: u32::MAX,
            tcp_fin: 0,
            udp: 1,
        }),
        sysctls: BTreeMap::from([
            ("am_droprate".to_string(), SysctlValue::Int(i64::MIN)),
            (
                "sync_threshold".to_string(),
                SysctlValue::Ints(vec![3, i64::MAX]),
            ),
            ("est_cpulist".to_string(), SysctlValue::Ints(vec![])),
            (
                "we\"ird\u{0}".to_string(),
                SysctlValue::Text("0-3\t\"x\"\\é".into()),
            ),
        ]),
        sync_daemons: Some(daemons()),
    };
    let none = Settings {
        timeouts: None,
        sysctls: BTreeMap::new(),
        sync_daemons: Some(vec![]),
    };
    for s in [None, Some(&settings), Some(&none)] {
        same(
            &saved::<Ours>(&servers, s),
            &saved::<SerdeJson>(&servers, s),
        );
        same(&saved::<Ours>(&[], s), &saved::<SerdeJson>(&[], s));
    }
    // And the program's own entry points write ours.
    assert!(save_json(&servers) == saved::<Ours>(&servers, None));
    assert!(list_json(&INFO, &servers, &ListOptions::default()) == listed_with_info(&servers));
}

const INFO: Info = Info {
    version: 0x010201,
    conn_tab_size: 4096,
};

fn listed_empty() -> String {
    let (entries, dests) = (held(&[]), held_dests(&[]));
    let mut out = Chunked::keep();
    let done =
        list_by::<SerdeJson, Infallible>(&INFO, &entries, dests, &ListOptions::default(), &mut out);
    into_text(out, done)
}

fn listed_with_info(servers: &[VirtualServer]) -> String {
    let (entries, dests) = (held(servers), held_dests(servers));
    let mut out = Chunked::keep();
    let done =
        list_by::<SerdeJson, Infallible>(&INFO, &entries, dests, &ListOptions::default(), &mut out);
    into_text(out, done)
}

fn connections() -> Vec<Connection> {
    let c = |proto: &str, client: &str, virt: &str, dest: &str, state: &str| Connection {
        protocol: proto.to_string(),
        client_addr: ip(client),
        client_port: u16::MAX,
        virtual_addr: ip(virt),
        virtual_port: 0,
        dest_addr: ip(dest),
        dest_port: 80,
        state: state.to_string(),
        expires: u32::MAX,
        pe_name: None,
        pe_data: None,
    };
    let mut sip = c(
        "UDP",
        "2001:db8::5",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "UDP",
    );
    sip.pe_name = Some("sip".into());
    sip.pe_data = Some("call-id \"x\"\\\u{1}é".into());
    vec![
        c(
            "TCP",
            "10.0.0.1",
            "10.0.0.2",
            "255.255.255.255",
            "ESTABLISHED",
        ),
        c("SCTP", "::", "::1", "fe80::1", "we\"ird\n"),
        sip,
    ]
}

#[test]
fn connections_timeouts_daemons_and_plans_are_serde_jsons_bytes() {
    let conns = connections();
    let doc = ConnectionsDoc {
        connections: &conns[..],
    };
    same(
        &render_by::<Ours, _>(&doc),
        &render_by::<SerdeJson, _>(&doc),
    );
    let none = ConnectionsDoc {
        connections: &[] as &[Connection],
    };
    same(
        &render_by::<Ours, _>(&none),
        &render_by::<SerdeJson, _>(&none),
    );
    // Streamed as `-L -c --json` streams them.
    let streamed = |by_ours: bool| {
        let mut it = conns.clone().into_iter().map(Ok::<_, Infallible>);
        let mut out = Chunked::keep();
        let done = if by_ours {
            connections_by::<Ours, _>(|| it.next(), &mut out)
        } else {
            connections_by::<SerdeJson, _>(|| it.next(), &mut out)
        };
        into_text(out, done)
    };
    same(&streamed(true), &streamed(false));
    assert_eq!(streamed(true), connections_json(&conns));
    for t in [
        Timeouts {
            tcp: u32::MAX,
            tcp_fin: 0,
            udp: 300,
        },
        Timeouts::default(),
    ] {
        same(&render_by::<Ours, _>(&t), &render_by::<SerdeJson, _>(&t));
    }
    for d in [daemons(), vec![]] {
        let doc = DaemonsDoc { daemons: &d };
        same(
            &render_by::<Ours, _>(&doc),
            &render_by::<SerdeJson, _>(&doc),
        );
    }
    let servers = table();
    let mut plan = ipvs::Plan::default();
    same(
        &render_by::<Ours, _>(&plan),
        &render_by::<SerdeJson, _>(&plan),
    );
    push_changes(&mut plan, &servers, usize::MAX);
    plan.settings.changes.push(SettingChange::Sysctl {
        name: "we\"ird".into(),
        value: SysctlValue::Text("x\\y".into()),
    });
    plan.settings
        .changes
        .push(SettingChange::Ipvs(Change::StartDaemon(
            daemons()[0].clone(),
        )));
    same(
        &render_by::<Ours, _>(&plan),
        &render_by::<SerdeJson, _>(&plan),
    );
    assert!(plan_json(&plan) == render_by::<SerdeJson, _>(&plan));
}

/// Into `plan`: each service added and edited, and up to `dests` of its destinations added,
/// each with its undo.
fn push_changes(plan: &mut ipvs::Plan, servers: &[VirtualServer], dests: usize) {
    for vs in servers {
        let key = vs.entry.service.key;
        plan.push(
            Change::AddService(vs.entry.service.clone()),
            Change::DeleteService(key),
        );
        plan.push(
            Change::EditService(vs.entry.service.clone()),
            Change::EditService(vs.entry.service.clone()),
        );
        for d in vs.destinations.iter().take(dests) {
            plan.push(
                Change::AddDestination {
                    service: key,
                    destination: d.destination,
                },
                Change::DeleteDestination {
                    service: key,
                    addr: d.destination.addr,
                    port: d.destination.port,
                },
            );
        }
    }
}

/// The documents of [`golden_documents`], each after a line naming it.
fn golden_text() -> String {
    use std::time::{Duration, Instant};
    let servers = table();
    let mut docs: Vec<(&str, String)> = Vec::new();
    docs.push((
        "-L --json",
        list_json(&INFO, &servers, &ListOptions::default()),
    ));
    docs.push(("-S --json", save_json(&servers)));
    let settings = Settings {
        timeouts: Some(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        }),
        sysctls: BTreeMap::from([
            ("am_droprate".to_string(), SysctlValue::Int(10)),
            ("sync_threshold".to_string(), SysctlValue::Ints(vec![3, 50])),
            ("est_cpulist".to_string(), SysctlValue::Text("0-3".into())),
        ]),
        sync_daemons: Some(daemons()),
    };
    docs.push((
        "-S --json --settings",
        saved::<Ours>(&servers[..2], Some(&settings)),
    ));
    // `--watch --json` (serde_json's compact lines, the library's forms flattened into
    // ipvsctl's), with rates: a second sample.
    let mut sampler = ipvs::sampler::Sampler::new();
    let t0 = Instant::now();
    let mut later = servers.clone();
    for vs in &mut later {
        vs.entry.stats.conns = vs.entry.stats.conns.wrapping_add(10);
        for d in &mut vs.destinations {
            d.stats.in_bytes = d.stats.in_bytes.wrapping_add(1000);
        }
    }
    for (i, s) in [&servers[..3], &later[..]].into_iter().enumerate() {
        let sample = sampler.sample(t0 + Duration::from_secs(2 * i as u64), s);
        docs.push((
            "--watch --json",
            watch_json(1000.5, &INFO, s, &sample, &ListOptions::default()),
        ));
    }
    // `apply --json`'s plan: the library's services, keys and destinations in its changes.
    let mut plan = ipvs::Plan::default();
    push_changes(&mut plan, &servers, 3);
    docs.push(("apply --json", plan_json(&plan)));
    let mut text = String::new();
    for (name, doc) in docs {
        text.push_str("==== ");
        text.push_str(name);
        text.push('\n');
        text.push_str(&doc);
    }
    text
}

/// The documents' bytes as they were written before the library's serde forms were written
/// by hand (without `#[serde(flatten)]`, speed-json2): `golden.txt` holds them, made by
/// this test with `IPVSCTL_BLESS_GOLDEN=1` on the code before that change.
#[test]
fn golden_documents() {
    let text = golden_text();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/output/json/golden.txt");
    if std::env::var_os("IPVSCTL_BLESS_GOLDEN").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let want = include_str!("golden.txt");
    assert!(text.len() > 10_000);
    crate::output::tests::assert_same_as_golden("documents", &text, want);
}
