//! `ipvsctl drain`: a graceful removal of one real server.
//!
//! Sets the destination's weight to 0, waits in the foreground until its active plus inactive
//! connections reach 0 (or `--timeout` passes), then deletes it (`--keep`: leaves it at weight
//! 0). The kernel's own state drives it ([`ipvs::Ipvs::drain_step`]), so running it again after
//! an interruption carries on. Progress: one line rewritten in place on a terminal, a plain line
//! per change of the counts otherwise. Exit codes: 0 done, 2 bad arguments, 255 the kernel
//! refused (e.g. no such destination).

use std::io::{self, IsTerminal};
use std::time::Duration;

use clap::{Arg, ArgAction, Command};

use ipvs::drain::{DrainOptions, DrainProgress};
use ipvs::Change;

use crate::args;
use crate::cli::{self, Command as CliCommand, Context};
use crate::session::{message, subcommand_matches, Session, Term};

/// The clap description of `drain` (parsing, help, man page, completions).
pub fn command() -> Command {
    let cmd = Command::new("drain")
        .about("Remove a real server gracefully: weight 0, then delete it when its connections are gone")
        .long_about(
            "Sets the real server's weight to 0 (no new connections), waits until its active \
             and inactive connections reach 0 or --timeout passes, then deletes it (--keep: \
             leaves it at weight 0). The kernel's own counters drive it, so running it again \
             after an interruption carries on. UDP and SCTP follow the same rule: a UDP flow \
             counts as an inactive connection until it has been quiet for the UDP timeout \
             (--set, 300 s by default), so a drained UDP server keeps serving its flows and \
             goes once they are quiet; give UDP drains a --timeout. A persistent service \
             keeps sending clients that have a persistence template to the drained server \
             until the template expires, unless net.ipv4.vs.expire_quiescent_template is 1 \
             (drain warns when it is 0); net.ipv4.vs.expire_nodest_conn=1 drops the \
             connections of a deleted server at their next packet. Exit status: 0 done, \
             2 bad arguments, 255 the kernel refused (e.g. no such destination).",
        )
        .disable_version_flag(true);
    args::service_args(cmd, true)
        .arg(
            Arg::new("real-server")
                .short('r')
                .long("real-server")
                .value_name("HOST[:PORT]")
                .num_args(1)
                .required(true)
                .help("The real server to drain"),
        )
        .arg(
            Arg::new("timeout")
                .long("timeout")
                .value_name("SECONDS")
                .num_args(1)
                .value_parser(clap::value_parser!(u64))
                .help("Remove it after SECONDS even with connections left (default: wait)"),
        )
        .arg(
            Arg::new("keep")
                .long("keep")
                .action(ArgAction::SetTrue)
                .help("Leave it at weight 0 instead of deleting it"),
        )
        .arg(args::netns())
}

/// Runs `ipvsctl drain ARGS` and returns the exit code.
pub fn main(prog: &str, args: &[String], term: &mut Term) -> io::Result<i32> {
    let matches = match subcommand_matches(command().bin_name("ipvsctl drain"), args, term)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    // The service and server as ipvsadm's parser reads them for `-d`.
    let mut words = vec!["-d".to_string()];
    words.extend(args::service_words(&matches));
    words.push("-r".to_string());
    words.push(
        matches
            .get_one::<String>("real-server")
            .cloned()
            .unwrap_or_default(),
    );
    let (service, addr, port) = match cli::parse(prog, &words, Context::RestoreLine) {
        Ok(inv) => match inv.command {
            CliCommand::Change(Change::DeleteDestination {
                service,
                addr,
                port,
            }) => (service, addr, port),
            _ => {
                term.error("drain: needs a service and a real server")?;
                return Ok(2);
            }
        },
        Err(f) => {
            term.error(&f.message)?;
            return Ok(f.code);
        }
    };
    let mut options = DrainOptions::default()
        .with_keep(matches.get_flag("keep"))
        .with_poll(Duration::from_millis(500));
    if let Some(secs) = matches.get_one::<u64>("timeout") {
        options = options.with_timeout(Duration::from_secs(*secs));
    }
    let session = match Session::open(matches.get_one::<String>("netns").map(String::as_str)) {
        Ok(s) => s,
        Err(e) => {
            term.error(&e)?;
            return Ok(2);
        }
    };
    let name = match addr {
        std::net::IpAddr::V4(a) => format!("{a}:{port}"),
        std::net::IpAddr::V6(_) => format!("[{}]:{port}", ipvs::addr::Ntop::new(addr)),
    };
    if let Some(warning) = template_warning(session.ipvs(), &service) {
        term.error(&warning)?;
    }
    let tty = io::stdout().is_terminal();
    let mut last: Option<DrainProgress> = None;
    let mut out_err: io::Result<()> = Ok(());
    let result = session.ipvs().drain(&service, addr, port, &options, |p| {
        // The step that sets weight 0 reports the counts read before it: 0 and 0 say nothing
        // yet (the next step judges on a read made at weight 0).
        let settling = matches!(
            p,
            DrainProgress::Waiting {
                active: 0,
                inactive: 0
            }
        );
        if out_err.is_err() || last.as_ref() == Some(p) || settling {
            return;
        }
        last = Some(*p);
        let line = match *p {
            DrainProgress::Waiting { active, inactive } => format!(
                "drain: {name}: weight 0, {active} active and {inactive} inactive connections left"
            ),
            DrainProgress::Removed { left: 0 } => {
                format!("drain: {name}: no connections left, removed")
            }
            DrainProgress::Removed { left } => {
                format!("drain: {name}: timeout passed with {left} connections left, removed")
            }
            DrainProgress::Quiesced { left: 0 } => {
                format!("drain: {name}: no connections left, kept at weight 0")
            }
            DrainProgress::Quiesced { left } => format!(
                "drain: {name}: timeout passed with {left} connections left, kept at weight 0"
            ),
            // A state a newer library may report.
            other => format!("drain: {name}: {other:?}"),
        };
        out_err = if tty && !p.is_done() {
            term.print(&format!("\r\x1b[K{line}"))
                .and_then(|()| term.flush())
        } else if tty {
            term.print(&format!("\r\x1b[K{line}\n"))
        } else {
            term.print(&format!("{line}\n")).and_then(|()| term.flush())
        };
    });
    out_err?;
    match result {
        Ok(Some(_)) => Ok(0),
        Ok(None) => {
            if tty && last.is_some_and(|p| !p.is_done()) {
                term.print("\n")?;
            }
            // What ipvsadm -d says for a destination that is not there.
            term.error(&ipvs::Operation::ipvsadm_message(
                ipvs::Operation::DeleteDestination,
                libc::ENOENT,
            ))?;
            Ok(255)
        }
        Err(e) => {
            if tty && last.is_some_and(|p| !p.is_done()) {
                term.print("\n")?;
            }
            term.error(&message(&e))?;
            Ok(255)
        }
    }
}

/// The warning a drain of a real server of `service` needs when the kernel will keep sending it
/// clients: the service is persistent and `expire_quiescent_template` is 0, so a client with a
/// persistence template keeps going to the server at weight 0 until the template expires (it
/// lasts the persistence timeout past its last connection). `None` otherwise, or when the
/// service or the sysctl cannot be read (the drain itself says what is wrong).
pub(crate) fn template_warning(ipvs: &ipvs::Ipvs, service: &ipvs::ServiceKey) -> Option<String> {
    let entry = ipvs.service(service).ok()??;
    if !entry.service.is_persistent() {
        return None;
    }
    match ipvs::settings::sysctl(ipvs, "expire_quiescent_template").ok()?? {
        ipvs::settings::SysctlValue::Int(0) => Some(format!(
            "drain: warning: {service} is persistent ({} s) and \
             net.ipv4.vs.expire_quiescent_template is 0: clients with a persistence template \
             keep coming to the drained real server until their template expires; set it to 1 \
             to send them to another server",
            entry.service.timeout
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_is_valid() {
        super::command().debug_assert();
    }
}
