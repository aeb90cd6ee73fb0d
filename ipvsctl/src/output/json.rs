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
use std::io::{self, Write};

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use serde_json::ser::Formatter;

use ipvs::conn::Connection;
use ipvs::sampler::{Rates, Sample};
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

/// A listed service: the library's serde form of a [`VirtualServer`], with
/// its destinations in the listing's order.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    entry: &'a ServiceEntry,
    destinations: InOrder<'a>,
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
                seq.serialize_element(&Listed {
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

/// serde_json's `PrettyFormatter` (2 spaces, the same bytes), writing each line break and its
/// indentation at once (serde_json's writes two bytes per level), and flushing the writer (a
/// [`Chunked`]: writing out what it keeps once past its chunk) after each element of an array.
///
/// Why not a wrapper that calls `PrettyFormatter` and adds the flush: measured with
/// `examples/format_cost.rs` (5,000 services of 5 destinations, callgrind's instruction count
/// of `list_json`/`save_json`), the wrapper costs 36% more instructions for `-L --json` (389.4M
/// against 285.6M for the same 19,049,374 bytes) and 24% more for `-S --json` (199.1M against
/// 160.8M); on 20,000 services the wall time is 10-12% more (173 against 157 ms, 76 against
/// 68 ms, medians of five), for byte-identical output; `pretty_tests` below holds the bytes to
/// serde_json's.
#[derive(Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
}

/// A line break and the indentation of up to 40 levels.
const BREAK: &[u8; 81] =
    b"\n                                                                                ";

impl Pretty {
    fn line<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        match BREAK.get(..1 + 2 * self.depth) {
            Some(b) => w.write_all(b),
            None => {
                w.write_all(b"\n")?;
                (0..self.depth).try_for_each(|_| w.write_all(b"  "))
            }
        }
    }
}

impl Pretty {
    /// `[` or `{`: one level deeper, nothing inside yet.
    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }
    /// `]` or `}`, on a line of its own when something was inside.
    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(w)?;
        }
        w.write_all(bracket)
    }
    /// Before an element or a key: a comma after the first, then its line.
    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.line(w)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.has_value = true;
        w.flush()
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Pretty-prints a streamed document (with its final newline) into `out`.
fn render_streamed<T: Serialize, E>(
    doc: &T,
    failed: impl FnOnce() -> Option<E>,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, Pretty::default());
    if let Err(e) = doc.serialize(&mut ser) {
        return Err(match failed() {
            Some(read) => StreamError::Read(read),
            // Otherwise writing failed (the documents hold only what always serializes):
            // serde_json gives back the writer's error.
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
    render_streamed(&doc, || streamed.failed.take(), out)
}

/// `-S --json` streamed: [`save_json`]'s document, read as [`stream_list_json`] reads.
pub fn stream_save_json<E>(
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
    render_streamed(&doc, || streamed.failed.take(), out)
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
    let streamed = StreamedConnections {
        next: RefCell::new(next),
        failed: RefCell::new(None),
    };
    let doc = ConnectionsDoc {
        connections: &streamed,
    };
    render_streamed(&doc, || streamed.failed.take(), out)
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
mod pretty_tests {
    use super::*;

    #[test]
    fn pretty_writes_what_serde_json_s_pretty_formatter_writes() {
        let mut deep = serde_json::json!([]);
        for i in 0..45 {
            deep = serde_json::json!({ "level": i, "in": [deep, {}, [], [1, {"a": []}]] });
        }
        let doc = serde_json::json!({
            "empty": {}, "none": [], "one": [1], "s": "x\"y", "deep": deep, "n": null
        });
        let theirs = serde_json::to_string_pretty(&doc).unwrap();
        let mut ours = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut ours, Pretty::default());
        doc.serialize(&mut ser).unwrap();
        assert!(String::from_utf8(ours).unwrap() == theirs);
    }
}
