//! Splits arguments into options the way popt 1.19 does for ipvsadm.
//!
//! What matters for compatibility, all checked against ipvsadm on Debian 12:
//! * `--long`, `--long=VALUE`; no abbreviations; `--` ends the options.
//! * Short clusters: `-Lnc`; a short option that takes a value takes the rest
//!   of the cluster (`-p100`, `-t=ADDR` without the `=`) or else the next
//!   argument, whatever it looks like (`-t -s` gives `-t` the value `-s`).
//! * An optional value (`-p`) is taken from the next argument only when that
//!   does not start with `-`.
//! * A flag given a value (`--numeric=5`, `-n=5`) is an error.
//! * Arguments that are not options are set aside (`poptGetArg`) and parsing
//!   goes on after them.
//! * Errors name the last argument consumed (`poptBadOption`), e.g. `-At`.

use super::command::Context;
use super::options::{at, by_long, short_names_of, ArgKind, OptSpec, ShortNames};

/// One option and its value, borrowed from the arguments.
#[derive(Debug, Clone)]
pub struct Token<'a> {
    pub spec: &'static OptSpec,
    /// The value: always `Some` for [`ArgKind::Required`], maybe for
    /// [`ArgKind::Optional`], never for flags.
    pub value: Option<&'a str>,
}

/// popt's errors, with its texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexError {
    /// `POPT_ERROR_NOARG`.
    MissingArgument,
    /// `POPT_ERROR_BADOPT`.
    UnknownOption,
    /// `POPT_ERROR_UNWANTEDARG`.
    UnwantedArgument,
}

impl LexError {
    /// `poptStrerror`.
    pub fn text(self) -> &'static str {
        match self {
            LexError::MissingArgument => "missing argument",
            LexError::UnknownOption => "unknown option",
            LexError::UnwantedArgument => "option does not take an argument",
        }
    }
}

/// The tokenizer. The context decides which options exist (a line of `-R`
/// input has no global and no hidden ones). The arguments are `String`s or
/// words borrowed from `-R` input.
pub struct Lexer<'a, S> {
    args: &'a [S],
    next: usize,
    /// Pending short options: (argument index, byte offset).
    cluster: Option<(usize, usize)>,
    rest_are_args: bool,
    leftovers: Vec<&'a str>,
    restore_line: bool,
}

impl<'a, S: AsRef<str>> Lexer<'a, S> {
    /// A lexer over `args` (without the program name).
    pub fn new(args: &'a [S], ctx: Context) -> Self {
        Lexer {
            args,
            next: 0,
            cluster: None,
            rest_are_args: false,
            leftovers: Vec::new(),
            restore_line: ctx == Context::RestoreLine,
        }
    }

    /// The last argument consumed, as `poptBadOption` reports it.
    pub fn last_arg(&self) -> &'a str {
        self.next
            .checked_sub(1)
            .and_then(|i| self.args.get(i))
            .map_or("", AsRef::as_ref)
    }

    /// The argument at `i`, or `""` past the end.
    pub fn arg(&self, i: usize) -> &'a str {
        self.args.get(i).map_or("", AsRef::as_ref)
    }

    /// Where the next argument is, when nothing is pending there (no short option of a
    /// cluster left, no `--` seen): where [`Plain::at`] may read, `None` otherwise.
    #[inline(always)]
    pub fn resting(&self) -> Option<usize> {
        (self.cluster.is_none() && !self.rest_are_args).then_some(self.next)
    }

    /// Goes on from the argument at `next`, which [`Plain::at`] reached.
    #[inline(always)]
    pub fn resume(&mut self, next: usize) {
        self.next = next;
    }

    /// The reader of the usual option ([`Plain::at`]), with the arguments and the context of
    /// this lexer, and nothing else: what the parser keeps in registers.
    #[inline(always)]
    pub fn plain(&self) -> Plain<'a, S> {
        Plain {
            args: self.args,
            short: short_names_of(self.restore_line),
        }
    }

    /// The non-option arguments seen so far, in order.
    pub fn leftovers(&self) -> &[&'a str] {
        &self.leftovers
    }

    /// Whether `o` exists in this context.
    fn accept(&self, o: &OptSpec) -> bool {
        !self.restore_line || o.in_restore_line()
    }

    fn long(&self, name: &str) -> Option<&'static OptSpec> {
        by_long(name).filter(|o| self.accept(o))
    }

    /// Every short name is ASCII: another byte (or a character's first) is no option.
    #[inline(always)]
    fn short(&self, b: u8) -> Option<&'static OptSpec> {
        at(short_names_of(self.restore_line), b)
    }

    /// The next option, `None` at the end. Inlined into the parser's loop: every word of
    /// every `-R` line comes through here.
    #[inline(always)]
    pub fn next_token(&mut self) -> Option<Result<Token<'a>, LexError>> {
        if let Some((i, pos)) = self.cluster.take() {
            let arg: &'a str = self.args[i].as_ref();
            return Some(self.short_option(arg, i, pos));
        }
        loop {
            let arg: &'a str = self.args.get(self.next)?.as_ref();
            self.next += 1;
            // Told apart by the first two bytes: `-` and what is not an option, a cluster of
            // short options, `--`, a long option.
            let b = arg.as_bytes();
            if self.rest_are_args || b.len() < 2 || b[0] != b'-' {
                self.leftovers.push(arg);
                continue;
            }
            if b[1] != b'-' {
                // One dash: popt would try long options marked ONEDASH (ipvsadm has none),
                // then reads a cluster of short options, from its first.
                return Some(self.short_option(arg, self.next - 1, 1));
            }
            if b.len() == 2 {
                self.rest_are_args = true;
                continue;
            }
            // After `--` (ASCII): a character boundary.
            let body = &arg[2..];
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(spec) = self.long(name) else {
                return Some(Err(LexError::UnknownOption));
            };
            return Some(self.finish(spec, value, None));
        }
    }

    /// The short option at `pos` of `arg`, the argument at `i`.
    #[inline(always)]
    fn short_option(&mut self, arg: &'a str, i: usize, pos: usize) -> Result<Token<'a>, LexError> {
        // `pos` follows the dash or an ASCII short name: a character boundary.
        let Some(&b) = arg.as_bytes().get(pos) else {
            return Err(LexError::UnknownOption);
        };
        let spec = self.short(b).ok_or(LexError::UnknownOption)?;
        let after = pos + 1;
        if after < arg.len() {
            self.finish(spec, None, Some((i, after)))
        } else {
            self.finish(spec, None, None)
        }
    }

    /// Takes the value of `spec`: `long_value` from `--opt=V`, or the rest of
    /// the cluster at `cluster`, or the next argument.
    #[inline(always)]
    fn finish(
        &mut self,
        spec: &'static OptSpec,
        long_value: Option<&'a str>,
        cluster: Option<(usize, usize)>,
    ) -> Result<Token<'a>, LexError> {
        let args: &'a [S] = self.args;
        let cluster_rest = cluster.map(|(i, p)| &args[i].as_ref()[p..]);
        if spec.arg == ArgKind::None {
            if long_value.is_some() || cluster_rest.is_some_and(|r| r.starts_with('=')) {
                return Err(LexError::UnwantedArgument);
            }
            self.cluster = cluster;
            return Ok(Token { spec, value: None });
        }
        let value = if let Some(v) = long_value {
            Some(v)
        } else if let Some(rest) = cluster_rest {
            Some(rest.strip_prefix('=').unwrap_or(rest))
        } else {
            match args.get(self.next).map(AsRef::as_ref) {
                None if spec.arg == ArgKind::Optional => None,
                None => return Err(LexError::MissingArgument),
                Some(next) if spec.arg == ArgKind::Optional && next.starts_with('-') => None,
                Some(next) => {
                    self.next += 1;
                    Some(next)
                }
            }
        };
        Ok(Token { spec, value })
    }
}

/// What [`Lexer::plain`] gives: the usual option read without the lexer's state.
pub struct Plain<'a, S> {
    args: &'a [S],
    /// The short names of the lexer's context.
    short: &'static ShortNames,
}

impl<'a, S: AsRef<str>> Plain<'a, S> {
    /// The usual option, read from the argument at `i` where the lexer is resting
    /// ([`Lexer::resting`]): a word of its own, `-` and a short name (`-t`), and the next word
    /// its value if it takes one. The token and where the next argument is, as
    /// [`Lexer::next_token`] reads them there, by the same table ([`at`]); `None` for
    /// anything else (a cluster, a long option, a plain argument, an unknown name, a missing
    /// or optional value...), which is left to [`Lexer::next_token`] from `i`.
    #[inline(always)]
    pub fn at(&self, i: usize) -> Option<(Token<'a>, usize)> {
        let arg: &'a str = self.args.get(i)?.as_ref();
        // `--` too is no short name (`-` names no option): left to the lexer.
        let &[b'-', c] = arg.as_bytes() else {
            return None;
        };
        let spec = at(self.short, c)?;
        match spec.arg {
            ArgKind::None => Some((Token { spec, value: None }, i + 1)),
            ArgKind::Required => {
                let value: &'a str = self.args.get(i + 1)?.as_ref();
                Some((
                    Token {
                        spec,
                        value: Some(value),
                    },
                    i + 2,
                ))
            }
            ArgKind::Optional => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens, the error (with the argument blamed) if any, and leftovers.
    type Lexed = (
        Vec<(&'static str, Option<String>)>,
        Option<(LexError, String)>,
        Vec<String>,
    );

    fn lex(args: &[&str]) -> Lexed {
        lex_in(args, Context::CommandLine)
    }

    fn ids(args: &[&str]) -> Vec<&'static str> {
        lex(args).0.into_iter().map(|(i, _)| i).collect()
    }

    #[test]
    fn clusters() {
        assert_eq!(ids(&["-Ln"]), ["list", "numeric"]);
        assert_eq!(ids(&["-Lnc"]), ["list", "numeric", "connection"]);
        assert_eq!(ids(&["-lnX"]), ["list", "numeric", "exact"]);
        let (t, _, _) = lex(&["-At1.2.3.4:80"]);
        assert_eq!(t[1], ("tcp-service", Some("1.2.3.4:80".into())));
        let (t, _, _) = lex(&["-A", "-t=1.2.3.4:80"]);
        assert_eq!(t[1].1.as_deref(), Some("1.2.3.4:80"));
    }

    #[test]
    fn optional_value() {
        let (t, _, _) = lex(&["-A", "-p", "-s", "rr"]);
        assert_eq!(t[1], ("persistent", None));
        assert_eq!(t[2], ("scheduler", Some("rr".into())));
        let (t, _, _) = lex(&["-A", "-p", "100"]);
        assert_eq!(t[1], ("persistent", Some("100".into())));
        let (t, _, _) = lex(&["-A", "-p100"]);
        assert_eq!(t[1], ("persistent", Some("100".into())));
        let (t, _, _) = lex(&["-A", "--persistent=7"]);
        assert_eq!(t[1], ("persistent", Some("7".into())));
        let (t, _, _) = lex(&["-A", "-p"]);
        assert_eq!(t[1], ("persistent", None));
        let (t, e, _) = lex(&["-A", "-p", "-100"]);
        assert_eq!(t[1], ("persistent", None));
        assert_eq!(e, Some((LexError::UnknownOption, "-100".into())));
    }

    #[test]
    fn required_value_takes_anything() {
        let (t, _, left) = lex(&["-A", "-t", "-s", "rr"]);
        assert_eq!(t[1].1.as_deref(), Some("-s"));
        assert_eq!(left, ["rr"]);
    }

    #[test]
    fn errors_name_the_last_argument() {
        assert_eq!(
            lex(&["-A", "-t"]).1,
            Some((LexError::MissingArgument, "-t".into()))
        );
        assert_eq!(
            lex(&["-At"]).1,
            Some((LexError::MissingArgument, "-At".into()))
        );
        assert_eq!(
            lex(&["-lnx"]).1,
            Some((LexError::MissingArgument, "-lnx".into()))
        );
        assert_eq!(
            lex(&["-A", "--bogus"]).1,
            Some((LexError::UnknownOption, "--bogus".into()))
        );
        assert_eq!(
            lex(&["-LQ"]).1,
            Some((LexError::UnknownOption, "-LQ".into()))
        );
        assert_eq!(
            lex(&["-L", "--numeric=5"]).1,
            Some((LexError::UnwantedArgument, "--numeric=5".into()))
        );
        assert_eq!(
            lex(&["-Ln=5"]).1,
            Some((LexError::UnwantedArgument, "-Ln=5".into()))
        );
        assert_eq!(
            lex(&["-L="]).1,
            Some((LexError::UnwantedArgument, "-L=".into()))
        );
    }

    #[test]
    fn leftovers_and_double_dash() {
        let (t, _, left) = lex(&["foo", "-L", "--", "-n", "-"]);
        assert_eq!(t.len(), 1);
        assert_eq!(left, ["foo", "-n", "-"]);
        let (_, _, left) = lex(&["--set", "1", "2", "3"]);
        assert_eq!(left, ["1", "2", "3"]);
    }

    #[test]
    fn non_ascii_never_panics() {
        let (_, e, _) = lex(&["-é", "--ü=ß", "-Lé"]);
        assert_eq!(e, Some((LexError::UnknownOption, "-é".into())));
        let (t, _, _) = lex(&["-A", "-té"]);
        assert_eq!(t[1].1.as_deref(), Some("é"));
    }

    /// Tokens (with where the lexer stands after each), the error and the argument blamed, and
    /// the leftovers, read as the parser reads them: by [`Plain::at`] wherever the lexer rests
    /// and it reads something, by [`Lexer::next_token`] otherwise.
    fn lex_plain_first(args: &[&str], ctx: Context) -> (Lexed, usize) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut lx = Lexer::new(&args, ctx);
        let (mut toks, mut err, mut plain_read) = (Vec::new(), None, 0);
        loop {
            if let Some(i) = lx.resting() {
                if let Some((t, next)) = lx.plain().at(i) {
                    lx.resume(next);
                    plain_read += 1;
                    // The argument blamed after it: the last one it took.
                    assert_eq!(lx.last_arg(), lx.arg(next - 1));
                    toks.push((t.spec.long, t.value.map(str::to_string)));
                    continue;
                }
            }
            match lx.next_token() {
                None => break,
                Some(Ok(t)) => toks.push((t.spec.long, t.value.map(str::to_string))),
                Some(Err(e)) => {
                    err = Some((e, lx.last_arg().to_string()));
                    break;
                }
            }
        }
        let left = lx.leftovers().iter().map(|s| s.to_string()).collect();
        ((toks, err, left), plain_read)
    }

    fn lex_in(args: &[&str], ctx: Context) -> Lexed {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut lx = Lexer::new(&args, ctx);
        let (mut toks, mut err) = (Vec::new(), None);
        while let Some(t) = lx.next_token() {
            match t {
                Ok(t) => toks.push((t.spec.long, t.value.map(str::to_string))),
                Err(e) => {
                    err = Some((e, lx.last_arg().to_string()));
                    break;
                }
            }
        }
        let left = lx.leftovers().iter().map(|s| s.to_string()).collect();
        (toks, err, left)
    }

    /// The reader of the usual option reads what the lexer reads, wherever it reads anything:
    /// every sequence of up to three words made from options of each kind, clusters, long
    /// options, values, `--`, `-`, unknown and non-ASCII names, in both contexts.
    #[test]
    fn the_usual_option_is_read_as_the_lexer_reads_it() {
        let words = [
            "-a",
            "-t",
            "-p",
            "-m",
            "-w",
            "-L",
            "-R",
            "-6",
            "-x",
            "-Z",
            "-mt",
            "-t=1",
            "-p5",
            "--",
            "-",
            "--tcp-service",
            "--json",
            "--netns=a",
            "-Q",
            "-é",
            "1.2.3.4:80",
            "",
            "-=",
            "--=",
            "-h",
        ];
        let mut read = 0;
        for ctx in [Context::RestoreLine, Context::CommandLine] {
            for a in words {
                for b in words {
                    for c in words {
                        let args = [a, b, c];
                        let (plain, n) = lex_plain_first(&args, ctx);
                        assert_eq!(plain, lex_in(&args, ctx), "{args:?} {ctx:?}");
                        read += n;
                    }
                }
            }
        }
        // It did read (one that reads nothing would pass the rest).
        assert!(read > 10_000, "{read}");
    }
}
