//! Every option `ipvsctl` knows, each defined once in [`OPTIONS`]: its names,
//! help, value, the ipvsadm column that decides with which commands it is
//! legal, and what it does. ipvsadm 1.31's popt table plus ipvsctl's extras.
//!
//! The lexer matches arguments against the table, the parser runs each
//! option's [`Action`], the rules check each option's `Column`, and the
//! help text, man page and shell completions are generated from it: adding an
//! option is adding an item here (and its tests).

use std::sync::OnceLock;

use ipvs::{Family, Netmask, Protocol, Scheduler, ServiceFlags, TunnelFlags};

use super::command::{Command as Cli, Failure};
use super::entry::{Entry, Fwd, Globals};
use super::rules::Cmd::{self, *};
use super::rules::{Column, Legal, Tun, COLUMN};
use super::values::{
    atoi, number, parse_fwmark, parse_mcast_group, parse_netmask, parse_service, parse_watch,
    timeout, truncate, MAX_WEIGHT,
};

/// Whether an option takes a value, as popt sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A flag (`POPT_ARG_NONE`).
    None,
    /// A value, from `--opt=V`, the rest of a short cluster, or the next
    /// argument whatever it looks like (`POPT_ARG_STRING`).
    Required,
    /// An optional value: the next argument only when it does not start
    /// with `-` (`POPT_ARGFLAG_OPTIONAL`, ipvsadm's `-p`).
    Optional,
}

/// Where an option appears in the help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Command,
    Service,
    ServiceOption,
    ServerOption,
    ListOption,
    DaemonOption,
    Extra,
}

impl Section {
    /// The help heading.
    pub fn heading(self) -> &'static str {
        match self {
            Section::Command => "Commands (exactly one, given first)",
            Section::Service => "Virtual service (host[:port], [v6addr]:port, or a fwmark)",
            Section::ServiceOption => "Virtual service options (-A, -E)",
            Section::ServerOption => "Real server options (-a, -e, -d)",
            Section::ListOption => "Listing options (-L, -S)",
            Section::DaemonOption => "Sync daemon options (--start-daemon)",
            Section::Extra => "ipvsctl extras",
        }
    }
}

/// What an option does.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// It is the command: legal only as the first option (its value, for
    /// `--start-daemon`, is the command's).
    Command(Cmd),
    /// As the first option, the whole invocation (`-h`, `-v`, `--generate-man`);
    /// given its value and whether `--help` is among the arguments.
    Exit(fn(&str, bool) -> Cli),
    /// ipvsctl's options that may appear anywhere on the command line and
    /// never in `-R` input (`--json`, `--netns`); given its value.
    Global(fn(&mut Globals, &str) -> Result<(), Failure>),
    /// An option after the command: records its value (`""` for a flag), or
    /// says what is wrong with ipvsadm's message.
    Set(for<'a> fn(&mut Entry<'a>, &'a str) -> Result<(), String>),
    /// [`Action::Set`] for an option whose value may be absent (`-p`).
    SetMaybe(for<'a> fn(&mut Entry<'a>, Option<&'a str>) -> Result<(), String>),
}

/// One option.
#[derive(Debug)]
pub struct OptSpec {
    /// `--long` name (without dashes).
    pub long: &'static str,
    /// `-c` short name, if any.
    pub short: Option<char>,
    /// Further short spellings (ipvsadm's `-l` for `-L`).
    pub short_aliases: &'static [char],
    pub arg: ArgKind,
    /// The value's placeholder in help; for `--set`, its three plain arguments.
    pub value_names: &'static [&'static str],
    /// The values the completions offer (the help text already names them).
    pub values: &'static [&'static str],
    pub help: &'static str,
    pub section: Section,
    /// Left out of the help, the man page and the completions, and never read
    /// in `-R` input.
    pub hidden: bool,
    /// ipvsadm's column: the option's name in messages and the commands it is
    /// legal with; `None` for options that may appear with any command,
    /// as often as wanted (`--sort`, `-6`), and for commands.
    pub column: Option<Column>,
    pub action: Action,
}

impl OptSpec {
    /// Recognised only on the command line, never in `-R` input, and never
    /// counted as the command: `--json`, `--netns`...
    pub const fn is_global(&self) -> bool {
        matches!(self.action, Action::Global(_))
    }

    /// Whether a line of `-R` input has it: no global and no hidden option.
    pub const fn in_restore_line(&self) -> bool {
        !self.is_global() && !self.hidden
    }
}

/// The defaults an item of [`OPTIONS`] starts from: a flag that does nothing.
const OPTION: OptSpec = OptSpec {
    long: "",
    short: None,
    short_aliases: &[],
    arg: ArgKind::None,
    value_names: &[],
    values: &[],
    help: "",
    section: Section::Extra,
    hidden: false,
    column: None,
    action: Action::Set(|_, _| Ok(())),
};

/// `-t`, `-u`, `--sctp-service` and `-f` are one column: one service per command.
const SERVICE: Column = Column {
    index: 2,
    name: "service-address",
    needed_by: &[Add, Edit, Del, AddDest, DelDest, EditDest],
    one_of: &[List],
    allowed: &[Zero],
    ..COLUMN
};

/// `-m`, `-i` and `-g` are one column: one forwarding method per real server.
const FORWARD: Column = Column {
    index: 7,
    name: "forwarding-method",
    allowed: &[AddDest, EditDest],
    ..COLUMN
};

/// The table, in ipvsadm's popt order (which decides nothing but reads like the source).
pub static OPTIONS: &[OptSpec] = &[
    OptSpec {
        long: "add-service",
        short: Some('A'),
        section: Section::Command,
        help: "Add a virtual service",
        action: Action::Command(Add),
        ..OPTION
    },
    OptSpec {
        long: "edit-service",
        short: Some('E'),
        section: Section::Command,
        help: "Edit a virtual service",
        action: Action::Command(Edit),
        ..OPTION
    },
    OptSpec {
        long: "delete-service",
        short: Some('D'),
        section: Section::Command,
        help: "Delete a virtual service and its real servers",
        action: Action::Command(Del),
        ..OPTION
    },
    OptSpec {
        long: "clear",
        short: Some('C'),
        section: Section::Command,
        help: "Clear the whole table",
        action: Action::Command(Flush),
        ..OPTION
    },
    OptSpec {
        long: "list",
        short: Some('L'),
        short_aliases: &['l'],
        section: Section::Command,
        help: "List the table (the default with no arguments)",
        action: Action::Command(List),
        ..OPTION
    },
    OptSpec {
        long: "zero",
        short: Some('Z'),
        section: Section::Command,
        help: "Zero the counters of a service, or of all services",
        action: Action::Command(Zero),
        ..OPTION
    },
    OptSpec {
        long: "add-server",
        short: Some('a'),
        section: Section::Command,
        help: "Add a real server to a virtual service",
        action: Action::Command(AddDest),
        ..OPTION
    },
    OptSpec {
        long: "edit-server",
        short: Some('e'),
        section: Section::Command,
        help: "Edit a real server",
        action: Action::Command(EditDest),
        ..OPTION
    },
    OptSpec {
        long: "delete-server",
        short: Some('d'),
        section: Section::Command,
        help: "Delete a real server",
        action: Action::Command(DelDest),
        ..OPTION
    },
    OptSpec {
        long: "set",
        value_names: &["TCP", "TCPFIN", "UDP"],
        section: Section::Command,
        help: "Set the connection timeouts, in seconds (0 keeps one)",
        action: Action::Command(Timeout),
        ..OPTION
    },
    OptSpec {
        long: "help",
        short: Some('h'),
        section: Section::Command,
        help: "Print this help",
        action: Action::Exit(|_, long_help| {
            // `-h` prints ipvsadm's usage text; `--help` ipvsctl's fuller help.
            if long_help {
                Cli::Help
            } else {
                Cli::Usage
            }
        }),
        ..OPTION
    },
    OptSpec {
        long: "version",
        short: Some('v'),
        section: Section::Command,
        help: "Print the version",
        action: Action::Exit(|_, _| Cli::Version),
        ..OPTION
    },
    OptSpec {
        long: "restore",
        short: Some('R'),
        section: Section::Command,
        help: "Restore rules from stdin: -S output or ipvsadm command lines",
        action: Action::Command(Restore),
        ..OPTION
    },
    OptSpec {
        long: "save",
        short: Some('S'),
        section: Section::Command,
        help: "Save the rules to stdout, in the form -R reads",
        action: Action::Command(Save),
        ..OPTION
    },
    OptSpec {
        long: "start-daemon",
        arg: ArgKind::Required,
        value_names: &["master|backup"],
        values: &["master", "backup"],
        section: Section::Command,
        help: "Start a connection sync daemon",
        action: Action::Command(StartDaemon),
        ..OPTION
    },
    OptSpec {
        long: "stop-daemon",
        arg: ArgKind::Required,
        value_names: &["master|backup"],
        values: &["master", "backup"],
        section: Section::Command,
        help: "Stop a connection sync daemon",
        action: Action::Command(StopDaemon),
        ..OPTION
    },
    OptSpec {
        long: "tcp-service",
        short: Some('t'),
        arg: ArgKind::Required,
        value_names: &["service-address"],
        section: Section::Service,
        help: "A TCP virtual service: host[:port] or [v6addr]:port",
        column: Some(SERVICE),
        action: Action::Set(|e, v| e.service_address(Protocol::Tcp, v)),
        ..OPTION
    },
    OptSpec {
        long: "udp-service",
        short: Some('u'),
        arg: ArgKind::Required,
        value_names: &["service-address"],
        section: Section::Service,
        help: "A UDP virtual service: host[:port] or [v6addr]:port",
        column: Some(SERVICE),
        action: Action::Set(|e, v| e.service_address(Protocol::Udp, v)),
        ..OPTION
    },
    OptSpec {
        long: "sctp-service",
        arg: ArgKind::Required,
        value_names: &["service-address"],
        section: Section::Service,
        help: "An SCTP virtual service: host[:port] or [v6addr]:port",
        column: Some(SERVICE),
        action: Action::Set(|e, v| e.service_address(Protocol::Sctp, v)),
        ..OPTION
    },
    OptSpec {
        long: "fwmark-service",
        short: Some('f'),
        arg: ArgKind::Required,
        value_names: &["fwmark"],
        section: Section::Service,
        help: "A firewall-mark virtual service (an integer greater than zero)",
        column: Some(SERVICE),
        action: Action::Set(|e, v| {
            e.svc.family = Some(Family::Inet);
            e.svc.protocol = Some(Protocol::Tcp);
            e.svc.fwmark =
                parse_fwmark(v).ok_or_else(|| format!("invalid fwmark value `{v}' specified"))?;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "scheduler",
        short: Some('s'),
        arg: ArgKind::Required,
        value_names: &["scheduler"],
        values: &Scheduler::KNOWN,
        section: Section::ServiceOption,
        help: "Scheduler: rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh (default wlc)",
        column: Some(Column {
            index: 3,
            name: "scheduler",
            allowed: &[Add, Edit],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.svc.scheduler = truncate(v, ipvs::limits::MAX_NAME);
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "persistent",
        short: Some('p'),
        arg: ArgKind::Optional,
        value_names: &["timeout"],
        section: Section::ServiceOption,
        help: "Persistent service, for timeout seconds (default 360)",
        column: Some(Column {
            index: 4,
            name: "persistent",
            allowed: &[Add, Edit],
            ..COLUMN
        }),
        action: Action::SetMaybe(|e, v| {
            e.svc.flags |= ServiceFlags::PERSISTENT;
            e.svc.timeout = match v {
                // ipvsadm's `IPVS_SVC_PERSISTENT_TIMEOUT`.
                None => ipvs::Service::DEFAULT_PERSISTENCE,
                Some(t) => timeout(t, 1)?,
            };
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "netmask",
        short: Some('M'),
        arg: ArgKind::Required,
        value_names: &["netmask"],
        section: Section::ServiceOption,
        help: "Persistence granularity mask (a.b.c.d, or a prefix length for IPv6)",
        column: Some(Column {
            index: 5,
            name: "netmask",
            allowed: &[Add, Edit],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            if e.svc.family == Some(Family::Inet6) {
                let n = atoi(v);
                if !(1..=128).contains(&n) {
                    return Err("illegal ipv6 netmask specified".into());
                }
                e.svc.netmask = Netmask::V6(n as u8);
            } else {
                let m =
                    parse_netmask(v).ok_or("illegal virtual server persistent mask specified")?;
                e.svc.netmask = Netmask::V4(m);
            }
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "real-server",
        short: Some('r'),
        arg: ArgKind::Required,
        value_names: &["server-address"],
        section: Section::ServerOption,
        help: "The real server: host[:port] or [v6addr]:port",
        column: Some(Column {
            index: 6,
            name: "real-server",
            needed_by: &[AddDest, DelDest, EditDest],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            let hp = parse_service(v, e.svc.protocol)
                .ok_or("illegal real server address[:port] specified")?;
            e.dest.addr = hp.addr;
            e.dest.has_addr = true;
            // The service's port at this point, when -r names none.
            e.dest.port = hp.port.unwrap_or(e.svc.port);
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "masquerading",
        short: Some('m'),
        section: Section::ServerOption,
        help: "Forward by masquerading (NAT)",
        column: Some(FORWARD),
        action: Action::Set(|e, _| {
            e.dest.forward = Fwd::Masq;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "ipip",
        short: Some('i'),
        section: Section::ServerOption,
        help: "Forward by tunnelling (ipip, or --tun-type)",
        column: Some(FORWARD),
        action: Action::Set(|e, _| {
            e.dest.forward = Fwd::Tunnel;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "gatewaying",
        short: Some('g'),
        section: Section::ServerOption,
        help: "Forward by direct routing (the default)",
        column: Some(FORWARD),
        action: Action::Set(|e, _| {
            e.dest.forward = Fwd::Route;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "weight",
        short: Some('w'),
        arg: ArgKind::Required,
        value_names: &["weight"],
        section: Section::ServerOption,
        help: "Capacity of the real server (default 1; 0 quiesces it)",
        column: Some(Column {
            index: 8,
            name: "weight",
            allowed: &[AddDest, EditDest],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            // Debian's ipvsadm 1.31 (bug 814348) takes weights up to INT_MAX.
            e.dest.weight = number(v, 0, MAX_WEIGHT, "weight")? as u32;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "u-threshold",
        short: Some('x'),
        arg: ArgKind::Required,
        value_names: &["uthreshold"],
        section: Section::ServerOption,
        help: "Upper threshold of connections",
        column: Some(Column {
            index: 9,
            name: "u-threshold",
            allowed: &[AddDest, EditDest],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.dest.upper = Some(number(v, 0, MAX_WEIGHT, "u_threshold")? as u32);
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "l-threshold",
        short: Some('y'),
        arg: ArgKind::Required,
        value_names: &["lthreshold"],
        section: Section::ServerOption,
        help: "Lower threshold of connections",
        column: Some(Column {
            index: 10,
            name: "l-threshold",
            allowed: &[AddDest, EditDest],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.dest.lower = Some(number(v, 0, MAX_WEIGHT, "l_threshold")? as u32);
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "numeric",
        short: Some('n'),
        section: Section::ListOption,
        help: "Numeric output of addresses and ports",
        column: Some(Column {
            index: 0,
            name: "numeric",
            allowed: &[List, Save],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.list.numeric = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "connection",
        short: Some('c'),
        section: Section::ListOption,
        help: "List the current IPVS connections",
        column: Some(Column {
            index: 1,
            name: "connection",
            one_of: &[List],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.shows_connections = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "mcast-interface",
        arg: ArgKind::Required,
        value_names: &["interface"],
        section: Section::DaemonOption,
        help: "Multicast interface for connection sync (default eth0)",
        column: Some(Column {
            index: 11,
            name: "mcast-interface",
            allowed: &[StartDaemon],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.mcast_ifn = truncate(v, ipvs::limits::MAX_IFNAME);
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "syncid",
        arg: ArgKind::Required,
        value_names: &["sid"],
        section: Section::DaemonOption,
        help: "Sync id for connection sync (0-255)",
        column: Some(Column {
            index: 19,
            name: "syncid",
            allowed: &[List, StartDaemon, StopDaemon],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.sync_id = number(v, 0, ipvs::limits::MAX_SYNC_ID.into(), "syncid")? as u32;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "timeout",
        section: Section::ListOption,
        help: "List the timeouts (tcp tcpfin udp)",
        column: Some(Column {
            index: 12,
            name: "timeout",
            one_of: &[List],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.shows_timeouts = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "daemon",
        section: Section::ListOption,
        help: "List the sync daemons",
        column: Some(Column {
            index: 13,
            name: "daemon",
            one_of: &[List],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.shows_daemons = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "stats",
        section: Section::ListOption,
        help: "List statistics",
        column: Some(Column {
            index: 14,
            name: "stats",
            allowed: &[List],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.list.stats = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "rate",
        section: Section::ListOption,
        help: "List rates",
        column: Some(Column {
            index: 15,
            name: "rate",
            allowed: &[List],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.list.rate = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "thresholds",
        section: Section::ListOption,
        help: "List thresholds",
        column: Some(Column {
            index: 16,
            name: "thresholds",
            allowed: &[List],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.list.thresholds = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "persistent-conn",
        section: Section::ListOption,
        help: "List persistent connections",
        column: Some(Column {
            index: 17,
            name: "persistent-conn",
            allowed: &[List],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.list.persistent_conn = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "nosort",
        section: Section::ListOption,
        help: "Do not sort services and real servers",
        column: Some(Column {
            index: 18,
            name: "nosort",
            allowed: &[List],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.list.nosort = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "sort",
        section: Section::ListOption,
        help: "Does nothing (sorting is the default), for compatibility",
        action: Action::Set(|_, _| Ok(())),
        ..OPTION
    },
    OptSpec {
        long: "exact",
        short: Some('X'),
        section: Section::ListOption,
        help: "Print exact numbers, without K/M/G/T",
        column: Some(Column {
            index: 20,
            name: "exact",
            allowed: &[List],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.list.exact = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "ipv6",
        short: Some('6'),
        section: Section::Service,
        help: "The fwmark service is IPv6 (after -f)",
        action: Action::Set(|e, _| {
            if e.svc.fwmark == 0 {
                return Err("-6 used before -f\n".into());
            }
            e.svc.family = Some(Family::Inet6);
            e.svc.netmask = Netmask::V6(128);
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "ops",
        short: Some('o'),
        section: Section::ServiceOption,
        help: "One-packet scheduling (UDP and fwmark services)",
        column: Some(Column {
            index: 21,
            name: "ops",
            allowed: &[Add, Edit],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.svc.flags |= ServiceFlags::ONEPACKET;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "pe",
        arg: ArgKind::Required,
        value_names: &["engine"],
        section: Section::ServiceOption,
        help: "Persistence engine (sip)",
        column: Some(Column {
            index: 22,
            name: "pe",
            allowed: &[Add, Edit],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            // ipvsadm keeps 16 bytes, the kernel compares at most 15 (its
            // IP_VS_PENAME_MAXLEN buffer); no engine has a longer name, so
            // either way the kernel finds none, and 15 pass the library's check.
            e.svc.pe = truncate(v, ipvs::limits::MAX_NAME);
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "sched-flags",
        short: Some('b'),
        arg: ArgKind::Required,
        value_names: &["flags"],
        section: Section::ServiceOption,
        help: concat!(
            "Scheduler flags, comma-separated: ",
            "flag-1..3, sh-fallback, sh-port, mh-fallback, mh-port"
        ),
        column: Some(Column {
            index: 23,
            name: "sched-flags",
            allowed: &[Add, Edit],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            // ipvsadm keeps it in a 128-byte buffer and reads it at the end.
            e.sched_flags_arg = Some(truncate(v, 127));
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "mcast-group",
        arg: ArgKind::Required,
        value_names: &["address"],
        section: Section::DaemonOption,
        help: "Multicast group, IPv4 or IPv6 (default 224.0.0.81)",
        column: Some(Column {
            index: 24,
            name: "mcast-group",
            allowed: &[StartDaemon],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.mcast_group = Some(parse_mcast_group(v).map_err(|v6| {
                let fam = if v6 { "IPv6" } else { "IPv4" };
                format!("invalid {fam} mcast-group `{v}'")
            })?);
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "mcast-port",
        arg: ArgKind::Required,
        value_names: &["port"],
        section: Section::DaemonOption,
        help: "Multicast UDP port (default 8848)",
        column: Some(Column {
            index: 25,
            name: "mcast-port",
            allowed: &[StartDaemon],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.mcast_port = number(v, 1, 65535, "mcast-port")? as u16;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "mcast-ttl",
        arg: ArgKind::Required,
        value_names: &["ttl"],
        section: Section::DaemonOption,
        help: "Multicast TTL (default 1)",
        column: Some(Column {
            index: 26,
            name: "mcast-ttl",
            allowed: &[StartDaemon],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.mcast_ttl = number(v, 1, 255, "mcast-ttl")? as u8;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "sync-maxlen",
        arg: ArgKind::Required,
        value_names: &["length"],
        section: Section::DaemonOption,
        help: "Maximum sync message length (default 1472)",
        column: Some(Column {
            index: 27,
            name: "sync-maxlen",
            allowed: &[StartDaemon],
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.sync_maxlen =
                number(v, 1, ipvs::limits::MAX_SYNC_MAXLEN.into(), "sync-maxlen")? as u16;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "tun-info",
        section: Section::ListOption,
        help: "List tunnel information",
        column: Some(Column {
            index: 28,
            name: "tun-info",
            allowed: &[List],
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.list.tun_info = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "tun-type",
        arg: ArgKind::Required,
        value_names: &["type"],
        values: &["ipip", "gue", "gre"],
        section: Section::ServerOption,
        help: "Tunnel type: ipip|gue|gre (default ipip; with -i)",
        column: Some(Column {
            index: 29,
            name: "tun-type",
            allowed: &[AddDest, EditDest],
            tunnel: Some(b"..."),
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.dest.tun = Tun::parse(v).ok_or("illegal tunnel type specified")?;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "tun-port",
        arg: ArgKind::Required,
        value_names: &["port"],
        section: Section::ServerOption,
        help: "Tunnel destination port (gue)",
        column: Some(Column {
            index: 30,
            name: "tun-port",
            allowed: &[AddDest, EditDest],
            tunnel: Some(b"x+x"),
            ..COLUMN
        }),
        action: Action::Set(|e, v| {
            e.dest.tun_port = number(v, 1, 65535, "tunnel port")? as u16;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "tun-nocsum",
        section: Section::ServerOption,
        help: "Tunnel encapsulation without checksum",
        column: Some(Column {
            index: 31,
            name: "tun-nocsum",
            allowed: &[AddDest, EditDest],
            tunnel: Some(b"x11"),
            ..COLUMN
        }),
        action: Action::Set(|_, _| Ok(())),
        ..OPTION
    },
    OptSpec {
        long: "tun-csum",
        section: Section::ServerOption,
        help: "Tunnel encapsulation with checksum (gue, gre)",
        column: Some(Column {
            index: 32,
            name: "tun-csum",
            allowed: &[AddDest, EditDest],
            tunnel: Some(b"x11"),
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.dest.tun_flags |= TunnelFlags::CSUM;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "tun-remcsum",
        section: Section::ServerOption,
        help: "Tunnel encapsulation with remote checksum (gue)",
        column: Some(Column {
            index: 33,
            name: "tun-remcsum",
            allowed: &[AddDest, EditDest],
            tunnel: Some(b"x1x"),
            ..COLUMN
        }),
        action: Action::Set(|e, _| {
            e.dest.tun_flags |= TunnelFlags::REMCSUM;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "json",
        section: Section::Extra,
        help: "JSON output for -L (every form) and -S; JSON input for -R",
        column: Some(Column {
            index: 34,
            name: "json",
            allowed: &[List, Restore, Save],
            ..COLUMN
        }),
        action: Action::Global(|g, _| {
            g.json = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "netns",
        arg: ArgKind::Required,
        value_names: &["NAME|PATH"],
        section: Section::Extra,
        help: "Work in a network namespace: a name (as ip netns) or a path",
        action: Action::Global(|g, v| {
            if g.netns.is_some() {
                return Err(Failure::usage("multiple 'netns' options specified"));
            }
            g.netns = Some(v.to_string());
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "watch",
        arg: ArgKind::Required,
        value_names: &["SECONDS"],
        section: Section::Extra,
        help: "Repeat a listing every SECONDS; with --json one line per sample with rates",
        action: Action::Global(|g, v| {
            g.watch = Some(parse_watch(v).ok_or_else(|| {
                Failure::usage(format!(
                    "invalid --watch interval `{v}' specified \
                     (seconds, more than 0 and at most 86400)"
                ))
            })?);
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "count",
        arg: ArgKind::Required,
        value_names: &["N"],
        section: Section::Extra,
        help: "With --watch: stop after N listings",
        action: Action::Global(|g, v| {
            g.count = Some(v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Failure::usage(format!(
                    "invalid --count value `{v}' specified (a whole number, 1 or more)"
                ))
            })?);
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "settings",
        section: Section::Extra,
        help: "With -S --json: also the timeouts, the net.ipv4.vs sysctls and the sync daemons",
        action: Action::Global(|g, _| {
            g.settings = true;
            Ok(())
        }),
        ..OPTION
    },
    OptSpec {
        long: "generate-man",
        section: Section::Extra,
        help: "Print the man page (roff) and exit",
        hidden: true,
        action: Action::Exit(|_, _| Cli::GenerateMan),
        ..OPTION
    },
    OptSpec {
        long: "generate-completions",
        arg: ArgKind::Required,
        value_names: &["SHELL"],
        values: &["bash", "zsh", "fish", "elvish", "powershell"],
        section: Section::Extra,
        help: "Print shell completions (bash, zsh, fish, elvish, powershell) and exit",
        hidden: true,
        action: Action::Exit(|v, _| Cli::GenerateCompletions(v.to_string())),
        ..OPTION
    },
];

/// The option with this long name.
pub fn by_long(name: &str) -> Option<&'static OptSpec> {
    OPTIONS.iter().find(|o| o.long == name)
}

/// The option with this short name.
pub fn by_short(c: char) -> Option<&'static OptSpec> {
    u8::try_from(c).ok().and_then(by_short_byte)
}

/// The option with this short name, an ASCII byte (no option has another).
#[inline]
pub fn by_short_byte(b: u8) -> Option<&'static OptSpec> {
    at(&SHORT, b)
}

/// [`by_short_byte`] among the options a line of `-R` input has
/// ([`OptSpec::in_restore_line`]).
#[inline]
pub fn by_short_byte_in_restore_line(b: u8) -> Option<&'static OptSpec> {
    at(&SHORT_IN_RESTORE_LINE, b)
}

/// The short names of the options of a context: [`OPTIONS`]' positions by byte.
pub type ShortNames = [u8; 256];

/// The short names of the options a line of `-R` input has, or of all.
#[inline(always)]
pub fn short_names_of(restore_line: bool) -> &'static ShortNames {
    if restore_line {
        &SHORT_IN_RESTORE_LINE
    } else {
        &SHORT
    }
}

/// The option of short name `b` among `table`'s.
#[inline(always)]
pub fn at(table: &ShortNames, b: u8) -> Option<&'static OptSpec> {
    // Every byte has its place: no check of `b`, only of what is there.
    OPTIONS.get(usize::from(table[usize::from(b)]))
}

/// [`OPTIONS`]' positions by short name (or alias), by byte: `u8::MAX` for a byte that names
/// none (every non-ASCII one). Made when compiling.
static SHORT: ShortNames = short_names(false);

/// [`SHORT`] without the options a line of `-R` input does not have.
static SHORT_IN_RESTORE_LINE: ShortNames = short_names(true);

const fn short_names(restore_line: bool) -> ShortNames {
    let mut t = [u8::MAX; 256];
    let mut i = 0;
    while i < OPTIONS.len() {
        let o = &OPTIONS[i];
        if restore_line && !o.in_restore_line() {
            i += 1;
            continue;
        }
        if let Some(c) = o.short {
            t[c as usize] = i as u8;
        }
        let mut k = 0;
        while k < o.short_aliases.len() {
            t[o.short_aliases[k] as usize] = i as u8;
            k += 1;
        }
        i += 1;
    }
    t
}

/// The masks of `cmd` (`Legal::of`) over the columns of [`OPTIONS`], made when compiling: a
/// column shared by options is the same in each, and gives the same masks once or twice.
pub const fn legal_of(cmd: Cmd) -> Legal {
    let mut l = Legal::NONE;
    let mut i = 0;
    while i < OPTIONS.len() {
        if let Some(c) = &OPTIONS[i].column {
            l = l.with(c, Some(c.rule(cmd)));
        }
        i += 1;
    }
    l
}

/// The masks of `tun` (`Legal::of_tunnel`) likewise.
pub const fn legal_of_tunnel(tun: Tun) -> Legal {
    let mut l = Legal::NONE;
    let mut i = 0;
    while i < OPTIONS.len() {
        if let Some(c) = &OPTIONS[i].column {
            if let Some(row) = c.tunnel {
                l = l.with(c, Some(row[tun as usize]));
            }
        }
        i += 1;
    }
    l
}

/// Every column, each once, in ipvsadm's order (`generic_opt_check` reports
/// the first violation in this order). Made once: every command checks them.
pub fn columns() -> &'static [&'static Column] {
    static ALL: OnceLock<Vec<&'static Column>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static Column> =
            OPTIONS.iter().filter_map(|o| o.column.as_ref()).collect();
        all.sort_by_key(|c| c.index);
        all.dedup_by_key(|c| c.index);
        all
    })
}

#[cfg(test)]
mod tests {
    use super::super::rules::ALL_COMMANDS;
    use super::*;

    /// The table made when compiling finds what a walk of [`OPTIONS`] finds, for every
    /// character a short name could be (and a few it cannot).
    #[test]
    fn short_names_are_found_as_a_walk_finds_them() {
        assert!(OPTIONS.len() < usize::from(u8::MAX));
        let walk = |c: char| {
            OPTIONS
                .iter()
                .find(|o| o.short == Some(c) || o.short_aliases.contains(&c))
        };
        let mut found = 0;
        for c in (0..=255u8).map(char::from).chain(['é', '€', '\u{10ffff}']) {
            let (a, b) = (by_short(c), walk(c));
            assert_eq!(a.map(|o| o.long), b.map(|o| o.long), "{c:?}");
            found += usize::from(a.is_some());
        }
        assert_eq!(by_short('l').map(|o| o.long), Some("list"));
        // `--` is read as no short option (Plain::at leaves it to the lexer).
        assert!(by_short('-').is_none());
        assert!(found > 20, "{found}");
        // And in a line of -R input, those it has.
        for b in 0..=255u8 {
            let (a, w) = (
                by_short_byte_in_restore_line(b),
                walk(char::from(b)).filter(|o| o.in_restore_line()),
            );
            assert_eq!(a.map(|o| o.long), w.map(|o| o.long), "{b}");
        }
    }

    #[test]
    fn long_names_are_unique() {
        let mut longs: Vec<_> = OPTIONS.iter().map(|o| o.long).collect();
        let n = longs.len();
        longs.sort_unstable();
        longs.dedup();
        assert_eq!(n, longs.len());
    }

    #[test]
    fn short_names_are_unique() {
        let mut shorts: Vec<char> = OPTIONS
            .iter()
            .flat_map(|o| o.short.into_iter().chain(o.short_aliases.iter().copied()))
            .collect();
        let n = shorts.len();
        shorts.sort_unstable();
        shorts.dedup();
        assert_eq!(n, shorts.len());
    }

    /// ipvsadm's 34 `OPTC_*` columns and `--json`, numbered 0 to 34 without a
    /// gap, and options sharing a column share all of it.
    #[test]
    fn columns_are_numbered_without_gaps() {
        let all = columns();
        let indexes: Vec<u8> = all.iter().map(|c| c.index).collect();
        assert_eq!(indexes, (0..35).collect::<Vec<u8>>());
        for o in OPTIONS {
            if let Some(c) = &o.column {
                let first = all[usize::from(c.index)];
                assert_eq!(format!("{c:?}"), format!("{first:?}"), "--{}", o.long);
            }
        }
    }

    /// Each command is one option, and every option that acts after the
    /// command has a column, apart from `--sort` and `-6`.
    #[test]
    fn every_command_is_an_option() {
        let commands: Vec<Cmd> = OPTIONS
            .iter()
            .filter_map(|o| match o.action {
                Action::Command(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(commands.len(), ALL_COMMANDS.len());
        for c in ALL_COMMANDS {
            assert!(commands.contains(&c), "{c:?}");
        }
        for o in OPTIONS {
            if matches!(o.action, Action::Set(_) | Action::SetMaybe(_)) {
                let free = ["sort", "ipv6"].contains(&o.long);
                assert_eq!(!free, o.column.is_some(), "--{}", o.long);
            }
        }
    }
}
