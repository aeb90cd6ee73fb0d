//! Big tables: 20,000 services with 5 real servers each loaded, listed (text and JSON), saved and
//! restored while another process edits other services, every text as ipvsadm prints it; and
//! one firewall-mark service with 100,000 real servers listed complete and exact.
//!
//! The tables are loaded with `ipvsctl -R`, each into a fresh namespace (the kernel keeps
//! deleted real servers in a per-namespace trash for minutes and walks it on every add). The
//! VIPs vary in their low byte, as real ones do, so the services spread over the 256 chains of
//! the kernel's service hash (as tests/perf/gen.awk makes the benchmark sets).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ipvs::{Forward, ServiceKey, State};

use crate::harness::{require_ipvs, NetNs};

/// TCP services on port 80 (scheduler wrr), each with `dests` masquerading real servers on port
/// 8080 with weight 1, as `ipvsadm -S -n` prints them. Service `i`'s VIP is the `i+1`-th
/// address after `vip_base`; real servers are numbered on from `rip_base`.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub services: usize,
    pub dests: usize,
    pub vip_base: Ipv4Addr,
    pub rip_base: Ipv4Addr,
}

impl Table {
    pub fn vip(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.vip_base) + i as u32 + 1)
    }

    pub fn rip(&self, i: usize, j: usize) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.rip_base) + (i * self.dests + j) as u32 + 1)
    }

    /// The `-S -n` lines of the table, in the order `-R` loads them.
    pub fn rules(&self) -> String {
        self.rules_weighted(1)
    }

    /// [`Table::rules`] with every real server at `weight`.
    pub fn rules_weighted(&self, weight: u32) -> String {
        let mut text = String::with_capacity(self.services * (self.dests + 1) * 48);
        for i in 0..self.services {
            let vip = self.vip(i);
            text.push_str(&format!("-A -t {vip}:80 -s wrr\n"));
            for j in 0..self.dests {
                text.push_str(&format!(
                    "-a -t {vip}:80 -r {}:8080 -m -w {weight}\n",
                    self.rip(i, j)
                ));
            }
        }
        text
    }

    /// Each service's `addr:port` with its real servers' `addr:port`, sorted.
    pub fn expected(&self) -> BTreeMap<String, Vec<String>> {
        (0..self.services)
            .map(|i| {
                let mut dests: Vec<String> = (0..self.dests)
                    .map(|j| format!("{}:8080", self.rip(i, j)))
                    .collect();
                dests.sort();
                (format!("{}:80", self.vip(i)), dests)
            })
            .collect()
    }
}

/// Runs `program args` in the namespace with `input` on its standard input: status, stdout,
/// stderr.
pub fn exec_with_input(ns: &NetNs, program: &str, args: &[&str], input: &str) -> Output {
    let child = Command::new("ip")
        .args(["netns", "exec", ns.name(), program])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    feed_and_wait(child, input)
}

/// What a program left behind: exit status (-1 when killed by a signal), stdout, stderr.
pub type Output = (i32, String, String);

/// Writes `input` to the child's stdin (from a thread, while its output is read), then waits.
pub fn feed_and_wait(mut child: Child, input: &str) -> Output {
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        // A program that stops reading early shows in its status; a broken pipe is not ours.
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("wait for the child");
    writer.join().expect("the stdin writer");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `ipvsctl -R` of `rules` into the namespace; panics unless it succeeds.
pub fn restore(ns: &NetNs, rules: &str) {
    let (code, out, err) = exec_with_input(ns, "ipvsctl", &["-R"], rules);
    assert_eq!(code, 0, "ipvsctl -R: {out}{err}");
    assert_eq!(err, "", "ipvsctl -R said something on stderr");
}

/// The peak resident memory GNU time's `-v` reports for the program it ran, in KiB (GNU time is
/// `/bin/gnu-time` in the VM, shipped by tests/run: busybox's `time -v` reports four times the
/// real figure).
fn max_rss_kib(time_report: &str) -> u64 {
    time_report
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak memory in time's report:\n{time_report}"))
}

/// Runs `ipvsctl args` under `time -v` in the namespace: its stdout, and its peak RSS in KiB.
fn ipvsctl_measured(ns: &NetNs, args: &[&str]) -> (String, u64) {
    let mut all = vec!["-v", "ipvsctl"];
    all.extend_from_slice(args);
    let (code, out, err) = ns.exec("gnu-time", &all);
    assert_eq!(code, 0, "time -v ipvsctl {}: {err}", args.join(" "));
    (out, max_rss_kib(&err))
}

/// A listing's service blocks (header line, then its `  ->` lines) after the 3 header lines.
fn blocks(listing: &str) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    for line in listing.lines().skip(3) {
        match out.last_mut() {
            Some(b) if line.starts_with("  ->") => b.push(line),
            _ => out.push(vec![line]),
        }
    }
    out
}

/// The `addr:port` of a `-Ln` service header (`TCP  10.0.0.1:80 wrr`); `None` for other kinds.
fn tcp_service(header: &str) -> Option<&str> {
    header
        .strip_prefix("TCP  ")
        .and_then(|rest| rest.split_whitespace().next())
}

/// The blocks of a `-Ln` listing whose service is in `wanted`, in the listing's order.
fn blocks_of<'a>(listing: &'a str, wanted: &BTreeMap<String, Vec<String>>) -> Vec<Vec<&'a str>> {
    blocks(listing)
        .into_iter()
        .filter(|b| tcp_service(b[0]).is_some_and(|s| wanted.contains_key(s)))
        .collect()
}

/// Asserts that a `-Ln` listing shows each of `wanted`'s services exactly once, with exactly
/// its real servers (Masq, weight 1); counts the duplicates and the missing ones before failing.
fn assert_each_once(what: &str, listing: &str, wanted: &BTreeMap<String, Vec<String>>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut wrong = Vec::new();
    for b in blocks_of(listing, wanted) {
        let svc = tcp_service(b[0]).unwrap();
        *seen.entry(svc).or_default() += 1;
        let mut dests: Vec<String> = Vec::new();
        for d in &b[1..] {
            let f: Vec<&str> = d.split_whitespace().collect();
            if f.len() != 6 || f[2] != "Masq" || f[3] != "1" {
                wrong.push(format!("{svc}: {d:?}"));
            }
            dests.push(f.get(1).unwrap_or(&"").to_string());
        }
        dests.sort();
        if dests != wanted[svc] {
            wrong.push(format!("{svc}: real servers {dests:?}"));
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    let missing: Vec<_> = wanted
        .keys()
        .filter(|k| !seen.contains_key(k.as_str()))
        .collect();
    assert!(
        twice.is_empty() && missing.is_empty() && wrong.is_empty(),
        "{what}: {} services listed more than once {:?}, {} missing {:?}, {} wrong {:?}",
        twice.len(),
        twice.iter().take(5).collect::<Vec<_>>(),
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>(),
        wrong.len(),
        wrong.iter().take(5).collect::<Vec<_>>()
    );
}

/// Another process (a shell loop of ipvsctl commands in the namespace) that edits services
/// outside the big table until told to stop: it counts its rounds in a file.
///
/// Its services: a pool of 16 TCP services (10.99.0.1-16:80, made before any listing) whose
/// scheduler it edits and whose real servers it adds, edits and deletes, and firewall-mark
/// services it adds and deletes. It adds and deletes no address service during a listing: the
/// kernel (6.1) resumes each part of a service dump at an index into a hash table shared by every
/// namespace, so an address service added or deleted between two parts makes the dump repeat or
/// skip another service. ipvsadm 1.31 and ipvsctl then both list some of the 20,000 twice and
/// miss others (seen here: 2-3 of each per listing with such a writer); firewall-mark services
/// live in a second table, dumped after the first.
struct Writer {
    child: Child,
    dir: String,
}

/// The writer's loop; a pause after each command leaves the (single) CPU mostly to the listings.
const WRITER: &str = r#"
set -u
dir=$1
c() { ipvsctl "$@" || echo "writer: ipvsctl $*" >>"$dir/errors"; sleep 0.1; }
for p in $(seq 1 16); do c -A -t 10.99.0.$p:80 -s rr; done
k=0
: >"$dir/ready"
while [ ! -e "$dir/stop" ]; do
  p=$((k % 16 + 1)) r=192.168.$((k % 200)).$((k % 250 + 1))
  c -a -t 10.99.0.$p:80 -r $r:80 -m -w 1
  c -e -t 10.99.0.$p:80 -r $r:80 -m -w 3
  c -E -t 10.99.0.$p:80 -s $([ $((k % 2)) = 0 ] && echo wlc || echo rr)
  c -A -f $((1000 + k)) -s rr
  [ $k = 0 ] || c -D -f $((999 + k))
  c -d -t 10.99.0.$p:80 -r $r:80
  k=$((k + 1))
  echo $k >"$dir/count.new" && mv "$dir/count.new" "$dir/count"
done
"#;

impl Writer {
    fn start(ns: &NetNs) -> Writer {
        let dir = format!("/tmp/ipvst-writer-{}", ns.name());
        std::fs::create_dir_all(&dir).expect("writer dir");
        std::fs::write(format!("{dir}/loop.sh"), WRITER).expect("writer script");
        let child = Command::new("ip")
            .args(["netns", "exec", ns.name(), "bash"])
            .arg(format!("{dir}/loop.sh"))
            .arg(&dir)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the writer");
        let w = Writer { child, dir };
        crate::support::wait_for("the writer to start", Duration::from_secs(120), || {
            std::path::Path::new(&format!("{}/ready", w.dir))
                .exists()
                .then_some(())
        });
        w
    }

    /// How many rounds of edits the writer has finished.
    fn rounds(&self) -> u64 {
        std::fs::read_to_string(format!("{}/count", self.dir))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Runs `f` while the writer works, and asserts that it finished rounds of edits meanwhile.
    fn during<T>(&self, what: &str, f: impl FnOnce() -> T) -> T {
        let before = self.rounds();
        let out = f();
        // A round is 6 ipvsctl commands; the listing must have overlapped some.
        let after = self.rounds();
        assert!(
            after > before,
            "the writer made no edit during {what} ({before} rounds before and after)"
        );
        eprintln!(
            "scale: {what}: the writer made {} rounds meanwhile",
            after - before
        );
        out
    }

    /// Stops the loop and asserts that every command it ran succeeded; returns its rounds.
    fn stop(mut self) -> u64 {
        std::fs::write(format!("{}/stop", self.dir), "").expect("stop file");
        let status = self.child.wait().expect("wait for the writer");
        assert!(status.success(), "the writer exited {status}");
        let errors = std::fs::read_to_string(format!("{}/errors", self.dir)).unwrap_or_default();
        assert_eq!(errors, "", "the writer's commands failed");
        let rounds = self.rounds();
        let _ = std::fs::remove_dir_all(&self.dir);
        rounds
    }
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    eprintln!("scale: {what}: {:?}", start.elapsed());
    out
}

/// `ip:port` of a service key from a JSON listing, as `-Ln` prints it.
fn key_text(key: &ServiceKey) -> Option<String> {
    match *key {
        ServiceKey::Addr {
            addr: IpAddr::V4(a),
            port,
            protocol: ipvs::Protocol::Tcp,
        } => Some(format!("{a}:{port}")),
        _ => None,
    }
}

#[test]
fn scale_20000_services_x5_listed_saved_restored_as_ipvsadm_while_another_process_edits() {
    require_ipvs();
    let table = Table {
        services: 20_000,
        dests: 5,
        vip_base: Ipv4Addr::new(10, 0, 0, 0),
        rip_base: Ipv4Addr::new(172, 16, 0, 0),
    };
    let rules = table.rules();
    let wanted = table.expected();
    let ns = NetNs::new();
    timed("ipvsctl -R of 20000 x 5", || restore(&ns, &rules));

    let writer = Writer::start(&ns);
    let (text, text_rss) = writer.during("ipvsctl -Ln", || {
        timed("ipvsctl -Ln", || ipvsctl_measured(&ns, &["-Ln"]))
    });
    assert_each_once("ipvsctl -Ln", &text, &wanted);

    // The JSON listing, read as it comes (it is tens of megabytes), into the library's state.
    let (state, json_rss) = writer.during("ipvsctl -Ln --json", || {
        timed("ipvsctl -Ln --json", || {
            let mut child = Command::new("ip")
                .args(["netns", "exec", ns.name(), "gnu-time", "-v"])
                .args(["ipvsctl", "-Ln", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run ipvsctl -Ln --json");
            let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().unwrap());
            let parsed = serde_json::from_reader::<_, State>(stdout);
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            let status = child.wait().unwrap();
            assert!(status.success(), "ipvsctl -Ln --json: {status}: {err}");
            let state = parsed.unwrap_or_else(|e| panic!("the JSON listing does not parse: {e}"));
            (state, max_rss_kib(&err))
        })
    });

    let ipvsadm_text = writer.during("ipvsadm -Ln", || {
        timed("ipvsadm -Ln", || ns.ipvsadm_ok(&["-Ln"]))
    });
    assert_each_once("ipvsadm -Ln", &ipvsadm_text, &wanted);
    let ours = blocks_of(&text, &wanted);
    let theirs = blocks_of(&ipvsadm_text, &wanted);
    assert_eq!(text.lines().next(), ipvsadm_text.lines().next());
    assert!(
        ours == theirs,
        "ipvsctl -Ln and ipvsadm -Ln list the 20000 services differently"
    );

    // The JSON listing has the same services, in the same order, with the same real servers.
    let from_json: Vec<(String, Vec<String>)> = state
        .services
        .iter()
        .filter_map(|s| {
            let key = key_text(&s.service.key).filter(|k| wanted.contains_key(k))?;
            let mut dests: Vec<String> = s
                .destinations
                .iter()
                .map(|d| {
                    assert_eq!(
                        (d.forward, d.weight, s.service.scheduler.name()),
                        (Forward::Masquerade, 1, "wrr"),
                        "{key}: {d:?}"
                    );
                    format!("{}:{}", d.addr, d.port)
                })
                .collect();
            dests.sort();
            Some((key, dests))
        })
        .collect();
    let from_text: Vec<(String, Vec<String>)> = ours
        .iter()
        .map(|b| {
            let mut dests: Vec<String> = b[1..]
                .iter()
                .map(|d| d.split_whitespace().nth(1).unwrap().to_string())
                .collect();
            dests.sort();
            (tcp_service(b[0]).unwrap().to_string(), dests)
        })
        .collect();
    assert_eq!(from_json.len(), table.services);
    assert!(
        from_json == from_text,
        "ipvsctl -Ln --json and -Ln show the 20000 services differently"
    );
    drop(state);

    let saved = writer.during("ipvsctl -S -n", || {
        timed("ipvsctl -S -n", || ns.exec_ok("ipvsctl", &["-S", "-n"]))
    });
    let rounds = writer.stop();
    eprintln!("scale: the writer made {rounds} rounds of edits in all");
    let twenty_k: BTreeSet<&str> = wanted.keys().map(String::as_str).collect();
    let in_table = |line: &&str| {
        line.split_whitespace()
            .nth(2)
            .is_some_and(|s| twenty_k.contains(s))
    };
    let mut saved_20k: Vec<&str> = saved.lines().filter(in_table).collect();
    let mut generated: Vec<&str> = rules.lines().collect();
    saved_20k.sort_unstable();
    generated.sort_unstable();
    assert!(
        saved_20k == generated,
        "ipvsctl -S -n does not give back the 20000 x 5 loaded ({} lines of them, {} loaded)",
        saved_20k.len(),
        generated.len()
    );
    drop(ns);

    // Restored into a fresh namespace (the writer's services left included), the table is
    // still: ipvsadm saves it as ipvsctl did, byte for byte.
    let fresh = NetNs::new();
    timed("ipvsctl -R of the save", || restore(&fresh, &saved));
    let again = timed("ipvsadm -S -n after the restore", || {
        fresh.ipvsadm_ok(&["-S", "-n"])
    });
    assert!(
        again == saved,
        "ipvsadm -S -n of the restored table is not ipvsctl's save ({} lines, {} saved)",
        again.lines().count(),
        saved.lines().count()
    );
    eprintln!(
        "scale: 20000 x 5: -Ln {} services {} real servers; peak RSS of ipvsctl -Ln {} KiB, -Ln \
         --json {} KiB; saved {} lines",
        ours.len(),
        ours.iter().map(|b| b.len() - 1).sum::<usize>(),
        text_rss,
        json_rss,
        saved.lines().count()
    );
}

/// 20,000 destinations here: the kernel's load of one service's destinations is quadratic
/// (100,000 took 15 of CI's minutes for this one test). The 100,000-destination listing, byte
/// for byte against ipvsadm's, is `./tests/bench`'s default set `fw100k`.
#[test]
fn scale_one_fwmark_service_with_20000_destinations_is_listed_complete_and_exact() {
    require_ipvs();
    const DESTS: usize = 20_000;
    let ns = NetNs::new();
    let rip = |j: usize| Ipv4Addr::from(u32::from(Ipv4Addr::new(172, 20, 0, 0)) + j as u32 + 1);
    // Weights and ports vary, so that a real server listed with another's fields shows.
    let line = |j: usize| {
        format!(
            "-a -f 1 -r {}:{} -m -w {}\n",
            rip(j),
            8000 + j % 1000,
            j % 7 + 1
        )
    };
    let mut rules = String::from("-A -f 1 -s rr\n");
    for j in 0..DESTS {
        rules.push_str(&line(j));
    }
    // Loaded in ten parts, each one `ipvsctl -R`: the kernel looks for each new real server in
    // the service's list first, so each part costs more than the one before; the times show it.
    let start = Instant::now();
    let part = DESTS / 10;
    for p in 0..10 {
        let mut text = if p == 0 {
            String::from("-A -f 1 -s rr\n")
        } else {
            String::new()
        };
        for j in p * part..(p + 1) * part {
            text.push_str(&line(j));
        }
        timed(
            &format!(
                "ipvsctl -R of real servers {}..{}",
                p * part,
                (p + 1) * part
            ),
            || restore(&ns, &text),
        );
    }
    eprintln!("scale: loading 1 x {DESTS}: {:?}", start.elapsed());

    let saved = timed("ipvsctl -S -n", || ns.exec_ok("ipvsctl", &["-S", "-n"]));
    let mut saved_lines: Vec<&str> = saved.lines().collect();
    let mut generated: Vec<&str> = rules.lines().collect();
    assert_eq!(saved_lines.len(), DESTS + 1);
    saved_lines.sort_unstable();
    generated.sort_unstable();
    assert!(
        saved_lines == generated,
        "ipvsctl -S -n does not give back the {DESTS} real servers loaded"
    );

    let (text, rss) = timed("ipvsctl -Ln", || ipvsctl_measured(&ns, &["-Ln"]));
    let ipvsadm_text = timed("ipvsadm -Ln", || ns.ipvsadm_ok(&["-Ln"]));
    assert_eq!(text.lines().count(), 3 + 1 + DESTS);
    assert!(
        text == ipvsadm_text,
        "ipvsctl -Ln and ipvsadm -Ln differ for {DESTS} real servers"
    );
    // Each real server once, with its own port and weight.
    let listed: BTreeSet<String> = text
        .lines()
        .skip(4)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {}", f[1], f[3])
        })
        .collect();
    let want: BTreeSet<String> = (0..DESTS)
        .map(|j| format!("{}:{} {}", rip(j), 8000 + j % 1000, j % 7 + 1))
        .collect();
    assert_eq!(listed.len(), DESTS);
    assert!(
        listed == want,
        "the listed real servers are not the loaded ones"
    );

    // The library reads the same destinations.
    let ipvs = crate::support::open(&ns);
    let dests = timed("Ipvs::destinations", || {
        ipvs.destinations(&ServiceKey::fwmark(1, ipvs::Family::Inet))
            .expect("destinations")
    });
    let from_lib: BTreeSet<String> = dests
        .iter()
        .map(|d| {
            format!(
                "{}:{} {}",
                d.destination.addr, d.destination.port, d.destination.weight
            )
        })
        .collect();
    assert_eq!(dests.len(), DESTS);
    assert!(
        from_lib == want,
        "the library's real servers are not the loaded ones"
    );
    eprintln!("scale: 1 x {DESTS}: listed {DESTS} real servers; peak RSS of ipvsctl -Ln {rss} KiB");
}
