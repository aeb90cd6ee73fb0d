//! The scheduler with real checks on loopback: transitions after rise and
//! fall, a reload that keeps the state of unchanged targets, checks that
//! could not be made.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use ipvs_health::{read_check, Check, Event, Scheduler, State, Target, Transition};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;

fn tcp(rise: u32, fall: u32) -> Check {
    let spec =
        json!({"type": "tcp", "interval": 0.05, "timeout": 0.05, "rise": rise, "fall": fall});
    read_check(&spec, "check").unwrap().unwrap()
}

fn target(server: SocketAddr) -> Target {
    Target {
        service: "TCP 192.0.2.1:80".into(),
        server,
    }
}

/// The next event; a generous bound so that a lost one fails the test.
async fn next(events: &mut UnboundedReceiver<Event<&'static str>>) -> Event<&'static str> {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event within 10 s")
        .expect("the channel is open")
}

async fn next_transition(
    events: &mut UnboundedReceiver<Event<&'static str>>,
) -> Transition<&'static str> {
    match next(events).await {
        Event::Transition(t) => t,
        other => panic!("not a transition: {other:?}"),
    }
}

#[tokio::test]
async fn up_down_and_up_again() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = l.local_addr().unwrap();
    let (scheduler, mut events) = Scheduler::new();
    scheduler.insert("a", target(addr), tcp(2, 3));
    assert_eq!(
        scheduler.status(&"a").unwrap().health.state(),
        State::Unknown
    );

    let t = next_transition(&mut events).await;
    assert_eq!(
        (t.key, t.from, t.to, t.reason.as_str()),
        ("a", State::Unknown, State::Up, "connect: ok")
    );
    let s = scheduler.status(&"a").unwrap();
    assert!(s.checks >= 2, "up after rise = 2 checks, not {}", s.checks);
    // Taken now, read later: the statuses as they are when read, not a copy of now.
    let shared = scheduler.shared_statuses();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared.read(&"a", |s| s.health.state()), Some(State::Up));
    assert_eq!(shared.read(&"b", |s| s.checks), None);

    drop(l);
    let t = next_transition(&mut events).await;
    assert_eq!((t.from, t.to), (State::Up, State::Down));
    assert_eq!(t.reason, "connect: connection refused");
    assert_eq!(
        shared.read(&"a", |s| (s.health.state(), s.transitions)),
        Some((State::Down, 2))
    );
    let s = scheduler.status(&"a").unwrap();
    assert!(
        s.health.fails() >= 3,
        "down after fall = 3 failures, not {}",
        s.health.fails()
    );
    assert_eq!(s.transitions, 2);
    assert!(s.changed_at.is_some_and(|at| at >= t.at), "{s:?}");

    let _l = TcpListener::bind(addr).await.unwrap();
    let t = next_transition(&mut events).await;
    assert_eq!((t.from, t.to), (State::Down, State::Up));
}

#[tokio::test]
async fn a_reload_keeps_the_state_of_unchanged_targets() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let open = l.local_addr().unwrap();
    let closed = {
        let c = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        c.local_addr().unwrap()
    };
    let (scheduler, mut events) = Scheduler::new();
    scheduler.replace_all([("a", target(open), tcp(1, 1))]);
    let t = next_transition(&mut events).await;
    assert_eq!((t.key, t.to), ("a", State::Up));

    // Reload: "a" unchanged, "b" new.
    let before = scheduler.status(&"a").unwrap();
    scheduler.replace_all([
        ("a", target(open), tcp(1, 1)),
        ("b", target(closed), tcp(1, 1)),
    ]);
    let after = scheduler.status(&"a").unwrap();
    assert_eq!(after.health.state(), State::Up);
    assert!(after.checks >= before.checks, "a's counters kept");
    assert_eq!(
        scheduler.status(&"b").unwrap().health.state(),
        State::Unknown
    );
    let t = next_transition(&mut events).await;
    assert_eq!((t.key, t.from, t.to), ("b", State::Unknown, State::Down));

    // A changed check (new thresholds) keeps the state too.
    scheduler.replace_all([
        ("a", target(open), tcp(3, 3)),
        ("b", target(closed), tcp(1, 1)),
    ]);
    assert_eq!(scheduler.status(&"a").unwrap().health.state(), State::Up);
    assert_eq!(scheduler.status(&"a").unwrap().transitions, 1);

    // Reload without "a": it goes, "b" stays down.
    scheduler.replace_all([("b", target(closed), tcp(1, 1))]);
    assert_eq!(scheduler.keys(), vec!["b"]);
    assert!(scheduler.status(&"a").is_none());
    assert_eq!(scheduler.status(&"b").unwrap().health.state(), State::Down);
    assert!(scheduler.remove(&"b"));
    assert!(!scheduler.remove(&"b"));
    assert!(scheduler.statuses().is_empty());
    assert!(scheduler.shared_statuses().is_empty());
    // Nothing is checked any more: no event comes.
    drop(l);
    let quiet = tokio::time::timeout(Duration::from_millis(500), events.recv()).await;
    assert!(
        quiet.is_err(),
        "an event after every target went: {quiet:?}"
    );
}

#[tokio::test]
async fn unchecked_results_are_events_not_transitions() {
    let spec = json!({"type": "exec", "command": ["/nonexistent/check"], "interval": 0.05, "timeout": 0.05, "rise": 1, "fall": 1});
    let check = read_check(&spec, "check").unwrap().unwrap();
    let (scheduler, mut events) = Scheduler::new();
    scheduler.insert_starting(
        "x",
        target("127.0.0.1:80".parse().unwrap()),
        check,
        State::Up,
    );
    for _ in 0..3 {
        match next(&mut events).await {
            Event::Unchecked { key, reason, .. } => {
                assert_eq!(
                    (key, reason.as_str()),
                    ("x", "exec: /nonexistent/check: no such file or directory")
                );
            }
            other => panic!("not an unchecked event: {other:?}"),
        }
    }
    let s = scheduler.status(&"x").unwrap();
    assert_eq!(s.health.state(), State::Up, "fall = 1, yet still up");
    assert!(s.unchecked >= 3 && s.transitions == 0, "{s:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn many_targets_each_on_its_schedule_and_its_lateness_counted() {
    // 200 closed ports checked every 0.1 s: each one's checks come on its own schedule,
    // and every check started is in the lateness histogram.
    let spec = json!({"type": "tcp", "interval": 0.1, "timeout": 0.1, "rise": 1, "fall": 1});
    let check = read_check(&spec, "check").unwrap().unwrap();
    let mut closed = Vec::new();
    for _ in 0..200 {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        closed.push(l.local_addr().unwrap());
    }
    let (scheduler, mut events) = Scheduler::new();
    for (i, addr) in closed.iter().enumerate() {
        scheduler.insert(i, target(*addr), check.clone());
    }
    let mut down = 0;
    while down < closed.len() {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("every target down within 10 s")
            .unwrap();
        if let Event::Transition(t) = e {
            assert_eq!(
                (t.to, t.reason.as_str()),
                (State::Down, "connect: connection refused")
            );
            down += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let statuses = scheduler.statuses();
    let checks: u64 = statuses.iter().map(|(_, s)| s.checks).sum();
    let fewest = statuses.iter().map(|(_, s)| s.checks).min().unwrap();
    // At least a second of its schedule for each: about 10 checks (a loaded host: far fewer).
    assert!(
        fewest >= 3,
        "a target checked {fewest} times in over a second"
    );
    let late = scheduler.lateness();
    // Started checks: the finished ones and at most one under way per target.
    assert!(
        late.count >= checks && late.count <= checks + 200,
        "{} started, {checks} finished",
        late.count
    );
    assert_eq!(late.buckets.iter().sum::<u64>(), late.count);
    assert!(late.sum >= 0.0 && late.max.as_secs_f64() * late.count as f64 >= late.sum);
}

#[tokio::test(flavor = "current_thread")]
async fn a_connect_without_an_answer_times_out() {
    use nix::sys::socket::{
        bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn,
    };
    use std::os::fd::AsRawFd;
    // A listener whose accept queue is full: the kernel drops further SYNs.
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .unwrap();
    bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0)).unwrap();
    listen(&fd, Backlog::new(0).unwrap()).unwrap();
    let listener = std::net::TcpListener::from(fd);
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            held.push(s);
        }
    }
    let spec = json!({"type": "tcp", "interval": 0.2, "timeout": 0.05, "rise": 1, "fall": 1});
    let check = read_check(&spec, "check").unwrap().unwrap();
    let (scheduler, mut events) = Scheduler::new();
    scheduler.insert("full", target(addr), check);
    let t = next_transition_any(&mut events).await;
    assert_eq!(
        (t.to, t.reason.as_str()),
        (State::Down, "timeout after 0.05 s")
    );
    let took = scheduler.status(&"full").unwrap().last.unwrap().took;
    assert!(
        took >= Duration::from_millis(50),
        "timed out after {took:?}"
    );
}

async fn next_transition_any<K: std::fmt::Debug>(
    events: &mut UnboundedReceiver<Event<K>>,
) -> Transition<K> {
    match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        Ok(Some(Event::Transition(t))) => t,
        other => panic!("not a transition: {other:?}"),
    }
}

/// A TCP check with a `source` (or a `mark`: a DR server checked on its VIP) leaves from that
/// address when the scheduler runs it, as when it is run alone: its fast path, which takes every
/// TCP check, sets them as the general path does (the mark: `connects`' own test).
#[tokio::test]
async fn a_scheduled_tcp_check_leaves_from_its_source() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let open = l.local_addr().unwrap();
    let spec = json!({"type": "tcp", "interval": 0.05, "timeout": 0.05, "source": "127.0.0.2"});
    let check = read_check(&spec, "check").unwrap().unwrap();
    let (scheduler, _events) = Scheduler::new();
    scheduler.insert("rs", target(open), check);
    let (_, peer) = tokio::time::timeout(Duration::from_secs(10), l.accept())
        .await
        .expect("a check within 10 s")
        .unwrap();
    assert_eq!(peer.ip(), "127.0.0.2".parse::<std::net::IpAddr>().unwrap());
}
