//! Fuzzing of the conversation: requests, dumps, batches and the family look-up read mutated
//! replies of the golden captures. Whatever comes back, each call ends (with the answer or an
//! error: a missing reply is the receive timeout) and never panics.

use std::collections::VecDeque;

use super::*;
use crate::frame::NLMSG_HDRLEN;
use crate::fuzz_tests::{fuzz, messages};
use crate::message::Command;
use fuzz::From;

/// The family id of the captures (see tests/fixtures/README.md).
const CAPTURED_FAMILY: u16 = 0x20;

/// Plays the kernel: every send is answered with the input, cut into datagrams at its
/// messages' own lengths (the rest, when a length is wrong, one datagram more), a datagram
/// longer than the read is an error, as the real socket makes it.
struct Replayer {
    answer: Vec<Vec<u8>>,
    queue: VecDeque<Vec<u8>>,
    sends: usize,
}

impl Link for Replayer {
    fn send(&mut self, _bytes: &[u8]) -> Result<(), Error> {
        self.sends += 1;
        // Every datagram the kernel would queue, once per send (a retried dump gets them again).
        self.queue.extend(self.answer.iter().cloned());
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let d = self.queue.pop_front().ok_or(Error::Timeout)?;
        if d.len() > buf.len() {
            return Err(Error::Io(std::io::Error::other("truncated")));
        }
        buf[..d.len()].copy_from_slice(&d);
        Ok(d.len())
    }

    fn recv_nowait(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        if self.queue.is_empty() {
            return Ok(None);
        }
        self.recv(buf).map(Some)
    }
}

fn datagrams(mut input: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while input.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([input[0], input[1], input[2], input[3]]) as usize;
        if len < NLMSG_HDRLEN || len > input.len() {
            break;
        }
        out.push(input[..len].to_vec());
        input = &input[((len + 3) & !3).min(input.len())..];
    }
    if !input.is_empty() {
        out.push(input.to_vec());
    }
    out
}

fn wire(input: &[u8]) -> Wire<Replayer> {
    let mut w = Wire::new(
        Replayer {
            answer: datagrams(input),
            queue: VecDeque::new(),
            sends: 0,
        },
        64,
    );
    w.family = CAPTURED_FAMILY;
    w
}

/// Each capture's replies as one input, their sequence numbers made 1: the first request of a
/// fresh conversation.
fn seeds() -> Vec<Vec<u8>> {
    let mut by_file: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, from, mut m) in messages() {
        if from != From::Kernel || m.len() < NLMSG_HDRLEN {
            continue;
        }
        m[8..12].copy_from_slice(&1u32.to_ne_bytes());
        match by_file.last_mut() {
            Some((n, d)) if *n == name => {
                d.resize((d.len() + 3) & !3, 0);
                d.extend_from_slice(&m);
            }
            _ => by_file.push((name, m)),
        }
    }
    let mut seeds: Vec<Vec<u8>> = by_file.into_iter().map(|(_, d)| d).collect();
    // And each with its first message marked NLM_F_DUMP_INTR (a dump the kernel interrupted).
    let marked: Vec<Vec<u8>> = seeds
        .iter()
        .map(|d| {
            let mut d = d.clone();
            let flags = u16::from_ne_bytes([d[6], d[7]]) | NLM_F_DUMP_INTR;
            d[6..8].copy_from_slice(&flags.to_ne_bytes());
            d
        })
        .collect();
    seeds.extend(marked);
    seeds
}

#[test]
fn fuzz_requests_dumps_batches_and_family_look_ups() {
    let seeds = seeds();
    assert!(seeds.len() > 60, "{} captures", seeds.len());
    let get = |cmd| IpvsMessage::new(cmd, vec![]);
    let mut sends = 0;
    // Four conversations an execution: a smaller budget.
    let c = fuzz::run_for(10_000, "dump, request, batch, family", &seeds, |input| {
        let mut ok = false;
        let mut w = wire(input);
        ok |= w.dump(&get(Command::GetService)).is_ok();
        sends += w.link.sends;
        let mut w = wire(input);
        ok |= w.request(&get(Command::GetInfo)).is_ok();
        let mut w = wire(input);
        ok |= w.batch(&[get(Command::Flush)]).is_ok();
        let mut w = wire(input);
        w.family = 0;
        ok |= w.resolve_family().is_ok();
        ok
    });
    assert!(c.accepted > 0 && c.accepted < c.execs, "{c:?}");
    // Some dumps were read again (marked NLM_F_DUMP_INTR), and each retry was bounded.
    assert!(sends > c.execs as usize, "{sends} dump sends");
}
