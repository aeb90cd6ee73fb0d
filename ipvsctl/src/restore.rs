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

use crate::cli::{self, Command, Failure};
use crate::session::{message, Session, Term};
use crate::{interrupt, output};

/// What the input asks, in its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The changes of consecutive lines (`lines`: the line of each, as `line32` keeps
    /// it), sent in batches straight from here.
    Changes {
        lines: Vec<u32>,
        changes: Vec<Change>,
    },
    /// Any other command, run in its place.
    Command { line: usize, command: Command },
}

/// All of stdin, invalid UTF-8 replaced (ipvsadm reads bytes; its words are
/// ASCII).
pub fn read_input() -> io::Result<String> {
    let mut raw = Vec::new();
    io::stdin().lock().read_to_end(&mut raw)?;
    // Valid input (the usual) is kept as read, not copied.
    Ok(String::from_utf8(raw)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// The signal that stopped [`apply`] short: it sent `sent` of `total` changes.
pub fn interrupted(sent: usize, total: usize) -> Option<i32> {
    interrupt::received().filter(|_| sent < total)
}

/// The input's lines, numbered from 1, as ipvsadm's `config_stream_read`
/// reads them: a last line without a newline that ends in two separators or
/// more is given empty (it has no words): ipvsadm's `fscanf` loop reads the
/// first separator with the last word, meets the end of the input while
/// skipping the rest, and drops the line. [`words`] splits each line. [`LineWords`] reads by
/// these rules in one pass (its test compares them).
#[cfg(test)]
pub fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> + '_ {
    let mut split = text.split('\n').enumerate().peekable();
    std::iter::from_fn(move || {
        let (i, line) = split.next()?;
        if split.peek().is_none() {
            let mut tail = line.bytes().rev();
            if tail.next().is_some_and(is_separator) && tail.next().is_some_and(is_separator) {
                return Some((i + 1, ""));
            }
        }
        Some((i + 1, line))
    })
}

/// ipvsadm's word separators: blanks, tabs and carriage returns.
fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r')
}

/// Puts the words of `line` in `out` (emptied first), borrowed from the
/// line, as ipvsadm's `config_stream_read` reads them: words are separated
/// by blanks, tabs and carriage returns, and the word `ipvsadm` is left out.
/// A word longer than 4,096 bytes is several words (`%4096[^ \t\n\r]`), cut at
/// a character boundary.
#[cfg(test)]
pub fn words<'a>(line: &'a str, out: &mut Vec<&'a str>) {
    out.clear();
    // The separators are ASCII: cutting at them keeps whole characters.
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if is_separator(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_separator(b[i]) {
            i += 1;
        }
        out.extend(pieces(&line[start..i]).filter(|w| *w != "ipvsadm"));
    }
}

/// The input's lines and their words in one pass over the bytes, as `lines` and `words` (the
/// rules, kept for the tests) read them, as ipvsadm's `config_stream_read` reads them: words
/// are separated by blanks, tabs and carriage returns, the word `ipvsadm` is left out, a word
/// longer than 4,096 bytes is several words, and a last line without a newline that ends in
/// two separators or more is given empty. A test compares them on inputs of every shape. Each
/// call of [`LineWords::next_line`] gives the next line's number and its words, borrowed from
/// the input.
pub struct LineWords<'a> {
    text: &'a str,
    /// Where the next line starts; past the end when none is left.
    at: usize,
    line: usize,
    /// The words of the line read by [`LineWords::fast_line`] (the usual), at most [`FIRST`].
    first: [&'a str; FIRST],
    /// The words of the line read, when [`LineWords::slow_line`] read it.
    all: Vec<&'a str>,
}

/// How many words of a line [`LineWords`] keeps without a `Vec` (ipvsadm's lines have at most
/// 15 or so).
const FIRST: usize = 24;

impl<'a> LineWords<'a> {
    pub fn new(text: &'a str) -> Self {
        LineWords {
            text,
            at: 0,
            line: 0,
            first: [""; FIRST],
            all: Vec::new(),
        }
    }

    /// The next line's number (from 1) and its words; `None` after the last line.
    pub fn next_line(&mut self) -> Option<(usize, &[&'a str])> {
        let line_start = self.at;
        if line_start > self.text.len() {
            return None;
        }
        self.line += 1;
        match self.fast_line(line_start) {
            Some(n) => Some((self.line, &self.first[..n])),
            None => {
                self.slow_line(line_start);
                Some((self.line, &self.all))
            }
        }
    }

    /// The line at `line_start` into [`LineWords::first`], eight bytes at a time; how many
    /// words it has. `None` (the next line's place left as it was) for a line it leaves to
    /// [`LineWords::slow_line`]: one of more than [`FIRST`] words or longer than [`MAX_WORD`]
    /// (a word may be), or one that does not end before the text's last eight bytes.
    ///
    /// A `u64` of eight bytes marks those at most `' '` (few bytes in a word are, and the
    /// separators and the newline all are; a byte of a character of several bytes is not),
    /// and each marked byte is looked at: a separator ends the word before it, if any, the
    /// newline the line.
    #[inline(always)]
    fn fast_line(&mut self, line_start: usize) -> Option<usize> {
        let text = self.text;
        let b = text.as_bytes();
        let mut n = 0;
        // Where the word being read starts: past the last separator (a separator there: no
        // word yet).
        let mut start = line_start;
        // The bytes from `at` on.
        let mut at = line_start;
        let mut rest = b.get(at..)?;
        while let Some(eight) = rest.first_chunk::<8>() {
            let x = u64::from_le_bytes(*eight);
            let mut low = at_most_blank(x);
            while low != 0 {
                let end = at + (low.trailing_zeros() / 8) as usize;
                low &= low - 1;
                let c = b[end];
                if !ends_word(c) {
                    continue;
                }
                if end > start {
                    // The bytes cut at are ASCII: whole characters.
                    let word = &text[start..end];
                    if word.len() != 7 || word != "ipvsadm" {
                        *self.first.get_mut(n)? = word;
                        n += 1;
                    }
                }
                if c == b'\n' {
                    // No word is longer than its line.
                    if end - line_start > MAX_WORD {
                        return None;
                    }
                    self.at = end + 1;
                    return Some(n);
                }
                start = end + 1;
            }
            at += 8;
            rest = &rest[8..];
        }
        None
    }

    /// The line at `line_start` into [`LineWords::all`], a byte at a time: any line.
    #[cold]
    #[inline(never)]
    fn slow_line(&mut self, line_start: usize) {
        let out = &mut self.all;
        out.clear();
        let text = self.text;
        let b = text.as_bytes();
        let mut start = line_start;
        let mut at = line_start;
        while let Some(&c) = b.get(at) {
            if ends_word(c) {
                if at > start {
                    push_word(&text[start..at], out);
                }
                if c == b'\n' {
                    self.at = at + 1;
                    return;
                }
                start = at + 1;
            }
            at += 1;
        }
        // The last line, without a newline.
        if at > start {
            push_word(&text[start..at], out);
        }
        // It is given empty if it ends in two separators or more (ipvsadm's `fscanf` loop
        // drops it).
        let line = &b[line_start..];
        if line.len() >= 2
            && is_separator(line[line.len() - 1])
            && is_separator(line[line.len() - 2])
        {
            out.clear();
        }
        self.at = b.len() + 1;
    }
}

/// Puts `word` in `out` unless it is `ipvsadm`; one longer than [`MAX_WORD`] in pieces.
fn push_word<'a>(word: &'a str, out: &mut Vec<&'a str>) {
    if word.len() > MAX_WORD {
        out.extend(pieces(word).filter(|w| *w != "ipvsadm"));
    } else if word != "ipvsadm" {
        out.push(word);
    }
}

/// The bytes of `x` at most `' '`: the top bit of each set, the others clear. Exact for each
/// byte (no carry crosses one): a byte's low seven bits plus `0x5f` reach `0x80` from `'!'` on,
/// and a byte of `0x80` or more has that bit already.
#[inline(always)]
fn at_most_blank(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const TOP: u64 = 0x8080_8080_8080_8080;
    const UP: u64 = 0x5f5f_5f5f_5f5f_5f5f;
    !(((x & LOW7) + UP) | x) & TOP
}

/// Whether `c` is a separator or the newline: one comparison for most bytes (they are all at
/// most ' '), and a bit of a mask for the others.
#[inline(always)]
fn ends_word(c: u8) -> bool {
    const ENDS: u64 = 1 << b' ' | 1 << b'\t' | 1 << b'\r' | 1 << b'\n';
    c <= b' ' && ENDS & (1 << c) != 0
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
    let mut input = LineWords::new(text);
    while let Some((line, line_words)) = input.next_line() {
        if line_words.is_empty() {
            continue;
        }
        let (command, _) = cli::parse_line(prog, line_words).map_err(|f| Failure {
            code: f.code,
            message: format!("line {line}: {}", f.message),
        })?;
        let last = matches!(command, Command::Help | Command::Usage | Command::Version);
        match (command, steps.last_mut()) {
            (Command::Change(change), Some(Step::Changes { lines, changes })) => {
                lines.push(line32(line));
                changes.push(change);
            }
            (Command::Change(change), _) => steps.push(Step::Changes {
                lines: vec![line32(line)],
                changes: vec![change],
            }),
            (command, _) => steps.push(Step::Command { line, command }),
        }
        if last {
            break;
        }
    }
    Ok(steps)
}

/// A line's number as `-R` keeps it for each change (4 bytes, not 8; past `u32::MAX`, which
/// no input reaches, the last).
fn line32(line: usize) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// Each line's command, in order (for tests).
#[cfg(test)]
pub fn flat(steps: Vec<Step>) -> Vec<(usize, Command)> {
    let mut all = Vec::new();
    for step in steps {
        match step {
            Step::Changes { lines, changes } => {
                all.extend(
                    lines
                        .into_iter()
                        .map(|l| l as usize)
                        .zip(changes.into_iter().map(Command::Change)),
                );
            }
            Step::Command { line, command } => all.push((line, command)),
        }
    }
    all
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
    // -R adds; it has no way back for a sysctl or a daemon: apply has (and undoes them).
    if !state.sysctls.is_empty() || state.sync_daemons.is_some() {
        return Err(
            "the document sets sysctls or sync_daemons, which -R --json does not \
                    restore: use ipvsctl apply"
                .to_string(),
        );
    }
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
    use crate::cli::{Context, Invocation};

    /// Each line's words, owned.
    fn split_lines(text: &str) -> impl Iterator<Item = (usize, Vec<String>)> + '_ {
        let mut buf = Vec::new();
        lines(text).map(move |(n, line)| {
            words(line, &mut buf);
            (n, buf.iter().map(|w| w.to_string()).collect())
        })
    }

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
        // One run of changes, sent in batches.
        assert_eq!(steps.len(), 1);
        let steps = flat(steps);
        assert_eq!(steps.len(), 4);
        assert!(steps.iter().all(|s| matches!(s.1, Command::Change(_))));
        assert_eq!(steps[3].0, 4);
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
            let steps = flat(parse_input("ipvsctl", &input).unwrap());
            assert_eq!(steps.len(), 2, "{end}");
            assert_eq!(steps[1].0, 2);
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

    /// The splitting before in-place words: a `String` per word.
    fn split_lines_owned(text: &str) -> Vec<(usize, Vec<String>)> {
        const SEPARATORS: [char; 3] = [' ', '\t', '\r'];
        let last = text.matches('\n').count();
        text.split('\n')
            .enumerate()
            .map(|(i, line)| {
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
            .collect()
    }

    /// Inputs of every shape the splitting cares about: separators of each
    /// kind and in runs, the word `ipvsadm` alone and inside others, words
    /// around 4,096 bytes with characters of several bytes at the cut, and
    /// every way to end the input.
    fn varied_inputs() -> Vec<String> {
        let parts = [
            " ",
            "\t",
            "\r",
            "\n",
            "  ",
            "\r\n",
            "ipvsadm",
            "ipvsadmx",
            "xipvsadm",
            "-A",
            "-t",
            "1.1.1.1:80",
            "é",
            "日本",
            "",
            // Bytes at most ' ' that end no word, and one just above.
            "\x0b",
            "\x00",
            "!",
            "\x0c",
            "\x7f",
            // Characters with a byte that is a separator's plus 0x80 (0x89, 0x8a, 0x8d,
            // 0xa0), and others of several bytes.
            "ĉ",
            "Ċ",
            "č",
            "à",
            "\u{a0}",
            "\u{85}",
            "\u{2028}",
            // Words about eight bytes long.
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "ipvsadm\n",
        ];
        let mut inputs = Vec::new();
        // A small linear congruential walk: varied, the same every run.
        let mut seed: u64 = 7;
        for _ in 0..3000 {
            let mut text = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = (seed >> 33) % 12;
            for _ in 0..n {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(parts[((seed >> 33) % parts.len() as u64) as usize]);
            }
            inputs.push(text);
        }
        // Two words and the separators between them, of every length and at every place
        // in the eight bytes read at once, then the ways a line ends, then as many bytes
        // after it as put its end in the text's last eight bytes or not.
        let between = [" ", "\t", "\r\t", "  ", "\x0b", "\u{a0}", "ĉ"];
        let ends = ["", "\n", " \n", "  "];
        let after = [
            "",
            "\n",
            "\nz",
            "\nzzzzzzz",
            "\nzzzzzzzz",
            "\nzzzzzzzzz",
            "\n-C\n",
        ];
        for a in 0..18 {
            for b in 0..18 {
                for sep in between {
                    for end in ends {
                        for more in after {
                            let first = "a".repeat(a);
                            // ASCII, or characters of two bytes (and one more for an odd b).
                            for second in ["b".repeat(b), "é".repeat(b / 2) + &"b".repeat(b % 2)] {
                                inputs.push(format!("{first}{sep}{second}{end}{more}"));
                            }
                        }
                    }
                }
            }
        }
        // Lines of many words (more than a line keeps without a `Vec`), some of them `ipvsadm`.
        for n in 18..34 {
            for word in ["w", "wx", "ipvsadm", "wxyz"] {
                let line: Vec<String> = (0..n)
                    .map(|i| {
                        if i % 5 == 4 {
                            word.to_string()
                        } else {
                            format!("w{i}")
                        }
                    })
                    .collect();
                inputs.push(line.join(" "));
                inputs.push(format!("{}\n-C\n", line.join("\t")));
                inputs.push(format!("{} \n", line.join("  ")));
            }
        }
        for n in [4094, 4095, 4096, 4097, 8192, 9000] {
            for tail in ["", "é", "日", " ", "\n", "  ", "ipvsadm"] {
                inputs.push(format!("-s {}{tail}", "x".repeat(n)));
                inputs.push(format!("{}{tail} -C", "y".repeat(n)));
                // Not at the text's end: the line is not in its last eight bytes.
                inputs.push(format!("{}{tail}\t-C\n-A -t 1.1.1.1:80\n", "z".repeat(n)));
            }
        }
        inputs
    }

    #[test]
    fn words_in_place_are_the_owned_words() {
        for text in varied_inputs() {
            let owned = split_lines_owned(&text);
            let borrowed: Vec<_> = split_lines(&text).collect();
            assert_eq!(borrowed, owned, "{text:?}");
        }
    }

    /// The one-pass split reads the lines and words that [`lines`] and [`words`] read.
    #[test]
    fn one_pass_reads_what_lines_and_words_read() {
        let mut words_read = 0;
        for text in varied_inputs() {
            let expected: Vec<_> = split_lines(&text).collect();
            let mut got = Vec::new();
            let mut input = LineWords::new(&text);
            while let Some((n, out)) = input.next_line() {
                words_read += out.len();
                got.push((n, out.iter().map(|w| w.to_string()).collect::<Vec<_>>()));
            }
            assert_eq!(got, expected, "{text:?}");
        }
        assert!(words_read > 4_000, "{words_read}");
    }

    /// Lines of every option form the parser reads, good and bad.
    const FORMS: &[&str] = &[
        "-A -t 10.0.0.1:80 -s wrr",
        "-a -t 10.0.0.1:80 -r 172.16.0.1:8080 -m -w 1",
        "-A -t 10.0.0.1:80 -s rr -p 30 -M 255.255.255.0",
        "-A -u 10.0.0.1:53 -s wrr -o",
        "-a -u 10.0.0.1:53 -r 10.0.0.12 -g -w 0",
        "-A -t [2001:db8::1]:80 -s mh -b mh-port,mh-fallback",
        "-a -t [2001:db8::1]:80 -r 2001:db8::11 -i --tun-type gue --tun-port 6080 --tun-remcsum",
        "-a -t [2001:db8::1]:80 -r [2001:db8::11]:80 -i --tun-type gre --tun-csum",
        "-A -f 7 -6 -s lc -p 60 -M 64",
        "-a -f 7 -6 -r [2001:db8::1]:0 -g -w 0",
        "-A -u 10.0.0.3:5060 -s sh -b sh-port -p 60 --pe sip",
        "--add-service --tcp-service=10.0.0.1:80 --scheduler=wrr --persistent=100",
        "-At10.0.0.1:80 -srr -p100",
        "-a -t 10.0.0.1:80 -r 0x7f.1:80 -m -x 10 -y 5",
        "-a -t 10.0.0.1:80 -r 010.1:8080 -m --weight 3",
        "-e -t 10.0.0.1:80 -r 10.0.0.2 -m -w 9",
        "-d -t 10.0.0.1:80 -r 10.0.0.2",
        "-E -t 10.0.0.1:80 -s wlc",
        "-D -t 10.0.0.1:80",
        "-Z",
        "-Z -t 10.0.0.1:80",
        "-C",
        "--set 11 22 33",
        "--start-daemon master --mcast-interface lo --syncid 3",
        "--stop-daemon backup",
        "-L -n",
        "-Ln --stats",
        "-S -n",
        "-A -t 10.0.0.1:80 -s rr -b flag-1,flag-2",
        // bad
        "-A -t 10.0.0.1:99999",
        "-a -t 10.0.0.1:80 -r 10.0.0.2 -w x",
        "-a -t 10.0.0.1:80 -r 10.0.0.2 -w 70000",
        "-a -t 10.0.0.1:80 -r 10.0.0.2 -m -g",
        "-a -t 10.0.0.1:80 -r 10.0.0.2 --tun-type gue",
        "-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue",
        "-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-csum --tun-remcsum --tun-type gue --tun-port 1",
        "-A -t 10.0.0.1:80 -u 10.0.0.1:80",
        "-A -s rr",
        "-a -t 10.0.0.1:80",
        "-A -t 10.0.0.1:80 -s rr -n",
        "-A -t 10.0.0.1:80 -c",
        "-L -c --stats",
        "-L --timeout --daemon",
        "-A -t 10.0.0.1:80 -b sh-port",
        "-A -6 -f 1",
        "-A -t 10.0.0.1:80 -p -100",
        "-A -t",
        "-A --bogus",
        "-A --numeric=5",
        "-Ln=5",
        "-A -t 10.0.0.1:80 extra",
        "--set 1 2",
        "-R",
        "-L --json",
        "-A -t 1.2.3.4:1:2",
        "-A -t [1.2.3.4]:80",
        "-A -t ::1",
        "-é",
        "# comment",
        "-A -t 10.0.0.1:80 -s ipvsadm",
    ];

    /// `parse_line` gives what `parse` gives a restore line: the command, what it leaves
    /// unsaid, the failure; and `parse`'s invocation holds nothing more.
    #[test]
    fn parse_line_is_parse_of_a_restore_line() {
        let mut buf = Vec::new();
        let (mut good, mut bad) = (0, 0);
        let more = [
            "-a -t 10.0.0.1:80 -r 10.0.0.2 -x 5",
            "-e -t 10.0.0.1:80 -r 10.0.0.2 -y 5",
            "-h",
            "--help",
            "-v",
        ];
        for form in FORMS.iter().chain(&more) {
            words(form, &mut buf);
            let full = cli::parse("ipvsctl", &buf, Context::RestoreLine);
            let line = cli::parse_line("ipvsctl", &buf);
            match (full, line) {
                (Ok(inv), Ok((command, unsaid))) => {
                    good += 1;
                    let expected = Invocation {
                        command,
                        unsaid,
                        json: false,
                        settings: false,
                        netns: None,
                        watch: None,
                    };
                    assert_eq!(inv, expected, "{form}");
                }
                (Err(a), Err(b)) => {
                    bad += 1;
                    assert_eq!(a, b, "{form}");
                }
                (a, b) => panic!("{form}: {a:?} against {b:?}"),
            }
        }
        assert!(good > 25 && bad > 25, "{good} {bad}");
    }

    #[test]
    fn restore_lines_parse_as_the_same_words_on_a_command_line() {
        for form in FORMS {
            for text in [
                form.to_string(),
                format!("ipvsadm\t{form}\r"),
                format!("  {form}  \n"),
            ] {
                let expected = split_lines_owned(&text)
                    .into_iter()
                    .find(|(_, w)| !w.is_empty())
                    .map(|(line, w)| {
                        cli::parse("ipvsctl", &w, Context::RestoreLine)
                            .map(|inv| vec![(line, inv.command)])
                            .map_err(|f| (f.code, format!("line {line}: {}", f.message)))
                    })
                    .unwrap_or(Ok(Vec::new()));
                let got = parse_input("ipvsctl", &text)
                    .map(flat)
                    .map_err(|f| (f.code, f.message));
                assert_eq!(got, expected, "{text:?}");
            }
        }
    }
}
