//! Exact screens of `top` on ratatui's test backend, from fixed reads through the real
//! [`ipvs::sampler::Sampler`]: the rates are what two reads one second apart give.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ipvs::sampler::Sampler;
use ipvs::{
    Destination, DestinationEntry, Family, Forward, Service, ServiceEntry, ServiceKey, Stats,
    VirtualServer,
};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

use super::read::{Reader, ROLLING, SMALL_TABLE};
use super::{view, Action, App};

fn stats(conns: u64, packets: u64, bytes: u64) -> Stats {
    Stats {
        conns,
        in_packets: packets,
        out_packets: packets / 2,
        in_bytes: bytes,
        out_bytes: bytes * 3,
        ..Stats::default()
    }
}

fn dest(
    addr: &str,
    port: u16,
    forward: Forward,
    weight: u32,
    active: u32,
    s: Stats,
) -> DestinationEntry {
    DestinationEntry {
        destination: Destination::new(addr.parse().unwrap(), port)
            .with_forward(forward)
            .with_weight(weight),
        active_conns: active,
        inactive_conns: active / 2,
        persistent_conns: 0,
        stats: s,
    }
}

/// The table after `n` seconds of traffic: a busy and an idle web server, a DNS service, an
/// idle fwmark service.
fn state(n: u64) -> Vec<VirtualServer> {
    let web = ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80);
    let dns = ServiceKey::udp("10.0.0.100".parse().unwrap(), 53);
    let mark = ServiceKey::fwmark(7, Family::Inet);
    // Its bytes grow faster each second: 10 kB/s more every read, for a history that climbs.
    let busy = stats(40 * n, 400 * n, 10_000 * n * (n + 1) / 2);
    let quiet = stats(5, 50, 7_000);
    let dns_stats = stats(300 * n, 300 * n, 20_000 * n);
    vec![
        VirtualServer {
            entry: ServiceEntry {
                service: Service::new(web),
                stats: stats(40 * n + 5, 400 * n + 50, 10_000 * n * (n + 1) / 2 + 7_000),
            },
            destinations: vec![
                dest("192.168.10.12", 80, Forward::Masquerade, 1, 0, quiet),
                dest("192.168.10.11", 80, Forward::Masquerade, 3, 12, busy),
            ],
        },
        VirtualServer {
            entry: ServiceEntry {
                service: Service::new(dns),
                stats: dns_stats,
            },
            destinations: vec![dest(
                "192.168.10.11",
                53,
                Forward::DirectRoute,
                1,
                0,
                dns_stats,
            )],
        },
        VirtualServer {
            entry: ServiceEntry {
                service: Service::new(mark),
                stats: Stats::default(),
            },
            destinations: vec![],
        },
    ]
}

/// An app after reads at 0, 1, 2 ... `reads - 1` seconds.
fn app(reads: u64, color: bool) -> App {
    // Rates between consecutive reads (no fold window): the fixture's counters grow every second.
    let mut sampler = Sampler::with_window(Duration::ZERO);
    let mut app = App::new("netns web, every 1 s".into(), color);
    let t0 = Instant::now();
    for i in 0..reads {
        let s = state(i);
        let sample = sampler.sample(t0 + Duration::from_secs(i), &s);
        app.newest_mut().update(&s, &[true; 3], &sample);
    }
    app
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            'v' => KeyCode::Down,
            '^' => KeyCode::Up,
            '\x1b' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        assert_eq!(
            app.key(KeyEvent::new(code, KeyModifiers::NONE)),
            Action::Continue,
            "{c:?}"
        );
    }
}

fn terminal(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::draw(f, app)).unwrap();
    terminal
}

/// The screen's text, one line each, trailing spaces cut.
fn screen(app: &mut App, width: u16, height: u16) -> String {
    let t = terminal(app, width, height);
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Checks a screen against what it must be, showing it whole when it differs.
fn assert_screen(app: &mut App, width: u16, height: u16, want: &str) {
    let got = screen(app, width, height);
    assert_eq!(got, want, "\n--- got ---\n{got}--- want ---\n{want}");
}

#[test]
fn the_first_read_has_no_rates_yet() {
    let mut a = app(1, true);
    let got = screen(&mut a, 80, 24);
    // No rates to sort by: by name.
    let lines: Vec<&str> = got.lines().skip(2).take(3).collect();
    assert_eq!(
        lines,
        [
            "  FWM 7                                   0     0    -     -      -     -      -",
            "▸ TCP 10.0.0.100:80                      12     6    -     -      -     -      -",
            "▸ UDP 10.0.0.100:53                       0     0    -     -      -     -      -",
        ]
    );
}

#[test]
fn services_sorted_by_bytes_in_on_80x24() {
    let mut a = app(4, true);
    assert_screen(&mut a, 80, 24, SERVICES_80X24);
}

const SERVICES_80X24: &str = r#" ipvsctl top · netns web, every 1 s · 3 services, 3 servers      InBPS▼ bytes/s
Service / real server      Fwd      Wt  Act Inact  CPS InPPS OutPPS InBPS OutBPS
▸ TCP 10.0.0.100:80                      12     6   40   400    200   30K    90K
▸ UDP 10.0.0.100:53                       0     0  300   300    150   20K    60K
  FWM 7                                   0     0    0     0      0     0      0














  Total (3 services)                     12     6  340   700    350   50K   150K
 TCP 10.0.0.100:80: bytes/s in+out, last 3 reads, peak 120K
 ▂█
▅██
 q quit  ? help  Enter servers  < > sort  / filter  p pause  b bits  t totals
"#;

#[test]
fn a_service_expands_to_its_real_servers() {
    let mut a = app(4, true);
    press(&mut a, "\n");
    assert_screen(&mut a, 80, 24, EXPANDED_80X24);
    // Left hides them again.
    press(&mut a, "v");
    a.key(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
    assert_screen(&mut a, 80, 24, SERVICES_80X24);
}

const EXPANDED_80X24: &str = r#" ipvsctl top · netns web, every 1 s · 3 services, 3 servers      InBPS▼ bytes/s
Service / real server      Fwd      Wt  Act Inact  CPS InPPS OutPPS InBPS OutBPS
▾ TCP 10.0.0.100:80                      12     6   40   400    200   30K    90K
  -> 192.168.10.11:80      Masq      3   12     6   40   400    200   30K    90K
  -> 192.168.10.12:80      Masq      1    0     0    0     0      0     0      0
▸ UDP 10.0.0.100:53                       0     0  300   300    150   20K    60K
  FWM 7                                   0     0    0     0      0     0      0












  Total (3 services)                     12     6  340   700    350   50K   150K
 TCP 10.0.0.100:80: bytes/s in+out, last 3 reads, peak 120K
 ▂█
▅██
 q quit  ? help  Enter servers  < > sort  / filter  p pause  b bits  t totals
"#;

#[test]
fn sorting_by_another_column_and_reversed() {
    let mut a = app(4, true);
    press(&mut a, "a<<<");
    assert_screen(&mut a, 80, 12, BY_CPS);
    press(&mut a, "r");
    assert_screen(&mut a, 80, 12, BY_CPS_ASCENDING);
}

const BY_CPS: &str = r#" ipvsctl top · netns web, every 1 s · 3 services, 3 servers        CPS▼ bytes/s
Service / real server      Fwd      Wt  Act Inact  CPS InPPS OutPPS InBPS OutBPS
▾ UDP 10.0.0.100:53                       0     0  300   300    150   20K    60K
  -> 192.168.10.11:53      Route     1    0     0  300   300    150   20K    60K
▾ TCP 10.0.0.100:80                      12     6   40   400    200   30K    90K
  -> 192.168.10.11:80      Masq      3   12     6   40   400    200   30K    90K
  -> 192.168.10.12:80      Masq      1    0     0    0     0      0     0      0
  FWM 7                                   0     0    0     0      0     0      0


  Total (3 services)                     12     6  340   700    350   50K   150K
 q quit  ? help  Enter servers  < > sort  / filter  p pause  b bits  t totals
"#;
const BY_CPS_ASCENDING: &str = r#" ipvsctl top · netns web, every 1 s · 3 services, 3 servers        CPS▲ bytes/s
Service / real server      Fwd      Wt  Act Inact  CPS InPPS OutPPS InBPS OutBPS
  FWM 7                                   0     0    0     0      0     0      0
▾ TCP 10.0.0.100:80                      12     6   40   400    200   30K    90K
  -> 192.168.10.12:80      Masq      1    0     0    0     0      0     0      0
  -> 192.168.10.11:80      Masq      3   12     6   40   400    200   30K    90K
▾ UDP 10.0.0.100:53                       0     0  300   300    150   20K    60K
  -> 192.168.10.11:53      Route     1    0     0  300   300    150   20K    60K


  Total (3 services)                     12     6  340   700    350   50K   150K
 q quit  ? help  Enter servers  < > sort  / filter  p pause  b bits  t totals
"#;

#[test]
fn a_filter_keeps_matching_lines_and_their_services() {
    let mut a = app(4, true);
    press(&mut a, "/10.12");
    assert_screen(&mut a, 80, 10, FILTER_EDITING);
    press(&mut a, "\n\n");
    assert_screen(&mut a, 80, 10, FILTERED);
    press(&mut a, "\x1b");
    let all = screen(&mut a, 80, 10);
    assert!(all.contains("UDP 10.0.0.100:53"), "{all}");
}

const FILTER_EDITING: &str = r#" ipvsctl top · netns web, every 1 s · 3 services, 3 servers      InBPS▼ bytes/s
Service / real server      Fwd      Wt  Act Inact  CPS InPPS OutPPS InBPS OutBPS
▸ TCP 10.0.0.100:80                      12     6   40   400    200   30K    90K





  Total (1 service)                      12     6   40   400    200   30K    90K
 Filter: 10.12_  (Enter keeps it, Esc clears it)
"#;
const FILTERED: &str = r#" ipvsctl top · netns web, every 1 s · 3 services, 3 servers      InBPS▼ bytes/s
Service / real server      Fwd      Wt  Act Inact  CPS InPPS OutPPS InBPS OutBPS
▾ TCP 10.0.0.100:80                      12     6   40   400    200   30K    90K
  -> 192.168.10.12:80      Masq      1    0     0    0     0      0     0      0




  Total (1 service)                      12     6   40   400    200   30K    90K
 filter "10.12" (Esc clears)  q quit  ? help  Enter servers  < > sort  / filter
"#;

#[test]
fn wide_terminals_get_a_history_column_and_bits() {
    let mut a = app(6, true);
    press(&mut a, "ab");
    assert_screen(&mut a, 120, 12, WIDE_BITS);
}

const WIDE_BITS: &str = r#" ipvsctl top · netns web, every 1 s · 3 services, 3 servers                                               Inbps▼ bits/s
Service / real server                         Fwd      Wt  Act Inact  CPS InPPS OutPPS Inbps Outbps History
▾ TCP 10.0.0.100:80                                         12     6   40   400    200  400K   1.2M ▂▄▅▇█
  -> 192.168.10.11:80                         Masq      3   12     6   40   400    200  400K   1.2M ▂▄▅▇█
  -> 192.168.10.12:80                         Masq      1    0     0    0     0      0     0      0
▾ UDP 10.0.0.100:53                                          0     0  300   300    150  160K   480K █████
  -> 192.168.10.11:53                         Route     1    0     0  300   300    150  160K   480K █████
  FWM 7                                                      0     0    0     0      0     0      0


  Total (3 services)                                        12     6  340   700    350  560K   1.7M
 q quit  ? help  Enter servers  < > sort  / filter  p pause  b bits  t totals
"#;

#[test]
fn help_pause_and_quit() {
    let mut a = app(3, true);
    press(&mut a, "?");
    let help = screen(&mut a, 80, 24);
    assert!(help.contains("ipvsctl top: keys"), "{help}");
    press(&mut a, "x");
    assert!(!screen(&mut a, 80, 24).contains("ipvsctl top: keys"));
    // Paused, a new read is kept for later.
    press(&mut a, "p");
    let before = screen(&mut a, 80, 24);
    assert!(before.contains("PAUSED"), "{before}");
    let mut later = app(5, true);
    a.update(std::mem::take(&mut later.shown));
    assert_eq!(screen(&mut a, 80, 24), before);
    press(&mut a, "p");
    let after = screen(&mut a, 80, 24);
    assert!(!after.contains("PAUSED"));
    assert_ne!(after, before);
    assert_eq!(
        a.key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)),
        Action::Quit
    );
    assert_eq!(
        a.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Action::Quit
    );
}

/// Every cell's colours, foreground and background.
fn colours(app: &mut App) -> Vec<Color> {
    let t = terminal(app, 100, 24);
    t.backend()
        .buffer()
        .content()
        .iter()
        .flat_map(|c| [c.fg, c.bg])
        .collect()
}

#[test]
fn no_color_draws_without_colours_and_the_same_text() {
    let mut plain = app(4, false);
    let mut coloured = app(4, true);
    press(&mut plain, "a?");
    press(&mut coloured, "a?");
    assert!(colours(&mut plain).iter().all(|c| *c == Color::Reset));
    assert!(colours(&mut coloured).iter().any(|c| *c != Color::Reset));
    assert_eq!(screen(&mut plain, 100, 24), screen(&mut coloured, 100, 24));
}

#[test]
fn one_service_is_one() {
    let mut a = app(2, true);
    a.shown.services.truncate(1);
    a.shown.services[0].destinations.truncate(1);
    let got = screen(&mut a, 80, 24);
    assert!(got.contains("· 1 service, 1 server "), "{got}");
    assert!(got.contains("Total (1 service)"), "{got}");
}

#[test]
fn a_long_table_scrolls_to_the_selection() {
    // 40 services, one real server each; 10 lines of table on a 14-line screen.
    let many: Vec<VirtualServer> = (0..40u64)
        .map(|i| {
            let key = ServiceKey::tcp(format!("10.1.0.{i}").parse().unwrap(), 80);
            VirtualServer {
                entry: ServiceEntry {
                    service: Service::new(key),
                    stats: stats(i, i, i),
                },
                destinations: vec![dest(
                    "10.2.0.1",
                    80,
                    Forward::Masquerade,
                    1,
                    0,
                    stats(i, i, i),
                )],
            }
        })
        .collect();
    let mut a = App::new("every 1 s".into(), false);
    let sample = Sampler::new().sample(Instant::now(), &many);
    a.newest_mut().update(&many, &[true; 40], &sample);
    press(&mut a, "G");
    let got = screen(&mut a, 80, 14);
    let names: Vec<&str> = got
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .nth(2)
                .filter(|w| w.starts_with("10.1.0."))
        })
        .collect();
    // Sorted by name (no rates yet): the last ten of them, the selected last one shown.
    let want: Vec<String> = {
        let mut all: Vec<String> = (0..40).map(|i| format!("10.1.0.{i}:80")).collect();
        all.sort();
        all[30..].to_vec()
    };
    assert_eq!(names, want, "{got}");
    // Back to the top: the first ten.
    press(&mut a, "g");
    let got = screen(&mut a, 80, 14);
    assert!(
        got.contains("TCP 10.1.0.0:80") && !got.contains("TCP 10.1.0.9:80"),
        "{got}"
    );
}

#[test]
fn a_long_title_gives_way_to_the_sort_and_pause() {
    let mut a = App::new(
        "netns a-rather-long-namespace-name, every 0.5 s, TCP [2001:db8::100]:443".into(),
        true,
    );
    press(&mut a, "p");
    let got = screen(&mut a, 80, 24);
    let title = got.lines().next().unwrap();
    assert_eq!(
        title,
        " ipvsctl top · netns a-rather-long-namespace-name, ever…  PAUSED InBPS▼ bytes/s"
    );
}

/// Service `i` of a big table: `TCP 10.1.(i / 250).(i % 250):80`.
fn big_key(i: usize) -> ServiceKey {
    ServiceKey::tcp(format!("10.1.{}.{}", i / 250, i % 250).parse().unwrap(), 80)
}

/// A table of `n` services at `secs` seconds: service `i` has one real server, 10.2.0.1:80,
/// with `secs` active connections and (i + 1) kB/s in (so the last services sort first).
fn big_table(n: usize, secs: u64) -> Vec<VirtualServer> {
    (0..n)
        .map(|i| {
            let s = stats(secs, secs, (i as u64 + 1) * 1000 * secs);
            VirtualServer {
                entry: ServiceEntry {
                    service: Service::new(big_key(i)),
                    stats: s,
                },
                destinations: vec![dest("10.2.0.1", 80, Forward::Masquerade, 1, secs as u32, s)],
            }
        })
        .collect()
}

/// `top`'s loop without a kernel: each tick reads `table` through the [`Reader`] (its real
/// servers as the reader asks for them), samples it with the 2 s fold window, draws.
struct Loop {
    reader: Reader,
    sampler: Sampler,
    app: App,
    t0: Instant,
}

impl Loop {
    fn new() -> Loop {
        Loop {
            reader: Reader::default(),
            sampler: Sampler::new(),
            app: App::new("every 1 s".into(), true),
            t0: Instant::now(),
        }
    }

    /// One interval at `secs` seconds; returns the services whose real servers it read.
    fn tick(&mut self, table: &[VirtualServer], secs: u64) -> HashSet<ServiceKey> {
        let entries = table.iter().map(|vs| vs.entry.clone()).collect();
        let by_key: HashMap<ServiceKey, &Vec<DestinationEntry>> = table
            .iter()
            .map(|vs| (vs.entry.service.key, &vs.destinations))
            .collect();
        let mut asked = HashSet::new();
        let read = self
            .reader
            .read_from(entries, &self.app.on_screen, |k| {
                assert!(asked.insert(*k), "{k} read twice in one interval");
                Ok::<_, ()>(by_key[k].clone())
            })
            .unwrap();
        let sample = self
            .sampler
            .sample(self.t0 + Duration::from_secs(secs), &read.state);
        self.app
            .newest_mut()
            .update(&read.state, &read.fresh, &sample);
        self.app.refresh = Reader::period(table.len(), Duration::from_secs(1));
        // Drawing tells the next read which services are on the screen.
        terminal(&mut self.app, 80, 24);
        asked
    }
}

#[test]
fn a_small_table_has_every_real_server_read_every_interval() {
    let mut l = Loop::new();
    for secs in 0..4 {
        let table = big_table(SMALL_TABLE, secs);
        assert_eq!(l.tick(&table, secs).len(), SMALL_TABLE);
    }
    press(&mut l.app, "?");
    let help = screen(&mut l.app, 80, 24);
    assert!(!help.contains("off the screen"), "{help}");
}

#[test]
fn a_big_table_reads_the_screen_every_interval_and_the_rest_in_turn() {
    let n: usize = 1000;
    let turn = n.div_ceil(ROLLING);
    let mut l = Loop::new();
    // The first read is whole.
    assert_eq!(l.tick(&big_table(n, 0), 0).len(), n);
    let mut last_read: HashMap<ServiceKey, u64> = HashMap::new();
    for secs in 1..=(2 * turn as u64) {
        let on_screen = l.app.on_screen.clone();
        assert!(!on_screen.is_empty() && on_screen.len() < 30);
        let asked = l.tick(&big_table(n, secs), secs);
        assert!(
            on_screen.is_subset(&asked),
            "a service on the screen not read"
        );
        assert!(asked.len() <= on_screen.len() + ROLLING, "{}", asked.len());
        for k in asked {
            last_read.insert(k, secs);
        }
    }
    // Each service read again within `turn` intervals.
    let last = 2 * turn as u64;
    assert_eq!(last_read.len(), n);
    assert!(last_read.values().all(|&s| s > last - turn as u64));
    // On the screen, the connections of this read: `last` active, half as many inactive.
    let got = screen(&mut l.app, 80, 24);
    let top: Vec<&str> = got.lines().nth(2).unwrap().split_whitespace().collect();
    let want = [last.to_string(), (last / 2).to_string()];
    assert_eq!(top[2], "10.1.3.249:80", "{got}");
    assert_eq!(top[3..5], want, "{got}");
    // The totals add up the services off the screen as last read: each within a turn.
    let total = l.app.total();
    let n64 = n as u64;
    assert!(total.stale && total.active < last * n64, "{}", total.active);
    assert!(
        total.active > (last - turn as u64) * n64,
        "{}",
        total.active
    );
    press(&mut l.app, "?");
    let help = screen(&mut l.app, 80, 24);
    assert!(help.contains("off the screen: read every 20 s"), "{help}");
}

/// The text of the line of `name` (a service or `-> real server`), cut to its words.
fn words_of(screen: &str, name: &str) -> Vec<String> {
    let line = screen
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == name))
        .unwrap_or_else(|| panic!("no line of {name} in\n{screen}"));
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn a_real_server_read_again_has_no_rate_until_its_reads_span_the_window() {
    let n: usize = 1000;
    let x = big_key(500);
    let mut l = Loop::new();
    // Seconds 0-2: service 500 is off the screen; its real server is read at 0 (the first,
    // whole read) and not again before 10 (the turns read 50-99 at 1, 100-149 at 2, ...).
    for secs in 0..3 {
        let asked = l.tick(&big_table(n, secs), secs);
        assert_eq!(asked.contains(&x), secs == 0);
    }
    // Filtered to it: on the screen alone, its connections from the read at 0, dim.
    press(&mut l.app, "/10.1.2.0:80\n");
    let mut t = terminal(&mut l.app, 80, 24);
    let got = screen(&mut l.app, 80, 24);
    let line = words_of(&got, "10.1.2.0:80");
    assert_eq!(line[3..5], ["0", "0"], "{got}");
    let y = got.lines().position(|l| l.contains("10.1.2.0:80")).unwrap() as u16;
    let act = t.backend().buffer()[(42, y)].clone();
    assert_eq!(act.symbol(), "0", "{got}");
    assert!(act.modifier.contains(ratatui::style::Modifier::DIM));
    // Its real servers shown: read every interval from now on.
    press(&mut l.app, "\n");
    t.draw(|f| view::draw(f, &mut l.app)).unwrap();
    for secs in 3..6 {
        assert!(l.tick(&big_table(n, secs), secs).contains(&x));
        let got = screen(&mut l.app, 80, 24);
        let server = words_of(&got, "10.2.0.1:80");
        // Fresh connections: `secs` active, half as many inactive.
        assert_eq!(server[4..6], [secs.to_string(), (secs / 2).to_string()]);
        // A rate wants two reads of it 2 s apart in a row: none at 3 (a new series: the read
        // at 2 did not have it) nor at 4 (the window from 2), then 501 kB/s from 3 to 5.
        let in_bytes = &server[9];
        if secs < 5 {
            assert_eq!(in_bytes, "-", "at {secs} s:\n{got}");
        } else {
            assert_eq!(in_bytes, "501K", "at {secs} s:\n{got}");
        }
        // The service's own rates come with every read: from 2 s on.
        assert_eq!(words_of(&got, "10.1.2.0:80")[8], "501K", "{got}");
    }
}

/// `--healthd`: healthd's states in a Hlth column after Wt (80x24 still fits), a service with
/// its real servers up of those healthd knows; sorting by it puts the down ones first.
#[test]
fn healthd_states_in_their_own_column() {
    use super::healthd::{annotate, parse_status};
    let status = parse_status(&serde_json::json!({"services": [{
    "service": "TCP 10.0.0.100:80",
    "real_servers": [
        {"destination": "192.168.10.11:80", "state": "up", "maintenance": false},
        {"destination": "192.168.10.12:80", "state": "down", "maintenance": false}
    ]}, {
    "service": "UDP 10.0.0.100:53",
    "real_servers": [
        {"destination": "192.168.10.11:53", "state": "down", "maintenance": true}
    ]}]}));
    let mut sampler = Sampler::with_window(Duration::ZERO);
    let mut a = App::new("every 1 s".into(), true);
    a.healthd = true;
    let t0 = Instant::now();
    for i in 0..4 {
        let s = state(i);
        let sample = sampler.sample(t0 + Duration::from_secs(i), &s);
        a.newest_mut().update(&s, &[true; 3], &sample);
        annotate(a.newest_mut(), &status);
    }
    press(&mut a, "a");
    let got = screen(&mut a, 80, 24);
    let lines: Vec<&str> = got.lines().skip(1).take(6).collect();
    assert_eq!(
        lines,
        [
            "Service / real server Fwd      Wt Hlth  Act Inact  CPS InPPS OutPPS InBPS OutBPS",
            "▾ TCP 10.0.0.100:80               1/2    12     6   40   400    200   30K    90K",
            "  -> 192.168.10.11:80 Masq      3 up     12     6   40   400    200   30K    90K",
            "  -> 192.168.10.12:80 Masq      1 DOWN    0     0    0     0      0     0      0",
            "▾ UDP 10.0.0.100:53               0/1     0     0  300   300    150   20K    60K",
            "  -> 192.168.10.11:53 Route     1 mnt     0     0  300   300    150   20K    60K",
        ],
        "\n{got}"
    );
    // The fwmark service: healthd knows none of its servers, an empty cell.
    assert!(
        got.contains("\n  FWM 7                                   0     0    0"),
        "{got}"
    );
    // `>` from InBPS reaches Hlth (shown); reversed to ascending, the down ones first.
    press(&mut a, ">>>r");
    assert_eq!(
        (a.sort, a.descending),
        (super::model::Column::Health, false)
    );
    let got = screen(&mut a, 80, 24);
    let names: Vec<String> = got
        .lines()
        .skip(2)
        .take(6)
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        names,
        [
            "FWM 7 0",
            "▾ UDP 10.0.0.100:53",
            "-> 192.168.10.11:53 Route",
            "▾ TCP 10.0.0.100:80",
            "-> 192.168.10.12:80 Masq",
            "-> 192.168.10.11:80 Masq"
        ],
        "\n{got}"
    );
    let mut b = App::new(String::new(), true);
    // Without --healthd, the hidden Hlth is stepped over.
    b.sort = super::model::Column::Name;
    press(&mut b, "<");
    assert_eq!(b.sort, super::model::Column::History);
    press(&mut b, ">");
    assert_eq!(b.sort, super::model::Column::Name);
}
