//! The checks of ipvsadm's `process_options`: once the options' actions
//! ([`super::options`]) have filled an [`Entry`] ([`super::entry`]) one by one in
//! the order given, each failing at once with ipvsadm's message, the
//! command's rules are checked and [`Entry::finish`] builds the [`Command`].
//! Nothing here talks to the kernel.

use ipvs::limits::InvalidValue;
use ipvs::{
    Change, Destination, Family, Forward, Netmask, Protocol, Scheduler, Service, ServiceFlag,
    ServiceFlags, ServiceKey, SyncDaemon, TunnelType,
};

use super::command::{Command, Failure, Invocation, ListRequest, ListWhat, Unsaid, Watch};
use super::entry::{Entry, Fwd, Globals};
use super::options;
use super::rules::{check_command, check_tunnel, Cmd, Legal, Tun, ALL_COMMANDS};
use super::values::ipvsadm_message;

impl Globals {
    /// The invocation of `command` with these options.
    pub fn finish(self, command: Command) -> Result<Invocation, Failure> {
        self.check_watch(&command)?;
        if self.settings && !(self.json && matches!(command, Command::Save { .. })) {
            return Err(Failure::usage("--settings is only for -S --json"));
        }
        Ok(Invocation {
            command,
            unsaid: Unsaid::default(),
            json: self.json,
            settings: self.settings,
            netns: self.netns,
            watch: self.watch.map(|interval| Watch {
                interval,
                count: self.count,
            }),
        })
    }

    /// `--watch` only with a listing, `--count` only with `--watch`.
    fn check_watch(&self, command: &Command) -> Result<(), Failure> {
        if self.count.is_some() && self.watch.is_none() {
            return Err(Failure::usage("--count needs --watch"));
        }
        if self.watch.is_some() && !matches!(command, Command::List(_)) {
            return Err(Failure::usage("--watch is only for listings (-L)"));
        }
        Ok(())
    }
}

impl Entry<'_> {
    /// The command's rules (`generic_opt_check`) for the options given: a few bit operations
    /// inline, the walk that names what is wrong only when something is.
    #[inline(always)]
    pub fn check(&self) -> Result<(), String> {
        if rules().commands[self.cmd as usize].admits(self.opts) {
            return Ok(());
        }
        check_command(self.cmd, self.opts, options::columns())
    }

    /// ipvsadm's `parse_sched_flags`, run after all options (so `-b` may come
    /// before `-s`). An empty `-b ""` sets nothing.
    pub fn apply_sched_flags(&mut self, arg: &str) -> Result<(), String> {
        if arg.is_empty() {
            return Ok(());
        }
        let sched = self.scheduler();
        let mut flags = ServiceFlags::empty();
        let mut any = false;
        for word in arg.split(',').filter(|f| !f.is_empty()) {
            any = true;
            // The library's words; -b takes only the scheduler flags among them.
            let flag = word
                .parse::<ServiceFlag>()
                .ok()
                .filter(|f| f.is_scheduler_flag())
                .ok_or_else(|| format!("invalid scheduler flag `{word}'"))?;
            flags |= flag.bit();
            if !flag.fits(&sched) {
                let e = InvalidValue::FlagScheduler {
                    flag,
                    scheduler: sched,
                };
                return Err(ipvsadm_message(&e).unwrap_or_else(|| e.to_string()));
            }
        }
        if !any {
            // ipvsadm crashes on "-b ," (strtok finds no token); refuse it.
            return Err(format!("invalid scheduler flag `{arg}'"));
        }
        self.svc
            .flags
            .remove(ServiceFlags::SCHED1 | ServiceFlags::SCHED2 | ServiceFlags::SCHED3);
        self.svc.flags |= flags;
        Ok(())
    }

    /// `-s`, or ipvsadm's default.
    fn scheduler(&self) -> Scheduler {
        if self.svc.scheduler.is_empty() {
            Scheduler::WeightedLeastConnection
        } else {
            Scheduler::from(self.svc.scheduler)
        }
    }

    /// The service named by -t/-u/--sctp-service/-f, if any.
    fn key(&self) -> Option<ServiceKey> {
        // Each service option sets the protocol (-f too).
        self.svc.protocol?;
        if self.svc.fwmark != 0 {
            return Some(ServiceKey::fwmark(
                self.svc.fwmark,
                self.svc.family.unwrap_or(Family::Inet),
            ));
        }
        if !self.svc.has_addr {
            return None;
        }
        Some(ServiceKey::Addr {
            protocol: self.svc.protocol.unwrap_or(Protocol::Tcp),
            addr: self.svc.addr,
            port: self.svc.port,
        })
    }

    fn required_key(&self) -> Result<ServiceKey, String> {
        // generic_opt_check has made sure the service was given.
        self.key()
            .ok_or_else(|| "illegal virtual server address[:port] specified".to_string())
    }

    /// The checks of `process_options` that follow `generic_opt_check`, and
    /// the command they leave.
    /// What a destination command leaves to ipvsadm's defaults only because no option names it.
    pub fn unsaid(&self) -> Unsaid {
        match self.cmd {
            Cmd::AddDest | Cmd::EditDest => Unsaid {
                upper_threshold: self.dest.upper.is_none(),
                lower_threshold: self.dest.lower.is_none(),
            },
            _ => Unsaid::default(),
        }
    }

    pub fn finish(&self) -> Result<Command, String> {
        let change = match self.cmd {
            Cmd::Add | Cmd::Edit => {
                let svc = self.service()?;
                if self.cmd == Cmd::Add {
                    Change::AddService(svc)
                } else {
                    Change::EditService(svc)
                }
            }
            Cmd::Del => Change::DeleteService(self.required_key()?),
            Cmd::AddDest | Cmd::EditDest => {
                let service = self.required_key()?;
                let destination = self.checked_destination(&service)?;
                if self.cmd == Cmd::AddDest {
                    Change::AddDestination {
                        service,
                        destination,
                    }
                } else {
                    Change::EditDestination {
                        service,
                        destination,
                    }
                }
            }
            Cmd::DelDest => Change::DeleteDestination {
                service: self.required_key()?,
                addr: self.dest_addr()?,
                port: self.dest.port,
            },
            Cmd::Flush => Change::Flush,
            Cmd::Zero => Change::Zero(self.key().filter(|k| !zeroes_everything(k))),
            Cmd::Timeout => Change::SetTimeouts(self.timeouts),
            Cmd::StartDaemon => {
                let daemon = SyncDaemon {
                    state: self.daemon_state,
                    mcast_interface: if self.mcast_ifn.is_empty() {
                        "eth0".to_string()
                    } else {
                        self.mcast_ifn.to_string()
                    },
                    sync_id: self.sync_id,
                    sync_maxlen: (self.sync_maxlen != 0).then_some(self.sync_maxlen),
                    mcast_group: self.mcast_group,
                    mcast_port: (self.mcast_port != 0).then_some(self.mcast_port),
                    mcast_ttl: (self.mcast_ttl != 0).then_some(self.mcast_ttl),
                };
                daemon.validate().map_err(|e| worded(&e))?;
                Change::StartDaemon(daemon)
            }
            Cmd::StopDaemon => Change::StopDaemon(self.daemon_state),
            Cmd::List => return self.list(),
            Cmd::Restore => return Ok(Command::Restore),
            Cmd::Save => {
                return Ok(Command::Save {
                    numeric: self.list.numeric,
                })
            }
        };
        Ok(Command::Change(change))
    }

    /// The service, with the library's checks (port 0 only when
    /// persistent, one-packet scheduling only for UDP, ...) in ipvsadm's words.
    fn service(&self) -> Result<Service, String> {
        let s = &self.svc;
        let key = self.required_key()?;
        let scheduler = self.scheduler();
        // The netmask always matches the family (-t [v6] and -6 reset it).
        let netmask = match (key.family(), s.netmask) {
            (Family::Inet6, Netmask::V4(_)) => Netmask::V6(128),
            (Family::Inet, Netmask::V6(_)) => Netmask::full(Family::Inet),
            (_, m) => m,
        };
        let service = Service {
            key,
            scheduler,
            flags: s.flags,
            timeout: s.timeout,
            netmask,
            persistence_engine: (!s.pe.is_empty()).then(|| s.pe.to_string()),
        };
        service.validate().map_err(|e| worded(&e))?;
        Ok(service)
    }

    /// `-r`'s address (generic_opt_check has made sure it was given).
    fn dest_addr(&self) -> Result<std::net::IpAddr, String> {
        if self.dest.has_addr {
            Ok(self.dest.addr)
        } else {
            Err("illegal real server address[:port] specified".into())
        }
    }

    fn destination(&self) -> Result<Destination, String> {
        let d = &self.dest;
        let addr = self.dest_addr()?;
        let mut port = d.port;
        // The destination port must be the service's for direct routing and
        // tunnelling, unless the service is a fwmark one.
        if self.svc.fwmark == 0 && matches!(d.forward, Fwd::Tunnel | Fwd::Route) {
            port = self.svc.port;
        }
        let forward = match d.forward {
            Fwd::Route => Forward::DirectRoute,
            Fwd::Masq => Forward::Masquerade,
            Fwd::Tunnel => Forward::Tunnel {
                kind: match d.tun {
                    Tun::Ipip => TunnelType::Ipip,
                    Tun::Gue => TunnelType::Gue,
                    Tun::Gre => TunnelType::Gre,
                },
                port: d.tun_port,
                flags: d.tun_flags,
            },
        };
        Ok(Destination {
            addr,
            port,
            forward,
            weight: d.weight,
            upper_threshold: d.upper.unwrap_or(0),
            lower_threshold: d.lower.unwrap_or(0),
        })
    }

    /// The library's checks on the destination, in ipvsadm's words and order:
    /// the family first, then the tunnel options (ipvsadm's own rules on the
    /// options given), then the rest. A lower threshold above the upper one
    /// is left to the kernel, which refuses it, as ipvsadm does.
    fn checked_destination(&self, service: &ServiceKey) -> Result<Destination, String> {
        let dest = self.destination()?;
        match dest.validate(service) {
            Err(e @ InvalidValue::Family) => return Err(worded(&e)),
            Err(InvalidValue::ThresholdOrder { .. }) | Ok(()) => {}
            Err(e) => {
                self.check_tunnel_options()?;
                return Err(worded(&e));
            }
        }
        self.check_tunnel_options()?;
        Ok(dest)
    }

    /// ipvsadm's rules on the tunnel options given: only with `-i`, and as
    /// the tunnel type takes them. Inlined: every destination line checks them, and nearly
    /// always gives none.
    #[inline(always)]
    fn check_tunnel_options(&self) -> Result<(), String> {
        let rules = rules();
        if rules.tunnel_options.any_given(self.opts) && self.dest.forward != Fwd::Tunnel {
            return Err("Tunnel options conflict with forward method".into());
        }
        if rules.tunnels[self.dest.tun as usize].admits(self.opts) {
            return Ok(());
        }
        check_tunnel(self.dest.tun, self.opts, options::columns())
    }

    fn list(&self) -> Result<Command, String> {
        let f = &self.list;
        let table = self.shows_timeouts || self.shows_daemons;
        if ((self.shows_connections || table) && (f.stats || f.rate || f.thresholds))
            || (table && f.persistent_conn)
        {
            return Err("options conflicts in the list command".into());
        }
        let what = if self.shows_connections {
            ListWhat::Connections
        } else if let Some(key) = self.key() {
            ListWhat::Service(key)
        } else if self.shows_timeouts {
            ListWhat::Timeouts
        } else if self.shows_daemons {
            ListWhat::Daemons
        } else {
            ListWhat::All
        };
        Ok(Command::List(ListRequest {
            what,
            flags: self.list,
        }))
    }
}

/// ipvsadm's tables as masks over [`options::columns`], made when compiling from the option
/// table: every `-R` line is checked against them.
struct Rules {
    /// By [`Cmd`] (`ALL_COMMANDS` is in its order).
    commands: [Legal; ALL_COMMANDS.len()],
    /// By [`Tun`].
    tunnels: [Legal; 3],
    /// Rules every tunnel option: given when any is.
    tunnel_options: Legal,
}

static RULES: Rules = Rules {
    commands: {
        let mut all = [Legal::NONE; ALL_COMMANDS.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = options::legal_of(ALL_COMMANDS[i]);
            i += 1;
        }
        all
    },
    tunnels: [
        options::legal_of_tunnel(Tun::Ipip),
        options::legal_of_tunnel(Tun::Gue),
        options::legal_of_tunnel(Tun::Gre),
    ],
    tunnel_options: options::legal_of_tunnel(Tun::Ipip),
};

#[inline(always)]
fn rules() -> &'static Rules {
    &RULES
}

/// A failed check of the library in ipvsadm's words, or in the library's
/// where ipvsadm has none.
fn worded(e: &InvalidValue) -> String {
    ipvsadm_message(e).unwrap_or_else(|| e.to_string())
}

/// libipvs zeroes every service when the one given has no fwmark, a zero
/// address and port 0 (`-Z -t 0.0.0.0:0`).
fn zeroes_everything(k: &ServiceKey) -> bool {
    match k {
        ServiceKey::Addr { addr, port, .. } => addr.is_unspecified() && *port == 0,
        ServiceKey::Fwmark { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables made when compiling are those made from [`options::columns`] at run time
    /// (as they were made before), and they rule something.
    #[test]
    fn rules_made_when_compiling_are_the_columns_rules() {
        let columns = options::columns();
        for c in ALL_COMMANDS {
            assert_eq!(RULES.commands[c as usize], Legal::of(c, columns), "{c:?}");
        }
        for t in [Tun::Ipip, Tun::Gue, Tun::Gre] {
            assert_eq!(
                RULES.tunnels[t as usize],
                Legal::of_tunnel(t, columns),
                "{t:?}"
            );
        }
        assert_eq!(RULES.tunnel_options, Legal::of_tunnel(Tun::Ipip, columns));
        assert_ne!(RULES.commands[Cmd::AddDest as usize], Legal::NONE);
        assert_ne!(RULES.tunnels[Tun::Gue as usize], Legal::NONE);
    }
}
