//! Planning: the changes that turn one [`State`] into another. The rules
//! are on [`plan`].

use std::collections::HashMap;
use std::net::IpAddr;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::schema::{dest_out, service_key_out, service_out_alone};
use crate::settings::{settings_plan, sysctl_problems, SettingChange, Settings, SettingsPlan};
use crate::{
    Change, Destination, KeyHash, Problem, Reason, Service, ServiceKey, State, StateError, Timeouts,
};

/// How [`plan`] treats what the desired state does not name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Delete the services that the desired state does not name.
    pub prune: bool,
}

impl PlanOptions {
    /// The default: services the desired state does not name stay.
    pub const fn new() -> Self {
        PlanOptions { prune: false }
    }
    /// With `prune`: delete the services the desired state does not name.
    pub const fn with_prune(mut self, prune: bool) -> Self {
        self.prune = prune;
        self
    }
}

/// The ordered changes from one state to another, each with its undo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// The changes, in the order to send them.
    pub changes: Vec<Change>,
    /// `undo[i]` reverses `changes[i]` (given the state the plan was made
    /// from); to roll back the first `n`, send `undo[..n]` in reverse.
    pub undo: Vec<Change>,
    /// The sysctls and sync daemons to change, made after `changes` (each with its undo).
    pub settings: SettingsPlan,
}

impl Plan {
    /// No change: the states are equal (as far as the options look).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.settings.is_empty()
    }
    /// The number of changes, settings included.
    pub fn len(&self) -> usize {
        self.changes.len() + self.settings.len()
    }
    /// Each change as the ipvsadm command line that makes it (its `Display`,
    /// without a newline), then each setting (`/proc/sys/net/ipv4/vs/NAME = VALUE`,
    /// `--start-daemon ...`): what `ipvsctl apply --dry-run` prints.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.changes
            .iter()
            .map(Change::to_string)
            .chain(self.settings.changes.iter().map(SettingChange::to_string))
    }
    /// [`Plan::lines`], each with its newline, in one string: what `ipvsctl apply` prints.
    /// The changes' lines are written as bytes, without the formatting machinery.
    pub fn text(&self) -> String {
        // Most lines take 40 to 70 bytes.
        let mut out = Vec::with_capacity(self.len() * 64);
        // Writing to a Vec cannot fail.
        let _ = self.write_text(&mut out);
        // Only text was written: the check cannot fail (and would not panic if it did).
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
    /// [`Plan::text`] written to `out` as it is made, a few kilobytes at a time: the same
    /// bytes, without the whole text in memory at once (a big plan's text is as big as its
    /// input).
    pub fn write_text(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        use std::io::Write;
        const CHUNK: usize = 8 * 1024;
        // Room for the line that passes the chunk's size (a longer one grows it).
        let mut buf = Vec::with_capacity(CHUNK + 512);
        for change in &self.changes {
            crate::ipvsadm::push_line(&mut buf, change);
            if buf.len() >= CHUNK {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        for setting in &self.settings.changes {
            writeln!(buf, "{setting}")?;
        }
        out.write_all(&buf)
    }
    /// Adds a change at the end, with the change that undoes it.
    pub fn push(&mut self, change: Change, undo: Change) {
        self.changes.push(change);
        self.undo.push(undo);
    }
}

fn pe(s: &Service) -> Option<&str> {
    s.persistence_engine.as_deref().filter(|p| !p.is_empty())
}

/// Whether two services with the same key differ in what `-E` sets.
pub(crate) fn service_differs(a: &Service, b: &Service) -> bool {
    a.scheduler != b.scheduler
        || a.flags != b.flags
        || a.timeout != b.timeout
        || a.netmask != b.netmask
        || pe(a) != pe(b)
}

/// The timeouts after setting `want` on `have` (0 in `want` keeps a value).
fn merged(have: Timeouts, want: Timeouts) -> Timeouts {
    let pick = |h: u32, w: u32| if w == 0 { h } else { w };
    Timeouts {
        tcp: pick(have.tcp, want.tcp),
        tcp_fin: pick(have.tcp_fin, want.tcp_fin),
        udp: pick(have.udp, want.udp),
    }
}

/// The ordered changes that turn `current` into `desired`, each with the
/// change that undoes it, or the problems of `desired` when it fails
/// [`State::validate`] (then nothing is planned).
///
/// `current` is normally what the kernel has ([`crate::Ipvs::read_state`]),
/// with its timeouts when `desired` sets some; it is not checked. A pure
/// function: nothing is sent.
///
/// The rules:
/// - **Keys.** A service is found by its key (family, protocol, address and
///   port, or fwmark), a destination by its address and port within its
///   service. A different key is another object: it is deleted and added.
/// - **Edits in place** (`-E`/`-e`), so that connections survive: whatever
///   the kernel lets an edit set, that is a service's scheduler, flags,
///   persistence timeout, netmask and persistence engine, and a
///   destination's forwarding method, tunnel options, weight and thresholds.
/// - **Order**: the timeouts first; then every delete (the destinations of a
///   service before the service); then the edits; then the adds (a service
///   before its destinations), in the order of `desired`.
/// - **What `desired` does not name**: destinations of a service it names
///   go; services it does not name stay, unless [`PlanOptions::prune`],
///   which deletes them (their destinations first).
/// - **Timeouts**: set when `desired` has some and they differ (0 keeps a
///   value); unknown current timeouts are undone by setting them again.
/// - **Sysctls and sync daemons** ([`Plan::settings`], made after the changes): each sysctl
///   `desired` names is written when `current`'s differs, and the daemons, when `desired`
///   says, are stopped, started or restarted to match (a daemon setting it leaves out takes
///   the kernel's default). A sysctl `current` lacks or a value the kernel would not take is a
///   problem (so `current` must be read for `desired`: [`crate::ReadOptions::for_state`]).
///   What `desired` does not name is left alone, with or without `prune`.
/// - **Undo**: `undo[i]` reverses `changes[i]`; to roll back the first `n`,
///   send `undo[..n]` in reverse.
/// - **Cost**: linear; each side is put in a hash map once (with [`KeyHash`]).
///
/// ```
/// use ipvs::{plan, Change, Destination, Forward, PlanOptions, Service, ServiceKey, ServiceState, State};
/// let web = ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80);
/// let real = |last: u8, weight| {
///     Destination::new([192, 168, 10, last].into(), 80)
///         .with_forward(Forward::Masquerade)
///         .with_weight(weight)
/// };
/// let mut current = State::default();
/// current.services.push(
///     ServiceState::new(Service::new(web).with_scheduler("rr"))
///         .with_destination(real(11, 1))
///         .with_destination(real(12, 1)),
/// );
/// let mut desired = current.clone();
/// let svc = desired.service_mut(&web).unwrap();
/// svc.destinations.retain(|d| d.addr != real(12, 1).addr); // goes
/// svc.destinations[0].weight = 5; // edited in place
/// svc.destinations.push(real(13, 1)); // added
///
/// let p = plan(&current, &desired, &PlanOptions::default())?;
/// let lines: Vec<String> = p.lines().collect();
/// assert_eq!(lines, [
///     "-d -t 10.0.0.100:80 -r 192.168.10.12:80",
///     "-e -t 10.0.0.100:80 -r 192.168.10.11:80 -m -w 5",
///     "-a -t 10.0.0.100:80 -r 192.168.10.13:80 -m -w 1",
/// ]);
/// assert!(matches!(p.undo[1], Change::EditDestination { destination, .. } if destination.weight == 1));
///
/// // A desired state that fails its checks plans nothing.
/// desired.services[0].destinations[0].lower_threshold = 7;
/// let e = plan(&current, &desired, &PlanOptions::default()).unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "services[0].destinations[0].lower_threshold: 7 is above upper_threshold 0"
/// );
/// # Ok::<(), ipvs::StateError>(())
/// ```
pub fn plan(current: &State, desired: &State, options: &PlanOptions) -> Result<Plan, StateError> {
    desired.validate()?;
    plan_valid(current, desired, options)
}

/// [`plan`] of a `desired` state that has passed [`State::validate`], without checking it
/// again: for a caller that checked it when it read it and has changed nothing since that the
/// checks look at, or has checked again what it changed (`ipvsctl apply` checks each
/// destination whose thresholds it took from the table). The sysctls are still checked
/// against `current`'s. Given a state that fails [`State::validate`], it plans something
/// (a service or destination named twice: the last wins) and does not panic; what the kernel
/// makes of that plan is not said.
pub fn plan_valid(
    current: &State,
    desired: &State,
    options: &PlanOptions,
) -> Result<Plan, StateError> {
    // The sysctls against the kernel's: those `current` has (read for `desired`).
    StateError::from_problems(
        sysctl_problems(&desired.sysctls, &current.sysctls)
            .into_iter()
            .map(|(name, why)| Problem::new(format!("sysctls.{name}"), Reason::Input(why)))
            .collect(),
    )?;
    let mut p = Plan::default();
    let settings = |s: &State| Settings {
        timeouts: None,
        sysctls: s.sysctls.clone(),
        sync_daemons: s.sync_daemons.clone(),
    };
    p.settings = settings_plan(&settings(current), &settings(desired));

    if let Some(want) = desired.timeouts {
        match current.timeouts {
            Some(have) if merged(have, want) == have => {}
            Some(have) => p.push(Change::SetTimeouts(want), Change::SetTimeouts(have)),
            // Unknown current timeouts cannot be restored; set them anyway.
            None => p.push(Change::SetTimeouts(want), Change::SetTimeouts(want)),
        }
    }

    // `desired`'s services by key; `current`'s are found by place: `matched[j]` is the
    // service of `current` with the key of `desired.services[j]` (the last, if twice).
    let mut matched: Vec<Option<usize>> = vec![None; desired.services.len()];
    // Not made when `current` has no service to look up (a first apply).
    let want: HashMap<ServiceKey, usize, KeyHash> = if current.services.is_empty() {
        HashMap::default()
    } else {
        desired
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.service.key, i))
            .collect()
    };

    // Deletes: destinations not wanted in services that stay, and pruned
    // services (their destinations first).
    for (i, s) in current.services.iter().enumerate() {
        let key = s.service.key;
        let gone = match want.get(&key) {
            Some(&j) => {
                matched[j] = Some(i);
                let wanted = Dests::new(&desired.services[j].destinations);
                for d in &s.destinations {
                    if wanted.get(d.addr, d.port).is_none() {
                        p.push(delete_dest(key, d), add_dest(key, d));
                    }
                }
                false
            }
            None => options.prune,
        };
        if gone {
            for d in &s.destinations {
                p.push(delete_dest(key, d), add_dest(key, d));
            }
            p.push(
                Change::DeleteService(key),
                Change::AddService(s.service.clone()),
            );
        }
    }

    // Edits in place; the adds are noted by place (a whole service, or one destination of a
    // service the table has) and made after them, in one block sized once.
    let mut adds: Vec<(usize, Option<usize>)> = Vec::new();
    // `desired` is valid: each key once, each destination once in its service.
    for (j, (w, &found)) in desired.services.iter().zip(&matched).enumerate() {
        let key = w.service.key;
        match found {
            Some(i) => {
                let c = &current.services[i];
                if service_differs(&c.service, &w.service) {
                    p.push(
                        Change::EditService(w.service.clone()),
                        Change::EditService(c.service.clone()),
                    );
                }
                let have = Dests::new(&c.destinations);
                for (k, d) in w.destinations.iter().enumerate() {
                    match have.get(d.addr, d.port) {
                        Some(h) if h == d => {}
                        Some(h) => p.push(
                            Change::EditDestination {
                                service: key,
                                destination: *d,
                            },
                            Change::EditDestination {
                                service: key,
                                destination: *h,
                            },
                        ),
                        None => adds.push((j, Some(k))),
                    }
                }
            }
            None => adds.push((j, None)),
        }
    }
    let count = |&(j, k): &(usize, Option<usize>)| match k {
        Some(_) => 1,
        None => 1 + desired.services[j].destinations.len(),
    };
    let more: usize = adds.iter().map(count).sum();
    p.changes.reserve(more);
    p.undo.reserve(more);
    for (j, k) in adds {
        let w = &desired.services[j];
        let key = w.service.key;
        match k {
            Some(k) => {
                let d = &w.destinations[k];
                p.push(add_dest(key, d), delete_dest(key, d));
            }
            None => {
                p.push(
                    Change::AddService(w.service.clone()),
                    Change::DeleteService(key),
                );
                for d in &w.destinations {
                    p.push(add_dest(key, d), delete_dest(key, d));
                }
            }
        }
    }
    Ok(p)
}

/// One service's destinations by address and port: scanned when they are few (as most
/// services' are: cheaper than hashing each), else in a hash map. The last of a pair named
/// twice wins, as collecting into a map makes it.
enum Dests<'a> {
    Few(&'a [Destination]),
    Many(HashMap<(IpAddr, u16), &'a Destination, KeyHash>),
}

impl<'a> Dests<'a> {
    fn new(all: &'a [Destination]) -> Self {
        if all.len() <= crate::state::FEW {
            Dests::Few(all)
        } else {
            Dests::Many(all.iter().map(|d| ((d.addr, d.port), d)).collect())
        }
    }

    fn get(&self, addr: IpAddr, port: u16) -> Option<&'a Destination> {
        match self {
            Dests::Few(all) => all.iter().rev().find(|d| d.addr == addr && d.port == port),
            Dests::Many(map) => map.get(&(addr, port)).copied(),
        }
    }
}

fn add_dest(service: ServiceKey, d: &Destination) -> Change {
    Change::AddDestination {
        service,
        destination: *d,
    }
}

fn delete_dest(service: ServiceKey, d: &Destination) -> Change {
    Change::DeleteDestination {
        service,
        addr: d.addr,
        port: d.port,
    }
}

/// One change in the schema's words: `{"op": "edit_service", "service": SERVICE}`,
/// `{"op": "add_destination", "service": KEY, "destination": DESTINATION}`, ...
/// SERVICE and DESTINATION are the objects of `docs/json.md`'s save document
/// (a SERVICE here has no `destinations`); KEY is a SERVICE's identifying
/// fields (`family`, `protocol`, `address`, `port`, `fwmark`).
impl Serialize for Change {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Change::AddService(svc) => {
                m.serialize_entry("op", "add_service")?;
                m.serialize_entry("service", &service_out_alone(svc))?;
            }
            Change::EditService(svc) => {
                m.serialize_entry("op", "edit_service")?;
                m.serialize_entry("service", &service_out_alone(svc))?;
            }
            Change::DeleteService(k) => {
                m.serialize_entry("op", "delete_service")?;
                m.serialize_entry("service", &service_key_out(k))?;
            }
            Change::AddDestination {
                service,
                destination,
            } => {
                m.serialize_entry("op", "add_destination")?;
                m.serialize_entry("service", &service_key_out(service))?;
                m.serialize_entry("destination", &dest_out(destination))?;
            }
            Change::EditDestination {
                service,
                destination,
            } => {
                m.serialize_entry("op", "edit_destination")?;
                m.serialize_entry("service", &service_key_out(service))?;
                m.serialize_entry("destination", &dest_out(destination))?;
            }
            Change::DeleteDestination {
                service,
                addr,
                port,
            } => {
                m.serialize_entry("op", "delete_destination")?;
                m.serialize_entry("service", &service_key_out(service))?;
                m.serialize_entry("destination", &addr_out(*addr, *port))?;
            }
            Change::SetTimeouts(t) => {
                m.serialize_entry("op", "set_timeouts")?;
                m.serialize_entry("timeouts", t)?;
            }
            Change::Zero(k) => {
                m.serialize_entry("op", "zero")?;
                m.serialize_entry("service", &k.as_ref().map(service_key_out))?;
            }
            Change::Flush => m.serialize_entry("op", "flush")?,
            Change::StartDaemon(d) => {
                m.serialize_entry("op", "start_daemon")?;
                m.serialize_entry("daemon", d)?;
            }
            Change::StopDaemon(state) => {
                m.serialize_entry("op", "stop_daemon")?;
                m.serialize_entry("state", state)?;
            }
        }
        m.end()
    }
}

#[derive(Serialize)]
struct AddrPort {
    family: crate::Family,
    #[serde(serialize_with = "crate::addr::ser_ntop")]
    address: IpAddr,
    port: u16,
}

fn addr_out(addr: IpAddr, port: u16) -> AddrPort {
    AddrPort {
        family: crate::Family::of(&addr),
        address: addr,
        port,
    }
}

/// A setting in the schema's words: a sysctl is `{"op": "set_sysctl", "name": NAME, "value":
/// VALUE}`, a daemon change the [`Change`]'s (`start_daemon`, `stop_daemon`).
impl Serialize for SettingChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SettingChange::Ipvs(c) => c.serialize(s),
            SettingChange::Sysctl { name, value } => {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("op", "set_sysctl")?;
                m.serialize_entry("name", name)?;
                m.serialize_entry("value", value)?;
                m.end()
            }
        }
    }
}

/// `{"changes": [CHANGE, ...]}`, each change in its serde form (the settings last).
impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Changes<'a>(&'a Plan);
        impl Serialize for Changes<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut q = s.serialize_seq(Some(self.0.len()))?;
                for c in &self.0.changes {
                    q.serialize_element(c)?;
                }
                for c in &self.0.settings.changes {
                    q.serialize_element(c)?;
                }
                q.end()
            }
        }
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("changes", &Changes(self))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Forward, ServiceState};

    /// Of a valid state, `plan_valid` plans what `plan` plans.
    #[test]
    fn plan_valid_is_plan_of_a_valid_state() {
        let key = |i: u8| ServiceKey::tcp([10, 0, 0, i].into(), 80);
        let dest = |i: u8, w| {
            Destination::new([192, 168, 0, i].into(), 8080)
                .with_forward(Forward::Masquerade)
                .with_weight(w)
        };
        let mut current = State::default();
        let mut desired = State::default();
        for i in 0..6u8 {
            let mut s = ServiceState::new(Service::new(key(i)));
            for j in 0..3 {
                s.destinations.push(dest(10 * i + j, 1));
            }
            if i % 2 == 0 {
                current.services.push(s.clone());
            }
            if i % 3 != 0 {
                s.destinations[0].weight = 4;
                s.destinations.pop();
                s.service.timeout = u32::from(i);
            }
            if i != 4 {
                desired.services.push(s);
            }
        }
        for prune in [false, true] {
            let o = PlanOptions::default().with_prune(prune);
            let a = plan(&current, &desired, &o).unwrap();
            assert_eq!(plan_valid(&current, &desired, &o).unwrap(), a);
            assert!(a.len() > 5, "{a:?}");
        }
    }

    /// `write_text` writes `text`'s bytes, over many chunks and the settings after them.
    #[test]
    fn write_text_writes_text() {
        let mut desired = State::default();
        for i in 0..300u16 {
            let key = ServiceKey::tcp([10, 0, (i >> 8) as u8, i as u8].into(), 80);
            let mut s = ServiceState::new(Service::new(key));
            for j in 0..3u8 {
                s.destinations.push(
                    Destination::new([192, 168, j, i as u8].into(), 8080)
                        .with_forward(Forward::Masquerade),
                );
            }
            desired.services.push(s);
        }
        desired.sysctls.insert(
            "expire_nodest_conn".into(),
            crate::settings::SysctlValue::Int(1),
        );
        let current = State {
            sysctls: [(
                "expire_nodest_conn".to_string(),
                crate::settings::SysctlValue::Int(0),
            )]
            .into_iter()
            .collect(),
            ..State::default()
        };
        let p = plan(&current, &desired, &PlanOptions::default()).unwrap();
        assert_eq!(p.settings.len(), 1, "{p:?}");
        let text = p.text();
        assert!(text.len() > 3 * 8192, "{}", text.len());
        let mut out = Vec::new();
        p.write_text(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), text);
        assert_eq!(text, p.lines().map(|l| l + "\n").collect::<String>());
    }

    /// Few destinations are scanned and many hashed: both plan the same edits and adds.
    #[test]
    fn few_and_many_destinations_plan_alike() {
        for n in [4u8, crate::state::FEW as u8 + 1, 40] {
            let key = ServiceKey::tcp([10, 0, 0, 1].into(), 80);
            let mut s = ServiceState::new(Service::new(key));
            for i in 0..n {
                s.destinations.push(
                    Destination::new([192, 168, 0, i].into(), 80).with_forward(Forward::Masquerade),
                );
            }
            let current = State {
                services: vec![s],
                ..State::default()
            };
            let p = plan(&current, &current, &PlanOptions::default()).unwrap();
            assert!(p.is_empty(), "{n} destinations");
            let mut desired = current.clone();
            desired.services[0].destinations[2].weight = 9;
            desired.services[0].destinations.remove(0);
            desired.services[0].destinations.push(
                Destination::new([192, 168, 1, 1].into(), 80).with_forward(Forward::Masquerade),
            );
            let lines: Vec<String> = plan(&current, &desired, &PlanOptions::default())
                .unwrap()
                .lines()
                .collect();
            assert_eq!(
                lines,
                [
                    "-d -t 10.0.0.1:80 -r 192.168.0.0:80",
                    "-e -t 10.0.0.1:80 -r 192.168.0.2:80 -m -w 9",
                    "-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 1",
                ],
                "{n} destinations"
            );
        }
    }
}
