//! Service attributes (`IPVS_SVC_ATTR_*`), nested under `IPVS_CMD_ATTR_SERVICE`.

use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable, NLA_F_NESTED};

use crate::attr::*;
use crate::consts::*;
use crate::stats::{emit_stats, parse_stats, stats_len, StatsAttr, StatsWidth};

/// `struct ip_vs_flags`: the kernel computes `new = (old & !mask) | (flags & mask)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlagsMask {
    /// Flag bits (`IP_VS_SVC_F_*`).
    pub flags: u32,
    /// Which bits of `flags` to apply.
    pub mask: u32,
}

/// One service attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceAttr {
    /// Address family (`AF_INET`, `AF_INET6`).
    Af(u16),
    /// IP protocol number.
    Protocol(u16),
    /// Virtual address: IPv4 in the first 4 bytes, the rest zero. Sent as 16 bytes, like ipvsadm.
    Addr([u8; 16]),
    /// Virtual port, host order here (big-endian on the wire).
    Port(u16),
    /// Firewall mark.
    Fwmark(u32),
    /// Scheduler name.
    SchedName(String),
    /// Flags and the mask of flags to change.
    Flags(FlagsMask),
    /// Persistence timeout in seconds.
    Timeout(u32),
    /// The u32 the kernel reads with `nla_get_u32`: an IPv4 mask in network
    /// byte order (`u32::from_ne_bytes(mask.octets())`), or an IPv6 prefix length.
    Netmask(u32),
    /// 32-bit statistics.
    Stats(Vec<StatsAttr>),
    /// Persistence engine name.
    PeName(String),
    /// 64-bit statistics.
    Stats64(Vec<StatsAttr>),
    /// An attribute this crate does not know, kept byte for byte.
    Other(DefaultNla),
}

impl Nla for ServiceAttr {
    #[inline(always)]
    fn value_len(&self) -> usize {
        use ServiceAttr::*;
        match self {
            Af(_) | Protocol(_) | Port(_) => 2,
            Fwmark(_) | Timeout(_) | Netmask(_) => 4,
            Addr(_) => 16,
            Flags(_) => 8,
            SchedName(s) | PeName(s) => cstr_len(s),
            Stats(a) => stats_len(a, StatsWidth::Narrow),
            Stats64(a) => stats_len(a, StatsWidth::Wide),
            Other(o) => o.value_len(),
        }
    }

    #[inline(always)]
    fn kind(&self) -> u16 {
        use ServiceAttr::*;
        match self {
            Af(_) => IPVS_SVC_ATTR_AF,
            Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            Addr(_) => IPVS_SVC_ATTR_ADDR,
            Port(_) => IPVS_SVC_ATTR_PORT,
            Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            SchedName(_) => IPVS_SVC_ATTR_SCHED_NAME,
            Flags(_) => IPVS_SVC_ATTR_FLAGS,
            Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            Stats(_) => IPVS_SVC_ATTR_STATS | NLA_F_NESTED,
            PeName(_) => IPVS_SVC_ATTR_PE_NAME,
            Stats64(_) => IPVS_SVC_ATTR_STATS64 | NLA_F_NESTED,
            Other(o) => o.kind(),
        }
    }

    #[inline(always)]
    fn emit_value(&self, buf: &mut [u8]) {
        use ServiceAttr::*;
        match self {
            Af(v) | Protocol(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            Port(v) => buf.copy_from_slice(&v.to_be_bytes()),
            Fwmark(v) | Timeout(v) | Netmask(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            Addr(a) => buf.copy_from_slice(a),
            Flags(f) => {
                buf[..4].copy_from_slice(&f.flags.to_ne_bytes());
                buf[4..].copy_from_slice(&f.mask.to_ne_bytes());
            }
            SchedName(s) | PeName(s) => emit_cstr(s, buf),
            Stats(a) => emit_stats(a, StatsWidth::Narrow, buf),
            Stats64(a) => emit_stats(a, StatsWidth::Wide, buf),
            Other(o) => o.emit_value(buf),
        }
    }
}

impl<'a> Parseable<NlaBuffer<&'a [u8]>> for ServiceAttr {
    fn parse(nla: &NlaBuffer<&'a [u8]>) -> Result<Self, DecodeError> {
        use ServiceAttr::*;
        let v = nla.value();
        Ok(match kind(nla) {
            IPVS_SVC_ATTR_AF => Af(u16_of(v, "IPVS_SVC_ATTR_AF")?),
            IPVS_SVC_ATTR_PROTOCOL => Protocol(u16_of(v, "IPVS_SVC_ATTR_PROTOCOL")?),
            IPVS_SVC_ATTR_ADDR => Addr(addr_of(v, "IPVS_SVC_ATTR_ADDR")?),
            IPVS_SVC_ATTR_PORT => Port(be16_of(v, "IPVS_SVC_ATTR_PORT")?),
            IPVS_SVC_ATTR_FWMARK => Fwmark(u32_of(v, "IPVS_SVC_ATTR_FWMARK")?),
            IPVS_SVC_ATTR_SCHED_NAME => SchedName(string_of(
                v,
                IP_VS_SCHEDNAME_MAXLEN,
                "IPVS_SVC_ATTR_SCHED_NAME",
            )?),
            IPVS_SVC_ATTR_FLAGS => Flags(flags_of(v, "IPVS_SVC_ATTR_FLAGS")?),
            IPVS_SVC_ATTR_TIMEOUT => Timeout(u32_of(v, "IPVS_SVC_ATTR_TIMEOUT")?),
            IPVS_SVC_ATTR_NETMASK => Netmask(u32_of(v, "IPVS_SVC_ATTR_NETMASK")?),
            IPVS_SVC_ATTR_STATS => Stats(parse_stats(v, StatsWidth::Narrow)?),
            IPVS_SVC_ATTR_PE_NAME => {
                PeName(string_of(v, IP_VS_PENAME_MAXLEN, "IPVS_SVC_ATTR_PE_NAME")?)
            }
            IPVS_SVC_ATTR_STATS64 => Stats64(parse_stats(v, StatsWidth::Wide)?),
            _ => Other(DefaultNla::parse(nla)?),
        })
    }
}

/// `struct ip_vs_flags`: exactly 8 bytes, the flags then the mask, native order.
#[inline]
pub(crate) fn flags_of(v: &[u8], what: &str) -> Result<FlagsMask, DecodeError> {
    match <[u8; 8]>::try_from(v) {
        Ok(b) => Ok(FlagsMask::from_bytes(b)),
        Err(_) => Err(DecodeError::from(format!(
            "{what}: expected 8 bytes, got {}",
            v.len()
        ))),
    }
}

impl FlagsMask {
    /// The value of an `IPVS_SVC_ATTR_FLAGS` attribute.
    #[inline]
    pub(crate) fn from_bytes(b: [u8; 8]) -> Self {
        FlagsMask {
            flags: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            mask: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}
