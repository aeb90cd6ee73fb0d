//! `-a`, `-e`: real servers, forwarding methods and tunnels.

use ipvs::{Destination, Family, Forward, ServiceKey, TunnelFlags, TunnelType};

use super::*;

#[test]
fn destination_with_everything() {
    let (k, d) = dest(change(
        "-a -t 10.1.1.1:80 -r 10.2.2.2:8080 -m -w 3 -x 100 -y 10",
    ));
    assert_eq!(k, tcp("10.1.1.1", 80));
    assert_eq!(d.addr, ip("10.2.2.2"));
    assert_eq!(d.port, 8080);
    assert_eq!(d.forward, Forward::Masquerade);
    assert_eq!(
        (d.weight, d.upper_threshold, d.lower_threshold),
        (3, 100, 10)
    );
}

#[test]
fn destination_defaults_to_direct_routing_weight_1_and_the_service_port() {
    let (_, d) = dest(change("-a -t 10.1.1.1:80 -r 10.2.2.3"));
    assert_eq!(d, Destination::new(ip("10.2.2.3"), 80));
}

#[test]
fn direct_routing_takes_the_service_port() {
    let (_, d) = dest(change("-a -t 10.1.1.1:80 -r 10.2.2.3:99 -g"));
    assert_eq!(d.port, 80);
}

#[test]
fn fwmark_service_destinations_keep_their_port() {
    let (k, d) = dest(change("-a -f 7 -r 10.2.2.7:99"));
    assert_eq!(k, ServiceKey::fwmark(7, Family::Inet));
    assert_eq!(d.port, 99);
}

#[test]
fn a_real_server_before_the_service_takes_the_port_as_it_was_then() {
    let (_, d) = dest(change("-a -r 10.0.0.3 -t 1.2.3.4:80 -m"));
    assert_eq!(d.port, 0);
}

#[test]
fn ipv6_destination_edited_to_weight_0() {
    let (_, d) = dest(change(
        "-e -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 0",
    ));
    assert_eq!((d.addr, d.weight), (ip("2001:db8::10"), 0));
}

#[test]
fn the_largest_weight_is_int_max() {
    let (_, d) = dest(change("-a -t 1.2.3.4:80 -r 10.0.0.1 -w 2147483647"));
    assert_eq!(d.weight, 2147483647);
}

#[test]
fn tunnel_defaults_to_ipip() {
    let (_, d) = dest(change("-a -t 10.1.1.1:80 -r 10.2.2.6 -i"));
    assert_eq!(d.forward, Forward::ipip());
}

#[test]
fn gue_tunnel_with_port_and_checksum() {
    let (_, d) = dest(change(
        "-a -t 10.1.1.1:80 -r 10.2.2.4 -i --tun-type gue --tun-port 6080 --tun-csum",
    ));
    assert_eq!(
        d.forward,
        Forward::Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: TunnelFlags::CSUM
        }
    );
}

#[test]
fn gre_tunnel_without_checksum() {
    let (_, d) = dest(change(
        "-a -t 10.1.1.1:80 -r 10.2.2.5 -i --tun-type gre --tun-nocsum",
    ));
    assert_eq!(
        d.forward,
        Forward::Tunnel {
            kind: TunnelType::Gre,
            port: 0,
            flags: TunnelFlags::empty()
        }
    );
}

#[test]
fn gue_tunnel_with_remote_checksum() {
    let (_, d) = dest(change(
        "-a -t 1.1.1.1:80 -r 10.0.0.1 -i --tun-type gue --tun-port 1 --tun-remcsum",
    ));
    assert!(matches!(d.forward, Forward::Tunnel { flags, .. } if flags == TunnelFlags::REMCSUM));
}

#[test]
fn tunnelling_allows_another_address_family() {
    let (_, d) = dest(change("-a -t 1.2.3.4:80 -r 2001:db8::1 -i"));
    assert_eq!(d.addr, ip("2001:db8::1"));
}

#[test]
fn destination_rules() {
    usage(
        "-a -t 1.2.3.4:80 -r [::1]:80 -m",
        "Different address family is allowed only for tunneling servers",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 --tun-type gue",
        "Tunnel options conflict with forward method",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -m --tun-csum",
        "Tunnel options conflict with forward method",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-type gue",
        "You need to supply the 'tun-port' option for the 'gue' tunnel type",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-type ipip --tun-port 5",
        "Illegal 'tun-port' option with the 'ipip' tunnel type",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-port 5",
        "Illegal 'tun-port' option with the 'ipip' tunnel type",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-type gue --tun-port 1 --tun-csum --tun-remcsum",
        "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-type gre --tun-remcsum",
        "Illegal 'tun-remcsum' option with the 'gre' tunnel type",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.0.9 -i --tun-type foo",
        "illegal tunnel type specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.1.1 -i --tun-type gue --tun-port 65536",
        "illegal tunnel port specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.1.1 -i --tun-type gue --tun-port 0",
        "illegal tunnel port specified",
    );
    usage(
        "-a -t 1.2.3.4:80 -r 10.0.2.1 -i --tun-type gue --tun-port 1 --tun-nocsum --tun-nocsum",
        "multiple 'tun-nocsum' options specified",
    );
}
