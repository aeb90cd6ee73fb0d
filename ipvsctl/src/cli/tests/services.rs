//! `-A`, `-E`: services, their addresses, keys and options.

use ipvs::{Family, Netmask, Protocol, Scheduler, Service, ServiceFlags, ServiceKey};

use super::*;

#[test]
fn add_service_defaults() {
    let s = service(change("-A -t 10.1.1.1:80"));
    assert_eq!(s, Service::new(tcp("10.1.1.1", 80)));
    assert_eq!(s.scheduler, Scheduler::WeightedLeastConnection);
    assert_eq!(s.netmask, Netmask::V4("255.255.255.255".parse().unwrap()));
}

#[test]
fn add_service_with_scheduler_persistence_netmask_and_engine() {
    let s = service(change(
        "-A -t 10.1.1.3:80 -s rr -p 100 -M 255.255.255.0 --pe sip",
    ));
    assert_eq!(s.scheduler, Scheduler::RoundRobin);
    assert!(s.is_persistent());
    assert_eq!(s.timeout, 100);
    assert_eq!(s.netmask, Netmask::V4("255.255.255.0".parse().unwrap()));
    assert_eq!(s.persistence_engine.as_deref(), Some("sip"));
}

#[test]
fn add_udp_service_with_one_packet_scheduling() {
    let s = service(change("-A -u 10.1.1.4:53 -s rr -o"));
    assert_eq!(s.key, ServiceKey::udp(ip("10.1.1.4"), 53));
    assert_eq!(s.flags, ServiceFlags::ONEPACKET);
}

#[test]
fn add_sctp_service_with_scheduler_flags() {
    let s = service(change(
        "-A --sctp-service 10.1.1.2:5000 -s sh -b sh-fallback,sh-port",
    ));
    assert_eq!(s.key, ServiceKey::sctp(ip("10.1.1.2"), 5000));
    assert_eq!(s.flags, ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT);
}

#[test]
fn persistence_value_is_optional() {
    for (line, timeout) in [
        ("-A -t 1.2.3.4:80 -p", 360),
        ("-A -t 1.2.3.4:80 -p -s rr", 360),
        ("-A -t 1.2.3.4:80 -p 600", 600),
        ("-A -t 1.2.3.4:80 -p600", 600),
        ("-A -t 1.2.3.4:80 --persistent=7", 7),
        ("-A -t 1.2.3.4:80 -p 2678400", 2678400),
    ] {
        assert_eq!(service(change(line)).timeout, timeout, "{line:?}");
    }
}

#[test]
fn a_zero_port_is_fine_once_persistent() {
    let s = service(change("-A -u 1.2.3.4:0 -p"));
    assert_eq!(s.key, ServiceKey::udp(ip("1.2.3.4"), 0));
}

#[test]
fn ipv6_service_with_persistence_and_prefix_length() {
    let s = service(change(
        "-A -t [2001:db8::1]:443 -s mh -b mh-port -p 300 -M 64",
    ));
    assert_eq!(s.key, tcp("2001:db8::1", 443));
    assert_eq!(s.netmask, Netmask::V6(64));
    assert_eq!(s.flags, ServiceFlags::PERSISTENT | ServiceFlags::MH_PORT);
}

#[test]
fn a_bare_ipv6_address_has_no_port() {
    let s = service(change("-A -t 2001:db8::5 -p"));
    assert_eq!(s.key, tcp("2001:db8::5", 0));
    assert_eq!(s.netmask, Netmask::V6(128));
}

#[test]
fn an_ipv6_service_resets_an_earlier_ipv4_netmask() {
    // -M before -t is read as IPv4, then -t [v6] resets it to 128.
    let s = service(change("-A -M 255.255.255.0 -t [::1]:80 -p"));
    assert_eq!(s.netmask, Netmask::V6(128));
}

#[test]
fn udp_over_ipv6_keeps_protocol_and_family() {
    match service(change("-A -u [2001:db8::9]:53")).key {
        ServiceKey::Addr { protocol, addr, .. } => {
            assert_eq!(protocol, Protocol::Udp);
            assert!(addr.is_ipv6());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fwmark_service() {
    let s = service(change("-A -f 7 -s wrr"));
    assert_eq!(s.key, ServiceKey::fwmark(7, Family::Inet));
}

#[test]
fn ipv6_fwmark_service() {
    let s = service(change("-A -f 8 -6 -s lc -p 120"));
    assert_eq!(s.key, ServiceKey::fwmark(8, Family::Inet6));
    assert_eq!(s.netmask, Netmask::V6(128));
}

#[test]
fn ipv6_fwmark_service_takes_a_prefix_length() {
    let s = service(change("-A -f 9 -6 -M 48"));
    assert_eq!(s.netmask, Netmask::V6(48));
}

#[test]
fn fwmark_service_needs_no_port_and_takes_one_packet_scheduling() {
    let s = service(change("-A -f 10 -o"));
    assert_eq!(s.flags, ServiceFlags::ONEPACKET);
}

#[test]
fn the_largest_fwmark() {
    assert_eq!(
        service(change("-A -f 4294967295")).key,
        ServiceKey::fwmark(u32::MAX, Family::Inet)
    );
}

#[test]
fn addresses_as_inet_aton_reads_them() {
    for (line, key) in [
        ("-A -t 010.0.0.1:80", tcp("8.0.0.1", 80)),
        ("-A -t 0x7f.1:83", tcp("127.0.0.1", 83)),
        ("-A -t 1.2.3:82", tcp("1.2.0.3", 82)),
        ("-A -t 1.2.3.4:+81", tcp("1.2.3.4", 81)),
    ] {
        assert_eq!(service(change(line)).key, key, "{line:?}");
    }
}

#[test]
fn a_bracketed_ipv4_address_loses_its_port() {
    // As in ipvsadm.
    usage(
        "-A -t [1.2.3.22]:80",
        "Zero port specified for non-persistent service",
    );
}

#[test]
fn host_names_are_resolved() {
    assert_eq!(
        service(change("-A -t localhost:80")).key,
        tcp("127.0.0.1", 80)
    );
}

#[test]
fn port_names_are_resolved_for_the_service_protocol() {
    if !std::path::Path::new("/etc/services").exists() {
        return;
    }
    assert_eq!(
        service(change("-A -t 1.2.3.4:http")).key,
        tcp("1.2.3.4", 80)
    );
    assert_eq!(
        service(change("-A -u 1.2.3.4:domain")).key,
        ServiceKey::udp(ip("1.2.3.4"), 53)
    );
    let (_, d) = dest(change("-a -t 1.2.3.4:80 -r 10.9.9.10:http -m"));
    assert_eq!(d.port, 80);
}

#[test]
fn a_real_server_before_the_service_knows_no_port_names() {
    if !std::path::Path::new("/etc/services").exists() {
        return;
    }
    // -r before -t knows no protocol, so no port names.
    usage(
        "-a -r 10.9.9.9:http -t 1.2.3.4:80 -m",
        "illegal real server address[:port] specified",
    );
}

#[test]
fn a_netmask_may_be_a_host_name() {
    let s = service(change("-A -t 1.2.3.4:80 -M localhost"));
    assert_eq!(s.netmask, Netmask::V4("127.0.0.1".parse().unwrap()));
}

#[test]
fn service_rules() {
    usage(
        "-A -t 1.2.3.18:0",
        "Zero port specified for non-persistent service",
    );
    usage(
        "-E -t 1.2.3.18",
        "Zero port specified for non-persistent service",
    );
    usage(
        "-A -t 1.2.3.19:80 -o",
        "One-Packet Scheduling is only for UDP virtual services",
    );
    usage(
        "-A -t 1.2.3.20:80 -b sh-port",
        "incompatible scheduler flag `sh-port'",
    );
    usage(
        "-A -t 1.2.3.20:80 -s sh -b mh-port",
        "incompatible scheduler flag `mh-port'",
    );
    usage("-A -t 1.2.3.20:80 -b foo", "invalid scheduler flag `foo'");
    usage(
        "-A -t 1.2.3.11:80 -s sh -b flag-1,sh-port,foo",
        "invalid scheduler flag `foo'",
    );
    usage("-A -t 1.2.3.4:80 -s sh -b ,", "invalid scheduler flag `,'");
    // -b is read after every option, so -s may follow it; empty parts are skipped.
    let s = service(change("-A -t 1.2.3.12:80 -b sh-port -s sh"));
    assert_eq!(s.flags, ServiceFlags::SH_PORT);
    let s = service(change("-A -t 1.2.3.41:80 -b flag-1,,flag-2"));
    assert_eq!(s.flags, ServiceFlags::SCHED1 | ServiceFlags::SCHED2);
    // -b "" sets nothing.
    let s = parse(
        "ipvsctl",
        &["-A", "-t", "1.2.3.7:80", "-b", ""].map(String::from),
        Context::CommandLine,
    )
    .unwrap();
    assert!(matches!(s.command, Command::Change(Change::AddService(s)) if s.flags.is_empty()));
    // Schedulers are not checked here: the kernel decides (new modules appear).
    assert_eq!(
        service(change("-A -t 1.2.3.5:80 -s twos")).scheduler,
        Scheduler::Other("twos".into())
    );
    // ipvsadm keeps 15 bytes of a scheduler name.
    assert_eq!(
        service(change("-A -t 1.2.3.5:80 -s abcdefghijklmnopqrstu"))
            .scheduler
            .name(),
        "abcdefghijklmno"
    );
}
