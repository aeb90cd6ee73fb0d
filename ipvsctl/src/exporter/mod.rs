//! `ipvsctl exporter`: the IPVS tables as Prometheus metrics over HTTP.
//!
//! It only reads. The netlink sockets are opened first (one per namespace),
//! then the listening socket, then root is dropped (`--user`) but for
//! CAP_NET_ADMIN: the kernel checks it on every IPVS request, of the sender
//! as well as of whoever opened the socket. Requests are served by `tiny_http` (each connection
//! read on its own thread, so a slow or malformed client holds up nobody);
//! each `/metrics` request is answered on its own thread, and requests that
//! arrive while a read of the kernel is under way share that read.

pub mod metrics;
#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use clap::Parser;
use ipvs::Ipvs;

use metrics::{Format, NsRead, NsState, Snapshot};

/// The default address: loopback only, see `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9761";

/// Requests answered at once; past this, a request gets 503 at once.
const MAX_IN_FLIGHT: usize = 64;

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
    /// After opening the sockets, become this user (name or uid) for good,
    /// keeping only CAP_NET_ADMIN (the kernel checks it on every IPVS read).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

/// Runs the exporter; returns the exit code (it runs until killed unless
/// setting up fails).
pub fn main(prog: &str, args: &[String]) -> i32 {
    let args = match Args::try_parse_from(
        std::iter::once(format!("{prog} exporter")).chain(args.iter().cloned()),
    ) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(args) {
        Ok(()) => 0,
        Err(message) => {
            let _ = writeln!(io::stderr().lock(), "{prog} exporter: {message}");
            1
        }
    }
}

/// The namespaces and their handles, the errors so far, and the shared read.
struct Exporter {
    handles: Vec<(Option<String>, Ipvs)>,
    max_series: Option<usize>,
    errors: Mutex<Vec<u64>>,
    reads: SingleFlight<Snapshot>,
}

/// One computation at a time, shared: a caller that arrives while one is
/// under way waits for it and gets its result instead of starting another.
pub struct SingleFlight<T> {
    state: Mutex<FlightState<T>>,
    done: Condvar,
}

struct FlightState<T> {
    running: bool,
    generation: u64,
    last: Option<Arc<T>>,
    /// Callers waiting for the run under way.
    waiters: usize,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight {
            state: Mutex::new(FlightState {
                running: false,
                generation: 0,
                last: None,
                waiters: 0,
            }),
            done: Condvar::new(),
        }
    }
}

impl<T> SingleFlight<T> {
    fn lock(&self) -> MutexGuard<'_, FlightState<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a run is under way (for tests).
    #[cfg(test)]
    pub fn running(&self) -> bool {
        self.lock().running
    }

    /// How many callers wait for the run under way (for tests).
    #[cfg(test)]
    pub fn waiters(&self) -> usize {
        self.lock().waiters
    }

    /// Runs `f`, or waits for the run under way and returns its result.
    /// `None` only when the run waited for panicked and none ever finished.
    pub fn get(&self, f: impl FnOnce() -> T) -> Option<Arc<T>> {
        let mut g = self.lock();
        if g.running {
            let generation = g.generation;
            g.waiters += 1;
            while g.running && g.generation == generation {
                g = self.done.wait(g).unwrap_or_else(|p| p.into_inner());
            }
            g.waiters -= 1;
            return g.last.clone();
        }
        g.running = true;
        drop(g);
        // Whatever happens in `f`, the callers waiting must be woken.
        struct Finish<'a, T>(&'a SingleFlight<T>, Option<Arc<T>>);
        impl<T> Drop for Finish<'_, T> {
            fn drop(&mut self) {
                let mut g = self.0.lock();
                g.running = false;
                g.generation += 1;
                if let Some(v) = self.1.take() {
                    g.last = Some(v);
                }
                self.0.done.notify_all();
            }
        }
        let mut finish = Finish(self, None);
        let value = Arc::new(f());
        finish.1 = Some(Arc::clone(&value));
        drop(finish);
        Some(value)
    }
}

fn run(args: Args) -> Result<(), String> {
    // Looked up before anything is opened: a wrong --user fails first, with nothing to undo.
    let user = match &args.user {
        Some(name) => {
            Some(ipvs_sys::privs::lookup_user(name).map_err(|e| format!("--user {name}: {e}"))?)
        }
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
    let server = tiny_http::Server::http(&args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    if let (Some(user), Some(name)) = (&user, &args.user) {
        ipvs_sys::privs::become_user(user, &[ipvs_sys::privs::CAP_NET_ADMIN])
            .map_err(|e| format!("--user {name}: {e}"))?;
    }
    let n = handles.len();
    let exporter = Arc::new(Exporter {
        handles,
        max_series: args.max_series,
        errors: Mutex::new(vec![0; n]),
        reads: SingleFlight::default(),
    });
    let addr = server
        .server_addr()
        .to_ip()
        .map_or_else(|| args.listen.clone(), |a| a.to_string());
    let _ = writeln!(
        io::stderr().lock(),
        "ipvsctl exporter: listening on http://{addr}/metrics (uid {})",
        ipvs_sys::privs::current_uid()
    );
    let in_flight = Arc::new(AtomicUsize::new(0));
    loop {
        let request = match server.recv() {
            Ok(r) => r,
            Err(_) => continue,
        };
        if in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_IN_FLIGHT {
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = request.respond(
                tiny_http::Response::from_string("too many requests at once\n")
                    .with_status_code(503),
            );
            continue;
        }
        let exporter = Arc::clone(&exporter);
        let counter = Arc::clone(&in_flight);
        let spawned = std::thread::Builder::new()
            .name("ipvs-exporter-request".into())
            .spawn(move || {
                // Counted down however the answer ends.
                struct Done(Arc<AtomicUsize>);
                impl Drop for Done {
                    fn drop(&mut self) {
                        self.0.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                let _done = Done(counter);
                exporter.answer(request);
            });
        if spawned.is_err() {
            in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

const INDEX: &str = "<html><head><title>IPVS exporter</title></head><body>\
<h1>IPVS exporter (ipvsctl)</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

fn header(name: &str, value: &str) -> Option<tiny_http::Header> {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

impl Exporter {
    fn answer(&self, request: tiny_http::Request) {
        use tiny_http::{Method, Response};
        let path = request.url().split('?').next().unwrap_or("").to_string();
        let method = request.method().clone();
        let response = match (&method, path.as_str()) {
            (Method::Get | Method::Head, "/metrics") => {
                let accept = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Accept"))
                    .map(|h| h.value.as_str().to_string());
                let format = Format::from_accept(accept.as_deref());
                match self.snapshot() {
                    Some(snap) => {
                        let body = metrics::encode(&snap, format, self.max_series);
                        let r = Response::from_string(body);
                        match header("Content-Type", format.content_type()) {
                            Some(h) => r.with_header(h),
                            None => r,
                        }
                    }
                    None => Response::from_string("reading the IPVS tables failed\n")
                        .with_status_code(500),
                }
            }
            (Method::Get | Method::Head, "/") => {
                let r = Response::from_string(INDEX);
                match header("Content-Type", "text/html; charset=utf-8") {
                    Some(h) => r.with_header(h),
                    None => r,
                }
            }
            (Method::Get | Method::Head, _) => {
                Response::from_string("not found\n").with_status_code(404)
            }
            _ => Response::from_string("method not allowed\n").with_status_code(405),
        };
        // A client that went away is no error of ours.
        let _ = request.respond(response);
    }

    /// The tables, read once for every request that arrives while a read is
    /// under way.
    fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.reads.get(|| self.read())
    }

    /// One read of every namespace: info, services, destinations, timeouts, daemons.
    fn read(&self) -> Snapshot {
        let start = Instant::now();
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        let namespaces = self
            .handles
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
}

fn read_ns(ipvs: &Ipvs) -> ipvs::Result<NsState> {
    Ok(NsState {
        info: ipvs.info()?,
        servers: ipvs.state()?,
        timeouts: ipvs.timeouts()?,
        daemons: ipvs.daemons()?,
    })
}
