//! `ipvsctl top` in a pseudo-terminal while real HTTP traffic flows through a NAT service to
//! one of its two real servers: the screen (read through a terminal emulator, vt100) shows the
//! busy one on top with non-zero rates and the idle one at zero; `q` ends it with 0, SIGTERM with
//! 143, and either way the terminal is as it was (its termios modes, the main screen, the cursor
//! shown). With `-t` it shows that service alone. On a table of 302 services (more than it
//! reads whole every interval), a service expanded on the screen has its real servers read every
//! interval all the same: the busy one gets its rate, which wants reads in a row.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::pty::{openpty, Winsize};
use nix::sys::termios::{tcgetattr, LocalFlags, Termios};

use crate::harness::{require_ipvs, run_ok};
use crate::lab::*;
use crate::support::wait_for;

const ROWS: u16 = 30;
const COLS: u16 = 100;
const IDLE: &str = "192.168.10.11:80";
const BUSY: &str = "192.168.10.12:80";

/// The pseudo-terminals need devpts, which the VM's init does not mount.
fn devpts() {
    if !std::path::Path::new("/dev/pts/ptmx").exists() {
        std::fs::create_dir_all("/dev/pts").expect("mkdir /dev/pts");
        run_ok("mount", &["-t", "devpts", "devpts", "/dev/pts"]);
    }
}

/// Kills the program if the test ends before it does.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fields of the screen line of real server `addr` (`->`, address, forward, weight,
/// active, inactive, CPS, InPPS, OutPPS, InBPS, OutBPS, history...), and the line's number.
fn server_line(screen: &str, addr: &str) -> Option<(usize, Vec<String>)> {
    screen.lines().enumerate().find_map(|(i, l)| {
        let fields: Vec<String> = l.split_whitespace().map(str::to_string).collect();
        (fields.len() >= 11 && fields[0] == "->" && fields[1] == addr).then_some((i, fields))
    })
}

/// `ipvsctl top ARGS` in a new pseudo-terminal of its own, whose output a thread feeds to a
/// terminal emulator.
struct Top {
    child: Running,
    master: File,
    slave: OwnedFd,
    parser: Arc<Mutex<vt100::Parser>>,
    /// The new pty's modes, before ipvsctl started.
    before: Termios,
}

impl Top {
    fn start(args: &[&str]) -> Top {
        Top::start_in(None, args)
    }

    /// As [`Top::start`], inside namespace `ns` when given (`ip netns exec`).
    fn start_in(ns: Option<&str>, args: &[&str]) -> Top {
        let size = Winsize {
            ws_row: ROWS,
            ws_col: COLS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).expect("openpty");
        let before = tcgetattr(&pty.slave).expect("tcgetattr");
        let stdio = || Stdio::from(pty.slave.try_clone().expect("dup the pty"));
        // A session of its own whose controlling terminal is the pty (setsid -c), as a login
        // has: ipvsctl reads its size and keys from there.
        let prefix: Vec<&str> = match ns {
            // /bin/ip: busybox's setsid would run its own ip applet, which has no netns exec.
            Some(ns) => vec!["/bin/ip", "netns", "exec", ns],
            None => vec![],
        };
        let child = Command::new("setsid")
            .arg("-c")
            .args(prefix)
            .args(["ipvsctl", "top"])
            .args(args)
            .env("TERM", "xterm-256color")
            .stdin(stdio())
            .stdout(stdio())
            .stderr(stdio())
            .spawn()
            .expect("start setsid -c ipvsctl top");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let master = File::from(pty.master);
        let mut reader = master.try_clone().expect("dup the pty master");
        let screen_parser = Arc::clone(&parser);
        // Reads until the pty is closed (EIO once no one holds its other side).
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen_parser.lock().unwrap().process(&buf[..n]);
            }
        });
        Top {
            child: Running(child),
            master,
            slave: pty.slave,
            parser,
            before,
        }
    }

    /// The screen's text as the terminal shows it.
    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn modes(&self) -> Termios {
        tcgetattr(&self.slave).expect("tcgetattr")
    }

    fn press(&mut self, keys: &[u8]) {
        self.master.write_all(keys).expect("write to the pty");
    }

    /// Waits until the view is up: the service shown, in raw mode on the alternate screen.
    fn wait_shown(&self) {
        let shown = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_for("top to show the service", Duration::from_secs(30), || {
                self.screen().contains("TCP 10.0.0.100:80").then_some(())
            })
        }));
        if shown.is_err() {
            panic!(
                "top never showed the service; the screen:\n{}",
                self.screen()
            );
        }
        let raw = self.modes();
        assert!(
            !raw.local_flags.contains(LocalFlags::ICANON),
            "not in raw mode"
        );
        assert!(!raw.local_flags.contains(LocalFlags::ECHO), "echo is on");
        assert!(self.parser.lock().unwrap().screen().alternate_screen());
    }

    /// Waits for the end; asserts its exit status and that the terminal is as it was: the
    /// same modes as before it started, the main screen, the cursor shown.
    fn assert_ends(&mut self, code: i32) {
        let before = &self.before;
        let status = wait_for("top to end", Duration::from_secs(20), || {
            self.child.0.try_wait().expect("wait for top")
        });
        assert_eq!(
            status.code(),
            Some(code),
            "the last screen:\n{}",
            self.screen()
        );
        let after = self.modes();
        assert_eq!(after.local_flags, before.local_flags);
        assert_eq!(after.input_flags, before.input_flags);
        assert_eq!(after.output_flags, before.output_flags);
        wait_for("the main screen back", Duration::from_secs(5), || {
            let p = self.parser.lock().unwrap();
            (!p.screen().alternate_screen() && !p.screen().hide_cursor()).then_some(())
        });
    }
}

#[test]
fn top_shows_the_busy_real_server_on_top_and_restores_the_terminal() {
    require_ipvs();
    devpts();
    let lab = NatLab::new(2);
    let d = &lab.director;
    let svc = format!("{VIP}:80");
    // Weighted failover: every connection to the higher weight, rs2, whose address sorts after
    // rs1's, so that only the rates can put it on top.
    ipvsctl(d, &["-A", "-t", &svc, "-s", "fo"]);
    ipvsctl(d, &["-a", "-t", &svc, "-r", IDLE, "-m", "-w", "1"]);
    ipvsctl(d, &["-a", "-t", &svc, "-r", BUSY, "-m", "-w", "2"]);
    assert_eq!(get(&lab.client, &url(VIP)), "rs2");
    // A second service, without traffic: listed by the first top, not by the one given `-t`.
    let other = format!("{VIP}:8080");
    ipvsctl(d, &["-A", "-t", &other, "-s", "rr"]);

    let mut top = Top::start(&["--netns", d.name(), "--interval", "3"]);
    top.wait_shown();
    // Every service's real servers.
    top.press(b"a");

    let text = with_traffic(&lab, || busy_on_top(&top));
    let (_, busy) = server_line(&text, BUSY).unwrap();
    let (_, idle) = server_line(&text, IDLE).unwrap();
    assert_eq!(busy[2], "Masq", "{text}");
    assert_eq!((busy[3].as_str(), idle[3].as_str()), ("2", "1"), "{text}");
    assert!(text.contains("· 2 services, 2 servers"), "{text}");
    assert!(text.contains("TCP 10.0.0.100:8080"), "{text}");
    println!("{text}");

    top.press(b"q");
    top.assert_ends(0);

    // One service (`-t`), then SIGTERM: the terminal put back all the same, and the exit
    // status says the signal.
    let mut top = Top::start(&["--netns", d.name(), "-t", &svc]);
    top.wait_shown();
    wait_for("the one service", Duration::from_secs(30), || {
        let text = top.screen();
        text.contains("Total (1 service)").then_some(())
    });
    assert!(
        !top.screen().contains("10.0.0.100:8080"),
        "{}",
        top.screen()
    );
    let pid = top.child.0.id().to_string();
    run_ok("kill", &["-TERM", &pid]);
    top.assert_ends(128 + 15);

    // A big table: 300 more services, each with an idle real server, more than top reads
    // whole every interval. The real servers of the services on the screen are still read
    // every interval, those of the others in turn (here every 7 intervals): the busy server's
    // rate needs reads of it in a row 2 s apart, which only the former give.
    d.exec_ok("sh", &["-c", BIG_TABLE]);
    let mut top = Top::start(&["--netns", d.name(), "--interval", "1"]);
    top.wait_shown();
    // No rates yet: sorted by name, the web service first and selected; show its servers.
    wait_for("the web service first", Duration::from_secs(30), || {
        let text = top.screen();
        let first = text.lines().nth(2)?;
        first.starts_with("▸ TCP 10.0.0.100:80 ").then_some(())
    });
    top.press(b"\r");
    let text = with_traffic(&lab, || busy_on_top(&top));
    assert!(text.contains("· 302 services, 302 servers"), "{text}");
    println!("{text}");
    top.press(b"?");
    wait_for("the help with the turns", Duration::from_secs(30), || {
        let text = top.screen();
        text.contains("off the screen: read every 7 s")
            .then_some(())
    });
    top.press(b"q");
    top.assert_ends(0);
}

/// 300 services TCP 10.7.0.1:80 ... (and one real server each, 10.8.0.1:80), for `ipvsctl -R`.
const BIG_TABLE: &str = "i=0; while [ $i -lt 300 ]; do \
    s=10.7.$((i / 250)).$((i % 250 + 1)):80; \
    echo \"-A -t $s -s rr\"; echo \"-a -t $s -r 10.8.0.1:80 -m\"; i=$((i + 1)); \
    done | ipvsctl -R";

/// Runs `f` while a client sends HTTP requests to the VIP one after the other; returns its
/// result.
fn with_traffic<T>(lab: &NatLab, f: impl FnOnce() -> T) -> T {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                get(&lab.client, &url(VIP));
            }
        });
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        stop.store(true, Ordering::SeqCst);
        out.unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Waits for a screen with the busy real server above the idle one, with a rate (not `-`,
/// not 0), and the idle one at zero; returns it.
fn busy_on_top(top: &Top) -> String {
    // Counters are folded in every 2 s and the rates span at least that: wait for a screen
    // where the traffic shows.
    let shown = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(
            "the busy server on top with a rate, the idle one at zero",
            Duration::from_secs(90),
            || {
                let text = top.screen();
                let (busy_at, busy) = server_line(&text, BUSY)?;
                let (idle_at, idle) = server_line(&text, IDLE)?;
                let busy_rate = busy[7] != "0" && busy[7] != "-" && busy[9] != "0";
                let idle_zero = idle[6..11].iter().all(|f| f == "0");
                (busy_at < idle_at && busy_rate && idle_zero).then_some(text)
            },
        )
    }));
    match shown {
        Ok(text) => text,
        Err(_) => panic!("never shown; the last screen:\n{}", top.screen()),
    }
}

/// `--healthd URL`: top, in the director's namespace beside `healthd --listen`, shows each real
/// server's state from healthd's /status: both up, then the stopped one DOWN (at weight 0) and
/// its service 1/2; a URL where nothing listens is said on the footer line.
#[test]
fn top_shows_healthd_states() {
    use crate::healthd::{rs, rules, wait_weights, Healthd};
    require_ipvs();
    devpts();
    let mut lab = NatLab::new(2);
    let d = &lab.director;
    let file = rules(d, &[0, 1]);
    let healthd = Healthd::start(d, &["-f", &file, "--listen", "127.0.0.1:9772"]);
    wait_weights(d, &[(0, 1), (1, 1)]);
    let mut top = Top::start_in(
        Some(d.name()),
        &["--healthd", "http://127.0.0.1:9772", "--interval", "0.5"],
    );
    top.wait_shown();
    top.press(b"a");
    // The fields: ->, address, Masq, weight, health, ...
    let health =
        |text: &str, i: usize| server_line(text, &rs(i)).map(|(_, f)| (f[3].clone(), f[4].clone()));
    let up = || ("1".to_string(), "up".to_string());
    wait_for("both up in top", Duration::from_secs(30), || {
        let text = top.screen();
        (health(&text, 0) == Some(up()) && health(&text, 1) == Some(up())).then_some(())
    });
    assert!(top.screen().contains("Hlth"), "{}", top.screen());

    drop(lab.servers.remove(1));
    let text = wait_for("rs2 down in top", Duration::from_secs(30), || {
        let text = top.screen();
        (health(&text, 1) == Some(("0".to_string(), "DOWN".to_string()))).then_some(text)
    });
    assert_eq!(health(&text, 0), Some(up()), "{text}");
    let service = text
        .lines()
        .find(|l| l.contains("TCP 10.0.0.100:80"))
        .expect("the service line");
    assert!(service.split_whitespace().any(|f| f == "1/2"), "{text}");
    println!("{text}");
    top.press(b"q");
    top.assert_ends(0);
    assert_eq!(healthd.stop(), 0);

    // Nothing listens there: the footer says so, the table is still shown.
    let mut top = Top::start_in(Some(d.name()), &["--healthd", "127.0.0.1:9773"]);
    top.wait_shown();
    wait_for("the healthd error", Duration::from_secs(30), || {
        top.screen()
            .contains("healthd: 127.0.0.1:9773: Connection refused")
            .then_some(())
    });
    top.press(b"q");
    top.assert_ends(0);
}
