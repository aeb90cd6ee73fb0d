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
//! change (what was done before it is undone), 130 or 143 when SIGINT or
//! SIGTERM came while the changes were sent (the batch in flight is finished,
//! then what was done is undone; see [`crate::interrupt`]).

use std::io::{self, Read};
use std::time::{Duration, Instant};

use clap::{Arg, ArgAction, Command};

use ipvs::{Change, DrainProgress, PlanOptions, ServiceState, State};

use crate::restore::{self, Step};
use crate::session::{message, subcommand_matches, Session, Term};
use crate::{interrupt, output};

/// The clap description of `apply`: it parses the arguments and renders
/// the help, the man page's and the completions' part for it.
pub fn command() -> Command {
    Command::new("apply")
        .about("Make the table a desired state (JSON or ipvsadm -S text), all or nothing")
        .long_about(
            "Reads a desired state, compares it with the kernel's table and makes the \
             changes: edits in place wherever the kernel allows (scheduler, flags, persistence, \
             weights, forwarding, tunnel options, thresholds), deletes before adds. If the \
             kernel refuses a change, the changes already made are undone; when that is because \
             another writer added or deleted a service or real server since the table was \
             read, the message says so and names it. The input is the \
             JSON save document (what -S --json writes) or ipvsadm -S text (-A and -a lines); \
             the first non-blank character tells which. Services the input does not name stay \
             unless --prune. Exit status: 0 done or nothing to do, 1 (--check) the table \
             differs, 2 bad input (nothing changed), 255 the kernel refused a change (the table \
             is left as it was), 130 or 143 on SIGINT or SIGTERM while the changes are sent \
             (what was done is undone).",
        )
        .disable_version_flag(true)
        .arg(
            Arg::new("file")
                .short('f')
                .long("file")
                .value_name("FILE")
                .num_args(1)
                .value_hint(clap::ValueHint::FilePath)
                .help("Read the desired state from FILE (- or none: standard input)"),
        )
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
        .arg(
            Arg::new("netns")
                .long("netns")
                .value_name("NAME|PATH")
                .num_args(1)
                .help("Work in another network namespace"),
        )
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
    let desired = match parse_state(&text) {
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
    let current = match ipvs.read_state_for(&desired) {
        Ok(s) => s,
        Err(e) => {
            term.error(&format!("apply: reading the table: {}", message(&e)))?;
            return Ok(255);
        }
    };
    let plan = match ipvs::plan(&current, &desired, &options) {
        Ok(p) => p,
        Err(e) => {
            term.error(&format!("apply: {e}"))?;
            return Ok(2);
        }
    };
    let listing = if json {
        output::plan_json(&plan)
    } else {
        plan.lines().map(|l| l + "\n").collect()
    };
    if dry_run || check {
        term.print(&listing)?;
        return Ok(if check && !plan.is_empty() { 1 } else { 0 });
    }
    if plan.is_empty() {
        if json {
            term.print(&listing)?;
        } else {
            term.print("apply: no change: the table already matches\n")?;
        }
        return Ok(0);
    }
    let applied = match drain {
        None => {
            // SIGINT and SIGTERM from here on: the batch in flight ends, what was made is undone.
            interrupt::watch()?;
            ipvs.apply_plan_until(&plan, &|| interrupt::received().is_some())
        }
        Some(timeout) => {
            // The deletes wait for the drain: everything else first, then the destinations
            // to delete go to weight 0, and when their connections are gone, the deletes.
            let (mut now, mut later) = (ipvs::Plan::default(), ipvs::Plan::default());
            for (c, u) in plan.changes.iter().zip(&plan.undo) {
                let part = match c {
                    Change::DeleteDestination { .. } | Change::DeleteService(_) => &mut later,
                    _ => &mut now,
                };
                part.push(c.clone(), u.clone());
            }
            match ipvs.apply_plan(&now) {
                Err(e) => Err(e),
                Ok(()) => {
                    let undo_now: Vec<Change> = now.undo.iter().rev().cloned().collect();
                    match drain_first(ipvs, &current, &later, timeout, term)? {
                        Err(code) => {
                            let _ = ipvs.apply(&undo_now);
                            return Ok(code);
                        }
                        Ok(weights) => {
                            let r = ipvs.apply_plan(&later);
                            if r.is_err() {
                                // The drained servers get their weights back, then what
                                // came before the deletes is undone.
                                let _ = ipvs.apply(&weights);
                                let _ = ipvs.apply(&undo_now);
                            }
                            r
                        }
                    }
                }
            }
        }
    };
    match applied {
        Ok(()) => {
            if json {
                term.print(&listing)?;
            } else {
                term.print(&listing)?;
                term.print(&format!("apply: {} changes made\n", plan.len()))?;
            }
            Ok(0)
        }
        Err(ipvs::ApplyError::Refused(r)) => {
            term.error(&refusal_message(&r))?;
            Ok(255)
        }
        Err(ipvs::ApplyError::Interrupted {
            undone,
            undo_failed,
        }) => {
            let signal = interrupt::received().unwrap_or(libc::SIGINT);
            let how = if undo_failed.is_empty() {
                format!("the {undone} changes made were undone; the table is as it was")
            } else {
                format!(
                    "undoing the {undone} changes made failed {} times: the table is NOT as it was",
                    undo_failed.len()
                )
            };
            term.error(&format!(
                "apply: interrupted by {}: {how}",
                interrupt::name(signal)
            ))?;
            Ok(interrupt::exit_code(signal))
        }
        Err(e) => {
            term.error(&format!("apply: {e}"))?;
            Ok(255)
        }
    }
}

/// What a refused apply says on stderr: the refused change as an ipvsadm line with ipvsadm's
/// reason, what another writer changed when that is why, and how the undo went.
fn refusal_message(r: &ipvs::Refusal) -> String {
    let mut msg = format!(
        "apply: the kernel refused `{}': {}",
        r.change,
        message(&r.error)
    );
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
    if !r.undo_failed.is_empty() {
        msg.push_str(&format!(
            "\napply: undoing the {} changes made before it failed {} times: \
             the table is NOT as it was",
            r.undone,
            r.undo_failed.len()
        ));
    } else if r.superseded != 0 {
        msg.push_str(&format!(
            "\napply: the {} changes made before it were undone but for {} whose object \
             another writer changed since; {after}",
            r.undone, r.superseded
        ));
    } else {
        msg.push_str(&format!(
            "\napply: the {} changes made before it were undone; {after}",
            r.undone
        ));
    }
    msg
}

/// `--drain`: every destination the plan deletes goes to weight 0 first, and the plan waits
/// until their active and inactive connections are 0 (or `timeout` passes). Returns the
/// changes that give them their weights back (for a failed apply), or the exit code when the
/// kernel refused (their weights are given back then).
fn drain_first(
    ipvs: &ipvs::Ipvs,
    current: &State,
    plan: &ipvs::Plan,
    timeout: Option<Duration>,
    term: &mut Term,
) -> io::Result<Result<Vec<Change>, i32>> {
    let doomed: Vec<(ipvs::ServiceKey, std::net::IpAddr, u16)> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::DeleteDestination {
                service,
                addr,
                port,
            } => Some((*service, *addr, *port)),
            _ => None,
        })
        .collect();
    let restore: Vec<Change> = current
        .services
        .iter()
        .flat_map(|s| s.destinations.iter().map(move |d| (s.service.key, d)))
        .filter(|(k, d)| doomed.contains(&(*k, d.addr, d.port)))
        .map(|(service, d)| Change::EditDestination {
            service,
            destination: *d,
        })
        .collect();
    let start = Instant::now();
    let mut shown: Vec<(usize, u32, u32)> = Vec::new();
    loop {
        let force = timeout.is_some_and(|t| start.elapsed() >= t);
        let mut waiting = Vec::new();
        for (i, (service, addr, port)) in doomed.iter().enumerate() {
            match ipvs.drain_step(service, *addr, *port, true, force) {
                Ok(Some(DrainProgress::Waiting { active, inactive })) => {
                    waiting.push((i, active, inactive))
                }
                // Done, or gone already (another writer): the delete will tell.
                Ok(_) => {}
                Err(e) => {
                    let _ = ipvs.apply(&restore);
                    term.error(&format!("apply: draining: {}", message(&e)))?;
                    return Ok(Err(255));
                }
            }
        }
        if waiting.is_empty() {
            return Ok(Ok(restore));
        }
        if waiting != shown {
            for &(i, active, inactive) in &waiting {
                let (_, addr, port) = doomed[i];
                let name = match addr {
                    std::net::IpAddr::V4(a) => format!("{a}:{port}"),
                    std::net::IpAddr::V6(_) => format!("[{}]:{port}", ipvs::ntop(addr)),
                };
                term.print(&format!(
                    "drain: {name}: weight 0, {active} active and {inactive} inactive connections left\n"
                ))?;
            }
            term.flush()?;
            shown = waiting;
        }
        std::thread::sleep(Duration::from_millis(500));
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
/// ipvsadm `-S` text, normalised and checked ([`State::normalize`],
/// [`State::validate`]).
pub fn parse_state(text: &str) -> Result<State, String> {
    let mut state = if text.trim_start().starts_with('{') {
        output::parse_save_json(text)?
    } else {
        state_from_rules(text)?
    };
    state.normalize();
    state.validate().map_err(|e| e.to_string())?;
    Ok(state)
}

/// `-A` and `-a` lines (what `-S` writes) as a state.
fn state_from_rules(text: &str) -> Result<State, String> {
    let steps = restore::parse_input("ipvsctl", text).map_err(|f| f.message)?;
    let mut state = State::default();
    let mut index = std::collections::HashMap::new();
    for step in steps {
        let (lines, changes) = match step {
            Step::Changes { lines, changes } => (lines, changes),
            Step::Command { line, .. } => return Err(not_a_state(line)),
        };
        for (line, change) in lines.into_iter().zip(changes) {
            match change {
                Change::AddService(s) => {
                    if index.insert(s.key, state.services.len()).is_some() {
                        return Err(format!("line {line}: the service is named twice"));
                    }
                    state.services.push(ServiceState::new(s));
                }
                Change::AddDestination {
                    service,
                    destination,
                } => match index.get(&service) {
                    Some(&i) => state.services[i].destinations.push(destination),
                    None => {
                        return Err(format!(
                            "line {line}: a destination of a service that no -A line before it adds"
                        ))
                    }
                },
                _ => return Err(not_a_state(line)),
            }
        }
    }
    Ok(state)
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
