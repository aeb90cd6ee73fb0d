//! Torn service dumps: IPVS sends its service dump in parts and starts each part at an index
//! into its one table of every namespace's services. A service added or deleted before that
//! index between two parts, by any writer in any namespace, shifts it: the dump skips a service
//! or lists one twice, and the kernel does not mark it interrupted (`NLM_F_DUMP_INTR`).
//! `Ipvs::read_state` (`ReadOptions::for_state`) and `apply` must plan right all the same.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ipvs::{Change, PlanOptions, Service, ServiceKey, ServiceState, State};
use ipvs_sys::{Command, IpvsMessage, IpvsSocket};

use crate::harness::NetNs;
use crate::support::*;

/// `n` TCP services 10.77.x.y:80, spread over the kernel's hash chains as real VIPs are.
fn keys(n: u16) -> Vec<ServiceKey> {
    (0..n)
        .map(|i| {
            ServiceKey::tcp(
                IpAddr::from([10, 77, (i / 250) as u8, (i % 250) as u8 + 1]),
                80,
            )
        })
        .collect()
}

fn add_all(ipvs: &ipvs::Ipvs, keys: &[ServiceKey]) {
    let changes: Vec<Change> = keys
        .iter()
        .map(|k| Change::AddService(Service::new(*k).with_scheduler("rr")))
        .collect();
    for r in ipvs.apply(&changes).expect("apply") {
        r.expect("add a service");
    }
}

/// The kernel's behaviour itself, made to happen at a known point: services that the first
/// part of a dump already listed are deleted before the second part is asked for, and the
/// dump then skips as many services that nobody touched, without an error or a flag.
#[test]
fn a_service_dump_resumed_after_deletions_skips_untouched_services_unflagged() {
    let ns = NetNs::new();
    let ipvs = open(&ns);
    let all = keys(400);
    add_all(&ipvs, &all);

    let mut sock = IpvsSocket::open_in_netns(Path::new(&format!("/run/netns/{}", ns.name())))
        .expect("a second socket in the namespace");
    let mut listed: Vec<ServiceKey> = Vec::new();
    let mut first = Vec::new();
    let mut deleted = Vec::new();
    sock.dump_into(
        &IpvsMessage::new(Command::GetService, vec![]),
        &mut listed,
        |payload| {
            let msg = IpvsMessage::parse(payload)?;
            let entry = ipvs::replay::service(&msg)
                .expect("a service in each part")
                .expect("a well-formed service");
            let key = entry.service.key;
            first.push(key);
            // The fifth service is still in the first part (a part holds tens of them): the
            // four before it are behind the dump's index when it resumes.
            if first.len() == 5 {
                for k in &first[..4] {
                    ipvs.delete_service(k).expect("delete a listed service");
                    deleted.push(*k);
                }
            }
            Ok(Some(key))
        },
    )
    .expect("the dump ends without an error (and is not marked interrupted)");

    let listed_set: BTreeSet<ServiceKey> = listed.iter().copied().collect();
    let never_listed: Vec<&ServiceKey> = all
        .iter()
        .filter(|k| !listed_set.contains(k) && !deleted.contains(k))
        .collect();
    eprintln!(
        "torn: {} listed of {}, {} deleted, {} there all along but never listed",
        listed.len(),
        all.len(),
        deleted.len(),
        never_listed.len()
    );
    assert_eq!(
        never_listed.len(),
        deleted.len(),
        "the dump skips one untouched service per deletion behind its index: {never_listed:?}"
    );
    // They are there: the table had them all along.
    let now: BTreeSet<ServiceKey> = ipvs
        .services()
        .unwrap()
        .iter()
        .map(|e| e.service.key)
        .collect();
    assert!(never_listed.iter().all(|k| now.contains(k)));
    assert_eq!(now.len(), all.len() - deleted.len());
}

/// A writer in another namespace adds and deletes a service as fast as it can while apply
/// reads this namespace's table of 2,000 services: plain listings (`Ipvs::services`, each
/// service once) come back short, and yet applying the table it already has plans nothing and
/// fails never.
#[test]
fn apply_of_an_equal_table_plans_nothing_while_another_namespace_writes() {
    let ns = NetNs::new();
    let other = NetNs::new();
    let ipvs = open(&ns);
    let all = keys(2000);
    add_all(&ipvs, &all);
    let want: BTreeSet<ServiceKey> = all.iter().copied().collect();
    let desired = State {
        services: all
            .iter()
            .map(|k| ServiceState::new(Service::new(*k).with_scheduler("rr")))
            .collect(),
        timeouts: None,
        ..Default::default()
    };

    let stop = AtomicBool::new(false);
    let writes = AtomicUsize::new(0);
    let (torn, rounds) = std::thread::scope(|s| {
        s.spawn(|| {
            let theirs = open(&other);
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // A few services that land in chains all over the table.
                let k = ServiceKey::tcp(IpAddr::from([10, 78, (i % 7) as u8, 1]), i as u16 % 997);
                theirs
                    .add_service(&Service::new(k).with_scheduler("rr"))
                    .expect("the writer adds");
                theirs.delete_service(&k).expect("the writer deletes");
                writes.fetch_add(2, Ordering::Relaxed);
                i = i.wrapping_add(1);
            }
        });
        // The writer stops when this ends, a failed assert included (else the scope would
        // wait for it forever).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = Stop(&stop);
        let start = Instant::now();
        let (mut torn, mut rounds) = (0, 0);
        // Until plain listings have come back short a few times (or a bound far above need).
        while torn < 3 && start.elapsed() < Duration::from_secs(120) {
            rounds += 1;
            let plain: Vec<ServiceKey> = ipvs
                .services()
                .expect("services")
                .iter()
                .map(|e| e.service.key)
                .collect();
            let plain_set: BTreeSet<ServiceKey> = plain.iter().copied().collect();
            // What the kernel listed twice is kept once; what it skipped is missing.
            assert_eq!(
                plain.len(),
                plain_set.len(),
                "round {rounds}: services() repeats"
            );
            if plain_set != want {
                torn += 1;
            }
            let read = ipvs
                .read_state(&ipvs::ReadOptions::for_state(&desired))
                .expect("read_state");
            let read_set: BTreeSet<ServiceKey> =
                read.services.iter().map(|s| s.service.key).collect();
            assert_eq!(
                read.services.len(),
                want.len(),
                "round {rounds}: a service twice"
            );
            assert!(
                read_set == want,
                "round {rounds}: read_state for the desired state lost a service"
            );
            let plan = ipvs
                .apply_state(&desired, &PlanOptions::default())
                .unwrap_or_else(|e| panic!("round {rounds}: apply of the equal table: {e}"));
            assert!(plan.is_empty(), "round {rounds}: planned {plan:?}");
        }
        (torn, rounds)
    });
    eprintln!(
        "torn: {torn} of {rounds} plain listings short; the writer made {} changes",
        writes.load(Ordering::Relaxed)
    );
    assert!(
        torn > 0,
        "no plain listing came back short in {rounds} rounds: the test proved nothing"
    );
}
