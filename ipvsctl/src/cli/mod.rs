//! The command line: ipvsadm 1.31's grammar and rules, read by a hand-written
//! popt-compatible parser ([`parse`]), and a clap description of the same
//! options ([`help`]) that renders `--help`, the man page and completions.
//!
//! Parsing never touches the kernel: every usage error is found first, with
//! ipvsadm's message and exit code ([`Failure`]).

mod entry;
pub mod help;
mod lexer;
pub mod options;
mod parser;
mod rules;
mod values;

use ipvs::{Change, ServiceKey, Timeouts};

use entry::{Entry, Globals};
use lexer::{Lexer, Token};
use options::{Action, OptSpec};
use rules::Cmd;
use values::{daemon_state, timeout};

/// Parses one invocation: the command line (`args` without the program name)
/// or one line of `-R` input, already split into words. Each option's
/// [`Action`] is run in the order given, as ipvsadm's option loop does; then
/// the command's rules are checked and its [`Command`] is built.
pub fn parse<S: AsRef<str>>(prog: &str, args: &[S], ctx: Context) -> Result<Invocation, Failure> {
    let accept: fn(&OptSpec) -> bool = match ctx {
        Context::CommandLine => |_| true,
        Context::RestoreLine => |o| !o.is_global() && !o.hidden,
    };
    let mut lx = Lexer::new(args, accept);
    let mut globals = Globals::default();

    // The first option must be the command (ipvsctl's global options aside).
    let first = loop {
        match lx.next_token() {
            None => {
                if lx.leftovers().is_empty() && ctx == Context::CommandLine {
                    // No arguments at all: ipvsadm lists the table.
                    return globals.finish(Command::List(ListRequest::default()));
                }
                return Err(Failure::try_help(prog));
            }
            Some(Err(_)) => return Err(Failure::try_help(prog)),
            Some(Ok(t)) if t.spec.is_global() => take_global(&mut globals, &t)?,
            Some(Ok(t)) => break t,
        }
    };
    let value = first.value.unwrap_or("");
    let cmd = match first.spec.action {
        Action::Command(cmd) => cmd,
        Action::Exit(invocation) => {
            let long_help = args.iter().any(|a| a.as_ref() == "--help");
            return globals.finish(invocation(value, long_help));
        }
        _ => return Err(Failure::try_help(prog)),
    };
    let mut e = Entry::new(cmd);
    match cmd {
        Cmd::StartDaemon => {
            e.daemon_state = daemon_state(value)
                .ok_or_else(|| Failure::usage("illegal start-daemon parameter specified"))?;
        }
        Cmd::StopDaemon => {
            e.daemon_state = daemon_state(value)
                .ok_or_else(|| Failure::usage("illegal start_daemon specified"))?;
        }
        _ => {}
    }

    while let Some(tok) = lx.next_token() {
        let tok = tok.map_err(|err| Failure::popt(lx.last_arg(), err.text()))?;
        if tok.spec.is_global() {
            take_global(&mut globals, &tok)?;
            continue;
        }
        apply(&mut e, &tok, lx.last_arg()).map_err(Failure::usage)?;
    }

    let mut rest = lx.leftovers().iter();
    if cmd == Cmd::Timeout {
        let (Some(tcp), Some(fin), Some(udp)) = (rest.next(), rest.next(), rest.next()) else {
            return Err(Failure::usage("--set option requires 3 timeout values"));
        };
        e.timeouts = Timeouts {
            tcp: timeout(tcp, 0).map_err(Failure::usage)?,
            tcp_fin: timeout(fin, 0).map_err(Failure::usage)?,
            udp: timeout(udp, 0).map_err(Failure::usage)?,
        };
    }
    if let Some(arg) = rest.next() {
        return Err(Failure::usage(format!("unexpected argument {arg}")));
    }
    if let Some(flags) = e.sched_flags_arg.take() {
        e.apply_sched_flags(&flags).map_err(Failure::usage)?;
    }
    e.opts.insert_all(globals.columns);
    e.check().map_err(Failure::usage)?;
    if cmd == Cmd::Restore && ctx == Context::RestoreLine {
        // ipvsadm refuses to nest restores ("avoid infinite loop").
        return Err(Failure::try_help(prog));
    }
    let unsaid = e.unsaid();
    let command = e.finish().map_err(Failure::usage)?;
    let mut invocation = globals.finish(command)?;
    invocation.unsaid = unsaid;
    Ok(invocation)
}

/// A global option, wherever it is.
fn take_global(globals: &mut Globals, t: &Token) -> Result<(), Failure> {
    if let Some(c) = &t.spec.column {
        globals.columns.insert(c);
    }
    match t.spec.action {
        Action::Global(take) => take(globals, t.value.unwrap_or("")),
        _ => Ok(()),
    }
}

/// One option after the command, as ipvsadm's option loop handles it: its
/// column is recorded (each at most once), then its action runs. `raw` is the
/// argument popt would blame.
fn apply(e: &mut Entry, t: &Token, raw: &str) -> Result<(), String> {
    let record = |e: &mut Entry| match &t.spec.column {
        Some(c) => e.opts.set(c),
        None => Ok(()),
    };
    match t.spec.action {
        Action::Set(set) => {
            record(e)?;
            set(e, t.value.unwrap_or(""))
        }
        Action::SetMaybe(set) => {
            record(e)?;
            set(e, t.value)
        }
        // Commands (and globals that reach here) after the first option.
        Action::Command(_) | Action::Exit(_) | Action::Global(_) => {
            Err(format!("invalid option `{raw}'"))
        }
    }
}

/// Where the arguments come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// The program's own arguments.
    CommandLine,
    /// A line of `-R` input: no global options, no nested `-R`, and an empty
    /// line is no command.
    RestoreLine,
}

/// What to do, with the global options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub command: Command,
    /// What the command leaves unsaid (see [`Unsaid`]).
    pub unsaid: Unsaid,
    /// `--json`.
    pub json: bool,
    /// `--netns NAME|PATH`.
    pub netns: Option<String>,
    /// `--watch SECONDS [--count N]`, only with a listing.
    pub watch: Option<Watch>,
}

/// The fields of a destination command (`-a`, `-e`) that no option gave: the command sends
/// ipvsadm's default for them, but a desired state read from `-S` text (which never writes
/// `-x` or `-y`) cannot say them, so `apply` keeps the table's values there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unsaid {
    /// No `-x`.
    pub upper_threshold: bool,
    /// No `-y`.
    pub lower_threshold: bool,
}

/// `--watch SECONDS [--count N]`: repeat a listing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Watch {
    /// Time between listings.
    pub interval: std::time::Duration,
    /// How many listings; `None` runs until interrupted.
    pub count: Option<u64>,
}

impl Eq for Watch {}

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-L`/`-l` (and no arguments at all).
    List(ListRequest),
    /// `-S`.
    Save { numeric: bool },
    /// `-R`.
    Restore,
    /// Any command that changes the kernel's tables.
    Change(Change),
    /// `--help`: ipvsctl's own help.
    Help,
    /// `-h`: ipvsadm's usage text, for scripts that read it.
    Usage,
    /// `-v`/`--version`.
    Version,
    /// `--generate-man`.
    GenerateMan,
    /// `--generate-completions SHELL`.
    GenerateCompletions(String),
}

/// A listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    pub what: ListWhat,
    pub flags: ListFlags,
}

/// What a listing shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListWhat {
    /// Every service.
    #[default]
    All,
    /// One service (`-L -t ...`).
    Service(ServiceKey),
    /// `-c`.
    Connections,
    /// `--timeout`.
    Timeouts,
    /// `--daemon`.
    Daemons,
}

/// ipvsadm's listing format flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListFlags {
    pub numeric: bool,
    pub exact: bool,
    pub nosort: bool,
    pub stats: bool,
    pub rate: bool,
    pub thresholds: bool,
    pub persistent_conn: bool,
    pub tun_info: bool,
}

/// A usage error: what to print on stderr (a newline is added) and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    /// ipvsadm's `fail(2, ...)`.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// ipvsadm's `tryhelp_exit(argv[0], -1)`.
    pub fn try_help(prog: &str) -> Self {
        Failure {
            code: 255,
            message: format!("Try `{prog} -h' or '{prog} --help' for more information."),
        }
    }

    /// A popt error after the command: `"<argument>: <popt's text>"`, exit 255.
    pub fn popt(arg: &str, text: &str) -> Self {
        Failure {
            code: 255,
            message: format!("{arg}: {text}"),
        }
    }
}

#[cfg(test)]
mod tests;
