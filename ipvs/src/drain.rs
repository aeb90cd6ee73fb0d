//! Draining a destination: weight 0 first, removal when its connections are gone.
//!
//! The state that drives it is the kernel's own: the destination's weight and its active and
//! inactive connection counters. Nothing is kept in the program, so a program that restarts in
//! the middle calls [`Ipvs::drain_step`] again and carries on where it was (only a timeout starts
//! again, since the kernel keeps no time).
//!
//! Policy for protocols without connection state (UDP) and for SCTP: their entries are counted
//! as inactive connections until the kernel's timeout for them expires (`--set`'s UDP timeout,
//! 300 s by default), so a drained UDP server goes when its last entry expires, or when the
//! drain's timeout passes, whichever comes first. Persistence templates (`persistent_conns`)
//! do not hold a drain back (they expire with the persistence timeout).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::{Change, Error, Ipvs, Operation, Result, ServiceKey};

/// How [`Ipvs::drain`] drains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainOptions {
    /// Leave the destination at weight 0 instead of deleting it.
    pub keep: bool,
    /// Force the end after this long (`None`: wait as long as it takes).
    pub timeout: Option<Duration>,
    /// How often to read the counters.
    pub poll: Duration,
}

impl Default for DrainOptions {
    fn default() -> Self {
        DrainOptions {
            keep: false,
            timeout: None,
            poll: Duration::from_secs(1),
        }
    }
}

/// Where a draining destination is, after one [`Ipvs::drain_step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainProgress {
    /// At weight 0, with connections left.
    Waiting {
        /// Active connections.
        active: u32,
        /// Inactive connections.
        inactive: u32,
    },
    /// Deleted: it had no connections left (or the timeout passed, with these left).
    Removed {
        /// Connections (active plus inactive) it still had when deleted.
        left: u32,
    },
    /// Kept at weight 0 (`keep`), with no connections left (or the timeout passed).
    Quiesced {
        /// Connections (active plus inactive) it still had.
        left: u32,
    },
}

impl DrainProgress {
    /// Whether the drain is over.
    pub fn is_done(&self) -> bool {
        !matches!(self, DrainProgress::Waiting { .. })
    }
}

impl Ipvs {
    /// One step of draining the destination `addr`:`port` of `service`, from the kernel's state:
    /// sets its weight to 0 if it is not, and when its active plus inactive connections are 0
    /// (or `force`, e.g. when a timeout passed), deletes it, or with `keep` leaves it at weight 0.
    /// A destination that is not there is an error (`No such destination`), as for a delete.
    pub fn drain_step(
        &self,
        service: &ServiceKey,
        addr: IpAddr,
        port: u16,
        keep: bool,
        force: bool,
    ) -> Result<DrainProgress> {
        let dests = self.destinations(service)?;
        let Some(entry) = dests
            .iter()
            .find(|d| d.destination.addr == addr && d.destination.port == port)
        else {
            return Err(Error::Kernel {
                op: Operation::DeleteDestination,
                errno: libc::ENOENT,
                detail: None,
            });
        };
        if entry.destination.weight != 0 {
            self.apply_one(&Change::EditDestination {
                service: *service,
                destination: entry.destination.with_weight(0),
            })?;
        }
        let left = entry.active_conns.saturating_add(entry.inactive_conns);
        if left != 0 && !force {
            return Ok(DrainProgress::Waiting {
                active: entry.active_conns,
                inactive: entry.inactive_conns,
            });
        }
        if keep {
            return Ok(DrainProgress::Quiesced { left });
        }
        self.apply_one(&Change::DeleteDestination {
            service: *service,
            addr,
            port,
        })?;
        Ok(DrainProgress::Removed { left })
    }

    /// Drains a destination to the end: [`Ipvs::drain_step`] every `options.poll` until it is
    /// done, forced once `options.timeout` has passed. `progress` sees every step's result.
    pub fn drain(
        &self,
        service: &ServiceKey,
        addr: IpAddr,
        port: u16,
        options: &DrainOptions,
        mut progress: impl FnMut(&DrainProgress),
    ) -> Result<DrainProgress> {
        let start = Instant::now();
        loop {
            let force = options.timeout.is_some_and(|t| start.elapsed() >= t);
            let p = self.drain_step(service, addr, port, options.keep, force)?;
            progress(&p);
            if p.is_done() {
                return Ok(p);
            }
            std::thread::sleep(options.poll);
        }
    }
}
