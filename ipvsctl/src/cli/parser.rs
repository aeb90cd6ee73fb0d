//! What ipvsadm's `parse_options` fills and the checks of `process_options`:
//! the options' actions ([`super::options`]) fill an [`Entry`] one by one in
//! the order given, each failing at once with ipvsadm's message; then the
//! command's rules are checked and [`Entry::finish`] builds the [`Command`].
//! Nothing here talks to the kernel.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use ipvs::{
    Change, DaemonState, Destination, Family, Forward, InvalidValue, Netmask, Protocol, Scheduler,
    Service, ServiceFlag, ServiceFlags, ServiceKey, SyncDaemon, Timeouts, TunnelFlags, TunnelType,
};

use super::options;
use super::rules::{check_command, check_tunnel, Cmd, Column, Legal, OptSet, Tun, ALL_COMMANDS};
use super::values::{ipvsadm_message, parse_service, string_to_number};
use super::{Command, Failure, Invocation, ListFlags, ListRequest, ListWhat, Unsaid, Watch};

// The ranges are the library's, which checks the same values in JSON and Rust.
const MAX_TIMEOUT: i64 = ipvs::limits::MAX_TIMEOUT as i64;
pub const MAX_WEIGHT: i64 = ipvs::limits::MAX_WEIGHT as i64;

/// `--json`, `--netns`, `--watch` and `--count`, wherever they appear on the
/// command line; `columns` are those of the ones given (`--json`'s).
#[derive(Default)]
pub struct Globals {
    pub json: bool,
    pub netns: Option<String>,
    pub watch: Option<Duration>,
    pub count: Option<u64>,
    pub columns: OptSet,
}

impl Globals {
    /// The invocation of `command` with these options.
    pub fn finish(self, command: Command) -> Result<Invocation, Failure> {
        self.check_watch(&command)?;
        Ok(Invocation {
            command,
            unsaid: Unsaid::default(),
            json: self.json,
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

/// `--watch`'s value: seconds, a decimal number above 0 and at most a day.
pub fn parse_watch(s: &str) -> Option<Duration> {
    let secs: f64 = s.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0 && secs <= 86400.0).then(|| Duration::from_secs_f64(secs))
}

pub fn daemon_state(s: &str) -> Option<DaemonState> {
    s.parse().ok()
}

/// ipvsadm's `parse_timeout` (with `buf` present): `min..=MAX_TIMEOUT`.
pub fn timeout(s: &str, min: i64) -> Result<u32, String> {
    string_to_number(s, min, MAX_TIMEOUT)
        .map(|n| n as u32)
        .ok_or_else(|| format!("invalid timeout value `{s}' specified"))
}

/// ipvsadm's `string_to_number` in `min..=max`, or `illegal <what> specified`.
pub fn number(v: &str, min: i64, max: i64, what: &str) -> Result<i64, String> {
    string_to_number(v, min, max).ok_or_else(|| format!("illegal {what} specified"))
}

/// The first `max` bytes of `s`, as C's `strncpy` into a fixed buffer keeps them.
pub fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The virtual service being described (ipvsadm's `ce.svc`).
#[derive(Debug, Clone)]
pub struct Svc {
    pub family: Option<Family>,
    pub protocol: Option<Protocol>,
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub fwmark: u32,
    pub scheduler: String,
    pub flags: ServiceFlags,
    pub timeout: u32,
    pub netmask: Netmask,
    pub pe: String,
}

/// The real server being described (ipvsadm's `ce.dest`).
#[derive(Debug, Clone)]
pub struct Dest {
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub forward: Fwd,
    pub weight: u32,
    /// `-x`; `None` when the invocation does not give it (ipvsadm sends 0).
    pub upper: Option<u32>,
    /// `-y`; `None` when the invocation does not give it (ipvsadm sends 0).
    pub lower: Option<u32>,
    pub tun: Tun,
    pub tun_port: u16,
    pub tun_flags: TunnelFlags,
}

/// The forwarding method of `-g`, `-i` and `-m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fwd {
    Route,
    Tunnel,
    Masq,
}

/// Everything one invocation says (ipvsadm's `ipvs_command_entry` plus its
/// `options` and `format`), filled by the options' actions.
pub struct Entry {
    pub cmd: Cmd,
    pub opts: OptSet,
    /// Every option column, in ipvsadm's order, for the checks.
    columns: &'static [&'static Column],
    pub svc: Svc,
    pub dest: Dest,
    pub timeouts: Timeouts,
    pub daemon_state: DaemonState,
    pub mcast_ifn: String,
    pub sync_id: u32,
    pub sync_maxlen: u16,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: u16,
    pub mcast_ttl: u8,
    pub sched_flags_arg: Option<String>,
    pub list: ListFlags,
    /// `-c`, `--timeout`, `--daemon`: what a listing shows.
    pub shows_connections: bool,
    pub shows_timeouts: bool,
    pub shows_daemons: bool,
}

impl Entry {
    /// The entry of `cmd`, before any option.
    pub fn new(cmd: Cmd) -> Self {
        Entry {
            cmd,
            opts: OptSet::default(),
            columns: options::columns(),
            svc: Svc {
                family: None,
                protocol: None,
                addr: None,
                port: 0,
                fwmark: 0,
                scheduler: String::new(),
                flags: ServiceFlags::empty(),
                timeout: 0,
                netmask: Netmask::full(Family::Inet),
                pe: String::new(),
            },
            dest: Dest {
                addr: None,
                port: 0,
                forward: Fwd::Route,
                weight: 1,
                upper: None,
                lower: None,
                tun: Tun::Ipip,
                tun_port: 0,
                tun_flags: TunnelFlags::empty(),
            },
            timeouts: Timeouts::default(),
            daemon_state: DaemonState::Master,
            mcast_ifn: String::new(),
            sync_id: 0,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
            sched_flags_arg: None,
            list: ListFlags::default(),
            shows_connections: false,
            shows_timeouts: false,
            shows_daemons: false,
        }
    }

    /// `-t`, `-u`, `--sctp-service`: the service's address and port.
    pub fn service_address(&mut self, proto: Protocol, v: &str) -> Result<(), String> {
        self.svc.protocol = Some(proto);
        let hp = parse_service(v, Some(proto))
            .ok_or("illegal virtual server address[:port] specified")?;
        self.svc.addr = Some(hp.addr);
        self.svc.family = Some(Family::of(&hp.addr));
        if hp.addr.is_ipv6() {
            self.svc.netmask = Netmask::V6(128);
        }
        if let Some(p) = hp.port {
            self.svc.port = p;
        }
        Ok(())
    }

    /// The command's rules (`generic_opt_check`) for the options given.
    pub fn check(&self) -> Result<(), String> {
        if rules()
            .commands
            .iter()
            .any(|(c, l)| *c == self.cmd && l.admits(self.opts))
        {
            return Ok(());
        }
        check_command(self.cmd, self.opts, self.columns)
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
            Scheduler::from(self.svc.scheduler.as_str())
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
        Some(ServiceKey::Addr {
            protocol: self.svc.protocol.unwrap_or(Protocol::Tcp),
            addr: self.svc.addr?,
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

    pub fn finish(self) -> Result<Command, String> {
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
                addr: self
                    .dest
                    .addr
                    .ok_or("illegal real server address[:port] specified")?,
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
                        self.mcast_ifn
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
            persistence_engine: (!s.pe.is_empty()).then(|| s.pe.clone()),
        };
        service.validate().map_err(|e| worded(&e))?;
        Ok(service)
    }

    fn destination(&self) -> Result<Destination, String> {
        let d = &self.dest;
        let addr = d
            .addr
            .ok_or("illegal real server address[:port] specified")?;
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
    /// the tunnel type takes them.
    fn check_tunnel_options(&self) -> Result<(), String> {
        let rules = rules();
        if rules.tunnel_options.any_given(self.opts) && self.dest.forward != Fwd::Tunnel {
            return Err("Tunnel options conflict with forward method".into());
        }
        if rules.tunnels[self.dest.tun as usize].admits(self.opts) {
            return Ok(());
        }
        check_tunnel(self.dest.tun, self.opts, self.columns)
    }

    fn list(self) -> Result<Command, String> {
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

/// ipvsadm's tables as masks over [`options::columns`], made once: every
/// `-R` line is checked against them.
struct Rules {
    commands: Vec<(Cmd, Legal)>,
    /// By [`Tun`].
    tunnels: [Legal; 3],
    /// Rules every tunnel option: given when any is.
    tunnel_options: Legal,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let columns = options::columns();
        Rules {
            commands: ALL_COMMANDS
                .iter()
                .map(|&c| (c, Legal::of(c, columns)))
                .collect(),
            tunnels: [Tun::Ipip, Tun::Gue, Tun::Gre].map(|t| Legal::of_tunnel(t, columns)),
            tunnel_options: Legal::of_tunnel(Tun::Ipip, columns),
        }
    })
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
