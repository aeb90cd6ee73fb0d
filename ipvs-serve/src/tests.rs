//! The server on loopback with small limits: routes, 404 and 405, the head deadline (slowloris,
//! idle), a cap on head bytes, a client that pipelines and never reads, the connection limit
//! making room by closing a silent connection, and the shared computation.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

const BIG: usize = 4 << 20;

fn limits() -> Limits {
    Limits {
        head_timeout: Duration::from_millis(500),
        write_timeout: Duration::from_millis(500),
        max_head_bytes: 8192,
        max_connections: 8,
        accept_backoff: Duration::from_millis(10),
    }
}

/// A server on a free loopback port, serving `/` (a line) and `/big` (4 MiB), in a thread of
/// its own.
fn start(limits: Limits) -> SocketAddr {
    let server = Server::bind("127.0.0.1:0", limits).expect("bind");
    let at = server.local_addr().expect("addr");
    let big = Bytes::from(vec![b'x'; BIG]);
    let routes = Routes::new()
        .route("/", |head: http::request::Parts| async move {
            let text = if head.method == Method::HEAD {
                ""
            } else {
                "hello\n"
            };
            Response::new(Bytes::from_static(text.as_bytes()))
        })
        .route("/big", move |_| {
            let big = big.clone();
            async move { Response::new(big) }
        });
    std::thread::spawn(move || server.run(routes));
    at
}

fn connect(at: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(at).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// One HTTP/1.0 request and everything the server answered.
fn get(at: SocketAddr, request: &str) -> String {
    let mut s = connect(at);
    s.write_all(request.as_bytes()).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    String::from_utf8_lossy(&raw).into_owned()
}

/// Whether the server closes `s` (end of stream or a reset) within 10 s.
fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 65536];
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn routes_404_and_405_with_allow() {
    let at = start(limits());
    let ok = get(at, "GET / HTTP/1.0\r\n\r\n");
    assert!(ok.starts_with("HTTP/1.0 200"), "{ok}");
    assert!(ok.ends_with("\r\n\r\nhello\n"), "{ok}");
    let query = get(at, "GET /?x=1 HTTP/1.0\r\n\r\n");
    assert!(query.starts_with("HTTP/1.0 200"), "{query}");
    let missing = get(at, "GET /nothing HTTP/1.0\r\n\r\n");
    assert!(missing.starts_with("HTTP/1.0 404"), "{missing}");
    let post = get(at, "POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert!(post.starts_with("HTTP/1.0 405"), "{post}");
    assert!(
        post.to_ascii_lowercase()
            .contains("\r\nallow: get, head\r\n"),
        "{post}"
    );
    let head = get(at, "HEAD / HTTP/1.0\r\n\r\n");
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "{head}");
}

#[test]
fn a_slow_head_and_an_idle_connection_are_closed_and_others_served_meanwhile() {
    let at = start(limits());
    let mut slow = connect(at);
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut idle = connect(at);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 64];
    assert!(idle.read(&mut first).unwrap() > 0);
    let ok = get(at, "GET / HTTP/1.0\r\n\r\n");
    assert!(ok.starts_with("HTTP/1.0 200"), "{ok}");
    assert!(closed(&mut slow), "the slow head was not cut");
    assert!(closed(&mut idle), "the idle connection was kept");
}

#[test]
fn a_head_too_large_is_refused_without_growing() {
    let at = start(limits());
    let mut s = connect(at);
    let line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(64 * 1024));
    // The server may close before all is sent.
    let _ = s.write_all(line.as_bytes());
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(raw.is_empty() || text.starts_with("HTTP/1.1 431"), "{text}");
    let ok = get(at, "GET / HTTP/1.0\r\n\r\n");
    assert!(ok.starts_with("HTTP/1.0 200"), "{ok}");
}

#[test]
fn a_client_that_pipelines_and_never_reads_holds_up_nobody() {
    let at = start(limits());
    let mut greedy = connect(at);
    let request = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n".repeat(200);
    greedy.write_all(request.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..3 {
        let ok = get(at, "GET /big HTTP/1.0\r\n\r\n");
        assert!(
            ok.starts_with("HTTP/1.0 200"),
            "{}",
            &ok[..ok.len().min(200)]
        );
        assert!(ok.ends_with(&"x".repeat(1000)));
        assert!(ok.len() > BIG);
    }
    // Its writes made no progress for the write timeout: closed (what it reads now is what
    // the kernel had buffered, then the end).
    std::thread::sleep(Duration::from_secs(2));
    assert!(closed(&mut greedy), "the client that never reads was kept");
}

#[test]
fn past_the_limit_a_silent_connection_makes_room() {
    let mut l = limits();
    l.head_timeout = Duration::from_secs(30);
    let at = start(l);
    let mut silent: Vec<TcpStream> = (0..8).map(|_| connect(at)).collect();
    // Silent long enough to be taken for idle.
    std::thread::sleep(Duration::from_millis(1200));
    for _ in 0..3 {
        let ok = get(at, "GET / HTTP/1.0\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.0 200"), "{ok}");
    }
    // The oldest silent ones were closed to make room, long before the head timeout.
    assert!(closed(&mut silent[0]));
    // (The honest connections end once their clients have read all and closed.)
    std::thread::sleep(Duration::from_millis(200));
    // And when every connection has sent a request (more than the limit tried: those past it
    // were closed at once), one more is closed at once.
    let mut busy: Vec<TcpStream> = (0..12)
        .map(|_| {
            let mut s = connect(at);
            s.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = connect(at);
    assert!(closed(&mut extra));
    drop(busy.drain(..));
}

#[test]
fn concurrent_requests_share_one_computation() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let flight = Arc::new(SingleFlight::<usize>::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let got = rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let flight = Arc::clone(&flight);
            let runs = Arc::clone(&runs);
            tasks.push(tokio::spawn(async move {
                flight
                    .get(move || {
                        std::thread::sleep(Duration::from_millis(300));
                        runs.fetch_add(1, Ordering::SeqCst) + 1
                    })
                    .await
            }));
        }
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap().map(|v| *v));
        }
        got
    });
    assert_eq!(runs.load(Ordering::SeqCst), 1, "{got:?}");
    assert!(got.iter().all(|v| *v == Some(1)), "{got:?}");
    assert!(!flight.running());
    // Once finished, the next caller computes anew; a panic gives None.
    let again = rt.block_on(flight.get(|| 7));
    assert_eq!(again.map(|v| *v), Some(7));
    let panicked = rt.block_on(flight.get(|| panic!("on purpose")));
    assert!(panicked.is_none());
}
