//! The one dispatcher: every command, given on the command line or as a line
//! of `-R` input, runs through [`Runner::dispatch`], which prints what ipvsadm
//! prints and gives its exit code: 0, 1 for a failed listing, 2 when IPVS
//! cannot be opened, 255 for a refused change.

use std::io;

use ipvs::Change;

use crate::cli::{help, Command, Invocation, Watch};
use crate::restore::{self, Step};
use crate::session::{Session, Term};
use crate::{apply, drain, healthd, interrupt, top};

/// Runs one invocation of the program and returns its exit code.
pub fn run(inv: &Invocation, prog: &str, term: &mut Term) -> io::Result<i32> {
    let mut runner = Runner {
        prog,
        json: inv.json,
        settings: inv.settings,
        netns: inv.netns.as_deref(),
        watch: inv.watch,
        session: None,
        done: 0,
        status: 0,
        term,
    };
    match &inv.command {
        Command::Restore => runner.restore(),
        command => match runner.dispatch(command)? {
            Flow::Exit(code) => Ok(code),
            Flow::Next => Ok(runner.status),
        },
    }
}

/// What comes after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// The next command, if any; the exit status so far is [`Runner::status`].
    Next,
    /// The end, with this exit code (`-h`, `-v`, a failed listing, no IPVS).
    Exit(i32),
}

/// Runs commands one after the other: the command line's one, or each line of
/// `-R` input.
struct Runner<'a> {
    prog: &'a str,
    /// `--json` (never set for `-R` lines: they print text).
    json: bool,
    /// `--settings` of `-S --json`.
    settings: bool,
    netns: Option<&'a str>,
    /// `--watch`, for the command line's listing.
    watch: Option<Watch>,
    /// Opened by the first command that needs the kernel.
    session: Option<Session>,
    /// The last `-R` input line applied: for the message when a signal stops `-R`.
    done: usize,
    /// The exit status of the last command, as ipvsadm's `-R` ends with it.
    status: i32,
    term: &'a mut Term,
}

impl Runner<'_> {
    /// Runs one command.
    fn dispatch(&mut self, command: &Command) -> io::Result<Flow> {
        // `-h`, `--help` and `-v` print what they print, and end the run (and
        // the `-R` input) with 0, as ipvsadm's `usage_exit` and `version_exit` do.
        if let Some(text) = info_text(command, self.prog) {
            self.term.print(&text)?;
            return Ok(Flow::Exit(0));
        }
        match command {
            Command::GenerateMan => {
                self.term.print_bytes(&help::man_page(clap_command())?)?;
                Ok(Flow::Exit(0))
            }
            Command::GenerateCompletions(shell) => match help::completions(clap_command(), shell) {
                Some(script) => {
                    self.term.print_bytes(&script)?;
                    Ok(Flow::Exit(0))
                }
                None => {
                    self.term.error(&format!(
                        "unknown shell `{shell}' (bash, zsh, fish, elvish or powershell)"
                    ))?;
                    Ok(Flow::Exit(2))
                }
            },
            // The parser refuses `-R` in `-R` input, so this is the command line's.
            Command::Restore => Ok(Flow::Exit(self.restore()?)),
            Command::List(_) | Command::Save { .. } | Command::Change(_) => {
                if let Err(code) = self.open()? {
                    return Ok(Flow::Exit(code));
                }
                let Some(session) = &self.session else {
                    return Ok(Flow::Exit(2));
                };
                let code = match (command, self.watch) {
                    (Command::List(req), Some(w)) => session.watch(req, self.json, w, self.term)?,
                    (Command::List(req), None) => session.list(req, self.json, self.term)?,
                    (Command::Save { numeric }, _) => {
                        session.save(*numeric, self.json, self.settings, self.term)?
                    }
                    (Command::Change(change), _) => {
                        self.status = session.change(change, self.term)?;
                        return Ok(Flow::Next);
                    }
                    _ => 0,
                };
                // A listing that fails ends the run (ipvsadm exits at once).
                if code != 0 {
                    return Ok(Flow::Exit(code));
                }
                self.status = 0;
                Ok(Flow::Next)
            }
            Command::Help | Command::Usage | Command::Version => Ok(Flow::Exit(0)),
        }
    }

    /// Opens IPVS unless it is open; `Err(2)` once the reason is said.
    fn open(&mut self) -> io::Result<Result<(), i32>> {
        if self.session.is_some() {
            return Ok(Ok(()));
        }
        match Session::open(self.netns) {
            Ok(s) => {
                self.session = Some(s);
                Ok(Ok(()))
            }
            Err(message) => {
                self.term.error(&message)?;
                Ok(Err(2))
            }
        }
    }

    /// Sends the changes of consecutive `-R` input lines (`lines`: the line
    /// of each) in batches; the status becomes the last one's. `Some(code)`
    /// when the socket itself failed, or when SIGINT or SIGTERM stopped the
    /// sending between two batches (128 + the signal).
    fn flush(&mut self, changes: &[Change], lines: &[u32]) -> io::Result<Option<i32>> {
        let Some(session) = &self.session else {
            return Ok(None);
        };
        if changes.is_empty() {
            return Ok(None);
        }
        let failed = restore::apply(session, changes, self.term)?;
        if let Some(signal) = restore::interrupted(failed.len(), changes.len()) {
            let last = failed
                .len()
                .checked_sub(1)
                .map_or(self.done, |i| lines[i] as usize);
            let applied = if last == 0 {
                "nothing was applied".to_string()
            } else {
                format!("input lines 1 to {last} were applied")
            };
            self.term.error(&format!(
                "ipvsctl: interrupted by {}: {applied}, the lines after it were not sent",
                interrupt::name(signal)
            ))?;
            return Ok(Some(interrupt::exit_code(signal)));
        }
        self.done = lines.last().map_or(self.done, |&l| l as usize);
        match failed.last() {
            // The socket failed before any result; apply has said why.
            None => Ok(Some(255)),
            Some(last) => {
                self.status = if *last { 255 } else { 0 };
                Ok(None)
            }
        }
    }

    /// `-R`: reads stdin whole and checks it all, then runs each line's
    /// command (see [`restore`]), or with `--json` applies the saved state.
    fn restore(&mut self) -> io::Result<i32> {
        let text = restore::read_input()?;
        if self.json {
            let changes = match restore::json_changes(&text) {
                Ok(c) => c,
                Err(msg) => {
                    self.term.error(&msg)?;
                    return Ok(2);
                }
            };
            if let Err(code) = self.open()? {
                return Ok(code);
            }
            let Some(session) = &self.session else {
                return Ok(2);
            };
            interrupt::watch()?;
            let failed = restore::apply(session, &changes, self.term)?;
            if let Some(signal) = restore::interrupted(failed.len(), changes.len()) {
                self.term.error(&format!(
                    "{}: interrupted by {}: the first {} of the {} changes were applied, \
                     the rest were not sent",
                    self.prog,
                    interrupt::name(signal),
                    failed.len(),
                    changes.len()
                ))?;
                return Ok(interrupt::exit_code(signal));
            }
            return Ok(if failed.iter().any(|f| *f) { 255 } else { 0 });
        }
        let steps = match restore::parse_input(self.prog, &text) {
            Ok(s) => s,
            Err(f) => {
                self.term.error(&f.message)?;
                return Ok(f.code);
            }
        };
        // The changes own what they need: the text can go before they are sent.
        drop(text);
        if let Err(code) = self.open()? {
            return Ok(code);
        }
        // The lines print text: `--json` is the command line's, for the input.
        self.json = false;
        // Only for changes: a listing alone stops at a signal as usual.
        if steps.iter().any(|s| matches!(s, Step::Changes { .. })) {
            interrupt::watch()?;
        }
        // Changes go to the kernel in batches, each run of them before the
        // command after it.
        for step in &steps {
            match step {
                Step::Changes { lines, changes } => {
                    if let Some(code) = self.flush(changes, lines)? {
                        return Ok(code);
                    }
                }
                Step::Command { line, command } => {
                    if let Flow::Exit(code) = self.dispatch(command)? {
                        return Ok(code);
                    }
                    self.done = *line;
                }
            }
        }
        Ok(self.status)
    }
}

/// What `--help`, `-h` and `-v` print on stdout before exiting with 0, on
/// the command line and as a line of `-R` input alike; `None` for the other
/// commands.
pub fn info_text(command: &Command, prog: &str) -> Option<String> {
    match command {
        Command::Help => Some(help::help_text(clap_command())),
        Command::Usage => Some(format!("{}{}", version_line(), help::ipvsadm_usage(prog))),
        Command::Version => Some(version_line()),
        _ => None,
    }
}

/// The whole command line as clap describes it, for `--help`, the man page and
/// the completions: the ipvsadm-compatible options and the subcommands.
fn clap_command() -> clap::Command {
    help::command()
        .subcommand(apply::command())
        .subcommand(drain::command())
        .subcommand(crate::conns::command())
        .subcommand(top::command())
        .subcommand(healthd::command())
}

/// `-v`: ipvsadm's version line, for ipvsctl.
pub fn version_line() -> String {
    format!(
        "ipvsctl v{} (compatible with ipvsadm v1.31, IPVS v1.2.1)\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_and_version_lines_print_what_they_print_outside() {
        let steps = restore::flat(restore::parse_input("ipvsctl", "-h\n").unwrap());
        assert_eq!(steps[0].1, Command::Usage);
        let usage = info_text(&steps[0].1, "ipvsctl").unwrap();
        assert!(usage.starts_with("ipvsctl v"));
        assert!(usage.contains("Usage:\n  ipvsctl -A|E virtual-service"));
        let steps = restore::flat(restore::parse_input("ipvsctl", "-v\n").unwrap());
        assert_eq!(
            info_text(&steps[0].1, "ipvsctl").unwrap().lines().count(),
            1
        );
        let steps = restore::flat(restore::parse_input("ipvsctl", "--help\n").unwrap());
        assert!(info_text(&steps[0].1, "ipvsctl").is_some());
        let steps = restore::flat(restore::parse_input("ipvsctl", "-A -t 1.1.1.1:80\n").unwrap());
        assert!(info_text(&steps[0].1, "ipvsctl").is_none());
    }
}
