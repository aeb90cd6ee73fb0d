//! `healthd --listen`: the exporter's metrics plus the health of every real server on
//! `/metrics`, the same as JSON on `/status`, served by `ipvs-serve` with the exporter's limits
//! on a thread of its own (its own runtime: a slow client never holds up the checks).
//!
//! The daemon publishes what it decided (a [`Board`], written when something changed); the
//! checks' counters are read from the scheduler at each request.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use ipvs::{Ipvs, ServiceKey};
use ipvs_health::scheduler::LATENESS_BOUNDS;
use ipvs_health::{Lateness, Outcome, Scheduler, State as Health, Status};
use ipvs_serve::http::{request::Parts, Method, StatusCode};
use ipvs_serve::{Bytes, Limits, Routes, Server, SingleFlight};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::config::{epoch, server_name, OnDown};
use crate::exporter::metrics::{
    self, counter, dest_labels, family, fgauge, gauge, service_labels, Format, Rendered,
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

/// The daemon's view, shared with the server's thread.
#[derive(Default)]
pub struct Board(Mutex<View>);

impl Board {
    fn lock(&self) -> MutexGuard<'_, View> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn publish(&self, view: View) {
        *self.lock() = view;
    }

    fn view(&self) -> View {
        self.lock().clone()
    }
}

/// Everything a request reads: the view and the checks' counters.
struct Read {
    view: View,
    statuses: BTreeMap<Key, Status>,
    lateness: Lateness,
}

fn read(board: &Board, scheduler: &Scheduler<Key>) -> Read {
    Read {
        view: board.view(),
        statuses: scheduler.statuses().into_iter().collect(),
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

/// `/status`'s body: [`status_json`] and a newline.
fn status_body(r: &Read, now: SystemTime) -> String {
    let mut text = status_json(r, now).to_string();
    text.push('\n');
    text
}

/// `/status`: each service, each real server (its state, since when, why, the weight set,
/// its check's counters and last result), and the sorry server.
fn status_json(r: &Read, now: SystemTime) -> serde_json::Value {
    use serde_json::json;
    let services: Vec<_> = r
        .view
        .services
        .iter()
        .map(|s| {
            let reals: Vec<_> = s
                .reals
                .iter()
                .map(|x| {
                    let check = x.check.map(|t| {
                        let st = r.statuses.get(&(s.key, x.addr, x.port));
                        json!({
                            "type": t,
                            "state": st.map_or("unknown", |st| st.health.state().as_str()),
                            "checks": st.map_or(0, |st| st.checks),
                            "failures": st.map_or(0, |st| st.failures.values().sum::<u64>()),
                            "unchecked": st.map_or(0, |st| st.unchecked),
                            "transitions": st.map_or(0, |st| st.transitions),
                            "last": st.and_then(|st| st.last.as_ref()).map(|l| json!({
                                "result": outcome_word(&l.outcome),
                                "reason": l.outcome.reason(),
                                "took": l.took.as_secs_f64(),
                            })),
                        })
                    });
                    json!({
                        "destination": server_name(x.addr, x.port),
                        "state": x.state.as_str(),
                        "since": epoch(x.since),
                        "reason": x.reason,
                        "weight": x.weight,
                        "file_weight": x.file_weight,
                        "in_table": x.weight.is_some(),
                        "maintenance": x.maintenance,
                        "draining": x.draining,
                        "check": check,
                    })
                })
                .collect();
            let up = s.reals.iter().filter(|x| x.state == Health::Up).count();
            json!({
                "service": s.key.to_string(),
                "on_down": on_down_word(s.on_down),
                "quorum": s.quorum,
                "up": up,
                "real_servers": reals,
                "sorry_server": s.sorry.as_ref().map(|x| json!({
                    "destination": server_name(x.addr, x.port),
                    "state": if x.wanted > 0 { "up" } else { "down" },
                    "since": epoch(x.since),
                    "weight": x.weight,
                })),
            })
        })
        .collect();
    json!({
        "time": epoch(now),
        "unchecked": r.view.unchecked,
        "reloads": r.view.reloads,
        "reload_failures": r.view.reload_failures,
        "services": services,
    })
}

/// The health series, encoded after the exporter's (the same service and destination labels).
struct HealthRows(Read);

impl fmt::Debug for HealthRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HealthRows")
    }
}

/// A real server's rows: its labels, its view and its check's status.
struct RealRow<'a> {
    labels: Rendered,
    view: &'a RealView,
    status: Option<&'a Status>,
}

impl Collector for HealthRows {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        use MetricType::{Counter, Gauge};
        let r = &self.0;
        let e = &mut enc;
        let mut services = Vec::new();
        let mut reals = Vec::new();
        for s in &r.view.services {
            let sl = Rendered::of(&service_labels(None, &s.key));
            let closed = sl.closed();
            let up = s.reals.iter().filter(|x| x.state == Health::Up).count();
            services.push((sl, i64::try_from(up).unwrap_or(i64::MAX)));
            for x in &s.reals {
                reals.push(RealRow {
                    labels: dest_labels(&closed, Some(x.addr), Some(x.port)),
                    view: x,
                    status: r.statuses.get(&(s.key, x.addr, x.port)),
                });
            }
        }
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
        let checked: Vec<(&RealRow, &Status)> = reals
            .iter()
            .filter_map(|x| x.status.map(|s| (x, s)))
            .collect();
        family(
            e,
            "ipvs_backend_check_duration_seconds",
            "Time the real server's last check took.",
            Gauge,
            checked.iter().filter(|(_, s)| s.last.is_some()),
            |x| &x.0.labels,
            |x| fgauge(x.1.last.as_ref().map_or(0.0, |l| l.took.as_secs_f64())),
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
        let errors: Vec<(Rendered, u64)> = checked
            .iter()
            .flat_map(|(x, s)| {
                let head = format!("{}reason", x.labels.closed());
                s.failures.iter().map(move |(reason, n)| {
                    (
                        Rendered {
                            head: head.clone(),
                            last: reason.clone(),
                        },
                        *n,
                    )
                })
            })
            .collect();
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
mod tests {
    use super::*;
    use std::time::Duration;

    fn fixture() -> Read {
        let key = ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80);
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
        let mut status = Status {
            health: ipvs_health::Health::new(2, 2),
            checks: 7,
            unchecked: 1,
            transitions: 1,
            changed_at: Some(at),
            last: Some(ipvs_health::Report {
                outcome: Outcome::Down("http: status 503".into()),
                took: Duration::from_millis(3),
            }),
            failures: BTreeMap::new(),
        };
        status.failures.insert("http: status 503".into(), 3);
        status.failures.insert("say \"hi\"".into(), 1);
        let statuses = [((key, IpAddr::from([192, 168, 10, 11]), 80), status)]
            .into_iter()
            .collect();
        Read {
            view: View {
                services: vec![ServiceView {
                    key,
                    on_down: OnDown::Weight0,
                    quorum: 1,
                    reals: vec![
                        real(11, Health::Down, Some("http")),
                        real(12, Health::Up, None),
                        real(13, Health::Unknown, Some("http")),
                    ],
                    sorry: None,
                }],
                unchecked: 1,
                reloads: 2,
                reload_failures: 1,
            },
            statuses,
            lateness: {
                let mut l = Lateness::default();
                l.record(Duration::from_micros(500));
                l.record(Duration::from_millis(3));
                l.record(Duration::from_millis(4));
                l.record(Duration::from_secs(12));
                l
            },
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
            Some(Box::new(HealthRows(fixture()))),
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
        let v = status_json(&fixture(), SystemTime::UNIX_EPOCH);
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
        best("the view taken (Board::view)", &mut || {
            board.view().services.len()
        });
        best("the statuses taken (Scheduler::statuses)", &mut || {
            read(&board, &scheduler).statuses.len()
        });
        best("/status: one read, whole", &mut || {
            let r = read(&board, &scheduler);
            status_body(&r, SystemTime::now()).len()
        });
        let r = read(&board, &scheduler);
        best("/status: the JSON alone", &mut || {
            status_body(&r, SystemTime::now()).len()
        });
        best("/metrics: the health rows, one read, whole", &mut || {
            let health = Box::new(HealthRows(read(&board, &scheduler)));
            metrics::encode_with(&empty, Format::Prometheus, None, false, Some(health)).len()
        });
    }
}
