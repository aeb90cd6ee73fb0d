//! The HTTP/1.1 server of the ipvsctl daemons (`ipvsctl exporter`, healthd): a few `GET`/`HEAD`
//! routes served with limits, so that no client can stop the server or starve the others.
//!
//! - **Request head**: the whole head (request line and headers) must arrive within
//!   [`Limits::head_timeout`] of the moment the server waits for it (on a kept-alive connection,
//!   from the end of the previous answer: the same bound is the idle timeout), and may not pass
//!   [`Limits::max_head_bytes`]; past either, the connection is closed (hyper answers 431 to a
//!   head too large). A slowloris client costs one connection for that long.
//! - **Writes**: an answer whose writing makes no progress for [`Limits::write_timeout`] (a
//!   client that does not read) closes its connection. Pipelined requests are answered one after
//!   the other on their connection, so a client that pipelines and never reads holds one answer
//!   and one connection, nobody else's.
//! - **Connections**: at most [`Server::max_connections`] at once (the limit asked for, lowered
//!   to fit the process's descriptor limit, whose soft value is first raised towards its hard
//!   one). A connection past it is accepted and closed at once, unless a connection that has
//!   sent no whole request for a second or more can make room: the oldest such is closed
//!   instead. Accept never waits for a connection to end.
//! - **Accept errors** (EMFILE, ENFILE, ENOMEM, ENOBUFS, ...) are retried after a short backoff
//!   (from [`Limits::accept_backoff`], doubling up to 1 s); ECONNABORTED and the like at once.
//!   Nothing ends the accept loop.
//! - **Closing**: a connection whose last answer is written is closed once the client has closed
//!   its end, or after [`Limits::write_timeout`]: the kernel resets a socket closed with unsent
//!   data when TCP memory runs short (as clients that do not read can make it), and the client
//!   would lose the end of its answer.
//! - **Memory** is bounded by the number of connections: each holds at most its head buffer and
//!   one answer (answers are [`Bytes`], which concurrent answers may share).
//!
//! Handlers are async; blocking work (a netlink read) goes to [`blocking`], and a computation
//! that concurrent requests should share to a [`SingleFlight`]. Paths are matched exactly
//! (the query is ignored); other paths get 404, methods other than `GET` and `HEAD` 405 with
//! `Allow: GET, HEAD`.
//!
//! ```no_run
//! use ipvs_serve::{http, Bytes, Limits, Routes, Server};
//! let routes = Routes::new().route("/status", |_head: http::request::Parts| async {
//!     http::Response::new(Bytes::from_static(b"ok\n"))
//! });
//! let server = Server::bind("127.0.0.1:9762", Limits::default())?;
//! server.run(routes)?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use bytes::Bytes;
pub use hyper::http;

use http::{header, Method, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use nix::errno::Errno;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Notify, OnceCell};
use tokio::time::Sleep;

/// The limits a [`Server`] holds every connection to. The defaults are the daemons'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Time for a whole request head to arrive, from the moment the server waits for it (also
    /// the idle timeout of a kept-alive connection). Default 10 s.
    pub head_timeout: Duration,
    /// Time an answer's writing may make no progress. Default 10 s.
    pub write_timeout: Duration,
    /// Bytes a request head may take (request line and headers); at least 8 KiB (hyper's
    /// smallest buffer). Default 16 KiB.
    pub max_head_bytes: usize,
    /// Connections at once. Default 1024.
    pub max_connections: usize,
    /// First wait after an accept error for want of resources; it doubles up to 1 s. Default 50 ms.
    pub accept_backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_head_bytes: 16 * 1024,
            max_connections: 1024,
            accept_backoff: Duration::from_millis(50),
        }
    }
}

/// hyper's smallest read buffer.
const MIN_HEAD_BYTES: usize = 8192;
/// The longest wait between two accept attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Descriptors kept free beyond those open at bind and the connections: what the process may
/// open later (a netlink socket, /proc files) and the connection accepted past the limit.
const SPARE_FDS: usize = 16;
/// A connection silent for this long since it was accepted may be closed to make room: one
/// that sends its request at once is never taken for an idle one.
const EVICTABLE_AFTER: Duration = Duration::from_secs(1);
/// Connections accepted at once may wait in the kernel's queue.
const BACKLOG: u32 = 1024;
/// Threads for blocking work ([`blocking`]): few, each costs a stack and (glibc) an arena of
/// address space, which a process under `ulimit -v` must spare.
const BLOCKING_THREADS: usize = 4;

/// What a handler's future gives: the answer.
pub type Answer = Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>;
type Handler = Arc<dyn Fn(http::request::Parts) -> Answer + Send + Sync>;

/// The paths served and their handlers. A handler gets the request head (method `GET` or
/// `HEAD`: it may skip costly work for `HEAD`, whose body is never sent).
#[derive(Clone, Default)]
pub struct Routes {
    routes: Vec<(String, Handler)>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.routes.iter().map(|(p, _)| p))
            .finish()
    }
}

impl Routes {
    /// No routes: every path is 404.
    pub fn new() -> Self {
        Routes::default()
    }

    /// Serves `path` (exactly; the query is ignored) with `handler`.
    pub fn route<F, Fut>(mut self, path: &str, handler: F) -> Self
    where
        F: Fn(http::request::Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Bytes>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |head| Box::pin(handler(head)));
        self.routes.push((path.to_string(), handler));
        self
    }

    /// The answer to one request head: the route's, 404 or 405.
    pub async fn answer(&self, head: http::request::Parts) -> Response<Bytes> {
        if head.method != Method::GET && head.method != Method::HEAD {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        let handler = self
            .routes
            .iter()
            .find(|(p, _)| p == head.uri.path())
            .map(|(_, h)| Arc::clone(h));
        match handler {
            Some(h) => h(head).await,
            None => plain(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}

/// A `text/plain` answer.
pub fn plain(status: StatusCode, text: &'static str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from_static(text.as_bytes()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Runs `f` on a thread for blocking work; `None` when it panicked.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// One computation at a time, shared: a request that arrives while one is under way waits for
/// it and gets its result instead of starting another; one that arrives after starts anew.
pub struct SingleFlight<T> {
    current: Mutex<Option<Arc<OnceCell<Arc<T>>>>>,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight {
            current: Mutex::new(None),
        }
    }
}

impl<T: Send + Sync + 'static> SingleFlight<T> {
    fn lock(&self) -> MutexGuard<'_, Option<Arc<OnceCell<Arc<T>>>>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a computation is under way.
    pub fn running(&self) -> bool {
        self.lock().as_ref().is_some_and(|c| !c.initialized())
    }

    /// Runs `f` on a blocking thread, or waits for the run under way and returns its result.
    /// `None` only when `f` panicked (a waiter whose run panicked runs its own `f`).
    pub async fn get(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<Arc<T>> {
        let cell = Arc::clone(self.lock().get_or_insert_with(Default::default));
        let mut f = Some(f);
        let got = cell
            .get_or_try_init(|| async {
                match f.take() {
                    Some(f) => blocking(f).await.map(Arc::new).ok_or(()),
                    None => Err(()),
                }
            })
            .await
            .ok()
            .cloned();
        // Finished: the next caller starts a fresh run.
        let mut current = self.lock();
        if current
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &cell) && c.initialized())
        {
            *current = None;
        }
        got
    }
}

/// A listening socket, its limits and the runtime that will serve it.
#[derive(Debug)]
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: TcpListener,
    limits: Limits,
    max_connections: usize,
}

impl Server {
    /// Listens on `addr` (`ADDR:PORT`, `[V6]:PORT` or `NAME:PORT`: its first address) and
    /// fits the connection limit to the descriptors (see [`Server::max_connections`]). Call it
    /// before dropping privileges: it binds, and raises the soft descriptor limit.
    pub fn bind(addr: &str, limits: Limits) -> io::Result<Server> {
        let at = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the name has no address")
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .max_blocking_threads(BLOCKING_THREADS)
            .build()?;
        let listener = {
            let _in = runtime.enter();
            let socket = match at {
                SocketAddr::V4(_) => TcpSocket::new_v4()?,
                SocketAddr::V6(_) => TcpSocket::new_v6()?,
            };
            socket.set_reuseaddr(true)?;
            socket.bind(at)?;
            socket.listen(BACKLOG)?
        };
        let max_connections = fit_to_descriptors(limits.max_connections);
        Ok(Server {
            runtime,
            listener,
            limits,
            max_connections,
        })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Connections served at once: [`Limits::max_connections`], or fewer when the descriptor
    /// limit (its soft value raised as far as the hard one allows) leaves room for fewer.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Serves `routes` for ever on the calling thread (blocking work on up to 4 more).
    pub fn run(self, routes: Routes) -> io::Result<Infallible> {
        let Server {
            runtime,
            listener,
            limits,
            max_connections,
        } = self;
        let conns = Arc::new(Conns {
            max: max_connections.max(1),
            live: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            waiting: Mutex::new(VecDeque::new()),
        });
        let routes = Arc::new(routes);
        runtime.block_on(accept_loop(listener, routes, Arc::new(limits), conns))
    }
}

/// Raises the soft descriptor limit to fit `wanted` connections (as far as the hard limit
/// allows) and returns how many fit.
fn fit_to_descriptors(wanted: usize) -> usize {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let open = std::fs::read_dir("/proc/self/fd").map_or(SPARE_FDS, |d| d.count());
    let need = (wanted + open + SPARE_FDS) as u64;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return wanted;
    };
    let mut soft = soft;
    if soft < need {
        let raised = need.min(hard);
        if setrlimit(Resource::RLIMIT_NOFILE, raised, hard).is_ok() {
            soft = raised;
        }
    }
    let room = usize::try_from(soft)
        .unwrap_or(usize::MAX)
        .saturating_sub(open + SPARE_FDS);
    wanted.min(room).max(1)
}

/// A connection that has not yet sent a whole request: its id, when it was accepted, and the
/// signal that closes it.
type Waiting = (u64, Instant, Arc<Notify>);

/// The connections: how many are open, and those that have not yet sent a whole request
/// (oldest first).
struct Conns {
    max: usize,
    live: AtomicUsize,
    next_id: AtomicU64,
    waiting: Mutex<VecDeque<Waiting>>,
}

impl Conns {
    fn waiting(&self) -> MutexGuard<'_, VecDeque<Waiting>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes room for one more connection: true when there is (closing the oldest connection
    /// that has sent no request for [`EVICTABLE_AFTER`], if need be).
    fn admit(&self) -> bool {
        if self.live.load(Ordering::SeqCst) < self.max {
            return true;
        }
        let mut waiting = self.waiting();
        match waiting.front() {
            Some((_, accepted, _)) if accepted.elapsed() >= EVICTABLE_AFTER => {
                if let Some((_, _, close)) = waiting.pop_front() {
                    close.notify_one();
                }
                true
            }
            _ => false,
        }
    }

    fn requested(&self, id: u64) {
        self.waiting().retain(|(i, _, _)| *i != id);
    }
}

/// Counts a connection while it lives.
struct Live(Arc<Conns>, u64);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.requested(self.1);
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn accept_loop(
    listener: TcpListener,
    routes: Arc<Routes>,
    limits: Arc<Limits>,
    conns: Arc<Conns>,
) -> io::Result<Infallible> {
    let mut backoff = limits.accept_backoff;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                backoff = limits.accept_backoff;
                if !conns.admit() {
                    // Closed at once: the limit is reached by connections that all sent a request.
                    drop(stream);
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let id = conns.next_id.fetch_add(1, Ordering::Relaxed);
                let close = Arc::new(Notify::new());
                conns.live.fetch_add(1, Ordering::SeqCst);
                conns
                    .waiting()
                    .push_back((id, Instant::now(), Arc::clone(&close)));
                let live = Live(Arc::clone(&conns), id);
                tokio::spawn(connection(
                    stream,
                    Arc::clone(&routes),
                    Arc::clone(&limits),
                    close,
                    live,
                ));
            }
            Err(e) if per_connection(&e) => {}
            Err(_) => {
                // Out of descriptors or memory: what is queued stays in the kernel's backlog
                // until connections end and free them.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Accept errors about the one connection (it went away before it was accepted): the next
/// accept may succeed at once.
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    ) || e.raw_os_error().is_some_and(|n| {
        [Errno::EPROTO, Errno::EPERM, Errno::ETIMEDOUT].contains(&Errno::from_raw(n))
    })
}

async fn connection(
    stream: TcpStream,
    routes: Arc<Routes>,
    limits: Arc<Limits>,
    close: Arc<Notify>,
    live: Live,
) {
    let conns = Arc::clone(&live.0);
    let id = live.1;
    let service = service_fn(move |req: http::Request<Incoming>| {
        conns.requested(id);
        let routes = Arc::clone(&routes);
        async move {
            // The body (if any) is not read: no route takes one.
            let (head, _body) = req.into_parts();
            let answer = routes.answer(head).await;
            Ok::<_, Infallible>(answer.map(Full::new))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        .max_buf_size(limits.max_head_bytes.max(MIN_HEAD_BYTES))
        .keep_alive(true);
    let io = TokioIo::new(WriteDeadline::new(stream, limits.write_timeout));
    let mut conn = std::pin::pin!(builder.serve_connection(io, service).without_shutdown());
    let mut closing = std::pin::pin!(close.notified());
    // Whichever comes first: the connection's end, or the signal to make room.
    let ended = std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = conn.as_mut().poll(cx) {
            return Poll::Ready(r.ok());
        }
        if closing.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await;
    if let Some(parts) = ended {
        lingering_close(parts.io.into_inner().io, limits.write_timeout).await;
    }
    drop(live);
}

/// Closes a connection whose answer is written: its end (FIN) is sent after the answer, then
/// the client's end is awaited, for at most `limit`. A socket closed with unsent data is
/// reset by the kernel when TCP memory runs short (other clients that do not read can fill
/// it): the client would lose the end of its answer.
async fn lingering_close(mut stream: TcpStream, limit: Duration) {
    let drained = async {
        if std::future::poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx))
            .await
            .is_err()
        {
            return;
        }
        let mut buf = [0u8; 512];
        loop {
            if stream.readable().await.is_err() {
                return;
            }
            match stream.try_read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(limit, drained).await;
}

/// A stream whose writes fail with `TimedOut` after `limit` without progress.
struct WriteDeadline {
    io: TcpStream,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadline {
    fn new(io: TcpStream, limit: Duration) -> Self {
        WriteDeadline {
            io,
            limit,
            stalled: None,
        }
    }

    fn watch<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if r.is_ready() {
            self.stalled = None;
            return r;
        }
        let limit = self.limit;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if sleep.as_mut().poll(cx).is_ready() {
            self.stalled = None;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client reads nothing",
            )));
        }
        Poll::Pending
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_shutdown(cx);
        self.watch(cx, r)
    }
}

#[cfg(test)]
mod tests;
