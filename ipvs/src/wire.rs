//! Conversions between the typed values and ipvs-sys attributes.

use ipvs_sys::{
    Counters, DaemonAttr, DestAttr, DestReply, FlagsMask, Nest, Nla, ServiceAttr, ServiceReply,
};

use std::mem::ManuallyDrop;

use crate::types::*;

pub(crate) fn service_key_attrs(key: &ServiceKey) -> Vec<ServiceAttr> {
    let mut v = Vec::with_capacity(4);
    service_key(key, &mut v);
    v
}

/// Where the attributes of an object go, one by one in ipvsadm's order: a `Vec`, or a
/// [`Nest`] that writes each straight into a send buffer (`Change::write`). One at a time,
/// so that once inlined each attribute's encoding is known at compile time.
pub(crate) trait Sink<T> {
    fn put(&mut self, attr: T);
}

impl<T> Sink<T> for Vec<T> {
    fn put(&mut self, attr: T) {
        self.push(attr);
    }
}

impl<T: Nla + Plain> Sink<T> for Nest<'_, T> {
    #[inline(always)]
    fn put(&mut self, attr: T) {
        // Dropped only when it holds memory: a call to the enum's drop glue after each
        // attribute, which the compiler does not inline even for a variant it knows, cost
        // about as much as writing the attribute (encode_cost: 3.0M of 9.1M instructions).
        let attr = ManuallyDrop::new(attr);
        self.attr(&attr);
        if !attr.is_plain() {
            drop(ManuallyDrop::into_inner(attr));
        }
    }
}

/// Attributes whose variant may hold no memory: `is_plain` is true only for variants with
/// nothing to drop (numbers, addresses), so skipping their drop frees nothing less. Unknown
/// (future) variants are not plain.
pub(crate) trait Plain {
    fn is_plain(&self) -> bool;
}

impl Plain for ServiceAttr {
    #[inline(always)]
    fn is_plain(&self) -> bool {
        use ServiceAttr::*;
        matches!(
            self,
            Af(_)
                | Protocol(_)
                | Addr(_)
                | Port(_)
                | Fwmark(_)
                | Flags(_)
                | Timeout(_)
                | Netmask(_)
        )
    }
}

impl Plain for DestAttr {
    #[inline(always)]
    fn is_plain(&self) -> bool {
        use DestAttr::*;
        matches!(
            self,
            Addr(_)
                | Port(_)
                | FwdMethod(_)
                | Weight(_)
                | UThresh(_)
                | LThresh(_)
                | ActiveConns(_)
                | InactConns(_)
                | PersistConns(_)
                | AddrFamily(_)
                | TunType(_)
                | TunPort(_)
                | TunFlags(_)
        )
    }
}

impl Plain for DaemonAttr {
    #[inline(always)]
    fn is_plain(&self) -> bool {
        false
    }
}

/// The attributes that name the service.
pub(crate) fn service_key(key: &ServiceKey, out: &mut impl Sink<ServiceAttr>) {
    match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            out.put(ServiceAttr::Af(Family::of(&addr).to_af()));
            out.put(ServiceAttr::Protocol(protocol.number()));
            out.put(ServiceAttr::Addr(addr_to_wire(&addr)));
            out.put(ServiceAttr::Port(port));
        }
        ServiceKey::Fwmark { fwmark, family } => {
            out.put(ServiceAttr::Af(family.to_af()));
            out.put(ServiceAttr::Fwmark(fwmark));
        }
    }
}

/// The attributes of a whole service.
pub(crate) fn service(s: &Service, out: &mut impl Sink<ServiceAttr>) {
    service_key(&s.key, out);
    out.put(ServiceAttr::SchedName(s.scheduler.name().to_string()));
    if let Some(pe) = &s.persistence_engine {
        out.put(ServiceAttr::PeName(pe.clone()));
    }
    // The mask covers every bit so edits can clear flags too; HASHED is the kernel's own (a
    // value read never has it, one built by hand may).
    out.put(ServiceAttr::Flags(FlagsMask {
        flags: s.flags.bits() & !ServiceFlags::HASHED.bits(),
        mask: !0,
    }));
    out.put(ServiceAttr::Timeout(s.timeout));
    out.put(ServiceAttr::Netmask(s.netmask.to_wire()));
}

pub(crate) fn stats_from(c: &Counters) -> Stats {
    Stats {
        conns: c.conns,
        in_packets: c.in_pkts,
        out_packets: c.out_pkts,
        in_bytes: c.in_bytes,
        out_bytes: c.out_bytes,
        cps: c.cps,
        in_pps: c.in_pps,
        out_pps: c.out_pps,
        in_bps: c.in_bps,
        out_bps: c.out_bps,
    }
}

/// Decodes a service the kernel reported, as attributes (replayed captures, `GET_SERVICE`).
pub(crate) fn service_from(attrs: &[ServiceAttr]) -> Result<ServiceEntry, String> {
    service_from_reply(&ServiceReply::from_attrs(attrs))
}

/// Decodes a service the kernel reported. Missing identity attributes are an error.
pub(crate) fn service_from_reply(r: &ServiceReply<'_>) -> Result<ServiceEntry, String> {
    let af = r.af.ok_or("service without IPVS_SVC_ATTR_AF")?;
    let family =
        Family::from_af(af).ok_or_else(|| format!("service with unknown address family {af}"))?;
    let key = match r.fwmark {
        Some(m) if m != 0 => ServiceKey::Fwmark { fwmark: m, family },
        _ => ServiceKey::Addr {
            protocol: Protocol::from_number(
                r.protocol.ok_or("service without IPVS_SVC_ATTR_PROTOCOL")?,
            ),
            addr: addr_from_wire(r.addr.ok_or("service without IPVS_SVC_ATTR_ADDR")?, family),
            port: r.port.ok_or("service without IPVS_SVC_ATTR_PORT")?,
        },
    };
    let service = Service {
        key,
        scheduler: Scheduler::from(r.sched_name.unwrap_or_default()),
        // The one place the kernel's own HASHED bit (set on every service it holds) is dropped:
        // no value the library gives out carries it, so nothing compares or writes it.
        flags: ServiceFlags::from_bits_retain(r.flags.map_or(0, |f| f.flags))
            - ServiceFlags::HASHED,
        timeout: r.timeout.unwrap_or(0),
        netmask: r
            .netmask
            .map(|n| Netmask::from_wire(n, family))
            .unwrap_or(Netmask::full(family)),
        persistence_engine: r.pe_name.filter(|p| !p.is_empty()).map(str::to_string),
    };
    Ok(ServiceEntry {
        service,
        stats: r.stats.as_ref().map(stats_from).unwrap_or_default(),
    })
}

/// The attributes of a destination: its address alone, or `with_config` all of it.
pub(crate) fn dest(d: &Destination, with_config: bool, out: &mut impl Sink<DestAttr>) {
    // ipvsadm's order: family, address, port, then the configuration.
    out.put(DestAttr::AddrFamily(d.family().to_af()));
    out.put(DestAttr::Addr(addr_to_wire(&d.addr)));
    out.put(DestAttr::Port(d.port));
    if with_config {
        out.put(DestAttr::FwdMethod(d.forward.to_wire()));
        out.put(DestAttr::Weight(d.weight));
        if let Forward::Tunnel { kind, port, flags } = d.forward {
            out.put(DestAttr::TunType(kind.to_wire()));
            out.put(DestAttr::TunPort(port));
            out.put(DestAttr::TunFlags(flags.bits()));
        }
        out.put(DestAttr::UThresh(d.upper_threshold));
        out.put(DestAttr::LThresh(d.lower_threshold));
    }
}

/// Decodes a destination the kernel reported, as attributes (replayed captures).
pub(crate) fn dest_from(
    attrs: &[DestAttr],
    service_family: Family,
) -> Result<DestinationEntry, String> {
    dest_from_reply(&DestReply::from_attrs(attrs), service_family)
}

/// Decodes a destination. Kernels before 3.18 send no address family: the service's is used.
pub(crate) fn dest_from_reply(
    r: &DestReply,
    service_family: Family,
) -> Result<DestinationEntry, String> {
    let family = match r.addr_family {
        Some(af) => Family::from_af(af)
            .ok_or_else(|| format!("destination with unknown address family {af}"))?,
        None => service_family,
    };
    let destination = Destination {
        addr: addr_from_wire(
            r.addr.ok_or("destination without IPVS_DEST_ATTR_ADDR")?,
            family,
        ),
        port: r.port.ok_or("destination without IPVS_DEST_ATTR_PORT")?,
        forward: Forward::from_wire(
            r.fwd_method.unwrap_or(0),
            r.tun_type.unwrap_or(0),
            r.tun_port.unwrap_or(0),
            r.tun_flags.unwrap_or(0),
        ),
        weight: r.weight.unwrap_or(0),
        upper_threshold: r.u_thresh.unwrap_or(0),
        lower_threshold: r.l_thresh.unwrap_or(0),
    };
    Ok(DestinationEntry {
        destination,
        active_conns: r.active_conns.unwrap_or(0),
        inactive_conns: r.inact_conns.unwrap_or(0),
        persistent_conns: r.persist_conns.unwrap_or(0),
        stats: r.stats.as_ref().map(stats_from).unwrap_or_default(),
    })
}

/// The attributes of a sync daemon to start.
pub(crate) fn daemon(d: &SyncDaemon, out: &mut impl Sink<DaemonAttr>) {
    out.put(DaemonAttr::State(d.state.to_wire()));
    out.put(DaemonAttr::McastIfn(d.mcast_interface.clone()));
    out.put(DaemonAttr::SyncId(d.sync_id));
    if let Some(m) = d.sync_maxlen {
        out.put(DaemonAttr::SyncMaxlen(m));
    }
    match d.mcast_group {
        Some(std::net::IpAddr::V4(g)) => out.put(DaemonAttr::McastGroup(g)),
        Some(std::net::IpAddr::V6(g)) => out.put(DaemonAttr::McastGroup6(g)),
        None => {}
    }
    if let Some(p) = d.mcast_port {
        out.put(DaemonAttr::McastPort(p));
    }
    if let Some(t) = d.mcast_ttl {
        out.put(DaemonAttr::McastTtl(t));
    }
}

pub(crate) fn daemon_from(attrs: &[DaemonAttr]) -> Result<SyncDaemon, String> {
    let mut d = SyncDaemon::new(DaemonState::Master, "", 0);
    let mut state = None;
    for a in attrs {
        match a {
            DaemonAttr::State(s) => state = Some(*s),
            DaemonAttr::McastIfn(s) => d.mcast_interface = s.clone(),
            DaemonAttr::SyncId(v) => d.sync_id = *v,
            DaemonAttr::SyncMaxlen(v) => d.sync_maxlen = Some(*v),
            DaemonAttr::McastGroup(g) => d.mcast_group = Some((*g).into()),
            DaemonAttr::McastGroup6(g) => d.mcast_group = Some((*g).into()),
            DaemonAttr::McastPort(v) => d.mcast_port = Some(*v),
            DaemonAttr::McastTtl(v) => d.mcast_ttl = Some(*v),
            _ => {}
        }
    }
    d.state = match state {
        Some(ipvs_sys::consts::IP_VS_STATE_MASTER) => DaemonState::Master,
        Some(ipvs_sys::consts::IP_VS_STATE_BACKUP) => DaemonState::Backup,
        other => return Err(format!("sync daemon with unknown state {other:?}")),
    };
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_hashed_bit_is_dropped_where_a_service_is_decoded() {
        let hashed = ServiceFlags::HASHED | ServiceFlags::PERSISTENT;
        let attrs = [
            ServiceAttr::Af(Family::Inet.to_af()),
            ServiceAttr::Fwmark(7),
            ServiceAttr::SchedName("rr".into()),
            ServiceAttr::Flags(FlagsMask {
                flags: hashed.bits(),
                mask: !0,
            }),
        ];
        let entry = service_from(&attrs).unwrap();
        assert_eq!(entry.service.flags, ServiceFlags::PERSISTENT);
        // Nor is it sent, for a service built by hand with it.
        let mut sent = Vec::new();
        service(&entry.service, &mut sent);
        assert!(sent.iter().any(|a| matches!(
            a,
            ServiceAttr::Flags(FlagsMask { flags, .. }) if *flags == ServiceFlags::PERSISTENT.bits()
        )));
    }

    /// Skipping a drop is sound only for variants that own nothing: every variant that holds
    /// a `String` or a `Vec` must say it is not plain.
    #[test]
    fn attributes_holding_memory_are_not_plain() {
        use ipvs_sys::{DaemonAttr, DefaultNla, StatsAttr};
        let nla = || DefaultNla::new(99, vec![1, 2]);
        for a in [
            ServiceAttr::SchedName("wrr".into()),
            ServiceAttr::PeName("sip".into()),
            ServiceAttr::Stats(vec![StatsAttr::Conns(1)]),
            ServiceAttr::Stats64(vec![StatsAttr::Conns(1)]),
            ServiceAttr::Other(nla()),
        ] {
            assert!(!a.is_plain(), "{a:?}");
        }
        for a in [
            DestAttr::Stats(vec![StatsAttr::Conns(1)]),
            DestAttr::Stats64(vec![StatsAttr::Conns(1)]),
            DestAttr::Other(nla()),
        ] {
            assert!(!a.is_plain(), "{a:?}");
        }
        assert!(!DaemonAttr::State(1).is_plain());
        assert!(ServiceAttr::Port(80).is_plain() && DestAttr::Weight(1).is_plain());
    }
}
