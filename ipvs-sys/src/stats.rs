//! Statistics attributes (`IPVS_STATS_ATTR_*`), nested in services and destinations.
//!
//! The same numbers travel in two nests: `STATS`, where all counters but the
//! byte counts are truncated to u32, and `STATS64` (kernel 4.1+), where all are
//! u64. Values are kept as u64 here; the nest decides the width on the wire.

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, Parseable, ParseableParametrized,
};

use crate::attr::{kind, u32_of, u64_of};
use crate::consts::*;

/// One statistics counter or rate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatsAttr {
    /// Connections scheduled.
    Conns(u64),
    /// Incoming packets.
    InPkts(u64),
    /// Outgoing packets.
    OutPkts(u64),
    /// Incoming bytes.
    InBytes(u64),
    /// Outgoing bytes.
    OutBytes(u64),
    /// Connections per second.
    Cps(u64),
    /// Incoming packets per second.
    InPps(u64),
    /// Outgoing packets per second.
    OutPps(u64),
    /// Incoming bytes per second.
    InBps(u64),
    /// Outgoing bytes per second.
    OutBps(u64),
    /// An attribute this crate does not know, kept byte for byte (padding included).
    Other(DefaultNla),
}

/// Which nest a statistics list travels in: it sets each value's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsWidth {
    /// `*_ATTR_STATS`: u32 except the byte counters.
    Narrow,
    /// `*_ATTR_STATS64`: all u64.
    Wide,
}

impl StatsAttr {
    fn kind_value(&self) -> Option<(u16, u64)> {
        use StatsAttr::*;
        Some(match *self {
            Conns(v) => (IPVS_STATS_ATTR_CONNS, v),
            InPkts(v) => (IPVS_STATS_ATTR_INPKTS, v),
            OutPkts(v) => (IPVS_STATS_ATTR_OUTPKTS, v),
            InBytes(v) => (IPVS_STATS_ATTR_INBYTES, v),
            OutBytes(v) => (IPVS_STATS_ATTR_OUTBYTES, v),
            Cps(v) => (IPVS_STATS_ATTR_CPS, v),
            InPps(v) => (IPVS_STATS_ATTR_INPPS, v),
            OutPps(v) => (IPVS_STATS_ATTR_OUTPPS, v),
            InBps(v) => (IPVS_STATS_ATTR_INBPS, v),
            OutBps(v) => (IPVS_STATS_ATTR_OUTBPS, v),
            Other(_) => return None,
        })
    }

    /// Whether counter `kind` is a u64 in a nest of `width`: all of the 64-bit nest, and the
    /// byte counters of the 32-bit one.
    pub(crate) fn is_wide(kind: u16, width: StatsWidth) -> bool {
        width == StatsWidth::Wide
            || kind == IPVS_STATS_ATTR_INBYTES
            || kind == IPVS_STATS_ATTR_OUTBYTES
    }
}

/// Decodes one counter; its width must match the nest.
impl<'a> ParseableParametrized<NlaBuffer<&'a [u8]>, StatsWidth> for StatsAttr {
    fn parse_with_param(nla: &NlaBuffer<&'a [u8]>, width: StatsWidth) -> Result<Self, DecodeError> {
        use StatsAttr::*;
        let k = kind(nla);
        let v = nla.value();
        let num = |what: &str| -> Result<u64, DecodeError> {
            if Self::is_wide(k, width) {
                u64_of(v, what)
            } else {
                u32_of(v, what).map(u64::from)
            }
        };
        Ok(match k {
            IPVS_STATS_ATTR_CONNS => Conns(num("IPVS_STATS_ATTR_CONNS")?),
            IPVS_STATS_ATTR_INPKTS => InPkts(num("IPVS_STATS_ATTR_INPKTS")?),
            IPVS_STATS_ATTR_OUTPKTS => OutPkts(num("IPVS_STATS_ATTR_OUTPKTS")?),
            IPVS_STATS_ATTR_INBYTES => InBytes(num("IPVS_STATS_ATTR_INBYTES")?),
            IPVS_STATS_ATTR_OUTBYTES => OutBytes(num("IPVS_STATS_ATTR_OUTBYTES")?),
            IPVS_STATS_ATTR_CPS => Cps(num("IPVS_STATS_ATTR_CPS")?),
            IPVS_STATS_ATTR_INPPS => InPps(num("IPVS_STATS_ATTR_INPPS")?),
            IPVS_STATS_ATTR_OUTPPS => OutPps(num("IPVS_STATS_ATTR_OUTPPS")?),
            IPVS_STATS_ATTR_INBPS => InBps(num("IPVS_STATS_ATTR_INBPS")?),
            IPVS_STATS_ATTR_OUTBPS => OutBps(num("IPVS_STATS_ATTR_OUTBPS")?),
            _ => Other(DefaultNla::parse(nla)?),
        })
    }
}

/// A statistics attribute together with the width of its nest, for encoding.
pub(crate) struct Sized<'a>(pub &'a StatsAttr, pub StatsWidth);

impl Nla for Sized<'_> {
    fn value_len(&self) -> usize {
        match self.0.kind_value() {
            Some((k, _)) if StatsAttr::is_wide(k, self.1) => 8,
            Some(_) => 4,
            None => match self.0 {
                StatsAttr::Other(o) => o.value_len(),
                _ => 0,
            },
        }
    }
    fn kind(&self) -> u16 {
        match (self.0.kind_value(), self.0) {
            (Some((k, _)), _) => k,
            (None, StatsAttr::Other(o)) => o.kind(),
            _ => 0,
        }
    }
    fn emit_value(&self, buf: &mut [u8]) {
        match (self.0.kind_value(), self.0) {
            (Some((k, v)), _) if StatsAttr::is_wide(k, self.1) => {
                buf.copy_from_slice(&v.to_ne_bytes())
            }
            // Narrow counters are truncated exactly as the kernel truncates them.
            (Some((_, v)), _) => buf.copy_from_slice(&(v as u32).to_ne_bytes()),
            (None, StatsAttr::Other(o)) => o.emit_value(buf),
            _ => {}
        }
    }
}

pub(crate) fn stats_len(attrs: &[StatsAttr], width: StatsWidth) -> usize {
    attrs.iter().map(|a| Sized(a, width).buffer_len()).sum()
}

pub(crate) fn emit_stats(attrs: &[StatsAttr], width: StatsWidth, buf: &mut [u8]) {
    let mut at = 0;
    for a in attrs {
        let s = Sized(a, width);
        let len = s.buffer_len();
        s.emit(&mut buf[at..at + len]);
        at += len;
    }
}

pub(crate) fn parse_stats(
    payload: &[u8],
    width: StatsWidth,
) -> Result<Vec<StatsAttr>, DecodeError> {
    crate::attr::parse_nested(payload, "stats", |nla| {
        StatsAttr::parse_with_param(nla, width)
    })
}
