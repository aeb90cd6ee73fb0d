//! The daemon: the first apply, then transitions turned into weight changes, one batch per
//! moment; reloads, the maintenance directory, drains of `on_down: "remove"`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ipvs::drain::DrainProgress;
use ipvs::{Change, Destination, PlanOptions, ServiceKey, State};
use ipvs_health::{Event, Scheduler, State as Health, Target};
use tokio::signal::unix::{signal, SignalKind};

use super::config::{self, epoch, server_name, Config, OnDown};
use super::serve::{self, Board, Key, RealView, ServiceView, SorryView, View};
use crate::session::{message, Session};

/// What `ipvsctl healthd` was asked (its `main` reads them).
pub struct Options {
    pub file: PathBuf,
    pub json: bool,
    pub maintenance: Option<PathBuf>,
    /// `--listen`: where /metrics and /status are served.
    pub listen: Option<String>,
    /// `--rates`: /metrics has the kernel's rate estimates too (as the exporter's `--rates`).
    pub rates: bool,
}

/// A tokio runtime on this thread alone: the checks are I/O, and the kernel calls short.
pub(super) fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Writes a line to stdout and flushes it (a log read as it comes); a closed stdout is ignored:
/// the daemon's work matters more than its log.
pub(super) fn say(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// How often the maintenance directory, the file and the drains are looked at.
const TICK: Duration = Duration::from_millis(500);

/// The least time between two rebuilds of `--listen`'s view on checks' results.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// One real server's life in healthd.
struct Real {
    /// The file's destination (its weight is the weight when up).
    destination: Destination,
    on_down: OnDown,
    /// The checks' verdict (always up without a check).
    health: Health,
    /// The state healthd last acted on.
    acted: Health,
    /// The weight healthd last set, or found at the start; `None`: not in the kernel (deleted
    /// by healthd after a drain).
    set: Option<u32>,
    draining: bool,
    /// The last result's reason.
    reason: String,
    /// When healthd last acted on a change of its state (or first knew it).
    since: SystemTime,
    /// Checked (the check's type word), or always up.
    check: Option<&'static str>,
}

/// A sorry server and the weight healthd last gave it.
struct Sorry {
    destination: Destination,
    quorum: u32,
    set: Option<u32>,
    /// The weight it last should have had (a change of it is a line of the log).
    wanted: u32,
    since: SystemTime,
}

struct Daemon {
    session: Session,
    json: bool,
    file: std::path::PathBuf,
    file_stamp: Option<(SystemTime, u64)>,
    maintenance_dir: Option<std::path::PathBuf>,
    in_maintenance: HashSet<String>,
    reals: BTreeMap<Key, Real>,
    sorries: BTreeMap<ServiceKey, Sorry>,
    scheduler: Arc<Scheduler<Key>>,
    /// Checks healthd could not make (its own trouble).
    unchecked: u64,
    /// The file's services in order, with their `on_down` and `quorum` (for `/status`).
    layout: Vec<(ServiceKey, OnDown, u32)>,
    /// Where `--listen` reads healthd's view; `dirty`: it changed since last published.
    board: Option<Arc<Board>>,
    dirty: bool,
    reloads: u64,
    reload_failures: u64,
    /// Real servers removed from the file of an `on_down: "remove"` service: at weight 0 until
    /// their connections are gone, then deleted.
    leaving: BTreeMap<Key, Destination>,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(config: Config, opts: &Options) -> io::Result<i32> {
    let session = match Session::open(None) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(2);
        }
    };
    // Bound before anything changes: a wrong address is a bad argument.
    let listening = match &opts.listen {
        None => None,
        Some(addr) => match serve::bind(addr).and_then(|server| {
            // The exporter's reads through a handle of their own, on the server's thread.
            ipvs::Ipvs::new()
                .map(|ipvs| (server, ipvs))
                .map_err(|e| format!("cannot open IPVS: {e}"))
        }) {
            Ok(x) => Some(x),
            Err(e) => {
                eprintln!("healthd: --listen {addr}: {e}");
                return Ok(2);
            }
        },
    };
    let rt = runtime()?;
    rt.block_on(async move {
        let (scheduler, mut events) = Scheduler::new();
        let scheduler = Arc::new(scheduler);
        let board = match listening {
            None => None,
            Some((server, ipvs)) => {
                let board = Arc::new(Board::default());
                if let Err(e) =
                    serve::serve(server, ipvs, opts.rates, Arc::clone(&board), Arc::clone(&scheduler))
                {
                    eprintln!("healthd: --listen: {e}");
                    return Ok(2);
                }
                Some(board)
            }
        };
        let mut d = Daemon {
            session,
            json: opts.json,
            file: opts.file.clone(),
            file_stamp: stamp(&opts.file),
            maintenance_dir: opts.maintenance.clone(),
            in_maintenance: HashSet::new(),
            reals: BTreeMap::new(),
            sorries: BTreeMap::new(),
            scheduler,
            unchecked: 0,
            layout: Vec::new(),
            board,
            dirty: true,
            reloads: 0,
            reload_failures: 0,
            leaving: BTreeMap::new(),
        };
        // The signals before the first apply: one that comes during it waits until the apply
        // is whole (the kernel never sees half a file).
        let mut hup = signal(SignalKind::hangup())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        d.read_maintenance();
        if let Err(e) = d.load(config) {
            eprintln!("healthd: {e}");
            return Ok(255);
        }
        let mut tick = tokio::time::interval(TICK);
        let mut last_publish = tokio::time::Instant::now();
        loop {
            tokio::select! {
                Some(ev) = events.recv() => {
                    // Everything that came at this moment goes in one batch.
                    let mut batch = vec![ev];
                    while let Ok(ev) = events.try_recv() {
                        batch.push(ev);
                    }
                    let touched = d.events(batch);
                    d.settle_only(&touched);
                    // Rebuilding the view costs every real server: at most every
                    // PUBLISH_EVERY (10,000 real servers changing state one by one would
                    // otherwise rebuild it thousands of times a second).
                    if last_publish.elapsed() >= PUBLISH_EVERY {
                        d.publish();
                        last_publish = tokio::time::Instant::now();
                    }
                }
                _ = tokio::time::sleep_until(last_publish + PUBLISH_EVERY), if d.dirty && d.board.is_some() => {
                    d.publish();
                    last_publish = tokio::time::Instant::now();
                }
                _ = hup.recv() => {
                    d.reload("SIGHUP");
                    d.publish();
                }
                _ = tick.tick() => {
                    if stamp(&d.file) != d.file_stamp {
                        d.reload("the file changed");
                    }
                    d.read_maintenance();
                    d.settle();
                    d.drains();
                    d.publish();
                }
                _ = term.recv() => break,
                _ = int.recv() => break,
            }
        }
        eprintln!(
            "healthd: stopped; the table is left as it is ({} checks could not be made)",
            d.unchecked
        );
        Ok(0)
    })
}

/// The file's modification time and length, to see it change.
fn stamp(file: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(file).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl Daemon {
    /// Applies a configuration (the first, or a reload) and makes it the running one. The
    /// weights: a real server healthd already knows keeps the kernel's; one in the kernel
    /// but new to healthd keeps the kernel's until its first verdict; a new one waits at 0
    /// (its file weight when it has no check). On error nothing of it is kept.
    fn load(&mut self, config: Config) -> Result<(), String> {
        let current = self
            .session
            .ipvs()
            .read_state(&ipvs::ReadOptions::for_state(&config.state))
            .map_err(|e| format!("reading the table: {}", message(&e)))?;
        let kernel: HashMap<Key, u32> = current
            .destinations()
            .map(|(k, d)| ((k, d.addr, d.port), d.weight))
            .collect();
        let now = SystemTime::now();
        // Real servers the file no longer names, in services whose real servers are drained
        // when they go (`on_down: "remove"`): kept at weight 0 until their connections end.
        let named: HashSet<Key> = config
            .services
            .iter()
            .flat_map(|s| {
                let sorry = s.sorry.map(|d| (s.key, d.addr, d.port));
                s.reals
                    .iter()
                    .map(move |r| (s.key, r.destination.addr, r.destination.port))
                    .chain(sorry)
            })
            .collect();
        let mut leaving: BTreeMap<Key, Destination> = BTreeMap::new();
        for s in config
            .services
            .iter()
            .filter(|s| s.on_down == OnDown::Remove)
        {
            let before = self
                .reals
                .iter()
                .map(|(k, r)| (k, &r.destination))
                .chain(self.leaving.iter());
            for (k, d) in before.filter(|(k, _)| k.0 == s.key) {
                if !named.contains(k) && kernel.contains_key(k) {
                    leaving.insert(*k, *d);
                }
            }
        }
        let mut reals = BTreeMap::new();
        let mut sorries = BTreeMap::new();
        let mut layout = Vec::new();
        let mut desired = State {
            services: Vec::new(),
            timeouts: config.state.timeouts,
            ..Default::default()
        };
        for (ss, s) in config.state.services.iter().zip(&config.services) {
            let mut service = ss.clone();
            service.destinations.clear();
            for r in &s.reals {
                let d = r.destination;
                let key = (s.key, d.addr, d.port);
                let in_kernel = kernel.get(&key).copied();
                let (health, acted, want, draining) = match self.reals.get(&key) {
                    // Known and still checked: its state stays, and the weight it has, but a
                    // new file weight of a server up at healthd's weight.
                    Some(o) if r.check.is_some() => {
                        let want = match (o.set, in_kernel) {
                            (None, None) => None,
                            (Some(s), Some(k)) if k == s && o.acted == Health::Up => Some(d.weight),
                            (set, k) => k.or(set),
                        };
                        (o.health, o.acted, want, o.draining)
                    }
                    // No check: always up, at its file weight.
                    _ if r.check.is_none() => (Health::Up, Health::Up, Some(d.weight), false),
                    // New: the kernel's weight until its first verdict, else 0.
                    _ => (
                        Health::Unknown,
                        Health::Unknown,
                        Some(in_kernel.unwrap_or(0)),
                        false,
                    ),
                };
                if let Some(w) = want {
                    let mut x = d;
                    x.weight = w;
                    service.destinations.push(x);
                }
                reals.insert(
                    key,
                    (
                        Real {
                            destination: d,
                            on_down: s.on_down,
                            health,
                            acted,
                            set: want,
                            draining,
                            reason: self
                                .reals
                                .get(&key)
                                .map_or_else(String::new, |o| o.reason.clone()),
                            since: self.reals.get(&key).map_or(now, |o| o.since),
                            check: r.check.as_ref().map(|c| c.type_word()),
                        },
                        r.check.clone(),
                    ),
                );
            }
            for (_, d) in leaving.iter().filter(|(k, _)| k.0 == s.key) {
                let mut x = *d;
                x.weight = 0;
                service.destinations.push(x);
            }
            if let Some(sd) = s.sorry {
                let key = (s.key, sd.addr, sd.port);
                let mut want = sd;
                want.weight = kernel.get(&key).copied().unwrap_or(0);
                service.destinations.push(want);
                let wanted = self.sorries.get(&s.key).map_or(want.weight, |o| o.wanted);
                let since = self.sorries.get(&s.key).map_or(now, |o| o.since);
                sorries.insert(
                    s.key,
                    Sorry {
                        destination: sd,
                        quorum: s.quorum,
                        set: Some(want.weight),
                        wanted,
                        since,
                    },
                );
            }
            desired.services.push(service);
            layout.push((s.key, s.on_down, s.quorum));
        }
        let plan = ipvs::plan(&current, &desired, &PlanOptions::default())
            .map_err(|e| format!("the file: {e}"))?;
        if !plan.is_empty() {
            self.session
                .ipvs()
                .apply_plan(&plan, None)
                .map_err(|e| format!("applying the file: {e}"))?;
        }
        let targets: Vec<_> = reals
            .iter()
            .filter_map(|(k, (_, c))| {
                c.clone().map(|c| {
                    let t = Target {
                        service: k.0.to_string(),
                        server: SocketAddr::new(k.1, k.2),
                    };
                    (*k, t, c)
                })
            })
            .collect();
        let checked = targets.len();
        self.scheduler.replace_all(targets);
        self.reals = reals.into_iter().map(|(k, (r, _))| (k, r)).collect();
        self.sorries = sorries;
        self.layout = layout;
        self.dirty = true;
        let at = epoch(SystemTime::now());
        for key in leaving.keys().filter(|k| !self.leaving.contains_key(k)) {
            self.said_leaving(
                at,
                key,
                "removed from the file: weight 0 until its connections end",
            );
        }
        self.leaving = leaving;
        eprintln!(
            "healthd: {} changes applied; {} real servers, {checked} checked",
            plan.len(),
            self.reals.len()
        );
        self.settle();
        Ok(())
    }

    /// SIGHUP or a changed file: read it again; a bad file leaves everything as it runs.
    fn reload(&mut self, why: &str) {
        self.file_stamp = stamp(&self.file);
        let file = self.file.display().to_string();
        let config = std::fs::read_to_string(&self.file)
            .map_err(|e| e.to_string())
            .and_then(|t| config::read(&t));
        match config.and_then(|c| self.load(c)) {
            Ok(()) => {
                self.reloads += 1;
                eprintln!("healthd: {file} re-read ({why})");
            }
            Err(e) => {
                self.reload_failures += 1;
                eprintln!("healthd: {file} ({why}): {e}; the running configuration stays");
            }
        }
        self.dirty = true;
    }

    /// The checks' results of one moment.
    /// Takes a batch of the checks' events; gives the real servers whose state changed.
    fn events(&mut self, batch: Vec<Event<Key>>) -> Vec<Key> {
        let mut touched = Vec::new();
        for ev in batch {
            match ev {
                Event::Transition(t) => {
                    self.dirty = true;
                    touched.push(t.key);
                    if let Some(r) = self.reals.get_mut(&t.key) {
                        r.health = t.to;
                        r.reason = t.reason;
                    }
                }
                // healthd's own trouble: said and counted, never a server going down.
                Event::Unchecked { key, reason, .. } => {
                    self.unchecked += 1;
                    self.dirty = true;
                    eprintln!(
                        "healthd: {} {}: could not check: {reason} (counted, the state stays)",
                        key.0,
                        server_name(key.1, key.2)
                    );
                }
            }
        }
        touched
    }

    fn read_maintenance(&mut self) {
        let Some(dir) = &self.maintenance_dir else {
            return;
        };
        // An unreadable directory forces nothing down (healthd's trouble, not the servers').
        let now: HashSet<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        if now != self.in_maintenance {
            self.in_maintenance = now;
            self.dirty = true;
        }
    }

    /// What a real server should be now: down in maintenance, else its verdict.
    /// (Runs for every real server at every tick: no allocation unless a maintenance file
    /// exists.)
    fn wanted<'a>(&self, key: &Key, r: &'a Real) -> (Health, &'a str) {
        if !self.in_maintenance.is_empty()
            && self.in_maintenance.contains(&server_name(key.1, key.2))
        {
            (Health::Down, "maintenance")
        } else {
            (r.health, &r.reason)
        }
    }

    /// Acts on every real server whose state changed since healthd last acted, and on the
    /// sorry servers, in one batch; one line per transition.
    fn settle(&mut self) {
        self.settle_among(None);
    }

    /// As [`settle`](Self::settle), looking only at these real servers and their services'
    /// sorry servers (what a batch of the checks' results can change; the whole table is
    /// looked at every tick).
    fn settle_only(&mut self, touched: &[Key]) {
        if !touched.is_empty() {
            self.settle_among(Some(touched));
        }
    }

    fn settle_among(&mut self, only: Option<&[Key]>) {
        let moved = |(k, r): (&Key, &Real)| {
            let (want, reason) = self.wanted(k, r);
            (want != r.acted && want != Health::Unknown).then(|| (*k, want, reason.to_string()))
        };
        let mut moves: Vec<(Key, Health, String)> = match only {
            None => self.reals.iter().filter_map(moved).collect(),
            Some(keys) => keys
                .iter()
                .filter_map(|k| self.reals.get_key_value(k))
                .filter_map(moved)
                .collect(),
        };
        // A key twice in a batch moves once.
        moves.sort_by_key(|m| m.0);
        moves.dedup_by_key(|m| m.0);
        let sorry_moves: Vec<(ServiceKey, u32, String)> = self
            .sorries
            .iter()
            .filter(|(sk, _)| only.is_none_or(|keys| keys.iter().any(|k| k.0 == **sk)))
            .filter_map(|(sk, s)| {
                let up = self
                    .reals
                    .iter()
                    .filter(|(k, _)| k.0 == *sk)
                    .filter(|(k, r)| {
                        let (want, _) = self.wanted(k, r);
                        want == Health::Up || (want == Health::Unknown && r.set.unwrap_or(0) > 0)
                    })
                    .count() as u32;
                let weight = if up < s.quorum {
                    s.destination.weight
                } else {
                    0
                };
                (s.wanted != weight).then(|| {
                    (
                        *sk,
                        weight,
                        format!("{up} of the quorum of {} real servers up", s.quorum),
                    )
                })
            })
            .collect();
        if moves.is_empty() && sorry_moves.is_empty() {
            return;
        }
        // The kernel's weights now, for "only from the value healthd last set".
        let mut services: Vec<ServiceKey> = moves.iter().map(|m| m.0 .0).collect();
        services.extend(sorry_moves.iter().map(|m| m.0));
        services.sort();
        services.dedup();
        let mut kernel: HashMap<Key, u32> = HashMap::new();
        for sk in &services {
            match self.session.ipvs().destinations(sk) {
                Ok(ds) => kernel.extend(ds.iter().map(|d| {
                    (
                        (*sk, d.destination.addr, d.destination.port),
                        d.destination.weight,
                    )
                })),
                Err(e) => {
                    // Tried again at the next tick: nothing is marked done.
                    eprintln!("healthd: reading {sk}: {}", message(&e));
                    return;
                }
            }
        }
        let mut changes = Vec::new();
        let mut lines = Vec::new();
        let at = SystemTime::now();
        self.dirty = true;
        for (key, to, reason) in moves {
            let Some(r) = self.reals.get_mut(&key) else {
                continue;
            };
            let from = std::mem::replace(&mut r.acted, to);
            r.since = at;
            let now = kernel.get(&key).copied();
            let target = if to == Health::Up {
                r.destination.weight
            } else {
                0
            };
            let weight = match (to, now, r.set) {
                // Deleted by healthd, back up: added again.
                (Health::Up, None, None) => {
                    let mut d = r.destination;
                    d.weight = target;
                    changes.push(Change::AddDestination {
                        service: key.0,
                        destination: d,
                    });
                    r.set = Some(target);
                    r.draining = false;
                    Ok(target)
                }
                (_, Some(k), Some(s)) if k == s => {
                    if k != target {
                        let mut d = r.destination;
                        d.weight = target;
                        changes.push(Change::EditDestination {
                            service: key.0,
                            destination: d,
                        });
                    }
                    r.set = Some(target);
                    r.draining = to == Health::Down && r.on_down == OnDown::Remove;
                    Ok(target)
                }
                // Someone else set it (or deleted it): theirs to hand back.
                (_, now, _) => {
                    r.draining = false;
                    Err(now)
                }
            };
            lines.push((key, from, to, reason, weight));
        }
        for (sk, weight, reason) in sorry_moves {
            let Some(s) = self.sorries.get_mut(&sk) else {
                continue;
            };
            let d = s.destination;
            let key = (sk, d.addr, d.port);
            let now = kernel.get(&key).copied();
            let from = if s.wanted > 0 {
                Health::Up
            } else {
                Health::Down
            };
            s.wanted = weight;
            s.since = at;
            let to = if weight > 0 { Health::Up } else { Health::Down };
            let result = if now.is_some() && now == s.set {
                let mut d = d;
                d.weight = weight;
                changes.push(Change::EditDestination {
                    service: sk,
                    destination: d,
                });
                s.set = Some(weight);
                Ok(weight)
            } else {
                // Not healthd's to change.
                Err(now)
            };
            lines.push((key, from, to, format!("sorry server: {reason}"), result));
        }
        if !changes.is_empty() {
            match self.session.ipvs().apply(&changes) {
                Ok(results) => {
                    for (c, r) in changes.iter().zip(results) {
                        if let Err(e) = r {
                            eprintln!("healthd: the kernel refused {c:?}: {}", message(&e));
                        }
                    }
                }
                Err(e) => eprintln!("healthd: sending the changes: {}", message(&e)),
            }
        }
        for (key, from, to, reason, weight) in lines {
            self.print(at, key, from, to, &reason, weight);
        }
    }

    fn print(
        &self,
        at: SystemTime,
        key: Key,
        from: Health,
        to: Health,
        reason: &str,
        weight: Result<u32, Option<u32>>,
    ) {
        let server = server_name(key.1, key.2);
        if self.json {
            let (set, left) = match weight {
                Ok(w) => (Some(w), None),
                Err(w) => (None, w),
            };
            let line = serde_json::json!({
                "time": epoch(at),
                "service": key.0.to_string(),
                "destination": server,
                "from": from.as_str(),
                "state": to.as_str(),
                "reason": reason,
                "weight": set,
                "left_at": left,
            });
            say(&line.to_string());
        } else {
            let weight = match weight {
                Ok(w) => format!("weight {w}"),
                Err(Some(w)) => format!("weight left at {w} (someone else set it)"),
                Err(None) => "not in the table (left as it is)".into(),
            };
            say(&format!(
                "{:.3} {} {server}: {from} -> {to}: {reason}; {weight}",
                epoch(at),
                key.0
            ));
        }
    }

    /// `on_down: "remove"`: the drained real servers whose connections are gone are deleted.
    fn drains(&mut self) {
        let keys: Vec<Key> = self.leaving.keys().copied().collect();
        for key in keys {
            if self.drain_step(&key) {
                self.leaving.remove(&key);
                self.dirty = true;
                let at = epoch(SystemTime::now());
                self.said_leaving(at, &key, "removed from the file: drained and deleted");
            }
        }
        let keys: Vec<Key> = self
            .reals
            .iter()
            .filter(|(_, r)| r.draining)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            // Only while it is still at healthd's weight 0: drain_step would set 0 itself.
            let weight = self
                .session
                .ipvs()
                .destinations(&key.0)
                .ok()
                .and_then(|ds| {
                    ds.iter()
                        .find(|d| (d.destination.addr, d.destination.port) == (key.1, key.2))
                        .map(|d| d.destination.weight)
                });
            let Some(set) = self.reals.get(&key).map(|r| r.set) else {
                continue;
            };
            let still_ours = weight == Some(0) && set == Some(0);
            let deleted = still_ours && self.drain_step(&key);
            let Some(r) = self.reals.get_mut(&key) else {
                continue;
            };
            if !still_ours {
                r.draining = false;
            } else if deleted {
                r.draining = false;
                r.set = None;
                self.dirty = true;
                let server = server_name(key.1, key.2);
                let at = epoch(SystemTime::now());
                if self.json {
                    let line = serde_json::json!({
                        "time": at,
                        "service": key.0.to_string(),
                        "destination": server,
                        "deleted": true,
                        "reason": "drained",
                    });
                    say(&line.to_string());
                } else {
                    say(&format!("{at:.3} {} {server}: drained and deleted", key.0));
                }
            }
        }
    }

    /// One drain step of a real server at weight 0: true once it is deleted (or gone); false
    /// while it still has connections, or when the step failed (said on stderr, tried again at
    /// the next step).
    fn drain_step(&self, key: &Key) -> bool {
        match self.session.ipvs().drain_step(
            &key.0,
            key.1,
            key.2,
            ipvs::drain::DrainStep::default(),
        ) {
            Ok(Some(DrainProgress::Waiting { .. })) => false,
            Ok(_) => true,
            Err(e) => {
                eprintln!(
                    "healthd: draining {} {}: {}",
                    key.0,
                    server_name(key.1, key.2),
                    message(&e)
                );
                false
            }
        }
    }

    /// A line about a real server removed from the file.
    fn said_leaving(&self, at: f64, key: &Key, what: &str) {
        let server = server_name(key.1, key.2);
        if self.json {
            let line = serde_json::json!({
                "time": at,
                "service": key.0.to_string(),
                "destination": server,
                "removed": true,
                "deleted": what.ends_with("deleted"),
                "reason": what,
            });
            say(&line.to_string());
        } else {
            say(&format!("{at:.3} {} {server}: {what}", key.0));
        }
    }

    /// Gives `--listen` the view of now, when it changed.
    fn publish(&mut self) {
        let Some(board) = &self.board else {
            return;
        };
        if !std::mem::take(&mut self.dirty) {
            return;
        }
        let services = self
            .layout
            .iter()
            .map(|&(key, on_down, quorum)| ServiceView {
                key,
                on_down,
                quorum,
                reals: self
                    .reals
                    .range((key, IpAddr::from([0u8; 4]), 0)..)
                    .take_while(|(k, _)| k.0 == key)
                    .map(|(k, r)| {
                        let maintenance = self.in_maintenance.contains(&server_name(k.1, k.2));
                        RealView {
                            addr: k.1,
                            port: k.2,
                            check: r.check,
                            state: r.acted,
                            since: r.since,
                            reason: if maintenance && r.acted == Health::Down {
                                "maintenance".into()
                            } else {
                                r.reason.clone()
                            },
                            weight: r.set,
                            file_weight: r.destination.weight,
                            maintenance,
                            draining: r.draining,
                        }
                    })
                    .collect(),
                sorry: self.sorries.get(&key).map(|s| SorryView {
                    addr: s.destination.addr,
                    port: s.destination.port,
                    wanted: s.wanted,
                    weight: s.set,
                    since: s.since,
                }),
            })
            .collect();
        board.publish(View {
            services,
            unchecked: self.unchecked,
            reloads: self.reloads,
            reload_failures: self.reload_failures,
        });
    }
}
