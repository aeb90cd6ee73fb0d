//! `ipvsctl`: a drop-in for ipvsadm 1.31 on top of the `ipvs` library, with
//! JSON output, network namespaces, `apply`, `drain`, `conns` and a metrics exporter.
//!
//! The program is this library; its `main.rs` only calls [`main_with_args`].
//! Other programs (and the kernel tests) reuse its parts:
//!
//! * [`output`]: ipvsadm's text formats byte for byte (the listing of `-L`,
//!   the rules of `-S`, connections, timeouts, daemons) and the JSON documents,
//!   as pure functions from [`ipvs`] values to text.
//! * [`cli`]: ipvsadm's command line, parsed the way ipvsadm (popt) does, with
//!   every usage error found before the kernel is touched.
//! * [`main_with_args`]: the whole program, from the arguments to the exit code.
//!
//! Exit codes are ipvsadm's: 0, 1 (a listing failed), 2 (usage, or IPVS
//! cannot be opened) and 255 (the kernel refused a change, or a malformed
//! option). A closed stdout (`ipvsctl -L | head`) ends quietly with 0.
//!
//! ```no_run
//! // What `ipvsadm -S -n` prints, from the library's reading of the kernel.
//! let ipvs = ipvs::Ipvs::new()?;
//! let rules = ipvsctl::output::save_text(&ipvs.state()?, true, true);
//! print!("{rules}");
//! # Ok::<(), ipvs::Error>(())
//! ```

#![deny(unsafe_code)]

mod apply;
/// `apply`'s steps in user space (the parse, the plan, the lines it prints), for the cost
/// example `examples/apply_cost.rs`: not part of the interface.
#[doc(hidden)]
pub mod apply_steps {
    pub use crate::apply::{parse_desired, write_listing, Desired};
}
/// `-R`'s parse of its input (split and lines), for the cost example
/// `examples/restore_cost.rs`: not part of the interface.
#[doc(hidden)]
pub mod restore_steps {
    pub use crate::restore::{parse_input, Step};
}
mod args;
pub mod cli;
mod conns;
mod drain;
mod exec;
mod exporter;
mod healthd;
#[cfg(test)]
mod hostile_tests;
mod interrupt;
pub mod output;
mod privs;
mod restore;
mod session;
// The C library's calls that no crate offers (name look-ups, setpriority): FFI, so the one
// module with `unsafe`.
#[allow(unsafe_code)]
mod sys;
mod top;

use std::io::{self, Write};

/// Runs ipvsctl with `args` (the program name first, as `std::env::args`
/// gives them) and returns the exit code; what it prints goes to stdout and
/// stderr.
pub fn main_with_args(args: &[String]) -> i32 {
    let prog = args.first().map_or("ipvsctl", String::as_str);
    let rest = args.get(1..).unwrap_or_default();
    // `ipvsctl exporter ...`: not an ipvsadm command, so a word of its own.
    if rest.first().map(String::as_str) == Some("exporter") {
        return exporter::main(prog, &rest[1..]);
    }
    let sub = rest.first().map(String::as_str);
    if matches!(sub, Some("apply" | "drain" | "conns" | "healthd" | "top")) {
        // `ipvsctl apply|drain|conns|healthd|top ...`: not ipvsadm commands (ipvsadm takes no
        // such words).
        let mut term = session::Term::new();
        let result = match sub {
            Some("apply") => apply::main(&rest[1..], &mut term),
            Some("drain") => drain::main(prog, &rest[1..], &mut term),
            Some("conns") => conns::main(prog, &rest[1..], &mut term),
            Some("healthd") => healthd::main(&rest[1..], &mut term),
            _ => top::main(prog, &rest[1..], &mut term),
        };
        return finish(prog, result.and_then(|code| term.flush().map(|()| code)));
    }
    match cli::parse(prog, rest, cli::Context::CommandLine) {
        Err(failure) => {
            let _ = writeln!(io::stderr().lock(), "{}", failure.message);
            failure.code
        }
        Ok(invocation) => {
            let mut term = session::Term::new();
            let result = exec::run(&invocation, prog, &mut term)
                .and_then(|code| term.flush().map(|()| code));
            finish(prog, result)
        }
    }
}

/// The exit code of a run that may have failed to write: a closed stdout
/// ends quietly with 0, any other write error is said and gives 1.
fn finish(prog: &str, result: io::Result<i32>) -> i32 {
    match result {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let _ = writeln!(io::stderr().lock(), "{prog}: {e}");
            1
        }
    }
}
