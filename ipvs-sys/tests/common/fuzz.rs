//! Fuzzing in the host tests, without a nightly toolchain (cargo-fuzz needs one): a seeded
//! mutator over the golden fixtures' bytes, run for a fixed budget of executions.
//!
//! [`run`] feeds each decoder `budget` inputs, each one a fixture message with one to four
//! stacked mutations (bit flips, odd lengths in the netlink and attribute headers, cuts,
//! insertions, splices of two messages). It prints how many executions it made (on stderr,
//! past the test harness's capture); a panic fails the test with the input that caused it (as
//! hex); a watchdog aborts the process, with the input in flight, when one execution runs for
//! more than a minute (an endless loop). The seed is fixed (`IPVS_FUZZ_SEED` for another),
//! and `IPVS_FUZZ_EXECS` sets the budget of every target.
//! Shared by ipvs-sys (`src/fuzz_tests.rs`) and ipvs (`tests/fuzz_replies.rs`) through `#[path]`.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Executions per target unless `IPVS_FUZZ_EXECS` says otherwise.
pub const DEFAULT_EXECS: u64 = 100_000;

/// The largest input made (a dump reply is at most 64 KiB).
const MAX_LEN: usize = 1 << 16;

/// xorshift64*: small, fast, and the same sequence on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Lengths that sit at the edges of netlink's checks: empty, shorter than a header, unaligned,
/// the rest of the input, one past it, the largest.
fn interesting_len(rng: &mut Rng, rest: usize) -> u64 {
    let picks = [
        0,
        1,
        3,
        4,
        5,
        7,
        8,
        15,
        16,
        17,
        20,
        rest as u64,
        rest as u64 + 1,
        (rest as u64).saturating_sub(1),
        0x7fff,
        0xffff,
        0xffff_ffff,
    ];
    picks[rng.below(picks.len())]
}

/// `input` with one to four stacked mutations; `corpus` gives material to splice in.
pub fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        mutate_once(rng, &mut out, corpus);
        out.truncate(MAX_LEN);
    }
    out
}

fn mutate_once(rng: &mut Rng, out: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = out.len();
    match rng.below(11) {
        0 if len > 0 => {
            let i = rng.below(len);
            out[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            out[i] = [0, 1, 0x7f, 0x80, 0xff, rng.next_u64() as u8][rng.below(6)];
        }
        // A 16-bit length or type, mostly where attribute headers start (4-byte aligned).
        2 | 3 if len >= 2 => {
            let i = if rng.chance(4) {
                rng.below(len - 1)
            } else {
                (rng.below(len / 4 + 1) * 4).min(len - 2)
            };
            let v = if rng.chance(3) {
                rng.next_u64() as u16
            } else {
                interesting_len(rng, len - i) as u16
            };
            out[i..i + 2].copy_from_slice(&v.to_ne_bytes());
        }
        // A 32-bit length (nlmsg_len) or error code.
        4 if len >= 4 => {
            let i = (rng.below(len / 4) * 4).min(len - 4);
            let v = interesting_len(rng, len - i) as u32;
            out[i..i + 4].copy_from_slice(&v.to_ne_bytes());
        }
        5 if len > 0 => out.truncate(rng.below(len)),
        6 => {
            let i = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            out.splice(i..i, bytes);
        }
        7 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(64));
            out.drain(i..i + n);
        }
        8 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(256));
            let chunk = out[i..i + n].to_vec();
            let at = rng.below(len + 1);
            out.splice(at..at, chunk);
        }
        9 if !corpus.is_empty() => {
            let other = &corpus[rng.below(corpus.len())];
            let keep = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            out.truncate(keep);
            out.extend_from_slice(&other[from..]);
        }
        10 if !corpus.is_empty() => out.extend_from_slice(&corpus[rng.below(corpus.len())]),
        _ => out.reverse(),
    }
}

/// Where a message came from in a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// `>`: userspace to kernel.
    User,
    /// `<`: kernel to userspace.
    Kernel,
}

/// Every message of every `*.nl` file in each of `dirs`, whole (netlink header included), with
/// its direction and file name.
pub fn fixture_messages(dirs: &[&Path]) -> Vec<(String, From, Vec<u8>)> {
    let mut out = Vec::new();
    for d in dirs {
        let mut files: Vec<_> = std::fs::read_dir(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "nl"))
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            for line in std::fs::read_to_string(&f).unwrap().lines() {
                let (from, hex) = match line.split_at_checked(2) {
                    Some(("< ", h)) => (From::Kernel, h),
                    Some(("> ", h)) => (From::User, h),
                    _ => continue,
                };
                let bytes = (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                out.push((name.clone(), from, bytes));
            }
        }
    }
    assert!(out.len() > 50, "only {} fixture messages", out.len());
    out
}

/// What one run did.
#[derive(Debug, Clone, Copy)]
pub struct Count {
    pub execs: u64,
    /// Inputs the target accepted (the rest were clean errors).
    pub accepted: u64,
}

/// Feeds `target` `IPVS_FUZZ_EXECS` (default [`DEFAULT_EXECS`]; see [`run_for`]) inputs: first each seed as it
/// is, then mutations of seeds picked at random. `target` answers whether it accepted the
/// input (false: a clean error). Fails on a panic, with the input; aborts on an endless loop.
pub fn run(name: &str, seeds: &[Vec<u8>], target: impl FnMut(&[u8]) -> bool) -> Count {
    run_for(DEFAULT_EXECS, name, seeds, target)
}

/// [`run`] with another default budget, for a costlier target.
pub fn run_for(
    default_execs: u64,
    name: &str,
    seeds: &[Vec<u8>],
    mut target: impl FnMut(&[u8]) -> bool,
) -> Count {
    assert!(!seeds.is_empty(), "fuzz {name}: no seed");
    let budget = std::env::var("IPVS_FUZZ_EXECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_execs);
    let seed = std::env::var("IPVS_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x1905_u64)
        ^ name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let mut rng = Rng::new(seed);
    let in_flight = Arc::new(Mutex::new(Vec::<u8>::new()));
    let progress = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (in_flight, progress, done) = (in_flight.clone(), progress.clone(), done.clone());
        let name = name.to_string();
        std::thread::spawn(move || {
            let mut last = u64::MAX;
            let mut still = 0;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let now = progress.load(Ordering::Relaxed);
                still = if now == last { still + 1 } else { 0 };
                last = now;
                if still >= 300 {
                    let input = in_flight.lock().map(|i| hex(&i)).unwrap_or_default();
                    let _ = writeln!(
                        std::io::stderr(),
                        "fuzz {name}: execution {now} ran for a minute (an endless loop?) on input {input}"
                    );
                    std::process::abort();
                }
            }
        })
    };
    let mut accepted = 0;
    for n in 0..budget {
        let input = match seeds.get(n as usize) {
            Some(s) => s.clone(),
            None => {
                let from = rng.below(seeds.len());
                mutate(&mut rng, &seeds[from], seeds)
            }
        };
        in_flight.lock().unwrap().clone_from(&input);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&input)));
        match r {
            Ok(ok) => accepted += u64::from(ok),
            Err(_) => {
                done.store(true, Ordering::Relaxed);
                panic!(
                    "fuzz {name}: execution {n} panicked on input {}",
                    hex(&input)
                );
            }
        }
        progress.store(n + 1, Ordering::Relaxed);
    }
    done.store(true, Ordering::Relaxed);
    watchdog.join().unwrap();
    // Past the harness's capture, so that every run shows its count.
    let _ = writeln!(
        std::io::stderr(),
        "fuzz {name}: {budget} executions, {accepted} accepted, {} refused cleanly, {} seeds",
        budget - accepted,
        seeds.len()
    );
    Count {
        execs: budget,
        accepted,
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
