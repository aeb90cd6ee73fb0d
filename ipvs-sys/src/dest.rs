//! Destination attributes (`IPVS_DEST_ATTR_*`), nested under `IPVS_CMD_ATTR_DEST`.

use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable, NLA_F_NESTED};

use crate::attr::*;
use crate::consts::*;
use crate::stats::{emit_stats, parse_stats, stats_len, StatsAttr, StatsWidth};

/// One destination (real server) attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestAttr {
    /// Real-server address: IPv4 in the first 4 bytes. Sent as 16 bytes, like ipvsadm.
    Addr([u8; 16]),
    /// Real-server port, host order here (big-endian on the wire).
    Port(u16),
    /// Forwarding method (`IP_VS_CONN_F_*`).
    FwdMethod(u32),
    /// Weight (the kernel reads an int: above `i32::MAX` is ERANGE).
    Weight(u32),
    /// Upper connection threshold (0: none).
    UThresh(u32),
    /// Lower connection threshold.
    LThresh(u32),
    /// Active connections (kernel output).
    ActiveConns(u32),
    /// Inactive connections (kernel output).
    InactConns(u32),
    /// Persistent connection templates (kernel output).
    PersistConns(u32),
    /// 32-bit statistics.
    Stats(Vec<StatsAttr>),
    /// Address family of the destination (kernel 3.18+).
    AddrFamily(u16),
    /// 64-bit statistics.
    Stats64(Vec<StatsAttr>),
    /// Tunnel type (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
    TunType(u8),
    /// Tunnel port, host order here (big-endian on the wire).
    TunPort(u16),
    /// Tunnel flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
    TunFlags(u16),
    /// An attribute this crate does not know, kept byte for byte.
    Other(DefaultNla),
}

impl Nla for DestAttr {
    #[inline(always)]
    fn value_len(&self) -> usize {
        use DestAttr::*;
        match self {
            Addr(_) => 16,
            Port(_) | AddrFamily(_) | TunPort(_) | TunFlags(_) => 2,
            TunType(_) => 1,
            FwdMethod(_) | Weight(_) | UThresh(_) | LThresh(_) | ActiveConns(_) | InactConns(_)
            | PersistConns(_) => 4,
            Stats(a) => stats_len(a, StatsWidth::Narrow),
            Stats64(a) => stats_len(a, StatsWidth::Wide),
            Other(o) => o.value_len(),
        }
    }

    #[inline(always)]
    fn kind(&self) -> u16 {
        use DestAttr::*;
        match self {
            Addr(_) => IPVS_DEST_ATTR_ADDR,
            Port(_) => IPVS_DEST_ATTR_PORT,
            FwdMethod(_) => IPVS_DEST_ATTR_FWD_METHOD,
            Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            UThresh(_) => IPVS_DEST_ATTR_U_THRESH,
            LThresh(_) => IPVS_DEST_ATTR_L_THRESH,
            ActiveConns(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            InactConns(_) => IPVS_DEST_ATTR_INACT_CONNS,
            PersistConns(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            Stats(_) => IPVS_DEST_ATTR_STATS | NLA_F_NESTED,
            AddrFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            Stats64(_) => IPVS_DEST_ATTR_STATS64 | NLA_F_NESTED,
            TunType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            TunPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            TunFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            Other(o) => o.kind(),
        }
    }

    #[inline(always)]
    fn emit_value(&self, buf: &mut [u8]) {
        use DestAttr::*;
        match self {
            Addr(a) => buf.copy_from_slice(a),
            Port(v) | TunPort(v) => buf.copy_from_slice(&v.to_be_bytes()),
            AddrFamily(v) | TunFlags(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            TunType(v) => buf[0] = *v,
            FwdMethod(v) | Weight(v) | UThresh(v) | LThresh(v) | ActiveConns(v) | InactConns(v)
            | PersistConns(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            Stats(a) => emit_stats(a, StatsWidth::Narrow, buf),
            Stats64(a) => emit_stats(a, StatsWidth::Wide, buf),
            Other(o) => o.emit_value(buf),
        }
    }
}

impl<'a> Parseable<NlaBuffer<&'a [u8]>> for DestAttr {
    fn parse(nla: &NlaBuffer<&'a [u8]>) -> Result<Self, DecodeError> {
        use DestAttr::*;
        let v = nla.value();
        Ok(match kind(nla) {
            IPVS_DEST_ATTR_ADDR => Addr(addr_of(v, "IPVS_DEST_ATTR_ADDR")?),
            IPVS_DEST_ATTR_PORT => Port(be16_of(v, "IPVS_DEST_ATTR_PORT")?),
            IPVS_DEST_ATTR_FWD_METHOD => FwdMethod(u32_of(v, "IPVS_DEST_ATTR_FWD_METHOD")?),
            IPVS_DEST_ATTR_WEIGHT => Weight(u32_of(v, "IPVS_DEST_ATTR_WEIGHT")?),
            IPVS_DEST_ATTR_U_THRESH => UThresh(u32_of(v, "IPVS_DEST_ATTR_U_THRESH")?),
            IPVS_DEST_ATTR_L_THRESH => LThresh(u32_of(v, "IPVS_DEST_ATTR_L_THRESH")?),
            IPVS_DEST_ATTR_ACTIVE_CONNS => ActiveConns(u32_of(v, "IPVS_DEST_ATTR_ACTIVE_CONNS")?),
            IPVS_DEST_ATTR_INACT_CONNS => InactConns(u32_of(v, "IPVS_DEST_ATTR_INACT_CONNS")?),
            IPVS_DEST_ATTR_PERSIST_CONNS => {
                PersistConns(u32_of(v, "IPVS_DEST_ATTR_PERSIST_CONNS")?)
            }
            IPVS_DEST_ATTR_STATS => Stats(parse_stats(v, StatsWidth::Narrow)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => AddrFamily(u16_of(v, "IPVS_DEST_ATTR_ADDR_FAMILY")?),
            IPVS_DEST_ATTR_STATS64 => Stats64(parse_stats(v, StatsWidth::Wide)?),
            IPVS_DEST_ATTR_TUN_TYPE => TunType(u8_of(v, "IPVS_DEST_ATTR_TUN_TYPE")?),
            IPVS_DEST_ATTR_TUN_PORT => TunPort(be16_of(v, "IPVS_DEST_ATTR_TUN_PORT")?),
            IPVS_DEST_ATTR_TUN_FLAGS => TunFlags(u16_of(v, "IPVS_DEST_ATTR_TUN_FLAGS")?),
            _ => Other(DefaultNla::parse(nla)?),
        })
    }
}
