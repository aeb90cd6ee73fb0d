//! How long `ipvs::plan` takes for 20,000 services x 5 destinations, onto an empty table and
//! onto an equal one (the issue's "well under a second natively"). No kernel needed:
//!
//! ```sh
//! cargo run --release -p ipvs-rs --example plan_time
//! ```

use std::net::IpAddr;
use std::time::Instant;

use ipvs::{plan, Destination, Forward, PlanOptions, Service, ServiceKey, ServiceState, State};

fn main() {
    let mut services = Vec::with_capacity(20_000);
    for i in 0..20_000u32 {
        let vip = IpAddr::from([10, (i >> 8) as u8, i as u8, 1]);
        let mut ss = ServiceState::new(Service::new(ServiceKey::tcp(vip, 80)));
        for j in 0..5u8 {
            ss.destinations.push(
                Destination::new(IpAddr::from([192, 168, j, 1]), 8080 + u16::from(j))
                    .with_forward(Forward::Masquerade),
            );
        }
        services.push(ss);
    }
    let big = State {
        services,
        timeouts: None,
        ..Default::default()
    };
    let empty = State::default();
    let options = PlanOptions::default();
    // The best of five runs of each, so that a busy machine counts less.
    let best = |current: &State| {
        (0..5)
            .map(|_| {
                let start = Instant::now();
                let p = plan(current, &big, &options).expect("a valid state");
                (start.elapsed(), p.len())
            })
            .min()
            .unwrap_or_default()
    };
    let (t, n) = best(&empty);
    println!("20,000 services x 5 destinations onto an empty table: {n} changes in {t:?}");
    let (t, n) = best(&big);
    println!("20,000 services x 5 destinations onto an equal table: {n} changes in {t:?}");
}
