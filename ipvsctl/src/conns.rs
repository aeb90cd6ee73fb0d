//! `ipvsctl conns`: the connection table, filtered and counted.
//!
//! The kernel's only source is `/proc/net/ip_vs_conn` (no netlink command lists connections);
//! it is read one line at a time ([`ipvs::Ipvs::connections`]), so a listing or a count holds
//! the memory of one connection, and a count that of its groups. Rows are ipvsadm `-Lnc`'s.
//!
//! The table does not record a connection's firewall mark: `-f MARK` matches the connections
//! whose real server is one of that service's (a port-0 real server matches every port), and
//! the service's persistence templates (protocol `IP`, the mark as the virtual address).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::IpAddr;

use clap::{Arg, ArgAction, Command};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use ipvs::conn::Connection;
use ipvs::ServiceKey;

use crate::args;
use crate::output::{self, Chunked, NumericOnly, StreamError};
use crate::session::{message, subcommand_matches, Session, Term};

/// The protocol states the kernel names in the table (TCP's, SCTP's, UDP's one, and a
/// persistence template's `NONE` or `ASSURED`).
const STATES: &[&str] = &[
    "NONE",
    "ASSURED",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "SYNACK",
    "UDP",
    "INIT1",
    "INIT",
    "COOKIE_SENT",
    "COOKIE_REPLIED",
    "COOKIE_WAIT",
    "COOKIE_ECHOED",
    "SHUTDOWN_SENT",
    "SHUTDOWN_RECEIVED",
    "SHUTDOWN_ACK_SENT",
    "REJECTED",
    "CLOSED",
];

/// What `--by` groups a count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Server,
    State,
    Service,
    Client,
    Protocol,
}

impl By {
    const ALL: [(&'static str, By); 5] = [
        ("server", By::Server),
        ("state", By::State),
        ("service", By::Service),
        ("client", By::Client),
        ("protocol", By::Protocol),
    ];

    fn word(self) -> &'static str {
        By::ALL
            .iter()
            .find(|(_, b)| *b == self)
            .map_or("", |(w, _)| w)
    }

    fn of(self, c: &Connection) -> Part {
        match self {
            By::Server => Part::Endpoint(c.dest_addr, c.dest_port),
            By::State => Part::Text(c.state.clone()),
            By::Service => match template_mark(c) {
                Some(mark) => Part::Fwmark(mark),
                None => Part::Service(c.protocol.clone(), c.virtual_addr, c.virtual_port),
            },
            By::Client => Part::Addr(c.client_addr),
            By::Protocol => Part::Text(c.protocol.clone()),
        }
    }
}

/// One column of a group's key, ordered as numbers where it is numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Endpoint(IpAddr, u16),
    Addr(IpAddr),
    Service(String, IpAddr, u16),
    Fwmark(u32),
    Text(String),
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint =
            |addr: IpAddr, port: u16| output::addrport(&NumericOnly, addr, port, None, true);
        match self {
            Part::Endpoint(a, p) => f.write_str(&endpoint(*a, *p)),
            Part::Addr(a) => f.write_str(ipvs::addr::Ntop::new(*a).as_str()),
            Part::Service(proto, a, p) => write!(f, "{proto} {}", endpoint(*a, *p)),
            Part::Fwmark(m) => write!(f, "FWM {m}"),
            Part::Text(t) => f.write_str(t),
        }
    }
}

/// The mark of a fwmark service's persistence template: the kernel keeps it in the first 32
/// bits of the virtual address, with protocol `IP` and port 0.
fn template_mark(c: &Connection) -> Option<u32> {
    if c.protocol != "IP" || c.virtual_port != 0 {
        return None;
    }
    Some(match c.virtual_addr {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => {
            let o = a.octets();
            u32::from_be_bytes([o[0], o[1], o[2], o[3]])
        }
    })
}

/// An address with an optional prefix length and port, as `--client` and `--real-server`
/// take it: `ADDR[/PREFIX][:PORT]`, IPv6 as `[ADDR[/PREFIX]]:PORT` or bare `ADDR[/PREFIX]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Endpoint {
    addr: IpAddr,
    prefix: u8,
    port: Option<u16>,
}

impl Endpoint {
    fn parse(s: &str, prefix_allowed: bool) -> Option<Endpoint> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (inside, after) = rest.split_once(']')?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':')?),
            };
            (inside, port)
        } else if s.matches(':').count() > 1 {
            (s, None)
        } else {
            match s.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        let (addr, prefix) = match host.split_once('/') {
            Some((a, p)) if prefix_allowed => (a, Some(p)),
            Some(_) => return None,
            None => (host, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max)?
            }
            Some(_) => return None,
            None => max,
        };
        let port = match port {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse::<u16>().ok()?)
            }
            Some(_) => return None,
            None => None,
        };
        Some(Endpoint { addr, prefix, port })
    }

    fn matches(&self, addr: IpAddr, port: u16) -> bool {
        self.port.is_none_or(|p| p == port) && in_prefix(self.addr, self.prefix, addr)
    }
}

/// Whether `addr` is in `net/prefix` (never across address families).
fn in_prefix(net: IpAddr, prefix: u8, addr: IpAddr) -> bool {
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Which connections to show or count.
#[derive(Debug, Default)]
struct Filter {
    /// A TCP, UDP or SCTP service: its protocol, address and port.
    service: Option<(&'static str, IpAddr, u16)>,
    /// A fwmark service: its mark and its real servers (address, port; 0 for any).
    fwmark: Option<(u32, Vec<(IpAddr, u16)>)>,
    real_server: Option<Endpoint>,
    client: Option<Endpoint>,
    protocols: Vec<String>,
    states: Vec<String>,
}

impl Filter {
    fn keeps(&self, c: &Connection) -> bool {
        if let Some((proto, addr, port)) = self.service {
            if c.protocol != proto || c.virtual_addr != addr || c.virtual_port != port {
                return false;
            }
        }
        if let Some((mark, reals)) = &self.fwmark {
            let template = template_mark(c);
            let ours = match template {
                Some(m) => m == *mark,
                None => reals
                    .iter()
                    .any(|&(a, p)| a == c.dest_addr && (p == 0 || p == c.dest_port)),
            };
            if !ours {
                return false;
            }
        }
        if let Some(r) = &self.real_server {
            if !r.matches(c.dest_addr, c.dest_port) {
                return false;
            }
        }
        if let Some(cl) = &self.client {
            if !cl.matches(c.client_addr, c.client_port) {
                return false;
            }
        }
        (self.protocols.is_empty() || self.protocols.contains(&c.protocol))
            && (self.states.is_empty() || self.states.contains(&c.state))
    }
}

/// The clap description of `conns` (parsing, help, man page, completions).
pub fn command() -> Command {
    let cmd = Command::new("conns")
        .about("List or count the connection table, filtered by service, real server, client, protocol or state")
        .long_about(
            "Lists the kernel's connection table (/proc/net/ip_vs_conn) as ipvsadm -Lnc does, \
             keeping only the connections every given filter matches, or counts them \
             (--count), in groups with --by. The table is read one line at a time: a listing \
             or a count takes the memory of one connection, whatever the table's size. The \
             table does not record a connection's firewall mark: -f matches the connections to \
             the fwmark service's real servers and its persistence templates. Exit status: 0 \
             done (also when nothing matched), 1 the table could not be read, 2 bad arguments.",
        )
        .disable_version_flag(true);
    args::service_args(cmd, false)
        .arg(
            Arg::new("real-server")
                .short('r')
                .long("real-server")
                .value_name("ADDR[:PORT]")
                .num_args(1)
                .help("Only connections to this real server (any port when none is given)"),
        )
        .arg(
            Arg::new("client")
                .long("client")
                .value_name("ADDR[/PREFIX][:PORT]")
                .num_args(1)
                .help("Only connections from this client address, network or port ([ADDR]:PORT for IPv6)"),
        )
        .arg(
            Arg::new("protocol")
                .long("protocol")
                .value_name("tcp|udp|sctp[,...]")
                .num_args(1)
                .help("Only connections of these protocols"),
        )
        .arg(
            Arg::new("state")
                .long("state")
                .value_name("STATE[,...]")
                .num_args(1)
                .help("Only connections in these states (ESTABLISHED, SYN_RECV, TIME_WAIT, UDP, NONE...)"),
        )
        .arg(
            Arg::new("count")
                .long("count")
                .action(ArgAction::SetTrue)
                .help("Print how many connections match instead of listing them"),
        )
        .arg(
            Arg::new("by")
                .long("by")
                .value_name("server|state|service|client|protocol[,...]")
                .num_args(1)
                .requires("count")
                .help("With --count: one count per group (e.g. --by server,state)"),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help("Print JSON: -Lc --json's document, or the counts"),
        )
        .arg(args::netns())
}

/// The bad argument's message: `conns: --state FOO: ...`.
fn bad(option: &str, value: &str, why: &str) -> String {
    format!("conns: {option} {value}: {why}")
}

/// A comma list, each word upper-cased and checked by `known`.
fn word_list(
    option: &str,
    value: &str,
    known: impl Fn(&str) -> bool,
    what: &str,
) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(|w| {
            let up = w.trim().to_ascii_uppercase();
            if known(&up) {
                Ok(up)
            } else {
                Err(bad(option, value, &format!("{w:?} is not {what}")))
            }
        })
        .collect()
}

/// Runs `ipvsctl conns ARGS` and returns the exit code.
pub fn main(prog: &str, argv: &[String], term: &mut Term) -> io::Result<i32> {
    let matches = match subcommand_matches(command().bin_name("ipvsctl conns"), argv, term)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let mut filter = Filter::default();
    let key = match args::service_key(prog, &matches) {
        Ok(k) => k,
        Err(f) => {
            // ipvsadm's words, after the value they are about.
            let given = args::service_words(&matches).join(" ");
            term.error(&format!("conns: {given}: {}", f.message))?;
            return Ok(f.code);
        }
    };
    let parsed = (|| -> Result<Vec<By>, String> {
        if let Some(v) = matches.get_one::<String>("real-server") {
            filter.real_server = Some(
                Endpoint::parse(v, false)
                    .ok_or_else(|| bad("--real-server", v, "not an ADDR[:PORT]"))?,
            );
        }
        if let Some(v) = matches.get_one::<String>("client") {
            filter.client = Some(
                Endpoint::parse(v, true)
                    .ok_or_else(|| bad("--client", v, "not an ADDR[/PREFIX][:PORT]"))?,
            );
        }
        if let Some(v) = matches.get_one::<String>("protocol") {
            filter.protocols = word_list(
                "--protocol",
                v,
                |w| matches!(w, "TCP" | "UDP" | "SCTP"),
                "tcp, udp or sctp",
            )?;
        }
        if let Some(v) = matches.get_one::<String>("state") {
            filter.states = word_list("--state", v, |w| STATES.contains(&w), "a state")?;
        }
        match matches.get_one::<String>("by") {
            None => Ok(Vec::new()),
            Some(v) => v
                .split(',')
                .map(|w| {
                    By::ALL
                        .iter()
                        .find(|(word, _)| *word == w.trim())
                        .map(|(_, b)| *b)
                        .ok_or_else(|| {
                            bad(
                                "--by",
                                v,
                                &format!("{w:?} is not server, state, service, client or protocol"),
                            )
                        })
                })
                .collect(),
        }
    })();
    let by = match parsed {
        Ok(by) => by,
        Err(e) => {
            term.error(&e)?;
            return Ok(2);
        }
    };
    let session = match Session::open(matches.get_one::<String>("netns").map(String::as_str)) {
        Ok(s) => s,
        Err(e) => {
            term.error(&e)?;
            return Ok(2);
        }
    };
    let ipvs = session.ipvs();
    match key {
        None => {}
        Some(k @ ServiceKey::Fwmark { fwmark, .. }) => {
            // A service that is not there has no connections.
            let reals = match ipvs.service(&k).and_then(|s| match s {
                Some(_) => ipvs.destinations(&k),
                None => Ok(Vec::new()),
            }) {
                Ok(d) => d
                    .iter()
                    .map(|d| (d.destination.addr, d.destination.port))
                    .collect(),
                Err(e) => {
                    term.error(&format!("conns: {}", message(&e)))?;
                    return Ok(1);
                }
            };
            filter.fwmark = Some((fwmark, reals));
        }
        Some(ServiceKey::Addr {
            protocol,
            addr,
            port,
        }) => {
            // The kernel's names in the table (ip_vs_proto_name).
            let name = match protocol {
                ipvs::Protocol::Tcp => "TCP",
                ipvs::Protocol::Udp => "UDP",
                ipvs::Protocol::Sctp => "SCTP",
                _ => "unknown",
            };
            filter.service = Some((name, addr, port));
        }
    }
    let conns = match ipvs.connections() {
        Ok(c) => c,
        Err(e) => {
            term.error(&format!("conns: {}", message(&e)))?;
            return Ok(1);
        }
    };
    let mut kept = conns.filter(|c| match c {
        Ok(c) => filter.keeps(c),
        // A failed read goes on to end the listing.
        Err(_) => true,
    });
    let json = matches.get_flag("json");
    let read: Result<(), ipvs::Error> = if matches.get_flag("count") {
        count(&mut kept, &by, json, term)?
    } else if json {
        let mut out = Chunked::new(term);
        match output::stream_connections_json(|| kept.next(), &mut out) {
            Ok(()) => out.finish().map(|()| Ok(()))?,
            Err(StreamError::Read(e)) => {
                out.finish()?;
                Err(e)
            }
            Err(StreamError::Write(e)) => return Err(e),
        }
    } else {
        term.print(&output::connections_title(false))?;
        let mut row = String::new();
        let mut result = Ok(());
        for c in kept {
            match c {
                Ok(c) => {
                    row.clear();
                    output::connection_row(&mut row, &c, true, false, &NumericOnly);
                    term.print(&row)?;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        result
    };
    match read {
        Ok(()) => Ok(0),
        Err(e) => {
            term.error(&format!("conns: {}", message(&e)))?;
            Ok(1)
        }
    }
}

/// `--count [--by ...]`: the total, or one count per group (sorted by the group's key).
fn count(
    conns: &mut dyn Iterator<Item = Result<Connection, ipvs::Error>>,
    by: &[By],
    json: bool,
    term: &mut Term,
) -> io::Result<Result<(), ipvs::Error>> {
    let mut total: u64 = 0;
    let mut groups: BTreeMap<Vec<Part>, u64> = BTreeMap::new();
    for c in conns {
        let c = match c {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        total += 1;
        if !by.is_empty() {
            *groups
                .entry(by.iter().map(|b| b.of(&c)).collect())
                .or_insert(0) += 1;
        }
    }
    if json {
        let doc = Counts {
            total,
            by,
            groups: &groups,
        };
        // ipvsctl's serializer: serde_json's pretty bytes (`counts_json_is_serde_jsons`).
        term.print(&output::pretty_document(&doc))?;
        return Ok(Ok(()));
    }
    if by.is_empty() {
        term.print(&format!("{total}\n"))?;
        return Ok(Ok(()));
    }
    // Columns as wide as their widest entry, the count last.
    let rows: Vec<(Vec<String>, u64)> = groups
        .iter()
        .map(|(k, n)| (k.iter().map(Part::to_string).collect(), *n))
        .collect();
    let mut widths: Vec<usize> = by.iter().map(|b| b.word().len()).collect();
    for (cols, _) in &rows {
        for (w, c) in widths.iter_mut().zip(cols) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    for (w, b) in widths.iter().zip(by) {
        out.push_str(&format!("{:<w$}  ", b.word()));
    }
    out.push_str("count\n");
    for (cols, n) in rows {
        for (w, c) in widths.iter().zip(&cols) {
            out.push_str(&format!("{c:<w$}  "));
        }
        out.push_str(&format!("{n}\n"));
    }
    term.print(&out)?;
    Ok(Ok(()))
}

/// `--count --json`: `{"total": N}`, with `--by` also `"counts": [{KEY: ..., "count": N}]`.
struct Counts<'a> {
    total: u64,
    by: &'a [By],
    groups: &'a BTreeMap<Vec<Part>, u64>,
}

struct Group<'a> {
    by: &'a [By],
    key: &'a [Part],
    count: u64,
}

impl Serialize for Counts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("total", &self.total)?;
        if !self.by.is_empty() {
            let groups: Vec<Group<'_>> = self
                .groups
                .iter()
                .map(|(key, count)| Group {
                    by: self.by,
                    key,
                    count: *count,
                })
                .collect();
            m.serialize_entry("counts", &groups)?;
        }
        m.end()
    }
}

impl Serialize for Group<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (b, part) in self.by.iter().zip(self.key) {
            m.serialize_entry(b.word(), &part.to_string())?;
        }
        m.serialize_entry("count", &self.count)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(line: &str) -> Connection {
        ipvs::conn::parse_connections(line).unwrap().remove(0)
    }

    #[test]
    fn endpoints_parse_with_and_without_prefix_and_port() {
        let e = |s| Endpoint::parse(s, true);
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            e("10.0.0.1"),
            Some(Endpoint {
                addr: v4,
                prefix: 32,
                port: None
            })
        );
        assert_eq!(
            e("10.0.0.1/8:80"),
            Some(Endpoint {
                addr: v4,
                prefix: 8,
                port: Some(80)
            })
        );
        assert_eq!(
            e("2001:db8::1").map(|e| (e.prefix, e.port)),
            Some((128, None))
        );
        assert_eq!(e("2001:db8::1/64").map(|e| e.prefix), Some(64));
        assert_eq!(
            e("[2001:db8::1]:443"),
            Some(Endpoint {
                addr: v6,
                prefix: 128,
                port: Some(443)
            })
        );
        assert_eq!(e("[2001:db8::/32]:53").map(|e| e.prefix), Some(32));
        for bad in [
            "",
            "10.0.0.300",
            "10.0.0.1:",
            "10.0.0.1:x",
            "10.0.0.1:65536",
            "10.0.0.1/33",
            "10.0.0.1/",
            "[2001:db8::1]x",
            "[2001:db8::1",
            "host.example",
            "2001:db8::1/129",
        ] {
            assert_eq!(e(bad), None, "{bad}");
        }
        assert_eq!(Endpoint::parse("10.0.0.1/8", false), None);
    }

    #[test]
    fn prefixes_match_their_network_only() {
        let net = Endpoint::parse("10.1.0.0/16", true).unwrap();
        assert!(net.matches("10.1.255.3".parse().unwrap(), 1234));
        assert!(!net.matches("10.2.0.1".parse().unwrap(), 1234));
        assert!(!net.matches("::ffff:10.1.0.1".parse().unwrap(), 1234));
        let all = Endpoint::parse("0.0.0.0/0:53", true).unwrap();
        assert!(all.matches("192.0.2.1".parse().unwrap(), 53));
        assert!(!all.matches("192.0.2.1".parse().unwrap(), 54));
        let v6 = Endpoint::parse("2001:db8::/32", true).unwrap();
        assert!(v6.matches("2001:db8:1::5".parse().unwrap(), 1));
        assert!(!v6.matches("2001:db9::5".parse().unwrap(), 1));
    }

    #[test]
    fn the_filter_keeps_what_every_part_matches() {
        let tcp = conn("TCP 0A000001 8E3A 0A000064 0050 C0A80A0B 0050 ESTABLISHED     899\n");
        let udp = conn("UDP 0A000002 1000 0A000064 0035 C0A80A0C 0035 UDP             299\n");
        let tmpl = conn("IP  0A000002 0000 00000007 0000 C0A80A0C 0000 NONE            299\n");
        let mut f = Filter {
            service: Some(("TCP", "10.0.0.100".parse().unwrap(), 80)),
            ..Filter::default()
        };
        assert!(f.keeps(&tcp) && !f.keeps(&udp) && !f.keeps(&tmpl));
        f = Filter {
            fwmark: Some((7, vec![("192.168.10.12".parse().unwrap(), 0)])),
            ..Filter::default()
        };
        assert!(!f.keeps(&tcp) && f.keeps(&udp) && f.keeps(&tmpl));
        f = Filter {
            states: vec!["ESTABLISHED".into(), "NONE".into()],
            ..Filter::default()
        };
        assert!(f.keeps(&tcp) && !f.keeps(&udp) && f.keeps(&tmpl));
        f = Filter {
            client: Endpoint::parse("10.0.0.2", true),
            real_server: Endpoint::parse("192.168.10.12:53", false),
            ..Filter::default()
        };
        assert!(!f.keeps(&tcp) && f.keeps(&udp) && !f.keeps(&tmpl));
        assert_eq!(By::Service.of(&tmpl).to_string(), "FWM 7");
        assert_eq!(By::Service.of(&tcp).to_string(), "TCP 10.0.0.100:80");
        assert_eq!(By::Server.of(&udp).to_string(), "192.168.10.12:53");
        assert_eq!(By::Client.of(&udp).to_string(), "10.0.0.2");
    }

    #[test]
    fn counts_group_and_sort_by_their_keys() {
        let conns: Vec<Result<Connection, ipvs::Error>> = [
            "TCP 0A000001 8E3A 0A000064 0050 C0A80A0B 0050 ESTABLISHED     899\n",
            "TCP 0A000001 8E3B 0A000064 0050 C0A80A0B 0050 TIME_WAIT       99\n",
            "TCP 0A000001 8E3C 0A000064 0050 C0A80A0A 0050 TIME_WAIT       99\n",
            "TCP 0A000001 8E3D 0A000064 0050 C0A80A0B 0050 TIME_WAIT       99\n",
        ]
        .iter()
        .map(|l| Ok(conn(l)))
        .collect();
        let mut term = Term::buffer();
        count(
            &mut conns.into_iter(),
            &[By::Server, By::State],
            false,
            &mut term,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            term.take(),
            "server            state        count\n\
             192.168.10.10:80  TIME_WAIT    1\n\
             192.168.10.11:80  ESTABLISHED  1\n\
             192.168.10.11:80  TIME_WAIT    2\n"
        );
    }

    #[test]
    fn counts_json_is_serde_jsons() {
        let conns: Vec<Connection> = [
            "TCP 0A000001 8E3A 0A000064 0050 C0A80A0B 0050 ESTABLISHED     899\n",
            "TCP 0A000001 8E3B 0A000064 0050 C0A80A0B 0050 TIME_WAIT       99\n",
            "UDP 0A000002 8E3C 0A000064 0035 C0A80A0A 0035 NONE            99\n",
            "IP 00000007 0000 00000007 0000 C0A80A0B 0000 NONE            99\n",
        ]
        .iter()
        .map(|l| conn(l))
        .collect();
        for by in [
            &[][..],
            &[By::Server, By::State][..],
            &[By::Service, By::Client, By::Protocol][..],
        ] {
            let mut groups = BTreeMap::new();
            for c in &conns {
                *groups
                    .entry(by.iter().map(|b| b.of(c)).collect::<Vec<_>>())
                    .or_insert(0) += 1;
            }
            let doc = Counts {
                total: conns.len() as u64,
                by,
                groups: &groups,
            };
            let theirs = serde_json::to_string_pretty(&doc).unwrap() + "\n";
            assert_eq!(output::pretty_document(&doc), theirs);
            // And through the command.
            let mut term = Term::buffer();
            count(&mut conns.iter().cloned().map(Ok), by, true, &mut term)
                .unwrap()
                .unwrap();
            assert_eq!(term.take(), theirs);
        }
    }

    #[test]
    fn the_command_is_valid() {
        command().debug_assert();
    }
}
