//! Host tests of `ipvs::plan`: every kind of difference, order, idempotence,
//! prune, undo, and random states reached through a model of the kernel.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipvs::{
    plan, Change, Destination, Family, Forward, Netmask, Plan, PlanOptions, Service, ServiceFlags,
    ServiceKey, ServiceState, State, Timeouts, TunnelFlags, TunnelType,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

type Dests = BTreeMap<(IpAddr, u16), Destination>;
type DestEdit = Box<dyn Fn(&mut Destination)>;

/// The kernel as a model: what it refuses, the plan must never ask.
#[derive(Default, Debug, Clone, PartialEq)]
struct Model {
    services: BTreeMap<ServiceKey, (Service, Dests)>,
    timeouts: Timeouts,
}

impl Model {
    fn from_state(s: &State) -> Model {
        let mut m = Model::default();
        for ss in &s.services {
            let dests = ss
                .destinations
                .iter()
                .map(|d| ((d.addr, d.port), *d))
                .collect();
            m.services
                .insert(ss.service.key, (ss.service.clone(), dests));
        }
        if let Some(t) = s.timeouts {
            m.timeouts = t;
        }
        m
    }
    fn apply(&mut self, c: &Change) -> Result<(), String> {
        match c {
            Change::AddService(s) => {
                if self.services.contains_key(&s.key) {
                    return Err(format!("exists: {c:?}"));
                }
                self.services.insert(s.key, (s.clone(), BTreeMap::new()));
            }
            Change::EditService(s) => {
                let e = self
                    .services
                    .get_mut(&s.key)
                    .ok_or(format!("missing: {c:?}"))?;
                e.0 = s.clone();
            }
            Change::DeleteService(k) => {
                self.services.remove(k).ok_or(format!("missing: {c:?}"))?;
            }
            Change::AddDestination {
                service,
                destination: d,
            } => {
                let e = self
                    .services
                    .get_mut(service)
                    .ok_or(format!("no service: {c:?}"))?;
                if e.1.insert((d.addr, d.port), *d).is_some() {
                    return Err(format!("exists: {c:?}"));
                }
            }
            Change::EditDestination {
                service,
                destination: d,
            } => {
                let e = self
                    .services
                    .get_mut(service)
                    .ok_or(format!("no service: {c:?}"))?;
                let old =
                    e.1.get_mut(&(d.addr, d.port))
                        .ok_or(format!("missing: {c:?}"))?;
                *old = *d;
            }
            Change::DeleteDestination {
                service,
                addr,
                port,
            } => {
                let e = self
                    .services
                    .get_mut(service)
                    .ok_or(format!("no service: {c:?}"))?;
                e.1.remove(&(*addr, *port))
                    .ok_or(format!("missing: {c:?}"))?;
            }
            Change::SetTimeouts(t) => {
                if t.tcp != 0 {
                    self.timeouts.tcp = t.tcp;
                }
                if t.tcp_fin != 0 {
                    self.timeouts.tcp_fin = t.tcp_fin;
                }
                if t.udp != 0 {
                    self.timeouts.udp = t.udp;
                }
            }
            other => return Err(format!("a plan never sends {other:?}")),
        }
        Ok(())
    }
    fn state(&self) -> State {
        State {
            services: self
                .services
                .values()
                .map(|(s, d)| ServiceState {
                    service: s.clone(),
                    destinations: d.values().copied().collect(),
                })
                .collect(),
            timeouts: Some(self.timeouts),
            ..Default::default()
        }
    }
}

fn run(current: &State, p: &Plan) -> Model {
    let mut m = Model::from_state(current);
    for c in &p.changes {
        m.apply(c).unwrap_or_else(|e| panic!("{e}\nplan: {p:#?}"));
    }
    m
}

fn web() -> State {
    let key = ServiceKey::tcp(ip("10.0.0.100"), 80);
    State {
        services: vec![ServiceState::new(Service::new(key).with_scheduler("rr"))
            .with_destination(
                Destination::new(ip("192.168.10.11"), 80).with_forward(Forward::Masquerade),
            )
            .with_destination(
                Destination::new(ip("192.168.10.12"), 80).with_forward(Forward::Masquerade),
            )],
        timeouts: None,
        ..Default::default()
    }
}

const KEEP: PlanOptions = PlanOptions::new();
const PRUNE: PlanOptions = PlanOptions::new().with_prune(true);

#[test]
fn equal_states_plan_nothing() {
    assert!(plan(&web(), &web(), &KEEP).unwrap().is_empty());
    assert!(plan(&web(), &web(), &PRUNE).unwrap().is_empty());
    assert!(plan(&State::default(), &State::default(), &PRUNE)
        .unwrap()
        .is_empty());
}

#[test]
fn onto_an_empty_table_services_come_before_their_destinations() {
    let p = plan(&State::default(), &web(), &KEEP).unwrap();
    let key = web().services[0].service.key;
    assert_eq!(p.len(), 3);
    assert_eq!(
        p.changes[0],
        Change::AddService(web().services[0].service.clone())
    );
    assert!(matches!(p.changes[1], Change::AddDestination { service, .. } if service == key));
    assert_eq!(p.undo[0], Change::DeleteService(key));
}

/// Each kind of service difference is one edit in place.
#[test]
fn service_differences_are_edits_in_place() {
    let edits: Vec<fn(&mut Service)> = vec![
        |s| s.scheduler = "wlc".into(),
        |s| {
            s.flags |= ServiceFlags::PERSISTENT;
            s.timeout = 300;
        },
        |s| s.flags |= ServiceFlags::SCHED1,
        |s| s.netmask = Netmask::V4("255.255.255.0".parse().unwrap()),
        |s| s.persistence_engine = Some("sip".into()),
    ];
    for edit in edits {
        let mut want = web();
        edit(&mut want.services[0].service);
        let p = plan(&web(), &want, &KEEP).unwrap();
        assert_eq!(
            p.changes,
            vec![Change::EditService(want.services[0].service.clone())]
        );
        assert_eq!(
            p.undo,
            vec![Change::EditService(web().services[0].service.clone())]
        );
        assert_eq!(run(&web(), &p).state().services, want.services);
    }
}

#[test]
fn destination_differences_are_edits_in_place() {
    let gue = Forward::Tunnel {
        kind: TunnelType::Gue,
        port: 6080,
        flags: TunnelFlags::CSUM,
    };
    let edits: Vec<DestEdit> = vec![
        Box::new(|d| d.weight = 7),
        Box::new(|d| d.weight = 0),
        Box::new(|d| d.forward = Forward::DirectRoute),
        Box::new(|d| d.forward = Forward::ipip()),
        Box::new(move |d| d.forward = gue),
        Box::new(|d| {
            d.upper_threshold = 100;
            d.lower_threshold = 10
        }),
    ];
    let key = web().services[0].service.key;
    for edit in edits {
        let mut want = web();
        edit(&mut want.services[0].destinations[1]);
        let p = plan(&web(), &want, &KEEP).unwrap();
        assert_eq!(
            p.changes,
            vec![Change::EditDestination {
                service: key,
                destination: want.services[0].destinations[1]
            }]
        );
        // Tunnel options change in place too.
        let p2 = plan(&want, &web(), &KEEP).unwrap();
        assert_eq!(p2.len(), 1, "{p2:?}");
    }
}

#[test]
fn missing_and_extra_destinations_and_order() {
    let key = web().services[0].service.key;
    let mut want = web();
    want.services[0].destinations.remove(0);
    want.services[0].service.scheduler = "wrr".into();
    want.services[0]
        .destinations
        .push(Destination::new(ip("192.168.10.13"), 80).with_forward(Forward::Masquerade));
    let p = plan(&web(), &want, &KEEP).unwrap();
    assert_eq!(
        p.changes,
        vec![
            Change::DeleteDestination {
                service: key,
                addr: ip("192.168.10.11"),
                port: 80
            },
            Change::EditService(want.services[0].service.clone()),
            Change::AddDestination {
                service: key,
                destination: want.services[0].destinations[1]
            },
        ]
    );
    assert_eq!(run(&web(), &p).state().services, want.services);
}

#[test]
fn services_not_named_stay_unless_prune() {
    let other = ServiceState::new(Service::new(ServiceKey::fwmark(5, Family::Inet6)))
        .with_destination(Destination::new(ip("2001:db8::5"), 0));
    let mut cur = web();
    cur.services.push(other.clone());
    assert!(plan(&cur, &web(), &KEEP).unwrap().is_empty());
    let p = plan(&cur, &web(), &PRUNE).unwrap();
    assert_eq!(
        p.changes,
        vec![
            Change::DeleteDestination {
                service: other.service.key,
                addr: ip("2001:db8::5"),
                port: 0
            },
            Change::DeleteService(other.service.key),
        ]
    );
    assert_eq!(run(&cur, &p).state().services, web().services);
}

#[test]
fn a_new_key_is_a_new_object() {
    // A destination's port is its key: another port is a delete and an add.
    let mut want = web();
    want.services[0].destinations[0].port = 8080;
    let p = plan(&web(), &want, &KEEP).unwrap();
    assert!(matches!(
        p.changes[0],
        Change::DeleteDestination { port: 80, .. }
    ));
    assert!(matches!(p.changes[1], Change::AddDestination { .. }));
    assert_eq!(p.len(), 2);
}

#[test]
fn timeouts_only_when_they_differ() {
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    let mut cur = web();
    cur.timeouts = Some(t);
    let mut want = web();
    want.timeouts = Some(Timeouts {
        tcp: 900,
        tcp_fin: 0,
        udp: 0,
    });
    assert!(plan(&cur, &want, &KEEP).unwrap().is_empty());
    want.timeouts = Some(Timeouts {
        tcp: 1000,
        tcp_fin: 0,
        udp: 0,
    });
    let p = plan(&cur, &want, &KEEP).unwrap();
    assert_eq!(p.changes, vec![Change::SetTimeouts(want.timeouts.unwrap())]);
    assert_eq!(p.undo, vec![Change::SetTimeouts(t)]);
}

/// A small deterministic generator (xorshift), so failures reproduce.
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
}

fn random_state(r: &mut Rng) -> State {
    let mut services = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..r.below(6) {
        let key = match r.below(3) {
            0 => ServiceKey::tcp(ip(&format!("10.0.0.{}", r.below(4))), 80),
            1 => ServiceKey::udp(ip(&format!("2001:db8::{}", r.below(4) + 1)), 53),
            _ => ServiceKey::fwmark(r.below(3) as u32 + 1, Family::Inet),
        };
        if !seen.insert(key) {
            continue;
        }
        let mut s =
            Service::new(key).with_scheduler(["rr", "wrr", "sh", "mh"][r.below(4) as usize]);
        if r.below(2) == 0 {
            s = s.with_persistence(60 + r.below(3) as u32);
        }
        if r.below(3) == 0 {
            s.flags |= ServiceFlags::SCHED2;
        }
        let mut ss = ServiceState::new(s);
        let mut dseen = std::collections::HashSet::new();
        for _ in 0..r.below(5) {
            let addr = if key.family() == Family::Inet {
                ip(&format!("192.168.1.{}", r.below(5)))
            } else {
                ip(&format!("2001:db8:1::{}", r.below(5) + 1))
            };
            let forward = match r.below(4) {
                0 => Forward::Masquerade,
                1 => Forward::DirectRoute,
                2 => Forward::ipip(),
                _ => Forward::Tunnel {
                    kind: TunnelType::Gue,
                    port: 6080,
                    flags: TunnelFlags::empty(),
                },
            };
            let port = match key {
                // Direct routing and tunnels keep the service's port (State::validate).
                ServiceKey::Addr { port, .. } if forward != Forward::Masquerade => port,
                _ => [0, 80, 8080][r.below(3) as usize],
            };
            if !dseen.insert((addr, port)) {
                continue;
            }
            let mut d = Destination::new(addr, port).with_weight(r.below(4) as u32);
            d.forward = forward;
            d.upper_threshold = r.below(2) as u32 * 10;
            ss.destinations.push(d);
        }
        services.push(ss);
    }
    let timeouts = (r.below(2) == 0).then(|| Timeouts {
        tcp: r.below(3) as u32 * 100,
        tcp_fin: r.below(2) as u32 * 60,
        udp: 300,
    });
    State {
        services,
        timeouts,
        ..Default::default()
    }
}

/// Compares what a run reached with what was wanted: named services exactly,
/// the others untouched (or gone with prune).
fn check_reached(a: &State, b: &State, prune: bool, reached: &Model) {
    let want = Model::from_state(b);
    let have_a = Model::from_state(a);
    for (k, v) in &want.services {
        assert_eq!(reached.services.get(k), Some(v), "service {k:?}");
    }
    for (k, v) in &reached.services {
        if !want.services.contains_key(k) {
            assert!(!prune, "{k:?} should be pruned");
            assert_eq!(have_a.services.get(k), Some(v), "{k:?} changed");
        }
    }
}

#[test]
fn random_plans_reach_the_desired_state_and_undo_returns() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let mut a = random_state(&mut r);
        // The kernel's timeouts are never 0.
        a.timeouts = Some(Timeouts {
            tcp: 100 + r.below(3) as u32 * 100,
            tcp_fin: 60 + r.below(2) as u32 * 60,
            udp: 300,
        });
        let b = random_state(&mut r);
        let prune = round % 2 == 0;
        let opts = PlanOptions::new().with_prune(prune);
        let p = plan(&a, &b, &opts).unwrap();
        let reached = run(&a, &p);
        check_reached(&a, &b, prune, &reached);
        if let Some(t) = b.timeouts {
            let want = Timeouts {
                tcp: if t.tcp == 0 {
                    reached.timeouts.tcp
                } else {
                    t.tcp
                },
                tcp_fin: if t.tcp_fin == 0 {
                    reached.timeouts.tcp_fin
                } else {
                    t.tcp_fin
                },
                udp: t.udp,
            };
            assert_eq!(reached.timeouts, want);
        }
        // Idempotent: from where it got, nothing more to do.
        let again = plan(&reached.state(), &b, &opts).unwrap();
        assert!(again.is_empty(), "round {round}: {again:?}");
        // Any prefix undone in reverse returns to the start.
        let n = r.below(p.len() as u64 + 1) as usize;
        let mut m = Model::from_state(&a);
        for c in &p.changes[..n] {
            m.apply(c).unwrap();
        }
        for u in p.undo[..n].iter().rev() {
            m.apply(u).unwrap_or_else(|e| panic!("undo: {e}"));
        }
        assert_eq!(m, Model::from_state(&a), "round {round}: undo of {n}");
    }
}

/// 20,000 services x 5 destinations, as `examples/plan_time.rs` builds them.
fn big_table() -> State {
    let mut services = Vec::with_capacity(20_000);
    for i in 0..20_000u32 {
        let vip = IpAddr::from([10, (i >> 8) as u8, i as u8, 1]);
        let mut ss = ServiceState::new(Service::new(ServiceKey::tcp(vip, 80)));
        for j in 0..5u8 {
            ss.destinations.push(
                Destination::new(IpAddr::from([192, 168, j, 1]), 8080 + u16::from(j))
                    .with_forward(Forward::Masquerade),
            );
        }
        services.push(ss);
    }
    State {
        services,
        timeouts: None,
        ..Default::default()
    }
}

/// 20,000 services x 5 destinations onto an empty table: each service, then its five
/// destinations, each with its undo; onto an equal table: nothing. (How long it takes is
/// measured by `cargo run --release -p ipvs-rs --example plan_time`, not asserted.)
#[test]
fn large_tables_plan_every_object_once_in_order() {
    let big = big_table();
    let p = plan(&State::default(), &big, &KEEP).unwrap();
    assert_eq!(p.len(), 120_000);
    assert_eq!(p.undo.len(), 120_000);
    for (n, s) in big.services.iter().enumerate() {
        let at = n * 6;
        assert_eq!(p.changes[at], Change::AddService(s.service.clone()));
        assert_eq!(p.undo[at], Change::DeleteService(s.service.key));
        for (k, d) in s.destinations.iter().enumerate() {
            assert_eq!(
                p.changes[at + 1 + k],
                Change::AddDestination {
                    service: s.service.key,
                    destination: *d,
                }
            );
        }
    }
    assert_eq!(run(&State::default(), &p).state().services.len(), 20_000);
    assert!(plan(&big, &big, &PRUNE).unwrap().is_empty());
    assert!(plan(&big, &big, &KEEP).unwrap().is_empty());
}

#[test]
fn a_plan_prints_as_json_in_the_schemas_words() {
    let p = plan(&State::default(), &web(), &KEEP).unwrap();
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["changes"][0]["op"], "add_service");
    assert_eq!(v["changes"][0]["service"]["scheduler"], "rr");
    assert!(v["changes"][0]["service"].get("destinations").is_none());
    assert_eq!(v["changes"][1]["op"], "add_destination");
    assert_eq!(v["changes"][1]["service"]["address"], "10.0.0.100");
    assert_eq!(v["changes"][1]["destination"]["forward"], "masq");
    let d = plan(&web(), &State::default(), &PRUNE).unwrap();
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["changes"][0]["op"], "delete_destination");
    assert_eq!(
        v["changes"][0]["destination"],
        serde_json::json!({"family": "ipv4", "address": "192.168.10.11", "port": 80})
    );
    assert_eq!(v["changes"][2]["op"], "delete_service");
    assert_eq!(v["changes"][2]["service"]["port"], 80);
}

#[test]
fn a_change_alone_serializes_as_in_a_plan() {
    let p = plan(&State::default(), &web(), &KEEP).unwrap();
    for (i, c) in p.changes.iter().enumerate() {
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            serde_json::to_value(&p).unwrap()["changes"][i],
            "change {i}: {c:?}"
        );
    }
}

#[test]
fn the_changes_a_plan_never_makes_have_their_own_words() {
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    let zero = serde_json::to_value(Change::Zero(Some(key))).unwrap();
    assert_eq!(zero["op"], "zero");
    assert_eq!(zero["service"]["address"], "10.0.0.1");
    assert_eq!(
        serde_json::to_value(Change::Zero(None)).unwrap(),
        serde_json::json!({"op": "zero", "service": null})
    );
    assert_eq!(
        serde_json::to_value(Change::Flush).unwrap(),
        serde_json::json!({"op": "flush"})
    );
    let stop = serde_json::to_value(Change::StopDaemon(ipvs::DaemonState::Backup)).unwrap();
    assert_eq!(
        stop,
        serde_json::json!({"op": "stop_daemon", "state": "backup"})
    );
}
