//! What formatting a big listing costs in user space, without a kernel: 20,000 TCP services
//! with 5 masquerading destinations each (the benchmark's `20k` set, VIPs varying in their low
//! byte), formatted as `-Ln`, `-Ln --stats`, `-S -n`, `-Ln --json` and `-S --json` into memory.
//!
//!     cargo run --release -p ipvsctl --example format_cost [-- WHAT [SERVICES DESTS]]
//!     valgrind --tool=callgrind target/release/examples/format_cost ln
//!     valgrind --tool=callgrind --toggle-collect='ipvsctl::output::json::list_json*' \
//!         target/release/examples/format_cost json 5000 5
//!
//! The last counts the instructions of the JSON formatting alone (BENCHMARKS.md gives the
//! figures, before and after `output/json_ser.rs`).
//!
//! WHAT is one of `ln`, `stats`, `save`, `json`, `save-json`, `all` (the default). Prints the
//! bytes each made, so that a run can be checked against another.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use ipvs::{
    Destination, DestinationEntry, Forward, Info, Service, ServiceEntry, ServiceKey, Stats,
    VirtualServer,
};
use ipvsctl::output::{self, ListMode, ListOptions};

fn table(services: u32, dests: u32) -> Vec<VirtualServer> {
    (0..services)
        .map(|i| {
            // 10.a.1.b: the low byte varies, as the benchmark's VIPs do.
            let vip = Ipv4Addr::new(10, (i / 250) as u8, 1, (i % 250) as u8 + 1);
            let key = ServiceKey::tcp(IpAddr::V4(vip), 80);
            let entry = ServiceEntry {
                service: Service::new(key).with_scheduler("wrr"),
                stats: Stats {
                    conns: u64::from(i),
                    in_packets: u64::from(i) * 7,
                    ..Stats::default()
                },
            };
            let destinations = (0..dests)
                .rev()
                .map(|j| {
                    let n = u32::from(Ipv4Addr::new(172, 16, 0, 0)) + i * dests + j + 1;
                    DestinationEntry {
                        destination: Destination::new(IpAddr::V4(Ipv4Addr::from(n)), 8080)
                            .with_forward(Forward::Masquerade)
                            .with_weight(j + 1),
                        active_conns: j,
                        inactive_conns: i % 3,
                        persistent_conns: 0,
                        stats: Stats {
                            in_bytes: u64::from(n) * 1000,
                            ..Stats::default()
                        },
                    }
                })
                .collect();
            VirtualServer {
                entry,
                destinations,
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().map_or("all", String::as_str);
    let services = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let dests = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let servers = table(services, dests);
    let info = Info {
        version: 0x010201,
        conn_tab_size: 4096,
    };
    let numeric = ListOptions {
        numeric: true,
        ..ListOptions::default()
    };
    let stats = ListOptions {
        mode: ListMode::Stats,
        ..numeric
    };
    let run = |name: &str, f: &dyn Fn() -> String| {
        if what == name || what == "all" {
            let start = Instant::now();
            let text = f();
            let sum = text
                .bytes()
                .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            println!(
                "{name}: {} bytes, hash {sum:016x}, {:?}",
                text.len(),
                start.elapsed()
            );
        }
    };
    run("ln", &|| output::list_text(&info, &servers, &numeric));
    run("stats", &|| output::list_text(&info, &servers, &stats));
    run("save", &|| output::save_text(&servers, true, true));
    run("json", &|| output::list_json(&info, &servers, &numeric));
    run("save-json", &|| output::save_json(&servers));
}
