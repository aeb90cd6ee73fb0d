//! The JSON schema of `docs/json.md`: the one serde form of the library's types.
//!
//! [`State`] is the save document (what `ipvsctl -S --json` writes and `ipvsctl -R --json` /
//! `ipvsctl apply` read), [`Service`], [`Destination`] and [`ServiceKey`] its SERVICE,
//! DESTINATION and KEY objects, [`VirtualServer`] (with [`ServiceEntry`] and
//! [`DestinationEntry`]) the listing's SERVICE with statistics and connection counts.
//! Addresses are strings (IPv6 as glibc's `inet_ntop` writes them, [`crate::addr::Ntop`]),
//! enumerations their types' words (`Display` / `FromStr`), and the kernel-internal `hashed`
//! service flag is never written. Reading fills ipvsadm's defaults for missing fields and makes
//! the checks of [`State::validate`], each error naming where it is
//! (`services[2].destinations[0].forward`) and what is wrong.
//!
//! Each document has an input type (`*In`, every field optional where ipvsadm has a default,
//! unknown fields refused) converted to the library's value, and an output type (`*Out`)
//! borrowed from it: a new key of the document is one field in each, one line in the
//! conversion, and one in the output type's `fields` (with its `FIELDS` count; the output
//! types are written by hand, without `#[serde(flatten)]`, so that their keys reach a
//! serializer as `&'static str`).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use serde::de::IgnoredAny;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use crate::addr::{ser_ntop, ser_ntop_opt};
use crate::check::InvalidValue;
use crate::check::MAX_NAME;
use crate::settings::SysctlValue;
use crate::state::{check_service, check_settings, check_timeouts, forced_port, join_path, Seen};
use crate::{
    Destination, DestinationEntry, Family, Forward, Netmask, Problem, Protocol, Reason, Scheduler,
    Service, ServiceEntry, ServiceFlags, ServiceKey, ServiceState, State, StateError, Stats,
    SyncDaemon, Timeouts, TunnelFlags, TunnelType, VirtualServer,
};

/// The keys of `ipvsctl healthd` in the save document (docs/json.md), each spelled here once:
/// healthd reads them; the state's reader accepts and ignores them (its fields of these names
/// are tied to this list by the test `health_keys_are_accepted_and_ignored`).
pub mod health {
    /// A service's or a destination's health check.
    pub const CHECK: &str = "check";
    /// What a service's real servers get when they go down.
    pub const ON_DOWN: &str = "on_down";
    /// A service's sorry server.
    pub const SORRY_SERVER: &str = "sorry_server";
    /// The real servers up below which the sorry server takes traffic.
    pub const QUORUM: &str = "quorum";
    /// The health keys of a SERVICE.
    pub const SERVICE: &[&str] = &[CHECK, ON_DOWN, SORRY_SERVER, QUORUM];
    /// The health keys of a DESTINATION.
    pub const DESTINATION: &[&str] = &[CHECK];
}

// ---- reading ----

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
    #[serde(default)]
    sysctls: BTreeMap<String, SysctlValue>,
    #[serde(default)]
    sync_daemons: Option<Vec<SyncDaemon>>,
}

/// What identifies a service, as read.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeyIn {
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
    stats: Option<Stats>,
    #[serde(default)]
    destinations: Option<Vec<DestIn>>,
    // The health keys of `ipvsctl healthd` ([`health::SERVICE`]): accepted so that `apply`
    // takes a healthd rules file, and ignored; healthd reads and checks them itself.
    #[serde(default)]
    #[allow(dead_code)]
    check: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    on_down: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    sorry_server: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    quorum: Option<IgnoredAny>,
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
    active_conns: Option<u32>,
    #[serde(default)]
    inactive_conns: Option<u32>,
    #[serde(default)]
    persistent_conns: Option<u32>,
    #[serde(default)]
    stats: Option<Stats>,
    // healthd's check of this destination ([`health::DESTINATION`], see ServiceIn).
    #[serde(default)]
    #[allow(dead_code)]
    check: Option<IgnoredAny>,
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

fn err<T>(path: &str, field: &str, msg: impl fmt::Display) -> Result<T, Problem> {
    Err(Problem::new(
        join_path(path, field),
        Reason::Input(msg.to_string()),
    ))
}

/// A word of a domain type, or the problem naming its field.
fn word<T: FromStr>(path: &str, field: &str, w: &str) -> Result<T, Problem>
where
    T::Err: fmt::Display,
{
    w.parse().or_else(|e| err(path, field, e))
}

fn parse_addr(path: &str, field: &str, s: &str) -> Result<IpAddr, Problem> {
    IpAddr::from_str(s).or_else(|_| err(path, field, format!("invalid IP address {s:?}")))
}

fn parse_netmask(path: &str, s: &str, family: Family) -> Result<Netmask, Problem> {
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

/// A problem as a serde error (its text).
fn de_err<E: serde::de::Error>(p: Problem) -> E {
    E::custom(p)
}

impl TryFrom<StateInput> for State {
    type Error = StateError;
    /// The state with ipvsadm's defaults, normalised as [`State::normalize`]
    /// does, and checked as [`State::validate`] checks (every problem).
    fn try_from(doc: StateInput) -> Result<State, StateError> {
        let mut problems = Vec::new();
        let mut seen = Seen {
            keys: HashSet::with_capacity_and_hasher(doc.services.len(), crate::KeyHash),
            dests: HashSet::default(),
        };
        let mut services = Vec::with_capacity(doc.services.len());
        for (i, s) in doc.services.iter().enumerate() {
            let path = format!("services[{i}]");
            // Unchecked here: `check_service` reports every problem, in order.
            match convert_service(s, &path, false) {
                Ok((entry, dests)) => {
                    let state = ServiceState {
                        service: entry.service,
                        destinations: dests.into_iter().map(|d| d.destination).collect(),
                    };
                    check_service(i, &state, &mut seen, &mut problems);
                    services.push(state);
                }
                Err(p) => problems.push(p),
            }
        }
        if let Some(t) = &doc.timeouts {
            check_timeouts(t, &mut problems);
        }
        check_settings(&doc.sysctls, doc.sync_daemons.as_deref(), &mut problems);
        StateError::from_problems(problems)?;
        Ok(State {
            services,
            timeouts: doc.timeouts,
            sysctls: doc.sysctls,
            sync_daemons: doc.sync_daemons,
        })
    }
}

fn convert_key(k: &KeyIn, path: &str) -> Result<ServiceKey, Problem> {
    let family = k
        .family
        .as_deref()
        .map(|f| word::<Family>(path, "family", f))
        .transpose()?;
    match k.fwmark {
        Some(mark) => {
            if k.protocol.is_some() || k.address.is_some() || k.port.is_some() {
                return err(
                    path,
                    "fwmark",
                    "a fwmark service has no protocol, address or port",
                );
            }
            Ok(ServiceKey::fwmark(mark, family.unwrap_or(Family::Inet)))
        }
        None => {
            let Some(proto) = k.protocol.as_deref() else {
                return err(path, "protocol", "missing (or give a fwmark)");
            };
            let Some(addr) = k.address.as_deref() else {
                return err(path, "address", "missing (or give a fwmark)");
            };
            let protocol = word::<Protocol>(path, "protocol", proto)?;
            let addr = parse_addr(path, "address", addr)?;
            if let Some(f) = family {
                if f != Family::of(&addr) {
                    return err(path, "family", format!("does not match address {addr}"));
                }
            }
            Ok(ServiceKey::Addr {
                protocol,
                addr,
                port: k.port.unwrap_or(0),
            })
        }
    }
}

/// A service and its destinations (with their counters, if given), with
/// ipvsadm's defaults filled in, and checked when `check` (the first problem).
fn convert_service(
    s: &ServiceIn,
    path: &str,
    check: bool,
) -> Result<(ServiceEntry, Vec<DestinationEntry>), Problem> {
    let key = convert_key(
        &KeyIn {
            family: s.family.clone(),
            protocol: s.protocol.clone(),
            address: s.address.clone(),
            port: s.port,
            fwmark: s.fwmark,
        },
        path,
    )?;
    let scheduler = Scheduler::from(s.scheduler.as_deref().unwrap_or("wlc"));
    let sched_name = scheduler.name();
    if sched_name.is_empty() || sched_name.len() > MAX_NAME || sched_name.contains('\0') {
        // Before the flags, whose words depend on the scheduler.
        return Err(Problem::invalid(
            path,
            InvalidValue::SchedulerName(sched_name.into()),
        ));
    }
    let words = s.flags.as_deref().unwrap_or(&[]);
    let flags = ServiceFlags::from_words(words.iter().map(String::as_str), &scheduler)
        .map_err(|e| Problem::invalid(path, e))?;
    let persistent = flags.contains(ServiceFlags::PERSISTENT);
    let timeout = s.timeout.unwrap_or(if persistent {
        Service::DEFAULT_PERSISTENCE
    } else {
        0
    });
    let netmask = match s.netmask.as_deref() {
        Some(m) => parse_netmask(path, m, key.family())?,
        None => Netmask::full(key.family()),
    };
    let service = Service {
        key,
        scheduler,
        flags,
        timeout,
        netmask,
        persistence_engine: s.persistence_engine.clone(),
    };
    if check {
        service.validate().map_err(|e| Problem::invalid(path, e))?;
    }
    let destinations = s
        .destinations
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(j, d)| convert_dest(d, Some(&key), &format!("{path}.destinations[{j}]"), check))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        ServiceEntry {
            service,
            stats: s.stats.unwrap_or_default(),
        },
        destinations,
    ))
}

fn parse_tunnel(path: &str, t: &TunnelIn) -> Result<Forward, Problem> {
    let kind = word::<TunnelType>(path, "tunnel.type", t.kind.as_deref().unwrap_or("ipip"))?;
    let mut flags = TunnelFlags::empty();
    for w in t.flags.as_deref().unwrap_or(&[]) {
        flags |= TunnelFlags::from_word(w).or_else(|e| err(path, "tunnel.flags", e))?;
    }
    Ok(Forward::Tunnel {
        kind,
        port: t.port.unwrap_or(0),
        flags,
    })
}

/// A destination of service `svc` (or of none: then its port defaults to 0
/// and its family is its own), with defaults filled in and normalised
/// ([`forced_port`]), checked when `check` (the first problem).
fn convert_dest(
    d: &DestIn,
    svc: Option<&ServiceKey>,
    path: &str,
    check: bool,
) -> Result<DestinationEntry, Problem> {
    let addr = parse_addr(path, "address", &d.address)?;
    if let Some(f) = d.family.as_deref() {
        if word::<Family>(path, "family", f)? != Family::of(&addr) {
            return err(path, "family", format!("does not match address {addr}"));
        }
    }
    let mut forward = word::<Forward>(path, "forward", d.forward.as_deref().unwrap_or("route"))?;
    match (&forward, &d.tunnel) {
        (Forward::Tunnel { .. }, Some(t)) => forward = parse_tunnel(path, t)?,
        (_, Some(_)) => {
            return err(path, "tunnel", "tunnel options need forward \"tunnel\"");
        }
        _ => {}
    }
    let port = match svc {
        Some(key) => match forced_port(key, &forward) {
            Some(port) => port,
            None => d.port.unwrap_or(match key {
                ServiceKey::Addr { port, .. } => *port,
                ServiceKey::Fwmark { .. } => 0,
            }),
        },
        None => d.port.unwrap_or(0),
    };
    let destination = Destination {
        addr,
        port,
        forward,
        weight: d.weight.unwrap_or(1),
        upper_threshold: d.upper_threshold.unwrap_or(0),
        lower_threshold: d.lower_threshold.unwrap_or(0),
    };
    if check {
        // Alone, a destination is checked as one of a service of its own family.
        let own = ServiceKey::fwmark(1, Family::of(&addr));
        destination
            .validate(svc.unwrap_or(&own))
            .map_err(|e| Problem::invalid(path, e))?;
    }
    Ok(DestinationEntry {
        destination,
        active_conns: d.active_conns.unwrap_or(0),
        inactive_conns: d.inactive_conns.unwrap_or(0),
        persistent_conns: d.persistent_conns.unwrap_or(0),
        stats: d.stats.unwrap_or_default(),
    })
}

impl<'de> Deserialize<'de> for ServiceKey {
    /// KEY: `family`, `protocol`, `address`, `port`, `fwmark`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let k = KeyIn::deserialize(d)?;
        convert_key(&k, "").map_err(de_err)
    }
}

/// SERVICE alone: a service with `destinations` is a [`VirtualServer`] or a
/// [`State`]'s.
fn service_alone<E: serde::de::Error>(s: &ServiceIn) -> Result<ServiceEntry, E> {
    if s.destinations.is_some() {
        return Err(E::custom(
            "destinations: not part of a service alone (read a VirtualServer or a State)",
        ));
    }
    convert_service(s, "", true).map(|(e, _)| e).map_err(de_err)
}

impl<'de> Deserialize<'de> for Service {
    /// SERVICE without `destinations` (`stats` is ignored), with ipvsadm's
    /// defaults and [`Service::validate`]'s checks.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        service_alone(&ServiceIn::deserialize(d)?).map(|e| e.service)
    }
}

impl<'de> Deserialize<'de> for ServiceEntry {
    /// SERVICE with `stats` (zero when missing), without `destinations`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        service_alone(&ServiceIn::deserialize(d)?)
    }
}

impl<'de> Deserialize<'de> for VirtualServer {
    /// The listing's SERVICE: statistics and connection counts zero when missing.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = ServiceIn::deserialize(d)?;
        let (entry, destinations) = convert_service(&s, "", true).map_err(de_err)?;
        Ok(VirtualServer {
            entry,
            destinations,
        })
    }
}

impl<'de> Deserialize<'de> for Destination {
    /// DESTINATION (counters ignored), checked as a destination of a service
    /// of its own family; `port` defaults to 0.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let d = DestIn::deserialize(d)?;
        convert_dest(&d, None, "", true)
            .map(|e| e.destination)
            .map_err(de_err)
    }
}

impl<'de> Deserialize<'de> for DestinationEntry {
    /// The listing's DESTINATION; counters zero when missing.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let d = DestIn::deserialize(d)?;
        convert_dest(&d, None, "", true).map_err(de_err)
    }
}

// ---- writing ----

/// A forwarding method's word: the fixed ones as strings (no formatting machinery, several
/// hundred instructions a destination in a JSON listing), the rest through `Display`.
fn ser_forward<S: Serializer>(f: &Forward, s: S) -> Result<S::Ok, S::Error> {
    match f.fixed_word() {
        Some(w) => s.serialize_str(w),
        None => s.collect_str(f),
    }
}

/// The save document as written.
#[derive(Serialize)]
struct StateOutput<'a> {
    services: Vec<WithDestinations<'a, &'a [Destination]>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeouts: Option<Timeouts>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    sysctls: &'a BTreeMap<String, SysctlValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_daemons: Option<&'a [SyncDaemon]>,
}

impl Serialize for State {
    /// The save document: `{"services": [SERVICE with destinations, ...]}`,
    /// and `timeouts` when set.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StateOutput {
            services: self
                .services
                .iter()
                .map(|st| WithDestinations {
                    service: service_out_alone(&st.service),
                    stats: None,
                    destinations: &st.destinations[..],
                })
                .collect(),
            timeouts: self.timeouts,
            sysctls: &self.sysctls,
            sync_daemons: self.sync_daemons.as_deref(),
        }
        .serialize(s)
    }
}

impl Serialize for ServiceState {
    /// SERVICE with its `destinations`, configuration only: one element of the save
    /// document's `services`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WithDestinations {
            service: service_out_alone(&self.service),
            stats: None,
            destinations: &self.destinations[..],
        }
        .serialize(s)
    }
}

// The objects below are structs of fixed keys written by hand, not `#[serde(flatten)]`
// (which makes an object a map, each key a `&str` of unknown life): each writes its fields
// through `serialize_field`, so that a serializer is given its keys as `&'static str`
// (ipvsctl's caches each key's line). An object that holds another's fields (a SERVICE a
// KEY's, a listing's DESTINATION a DESTINATION's) writes them with the other's `fields`: each
// key is still spelled once. The schema's tests hold the bytes to those of the derived forms.

/// A SERVICE with (`stats` and) `destinations`, given as any sequence: the save document's
/// and the listing's, and the listing's with its destinations in another order or read one
/// service at a time ([`ListedService`]).
struct WithDestinations<'a, D: Serialize> {
    service: ServiceOut<'a>,
    stats: Option<&'a Stats>,
    destinations: D,
}

impl<D: Serialize> Serialize for WithDestinations<'_, D> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let len = ServiceOut::FIELDS + usize::from(self.stats.is_some()) + 1;
        let mut st = s.serialize_struct("WithDestinations", len)?;
        self.service.fields(&mut st)?;
        if let Some(stats) = self.stats {
            st.serialize_field("stats", stats)?;
        }
        st.serialize_field("destinations", &self.destinations)?;
        st.end()
    }
}

/// The listing's SERVICE ([`VirtualServer`]'s serde form) of a service and its destinations
/// held apart: `destinations` is any sequence of [`DestinationEntry`]s (in the listing's
/// order, or read when the service's turn comes).
pub struct ListedService<'a, D> {
    /// The service and its statistics.
    pub entry: &'a ServiceEntry,
    /// Its destinations, as the listing gives them.
    pub destinations: D,
}

impl<D: Serialize> Serialize for ListedService<'_, D> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WithDestinations {
            service: service_out_alone(&self.entry.service),
            stats: Some(&self.entry.stats),
            destinations: &self.destinations,
        }
        .serialize(s)
    }
}

pub(crate) struct ServiceOut<'a> {
    key: KeyOut,
    scheduler: &'a Scheduler,
    flags: Vec<String>,
    timeout: u32,
    netmask: Netmask,
    persistence_engine: Option<&'a str>,
}

impl ServiceOut<'_> {
    const FIELDS: usize = KeyOut::FIELDS + 5;

    /// SERVICE's fields (without `stats` and `destinations`), in the schema's order.
    fn fields<M: SerializeStruct>(&self, st: &mut M) -> Result<(), M::Error> {
        self.key.fields(st)?;
        st.serialize_field("scheduler", self.scheduler)?;
        st.serialize_field("flags", &self.flags)?;
        st.serialize_field("timeout", &self.timeout)?;
        st.serialize_field("netmask", &self.netmask)?;
        st.serialize_field("persistence_engine", &self.persistence_engine)
    }
}

impl Serialize for ServiceOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ServiceOut", Self::FIELDS)?;
        self.fields(&mut st)?;
        st.end()
    }
}

/// What identifies a service, in the schema's words.
pub(crate) struct KeyOut {
    family: Family,
    protocol: Option<Protocol>,
    address: Option<IpAddr>,
    port: Option<u16>,
    fwmark: Option<u32>,
}

/// An optional address as [`crate::addr::Ntop`] writes it, or `null` (a field's value).
struct OptAddrText(Option<IpAddr>);

impl Serialize for OptAddrText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser_ntop_opt(&self.0, s)
    }
}

/// An address as [`crate::addr::Ntop`] writes it (a field's value).
struct AddrText(IpAddr);

impl Serialize for AddrText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser_ntop(&self.0, s)
    }
}

/// A forwarding method's word (a field's value).
struct ForwardWord(Forward);

impl Serialize for ForwardWord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser_forward(&self.0, s)
    }
}

impl KeyOut {
    const FIELDS: usize = 5;

    /// KEY's fields, in the schema's order.
    fn fields<M: SerializeStruct>(&self, st: &mut M) -> Result<(), M::Error> {
        st.serialize_field("family", &self.family)?;
        st.serialize_field("protocol", &self.protocol)?;
        st.serialize_field("address", &OptAddrText(self.address))?;
        st.serialize_field("port", &self.port)?;
        st.serialize_field("fwmark", &self.fwmark)
    }
}

impl Serialize for KeyOut {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("KeyOut", Self::FIELDS)?;
        self.fields(&mut st)?;
        st.end()
    }
}

pub(crate) fn service_key_out(key: &ServiceKey) -> KeyOut {
    let (protocol, address, port, fwmark) = match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (Some(protocol), Some(addr), Some(port), None),
        ServiceKey::Fwmark { fwmark, .. } => (None, None, None, Some(fwmark)),
    };
    KeyOut {
        family: key.family(),
        protocol,
        address,
        port,
        fwmark,
    }
}

impl Serialize for ServiceKey {
    /// KEY: `family`, `protocol`, `address`, `port`, `fwmark` (`null` where
    /// they do not apply).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        service_key_out(self).serialize(s)
    }
}

/// A service without its `destinations` field.
pub(crate) fn service_out_alone(svc: &Service) -> ServiceOut<'_> {
    ServiceOut {
        key: service_key_out(&svc.key),
        scheduler: &svc.scheduler,
        flags: svc.flags.words(&svc.scheduler),
        timeout: svc.timeout,
        netmask: svc.netmask,
        persistence_engine: svc.persistence_engine.as_deref().filter(|s| !s.is_empty()),
    }
}

impl Serialize for Service {
    /// SERVICE without `destinations`: the KEY's fields, `scheduler`,
    /// `flags`, `timeout`, `netmask`, `persistence_engine`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        service_out_alone(self).serialize(s)
    }
}

impl Serialize for ServiceEntry {
    /// SERVICE with `stats`, without `destinations`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ServiceEntryOut", ServiceOut::FIELDS + 1)?;
        service_out_alone(&self.service).fields(&mut st)?;
        st.serialize_field("stats", &self.stats)?;
        st.end()
    }
}

impl Serialize for VirtualServer {
    /// The listing's SERVICE: with `stats` and its destinations (in the order
    /// held) with their counters.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ListedService {
            entry: &self.entry,
            destinations: &self.destinations[..],
        }
        .serialize(s)
    }
}

pub(crate) struct DestOut {
    family: Family,
    address: IpAddr,
    port: u16,
    forward: Forward,
    tunnel: Option<TunnelOut>,
    weight: u32,
    upper_threshold: u32,
    lower_threshold: u32,
}

impl DestOut {
    const FIELDS: usize = 8;

    /// DESTINATION's fields (without the listing's counters), in the schema's order.
    fn fields<M: SerializeStruct>(&self, st: &mut M) -> Result<(), M::Error> {
        st.serialize_field("family", &self.family)?;
        st.serialize_field("address", &AddrText(self.address))?;
        st.serialize_field("port", &self.port)?;
        st.serialize_field("forward", &ForwardWord(self.forward))?;
        st.serialize_field("tunnel", &self.tunnel)?;
        st.serialize_field("weight", &self.weight)?;
        st.serialize_field("upper_threshold", &self.upper_threshold)?;
        st.serialize_field("lower_threshold", &self.lower_threshold)
    }
}

impl Serialize for DestOut {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("DestOut", Self::FIELDS)?;
        self.fields(&mut st)?;
        st.end()
    }
}

#[derive(Serialize)]
pub(crate) struct TunnelOut {
    #[serde(rename = "type")]
    kind: TunnelType,
    port: u16,
    flags: Vec<String>,
}

pub(crate) fn dest_out(d: &Destination) -> DestOut {
    DestOut {
        family: d.family(),
        address: d.addr,
        port: d.port,
        forward: d.forward,
        tunnel: match d.forward {
            Forward::Tunnel { kind, port, flags } => Some(TunnelOut {
                kind,
                port,
                flags: flags.words(),
            }),
            _ => None,
        },
        weight: d.weight,
        upper_threshold: d.upper_threshold,
        lower_threshold: d.lower_threshold,
    }
}

impl Serialize for Destination {
    /// DESTINATION without the listing's counters: `family`, `address`,
    /// `port`, `forward`, `tunnel` (`null` unless tunnelled), `weight`,
    /// `upper_threshold`, `lower_threshold`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        dest_out(self).serialize(s)
    }
}

impl Serialize for DestinationEntry {
    /// The listing's DESTINATION: with `active_conns`, `inactive_conns`,
    /// `persistent_conns` and `stats`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("DestEntryOut", DestOut::FIELDS + 4)?;
        dest_out(&self.destination).fields(&mut st)?;
        st.serialize_field("active_conns", &self.active_conns)?;
        st.serialize_field("inactive_conns", &self.inactive_conns)?;
        st.serialize_field("persistent_conns", &self.persistent_conns)?;
        st.serialize_field("stats", &self.stats)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::{ip, sample};

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

    fn entry_stats() -> Stats {
        Stats {
            conns: 1,
            in_packets: 2,
            out_packets: 3,
            in_bytes: 4,
            out_bytes: 5,
            cps: 6,
            in_pps: 7,
            out_pps: 8,
            in_bps: 9,
            out_bps: 10,
        }
    }

    const STATS_JSON: &str = r#""stats":{"conns":1,"in_packets":2,"out_packets":3,"in_bytes":4,"out_bytes":5,"cps":6,"in_pps":7,"out_pps":8,"in_bps":9,"out_bps":10}"#;

    #[test]
    fn a_service_serializes_as_the_documented_service() {
        let mut svc = Service::new(ServiceKey::tcp(ip("10.1.1.3"), 80))
            .with_scheduler("rr")
            .with_persistence(100);
        svc.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
        svc.persistence_engine = Some("sip".into());
        // The kernel reports HASHED on every service: it is not written.
        svc.flags |= ServiceFlags::HASHED;
        let text = serde_json::to_string(&svc).unwrap();
        assert_eq!(
            text,
            r#"{"family":"ipv4","protocol":"tcp","address":"10.1.1.3","port":80,"fwmark":null,"scheduler":"rr","flags":["persistent"],"timeout":100,"netmask":"255.255.255.0","persistence_engine":"sip"}"#
        );
        let back: Service = serde_json::from_str(&text).unwrap();
        svc.flags.remove(ServiceFlags::HASHED);
        assert_eq!(back, svc);
    }

    #[test]
    fn a_fwmark_key_serializes_as_the_documented_key() {
        let key = ServiceKey::fwmark(7, Family::Inet6);
        let text = serde_json::to_string(&key).unwrap();
        assert_eq!(
            text,
            r#"{"family":"ipv6","protocol":null,"address":null,"port":null,"fwmark":7}"#
        );
        assert_eq!(serde_json::from_str::<ServiceKey>(&text).unwrap(), key);
        let v6 = ServiceKey::sctp(ip("::10.1.2.3"), 9);
        let text = serde_json::to_string(&v6).unwrap();
        // glibc's inet_ntop, not Rust's Display (which writes ::a01:203).
        assert!(text.contains(r#""address":"::10.1.2.3""#), "{text}");
        assert_eq!(serde_json::from_str::<ServiceKey>(&text).unwrap(), v6);
    }

    #[test]
    fn a_destination_serializes_as_the_documented_destination() {
        let d = Destination::new(ip("10.2.2.4"), 80).with_forward(Forward::Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: TunnelFlags::CSUM,
        });
        let text = serde_json::to_string(&d).unwrap();
        assert_eq!(
            text,
            r#"{"family":"ipv4","address":"10.2.2.4","port":80,"forward":"tunnel","tunnel":{"type":"gue","port":6080,"flags":["csum"]},"weight":1,"upper_threshold":0,"lower_threshold":0}"#
        );
        assert_eq!(serde_json::from_str::<Destination>(&text).unwrap(), d);
        let masq = Destination::new(ip("2001:db8::4"), 8080).with_forward(Forward::Masquerade);
        let text = serde_json::to_string(&masq).unwrap();
        assert_eq!(
            text,
            r#"{"family":"ipv6","address":"2001:db8::4","port":8080,"forward":"masq","tunnel":null,"weight":1,"upper_threshold":0,"lower_threshold":0}"#
        );
        assert_eq!(serde_json::from_str::<Destination>(&text).unwrap(), masq);
    }

    #[test]
    fn a_virtual_server_serializes_as_the_documented_listing_service() {
        let vs = VirtualServer {
            entry: ServiceEntry {
                service: Service::new(ServiceKey::udp(ip("10.0.0.1"), 53)),
                stats: entry_stats(),
            },
            destinations: vec![DestinationEntry {
                destination: Destination::new(ip("10.0.0.2"), 53),
                active_conns: 1,
                inactive_conns: 2,
                persistent_conns: 3,
                stats: entry_stats(),
            }],
        };
        let text = serde_json::to_string(&vs).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"family":"ipv4","protocol":"udp","address":"10.0.0.1","port":53,"fwmark":null,"scheduler":"wlc","flags":[],"timeout":0,"netmask":"255.255.255.255","persistence_engine":null,{STATS_JSON},"destinations":[{{"family":"ipv4","address":"10.0.0.2","port":53,"forward":"route","tunnel":null,"weight":1,"upper_threshold":0,"lower_threshold":0,"active_conns":1,"inactive_conns":2,"persistent_conns":3,{STATS_JSON}}}]}}"#
            )
        );
        assert_eq!(serde_json::from_str::<VirtualServer>(&text).unwrap(), vs);
        // A listing's service is also a state's (the counters are ignored).
        let state: State = serde_json::from_str(&format!(r#"{{"services":[{text}]}}"#)).unwrap();
        assert_eq!(state, State::from_servers([&vs]));
    }

    #[test]
    fn daemons_and_connections_serialize_as_documented() {
        let mut d = crate::SyncDaemon::new(crate::DaemonState::Master, "sync0", 5);
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"state":"master","mcast_interface":"sync0","sync_id":5,"sync_maxlen":null,"mcast_group":null,"mcast_port":null,"mcast_ttl":null}"#
        );
        d.mcast_group = Some(ip("224.0.0.81"));
        d.sync_maxlen = Some(1472);
        let text = serde_json::to_string(&d).unwrap();
        assert!(text.contains(r#""mcast_group":"224.0.0.81""#), "{text}");
        assert_eq!(serde_json::from_str::<crate::SyncDaemon>(&text).unwrap(), d);
        let c = crate::conn::Connection {
            protocol: "TCP".into(),
            client_addr: ip("10.0.0.1"),
            client_port: 36410,
            virtual_addr: ip("10.1.1.1"),
            virtual_port: 80,
            dest_addr: ip("10.2.2.3"),
            dest_port: 80,
            state: "ESTABLISHED".into(),
            expires: 899,
            pe_name: None,
            pe_data: None,
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"protocol":"tcp","client_address":"10.0.0.1","client_port":36410,"virtual_address":"10.1.1.1","virtual_port":80,"destination_address":"10.2.2.3","destination_port":80,"state":"ESTABLISHED","expires":899,"persistence_engine":null,"persistence_data":null}"#
        );
    }

    #[test]
    fn reading_a_service_alone_makes_the_same_checks() {
        let e = serde_json::from_str::<Service>(r#"{"protocol": "tcp", "address": "1.2.3.4"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("port: port 0 needs a persistent service"),
            "{e}"
        );
        let e = serde_json::from_str::<Destination>(
            r#"{"address": "1.2.3.4", "forward": "tunnel", "tunnel": {"type": "gue"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("tunnel.port: a gue tunnel needs a port"),
            "{e}"
        );
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
        // Decoding drops it (wire.rs); one set by hand is not written either.
        let state = State::from_servers([&vs]);
        assert!(!serde_json::to_string(&vs).unwrap().contains("0x"));
        let text = serde_json::to_string(&state).unwrap();
        assert!(!text.to_lowercase().contains("hashed"), "{text}");
        assert!(!text.contains("0x"), "{text}");
    }

    #[test]
    fn reading_reports_every_problem_with_its_path() {
        // Three mistakes in three places, and a duplicate: four problems, in document order.
        let text = r#"{"services": [
            {"protocol": "tcp", "address": "10.0.0.100", "port": 80, "destinations": [
                {"address": "10.0.0.2", "forward": "masq", "weight": 2147483648},
                {"address": "10.0.0.3", "forward": "masq", "lower_threshold": 3},
                {"address": "10.0.0.2", "forward": "masq", "port": 80}]},
            {"fwmark": 1, "scheduler": "", "destinations": []},
            {"protocol": "udp", "address": "10.0.0.100", "port": 53, "destinations": [
                {"address": "10.0.0.4", "forward": "nat"}]}
        ], "timeouts": {"tcp": 9999999, "tcp_fin": 0, "udp": 0}}"#;
        let input: StateInput = serde_json::from_str(text).unwrap();
        let e = State::try_from(input).unwrap_err();
        let paths: Vec<&str> = e.problems().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "services[0].destinations[0].weight",
                "services[0].destinations[1].lower_threshold",
                "services[0].destinations[2]",
                "services[1].scheduler",
                "services[2].destinations[0].forward",
                "timeouts.tcp",
            ]
        );
        assert_eq!(
            e.first().to_string(),
            "services[0].destinations[0].weight: 2147483648 is above 2147483647"
        );
        assert_eq!(
            e.problems()[0].reason,
            Reason::Invalid(InvalidValue::Weight(1 << 31))
        );
        assert_eq!(e.problems()[2].reason, Reason::DuplicateDestination);
        assert!(matches!(e.problems()[4].reason, Reason::Input(_)));
        assert_eq!(
            e.problems()[5].reason,
            Reason::Invalid(InvalidValue::Timeout("tcp", 9999999))
        );
        // One line: the problems joined, the first as before.
        let text = e.to_string();
        assert!(
            text.starts_with(
                "services[0].destinations[0].weight: 2147483648 is above 2147483647; \
                 services[0].destinations[1].lower_threshold: 3 is above upper_threshold 0; "
            ),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
        // serde's path gives the same text (with serde_json's position).
        let e = serde_json::from_str::<State>(r#"{"services": [{"fwmark": 1}, {"fwmark": 1}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("services[1]: the service is named twice"),
            "{e}"
        );
    }

    #[test]
    fn reading_gives_route_and_tunnel_destinations_the_services_port_as_normalize_does() {
        let text = r#"{"services": [{"protocol": "tcp", "address": "10.0.0.100", "port": 80,
            "destinations": [
                {"address": "10.0.0.2", "port": 8080},
                {"address": "10.0.0.3", "port": 8080, "forward": "tunnel"},
                {"address": "10.0.0.4", "port": 8080, "forward": "masq"}]}]}"#;
        let read: State = serde_json::from_str(text).unwrap();
        let ports: Vec<u16> = read.services[0]
            .destinations
            .iter()
            .map(|d| d.port)
            .collect();
        assert_eq!(ports, [80, 80, 8080]);
        // The same state built in Rust fails the check until normalised.
        let mut built = read.clone();
        built.services[0].destinations[0].port = 8080;
        built.services[0].destinations[1].port = 8080;
        let e = built.validate().unwrap_err();
        assert_eq!(e.problems().len(), 2);
        assert_eq!(e.first().path, "services[0].destinations[0].port");
        assert_eq!(
            e.first().reason,
            Reason::DestinationPort {
                port: 8080,
                service_port: 80
            }
        );
        built.normalize();
        assert_eq!(built, read);
        // A fwmark service has no port to give.
        let mut fw = State::default();
        fw.services.push(
            ServiceState::new(Service::new(ServiceKey::fwmark(3, Family::Inet)))
                .with_destination(Destination::new(ip("10.0.0.2"), 8080)),
        );
        fw.validate().unwrap();
        let before = fw.clone();
        fw.normalize();
        assert_eq!(fw, before);
    }

    #[test]
    fn health_keys_are_accepted_and_ignored() {
        let plain: State = serde_json::from_str(
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4"}]}]}"#,
        )
        .unwrap();
        let mut service =
            serde_json::json!({"fwmark": 1, "destinations": [{"address": "1.2.3.4"}]});
        for key in health::SERVICE {
            service[*key] = serde_json::json!({"any": ["value"]});
        }
        for key in health::DESTINATION {
            service["destinations"][0][*key] = serde_json::json!(7);
        }
        let doc = serde_json::json!({ "services": [service] });
        let read: State = serde_json::from_value(doc).unwrap();
        assert_eq!(read, plain);
        // Any other key is refused: the list and the reader's fields agree.
        let e = serde_json::from_str::<State>(r#"{"services": [{"fwmark": 1, "checks": 1}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `checks`"), "{e}");
        for key in health::SERVICE {
            assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
        }
    }

    /// Every written form on values at their edges (persistence engine, IPv6, fwmark, tunnels,
    /// no destinations, statistics, the settings), one compact line each.
    fn every_output_form() -> String {
        let mut state = sample();
        state.services[0].service.persistence_engine = Some("sip".into());
        state.services.push(ServiceState::new(
            Service::new(ServiceKey::udp(ip("2001:db8::53"), 53)).with_scheduler("mh"),
        ));
        state.timeouts = Some(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        });
        state.sysctls = BTreeMap::from([("am_droprate".to_string(), SysctlValue::Int(10))]);
        state.sync_daemons = Some(vec![crate::SyncDaemon::new(
            crate::DaemonState::Backup,
            "eth0",
            3,
        )]);
        let mut lines = vec![serde_json::to_string(&state).unwrap()];
        let dest_entry = |d: &Destination| DestinationEntry {
            destination: *d,
            active_conns: 1,
            inactive_conns: 2,
            persistent_conns: 3,
            stats: entry_stats(),
        };
        for st in &state.services {
            let entry = ServiceEntry {
                service: st.service.clone(),
                stats: entry_stats(),
            };
            let vs = VirtualServer {
                entry: entry.clone(),
                destinations: st.destinations.iter().map(dest_entry).collect(),
            };
            lines.push(serde_json::to_string(st).unwrap());
            lines.push(serde_json::to_string(&st.service).unwrap());
            lines.push(serde_json::to_string(&st.service.key).unwrap());
            lines.push(serde_json::to_string(&entry).unwrap());
            lines.push(serde_json::to_string(&vs).unwrap());
            for d in &st.destinations {
                lines.push(serde_json::to_string(d).unwrap());
                lines.push(serde_json::to_string(&dest_entry(d)).unwrap());
            }
        }
        lines.join("\n")
    }

    #[test]
    fn the_field_counts_are_the_keys_written() {
        // The lengths given to `serialize_struct` (a serializer may size an object by them).
        let keys = |v: serde_json::Value| v.as_object().unwrap().len();
        let state = sample();
        let st = &state.services[0];
        let d = st.destinations[0];
        let entry = ServiceEntry {
            service: st.service.clone(),
            stats: entry_stats(),
        };
        let dest_entry = DestinationEntry {
            destination: d,
            active_conns: 0,
            inactive_conns: 0,
            persistent_conns: 0,
            stats: entry_stats(),
        };
        assert_eq!(
            keys(serde_json::to_value(st.service.key).unwrap()),
            KeyOut::FIELDS
        );
        assert_eq!(
            keys(serde_json::to_value(&st.service).unwrap()),
            ServiceOut::FIELDS
        );
        assert_eq!(keys(serde_json::to_value(d).unwrap()), DestOut::FIELDS);
        assert_eq!(
            keys(serde_json::to_value(&entry).unwrap()),
            ServiceOut::FIELDS + 1
        );
        assert_eq!(
            keys(serde_json::to_value(&dest_entry).unwrap()),
            DestOut::FIELDS + 4
        );
        assert_eq!(
            keys(serde_json::to_value(st).unwrap()),
            ServiceOut::FIELDS + 1
        );
        let vs = VirtualServer {
            entry,
            destinations: vec![dest_entry],
        };
        assert_eq!(
            keys(serde_json::to_value(&vs).unwrap()),
            ServiceOut::FIELDS + 2
        );
    }

    #[test]
    fn every_output_form_keeps_its_bytes() {
        // Captured before the forms were written by hand (without `#[serde(flatten)]`).
        let want = include_str!("schema/forms.txt");
        let now = every_output_form();
        for (a, b) in now.lines().zip(want.lines()) {
            assert_eq!(a, b);
        }
        assert_eq!(now, want.trim_end());
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
