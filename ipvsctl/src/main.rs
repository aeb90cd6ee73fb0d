//! The `ipvsctl` program: everything is in the library ([`ipvsctl`]).

#![forbid(unsafe_code)]

fn main() {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(ipvsctl::main_with_args(&args));
}
