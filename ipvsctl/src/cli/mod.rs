//! The command line: ipvsadm 1.31's grammar and rules, read by a hand-written
//! popt-compatible parser ([`parse`]), and a clap description of the same
//! options ([`help`]) that renders `--help`, the man page and completions.
//!
//! Parsing never touches the kernel: every usage error is found first, with
//! ipvsadm's message and exit code ([`Failure`]).

mod command;
mod entry;
pub mod help;
mod lexer;
pub mod options;
mod parser;
mod rules;
mod values;

use ipvs::Timeouts;

pub use command::{
    Command, Context, Failure, Invocation, ListFlags, ListRequest, ListWhat, Unsaid, Watch,
};
use entry::{Entry, Globals};
use lexer::{Lexer, Token};
use options::Action;
use rules::Cmd;
use values::{daemon_state, timeout};

/// Parses one invocation: the command line (`args` without the program name)
/// or one line of `-R` input, already split into words. Each option's
/// [`Action`] is run in the order given, as ipvsadm's option loop does; then
/// the command's rules are checked and its [`Command`] is built.
pub fn parse<S: AsRef<str>>(prog: &str, args: &[S], ctx: Context) -> Result<Invocation, Failure> {
    let mut globals = Globals::default();
    let (command, unsaid) = parse_command(prog, args, ctx, &mut globals)?;
    let mut invocation = globals.finish(command)?;
    invocation.unsaid = unsaid;
    Ok(invocation)
}

/// One line of `-R` input, already split into words, as [`parse`] reads it in
/// [`Context::RestoreLine`]: the same command, what it leaves unsaid, and the same
/// failures, without the [`Invocation`] around them, which would hold nothing else (a restore
/// line knows no global option: its lexer finds none). `-R` and `apply` read every line so.
pub fn parse_line<S: AsRef<str>>(prog: &str, words: &[S]) -> Result<(Command, Unsaid), Failure> {
    let mut globals = Globals::default();
    let parsed = parse_command(prog, words, Context::RestoreLine, &mut globals);
    debug_assert!(globals.is_empty(), "a restore line gave a global option");
    parsed
}

/// [`parse`] up to the global options' checks: the command and what it leaves unsaid, the
/// global options given in `globals`.
fn parse_command<S: AsRef<str>>(
    prog: &str,
    args: &[S],
    ctx: Context,
    globals: &mut Globals,
) -> Result<(Command, Unsaid), Failure> {
    let mut lx = Lexer::new(args, ctx);
    let plain = lx.plain();

    // The first option must be the command (ipvsctl's global options aside): nearly always
    // the usual option (`-a`), read as the lexer reads it.
    let first = match plain.at(0) {
        Some((t, next)) if !t.spec.is_global() => {
            lx.resume(next);
            t
        }
        _ => loop {
            match lx.next_token() {
                None => {
                    if lx.leftovers().is_empty() && ctx == Context::CommandLine {
                        // No arguments at all: ipvsadm lists the table.
                        return Ok((Command::List(ListRequest::default()), Unsaid::default()));
                    }
                    return Err(Failure::try_help(prog));
                }
                Some(Err(_)) => return Err(Failure::try_help(prog)),
                Some(Ok(t)) if t.spec.is_global() => take_global(globals, &t)?,
                Some(Ok(t)) => break t,
            }
        },
    };
    let value = first.value.unwrap_or("");
    let cmd = match first.spec.action {
        Action::Command(cmd) => cmd,
        Action::Exit(invocation) => {
            let long_help = args.iter().any(|a| a.as_ref() == "--help");
            return Ok((invocation(value, long_help), Unsaid::default()));
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

    // The usual option after the command, `-t` and its value, read by the lexer's rules
    // where nothing is pending, with where it is kept here (the options' calls cannot touch
    // it); anything else, and all that follows, by the lexer itself.
    if let Some(mut i) = lx.resting() {
        while let Some((tok, next)) = plain.at(i) {
            i = next;
            if tok.spec.is_global() {
                take_global(globals, &tok)?;
                continue;
            }
            apply(&mut e, &tok, || lx.arg(next - 1)).map_err(Failure::usage)?;
        }
        lx.resume(i);
    }
    while let Some(tok) = lx.next_token() {
        let tok = tok.map_err(|err| Failure::popt(lx.last_arg(), err.text()))?;
        if tok.spec.is_global() {
            take_global(globals, &tok)?;
            continue;
        }
        apply(&mut e, &tok, || lx.last_arg()).map_err(Failure::usage)?;
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
        e.apply_sched_flags(flags).map_err(Failure::usage)?;
    }
    e.opts.insert_all(globals.columns);
    e.check().map_err(Failure::usage)?;
    if cmd == Cmd::Restore && ctx == Context::RestoreLine {
        // ipvsadm refuses to nest restores ("avoid infinite loop").
        return Err(Failure::try_help(prog));
    }
    let unsaid = e.unsaid();
    let command = e.finish().map_err(Failure::usage)?;
    Ok((command, unsaid))
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
/// column is recorded (each at most once), then its action runs. `raw` gives the
/// argument popt would blame (looked up only then).
#[inline(always)]
fn apply<'a, 'r>(
    e: &mut Entry<'a>,
    t: &Token<'a>,
    raw: impl FnOnce() -> &'r str,
) -> Result<(), String> {
    let record = |e: &mut Entry<'a>| match &t.spec.column {
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
            Err(format!("invalid option `{}'", raw()))
        }
    }
}

#[cfg(test)]
mod tests;
