//! JSON output. Every object of `docs/json.md` is the library's serde form
//! of its type: the save document is [`State`], a listed service a
//! [`VirtualServer`]'s (its [`ServiceEntry`] and [`DestinationEntry`]s), a
//! connection, the timeouts and a daemon the library's [`Connection`],
//! [`Timeouts`] and [`SyncDaemon`]. Only the documents' envelopes (version,
//! `--watch`'s timestamp and rates) are spelled here.
//!
//! Every invocation prints one pretty-printed document followed by a newline.
//! Addresses are strings, counters are numbers, enumerations are lowercase
//! words, and optional values are `null` rather than missing, so every object
//! of a kind has the same keys. The save document is the listing's
//! `services` without the read-only fields (statistics and connection counts).

use serde::Serialize;

use ipvs::{
    Connection, DestinationEntry, Info, Rates, Sample, ServiceEntry, SyncDaemon, Timeouts,
    VirtualServer,
};

use super::sort;
use super::ListOptions;
use ipvs::State;

/// The whole-table listing.
#[derive(Serialize)]
struct ListDoc<'a> {
    #[serde(flatten)]
    info: &'a Info,
    services: Vec<Listed<'a>>,
}

/// A listed service: the library's serde form of a [`VirtualServer`], with
/// its destinations in the listing's order.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    entry: &'a ServiceEntry,
    destinations: Vec<&'a DestinationEntry>,
}

/// A `--watch` line's service: the listing's, with `rates` after `stats`
/// (`null` for the first sample).
#[derive(Serialize)]
struct Watched<'a> {
    #[serde(flatten)]
    entry: &'a ServiceEntry,
    rates: Option<Rates>,
    destinations: Vec<WatchedDest<'a>>,
}

#[derive(Serialize)]
struct WatchedDest<'a> {
    #[serde(flatten)]
    entry: &'a DestinationEntry,
    rates: Option<Rates>,
}

/// One `--watch --json` line of a service listing.
#[derive(Serialize)]
struct WatchDoc<'a> {
    timestamp: f64,
    interval: Option<f64>,
    #[serde(flatten)]
    info: &'a Info,
    services: Vec<Watched<'a>>,
}

#[derive(Serialize)]
struct ConnectionsDoc<'a> {
    connections: &'a [Connection],
}

#[derive(Serialize)]
struct DaemonsDoc<'a> {
    daemons: &'a [SyncDaemon],
}

/// The services and their destinations, sorted or not.
fn services_json(servers: &[VirtualServer], sort: bool) -> Vec<Listed<'_>> {
    sort::services(servers, sort)
        .into_iter()
        .map(|vs| Listed {
            entry: &vs.entry,
            destinations: sort::dests(&vs.destinations, sort),
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
    render(&ListDoc {
        info,
        services: services_json(servers, opts.sort),
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
    render(&ConnectionsDoc { connections: conns })
}

/// `-L --timeout --json`: `{"tcp", "tcp_fin", "udp"}` in seconds.
pub fn timeout_json(t: &Timeouts) -> String {
    render(t)
}

/// `-L --daemon --json`: `{"daemons": [...]}`; settings the kernel did not
/// report (before 4.3) are `null`.
pub fn daemon_json(daemons: &[SyncDaemon]) -> String {
    render(&DaemonsDoc { daemons })
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
    let services = sort::services(servers, opts.sort)
        .into_iter()
        .map(|vs| {
            let key = vs.entry.service.key;
            let destinations = sort::dests(&vs.destinations, opts.sort)
                .into_iter()
                .map(|e| WatchedDest {
                    entry: e,
                    rates: sample.destination_rates(&key, e.destination.addr, e.destination.port),
                })
                .collect();
            Watched {
                entry: &vs.entry,
                rates: sample.service_rates(&key),
                destinations,
            }
        })
        .collect();
    let doc = WatchDoc {
        timestamp,
        interval: sample.interval.map(|d| d.as_secs_f64()),
        info,
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

/// `apply --json`: the plan, `{"changes": [...]}` (each [`ipvs::Change`] in its serde form).
pub fn plan_json(plan: &ipvs::Plan) -> String {
    render(plan)
}
