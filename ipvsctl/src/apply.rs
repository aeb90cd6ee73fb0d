//! `ipvsctl apply`: make the kernel's table a desired state, all or nothing.
//!
//! The input (a file, or standard input) is the JSON save document of
//! `docs/json.md` or ipvsadm `-S` text (`-A` and `-a` lines); its first
//! non-blank character tells which (`{` is JSON). The library plans the
//! changes against the table it reads once ([`ipvs::plan`]) and applies them,
//! undoing what it did if the kernel refuses one ([`ipvs::Ipvs::apply_plan`]).
//!
//! Exit codes: 0 done (or nothing to do; with `--check`: the table matches),
//! 1 with `--check` when the table differs (the changes are printed), 2 for
//! bad input or options (nothing is sent), 255 when the kernel refused a
//! change or the socket failed (what was done before it is undone), 130 or 143
//! when SIGINT or SIGTERM came while the changes were sent, in the last batch
//! too, or during `--drain`'s wait (the batch in flight is finished, then what
//! was done is undone; see [`crate::interrupt`]), [`UNDO_FAILED`] when the
//! undo failed too.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use clap::{Arg, ArgAction, Command};

use std::collections::HashMap;
use std::net::IpAddr;

use ipvs::apply::KeyHash;
use ipvs::drain::DrainProgress;
use ipvs::{Change, PlanOptions, ServiceKey, ServiceState, State};

use crate::args;
use crate::cli::{self, Unsaid};
use crate::restore;
use crate::session::{message, subcommand_matches, Session, Term};
use crate::{interrupt, output};

/// The clap description of `apply`: it parses the arguments and renders
/// the help, the man page's and the completions' part for it.
pub fn command() -> Command {
    Command::new("apply")
        .about("Make the table a desired state (JSON or ipvsadm -S text), all or nothing")
        .long_about(format!(
            "Reads a desired state, compares it with the kernel's table and makes the \
             changes: edits in place wherever the kernel allows (scheduler, flags, persistence, \
             weights, forwarding, tunnel options, thresholds), deletes before adds. If the \
             kernel refuses a change, the changes already made are undone; when that is because \
             another writer added or deleted a service or real server since the table was \
             read, the message says so and names it. The input is the \
             JSON save document (what -S --json writes) or ipvsadm -S text (-A and -a lines); \
             the first non-blank character tells which; a text line without -x or -y (which -S \
             never writes) keeps the real server's thresholds. Services the input does not name \
             stay unless --prune. The JSON document may also set kernel settings (docs/json.md): \
             \"timeouts\", \"sysctls\" (net.ipv4.vs.* by name without the prefix; a name this \
             kernel lacks or a value it would not take is bad input) and \"sync_daemons\"; \
             they are made after the table's changes and undone with them; a setting the \
             document does not name is left alone, --prune or not. Exit status: 0 done or nothing to do, 1 (--check) the table \
             differs, 2 bad input (nothing changed), 255 the kernel refused a change or the \
             socket failed (what was done is undone: the table is as it was), 130 or 143 on \
             SIGINT or SIGTERM from the first change sent to the last, --drain's wait included \
             (what was done is undone, even when the signal came during the last batch), \
             {UNDO_FAILED} when undoing failed too: the table is NOT as it was (the message \
             says how many undo changes failed).",
        ))
        .disable_version_flag(true)
        .arg(args::file().help("Read the desired state from FILE (- or none: standard input)"))
        .arg(
            Arg::new("prune")
                .long("prune")
                .action(ArgAction::SetTrue)
                .help("Also delete the services the input does not name"),
        )
        .arg(
            Arg::new("dry-run")
                .long("dry-run")
                .action(ArgAction::SetTrue)
                .help("Print the changes as ipvsadm command lines and make none"),
        )
        .arg(
            Arg::new("check")
                .long("check")
                .action(ArgAction::SetTrue)
                .conflicts_with("dry-run")
                .help("Exit 0 when the table matches, 1 (printing the changes) when not"),
        )
        .arg(
            Arg::new("drain")
                .long("drain")
                .value_name("SECONDS")
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("")
                .help(
                    "Drain the real servers to delete first: weight 0, then wait until their \
                     connections are gone (at most SECONDS)",
                ),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help("Print the changes as JSON ({\"changes\": [...]})"),
        )
        .arg(args::netns())
}

/// Runs `ipvsctl apply ARGS` and returns the exit code.
pub fn main(args: &[String], term: &mut Term) -> io::Result<i32> {
    let matches = match subcommand_matches(command().bin_name("ipvsctl apply"), args, term)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let file = matches.get_one::<String>("file").map(String::as_str);
    let options = PlanOptions::default().with_prune(matches.get_flag("prune"));
    let dry_run = matches.get_flag("dry-run");
    let check = matches.get_flag("check");
    let json = matches.get_flag("json");
    let netns = matches.get_one::<String>("netns").map(String::as_str);
    let drain = match matches.get_one::<String>("drain").map(String::as_str) {
        None => None,
        Some("") => Some(None),
        Some(v) => match v.parse::<u64>() {
            Ok(secs) => Some(Some(Duration::from_secs(secs))),
            Err(_) => {
                term.error(&format!("apply: --drain={v}: not a number of seconds"))?;
                return Ok(2);
            }
        },
    };

    let text = match read_input(file) {
        Ok(t) => t,
        Err(e) => {
            term.error(&format!("apply: {}: {e}", file.unwrap_or("-")))?;
            return Ok(2);
        }
    };
    let mut desired = match parse_desired(&text) {
        Ok(s) => s,
        Err(e) => {
            term.error(&format!("apply: {e}"))?;
            return Ok(2);
        }
    };
    let session = match Session::open(netns) {
        Ok(s) => s,
        Err(e) => {
            term.error(&e)?;
            return Ok(2);
        }
    };
    let ipvs = session.ipvs();
    let current = match ipvs.read_state(&desired.read_options()) {
        Ok(s) => s,
        Err(e) => {
            term.error(&format!("apply: reading the table: {}", message(&e)))?;
            return Ok(255);
        }
    };
    let plan = match desired.plan(&current, &options) {
        Ok(p) => p,
        Err(e) => {
            term.error(&format!("apply: {e}"))?;
            return Ok(2);
        }
    };
    if dry_run || check {
        write_listing(&plan, json, term)?;
        return Ok(if check && !plan.is_empty() { 1 } else { 0 });
    }
    if plan.is_empty() {
        if json {
            write_listing(&plan, json, term)?;
        } else {
            term.print("apply: no change: the table already matches\n")?;
        }
        return Ok(0);
    }
    // SIGINT and SIGTERM from here on: the batch in flight ends, what was made is undone.
    interrupt::watch()?;
    let applied = match drain {
        None => ipvs.apply_plan(&plan, Some(&|| interrupt::received().is_some())),
        Some(timeout) => match apply_draining(ipvs, &current, &plan, timeout, term)? {
            Ok(()) => Ok(()),
            Err(code) => return Ok(code),
        },
    };
    match applied {
        Ok(()) => {
            write_listing(&plan, json, term)?;
            if !json {
                term.print(&format!("apply: {} changes made\n", plan.len()))?;
            }
            Ok(0)
        }
        Err(e) => failed(e, &Undone::default(), term),
    }
}

/// Writes the plan's changes as `apply` prints them: JSON (made whole, then written), or one
/// ipvsadm command line each, the settings after the table, written out a few kilobytes at a
/// time as they are made (a big plan has a line per object: its text is not kept whole).
pub fn write_listing(plan: &ipvs::Plan, json: bool, out: &mut impl io::Write) -> io::Result<()> {
    if json {
        return out.write_all(output::plan_json(plan).as_bytes());
    }
    plan.write_text(out)
}

/// The exit status when undoing a failed or interrupted apply failed too: the table is NOT
/// as it was. Apart from ipvsadm's 0, 1, 2 and 255 and from 128 + a signal.
pub const UNDO_FAILED: i32 = 3;

/// What was undone besides what the library's apply undid itself (`--drain`'s weights and the
/// changes made before the deletes).
#[derive(Default)]
struct Undone {
    /// Changes undone (weights given back included).
    done: usize,
    /// Of them, those the kernel refused.
    failed: usize,
}

impl Undone {
    /// Sends `undo` and counts it.
    fn send(&mut self, ipvs: &ipvs::Ipvs, undo: &[Change]) {
        if undo.is_empty() {
            return;
        }
        self.done += undo.len();
        self.failed += match ipvs.apply(undo) {
            Ok(rs) => rs.iter().filter(|r| r.is_err()).count(),
            Err(_) => undo.len(),
        };
    }
}

/// Says why the apply failed and how the undo went (with `more`, undone besides); returns the
/// exit status: 255 refused, 128 + the signal interrupted, [`UNDO_FAILED`] when an undo failed.
fn failed(e: ipvs::apply::ApplyError, more: &Undone, term: &mut Term) -> io::Result<i32> {
    match e {
        ipvs::apply::ApplyError::Refused(r) => {
            term.error(&refusal_message(&r, more))?;
            Ok(if r.undo_failed.is_empty() && more.failed == 0 {
                255
            } else {
                UNDO_FAILED
            })
        }
        ipvs::apply::ApplyError::Interrupted {
            undone,
            undo_failed,
        } => {
            let signal = interrupt::received().unwrap_or(libc::SIGINT);
            let undone = undone + more.done;
            let failures = undo_failed.len() + more.failed;
            let how = if failures == 0 {
                format!("the {undone} changes made were undone; the table is as it was")
            } else {
                format!(
                    "undoing the {undone} changes made failed {failures} times: the table is NOT as it was"
                )
            };
            term.error(&format!(
                "apply: interrupted by {}: {how}",
                interrupt::name(signal)
            ))?;
            Ok(if failures == 0 {
                interrupt::exit_code(signal)
            } else {
                UNDO_FAILED
            })
        }
        ipvs::apply::ApplyError::Settings {
            refusal,
            undone,
            undo_failed,
        } => {
            let failures = refusal.undo_failed.len() + undo_failed.len() + more.failed;
            let how = if failures == 0 {
                format!(
                    "the {} settings changed before it were set back and the {} changes made \
                     before them undone; the table and settings are as they were",
                    refusal.undone,
                    undone + more.done
                )
            } else {
                format!(
                    "setting back the {} settings and undoing the {} changes made before it \
                     failed {failures} times: the table or settings are NOT as they were",
                    refusal.undone,
                    undone + more.done
                )
            };
            term.error(&format!(
                "apply: `{}' failed: {}\napply: {how}",
                refusal.change,
                message(&refusal.error)
            ))?;
            Ok(if failures == 0 { 255 } else { UNDO_FAILED })
        }
        e => {
            term.error(&format!("apply: {e}"))?;
            Ok(255)
        }
    }
}

/// `apply --drain`: everything but the deletes first, then the real servers to delete go to
/// weight 0 and the deletes wait until their connections are gone. A refusal, a failed drain
/// or a signal in any phase undoes it all: the library undoes the phase it was in, then the
/// drained servers get their weights back and the changes made before the deletes are undone.
/// `Err` carries the exit status, the failure said.
fn apply_draining(
    ipvs: &ipvs::Ipvs,
    current: &State,
    plan: &ipvs::Plan,
    timeout: Option<Duration>,
    term: &mut Term,
) -> io::Result<Result<(), i32>> {
    let stop = || interrupt::received().is_some();
    let (mut now, mut later) = (ipvs::Plan::default(), ipvs::Plan::default());
    for (c, u) in plan.changes.iter().zip(&plan.undo) {
        let part = match c {
            Change::DeleteDestination { .. } | Change::DeleteService(_) => &mut later,
            _ => &mut now,
        };
        part.push(c.clone(), u.clone());
    }
    // The settings go with the first part; a later failure sets them back.
    now.settings = plan.settings.clone();
    if let Err(e) = ipvs.apply_plan(&now, Some(&stop)) {
        return failed(e, &Undone::default(), term).map(Err);
    }
    let undo_now: Vec<Change> = now.undo.iter().rev().cloned().collect();
    let mut warned = std::collections::HashSet::new();
    for (service, _, _) in doomed(&later) {
        if warned.insert(service) {
            if let Some(w) = crate::drain::template_warning(ipvs, &service) {
                term.error(&w)?;
            }
        }
    }
    let record = WeightRecord::of(ipvs);
    let restore = weights_of_doomed(current, &later, &record.read(term)?);
    record.write(&restore, term)?;
    let failure = match drain_first(ipvs, &later, timeout, term)? {
        Drained::Done => match ipvs.apply_plan(&later, Some(&stop)) {
            Ok(()) => {
                record.remove(term)?;
                return Ok(Ok(()));
            }
            Err(e) => Err(e),
        },
        Drained::Failed(e) => Ok(e),
        Drained::Interrupted => Err(ipvs::apply::ApplyError::Interrupted {
            undone: 0,
            undo_failed: Vec::new(),
        }),
    };
    // The drained servers get their weights back, then what came before the deletes is undone.
    let mut more = Undone::default();
    more.send(ipvs, &restore);
    if more.failed == 0 {
        record.remove(term)?;
    }
    let settings_failed = now.settings.roll_back(ipvs).len();
    more.done += now.settings.len();
    more.failed += settings_failed;
    more.send(ipvs, &undo_now);
    match failure {
        Err(e) => failed(e, &more, term).map(Err),
        Ok(e) => {
            let how = if more.failed == 0 {
                format!(
                    "the drained real servers got their weights back and the {} changes made \
                     were undone; the table is as it was",
                    now.len()
                )
            } else {
                format!(
                    "giving back the weights and undoing the {} changes made failed {} times: \
                     the table is NOT as it was",
                    now.len(),
                    more.failed
                )
            };
            term.error(&format!("apply: draining: {}\napply: {how}", message(&e)))?;
            Ok(Err(if more.failed == 0 { 255 } else { UNDO_FAILED }))
        }
    }
}

/// What a refused apply says on stderr: the refused change as an ipvsadm line with ipvsadm's
/// reason (or the socket's failure), what another writer changed when that is why, and how
/// the undo went (with `more`, undone besides).
fn refusal_message(r: &ipvs::apply::Refusal, more: &Undone) -> String {
    let mut msg = if r.is_socket_failure() {
        format!(
            "apply: sending the changes failed: {}; {} changes got no answer, so the table \
             was read back by key to find which the kernel made",
            message(&r.error),
            r.unanswered
        )
    } else {
        format!(
            "apply: the kernel refused `{}': {}",
            r.change,
            message(&r.error)
        )
    };
    if let Some(c) = &r.conflict {
        msg.push_str(&format!(
            "\napply: the table changed underneath since it was read: {c}"
        ));
    }
    let after = if r.conflict.is_some() {
        "the table is as the other writer left it"
    } else {
        "the table is as it was"
    };
    let undone = r.undone + more.done;
    let failures = r.undo_failed.len() + more.failed;
    if failures != 0 {
        msg.push_str(&format!(
            "\napply: undoing the {undone} changes made before it failed {failures} times: \
             the table is NOT as it was"
        ));
    } else if r.superseded != 0 {
        msg.push_str(&format!(
            "\napply: the {undone} changes made before it were undone but for {} whose object \
             another writer changed since; {after}",
            r.superseded
        ));
    } else {
        msg.push_str(&format!(
            "\napply: the {undone} changes made before it were undone; {after}"
        ));
    }
    msg
}

/// Where `apply --drain` keeps the weights of the real servers it drains (a save document of
/// those servers), one file per network namespace, from before the first weight goes to 0
/// until the deletes are done or the weights are given back. A run killed in between (SIGKILL,
/// a crash) leaves the servers at weight 0; the next `apply --drain` of the namespace finds the
/// weights here, so that if it fails too it gives back these, not the 0 it read.
const WEIGHT_RECORDS: &str = "/run/ipvsctl";

/// The weight record of one namespace (see [`WEIGHT_RECORDS`]); `None` when the namespace
/// cannot be named (its file cannot be looked at).
struct WeightRecord(Option<std::path::PathBuf>);

impl WeightRecord {
    fn of(ipvs: &ipvs::Ipvs) -> Self {
        use std::os::unix::fs::MetadataExt;
        let ns = ipvs
            .netns()
            .unwrap_or(std::path::Path::new("/proc/self/ns/net"));
        WeightRecord(std::fs::metadata(ns).ok().map(|m| {
            std::path::Path::new(WEIGHT_RECORDS).join(format!(
                "drain-weights-{}-{}.json",
                m.dev(),
                m.ino()
            ))
        }))
    }

    /// The recorded servers with their weights (none when there is no record).
    fn read(&self, term: &mut Term) -> io::Result<State> {
        let Some(path) = &self.0 else {
            return Ok(State::default());
        };
        match std::fs::read_to_string(path) {
            Ok(text) => match output::parse_save_json(&text) {
                Ok(state) => Ok(state),
                Err(e) => {
                    term.error(&format!(
                        "apply: {}: {e}: the weights recorded there are not used",
                        path.display()
                    ))?;
                    Ok(State::default())
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => {
                term.error(&format!("apply: {}: {e}", path.display()))?;
                Ok(State::default())
            }
        }
    }

    /// Records the weights `restore` gives back. A failure is said, not fatal: the run
    /// itself still gives them back.
    fn write(&self, restore: &[Change], term: &mut Term) -> io::Result<()> {
        let Some(path) = &self.0 else { return Ok(()) };
        if restore.is_empty() {
            return Ok(());
        }
        let mut state = State::default();
        for c in restore {
            if let Change::EditDestination {
                service,
                destination,
            } = c
            {
                match state
                    .services
                    .iter_mut()
                    .find(|s| s.service.key == *service)
                {
                    Some(s) => s.destinations.push(*destination),
                    None => state.services.push(
                        ServiceState::new(ipvs::Service::new(*service))
                            .with_destination(*destination),
                    ),
                }
            }
        }
        let json = serde_json::to_string(&state).map_err(io::Error::other);
        let written = std::fs::create_dir_all(WEIGHT_RECORDS)
            .and(json)
            .and_then(|j| std::fs::write(path, j));
        if let Err(e) = written {
            term.error(&format!(
                "apply: cannot record the weights to give back in {}: {e}",
                path.display()
            ))?;
        }
        Ok(())
    }

    /// The weights are given back, or their servers deleted: the record goes.
    fn remove(&self, term: &mut Term) -> io::Result<()> {
        let Some(path) = &self.0 else { return Ok(()) };
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                term.error(&format!("apply: {}: {e}", path.display()))
            }
            _ => Ok(()),
        }
    }
}

/// The changes that give the real servers `plan` deletes their weights back: as `current` has
/// them, but a server at weight 0 that `recorded` has (a drain that was killed) gets the
/// recorded weight.
fn weights_of_doomed(current: &State, plan: &ipvs::Plan, recorded: &State) -> Vec<Change> {
    let recorded: HashMap<(ServiceKey, IpAddr, u16), u32> = recorded
        .destinations()
        .map(|(k, d)| ((k, d.addr, d.port), d.weight))
        .collect();
    let doomed: std::collections::HashSet<(ServiceKey, IpAddr, u16)> =
        doomed(plan).into_iter().collect();
    current
        .destinations()
        .filter(|(k, d)| doomed.contains(&(*k, d.addr, d.port)))
        .map(|(service, d)| {
            let weight = match recorded.get(&(service, d.addr, d.port)) {
                Some(&w) if d.weight == 0 => w,
                _ => d.weight,
            };
            Change::EditDestination {
                service,
                destination: d.with_weight(weight),
            }
        })
        .collect()
}

/// The real servers `plan` deletes, in its order.
fn doomed(plan: &ipvs::Plan) -> Vec<(ServiceKey, IpAddr, u16)> {
    plan.changes
        .iter()
        .filter_map(|c| match c {
            Change::DeleteDestination {
                service,
                addr,
                port,
            } => Some((*service, *addr, *port)),
            _ => None,
        })
        .collect()
}

/// How `--drain`'s wait ended.
enum Drained {
    /// Every real server to delete is at weight 0 without connections (or the timeout passed).
    Done,
    /// A drain step failed.
    Failed(ipvs::Error),
    /// SIGINT or SIGTERM came.
    Interrupted,
}

/// `--drain`: every destination the plan deletes goes to weight 0 first, and the plan waits
/// until their active and inactive connections are 0 (or `timeout` passes), or a signal comes.
fn drain_first(
    ipvs: &ipvs::Ipvs,
    plan: &ipvs::Plan,
    timeout: Option<Duration>,
    term: &mut Term,
) -> io::Result<Drained> {
    let doomed = doomed(plan);
    let start = Instant::now();
    let mut shown: Vec<(usize, u32, u32)> = Vec::new();
    loop {
        let force = timeout.is_some_and(|t| start.elapsed() >= t);
        let mut waiting = Vec::new();
        for (i, (service, addr, port)) in doomed.iter().enumerate() {
            if interrupt::received().is_some() {
                return Ok(Drained::Interrupted);
            }
            match ipvs.drain_step(
                service,
                *addr,
                *port,
                ipvs::drain::DrainStep::default()
                    .with_keep(true)
                    .with_force(force),
            ) {
                Ok(Some(DrainProgress::Waiting { active, inactive })) => {
                    waiting.push((i, active, inactive))
                }
                // Done, or gone already (another writer): the delete will tell.
                Ok(_) => {}
                Err(e) => return Ok(Drained::Failed(e)),
            }
        }
        if waiting.is_empty() {
            return Ok(Drained::Done);
        }
        if waiting != shown {
            // A server at 0 and 0 waits one more read (emptiness is judged on a read made at
            // weight 0, ipvs::Ipvs::drain_step) but has nothing left to report.
            for &(i, active, inactive) in waiting.iter().filter(|w| w.1 + w.2 > 0) {
                let (_, addr, port) = doomed[i];
                let name = match addr {
                    std::net::IpAddr::V4(a) => format!("{a}:{port}"),
                    std::net::IpAddr::V6(_) => format!("[{}]:{port}", ipvs::addr::Ntop::new(addr)),
                };
                term.print(&format!(
                    "drain: {name}: weight 0, {active} active and {inactive} inactive connections left\n"
                ))?;
            }
            term.flush()?;
            shown = waiting;
        }
        // Half a second between reads, ended early by a signal.
        for _ in 0..10 {
            if interrupt::received().is_some() {
                return Ok(Drained::Interrupted);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_input(file: Option<&str>) -> io::Result<String> {
    let mut raw = Vec::new();
    match file {
        None | Some("-") => {
            io::stdin().lock().read_to_end(&mut raw)?;
        }
        Some(path) => raw = std::fs::read(path)?,
    }
    String::from_utf8(raw).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
}

/// The desired state from JSON (first non-blank character `{`) or from
/// ipvsadm `-S` text, normalised and checked ([`State::normalize`], [`State::validate`]).
pub fn parse_state(text: &str) -> Result<State, String> {
    parse_desired(text).map(|d| d.state)
}

/// A desired state, and the destination fields its input could not say (ipvsadm `-S` text
/// never writes `-x` or `-y`; JSON says every field): those stay as the table has them.
pub struct Desired {
    /// The state, normalised and checked ([`State::validate`]); private, so that it stays as
    /// checked: [`Desired::plan`] checks again only what it changes.
    state: State,
    /// `(i, j, unsaid)`: what the input left unsaid of `state.services[i].destinations[j]`,
    /// in input order (by place, not by key: nothing to hash). The places are `u32`: 12 bytes
    /// an entry, not 24 (-S text leaves every destination's thresholds unsaid).
    unsaid: Vec<(u32, u32, Unsaid)>,
}

impl Desired {
    /// The state, normalised and checked.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// What to read of the table to plan against this state ([`ipvs::ReadOptions::for_state`]).
    pub fn read_options(&self) -> ipvs::ReadOptions {
        ipvs::ReadOptions::for_state(&self.state)
    }

    /// The plan from `current` (the table as read with [`Desired::read_options`]) to this
    /// state, the fields its input left unsaid kept as `current` has them; the error is
    /// [`ipvs::plan`]'s, said.
    ///
    /// The state was checked when it was read; what [`Desired::keep_unsaid`] changes (the
    /// thresholds) is checked again by each destination's own check. When one fails, the
    /// whole state is checked as [`ipvs::plan`] checks it, for the same error.
    pub fn plan(&mut self, current: &State, options: &PlanOptions) -> Result<ipvs::Plan, String> {
        let plan = if self.keep_unsaid(current) {
            ipvs::apply::plan_valid(current, &self.state, options)
        } else {
            ipvs::plan(current, &self.state, options)
        };
        plan.map_err(|e| e.to_string())
    }

    /// Gives each field the input left unsaid the value `current` has, so that the plan
    /// leaves it alone (a destination the table lacks gets ipvsadm's default, 0). Returns
    /// whether the state is still valid: each destination it changed passes
    /// [`ipvs::Destination::validate`] (nothing else of the state depends on its thresholds).
    fn keep_unsaid(&mut self, current: &State) -> bool {
        // An unsaid field is 0, ipvsadm's default: where the table has no threshold at all
        // (the usual), there is nothing to take from it.
        let no_thresholds = || {
            current.services.iter().all(|s| {
                s.destinations
                    .iter()
                    .all(|d| d.upper_threshold == 0 && d.lower_threshold == 0)
            })
        };
        if self.unsaid.is_empty() || no_thresholds() {
            return true;
        }
        let mut valid = true;
        let have: HashMap<ServiceKey, usize, KeyHash> = current
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.service.key, i))
            .collect();
        // By service (text names a service's destinations after its -A line, mostly together).
        self.unsaid.sort_by_key(|&(i, j, _)| (i, j));
        for group in self.unsaid.chunk_by(|a, b| a.0 == b.0) {
            let s = &mut self.state.services[group[0].0 as usize];
            let Some(&c) = have.get(&s.service.key) else {
                continue;
            };
            let table = Dests::new(&current.services[c].destinations);
            for &(_, j, unsaid) in group {
                let d = &mut s.destinations[j as usize];
                let Some(h) = table.get(d.addr, d.port) else {
                    continue;
                };
                let was = (d.upper_threshold, d.lower_threshold);
                if unsaid.upper_threshold {
                    d.upper_threshold = h.upper_threshold;
                }
                if unsaid.lower_threshold {
                    d.lower_threshold = h.lower_threshold;
                }
                if was != (d.upper_threshold, d.lower_threshold) {
                    valid &= d.validate(&s.service.key).is_ok();
                }
            }
        }
        valid
    }
}

/// One service's destinations in the table by address and port: scanned when they are few
/// (cheaper than hashing each), else in a hash map. The table names each once.
enum Dests<'a> {
    Few(&'a [ipvs::Destination]),
    Many(HashMap<(IpAddr, u16), &'a ipvs::Destination, KeyHash>),
}

impl<'a> Dests<'a> {
    fn new(all: &'a [ipvs::Destination]) -> Self {
        if all.len() <= 16 {
            Dests::Few(all)
        } else {
            Dests::Many(all.iter().map(|d| ((d.addr, d.port), d)).collect())
        }
    }

    fn get(&self, addr: IpAddr, port: u16) -> Option<&'a ipvs::Destination> {
        match self {
            Dests::Few(all) => all.iter().rev().find(|d| d.addr == addr && d.port == port),
            Dests::Many(map) => map.get(&(addr, port)).copied(),
        }
    }
}

/// The desired state `apply` reads from `text` (JSON or ipvsadm `-S` text), normalised and
/// checked; the error says what is wrong and where.
pub fn parse_desired(text: &str) -> Result<Desired, String> {
    if text.trim_start().starts_with('{') {
        let mut state = output::parse_save_json(text)?;
        state.normalize();
        state.validate().map_err(|e| e.to_string())?;
        return Ok(Desired {
            state,
            unsaid: Vec::new(),
        });
    }
    let mut rules = Rules::read(text)?;
    rules.state.normalize();
    if let Err(e) = rules.state.validate() {
        // A service named twice is said by its line, as when each line was looked for it.
        rules.index()?;
        return Err(e.to_string());
    }
    Ok(Desired {
        state: rules.state,
        unsaid: rules.unsaid,
    })
}

/// The state read from `-S` text so far, with the line of each service.
///
/// Whether a service is named twice is only looked for when it matters: [`State::validate`]
/// finds it (nothing before it changes a key), and a failing line or an `-a` line of a service
/// other than the last looks first ([`Rules::index`]). The message is the same: that of the
/// first line naming a service named before, as when each `-A` line looked.
#[derive(Default)]
struct Rules {
    state: State,
    /// The line of each service.
    lines: Vec<usize>,
    /// What each `-a` line leaves unsaid, as [`Desired`] keeps it.
    unsaid: Vec<(u32, u32, Unsaid)>,
    /// The services by key, made by [`Rules::index`] when first needed, then kept.
    index: Option<HashMap<ServiceKey, usize, KeyHash>>,
}

impl Rules {
    /// `-A` and `-a` lines (what `-S` writes) as a state, read as `-R` reads its lines. The
    /// state is neither normalised nor checked; a service named twice is found by
    /// [`State::validate`].
    fn read(text: &str) -> Result<Rules, String> {
        let mut rules = Rules::default();
        let mut input = restore::LineWords::new(text);
        while let Some((line, words)) = input.next_line() {
            if words.is_empty() {
                continue;
            }
            let fail = match cli::parse_line("ipvsctl", words) {
                Ok((cli::Command::Change(Change::AddService(s)), _)) => {
                    rules.add(line, s)?;
                    continue;
                }
                Ok((
                    cli::Command::Change(Change::AddDestination {
                        service,
                        destination,
                    }),
                    line_unsaid,
                )) => {
                    // Mostly the service of the -A line just before (the order -S writes).
                    let services = &rules.state.services;
                    let at = match services.last() {
                        Some(s) if s.service.key == service => Some(services.len() - 1),
                        _ => rules.index()?.get(&service).copied(),
                    };
                    let Some(i) = at else {
                        rules.index()?;
                        return Err(format!(
                            "line {line}: a destination of a service that no -A line before it adds"
                        ));
                    };
                    let ds = &mut rules.state.services[i].destinations;
                    if line_unsaid != Unsaid::default() {
                        let (Ok(si), Ok(dj)) = (u32::try_from(i), u32::try_from(ds.len())) else {
                            rules.index()?;
                            return Err(format!("line {line}: too many real servers"));
                        };
                        rules.unsaid.push((si, dj, line_unsaid));
                    }
                    ds.push(destination);
                    continue;
                }
                Ok(_) => not_a_state(line),
                Err(f) => format!("line {line}: {}", f.message),
            };
            // A service named twice before this line is said first.
            rules.index()?;
            return Err(fail);
        }
        Ok(rules)
    }

    /// Adds the service of the `-A` line `line`.
    fn add(&mut self, line: usize, s: ipvs::Service) -> Result<(), String> {
        if let Some(index) = &mut self.index {
            if index.insert(s.key, self.state.services.len()).is_some() {
                return Err(named_twice(line));
            }
        }
        // Room for the destinations that mostly follow, as their first push would make (4).
        self.state.services.push(ServiceState {
            service: s,
            destinations: Vec::with_capacity(4),
        });
        self.lines.push(line);
        Ok(())
    }

    /// The services by key, made if it was not; the error is that of the first service named
    /// twice.
    fn index(&mut self) -> Result<&HashMap<ServiceKey, usize, KeyHash>, String> {
        let index = match &mut self.index {
            Some(index) => index,
            slot => {
                let services = &self.state.services;
                let mut index = HashMap::with_capacity_and_hasher(services.len(), KeyHash);
                for (i, s) in services.iter().enumerate() {
                    if index.insert(s.service.key, i).is_some() {
                        return Err(named_twice(self.lines[i]));
                    }
                }
                slot.insert(index)
            }
        };
        Ok(index)
    }
}

/// What `apply` says of the `-A` line `line` naming a service named before.
fn named_twice(line: usize) -> String {
    format!("line {line}: the service is named twice")
}

/// What `apply` says of a line that is neither `-A` nor `-a`.
fn not_a_state(line: usize) -> String {
    format!("line {line}: apply takes -A and -a lines (a state), not other commands")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_json_give_the_same_state() {
        let rules = "-A -t 10.0.0.100:80 -s rr\n\
                     -a -t 10.0.0.100:80 -r 192.168.10.11:80 -m -w 1\n\
                     -a -t 10.0.0.100:80 -r 192.168.10.12:80 -m -w 2\n";
        let a = parse_state(rules).unwrap();
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(parse_state(&format!("  \n{json}")).unwrap(), a);
        assert_eq!(a.services[0].destinations[1].weight, 2);
    }

    #[test]
    fn text_without_thresholds_keeps_the_tables_and_with_them_sets_them() {
        let mut d = parse_desired(
            "-A -t 10.0.0.1:80 -s rr\n\
             -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n\
             -a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1 -x 7\n\
             -a -t 10.0.0.1:80 -r 10.0.0.4:80 -m -w 1\n",
        )
        .unwrap();
        let mut current = d.state.clone();
        // .4 is not in the table: it gets ipvsadm's default.
        current.services[0].destinations.pop();
        for t in &mut current.services[0].destinations {
            t.upper_threshold = 10;
            t.lower_threshold = 5;
        }
        d.keep_unsaid(&current);
        let ds = &d.state.services[0].destinations;
        let th = |i: usize| (ds[i].upper_threshold, ds[i].lower_threshold);
        assert_eq!([th(0), th(1), th(2)], [(10, 5), (7, 5), (0, 0)]);
        let p = ipvs::plan(&current, &d.state, &PlanOptions::default()).unwrap();
        assert_eq!(p.len(), 2, "{p:?}");
        // JSON says every field: nothing is unsaid.
        let json = serde_json::to_string(&d.state).unwrap();
        assert!(parse_desired(&json).unwrap().unsaid.is_empty());
    }

    /// The thresholds unsaid are kept by place: with the -a lines of two services
    /// interleaved, and with a service of more destinations than are scanned (a map then).
    #[test]
    fn unsaid_thresholds_are_kept_with_lines_out_of_order_and_many_destinations() {
        let mut text = String::from("-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80 -s rr\n");
        for i in 1..=40u32 {
            let vip = if i.is_multiple_of(2) { 1 } else { 2 };
            let x = if u32::is_multiple_of(i, 5) {
                " -x 9"
            } else {
                ""
            };
            text.push_str(&format!(
                "-a -t 10.0.0.{vip}:80 -r 192.168.0.{i}:80 -m -w 1{x}\n"
            ));
        }
        let mut d = parse_desired(&text).unwrap();
        let mut current = d.state.clone();
        // The table lists the services the other way round, its destinations reversed.
        current.services.reverse();
        for s in &mut current.services {
            s.destinations.reverse();
            for t in &mut s.destinations {
                t.upper_threshold = 50 + u32::from(t.addr.to_string().len() as u8);
                t.lower_threshold = 3;
            }
        }
        d.keep_unsaid(&current);
        for s in &d.state.services {
            for t in &s.destinations {
                let last: u32 = t
                    .addr
                    .to_string()
                    .rsplit('.')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                let upper = if last.is_multiple_of(5) {
                    9
                } else {
                    50 + t.addr.to_string().len() as u32
                };
                assert_eq!((t.upper_threshold, t.lower_threshold), (upper, 3), "{t:?}");
            }
        }
        let p = ipvs::plan(&current, &d.state, &PlanOptions::default()).unwrap();
        assert_eq!(p.len(), 8, "the 8 servers given -x 9: {p:?}");
    }

    /// A threshold taken from the table can make a destination invalid (its lower threshold
    /// above the upper one the line gives): the plan fails with the error of the whole
    /// state's check, as when every plan checked the whole state.
    #[test]
    fn thresholds_from_the_table_are_checked_again() {
        let text = "-A -t 10.0.0.1:80 -s rr\n\
                    -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n\
                    -a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1 -x 5\n";
        let mut current = parse_state(text).unwrap();
        for t in &mut current.services[0].destinations {
            t.upper_threshold = 10;
            t.lower_threshold = 7;
        }
        let mut d = parse_desired(text).unwrap();
        let e = d.plan(&current, &PlanOptions::default()).unwrap_err();
        assert_eq!(
            e,
            "services[0].destinations[1].lower_threshold: 7 is above upper_threshold 5"
        );
        let mut whole = d.state.clone();
        assert_eq!(
            ipvs::plan(&current, &whole, &PlanOptions::default())
                .unwrap_err()
                .to_string(),
            e
        );
        // Valid after the thresholds are taken: the plan is the one the whole check allows.
        current.services[0].destinations[1].lower_threshold = 5;
        let mut d = parse_desired(text).unwrap();
        let p = d.plan(&current, &PlanOptions::default()).unwrap();
        whole.services[0].destinations[1].lower_threshold = 5;
        assert_eq!(
            p,
            ipvs::plan(&current, &whole, &PlanOptions::default()).unwrap()
        );
        // The line's -x 5 against the table's 10.
        assert_eq!(p.len(), 1, "{p:?}");
    }

    /// A table without thresholds has none to give: the state stays as read, each unsaid
    /// threshold ipvsadm's 0, and one threshold in the table is taken again.
    #[test]
    fn a_table_without_thresholds_gives_none() {
        let text = "-A -t 10.0.0.1:80 -s rr\n\
                    -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n\
                    -a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1 -x 5 -y 2\n";
        let mut d = parse_desired(text).unwrap();
        let mut current = d.state.clone();
        current.services[0].destinations[1].upper_threshold = 0;
        current.services[0].destinations[1].lower_threshold = 0;
        let before = d.state.clone();
        assert!(d.keep_unsaid(&current));
        assert_eq!(d.state, before);
        assert_eq!(
            (
                d.state.services[0].destinations[0].upper_threshold,
                d.state.services[0].destinations[0].lower_threshold
            ),
            (0, 0)
        );
        assert_eq!(d.plan(&current, &PlanOptions::default()).unwrap().len(), 1);
        current.services[0].destinations[0].lower_threshold = 3;
        current.services[0].destinations[0].upper_threshold = 4;
        assert!(d.keep_unsaid(&current));
        assert_eq!(d.state.services[0].destinations[0].lower_threshold, 3);
        assert_eq!(d.state.services[0].destinations[0].upper_threshold, 4);
    }

    /// How `-A` and `-a` lines were read as a state before a service named twice was left to
    /// [`State::validate`]: each `-A` line looked in a map of the services before it.
    fn state_from_rules_eager(text: &str) -> Result<Desired, String> {
        let mut state = State::default();
        let mut unsaid = Vec::new();
        let mut index: HashMap<ServiceKey, usize, KeyHash> = HashMap::default();
        let mut input = restore::LineWords::new(text);
        while let Some((line, words)) = input.next_line() {
            if words.is_empty() {
                continue;
            }
            let (command, line_unsaid) = cli::parse_line("ipvsctl", words)
                .map_err(|f| format!("line {line}: {}", f.message))?;
            match command {
                cli::Command::Change(Change::AddService(s)) => {
                    if index.insert(s.key, state.services.len()).is_some() {
                        return Err(format!("line {line}: the service is named twice"));
                    }
                    state.services.push(ServiceState::new(s));
                }
                cli::Command::Change(Change::AddDestination {
                    service,
                    destination,
                }) => {
                    // Mostly the service of the -A line just before (the order -S writes).
                    let at = match state.services.last() {
                        Some(s) if s.service.key == service => Some(state.services.len() - 1),
                        _ => index.get(&service).copied(),
                    };
                    match at {
                        Some(i) => {
                            let ds = &mut state.services[i].destinations;
                            if line_unsaid != Unsaid::default() {
                                let (Ok(si), Ok(dj)) = (u32::try_from(i), u32::try_from(ds.len()))
                                else {
                                    return Err(format!("line {line}: too many real servers"));
                                };
                                unsaid.push((si, dj, line_unsaid));
                            }
                            ds.push(destination)
                        }
                        None => {
                            return Err(format!(
                                "line {line}: a destination of a service that no -A line before it adds"
                            ))
                        }
                    }
                }
                _ => return Err(not_a_state(line)),
            }
        }
        Ok(Desired { state, unsaid })
    }

    /// [`parse_desired`] before: [`state_from_rules_eager`], then the checks.
    fn parse_desired_eager(text: &str) -> Result<Desired, String> {
        let mut desired = state_from_rules_eager(text)?;
        desired.state.normalize();
        desired.state.validate().map_err(|e| e.to_string())?;
        Ok(desired)
    }

    /// A service named twice is said by its line as when each `-A` line looked for it: before
    /// a later bad line, an `-a` line of a service other than the last, and whatever the
    /// whole state's check finds; the texts are made of lines of every kind, in many orders.
    #[test]
    fn a_service_named_twice_is_said_as_when_each_line_looked() {
        let pool = [
            "-A -t 10.0.0.1:80 -s rr",
            "-A -t 10.0.0.2:80 -s rr",
            "-A -f 7 -s wlc",
            "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1",
            "-a -t 10.0.0.1:80 -r 10.1.0.2:80 -m -w 1 -x 5",
            "-a -t 10.0.0.2:80 -r 10.1.0.1:80 -m -w 1",
            "-a -f 7 -r 10.1.0.3:0 -g -w 2",
            "-a -t 10.0.0.3:80 -r 10.1.0.1:80 -m",
            "-C",
            "-A -t 10.0.0.1:99999",
            "",
        ];
        let (mut same_ok, mut twice, mut seed) = (0, 0, 11u64);
        for _ in 0..4000 {
            let mut text = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for _ in 0..(seed >> 33) % 9 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(pool[((seed >> 33) % pool.len() as u64) as usize]);
                text.push('\n');
            }
            match (parse_desired(&text), parse_desired_eager(&text)) {
                (Ok(a), Ok(b)) => {
                    assert_eq!((a.state, a.unsaid), (b.state, b.unsaid), "{text}");
                    same_ok += 1;
                }
                (Err(a), Err(b)) => {
                    twice += usize::from(a.contains("named twice"));
                    assert_eq!(a, b, "{text}");
                }
                (a, b) => panic!(
                    "{text}: {:?} against {:?}",
                    a.map(|d| d.state),
                    b.map(|d| d.state)
                ),
            }
        }
        assert!(same_ok > 300 && twice > 100, "{same_ok} {twice}");
        // The cases by hand.
        let e = |text: &str| parse_state(text).unwrap_err();
        let (a, b) = ("-A -t 10.0.0.1:80\n", "-A -t 10.0.0.2:80\n");
        let ab = "-a -t 10.0.0.2:80 -r 10.1.0.1\n";
        assert_eq!(
            e(&format!("{a}{b}{a}-C\n")),
            "line 3: the service is named twice"
        );
        assert_eq!(
            e(&format!("{a}{b}{a}{ab}")),
            "line 3: the service is named twice"
        );
        assert_eq!(
            e(&format!("{a}{b}{ab}{b}")),
            "line 4: the service is named twice"
        );
        assert_eq!(
            e(&format!("{a}{a}{ab}")),
            "line 2: the service is named twice"
        );
        let twice_dest = format!("{b}{ab}{ab}");
        assert_eq!(
            e(&twice_dest),
            "services[0].destinations[1]: the destination is named twice in its service"
        );
        assert_eq!(
            e(&format!("{twice_dest}{a}{b}")),
            "line 5: the service is named twice"
        );
    }

    #[test]
    fn bad_input_names_the_bad_value() {
        let e = parse_state("-A -t 10.0.0.1:80\n-C\n").unwrap_err();
        assert!(e.starts_with("line 2: apply takes -A and -a lines"), "{e}");
        let e = parse_state("-a -t 10.0.0.1:80 -r 10.0.0.2\n").unwrap_err();
        assert!(e.starts_with("line 1: a destination"), "{e}");
        let e = parse_state(r#"{"services": [{"fwmark": 1, "scheduler": ""}]}"#).unwrap_err();
        assert!(e.starts_with("services[0].scheduler: invalid name"), "{e}");
        let e = parse_state("-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80\n").unwrap_err();
        assert!(e.contains("named twice"), "{e}");
    }

    #[test]
    fn the_readmes_example_rules_file_is_a_valid_state() {
        let s = parse_state(include_str!("../tests/fixtures/ipvs-rules.json")).unwrap();
        assert_eq!(s.services.len(), 2);
        assert_eq!(s.services[0].destinations[0].weight, 3);
        assert_eq!(s.services[0].destinations[0].port, 80);
    }

    #[test]
    fn the_command_is_valid() {
        command().debug_assert();
    }
}
