//! `Ipvs::apply`: many changes in few sends, each one's outcome reported at its own index.

use std::net::IpAddr;
use std::time::Instant;

use ipvs::{Change, Destination, Error, Forward, Operation, Service, ServiceKey, Timeouts};

use crate::harness::{require_ipvs, NetNs};
use crate::support::*;

const SERVICES: usize = 500;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn key(i: usize) -> ServiceKey {
    ServiceKey::tcp(ip(&format!("10.20.{}.{}", i / 250, i % 250 + 1)), 80)
}

fn dests(i: usize) -> [Destination; 2] {
    [21, 22].map(|net| {
        Destination::new(ip(&format!("10.{net}.{}.{}", i / 250, i % 250 + 1)), 8080)
            .with_forward(Forward::Masquerade)
            .with_weight(net as u32 - 20)
    })
}

#[test]
fn a_batch_of_1500_changes_applies_all_but_the_bad_one_and_says_which() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);

    let mut changes = Vec::new();
    let mut expected = Vec::new();
    for i in 0..SERVICES {
        let service = Service::new(key(i)).with_scheduler("wrr");
        expected.push(configured(&service, &dests(i)));
        changes.push(Change::AddService(service));
        for d in dests(i) {
            changes.push(Change::AddDestination {
                service: key(i),
                destination: d,
            });
        }
    }
    let expected = save_lines(&expected);
    // In the middle, a service that already exists.
    let bad = changes.len() / 2;
    changes.insert(bad, Change::AddService(Service::new(key(7))));
    assert_eq!(changes.len(), 3 * SERVICES + 1);

    let start = Instant::now();
    let results = ipvs.apply(&changes).expect("apply");
    let took = start.elapsed();
    assert_eq!(results.len(), changes.len());
    for (i, r) in results.iter().enumerate() {
        if i == bad {
            match r {
                Err(e @ Error::Kernel { op, errno, .. }) => {
                    assert_eq!((*op, *errno), (Operation::AddService, libc::EEXIST));
                    assert_eq!(e.ipvsadm_message(), "Service already exists");
                }
                other => panic!("change {i} should have failed: {other:?}"),
            }
        } else {
            assert!(r.is_ok(), "change {i} ({:?}): {r:?}", changes[i]);
        }
    }
    eprintln!("apply: {} changes in {took:?}", changes.len());

    let state = ipvs.state().expect("state");
    assert_eq!(state.len(), SERVICES);
    assert!(state.iter().all(|vs| vs.destinations.len() == 2));
    assert_eq!(
        save_lines(&state),
        expected,
        "the library reads back what was applied"
    );
    assert_eq!(ipvsadm_save(&ns), expected, "ipvsadm sees what was applied");
    // The failed duplicate changed nothing: service 7 kept its scheduler.
    assert_eq!(
        ipvs.service(&key(7))
            .expect("service")
            .expect("the service is there")
            .service
            .scheduler
            .name(),
        "wrr"
    );

    // A second batch: one change of every other kind, and a bad one among them.
    let more = vec![
        Change::EditService(Service::new(key(0)).with_scheduler("rr")),
        Change::EditDestination {
            service: key(0),
            destination: dests(0)[0].with_weight(9),
        },
        Change::DeleteDestination {
            service: key(0),
            addr: dests(0)[1].addr,
            port: 8080,
        },
        Change::DeleteDestination {
            service: ServiceKey::tcp(ip("10.29.0.1"), 80),
            addr: dests(0)[1].addr,
            port: 8080,
        },
        Change::Zero(None),
        Change::SetTimeouts(Timeouts {
            tcp: 1800,
            tcp_fin: 0,
            udp: 0,
        }),
        Change::DeleteService(key(1)),
    ];
    let results = ipvs.apply(&more).expect("apply");
    let errnos: Vec<Option<i32>> = results
        .iter()
        .map(|r| r.as_ref().err().and_then(Error::errno))
        .collect();
    assert_eq!(
        errnos,
        [None, None, None, Some(libc::ESRCH), None, None, None]
    );
    assert_eq!(
        results[3].as_ref().unwrap_err().ipvsadm_message(),
        "Service not defined"
    );
    let first = ipvs.destinations(&key(0)).expect("destinations");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].destination.weight, 9);
    assert_eq!(ipvs.timeouts().expect("timeouts").tcp, 1800);
    assert_eq!(ipvs.services().expect("services").len(), SERVICES - 1);

    // And everything deleted again in one go.
    let deletes: Vec<Change> = (2..SERVICES)
        .chain([0])
        .map(|i| Change::DeleteService(key(i)))
        .collect();
    assert!(ipvs
        .apply(&deletes)
        .expect("apply")
        .iter()
        .all(Result::is_ok));
    assert_eq!(ipvsadm_save(&ns), Vec::<String>::new());
}

#[test]
fn one_handle_serves_many_threads() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);
    std::thread::scope(|s| {
        for t in 0..4 {
            let ipvs = &ipvs;
            s.spawn(move || {
                for i in 0..50 {
                    let key = ServiceKey::udp(ip(&format!("10.23.{t}.{}", i + 1)), 53);
                    ipvs.add_service(&Service::new(key)).expect("add_service");
                    ipvs.add_destination(&key, &dests(i)[0])
                        .expect("add_destination");
                    assert_eq!(ipvs.destinations(&key).expect("destinations").len(), 1);
                }
            });
        }
    });
    assert_eq!(ipvs.services().expect("services").len(), 200);
    assert_eq!(ipvsadm_save(&ns).len(), 400);
}
