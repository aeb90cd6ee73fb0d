//! Properties of `ipvs::State` over random states (a small seeded generator, so a failure
//! reproduces): one normalisation and one validation whether a state is built in Rust or read
//! from JSON; a valid state serializes and reads back equal; `plan(s, s)` is empty; `plan`
//! refuses what `validate` refuses, with the same problems.
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvs::limits::InvalidValue;
use ipvs::limits::{MAX_TIMEOUT, MAX_WEIGHT};
use ipvs::schema::StateInput;
use ipvs::{
    plan, Destination, Family, Forward, Netmask, PlanOptions, Protocol, Reason, Service,
    ServiceFlags, ServiceKey, ServiceState, State, StateError, Timeouts, TunnelFlags, TunnelType,
};

/// xorshift64: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// Mostly small, sometimes a limit.
    fn up_to(&mut self, max: u32) -> u32 {
        match self.below(4) {
            0 => max,
            1 => 0,
            _ => self.below(u64::from(max.min(1000)) + 1) as u32,
        }
    }
}

fn addr(r: &mut Rng, family: Family) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(10, r.below(3) as u8, 0, r.below(6) as u8 + 1)),
        // Now and then an IPv4-compatible address, which glibc writes with a dotted quad.
        Family::Inet6 if r.one_in(8) => IpAddr::V6(Ipv6Addr::new(
            0,
            0,
            0,
            0,
            0,
            0,
            0x0a01,
            r.below(6) as u16 + 1,
        )),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            r.below(3) as u16,
            0,
            0,
            0,
            0,
            r.below(6) as u16 + 1,
        )),
    }
}

fn family(r: &mut Rng) -> Family {
    r.pick(&[Family::IPV4, Family::IPV6])
}

fn service(r: &mut Rng) -> Service {
    let fam = family(r);
    let persistent = r.one_in(2);
    let key = match r.below(4) {
        0 => ServiceKey::fwmark(r.below(5) as u32 + 1, fam),
        n => {
            let protocol = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][n as usize - 1];
            // Port 0 only for a persistent service.
            let port = if persistent && r.one_in(4) {
                0
            } else {
                r.pick(&[80, 443, 53, 8080])
            };
            ServiceKey::Addr {
                protocol,
                addr: addr(r, fam),
                port,
            }
        }
    };
    let mut s = Service::new(key).with_scheduler(r.pick(&["rr", "wrr", "wlc", "lc", "sh", "mh"]));
    if persistent {
        s = s.with_persistence(r.up_to(MAX_TIMEOUT).max(1));
        s.netmask = match fam {
            Family::Inet => Netmask::V4(Ipv4Addr::from(u32::MAX << r.below(32))),
            Family::Inet6 => Netmask::V6(r.below(128) as u8 + 1),
        };
        if r.one_in(3) {
            s.persistence_engine = Some("sip".into());
        }
    } else if r.one_in(4) {
        // A timeout without persistence is kept as it is.
        s.timeout = r.up_to(MAX_TIMEOUT);
    }
    let one_packet_ok = matches!(
        key,
        ServiceKey::Fwmark { .. }
            | ServiceKey::Addr {
                protocol: Protocol::Udp,
                ..
            }
    );
    if one_packet_ok && r.one_in(3) {
        s.flags |= ServiceFlags::ONEPACKET;
    }
    if r.one_in(3) {
        s.flags |= [
            ServiceFlags::SCHED1,
            ServiceFlags::SCHED2,
            ServiceFlags::SCHED3,
        ][r.below(3) as usize];
    }
    s
}

fn forward(r: &mut Rng) -> Forward {
    let csum = [
        TunnelFlags::empty(),
        TunnelFlags::CSUM,
        TunnelFlags::REMCSUM,
    ];
    match r.below(8) {
        0 => Forward::Masquerade,
        1 => Forward::DirectRoute,
        2 => Forward::Local,
        3 => Forward::Bypass,
        4 => Forward::ipip(),
        5 => Forward::Tunnel {
            kind: TunnelType::Gue,
            port: r.pick(&[6080, 6081, 1]),
            flags: r.pick(&csum),
        },
        6 => Forward::Tunnel {
            kind: TunnelType::Gre,
            port: 0,
            flags: r.pick(&csum[..2]),
        },
        _ => Forward::Masquerade,
    }
}

/// A valid state, but for the ports of direct-routing and tunnel destinations, which are
/// random (as a program may set them) unless `normal`. Each key once, each destination once.
fn random_state(r: &mut Rng, normal: bool) -> State {
    let mut st = State::default();
    for _ in 0..r.below(6) {
        let svc = service(r);
        if st.service(&svc.key).is_some() {
            continue;
        }
        let key = svc.key;
        let mut ss = ServiceState::new(svc);
        for _ in 0..r.below(6) {
            let fwd = forward(r);
            let tunnel = matches!(fwd, Forward::Tunnel { .. });
            // Another family only for a tunnel.
            let fam = if tunnel && r.one_in(3) {
                family(r)
            } else {
                key.family()
            };
            let upper = r.up_to(MAX_WEIGHT);
            let lower = r.up_to(upper);
            let mut d = Destination::new(addr(r, fam), r.pick(&[0, 80, 443, 8080]))
                .with_forward(fwd)
                .with_weight(r.up_to(MAX_WEIGHT))
                .with_thresholds(lower..=upper);
            if normal {
                if let Some(port) = forced_port(&key, &fwd) {
                    d.port = port;
                }
            }
            ss.destinations.push(d);
        }
        // Each destination once, both as given and normalised (a duplicate is another problem).
        let (mut given, mut normalised) = (HashSet::new(), HashSet::new());
        ss.destinations.retain(|d| {
            let p = forced_port(&key, &d.forward).unwrap_or(d.port);
            given.insert((d.addr, d.port)) && normalised.insert((d.addr, p))
        });
        st.services.push(ss);
    }
    if r.one_in(3) {
        st.timeouts = Some(Timeouts {
            tcp: r.up_to(MAX_TIMEOUT),
            tcp_fin: r.up_to(MAX_TIMEOUT),
            udp: r.up_to(MAX_TIMEOUT),
        });
    }
    st
}

/// ipvsadm's rule, written here again from its documentation (docs/json.md): a route or
/// tunnel destination of an address service takes the service's port.
fn forced_port(key: &ServiceKey, forward: &Forward) -> Option<u16> {
    match key {
        ServiceKey::Addr { port, .. }
            if matches!(forward, Forward::DirectRoute | Forward::Tunnel { .. }) =>
        {
            Some(*port)
        }
        _ => None,
    }
}

/// The state as the JSON reader reads `s` serialized, or its problems.
fn through_json(s: &State) -> Result<State, StateError> {
    let text = serde_json::to_string(s).expect("a state serializes");
    let input: StateInput = serde_json::from_str(&text).expect("the save document parses");
    State::try_from(input)
}

const ROUNDS: u64 = 3000;

#[test]
fn a_valid_state_reads_back_equal_and_plans_nothing_against_itself() {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let mut services = 0;
    for round in 0..ROUNDS {
        let s = random_state(&mut r, true);
        services += s.services.len();
        s.validate()
            .unwrap_or_else(|e| panic!("round {round}: {e}\n{s:#?}"));
        let back = through_json(&s).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(back, s, "round {round}");
        // serde's own path (what `serde_json::from_str::<State>` does) agrees.
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), s);
        for prune in [false, true] {
            let options = PlanOptions::new().with_prune(prune);
            let p = plan(&s, &s, &options).unwrap();
            assert!(p.is_empty(), "round {round}: {p:?}");
            let p = plan(&back, &s, &options).unwrap();
            assert!(p.is_empty(), "round {round}: {p:?}");
        }
        // From nothing, one add per service and destination (and the timeouts).
        let adds = plan(&State::default(), &s, &PlanOptions::default()).unwrap();
        let want = s
            .services
            .iter()
            .map(|x| 1 + x.destinations.len())
            .sum::<usize>()
            + usize::from(s.timeouts.is_some());
        assert_eq!(adds.len(), want, "round {round}");
        assert_eq!(adds.lines().count(), want);
    }
    assert!(
        services > ROUNDS as usize,
        "the generator makes states with services"
    );
}

#[test]
fn rust_and_json_normalise_the_same_way() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut unnormal = 0;
    for round in 0..ROUNDS {
        let s = random_state(&mut r, false);
        let mut normal = s.clone();
        normal.normalize();
        normal
            .validate()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        // JSON gives route and tunnel destinations the service's port, as normalize does.
        assert_eq!(through_json(&s).unwrap(), normal, "round {round}");
        if s == normal {
            s.validate().unwrap();
            continue;
        }
        unnormal += 1;
        // Not normalised: every destination off its service's port is a problem, and plan
        // refuses the state with the same problems.
        let e = s
            .validate()
            .expect_err("a route or tunnel destination off its port");
        let off: usize = s
            .services
            .iter()
            .zip(&normal.services)
            .map(|(a, b)| {
                a.destinations
                    .iter()
                    .zip(&b.destinations)
                    .filter(|(x, y)| x.port != y.port)
                    .count()
            })
            .sum();
        assert_eq!(e.problems().len(), off, "round {round}: {e}");
        for p in e.problems() {
            assert!(p.path.ends_with(".port"), "{p}");
            assert!(
                matches!(p.reason, Reason::DestinationPort { port, service_port } if port != service_port),
                "{p}"
            );
        }
        assert_eq!(
            plan(&normal, &s, &PlanOptions::default()).unwrap_err(),
            e,
            "round {round}"
        );
    }
    assert!(unnormal > 100, "only {unnormal} states needed normalising");
}

/// Breaks a valid state in `n` places, each a problem of its own; returns what each is.
fn break_state(r: &mut Rng, s: &mut State) -> Vec<&'static str> {
    let mut done = Vec::new();
    for i in 0..s.services.len() {
        if r.one_in(2) {
            continue;
        }
        let ss = &mut s.services[i];
        match r.below(5) {
            0 if !ss.destinations.is_empty() => {
                ss.destinations[0].weight = MAX_WEIGHT + 1;
                done.push("weight");
            }
            1 if !ss.destinations.is_empty() => {
                let d = &mut ss.destinations[0];
                d.upper_threshold = 5;
                d.lower_threshold = 6;
                done.push("lower_threshold");
            }
            2 if !ss.destinations.is_empty() => {
                let d = ss.destinations[0];
                ss.destinations.push(d);
                done.push("duplicate destination");
            }
            3 => {
                ss.service.scheduler = "".into();
                done.push("scheduler");
            }
            _ => {}
        }
    }
    if !s.services.is_empty() && r.one_in(3) {
        let again = s.services[0].clone();
        s.services.push(again);
        // The copy repeats the first service's own problems too.
        return Vec::new();
    }
    done
}

#[test]
fn every_problem_is_reported_the_same_from_rust_and_json() {
    let mut r = Rng(0xdead_beef_cafe_f00d);
    let mut several = 0;
    for round in 0..ROUNDS {
        let mut s = random_state(&mut r, true);
        let made = break_state(&mut r, &mut s);
        let Err(e) = s.validate() else {
            assert!(made.is_empty(), "round {round}: {made:?} not found");
            continue;
        };
        if !made.is_empty() {
            assert_eq!(e.problems().len(), made.len(), "round {round}: {e}");
            for (p, what) in e.problems().iter().zip(&made) {
                match *what {
                    "duplicate destination" => {
                        assert_eq!(p.reason, Reason::DuplicateDestination, "{p}")
                    }
                    "weight" => assert_eq!(
                        p.reason,
                        Reason::Invalid(InvalidValue::Weight(MAX_WEIGHT + 1)),
                        "{p}"
                    ),
                    field => assert!(p.path.ends_with(&format!(".{field}")), "{p}"),
                }
            }
            several += usize::from(made.len() > 1);
        }
        // The JSON reader finds the same problems. A service with an empty scheduler name does
        // not read (its flags' words depend on the scheduler), so later checks leave it out: a
        // copy of it is no duplicate there. Then the first problem is the same.
        let json = through_json(&s).expect_err("JSON of a bad state");
        if s.services
            .iter()
            .any(|x| x.service.scheduler.name().is_empty())
        {
            assert_eq!(json.first(), e.first(), "round {round}");
        } else {
            assert_eq!(json, e, "round {round}");
        }
        assert_eq!(
            plan(&State::default(), &s, &PlanOptions::default()).unwrap_err(),
            e
        );
    }
    assert!(several > 100, "only {several} states with several problems");
}
