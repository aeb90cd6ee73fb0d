//! Bring-up: the harness itself against the real kernel, with nothing but std and ipvsadm.

use crate::harness::{ipvsadm, require_ipvs, NetNs};
use std::path::Path;

#[test]
fn ipvsadm_save_reads_back_what_was_added_in_a_fresh_netns() {
    require_ipvs();
    let ns = NetNs::new();
    assert_eq!(
        ns.ipvsadm_ok(&["-S", "-n"]),
        "",
        "a new namespace has no services"
    );

    ns.ipvsadm_ok(&["-A", "-t", "10.0.0.1:80", "-s", "rr"]);
    // Added out of order: ipvsadm sorts the real servers by address.
    ns.ipvsadm_ok(&[
        "-a",
        "-t",
        "10.0.0.1:80",
        "-r",
        "10.0.1.2:8080",
        "-m",
        "-w",
        "3",
    ]);
    ns.ipvsadm_ok(&[
        "-a",
        "-t",
        "10.0.0.1:80",
        "-r",
        "10.0.1.1:8080",
        "-m",
        "-w",
        "2",
    ]);
    ns.ipvsadm_ok(&["-A", "-u", "10.0.0.1:53", "-s", "wlc", "-p", "60"]);
    ns.ipvsadm_ok(&["-a", "-u", "10.0.0.1:53", "-r", "10.0.1.1", "-g"]);
    ns.ipvsadm_ok(&["-A", "-f", "7", "-s", "sh", "-b", "sh-port"]);

    assert_eq!(
        ns.ipvsadm_ok(&["-S", "-n"]),
        "-A -t 10.0.0.1:80 -s rr\n\
         -a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 2\n\
         -a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 3\n\
         -A -u 10.0.0.1:53 -s wlc -p 60\n\
         -a -u 10.0.0.1:53 -r 10.0.1.1:53 -g -w 1\n\
         -A -f 7 -s sh -b sh-port\n"
    );

    // The kernel refuses a second service with the same address; ipvsadm says so and exits 255.
    let (status, _, stderr) = ns.ipvsadm(&["-A", "-t", "10.0.0.1:80", "-s", "wlc"]);
    assert_eq!((status, stderr.as_str()), (255, "Service already exists\n"));

    // IPVS is per namespace: the VM's own namespace does not see this one's services.
    let (status, root, _) = ipvsadm(&["-S", "-n"]);
    assert_eq!(status, 0);
    assert!(
        !root.contains("10.0.0.1"),
        "leaked into the root namespace: {root}"
    );

    let path = format!("/run/netns/{}", ns.name());
    drop(ns);
    assert!(
        !Path::new(&path).exists(),
        "{path} is still there after drop"
    );
}

#[test]
fn enter_runs_code_inside_the_namespace() {
    require_ipvs();
    let ns = NetNs::new();
    ns.ipvsadm_ok(&["-A", "-t", "10.0.0.1:80", "-s", "rr"]);
    // /proc/thread-self/net is the calling thread's namespace (/proc/net is the process's).
    let table = || std::fs::read_to_string("/proc/thread-self/net/ip_vs").expect("ip_vs table");
    let inside = ns.enter(table);
    assert!(
        inside.contains("\nTCP  0A000001:0050 rr"),
        "not seen inside:\n{inside}"
    );
    let outside = table();
    assert!(
        !outside.contains("0A000001:0050"),
        "seen outside:\n{outside}"
    );
}
