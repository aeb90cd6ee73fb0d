//! What `top` shows: every service and destination with its connections and rates, made from
//! one read of the table and the [`Sampler`]'s rates for it, with a short history of each one's
//! traffic. Pure data: no terminal here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use ipvs::sampler::{Rates, Sample, SeriesKey};
use ipvs::{DestinationEntry, ServiceKey, VirtualServer};

/// How many rates each history keeps (one per interval).
pub const HISTORY: usize = 120;

/// One line of the table: a service or one of its destinations.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What it is.
    pub key: SeriesKey,
    /// `TCP 10.0.0.1:80` for a service, `10.0.0.2:80` for a destination.
    pub name: String,
    /// The forwarding method (destinations only), as ipvsadm's listing names it.
    pub forward: Option<&'static str>,
    /// The weight (destinations only).
    pub weight: Option<u32>,
    /// Active connections (of a service: of its destinations together).
    pub active: u64,
    /// Inactive connections (of a service: of its destinations together).
    pub inactive: u64,
    /// The connections (and the real servers) are from an earlier read: on a big table, the
    /// real servers of a service off the screen are read in turn, not every interval.
    pub stale: bool,
    /// Rates since the previous read; `None` on the first read of it.
    pub rates: Option<Rates>,
    /// Bytes per second in and out together, oldest first, one per read with rates (up to
    /// twice [`HISTORY`]: see [`Row::recent`]).
    pub history: Vec<f64>,
    /// What healthd says of it (`--healthd`); `None` when healthd does not know it.
    pub health: Option<Health>,
}

/// A real server's health as healthd's `/status` gives it, or for a service how many of its
/// real servers are up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Up,
    Down,
    /// No verdict yet.
    Unknown,
    /// Forced down by healthd's maintenance directory.
    Maintenance,
    /// Of a service: its real servers that healthd knows, and those of them up.
    Servers {
        up: u32,
        of: u32,
    },
}

impl Health {
    /// The cell's text, at most 4 characters: `up`, `DOWN`, `?`, `mnt`, `2/3` (or `2` when
    /// `up/of` does not fit).
    pub fn text(self) -> String {
        match self {
            Health::Up => "up".into(),
            Health::Down => "DOWN".into(),
            Health::Unknown => "?".into(),
            Health::Maintenance => "mnt".into(),
            Health::Servers { up, of } => {
                let t = format!("{up}/{of}");
                if t.len() <= 4 {
                    t
                } else {
                    compact(up.into())
                }
            }
        }
    }

    /// For sorting: down first when ascending, then maintenance, unknown, up; a service by
    /// the share of its real servers up.
    fn rank(self) -> f64 {
        match self {
            Health::Down => 0.0,
            Health::Maintenance => 0.1,
            Health::Unknown => 0.5,
            Health::Up => 1.0,
            Health::Servers { up, of } => f64::from(up) / f64::from(of.max(1)),
        }
    }
}

/// A service and its destinations, in kernel order.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    /// The service's own line.
    pub row: Row,
    /// Its key.
    pub key: ServiceKey,
    /// Its destinations' lines.
    pub destinations: Vec<Row>,
}

/// One read of the table as `top` shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The services, in kernel order.
    pub services: Vec<ServiceRow>,
    /// Time since the previous read (`None` for the first).
    pub interval: Option<Duration>,
}

impl Snapshot {
    /// How many destinations in all.
    pub fn destinations(&self) -> usize {
        self.services.iter().map(|s| s.destinations.len()).sum()
    }
}

impl Snapshot {
    /// Takes a read (`state`, and `sample`: the [`ipvs::sampler::Sampler`]'s rates for it), in
    /// which the services flagged in `fresh` had their real servers read: the lines are updated in
    /// place (their names are made once, when first seen), the histories grow, the lines no
    /// longer in the table go. The real servers of a service not read now keep their lines,
    /// marked stale, without rates or history (a history is of reads in a row).
    pub fn update(&mut self, state: &[VirtualServer], fresh: &[bool], sample: &Sample) {
        let fresh = fresh.iter().chain(std::iter::repeat(&true));
        self.interval = sample.interval;
        // A table that did not change comes in the same order: its lines are updated where
        // they are, without lookups or moves.
        let same = self.services.len() == state.len()
            && self
                .services
                .iter()
                .zip(state)
                .all(|(o, vs)| o.key == vs.entry.service.key);
        if same {
            for ((s, vs), &fresh) in self.services.iter_mut().zip(state).zip(fresh) {
                s.read(vs, fresh, sample);
            }
            return;
        }
        let mut by_key: HashMap<ServiceKey, ServiceRow> = std::mem::take(&mut self.services)
            .into_iter()
            .map(|s| (s.key, s))
            .collect();
        self.services = state
            .iter()
            .zip(fresh)
            .map(|(vs, &fresh)| {
                let key = vs.entry.service.key;
                let mut s = by_key.remove(&key).unwrap_or_else(|| ServiceRow::new(key));
                s.read(vs, fresh, sample);
                s
            })
            .collect();
    }
}

impl Row {
    /// A line with a name and nothing read yet.
    pub fn new(key: SeriesKey, name: String) -> Row {
        Row {
            key,
            name,
            forward: None,
            weight: None,
            active: 0,
            inactive: 0,
            stale: false,
            rates: None,
            history: Vec::new(),
            health: None,
        }
    }

    /// Adds the rates' bytes in and out to the history, if there are rates.
    fn push_history(&mut self) {
        if let Some(r) = self.rates {
            // Trimmed HISTORY at a time, not one value each read.
            if self.history.len() >= 2 * HISTORY {
                self.history.drain(..self.history.len() - HISTORY);
            }
            self.history.push(r.in_bytes + r.out_bytes);
        }
    }

    /// The last [`HISTORY`] values of the history, oldest first.
    pub fn recent(&self) -> &[f64] {
        &self.history[self.history.len().saturating_sub(HISTORY)..]
    }
}

impl ServiceRow {
    fn new(key: ServiceKey) -> ServiceRow {
        ServiceRow {
            row: Row::new(SeriesKey::Service(key), key.to_string()),
            key,
            destinations: Vec::new(),
        }
    }

    /// Takes the service's read: its real servers too when `fresh`, else they stay, stale.
    fn read(&mut self, vs: &VirtualServer, fresh: bool, sample: &Sample) {
        self.row.rates = sample.service_rates(&self.key);
        self.row.push_history();
        if fresh {
            self.read_destinations(&vs.destinations, sample);
        } else {
            self.row.stale = true;
            for d in &mut self.destinations {
                d.stale = true;
                d.rates = None;
                d.history.clear();
            }
        }
    }

    /// Its real servers as read now, their lines kept from before when they were there.
    fn read_destinations(&mut self, read: &[DestinationEntry], sample: &Sample) {
        let key = self.key;
        let mut old = std::mem::take(&mut self.destinations);
        let same = old.len() == read.len()
            && old.iter().zip(read).all(|(o, d)| {
                o.key == SeriesKey::Destination(key, d.destination.addr, d.destination.port)
            });
        let mut by_key: HashMap<SeriesKey, Row> = if same {
            HashMap::new()
        } else {
            old.drain(..).map(|r| (r.key, r)).collect()
        };
        let mut old = old.into_iter();
        self.destinations = read
            .iter()
            .map(|d| {
                let dest = &d.destination;
                let series = SeriesKey::Destination(key, dest.addr, dest.port);
                let prev = if same {
                    old.next()
                } else {
                    by_key.remove(&series)
                };
                let mut r =
                    prev.unwrap_or_else(|| Row::new(series, addr_port(dest.addr, dest.port)));
                r.forward = Some(crate::output::fwd_name(&dest.forward));
                r.weight = Some(dest.weight);
                r.active = d.active_conns.into();
                r.inactive = d.inactive_conns.into();
                r.stale = false;
                r.rates = sample.destination_rates(&key, dest.addr, dest.port);
                r.push_history();
                r
            })
            .collect();
        self.row.stale = false;
        self.row.active = self.destinations.iter().map(|d| d.active).sum();
        self.row.inactive = self.destinations.iter().map(|d| d.inactive).sum();
    }
}

/// `10.0.0.2:80` or `[2001:db8::2]:80`.
fn addr_port(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(_) => format!("[{}]:{port}", ipvs::addr::Ntop::new(addr)),
    }
}

/// The table's columns, left to right: each can be the sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Name,
    Forward,
    Weight,
    Active,
    Inactive,
    Conns,
    InPackets,
    OutPackets,
    InBytes,
    OutBytes,
    History,
    /// healthd's view (`--healthd`).
    Health,
}

impl Column {
    /// Every column, in the table's order.
    pub const ALL: [Column; 12] = [
        Column::Name,
        Column::Forward,
        Column::Weight,
        Column::Active,
        Column::Inactive,
        Column::Conns,
        Column::InPackets,
        Column::OutPackets,
        Column::InBytes,
        Column::OutBytes,
        Column::History,
        Column::Health,
    ];

    /// The heading; ipvsadm's `--rate` words for the rates (bits: `bps` in lower case).
    pub fn title(self, bits: bool) -> &'static str {
        match self {
            Column::Name => "Service / real server",
            Column::Forward => "Fwd",
            Column::Weight => "Wt",
            Column::Active => "Act",
            Column::Inactive => "Inact",
            Column::Conns => "CPS",
            Column::InPackets => "InPPS",
            Column::OutPackets => "OutPPS",
            Column::InBytes if bits => "Inbps",
            Column::InBytes => "InBPS",
            Column::OutBytes if bits => "Outbps",
            Column::OutBytes => "OutBPS",
            Column::History => "History",
            Column::Health => "Hlth",
        }
    }

    /// The column before (`-1`) or after (`1`) this one, wrapping around.
    pub fn step(self, by: isize) -> Column {
        let n = Column::ALL.len() as isize;
        let i = Column::ALL.iter().position(|c| *c == self).unwrap_or(0) as isize;
        Column::ALL[(i + by).rem_euclid(n) as usize]
    }

    /// Whether larger comes first by default (numbers) or not (names).
    pub fn descending_first(self) -> bool {
        !matches!(self, Column::Name | Column::Forward)
    }

    /// How `row` compares with `other` in this column, ascending; rows without rates yet
    /// come below rows with zero.
    pub fn compare(self, row: &Row, other: &Row) -> std::cmp::Ordering {
        let rate = |f: fn(&Rates) -> f64| {
            let of = |r: &Row| r.rates.as_ref().map_or(-1.0, f);
            of(row).total_cmp(&of(other))
        };
        let number = |f: fn(&Row) -> f64| f(row).total_cmp(&f(other));
        match self {
            Column::Name => row.name.cmp(&other.name),
            Column::Forward => row.forward.cmp(&other.forward),
            Column::Weight => row.weight.cmp(&other.weight),
            Column::Active => row.active.cmp(&other.active),
            Column::Inactive => row.inactive.cmp(&other.inactive),
            Column::Conns => rate(|x| x.conns),
            Column::InPackets => rate(|x| x.in_packets),
            Column::OutPackets => rate(|x| x.out_packets),
            Column::InBytes => rate(|x| x.in_bytes),
            Column::OutBytes => rate(|x| x.out_bytes),
            Column::Health => number(|r| r.health.map_or(-1.0, Health::rank)),
            Column::History => number(|r| {
                let h = r.recent();
                if h.is_empty() {
                    -1.0
                } else {
                    h.iter().sum::<f64>() / h.len() as f64
                }
            }),
        }
    }
}

/// A rate or count in at most 4 characters: `0`, `0.5`, `12`, `999`, `1.2K`, `34M`, with
/// SI prefixes (powers of 1000, as network rates are given).
pub fn compact(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        return "?".to_string();
    }
    if v < 10.0 {
        let s = format!("{v:.1}");
        return s.strip_suffix(".0").map_or(s.clone(), str::to_string);
    }
    if v < 999.5 {
        return format!("{v:.0}");
    }
    let mut x = v;
    for prefix in ["K", "M", "G", "T", "P"] {
        x /= 1000.0;
        if x < 9.95 {
            return format!("{x:.1}{prefix}");
        }
        if x < 999.5 {
            return format!("{x:.0}{prefix}");
        }
    }
    format!("{x:.0}E")
}

/// The eight levels of a text sparkline, lowest first.
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` values of `history` as a line of block characters scaled to their maximum;
/// zero is a space, so an idle series is blank.
pub fn sparkline(history: &[f64], width: usize) -> String {
    let tail = &history[history.len().saturating_sub(width)..];
    let max = tail.iter().copied().fold(0.0_f64, f64::max);
    tail.iter()
        .map(|&v| {
            if v <= 0.0 || max <= 0.0 {
                ' '
            } else {
                let level = ((v / max) * (LEVELS.len() as f64)).ceil() as usize;
                LEVELS[level.clamp(1, LEVELS.len()) - 1]
            }
        })
        .collect()
}

/// `1 service`, `3 services`.
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_numbers_fit_four_characters() {
        let cases = [
            (0.0, "0"),
            (0.5, "0.5"),
            (4.0, "4"),
            (9.96, "10"),
            (12.4, "12"),
            (999.0, "999"),
            (999.6, "1.0K"),
            (1234.0, "1.2K"),
            (12_345.0, "12K"),
            (999_999.0, "1.0M"),
            (3.4e9, "3.4G"),
            (999_600.0, "1.0M"),
            (999.5, "1.0K"),
            (f64::NAN, "?"),
        ];
        for (v, want) in cases {
            assert_eq!(compact(v), want, "{v}");
            assert!(compact(v).len() <= 4);
        }
    }

    #[test]
    fn sparkline_scales_to_its_maximum() {
        assert_eq!(sparkline(&[0.0, 1.0, 4.0, 8.0], 4), " ▁▄█");
        assert_eq!(sparkline(&[5.0, 0.0, 8.0], 2), " █");
        assert_eq!(sparkline(&[0.0, 0.0], 4), "  ");
        assert_eq!(sparkline(&[], 4), "");
    }

    #[test]
    fn columns_step_around() {
        assert_eq!(Column::Name.step(-1), Column::Health);
        assert_eq!(Column::History.step(1), Column::Health);
        assert_eq!(Column::Health.step(1), Column::Name);
        assert_eq!(Column::Conns.step(1), Column::InPackets);
    }
}
