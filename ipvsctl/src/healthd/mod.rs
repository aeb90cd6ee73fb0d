//! `ipvsctl healthd`: applies a rules file with health checks, then keeps the weights of its
//! real servers as their checks say (see `docs/json.md` for the keys, the README for the use).
//!
//! The checks and the up/down state machine are ipvs-health's ([`ipvs_health::Scheduler`]);
//! this module reads the file ([`config`]) and turns transitions into weight changes
//! ([`daemon`]). The tokio runtime lives inside the subcommand; the `ipvs` calls are
//! synchronous and short, made between awaits on the runtime's one thread.
//!
//! Exit codes: 0 stopped by SIGTERM or SIGINT (the table is left as it is), 2 bad arguments or
//! a bad file (nothing is changed in the kernel), 255 the kernel refused the first apply;
//! `--once`: 0 when every check passes, 1 otherwise.

mod config;
mod daemon;
mod serve;

use std::io;
use std::path::PathBuf;

use clap::{Arg, ArgAction, Command};
use ipvs_health::{Outcome, Target};

use daemon::{runtime, say, Options};

use crate::args;
use crate::session::{subcommand_matches, Term};

/// The clap description of `healthd` (parsing, help, man page, completions).
pub fn command() -> Command {
    Command::new("healthd")
        .about("Apply a rules file with health checks and keep dead real servers out of the table")
        .long_about(
            "Applies FILE (the JSON document of apply, with the health keys of docs/json.md: \
             check, on_down, sorry_server, quorum), then checks every real server on its \
             schedule. A server goes down after `fall' failures in a row (weight 0, or with \
             on_down \"remove\" drained and deleted) and up after `rise' passes (its weight \
             again). Until its first verdict a server already in the kernel keeps its weight and \
             a new one waits at weight 0. healthd changes a weight only from the value it last \
             set: an operator's drain or -e -w is not undone. A file named ADDR:PORT in \
             --maintenance-dir forces that server down. SIGHUP or a change of FILE re-reads it \
             (unchanged servers keep their state; a bad file is reported and the running \
             configuration stays); SIGTERM and SIGINT stop it and leave the table as it is. \
             Each transition is a line on stdout. Exit status: 0 stopped by a signal, 2 bad \
             arguments or file (nothing changed), 255 the kernel refused the first apply; \
             --once: 0 every check passed, 1 not.",
        )
        .disable_version_flag(true)
        .arg(
            args::file()
                .required(true)
                .help("The rules file (JSON, with checks)"),
        )
        .arg(
            Arg::new("once")
                .long("once")
                .action(ArgAction::SetTrue)
                .help(
                    "Run every check once, print the results, change nothing; exit 0 when all pass",
                ),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .help("Print each transition (or result) as a JSON line"),
        )
        .arg(
            Arg::new("maintenance-dir")
                .long("maintenance-dir")
                .value_name("DIR")
                .num_args(1)
                .value_hint(clap::ValueHint::DirPath)
                .help("A file named ADDR:PORT in DIR forces that real server down"),
        )
        .arg(
            Arg::new("listen")
                .long("listen")
                .value_name("ADDR:PORT")
                .num_args(1)
                .conflicts_with("once")
                .help(
                    "Serve the exporter's metrics plus the health metrics on /metrics and the \
                     state of every real server as JSON on /status (no authentication: \
                     loopback unless exposing it is meant)",
                ),
        )
        .arg(args::rates().requires("listen"))
        .arg(args::netns().help("Work and check from another network namespace"))
}

/// Runs `ipvsctl healthd ARGS` and returns the exit code.
pub fn main(args: &[String], term: &mut Term) -> io::Result<i32> {
    let matches = match subcommand_matches(command().bin_name("ipvsctl healthd"), args, term)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let opts = Options {
        file: PathBuf::from(matches.get_one::<String>("file").map_or("", String::as_str)),
        json: matches.get_flag("json"),
        maintenance: matches
            .get_one::<String>("maintenance-dir")
            .map(PathBuf::from),
        listen: matches.get_one::<String>("listen").cloned(),
        rates: matches.get_flag("rates"),
    };
    let once = matches.get_flag("once");
    let text = match std::fs::read_to_string(&opts.file) {
        Ok(t) => t,
        Err(e) => {
            term.error(&format!("healthd: {}: {e}", opts.file.display()))?;
            return Ok(2);
        }
    };
    let config = match config::read(&text) {
        Ok(c) => c,
        Err(e) => {
            term.error(&format!("healthd: {}: {e}", opts.file.display()))?;
            return Ok(2);
        }
    };
    term.flush()?;
    let run = move || -> io::Result<i32> {
        if once {
            once_all(&config, opts.json)
        } else {
            daemon::run(config, &opts)
        }
    };
    match matches.get_one::<String>("netns") {
        None => run(),
        // The whole daemon in the namespace: the kernel's table and the checks' sockets.
        Some(ns) => {
            let path = ipvs::netns::netns_path(ns);
            match ipvs::netns::run_in_netns_scoped(&path, run) {
                Ok(r) => r,
                Err(e) => {
                    term.error(&format!(
                        "healthd: can't enter network namespace {}: {e}",
                        path.display()
                    ))?;
                    Ok(2)
                }
            }
        }
    }
}

/// `--once`: every check of the file once, all at the same time; 0 when all pass.
fn once_all(config: &config::Config, json: bool) -> io::Result<i32> {
    let rt = runtime()?;
    let mut jobs = Vec::new();
    for s in &config.services {
        for r in &s.reals {
            let d = r.destination;
            let target = Target {
                service: s.key.to_string(),
                server: std::net::SocketAddr::new(d.addr, d.port),
            };
            jobs.push((target, r.check.clone()));
        }
    }
    let reports = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, (target, check)) in jobs.iter().cloned().enumerate() {
            set.spawn(async move {
                match check {
                    Some(c) => (i, Some(ipvs_health::run(&c, &target).await)),
                    None => (i, None),
                }
            });
        }
        let mut reports = vec![None; jobs.len()];
        while let Some(done) = set.join_next().await {
            if let Ok((i, r)) = done {
                reports[i] = r;
            }
        }
        reports
    });
    let mut all = true;
    for ((target, _), report) in jobs.iter().zip(reports) {
        let server = config::server_name(target.server.ip(), target.server.port());
        let (word, reason, took) = match &report {
            None => ("up", "no check (always up)".to_string(), None),
            Some(r) => {
                let w = match r.outcome {
                    Outcome::Up(_) => "up",
                    Outcome::Down(_) => "down",
                    Outcome::Unchecked(_) => "unchecked",
                };
                (
                    w,
                    r.outcome.reason().to_string(),
                    Some(r.took.as_secs_f64()),
                )
            }
        };
        all &= word == "up";
        if json {
            let line = serde_json::json!({
                "service": target.service,
                "destination": server,
                "result": word,
                "reason": reason,
                "took": took,
            });
            say(&line.to_string());
        } else {
            let took = took.map_or(String::new(), |t| format!(" ({t:.3} s)"));
            say(&format!(
                "{} {server}: {word}: {reason}{took}",
                target.service
            ));
        }
    }
    Ok(if all { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_valid() {
        command().debug_assert();
    }
}
