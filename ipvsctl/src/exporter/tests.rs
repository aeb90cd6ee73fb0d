//! The encoding against fixture states: label sets as node_exporter's IPVS
//! collector has them (IPv6 addresses, fwmark services), counters with
//! `_total`, both formats, the `netns` label, and the series cap.

use std::collections::BTreeMap;

use ipvs::{
    DaemonState, Destination, DestinationEntry, Family, Info, Service, ServiceEntry, ServiceKey,
    Stats, SyncDaemon, Timeouts, VirtualServer,
};

use super::metrics::{
    encode, encode_rows, service_labels, service_rendered, Format, NsRead, NsState, Rendered,
    Snapshot,
};

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
    let fw = ServiceKey::fwmark(10, Family::Inet);
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
    // With --rates: the kernel's estimates too.
    let text = encode(&snapshot(&[None]), Format::Prometheus, None, true);
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
        "3"
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
        "3000"
    );
    // IPv6: the address as inet_ntop writes it, never in brackets.
    let d6 = r#"local_address="2001:db8::100",local_port="53",proto="UDP",local_mark="",remote_address="2001:db8::11",remote_port="53""#;
    assert_eq!(
        value(&s, &format!("ipvs_backend_outgoing_packets_total{{{d6}}}")),
        "36"
    );
    // fwmark: no address or port, proto FWM, the mark in local_mark.
    let fw = r#"local_address="",local_port="",proto="FWM",local_mark="0000000A""#;
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
    // Info metrics are gauges in the Prometheus text format (it has no info type).
    assert!(text.contains("# TYPE ipvs_version_info gauge\n"), "{text}");
    assert!(
        text.contains("# TYPE ipvs_sync_daemon_info gauge\n"),
        "{text}"
    );
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

/// The `*_per_second` families (the kernel's estimates) are written only with `--rates`; the
/// rest of the body is the same bytes either way, in both formats.
#[test]
fn the_kernels_estimates_only_with_rates() {
    let snaps = [snapshot(&[None]), snapshot(&[Some("a"), Some("b")])];
    for snap in &snaps {
        for format in [Format::Prometheus, Format::OpenMetrics] {
            for cap in [None, Some(1)] {
                let without = encode(snap, format, cap, false);
                let with = encode(snap, format, cap, true);
                assert!(!without.contains("_per_second"), "{without}");
                // Each of the ten families: its HELP and TYPE lines, a sample per row.
                let per_second: Vec<&str> =
                    with.lines().filter(|l| l.contains("_per_second")).collect();
                let rows = |prefix: &str| {
                    with.lines()
                        .filter(|l| l.starts_with(&format!("{prefix}_connections_total{{")))
                        .count()
                };
                let (svcs, dests) = (rows("ipvs_service"), rows("ipvs_backend"));
                assert!(svcs > 0 && dests > 0, "{with}");
                assert_eq!(
                    per_second.len(),
                    10 * 2 + 5 * svcs + 5 * dests,
                    "{format:?}, cap {cap:?}: {per_second:#?}"
                );
                let rest: String = with
                    .lines()
                    .filter(|l| !l.contains("_per_second"))
                    .flat_map(|l| [l, "\n"])
                    .collect();
                assert_eq!(rest, without, "{format:?}, cap {cap:?}");
            }
        }
    }
    let text = encode(&snapshot(&[None]), Format::Prometheus, None, true);
    assert!(text.contains("# TYPE ipvs_backend_outgoing_bytes_per_second gauge\n"));
    // The flag, off unless given.
    let args = |a: &[&str]| {
        let m = super::command().try_get_matches_from(a).unwrap();
        <super::Args as clap::FromArgMatches>::from_arg_matches(&m).unwrap()
    };
    assert!(!args(&["exporter"]).rates);
    assert!(args(&["exporter", "--rates"]).rates);
}

#[test]
fn openmetrics_when_asked() {
    let text = encode(&snapshot(&[None]), Format::OpenMetrics, None, false);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# TYPE ipvs_backend_connections counter\n"));
    assert!(text.contains("ipvs_backend_connections_total{"));
    // Info metrics are typed info, their samples NAME_info.
    assert!(text.contains("# TYPE ipvs_version info\n"), "{text}");
    assert!(
        text.contains("\nipvs_version_info{version=\"1.2.1\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("# TYPE ipvs_sync_daemon info\n"), "{text}");
    assert!(text.contains(
        "\nipvs_sync_daemon_info{state=\"master\",mcast_interface=\"eth0\",sync_id=\"5\"} 1\n"
    ));
    assert_eq!(
        Format::from_accept(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
        )),
        Format::OpenMetrics
    );
    assert_eq!(Format::from_accept(Some("text/plain")), Format::Prometheus);
    assert_eq!(Format::from_accept(None), Format::Prometheus);
    // q-values: the higher wins, each type by its most specific range; a tie is text.
    for (accept, format) in [
        // Prometheus 2 and 3's defaults.
        ("application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", Format::OpenMetrics),
        ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", Format::OpenMetrics),
        ("text/plain;q=0.9, application/openmetrics-text;q=0.5", Format::Prometheus),
        ("application/openmetrics-text;q=0", Format::Prometheus),
        ("*/*;q=1, application/openmetrics-text;q=0.5", Format::Prometheus),
        ("*/*", Format::Prometheus),
        ("application/*", Format::OpenMetrics),
        ("text/*;q=0.1, application/openmetrics-text", Format::OpenMetrics),
        ("application/openmetrics-text;q=0.5, text/plain;q=0.5", Format::Prometheus),
        ("APPLICATION/OpenMetrics-Text; Q=0.8, text/plain; q=0.7", Format::OpenMetrics),
        ("application/openmetrics-text;q=bad, text/plain;q=0.1", Format::Prometheus),
    ] {
        assert_eq!(Format::from_accept(Some(accept)), format, "{accept}");
    }
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
        false,
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
    let s = samples(&encode(&snap, Format::Prometheus, None, false));
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
    let s = samples(&encode(
        &snapshot(&[None]),
        Format::Prometheus,
        Some(3),
        false,
    ));
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
    let s = samples(&encode(
        &snapshot(&[None]),
        Format::Prometheus,
        Some(4),
        false,
    ));
    assert_eq!(value(&s, "ipvs_exporter_backends_summed"), "0");
    assert!(s.keys().any(|k| k.contains("192.168.10.11")));
}

#[test]
fn label_values_are_escaped() {
    let mut snap = snapshot(&[Some("we\"ird\\ns\nx")]);
    snap.namespaces[0].state = Err("x".into());
    let text = encode(&snap, Format::Prometheus, None, false);
    assert!(
        text.contains(r#"ipvs_up{netns="we\"ird\\ns\nx"} 0"#),
        "{text}"
    );
}

#[test]
fn rows_written_by_hand_are_the_bytes_prometheus_client_writes() {
    let mut odd = snapshot(&[Some("we\"ird\\ns\nx"), Some("b"), Some("down")]);
    odd.namespaces[2].state = Err("x".into());
    let mut huge = fixture();
    huge.servers[0].entry.stats = Stats {
        conns: u64::MAX,
        cps: u64::MAX,
        out_bps: u64::MAX,
        ..Stats::default()
    };
    huge.servers[0].destinations[0].destination.weight = u32::MAX;
    let empty = NsState {
        servers: Vec::new(),
        ..fixture()
    };
    let one = |state: NsState| Snapshot {
        namespaces: vec![NsRead {
            netns: None,
            state: Ok(state),
            errors_total: 7,
        }],
        duration: 1.5,
    };
    let snaps = [snapshot(&[None]), odd, one(huge), one(empty)];
    for snap in &snaps {
        for format in [Format::Prometheus, Format::OpenMetrics] {
            for (cap, rates) in [None, Some(1), Some(3)]
                .into_iter()
                .flat_map(|cap| [(cap, false), (cap, true)])
            {
                let fast = encode(snap, format, cap, rates);
                let reference = encode_rows(snap, format, cap, rates, None, false);
                assert_eq!(fast, reference, "{format:?}, cap {cap:?}, rates {rates}");
                assert!(fast.contains("ipvs_up"), "{fast}");
            }
        }
    }
}

#[test]
fn service_labels_written_straight_are_the_label_list_rendered() {
    let keys = [
        ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80),
        ServiceKey::udp("2001:db8::100".parse().unwrap(), 53),
        ServiceKey::sctp("::ffff:192.0.2.1".parse().unwrap(), 65535),
        ServiceKey::Addr {
            protocol: ipvs::Protocol::from_number(47),
            addr: "0.0.0.0".parse().unwrap(),
            port: 0,
        },
        ServiceKey::fwmark(10, Family::Inet),
        ServiceKey::fwmark(u32::MAX, Family::Inet6),
    ];
    for netns in [None, Some("blue"), Some("we\"ird\\ns\nx"), Some("")] {
        for key in &keys {
            assert_eq!(
                service_rendered(netns, key),
                Rendered::of(&service_labels(netns, key)),
                "{netns:?} {key:?}"
            );
        }
    }
}

/// The exporter's routes on a reader that counts its reads and takes `delay`.
fn counted(
    delay: std::time::Duration,
) -> (
    std::sync::Arc<super::Exporter>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let reads = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&reads);
    let read: Arc<super::Reader> = Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(delay);
        snapshot(&[None])
    });
    let how = super::How {
        max_series: None,
        rates: false,
    };
    (super::Exporter::new(read, how), reads)
}

fn request(method: &str, path: &str, accept: Option<&str>) -> ipvs_serve::http::request::Parts {
    let mut b = ipvs_serve::http::Request::builder()
        .method(method)
        .uri(path);
    if let Some(a) = accept {
        b = b.header("Accept", a);
    }
    b.body(()).unwrap().into_parts().0
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn concurrent_scrapes_share_one_read_and_one_encoding() {
    use std::sync::atomic::Ordering;
    let (exporter, reads) = counted(std::time::Duration::from_millis(300));
    let routes = std::sync::Arc::new(exporter.routes());
    let bodies = runtime().block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let routes = std::sync::Arc::clone(&routes);
                tokio::spawn(async move { routes.answer(request("GET", "/metrics", None)).await })
            })
            .collect();
        let mut bodies = Vec::new();
        for t in tasks {
            bodies.push(t.await.unwrap());
        }
        bodies
    });
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    for b in &bodies {
        assert_eq!(b.status(), 200);
        // The same bytes, not a copy each.
        assert_eq!(b.body().as_ptr(), bodies[0].body().as_ptr());
        assert!(b.body().starts_with(b"# HELP "));
    }
    // A later scrape reads again.
    let later = runtime().block_on(routes.answer(request("GET", "/metrics", None)));
    assert_eq!(later.status(), 200);
    assert_eq!(reads.load(Ordering::SeqCst), 2);
}

#[test]
fn head_reads_nothing_other_methods_get_405_with_allow() {
    use std::sync::atomic::Ordering;
    let (exporter, reads) = counted(std::time::Duration::ZERO);
    let routes = exporter.routes();
    let rt = runtime();
    let head = rt.block_on(routes.answer(request(
        "HEAD",
        "/metrics",
        Some("application/openmetrics-text; version=1.0.0"),
    )));
    assert_eq!(head.status(), 200);
    assert!(head.body().is_empty());
    assert_eq!(
        head.headers()["content-type"],
        Format::OpenMetrics.content_type()
    );
    assert_eq!(reads.load(Ordering::SeqCst), 0, "HEAD read the kernel");
    let post = rt.block_on(routes.answer(request("POST", "/metrics", None)));
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    let missing = rt.block_on(routes.answer(request("GET", "/nothing", None)));
    assert_eq!(missing.status(), 404);
    let index = rt.block_on(routes.answer(request("GET", "/", None)));
    assert_eq!(index.status(), 200);
    assert_eq!(reads.load(Ordering::SeqCst), 0);
    let om = rt.block_on(routes.answer(request(
        "GET",
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0;q=0.6,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"),
    )));
    assert!(om.body().ends_with(b"# EOF\n"));
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[test]
fn fwmark_services_of_both_families_with_one_mark_are_one_series() {
    let mut state = fixture();
    let v6 = ServiceKey::fwmark(10, Family::Inet6);
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
        let s = samples(&encode(&snap, Format::Prometheus, cap, false));
        let fw = r#"local_address="",local_port="",proto="FWM",local_mark="0000000A""#;
        assert_eq!(
            value(&s, &format!("ipvs_service_connections_total{{{fw}}}")),
            "11"
        );
        assert_eq!(value(&s, &format!("ipvs_service_backends{{{fw}}}")), "3");
    }
    let s = samples(&encode(&snap, Format::Prometheus, None, false));
    let d = r#"local_address="",local_port="",proto="FWM",local_mark="0000000A",remote_address="192.168.10.13",remote_port="0""#;
    assert_eq!(
        value(&s, &format!("ipvs_backend_connections_total{{{d}}}")),
        "3"
    );
    assert_eq!(value(&s, &format!("ipvs_backend_weight{{{d}}}")), "8");
}
