//! `-R`: restore rules from stdin.
//!
//! Text input is what `-S` writes, or any ipvsadm command lines, one per line
//! (split on blanks like ipvsadm's `config_stream_read`: a word `ipvsadm` is
//! dropped, blank lines are skipped). Unlike ipvsadm, the whole input is
//! checked first: a bad line is reported as `line N: <ipvsadm's message>` and
//! nothing is sent. Then the changes go to the kernel in batches, many
//! messages per send; each refused change prints ipvsadm's message and the
//! rest go on, and, as with ipvsadm, the exit status is that of the last
//! command (255 if the kernel refused it). Listing commands in the input run
//! in their place.
//!
//! With `--json`, the input is what `-S --json` writes; the exit status is
//! 255 if the kernel refused any change.

use std::io::{self, Read};

use ipvs::Change;

use crate::cli::help;
use crate::cli::{self, Command, Context, Failure, Invocation};
use crate::exec::{message, version_line, Session, Term};
use crate::output;

/// One command of the input, with its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub line: usize,
    pub command: Command,
}

/// Runs `-R` and returns the exit code.
pub fn run(inv: &Invocation, prog: &str, term: &mut Term) -> io::Result<i32> {
    let mut raw = Vec::new();
    io::stdin().lock().read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    if inv.json {
        let changes = match json_changes(&text) {
            Ok(c) => c,
            Err(msg) => {
                term.error(&msg)?;
                return Ok(2);
            }
        };
        let session = match Session::open(inv.netns.as_deref()) {
            Ok(s) => s,
            Err(msg) => {
                term.error(&msg)?;
                return Ok(2);
            }
        };
        let failed = apply(&session, &changes, term)?;
        return Ok(if failed.iter().any(|f| *f) { 255 } else { 0 });
    }
    let steps = match parse_input(prog, &text) {
        Ok(s) => s,
        Err(f) => {
            term.error(&f.message)?;
            return Ok(f.code);
        }
    };
    let session = match Session::open(inv.netns.as_deref()) {
        Ok(s) => s,
        Err(msg) => {
            term.error(&msg)?;
            return Ok(2);
        }
    };
    execute(&session, steps, term)
}

/// Splits the input into lines of words as ipvsadm's `config_stream_read`
/// does: words are separated by blanks, tabs and carriage returns, and the
/// word `ipvsadm` is left out.
pub fn split_lines(text: &str) -> impl Iterator<Item = (usize, Vec<String>)> + '_ {
    text.split('\n').enumerate().map(|(i, line)| {
        let words = line
            .split([' ', '\t', '\r'])
            .filter(|w| !w.is_empty() && *w != "ipvsadm")
            .map(str::to_string)
            .collect();
        (i + 1, words)
    })
}

/// Parses every line; the first bad one fails the whole input, its message
/// prefixed with `line N: `.
pub fn parse_input(prog: &str, text: &str) -> Result<Vec<Step>, Failure> {
    let mut steps = Vec::new();
    for (line, words) in split_lines(text) {
        if words.is_empty() {
            continue;
        }
        let inv = cli::parse(prog, &words, Context::RestoreLine).map_err(|f| Failure {
            code: f.code,
            message: format!("line {line}: {}", f.message),
        })?;
        steps.push(Step {
            line,
            command: inv.command,
        });
    }
    Ok(steps)
}

/// Runs the steps in order, sending consecutive changes as one batch.
pub fn execute(session: &Session, steps: Vec<Step>, term: &mut Term) -> io::Result<i32> {
    let mut status = 0;
    let mut batch: Vec<Change> = Vec::new();
    for step in steps {
        if let Command::Change(c) = step.command {
            batch.push(c);
            continue;
        }
        if let Some(code) = flush(session, &mut batch, term, &mut status)? {
            return Ok(code);
        }
        match &step.command {
            Command::Help => {
                term.print(&help::help_text())?;
                return Ok(0);
            }
            Command::Version => {
                term.print(&version_line())?;
                return Ok(0);
            }
            other => {
                // Listings: ipvsadm exits at once when one fails.
                let code = session.run(other, false, term)?;
                if code != 0 {
                    return Ok(code);
                }
                status = 0;
            }
        }
    }
    if let Some(code) = flush(session, &mut batch, term, &mut status)? {
        return Ok(code);
    }
    Ok(status)
}

/// Sends the pending changes; `status` becomes the last one's. `Some(code)`
/// when the socket itself failed.
fn flush(
    session: &Session,
    batch: &mut Vec<Change>,
    term: &mut Term,
    status: &mut i32,
) -> io::Result<Option<i32>> {
    if batch.is_empty() {
        return Ok(None);
    }
    let failed = apply(session, batch, term)?;
    batch.clear();
    if failed.is_empty() {
        // The socket failed before any result; apply has said why.
        return Ok(Some(255));
    }
    if let Some(last) = failed.last() {
        *status = if *last { 255 } else { 0 };
    }
    Ok(None)
}

/// Applies `changes` in batches, printing ipvsadm's message for each refused
/// one. Returns, per change, whether it failed (empty if the socket failed).
fn apply(session: &Session, changes: &[Change], term: &mut Term) -> io::Result<Vec<bool>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    match session.ipvs().apply(changes) {
        Ok(results) => {
            let mut failed = Vec::with_capacity(results.len());
            for r in results {
                if let Err(e) = &r {
                    term.error(&message(e))?;
                }
                failed.push(r.is_err());
            }
            Ok(failed)
        }
        Err(e) => {
            term.error(&message(&e))?;
            Ok(Vec::new())
        }
    }
}

/// The changes that recreate what `-S --json` saved: each service, then its
/// destinations.
pub fn json_changes(text: &str) -> Result<Vec<Change>, String> {
    let services = output::parse_save_json(text)?;
    let mut changes = Vec::new();
    for (service, destinations) in services {
        let key = service.key;
        changes.push(Change::AddService(service));
        changes.extend(
            destinations
                .into_iter()
                .map(|destination| Change::AddDestination {
                    service: key,
                    destination,
                }),
        );
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_config_stream_read() {
        let lines: Vec<_> = split_lines("ipvsadm -A\t-t 1.1.1.1:80\r\n\n  \n-C").collect();
        assert_eq!(
            lines[0],
            (1, vec!["-A".into(), "-t".into(), "1.1.1.1:80".into()])
        );
        assert!(lines[1].1.is_empty() && lines[2].1.is_empty());
        assert_eq!(lines[3], (4, vec!["-C".to_string()]));
    }

    #[test]
    fn whole_input_is_checked_first() {
        let input = "-A -t 1.1.1.1:80 -s rr\n\n-a -t 1.1.1.1:80 -r 10.0.0.1 -w x\n";
        let f = parse_input("ipvsctl", input).unwrap_err();
        assert_eq!(f.code, 2);
        assert_eq!(f.message, "line 3: illegal weight specified");
    }

    #[test]
    fn save_output_parses() {
        let input = "-A -t 1.1.1.1:80 -s rr\n-a -t 1.1.1.1:80 -r 10.0.0.1:80 -m -w 1\n\
                     -A -f 5 -6 -s wlc -p 360\n-a -f 5 -6 -r [2001:db8::1]:0 -g -w 0\n";
        let steps = parse_input("ipvsctl", input).unwrap();
        assert_eq!(steps.len(), 4);
        assert!(steps
            .iter()
            .all(|s| matches!(s.command, Command::Change(_))));
        assert_eq!(steps[3].line, 4);
    }

    #[test]
    fn nested_restore_and_globals_are_refused() {
        let f = parse_input("ipvsctl", "-R\n").unwrap_err();
        assert_eq!(f.code, 255);
        assert_eq!(
            f.message,
            "line 1: Try `ipvsctl -h' or 'ipvsctl --help' for more information."
        );
        let f = parse_input("ipvsctl", "-L --json\n").unwrap_err();
        assert_eq!(f.message, "line 1: --json: unknown option");
        let f = parse_input("ipvsctl", "-R -n\n").unwrap_err();
        assert_eq!(
            f.message,
            "line 1: Illegal 'numeric' option with the 'restore' command"
        );
    }

    #[test]
    fn comments_are_not_special() {
        // ipvsadm does not strip '#': a comment is an unexpected argument.
        let f = parse_input("ipvsctl", "-A -t 1.1.1.1:80 # web\n").unwrap_err();
        assert_eq!(f.message, "line 1: unexpected argument #");
        let f = parse_input("ipvsctl", "# a comment\n").unwrap_err();
        assert_eq!(f.code, 255);
    }
}
