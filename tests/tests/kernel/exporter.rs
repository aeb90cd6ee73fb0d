//! `ipvsctl exporter` and `ipvsctl --watch` against the real kernel: the binary the VM has in
//! /bin/ipvsctl, real HTTP traffic through a masquerading service (the demo's topology in one
//! namespace, as in traffic.rs), scrapes of /metrics over a plain TCP connection, Debian's
//! `promtool check metrics` on what was scraped, the uid after `--user`, `--netns` twice, and
//! the NDJSON stream across a zero.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ipvs::{Destination, Forward, Service, ServiceKey};

use crate::harness::{require_ipvs, run, NetNs};
use crate::served::*;
use crate::support::*;

const IPVSCTL: &str = "/bin/ipvsctl";
const BODY: &str = "hello from a real server";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A process of this test, killed (by its id) and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn stderr_so_far(&mut self) -> String {
        // Only called once the process has ended (or after kill).
        let _ = self.0.kill();
        let _ = self.0.wait();
        let mut s = String::new();
        if let Some(e) = self.0.stderr.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }
}

impl Daemon for Proc {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn ended(&mut self) -> Option<String> {
        match self.0.try_wait() {
            Ok(None) => None,
            _ => Some(self.stderr_so_far()),
        }
    }
}

/// Starts `ipvsctl exporter ARGS`, inside `ns` when given.
fn exporter(ns: Option<&NetNs>, args: &[&str]) -> Proc {
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns.name(), IPVSCTL]);
            c
        }
        None => Command::new(IPVSCTL),
    };
    cmd.arg("exporter")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    Proc(cmd.spawn().expect("start ipvsctl exporter"))
}

/// One HTTP/1.0 GET over a plain TCP connection: the status line, the headers and the body.
pub(crate) fn get(
    at: SocketAddr,
    path: &str,
    accept: Option<&str>,
) -> std::io::Result<(String, String)> {
    let mut s = TcpStream::connect_timeout(&at, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {at}\r\n{accept}\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no end of headers in {text:?}")))?;
    Ok((head.to_string(), body.to_string()))
}

/// Scrapes /metrics (from inside `ns` when given), waiting for the exporter to listen.
fn scrape(ns: Option<&NetNs>, at: SocketAddr, accept: Option<&str>) -> (String, String) {
    let once = || get(at, "/metrics", accept).ok();
    wait_for(
        "the exporter to answer",
        Duration::from_secs(30),
        || match ns {
            Some(ns) => ns.enter(once),
            None => once(),
        },
    )
}

/// The value of the sample `series` (`name{labels}` exactly as printed), if present.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{series} = {v:?}"))
        })
}

/// `promtool check metrics` (Debian's prometheus package, shipped into the VM by tests/run)
/// on a scrape: it must exit 0 and report no problem.
pub(crate) fn promtool_accepts(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be in the VM (tests/run ships it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {:?}\n{said}",
        out.status
    );
}

/// The `Uid:` or `Gid:` line of /proc/PID/status: real, effective, saved, filesystem.
fn ids(pid: u32, which: &str) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(which))
        .expect("id line")
        .split_whitespace()
        .map(|v| v.parse().expect("id"))
        .collect()
}

/// The kernel's rate estimates (the ten `*_per_second` gauges) only with `--rates`: an exporter
/// without it and one with it on the same table, traffic through the service; both bodies pass
/// promtool, in both formats, and the estimates are the kernel's (above zero with traffic).
#[test]
fn exporter_writes_the_kernels_estimates_only_with_rates() {
    require_ipvs();
    let (ns, reals) = web_lab(12);
    let plain = SocketAddr::from((ip("127.0.0.1"), 9763));
    let rated = SocketAddr::from((ip("127.0.0.1"), 9764));
    let mut without = exporter(Some(&ns), &["--listen", "127.0.0.1:9763"]);
    let mut with = exporter(Some(&ns), &["--listen", "127.0.0.1:9764", "--rates"]);
    let svc = r#"local_address="10.12.0.100",local_port="80",proto="TCP",local_mark="""#;
    let vip = SocketAddr::from((ip("10.12.0.100"), 80));
    // Traffic until the kernel's estimate (folded every 2 s) shows it.
    let text = wait_for(
        "the service's estimate of incoming bytes per second to be above 0",
        Duration::from_secs(60),
        || {
            for _ in 0..4 {
                let (conn, answer) = http_get(&ns, vip);
                assert!(answer.ends_with(BODY), "{answer:?}");
                drop(conn);
            }
            let (_, text) = scrape(Some(&ns), rated, None);
            let series = format!("ipvs_service_incoming_bytes_per_second{{{svc}}}");
            sample(&text, &series)
                .is_some_and(|v| v > 0.0)
                .then_some(text)
        },
    );
    let kinds = [
        "connections",
        "incoming_packets",
        "outgoing_packets",
        "incoming_bytes",
        "outgoing_bytes",
    ];
    for kind in kinds {
        let name = format!("ipvs_service_{kind}_per_second");
        assert!(
            text.contains(&format!("# TYPE {name} gauge\n")),
            "{name}\n{text}"
        );
        assert!(
            sample(&text, &format!("{name}{{{svc}}}")).is_some(),
            "{name}\n{text}"
        );
        for r in &reals {
            let d = format!(
                r#"{svc},remote_address="{}",remote_port="{}""#,
                r.ip(),
                r.port()
            );
            let name = format!("ipvs_backend_{kind}_per_second");
            assert!(
                sample(&text, &format!("{name}{{{d}}}")).is_some(),
                "{name}\n{text}"
            );
        }
    }
    promtool_accepts(&text);
    let (_, plain_text) = scrape(Some(&ns), plain, None);
    assert!(!plain_text.contains("_per_second"), "{plain_text}");
    // The rest is there: the same counters.
    let series = format!("ipvs_service_connections_total{{{svc}}}");
    assert!(
        sample(&plain_text, &series).is_some_and(|v| v > 0.0),
        "{plain_text}"
    );
    promtool_accepts(&plain_text);
    // OpenMetrics: the same families, the same choice.
    let om = Some("application/openmetrics-text; version=1.0.0");
    let (head, om_with) = scrape(Some(&ns), rated, om);
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(om_with.ends_with("# EOF\n"), "{om_with}");
    assert_eq!(
        om_with
            .lines()
            .filter(|l| l.starts_with("# TYPE ") && l.contains("_per_second "))
            .count(),
        10,
        "{om_with}"
    );
    let (head, om_without) = scrape(Some(&ns), plain, om);
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(om_without.ends_with("# EOF\n"), "{om_without}");
    assert!(!om_without.contains("_per_second"), "{om_without}");
    for p in [&mut without, &mut with] {
        assert!(
            p.0.try_wait().expect("try_wait").is_none(),
            "an exporter ended"
        );
    }
}

/// A namespace with the service 10.`net`.0.100:80 (round robin, masquerading) over two HTTP
/// servers of this process at 10.`net`.0.11 and .12, port 8080: the namespace and the real
/// servers.
fn web_lab(net: u8) -> (NetNs, [SocketAddr; 2]) {
    let ns = NetNs::new();
    let addr = |host: u8| format!("10.{net}.0.{host}/24");
    add_dummy(&ns, "lan0", &[&addr(1), &addr(11), &addr(12), &addr(100)]);
    let reals = [11, 12].map(|h| SocketAddr::from((IpAddr::from([10, net, 0, h]), 8080)));
    for r in reals {
        http_server(&ns, r, BODY);
    }
    let ipvs = open(&ns);
    let key = ServiceKey::tcp(IpAddr::from([10, net, 0, 100]), 80);
    ipvs.add_service(&Service::new(key).with_scheduler("rr"))
        .expect("add_service");
    for r in reals {
        ipvs.add_destination(
            &key,
            &Destination::new(r.ip(), r.port()).with_forward(Forward::Masquerade),
        )
        .expect("add_destination");
    }
    (ns, reals)
}

#[test]
fn exporter_counts_real_traffic_per_destination_drops_root_and_promtool_accepts_it() {
    require_ipvs();
    let (ns, reals) = web_lab(8);

    let listen = SocketAddr::from((ip("127.0.0.1"), 9761));
    let mut proc = exporter(
        Some(&ns),
        &["--listen", "127.0.0.1:9761", "--user", "65534"],
    );
    let (head, first) = scrape(Some(&ns), listen, None);
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{head}"
    );
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");

    // Root dropped for good: real, effective, saved and filesystem ids are 65534, and of the
    // capabilities only CAP_NET_ADMIN (bit 12) is left, which every IPVS request needs.
    let pid = proc.0.id();
    assert_eq!(ids(pid, "Uid:"), [65534; 4], "{}", proc.stderr_so_far());
    assert_eq!(ids(pid, "Gid:"), [65534; 4]);
    let caps = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    for set in ["CapEff", "CapPrm"] {
        assert!(
            caps.contains(&format!("{set}:\t0000000000001000\n")),
            "{caps}"
        );
    }
    assert!(caps.contains("CapInh:\t0000000000000000\n"), "{caps}");
    assert!(caps.contains("CapBnd:\t0000000000001000\n"), "{caps}");

    let svc = r#"local_address="10.8.0.100",local_port="80",proto="TCP",local_mark="""#;
    let dest = |r: &SocketAddr| {
        format!(
            r#"{svc},remote_address="{}",remote_port="{}""#,
            r.ip(),
            r.port()
        )
    };
    for r in &reals {
        let series = format!("ipvs_backend_connections_total{{{}}}", dest(r));
        assert_eq!(sample(&first, &series), Some(0.0), "{series}\n{first}");
        let weight = format!("ipvs_backend_weight{{{}}}", dest(r));
        assert_eq!(sample(&first, &weight), Some(1.0), "{first}");
    }
    assert_eq!(sample(&first, "ipvs_up"), Some(1.0), "{first}");

    // Real HTTP requests through the virtual service, round robin over the two real servers.
    const REQUESTS: u64 = 6;
    let vip = SocketAddr::from((ip("10.8.0.100"), 80));
    for _ in 0..REQUESTS {
        let (conn, answer) = http_get(&ns, vip);
        assert!(answer.ends_with(BODY), "{answer:?}");
        drop(conn);
    }
    // The kernel folds packets into what it reports every 2 s, the service's and each
    // destination's at their own tick of that period: scrape until it has folded them all.
    let grown = wait_for(
        "the service's and per-destination counters to grow",
        Duration::from_secs(30),
        || {
            let (_, text) = scrape(Some(&ns), listen, None);
            let service_grown = sample(&text, &format!("ipvs_service_connections_total{{{svc}}}"))
                == Some(REQUESTS as f64);
            (service_grown
                && reals.iter().all(|r| {
                    let d = dest(r);
                    sample(&text, &format!("ipvs_backend_connections_total{{{d}}}"))
                        == Some((REQUESTS / 2) as f64)
                        && sample(
                            &text,
                            &format!("ipvs_backend_incoming_packets_total{{{d}}}"),
                        )
                        .is_some_and(|v| v >= 4.0 * (REQUESTS / 2) as f64)
                        && sample(&text, &format!("ipvs_backend_outgoing_bytes_total{{{d}}}"))
                            .is_some_and(|v| v >= (BODY.len() as u64 * REQUESTS / 2) as f64)
                }))
            .then_some(text)
        },
    );
    assert_eq!(
        sample(&grown, &format!("ipvs_service_connections_total{{{svc}}}")),
        Some(REQUESTS as f64)
    );
    let bytes_in = sample(
        &grown,
        &format!("ipvs_service_incoming_bytes_total{{{svc}}}"),
    )
    .expect("service bytes");
    assert!(bytes_in > 0.0);
    assert_eq!(sample(&grown, "ipvs_exporter_backends"), Some(2.0));
    assert!(sample(&grown, r#"ipvs_timeout_seconds{timeout="tcp"}"#).is_some());
    assert_eq!(
        sample(&grown, r#"ipvs_sync_daemon_up{state="master"}"#),
        Some(0.0)
    );
    println!("scrape after {REQUESTS} requests (excerpt):");
    for l in grown
        .lines()
        .filter(|l| l.contains("10.8.0.1") && !l.starts_with('#'))
    {
        println!("  {l}");
    }
    promtool_accepts(&grown);

    // OpenMetrics when asked, and answers to other paths and methods that do not end it.
    let (head, om) = scrape(
        Some(&ns),
        listen,
        Some("application/openmetrics-text; version=1.0.0"),
    );
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(om.ends_with("# EOF\n"), "{om}");
    let (head, _) = ns
        .enter(|| get(listen, "/nothing", None))
        .expect("GET /nothing");
    assert!(head.contains(" 404"), "{head}");
    ns.enter(|| {
        // A malformed request, then a client that says nothing and goes away.
        if let Ok(mut s) = TcpStream::connect(listen) {
            let _ = s.write_all(b"\x00\x01garbage\r\n\r\n");
        }
        drop(TcpStream::connect(listen));
    });
    // And a client that connects and stays silent does not hold up a scrape.
    let _silent = ns.enter(|| TcpStream::connect(listen).expect("connect"));
    let (head, again) = scrape(Some(&ns), listen, None);
    assert!(head.contains(" 200"), "{head}");
    assert!(sample(&again, "ipvs_up") == Some(1.0));
    assert!(
        proc.0.try_wait().expect("try_wait").is_none(),
        "the exporter ended"
    );
}

#[test]
fn exporter_labels_each_of_two_namespaces() {
    require_ipvs();
    let a = NetNs::new();
    let b = NetNs::new();
    for (ns, vip) in [(&a, "10.9.0.1"), (&b, "10.9.0.2")] {
        open(ns)
            .add_service(&Service::new(ServiceKey::tcp(ip(vip), 443)))
            .expect("add_service");
    }
    let listen = SocketAddr::from((ip("127.0.0.1"), 19762));
    let _proc = exporter(
        None,
        &[
            "--listen",
            "127.0.0.1:19762",
            "--netns",
            a.name(),
            "--netns",
            b.name(),
        ],
    );
    let (_, text) = scrape(None, listen, None);
    for (ns, vip, other) in [(&a, "10.9.0.1", "10.9.0.2"), (&b, "10.9.0.2", "10.9.0.1")] {
        let n = ns.name();
        let series = |addr: &str| {
            format!(
                r#"ipvs_service_connections_total{{netns="{n}",local_address="{addr}",local_port="443",proto="TCP",local_mark=""}}"#
            )
        };
        assert_eq!(sample(&text, &series(vip)), Some(0.0), "{text}");
        assert_eq!(sample(&text, &series(other)), None, "{text}");
        assert_eq!(
            sample(&text, &format!(r#"ipvs_up{{netns="{n}"}}"#)),
            Some(1.0)
        );
    }
    promtool_accepts(&text);
}

#[test]
fn watch_json_count_3_gives_three_lines_with_non_negative_rates_across_a_zero() {
    require_ipvs();
    let ns = NetNs::new();
    add_dummy(
        &ns,
        "lan0",
        &["10.10.0.1/24", "10.10.0.11/24", "10.10.0.100/24"],
    );
    let real = SocketAddr::from((ip("10.10.0.11"), 8080));
    http_server(&ns, real, BODY);
    let ipvs = open(&ns);
    let key = ServiceKey::tcp(ip("10.10.0.100"), 80);
    ipvs.add_service(&Service::new(key)).expect("add_service");
    ipvs.add_destination(
        &key,
        &Destination::new(real.ip(), real.port()).with_forward(Forward::Masquerade),
    )
    .expect("add_destination");
    for _ in 0..3 {
        let (conn, answer) = http_get(&ns, SocketAddr::from((ip("10.10.0.100"), 80)));
        assert!(answer.ends_with(BODY), "{answer:?}");
        drop(conn);
    }
    // Counters the listing shows (they lag up to 2 s), so that the zero takes them back.
    wait_for("the listed counters", Duration::from_secs(10), || {
        let s = ipvs.state().expect("state");
        (s[0].entry.stats.conns == 3 && s[0].entry.stats.in_bytes > 0).then_some(())
    });

    let mut child = Command::new("ip")
        .args(["netns", "exec", ns.name(), IPVSCTL])
        .args(["-Ln", "--json", "--watch", "2", "--count", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ipvsctl --watch");
    let stdout = child.stdout.take().expect("stdout");
    let mut proc = Proc(child);
    let lines = BufReader::new(stdout).lines();
    let mut docs = Vec::new();
    for line in lines {
        let line = line.expect("read a line");
        let doc: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        if docs.is_empty() {
            // Zeroed right after the first read.
            ns.exec_ok(IPVSCTL, &["-Z"]);
        }
        docs.push(doc);
    }
    let status = proc.0.wait().expect("wait");
    assert!(status.success(), "{status:?}: {}", proc.stderr_so_far());
    assert_eq!(docs.len(), 3, "{docs:#?}");

    let svc = |d: &serde_json::Value| d["services"][0].clone();
    assert!(docs[0]["interval"].is_null());
    assert!(svc(&docs[0])["rates"].is_null());
    assert_eq!(svc(&docs[0])["stats"]["conns"], 3);
    let mut t = docs[0]["timestamp"].as_f64().expect("timestamp");
    for d in &docs[1..] {
        let now = d["timestamp"].as_f64().expect("timestamp");
        assert!(now > t, "timestamps go forward: {docs:#?}");
        t = now;
        assert!(d["interval"].as_f64().is_some_and(|i| i > 0.0));
        for rates in [
            svc(d)["rates"].clone(),
            svc(d)["destinations"][0]["rates"].clone(),
        ] {
            for f in [
                "conns",
                "in_packets",
                "out_packets",
                "in_bytes",
                "out_bytes",
            ] {
                let r = rates[f].as_f64().unwrap_or_else(|| panic!("{f}: {d}"));
                assert!((0.0..1e9).contains(&r), "{f} = {r}: {d}");
            }
        }
        // The kernel's own estimates are there beside the computed rates.
        assert!(svc(d)["stats"]["cps"].is_u64());
    }
    // The zero is seen: a later read has fewer connections than the first.
    assert!(
        docs[1..]
            .iter()
            .any(|d| svc(d)["stats"]["conns"].as_u64().is_some_and(|c| c < 3)),
        "{docs:#?}"
    );
    // Text, not on a terminal: the listings one after the other, no terminal escapes.
    let text = ns.exec_ok(IPVSCTL, &["-Ln", "--watch", "0.5", "--count", "2"]);
    assert_eq!(
        text.matches("IP Virtual Server version").count(),
        2,
        "{text}"
    );
    assert_eq!(text.matches("TCP  10.10.0.100:80").count(), 2, "{text}");
    assert!(!text.contains('\x1b'), "{text:?}");
    // Another listing in JSON: its document on one line, with the time.
    let lines = ns.exec_ok(
        IPVSCTL,
        &[
            "-L",
            "--timeout",
            "--json",
            "--watch",
            "0.5",
            "--count",
            "2",
        ],
    );
    assert_eq!(lines.lines().count(), 2, "{lines}");
    for l in lines.lines() {
        let doc: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert_eq!(doc["tcp"], 900, "{l}");
        assert!(doc["timestamp"].as_f64().is_some_and(|t| t > 1.0e9), "{l}");
    }
    println!("ipvsctl -Ln --json --watch 2 --count 3 across a zero:");
    for d in &docs {
        println!("  {}", serde_json::to_string(d).unwrap_or_default());
    }
}

#[test]
fn exporter_scrapes_2000_services_of_4_destinations_and_sums_past_max_series() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);
    let mut changes = Vec::new();
    for i in 0..2000u32 {
        let key = ServiceKey::tcp(
            IpAddr::from([10, 20, (i / 250) as u8, (i % 250) as u8 + 1]),
            80,
        );
        changes.push(ipvs::Change::AddService(
            Service::new(key).with_scheduler("rr"),
        ));
        for d in 1..=4u8 {
            changes.push(ipvs::Change::AddDestination {
                service: key,
                destination: Destination::new(
                    IpAddr::from([10, 30, (i / 250) as u8, d]),
                    8000 + (i % 250) as u16,
                )
                .with_forward(Forward::Masquerade),
            });
        }
    }
    for r in ipvs.apply(&changes).expect("apply") {
        r.expect("a change of the big table");
    }

    let listen = SocketAddr::from((ip("127.0.0.1"), 9761));
    let _proc = exporter(Some(&ns), &["--listen", "127.0.0.1:9761"]);
    scrape(Some(&ns), listen, None); // up and answering
    let started = std::time::Instant::now();
    let (_, text) = scrape(Some(&ns), listen, None);
    let http = started.elapsed();
    let read = sample(&text, "ipvs_exporter_scrape_duration_seconds").expect("duration");
    let started = std::time::Instant::now();
    let listing = ns.exec_ok(IPVSCTL, &["-Ln", "--stats"]);
    let ipvsctl = started.elapsed();
    assert_eq!(
        listing.lines().count(),
        3 + 2000 * 5,
        "{}",
        &listing[..300.min(listing.len())]
    );
    assert_eq!(sample(&text, "ipvs_exporter_backends"), Some(8000.0));
    assert_eq!(sample(&text, "ipvs_exporter_backends_summed"), Some(0.0));
    let series = |t: &str, name: &str| {
        t.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .count()
    };
    assert_eq!(series(&text, "ipvs_backend_connections_total"), 8000);
    assert_eq!(series(&text, "ipvs_service_connections_total"), 2000);
    promtool_accepts(&text);
    println!(
        "2000 services x 4 destinations: scrape {:.3} s over HTTP ({} bytes; kernel read {read:.3} s), \
         ipvsctl -Ln --stats {:.3} s",
        http.as_secs_f64(),
        text.len(),
        ipvsctl.as_secs_f64()
    );
    drop(_proc);

    // The same table with a cap below its 8000 destinations: one series per service.
    let _proc = exporter(
        Some(&ns),
        &["--listen", "127.0.0.1:9761", "--max-series", "7999"],
    );
    let (_, text) = scrape(Some(&ns), listen, None);
    assert_eq!(sample(&text, "ipvs_exporter_backends_summed"), Some(1.0));
    assert_eq!(sample(&text, "ipvs_exporter_backends"), Some(8000.0));
    assert_eq!(series(&text, "ipvs_backend_connections_total"), 2000);
    let summed = r#"ipvs_backend_weight{local_address="10.20.0.1",local_port="80",proto="TCP",local_mark="",remote_address="",remote_port=""}"#;
    assert_eq!(
        sample(&text, summed),
        Some(4.0),
        "{}",
        &text[..2000.min(text.len())]
    );
}

/// A table of `services` TCP services with `per` masquerading destinations each, in one batch.
pub(crate) fn big_table(ns: &NetNs, services: u32, per: u8) {
    let ipvs = open(ns);
    let mut changes = Vec::new();
    for i in 0..services {
        let key = ServiceKey::tcp(
            IpAddr::from([10, 20, (i / 250) as u8, (i % 250) as u8 + 1]),
            80,
        );
        changes.push(ipvs::Change::AddService(
            Service::new(key).with_scheduler("rr"),
        ));
        for d in 1..=per {
            changes.push(ipvs::Change::AddDestination {
                service: key,
                destination: Destination::new(
                    IpAddr::from([10, 30, (i / 250) as u8, d]),
                    8000 + (i % 250) as u16,
                )
                .with_forward(Forward::Masquerade),
            });
        }
    }
    for r in ipvs.apply(&changes).expect("apply") {
        r.expect("a change of the big table");
    }
}

/// Starts `ipvsctl exporter ARGS` inside `ns` under the shell's `ulimit ULIMITS` (e.g. `-v
/// 400000`).
fn exporter_limited(ns: &NetNs, ulimits: &str, args: &[&str]) -> Proc {
    let script = format!("ulimit {ulimits} && exec \"$0\" exporter \"$@\"");
    let child = Command::new("ip")
        .args(["netns", "exec", ns.name(), "bash", "-c", &script, IPVSCTL])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ipvsctl exporter under ulimit");
    Proc(child)
}

/// The first line the exporter writes ("listening on ... at most N connections"), read from
/// its stderr, and N.
fn listening_line(proc: &mut Proc) -> (String, usize) {
    let stderr = proc.0.stderr.as_mut().expect("stderr");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stderr.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&line).into_owned();
    let n = connection_limit(&line);
    (line, n)
}

/// An honest scrape of /metrics (see [`honest_get`]), whole through its last metric.
fn honest(proc: &mut dyn Daemon, ns: &NetNs, at: SocketAddr, during: &str) -> usize {
    honest_get(proc, ns, at, "/metrics", during, &|text| {
        text.contains("\nipvs_exporter_scrape_duration_seconds ") && text.ends_with('\n')
    })
}

#[test]
fn exporter_answers_honest_scrapes_through_hostile_clients_and_a_kill_9() {
    require_ipvs();
    let ns = NetNs::new();
    // 500 services x 4: a scrape of MBs, which a client that does not read leaves in the
    // socket buffers.
    big_table(&ns, 500, 4);
    let at = SocketAddr::from((ip("127.0.0.1"), 9761));
    let args = ["--listen", "127.0.0.1:9761"];
    // Under a cap on its address space, as a request that made it grow would hit.
    let mut proc = exporter_limited(&ns, "-v 400000", &args);
    let (line, max) = listening_line(&mut proc);
    println!("{line} (limit {max})");
    scrape(Some(&ns), at, None);
    let size = honest(&mut proc, &ns, at, "no hostile client");
    assert!(size > 1_000_000, "a scrape of {size} bytes is too small");

    hostile_clients(&ns, at, &mut proc, &mut |proc, during, _| {
        honest(proc, &ns, at, during);
    });

    // kill -9, and a new exporter on the same address answers.
    proc.0.kill().expect("kill -9");
    let _ = proc.0.wait();
    proc = exporter(Some(&ns), &args);
    scrape(Some(&ns), at, None);
    honest(&mut proc, &ns, at, "restarted after kill -9");
    alive(&mut proc, "restarted");
}

#[test]
fn exporter_under_ulimit_n_40_answers_through_idle_connections_and_after() {
    require_ipvs();
    let ns = NetNs::new();
    big_table(&ns, 100, 4);
    let at = SocketAddr::from((ip("127.0.0.1"), 9761));
    let mut proc = exporter_limited(&ns, "-n 40", &["--listen", "127.0.0.1:9761"]);
    let (line, max) = listening_line(&mut proc);
    println!("{line}");
    assert!(
        max < 40,
        "a limit of {max} connections does not fit 40 descriptors"
    );
    scrape(Some(&ns), at, None);
    let idle = silent_clients(&ns, at, 20, b"");
    // Silent long enough (1 s) to be closed to make room.
    std::thread::sleep(Duration::from_secs(2));
    honest(&mut proc, &ns, at, "20 idle connections under ulimit -n 40");
    // More than the descriptors allow: the exporter closes the oldest idle ones, and its
    // accept loop goes on.
    let more = silent_clients(&ns, at, 60, b"");
    std::thread::sleep(Duration::from_secs(2));
    honest(&mut proc, &ns, at, "80 idle connections under ulimit -n 40");
    alive(&mut proc, "80 idle connections");
    drop(idle);
    drop(more);
    std::thread::sleep(Duration::from_secs(1));
    for i in 0..3 {
        honest(
            &mut proc,
            &ns,
            at,
            &format!("all closed under ulimit -n 40 ({i})"),
        );
    }
    alive(&mut proc, "all closed");
}

/// Sends `request` as is from inside `ns` and returns everything the server answered.
fn raw(ns: &NetNs, at: SocketAddr, request: &str) -> String {
    ns.enter(|| {
        let mut s = TcpStream::connect_timeout(&at, Duration::from_secs(5)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(request.as_bytes()).expect("write");
        let mut out = Vec::new();
        s.read_to_end(&mut out).expect("read");
        String::from_utf8_lossy(&out).into_owned()
    })
}

#[test]
fn exporter_writes_fwmarks_as_proc_does_and_speaks_http_as_prometheus_expects() {
    require_ipvs();
    let ns = NetNs::new();
    ns.ipvsadm_ok(&["-A", "-f", "10", "-s", "rr"]);
    ns.ipvsadm_ok(&["-a", "-f", "10", "-r", "10.40.0.11", "-g"]);
    // The kernel's own listing, which node_exporter (procfs) copies into local_mark.
    let proc_listing = ns.exec_ok("cat", &["/proc/net/ip_vs"]);
    assert!(proc_listing.contains("FWM  0000000A "), "{proc_listing}");

    let at = SocketAddr::from((ip("127.0.0.1"), 9761));
    let mut proc = exporter(Some(&ns), &["--listen", "127.0.0.1:9761"]);
    let (head, text) = scrape(Some(&ns), at, None);
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let fw = r#"local_address="",local_port="",proto="FWM",local_mark="0000000A""#;
    assert_eq!(
        sample(&text, &format!("ipvs_service_connections_total{{{fw}}}")),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"ipvs_backend_weight{{{fw},remote_address="10.40.0.11",remote_port="0"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    promtool_accepts(&text);

    // Prometheus 3's Accept header prefers OpenMetrics by q-value; info metrics typed info.
    let prometheus3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
        application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
        text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let (head, om) = scrape(Some(&ns), at, Some(prometheus3));
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(om.contains("\n# TYPE ipvs_version info\n"), "{om}");
    assert!(om.contains("\nipvs_version_info{version=\""), "{om}");
    assert!(om.ends_with("# EOF\n"));
    let (head, _) = scrape(
        Some(&ns),
        at,
        Some("text/plain;q=0.9, application/openmetrics-text;q=0.5"),
    );
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");

    // HEAD: the head GET would have, no body.
    let answer = raw(&ns, at, "HEAD /metrics HTTP/1.0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    assert!(answer.contains("text/plain; version=0.0.4"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "{answer}");
    // Other methods: 405 with Allow.
    let answer = raw(
        &ns,
        at,
        "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.0 405"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nallow: get, head\r\n"),
        "{answer}"
    );
    alive(&mut proc, "HEAD and POST");

    // The same namespace twice would repeat every series: refused before anything is opened.
    let (status, out, err) = run(
        IPVSCTL,
        &["exporter", "--netns", ns.name(), "--netns", ns.name()],
    );
    assert_eq!(status, 2, "{out}{err}");
    assert!(
        err.contains(&format!("--netns {} is given twice", ns.name())),
        "{err}"
    );
}

/// The Grafana dashboard of docs/, read when the tests are built.
const DASHBOARD: &str = include_str!("../../../docs/ipvsctl-exporter-dashboard.json");

/// Each panel's title and its queries' PromQL, from the dashboard's JSON model.
fn dashboard_queries() -> Vec<(String, String)> {
    let model: serde_json::Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut out = Vec::new();
    for panel in model["panels"].as_array().expect("panels") {
        let title = panel["title"]
            .as_str()
            .expect("a panel's title")
            .to_string();
        for target in panel["targets"].as_array().expect("a panel's targets") {
            let expr = target["expr"].as_str().expect("a target's expr");
            out.push((title.clone(), expr.to_string()));
        }
    }
    out
}

/// A query string's bytes as a URL's query wants them.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Prometheus' instant query API from inside `ns`: the `data.result` array.
fn prometheus_query(ns: &NetNs, at: SocketAddr, promql: &str) -> Vec<serde_json::Value> {
    let path = format!("/api/v1/query?query={}", url_encode(promql));
    let (head, body) = ns
        .enter(|| get(at, &path, None))
        .unwrap_or_else(|e| panic!("query {promql}: {e}"));
    assert!(head.contains(" 200"), "{promql}: {head}\n{body}");
    let answer: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{promql}: {e}: {body}"));
    assert_eq!(answer["status"], "success", "{promql}: {body}");
    answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn grafana_dashboard_queries_return_series_from_a_prometheus_that_scraped_the_exporter() {
    require_ipvs();
    let (ns, _) = web_lab(11);
    let exporter_at = SocketAddr::from((ip("127.0.0.1"), 9761));
    let mut proc = exporter(Some(&ns), &["--listen", "127.0.0.1:9761"]);
    scrape(Some(&ns), exporter_at, None);

    // Prometheus (Debian's, shipped by tests/run) in the namespace, scraping every second.
    let dir = format!("/tmp/{}-prometheus", ns.name());
    std::fs::create_dir_all(&dir).expect("mkdir");
    let config = format!("{dir}/prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: ipvsctl\n    static_configs:\n      - targets: ['127.0.0.1:9761']\n",
    )
    .expect("write prometheus.yml");
    let prometheus = Command::new("ip")
        .args(["netns", "exec", ns.name(), "prometheus"])
        .arg(format!("--config.file={config}"))
        .arg(format!("--storage.tsdb.path={dir}/data"))
        .arg("--web.listen-address=127.0.0.1:9090")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus must be in the VM (tests/run ships it)");
    let _prometheus = Proc(prometheus);
    let prom_at = SocketAddr::from((ip("127.0.0.1"), 9090));

    // Traffic through the service while Prometheus scrapes.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = {
        let stop = std::sync::Arc::clone(&stop);
        let ns_name = ns.name().to_string();
        let vip = SocketAddr::from((ip("10.11.0.100"), 80));
        std::thread::spawn(move || {
            let path = format!("/run/netns/{ns_name}");
            let mut requests = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let got = ipvs_sys::netns::run_in_netns_scoped(std::path::Path::new(&path), || {
                    let mut s = TcpStream::connect_timeout(&vip, Duration::from_secs(5)).ok()?;
                    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
                    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
                    // The real server keeps the connection open: read up to the body's end.
                    let mut answer = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !answer.ends_with(BODY.as_bytes()) {
                        let n = s.read(&mut buf).ok().filter(|&n| n > 0)?;
                        answer.extend_from_slice(&buf[..n]);
                    }
                    Some(String::from_utf8_lossy(&answer).into_owned())
                });
                if matches!(got, Ok(Some(a)) if a.ends_with(BODY)) {
                    requests += 1;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            requests
        })
    };
    // Enough samples for every rate over the dashboard's window, with connections counted.
    wait_for(
        "Prometheus to hold 15 scrapes with connections counted",
        Duration::from_secs(120),
        || {
            let r = ns
                .enter(|| {
                    get(
                        prom_at,
                        &format!(
                            "/api/v1/query?query={}",
                            url_encode("count_over_time(ipvs_service_connections_total[1m]) >= 15 and ipvs_service_connections_total > 0")
                        ),
                        None,
                    )
                })
                .ok()?;
            r.1.contains("\"result\":[{").then_some(())
        },
    );
    let mut report = Vec::new();
    let queries = dashboard_queries();
    assert!(queries.len() >= 10, "{queries:#?}");
    for (title, expr) in &queries {
        // Grafana's variables as a dashboard with every namespace and a 1 s scrape sets them.
        let promql = expr
            .replace("$__rate_interval", "30s")
            .replace("$netns", ".*");
        let result = prometheus_query(&ns, prom_at, &promql);
        assert!(
            !result.is_empty(),
            "panel {title:?}: {promql} returned no series"
        );
        report.push(format!("  {title}: {} series: {promql}", result.len()));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let requests = traffic.join().expect("traffic");
    assert!(requests > 0, "no request went through the service");
    // The traffic shows: the service's connection rate is above zero.
    let rate = prometheus_query(
        &ns,
        prom_at,
        "sum(rate(ipvs_service_connections_total[30s])) > 0",
    );
    assert!(!rate.is_empty(), "no connection rate while traffic flowed");
    alive(&mut proc, "Prometheus' scrapes");
    println!("{requests} requests through the service; each panel's query:");
    for l in report {
        println!("{l}");
    }
}

/// A server that answers each connection's request, a number N and a newline, with N bytes,
/// then waits for the client to close.
fn sized_server(ns: &NetNs, at: SocketAddr) {
    let listener = ns.enter(|| std::net::TcpListener::bind(at)).expect("bind");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut line = String::new();
                let mut reader = BufReader::new(&conn);
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let n: usize = line.trim().parse().unwrap_or(0);
                let _ = (&conn).write_all(&vec![b'x'; n]);
                let _ = reader.read(&mut [0u8; 16]);
            });
        }
    });
}

/// One connection from inside the thread's namespace: asks for `n` bytes and reads them all.
fn fetch(to: SocketAddr, n: usize) {
    let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {to}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    writeln!(s, "{n}").unwrap();
    let mut got = vec![0u8; n];
    s.read_exact(&mut got)
        .unwrap_or_else(|e| panic!("read {n} bytes from {to}: {e}"));
}

/// A namespace with the service `net`.100:80 (TCP, masquerading to a [`sized_server`] at
/// `net`.11:8080), for the watch tests; `net` is 10.10.N.
fn sized_lab(net: u8) -> (NetNs, SocketAddr) {
    let ns = NetNs::new();
    let addr = |host: u8| format!("10.10.{net}.{host}/24");
    add_dummy(&ns, "lan0", &[&addr(1), &addr(11), &addr(100)]);
    let real = SocketAddr::from(([10, 10, net, 11], 8080));
    sized_server(&ns, real);
    let key = ServiceKey::tcp(IpAddr::from([10, 10, net, 100]), 80);
    let ipvs = open(&ns);
    ipvs.add_service(&Service::new(key)).expect("add_service");
    ipvs.add_destination(
        &key,
        &Destination::new(real.ip(), real.port()).with_forward(Forward::Masquerade),
    )
    .expect("add_destination");
    (ns, SocketAddr::from(([10, 10, net, 100], 80)))
}

/// `ipvsctl ARGS` in the namespace, its stdout read line by line.
fn watch_lines(
    ns: &NetNs,
    args: &[&str],
) -> (Proc, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns.name(), IPVSCTL])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ipvsctl --watch");
    let stdout = child.stdout.take().expect("stdout");
    (Proc(child), BufReader::new(stdout).lines())
}

fn next_doc(lines: &mut std::io::Lines<BufReader<std::process::ChildStdout>>) -> serde_json::Value {
    let line = lines
        .next()
        .expect("another line of the watch")
        .expect("read a line");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

/// `-Z` and then more traffic: the rates of the read after it are that traffic over the
/// interval, although the connection counter grew past its old value (its bytes did not, so the
/// service is known to have restarted and every counter counts from zero).
#[test]
fn watch_rates_after_a_zero_and_more_traffic_are_the_traffic_over_the_interval() {
    require_ipvs();
    let (ns, vip) = sized_lab(1);
    let ipvs = open(&ns);
    // Before: 10 connections of 50 kB each.
    ns.enter(|| (0..10).for_each(|_| fetch(vip, 50_000)));
    wait_for("the listed counters", Duration::from_secs(20), || {
        let s = &ipvs.state().expect("state")[0].entry.stats;
        (s.conns == 10 && s.out_bytes >= 500_000).then_some(())
    });

    let (mut proc, mut lines) =
        watch_lines(&ns, &["-Ln", "--json", "--watch", "10", "--count", "2"]);
    let first = next_doc(&mut lines);
    // Zeroed right after the first read, then 30 connections of 10 bytes.
    ns.exec_ok(IPVSCTL, &["-Z"]);
    ns.enter(|| (0..30).for_each(|_| fetch(vip, 10)));
    let second = next_doc(&mut lines);
    let status = proc.0.wait().expect("wait");
    assert!(status.success(), "{status:?}: {}", proc.stderr_so_far());

    let svc = |d: &serde_json::Value| d["services"][0].clone();
    assert_eq!(svc(&first)["stats"]["conns"], 10);
    // The second read saw all of the new traffic (the kernel adds it in within 2 s), and the
    // bytes below their old value.
    let stats = &svc(&second)["stats"];
    assert_eq!(stats["conns"], 30, "{second}");
    let old_bytes = svc(&first)["stats"]["out_bytes"].as_u64().unwrap();
    assert!(stats["out_bytes"].as_u64().unwrap() < old_bytes, "{second}");
    let interval = second["interval"].as_f64().expect("interval");
    for rates in [
        svc(&second)["rates"].clone(),
        svc(&second)["destinations"][0]["rates"].clone(),
    ] {
        let want = 30.0 / interval;
        let got = rates["conns"].as_f64().expect("conns rate");
        assert!(
            (got - want).abs() <= want * 0.1,
            "conns rate {got}, want {want}: {second}"
        );
        let got = rates["out_bytes"].as_f64().expect("out_bytes rate");
        let want = stats["out_bytes"].as_u64().unwrap() as f64 / interval;
        assert!(
            (got - want).abs() <= want * 0.1,
            "out_bytes rate {got}, want {want}: {second}"
        );
    }
    // Reads 10 s apart: the rates span the interval (five fold periods).
    assert_eq!(second["window"].as_f64(), Some(interval), "{second}");
    println!(
        "after -Z: 30 connections in an interval of {interval:.3} s: rates {}",
        svc(&second)["rates"]
    );
}

/// `--watch 1` under steady traffic: the kernel adds its per-CPU counts into the listed counters
/// every 2 s, so rates between reads 1 s apart would alternate between 0 and double; over the
/// window of 2 s they are the traffic's rate, within 10%.
#[test]
fn watch_1_rates_are_the_traffic_rate_not_0_and_double() {
    require_ipvs();
    let (ns, vip) = sized_lab(2);
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let stop = AtomicBool::new(false);
    let made = AtomicUsize::new(0);
    let every = Duration::from_millis(40);
    let started = std::time::Instant::now();
    let (docs, elapsed) = std::thread::scope(|scope| {
        scope.spawn(|| {
            ns.enter(|| {
                // On a fixed schedule: a late connection is caught up at once, so any 2 s holds
                // the same number.
                let mut n: u32 = 0;
                while !stop.load(Ordering::Relaxed) {
                    fetch(vip, 10);
                    made.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                    if let Some(wait) =
                        (started + every * n).checked_duration_since(std::time::Instant::now())
                    {
                        std::thread::sleep(wait);
                    }
                }
            })
        });
        // The traffic is steady in the counters before the watch starts.
        std::thread::sleep(Duration::from_secs(5));
        let (mut proc, lines) =
            watch_lines(&ns, &["-Ln", "--json", "--watch", "1", "--count", "10"]);
        let docs: Vec<serde_json::Value> = lines
            .map(|l| {
                let l = l.expect("read a line");
                serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l:?}"))
            })
            .collect();
        let status = proc.0.wait().expect("wait");
        assert!(status.success(), "{status:?}: {}", proc.stderr_so_far());
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        (docs, elapsed)
    });
    assert_eq!(docs.len(), 10);
    let made = made.load(Ordering::Relaxed);
    let want = made as f64 / elapsed.as_secs_f64();
    // The rates of every line that has them (all but the first two, whose reads span less
    // than the window).
    let with_rates: Vec<&serde_json::Value> = docs
        .iter()
        .filter(|d| !d["services"][0]["rates"].is_null())
        .collect();
    let seen: Vec<f64> = with_rates
        .iter()
        .map(|d| d["services"][0]["rates"]["conns"].as_f64().expect("conns"))
        .collect();
    assert!(seen.len() >= 7, "{seen:?}");
    for got in &seen {
        assert!(
            (got - want).abs() <= want * 0.1,
            "conns rate {got}, traffic {want:.2}/s: {seen:?}"
        );
    }
    for d in &with_rates {
        assert!(d["window"].as_f64().is_some_and(|w| w >= 1.9), "{d}");
    }
    println!("--watch 1 under {want:.2} connections/s: rates {seen:?}");
}

/// A watch of one service goes on when the service is deleted: its lines have no service
/// (the text says ipvsadm's `No such service` on stderr), and it shows the service again, with
/// no rates at first, when it comes back.
#[test]
fn watch_of_one_service_reports_it_gone_and_shows_it_again() {
    require_ipvs();
    let (ns, _vip) = sized_lab(3);
    let (mut proc, mut lines) = watch_lines(
        &ns,
        &["-Ln", "-t", "10.10.3.100:80", "--json", "--watch", "0.5"],
    );
    let doc = next_doc(&mut lines);
    assert_eq!(doc["services"][0]["address"], "10.10.3.100", "{doc}");
    ns.ipvsadm_ok(&["-D", "-t", "10.10.3.100:80"]);
    // Lines go on, without the service.
    let mut gone = 0;
    while gone < 2 {
        let doc = next_doc(&mut lines);
        let services = doc["services"].as_array().expect("services").len();
        assert!(services <= 1, "{doc}");
        if services == 0 {
            gone += 1;
        }
    }
    assert!(proc.0.try_wait().unwrap().is_none(), "the watch ended");
    ns.ipvsadm_ok(&["-A", "-t", "10.10.3.100:80", "-s", "rr"]);
    let back = loop {
        let doc = next_doc(&mut lines);
        if doc["services"].as_array().is_some_and(|s| s.len() == 1) {
            break doc;
        }
    };
    assert_eq!(back["services"][0]["scheduler"], "rr", "{back}");
    assert!(back["services"][0]["rates"].is_null(), "{back}");
    assert!(proc.0.try_wait().unwrap().is_none(), "the watch ended");
    drop(proc);

    // The text listing: the service missing from the start is said on stderr each time; the
    // watch ends with its count and 0.
    let (status, out, err) = ns.exec(
        IPVSCTL,
        &[
            "-Ln",
            "-t",
            "10.10.3.101:80",
            "--watch",
            "0.5",
            "--count",
            "2",
        ],
    );
    assert_eq!(status, 0, "{out}{err}");
    assert_eq!(out, "");
    assert_eq!(err, "No such service\nNo such service\n");
}
