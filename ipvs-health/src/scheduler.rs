//! The scheduler: every target checked on its own interval, first checks
//! spread over the interval, transitions sent on a channel.
//!
//! Targets are named by a key of the caller's choice (a service and real
//! server, say). Handing the scheduler a new set ([`Scheduler::replace_all`],
//! a reload) keeps the state and counters of every key it already had: a
//! changed spec or address restarts that key's schedule, not its health.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::check::{run, Outcome, Report, Target};
use crate::health::{Health, State};
use crate::spec::Check;

/// What the scheduler tells its program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<K> {
    /// A target changed state.
    Transition(Transition<K>),
    /// A check could not be made (the checker's own trouble: out of file
    /// descriptors, no local address); the target's state stays.
    Unchecked {
        /// The target.
        key: K,
        /// Why (`connect: too many open files`).
        reason: String,
        /// When.
        at: SystemTime,
    },
}

/// A target's change of state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition<K> {
    /// The target.
    pub key: K,
    /// The state before.
    pub from: State,
    /// The state now.
    pub to: State,
    /// The last result's reason (`http: status 503`).
    pub reason: String,
    /// When the result came.
    pub at: SystemTime,
}

/// A target's health and counters, for status pages and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Its state and its results in a row.
    pub health: Health,
    /// Checks made (all outcomes).
    pub checks: u64,
    /// Checks that could not be made.
    pub unchecked: u64,
    /// Changes of state.
    pub transitions: u64,
    /// When the state last changed.
    pub changed_at: Option<SystemTime>,
    /// The last check's report.
    pub last: Option<Report>,
    /// Checks that did not pass (down or not checked), by reason
    /// (`http: status 503`); past [`MAX_REASONS`] reasons, the others count
    /// under `other`, so that a metric labelled with them stays small.
    pub failures: BTreeMap<String, u64>,
}

/// Reasons counted apart in [`Status::failures`] for one target.
pub const MAX_REASONS: usize = 16;

impl Status {
    fn count_failure(&mut self, reason: &str) {
        // The same reason as before (the usual case): no new key made.
        if let Some(n) = self.failures.get_mut(reason) {
            *n += 1;
            return;
        }
        let key = if self.failures.len() < MAX_REASONS {
            reason
        } else {
            "other"
        };
        *self.failures.entry(key.to_string()).or_insert(0) += 1;
    }
}

struct Entry {
    target: Target,
    check: Check,
    status: Arc<Mutex<Status>>,
    task: JoinHandle<()>,
}

/// Runs the checks of a set of targets. Made inside a tokio runtime; its
/// checks run as tasks of that runtime (whatever thread adds them, a signal
/// handler's say) until the target is removed or the scheduler dropped.
pub struct Scheduler<K> {
    entries: Mutex<HashMap<K, Entry>>,
    events: mpsc::UnboundedSender<Event<K>>,
    runtime: Handle,
}

/// When a target's first check starts, after it is added: a fraction of the
/// interval given by its key's hash, so that many targets do not all check
/// at once, and the same key gets the same offset in every run of a program.
pub fn spread<K: Hash>(key: &K, interval: Duration) -> Duration {
    // DefaultHasher::new() has fixed keys: the same key, the same hash.
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    let fraction = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
    interval.mul_f64(fraction)
}

impl<K> Scheduler<K>
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
{
    /// A scheduler without targets, and the receiver of its events. The
    /// channel is unbounded: read it.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Event<K>>) {
        let (events, rx) = mpsc::unbounded_channel();
        (
            Scheduler {
                entries: Mutex::new(HashMap::new()),
                events,
                runtime: Handle::current(),
            },
            rx,
        )
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<K, Entry>> {
        // A panic elsewhere while holding the lock leaves the map whole.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a target that starts [`State::Unknown`], or updates one: a known
    /// key keeps its state and counts (with the new `rise` and `fall`), and
    /// its schedule restarts only when the target or the check changed.
    pub fn insert(&self, key: K, target: Target, check: Check) {
        self.insert_starting(key, target, check, State::Unknown);
    }

    /// As [`insert`](Self::insert), a new key starting in `state`
    /// ([`State::Down`] for keepalived's `alpha`).
    pub fn insert_starting(&self, key: K, target: Target, check: Check, state: State) {
        let mut entries = self.entries();
        let status = match entries.get(&key) {
            Some(e) if e.target == target && e.check == check => return,
            Some(e) => {
                e.task.abort();
                let status = e.status.clone();
                lock(&status).health.set_thresholds(check.rise, check.fall);
                status
            }
            None => Arc::new(Mutex::new(Status {
                health: Health::starting(state, check.rise, check.fall),
                checks: 0,
                unchecked: 0,
                transitions: 0,
                changed_at: None,
                last: None,
                failures: BTreeMap::new(),
            })),
        };
        let task = self.runtime.spawn(schedule(
            key.clone(),
            target.clone(),
            check.clone(),
            status.clone(),
            self.events.clone(),
        ));
        entries.insert(
            key,
            Entry {
                target,
                check,
                status,
                task,
            },
        );
    }

    /// Stops checking a target; false when there was none.
    pub fn remove(&self, key: &K) -> bool {
        match self.entries().remove(key) {
            Some(e) => {
                e.task.abort();
                true
            }
            None => false,
        }
    }

    /// Makes `targets` the whole set (a reload): keys not in it are removed,
    /// new ones start unknown, known ones keep their state.
    pub fn replace_all(&self, targets: impl IntoIterator<Item = (K, Target, Check)>) {
        let targets: HashMap<K, (Target, Check)> =
            targets.into_iter().map(|(k, t, c)| (k, (t, c))).collect();
        let gone: Vec<K> = self
            .entries()
            .keys()
            .filter(|k| !targets.contains_key(k))
            .cloned()
            .collect();
        for k in &gone {
            self.remove(k);
        }
        for (k, (t, c)) in targets {
            self.insert(k, t, c);
        }
    }

    /// The keys checked.
    pub fn keys(&self) -> Vec<K> {
        self.entries().keys().cloned().collect()
    }

    /// A target's status.
    pub fn status(&self, key: &K) -> Option<Status> {
        self.entries().get(key).map(|e| lock(&e.status).clone())
    }

    /// Every target's status.
    pub fn statuses(&self) -> Vec<(K, Status)> {
        self.entries()
            .iter()
            .map(|(k, e)| (k.clone(), lock(&e.status).clone()))
            .collect()
    }
}

impl<K> Drop for Scheduler<K> {
    fn drop(&mut self) {
        let entries = self.entries.get_mut().unwrap_or_else(|p| p.into_inner());
        for e in entries.values() {
            e.task.abort();
        }
    }
}

fn lock(s: &Mutex<Status>) -> MutexGuard<'_, Status> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

async fn schedule<K: Hash + Clone>(
    key: K,
    target: Target,
    check: Check,
    status: Arc<Mutex<Status>>,
    events: mpsc::UnboundedSender<Event<K>>,
) {
    let first = Instant::now() + spread(&key, check.interval);
    let mut ticks = tokio::time::interval_at(first, check.interval);
    // A check that ran late (a busy host) does not make the next ones bunch up.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let report = run(&check, &target).await;
        let at = SystemTime::now();
        let change = {
            let mut s = lock(&status);
            s.checks += 1;
            let change = s.health.record(&report.outcome);
            match &report.outcome {
                Outcome::Up(_) => {}
                Outcome::Down(r) => s.count_failure(r),
                Outcome::Unchecked(r) => {
                    s.unchecked += 1;
                    s.count_failure(r);
                }
            }
            if change.is_some() {
                s.transitions += 1;
                s.changed_at = Some(at);
            }
            change
        };
        let event = match (change, &report.outcome) {
            (Some(c), _) => Some(Event::Transition(Transition {
                key: key.clone(),
                from: c.from,
                to: c.to,
                reason: c.reason,
                at,
            })),
            (None, Outcome::Unchecked(reason)) => Some(Event::Unchecked {
                key: key.clone(),
                reason: reason.clone(),
                at,
            }),
            _ => None,
        };
        // The report kept as the last one, not copied.
        lock(&status).last = Some(report);
        let Some(event) = event else { continue };
        if events.send(event).is_err() {
            // Nobody listens: the program is going away.
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_by_reason_are_bounded() {
        let mut s = Status {
            health: Health::new(1, 1),
            checks: 0,
            unchecked: 0,
            transitions: 0,
            changed_at: None,
            last: None,
            failures: BTreeMap::new(),
        };
        for i in 0..40 {
            s.count_failure(&format!("dns: bad reply: {i}"));
            s.count_failure("dns: bad reply: 0");
        }
        assert_eq!(s.failures.len(), MAX_REASONS + 1);
        assert_eq!(s.failures["dns: bad reply: 0"], 41);
        assert_eq!(s.failures["other"], 40 - MAX_REASONS as u64);
    }

    #[test]
    fn spread_covers_the_interval_and_is_stable() {
        let interval = Duration::from_secs(10);
        let mut buckets = [0u32; 10];
        for i in 0..1000u32 {
            let key = (
                "TCP 10.0.0.1:80",
                format!("10.1.{}.{}:80", i / 250, i % 250),
            );
            let d = spread(&key, interval);
            assert!(d < interval, "{d:?}");
            assert_eq!(d, spread(&key, interval), "the same key, the same offset");
            buckets[(d.as_secs_f64()) as usize] += 1;
        }
        // 100 expected in each tenth; a hash gives a few dozen either way.
        for (i, n) in buckets.iter().enumerate() {
            assert!(
                (40..=160).contains(n),
                "tenth {i} has {n} of 1000: {buckets:?}"
            );
        }
    }

    #[test]
    fn a_tcp_targets_task_stays_small() {
        // 10,000 targets are 10,000 of these futures: the larger checks' are boxed apart.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let check = crate::spec::read_check(&serde_json::json!({"type": "tcp"}), "check")
                .unwrap()
                .unwrap();
            let target = Target {
                service: "TCP 10.0.0.1:80".into(),
                server: "127.0.0.1:1".parse().unwrap(),
            };
            let status = Arc::new(Mutex::new(Status {
                health: Health::new(1, 1),
                checks: 0,
                unchecked: 0,
                transitions: 0,
                changed_at: None,
                last: None,
                failures: BTreeMap::new(),
            }));
            let (events, _rx) = mpsc::unbounded_channel::<Event<u32>>();
            let task = schedule(1u32, target, check, status, events);
            let size = std::mem::size_of_val(&task);
            assert!(size < 4096, "a TCP target's task takes {size} bytes");
        });
    }
}
