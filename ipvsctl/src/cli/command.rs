//! What a parsed command line is: the [`Command`] with the global options ([`Invocation`]),
//! or the usage error ([`Failure`]) to print instead.

use ipvs::{Change, ServiceKey};

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
    /// `--settings` (only with `-S --json`): the save document has the kernel settings too.
    pub settings: bool,
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
