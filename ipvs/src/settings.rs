//! The kernel settings of an IPVS namespace besides its table: the connection timeouts, the
//! `net.ipv4.vs.*` sysctls and the sync daemons ([`Settings`]); reading them
//! ([`read`], [`sysctls`]), the changes from one to another
//! ([`settings_plan`]) and making them with a rollback ([`apply`]).
//!
//! The sysctls have no netlink command: they are the files of `/proc/sys/net/ipv4/vs` of the
//! handle's namespace, named here without the `net.ipv4.vs.` prefix. Which ones there are
//! depends on the kernel (its version, `CONFIG_IP_VS_NFCT`, the schedulers loaded), so the
//! names are checked against the running kernel's, never against a list of this crate's.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Change, DaemonState, Error, Ipvs, Operation, Result, SyncDaemon, Timeouts};

/// Where a namespace's IPVS sysctls are (seen from a thread in that namespace).
pub const SYSCTL_DIR: &str = "/proc/sys/net/ipv4/vs";

/// A sysctl's value: an integer (most of them), integers (`sync_threshold`: `[3, 50]`) or text
/// (`est_cpulist`). Its serde form is the JSON number, array or string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SysctlValue {
    /// One integer.
    Int(i64),
    /// Several integers, in the kernel's order.
    Ints(Vec<i64>),
    /// Anything else, as the kernel writes it (without the final newline).
    Text(String),
}

impl SysctlValue {
    /// Reads the kernel's text of a sysctl file.
    pub fn parse(text: &str) -> SysctlValue {
        let t = text.trim_end_matches('\n').trim();
        if let Ok(v) = t.parse::<i64>() {
            return SysctlValue::Int(v);
        }
        let ints: std::result::Result<Vec<i64>, _> =
            t.split_whitespace().map(str::parse::<i64>).collect();
        match ints {
            Ok(v) if v.len() > 1 => SysctlValue::Ints(v),
            _ => SysctlValue::Text(t.to_string()),
        }
    }

    /// The kind of value, in words, for errors.
    fn kind(&self) -> String {
        match self {
            SysctlValue::Int(_) => "an integer".to_string(),
            SysctlValue::Ints(v) => format!("{} integers", v.len()),
            SysctlValue::Text(_) => "text".to_string(),
        }
    }
}

/// Reads a JSON integer, array of integers or string; anything else is an error naming it
/// (`invalid type: floating point `1.5`, expected ...`).
impl<'de> Deserialize<'de> for SysctlValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = SysctlValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer, an array of integers or a string")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<SysctlValue, E> {
                Ok(SysctlValue::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<SysctlValue, E> {
                i64::try_from(v)
                    .map(SysctlValue::Int)
                    .map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> std::result::Result<SysctlValue, E> {
                Ok(SysctlValue::Text(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<SysctlValue, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element::<i64>()? {
                    v.push(x);
                }
                Ok(SysctlValue::Ints(v))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The text the kernel reads: integers separated by a space.
impl fmt::Display for SysctlValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SysctlValue::Int(v) => write!(f, "{v}"),
            SysctlValue::Ints(v) => {
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{x}")?;
                }
                Ok(())
            }
            SysctlValue::Text(t) => f.write_str(t),
        }
    }
}

/// The range a sysctl's integer (each of them) must be in: what the kernel checks, and for a
/// switch 0 or 1 (the kernel takes any integer there, but only 0 and 1 mean anything).
fn range(name: &str) -> (i64, i64) {
    // proc_dointvec_jiffies refuses seconds above INT_MAX / HZ; 1000 is the largest HZ.
    const JIFFY_SECONDS: i64 = i32::MAX as i64 / 1000;
    match name {
        "expire_nodest_conn"
        | "expire_quiescent_template"
        | "sloppy_tcp"
        | "sloppy_sctp"
        | "cache_bypass"
        | "conntrack"
        | "snat_reroute"
        | "nat_icmp_send"
        | "pmtu_disc"
        | "backup_only"
        | "schedule_icmp"
        | "ignore_tunneled"
        | "run_estimation"
        | "sync_persist_mode"
        | "sync_version" => (0, 1),
        // Defense strategies (proc_do_defense_mode), the reuse-mode bits, sync_retries' minmax.
        "drop_entry" | "drop_packet" | "secure_tcp" | "conn_reuse_mode" | "sync_retries" => (0, 3),
        "est_nice" => (-20, 19),
        "sync_ports" => (1, 1 << 30),
        "sync_refresh_period" | "lblc_expiration" | "lblcr_expiration" => (0, JIFFY_SECONDS),
        _ => (0, i64::from(i32::MAX)),
    }
}

/// Checks `value` for the sysctl `name`, whose current value is `current` (its kind is the
/// one wanted): `Err` says what is wrong, naming the value.
pub fn check_sysctl(
    name: &str,
    value: &SysctlValue,
    current: &SysctlValue,
) -> std::result::Result<(), String> {
    let ints: &[i64] = match (value, current) {
        (SysctlValue::Int(v), SysctlValue::Int(_)) => std::slice::from_ref(v),
        (SysctlValue::Ints(v), SysctlValue::Ints(c)) if v.len() == c.len() => v,
        (SysctlValue::Text(t), SysctlValue::Text(_)) => {
            if t.contains(['\n', '\0']) {
                return Err(format!("{t:?} has a line break or a NUL byte"));
            }
            return Ok(());
        }
        (v, c) => {
            return Err(format!(
                "{} is {}, but the kernel's value ({c}) is {}",
                serde_json_text(v),
                v.kind(),
                c.kind()
            ))
        }
    };
    let (lo, hi) = range(name);
    for &v in ints {
        if v < lo || v > hi {
            return Err(format!("{v} is out of range ({lo}..={hi})"));
        }
    }
    match name {
        "sync_ports" if !(ints[0] as u64).is_power_of_two() => {
            Err(format!("{} is not a power of 2", ints[0]))
        }
        // The kernel's proc_do_sync_threshold: the threshold below the period, or period 0.
        "sync_threshold" if ints.len() == 2 && ints[1] != 0 && ints[0] >= ints[1] => Err(format!(
            "[{}, {}]: the threshold must be below the period (or the period 0)",
            ints[0], ints[1]
        )),
        _ => Ok(()),
    }
}

/// A value as the document writes it, for errors.
fn serde_json_text(v: &SysctlValue) -> String {
    match v {
        SysctlValue::Text(t) => format!("{t:?}"),
        SysctlValue::Ints(v) => format!(
            "[{}]",
            v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        ),
        SysctlValue::Int(v) => v.to_string(),
    }
}

/// The sysctls of `wanted` that the kernel (`kernel`, as [`sysctls`] reads them, or
/// those of them `wanted` names) lacks or would not take: each name with what is wrong.
pub(crate) fn sysctl_problems<'a>(
    wanted: &'a BTreeMap<String, SysctlValue>,
    kernel: &BTreeMap<String, SysctlValue>,
) -> Vec<(&'a str, String)> {
    let mut problems = Vec::new();
    for (name, value) in wanted {
        match kernel.get(name) {
            None => problems.push((
                name.as_str(),
                format!("no such sysctl in this kernel (no {SYSCTL_DIR}/{name})"),
            )),
            Some(current) => {
                if let Err(e) = check_sysctl(name, value, current) {
                    problems.push((name.as_str(), e));
                }
            }
        }
    }
    problems
}

/// Whether `name` can name a sysctl file of [`SYSCTL_DIR`] (no path, no hidden file).
pub(crate) fn is_sysctl_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\0']) && !name.starts_with('.')
}

/// Kernel settings as wanted or as read. Each part is optional: a setting a desired
/// [`Settings`] does not name is left as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// The TCP, TCP-FIN and UDP timeouts; 0 leaves one as it is.
    pub timeouts: Option<Timeouts>,
    /// `net.ipv4.vs.*` sysctls by name without that prefix (`expire_nodest_conn`).
    pub sysctls: BTreeMap<String, SysctlValue>,
    /// The sync daemons (at most a master and a backup); `Some(vec![])` stops every one.
    pub sync_daemons: Option<Vec<SyncDaemon>>,
}

impl Settings {
    /// Whether it names no setting.
    pub fn is_empty(&self) -> bool {
        self.timeouts.is_none() && self.sysctls.is_empty() && self.sync_daemons.is_none()
    }

    /// Checks the sysctls against the kernel's (`kernel`, as [`sysctls`] reads them) and
    /// the daemons (one of each state): every problem, each `path: what is wrong`
    /// (`sysctls.expire_nodest_con: no such sysctl in this kernel`).
    pub fn check(&self, kernel: &BTreeMap<String, SysctlValue>) -> Vec<String> {
        let mut problems: Vec<String> = sysctl_problems(&self.sysctls, kernel)
            .into_iter()
            .map(|(name, why)| format!("sysctls.{name}: {why}"))
            .collect();
        if let Some(t) = &self.timeouts {
            if let Err(e) = t.validate() {
                problems.push(format!("timeouts.{}: {e}", e.field()));
            }
        }
        for (i, d) in self.sync_daemons.iter().flatten().enumerate() {
            let twin = self.sync_daemons.iter().flatten().take(i);
            if twin.filter(|o| o.state == d.state).count() > 0 {
                problems.push(format!(
                    "sync_daemons[{i}]: a second {} daemon (the kernel runs one of each)",
                    d.state
                ));
            }
            if let Err(e) = d.validate() {
                problems.push(format!("sync_daemons[{i}].{}: {e}", e.field()));
            }
        }
        problems
    }
}

/// One change of a setting, as [`settings_plan`] makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingChange {
    /// A change IPVS takes over netlink: [`Change::SetTimeouts`], [`Change::StartDaemon`],
    /// [`Change::StopDaemon`].
    Ipvs(Change),
    /// Writes a sysctl.
    Sysctl {
        /// Its name without `net.ipv4.vs.`.
        name: String,
        /// The value to write.
        value: SysctlValue,
    },
}

/// What a dry run prints: ipvsadm's line for a netlink change (`--set 900 120 300`,
/// `--start-daemon master --mcast-interface eth0 --syncid 5`), the sysctl's path and value for
/// a sysctl (`/proc/sys/net/ipv4/vs/expire_nodest_conn = 1`).
impl fmt::Display for SettingChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingChange::Ipvs(c) => write!(f, "{c}"),
            SettingChange::Sysctl { name, value } => write!(f, "{SYSCTL_DIR}/{name} = {value}"),
        }
    }
}

/// Settings changes in order, each with the change that undoes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingsPlan {
    /// The changes, in the order to make them.
    pub changes: Vec<SettingChange>,
    /// `undo[i]` undoes `changes[i]` (restores the value read before).
    pub undo: Vec<SettingChange>,
}

impl SettingsPlan {
    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
    /// How many changes.
    pub fn len(&self) -> usize {
        self.changes.len()
    }
    fn push(&mut self, change: SettingChange, undo: SettingChange) {
        self.changes.push(change);
        self.undo.push(undo);
    }
    /// Sets back, on `ipvs`, everything this plan changed (after [`apply`] made
    /// it all): the undo changes in reverse. The ones that failed.
    pub fn roll_back(&self, ipvs: &Ipvs) -> Vec<(SettingChange, Error)> {
        ipvs.undo_settings(&self.undo)
    }
}

/// Whether the kernel's daemon `have` is the wanted `want`: settings `want` leaves out are the
/// kernel's defaults, whatever they are.
fn same_daemon(want: &SyncDaemon, have: &SyncDaemon) -> bool {
    fn fits<T: PartialEq>(want: &Option<T>, have: &Option<T>) -> bool {
        want.is_none() || want == have
    }
    want.state == have.state
        && want.mcast_interface == have.mcast_interface
        && want.sync_id == have.sync_id
        && fits(&want.sync_maxlen, &have.sync_maxlen)
        && fits(&want.mcast_group, &have.mcast_group)
        && fits(&want.mcast_port, &have.mcast_port)
        && fits(&want.mcast_ttl, &have.mcast_ttl)
}

/// The changes that take `current` (as [`read`] read it for `desired`) to
/// `desired`: timeouts first (0 keeps a value), then the sysctls by name, then the daemons (a
/// daemon that differs is stopped and started again). What `desired` does not name is left
/// alone. Each undo restores what `current` had.
pub fn settings_plan(current: &Settings, desired: &Settings) -> SettingsPlan {
    let mut p = SettingsPlan::default();
    if let (Some(want), Some(have)) = (desired.timeouts, current.timeouts) {
        let keep = |w: u32, h: u32| if w == 0 { h } else { w };
        let after = Timeouts {
            tcp: keep(want.tcp, have.tcp),
            tcp_fin: keep(want.tcp_fin, have.tcp_fin),
            udp: keep(want.udp, have.udp),
        };
        if after != have {
            p.push(
                SettingChange::Ipvs(Change::SetTimeouts(want)),
                SettingChange::Ipvs(Change::SetTimeouts(have)),
            );
        }
    }
    for (name, value) in &desired.sysctls {
        if let Some(have) = current.sysctls.get(name) {
            if have != value {
                p.push(
                    SettingChange::Sysctl {
                        name: name.clone(),
                        value: value.clone(),
                    },
                    SettingChange::Sysctl {
                        name: name.clone(),
                        value: have.clone(),
                    },
                );
            }
        }
    }
    if let Some(want) = &desired.sync_daemons {
        let have = current.sync_daemons.as_deref().unwrap_or_default();
        for state in [DaemonState::Master, DaemonState::Backup] {
            let w = want.iter().find(|d| d.state == state);
            let h = have.iter().find(|d| d.state == state);
            match (w, h) {
                (Some(w), Some(h)) if same_daemon(w, h) => {}
                (w, h) => {
                    if let Some(h) = h {
                        p.push(
                            SettingChange::Ipvs(Change::StopDaemon(state)),
                            SettingChange::Ipvs(Change::StartDaemon(h.clone())),
                        );
                    }
                    if let Some(w) = w {
                        p.push(
                            SettingChange::Ipvs(Change::StartDaemon(w.clone())),
                            SettingChange::Ipvs(Change::StopDaemon(state)),
                        );
                    }
                }
            }
        }
    }
    p
}

/// A settings change that failed, and how undoing those made before it went.
#[derive(Debug)]
pub struct SettingsRefusal {
    /// The change that failed.
    pub change: SettingChange,
    /// Why.
    pub error: Error,
    /// How many changes made before it were undone.
    pub undone: usize,
    /// Undo changes that failed too: then the settings are not as they were.
    pub undo_failed: Vec<(SettingChange, Error)>,
}

impl fmt::Display for SettingsRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}' failed: {}; ", self.change, self.error)?;
        if self.undo_failed.is_empty() {
            write!(
                f,
                "the {} settings changed before it were set back",
                self.undone
            )
        } else {
            write!(
                f,
                "setting back the {} settings changed before it failed {} times",
                self.undone,
                self.undo_failed.len()
            )
        }
    }
}

impl std::error::Error for SettingsRefusal {}

/// Every `net.ipv4.vs.*` sysctl of `ipvs`'s namespace with its value, by name without the
/// prefix. A file that cannot be read is left out (none is write-only in Linux 6.x).
pub fn sysctls(ipvs: &Ipvs) -> Result<BTreeMap<String, SysctlValue>> {
    ipvs.sysctls()
}

/// One sysctl's value in `ipvs`'s namespace (`None`: the kernel has no such sysctl).
pub fn sysctl(ipvs: &Ipvs, name: &str) -> Result<Option<SysctlValue>> {
    ipvs.sysctl(name)
}

/// Writes a sysctl in `ipvs`'s namespace (not checked here: see [`check_sysctl`]). The
/// kernel's refusal is an [`Error::Io`] naming the file.
pub fn set_sysctl(ipvs: &Ipvs, name: &str, value: &SysctlValue) -> Result<()> {
    ipvs.set_sysctl(name, value)
}

/// The kernel's settings that `wanted` names: the timeouts when it has some, the sysctls it
/// names (one it names that the kernel lacks is left out), the daemons when it has some.
/// [`Settings::default`] reads everything.
pub fn read(ipvs: &Ipvs, wanted: &Settings) -> Result<Settings> {
    ipvs.read_settings(wanted)
}

/// Makes the changes of `plan` in order; when one fails, those made before it are undone (in
/// reverse) and the failure says how that went.
pub fn apply(ipvs: &Ipvs, plan: &SettingsPlan) -> std::result::Result<(), Box<SettingsRefusal>> {
    ipvs.apply_settings(plan)
}

impl Ipvs {
    /// Runs `f` in this handle's namespace (on a short-lived thread when it has one).
    fn in_own_netns<T: Send>(
        &self,
        op: Operation,
        f: impl FnOnce() -> std::io::Result<T> + Send,
    ) -> Result<T> {
        match self.netns() {
            Some(p) => ipvs_sys::netns::run_in_netns_scoped(p, f)
                .map_err(|source| Error::Netns {
                    path: p.to_path_buf(),
                    source,
                })?
                .map_err(|source| Error::Io { op, source }),
            None => f().map_err(|source| Error::Io { op, source }),
        }
    }

    /// Every `net.ipv4.vs.*` sysctl of the namespace with its value, by name without the
    /// prefix. A file that cannot be read is left out (none is write-only in Linux 6.x).
    pub(crate) fn sysctls(&self) -> Result<BTreeMap<String, SysctlValue>> {
        self.in_own_netns(Operation::GetSysctls, || {
            let mut all = BTreeMap::new();
            for entry in std::fs::read_dir(SYSCTL_DIR)? {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    all.insert(name, SysctlValue::parse(&text));
                }
            }
            Ok(all)
        })
    }

    /// One sysctl's value (`None`: the kernel has no such sysctl).
    pub(crate) fn sysctl(&self, name: &str) -> Result<Option<SysctlValue>> {
        if !is_sysctl_name(name) {
            return Ok(None);
        }
        let path = Path::new(SYSCTL_DIR).join(name);
        self.in_own_netns(
            Operation::GetSysctls,
            move || match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(SysctlValue::parse(&text))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            },
        )
    }

    /// Writes a sysctl (not checked here: see [`check_sysctl`]). The kernel's refusal is an
    /// [`Error::Io`] naming the file.
    pub(crate) fn set_sysctl(&self, name: &str, value: &SysctlValue) -> Result<()> {
        if !is_sysctl_name(name) {
            return Err(Error::InvalidArgument(format!(
                "{name:?} is not a sysctl name"
            )));
        }
        let path = Path::new(SYSCTL_DIR).join(name);
        let text = format!("{value}\n");
        self.in_own_netns(Operation::SetSysctl, move || {
            std::fs::write(&path, text.as_bytes())
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        })
    }

    /// The kernel's settings that `wanted` names: the timeouts when it has some, the sysctls
    /// it names (one it names that the kernel lacks is left out), the daemons when it has
    /// some. [`Settings::default`] reads everything.
    pub(crate) fn read_settings(&self, wanted: &Settings) -> Result<Settings> {
        let all = wanted.is_empty();
        let timeouts = if all || wanted.timeouts.is_some() {
            Some(self.timeouts()?)
        } else {
            None
        };
        let sysctls = if all {
            self.sysctls()?
        } else {
            let mut some = BTreeMap::new();
            for name in wanted.sysctls.keys() {
                if let Some(v) = self.sysctl(name)? {
                    some.insert(name.clone(), v);
                }
            }
            some
        };
        let sync_daemons = if all || wanted.sync_daemons.is_some() {
            Some(self.daemons()?)
        } else {
            None
        };
        Ok(Settings {
            timeouts,
            sysctls,
            sync_daemons,
        })
    }

    /// Makes one settings change.
    fn apply_setting(&self, change: &SettingChange) -> Result<()> {
        match change {
            SettingChange::Ipvs(c) => self.apply_one(c),
            SettingChange::Sysctl { name, value } => self.set_sysctl(name, value),
        }
    }

    /// Makes the changes in order; when one fails, those made before it are undone (in reverse)
    /// and the failure says how that went.
    pub(crate) fn apply_settings(
        &self,
        plan: &SettingsPlan,
    ) -> std::result::Result<(), Box<SettingsRefusal>> {
        for (i, change) in plan.changes.iter().enumerate() {
            if let Err(error) = self.apply_setting(change) {
                let undo_failed = self.undo_settings(&plan.undo[..i]);
                return Err(Box::new(SettingsRefusal {
                    change: change.clone(),
                    error,
                    undone: i,
                    undo_failed,
                }));
            }
        }
        Ok(())
    }

    /// Sends `undo` (the undo changes of what was made, in the order made) in reverse: the
    /// ones that failed.
    pub(crate) fn undo_settings(&self, undo: &[SettingChange]) -> Vec<(SettingChange, Error)> {
        undo.iter()
            .rev()
            .filter_map(|u| self.apply_setting(u).err().map(|e| (u.clone(), e)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel() -> BTreeMap<String, SysctlValue> {
        [
            ("expire_nodest_conn", SysctlValue::Int(0)),
            ("sync_threshold", SysctlValue::Ints(vec![3, 50])),
            ("est_cpulist", SysctlValue::Text("0-1".into())),
            ("sync_ports", SysctlValue::Int(1)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    #[test]
    fn values_read_as_the_kernel_writes_them() {
        assert_eq!(SysctlValue::parse("1\n"), SysctlValue::Int(1));
        assert_eq!(
            SysctlValue::parse("3\t50\n"),
            SysctlValue::Ints(vec![3, 50])
        );
        assert_eq!(SysctlValue::parse("0-1\n"), SysctlValue::Text("0-1".into()));
        assert_eq!(SysctlValue::Ints(vec![3, 50]).to_string(), "3 50");
        let json: SysctlValue = serde_json::from_str("[3, 50]").unwrap();
        assert_eq!(json, SysctlValue::Ints(vec![3, 50]));
    }

    #[test]
    fn checks_name_the_bad_name_or_value() {
        let mut s = Settings::default();
        s.sysctls
            .insert("expire_nodest_con".into(), SysctlValue::Int(1));
        s.sysctls
            .insert("expire_nodest_conn".into(), SysctlValue::Int(2));
        s.sysctls
            .insert("sync_threshold".into(), SysctlValue::Ints(vec![50, 3]));
        s.sysctls.insert("sync_ports".into(), SysctlValue::Int(3));
        s.sysctls.insert("est_cpulist".into(), SysctlValue::Int(3));
        let p = s.check(&kernel());
        assert_eq!(p.len(), 5, "{p:?}");
        assert!(
            p[0].starts_with("sysctls.est_cpulist: 3 is an integer"),
            "{p:?}"
        );
        assert_eq!(p[1], "sysctls.expire_nodest_con: no such sysctl in this kernel (no /proc/sys/net/ipv4/vs/expire_nodest_con)");
        assert_eq!(
            p[2],
            "sysctls.expire_nodest_conn: 2 is out of range (0..=1)"
        );
        assert!(p[3].contains("not a power of 2"), "{p:?}");
        assert!(p[4].starts_with("sysctls.sync_threshold: [50, 3]"), "{p:?}");
        let mut good = Settings::default();
        good.sysctls
            .insert("expire_nodest_conn".into(), SysctlValue::Int(1));
        good.sysctls
            .insert("sync_threshold".into(), SysctlValue::Ints(vec![3, 100]));
        assert!(good.check(&kernel()).is_empty());
    }

    #[test]
    fn the_plan_changes_only_what_differs_and_undoes_to_what_was() {
        let master = SyncDaemon::new(DaemonState::Master, "eth0", 5);
        let current = Settings {
            timeouts: Some(Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            }),
            sysctls: kernel(),
            sync_daemons: Some(vec![SyncDaemon {
                sync_maxlen: Some(1472),
                ..master.clone()
            }]),
        };
        let mut same = Settings {
            timeouts: Some(Timeouts {
                tcp: 900,
                tcp_fin: 0,
                udp: 0,
            }),
            sync_daemons: Some(vec![master.clone()]),
            ..Settings::default()
        };
        same.sysctls
            .insert("expire_nodest_conn".into(), SysctlValue::Int(0));
        assert!(settings_plan(&current, &same).is_empty());

        let backup = SyncDaemon::new(DaemonState::Backup, "eth1", 7);
        let mut other = Settings {
            timeouts: Some(Timeouts {
                tcp: 3600,
                tcp_fin: 0,
                udp: 0,
            }),
            sync_daemons: Some(vec![backup.clone()]),
            ..Settings::default()
        };
        other
            .sysctls
            .insert("expire_nodest_conn".into(), SysctlValue::Int(1));
        let p = settings_plan(&current, &other);
        let lines: Vec<String> = p.changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            [
                "--set 3600 0 0",
                "/proc/sys/net/ipv4/vs/expire_nodest_conn = 1",
                "--stop-daemon master",
                "--start-daemon backup --mcast-interface eth1 --syncid 7",
            ]
        );
        let undo: Vec<String> = p.undo.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            undo,
            [
                "--set 900 120 300",
                "/proc/sys/net/ipv4/vs/expire_nodest_conn = 0",
                "--start-daemon master --mcast-interface eth0 --syncid 5 --sync-maxlen 1472",
                "--stop-daemon backup",
            ]
        );
    }

    #[test]
    fn a_state_carries_settings_through_json_and_plan() {
        let text = r#"{"services": [], "sysctls": {"expire_nodest_conn": 1, "sync_threshold": [3, 60]},
            "sync_daemons": [{"state": "master", "mcast_interface": "eth0", "sync_id": 5}]}"#;
        let mut desired: crate::State = serde_json::from_str(text).unwrap();
        let again = serde_json::to_string(&desired).unwrap();
        assert_eq!(
            serde_json::from_str::<crate::State>(&again).unwrap(),
            desired
        );
        let current = crate::State {
            sysctls: kernel(),
            ..crate::State::default()
        };
        let p = crate::plan(&current, &desired, &crate::PlanOptions::default()).unwrap();
        assert_eq!(
            p.lines().collect::<Vec<_>>(),
            [
                "/proc/sys/net/ipv4/vs/expire_nodest_conn = 1",
                "/proc/sys/net/ipv4/vs/sync_threshold = 3 60",
                "--start-daemon master --mcast-interface eth0 --syncid 5",
            ]
        );
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json["changes"][0],
            serde_json::json!({"op": "set_sysctl", "name": "expire_nodest_conn", "value": 1})
        );
        desired.sysctls.insert("nope".into(), SysctlValue::Int(1));
        let e = crate::plan(&current, &desired, &crate::PlanOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "sysctls.nope: no such sysctl in this kernel (no /proc/sys/net/ipv4/vs/nope)"
        );
        let e = serde_json::from_str::<crate::State>(r#"{"services": [], "sysctls": {"a": 1.5}}"#)
            .unwrap_err();
        assert!(e.to_string().contains("floating point `1.5`"), "{e}");
        let e = serde_json::from_str::<crate::State>(
            r#"{"services": [], "sysctls": {"../x": 1}, "sync_daemons": [
                {"state": "backup", "mcast_interface": "eth0", "sync_id": 1},
                {"state": "backup", "mcast_interface": "eth1", "sync_id": 2}]}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("sysctls.../x: \"../x\" is not a sysctl name"),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("sync_daemons[1]: a second backup daemon"),
            "{e}"
        );
    }
}
