//! What `top` reads each interval, and what it keeps of the reads before.
//!
//! The services come in one dump, with their counters: every interval reads them all. Their
//! real servers take one dump per service, which on a table of thousands is most of the cost
//! (2,000 services: 2,000 dumps, a quarter of a core in the test VM at 1 s). A small table
//! ([`SMALL_TABLE`] services or fewer) still has every service's real servers read every
//! interval. On a bigger one an interval reads the real servers of
//! - the services on the screen and the selected one (the lines someone looks at),
//! - the services never read yet (all of them at the start: the first read is whole),
//! - and [`ROLLING`] more, in turn, so that every service's are read again every
//!   `services / ROLLING` intervals: the active and inactive connections of a service off the
//!   screen (a sum over its real servers), which sorting and the totals use, are that old at
//!   most.
//!
//! The real servers of a service not read this interval are shown as read last (their lines
//! in [`super::model::Snapshot`] stay): names, weights and connections, without rates. A rate
//! wants reads in a row: the [`ipvs::sampler::Sampler`] starts a new series for a real server
//! missing from the previous read, so one read again shows `-` until its reads span the fold
//! window.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ipvs::{DestinationEntry, Ipvs, ServiceEntry, ServiceKey, VirtualServer};

/// Up to this many services, every interval reads every service's real servers.
pub const SMALL_TABLE: usize = 256;

/// On a bigger table, the services whose real servers an interval reads in turn, besides
/// those on the screen (2,000 services: each read again every 40 intervals). With 2,000 x 4 in
/// the test VM an interval then costs about a third of the floor's whole read, half of which is
/// the service dump (BENCHMARKS.md).
pub const ROLLING: usize = 50;

/// One interval's read.
#[derive(Debug, Default)]
pub struct Read {
    /// Every service, in kernel order, with its real servers when read this interval (an
    /// empty list otherwise: see `fresh`).
    pub state: Vec<VirtualServer>,
    /// For each service of `state`: whether its real servers were read this interval.
    pub fresh: Vec<bool>,
}

/// The reads so far: the services of the last read (each had its real servers read at least
/// once), and whose turn is next.
#[derive(Debug, Default)]
pub struct Reader {
    /// The services of the last read, in kernel order.
    keys: Vec<ServiceKey>,
    /// Where each of `keys` is in it.
    index: HashMap<ServiceKey, usize>,
    /// The position in the service list where the next turns start.
    next: usize,
}

impl Reader {
    /// With `services` services, how often a service off the screen has its real servers read:
    /// `None` when every interval reads them all.
    pub fn period(services: usize, interval: Duration) -> Option<Duration> {
        (services > SMALL_TABLE).then(|| interval * services.div_ceil(ROLLING) as u32)
    }

    /// Which services of `keys` (in kernel order) have their real servers read now: all on a
    /// small table; else those `wanted`, those never read, and the next [`ROLLING`] in turn.
    pub fn plan(&mut self, keys: &[ServiceKey], wanted: &HashSet<ServiceKey>) -> Vec<bool> {
        let n = keys.len();
        if n <= SMALL_TABLE {
            return vec![true; n];
        }
        let mut fresh = vec![false; n];
        if keys == self.keys {
            // The same services as last time (the usual case): the wanted ones by position,
            // without a lookup for every service.
            for i in wanted.iter().filter_map(|k| self.index.get(k)) {
                fresh[*i] = true;
            }
        } else {
            for (f, k) in fresh.iter_mut().zip(keys) {
                *f = wanted.contains(k) || !self.index.contains_key(k);
            }
        }
        let start = self.next % n;
        for i in 0..ROLLING {
            fresh[(start + i) % n] = true;
        }
        self.next = (start + ROLLING) % n;
        fresh
    }

    /// Reads the services (or the one `only` names) and the real servers of those [`plan`]
    /// picks, `wanted` being the services on the screen.
    ///
    /// [`plan`]: Reader::plan
    pub fn read(
        &mut self,
        ipvs: &Ipvs,
        only: Option<ServiceKey>,
        wanted: &HashSet<ServiceKey>,
    ) -> ipvs::Result<Read> {
        let entries = match only {
            None => ipvs.services()?,
            Some(key) => ipvs.service(&key)?.into_iter().collect(),
        };
        self.read_from(entries, wanted, |key| ipvs.destinations(key))
    }

    /// [`Reader::read`] of the services `entries`, the real servers of one coming from
    /// `destinations`.
    pub fn read_from<E>(
        &mut self,
        entries: Vec<ServiceEntry>,
        wanted: &HashSet<ServiceKey>,
        mut destinations: impl FnMut(&ServiceKey) -> Result<Vec<DestinationEntry>, E>,
    ) -> Result<Read, E> {
        let keys: Vec<ServiceKey> = entries.iter().map(|e| e.service.key).collect();
        let fresh = self.plan(&keys, wanted);
        let mut state = Vec::with_capacity(entries.len());
        for (entry, &read) in entries.into_iter().zip(&fresh) {
            let destinations = if read {
                destinations(&entry.service.key)?
            } else {
                Vec::new()
            };
            state.push(VirtualServer {
                entry,
                destinations,
            });
        }
        if keys != self.keys {
            self.index = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
            self.keys = keys;
        }
        Ok(Read { state, fresh })
    }
}
