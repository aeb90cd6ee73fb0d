//! Connection-sync daemons: start, list and stop, master and backup, with the 4.3+ settings.

use std::net::IpAddr;

use ipvs::{Change, DaemonState, Destination, Forward, Service, ServiceKey, SyncDaemon};

use crate::harness::{require_ipvs, NetNs};
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// ipvsadm's `-L --daemon` lines, in its order (master first).
fn ipvsadm_daemons(ns: &NetNs) -> Vec<String> {
    ns.ipvsadm_ok(&["-L", "--daemon"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn library_daemons(ipvs: &ipvs::Ipvs) -> Vec<String> {
    daemon_lines(&ipvs.daemons().expect("daemons"))
}

#[test]
fn sync_daemons_start_list_and_stop() {
    require_ipvs();
    let ns = NetNs::new();
    // The daemons send and receive on a multicast interface that has an address.
    add_dummy(&ns, "sync0", &["192.168.77.1/24"]);
    let ipvs = open(&ns);
    assert!(ipvs.daemons().expect("daemons").is_empty());

    // A master with only the required settings: the kernel fills in the rest.
    let master = SyncDaemon::new(DaemonState::Master, "sync0", 5);
    ipvs.apply_one(&Change::StartDaemon(master.clone()))
        .expect("start master");
    let running = ipvs.daemons().expect("daemons");
    assert_eq!(
        running,
        [SyncDaemon {
            // The dummy's MTU 1500 less the IPv4 and UDP headers.
            sync_maxlen: Some(1472),
            mcast_group: Some(ip("224.0.0.81")),
            mcast_port: Some(8848),
            mcast_ttl: Some(1),
            ..master.clone()
        }]
    );
    assert_eq!(ipvsadm_daemons(&ns), library_daemons(&ipvs));
    assert_eq!(
        ipvsadm_daemons(&ns),
        ["master sync daemon (mcast=sync0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"]
    );

    // A backup with every setting given.
    let backup = SyncDaemon {
        sync_maxlen: Some(1200),
        mcast_group: Some(ip("224.0.0.82")),
        mcast_port: Some(8849),
        mcast_ttl: Some(2),
        ..SyncDaemon::new(DaemonState::Backup, "sync0", 6)
    };
    ipvs.apply_one(&Change::StartDaemon(backup.clone()))
        .expect("start backup");
    let running = ipvs.daemons().expect("daemons");
    assert_eq!(running.len(), 2);
    assert_eq!(running[1], backup);
    assert_eq!(ipvsadm_daemons(&ns), library_daemons(&ipvs));

    // A second master is refused, with ipvsadm's words.
    let err = ipvs
        .apply_one(&Change::StartDaemon(master.clone()))
        .unwrap_err();
    assert_eq!(err.errno(), Some(libc::EEXIST));
    let (status, _, stderr) =
        ns.ipvsadm(&["--start-daemon", "master", "--mcast-interface", "sync0"]);
    assert_eq!(
        (status, stderr),
        (255, format!("{}\n", err.ipvsadm_message()))
    );
    assert_eq!(err.ipvsadm_message(), "Daemon has already run");

    // The backup again, on an IPv6 group: its maximum length leaves room for the IPv6 header.
    ipvs.apply_one(&Change::StopDaemon(DaemonState::Backup))
        .expect("stop backup");
    let backup6 = SyncDaemon {
        mcast_group: Some(ip("ff02::82")),
        ..SyncDaemon::new(DaemonState::Backup, "sync0", 7)
    };
    ipvs.apply_one(&Change::StartDaemon(backup6.clone()))
        .expect("start an IPv6 backup");
    let running = ipvs.daemons().expect("daemons");
    assert_eq!(
        running[1],
        SyncDaemon {
            sync_maxlen: Some(1452),
            mcast_port: Some(8848),
            mcast_ttl: Some(1),
            ..backup6
        }
    );
    assert_eq!(ipvsadm_daemons(&ns), library_daemons(&ipvs));

    ipvs.apply_one(&Change::StopDaemon(DaemonState::Master))
        .expect("stop master");
    assert_eq!(ipvs.daemons().expect("daemons").len(), 1);
    ipvs.apply_one(&Change::StopDaemon(DaemonState::Backup))
        .expect("stop backup");
    assert!(ipvs.daemons().expect("daemons").is_empty());
    assert_eq!(ipvsadm_daemons(&ns), Vec::<String>::new());

    let err = ipvs
        .apply_one(&Change::StopDaemon(DaemonState::Master))
        .unwrap_err();
    assert_eq!(err.errno(), Some(libc::ESRCH));
    let (status, _, stderr) = ns.ipvsadm(&["--stop-daemon", "master"]);
    assert_eq!(
        (status, stderr),
        (255, format!("{}\n", err.ipvsadm_message()))
    );
    assert_eq!(err.ipvsadm_message(), "No daemon is running");

    // A real server of the other family (through a tunnel) and a sync daemon exclude each other.
    let key = ServiceKey::tcp(ip("10.9.0.1"), 80);
    ipvs.add_service(&Service::new(key)).expect("add_service");
    let v6 = Destination::new(ip("2001:db8:9::1"), 80).with_forward(Forward::ipip());
    ipvs.add_destination(&key, &v6)
        .expect("add a mixed-family destination");
    let err = ipvs
        .apply_one(&Change::StartDaemon(master.clone()))
        .unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
    assert!(ipvs.daemons().expect("daemons").is_empty());
}
