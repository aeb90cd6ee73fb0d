//! The streamed listings: the same bytes as the listings made whole, written out by chunks, and
//! what is printed when reading a service's destinations fails halfway.

use std::io::{self, Write};

use super::*;

/// A sink that keeps each write apart.
#[derive(Default)]
struct Writes(Vec<Vec<u8>>);

impl Write for Writes {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.push(b.to_vec());
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `n` TCP services with `d` destinations each, in no order.
fn many(n: u32, d: u32) -> Vec<VirtualServer> {
    (0..n)
        .map(|i| {
            let key = ServiceKey::tcp(
                IpAddr::from([10, (i % 7) as u8, (i / 250) as u8, (i % 250) as u8 + 1]),
                80,
            );
            let dests = (0..d)
                .map(|j| {
                    let addr = IpAddr::from([172, 16, (i % 200) as u8, (d - j) as u8]);
                    dest(Destination::new(addr, 8080), j, Stats::default())
                })
                .collect();
            vs(service(key, "wrr"), Stats::default(), dests)
        })
        .collect()
}

fn info() -> Info {
    Info {
        version: 0x010201,
        conn_tab_size: 4096,
    }
}

/// The writes a streamed listing made, and how it ended.
type Streamed = (Vec<Vec<u8>>, Result<(), &'static str>);

/// Streams a listing of `servers` into chunks; `fail_at`: the service (by position in
/// `servers`) whose destinations cannot be read.
fn streamed(
    servers: &[VirtualServer],
    fail_at: Option<usize>,
    make: impl FnOnce(
        &[&ServiceEntry],
        &mut dyn FnMut(usize, &mut Vec<DestinationEntry>) -> Result<(), &'static str>,
        &mut Chunked<'_>,
    ) -> Result<(), StreamError<&'static str>>,
) -> Streamed {
    let entries: Vec<&ServiceEntry> = servers.iter().map(|vs| &vs.entry).collect();
    let mut read = |i: usize, list: &mut Vec<DestinationEntry>| {
        assert!(list.is_empty(), "the list is given empty");
        if Some(i) == fail_at {
            return Err("no such luck");
        }
        list.extend_from_slice(&servers[i].destinations);
        Ok(())
    };
    let mut sink = Writes::default();
    let mut out = Chunked::new(&mut sink);
    let done = make(&entries, &mut read, &mut out);
    let done = match done {
        Ok(()) => Ok(()),
        Err(StreamError::Read(e)) => Err(e),
        Err(StreamError::Write(e)) => panic!("writing failed: {e}"),
    };
    out.finish().unwrap();
    (sink.0, done)
}

#[test]
fn streamed_listings_are_the_whole_ones_written_by_chunks() {
    let servers = many(3000, 4);
    let opts = numeric(ListMode::Default);
    let names = NumericOnly;
    let cases: Vec<(&str, String, Streamed)> = vec![
        (
            "-Ln",
            list_text_with(&info(), &servers, &opts, &names),
            streamed(&servers, None, |e, r, o| {
                stream_list_text(&info(), e, r, &opts, &names, o)
            }),
        ),
        (
            "-S -n",
            save_text_with(&servers, true, true, &names),
            streamed(&servers, None, |e, r, o| {
                stream_save_text(e, r, true, true, &names, o)
            }),
        ),
        (
            "-Ln --json",
            list_json(&info(), &servers, &opts),
            streamed(&servers, None, |e, r, o| {
                stream_list_json(&info(), e, r, &opts, o)
            }),
        ),
        (
            "-S --json",
            save_json(&servers),
            streamed(&servers, None, |e, r, o| stream_save_json(e, r, None, o)),
        ),
    ];
    for (what, whole, (writes, done)) in cases {
        assert_eq!(done, Ok(()), "{what}");
        assert!(writes.len() > 2, "{what}: {} writes", writes.len());
        // Every write but the last is whole lines (stdout, line-buffered, passes them on in
        // one system call), a full chunk less the part of a line after its last newline or a
        // little more (one service's lines).
        for w in &writes[..writes.len() - 1] {
            assert!(w.ends_with(b"\n"), "{what}: a write ends within a line");
            assert!(w.len() >= 63 * 1024, "{what}: a write of {} bytes", w.len());
            assert!(w.len() < 80 * 1024, "{what}: a write of {} bytes", w.len());
        }
        assert!(writes.last().unwrap().len() < 80 * 1024, "{what}");
        assert!(
            writes.concat() == whole.as_bytes(),
            "{what}: the streamed listing differs from the whole one"
        );
    }
}

#[test]
fn a_failed_read_leaves_the_services_listed_before_it() {
    let servers = many(50, 2);
    let opts = numeric(ListMode::Default);
    let names = NumericOnly;
    // The services in the listing's order: the failing one is the 11th listed.
    let whole = list_text_with(&info(), &servers, &opts, &names);
    let eleventh = whole
        .lines()
        .filter(|l| l.starts_with("TCP"))
        .nth(10)
        .unwrap();
    let fail_at = servers
        .iter()
        .position(|vs| {
            let ServiceKey::Addr { addr, port, .. } = vs.entry.service.key else {
                unreachable!()
            };
            eleventh.contains(&format!(" {addr}:{port} "))
        })
        .unwrap();
    let (writes, done) = streamed(&servers, Some(fail_at), |e, r, o| {
        stream_list_text(&info(), e, r, &opts, &names, o)
    });
    assert_eq!(done, Err("no such luck"));
    let printed = String::from_utf8(writes.concat()).unwrap();
    // The header, the titles and the ten services before it with their destinations.
    let expect: String = whole.split_inclusive('\n').take(3 + 10 * 3).collect();
    assert_eq!(printed, expect);

    // -S the same, without a header.
    let whole = save_text_with(&servers, true, true, &names);
    let (writes, done) = streamed(&servers, Some(fail_at), |e, r, o| {
        stream_save_text(e, r, true, true, &names, o)
    });
    assert_eq!(done, Err("no such luck"));
    let expect: String = whole.split_inclusive('\n').take(10 * 3).collect();
    assert_eq!(String::from_utf8(writes.concat()).unwrap(), expect);

    // JSON: the document is cut after the services before it (a failed listing exits 1).
    let (writes, done) = streamed(&servers, Some(fail_at), |e, r, o| {
        stream_list_json(&info(), e, r, &opts, o)
    });
    assert_eq!(done, Err("no such luck"));
    let whole = list_json(&info(), &servers, &opts);
    let printed = String::from_utf8(writes.concat()).unwrap();
    assert!(whole.starts_with(&printed) && printed.len() < whole.len());
    assert_eq!(printed.matches("\"scheduler\"").count(), 10);
}
