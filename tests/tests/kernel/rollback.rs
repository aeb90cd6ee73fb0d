//! The undo of a failed `apply` against the real kernel, under every fault: a dump torn by a
//! writer in another namespace while the undo reads, the kernel's answers overflowing the
//! socket mid-batch, SIGTERM during the last (or only) batch and during `apply --drain`, and an
//! undo that another writer makes fail (its own exit status).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipvs::apply::ApplyError;
use ipvs::{Change, Ipvs, Plan, PlanOptions, Service, ServiceKey, ServiceState, State};

use crate::harness::{require_ipvs, NetNs};
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// `n` TCP services `10.{net}.x.y:80`.
fn keys(net: u8, n: usize) -> Vec<ServiceKey> {
    (0..n)
        .map(|i| {
            ServiceKey::tcp(
                IpAddr::from([10, net, (i / 250) as u8, (i % 250) as u8 + 1]),
                80,
            )
        })
        .collect()
}

fn rr(k: ServiceKey) -> Service {
    Service::new(k).with_scheduler("rr")
}

fn add_all(ipvs: &Ipvs, keys: &[ServiceKey]) {
    let changes: Vec<Change> = keys.iter().map(|k| Change::AddService(rr(*k))).collect();
    for r in ipvs.apply(&changes).expect("apply") {
        r.expect("add a service");
    }
}

/// Which of `keys` the kernel has, each asked for by key (a dump could be torn).
fn present(ipvs: &Ipvs, keys: &[ServiceKey]) -> Vec<ServiceKey> {
    keys.iter()
        .filter(|k| ipvs.service(k).expect("service").is_some())
        .copied()
        .collect()
}

/// The writer of `torn.rs`: in another namespace, adds and deletes a service as fast as it can,
/// which shifts every namespace's dumps. Stops when dropped.
struct Writer<'a> {
    stop: &'a AtomicBool,
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn write_forever(other: &NetNs, stop: &AtomicBool, writes: &AtomicUsize) {
    let theirs = open(other);
    let mut i = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let k = ServiceKey::tcp(IpAddr::from([10, 78, (i % 7) as u8, 1]), i as u16 % 997);
        theirs.add_service(&rr(k)).expect("the writer adds");
        theirs.delete_service(&k).expect("the writer deletes");
        writes.fetch_add(2, Ordering::Relaxed);
        i = i.wrapping_add(1);
    }
}

/// A table of 3,000 services, a writer in another namespace tearing its dumps, and 20 applies
/// of 500 new services whose last one the kernel refuses (a scheduler it lacks): after each,
/// none of the 500 is left. The undo reads what it undoes by key: with a plain dump, a skipped
/// service would look deleted by another writer, and this run's add of it would stay.
#[test]
fn apply_rollback_under_a_torn_dump_undoes_every_add() {
    require_ipvs();
    let ns = NetNs::new();
    let other = NetNs::new();
    let ipvs = open(&ns);
    add_all(&ipvs, &keys(77, 3000));
    let stop = AtomicBool::new(false);
    let writes = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| write_forever(&other, &stop, &writes));
        let _writer = Writer { stop: &stop };
        for round in 0..20u8 {
            let new = keys(100 + round, 500);
            let mut desired = State::default();
            for k in &new {
                desired.services.push(ServiceState::new(rr(*k)));
            }
            desired.services[499].service.scheduler = "nosuch".into();
            // Planned against an empty table: the 500 adds, no read of the 3,000.
            let plan = ipvs::plan(&State::default(), &desired, &PlanOptions::default())
                .expect("a valid state");
            let err = ipvs
                .apply_plan(&plan, None)
                .expect_err("an unknown scheduler");
            let text = err.to_string();
            let ApplyError::Refused(r) = err else {
                panic!("round {round}: {text}")
            };
            assert_eq!(r.change, plan.changes[499], "round {round}: {text}");
            assert!(r.undo_failed.is_empty(), "round {round}: {text}");
            let left = present(&ipvs, &new);
            assert!(
                left.is_empty() && r.superseded == 0,
                "round {round}: {} of the 500 left ({} judged another writer's): {text}",
                left.len(),
                r.superseded
            );
            assert_eq!(r.undone, 499, "round {round}: {text}");
        }
    });
    eprintln!(
        "torn rollback: 20 rounds in {:?}; the other namespace's writer made {} changes",
        start.elapsed(),
        writes.load(Ordering::Relaxed)
    );
    assert!(writes.load(Ordering::Relaxed) > 0, "the writer never wrote");
    assert_eq!(present(&ipvs, &keys(77, 3000)).len(), 3000);
}

/// A receive queue of the smallest size and sends of 300 changes: 100 adds, 100 edits of
/// services that are not there (each answered with a refusal, and the answers overflow the
/// queue), 100 adds. The kernel ran the whole send, though only the first refusals came back;
/// the undo reads by key which changes the kernel made and undoes all 200 adds.
#[test]
fn apply_plan_after_an_overrun_mid_batch_undoes_what_the_kernel_made() {
    require_ipvs();
    let ns = NetNs::new();
    let ipvs = open(&ns);
    ns.ipvsadm_ok(&["-A", "-t", "10.60.0.1:80", "-s", "wlc"]);
    let before = ipvsadm_save(&ns);
    let granted =
        ipvs::replay::with_socket(&ipvs, |s| s.set_receive_buffer(1)).expect("set_receive_buffer");
    assert!(granted < 8192, "the smallest queue: {granted} bytes");
    ipvs::replay::with_socket(&ipvs, |s| s.set_batch_limit(300));
    let added = keys(61, 200);
    let absent = keys(62, 100);
    let mut plan = Plan::default();
    for k in &added[..100] {
        plan.push(Change::AddService(rr(*k)), Change::DeleteService(*k));
    }
    for k in &absent {
        let edit = Change::EditService(rr(*k).with_scheduler("wlc"));
        plan.push(edit, Change::EditService(rr(*k)));
    }
    for k in &added[100..] {
        plan.push(Change::AddService(rr(*k)), Change::DeleteService(*k));
    }
    let err = ipvs
        .apply_plan(&plan, None)
        .expect_err("edits of services not there");
    let text = err.to_string();
    eprintln!("overrun: {text}");
    let ApplyError::Refused(r) = err else {
        panic!("{text}")
    };
    assert!(r.unanswered > 0, "the answers did not overflow: {text}");
    assert_eq!(r.change, plan.changes[100], "{text}");
    assert_eq!(r.error.errno(), Some(libc::ESRCH), "{text}");
    assert!(r.undo_failed.is_empty(), "{text}");
    assert_eq!((r.undone, r.superseded), (200, 0), "{text}");
    assert!(present(&ipvs, &added).is_empty(), "{text}");
    assert_eq!(ipvsadm_save(&ns), before);
}

/// `ipvsctl apply ARGS` in the namespace, started (stdout and stderr piped).
fn spawn_apply(ns: &NetNs, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns.name(), "ipvsctl", "apply"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ipvsctl apply")
}

/// Waits until `seen` (polled every millisecond) or the child ends; whether it is still running.
fn running_when(child: &mut Child, mut seen: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if seen() {
            return child.try_wait().unwrap().is_none();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("apply never got there");
}

/// SIGTERM to the child; its status (128 + the signal when the signal ended it) and stderr.
/// Sent by this process, not by a `kill` started for it: starting one took tens of
/// milliseconds in the VM, long enough for a fast apply to end before the signal came.
fn terminate(child: Child) -> (i32, String) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    kill(pid, Signal::SIGTERM).expect("kill -TERM");
    finish(child)
}

fn finish(child: Child) -> (i32, String) {
    use std::os::unix::process::ExitStatusExt;
    let out = child.wait_with_output().expect("wait for ipvsctl");
    let status = out
        .status
        .code()
        .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
    (status, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A state file of `keys`' services, each with a masquerading real server.
fn state_file(ns: &NetNs, tag: &str, state: &State) -> String {
    let path = format!("/tmp/{}-{tag}.json", ns.name());
    std::fs::write(&path, serde_json::to_string(state).unwrap()).unwrap();
    path
}

fn services(keys: &[ServiceKey]) -> State {
    State {
        services: keys.iter().map(|k| ServiceState::new(rr(*k))).collect(),
        timeouts: None,
        ..Default::default()
    }
}

/// 999 new services, one batch: SIGTERM once the kernel shows the first of them (the batch is
/// in flight, or just done) ends the run with 143 and the table as it was, never with 0 and
/// the changes kept. A run that ended before the signal proves nothing and is run again.
#[test]
fn apply_sigterm_during_the_only_batch_undoes_it_and_exits_143() {
    require_ipvs();
    let ns = NetNs::new();
    ns.ipvsadm_ok(&["-A", "-t", "10.63.0.1:80", "-s", "wlc"]);
    let before = ipvsadm_save(&ns);
    let new = keys(64, 999);
    let file = state_file(&ns, "one-batch", &services(&new));
    let watcher = open(&ns);
    let mut landed = 0;
    for attempt in 0..10 {
        let mut child = spawn_apply(&ns, &["-f", &file]);
        if !running_when(&mut child, || watcher.service(&new[0]).unwrap().is_some()) {
            let (status, err) = finish(child);
            eprintln!("attempt {attempt}: ended before the signal: {status} {err}");
            assert_eq!(status, 0, "{err}");
            watcher.flush().unwrap();
            ns.ipvsadm_ok(&["-A", "-t", "10.63.0.1:80", "-s", "wlc"]);
            continue;
        }
        let (status, err) = terminate(child);
        eprintln!("attempt {attempt}: SIGTERM: {status} {err}");
        if status == 0 && err.is_empty() && ipvsadm_save(&ns) != before {
            // Seen running, but done before the signal came: its whole batch made, nothing
            // said, as a run that ended before the signal. Run again; one that never sees
            // the signal fails below.
            let kept = watcher.read_state(&ipvs::ReadOptions::new()).unwrap();
            assert_eq!(
                kept.services.len(),
                new.len() + 1,
                "a run cut short said nothing"
            );
            watcher.flush().unwrap();
            ns.ipvsadm_ok(&["-A", "-t", "10.63.0.1:80", "-s", "wlc"]);
            continue;
        }
        assert_eq!(status, 143, "{err}");
        assert!(
            err.starts_with("apply: interrupted by SIGTERM: the ")
                && err.ends_with(" changes made were undone; the table is as it was\n"),
            "{err}"
        );
        assert_eq!(ipvsadm_save(&ns), before);
        landed += 1;
        if landed == 3 {
            break;
        }
    }
    assert!(landed > 0, "no SIGTERM came while apply ran");
}

/// `apply --drain` of 5,000 new services (and a real server to delete, which it drains):
/// SIGTERM once the kernel shows the first new service (about 100 ms in) ends it with 143 and
/// the table as before: the signal is honoured in every phase, what was made undone.
#[test]
fn apply_drain_sigterm_midway_leaves_the_table_as_before_and_exits_143() {
    require_ipvs();
    let ns = NetNs::new();
    ns.ipvsadm_ok(&["-A", "-t", "10.65.0.1:80", "-s", "wlc"]);
    for real in ["10.66.0.1:80", "10.66.0.2:80"] {
        ns.ipvsadm_ok(&["-a", "-t", "10.65.0.1:80", "-r", real, "-m", "-w", "3"]);
    }
    let before = ipvsadm_save(&ns);
    let new = keys(67, 5000);
    let mut desired = services(&new);
    // The kept service loses one real server: --drain drains it before the delete.
    desired.services.push(
        ServiceState::new(Service::new(ServiceKey::tcp(ip("10.65.0.1"), 80)).with_scheduler("wlc"))
            .with_destination(
                ipvs::Destination::new(ip("10.66.0.1"), 80)
                    .with_forward(ipvs::Forward::Masquerade)
                    .with_weight(3),
            ),
    );
    let file = state_file(&ns, "drain", &desired);
    let watcher = open(&ns);
    let mut child = spawn_apply(&ns, &["--drain=30", "-f", &file]);
    let start = Instant::now();
    assert!(
        running_when(&mut child, || watcher.service(&new[0]).unwrap().is_some()),
        "apply --drain of 5,000 services ended before the signal: {:?}",
        finish(child)
    );
    let into = start.elapsed();
    let (status, err) = terminate(child);
    eprintln!("apply --drain, SIGTERM {into:?} in: {status} {err}");
    assert_eq!(status, 143, "{err}");
    assert!(err.contains("the table is as it was"), "{err}");
    assert_eq!(ipvsadm_save(&ns), before);
}

/// While `apply` adds 5,000 services after editing a service's scheduler, another writer
/// deletes that service, and SIGTERM comes: the undo of the edit finds no service and fails, so
/// the table is NOT as it was, and apply says so with a status of its own, 3.
#[test]
fn apply_undo_that_fails_exits_3_and_says_the_table_is_not_as_it_was() {
    require_ipvs();
    let ns = NetNs::new();
    let edited = ServiceKey::tcp(ip("10.68.0.1"), 80);
    let new = keys(69, 5000);
    let mut desired = services(&new);
    desired.services.insert(
        0,
        ServiceState::new(Service::new(edited).with_scheduler("wlc")),
    );
    let file = state_file(&ns, "undo-fails", &desired);
    let watcher = open(&ns);
    for attempt in 0..5 {
        watcher.flush().unwrap();
        ns.ipvsadm_ok(&["-A", "-t", "10.68.0.1:80", "-s", "rr"]);
        let mut child = spawn_apply(&ns, &["-f", &file]);
        let edit_made = || {
            watcher
                .service(&edited)
                .unwrap()
                .is_some_and(|e| e.service.scheduler.to_string() == "wlc")
        };
        if !running_when(&mut child, edit_made) {
            eprintln!("attempt {attempt}: ended first: {:?}", finish(child));
            continue;
        }
        // The other writer: the service whose edit the undo must take back is gone.
        watcher
            .delete_service(&edited)
            .expect("the other writer deletes");
        let (status, err) = terminate(child);
        eprintln!("attempt {attempt}: {status} {err}");
        if status == 0 {
            continue; // ended before the signal came
        }
        assert_eq!(status, 3, "{err}");
        assert!(
            err.starts_with("apply: interrupted by SIGTERM: undoing the ")
                && err.ends_with(" failed 1 times: the table is NOT as it was\n"),
            "{err}"
        );
        // Everything else was undone: none of the 5,000, and the service stays deleted.
        assert!(present(&watcher, &new).is_empty());
        assert_eq!(ipvsadm_save(&ns), Vec::<String>::new());
        return;
    }
    panic!("apply always ended before the other writer and the signal");
}

/// A server that answers "hello" to one connection and holds it until told (then closes it).
fn holding_server(ns: &NetNs, at: SocketAddr) -> mpsc::Sender<()> {
    let listener = ns.enter(|| TcpListener::bind(at)).expect("bind");
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok((mut c, _)) = listener.accept() else {
            return;
        };
        let _ = c.write_all(b"hello");
        let _ = rx.recv();
    });
    tx
}

fn dest_weight(ipvs: &Ipvs, key: &ServiceKey, at: SocketAddr) -> Option<(u32, u32)> {
    ipvs.destinations(key)
        .expect("destinations")
        .iter()
        .find(|d| d.destination.addr == at.ip() && d.destination.port == at.port())
        .map(|d| (d.destination.weight, d.active_conns))
}

/// `apply --drain` killed (SIGKILL) while it waits leaves the real server at weight 0. The
/// next `apply --drain` finds it at 0, yet when it is interrupted too, it gives back the weight
/// the first run recorded (3), not the 0 it read.
#[test]
fn apply_drain_rerun_after_a_kill_gives_back_the_recorded_weight() {
    require_ipvs();
    let ns = NetNs::new();
    add_dummy(
        &ns,
        "lan0",
        &["10.8.20.1/24", "10.8.20.2/24", "10.8.20.100/24"],
    );
    let real = SocketAddr::from(([10, 8, 20, 2], 8080));
    let vip = SocketAddr::from(([10, 8, 20, 100], 80));
    let key = ServiceKey::tcp(vip.ip(), 80);
    let bye = holding_server(&ns, real);
    let ipvs = open(&ns);
    ipvs.add_service(&rr(key)).unwrap();
    ipvs.add_destination(
        &key,
        &ipvs::Destination::new(real.ip(), real.port())
            .with_forward(ipvs::Forward::Masquerade)
            .with_weight(3),
    )
    .unwrap();
    let mut client =
        ns.enter(|| TcpStream::connect_timeout(&vip, Duration::from_secs(5)).expect("connect"));
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut hello = [0u8; 5];
    client
        .read_exact(&mut hello)
        .expect("hello through the service");
    assert_eq!(dest_weight(&ipvs, &key, real), Some((3, 1)));

    // The state without the real server: --drain waits for its connection.
    let rules = format!("/tmp/{}-rerun", ns.name());
    std::fs::write(&rules, "-A -t 10.8.20.100:80 -s rr\n").unwrap();
    let mut first = spawn_apply(&ns, &["--drain", "-f", &rules]);
    wait_for("weight 0", Duration::from_secs(30), || {
        (dest_weight(&ipvs, &key, real) == Some((0, 1))).then_some(())
    });
    first.kill().expect("SIGKILL the first apply");
    first.wait().unwrap();
    assert_eq!(
        dest_weight(&ipvs, &key, real),
        Some((0, 1)),
        "killed: weight 0"
    );

    // The rerun waits in its turn (its first line says so), then SIGTERM.
    let mut second = spawn_apply(&ns, &["--drain", "-f", &rules]);
    let mut line = String::new();
    BufReader::new(second.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the rerun's first line");
    assert!(
        line.starts_with("drain: 10.8.20.2:8080: weight 0, 1 active"),
        "{line}"
    );
    let (status, err) = terminate(second);
    eprintln!("rerun, SIGTERM while it drains: {status} {err}");
    assert_eq!(status, 143, "{err}");
    assert!(err.ends_with("the table is as it was\n"), "{err}");
    assert_eq!(
        dest_weight(&ipvs, &key, real),
        Some((3, 1)),
        "the rerun gave back the weight the killed run recorded"
    );

    // The connection ends (its TIME_WAIT still counts: a short timeout): a third run deletes
    // the server.
    bye.send(()).unwrap();
    drop(client);
    let (status, err) = finish(spawn_apply(&ns, &["--drain=1", "-f", &rules]));
    assert_eq!(status, 0, "{err}");
    assert_eq!(dest_weight(&ipvs, &key, real), None);
    std::fs::remove_file(&rules).ok();
}
