//! The encoding against fixture states: label sets as node_exporter's IPVS
//! collector has them (IPv6 addresses, fwmark services), counters with
//! `_total`, both formats, the `netns` label, and the series cap.

use std::collections::BTreeMap;

use ipvs::{
    DaemonState, Destination, DestinationEntry, Family, Info, Service, ServiceEntry, ServiceKey,
    Stats, SyncDaemon, Timeouts, VirtualServer,
};

use super::metrics::{encode, Format, NsRead, NsState, Snapshot};

fn stats(n: u64) -> Stats {
    Stats {
        conns: n,
        in_packets: n * 10,
        out_packets: n * 9,
        in_bytes: n * 1000,
        out_bytes: n * 2000,
        cps: 3,
        in_pps: 30,
        out_pps: 27,
        in_bps: 3000,
        out_bps: 6000,
    }
}

fn dest(addr: &str, port: u16, n: u64, weight: u32) -> DestinationEntry {
    DestinationEntry {
        destination: Destination::new(addr.parse().unwrap(), port).with_weight(weight),
        active_conns: 2,
        inactive_conns: 5,
        persistent_conns: 0,
        stats: stats(n),
    }
}

fn fixture() -> NsState {
    let v4 = ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80);
    let v6 = ServiceKey::udp("2001:db8::100".parse().unwrap(), 53);
    let fw = ServiceKey::fwmark(7, Family::Inet);
    let svc = |key, n| ServiceEntry {
        service: Service::new(key),
        stats: stats(n),
    };
    NsState {
        info: Info {
            version: 0x010201,
            conn_tab_size: 4096,
        },
        servers: vec![
            VirtualServer {
                entry: svc(v4, 6),
                destinations: vec![
                    dest("192.168.10.11", 80, 3, 1),
                    dest("192.168.10.12", 8080, 3, 2),
                ],
            },
            VirtualServer {
                entry: svc(v6, 4),
                destinations: vec![dest("2001:db8::11", 53, 4, 1)],
            },
            VirtualServer {
                entry: svc(fw, 1),
                destinations: vec![dest("192.168.10.13", 0, 1, 5)],
            },
        ],
        timeouts: Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        },
        daemons: vec![SyncDaemon::new(DaemonState::Master, "eth0", 5)],
    }
}

fn snapshot(namespaces: &[Option<&str>]) -> Snapshot {
    Snapshot {
        namespaces: namespaces
            .iter()
            .map(|ns| NsRead {
                netns: ns.map(str::to_string),
                state: Ok(fixture()),
                errors_total: 0,
            })
            .collect(),
        duration: 0.25,
    }
}

/// The samples of the Prometheus text: `name{labels}` to value. Panics on
/// any line that is neither a comment nor `series value`, and on a series
/// given twice (which Prometheus rejects).
fn samples(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("{l:?}"));
        let again = out.insert(series.to_string(), value.to_string());
        assert!(again.is_none(), "{series} twice in\n{text}");
    }
    out
}

fn value<'a>(s: &'a BTreeMap<String, String>, series: &str) -> &'a str {
    s.get(series)
        .unwrap_or_else(|| panic!("no {series} in {:#?}", s.keys().collect::<Vec<_>>()))
}

#[test]
fn per_service_and_per_destination_with_node_exporter_labels() {
    let text = encode(&snapshot(&[None]), Format::Prometheus, None);
    let s = samples(&text);
    let svc4 = r#"local_address="10.0.0.100",local_port="80",proto="TCP",local_mark="""#;
    assert_eq!(
        value(&s, &format!("ipvs_service_connections_total{{{svc4}}}")),
        "6"
    );
    assert_eq!(
        value(&s, &format!("ipvs_service_outgoing_bytes_total{{{svc4}}}")),
        "12000"
    );
    assert_eq!(
        value(
            &s,
            &format!("ipvs_service_connections_per_second{{{svc4}}}")
        ),
        "3.0"
    );
    let d = format!(r#"{svc4},remote_address="192.168.10.12",remote_port="8080""#);
    assert_eq!(
        value(&s, &format!("ipvs_backend_connections_total{{{d}}}")),
        "3"
    );
    assert_eq!(
        value(&s, &format!("ipvs_backend_incoming_packets_total{{{d}}}")),
        "30"
    );
    assert_eq!(
        value(&s, &format!("ipvs_backend_connections_active{{{d}}}")),
        "2"
    );
    assert_eq!(
        value(&s, &format!("ipvs_backend_connections_inactive{{{d}}}")),
        "5"
    );
    assert_eq!(value(&s, &format!("ipvs_backend_weight{{{d}}}")), "2");
    assert_eq!(
        value(
            &s,
            &format!("ipvs_backend_incoming_bytes_per_second{{{d}}}")
        ),
        "3000.0"
    );
    // IPv6: the address as inet_ntop writes it, never in brackets.
    let d6 = r#"local_address="2001:db8::100",local_port="53",proto="UDP",local_mark="",remote_address="2001:db8::11",remote_port="53""#;
    assert_eq!(
        value(&s, &format!("ipvs_backend_outgoing_packets_total{{{d6}}}")),
        "36"
    );
    // fwmark: no address or port, proto FWM, the mark in local_mark.
    let fw = r#"local_address="",local_port="",proto="FWM",local_mark="7""#;
    assert_eq!(
        value(&s, &format!("ipvs_service_connections_total{{{fw}}}")),
        "1"
    );
    assert_eq!(
        value(
            &s,
            &format!(
                r#"ipvs_backend_weight{{{fw},remote_address="192.168.10.13",remote_port="0"}}"#
            )
        ),
        "5"
    );
    assert_eq!(value(&s, &format!("ipvs_service_backends{{{svc4}}}")), "2");
    // The table as a whole.
    assert_eq!(value(&s, r#"ipvs_version_info{version="1.2.1"}"#), "1");
    assert_eq!(value(&s, "ipvs_connection_table_size"), "4096");
    assert_eq!(
        value(&s, r#"ipvs_timeout_seconds{timeout="tcp_fin"}"#),
        "120"
    );
    assert_eq!(value(&s, r#"ipvs_sync_daemon_up{state="master"}"#), "1");
    assert_eq!(value(&s, r#"ipvs_sync_daemon_up{state="backup"}"#), "0");
    assert_eq!(
        value(
            &s,
            r#"ipvs_sync_daemon_info{state="master",mcast_interface="eth0",sync_id="5"}"#
        ),
        "1"
    );
    assert_eq!(value(&s, "ipvs_up"), "1");
    assert_eq!(value(&s, "ipvs_exporter_scrape_errors_total"), "0");
    assert_eq!(value(&s, "ipvs_exporter_scrape_duration_seconds"), "0.25");
    assert_eq!(value(&s, "ipvs_exporter_backends_summed"), "0");
    assert_eq!(value(&s, "ipvs_exporter_backends"), "4");
    // Counters are typed as counters, gauges as gauges.
    assert!(text.contains("# TYPE ipvs_backend_connections_total counter\n"));
    assert!(text.contains("# TYPE ipvs_backend_connections_active gauge\n"));
    assert!(text.contains("# HELP ipvs_service_incoming_bytes_total "));
    assert!(!text.contains("# EOF"));
}

#[test]
fn openmetrics_when_asked() {
    let text = encode(&snapshot(&[None]), Format::OpenMetrics, None);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# TYPE ipvs_backend_connections counter\n"));
    assert!(text.contains("ipvs_backend_connections_total{"));
    assert_eq!(
        Format::from_accept(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
        )),
        Format::OpenMetrics
    );
    assert_eq!(Format::from_accept(Some("text/plain")), Format::Prometheus);
    assert_eq!(Format::from_accept(None), Format::Prometheus);
    assert!(Format::OpenMetrics
        .content_type()
        .starts_with("application/openmetrics-text"));
    assert!(Format::Prometheus
        .content_type()
        .starts_with("text/plain; version=0.0.4"));
}

#[test]
fn each_namespace_has_its_label() {
    let s = samples(&encode(
        &snapshot(&[Some("blue"), Some("/proc/1/ns/net")]),
        Format::Prometheus,
        None,
    ));
    for ns in ["blue", "/proc/1/ns/net"] {
        let key = format!(
            r#"ipvs_service_connections_total{{netns="{ns}",local_address="10.0.0.100",local_port="80",proto="TCP",local_mark=""}}"#
        );
        assert_eq!(value(&s, &key), "6");
        assert_eq!(value(&s, &format!(r#"ipvs_up{{netns="{ns}"}}"#)), "1");
    }
    assert_eq!(value(&s, "ipvs_exporter_backends"), "8");
}

#[test]
fn a_failed_namespace_is_down_and_counted() {
    let mut snap = snapshot(&[Some("a"), Some("b")]);
    snap.namespaces[1].state = Err("Memory allocation problem".into());
    snap.namespaces[1].errors_total = 3;
    let s = samples(&encode(&snap, Format::Prometheus, None));
    assert_eq!(value(&s, r#"ipvs_up{netns="a"}"#), "1");
    assert_eq!(value(&s, r#"ipvs_up{netns="b"}"#), "0");
    assert_eq!(
        value(&s, r#"ipvs_exporter_scrape_errors_total{netns="b"}"#),
        "3"
    );
    assert!(!s.keys().any(|k| k.contains(r#"netns="b",local_address"#)));
}

#[test]
fn past_max_series_destinations_are_summed_per_service() {
    let s = samples(&encode(&snapshot(&[None]), Format::Prometheus, Some(3)));
    assert_eq!(value(&s, "ipvs_exporter_backends_summed"), "1");
    assert_eq!(value(&s, "ipvs_exporter_backends"), "4");
    let summed = r#"local_address="10.0.0.100",local_port="80",proto="TCP",local_mark="",remote_address="",remote_port="""#;
    assert_eq!(
        value(&s, &format!("ipvs_backend_connections_total{{{summed}}}")),
        "6"
    );
    assert_eq!(value(&s, &format!("ipvs_backend_weight{{{summed}}}")), "3");
    assert_eq!(
        value(&s, &format!("ipvs_backend_connections_active{{{summed}}}")),
        "4"
    );
    assert!(!s.keys().any(|k| k.contains("192.168.10.11")));
    // At the cap, nothing is summed.
    let s = samples(&encode(&snapshot(&[None]), Format::Prometheus, Some(4)));
    assert_eq!(value(&s, "ipvs_exporter_backends_summed"), "0");
    assert!(s.keys().any(|k| k.contains("192.168.10.11")));
}

#[test]
fn label_values_are_escaped() {
    let mut snap = snapshot(&[Some("we\"ird\\ns\nx")]);
    snap.namespaces[0].state = Err("x".into());
    let text = encode(&snap, Format::Prometheus, None);
    assert!(
        text.contains(r#"ipvs_up{netns="we\"ird\\ns\nx"} 0"#),
        "{text}"
    );
}

#[test]
fn concurrent_scrapes_share_one_read() {
    use super::SingleFlight;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};

    let flight = Arc::new(SingleFlight::<usize>::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let (release, gate) = mpsc::channel::<()>();
    let first = {
        let (flight, runs) = (Arc::clone(&flight), Arc::clone(&runs));
        std::thread::spawn(move || {
            flight.get(|| {
                let _ = gate.recv();
                runs.fetch_add(1, Ordering::SeqCst) + 100
            })
        })
    };
    // Wait until the first read is under way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let wait_until = |what: &str, cond: &dyn Fn() -> bool| {
        while !cond() {
            assert!(
                std::time::Instant::now() < deadline,
                "gave up waiting: {what}"
            );
            std::thread::yield_now();
        }
    };
    wait_until("the first read to start", &|| flight.running());
    let others: Vec<_> = (0..7)
        .map(|_| {
            let (flight, runs) = (Arc::clone(&flight), Arc::clone(&runs));
            std::thread::spawn(move || {
                flight.get(|| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    0
                })
            })
        })
        .collect();
    wait_until("7 scrapes waiting for the first read", &|| {
        flight.waiters() == 7
    });
    release.send(()).unwrap();
    let first = first.join().unwrap().unwrap();
    assert_eq!(*first, 100);
    for t in others {
        let got = t.join().unwrap().unwrap();
        assert!(Arc::ptr_eq(&got, &first), "a scrape started its own read");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Afterwards, a new scrape reads again.
    assert_eq!(*flight.get(|| 5).unwrap(), 5);
}

#[test]
fn fwmark_services_of_both_families_with_one_mark_are_one_series() {
    let mut state = fixture();
    let v6 = ServiceKey::fwmark(7, Family::Inet6);
    state.servers.push(VirtualServer {
        entry: ServiceEntry {
            service: Service::new(v6),
            stats: stats(10),
        },
        destinations: vec![
            dest("192.168.10.13", 0, 2, 3),
            dest("2001:db8::13", 0, 1, 1),
        ],
    });
    let snap = Snapshot {
        namespaces: vec![NsRead {
            netns: None,
            state: Ok(state),
            errors_total: 0,
        }],
        duration: 0.0,
    };
    for cap in [None, Some(1)] {
        // samples() fails on a series given twice.
        let s = samples(&encode(&snap, Format::Prometheus, cap));
        let fw = r#"local_address="",local_port="",proto="FWM",local_mark="7""#;
        assert_eq!(
            value(&s, &format!("ipvs_service_connections_total{{{fw}}}")),
            "11"
        );
        assert_eq!(value(&s, &format!("ipvs_service_backends{{{fw}}}")), "3");
    }
    let s = samples(&encode(&snap, Format::Prometheus, None));
    let d = r#"local_address="",local_port="",proto="FWM",local_mark="7",remote_address="192.168.10.13",remote_port="0""#;
    assert_eq!(
        value(&s, &format!("ipvs_backend_connections_total{{{d}}}")),
        "3"
    );
    assert_eq!(value(&s, &format!("ipvs_backend_weight{{{d}}}")), "8");
}
