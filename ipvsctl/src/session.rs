//! What running a command needs: the terminal ([`Term`]: stdout and stderr in
//! order) and an open IPVS handle ([`Session`]) that runs listings, `-S` and
//! changes, printing what ipvsadm prints and returning its exit code.

use std::io::{self, BufWriter, Stdout, Write};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ipvs::{
    Change, DestinationEntry, Info, Ipvs, Operation, Reading, ServiceEntry, ServiceKey,
    VirtualServer,
};

use crate::cli::{ListFlags, ListRequest, ListWhat, Watch};
use crate::output::{self, ListMode, ListOptions};

/// stdout (buffered) and stderr, kept in order: stdout is flushed before
/// anything goes to stderr.
pub struct Term {
    out: BufWriter<Stdout>,
    /// When set, stdout's text goes here instead (`--watch` of a listing).
    capture: Option<Vec<u8>>,
}

impl Term {
    /// The process's stdout and stderr.
    pub fn new() -> Self {
        Term {
            out: BufWriter::new(io::stdout()),
            capture: None,
        }
    }

    /// A terminal whose stdout text is kept, for [`Term::take`]; stderr is the process's.
    pub fn buffer() -> Self {
        Term {
            capture: Some(Vec::new()),
            ..Term::new()
        }
    }

    /// The text kept by a [`Term::buffer`].
    pub fn take(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(self.capture.get_or_insert_with(Vec::new)))
            .into_owned()
    }

    /// Writes to stdout.
    pub fn print(&mut self, text: &str) -> io::Result<()> {
        self.print_bytes(text.as_bytes())
    }

    /// Writes raw bytes to stdout.
    pub fn print_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.capture {
            Some(buf) => {
                buf.extend_from_slice(bytes);
                Ok(())
            }
            None => self.out.write_all(bytes),
        }
    }

    /// Writes a line to stderr (after flushing stdout). A failing stderr is ignored.
    pub fn error(&mut self, message: &str) -> io::Result<()> {
        self.out.flush()?;
        let _ = writeln!(io::stderr().lock(), "{message}");
        Ok(())
    }

    /// Flushes stdout.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// stdout as a writer (the capture of a [`Term::buffer`] included): what streamed listings
/// write to.
impl Write for Term {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.print_bytes(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.print_bytes(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Term::flush(self)
    }
}

/// An open IPVS handle and the kernel's IPVS info (what `ipvs_init` gets).
pub struct Session {
    ipvs: Ipvs,
    info: Info,
}

impl Session {
    /// Opens IPVS like ipvsadm's `ipvs_init` (socket, family, `GET_INFO`),
    /// in the namespace `netns` if given. `Err` is the message to print
    /// before exiting with 2.
    pub fn open(netns: Option<&str>) -> Result<Session, String> {
        let opened = match netns {
            Some(ns) => Ipvs::in_netns(ns),
            None => Ipvs::new(),
        };
        let opened = opened.and_then(|ipvs| ipvs.info().map(|info| Session { ipvs, info }));
        opened.map_err(|e| match e {
            ipvs::Error::Netns { path, source } => format!(
                "Can't open network namespace {}: {}",
                path.display(),
                os_text(&source)
            ),
            e => format!(
                "Can't initialize ipvs: {}\n\
                 Are you sure that IP Virtual Server is built in the kernel or as module?",
                message(&e)
            ),
        })
    }

    /// The handle.
    pub fn ipvs(&self) -> &Ipvs {
        &self.ipvs
    }

    /// Sends one change: 0, or 255 with ipvsadm's message when the kernel refuses it.
    pub fn change(&self, change: &Change, term: &mut Term) -> io::Result<i32> {
        match self.ipvs.apply_one(change) {
            Ok(()) => Ok(0),
            Err(e) => {
                term.error(&message(&e))?;
                Ok(255)
            }
        }
    }

    /// `-S [-n] [--json [--settings]]`: 0, or 1 when the table (or with `settings`, the
    /// timeouts, sysctls or daemons) cannot be read.
    pub fn save(
        &self,
        numeric: bool,
        json: bool,
        settings: bool,
        term: &mut Term,
    ) -> io::Result<i32> {
        // The saved configuration has no counters.
        let reading = Reading::WithoutStats;
        let services = match self.ipvs.services_with(reading) {
            Ok(services) => services,
            Err(e) => {
                term.error(&message(&e))?;
                return Ok(1);
            }
        };
        let settings = if settings {
            match ipvs::settings::read(&self.ipvs, &ipvs::settings::Settings::default()) {
                Ok(s) => Some(s),
                Err(e) => {
                    term.error(&message(&e))?;
                    return Ok(1);
                }
            }
        } else {
            None
        };
        self.stream(&services, reading, term, |entries, dests, out| {
            if json {
                output::stream_save_json(entries, dests, settings.as_ref(), out)
            } else {
                let names = output::SystemNames::new();
                output::stream_save_text(entries, dests, numeric, true, &names, out)
            }
        })
    }

    /// A streamed listing of `services`: `write` makes it with a reader of each service's
    /// destinations (by position), into a [`output::Chunked`] that goes to `term`. Returns 0,
    /// or 1 after ipvsadm's message when a read failed (what was made before it is printed).
    fn stream(
        &self,
        services: &[ServiceEntry],
        reading: Reading,
        term: &mut Term,
        write: impl FnOnce(
            &[&ServiceEntry],
            &mut dyn FnMut(usize, &mut Vec<DestinationEntry>) -> ipvs::Result<()>,
            &mut output::Chunked<'_>,
        ) -> Result<(), output::StreamError<ipvs::Error>>,
    ) -> io::Result<i32> {
        let entries: Vec<&ServiceEntry> = services.iter().collect();
        let mut dests = |i: usize, list: &mut Vec<DestinationEntry>| {
            self.ipvs
                .destinations_into_with(&entries[i].service.key, list, reading)
        };
        let mut out = output::Chunked::new(term);
        let done = write(&entries, &mut dests, &mut out);
        let failed = Self::finish(done, out)?;
        Self::exit_code(failed, term)
    }

    /// The end of a streamed listing: what is left written out (after a failed read too: what
    /// was made before it, as ipvsadm's stdio writes it when it exits); the failed read, if
    /// one failed.
    fn finish(
        done: Result<(), output::StreamError<ipvs::Error>>,
        out: output::Chunked<'_>,
    ) -> io::Result<Option<ipvs::Error>> {
        let failed = match done {
            Ok(()) => None,
            Err(output::StreamError::Write(e)) => return Err(e),
            Err(output::StreamError::Read(e)) => Some(e),
        };
        out.finish()?;
        Ok(failed)
    }

    /// 0, or ipvsadm's message for a failed read and 1.
    fn exit_code(failed: Option<ipvs::Error>, term: &mut Term) -> io::Result<i32> {
        match failed {
            None => Ok(0),
            Some(e) => {
                term.error(&message(&e))?;
                Ok(1)
            }
        }
    }

    /// One listing (`-L` and its forms): 0, or 1 when it fails.
    pub fn list(&self, req: &ListRequest, json: bool, term: &mut Term) -> io::Result<i32> {
        let opts = list_options(&req.flags);
        match req.what {
            ListWhat::All => {
                // The JSON listing has every counter; the text only in its counter columns.
                let reading = if json || opts.mode.has_counters() {
                    Reading::WithStats
                } else {
                    Reading::WithoutStats
                };
                let services = match self.ipvs.services_with(reading) {
                    Ok(services) => services,
                    Err(e) => {
                        if !json {
                            // ipvsadm prints its version header before asking for services.
                            let header = output::list_text(&self.info, &[], &opts);
                            term.print(header.lines().next().unwrap_or(""))?;
                            term.print("\n")?;
                        }
                        term.error(&message(&e))?;
                        return Ok(1);
                    }
                };
                self.stream(&services, reading, term, |entries, dests, out| {
                    if json {
                        output::stream_list_json(&self.info, entries, dests, &opts, out)
                    } else {
                        let names = output::SystemNames::new();
                        output::stream_list_text(&self.info, entries, dests, &opts, &names, out)
                    }
                })
            }
            ListWhat::Service(key) => {
                let vs = self
                    .read_service(&key)
                    .and_then(|vs| vs.ok_or_else(no_such_service));
                match vs {
                    Ok(vs) => {
                        term.print(&if json {
                            output::list_json(&self.info, std::slice::from_ref(&vs), &opts)
                        } else {
                            output::list_service_text(&vs, &opts)
                        })?;
                        Ok(0)
                    }
                    Err(e) => {
                        term.error(&message(&e))?;
                        Ok(1)
                    }
                }
            }
            ListWhat::Connections => match self
                .ipvs
                .connections()
                .and_then(|c| c.collect::<ipvs::Result<Vec<_>>>())
            {
                Ok(conns) => {
                    term.print(&if json {
                        output::connections_json(&conns)
                    } else {
                        output::connections_text(
                            &conns,
                            req.flags.numeric,
                            req.flags.persistent_conn,
                        )
                    })?;
                    Ok(0)
                }
                Err(ipvs::Error::Io { .. }) => {
                    term.error("cannot open file /proc/net/ip_vs_conn")?;
                    Ok(1)
                }
                Err(e) => {
                    term.error(&message(&e))?;
                    Ok(1)
                }
            },
            // ipvsadm exits 1 without a word when these fail.
            ListWhat::Timeouts => match self.ipvs.timeouts() {
                Ok(t) => {
                    term.print(&if json {
                        output::timeout_json(&t)
                    } else {
                        output::timeout_text(&t)
                    })?;
                    Ok(0)
                }
                Err(_) => Ok(1),
            },
            ListWhat::Daemons => match self.ipvs.daemons() {
                Ok(d) => {
                    term.print(&if json {
                        output::daemon_json(&d)
                    } else {
                        output::daemon_text(&d)
                    })?;
                    Ok(0)
                }
                Err(_) => Ok(1),
            },
        }
    }
}

impl Session {
    /// One service and its destinations; `None` when the service is not there (or went while
    /// its destinations were read).
    fn read_service(&self, key: &ServiceKey) -> ipvs::Result<Option<VirtualServer>> {
        let Some(entry) = self.ipvs.service(key)? else {
            return Ok(None);
        };
        match self.ipvs.destinations(key) {
            Ok(destinations) => Ok(Some(VirtualServer {
                entry,
                destinations,
            })),
            Err(ipvs::Error::Kernel {
                errno: libc::ESRCH, ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `--watch`: the listing every `w.interval`, `w.count` times or until
    /// interrupted. Text is redrawn in place on a terminal and appended
    /// otherwise; `--json` gives one line per listing, with the rates computed
    /// by [`ipvs::sampler::Sampler`] for service listings. Ends with the listing's exit
    /// code when one fails. A watched service that is not there (deleted, or
    /// not yet created) fails no listing: the text says ipvsadm's `No such
    /// service` on stderr, the JSON line has no service, and the watch goes on
    /// (a service that comes back has no rates on its first line).
    pub fn watch(
        &self,
        req: &ListRequest,
        json: bool,
        w: Watch,
        term: &mut Term,
    ) -> io::Result<i32> {
        use std::io::IsTerminal;
        let redraw = !json && io::stdout().is_terminal();
        let opts = list_options(&req.flags);
        let mut sampler = ipvs::sampler::Sampler::new();
        let start = Instant::now();
        let mut n: u64 = 0;
        loop {
            let code = if json {
                self.watch_json_once(req, &opts, &mut sampler, term)?
            } else {
                if redraw {
                    term.print("\x1b[H\x1b[2J")?;
                }
                match req.what {
                    ListWhat::Service(key) => self.watch_service_text(&key, &opts, term)?,
                    _ => self.list(req, false, term)?,
                }
            };
            term.flush()?;
            if code != 0 {
                return Ok(code);
            }
            n += 1;
            if w.count.is_some_and(|c| n >= c) {
                return Ok(0);
            }
            // Ticks on a fixed schedule; a listing slower than the interval
            // is followed at once by the next one.
            let next = w.interval.checked_mul(u32::try_from(n).unwrap_or(u32::MAX));
            let wait = next
                .and_then(|t| (start + t).checked_duration_since(Instant::now()))
                .unwrap_or_default();
            std::thread::sleep(wait);
        }
    }

    /// One text listing of a watched service: 0, also when the service is not there (said on
    /// stderr); 1 when the read fails.
    fn watch_service_text(
        &self,
        key: &ServiceKey,
        opts: &ListOptions,
        term: &mut Term,
    ) -> io::Result<i32> {
        match self.read_service(key) {
            Ok(Some(vs)) => {
                term.print(&output::list_service_text(&vs, opts))?;
                Ok(0)
            }
            Ok(None) => {
                term.error(&message(&no_such_service()))?;
                Ok(0)
            }
            Err(e) => {
                term.error(&message(&e))?;
                Ok(1)
            }
        }
    }

    fn watch_json_once(
        &self,
        req: &ListRequest,
        opts: &ListOptions,
        sampler: &mut ipvs::sampler::Sampler,
        term: &mut Term,
    ) -> io::Result<i32> {
        let servers = match req.what {
            ListWhat::All => self.ipvs.state(),
            // A service that is not there: a line without it.
            ListWhat::Service(key) => self
                .read_service(&key)
                .map(|vs| vs.into_iter().collect::<Vec<_>>()),
            _ => {
                // Connections, timeouts, daemons: their document on one line.
                let mut buf = Term::buffer();
                let code = self.list(req, true, &mut buf)?;
                if code == 0 {
                    term.print(&output::watch_line(unix_now(), &buf.take()))?;
                }
                return Ok(code);
            }
        };
        let at = Instant::now();
        let now = unix_now();
        match servers {
            Ok(servers) => {
                let sample = sampler.sample(at, &servers);
                term.print(&output::watch_json(
                    now, &self.info, &servers, &sample, opts,
                ))?;
                Ok(0)
            }
            Err(e) => {
                term.error(&message(&e))?;
                Ok(1)
            }
        }
    }
}

/// Seconds since the Unix epoch, with the fraction.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0)
        .unwrap_or(0.0)
}

fn list_options(f: &ListFlags) -> ListOptions {
    ListOptions {
        mode: ListMode::from_flags(f.stats, f.rate, f.thresholds, f.persistent_conn, f.tun_info),
        numeric: f.numeric,
        exact: f.exact,
        sort: !f.nosort,
    }
}

/// What a service that is not there gives: the kernel's refusal that ipvsadm reports (`No such
/// service`).
fn no_such_service() -> ipvs::Error {
    ipvs::Error::Kernel {
        op: Operation::GetServices,
        errno: libc::ESRCH,
        detail: None,
    }
}

/// What ipvsadm prints for a failure: `ipvs_strerror` of the errno where
/// there is one ([`ipvs::Error::ipvsadm_message`]).
pub fn message(e: &ipvs::Error) -> String {
    match e {
        ipvs::Error::Kernel { .. } => e.ipvsadm_message(),
        // Without the family ipvsadm falls back to the sockopt interface,
        // whose getsockopt fails with ENOPROTOOPT.
        ipvs::Error::NotAvailable { .. } => {
            ipvs::Operation::ipvsadm_message(Operation::Open, libc::ENOPROTOOPT)
        }
        ipvs::Error::Io { op, source } => match source.raw_os_error() {
            Some(errno) => ipvs::Operation::ipvsadm_message(*op, errno),
            None => source.to_string(),
        },
        other => other.to_string(),
    }
}

/// The C library's text for an I/O error, without Rust's "(os error N)".
fn os_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => ipvs::Operation::ipvsadm_message(Operation::Open, errno),
        None => e.to_string(),
    }
}

/// Parses the arguments of a subcommand of ipvsctl's own (`apply`, `drain`) with its clap
/// definition. `Err(code)` when parsing ended the run: help or version printed (0), or the usage
/// error said on stderr (2).
pub fn subcommand_matches(
    cmd: clap::Command,
    args: &[String],
    term: &mut Term,
) -> io::Result<Result<clap::ArgMatches, i32>> {
    use clap::error::ErrorKind;
    match cmd.no_binary_name(true).try_get_matches_from(args) {
        Ok(m) => Ok(Ok(m)),
        Err(e) => {
            let text = e.render().to_string();
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                term.print(&text)?;
                Ok(Err(0))
            } else {
                term.error(text.trim_end())?;
                Ok(Err(2))
            }
        }
    }
}
