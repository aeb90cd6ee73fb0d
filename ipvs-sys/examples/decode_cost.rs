//! The cost of decoding a listing's destination replies, without a kernel: 20,000 `NEW_DEST`
//! payloads as the kernel 6.1 sends them (both statistics nests, in its order: the address
//! family before them, as `tests/fixtures/list.nl` shows), decoded by the attribute
//! enums (`IpvsMessage::parse`) and by the listings' flat decoder (`DestReply`). For
//! `valgrind --tool=callgrind` (instruction counts) or a quick wall-clock look:
//!
//!   cargo run --release -p ipvs-sys --example decode_cost [enums|flat|flat-nostats]
//!
//! `flat-nostats` is the decoding of a listing that prints no counters (`Nests::WithoutStats`).
use std::time::Instant;

use ipvs_sys::consts::IPVS_CMD_ATTR_DEST;
use ipvs_sys::{
    top_level_nest, Attr, Command, DestAttr, DestReply, Emitable, IpvsMessage, Nests, StatsAttr,
};

fn payload(i: u32) -> Vec<u8> {
    let stats = |k: u64| {
        vec![
            StatsAttr::Conns(k),
            StatsAttr::InPkts(k * 3),
            StatsAttr::OutPkts(k * 2),
            StatsAttr::InBytes(k * 300),
            StatsAttr::OutBytes(k * 200),
            StatsAttr::Cps(1),
            StatsAttr::InPps(2),
            StatsAttr::OutPps(3),
            StatsAttr::InBps(4),
            StatsAttr::OutBps(5),
        ]
    };
    let mut addr = [0u8; 16];
    addr[..4].copy_from_slice(&(0xac10_0000u32 + i).to_be_bytes());
    let dest = vec![
        DestAttr::Addr(addr),
        DestAttr::Port(8080),
        DestAttr::FwdMethod(0),
        DestAttr::Weight(1),
        DestAttr::TunType(0),
        DestAttr::TunPort(0),
        DestAttr::TunFlags(0),
        DestAttr::UThresh(0),
        DestAttr::LThresh(0),
        DestAttr::ActiveConns(0),
        DestAttr::InactConns(0),
        DestAttr::PersistConns(0),
        DestAttr::AddrFamily(2),
        DestAttr::Stats(stats(u64::from(i))),
        DestAttr::Stats64(stats(u64::from(i))),
    ];
    let msg = IpvsMessage::new(Command::NewDest, vec![Attr::Dest(dest)]);
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.emit(&mut buf);
    buf
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "flat".into());
    let payloads: Vec<Vec<u8>> = (0..20_000).map(payload).collect();
    let start = Instant::now();
    let mut sum = 0u64;
    for p in &payloads {
        if which == "none" {
            sum += p.len() as u64;
        } else if which == "enums" {
            let m = IpvsMessage::parse(p).expect("decodes");
            let d = DestReply::from_attrs(m.dest().expect("a destination"));
            sum += d.stats.map_or(0, |c| c.conns) + u64::from(d.port.unwrap_or(0));
        } else {
            let nests = if which == "flat-nostats" {
                Nests::WithoutStats
            } else {
                Nests::WithStats
            };
            let nest = top_level_nest(p, IPVS_CMD_ATTR_DEST).expect("top level");
            let d = DestReply::parse_with(nest.expect("a destination"), nests).expect("decodes");
            sum += d.stats.map_or(0, |c| c.conns) + u64::from(d.port.unwrap_or(0));
        }
    }
    println!(
        "{which}: {:?} for {} replies (checksum {sum})",
        start.elapsed(),
        payloads.len()
    );
}
