//! `ipvsctl top`: the services and real servers live, full screen, with their connections and
//! rates, sortable, filterable, as iftop shows links.
//!
//! Each interval it reads the services (one dump) and the real servers of each (one dump each;
//! on a table of more than [`read::SMALL_TABLE`] services, of those on the screen and of
//! [`read::ROLLING`] more in turn, see [`read`]; one service and its real servers with
//! `-t/-u/-f`), gives the read to an [`ipvs::sampler::Sampler`] for the rates, and draws the
//! screen with ratatui (which writes only the cells that changed: no flicker). The terminal is
//! put back as it was however the view ends: `q`, Ctrl-C, SIGINT or SIGTERM (exit 128 + the
//! signal), a failure, or a panic (the panic hook restores it before the message is printed).
//!
//! Not on a terminal it refuses (exit 2) and names the listings that suit a pipe or a log.

mod app;
mod healthd;
mod model;
mod read;
#[cfg(test)]
mod tests;
mod view;

use std::io::{self, IsTerminal, Write};
use std::sync::Once;
use std::time::{Duration, Instant};

use clap::{Arg, Command};
use crossterm::event::{self, Event, KeyEventKind};
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use ipvs::sampler::Sampler;
use ipvs::{Ipvs, ServiceKey};

use crate::args;
use crate::interrupt;
use crate::session::{message, subcommand_matches, Session, Term};

pub use app::{Action, App};
use read::Reader;

/// The shortest and longest interval `--interval` takes, in seconds.
const INTERVAL_RANGE: (f64, f64) = (0.1, 3600.0);

/// `--interval`'s value: seconds, a decimal number within [`INTERVAL_RANGE`].
fn parse_interval(text: &str) -> Result<Duration, String> {
    let (min, max) = INTERVAL_RANGE;
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (min..=max).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("a number of seconds from {min} to {max}")),
    }
}

/// The clap description of `top` (parsing, help, man page, completions).
pub fn command() -> Command {
    let cmd = Command::new("top")
        .about(
            "Watch the services and real servers live, full screen: connections and rates, sorted",
        )
        .long_about(
            "A full-screen live view of the services, each with its connections, packets and \
             bytes per second in and out (from two reads of the counters, every --interval), \
             its active and inactive connections and a short history; a service expands to its \
             real servers with the same columns plus weight and forwarding method. Keys: ? help, \
             q quit, Enter real servers, < > sort column, r reverse, / filter, p pause, \
             b bits or bytes, t totals. Colours follow NO_COLOR. It needs a terminal: for a \
             pipe or a log use `ipvsctl -Ln --rate --watch 1` or `ipvsctl -Ln --json --watch 1`. \
             With --healthd URL (healthd's --listen address) a Hlth column shows what healthd \
             says of each real server (up, DOWN, ? no verdict yet, mnt maintenance) and, for \
             a service, its real servers up of those healthd checks. \
             Each interval costs one service dump and one destination dump per service; on a \
             table of more than 256 services, one destination dump for each service on the \
             screen and for 50 others in turn, so the Act and Inact of a service off the \
             screen (used by sorting and the totals; dim when shown before read again) are \
             up to services / 50 intervals old (2,000 services at 1 s: 40 s; the help says \
             the figure). \
             Exit status: 0 after q, 2 bad arguments, no terminal or no IPVS, 128 + the signal \
             after SIGINT or SIGTERM.",
        )
        .disable_version_flag(true);
    args::service_args(cmd, false)
        .arg(
            Arg::new("interval")
                .long("interval")
                .value_name("SECONDS")
                .num_args(1)
                .default_value("1")
                .value_parser(parse_interval)
                .help("Read the counters every SECONDS (0.1 to 3600; rates are averages over it)"),
        )
        .arg(args::netns().help("Watch another network namespace"))
        .arg(
            Arg::new("healthd")
                .long("healthd")
                .value_name("URL")
                .num_args(1)
                .value_parser(|t: &str| healthd::parse_url(t))
                .help("Show each real server's health from healthd's /status (http://ADDR:PORT of healthd --listen)"),
        )
}

/// Runs `ipvsctl top ARGS` and returns the exit code.
pub fn main(prog: &str, args: &[String], term: &mut Term) -> io::Result<i32> {
    let matches = match subcommand_matches(command().bin_name("ipvsctl top"), args, term)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    // The service as ipvsadm's parser reads it.
    let only = match args::service_key(prog, &matches) {
        Ok(k) => k,
        Err(f) => {
            // ipvsadm's words and exit code, with the value they are about.
            let given = args::service_words(&matches).join(" ");
            term.error(&format!("{prog} top: {given}: {}", f.message))?;
            return Ok(f.code);
        }
    };
    let interval = matches
        .get_one::<Duration>("interval")
        .copied()
        .unwrap_or(Duration::from_secs(1));
    let healthd_url = matches.get_one::<healthd::Url>("healthd").cloned();
    if !(io::stdin().is_terminal() && io::stdout().is_terminal()) {
        term.error(&format!(
            "{prog} top: needs a terminal (stdin and stdout); to follow the rates in a pipe \
             or a log use `{prog} -Ln --rate --watch 1` or `{prog} -Ln --json --watch 1`"
        ))?;
        return Ok(2);
    }
    let netns = matches.get_one::<String>("netns");
    let session = match Session::open(netns.map(String::as_str)) {
        Ok(s) => s,
        Err(e) => {
            term.error(&e)?;
            return Ok(2);
        }
    };
    let mut context = match netns {
        Some(ns) => format!("netns {ns}, "),
        None => String::new(),
    };
    context.push_str(&format!("every {} s", interval.as_secs_f64()));
    if let Some(key) = only {
        context.push_str(&format!(", {key}"));
    }
    // Ctrl-C is a key in raw mode; a SIGINT or SIGTERM from elsewhere ends the loop, which
    // restores the terminal.
    interrupt::watch()?;
    term.flush()?;
    // NO_COLOR (no-color.org): set and not empty turns colours off.
    let color = !matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty());
    let mut app = App::new(context, color);
    let watcher = match healthd_url {
        None => None,
        Some(url) => {
            app.healthd = true;
            Some(healthd::Watcher::start(url, interval)?)
        }
    };
    let code = {
        let _screen = Screen::enter()?;
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        run(
            &mut terminal,
            session.ipvs(),
            only,
            interval,
            app,
            watcher.as_ref(),
        )
    };
    match code {
        Ok(code) => Ok(code),
        Err(e) => {
            term.error(&format!("{prog} top: {e}"))?;
            Ok(1)
        }
    }
}

/// The loop: a read every interval, a key when one comes, a drawing after either.
fn run<W: Write>(
    terminal: &mut Terminal<CrosstermBackend<W>>,
    ipvs: &Ipvs,
    only: Option<ServiceKey>,
    interval: Duration,
    mut app: App,
    healthd: Option<&healthd::Watcher>,
) -> io::Result<i32> {
    let mut sampler = Sampler::new();
    let mut reader = Reader::default();
    let mut next = Instant::now();
    let mut dirty = true;
    loop {
        if let Some(signal) = interrupt::received() {
            return Ok(interrupt::exit_code(signal));
        }
        if Instant::now() >= next {
            match reader.read(ipvs, only, &app.on_screen) {
                Ok(read) => {
                    let sample = sampler.sample(Instant::now(), &read.state);
                    app.newest_mut().update(&read.state, &read.fresh, &sample);
                    app.refresh = Reader::period(read.state.len(), interval);
                    app.error = None;
                    match healthd.and_then(healthd::Watcher::latest) {
                        Some(Ok(status)) => healthd::annotate(app.newest_mut(), &status),
                        Some(Err(e)) => app.error = Some(format!("healthd: {e}")),
                        None => {}
                    }
                }
                Err(e) => app.error = Some(format!("reading the table failed: {}", message(&e))),
            }
            // On the interval's grid; after a slow read, the next one is a full interval on.
            next += interval;
            let now = Instant::now();
            if next <= now {
                next = now + interval;
            }
            dirty = true;
        }
        if dirty {
            terminal.draw(|f| view::draw(f, &mut app))?;
            dirty = false;
        }
        // Short waits so that a signal is seen soon.
        let wait = next
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(200));
        if event::poll(wait)? {
            match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    if app.key(k) == Action::Quit {
                        return Ok(0);
                    }
                    dirty = true;
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
}

/// The terminal in raw mode on the alternate screen, for as long as it lives; dropping it (or
/// a panic, through the hook installed on entry) puts the terminal back.
struct Screen;

impl Screen {
    fn enter() -> io::Result<Screen> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        terminal::enable_raw_mode()?;
        if let Err(e) =
            crossterm::execute!(io::stdout(), EnterAlternateScreen, crossterm::cursor::Hide)
        {
            restore();
            return Err(e);
        }
        Ok(Screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves the alternate screen, shows the cursor, ends raw mode. Safe to call more than once.
fn restore() {
    let _ = crossterm::execute!(io::stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
    let _ = terminal::disable_raw_mode();
}
