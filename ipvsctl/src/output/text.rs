//! ipvsadm's listings: `-L` in its column sets, `-c`, `--timeout`, `--daemon`.

use std::fmt::Write as _;

use ipvs::conn::Connection;
use ipvs::{DestinationEntry, Info, ServiceKey, SyncDaemon, Timeouts};
use ipvs::{ServiceEntry, ServiceFlags, VirtualServer};

use super::bytes::{
    cut_from, pad_from, push_block, push_i64, push_i64_left, push_str, push_str_left, push_u64,
    push_u64_left, push_u64_right, put_u64_left,
};
use super::common::{
    addrport, fwd_name, largenum, pad, partial_netmask, pe_name, proto_db_name, protocol_name,
    push_addrport, sched_flags, tun_info, SCHED_BITS,
};
use super::listing::{held, held_dests, into_text, stream_lines, Chunked, Lines, StreamError};
use super::names::{Names, SystemNames};
use super::options::{ListMode, ListOptions};
use super::sort;

/// `-L`/`-l`: the version header, the column titles, then every service with
/// its destinations (sorted as ipvsadm sorts unless `!opts.sort`). Names are
/// looked up through the C library unless `opts.numeric`.
pub fn list_text(info: &Info, servers: &[VirtualServer], opts: &ListOptions) -> String {
    list_text_with(info, servers, opts, &SystemNames::new())
}

/// [`list_text`] with a given name resolver.
pub fn list_text_with(
    info: &Info,
    servers: &[VirtualServer],
    opts: &ListOptions,
    names: &dyn Names,
) -> String {
    let (entries, dests) = (held(servers), held_dests(servers));
    let mut out = Chunked::keep();
    let done = stream_list_text(info, &entries, dests, opts, names, &mut out);
    into_text(out, done)
}

struct Listing<'a> {
    opts: &'a ListOptions,
    names: &'a dyn Names,
    proto: Option<&'static str>,
}

impl Lines for Listing<'_> {
    fn service(&mut self, out: &mut Vec<u8>, entry: &ServiceEntry) {
        service_line(out, entry, self.opts, self.names);
        self.proto = service_proto(&entry.service.key);
    }
    fn destination(&mut self, out: &mut Vec<u8>, dest: &DestinationEntry) {
        dest_entry(out, dest, self.proto, self.opts, self.names);
    }
}

/// `-L`/`-l` streamed: the version header, the column titles, then each service of `services`
/// with the destinations `dests` reads for it (given its position in `services` and an empty
/// list), sorted unless `!opts.sort`. Names through `names` unless `opts.numeric`.
pub fn stream_list_text<E>(
    info: &Info,
    services: &[&ServiceEntry],
    dests: impl FnMut(usize, &mut Vec<DestinationEntry>) -> Result<(), E>,
    opts: &ListOptions,
    names: &dyn Names,
    out: &mut Chunked<'_>,
) -> Result<(), StreamError<E>> {
    list_head(out.buf(), info, opts.mode);
    let mut lines = Listing {
        opts,
        names,
        proto: None,
    };
    stream_lines(services, dests, opts.sort, &mut lines, out)
}

/// ipvsadm's version header: `IP Virtual Server version 1.2.1 (size=4096)`, with its newline.
pub(crate) fn version_header(info: &Info) -> String {
    let (major, minor, patch) = info.version_triple();
    // ipvsadm prints the table size with %d.
    format!(
        "IP Virtual Server version {major}.{minor}.{patch} (size={})\n",
        info.conn_tab_size as i32
    )
}

/// The listing's start: the version header and the column titles.
pub(crate) fn list_head(out: &mut Vec<u8>, info: &Info, mode: ListMode) {
    let mut head = version_header(info);
    title(&mut head, mode);
    push_str(out, &head);
}

/// `-L -t|-u|--sctp-service|-f SERVICE`: like [`list_text`] for one service,
/// without the version header (ipvsadm's `list_service`).
pub fn list_service_text(vs: &VirtualServer, opts: &ListOptions) -> String {
    list_service_text_with(vs, opts, &SystemNames::new())
}

/// [`list_service_text`] with a given name resolver.
pub fn list_service_text_with(vs: &VirtualServer, opts: &ListOptions, names: &dyn Names) -> String {
    let mut head = String::new();
    title(&mut head, opts.mode);
    let mut out = head.into_bytes();
    let (mut order, mut tmp) = (Vec::new(), Vec::new());
    sort::dest_order(&vs.destinations, opts.sort, &mut order, &mut tmp);
    service_line(&mut out, &vs.entry, opts, names);
    let proto = service_proto(&vs.entry.service.key);
    for i in order {
        dest_entry(&mut out, &vs.destinations[i], proto, opts, names);
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// ipvsadm's `print_title`.
fn title(out: &mut String, mode: ListMode) {
    const PROT: &str = "Prot LocalAddress:Port";
    const REMOTE: &str = "  -> RemoteAddress:Port";
    match mode {
        ListMode::Stats | ListMode::Rate => {
            let cols = if mode == ListMode::Stats {
                ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]
            } else {
                ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"]
            };
            pad(out, PROT, 33);
            for c in cols {
                let _ = write!(out, " {c:>8}");
            }
            let _ = writeln!(out, "\n{REMOTE}");
        }
        ListMode::Thresholds => {
            pad(out, PROT, 33);
            let _ = writeln!(
                out,
                " {:<10} {:<10} {:<10} {:<10}\n{REMOTE}",
                "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
            );
        }
        ListMode::PersistentConn => {
            pad(out, PROT, 33);
            let _ = writeln!(
                out,
                " {:<9} {:<11} {:<10} {:<10}\n{REMOTE}",
                "Weight", "PersistConn", "ActiveConn", "InActConn"
            );
        }
        ListMode::TunInfo => out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  \
             -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n",
        ),
        ListMode::Default => out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  \
             -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        ),
    }
}

/// The services-database protocol of a service's ports (none for fwmark
/// services: libipvs leaves their protocol 0).
pub(crate) fn service_proto(key: &ServiceKey) -> Option<&'static str> {
    match key {
        ServiceKey::Addr { protocol, .. } => proto_db_name(*protocol),
        ServiceKey::Fwmark { .. } => None,
    }
}

/// The service column: `FWM  7`, `FWM  8 IPv6`, or `TCP  addr:port` (cut to
/// 33 bytes for IPv4, as ipvsadm does).
fn push_service_name(out: &mut Vec<u8>, key: &ServiceKey, numeric: bool, names: &dyn Names) {
    match key {
        ServiceKey::Fwmark { fwmark, family } => {
            push_str(out, "FWM  ");
            // ipvsadm 1.31 prints the mark with %d (see `fwmark_str`).
            push_i64(out, i64::from(*fwmark as i32));
            if *family == ipvs::Family::Inet6 {
                push_str(out, " IPv6");
            }
        }
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let start = out.len();
            push_str_left(out, protocol_name(*protocol), 4);
            out.push(b' ');
            push_addrport(out, names, *addr, *port, proto_db_name(*protocol), numeric);
            if addr.is_ipv4() {
                cut_from(out, start, 33);
            }
        }
    }
}

/// ipvsadm's `print_service_entry` for the listing formats: the service's line (its
/// destinations' lines are [`dest_entry`]'s).
pub(crate) fn service_line(
    out: &mut Vec<u8>,
    entry: &ServiceEntry,
    opts: &ListOptions,
    names: &dyn Names,
) {
    let svc = &entry.service;
    let st = &entry.stats;
    let start = out.len();
    push_service_name(out, &svc.key, opts.numeric, names);
    match opts.mode {
        ListMode::Stats => {
            pad_from(out, start, 33);
            for n in [
                st.conns,
                st.in_packets,
                st.out_packets,
                st.in_bytes,
                st.out_bytes,
            ] {
                largenum(out, n, opts.exact);
            }
        }
        ListMode::Rate => {
            pad_from(out, start, 33);
            for n in [st.cps, st.in_pps, st.out_pps, st.in_bps, st.out_bps] {
                largenum(out, n, opts.exact);
            }
        }
        _ => {
            out.push(b' ');
            push_str(out, svc.scheduler.name());
            if svc.flags.intersects(SCHED_BITS) {
                push_str(out, " (");
                push_str(out, &sched_flags(svc));
                out.push(b')');
            }
            if svc.flags.contains(ServiceFlags::PERSISTENT) {
                push_str(out, " persistent ");
                push_u64(out, u64::from(svc.timeout));
                if let Some(m) = partial_netmask(svc.netmask) {
                    push_str(out, " mask ");
                    push_str(out, &m);
                }
                if let Some(pe) = pe_name(svc) {
                    push_str(out, " pe ");
                    push_str(out, pe);
                }
            }
            if svc.flags.contains(ServiceFlags::ONEPACKET) {
                push_str(out, " ops");
            }
        }
    }
    out.push(b'\n');
}

/// One destination line of a listing; `proto` is [`service_proto`] of its service.
pub(crate) fn dest_entry(
    out: &mut Vec<u8>,
    e: &DestinationEntry,
    proto: Option<&str>,
    opts: &ListOptions,
    names: &dyn Names,
) {
    let d = &e.destination;
    push_str(out, "  -> ");
    let start = out.len();
    push_addrport(out, names, d.addr, d.port, proto, opts.numeric);
    if d.addr.is_ipv4() {
        cut_from(out, start, 28);
    }
    pad_from(out, start, 28);
    let st = &e.stats;
    // The kernel's weight is an int; ipvsadm prints it with %d in most
    // formats and %u in --persistent-conn.
    let weight = i64::from(d.weight as i32);
    let (active, inactive) = (u64::from(e.active_conns), u64::from(e.inactive_conns));
    match opts.mode {
        ListMode::Stats => {
            for n in [
                st.conns,
                st.in_packets,
                st.out_packets,
                st.in_bytes,
                st.out_bytes,
            ] {
                largenum(out, n, opts.exact);
            }
        }
        ListMode::Rate => {
            for n in [st.cps, st.in_pps, st.out_pps] {
                out.push(b' ');
                push_u64_right(out, n, 8);
            }
            largenum(out, st.in_bps, opts.exact);
            largenum(out, st.out_bps, opts.exact);
        }
        ListMode::Thresholds => {
            for n in [
                u64::from(d.upper_threshold),
                u64::from(d.lower_threshold),
                active,
            ] {
                out.push(b' ');
                push_u64_left(out, n, 10);
            }
            out.push(b' ');
            push_u64_left(out, inactive, 10);
        }
        ListMode::PersistentConn => {
            out.push(b' ');
            push_u64_left(out, u64::from(d.weight), 9);
            out.push(b' ');
            push_u64_left(out, u64::from(e.persistent_conns), 11);
            out.push(b' ');
            push_u64_left(out, active, 10);
            out.push(b' ');
            push_u64_left(out, inactive, 10);
        }
        ListMode::TunInfo => {
            out.push(b' ');
            push_str_left(out, fwd_name(&d.forward), 7);
            out.push(b' ');
            push_str_left(out, tun_info(&d.forward).as_deref().unwrap_or("n/a"), 13);
            push_weight_and_conns(out, weight, active, inactive);
        }
        ListMode::Default => {
            let fwd = fwd_name(&d.forward);
            if !default_columns(out, fwd, weight, active, inactive) {
                default_columns_pushed(out, fwd, weight, active, inactive);
            }
            return;
        }
    }
    out.push(b'\n');
}

/// The Default listing's columns after the address and the line's end, column by column.
pub(crate) fn default_columns_pushed(
    out: &mut Vec<u8>,
    fwd: &str,
    weight: i64,
    active: u64,
    inactive: u64,
) {
    out.push(b' ');
    push_str_left(out, fwd, 7);
    push_weight_and_conns(out, weight, active, inactive);
    out.push(b'\n');
}

/// ` %-6d %-10u %-10u`: the weight and the connection counts, the last columns of the Default
/// and `--tun-info` listings.
fn push_weight_and_conns(out: &mut Vec<u8>, weight: i64, active: u64, inactive: u64) {
    out.push(b' ');
    push_i64_left(out, weight, 6);
    out.push(b' ');
    push_u64_left(out, active, 10);
    out.push(b' ');
    push_u64_left(out, inactive, 10);
}

/// The Default listing's columns after the address, ` %-7s %-6d %-10u %-10u\n`, and the line's
/// end, laid over a block of spaces and appended in one copy when each value fits its column
/// (a weight of 0 to 999,999 and counts of at most ten digits: all but the rarest lines); says
/// whether it did. The others are written column by column ([`default_columns_pushed`]), the
/// same text: a test holds the two to each other.
#[inline]
pub(crate) fn default_columns(
    out: &mut Vec<u8>,
    fwd: &str,
    weight: i64,
    active: u64,
    inactive: u64,
) -> bool {
    // Columns at 1, 9, 16 and 27 (each after a space), the line's end at 37; 20 bytes of room
    // after the last column's start for its digits' block.
    const END: usize = 37;
    let mut block = [b' '; 48];
    let Ok(weight) = u64::try_from(weight) else {
        return false;
    };
    let fits = match (fwd.as_bytes(), block.get_mut(1..8)) {
        (f, Some(col)) if f.len() <= 7 => {
            // At most 7 bytes: a copy within the column.
            col[..f.len()].copy_from_slice(f);
            true
        }
        _ => false,
    };
    if !(fits
        && put_u64_left(&mut block, 9, weight, 6)
        && put_u64_left(&mut block, 16, active, 10)
        && put_u64_left(&mut block, 27, inactive, 10))
    {
        return false;
    }
    block[END] = b'\n';
    push_block(out, &block, END + 1);
    true
}

/// `-L -c`: the connection table, `--persistent-conn` adding the persistence
/// engine columns to entries that have them. Names are looked up unless
/// `numeric`.
pub fn connections_text(conns: &[Connection], numeric: bool, persistent: bool) -> String {
    connections_text_with(conns, numeric, persistent, &SystemNames::new())
}

/// [`connections_text`] with a given name resolver.
pub fn connections_text_with(
    conns: &[Connection],
    numeric: bool,
    persistent: bool,
    names: &dyn Names,
) -> String {
    let mut out = connections_title(persistent);
    for c in conns {
        connection_row(&mut out, c, numeric, persistent, names);
    }
    out
}

/// The title lines of [`connections_text`].
pub fn connections_title(persistent: bool) -> String {
    let mut out = String::from("IPVS connection entries\n");
    // ipvsadm: "pro expire %-11s %-18s %-18s %s", or with --persistent-conn
    // "pro expire %-11s %-18s %-18s %-18s %-16s %s".
    out.push_str("pro expire ");
    for (title, width) in [("state", 11), ("source", 18), ("virtual", 18)] {
        pad(&mut out, title, width);
        out.push(' ');
    }
    if persistent {
        pad(&mut out, "destination", 18);
        out.push(' ');
        pad(&mut out, "pe name", 16);
        out.push_str(" pe_data\n");
    } else {
        out.push_str("destination\n");
    }
    out
}

/// One connection's line of [`connections_text`], appended to `out`.
pub fn connection_row(
    out: &mut String,
    c: &Connection,
    numeric: bool,
    persistent: bool,
    names: &dyn Names,
) {
    let proto = match c.protocol.as_str() {
        "TCP" => Some("tcp"),
        "UDP" => Some("udp"),
        "SCTP" => Some("sctp"),
        _ => None,
    };
    let cname = addrport(names, c.client_addr, c.client_port, proto, numeric);
    let vname = addrport(names, c.virtual_addr, c.virtual_port, proto, numeric);
    let dname = addrport(names, c.dest_addr, c.dest_port, proto, numeric);
    let expire = format!("{:02}:{:02}", c.expires / 60, c.expires % 60);
    pad(out, &c.protocol, 3);
    out.push(' ');
    pad(out, &expire, 6);
    out.push(' ');
    pad(out, &c.state, 11);
    out.push(' ');
    pad(out, &cname, 18);
    out.push(' ');
    pad(out, &vname, 18);
    out.push(' ');
    match (&c.pe_name, &c.pe_data) {
        // ipvsadm's row has the destination in 16 columns and the engine
        // name in 18, unlike its title: copied as is.
        (Some(pe), Some(data)) if persistent => {
            pad(out, &dname, 16);
            out.push(' ');
            pad(out, pe, 18);
            out.push(' ');
            out.push_str(data);
        }
        _ => out.push_str(&dname),
    }
    out.push('\n');
}

/// `-L --timeout`.
pub fn timeout_text(t: &Timeouts) -> String {
    // ipvsadm prints these ints with %d.
    format!(
        "Timeout (tcp tcpfin udp): {} {} {}\n",
        t.tcp as i32, t.tcp_fin as i32, t.udp as i32
    )
}

/// `-L --daemon`: one line per running sync daemon, with the kernel 4.3+
/// settings only when the kernel reported them (and, for maxlen, port and
/// TTL, when they are not zero), as ipvsadm's `list_daemon` does.
pub fn daemon_text(daemons: &[SyncDaemon]) -> String {
    let mut out = String::new();
    for d in daemons {
        let state = d.state;
        let _ = write!(
            out,
            "{state} sync daemon (mcast={}, syncid={}",
            d.mcast_interface, d.sync_id as i32
        );
        if let Some(m) = d.sync_maxlen.filter(|m| *m != 0) {
            let _ = write!(out, ", maxlen={m}");
        }
        if let Some(g) = d.mcast_group {
            let _ = write!(out, ", group={}", ipvs::addr::Ntop::new(g));
        }
        if let Some(p) = d.mcast_port.filter(|p| *p != 0) {
            let _ = write!(out, ", port={p}");
        }
        if let Some(t) = d.mcast_ttl.filter(|t| *t != 0) {
            let _ = write!(out, ", ttl={t}");
        }
        out.push_str(")\n");
    }
    out
}
