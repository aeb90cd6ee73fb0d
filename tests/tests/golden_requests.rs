//! The typed library's (ipvs-rs) requests against ipvsadm 1.31's, from the golden fixtures of
//! ipvs-sys (`ipvs-sys/tests/fixtures`, captured on kernel 6.1). It lives in this workspace-only
//! crate because it reads another crate's fixtures, which neither package carries for the other:
//! for each write command ipvsadm ran, the
//! same change made with this library ([`Change::message`]) must ask the kernel for the same
//! thing. Where the two messages carry the same attributes in the same order they must be
//! byte-identical, netlink header included (but for the port id, which libnl fills in).
//!
//! Where they are not, the differences must be exactly the documented ones:
//!
//! - [`Diff::WholeServiceInIpvsadm`]: in commands that only name a service (DEL_SERVICE, ZERO,
//!   and the destination commands), ipvsadm sends the whole service nest, with an empty
//!   scheduler name, flags, timeout and netmask that the kernel ignores; we send its identity.
//! - [`Diff::ZeroTunnelAttrsInIpvsadm`]: ipvsadm sends TUN_TYPE, TUN_PORT and TUN_FLAGS, all 0,
//!   with every destination; we send them only for tunnelling destinations.
//! - [`Diff::DestConfigInIpvsadm`]: in DEL_DEST ipvsadm also sends the forwarding method, weight,
//!   tunnel and thresholds of its (default) destination; the kernel needs only address and port.
//! - [`Diff::DaemonIdentityInIpvsadm`]: DEL_DAEMON from ipvsadm carries an empty interface and
//!   sync id 0 beside the state, which is all the kernel reads.
//! - [`Diff::Order`]: the same attributes in another order (ipvsadm puts a daemon's multicast
//!   group last); the kernel parses attributes by type, so order does not matter.
#![forbid(unsafe_code)]

#[path = "../../ipvs-sys/tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use ipvs::{
    Change, DaemonState, Destination, Family, Forward, Netmask, Service, ServiceFlags, ServiceKey,
    SyncDaemon, Timeouts, TunnelFlags, TunnelType,
};
use ipvs_sys::consts::*;
use ipvs_sys::frame::{self, Body};
use ipvs_sys::{Attr, IpvsMessage, Nla};

/// The fixtures are ipvs-sys's; its loader finds them from its own manifest directory, so
/// this test names the folder itself.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ipvs-sys/tests/fixtures");

fn load(name: &str) -> common::Fixture {
    let path = format!("{FIXTURES}/{name}.nl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    common::parse(&text).unwrap_or_else(|(line, e)| panic!("{path}:{line}: {e}"))
}

fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap_or_else(|e| panic!("{FIXTURES}: {e}"))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".nl")?.to_string())
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 30,
        "the fixtures are missing from {FIXTURES}"
    );
    names
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Diff {
    WholeServiceInIpvsadm,
    ZeroTunnelAttrsInIpvsadm,
    DestConfigInIpvsadm,
    DaemonIdentityInIpvsadm,
    Order,
}
use Diff::*;

/// One attribute as (type without flags, value bytes).
type Raw = (u16, Vec<u8>);

fn raw<T: Nla>(nla: &T) -> Raw {
    let mut value = vec![0; nla.value_len()];
    nla.emit_value(&mut value);
    (nla.kind() & !0xc000, value)
}

/// A top-level attribute, its nest opened when it has one.
fn nest(attr: &Attr) -> (u16, Vec<Raw>) {
    let kind = attr.kind() & !0xc000;
    let inner = match attr {
        Attr::Service(a) => a.iter().map(raw).collect(),
        Attr::Dest(a) => a.iter().map(raw).collect(),
        Attr::Daemon(a) => a.iter().map(raw).collect(),
        other => vec![raw(other)],
    };
    (kind, inner)
}

fn ipvsadm_request(fixture: &str) -> Vec<u8> {
    // The command's own request is the last one; before it come ipvs_init's GET_INFO.
    load(fixture).requests.pop().expect("a request")
}

fn parse(msg: &[u8]) -> IpvsMessage {
    let frames = frame::decode(msg).expect("ipvsadm's request decodes");
    match frames[0].body {
        Body::Data(p) => IpvsMessage::parse(p).expect("ipvsadm's request parses"),
        ref other => panic!("not a request: {other:?}"),
    }
}

/// The differences between our message and ipvsadm's; panics on any that is not documented.
fn differences(fixture: &str, ours: &IpvsMessage, theirs: &IpvsMessage) -> BTreeSet<Diff> {
    assert_eq!(ours.cmd, theirs.cmd, "{fixture}: command");
    let ours: Vec<_> = ours.attrs.iter().map(nest).collect();
    let theirs: Vec<_> = theirs.attrs.iter().map(nest).collect();
    let kinds = |v: &[(u16, Vec<Raw>)]| v.iter().map(|(k, _)| *k).collect::<Vec<_>>();
    assert_eq!(
        kinds(&ours),
        kinds(&theirs),
        "{fixture}: top-level attributes"
    );

    let mut diffs = BTreeSet::new();
    for ((kind, o), (_, t)) in ours.iter().zip(&theirs) {
        for (k, v) in o {
            let theirs_v = t.iter().find(|(tk, _)| tk == k).map(|(_, v)| v);
            assert_eq!(
                Some(v),
                theirs_v,
                "{fixture}: attribute {kind}/{k}: we send what ipvsadm does not"
            );
        }
        for (k, v) in t.iter().filter(|(tk, _)| !o.iter().any(|(ok, _)| ok == tk)) {
            let zero = v.iter().all(|b| *b == 0);
            let diff = match (*kind, *k) {
                (
                    IPVS_CMD_ATTR_SERVICE,
                    IPVS_SVC_ATTR_SCHED_NAME
                    | IPVS_SVC_ATTR_FLAGS
                    | IPVS_SVC_ATTR_TIMEOUT
                    | IPVS_SVC_ATTR_NETMASK,
                ) => WholeServiceInIpvsadm,
                (
                    IPVS_CMD_ATTR_DEST,
                    IPVS_DEST_ATTR_TUN_TYPE | IPVS_DEST_ATTR_TUN_PORT | IPVS_DEST_ATTR_TUN_FLAGS,
                ) if zero => ZeroTunnelAttrsInIpvsadm,
                (
                    IPVS_CMD_ATTR_DEST,
                    IPVS_DEST_ATTR_FWD_METHOD
                    | IPVS_DEST_ATTR_WEIGHT
                    | IPVS_DEST_ATTR_U_THRESH
                    | IPVS_DEST_ATTR_L_THRESH,
                ) => DestConfigInIpvsadm,
                (IPVS_CMD_ATTR_DAEMON, IPVS_DAEMON_ATTR_MCAST_IFN | IPVS_DAEMON_ATTR_SYNC_ID)
                    if zero =>
                {
                    DaemonIdentityInIpvsadm
                }
                _ => {
                    panic!("{fixture}: ipvsadm sends attribute {kind}/{k} = {v:02x?} and we do not")
                }
            };
            diffs.insert(diff);
        }
        let common_order = |a: &[Raw], b: &[Raw]| {
            a.iter()
                .filter(|(k, _)| b.iter().any(|(bk, _)| bk == k))
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
        };
        if common_order(o, t) != common_order(t, o) {
            diffs.insert(Order);
        }
    }
    diffs
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::tcp(addr.parse().unwrap(), port)
}

fn udp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::udp(addr.parse().unwrap(), port)
}

fn dest(addr: &str, port: u16, forward: Forward, weight: u32) -> Destination {
    Destination::new(addr.parse().unwrap(), port)
        .with_forward(forward)
        .with_weight(weight)
}

fn add_dest(service: ServiceKey, destination: Destination) -> Change {
    Change::AddDestination {
        service,
        destination,
    }
}

/// Each fixture's command, made with the library, and the differences it must show.
fn cases() -> Vec<(&'static str, Change, &'static [Diff])> {
    let web = tcp("10.1.1.1", 80);
    let v6 = tcp("2001:db8::1", 443);
    let sip = |key| {
        Change::AddService(Service {
            netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
            persistence_engine: Some("sip".into()),
            ..Service::new(key).with_scheduler("rr").with_persistence(100)
        })
    };
    let gue = Forward::Tunnel {
        kind: TunnelType::Gue,
        port: 6080,
        flags: TunnelFlags::CSUM,
    };
    let gre = Forward::Tunnel {
        kind: TunnelType::Gre,
        port: 0,
        flags: TunnelFlags::empty(),
    };
    let mut backup = SyncDaemon::new(DaemonState::Backup, "sync0", 6);
    backup.sync_maxlen = Some(1200);
    backup.mcast_group = Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81)));
    backup.mcast_port = Some(8849);
    backup.mcast_ttl = Some(2);
    let masq_thresholds = Destination {
        upper_threshold: 100,
        lower_threshold: 10,
        ..dest("10.2.2.2", 8080, Forward::Masquerade, 3)
    };
    let not_tunnel = &[WholeServiceInIpvsadm, ZeroTunnelAttrsInIpvsadm][..];
    vec![
        (
            "new_service_tcp",
            Change::AddService(Service::new(web).with_scheduler("rr")),
            &[],
        ),
        (
            "new_service_udp_persistent",
            Change::AddService(Service::new(udp("10.1.1.1", 53)).with_persistence(600)),
            &[],
        ),
        (
            "new_service_sctp_sh_flags",
            Change::AddService(Service {
                flags: ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT,
                ..Service::new(ServiceKey::sctp("10.1.1.2".parse().unwrap(), 5000))
                    .with_scheduler("sh")
            }),
            &[],
        ),
        (
            "new_service_fwmark_v4",
            Change::AddService(
                Service::new(ServiceKey::fwmark(7, Family::Inet)).with_scheduler("wrr"),
            ),
            &[],
        ),
        (
            "new_service_fwmark_v6",
            Change::AddService(
                Service::new(ServiceKey::fwmark(8, Family::Inet6))
                    .with_scheduler("lc")
                    .with_persistence(120),
            ),
            &[],
        ),
        (
            "new_service_v6_mh_netmask",
            Change::AddService(Service {
                flags: ServiceFlags::PERSISTENT | ServiceFlags::MH_PORT,
                netmask: Netmask::V6(64),
                ..Service::new(v6).with_scheduler("mh").with_persistence(300)
            }),
            &[],
        ),
        ("new_service_pe_sip_tcp", sip(tcp("10.1.1.3", 80)), &[]),
        ("new_service_pe_sip_udp", sip(udp("10.1.1.3", 5060)), &[]),
        (
            "new_service_onepacket",
            Change::AddService(Service {
                flags: ServiceFlags::ONEPACKET,
                ..Service::new(udp("10.1.1.4", 53)).with_scheduler("rr")
            }),
            &[],
        ),
        (
            "set_service",
            Change::EditService(Service::new(web).with_scheduler("wlc")),
            &[],
        ),
        (
            "new_dest_masq_thresholds",
            add_dest(web, masq_thresholds),
            not_tunnel,
        ),
        // ipvsadm gives a routed destination the service's port; so does this test.
        (
            "new_dest_route",
            add_dest(web, dest("10.2.2.3", 80, Forward::DirectRoute, 1)),
            not_tunnel,
        ),
        (
            "new_dest_tun_gue",
            add_dest(web, dest("10.2.2.4", 80, gue, 1)),
            &[WholeServiceInIpvsadm],
        ),
        (
            "new_dest_tun_gre",
            add_dest(web, dest("10.2.2.5", 80, gre, 1)),
            &[WholeServiceInIpvsadm],
        ),
        (
            "new_dest_tun_ipip",
            add_dest(web, dest("10.2.2.6", 80, Forward::ipip(), 1)),
            &[WholeServiceInIpvsadm],
        ),
        (
            "new_dest_v6",
            add_dest(v6, dest("2001:db8::10", 443, Forward::Masquerade, 0)),
            not_tunnel,
        ),
        (
            "new_dest_fwmark",
            add_dest(
                ServiceKey::fwmark(7, Family::Inet),
                dest("10.2.2.7", 80, Forward::Masquerade, 1),
            ),
            not_tunnel,
        ),
        (
            "set_dest",
            Change::EditDestination {
                service: web,
                destination: dest("10.2.2.2", 8080, Forward::Masquerade, 5),
            },
            not_tunnel,
        ),
        (
            "del_dest",
            Change::DeleteDestination {
                service: web,
                addr: "10.2.2.6".parse().unwrap(),
                port: 80,
            },
            &[
                WholeServiceInIpvsadm,
                ZeroTunnelAttrsInIpvsadm,
                DestConfigInIpvsadm,
            ],
        ),
        (
            "set_config",
            Change::SetTimeouts(Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            }),
            &[],
        ),
        (
            "new_daemon_master",
            Change::StartDaemon(SyncDaemon::new(DaemonState::Master, "sync0", 5)),
            &[],
        ),
        (
            "new_daemon_backup_full",
            Change::StartDaemon(backup),
            &[Order],
        ),
        (
            "del_daemon_master",
            Change::StopDaemon(DaemonState::Master),
            &[DaemonIdentityInIpvsadm],
        ),
        (
            "del_daemon_backup",
            Change::StopDaemon(DaemonState::Backup),
            &[DaemonIdentityInIpvsadm],
        ),
        (
            "zero_service",
            Change::Zero(Some(web)),
            &[WholeServiceInIpvsadm],
        ),
        ("zero_all", Change::Zero(None), &[]),
        (
            "new_service_eexist",
            Change::AddService(Service::new(web)),
            &[],
        ),
        (
            "new_service_bad_scheduler",
            Change::AddService(Service::new(tcp("10.1.1.9", 80)).with_scheduler("nosuchsched")),
            &[],
        ),
        (
            "del_dest_esrch",
            Change::DeleteDestination {
                service: tcp("10.9.9.9", 80),
                addr: "10.2.2.2".parse().unwrap(),
                port: 80,
            },
            &[
                WholeServiceInIpvsadm,
                ZeroTunnelAttrsInIpvsadm,
                DestConfigInIpvsadm,
            ],
        ),
        (
            "del_service",
            Change::DeleteService(web),
            &[WholeServiceInIpvsadm],
        ),
        ("flush", Change::Flush, &[]),
    ]
}

#[test]
fn every_write_fixture_has_a_case() {
    let covered: BTreeSet<&str> = cases().iter().map(|(f, ..)| *f).collect();
    for name in names().into_iter().filter(|n| n != "ctrl_getfamily_ipvs") {
        let fx = load(&name);
        let cmd = parse(fx.requests.last().unwrap()).cmd;
        let reads = [
            ipvs_sys::Command::GetService,
            ipvs_sys::Command::GetDest,
            ipvs_sys::Command::GetDaemon,
            ipvs_sys::Command::GetConfig,
            ipvs_sys::Command::GetInfo,
        ];
        if reads.contains(&cmd) {
            continue;
        }
        assert!(
            covered.contains(name.as_str()),
            "no case for the write fixture {name}"
        );
    }
}

#[test]
fn our_requests_ask_for_what_ipvsadm_asked_for() {
    for (fixture, change, expected) in cases() {
        let bytes = ipvsadm_request(fixture);
        let theirs = parse(&bytes);
        let ours = ipvs::replay::message(&change);
        let diffs = differences(fixture, &ours, &theirs);
        let expected: BTreeSet<Diff> = expected.iter().copied().collect();
        assert_eq!(
            diffs, expected,
            "{fixture}: ours {ours:?}\nipvsadm's {theirs:?}"
        );

        // The operation decides how the kernel's errno reads; the fixture says what ipvsadm printed.
        let fx = load(fixture);
        if let (Some(Body::Error { errno, .. }), Some(255)) = (
            fx.replies
                .last()
                .map(|r| frame::decode(r).unwrap().remove(0).body),
            fx.exit_status,
        ) {
            assert_eq!(
                [ipvs::Operation::ipvsadm_message(change.operation(), errno)],
                fx.output.as_slice(),
                "{fixture}"
            );
        }
    }
}

#[test]
fn our_requests_are_byte_identical_where_the_attributes_match() {
    let mut identical = 0;
    for (fixture, change, expected) in cases() {
        if !expected.is_empty() {
            continue;
        }
        let theirs = ipvsadm_request(fixture);
        let (_, ty, flags, seq, _) = common::nlmsghdr(&theirs);
        // The bytes `Ipvs::apply` writes, framed as ipvsadm's request was.
        let payload = ipvs::replay::payload(&change);
        let mut ours = Vec::new();
        frame::encode_with(&mut ours, ty, flags, seq, |out| {
            out.extend_from_slice(&payload)
        });
        assert_eq!(ours[..12], theirs[..12], "{fixture}: header");
        assert_eq!(ours[16..], theirs[16..], "{fixture}: {change:?}");
        identical += 1;
    }
    assert!(identical >= 15, "only {identical} byte-identical requests");
}
