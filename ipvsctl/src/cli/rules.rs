//! ipvsadm's legality tables: which options each command needs, allows or
//! forbids (`commands_v_options`), and which tunnel options each tunnel type
//! takes (`tunnel_types_v_options`), with the messages of `generic_opt_check`
//! and `tunnel_opt_check`.

/// ipvsadm's commands, in its `CMD_*` order (which is the table's row order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
}

impl Cmd {
    /// ipvsadm's `cmdnames`.
    pub fn name(self) -> &'static str {
        match self {
            Cmd::Add => "add-service",
            Cmd::Edit => "edit-service",
            Cmd::Del => "delete-service",
            Cmd::Flush => "flush",
            Cmd::List => "list",
            Cmd::AddDest => "add-server",
            Cmd::DelDest => "delete-server",
            Cmd::EditDest => "edit-server",
            Cmd::Timeout => "set",
            Cmd::StartDaemon => "start-daemon",
            Cmd::StopDaemon => "stop-daemon",
            Cmd::Restore => "restore",
            Cmd::Save => "save",
            Cmd::Zero => "zero",
        }
    }

    /// The row of the table: one character per [`Opt`], in order.
    /// `+` compulsory, `x` illegal, `1` at most one of these, `.` optional.
    /// The last column is ipvsctl's `--json`.
    fn row(self) -> &'static [u8; OPT_COUNT] {
        match self {
            Cmd::Add | Cmd::Edit => b"xx+...xxxxxxxxxxxxxxx...xxxxxxxxxxx",
            Cmd::Del => b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::Flush | Cmd::Timeout => b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::List => b".11xxxxxxxxx11.......xxxxxxx.xxxxx.",
            Cmd::AddDest | Cmd::EditDest => b"xx+xxx+....xxxxxxxxxxxxxxxxxx.....x",
            Cmd::DelDest => b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::StartDaemon => b"xxxxxxxxxxx.xxxxxxx.xxxx....xxxxxxx",
            Cmd::StopDaemon => b"xxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxx",
            Cmd::Restore => b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.",
            Cmd::Save => b".xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.",
            Cmd::Zero => b"xx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        }
    }
}

/// Number of table columns: ipvsadm's 34 options and `--json`.
pub const OPT_COUNT: usize = 35;

/// ipvsadm's `OPTC_*` options (the table's columns), plus `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Opt {
    Numeric,
    Connection,
    Service,
    Scheduler,
    Persistent,
    Netmask,
    Server,
    Forward,
    Weight,
    UThreshold,
    LThreshold,
    Mcast,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    SyncId,
    Exact,
    OnePacket,
    PersistenceEngine,
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
}

impl Opt {
    /// ipvsadm's `optnames`.
    pub fn name(self) -> &'static str {
        OPT_NAMES[self as usize]
    }

    fn bit(self) -> u64 {
        1 << (self as u8)
    }
}

const OPT_NAMES: [&str; OPT_COUNT] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
    "json",
];

/// The options given so far (ipvsadm's `options` bitmask).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptSet(u64);

impl OptSet {
    /// ipvsadm's `set_option`: each option at most once.
    pub fn set(&mut self, o: Opt) -> Result<(), String> {
        if self.has(o) {
            return Err(format!("multiple '{}' options specified", o.name()));
        }
        self.0 |= o.bit();
        Ok(())
    }

    /// Records `o`, given or not before.
    pub fn insert(&mut self, o: Opt) {
        self.0 |= o.bit();
    }

    /// Whether `o` was given.
    pub fn has(self, o: Opt) -> bool {
        self.0 & o.bit() != 0
    }

    /// Whether any of `os` was given.
    pub fn any(self, os: &[Opt]) -> bool {
        os.iter().any(|o| self.has(*o))
    }

    fn has_index(self, j: usize) -> bool {
        self.0 & (1 << j) != 0
    }
}

/// ipvsadm's `generic_opt_check`: the first violation, in column order.
pub fn check_command(cmd: Cmd, opts: OptSet) -> Result<(), String> {
    let row = cmd.row();
    let mut first_exclusive: Option<usize> = None;
    for (j, rule) in row.iter().enumerate() {
        if !opts.has_index(j) {
            if *rule == b'+' {
                return Err(format!(
                    "You need to supply the '{}' option for the '{}' command",
                    OPT_NAMES[j],
                    cmd.name()
                ));
            }
            continue;
        }
        match rule {
            b'x' => {
                return Err(format!(
                    "Illegal '{}' option with the '{}' command",
                    OPT_NAMES[j],
                    cmd.name()
                ))
            }
            b'1' => match first_exclusive {
                None => first_exclusive = Some(j),
                Some(last) => {
                    return Err(format!(
                        "The option '{}' conflicts with the '{}' option in the '{}' command",
                        OPT_NAMES[j],
                        OPT_NAMES[last],
                        cmd.name()
                    ))
                }
            },
            _ => {}
        }
    }
    Ok(())
}

/// Tunnel types, in ipvsadm's `tunnames` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tun {
    Ipip,
    Gue,
    Gre,
}

impl Tun {
    /// ipvsadm's `parse_tun_type`.
    pub fn parse(s: &str) -> Option<Tun> {
        match s {
            "ipip" => Some(Tun::Ipip),
            "gue" => Some(Tun::Gue),
            "gre" => Some(Tun::Gre),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Tun::Ipip => "ipip",
            Tun::Gue => "gue",
            Tun::Gre => "gre",
        }
    }

    /// Rules for tun-port, tun-nocsum, tun-csum, tun-remcsum.
    fn row(self) -> &'static [u8; 4] {
        match self {
            Tun::Ipip => b"xxxx",
            Tun::Gue => b"+111",
            Tun::Gre => b"x11x",
        }
    }
}

/// ipvsadm's `tunnel_opt_check`.
pub fn check_tunnel(tun: Tun, opts: OptSet) -> Result<(), String> {
    const COLS: [Opt; 4] = [Opt::TunPort, Opt::TunNocsum, Opt::TunCsum, Opt::TunRemcsum];
    let mut first_exclusive: Option<Opt> = None;
    for (o, rule) in COLS.iter().zip(tun.row()) {
        if !opts.has(*o) {
            if *rule == b'+' {
                return Err(format!(
                    "You need to supply the '{}' option for the '{}' tunnel type",
                    o.name(),
                    tun.name()
                ));
            }
            continue;
        }
        match rule {
            b'x' => {
                return Err(format!(
                    "Illegal '{}' option with the '{}' tunnel type",
                    o.name(),
                    tun.name()
                ))
            }
            b'1' => match first_exclusive {
                None => first_exclusive = Some(*o),
                Some(last) => {
                    return Err(format!(
                        "The option '{}' conflicts with the '{}' option in the '{}' tunnel type",
                        o.name(),
                        last.name(),
                        tun.name()
                    ))
                }
            },
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Cmd; 14] = [
        Cmd::Add,
        Cmd::Edit,
        Cmd::Del,
        Cmd::Flush,
        Cmd::List,
        Cmd::AddDest,
        Cmd::DelDest,
        Cmd::EditDest,
        Cmd::Timeout,
        Cmd::StartDaemon,
        Cmd::StopDaemon,
        Cmd::Restore,
        Cmd::Save,
        Cmd::Zero,
    ];

    #[test]
    fn rows_use_only_known_marks() {
        for c in ALL {
            assert!(c.row().iter().all(|b| b"+x1.".contains(b)), "{c:?}");
        }
        assert_eq!(Opt::Json as usize, OPT_COUNT - 1);
    }

    /// The columns ipvsadm 1.31's table marks for each command (transcribed
    /// from ipvsadm.c, ' ' as '.').
    #[test]
    fn table_matches_ipvsadm() {
        let count = |c: Cmd, m: u8| c.row()[..34].iter().filter(|b| **b == m).count();
        assert_eq!(count(Cmd::List, b'1'), 4);
        assert_eq!(count(Cmd::Add, b'.'), 6);
        assert_eq!(count(Cmd::AddDest, b'+'), 2);
        assert_eq!(count(Cmd::StartDaemon, b'.'), 6);
        assert_eq!(count(Cmd::Restore, b'x'), 34);
    }

    fn set(os: &[Opt]) -> OptSet {
        let mut s = OptSet::default();
        for o in os {
            s.set(*o).unwrap();
        }
        s
    }

    #[test]
    fn messages() {
        assert_eq!(
            check_command(Cmd::Add, set(&[])).unwrap_err(),
            "You need to supply the 'service-address' option for the 'add-service' command"
        );
        assert_eq!(
            check_command(Cmd::List, set(&[Opt::Weight])).unwrap_err(),
            "Illegal 'weight' option with the 'list' command"
        );
        assert_eq!(
            check_command(Cmd::List, set(&[Opt::Connection, Opt::Timeout])).unwrap_err(),
            "The option 'timeout' conflicts with the 'connection' option in the 'list' command"
        );
        assert_eq!(
            check_command(Cmd::AddDest, set(&[Opt::Service])).unwrap_err(),
            "You need to supply the 'real-server' option for the 'add-server' command"
        );
        assert!(check_command(Cmd::List, set(&[Opt::Numeric, Opt::Stats, Opt::Json])).is_ok());
        assert_eq!(
            check_command(Cmd::Add, set(&[Opt::Service, Opt::Json])).unwrap_err(),
            "Illegal 'json' option with the 'add-service' command"
        );
        let mut s = set(&[Opt::Service]);
        assert_eq!(
            s.set(Opt::Service).unwrap_err(),
            "multiple 'service-address' options specified"
        );
    }

    #[test]
    fn tunnels() {
        assert_eq!(
            check_tunnel(Tun::Gue, set(&[])).unwrap_err(),
            "You need to supply the 'tun-port' option for the 'gue' tunnel type"
        );
        assert_eq!(
            check_tunnel(Tun::Ipip, set(&[Opt::TunPort])).unwrap_err(),
            "Illegal 'tun-port' option with the 'ipip' tunnel type"
        );
        assert_eq!(
            check_tunnel(Tun::Gue, set(&[Opt::TunPort, Opt::TunCsum, Opt::TunRemcsum])).unwrap_err(),
            "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type"
        );
        assert_eq!(
            check_tunnel(Tun::Gre, set(&[Opt::TunRemcsum])).unwrap_err(),
            "Illegal 'tun-remcsum' option with the 'gre' tunnel type"
        );
        assert!(check_tunnel(Tun::Gre, set(&[Opt::TunCsum])).is_ok());
    }
}
