//! How to print a listing: its columns (ipvsadm's list formats) and ipvsadm's switches.

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

    /// Whether the columns show statistics (counters or rates): the other modes are made
    /// without them, and are read without them.
    pub fn has_counters(self) -> bool {
        matches!(self, ListMode::Stats | ListMode::Rate)
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
