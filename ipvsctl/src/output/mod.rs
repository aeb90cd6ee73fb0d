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
mod listing;
mod names;
mod save;
mod sort;
mod text;

#[cfg(test)]
mod tests;

// Re-exports for the command layer, unused until it calls them.
#[allow(unused_imports)]
pub use json::{
    connections_json, daemon_json, list_json, plan_json, save_json, timeout_json, watch_json,
    watch_line,
};
pub use json::{stream_connections_json, stream_list_json, stream_save_json};
#[allow(unused_imports)]
pub use json_in::parse_save_json;
pub use listing::{stream_list_text, stream_save_text, Chunked, StreamError};

pub(crate) use common::addrport;
// `top` names the forwarding methods as the listing does.
pub(crate) use common::fwd_name;
#[allow(unused_imports)]
pub use names::{Names, NumericOnly, SystemNames};
#[allow(unused_imports)]
pub use save::{save_text, save_text_with};
#[allow(unused_imports)]
pub use text::{
    connection_row, connections_text, connections_text_with, connections_title, daemon_text,
    list_service_text, list_service_text_with, list_text, list_text_with, timeout_text,
};

/// Which columns a listing shows: one of ipvsadm's list formats.
///
/// ipvsadm accepts several of `--stats`, `--rate`, `--thresholds`,
/// `--persistent-conn` and `--tun-info` together and then uses the first in
/// that order; [`ListMode::from_flags`] applies the same precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ListMode {
    /// Scheduler, flags, forwarding method, weight and connection counts.
    #[default]
    Default,
    /// `--stats`: connection, packet and byte counters.
    Stats,
    /// `--rate`: per-second rates.
    Rate,
    /// `--thresholds`: upper and lower connection thresholds.
    Thresholds,
    /// `--persistent-conn`: persistent connection templates per destination.
    PersistentConn,
    /// `--tun-info`: the tunnel type, port and checksum of tunnel destinations.
    TunInfo,
}

impl ListMode {
    /// The mode ipvsadm uses for a set of list flags: `--stats` wins over
    /// `--rate`, which wins over `--thresholds`, then `--persistent-conn`, then
    /// `--tun-info`.
    pub fn from_flags(
        stats: bool,
        rate: bool,
        thresholds: bool,
        persistent_conn: bool,
        tun_info: bool,
    ) -> Self {
        if stats {
            ListMode::Stats
        } else if rate {
            ListMode::Rate
        } else if thresholds {
            ListMode::Thresholds
        } else if persistent_conn {
            ListMode::PersistentConn
        } else if tun_info {
            ListMode::TunInfo
        } else {
            ListMode::Default
        }
    }
}

/// How to print a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListOptions {
    /// Which columns.
    pub mode: ListMode,
    /// `-n`: print addresses and ports as numbers, never looking names up.
    pub numeric: bool,
    /// `-X`/`--exact`: print counters in full instead of with K/M/G/T suffixes.
    pub exact: bool,
    /// Sort services and destinations as ipvsadm does; `false` with `--nosort`
    /// keeps the kernel's order.
    pub sort: bool,
}

impl Default for ListOptions {
    /// ipvsadm's defaults: default columns, names resolved, suffixed counters, sorted.
    fn default() -> Self {
        ListOptions {
            mode: ListMode::Default,
            numeric: false,
            exact: false,
            sort: true,
        }
    }
}
