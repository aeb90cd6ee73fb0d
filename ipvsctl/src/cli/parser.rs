//! ipvsadm's `parse_options` and the checks of `process_options`: options are
//! applied one by one in the order given, each failing at once with ipvsadm's
//! message, then the command's rules are checked and a [`Command`] is built.
//! Nothing here talks to the kernel.

use std::net::IpAddr;
use std::time::Duration;

use ipvs::{
    Change, DaemonState, Destination, Family, Forward, InvalidValue, Netmask, Protocol, Scheduler,
    Service, ServiceFlag, ServiceFlags, ServiceKey, SyncDaemon, Timeouts, TunnelFlags, TunnelType,
};

use super::lexer::{Lexer, Token};
use super::options::{OptId, OptSpec};
use super::rules::{check_command, check_tunnel, Cmd, Opt, OptSet, Tun};
use super::values::{
    atoi, ipvsadm_message, parse_fwmark, parse_mcast_group, parse_netmask, parse_service,
    string_to_number,
};
use super::{Command, Context, Failure, Invocation, ListFlags, ListRequest, ListWhat, Watch};

// The ranges are the library's, which checks the same values in JSON and Rust.
const MAX_TIMEOUT: i64 = ipvs::MAX_TIMEOUT as i64;
/// ipvsadm's `IPVS_SVC_PERSISTENT_TIMEOUT`.
const DEFAULT_PERSISTENCE: u32 = 360;
const MAX_WEIGHT: i64 = ipvs::MAX_WEIGHT as i64;

/// Parses one invocation: the command line (`args` without the program name)
/// or one line of `-R` input, already split into words.
pub fn parse(prog: &str, args: &[String], ctx: Context) -> Result<Invocation, Failure> {
    let accept: fn(&OptSpec) -> bool = match ctx {
        Context::CommandLine => |_| true,
        Context::RestoreLine => |o| !o.global && !o.hidden,
    };
    let mut lx = Lexer::new(args, accept);
    let mut globals = Globals::default();

    // The first option must be the command (ipvsctl's global options aside).
    let first = loop {
        match lx.next_token() {
            None => {
                if lx.leftovers().is_empty() && ctx == Context::CommandLine {
                    // No arguments at all: ipvsadm lists the table.
                    return globals.finish(Command::List(ListRequest::default()));
                }
                return Err(Failure::try_help(prog));
            }
            Some(Err(_)) => return Err(Failure::try_help(prog)),
            Some(Ok(t)) if t.spec.global => globals.take(&t)?,
            Some(Ok(t)) => break t,
        }
    };
    let value = first.value.as_deref().unwrap_or("");
    let cmd = match first.spec.id {
        OptId::AddService => Cmd::Add,
        OptId::EditService => Cmd::Edit,
        OptId::DeleteService => Cmd::Del,
        OptId::AddServer => Cmd::AddDest,
        OptId::EditServer => Cmd::EditDest,
        OptId::DeleteServer => Cmd::DelDest,
        OptId::Clear => Cmd::Flush,
        OptId::List => Cmd::List,
        OptId::Zero => Cmd::Zero,
        OptId::Set => Cmd::Timeout,
        OptId::Restore => Cmd::Restore,
        OptId::Save => Cmd::Save,
        OptId::StartDaemon => Cmd::StartDaemon,
        OptId::StopDaemon => Cmd::StopDaemon,
        // `-h` prints ipvsadm's usage text; `--help` ipvsctl's fuller help.
        OptId::Help if args.iter().any(|a| a == "--help") => return globals.finish(Command::Help),
        OptId::Help => return globals.finish(Command::Usage),
        OptId::Version => return globals.finish(Command::Version),
        OptId::GenerateMan => return globals.finish(Command::GenerateMan),
        OptId::GenerateCompletions => {
            return globals.finish(Command::GenerateCompletions(value.to_string()))
        }
        _ => return Err(Failure::try_help(prog)),
    };
    let mut e = Entry::new(cmd);
    match first.spec.id {
        OptId::StartDaemon => {
            e.daemon_state = daemon_state(value)
                .ok_or_else(|| Failure::usage("illegal start-daemon parameter specified"))?;
        }
        OptId::StopDaemon => {
            e.daemon_state = daemon_state(value)
                .ok_or_else(|| Failure::usage("illegal start_daemon specified"))?;
        }
        _ => {}
    }

    while let Some(tok) = lx.next_token() {
        let tok = tok.map_err(|err| Failure::popt(lx.last_arg(), err.text()))?;
        if tok.spec.global {
            globals.take(&tok)?;
            continue;
        }
        e.apply(&tok, lx.last_arg()).map_err(Failure::usage)?;
    }

    let mut rest = lx.leftovers().iter();
    if cmd == Cmd::Timeout {
        let (Some(tcp), Some(fin), Some(udp)) = (rest.next(), rest.next(), rest.next()) else {
            return Err(Failure::usage("--set option requires 3 timeout values"));
        };
        e.timeouts = Timeouts {
            tcp: parse_timeout(tcp, 0)?,
            tcp_fin: parse_timeout(fin, 0)?,
            udp: parse_timeout(udp, 0)?,
        };
    }
    if let Some(arg) = rest.next() {
        return Err(Failure::usage(format!("unexpected argument {arg}")));
    }
    if let Some(flags) = e.sched_flags_arg.take() {
        e.apply_sched_flags(&flags).map_err(Failure::usage)?;
    }
    if globals.json {
        e.opts.insert(Opt::Json);
    }
    check_command(cmd, e.opts).map_err(Failure::usage)?;
    if cmd == Cmd::Restore && ctx == Context::RestoreLine {
        // ipvsadm refuses to nest restores ("avoid infinite loop").
        return Err(Failure::try_help(prog));
    }
    let command = e.finish().map_err(Failure::usage)?;
    globals.finish(command)
}

/// `--json` and `--netns`, wherever they appear on the command line.
#[derive(Default)]
struct Globals {
    json: bool,
    netns: Option<String>,
    watch: Option<Duration>,
    count: Option<u64>,
}

impl Globals {
    fn take(&mut self, t: &Token) -> Result<(), Failure> {
        match t.spec.id {
            OptId::Json => self.json = true,
            OptId::Netns => {
                if self.netns.is_some() {
                    return Err(Failure::usage("multiple 'netns' options specified"));
                }
                self.netns = t.value.clone();
            }
            OptId::Watch => {
                let v = t.value.as_deref().unwrap_or("");
                self.watch = Some(parse_watch(v).ok_or_else(|| {
                    Failure::usage(format!(
                        "invalid --watch interval `{v}' specified (seconds, more than 0 and at most 86400)"
                    ))
                })?);
            }
            OptId::Count => {
                let v = t.value.as_deref().unwrap_or("");
                self.count = Some(v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Failure::usage(format!(
                        "invalid --count value `{v}' specified (a whole number, 1 or more)"
                    ))
                })?);
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self, command: Command) -> Result<Invocation, Failure> {
        self.check_watch(&command)?;
        Ok(Invocation {
            command,
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
fn parse_watch(s: &str) -> Option<Duration> {
    let secs: f64 = s.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0 && secs <= 86400.0).then(|| Duration::from_secs_f64(secs))
}

fn daemon_state(s: &str) -> Option<DaemonState> {
    s.parse().ok()
}

/// ipvsadm's `parse_timeout` (with `buf` present): `min..=MAX_TIMEOUT`.
fn parse_timeout(s: &str, min: i64) -> Result<u32, Failure> {
    string_to_number(s, min, MAX_TIMEOUT)
        .map(|n| n as u32)
        .ok_or_else(|| Failure::usage(format!("invalid timeout value `{s}' specified")))
}

/// The first `max` bytes of `s`, as C's `strncpy` into a fixed buffer keeps them.
fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The virtual service being described (ipvsadm's `ce.svc`).
#[derive(Debug, Clone)]
struct Svc {
    family: Option<Family>,
    protocol: Option<Protocol>,
    addr: Option<IpAddr>,
    port: u16,
    fwmark: u32,
    scheduler: String,
    flags: ServiceFlags,
    timeout: u32,
    netmask: Netmask,
    pe: String,
}

/// The real server being described (ipvsadm's `ce.dest`).
#[derive(Debug, Clone)]
struct Dest {
    addr: Option<IpAddr>,
    port: u16,
    forward: Fwd,
    weight: u32,
    upper: u32,
    lower: u32,
    tun: Tun,
    tun_port: u16,
    tun_flags: TunnelFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fwd {
    Route,
    Tunnel,
    Masq,
}

/// Everything one invocation says (ipvsadm's `ipvs_command_entry` plus its
/// `options` and `format`).
struct Entry {
    cmd: Cmd,
    opts: OptSet,
    svc: Svc,
    dest: Dest,
    timeouts: Timeouts,
    daemon_state: DaemonState,
    mcast_ifn: String,
    sync_id: u32,
    sync_maxlen: u16,
    mcast_group: Option<IpAddr>,
    mcast_port: u16,
    mcast_ttl: u8,
    sched_flags_arg: Option<String>,
    list: ListFlags,
}

impl Entry {
    fn new(cmd: Cmd) -> Self {
        Entry {
            cmd,
            opts: OptSet::default(),
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
                upper: 0,
                lower: 0,
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
        }
    }

    /// One option after the command, as ipvsadm's option loop handles it.
    /// `raw` is the argument popt would blame.
    fn apply(&mut self, tok: &Token, raw: &str) -> Result<(), String> {
        let v = tok.value.as_deref().unwrap_or("");
        let number = |min: i64, max: i64, what: &str| {
            string_to_number(v, min, max).ok_or_else(|| format!("illegal {what} specified"))
        };
        match tok.spec.id {
            OptId::TcpService | OptId::UdpService | OptId::SctpService => {
                self.opts.set(Opt::Service)?;
                let proto = match tok.spec.id {
                    OptId::TcpService => Protocol::Tcp,
                    OptId::UdpService => Protocol::Udp,
                    _ => Protocol::Sctp,
                };
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
            }
            OptId::FwmarkService => {
                self.opts.set(Opt::Service)?;
                self.svc.family = Some(Family::Inet);
                self.svc.protocol = Some(Protocol::Tcp);
                self.svc.fwmark = parse_fwmark(v)
                    .ok_or_else(|| format!("invalid fwmark value `{v}' specified"))?;
            }
            OptId::Scheduler => {
                self.opts.set(Opt::Scheduler)?;
                self.svc.scheduler = truncate(v, ipvs::MAX_NAME);
            }
            OptId::Persistent => {
                self.opts.set(Opt::Persistent)?;
                self.svc.flags |= ServiceFlags::PERSISTENT;
                self.svc.timeout = match &tok.value {
                    None => DEFAULT_PERSISTENCE,
                    Some(t) => string_to_number(t, 1, MAX_TIMEOUT)
                        .ok_or_else(|| format!("invalid timeout value `{t}' specified"))?
                        as u32,
                };
            }
            OptId::Netmask => {
                self.opts.set(Opt::Netmask)?;
                if self.svc.family == Some(Family::Inet6) {
                    let n = atoi(v);
                    if !(1..=128).contains(&n) {
                        return Err("illegal ipv6 netmask specified".into());
                    }
                    self.svc.netmask = Netmask::V6(n as u8);
                } else {
                    let m = parse_netmask(v)
                        .ok_or("illegal virtual server persistent mask specified")?;
                    self.svc.netmask = Netmask::V4(m);
                }
            }
            OptId::RealServer => {
                self.opts.set(Opt::Server)?;
                let hp = parse_service(v, self.svc.protocol)
                    .ok_or("illegal real server address[:port] specified")?;
                self.dest.addr = Some(hp.addr);
                // The service's port at this point, when -r names none.
                self.dest.port = hp.port.unwrap_or(self.svc.port);
            }
            OptId::Ipip | OptId::Gatewaying | OptId::Masquerading => {
                self.opts.set(Opt::Forward)?;
                self.dest.forward = match tok.spec.id {
                    OptId::Ipip => Fwd::Tunnel,
                    OptId::Gatewaying => Fwd::Route,
                    _ => Fwd::Masq,
                };
            }
            OptId::Weight => {
                self.opts.set(Opt::Weight)?;
                // Debian's ipvsadm 1.31 (bug 814348) takes weights up to INT_MAX.
                self.dest.weight = number(0, MAX_WEIGHT, "weight")? as u32;
            }
            OptId::UThreshold => {
                self.opts.set(Opt::UThreshold)?;
                self.dest.upper = number(0, MAX_WEIGHT, "u_threshold")? as u32;
            }
            OptId::LThreshold => {
                self.opts.set(Opt::LThreshold)?;
                self.dest.lower = number(0, MAX_WEIGHT, "l_threshold")? as u32;
            }
            OptId::Connection => self.opts.set(Opt::Connection)?,
            OptId::Numeric => {
                self.opts.set(Opt::Numeric)?;
                self.list.numeric = true;
            }
            OptId::McastInterface => {
                self.opts.set(Opt::Mcast)?;
                self.mcast_ifn = truncate(v, ipvs::MAX_IFNAME);
            }
            OptId::SyncId => {
                self.opts.set(Opt::SyncId)?;
                self.sync_id = number(0, ipvs::MAX_SYNC_ID.into(), "syncid")? as u32;
            }
            OptId::Timeout => self.opts.set(Opt::Timeout)?,
            OptId::Daemon => self.opts.set(Opt::Daemon)?,
            OptId::Stats => {
                self.opts.set(Opt::Stats)?;
                self.list.stats = true;
            }
            OptId::Rate => {
                self.opts.set(Opt::Rate)?;
                self.list.rate = true;
            }
            OptId::Thresholds => {
                self.opts.set(Opt::Thresholds)?;
                self.list.thresholds = true;
            }
            OptId::PersistentConn => {
                self.opts.set(Opt::PersistentConn)?;
                self.list.persistent_conn = true;
            }
            OptId::NoSort => {
                self.opts.set(Opt::NoSort)?;
                self.list.nosort = true;
            }
            OptId::Sort => {}
            OptId::Exact => {
                self.opts.set(Opt::Exact)?;
                self.list.exact = true;
            }
            OptId::Ipv6 => {
                if self.svc.fwmark == 0 {
                    return Err("-6 used before -f\n".into());
                }
                self.svc.family = Some(Family::Inet6);
                self.svc.netmask = Netmask::V6(128);
            }
            OptId::Ops => {
                self.opts.set(Opt::OnePacket)?;
                self.svc.flags |= ServiceFlags::ONEPACKET;
            }
            OptId::Pe => {
                self.opts.set(Opt::PersistenceEngine)?;
                // ipvsadm keeps 16 bytes, the kernel compares at most 15 (its
                // IP_VS_PENAME_MAXLEN buffer); no engine has a longer name, so
                // either way the kernel finds none, and 15 pass the library's check.
                self.svc.pe = truncate(v, ipvs::MAX_NAME);
            }
            OptId::SchedFlags => {
                self.opts.set(Opt::SchedFlags)?;
                // ipvsadm keeps it in a 128-byte buffer and reads it at the end.
                self.sched_flags_arg = Some(truncate(v, 127));
            }
            OptId::McastGroup => {
                self.opts.set(Opt::McastGroup)?;
                self.mcast_group = Some(parse_mcast_group(v).map_err(|v6| {
                    let fam = if v6 { "IPv6" } else { "IPv4" };
                    format!("invalid {fam} mcast-group `{v}'")
                })?);
            }
            OptId::McastPort => {
                self.opts.set(Opt::McastPort)?;
                self.mcast_port = number(1, 65535, "mcast-port")? as u16;
            }
            OptId::McastTtl => {
                self.opts.set(Opt::McastTtl)?;
                self.mcast_ttl = number(1, 255, "mcast-ttl")? as u8;
            }
            OptId::SyncMaxlen => {
                self.opts.set(Opt::SyncMaxlen)?;
                self.sync_maxlen = number(1, ipvs::MAX_SYNC_MAXLEN.into(), "sync-maxlen")? as u16;
            }
            OptId::TunInfo => {
                self.opts.set(Opt::TunInfo)?;
                self.list.tun_info = true;
            }
            OptId::TunType => {
                self.opts.set(Opt::TunType)?;
                self.dest.tun = Tun::parse(v).ok_or("illegal tunnel type specified")?;
            }
            OptId::TunPort => {
                self.opts.set(Opt::TunPort)?;
                self.dest.tun_port = number(1, 65535, "tunnel port")? as u16;
            }
            OptId::TunNocsum => self.opts.set(Opt::TunNocsum)?,
            OptId::TunCsum => {
                self.opts.set(Opt::TunCsum)?;
                self.dest.tun_flags |= TunnelFlags::CSUM;
            }
            OptId::TunRemcsum => {
                self.opts.set(Opt::TunRemcsum)?;
                self.dest.tun_flags |= TunnelFlags::REMCSUM;
            }
            // Commands (and globals that reach here) after the first option.
            _ => return Err(format!("invalid option `{raw}'")),
        }
        Ok(())
    }

    /// ipvsadm's `parse_sched_flags`, run after all options (so `-b` may come
    /// before `-s`). An empty `-b ""` sets nothing.
    fn apply_sched_flags(&mut self, arg: &str) -> Result<(), String> {
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
        if !self.opts.has(Opt::Service) {
            return None;
        }
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
    fn finish(self) -> Result<Command, String> {
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
        let dest = Destination {
            addr,
            port,
            forward,
            weight: d.weight,
            upper_threshold: d.upper,
            lower_threshold: d.lower,
        };
        Ok(dest)
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
        let tunnel_opts = [
            Opt::TunType,
            Opt::TunPort,
            Opt::TunNocsum,
            Opt::TunCsum,
            Opt::TunRemcsum,
        ];
        if self.opts.any(&tunnel_opts) && self.dest.forward != Fwd::Tunnel {
            return Err("Tunnel options conflict with forward method".into());
        }
        check_tunnel(self.dest.tun, self.opts)
    }

    fn list(self) -> Result<Command, String> {
        let o = self.opts;
        if (o.any(&[Opt::Connection, Opt::Timeout, Opt::Daemon])
            && o.any(&[Opt::Stats, Opt::Rate, Opt::Thresholds]))
            || (o.any(&[Opt::Timeout, Opt::Daemon]) && o.has(Opt::PersistentConn))
        {
            return Err("options conflicts in the list command".into());
        }
        let what = if o.has(Opt::Connection) {
            ListWhat::Connections
        } else if let Some(key) = self.key() {
            ListWhat::Service(key)
        } else if o.has(Opt::Timeout) {
            ListWhat::Timeouts
        } else if o.has(Opt::Daemon) {
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
