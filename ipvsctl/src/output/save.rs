//! `-S`: the table as ipvsadm commands, which `-R` reads back.

use std::fmt::Write as _;

use ipvs::{
    DestinationEntry, Family, Forward, Protocol, ServiceEntry, ServiceFlags, ServiceKey,
    TunnelType, VirtualServer,
};

use super::bytes::{push_i64, push_str, push_u64};
use super::common::{
    fwd_switch, partial_netmask, pe_name, proto_db_name, push_addrport, sched_flags, Checksum,
    SCHED_BITS,
};
use super::listing::{held, held_dests, into_text, stream_lines, Chunked, Lines, StreamError};
use super::names::{Names, SystemNames};

/// `-S [-n]`: one `-A` line per service followed by one `-a` line per
/// destination, in ipvsadm's order unless `!sort` (ipvsadm itself always
/// sorts here). Like ipvsadm, it leaves out what `-A`/`-a` cannot set or
/// what it never saved: thresholds (`-x`/`-y`), counters, and scheduler flag
/// bits without a name for the scheduler. Names are looked up unless `numeric`.
pub fn save_text(servers: &[VirtualServer], numeric: bool, sort: bool) -> String {
    save_text_with(servers, numeric, sort, &SystemNames::new())
}

/// [`save_text`] with a given name resolver.
pub fn save_text_with(
    servers: &[VirtualServer],
    numeric: bool,
    sort: bool,
    names: &dyn Names,
) -> String {
    let (entries, dests) = (held(servers), held_dests(servers));
    let mut out = Chunked::keep();
    let done = stream_save_text(&entries, dests, numeric, sort, names, &mut out);
    into_text(out, done)
}

struct Rules<'a> {
    numeric: bool,
    names: &'a dyn Names,
    room: SaveRoom,
}

impl Lines for Rules<'_> {
    fn service(&mut self, out: &mut Vec<u8>, entry: &ServiceEntry) {
        service_rule(
            out,
            &mut self.room,
            &entry.service,
            self.numeric,
            self.names,
        );
    }
    fn destination(&mut self, out: &mut Vec<u8>, dest: &DestinationEntry) {
        dest_rule(out, &self.room, &dest.destination, self.numeric, self.names);
    }
}

/// `-S [-n]` streamed: the rules of each service of `services` (see [`super::save_text`]), with
/// the destinations `dests` reads for it.
pub fn stream_save_text<E>(
    services: &[&ServiceEntry],
    dests: impl FnMut(usize, &mut Vec<DestinationEntry>) -> Result<(), E>,
    numeric: bool,
    sort: bool,
    names: &dyn Names,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    let mut lines = Rules {
        numeric,
        names,
        room: SaveRoom::default(),
    };
    stream_lines(services, dests, sort, &mut lines, out)
}

/// The service part of a rule (`-t addr:port`, `-f 7 -6`, ...) appended to `out`.
fn push_service_selector(out: &mut Vec<u8>, key: &ServiceKey, numeric: bool, names: &dyn Names) {
    match key {
        ServiceKey::Fwmark { fwmark, family } => {
            push_str(out, "-f ");
            // ipvsadm 1.31 prints the mark with %d (see `fwmark_str`).
            push_i64(out, i64::from(*fwmark as i32));
            if *family == Family::Inet6 {
                push_str(out, " -6");
            }
        }
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            push_str(
                out,
                match protocol {
                    Protocol::Tcp => "-t ",
                    Protocol::Udp => "-u ",
                    Protocol::Sctp => "--sctp-service ",
                    _ => "--xxx-service ",
                },
            );
            push_addrport(out, names, *addr, *port, proto_db_name(*protocol), numeric);
        }
    }
}

/// Kept between the lines of one `-S`: the current service's selector, services-database
/// protocol and options.
#[derive(Default)]
pub(crate) struct SaveRoom {
    sel: Vec<u8>,
    proto: Option<&'static str>,
    opts: String,
}

/// A service's `-A` line; its destinations' `-a` lines are [`dest_rule`]'s.
pub(crate) fn service_rule(
    out: &mut Vec<u8>,
    room: &mut SaveRoom,
    svc: &ipvs::Service,
    numeric: bool,
    names: &dyn Names,
) {
    room.sel.clear();
    push_service_selector(&mut room.sel, &svc.key, numeric, names);
    room.proto = match svc.key {
        ServiceKey::Addr { protocol, .. } => proto_db_name(protocol),
        ServiceKey::Fwmark { .. } => None,
    };
    room.opts.clear();
    service_options(&mut room.opts, svc);
    push_str(out, "-A ");
    out.extend_from_slice(&room.sel);
    push_str(out, &room.opts);
    out.push(b'\n');
}

/// The `-a` line of a destination of the service of the last [`service_rule`].
pub(crate) fn dest_rule(
    out: &mut Vec<u8>,
    room: &SaveRoom,
    d: &ipvs::Destination,
    numeric: bool,
    names: &dyn Names,
) {
    push_str(out, "-a ");
    out.extend_from_slice(&room.sel);
    push_str(out, " -r ");
    push_addrport(out, names, d.addr, d.port, room.proto, numeric);
    push_forward_options(out, d);
    out.push(b'\n');
}

/// `-A`/`-E`'s options after the service: scheduler, persistence, engine,
/// one-packet, scheduler flags (as `-S` writes them).
fn service_options(out: &mut String, svc: &ipvs::Service) {
    let _ = write!(out, " -s {}", svc.scheduler.name());
    if svc.flags.contains(ServiceFlags::PERSISTENT) {
        let _ = write!(out, " -p {}", svc.timeout);
        if let Some(m) = partial_netmask(svc.netmask) {
            let _ = write!(out, " -M {m}");
        }
    }
    if let Some(pe) = pe_name(svc) {
        let _ = write!(out, " --pe {pe}");
    }
    if svc.flags.contains(ServiceFlags::ONEPACKET) {
        out.push_str(" -o");
    }
    if svc.flags.intersects(SCHED_BITS) {
        let _ = write!(out, " -b {}", sched_flags(svc));
    }
}

/// A destination's options as `-S` writes them (forwarding, weight and tunnel options),
/// appended to `out`.
fn push_forward_options(out: &mut Vec<u8>, d: &ipvs::Destination) {
    out.push(b' ');
    push_str(out, fwd_switch(&d.forward));
    push_str(out, " -w ");
    push_i64(out, i64::from(d.weight as i32));
    if let Forward::Tunnel { kind, port, flags } = d.forward {
        match kind {
            TunnelType::Ipip => push_str(out, " --tun-type ipip"),
            TunnelType::Gue => {
                push_str(out, " --tun-type gue --tun-port ");
                push_u64(out, u64::from(port));
                out.push(b' ');
                push_str(out, Checksum::of(flags).option());
            }
            TunnelType::Gre => {
                push_str(out, " --tun-type gre ");
                push_str(out, Checksum::of(flags).option());
            }
            _ => {}
        }
    }
}
