//! The state of the view (what is shown, sorted and filtered how, what is selected and
//! expanded) and what each key does to it. Pure: the terminal loop feeds it keys and reads,
//! [`super::view`] draws it.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ipvs::sampler::SeriesKey;
use ipvs::ServiceKey;

use super::model::{count, Column, Row, ServiceRow, Snapshot};

/// What the loop does after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Go on (and draw again).
    Continue,
    /// Leave, exit status 0.
    Quit,
}

/// One line of the table as shown.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// The service's or destination's values.
    pub row: &'a Row,
    /// Whether it is a destination (drawn under its service).
    pub destination: bool,
    /// Of a service: whether it has destinations, and whether they are shown.
    pub expandable: bool,
    /// Of a service: whether its destinations are shown.
    pub expanded: bool,
}

/// The view's state.
#[derive(Debug)]
pub struct App {
    /// What is on the screen (frozen while paused).
    pub shown: Snapshot,
    /// The newest read, shown when the pause ends.
    latest: Option<Snapshot>,
    /// The sort key and order.
    pub sort: Column,
    /// Larger (or later in the alphabet) first.
    pub descending: bool,
    /// Lines whose name contains this (case-insensitive) are shown, with their services.
    pub filter: String,
    /// Keys go to the filter (after `/`).
    pub editing: bool,
    /// Services whose destinations are shown.
    pub expanded: HashSet<ServiceKey>,
    /// The selected line.
    pub selected: Option<SeriesKey>,
    /// Reads go on but the screen keeps what it shows.
    pub paused: bool,
    /// A line of totals under the table.
    pub totals: bool,
    /// Rates of bytes in bits per second.
    pub bits: bool,
    /// The help is shown over the table.
    pub help: bool,
    /// Colours are used (not with `NO_COLOR`).
    pub color: bool,
    /// Where and how often: shown in the title (`netns web, every 1 s`).
    pub context: String,
    /// The last read's failure, if it failed.
    pub error: Option<String>,
    /// Lines of the table that fit the screen (set when drawn): a page for PageUp/PageDown.
    pub page: usize,
    /// The first line of the table on the screen (kept from one drawing to the next).
    pub offset: usize,
    /// The services of the lines on the screen and of the selected line (set when drawn):
    /// their real servers are read every interval.
    pub on_screen: HashSet<ServiceKey>,
    /// How often the real servers of a service off the screen are read, when not every
    /// interval (a big table): said in the help.
    pub refresh: Option<Duration>,
    /// healthd's view is shown (`--healthd`): the Hlth column.
    pub healthd: bool,
}

impl App {
    /// A view with nothing read yet.
    pub fn new(context: String, color: bool) -> App {
        App {
            shown: Snapshot::default(),
            latest: None,
            sort: Column::InBytes,
            descending: true,
            filter: String::new(),
            editing: false,
            expanded: HashSet::new(),
            selected: None,
            paused: false,
            totals: true,
            bits: false,
            help: false,
            color,
            context,
            error: None,
            page: 10,
            offset: 0,
            on_screen: HashSet::new(),
            refresh: None,
            healthd: false,
        }
    }

    /// A new read: shown at once unless paused.
    #[cfg(test)]
    pub fn update(&mut self, snapshot: Snapshot) {
        if self.paused {
            self.latest = Some(snapshot);
        } else {
            self.shown = snapshot;
            self.latest = None;
        }
    }

    /// The newest read, to be updated in place: what is shown, or while paused the read kept
    /// for later (at the first read of a pause, a copy of what is shown).
    pub fn newest_mut(&mut self) -> &mut Snapshot {
        if self.paused {
            self.latest.get_or_insert_with(|| self.shown.clone())
        } else {
            &mut self.shown
        }
    }

    /// The services shown: those matching the filter (by their name or a destination's),
    /// sorted.
    fn services(&self) -> Vec<&ServiceRow> {
        let mut services = self.matching();
        services.sort_by(|a, b| self.order(&a.row, &b.row));
        services
    }

    /// The services matching the filter, in kernel order.
    fn matching(&self) -> Vec<&ServiceRow> {
        self.shown
            .services
            .iter()
            .filter(|s| self.matches(&s.row) || s.destinations.iter().any(|d| self.matches(d)))
            .collect()
    }

    /// The lines of the table, in order: each service shown, then its destinations if it is
    /// expanded (all of them when the service matches the filter, else those that match).
    pub fn lines(&self) -> Vec<Line<'_>> {
        let mut lines = Vec::new();
        for s in self.services() {
            let expanded = self.expanded.contains(&s.key);
            lines.push(Line {
                row: &s.row,
                destination: false,
                expandable: !s.destinations.is_empty(),
                expanded,
            });
            if expanded {
                let all = self.matches(&s.row);
                let mut dests: Vec<&Row> = s
                    .destinations
                    .iter()
                    .filter(|d| all || self.matches(d))
                    .collect();
                dests.sort_by(|a, b| self.order(a, b));
                lines.extend(dests.into_iter().map(|row| Line {
                    row,
                    destination: true,
                    expandable: false,
                    expanded: false,
                }));
            }
        }
        lines
    }

    /// The services shown added up: rates (of those that have them), connections.
    pub fn total(&self) -> Row {
        let services = self.matching();
        let mut total = Row::new(
            SeriesKey::Service(ServiceKey::fwmark(0, ipvs::Family::Inet)),
            format!("Total ({})", count(services.len(), "service")),
        );
        for s in services {
            total.stale |= s.row.stale;
            total.active += s.row.active;
            total.inactive += s.row.inactive;
            if let Some(r) = s.row.rates {
                let t = total.rates.get_or_insert_with(Default::default);
                t.conns += r.conns;
                t.in_packets += r.in_packets;
                t.out_packets += r.out_packets;
                t.in_bytes += r.in_bytes;
                t.out_bytes += r.out_bytes;
            }
        }
        total
    }

    /// The index of the selected line among `lines` (the first line when the selection is
    /// not shown).
    pub fn selected_index(&self, lines: &[Line<'_>]) -> Option<usize> {
        if lines.is_empty() {
            return None;
        }
        Some(
            self.selected
                .and_then(|k| lines.iter().position(|l| l.row.key == k))
                .unwrap_or(0),
        )
    }

    fn matches(&self, row: &Row) -> bool {
        self.filter.is_empty()
            || row
                .name
                .to_lowercase()
                .contains(&self.filter.to_lowercase())
    }

    fn order(&self, a: &Row, b: &Row) -> Ordering {
        let by = self.sort.compare(a, b);
        let by = if self.descending { by.reverse() } else { by };
        // Equal keys keep one order: by name.
        by.then_with(|| a.name.cmp(&b.name))
    }

    /// Moves the selection by `by` lines, within the table.
    fn step(&mut self, by: isize) {
        let lines = self.lines();
        let Some(i) = self.selected_index(&lines) else {
            return;
        };
        let j = (i as isize + by).clamp(0, lines.len() as isize - 1) as usize;
        self.selected = Some(lines[j].row.key);
    }

    /// The service of the selected line.
    fn selected_service(&self) -> Option<ServiceKey> {
        let lines = self.lines();
        let i = self.selected_index(&lines)?;
        match lines[i].row.key {
            SeriesKey::Service(k) | SeriesKey::Destination(k, ..) => Some(k),
        }
    }

    /// Shows (`Some(true)`), hides (`Some(false)`) or toggles (`None`) the destinations of
    /// the selected line's service; the selection goes to the service when they are hidden.
    fn expand(&mut self, show: Option<bool>) {
        let Some(key) = self.selected_service() else {
            return;
        };
        let show = show.unwrap_or(!self.expanded.contains(&key));
        if show {
            self.expanded.insert(key);
        } else {
            self.expanded.remove(&key);
            self.selected = Some(SeriesKey::Service(key));
        }
    }

    /// The column `by` steps from the sort key, past Hlth when it is not shown.
    fn column_step(&self, by: isize) -> Column {
        let next = self.sort.step(by);
        if next == Column::Health && !self.healthd {
            next.step(by)
        } else {
            next
        }
    }

    /// Sorts by `column`; the same column again reverses the order.
    pub fn sort_by(&mut self, column: Column) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = column.descending_first();
        }
    }

    /// What a key does.
    pub fn key(&mut self, key: KeyEvent) -> Action {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c')) {
            return Action::Quit;
        }
        if self.help {
            // Any key closes the help; `q` also quits.
            self.help = false;
            return if key.code == KeyCode::Char('q') {
                Action::Quit
            } else {
                Action::Continue
            };
        }
        if self.editing {
            match key.code {
                KeyCode::Enter => self.editing = false,
                KeyCode::Esc => {
                    self.editing = false;
                    self.filter.clear();
                }
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) if !ctrl => self.filter.push(c),
                _ => {}
            }
            return Action::Continue;
        }
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('?') | KeyCode::F(1) => self.help = true,
            KeyCode::Esc => self.filter.clear(),
            KeyCode::Up | KeyCode::Char('k') => self.step(-1),
            KeyCode::Down | KeyCode::Char('j') => self.step(1),
            KeyCode::PageUp => self.step(-(self.page.max(1) as isize)),
            KeyCode::PageDown => self.step(self.page.max(1) as isize),
            KeyCode::Home | KeyCode::Char('g') => self.step(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.step(isize::MAX / 2),
            KeyCode::Enter | KeyCode::Char(' ') => self.expand(None),
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Char('+') => self.expand(Some(true)),
            KeyCode::Left | KeyCode::Char('h') | KeyCode::Char('-') => self.expand(Some(false)),
            KeyCode::Char('a') => {
                // All shown when some are hidden, else all hidden.
                let all: Vec<ServiceKey> = self.shown.services.iter().map(|s| s.key).collect();
                if all.iter().all(|k| self.expanded.contains(k)) {
                    self.expanded.clear();
                    if let Some(k) = self.selected_service() {
                        self.selected = Some(SeriesKey::Service(k));
                    }
                } else {
                    self.expanded.extend(all);
                }
            }
            KeyCode::Char('<') => self.sort_by(self.column_step(-1)),
            KeyCode::Char('>') | KeyCode::Char('s') => self.sort_by(self.column_step(1)),
            KeyCode::Char('r') => self.descending = !self.descending,
            KeyCode::Char('/') | KeyCode::Char('f') => self.editing = true,
            KeyCode::Char('p') => {
                self.paused = !self.paused;
                if !self.paused {
                    if let Some(s) = self.latest.take() {
                        self.shown = s;
                    }
                }
            }
            KeyCode::Char('t') => self.totals = !self.totals,
            KeyCode::Char('b') => self.bits = !self.bits,
            _ => {}
        }
        Action::Continue
    }
}

/// The help, one line a key.
pub const HELP: &[(&str, &str)] = &[
    ("q, Ctrl-C", "quit"),
    ("?, F1", "this help (any key closes it)"),
    ("Up/Down, j/k", "select a line"),
    ("PgUp/PgDn, g/G", "page, first, last"),
    ("Enter, Space", "show/hide the real servers"),
    ("Right/Left, l/h", "show/hide them"),
    ("a", "show/hide every service's"),
    ("< > (s)", "sort by the column before/after"),
    ("r", "reverse the order"),
    ("/ (f)", "filter by text; Enter keeps, Esc clears"),
    ("p", "pause the screen (reads go on)"),
    ("t", "totals on/off"),
    ("b", "bytes or bits per second"),
    ("Wt Act Inact", "weight, active and inactive connections"),
    ("CPS PPS BPS", "connections, packets, bytes (bps: bits) /s"),
];
