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

use crate::attr::{
    addr_of, bytes, gather, gather_known, malformed, str_of, Attrs, Layout, Rule, Schema, Shape,
};
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
        if width == StatsWidth::Wide {
            if let Some(known) = Self::from_known_places(nest) {
                return Ok(known);
            }
        }
        let schema = match width {
            StatsWidth::Narrow => &NARROW_STATS,
            StatsWidth::Wide => &WIDE_STATS,
        };
        let mut v = [None; 11];
        match width {
            StatsWidth::Wide => gather_known(nest, &WIDE_STATS_LAYOUT, schema, "stats", &mut v)?,
            StatsWidth::Narrow => gather(nest, schema, "stats", &mut v)?,
        }
        Ok(Self::from_values(|k| {
            v.get(usize::from(k)).copied().flatten()
        }))
    }

    /// A 64-bit statistics nest that is `WIDE_STATS_LAYOUT` and nothing more (as kernels 5.2
    /// to 6.x send it where 64-bit values need no padding), read from its places; `None` for
    /// any other, which [`Counters::parse`] walks (the same values: held to it by the kernel's
    /// replies and the fuzzing of the destination replies, whose statistics it reads).
    #[inline(always)]
    fn from_known_places(nest: &[u8]) -> Option<Self> {
        const END: usize = WIDE_STATS_LAYOUT.end();
        let nest: &[u8; END] = nest.try_into().ok()?;
        if !WIDE_STATS_LAYOUT.starts(nest) {
            return None;
        }
        Some(Self::from_values(|kind| {
            WIDE_STATS_LAYOUT.value_in(nest, kind)
        }))
    }

    /// The counters whose attribute of each kind (`IPVS_STATS_ATTR_*`) is `value(kind)`.
    #[inline(always)]
    fn from_values<'v>(value: impl Fn(u16) -> Option<&'v [u8]>) -> Self {
        // Each value has its nest's width for its counter (checked by `gather`, or by the
        // layout's lengths).
        let num = |k: u16| -> u64 {
            let v = value(k);
            match (bytes::<8>(v), bytes::<4>(v)) {
                (Some(b), _) => u64::from_ne_bytes(b),
                (None, Some(b)) => u64::from(u32::from_ne_bytes(b)),
                (None, None) => 0,
            }
        };
        Counters {
            conns: num(IPVS_STATS_ATTR_CONNS),
            in_pkts: num(IPVS_STATS_ATTR_INPKTS),
            out_pkts: num(IPVS_STATS_ATTR_OUTPKTS),
            in_bytes: num(IPVS_STATS_ATTR_INBYTES),
            out_bytes: num(IPVS_STATS_ATTR_OUTBYTES),
            cps: num(IPVS_STATS_ATTR_CPS),
            in_pps: num(IPVS_STATS_ATTR_INPPS),
            out_pps: num(IPVS_STATS_ATTR_OUTPPS),
            in_bps: num(IPVS_STATS_ATTR_INBPS),
            out_bps: num(IPVS_STATS_ATTR_OUTBPS),
        }
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

/// The counters of a statistics nest (`IPVS_STATS_ATTR_*`) of a width: each a u64 in the 64-bit
/// nest, and in the 32-bit one a u32 but the byte counters ([`StatsAttr::is_wide`]).
/// `IPVS_STATS_ATTR_PAD` and what a newer kernel adds are not looked into.
const fn stats_schema(width: StatsWidth) -> Schema<11> {
    let mut s = [Rule::ANY; 11];
    let names = [
        (IPVS_STATS_ATTR_CONNS, "IPVS_STATS_ATTR_CONNS"),
        (IPVS_STATS_ATTR_INPKTS, "IPVS_STATS_ATTR_INPKTS"),
        (IPVS_STATS_ATTR_OUTPKTS, "IPVS_STATS_ATTR_OUTPKTS"),
        (IPVS_STATS_ATTR_INBYTES, "IPVS_STATS_ATTR_INBYTES"),
        (IPVS_STATS_ATTR_OUTBYTES, "IPVS_STATS_ATTR_OUTBYTES"),
        (IPVS_STATS_ATTR_CPS, "IPVS_STATS_ATTR_CPS"),
        (IPVS_STATS_ATTR_INPPS, "IPVS_STATS_ATTR_INPPS"),
        (IPVS_STATS_ATTR_OUTPPS, "IPVS_STATS_ATTR_OUTPPS"),
        (IPVS_STATS_ATTR_INBPS, "IPVS_STATS_ATTR_INBPS"),
        (IPVS_STATS_ATTR_OUTBPS, "IPVS_STATS_ATTR_OUTBPS"),
    ];
    let mut i = 0;
    while i < names.len() {
        let (k, name) = names[i];
        let wide = match width {
            StatsWidth::Wide => true,
            StatsWidth::Narrow => k == IPVS_STATS_ATTR_INBYTES || k == IPVS_STATS_ATTR_OUTBYTES,
        };
        s[k as usize] = Rule::new(Shape::Exact(if wide { 8 } else { 4 }), name);
        i += 1;
    }
    s
}

const NARROW_STATS: Schema<11> = stats_schema(StatsWidth::Narrow);
const WIDE_STATS: Schema<11> = stats_schema(StatsWidth::Wide);

/// The 64-bit statistics nest as kernels 4.1 to 6.x send it: the ten counters in their
/// numbers' order, 8 bytes each, no padding attributes (x86_64 has no alignment to pad for).
const WIDE_STATS_LAYOUT: Layout<10> = Layout::new([
    (IPVS_STATS_ATTR_CONNS, 8),
    (IPVS_STATS_ATTR_INPKTS, 8),
    (IPVS_STATS_ATTR_OUTPKTS, 8),
    (IPVS_STATS_ATTR_INBYTES, 8),
    (IPVS_STATS_ATTR_OUTBYTES, 8),
    (IPVS_STATS_ATTR_CPS, 8),
    (IPVS_STATS_ATTR_INPPS, 8),
    (IPVS_STATS_ATTR_OUTPPS, 8),
    (IPVS_STATS_ATTR_INBPS, 8),
    (IPVS_STATS_ATTR_OUTBPS, 8),
]);

/// How a service nest of an address starts (kernel 6.1, `ip_vs_genl_fill_service`).
const SERVICE_LAYOUT: Layout<4> = Layout::new([
    (IPVS_SVC_ATTR_AF, 2),
    (IPVS_SVC_ATTR_PROTOCOL, 2),
    (IPVS_SVC_ATTR_ADDR, 16),
    (IPVS_SVC_ATTR_PORT, 2),
]);

/// How a fwmark service's nest starts (`ip_vs_genl_fill_service`): the mark in place of the
/// protocol, address and port.
const FWMARK_LAYOUT: Layout<2> = Layout::new([(IPVS_SVC_ATTR_AF, 2), (IPVS_SVC_ATTR_FWMARK, 4)]);

/// What follows a service's names (the scheduler's, then the persistence engine's when it has
/// one) in `ip_vs_genl_fill_service`, before the statistics nests.
const SERVICE_TAIL: Layout<3> = Layout::new([
    (IPVS_SVC_ATTR_FLAGS, 8),
    (IPVS_SVC_ATTR_TIMEOUT, 4),
    (IPVS_SVC_ATTR_NETMASK, 4),
]);

/// How a destination nest starts (kernel 5.2 to 6.x, `ip_vs_genl_fill_dest`: the tunnel
/// attributes came in 5.2); the statistics nests follow, walked.
const DEST_LAYOUT: Layout<13> = Layout::new([
    (IPVS_DEST_ATTR_ADDR, 16),
    (IPVS_DEST_ATTR_PORT, 2),
    (IPVS_DEST_ATTR_FWD_METHOD, 4),
    (IPVS_DEST_ATTR_WEIGHT, 4),
    (IPVS_DEST_ATTR_TUN_TYPE, 1),
    (IPVS_DEST_ATTR_TUN_PORT, 2),
    (IPVS_DEST_ATTR_TUN_FLAGS, 2),
    (IPVS_DEST_ATTR_U_THRESH, 4),
    (IPVS_DEST_ATTR_L_THRESH, 4),
    (IPVS_DEST_ATTR_ACTIVE_CONNS, 4),
    (IPVS_DEST_ATTR_INACT_CONNS, 4),
    (IPVS_DEST_ATTR_PERSIST_CONNS, 4),
    (IPVS_DEST_ATTR_ADDR_FAMILY, 2),
]);

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

/// A service nest's attributes (`IPVS_SVC_ATTR_*`) as [`ServiceReply`] reads them: each one's
/// shape is its reader's in [`ServiceAttr`]'s decoder; the statistics nests are checked when read.
const SERVICE: Schema<13> = {
    let mut s = [Rule::ANY; 13];
    s[IPVS_SVC_ATTR_AF as usize] = Rule::new(Shape::Exact(2), "IPVS_SVC_ATTR_AF");
    s[IPVS_SVC_ATTR_PROTOCOL as usize] = Rule::new(Shape::Exact(2), "IPVS_SVC_ATTR_PROTOCOL");
    s[IPVS_SVC_ATTR_ADDR as usize] = Rule::new(Shape::Addr, "IPVS_SVC_ATTR_ADDR");
    s[IPVS_SVC_ATTR_PORT as usize] = Rule::new(Shape::Exact(2), "IPVS_SVC_ATTR_PORT");
    s[IPVS_SVC_ATTR_FWMARK as usize] = Rule::new(Shape::Exact(4), "IPVS_SVC_ATTR_FWMARK");
    s[IPVS_SVC_ATTR_SCHED_NAME as usize] = Rule::new(
        Shape::Text(IP_VS_SCHEDNAME_MAXLEN as u8),
        "IPVS_SVC_ATTR_SCHED_NAME",
    );
    s[IPVS_SVC_ATTR_FLAGS as usize] = Rule::new(Shape::Flags, "IPVS_SVC_ATTR_FLAGS");
    s[IPVS_SVC_ATTR_TIMEOUT as usize] = Rule::new(Shape::Exact(4), "IPVS_SVC_ATTR_TIMEOUT");
    s[IPVS_SVC_ATTR_NETMASK as usize] = Rule::new(Shape::Exact(4), "IPVS_SVC_ATTR_NETMASK");
    s[IPVS_SVC_ATTR_PE_NAME as usize] = Rule::new(
        Shape::Text(IP_VS_PENAME_MAXLEN as u8),
        "IPVS_SVC_ATTR_PE_NAME",
    );
    s
};

/// A service's statistics nests as `ip_vs_genl_fill_service` puts them after `SERVICE_TAIL`
/// where 64-bit values need no padding (x86_64): the 32-bit nest (eight 4-byte counters and the
/// two 8-byte byte counters), then the 64-bit one (ten 8-byte counters). Not looked into here:
/// each is checked when read, as the walk's are.
const SERVICE_STATS: Layout<2> = Layout::new([
    (IPVS_SVC_ATTR_STATS, 8 * 8 + 2 * 12),
    (IPVS_SVC_ATTR_STATS64, 10 * 12),
]);

/// A destination nest's attributes (`IPVS_DEST_ATTR_*`) as [`DestReply`] reads them: each one's
/// shape is its reader's in [`DestAttr`]'s decoder; the statistics nests are checked when read.
const DEST: Schema<16> = {
    let mut s = [Rule::ANY; 16];
    s[IPVS_DEST_ATTR_ADDR as usize] = Rule::new(Shape::Addr, "IPVS_DEST_ATTR_ADDR");
    s[IPVS_DEST_ATTR_PORT as usize] = Rule::new(Shape::Exact(2), "IPVS_DEST_ATTR_PORT");
    s[IPVS_DEST_ATTR_FWD_METHOD as usize] = Rule::new(Shape::Exact(4), "IPVS_DEST_ATTR_FWD_METHOD");
    s[IPVS_DEST_ATTR_WEIGHT as usize] = Rule::new(Shape::Exact(4), "IPVS_DEST_ATTR_WEIGHT");
    s[IPVS_DEST_ATTR_U_THRESH as usize] = Rule::new(Shape::Exact(4), "IPVS_DEST_ATTR_U_THRESH");
    s[IPVS_DEST_ATTR_L_THRESH as usize] = Rule::new(Shape::Exact(4), "IPVS_DEST_ATTR_L_THRESH");
    s[IPVS_DEST_ATTR_ACTIVE_CONNS as usize] =
        Rule::new(Shape::Exact(4), "IPVS_DEST_ATTR_ACTIVE_CONNS");
    s[IPVS_DEST_ATTR_INACT_CONNS as usize] =
        Rule::new(Shape::Exact(4), "IPVS_DEST_ATTR_INACT_CONNS");
    s[IPVS_DEST_ATTR_PERSIST_CONNS as usize] =
        Rule::new(Shape::Exact(4), "IPVS_DEST_ATTR_PERSIST_CONNS");
    s[IPVS_DEST_ATTR_ADDR_FAMILY as usize] =
        Rule::new(Shape::Exact(2), "IPVS_DEST_ATTR_ADDR_FAMILY");
    s[IPVS_DEST_ATTR_TUN_TYPE as usize] = Rule::new(Shape::Exact(1), "IPVS_DEST_ATTR_TUN_TYPE");
    s[IPVS_DEST_ATTR_TUN_PORT as usize] = Rule::new(Shape::Exact(2), "IPVS_DEST_ATTR_TUN_PORT");
    s[IPVS_DEST_ATTR_TUN_FLAGS as usize] = Rule::new(Shape::Exact(2), "IPVS_DEST_ATTR_TUN_FLAGS");
    s
};

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
        if let Some((mut known, narrow, wide)) = Self::from_known_places(nest) {
            known.stats = pick_stats(nests, narrow, wide)?;
            return Ok(known);
        }
        Self::walked(nest, nests)
    }

    /// [`ServiceReply::parse_with`] by the general walk, for a nest not in the kernel's usual
    /// shape.
    #[inline(never)]
    fn walked(nest: &'a [u8], nests: Nests) -> Result<Self, DecodeError> {
        let mut v = [None; 13];
        gather_known(nest, &SERVICE_LAYOUT, &SERVICE, "service", &mut v)?;
        let at = |k: u16| v.get(usize::from(k)).copied().flatten();
        Ok(ServiceReply {
            af: bytes(at(IPVS_SVC_ATTR_AF)).map(u16::from_ne_bytes),
            protocol: bytes(at(IPVS_SVC_ATTR_PROTOCOL)).map(u16::from_ne_bytes),
            addr: at(IPVS_SVC_ATTR_ADDR).and_then(|v| addr_of(v, "").ok()),
            port: bytes(at(IPVS_SVC_ATTR_PORT)).map(u16::from_be_bytes),
            fwmark: bytes(at(IPVS_SVC_ATTR_FWMARK)).map(u32::from_ne_bytes),
            sched_name: at(IPVS_SVC_ATTR_SCHED_NAME)
                .and_then(|v| str_of(v, IP_VS_SCHEDNAME_MAXLEN, "").ok()),
            flags: bytes(at(IPVS_SVC_ATTR_FLAGS)).map(FlagsMask::from_bytes),
            timeout: bytes(at(IPVS_SVC_ATTR_TIMEOUT)).map(u32::from_ne_bytes),
            netmask: bytes(at(IPVS_SVC_ATTR_NETMASK)).map(u32::from_ne_bytes),
            pe_name: at(IPVS_SVC_ATTR_PE_NAME)
                .and_then(|v| str_of(v, IP_VS_PENAME_MAXLEN, "").ok()),
            stats: pick_stats(nests, at(IPVS_SVC_ATTR_STATS), at(IPVS_SVC_ATTR_STATS64))?,
        })
    }

    /// The reply as every listing of kernels 4.1 to 6.x sends it (`ip_vs_genl_fill_service`:
    /// `SERVICE_LAYOUT` or `FWMARK_LAYOUT`, the scheduler's name, the persistence engine's if
    /// the service has one, `SERVICE_TAIL`, then nothing but the statistics nests), each value
    /// read from its place and each name's text checked once. `None` for any other reply,
    /// which [`ServiceReply::walked`] walks (the same values and the same errors: held to it by
    /// the kernel's replies and the fuzzing of `parse_with` against a reference decoder).
    #[inline(always)]
    fn from_known_places(nest: &'a [u8]) -> Option<KnownService<'a>> {
        const ADDR_END: usize = SERVICE_LAYOUT.end();
        const MARK_END: usize = FWMARK_LAYOUT.end();
        const TAIL_END: usize = SERVICE_TAIL.end();
        const STATS_END: usize = SERVICE_STATS.end();
        // The layouts' lengths are their readers' (the_layouts_hold_only_values_their_readers_
        // take): each value is there, whole, at a constant place.
        let u16_in = |v: Option<&[u8]>| bytes(v).map(u16::from_ne_bytes);
        let u32_in = |v: Option<&[u8]>| bytes(v).map(u32::from_ne_bytes);
        let addr_key = nest
            .get(..ADDR_END)
            .and_then(|p| <&[u8; ADDR_END]>::try_from(p).ok())
            .filter(|key| SERVICE_LAYOUT.starts(*key));
        let (af, protocol, addr, port, fwmark, rest) = match addr_key {
            Some(key) => {
                let value = |kind| SERVICE_LAYOUT.value_in(key, kind);
                (
                    u16_in(value(IPVS_SVC_ATTR_AF)),
                    u16_in(value(IPVS_SVC_ATTR_PROTOCOL)),
                    bytes(value(IPVS_SVC_ATTR_ADDR)),
                    bytes(value(IPVS_SVC_ATTR_PORT)).map(u16::from_be_bytes),
                    None,
                    nest.get(ADDR_END..)?,
                )
            }
            None => {
                let key: &[u8; MARK_END] = nest.get(..MARK_END)?.try_into().ok()?;
                if !FWMARK_LAYOUT.starts(key) {
                    return None;
                }
                let value = |kind| FWMARK_LAYOUT.value_in(key, kind);
                (
                    u16_in(value(IPVS_SVC_ATTR_AF)),
                    None,
                    None,
                    None,
                    u32_in(value(IPVS_SVC_ATTR_FWMARK)),
                    nest.get(MARK_END..)?,
                )
            }
        };
        let mut attrs = Attrs::new(rest);
        let Ok(Some((IPVS_SVC_ATTR_SCHED_NAME, v))) = attrs.next_attr() else {
            return None;
        };
        // The name's text checked once, where the walk checks it to take it and again to read
        // it; one it refuses is left to the walk, which says why.
        let sched_name = str_of(v, IP_VS_SCHEDNAME_MAXLEN, "").ok()?;
        let mut pe_name = None;
        let mut after_pe = attrs.clone();
        if let Ok(Some((IPVS_SVC_ATTR_PE_NAME, v))) = after_pe.next_attr() {
            pe_name = Some(str_of(v, IP_VS_PENAME_MAXLEN, "").ok()?);
            attrs = after_pe;
        }
        let rest = attrs.rest();
        let tail: &[u8; TAIL_END] = rest.get(..TAIL_END)?.try_into().ok()?;
        if !SERVICE_TAIL.starts(tail) {
            return None;
        }
        let stats = rest.get(TAIL_END..)?;
        let (narrow, wide) = match <&[u8; STATS_END]>::try_from(stats)
            .ok()
            .filter(|both| SERVICE_STATS.starts_without_flags(*both))
        {
            Some(both) => (
                SERVICE_STATS.value_in(both, IPVS_SVC_ATTR_STATS),
                SERVICE_STATS.value_in(both, IPVS_SVC_ATTR_STATS64),
            ),
            None => only_stats_nests(stats, &SERVICE, IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64)?,
        };
        let value = |kind| SERVICE_TAIL.value_in(tail, kind);
        Some((
            ServiceReply {
                af,
                protocol,
                addr,
                port,
                fwmark,
                sched_name: Some(sched_name),
                flags: bytes(value(IPVS_SVC_ATTR_FLAGS)).map(FlagsMask::from_bytes),
                timeout: u32_in(value(IPVS_SVC_ATTR_TIMEOUT)),
                netmask: u32_in(value(IPVS_SVC_ATTR_NETMASK)),
                pe_name,
                stats: None,
            },
            narrow,
            wide,
        ))
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

/// A service read from its known places, without its statistics, and its statistics nests
/// (32-bit, 64-bit), not looked into.
type KnownService<'a> = (ServiceReply<'a>, Option<&'a [u8]>, Option<&'a [u8]>);

/// A reply's statistics nests (32-bit, 64-bit), not looked into.
type StatsNests<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// The statistics nests of kinds `narrow` (32-bit) and `wide` (64-bit) when they are all of
/// `rest`, each taken by its rule of `schema` (a later nest of a kind replaces an earlier one,
/// as in the walk); `None` when `rest` holds anything else (another kind, a damaged header, a
/// value refused), which the walk decides. What follows a reply's known places.
#[inline(always)]
fn only_stats_nests<'a, const N: usize>(
    rest: &'a [u8],
    schema: &Schema<N>,
    narrow: u16,
    wide: u16,
) -> Option<StatsNests<'a>> {
    let fits = |k: u16, v: &[u8]| schema.get(usize::from(k)).is_some_and(|r| r.fits(v));
    let (mut n, mut w) = (None, None);
    let mut attrs = Attrs::new(rest);
    loop {
        match attrs.next_attr() {
            Ok(Some((k, v))) if k == narrow && fits(k, v) => n = Some(v),
            Ok(Some((k, v))) if k == wide && fits(k, v) => w = Some(v),
            Ok(None) => return Some((n, w)),
            _ => return None,
        }
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
        if let Some(known) = Self::from_known_places(nest, nests) {
            return known;
        }
        let mut v = [None; 16];
        gather_known(nest, &DEST_LAYOUT, &DEST, "destination", &mut v)?;
        let at = |k: u16| v.get(usize::from(k)).copied().flatten();
        let stats = pick_stats(nests, at(IPVS_DEST_ATTR_STATS), at(IPVS_DEST_ATTR_STATS64))?;
        Ok(Self::from_values(at, stats))
    }

    /// The reply whose attribute of each kind (`IPVS_DEST_ATTR_*`) is `value(kind)`, with
    /// these counters.
    #[inline(always)]
    fn from_values<'v>(value: impl Fn(u16) -> Option<&'v [u8]>, stats: Option<Counters>) -> Self {
        let u32_at = |k: u16| bytes(value(k)).map(u32::from_ne_bytes);
        DestReply {
            addr: value(IPVS_DEST_ATTR_ADDR).and_then(|v| addr_of(v, "").ok()),
            port: bytes(value(IPVS_DEST_ATTR_PORT)).map(u16::from_be_bytes),
            fwd_method: u32_at(IPVS_DEST_ATTR_FWD_METHOD),
            weight: u32_at(IPVS_DEST_ATTR_WEIGHT),
            u_thresh: u32_at(IPVS_DEST_ATTR_U_THRESH),
            l_thresh: u32_at(IPVS_DEST_ATTR_L_THRESH),
            active_conns: u32_at(IPVS_DEST_ATTR_ACTIVE_CONNS),
            inact_conns: u32_at(IPVS_DEST_ATTR_INACT_CONNS),
            persist_conns: u32_at(IPVS_DEST_ATTR_PERSIST_CONNS),
            addr_family: bytes(value(IPVS_DEST_ATTR_ADDR_FAMILY)).map(u16::from_ne_bytes),
            tun_type: bytes(value(IPVS_DEST_ATTR_TUN_TYPE)).map(u8::from_ne_bytes),
            tun_port: bytes(value(IPVS_DEST_ATTR_TUN_PORT)).map(u16::from_be_bytes),
            tun_flags: bytes(value(IPVS_DEST_ATTR_TUN_FLAGS)).map(u16::from_ne_bytes),
            stats,
        }
    }

    /// The reply as every listing of kernels 5.2 to 6.x sends it (`DEST_LAYOUT`, then nothing
    /// but the statistics nests), each value read from its place: no slot per kind, no walk
    /// but of the two nests. `None` for any other reply, which [`DestReply::parse_with`] walks
    /// (the same values and the same errors: held to it by the fuzzing of `parse_with`).
    /// About 190 instructions a destination fewer (`examples/decode_cost`).
    #[inline(always)]
    fn from_known_places(nest: &[u8], nests: Nests) -> Option<Result<Self, DecodeError>> {
        const END: usize = DEST_LAYOUT.end();
        let prefix: &[u8; END] = nest.get(..END)?.try_into().ok()?;
        if !DEST_LAYOUT.starts(prefix) {
            return None;
        }
        let (narrow, wide) = only_stats_nests(
            nest.get(END..)?,
            &DEST,
            IPVS_DEST_ATTR_STATS,
            IPVS_DEST_ATTR_STATS64,
        )?;
        // The layout's lengths are its readers' (the_layouts_hold_only_values_their_readers_take),
        // so each value is there, whole; the constant places make these reads check-free.
        let value = |kind| DEST_LAYOUT.value_in(prefix, kind);
        Some(pick_stats(nests, narrow, wide).map(|stats| Self::from_values(value, stats)))
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

#[cfg(test)]
mod tests {
    //! The flat decoders against a plain reference: the attribute enums' own readers over
    //! netlink-packet-core's `NlasIterator`, one attribute at a time in the nest's order (what
    //! the flat decoders did before they gathered their values by number). Both must accept
    //! the same nests, give the same values, and refuse a damaged value with the same error.

    use netlink_packet_core::{NlasIterator, Parseable};

    use super::*;
    use crate::attr::kind;
    use crate::fuzz_tests::fuzz;
    use crate::stats::parse_stats;

    /// Why the reference refused a nest: its framing (whose words differ between the two
    /// walks), or a value, with its reader's error.
    #[derive(Debug, PartialEq)]
    enum Refused {
        Framing,
        Value(String),
    }

    fn value(e: DecodeError) -> Refused {
        Refused::Value(e.to_string())
    }

    /// The counters of the nest that `nests` reads, as the enums decode it.
    fn reference_stats(
        nests: Nests,
        narrow: Option<&[u8]>,
        wide: Option<&[u8]>,
    ) -> Result<Option<Counters>, Refused> {
        if nests == Nests::WithoutStats {
            return Ok(None);
        }
        let (nest, width) = match (wide, narrow) {
            (Some(w), _) => (w, StatsWidth::Wide),
            (None, Some(n)) => (n, StatsWidth::Narrow),
            (None, None) => return Ok(None),
        };
        for nla in NlasIterator::new(nest) {
            nla.map_err(|_| Refused::Framing)?;
        }
        let attrs = parse_stats(nest, width).map_err(value)?;
        Ok(Some(Counters::from_attrs(&attrs)))
    }

    fn reference_dest(nest: &[u8], nests: Nests) -> Result<DestReply, Refused> {
        let (mut attrs, mut narrow, mut wide) = (Vec::new(), None, None);
        for nla in NlasIterator::new(nest) {
            let nla = nla.map_err(|_| Refused::Framing)?;
            match kind(&nla) {
                IPVS_DEST_ATTR_STATS => narrow = Some(nla.value().to_vec()),
                IPVS_DEST_ATTR_STATS64 => wide = Some(nla.value().to_vec()),
                _ => attrs.push(DestAttr::parse(&nla).map_err(value)?),
            }
        }
        let mut d = DestReply::from_attrs(&attrs);
        d.stats = reference_stats(nests, narrow.as_deref(), wide.as_deref())?;
        Ok(d)
    }

    fn reference_service(nest: &[u8], nests: Nests) -> Result<ServiceReply<'static>, Refused> {
        let (mut attrs, mut narrow, mut wide) = (Vec::new(), None, None);
        for nla in NlasIterator::new(nest) {
            let nla = nla.map_err(|_| Refused::Framing)?;
            match kind(&nla) {
                IPVS_SVC_ATTR_STATS => narrow = Some(nla.value().to_vec()),
                IPVS_SVC_ATTR_STATS64 => wide = Some(nla.value().to_vec()),
                _ => attrs.push(ServiceAttr::parse(&nla).map_err(value)?),
            }
        }
        let stats = reference_stats(nests, narrow.as_deref(), wide.as_deref())?;
        // The list's names leaked, to outlive it (compared by their text).
        let attrs: &'static [ServiceAttr] = Vec::leak(attrs);
        Ok(ServiceReply {
            stats,
            ..ServiceReply::from_attrs(attrs)
        })
    }

    /// The flat decoder's answer against the reference's: the same values, or both refused,
    /// with the same error when a value was refused. Returns whether the nest was accepted.
    fn agree<T: PartialEq + std::fmt::Debug>(
        flat: Result<T, DecodeError>,
        reference: Result<T, Refused>,
        nest: &[u8],
    ) -> bool {
        match (flat, reference) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{nest:?}");
                true
            }
            (Err(_), Err(Refused::Framing)) => false,
            (Err(a), Err(Refused::Value(b))) => {
                assert_eq!(a.to_string(), b, "{nest:?}");
                false
            }
            (a, b) => panic!("{nest:?}: flat {a:?}, reference {b:?}"),
        }
    }

    fn check_dest(nest: &[u8]) -> bool {
        let mut ok = false;
        for nests in [Nests::WithStats, Nests::WithoutStats] {
            ok |= agree(
                DestReply::parse_with(nest, nests),
                reference_dest(nest, nests),
                nest,
            );
        }
        ok
    }

    fn check_service(nest: &[u8]) -> bool {
        let mut ok = false;
        for nests in [Nests::WithStats, Nests::WithoutStats] {
            ok |= agree(
                ServiceReply::parse_with(nest, nests),
                reference_service(nest, nests),
                nest,
            );
        }
        ok
    }

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        a.resize((a.len() + 3) & !3, 0);
        a
    }

    /// A nest of good values around `middle`.
    fn around(first: &[u8], middle: &[u8], last: &[u8]) -> Vec<u8> {
        [first, middle, last].concat()
    }

    #[test]
    fn every_kind_at_every_length_is_taken_or_refused_as_its_reader_does() {
        // Every attribute number of both nests (and past them), each with values of 0 to 20
        // bytes and of 255 and 1,000, between good values: what the reader of that number takes
        // is taken with the same value, the rest refused with the reader's own error.
        let bytes: Vec<u8> = (0..1000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let (mut taken, mut refused) = (0, 0);
        let lengths = (0..=20).chain([255, 1000]);
        for len in lengths {
            let v = &bytes[..len];
            for k in 0..20u16 {
                let first = attr(IPVS_DEST_ATTR_WEIGHT, &7u32.to_ne_bytes());
                let last = attr(IPVS_DEST_ATTR_PORT, &80u16.to_be_bytes());
                let nest = around(&first, &attr(k, v), &last);
                if check_dest(&nest) {
                    taken += 1;
                } else {
                    refused += 1;
                }
                let first = attr(IPVS_SVC_ATTR_AF, &2u16.to_ne_bytes());
                let nest = around(&first, &attr(k, v), &last);
                if check_service(&nest) {
                    taken += 1;
                } else {
                    refused += 1;
                }
            }
        }
        assert!(
            taken > 100 && refused > 100,
            "{taken} taken, {refused} refused"
        );
    }

    #[test]
    fn names_are_checked_for_their_length_text_and_nul() {
        for name in [
            &b"wrr\0"[..],
            b"wrr",
            b"",
            b"\0",
            b"wr\0xyz\0",
            b"0123456789abcde\0",
            b"0123456789abcdef",
            b"0123456789abcdef\0",
            b"\xff\xfe\0",
            b"ok\0\xff",
        ] {
            for k in [IPVS_SVC_ATTR_SCHED_NAME, IPVS_SVC_ATTR_PE_NAME] {
                check_service(&attr(k, name));
            }
        }
        let nest = attr(IPVS_SVC_ATTR_SCHED_NAME, b"0123456789abcdef\0");
        let err = ServiceReply::parse(&nest)
            .expect_err("17 bytes")
            .to_string();
        assert!(err.contains("IPVS_SVC_ATTR_SCHED_NAME"), "{err}");
        let nest = attr(IPVS_SVC_ATTR_SCHED_NAME, b"wr\0xyz\0");
        assert_eq!(ServiceReply::parse(&nest).unwrap().sched_name, Some("wr"));
    }

    #[test]
    fn the_first_damaged_value_is_the_error_even_when_a_later_one_replaces_it() {
        let bad_weight = attr(IPVS_DEST_ATTR_WEIGHT, &[1, 2, 3]);
        let good_weight = attr(IPVS_DEST_ATTR_WEIGHT, &[1, 0, 0, 0]);
        let bad_port = attr(IPVS_DEST_ATTR_PORT, &[1, 2, 3]);
        // A damaged weight, then a good one: still refused (the readers refuse it in order).
        let nest = [bad_weight.clone(), good_weight.clone()].concat();
        assert!(!check_dest(&nest));
        let err = DestReply::parse(&nest).unwrap_err().to_string();
        assert!(err.starts_with("IPVS_DEST_ATTR_WEIGHT"), "{err}");
        // Two damaged values: the first one in the nest is the one named.
        let nest = [bad_port.clone(), bad_weight.clone()].concat();
        let err = DestReply::parse(&nest).unwrap_err().to_string();
        assert!(err.starts_with("IPVS_DEST_ATTR_PORT"), "{err}");
        let nest = [bad_weight, bad_port].concat();
        let err = DestReply::parse(&nest).unwrap_err().to_string();
        assert!(err.starts_with("IPVS_DEST_ATTR_WEIGHT"), "{err}");
        // The last good value of a number wins.
        let nest = [attr(IPVS_DEST_ATTR_WEIGHT, &[2, 0, 0, 0]), good_weight].concat();
        assert_eq!(DestReply::parse(&nest).unwrap().weight, Some(1));
        // A damaged value after a damaged framing is not reached: the framing is the error.
        let nest = [vec![3, 0, 1, 0], attr(IPVS_DEST_ATTR_PORT, &[1])].concat();
        let err = DestReply::parse(&nest).unwrap_err().to_string();
        assert!(err.starts_with("malformed destination attribute"), "{err}");
    }

    #[test]
    fn unknown_numbers_flags_and_padding_are_tolerated() {
        // An unknown number of any length (past the nest's numbers, and 0), the nested and
        // byte-order flag bits on a known one, the statistics' padding and a newer counter.
        let weight = {
            let mut a = attr(IPVS_DEST_ATTR_WEIGHT, &9u32.to_ne_bytes());
            a[3] |= 0xc0;
            a
        };
        let nest = [
            attr(0, &[1, 2, 3]),
            attr(16, &[]),
            attr(200, &[0; 33]),
            weight,
            attr(0x3fff, &[1]),
        ]
        .concat();
        assert!(check_dest(&nest));
        assert_eq!(DestReply::parse(&nest).unwrap().weight, Some(9));
        let stats = [
            attr(IPVS_STATS_ATTR_CONNS, &5u64.to_ne_bytes()),
            attr(IPVS_STATS_ATTR_PAD, &[]),
            attr(12, &[1, 2, 3]),
        ]
        .concat();
        let c = Counters::parse(&stats, StatsWidth::Wide).unwrap();
        assert_eq!(c.conns, 5);
        assert!(Counters::parse(&stats, StatsWidth::Narrow).is_err());
    }

    #[test]
    fn truncated_and_oversized_attributes_are_errors() {
        let good = attr(IPVS_DEST_ATTR_PORT, &80u16.to_be_bytes());
        for cut in 0..good.len() {
            let nest = [&good[..], &good[..cut]].concat();
            let r = DestReply::parse(&nest);
            // A cut header, or a length past the end: errors; a whole attribute cut only in
            // its padding is the kernel's last attribute and is read.
            assert_eq!(r.is_ok(), cut == 0 || cut >= 6, "cut at {cut}: {r:?}");
            check_dest(&nest);
        }
        // Lengths under the header and past the nest.
        for len in [0u16, 1, 3, 13, 0xffff] {
            let mut nest = good.clone();
            nest.extend_from_slice(&len.to_ne_bytes());
            nest.extend_from_slice(&IPVS_DEST_ATTR_WEIGHT.to_ne_bytes());
            nest.extend_from_slice(&[0; 4]);
            assert!(DestReply::parse(&nest).is_err(), "length {len}");
            assert!(!check_dest(&nest));
        }
    }

    fn nest_seeds(kind: u16) -> Vec<Vec<u8>> {
        let payloads: Vec<Vec<u8>> = crate::fuzz_tests::messages()
            .into_iter()
            .filter(|(name, _, m)| m.len() > 20 && !name.starts_with("ctrl_"))
            .map(|(_, _, m)| m[16..].to_vec())
            .collect();
        let mut out = Vec::new();
        for p in &payloads {
            if let Ok(Some(n)) = top_level_nest(p, kind) {
                out.push(n.to_vec());
            }
        }
        out.sort();
        out.dedup();
        assert!(out.len() > 5, "{} seeds", out.len());
        out
    }

    /// A prefix taken from its known places must hold only values the walk would take: each
    /// layout's kinds are in its schema, fixed-size and of a length their readers take.
    #[test]
    fn the_layouts_hold_only_values_their_readers_take() {
        assert_eq!(DEST_LAYOUT.unsound_with(&DEST), None);
        assert_eq!(SERVICE_LAYOUT.unsound_with(&SERVICE), None);
        assert_eq!(FWMARK_LAYOUT.unsound_with(&SERVICE), None);
        assert_eq!(SERVICE_TAIL.unsound_with(&SERVICE), None);
        // SERVICE_STATS holds nests the walk does not look into (any value fits), read only
        // as `pick_stats` reads the walk's.
        assert!(SERVICE_STATS.unsound_with(&SERVICE).is_some());
        for kind in [IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64] {
            assert_eq!(SERVICE[usize::from(kind)].shape, Shape::Any);
        }
        assert_eq!(WIDE_STATS_LAYOUT.unsound_with(&WIDE_STATS), None);
        // What they must refuse: a string, a kind the schema does not look into, a length
        // other than the reader's.
        let name = Layout::new([(IPVS_SVC_ATTR_SCHED_NAME, 4)]);
        assert!(name.unsound_with(&SERVICE).is_some());
        let stats = Layout::new([(IPVS_DEST_ATTR_STATS64, 120)]);
        assert!(stats.unsound_with(&DEST).is_some());
        let short = Layout::new([(IPVS_DEST_ATTR_WEIGHT, 2)]);
        assert!(short.unsound_with(&DEST).is_some());
        let narrow = Layout::new([(IPVS_STATS_ATTR_CONNS, 8)]);
        assert!(narrow.unsound_with(&NARROW_STATS).is_some());
    }

    /// The kernel's own replies (kernel 6.1, captured: `tests/fixtures`) start as the layouts
    /// say, so a listing takes the known places; and they decode as the reference does.
    #[test]
    fn the_kernels_replies_take_the_known_layouts() {
        let (mut dests, mut stats, mut services) = (0, 0, 0);
        for nest in nest_seeds(IPVS_CMD_ATTR_DEST) {
            // The seeds include the requests' nests (no counters, another order).
            if nest.len() < 200 {
                continue;
            }
            assert!(DEST_LAYOUT.starts(&nest), "{nest:02x?}");
            // Read from the known places, not walked.
            for nests in [Nests::WithStats, Nests::WithoutStats] {
                let known = DestReply::from_known_places(&nest, nests).expect("known places");
                let reference = reference_dest(&nest, nests).expect("the reference decodes it");
                assert_eq!(known.ok(), Some(reference), "{nest:02x?}");
            }
            assert!(check_dest(&nest));
            let wide = Attrs::new(&nest)
                .map(Result::unwrap)
                .find(|(k, _)| *k == IPVS_DEST_ATTR_STATS64)
                .expect("a 64-bit statistics nest")
                .1;
            assert!(WIDE_STATS_LAYOUT.starts(wide), "{wide:02x?}");
            let enums = parse_stats(wide, StatsWidth::Wide).expect("the enums decode it");
            assert_eq!(
                Counters::from_known_places(wide),
                Some(Counters::from_attrs(&enums)),
                "{wide:02x?}"
            );
            dests += 1;
            stats += 1;
        }
        let (mut marks, mut engines) = (0, 0);
        for nest in nest_seeds(IPVS_CMD_ATTR_SERVICE) {
            let has = |kind| Attrs::new(&nest).any(|a| a.is_ok_and(|(k, _)| k == kind));
            // The seeds include the requests' nests (no counters, ipvsadm's order).
            if !has(IPVS_SVC_ATTR_STATS64) {
                continue;
            }
            let fwmark = has(IPVS_SVC_ATTR_FWMARK);
            if fwmark {
                assert!(FWMARK_LAYOUT.starts(&nest), "{nest:02x?}");
                marks += 1;
            } else {
                assert!(SERVICE_LAYOUT.starts(&nest), "{nest:02x?}");
            }
            engines += usize::from(has(IPVS_SVC_ATTR_PE_NAME));
            // Read from the known places, the counters' nests where x86_64's kernel puts them,
            // not walked.
            let (known, narrow, wide) =
                ServiceReply::from_known_places(&nest).expect("known places");
            let stats = Attrs::new(&nest)
                .map(Result::unwrap)
                .skip_while(|(k, _)| *k != IPVS_SVC_ATTR_STATS)
                .flat_map(|(k, v)| attr(k, v))
                .collect::<Vec<u8>>();
            assert!(SERVICE_STATS.starts(&stats), "{stats:02x?}");
            assert_eq!(
                (narrow, wide),
                (
                    SERVICE_STATS.value_in(&stats, IPVS_SVC_ATTR_STATS),
                    SERVICE_STATS.value_in(&stats, IPVS_SVC_ATTR_STATS64)
                )
            );
            assert_eq!(known.fwmark.is_some(), fwmark);
            for nests in [Nests::WithStats, Nests::WithoutStats] {
                let parsed = ServiceReply::parse_with(&nest, nests).expect("decodes");
                let reference = reference_service(&nest, nests).expect("the reference decodes it");
                assert_eq!(parsed, reference, "{nest:02x?}");
                assert_eq!(parsed, ServiceReply::walked(&nest, nests).unwrap());
                assert_eq!(
                    ServiceReply {
                        stats: None,
                        ..parsed
                    },
                    known
                );
            }
            assert!(check_service(&nest));
            services += 1;
        }
        assert!(
            dests > 2 && stats > 2 && services > 2 && marks > 0 && engines > 0,
            "{dests} {stats} {services} {marks} {engines}"
        );
    }

    /// A service reply of another shape than the kernel's usual one is walked as before: an
    /// unknown attribute, a duplicate (the later value wins), the names or the counters'
    /// nests out of place, a name that is not one of the kernel's.
    #[test]
    fn a_service_of_another_shape_is_walked() {
        let replies: Vec<Vec<u8>> = nest_seeds(IPVS_CMD_ATTR_SERVICE)
            .into_iter()
            .filter(|n| ServiceReply::from_known_places(n).is_some_and(|(_, _, w)| w.is_some()))
            .collect();
        assert!(replies.len() > 2, "{} replies", replies.len());
        let split = |nest: &[u8]| -> Vec<Vec<u8>> {
            Attrs::new(nest)
                .map(Result::unwrap)
                .map(|(k, v)| attr(k, v))
                .collect()
        };
        let walked = |nest: &[u8], fast: bool| -> ServiceReply<'static> {
            assert_eq!(
                ServiceReply::from_known_places(nest).is_some(),
                fast,
                "{nest:02x?}"
            );
            let nest: &'static [u8] = Vec::leak(nest.to_vec());
            let r = ServiceReply::parse(nest).expect("decodes");
            assert_eq!(r, ServiceReply::walked(nest, Nests::WithStats).unwrap());
            assert!(check_service(nest));
            r
        };
        let timeout = |t: u32| attr(IPVS_SVC_ATTR_TIMEOUT, &t.to_ne_bytes());
        for nest in &replies {
            let attrs = split(nest);
            // An unknown attribute, after the key, among the tail, and at the end.
            for at in [2, attrs.len() - 3, attrs.len()] {
                for unknown in [attr(0, &[1, 2, 3]), attr(13, &[0; 8]), attr(0x3fff, &[])] {
                    let mut a = attrs.clone();
                    a.insert(at, unknown);
                    let r = walked(&a.concat(), false);
                    assert_eq!(r, ServiceReply::parse(nest).unwrap());
                }
            }
            // A second timeout after the counters: the later wins.
            let mut a = attrs.clone();
            a.push(timeout(77));
            assert_eq!(walked(&a.concat(), false).timeout, Some(77));
            // A second scheduler name after the first: the later wins.
            let sched = attrs
                .iter()
                .position(|a| u16::from_ne_bytes([a[2], a[3]]) == IPVS_SVC_ATTR_SCHED_NAME)
                .unwrap();
            let mut a = attrs.clone();
            a.insert(sched + 1, attr(IPVS_SVC_ATTR_SCHED_NAME, b"wlc\0"));
            assert_eq!(walked(&a.concat(), false).sched_name, Some("wlc"));
            // The scheduler's name after the flags.
            let mut a = attrs.clone();
            let name = a.remove(sched);
            a.insert(sched + 1, name);
            assert_eq!(
                walked(&a.concat(), false),
                ServiceReply::parse(nest).unwrap()
            );
            // The counters' nests swapped, or the 32-bit one alone: still the known places.
            let mut a = attrs.clone();
            let n = a.len();
            a.swap(n - 2, n - 1);
            assert_eq!(
                walked(&a.concat(), true),
                ServiceReply::parse(nest).unwrap()
            );
            a.pop();
            walked(&a.concat(), true);
            // A name not of the kernel's, of its length or longer, or not text: the text
            // checked, as the walk checks it.
            for (name, fast) in [
                (&b"abc\0"[..], true),
                (b"wr\0xyz\0", true),
                (b"wrr", true),
                (b"\0", true),
                (b"0123456789abcdef", true),
            ] {
                let mut a = attrs.clone();
                a[sched] = attr(IPVS_SVC_ATTR_SCHED_NAME, name);
                let r = walked(&a.concat(), fast);
                assert_eq!(r.sched_name, str_of(name, IP_VS_SCHEDNAME_MAXLEN, "").ok());
            }
            // Too long, or not text: refused with the walk's error.
            for name in [&b"\xffrr\0"[..], b"0123456789abcdef\0"] {
                let mut a = attrs.clone();
                a[sched] = attr(IPVS_SVC_ATTR_SCHED_NAME, name);
                let a = a.concat();
                assert!(ServiceReply::from_known_places(&a).is_none());
                assert!(!check_service(&a));
                let err = ServiceReply::parse(&a).unwrap_err().to_string();
                assert!(err.starts_with("IPVS_SVC_ATTR_SCHED_NAME"), "{err}");
            }
        }
    }

    /// A reply that starts as the layout says but has more than the statistics after it is
    /// walked, so that a later attribute of a kind in the layout replaces the earlier one.
    #[test]
    fn a_known_prefix_with_more_after_it_is_walked() {
        let nest = nest_seeds(IPVS_CMD_ATTR_DEST)
            .into_iter()
            .find(|n| n.len() >= 200)
            .expect("a kernel destination reply");
        let mut more = nest.clone();
        more.extend(attr(IPVS_DEST_ATTR_WEIGHT, &7u32.to_ne_bytes()));
        assert!(DestReply::from_known_places(&more, Nests::WithStats).is_none());
        let walked = DestReply::parse_with(&more, Nests::WithStats).unwrap();
        assert_eq!(walked.weight, Some(7));
        assert_eq!(Ok(walked), reference_dest(&more, Nests::WithStats));
        assert!(check_dest(&more));
        // A statistics nest cut short is the walk's error too.
        let mut cut = nest.clone();
        cut.truncate(nest.len() - 4);
        assert!(DestReply::from_known_places(&cut, Nests::WithStats).is_none());
        assert!(DestReply::parse_with(&cut, Nests::WithStats).is_err());
    }

    #[test]
    fn fuzz_flat_destinations_against_the_reference() {
        let seeds = nest_seeds(IPVS_CMD_ATTR_DEST);
        let c = fuzz::run("DestReply::parse_with", &seeds, check_dest);
        assert!(c.accepted > 0 && c.accepted < c.execs, "{c:?}");
    }

    #[test]
    fn fuzz_flat_services_against_the_reference() {
        let seeds = nest_seeds(IPVS_CMD_ATTR_SERVICE);
        // Mutations that keep the kernel's shape take the known places (with other values),
        // the rest the walk: both held to the reference.
        let (mut known, mut walked) = (0, 0);
        let c = fuzz::run("ServiceReply::parse_with", &seeds, |nest| {
            match ServiceReply::from_known_places(nest) {
                Some(_) => known += 1,
                None => walked += 1,
            }
            check_service(nest)
        });
        assert!(c.accepted > 0 && c.accepted < c.execs, "{c:?}");
        assert!(
            known > c.execs / 20 && walked > c.execs / 20,
            "{known} {walked} {c:?}"
        );
    }
}
