//! Fuzzing of every decoder of this crate (see `tests/common/fuzz.rs`): mutations of the golden
//! fixtures' bytes go to the datagram splitter (with errors and extended ACKs), the whole IPVS
//! message, the service, destination, daemon and statistics nests, the info and timeout
//! attributes and the generic-netlink family reply. None may panic or loop; a message that
//! decodes must encode to bytes that decode to the same message. The dump and request
//! conversation over mutated replies is fuzzed in `socket/fuzz.rs`.

use std::path::Path;

use netlink_packet_core::{Emitable, Parseable, NLMSG_ERROR, NLM_F_ACK_TLVS, NLM_F_CAPPED};

use crate::attr::parse_nested;
use crate::consts::*;
use crate::frame::{self, Body, NLMSG_HDRLEN};
use crate::stats::{parse_stats, StatsWidth};
use crate::{parse_family_id, DaemonAttr, DestAttr, IpvsMessage, ServiceAttr};

#[path = "../tests/common/fuzz.rs"]
pub(crate) mod fuzz;

use fuzz::From;

/// Every message of the fixtures, whole.
pub(crate) fn messages() -> Vec<(String, From, Vec<u8>)> {
    // This crate's captures only (the listings' second capture lives with ipvsctl, which reads
    // it; the workspace's tests/tests/fuzz_replies.rs fuzzes with both).
    fuzz::fixture_messages(&[&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")])
}

/// The attributes of `payload` as (type without flag bits, value), read by hand so that the
/// seeds do not depend on the decoders under test.
fn raw_attrs(mut payload: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while payload.len() >= 4 {
        let len = u16::from_ne_bytes([payload[0], payload[1]]) as usize;
        let kind = u16::from_ne_bytes([payload[2], payload[3]]) & 0x3fff;
        if len < 4 || len > payload.len() {
            break;
        }
        out.push((kind, &payload[4..len]));
        payload = &payload[((len + 3) & !3).min(payload.len())..];
    }
    out
}

/// The genl payloads (after the netlink header) of the messages of the IPVS family.
fn ipvs_payloads(all: &[(String, From, Vec<u8>)]) -> Vec<Vec<u8>> {
    all.iter()
        .filter(|(name, _, m)| {
            m.len() > NLMSG_HDRLEN + 4
                && u16::from_ne_bytes([m[4], m[5]]) >= 0x10
                && !name.starts_with("ctrl_")
        })
        .map(|(_, _, m)| m[NLMSG_HDRLEN..].to_vec())
        .collect()
}

/// The values of top-level attribute `kind` in the payloads.
fn nests(payloads: &[Vec<u8>], kind: u16) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = payloads
        .iter()
        .flat_map(|p| raw_attrs(&p[4..]))
        .filter(|(k, _)| *k == kind)
        .map(|(_, v)| v.to_vec())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The statistics nests inside service and destination nests.
fn stats_nests(payloads: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [IPVS_CMD_ATTR_SERVICE, IPVS_CMD_ATTR_DEST]
        .iter()
        .flat_map(|&k| nests(payloads, k))
        .flat_map(|n| {
            raw_attrs(&n)
                .into_iter()
                .filter(|(k, _)| *k == IPVS_SVC_ATTR_STATS || *k == IPVS_SVC_ATTR_STATS64)
                .map(|(_, v)| v.to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A message that decodes encodes to bytes that decode, and encode again to the same bytes
/// (the first encoding may normalise: an unknown attribute loses its byte-order flag bit).
fn round_trips(msg: &IpvsMessage) {
    let encode = |m: &IpvsMessage| {
        let mut buf = vec![0; m.buffer_len()];
        m.emit(&mut buf);
        buf
    };
    let once = encode(msg);
    let again = IpvsMessage::parse(&once).expect("what we encode decodes");
    assert_eq!(encode(&again), once, "{msg:?} does not encode stably");
}

/// Both the run's executions and its two outcomes: a target that never accepts (or never
/// refuses) what the mutator makes is not being fuzzed.
fn check(c: fuzz::Count) {
    assert!(c.accepted > 0, "{c:?}: nothing accepted");
    assert!(c.accepted < c.execs, "{c:?}: nothing refused");
}

#[test]
fn fuzz_whole_datagrams() {
    let all = messages();
    // One message a datagram, and every reply of one capture in one datagram (a dump chunk).
    let mut seeds: Vec<Vec<u8>> = all.iter().map(|(_, _, m)| m.clone()).collect();
    let mut by_file: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, from, m) in &all {
        if *from == From::Kernel {
            match by_file.last_mut() {
                Some((n, d)) if n == name => {
                    d.resize((d.len() + 3) & !3, 0);
                    d.extend_from_slice(m);
                }
                _ => by_file.push((name.clone(), m.clone())),
            }
        }
    }
    seeds.extend(by_file.into_iter().map(|(_, d)| d));
    check(fuzz::run(
        "frame::decode + IpvsMessage::parse",
        &seeds,
        |bytes| {
            let Ok(frames) = frame::decode(bytes) else {
                return false;
            };
            for f in frames {
                if let Body::Data(p) = f.body {
                    if let Ok(msg) = IpvsMessage::parse(p) {
                        round_trips(&msg);
                    }
                }
            }
            true
        },
    ));
}

/// An NLMSG_ERROR with the kernel's extended ACK: the code, the echoed request (whole, or its
/// header when capped) and an NLMSGERR_ATTR_MSG text.
fn ext_ack(echoed: &[u8], capped: bool, text: &str) -> Vec<u8> {
    let echoed = if capped {
        &echoed[..NLMSG_HDRLEN]
    } else {
        echoed
    };
    let mut body = (-libc::EINVAL).to_ne_bytes().to_vec();
    body.extend_from_slice(echoed);
    body.resize((body.len() + 3) & !3, 0);
    let mut value = text.as_bytes().to_vec();
    value.push(0);
    body.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    body.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
    body.extend_from_slice(&value);
    body.resize((body.len() + 3) & !3, 0);
    let mut flags = NLM_F_ACK_TLVS;
    if capped {
        flags |= NLM_F_CAPPED;
    }
    let mut m = ((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes().to_vec();
    m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&body);
    m
}

#[test]
fn fuzz_errors_and_extended_acks() {
    let all = messages();
    let mut seeds: Vec<Vec<u8>> = all
        .iter()
        .filter(|(_, _, m)| m.len() >= 6 && u16::from_ne_bytes([m[4], m[5]]) == NLMSG_ERROR)
        .map(|(_, _, m)| m.clone())
        .collect();
    let requests: Vec<&Vec<u8>> = all
        .iter()
        .filter(|(_, f, _)| *f == From::User)
        .map(|(_, _, m)| m)
        .collect();
    for (i, r) in requests.iter().enumerate().take(12) {
        seeds.push(ext_ack(r, i % 2 == 0, "Invalid argument in attribute"));
    }
    assert!(seeds.len() > 20);
    let mut texts = 0;
    check(fuzz::run(
        "frame::decode errors and ext-ack",
        &seeds,
        |bytes| {
            let Ok(frames) = frame::decode(bytes) else {
                return false;
            };
            for f in frames {
                if let Body::Error { ext_ack, .. } = f.body {
                    texts += usize::from(ext_ack.is_some());
                }
            }
            true
        },
    ));
    assert!(texts > 0, "no extended ACK text was ever decoded");
}

/// The split of a datagram as it was made with netlink-packet-core's `NetlinkBuffer` reading
/// each header (before `frame::frames` read the fields itself): the reference.
fn reference_split(mut buf: &[u8]) -> Result<Vec<(u16, u16, u32, Body<'_>)>, String> {
    use netlink_packet_core::{NetlinkBuffer, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN};
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HDRLEN {
        let nl = NetlinkBuffer::new_checked(buf).map_err(|e| format!("bad netlink header: {e}"))?;
        let len = nl.length() as usize;
        let payload = &buf[NLMSG_HDRLEN..len];
        let (t, flags) = (nl.message_type(), nl.flags());
        let body = match t {
            NLMSG_ERROR => match frame::decode(&buf[..len]) {
                Ok(mut f) => f.remove(0).body,
                Err(e) => return Err(e.to_string()),
            },
            // Neither the DONE nor the error body's reader is what changed.
            NLMSG_DONE => Body::Done {
                errno: frame::done_errno(payload),
            },
            NLMSG_NOOP | NLMSG_OVERRUN => Body::Noop,
            _ => Body::Data(payload),
        };
        out.push((t, flags, nl.sequence_number(), body));
        let step = (len + 3) & !3;
        buf = if step >= buf.len() { &[] } else { &buf[step..] };
    }
    if !buf.is_empty() {
        return Err(format!(
            "{} trailing bytes after the last netlink message",
            buf.len()
        ));
    }
    Ok(out)
}

#[test]
fn fuzz_frames_against_the_reference_split() {
    let all = messages();
    let mut seeds: Vec<Vec<u8>> = all.iter().map(|(_, _, m)| m.clone()).collect();
    // Two and three messages a datagram, the last one's padding cut or kept.
    for w in all.windows(3) {
        let mut d = w[0].2.clone();
        d.resize((d.len() + 3) & !3, 0);
        d.extend_from_slice(&w[1].2);
        seeds.push(d.clone());
        d.resize((d.len() + 3) & !3, 0);
        d.extend_from_slice(&w[2].2);
        seeds.push(d);
    }
    check(fuzz::run(
        "frame::frames against the reference split",
        &seeds,
        |bytes| {
            let ours = frame::decode(bytes)
                .map(|v| {
                    v.into_iter()
                        .map(|f| (f.message_type, f.flags, f.seq, f.body))
                        .collect::<Vec<_>>()
                })
                .map_err(|e| e.to_string());
            let reference = reference_split(bytes);
            assert_eq!(ours, reference, "{bytes:02x?}");
            // The iterator stops at its first error, and gives what decode gives before it.
            let mut it = frame::frames(bytes);
            let given: Vec<_> = it.by_ref().take_while(Result::is_ok).collect();
            assert!(it.next().is_none());
            if let Ok(all) = &ours {
                assert_eq!(given.len(), all.len());
            }
            ours.is_ok()
        },
    ));
}

#[test]
fn fuzz_ipvs_messages() {
    let seeds = ipvs_payloads(&messages());
    check(fuzz::run("IpvsMessage::parse", &seeds, |p| {
        IpvsMessage::parse(p).map(|m| round_trips(&m)).is_ok()
    }));
}

#[test]
fn fuzz_service_nests() {
    let seeds = nests(&ipvs_payloads(&messages()), IPVS_CMD_ATTR_SERVICE);
    check(fuzz::run("ServiceAttr::parse", &seeds, |v| {
        parse_nested(v, "service", |n| ServiceAttr::parse(n)).is_ok()
    }));
}

#[test]
fn fuzz_destination_nests() {
    let seeds = nests(&ipvs_payloads(&messages()), IPVS_CMD_ATTR_DEST);
    check(fuzz::run("DestAttr::parse", &seeds, |v| {
        parse_nested(v, "destination", |n| DestAttr::parse(n)).is_ok()
    }));
}

#[test]
fn fuzz_daemon_nests() {
    let seeds = nests(&ipvs_payloads(&messages()), IPVS_CMD_ATTR_DAEMON);
    check(fuzz::run("DaemonAttr::parse", &seeds, |v| {
        parse_nested(v, "daemon", |n| DaemonAttr::parse(n)).is_ok()
    }));
}

#[test]
fn fuzz_stats_nests() {
    let seeds = stats_nests(&ipvs_payloads(&messages()));
    check(fuzz::run("StatsAttr::parse", &seeds, |v| {
        let narrow = parse_stats(v, StatsWidth::Narrow).is_ok();
        parse_stats(v, StatsWidth::Wide).is_ok() || narrow
    }));
}

/// Payloads read as the answer to `cmd`: the fixtures' payloads with their command byte set,
/// and `extra` (hand-made ones).
fn as_command(cmd: u8, extra: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut seeds = extra;
    for mut p in ipvs_payloads(&messages()) {
        p[0] = cmd;
        seeds.push(p);
    }
    seeds
}

#[test]
fn fuzz_info_replies() {
    let info = IpvsMessage::new(
        crate::Command::GetInfo,
        vec![
            crate::Attr::Info(crate::InfoAttr::Version(0x010201)),
            crate::Attr::Info(crate::InfoAttr::ConnTabSize(4096)),
        ],
    );
    let mut buf = vec![0; info.buffer_len()];
    info.emit(&mut buf);
    let seeds = as_command(IPVS_CMD_GET_INFO, vec![buf]);
    check(fuzz::run("IpvsMessage::parse as GET_INFO", &seeds, |p| {
        IpvsMessage::parse(p).map(|m| round_trips(&m)).is_ok()
    }));
}

#[test]
fn fuzz_timeout_replies() {
    let seeds = as_command(IPVS_CMD_GET_CONFIG, Vec::new());
    let timeouts = seeds
        .iter()
        .filter(|p| {
            raw_attrs(&p[4..])
                .iter()
                .any(|(k, _)| *k == IPVS_CMD_ATTR_TIMEOUT_TCP)
        })
        .count();
    assert!(timeouts > 0, "no fixture carries timeouts");
    check(fuzz::run("IpvsMessage::parse as GET_CONFIG", &seeds, |p| {
        IpvsMessage::parse(p).map(|m| round_trips(&m)).is_ok()
    }));
}

#[test]
fn fuzz_family_replies() {
    let seeds: Vec<Vec<u8>> = messages()
        .into_iter()
        .filter(|(name, from, m)| {
            name.starts_with("ctrl_") && *from == From::Kernel && m.len() > NLMSG_HDRLEN + 4
        })
        .map(|(_, _, m)| m[NLMSG_HDRLEN..].to_vec())
        .collect();
    check(fuzz::run("parse_family_id", &seeds, |p| {
        parse_family_id(p).is_ok()
    }));
}
