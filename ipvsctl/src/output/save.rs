//! `-S`: the table as ipvsadm commands, which `-R` reads back.

use std::fmt::Write as _;

use ipvs::{Family, Forward, Protocol, ServiceFlags, ServiceKey, TunnelType, VirtualServer};

use super::common::{
    addrport, fwd_switch, fwmark_str, partial_netmask, pe_name, proto_db_name, sched_flags,
    Checksum, SCHED_BITS,
};
use super::names::{Names, SystemNames};
use super::sort;

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
    let mut out = String::new();
    for vs in sort::services(servers, sort) {
        service_rules(&mut out, vs, numeric, sort, names);
    }
    out
}

/// The service part of a rule: `-t addr:port`, `-f 7 -6`, ...
fn service_selector(key: &ServiceKey, numeric: bool, names: &dyn Names) -> String {
    match key {
        ServiceKey::Fwmark { fwmark, family } => {
            let v6 = if *family == Family::Inet6 { " -6" } else { "" };
            format!("-f {}{v6}", fwmark_str(*fwmark))
        }
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let opt = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
                _ => "--xxx-service",
            };
            let vname = addrport(names, *addr, *port, proto_db_name(*protocol), numeric);
            format!("{opt} {vname}")
        }
    }
}

fn service_rules(
    out: &mut String,
    vs: &VirtualServer,
    numeric: bool,
    sort: bool,
    names: &dyn Names,
) {
    let svc = &vs.entry.service;
    let sel = service_selector(&svc.key, numeric, names);
    let _ = write!(out, "-A {sel}");
    service_options(out, svc);
    out.push('\n');

    let proto = match svc.key {
        ServiceKey::Addr { protocol, .. } => proto_db_name(protocol),
        ServiceKey::Fwmark { .. } => None,
    };
    for e in sort::dests(&vs.destinations, sort) {
        let d = &e.destination;
        let dname = addrport(names, d.addr, d.port, proto, numeric);
        let _ = write!(out, "-a {sel} -r {dname}");
        forward_options(out, d);
        out.push('\n');
    }
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

/// `-a`/`-e`'s options after `-r`: forwarding, weight, tunnel options and,
/// unlike `-S`, the thresholds.
fn destination_options(out: &mut String, d: &ipvs::Destination) {
    forward_options(out, d);
    if d.upper_threshold != 0 {
        let _ = write!(out, " -x {}", d.upper_threshold);
    }
    if d.lower_threshold != 0 {
        let _ = write!(out, " -y {}", d.lower_threshold);
    }
}

/// A destination's options as `-S` writes them: forwarding, weight and tunnel options.
fn forward_options(out: &mut String, d: &ipvs::Destination) {
    let _ = write!(out, " {} -w {}", fwd_switch(&d.forward), d.weight as i32);
    if let Forward::Tunnel { kind, port, flags } = d.forward {
        let _ = match kind {
            TunnelType::Ipip => write!(out, " --tun-type ipip"),
            TunnelType::Gue => write!(
                out,
                " --tun-type gue --tun-port {port} {}",
                Checksum::of(flags).option()
            ),
            TunnelType::Gre => write!(out, " --tun-type gre {}", Checksum::of(flags).option()),
            _ => Ok(()),
        };
    }
}

/// A plan as the ipvsadm command lines that make it (what `-R` reads), one
/// change a line, numeric: `-A`/`-E`/`-D` for services, `-a`/`-e`/`-d` for
/// destinations, `--set` for timeouts.
pub fn plan_text(plan: &ipvs::Plan) -> String {
    use ipvs::Change;
    let names = SystemNames::new();
    let mut out = String::new();
    for c in &plan.changes {
        match c {
            Change::AddService(s) | Change::EditService(s) => {
                let cmd = if matches!(c, Change::AddService(_)) {
                    "-A"
                } else {
                    "-E"
                };
                let _ = write!(out, "{cmd} {}", service_selector(&s.key, true, &names));
                service_options(&mut out, s);
            }
            Change::DeleteService(k) => {
                let _ = write!(out, "-D {}", service_selector(k, true, &names));
            }
            Change::AddDestination {
                service,
                destination: d,
            }
            | Change::EditDestination {
                service,
                destination: d,
            } => {
                let cmd = if matches!(c, Change::AddDestination { .. }) {
                    "-a"
                } else {
                    "-e"
                };
                let rs = addrport(&names, d.addr, d.port, None, true);
                let _ = write!(
                    out,
                    "{cmd} {} -r {rs}",
                    service_selector(service, true, &names)
                );
                destination_options(&mut out, d);
            }
            Change::DeleteDestination {
                service,
                addr,
                port,
            } => {
                let rs = addrport(&names, *addr, *port, None, true);
                let _ = write!(
                    out,
                    "-d {} -r {rs}",
                    service_selector(service, true, &names)
                );
            }
            Change::SetTimeouts(t) => {
                let _ = write!(out, "--set {} {} {}", t.tcp, t.tcp_fin, t.udp);
            }
            other => {
                let _ = write!(out, "# {:?}", other.operation());
            }
        }
        out.push('\n');
    }
    out
}
