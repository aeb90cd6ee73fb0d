//! Conversions between the typed values and ipvs-sys attributes.

use ipvs_sys::{DaemonAttr, DestAttr, FlagsMask, ServiceAttr, StatsAttr};

use crate::types::*;

pub(crate) fn service_key_attrs(key: &ServiceKey) -> Vec<ServiceAttr> {
    match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => vec![
            ServiceAttr::Af(Family::of(&addr).to_af()),
            ServiceAttr::Protocol(protocol.number()),
            ServiceAttr::Addr(addr_to_wire(&addr)),
            ServiceAttr::Port(port),
        ],
        ServiceKey::Fwmark { fwmark, family } => {
            vec![ServiceAttr::Af(family.to_af()), ServiceAttr::Fwmark(fwmark)]
        }
    }
}

pub(crate) fn service_attrs(s: &Service) -> Vec<ServiceAttr> {
    let mut v = service_key_attrs(&s.key);
    v.push(ServiceAttr::SchedName(s.scheduler.name().to_string()));
    if let Some(pe) = &s.persistence_engine {
        v.push(ServiceAttr::PeName(pe.clone()));
    }
    // The mask covers every bit so edits can clear flags too; HASHED is the kernel's own.
    v.push(ServiceAttr::Flags(FlagsMask {
        flags: s.flags.bits() & !ServiceFlags::HASHED.bits(),
        mask: !0,
    }));
    v.push(ServiceAttr::Timeout(s.timeout));
    v.push(ServiceAttr::Netmask(s.netmask.to_wire()));
    v
}

pub(crate) fn stats_from(attrs: &[StatsAttr]) -> Stats {
    let mut s = Stats::default();
    for a in attrs {
        match *a {
            StatsAttr::Conns(v) => s.conns = v,
            StatsAttr::InPkts(v) => s.in_packets = v,
            StatsAttr::OutPkts(v) => s.out_packets = v,
            StatsAttr::InBytes(v) => s.in_bytes = v,
            StatsAttr::OutBytes(v) => s.out_bytes = v,
            StatsAttr::Cps(v) => s.cps = v,
            StatsAttr::InPps(v) => s.in_pps = v,
            StatsAttr::OutPps(v) => s.out_pps = v,
            StatsAttr::InBps(v) => s.in_bps = v,
            StatsAttr::OutBps(v) => s.out_bps = v,
            _ => {}
        }
    }
    s
}

/// Decodes a service the kernel reported. Missing identity attributes are an error.
pub(crate) fn service_from(attrs: &[ServiceAttr]) -> Result<ServiceEntry, String> {
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut sched, mut flags, mut timeout, mut netmask, mut pe) = (None, 0u32, 0u32, None, None);
    let (mut stats, mut stats64) = (None, None);
    for a in attrs {
        match a {
            ServiceAttr::Af(v) => af = Some(*v),
            ServiceAttr::Protocol(v) => proto = Some(*v),
            ServiceAttr::Addr(v) => addr = Some(*v),
            ServiceAttr::Port(v) => port = Some(*v),
            ServiceAttr::Fwmark(v) => fwmark = Some(*v),
            ServiceAttr::SchedName(v) => sched = Some(v.clone()),
            ServiceAttr::Flags(f) => flags = f.flags,
            ServiceAttr::Timeout(v) => timeout = *v,
            ServiceAttr::Netmask(v) => netmask = Some(*v),
            ServiceAttr::PeName(v) => pe = Some(v.clone()),
            ServiceAttr::Stats(v) => stats = Some(stats_from(v)),
            ServiceAttr::Stats64(v) => stats64 = Some(stats_from(v)),
            _ => {}
        }
    }
    let af = af.ok_or("service without IPVS_SVC_ATTR_AF")?;
    let family =
        Family::from_af(af).ok_or_else(|| format!("service with unknown address family {af}"))?;
    let key = match fwmark {
        Some(m) if m != 0 => ServiceKey::Fwmark { fwmark: m, family },
        _ => ServiceKey::Addr {
            protocol: Protocol::from_number(proto.ok_or("service without IPVS_SVC_ATTR_PROTOCOL")?),
            addr: addr_from_wire(addr.ok_or("service without IPVS_SVC_ATTR_ADDR")?, family),
            port: port.ok_or("service without IPVS_SVC_ATTR_PORT")?,
        },
    };
    let service = Service {
        key,
        scheduler: Scheduler::from(sched.unwrap_or_default().as_str()),
        flags: ServiceFlags::from_bits_retain(flags),
        timeout,
        netmask: netmask
            .map(|n| Netmask::from_wire(n, family))
            .unwrap_or(Netmask::full(family)),
        persistence_engine: pe.filter(|p| !p.is_empty()),
    };
    Ok(ServiceEntry {
        service,
        stats: stats64.or(stats).unwrap_or_default(),
    })
}

pub(crate) fn dest_attrs(d: &Destination, with_config: bool) -> Vec<DestAttr> {
    // ipvsadm's order: family, address, port, then the configuration.
    let mut v = vec![
        DestAttr::AddrFamily(d.family().to_af()),
        DestAttr::Addr(addr_to_wire(&d.addr)),
        DestAttr::Port(d.port),
    ];
    if with_config {
        v.push(DestAttr::FwdMethod(d.forward.to_wire()));
        v.push(DestAttr::Weight(d.weight));
        if let Forward::Tunnel { kind, port, flags } = d.forward {
            v.push(DestAttr::TunType(kind.to_wire()));
            v.push(DestAttr::TunPort(port));
            v.push(DestAttr::TunFlags(flags.bits()));
        }
        v.push(DestAttr::UThresh(d.upper_threshold));
        v.push(DestAttr::LThresh(d.lower_threshold));
    }
    v
}

/// Decodes a destination. Kernels before 3.18 send no address family: the service's is used.
pub(crate) fn dest_from(
    attrs: &[DestAttr],
    service_family: Family,
) -> Result<DestinationEntry, String> {
    let (mut addr, mut port, mut fwd, mut weight, mut uth, mut lth) =
        (None, None, 0u32, 0u32, 0u32, 0u32);
    let (mut act, mut inact, mut pers, mut af) = (0u32, 0u32, 0u32, None);
    let (mut tt, mut tp, mut tf) = (0u8, 0u16, 0u16);
    let (mut stats, mut stats64) = (None, None);
    for a in attrs {
        match a {
            DestAttr::Addr(v) => addr = Some(*v),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::FwdMethod(v) => fwd = *v,
            DestAttr::Weight(v) => weight = *v,
            DestAttr::UThresh(v) => uth = *v,
            DestAttr::LThresh(v) => lth = *v,
            DestAttr::ActiveConns(v) => act = *v,
            DestAttr::InactConns(v) => inact = *v,
            DestAttr::PersistConns(v) => pers = *v,
            DestAttr::Stats(v) => stats = Some(stats_from(v)),
            DestAttr::Stats64(v) => stats64 = Some(stats_from(v)),
            DestAttr::AddrFamily(v) => af = Some(*v),
            DestAttr::TunType(v) => tt = *v,
            DestAttr::TunPort(v) => tp = *v,
            DestAttr::TunFlags(v) => tf = *v,
            _ => {}
        }
    }
    let family = match af {
        Some(af) => Family::from_af(af)
            .ok_or_else(|| format!("destination with unknown address family {af}"))?,
        None => service_family,
    };
    let destination = Destination {
        addr: addr_from_wire(
            addr.ok_or("destination without IPVS_DEST_ATTR_ADDR")?,
            family,
        ),
        port: port.ok_or("destination without IPVS_DEST_ATTR_PORT")?,
        forward: Forward::from_wire(fwd, tt, tp, tf),
        weight,
        upper_threshold: uth,
        lower_threshold: lth,
    };
    Ok(DestinationEntry {
        destination,
        active_conns: act,
        inactive_conns: inact,
        persistent_conns: pers,
        stats: stats64.or(stats).unwrap_or_default(),
    })
}

pub(crate) fn daemon_attrs(d: &SyncDaemon) -> Vec<DaemonAttr> {
    let mut v = vec![
        DaemonAttr::State(d.state.to_wire()),
        DaemonAttr::McastIfn(d.mcast_interface.clone()),
        DaemonAttr::SyncId(d.sync_id),
    ];
    if let Some(m) = d.sync_maxlen {
        v.push(DaemonAttr::SyncMaxlen(m));
    }
    match d.mcast_group {
        Some(std::net::IpAddr::V4(g)) => v.push(DaemonAttr::McastGroup(g)),
        Some(std::net::IpAddr::V6(g)) => v.push(DaemonAttr::McastGroup6(g)),
        None => {}
    }
    if let Some(p) = d.mcast_port {
        v.push(DaemonAttr::McastPort(p));
    }
    if let Some(t) = d.mcast_ttl {
        v.push(DaemonAttr::McastTtl(t));
    }
    v
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
