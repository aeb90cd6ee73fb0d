//! The scheduler: every target checked on its own interval, first checks
//! spread over the interval, transitions sent on a channel.
//!
//! One task drives every target: it wakes once per [`SLOT`] in which some
//! check is due and starts them, [`STARTS_PER_TURN`] at most before it takes
//! the answers in (10,000 targets checked every second are about 50 checks a
//! wake-up, not one). TCP checks are connects in an epoll set of the
//! scheduler's own (no tokio registration or task per check); the
//! other checks run as a task each. How late each check started against its
//! schedule is counted in a histogram ([`Scheduler::lateness`]).
//!
//! Targets are named by a key of the caller's choice (a service and real
//! server, say). Handing the scheduler a new set ([`Scheduler::replace_all`],
//! a reload) keeps the state and counters of every key it already had: a
//! changed spec or address restarts that key's schedule, not its health.

use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{Hash, Hasher};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

use crate::check::{run, Outcome, Report, Target};
use crate::connects::{self, Connects};
use crate::health::{Health, State};
use crate::spec::{Check, Probe};

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

/// Checks due within one slot of time start together, at its end: a check
/// starts up to this much after its schedule, and the scheduler wakes at most
/// once a slot for them.
pub const SLOT: Duration = Duration::from_millis(5);

/// Checks started at most in one turn of the scheduler, before it takes the
/// answers in and lets the runtime's other tasks run: when it is behind, its
/// open sockets stay about this many (as in tests/perf/connect-floor.c), not
/// every target's at once.
pub const STARTS_PER_TURN: usize = 64;

/// The upper bounds, in seconds, of the buckets of [`Lateness`] (a last
/// bucket takes the rest).
pub const LATENESS_BOUNDS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How late checks started against their schedule (the time the check was
/// due: the first one its spread after the target came, then as
/// [`next_due`] says), as a histogram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lateness {
    /// Checks started by bucket, not cumulative: `buckets[i]` were at most
    /// `LATENESS_BOUNDS[i]` late and more than the bound before; the last
    /// one, later than every bound.
    pub buckets: [u64; LATENESS_BOUNDS.len() + 1],
    /// Checks started.
    pub count: u64,
    /// Their lateness added up, in seconds.
    pub sum: f64,
    /// The most any check was late.
    pub max: Duration,
}

impl Lateness {
    /// Counts one check started `late` after its schedule.
    pub fn record(&mut self, late: Duration) {
        let s = late.as_secs_f64();
        let i = LATENESS_BOUNDS.partition_point(|b| *b < s);
        self.buckets[i] += 1;
        self.count += 1;
        self.sum += s;
        self.max = self.max.max(late);
    }

    fn add(&mut self, other: &Lateness) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }
}

/// When a check is due after one that was due at `due` started at `now`: one
/// interval after `due` when it started within [`SLOT`] of it, else one
/// interval after its start (as tokio's `MissedTickBehavior::Delay`: a late
/// check does not make the next ones bunch up or carry its lateness on, so
/// two checks' starts are never more than an interval and the later one's
/// lateness apart).
pub fn next_due(due: Instant, now: Instant, interval: Duration) -> Instant {
    if now > due + SLOT {
        now + interval
    } else {
        due + interval
    }
}

/// When a check that could not be made (the checker's own trouble: out of
/// descriptors, say) is tried again: between half an interval and an interval
/// from `now`, at a point that changes from try to try. On a fixed phase, the
/// same targets would find the descriptors taken every time and never be
/// checked; shifted, each gets its turn as others' checks end.
fn retry_due(now: Instant, id: u64, started: u64, check: &Check) -> Instant {
    let half = check.interval / 2;
    now + half + spread(&(id, started), half)
}

/// The end of the slot (counted from `origin`) that `t` falls in: when a
/// check due at `t` starts.
fn slot_end(origin: Instant, t: Instant) -> Instant {
    let since = t.saturating_duration_since(origin).as_nanos();
    let slot = SLOT.as_nanos();
    let slots = since.div_ceil(slot);
    // A schedule more than 2^64 slots away (centuries) is never reached anyway.
    origin + SLOT * u32::try_from(slots).unwrap_or(u32::MAX)
}

struct Entry {
    id: u64,
    target: Target,
    check: Check,
    status: Arc<Mutex<Status>>,
}

enum Command<K> {
    Add {
        id: u64,
        key: K,
        target: Arc<Target>,
        check: Arc<Check>,
        status: Arc<Mutex<Status>>,
    },
    Remove(u64),
}

struct Entries<K> {
    map: HashMap<K, Entry>,
    next_id: u64,
}

/// Runs the checks of a set of targets. Made inside a tokio runtime; its
/// checks run on that runtime (whatever thread adds them, a signal handler's
/// say) until the target is removed or the scheduler dropped.
pub struct Scheduler<K> {
    entries: Mutex<Entries<K>>,
    commands: mpsc::UnboundedSender<Command<K>>,
    lateness: Arc<Mutex<Lateness>>,
    driver: JoinHandle<()>,
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
        let (commands, orders) = mpsc::unbounded_channel();
        let lateness = Arc::new(Mutex::new(Lateness::default()));
        let driver = tokio::spawn(drive(orders, events, Arc::clone(&lateness)));
        (
            Scheduler {
                entries: Mutex::new(Entries {
                    map: HashMap::new(),
                    next_id: 0,
                }),
                commands,
                lateness,
                driver,
            },
            rx,
        )
    }

    fn entries(&self) -> MutexGuard<'_, Entries<K>> {
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
        let status = match entries.map.get(&key) {
            Some(e) if e.target == target && e.check == check => return,
            Some(e) => {
                // The driver gone (the runtime shutting down) checks nothing anyway.
                let _ = self.commands.send(Command::Remove(e.id));
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
        let id = entries.next_id;
        entries.next_id += 1;
        let _ = self.commands.send(Command::Add {
            id,
            key: key.clone(),
            target: Arc::new(target.clone()),
            check: Arc::new(check.clone()),
            status: status.clone(),
        });
        entries.map.insert(
            key,
            Entry {
                id,
                target,
                check,
                status,
            },
        );
    }

    /// Stops checking a target; false when there was none.
    pub fn remove(&self, key: &K) -> bool {
        match self.entries().map.remove(key) {
            Some(e) => {
                let _ = self.commands.send(Command::Remove(e.id));
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
            .map
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
        self.entries().map.keys().cloned().collect()
    }

    /// A target's status.
    pub fn status(&self, key: &K) -> Option<Status> {
        self.entries().map.get(key).map(|e| lock(&e.status).clone())
    }

    /// Every target's status.
    pub fn statuses(&self) -> Vec<(K, Status)> {
        // The map's lock held only to take the targets, not while each status is copied: a
        // reader that runs at a low priority (healthd's HTTP thread) holds it briefly, and
        // each status's lock, which the checks' results take, for one copy at a time.
        let all: Vec<(K, Arc<Mutex<Status>>)> = self
            .entries()
            .map
            .iter()
            .map(|(k, e)| (k.clone(), Arc::clone(&e.status)))
            .collect();
        all.into_iter()
            .map(|(k, s)| {
                let status = lock(&s).clone();
                (k, status)
            })
            .collect()
    }

    /// Every target's status, to be read in place ([`SharedStatuses::read`]): nothing of a
    /// status is copied, and its lock, which its check's results take, is held only while
    /// one reader looks at it. For a reader of thousands (a status page) that copies only what
    /// it writes out; the map's lock is held only to take the targets, as in
    /// [`statuses`](Self::statuses).
    pub fn shared_statuses(&self) -> SharedStatuses<K> {
        SharedStatuses(
            self.entries()
                .map
                .iter()
                .map(|(k, e)| (k.clone(), Arc::clone(&e.status)))
                .collect(),
        )
    }

    /// How late the checks started so far were, against their schedule.
    pub fn lateness(&self) -> Lateness {
        self.lateness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The targets' statuses as [`Scheduler::shared_statuses`] took them: each one the
/// scheduler's own, read under its lock.
pub struct SharedStatuses<K>(HashMap<K, Arc<Mutex<Status>>>);

impl<K: Eq + Hash> SharedStatuses<K> {
    /// What `f` makes of `key`'s status, read under its lock (keep `f` short: the target's
    /// check waits for it to record a result); `None` for a key not checked.
    pub fn read<R>(&self, key: &K, f: impl FnOnce(&Status) -> R) -> Option<R> {
        self.0.get(key).map(|s| f(&lock(s)))
    }

    /// How many targets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K> Default for SharedStatuses<K> {
    fn default() -> Self {
        SharedStatuses(HashMap::new())
    }
}

/// Statuses of no scheduler (a program's tests).
impl<K: Eq + Hash> FromIterator<(K, Status)> for SharedStatuses<K> {
    fn from_iter<I: IntoIterator<Item = (K, Status)>>(iter: I) -> Self {
        SharedStatuses(
            iter.into_iter()
                .map(|(k, s)| (k, Arc::new(Mutex::new(s))))
                .collect(),
        )
    }
}

impl<K> Drop for Scheduler<K> {
    fn drop(&mut self) {
        // Its targets go with it: their sockets closed, their checks' tasks aborted.
        self.driver.abort();
    }
}

fn lock(s: &Mutex<Status>) -> MutexGuard<'_, Status> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// A check under way.
enum Running {
    None,
    /// A connect in the scheduler's set, under `token`, ended at `deadline`.
    Connect {
        socket: OwnedFd,
        token: u64,
        started: Instant,
        deadline: Instant,
    },
    /// Any other check, a task of its own.
    Task(AbortHandle),
}

/// A target as the driver keeps it.
struct Job<K> {
    key: K,
    target: Arc<Target>,
    check: Arc<Check>,
    status: Arc<Mutex<Status>>,
    /// When its next check is due (or, while one runs, the one after).
    due: Instant,
    /// Checks started, for the tokens of its connects.
    started: u64,
    running: Running,
}

impl<K> Drop for Job<K> {
    fn drop(&mut self) {
        // A removed target's check ends with it (a socket closes by itself).
        if let Running::Task(t) = &self.running {
            t.abort();
        }
    }
}

/// A connect's token: the job and which of its checks (an answer for an
/// earlier socket, or for a job since removed, is not taken for this one).
fn token(id: u64, started: u64) -> u64 {
    (id << 24) | (started & 0xff_ffff)
}

fn job_of(token: u64) -> u64 {
    token >> 24
}

/// One target's check result: its status counted, the event to send if any.
fn record<K: Clone>(key: &K, status: &Mutex<Status>, report: Report) -> Option<Event<K>> {
    let at = SystemTime::now();
    let mut s = lock(status);
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
    s.last = Some(report);
    event
}

/// Where the driver keeps its targets and what is due.
struct Driver<K> {
    jobs: HashMap<u64, Job<K>>,
    /// Checks due, by time (entries of removed jobs, or of a job's earlier
    /// schedule, are skipped when they come up).
    dues: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Connects' deadlines, by time (likewise).
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    connects: Option<Connects>,
    done: mpsc::UnboundedSender<(u64, Report)>,
    events: mpsc::UnboundedSender<Event<K>>,
    /// Lateness counted since it was last added to the shared one.
    lateness: Lateness,
}

impl<K: Clone + Hash + Send + 'static> Driver<K> {
    fn command(&mut self, c: Command<K>) {
        match c {
            Command::Add {
                id,
                key,
                target,
                check,
                status,
            } => {
                let due = Instant::now() + spread(&key, check.interval);
                self.dues.push(Reverse((due, id)));
                self.jobs.insert(
                    id,
                    Job {
                        key,
                        target,
                        check,
                        status,
                        due,
                        started: 0,
                        running: Running::None,
                    },
                );
            }
            Command::Remove(id) => {
                self.jobs.remove(&id);
            }
        }
    }

    /// Starts the checks due by `now`, at most [`STARTS_PER_TURN`]; true when
    /// more are due.
    fn start_due(&mut self, now: Instant) -> Result<bool, Gone> {
        let mut started = 0;
        while let Some(&Reverse((due, id))) = self.dues.peek() {
            if due > now {
                break;
            }
            if started == STARTS_PER_TURN {
                return Ok(true);
            }
            self.dues.pop();
            let Some(job) = self.jobs.get_mut(&id) else {
                continue;
            };
            if job.due != due || !matches!(job.running, Running::None) {
                continue;
            }
            started += 1;
            self.lateness.record(now - due);
            job.due = next_due(due, now, job.check.interval);
            job.started += 1;
            let to = job.check.endpoint(job.target.server);
            match (&job.check.probe, &self.connects) {
                // Every TCP check, with its mark and source if it has them (a DR or TUN
                // server checked on its VIP).
                (Probe::Tcp, Some(connects)) if to.port() != 0 => {
                    let token = token(id, job.started);
                    match connects.start(&job.check, to, token) {
                        Ok(socket) => {
                            let deadline = now + job.check.timeout;
                            self.deadlines.push(Reverse((deadline, id)));
                            job.running = Running::Connect {
                                socket,
                                token,
                                started: now,
                                deadline,
                            };
                        }
                        Err(outcome) => {
                            let report = Report {
                                outcome,
                                took: now.elapsed(),
                            };
                            self.finish(id, report)?;
                        }
                    }
                }
                _ => {
                    let (check, target) = (Arc::clone(&job.check), Arc::clone(&job.target));
                    let done = self.done.clone();
                    let task = tokio::spawn(async move {
                        let report = run(&check, &target).await;
                        let _ = done.send((id, report));
                    });
                    job.running = Running::Task(task.abort_handle());
                }
            }
        }
        Ok(false)
    }

    /// A job's check ended: counted, and its next one scheduled.
    fn finish(&mut self, id: u64, report: Report) -> Result<(), Gone> {
        let Some(job) = self.jobs.get_mut(&id) else {
            return Ok(());
        };
        job.running = Running::None;
        if matches!(report.outcome, Outcome::Unchecked(_)) {
            job.due = job
                .due
                .min(retry_due(Instant::now(), id, job.started, &job.check));
        }
        self.dues.push(Reverse((job.due, id)));
        match record(&job.key, &job.status, report) {
            // Nobody listens: the program is going away.
            Some(event) => self.events.send(event).map_err(|_| Gone),
            None => Ok(()),
        }
    }

    /// The connects whose answer came.
    fn answered(&mut self, tokens: &[u64]) -> Result<(), Gone> {
        for &t in tokens {
            let id = job_of(t);
            let Some(job) = self.jobs.get_mut(&id) else {
                continue;
            };
            let started = match &job.running {
                Running::Connect { token, started, .. } if *token == t => *started,
                _ => continue,
            };
            let Running::Connect { socket, .. } =
                std::mem::replace(&mut job.running, Running::None)
            else {
                continue;
            };
            let outcome = connects::answer(socket);
            let report = Report {
                outcome,
                took: started.elapsed(),
            };
            self.finish(id, report)?;
        }
        Ok(())
    }

    /// Ends the connects past their deadline by `now`.
    fn expire(&mut self, now: Instant) -> Result<(), Gone> {
        while let Some(&Reverse((deadline, id))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let Some(job) = self.jobs.get_mut(&id) else {
                continue;
            };
            let started = match &job.running {
                Running::Connect {
                    deadline: d,
                    started,
                    ..
                } if *d == deadline => *started,
                _ => continue,
            };
            // The socket closes here.
            job.running = Running::None;
            let report = Report {
                outcome: crate::check::timed_out(job.check.timeout),
                took: started.elapsed(),
            };
            self.finish(id, report)?;
        }
        Ok(())
    }

    /// When the driver must wake next for a due check or a deadline.
    fn next_wake(&self, origin: Instant) -> Option<Instant> {
        let due = self.dues.peek().map(|Reverse((t, _))| *t);
        let deadline = self.deadlines.peek().map(|Reverse((t, _))| *t);
        let first = match (due, deadline) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(slot_end(origin, first))
    }
}

/// The program dropped the events' receiver: the driver stops.
struct Gone;

/// The one task that runs every target's checks.
async fn drive<K: Clone + Hash + Send + 'static>(
    mut commands: mpsc::UnboundedReceiver<Command<K>>,
    events: mpsc::UnboundedSender<Event<K>>,
    shared: Arc<Mutex<Lateness>>,
) {
    let (done, mut reports) = mpsc::unbounded_channel();
    let mut d = Driver {
        jobs: HashMap::new(),
        dues: BinaryHeap::new(),
        deadlines: BinaryHeap::new(),
        // Without a set of its own (no descriptor left), TCP checks run as tasks like the others.
        connects: Connects::new().ok(),
        done,
        events,
        lateness: Lateness::default(),
    };
    let origin = Instant::now();
    // Far enough to mean "nothing to do", near enough for tokio's timer.
    let idle = Duration::from_secs(86_400);
    let sleep = tokio::time::sleep_until(origin + idle);
    tokio::pin!(sleep);
    let mut tokens = Vec::new();
    loop {
        let wake = d.next_wake(origin).unwrap_or_else(|| Instant::now() + idle);
        if sleep.deadline() != wake {
            sleep.as_mut().reset(wake);
        }
        let answers = async {
            match &d.connects {
                Some(c) => c.answered().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            c = commands.recv() => {
                let Some(c) = c else { return };
                d.command(c);
                while let Ok(c) = commands.try_recv() {
                    d.command(c);
                }
            }
            Some((id, report)) = reports.recv() => {
                if d.finish(id, report).is_err() {
                    return;
                }
                while let Ok((id, report)) = reports.try_recv() {
                    if d.finish(id, report).is_err() {
                        return;
                    }
                }
            }
            r = answers => {
                if r.is_err() {
                    // The set can no longer be waited on: its connects end at their
                    // deadlines, new TCP checks run as tasks.
                    d.connects = None;
                }
            }
            () = &mut sleep => {}
        }
        // Whatever woke it: the answers there are, then what is due.
        if let Some(c) = &mut d.connects {
            tokens.clear();
            c.take(&mut tokens);
        }
        let now = Instant::now();
        if d.answered(&tokens).is_err() || d.expire(now).is_err() {
            return;
        }
        let Ok(more) = d.start_due(now) else { return };
        if d.lateness.count > 0 {
            let mut shared = shared.lock().unwrap_or_else(|p| p.into_inner());
            shared.add(&d.lateness);
            d.lateness = Lateness::default();
        }
        if more {
            // Behind its schedule (a busy host): the rest after the runtime's other tasks
            // and after these connects' answers, not thousands of sockets opened at once.
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_not_made_is_tried_again_at_a_point_that_moves() {
        let check =
            crate::spec::read_check(&serde_json::json!({"type": "tcp", "interval": 2}), "check")
                .unwrap()
                .unwrap();
        let now = Instant::now();
        let mut offsets = std::collections::BTreeSet::new();
        for started in 0..50 {
            let due = retry_due(now, 7, started, &check);
            let after = due - now;
            assert!(
                after >= Duration::from_secs(1) && after < Duration::from_secs(2),
                "{after:?}"
            );
            offsets.insert(after.as_millis() / 100);
        }
        // 50 tries over ten tenths of the half interval: not stuck on one phase.
        assert!(offsets.len() >= 5, "{offsets:?}");
    }

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
    fn lateness_counts_each_check_in_its_bucket() {
        let mut l = Lateness::default();
        for ms in [0, 1, 3, 5, 40, 400, 30_000] {
            l.record(Duration::from_millis(ms));
        }
        // 0 and 1 ms within 0.001; 3 and 5 within 0.005; 40 within 0.05; 400 within 0.5;
        // 30 s past every bound.
        assert_eq!(l.buckets, [2, 2, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1]);
        assert_eq!(l.count, 7);
        assert!((l.sum - 30.449).abs() < 1e-9, "{}", l.sum);
        assert_eq!(l.max, Duration::from_secs(30));
        let mut total = Lateness::default();
        total.add(&l);
        total.add(&l);
        assert_eq!(total.count, 14);
        assert_eq!(total.buckets[0], 4);
        assert_eq!(total.max, l.max);
    }

    #[test]
    fn the_next_check_is_one_interval_after_the_last_was_due() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let ms = Duration::from_millis;
        // On time, or late by the slot it waited for: the schedule holds (no drift).
        assert_eq!(next_due(t0, t0, s), t0 + s);
        assert_eq!(next_due(t0, t0 + ms(3), s), t0 + s);
        assert_eq!(next_due(t0, t0 + SLOT, s), t0 + s);
        // Later: one interval after this start, the lateness not carried on.
        assert_eq!(next_due(t0, t0 + ms(300), s), t0 + ms(1300));
        assert_eq!(next_due(t0, t0 + ms(1500), s), t0 + ms(2500));
    }

    #[test]
    fn checks_due_in_one_slot_start_at_its_end() {
        let origin = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(slot_end(origin, origin), origin);
        assert_eq!(slot_end(origin, origin + ms(1)), origin + SLOT);
        assert_eq!(slot_end(origin, origin + SLOT), origin + SLOT);
        assert_eq!(
            slot_end(origin, origin + SLOT + Duration::from_nanos(1)),
            origin + SLOT * 2
        );
        // Before the origin (cannot be, but): at once.
        assert_eq!(slot_end(origin + ms(50), origin), origin + ms(50));
        // Never early, never later than one slot.
        for us in (0..20_000).step_by(137) {
            let t = origin + Duration::from_micros(us);
            let end = slot_end(origin, t);
            assert!(end >= t && end - t < SLOT, "{us} us: {:?}", end - t);
        }
    }

    #[test]
    fn a_connects_token_names_its_job_and_check() {
        for id in [0, 1, 77, (1 << 40) - 1] {
            for started in [1, 2, 0xff_ffff, 0x100_0001] {
                assert_eq!(job_of(token(id, started)), id);
            }
            assert_ne!(token(id, 1), token(id, 2));
        }
    }
}
