//! The checks ipvsadm and the kernel make on values, in one place: the
//! command line (ipvsctl words the errors as ipvsadm does), the JSON state
//! (each error prefixed with where it is) and Rust programs all call these.

use std::fmt;
use std::net::IpAddr;

use crate::{
    Destination, Family, Forward, Netmask, Protocol, Scheduler, Service, ServiceFlag, ServiceFlags,
    ServiceKey, SyncDaemon, Timeouts, TunnelFlags, TunnelType,
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
            McastGroup(a) => write!(
                f,
                "{} is not a multicast address",
                crate::addr::Ntop::new(*a)
            ),
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
    #[inline]
    pub fn validate(&self) -> Check {
        if self.plainly_valid() {
            return Ok(());
        }
        first(|out| self.each_problem(out))
    }

    /// Each failed check of [`Service::validate`], in its order (a check
    /// that depends on another one that failed is left out).
    #[inline]
    pub(crate) fn each_problem(&self, out: &mut dyn FnMut(InvalidValue)) {
        if self.plainly_valid() {
            return;
        }
        self.each_problem_one_by_one(out);
    }

    /// Whether the usual service (an address and a port, neither persistent nor one-packet,
    /// a scheduler of a known name, the netmask of its family, no persistence engine) passes
    /// every check of [`Service::each_problem`], by a few compares: every `-A` line of `-R`
    /// and `apply` and every service of a state's check is checked so. `false` leaves the
    /// answer to the checks one by one.
    #[inline(always)]
    fn plainly_valid(&self) -> bool {
        let ServiceKey::Addr { addr, port, .. } = self.key else {
            return false;
        };
        port != 0
            && !self
                .flags
                .intersects(ServiceFlags::PERSISTENT | ServiceFlags::ONEPACKET)
            && !matches!(self.scheduler, Scheduler::Other(_))
            && self.persistence_engine.is_none()
            && match (addr, self.netmask) {
                (IpAddr::V4(_), Netmask::V4(_)) => true,
                (IpAddr::V6(_), Netmask::V6(p)) => (1..=128).contains(&p),
                _ => false,
            }
    }

    /// [`Service::each_problem`] without the shortcut.
    fn each_problem_one_by_one(&self, out: &mut dyn FnMut(InvalidValue)) {
        let persistent = self.flags.contains(ServiceFlags::PERSISTENT);
        match self.key {
            ServiceKey::Fwmark { fwmark: 0, .. } => out(InvalidValue::Fwmark),
            ServiceKey::Fwmark { .. } => {}
            ServiceKey::Addr { protocol, port, .. } => {
                if port == 0 && !persistent {
                    out(InvalidValue::ZeroPort);
                }
                if self.flags.contains(ServiceFlags::ONEPACKET) && protocol != Protocol::Udp {
                    out(InvalidValue::OnePacket(protocol));
                }
            }
        }
        if !name_ok(self.scheduler.name()) {
            out(InvalidValue::SchedulerName(self.scheduler.name().into()));
        }
        if persistent && (self.timeout == 0 || self.timeout > MAX_TIMEOUT) {
            out(InvalidValue::PersistenceTimeout(self.timeout));
        }
        match (self.key.family(), self.netmask) {
            (Family::Inet, Netmask::V4(_)) => {}
            (Family::Inet6, Netmask::V6(p)) if (1..=128).contains(&p) => {}
            (family, _) => out(InvalidValue::Netmask(family)),
        }
        if let Some(pe) = self.persistence_engine.as_deref() {
            if !name_ok(pe) {
                out(InvalidValue::PersistenceEngineName(pe.into()));
            }
        }
    }
}

/// The first problem `each` reports, as a check's result. Inlined with the checks (and
/// their callers' `validate`, every `-R` line checks one): `out` is then a known closure.
#[inline(always)]
fn first(each: impl FnOnce(&mut dyn FnMut(InvalidValue))) -> Check {
    let mut found = None;
    each(&mut |e| {
        found.get_or_insert(e);
    });
    found.map_or(Ok(()), Err)
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
    #[inline]
    pub fn validate(&self, service: &ServiceKey) -> Check {
        if self.plainly_valid(service) {
            return Ok(());
        }
        first(|out| self.each_problem(service, out))
    }

    /// Each failed check of [`Destination::validate`], in its order.
    #[inline]
    pub(crate) fn each_problem(&self, service: &ServiceKey, out: &mut dyn FnMut(InvalidValue)) {
        if self.plainly_valid(service) {
            return;
        }
        self.each_problem_one_by_one(service, out);
    }

    /// [`Destination::each_problem`] without the shortcut.
    fn each_problem_one_by_one(&self, service: &ServiceKey, out: &mut dyn FnMut(InvalidValue)) {
        if let Forward::Other { raw } = self.forward {
            if raw > 7 {
                out(InvalidValue::ForwardMethod(raw));
            }
        }
        let tunnel = matches!(self.forward, Forward::Tunnel { .. });
        if Family::of(&self.addr) != service.family() && !tunnel {
            out(InvalidValue::Family);
        }
        if let Forward::Tunnel { kind, port, flags } = self.forward {
            if let Err(e) = check_tunnel(kind, port, flags) {
                out(e);
            }
        }
        if self.weight > MAX_WEIGHT {
            out(InvalidValue::Weight(self.weight));
        }
        if self.upper_threshold > MAX_WEIGHT {
            out(InvalidValue::UpperThreshold(self.upper_threshold));
        }
        if self.lower_threshold > MAX_WEIGHT {
            out(InvalidValue::LowerThreshold(self.lower_threshold));
        }
        // The order only when both values are in range (one problem, said once).
        let in_range = self.upper_threshold <= MAX_WEIGHT && self.lower_threshold <= MAX_WEIGHT;
        if in_range && self.lower_threshold > self.upper_threshold {
            out(InvalidValue::ThresholdOrder {
                lower: self.lower_threshold,
                upper: self.upper_threshold,
            });
        }
    }
}

impl Destination {
    /// Whether the usual destination (direct routing or masquerading, of the service's
    /// family, weight and thresholds in range and in order) passes every check of
    /// [`Destination::each_problem`], by a few compares: every destination of `-R`, `apply`
    /// and a state's check is checked so. `false` leaves the answer to the checks one by one.
    #[inline(always)]
    fn plainly_valid(&self, service: &ServiceKey) -> bool {
        // MAX_WEIGHT is 2^31 - 1: a value is above it when its top bit is set.
        const _: () = assert!(MAX_WEIGHT == u32::MAX >> 1);
        matches!(self.forward, Forward::DirectRoute | Forward::Masquerade)
            && Family::of(&self.addr) == service.family()
            && (self.weight | self.upper_threshold | self.lower_threshold) <= MAX_WEIGHT
            && self.lower_threshold <= self.upper_threshold
    }
}

impl Timeouts {
    /// Each timeout at most [`MAX_TIMEOUT`] (0 leaves a value as it is).
    pub fn validate(&self) -> Check {
        first(|out| self.each_problem(out))
    }

    /// Each timeout above [`MAX_TIMEOUT`].
    pub(crate) fn each_problem(&self, out: &mut dyn FnMut(InvalidValue)) {
        for (which, v) in [
            ("tcp", self.tcp),
            ("tcp_fin", self.tcp_fin),
            ("udp", self.udp),
        ] {
            if v > MAX_TIMEOUT {
                out(InvalidValue::Timeout(which, v));
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DaemonState, ServiceFlag};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The shortcut of a service's checks passes only what the checks one by one pass.
    #[test]
    fn the_service_shortcut_passes_only_what_the_checks_pass() {
        let keys = [
            ServiceKey::tcp(ip("192.0.2.1"), 80),
            ServiceKey::tcp(ip("192.0.2.1"), 0),
            ServiceKey::Addr {
                protocol: Protocol::Udp,
                addr: ip("2001:db8::1"),
                port: 53,
            },
            ServiceKey::fwmark(5, Family::Inet),
            ServiceKey::fwmark(0, Family::Inet6),
        ];
        let flags = [
            ServiceFlags::empty(),
            ServiceFlags::PERSISTENT,
            ServiceFlags::ONEPACKET,
            ServiceFlags::HASHED,
        ];
        let schedulers = [
            Scheduler::WeightedRoundRobin,
            Scheduler::None,
            Scheduler::Other("x".into()),
            Scheduler::Other(String::new()),
            Scheduler::Other("a-very-long-name-x".into()),
        ];
        let netmasks = [
            Netmask::full(Family::Inet),
            Netmask::V6(0),
            Netmask::V6(64),
            Netmask::V6(128),
            Netmask::V6(129),
        ];
        let engines = [None, Some("sip".to_string()), Some(String::new())];
        let (mut plain, mut not) = (0, 0);
        for key in keys {
            for flags in flags {
                for scheduler in &schedulers {
                    for timeout in [0, 1, MAX_TIMEOUT + 1] {
                        for netmask in netmasks {
                            for pe in &engines {
                                let s = Service {
                                    key,
                                    scheduler: scheduler.clone(),
                                    flags,
                                    timeout,
                                    netmask,
                                    persistence_engine: pe.clone(),
                                };
                                let mut problems = Vec::new();
                                s.each_problem_one_by_one(&mut |e| problems.push(e));
                                if s.plainly_valid() {
                                    plain += 1;
                                    assert!(problems.is_empty(), "{s:?} {problems:?}");
                                    assert_eq!(s.validate(), Ok(()));
                                } else {
                                    not += 1;
                                    assert_eq!(s.validate().err(), problems.first().cloned());
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(plain > 0 && not > 0);
    }

    /// The shortcut of a destination's checks passes only what the checks one by one pass:
    /// every forwarding method, family and weight or threshold at and around the limits.
    #[test]
    fn the_destination_shortcut_passes_only_what_the_checks_pass() {
        let forwards = [
            Forward::DirectRoute,
            Forward::Masquerade,
            Forward::Local,
            Forward::Bypass,
            Forward::Other { raw: 3 },
            Forward::Other { raw: 9 },
            Forward::Tunnel {
                kind: TunnelType::Ipip,
                port: 0,
                flags: TunnelFlags::empty(),
            },
            Forward::Tunnel {
                kind: TunnelType::Gue,
                port: 0,
                flags: TunnelFlags::empty(),
            },
        ];
        let values = [
            0,
            1,
            7,
            MAX_WEIGHT - 1,
            MAX_WEIGHT,
            MAX_WEIGHT + 1,
            u32::MAX,
        ];
        let services = [
            ServiceKey::tcp(ip("192.0.2.1"), 80),
            ServiceKey::tcp(ip("2001:db8::1"), 80),
            ServiceKey::fwmark(5, Family::Inet6),
        ];
        let (mut plain, mut not) = (0, 0);
        for service in &services {
            for addr in [ip("10.0.0.1"), ip("2001:db8::2")] {
                for forward in forwards {
                    for weight in values {
                        for upper in values {
                            for lower in values {
                                let d = Destination {
                                    addr,
                                    port: 80,
                                    forward,
                                    weight,
                                    upper_threshold: upper,
                                    lower_threshold: lower,
                                };
                                let mut problems = Vec::new();
                                d.each_problem_one_by_one(service, &mut |e| problems.push(e));
                                if d.plainly_valid(service) {
                                    plain += 1;
                                    assert!(problems.is_empty(), "{d:?} {problems:?}");
                                    assert_eq!(d.validate(service), Ok(()));
                                } else {
                                    not += 1;
                                    assert_eq!(
                                        d.validate(service).err(),
                                        problems.first().cloned(),
                                        "{d:?}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(plain > 0 && not > 0);
    }

    fn tcp80() -> Service {
        Service::new(ServiceKey::tcp(ip("192.0.2.1"), 80))
    }

    fn svc_err(edit: impl Fn(&mut Service)) -> InvalidValue {
        let mut s = tcp80();
        edit(&mut s);
        s.validate().expect_err("the check should fail")
    }

    #[test]
    fn a_default_service_and_destination_pass() {
        tcp80().validate().unwrap();
        Destination::new(ip("10.0.0.2"), 80)
            .validate(&tcp80().key)
            .unwrap();
    }

    #[test]
    fn service_fwmark_zero() {
        assert_eq!(
            svc_err(|s| s.key = ServiceKey::fwmark(0, Family::Inet)),
            InvalidValue::Fwmark
        );
    }

    #[test]
    fn service_port_zero_needs_persistence() {
        assert_eq!(
            svc_err(|s| s.key = ServiceKey::tcp(ip("192.0.2.1"), 0)),
            InvalidValue::ZeroPort
        );
        let mut p = Service::new(ServiceKey::tcp(ip("192.0.2.1"), 0)).with_persistence(60);
        p.validate().unwrap();
        p.key = ServiceKey::fwmark(3, Family::Inet);
        p.flags = ServiceFlags::empty();
        p.timeout = 0;
        p.validate().unwrap();
    }

    #[test]
    fn service_one_packet_only_for_udp_and_fwmark() {
        let e = svc_err(|s| s.flags |= ServiceFlags::ONEPACKET);
        assert_eq!(e, InvalidValue::OnePacket(Protocol::Tcp));
        assert_eq!(e.field(), "flags");
        let mut u = Service::new(ServiceKey::udp(ip("192.0.2.1"), 53));
        u.flags |= ServiceFlags::ONEPACKET;
        u.validate().unwrap();
    }

    #[test]
    fn service_name_lengths() {
        let long = "a".repeat(MAX_NAME + 1);
        assert_eq!(
            svc_err(|s| s.scheduler = Scheduler::from(long.as_str())),
            InvalidValue::SchedulerName(long.clone())
        );
        assert_eq!(
            svc_err(|s| s.scheduler = Scheduler::from("")),
            InvalidValue::SchedulerName(String::new())
        );
        let mut ok = tcp80();
        ok.scheduler = Scheduler::from("a".repeat(MAX_NAME).as_str());
        ok.validate().unwrap();
        let e = svc_err(|s| s.persistence_engine = Some(long.clone()));
        assert_eq!(e, InvalidValue::PersistenceEngineName(long.clone()));
        assert_eq!(e.field(), "persistence_engine");
    }

    #[test]
    fn service_persistence_timeout_range() {
        assert_eq!(
            svc_err(|s| *s = tcp80().with_persistence(0)),
            InvalidValue::PersistenceTimeout(0)
        );
        assert_eq!(
            svc_err(|s| *s = tcp80().with_persistence(MAX_TIMEOUT + 1)),
            InvalidValue::PersistenceTimeout(MAX_TIMEOUT + 1)
        );
        tcp80().with_persistence(MAX_TIMEOUT).validate().unwrap();
    }

    #[test]
    fn service_netmask_fits_the_family() {
        assert_eq!(
            svc_err(|s| s.netmask = Netmask::V6(64)),
            InvalidValue::Netmask(Family::Inet)
        );
        let mut v6 = Service::new(ServiceKey::tcp(ip("2001:db8::1"), 80));
        v6.netmask = Netmask::V6(0);
        assert_eq!(v6.validate(), Err(InvalidValue::Netmask(Family::Inet6)));
        v6.netmask = Netmask::V6(129);
        assert_eq!(v6.validate(), Err(InvalidValue::Netmask(Family::Inet6)));
        v6.netmask = Netmask::V6(64);
        v6.validate().unwrap();
    }

    fn dest_err(d: Destination) -> InvalidValue {
        d.validate(&tcp80().key).expect_err("the check should fail")
    }

    fn tunnel(kind: TunnelType, port: u16, flags: TunnelFlags) -> Destination {
        Destination::new(ip("10.0.0.2"), 80).with_forward(Forward::Tunnel { kind, port, flags })
    }

    #[test]
    fn destination_family_only_other_for_tunnels() {
        let v6 = Destination::new(ip("2001:db8::2"), 80);
        assert_eq!(dest_err(v6), InvalidValue::Family);
        v6.with_forward(Forward::ipip())
            .validate(&tcp80().key)
            .unwrap();
    }

    #[test]
    fn destination_tunnel_rules() {
        let none = TunnelFlags::empty();
        let (c, r) = (TunnelFlags::CSUM, TunnelFlags::REMCSUM);
        use TunnelType::*;
        assert_eq!(
            dest_err(tunnel(Gue, 0, none)),
            InvalidValue::TunnelPort(Gue)
        );
        assert_eq!(
            dest_err(tunnel(Ipip, 5, none)),
            InvalidValue::TunnelPort(Ipip)
        );
        assert_eq!(
            dest_err(tunnel(Gre, 5, none)),
            InvalidValue::TunnelPort(Gre)
        );
        assert_eq!(
            dest_err(tunnel(Ipip, 0, c)),
            InvalidValue::TunnelChecksum(Ipip)
        );
        assert_eq!(
            dest_err(tunnel(Gre, 0, r)),
            InvalidValue::TunnelChecksum(Gre)
        );
        assert_eq!(
            dest_err(tunnel(Gue, 6080, c | r)),
            InvalidValue::ChecksumBoth
        );
        for ok in [
            tunnel(Gue, 6080, r),
            tunnel(Gue, 6080, c),
            tunnel(Gre, 0, c),
            tunnel(Ipip, 0, none),
        ] {
            ok.validate(&tcp80().key).unwrap();
        }
        assert_eq!(InvalidValue::TunnelPort(Gue).field(), "tunnel.port");
    }

    #[test]
    fn destination_weight_and_threshold_ranges() {
        let d = Destination::new(ip("10.0.0.2"), 80);
        assert_eq!(
            dest_err(d.with_weight(MAX_WEIGHT + 1)),
            InvalidValue::Weight(MAX_WEIGHT + 1)
        );
        d.with_weight(MAX_WEIGHT).validate(&tcp80().key).unwrap();
        let mut t = d;
        t.upper_threshold = MAX_WEIGHT + 1;
        assert_eq!(dest_err(t), InvalidValue::UpperThreshold(MAX_WEIGHT + 1));
        t.upper_threshold = 10;
        t.lower_threshold = MAX_WEIGHT + 1;
        assert_eq!(dest_err(t), InvalidValue::LowerThreshold(MAX_WEIGHT + 1));
        t.lower_threshold = 20;
        let e = dest_err(t);
        assert_eq!(
            e,
            InvalidValue::ThresholdOrder {
                lower: 20,
                upper: 10
            }
        );
        assert_eq!(e.to_string(), "20 is above upper_threshold 10");
    }

    #[test]
    fn destination_forward_method_range() {
        let d = Destination::new(ip("10.0.0.2"), 80).with_forward(Forward::Other { raw: 8 });
        assert_eq!(dest_err(d), InvalidValue::ForwardMethod(8));
    }

    #[test]
    fn timeouts_range() {
        let mut t = Timeouts {
            tcp: MAX_TIMEOUT,
            tcp_fin: 0,
            udp: 1,
        };
        t.validate().unwrap();
        t.udp = MAX_TIMEOUT + 1;
        let e = t.validate().unwrap_err();
        assert_eq!(e, InvalidValue::Timeout("udp", MAX_TIMEOUT + 1));
        assert_eq!(e.field(), "udp");
    }

    #[test]
    fn sync_daemon_rules() {
        let ok = SyncDaemon::new(DaemonState::Master, "eth0", MAX_SYNC_ID);
        ok.validate().unwrap();
        let check = |edit: &dyn Fn(&mut SyncDaemon)| {
            let mut d = ok.clone();
            edit(&mut d);
            d.validate().unwrap_err()
        };
        let long = "i".repeat(MAX_IFNAME + 1);
        assert_eq!(
            check(&|d| d.mcast_interface = long.clone()),
            InvalidValue::McastInterface(long.clone())
        );
        assert_eq!(
            check(&|d| d.sync_id = MAX_SYNC_ID + 1),
            InvalidValue::SyncId(MAX_SYNC_ID + 1)
        );
        assert_eq!(
            check(&|d| d.sync_maxlen = Some(MAX_SYNC_MAXLEN + 1)),
            InvalidValue::SyncMaxlen(MAX_SYNC_MAXLEN + 1)
        );
        assert_eq!(
            check(&|d| d.sync_maxlen = Some(0)),
            InvalidValue::SyncMaxlen(0)
        );
        assert_eq!(
            check(&|d| d.mcast_group = Some(ip("10.0.0.1"))),
            InvalidValue::McastGroup(ip("10.0.0.1"))
        );
        assert_eq!(check(&|d| d.mcast_port = Some(0)), InvalidValue::McastPort);
        assert_eq!(check(&|d| d.mcast_ttl = Some(0)), InvalidValue::McastTtl);
    }

    #[test]
    fn scheduler_flag_words_need_their_scheduler() {
        let rr = Scheduler::from("rr");
        let e = ServiceFlags::from_words(["sh-port"], &rr).unwrap_err();
        assert_eq!(
            e,
            InvalidValue::FlagScheduler {
                flag: ServiceFlag::ShPort,
                scheduler: rr.clone()
            }
        );
        assert_eq!(
            e.to_string(),
            "flag \"sh-port\" needs the sh scheduler, not \"rr\""
        );
        assert_eq!(
            ServiceFlags::from_words(["flag-2", "persistent", "hashed"], &rr).unwrap(),
            ServiceFlags::SCHED2 | ServiceFlags::PERSISTENT
        );
        let e = ServiceFlags::from_words(["fast"], &rr).unwrap_err();
        assert_eq!(e.field(), "flags");
        assert!(
            e.to_string().starts_with("unknown service flag \"fast\""),
            "{e}"
        );
    }
}

/// A word that names no value of a domain type: what their `FromStr` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWord {
    /// What was expected, e.g. `"forwarding method"`.
    pub kind: &'static str,
    /// The word given.
    pub word: String,
    /// The words that are known, e.g. `"masq, route, tunnel, local or bypass"`.
    pub expected: &'static str,
}

impl UnknownWord {
    pub(crate) fn new(kind: &'static str, word: &str, expected: &'static str) -> Self {
        UnknownWord {
            kind,
            word: word.to_string(),
            expected,
        }
    }
}

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?} (expected {})",
            self.kind, self.word, self.expected
        )
    }
}

impl std::error::Error for UnknownWord {}
