//! What `ipvsctl apply` costs in user space, without a kernel: the benchmark's text
//! (tests/perf/gen.awk: N TCP services, wrr, with D masquerading destinations each) applied
//! onto the equal table (the default) or onto an empty one, step by step as `apply` takes them:
//! the parse and its checks, the read of the table (the kernel's replies made here, as kernel
//! 6.1 sends them, both statistics nests, services in a shuffled order as the kernel's hash
//! lists them, and decoded as `Ipvs::read_state` decodes them), the plan, the lines it prints.
//!
//!     cargo build --release -p ipvsctl --example apply_cost
//!     valgrind --tool=callgrind target/release/examples/apply_cost 2000 4 [equal|empty]
//!
//! Not measured: the process start, the socket and the kernel's side of the read (its
//! round trips), the changes sent. Prints the counts, so that a run can be checked against
//! another.

use std::fmt::Write;

#[path = "common/replies.rs"]
mod replies;
use ipvsctl::apply_steps;

fn ip(n: u32) -> String {
    std::net::Ipv4Addr::from(n).to_string()
}

/// A `NEW_SERVICE` reply of the service with this VIP (TCP port 80, wrr).
fn service_reply(vip: u32) -> Vec<u8> {
    replies::service(vip, 0, "wrr", u64::from(vip & 0xff))
}

/// A `NEW_DEST` reply of a masquerading destination on port 8080, weight 1.
fn dest_reply(rip: u32) -> Vec<u8> {
    replies::dest(rip, 8080, 1, u64::from(rip & 0xff))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let services = args
        .next()
        .and_then(|a| a.parse::<u32>().ok())
        .unwrap_or(2000);
    let dests = args.next().and_then(|a| a.parse::<u32>().ok()).unwrap_or(4);
    let equal = args.next().as_deref() != Some("empty");
    let (vip0, rip0) = (0x0a00_0000u32, 0xac10_0000u32);
    let mut text = String::new();
    for i in 0..services {
        let v = format!("{}:80", ip(vip0 + i + 1));
        writeln!(text, "-A -t {v} -s wrr").unwrap();
        for j in 0..dests {
            writeln!(
                text,
                "-a -t {v} -r {}:8080 -m -w 1",
                ip(rip0 + i * dests + j + 1)
            )
            .unwrap();
        }
    }
    // The kernel's replies: the services in a shuffled order (a step coprime to any count
    // up to 7,918), each service's destinations in order.
    let (mut service_replies, mut dest_replies) = (Vec::new(), Vec::new());
    if equal {
        for k in 0..services {
            let i = (u64::from(k) * 7919 % u64::from(services)) as u32;
            service_replies.push(service_reply(vip0 + i + 1));
            dest_replies.push(
                (0..dests)
                    .map(|j| dest_reply(rip0 + i * dests + j + 1))
                    .collect::<Vec<_>>(),
            );
        }
    }

    // What `apply` does, in its order.
    let mut desired = apply_steps::parse_desired(&text).expect("valid");
    let current =
        ipvs::replay::read_state(&service_replies, &dest_replies, &desired.read_options())
            .expect("decodes");
    let plan = desired
        .plan(&current, &ipvs::PlanOptions::default())
        .expect("plans");
    let mut lines = Counted(0);
    apply_steps::write_listing(&plan, false, &mut lines).expect("counted");
    println!(
        "{} services read, {} changes, {} bytes of lines",
        current.services.len(),
        plan.len(),
        lines.0
    );
}

/// Where the lines go: counted, as stdout would take them (a few kilobytes at a time).
struct Counted(usize);

impl std::io::Write for Counted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
