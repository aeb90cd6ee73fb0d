//! Network namespaces: a handle by name or by `/proc/PID/ns/net` path works on that namespace
//! alone, and opening it does not move the calling thread.

use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ipvs::{Ipvs, Service, ServiceKey};

use crate::harness::{require_ipvs, NetNs};
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The inode of a network namespace file: equal inodes, same namespace.
fn netns_inode(path: &str) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .ino()
}

#[test]
fn changes_in_one_namespace_are_invisible_in_another() {
    require_ipvs();
    let (one, two) = (NetNs::new(), NetNs::new());
    let mine = netns_inode("/proc/thread-self/ns/net");
    let (ipvs1, ipvs2) = (open(&one), open(&two));
    assert_eq!(
        netns_inode("/proc/thread-self/ns/net"),
        mine,
        "the caller did not move"
    );
    assert_eq!(
        ipvs1.netns(),
        Some(ipvs_sys::netns::netns_path(one.name()).as_path())
    );
    assert!(ipvs1.netns().unwrap().exists());
    let root = Ipvs::new().expect("Ipvs::new");
    assert_eq!(root.netns(), None);

    let key = ServiceKey::tcp(ip("10.30.0.1"), 80);
    ipvs1
        .add_service(&Service::new(key).with_scheduler("rr"))
        .expect("add in one");
    assert_eq!(ipvs1.services().expect("services").len(), 1);
    assert!(ipvs2.services().expect("services").is_empty());
    assert!(root
        .services()
        .expect("services")
        .iter()
        .all(|e| e.service.key != key));
    assert_eq!(ipvsadm_save(&one), ["-A -t 10.30.0.1:80 -s rr"]);
    assert_eq!(ipvsadm_save(&two), Vec::<String>::new());

    // The same service in the other namespace is another service.
    ipvs2
        .add_service(&Service::new(key).with_scheduler("lc"))
        .expect("add in two");
    ipvs1.delete_service(&key).expect("delete in one");
    assert!(ipvs1.services().expect("services").is_empty());
    assert_eq!(ipvsadm_save(&two), ["-A -t 10.30.0.1:80 -s lc"]);
    assert!(root
        .services()
        .expect("services")
        .iter()
        .all(|e| e.service.key != key));

    match Ipvs::in_netns("ipvst-no-such-namespace") {
        Err(e @ ipvs::Error::Netns { .. }) => {
            assert_eq!(e.errno(), Some(libc::ENOENT), "{e}");
            assert!(
                e.to_string().contains("netns/ipvst-no-such-namespace"),
                "{e}"
            );
        }
        other => panic!("a missing namespace: {other:?}"),
    }
}

#[test]
fn a_handle_opened_by_proc_pid_ns_net_works_on_that_process_namespace() {
    require_ipvs();
    let ns = NetNs::new();
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns.name(), "sleep", "60"])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn a process in the namespace");
    let path = format!("/proc/{}/ns/net", child.id());
    // `ip netns exec` enters the namespace, then execs sleep.
    let target = netns_inode(&format!("/run/netns/{}", ns.name()));
    wait_for(
        "the process to enter the namespace",
        Duration::from_secs(5),
        || (netns_inode(&path) == target).then_some(()),
    );

    let ipvs = Ipvs::in_netns(&path).unwrap_or_else(|e| panic!("Ipvs::in_netns({path}): {e}"));
    assert_eq!(ipvs.netns(), Some(Path::new(&path)));
    let key = ServiceKey::udp(ip("10.31.0.1"), 53);
    ipvs.add_service(&Service::new(key).with_scheduler("sh"))
        .expect("add_service");
    assert_eq!(ipvsadm_save(&ns), ["-A -u 10.31.0.1:53 -s sh"]);
    assert_eq!(open(&ns).services().expect("services").len(), 1);

    // The handle keeps its namespace after the process is gone.
    child.kill().expect("kill the child");
    child.wait().expect("wait for the child");
    ipvs.delete_service(&key).expect("delete_service");
    assert_eq!(ipvsadm_save(&ns), Vec::<String>::new());
}
