//! What one scrape read from the kernel ([`Snapshot`]), and its encoding in
//! the Prometheus text format or OpenMetrics by `prometheus-client`. Pure:
//! the host tests feed it fixture states. Every metric and label is listed
//! in `docs/metrics.md`.

use std::net::IpAddr;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use ipvs::{DaemonState, Info, ServiceKey, Stats, SyncDaemon, Timeouts, VirtualServer};

use crate::output::ntop;

/// One namespace's tables as read by one scrape.
#[derive(Debug, Clone)]
pub struct NsState {
    pub info: Info,
    pub servers: Vec<VirtualServer>,
    pub timeouts: Timeouts,
    pub daemons: Vec<SyncDaemon>,
}

/// One namespace in a scrape: its `netns` label (`None` when the exporter
/// watches only its own namespace), what was read or the error, and the
/// errors so far.
#[derive(Debug, Clone)]
pub struct NsRead {
    pub netns: Option<String>,
    pub state: Result<NsState, String>,
    pub errors_total: u64,
}

/// Everything one scrape read.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub namespaces: Vec<NsRead>,
    /// How long the kernel reads took, in seconds.
    pub duration: f64,
}

/// The output format a scraper asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the `Accept` header names it, else the Prometheus text format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    /// The `Content-Type` of the encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

type Labels = Vec<(String, String)>;
type CounterFam = Family<Labels, Counter<u64>>;
type GaugeFam = Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>;
type IntGaugeFam = Family<Labels, Gauge<i64>>;

/// The five counters and five kernel estimates of a service or destination.
struct StatFamilies {
    conns: CounterFam,
    in_packets: CounterFam,
    out_packets: CounterFam,
    in_bytes: CounterFam,
    out_bytes: CounterFam,
    cps: GaugeFam,
    in_pps: GaugeFam,
    out_pps: GaugeFam,
    in_bps: GaugeFam,
    out_bps: GaugeFam,
}

impl StatFamilies {
    fn new(registry: &mut Registry, prefix: &str, what: &str) -> Self {
        let mut counter = |name: &str, help: &str| {
            let f = CounterFam::default();
            registry.register(
                format!("{prefix}_{name}"),
                format!("{help} {what}"),
                f.clone(),
            );
            f
        };
        let conns = counter("connections", "Connections scheduled to the");
        let in_packets = counter("incoming_packets", "Packets received by the");
        let out_packets = counter("outgoing_packets", "Packets sent by the");
        let in_bytes = counter("incoming_bytes", "Bytes received by the");
        let out_bytes = counter("outgoing_bytes", "Bytes sent by the");
        let mut gauge = |name: &str, help: &str| {
            let f = GaugeFam::default();
            registry.register(
                format!("{prefix}_{name}"),
                format!("{help} {what}, the kernel's estimate over about 2 s"),
                f.clone(),
            );
            f
        };
        StatFamilies {
            conns,
            in_packets,
            out_packets,
            in_bytes,
            out_bytes,
            cps: gauge("connections_per_second", "Connections per second of the"),
            in_pps: gauge(
                "incoming_packets_per_second",
                "Incoming packets per second of the",
            ),
            out_pps: gauge(
                "outgoing_packets_per_second",
                "Outgoing packets per second of the",
            ),
            in_bps: gauge(
                "incoming_bytes_per_second",
                "Incoming bytes per second of the",
            ),
            out_bps: gauge(
                "outgoing_bytes_per_second",
                "Outgoing bytes per second of the",
            ),
        }
    }

    fn add(&self, labels: &Labels, s: &Stats) {
        self.conns.get_or_create(labels).inc_by(s.conns);
        self.in_packets.get_or_create(labels).inc_by(s.in_packets);
        self.out_packets.get_or_create(labels).inc_by(s.out_packets);
        self.in_bytes.get_or_create(labels).inc_by(s.in_bytes);
        self.out_bytes.get_or_create(labels).inc_by(s.out_bytes);
        self.cps.get_or_create(labels).inc_by(s.cps as f64);
        self.in_pps.get_or_create(labels).inc_by(s.in_pps as f64);
        self.out_pps.get_or_create(labels).inc_by(s.out_pps as f64);
        self.in_bps.get_or_create(labels).inc_by(s.in_bps as f64);
        self.out_bps.get_or_create(labels).inc_by(s.out_bps as f64);
    }
}

fn int_gauge(registry: &mut Registry, name: &str, help: &str) -> IntGaugeFam {
    let f = IntGaugeFam::default();
    registry.register(name, help, f.clone());
    f
}

/// node_exporter's service labels: `local_address`, `local_port`, `proto`
/// and `local_mark`, empty where they do not apply (`proto` is `FWM` for a
/// fwmark service), after `netns` when there is one.
fn service_labels(netns: Option<&str>, key: &ServiceKey) -> Labels {
    let mut l = Labels::new();
    if let Some(ns) = netns {
        l.push(("netns".into(), ns.into()));
    }
    let (addr, port, proto, mark) = match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            ntop(addr),
            port.to_string(),
            protocol.to_string(),
            String::new(),
        ),
        ServiceKey::Fwmark { fwmark, .. } => (
            String::new(),
            String::new(),
            "FWM".to_string(),
            fwmark.to_string(),
        ),
    };
    l.push(("local_address".into(), addr));
    l.push(("local_port".into(), port));
    l.push(("proto".into(), proto));
    l.push(("local_mark".into(), mark));
    l
}

/// The service's labels and `remote_address`, `remote_port` (both empty for
/// destinations summed past `--max-series`).
fn dest_labels(service: &Labels, addr: Option<IpAddr>, port: Option<u16>) -> Labels {
    let mut l = service.clone();
    l.push(("remote_address".into(), addr.map(ntop).unwrap_or_default()));
    l.push((
        "remote_port".into(),
        port.map(|p| p.to_string()).unwrap_or_default(),
    ));
    l
}

fn ns_labels(netns: Option<&str>) -> Labels {
    netns
        .map(|ns| vec![("netns".to_string(), ns.to_string())])
        .unwrap_or_default()
}

fn with(mut l: Labels, k: &str, v: impl Into<String>) -> Labels {
    l.push((k.into(), v.into()));
    l
}

/// Encodes a snapshot. With more than `max_series` destinations in all
/// (`None`: no cap), the destinations of each service are summed into one
/// series with empty `remote_address` and `remote_port`.
pub fn encode(snap: &Snapshot, format: Format, max_series: Option<usize>) -> String {
    let mut reg = Registry::default();
    let svc = StatFamilies::new(&mut reg, "ipvs_service", "service");
    let dst = StatFamilies::new(&mut reg, "ipvs_backend", "destination (real server)");
    let active = int_gauge(
        &mut reg,
        "ipvs_backend_connections_active",
        "Active connections of the destination",
    );
    let inactive = int_gauge(
        &mut reg,
        "ipvs_backend_connections_inactive",
        "Inactive connections of the destination",
    );
    let persistent = int_gauge(
        &mut reg,
        "ipvs_backend_connections_persistent",
        "Persistent connection templates of the destination",
    );
    let weight = int_gauge(&mut reg, "ipvs_backend_weight", "Weight of the destination");
    let backends = int_gauge(
        &mut reg,
        "ipvs_service_backends",
        "Destinations (real servers) of the service",
    );
    let up = int_gauge(
        &mut reg,
        "ipvs_up",
        "1 when this scrape read the IPVS tables, 0 when it failed",
    );
    let version = int_gauge(
        &mut reg,
        "ipvs_version_info",
        "IPVS version of the kernel, in the version label; always 1",
    );
    let conn_tab = int_gauge(
        &mut reg,
        "ipvs_connection_table_size",
        "Buckets of the kernel's IPVS connection hash table",
    );
    let timeout = int_gauge(
        &mut reg,
        "ipvs_timeout_seconds",
        "Connection timeouts (ipvsadm --set), by the timeout label: tcp, tcp_fin, udp",
    );
    let daemon_up = int_gauge(
        &mut reg,
        "ipvs_sync_daemon_up",
        "1 when the connection-sync daemon of this state (master, backup) runs",
    );
    let daemon_info = int_gauge(
        &mut reg,
        "ipvs_sync_daemon_info",
        "A running connection-sync daemon, its settings in labels; always 1",
    );
    let summed = int_gauge(
        &mut reg,
        "ipvs_exporter_backends_summed",
        "1 when destinations are summed per service because they exceed --max-series",
    );
    let dest_count = int_gauge(
        &mut reg,
        "ipvs_exporter_backends",
        "Destinations in the tables read, before any summing",
    );
    let errors = CounterFam::default();
    reg.register(
        "ipvs_exporter_scrape_errors",
        "Reads of the IPVS tables that failed since the exporter started",
        errors.clone(),
    );
    let duration = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
    reg.register(
        "ipvs_exporter_scrape_duration_seconds",
        "Time the last read of the IPVS tables took",
        duration.clone(),
    );
    duration.set(snap.duration);

    let total_dests: usize = snap
        .namespaces
        .iter()
        .filter_map(|n| n.state.as_ref().ok())
        .flat_map(|s| &s.servers)
        .map(|vs| vs.destinations.len())
        .sum();
    let sum = max_series.is_some_and(|m| total_dests > m);
    summed.get_or_create(&Labels::new()).set(i64::from(sum));
    dest_count
        .get_or_create(&Labels::new())
        .set(i64::try_from(total_dests).unwrap_or(i64::MAX));

    for ns in &snap.namespaces {
        let netns = ns.netns.as_deref();
        let nsl = ns_labels(netns);
        errors.get_or_create(&nsl).inc_by(ns.errors_total);
        let state = match &ns.state {
            Ok(s) => s,
            Err(_) => {
                up.get_or_create(&nsl).set(0);
                continue;
            }
        };
        up.get_or_create(&nsl).set(1);
        let (ma, mi, pa) = state.info.version_triple();
        version
            .get_or_create(&with(nsl.clone(), "version", format!("{ma}.{mi}.{pa}")))
            .set(1);
        conn_tab
            .get_or_create(&nsl)
            .set(i64::from(state.info.conn_tab_size));
        for (name, v) in [
            ("tcp", state.timeouts.tcp),
            ("tcp_fin", state.timeouts.tcp_fin),
            ("udp", state.timeouts.udp),
        ] {
            timeout
                .get_or_create(&with(nsl.clone(), "timeout", name))
                .set(i64::from(v));
        }
        for st in [DaemonState::Master, DaemonState::Backup] {
            let running = state.daemons.iter().any(|d| d.state == st);
            daemon_up
                .get_or_create(&with(nsl.clone(), "state", st.to_string()))
                .set(i64::from(running));
        }
        for d in &state.daemons {
            let l = with(nsl.clone(), "state", d.state.to_string());
            let l = with(l, "mcast_interface", d.mcast_interface.clone());
            let l = with(l, "sync_id", d.sync_id.to_string());
            daemon_info.get_or_create(&l).set(1);
        }
        for vs in &state.servers {
            let sl = service_labels(netns, &vs.entry.service.key);
            svc.add(&sl, &vs.entry.stats);
            backends
                .get_or_create(&sl)
                .set(i64::try_from(vs.destinations.len()).unwrap_or(i64::MAX));
            for d in &vs.destinations {
                let dl = if sum {
                    dest_labels(&sl, None, None)
                } else {
                    dest_labels(&sl, Some(d.destination.addr), Some(d.destination.port))
                };
                dst.add(&dl, &d.stats);
                active.get_or_create(&dl).inc_by(i64::from(d.active_conns));
                inactive
                    .get_or_create(&dl)
                    .inc_by(i64::from(d.inactive_conns));
                persistent
                    .get_or_create(&dl)
                    .inc_by(i64::from(d.persistent_conns));
                weight
                    .get_or_create(&dl)
                    .inc_by(i64::from(d.destination.weight));
            }
        }
    }

    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = match format {
        Format::Prometheus => prometheus_text::encode(&mut out, &reg),
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &reg),
    };
    out
}
