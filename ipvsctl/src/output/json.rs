//! JSON output. The save document is the library's [`State`]; the listing,
//! connection, timeout and daemon documents are small serialize-only structs
//! that use the library's words for the same values (`docs/json.md`).
//!
//! Every invocation prints one pretty-printed document followed by a newline.
//! Addresses are strings, counters are numbers, enumerations are lowercase
//! words, and optional values are `null` rather than missing, so every object
//! of a kind has the same keys. The save document is the listing's
//! `services` without the read-only fields (statistics and connection counts).

use serde::Serialize;

use ipvs::{
    Connection, DaemonState, DestinationEntry, Forward, Info, Rates, Sample, Service, ServiceKey,
    Stats, SyncDaemon, Timeouts, VirtualServer,
};

use super::sort;
use super::ListOptions;
use ipvs::{
    family_word, forward_word, ntop, protocol_word, service_flag_words, tunnel_flag_words,
    tunnel_type_word, State,
};

/// The whole-table listing.
#[derive(Serialize)]
struct ListDoc {
    version: String,
    conn_tab_size: u32,
    services: Vec<ServiceJson>,
}

#[derive(Serialize)]
pub(crate) struct ServiceJson {
    family: &'static str,
    protocol: Option<String>,
    address: Option<String>,
    port: Option<u16>,
    fwmark: Option<u32>,
    scheduler: String,
    flags: Vec<String>,
    timeout: u32,
    netmask: String,
    persistence_engine: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<StatsJson>,
    /// Only in `--watch` lines: the computed rates, `null` for the first sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    rates: Option<Option<RatesJson>>,
    destinations: Vec<DestJson>,
}

#[derive(Serialize)]
struct DestJson {
    family: &'static str,
    address: String,
    port: u16,
    forward: String,
    tunnel: Option<TunnelJson>,
    weight: u32,
    upper_threshold: u32,
    lower_threshold: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    active_conns: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inactive_conns: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    persistent_conns: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<StatsJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rates: Option<Option<RatesJson>>,
}

/// Per-second rates computed by `--watch` from two samples.
#[derive(Serialize)]
struct RatesJson {
    conns: f64,
    in_packets: f64,
    out_packets: f64,
    in_bytes: f64,
    out_bytes: f64,
}

impl From<Rates> for RatesJson {
    fn from(r: Rates) -> Self {
        RatesJson {
            conns: r.conns,
            in_packets: r.in_packets,
            out_packets: r.out_packets,
            in_bytes: r.in_bytes,
            out_bytes: r.out_bytes,
        }
    }
}

/// One `--watch --json` line of a service listing.
#[derive(Serialize)]
struct WatchDoc {
    timestamp: f64,
    interval: Option<f64>,
    version: String,
    conn_tab_size: u32,
    services: Vec<ServiceJson>,
}

#[derive(Serialize)]
struct TunnelJson {
    #[serde(rename = "type")]
    kind: String,
    port: u16,
    flags: Vec<String>,
}

#[derive(Serialize)]
struct StatsJson {
    conns: u64,
    in_packets: u64,
    out_packets: u64,
    in_bytes: u64,
    out_bytes: u64,
    cps: u64,
    in_pps: u64,
    out_pps: u64,
    in_bps: u64,
    out_bps: u64,
}

#[derive(Serialize)]
struct ConnectionsDoc {
    connections: Vec<ConnectionJson>,
}

#[derive(Serialize)]
struct ConnectionJson {
    protocol: String,
    client_address: String,
    client_port: u16,
    virtual_address: String,
    virtual_port: u16,
    destination_address: String,
    destination_port: u16,
    state: String,
    expires: u32,
    persistence_engine: Option<String>,
    persistence_data: Option<String>,
}

#[derive(Serialize)]
struct TimeoutsJson {
    tcp: u32,
    tcp_fin: u32,
    udp: u32,
}

#[derive(Serialize)]
struct DaemonsDoc {
    daemons: Vec<DaemonJson>,
}

#[derive(Serialize)]
struct DaemonJson {
    state: &'static str,
    mcast_interface: String,
    sync_id: u32,
    sync_maxlen: Option<u16>,
    mcast_group: Option<String>,
    mcast_port: Option<u16>,
    mcast_ttl: Option<u8>,
}

fn stats_json(s: &Stats) -> StatsJson {
    StatsJson {
        conns: s.conns,
        in_packets: s.in_packets,
        out_packets: s.out_packets,
        in_bytes: s.in_bytes,
        out_bytes: s.out_bytes,
        cps: s.cps,
        in_pps: s.in_pps,
        out_pps: s.out_pps,
        in_bps: s.in_bps,
        out_bps: s.out_bps,
    }
}

fn service_json(svc: &Service, stats: Option<&Stats>, destinations: Vec<DestJson>) -> ServiceJson {
    let (protocol, address, port, fwmark) = match svc.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            Some(protocol_word(protocol)),
            Some(ntop(addr)),
            Some(port),
            None,
        ),
        ServiceKey::Fwmark { fwmark, .. } => (None, None, None, Some(fwmark)),
    };
    ServiceJson {
        family: family_word(svc.key.family()),
        protocol,
        address,
        port,
        fwmark,
        scheduler: svc.scheduler.name().to_string(),
        flags: service_flag_words(svc.flags, &svc.scheduler),
        timeout: svc.timeout,
        netmask: svc.netmask.to_string(),
        persistence_engine: svc.persistence_engine.clone().filter(|s| !s.is_empty()),
        stats: stats.map(stats_json),
        rates: None,
        destinations,
    }
}

fn dest_json(e: &DestinationEntry, full: bool) -> DestJson {
    let d = &e.destination;
    let tunnel = match d.forward {
        Forward::Tunnel { kind, port, flags } => Some(TunnelJson {
            kind: tunnel_type_word(kind),
            port,
            flags: tunnel_flag_words(flags),
        }),
        _ => None,
    };
    DestJson {
        family: family_word(d.family()),
        address: ntop(d.addr),
        port: d.port,
        forward: forward_word(&d.forward),
        tunnel,
        weight: d.weight,
        upper_threshold: d.upper_threshold,
        lower_threshold: d.lower_threshold,
        active_conns: full.then_some(e.active_conns),
        inactive_conns: full.then_some(e.inactive_conns),
        persistent_conns: full.then_some(e.persistent_conns),
        stats: full.then(|| stats_json(&e.stats)),
        rates: None,
    }
}

/// The services, sorted or not, with (`full`) or without statistics.
fn services_json(servers: &[VirtualServer], sort: bool, full: bool) -> Vec<ServiceJson> {
    sort::services(servers, sort)
        .into_iter()
        .map(|vs| {
            let dests = sort::dests(&vs.destinations, sort)
                .into_iter()
                .map(|e| dest_json(e, full))
                .collect();
            service_json(&vs.entry.service, full.then_some(&vs.entry.stats), dests)
        })
        .collect()
}

/// Pretty-prints a document and adds the final newline.
fn render<T: Serialize>(doc: &T) -> String {
    // These documents hold only strings, numbers, arrays and string-keyed
    // objects, which always serialize; the fallback is never expected.
    match serde_json::to_string_pretty(doc) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

/// `-L --json`: `{"version", "conn_tab_size", "services": [...]}` with every
/// service's statistics and destinations. Addresses are always numeric and
/// every field is always present, so `opts.numeric`, `opts.exact` and
/// `opts.mode` change nothing here; `opts.sort` orders services and
/// destinations as the text listing does. For `-L SERVICE`, pass that one
/// service.
pub fn list_json(info: &Info, servers: &[VirtualServer], opts: &ListOptions) -> String {
    let (major, minor, patch) = info.version_triple();
    render(&ListDoc {
        version: format!("{major}.{minor}.{patch}"),
        conn_tab_size: info.conn_tab_size,
        services: services_json(servers, opts.sort, true),
    })
}

/// `-S --json`: `{"services": [...]}` with the configuration only (no
/// statistics or connection counts), in ipvsadm's order. [`parse_save_json`]
/// reads it back.
///
/// [`parse_save_json`]: super::parse_save_json
pub fn save_json(servers: &[VirtualServer]) -> String {
    render(&State::from_servers(
        sort::services(servers, true)
            .into_iter()
            .map(|vs| {
                // ipvsadm's order for the destinations too.
                let mut vs = vs.clone();
                vs.destinations = sort::dests(&vs.destinations, true)
                    .into_iter()
                    .cloned()
                    .collect();
                vs
            })
            .collect::<Vec<_>>()
            .iter(),
    ))
}

/// `-L -c --json`: `{"connections": [...]}`, in the kernel's order.
pub fn connections_json(conns: &[Connection]) -> String {
    render(&ConnectionsDoc {
        connections: conns
            .iter()
            .map(|c| ConnectionJson {
                protocol: c.protocol.to_ascii_lowercase(),
                client_address: ntop(c.client_addr),
                client_port: c.client_port,
                virtual_address: ntop(c.virtual_addr),
                virtual_port: c.virtual_port,
                destination_address: ntop(c.dest_addr),
                destination_port: c.dest_port,
                state: c.state.clone(),
                expires: c.expires,
                persistence_engine: c.pe_name.clone(),
                persistence_data: c.pe_data.clone(),
            })
            .collect(),
    })
}

/// `-L --timeout --json`: `{"tcp", "tcp_fin", "udp"}` in seconds.
pub fn timeout_json(t: &Timeouts) -> String {
    render(&TimeoutsJson {
        tcp: t.tcp,
        tcp_fin: t.tcp_fin,
        udp: t.udp,
    })
}

/// `-L --daemon --json`: `{"daemons": [...]}`; settings the kernel did not
/// report (before 4.3) are `null`.
pub fn daemon_json(daemons: &[SyncDaemon]) -> String {
    render(&DaemonsDoc {
        daemons: daemons
            .iter()
            .map(|d| DaemonJson {
                state: match d.state {
                    DaemonState::Master => "master",
                    DaemonState::Backup => "backup",
                },
                mcast_interface: d.mcast_interface.clone(),
                sync_id: d.sync_id,
                sync_maxlen: d.sync_maxlen,
                mcast_group: d.mcast_group.map(ntop),
                mcast_port: d.mcast_port,
                mcast_ttl: d.mcast_ttl,
            })
            .collect(),
    })
}

/// `--watch --json` of a service listing: one line (NDJSON) with the time of
/// the read (`timestamp`, seconds since the Unix epoch), the time since the
/// previous one (`interval`, `null` at first), and the listing document whose
/// services and destinations each have `rates` beside `stats`.
pub fn watch_json(
    timestamp: f64,
    info: &Info,
    servers: &[VirtualServer],
    sample: &Sample,
    opts: &ListOptions,
) -> String {
    let (major, minor, patch) = info.version_triple();
    let services = sort::services(servers, opts.sort)
        .into_iter()
        .map(|vs| {
            let key = vs.entry.service.key;
            let dests = sort::dests(&vs.destinations, opts.sort)
                .into_iter()
                .map(|e| {
                    let mut d = dest_json(e, true);
                    let r = sample.destination_rates(&key, e.destination.addr, e.destination.port);
                    d.rates = Some(r.map(RatesJson::from));
                    d
                })
                .collect();
            let mut s = service_json(&vs.entry.service, Some(&vs.entry.stats), dests);
            s.rates = Some(sample.service_rates(&key).map(RatesJson::from));
            s
        })
        .collect();
    let doc = WatchDoc {
        timestamp,
        interval: sample.interval.map(|d| d.as_secs_f64()),
        version: format!("{major}.{minor}.{patch}"),
        conn_tab_size: info.conn_tab_size,
        services,
    };
    line(&doc)
}

/// `--watch --json` of another listing: its document on one line, with
/// `timestamp` added.
pub fn watch_line(timestamp: f64, pretty_doc: &str) -> String {
    let mut map = serde_json::Map::new();
    map.insert("timestamp".into(), serde_json::json!(timestamp));
    if let Ok(serde_json::Value::Object(doc)) = serde_json::from_str(pretty_doc) {
        map.extend(doc);
    }
    line(&map)
}

/// One compact document and a newline.
fn line<T: Serialize>(doc: &T) -> String {
    match serde_json::to_string(doc) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

/// `apply --json`: the plan, `{"changes": [...]}` (see [`ipvs::ChangeJson`]).
pub fn plan_json(plan: &ipvs::Plan) -> String {
    render(plan)
}
