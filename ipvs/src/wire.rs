//! Conversions between the typed values and ipvs-sys attributes.

use ipvs_sys::{Counters, DaemonAttr, DestAttr, DestReply, FlagsMask, ServiceAttr, ServiceReply};

use crate::types::*;

pub(crate) fn service_key_attrs(key: &ServiceKey) -> Vec<ServiceAttr> {
    let mut v = Vec::new();
    push_service_key(&mut v, key);
    v
}

/// The attributes that name the service.
fn push_service_key(v: &mut Vec<ServiceAttr>, key: &ServiceKey) {
    match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => v.extend([
            ServiceAttr::Af(Family::of(&addr).to_af()),
            ServiceAttr::Protocol(protocol.number()),
            ServiceAttr::Addr(addr_to_wire(&addr)),
            ServiceAttr::Port(port),
        ]),
        ServiceKey::Fwmark { fwmark, family } => {
            v.extend([ServiceAttr::Af(family.to_af()), ServiceAttr::Fwmark(fwmark)])
        }
    }
}

pub(crate) fn service_attrs(s: &Service) -> Vec<ServiceAttr> {
    // Room for all of them at once: a restore builds one list per service.
    let mut v = Vec::with_capacity(9);
    push_service_key(&mut v, &s.key);
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
        flags: ServiceFlags::from_bits_retain(r.flags.map_or(0, |f| f.flags)),
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

pub(crate) fn dest_attrs(d: &Destination, with_config: bool) -> Vec<DestAttr> {
    // ipvsadm's order: family, address, port, then the configuration.
    // Room for all of them at once: a restore builds one list per destination.
    let mut v = Vec::with_capacity(if with_config { 10 } else { 3 });
    v.extend([
        DestAttr::AddrFamily(d.family().to_af()),
        DestAttr::Addr(addr_to_wire(&d.addr)),
        DestAttr::Port(d.port),
    ]);
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
