//! The state schema: services with their destinations (and optionally the
//! connection timeouts) as a program wants them, or as the kernel has them.
//!
//! [`State`] is the aggregate [`plan`](crate::plan) and [`Ipvs::apply_state`](crate::Ipvs::apply_state)
//! work on; [`State::validate`] makes the checks reading it from JSON makes too (its serde form
//! is in `schema.rs`), each problem naming where it is (`services[2].destinations[0].forward`)
//! and what is wrong.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;

use crate::check::InvalidValue;
use crate::settings::{is_sysctl_name, SysctlValue};
use crate::{
    Destination, Forward, KeyHash, Service, ServiceKey, SyncDaemon, Timeouts, VirtualServer,
};

/// A whole IPVS table: services with their destinations, optionally timeouts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "crate::schema::StateInput")]
pub struct State {
    /// The services, each with its destinations.
    pub services: Vec<ServiceState>,
    /// Connection timeouts (`"timeouts": {"tcp", "tcp_fin", "udp"}`), when the
    /// state sets them; 0 leaves a value as it is.
    pub timeouts: Option<Timeouts>,
    /// `net.ipv4.vs.*` sysctls (`"sysctls": {"expire_nodest_conn": 1}`), by name without that
    /// prefix; those the state does not name are left as they are. [`crate::plan`] checks
    /// them against the kernel's (the current state's).
    pub sysctls: BTreeMap<String, SysctlValue>,
    /// The sync daemons (`"sync_daemons": [DAEMON, ...]`), when the state says: `None` leaves
    /// the kernel's as they are, `Some(vec![])` stops them.
    pub sync_daemons: Option<Vec<SyncDaemon>>,
}

/// A service with its destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    /// The service.
    pub service: Service,
    /// Its destinations.
    pub destinations: Vec<Destination>,
}

impl ServiceState {
    /// A service without destinations.
    pub fn new(service: Service) -> Self {
        ServiceState {
            service,
            destinations: Vec::new(),
        }
    }
    /// Adds a destination.
    pub fn with_destination(mut self, d: Destination) -> Self {
        self.destinations.push(d);
        self
    }
}

/// A state that fails its checks: every problem found, in the order of the
/// document (each service, then its destinations; the timeouts last). Never
/// empty.
///
/// Its `Display` is the problems' texts joined by `; `, each `path: what is
/// wrong` (`services[0].destinations[0].weight: 2147483648 is above
/// 2147483647`); a program matches on [`StateError::problems`] instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    problems: Vec<Problem>,
}

impl StateError {
    /// Every problem, in document order (at least one).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
    /// The first problem.
    pub fn first(&self) -> &Problem {
        // Never empty: built only by `from_problems` with at least one.
        &self.problems[0]
    }
    pub(crate) fn from_problems(problems: Vec<Problem>) -> Result<(), StateError> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StateError { problems })
        }
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StateError {}

/// One problem of a state: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// Where, in the schema's words: `services[0].destinations[1].weight`
    /// (a field), `services[2]` (a whole service), `timeouts.tcp`. For a
    /// service or destination read alone, the field only (`tunnel.port`).
    pub path: String,
    /// What is wrong.
    pub reason: Reason,
}

impl Problem {
    pub(crate) fn new(path: String, reason: Reason) -> Self {
        Problem { path, reason }
    }
    /// A failed value check at `path` (the value's field is appended).
    pub(crate) fn invalid(path: &str, e: InvalidValue) -> Self {
        Problem::new(join_path(path, e.field()), Reason::Invalid(e))
    }
}

/// `path: reason`, or the reason alone when there is no path.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

/// Why a [`Problem`] is one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// A value that ipvsadm or the kernel refuses ([`Service::validate`],
    /// [`Destination::validate`], [`Timeouts::validate`]).
    Invalid(InvalidValue),
    /// A service key that an earlier service of the state has too.
    DuplicateService,
    /// A destination address and port that an earlier destination of the
    /// same service has too.
    DuplicateDestination,
    /// A direct-routing or tunnel destination of an address service on
    /// another port than the service's: ipvsadm (and the JSON reader) give
    /// those the service's port; [`State::normalize`] does the same.
    DestinationPort {
        /// The destination's port.
        port: u16,
        /// The service's port.
        service_port: u16,
    },
    /// JSON that does not read as the schema's value: an unknown word, an
    /// address that is none, a missing or contradictory field (in words).
    Input(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Invalid(e) => write!(f, "{e}"),
            Reason::DuplicateService => f.write_str("the service is named twice"),
            Reason::DuplicateDestination => {
                f.write_str("the destination is named twice in its service")
            }
            Reason::DestinationPort { port, service_port } => write!(
                f,
                "{port} is not the service's port {service_port} (a direct-routing or tunnel \
                 destination takes its service's port; State::normalize sets it)"
            ),
            Reason::Input(msg) => f.write_str(msg),
        }
    }
}

/// The port a destination of `service` must have, when the forwarding method
/// decides it: ipvsadm gives direct-routing and tunnel destinations of an
/// address service the service's port (`-a -g`/`-i`); `None` otherwise.
pub(crate) fn forced_port(service: &ServiceKey, forward: &Forward) -> Option<u16> {
    match (service, forward) {
        (ServiceKey::Addr { port, .. }, Forward::DirectRoute | Forward::Tunnel { .. }) => {
            Some(*port)
        }
        _ => None,
    }
}

/// What the checks have seen so far: the service keys of the state, and the
/// destinations of the service at hand.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) keys: HashSet<ServiceKey, KeyHash>,
    pub(crate) dests: HashSet<(IpAddr, u16), KeyHash>,
}

/// The checks of one service of a state (index `i`) and of its destinations,
/// each problem given to `out`.
pub(crate) fn check_service(i: usize, s: &ServiceState, seen: &mut Seen, out: &mut Vec<Problem>) {
    let path = || format!("services[{i}]");
    s.service
        .each_problem(&mut |e| out.push(Problem::invalid(&path(), e)));
    if !seen.keys.insert(s.service.key) {
        out.push(Problem::new(path(), Reason::DuplicateService));
    }
    let key = &s.service.key;
    seen.dests.clear();
    for (j, d) in s.destinations.iter().enumerate() {
        let dpath = || format!("services[{i}].destinations[{j}]");
        d.each_problem(key, &mut |e| out.push(Problem::invalid(&dpath(), e)));
        if let Some(want) = forced_port(key, &d.forward) {
            if d.port != want {
                out.push(Problem::new(
                    join_path(&dpath(), "port"),
                    Reason::DestinationPort {
                        port: d.port,
                        service_port: want,
                    },
                ));
            }
        }
        let twice = if s.destinations.len() <= FEW {
            s.destinations[..j]
                .iter()
                .any(|e| (e.addr, e.port) == (d.addr, d.port))
        } else {
            !seen.dests.insert((d.addr, d.port))
        };
        if twice {
            out.push(Problem::new(dpath(), Reason::DuplicateDestination));
        }
    }
}

/// Up to this many destinations in a service, looking for one named twice scans the ones
/// before it: cheaper than hashing each (most services have a handful; `apply` checks every
/// service of a big table, twice).
pub(crate) const FEW: usize = 16;

pub(crate) fn check_timeouts(t: &Timeouts, out: &mut Vec<Problem>) {
    t.each_problem(&mut |e| out.push(Problem::invalid("timeouts", e)));
}

/// The checks of the settings a state can have without the kernel: sysctl names that can be
/// file names, each daemon valid and of its own state.
pub(crate) fn check_settings(
    sysctls: &BTreeMap<String, SysctlValue>,
    daemons: Option<&[SyncDaemon]>,
    out: &mut Vec<Problem>,
) {
    for name in sysctls.keys().filter(|n| !is_sysctl_name(n)) {
        out.push(Problem::new(
            format!("sysctls.{name}"),
            Reason::Input(format!("{name:?} is not a sysctl name")),
        ));
    }
    for (i, d) in daemons.unwrap_or_default().iter().enumerate() {
        let path = format!("sync_daemons[{i}]");
        if let Err(e) = d.validate() {
            out.push(Problem::invalid(&path, e));
        }
        if daemons.unwrap_or_default()[..i]
            .iter()
            .any(|o| o.state == d.state)
        {
            out.push(Problem::new(
                path,
                Reason::Input(format!(
                    "a second {} daemon (the kernel runs one of each)",
                    d.state
                )),
            ));
        }
    }
}

impl State {
    /// The configuration part of what [`crate::Ipvs::state`] read, in the given
    /// order (no statistics, no connection counts).
    pub fn from_servers<'a>(servers: impl IntoIterator<Item = &'a VirtualServer>) -> Self {
        State {
            services: servers
                .into_iter()
                .map(|vs| ServiceState {
                    service: vs.entry.service.clone(),
                    destinations: vs.destinations.iter().map(|d| d.destination).collect(),
                })
                .collect(),
            ..State::default()
        }
    }

    /// The one normalisation, which reading the JSON form makes too: a
    /// direct-routing or tunnel destination of an address service gets the
    /// service's port (as `ipvsadm -a -g` and `-i` do). A normalised state that passes [`State::validate`]
    /// serializes and reads back equal.
    ///
    /// ```
    /// use ipvs::{Destination, Service, ServiceKey, ServiceState, State};
    /// let web = ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80);
    /// let mut state = State::default();
    /// state.services.push(
    ///     // Direct routing (the default) cannot change the port.
    ///     ServiceState::new(Service::new(web))
    ///         .with_destination(Destination::new("10.0.0.2".parse().unwrap(), 8080)),
    /// );
    /// assert!(state.validate().is_err());
    /// state.normalize();
    /// assert_eq!(state.services[0].destinations[0].port, 80);
    /// state.validate()?;
    /// # Ok::<(), ipvs::StateError>(())
    /// ```
    pub fn normalize(&mut self) {
        for s in &mut self.services {
            let key = s.service.key;
            for d in &mut s.destinations {
                if let Some(port) = forced_port(&key, &d.forward) {
                    d.port = port;
                }
            }
        }
    }

    /// The checks reading the JSON form makes, on a state built in Rust, each
    /// problem reported (not only the first): [`Service::validate`] on each
    /// service, [`Destination::validate`] on each destination,
    /// [`Timeouts::validate`]; each service named at most once, each
    /// destination at most once within its service; a direct-routing or
    /// tunnel destination of an address service on the service's port (see
    /// [`State::normalize`]). [`plan`](crate::plan) makes them on the desired state.
    ///
    /// ```
    /// use ipvs::limits::InvalidValue;
    /// use ipvs::{Destination, Forward, Reason, Service, ServiceKey, ServiceState, State};
    /// let web = ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80);
    /// let real = Destination::new("10.0.0.2".parse().unwrap(), 80).with_forward(Forward::Masquerade);
    /// let mut state = State::default();
    /// state.services.push(
    ///     ServiceState::new(Service::new(web))
    ///         .with_destination(real.with_weight(1 << 31))
    ///         .with_destination(real.with_thresholds(10..=5)),
    /// );
    /// let e = state.validate().unwrap_err();
    /// assert_eq!(
    ///     e.first().to_string(),
    ///     "services[0].destinations[0].weight: 2147483648 is above 2147483647"
    /// );
    /// assert_eq!(e.problems().len(), 3);
    /// assert_eq!(e.problems()[1].path, "services[0].destinations[1].lower_threshold");
    /// assert!(matches!(
    ///     e.problems()[1].reason,
    ///     Reason::Invalid(InvalidValue::ThresholdOrder { lower: 10, upper: 5 })
    /// ));
    /// assert_eq!(e.problems()[2].reason, Reason::DuplicateDestination);
    /// ```
    pub fn validate(&self) -> Result<(), StateError> {
        let mut problems = Vec::new();
        let mut seen = Seen {
            keys: HashSet::with_capacity_and_hasher(self.services.len(), KeyHash),
            dests: HashSet::default(),
        };
        for (i, s) in self.services.iter().enumerate() {
            check_service(i, s, &mut seen, &mut problems);
        }
        if let Some(t) = &self.timeouts {
            check_timeouts(t, &mut problems);
        }
        check_settings(&self.sysctls, self.sync_daemons.as_deref(), &mut problems);
        StateError::from_problems(problems)
    }

    /// The service with this key, if the state names it (the first, if twice).
    /// A linear search: for many look-ups, index the services once.
    pub fn service(&self, key: &ServiceKey) -> Option<&ServiceState> {
        self.services.iter().find(|s| s.service.key == *key)
    }

    /// [`State::service`], to change it.
    pub fn service_mut(&mut self, key: &ServiceKey) -> Option<&mut ServiceState> {
        self.services.iter_mut().find(|s| s.service.key == *key)
    }

    /// Every destination of every service, with its service's key, in the state's order.
    pub fn destinations(&self) -> impl Iterator<Item = (ServiceKey, &Destination)> {
        self.services
            .iter()
            .flat_map(|s| s.destinations.iter().map(move |d| (s.service.key, d)))
    }
}

/// `path.field`, or `field` without a path.
pub(crate) fn join_path(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Family, Netmask, Scheduler, ServiceFlags, TunnelFlags, TunnelType};
    use std::net::Ipv4Addr;

    pub(crate) fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A destination named twice is found the same way with few destinations (scanned) and
    /// with many (hashed): the later one is reported, by its index.
    #[test]
    fn a_destination_named_twice_is_found_with_few_and_with_many() {
        for n in [3u8, FEW as u8 - 1, FEW as u8, 40] {
            let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
            let mut s = ServiceState::new(Service::new(key));
            for i in 0..n {
                s.destinations.push(
                    Destination::new(IpAddr::from([192, 168, 0, i]), 80)
                        .with_forward(Forward::Masquerade),
                );
            }
            let twice = s.destinations[1];
            s.destinations.insert(usize::from(n) - 1, twice);
            let state = State {
                services: vec![s],
                ..State::default()
            };
            let e = state.validate().unwrap_err();
            assert_eq!(e.problems().len(), 1, "{n} destinations");
            assert_eq!(e.problems()[0].reason, Reason::DuplicateDestination);
            assert_eq!(
                e.problems()[0].path,
                format!("services[0].destinations[{}]", n - 1)
            );
        }
    }

    pub(crate) fn sample() -> State {
        let web = Service::new(ServiceKey::tcp(ip("10.0.0.100"), 80)).with_scheduler("rr");
        let mut sh = Service::new(ServiceKey::fwmark(7, Family::Inet6)).with_scheduler("sh");
        sh.flags |= ServiceFlags::SH_PORT | ServiceFlags::PERSISTENT;
        sh.timeout = 60;
        sh.netmask = Netmask::V6(64);
        State {
            services: vec![
                ServiceState::new(web)
                    .with_destination(
                        Destination::new(ip("192.168.10.11"), 8080)
                            .with_forward(Forward::Masquerade)
                            .with_weight(3),
                    )
                    .with_destination(Destination::new(ip("192.168.10.12"), 80).with_forward(
                        Forward::Tunnel {
                            kind: TunnelType::Gue,
                            port: 6080,
                            flags: TunnelFlags::CSUM,
                        },
                    )),
                ServiceState::new(sh).with_destination(Destination::new(ip("2001:db8::1"), 0)),
            ],
            timeouts: None,
            ..Default::default()
        }
    }

    #[test]
    fn validate_makes_the_json_checks_on_rust_values() {
        type Edit = Box<dyn Fn(&mut State)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|s| {
                    s.services[0].service.scheduler = Scheduler::from("a-very-long-name-x")
                }),
                "services[0].scheduler: invalid name",
            ),
            (
                Box::new(|s| s.services[0].destinations[0].weight = u32::MAX),
                "services[0].destinations[0].weight: 4294967295 is above 2147483647",
            ),
            (
                Box::new(|s| s.services[0].destinations[0].lower_threshold = 4),
                "services[0].destinations[0].lower_threshold: 4 is above upper_threshold 0",
            ),
            (
                Box::new(|s| {
                    s.services[0].destinations[1].forward = Forward::Tunnel {
                        kind: TunnelType::Ipip,
                        port: 5,
                        flags: TunnelFlags::empty(),
                    }
                }),
                "services[0].destinations[1].tunnel.port: an ipip tunnel has no port",
            ),
            (
                Box::new(|s| {
                    s.services[0].destinations[0].addr = ip("2001:db8::9");
                }),
                "services[0].destinations[0].address: a different address family",
            ),
            (
                Box::new(|s| s.services[0].service.flags |= ServiceFlags::ONEPACKET),
                "services[0].flags: \"ops\"",
            ),
            (
                Box::new(|s| s.services[1].service.timeout = 0),
                "services[1].timeout: a persistent service needs a timeout above 0",
            ),
            (
                Box::new(|s| s.services[1].service.netmask = Netmask::V4(Ipv4Addr::BROADCAST)),
                "services[1].netmask: an IPv6 service's netmask",
            ),
            (
                Box::new(|s| {
                    let d = s.services[0].destinations[0];
                    s.services[0].destinations.push(d);
                }),
                "services[0].destinations[2]: the destination is named twice",
            ),
            (
                Box::new(|s| {
                    let d = s.services[1].clone();
                    s.services.push(d);
                }),
                "services[2]: the service is named twice",
            ),
        ];
        for (change, want) in cases {
            let mut s = sample();
            change(&mut s);
            let e = s.validate().expect_err(want).to_string();
            assert!(e.starts_with(want), "gave: {e}\nwant: {want}");
        }
    }

    #[test]
    fn a_service_is_found_by_its_key() {
        let mut s = sample();
        let key = ServiceKey::fwmark(7, Family::Inet6);
        assert_eq!(s.service(&key).unwrap().destinations.len(), 1);
        assert!(s.service(&ServiceKey::fwmark(8, Family::Inet6)).is_none());
        s.service_mut(&key).unwrap().destinations.clear();
        assert!(s.services[1].destinations.is_empty());
    }
}
