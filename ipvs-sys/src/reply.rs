//! The kernel's service and destination replies decoded straight from the receive buffer into
//! flat values, for listings: no `Vec` per attribute list, names borrowed from the buffer, and
//! the 32-bit statistics nest decoded only when the 64-bit one (kernel 4.1+) is missing.
//!
//! The attribute enums ([`ServiceAttr`](crate::ServiceAttr), [`DestAttr`](crate::DestAttr)) stay
//! the general form: they encode requests and keep what this crate does not know. Both forms
//! check each value with the same parsers and agree on every reply the enums accept; the flat
//! form does not look into what a listing does not use (the 32-bit nest next to a 64-bit one,
//! top-level attributes other than the nest asked for).

use netlink_packet_core::DecodeError;

use crate::attr::{addr_of, be16_of, u16_of, u32_of, u64_of, u8_of, Attrs};
use crate::consts::*;
use crate::message::GENL_HDRLEN;
use crate::service::FlagsMask;
use crate::stats::StatsWidth;
use crate::{DestAttr, ServiceAttr, StatsAttr};

/// The counters and rates of a statistics nest, each widened to u64.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub in_pkts: u64,
    /// Outgoing packets.
    pub out_pkts: u64,
    /// Incoming bytes.
    pub in_bytes: u64,
    /// Outgoing bytes.
    pub out_bytes: u64,
    /// Connections per second.
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

impl Counters {
    /// Decodes a statistics nest whose values have the width `width` sets.
    pub fn parse(nest: &[u8], width: StatsWidth) -> Result<Self, DecodeError> {
        let mut c = Counters::default();
        for nla in Attrs::new(nest) {
            let (kind, v) = nla.map_err(|e| malformed("stats", e))?;
            let wide = StatsAttr::is_wide(kind, width);
            let num = |what: &str| -> Result<u64, DecodeError> {
                if wide {
                    u64_of(v, what)
                } else {
                    u32_of(v, what).map(u64::from)
                }
            };
            match kind {
                IPVS_STATS_ATTR_CONNS => c.conns = num("IPVS_STATS_ATTR_CONNS")?,
                IPVS_STATS_ATTR_INPKTS => c.in_pkts = num("IPVS_STATS_ATTR_INPKTS")?,
                IPVS_STATS_ATTR_OUTPKTS => c.out_pkts = num("IPVS_STATS_ATTR_OUTPKTS")?,
                IPVS_STATS_ATTR_INBYTES => c.in_bytes = num("IPVS_STATS_ATTR_INBYTES")?,
                IPVS_STATS_ATTR_OUTBYTES => c.out_bytes = num("IPVS_STATS_ATTR_OUTBYTES")?,
                IPVS_STATS_ATTR_CPS => c.cps = num("IPVS_STATS_ATTR_CPS")?,
                IPVS_STATS_ATTR_INPPS => c.in_pps = num("IPVS_STATS_ATTR_INPPS")?,
                IPVS_STATS_ATTR_OUTPPS => c.out_pps = num("IPVS_STATS_ATTR_OUTPPS")?,
                IPVS_STATS_ATTR_INBPS => c.in_bps = num("IPVS_STATS_ATTR_INBPS")?,
                IPVS_STATS_ATTR_OUTBPS => c.out_bps = num("IPVS_STATS_ATTR_OUTBPS")?,
                // Padding (IPVS_STATS_ATTR_PAD) and what a newer kernel adds.
                _ => {}
            }
        }
        Ok(c)
    }

    /// The counters of a decoded statistics list (the last value of each counter wins).
    pub fn from_attrs(attrs: &[StatsAttr]) -> Self {
        let mut c = Counters::default();
        for a in attrs {
            match *a {
                StatsAttr::Conns(v) => c.conns = v,
                StatsAttr::InPkts(v) => c.in_pkts = v,
                StatsAttr::OutPkts(v) => c.out_pkts = v,
                StatsAttr::InBytes(v) => c.in_bytes = v,
                StatsAttr::OutBytes(v) => c.out_bytes = v,
                StatsAttr::Cps(v) => c.cps = v,
                StatsAttr::InPps(v) => c.in_pps = v,
                StatsAttr::OutPps(v) => c.out_pps = v,
                StatsAttr::InBps(v) => c.in_bps = v,
                StatsAttr::OutBps(v) => c.out_bps = v,
                _ => {}
            }
        }
        c
    }
}

fn malformed(what: &str, e: DecodeError) -> DecodeError {
    DecodeError::from(format!("malformed {what} attribute: {e}"))
}

/// Which nests of a reply the flat decoders look into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nests {
    /// All of them: the statistics too.
    WithStats,
    /// All but the statistics (their framing is still checked): for a listing that prints no
    /// counters, where they were a quarter of the decoding.
    WithoutStats,
}

/// The statistics of a reply: the 64-bit nest when there is one, else the 32-bit one, decoded
/// only then (a listing of 100,000 destinations skips 100,000 nests), and neither without
/// [`Nests::WithStats`].
fn pick_stats(
    nests: Nests,
    narrow: Option<&[u8]>,
    wide: Option<&[u8]>,
) -> Result<Option<Counters>, DecodeError> {
    if nests == Nests::WithoutStats {
        return Ok(None);
    }
    match (wide, narrow) {
        (Some(w), _) => Counters::parse(w, StatsWidth::Wide).map(Some),
        (None, Some(n)) => Counters::parse(n, StatsWidth::Narrow).map(Some),
        (None, None) => Ok(None),
    }
}

/// A NUL-terminated string borrowed from the buffer, at most `max` bytes with its NUL.
fn str_of<'a>(v: &'a [u8], max: usize, what: &str) -> Result<&'a str, DecodeError> {
    if v.len() > max {
        return Err(DecodeError::from(format!(
            "{what}: {} bytes, more than the {max} allowed",
            v.len()
        )));
    }
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    std::str::from_utf8(&v[..end]).map_err(|e| DecodeError::from(format!("{what}: {e}")))
}

/// A service as the kernel reports it (`IPVS_CMD_ATTR_SERVICE`); `None` where the attribute
/// was absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceReply<'a> {
    /// `IPVS_SVC_ATTR_AF`.
    pub af: Option<u16>,
    /// `IPVS_SVC_ATTR_PROTOCOL`.
    pub protocol: Option<u16>,
    /// `IPVS_SVC_ATTR_ADDR`, zero-padded to 16 bytes.
    pub addr: Option<[u8; 16]>,
    /// `IPVS_SVC_ATTR_PORT`, host order.
    pub port: Option<u16>,
    /// `IPVS_SVC_ATTR_FWMARK`.
    pub fwmark: Option<u32>,
    /// `IPVS_SVC_ATTR_SCHED_NAME`.
    pub sched_name: Option<&'a str>,
    /// `IPVS_SVC_ATTR_FLAGS`.
    pub flags: Option<FlagsMask>,
    /// `IPVS_SVC_ATTR_TIMEOUT`.
    pub timeout: Option<u32>,
    /// `IPVS_SVC_ATTR_NETMASK`.
    pub netmask: Option<u32>,
    /// `IPVS_SVC_ATTR_PE_NAME`.
    pub pe_name: Option<&'a str>,
    /// `IPVS_SVC_ATTR_STATS64`, else `IPVS_SVC_ATTR_STATS`.
    pub stats: Option<Counters>,
}

impl<'a> ServiceReply<'a> {
    /// Decodes the attributes of a service nest.
    pub fn parse(nest: &'a [u8]) -> Result<Self, DecodeError> {
        Self::parse_with(nest, Nests::WithStats)
    }

    /// [`ServiceReply::parse`], or without looking into the statistics nests
    /// ([`Nests::WithoutStats`]: `stats` is `None`).
    pub fn parse_with(nest: &'a [u8], nests: Nests) -> Result<Self, DecodeError> {
        let mut s = ServiceReply::default();
        let (mut narrow, mut wide) = (None, None);
        for nla in Attrs::new(nest) {
            let (kind, v) = nla.map_err(|e| malformed("service", e))?;
            match kind {
                IPVS_SVC_ATTR_AF => s.af = Some(u16_of(v, "IPVS_SVC_ATTR_AF")?),
                IPVS_SVC_ATTR_PROTOCOL => s.protocol = Some(u16_of(v, "IPVS_SVC_ATTR_PROTOCOL")?),
                IPVS_SVC_ATTR_ADDR => s.addr = Some(addr_of(v, "IPVS_SVC_ATTR_ADDR")?),
                IPVS_SVC_ATTR_PORT => s.port = Some(be16_of(v, "IPVS_SVC_ATTR_PORT")?),
                IPVS_SVC_ATTR_FWMARK => s.fwmark = Some(u32_of(v, "IPVS_SVC_ATTR_FWMARK")?),
                IPVS_SVC_ATTR_SCHED_NAME => {
                    s.sched_name = Some(str_of(
                        v,
                        IP_VS_SCHEDNAME_MAXLEN,
                        "IPVS_SVC_ATTR_SCHED_NAME",
                    )?)
                }
                IPVS_SVC_ATTR_FLAGS => {
                    if v.len() != 8 {
                        return Err(DecodeError::from(format!(
                            "IPVS_SVC_ATTR_FLAGS: expected 8 bytes, got {}",
                            v.len()
                        )));
                    }
                    s.flags = Some(FlagsMask {
                        flags: u32_of(&v[..4], "IPVS_SVC_ATTR_FLAGS")?,
                        mask: u32_of(&v[4..], "IPVS_SVC_ATTR_FLAGS")?,
                    })
                }
                IPVS_SVC_ATTR_TIMEOUT => s.timeout = Some(u32_of(v, "IPVS_SVC_ATTR_TIMEOUT")?),
                IPVS_SVC_ATTR_NETMASK => s.netmask = Some(u32_of(v, "IPVS_SVC_ATTR_NETMASK")?),
                IPVS_SVC_ATTR_PE_NAME => {
                    s.pe_name = Some(str_of(v, IP_VS_PENAME_MAXLEN, "IPVS_SVC_ATTR_PE_NAME")?)
                }
                IPVS_SVC_ATTR_STATS => narrow = Some(v),
                IPVS_SVC_ATTR_STATS64 => wide = Some(v),
                _ => {}
            }
        }
        s.stats = pick_stats(nests, narrow, wide)?;
        Ok(s)
    }

    /// The same values from a decoded attribute list.
    pub fn from_attrs(attrs: &'a [ServiceAttr]) -> Self {
        let mut s = ServiceReply::default();
        let (mut narrow, mut wide) = (None, None);
        for a in attrs {
            match a {
                ServiceAttr::Af(v) => s.af = Some(*v),
                ServiceAttr::Protocol(v) => s.protocol = Some(*v),
                ServiceAttr::Addr(v) => s.addr = Some(*v),
                ServiceAttr::Port(v) => s.port = Some(*v),
                ServiceAttr::Fwmark(v) => s.fwmark = Some(*v),
                ServiceAttr::SchedName(v) => s.sched_name = Some(v.as_str()),
                ServiceAttr::Flags(f) => s.flags = Some(*f),
                ServiceAttr::Timeout(v) => s.timeout = Some(*v),
                ServiceAttr::Netmask(v) => s.netmask = Some(*v),
                ServiceAttr::PeName(v) => s.pe_name = Some(v.as_str()),
                ServiceAttr::Stats(v) => narrow = Some(Counters::from_attrs(v)),
                ServiceAttr::Stats64(v) => wide = Some(Counters::from_attrs(v)),
                _ => {}
            }
        }
        s.stats = wide.or(narrow);
        s
    }
}

/// A destination as the kernel reports it (`IPVS_CMD_ATTR_DEST`); `None` where the attribute
/// was absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DestReply {
    /// `IPVS_DEST_ATTR_ADDR`, zero-padded to 16 bytes.
    pub addr: Option<[u8; 16]>,
    /// `IPVS_DEST_ATTR_PORT`, host order.
    pub port: Option<u16>,
    /// `IPVS_DEST_ATTR_FWD_METHOD`.
    pub fwd_method: Option<u32>,
    /// `IPVS_DEST_ATTR_WEIGHT`.
    pub weight: Option<u32>,
    /// `IPVS_DEST_ATTR_U_THRESH`.
    pub u_thresh: Option<u32>,
    /// `IPVS_DEST_ATTR_L_THRESH`.
    pub l_thresh: Option<u32>,
    /// `IPVS_DEST_ATTR_ACTIVE_CONNS`.
    pub active_conns: Option<u32>,
    /// `IPVS_DEST_ATTR_INACT_CONNS`.
    pub inact_conns: Option<u32>,
    /// `IPVS_DEST_ATTR_PERSIST_CONNS`.
    pub persist_conns: Option<u32>,
    /// `IPVS_DEST_ATTR_ADDR_FAMILY` (kernel 3.18+).
    pub addr_family: Option<u16>,
    /// `IPVS_DEST_ATTR_TUN_TYPE`.
    pub tun_type: Option<u8>,
    /// `IPVS_DEST_ATTR_TUN_PORT`, host order.
    pub tun_port: Option<u16>,
    /// `IPVS_DEST_ATTR_TUN_FLAGS`.
    pub tun_flags: Option<u16>,
    /// `IPVS_DEST_ATTR_STATS64`, else `IPVS_DEST_ATTR_STATS`.
    pub stats: Option<Counters>,
}

impl DestReply {
    /// Decodes the attributes of a destination nest.
    pub fn parse(nest: &[u8]) -> Result<Self, DecodeError> {
        Self::parse_with(nest, Nests::WithStats)
    }

    /// [`DestReply::parse`], or without looking into the statistics nests
    /// ([`Nests::WithoutStats`]: `stats` is `None`).
    pub fn parse_with(nest: &[u8], nests: Nests) -> Result<Self, DecodeError> {
        let mut d = DestReply::default();
        let (mut narrow, mut wide) = (None, None);
        for nla in Attrs::new(nest) {
            let (kind, v) = nla.map_err(|e| malformed("destination", e))?;
            match kind {
                IPVS_DEST_ATTR_ADDR => d.addr = Some(addr_of(v, "IPVS_DEST_ATTR_ADDR")?),
                IPVS_DEST_ATTR_PORT => d.port = Some(be16_of(v, "IPVS_DEST_ATTR_PORT")?),
                IPVS_DEST_ATTR_FWD_METHOD => {
                    d.fwd_method = Some(u32_of(v, "IPVS_DEST_ATTR_FWD_METHOD")?)
                }
                IPVS_DEST_ATTR_WEIGHT => d.weight = Some(u32_of(v, "IPVS_DEST_ATTR_WEIGHT")?),
                IPVS_DEST_ATTR_U_THRESH => d.u_thresh = Some(u32_of(v, "IPVS_DEST_ATTR_U_THRESH")?),
                IPVS_DEST_ATTR_L_THRESH => d.l_thresh = Some(u32_of(v, "IPVS_DEST_ATTR_L_THRESH")?),
                IPVS_DEST_ATTR_ACTIVE_CONNS => {
                    d.active_conns = Some(u32_of(v, "IPVS_DEST_ATTR_ACTIVE_CONNS")?)
                }
                IPVS_DEST_ATTR_INACT_CONNS => {
                    d.inact_conns = Some(u32_of(v, "IPVS_DEST_ATTR_INACT_CONNS")?)
                }
                IPVS_DEST_ATTR_PERSIST_CONNS => {
                    d.persist_conns = Some(u32_of(v, "IPVS_DEST_ATTR_PERSIST_CONNS")?)
                }
                IPVS_DEST_ATTR_STATS => narrow = Some(v),
                IPVS_DEST_ATTR_ADDR_FAMILY => {
                    d.addr_family = Some(u16_of(v, "IPVS_DEST_ATTR_ADDR_FAMILY")?)
                }
                IPVS_DEST_ATTR_STATS64 => wide = Some(v),
                IPVS_DEST_ATTR_TUN_TYPE => d.tun_type = Some(u8_of(v, "IPVS_DEST_ATTR_TUN_TYPE")?),
                IPVS_DEST_ATTR_TUN_PORT => {
                    d.tun_port = Some(be16_of(v, "IPVS_DEST_ATTR_TUN_PORT")?)
                }
                IPVS_DEST_ATTR_TUN_FLAGS => {
                    d.tun_flags = Some(u16_of(v, "IPVS_DEST_ATTR_TUN_FLAGS")?)
                }
                _ => {}
            }
        }
        d.stats = pick_stats(nests, narrow, wide)?;
        Ok(d)
    }

    /// The same values from a decoded attribute list.
    pub fn from_attrs(attrs: &[DestAttr]) -> Self {
        let mut d = DestReply::default();
        let (mut narrow, mut wide) = (None, None);
        for a in attrs {
            match a {
                DestAttr::Addr(v) => d.addr = Some(*v),
                DestAttr::Port(v) => d.port = Some(*v),
                DestAttr::FwdMethod(v) => d.fwd_method = Some(*v),
                DestAttr::Weight(v) => d.weight = Some(*v),
                DestAttr::UThresh(v) => d.u_thresh = Some(*v),
                DestAttr::LThresh(v) => d.l_thresh = Some(*v),
                DestAttr::ActiveConns(v) => d.active_conns = Some(*v),
                DestAttr::InactConns(v) => d.inact_conns = Some(*v),
                DestAttr::PersistConns(v) => d.persist_conns = Some(*v),
                DestAttr::Stats(v) => narrow = Some(Counters::from_attrs(v)),
                DestAttr::AddrFamily(v) => d.addr_family = Some(*v),
                DestAttr::Stats64(v) => wide = Some(Counters::from_attrs(v)),
                DestAttr::TunType(v) => d.tun_type = Some(*v),
                DestAttr::TunPort(v) => d.tun_port = Some(*v),
                DestAttr::TunFlags(v) => d.tun_flags = Some(*v),
                _ => {}
            }
        }
        d.stats = wide.or(narrow);
        d
    }
}

/// The first nest of top-level attribute `kind` (`IPVS_CMD_ATTR_*`) in a generic-netlink
/// payload (the bytes after `struct nlmsghdr`), or `None`. Every top-level attribute's framing
/// is checked; only that nest's value is returned, undecoded.
pub fn top_level_nest(payload: &[u8], kind: u16) -> Result<Option<&[u8]>, DecodeError> {
    let attrs = payload.get(GENL_HDRLEN..).ok_or_else(|| {
        DecodeError::from(format!(
            "generic netlink header: {} bytes, need {GENL_HDRLEN}",
            payload.len()
        ))
    })?;
    let mut found = None;
    for nla in Attrs::new(attrs) {
        let (k, v) = nla.map_err(|e| malformed("top-level", e))?;
        if found.is_none() && k == kind {
            found = Some(v);
        }
    }
    Ok(found)
}
