//! ipvsadm's legality checks: which options each command needs, allows or
//! forbids (`commands_v_options`), and which tunnel options each tunnel type
//! takes (`tunnel_types_v_options`), with the messages of `generic_opt_check`
//! and `tunnel_opt_check`. Each option's column of those tables is part of
//! its definition ([`super::options`]).

/// ipvsadm's commands (its `CMD_*`).
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
}

/// ipvsadm's commands, in its `CMD_*` order (each at its place: `ALL_COMMANDS[c as usize] == c`).
pub const ALL_COMMANDS: [Cmd; 14] = [
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

/// One of ipvsadm's `OPTC_*` option columns (plus ipvsctl's `--json`): the
/// name its messages use and, transposed, its column of
/// `commands_v_options`. A command not named here refuses the option.
#[derive(Debug)]
pub struct Column {
    /// ipvsadm's `OPTC_*` bit: `generic_opt_check` reports the first
    /// violation in this order.
    pub index: u8,
    /// ipvsadm's `optnames` entry.
    pub name: &'static str,
    /// Commands that need the option (`+`).
    pub needed_by: &'static [Cmd],
    /// Commands that take at most one option of the columns marked so (`1`).
    pub one_of: &'static [Cmd],
    /// Commands that take it (` `).
    pub allowed: &'static [Cmd],
    /// For tunnel options, their row of `tunnel_types_v_options` for ipip,
    /// gue and gre, marked as above (`x` refused, `.` allowed).
    pub tunnel: Option<&'static [u8; 3]>,
}

/// The defaults a [`Column`] starts from: legal with no command.
pub const COLUMN: Column = Column {
    index: 0,
    name: "",
    needed_by: &[],
    one_of: &[],
    allowed: &[],
    tunnel: None,
};

impl Column {
    /// Its mark for `cmd`: `+` needed, `1` at most one, `.` allowed, `x` illegal.
    pub const fn rule(&self, cmd: Cmd) -> u8 {
        if listed(self.needed_by, cmd) {
            b'+'
        } else if listed(self.one_of, cmd) {
            b'1'
        } else if listed(self.allowed, cmd) {
            b'.'
        } else {
            b'x'
        }
    }

    const fn bit(&self) -> u64 {
        1 << self.index
    }
}

/// Whether `cmd` is among `list` (`contains`, when compiling too).
const fn listed(list: &[Cmd], cmd: Cmd) -> bool {
    let mut i = 0;
    while i < list.len() {
        if list[i] as u8 == cmd as u8 {
            return true;
        }
        i += 1;
    }
    false
}

/// The options given so far, by column (ipvsadm's `options` bitmask).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptSet(u64);

impl OptSet {
    /// ipvsadm's `set_option`: each column at most once.
    #[inline]
    pub fn set(&mut self, c: &Column) -> Result<(), String> {
        if self.has(c) {
            return Err(format!("multiple '{}' options specified", c.name));
        }
        self.0 |= c.bit();
        Ok(())
    }

    /// Records `c`, given or not before.
    pub fn insert(&mut self, c: &Column) {
        self.0 |= c.bit();
    }

    /// Records every column of `other`.
    pub fn insert_all(&mut self, other: OptSet) {
        self.0 |= other.0;
    }

    /// Whether `c` was given.
    pub fn has(self, c: &Column) -> bool {
        self.0 & c.bit() != 0
    }

    /// Whether any tunnel option was given.
    pub fn any_tunnel(self, columns: &[&Column]) -> bool {
        columns.iter().any(|c| c.tunnel.is_some() && self.has(c))
    }
}

/// The columns a command (or a tunnel type) needs, takes at most one of, and
/// takes at all, as bit masks over [`OptSet`], of the columns it rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Legal {
    ruled: u64,
    needed: u64,
    one_of: u64,
    allowed: u64,
}

impl Legal {
    /// The masks of `cmd` over `columns`, as [`check_command`] reads them.
    pub fn of(cmd: Cmd, columns: &[&Column]) -> Legal {
        Legal::from_rules(columns, |c| Some(c.rule(cmd)))
    }

    /// The masks of `tun` over the tunnel options among `columns`, as
    /// [`check_tunnel`] reads them.
    pub fn of_tunnel(tun: Tun, columns: &[&Column]) -> Legal {
        Legal::from_rules(columns, |c| c.tunnel.map(|row| row[tun as usize]))
    }

    fn from_rules(columns: &[&Column], rule: impl Fn(&Column) -> Option<u8>) -> Legal {
        let mut l = Legal::NONE;
        for c in columns {
            l = l.with(c, rule(c));
        }
        l
    }

    /// Rules nothing.
    pub const NONE: Legal = Legal {
        ruled: 0,
        needed: 0,
        one_of: 0,
        allowed: 0,
    };

    /// These masks and column `c` marked `rule` (`None`: not ruled).
    pub const fn with(mut self, c: &Column, rule: Option<u8>) -> Legal {
        let Some(r) = rule else { return self };
        let bit = c.bit();
        self.ruled |= bit;
        match r {
            b'+' => self.needed |= bit,
            b'1' => self.one_of |= bit,
            b'.' => {}
            _ => return self,
        }
        self.allowed |= bit;
        self
    }

    /// Whether the check over the same columns finds nothing wrong with
    /// `opts`: a few bit operations for the common case; when not, the
    /// check itself says what is wrong.
    pub fn admits(&self, opts: OptSet) -> bool {
        let given = opts.0 & self.ruled;
        given & !self.allowed == 0
            && self.needed & !given == 0
            && (given & self.one_of).count_ones() <= 1
    }

    /// Whether any column it rules was given.
    pub fn any_given(&self, opts: OptSet) -> bool {
        opts.0 & self.ruled != 0
    }
}

/// ipvsadm's `generic_opt_check` over `columns` (all of them, in order): the
/// first violation.
pub fn check_command(cmd: Cmd, opts: OptSet, columns: &[&Column]) -> Result<(), String> {
    let mut first_exclusive: Option<&Column> = None;
    for c in columns {
        let rule = c.rule(cmd);
        if !opts.has(c) {
            if rule == b'+' {
                return Err(format!(
                    "You need to supply the '{}' option for the '{}' command",
                    c.name,
                    cmd.name()
                ));
            }
            continue;
        }
        match rule {
            b'x' => {
                return Err(format!(
                    "Illegal '{}' option with the '{}' command",
                    c.name,
                    cmd.name()
                ))
            }
            b'1' => match first_exclusive {
                None => first_exclusive = Some(c),
                Some(last) => {
                    return Err(format!(
                        "The option '{}' conflicts with the '{}' option in the '{}' command",
                        c.name,
                        last.name,
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
#[repr(usize)]
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
}

/// ipvsadm's `tunnel_opt_check`, over the tunnel options among `columns`.
pub fn check_tunnel(tun: Tun, opts: OptSet, columns: &[&Column]) -> Result<(), String> {
    let mut first_exclusive: Option<&Column> = None;
    for c in columns {
        let Some(row) = c.tunnel else { continue };
        let rule = row[tun as usize];
        if !opts.has(c) {
            if rule == b'+' {
                return Err(format!(
                    "You need to supply the '{}' option for the '{}' tunnel type",
                    c.name,
                    tun.name()
                ));
            }
            continue;
        }
        match rule {
            b'x' => {
                return Err(format!(
                    "Illegal '{}' option with the '{}' tunnel type",
                    c.name,
                    tun.name()
                ))
            }
            b'1' => match first_exclusive {
                None => first_exclusive = Some(c),
                Some(last) => {
                    return Err(format!(
                        "The option '{}' conflicts with the '{}' option in the '{}' tunnel type",
                        c.name,
                        last.name,
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
    use super::super::options::{by_long, columns};
    use super::*;

    fn column(long: &str) -> &'static Column {
        by_long(long)
            .and_then(|o| o.column.as_ref())
            .unwrap_or_else(|| panic!("--{long} has no column"))
    }

    fn set(longs: &[&str]) -> OptSet {
        let mut s = OptSet::default();
        for l in longs {
            s.set(column(l)).unwrap();
        }
        s
    }

    fn check(cmd: Cmd, longs: &[&str]) -> Result<(), String> {
        check_command(cmd, set(longs), columns())
    }

    fn tunnel(tun: Tun, longs: &[&str]) -> Result<(), String> {
        check_tunnel(tun, set(longs), columns())
    }

    /// How many of ipvsadm 1.31's 34 columns a command marks `mark`.
    fn count(cmd: Cmd, mark: u8) -> usize {
        columns()
            .iter()
            .filter(|c| c.index < 34 && c.rule(cmd) == mark)
            .count()
    }

    /// Counts of ipvsadm 1.31's table (ipvsadm.c's `commands_v_options`).
    #[test]
    fn each_command_is_at_its_place() {
        for (i, c) in ALL_COMMANDS.iter().enumerate() {
            assert_eq!(*c as usize, i, "{c:?}");
        }
    }

    #[test]
    fn list_has_four_exclusive_columns() {
        assert_eq!(count(Cmd::List, b'1'), 4);
    }

    #[test]
    fn add_service_has_six_optional_columns() {
        assert_eq!(count(Cmd::Add, b'.'), 6);
    }

    #[test]
    fn add_server_needs_two_columns() {
        assert_eq!(count(Cmd::AddDest, b'+'), 2);
    }

    #[test]
    fn start_daemon_has_six_optional_columns() {
        assert_eq!(count(Cmd::StartDaemon, b'.'), 6);
    }

    #[test]
    fn restore_refuses_every_ipvsadm_column() {
        assert_eq!(count(Cmd::Restore, b'x'), 34);
    }

    #[test]
    fn a_needed_option_missing_is_named() {
        assert_eq!(
            check(Cmd::Add, &[]).unwrap_err(),
            "You need to supply the 'service-address' option for the 'add-service' command"
        );
    }

    #[test]
    fn the_second_needed_option_is_named_once_the_first_is_given() {
        assert_eq!(
            check(Cmd::AddDest, &["tcp-service"]).unwrap_err(),
            "You need to supply the 'real-server' option for the 'add-server' command"
        );
    }

    #[test]
    fn an_illegal_option_is_named() {
        assert_eq!(
            check(Cmd::List, &["weight"]).unwrap_err(),
            "Illegal 'weight' option with the 'list' command"
        );
    }

    #[test]
    fn the_second_exclusive_option_conflicts_with_the_first() {
        assert_eq!(
            check(Cmd::List, &["connection", "timeout"]).unwrap_err(),
            "The option 'timeout' conflicts with the 'connection' option in the 'list' command"
        );
    }

    #[test]
    fn list_takes_numeric_stats_and_json() {
        assert_eq!(check(Cmd::List, &["numeric", "stats", "json"]), Ok(()));
    }

    #[test]
    fn json_is_illegal_with_changes() {
        assert_eq!(
            check(Cmd::Add, &["tcp-service", "json"]).unwrap_err(),
            "Illegal 'json' option with the 'add-service' command"
        );
    }

    #[test]
    fn a_column_is_set_once() {
        let mut s = set(&["tcp-service"]);
        assert_eq!(
            s.set(column("fwmark-service")).unwrap_err(),
            "multiple 'service-address' options specified"
        );
    }

    #[test]
    fn gue_needs_a_port() {
        assert_eq!(
            tunnel(Tun::Gue, &[]).unwrap_err(),
            "You need to supply the 'tun-port' option for the 'gue' tunnel type"
        );
    }

    #[test]
    fn ipip_takes_no_port() {
        assert_eq!(
            tunnel(Tun::Ipip, &["tun-port"]).unwrap_err(),
            "Illegal 'tun-port' option with the 'ipip' tunnel type"
        );
    }

    #[test]
    fn gue_takes_one_checksum_option() {
        assert_eq!(
            tunnel(Tun::Gue, &["tun-port", "tun-csum", "tun-remcsum"]).unwrap_err(),
            "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type"
        );
    }

    #[test]
    fn gre_takes_no_remote_checksum() {
        assert_eq!(
            tunnel(Tun::Gre, &["tun-remcsum"]).unwrap_err(),
            "Illegal 'tun-remcsum' option with the 'gre' tunnel type"
        );
    }

    #[test]
    fn gre_takes_a_checksum() {
        assert_eq!(tunnel(Tun::Gre, &["tun-csum"]), Ok(()));
    }
}
