//! The lecture's NAT example, programmed with the `ipvs` library: one virtual service with
//! round robin over real servers that the director reaches by masquerading (LVS/NAT).
//!
//! ```text
//! ipvs-demo [setup] [VIP:PORT [SCHEDULER [REAL:PORT]...]]
//!     adds the service and its real servers, then prints them as the kernel has them
//!     (defaults: 10.0.0.100:80 rr 192.168.10.11:80 192.168.10.12:80, as in tests/vm/demo.sh)
//! ipvs-demo stats [VIP:PORT]
//!     prints the service's and each real server's counters, and the service's connections
//! ipvs-demo delete [VIP:PORT]
//!     deletes the service
//! ```
//!
//! It works on the network namespace it runs in (`ip netns exec director ipvs-demo ...`).
//! Exit status: 0 on success, 1 when the kernel refuses, 2 on a usage error.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ipvs::{Destination, Forward, Ipvs, Service, ServiceKey, Stats, VirtualServer};

const DEFAULT_VIP: &str = "10.0.0.100:80";
const DEFAULT_SCHEDULER: &str = "rr";
const DEFAULT_REAL_SERVERS: [&str; 2] = ["192.168.10.11:80", "192.168.10.12:80"];

const USAGE: &str = "usage: ipvs-demo [setup] [VIP:PORT [SCHEDULER [REAL:PORT]...]]
       ipvs-demo stats [VIP:PORT]
       ipvs-demo delete [VIP:PORT]";

/// Why the demo stopped.
enum Failure {
    /// Bad arguments: exit 2.
    Usage(String),
    /// The kernel refused, or IPVS is not there: exit 1.
    Refused(String),
}

impl From<ipvs::Error> for Failure {
    fn from(e: ipvs::Error) -> Self {
        Failure::Refused(e.to_string())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("ipvs-demo: {e}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Refused(e)) => {
            eprintln!("ipvs-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), Failure> {
    let (command, rest) = match args.first().map(String::as_str) {
        Some(c @ ("setup" | "stats" | "delete")) => (c, &args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return Ok(());
        }
        _ => ("setup", args),
    };
    if command != "setup" && rest.len() > 1 {
        return Err(Failure::Usage(format!("too many arguments for {command}")));
    }
    let vip = parse_addr(rest.first().map_or(DEFAULT_VIP, String::as_str))?;
    let key = ServiceKey::tcp(vip.ip(), vip.port());
    match command {
        "setup" => setup(key, rest),
        "stats" => stats(&Ipvs::new()?, &key),
        _ => Ok(Ipvs::new()?.delete_service(&key)?),
    }
}

fn parse_addr(s: &str) -> Result<SocketAddr, Failure> {
    s.parse()
        .map_err(|_| Failure::Usage(format!("{s:?} is not an ADDRESS:PORT")))
}

/// Adds the service and its real servers, then prints what the kernel has.
fn setup(key: ServiceKey, args: &[String]) -> Result<(), Failure> {
    let scheduler = args.get(1).map_or(DEFAULT_SCHEDULER, String::as_str);
    let reals: Result<Vec<SocketAddr>, Failure> = match args.get(2..) {
        Some(reals) if !reals.is_empty() => reals.iter().map(|a| parse_addr(a)).collect(),
        _ => DEFAULT_REAL_SERVERS.iter().map(|a| parse_addr(a)).collect(),
    };
    let reals = reals?;
    let ipvs = Ipvs::new()?;
    ipvs.add_service(&Service::new(key).with_scheduler(scheduler))?;
    for real in &reals {
        let dest = Destination::new(real.ip(), real.port()).with_forward(Forward::Masquerade);
        ipvs.add_destination(&key, &dest)?;
    }
    let vs = read(&ipvs, &key)?;
    println!(
        "IPVS service {}, scheduler {}, {} real servers (masquerading):",
        addr(&key),
        vs.entry.service.scheduler,
        vs.destinations.len()
    );
    print_service(&vs, false);
    Ok(())
}

/// Prints the counters of the service and of each real server.
fn stats(ipvs: &Ipvs, key: &ServiceKey) -> Result<(), Failure> {
    // Kernels before 6.2 fold their per-CPU counters into what they report every 2 seconds:
    // read until two reads that far apart agree, so the last requests are counted.
    let mut vs = read(ipvs, key)?;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(2100));
        let again = read(ipvs, key)?;
        let settled = counters(&again.entry.stats) == counters(&vs.entry.stats);
        vs = again;
        if settled {
            break;
        }
    }
    println!("statistics of {}:", addr(key));
    print_service(&vs, true);
    let ServiceKey::Addr {
        addr: vip, port, ..
    } = *key
    else {
        return Ok(());
    };
    let mut conns = Vec::new();
    for c in ipvs.connections()? {
        let c = c?;
        if (c.virtual_addr, c.virtual_port) == (vip, port) {
            conns.push(c);
        }
    }
    println!("{} connections in the table:", conns.len());
    for c in conns {
        println!(
            "  {} {} -> {} -> {} {}, expires in {} s",
            c.protocol,
            SocketAddr::new(c.client_addr, c.client_port),
            SocketAddr::new(c.virtual_addr, c.virtual_port),
            SocketAddr::new(c.dest_addr, c.dest_port),
            c.state,
            c.expires
        );
    }
    Ok(())
}

/// The service and its real servers (sorted by address; the kernel lists the newest first).
fn read(ipvs: &Ipvs, key: &ServiceKey) -> Result<VirtualServer, Failure> {
    let mut destinations = ipvs.destinations(key)?;
    destinations.sort_by_key(|d| (d.destination.addr, d.destination.port));
    Ok(VirtualServer {
        entry: ipvs
            .service(key)?
            .ok_or_else(|| Failure::Refused(format!("no service {key}")))?,
        destinations,
    })
}

fn addr(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => format!("{protocol} {}", SocketAddr::new(*addr, *port)),
        ServiceKey::Fwmark { fwmark, .. } => format!("fwmark {fwmark}"),
    }
}

fn counters(s: &Stats) -> [u64; 5] {
    [
        s.conns,
        s.in_packets,
        s.out_packets,
        s.in_bytes,
        s.out_bytes,
    ]
}

fn print_stats(s: &Stats) -> String {
    format!(
        "{} connections, {} packets in, {} packets out, {} bytes in, {} bytes out",
        s.conns, s.in_packets, s.out_packets, s.in_bytes, s.out_bytes
    )
}

fn print_service(vs: &VirtualServer, with_stats: bool) {
    let s = &vs.entry.service;
    if with_stats {
        println!("  {}: {}", addr(&s.key), print_stats(&vs.entry.stats));
    } else {
        println!("  {} {}", addr(&s.key), s.scheduler);
    }
    for d in &vs.destinations {
        let real = SocketAddr::new(d.destination.addr, d.destination.port);
        if with_stats {
            println!("    -> {real}: {}", print_stats(&d.stats));
        } else {
            println!(
                "    -> {real} {:?}, weight {}, {} active and {} inactive connections",
                d.destination.forward, d.destination.weight, d.active_conns, d.inactive_conns
            );
        }
    }
}
