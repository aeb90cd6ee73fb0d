//! Counters and per-second rates from a state read at intervals.
//!
//! The kernel keeps 64-bit counters (connections, packets, bytes) and its own
//! rate estimates (smoothed over about two seconds). A [`Sampler`] is fed
//! successive reads of the table ([`crate::Ipvs::state`]) with the time of
//! each read, and computes for every service and destination the average
//! per-second rate of each counter since the previous read.
//!
//! A counter below its previous value (the counters were zeroed, or the
//! service or destination was deleted and created again) is taken as having
//! restarted from zero: its increase over the interval is its current value,
//! as Prometheus's `rate()` does, so a rate is never negative nor huge. A
//! service or destination seen for the first time has no rates yet.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ipvs::{Sampler, VirtualServer};
//! let mut sampler = Sampler::new();
//! let t0 = Instant::now();
//! let state: Vec<VirtualServer> = Vec::new(); // ipvs.state()? in real use
//! let first = sampler.sample(t0, &state);
//! assert!(first.interval.is_none());
//! let second = sampler.sample(t0 + Duration::from_secs(2), &state);
//! assert_eq!(second.interval, Some(Duration::from_secs(2)));
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{ServiceKey, Stats, VirtualServer};

/// Average per-second rates of the five counters over one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Connections scheduled per second.
    pub conns: f64,
    /// Incoming packets per second.
    pub in_packets: f64,
    /// Outgoing packets per second.
    pub out_packets: f64,
    /// Incoming bytes per second.
    pub in_bytes: f64,
    /// Outgoing bytes per second.
    pub out_bytes: f64,
}

impl Rates {
    /// The rates from `prev` to `cur` over `secs` seconds (`secs` > 0). A
    /// counter that went backwards counts from zero.
    pub fn between(prev: &Stats, cur: &Stats, secs: f64) -> Rates {
        let per_sec = |p: u64, c: u64| {
            let increase = if c >= p { c - p } else { c };
            increase as f64 / secs
        };
        Rates {
            conns: per_sec(prev.conns, cur.conns),
            in_packets: per_sec(prev.in_packets, cur.in_packets),
            out_packets: per_sec(prev.out_packets, cur.out_packets),
            in_bytes: per_sec(prev.in_bytes, cur.in_bytes),
            out_bytes: per_sec(prev.out_bytes, cur.out_bytes),
        }
    }
}

/// Whether any of the five counters is below its value in `prev`.
pub fn went_backwards(prev: &Stats, cur: &Stats) -> bool {
    cur.conns < prev.conns
        || cur.in_packets < prev.in_packets
        || cur.out_packets < prev.out_packets
        || cur.in_bytes < prev.in_bytes
        || cur.out_bytes < prev.out_bytes
}

/// What a series of counters belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeriesKey {
    /// A service.
    Service(ServiceKey),
    /// A destination (address and port) of a service.
    Destination(ServiceKey, IpAddr, u16),
}

/// The rates of one service or destination in a [`Sample`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesRates {
    /// The rates; `None` when the series was not in the previous sample.
    pub rates: Option<Rates>,
    /// Whether a counter went backwards since the previous sample.
    pub restarted: bool,
}

/// One read of the table with the rates since the previous one.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Time since the previous sample; `None` for the first one.
    pub interval: Option<Duration>,
    rates: HashMap<SeriesKey, SeriesRates>,
}

impl Sample {
    /// The rates of a series; `None` when it was not in this sample.
    pub fn get(&self, key: &SeriesKey) -> Option<&SeriesRates> {
        self.rates.get(key)
    }

    /// The rates of a service (`None` when new or not in the sample).
    pub fn service_rates(&self, key: &ServiceKey) -> Option<Rates> {
        self.get(&SeriesKey::Service(*key)).and_then(|r| r.rates)
    }

    /// The rates of a destination (`None` when new or not in the sample).
    pub fn destination_rates(&self, key: &ServiceKey, addr: IpAddr, port: u16) -> Option<Rates> {
        self.get(&SeriesKey::Destination(*key, addr, port))
            .and_then(|r| r.rates)
    }

    /// Every series in the sample.
    pub fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &SeriesRates)> {
        self.rates.iter()
    }
}

/// Keeps the previous read and computes rates against it. See the module
/// documentation.
#[derive(Debug, Default)]
pub struct Sampler {
    prev: Option<(Instant, HashMap<SeriesKey, Stats>)>,
}

impl Sampler {
    /// A sampler with no previous read.
    pub fn new() -> Self {
        Sampler::default()
    }

    /// Forgets the previous read: the next sample has no rates.
    pub fn reset(&mut self) {
        self.prev = None;
    }

    /// Takes a read of the table made at `at` and returns the rates since
    /// the previous read. A read at or before the previous one (a clock that
    /// did not advance) gives no rates and keeps the previous read.
    pub fn sample(&mut self, at: Instant, state: &[VirtualServer]) -> Sample {
        let mut current = HashMap::new();
        for vs in state {
            let key = vs.entry.service.key;
            current.insert(SeriesKey::Service(key), vs.entry.stats);
            for d in &vs.destinations {
                let dest = &d.destination;
                current.insert(SeriesKey::Destination(key, dest.addr, dest.port), d.stats);
            }
        }
        let elapsed = match &self.prev {
            Some((then, _)) if at > *then => Some(at.duration_since(*then)),
            _ => None,
        };
        let rates = current
            .iter()
            .map(|(k, cur)| {
                let prev = match (&self.prev, elapsed) {
                    (Some((_, prev)), Some(_)) => prev.get(k),
                    _ => None,
                };
                let r = match (prev, elapsed) {
                    (Some(p), Some(e)) => SeriesRates {
                        rates: Some(Rates::between(p, cur, e.as_secs_f64())),
                        restarted: went_backwards(p, cur),
                    },
                    _ => SeriesRates {
                        rates: None,
                        restarted: false,
                    },
                };
                (*k, r)
            })
            .collect();
        let keep_prev = self.prev.is_some() && elapsed.is_none();
        if !keep_prev {
            self.prev = Some((at, current));
        }
        Sample {
            interval: elapsed,
            rates,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Destination, DestinationEntry, Service, ServiceEntry};

    fn stats(n: u64) -> Stats {
        Stats {
            conns: n,
            in_packets: n.saturating_mul(10),
            out_packets: n.saturating_mul(8),
            in_bytes: n.saturating_mul(1000),
            out_bytes: n.saturating_mul(2000),
            cps: 7,
            ..Stats::default()
        }
    }

    fn state(svc: u64, dests: &[(&str, u64)]) -> Vec<VirtualServer> {
        let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
        vec![VirtualServer {
            entry: ServiceEntry {
                service: Service::new(key),
                stats: stats(svc),
            },
            destinations: dests
                .iter()
                .map(|(a, n)| DestinationEntry {
                    destination: Destination::new(a.parse().unwrap(), 80),
                    active_conns: 0,
                    inactive_conns: 0,
                    persistent_conns: 0,
                    stats: stats(*n),
                })
                .collect(),
        }]
    }

    fn key() -> ServiceKey {
        ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)
    }

    #[test]
    fn first_sample_has_no_rates() {
        let mut s = Sampler::new();
        let sample = s.sample(Instant::now(), &state(5, &[("10.1.1.1", 5)]));
        assert_eq!(sample.interval, None);
        assert_eq!(sample.service_rates(&key()), None);
        assert!(sample.get(&SeriesKey::Service(key())).is_some());
    }

    #[test]
    fn rates_are_the_difference_per_second() {
        let mut s = Sampler::new();
        let t0 = Instant::now();
        s.sample(t0, &state(10, &[("10.1.1.1", 4), ("10.1.1.2", 6)]));
        let sample = s.sample(
            t0 + Duration::from_secs(2),
            &state(30, &[("10.1.1.1", 14), ("10.1.1.2", 16)]),
        );
        assert_eq!(sample.interval, Some(Duration::from_secs(2)));
        let r = sample.service_rates(&key()).unwrap();
        assert_eq!(r.conns, 10.0);
        assert_eq!(r.in_packets, 100.0);
        assert_eq!(r.out_packets, 80.0);
        assert_eq!(r.in_bytes, 10_000.0);
        assert_eq!(r.out_bytes, 20_000.0);
        let d = sample
            .destination_rates(&key(), "10.1.1.1".parse().unwrap(), 80)
            .unwrap();
        assert_eq!(d.conns, 5.0);
        assert!(!sample.get(&SeriesKey::Service(key())).unwrap().restarted);
    }

    #[test]
    fn counter_going_backwards_restarts_from_zero() {
        let mut s = Sampler::new();
        let t0 = Instant::now();
        s.sample(t0, &state(u64::MAX - 1, &[("10.1.1.1", 1000)]));
        // Zeroed, then 3 more: the increase is 3, not 2^64 - something.
        let sample = s.sample(t0 + Duration::from_secs(1), &state(3, &[("10.1.1.1", 0)]));
        let r = sample.service_rates(&key()).unwrap();
        assert_eq!(r.conns, 3.0);
        assert_eq!(r.in_bytes, 3000.0);
        assert!(sample.get(&SeriesKey::Service(key())).unwrap().restarted);
        let d = sample
            .destination_rates(&key(), "10.1.1.1".parse().unwrap(), 80)
            .unwrap();
        assert_eq!(d, Rates::default());
        // And counts on normally from there.
        let sample = s.sample(t0 + Duration::from_secs(2), &state(5, &[("10.1.1.1", 1)]));
        assert_eq!(sample.service_rates(&key()).unwrap().conns, 2.0);
        assert!(!sample.get(&SeriesKey::Service(key())).unwrap().restarted);
    }

    #[test]
    fn new_destination_has_no_rates_and_gone_one_is_absent() {
        let mut s = Sampler::new();
        let t0 = Instant::now();
        s.sample(t0, &state(1, &[("10.1.1.1", 1)]));
        let sample = s.sample(
            t0 + Duration::from_secs(1),
            &state(2, &[("2001:db8::1", 1)]),
        );
        let v6 = "2001:db8::1".parse().unwrap();
        assert_eq!(sample.destination_rates(&key(), v6, 80), None);
        assert!(sample.get(&SeriesKey::Destination(key(), v6, 80)).is_some());
        assert!(sample
            .get(&SeriesKey::Destination(
                key(),
                "10.1.1.1".parse().unwrap(),
                80
            ))
            .is_none());
    }

    #[test]
    fn a_clock_that_does_not_advance_gives_no_rates() {
        let mut s = Sampler::new();
        let t0 = Instant::now();
        s.sample(t0, &state(1, &[]));
        let same = s.sample(t0, &state(5, &[]));
        assert_eq!(same.interval, None);
        assert_eq!(same.service_rates(&key()), None);
        // The first read is kept: the next rate spans from it.
        let later = s.sample(t0 + Duration::from_secs(4), &state(9, &[]));
        assert_eq!(later.service_rates(&key()).unwrap().conns, 2.0);
        s.reset();
        let after_reset = s.sample(t0 + Duration::from_secs(5), &state(9, &[]));
        assert_eq!(after_reset.interval, None);
    }

    #[test]
    fn rates_are_never_negative_or_huge() {
        let mut s = Sampler::new();
        let t0 = Instant::now();
        let values = [5u64, 0, u64::MAX, 1, 1, 0, 7];
        for (i, v) in values.iter().enumerate() {
            let sample = s.sample(t0 + Duration::from_secs(i as u64 + 1), &state(*v, &[]));
            if let Some(r) = sample.service_rates(&key()) {
                for x in [
                    r.conns,
                    r.in_packets,
                    r.out_packets,
                    r.in_bytes,
                    r.out_bytes,
                ] {
                    assert!(x >= 0.0 && x.is_finite(), "{x}");
                }
                if *v == 0 || *v == 1 {
                    assert!(r.conns <= 1.0);
                }
            }
        }
    }
}
