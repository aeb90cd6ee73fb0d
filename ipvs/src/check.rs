//! The checks ipvsadm and the kernel make on values, in one place: the
//! command line (ipvsctl words the errors as ipvsadm does), the JSON state
//! (each error prefixed with where it is) and Rust programs all call these.

use std::fmt;
use std::net::IpAddr;

use crate::{
    Destination, Family, Forward, Netmask, Protocol, Scheduler, Service, ServiceFlag, ServiceFlags,
    ServiceKey, SyncDaemon, Timeouts, TunnelFlags, TunnelType, UnknownWord,
};

/// Largest weight and connection threshold: the kernel keeps them in an `int`
/// (Debian's ipvsadm 1.31 takes weights up to `INT_MAX`).
pub const MAX_WEIGHT: u32 = i32::MAX as u32;
/// Longest persistence timeout and connection timeout, in seconds: ipvsadm's
/// `MAX_TIMEOUT` (31 days).
pub const MAX_TIMEOUT: u32 = 86400 * 31;
/// Longest scheduler or persistence engine name in bytes
/// (`IP_VS_SCHEDNAME_MAXLEN` / `IP_VS_PENAME_MAXLEN` minus the NUL).
pub const MAX_NAME: usize = 15;
/// Longest sync daemon interface name in bytes (`IP_VS_IFNAME_MAXLEN` minus the NUL).
pub const MAX_IFNAME: usize = 15;
/// Largest sync daemon id.
pub const MAX_SYNC_ID: u32 = 255;
/// Largest sync message length: an IPv4 UDP datagram's payload (65535 - 20 - 8).
pub const MAX_SYNC_MAXLEN: u16 = 65535 - 20 - 8;

/// A value that ipvsadm or the kernel refuses. [`fmt::Display`] says what
/// is wrong in the library's words; [`InvalidValue::field`] names the field
/// (as the JSON schema spells it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidValue {
    /// A word that names nothing of its kind.
    Word(UnknownWord),
    /// A scheduler flag word for another scheduler (`sh-port` with `rr`).
    FlagScheduler {
        /// The word.
        flag: ServiceFlag,
        /// The service's scheduler.
        scheduler: Scheduler,
    },
    /// A fwmark service with mark 0.
    Fwmark,
    /// A scheduler name that is empty, longer than [`MAX_NAME`] or holds a NUL.
    SchedulerName(String),
    /// A persistence engine name that is empty, longer than [`MAX_NAME`] or holds a NUL.
    PersistenceEngineName(String),
    /// A persistent service's timeout of 0 or above [`MAX_TIMEOUT`].
    PersistenceTimeout(u32),
    /// A netmask of the other family, or an IPv6 prefix length outside 1..=128.
    Netmask(Family),
    /// Port 0 on a service that is not persistent.
    ZeroPort,
    /// One-packet scheduling on a TCP or SCTP service.
    OnePacket(Protocol),
    /// A forwarding method number above 7.
    ForwardMethod(u32),
    /// A destination of another family than its service's, not tunnelled.
    Family,
    /// A gue tunnel without port, or an ipip or gre tunnel with one.
    TunnelPort(TunnelType),
    /// Checksum flags a tunnel type does not take: any on ipip, `remcsum` on gre.
    TunnelChecksum(TunnelType),
    /// `csum` and `remcsum` together.
    ChecksumBoth,
    /// A weight above [`MAX_WEIGHT`].
    Weight(u32),
    /// An upper threshold above [`MAX_WEIGHT`].
    UpperThreshold(u32),
    /// A lower threshold above [`MAX_WEIGHT`].
    LowerThreshold(u32),
    /// A lower threshold above the upper one.
    ThresholdOrder {
        /// Lower threshold.
        lower: u32,
        /// Upper threshold.
        upper: u32,
    },
    /// A connection timeout above [`MAX_TIMEOUT`]: which (`tcp`, `tcp_fin`, `udp`) and its value.
    Timeout(&'static str, u32),
    /// A sync daemon interface name that is empty or longer than [`MAX_IFNAME`].
    McastInterface(String),
    /// A sync id above [`MAX_SYNC_ID`].
    SyncId(u32),
    /// A sync message length of 0 or above [`MAX_SYNC_MAXLEN`].
    SyncMaxlen(u16),
    /// A multicast group that is not a multicast address.
    McastGroup(IpAddr),
    /// A multicast port of 0.
    McastPort,
    /// A multicast TTL of 0.
    McastTtl,
}

impl InvalidValue {
    /// The field the value is in, as the JSON schema names it (`weight`,
    /// `tunnel.port`, ...).
    pub fn field(&self) -> &'static str {
        use InvalidValue::*;
        match self {
            Word(w) => match w.kind {
                "address family" => "family",
                "protocol" => "protocol",
                "forwarding method" => "forward",
                "tunnel type" => "tunnel.type",
                "tunnel flag" => "tunnel.flags",
                "daemon state" => "state",
                _ => "flags",
            },
            FlagScheduler { .. } | OnePacket(_) => "flags",
            Fwmark => "fwmark",
            SchedulerName(_) => "scheduler",
            PersistenceEngineName(_) => "persistence_engine",
            PersistenceTimeout(_) => "timeout",
            Netmask(_) => "netmask",
            ZeroPort => "port",
            ForwardMethod(_) => "forward",
            Family => "address",
            TunnelPort(_) => "tunnel.port",
            TunnelChecksum(_) | ChecksumBoth => "tunnel.flags",
            Weight(_) => "weight",
            UpperThreshold(_) => "upper_threshold",
            LowerThreshold(_) | ThresholdOrder { .. } => "lower_threshold",
            Timeout(which, _) => which,
            McastInterface(_) => "mcast_interface",
            SyncId(_) => "sync_id",
            SyncMaxlen(_) => "sync_maxlen",
            McastGroup(_) => "mcast_group",
            McastPort => "mcast_port",
            McastTtl => "mcast_ttl",
        }
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use InvalidValue::*;
        match self {
            Word(w) => write!(f, "{w}"),
            FlagScheduler { flag, scheduler } => write!(
                f,
                "flag {:?} needs the {} scheduler, not {:?}",
                flag.word(),
                flag.scheduler().unwrap_or("?"),
                scheduler.name()
            ),
            Fwmark => f.write_str("fwmark 0 is not a valid mark"),
            SchedulerName(n) | PersistenceEngineName(n) => {
                write!(f, "invalid name {n:?} (1 to {MAX_NAME} bytes)")
            }
            PersistenceTimeout(0) => f.write_str("a persistent service needs a timeout above 0"),
            PersistenceTimeout(t) => write!(f, "{t} is above {MAX_TIMEOUT}"),
            Netmask(crate::Family::Inet) => {
                f.write_str("an IPv4 service's netmask is a dotted quad such as \"255.255.255.0\"")
            }
            Netmask(crate::Family::Inet6) => {
                f.write_str("an IPv6 service's netmask is a prefix length from 1 to 128")
            }
            ZeroPort => f.write_str("port 0 needs a persistent service"),
            OnePacket(_) => {
                f.write_str("\"ops\" (one-packet scheduling) is only for UDP or fwmark services")
            }
            ForwardMethod(raw) => write!(f, "unknown forwarding method {raw}"),
            Family => f.write_str(
                "a different address family than the service's is allowed only for tunnels",
            ),
            TunnelPort(TunnelType::Gue) => f.write_str("a gue tunnel needs a port (1 to 65535)"),
            TunnelPort(TunnelType::Ipip) => f.write_str("an ipip tunnel has no port"),
            TunnelPort(t) => write!(f, "a {t} tunnel has no port"),
            TunnelChecksum(TunnelType::Gre) => f.write_str("remcsum is for gue tunnels only"),
            TunnelChecksum(TunnelType::Ipip) => {
                f.write_str("an ipip tunnel has no checksum options")
            }
            TunnelChecksum(t) => write!(f, "a {t} tunnel has no checksum options"),
            ChecksumBoth => f.write_str("csum and remcsum exclude each other"),
            Weight(v) | UpperThreshold(v) | LowerThreshold(v) => {
                write!(f, "{v} is above {MAX_WEIGHT}")
            }
            ThresholdOrder { lower, upper } => {
                write!(f, "{lower} is above upper_threshold {upper}")
            }
            Timeout(_, v) => write!(f, "{v} is above {MAX_TIMEOUT}"),
            McastInterface(n) => {
                write!(f, "invalid interface name {n:?} (1 to {MAX_IFNAME} bytes)")
            }
            SyncId(v) => write!(f, "{v} is above {MAX_SYNC_ID}"),
            SyncMaxlen(v) => write!(f, "{v} is not from 1 to {MAX_SYNC_MAXLEN}"),
            McastGroup(a) => write!(f, "{} is not a multicast address", crate::ntop(*a)),
            McastPort => f.write_str("port 0 is not a multicast port"),
            McastTtl => f.write_str("a TTL of 0 sends nothing"),
        }
    }
}

impl std::error::Error for InvalidValue {}

impl From<UnknownWord> for InvalidValue {
    fn from(w: UnknownWord) -> Self {
        InvalidValue::Word(w)
    }
}

type Check = Result<(), InvalidValue>;

fn name_ok(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && !name.contains('\0')
}

impl Service {
    /// ipvsadm's and the kernel's checks: a fwmark above 0; port 0 only for a
    /// persistent service; one-packet scheduling only for UDP and fwmark
    /// services; scheduler and persistence engine names of 1 to
    /// [`MAX_NAME`] bytes; a persistent service's timeout from 1 to
    /// [`MAX_TIMEOUT`]; a netmask of the service's family (an IPv6 prefix
    /// length from 1 to 128). The first failed check, in that order.
    pub fn validate(&self) -> Check {
        let persistent = self.flags.contains(ServiceFlags::PERSISTENT);
        match self.key {
            ServiceKey::Fwmark { fwmark: 0, .. } => return Err(InvalidValue::Fwmark),
            ServiceKey::Fwmark { .. } => {}
            ServiceKey::Addr { protocol, port, .. } => {
                if port == 0 && !persistent {
                    return Err(InvalidValue::ZeroPort);
                }
                if self.flags.contains(ServiceFlags::ONEPACKET) && protocol != Protocol::Udp {
                    return Err(InvalidValue::OnePacket(protocol));
                }
            }
        }
        if !name_ok(self.scheduler.name()) {
            return Err(InvalidValue::SchedulerName(self.scheduler.name().into()));
        }
        if persistent && (self.timeout == 0 || self.timeout > MAX_TIMEOUT) {
            return Err(InvalidValue::PersistenceTimeout(self.timeout));
        }
        match (self.key.family(), self.netmask) {
            (Family::Inet, Netmask::V4(_)) => {}
            (Family::Inet6, Netmask::V6(p)) if (1..=128).contains(&p) => {}
            (family, _) => return Err(InvalidValue::Netmask(family)),
        }
        if let Some(pe) = self.persistence_engine.as_deref() {
            if !name_ok(pe) {
                return Err(InvalidValue::PersistenceEngineName(pe.into()));
            }
        }
        Ok(())
    }
}

/// The tunnel rules: `gue` needs a port, `ipip` and `gre` have none; `ipip`
/// has no checksum flags, `gre` no `remcsum`; `csum` and `remcsum` exclude
/// each other.
fn check_tunnel(kind: TunnelType, port: u16, flags: TunnelFlags) -> Check {
    let both = TunnelFlags::CSUM | TunnelFlags::REMCSUM;
    match kind {
        TunnelType::Ipip | TunnelType::Gre if port != 0 => Err(InvalidValue::TunnelPort(kind)),
        TunnelType::Gue if port == 0 => Err(InvalidValue::TunnelPort(kind)),
        TunnelType::Ipip if !flags.is_empty() => Err(InvalidValue::TunnelChecksum(kind)),
        TunnelType::Gre if flags.contains(TunnelFlags::REMCSUM) => {
            Err(InvalidValue::TunnelChecksum(kind))
        }
        TunnelType::Gue if flags.contains(both) => Err(InvalidValue::ChecksumBoth),
        _ => Ok(()),
    }
}

impl Destination {
    /// ipvsadm's and the kernel's checks on a destination of `service`: a
    /// known forwarding method; the service's family unless tunnelled; the
    /// tunnel rules (`gue` needs a port, `ipip` and `gre` have none, `ipip`
    /// no checksum flags, `gre` no `remcsum`, not `csum` and `remcsum`
    /// together); weight and thresholds at most [`MAX_WEIGHT`]; the lower
    /// threshold not above the upper one. The first failed check, in that
    /// order.
    pub fn validate(&self, service: &ServiceKey) -> Check {
        if let Forward::Other { raw } = self.forward {
            if raw > 7 {
                return Err(InvalidValue::ForwardMethod(raw));
            }
        }
        let tunnel = matches!(self.forward, Forward::Tunnel { .. });
        if Family::of(&self.addr) != service.family() && !tunnel {
            return Err(InvalidValue::Family);
        }
        if let Forward::Tunnel { kind, port, flags } = self.forward {
            check_tunnel(kind, port, flags)?;
        }
        if self.weight > MAX_WEIGHT {
            return Err(InvalidValue::Weight(self.weight));
        }
        if self.upper_threshold > MAX_WEIGHT {
            return Err(InvalidValue::UpperThreshold(self.upper_threshold));
        }
        if self.lower_threshold > MAX_WEIGHT {
            return Err(InvalidValue::LowerThreshold(self.lower_threshold));
        }
        if self.lower_threshold > self.upper_threshold {
            return Err(InvalidValue::ThresholdOrder {
                lower: self.lower_threshold,
                upper: self.upper_threshold,
            });
        }
        Ok(())
    }
}

impl Timeouts {
    /// Each timeout at most [`MAX_TIMEOUT`] (0 leaves a value as it is).
    pub fn validate(&self) -> Check {
        for (which, v) in [
            ("tcp", self.tcp),
            ("tcp_fin", self.tcp_fin),
            ("udp", self.udp),
        ] {
            if v > MAX_TIMEOUT {
                return Err(InvalidValue::Timeout(which, v));
            }
        }
        Ok(())
    }
}

impl SyncDaemon {
    /// The interface name of 1 to [`MAX_IFNAME`] bytes, a sync id at most
    /// [`MAX_SYNC_ID`], a message length from 1 to [`MAX_SYNC_MAXLEN`], a
    /// multicast group, port and TTL above 0.
    pub fn validate(&self) -> Check {
        let ifn = &self.mcast_interface;
        if ifn.is_empty() || ifn.len() > MAX_IFNAME || ifn.contains('\0') {
            return Err(InvalidValue::McastInterface(ifn.clone()));
        }
        if self.sync_id > MAX_SYNC_ID {
            return Err(InvalidValue::SyncId(self.sync_id));
        }
        if let Some(m) = self.sync_maxlen {
            if m == 0 || m > MAX_SYNC_MAXLEN {
                return Err(InvalidValue::SyncMaxlen(m));
            }
        }
        if let Some(g) = self.mcast_group {
            if !g.is_multicast() {
                return Err(InvalidValue::McastGroup(g));
            }
        }
        if self.mcast_port == Some(0) {
            return Err(InvalidValue::McastPort);
        }
        if self.mcast_ttl == Some(0) {
            return Err(InvalidValue::McastTtl);
        }
        Ok(())
    }
}
