//! `ipvsctl`: a drop-in for ipvsadm 1.31 on top of the `ipvs` library, with
//! JSON output and network namespaces.
//!
//! The binary is thin: [`cli`] parses the arguments the way ipvsadm does
//! (every usage error is found before the kernel is touched), [`exec`] runs
//! the command, [`restore`] handles `-R`, and [`output`] formats everything.
//! Exit codes are ipvsadm's: 0, 1 (a listing failed), 2 (usage, or IPVS
//! cannot be opened) and 255 (the kernel refused a change, or a malformed
//! option). A closed stdout (`ipvsctl -L | head`) ends quietly with 0.

#![forbid(unsafe_code)]

mod apply;
mod cli;
mod drain;
mod exec;
mod exporter;
#[cfg(test)]
mod hostile_tests;
mod interrupt;
mod output;
mod restore;

use std::io::{self, Write};

fn main() {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let prog = args.first().map_or("ipvsctl", String::as_str);
    let rest = args.get(1..).unwrap_or_default();
    // `ipvsctl exporter ...`: not an ipvsadm command, so a word of its own.
    if rest.first().map(String::as_str) == Some("exporter") {
        std::process::exit(exporter::main(prog, &rest[1..]));
    }
    let sub = rest.first().map(String::as_str);
    let code = if matches!(sub, Some("apply" | "drain")) {
        // `ipvsctl apply|drain ...`: not ipvsadm commands (ipvsadm takes no such words).
        let mut term = exec::Term::new();
        let result = if sub == Some("apply") {
            apply::main(&rest[1..], &mut term)
        } else {
            drain::main(prog, &rest[1..], &mut term)
        };
        match result.and_then(|code| term.flush().map(|()| code)) {
            Ok(code) => code,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
            Err(e) => {
                let _ = writeln!(io::stderr().lock(), "{prog}: {e}");
                1
            }
        }
    } else {
        run(prog, rest)
    };
    std::process::exit(code);
}

fn run(prog: &str, rest: &[String]) -> i32 {
    match cli::parse(prog, rest, cli::Context::CommandLine) {
        Err(failure) => {
            let _ = writeln!(io::stderr().lock(), "{}", failure.message);
            failure.code
        }
        Ok(invocation) => {
            let mut term = exec::Term::new();
            let result = exec::run(&invocation, prog, &mut term)
                .and_then(|code| term.flush().map(|()| code));
            match result {
                Ok(code) => code,
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
                Err(e) => {
                    let _ = writeln!(io::stderr().lock(), "{prog}: {e}");
                    1
                }
            }
        }
    }
}
