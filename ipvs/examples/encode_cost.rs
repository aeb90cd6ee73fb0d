//! Instructions per change of what `Ipvs::apply` does before a send: write each change into
//! the batch buffer (N services x 4 destinations, all masquerading). Count them with callgrind:
//!
//! ```sh
//! cargo build --release -p ipvs-rs --example encode_cost
//! valgrind --tool=callgrind --toggle-collect='ipvs::replay::encode_into' \
//!     target/release/examples/encode_cost 20000
//! ```
//!
//! 100,000 changes: 334M instructions when each change was an `IpvsMessage` tree first, 116M
//! written directly (`ipvs_sys::PayloadWriter`). 2,000 x 4 (10,000 changes): 11.82M, then 4.89M
//! once each attribute's encoding is inlined where its variant is known and a plain value's drop
//! is skipped (`wire::Plain`).

use std::net::IpAddr;

use ipvs::{Change, Destination, Forward, Service, ServiceKey};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let mut changes = Vec::new();
    for i in 0..n {
        let vip = IpAddr::from([10, (i >> 8) as u8, i as u8, 1]);
        let key = ServiceKey::tcp(vip, 80);
        changes.push(Change::AddService(Service::new(key)));
        for j in 0..4u8 {
            changes.push(Change::AddDestination {
                service: key,
                destination: Destination::new(IpAddr::from([192, 168, j, 1]), 8080)
                    .with_forward(Forward::Masquerade),
            });
        }
    }
    let mut wire = Vec::with_capacity(64 << 10);
    let mut total = 0;
    for c in &changes {
        if wire.len() > 32 << 10 {
            total += wire.len();
            wire.clear();
        }
        ipvs::replay::encode_into(&mut wire, c);
    }
    total += wire.len();
    println!("{} changes, {} bytes", changes.len(), total);
}
