//! The kernel's IPVS objects as plain Rust values.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use bitflags::bitflags;
use serde::{Deserialize, Serialize};

use ipvs_sys::consts::*;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
}

impl Family {
    /// The kernel's `AF_*` number.
    pub fn to_af(self) -> u16 {
        match self {
            Family::Inet => AF_INET,
            Family::Inet6 => AF_INET6,
        }
    }
    /// The family of an `AF_*` number, if IPVS knows it.
    pub fn from_af(af: u16) -> Option<Self> {
        match af {
            AF_INET => Some(Family::Inet),
            AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        if addr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }
}

/// Transport protocol of an address-based service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
    /// Any other IP protocol number the kernel reports.
    #[serde(untagged)]
    Other(u16),
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Other(n) => n,
        }
    }
    /// The protocol of an IP protocol number.
    pub fn from_number(n: u16) -> Self {
        match n {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            n => Protocol::Other(n),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Sctp => f.write_str("SCTP"),
            Protocol::Other(n) => write!(f, "{n}"),
        }
    }
}

/// What identifies a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServiceKey {
    /// A protocol, virtual address and port.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual IP address.
        addr: IpAddr,
        /// Virtual port (0 only with persistence).
        port: u16,
    },
    /// A firewall mark and an address family.
    Fwmark {
        /// The mark (non-zero).
        fwmark: u32,
        /// Family of the packets it matches.
        family: Family,
    },
}

impl ServiceKey {
    /// A TCP service.
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }
    /// A UDP service.
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }
    /// An SCTP service.
    pub fn sctp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr,
            port,
        }
    }
    /// A firewall-mark service.
    pub fn fwmark(fwmark: u32, family: Family) -> Self {
        ServiceKey::Fwmark { fwmark, family }
    }
    /// The address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
    /// Whether this is a firewall-mark service.
    pub fn is_fwmark(&self) -> bool {
        matches!(self, ServiceKey::Fwmark { .. })
    }
}

/// A scheduling algorithm. The kernel loads `ip_vs_<name>` on demand, so any
/// name is accepted here; the known ones have variants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Scheduler {
    /// Round robin.
    RoundRobin,
    /// Weighted round robin.
    WeightedRoundRobin,
    /// Least connection.
    LeastConnection,
    /// Weighted least connection (ipvsadm's default).
    #[default]
    WeightedLeastConnection,
    /// Locality-based least connection.
    LocalityBasedLeastConnection,
    /// Locality-based least connection with replication.
    LocalityBasedLeastConnectionReplication,
    /// Destination hashing.
    DestinationHashing,
    /// Source hashing.
    SourceHashing,
    /// Shortest expected delay.
    ShortestExpectedDelay,
    /// Never queue.
    NeverQueue,
    /// Weighted failover.
    WeightedFailover,
    /// Weighted overflow.
    WeightedOverflow,
    /// Maglev hashing.
    MaglevHashing,
    /// No scheduler (`"none"`).
    None,
    /// Any other scheduler module name.
    Other(String),
}

impl Scheduler {
    /// The 13 schedulers ipvsadm 1.31 knows, by kernel name.
    pub const KNOWN: [&'static str; 13] = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
    ];

    /// The kernel's name, e.g. `"wlc"`.
    pub fn name(&self) -> &str {
        use Scheduler::*;
        match self {
            RoundRobin => "rr",
            WeightedRoundRobin => "wrr",
            LeastConnection => "lc",
            WeightedLeastConnection => "wlc",
            LocalityBasedLeastConnection => "lblc",
            LocalityBasedLeastConnectionReplication => "lblcr",
            DestinationHashing => "dh",
            SourceHashing => "sh",
            ShortestExpectedDelay => "sed",
            NeverQueue => "nq",
            WeightedFailover => "fo",
            WeightedOverflow => "ovf",
            MaglevHashing => "mh",
            None => "none",
            Other(s) => s,
        }
    }
}

impl From<&str> for Scheduler {
    fn from(s: &str) -> Self {
        use Scheduler::*;
        match s {
            "rr" => RoundRobin,
            "wrr" => WeightedRoundRobin,
            "lc" => LeastConnection,
            "wlc" => WeightedLeastConnection,
            "lblc" => LocalityBasedLeastConnection,
            "lblcr" => LocalityBasedLeastConnectionReplication,
            "dh" => DestinationHashing,
            "sh" => SourceHashing,
            "sed" => ShortestExpectedDelay,
            "nq" => NeverQueue,
            "fo" => WeightedFailover,
            "ovf" => WeightedOverflow,
            "mh" => MaglevHashing,
            "none" => None,
            other => Other(other.to_string()),
        }
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Scheduler {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Scheduler {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Scheduler::from(s.as_str()))
    }
}

bitflags! {
    /// Service flags (`IP_VS_SVC_F_*`). Unknown bits the kernel reports are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
    #[serde(transparent)]
    pub struct ServiceFlags: u32 {
        /// Persistent service.
        const PERSISTENT = IP_VS_SVC_F_PERSISTENT;
        /// The kernel has hashed the service (reported, never set).
        const HASHED = IP_VS_SVC_F_HASHED;
        /// One-packet scheduling (each UDP datagram scheduled alone).
        const ONEPACKET = IP_VS_SVC_F_ONEPACKET;
        /// Scheduler flag 1 (sh/mh: fallback).
        const SCHED1 = IP_VS_SVC_F_SCHED1;
        /// Scheduler flag 2 (sh/mh: port).
        const SCHED2 = IP_VS_SVC_F_SCHED2;
        /// Scheduler flag 3.
        const SCHED3 = IP_VS_SVC_F_SCHED3;
        /// sh: fall back to another server when the hashed one is unavailable.
        const SH_FALLBACK = IP_VS_SVC_F_SCHED_SH_FALLBACK;
        /// sh: include the source port in the hash.
        const SH_PORT = IP_VS_SVC_F_SCHED_SH_PORT;
        /// mh: fall back to another server when the hashed one is unavailable.
        const MH_FALLBACK = IP_VS_SVC_F_SCHED_MH_FALLBACK;
        /// mh: include the source port in the hash.
        const MH_PORT = IP_VS_SVC_F_SCHED_MH_PORT;
        const _ = !0;
    }
}

/// Persistence netmask: which client addresses share a persistent server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Netmask {
    /// An IPv4 mask, e.g. 255.255.255.0.
    V4(Ipv4Addr),
    /// An IPv6 prefix length, 1..=128.
    V6(u8),
}

impl Netmask {
    /// The default for a family: all bits (255.255.255.255 or /128).
    pub fn full(family: Family) -> Self {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::BROADCAST),
            Family::Inet6 => Netmask::V6(128),
        }
    }
    pub(crate) fn to_wire(self) -> u32 {
        match self {
            Netmask::V4(m) => u32::from_ne_bytes(m.octets()),
            Netmask::V6(p) => u32::from(p),
        }
    }
    pub(crate) fn from_wire(v: u32, family: Family) -> Self {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::from(v.to_ne_bytes())),
            Family::Inet6 => Netmask::V6(v.min(255) as u8),
        }
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netmask::V4(m) => write!(f, "{m}"),
            Netmask::V6(p) => write!(f, "{p}"),
        }
    }
}

impl FromStr for Netmask {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(m) = s.parse::<Ipv4Addr>() {
            return Ok(Netmask::V4(m));
        }
        match s.parse::<u8>() {
            Ok(p) if (1..=128).contains(&p) => Ok(Netmask::V6(p)),
            _ => Err(format!("invalid netmask {s:?}")),
        }
    }
}

impl Serialize for Netmask {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Netmask {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A virtual service's configuration: what `add_service` takes and `service` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// What identifies it.
    #[serde(flatten)]
    pub key: ServiceKey,
    /// Scheduling algorithm.
    pub scheduler: Scheduler,
    /// Flags; [`ServiceFlags::PERSISTENT`] goes with a non-zero `timeout`.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with `PERSISTENT`).
    pub timeout: u32,
    /// Persistence netmask.
    pub netmask: Netmask,
    /// Persistence engine, e.g. `"sip"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence_engine: Option<String>,
}

impl Service {
    /// A service with ipvsadm's defaults: wlc, not persistent, full netmask.
    pub fn new(key: ServiceKey) -> Self {
        Service {
            key,
            scheduler: Scheduler::default(),
            flags: ServiceFlags::empty(),
            timeout: 0,
            netmask: Netmask::full(key.family()),
            persistence_engine: None,
        }
    }
    /// Sets the scheduler.
    pub fn with_scheduler(mut self, s: impl Into<Scheduler>) -> Self {
        self.scheduler = s.into();
        self
    }
    /// Makes the service persistent for `timeout` seconds.
    pub fn with_persistence(mut self, timeout: u32) -> Self {
        self.flags |= ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self
    }
    /// Whether the service is persistent.
    pub fn is_persistent(&self) -> bool {
        self.flags.contains(ServiceFlags::PERSISTENT)
    }
}

impl From<&String> for Scheduler {
    fn from(s: &String) -> Self {
        Scheduler::from(s.as_str())
    }
}

/// Tunnel encapsulation of a tunnelling destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    /// IP in IP (the default).
    Ipip,
    /// Generic UDP encapsulation (needs a port).
    Gue,
    /// Generic routing encapsulation.
    Gre,
    /// A type number this library does not know.
    #[serde(untagged)]
    Other(u8),
}

impl TunnelType {
    pub(crate) fn to_wire(self) -> u8 {
        match self {
            TunnelType::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            TunnelType::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            TunnelType::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            TunnelType::Other(n) => n,
        }
    }
    pub(crate) fn from_wire(n: u8) -> Self {
        match n {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelType::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelType::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelType::Gre,
            n => TunnelType::Other(n),
        }
    }
}

bitflags! {
    /// Tunnel checksum flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`); empty means no checksum.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
    #[serde(transparent)]
    pub struct TunnelFlags: u16 {
        /// Outer checksum.
        const CSUM = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
        /// Remote checksum offload (GUE only).
        const REMCSUM = IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
        const _ = !0;
    }
}

/// How packets reach a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Forward {
    /// NAT: the director rewrites the destination address (ipvsadm `-m`).
    Masquerade,
    /// Deliver locally.
    Local,
    /// Encapsulate to the real server (ipvsadm `-i`).
    Tunnel {
        /// Encapsulation.
        #[serde(rename = "tunnel_type")]
        kind: TunnelType,
        /// UDP port for GUE (0 otherwise).
        #[serde(rename = "tunnel_port", default)]
        port: u16,
        /// Checksum flags.
        #[serde(rename = "tunnel_flags", default)]
        flags: TunnelFlags,
    },
    /// Direct routing: rewrite the MAC only (ipvsadm `-g`, its default).
    #[serde(rename = "route")]
    DirectRoute,
    /// Bypass the cache.
    Bypass,
    /// A method number this library does not know.
    #[serde(untagged)]
    Other {
        /// The raw `IP_VS_CONN_F_*` value.
        raw: u32,
    },
}

impl Forward {
    /// Plain IP-in-IP tunnelling.
    pub fn ipip() -> Self {
        Forward::Tunnel {
            kind: TunnelType::Ipip,
            port: 0,
            flags: TunnelFlags::empty(),
        }
    }
    pub(crate) fn to_wire(self) -> u32 {
        match self {
            Forward::Masquerade => IP_VS_CONN_F_MASQ,
            Forward::Local => IP_VS_CONN_F_LOCALNODE,
            Forward::Tunnel { .. } => IP_VS_CONN_F_TUNNEL,
            Forward::DirectRoute => IP_VS_CONN_F_DROUTE,
            Forward::Bypass => IP_VS_CONN_F_BYPASS,
            Forward::Other { raw } => raw,
        }
    }
    pub(crate) fn from_wire(raw: u32, kind: u8, port: u16, flags: u16) -> Self {
        match raw & IP_VS_CONN_F_FWD_MASK {
            IP_VS_CONN_F_MASQ => Forward::Masquerade,
            IP_VS_CONN_F_LOCALNODE => Forward::Local,
            IP_VS_CONN_F_TUNNEL => Forward::Tunnel {
                kind: TunnelType::from_wire(kind),
                port,
                flags: TunnelFlags::from_bits_retain(flags),
            },
            IP_VS_CONN_F_DROUTE => Forward::DirectRoute,
            IP_VS_CONN_F_BYPASS => Forward::Bypass,
            _ => Forward::Other { raw },
        }
    }
}

/// A destination (real server) of a service: what `add_destination` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Destination {
    /// Real-server address.
    pub addr: IpAddr,
    /// Real-server port.
    pub port: u16,
    /// Forwarding method.
    #[serde(flatten)]
    pub forward: Forward,
    /// Weight (0 quiesces the server).
    pub weight: u32,
    /// Upper connection threshold (0: no limit).
    #[serde(default)]
    pub upper_threshold: u32,
    /// Lower connection threshold.
    #[serde(default)]
    pub lower_threshold: u32,
}

impl Destination {
    /// A destination with ipvsadm's defaults: direct routing, weight 1, no thresholds.
    pub fn new(addr: IpAddr, port: u16) -> Self {
        Destination {
            addr,
            port,
            forward: Forward::DirectRoute,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }
    /// Sets the forwarding method.
    pub fn with_forward(mut self, forward: Forward) -> Self {
        self.forward = forward;
        self
    }
    /// Sets the weight.
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }
    /// Address family.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

/// Counters and rates, always 64-bit (from `STATS64`, or `STATS` on kernels before 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub in_packets: u64,
    /// Outgoing packets.
    pub out_packets: u64,
    /// Incoming bytes.
    pub in_bytes: u64,
    /// Outgoing bytes.
    pub out_bytes: u64,
    /// Connections per second (rate estimate).
    pub cps: u64,
    /// Incoming packets per second.
    pub in_pps: u64,
    /// Outgoing packets per second.
    pub out_pps: u64,
    /// Incoming bytes per second.
    pub in_bps: u64,
    /// Outgoing bytes per second.
    pub out_bps: u64,
}

/// A service as the kernel reports it: configuration plus statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    /// The configuration.
    #[serde(flatten)]
    pub service: Service,
    /// Counters and rates.
    pub stats: Stats,
}

/// A destination as the kernel reports it: configuration, connections, statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationEntry {
    /// The configuration.
    #[serde(flatten)]
    pub destination: Destination,
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistent connection templates.
    pub persistent_conns: u32,
    /// Counters and rates.
    pub stats: Stats,
}

/// A service with its destinations: one element of [`crate::Ipvs::state`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServer {
    /// The service.
    #[serde(flatten)]
    pub entry: ServiceEntry,
    /// Its destinations, in kernel order.
    pub destinations: Vec<DestinationEntry>,
}

/// Connection timeouts in seconds. In [`crate::Ipvs::set_timeouts`], 0 leaves a value unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Timeouts {
    /// Established TCP.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// Role of a connection-sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonState {
    /// Sends connection state.
    Master,
    /// Receives connection state.
    Backup,
}

impl DaemonState {
    pub(crate) fn to_wire(self) -> u32 {
        match self {
            DaemonState::Master => IP_VS_STATE_MASTER,
            DaemonState::Backup => IP_VS_STATE_BACKUP,
        }
    }
}

impl fmt::Display for DaemonState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DaemonState::Master => "master",
            DaemonState::Backup => "backup",
        })
    }
}

/// A connection-sync daemon's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: DaemonState,
    /// Multicast interface.
    pub mcast_interface: String,
    /// Sync id (0..=255).
    pub sync_id: u32,
    /// Maximum sync message length (kernel 4.3+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_maxlen: Option<u16>,
    /// Multicast group (kernel 4.3+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcast_group: Option<IpAddr>,
    /// Multicast UDP port (kernel 4.3+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcast_port: Option<u16>,
    /// Multicast TTL (kernel 4.3+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcast_ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with only the required settings.
    pub fn new(state: DaemonState, mcast_interface: &str, sync_id: u32) -> Self {
        SyncDaemon {
            state,
            mcast_interface: mcast_interface.to_string(),
            sync_id,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }
}

/// IPVS version and connection-table size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Version code, e.g. `0x010201` for 1.2.1.
    pub version: u32,
    /// Buckets of the connection hash table.
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as `(major, minor, patch)`.
    pub fn version_triple(&self) -> (u32, u32, u32) {
        (
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff,
        )
    }
}

/// One connection from `/proc/net/ip_vs_conn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Protocol, e.g. `TCP`.
    pub protocol: String,
    /// Client address.
    pub client_addr: IpAddr,
    /// Client port.
    pub client_port: u16,
    /// Virtual address.
    pub virtual_addr: IpAddr,
    /// Virtual port.
    pub virtual_port: u16,
    /// Real-server address.
    pub dest_addr: IpAddr,
    /// Real-server port.
    pub dest_port: u16,
    /// Protocol state, e.g. `ESTABLISHED`.
    pub state: String,
    /// Seconds until it expires.
    pub expires: u32,
    /// Persistence engine name, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pe_name: Option<String>,
    /// Persistence engine data, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pe_data: Option<String>,
}

pub(crate) fn addr_from_wire(bytes: [u8; 16], family: Family) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(bytes)),
    }
}

pub(crate) fn addr_to_wire(addr: &IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out.copy_from_slice(&a.octets()),
    }
    out
}
