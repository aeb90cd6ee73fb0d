//! The checker's own trouble is not the server's: out of file descriptors,
//! a check says "could not check", not "down". Alone in its test binary,
//! since it lowers the process's descriptor limit.

use std::fs::File;
use std::net::Ipv4Addr;

use ipvs_health::{read_check, run, Outcome, Target};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use serde_json::json;
use tokio::net::TcpListener;

#[tokio::test(flavor = "current_thread")]
async fn out_of_file_descriptors_is_not_down() {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let target = Target {
        service: "TCP 192.0.2.1:80".into(),
        server: l.local_addr().unwrap(),
    };
    let check = read_check(&json!({"type": "tcp"}), "check")
        .unwrap()
        .unwrap();
    assert_eq!(
        run(&check, &target).await.outcome,
        Outcome::Up("connect: ok".into())
    );

    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let highest = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, highest + 1, hard).unwrap();
    // Fill the free descriptors below the limit.
    let mut held = Vec::new();
    while let Ok(f) = File::open("/dev/null") {
        held.push(f);
    }
    let outcome = run(&check, &target).await.outcome;
    drop(held);
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
    assert_eq!(
        outcome,
        Outcome::Unchecked("connect: too many open files".into())
    );
    assert_eq!(
        run(&check, &target).await.outcome,
        Outcome::Up("connect: ok".into())
    );
}
