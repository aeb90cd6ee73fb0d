//! Every option `ipvsctl` knows, as data: ipvsadm 1.31's popt table plus
//! ipvsctl's extras. The lexer matches arguments against it, and the help
//! text, man page and shell completions are generated from it, so the three
//! cannot drift apart.

/// What an option is, independent of how it was spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptId {
    AddService,
    EditService,
    DeleteService,
    Clear,
    List,
    Zero,
    AddServer,
    EditServer,
    DeleteServer,
    Set,
    Help,
    Version,
    Restore,
    Save,
    StartDaemon,
    StopDaemon,
    TcpService,
    UdpService,
    SctpService,
    FwmarkService,
    Scheduler,
    Persistent,
    Netmask,
    RealServer,
    Masquerading,
    Ipip,
    Gatewaying,
    Weight,
    UThreshold,
    LThreshold,
    Numeric,
    Connection,
    McastInterface,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
    Json,
    Netns,
    Watch,
    Count,
    GenerateMan,
    GenerateCompletions,
}

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

/// One option.
#[derive(Debug)]
pub struct OptSpec {
    pub id: OptId,
    /// `--long` name (without dashes), if any.
    pub long: Option<&'static str>,
    /// `-c` short name, if any.
    pub short: Option<char>,
    /// Further short spellings (ipvsadm's `-l` for `-L`).
    pub short_aliases: &'static [char],
    pub arg: ArgKind,
    /// The value's placeholder in help.
    pub value_name: &'static str,
    pub help: &'static str,
    pub section: Section,
    /// Recognised only on the command line, never in `-R` input, and never
    /// counted as the command: `--json`, `--netns`.
    pub global: bool,
    /// Left out of the help, the man page and the completions.
    pub hidden: bool,
}

const fn opt(
    id: OptId,
    long: Option<&'static str>,
    short: Option<char>,
    arg: ArgKind,
    value_name: &'static str,
    section: Section,
    help: &'static str,
) -> OptSpec {
    OptSpec {
        id,
        long,
        short,
        short_aliases: &[],
        arg,
        value_name,
        help,
        section,
        global: false,
        hidden: false,
    }
}

use ArgKind::{None as Flag, Optional, Required};
use OptId::*;
use Section::*;

/// The table, in ipvsadm's popt order (which decides nothing but reads like the source).
pub static OPTIONS: &[OptSpec] = &[
    opt(
        AddService,
        Some("add-service"),
        Some('A'),
        Flag,
        "",
        Command,
        "Add a virtual service",
    ),
    opt(
        EditService,
        Some("edit-service"),
        Some('E'),
        Flag,
        "",
        Command,
        "Edit a virtual service",
    ),
    opt(
        DeleteService,
        Some("delete-service"),
        Some('D'),
        Flag,
        "",
        Command,
        "Delete a virtual service and its real servers",
    ),
    opt(
        Clear,
        Some("clear"),
        Some('C'),
        Flag,
        "",
        Command,
        "Clear the whole table",
    ),
    OptSpec {
        short_aliases: &['l'],
        ..opt(
            List,
            Some("list"),
            Some('L'),
            Flag,
            "",
            Command,
            "List the table (the default with no arguments)",
        )
    },
    opt(
        Zero,
        Some("zero"),
        Some('Z'),
        Flag,
        "",
        Command,
        "Zero the counters of a service, or of all services",
    ),
    opt(
        AddServer,
        Some("add-server"),
        Some('a'),
        Flag,
        "",
        Command,
        "Add a real server to a virtual service",
    ),
    opt(
        EditServer,
        Some("edit-server"),
        Some('e'),
        Flag,
        "",
        Command,
        "Edit a real server",
    ),
    opt(
        DeleteServer,
        Some("delete-server"),
        Some('d'),
        Flag,
        "",
        Command,
        "Delete a real server",
    ),
    opt(
        Set,
        Some("set"),
        None,
        Flag,
        "",
        Command,
        "Set the connection timeouts, in seconds (0 keeps one)",
    ),
    opt(
        Help,
        Some("help"),
        Some('h'),
        Flag,
        "",
        Command,
        "Print this help",
    ),
    opt(
        Version,
        Some("version"),
        Some('v'),
        Flag,
        "",
        Command,
        "Print the version",
    ),
    opt(
        Restore,
        Some("restore"),
        Some('R'),
        Flag,
        "",
        Command,
        "Restore rules from stdin: -S output or ipvsadm command lines",
    ),
    opt(
        Save,
        Some("save"),
        Some('S'),
        Flag,
        "",
        Command,
        "Save the rules to stdout, in the form -R reads",
    ),
    opt(
        StartDaemon,
        Some("start-daemon"),
        None,
        Required,
        "master|backup",
        Command,
        "Start a connection sync daemon",
    ),
    opt(
        StopDaemon,
        Some("stop-daemon"),
        None,
        Required,
        "master|backup",
        Command,
        "Stop a connection sync daemon",
    ),
    opt(
        TcpService,
        Some("tcp-service"),
        Some('t'),
        Required,
        "service-address",
        Service,
        "A TCP virtual service: host[:port] or [v6addr]:port",
    ),
    opt(
        UdpService,
        Some("udp-service"),
        Some('u'),
        Required,
        "service-address",
        Service,
        "A UDP virtual service: host[:port] or [v6addr]:port",
    ),
    opt(
        SctpService,
        Some("sctp-service"),
        None,
        Required,
        "service-address",
        Service,
        "An SCTP virtual service: host[:port] or [v6addr]:port",
    ),
    opt(
        FwmarkService,
        Some("fwmark-service"),
        Some('f'),
        Required,
        "fwmark",
        Service,
        "A firewall-mark virtual service (an integer greater than zero)",
    ),
    opt(
        Scheduler,
        Some("scheduler"),
        Some('s'),
        Required,
        "scheduler",
        ServiceOption,
        "Scheduler: rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh (default wlc)",
    ),
    opt(
        Persistent,
        Some("persistent"),
        Some('p'),
        Optional,
        "timeout",
        ServiceOption,
        "Persistent service, for timeout seconds (default 360)",
    ),
    opt(
        Netmask,
        Some("netmask"),
        Some('M'),
        Required,
        "netmask",
        ServiceOption,
        "Persistence granularity mask (a.b.c.d, or a prefix length for IPv6)",
    ),
    opt(
        RealServer,
        Some("real-server"),
        Some('r'),
        Required,
        "server-address",
        ServerOption,
        "The real server: host[:port] or [v6addr]:port",
    ),
    opt(
        Masquerading,
        Some("masquerading"),
        Some('m'),
        Flag,
        "",
        ServerOption,
        "Forward by masquerading (NAT)",
    ),
    opt(
        Ipip,
        Some("ipip"),
        Some('i'),
        Flag,
        "",
        ServerOption,
        "Forward by tunnelling (ipip, or --tun-type)",
    ),
    opt(
        Gatewaying,
        Some("gatewaying"),
        Some('g'),
        Flag,
        "",
        ServerOption,
        "Forward by direct routing (the default)",
    ),
    opt(
        Weight,
        Some("weight"),
        Some('w'),
        Required,
        "weight",
        ServerOption,
        "Capacity of the real server (default 1; 0 quiesces it)",
    ),
    opt(
        UThreshold,
        Some("u-threshold"),
        Some('x'),
        Required,
        "uthreshold",
        ServerOption,
        "Upper threshold of connections",
    ),
    opt(
        LThreshold,
        Some("l-threshold"),
        Some('y'),
        Required,
        "lthreshold",
        ServerOption,
        "Lower threshold of connections",
    ),
    opt(
        Numeric,
        Some("numeric"),
        Some('n'),
        Flag,
        "",
        ListOption,
        "Numeric output of addresses and ports",
    ),
    opt(
        Connection,
        Some("connection"),
        Some('c'),
        Flag,
        "",
        ListOption,
        "List the current IPVS connections",
    ),
    opt(
        McastInterface,
        Some("mcast-interface"),
        None,
        Required,
        "interface",
        DaemonOption,
        "Multicast interface for connection sync (default eth0)",
    ),
    opt(
        SyncId,
        Some("syncid"),
        None,
        Required,
        "sid",
        DaemonOption,
        "Sync id for connection sync (0-255)",
    ),
    opt(
        Timeout,
        Some("timeout"),
        None,
        Flag,
        "",
        ListOption,
        "List the timeouts (tcp tcpfin udp)",
    ),
    opt(
        Daemon,
        Some("daemon"),
        None,
        Flag,
        "",
        ListOption,
        "List the sync daemons",
    ),
    opt(
        Stats,
        Some("stats"),
        None,
        Flag,
        "",
        ListOption,
        "List statistics",
    ),
    opt(Rate, Some("rate"), None, Flag, "", ListOption, "List rates"),
    opt(
        Thresholds,
        Some("thresholds"),
        None,
        Flag,
        "",
        ListOption,
        "List thresholds",
    ),
    opt(
        PersistentConn,
        Some("persistent-conn"),
        None,
        Flag,
        "",
        ListOption,
        "List persistent connections",
    ),
    opt(
        NoSort,
        Some("nosort"),
        None,
        Flag,
        "",
        ListOption,
        "Do not sort services and real servers",
    ),
    opt(
        Sort,
        Some("sort"),
        None,
        Flag,
        "",
        ListOption,
        "Does nothing (sorting is the default), for compatibility",
    ),
    opt(
        Exact,
        Some("exact"),
        Some('X'),
        Flag,
        "",
        ListOption,
        "Print exact numbers, without K/M/G/T",
    ),
    opt(
        Ipv6,
        Some("ipv6"),
        Some('6'),
        Flag,
        "",
        Service,
        "The fwmark service is IPv6 (after -f)",
    ),
    opt(
        Ops,
        Some("ops"),
        Some('o'),
        Flag,
        "",
        ServiceOption,
        "One-packet scheduling (UDP and fwmark services)",
    ),
    opt(
        Pe,
        Some("pe"),
        None,
        Required,
        "engine",
        ServiceOption,
        "Persistence engine (sip)",
    ),
    opt(
        SchedFlags,
        Some("sched-flags"),
        Some('b'),
        Required,
        "flags",
        ServiceOption,
        "Scheduler flags, comma-separated: flag-1..3, sh-fallback, sh-port, mh-fallback, mh-port",
    ),
    opt(
        McastGroup,
        Some("mcast-group"),
        None,
        Required,
        "address",
        DaemonOption,
        "Multicast group, IPv4 or IPv6 (default 224.0.0.81)",
    ),
    opt(
        McastPort,
        Some("mcast-port"),
        None,
        Required,
        "port",
        DaemonOption,
        "Multicast UDP port (default 8848)",
    ),
    opt(
        McastTtl,
        Some("mcast-ttl"),
        None,
        Required,
        "ttl",
        DaemonOption,
        "Multicast TTL (default 1)",
    ),
    opt(
        SyncMaxlen,
        Some("sync-maxlen"),
        None,
        Required,
        "length",
        DaemonOption,
        "Maximum sync message length (default 1472)",
    ),
    opt(
        TunInfo,
        Some("tun-info"),
        None,
        Flag,
        "",
        ListOption,
        "List tunnel information",
    ),
    opt(
        TunType,
        Some("tun-type"),
        None,
        Required,
        "type",
        ServerOption,
        "Tunnel type: ipip|gue|gre (default ipip; with -i)",
    ),
    opt(
        TunPort,
        Some("tun-port"),
        None,
        Required,
        "port",
        ServerOption,
        "Tunnel destination port (gue)",
    ),
    opt(
        TunNocsum,
        Some("tun-nocsum"),
        None,
        Flag,
        "",
        ServerOption,
        "Tunnel encapsulation without checksum",
    ),
    opt(
        TunCsum,
        Some("tun-csum"),
        None,
        Flag,
        "",
        ServerOption,
        "Tunnel encapsulation with checksum (gue, gre)",
    ),
    opt(
        TunRemcsum,
        Some("tun-remcsum"),
        None,
        Flag,
        "",
        ServerOption,
        "Tunnel encapsulation with remote checksum (gue)",
    ),
    OptSpec {
        global: true,
        ..opt(
            Json,
            Some("json"),
            None,
            Flag,
            "",
            Extra,
            "JSON output for -L (every form) and -S; JSON input for -R",
        )
    },
    OptSpec {
        global: true,
        ..opt(
            Netns,
            Some("netns"),
            None,
            Required,
            "NAME|PATH",
            Extra,
            "Work in a network namespace: a name (as ip netns) or a path",
        )
    },
    OptSpec {
        global: true,
        ..opt(
            Watch,
            Some("watch"),
            None,
            Required,
            "SECONDS",
            Extra,
            "Repeat a listing every SECONDS; with --json one line per sample with rates",
        )
    },
    OptSpec {
        global: true,
        ..opt(
            Count,
            Some("count"),
            None,
            Required,
            "N",
            Extra,
            "With --watch: stop after N listings",
        )
    },
    OptSpec {
        hidden: true,
        ..opt(
            GenerateMan,
            Some("generate-man"),
            None,
            Flag,
            "",
            Extra,
            "Print the man page (roff) and exit",
        )
    },
    OptSpec {
        hidden: true,
        ..opt(
            GenerateCompletions,
            Some("generate-completions"),
            None,
            Required,
            "SHELL",
            Extra,
            "Print shell completions (bash, zsh, fish, elvish, powershell) and exit",
        )
    },
];

/// The option with this long name.
pub fn by_long(name: &str) -> Option<&'static OptSpec> {
    OPTIONS.iter().find(|o| o.long == Some(name))
}

/// The option with this short name.
pub fn by_short(c: char) -> Option<&'static OptSpec> {
    OPTIONS
        .iter()
        .find(|o| o.short == Some(c) || o.short_aliases.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut longs: Vec<_> = OPTIONS.iter().filter_map(|o| o.long).collect();
        let n = longs.len();
        longs.sort_unstable();
        longs.dedup();
        assert_eq!(n, longs.len());
        let mut shorts: Vec<char> = OPTIONS
            .iter()
            .flat_map(|o| o.short.into_iter().chain(o.short_aliases.iter().copied()))
            .collect();
        let n = shorts.len();
        shorts.sort_unstable();
        shorts.dedup();
        assert_eq!(n, shorts.len());
    }

    #[test]
    fn ids_are_unique() {
        for (i, o) in OPTIONS.iter().enumerate() {
            assert!(OPTIONS[..i].iter().all(|p| p.id != o.id), "{:?}", o.id);
        }
    }
}
