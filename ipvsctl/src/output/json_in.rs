//! Reading the JSON save format back (`-R --json`).
//!
//! The input is deserialized into plain structs, then checked field by field
//! so an error names where it is (`services[2].destinations[0].forward`) and
//! what is wrong with the value. The checks are ipvsadm's own for `-A`/`-a`
//! (zero port only when persistent, one-packet only for UDP or fwmark, tunnel
//! options only for tunnels, different address families only for tunnels) and
//! the kernel's ranges. The listing document ([`list_json`]) is accepted too:
//! its read-only fields (statistics, connection counts, version) are ignored,
//! any other unknown field is an error, to catch misspellings.
//!
//! [`list_json`]: super::list_json

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use serde::de::IgnoredAny;
use serde::Deserialize;

use ipvs::{
    Destination, Family, Forward, Netmask, Protocol, Scheduler, Service, ServiceFlags, ServiceKey,
    TunnelFlags, TunnelType,
};

/// Longest scheduler or persistence engine name the kernel takes
/// (`IP_VS_SCHEDNAME_MAXLEN` / `IP_VS_PENAME_MAXLEN` minus the NUL).
const NAME_MAX: usize = 15;

/// ipvsadm's default persistence timeout (`-p` without a value), in seconds.
const DEFAULT_PERSISTENCE: u32 = 360;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocIn {
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    conn_tab_size: Option<IgnoredAny>,
    services: Vec<ServiceIn>,
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

/// Reads a document written by [`save_json`] (or [`list_json`]) into the
/// services to create, each with its destinations, in document order.
///
/// Defaults for missing fields follow ipvsadm's: scheduler `wlc`, no flags,
/// persistence timeout 360 s when `persistent` is set without a `timeout`,
/// full netmask, destination port = service port, forwarding `route`,
/// weight 1, thresholds 0, tunnel type `ipip`. As with `ipvsadm -a -g/-i`,
/// a route or tunnel destination of an address service takes the service's
/// port. The `hashed` flag is accepted and dropped (the kernel sets it).
///
/// [`save_json`]: super::save_json
/// [`list_json`]: super::list_json
pub fn parse_save_json(text: &str) -> Result<Vec<(Service, Vec<Destination>)>, String> {
    let doc: DocIn = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    doc.services
        .iter()
        .enumerate()
        .map(|(i, s)| convert_service(s, &format!("services[{i}]")))
        .collect()
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

fn check_name(path: &str, field: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > NAME_MAX || name.contains('\0') {
        return err(
            path,
            field,
            format!("invalid name {name:?} (1 to {NAME_MAX} bytes)"),
        );
    }
    Ok(())
}

fn convert_service(s: &ServiceIn, path: &str) -> Result<(Service, Vec<Destination>), String> {
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
            if mark == 0 {
                return err(path, "fwmark", "fwmark 0 is not a valid mark");
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
    check_name(path, "scheduler", scheduler)?;
    let flags = parse_service_flags(path, s.flags.as_deref().unwrap_or(&[]), scheduler)?;
    let persistent = flags.contains(ServiceFlags::PERSISTENT);
    let timeout = s
        .timeout
        .unwrap_or(if persistent { DEFAULT_PERSISTENCE } else { 0 });
    if persistent && timeout == 0 {
        return err(
            path,
            "timeout",
            "a persistent service needs a timeout above 0",
        );
    }
    let netmask = match s.netmask.as_deref() {
        Some(m) => parse_netmask(path, m, key.family())?,
        None => Netmask::full(key.family()),
    };
    if let Some(pe) = s.persistence_engine.as_deref() {
        check_name(path, "persistence_engine", pe)?;
    }

    if let ServiceKey::Addr { protocol, port, .. } = key {
        if port == 0 && !persistent {
            return err(path, "port", "port 0 needs a persistent service");
        }
        if flags.contains(ServiceFlags::ONEPACKET) && protocol != Protocol::Udp {
            return err(
                path,
                "flags",
                "\"ops\" (one-packet scheduling) is only for UDP or fwmark services",
            );
        }
    }

    let service = Service {
        key,
        scheduler: Scheduler::from(scheduler),
        flags,
        timeout,
        netmask,
        persistence_engine: s.persistence_engine.clone(),
    };
    let dests = s
        .destinations
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(j, d)| convert_dest(d, &key, &format!("{path}.destinations[{j}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((service, dests))
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
    let port = t.port.unwrap_or(0);
    let both = TunnelFlags::CSUM | TunnelFlags::REMCSUM;
    match kind {
        TunnelType::Ipip => {
            if port != 0 {
                return err(path, "tunnel.port", "an ipip tunnel has no port");
            }
            if !flags.is_empty() {
                return err(
                    path,
                    "tunnel.flags",
                    "an ipip tunnel has no checksum options",
                );
            }
        }
        TunnelType::Gue => {
            if port == 0 {
                return err(
                    path,
                    "tunnel.port",
                    "a gue tunnel needs a port (1 to 65535)",
                );
            }
            if flags.contains(both) {
                return err(path, "tunnel.flags", "csum and remcsum exclude each other");
            }
        }
        TunnelType::Gre => {
            if port != 0 {
                return err(path, "tunnel.port", "a gre tunnel has no port");
            }
            if flags.contains(TunnelFlags::REMCSUM) {
                return err(path, "tunnel.flags", "remcsum is for gue tunnels only");
            }
        }
        TunnelType::Other(_) => {}
    }
    Ok(Forward::Tunnel { kind, port, flags })
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
    if Family::of(&addr) != svc.family() && !is_tunnel {
        return err(
            path,
            "address",
            "a different address family than the service's is allowed only for tunnels",
        );
    }
    let weight = d.weight.unwrap_or(1);
    if weight > i32::MAX as u32 {
        return err(path, "weight", format!("{weight} is above {}", i32::MAX));
    }
    let upper = d.upper_threshold.unwrap_or(0);
    let lower = d.lower_threshold.unwrap_or(0);
    for (field, v) in [("upper_threshold", upper), ("lower_threshold", lower)] {
        if v > i32::MAX as u32 {
            return err(path, field, format!("{v} is above {}", i32::MAX));
        }
    }
    if lower > upper {
        return err(
            path,
            "lower_threshold",
            format!("{lower} is above upper_threshold {upper}"),
        );
    }
    let port = match svc {
        // ipvsadm: route and tunnel destinations use the service's port.
        ServiceKey::Addr { port, .. } if is_tunnel || forward == Forward::DirectRoute => *port,
        ServiceKey::Addr { port, .. } => d.port.unwrap_or(*port),
        ServiceKey::Fwmark { .. } => d.port.unwrap_or(0),
    };
    Ok(Destination {
        addr,
        port,
        forward,
        weight,
        upper_threshold: upper,
        lower_threshold: lower,
    })
}
