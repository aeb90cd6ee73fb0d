//! What a text listing costs in user space from the kernel's bytes to the text, without a
//! kernel: the `NEW_SERVICE` payloads of a service dump and the `NEW_DEST` payloads of each
//! service's destination dump, as kernel 6.1 sends them (both statistics nests, the kernel's
//! attribute order, destinations newest first, services in a hash-like order), decoded by the
//! library's own per-reply decoding (`ipvs::replay::services`, `ipvs::replay::destinations_into`:
//! what `Ipvs::services_with` and `Ipvs::destinations_into_with` run on each part of a dump) and
//! listed by the streaming listing the program runs (`stream_list_text`, `stream_save_text`)
//! into a sink, as `ipvsctl/src/session.rs` does. The netlink framing and the system calls are
//! not counted.
//!
//!     cargo build --release -p ipvsctl --example list_cost
//!     valgrind --tool=callgrind target/release/examples/list_cost ln 2000 4
//!     valgrind --tool=callgrind target/release/examples/list_cost none 2000 4
//!
//! The listing's instructions are the first count less the second (`none` builds the replies
//! and lists nothing; callgrind's `--toggle-collect` loses the calls the listing makes through
//! its reader).
//!
//! Arguments: WHAT (`ln`, `stats` or `save`: `-Ln`, `-Ln --stats`, `-S -n`), SERVICES, DESTS
//! (TCP services with DESTS masquerading destinations each, the benchmark's `spread` table), and
//! FWDESTS (one fwmark service with that many destinations, as the benchmark's `fw5k` set: `ln 0
//! 0 5000`). Prints the bytes made and a hash of them, so that a run can be checked against
//! another (with `--hash`: a hash of them too), and `--print` writes the listing to stdout
//! instead.

use std::hash::Hasher;
use std::io::{self, Write};

use ipvs::{Family, Info, Reading, ServiceEntry};
#[path = "common/replies.rs"]
mod replies;
use ipvsctl::output::{self, Chunked, ListMode, ListOptions, SystemNames};
use replies::{dest, service};

/// The replies of the benchmark's table (tests/perf/floor.c `load`): the service dump's, and
/// each service's destination dump's, in the dump's order.
/// A service's reply and its destinations' replies.
type Replies = (Vec<u8>, Vec<Vec<u8>>);

/// A reader of a service's destinations, as the program's.
type Reader<'a> = dyn FnMut(usize, &mut Vec<ipvs::DestinationEntry>) -> Result<(), String> + 'a;

fn replies(services: u32, dests: u32, fw: u32) -> (Vec<Vec<u8>>, Vec<Vec<Vec<u8>>>) {
    let rip = |n: u32| (172u32 << 24 | 16 << 16) + n + 1;
    let mut table: Vec<Replies> = (0..services)
        .map(|i| {
            // The kernel adds a destination at the head of its service's list: newest first.
            let ds = (0..dests)
                .rev()
                .map(|j| dest(rip(i * dests + j), 8080, 1, u64::from(i * dests + j)))
                .collect();
            (service((10 << 24) + i + 1, 0, "wrr", u64::from(i)), ds)
        })
        .collect();
    if fw > 0 {
        let ds = (0..fw)
            .rev()
            .map(|j| dest(rip(services * dests + j), 0, 1, u64::from(j)))
            .collect();
        table.push((service(0, 1, "rr", 0), ds));
    }
    // The kernel dumps its service hash table: a scattered order.
    let n = table.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|i| (i.wrapping_mul(2_654_435_761) % 4093, *i));
    let mut picked: Vec<Option<Replies>> = table.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| picked[i].take()).unzip()
}

/// The listing of the program's `-Ln`, `-Ln --stats` or `-S -n` (`ipvsctl/src/session.rs`,
/// `Session::list` and `Session::save`) from the replies, into `sink`.
#[inline(never)]
fn listing(
    what: &str,
    services: &[Vec<u8>],
    dests: &[Vec<Vec<u8>>],
    info: &Info,
    sink: &mut dyn Write,
) -> io::Result<()> {
    let opts = ListOptions {
        numeric: true,
        mode: if what == "stats" {
            ListMode::Stats
        } else {
            ListMode::Default
        },
        ..ListOptions::default()
    };
    let reading = if what == "ln" || what == "save" {
        Reading::WithoutStats
    } else {
        Reading::WithStats
    };
    let held = ipvs::replay::services(services, reading).map_err(io::Error::other)?;
    // The services in the dump's order: each one's destination dump is its position's.
    let entries: Vec<&ServiceEntry> = held.iter().collect();
    let family = |e: &ServiceEntry| -> Family { e.service.key.family() };
    let mut read = |i: usize, list: &mut Vec<ipvs::DestinationEntry>| {
        ipvs::replay::destinations_into(&dests[i], family(entries[i]), list, reading)
    };
    // As the program's: a `dyn` reader.
    let read_dests: &mut Reader<'_> = &mut read;
    let mut out = Chunked::new(sink);
    let names = SystemNames::new();
    let done = if what == "save" {
        output::stream_save_text(&entries, read_dests, true, true, &names, &mut out)
    } else {
        output::stream_list_text(info, &entries, read_dests, &opts, &names, &mut out)
    };
    match done {
        Ok(()) => out.finish(),
        Err(output::StreamError::Write(e)) => Err(e),
        Err(output::StreamError::Read(e)) => Err(io::Error::other(e)),
    }
}

/// Counts what is written, and keeps it if asked.
struct Counted {
    bytes: usize,
    kept: Option<Vec<u8>>,
}

impl Write for Counted {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.bytes += b.len();
        if let Some(kept) = &mut self.kept {
            kept.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let print = args.iter().any(|a| a == "--print");
    let hash = args.iter().any(|a| a == "--hash");
    let args: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let what = args.first().map_or("ln", |s| s.as_str());
    let num = |i: usize, d: u32| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (services, dests, fw) = (num(1, 2000), num(2, 4), num(3, 0));
    let (service_replies, dest_replies) = replies(services, dests, fw);
    let info = Info {
        version: 0x010201,
        conn_tab_size: 4096,
    };
    if print {
        let stdout = io::stdout();
        return listing(
            what,
            &service_replies,
            &dest_replies,
            &info,
            &mut stdout.lock(),
        );
    }
    // The replies alone: what a run's count less this one's is the listing's.
    if what == "none" {
        return Ok(());
    }
    // The program hands its chunks to write(2), which copies nothing in user space: counted
    // here, and kept (to be hashed after) only when asked.
    let mut sink = Counted {
        bytes: 0,
        kept: hash.then(Vec::new),
    };
    listing(what, &service_replies, &dest_replies, &info, &mut sink)?;
    let hash = sink.kept.map(|kept| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write(&kept);
        format!(", hash {:016x}", h.finish())
    });
    println!(
        "{what} {services}x{dests} + fwmark x{fw}: {} bytes{}",
        sink.bytes,
        hash.unwrap_or_default()
    );
    Ok(())
}
