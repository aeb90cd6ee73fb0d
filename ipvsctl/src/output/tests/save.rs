//! `-S`: the rules ipvsadm's save writes.

use super::*;

#[test]
fn save_matches_ipvsadm_captures() {
    for (text, what, numeric) in [
        (fixture!("listings/save_numeric"), "-S -n", true),
        // Names are not cut to the listing's columns in rules.
        (fixture!("listings/save_named"), "-S", false),
    ] {
        assert!(text.starts_with(&format!("# ipvsadm {what}\n")), "{what}");
        let expected = fixture_output(text);
        assert!(expected.lines().count() > 20, "{what}");
        let got = save_text_with(&fixture_state(text), numeric, true, &FakeNames::new());
        assert_eq!(got, expected, "ipvsadm {what}");
    }
}

#[test]
fn save_odd_values_print_as_ipvsadm_would() {
    let mut flag3 = service(ServiceKey::tcp(ip("10.0.0.1"), 80), "sh");
    flag3.flags |= ServiceFlags::SCHED3;
    let mut wrr = service(ServiceKey::udp(ip("10.0.0.2"), 0), "wrr").with_persistence(360);
    wrr.flags |= ServiceFlags::SCHED1 | ServiceFlags::SCHED3 | ServiceFlags::ONEPACKET;
    let other_proto = service(
        ServiceKey::Addr {
            protocol: ipvs::Protocol::Other(33),
            addr: ip("10.0.0.3"),
            port: 9,
        },
        "rr",
    );
    let state = vec![
        vs(
            flag3,
            Stats::default(),
            vec![
                dest(
                    Destination::new(ip("10.9.0.1"), 80).with_forward(Forward::Bypass),
                    0,
                    Stats::default(),
                ),
                dest(
                    Destination::new(ip("10.9.0.2"), 80).with_forward(Forward::Local),
                    0,
                    Stats::default(),
                ),
                dest(
                    Destination::new(ip("2001:db8::9"), 80).with_forward(Forward::Tunnel {
                        kind: TunnelType::Other(9),
                        port: 0,
                        flags: TunnelFlags::empty(),
                    }),
                    0,
                    Stats::default(),
                ),
            ],
        ),
        vs(wrr, Stats::default(), vec![]),
        vs(other_proto, Stats::default(), vec![]),
        vs(
            service(ServiceKey::fwmark(u32::MAX, Family::Inet), "rr"),
            Stats::default(),
            vec![],
        ),
    ];
    let got = save_text_with(&state, true, true, &NumericOnly);
    assert_eq!(
        got,
        lines(&[
            // 0 - 0xffffffff wraps to 1 in ipvsadm's comparator, so this
            // fwmark service sorts before the address services.
            "-A -f -1 -s rr",
            // Bits without a name for sh leave "-b " empty, as in ipvsadm.
            "-A -t 10.0.0.1:80 -s sh -b ",
            "-a -t 10.0.0.1:80 -r 10.9.0.1:80 (null) -w 1",
            "-a -t 10.0.0.1:80 -r 10.9.0.2:80 -g -w 1",
            "-a -t 10.0.0.1:80 -r [2001:db8::9]:80 -i -w 1",
            "-A -u 10.0.0.2:0 -s wrr -p 360 -o -b flag-1,flag-3",
            "-A --xxx-service 10.0.0.3:9 -s rr",
        ])
    );
    let listed = list_service_text_with(&state[0], &numeric(ListMode::TunInfo), &NumericOnly);
    assert_eq!(
        listed,
        lines(&[
            "Prot LocalAddress:Port Scheduler Flags",
            "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn",
            "TCP  10.0.0.1:80 sh ()",
            "  -> 10.9.0.1:80                  (null)  n/a           1      0          0         ",
            "  -> 10.9.0.2:80                  Local   n/a           1      0          0         ",
            "  -> [2001:db8::9]:80             Tunnel  n/a           1      0          0         ",
        ])
    );
    let listed = list_text_with(&INFO, &state, &numeric(ListMode::Default), &NumericOnly);
    let services: Vec<&str> = listed
        .lines()
        .skip(3)
        .filter(|l| !l.starts_with("  ->"))
        .collect();
    assert_eq!(
        services,
        vec![
            "FWM  -1 rr",
            "TCP  10.0.0.1:80 sh ()",
            "UDP  10.0.0.2:0 wrr (flag-1,flag-3) persistent 360 ops",
            "?    10.0.0.3:9 rr",
        ]
    );
}

/// `-S -n` and the library's ipvsadm lines for changes (what `apply --dry-run` prints) spell
/// the same rules: each `-A` line is the service's `Change::AddService`, each `-a` line the
/// destination's `Change::AddDestination` (without thresholds, which `-S` does not save), on
/// ipvsadm's own captured table and on the odd values above.
#[test]
fn save_lines_are_the_changes_that_add_the_table() {
    let captured = fixture_state(fixture!("listings/save_numeric"));
    let mut odd = service(ServiceKey::udp(ip("10.0.0.2"), 0), "wrr").with_persistence(360);
    odd.flags |= ServiceFlags::SCHED1 | ServiceFlags::SCHED3 | ServiceFlags::ONEPACKET;
    odd.netmask = Netmask::V4("255.255.0.0".parse().unwrap());
    odd.persistence_engine = Some("sip".into());
    let gue = Destination::new(ip("2001:db8::9"), 80).with_forward(Forward::Tunnel {
        kind: TunnelType::Gue,
        port: 6080,
        flags: TunnelFlags::REMCSUM,
    });
    let made = vec![vs(
        odd,
        Stats::default(),
        vec![
            dest(gue, 0, Stats::default()),
            dest(
                Destination::new(ip("10.9.0.1"), 80).with_forward(Forward::Bypass),
                0,
                Stats::default(),
            ),
        ],
    )];
    for state in [captured, made] {
        let saved = save_text_with(&state, true, false, &NumericOnly);
        let mut changes = String::new();
        for v in &state {
            let key = v.entry.service.key;
            changes += &format!("{}\n", ipvs::Change::AddService(v.entry.service.clone()));
            for d in &v.destinations {
                let destination = Destination {
                    upper_threshold: 0,
                    lower_threshold: 0,
                    ..d.destination
                };
                let c = ipvs::Change::AddDestination {
                    service: key,
                    destination,
                };
                changes += &format!("{c}\n");
            }
        }
        assert!(saved.lines().count() > 2, "{saved}");
        assert_eq!(changes, saved);
    }
}
