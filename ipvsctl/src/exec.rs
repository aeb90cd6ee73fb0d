//! Runs a parsed command against the kernel through [`ipvs::Ipvs`], printing
//! what ipvsadm prints and returning its exit code: 0, 1 for a failed
//! listing, 2 when IPVS cannot be opened, 255 for a refused change.

use std::io::{self, BufWriter, Stdout, Write};

use ipvs::{Change, Info, Ipvs, Operation, VirtualServer};

use crate::cli::{help, Command, Invocation, ListFlags, ListRequest, ListWhat};
use crate::output::{self, ListMode, ListOptions};
use crate::restore;

/// stdout (buffered) and stderr, kept in order: stdout is flushed before
/// anything goes to stderr.
pub struct Term {
    out: BufWriter<Stdout>,
}

impl Term {
    /// The process's stdout and stderr.
    pub fn new() -> Self {
        Term {
            out: BufWriter::new(io::stdout()),
        }
    }

    /// Writes to stdout.
    pub fn print(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())
    }

    /// Writes raw bytes to stdout.
    pub fn print_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
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

/// Runs one invocation of the program and returns its exit code.
pub fn run(inv: &Invocation, prog: &str, term: &mut Term) -> io::Result<i32> {
    if let Some(text) = info_text(&inv.command, prog) {
        term.print(&text)?;
        return Ok(0);
    }
    match &inv.command {
        Command::GenerateMan => {
            term.print_bytes(&help::man_page()?)?;
            Ok(0)
        }
        Command::GenerateCompletions(shell) => match help::completions(shell) {
            Some(script) => {
                term.print_bytes(&script)?;
                Ok(0)
            }
            None => {
                term.error(&format!(
                    "unknown shell `{shell}' (bash, zsh, fish, elvish or powershell)"
                ))?;
                Ok(2)
            }
        },
        Command::Restore => restore::run(inv, prog, term),
        other => {
            let session = match Session::open(inv.netns.as_deref()) {
                Ok(s) => s,
                Err(message) => {
                    term.error(&message)?;
                    return Ok(2);
                }
            };
            session.run(other, inv.json, term)
        }
    }
}

/// What `--help`, `-h` and `-v` print on stdout before exiting with 0, on
/// the command line and as a line of `-R` input alike; `None` for the other
/// commands.
pub fn info_text(command: &Command, prog: &str) -> Option<String> {
    match command {
        Command::Help => Some(help::help_text()),
        Command::Usage => Some(format!("{}{}", version_line(), help::ipvsadm_usage(prog))),
        Command::Version => Some(version_line()),
        _ => None,
    }
}

/// `-v`: ipvsadm's version line, for ipvsctl.
pub fn version_line() -> String {
    format!(
        "ipvsctl v{} (compatible with ipvsadm v1.31, IPVS v1.2.1)\n",
        env!("CARGO_PKG_VERSION")
    )
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
        if let Some(ns) = netns {
            let path = ipvs_sys::netns::netns_path(ns);
            if let Err(e) = std::fs::File::open(&path) {
                return Err(format!(
                    "Can't open network namespace {}: {}",
                    path.display(),
                    os_text(&e)
                ));
            }
        }
        let opened = match netns {
            Some(ns) => Ipvs::in_netns(ns),
            None => Ipvs::new(),
        };
        let opened = opened.and_then(|ipvs| ipvs.info().map(|info| Session { ipvs, info }));
        opened.map_err(|e| {
            format!(
                "Can't initialize ipvs: {}\n\
                 Are you sure that IP Virtual Server is built in the kernel or as module?",
                message(&e)
            )
        })
    }

    /// The handle.
    pub fn ipvs(&self) -> &Ipvs {
        &self.ipvs
    }

    /// Runs a listing, `-S` or a change; other commands do nothing.
    pub fn run(&self, command: &Command, json: bool, term: &mut Term) -> io::Result<i32> {
        match command {
            Command::List(req) => self.list(req, json, term),
            Command::Save { numeric } => self.save(*numeric, json, term),
            Command::Change(change) => self.change(change, term),
            _ => Ok(0),
        }
    }

    fn change(&self, change: &Change, term: &mut Term) -> io::Result<i32> {
        match self.ipvs.apply_one(change) {
            Ok(()) => Ok(0),
            Err(e) => {
                term.error(&message(&e))?;
                Ok(255)
            }
        }
    }

    fn save(&self, numeric: bool, json: bool, term: &mut Term) -> io::Result<i32> {
        match self.ipvs.state() {
            Ok(servers) => {
                if json {
                    term.print(&output::save_json(&servers))?;
                } else {
                    term.print(&output::save_text(&servers, numeric, true))?;
                }
                Ok(0)
            }
            Err(e) => {
                term.error(&message(&e))?;
                Ok(1)
            }
        }
    }

    fn list(&self, req: &ListRequest, json: bool, term: &mut Term) -> io::Result<i32> {
        let opts = list_options(&req.flags);
        match req.what {
            ListWhat::All => match self.ipvs.state() {
                Ok(servers) => {
                    term.print(&if json {
                        output::list_json(&self.info, &servers, &opts)
                    } else {
                        output::list_text(&self.info, &servers, &opts)
                    })?;
                    Ok(0)
                }
                Err(e) => {
                    if !json {
                        // ipvsadm prints its version header before asking for services.
                        let header = output::list_text(&self.info, &[], &opts);
                        term.print(header.lines().next().unwrap_or(""))?;
                        term.print("\n")?;
                    }
                    term.error(&message(&e))?;
                    Ok(1)
                }
            },
            ListWhat::Service(key) => {
                let vs = self.ipvs.service(&key).and_then(|entry| {
                    let destinations = self.ipvs.destinations(&key)?;
                    Ok(VirtualServer {
                        entry,
                        destinations,
                    })
                });
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
            ListWhat::Connections => match self.ipvs.connections() {
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

fn list_options(f: &ListFlags) -> ListOptions {
    ListOptions {
        mode: ListMode::from_flags(f.stats, f.rate, f.thresholds, f.persistent_conn, f.tun_info),
        numeric: f.numeric,
        exact: f.exact,
        sort: !f.nosort,
    }
}

/// What ipvsadm prints for a failure: `ipvs_strerror` of the errno where
/// there is one (the library's `Display` for kernel errors is exactly that).
pub fn message(e: &ipvs::Error) -> String {
    match e {
        ipvs::Error::Kernel { .. } => e.to_string(),
        // Without the family ipvsadm falls back to the sockopt interface,
        // whose getsockopt fails with ENOPROTOOPT.
        ipvs::Error::NotAvailable => ipvs::kernel_message(Operation::Open, libc::ENOPROTOOPT),
        ipvs::Error::Io { op, source } => match source.raw_os_error() {
            Some(errno) => ipvs::kernel_message(*op, errno),
            None => source.to_string(),
        },
        other => other.to_string(),
    }
}

/// The C library's text for an I/O error, without Rust's "(os error N)".
fn os_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => ipvs::kernel_message(Operation::Open, errno),
        None => e.to_string(),
    }
}
