//! What the library tests share: a handle on a test namespace, ipvsadm's listing formats rebuilt
//! from the library's values (so that what the library reports can be compared with what
//! ipvsadm prints for the same kernel state), and traffic from inside a namespace.
#![allow(dead_code)] // each helper is for the tests that need it

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use ipvs::{
    DestinationEntry, Family, Forward, Ipvs, Netmask, Protocol, Service, ServiceFlags, ServiceKey,
    SyncDaemon, TunnelFlags, TunnelType, VirtualServer,
};

use crate::harness::NetNs;

/// The library's handle on the namespace, opened by name as `ip netns` names it.
pub fn open(ns: &NetNs) -> Ipvs {
    Ipvs::in_netns(ns.name()).unwrap_or_else(|e| panic!("Ipvs::in_netns({}): {e}", ns.name()))
}

/// A service's configuration as it was given: without `HASHED`, which the kernel adds to
/// every service it reports.
pub fn as_configured(s: &Service) -> Service {
    let mut s = s.clone();
    s.flags.remove(ServiceFlags::HASHED);
    s
}

/// `addr:port`, IPv6 addresses in brackets, as ipvsadm prints them with `-n`.
pub fn addrport(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// ipvsadm's `-S` name of a service: `-t 10.0.0.1:80`, `--sctp-service ...`, `-f 7 -6`.
pub fn rule_name(key: &ServiceKey) -> String {
    match *key {
        ServiceKey::Fwmark { fwmark, family } => match family {
            Family::Inet => format!("-f {fwmark}"),
            Family::Inet6 => format!("-f {fwmark} -6"),
        },
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let option = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
                other => panic!("ipvsadm has no option for protocol {other}"),
            };
            format!("{option} {}", addrport(addr, port))
        }
    }
}

/// ipvsadm's `-b` text of the scheduler flags (`print_sched_flags`), empty when none is set.
pub fn sched_flags(s: &Service) -> String {
    let names: &[(ServiceFlags, &str)] = match s.scheduler.name() {
        "sh" => &[
            (ServiceFlags::SH_FALLBACK, "sh-fallback"),
            (ServiceFlags::SH_PORT, "sh-port"),
        ],
        "mh" => &[
            (ServiceFlags::MH_FALLBACK, "mh-fallback"),
            (ServiceFlags::MH_PORT, "mh-port"),
        ],
        _ => &[
            (ServiceFlags::SCHED1, "flag-1"),
            (ServiceFlags::SCHED2, "flag-2"),
            (ServiceFlags::SCHED3, "flag-3"),
        ],
    };
    let set: Vec<&str> = names
        .iter()
        .filter(|(flag, _)| s.flags.contains(*flag))
        .map(|(_, name)| *name)
        .collect();
    set.join(",")
}

/// The netmask as ipvsadm prints it after `-M` / `mask`, or `None` for the full default.
pub fn netmask_text(s: &Service) -> Option<String> {
    (s.netmask != Netmask::full(s.key.family())).then(|| s.netmask.to_string())
}

/// The `-S -n` line of a service (`print_service_entry` with `FMT_RULE`).
pub fn service_rule(s: &Service) -> String {
    let mut line = format!("-A {} -s {}", rule_name(&s.key), s.scheduler);
    if s.flags.contains(ServiceFlags::PERSISTENT) {
        write!(line, " -p {}", s.timeout).unwrap();
        if let Some(mask) = netmask_text(s) {
            write!(line, " -M {mask}").unwrap();
        }
    }
    if let Some(pe) = &s.persistence_engine {
        write!(line, " --pe {pe}").unwrap();
    }
    if s.flags.contains(ServiceFlags::ONEPACKET) {
        line.push_str(" -o");
    }
    let flags = sched_flags(s);
    if !flags.is_empty() {
        write!(line, " -b {flags}").unwrap();
    }
    line
}

fn tunnel_flags_option(flags: TunnelFlags) -> &'static str {
    // ipvsadm indexes an array with the flags: 0, 1 and 2 are the only values it can print.
    if flags == TunnelFlags::CSUM {
        "--tun-csum"
    } else if flags == TunnelFlags::REMCSUM {
        "--tun-remcsum"
    } else {
        assert!(
            flags.is_empty(),
            "ipvsadm cannot print tunnel flags {flags:?}"
        );
        "--tun-nocsum"
    }
}

/// The `-S -n` line of a destination (`print_service_entry`, `print_tunnel_rule`).
pub fn dest_rule(key: &ServiceKey, d: &ipvs::Destination) -> String {
    let switch = match d.forward {
        Forward::Masquerade => "-m",
        Forward::Tunnel { .. } => "-i",
        Forward::DirectRoute | Forward::Local => "-g",
        other => panic!("ipvsadm has no switch for {other:?}"),
    };
    let mut line = format!(
        "-a {} -r {} {switch} -w {}",
        rule_name(key),
        addrport(d.addr, d.port),
        d.weight
    );
    if let Forward::Tunnel { kind, port, flags } = d.forward {
        match kind {
            TunnelType::Ipip => line.push_str(" --tun-type ipip"),
            TunnelType::Gue => write!(
                line,
                " --tun-type gue --tun-port {port} {}",
                tunnel_flags_option(flags)
            )
            .unwrap(),
            TunnelType::Gre => {
                write!(line, " --tun-type gre {}", tunnel_flags_option(flags)).unwrap()
            }
            other => panic!("ipvsadm cannot print tunnel type {other}"),
        }
    }
    line
}

/// Every `-S -n` line of a state, sorted (ipvsadm sorts too, but each line is self-contained).
pub fn save_lines(state: &[VirtualServer]) -> Vec<String> {
    let mut lines = Vec::new();
    for vs in state {
        lines.push(service_rule(&vs.entry.service));
        for d in &vs.destinations {
            lines.push(dest_rule(&vs.entry.service.key, &d.destination));
        }
    }
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

/// ipvsadm's `-L` name of a service: `TCP  10.0.0.1:80`, `FWM  7 IPv6` (`print_service_entry`).
pub fn list_name(key: &ServiceKey) -> String {
    match *key {
        ServiceKey::Fwmark { fwmark, family } => match family {
            Family::Inet => format!("FWM  {fwmark}"),
            Family::Inet6 => format!("FWM  {fwmark} IPv6"),
        },
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let mut name = format!("{:<4} {}", protocol.to_string(), addrport(addr, port));
            if addr.is_ipv4() {
                name.truncate(33);
            }
            name
        }
    }
}

fn dest_list_name(d: &DestinationEntry) -> String {
    let mut name = addrport(d.destination.addr, d.destination.port);
    if d.destination.addr.is_ipv4() {
        name.truncate(28);
    }
    name
}

/// `print_largenum` with `--exact`.
fn exact(n: u64) -> String {
    let digits = n.to_string();
    let width = if digits.len() <= 8 {
        9
    } else {
        digits.len() + 1
    };
    format!("{digits:>width$}")
}

/// Which `ipvsadm -L -n` listing to rebuild.
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
}

fn fwd_name(f: &Forward) -> &'static str {
    match f {
        Forward::Masquerade => "Masq",
        Forward::Local => "Local",
        Forward::Tunnel { .. } => "Tunnel",
        Forward::DirectRoute => "Route",
        other => panic!("ipvsadm has no name for {other:?}"),
    }
}

fn tun_info(f: &Forward) -> String {
    let flags = |flags: TunnelFlags| {
        if flags == TunnelFlags::CSUM {
            "+c"
        } else if flags == TunnelFlags::REMCSUM {
            "r+c"
        } else {
            assert!(
                flags.is_empty(),
                "ipvsadm cannot print tunnel flags {flags:?}"
            );
            "-c"
        }
    };
    match *f {
        Forward::Tunnel {
            kind: TunnelType::Ipip,
            ..
        } => "ipip".into(),
        Forward::Tunnel {
            kind: TunnelType::Gue,
            port,
            flags: f,
        } => format!("gue:{port}:{}", flags(f)),
        Forward::Tunnel {
            kind: TunnelType::Gre,
            flags: f,
            ..
        } => format!("gre:{}", flags(f)),
        _ => "n/a".into(),
    }
}

/// The service line of the listings other than `--stats`/`--rate` (`print_service_entry`).
pub fn service_list_line(s: &Service) -> String {
    let mut line = format!("{} {}", list_name(&s.key), s.scheduler);
    let flags = sched_flags(s);
    if !flags.is_empty() {
        write!(line, " ({flags})").unwrap();
    }
    if s.flags.contains(ServiceFlags::PERSISTENT) {
        write!(line, " persistent {}", s.timeout).unwrap();
        if let Some(mask) = netmask_text(s) {
            write!(line, " mask {mask}").unwrap();
        }
        if let Some(pe) = &s.persistence_engine {
            write!(line, " pe {pe}").unwrap();
        }
    }
    if s.flags.contains(ServiceFlags::ONEPACKET) {
        line.push_str(" ops");
    }
    line
}

fn dest_list_line(d: &DestinationEntry, listing: Listing) -> String {
    let name = dest_list_name(d);
    let c = &d.destination;
    let five = |s: &ipvs::Stats| {
        [
            s.conns,
            s.in_packets,
            s.out_packets,
            s.in_bytes,
            s.out_bytes,
        ]
        .into_iter()
        .map(exact)
        .collect::<String>()
    };
    match listing {
        Listing::Plain => format!(
            "  -> {name:<28} {:<7} {:<6} {:<10} {:<10}",
            fwd_name(&c.forward),
            c.weight,
            d.active_conns,
            d.inactive_conns
        ),
        Listing::Thresholds => format!(
            "  -> {name:<28} {:<10} {:<10} {:<10} {:<10}",
            c.upper_threshold, c.lower_threshold, d.active_conns, d.inactive_conns
        ),
        Listing::PersistentConn => format!(
            "  -> {name:<28} {:<9} {:<11} {:<10} {:<10}",
            c.weight, d.persistent_conns, d.active_conns, d.inactive_conns
        ),
        Listing::TunInfo => format!(
            "  -> {name:<28} {:<7} {:<13} {:<6} {:<10} {:<10}",
            fwd_name(&c.forward),
            tun_info(&c.forward),
            c.weight,
            d.active_conns,
            d.inactive_conns
        ),
        Listing::StatsExact => format!("  -> {name:<28}{}", five(&d.stats)),
    }
}

/// One block per service of an ipvsadm listing rebuilt from the library's state: the service
/// line, then its destinations' lines sorted; blocks sorted, line ends trimmed.
pub fn list_blocks(state: &[VirtualServer], listing: Listing) -> Vec<Vec<String>> {
    let mut blocks: Vec<Vec<String>> = state
        .iter()
        .map(|vs| {
            let s = &vs.entry.service;
            let svc = match listing {
                Listing::StatsExact => {
                    let st = &vs.entry.stats;
                    let nums: String = [
                        st.conns,
                        st.in_packets,
                        st.out_packets,
                        st.in_bytes,
                        st.out_bytes,
                    ]
                    .into_iter()
                    .map(exact)
                    .collect();
                    format!("{:<33}{nums}", list_name(&s.key))
                }
                _ => service_list_line(s),
            };
            let mut dests: Vec<String> = vs
                .destinations
                .iter()
                .map(|d| dest_list_line(d, listing).trim_end().to_string())
                .collect();
            dests.sort();
            std::iter::once(svc.trim_end().to_string())
                .chain(dests)
                .collect()
        })
        .collect();
    blocks.sort();
    blocks
}

/// Asserts that an ipvsadm listing in the namespace shows what the library reports.
pub fn assert_listing_agrees(ns: &NetNs, state: &[VirtualServer], listing: Listing) {
    let text = ns.ipvsadm_ok(listing.args());
    assert_eq!(
        listing_blocks(&text, 3),
        list_blocks(state, listing),
        "ipvsadm {} (left) and the library (right) differ; ipvsadm printed:\n{text}",
        listing.args().join(" ")
    );
}

/// The lines of an ipvsadm listing after its `skip` header lines, cut into one block per
/// service (destination lines start with `  ->`), destination lines sorted, blocks sorted.
pub fn listing_blocks(text: &str, skip: usize) -> Vec<Vec<String>> {
    let mut blocks: Vec<Vec<String>> = Vec::new();
    for line in text.lines().skip(skip) {
        match blocks.last_mut() {
            Some(block) if line.starts_with("  ->") => block.push(line.trim_end().to_string()),
            _ => blocks.push(vec![line.trim_end().to_string()]),
        }
    }
    for b in &mut blocks {
        b[1..].sort();
    }
    blocks.sort();
    blocks
}

/// ipvsadm's `-L --daemon` line of a sync daemon (`list_daemon`).
pub fn daemon_line(d: &SyncDaemon) -> String {
    let mut line = format!(
        "{} sync daemon (mcast={}, syncid={}",
        d.state, d.mcast_interface, d.sync_id
    );
    if let Some(m) = d.sync_maxlen.filter(|m| *m != 0) {
        write!(line, ", maxlen={m}").unwrap();
    }
    if let Some(g) = d.mcast_group {
        write!(line, ", group={g}").unwrap();
    }
    if let Some(p) = d.mcast_port.filter(|p| *p != 0) {
        write!(line, ", port={p}").unwrap();
    }
    if let Some(t) = d.mcast_ttl.filter(|t| *t != 0) {
        write!(line, ", ttl={t}").unwrap();
    }
    line.push(')');
    line
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
pub fn assert_connections_agree(ns: &NetNs, ipvs: &Ipvs) -> Vec<ipvs::Connection> {
    let conns = ipvs.connections().expect("connections");
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
