//! `healthd --listen`: the exporter's metrics plus the health of every real server on
//! `/metrics`, the same as JSON on `/status`, served by `ipvs-serve` with the exporter's limits
//! on a thread of its own (its own runtime: a slow client never holds up the checks).
//!
//! The daemon publishes what it decided (a [`Board`], written when something changed); the
//! checks' counters are read from the scheduler at each request.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use ipvs::{Ipvs, ServiceKey};
use ipvs_health::scheduler::LATENESS_BOUNDS;
use ipvs_health::{Lateness, Outcome, Scheduler, SharedStatuses, State as Health, Status};
use ipvs_serve::http::{request::Parts, Method, StatusCode};
use ipvs_serve::{Bytes, Limits, Routes, Server, SingleFlight};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::config::{epoch, OnDown};
use crate::exporter::metrics::{
    self, counter, family, fgauge, gauge, push_dest_head, service_rendered, Format, Rendered,
    RenderedRef,
};
use crate::exporter::{answer, format_of, read_all};

/// A real server: its service, address and port (the daemon's key).
pub type Key = (ServiceKey, IpAddr, u16);

/// A real server as healthd last decided it.
#[derive(Debug, Clone)]
pub struct RealView {
    pub addr: IpAddr,
    pub port: u16,
    /// The check's type word, `None` without a check (always up).
    pub check: Option<&'static str>,
    /// The state healthd acted on (maintenance included).
    pub state: Health,
    /// When healthd last changed it (or first knew the server).
    pub since: SystemTime,
    /// The reason of the last change.
    pub reason: String,
    /// The weight healthd last set, `None` when it deleted the server.
    pub weight: Option<u32>,
    /// Its weight when up (the file's).
    pub file_weight: u32,
    pub maintenance: bool,
    pub draining: bool,
}

/// A sorry server as healthd last decided it.
#[derive(Debug, Clone)]
pub struct SorryView {
    pub addr: IpAddr,
    pub port: u16,
    /// The weight it should have now (0 while the quorum is up).
    pub wanted: u32,
    /// The weight healthd last set.
    pub weight: Option<u32>,
    pub since: SystemTime,
}

/// A service as healthd last decided it.
#[derive(Debug, Clone)]
pub struct ServiceView {
    pub key: ServiceKey,
    pub on_down: OnDown,
    pub quorum: u32,
    pub reals: Vec<RealView>,
    pub sorry: Option<SorryView>,
}

/// What the daemon publishes.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub services: Vec<ServiceView>,
    /// Checks healthd could not make (its own trouble), since it started.
    pub unchecked: u64,
    /// Reloads of the file: done, and refused (a bad file).
    pub reloads: u64,
    pub reload_failures: u64,
}

/// The daemon's view, shared with the server's thread: a read takes the one last published
/// (an `Arc`), it copies nothing of it.
#[derive(Default)]
pub struct Board(Mutex<Arc<View>>);

impl Board {
    fn lock(&self) -> MutexGuard<'_, Arc<View>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn publish(&self, view: View) {
        let old = std::mem::replace(&mut *self.lock(), Arc::new(view));
        // Freed out of the lock (or by the last read that still holds it).
        drop(old);
    }

    fn view(&self) -> Arc<View> {
        Arc::clone(&self.lock())
    }
}

/// Everything a request reads: the view and the checks' statuses (read in place, each under
/// its lock for its own part of the page) and lateness.
struct Read {
    view: Arc<View>,
    statuses: SharedStatuses<Key>,
    lateness: Lateness,
}

fn read(board: &Board, scheduler: &Scheduler<Key>) -> Read {
    Read {
        view: board.view(),
        statuses: scheduler.shared_statuses(),
        lateness: scheduler.lateness(),
    }
}

/// Binds ADDR (before anything changes: a wrong address fails first).
pub fn bind(listen: &str) -> Result<Server, String> {
    Server::bind(listen, Limits::default()).map_err(|e| format!("cannot listen: {e}"))
}

/// Serves from a thread of its own until the process ends; `ipvs` reads the tables for the
/// exporter's metrics (with the kernel's rate estimates when `rates`, `--rates`).
pub fn serve(
    server: Server,
    ipvs: Ipvs,
    rates: bool,
    board: Arc<Board>,
    scheduler: Arc<Scheduler<Key>>,
) -> Result<(), String> {
    let addr = server
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    eprintln!(
        "healthd: listening on http://{addr}/metrics and /status (at most {} connections)",
        server.max_connections()
    );
    let routes = routes(Arc::new(Served {
        handles: vec![(None, ipvs)],
        errors: Mutex::new(vec![0]),
        rates,
        board,
        scheduler,
        prometheus: SingleFlight::default(),
        openmetrics: SingleFlight::default(),
    }));
    std::thread::Builder::new()
        .name("healthd-http".into())
        .spawn(move || {
            // On a busy host, rendering /status or /metrics for thousands of real servers
            // (seconds of CPU in the test VM) must not take the CPU from the checks and make
            // them late: at nice 10 this thread still took a tenth of a busy CPU from them.
            // In SCHED_IDLE a read gets only the CPU the checks leave, so on a busy host a
            // read is slow, never a check. The locks it shares with the checks are held for
            // one real server at a time, and a check waiting on one leaves the CPU to it.
            // Best effort: without it, only the schedule suffers.
            crate::sys::idle_priority();
            let Err(e) = server.run(routes);
            eprintln!("healthd: serving {addr}: {e}");
        })
        .map_err(|e| format!("cannot start the HTTP thread: {e}"))?;
    Ok(())
}

struct Served {
    handles: Vec<(Option<String>, Ipvs)>,
    errors: Mutex<Vec<u64>>,
    rates: bool,
    board: Arc<Board>,
    scheduler: Arc<Scheduler<Key>>,
    prometheus: SingleFlight<Bytes>,
    openmetrics: SingleFlight<Bytes>,
}

fn routes(served: Arc<Served>) -> Routes {
    let m = Arc::clone(&served);
    let s = served;
    Routes::new()
        .route("/metrics", move |head| {
            let m = Arc::clone(&m);
            async move { metrics_page(m, head).await }
        })
        .route("/status", move |head| {
            let s = Arc::clone(&s);
            async move {
                if head.method == Method::HEAD {
                    return answer(StatusCode::OK, JSON, Bytes::new());
                }
                let body = ipvs_serve::blocking(move || {
                    let r = read(&s.board, &s.scheduler);
                    Bytes::from(status_body(&r, SystemTime::now()))
                })
                .await;
                match body {
                    Some(b) => answer(StatusCode::OK, JSON, b),
                    None => ipvs_serve::plain(StatusCode::INTERNAL_SERVER_ERROR, "failed\n"),
                }
            }
        })
        .route("/", |_| async {
            answer(
                StatusCode::OK,
                "text/html; charset=utf-8",
                Bytes::from_static(INDEX.as_bytes()),
            )
        })
}

const JSON: &str = "application/json";

const INDEX: &str = "<html><head><title>ipvsctl healthd</title></head><body>\
<h1>ipvsctl healthd</h1><p><a href=\"/metrics\">Metrics</a> <a href=\"/status\">Status</a></p>\
</body></html>\n";

async fn metrics_page(m: Arc<Served>, head: Parts) -> ipvs_serve::http::Response<Bytes> {
    let format = format_of(&head);
    if head.method == Method::HEAD {
        return answer(StatusCode::OK, format.content_type(), Bytes::new());
    }
    let flight = match format {
        Format::Prometheus => &m.prometheus,
        Format::OpenMetrics => &m.openmetrics,
    };
    let me = Arc::clone(&m);
    // Requests that arrive during a read share it (as the exporter's do).
    let body = flight
        .get(move || {
            let snapshot = read_all(&me.handles, &me.errors);
            let health = Box::new(HealthRows(read(&me.board, &me.scheduler)));
            Bytes::from(metrics::encode_with(
                &snapshot,
                format,
                None,
                me.rates,
                Some(health),
            ))
        })
        .await;
    match body {
        Some(b) => answer(StatusCode::OK, format.content_type(), (*b).clone()),
        None => ipvs_serve::plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reading the IPVS tables failed\n",
        ),
    }
}

fn outcome_word(o: &Outcome) -> &'static str {
    match o {
        Outcome::Up(_) => "up",
        Outcome::Down(_) => "down",
        Outcome::Unchecked(_) => "unchecked",
    }
}

fn on_down_word(o: OnDown) -> &'static str {
    match o {
        OnDown::Weight0 => "weight0",
        OnDown::Remove => "remove",
    }
}

/// A JSON text written straight into one buffer: no value per field.
struct JsonText(Vec<u8>);

impl JsonText {
    fn raw(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    fn int(&mut self, v: impl itoa::Integer) {
        self.raw(itoa::Buffer::new().format(v));
    }

    /// As serde_json writes an `f64` (`null` when not finite, as a `Value` of it).
    fn float(&mut self, v: f64) {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.0, &v);
    }

    /// A string, quoted and escaped by serde_json.
    fn str(&mut self, s: &str) {
        let _ = serde_json::to_writer(&mut self.0, s);
    }

    fn bool(&mut self, b: bool) {
        self.raw(if b { "true" } else { "false" });
    }

    fn weight(&mut self, w: Option<u32>) {
        match w {
            Some(w) => self.int(w),
            None => self.raw("null"),
        }
    }

    /// `"ADDR:PORT"` as [`server_name`](super::config::server_name) names it (nothing in it
    /// to escape).
    fn server(&mut self, addr: IpAddr, port: u16) {
        let _ = write!(self.0, "\"{}\"", SocketAddr::new(addr, port));
    }
}

/// `/status`'s body and a newline: each service, each real server (its state, since when,
/// why, the weight set, its check's counters and last result), and the sorry server. Written
/// straight into one buffer, each check's status read under its lock for its own part only.
/// The keys are in alphabetical order, as the `serde_json::Value` that the page was first
/// built as wrote them (test `status_body_is_the_value_documents_bytes`).
fn status_body(r: &Read, now: SystemTime) -> Vec<u8> {
    let v = &*r.view;
    let reals: usize = v.services.iter().map(|s| s.reals.len()).sum();
    let mut w = JsonText(Vec::with_capacity(
        420 * reals + 300 * v.services.len() + 128,
    ));
    let mut name = String::new();
    w.raw("{\"reload_failures\":");
    w.int(v.reload_failures);
    w.raw(",\"reloads\":");
    w.int(v.reloads);
    w.raw(",\"services\":[");
    for (i, s) in v.services.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        w.raw("{\"on_down\":");
        w.str(on_down_word(s.on_down));
        w.raw(",\"quorum\":");
        w.int(s.quorum);
        w.raw(",\"real_servers\":[");
        for (j, x) in s.reals.iter().enumerate() {
            if j > 0 {
                w.raw(",");
            }
            w.raw("{\"check\":");
            match x.check {
                None => w.raw("null"),
                Some(t) => {
                    let key = (s.key, x.addr, x.port);
                    let written = r.statuses.read(&key, |st| check_json(&mut w, t, Some(st)));
                    if written.is_none() {
                        check_json(&mut w, t, None);
                    }
                }
            }
            w.raw(",\"destination\":");
            w.server(x.addr, x.port);
            w.raw(",\"draining\":");
            w.bool(x.draining);
            w.raw(",\"file_weight\":");
            w.int(x.file_weight);
            w.raw(",\"in_table\":");
            w.bool(x.weight.is_some());
            w.raw(",\"maintenance\":");
            w.bool(x.maintenance);
            w.raw(",\"reason\":");
            w.str(&x.reason);
            w.raw(",\"since\":");
            w.float(epoch(x.since));
            w.raw(",\"state\":");
            w.str(x.state.as_str());
            w.raw(",\"weight\":");
            w.weight(x.weight);
            w.raw("}");
        }
        w.raw("],\"service\":");
        name.clear();
        let _ = write!(name, "{}", s.key);
        w.str(&name);
        w.raw(",\"sorry_server\":");
        match &s.sorry {
            None => w.raw("null"),
            Some(x) => {
                w.raw("{\"destination\":");
                w.server(x.addr, x.port);
                w.raw(",\"since\":");
                w.float(epoch(x.since));
                w.raw(",\"state\":");
                w.str(if x.wanted > 0 { "up" } else { "down" });
                w.raw(",\"weight\":");
                w.weight(x.weight);
                w.raw("}");
            }
        }
        w.raw(",\"up\":");
        w.int(s.reals.iter().filter(|x| x.state == Health::Up).count());
        w.raw("}");
    }
    w.raw("],\"time\":");
    w.float(epoch(now));
    w.raw(",\"unchecked\":");
    w.int(v.unchecked);
    w.raw("}\n");
    w.0
}

/// A real server's `check` in `/status`: its type word `t`, and its status's counters and
/// last result (`None`: not in the scheduler yet).
fn check_json(w: &mut JsonText, t: &str, st: Option<&Status>) {
    w.raw("{\"checks\":");
    w.int(st.map_or(0, |st| st.checks));
    w.raw(",\"failures\":");
    w.int(st.map_or(0, |st| st.failures.values().sum::<u64>()));
    w.raw(",\"last\":");
    match st.and_then(|st| st.last.as_ref()) {
        None => w.raw("null"),
        Some(l) => {
            w.raw("{\"reason\":");
            w.str(l.outcome.reason());
            w.raw(",\"result\":");
            w.str(outcome_word(&l.outcome));
            w.raw(",\"took\":");
            w.float(l.took.as_secs_f64());
            w.raw("}");
        }
    }
    w.raw(",\"state\":");
    w.str(st.map_or("unknown", |st| st.health.state().as_str()));
    w.raw(",\"transitions\":");
    w.int(st.map_or(0, |st| st.transitions));
    w.raw(",\"type\":");
    w.str(t);
    w.raw(",\"unchecked\":");
    w.int(st.map_or(0, |st| st.unchecked));
    w.raw("}");
}

/// The health series, encoded after the exporter's (the same service and destination labels).
struct HealthRows(Read);

impl fmt::Debug for HealthRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HealthRows")
    }
}

/// Where a row's labels are in the rows' one text: `head` from `.0` to `.1`, `last` from `.1`
/// to `.2` (as [`Rendered`]).
#[derive(Clone, Copy)]
struct Span(usize, usize, usize);

impl Span {
    fn of(self, text: &str) -> RenderedRef<'_> {
        RenderedRef {
            head: text.get(self.0..self.1).unwrap_or(""),
            last: text.get(self.1..self.2).unwrap_or(""),
        }
    }
}

/// A checked real server's counters, as its status showed them when its rows were made.
struct Checked {
    checks: u64,
    transitions: u64,
    /// The last check's time, `None` before the first.
    took: Option<f64>,
}

/// A real server's rows: its labels, its view and its check's counters.
struct RealRow<'a> {
    labels: RenderedRef<'a>,
    view: &'a RealView,
    checked: Option<Checked>,
}

impl Collector for HealthRows {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        use MetricType::{Counter, Gauge};
        let r = &self.0;
        let e = &mut enc;
        // Every row's labels in one text, each status read once under its lock: no strings
        // and no copy of a status per real server.
        let reals_n: usize = r.view.services.iter().map(|s| s.reals.len()).sum();
        let mut text = String::with_capacity(200 * reals_n + 100 * r.view.services.len());
        let mut service_spans = Vec::with_capacity(r.view.services.len());
        let mut real_spans = Vec::with_capacity(reals_n);
        let mut error_spans = Vec::new();
        let mut port = itoa::Buffer::new();
        for s in &r.view.services {
            let sl = service_rendered(None, &s.key);
            let closed = sl.closed();
            let a = text.len();
            text.push_str(&sl.head);
            let b = text.len();
            text.push_str(&sl.last);
            let up = s.reals.iter().filter(|x| x.state == Health::Up).count();
            service_spans.push((
                Span(a, b, text.len()),
                i64::try_from(up).unwrap_or(i64::MAX),
            ));
            for x in &s.reals {
                let port = port.format(x.port);
                // [`dest_labels`](metrics::dest_labels) of the service's closed labels (a
                // port has nothing to escape).
                let dest = |text: &mut String| push_dest_head(text, &closed, Some(x.addr));
                let a = text.len();
                dest(&mut text);
                let b = text.len();
                text.push_str(port);
                let span = Span(a, b, text.len());
                let checked = r.statuses.read(&(s.key, x.addr, x.port), |st| {
                    for (reason, n) in &st.failures {
                        // The real server's labels closed, and the reason.
                        let a = text.len();
                        dest(&mut text);
                        text.push_str("=\"");
                        text.push_str(port);
                        text.push_str("\",reason");
                        let b = text.len();
                        text.push_str(reason);
                        error_spans.push((Span(a, b, text.len()), *n));
                    }
                    Checked {
                        checks: st.checks,
                        transitions: st.transitions,
                        took: st.last.as_ref().map(|l| l.took.as_secs_f64()),
                    }
                });
                real_spans.push((span, x, checked));
            }
        }
        let text = text.as_str();
        let services: Vec<(RenderedRef, i64)> = service_spans
            .into_iter()
            .map(|(span, up)| (span.of(text), up))
            .collect();
        let reals: Vec<RealRow> = real_spans
            .into_iter()
            .map(|(span, view, checked)| RealRow {
                labels: span.of(text),
                view,
                checked,
            })
            .collect();
        let errors: Vec<(RenderedRef, u64)> = error_spans
            .into_iter()
            .map(|(span, n)| (span.of(text), n))
            .collect();
        let known: Vec<&RealRow> = reals
            .iter()
            .filter(|x| x.view.state != Health::Unknown)
            .collect();
        family(
            e,
            "ipvs_backend_up",
            "1 when healthd has the real server up, 0 down (no sample before its first verdict).",
            Gauge,
            known.iter().copied(),
            |x| &x.labels,
            |x| gauge(i64::from(x.view.state == Health::Up)),
        )?;
        family(
            e,
            "ipvs_backend_state_since_seconds",
            "When healthd last changed the real server's state (or first knew it), Unix time.",
            Gauge,
            &reals,
            |x| &x.labels,
            |x| fgauge(epoch(x.view.since)),
        )?;
        family(
            e,
            "ipvs_backend_maintenance",
            "1 when the maintenance directory forces the real server down.",
            Gauge,
            &reals,
            |x| &x.labels,
            |x| gauge(i64::from(x.view.maintenance)),
        )?;
        let checked: Vec<(&RealRow, &Checked)> = reals
            .iter()
            .filter_map(|x| x.checked.as_ref().map(|c| (x, c)))
            .collect();
        family(
            e,
            "ipvs_backend_check_duration_seconds",
            "Time the real server's last check took.",
            Gauge,
            checked.iter().filter(|(_, c)| c.took.is_some()),
            |x| &x.0.labels,
            |x| fgauge(x.1.took.unwrap_or(0.0)),
        )?;
        family(
            e,
            "ipvs_backend_checks",
            "Checks made of the real server.",
            Counter,
            &checked,
            |x| &x.0.labels,
            |x| counter(x.1.checks),
        )?;
        family(
            e,
            "ipvs_backend_check_transitions",
            "Changes of the real server's check state (up, down).",
            Counter,
            &checked,
            |x| &x.0.labels,
            |x| counter(x.1.transitions),
        )?;
        family(
            e,
            "ipvs_backend_check_errors",
            "Checks of the real server that did not pass (down, or healthd could not check), by reason.",
            Counter,
            &errors,
            |x| &x.0,
            |x| counter(x.1),
        )?;
        family(
            e,
            "ipvs_service_backends_up",
            "Real servers of the service that healthd has up (the sorry server not counted).",
            Gauge,
            &services,
            |x| &x.0,
            |x| gauge(x.1),
        )?;
        let none = [Rendered::default()];
        family(
            e,
            "ipvs_healthd_unchecked_checks",
            "Checks healthd could not make (its own trouble, not the servers').",
            Counter,
            &none,
            |x| x,
            |_| counter(r.view.unchecked),
        )?;
        let reloads = [
            (
                Rendered {
                    head: "result".into(),
                    last: "applied".into(),
                },
                r.view.reloads,
            ),
            (
                Rendered {
                    head: "result".into(),
                    last: "refused".into(),
                },
                r.view.reload_failures,
            ),
        ];
        family(
            e,
            "ipvs_healthd_reloads",
            "Re-reads of the rules file: applied, or refused (the running configuration stayed).",
            Counter,
            &reloads,
            |x| &x.0,
            |x| counter(x.1),
        )?;
        // Whether every schedule is kept: how late each check started against it.
        let l = &r.lateness;
        let buckets: Vec<(f64, u64)> = LATENESS_BOUNDS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(l.buckets.iter().copied())
            .collect();
        e.encode_descriptor(
            "ipvs_healthd_check_lateness_seconds",
            "How late checks started against their schedule (one interval after the last one, or after its start when it was late).",
            None,
            MetricType::Histogram,
        )?
        .encode_histogram::<NoLabelSet>(l.sum, l.count, &buckets, None)?;
        Ok(())
    }
}

#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::reference::Before;
    use super::*;
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// A view and statuses with every kind of entry: real servers checked, unchecked (no
    /// check), not yet in the scheduler, without a last result, up, down and not checked
    /// (`Unchecked`), deleted (`weight` null), in maintenance, draining; IPv4, IPv6 and fwmark
    /// services, with and without a sorry server (wanted and not); reasons that JSON and the
    /// label values must escape.
    fn fixture() -> (View, Vec<(Key, Status)>, Lateness) {
        let key = ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80);
        let key6 = ServiceKey::tcp("2001:db8::100".parse().unwrap(), 443);
        let fwm = ServiceKey::fwmark(7, ipvs::Family::Inet);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let real = |last: u8, state, check| RealView {
            addr: IpAddr::from([192, 168, 10, last]),
            port: 80,
            check,
            state,
            since: at,
            reason: "http: status 503".into(),
            weight: Some(0),
            file_weight: 2,
            maintenance: false,
            draining: false,
        };
        let status = |checks, last: Option<Outcome>| Status {
            health: ipvs_health::Health::new(2, 2),
            checks,
            unchecked: 1,
            transitions: 1,
            changed_at: Some(at),
            last: last.map(|outcome| ipvs_health::Report {
                outcome,
                took: Duration::from_millis(3),
            }),
            failures: BTreeMap::new(),
        };
        let mut down = status(7, Some(Outcome::Down("http: status 503".into())));
        down.failures.insert("http: status 503".into(), 3);
        down.failures.insert("say \"hi\"".into(), 1);
        let weird = "a \"quoted\" \\ back\nslash\ttab \u{1} control, é ✓ 🦀 </script>";
        let mut up6 = status(12, Some(Outcome::Up("connect: ok".into())));
        up6.health = ipvs_health::Health::starting(Health::Up, 1, 1);
        up6.failures.insert(weird.into(), 2);
        let mut unchecked = status(3, Some(Outcome::Unchecked(weird.into())));
        unchecked.failures.insert(weird.into(), 3);
        let v6 = |last: u16| -> IpAddr { format!("2001:db8::{last}").parse().unwrap() };
        let statuses = vec![
            ((key, IpAddr::from([192, 168, 10, 11]), 80), down),
            ((key6, v6(11), 8443), up6),
            ((key6, v6(12), 8443), status(0, None)),
            ((fwm, IpAddr::from([192, 168, 10, 21]), 0), unchecked),
        ];
        let view = View {
            services: vec![
                ServiceView {
                    key,
                    on_down: OnDown::Weight0,
                    quorum: 1,
                    reals: vec![
                        real(11, Health::Down, Some("http")),
                        real(12, Health::Up, None),
                        real(13, Health::Unknown, Some("http")),
                    ],
                    sorry: None,
                },
                ServiceView {
                    key: key6,
                    on_down: OnDown::Remove,
                    quorum: 2,
                    reals: vec![
                        RealView {
                            addr: v6(11),
                            port: 8443,
                            check: Some("tcp"),
                            state: Health::Up,
                            since: at + Duration::from_millis(1),
                            reason: weird.into(),
                            weight: Some(65535),
                            file_weight: 65535,
                            maintenance: false,
                            draining: true,
                        },
                        RealView {
                            addr: v6(12),
                            port: 8443,
                            check: Some("tcp"),
                            state: Health::Down,
                            since: SystemTime::UNIX_EPOCH,
                            reason: "maintenance".into(),
                            weight: None,
                            file_weight: 0,
                            maintenance: true,
                            draining: false,
                        },
                    ],
                    sorry: Some(SorryView {
                        addr: v6(99),
                        port: 8443,
                        wanted: 0,
                        weight: None,
                        since: at,
                    }),
                },
                ServiceView {
                    key: fwm,
                    on_down: OnDown::Weight0,
                    quorum: 0,
                    reals: vec![RealView {
                        port: 0,
                        ..real(21, Health::Up, Some("exec"))
                    }],
                    sorry: Some(SorryView {
                        addr: IpAddr::from([192, 168, 10, 99]),
                        port: 0,
                        wanted: 3,
                        weight: Some(3),
                        since: at + Duration::from_millis(999),
                    }),
                },
                ServiceView {
                    key: ServiceKey::udp("10.0.0.53".parse().unwrap(), 53),
                    on_down: OnDown::Remove,
                    quorum: 1,
                    reals: vec![],
                    sorry: None,
                },
            ],
            unchecked: 1,
            reloads: 2,
            reload_failures: 1,
        };
        let lateness = {
            let mut l = Lateness::default();
            l.record(Duration::from_micros(500));
            l.record(Duration::from_millis(3));
            l.record(Duration::from_millis(4));
            l.record(Duration::from_secs(12));
            l
        };
        (view, statuses, lateness)
    }

    /// A read of the fixture, as a request makes one now.
    fn read_of((view, statuses, lateness): (View, Vec<(Key, Status)>, Lateness)) -> Read {
        Read {
            view: Arc::new(view),
            statuses: statuses.into_iter().collect(),
            lateness,
        }
    }

    /// The same, as a read was before (copies of everything).
    fn before_of((view, statuses, lateness): (View, Vec<(Key, Status)>, Lateness)) -> Before {
        Before {
            view,
            statuses: statuses.into_iter().collect(),
            lateness,
        }
    }

    #[test]
    fn health_metrics_carry_the_exporters_labels() {
        let snap = metrics::Snapshot {
            namespaces: vec![],
            duration: 0.0,
        };
        let text = metrics::encode_with(
            &snap,
            Format::Prometheus,
            None,
            false,
            Some(Box::new(HealthRows(read_of(fixture())))),
        );
        let l = r#"local_address="10.0.0.100",local_port="80",proto="TCP",local_mark="",remote_address="192.168.10"#;
        for want in [
            format!("ipvs_backend_up{{{l}.11\",remote_port=\"80\"}} 0"),
            format!("ipvs_backend_up{{{l}.12\",remote_port=\"80\"}} 1"),
            format!("ipvs_backend_checks_total{{{l}.11\",remote_port=\"80\"}} 7"),
            format!("ipvs_backend_check_transitions_total{{{l}.11\",remote_port=\"80\"}} 1"),
            format!(
                "ipvs_backend_check_errors_total{{{l}.11\",remote_port=\"80\",reason=\"http: status 503\"}} 3"
            ),
            format!(
                "ipvs_backend_check_errors_total{{{l}.11\",remote_port=\"80\",reason=\"say \\\"hi\\\"\"}} 1"
            ),
            format!("ipvs_backend_check_duration_seconds{{{l}.11\",remote_port=\"80\"}} 0.003"),
            r#"ipvs_service_backends_up{local_address="10.0.0.100",local_port="80",proto="TCP",local_mark=""} 1"#.to_string(),
            "ipvs_healthd_unchecked_checks_total 1".into(),
            "ipvs_healthd_reloads_total{result=\"refused\"} 1".into(),
            "ipvs_healthd_check_lateness_seconds_count 4".into(),
            "ipvs_healthd_check_lateness_seconds_bucket{le=\"0.001\"} 1".into(),
            "ipvs_healthd_check_lateness_seconds_bucket{le=\"0.005\"} 3".into(),
            "ipvs_healthd_check_lateness_seconds_bucket{le=\"10\"} 3".into(),
            "ipvs_healthd_check_lateness_seconds_bucket{le=\"+Inf\"} 4".into(),
        ] {
            assert!(text.lines().any(|x| x == want), "{want}\nnot in\n{text}");
        }
        assert!(
            !text.contains(&format!("ipvs_backend_up{{{l}.13\"")),
            "no up sample before the first verdict:\n{text}"
        );
    }

    #[test]
    fn status_json_has_each_real_server() {
        let body = status_body(&read_of(fixture()), SystemTime::UNIX_EPOCH);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let s = &v["services"][0];
        assert_eq!(s["service"], "TCP 10.0.0.100:80");
        assert_eq!(s["up"], 1);
        let r = &s["real_servers"][0];
        assert_eq!(r["destination"], "192.168.10.11:80");
        assert_eq!(r["state"], "down");
        assert_eq!(r["since"], 1_700_000_000.0);
        assert_eq!(r["weight"], 0);
        assert_eq!(r["check"]["checks"], 7);
        assert_eq!(r["check"]["failures"], 4);
        assert_eq!(r["check"]["last"]["result"], "down");
        assert_eq!(s["real_servers"][1]["check"], serde_json::Value::Null);
        assert_eq!(s["real_servers"][2]["state"], "unknown");
        assert_eq!(v["reload_failures"], 1);
        let s6 = &v["services"][1];
        assert_eq!(s6["real_servers"][0]["destination"], "[2001:db8::11]:8443");
        assert_eq!(s6["real_servers"][1]["in_table"], false);
        assert_eq!(s6["sorry_server"]["state"], "down");
    }

    #[test]
    fn status_body_is_the_value_documents_bytes() {
        for now in [
            SystemTime::UNIX_EPOCH,
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_765_432_109_876),
        ] {
            let new = status_body(&read_of(fixture()), now);
            let old = super::reference::status_json(&before_of(fixture()), now);
            let new = String::from_utf8(new).expect("UTF-8");
            assert_eq!(new, format!("{old}\n"));
            // And it is that document.
            let parsed: serde_json::Value = serde_json::from_str(&new).unwrap();
            assert_eq!(parsed, old);
        }
        // A real server whose check the scheduler does not have yet, and one without a check.
        let v: serde_json::Value =
            serde_json::from_slice(&status_body(&read_of(fixture()), SystemTime::now())).unwrap();
        let reals = &v["services"][0]["real_servers"];
        assert_eq!(reals[2]["check"]["state"], "unknown");
        assert_eq!(reals[2]["check"]["last"], serde_json::Value::Null);
        assert_eq!(reals[1]["check"], serde_json::Value::Null);
        let weird = &v["services"][1]["real_servers"][0]["reason"];
        assert!(weird
            .as_str()
            .unwrap()
            .contains("\"quoted\" \\ back\nslash\ttab \u{1}"));
    }

    #[test]
    fn health_rows_are_the_bytes_of_before() {
        let snap = metrics::Snapshot {
            namespaces: vec![],
            duration: 0.0,
        };
        for format in [Format::Prometheus, Format::OpenMetrics] {
            let new = metrics::encode_with(
                &snap,
                format,
                None,
                false,
                Some(Box::new(HealthRows(read_of(fixture())))),
            );
            let old = metrics::encode_with(
                &snap,
                format,
                None,
                false,
                Some(Box::new(before_of(fixture()))),
            );
            assert_eq!(new, old);
            assert!(
                new.contains("reason=\"a \\\"quoted\\\" \\\\ back\\nslash"),
                "{new}"
            );
            assert!(
                new.contains(
                    "local_mark=\"00000007\",remote_address=\"192.168.10.21\",remote_port=\"0\""
                ),
                "{new}"
            );
        }
    }

    /// 2,500 services x 4 real servers (the bench's load), every one checked over TCP (each
    /// check refused, as in the bench), a sorry server for every tenth service.
    fn big_view() -> View {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_765_000_000_123);
        let services = (0..2500u16)
            .map(|s| {
                let key = ServiceKey::tcp(
                    IpAddr::from([10, 79, (s / 250) as u8, (s % 250) as u8 + 1]),
                    80,
                );
                ServiceView {
                    key,
                    on_down: OnDown::Weight0,
                    quorum: 1,
                    reals: (0..4u16)
                        .map(|d| RealView {
                            addr: IpAddr::from([127, 0, 0, 1]),
                            port: 10000 + s * 4 + d,
                            check: Some("tcp"),
                            state: Health::Down,
                            since: at,
                            reason: "connect: connection refused".into(),
                            weight: Some(0),
                            file_weight: 1,
                            maintenance: false,
                            draining: false,
                        })
                        .collect(),
                    sorry: (s % 10 == 0).then(|| SorryView {
                        addr: IpAddr::from([10, 78, 0, 12]),
                        port: 80,
                        wanted: 1,
                        weight: Some(1),
                        since: at,
                    }),
                }
            })
            .collect();
        View {
            services,
            unchecked: 0,
            reloads: 0,
            reload_failures: 0,
        }
    }

    /// What one read of 10,000 real servers costs on this host, by part (not a test of time:
    /// it prints, it asserts only that each part made something):
    ///
    ///     cargo test --release -p ipvsctl --lib read_cost -- --ignored --nocapture
    #[test]
    #[ignore = "a measurement; run it by name with --ignored --nocapture"]
    fn read_cost_of_10000_real_servers() {
        use std::time::Instant;
        let view = big_view();
        let board = Arc::new(Board::default());
        board.publish(view.clone());
        // The scheduler on a thread of its own, checking every real server every second (on
        // 127.0.0.1, where nobody listens: refused, as in the bench), as the HTTP thread
        // reads.
        let (tx, rx) = std::sync::mpsc::channel();
        let targets: Vec<(Key, u16)> = view
            .services
            .iter()
            .flat_map(|s| s.reals.iter().map(|x| ((s.key, x.addr, x.port), x.port)))
            .collect();
        std::thread::spawn(move || {
            let rt = super::super::daemon::runtime().unwrap();
            rt.block_on(async move {
                let (scheduler, mut events) = Scheduler::<Key>::new();
                let check = ipvs_health::read_check(
                    &serde_json::json!({"type": "tcp", "interval": 1, "timeout": 0.5}),
                    "check",
                )
                .unwrap()
                .unwrap();
                for (key, port) in targets {
                    let target = ipvs_health::Target {
                        service: key.0.to_string(),
                        server: std::net::SocketAddr::new(key.1, port),
                    };
                    scheduler.insert(key, target, check.clone());
                }
                tx.send(Arc::new(scheduler)).unwrap();
                while events.recv().await.is_some() {}
            });
        });
        let scheduler = rx.recv().unwrap();
        // Every real server checked at least once (the first checks spread over 1 s).
        std::thread::sleep(Duration::from_millis(2500));
        let best = |what: &str, f: &mut dyn FnMut() -> usize| {
            let mut times = Vec::new();
            let mut size = 0;
            for _ in 0..7 {
                let t = Instant::now();
                size = f();
                times.push(t.elapsed());
            }
            times.sort();
            assert!(size > 0, "{what}");
            println!(
                "{what}: best {:.2} ms, median {:.2} ms ({size})",
                times[0].as_secs_f64() * 1e3,
                times[3].as_secs_f64() * 1e3
            );
        };
        let empty = metrics::Snapshot {
            namespaces: vec![],
            duration: 0.0,
        };
        // Before: the view and every status copied, /status a serde_json::Value.
        let before = || Before {
            view: View::clone(&board.view()),
            statuses: scheduler.statuses().into_iter().collect(),
            lateness: scheduler.lateness(),
        };
        best("before: the view copied", &mut || {
            View::clone(&board.view()).services.len()
        });
        best("before: the statuses copied", &mut || {
            before().statuses.len()
        });
        best("before: /status, one read, whole", &mut || {
            let r = before();
            let mut text = super::reference::status_json(&r, SystemTime::now()).to_string();
            text.push('\n');
            text.len()
        });
        best(
            "before: /metrics' health rows, one read, whole",
            &mut || {
                let health = Box::new(before());
                metrics::encode_with(&empty, Format::Prometheus, None, false, Some(health)).len()
            },
        );
        best("now: the view taken (Board::view)", &mut || {
            board.view().services.len()
        });
        best(
            "now: the statuses taken (Scheduler::shared_statuses)",
            &mut || read(&board, &scheduler).statuses.len(),
        );
        best("now: /status, one read, whole", &mut || {
            let r = read(&board, &scheduler);
            status_body(&r, SystemTime::now()).len()
        });
        best("now: /metrics' health rows, one read, whole", &mut || {
            let health = Box::new(HealthRows(read(&board, &scheduler)));
            metrics::encode_with(&empty, Format::Prometheus, None, false, Some(health)).len()
        });
    }
}
