//! Applying a desired [`State`], all or nothing.

use std::fmt;

use crate::{plan, Change, Error, Ipvs, Plan, PlanOptions, Result, State, StateError};

/// Changes per netlink batch.
const BATCH: usize = 1000;

/// Why [`Ipvs::apply_state`] or [`Ipvs::apply_plan`] changed nothing.
#[derive(Debug)]
pub enum ApplyError {
    /// The desired state fails [`State::validate`]; nothing was sent.
    Invalid(StateError),
    /// The kernel's state could not be read; nothing was sent.
    Read(Error),
    /// The kernel refused a change. The changes made before it were undone
    /// in reverse order (`undo_failed` lists any undo the kernel refused too,
    /// in which case the table is not as it was).
    Refused(Box<Refusal>),
    /// [`Ipvs::apply_plan_until`] was told to stop between two batches: the
    /// `undone` changes made were undone (`undo_failed` as in [`Refusal`]).
    Interrupted {
        /// How many changes had been made (and were undone).
        undone: usize,
        /// Undo changes that failed, with the kernel's reason.
        undo_failed: Vec<(Change, Error)>,
    },
}

/// A change the kernel refused, and the undoing of what came before it.
#[derive(Debug)]
pub struct Refusal {
    /// The refused change.
    pub change: Change,
    /// The kernel's reason.
    pub error: Error,
    /// The refusal says an object exists that the read state did not have,
    /// or is missing that it had: another writer changed the table between
    /// the read and the apply.
    pub underneath: bool,
    /// How many changes had been made (and were undone).
    pub undone: usize,
    /// Undo changes that failed, with the kernel's reason.
    pub undo_failed: Vec<(Change, Error)>,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::Invalid(e) => write!(f, "{e}"),
            ApplyError::Read(e) => write!(f, "reading the table: {e}"),
            ApplyError::Refused(r) => {
                let Refusal {
                    error,
                    underneath,
                    undone,
                    undo_failed,
                    ..
                } = &**r;
                write!(f, "{error}")?;
                if *underneath {
                    f.write_str(" (the table changed underneath)")?;
                }
                if undo_failed.is_empty() {
                    write!(f, "; {undone} changes made before it were undone")
                } else {
                    write!(
                        f,
                        "; undoing the {undone} changes made before it failed {} times, \
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

fn changed_underneath(change: &Change, e: &Error) -> bool {
    // ENOENT on a service is an unknown scheduler or engine, not a missing service.
    matches!(
        (change, e.errno()),
        (
            Change::AddService(_) | Change::AddDestination { .. },
            Some(libc::EEXIST)
        ) | (
            Change::EditService(_) | Change::DeleteService(_),
            Some(libc::ESRCH)
        ) | (
            Change::EditDestination { .. } | Change::DeleteDestination { .. },
            Some(libc::ESRCH | libc::ENOENT),
        )
    )
}

impl Ipvs {
    /// The configuration of the whole table in one read (one service dump and
    /// one destination dump per service), in kernel order, without the
    /// kernel's `HASHED` bit; with the timeouts when `timeouts` is set.
    pub fn read_state(&self, timeouts: bool) -> Result<State> {
        let servers = self.state()?;
        let mut state = State::from_servers(&servers);
        if timeouts {
            state.timeouts = Some(self.timeouts()?);
        }
        Ok(state)
    }

    /// Makes the kernel's table `desired`: validates it, reads the table once,
    /// plans ([`plan`]) and applies the plan ([`Ipvs::apply_plan`]). Returns
    /// the plan it carried out: empty when the table already matched.
    pub fn apply_state(
        &self,
        desired: &State,
        options: &PlanOptions,
    ) -> std::result::Result<Plan, ApplyError> {
        desired.validate().map_err(ApplyError::Invalid)?;
        let current = self
            .read_state(desired.timeouts.is_some())
            .map_err(ApplyError::Read)?;
        let p = plan(&current, desired, options);
        self.apply_plan(&p)?;
        Ok(p)
    }

    /// Sends a plan in batches. If the kernel refuses a change, the changes
    /// already made are undone in reverse order with the plan's undo changes,
    /// and the refused change is reported with the kernel's reason.
    pub fn apply_plan(&self, p: &Plan) -> std::result::Result<(), ApplyError> {
        self.apply_plan_until(p, &|| false)
    }

    /// [`Ipvs::apply_plan`] that asks `stop` before each batch: when it says
    /// yes, what was made is undone and the answer is [`ApplyError::Interrupted`]
    /// (a signal to the program, say).
    pub fn apply_plan_until(
        &self,
        p: &Plan,
        stop: &dyn Fn() -> bool,
    ) -> std::result::Result<(), ApplyError> {
        let mut made: Vec<usize> = Vec::new();
        let mut start = 0;
        while start < p.changes.len() {
            if stop() {
                return Err(ApplyError::Interrupted {
                    undone: made.len(),
                    undo_failed: self.undo(p, &made),
                });
            }
            let end = (start + BATCH).min(p.changes.len());
            let chunk = &p.changes[start..end];
            let mut refused: Option<(usize, Error)> = None;
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
                // The socket failed: what this batch did is unknown; undo
                // what the earlier ones did.
                Err(e) => refused = Some((start, e)),
            }
            if let Some((i, error)) = refused {
                let change = p.changes[i].clone();
                let underneath = changed_underneath(&change, &error);
                let undone = made.len();
                let undo_failed = self.undo(p, &made);
                return Err(ApplyError::Refused(Box::new(Refusal {
                    change,
                    error,
                    underneath,
                    undone,
                    undo_failed,
                })));
            }
            start = end;
        }
        Ok(())
    }

    /// Undoes the `made` changes of `p`, last first; returns the undo changes that failed.
    fn undo(&self, p: &Plan, made: &[usize]) -> Vec<(Change, Error)> {
        let undo: Vec<Change> = made.iter().rev().map(|&j| p.undo[j].clone()).collect();
        match self.apply(&undo) {
            Ok(rs) => undo
                .iter()
                .zip(rs)
                .filter_map(|(c, r)| r.err().map(|e| (c.clone(), e)))
                .collect(),
            Err(e) => vec![(undo.first().cloned().unwrap_or(Change::Flush), e)],
        }
    }
}
