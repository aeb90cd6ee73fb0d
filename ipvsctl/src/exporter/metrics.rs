//! What one scrape read from the kernel ([`Snapshot`]), and its encoding in
//! the Prometheus text format or OpenMetrics by `prometheus-client`. Pure:
//! the host tests feed it fixture states. Every metric and label is listed
//! in `docs/metrics.md`.

use std::net::IpAddr;

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, DescriptorEncoder, EncodeLabelSet, EncodeMetric, LabelSetEncoder,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info as InfoMetric;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use ipvs::{
    DaemonState, DestinationEntry, Info, ServiceKey, Stats, SyncDaemon, Timeouts, VirtualServer,
};

use ipvs::addr::Ntop;

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
    /// The format the `Accept` header (its values joined by commas) prefers: OpenMetrics when
    /// its quality is above that of the Prometheus text format, each type taking the `q` of the
    /// most specific media range that matches it (`text/plain`, `text/*`, `*/*`; missing: 0,
    /// no `q`: 1). Without the header, or on a tie, the Prometheus text format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Prometheus;
        };
        // (specificity, q) of the best match so far, for OpenMetrics and for the text format.
        let mut om: (u8, f32) = (0, 0.0);
        let mut text: (u8, f32) = (0, 0.0);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
            let q = if q.is_finite() {
                q.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (for_om, for_text) = match media.as_str() {
                "application/openmetrics-text" => (3, 0),
                "application/*" => (2, 0),
                "text/plain" => (0, 3),
                "text/*" => (0, 2),
                "*/*" => (1, 1),
                _ => (0, 0),
            };
            for (specificity, best) in [(for_om, &mut om), (for_text, &mut text)] {
                if specificity > best.0 || (specificity == best.0 && specificity > 0 && q > best.1)
                {
                    *best = (specificity, q);
                }
            }
        }
        if om.1 > text.1 {
            Format::OpenMetrics
        } else {
            Format::Prometheus
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

pub(crate) type Labels = Vec<(String, String)>;

/// node_exporter's service labels: `local_address`, `local_port`, `proto`
/// and `local_mark` (8 uppercase hex digits), empty where they do not apply
/// (`proto` is `FWM` for a fwmark service), after `netns` when there is one. The host tests'
/// reference for [`service_rendered`], which writes them.
#[cfg(test)]
pub(crate) fn service_labels(netns: Option<&str>, key: &ServiceKey) -> Labels {
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
            Ntop::new(addr).to_string(),
            port.to_string(),
            // The listing's capitals (TCP), not the schema's word.
            protocol.to_string().to_ascii_uppercase(),
            String::new(),
        ),
        // As /proc/net/ip_vs shows it (`FWM  0000000A`), which node_exporter copies.
        ServiceKey::Fwmark { fwmark, .. } => (
            String::new(),
            String::new(),
            "FWM".to_string(),
            format!("{fwmark:08X}"),
        ),
    };
    l.push(("local_address".into(), addr));
    l.push(("local_port".into(), port));
    l.push(("proto".into(), proto));
    l.push(("local_mark".into(), mark));
    l
}

/// [`Rendered::of`] of [`service_labels`], written straight into the row's text: the same
/// bytes without a list of label pairs per service (a scrape of 2,000 services made 20,000
/// small strings for them).
pub(crate) fn service_rendered(netns: Option<&str>, key: &ServiceKey) -> Rendered {
    let mut head = String::with_capacity(96);
    if let Some(ns) = netns {
        head.push_str("netns=\"");
        escape_into(&mut head, ns);
        head.push_str("\",");
    }
    let last = match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            head.push_str("local_address=\"");
            // An address and a port have nothing to escape.
            head.push_str(Ntop::new(addr).as_str());
            head.push_str("\",local_port=\"");
            head.push_str(itoa::Buffer::new().format(port));
            head.push_str("\",proto=\"");
            escape_into(&mut head, &protocol.to_string().to_ascii_uppercase());
            String::new()
        }
        ServiceKey::Fwmark { fwmark, .. } => {
            head.push_str("local_address=\"\",local_port=\"\",proto=\"FWM");
            format!("{fwmark:08X}")
        }
    };
    head.push_str("\",local_mark");
    Rendered { head, last }
}

/// The service's labels (as [`Rendered::closed`] writes them) and `remote_address`,
/// `remote_port` (both empty for destinations summed past `--max-series`).
pub(crate) fn dest_labels(service: &str, addr: Option<IpAddr>, port: Option<u16>) -> Rendered {
    let mut head = String::with_capacity(service.len() + 64);
    push_dest_head(&mut head, service, addr);
    Rendered {
        head,
        last: port.map(|p| p.to_string()).unwrap_or_default(),
    }
}

/// Writes a destination's labels up to the name `remote_port`: its service's labels
/// (`service`, as [`Rendered::closed`] writes them) and `remote_address` (empty for a sum).
/// The one spelling of the destination labels, for [`dest_labels`], the exporter's blocks and
/// healthd's rows.
pub(crate) fn push_dest_head(text: &mut String, service: &str, addr: Option<IpAddr>) {
    text.push_str(service);
    text.push_str("remote_address=\"");
    if let Some(a) = addr {
        // An address has nothing to escape.
        text.push_str(Ntop::new(a).as_str());
    }
    text.push_str("\",remote_port");
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

/// A metric suffix, its help, and the field of [`Stats`] it shows.
type StatField = (&'static str, &'static str, fn(&Stats) -> u64);

const STATS: [StatField; 5] = [
    ("connections", "Connections scheduled to the", |s| s.conns),
    ("incoming_packets", "Packets received by the", |s| {
        s.in_packets
    }),
    ("outgoing_packets", "Packets sent by the", |s| s.out_packets),
    ("incoming_bytes", "Bytes received by the", |s| s.in_bytes),
    ("outgoing_bytes", "Bytes sent by the", |s| s.out_bytes),
];
/// The kernel's rate estimates, written only with `--rates`: Prometheus takes `rate()` of the
/// counters, and these doubled a real server's series and were 38% of a scrape's bytes.
const ESTIMATES: [StatField; 5] = [
    (
        "connections_per_second",
        "Connections per second of the",
        |s| s.cps,
    ),
    (
        "incoming_packets_per_second",
        "Incoming packets per second of the",
        |s| s.in_pps,
    ),
    (
        "outgoing_packets_per_second",
        "Outgoing packets per second of the",
        |s| s.out_pps,
    ),
    (
        "incoming_bytes_per_second",
        "Incoming bytes per second of the",
        |s| s.in_bps,
    ),
    (
        "outgoing_bytes_per_second",
        "Outgoing bytes per second of the",
        |s| s.out_bps,
    ),
];

/// A row's labels as written, once for all its metrics: `k1="v1",...,kN` (values escaped)
/// and the last value, which the encoder escapes. Written through prometheus-client's label
/// encoder as one label whose key is all but the last value: the same bytes as label by label,
/// without the work per label and per metric (a scrape of 2,000 services x 4 has 120,000
/// destination samples).
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Rendered {
    pub(crate) head: String,
    pub(crate) last: String,
}

impl Rendered {
    /// A label list written (the host tests' reference; the rows are written straight).
    #[cfg(test)]
    pub(crate) fn of(labels: &Labels) -> Self {
        let Some(((last_key, last), rest)) = labels.split_last() else {
            return Rendered::default();
        };
        let mut head = String::new();
        for (k, v) in rest {
            head.push_str(k);
            head.push_str("=\"");
            escape_into(&mut head, v);
            head.push_str("\",");
        }
        head.push_str(last_key);
        Rendered {
            head,
            last: last.clone(),
        }
    }

    /// Every label written, and a comma after: the start of a longer set.
    pub(crate) fn closed(&self) -> String {
        let mut s = String::with_capacity(self.head.len() + self.last.len() + 4);
        s.push_str(&self.head);
        s.push_str("=\"");
        escape_into(&mut s, &self.last);
        s.push_str("\",");
        s
    }
}

/// A label value as the text formats escape it.
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

impl EncodeLabelSet for Rendered {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        RenderedRef {
            head: &self.head,
            last: &self.last,
        }
        .encode(encoder)
    }
}

/// A [`Rendered`] whose text is elsewhere (many rows' labels in one text: no strings per row).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RenderedRef<'a> {
    pub(crate) head: &'a str,
    pub(crate) last: &'a str,
}

impl EncodeLabelSet for RenderedRef<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        if self.head.is_empty() {
            return Ok(());
        }
        let mut label = encoder.encode_label();
        let mut key = label.encode_label_key()?;
        key.write_str(self.head)?;
        let mut value = key.encode_label_value()?;
        value.write_str(self.last)?;
        value.finish()
    }
}

/// A service's series.
#[derive(Debug)]
struct SvcRow {
    labels: Rendered,
    stats: Stats,
    backends: i64,
}

/// A destination's series (or the sum of a service's destinations). Its labels are its
/// service's (by index into [`Rows::services`]) and its address and port (`None` for a sum),
/// written only when the rows are: no strings per destination.
#[derive(Debug)]
struct DestRow {
    service: usize,
    addr: Option<IpAddr>,
    port: Option<u16>,
    stats: Stats,
    active: i64,
    inactive: i64,
    persistent: i64,
    weight: i64,
}

impl DestRow {
    fn zero(service: usize) -> Self {
        DestRow {
            service,
            addr: None,
            port: None,
            stats: Stats::default(),
            active: 0,
            inactive: 0,
            persistent: 0,
            weight: 0,
        }
    }

    fn of(service: usize, d: &DestinationEntry) -> Self {
        DestRow {
            service,
            addr: Some(d.destination.addr),
            port: Some(d.destination.port),
            stats: d.stats,
            active: i64::from(d.active_conns),
            inactive: i64::from(d.inactive_conns),
            persistent: i64::from(d.persistent_conns),
            weight: i64::from(d.destination.weight),
        }
    }

    /// Adds another row's values (the labels stay).
    fn add(&mut self, other: &DestRow) {
        add_stats(&mut self.stats, &other.stats);
        self.active = self.active.wrapping_add(other.active);
        self.inactive = self.inactive.wrapping_add(other.inactive);
        self.persistent = self.persistent.wrapping_add(other.persistent);
        self.weight = self.weight.wrapping_add(other.weight);
    }
}

/// A namespace's table-wide series; `tables` is `None` when its read failed.
#[derive(Debug)]
struct NsRow {
    labels: Labels,
    errors: u64,
    tables: Option<NsTables>,
}

#[derive(Debug)]
struct NsTables {
    version: Labels,
    conn_tab_size: i64,
    timeouts: Vec<(Labels, i64)>,
    daemons_up: Vec<(Labels, i64)>,
    daemons: Vec<Labels>,
}

/// Everything to encode, as rows; encoded by `prometheus-client` as a
/// collector, so no per-series metric objects are built.
#[derive(Debug)]
struct Rows {
    services: Vec<SvcRow>,
    /// Each service's labels with a comma after ([`Rendered::closed`]): the start of its
    /// destinations' label sets.
    closed: Vec<String>,
    dests: Vec<DestRow>,
    namespaces: Vec<NsRow>,
    duration: f64,
    summed: bool,
    total_dests: usize,
    /// The per-row families (services and destinations) were written by [`write_rows`]:
    /// the collector encodes only the rest.
    rows_written: bool,
    /// The `*_per_second` families ([`ESTIMATES`]) are written (`--rates`).
    rates: bool,
}

impl Rows {
    /// The kernel's estimates to write: all of them with `--rates`, else none.
    fn estimates(&self) -> &'static [StatField] {
        if self.rates {
            &ESTIMATES
        } else {
            &[]
        }
    }
}

fn add_stats(a: &mut Stats, b: &Stats) {
    for (x, y) in [
        (&mut a.conns, b.conns),
        (&mut a.in_packets, b.in_packets),
        (&mut a.out_packets, b.out_packets),
        (&mut a.in_bytes, b.in_bytes),
        (&mut a.out_bytes, b.out_bytes),
        (&mut a.cps, b.cps),
        (&mut a.in_pps, b.in_pps),
        (&mut a.out_pps, b.out_pps),
        (&mut a.in_bps, b.in_bps),
        (&mut a.out_bps, b.out_bps),
    ] {
        *x = x.wrapping_add(y);
    }
}

fn rows(snap: &Snapshot, max_series: Option<usize>, rates: bool) -> Rows {
    let total_dests: usize = snap
        .namespaces
        .iter()
        .filter_map(|n| n.state.as_ref().ok())
        .flat_map(|s| &s.servers)
        .map(|vs| vs.destinations.len())
        .sum();
    let summed = max_series.is_some_and(|m| total_dests > m);
    let mut services: Vec<SvcRow> = Vec::new();
    let mut closed: Vec<String> = Vec::new();
    let mut dests: Vec<DestRow> = Vec::new();
    let mut namespaces = Vec::new();
    for ns in &snap.namespaces {
        let netns = ns.netns.as_deref();
        let nsl = ns_labels(netns);
        let tables = ns.state.as_ref().ok().map(|state| {
            let (ma, mi, pa) = state.info.version_triple();
            let t = &state.timeouts;
            NsTables {
                version: with(nsl.clone(), "version", format!("{ma}.{mi}.{pa}")),
                conn_tab_size: i64::from(state.info.conn_tab_size),
                timeouts: [("tcp", t.tcp), ("tcp_fin", t.tcp_fin), ("udp", t.udp)]
                    .into_iter()
                    .map(|(n, v)| (with(nsl.clone(), "timeout", n), i64::from(v)))
                    .collect(),
                daemons_up: [DaemonState::Master, DaemonState::Backup]
                    .into_iter()
                    .map(|st| {
                        let up = state.daemons.iter().any(|d| d.state == st);
                        (with(nsl.clone(), "state", st.to_string()), i64::from(up))
                    })
                    .collect(),
                daemons: state
                    .daemons
                    .iter()
                    .map(|d| {
                        let l = with(nsl.clone(), "state", d.state.to_string());
                        let l = with(l, "mcast_interface", d.mcast_interface.clone());
                        with(l, "sync_id", d.sync_id.to_string())
                    })
                    .collect(),
            }
        });
        if let Ok(state) = &ns.state {
            // An IPv4 and an IPv6 fwmark service with the same mark have the same labels
            // (node_exporter's have no family): their series are summed, never repeated.
            let mut fw_services: HashMap<Rendered, usize> = HashMap::new();
            let mut fw_dests: HashMap<(usize, Option<IpAddr>, Option<u16>), usize> = HashMap::new();
            for vs in &state.servers {
                let fwmark = vs.entry.service.key.is_fwmark();
                let sl = service_rendered(netns, &vs.entry.service.key);
                let backends = i64::try_from(vs.destinations.len()).unwrap_or(i64::MAX);
                let service = match fwmark.then(|| fw_services.get(&sl)).flatten() {
                    Some(&i) => {
                        add_stats(&mut services[i].stats, &vs.entry.stats);
                        services[i].backends += backends;
                        i
                    }
                    None => {
                        let i = services.len();
                        if fwmark {
                            fw_services.insert(sl.clone(), i);
                        }
                        closed.push(sl.closed());
                        services.push(SvcRow {
                            labels: sl,
                            stats: vs.entry.stats,
                            backends,
                        });
                        i
                    }
                };
                let mut push = |row: DestRow| {
                    let key = (row.service, row.addr, row.port);
                    match fwmark.then(|| fw_dests.get(&key)).flatten() {
                        Some(&i) => dests[i].add(&row),
                        None => {
                            if fwmark {
                                fw_dests.insert(key, dests.len());
                            }
                            dests.push(row);
                        }
                    }
                };
                if summed && !vs.destinations.is_empty() {
                    let mut sum = DestRow::zero(service);
                    for d in &vs.destinations {
                        sum.add(&DestRow::of(service, d));
                    }
                    push(sum);
                } else {
                    for d in &vs.destinations {
                        push(DestRow::of(service, d));
                    }
                }
            }
        }
        namespaces.push(NsRow {
            labels: nsl,
            errors: ns.errors_total,
            tables,
        });
    }
    Rows {
        services,
        closed,
        dests,
        namespaces,
        duration: snap.duration,
        summed,
        total_dests,
        rows_written: false,
        rates,
    }
}

/// One metric: its descriptor, then a sample per row.
pub(crate) fn family<'r, R: 'r, S: EncodeLabelSet, V: EncodeMetric>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: impl IntoIterator<Item = &'r R>,
    labels: impl Fn(&R) -> &S,
    value: impl Fn(&R) -> V,
) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for r in rows {
        let l = labels(r);
        value(r).encode(m.encode_family(l)?)?;
    }
    Ok(())
}

pub(crate) fn counter(v: u64) -> ConstCounter<u64> {
    ConstCounter::new(v)
}

pub(crate) fn gauge(v: i64) -> ConstGauge<i64> {
    ConstGauge::new(v)
}

/// An info metric's sample (`NAME_info{labels} 1`; typed info in OpenMetrics, gauge in the
/// Prometheus text format): the labels are the family's.
fn info() -> InfoMetric<Labels> {
    InfoMetric::new(Labels::new())
}

pub(crate) fn fgauge(v: f64) -> ConstGauge<f64> {
    ConstGauge::new(v)
}

impl Collector for Rows {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let e = &mut enc;
        if !self.rows_written {
            self.encode_rows(e)?;
        }
        self.encode_tables(e)
    }
}

impl Rows {
    /// The labels of a destination's service, a comma after.
    fn closed_of(&self, dest: &DestRow) -> &str {
        // Always there: a row's service index is that of a service pushed before it.
        self.closed.get(dest.service).map_or("", String::as_str)
    }

    /// The per-row families through prometheus-client, sample by sample: what [`write_rows`]
    /// writes faster (the host tests compare the two).
    fn encode_rows(&self, e: &mut DescriptorEncoder) -> fmt::Result {
        use MetricType::{Counter, Gauge};
        // Each destination's labels as a label set of their own, for prometheus-client.
        let dests: Vec<(Rendered, &DestRow)> = self
            .dests
            .iter()
            .map(|r| (dest_labels(self.closed_of(r), r.addr, r.port), r))
            .collect();
        for (prefix, what) in [("ipvs_service", "service"), ("ipvs_backend", "destination")] {
            let is_svc = prefix == "ipvs_service";
            for (suffix, help, get) in STATS {
                let name = format!("{prefix}_{suffix}");
                let help = format!("{help} {what}.");
                if is_svc {
                    family(
                        e,
                        &name,
                        &help,
                        Counter,
                        &self.services,
                        |r| &r.labels,
                        |r| counter(get(&r.stats)),
                    )?;
                } else {
                    family(
                        e,
                        &name,
                        &help,
                        Counter,
                        &dests,
                        |r| &r.0,
                        |r| counter(get(&r.1.stats)),
                    )?;
                }
            }
            for (suffix, help, get) in self.estimates() {
                let name = format!("{prefix}_{suffix}");
                let help = format!("{help} {what}, the kernel's estimate over about 2 s.");
                if is_svc {
                    family(
                        e,
                        &name,
                        &help,
                        Gauge,
                        &self.services,
                        |r| &r.labels,
                        |r| gauge(i64::try_from(get(&r.stats)).unwrap_or(i64::MAX)),
                    )?;
                } else {
                    family(
                        e,
                        &name,
                        &help,
                        Gauge,
                        &dests,
                        |r| &r.0,
                        |r| gauge(i64::try_from(get(&r.1.stats)).unwrap_or(i64::MAX)),
                    )?;
                }
            }
        }
        let d = &dests;
        let help = "Active connections of the destination.";
        family(
            e,
            "ipvs_backend_connections_active",
            help,
            Gauge,
            d,
            |r| &r.0,
            |r| gauge(r.1.active),
        )?;
        let help = "Inactive connections of the destination.";
        family(
            e,
            "ipvs_backend_connections_inactive",
            help,
            Gauge,
            d,
            |r| &r.0,
            |r| gauge(r.1.inactive),
        )?;
        let help = "Persistent connection templates of the destination.";
        family(
            e,
            "ipvs_backend_connections_persistent",
            help,
            Gauge,
            d,
            |r| &r.0,
            |r| gauge(r.1.persistent),
        )?;
        let help = "Weight of the destination.";
        family(
            e,
            "ipvs_backend_weight",
            help,
            Gauge,
            d,
            |r| &r.0,
            |r| gauge(r.1.weight),
        )?;
        let help = "Destinations (real servers) of the service.";
        family(
            e,
            "ipvs_service_backends",
            help,
            Gauge,
            &self.services,
            |r| &r.labels,
            |r| gauge(r.backends),
        )
    }

    /// The table-wide and the exporter's own families.
    fn encode_tables(&self, e: &mut DescriptorEncoder) -> fmt::Result {
        use MetricType::{Counter, Gauge};
        let ns = &self.namespaces;
        let help = "1 when this scrape read the IPVS tables, 0 when it failed.";
        family(
            e,
            "ipvs_up",
            help,
            Gauge,
            ns,
            |r| &r.labels,
            |r| gauge(i64::from(r.tables.is_some())),
        )?;
        let up: Vec<&NsTables> = ns.iter().filter_map(|n| n.tables.as_ref()).collect();
        let help = "IPVS version of the kernel, in the version label.";
        family(
            e,
            "ipvs_version",
            help,
            MetricType::Info,
            up.iter().copied(),
            |t| &t.version,
            |_| info(),
        )?;
        let help = "Buckets of the kernel's IPVS connection hash table.";
        let with_tables: Vec<(&Labels, i64)> = ns
            .iter()
            .filter_map(|n| n.tables.as_ref().map(|t| (&n.labels, t.conn_tab_size)))
            .collect();
        family(
            e,
            "ipvs_connection_table_size",
            help,
            Gauge,
            &with_tables,
            |r| r.0,
            |r| gauge(r.1),
        )?;
        let help = "Connection timeouts (ipvsadm --set), by the timeout label: tcp, tcp_fin, udp.";
        let timeouts = up.iter().flat_map(|t| &t.timeouts);
        family(
            e,
            "ipvs_timeout_seconds",
            help,
            Gauge,
            timeouts,
            |r| &r.0,
            |r| gauge(r.1),
        )?;
        let help = "1 when the connection-sync daemon of this state (master, backup) runs.";
        let daemons_up = up.iter().flat_map(|t| &t.daemons_up);
        family(
            e,
            "ipvs_sync_daemon_up",
            help,
            Gauge,
            daemons_up,
            |r| &r.0,
            |r| gauge(r.1),
        )?;
        let help = "A running connection-sync daemon, its settings in labels.";
        let daemons = up.iter().flat_map(|t| &t.daemons);
        family(
            e,
            "ipvs_sync_daemon",
            help,
            MetricType::Info,
            daemons,
            |r| r,
            |_| info(),
        )?;

        let none = [Labels::new()];
        let help = "1 when destinations are summed per service because they exceed --max-series.";
        family(
            e,
            "ipvs_exporter_backends_summed",
            help,
            Gauge,
            &none,
            |r| r,
            |_| gauge(i64::from(self.summed)),
        )?;
        let help = "Destinations in the tables read, before any summing.";
        family(
            e,
            "ipvs_exporter_backends",
            help,
            Gauge,
            &none,
            |r| r,
            |_| gauge(i64::try_from(self.total_dests).unwrap_or(i64::MAX)),
        )?;
        let help = "Reads of the IPVS tables that failed since the exporter started.";
        family(
            e,
            "ipvs_exporter_scrape_errors",
            help,
            Counter,
            ns,
            |r| &r.labels,
            |r| counter(r.errors),
        )?;
        let help = "Time the last read of the IPVS tables took.";
        family(
            e,
            "ipvs_exporter_scrape_duration_seconds",
            help,
            Gauge,
            &none,
            |r| r,
            |_| fgauge(self.duration),
        )?;
        Ok(())
    }
}

/// One family's `# HELP` and `# TYPE` lines, as prometheus-client writes them.
#[derive(Debug)]
struct Descriptor {
    name: String,
    help: String,
    kind: MetricType,
}

impl Collector for Descriptor {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        enc.encode_descriptor(&self.name, &self.help, None, self.kind)?;
        Ok(())
    }
}

/// Appends a family's descriptor in `format`, written by prometheus-client.
fn descriptor(out: &mut String, format: Format, name: &str, help: &str, kind: MetricType) {
    let mut reg = Registry::default();
    reg.register_collector(Box::new(Descriptor {
        name: name.to_string(),
        help: help.to_string(),
        kind,
    }));
    // Writing into a String cannot fail.
    let _ = match format {
        Format::Prometheus => prometheus_text::encode(out, &reg),
        Format::OpenMetrics => prometheus_client::encoding::text::encode_registry(out, &reg),
    };
}

/// Each row's label set as its samples show it, `{k1="v1",...} ` with the space before the
/// value (just the space for no labels), made once for all the row's metrics, all in one
/// text: no string per row.
#[derive(Debug, Default)]
struct Blocks {
    text: String,
    ends: Vec<usize>,
}

impl Blocks {
    fn with_capacity(rows: usize, bytes: usize) -> Self {
        Blocks {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(rows),
        }
    }

    /// The services' blocks: each one's labels [`Rendered::closed`] (`closed`), without the
    /// comma.
    fn of_services(rows: &Rows) -> Self {
        let bytes = rows.closed.iter().map(|c| c.len() + 3).sum();
        let mut b = Blocks::with_capacity(rows.closed.len(), bytes);
        for (row, closed) in rows.services.iter().zip(&rows.closed) {
            if !row.labels.head.is_empty() {
                b.text.push('{');
                // `closed` ends in the comma that would start a next label.
                b.text.push_str(closed.strip_suffix(',').unwrap_or(closed));
                b.text.push('}');
            }
            b.end();
        }
        b
    }

    /// The destinations' blocks: their service's labels, then `remote_address` and
    /// `remote_port` (both empty for a sum), as [`dest_labels`] and [`Rendered::closed`]
    /// write them.
    fn of_dests(rows: &Rows) -> Self {
        let bytes = rows
            .dests
            .iter()
            .map(|r| rows.closed_of(r).len() + 80)
            .sum();
        let mut b = Blocks::with_capacity(rows.dests.len(), bytes);
        let mut port = itoa::Buffer::new();
        for r in &rows.dests {
            b.text.push('{');
            push_dest_head(&mut b.text, rows.closed_of(r), r.addr);
            b.text.push_str("=\"");
            if let Some(p) = r.port {
                // A port has nothing to escape.
                b.text.push_str(port.format(p));
            }
            b.text.push_str("\"}");
            b.end();
        }
        b
    }

    /// Ends the current block with the space before a value.
    fn end(&mut self) {
        self.text.push(' ');
        self.ends.push(self.text.len());
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(a, b)| self.text.get(a..b).unwrap_or(""))
    }
}

/// Appends one sample per row, `NAME{labels} VALUE`, the bytes prometheus-client writes.
fn samples<V: itoa::Integer>(
    out: &mut String,
    name: &str,
    blocks: &Blocks,
    values: impl Iterator<Item = V>,
) {
    let mut digits = itoa::Buffer::new();
    for (block, v) in blocks.iter().zip(values) {
        out.push_str(name);
        out.push_str(block);
        out.push_str(digits.format(v));
        out.push('\n');
    }
}

/// Writes the per-row families (services and destinations: all but a few dozen of a scrape's
/// samples) as [`Rows::encode_rows`] encodes them through prometheus-client, byte for byte,
/// at a fraction of the cost: each row's labels are written once, and every sample is a few
/// appends. The descriptors stay prometheus-client's.
fn write_rows(out: &mut String, format: Format, rows: &Rows) {
    let svc = Blocks::of_services(rows);
    let dst = Blocks::of_dests(rows);
    let estimate = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    for (prefix, what) in [("ipvs_service", "service"), ("ipvs_backend", "destination")] {
        let is_svc = prefix == "ipvs_service";
        for (suffix, help, get) in STATS {
            let name = format!("{prefix}_{suffix}");
            let help = format!("{help} {what}.");
            descriptor(out, format, &name, &help, MetricType::Counter);
            let name = format!("{name}_total");
            if is_svc {
                samples(
                    out,
                    &name,
                    &svc,
                    rows.services.iter().map(|r| get(&r.stats)),
                );
            } else {
                samples(out, &name, &dst, rows.dests.iter().map(|r| get(&r.stats)));
            }
        }
        for (suffix, help, get) in rows.estimates() {
            let name = format!("{prefix}_{suffix}");
            let help = format!("{help} {what}, the kernel's estimate over about 2 s.");
            descriptor(out, format, &name, &help, MetricType::Gauge);
            if is_svc {
                let values = rows.services.iter().map(|r| estimate(get(&r.stats)));
                samples(out, &name, &svc, values);
            } else {
                let values = rows.dests.iter().map(|r| estimate(get(&r.stats)));
                samples(out, &name, &dst, values);
            }
        }
    }
    type DestField = (&'static str, &'static str, fn(&DestRow) -> i64);
    let dest_gauges: [DestField; 4] = [
        (
            "ipvs_backend_connections_active",
            "Active connections of the destination.",
            |r| r.active,
        ),
        (
            "ipvs_backend_connections_inactive",
            "Inactive connections of the destination.",
            |r| r.inactive,
        ),
        (
            "ipvs_backend_connections_persistent",
            "Persistent connection templates of the destination.",
            |r| r.persistent,
        ),
        ("ipvs_backend_weight", "Weight of the destination.", |r| {
            r.weight
        }),
    ];
    for (name, help, get) in dest_gauges {
        descriptor(out, format, name, help, MetricType::Gauge);
        samples(out, name, &dst, rows.dests.iter().map(get));
    }
    let name = "ipvs_service_backends";
    let help = "Destinations (real servers) of the service.";
    descriptor(out, format, name, help, MetricType::Gauge);
    samples(out, name, &svc, rows.services.iter().map(|r| r.backends));
}

/// Encodes a snapshot. With more than `max_series` destinations in all
/// (`None`: no cap), the destinations of each service are summed into one
/// series with empty `remote_address` and `remote_port`. The kernel's rate
/// estimates (the `*_per_second` gauges) only with `rates` (`--rates`).
pub fn encode(snap: &Snapshot, format: Format, max_series: Option<usize>, rates: bool) -> String {
    encode_with(snap, format, max_series, rates, None)
}

/// As [`encode`], with the series of `more` after the tables' (healthd's health metrics).
pub fn encode_with(
    snap: &Snapshot,
    format: Format,
    max_series: Option<usize>,
    rates: bool,
    more: Option<Box<dyn Collector>>,
) -> String {
    encode_rows(snap, format, max_series, rates, more, true)
}

/// [`encode_with`], with the per-row families written by [`write_rows`] (`by_hand`) or sample
/// by sample through prometheus-client (the host tests' reference for the former).
pub(super) fn encode_rows(
    snap: &Snapshot,
    format: Format,
    max_series: Option<usize>,
    rates: bool,
    more: Option<Box<dyn Collector>>,
    by_hand: bool,
) -> String {
    let mut rows = rows(snap, max_series, rates);
    // The text's size, about: each row's labels and ~60 bytes of name and value, for each of
    // its metrics (STATS and the estimates written, plus 1 for a service and 4 for a
    // destination), so that the text of MBs is not copied as it grows.
    let estimates = rows.estimates().len();
    // A destination's labels are its service's and at most 80 bytes more.
    let per_row = |labels: usize, metrics: usize| (labels + 60) * metrics;
    let size = rows
        .services
        .iter()
        .map(|r| {
            per_row(
                r.labels.head.len() + r.labels.last.len(),
                STATS.len() + estimates + 1,
            )
        })
        .chain(
            rows.dests
                .iter()
                .map(|r| per_row(rows.closed_of(r).len() + 80, STATS.len() + estimates + 4)),
        )
        .sum::<usize>()
        + 16 * 1024;
    let mut out = String::with_capacity(size);
    if by_hand {
        write_rows(&mut out, format, &rows);
        rows.rows_written = true;
    }
    let mut reg = Registry::default();
    reg.register_collector(Box::new(rows));
    if let Some(more) = more {
        reg.register_collector(more);
    }
    // Writing into a String cannot fail.
    let _ = match format {
        Format::Prometheus => prometheus_text::encode(&mut out, &reg),
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &reg),
    };
    out
}
