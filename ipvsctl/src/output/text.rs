//! ipvsadm's listings: `-L` in its column sets, `-c`, `--timeout`, `--daemon`.

use std::fmt::Write as _;

use ipvs::{Connection, DestinationEntry, Info, ServiceKey, SyncDaemon, Timeouts};
use ipvs::{ServiceFlags, VirtualServer};

use super::common::{
    addrport, fwd_name, fwmark_str, largenum, pad, partial_netmask, pe_name, proto_db_name,
    protocol_name, sched_flags, truncate_bytes, tun_info, SCHED_BITS,
};
use super::names::{Names, SystemNames};
use super::sort;
use super::{ListMode, ListOptions};

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
    let mut out = String::new();
    let (major, minor, patch) = info.version_triple();
    // ipvsadm prints the table size with %d.
    let _ = writeln!(
        out,
        "IP Virtual Server version {major}.{minor}.{patch} (size={})",
        info.conn_tab_size as i32
    );
    title(&mut out, opts.mode);
    for vs in sort::services(servers, opts.sort) {
        service_entry(&mut out, vs, opts, names);
    }
    out
}

/// `-L -t|-u|--sctp-service|-f SERVICE`: like [`list_text`] for one service,
/// without the version header (ipvsadm's `list_service`).
pub fn list_service_text(vs: &VirtualServer, opts: &ListOptions) -> String {
    list_service_text_with(vs, opts, &SystemNames::new())
}

/// [`list_service_text`] with a given name resolver.
pub fn list_service_text_with(vs: &VirtualServer, opts: &ListOptions, names: &dyn Names) -> String {
    let mut out = String::new();
    title(&mut out, opts.mode);
    service_entry(&mut out, vs, opts, names);
    out
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
fn service_proto(key: &ServiceKey) -> Option<&'static str> {
    match key {
        ServiceKey::Addr { protocol, .. } => proto_db_name(*protocol),
        ServiceKey::Fwmark { .. } => None,
    }
}

/// The service column: `FWM  7`, `FWM  8 IPv6`, or `TCP  addr:port` (cut to
/// 33 bytes for IPv4, as ipvsadm does).
fn service_name(key: &ServiceKey, numeric: bool, names: &dyn Names) -> String {
    match key {
        ServiceKey::Fwmark { fwmark, family } => {
            let v6 = if *family == ipvs::Family::Inet6 {
                " IPv6"
            } else {
                ""
            };
            format!("FWM  {}{v6}", fwmark_str(*fwmark))
        }
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let vname = addrport(names, *addr, *port, proto_db_name(*protocol), numeric);
            let mut s = String::new();
            pad(&mut s, protocol_name(*protocol), 4);
            s.push(' ');
            s.push_str(&vname);
            if addr.is_ipv4() {
                truncate_bytes(&mut s, 33);
            }
            s
        }
    }
}

/// ipvsadm's `print_service_entry` for the listing formats.
fn service_entry(out: &mut String, vs: &VirtualServer, opts: &ListOptions, names: &dyn Names) {
    let svc = &vs.entry.service;
    let st = &vs.entry.stats;
    let name = service_name(&svc.key, opts.numeric, names);
    match opts.mode {
        ListMode::Stats => {
            pad(out, &name, 33);
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
            pad(out, &name, 33);
            for n in [st.cps, st.in_pps, st.out_pps, st.in_bps, st.out_bps] {
                largenum(out, n, opts.exact);
            }
        }
        _ => {
            let _ = write!(out, "{name} {}", svc.scheduler.name());
            if svc.flags.intersects(SCHED_BITS) {
                let _ = write!(out, " ({})", sched_flags(svc));
            }
            if svc.flags.contains(ServiceFlags::PERSISTENT) {
                let _ = write!(out, " persistent {}", svc.timeout);
                if let Some(m) = partial_netmask(svc.netmask) {
                    let _ = write!(out, " mask {m}");
                }
                if let Some(pe) = pe_name(svc) {
                    let _ = write!(out, " pe {pe}");
                }
            }
            if svc.flags.contains(ServiceFlags::ONEPACKET) {
                out.push_str(" ops");
            }
        }
    }
    out.push('\n');

    let proto = service_proto(&svc.key);
    for e in sort::dests(&vs.destinations, opts.sort) {
        dest_entry(out, e, proto, opts, names);
    }
}

/// One destination line of a listing.
fn dest_entry(
    out: &mut String,
    e: &DestinationEntry,
    proto: Option<&str>,
    opts: &ListOptions,
    names: &dyn Names,
) {
    let d = &e.destination;
    let mut dname = addrport(names, d.addr, d.port, proto, opts.numeric);
    if d.addr.is_ipv4() {
        truncate_bytes(&mut dname, 28);
    }
    out.push_str("  -> ");
    pad(out, &dname, 28);
    let st = &e.stats;
    // The kernel's weight is an int; ipvsadm prints it with %d in most
    // formats and %u in --persistent-conn.
    let weight = d.weight as i32;
    let _ = match opts.mode {
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
            writeln!(out)
        }
        ListMode::Rate => {
            let _ = write!(out, " {:>8} {:>8} {:>8}", st.cps, st.in_pps, st.out_pps);
            largenum(out, st.in_bps, opts.exact);
            largenum(out, st.out_bps, opts.exact);
            writeln!(out)
        }
        ListMode::Thresholds => writeln!(
            out,
            " {:<10} {:<10} {:<10} {:<10}",
            d.upper_threshold, d.lower_threshold, e.active_conns, e.inactive_conns
        ),
        ListMode::PersistentConn => writeln!(
            out,
            " {:<9} {:<11} {:<10} {:<10}",
            d.weight, e.persistent_conns, e.active_conns, e.inactive_conns
        ),
        ListMode::TunInfo => {
            let ti = tun_info(&d.forward);
            writeln!(
                out,
                " {:<7} {:<13} {:<6} {:<10} {:<10}",
                fwd_name(&d.forward),
                ti.as_deref().unwrap_or("n/a"),
                weight,
                e.active_conns,
                e.inactive_conns
            )
        }
        ListMode::Default => writeln!(
            out,
            " {:<7} {:<6} {:<10} {:<10}",
            fwd_name(&d.forward),
            weight,
            e.active_conns,
            e.inactive_conns
        ),
    };
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
    for c in conns {
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
        pad(&mut out, &c.protocol, 3);
        out.push(' ');
        pad(&mut out, &expire, 6);
        out.push(' ');
        pad(&mut out, &c.state, 11);
        out.push(' ');
        pad(&mut out, &cname, 18);
        out.push(' ');
        pad(&mut out, &vname, 18);
        out.push(' ');
        match (&c.pe_name, &c.pe_data) {
            // ipvsadm's row has the destination in 16 columns and the engine
            // name in 18, unlike its title: copied as is.
            (Some(pe), Some(data)) if persistent => {
                pad(&mut out, &dname, 16);
                out.push(' ');
                pad(&mut out, pe, 18);
                out.push(' ');
                out.push_str(data);
            }
            _ => out.push_str(&dname),
        }
        out.push('\n');
    }
    out
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
            let _ = write!(out, ", group={}", super::common::ntop(g));
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
