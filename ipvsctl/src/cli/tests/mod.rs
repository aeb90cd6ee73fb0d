//! Parser tests: what each command line becomes, and ipvsadm's message and
//! exit code for each mistake (checked against ipvsadm 1.31 on Debian 12),
//! one file per concern; the helpers they share are here.

mod commands;
mod destinations;
mod errors;
mod globals;
mod services;

use std::net::IpAddr;

use ipvs::{Change, Destination, Service, ServiceKey};

use super::{parse, Command, Context, Failure, Invocation, ListRequest};

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn ok(line: &str) -> Invocation {
    parse("ipvsctl", &args(line), Context::CommandLine)
        .unwrap_or_else(|f| panic!("{line:?}: {}", f.message))
}

fn cmd(line: &str) -> Command {
    ok(line).command
}

fn change(line: &str) -> Change {
    match cmd(line) {
        Command::Change(c) => c,
        other => panic!("{line:?} gave {other:?}"),
    }
}

fn fail(line: &str) -> Failure {
    match parse("ipvsctl", &args(line), Context::CommandLine) {
        Ok(inv) => panic!("{line:?} parsed: {inv:?}"),
        Err(f) => f,
    }
}

/// `line` fails with exit 2 and exactly `message`.
fn usage(line: &str, message: &str) {
    let f = fail(line);
    assert_eq!((f.code, f.message.as_str()), (2, message), "{line:?}");
}

/// `line` fails with exit 255 and exactly `message`.
fn popt(line: &str, message: &str) {
    let f = fail(line);
    assert_eq!((f.code, f.message.as_str()), (255, message), "{line:?}");
}

const TRY: &str = "Try `ipvsctl -h' or 'ipvsctl --help' for more information.";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(a: &str, port: u16) -> ServiceKey {
    ServiceKey::tcp(ip(a), port)
}

fn service(c: Change) -> Service {
    match c {
        Change::AddService(s) | Change::EditService(s) => s,
        other => panic!("not a service: {other:?}"),
    }
}

fn dest(c: Change) -> (ServiceKey, Destination) {
    match c {
        Change::AddDestination {
            service,
            destination,
        }
        | Change::EditDestination {
            service,
            destination,
        } => (service, destination),
        other => panic!("not a destination: {other:?}"),
    }
}

fn list(line: &str) -> ListRequest {
    match cmd(line) {
        Command::List(r) => r,
        other => panic!("{line:?} gave {other:?}"),
    }
}
