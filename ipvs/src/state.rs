//! The state schema: services with their destinations (and optionally the
//! connection timeouts) as a program wants them, or as the kernel has them.
//!
//! The serde form of [`State`] is the save document of `docs/json.md`: what
//! `ipvsctl -S --json` writes and `ipvsctl -R --json` / `ipvsctl apply` read.
//! Addresses are strings (IPv6 as glibc's `inet_ntop` writes them),
//! enumerations lowercase words, and the kernel-internal `hashed` service flag
//! is never written. Reading fills ipvsadm's defaults for missing fields and
//! makes ipvsadm's checks, each error naming where it is
//! (`services[2].destinations[0].forward`) and what is wrong with the value.
//! [`State::validate`] makes the same checks on a state built in Rust.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::{
    Destination, Family, Forward, Netmask, Protocol, Scheduler, Service, ServiceFlags, ServiceKey,
    Timeouts, TunnelFlags, TunnelType, VirtualServer,
};

/// A whole IPVS table: services with their destinations, optionally timeouts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "StateInput", into = "StateOutput")]
pub struct State {
    /// The services, each with its destinations.
    pub services: Vec<ServiceState>,
    /// Connection timeouts (`"timeouts": {"tcp", "tcp_fin", "udp"}`), when the
    /// state sets them; 0 leaves a value as it is.
    pub timeouts: Option<Timeouts>,
}

/// A service with its destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    /// The service.
    pub service: Service,
    /// Its destinations.
    pub destinations: Vec<Destination>,
}

impl ServiceState {
    /// A service without destinations.
    pub fn new(service: Service) -> Self {
        ServiceState {
            service,
            destinations: Vec::new(),
        }
    }
    /// Adds a destination.
    pub fn with_destination(mut self, d: Destination) -> Self {
        self.destinations.push(d);
        self
    }
}

/// A state that fails a check: where (`services[0].destinations[1].weight`)
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError(pub String);

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StateError {}

impl State {
    /// The configuration part of what [`crate::Ipvs::state`] read, in the given
    /// order (no statistics, no connection counts, no kernel-internal `HASHED`
    /// bit).
    pub fn from_servers<'a>(servers: impl IntoIterator<Item = &'a VirtualServer>) -> Self {
        State {
            services: servers
                .into_iter()
                .map(|vs| {
                    let mut service = vs.entry.service.clone();
                    service.flags.remove(ServiceFlags::HASHED);
                    ServiceState {
                        service,
                        destinations: vs.destinations.iter().map(|d| d.destination).collect(),
                    }
                })
                .collect(),
            timeouts: None,
        }
    }

    /// ipvsadm's checks on every value (the ones reading the JSON form makes):
    /// names of 1 to 15 bytes, port 0 only for persistent services, `ops` only
    /// for UDP and fwmark services, tunnel options that fit the tunnel type,
    /// other address families only for tunnels, weights and thresholds in
    /// range. Each service is named at most once, and so is each destination
    /// within its service.
    pub fn validate(&self) -> Result<(), StateError> {
        let mut keys = std::collections::HashSet::with_capacity(self.services.len());
        for (i, s) in self.services.iter().enumerate() {
            let path = format!("services[{i}]");
            check_service(&s.service).map_err(|(f, m)| StateError(format!("{path}.{f}: {m}")))?;
            if !keys.insert(s.service.key) {
                return Err(StateError(format!("{path}: the service is named twice")));
            }
            let mut dests = std::collections::HashSet::with_capacity(s.destinations.len());
            for (j, d) in s.destinations.iter().enumerate() {
                let dpath = format!("{path}.destinations[{j}]");
                check_destination(d, &s.service.key)
                    .map_err(|(f, m)| StateError(format!("{dpath}.{f}: {m}")))?;
                if !dests.insert((d.addr, d.port)) {
                    return Err(StateError(format!(
                        "{dpath}: the destination is named twice in its service"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A failed check on a typed value: the field and the message.
type Check = Result<(), (&'static str, String)>;

fn fail(field: &'static str, msg: impl fmt::Display) -> Check {
    Err((field, msg.to_string()))
}

fn check_name(field: &'static str, name: &str) -> Check {
    if name.is_empty() || name.len() > NAME_MAX || name.contains('\0') {
        return fail(
            field,
            format!("invalid name {name:?} (1 to {NAME_MAX} bytes)"),
        );
    }
    Ok(())
}

/// ipvsadm's and the kernel's checks on a service's values.
fn check_service(s: &Service) -> Check {
    if let ServiceKey::Fwmark { fwmark: 0, .. } = s.key {
        return fail("fwmark", "fwmark 0 is not a valid mark");
    }
    check_name("scheduler", s.scheduler.name())?;
    let persistent = s.flags.contains(ServiceFlags::PERSISTENT);
    if persistent && s.timeout == 0 {
        return fail("timeout", "a persistent service needs a timeout above 0");
    }
    match (s.key.family(), s.netmask) {
        (Family::Inet, Netmask::V4(_)) => {}
        (Family::Inet6, Netmask::V6(p)) if (1..=128).contains(&p) => {}
        (Family::Inet, _) => {
            return fail(
                "netmask",
                "an IPv4 service's netmask is a dotted quad such as \"255.255.255.0\"",
            )
        }
        (Family::Inet6, _) => {
            return fail(
                "netmask",
                "an IPv6 service's netmask is a prefix length from 1 to 128",
            )
        }
    }
    if let Some(pe) = s.persistence_engine.as_deref() {
        check_name("persistence_engine", pe)?;
    }
    if let ServiceKey::Addr { protocol, port, .. } = s.key {
        if port == 0 && !persistent {
            return fail("port", "port 0 needs a persistent service");
        }
        if s.flags.contains(ServiceFlags::ONEPACKET) && protocol != Protocol::Udp {
            return fail(
                "flags",
                "\"ops\" (one-packet scheduling) is only for UDP or fwmark services",
            );
        }
    }
    Ok(())
}

/// The tunnel rules: `gue` needs a port, `ipip` and `gre` have none; `ipip`
/// has no checksum flags, `gre` no `remcsum`; `csum` and `remcsum` exclude
/// each other.
fn check_tunnel(kind: TunnelType, port: u16, flags: TunnelFlags) -> Check {
    let both = TunnelFlags::CSUM | TunnelFlags::REMCSUM;
    match kind {
        TunnelType::Ipip => {
            if port != 0 {
                return fail("tunnel.port", "an ipip tunnel has no port");
            }
            if !flags.is_empty() {
                return fail("tunnel.flags", "an ipip tunnel has no checksum options");
            }
        }
        TunnelType::Gue => {
            if port == 0 {
                return fail("tunnel.port", "a gue tunnel needs a port (1 to 65535)");
            }
            if flags.contains(both) {
                return fail("tunnel.flags", "csum and remcsum exclude each other");
            }
        }
        TunnelType::Gre => {
            if port != 0 {
                return fail("tunnel.port", "a gre tunnel has no port");
            }
            if flags.contains(TunnelFlags::REMCSUM) {
                return fail("tunnel.flags", "remcsum is for gue tunnels only");
            }
        }
        TunnelType::Other(_) => {}
    }
    Ok(())
}

/// ipvsadm's and the kernel's checks on a destination of service `svc`.
fn check_destination(d: &Destination, svc: &ServiceKey) -> Check {
    let is_tunnel = matches!(d.forward, Forward::Tunnel { .. });
    if let Forward::Tunnel { kind, port, flags } = d.forward {
        check_tunnel(kind, port, flags)?;
    }
    if let Forward::Other { raw } = d.forward {
        if raw > 7 {
            return fail("forward", format!("unknown forwarding method {raw}"));
        }
    }
    if Family::of(&d.addr) != svc.family() && !is_tunnel {
        return fail(
            "address",
            "a different address family than the service's is allowed only for tunnels",
        );
    }
    if d.weight > i32::MAX as u32 {
        return fail("weight", format!("{} is above {}", d.weight, i32::MAX));
    }
    for (field, v) in [
        ("upper_threshold", d.upper_threshold),
        ("lower_threshold", d.lower_threshold),
    ] {
        if v > i32::MAX as u32 {
            return fail(field, format!("{v} is above {}", i32::MAX));
        }
    }
    if d.lower_threshold > d.upper_threshold {
        return fail(
            "lower_threshold",
            format!(
                "{} is above upper_threshold {}",
                d.lower_threshold, d.upper_threshold
            ),
        );
    }
    Ok(())
}

// ---- words of the schema ----

/// `"ipv4"` or `"ipv6"`.
pub fn family_word(f: Family) -> &'static str {
    match f {
        Family::Inet => "ipv4",
        Family::Inet6 => "ipv6",
    }
}

/// `"tcp"`, `"udp"`, `"sctp"`, or the protocol number in decimal.
pub fn protocol_word(p: Protocol) -> String {
    match p {
        Protocol::Tcp => "tcp".into(),
        Protocol::Udp => "udp".into(),
        Protocol::Sctp => "sctp".into(),
        Protocol::Other(n) => n.to_string(),
    }
}
/// Service flag words. The kernel-internal `hashed` bit is not reported; the
/// scheduler bits are named for the scheduler as `-b` names them.
pub fn service_flag_words(flags: ServiceFlags, scheduler: &Scheduler) -> Vec<String> {
    let mut words = Vec::new();
    if flags.contains(ServiceFlags::PERSISTENT) {
        words.push("persistent".to_string());
    }
    if flags.contains(ServiceFlags::ONEPACKET) {
        words.push("ops".to_string());
    }
    let names: [&str; 3] = match scheduler.name() {
        "sh" => ["sh-fallback", "sh-port", "flag-3"],
        "mh" => ["mh-fallback", "mh-port", "flag-3"],
        _ => ["flag-1", "flag-2", "flag-3"],
    };
    let bits = [
        ServiceFlags::SCHED1,
        ServiceFlags::SCHED2,
        ServiceFlags::SCHED3,
    ];
    for (bit, name) in bits.iter().zip(names) {
        if flags.contains(*bit) {
            words.push(name.to_string());
        }
    }
    let known = ServiceFlags::PERSISTENT
        | ServiceFlags::HASHED
        | ServiceFlags::ONEPACKET
        | ServiceFlags::SCHED1
        | ServiceFlags::SCHED2
        | ServiceFlags::SCHED3;
    let unknown = flags.bits() & !known.bits();
    for i in 0..32 {
        let bit = 1u32 << i;
        if unknown & bit != 0 {
            words.push(format!("{bit:#010x}"));
        }
    }
    words
}

/// The forwarding method word: `masq`, `local`, `tunnel`, `route`, `bypass`,
/// or the raw method number in decimal.
pub fn forward_word(f: &Forward) -> String {
    match f {
        Forward::Masquerade => "masq".into(),
        Forward::Local => "local".into(),
        Forward::Tunnel { .. } => "tunnel".into(),
        Forward::DirectRoute => "route".into(),
        Forward::Bypass => "bypass".into(),
        Forward::Other { raw } => raw.to_string(),
    }
}

/// `ipip`, `gue`, `gre`, or the type number in decimal.
pub fn tunnel_type_word(t: TunnelType) -> String {
    match t {
        TunnelType::Ipip => "ipip".into(),
        TunnelType::Gue => "gue".into(),
        TunnelType::Gre => "gre".into(),
        TunnelType::Other(n) => n.to_string(),
    }
}

/// Tunnel flag words: `csum`, `remcsum`, unknown bits as `0x0004`.
pub fn tunnel_flag_words(flags: TunnelFlags) -> Vec<String> {
    let mut words = Vec::new();
    if flags.contains(TunnelFlags::CSUM) {
        words.push("csum".to_string());
    }
    if flags.contains(TunnelFlags::REMCSUM) {
        words.push("remcsum".to_string());
    }
    let unknown = flags.bits() & !(TunnelFlags::CSUM | TunnelFlags::REMCSUM).bits();
    for i in 0..16 {
        let bit = 1u16 << i;
        if unknown & bit != 0 {
            words.push(format!("{bit:#06x}"));
        }
    }
    words
}

/// An address as glibc's `inet_ntop` writes it. For IPv6 this differs from
/// Rust's `Display` in one case: IPv4-compatible addresses (`::a.b.c.d`),
/// which glibc writes with a dotted quad.
pub fn ntop(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => ntop6(&a),
    }
}

/// glibc's `inet_ntop6`: the longest run (first on ties) of two or more zero
/// words becomes `::`; an address whose first six words are zero (with a
/// non-zero seventh), or that is IPv4-mapped, ends in a dotted quad.
fn ntop6(a: &Ipv6Addr) -> String {
    let words = a.segments();
    // Longest run of zero words: (start, length).
    let mut best: Option<(usize, usize)> = None;
    let mut cur: Option<(usize, usize)> = None;
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            cur = Some(match cur {
                None => (i, 1),
                Some((b, l)) => (b, l + 1),
            });
        } else if let Some(c) = cur.take() {
            if best.map_or(true, |b| c.1 > b.1) {
                best = Some(c);
            }
        }
    }
    if let Some(c) = cur {
        if best.map_or(true, |b| c.1 > b.1) {
            best = Some(c);
        }
    }
    let best = best.filter(|b| b.1 >= 2);

    let mut out = String::with_capacity(39);
    let mut i = 0;
    while i < 8 {
        if let Some((base, len)) = best {
            if i >= base && i < base + len {
                if i == base {
                    out.push(':');
                }
                i += 1;
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 {
            if let Some((0, len)) = best {
                if len == 6 || (len == 5 && words[5] == 0xffff) {
                    let o = a.octets();
                    let _ = write!(out, "{}", Ipv4Addr::new(o[12], o[13], o[14], o[15]));
                    return out;
                }
            }
        }
        let _ = write!(out, "{:x}", words[i]);
        i += 1;
    }
    if let Some((base, len)) = best {
        if base + len == 8 {
            out.push(':');
        }
    }
    out
}

/// Longest scheduler or persistence engine name the kernel takes
/// (`IP_VS_SCHEDNAME_MAXLEN` / `IP_VS_PENAME_MAXLEN` minus the NUL).
const NAME_MAX: usize = 15;

/// ipvsadm's default persistence timeout (`-p` without a value), in seconds.
const DEFAULT_PERSISTENCE: u32 = 360;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
/// The save document as read, before defaults and checks: what [`State`]
/// deserializes through. Use it to tell a JSON syntax error from a bad value
/// (`State::try_from(input)` gives the latter without a line number).
pub struct StateInput {
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    conn_tab_size: Option<IgnoredAny>,
    services: Vec<ServiceIn>,
    #[serde(default)]
    timeouts: Option<Timeouts>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceIn {
    #[serde(default)]
    family: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    fwmark: Option<u32>,
    #[serde(default)]
    scheduler: Option<String>,
    #[serde(default)]
    flags: Option<Vec<String>>,
    #[serde(default)]
    timeout: Option<u32>,
    #[serde(default)]
    netmask: Option<String>,
    #[serde(default)]
    persistence_engine: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    stats: Option<IgnoredAny>,
    #[serde(default)]
    destinations: Option<Vec<DestIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DestIn {
    #[serde(default)]
    family: Option<String>,
    address: String,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    forward: Option<String>,
    #[serde(default)]
    tunnel: Option<TunnelIn>,
    #[serde(default)]
    weight: Option<u32>,
    #[serde(default)]
    upper_threshold: Option<u32>,
    #[serde(default)]
    lower_threshold: Option<u32>,
    #[serde(default)]
    #[allow(dead_code)]
    active_conns: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    inactive_conns: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    persistent_conns: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    stats: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TunnelIn {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    flags: Option<Vec<String>>,
}

fn err<T>(path: &str, field: &str, msg: impl std::fmt::Display) -> Result<T, String> {
    Err(format!("{path}.{field}: {msg}"))
}

fn parse_family(path: &str, word: &str) -> Result<Family, String> {
    match word {
        "ipv4" => Ok(Family::Inet),
        "ipv6" => Ok(Family::Inet6),
        other => err(
            path,
            "family",
            format!("unknown address family {other:?} (expected \"ipv4\" or \"ipv6\")"),
        ),
    }
}

fn parse_addr(path: &str, field: &str, s: &str) -> Result<IpAddr, String> {
    IpAddr::from_str(s).or_else(|_| err(path, field, format!("invalid IP address {s:?}")))
}

fn parse_protocol(path: &str, word: &str) -> Result<Protocol, String> {
    match word {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        "sctp" => Ok(Protocol::Sctp),
        other => match other.parse::<u16>() {
            Ok(n) if n != 0 => Ok(Protocol::from_number(n)),
            _ => err(
                path,
                "protocol",
                format!("unknown protocol {other:?} (expected \"tcp\", \"udp\", \"sctp\" or a protocol number)"),
            ),
        },
    }
}

/// Parses `0x...` hex (as the output writes unknown flag bits).
fn hex_bits(word: &str) -> Option<u32> {
    let h = word.strip_prefix("0x")?;
    u32::from_str_radix(h, 16).ok()
}

fn parse_service_flags(path: &str, words: &[String], sched: &str) -> Result<ServiceFlags, String> {
    let mut flags = ServiceFlags::empty();
    for w in words {
        let need = |s: &str| -> Result<(), String> {
            if sched == s {
                Ok(())
            } else {
                err(
                    path,
                    "flags",
                    format!("flag {w:?} needs the {s} scheduler, not {sched:?}"),
                )
            }
        };
        let bit = match w.as_str() {
            "persistent" => ServiceFlags::PERSISTENT,
            "ops" => ServiceFlags::ONEPACKET,
            "hashed" => ServiceFlags::empty(),
            "flag-1" => ServiceFlags::SCHED1,
            "flag-2" => ServiceFlags::SCHED2,
            "flag-3" => ServiceFlags::SCHED3,
            "sh-fallback" => need("sh").map(|_| ServiceFlags::SH_FALLBACK)?,
            "sh-port" => need("sh").map(|_| ServiceFlags::SH_PORT)?,
            "mh-fallback" => need("mh").map(|_| ServiceFlags::MH_FALLBACK)?,
            "mh-port" => need("mh").map(|_| ServiceFlags::MH_PORT)?,
            other => match hex_bits(other) {
                Some(b) => ServiceFlags::from_bits_retain(b) - ServiceFlags::HASHED,
                None => {
                    return err(
                        path,
                        "flags",
                        format!(
                            "unknown service flag {other:?} (expected persistent, ops, flag-1, \
                             flag-2, flag-3, sh-fallback, sh-port, mh-fallback, mh-port or 0x... bits)"
                        ),
                    )
                }
            },
        };
        flags |= bit;
    }
    Ok(flags)
}

fn parse_netmask(path: &str, s: &str, family: Family) -> Result<Netmask, String> {
    match family {
        Family::Inet => match s.parse::<Ipv4Addr>() {
            Ok(m) => Ok(Netmask::V4(m)),
            Err(_) => err(
                path,
                "netmask",
                format!(
                    "invalid IPv4 netmask {s:?} (expected a dotted quad such as \"255.255.255.0\")"
                ),
            ),
        },
        Family::Inet6 => match s.parse::<u8>() {
            Ok(p) if (1..=128).contains(&p) => Ok(Netmask::V6(p)),
            _ => err(
                path,
                "netmask",
                format!("invalid IPv6 netmask {s:?} (expected a prefix length from 1 to 128)"),
            ),
        },
    }
}

impl TryFrom<StateInput> for State {
    type Error = StateError;
    fn try_from(doc: StateInput) -> Result<State, StateError> {
        let services = doc
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| convert_service(s, &format!("services[{i}]")))
            .collect::<Result<Vec<_>, String>>()
            .map_err(StateError)?;
        Ok(State {
            services,
            timeouts: doc.timeouts,
        })
    }
}

/// A typed check's failure as `path.field: message`.
fn at<T>(path: &str, c: Check, v: T) -> Result<T, String> {
    c.map(|()| v).or_else(|(f, m)| err(path, f, m))
}

fn convert_service(s: &ServiceIn, path: &str) -> Result<ServiceState, String> {
    let family = s
        .family
        .as_deref()
        .map(|f| parse_family(path, f))
        .transpose()?;

    let key = match s.fwmark {
        Some(mark) => {
            if s.protocol.is_some() || s.address.is_some() || s.port.is_some() {
                return err(
                    path,
                    "fwmark",
                    "a fwmark service has no protocol, address or port",
                );
            }
            ServiceKey::fwmark(mark, family.unwrap_or(Family::Inet))
        }
        None => {
            let Some(proto) = s.protocol.as_deref() else {
                return err(path, "protocol", "missing (or give a fwmark)");
            };
            let Some(addr) = s.address.as_deref() else {
                return err(path, "address", "missing (or give a fwmark)");
            };
            let protocol = parse_protocol(path, proto)?;
            let addr = parse_addr(path, "address", addr)?;
            if let Some(f) = family {
                if f != Family::of(&addr) {
                    return err(path, "family", format!("does not match address {addr}"));
                }
            }
            ServiceKey::Addr {
                protocol,
                addr,
                port: s.port.unwrap_or(0),
            }
        }
    };

    let scheduler = s.scheduler.as_deref().unwrap_or("wlc");
    at(path, check_name("scheduler", scheduler), ())?;
    let flags = parse_service_flags(path, s.flags.as_deref().unwrap_or(&[]), scheduler)?;
    let persistent = flags.contains(ServiceFlags::PERSISTENT);
    let timeout = s
        .timeout
        .unwrap_or(if persistent { DEFAULT_PERSISTENCE } else { 0 });
    let netmask = match s.netmask.as_deref() {
        Some(m) => parse_netmask(path, m, key.family())?,
        None => Netmask::full(key.family()),
    };
    let service = Service {
        key,
        scheduler: Scheduler::from(scheduler),
        flags,
        timeout,
        netmask,
        persistence_engine: s.persistence_engine.clone(),
    };
    let service = at(path, check_service(&service), service)?;
    let destinations = s
        .destinations
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(j, d)| convert_dest(d, &key, &format!("{path}.destinations[{j}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ServiceState {
        service,
        destinations,
    })
}

fn parse_forward_word(path: &str, word: &str) -> Result<Forward, String> {
    Ok(match word {
        "masq" => Forward::Masquerade,
        "local" => Forward::Local,
        "tunnel" => Forward::ipip(),
        "route" => Forward::DirectRoute,
        "bypass" => Forward::Bypass,
        other => match other.parse::<u32>() {
            Ok(0) => Forward::Masquerade,
            Ok(1) => Forward::Local,
            Ok(2) => Forward::ipip(),
            Ok(3) => Forward::DirectRoute,
            Ok(4) => Forward::Bypass,
            Ok(raw) if raw <= 7 => Forward::Other { raw },
            _ => {
                return err(
                    path,
                    "forward",
                    format!(
                        "unknown forwarding method {other:?} (expected masq, route, tunnel, \
                         local or bypass)"
                    ),
                )
            }
        },
    })
}

fn parse_tunnel(path: &str, t: &TunnelIn) -> Result<Forward, String> {
    let kind = match t.kind.as_deref().unwrap_or("ipip") {
        "ipip" => TunnelType::Ipip,
        "gue" => TunnelType::Gue,
        "gre" => TunnelType::Gre,
        other => match other.parse::<u8>() {
            Ok(0) => TunnelType::Ipip,
            Ok(1) => TunnelType::Gue,
            Ok(2) => TunnelType::Gre,
            Ok(n) => TunnelType::Other(n),
            Err(_) => {
                return err(
                    path,
                    "tunnel.type",
                    format!("unknown tunnel type {other:?} (expected ipip, gue or gre)"),
                )
            }
        },
    };
    let mut flags = TunnelFlags::empty();
    for w in t.flags.as_deref().unwrap_or(&[]) {
        flags |= match w.as_str() {
            "csum" => TunnelFlags::CSUM,
            "remcsum" => TunnelFlags::REMCSUM,
            other => match hex_bits(other).and_then(|b| u16::try_from(b).ok()) {
                Some(b) => TunnelFlags::from_bits_retain(b),
                None => {
                    return err(
                        path,
                        "tunnel.flags",
                        format!("unknown tunnel flag {other:?} (expected csum or remcsum)"),
                    )
                }
            },
        };
    }
    Ok(Forward::Tunnel {
        kind,
        port: t.port.unwrap_or(0),
        flags,
    })
}

fn convert_dest(d: &DestIn, svc: &ServiceKey, path: &str) -> Result<Destination, String> {
    let addr = parse_addr(path, "address", &d.address)?;
    if let Some(f) = d.family.as_deref() {
        if parse_family(path, f)? != Family::of(&addr) {
            return err(path, "family", format!("does not match address {addr}"));
        }
    }
    let mut forward = parse_forward_word(path, d.forward.as_deref().unwrap_or("route"))?;
    match (&forward, &d.tunnel) {
        (Forward::Tunnel { .. }, Some(t)) => forward = parse_tunnel(path, t)?,
        (_, Some(_)) => {
            return err(path, "tunnel", "tunnel options need forward \"tunnel\"");
        }
        _ => {}
    }
    let is_tunnel = matches!(forward, Forward::Tunnel { .. });
    let port = match svc {
        // ipvsadm: route and tunnel destinations use the service's port.
        ServiceKey::Addr { port, .. } if is_tunnel || forward == Forward::DirectRoute => *port,
        ServiceKey::Addr { port, .. } => d.port.unwrap_or(*port),
        ServiceKey::Fwmark { .. } => d.port.unwrap_or(0),
    };
    let dest = Destination {
        addr,
        port,
        forward,
        weight: d.weight.unwrap_or(1),
        upper_threshold: d.upper_threshold.unwrap_or(0),
        lower_threshold: d.lower_threshold.unwrap_or(0),
    };
    at(path, check_destination(&dest, svc), dest)
}

// ---- writing ----

/// The save document as written.
#[derive(Serialize)]
struct StateOutput {
    services: Vec<ServiceOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeouts: Option<Timeouts>,
}

#[derive(Serialize)]
pub(crate) struct ServiceOut {
    #[serde(flatten)]
    key: KeyOut,
    scheduler: String,
    flags: Vec<String>,
    timeout: u32,
    netmask: String,
    persistence_engine: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destinations: Option<Vec<DestOut>>,
}

/// What identifies a service, in the schema's words.
#[derive(Serialize)]
pub(crate) struct KeyOut {
    family: &'static str,
    protocol: Option<String>,
    address: Option<String>,
    port: Option<u16>,
    fwmark: Option<u32>,
}

pub(crate) fn service_key_out(key: &ServiceKey) -> KeyOut {
    let (protocol, address, port, fwmark) = match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            Some(protocol_word(protocol)),
            Some(ntop(addr)),
            Some(port),
            None,
        ),
        ServiceKey::Fwmark { fwmark, .. } => (None, None, None, Some(fwmark)),
    };
    KeyOut {
        family: family_word(key.family()),
        protocol,
        address,
        port,
        fwmark,
    }
}

#[derive(Serialize)]
pub(crate) struct DestOut {
    family: &'static str,
    address: String,
    port: u16,
    forward: String,
    tunnel: Option<TunnelOut>,
    weight: u32,
    upper_threshold: u32,
    lower_threshold: u32,
}

#[derive(Serialize)]
pub(crate) struct TunnelOut {
    #[serde(rename = "type")]
    kind: String,
    port: u16,
    flags: Vec<String>,
}

impl From<State> for StateOutput {
    fn from(s: State) -> StateOutput {
        StateOutput {
            services: s.services.iter().map(service_out).collect(),
            timeouts: s.timeouts,
        }
    }
}

fn service_out(s: &ServiceState) -> ServiceOut {
    let mut out = service_out_alone(&s.service);
    out.destinations = Some(s.destinations.iter().map(dest_out).collect());
    out
}

/// A service without its `destinations` field.
pub(crate) fn service_out_alone(svc: &Service) -> ServiceOut {
    ServiceOut {
        key: service_key_out(&svc.key),
        scheduler: svc.scheduler.name().to_string(),
        flags: service_flag_words(svc.flags, &svc.scheduler),
        timeout: svc.timeout,
        netmask: svc.netmask.to_string(),
        persistence_engine: svc.persistence_engine.clone().filter(|s| !s.is_empty()),
        destinations: None,
    }
}

pub(crate) fn dest_out(d: &Destination) -> DestOut {
    DestOut {
        family: family_word(d.family()),
        address: ntop(d.addr),
        port: d.port,
        forward: forward_word(&d.forward),
        tunnel: tunnel_out(&d.forward),
        weight: d.weight,
        upper_threshold: d.upper_threshold,
        lower_threshold: d.lower_threshold,
    }
}

/// The `tunnel` object of a destination, `None` unless it tunnels.
fn tunnel_out(f: &Forward) -> Option<TunnelOut> {
    match *f {
        Forward::Tunnel { kind, port, flags } => Some(TunnelOut {
            kind: tunnel_type_word(kind),
            port,
            flags: tunnel_flag_words(flags),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DestinationEntry, ServiceEntry, Stats};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn sample() -> State {
        let web = Service::new(ServiceKey::tcp(ip("10.0.0.100"), 80)).with_scheduler("rr");
        let mut sh = Service::new(ServiceKey::fwmark(7, Family::Inet6)).with_scheduler("sh");
        sh.flags |= ServiceFlags::SH_PORT | ServiceFlags::PERSISTENT;
        sh.timeout = 60;
        sh.netmask = Netmask::V6(64);
        State {
            services: vec![
                ServiceState::new(web)
                    .with_destination(
                        Destination::new(ip("192.168.10.11"), 8080)
                            .with_forward(Forward::Masquerade)
                            .with_weight(3),
                    )
                    .with_destination(Destination::new(ip("192.168.10.12"), 80).with_forward(
                        Forward::Tunnel {
                            kind: TunnelType::Gue,
                            port: 6080,
                            flags: TunnelFlags::CSUM,
                        },
                    )),
                ServiceState::new(sh).with_destination(Destination::new(ip("2001:db8::1"), 0)),
            ],
            timeouts: None,
        }
    }

    #[test]
    fn serde_form_is_the_documented_save_schema() {
        // The text, not only the value: `-S --json` prints the fields in the documented order.
        let text = serde_json::to_string(&sample()).unwrap();
        assert!(
            text.starts_with(
                r#"{"services":[{"family":"ipv4","protocol":"tcp","address":"10.0.0.100","port":80,"fwmark":null,"scheduler":"rr","flags":[],"timeout":0,"#
            ),
            "{text}"
        );
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            v["services"][0],
            serde_json::json!({
                "family": "ipv4", "protocol": "tcp", "address": "10.0.0.100", "port": 80,
                "fwmark": null, "scheduler": "rr", "flags": [], "timeout": 0,
                "netmask": "255.255.255.255", "persistence_engine": null,
                "destinations": [
                    {"family": "ipv4", "address": "192.168.10.11", "port": 8080,
                     "forward": "masq", "tunnel": null, "weight": 3,
                     "upper_threshold": 0, "lower_threshold": 0},
                    {"family": "ipv4", "address": "192.168.10.12", "port": 80,
                     "forward": "tunnel", "tunnel": {"type": "gue", "port": 6080, "flags": ["csum"]},
                     "weight": 1, "upper_threshold": 0, "lower_threshold": 0}
                ]
            })
        );
        assert_eq!(
            v["services"][1]["flags"],
            serde_json::json!(["persistent", "sh-port"])
        );
        assert_eq!(v["services"][1]["netmask"], "64");
        assert!(v.get("timeouts").is_none());
        let back: State = serde_json::from_value(v).unwrap();
        assert_eq!(back, sample());
        sample().validate().unwrap();
    }

    #[test]
    fn timeouts_round_trip() {
        let mut s = sample();
        s.timeouts = Some(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        });
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains(r#""timeouts":{"tcp":900,"tcp_fin":120,"udp":300}"#));
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), s);
    }

    #[test]
    fn the_hashed_bit_reaches_no_user() {
        let mut svc = Service::new(ServiceKey::udp(ip("10.0.0.1"), 53));
        svc.flags |= ServiceFlags::HASHED;
        let vs = VirtualServer {
            entry: ServiceEntry {
                service: svc,
                stats: Stats::default(),
            },
            destinations: vec![DestinationEntry {
                destination: Destination::new(ip("10.0.0.2"), 53),
                active_conns: 1,
                inactive_conns: 2,
                persistent_conns: 0,
                stats: Stats::default(),
            }],
        };
        let state = State::from_servers([&vs]);
        assert!(state.services[0].service.flags.is_empty());
        let text = serde_json::to_string(&state).unwrap();
        assert!(!text.to_lowercase().contains("hashed"), "{text}");
        assert!(!text.contains("0x"), "{text}");
    }

    #[test]
    fn validate_makes_the_json_checks_on_rust_values() {
        type Edit = Box<dyn Fn(&mut State)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|s| {
                    s.services[0].service.scheduler = Scheduler::from("a-very-long-name-x")
                }),
                "services[0].scheduler: invalid name",
            ),
            (
                Box::new(|s| s.services[0].destinations[0].weight = u32::MAX),
                "services[0].destinations[0].weight: 4294967295 is above 2147483647",
            ),
            (
                Box::new(|s| s.services[0].destinations[0].lower_threshold = 4),
                "services[0].destinations[0].lower_threshold: 4 is above upper_threshold 0",
            ),
            (
                Box::new(|s| {
                    s.services[0].destinations[1].forward = Forward::Tunnel {
                        kind: TunnelType::Ipip,
                        port: 5,
                        flags: TunnelFlags::empty(),
                    }
                }),
                "services[0].destinations[1].tunnel.port: an ipip tunnel has no port",
            ),
            (
                Box::new(|s| {
                    s.services[0].destinations[0].addr = ip("2001:db8::9");
                }),
                "services[0].destinations[0].address: a different address family",
            ),
            (
                Box::new(|s| s.services[0].service.flags |= ServiceFlags::ONEPACKET),
                "services[0].flags: \"ops\"",
            ),
            (
                Box::new(|s| s.services[1].service.timeout = 0),
                "services[1].timeout: a persistent service needs a timeout above 0",
            ),
            (
                Box::new(|s| s.services[1].service.netmask = Netmask::V4(Ipv4Addr::BROADCAST)),
                "services[1].netmask: an IPv6 service's netmask",
            ),
            (
                Box::new(|s| {
                    let d = s.services[0].destinations[0];
                    s.services[0].destinations.push(d);
                }),
                "services[0].destinations[2]: the destination is named twice",
            ),
            (
                Box::new(|s| {
                    let d = s.services[1].clone();
                    s.services.push(d);
                }),
                "services[2]: the service is named twice",
            ),
        ];
        for (change, want) in cases {
            let mut s = sample();
            change(&mut s);
            let e = s.validate().expect_err(want).to_string();
            assert!(e.starts_with(want), "gave: {e}\nwant: {want}");
        }
    }

    #[test]
    fn reading_names_the_bad_value() {
        let e = serde_json::from_str::<State>(
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "nat"}]}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("services[0].destinations[0].forward: unknown forwarding method \"nat\""),
            "{e}"
        );
    }
}
