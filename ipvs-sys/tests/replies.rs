//! The listings' decoders ([`ServiceReply`], [`DestReply`]: straight from the receive buffer,
//! no list per nest) against the attribute enums, on the exact bytes of the fixtures
//! (tests/fixtures/*.nl): both give the same values, the 64-bit statistics win over the 32-bit
//! ones, and a damaged message the enums accept gives the same values in both.

mod common;

use common::CAPTURED_IPVS_FAMILY_ID;
use ipvs_sys::consts::*;
use ipvs_sys::frame::{self, Body};
use ipvs_sys::{
    top_level_nest, Attr, Command, Counters, DefaultNla, DestAttr, DestReply, Emitable,
    IpvsMessage, Nests, ServiceAttr, ServiceReply, StatsAttr,
};

/// Every IPVS data payload of every fixture, both directions, with where it comes from; but
/// `GET_INFO` and its reply, whose top-level attribute numbers mean `IPVS_INFO_ATTR_*`.
fn payloads() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for name in common::names() {
        for (i, (_, msg)) in common::load(&name).messages.iter().enumerate() {
            for f in frame::decode(msg).expect("fixture framing") {
                if let Body::Data(p) = f.body {
                    if f.message_type == CAPTURED_IPVS_FAMILY_ID && !is_info(p) {
                        out.push((format!("{name}: message {i}"), p.to_vec()));
                    }
                }
            }
        }
    }
    out
}

fn is_info(payload: &[u8]) -> bool {
    matches!(
        payload.first().map(|c| Command::from(*c)),
        Some(Command::GetInfo | Command::SetInfo)
    )
}

/// What the flat decoders give for a payload: its service and destination, when it has them.
fn flat(payload: &[u8]) -> (Option<ServiceReply<'_>>, Option<DestReply>) {
    let svc = top_level_nest(payload, IPVS_CMD_ATTR_SERVICE)
        .expect("top level")
        .map(|n| ServiceReply::parse(n).expect("service nest"));
    let dest = top_level_nest(payload, IPVS_CMD_ATTR_DEST)
        .expect("top level")
        .map(|n| DestReply::parse(n).expect("destination nest"));
    (svc, dest)
}

#[test]
fn flat_replies_equal_the_attribute_enums_on_every_fixture_message() {
    let (mut services, mut dests, mut with_stats) = (0, 0, 0);
    for (what, p) in payloads() {
        let m = IpvsMessage::parse(&p).unwrap_or_else(|e| panic!("{what}: {e}"));
        let (svc, dest) = flat(&p);
        assert_eq!(svc, m.service().map(ServiceReply::from_attrs), "{what}");
        assert_eq!(dest, m.dest().map(DestReply::from_attrs), "{what}");
        services += usize::from(svc.is_some());
        dests += usize::from(dest.is_some());
        with_stats += usize::from(dest.is_some_and(|d| d.stats.is_some()));
        with_stats += usize::from(svc.is_some_and(|s| s.stats.is_some()));
    }
    // The captures hold services and destinations of both directions, many with counters.
    assert!(services > 30, "only {services} services");
    assert!(dests > 15, "only {dests} destinations");
    assert!(with_stats > 10, "only {with_stats} with statistics");
}

#[test]
fn the_list_stats_capture_has_traffic_and_the_64_bit_counters_are_the_ones_taken() {
    let mut busy = 0;
    for (what, p) in payloads()
        .into_iter()
        .filter(|(w, _)| w.starts_with("list_stats"))
    {
        let m = IpvsMessage::parse(&p).unwrap();
        let (_, Some(dest)) = flat(&p) else { continue };
        let attrs = m.dest().unwrap();
        let wide = attrs.iter().find_map(|a| match a {
            DestAttr::Stats64(s) => Some(Counters::from_attrs(s)),
            _ => None,
        });
        assert!(wide.is_some(), "{what}: kernel 6.1 sends STATS64");
        assert_eq!(dest.stats, wide, "{what}");
        busy += usize::from(dest.stats.is_some_and(|c| c.conns > 0 && c.in_bytes > 0));
    }
    assert!(
        busy > 0,
        "the capture's traffic shows in some destination's counters"
    );
}

/// A NEW_DEST message with `stats` (32-bit) and, if given, `stats64`, as payload bytes.
fn dest_payload(stats: Vec<StatsAttr>, stats64: Option<Vec<StatsAttr>>) -> Vec<u8> {
    let mut attrs = vec![
        DestAttr::AddrFamily(libc_af_inet()),
        DestAttr::Addr([10, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        DestAttr::Port(8080),
        DestAttr::Weight(3),
        DestAttr::Stats(stats),
    ];
    if let Some(s) = stats64 {
        attrs.push(DestAttr::Stats64(s));
    }
    let msg = IpvsMessage::new(Command::NewDest, vec![Attr::Dest(attrs)]);
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.emit(&mut buf);
    buf
}

fn libc_af_inet() -> u16 {
    2
}

#[test]
fn without_the_64_bit_nest_the_32_bit_counters_are_read() {
    let p = dest_payload(vec![StatsAttr::Conns(7), StatsAttr::InBytes(1 << 40)], None);
    let (_, dest) = flat(&p);
    let c = dest.and_then(|d| d.stats).expect("counters");
    assert_eq!((c.conns, c.in_bytes), (7, 1 << 40));
    assert_eq!(dest.unwrap().weight, Some(3));
}

#[test]
fn a_damaged_32_bit_nest_is_an_error_only_when_it_is_the_one_read() {
    // A 3-byte connection counter: no valid width.
    let bad = vec![StatsAttr::Other(DefaultNla::new(
        IPVS_STATS_ATTR_CONNS,
        vec![1, 2, 3],
    ))];
    let alone = dest_payload(bad.clone(), None);
    let nest = top_level_nest(&alone, IPVS_CMD_ATTR_DEST).unwrap().unwrap();
    let err = DestReply::parse(nest).expect_err("the only counters are damaged");
    assert!(err.to_string().contains("IPVS_STATS_ATTR_CONNS"), "{err}");
    // With the 64-bit nest there, the 32-bit one is never looked into.
    let both = dest_payload(bad, Some(vec![StatsAttr::Conns(9)]));
    let (_, dest) = flat(&both);
    assert_eq!(dest.unwrap().stats.map(|c| c.conns), Some(9));
}

#[test]
fn without_stats_every_other_value_is_the_same_and_the_counters_are_not_looked_into() {
    let mut with_stats = 0;
    for (what, p) in payloads() {
        let (svc, dest) = flat(&p);
        if let Some(n) = top_level_nest(&p, IPVS_CMD_ATTR_SERVICE).unwrap() {
            let bare = ServiceReply::parse_with(n, Nests::WithoutStats).expect("service nest");
            let full = svc.expect("the same nest");
            with_stats += usize::from(full.stats.is_some());
            assert_eq!(bare.stats, None, "{what}");
            assert_eq!(
                bare,
                ServiceReply {
                    stats: None,
                    ..full
                },
                "{what}"
            );
        }
        if let Some(n) = top_level_nest(&p, IPVS_CMD_ATTR_DEST).unwrap() {
            let bare = DestReply::parse_with(n, Nests::WithoutStats).expect("destination nest");
            let full = dest.expect("the same nest");
            with_stats += usize::from(full.stats.is_some());
            assert_eq!(
                bare,
                DestReply {
                    stats: None,
                    ..full
                },
                "{what}"
            );
        }
    }
    assert!(with_stats > 10, "only {with_stats} with statistics");
    // Damaged counters (a 3-byte connection counter) in both nests: an error only when read.
    let bad = vec![StatsAttr::Other(DefaultNla::new(
        IPVS_STATS_ATTR_CONNS,
        vec![1, 2, 3],
    ))];
    let p = dest_payload(bad.clone(), Some(bad));
    let nest = top_level_nest(&p, IPVS_CMD_ATTR_DEST).unwrap().unwrap();
    assert!(DestReply::parse(nest).is_err());
    let bare = DestReply::parse_with(nest, Nests::WithoutStats).expect("counters not read");
    assert_eq!(
        (bare.port, bare.weight, bare.stats),
        (Some(8080), Some(3), None)
    );
}

#[test]
fn damaged_values_are_errors_that_name_the_attribute() {
    let msg = IpvsMessage::new(
        Command::NewService,
        vec![Attr::Service(vec![
            ServiceAttr::Af(2),
            ServiceAttr::Other(DefaultNla::new(IPVS_SVC_ATTR_PORT, vec![0, 80, 0])),
        ])],
    );
    let mut p = vec![0u8; msg.buffer_len()];
    msg.emit(&mut p);
    let nest = top_level_nest(&p, IPVS_CMD_ATTR_SERVICE).unwrap().unwrap();
    let err = ServiceReply::parse(nest).expect_err("a 3-byte port");
    assert!(err.to_string().contains("IPVS_SVC_ATTR_PORT"), "{err}");
    assert!(IpvsMessage::parse(&p).is_err(), "the enums reject it too");
    // A nest cut short: the attribute framing fails, no panic.
    for cut in 0..p.len() {
        if let Ok(Some(n)) = top_level_nest(&p[..cut], IPVS_CMD_ATTR_SERVICE) {
            let _ = ServiceReply::parse(n);
        }
    }
    assert!(top_level_nest(&p[..3], IPVS_CMD_ATTR_SERVICE).is_err());
}

#[test]
fn damaged_fixtures_the_enums_accept_give_the_same_values() {
    // Flip bytes of real replies; whenever the enum decoder still accepts the message, the flat
    // decoders accept it too and agree (the reverse need not hold: they skip the 32-bit nest).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let all = payloads();
    let mut agreed = 0;
    for _ in 0..20_000 {
        let (what, p) = &all[(next() % all.len() as u64) as usize];
        let mut p = p.clone();
        let i = (next() % p.len() as u64) as usize;
        p[i] ^= 1 << (next() % 8);
        let Ok(m) = IpvsMessage::parse(&p) else {
            continue;
        };
        if is_info(&p) {
            continue;
        }
        let (svc, dest) = flat(&p);
        assert_eq!(
            svc,
            m.service().map(ServiceReply::from_attrs),
            "{what} byte {i}"
        );
        assert_eq!(dest, m.dest().map(DestReply::from_attrs), "{what} byte {i}");
        agreed += 1;
    }
    assert!(
        agreed > 5_000,
        "only {agreed} damaged messages still decoded"
    );
}
