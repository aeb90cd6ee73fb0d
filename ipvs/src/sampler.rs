//! Counters and per-second rates from a state read at intervals.
//!
//! The kernel keeps 64-bit counters (connections, packets, bytes) and its own
//! rate estimates (smoothed over about two seconds). A [`Sampler`] is fed
//! successive reads of the table ([`crate::Ipvs::state`]) with the time of
//! each read, and computes for every service and destination the average
//! per-second rate of each counter over a window of at least
//! [`FOLD_PERIOD`].
//!
//! # The fold period
//!
//! The kernel counts on each CPU and adds those counts into the totals that a
//! read sees only every 2 s ([`FOLD_PERIOD`]). Rates between reads 1 s apart
//! would alternate between 0 and twice the traffic; so a rate spans from an
//! earlier read at least 2 s old, the one whose age is nearest a whole number
//! of fold periods (reads 1 s apart: 2 s; 3 s apart: 6 s). Until the reads span
//! 2 s there are no rates.
//!
//! # Restarts
//!
//! A service or destination whose counters went backwards since the previous
//! read (zeroed with `-Z`, or deleted and created again) is taken as having
//! restarted from zero, all its counters together: the increase of each is
//! its current value, as Prometheus's `rate()` does, so a rate is never
//! negative nor huge, and a counter that grew past its old value after the
//! zero is not under-counted. A service or destination not in the previous
//! read is new and starts its own series (no rates until it has a window).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ipvs::sampler::Sampler;
//! use ipvs::VirtualServer;
//! let mut sampler = Sampler::new();
//! let t0 = Instant::now();
//! let state: Vec<VirtualServer> = Vec::new(); // ipvs.state()? in real use
//! let first = sampler.sample(t0, &state);
//! assert!(first.interval.is_none());
//! let second = sampler.sample(t0 + Duration::from_secs(1), &state);
//! assert_eq!(second.interval, Some(Duration::from_secs(1)));
//! assert_eq!(second.window, None); // not 2 s yet
//! let third = sampler.sample(t0 + Duration::from_secs(2), &state);
//! assert_eq!(third.window, Some(Duration::from_secs(2)));
//! ```

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{ServiceKey, Stats, VirtualServer};

/// How often the kernel adds its per-CPU counts into the counters a read sees
/// (its estimator's period).
pub const FOLD_PERIOD: Duration = Duration::from_secs(2);

/// How far a read's age may be from a whole number of windows and still count
/// as one (reads on a schedule come a few milliseconds late).
const SLACK_PER_WINDOW: u32 = 20; // 1/20 of the window

/// How far back reads are kept for the choice of a window's start: at most so
/// many windows, and so many reads (a fast watch of a big table).
const HISTORY_WINDOWS: u32 = 8;
const HISTORY_READS: usize = 24;

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
    /// The rates from `prev` to `cur` over `secs` seconds (`secs` > 0). When
    /// any counter went backwards, all count from zero (a restart).
    pub fn between(prev: &Stats, cur: &Stats, secs: f64) -> Rates {
        Counts::increase(prev, cur).per_sec(secs)
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

/// The five counters, or increases of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts([u64; 5]);

impl Counts {
    fn of(s: &Stats) -> Counts {
        Counts([
            s.conns,
            s.in_packets,
            s.out_packets,
            s.in_bytes,
            s.out_bytes,
        ])
    }

    /// From `prev` to `cur`: the differences, or `cur` itself when the series
    /// restarted (any counter went backwards).
    fn increase(prev: &Stats, cur: &Stats) -> Counts {
        let (p, c) = (Counts::of(prev), Counts::of(cur));
        if went_backwards(prev, cur) {
            return c;
        }
        Counts(std::array::from_fn(|i| c.0[i] - p.0[i]))
    }

    // Totals only grow; wrapping keeps their differences right past 2^64.
    fn plus(self, o: Counts) -> Counts {
        Counts(std::array::from_fn(|i| self.0[i].wrapping_add(o.0[i])))
    }

    fn minus(self, o: Counts) -> Counts {
        Counts(std::array::from_fn(|i| self.0[i].wrapping_sub(o.0[i])))
    }

    fn per_sec(self, secs: f64) -> Rates {
        let r = |i: usize| self.0[i] as f64 / secs;
        Rates {
            conns: r(0),
            in_packets: r(1),
            out_packets: r(2),
            in_bytes: r(3),
            out_bytes: r(4),
        }
    }
}

/// What a series of counters belongs to. Ordered by service, each service before its
/// destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeriesKey {
    /// A service.
    Service(ServiceKey),
    /// A destination (address and port) of a service.
    Destination(ServiceKey, IpAddr, u16),
}

impl SeriesKey {
    fn order(&self) -> (ServiceKey, Option<(IpAddr, u16)>) {
        match *self {
            SeriesKey::Service(k) => (k, None),
            SeriesKey::Destination(k, a, p) => (k, Some((a, p))),
        }
    }
}

impl Ord for SeriesKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order().cmp(&other.order())
    }
}

impl PartialOrd for SeriesKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The rates of one service or destination in a [`Sample`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesRates {
    /// The rates over the sample's window; `None` while the series (or the
    /// sampler) has no read old enough.
    pub rates: Option<Rates>,
    /// Whether its counters went backwards since the previous read.
    pub restarted: bool,
}

/// One read of the table with the rates over the window that ends at it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Time since the previous read; `None` for the first one.
    pub interval: Option<Duration>,
    /// The time the rates span (at least about [`FOLD_PERIOD`]); `None` while
    /// the reads do not span it yet.
    pub window: Option<Duration>,
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

    /// Every series in the sample, in [`SeriesKey`]'s order (each service, then its
    /// destinations), whatever the order of the reads.
    pub fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &SeriesRates)> {
        let mut all: Vec<(&SeriesKey, &SeriesRates)> = self.rates.iter().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }
}

/// A series at one read: its counters, and the sum of its increases since it
/// was first seen (restarts counted from zero) in its life `life`.
#[derive(Debug, Clone, Copy)]
struct Seen {
    stats: Stats,
    total: Counts,
    life: u64,
}

/// Keeps the recent reads and computes rates against them. See the module
/// documentation.
#[derive(Debug)]
pub struct Sampler {
    window: Duration,
    /// The kept reads, oldest first.
    reads: VecDeque<(Instant, HashMap<SeriesKey, Seen>)>,
    lives: u64,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler::with_window(FOLD_PERIOD)
    }
}

impl Sampler {
    /// A sampler with no previous read, whose rates span at least
    /// [`FOLD_PERIOD`].
    pub fn new() -> Self {
        Sampler::default()
    }

    /// A sampler whose rates span at least `window` (and, when it can, a whole
    /// number of windows): [`FOLD_PERIOD`] for the kernel's counters; another
    /// value for counters that change otherwise (zero: the previous read).
    pub fn with_window(window: Duration) -> Self {
        Sampler {
            window,
            reads: VecDeque::new(),
            lives: 0,
        }
    }

    /// Forgets the previous reads: the next sample has no rates.
    pub fn reset(&mut self) {
        self.reads.clear();
    }

    /// The kept read that starts the window ending at `at`: the youngest whose
    /// age is a whole number of windows (within the slack), else the one whose
    /// age is nearest one relative to its length.
    fn window_start(&self, at: Instant) -> Option<usize> {
        let slack = self.window / SLACK_PER_WINDOW;
        let w = self.window.as_secs_f64();
        let mut best: Option<(usize, f64)> = None;
        for (i, (then, _)) in self.reads.iter().enumerate().rev() {
            let age = at.duration_since(*then);
            if age + slack < self.window || age.is_zero() {
                continue;
            }
            if w == 0.0 {
                return Some(i);
            }
            let a = age.as_secs_f64();
            let off = (a - (a / w).round().max(1.0) * w).abs();
            if off <= slack.as_secs_f64() {
                return Some(i);
            }
            match best {
                Some((_, b)) if b <= off / a => {}
                _ => best = Some((i, off / a)),
            }
        }
        best.map(|(i, _)| i)
    }

    /// Takes a read of the table made at `at` and returns the rates over the
    /// window that ends at it. A read at or before the previous one (a clock
    /// that did not advance) gives no rates and is not kept.
    pub fn sample(&mut self, at: Instant, state: &[VirtualServer]) -> Sample {
        let mut current: Vec<(SeriesKey, Stats)> = Vec::new();
        for vs in state {
            let key = vs.entry.service.key;
            current.push((SeriesKey::Service(key), vs.entry.stats));
            for d in &vs.destinations {
                let dest = &d.destination;
                current.push((SeriesKey::Destination(key, dest.addr, dest.port), d.stats));
            }
        }
        let interval = match self.reads.back() {
            Some((then, _)) if at > *then => Some(at.duration_since(*then)),
            Some(_) => {
                let rates = current
                    .iter()
                    .map(|(k, _)| {
                        let none = SeriesRates {
                            rates: None,
                            restarted: false,
                        };
                        (*k, none)
                    })
                    .collect();
                return Sample {
                    interval: None,
                    window: None,
                    rates,
                };
            }
            None => None,
        };
        let start = self.window_start(at);
        let window = start.map(|i| at.duration_since(self.reads[i].0));
        let mut seen = HashMap::with_capacity(current.len());
        let mut rates = HashMap::with_capacity(current.len());
        for (k, cur) in current {
            let prev = self.reads.back().and_then(|(_, m)| m.get(&k));
            let (now, restarted) = match prev {
                Some(p) => {
                    let restarted = went_backwards(&p.stats, &cur);
                    let total = p.total.plus(Counts::increase(&p.stats, &cur));
                    let now = Seen {
                        stats: cur,
                        total,
                        life: p.life,
                    };
                    (now, restarted)
                }
                None => {
                    self.lives += 1;
                    let now = Seen {
                        stats: cur,
                        total: Counts::default(),
                        life: self.lives,
                    };
                    (now, false)
                }
            };
            let from = start.and_then(|i| self.reads[i].1.get(&k));
            let r = match (from, window) {
                (Some(f), Some(w)) if f.life == now.life => {
                    Some(now.total.minus(f.total).per_sec(w.as_secs_f64()))
                }
                _ => None,
            };
            rates.insert(
                k,
                SeriesRates {
                    rates: r,
                    restarted,
                },
            );
            seen.insert(k, now);
        }
        self.reads.push_back((at, seen));
        // Older reads are dropped, but never the only one that can start a window.
        let keep = self.window.saturating_mul(HISTORY_WINDOWS);
        while self.reads.len() > 2
            && (self.reads.len() > HISTORY_READS || at.duration_since(self.reads[1].0) > keep)
        {
            self.reads.pop_front();
        }
        Sample {
            interval,
            window,
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
    fn a_sample_iterates_each_service_then_its_destinations_in_order() {
        let mut two = state(5, &[("10.1.1.9", 5), ("10.1.1.2", 5), ("10.1.1.5", 5)]);
        let other = ServiceKey::tcp("10.0.0.0".parse().unwrap(), 80);
        let mut first = two[0].clone();
        first.entry.service = Service::new(other);
        two.push(first);
        let sample = Sampler::new().sample(Instant::now(), &two);
        let order: Vec<SeriesKey> = sample.iter().map(|(k, _)| *k).collect();
        let d = |k: ServiceKey, a: &str| SeriesKey::Destination(k, a.parse().unwrap(), 80);
        assert_eq!(
            order,
            [
                SeriesKey::Service(other),
                d(other, "10.1.1.2"),
                d(other, "10.1.1.5"),
                d(other, "10.1.1.9"),
                SeriesKey::Service(key()),
                d(key(), "10.1.1.2"),
                d(key(), "10.1.1.5"),
                d(key(), "10.1.1.9"),
            ]
        );
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
        let mut s = Sampler::with_window(Duration::ZERO);
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
        let mut s = Sampler::with_window(Duration::ZERO);
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

    #[test]
    fn a_zero_restarts_every_counter_of_the_object() {
        let key = key();
        let vs = |conns: u64, bytes: u64| {
            let mut st = state(0, &[]);
            st[0].entry.stats = Stats {
                conns,
                in_bytes: bytes,
                ..Stats::default()
            };
            st
        };
        let mut s = Sampler::new();
        let t0 = Instant::now();
        s.sample(t0, &vs(5, 1_000_000));
        // Zeroed, then 20 small connections: conns grew past 5, the bytes did not.
        let sample = s.sample(t0 + Duration::from_secs(2), &vs(20, 100));
        let r = sample.service_rates(&key).unwrap();
        assert_eq!(r.conns, 10.0, "all 20 count, not 20 - 5");
        assert_eq!(r.in_bytes, 50.0);
        assert!(sample.get(&SeriesKey::Service(key)).unwrap().restarted);
        assert_eq!(
            Rates::between(
                &vs(5, 1_000_000)[0].entry.stats,
                &vs(20, 100)[0].entry.stats,
                2.0
            )
            .conns,
            10.0
        );
    }

    /// Counters as a read sees them: the traffic (`per_sec` connections a
    /// second from t = 0) added in only at the kernel's folds, every 2 s from
    /// `phase`.
    fn folded(per_sec: u64, phase: f64, t: f64) -> u64 {
        if t < phase {
            return 0;
        }
        let last_fold = phase + ((t - phase) / 2.0).floor() * 2.0;
        (last_fold * per_sec as f64) as u64
    }

    fn watch(every: f64, reads: usize) -> Vec<Sample> {
        let mut s = Sampler::new();
        let t0 = Instant::now();
        (0..reads)
            .map(|n| {
                let t = 10.0 + n as f64 * every;
                s.sample(
                    t0 + Duration::from_secs_f64(t),
                    &state(folded(10, 0.7, t), &[]),
                )
            })
            .collect()
    }

    #[test]
    fn a_watch_every_second_spans_the_fold_period() {
        let samples = watch(1.0, 12);
        assert_eq!(samples[1].interval, Some(Duration::from_secs(1)));
        assert_eq!(samples[1].service_rates(&key()), None, "1 s: no window yet");
        for sample in &samples[2..] {
            assert_eq!(sample.window, Some(Duration::from_secs(2)));
            let r = sample.service_rates(&key()).unwrap();
            assert_eq!(r.conns, 10.0, "{sample:?}");
        }
        // Reads 3 s apart: windows of 6 s, three folds each.
        let samples = watch(3.0, 8);
        assert_eq!(samples[1].window, Some(Duration::from_secs(3)));
        for sample in &samples[2..] {
            assert_eq!(sample.window, Some(Duration::from_secs(6)));
            assert_eq!(sample.service_rates(&key()).unwrap().conns, 10.0);
        }
        // Reads half a second apart: windows of 2 s.
        for sample in &watch(0.5, 30)[4..] {
            assert_eq!(sample.window, Some(Duration::from_secs(2)));
            assert_eq!(sample.service_rates(&key()).unwrap().conns, 10.0);
        }
    }

    #[test]
    fn a_restart_inside_the_window_counts_from_zero_and_a_new_series_waits() {
        let mut s = Sampler::new();
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        s.sample(at(0), &state(100, &[("10.1.1.1", 100)]));
        s.sample(at(1), &state(110, &[]));
        // Zeroed between the reads at 1 s and 2 s, then 4 more; the destination is back.
        let sample = s.sample(at(2), &state(4, &[("10.1.1.1", 4)]));
        assert_eq!(sample.service_rates(&key()).unwrap().conns, 7.0);
        assert!(sample.get(&SeriesKey::Service(key())).unwrap().restarted);
        let d = (key(), "10.1.1.1".parse().unwrap(), 80);
        assert_eq!(sample.destination_rates(&d.0, d.1, d.2), None);
        s.sample(at(3), &state(6, &[("10.1.1.1", 6)]));
        let sample = s.sample(at(4), &state(8, &[("10.1.1.1", 8)]));
        assert_eq!(sample.destination_rates(&d.0, d.1, d.2).unwrap().conns, 2.0);
        assert_eq!(sample.service_rates(&key()).unwrap().conns, 2.0);
    }
}
