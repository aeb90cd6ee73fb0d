//! Draining a destination: weight 0 first, removal when its connections are gone.
//!
//! The state that drives it is the kernel's own: the destination's weight and its active and
//! inactive connection counters. Nothing is kept in the program, so a program that restarts in
//! the middle calls [`Ipvs::drain_step`] again and carries on where it was (only a timeout starts
//! again, since the kernel keeps no time).
//!
//! # UDP and SCTP
//!
//! They follow the same rule as TCP, the only one the kernel's counters support: the destination
//! goes when its active plus inactive connections reach 0, or when the drain's timeout passes.
//!
//! - UDP has flows, not connections: IPVS keeps an entry per client address and port, counted as
//!   an *inactive* connection, until the flow has been quiet for the UDP timeout
//!   ([`crate::Timeouts::udp`], 300 s by default). A drained UDP server keeps serving the flows
//!   it has and goes once they have all been quiet that long; a client that never pauses keeps
//!   it, so give UDP drains a timeout ([`DrainOptions::timeout`]).
//! - SCTP associations count like TCP connections: active while established, inactive while
//!   they shut down and for the SCTP timeout of their last state.
//! - Persistence templates (`persistent_conns`) do not hold a drain back; while one lives, the
//!   kernel still sends its client's new connections to the weight-0 destination (unless the
//!   sysctl `net.ipv4.vs.expire_quiescent_template` is 1), and those count.
//!
//! ```no_run
//! use std::time::Duration;
//! use ipvs::drain::{DrainOptions, DrainProgress};
//! use ipvs::{Ipvs, ServiceKey};
//! let ipvs = Ipvs::new()?;
//! let dns = ServiceKey::udp("192.0.2.53".parse().unwrap(), 53);
//! let options = DrainOptions::default().with_timeout(Duration::from_secs(60));
//! let done = ipvs.drain(&dns, "10.0.0.2".parse().unwrap(), 53, &options, |p| {
//!     if let DrainProgress::Waiting { active, inactive, .. } = p {
//!         println!("{active} active, {inactive} inactive left");
//!     }
//! })?;
//! println!("{done:?}");
//! # Ok::<(), ipvs::Error>(())
//! ```

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::{Change, Ipvs, Result, ServiceKey};

/// How [`Ipvs::drain`] drains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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

impl DrainOptions {
    /// With `keep`: leave the destination at weight 0 instead of deleting it.
    pub fn with_keep(mut self, keep: bool) -> Self {
        self.keep = keep;
        self
    }
    /// Force the end after `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Read the counters every `poll`.
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }
}

/// What one [`Ipvs::drain_step`] does once the destination is empty, and whether the drain's
/// deadline passed: `DrainStep::default().with_keep(true).with_force(timed_out)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainStep {
    /// Leave the destination at weight 0 instead of deleting it.
    pub keep: bool,
    /// The deadline passed: end the drain whatever connections are left.
    pub force: bool,
}

impl DrainStep {
    /// With `keep`: leave the destination at weight 0 instead of deleting it.
    pub fn with_keep(mut self, keep: bool) -> Self {
        self.keep = keep;
        self
    }
    /// With `force`: end the drain now, whatever connections are left (a timeout passed).
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }
}

/// Where a draining destination is, after one [`Ipvs::drain_step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DrainProgress {
    /// At weight 0, with connections left, or set to weight 0 by this step (whose counts, read
    /// before, cannot tell that it is empty).
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
    /// (or `step.force`, e.g. when a timeout passed), deletes it, or with `step.keep` leaves it
    /// at weight 0.
    /// `None` when the destination (or its service) is not there.
    ///
    /// Emptiness is judged only on a read made after the weight became 0: the step that sets the
    /// weight reports [`DrainProgress::Waiting`] (with the counts read before, possibly 0 and 0)
    /// and the next step judges. The counts read while the weight was above 0 miss a connection
    /// the kernel schedules between that read and the weight change, which a delete would cut.
    pub fn drain_step(
        &self,
        service: &ServiceKey,
        addr: IpAddr,
        port: u16,
        step: DrainStep,
    ) -> Result<Option<DrainProgress>> {
        let dests = self.destinations(service)?;
        let Some(entry) = dests
            .iter()
            .find(|d| d.destination.addr == addr && d.destination.port == port)
        else {
            return Ok(None);
        };
        let settling = entry.destination.weight != 0;
        if settling {
            self.apply_one(&Change::EditDestination {
                service: *service,
                destination: entry.destination.with_weight(0),
            })?;
        }
        let left = entry.active_conns.saturating_add(entry.inactive_conns);
        // Counts read before the weight change do not say it is empty: the next step reads again.
        if (left != 0 || settling) && !step.force {
            return Ok(Some(DrainProgress::Waiting {
                active: entry.active_conns,
                inactive: entry.inactive_conns,
            }));
        }
        if step.keep {
            return Ok(Some(DrainProgress::Quiesced { left }));
        }
        self.apply_one(&Change::DeleteDestination {
            service: *service,
            addr,
            port,
        })?;
        Ok(Some(DrainProgress::Removed { left }))
    }

    /// Drains a destination to the end: [`Ipvs::drain_step`] every `options.poll` until it is
    /// done, forced once `options.timeout` has passed. `progress` sees every step's result. A
    /// destination without connections goes on the second step, `options.poll` after its weight
    /// became 0.
    /// `None` when the destination is not there (at the start, or gone while it drained).
    pub fn drain(
        &self,
        service: &ServiceKey,
        addr: IpAddr,
        port: u16,
        options: &DrainOptions,
        mut progress: impl FnMut(&DrainProgress),
    ) -> Result<Option<DrainProgress>> {
        let start = Instant::now();
        loop {
            let force = options.timeout.is_some_and(|t| start.elapsed() >= t);
            let step = DrainStep::default()
                .with_keep(options.keep)
                .with_force(force);
            let Some(p) = self.drain_step(service, addr, port, step)? else {
                return Ok(None);
            };
            progress(&p);
            if p.is_done() {
                return Ok(Some(p));
            }
            std::thread::sleep(options.poll);
        }
    }
}
