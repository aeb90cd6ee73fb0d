//! What one invocation says, as the options' actions ([`super::options`]) fill it in the order
//! given: ipvsadm's `ipvs_command_entry` ([`Entry`]) and the global options ([`Globals`]). The
//! parser ([`super::parser`]) checks it and builds the command from it.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipvs::{DaemonState, Family, Netmask, Protocol, ServiceFlags, Timeouts, TunnelFlags};

use super::command::ListFlags;
use super::rules::{Cmd, OptSet, Tun};
use super::values::parse_service;

/// `--json`, `--netns`, `--watch`, `--count` and `--settings`, wherever they appear on the
/// command line; `columns` are those of the ones given (`--json`'s).
#[derive(Default)]
pub struct Globals {
    pub json: bool,
    pub settings: bool,
    pub netns: Option<String>,
    pub watch: Option<Duration>,
    pub count: Option<u64>,
    pub columns: OptSet,
}

/// The virtual service being described (ipvsadm's `ce.svc`).
#[derive(Debug, Clone)]
pub struct Svc<'a> {
    pub family: Option<Family>,
    pub protocol: Option<Protocol>,
    /// The address of `-t`, `-u` or `--sctp-service` (when `has_addr`), kept as the command
    /// takes it: no `Option` around it to unpack byte by byte.
    pub addr: IpAddr,
    pub has_addr: bool,
    pub port: u16,
    pub fwmark: u32,
    /// `-s`, cut as ipvsadm cuts it, borrowed from the arguments (as `pe`).
    pub scheduler: &'a str,
    pub flags: ServiceFlags,
    pub timeout: u32,
    pub netmask: Netmask,
    pub pe: &'a str,
}

/// The real server being described (ipvsadm's `ce.dest`).
#[derive(Debug, Clone)]
pub struct Dest {
    /// The address of `-r` (when `has_addr`), kept as the command takes it.
    pub addr: IpAddr,
    pub has_addr: bool,
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
/// `options` and `format`), filled by the options' actions. Its text is borrowed from the
/// arguments: making, filling and dropping one allocates nothing.
pub struct Entry<'a> {
    pub cmd: Cmd,
    pub opts: OptSet,
    pub svc: Svc<'a>,
    pub dest: Dest,
    pub timeouts: Timeouts,
    pub daemon_state: DaemonState,
    pub mcast_ifn: &'a str,
    pub sync_id: u32,
    pub sync_maxlen: u16,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: u16,
    pub mcast_ttl: u8,
    pub sched_flags_arg: Option<&'a str>,
    pub list: ListFlags,
    /// `-c`, `--timeout`, `--daemon`: what a listing shows.
    pub shows_connections: bool,
    pub shows_timeouts: bool,
    pub shows_daemons: bool,
}

impl Globals {
    /// Whether no global option was given.
    pub fn is_empty(&self) -> bool {
        !self.json
            && !self.settings
            && self.netns.is_none()
            && self.watch.is_none()
            && self.count.is_none()
            && self.columns == OptSet::default()
    }
}

impl<'a> Entry<'a> {
    /// The entry of `cmd`, before any option.
    pub fn new(cmd: Cmd) -> Self {
        Entry {
            cmd,
            opts: OptSet::default(),
            svc: Svc {
                family: None,
                protocol: None,
                addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                has_addr: false,
                port: 0,
                fwmark: 0,
                scheduler: "",
                flags: ServiceFlags::empty(),
                timeout: 0,
                netmask: Netmask::full(Family::Inet),
                pe: "",
            },
            dest: Dest {
                addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                has_addr: false,
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
            mcast_ifn: "",
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
        self.svc.addr = hp.addr;
        self.svc.has_addr = true;
        self.svc.family = Some(Family::of(&hp.addr));
        if hp.addr.is_ipv6() {
            self.svc.netmask = Netmask::V6(128);
        }
        if let Some(p) = hp.port {
            self.svc.port = p;
        }
        Ok(())
    }
}
