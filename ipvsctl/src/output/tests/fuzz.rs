//! Randomized tables: every formatter is total, and valid tables round-trip through JSON.

use super::*;

/// A small deterministic generator, so the randomized tests need no crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn random_addr(r: &mut Lcg, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::from((u128::from(r.next()) << 64 | u128::from(r.next())).to_be_bytes())
    } else {
        IpAddr::from((r.next() as u32).to_be_bytes())
    }
}

fn random_stats(r: &mut Lcg) -> Stats {
    let mut n = || match r.below(3) {
        0 => 0,
        1 => r.below(1000),
        _ => r.next() << r.below(12),
    };
    Stats {
        conns: n(),
        in_packets: n(),
        out_packets: n(),
        in_bytes: n(),
        out_bytes: n(),
        cps: n(),
        in_pps: n(),
        out_pps: n(),
        in_bps: n(),
        out_bps: n(),
    }
}

/// A random table. With `valid`, only what ipvsadm could create (so that the
/// JSON save document reads back); otherwise anything the types can hold.
fn random_state(r: &mut Lcg, valid: bool) -> Vec<VirtualServer> {
    let scheds = ["rr", "wlc", "sh", "mh", "lblcr", "x"];
    (0..r.below(6))
        .map(|_| {
            let v6 = r.below(2) == 0;
            let key = match r.below(5) {
                0 => ServiceKey::fwmark(
                    (r.next() as u32).max(1),
                    if v6 { Family::Inet6 } else { Family::Inet },
                ),
                1 if !valid => ServiceKey::Addr {
                    protocol: ipvs::Protocol::Other(r.below(300) as u16),
                    addr: random_addr(r, v6),
                    port: r.next() as u16,
                },
                n => ServiceKey::Addr {
                    protocol: [
                        ipvs::Protocol::Tcp,
                        ipvs::Protocol::Udp,
                        ipvs::Protocol::Sctp,
                    ][(n % 3) as usize],
                    addr: random_addr(r, v6),
                    port: r.next() as u16,
                },
            };
            let mut svc = service(key, r.pick(&scheds));
            if r.below(2) == 0 || (valid && matches!(key, ServiceKey::Addr { port: 0, .. })) {
                svc = svc.with_persistence(r.below(100_000) as u32 + 1);
                if r.below(2) == 0 {
                    svc.netmask = if key.family() == Family::Inet {
                        Netmask::V4(std::net::Ipv4Addr::from(r.next() as u32))
                    } else {
                        Netmask::V6(r.below(128) as u8 + 1)
                    };
                }
            }
            if valid {
                // Any of the three scheduler flags: each has a word for every scheduler.
                svc.flags |= ServiceFlags::from_bits_retain((r.below(8) as u32) << 3);
                let udp = matches!(
                    key,
                    ServiceKey::Addr {
                        protocol: ipvs::Protocol::Udp,
                        ..
                    }
                );
                if (key.is_fwmark() || udp) && r.below(2) == 0 {
                    svc.flags |= ServiceFlags::ONEPACKET;
                }
            } else {
                svc.flags = ServiceFlags::from_bits_retain(r.next() as u32);
                svc.timeout = r.next() as u32;
            }
            if r.below(3) == 0 {
                svc.persistence_engine = Some("sip".into());
            }
            let dests = (0..r.below(5))
                .map(|_| {
                    let tunnel = r.below(3) == 0;
                    let dv6 = if tunnel || !valid {
                        r.below(2) == 0
                    } else {
                        key.family() == Family::Inet6
                    };
                    let fwd = if tunnel {
                        let kind = r.pick(&[TunnelType::Ipip, TunnelType::Gue, TunnelType::Gre]);
                        let (port, flags) = match kind {
                            TunnelType::Gue => (
                                r.next() as u16 | 1,
                                r.pick(&[
                                    TunnelFlags::empty(),
                                    TunnelFlags::CSUM,
                                    TunnelFlags::REMCSUM,
                                ]),
                            ),
                            TunnelType::Gre => {
                                (0, r.pick(&[TunnelFlags::empty(), TunnelFlags::CSUM]))
                            }
                            _ => (0, TunnelFlags::empty()),
                        };
                        let kind = if valid {
                            kind
                        } else {
                            r.pick(&[kind, TunnelType::Other(7)])
                        };
                        Forward::Tunnel { kind, port, flags }
                    } else if valid {
                        r.pick(&[
                            Forward::Masquerade,
                            Forward::DirectRoute,
                            Forward::Local,
                            Forward::Bypass,
                        ])
                    } else {
                        Forward::Other {
                            raw: r.below(8) as u32,
                        }
                    };
                    let mut d =
                        Destination::new(random_addr(r, dv6), r.next() as u16).with_forward(fwd);
                    if let ServiceKey::Addr { port, .. } = key {
                        if valid && (tunnel || fwd == Forward::DirectRoute) {
                            d.port = port;
                        }
                    }
                    d.weight = r.below(70_000) as u32;
                    d.upper_threshold = r.below(1000) as u32;
                    d.lower_threshold = if valid {
                        d.upper_threshold / 2
                    } else {
                        r.next() as u32
                    };
                    DestinationEntry {
                        destination: d,
                        active_conns: r.next() as u32,
                        inactive_conns: r.next() as u32,
                        persistent_conns: r.next() as u32,
                        stats: random_stats(r),
                    }
                })
                .collect();
            let st = random_stats(r);
            vs(svc, st, dests)
        })
        .collect()
}

#[test]
fn random_tables_never_panic_and_keep_every_entry() {
    let mut r = Lcg(0x1234_5678);
    for _ in 0..300 {
        let state = random_state(&mut r, false);
        let n_dests: usize = state.iter().map(|v| v.destinations.len()).sum();
        for mode in [
            ListMode::Default,
            ListMode::Stats,
            ListMode::Rate,
            ListMode::Thresholds,
            ListMode::PersistentConn,
            ListMode::TunInfo,
        ] {
            for (numeric, exact, sort) in [(true, false, true), (false, true, false)] {
                let opts = ListOptions {
                    mode,
                    numeric,
                    exact,
                    sort,
                };
                let text = list_text_with(&INFO, &state, &opts, &FakeNames::new());
                assert_eq!(text.lines().count(), 3 + state.len() + n_dests);
            }
        }
        let saved = save_text_with(&state, false, true, &FakeNames::new());
        assert_eq!(saved.lines().count(), state.len() + n_dests);
        let listed: serde_json::Value =
            serde_json::from_str(&list_json(&INFO, &state, &ListOptions::default())).unwrap();
        assert_eq!(listed["services"].as_array().unwrap().len(), state.len());
        // Odd values may be refused, but never make the parser panic.
        let _ = parse_save_json(&save_json(&state));
    }
}

#[test]
fn random_valid_tables_round_trip_through_save_json() {
    let mut r = Lcg(42);
    for _ in 0..300 {
        let state = random_state(&mut r, true);
        let text = save_json(&state);
        let parsed = parse_save_json(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(parsed, config_of(&state));
    }
}
