//! Applying a desired [`State`], all or nothing.
//!
//! The table is read once, the plan is sent in batches. When the kernel refuses a change, the
//! changes this run made are undone in reverse, and the services this run touched are read once
//! more (only then, and by key: a dump that another writer tears could skip them) to tell two
//! things apart:
//!
//! - a **conflict**: another writer changed the table between the read and the apply, so the
//!   refused change met an object that was added or deleted underneath it (a service or a
//!   destination that exists now though the read state had none, or is gone though it had one).
//!   The kernel's errno alone cannot say this: `ENOENT` on a service is also an unknown
//!   scheduler, so the object itself is looked at;
//! - a plain **refusal**: the change is wrong for this kernel (an unknown scheduler, a tunnel
//!   option it rejects).
//!
//! The undo leaves what another writer did alone: an undo change is sent only while the object
//! is still as this run left it (an edit whose object another writer changed again, an add whose
//! object is gone already, a delete whose object was added again are left out and counted in
//! [`Refusal::superseded`]). The kernel keeps no version of an object, so an edit by another
//! writer to an object that this run edits too, made before this run's edit, cannot be seen: the
//! last writer wins, as with two `ipvsadm` runs.
//!
//! When the socket fails during a batch (the kernel's answers overflow its receive queue, a
//! receive times out), the kernel has run some or all of the batch's changes without saying
//! which: the same reading tells, each change the kernel made is undone like the others, and
//! [`Refusal::unanswered`] says how many there were.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::settings::SettingsRefusal;

pub use crate::key::{KeyHash, KeyHasher};
/// [`crate::plan`] of a desired state already checked: for a caller that checks it once.
pub use crate::plan::plan_valid;

use crate::{
    plan, Change, DestinationKey, Error, Ipvs, Plan, PlanOptions, ReadOptions, Result, ServiceKey,
    State, StateError,
};

/// Changes per netlink batch.
const BATCH: usize = 1000;

/// Why [`Ipvs::apply_state`] or [`Ipvs::apply_plan`] did not reach the desired state.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApplyError {
    /// The desired state fails [`State::validate`]; nothing was sent.
    Invalid(StateError),
    /// The kernel's state could not be read; nothing was sent.
    Read(Error),
    /// The kernel refused a change. The changes made before it were undone in reverse order
    /// (`undo_failed` lists any undo the kernel refused too, in which case the table is not as
    /// it was).
    Refused(Box<Refusal>),
    /// [`Ipvs::apply_plan`] was told to stop between two batches: the
    /// `undone` changes made were undone (`undo_failed` as in [`Refusal`]).
    Interrupted {
        /// How many changes had been made (and were undone).
        undone: usize,
        /// Undo changes that failed, with the kernel's reason.
        undo_failed: Vec<(Change, Error)>,
    },
    /// A setting of [`Plan::settings`] failed (a sysctl the kernel would not take, a daemon it
    /// would not start): the settings changed before it were set back (`refusal` says how
    /// that went), then the `undone` changes of the table were undone.
    Settings {
        /// The failed setting, and the setting back of those before it.
        refusal: Box<SettingsRefusal>,
        /// How many table changes had been made (and were undone).
        undone: usize,
        /// Table undo changes that failed, with the kernel's reason.
        undo_failed: Vec<(Change, Error)>,
    },
}

/// A change the kernel refused, and the undoing of what came before it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Refusal {
    /// The refused change.
    pub change: Change,
    /// The kernel's reason.
    pub error: Error,
    /// What another writer changed underneath, when that is why the change was refused;
    /// `None` when the kernel refused the change itself.
    pub conflict: Option<Conflict>,
    /// How many changes had been made (and were undone, but for `superseded`).
    pub undone: usize,
    /// How many changes were sent without an answer, because the socket failed (the answers
    /// overflowed its receive queue, or a receive timed out): the kernel made some of them,
    /// or all. The table was read back by key, and those the kernel made are counted in
    /// `undone` and undone.
    pub unanswered: usize,
    /// Undo changes not sent because another writer had changed their object after this run
    /// did (its change stays).
    pub superseded: usize,
    /// Undo changes that failed, with the kernel's reason.
    pub undo_failed: Vec<(Change, Error)>,
}

impl Refusal {
    /// Whether the socket failed (an overrun of its receive queue, a timeout) rather than the
    /// kernel refusing `change`: then `change` is only the first change without an answer.
    pub fn is_socket_failure(&self) -> bool {
        !matches!(self.error, Error::Kernel { .. })
    }
}

/// What another writer changed between the read and the apply, as the refused change met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// A service the read state did not have is there.
    ServiceAdded(ServiceKey),
    /// A service the read state had is gone.
    ServiceDeleted(ServiceKey),
    /// A destination the read state did not have is there.
    DestinationAdded(DestinationKey),
    /// A destination the read state had is gone.
    DestinationDeleted(DestinationKey),
}

/// `another writer added the service TCP 10.0.0.1:80`, ...
impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::ServiceAdded(k) => write!(f, "another writer added the service {k}"),
            Conflict::ServiceDeleted(k) => write!(f, "another writer deleted the service {k}"),
            Conflict::DestinationAdded(d) => write!(f, "another writer added the destination {d}"),
            Conflict::DestinationDeleted(d) => {
                write!(f, "another writer deleted the destination {d}")
            }
        }
    }
}

/// What a change does, in words: `adding the service TCP 10.0.0.1:80`, ...
pub(crate) struct Doing<'a>(pub(crate) &'a Change);

impl fmt::Display for Doing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Change::AddService(s) => write!(f, "adding the service {}", s.key),
            Change::EditService(s) => write!(f, "editing the service {}", s.key),
            Change::DeleteService(k) => write!(f, "deleting the service {k}"),
            Change::AddDestination {
                service,
                destination,
            } => write!(
                f,
                "adding the destination {}",
                DestinationKey::of(*service, destination)
            ),
            Change::EditDestination {
                service,
                destination,
            } => write!(
                f,
                "editing the destination {}",
                DestinationKey::of(*service, destination)
            ),
            Change::DeleteDestination {
                service,
                addr,
                port,
            } => write!(
                f,
                "deleting the destination {}",
                DestinationKey::new(*service, *addr, *port)
            ),
            Change::Zero(Some(k)) => write!(f, "zeroing the counters of {k}"),
            Change::Zero(None) => f.write_str("zeroing the counters"),
            Change::Flush => f.write_str("deleting every service"),
            Change::SetTimeouts(_) => f.write_str("setting the timeouts"),
            Change::StartDaemon(d) => write!(f, "starting the {} sync daemon", d.state),
            Change::StopDaemon(s) => write!(f, "stopping the {s} sync daemon"),
        }
    }
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::Invalid(e) => write!(f, "{e}"),
            ApplyError::Read(e) => write!(f, "reading the table: {e}"),
            ApplyError::Refused(r) => {
                if let Some(c) = &r.conflict {
                    write!(f, "the table changed underneath: {c}; ")?;
                }
                if r.is_socket_failure() {
                    write!(
                        f,
                        "sending the changes failed: {}; {} changes got no answer, read back by key",
                        r.error, r.unanswered
                    )?;
                } else {
                    write!(f, "{} failed: {}", Doing(&r.change), r.error.reason())?;
                }
                if r.undo_failed.is_empty() {
                    write!(f, "; the {} changes made before it were undone", r.undone)
                } else {
                    write!(
                        f,
                        "; undoing the {} changes made before it failed {} times, \
                         the table is not as it was",
                        r.undone,
                        r.undo_failed.len()
                    )
                }
            }
            ApplyError::Settings {
                refusal,
                undone,
                undo_failed,
            } => {
                write!(f, "{refusal}")?;
                if undo_failed.is_empty() {
                    write!(f, "; the {undone} table changes made before were undone")
                } else {
                    write!(
                        f,
                        "; undoing the {undone} table changes made before failed {} times, \
                         the table is not as it was",
                        undo_failed.len()
                    )
                }
            }
            ApplyError::Interrupted {
                undone,
                undo_failed,
            } => write!(
                f,
                "interrupted: {undone} changes made were undone{}",
                if undo_failed.is_empty() {
                    ""
                } else {
                    ", some undo failed: the table is not as it was"
                }
            ),
        }
    }
}

impl std::error::Error for ApplyError {}

/// The table after a failed run, for finding conflicts and for undoing only what is still
/// this run's.
struct Seen<'a> {
    services: HashMap<ServiceKey, &'a crate::Service>,
    destinations: HashMap<DestinationKey, &'a crate::Destination>,
}

impl<'a> Seen<'a> {
    fn of(state: &'a State) -> Self {
        let mut seen = Seen {
            services: HashMap::new(),
            destinations: HashMap::new(),
        };
        for s in &state.services {
            seen.services.insert(s.service.key, &s.service);
            for d in &s.destinations {
                seen.destinations
                    .insert(DestinationKey::of(s.service.key, d), d);
            }
        }
        seen
    }

    /// What another writer changed that `change` met, given the changes this run made.
    fn conflict(&self, change: &Change, made: &[&Change]) -> Option<Conflict> {
        let has = |k: &ServiceKey| self.services.contains_key(k);
        // A service this run deleted after the refused change is gone by this run's hand.
        let gone = |k: &ServiceKey| !has(k) && !made.contains(&&Change::DeleteService(*k));
        match change {
            Change::AddService(s) => has(&s.key).then_some(Conflict::ServiceAdded(s.key)),
            Change::EditService(s) => gone(&s.key).then_some(Conflict::ServiceDeleted(s.key)),
            Change::DeleteService(k) => gone(k).then_some(Conflict::ServiceDeleted(*k)),
            Change::AddDestination {
                service,
                destination,
            } => {
                let d = DestinationKey::of(*service, destination);
                if !has(service) {
                    Some(Conflict::ServiceDeleted(*service))
                } else {
                    self.destinations
                        .contains_key(&d)
                        .then_some(Conflict::DestinationAdded(d))
                }
            }
            Change::EditDestination {
                service,
                destination,
            } => self.dest_gone(DestinationKey::of(*service, destination), gone(service)),
            Change::DeleteDestination {
                service,
                addr,
                port,
            } => self.dest_gone(DestinationKey::new(*service, *addr, *port), gone(service)),
            _ => None,
        }
    }

    fn dest_gone(&self, d: DestinationKey, service_gone: bool) -> Option<Conflict> {
        if service_gone {
            Some(Conflict::ServiceDeleted(d.service))
        } else {
            (!self.destinations.contains_key(&d)).then_some(Conflict::DestinationDeleted(d))
        }
    }

    /// Whether the undo of `change` (made by this run) still finds the object as this run left
    /// it. `services` tracks which services exist as the undo goes on.
    fn still_ours(&self, change: &Change, services: &mut HashSet<ServiceKey>) -> bool {
        match change {
            Change::AddService(s) => services.remove(&s.key),
            Change::EditService(s) => self
                .services
                .get(&s.key)
                .is_some_and(|now| !crate::plan::service_differs(now, s)),
            Change::DeleteService(k) => services.insert(*k),
            Change::AddDestination {
                service,
                destination,
            } => {
                services.contains(service)
                    && self
                        .destinations
                        .contains_key(&DestinationKey::of(*service, destination))
            }
            Change::EditDestination {
                service,
                destination,
            } => self
                .destinations
                .get(&DestinationKey::of(*service, destination))
                .is_some_and(|now| *now == destination),
            Change::DeleteDestination {
                service,
                addr,
                port,
            } => {
                services.contains(service)
                    && !self
                        .destinations
                        .contains_key(&DestinationKey::new(*service, *addr, *port))
            }
            _ => true,
        }
    }
}

/// Where [`Ipvs::read_state`] reads a table from: the kernel, or replies replayed without one
/// ([`crate::replay::read_state`], for the cost example `ipvsctl/examples/apply_cost.rs`).
pub(crate) trait TableSource {
    /// Every service, each once, in dump order, without statistics (a state has none).
    fn services(&self) -> Result<Vec<crate::ServiceEntry>>;
    /// The services `keys` name, asked for by key.
    fn services_by_key(&self, keys: &[ServiceKey]) -> Result<Vec<Option<crate::ServiceEntry>>>;
    /// The destinations of one service, their configuration only, appended to `out`.
    fn destinations(&self, key: &ServiceKey, out: &mut Vec<crate::Destination>) -> Result<()>;
}

impl TableSource for Ipvs {
    fn services(&self) -> Result<Vec<crate::ServiceEntry>> {
        self.services_with(crate::Reading::WithoutStats)
    }
    fn services_by_key(&self, keys: &[ServiceKey]) -> Result<Vec<Option<crate::ServiceEntry>>> {
        Ipvs::services_by_key(self, keys)
    }
    fn destinations(&self, key: &ServiceKey, out: &mut Vec<crate::Destination>) -> Result<()> {
        self.destination_configs_into(key, out)
    }
}

/// The services and destinations of [`Ipvs::read_state`], from `src`, sure of `wanted`.
pub(crate) fn read_table(src: &impl TableSource, wanted: &[ServiceKey]) -> Result<State> {
    let mut services = src.services()?;
    if !services.is_empty() && !wanted.is_empty() {
        let seen: HashSet<ServiceKey, crate::KeyHash> =
            services.iter().map(|e| e.service.key).collect();
        let lacking: Vec<ServiceKey> = wanted
            .iter()
            .filter(|k| !seen.contains(k))
            .copied()
            .collect();
        services.extend(src.services_by_key(&lacking)?.into_iter().flatten());
    }
    // Each service's destinations go straight into the state: no statistics decoded, no
    // second copy of the table.
    let mut state = State {
        services: Vec::with_capacity(services.len()),
        ..State::default()
    };
    for entry in services {
        let mut destinations = Vec::new();
        src.destinations(&entry.service.key, &mut destinations)?;
        state.services.push(crate::ServiceState {
            service: entry.service,
            destinations,
        });
    }
    Ok(state)
}

impl Ipvs {
    /// The configuration of the whole table in one read (one service dump and one destination
    /// dump per service), in kernel order; with the timeouts and sure of the services that
    /// `options` names.
    ///
    /// IPVS sends its service dump in parts, and each part starts at an index into the
    /// kernel's one table of every namespace's services. A service added or deleted there
    /// between two parts (by any writer, in any namespace) shifts that index, so the dump lists
    /// one service twice or skips one, and the kernel does not flag it (`NLM_F_DUMP_INTR`).
    /// [`Ipvs::services`] keeps a service listed twice once. Each service the options are sure
    /// of ([`ReadOptions::for_state`]) that the dump does not list is asked for by its key (all in one batch), so that a plan never adds a service
    /// that is there (which the kernel would refuse). An empty dump came in one part: nothing
    /// could shift under it.
    pub fn read_state(&self, options: &ReadOptions) -> Result<State> {
        let mut state = read_table(self, &options.sure_of)?;
        if options.timeouts {
            state.timeouts = Some(self.timeouts()?);
        }
        // Only what the options name: an empty `Settings` would read them all.
        if !options.settings.is_empty() {
            let s = self.read_settings(&options.settings)?;
            state.sysctls = s.sysctls;
            state.sync_daemons = s.sync_daemons;
        }
        Ok(state)
    }

    /// The services `keys` name (those the kernel has), each with its destinations, asked for
    /// by key: no dump, which another writer could tear.
    fn read_keys(&self, keys: &[ServiceKey]) -> Result<State> {
        let services = self.services_by_key(keys)?.into_iter().flatten().collect();
        Ok(State::from_servers(&self.with_destinations(services)?))
    }

    /// Makes the kernel's table `desired`: validates it, reads the table once,
    /// plans ([`plan`]) and applies the plan ([`Ipvs::apply_plan`]). Returns
    /// the plan it carried out: empty when the table already matched.
    ///
    /// The table is read with [`ReadOptions::for_state`], sure of every desired service even
    /// while another writer changes the table.
    ///
    /// ```no_run
    /// use ipvs::{Destination, Forward, Ipvs, PlanOptions, Service, ServiceKey, ServiceState, State};
    /// let web = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
    /// let mut desired = State::default();
    /// desired.services.push(
    ///     ServiceState::new(Service::new(web).with_scheduler("wrr")).with_destination(
    ///         Destination::new("10.0.0.2".parse().unwrap(), 80)
    ///             .with_forward(Forward::Masquerade)
    ///             .with_weight(3),
    ///     ),
    /// );
    /// let ipvs = Ipvs::new()?;
    /// match ipvs.apply_state(&desired, &PlanOptions::default()) {
    ///     Ok(plan) if plan.is_empty() => println!("the table already matched"),
    ///     Ok(plan) => println!("{} changes made", plan.len()),
    ///     // Whatever the run did is undone; the error says why, and whether another
    ///     // writer changed the table underneath.
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # Ok::<(), ipvs::Error>(())
    /// ```
    pub fn apply_state(
        &self,
        desired: &State,
        options: &PlanOptions,
    ) -> std::result::Result<Plan, ApplyError> {
        desired.validate().map_err(ApplyError::Invalid)?;
        let current = self
            .read_state(&ReadOptions::for_state(desired))
            .map_err(ApplyError::Read)?;
        let p = plan(&current, desired, options).map_err(ApplyError::Invalid)?;
        self.apply_plan(&p, None)?;
        Ok(p)
    }

    /// Sends a plan in batches. If the kernel refuses a change, the changes already made are
    /// undone in reverse order with the plan's undo changes (those whose object another writer
    /// changed since are left alone), and the refused change is reported with the kernel's
    /// reason and, when another writer's change is why, that change ([`Conflict`]).
    ///
    /// With a `stop`, it is asked before each batch and once after the last: when it says yes,
    /// what was made is undone and the answer is [`ApplyError::Interrupted`] (a signal to the
    /// program, say), also when the plan was all sent.
    pub fn apply_plan(
        &self,
        p: &Plan,
        stop: Option<&dyn Fn() -> bool>,
    ) -> std::result::Result<(), ApplyError> {
        let stop = || stop.is_some_and(|f| f());
        let mut made: Vec<usize> = Vec::new();
        let mut start = 0;
        loop {
            if stop() {
                return Err(ApplyError::Interrupted {
                    undone: made.len(),
                    undo_failed: self.undo(p, &made),
                });
            }
            if start >= p.changes.len() {
                // The settings last: when one fails, they are set back and the table's
                // changes undone.
                return match self.apply_settings(&p.settings) {
                    Ok(()) => Ok(()),
                    Err(refusal) => Err(ApplyError::Settings {
                        refusal,
                        undone: made.len(),
                        undo_failed: self.undo(p, &made),
                    }),
                };
            }
            let end = (start + BATCH).min(p.changes.len());
            let chunk = &p.changes[start..end];
            let mut refused: Option<(usize, Error)> = None;
            let mut unanswered: Vec<usize> = Vec::new();
            match self.apply(chunk) {
                Ok(results) => {
                    for (i, r) in results.into_iter().enumerate() {
                        match r {
                            Ok(()) => made.push(start + i),
                            Err(e) => {
                                if refused.is_none() {
                                    refused = Some((start + i, e));
                                }
                            }
                        }
                    }
                }
                // The answers overflowed the receive queue: the kernel ran every change sent,
                // and the answers that came say only some outcomes.
                Err(Error::BatchOverrun {
                    done,
                    unknown,
                    refused: arrived,
                    not_sent,
                }) => {
                    let answered = done.len();
                    for (i, r) in done.into_iter().enumerate() {
                        match r {
                            Ok(()) => made.push(start + i),
                            Err(e) => {
                                if refused.is_none() {
                                    refused = Some((start + i, e));
                                }
                            }
                        }
                    }
                    let seen: HashSet<usize> = arrived.iter().map(|(i, _)| *i).collect();
                    unanswered.extend(
                        unknown
                            .clone()
                            .filter(|i| !seen.contains(i))
                            .map(|i| start + i),
                    );
                    if refused.is_none() {
                        refused = arrived
                            .into_iter()
                            .min_by_key(|(i, _)| *i)
                            .map(|(i, e)| (start + i, e));
                    }
                    // No refusal among the answers that came: the overrun itself is the
                    // failure (rebuilt as it was: every answered change succeeded).
                    if refused.is_none() {
                        refused = Some((
                            start + unknown.start,
                            Error::BatchOverrun {
                                done: (0..answered).map(|_| Ok(())).collect(),
                                unknown,
                                refused: Vec::new(),
                                not_sent,
                            },
                        ));
                    }
                }
                // The socket failed (a receive timeout, say): the kernel may have run any
                // change of the batch.
                Err(e) => {
                    unanswered.extend(start..end);
                    refused = Some((start, e));
                }
            }
            if let Some((i, error)) = refused {
                return Err(ApplyError::Refused(Box::new(self.roll_back(
                    p,
                    &made,
                    &unanswered,
                    i,
                    error,
                ))));
            }
            start = end;
        }
    }

    /// Undoes the `made` changes of `p`, last first; returns the undo changes that failed.
    fn undo(&self, p: &Plan, made: &[usize]) -> Vec<(Change, Error)> {
        let undo: Vec<Change> = made.iter().rev().map(|&j| p.undo[j].clone()).collect();
        self.undo_changes(&undo)
    }

    /// Sends `undo`; returns the undo changes that failed, with the kernel's reason.
    fn undo_changes(&self, undo: &[Change]) -> Vec<(Change, Error)> {
        match self.apply(undo) {
            Ok(rs) => undo
                .iter()
                .zip(rs)
                .filter_map(|(c, r)| r.err().map(|e| (c.clone(), e)))
                .collect(),
            Err(e) => vec![(undo.first().cloned().unwrap_or(Change::Flush), e)],
        }
    }

    /// Reads the services this run touched, by key (a dump torn by another writer would hide
    /// some, and this run's changes to them would look another writer's), finds what another writer changed (unless the socket failed), finds which
    /// `unanswered` changes the kernel made, and undoes the `made` changes of `p` and those,
    /// each only while its object is still as this run left it.
    fn roll_back(
        &self,
        p: &Plan,
        made: &[usize],
        unanswered: &[usize],
        refused: usize,
        error: Error,
    ) -> Refusal {
        let change = p.changes[refused].clone();
        let socket_failed = !matches!(error, Error::Kernel { .. });
        let mut sent: Vec<(usize, bool)> = made
            .iter()
            .map(|&j| (j, true))
            .chain(unanswered.iter().map(|&j| (j, false)))
            .collect();
        sent.sort_unstable();
        let mut touched: Vec<ServiceKey> = sent
            .iter()
            .map(|&(j, _)| j)
            .chain([refused])
            .filter_map(|j| p.changes[j].service_key())
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let now = self.read_keys(&touched).ok();
        let seen = now.as_ref().map(Seen::of);
        let made_changes: Vec<&Change> = made.iter().map(|&j| &p.changes[j]).collect();
        let conflict = match &seen {
            Some(seen) if !socket_failed => seen.conflict(&change, &made_changes),
            _ => None,
        };
        let mut services: HashSet<ServiceKey> = seen
            .as_ref()
            .map(|s| s.services.keys().copied().collect())
            .unwrap_or_default();
        let mut undo = Vec::new();
        let (mut superseded, mut undone) = (0, 0);
        for &(j, answered) in sent.iter().rev() {
            // Without a reading, undo everything as planned (an undo of an unanswered change
            // the kernel did not make fails, and says so).
            let ours = match &seen {
                Some(s) => s.still_ours(&p.changes[j], &mut services),
                None => true,
            };
            if ours {
                undo.push(p.undo[j].clone());
                undone += 1;
            } else if answered {
                superseded += 1;
                undone += 1;
            }
        }
        let undo_failed = self.undo_changes(&undo);
        Refusal {
            change,
            error,
            conflict,
            undone,
            superseded,
            unanswered: unanswered.len(),
            undo_failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Destination, Service, ServiceState};

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    /// The table after a run, with `web` (scheduler `sh`) and its destination .2 at weight 5.
    fn after() -> State {
        let web = ServiceKey::tcp(ip("10.0.0.1"), 80);
        State {
            services: vec![ServiceState::new(Service::new(web).with_scheduler("sh"))
                .with_destination(Destination::new(ip("10.0.1.2"), 80).with_weight(5))],
            timeouts: None,
            ..Default::default()
        }
    }

    #[test]
    fn conflicts_are_what_the_table_shows_against_the_change() {
        let state = after();
        let seen = Seen::of(&state);
        let web = ServiceKey::tcp(ip("10.0.0.1"), 80);
        let gone = ServiceKey::tcp(ip("10.0.0.9"), 80);
        let d2 = Destination::new(ip("10.0.1.2"), 80);
        let d3 = Destination::new(ip("10.0.1.3"), 80);
        let add = |k| Change::AddService(Service::new(k));
        assert_eq!(
            seen.conflict(&add(web), &[]),
            Some(Conflict::ServiceAdded(web))
        );
        // Not there: the kernel refused it for another reason (a scheduler, ...).
        assert_eq!(seen.conflict(&add(gone), &[]), None);
        assert_eq!(
            seen.conflict(&Change::EditService(Service::new(gone)), &[]),
            Some(Conflict::ServiceDeleted(gone))
        );
        assert_eq!(
            seen.conflict(&Change::EditService(Service::new(web)), &[]),
            None
        );
        let add_dest = |d: Destination| Change::AddDestination {
            service: web,
            destination: d,
        };
        assert_eq!(
            seen.conflict(&add_dest(d2), &[]),
            Some(Conflict::DestinationAdded(DestinationKey::of(web, &d2)))
        );
        let delete_d3 = Change::DeleteDestination {
            service: web,
            addr: d3.addr,
            port: 80,
        };
        assert_eq!(
            seen.conflict(&delete_d3, &[]),
            Some(Conflict::DestinationDeleted(DestinationKey::of(web, &d3)))
        );
        // A destination of a service this run deleted afterwards: the destination, not the
        // service, was what another writer took.
        let delete_in_gone = Change::DeleteDestination {
            service: gone,
            addr: d3.addr,
            port: 80,
        };
        assert_eq!(
            seen.conflict(&delete_in_gone, &[&Change::DeleteService(gone)]),
            Some(Conflict::DestinationDeleted(DestinationKey::of(gone, &d3)))
        );
        assert_eq!(
            seen.conflict(&delete_in_gone, &[]),
            Some(Conflict::ServiceDeleted(gone))
        );
    }

    #[test]
    fn the_undo_leaves_objects_another_writer_changed_since() {
        let state = after();
        let seen = Seen::of(&state);
        let mut services: HashSet<ServiceKey> = seen.services.keys().copied().collect();
        let web = ServiceKey::tcp(ip("10.0.0.1"), 80);
        let edit_web = |s: &str| Change::EditService(Service::new(web).with_scheduler(s));
        let edit_d2 = |w: u32| Change::EditDestination {
            service: web,
            destination: Destination::new(ip("10.0.1.2"), 80).with_weight(w),
        };
        // As this run left them: undo.
        assert!(seen.still_ours(&edit_web("sh"), &mut services));
        assert!(seen.still_ours(&edit_d2(5), &mut services));
        // Changed again by another writer: theirs stays.
        assert!(!seen.still_ours(&edit_web("rr"), &mut services));
        assert!(!seen.still_ours(&edit_d2(7), &mut services));
        // An added destination another writer deleted already: nothing to delete.
        let added_d3 = Change::AddDestination {
            service: web,
            destination: Destination::new(ip("10.0.1.3"), 80),
        };
        assert!(!seen.still_ours(&added_d3, &mut services));
        // A deleted service: put back, and then its destinations with it.
        let gone = ServiceKey::tcp(ip("10.0.0.9"), 80);
        assert!(seen.still_ours(&Change::DeleteService(gone), &mut services));
        let deleted_in_gone = Change::DeleteDestination {
            service: gone,
            addr: ip("10.0.1.3"),
            port: 80,
        };
        assert!(seen.still_ours(&deleted_in_gone, &mut services));
        // An added service: deleted by the undo, once.
        assert!(seen.still_ours(&Change::AddService(Service::new(web)), &mut services));
        assert!(!seen.still_ours(&Change::AddService(Service::new(web)), &mut services));
    }
}
