//! Reading the JSON save document back: round trips, defaults, errors.

use super::*;

#[test]
fn save_json_round_trips() {
    let state = list_state();
    let text = save_json(&state);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v.get("version").is_none());
    assert!(v["services"][0].get("stats").is_none());
    assert!(v["services"][0]["destinations"][0]
        .get("active_conns")
        .is_none());
    let parsed = parse_save_json(&text).unwrap();
    assert_eq!(parsed, config_of(&state));
    // The listing document reads back the same.
    let listed = list_json(&INFO, &state, &ListOptions::default());
    assert_eq!(parse_save_json(&listed).unwrap(), config_of(&state));
}

#[test]
fn save_json_round_trips_odd_values() {
    let mut svc = service(ServiceKey::udp(ip("10.0.0.2"), 0), "wrr").with_persistence(7);
    svc.flags |= ServiceFlags::SCHED1
        | ServiceFlags::SCHED3
        | ServiceFlags::ONEPACKET
        | ServiceFlags::from_bits_retain(0x100);
    let mut mh = service(ServiceKey::fwmark(u32::MAX, Family::Inet6), "mh");
    mh.flags |= ServiceFlags::MH_FALLBACK | ServiceFlags::SCHED3;
    let other = service(
        ServiceKey::Addr {
            protocol: ipvs::Protocol::Other(33),
            addr: ip("::10.0.0.3"),
            port: 9,
        },
        "my-sched",
    );
    let remcsum = Forward::Tunnel {
        kind: TunnelType::Gue,
        port: 1,
        flags: TunnelFlags::REMCSUM,
    };
    let state = vec![
        vs(
            svc,
            Stats::default(),
            vec![
                dest(
                    Destination::new(ip("10.9.0.1"), 53).with_forward(Forward::Bypass),
                    0,
                    Stats::default(),
                ),
                dest(
                    Destination::new(ip("2001:db8::9"), 0)
                        .with_forward(remcsum)
                        .with_weight(65536),
                    0,
                    Stats::default(),
                ),
            ],
        ),
        vs(
            mh,
            Stats::default(),
            vec![dest(
                Destination::new(ip("2001:db8::1"), 8080).with_forward(Forward::Local),
                0,
                Stats::default(),
            )],
        ),
        vs(other, Stats::default(), vec![]),
    ];
    let text = save_json(&state);
    assert!(text.contains("\"0x00000100\""), "{text}");
    assert!(text.contains("\"::10.0.0.3\""), "{text}");
    assert_eq!(parse_save_json(&text).unwrap(), config_of(&state));
}

#[test]
fn parse_save_json_fills_ipvsadm_defaults() {
    let text = r#"{"services": [
        {"protocol": "tcp", "address": "192.0.2.1", "port": 80,
         "destinations": [{"address": "10.0.0.1", "port": 8080},
                          {"address": "10.0.0.2", "port": 8080, "forward": "masq"},
                          {"address": "10.0.0.3", "forward": "tunnel"}]},
        {"fwmark": 5, "flags": ["persistent"], "destinations": [{"address": "10.0.0.4"}]}
    ]}"#;
    let parsed = parse_save_json(text).unwrap();
    let key = ServiceKey::tcp(ip("192.0.2.1"), 80);
    assert_eq!(parsed.services[0].service, Service::new(key));
    assert_eq!(
        parsed.services[0].service.scheduler,
        Scheduler::WeightedLeastConnection
    );
    assert_eq!(
        parsed.services[0].destinations,
        vec![
            // Route: the service's port, as ipvsadm -g does.
            Destination::new(ip("10.0.0.1"), 80),
            Destination::new(ip("10.0.0.2"), 8080).with_forward(Forward::Masquerade),
            Destination::new(ip("10.0.0.3"), 80).with_forward(Forward::ipip()),
        ]
    );
    let fw = &parsed.services[1].service;
    assert_eq!(fw.key, ServiceKey::fwmark(5, Family::Inet));
    assert!(fw.is_persistent());
    assert_eq!(fw.timeout, 360);
    assert_eq!(fw.netmask, Netmask::full(Family::Inet));
    assert_eq!(
        parsed.services[1].destinations,
        vec![Destination::new(ip("10.0.0.4"), 0)]
    );
}

#[test]
fn parse_save_json_errors_name_the_bad_value() {
    let cases = [
        ("{", "invalid JSON"),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4", "port": 80, "wieght": 1}]}"#,
            "unknown field `wieght`",
        ),
        (
            r#"{"services": [{"protocol": "icmp", "address": "1.2.3.4", "port": 80}]}"#,
            "services[0].protocol: unknown protocol \"icmp\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3", "port": 80}]}"#,
            "services[0].address: invalid IP address \"1.2.3\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4"}]}"#,
            "services[0].port: port 0 needs a persistent service",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4", "port": 1, "flags": ["ops"]}]}"#,
            "services[0].flags: \"ops\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4", "port": 1, "flags": ["sh-port"]}]}"#,
            "services[0].flags: flag \"sh-port\" needs the sh scheduler",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4", "port": 1, "flags": ["fast"]}]}"#,
            "services[0].flags: unknown service flag \"fast\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "1.2.3.4", "port": 1, "netmask": "64"}]}"#,
            "services[0].netmask: invalid IPv4 netmask \"64\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "::1", "port": 1, "netmask": "129"}]}"#,
            "services[0].netmask: invalid IPv6 netmask \"129\"",
        ),
        (
            r#"{"services": [{"protocol": "tcp", "address": "::1", "port": 1, "family": "ipv4"}]}"#,
            "services[0].family: does not match",
        ),
        (
            r#"{"services": [{"fwmark": 0}]}"#,
            "services[0].fwmark: fwmark 0",
        ),
        (
            r#"{"services": [{"fwmark": 1, "address": "1.2.3.4"}]}"#,
            "services[0].fwmark: a fwmark service has no",
        ),
        (
            r#"{"services": [{"fwmark": 1, "family": "inet"}]}"#,
            "services[0].family: unknown address family \"inet\"",
        ),
        (
            r#"{"services": [{"fwmark": 1, "scheduler": "a-very-long-scheduler"}]}"#,
            "services[0].scheduler: invalid name",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "nat"}]}]}"#,
            "services[0].destinations[0].forward: unknown forwarding method \"nat\"",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "masq", "tunnel": {"type": "gre"}}]}]}"#,
            "services[0].destinations[0].tunnel: tunnel options need forward \"tunnel\"",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "tunnel", "tunnel": {"type": "gue"}}]}]}"#,
            "services[0].destinations[0].tunnel.port: a gue tunnel needs a port",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "tunnel", "tunnel": {"type": "gre", "flags": ["remcsum"]}}]}]}"#,
            "remcsum is for gue tunnels only",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "forward": "tunnel", "tunnel": {"type": "vxlan"}}]}]}"#,
            "unknown tunnel type \"vxlan\"",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "::1"}]}]}"#,
            "services[0].destinations[0].address: a different address family",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "lower_threshold": 5}]}]}"#,
            "services[0].destinations[0].lower_threshold: 5 is above upper_threshold 0",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "weight": 4294967295}]}]}"#,
            "services[0].destinations[0].weight: 4294967295 is above 2147483647",
        ),
        (
            r#"{"services": [{"fwmark": 1, "destinations": [{"address": "1.2.3.4", "port": 70000}]}]}"#,
            "invalid value: integer `70000`",
        ),
    ];
    for (text, want) in cases {
        let e = parse_save_json(text).expect_err(text);
        assert!(e.contains(want), "{text}\n  gave: {e}\n  want: {want}");
    }
}
