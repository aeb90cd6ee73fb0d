//! Services: add, get, list, edit and delete every kind the kernel has, and every scheduler.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipvs::{Family, Netmask, Scheduler, Service, ServiceFlags, ServiceKey};

use crate::harness::{require_ipvs, NetNs};
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mask(s: &str) -> Netmask {
    Netmask::V4(s.parse().unwrap())
}

/// The services as first added: one of each kind and option.
fn added() -> Vec<Service> {
    vec![
        Service::new(ServiceKey::tcp(ip("10.3.0.1"), 80)),
        Service {
            netmask: mask("255.255.255.0"),
            ..Service::new(ServiceKey::udp(ip("10.3.0.1"), 53)).with_persistence(360)
        },
        Service::new(ServiceKey::sctp(ip("10.3.0.2"), 5000)).with_scheduler("rr"),
        Service::new(ServiceKey::fwmark(1, Family::Inet)).with_scheduler("wrr"),
        Service::new(ServiceKey::fwmark(2, Family::Inet6))
            .with_scheduler("lc")
            .with_persistence(120),
        Service {
            netmask: Netmask::V6(56),
            ..Service::new(ServiceKey::tcp(ip("2001:db8::1"), 443)).with_persistence(300)
        },
        Service {
            netmask: mask("255.255.255.0"),
            persistence_engine: Some("sip".into()),
            ..Service::new(ServiceKey::udp(ip("10.3.0.3"), 5060))
                .with_scheduler("rr")
                .with_persistence(100)
        },
        Service {
            flags: ServiceFlags::ONEPACKET,
            ..Service::new(ServiceKey::udp(ip("10.3.0.4"), 53)).with_scheduler("rr")
        },
        Service {
            flags: ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT,
            ..Service::new(ServiceKey::tcp(ip("10.3.0.5"), 80)).with_scheduler("sh")
        },
        Service {
            flags: ServiceFlags::MH_FALLBACK | ServiceFlags::MH_PORT,
            ..Service::new(ServiceKey::tcp(ip("10.3.0.6"), 80)).with_scheduler("mh")
        },
        // Port 0: every port of the address, which the kernel allows for persistent services.
        Service::new(ServiceKey::tcp(ip("10.3.0.7"), 0)).with_persistence(60),
    ]
}

/// Each service edited: other scheduler, flags, persistence, netmask or engine.
fn edited(s: &Service) -> Service {
    let mut e = s.clone();
    match s.key {
        ServiceKey::Fwmark { fwmark: 1, .. } => {
            // Persistence with a netmask on a firewall-mark service.
            e = Service {
                netmask: mask("255.255.0.0"),
                ..e.with_persistence(30)
            };
        }
        ServiceKey::Fwmark { .. } => {
            e.netmask = Netmask::V6(64);
            e.flags |= ServiceFlags::ONEPACKET;
        }
        _ if s.persistence_engine.is_some() => {
            // Dropping the engine: an edit without PE_NAME takes it away.
            e.persistence_engine = None;
            e.scheduler = Scheduler::from("wlc");
        }
        _ if s.flags.contains(ServiceFlags::SH_FALLBACK) => {
            // An edit sets all flags: these two are cleared, the other one set.
            e.scheduler = Scheduler::from("mh");
            e.flags = ServiceFlags::MH_PORT;
        }
        _ if s.is_persistent() => {
            e.timeout += 1000;
            e.scheduler = Scheduler::from("dh");
        }
        _ => {
            e.scheduler = Scheduler::from("lblc");
            e.flags = ServiceFlags::empty();
        }
    }
    e
}

fn configured_services(ipvs: &ipvs::Ipvs) -> BTreeSet<String> {
    ipvs.services()
        .expect("services")
        .iter()
        .map(|e| format!("{:?}", e.service))
        .collect()
}

fn debug_set(services: &[Service]) -> BTreeSet<String> {
    services.iter().map(|s| format!("{s:?}")).collect()
}

#[test]
fn every_kind_of_service_is_added_read_listed_edited_and_deleted() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);
    assert!(ipvs.services().expect("services").is_empty());

    let services = added();
    for s in &services {
        ipvs.add_service(s)
            .unwrap_or_else(|e| panic!("add_service {s:?}: {e}"));
        let entry = ipvs
            .service(&s.key)
            .expect("service")
            .expect("the service is there");
        assert_eq!(&entry.service, s);
        assert_eq!(
            entry.stats,
            ipvs::Stats::default(),
            "a new service has counted nothing"
        );
    }
    // The kernel's own reading of what the library sent.
    let v6 = ipvs
        .service(&ServiceKey::fwmark(2, Family::Inet6))
        .expect("service")
        .expect("the service is there");
    assert_eq!(
        v6.service.netmask,
        Netmask::V6(128),
        "an IPv6 service's full netmask is /128"
    );
    assert_eq!(configured_services(&ipvs), debug_set(&services));
    let state = assert_ipvsadm_agrees(&ns, &ipvs);
    assert_listing_agrees(&ns, &state, Listing::Plain);
    assert!(ipvsadm_save(&ns)
        .contains(&"-A -u 10.3.0.3:5060 -s rr -p 100 -M 255.255.255.0 --pe sip".to_string()));

    let edits: Vec<Service> = services.iter().map(edited).collect();
    for e in &edits {
        ipvs.edit_service(e)
            .unwrap_or_else(|err| panic!("edit_service {e:?}: {err}"));
        assert_eq!(
            &ipvs
                .service(&e.key)
                .expect("service")
                .expect("the service is there")
                .service,
            e
        );
    }
    assert_eq!(configured_services(&ipvs), debug_set(&edits));
    let state = assert_ipvsadm_agrees(&ns, &ipvs);
    assert_listing_agrees(&ns, &state, Listing::Plain);

    for (i, e) in edits.iter().enumerate() {
        ipvs.delete_service(&e.key)
            .unwrap_or_else(|err| panic!("delete_service {:?}: {err}", e.key));
        assert_eq!(configured_services(&ipvs), debug_set(&edits[i + 1..]));
    }
    assert_eq!(ipvsadm_save(&ns), Vec::<String>::new());
}

#[test]
fn all_13_schedulers_and_none_are_set_read_back_and_changed() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);
    let mut names: Vec<&str> = Scheduler::KNOWN.to_vec();
    names.push("none");
    let key = |i: usize| ServiceKey::tcp(ip(&format!("10.4.0.{}", i + 1)), 80);

    for (i, name) in names.iter().enumerate() {
        let scheduler = Scheduler::from(*name);
        assert!(
            !matches!(scheduler, Scheduler::Other(_)),
            "{name} is a known scheduler"
        );
        ipvs.add_service(&Service::new(key(i)).with_scheduler(scheduler.clone()))
            .unwrap_or_else(|e| panic!("add a service with {name}: {e}"));
        // Two real servers each, so that every scheduler has something to schedule over.
        for last in [1, 2] {
            let d = ipvs::Destination::new(ip(&format!("10.4.1.{last}")), 80)
                .with_forward(ipvs::Forward::Masquerade);
            ipvs.add_destination(&key(i), &d).expect("add_destination");
        }
        let read = ipvs
            .service(&key(i))
            .expect("service")
            .expect("the service is there")
            .service
            .scheduler;
        assert_eq!(read, scheduler);
        assert_eq!(read.name(), *name);
    }
    let state = assert_ipvsadm_agrees(&ns, &ipvs);
    let read: BTreeSet<&str> = state
        .iter()
        .map(|vs| vs.entry.service.scheduler.name())
        .collect();
    assert_eq!(read, names.iter().copied().collect());

    // Every service moves to the next scheduler of the list.
    for i in 0..names.len() {
        let next = names[(i + 1) % names.len()];
        ipvs.edit_service(&Service::new(key(i)).with_scheduler(next))
            .unwrap_or_else(|e| panic!("edit {} to {next}: {e}", names[i]));
        assert_eq!(
            ipvs.service(&key(i))
                .expect("service")
                .expect("the service is there")
                .service
                .scheduler
                .name(),
            next
        );
    }
    let state = assert_ipvsadm_agrees(&ns, &ipvs);
    assert!(
        state.iter().all(|vs| vs.destinations.len() == 2),
        "an edit keeps the destinations"
    );
}
