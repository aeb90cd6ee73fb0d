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

use std::cell::RefCell;
use std::io;

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use ipvs::conn::Connection;
use ipvs::sampler::{Rates, Sample};
use ipvs::schema::ListedService;
use ipvs::{
    DestinationEntry, Family, Info, Service, ServiceEntry, ServiceKey, ServiceState, SyncDaemon,
    Timeouts, VirtualServer,
};

use super::listing::{held, held_dests, into_text, Chunked, StreamError};
use super::options::ListOptions;
use super::sort;

/// The whole-table listing.
#[derive(Serialize)]
struct ListDoc<'a, S: Serialize> {
    #[serde(flatten)]
    info: &'a Info,
    services: S,
}

/// The save document: the library's [`State`]; the settings only when asked (`--settings`).
#[derive(Serialize)]
struct SaveDoc<'a, S: Serialize> {
    services: S,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeouts: Option<Timeouts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sysctls: Option<&'a std::collections::BTreeMap<String, ipvs::settings::SysctlValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_daemons: Option<&'a [SyncDaemon]>,
}

/// Destinations in an order given by their positions.
struct InOrder<'a> {
    dests: &'a [DestinationEntry],
    order: &'a [usize],
}

impl Serialize for InOrder<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.order.iter().map(|i| &self.dests[*i]))
    }
}

/// The `services` array of a streamed document: each service's destinations are read (by
/// `dests`, given its position in `services`) when its turn comes, and the service is
/// serialized at once. A failed read is kept in `failed` and ends the serialization.
struct Streamed<'a, F, E> {
    services: &'a [&'a ServiceEntry],
    dests: RefCell<F>,
    failed: RefCell<Option<E>>,
    sort: bool,
    /// The save document's services (configuration only) rather than the listing's.
    save: bool,
}

impl<F, E> Serialize for Streamed<'_, F, E>
where
    F: FnMut(usize, &mut Vec<DestinationEntry>) -> Result<(), E>,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let positions = sort::service_order(self.services, self.sort);
        let mut seq = s.serialize_seq(Some(positions.len()))?;
        let mut dests = self.dests.borrow_mut();
        let mut list = Vec::new();
        let (mut order, mut tmp) = (Vec::new(), Vec::new());
        let mut saved = ServiceState::new(Service::new(ServiceKey::fwmark(0, Family::Inet)));
        for i in positions {
            list.clear();
            if let Err(e) = (*dests)(i, &mut list) {
                *self.failed.borrow_mut() = Some(e);
                return Err(serde::ser::Error::custom("reading the destinations failed"));
            }
            sort::dest_order(&list, self.sort, &mut order, &mut tmp);
            let entry = self.services[i];
            if self.save {
                // As `State::from_servers`: the configuration.
                saved.service.clone_from(&entry.service);
                saved.destinations.clear();
                saved
                    .destinations
                    .extend(order.iter().map(|k| list[*k].destination));
                seq.serialize_element(&saved)?;
            } else {
                // The library's serde form of a VirtualServer, with its destinations in the
                // listing's order.
                seq.serialize_element(&ListedService {
                    entry,
                    destinations: InOrder {
                        dests: &list,
                        order: &order,
                    },
                })?;
            }
        }
        seq.end()
    }
}

/// How a document is written: `Ours` in the program, `SerdeJson` in the tests that hold
/// ours to serde_json's bytes.
trait Writes {
    fn write<T: ?Sized + Serialize>(
        doc: &T,
        out: &mut Chunked<'_>,
    ) -> Result<(), serde_json::Error>;
}

/// ipvsctl's serializer (`json_ser`): serde_json's pretty bytes, written with fewer copies and
/// checks.
struct Ours;

impl Writes for Ours {
    fn write<T: ?Sized + Serialize>(
        doc: &T,
        out: &mut Chunked<'_>,
    ) -> Result<(), serde_json::Error> {
        super::json_ser::write_pretty(doc, out)
    }
}

/// serde_json's `to_writer_pretty`, the reference.
#[cfg(test)]
struct SerdeJson;

#[cfg(test)]
impl Writes for SerdeJson {
    fn write<T: ?Sized + Serialize>(
        doc: &T,
        out: &mut Chunked<'_>,
    ) -> Result<(), serde_json::Error> {
        serde_json::to_writer_pretty(out, doc)
    }
}

/// Pretty-prints a streamed document (with its final newline) into `out`.
fn render_streamed<W: Writes, T: Serialize, E>(
    doc: &T,
    failed: impl FnOnce() -> Option<E>,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    if let Err(e) = W::write(doc, out) {
        return Err(match failed() {
            Some(read) => StreamError::Read(read),
            // Otherwise writing failed (the documents hold only what always serializes):
            // the error is the writer's.
            None => StreamError::Write(io::Error::from(e)),
        });
    }
    out.buf().push(b'\n');
    out.spill().map_err(StreamError::Write)
}

/// `-L --json` streamed: [`list_json`]'s document, each service's destinations read by `dests`
/// (given its position in `services` and an empty list) when its turn comes. A failed read
/// leaves the document cut where it was.
pub fn stream_list_json<E>(
    info: &Info,
    services: &[&ServiceEntry],
    dests: impl FnMut(usize, &mut Vec<DestinationEntry>) -> Result<(), E>,
    opts: &ListOptions,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    list_by::<Ours, E>(info, services, dests, opts, out)
}

fn list_by<W: Writes, E>(
    info: &Info,
    services: &[&ServiceEntry],
    dests: impl FnMut(usize, &mut Vec<DestinationEntry>) -> Result<(), E>,
    opts: &ListOptions,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    let streamed = Streamed {
        services,
        dests: RefCell::new(dests),
        failed: RefCell::new(None),
        sort: opts.sort,
        save: false,
    };
    let doc = ListDoc {
        info,
        services: &streamed,
    };
    render_streamed::<W, _, _>(&doc, || streamed.failed.take(), out)
}

/// `-S --json` streamed: [`save_json`]'s document, read as [`stream_list_json`] reads.
pub fn stream_save_json<E>(
    services: &[&ServiceEntry],
    dests: impl FnMut(usize, &mut Vec<DestinationEntry>) -> Result<(), E>,
    settings: Option<&ipvs::settings::Settings>,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    save_by::<Ours, E>(services, dests, settings, out)
}

fn save_by<W: Writes, E>(
    services: &[&ServiceEntry],
    dests: impl FnMut(usize, &mut Vec<DestinationEntry>) -> Result<(), E>,
    settings: Option<&ipvs::settings::Settings>,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    let streamed = Streamed {
        services,
        dests: RefCell::new(dests),
        failed: RefCell::new(None),
        sort: true,
        save: true,
    };
    let doc = SaveDoc {
        services: &streamed,
        timeouts: settings.and_then(|s| s.timeouts),
        sysctls: settings.map(|s| &s.sysctls),
        sync_daemons: settings.and_then(|s| s.sync_daemons.as_deref()),
    };
    render_streamed::<W, _, _>(&doc, || streamed.failed.take(), out)
}

/// The `connections` array of a streamed document: each connection is serialized as `next`
/// gives it. A failed read is kept in `failed` and ends the serialization.
struct StreamedConnections<F, E> {
    next: RefCell<F>,
    failed: RefCell<Option<E>>,
}

impl<F, E> Serialize for StreamedConnections<F, E>
where
    F: FnMut() -> Option<Result<Connection, E>>,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        let mut next = self.next.borrow_mut();
        while let Some(c) = (*next)() {
            match c {
                Ok(c) => seq.serialize_element(&c)?,
                Err(e) => {
                    *self.failed.borrow_mut() = Some(e);
                    return Err(serde::ser::Error::custom("reading the connections failed"));
                }
            }
        }
        seq.end()
    }
}

/// [`connections_json`]'s document streamed: each connection written as `next` reads it, so
/// that a table of any size is printed in the memory of one connection. A failed read leaves
/// the document cut where it was.
pub fn stream_connections_json<E>(
    next: impl FnMut() -> Option<Result<Connection, E>>,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    connections_by::<Ours, E>(next, out)
}

fn connections_by<W: Writes, E>(
    next: impl FnMut() -> Option<Result<Connection, E>>,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    let streamed = StreamedConnections {
        next: RefCell::new(next),
        failed: RefCell::new(None),
    };
    let doc = ConnectionsDoc {
        connections: &streamed,
    };
    render_streamed::<W, _, _>(&doc, || streamed.failed.take(), out)
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
    window: Option<f64>,
    #[serde(flatten)]
    info: &'a Info,
    services: Vec<Watched<'a>>,
}

#[derive(Serialize)]
struct ConnectionsDoc<C: Serialize> {
    connections: C,
}

#[derive(Serialize)]
struct DaemonsDoc<'a> {
    daemons: &'a [SyncDaemon],
}

/// Pretty-prints a document and adds the final newline.
fn render<T: Serialize>(doc: &T) -> String {
    render_by::<Ours, T>(doc)
}

/// A document of another command (`conns --count --json`) pretty-printed as serde_json's
/// `to_string_pretty` prints it, with the final newline.
pub(crate) fn pretty_document<T: Serialize>(doc: &T) -> String {
    render(doc)
}

fn render_by<W: Writes, T: Serialize>(doc: &T) -> String {
    let mut out = Chunked::keep();
    if W::write(doc, &mut out).is_ok() {
        out.buf().push(b'\n');
        return into_text(out, Ok(()));
    }
    // These documents hold only strings, numbers, arrays and string-keyed
    // objects, which always serialize; the fallback (serde_json's words for the error) is
    // never expected.
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
    let (entries, dests) = (held(servers), held_dests(servers));
    let mut out = Chunked::keep();
    let done = stream_list_json(info, &entries, dests, opts, &mut out);
    into_text(out, done)
}

/// `-S --json`: `{"services": [...]}` with the configuration only (no
/// statistics or connection counts), in ipvsadm's order. [`parse_save_json`]
/// reads it back.
///
/// [`parse_save_json`]: super::parse_save_json
pub fn save_json(servers: &[VirtualServer]) -> String {
    let (entries, dests) = (held(servers), held_dests(servers));
    let mut out = Chunked::keep();
    let done = stream_save_json(&entries, dests, None, &mut out);
    into_text(out, done)
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
/// previous one (`interval`, `null` at first), the time the rates span
/// (`window`, `null` until the reads span the kernel's fold period), and the
/// listing document whose services and destinations each have `rates` beside
/// `stats`.
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
        window: sample.window.map(|d| d.as_secs_f64()),
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

#[cfg(test)]
mod pretty_tests;
