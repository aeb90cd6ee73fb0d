//! The kernel's replies to a listing's dumps, as kernel 6.1 sends them (its attributes in its
//! order, both statistics nests: `ipvs-sys/tests/fixtures/list.nl`), for the examples that
//! measure decoding without a kernel (`list_cost`, `apply_cost`).

use ipvs_sys::{Attr, Command, DestAttr, Emitable, FlagsMask, IpvsMessage, ServiceAttr, StatsAttr};

pub fn stats(k: u64) -> Vec<StatsAttr> {
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
}

pub fn emit(msg: &IpvsMessage) -> Vec<u8> {
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.emit(&mut buf);
    buf
}

pub fn addr(host: u32) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&host.to_be_bytes());
    a
}

/// A `NEW_SERVICE` reply: a TCP service (`vip`) or a fwmark service (`mark`), kernel 6.1's order.
pub fn service(vip: u32, mark: u32, sched: &str, k: u64) -> Vec<u8> {
    let mut attrs = vec![ServiceAttr::Af(2)];
    if mark != 0 {
        attrs.push(ServiceAttr::Fwmark(mark));
    } else {
        attrs.extend([
            ServiceAttr::Protocol(6),
            ServiceAttr::Addr(addr(vip)),
            ServiceAttr::Port(80),
        ]);
    }
    attrs.extend([
        ServiceAttr::SchedName(sched.into()),
        // The kernel's own HASHED bit is set on every service it holds.
        ServiceAttr::Flags(FlagsMask {
            flags: 0x2,
            mask: u32::MAX,
        }),
        ServiceAttr::Timeout(0),
        ServiceAttr::Netmask(u32::MAX),
        ServiceAttr::Stats(stats(k)),
        ServiceAttr::Stats64(stats(k)),
    ]);
    emit(&IpvsMessage::new(
        Command::NewService,
        vec![Attr::Service(attrs)],
    ))
}

/// A `NEW_DEST` reply, kernel 6.1's order.
pub fn dest(rip: u32, port: u16, weight: u32, k: u64) -> Vec<u8> {
    let dest = vec![
        DestAttr::Addr(addr(rip)),
        DestAttr::Port(port),
        DestAttr::FwdMethod(0),
        DestAttr::Weight(weight),
        DestAttr::TunType(0),
        DestAttr::TunPort(0),
        DestAttr::TunFlags(0),
        DestAttr::UThresh(0),
        DestAttr::LThresh(0),
        DestAttr::ActiveConns((k % 7) as u32),
        DestAttr::InactConns((k % 3) as u32),
        DestAttr::PersistConns(0),
        DestAttr::AddrFamily(2),
        DestAttr::Stats(stats(k)),
        DestAttr::Stats64(stats(k)),
    ];
    emit(&IpvsMessage::new(Command::NewDest, vec![Attr::Dest(dest)]))
}
