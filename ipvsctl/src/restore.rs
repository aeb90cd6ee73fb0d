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
//! in their place; `-h`, `--help` and `-v` print what they print on the
//! command line and end the input with 0 (the lines after them are neither
//! checked nor applied).
//!
//! With `--json`, the input is what `-S --json` writes; the exit status is
//! 255 if the kernel refused any change.
//!
//! SIGINT or SIGTERM while the changes are sent ([`crate::interrupt`]): the
//! batch in flight is finished, the rest is not sent, the message says which
//! input lines (or, with `--json`, how many changes) were applied, and the
//! exit status is 128 + the signal (130, 143).
//!
//! This module reads and checks the input and sends batches; the commands run
//! through the same dispatcher as the command line's (`exec`).

use std::io::{self, Read};

use ipvs::Change;

use crate::cli::{self, Command, Context, Failure};
use crate::session::{message, Session, Term};
use crate::{interrupt, output};

/// One command of the input, with its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub line: usize,
    pub command: Command,
}

/// All of stdin, invalid UTF-8 replaced (ipvsadm reads bytes; its words are
/// ASCII).
pub fn read_input() -> io::Result<String> {
    let mut raw = Vec::new();
    io::stdin().lock().read_to_end(&mut raw)?;
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

/// The signal that stopped [`apply`] short: it sent `sent` of `total` changes.
pub fn interrupted(sent: usize, total: usize) -> Option<i32> {
    interrupt::received().filter(|_| sent < total)
}

/// Splits the input into lines of words as ipvsadm's `config_stream_read`
/// does: words are separated by blanks, tabs and carriage returns, and the
/// word `ipvsadm` is left out. A last line without a newline that ends in
/// two separators or more has no words: ipvsadm's `fscanf` loop reads the
/// first separator with the last word, meets the end of the input while
/// skipping the rest, and drops the line. A word longer than 4,096 bytes is
/// several words (`%4096[^ \t\n\r]`), cut at a character boundary.
pub fn split_lines(text: &str) -> impl Iterator<Item = (usize, Vec<String>)> + '_ {
    const SEPARATORS: [char; 3] = [' ', '\t', '\r'];
    let last = text.matches('\n').count();
    text.split('\n').enumerate().map(move |(i, line)| {
        let mut tail = line.chars().rev();
        if i == last
            && tail.next().is_some_and(|c| SEPARATORS.contains(&c))
            && tail.next().is_some_and(|c| SEPARATORS.contains(&c))
        {
            return (i + 1, Vec::new());
        }
        let words = line
            .split(SEPARATORS)
            .flat_map(pieces)
            .filter(|w| *w != "ipvsadm")
            .map(str::to_string)
            .collect();
        (i + 1, words)
    })
}

/// ipvsadm's `MAX_LINE_LENGTH`: the longest word its `fscanf` reads at once.
const MAX_WORD: usize = 4096;

/// `word` in pieces of at most [`MAX_WORD`] bytes (none if it is empty).
fn pieces(word: &str) -> impl Iterator<Item = &str> {
    let mut rest = word;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(MAX_WORD);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// Parses every line; the first bad one fails the whole input, its message
/// prefixed with `line N: `. A line `-h`, `--help` or `-v` is the last one
/// read: ipvsadm exits there, so the lines after it are not checked.
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
        let last = matches!(
            inv.command,
            Command::Help | Command::Usage | Command::Version
        );
        steps.push(Step {
            line,
            command: inv.command,
        });
        if last {
            break;
        }
    }
    Ok(steps)
}

/// Changes sent between two looks at SIGINT and SIGTERM.
const CHUNK: usize = 1000;

/// Applies `changes` in batches, printing ipvsadm's message for each refused
/// one. Returns, per change, whether it failed (empty if the socket failed;
/// shorter than `changes` when a signal stopped it between two batches).
pub fn apply(session: &Session, changes: &[Change], term: &mut Term) -> io::Result<Vec<bool>> {
    let mut failed = Vec::with_capacity(changes.len());
    for chunk in changes.chunks(CHUNK) {
        if interrupt::received().is_some() {
            break;
        }
        let done = apply_chunk(session, chunk, term)?;
        if done.is_empty() {
            return Ok(Vec::new());
        }
        failed.extend(done);
    }
    Ok(failed)
}

/// [`apply`] for one batch.
fn apply_chunk(session: &Session, changes: &[Change], term: &mut Term) -> io::Result<Vec<bool>> {
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
            // An overrun still knows the outcome of the changes before it: say those first.
            if let ipvs::Error::BatchOverrun { done, refused, .. } = &e {
                for r in done.iter().filter_map(|r| r.as_ref().err()) {
                    term.error(&message(r))?;
                }
                for (_, r) in refused {
                    term.error(&message(r))?;
                }
            }
            term.error(&message(&e))?;
            Ok(Vec::new())
        }
    }
}

/// The changes that recreate what `-S --json` saved: each service, then its
/// destinations.
pub fn json_changes(text: &str) -> Result<Vec<Change>, String> {
    let state = output::parse_save_json(text)?;
    let mut changes = Vec::new();
    if let Some(t) = state.timeouts {
        changes.push(Change::SetTimeouts(t));
    }
    for ipvs::ServiceState {
        service,
        destinations,
    } in state.services
    {
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
    fn unterminated_last_line_with_two_trailing_separators_is_dropped() {
        let words = |text| -> Vec<Vec<String>> { split_lines(text).map(|(_, w)| w).collect() };
        let c = || vec!["-C".to_string()];
        assert_eq!(words("-C  "), vec![Vec::<String>::new()]);
        assert_eq!(words("-C\n-C \t"), vec![c(), vec![]]);
        assert_eq!(words("-C\n-C\t\r"), vec![c(), vec![]]);
        // one separator, leading ones, or a newline at the end: read
        assert_eq!(words("-C "), vec![c()]);
        assert_eq!(words("-C\r"), vec![c()]);
        assert_eq!(words("  -C"), vec![c()]);
        assert_eq!(words("-C  \n"), vec![c(), vec![]]);
        assert_eq!(words("-C  \r\n-C"), vec![c(), c()]);
    }

    #[test]
    fn words_longer_than_4096_bytes_are_cut() {
        let x = |n| "x".repeat(n);
        let words = |text: &str| split_lines(text).next().unwrap().1;
        assert_eq!(words(&x(4096)), vec![x(4096)]);
        assert_eq!(
            words(&format!("-s {}", x(9000))),
            ["-s".to_string(), x(4096), x(4096), x(808)]
        );
        // the word ipvsadm is dropped after the cut
        assert_eq!(
            words(&format!("{}ipvsadm -C", x(4096))),
            [x(4096), "-C".to_string()]
        );
        // never inside a character
        let w = format!("{}é", x(4095));
        assert_eq!(words(&w), [x(4095), "é".to_string()]);
        let f = parse_input("ipvsctl", &format!("-A -t 1.1.1.1:80 -s {}\n", x(5000))).unwrap_err();
        assert_eq!(f.code, 2);
        assert_eq!(f.message, format!("line 1: unexpected argument {}", x(904)));
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
    fn lines_after_help_or_version_are_not_read() {
        for end in ["-h", "--help", "-v", "--version", "-h -n"] {
            let input = format!("-A -t 1.1.1.1:80\n{end}\n-A -t 1.1.1.1:99999\n-R\nbogus\n");
            let steps = parse_input("ipvsctl", &input).unwrap();
            assert_eq!(steps.len(), 2, "{end}");
            assert_eq!(steps[1].line, 2);
        }
        // a bad line before them still fails
        assert!(parse_input("ipvsctl", "-A -t 1.1.1.1:99999\n-h\n").is_err());
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
