//! Fuzzing of the library layer that turns decoded replies into typed objects: services,
//! destinations (a whole listing: [`ipvs::replay::state`]), sync daemons, and the connection
//! table's text (`/proc/net/ip_vs_conn`). The inputs are mutations of the golden captures
//! (ipvs-sys's `tests/common/fuzz.rs`); whatever decodes must convert to an object or a clean
//! error, never a panic or an endless loop.
#![forbid(unsafe_code)]

// In the workspace's unpublished tests crate: it reads the captures of ipvs-sys and ipvsctl.
#[path = "../../ipvs-sys/tests/common/fuzz.rs"]
mod fuzz;

use std::path::Path;

use ipvs_sys::frame::{self, Body};
use ipvs_sys::IpvsMessage;

fn messages() -> Vec<(String, fuzz::From, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    fuzz::fixture_messages(&[
        &root.join("ipvs-sys/tests/fixtures"),
        &root.join("ipvsctl/tests/fixtures/listings"),
    ])
}

/// Each capture's messages, both directions, in order, as one input (a listing's requests name
/// the service whose destinations follow).
fn captures() -> Vec<Vec<u8>> {
    let mut by_file: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, _, m) in messages() {
        match by_file.last_mut() {
            Some((n, d)) if *n == name => {
                d.resize((d.len() + 3) & !3, 0);
                d.extend_from_slice(&m);
            }
            _ => by_file.push((name, m)),
        }
    }
    by_file.into_iter().map(|(_, d)| d).collect()
}

/// The IPVS messages of an input that decode (the others are ipvs-sys's clean errors).
fn decoded(input: &[u8]) -> Vec<IpvsMessage> {
    let Ok(frames) = frame::decode(input) else {
        return Vec::new();
    };
    frames
        .into_iter()
        .filter_map(|f| match f.body {
            Body::Data(p) if f.message_type >= 0x10 => IpvsMessage::parse(p).ok(),
            _ => None,
        })
        .collect()
}

#[test]
fn fuzz_listings_into_services_and_destinations() {
    let seeds = captures();
    let (mut services, mut destinations) = (0, 0);
    let c = fuzz::run("ipvs::replay::state", &seeds, |input| {
        let msgs = decoded(input);
        for m in &msgs {
            let _ = ipvs::replay::service(m);
        }
        match ipvs::replay::state(&msgs) {
            Ok(table) => {
                services += table.len();
                destinations += table.iter().map(|v| v.destinations.len()).sum::<usize>();
                true
            }
            Err(_) => false,
        }
    });
    assert!(c.accepted > 0 && c.accepted < c.execs, "{c:?}");
    assert!(
        services > 0 && destinations > 0,
        "{services} services, {destinations} destinations"
    );
}

#[test]
fn fuzz_daemon_replies() {
    let seeds = captures();
    let mut daemons = 0;
    let c = fuzz::run("ipvs::replay::daemon", &seeds, |input| {
        let mut ok = false;
        for m in decoded(input) {
            if let Some(Ok(_)) = ipvs::replay::daemon(&m) {
                daemons += 1;
                ok = true;
            }
        }
        ok
    });
    assert!(c.accepted > 0 && c.accepted < c.execs, "{c:?}");
    assert!(daemons > 0);
}

#[test]
fn fuzz_connection_table_text() {
    // What /proc/net/ip_vs_conn holds: a header, IPv4 and IPv6 lines, a persistence engine's.
    let seeds: Vec<Vec<u8>> = [
        "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n\
         TCP 0A000002 9C40 0A000164 0050 0A010001 0050 ESTABLISHED     899\n\
         UDP 0A000002 A000 0A000164 0035 0A010002 0035 UDP             299\n",
        "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n\
         TCP 20010DB8000000000000000000000002 C350 20010DB8000000000000000000000100 0050 \
         20010DB8000000000000000000010001 0050 SYN_RECV 59\n",
        "UDP 0A000002 13C4 0A000164 13C4 0A010001 13C4 UDP 179 sip 3132333435\n\
         TCP 0A000003 0001 0A000164 0000 0A010003 0000 NONE 360\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let mut conns = 0;
    let c = fuzz::run("ipvs::conn::parse_connections", &seeds, |input| {
        match ipvs::conn::parse_connections(&String::from_utf8_lossy(input)) {
            Ok(c) => {
                conns += c.len();
                true
            }
            Err(_) => false,
        }
    });
    assert!(c.accepted > 0 && c.accepted < c.execs, "{c:?}");
    assert!(conns > 0);
}
