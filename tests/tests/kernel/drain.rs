//! Draining with real traffic: a long-lived TCP connection through a NAT service keeps its real
//! server at weight 0 and in the table until the connection ends; then `ipvsctl drain` removes
//! it. Killing the drain halfway and starting it again changes nothing in the outcome.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipvs::drain::{DrainProgress, DrainStep};
use ipvs::{Destination, Forward, Service, ServiceKey};

use crate::harness::NetNs;
use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// `ipvsctl ARGS...` started in the namespace, its output piped.
fn spawn_ipvsctl(ns: &NetNs, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns.name(), "ipvsctl"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ipvsctl")
}

fn drain_cmd(ns: &NetNs, args: &[&str]) -> Child {
    let mut all = vec!["drain"];
    all.extend_from_slice(args);
    spawn_ipvsctl(ns, &all)
}

/// A NAT lab in 10.8.`net`.0/24: the VIP .100:80 (TCP, rr) with one real server, `real`
/// (.2:8080, masquerading, `weight`), that answers "hello"; a client (.1) connected through the
/// service has read it. `bye` makes the server end the connection; .3 is free for a second server.
struct NatLab {
    ns: NetNs,
    key: ServiceKey,
    real: SocketAddr,
    bye: mpsc::Sender<()>,
    client: TcpStream,
}

fn nat_lab(net: u8, weight: u32) -> NatLab {
    let ns = NetNs::new();
    let addr = |host: u8| format!("10.8.{net}.{host}/24");
    add_dummy(&ns, "lan0", &[&addr(1), &addr(2), &addr(3), &addr(100)]);
    let at = |host: u8, port: u16| SocketAddr::from(([10, 8, net, host], port));
    let real = at(2, 8080);
    let bye = server(&ns, real);
    let key = ServiceKey::tcp(at(100, 80).ip(), 80);
    let ipvs = open(&ns);
    ipvs.add_service(&Service::new(key).with_scheduler("rr"))
        .unwrap();
    ipvs.add_destination(
        &key,
        &Destination::new(real.ip(), real.port())
            .with_forward(Forward::Masquerade)
            .with_weight(weight),
    )
    .unwrap();
    let vip = at(100, 80);
    let mut client =
        ns.enter(|| TcpStream::connect_timeout(&vip, Duration::from_secs(5)).expect("connect"));
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut hello = [0u8; 5];
    client
        .read_exact(&mut hello)
        .expect("hello through the service");
    assert_eq!(&hello, b"hello");
    NatLab {
        ns,
        key,
        real,
        bye,
        client,
    }
}

/// A server that answers "hello", and on a word from the test sends "bye" that the client never
/// reads: the client's close then sends a RST, which IPVS turns into a short CLOSE state (10 s)
/// instead of TIME_WAIT's 2 minutes.
fn server(ns: &NetNs, at: SocketAddr) -> mpsc::Sender<()> {
    let listener = ns.enter(|| TcpListener::bind(at)).expect("bind");
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok((mut c, _)) = listener.accept() else {
            return;
        };
        let _ = c.write_all(b"hello");
        let _ = rx.recv();
        let _ = c.write_all(b"bye");
        let mut buf = [0u8; 16];
        let _ = c.read(&mut buf);
    });
    tx
}

fn dest_weight(ns: &NetNs, key: &ServiceKey, at: SocketAddr) -> Option<(u32, u32, u32)> {
    open(ns)
        .destinations(key)
        .expect("destinations")
        .iter()
        .find(|d| d.destination.addr == at.ip() && d.destination.port == at.port())
        .map(|d| (d.destination.weight, d.active_conns, d.inactive_conns))
}

#[test]
fn drain_waits_for_a_live_connection_and_survives_a_restart() {
    let NatLab {
        ns,
        key,
        real,
        bye,
        client,
    } = nat_lab(0, 5);
    assert_eq!(dest_weight(&ns, &key, real), Some((5, 1, 0)));

    // The drain sets weight 0 and waits: the server stays while its connection lives.
    let mut first = drain_cmd(&ns, &["-t", "10.8.0.100:80", "-r", "10.8.0.2:8080"]);
    wait_for("weight 0", Duration::from_secs(10), || {
        (dest_weight(&ns, &key, real) == Some((0, 1, 0))).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        dest_weight(&ns, &key, real),
        Some((0, 1, 0)),
        "removed with a live connection"
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the drain ended with a live connection"
    );
    // Killed halfway (a restart): nothing changes; a new drain picks up where it was.
    first.kill().unwrap();
    let out = first.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("drain: 10.8.0.2:8080: weight 0, 1 active and 0 inactive connections left"),
        "{text}"
    );
    assert_eq!(dest_weight(&ns, &key, real), Some((0, 1, 0)));
    let second = drain_cmd(&ns, &["-t", "10.8.0.100:80", "-r", "10.8.0.2:8080"]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(dest_weight(&ns, &key, real), Some((0, 1, 0)));

    // The connection ends (a reset: CLOSE lasts 10 s in IPVS); then the server goes.
    bye.send(()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(client);
    let start = Instant::now();
    let out = second.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    assert!(
        text.ends_with("drain: 10.8.0.2:8080: no connections left, removed\n"),
        "{text}"
    );
    assert_eq!(dest_weight(&ns, &key, real), None);
    assert_eq!(
        ipvsadm_save(&ns),
        vec!["-A -t 10.8.0.100:80 -s rr".to_string()]
    );
}

#[test]
fn drain_without_connections_keep_timeout_and_missing_server() {
    let ns = NetNs::new();
    let key = ServiceKey::udp(ip("10.8.1.100"), 53);
    let ipvs = open(&ns);
    ipvs.add_service(&Service::new(key)).unwrap();
    for last in [1, 2] {
        ipvs.add_destination(
            &key,
            &Destination::new(ip(&format!("10.8.1.{last}")), 53).with_forward(Forward::Masquerade),
        )
        .unwrap();
    }
    // --keep: weight 0, still listed.
    let out = drain_cmd(&ns, &["-u", "10.8.1.100:53", "-r", "10.8.1.1:53", "--keep"])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "drain: 10.8.1.1:53: no connections left, kept at weight 0\n"
    );
    // No connections: removed at once.
    let out = drain_cmd(
        &ns,
        &["-u", "10.8.1.100:53", "-r", "10.8.1.2", "--timeout", "5"],
    )
    .wait_with_output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        ipvsadm_save(&ns),
        vec![
            "-A -u 10.8.1.100:53 -s wlc".to_string(),
            "-a -u 10.8.1.100:53 -r 10.8.1.1:53 -m -w 0".to_string(),
        ]
    );
    // Not there: ipvsadm's message and 255.
    let out = drain_cmd(&ns, &["-u", "10.8.1.100:53", "-r", "10.8.1.9:53"])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "No such destination\n"
    );
    // The library's step reports the same as the command saw.
    assert_eq!(
        ipvs.drain_step(
            &key,
            ip("10.8.1.1"),
            53,
            DrainStep::default().with_keep(true)
        )
        .unwrap(),
        Some(DrainProgress::Quiesced { left: 0 })
    );
    // Not there: no step to take.
    assert_eq!(
        ipvs.drain_step(&key, ip("10.8.1.9"), 53, DrainStep::default())
            .unwrap(),
        None
    );
    // Bad arguments: 2.
    let out = drain_cmd(&ns, &["-r", "10.8.1.1"])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn apply_drain_adds_and_edits_first_and_deletes_when_connections_are_gone() {
    let NatLab {
        ns,
        key,
        real: old,
        bye,
        client,
    } = nat_lab(2, 1);
    let new = SocketAddr::from((ip("10.8.2.3"), 8080));

    let rules = "-A -t 10.8.2.100:80 -s wrr\n-a -t 10.8.2.100:80 -r 10.8.2.3:8080 -m -w 2\n";
    let path = format!("/tmp/{}-drain-rules", ns.name());
    std::fs::write(&path, rules).unwrap();
    let apply = spawn_ipvsctl(&ns, &["apply", "--drain=60", "-f", &path]);
    // The new server and the scheduler come at once; the old server waits at weight 0.
    wait_for("the new server", Duration::from_secs(10), || {
        (dest_weight(&ns, &key, new) == Some((2, 0, 0))).then_some(())
    });
    wait_for("weight 0", Duration::from_secs(10), || {
        (dest_weight(&ns, &key, old) == Some((0, 1, 0))).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        dest_weight(&ns, &key, old),
        Some((0, 1, 0)),
        "removed with a live connection"
    );

    bye.send(()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(client);
    let out = apply.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with(
            "drain: 10.8.2.2:8080: weight 0, 1 active and 0 inactive connections left\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("apply: 3 changes made\n"), "{text}");
    let mut want: Vec<String> = rules.lines().map(str::to_string).collect();
    want.sort();
    assert_eq!(ipvsadm_save(&ns), want);
}

/// A UDP echo server in the namespace: answers every datagram until it gets "quit".
fn udp_echo(ns: &NetNs, at: SocketAddr) {
    let sock = ns.enter(|| UdpSocket::bind(at)).expect("bind udp");
    sock.set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            if &buf[..n] == b"quit" {
                return;
            }
            let _ = sock.send_to(&buf[..n], from);
        }
    });
}

/// A UDP client of `vip` from `from` (a fixed source port, so one flow, one IPVS entry).
fn udp_client(ns: &NetNs, from: SocketAddr, vip: SocketAddr) -> UdpSocket {
    let sock = ns.enter(|| UdpSocket::bind(from)).expect("bind client");
    sock.connect(vip).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    sock
}

/// One datagram there and its echo back through the service.
fn udp_ping(sock: &UdpSocket, payload: &[u8]) {
    sock.send(payload).unwrap();
    let mut buf = [0u8; 64];
    let n = sock.recv(&mut buf).expect("the echo through the service");
    assert_eq!(&buf[..n], payload);
}

/// The UDP policy with real datagrams through a NAT service: a UDP flow's IPVS entry counts as
/// an inactive connection until the flow has been idle for the UDP timeout, so a drained server
/// keeps answering a client that goes on talking, and goes once the client has been quiet for
/// the UDP timeout; a client that never stops is cut off by `--timeout`.
#[test]
fn drain_udp_waits_for_idle_flows_or_the_timeout() {
    let ns = NetNs::new();
    add_dummy(
        &ns,
        "lan0",
        &[
            "10.8.3.1/24",
            "10.8.3.2/24",
            "10.8.3.3/24",
            "10.8.3.4/24",
            "10.8.3.100/24",
        ],
    );
    // The UDP timeout is per namespace: 4 s instead of 300 s.
    ns.ipvsadm_ok(&["--set", "0", "0", "4"]);
    let quiet = SocketAddr::from((ip("10.8.3.2"), 5353));
    let chatty = SocketAddr::from((ip("10.8.3.3"), 5353));
    udp_echo(&ns, quiet);
    udp_echo(&ns, chatty);
    let key = ServiceKey::udp(ip("10.8.3.100"), 53);
    let ipvs = open(&ns);
    ipvs.add_service(&Service::new(key).with_scheduler("rr"))
        .unwrap();
    let vip = SocketAddr::from((ip("10.8.3.100"), 53));

    // One flow to `quiet` (the only destination at first).
    ipvs.add_destination(
        &key,
        &Destination::new(quiet.ip(), quiet.port())
            .with_forward(Forward::Masquerade)
            .with_weight(1),
    )
    .unwrap();
    let client = udp_client(&ns, SocketAddr::from((ip("10.8.3.1"), 4001)), vip);
    udp_ping(&client, b"one");
    assert_eq!(
        dest_weight(&ns, &key, quiet),
        Some((1, 0, 1)),
        "a UDP entry is inactive"
    );
    // A second flow, to `chatty` (the only one with weight now).
    ipvs.add_destination(
        &key,
        &Destination::new(chatty.ip(), chatty.port())
            .with_forward(Forward::Masquerade)
            .with_weight(1),
    )
    .unwrap();
    ipvs.edit_destination(
        &key,
        &Destination::new(quiet.ip(), quiet.port())
            .with_forward(Forward::Masquerade)
            .with_weight(0),
    )
    .unwrap();
    let talker = udp_client(&ns, SocketAddr::from((ip("10.8.3.4"), 4002)), vip);
    udp_ping(&talker, b"two");
    assert_eq!(dest_weight(&ns, &key, chatty), Some((1, 0, 1)));

    // Drain `quiet` while its client goes on talking: the entry lives, the server stays and
    // still answers.
    let mut drain = drain_cmd(&ns, &["-u", "10.8.3.100:53", "-r", "10.8.3.2:5353"]);
    for _ in 0..6 {
        std::thread::sleep(Duration::from_secs(1));
        udp_ping(&client, b"still");
        assert_eq!(dest_weight(&ns, &key, quiet), Some((0, 0, 1)));
    }
    assert!(
        drain.try_wait().unwrap().is_none(),
        "the drain ended while its flow was talking"
    );
    // Quiet now: the entry expires after the UDP timeout, then the server goes.
    let out = drain.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        text,
        "drain: 10.8.3.2:5353: weight 0, 0 active and 1 inactive connections left\n\
         drain: 10.8.3.2:5353: no connections left, removed\n"
    );
    assert_eq!(dest_weight(&ns, &key, quiet), None);

    // `chatty` never goes quiet: --timeout bounds the drain, and removes it with its entry.
    let (tx, rx) = mpsc::channel::<()>();
    let talking = std::thread::spawn(move || {
        while rx.try_recv().is_err() {
            let _ = talker.send(b"more");
            let mut buf = [0u8; 64];
            let _ = talker.recv(&mut buf);
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let out = drain_cmd(
        &ns,
        &[
            "-u",
            "10.8.3.100:53",
            "-r",
            "10.8.3.3:5353",
            "--timeout",
            "3",
        ],
    )
    .wait_with_output()
    .unwrap();
    tx.send(()).unwrap();
    talking.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        text,
        "drain: 10.8.3.3:5353: weight 0, 0 active and 1 inactive connections left\n\
         drain: 10.8.3.3:5353: timeout passed with 1 connections left, removed\n"
    );
    assert_eq!(
        ipvsadm_save(&ns),
        vec!["-A -u 10.8.3.100:53 -s rr".to_string()]
    );
    for at in [quiet, chatty] {
        let _ = client.send_to(b"quit", at);
    }
}

/// `ipvsctl apply --drain` waits between its read and its deletes, which gives another writer
/// time: here it deletes the service the apply prunes. The delete is refused, the message says
/// the table changed underneath and names the service, and the table ends as the other writer
/// left it (the apply's added server gone, the drained one back at its weight).
#[test]
fn apply_drain_meets_another_writer_and_says_so() {
    let NatLab {
        ns,
        key,
        real: old,
        bye,
        client,
    } = nat_lab(4, 1);
    let new = SocketAddr::from((ip("10.8.4.3"), 8080));
    open(&ns)
        .add_service(&Service::new(ServiceKey::tcp(ip("10.8.4.100"), 81)))
        .unwrap();

    let rules = "-A -t 10.8.4.100:80 -s rr\n-a -t 10.8.4.100:80 -r 10.8.4.3:8080 -m -w 1\n";
    let path = format!("/tmp/{}-drain-conflict", ns.name());
    std::fs::write(&path, rules).unwrap();
    let apply = spawn_ipvsctl(&ns, &["apply", "--prune", "--drain=60", "-f", &path]);
    wait_for("weight 0", Duration::from_secs(10), || {
        (dest_weight(&ns, &key, old) == Some((0, 1, 0))).then_some(())
    });
    assert_eq!(dest_weight(&ns, &key, new), Some((1, 0, 0)));
    // The other writer, while the apply drains.
    ns.ipvsadm_ok(&["-D", "-t", "10.8.4.100:81"]);

    bye.send(()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(client);
    let out = apply.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{err}");
    assert_eq!(
        err,
        "apply: the kernel refused `-D -t 10.8.4.100:81': No such service\n\
         apply: the table changed underneath since it was read: another writer deleted the \
         service TCP 10.8.4.100:81\n\
         apply: the 3 changes made before it were undone; the table is as the other writer \
         left it\n"
    );
    assert_eq!(
        ipvsadm_save(&ns),
        vec![
            "-A -t 10.8.4.100:80 -s rr".to_string(),
            "-a -t 10.8.4.100:80 -r 10.8.4.2:8080 -m -w 1".to_string(),
        ]
    );
}

/// The drain's judgement of emptiness, step by step: the step that sets weight 0 never deletes,
/// even when the counts it read (while the weight was still above 0) were 0, since a connection
/// the kernel schedules between that read and the weight change is not in them. Here the
/// connection that comes after the first read is a UDP flow of a persistent service: its
/// client's template sends it to the weight-0 server, as the kernel sends one it scheduled
/// before it saw the weight change. The next step, on a read made at weight 0, waits for it.
#[test]
fn drain_step_judges_emptiness_only_on_a_read_made_at_weight_0() {
    let ns = NetNs::new();
    add_dummy(
        &ns,
        "lan0",
        &["10.8.5.1/24", "10.8.5.2/24", "10.8.5.100/24"],
    );
    // UDP flows last 1 s once quiet, so the server is idle again soon.
    ns.ipvsadm_ok(&["--set", "0", "0", "1"]);
    let real = SocketAddr::from((ip("10.8.5.2"), 5353));
    udp_echo(&ns, real);
    let key = ServiceKey::udp(ip("10.8.5.100"), 53);
    let ipvs = open(&ns);
    ipvs.add_service(&Service::new(key).with_scheduler("rr").with_persistence(60))
        .unwrap();
    ipvs.add_destination(
        &key,
        &Destination::new(real.ip(), real.port())
            .with_forward(Forward::Masquerade)
            .with_weight(1),
    )
    .unwrap();
    let vip = SocketAddr::from((ip("10.8.5.100"), 53));
    let client = udp_client(&ns, SocketAddr::from((ip("10.8.5.1"), 4001)), vip);
    udp_ping(&client, b"one");
    // The flow is gone, its client's template stays: an idle server at weight 1.
    wait_for("the flow to expire", Duration::from_secs(20), || {
        (dest_weight(&ns, &key, real) == Some((1, 0, 0))).then_some(())
    });

    // Step 1 reads 0 and 0 at weight 1 and sets weight 0: it must not delete on that read.
    let first = ipvs.drain_step(&key, real.ip(), real.port(), DrainStep::default());
    assert_eq!(
        first.unwrap(),
        Some(DrainProgress::Waiting {
            active: 0,
            inactive: 0
        }),
        "the step that set weight 0 judged emptiness on a read made before"
    );
    assert_eq!(dest_weight(&ns, &key, real), Some((0, 0, 0)));
    // The connection that comes after that read reaches the server, which is still there.
    udp_ping(&client, b"two");
    // Step 2 reads at weight 0: it sees the connection and waits for it.
    assert_eq!(
        ipvs.drain_step(&key, real.ip(), real.port(), DrainStep::default())
            .unwrap(),
        Some(DrainProgress::Waiting {
            active: 0,
            inactive: 1
        })
    );
    assert_eq!(dest_weight(&ns, &key, real), Some((0, 0, 1)));
    // Quiet again: a later step removes it.
    let done = wait_for("the drain to end", Duration::from_secs(20), || {
        ipvs.drain_step(&key, real.ip(), real.port(), DrainStep::default())
            .unwrap()
            .filter(DrainProgress::is_done)
    });
    assert_eq!(done, DrainProgress::Removed { left: 0 });
    assert_eq!(dest_weight(&ns, &key, real), None);
    let _ = client.send_to(b"quit", real);
}

/// A server of the real-traffic lab's kind in `ns`: answers every connection with `name` and
/// a newline, then waits for the client to close.
fn named_server(ns: &NetNs, at: SocketAddr, name: &'static str) {
    let listener = ns.enter(|| TcpListener::bind(at)).expect("bind");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let _ = conn.write_all(format!("{name}\n").as_bytes());
                let mut buf = [0u8; 16];
                let _ = conn.read(&mut buf);
            });
        }
    });
}

/// One request of the client: connect to `vip`, read the server's name (3 bytes), and close
/// with its newline unread, so the close is a reset and IPVS keeps the finished connection for
/// 10 s (CLOSE) rather than 2 minutes (TIME_WAIT). The name, or what went wrong.
fn ask(vip: SocketAddr) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&vip, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut name = [0u8; 3];
    s.read_exact(&mut name).map_err(|e| format!("read: {e}"))?;
    // The newline came in the same segment: dropping the stream now resets it.
    Ok(String::from_utf8_lossy(&name).into_owned())
}

/// `ipvsctl drain` of one of two real servers while a client in its own namespace connects
/// every 10 ms through the director (the NAT lab): no request fails, the drained server gets
/// no new connection once the drain has started, and it goes when its last one has ended.
#[test]
fn drain_of_one_of_two_servers_under_a_client_every_10_ms_fails_no_request() {
    use crate::lab::{NatLab, VIP};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    let lab = NatLab::new(2);
    for (i, r) in lab.rs.iter().enumerate() {
        let at = SocketAddr::from((ip(&format!("192.168.10.{}", 11 + i)), 8080));
        named_server(r, at, ["rs1", "rs2"][i]);
    }
    let key = ServiceKey::tcp(ip(VIP), 80);
    let ipvs = open(&lab.director);
    ipvs.add_service(&Service::new(key).with_scheduler("rr"))
        .unwrap();
    for last in [11, 12] {
        ipvs.add_destination(
            &key,
            &Destination::new(ip(&format!("192.168.10.{last}")), 8080)
                .with_forward(Forward::Masquerade),
        )
        .unwrap();
    }
    let vip = SocketAddr::from((ip(VIP), 80));
    let stop = AtomicBool::new(false);
    // Every answer in order (with when it came), and every failure.
    let answers: Mutex<Vec<(Instant, String)>> = Mutex::new(Vec::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let (drain_started, drain_ended, out) = std::thread::scope(|scope| {
        scope.spawn(|| {
            lab.client.enter(|| {
                while !stop.load(Ordering::Relaxed) {
                    match ask(vip) {
                        Ok(name) => answers.lock().unwrap().push((Instant::now(), name)),
                        Err(e) => failures.lock().unwrap().push(e),
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        });
        let both = || {
            let a = answers.lock().unwrap();
            let n = |s: &str| a.iter().filter(|(_, x)| x == s).count();
            (n("rs1") >= 10 && n("rs2") >= 10).then_some(())
        };
        wait_for("both servers to answer", Duration::from_secs(30), both);
        let started = Instant::now();
        let drain = drain_cmd(
            &lab.director,
            &["-t", &format!("{VIP}:80"), "-r", "192.168.10.11:8080"],
        );
        let out = drain.wait_with_output().unwrap();
        let ended = Instant::now();
        // A little more traffic after the drain: none may fail.
        std::thread::sleep(Duration::from_secs(1));
        stop.store(true, Ordering::Relaxed);
        (started, ended, out)
    });
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.ends_with("drain: 192.168.10.11:8080: no connections left, removed\n"),
        "{text}"
    );
    let failures = failures.into_inner().unwrap();
    let answers = answers.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    // The client went on during the whole drain, and rs2 took it all once rs1 was at weight 0.
    let during: Vec<&String> = answers
        .iter()
        .filter(|(t, _)| *t > drain_started && *t < drain_ended)
        .map(|(_, n)| n)
        .collect();
    assert!(
        during.len() >= 20,
        "{} requests during the drain",
        during.len()
    );
    let rs1 = during.iter().filter(|n| **n == "rs1").count();
    assert!(
        rs1 < during.len() / 2,
        "{rs1} of {} went to rs1 during its drain",
        during.len()
    );
    assert_eq!(
        ipvsadm_save(&lab.director),
        vec![
            "-A -t 10.0.0.100:80 -s rr".to_string(),
            "-a -t 10.0.0.100:80 -r 192.168.10.12:8080 -m -w 1".to_string(),
        ]
    );
    println!(
        "drain under a client every 10 ms: {} requests, none failed; {} during the drain, {rs1} of them to rs1",
        answers.len(),
        during.len()
    );
}

/// A UDP server in the namespace that answers every datagram with its name.
fn named_udp_server(ns: &NetNs, at: SocketAddr, name: &'static str) {
    let sock = ns.enter(|| UdpSocket::bind(at)).expect("bind udp");
    sock.set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((_, from)) = sock.recv_from(&mut buf) {
            let _ = sock.send_to(name.as_bytes(), from);
        }
    });
}

/// A new UDP flow of the client 10.8.9.1 from `port` to the VIP: the name of the real server
/// that answered.
fn ask_udp(ns: &NetNs, port: u16) -> String {
    let vip = SocketAddr::from(([10, 8, 9, 100], 53));
    let sock = udp_client(ns, SocketAddr::from(([10, 8, 9, 1], port)), vip);
    sock.send(b"who").unwrap();
    let mut buf = [0u8; 64];
    let n = sock.recv(&mut buf).expect("an answer through the service");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A persistent service drained with `expire_quiescent_template=0`: `ipvsctl drain` and `apply
/// --drain` warn, and rightly: a new flow of a client with a template still goes to the drained
/// server (real datagrams). With 1 there is no warning and the client's next flow goes to the
/// other server.
#[test]
fn drain_of_a_persistent_service_warns_while_templates_keep_clients() {
    let ns = NetNs::new();
    add_dummy(
        &ns,
        "lan0",
        &["10.8.9.1/24", "10.8.9.2/24", "10.8.9.3/24", "10.8.9.100/24"],
    );
    let servers = [("one", "10.8.9.2"), ("two", "10.8.9.3")];
    for (name, addr) in servers {
        named_udp_server(&ns, SocketAddr::from((ip(addr), 5353)), name);
    }
    let key = ServiceKey::udp(ip("10.8.9.100"), 53);
    let ipvs = open(&ns);
    ipvs.add_service(&Service::new(key).with_scheduler("rr").with_persistence(600))
        .unwrap();
    for (_, addr) in servers {
        ipvs.add_destination(
            &key,
            &Destination::new(ip(addr), 5353).with_forward(Forward::Masquerade),
        )
        .unwrap();
    }
    crate::lab::sysctl(&ns, "net.ipv4.vs.expire_quiescent_template", "0");
    let first = ask_udp(&ns, 4001);
    let (drained, other) = if first == "one" {
        (servers[0].1, servers[1].1)
    } else {
        assert_eq!(first, "two");
        (servers[1].1, servers[0].1)
    };
    let drained_at = format!("{drained}:5353");
    let drain_args = [
        "drain",
        "--netns",
        ns.name(),
        "-u",
        "10.8.9.100:53",
        "-r",
        &drained_at,
        "--keep",
        "--timeout",
        "1",
    ];
    let (code, out, err) = crate::harness::run("ipvsctl", &drain_args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(
            "drain: warning: UDP 10.8.9.100:53 is persistent (600 s) and \
             net.ipv4.vs.expire_quiescent_template is 0"
        ),
        "no warning: {err}"
    );
    let at = SocketAddr::from((ip(drained), 5353));
    assert_eq!(dest_weight(&ns, &key, at).map(|w| w.0), Some(0));
    // What the warning says: the client's template still sends its new flows there.
    for port in [4002, 4003] {
        assert_eq!(
            ask_udp(&ns, port),
            first,
            "the template's server at weight 0"
        );
    }

    crate::lab::sysctl(&ns, "net.ipv4.vs.expire_quiescent_template", "1");
    let (code, out, err) = crate::harness::run("ipvsctl", &drain_args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !err.contains("warning"),
        "a warning with the sysctl at 1: {err}"
    );
    let moved = ask_udp(&ns, 4004);
    assert_ne!(moved, first, "a new flow still went to the drained server");
    assert_eq!(ask_udp(&ns, 4005), moved);
    assert_eq!(
        servers.iter().find(|s| s.0 == moved).map(|s| s.1),
        Some(other)
    );

    // apply --drain warns the same, once per service.
    crate::lab::sysctl(&ns, "net.ipv4.vs.expire_quiescent_template", "0");
    let file = format!("/tmp/{}-persistent.rules", ns.name());
    std::fs::write(
        &file,
        format!("-A -u 10.8.9.100:53 -s rr -p 600\n-a -u 10.8.9.100:53 -r {other}:5353 -m -w 1\n"),
    )
    .unwrap();
    let (code, out, err) = ns.exec("ipvsctl", &["apply", "--drain=1", "-f", &file]);
    let _ = std::fs::remove_file(&file);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        err.matches("drain: warning: UDP 10.8.9.100:53 is persistent")
            .count(),
        1,
        "{err}"
    );
    assert_eq!(
        dest_weight(&ns, &key, at),
        None,
        "the drained server stayed"
    );
}
