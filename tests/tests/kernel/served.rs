//! Clients of the daemons' HTTP listener (the `ipvs-serve` crate behind `ipvsctl exporter` and
//! `ipvsctl healthd --listen`): an honest request that must be answered whole and in time, and
//! the hostile clients it must be answered through.
#![allow(dead_code)] // each helper is for the tests that need it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::NetNs;

/// A daemon under test, as these clients see it.
pub trait Daemon {
    fn pid(&self) -> u32;
    /// `None` while it runs; once it has ended, what it said (its stderr).
    fn ended(&mut self) -> Option<String>;
}

/// Asserts that the daemon still runs.
pub fn alive(d: &mut dyn Daemon, during: &str) {
    if let Some(said) = d.ended() {
        panic!("{during}: the daemon ended: {said}");
    }
}

/// N of the listener's first line ("listening on ... at most N connections").
pub fn connection_limit(line: &str) -> usize {
    line.rsplit_once("at most ")
        .and_then(|(_, n)| n.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no connection limit in {line:?}"))
}

/// An honest GET of `path` from its own connection, while `during` goes on: it must answer 200
/// with the whole body (as long as its Content-Length, and `whole` of its text) within 5 s, the
/// generous bound of a liveness check. Returns the body's length.
pub fn honest_get(
    d: &mut dyn Daemon,
    ns: &NetNs,
    at: SocketAddr,
    path: &str,
    during: &str,
    whole: &dyn Fn(&str) -> bool,
) -> usize {
    let started = Instant::now();
    let got = ns.enter(|| -> std::io::Result<(String, Vec<u8>)> {
        let mut s = TcpStream::connect_timeout(&at, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: honest\r\n\r\n")?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other(format!("no head in {} bytes", raw.len())))?;
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        Ok((head, raw[end + 4..].to_vec()))
    });
    let took = started.elapsed();
    let (head, body) = got.unwrap_or_else(|e| {
        let said = d.ended();
        panic!("{during}: the honest GET {path} failed after {took:?}: {e}; the daemon ended: {said:?}")
    });
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{during}: {path}: {head}"
    );
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("{during}: {path}: no Content-Length in {head}"));
    assert_eq!(body.len(), length, "{during}: {path}: a short body");
    assert!(
        whole(&String::from_utf8_lossy(&body)),
        "{during}: {path}: the body is not whole"
    );
    assert!(
        took < Duration::from_secs(5),
        "{during}: the honest GET {path} took {took:?}"
    );
    println!(
        "  {during}: honest GET {path} 200, {length} bytes in {:.2} s",
        took.as_secs_f64()
    );
    length
}

/// The daemon's resident set now and at its peak (kB), from /proc/PID/status.
pub fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Connections opened inside `ns` to `at`, each having sent `request` (none when empty),
/// never read.
pub fn silent_clients(ns: &NetNs, at: SocketAddr, n: usize, request: &[u8]) -> Vec<TcpStream> {
    ns.enter(|| {
        (0..n)
            .map(|_| {
                let mut s = TcpStream::connect_timeout(&at, Duration::from_secs(5))
                    .expect("a hostile client connects");
                if !request.is_empty() {
                    s.write_all(request).expect("a hostile client writes");
                }
                s
            })
            .collect()
    })
}

pub const GET_METRICS: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: hostile\r\n\r\n";

/// The hostile clients, one after another, each calling `honest(daemon, during, active)` while
/// it is active (`active` true) and after it left (false): one connection that pipelines 200
/// GET /metrics and never reads, 70 that each send a request and never read, a slowloris (a
/// header byte a second, which the server must cut), a request line of 600 MB without CRLF
/// (which it must cut), and 1,000 connections opened at once and kept open.
pub fn hostile_clients(
    ns: &NetNs,
    at: SocketAddr,
    d: &mut dyn Daemon,
    honest: &mut dyn FnMut(&mut dyn Daemon, &str, bool),
) {
    let greedy = silent_clients(ns, at, 1, &GET_METRICS.repeat(200));
    std::thread::sleep(Duration::from_secs(2));
    honest(d, "200 pipelined GETs never read", true);
    honest(d, "200 pipelined GETs never read (again)", true);
    alive(d, "200 pipelined GETs");
    drop(greedy);
    honest(d, "after the pipelining client left", false);

    let many = silent_clients(ns, at, 70, GET_METRICS);
    std::thread::sleep(Duration::from_secs(2));
    honest(d, "70 requests never read", true);
    alive(d, "70 requests never read");
    drop(many);
    honest(d, "after the 70 left", false);

    let mut slow = silent_clients(ns, at, 1, b"GET /metrics HTTP/1.1\r\n");
    let mut slow = slow.pop().expect("one");
    let slowloris = std::thread::spawn(move || {
        for second in 0..60 {
            std::thread::sleep(Duration::from_secs(1));
            if slow.write_all(b"X").is_err() {
                return Some(second);
            }
        }
        None
    });
    std::thread::sleep(Duration::from_secs(2));
    honest(d, "slowloris", true);
    honest(d, "slowloris (again)", true);
    let cut = slowloris.join().expect("slowloris thread");
    assert!(cut.is_some(), "the slowloris client was never cut");
    println!("  slowloris: cut after {} s", cut.unwrap_or(0));
    alive(d, "slowloris");
    honest(d, "after slowloris", false);

    let mut huge = silent_clients(ns, at, 1, b"GET /");
    let mut huge = huge.pop().expect("one");
    let flood = std::thread::spawn(move || {
        let chunk = vec![b'a'; 1 << 20];
        let mut sent = 0usize;
        while sent < 600 << 20 {
            match huge.write(&chunk) {
                Ok(n) if n > 0 => sent += n,
                _ => break,
            }
        }
        sent
    });
    std::thread::sleep(Duration::from_secs(1));
    honest(d, "a 600 MB request line", true);
    let sent = flood.join().expect("flood thread");
    assert!(sent < 600 << 20, "the server read a 600 MB request line");
    alive(d, "a 600 MB request line");
    let (rss, peak) = rss_kb(d.pid());
    println!("  a 600 MB request line: cut after {sent} bytes; RSS {rss} kB, peak {peak} kB");
    honest(d, "after the 600 MB request line", false);

    // bash's /dev/tcp, from a process of its own: this one's descriptors are not enough.
    let script = format!(
        "ulimit -n 4096 && for i in $(seq 1000); do exec {{fd}}<>/dev/tcp/{}/{} || exit 1; done; \
         echo open; read -r _",
        at.ip(),
        at.port()
    );
    let mut thousand = Command::new("ip")
        .args(["netns", "exec", ns.name(), "bash", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the 1,000 connections");
    let mut opened = String::new();
    BufReader::new(thousand.stdout.take().expect("stdout"))
        .read_line(&mut opened)
        .expect("read");
    assert_eq!(opened.trim(), "open", "the 1,000 connections did not open");
    std::thread::sleep(Duration::from_secs(1));
    honest(d, "1,000 open connections", true);
    let (rss, peak) = rss_kb(d.pid());
    let fds = std::fs::read_dir(format!("/proc/{}/fd", d.pid()))
        .map(|d| d.count())
        .unwrap_or(0);
    println!("  1,000 open connections: RSS {rss} kB, peak {peak} kB, {fds} descriptors");
    alive(d, "1,000 open connections");
    drop(thousand.stdin.take());
    let _ = thousand.wait();
    honest(d, "after the 1,000 closed", false);
}
