//! The kernel's IPVS objects as plain Rust values.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use bitflags::bitflags;
use serde::{Deserialize, Serialize};

use ipvs_sys::consts::*;

use crate::check::UnknownWord;

/// Serde through the type's word: `Display` out ([`Word`]), `FromStr` in.
macro_rules! serde_word {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.serialize_word(s)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<str>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_word!(
    Family,
    Protocol,
    TunnelType,
    DaemonState,
    Scheduler,
    Netmask
);

/// How a word type is written: its `Display` text. JSON listings write several a destination,
/// so the fixed words are given as strings, without the formatting machinery (`collect_str`
/// costs several hundred instructions a word); the rest go through `Display`.
trait Word: fmt::Display {
    /// The word, where it is a string held already.
    fn fixed_word(&self) -> Option<&str> {
        None
    }

    fn serialize_word<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.fixed_word() {
            Some(w) => s.serialize_str(w),
            None => s.collect_str(self),
        }
    }
}

impl Word for Family {
    fn fixed_word(&self) -> Option<&str> {
        Some(match self {
            Family::Inet => "ipv4",
            Family::Inet6 => "ipv6",
        })
    }
}

impl Word for Protocol {
    fn fixed_word(&self) -> Option<&str> {
        self.name()
    }
}

impl Word for TunnelType {
    fn fixed_word(&self) -> Option<&str> {
        match self {
            TunnelType::Ipip => Some("ipip"),
            TunnelType::Gue => Some("gue"),
            TunnelType::Gre => Some("gre"),
            TunnelType::Other(_) => None,
        }
    }
}

impl Word for DaemonState {
    fn fixed_word(&self) -> Option<&str> {
        Some(match self {
            DaemonState::Master => "master",
            DaemonState::Backup => "backup",
        })
    }
}

impl Word for Scheduler {
    fn fixed_word(&self) -> Option<&str> {
        Some(self.name())
    }
}

impl Word for Netmask {
    fn serialize_word<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // `Ntop` writes an IPv4 address as its `Display` does, into a buffer on the stack.
            Netmask::V4(m) => s.serialize_str(crate::addr::Ntop::new(IpAddr::V4(*m)).as_str()),
            Netmask::V6(_) => s.collect_str(self),
        }
    }
}

impl Forward {
    /// The word of the method, where it is fixed (`masq`, `route`...): its `Display` text.
    pub(crate) fn fixed_word(&self) -> Option<&'static str> {
        Some(match self {
            Forward::Masquerade => "masq",
            Forward::Local => "local",
            Forward::Tunnel { .. } => "tunnel",
            Forward::DirectRoute => "route",
            Forward::Bypass => "bypass",
            Forward::Other { .. } => return None,
        })
    }
}

/// Address family of a service or destination; its word is `ipv4` or `ipv6`.
///
/// The variants keep the kernel's names (`AF_INET`, `AF_INET6`, as the
/// netlink attributes and every C tool say them); [`Family::IPV4`] and
/// [`Family::IPV6`] are the same values under the schema's words, and
/// `Display` / `FromStr` use those words.
///
/// ```
/// use ipvs::Family;
/// assert_eq!(Family::IPV6, Family::Inet6);
/// assert_eq!("ipv4".parse::<Family>(), Ok(Family::IPV4));
/// assert_eq!(Family::IPV4.to_string(), "ipv4");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
}

impl Family {
    /// [`Family::Inet`] under its word, `ipv4`.
    pub const IPV4: Family = Family::Inet;
    /// [`Family::Inet6`] under its word, `ipv6`.
    pub const IPV6: Family = Family::Inet6;
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

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Inet => "ipv4",
            Family::Inet6 => "ipv6",
        })
    }
}

impl FromStr for Family {
    type Err = UnknownWord;
    /// `ipv4` or `ipv6`.
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        match s {
            "ipv4" => Ok(Family::Inet),
            "ipv6" => Ok(Family::Inet6),
            other => Err(UnknownWord::new(
                "address family",
                other,
                "\"ipv4\" or \"ipv6\"",
            )),
        }
    }
}

/// Transport protocol of an address-based service; its word is `tcp`, `udp`,
/// `sctp` or the protocol number in decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
    /// Any other IP protocol number the kernel reports.
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

impl Protocol {
    /// The protocol's name (`tcp`, `udp`, `sctp`; also what the services
    /// database calls it), `None` for other protocol numbers.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Protocol::Tcp => Some("tcp"),
            Protocol::Udp => Some("udp"),
            Protocol::Sctp => Some("sctp"),
            Protocol::Other(_) => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.number()),
        }
    }
}

impl FromStr for Protocol {
    type Err = UnknownWord;
    /// `tcp`, `udp`, `sctp`, or a protocol number 1 to 65535.
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        match [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
            .into_iter()
            .find(|p| p.name() == Some(s))
        {
            Some(p) => Ok(p),
            None => match s.parse::<u16>() {
                Ok(n) if n != 0 && s.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(Protocol::from_number(n))
                }
                _ => Err(UnknownWord::new(
                    "protocol",
                    s,
                    "\"tcp\", \"udp\", \"sctp\" or a protocol number",
                )),
            },
        }
    }
}

/// What identifies a virtual service. Its serde form is the KEY of
/// `docs/json.md`: `family`, `protocol`, `address`, `port` and `fwmark`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
#[non_exhaustive]
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

impl FromStr for Scheduler {
    type Err = std::convert::Infallible;
    /// Any name: the kernel loads `ip_vs_<name>` on demand. Its length is
    /// checked by [`Service::validate`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Scheduler::from(s))
    }
}

impl Scheduler {
    /// The words of scheduler flags 1, 2 and 3 for this scheduler, as `-b`
    /// and the JSON schema name them: `sh-fallback`, `sh-port` for sh,
    /// `mh-...` for mh, `flag-N` otherwise (and for flag 3 of sh and mh).
    pub fn flag_words(&self) -> [ServiceFlag; 3] {
        match self.name() {
            "sh" => [
                ServiceFlag::ShFallback,
                ServiceFlag::ShPort,
                ServiceFlag::Flag3,
            ],
            "mh" => [
                ServiceFlag::MhFallback,
                ServiceFlag::MhPort,
                ServiceFlag::Flag3,
            ],
            _ => [ServiceFlag::Flag1, ServiceFlag::Flag2, ServiceFlag::Flag3],
        }
    }
}

bitflags! {
    /// Service flags (`IP_VS_SVC_F_*`). Unknown bits the kernel reports are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
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

/// One named service flag: the words of the JSON schema's `flags` and of
/// ipvsadm's `-b` (scheduler flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServiceFlag {
    /// `persistent` (ipvsadm `-p`).
    Persistent,
    /// `ops`: one-packet scheduling (ipvsadm `-o`).
    OnePacket,
    /// `hashed`: the kernel's internal bit; read and ignored, never written.
    Hashed,
    /// `flag-1`: scheduler flag 1.
    Flag1,
    /// `flag-2`: scheduler flag 2.
    Flag2,
    /// `flag-3`: scheduler flag 3.
    Flag3,
    /// `sh-fallback`: scheduler flag 1 of sh.
    ShFallback,
    /// `sh-port`: scheduler flag 2 of sh.
    ShPort,
    /// `mh-fallback`: scheduler flag 1 of mh.
    MhFallback,
    /// `mh-port`: scheduler flag 2 of mh.
    MhPort,
}

impl ServiceFlag {
    /// Every word, in the order the schema writes them.
    pub const ALL: [ServiceFlag; 10] = [
        ServiceFlag::Persistent,
        ServiceFlag::OnePacket,
        ServiceFlag::Hashed,
        ServiceFlag::Flag1,
        ServiceFlag::Flag2,
        ServiceFlag::Flag3,
        ServiceFlag::ShFallback,
        ServiceFlag::ShPort,
        ServiceFlag::MhFallback,
        ServiceFlag::MhPort,
    ];

    /// The word.
    pub fn word(self) -> &'static str {
        match self {
            ServiceFlag::Persistent => "persistent",
            ServiceFlag::OnePacket => "ops",
            ServiceFlag::Hashed => "hashed",
            ServiceFlag::Flag1 => "flag-1",
            ServiceFlag::Flag2 => "flag-2",
            ServiceFlag::Flag3 => "flag-3",
            ServiceFlag::ShFallback => "sh-fallback",
            ServiceFlag::ShPort => "sh-port",
            ServiceFlag::MhFallback => "mh-fallback",
            ServiceFlag::MhPort => "mh-port",
        }
    }

    /// The bit it sets.
    pub fn bit(self) -> ServiceFlags {
        match self {
            ServiceFlag::Persistent => ServiceFlags::PERSISTENT,
            ServiceFlag::OnePacket => ServiceFlags::ONEPACKET,
            ServiceFlag::Hashed => ServiceFlags::HASHED,
            ServiceFlag::Flag1 | ServiceFlag::ShFallback | ServiceFlag::MhFallback => {
                ServiceFlags::SCHED1
            }
            ServiceFlag::Flag2 | ServiceFlag::ShPort | ServiceFlag::MhPort => ServiceFlags::SCHED2,
            ServiceFlag::Flag3 => ServiceFlags::SCHED3,
        }
    }

    /// Whether it is one of the scheduler flags (what `-b` takes).
    pub fn is_scheduler_flag(self) -> bool {
        self.bit().intersects(ServiceFlags::SCHEDULER)
    }

    /// The scheduler the word is for (`sh` for `sh-port`), if only one.
    pub fn scheduler(self) -> Option<&'static str> {
        match self {
            ServiceFlag::ShFallback | ServiceFlag::ShPort => Some("sh"),
            ServiceFlag::MhFallback | ServiceFlag::MhPort => Some("mh"),
            _ => None,
        }
    }

    /// Whether the word may be used with `scheduler`: `sh-*` only with sh,
    /// `mh-*` only with mh, the others with any.
    pub fn fits(self, scheduler: &Scheduler) -> bool {
        self.scheduler().map_or(true, |s| s == scheduler.name())
    }
}

impl fmt::Display for ServiceFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

impl FromStr for ServiceFlag {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        ServiceFlag::ALL
            .into_iter()
            .find(|f| f.word() == s)
            .ok_or_else(|| {
                UnknownWord::new(
                    "service flag",
                    s,
                    "persistent, ops, flag-1, flag-2, flag-3, sh-fallback, sh-port, \
                     mh-fallback, mh-port or 0x... bits",
                )
            })
    }
}

impl ServiceFlags {
    /// The three scheduler flag bits.
    pub const SCHEDULER: ServiceFlags = ServiceFlags::SCHED1
        .union(ServiceFlags::SCHED2)
        .union(ServiceFlags::SCHED3);

    /// The flags as the JSON schema writes them: `persistent`, `ops`, the
    /// scheduler flags named for `scheduler` ([`Scheduler::flag_words`]),
    /// then any other bit as 8 hex digits (`0x00000040`). The kernel-internal
    /// `HASHED` bit is left out.
    pub fn words(self, scheduler: &Scheduler) -> Vec<String> {
        let mut words = Vec::new();
        let named = [ServiceFlag::Persistent, ServiceFlag::OnePacket]
            .into_iter()
            .chain(scheduler.flag_words());
        for w in named {
            if self.contains(w.bit()) {
                words.push(w.word().to_string());
            }
        }
        let known = ServiceFlags::PERSISTENT
            | ServiceFlags::HASHED
            | ServiceFlags::ONEPACKET
            | ServiceFlags::SCHEDULER;
        // The unknown bits, lowest first (one step a bit set, not one a bit).
        let mut unknown = self.bits() & !known.bits();
        while unknown != 0 {
            let bit = unknown & unknown.wrapping_neg();
            words.push(format!("{bit:#010x}"));
            unknown &= !bit;
        }
        words
    }

    /// Reads the words [`ServiceFlags::words`] writes (and `hashed`, which
    /// is ignored). Each scheduler flag word must fit `scheduler`.
    pub fn from_words<'a>(
        words: impl IntoIterator<Item = &'a str>,
        scheduler: &Scheduler,
    ) -> Result<ServiceFlags, crate::check::InvalidValue> {
        let mut flags = ServiceFlags::empty();
        for w in words {
            if let Some(b) = hex_bits(w) {
                flags |= ServiceFlags::from_bits_retain(b);
                continue;
            }
            let flag: ServiceFlag = w.parse().map_err(crate::check::InvalidValue::Word)?;
            if !flag.fits(scheduler) {
                return Err(crate::check::InvalidValue::FlagScheduler {
                    flag,
                    scheduler: scheduler.clone(),
                });
            }
            flags |= flag.bit();
        }
        Ok(flags - ServiceFlags::HASHED)
    }
}

/// `0x...` hex, as the schema writes unknown flag bits.
fn hex_bits(word: &str) -> Option<u32> {
    let h = word.strip_prefix("0x")?;
    u32::from_str_radix(h, 16).ok()
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

/// A virtual service's configuration: what `add_service` takes and `service` returns.
/// Its serde form is SERVICE of `docs/json.md` without `destinations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// What identifies it.
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
    /// ipvsadm's persistence timeout for `-p` without a value, and the JSON schema's for a
    /// `persistent` service without `timeout`, in seconds.
    pub const DEFAULT_PERSISTENCE: u32 = 360;

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

/// Tunnel encapsulation of a tunnelling destination; its word is `ipip`,
/// `gue`, `gre` or the type number in decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TunnelType {
    /// IP in IP (the default).
    Ipip,
    /// Generic UDP encapsulation (needs a port).
    Gue,
    /// Generic routing encapsulation.
    Gre,
    /// A type number this library does not know.
    Other(u8),
}

impl fmt::Display for TunnelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelType::Ipip => f.write_str("ipip"),
            TunnelType::Gue => f.write_str("gue"),
            TunnelType::Gre => f.write_str("gre"),
            TunnelType::Other(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for TunnelType {
    type Err = UnknownWord;
    /// `ipip`, `gue`, `gre`, or a type number.
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        match s {
            "ipip" => Ok(TunnelType::Ipip),
            "gue" => Ok(TunnelType::Gue),
            "gre" => Ok(TunnelType::Gre),
            other => match other.parse::<u8>() {
                Ok(n) if other.bytes().all(|b| b.is_ascii_digit()) => Ok(TunnelType::from_wire(n)),
                _ => Err(UnknownWord::new("tunnel type", other, "ipip, gue or gre")),
            },
        }
    }
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
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
    pub struct TunnelFlags: u16 {
        /// Outer checksum.
        const CSUM = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
        /// Remote checksum offload (GUE only).
        const REMCSUM = IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
        const _ = !0;
    }
}

impl TunnelFlags {
    /// The flags as words: `csum`, `remcsum`, other bits as `0x0004`.
    pub fn words(self) -> Vec<String> {
        let mut words = Vec::new();
        if self.contains(TunnelFlags::CSUM) {
            words.push("csum".to_string());
        }
        if self.contains(TunnelFlags::REMCSUM) {
            words.push("remcsum".to_string());
        }
        let unknown = self.bits() & !(TunnelFlags::CSUM | TunnelFlags::REMCSUM).bits();
        for i in 0..16 {
            let bit = 1u16 << i;
            if unknown & bit != 0 {
                words.push(format!("{bit:#06x}"));
            }
        }
        words
    }

    /// One word of [`TunnelFlags::words`].
    pub fn from_word(word: &str) -> Result<TunnelFlags, UnknownWord> {
        match word {
            "csum" => Ok(TunnelFlags::CSUM),
            "remcsum" => Ok(TunnelFlags::REMCSUM),
            other => hex_bits(other)
                .and_then(|b| u16::try_from(b).ok())
                .map(TunnelFlags::from_bits_retain)
                .ok_or_else(|| UnknownWord::new("tunnel flag", other, "csum or remcsum")),
        }
    }
}

impl fmt::Display for TunnelFlags {
    /// The words, comma-separated (`csum`); nothing for no checksum.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words().join(","))
    }
}

impl FromStr for TunnelFlags {
    type Err = UnknownWord;
    /// Comma-separated words; an empty string is no flag.
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        s.split(',')
            .filter(|w| !w.is_empty())
            .try_fold(TunnelFlags::empty(), |acc, w| {
                Ok(acc | TunnelFlags::from_word(w)?)
            })
    }
}

/// How packets reach a destination. Its word (`Display`, `FromStr`) is the
/// method alone: `masq`, `local`, `tunnel`, `route`, `bypass`, or the method
/// number in decimal; `"tunnel"` reads as plain IP-in-IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Forward {
    /// NAT: the director rewrites the destination address (ipvsadm `-m`).
    Masquerade,
    /// Deliver locally.
    Local,
    /// Encapsulate to the real server (ipvsadm `-i`).
    Tunnel {
        /// Encapsulation.
        kind: TunnelType,
        /// UDP port for GUE (0 otherwise).
        port: u16,
        /// Checksum flags.
        flags: TunnelFlags,
    },
    /// Direct routing: rewrite the MAC only (ipvsadm `-g`, its default).
    DirectRoute,
    /// Bypass the cache.
    Bypass,
    /// A method number this library does not know.
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
    /// The method number (`IP_VS_CONN_F_FWD_MASK` bits): 0 masq, 1 local,
    /// 2 tunnel, 3 route, 4 bypass.
    pub fn number(&self) -> u32 {
        self.to_wire() & IP_VS_CONN_F_FWD_MASK
    }
}

impl fmt::Display for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Forward::Other { raw } => write!(f, "{raw}"),
            // Every other method has its fixed word.
            known => f.write_str(known.fixed_word().unwrap_or_default()),
        }
    }
}

impl FromStr for Forward {
    type Err = UnknownWord;
    /// A method word, or a method number 0 to 7.
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        Ok(match s {
            "masq" => Forward::Masquerade,
            "local" => Forward::Local,
            "tunnel" => Forward::ipip(),
            "route" => Forward::DirectRoute,
            "bypass" => Forward::Bypass,
            other => match other.parse::<u32>() {
                Ok(raw)
                    if raw <= IP_VS_CONN_F_FWD_MASK
                        && other.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    Forward::from_wire(raw, IP_VS_CONN_F_TUNNEL_TYPE_IPIP, 0, 0)
                }
                _ => {
                    return Err(UnknownWord::new(
                        "forwarding method",
                        other,
                        "masq, route, tunnel, local or bypass",
                    ))
                }
            },
        })
    }
}

/// A destination (real server) of a service: what `add_destination` takes.
/// Its serde form is DESTINATION of `docs/json.md` without the listing's
/// counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    /// Real-server address.
    pub addr: IpAddr,
    /// Real-server port.
    pub port: u16,
    /// Forwarding method.
    pub forward: Forward,
    /// Weight (0 quiesces the server).
    pub weight: u32,
    /// Upper connection threshold (0: no limit).
    pub upper_threshold: u32,
    /// Lower connection threshold.
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
    /// Sets the connection thresholds, `lower..=upper` (ipvsadm `-y` and `-x`;
    /// an upper threshold of 0 is no limit).
    ///
    /// ```
    /// use ipvs::Destination;
    /// let d = Destination::new("10.0.0.2".parse().unwrap(), 80).with_thresholds(10..=100);
    /// assert_eq!((d.lower_threshold, d.upper_threshold), (10, 100));
    /// ```
    pub fn with_thresholds(mut self, thresholds: std::ops::RangeInclusive<u32>) -> Self {
        self.lower_threshold = *thresholds.start();
        self.upper_threshold = *thresholds.end();
        self
    }
    /// Address family.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

/// What a read of services or destinations decodes ([`crate::Ipvs::services_with`],
/// [`crate::Ipvs::destinations_into_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Everything, the statistics too.
    WithStats,
    /// All but the statistics, which stay zero: for a listing that prints no counters (the
    /// kernel sends them anyway; decoding them was a quarter of a destination's decoding).
    WithoutStats,
}

/// Counters and rates, always 64-bit (from `STATS64`, or `STATS` on kernels before 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
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

/// A service as the kernel reports it: configuration plus statistics. Its
/// serde form is SERVICE of `docs/json.md` with `stats`, without `destinations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    /// The configuration.
    pub service: Service,
    /// Counters and rates.
    pub stats: Stats,
}

/// A destination as the kernel reports it: configuration, connections,
/// statistics. Its serde form is the listing's DESTINATION of `docs/json.md`.
///
/// Its `Default` is `0.0.0.0:0` with [`Destination::new`]'s defaults and no
/// connections or counters, for filling the rest of a literal:
///
/// ```
/// use ipvs::{Destination, DestinationEntry};
/// let e = DestinationEntry {
///     destination: Destination::new("10.0.0.2".parse().unwrap(), 80),
///     active_conns: 3,
///     ..Default::default()
/// };
/// assert_eq!(e.inactive_conns, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationEntry {
    /// The configuration.
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

impl Default for DestinationEntry {
    fn default() -> Self {
        DestinationEntry {
            destination: Destination::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0),
            active_conns: 0,
            inactive_conns: 0,
            persistent_conns: 0,
            stats: Stats::default(),
        }
    }
}

/// A service with its destinations: one element of [`crate::Ipvs::state`].
/// Its serde form is the listing's SERVICE of `docs/json.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// The service.
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

/// Role of a connection-sync daemon; its word is `master` or `backup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
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

impl FromStr for DaemonState {
    type Err = UnknownWord;
    /// `master` or `backup`.
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        match s {
            "master" => Ok(DaemonState::Master),
            "backup" => Ok(DaemonState::Backup),
            other => Err(UnknownWord::new("daemon state", other, "master or backup")),
        }
    }
}

/// A connection-sync daemon's configuration. Its serde form is DAEMON of
/// `docs/json.md` (settings the kernel did not report are `null`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: DaemonState,
    /// Multicast interface.
    pub mcast_interface: String,
    /// Sync id (0..=255).
    pub sync_id: u32,
    /// Maximum sync message length (kernel 4.3+).
    #[serde(default)]
    pub sync_maxlen: Option<u16>,
    /// Multicast group (kernel 4.3+).
    #[serde(default, serialize_with = "crate::addr::ser_ntop_opt")]
    pub mcast_group: Option<IpAddr>,
    /// Multicast UDP port (kernel 4.3+).
    #[serde(default)]
    pub mcast_port: Option<u16>,
    /// Multicast TTL (kernel 4.3+).
    #[serde(default)]
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

/// IPVS version and connection-table size. Its serde form is the listing
/// document's `version` (`"1.2.1"`) and `conn_tab_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Version code, e.g. `0x010201` for 1.2.1.
    #[serde(with = "version_word")]
    pub version: u32,
    /// Buckets of the connection hash table.
    pub conn_tab_size: u32,
}

/// A version code as `major.minor.patch`.
mod version_word {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!(
            "{}.{}.{}",
            (v >> 16) & 0xff,
            (v >> 8) & 0xff,
            v & 0xff
        ))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        let parts: Vec<u32> = s
            .split('.')
            .map(|p| p.parse::<u8>().map(u32::from))
            .collect::<Result<_, _>>()
            .map_err(|_| serde::de::Error::custom(format!("invalid version {s:?}")))?;
        match parts[..] {
            [major, minor, patch] => Ok(major << 16 | minor << 8 | patch),
            _ => Err(serde::de::Error::custom(format!(
                "invalid version {s:?} (expected major.minor.patch)"
            ))),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word type writes, in JSON, its `Display` text as a string: the fixed words given
    /// as strings write what `collect_str` wrote.
    #[test]
    fn words_serialize_as_their_display_text() {
        fn same<T: Serialize + fmt::Display>(v: T) {
            let via_display = serde_json::to_string(&v.to_string()).unwrap();
            assert_eq!(serde_json::to_string(&v).unwrap(), via_display, "{v}");
        }
        [Family::Inet, Family::Inet6].into_iter().for_each(same);
        [
            Protocol::Tcp,
            Protocol::Udp,
            Protocol::Sctp,
            Protocol::Other(99),
        ]
        .into_iter()
        .for_each(same);
        [
            TunnelType::Ipip,
            TunnelType::Gue,
            TunnelType::Gre,
            TunnelType::Other(7),
        ]
        .into_iter()
        .for_each(same);
        [DaemonState::Master, DaemonState::Backup]
            .into_iter()
            .for_each(same);
        Scheduler::KNOWN
            .into_iter()
            .map(Scheduler::from)
            .for_each(same);
        same(Scheduler::from("my\"sched"));
        for m in ["255.255.255.255", "0.0.0.0", "255.255.0.0", "10.1.20.255"] {
            same(Netmask::V4(m.parse().unwrap()));
        }
        [Netmask::V6(128), Netmask::V6(1), Netmask::V6(64)]
            .into_iter()
            .for_each(same);
        let methods = [
            Forward::Masquerade,
            Forward::Local,
            Forward::ipip(),
            Forward::DirectRoute,
            Forward::Bypass,
            Forward::Other { raw: 6 },
        ];
        let words: Vec<String> = methods.iter().map(Forward::to_string).collect();
        assert_eq!(words, ["masq", "local", "tunnel", "route", "bypass", "6"]);
        for m in methods {
            let d = crate::Destination::new("192.0.2.1".parse().unwrap(), 80).with_forward(m);
            let json = serde_json::to_value(d).unwrap();
            assert_eq!(json["forward"], serde_json::json!(m.to_string()), "{m}");
        }
    }

    /// Display then FromStr gives the value back, and the word is the one given.
    fn round_trip<T>(v: T, word: &str)
    where
        T: fmt::Display + FromStr + PartialEq + fmt::Debug,
        T::Err: fmt::Debug,
    {
        assert_eq!(v.to_string(), word);
        assert_eq!(word.parse::<T>().unwrap(), v);
    }

    #[test]
    fn family_words() {
        round_trip(Family::Inet, "ipv4");
        round_trip(Family::Inet6, "ipv6");
        let e = "inet".parse::<Family>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown address family \"inet\" (expected \"ipv4\" or \"ipv6\")"
        );
    }

    #[test]
    fn protocol_words() {
        round_trip(Protocol::Tcp, "tcp");
        round_trip(Protocol::Udp, "udp");
        round_trip(Protocol::Sctp, "sctp");
        round_trip(Protocol::Other(33), "33");
        assert_eq!("6".parse::<Protocol>().unwrap(), Protocol::Tcp);
        for bad in ["0", "TCP", "+6", "65536", ""] {
            assert!(bad.parse::<Protocol>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forward_words() {
        round_trip(Forward::Masquerade, "masq");
        round_trip(Forward::Local, "local");
        round_trip(Forward::ipip(), "tunnel");
        round_trip(Forward::DirectRoute, "route");
        round_trip(Forward::Bypass, "bypass");
        round_trip(Forward::Other { raw: 5 }, "5");
        assert_eq!("0".parse::<Forward>().unwrap(), Forward::Masquerade);
        assert_eq!("2".parse::<Forward>().unwrap(), Forward::ipip());
        let e = "nat".parse::<Forward>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown forwarding method \"nat\" (expected masq, route, tunnel, local or bypass)"
        );
        assert!("8".parse::<Forward>().is_err());
        assert_eq!(Forward::ipip().number(), 2);
        assert_eq!(Forward::Other { raw: 13 }.number(), 5);
    }

    #[test]
    fn unknown_service_flags_are_words_lowest_bit_first() {
        let sched = Scheduler::from("sh");
        for bits in [
            0u32,
            0x40,
            0x8000_0000,
            0xffff_ffff,
            0x1234_5678,
            0x100 | 0x1,
        ] {
            let flags = ServiceFlags::from_bits_retain(bits);
            let known = ServiceFlags::PERSISTENT
                | ServiceFlags::HASHED
                | ServiceFlags::ONEPACKET
                | ServiceFlags::SCHEDULER;
            let unknown: Vec<String> = (0..32)
                .map(|i| 1u32 << i)
                .filter(|b| bits & !known.bits() & b != 0)
                .map(|b| format!("{b:#010x}"))
                .collect();
            let words = flags.words(&sched);
            assert_eq!(
                words[words.len() - unknown.len()..],
                unknown[..],
                "{bits:#x}"
            );
            assert_eq!(
                ServiceFlags::from_words(words.iter().map(String::as_str), &sched).unwrap(),
                flags - ServiceFlags::HASHED,
                "{bits:#x}"
            );
        }
    }

    #[test]
    fn tunnel_words() {
        round_trip(TunnelType::Ipip, "ipip");
        round_trip(TunnelType::Gue, "gue");
        round_trip(TunnelType::Gre, "gre");
        round_trip(TunnelType::Other(9), "9");
        assert_eq!("1".parse::<TunnelType>().unwrap(), TunnelType::Gue);
        assert!("vxlan".parse::<TunnelType>().is_err());
        round_trip(TunnelFlags::empty(), "");
        round_trip(TunnelFlags::CSUM, "csum");
        round_trip(TunnelFlags::REMCSUM, "remcsum");
        round_trip(
            TunnelFlags::CSUM | TunnelFlags::from_bits_retain(4),
            "csum,0x0004",
        );
        assert_eq!(
            TunnelFlags::from_word("nocsum").unwrap_err().to_string(),
            "unknown tunnel flag \"nocsum\" (expected csum or remcsum)"
        );
    }

    #[test]
    fn info_serializes_as_the_listing_header() {
        let info = Info {
            version: 0x010201,
            conn_tab_size: 4096,
        };
        let text = serde_json::to_string(&info).unwrap();
        assert_eq!(text, r#"{"version":"1.2.1","conn_tab_size":4096}"#);
        assert_eq!(serde_json::from_str::<Info>(&text).unwrap(), info);
        assert!(serde_json::from_str::<Info>(r#"{"version":"1.2","conn_tab_size":1}"#).is_err());
    }

    #[test]
    fn daemon_state_words() {
        round_trip(DaemonState::Master, "master");
        round_trip(DaemonState::Backup, "backup");
        assert!("slave".parse::<DaemonState>().is_err());
    }

    #[test]
    fn scheduler_words() {
        for name in Scheduler::KNOWN {
            let s: Scheduler = name.parse().unwrap();
            assert_eq!(s.to_string(), name);
            assert!(!matches!(s, Scheduler::Other(_)), "{name}");
        }
        round_trip(Scheduler::Other("twos".into()), "twos");
    }

    #[test]
    fn service_flag_words() {
        for f in ServiceFlag::ALL {
            round_trip(f, f.word());
        }
        let sh = Scheduler::from("sh");
        assert_eq!(
            sh.flag_words(),
            [
                ServiceFlag::ShFallback,
                ServiceFlag::ShPort,
                ServiceFlag::Flag3
            ]
        );
        let all = ServiceFlags::PERSISTENT
            | ServiceFlags::HASHED
            | ServiceFlags::ONEPACKET
            | ServiceFlags::SCHEDULER
            | ServiceFlags::from_bits_retain(0x40);
        assert_eq!(
            all.words(&sh),
            [
                "persistent",
                "ops",
                "sh-fallback",
                "sh-port",
                "flag-3",
                "0x00000040"
            ]
        );
        assert_eq!(
            all.words(&Scheduler::from("mh"))[2..5],
            ["mh-fallback", "mh-port", "flag-3"]
        );
        assert_eq!(
            all.words(&Scheduler::from("rr"))[2..5],
            ["flag-1", "flag-2", "flag-3"]
        );
        let words = all.words(&sh);
        assert_eq!(
            ServiceFlags::from_words(words.iter().map(String::as_str), &sh).unwrap(),
            all - ServiceFlags::HASHED
        );
        assert!(!ServiceFlag::Persistent.is_scheduler_flag());
        assert!(ServiceFlag::MhPort.is_scheduler_flag());
    }
}
