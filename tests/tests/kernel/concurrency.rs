//! Writers at the same time: two ipvsctl processes applying disjoint changes together both
//! succeed and leave the union; one `Ipvs` handle shared by 8 threads doing mixed reads and
//! writes never deadlocks and never hands one thread another's reply.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::panic::AssertUnwindSafe;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ipvs::{Destination, Forward, Ipvs, Service, ServiceKey};

use crate::harness::{require_ipvs, NetNs};
use crate::scale::{feed_and_wait, Output, Table};
use crate::support::*;

/// Runs `ipvsctl args` in the namespace for each input, all started before any is waited for.
fn ipvsctl_together(ns: &NetNs, args: &[&str], inputs: &[&str]) -> Vec<Output> {
    let children: Vec<_> = inputs
        .iter()
        .map(|_| {
            Command::new("ip")
                .args(["netns", "exec", ns.name(), "ipvsctl"])
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run ipvsctl")
        })
        .collect();
    // Each child gets its input from its own thread, so neither waits for the other.
    std::thread::scope(|s| {
        let handles: Vec<_> = children
            .into_iter()
            .zip(inputs)
            .map(|(child, input)| s.spawn(move || feed_and_wait(child, input)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `ipvsadm -S -n`'s lines, sorted, against the sorted lines of `rules`.
fn assert_table_is(ns: &NetNs, rules: &[String], what: &str) {
    let mut want: Vec<&str> = rules.iter().flat_map(|r| r.lines()).collect();
    want.sort_unstable();
    let got = ipvsadm_save(ns);
    assert_eq!(got.len(), want.len(), "{what}: lines in ipvsadm -S -n");
    assert!(got == want, "{what}: ipvsadm -S -n is not the union");
}

fn table(services: usize, vip: [u8; 2], rip: [u8; 2]) -> Table {
    Table {
        services,
        dests: 3,
        vip_base: Ipv4Addr::new(10, vip[0], vip[1], 0),
        rip_base: Ipv4Addr::new(172, rip[0], rip[1], 0),
    }
}

#[test]
fn concurrency_two_ipvsctl_restores_of_disjoint_sets_at_once_both_succeed_with_the_union() {
    require_ipvs();
    for round in 0..3u8 {
        let ns = NetNs::new();
        let a = table(1500, [50 + round, 0], [17, 0]).rules();
        let b = table(1500, [60 + round, 0], [18, 0]).rules();
        let start = Instant::now();
        let outs = ipvsctl_together(&ns, &["-R"], &[&a, &b]);
        eprintln!(
            "concurrency: round {round}: two -R of 1500 x 3 together in {:?}",
            start.elapsed()
        );
        for (i, (code, out, err)) in outs.iter().enumerate() {
            assert_eq!(
                (*code, err.as_str()),
                (0, ""),
                "round {round}, ipvsctl -R {i}: {out}"
            );
        }
        assert_table_is(&ns, &[a, b], &format!("round {round}"));
    }
}

#[test]
fn concurrency_two_ipvsctl_applies_of_disjoint_sets_at_once_both_succeed_with_the_union() {
    require_ipvs();
    let ns = NetNs::new();
    // A table neither apply names: without --prune, both leave it.
    let others = table(500, [70, 0], [19, 0]).rules();
    crate::scale::restore(&ns, &others);
    let a = table(1000, [71, 0], [20, 0]);
    let mut applied_b = Vec::new();
    for round in 0..3u8 {
        // One edits its own services' weights in place (added in round 0), the other adds a
        // new set each round.
        let a_rules = a.rules_weighted(u32::from(round) + 1);
        let b_rules = table(1000, [80 + round, 0], [21 + round, 0]).rules();
        let start = Instant::now();
        let outs = ipvsctl_together(&ns, &["apply"], &[&a_rules, &b_rules]);
        eprintln!(
            "concurrency: round {round}: two applies of 1000 x 3 together in {:?}",
            start.elapsed()
        );
        for (i, (code, out, err)) in outs.iter().enumerate() {
            assert_eq!(code, &0, "round {round}, ipvsctl apply {i}: {out}{err}");
            assert!(
                out.lines().last().is_some_and(|l| l.starts_with("apply: ")),
                "round {round}, ipvsctl apply {i} says what it did: {out}"
            );
        }
        applied_b.push(b_rules);
        let mut all = vec![others.clone(), a_rules];
        all.extend(applied_b.iter().cloned());
        assert_table_is(&ns, &all, &format!("round {round}"));
    }
}

const THREADS: u8 = 8;
const ROUNDS: usize = 300;

/// Thread `t`'s services: TCP, UDP and IPv6 TCP.
fn keys_of(t: u8) -> [ServiceKey; 3] {
    [
        ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(10, 40, t, 1)), 80),
        ServiceKey::udp(IpAddr::V4(Ipv4Addr::new(10, 40, t, 2)), 53),
        ServiceKey::tcp(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x40, t.into(), 0, 0, 0, 1)),
            443,
        ),
    ]
}

/// The real-server address `n` of thread `t` for `key`'s family.
fn real_of(t: u8, key: &ServiceKey, n: u8) -> IpAddr {
    match key.family() {
        ipvs::Family::Inet => IpAddr::V4(Ipv4Addr::new(10, 41, t, n)),
        ipvs::Family::Inet6 => IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0x41,
            t.into(),
            0,
            0,
            0,
            n.into(),
        )),
    }
}

/// Whose real server this is: the thread byte of the address, if it is one of ours.
fn owner_of_real(addr: IpAddr) -> Option<u8> {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            (o[0] == 10 && o[1] == 41).then_some(o[2])
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            (s[..3] == [0x2001, 0xdb8, 0x41]).then(|| s[3] as u8)
        }
    }
}

const SCHEDULERS: [&str; 3] = ["wrr", "rr", "wlc"];

/// What one thread believes its services hold: scheduler, and real servers by address with
/// their weights.
type Model = BTreeMap<ServiceKey, (&'static str, BTreeMap<IpAddr, u32>)>;

fn dests_of(ds: &[ipvs::DestinationEntry]) -> BTreeMap<IpAddr, u32> {
    ds.iter()
        .map(|d| (d.destination.addr, d.destination.weight))
        .collect()
}

/// Asserts that what was read of another thread's service is well-formed: its real servers are
/// that thread's, with a weight it gives, masquerading on port 8080, and nothing counted.
fn assert_well_formed(t: u8, owner: u8, key: &ServiceKey, ds: &[ipvs::DestinationEntry]) {
    for d in ds {
        let dest = &d.destination;
        assert_eq!(
            owner_of_real(dest.addr),
            Some(owner),
            "thread {t} read {key:?} of thread {owner} with a real server not its own: {d:?}"
        );
        assert_eq!(dest.addr.is_ipv4(), key.family() == ipvs::Family::Inet);
        assert!(
            (1..=50).contains(&dest.weight) && dest.port == 8080,
            "thread {t} read {d:?}"
        );
        assert_eq!(dest.forward, Forward::Masquerade);
        assert_eq!(d.stats.conns, 0, "no traffic here: {d:?}");
    }
}

/// One thread's work: `ROUNDS` rounds of writes on its own services, each read back, and reads
/// of everything. Returns its model of its services and how many calls it made.
fn worker(ipvs: &Ipvs, t: u8) -> (Model, usize) {
    let mut calls = 0;
    let mut model = Model::new();
    for key in keys_of(t) {
        ipvs.add_service(&Service::new(key).with_scheduler("wrr"))
            .unwrap_or_else(|e| panic!("thread {t}: add {key:?}: {e}"));
        calls += 1;
        model.insert(key, ("wrr", BTreeMap::new()));
    }
    let info = ipvs.info().expect("info");
    calls += 1;
    for i in 0..ROUNDS {
        let key = keys_of(t)[i % 3];
        let n = (i / 3 % 10 + 1) as u8;
        let addr = real_of(t, &key, n);
        let weight = (i % 50 + 1) as u32;
        let (sched, dests) = model.get_mut(&key).unwrap();
        let d = Destination::new(addr, 8080)
            .with_forward(Forward::Masquerade)
            .with_weight(weight);
        match dests.get(&addr) {
            None => {
                ipvs.add_destination(&key, &d)
                    .unwrap_or_else(|e| panic!("thread {t}: add {d:?}: {e}"));
                dests.insert(addr, weight);
            }
            Some(_) if i % 4 == 0 => {
                ipvs.delete_destination(&key, addr, 8080)
                    .unwrap_or_else(|e| panic!("thread {t}: delete {addr}: {e}"));
                dests.remove(&addr);
            }
            Some(_) => {
                ipvs.edit_destination(&key, &d)
                    .unwrap_or_else(|e| panic!("thread {t}: edit {d:?}: {e}"));
                dests.insert(addr, weight);
            }
        }
        calls += 1;
        // Read back at once: exactly what this thread made.
        let read = ipvs.destinations(&key).expect("destinations");
        calls += 1;
        assert_eq!(&dests_of(&read), dests, "thread {t}, round {i}: {key:?}");
        assert_well_formed(t, t, &key, &read);

        if i % 2 == 0 {
            *sched = SCHEDULERS[i / 2 % 3];
            ipvs.edit_service(&Service::new(key).with_scheduler(*sched))
                .unwrap_or_else(|e| panic!("thread {t}: edit {key:?}: {e}"));
            let entry = ipvs
                .service(&key)
                .expect("service")
                .unwrap_or_else(|| panic!("thread {t}: its service {key:?} is gone"));
            calls += 2;
            assert_eq!(
                entry.service.key, key,
                "thread {t}: another service came back"
            );
            assert_eq!(
                entry.service.scheduler.name(),
                *sched,
                "thread {t}: {key:?}"
            );
            assert_eq!(entry.stats.conns, 0, "thread {t}: {entry:?}");
        }
        if i % 3 == 0 {
            // Every service, others' included: each one of ours, ours as we made them.
            let all = ipvs.services().expect("services");
            calls += 1;
            let mut seen = BTreeSet::new();
            for e in &all {
                let k = e.service.key;
                assert!(seen.insert(k), "thread {t}: {k:?} listed twice");
                let owner = (0..THREADS).find(|o| keys_of(*o).contains(&k));
                assert!(owner.is_some(), "thread {t}: a service no one made: {e:?}");
                assert!(
                    SCHEDULERS.contains(&e.service.scheduler.name()),
                    "thread {t}: {e:?}"
                );
                if let Some((sched, _)) = model.get(&k) {
                    assert_eq!(e.service.scheduler.name(), *sched, "thread {t}: {k:?}");
                }
            }
            assert!(
                model.keys().all(|k| seen.contains(k)),
                "thread {t}: one of its services is missing from the listing"
            );
        }
        if i % 4 == 1 {
            let other = (t + 1 + (i % 7) as u8) % THREADS;
            let key = keys_of(other)[i % 3];
            let read = ipvs.destinations(&key).expect("destinations");
            calls += 1;
            assert_well_formed(t, other, &key, &read);
        }
        if i % 5 == 0 {
            assert_eq!(ipvs.info().expect("info"), info, "thread {t}: info changed");
            calls += 1;
        }
        if i % 10 == 9 {
            // The whole table: ours exactly, others' well-formed.
            let state = ipvs.state().expect("state");
            calls += 1 + state.len();
            for vs in &state {
                let k = vs.entry.service.key;
                match model.get(&k) {
                    Some((_, dests)) => {
                        assert_eq!(&dests_of(&vs.destinations), dests, "thread {t}: {k:?}")
                    }
                    None => {
                        let owner = (0..THREADS).find(|o| keys_of(*o).contains(&k)).unwrap();
                        assert_well_formed(t, owner, &k, &vs.destinations);
                    }
                }
            }
        }
    }
    (model, calls)
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".into())
}

#[test]
fn concurrency_one_handle_shared_by_8_threads_mixing_reads_and_writes_never_deadlocks_or_mixes_replies(
) {
    // A Rust user shares one handle by reference or in an Arc: the compiler checks it may.
    fn shareable<T: Send + Sync>() {}
    shareable::<Ipvs>();

    require_ipvs();
    let ns = NetNs::new();
    let ipvs = Arc::new(open(&ns));
    let (done, finished) = mpsc::channel();
    let start = Instant::now();
    for t in 0..THREADS {
        let ipvs = Arc::clone(&ipvs);
        let done = done.clone();
        // Not scoped: a thread stuck for good must not keep the test from failing.
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| worker(&ipvs, t)));
            let _ = done.send((t, r.map_err(|p| panic_text(&*p))));
        });
    }
    drop(done);
    // The watchdog: a bound on completion, far above what the work needs even emulated.
    let bound = Duration::from_secs(600);
    let mut models = Model::new();
    let mut calls = 0;
    let mut left: BTreeSet<u8> = (0..THREADS).collect();
    while !left.is_empty() {
        let waited = start.elapsed();
        match finished.recv_timeout(bound.saturating_sub(waited)) {
            Ok((t, Ok((model, n)))) => {
                left.remove(&t);
                models.extend(model);
                calls += n;
            }
            Ok((t, Err(why))) => panic!("thread {t} failed: {why}"),
            Err(_) => panic!("threads {left:?} did not finish within {bound:?}: a deadlock"),
        }
    }
    eprintln!(
        "concurrency: {THREADS} threads made {calls} calls on one handle in {:?}",
        start.elapsed()
    );

    // The table is what the threads believe they made, and ipvsadm shows the same.
    let state = assert_ipvsadm_agrees(&ns, &ipvs);
    let table: Model = state
        .iter()
        .map(|vs| {
            let s = &vs.entry.service;
            let sched = SCHEDULERS
                .into_iter()
                .find(|n| *n == s.scheduler.name())
                .unwrap_or_else(|| panic!("{s:?}"));
            (s.key, (sched, dests_of(&vs.destinations)))
        })
        .collect();
    assert_eq!(table.len(), 3 * THREADS as usize);
    assert_eq!(table, models);
}
