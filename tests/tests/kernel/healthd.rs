//! `ipvsctl healthd` against real servers: the NAT lab's busybox httpds checked over HTTP from the
//! director, the weights read from the kernel. Checks every 0.5 s, rise and fall 2, so that each
//! test takes seconds.

use std::collections::BTreeMap;
use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ipvs::ServiceKey;
use serde_json::Value;

use crate::harness::{run, run_ok, NetNs};
use crate::lab::{get, ipvsctl, sysctl, tally, url, Httpd, LanLab, NatLab, VIP};
use crate::support::{open, wait_for};

const LIMIT: Duration = Duration::from_secs(15);

/// `rs1`.. as the NAT lab numbers them: 192.168.10.11:80 ..
pub(crate) fn rs(i: usize) -> String {
    format!("192.168.10.{}:80", 11 + i)
}

/// A rules file of the lab's service with real servers `reals` (indexes), HTTP-checked.
pub(crate) fn rules(ns: &NetNs, reals: &[usize]) -> String {
    let dests: Vec<Value> = reals
        .iter()
        .map(|i| {
            serde_json::json!({"address": format!("192.168.10.{}", 11 + i), "port": 80,
                               "forward": "masq", "weight": 1})
        })
        .collect();
    let doc = serde_json::json!({"services": [{
        "protocol": "tcp", "address": VIP, "port": 80, "scheduler": "rr",
        "check": {"type": "http", "interval": 0.5, "timeout": 0.4, "rise": 2, "fall": 2},
        "destinations": dests,
    }]});
    let path = format!("/tmp/{}-healthd.json", ns.name());
    std::fs::write(&path, doc.to_string()).expect("write the rules");
    path
}

/// The weights of the service's real servers, by `addr:port`.
fn weights(ns: &NetNs) -> BTreeMap<String, u32> {
    let key = ServiceKey::tcp(VIP.parse().unwrap(), 80);
    open(ns)
        .destinations(&key)
        .unwrap_or_default()
        .iter()
        .map(|d| {
            (
                format!("{}:{}", d.destination.addr, d.destination.port),
                d.destination.weight,
            )
        })
        .collect()
}

pub(crate) fn wait_weights(ns: &NetNs, want: &[(usize, u32)]) {
    let want: BTreeMap<String, u32> = want.iter().map(|(i, w)| (rs(*i), *w)).collect();
    wait_for(&format!("weights {want:?}"), LIMIT, || {
        (weights(ns) == want).then_some(())
    });
}

/// healthd running in the director, its stdout and stderr in files; killed on drop.
pub(crate) struct Healthd {
    child: Child,
    out: String,
    err: String,
}

impl Healthd {
    pub(crate) fn start(ns: &NetNs, args: &[&str]) -> Healthd {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns.name(), "ipvsctl", "healthd"]);
        Healthd::spawn(ns, cmd, args)
    }

    /// Started in the test's own namespace with `--netns`: the table and the checks must be
    /// the namespace's.
    fn start_with_netns(ns: &NetNs, args: &[&str]) -> Healthd {
        let mut cmd = Command::new("ipvsctl");
        cmd.args(["healthd", "--netns", ns.name()]);
        Healthd::spawn(ns, cmd, args)
    }

    /// Started under the shell's `ulimit ULIMITS` (`-n 40`).
    fn start_limited(ns: &NetNs, ulimits: &str, args: &[&str]) -> Healthd {
        let script = format!("ulimit {ulimits} && exec ipvsctl healthd \"$@\"");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns.name(), "bash", "-c", &script, "ipvsctl"]);
        Healthd::spawn(ns, cmd, args)
    }

    fn spawn(ns: &NetNs, mut cmd: Command, args: &[&str]) -> Healthd {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let out = format!("/tmp/{}-healthd-{n}.out", ns.name());
        let err = format!("/tmp/{}-healthd-{n}.err", ns.name());
        let child = cmd
            .args(args)
            .stdout(Stdio::from(File::create(&out).unwrap()))
            .stderr(Stdio::from(File::create(&err).unwrap()))
            .spawn()
            .expect("spawn ipvsctl healthd");
        Healthd { child, out, err }
    }

    /// Its NDJSON lines so far (`--json`).
    fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect()
    }

    /// Its transitions of real server `i`: (state, weight set).
    fn transitions(&self, i: usize) -> Vec<(String, Value)> {
        self.lines()
            .iter()
            .filter(|l| l["destination"] == rs(i).as_str())
            .map(|l| {
                (
                    l["state"].as_str().unwrap_or("").to_string(),
                    l["weight"].clone(),
                )
            })
            .collect()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn signal(&self, sig: &str) {
        run_ok("kill", &[sig, &self.child.id().to_string()]);
    }

    /// SIGTERM; its exit code.
    pub(crate) fn stop(mut self) -> i32 {
        self.signal("-TERM");
        let status = self.child.wait().expect("wait healthd");
        status.code().unwrap_or(-1)
    }
}

impl crate::served::Daemon for Healthd {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn ended(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(None) => None,
            _ => Some(self.stderr()),
        }
    }
}

impl Drop for Healthd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.out);
        let _ = std::fs::remove_file(&self.err);
    }
}

/// A stopped server goes to weight 0 and gets no new requests while the others serve every
/// request; started again, it comes back after `rise` passes. SIGTERM leaves the table.
#[test]
fn healthd_nat_server_down_and_up() {
    let mut lab = NatLab::new(3);
    let file = rules(&lab.director, &[0, 1, 2]);
    let d = Healthd::start(&lab.director, &["-f", &file, "--json"]);
    // New servers wait at weight 0, then come up after two passes.
    wait_weights(&lab.director, &[(0, 1), (1, 1), (2, 1)]);
    let t = tally(&lab.client, &url(VIP), 6);
    assert_eq!(t.len(), 3, "every server answers: {t:?}");

    drop(lab.servers.remove(1));
    wait_weights(&lab.director, &[(0, 1), (1, 0), (2, 1)]);
    let t = tally(&lab.client, &url(VIP), 8);
    assert_eq!(
        t,
        crate::lab::counts(&[("rs1", 4), ("rs3", 4)]),
        "the others serve every request"
    );
    // The weight is set before its line is written: wait for the line too.
    wait_for("rs2's down line", LIMIT, || {
        (d.transitions(1).len() >= 2).then_some(())
    });
    let down = d.lines();
    let down = down
        .iter()
        .find(|l| l["destination"] == rs(1).as_str() && l["state"] == "down")
        .unwrap_or_else(|| panic!("a down line for rs2: {down:?}"));
    assert_eq!(down["from"], "up");
    assert_eq!(down["weight"], 0);
    assert_eq!(down["service"], format!("TCP {VIP}:80"));
    assert!(down["time"].as_f64().unwrap() > 0.0);
    assert!(
        down["reason"].as_str().unwrap().contains("refused"),
        "{down}"
    );

    lab.servers.insert(1, Httpd::start(&lab.rs[1], "rs2"));
    wait_weights(&lab.director, &[(0, 1), (1, 1), (2, 1)]);
    wait_for("rs2's up line", LIMIT, || {
        (d.transitions(1).len() >= 3).then_some(())
    });
    assert_eq!(
        d.transitions(1),
        [
            ("up".to_string(), Value::from(1)),
            ("down".to_string(), Value::from(0)),
            ("up".to_string(), Value::from(1))
        ]
    );
    let t = tally(&lab.client, &url(VIP), 6);
    assert_eq!(t.get("rs2"), Some(&2), "{t:?}");
    assert_eq!(d.stop(), 0, "SIGTERM ends it with 0");
    assert_eq!(weights(&lab.director).len(), 3, "the table stays");
}

/// `--once`: every check once, 0 when all pass, 1 when one fails; nothing in the kernel.
#[test]
fn healthd_once_exit_codes() {
    let mut lab = NatLab::new(2);
    let file = rules(&lab.director, &[0, 1]);
    let once = |json: bool| {
        let mut args = vec!["healthd", "--once", "-f", &file];
        if json {
            args.push("--json");
        }
        lab.director.exec("ipvsctl", &args)
    };
    let (code, out, err) = once(false);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.contains(&format!("{}: up: http: status 200", rs(0))),
        "{out}"
    );
    drop(lab.servers.remove(1));
    let (code, out, _) = once(true);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let down = lines
        .iter()
        .find(|l| l["destination"] == rs(1).as_str())
        .unwrap();
    assert_eq!(down["result"], "down", "{down}");
    assert!(weights(&lab.director).is_empty(), "--once changes nothing");
    // From outside with --netns: the checks go from the director's namespace.
    let (code, out, err) = run(
        "ipvsctl",
        &[
            "healthd",
            "--once",
            "--netns",
            lab.director.name(),
            "-f",
            &file,
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!("{}: up: http: status 200", rs(0))),
        "{out}"
    );
    assert_eq!(ipvsctl(&lab.director, &["-Sn"]), "");
}

/// An operator's weight 0 (`-e -w 0`) and drain are not undone when healthd's server goes down
/// and up.
#[test]
fn healthd_operator_weight_not_undone() {
    let mut lab = NatLab::new(2);
    let file = rules(&lab.director, &[0, 1]);
    let d = Healthd::start(&lab.director, &["-f", &file, "--json"]);
    wait_weights(&lab.director, &[(0, 1), (1, 1)]);
    let vip = format!("{VIP}:80");
    ipvsctl(
        &lab.director,
        &["-e", "-t", &vip, "-r", &rs(0), "-m", "-w", "0"],
    );
    drop(lab.servers.remove(0));
    wait_for("rs1 down", LIMIT, || {
        (d.transitions(0).len() == 2).then_some(())
    });
    lab.servers.insert(0, Httpd::start(&lab.rs[0], "rs1"));
    wait_for("rs1 up again", LIMIT, || {
        (d.transitions(0).len() == 3).then_some(())
    });
    assert_eq!(weights(&lab.director)[&rs(0)], 0, "the operator's 0 stays");
    let lines = d.lines();
    let last = lines
        .iter()
        .rfind(|l| l["destination"] == rs(0).as_str())
        .unwrap();
    assert_eq!(
        (&last["state"], &last["left_at"]),
        (&Value::from("up"), &Value::from(0))
    );
    assert_eq!(last["weight"], Value::Null);
    // The other server is healthd's as before.
    assert_eq!(weights(&lab.director)[&rs(1)], 1);
    assert_eq!(get(&lab.client, &url(VIP)), "rs2");
    // An operator's drain (deleted at once with --timeout 0) is not undone either: rs2 goes
    // down and up again, and is not added back.
    ipvsctl(
        &lab.director,
        &["drain", "-t", &vip, "-r", &rs(1), "--timeout", "0"],
    );
    drop(lab.servers.remove(1));
    wait_for("rs2 down", LIMIT, || {
        (d.transitions(1).len() == 2).then_some(())
    });
    lab.servers.insert(1, Httpd::start(&lab.rs[1], "rs2"));
    wait_for("rs2 up again", LIMIT, || {
        (d.transitions(1).len() == 3).then_some(())
    });
    assert_eq!(
        weights(&lab.director).get(&rs(1)),
        None,
        "the drained server stays out"
    );
    let last = d
        .lines()
        .into_iter()
        .rfind(|l| l["destination"] == rs(1).as_str());
    assert_eq!(last.unwrap()["left_at"], Value::Null);
}

/// A file named ADDR:PORT in the maintenance directory forces that server down; removed, the
/// server is up again at once (its checks never stopped). healthd runs from outside with
/// `--netns` (the real servers are reachable only from the director's namespace).
#[test]
fn healthd_maintenance_dir() {
    let lab = NatLab::new(2);
    let file = rules(&lab.director, &[0, 1]);
    let dir = format!("/tmp/{}-maint", lab.director.name());
    std::fs::create_dir_all(&dir).unwrap();
    let d = Healthd::start_with_netns(
        &lab.director,
        &["-f", &file, "--json", "--maintenance-dir", &dir],
    );
    wait_weights(&lab.director, &[(0, 1), (1, 1)]);
    let flag = format!("{dir}/{}", rs(1));
    std::fs::write(&flag, "").unwrap();
    wait_weights(&lab.director, &[(0, 1), (1, 0)]);
    let down = d
        .lines()
        .into_iter()
        .rfind(|l| l["destination"] == rs(1).as_str());
    assert_eq!(down.unwrap()["reason"], "maintenance");
    std::fs::remove_file(&flag).unwrap();
    wait_weights(&lab.director, &[(0, 1), (1, 1)]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGHUP with a server removed and one added: the one that stays keeps its state (no new
/// transition), the new one comes up after `rise`, the removed one goes; a bad file then is
/// reported and the running configuration stays.
#[test]
fn healthd_sighup_keeps_state() {
    let lab = NatLab::new(3);
    let file = rules(&lab.director, &[0, 1]);
    let d = Healthd::start(&lab.director, &["-f", &file, "--json"]);
    wait_weights(&lab.director, &[(0, 1), (1, 1)]);
    rules(&lab.director, &[1, 2]);
    d.signal("-HUP");
    wait_weights(&lab.director, &[(1, 1), (2, 1)]);
    assert_eq!(
        d.transitions(1).len(),
        1,
        "rs2 kept its state: {:?}",
        d.lines()
    );
    assert_eq!(d.transitions(2), [("up".to_string(), Value::from(1))]);
    std::fs::write(
        &file,
        r#"{"services": [{"protocol": "tcp", "address": "10.0.0.100", "port": 80,
        "check": {"type": "http", "interval": -1}}]}"#,
    )
    .unwrap();
    d.signal("-HUP");
    wait_for("the bad file reported", LIMIT, || {
        d.stderr()
            .contains("services[0].check.interval")
            .then_some(())
    });
    assert!(
        d.stderr().contains("the running configuration stays"),
        "{}",
        d.stderr()
    );
    assert_eq!(weights(&lab.director).len(), 2);
    assert_eq!(tally(&lab.client, &url(VIP), 4).len(), 2);
    assert_eq!(d.stop(), 0);
}

/// kill -9, then a new healthd: the weights stay as they were until the verdicts, and the
/// verdicts agree with them (no flapping).
#[test]
fn healthd_restart_after_kill_keeps_weights() {
    let mut lab = NatLab::new(2);
    let file = rules(&lab.director, &[0, 1]);
    let d = Healthd::start(&lab.director, &["-f", &file, "--json"]);
    wait_weights(&lab.director, &[(0, 1), (1, 1)]);
    drop(lab.servers.remove(1));
    wait_weights(&lab.director, &[(0, 1), (1, 0)]);
    d.signal("-KILL");
    drop(d);
    let want: BTreeMap<String, u32> = [(rs(0), 1), (rs(1), 0)].into_iter().collect();
    let d = Healthd::start(&lab.director, &["-f", &file, "--json"]);
    for _ in 0..15 {
        assert_eq!(
            weights(&lab.director),
            want,
            "no weight changes: {:?}",
            d.lines()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_for("both verdicts", LIMIT, || {
        (d.transitions(0).len() == 1 && d.transitions(1).len() == 1).then_some(())
    });
    assert_eq!(weights(&lab.director), want);
    assert_eq!(d.transitions(0), [("up".to_string(), Value::from(1))]);
    assert_eq!(d.transitions(1), [("down".to_string(), Value::from(0))]);
    assert_eq!(d.lines()[0]["from"], "unknown");
}

/// Bad files: exit 2, the JSON path of the bad value, the kernel unchanged.
#[test]
fn healthd_bad_file_changes_nothing() {
    let ns = NetNs::new();
    ipvsctl(&ns, &["-A", "-t", "10.1.0.1:80", "-s", "rr"]);
    ipvsctl(
        &ns,
        &[
            "-a",
            "-t",
            "10.1.0.1:80",
            "-r",
            "10.1.0.2:80",
            "-m",
            "-w",
            "3",
        ],
    );
    let before = ipvsctl(&ns, &["-Sn"]);
    let cases = [
        (r#""interval": -1"#, "services[0].check.interval"),
        (r#""interval": "1""#, "services[0].check.interval"),
        (r#""type": "icmp""#, "services[0].check.type"),
        (r#""rise": 0"#, "services[0].check.rise"),
        (r#""fall": true"#, "services[0].check.fall"),
        (
            r#""expect_status": "600""#,
            "services[0].check.expect_status",
        ),
        (r#""bogus": 1"#, "services[0].check.bogus"),
    ];
    let path = format!("/tmp/{}-bad.json", ns.name());
    for (field, where_) in cases {
        let doc = format!(
            r#"{{"services": [{{"protocol": "tcp", "address": "10.1.0.1", "port": 80,
                "scheduler": "wrr", "check": {{"type": "http", {field}}},
                "destinations": [{{"address": "10.1.0.3", "port": 80, "forward": "masq"}}]}}]}}"#
        );
        std::fs::write(&path, doc).unwrap();
        let (code, out, err) = ns.exec("ipvsctl", &["healthd", "-f", &path]);
        assert_eq!(code, 2, "{field}: {out}{err}");
        assert!(err.contains(&format!("{where_}:")), "{field}: {err}");
        assert_eq!(
            ipvsctl(&ns, &["-Sn"]),
            before,
            "{field}: the kernel is unchanged"
        );
    }
    let doc = r#"{"services": [{"protocol": "tcp", "address": "10.1.0.1", "port": 80,
        "on_down": "delete", "destinations": []}]}"#;
    std::fs::write(&path, doc).unwrap();
    let (code, _, err) = ns.exec("ipvsctl", &["healthd", "-f", &path]);
    assert_eq!(code, 2);
    assert!(err.contains("services[0].on_down:"), "{err}");
    assert_eq!(ipvsctl(&ns, &["-Sn"]), before);
    let _ = run("rm", &["-f", &path]);
}

/// `on_down: "remove"` drains and deletes a server that goes down and adds it again when it is
/// up; the sorry server takes traffic only while no real server is up (quorum 1).
#[test]
fn healthd_remove_and_sorry_server() {
    let mut lab = NatLab::new(3);
    let doc = serde_json::json!({"services": [{
        "protocol": "tcp", "address": VIP, "port": 80, "scheduler": "rr",
        "check": {"type": "http", "interval": 0.5, "timeout": 0.4, "rise": 2, "fall": 2},
        "on_down": "remove", "quorum": 1,
        "sorry_server": {"address": "192.168.10.13", "forward": "masq", "weight": 1},
        "destinations": [
            {"address": "192.168.10.11", "forward": "masq"},
            {"address": "192.168.10.12", "forward": "masq"},
        ],
    }]});
    let file = format!("/tmp/{}-healthd.json", lab.director.name());
    std::fs::write(&file, doc.to_string()).unwrap();
    let d = Healthd::start(&lab.director, &["-f", &file, "--json"]);
    // rs3 is the sorry server: weight 0 once a real server is up.
    wait_weights(&lab.director, &[(0, 1), (1, 1), (2, 0)]);
    drop(lab.servers.remove(0));
    wait_weights(&lab.director, &[(1, 1), (2, 0)]);
    assert!(
        d.lines()
            .iter()
            .any(|l| l["destination"] == rs(0).as_str() && l["deleted"] == true),
        "{:?}",
        d.lines()
    );
    assert_eq!(
        tally(&lab.client, &url(VIP), 4),
        crate::lab::counts(&[("rs2", 4)])
    );
    // The last real server goes: the sorry server takes the traffic.
    // rs2 stays at weight 0 while its connections (in TIME_WAIT) drain.
    drop(lab.servers.remove(0));
    wait_weights(&lab.director, &[(1, 0), (2, 1)]);
    assert_eq!(get(&lab.client, &url(VIP)), "rs3");
    // One is back: added again, and the sorry server leaves.
    lab.servers.insert(0, Httpd::start(&lab.rs[0], "rs1"));
    wait_for("rs1 back, the sorry server out", LIMIT, || {
        let w = weights(&lab.director);
        (w.get(&rs(0)) == Some(&1) && w.get(&rs(2)) == Some(&0)).then_some(())
    });
    assert_eq!(
        tally(&lab.client, &url(VIP), 3),
        crate::lab::counts(&[("rs1", 3)])
    );
    let sorry: Vec<(String, Value)> = d.transitions(2);
    assert!(
        sorry.len() >= 3,
        "the sorry server in, out, in, out: {sorry:?}"
    );
    assert_eq!(sorry.last().unwrap(), &("down".to_string(), Value::from(0)));
    assert_eq!(d.stop(), 0);
}

/// `--listen`: /metrics (the exporter's plus the health series, accepted by promtool) and
/// /status follow a real server that goes down and comes back; a client that sends half a
/// request head does not hold /status up; a wrong address is exit 2 with nothing applied.
#[test]
fn healthd_listen_metrics_and_status() {
    use crate::exporter::{get as http, promtool_accepts, sample};
    use std::io::Write as _;
    use std::net::{SocketAddr, TcpStream};

    let mut lab = NatLab::new(2);
    let file = rules(&lab.director, &[0, 1]);
    // An address the namespace does not have: refused before anything is applied.
    let (code, _, err) = lab.director.exec(
        "ipvsctl",
        &["healthd", "-f", &file, "--listen", "192.0.2.1:9771"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--listen 192.0.2.1:9771"), "{err}");
    assert!(weights(&lab.director).is_empty(), "nothing applied");

    let at: SocketAddr = "127.0.0.1:9771".parse().unwrap();
    let d = Healthd::start(
        &lab.director,
        &["-f", &file, "--json", "--listen", "127.0.0.1:9771"],
    );
    wait_weights(&lab.director, &[(0, 1), (1, 1)]);
    // Half a head, never finished: the server waits for it on its own time.
    let slow = wait_for("healthd to listen", LIMIT, || {
        lab.director
            .enter(|| TcpStream::connect(at))
            .ok()
            .map(|mut s| {
                s.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n").unwrap();
                s
            })
    });
    let status = |ns: &NetNs| -> Value {
        let (head, body) = ns.enter(|| http(at, "/status", None)).expect("GET /status");
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{head}"
        );
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body:?}: {e}"))
    };
    let real = |v: &Value, i: usize| -> Value {
        v["services"][0]["real_servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["destination"] == rs(i).as_str())
            .unwrap_or_else(|| panic!("{} in {v}", rs(i)))
            .clone()
    };
    let metrics = |ns: &NetNs| -> String {
        let (head, body) = ns
            .enter(|| http(at, "/metrics", None))
            .expect("GET /metrics");
        assert!(head.contains(" 200 "), "{head}");
        body
    };
    let series = |name: &str, i: usize| {
        format!(
            "{name}{{local_address=\"{VIP}\",local_port=\"80\",proto=\"TCP\",local_mark=\"\",\
             remote_address=\"192.168.10.{}\",remote_port=\"80\"}}",
            11 + i
        )
    };
    let svc = format!(
        "ipvs_service_backends_up{{local_address=\"{VIP}\",local_port=\"80\",proto=\"TCP\",local_mark=\"\"}}"
    );

    let v = status(&lab.director);
    assert_eq!(v["services"][0]["service"], format!("TCP {VIP}:80"));
    assert_eq!(v["services"][0]["up"], 2);
    let r1 = real(&v, 1);
    assert_eq!(
        (&r1["state"], &r1["weight"]),
        (&Value::from("up"), &Value::from(1))
    );
    assert_eq!(r1["check"]["type"], "http");
    assert_eq!(r1["check"]["last"]["result"], "up");
    let up_since = r1["since"].as_f64().unwrap();
    let m = metrics(&lab.director);
    promtool_accepts(&m);
    // The kernel's rate estimates only with --rates, as the exporter's.
    assert!(!m.contains("_per_second"), "{m}");
    for i in 0..2 {
        assert_eq!(sample(&m, &series("ipvs_backend_up", i)), Some(1.0), "{m}");
        assert!(sample(&m, &series("ipvs_backend_checks_total", i)).unwrap() >= 2.0);
        assert!(sample(&m, &series("ipvs_backend_check_duration_seconds", i)).is_some());
        // The exporter's series are there too, with the same labels.
        assert_eq!(
            sample(&m, &series("ipvs_backend_weight", i)),
            Some(1.0),
            "{m}"
        );
    }
    assert_eq!(sample(&m, &svc), Some(2.0));

    drop(lab.servers.remove(1));
    wait_weights(&lab.director, &[(0, 1), (1, 0)]);
    let v = status(&lab.director);
    assert_eq!(v["services"][0]["up"], 1);
    let r1 = real(&v, 1);
    assert_eq!(
        (&r1["state"], &r1["weight"]),
        (&Value::from("down"), &Value::from(0))
    );
    assert!(r1["reason"].as_str().unwrap().contains("refused"), "{r1}");
    assert!(r1["since"].as_f64().unwrap() > up_since, "{r1}");
    assert_eq!(r1["check"]["last"]["result"], "down");
    assert!(r1["check"]["failures"].as_u64().unwrap() >= 2, "{r1}");
    assert_eq!(real(&v, 0)["state"], "up");
    let m = metrics(&lab.director);
    promtool_accepts(&m);
    assert_eq!(sample(&m, &series("ipvs_backend_up", 1)), Some(0.0), "{m}");
    assert_eq!(sample(&m, &series("ipvs_backend_up", 0)), Some(1.0), "{m}");
    assert_eq!(
        sample(&m, &series("ipvs_backend_check_transitions_total", 1)),
        Some(2.0),
        "{m}"
    );
    assert_eq!(sample(&m, &svc), Some(1.0));
    let errors = series("ipvs_backend_check_errors_total", 1);
    let errors = errors.trim_end_matches('}');
    assert!(
        m.lines().any(
            |l| l.starts_with(errors) && l.contains(",reason=\"connect: connection refused\"}")
        ),
        "{m}"
    );

    lab.servers.insert(1, Httpd::start(&lab.rs[1], "rs2"));
    wait_weights(&lab.director, &[(0, 1), (1, 1)]);
    let m = metrics(&lab.director);
    assert_eq!(sample(&m, &series("ipvs_backend_up", 1)), Some(1.0), "{m}");
    assert_eq!(
        sample(&m, &series("ipvs_backend_check_transitions_total", 1)),
        Some(3.0),
        "{m}"
    );
    assert_eq!(status(&lab.director)["services"][0]["up"], 2);
    drop(slow);
    assert_eq!(d.stop(), 0);
}

/// Real servers of one namespace whose answers a switch turns good or bad: an HTTPS server
/// (self-signed) and an HTTP server answering 200 or 503, a DNS responder answering an A
/// record or SERVFAIL, a UDP responder answering `pong` or `nope`; the exec check's file.
struct Flaky {
    good: std::sync::Arc<std::sync::atomic::AtomicBool>,
    exec_flag: String,
}

impl Flaky {
    fn set(&self, good: bool) {
        self.good.store(good, std::sync::atomic::Ordering::SeqCst);
        if good {
            std::fs::write(&self.exec_flag, "").unwrap();
        } else {
            let _ = std::fs::remove_file(&self.exec_flag);
        }
    }

    fn start(ns: &NetNs, https: &str, dns: &str, udp: &str, http: &str) -> Flaky {
        use std::io::{Read, Write};
        use std::net::{TcpListener, UdpSocket};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        let good = Arc::new(AtomicBool::new(true));
        let status = |good: &AtomicBool| {
            if good.load(Ordering::SeqCst) {
                "200 OK"
            } else {
                "503 Service Unavailable"
            }
        };
        fn answer(conn: &mut (impl Read + Write), status: &str) {
            let mut request = [0u8; 2048];
            let _ = conn.read(&mut request);
            let _ = write!(
                conn,
                "HTTP/1.0 {status}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
            );
            let _ = conn.flush();
        }

        // HTTPS: rustls on a self-signed certificate, one thread per connection.
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap(),
        );
        let l = ns.enter(|| TcpListener::bind(https)).expect("bind https");
        let g = Arc::clone(&good);
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let (config, g) = (Arc::clone(&config), Arc::clone(&g));
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let Ok(tls) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut s = rustls::StreamOwned::new(tls, conn);
                    answer(&mut s, status(&g));
                    s.conn.send_close_notify();
                    let _ = s.flush();
                });
            }
        });

        let l = ns.enter(|| TcpListener::bind(http)).expect("bind http");
        let g = Arc::clone(&good);
        std::thread::spawn(move || {
            for mut conn in l.incoming().flatten() {
                let g = Arc::clone(&g);
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    answer(&mut conn, status(&g));
                });
            }
        });

        // DNS: any A question gets 192.0.2.1, or SERVFAIL while bad.
        let sock = ns.enter(|| UdpSocket::bind(dns)).expect("bind dns");
        let g = Arc::clone(&good);
        std::thread::spawn(move || {
            use hickory_proto::op::{Message, ResponseCode};
            use hickory_proto::rr::{rdata::A, RData, Record};
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                let Ok(q) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut r = Message::response(q.metadata.id, q.metadata.op_code);
                r.add_queries(q.queries.clone());
                if g.load(Ordering::SeqCst) {
                    if let Some(name) = q.queries.first().map(|q| q.name().clone()) {
                        r.add_answer(Record::from_rdata(
                            name,
                            60,
                            RData::A(A([192, 0, 2, 1].into())),
                        ));
                    }
                } else {
                    r.metadata.response_code = ResponseCode::ServFail;
                }
                let _ = sock.send_to(&r.to_vec().unwrap(), from);
            }
        });

        let sock = ns.enter(|| UdpSocket::bind(udp)).expect("bind udp");
        let g = Arc::clone(&good);
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((_, from)) = sock.recv_from(&mut buf) {
                let reply: &[u8] = if g.load(Ordering::SeqCst) {
                    b"pong"
                } else {
                    b"nope"
                };
                let _ = sock.send_to(reply, from);
            }
        });

        let flaky = Flaky {
            good,
            exec_flag: format!("/tmp/{}-exec-22", ns.name()),
        };
        flaky.set(true);
        flaky
    }
}

impl Drop for Flaky {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.exec_flag);
    }
}

/// The https, dns, udp and exec checkers, and http's `expect_status` both ways, against real
/// servers in a namespace: each real server goes to weight 0 when its server answers badly, with
/// its checker's reason, and back to its weight when it answers well again.
#[test]
fn healthd_https_dns_udp_exec_and_expect_status() {
    use crate::support::add_dummy;
    let ns = NetNs::new();
    add_dummy(
        &ns,
        "lan0",
        &[
            "10.9.0.1/24",
            "10.9.0.11/24",
            "10.9.0.12/24",
            "10.9.0.13/24",
            "10.9.0.14/24",
            "10.9.0.15/24",
            "10.9.0.100/24",
        ],
    );
    let flaky = Flaky::start(
        &ns,
        "10.9.0.11:8443",
        "10.9.0.12:5353",
        "10.9.0.13:7777",
        "10.9.0.15:8080",
    );
    let timing = serde_json::json!({"interval": 0.5, "timeout": 0.5, "rise": 1, "fall": 1});
    let check = |extra: Value| {
        let mut c = timing.clone();
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    };
    let service = |proto: &str, port: u16, dest: &str, check: Value| {
        let (addr, dport) = dest.split_once(':').unwrap();
        serde_json::json!({"protocol": proto, "address": "10.9.0.100", "port": port,
            "scheduler": "rr", "check": check,
            "destinations": [{"address": addr, "port": dport.parse::<u16>().unwrap(),
                              "forward": "masq", "weight": 2}]})
    };
    // The exec check finds its file by the port healthd gives it in the environment.
    let exec = format!("test -e /tmp/{}-exec-$IPVS_REAL_PORT", ns.name());
    let doc = serde_json::json!({"services": [
        service("tcp", 443, "10.9.0.11:8443",
                check(serde_json::json!({"type": "https", "expect_status": "200"}))),
        service("udp", 53, "10.9.0.12:5353",
                check(serde_json::json!({"type": "dns", "name": "www.example.test"}))),
        service("udp", 7, "10.9.0.13:7777",
                check(serde_json::json!({"type": "udp", "send": "ping", "expect": "pong"}))),
        service("tcp", 22, "10.9.0.14:22",
                check(serde_json::json!({"type": "exec", "command": ["/bin/sh", "-c", exec]}))),
        service("tcp", 80, "10.9.0.15:8080",
                check(serde_json::json!({"type": "http", "expect_status": "200-299"}))),
        // The same server, checked by a check that expects the 503 of a maintenance page.
        service("tcp", 81, "10.9.0.15:8080",
                check(serde_json::json!({"type": "http", "expect_status": "503"}))),
    ]});
    let file = format!("/tmp/{}-checkers.json", ns.name());
    std::fs::write(&file, doc.to_string()).unwrap();
    let all_weights = || -> Vec<(u16, u32)> {
        let ipvs = open(&ns);
        let mut out: Vec<(u16, u32)> = ipvs
            .state()
            .unwrap_or_default()
            .iter()
            .flat_map(|vs| {
                let port = match vs.entry.service.key {
                    ServiceKey::Addr { port, .. } => port,
                    ServiceKey::Fwmark { .. } => 0,
                };
                vs.destinations
                    .iter()
                    .map(move |d| (port, d.destination.weight))
            })
            .collect();
        out.sort();
        out
    };
    let d = Healthd::start(&ns, &["-f", &file, "--json"]);
    let wait = |want: &[(u16, u32)]| {
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_for(&format!("weights {want:?}"), LIMIT, || {
                (all_weights() == want).then_some(())
            })
        }));
        if got.is_err() {
            panic!(
                "weights {:?}\nlines {:?}\nstderr {}",
                all_weights(),
                d.lines(),
                d.stderr()
            );
        }
    };
    wait(&[(7, 2), (22, 2), (53, 2), (80, 2), (81, 0), (443, 2)]);

    flaky.set(false);
    wait(&[(7, 0), (22, 0), (53, 0), (80, 0), (81, 2), (443, 0)]);
    let reasons: BTreeMap<String, String> = d
        .lines()
        .iter()
        .filter(|l| l["state"] == "down")
        .map(|l| {
            (
                l["service"].as_str().unwrap().to_string(),
                l["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let reason = |svc: &str| reasons.get(svc).cloned().unwrap_or_default();
    assert_eq!(
        reason("TCP 10.9.0.100:443"),
        "http: status 503",
        "{reasons:?}"
    );
    assert_eq!(
        reason("UDP 10.9.0.100:53"),
        "dns: rcode SERVFAIL",
        "{reasons:?}"
    );
    assert!(
        reason("UDP 10.9.0.100:7").starts_with("udp: reply of 4 bytes without"),
        "{reasons:?}"
    );
    assert_eq!(
        reason("TCP 10.9.0.100:22"),
        "exec: exit status 1",
        "{reasons:?}"
    );
    assert_eq!(
        reason("TCP 10.9.0.100:80"),
        "http: status 503",
        "{reasons:?}"
    );
    // Down at the start (its first verdict), by the 200 of a healthy server.
    assert_eq!(
        reason("TCP 10.9.0.100:81"),
        "http: status 200",
        "{reasons:?}"
    );

    flaky.set(true);
    wait(&[(7, 2), (22, 2), (53, 2), (80, 2), (81, 0), (443, 2)]);
    let ups = d
        .lines()
        .iter()
        .filter(|l| l["state"] == "up")
        .map(|l| l["reason"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(
        ups.iter()
            .any(|r| r.starts_with("dns: rcode NOERROR, 1 answer")),
        "{ups:?}"
    );
    assert!(ups.iter().any(|r| r == "udp: reply of 4 bytes"), "{ups:?}");
    assert!(ups.iter().any(|r| r == "exec: exit 0"), "{ups:?}");
    assert_eq!(d.stop(), 0);
}

/// A real server removed from the file of an `on_down: "remove"` service is drained: weight 0
/// while a client's connection to it is open, deleted once the connection is gone; the other
/// keeps its weight and its state.
#[test]
fn healthd_removed_server_is_drained() {
    use nix::sys::socket::{setsockopt, sockopt::Linger};
    use std::net::TcpStream;

    let lab = NatLab::new(2);
    let doc = |reals: &[usize]| {
        let dests: Vec<Value> = reals
            .iter()
            .map(|i| serde_json::json!({"address": format!("192.168.10.{}", 11 + i), "forward": "masq"}))
            .collect();
        serde_json::json!({"services": [{
            "protocol": "tcp", "address": VIP, "port": 80, "scheduler": "rr",
            "check": {"type": "tcp", "interval": 0.5, "timeout": 0.4, "rise": 1, "fall": 2},
            "on_down": "remove",
            "destinations": dests,
        }]})
        .to_string()
    };
    let file = format!("/tmp/{}-drain.json", lab.director.name());
    std::fs::write(&file, doc(&[0, 1])).unwrap();
    let d = Healthd::start(&lab.director, &["-f", &file, "--json"]);
    wait_weights(&lab.director, &[(0, 1), (1, 1)]);
    // Two idle connections through the VIP, round robin: one on each real server.
    let at: std::net::SocketAddr = format!("{VIP}:80").parse().unwrap();
    let conns: Vec<TcpStream> = (0..2)
        .map(|_| {
            lab.client
                .enter(|| TcpStream::connect(at))
                .expect("connect")
        })
        .collect();
    let key = ServiceKey::tcp(VIP.parse().unwrap(), 80);
    let active = || -> BTreeMap<String, u32> {
        open(&lab.director)
            .destinations(&key)
            .unwrap_or_default()
            .iter()
            .map(|d| {
                (
                    format!("{}:{}", d.destination.addr, d.destination.port),
                    d.active_conns + d.inactive_conns,
                )
            })
            .collect()
    };
    assert_eq!(active().get(&rs(1)), Some(&1), "{:?}", active());

    std::fs::write(&file, doc(&[0])).unwrap();
    d.signal("-HUP");
    wait_weights(&lab.director, &[(0, 1), (1, 0)]);
    // Still there, for its connection, after more than a few drain steps (one per 0.5 s).
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(weights(&lab.director).get(&rs(1)), Some(&0));
    let said = d.lines();
    assert!(
        said.iter().any(|l| l["destination"] == rs(1).as_str()
            && l["removed"] == true
            && l["deleted"] == false),
        "{said:?}"
    );
    // Reset (linger 0): the kernel's entry closes at once rather than waiting in TIME_WAIT.
    for c in conns {
        setsockopt(
            &c,
            Linger,
            &libc::linger {
                l_onoff: 1,
                l_linger: 0,
            },
        )
        .expect("SO_LINGER");
        drop(c);
    }
    wait_for(
        "rs2 deleted after its connection",
        Duration::from_secs(60),
        || (!weights(&lab.director).contains_key(&rs(1))).then_some(()),
    );
    assert_eq!(weights(&lab.director).get(&rs(0)), Some(&1));
    let said = d.lines();
    assert!(
        said.iter()
            .any(|l| l["destination"] == rs(1).as_str() && l["deleted"] == true),
        "{said:?}"
    );
    // rs1 kept its state: one transition (its first verdict), none from the reload.
    assert_eq!(d.transitions(0), [("up".to_string(), Value::from(1))]);
    assert_eq!(d.stop(), 0);
}

/// The rules of the VIP tests: the lab's service with its two real servers forwarded by
/// `forward` (`route` or `tunnel`), each checked on the VIP, and with `through` by its `mark`
/// and the director's `source` for a fwmark service holding that server alone. `rs1`'s check is
/// a TCP connect (the scheduler's fast path), `rs2`'s an HTTP GET that wants its VIP page (a
/// task of its own): both ways set the mark and the source. (Without the mark, `rs1`'s connect
/// from the source would go through the real service to either server and pass while one
/// serves: with the fast path's mark taken out, both VIP tests fail.)
fn vip_rules(forward: &str, through: bool) -> serde_json::Value {
    let rip = |i: usize| format!("10.0.0.{}", 11 + i);
    let check = |i: usize| {
        let mut c = serde_json::json!({"type": "tcp", "address": VIP,
            "interval": 0.5, "timeout": 0.4, "rise": 2, "fall": 2});
        if i == 1 {
            c["type"] = "http".into();
            c["expect_body"] = "rs2".into();
        }
        if through {
            c["mark"] = (11 + i).into();
            c["source"] = "10.0.0.1".into();
        }
        c
    };
    let mut services = vec![serde_json::json!({
        "protocol": "tcp", "address": VIP, "port": 80, "scheduler": "rr",
        "destinations": (0..2).map(|i| serde_json::json!({
            "address": rip(i), "port": 80, "forward": forward, "weight": 1,
            "check": check(i)})).collect::<Vec<_>>(),
    })];
    // One fwmark service per real server, holding it alone: the checks' way to it.
    for i in 0..2 {
        services.push(serde_json::json!({"fwmark": 11 + i, "scheduler": "rr",
            "destinations": [{"address": rip(i), "port": 80, "forward": forward}]}));
    }
    serde_json::json!({ "services": services })
}

/// The weights of the VIP tests' two real servers, waited for.
fn vip_weights(director: &NetNs, want: [u32; 2]) {
    let want: BTreeMap<String, u32> = (0..2)
        .map(|i| (format!("10.0.0.{}:80", 11 + i), want[i]))
        .collect();
    wait_for(&format!("weights {want:?}"), LIMIT, || {
        (weights(director) == want).then_some(())
    });
}

/// A DR or TUN lab (`forward` `route` or `tunnel`; the real servers hold the VIP on `vip_dev`)
/// whose real servers serve on the VIP alone (`rs1` and `rs2`; their own addresses answer with
/// another page), checked on it by healthd through IPVS (`vip_rules`): a stopped VIP listener
/// takes its server down (weight 0) while its own address still answers; started again, it
/// comes back, and clients reach it through the VIP. Returns the lab, the own-address servers
/// and the rules file, with the director's sysctls of docs/json.md set.
fn checked_on_the_vip(forward: &str, vip_dev: &str) -> (LanLab, Vec<Httpd>, String) {
    let mut lab = LanLab::new(2);
    lab.real_servers_own_the_vip(vip_dev);
    let rip = |i: usize| format!("10.0.0.{}", 11 + i);
    // Each real server: its page on the VIP alone, another on its own address.
    lab.servers.clear();
    let own: Vec<Httpd> = (0..2)
        .map(|i| Httpd::start_on(&lab.rs[i], &format!("rs{}-own", i + 1), Some(&rip(i))))
        .collect();
    for i in 0..2 {
        let page = format!("rs{}", i + 1);
        lab.servers
            .push(Httpd::start_on(&lab.rs[i], &page, Some(VIP)));
    }
    // The checks' answers come from the VIP, an address of the director's own.
    for conf in ["all", "default", "eth0"] {
        sysctl(
            &lab.director,
            &format!("net.ipv4.conf.{conf}.rp_filter"),
            "0",
        );
    }
    sysctl(&lab.director, "net.ipv4.conf.eth0.accept_local", "1");

    let file = format!("/tmp/{}-{forward}.json", lab.director.name());
    std::fs::write(&file, vip_rules(forward, true).to_string()).unwrap();
    let d = Healthd::start(&lab.director, &["-f", &file, "--json"]);
    vip_weights(&lab.director, [1, 1]);
    let t = tally(&lab.client, &url(VIP), 4);
    assert_eq!(
        t,
        crate::lab::counts(&[("rs1", 2), ("rs2", 2)]),
        "{forward} through the VIP"
    );

    // Each server's VIP listener in turn: rs1's check is TCP, rs2's HTTP.
    for (i, reason) in [(0, "connect: connection refused"), (1, "refused")] {
        let other = 1 - i;
        let page = format!("rs{}", i + 1);
        let server = lab.servers.remove(i);
        drop(server);
        let mut want = [1, 1];
        want[i] = 0;
        vip_weights(&lab.director, want);
        // Its own address still answers: its check was on the VIP.
        assert_eq!(get(&lab.director, &url(&rip(i))), format!("{page}-own"));
        let t = tally(&lab.client, &url(VIP), 4);
        assert_eq!(
            t,
            crate::lab::counts(&[(format!("rs{}", other + 1).as_str(), 4)]),
            "the other server serves every request"
        );
        let lines = d.lines();
        let down = lines
            .iter()
            .find(|l| l["destination"] == format!("{}:80", rip(i)).as_str() && l["state"] == "down")
            .unwrap_or_else(|| panic!("a down line for {page}: {lines:?}"));
        assert!(down["reason"].as_str().unwrap().contains(reason), "{down}");

        lab.servers
            .insert(i, Httpd::start_on(&lab.rs[i], &page, Some(VIP)));
        vip_weights(&lab.director, [1, 1]);
        let t = tally(&lab.client, &url(VIP), 4);
        assert_eq!(
            t,
            crate::lab::counts(&[("rs1", 2), ("rs2", 2)]),
            "{page} back"
        );
        let states: Vec<String> = d
            .lines()
            .iter()
            .filter(|l| l["destination"] == format!("{}:80", rip(i)).as_str())
            .map(|l| l["state"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(states, ["up", "down", "up"], "{page}");
    }
    assert_eq!(d.stop(), 0);
    (lab, own, file)
}

/// Direct routing with real servers that serve on the VIP alone (`rs1` and `rs2`; their own
/// addresses answer with another page). Each server's check goes to the VIP (`address`) marked
/// for an IPVS fwmark service whose one destination is that server (`mark`), from the director's
/// own address (`source`): IPVS forwards it to that server as it forwards clients, so the check
/// reaches the server's VIP listener rather than the director's own VIP, and the answer comes
/// back to the director. A stopped VIP listener takes its server down (weight 0) while its own
/// address still answers; started again, it comes back, and clients reach it through the VIP
/// (`checked_on_the_vip`). The director's sysctls of docs/json.md are needed: without
/// `accept_local`, or behind a strict `rp_filter` with the VIP on a dummy interface, the checks
/// fail. The same check without `mark` and `source` cannot reach a server: it fails.
#[test]
fn healthd_dr_server_checked_on_the_vip() {
    use crate::lab::ip;

    let (lab, own, file) = checked_on_the_vip("route", "lo");
    let once = || {
        lab.director
            .exec("ipvsctl", &["healthd", "--once", "-f", &file])
    };
    let (code, out, err) = once();
    assert_eq!(code, 0, "{out}{err}");
    // The answers come from the VIP, the director's own address: dropped as martians unless
    // the interface takes them (docs/json.md says so).
    sysctl(&lab.director, "net.ipv4.conf.eth0.accept_local", "0");
    let (code, out, err) = once();
    assert_eq!(code, 1, "without accept_local: {out}{err}");
    sysctl(&lab.director, "net.ipv4.conf.eth0.accept_local", "1");
    // A strict reverse-path filter takes them while the VIP is on eth0 (the way back to it);
    // with the VIP on a dummy interface it drops them, and a loose one takes them.
    sysctl(&lab.director, "net.ipv4.conf.eth0.rp_filter", "1");
    let (code, out, err) = once();
    assert_eq!(code, 0, "rp_filter 1, the VIP on eth0: {out}{err}");
    ip(&lab.director, &format!("addr del {VIP}/32 dev eth0"));
    ip(&lab.director, "link add vip0 type dummy");
    ip(&lab.director, &format!("addr add {VIP}/32 dev vip0"));
    ip(&lab.director, "link set vip0 up");
    let (code, out, err) = once();
    assert_eq!(code, 1, "rp_filter 1, the VIP on a dummy: {out}{err}");
    for loose in ["2", "0"] {
        sysctl(&lab.director, "net.ipv4.conf.eth0.rp_filter", loose);
        let (code, out, err) = once();
        assert_eq!(code, 0, "rp_filter {loose}, the VIP on a dummy: {out}{err}");
    }

    // Without the mark and the source, the check to the VIP is the director's own (IPVS takes
    // it, sends it from the VIP, and the real server answers itself): no server passes.
    without_mark_and_source_no_server_passes(&lab, &file, "route");
    drop(own);
}

/// `healthd --once` with the checks of `vip_rules(forward, false)`: each server's check fails
/// (`down`), where with the mark and the source each passes.
fn without_mark_and_source_no_server_passes(lab: &LanLab, file: &str, forward: &str) {
    let once = |through: bool| {
        std::fs::write(file, vip_rules(forward, through).to_string()).unwrap();
        let (code, out, err) = lab
            .director
            .exec("ipvsctl", &["healthd", "--once", "--json", "-f", file]);
        // The real service's servers (the fwmark services' have no check).
        let service = format!("TCP {VIP}:80");
        let states: Vec<String> = out
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["service"] == service.as_str())
            .map(|l| l["result"].as_str().unwrap_or("").to_string())
            .collect();
        (code, states, format!("{out}{err}"))
    };
    let (code, states, said) = once(true);
    assert_eq!(
        (code, states),
        (0, vec!["up".to_string(), "up".into()]),
        "{said}"
    );
    let (code, states, said) = once(false);
    assert_eq!(
        (code, states),
        (1, vec!["down".to_string(), "down".into()]),
        "{said}"
    );
}

/// Tunnelling (`-i`, ipip) with real servers that serve on the VIP alone, the VIP on their
/// `tunl0` (up, no reverse-path filter: the lecture's LVS/TUN real server), checked as the DR
/// test's: each server's check goes to the VIP with the mark of a fwmark service holding that
/// server alone, from the director's address, so IPVS tunnels it to that server as it tunnels
/// clients. A stopped VIP listener takes its server to weight 0 while its own address still
/// answers; started again, it comes back (`checked_on_the_vip`). Without `mark` and `source`,
/// no server passes.
#[test]
fn healthd_tun_server_checked_on_the_vip() {
    crate::lab::modprobe("ipip");
    let (lab, own, file) = checked_on_the_vip("tunnel", "tunl0");
    let tun = ipvsctl(&lab.director, &["-Ln", "--tun-info"]);
    // Two in the real service, one in each fwmark service.
    assert_eq!(tun.matches(" Tunnel  ipip ").count(), 4, "{tun}");
    without_mark_and_source_no_server_passes(&lab, &file, "tunnel");
    drop(own);
}

/// /metrics whole: healthd's series and the exporter's, through the last line.
fn whole_metrics(text: &str) -> bool {
    text.contains("\nipvs_backend_up{") && text.ends_with('\n')
}

/// /status whole: JSON with the lab's service.
fn whole_status(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|v| v["services"][0]["real_servers"].is_array())
}

/// The hostile clients of the exporter's test against `healthd --listen` (with 500 more services
/// of 4 real servers in the table, so that /metrics is megabytes): honest GETs of /metrics and
/// /status answer 200 whole within 5 s while each is active and after it left, healthd lives on,
/// and its checks go on: while each hostile client is active, rs2 is stopped or started and
/// healthd takes it down or up.
#[test]
fn healthd_listen_answers_through_hostile_clients_and_keeps_checking() {
    use crate::served::{connection_limit, honest_get, hostile_clients, Daemon};

    let mut lab = NatLab::new(2);
    crate::exporter::big_table(&lab.director, 500, 4);
    let file = rules(&lab.director, &[0, 1]);
    let at: std::net::SocketAddr = "127.0.0.1:9771".parse().unwrap();
    let mut d = Healthd::start(
        &lab.director,
        &["-f", &file, "--json", "--listen", "127.0.0.1:9771"],
    );
    wait_weights(&lab.director, &[(0, 1), (1, 1)]);
    let line = wait_for("healthd's listening line", LIMIT, || {
        d.stderr()
            .lines()
            .find(|l| l.contains("listening"))
            .map(String::from)
    });
    println!("{line} (limit {})", connection_limit(&line));
    let director = &lab.director;
    let size = honest_get(
        &mut d,
        director,
        at,
        "/metrics",
        "no hostile client",
        &whole_metrics,
    );
    assert!(size > 1_000_000, "a scrape of {size} bytes is too small");

    let mut toggles = 0;
    let servers = &mut lab.servers;
    let rs2 = &lab.rs[1];
    hostile_clients(
        director,
        at,
        &mut d,
        &mut |d: &mut dyn Daemon, during, active| {
            honest_get(d, director, at, "/metrics", during, &whole_metrics);
            honest_get(d, director, at, "/status", during, &whole_status);
            crate::served::alive(d, during);
            if active {
                // A transition while the hostile client is there.
                if servers.len() == 2 {
                    drop(servers.remove(1));
                    wait_weights(director, &[(0, 1), (1, 0)]);
                } else {
                    servers.push(Httpd::start(rs2, "rs2"));
                    wait_weights(director, &[(0, 1), (1, 1)]);
                }
                toggles += 1;
                println!(
                    "  {during}: rs2 {}",
                    if servers.len() == 2 { "up" } else { "down" }
                );
            }
        },
    );
    assert_eq!(
        toggles, 7,
        "a transition during each hostile client's turns"
    );
    let states: Vec<String> = d.transitions(1).into_iter().map(|(s, _)| s).collect();
    let want: Vec<&str> = std::iter::once("up")
        .chain((0..toggles).map(|i| if i % 2 == 0 { "down" } else { "up" }))
        .collect();
    assert_eq!(states, want);
    assert_eq!(d.transitions(0), [("up".to_string(), Value::from(1))]);
    assert_eq!(d.stop(), 0);
}

/// Under `ulimit -n 40`, healthd's checks run out of descriptors (40 real servers that accept
/// and never answer hold one each until the timeout): each check it cannot make is said on
/// stderr and counted (`unchecked` in /status, `ipvs_healthd_unchecked_checks_total`), and never
/// takes a server down: rs1 and rs2 stay up at weight 1 throughout, while the silent servers go
/// down. Then, with the silent servers gone, the exporter's test of idle connections: honest
/// GETs answer through 20 and 80 idle connections and after them.
#[test]
fn healthd_under_ulimit_n_40_counts_its_own_emfile_as_unchecked() {
    use crate::exporter::sample;
    use crate::served::{alive, connection_limit, honest_get, silent_clients};

    let lab = NatLab::new(2);
    const SILENT: u16 = 40;
    // Listeners that never accept: the kernel completes the connections, nobody answers.
    let silent: Vec<std::net::TcpListener> = (0..SILENT)
        .map(|i| {
            lab.rs[0]
                .enter(|| std::net::TcpListener::bind(("192.168.10.11", 8001 + i)))
                .expect("a silent listener")
        })
        .collect();
    let silent_name = |i: u16| format!("192.168.10.11:{}", 8001 + i);
    let dests: Vec<Value> = (0..2)
        .map(|i| {
            serde_json::json!({"address": format!("192.168.10.{}", 11 + i), "port": 80,
                                    "forward": "masq", "weight": 1})
        })
        .chain((0..SILENT).map(|i| {
            serde_json::json!({"address": "192.168.10.11",
                                    "port": 8001 + i, "forward": "masq", "weight": 1})
        }))
        .collect();
    let doc = serde_json::json!({"services": [{
        "protocol": "tcp", "address": VIP, "port": 80, "scheduler": "rr",
        "check": {"type": "http", "interval": 0.5, "timeout": 0.4, "rise": 2, "fall": 2},
        "destinations": dests,
    }]});
    let file = format!("/tmp/{}-emfile.json", lab.director.name());
    std::fs::write(&file, doc.to_string()).unwrap();
    // In the table at weight 1 before healthd starts: it keeps them until its verdicts.
    ipvsctl(&lab.director, &["apply", "-f", &file]);
    let at: std::net::SocketAddr = "127.0.0.1:9772".parse().unwrap();
    let mut d = Healthd::start_limited(
        &lab.director,
        "-n 40",
        &["-f", &file, "--json", "--listen", "127.0.0.1:9772"],
    );
    let line = wait_for("healthd's listening line", LIMIT, || {
        d.stderr()
            .lines()
            .find(|l| l.contains("listening"))
            .map(String::from)
    });
    let max = connection_limit(&line);
    println!("{line}");
    assert!(
        max < 40,
        "a limit of {max} connections does not fit 40 descriptors"
    );

    let emfile = "could not check: connect: too many open files (counted, the state stays)";
    wait_for("checks out of descriptors", Duration::from_secs(60), || {
        d.stderr().contains(emfile).then_some(())
    });
    wait_for("the silent servers down", Duration::from_secs(60), || {
        let w = weights(&lab.director);
        (0..SILENT)
            .all(|i| w.get(&silent_name(i)) == Some(&0))
            .then_some(())
    });
    let w = weights(&lab.director);
    assert_eq!(
        (w.get(&rs(0)), w.get(&rs(1))),
        (Some(&1), Some(&1)),
        "{w:?}"
    );
    // Nobody listens there any more: the checks end at once, the descriptors come back.
    drop(silent);

    let director = &lab.director;
    let both = |d: &mut Healthd, during: &str| {
        honest_get(d, director, at, "/metrics", during, &whole_metrics);
        honest_get(d, director, at, "/status", during, &whole_status);
    };
    let idle = silent_clients(director, at, 20, b"");
    std::thread::sleep(Duration::from_secs(2));
    both(&mut d, "20 idle connections under ulimit -n 40");
    let more = silent_clients(director, at, 60, b"");
    std::thread::sleep(Duration::from_secs(2));
    both(&mut d, "80 idle connections under ulimit -n 40");
    alive(&mut d, "80 idle connections");
    drop(idle);
    drop(more);
    std::thread::sleep(Duration::from_secs(1));
    for i in 0..3 {
        both(&mut d, &format!("all closed under ulimit -n 40 ({i})"));
    }
    alive(&mut d, "all closed");

    // Each check not made: one line, one count; rs1 and rs2 never went down.
    let said = d.stderr().matches("could not check: ").count();
    let (_, body) = director
        .enter(|| crate::exporter::get(at, "/status", None))
        .expect("GET /status");
    let status: Value = serde_json::from_str(&body).expect("JSON");
    assert!(said > 0);
    assert_eq!(status["unchecked"].as_u64(), Some(said as u64), "{status}");
    let (_, m) = director
        .enter(|| crate::exporter::get(at, "/metrics", None))
        .expect("GET /metrics");
    assert_eq!(
        sample(&m, "ipvs_healthd_unchecked_checks_total"),
        Some(said as f64)
    );
    println!("  {said} checks not made for want of descriptors");
    for i in 0..2 {
        assert!(
            d.transitions(i).iter().all(|(s, _)| s == "up"),
            "rs{}: {:?}",
            i + 1,
            d.transitions(i)
        );
    }
    let w = weights(&lab.director);
    assert_eq!(
        (w.get(&rs(0)), w.get(&rs(1))),
        (Some(&1), Some(&1)),
        "{w:?}"
    );
    assert_eq!(d.stop(), 0);
}
