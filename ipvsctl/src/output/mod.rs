//! Everything `ipvsctl` prints, as pure functions from [`ipvs`] values to text.
//!
//! Two families of output live here:
//!
//! * **ipvsadm text**, byte for byte what ipvsadm 1.31 prints: the listing
//!   (`-L`/`-l` with `--stats`, `--rate`, `--thresholds`, `--persistent-conn`,
//!   `--tun-info`, `--exact`, `-n`, `--nosort`), the rules of `-S`, the
//!   connection table of `-c`, `--timeout` and `--daemon`. The formats come
//!   from ipvsadm.c (`print_title`, `print_service_entry`, `print_largenum`,
//!   `print_conn`, `list_timeout`, `list_daemon`, `addrport_to_anyname`) and
//!   libipvs.c (`ipvs_cmp_services`, `ipvs_cmp_dests`), and the sort is glibc's
//!   merge sort run with ipvsadm's comparators, quirks included (see `sort`).
//! * **JSON**, one document per invocation, with the schema documented in
//!   `docs/json.md`, and [`parse_save_json`] to read back what [`save_json`]
//!   (or [`list_json`]) wrote.
//!
//! Nothing here talks to the kernel. Without `-n`, text output resolves
//! addresses and ports through a [`Names`] implementation: [`SystemNames`]
//! (the C library, like ipvsadm) for the real program, a fake one in tests.
//! Every function has a `*_with` variant taking the resolver explicitly.
//!
//! All functions are total: any input, however odd (unknown protocols,
//! forwarding methods, tunnel types or flag bits), gives some output and never
//! a panic. Where ipvsadm would print a C `NULL` string, glibc prints `(null)`,
//! and so do we.
//!
//! Calling conventions for the command layer:
//! * `-L` (whole table): [`list_text`] / [`list_json`].
//! * `-L -t|-u|-f SERVICE`: [`list_service_text`] (ipvsadm prints no version
//!   header then); for JSON pass the one service to [`list_json`].
//! * `-S`: [`save_text`] / [`save_json`]; `-R --json`: [`parse_save_json`].
//! * `-L -c`: [`connections_text`] / [`connections_json`].
//! * `-L --timeout`: [`timeout_text`] / [`timeout_json`].
//! * `-L --daemon`: [`daemon_text`] / [`daemon_json`].

// The command layer is written separately; until it calls everything here,
// some items are unused in the binary.
#![allow(dead_code)]

mod bytes;
mod common;
mod json;
mod json_in;
mod json_ser;
mod listing;
mod names;
mod options;
mod save;
mod sort;
mod text;

#[cfg(test)]
mod tests;

// Re-exports for the command layer, unused until it calls them.
pub(crate) use json::pretty_document;
#[allow(unused_imports)]
pub use json::{
    connections_json, daemon_json, list_json, plan_json, save_json, timeout_json, watch_json,
    watch_line,
};
pub use json::{stream_connections_json, stream_list_json, stream_save_json};
#[allow(unused_imports)]
pub use json_in::parse_save_json;
pub use listing::{Chunked, StreamError};

pub(crate) use common::addrport;
// `top` names the forwarding methods as the listing does.
pub(crate) use common::fwd_name;
#[allow(unused_imports)]
pub use names::{Names, NumericOnly, SystemNames};
pub use options::{ListMode, ListOptions};
#[allow(unused_imports)]
pub use save::{save_text, save_text_with, stream_save_text};
#[allow(unused_imports)]
pub use text::{
    connection_row, connections_text, connections_text_with, connections_title, daemon_text,
    list_service_text, list_service_text_with, list_text, list_text_with, stream_list_text,
    timeout_text,
};
