//! A safe, typed interface to Linux IPVS (LVS), the kernel's layer-4 load
//! balancer, over generic netlink.
//!
//! One [`Ipvs`] handle holds one netlink socket for one network namespace
//! ([`Ipvs::new`], [`Ipvs::in_netns`], [`OpenOptions`]) and can be shared between threads.
//! Services are [`Service`]s keyed by a [`ServiceKey`], real servers [`Destination`]s with a
//! [`Forward`] method. Errors ([`Error`]) say what was attempted and why it failed;
//! [`Error::ipvsadm_message`] gives ipvsadm's text for the same.
//!
//! # List the table
//!
//! ```no_run
//! let ipvs = ipvs::Ipvs::new()?; // or Ipvs::in_netns("blue")
//! for vs in ipvs.state()? {
//!     println!("{} ({})", vs.entry.service.key, vs.entry.service.scheduler);
//!     for d in &vs.destinations {
//!         println!("  -> {}:{} weight {}", d.destination.addr, d.destination.port, d.destination.weight);
//!     }
//! }
//! # Ok::<(), ipvs::Error>(())
//! ```
//!
//! # Add a service and its destinations
//!
//! ```no_run
//! use ipvs::{Destination, Forward, Service, ServiceKey};
//! # let ipvs = ipvs::Ipvs::new()?;
//! let web = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
//! ipvs.add_service(&Service::new(web).with_scheduler("rr"))?;
//! for real in ["10.0.0.2", "10.0.0.3"] {
//!     let d = Destination::new(real.parse().unwrap(), 80).with_forward(Forward::Masquerade);
//!     ipvs.add_destination(&web, &d)?;
//! }
//! # Ok::<(), ipvs::Error>(())
//! ```
//!
//! # Edit a service or a destination
//!
//! ```no_run
//! use ipvs::{Destination, Forward, Service, ServiceKey};
//! # let ipvs = ipvs::Ipvs::new()?;
//! let web = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
//! ipvs.edit_service(&Service::new(web).with_scheduler("wlc").with_persistence(300))?;
//! let d = Destination::new("10.0.0.2".parse().unwrap(), 80).with_forward(Forward::Masquerade);
//! ipvs.edit_destination(&web, &d.with_weight(5))?; // found by address and port
//! # Ok::<(), ipvs::Error>(())
//! ```
//!
//! # Delete
//!
//! ```no_run
//! # let ipvs = ipvs::Ipvs::new()?;
//! let web = ipvs::ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
//! ipvs.delete_destination(&web, "10.0.0.3".parse().unwrap(), 80)?;
//! ipvs.delete_service(&web)?; // with its destinations
//! ipvs.flush()?; // every service
//! # Ok::<(), ipvs::Error>(())
//! ```
//!
//! # Read statistics
//!
//! ```no_run
//! # let ipvs = ipvs::Ipvs::new()?;
//! let web = ipvs::ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
//! if let Some(entry) = ipvs.service(&web)? {
//!     let s = &entry.stats;
//!     println!("{web}: {} connections, {} bytes in, {} connections/s", s.conns, s.in_bytes, s.cps);
//! }
//! for d in ipvs.destinations(&web)? {
//!     println!("  {} active, {} inactive", d.active_conns, d.inactive_conns);
//! }
//! ipvs.zero(Some(&web))?; // or None: every service
//! # Ok::<(), ipvs::Error>(())
//! ```
//!
//! Rates over a window of reads: [`sampler::Sampler`].
//!
//! # Apply a whole table, all or nothing
//!
//! ```no_run
//! use ipvs::{Destination, PlanOptions, Service, ServiceKey, ServiceState, State};
//! # let ipvs = ipvs::Ipvs::new()?;
//! let web = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
//! let mut desired = State::default(); // or serde_json::from_str(rules) (docs/json.md)
//! desired.services.push(
//!     ServiceState::new(Service::new(web).with_scheduler("rr"))
//!         .with_destination(Destination::new("10.0.0.2".parse().unwrap(), 80)),
//! );
//! match ipvs.apply_state(&desired, &PlanOptions::default()) {
//!     Ok(plan) => println!("{} changes", plan.len()),
//!     Err(e) => eprintln!("nothing changed: {e}"), // what was made is undone
//! }
//! # Ok::<(), ipvs::Error>(())
//! ```
//!
//! To look before leaping: [`Ipvs::read_state`], [`plan`], [`Ipvs::apply_plan`];
//! errors and conflicts with other writers: [`apply`].
//!
//! # Drain a destination
//!
//! ```no_run
//! use ipvs::drain::DrainOptions;
//! # let ipvs = ipvs::Ipvs::new()?;
//! let web = ipvs::ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
//! let opts = DrainOptions::default().with_timeout(std::time::Duration::from_secs(300));
//! // Weight 0 at once, deleted when its connections are gone (or the timeout passed).
//! ipvs.drain(&web, "10.0.0.2".parse().unwrap(), 80, &opts, |p| println!("{p:?}"))?;
//! # Ok::<(), ipvs::Error>(())
//! ```
//!
//! Also: connections ([`Ipvs::connections`], [`conn`]), timeouts ([`Ipvs::timeouts`]),
//! sync daemons ([`Ipvs::daemons`]), addresses as ipvsadm writes them ([`addr`]), the JSON
//! schema ([`schema`]), the accepted ranges ([`limits`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod addr;
pub mod apply;
mod check;
pub mod conn;
pub mod drain;
mod error;
mod ipvsadm;
mod key;
mod plan;
pub mod sampler;
pub mod schema;
pub mod settings;
mod state;
mod types;
mod wire;

/// The ranges and words ipvsadm and the kernel accept, which [`Service::validate`],
/// [`Destination::validate`], [`Timeouts::validate`] and [`SyncDaemon::validate`] check
/// ([`InvalidValue`](limits::InvalidValue) when a value is outside them), and the domain
/// types' `FromStr` ([`UnknownWord`](limits::UnknownWord) for a word that names nothing).
pub mod limits {
    pub use crate::check::{
        InvalidValue, UnknownWord, MAX_IFNAME, MAX_NAME, MAX_SYNC_ID, MAX_SYNC_MAXLEN, MAX_TIMEOUT,
        MAX_WEIGHT,
    };
}

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use ipvs_sys::consts::{IPVS_CMD_ATTR_DEST, IPVS_CMD_ATTR_SERVICE};
use ipvs_sys::{Attr, Command, IpvsMessage, IpvsSocket, PayloadWriter};

pub use error::{Error, Operation, Result};
/// Running code in another network namespace (by name, as `ip netns` keeps them, or by path)
/// on a thread of its own: what [`Ipvs::in_netns`] does for its socket, for a program's other
/// sockets too (`ipvsctl healthd --netns` runs its checks there).
pub use ipvs_sys::netns;
pub use key::DestinationKey;
use key::KeyHash;
pub use plan::{plan, Plan, PlanOptions};
pub use state::{Problem, Reason, ServiceState, State, StateError};
pub use types::*;

/// A change to the kernel's IPVS state, for [`Ipvs::apply`]: many go in one send.
///
/// Its serde form is the plan's (`apply --dry-run --json`): `{"op": "add_service", "service":
/// SERVICE}` and so on, with the objects of `docs/json.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Add a service.
    AddService(Service),
    /// Change a service's scheduler, flags or persistence.
    EditService(Service),
    /// Delete a service and its destinations.
    DeleteService(ServiceKey),
    /// Add a destination to a service.
    AddDestination {
        /// The service.
        service: ServiceKey,
        /// The destination.
        destination: Destination,
    },
    /// Change a destination.
    EditDestination {
        /// The service.
        service: ServiceKey,
        /// The destination, found by address and port.
        destination: Destination,
    },
    /// Remove a destination.
    DeleteDestination {
        /// The service.
        service: ServiceKey,
        /// Real-server address.
        addr: IpAddr,
        /// Real-server port.
        port: u16,
    },
    /// Zero counters: of one service, or of all.
    Zero(Option<ServiceKey>),
    /// Delete every service.
    Flush,
    /// Set timeouts (0 leaves one unchanged).
    SetTimeouts(Timeouts),
    /// Start a sync daemon.
    StartDaemon(SyncDaemon),
    /// Stop a sync daemon.
    StopDaemon(DaemonState),
}

impl Change {
    /// The service the change is about, if it is about one.
    pub fn service_key(&self) -> Option<ServiceKey> {
        match self {
            Change::AddService(s) | Change::EditService(s) => Some(s.key),
            Change::DeleteService(k) => Some(*k),
            Change::AddDestination { service, .. }
            | Change::EditDestination { service, .. }
            | Change::DeleteDestination { service, .. } => Some(*service),
            Change::Zero(k) => *k,
            Change::Flush
            | Change::SetTimeouts(_)
            | Change::StartDaemon(_)
            | Change::StopDaemon(_) => None,
        }
    }

    /// The operation, which decides how an errno reads.
    pub fn operation(&self) -> Operation {
        self.kind().0
    }

    /// The operation and the command that carries it.
    fn kind(&self) -> (Operation, Command) {
        use {Command as C, Operation as O};
        match self {
            Change::AddService(_) => (O::AddService, C::NewService),
            Change::EditService(_) => (O::EditService, C::SetService),
            Change::DeleteService(_) => (O::DeleteService, C::DelService),
            Change::AddDestination { .. } => (O::AddDestination, C::NewDest),
            Change::EditDestination { .. } => (O::EditDestination, C::SetDest),
            Change::DeleteDestination { .. } => (O::DeleteDestination, C::DelDest),
            Change::Zero(_) => (O::Zero, C::Zero),
            Change::Flush => (O::Flush, C::Flush),
            Change::SetTimeouts(_) => (O::SetTimeouts, C::SetConfig),
            Change::StartDaemon(_) => (O::StartDaemon, C::NewDaemon),
            Change::StopDaemon(_) => (O::StopDaemon, C::DelDaemon),
        }
    }

    /// Appends the generic-netlink payload that carries this change (without its netlink
    /// header) to `out`, attribute by attribute: what [`Ipvs::apply`] sends
    /// ([`replay::message`] reads it back for tests).
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut w = PayloadWriter::new(out, self.kind().1);
        match self {
            Change::AddService(s) | Change::EditService(s) => {
                w.service(|n| wire::service(s, n));
            }
            Change::DeleteService(k) | Change::Zero(Some(k)) => {
                w.service(|n| wire::service_key(k, n));
            }
            Change::AddDestination {
                service,
                destination,
            }
            | Change::EditDestination {
                service,
                destination,
            } => {
                w.service(|n| wire::service_key(service, n))
                    .dest(|n| wire::dest(destination, true, n));
            }
            Change::DeleteDestination {
                service,
                addr,
                port,
            } => {
                let d = Destination::new(*addr, *port);
                w.service(|n| wire::service_key(service, n))
                    .dest(|n| wire::dest(&d, false, n));
            }
            Change::Zero(None) | Change::Flush => {}
            Change::SetTimeouts(t) => {
                w.attr(&Attr::TimeoutTcp(t.tcp))
                    .attr(&Attr::TimeoutTcpFin(t.tcp_fin))
                    .attr(&Attr::TimeoutUdp(t.udp));
            }
            Change::StartDaemon(d) => {
                w.daemon(|n| wire::daemon(d, n));
            }
            Change::StopDaemon(s) => {
                w.daemon(|n| n.extend([ipvs_sys::DaemonAttr::State(s.to_wire())]));
            }
        }
    }
}

/// How to open an [`Ipvs`] handle: which network namespace, and whether to
/// run `modprobe -- ip_vs` when the kernel has no IPVS yet.
///
/// ```no_run
/// use ipvs::OpenOptions;
/// // In a container without the module tools, or a program that must not load modules:
/// let ipvs = OpenOptions::new().modprobe(false).netns("blue").open()?;
/// # Ok::<(), ipvs::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions {
    netns: Option<PathBuf>,
    modprobe: bool,
    timeout: Option<Duration>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// The caller's namespace, with `modprobe` (as [`Ipvs::new`]).
    pub fn new() -> Self {
        OpenOptions {
            netns: None,
            modprobe: true,
            timeout: None,
        }
    }

    /// Another network namespace, by name (under `/var/run/netns`) or path
    /// (`/proc/PID/ns/net`), as [`Ipvs::in_netns`] takes it.
    pub fn netns(mut self, name_or_path: &str) -> Self {
        self.netns = Some(ipvs_sys::netns::netns_path(name_or_path));
        self
    }

    /// Whether to run `modprobe -- ip_vs` once when the kernel has no IPVS
    /// family (default yes, as ipvsadm does). Without it, such a kernel gives
    /// [`Error::NotAvailable`] at once.
    pub fn modprobe(mut self, run: bool) -> Self {
        self.modprobe = run;
        self
    }

    /// How long to wait for the kernel's answer to one request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Opens the handle.
    pub fn open(self) -> Result<Ipvs> {
        let netns = self.netns;
        let try_open = || match &netns {
            Some(p) => IpvsSocket::open_in_netns(p),
            None => IpvsSocket::open(),
        };
        let mut loaded = (None, String::new());
        let sock = match try_open() {
            Err(ipvs_sys::Error::FamilyNotFound) if self.modprobe => {
                loaded = modprobe_ip_vs();
                try_open()
            }
            other => other,
        }
        .map_err(|e| match (e, &netns) {
            (ipvs_sys::Error::Io(source), Some(path)) => Error::Netns {
                path: path.clone(),
                source,
            },
            (ipvs_sys::Error::FamilyNotFound, _) => Error::NotAvailable {
                modprobe_status: loaded.0,
                modprobe_stderr: std::mem::take(&mut loaded.1),
            },
            (e, _) => Error::from_sys(Operation::Open, e),
        })?;
        let mut sock = sock;
        if let Some(t) = self.timeout {
            sock.set_timeout(t)
                .map_err(|e| Error::from_sys(Operation::Open, e))?;
        }
        Ok(Ipvs {
            sock: Mutex::new(sock),
            netns,
        })
    }
}

/// What [`Ipvs::read_state`] reads besides every service and its destinations.
///
/// ```no_run
/// use ipvs::ReadOptions;
/// # let ipvs = ipvs::Ipvs::new()?;
/// # let desired = ipvs::State::default();
/// let saved = ipvs.read_state(&ReadOptions::new().with_timeouts(true))?;
/// // To plan against `desired`: its timeouts if it sets them, and sure of its services.
/// let current = ipvs.read_state(&ReadOptions::for_state(&desired))?;
/// # Ok::<(), ipvs::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    timeouts: bool,
    sure_of: Vec<ServiceKey>,
    /// The sysctls to read (by name) and whether to read the daemons.
    settings: settings::Settings,
}

impl ReadOptions {
    /// Services and destinations only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to read the connection timeouts too (default no).
    pub fn with_timeouts(mut self, timeouts: bool) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The read a plan against `desired` needs (see [`plan`]): the timeouts when `desired`
    /// sets them, the sysctls it names, the daemons when it has some, and sure of `desired`'s
    /// services even when another writer tears the dump (see [`Ipvs::read_state`]).
    pub fn for_state(desired: &State) -> Self {
        ReadOptions {
            timeouts: desired.timeouts.is_some(),
            sure_of: desired.services.iter().map(|s| s.service.key).collect(),
            settings: settings::Settings {
                timeouts: None,
                sysctls: desired.sysctls.clone(),
                sync_daemons: desired.sync_daemons.as_ref().map(|_| Vec::new()),
            },
        }
    }
}

/// A handle on the IPVS tables of one network namespace.
///
/// It owns one netlink socket, opened and resolved once. Methods take `&self`
/// and serialise on an internal lock (the kernel serialises IPVS anyway).
#[derive(Debug)]
pub struct Ipvs {
    sock: Mutex<IpvsSocket>,
    netns: Option<PathBuf>,
}

impl Ipvs {
    /// Opens IPVS in the caller's network namespace. When the kernel has no
    /// IPVS family yet, runs `modprobe -- ip_vs` once, as ipvsadm does (see
    /// [`OpenOptions`] to open without it).
    pub fn new() -> Result<Self> {
        OpenOptions::new().open()
    }

    /// Opens IPVS in another network namespace, given by name (as `ip netns`
    /// names it, under `/var/run/netns`) or by path (`/proc/PID/ns/net`).
    /// The calling thread never changes namespace.
    pub fn in_netns(name_or_path: &str) -> Result<Self> {
        OpenOptions::new().netns(name_or_path).open()
    }

    /// The namespace this handle was opened in, if not the caller's.
    pub fn netns(&self) -> Option<&std::path::Path> {
        self.netns.as_deref()
    }

    fn socket(&self) -> std::sync::MutexGuard<'_, IpvsSocket> {
        // A panic while holding the lock cannot leave the socket half-used:
        // every call sends and reads to completion or fails.
        self.sock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn request(&self, op: Operation, msg: IpvsMessage) -> Result<Vec<IpvsMessage>> {
        self.socket()
            .request(&msg)
            .map_err(|e| Error::from_sys(op, e))
    }

    fn dump(&self, op: Operation, msg: IpvsMessage) -> Result<Vec<IpvsMessage>> {
        self.socket().dump(&msg).map_err(|e| Error::from_sys(op, e))
    }

    /// Applies one change and waits for the kernel's answer.
    pub fn apply_one(&self, change: &Change) -> Result<()> {
        self.socket()
            .request_with(|out| change.write(out))
            .map(drop)
            .map_err(|e| Error::from_sys(change.operation(), e))
    }

    /// Applies many changes, packing many messages into each send: the way to
    /// load thousands of objects quickly. Every change is tried, in order; the
    /// result has one entry per change. The outer error is for the socket itself.
    pub fn apply(&self, changes: &[Change]) -> Result<Vec<Result<()>>> {
        let outcomes = |results: Vec<ipvs_sys::BatchResult>| -> Vec<Result<()>> {
            results
                .into_iter()
                .zip(changes)
                .map(|(r, c)| {
                    r.map_err(|k| Error::Kernel {
                        op: c.operation(),
                        errno: k.errno,
                        detail: k.ext_ack,
                    })
                })
                .collect()
        };
        // Each change is written straight into the send buffer when its turn comes.
        let sent = self
            .socket()
            .batch_with(changes.len(), |i, out| changes[i].write(out));
        match sent {
            Ok(results) => Ok(outcomes(results)),
            Err(ipvs_sys::Error::BatchOverrun {
                done,
                in_flight,
                refused,
            }) => Err(Error::BatchOverrun {
                done: outcomes(done),
                not_sent: changes.len() - in_flight.end,
                unknown: in_flight,
                refused: refused
                    .into_iter()
                    .map(|(i, k)| {
                        let op = changes[i].operation();
                        let e = Error::Kernel {
                            op,
                            errno: k.errno,
                            detail: k.ext_ack,
                        };
                        (i, e)
                    })
                    .collect(),
            }),
            Err(e) => Err(Error::from_sys(Operation::Apply, e)),
        }
    }

    /// IPVS version and connection-table size.
    pub fn info(&self) -> Result<Info> {
        let op = Operation::GetInfo;
        let replies = self.request(op, IpvsMessage::new(Command::GetInfo, vec![]))?;
        let mut info = Info {
            version: 0,
            conn_tab_size: 0,
        };
        let mut seen = false;
        for a in replies.iter().flat_map(|m| &m.attrs) {
            match a {
                Attr::Info(ipvs_sys::InfoAttr::Version(v)) => {
                    info.version = *v;
                    seen = true;
                }
                Attr::Info(ipvs_sys::InfoAttr::ConnTabSize(v)) => info.conn_tab_size = *v,
                _ => {}
            }
        }
        if !seen {
            return Err(Error::Decode {
                op,
                detail: "GET_INFO reply without a version".into(),
            });
        }
        Ok(info)
    }

    /// Every service, with statistics, in kernel (hash) order, each once.
    ///
    /// Another writer, in this namespace or any other, can tear the kernel's dump (see
    /// [`Ipvs::read_state`]): it may list a service twice, kept here once (so that an
    /// exporter never writes one series twice), or skip one, which no reader can tell.
    pub fn services(&self) -> Result<Vec<ServiceEntry>> {
        self.services_with(Reading::WithStats)
    }

    /// [`Ipvs::services`], with statistics or without ([`Reading::WithoutStats`]: all zero).
    pub fn services_with(&self, reading: Reading) -> Result<Vec<ServiceEntry>> {
        let op = Operation::GetServices;
        let mut out = Vec::new();
        let nests = nests_for(reading);
        // Each part is decoded from the receive buffer: no intermediate message.
        self.socket()
            .dump_into(
                &IpvsMessage::new(Command::GetService, vec![]),
                &mut out,
                |payload| service_with(payload, nests),
            )
            .map_err(|e| Error::from_sys(op, e))?;
        keep_once(&mut out);
        Ok(out)
    }

    /// The services `keys` name, each with statistics, `None` for one the kernel does not have:
    /// one batch of requests, not a round trip each (see [`Ipvs::read_state`]).
    pub(crate) fn services_by_key(&self, keys: &[ServiceKey]) -> Result<Vec<Option<ServiceEntry>>> {
        let op = Operation::GetServices;
        let mut found: Vec<Option<ServiceEntry>> = vec![None; keys.len()];
        let results = self.socket().batch_replies_with(
            keys.len(),
            |i, out| {
                PayloadWriter::new(out, Command::GetService)
                    .service(|n| wire::service_key(&keys[i], n));
            },
            |i, payload| {
                if let (Some(entry), Some(slot)) = (service_of(payload)?, found.get_mut(i)) {
                    *slot = Some(entry);
                }
                Ok(())
            },
        );
        let results = match results {
            Ok(r) => r,
            // The answers did not fit the receive queue (later sends hold fewer): one at a time.
            Err(ipvs_sys::Error::BatchOverrun { .. }) => {
                return keys.iter().map(|k| self.service(k)).collect()
            }
            Err(e) => return Err(Error::from_sys(op, e)),
        };
        for r in results {
            match r {
                // The kernel's answer for a service it does not have.
                Err(k) if k.errno == libc::ESRCH => {}
                Err(k) => return Err(Error::from_sys(op, ipvs_sys::Error::Kernel(k))),
                Ok(()) => {}
            }
        }
        Ok(found)
    }

    /// One service, with statistics; `None` when there is no such service.
    pub fn service(&self, key: &ServiceKey) -> Result<Option<ServiceEntry>> {
        let op = Operation::GetServices;
        let msg = IpvsMessage::new(
            Command::GetService,
            vec![Attr::Service(wire::service_key_attrs(key))],
        );
        let replies = match self.request(op, msg) {
            Ok(r) => r,
            // The kernel's answer for a service it does not have.
            Err(Error::Kernel {
                errno: libc::ESRCH, ..
            }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let attrs = replies
            .iter()
            .find_map(|m| m.service())
            .ok_or(Error::Decode {
                op,
                detail: "GET_SERVICE reply without a service".into(),
            })?;
        wire::service_from(attrs)
            .map(Some)
            .map_err(|detail| Error::Decode { op, detail })
    }

    /// Adds a service.
    pub fn add_service(&self, service: &Service) -> Result<()> {
        self.apply_one(&Change::AddService(service.clone()))
    }

    /// Changes a service (found by its key) to `service`.
    pub fn edit_service(&self, service: &Service) -> Result<()> {
        self.apply_one(&Change::EditService(service.clone()))
    }

    /// Deletes a service and its destinations.
    pub fn delete_service(&self, key: &ServiceKey) -> Result<()> {
        self.apply_one(&Change::DeleteService(*key))
    }

    /// The destinations of a service, with connections and statistics.
    /// The kernel answers an empty list for a service that does not exist.
    pub fn destinations(&self, key: &ServiceKey) -> Result<Vec<DestinationEntry>> {
        let mut out = Vec::new();
        self.destinations_into(key, &mut out)?;
        // A listing holds every service's list at once: 5 destinations would keep room for 8.
        out.shrink_to_fit();
        Ok(out)
    }

    /// [`Ipvs::destinations`] into a list given by the caller, which is cleared first: a
    /// listing that handles one service at a time reads every service's destinations into one
    /// list, allocated once. On an error the list holds what was read before it.
    ///
    /// ```no_run
    /// # let ipvs = ipvs::Ipvs::new()?;
    /// let mut dests = Vec::new();
    /// for entry in ipvs.services()? {
    ///     ipvs.destinations_into(&entry.service.key, &mut dests)?;
    ///     println!("{}: {} destinations", entry.service.key, dests.len());
    /// }
    /// # Ok::<(), ipvs::Error>(())
    /// ```
    pub fn destinations_into(
        &self,
        key: &ServiceKey,
        out: &mut Vec<DestinationEntry>,
    ) -> Result<()> {
        self.destinations_into_with(key, out, Reading::WithStats)
    }

    /// [`Ipvs::destinations_into`], with statistics or without ([`Reading::WithoutStats`]:
    /// all zero).
    pub fn destinations_into_with(
        &self,
        key: &ServiceKey,
        out: &mut Vec<DestinationEntry>,
        reading: Reading,
    ) -> Result<()> {
        let op = Operation::GetDestinations;
        let nests = nests_for(reading);
        // Written straight into the send buffer: a listing sends one of these per service.
        let request = |out: &mut Vec<u8>| {
            PayloadWriter::new(out, Command::GetDest).service(|n| wire::service_key(key, n));
        };
        let family = key.family();
        out.clear();
        self.socket()
            .dump_with(request, out, |payload| dest_with(payload, family, nests))
            .map_err(|e| Error::from_sys(op, e))
    }

    /// The configuration of a service's destinations (no statistics or connections decoded),
    /// appended to `out`: what [`Ipvs::read_state`] keeps of them.
    pub(crate) fn destination_configs_into(
        &self,
        key: &ServiceKey,
        out: &mut Vec<Destination>,
    ) -> Result<()> {
        let op = Operation::GetDestinations;
        let request = |out: &mut Vec<u8>| {
            PayloadWriter::new(out, Command::GetDest).service(|n| wire::service_key(key, n));
        };
        let family = key.family();
        self.socket()
            .dump_with(request, out, |payload| {
                dest_with(payload, family, ipvs_sys::Nests::WithoutStats)
                    .map(|d| d.map(|e| e.destination))
            })
            .map_err(|e| Error::from_sys(op, e))
    }

    /// Adds a destination to a service.
    pub fn add_destination(&self, service: &ServiceKey, destination: &Destination) -> Result<()> {
        self.apply_one(&Change::AddDestination {
            service: *service,
            destination: *destination,
        })
    }

    /// Changes a destination (found by address and port).
    pub fn edit_destination(&self, service: &ServiceKey, destination: &Destination) -> Result<()> {
        self.apply_one(&Change::EditDestination {
            service: *service,
            destination: *destination,
        })
    }

    /// Removes a destination.
    pub fn delete_destination(&self, service: &ServiceKey, addr: IpAddr, port: u16) -> Result<()> {
        self.apply_one(&Change::DeleteDestination {
            service: *service,
            addr,
            port,
        })
    }

    /// Everything: each service with its destinations and statistics, in kernel order.
    pub fn state(&self) -> Result<Vec<VirtualServer>> {
        self.with_destinations(self.services()?)
    }

    /// Each service with its destinations, read one dump each.
    pub(crate) fn with_destinations(
        &self,
        services: Vec<ServiceEntry>,
    ) -> Result<Vec<VirtualServer>> {
        services
            .into_iter()
            .map(|entry| {
                let destinations = self.destinations(&entry.service.key)?;
                Ok(VirtualServer {
                    entry,
                    destinations,
                })
            })
            .collect()
    }

    /// Zeroes the counters of one service, or of every service when `None`.
    pub fn zero(&self, service: Option<&ServiceKey>) -> Result<()> {
        self.apply_one(&Change::Zero(service.copied()))
    }

    /// Deletes every service.
    pub fn flush(&self) -> Result<()> {
        self.apply_one(&Change::Flush)
    }

    /// The TCP, TCP-FIN and UDP timeouts.
    pub fn timeouts(&self) -> Result<Timeouts> {
        let replies = self.request(
            Operation::GetTimeouts,
            IpvsMessage::new(Command::GetConfig, vec![]),
        )?;
        let mut t = Timeouts::default();
        for a in replies.iter().flat_map(|m| &m.attrs) {
            match a {
                Attr::TimeoutTcp(v) => t.tcp = *v,
                Attr::TimeoutTcpFin(v) => t.tcp_fin = *v,
                Attr::TimeoutUdp(v) => t.udp = *v,
                _ => {}
            }
        }
        Ok(t)
    }

    /// Sets timeouts; a 0 leaves that one unchanged.
    pub fn set_timeouts(&self, timeouts: &Timeouts) -> Result<()> {
        self.apply_one(&Change::SetTimeouts(*timeouts))
    }

    /// The running sync daemons (at most a master and a backup).
    pub fn daemons(&self) -> Result<Vec<SyncDaemon>> {
        let op = Operation::GetDaemons;
        let replies = self.dump(op, IpvsMessage::new(Command::GetDaemon, vec![]))?;
        replies
            .iter()
            .filter_map(|m| m.daemon())
            .map(|d| wire::daemon_from(d).map_err(|detail| Error::Decode { op, detail }))
            .collect()
    }

    /// The connection table, from `/proc/net/ip_vs_conn` of this handle's namespace (the
    /// kernel has no netlink command for it), read one connection at a time as it is
    /// iterated: a table of any size in the memory of one line. The file is opened here (an
    /// error to open it is this call's); a line that does not parse ends the iteration with
    /// [`Error::Decode`].
    ///
    /// ```no_run
    /// # let ipvs = ipvs::Ipvs::new()?;
    /// let established = ipvs
    ///     .connections()?
    ///     .filter(|c| c.as_ref().is_ok_and(|c| c.state == "ESTABLISHED"))
    ///     .count();
    /// let all: Vec<ipvs::conn::Connection> = ipvs.connections()?.collect::<Result<_, _>>()?;
    /// # Ok::<(), ipvs::Error>(())
    /// ```
    pub fn connections(&self) -> Result<conn::Connections<std::io::BufReader<std::fs::File>>> {
        let op = Operation::GetConnections;
        let file = match &self.netns {
            // /proc/thread-self: /proc/net follows the thread-group leader, not this thread.
            // The file stays bound to the namespace it was opened in.
            Some(p) => ipvs_sys::netns::run_in_netns(p, || {
                std::fs::File::open("/proc/thread-self/net/ip_vs_conn")
            }),
            None => std::fs::File::open("/proc/net/ip_vs_conn"),
        }
        .map_err(|source| Error::Io { op, source })?;
        Ok(conn::Connections::new(std::io::BufReader::with_capacity(
            64 * 1024,
            file,
        )))
    }
}

/// The service a `NEW_SERVICE` payload carries (a dump part or a `GET_SERVICE` answer), decoded
/// where it lies in the receive buffer; `None` for a payload without one.
fn service_of(payload: &[u8]) -> std::result::Result<Option<ServiceEntry>, ipvs_sys::DecodeError> {
    service_with(payload, ipvs_sys::Nests::WithStats)
}

/// [`service_of`] that looks into the nests `nests` says.
fn service_with(
    payload: &[u8],
    nests: ipvs_sys::Nests,
) -> std::result::Result<Option<ServiceEntry>, ipvs_sys::DecodeError> {
    let Some(nest) = ipvs_sys::top_level_nest(payload, IPVS_CMD_ATTR_SERVICE)? else {
        return Ok(None);
    };
    // Read where it was decoded, not moved out of its `Result` (a copy of 176 bytes).
    match ipvs_sys::ServiceReply::parse_with(nest, nests) {
        Ok(ref reply) => match wire::service_from_reply(reply) {
            Ok(entry) => Ok(Some(entry)),
            Err(e) => Err(ipvs_sys::DecodeError::from(e)),
        },
        Err(e) => Err(e),
    }
}

/// A service dump's services, each once (a torn dump can list one twice: the first stays).
fn keep_once(services: &mut Vec<ServiceEntry>) {
    let mut seen = std::collections::HashSet::with_capacity_and_hasher(services.len(), KeyHash);
    services.retain(|e| seen.insert(e.service.key));
}

/// The destination a `NEW_DEST` payload carries (a destination dump's part), decoded where it
/// lies in the receive buffer, looking into the nests `nests` says; `None` for a payload
/// without one.
fn dest_with(
    payload: &[u8],
    family: Family,
    nests: ipvs_sys::Nests,
) -> std::result::Result<Option<DestinationEntry>, ipvs_sys::DecodeError> {
    let Some(nest) = ipvs_sys::top_level_nest(payload, IPVS_CMD_ATTR_DEST)? else {
        return Ok(None);
    };
    let reply = ipvs_sys::DestReply::parse_with(nest, nests)?;
    wire::dest_from_reply(&reply, family)
        .map(Some)
        .map_err(ipvs_sys::DecodeError::from)
}

/// The wire layer's name for what a [`Reading`] decodes.
fn nests_for(reading: Reading) -> ipvs_sys::Nests {
    match reading {
        Reading::WithStats => ipvs_sys::Nests::WithStats,
        Reading::WithoutStats => ipvs_sys::Nests::WithoutStats,
    }
}

/// The wire form of changes, and decoding of captured kernel messages, for tests that replay
/// real netlink bytes (such as the golden fixtures of `ipvs-sys`) through the same conversions
/// [`Ipvs`] uses; and the handle's socket, for tests that make it overflow. The message types
/// belong to the `ipvs-sys` wire layer and are not part of this crate's stable interface.
#[doc(hidden)]
pub mod replay {
    use ipvs_sys::{Command, IpvsMessage};

    use crate::types::{DestinationEntry, ServiceEntry, VirtualServer};
    use crate::{wire, Change, Ipvs};

    /// Runs `f` on the socket of `ipvs`: for tests that shrink its receive queue and make its
    /// sends hold more than fits (`IpvsSocket::set_receive_buffer`, `set_batch_limit`), so
    /// that the kernel's answers overflow it.
    pub fn with_socket<T>(ipvs: &Ipvs, f: impl FnOnce(&mut ipvs_sys::IpvsSocket) -> T) -> T {
        f(&mut ipvs.socket())
    }

    /// The generic-netlink message that carries a change (without its netlink header): what
    /// [`Ipvs::apply`](crate::Ipvs::apply) sends, for tests that compare it with captured bytes
    /// or send it by other means.
    ///
    /// # Panics
    /// If the bytes [`payload`] writes do not parse back: a bug in this crate, which the tests
    /// that compare them with ipvsadm's would show first.
    pub fn message(change: &Change) -> IpvsMessage {
        IpvsMessage::parse(&payload(change)).expect("a change's own payload parses")
    }

    /// The generic-netlink payload (after `struct nlmsghdr`) that
    /// [`Ipvs::apply`](crate::Ipvs::apply) writes for a change.
    pub fn payload(change: &Change) -> Vec<u8> {
        let mut out = Vec::new();
        change.write(&mut out);
        out
    }

    /// Appends `change` to `out` as [`Ipvs::apply`](crate::Ipvs::apply) puts it in a send: one
    /// netlink message (family id 0, sequence 0, `NLM_F_REQUEST`), padded. For encoding
    /// benchmarks.
    #[inline(never)]
    pub fn encode_into(out: &mut Vec<u8>, change: &Change) {
        ipvs_sys::frame::encode_with(out, 0, 1, 0, |out| change.write(out));
    }

    /// The service a message carries (a `NEW_SERVICE` reply, or the service nest of a request).
    pub fn service(msg: &IpvsMessage) -> Option<Result<ServiceEntry, String>> {
        msg.service().map(wire::service_from)
    }

    /// The sync daemon a message carries (a `NEW_DAEMON` reply, or a daemon request).
    pub fn daemon(msg: &IpvsMessage) -> Option<Result<crate::SyncDaemon, String>> {
        msg.daemon().map(wire::daemon_from)
    }

    /// What [`Ipvs::read_state`](crate::Ipvs::read_state) makes of a table's replies without a
    /// kernel: `services` are the service dump's `NEW_SERVICE` payloads, `destinations[i]` the
    /// `NEW_DEST` payloads of the i-th destination dump (one per service, in the order the
    /// services are read). Neither the timeouts nor the settings are read. For the cost
    /// example `ipvsctl/examples/apply_cost.rs`.
    pub fn read_state(
        services: &[Vec<u8>],
        destinations: &[Vec<Vec<u8>>],
        options: &crate::ReadOptions,
    ) -> Result<crate::State, String> {
        let src = Replayed {
            services,
            destinations,
            next: std::cell::Cell::new(0),
        };
        crate::apply::read_table(&src, &options.sure_of).map_err(|e| e.to_string())
    }

    /// What [`Ipvs::services_with`](crate::Ipvs::services_with) makes of a service dump's
    /// `NEW_SERVICE` payloads (the same decoding of each, each service kept once), without a
    /// kernel: for the cost example `ipvsctl/examples/list_cost.rs`.
    pub fn services(
        payloads: &[Vec<u8>],
        reading: crate::Reading,
    ) -> Result<Vec<ServiceEntry>, String> {
        let nests = super::nests_for(reading);
        let mut out = Vec::with_capacity(payloads.len());
        for p in payloads {
            out.extend(super::service_with(p, nests).map_err(|e| e.to_string())?);
        }
        super::keep_once(&mut out);
        Ok(out)
    }

    /// What [`Ipvs::destinations_into_with`](crate::Ipvs::destinations_into_with) makes of a
    /// destination dump's `NEW_DEST` payloads for a service of family `family` (the same
    /// decoding of each, appended to `out` after clearing it), without a kernel.
    pub fn destinations_into(
        payloads: &[Vec<u8>],
        family: crate::Family,
        out: &mut Vec<DestinationEntry>,
        reading: crate::Reading,
    ) -> Result<(), String> {
        let nests = super::nests_for(reading);
        out.clear();
        for p in payloads {
            out.extend(super::dest_with(p, family, nests).map_err(|e| e.to_string())?);
        }
        Ok(())
    }

    /// Replies replayed as [`read_state`] reads them.
    struct Replayed<'a> {
        services: &'a [Vec<u8>],
        destinations: &'a [Vec<Vec<u8>>],
        /// The next destination dump.
        next: std::cell::Cell<usize>,
    }

    impl Replayed<'_> {
        fn decode_error(op: crate::Operation, e: ipvs_sys::DecodeError) -> crate::Error {
            crate::Error::from_sys(op, ipvs_sys::Error::Decode(e))
        }
    }

    impl crate::apply::TableSource for Replayed<'_> {
        fn services(&self) -> crate::Result<Vec<ServiceEntry>> {
            let mut out = Vec::new();
            for p in self.services {
                let entry = super::service_with(p, ipvs_sys::Nests::WithoutStats)
                    .map_err(|e| Self::decode_error(crate::Operation::GetServices, e))?;
                out.extend(entry);
            }
            super::keep_once(&mut out);
            Ok(out)
        }
        fn services_by_key(
            &self,
            keys: &[crate::ServiceKey],
        ) -> crate::Result<Vec<Option<ServiceEntry>>> {
            Ok(vec![None; keys.len()])
        }
        fn destinations(
            &self,
            key: &crate::ServiceKey,
            out: &mut Vec<crate::Destination>,
        ) -> crate::Result<()> {
            let i = self.next.get();
            self.next.set(i + 1);
            for p in self.destinations.get(i).map_or(&[][..], Vec::as_slice) {
                let d = super::dest_with(p, key.family(), ipvs_sys::Nests::WithoutStats)
                    .map_err(|e| Self::decode_error(crate::Operation::GetDestinations, e))?;
                out.extend(d.map(|e| e.destination));
            }
            Ok(())
        }
    }

    /// The table a listing saw, from its messages in capture order, both directions: each
    /// `NEW_SERVICE` reply is a service (in the kernel's order), and the `NEW_DEST` replies
    /// that follow a `GET_DEST` request are the destinations of the service that request named,
    /// as [`Ipvs::state`](crate::Ipvs::state) reads them.
    pub fn state(messages: &[IpvsMessage]) -> Result<Vec<VirtualServer>, String> {
        let mut out: Vec<VirtualServer> = Vec::new();
        let mut current = None;
        for msg in messages {
            match msg.cmd {
                Command::NewService => {
                    let entry = service(msg).ok_or("NEW_SERVICE without a service")??;
                    out.push(VirtualServer {
                        entry,
                        destinations: Vec::new(),
                    });
                }
                Command::GetDest => {
                    let key = service(msg)
                        .ok_or("GET_DEST without a service")??
                        .service
                        .key;
                    current = Some(
                        out.iter()
                            .position(|v| v.entry.service.key == key)
                            .ok_or_else(|| format!("GET_DEST for an unlisted service {key:?}"))?,
                    );
                }
                Command::NewDest => {
                    let i = current.ok_or("NEW_DEST before any GET_DEST")?;
                    let family = out[i].entry.service.key.family();
                    let attrs = msg.dest().ok_or("NEW_DEST without a destination")?;
                    let d: DestinationEntry = wire::dest_from(attrs, family)?;
                    out[i].destinations.push(d);
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Runs `modprobe -- ip_vs` (the first of the usual places that starts):
/// its exit status and standard error, or no status and why none started.
fn modprobe_ip_vs() -> (Option<std::process::ExitStatus>, String) {
    let mut why = String::new();
    for prog in ["/sbin/modprobe", "/usr/sbin/modprobe", "modprobe"] {
        let out = std::process::Command::new(prog)
            .args(["--", "ip_vs"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output();
        match out {
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
                return (Some(out.status), stderr);
            }
            Err(e) => why = format!("{prog}: {e}"),
        }
    }
    (None, why)
}
