//! What parsing `-R` input costs in user space, without a kernel: the benchmark's text
//! (tests/perf/gen.awk: N TCP services, wrr, with D masquerading destinations each), read
//! as `-R` reads it: `restore::parse_input`, its split of the lines into words and
//! `cli::parse_line` of each.
//!
//!     cargo build --release -p ipvsctl --example restore_cost
//!     valgrind --tool=callgrind target/release/examples/restore_cost 2000 4
//!     valgrind --tool=callgrind target/release/examples/restore_cost 2000 4 apply
//!
//! With `apply`, also what `ipvsctl apply` adds in user space: the state, its checks, the plan
//! onto an empty and onto an equal table, and the lines it prints.
//!
//! Prints the lines and the changes parsed, so that a run can be checked against another.

use std::fmt::Write;

use ipvs::{Change, PlanOptions, ServiceState, State};
use ipvsctl::restore_steps::{self, Step};

fn ip(n: u32) -> String {
    std::net::Ipv4Addr::from(n).to_string()
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u32>().ok());
    let services = args.next().flatten().unwrap_or(2000);
    let dests = args.next().flatten().unwrap_or(4);
    let mut text = String::new();
    let rip = 0xac10_0000u32;
    for i in 0..services {
        let v = format!("{}:80", ip(0x0a00_0000 + i + 1));
        writeln!(text, "-A -t {v} -s wrr").unwrap();
        for j in 0..dests {
            writeln!(
                text,
                "-a -t {v} -r {}:8080 -m -w 1",
                ip(rip + i * dests + j + 1)
            )
            .unwrap();
        }
    }
    let steps = match restore_steps::parse_input("ipvsctl", &text) {
        Ok(steps) => steps,
        Err(f) => panic!("{}", f.message),
    };
    let (mut lines, mut changes) = (0, 0);
    let mut all = Vec::new();
    for step in steps {
        match step {
            Step::Changes {
                lines: l,
                changes: c,
            } => {
                lines += l.len();
                changes += c.len();
                all.extend(c);
            }
            Step::Command { .. } => lines += 1,
        }
    }
    println!("{lines} lines, {changes} changes");
    if std::env::args().nth(3).as_deref() == Some("apply") {
        apply_cost(&all);
    }
}

/// What `apply` does in user space besides the parse: the state, its checks, the plan onto an
/// empty and onto an equal table, and the changes' lines.
fn apply_cost(all: &[Change]) {
    let mut state = State::default();
    for c in all {
        match c {
            Change::AddService(s) => state.services.push(ServiceState::new(s.clone())),
            Change::AddDestination { destination, .. } => {
                if let Some(s) = state.services.last_mut() {
                    s.destinations.push(*destination);
                }
            }
            _ => {}
        }
    }
    state.normalize();
    state.validate().expect("valid");
    let onto_empty = ipvs::plan(&State::default(), &state, &PlanOptions::default()).unwrap();
    // As `apply` writes them.
    let mut text = String::with_capacity(onto_empty.len() * 64);
    for change in &onto_empty.changes {
        writeln!(text, "{change}").unwrap();
    }
    let onto_equal = ipvs::plan(&state, &state, &PlanOptions::default()).unwrap();
    println!(
        "onto empty: {} changes, {} bytes; onto equal: {}",
        onto_empty.len(),
        text.len(),
        onto_equal.len()
    );
}
