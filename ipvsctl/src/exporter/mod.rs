//! `ipvsctl exporter`: the IPVS tables as Prometheus metrics over HTTP.
//!
//! It only reads. The netlink sockets are opened first (one per namespace),
//! then the listening socket, then root is dropped (`--user`) but for
//! CAP_NET_ADMIN: the kernel checks it on every IPVS request, of the sender
//! as well as of whoever opened the socket. Requests are served by `ipvs-serve`
//! (tokio and hyper, with limits on heads, writes and connections); the kernel
//! read is synchronous netlink, so it runs on a blocking thread, and requests
//! that arrive while a read is under way share that read and its encoding.

pub mod metrics;
#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use clap::{CommandFactory, FromArgMatches, Parser};
use ipvs::Ipvs;
use ipvs_serve::http::{header, request::Parts, Method, Response, StatusCode};
use ipvs_serve::{Bytes, Limits, Routes, Server, SingleFlight};

use metrics::{Format, NsRead, NsState, Snapshot};

use crate::privs;

/// The default address: loopback only, see `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9761";

/// `ipvsctl exporter`'s options.
#[derive(Debug, Parser)]
#[command(
    name = "ipvsctl exporter",
    about = "Serve the IPVS tables as Prometheus metrics on /metrics (read only)",
    version
)]
pub struct Args {
    /// Address and port to listen on. The default is loopback only: the
    /// metrics show the load balancer's topology and the server has no
    /// authentication, so exposing it is a deliberate choice
    /// (e.g. --listen 0.0.0.0:9761 or [::]:9761).
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Read the tables of this network namespace (a name as ip netns, or a
    /// path); repeat for several. Each gets a `netns` label. Without it, the
    /// exporter's own namespace, with no `netns` label.
    #[arg(long, value_name = "NAME|PATH")]
    pub netns: Vec<String>,
    /// Above this many destinations in all, sum the destinations of each
    /// service into one series (ipvs_exporter_backends_summed says so).
    #[arg(long, value_name = "N")]
    pub max_series: Option<usize>,
    // `--rates`: its help and action are the shared one's (args.rs), set in `command`.
    #[arg(long)]
    pub rates: bool,
    /// After opening the sockets, become this user (name or uid) for good,
    /// keeping only CAP_NET_ADMIN (the kernel checks it on every IPVS read).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

/// The clap description of `exporter`: [`Args`]' with the arguments it shares with other
/// subcommands (args.rs) put in.
pub fn command() -> clap::Command {
    // `--netns` is the one of every subcommand, here repeatable, with the field's help.
    Args::command()
        .mut_arg("netns", |a| {
            let netns = crate::args::netns().action(clap::ArgAction::Append);
            match a.get_help() {
                Some(help) => netns.help(help.clone()),
                None => netns,
            }
        })
        .mut_arg("rates", |_| crate::args::rates())
}

/// Runs the exporter; returns the exit code (it runs until killed unless
/// setting up fails).
pub fn main(prog: &str, args: &[String]) -> i32 {
    let args = match command()
        .try_get_matches_from(
            std::iter::once(format!("{prog} exporter")).chain(args.iter().cloned()),
        )
        .and_then(|m| Args::from_arg_matches(&m))
    {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    // The same namespace twice would repeat every series, which Prometheus rejects whole.
    for (i, ns) in args.netns.iter().enumerate() {
        if args.netns[..i].contains(ns) {
            let _ = writeln!(
                io::stderr().lock(),
                "{prog} exporter: --netns {ns} is given twice (each namespace once)"
            );
            return 2;
        }
    }
    match run(args) {
        Ok(()) => 0,
        Err(message) => {
            let _ = writeln!(io::stderr().lock(), "{prog} exporter: {message}");
            1
        }
    }
}

/// What one read of the kernel gives every request that shares it: the tables, and their
/// encoding in each format, made once, on first demand.
struct Scrape {
    snapshot: Snapshot,
    prometheus: OnceLock<Bytes>,
    openmetrics: OnceLock<Bytes>,
}

impl Scrape {
    fn cell(&self, format: Format) -> &OnceLock<Bytes> {
        match format {
            Format::Prometheus => &self.prometheus,
            Format::OpenMetrics => &self.openmetrics,
        }
    }

    fn body(&self, format: Format, how: How) -> Bytes {
        self.cell(format)
            .get_or_init(|| {
                Bytes::from(metrics::encode(
                    &self.snapshot,
                    format,
                    how.max_series,
                    how.rates,
                ))
            })
            .clone()
    }
}

/// How the tables are encoded: `--max-series` and `--rates`.
#[derive(Debug, Clone, Copy)]
struct How {
    max_series: Option<usize>,
    rates: bool,
}

/// Reads every namespace (blocking).
type Reader = dyn Fn() -> Snapshot + Send + Sync;

/// The format a request's `Accept` headers (all of them, joined by commas) prefer.
pub(crate) fn format_of(head: &Parts) -> Format {
    let accept: Vec<&str> = head
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    Format::from_accept((!accept.is_empty()).then(|| accept.join(",")).as_deref())
}

/// The read of the tables, shared by the requests that arrive while it is under way.
struct Exporter {
    read: Arc<Reader>,
    how: How,
    reads: SingleFlight<Scrape>,
}

impl Exporter {
    fn new(read: Arc<Reader>, how: How) -> Arc<Self> {
        Arc::new(Exporter {
            read,
            how,
            reads: SingleFlight::default(),
        })
    }

    /// `/metrics` and `/`.
    fn routes(self: &Arc<Self>) -> Routes {
        let me = Arc::clone(self);
        Routes::new()
            .route("/metrics", move |head| {
                let me = Arc::clone(&me);
                async move { me.metrics(head).await }
            })
            .route("/", |_| async {
                answer(
                    StatusCode::OK,
                    "text/html; charset=utf-8",
                    Bytes::from_static(INDEX.as_bytes()),
                )
            })
    }

    async fn metrics(&self, head: Parts) -> Response<Bytes> {
        let format = format_of(&head);
        // HEAD says what GET would send, without reading the kernel.
        if head.method == Method::HEAD {
            return answer(StatusCode::OK, format.content_type(), Bytes::new());
        }
        let read = Arc::clone(&self.read);
        let how = self.how;
        // The read and the encoding in the format asked for, on one blocking thread; a request
        // that shares the read but wants the other format encodes it once more.
        let scrape = self
            .reads
            .get(move || {
                let scrape = Scrape {
                    snapshot: read(),
                    prometheus: OnceLock::new(),
                    openmetrics: OnceLock::new(),
                };
                scrape.body(format, how);
                scrape
            })
            .await;
        let body = match scrape {
            Some(scrape) => match scrape.cell(format).get() {
                Some(body) => Some(body.clone()),
                None => ipvs_serve::blocking(move || scrape.body(format, how)).await,
            },
            None => None,
        };
        match body {
            Some(body) => answer(StatusCode::OK, format.content_type(), body),
            None => ipvs_serve::plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reading the IPVS tables failed\n",
            ),
        }
    }
}

pub(crate) fn answer(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Bytes> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}

const INDEX: &str = "<html><head><title>IPVS exporter</title></head><body>\
<h1>IPVS exporter (ipvsctl)</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

fn run(args: Args) -> Result<(), String> {
    // Looked up before anything is opened: a wrong --user fails first, with nothing to undo.
    let user = match &args.user {
        Some(name) => Some(privs::lookup_user(name).map_err(|e| format!("--user {name}: {e}"))?),
        None => None,
    };
    let mut handles = Vec::new();
    if args.netns.is_empty() {
        let ipvs = Ipvs::new().map_err(|e| format!("cannot open IPVS: {e}"))?;
        handles.push((None, ipvs));
    }
    for ns in &args.netns {
        let ipvs = Ipvs::in_netns(ns)
            .map_err(|e| format!("cannot open IPVS in network namespace {ns}: {e}"))?;
        handles.push((Some(ns.clone()), ipvs));
    }
    let server = Server::bind(&args.listen, Limits::default())
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    if let (Some(user), Some(name)) = (&user, &args.user) {
        privs::become_user(user, &[caps::Capability::CAP_NET_ADMIN])
            .map_err(|e| format!("--user {name}: {e}"))?;
    }
    let errors = Mutex::new(vec![0; handles.len()]);
    let read: Arc<Reader> = Arc::new(move || read_all(&handles, &errors));
    let exporter = Exporter::new(
        read,
        How {
            max_series: args.max_series,
            rates: args.rates,
        },
    );
    let addr = server
        .local_addr()
        .map_or_else(|_| args.listen.clone(), |a| a.to_string());
    let _ = writeln!(
        io::stderr().lock(),
        "ipvsctl exporter: listening on http://{addr}/metrics (uid {}, at most {} connections)",
        privs::current_uid(),
        server.max_connections()
    );
    server
        .run(exporter.routes())
        .map(|never| match never {})
        .map_err(|e| format!("serving {addr}: {e}"))
}

/// One read of every namespace: info, services, destinations, timeouts, daemons; `errors`
/// counts the failed reads of each.
pub(crate) fn read_all(handles: &[(Option<String>, Ipvs)], errors: &Mutex<Vec<u64>>) -> Snapshot {
    let start = Instant::now();
    let mut errors = errors.lock().unwrap_or_else(|p| p.into_inner());
    let namespaces = handles
        .iter()
        .enumerate()
        .map(|(i, (netns, ipvs))| {
            let state = read_ns(ipvs).map_err(|e| e.to_string());
            if let Some(n) = errors.get_mut(i) {
                if state.is_err() {
                    *n += 1;
                }
            }
            NsRead {
                netns: netns.clone(),
                state,
                errors_total: errors.get(i).copied().unwrap_or(0),
            }
        })
        .collect();
    Snapshot {
        namespaces,
        duration: start.elapsed().as_secs_f64(),
    }
}

fn read_ns(ipvs: &Ipvs) -> ipvs::Result<NsState> {
    Ok(NsState {
        info: ipvs.info()?,
        servers: ipvs.state()?,
        timeouts: ipvs.timeouts()?,
        daemons: ipvs.daemons()?,
    })
}
