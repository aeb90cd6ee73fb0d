//! A change as the ipvsadm command line that makes it: the `Display` of
//! [`Change`], numeric as `ipvsadm -S -n` writes rules and `ipvsadm -R` reads
//! them. The one home of that text: `ipvsctl apply --dry-run` prints it.

use std::fmt;
use std::net::Ipv4Addr;

use crate::addr::{decimal, AddrPort, Ntop};
use crate::{
    Change, Destination, Family, Forward, Netmask, Protocol, Service, ServiceFlag, ServiceFlags,
    ServiceKey, TunnelFlags, TunnelType,
};

/// `-A -t 10.0.0.100:80 -s rr`, `-a -t 10.0.0.100:80 -r 192.168.10.11:80 -m -w 5`,
/// `-d -f 7 -6 -r [2001:db8::2]:0`, `--set 900 120 300`, ...: the ipvsadm
/// command line (without `ipvsadm` and without a newline) that makes the change.
///
/// Services are `-A`/`-E`/`-D`, destinations `-a`/`-e`/`-d` with `-x`/`-y`
/// for non-zero thresholds, timeouts `--set`, zeroing `-Z`, flushing `-C`,
/// sync daemons `--start-daemon`/`--stop-daemon`. The options are those of
/// `ipvsadm -S -n` (ipvsadm 1.31's words and order: a fwmark and a weight
/// as C's `%d` prints them).
///
/// ```
/// use ipvs::{Change, Destination, Forward, ServiceKey};
/// let change = Change::AddDestination {
///     service: ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80),
///     destination: Destination::new("192.168.10.11".parse().unwrap(), 8080)
///         .with_forward(Forward::Masquerade)
///         .with_weight(5),
/// };
/// assert_eq!(change.to_string(), "-a -t 10.0.0.100:80 -r 192.168.10.11:8080 -m -w 5");
/// ```
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::AddService(s) => service_line(f, "-A", s),
            Change::EditService(s) => service_line(f, "-E", s),
            Change::DeleteService(k) => write!(f, "-D {}", Selector(k)),
            Change::AddDestination {
                service,
                destination,
            } => dest_line(f, "-a", service, destination),
            Change::EditDestination {
                service,
                destination,
            } => dest_line(f, "-e", service, destination),
            Change::DeleteDestination {
                service,
                addr,
                port,
            } => write!(f, "-d {} -r {}", Selector(service), AddrPort(*addr, *port)),
            Change::SetTimeouts(t) => write!(f, "--set {} {} {}", t.tcp, t.tcp_fin, t.udp),
            Change::Zero(None) => f.write_str("-Z"),
            Change::Zero(Some(k)) => write!(f, "-Z {}", Selector(k)),
            Change::Flush => f.write_str("-C"),
            Change::StartDaemon(d) => {
                write!(
                    f,
                    "--start-daemon {} --mcast-interface {} --syncid {}",
                    d.state, d.mcast_interface, d.sync_id
                )?;
                if let Some(v) = d.sync_maxlen {
                    write!(f, " --sync-maxlen {v}")?;
                }
                if let Some(g) = d.mcast_group {
                    write!(f, " --mcast-group {}", Ntop::new(g))?;
                }
                if let Some(v) = d.mcast_port {
                    write!(f, " --mcast-port {v}")?;
                }
                if let Some(v) = d.mcast_ttl {
                    write!(f, " --mcast-ttl {v}")?;
                }
                Ok(())
            }
            Change::StopDaemon(state) => write!(f, "--stop-daemon {state}"),
        }
    }
}

/// The service part of a rule: `-t 10.0.0.1:80`, `-f 7 -6`, ...
struct Selector<'a>(&'a ServiceKey);

impl fmt::Display for Selector<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self.0 {
            ServiceKey::Fwmark { fwmark, family } => {
                // ipvsadm 1.31 prints the mark with %d.
                write!(f, "-f {}", fwmark as i32)?;
                if family == Family::Inet6 {
                    f.write_str(" -6")?;
                }
                Ok(())
            }
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                let switch = match protocol {
                    Protocol::Tcp => "-t",
                    Protocol::Udp => "-u",
                    Protocol::Sctp => "--sctp-service",
                    // What ipvsadm 1.31's `-S` writes for a protocol it has no switch for.
                    _ => "--xxx-service",
                };
                f.write_str(switch)?;
                f.write_str(" ")?;
                fmt::Display::fmt(&AddrPort(addr, port), f)
            }
        }
    }
}

/// `-A`/`-E` with the options `-S` writes: scheduler, persistence (and its
/// netmask unless full), engine, one-packet, scheduler flags.
fn service_line(f: &mut fmt::Formatter<'_>, cmd: &str, svc: &Service) -> fmt::Result {
    f.write_str(cmd)?;
    f.write_str(" ")?;
    fmt::Display::fmt(&Selector(&svc.key), f)?;
    f.write_str(" -s ")?;
    f.write_str(svc.scheduler.name())?;
    if svc.flags.contains(ServiceFlags::PERSISTENT) {
        write!(f, " -p {}", svc.timeout)?;
        match svc.netmask {
            Netmask::V4(a) if a != Ipv4Addr::BROADCAST => write!(f, " -M {a}")?,
            Netmask::V6(p) if p != 128 => write!(f, " -M {p}")?,
            _ => {}
        }
    }
    if let Some(pe) = svc.persistence_engine.as_deref().filter(|p| !p.is_empty()) {
        write!(f, " --pe {pe}")?;
    }
    if svc.flags.contains(ServiceFlags::ONEPACKET) {
        f.write_str(" -o")?;
    }
    if svc.flags.intersects(ServiceFlags::SCHEDULER) {
        // ipvsadm's `print_sched_flags`: the scheduler's words, comma-separated; for sh and mh
        // the third flag has no name of its own and is left out.
        let words = svc.scheduler.flag_words();
        let named = words[0] != ServiceFlag::Flag1;
        let mut sep = " -b ";
        for w in words {
            if svc.flags.contains(w.bit()) && !(named && w == ServiceFlag::Flag3) {
                write!(f, "{sep}{}", w.word())?;
                sep = ",";
            }
        }
        if sep == " -b " {
            // No word to write: ipvsadm still writes the option, empty.
            f.write_str(" -b ")?;
        }
    }
    Ok(())
}

/// `-a`/`-e` with forwarding, weight and tunnel options as `-S` writes them,
/// and, unlike `-S`, the thresholds.
fn dest_line(
    f: &mut fmt::Formatter<'_>,
    cmd: &str,
    service: &ServiceKey,
    d: &Destination,
) -> fmt::Result {
    // ipvsadm's `fwd_switch`; a method it has no switch for prints as glibc prints NULL.
    let switch = match d.forward.number() {
        0 => "-m",
        2 => "-i",
        1 | 3 => "-g",
        _ => "(null)",
    };
    // Pieces, not `write!`: `apply` prints one of these for each destination it adds.
    f.write_str(cmd)?;
    f.write_str(" ")?;
    fmt::Display::fmt(&Selector(service), f)?;
    f.write_str(" -r ")?;
    fmt::Display::fmt(&AddrPort(d.addr, d.port), f)?;
    f.write_str(" ")?;
    f.write_str(switch)?;
    f.write_str(" -w ")?;
    // ipvsadm prints the weight with %d.
    decimal(f, i64::from(d.weight as i32))?;
    if let Forward::Tunnel { kind, port, flags } = d.forward {
        let csum = if flags.contains(TunnelFlags::REMCSUM) {
            "--tun-remcsum"
        } else if flags.contains(TunnelFlags::CSUM) {
            "--tun-csum"
        } else {
            "--tun-nocsum"
        };
        match kind {
            TunnelType::Ipip => f.write_str(" --tun-type ipip")?,
            TunnelType::Gue => write!(f, " --tun-type gue --tun-port {port} {csum}")?,
            TunnelType::Gre => write!(f, " --tun-type gre {csum}")?,
            _ => {}
        }
    }
    if d.upper_threshold != 0 {
        write!(f, " -x {}", d.upper_threshold)?;
    }
    if d.lower_threshold != 0 {
        write!(f, " -y {}", d.lower_threshold)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DaemonState, SyncDaemon, Timeouts};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn gue(port: u16, flags: TunnelFlags) -> Forward {
        Forward::Tunnel {
            kind: TunnelType::Gue,
            port,
            flags,
        }
    }

    /// The lines the kernel test `apply_every_kind_of_difference_dry_run_first` expects from
    /// `apply --dry-run` (which ipvsadm 1.31 reads back there), and the rarer options.
    #[test]
    fn changes_read_as_ipvsadm_rules() {
        let tcp = ServiceKey::tcp(ip("10.1.0.1"), 80);
        let udp = ServiceKey::udp(ip("10.1.0.1"), 53);
        let v6 = ServiceKey::tcp(ip("2001:db8::1"), 443);
        let fwm6 = ServiceKey::fwmark(9, Family::Inet6);
        let mut sh = Service::new(tcp).with_scheduler("sh");
        sh.flags |= ServiceFlags::SH_PORT;
        let mut ops = Service::new(udp);
        ops.flags |= ServiceFlags::ONEPACKET;
        let mut p6 = Service::new(v6).with_scheduler("wrr").with_persistence(120);
        p6.netmask = Netmask::V6(64);
        let mut pe = Service::new(ServiceKey::udp(ip("10.1.0.2"), 5060)).with_persistence(60);
        pe.persistence_engine = Some("sip".into());
        pe.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
        let masq = Destination::new(ip("10.2.0.1"), 8080)
            .with_forward(Forward::Masquerade)
            .with_weight(5)
            .with_thresholds(10..=100);
        let cases: Vec<(Change, &str)> = vec![
            (
                Change::EditService(sh),
                "-E -t 10.1.0.1:80 -s sh -b sh-port",
            ),
            (
                Change::EditDestination {
                    service: tcp,
                    destination: masq,
                },
                "-e -t 10.1.0.1:80 -r 10.2.0.1:8080 -m -w 5 -x 100 -y 10",
            ),
            (
                Change::EditDestination {
                    service: tcp,
                    destination: Destination::new(ip("10.2.0.3"), 80)
                        .with_forward(gue(6081, TunnelFlags::REMCSUM)),
                },
                "-e -t 10.1.0.1:80 -r 10.2.0.3:80 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum",
            ),
            (
                Change::AddDestination {
                    service: tcp,
                    destination: Destination::new(ip("10.2.0.4"), 80)
                        .with_forward(Forward::ipip()),
                },
                "-a -t 10.1.0.1:80 -r 10.2.0.4:80 -i -w 1 --tun-type ipip",
            ),
            (
                Change::AddDestination {
                    service: tcp,
                    destination: Destination::new(ip("10.2.0.5"), 80).with_forward(
                        Forward::Tunnel {
                            kind: TunnelType::Gre,
                            port: 0,
                            flags: TunnelFlags::CSUM,
                        },
                    ),
                },
                "-a -t 10.1.0.1:80 -r 10.2.0.5:80 -i -w 1 --tun-type gre --tun-csum",
            ),
            (Change::EditService(ops), "-E -u 10.1.0.1:53 -s wlc -o"),
            (
                Change::DeleteDestination {
                    service: udp,
                    addr: ip("10.2.0.1"),
                    port: 53,
                },
                "-d -u 10.1.0.1:53 -r 10.2.0.1:53",
            ),
            (
                Change::EditService(p6),
                "-E -t [2001:db8::1]:443 -s wrr -p 120 -M 64",
            ),
            (
                Change::AddService(pe),
                "-A -u 10.1.0.2:5060 -s wlc -p 60 -M 255.255.255.0 --pe sip",
            ),
            (
                Change::EditDestination {
                    service: v6,
                    destination: Destination::new(ip("2001:db8:2::1"), 443).with_weight(0),
                },
                "-e -t [2001:db8::1]:443 -r [2001:db8:2::1]:443 -g -w 0",
            ),
            (
                Change::AddService(
                    Service::new(ServiceKey::sctp(ip("10.1.0.3"), 5000)).with_scheduler("rr"),
                ),
                "-A --sctp-service 10.1.0.3:5000 -s rr",
            ),
            (
                Change::AddService(Service::new(fwm6).with_scheduler("wrr")),
                "-A -f 9 -6 -s wrr",
            ),
            (
                Change::AddDestination {
                    service: fwm6,
                    destination: Destination::new(ip("2001:db8:2::9"), 0).with_weight(4),
                },
                "-a -f 9 -6 -r [2001:db8:2::9]:0 -g -w 4",
            ),
            (Change::DeleteService(fwm6), "-D -f 9 -6"),
            // ipvsadm 1.31 prints a mark and a weight with %d.
            (
                Change::DeleteService(ServiceKey::fwmark(u32::MAX, Family::Inet)),
                "-D -f -1",
            ),
            (
                Change::AddDestination {
                    service: ServiceKey::fwmark(7, Family::Inet),
                    destination: Destination::new(ip("10.2.0.9"), 0).with_weight(u32::MAX),
                },
                "-a -f 7 -r 10.2.0.9:0 -g -w -1",
            ),
            (
                Change::SetTimeouts(Timeouts {
                    tcp: 900,
                    tcp_fin: 120,
                    udp: 0,
                }),
                "--set 900 120 0",
            ),
            (Change::Zero(None), "-Z"),
            (Change::Zero(Some(udp)), "-Z -u 10.1.0.1:53"),
            (Change::Flush, "-C"),
            (
                Change::StartDaemon(SyncDaemon {
                    mcast_group: Some(ip("224.0.0.81")),
                    mcast_port: Some(8848),
                    ..SyncDaemon::new(DaemonState::Master, "eth0", 5)
                }),
                "--start-daemon master --mcast-interface eth0 --syncid 5 --mcast-group 224.0.0.81 --mcast-port 8848",
            ),
            (
                Change::StopDaemon(DaemonState::Backup),
                "--stop-daemon backup",
            ),
        ];
        for (change, want) in cases {
            assert_eq!(change.to_string(), want, "{change:?}");
        }
    }

    #[test]
    fn scheduler_flags_read_as_print_sched_flags() {
        let key = ServiceKey::tcp(ip("10.1.0.1"), 80);
        let line = |sched: &str, flags: ServiceFlags| {
            let mut s = Service::new(key).with_scheduler(sched);
            s.flags |= flags;
            Change::AddService(s).to_string()
        };
        assert_eq!(
            line("sh", ServiceFlags::SCHEDULER),
            "-A -t 10.1.0.1:80 -s sh -b sh-fallback,sh-port"
        );
        assert_eq!(
            line("rr", ServiceFlags::SCHED1 | ServiceFlags::SCHED3),
            "-A -t 10.1.0.1:80 -s rr -b flag-1,flag-3"
        );
        // The third flag has no word for sh: ipvsadm writes the option, empty.
        assert_eq!(
            line("sh", ServiceFlags::SCHED3),
            "-A -t 10.1.0.1:80 -s sh -b "
        );
    }
}
