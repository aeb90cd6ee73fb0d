//! What the library tests share: a handle on a test namespace, the library's values in ipvsadm's
//! formats through ipvsctl's formatters (so that what the library reports can be compared with
//! what ipvsadm prints for the same kernel state), and traffic from inside a namespace.
#![allow(dead_code)] // each helper is for the tests that need it

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use ipvs::{DestinationEntry, Ipvs, Service, ServiceEntry, Stats, SyncDaemon, VirtualServer};
use ipvsctl::output::{ListMode, ListOptions};

use crate::harness::NetNs;

/// The library's handle on the namespace, opened by name as `ip netns` names it.
pub fn open(ns: &NetNs) -> Ipvs {
    Ipvs::in_netns(ns.name()).unwrap_or_else(|e| panic!("Ipvs::in_netns({}): {e}", ns.name()))
}

/// `addr:port`, IPv6 addresses in brackets, as ipvsadm prints them with `-n`.
pub fn addrport(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// A service and its destinations as they were configured, as the kernel would report them
/// before any traffic: no counters, no connections. For formatting what a state should look like.
pub fn configured(service: &Service, destinations: &[ipvs::Destination]) -> VirtualServer {
    VirtualServer {
        entry: ServiceEntry {
            service: service.clone(),
            stats: Stats::default(),
        },
        destinations: destinations
            .iter()
            .map(|d| DestinationEntry {
                destination: *d,
                active_conns: 0,
                inactive_conns: 0,
                persistent_conns: 0,
                stats: Stats::default(),
            })
            .collect(),
    }
}

/// Every `-S -n` line of a state, in ipvsctl's formatting of the library's values, sorted
/// (ipvsadm sorts too, but each line is self-contained).
pub fn save_lines(state: &[VirtualServer]) -> Vec<String> {
    let mut lines: Vec<String> = ipvsctl::output::save_text(state, true, true)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// `ipvsadm -S -n` in the namespace, its lines sorted.
pub fn ipvsadm_save(ns: &NetNs) -> Vec<String> {
    let mut lines: Vec<String> = ns
        .ipvsadm_ok(&["-S", "-n"])
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// Asserts that `ipvsadm -S -n` shows exactly what the library reports, and returns the state.
pub fn assert_ipvsadm_agrees(ns: &NetNs, ipvs: &Ipvs) -> Vec<VirtualServer> {
    let state = ipvs.state().expect("state");
    assert_eq!(
        ipvsadm_save(ns),
        save_lines(&state),
        "ipvsadm -S -n (left) and the library's state (right) differ"
    );
    state
}

/// Which `ipvsadm -L -n` listing to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `-L -n`: forwarding method, weight, active and inactive connections.
    Plain,
    /// `-L -n --thresholds`.
    Thresholds,
    /// `-L -n --persistent-conn`.
    PersistentConn,
    /// `-L -n --tun-info`.
    TunInfo,
    /// `-L -n --stats --exact`: the 64-bit counters.
    StatsExact,
}

impl Listing {
    /// ipvsadm's options for this listing.
    pub fn args(self) -> &'static [&'static str] {
        match self {
            Listing::Plain => &["-L", "-n"],
            Listing::Thresholds => &["-L", "-n", "--thresholds"],
            Listing::PersistentConn => &["-L", "-n", "--persistent-conn"],
            Listing::TunInfo => &["-L", "-n", "--tun-info"],
            Listing::StatsExact => &["-L", "-n", "--stats", "--exact"],
        }
    }

    /// The same listing's options for ipvsctl's formatter.
    fn options(self) -> ListOptions {
        let mode = match self {
            Listing::Plain => ListMode::Default,
            Listing::Thresholds => ListMode::Thresholds,
            Listing::PersistentConn => ListMode::PersistentConn,
            Listing::TunInfo => ListMode::TunInfo,
            Listing::StatsExact => ListMode::Stats,
        };
        ListOptions {
            mode,
            numeric: true,
            exact: self == Listing::StatsExact,
            sort: true,
        }
    }
}

/// Asserts that an ipvsadm listing in the namespace is, byte for byte, ipvsctl's formatting of
/// what the library reports (`state`, and the kernel's IPVS info for the header).
pub fn assert_listing_agrees(ns: &NetNs, state: &[VirtualServer], listing: Listing) {
    let info = open(ns).info().expect("info");
    let ours = ipvsctl::output::list_text(&info, state, &listing.options());
    let text = ns.ipvsadm_ok(listing.args());
    assert_eq!(
        text,
        ours,
        "ipvsadm {} (left) and the library's state as ipvsctl prints it (right) differ",
        listing.args().join(" ")
    );
}

/// The `-L --daemon` lines of the library's sync daemons, as ipvsctl prints them.
pub fn daemon_lines(daemons: &[SyncDaemon]) -> Vec<String> {
    ipvsctl::output::daemon_text(daemons)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Polls `f` every 200 ms until it gives `Some`, for at most `limit`; panics with `what` then.
/// For what the kernel does in the background, such as the statistics it folds in every 2 s.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Adds a dummy interface `name`, up, with `addrs` (CIDR; IPv6 ones without duplicate address
/// detection, so they can be used at once): the namespace can then route to those networks.
pub fn add_dummy(ns: &NetNs, name: &str, addrs: &[&str]) {
    ns.exec_ok("ip", &["link", "add", name, "type", "dummy"]);
    ns.exec_ok("ip", &["link", "set", name, "multicast", "on", "up"]);
    for a in addrs {
        if a.contains(':') {
            ns.exec_ok("ip", &["addr", "add", a, "dev", name, "nodad"]);
        } else {
            ns.exec_ok("ip", &["addr", "add", a, "dev", name]);
        }
    }
}

/// A TCP listener opened inside the namespace; it serves `body` over HTTP/1.0 to every
/// connection, from a thread of this process, until the process ends.
pub fn http_server(ns: &NetNs, at: SocketAddr, body: &'static str) {
    let listener = ns
        .enter(|| TcpListener::bind(at))
        .unwrap_or_else(|e| panic!("bind {at} in {}: {e}", ns.name()));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut request = [0u8; 1024];
                let _ = conn.read(&mut request);
                let reply = format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes());
                // Keep the connection until the client closes it, so tests can see it open.
                let _ = conn.read(&mut request);
            });
        }
    });
}

/// Connects from inside the namespace and sends an HTTP GET; returns the open connection and
/// the server's answer. The connection stays open until the stream is dropped.
pub fn http_get(ns: &NetNs, to: SocketAddr) -> (TcpStream, String) {
    ns.enter(|| {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect {to}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 512];
        // Read up to the end of the body the server announced.
        loop {
            let n = s
                .read(&mut buf)
                .unwrap_or_else(|e| panic!("read from {to}: {e}"));
            answer.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&answer);
            if n == 0
                || text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
                    head.lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.parse::<usize>().ok())
                        .is_some_and(|len| body.len() >= len)
                })
            {
                break;
            }
        }
        (s, String::from_utf8_lossy(&answer).into_owned())
    })
}

/// Sends a TCP SYN from inside the namespace to `to` and gives up after a short while: the
/// kind of traffic a service with unreachable real servers sees, counted all the same.
pub fn tcp_knock(ns: &NetNs, to: SocketAddr) {
    ns.enter(|| {
        let _ = TcpStream::connect_timeout(&to, Duration::from_millis(300));
    });
}

/// Sends one UDP datagram from inside the namespace.
pub fn udp_send(ns: &NetNs, to: SocketAddr, payload: &[u8]) {
    ns.enter(|| {
        let any: SocketAddr = if to.is_ipv4() {
            "0.0.0.0:0".parse().unwrap()
        } else {
            "[::]:0".parse().unwrap()
        };
        let sock = UdpSocket::bind(any).expect("udp socket");
        sock.send_to(payload, to)
            .unwrap_or_else(|e| panic!("send to {to}: {e}"));
    });
}

/// Asserts that `ipvsadm -L -n -c` lists the connections the library reads (protocol, state,
/// client, virtual and real-server addresses; the expiry times are read a moment apart).
pub fn assert_connections_agree(ns: &NetNs, ipvs: &Ipvs) -> Vec<ipvs::conn::Connection> {
    let conns = ipvs
        .connections()
        .expect("connections")
        .collect::<Result<Vec<_>, _>>()
        .expect("connections");
    let mut ours: Vec<[String; 5]> = conns
        .iter()
        .map(|c| {
            [
                c.protocol.clone(),
                c.state.clone(),
                addrport(c.client_addr, c.client_port),
                addrport(c.virtual_addr, c.virtual_port),
                addrport(c.dest_addr, c.dest_port),
            ]
        })
        .collect();
    let text = ns.ipvsadm_ok(&["-L", "-n", "-c"]);
    let mut theirs: Vec<[String; 5]> = text
        .lines()
        .skip(2)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 6, "{l:?}");
            [f[0], f[2], f[3], f[4], f[5]].map(str::to_string)
        })
        .collect();
    ours.sort();
    theirs.sort();
    assert_eq!(
        theirs, ours,
        "ipvsadm -L -n -c (left) and connections() (right):\n{text}"
    );
    conns
}
