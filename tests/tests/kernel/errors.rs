//! The kernel's refusals: each error carries the errno and the operation, and reads as
//! ipvsadm's message for the same refusal, which ipvsadm prints in the same namespace.

use std::net::IpAddr;

use ipvs::{
    Destination, Error, Forward, Netmask, Operation, Service, ServiceKey, TunnelFlags, TunnelType,
};

use crate::harness::{require_ipvs, NetNs};
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Asserts that `result` is the kernel's `errno` for `op`, that it reads `message`, and that
/// ipvsadm, doing the same with `args`, fails with that message too (when `args` is not empty;
/// ipvsadm exits 255 when a change fails, 1 when a listing does).
fn assert_refused(
    ns: &NetNs,
    result: ipvs::Result<()>,
    op: Operation,
    errno: i32,
    message: &str,
    args: &[&str],
) {
    match result {
        Err(Error::Kernel {
            op: got_op,
            errno: got_errno,
            ..
        }) if got_op == op && got_errno == errno => {}
        other => panic!("expected {op:?} to fail with errno {errno}, got {other:?}"),
    }
    let err = result.unwrap_err();
    assert_eq!(err.errno(), Some(errno));
    assert_eq!(err.ipvsadm_message(), message);
    if !args.is_empty() {
        let (status, stdout, stderr) = ns.ipvsadm(args);
        let failed = if args[0] == "-L" { 1 } else { 255 };
        assert_eq!(
            (status, stderr.as_str()),
            (failed, format!("{message}\n").as_str()),
            "ipvsadm {}: {stdout}",
            args.join(" ")
        );
    }
}

/// An operation's outcome, the operation and errno expected, its message, and ipvsadm's
/// arguments for the same (none when ipvsadm's command line cannot express it).
type Refusal<'a> = (ipvs::Result<()>, Operation, i32, &'a str, &'a [&'a str]);

#[test]
fn kernel_refusals_read_as_ipvsadm_says_them() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);
    let web = ServiceKey::tcp(ip("10.10.0.1"), 80);
    let missing = ServiceKey::tcp(ip("10.10.0.9"), 80);
    ipvs.add_service(&Service::new(web).with_scheduler("rr"))
        .expect("add_service");
    let real = Destination::new(ip("10.10.1.1"), 80).with_forward(Forward::Masquerade);
    ipvs.add_destination(&web, &real).expect("add_destination");

    // Not there is no error for the library (the kernel answers ESRCH, ipvsadm says so).
    assert!(ipvs.service(&missing).expect("service").is_none());
    let (status, _, stderr) = ns.ipvsadm(&["-L", "-n", "-t", "10.10.0.9:80"]);
    assert_eq!((status, stderr.as_str()), (1, "No such service\n"));

    use Operation::*;
    let cases: Vec<Refusal> = vec![
        (
            ipvs.add_service(&Service::new(web)),
            AddService,
            libc::EEXIST,
            "Service already exists",
            &["-A", "-t", "10.10.0.1:80"],
        ),
        (
            ipvs.edit_service(&Service::new(missing)),
            EditService,
            libc::ESRCH,
            "No such service",
            &["-E", "-t", "10.10.0.9:80"],
        ),
        (
            ipvs.delete_service(&missing),
            DeleteService,
            libc::ESRCH,
            "No such service",
            &["-D", "-t", "10.10.0.9:80"],
        ),
        (
            ipvs.zero(Some(&missing)),
            Zero,
            libc::ESRCH,
            "No such service",
            &["-Z", "-t", "10.10.0.9:80"],
        ),
        (
            ipvs.add_service(&Service::new(missing).with_scheduler("nosuchsched")),
            AddService,
            libc::ENOENT,
            "Scheduler or persistence engine not found",
            &["-A", "-t", "10.10.0.9:80", "-s", "nosuchsched"],
        ),
        (
            ipvs.edit_service(&Service::new(web).with_scheduler("nosuchsched")),
            EditService,
            libc::ENOENT,
            "Scheduler or persistence engine not found",
            &["-E", "-t", "10.10.0.1:80", "-s", "nosuchsched"],
        ),
        (
            ipvs.add_service(&Service {
                persistence_engine: Some("nosuchpe".into()),
                ..Service::new(missing).with_persistence(60)
            }),
            AddService,
            libc::ENOENT,
            "Scheduler or persistence engine not found",
            &["-A", "-t", "10.10.0.9:80", "-p", "60", "--pe", "nosuchpe"],
        ),
        (
            ipvs.add_destination(&missing, &real),
            AddDestination,
            libc::ESRCH,
            "Service not defined",
            &["-a", "-t", "10.10.0.9:80", "-r", "10.10.1.1:80", "-m"],
        ),
        (
            ipvs.edit_destination(&missing, &real),
            EditDestination,
            libc::ESRCH,
            "Service not defined",
            &["-e", "-t", "10.10.0.9:80", "-r", "10.10.1.1:80", "-m"],
        ),
        (
            ipvs.delete_destination(&missing, real.addr, real.port),
            DeleteDestination,
            libc::ESRCH,
            "Service not defined",
            &["-d", "-t", "10.10.0.9:80", "-r", "10.10.1.1:80"],
        ),
        (
            ipvs.add_destination(&web, &real),
            AddDestination,
            libc::EEXIST,
            "Destination already exists",
            &["-a", "-t", "10.10.0.1:80", "-r", "10.10.1.1:80", "-m"],
        ),
        (
            ipvs.edit_destination(&web, &Destination::new(ip("10.10.1.2"), 80)),
            EditDestination,
            libc::ENOENT,
            "No such destination",
            &["-e", "-t", "10.10.0.1:80", "-r", "10.10.1.2:80"],
        ),
        (
            ipvs.delete_destination(&web, ip("10.10.1.2"), 80),
            DeleteDestination,
            libc::ENOENT,
            "No such destination",
            &["-d", "-t", "10.10.0.1:80", "-r", "10.10.1.2:80"],
        ),
        // What ipvsadm's command line does not let through, the kernel refuses too.
        (
            ipvs.add_destination(
                &web,
                &Destination::new(ip("10.10.1.3"), 80).with_forward(Forward::Tunnel {
                    kind: TunnelType::Gue,
                    port: 0,
                    flags: TunnelFlags::empty(),
                }),
            ),
            AddDestination,
            libc::EINVAL,
            "Invalid operation.  Possibly wrong module version, address not unicast, ...",
            &[],
        ),
        (
            ipvs.add_destination(
                &web,
                &Destination::new(ip("10.10.1.4"), 80).with_weight(1 << 31),
            ),
            AddDestination,
            libc::ERANGE,
            "Numerical result out of range",
            &[],
        ),
        (
            ipvs.add_destination(
                &web,
                &Destination {
                    upper_threshold: 10,
                    lower_threshold: 20,
                    ..Destination::new(ip("10.10.1.5"), 80)
                },
            ),
            AddDestination,
            libc::ERANGE,
            "Numerical result out of range",
            &[],
        ),
        (
            ipvs.add_destination(&web, &Destination::new(ip("224.0.0.1"), 80)),
            AddDestination,
            libc::EINVAL,
            "Invalid operation.  Possibly wrong module version, address not unicast, ...",
            &[],
        ),
        (
            ipvs.add_service(&Service {
                netmask: Netmask::V6(0),
                ..Service::new(ServiceKey::tcp(ip("2001:db8:10::1"), 80)).with_persistence(60)
            }),
            AddService,
            libc::EINVAL,
            "Invalid operation.  Possibly wrong module version, address not unicast, ...",
            &[],
        ),
    ];
    for (result, op, errno, message, args) in cases {
        assert_refused(&ns, result, op, errno, message, args);
    }
    // Nothing of that changed the state.
    assert_eq!(
        ipvsadm_save(&ns),
        [
            "-A -t 10.10.0.1:80 -s rr",
            "-a -t 10.10.0.1:80 -r 10.10.1.1:80 -m -w 1"
        ]
    );
}
