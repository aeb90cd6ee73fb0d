//! The IPVS generic-netlink socket: family resolution, request/ACK, dumps
//! and batches of many messages per send.

use std::ops::Range;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use netlink_packet_core::{Emitable, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use crate::consts::{CTRL_CMD_NEWFAMILY, GENL_ID_CTRL, IPVS_GENL_NAME};
use crate::ctrl::{parse_family_id, GetFamily};
use crate::error::{Error, KernelError};
use crate::frame::{self, decode, encode, Body};
use crate::message::IpvsMessage;
use crate::netns::run_in_netns;

/// Receive buffer for one datagram. The kernel sizes dump chunks from the
/// largest read it has seen (up to 32 KiB), so 64 KiB never truncates.
const RECV_BUF: usize = 64 * 1024;
/// Socket receive queue we ask for, so the ACKs of a batch never overflow it.
const RCVBUF: usize = 4 * 1024 * 1024;
/// Bytes of requests per send in a batch.
const BATCH_BYTES: usize = 32 * 1024;
/// Default receive timeout: a kernel that does not answer is an error, not a hang.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times a dump that a concurrent change interrupted (`NLM_F_DUMP_INTR`) is started
/// again before [`Error::DumpInterrupted`].
pub const DUMP_ATTEMPTS: usize = 8;

/// A netlink socket bound to the IPVS family of one network namespace.
#[derive(Debug)]
pub struct IpvsSocket {
    wire: Wire<Socket>,
}

/// What the request, dump and batch logic needs of a netlink socket: one datagram out, one
/// datagram in. The seam that lets host tests play the kernel's side with crafted bytes.
pub(crate) trait Link {
    /// Sends one datagram.
    fn send(&mut self, bytes: &[u8]) -> Result<(), Error>;
    /// Receives one datagram into `buf` (cleared first).
    fn recv(&mut self, buf: &mut Vec<u8>) -> Result<(), Error>;
    /// Receives one datagram into `buf` if one is queued: false when none is.
    fn recv_nowait(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error>;
}

impl Link for Socket {
    fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        Socket::send(self, bytes, 0)?;
        Ok(())
    }

    fn recv(&mut self, buf: &mut Vec<u8>) -> Result<(), Error> {
        socket_recv(self, buf, 0)
    }

    fn recv_nowait(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error> {
        match socket_recv(self, buf, libc::MSG_DONTWAIT) {
            Ok(()) => Ok(true),
            Err(Error::Timeout) => Ok(false), // EAGAIN: the queue is empty
            Err(e) => Err(e),
        }
    }
}

fn socket_recv(sock: &Socket, buf: &mut Vec<u8>, flags: libc::c_int) -> Result<(), Error> {
    buf.clear();
    let n = loop {
        match Socket::recv(sock, buf, libc::MSG_TRUNC | flags) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => break r?,
        }
    };
    if n > buf.len() {
        return Err(Error::Io(std::io::Error::other(format!(
            "netlink datagram of {n} bytes truncated to {}",
            buf.len()
        ))));
    }
    Ok(())
}

/// The conversation with the kernel over a [`Link`]: sequence numbers, ACKs, dumps, batches.
#[derive(Debug)]
pub(crate) struct Wire<L> {
    link: L,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
    /// How many messages one batch send may hold, from the receive queue we got.
    batch_max: usize,
}

/// The outcome of one message of a batch.
pub type BatchResult = Result<(), KernelError>;

impl IpvsSocket {
    /// Opens a socket in the caller's network namespace and resolves the family.
    pub fn open() -> Result<Self, Error> {
        Self::from_socket(Self::new_socket()?)
    }

    /// Opens a socket in the network namespace at `path` (e.g. `/var/run/netns/NAME`
    /// or `/proc/PID/ns/net`). Only a short-lived helper thread enters it.
    pub fn open_in_netns(path: &Path) -> Result<Self, Error> {
        let sock = run_in_netns(path, Self::new_socket)?;
        Self::from_socket(sock)
    }

    fn new_socket() -> std::io::Result<Socket> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        Ok(sock)
    }

    fn from_socket(sock: Socket) -> Result<Self, Error> {
        // Errors echo only the request header; the kernel's text still comes.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        let rcvbuf = set_rcvbuf(&sock, RCVBUF);
        set_timeout(&sock, DEFAULT_TIMEOUT)?;
        let mut wire = Wire::new(sock, batch_max_for(rcvbuf));
        wire.family = wire.resolve_family()?;
        Ok(IpvsSocket { wire })
    }

    /// The generic-netlink family id of IPVS in this namespace.
    pub fn family_id(&self) -> u16 {
        self.wire.family
    }

    /// Changes the receive timeout (default [`DEFAULT_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        set_timeout(&self.wire.link, timeout).map_err(Error::from)
    }

    /// Asks for a receive queue of `bytes` (`SO_RCVBUF`, within the system's limits) and sizes
    /// the sends of [`IpvsSocket::batch`] to what the kernel granted, which it returns: a
    /// smaller queue means fewer messages per send, so that the answers of one send fit.
    pub fn set_receive_buffer(&mut self, bytes: usize) -> Result<usize, Error> {
        self.wire
            .link
            .set_rx_buf_sz(bytes.min(i32::MAX as usize) as libc::c_int)?;
        let granted = self.wire.link.get_rx_buf_sz()? / 2;
        self.wire.batch_max = batch_max_for(granted);
        Ok(granted)
    }

    /// How many messages one send of [`IpvsSocket::batch`] holds at most.
    pub fn batch_limit(&self) -> usize {
        self.wire.batch_max
    }

    /// Sets how many messages one send of [`IpvsSocket::batch`] may hold, whatever the receive
    /// queue: for tests of what happens when the answers do not fit (`ENOBUFS`).
    #[doc(hidden)]
    pub fn set_batch_limit(&mut self, messages: usize) {
        self.wire.batch_max = messages.max(1);
    }

    /// Sends `msg` without asking for an ACK, then waits for an answer as
    /// [`IpvsSocket::request`] does: a change that succeeds gets no answer, so this waits for
    /// the receive timeout. For tests of a reply that never comes.
    #[doc(hidden)]
    pub fn request_without_ack(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        self.wire.exchange(msg, NLM_F_REQUEST, false)
    }

    /// Sends `msg` and waits for its ACK, returning the data messages that came before it
    /// (the reply of a `GET_SERVICE`, `GET_INFO` or `GET_CONFIG`).
    pub fn request(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        self.wire.request(msg)
    }

    /// Sends `msg` as a dump request and reads every part until `NLMSG_DONE`. A dump the
    /// kernel marks interrupted (`NLM_F_DUMP_INTR`: the table changed while it was being read)
    /// is read again, up to [`DUMP_ATTEMPTS`] times, never returned half.
    pub fn dump(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        self.wire.dump(msg)
    }

    /// Sends many requests, many per `send`, and returns each one's outcome in order.
    ///
    /// The kernel runs the messages of one send in order and answers each
    /// failure; only the last message of each send asks for an ACK, which
    /// tells that every answer before it has been queued. A failed message does
    /// not stop the ones after it. When the answers overflow the receive queue
    /// (`ENOBUFS`), the kernel has dropped some: the error
    /// [`Error::BatchOverrun`] says which messages were answered, which ran with
    /// an unknown outcome, and that the rest were not sent; later sends hold
    /// half as many messages.
    pub fn batch(&mut self, msgs: &[IpvsMessage]) -> Result<Vec<BatchResult>, Error> {
        self.wire.batch(msgs)
    }
}

/// An ACK or error costs about 1 KiB of receive queue (skb truesize): half the queue's bytes
/// over 1 KiB, so that one send's answers always fit.
fn batch_max_for(rcvbuf: usize) -> usize {
    (rcvbuf / 2048).clamp(1, 1024)
}

impl<L: Link> Wire<L> {
    pub(crate) fn new(link: L, batch_max: usize) -> Self {
        Wire {
            link,
            family: 0,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUF),
            batch_max,
        }
    }

    fn recv(&mut self) -> Result<(), Error> {
        self.link.recv(&mut self.buf)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let seq = self.next_seq();
        let req = encode(
            GENL_ID_CTRL,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            &GetFamily(IPVS_GENL_NAME),
        );
        self.link.send(&req)?;
        let mut id = None;
        loop {
            self.recv()?;
            for f in decode(&self.buf)? {
                if f.seq != seq {
                    continue;
                }
                match f.body {
                    Body::Data(p) if p.first() == Some(&CTRL_CMD_NEWFAMILY) => {
                        id = Some(parse_family_id(p)?)
                    }
                    Body::Error { errno: 0, .. } => return id.ok_or(Error::FamilyNotFound),
                    Body::Error { errno, .. } if errno == libc::ENOENT => {
                        return Err(Error::FamilyNotFound)
                    }
                    Body::Error { errno, ext_ack } => {
                        return Err(Error::Kernel(KernelError { errno, ext_ack }))
                    }
                    _ => {}
                }
            }
        }
    }

    fn request(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        self.exchange(msg, NLM_F_REQUEST | NLM_F_ACK, false)
    }

    fn dump(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        for _ in 0..DUMP_ATTEMPTS {
            match self.exchange(msg, NLM_F_REQUEST | NLM_F_DUMP, true) {
                Err(Error::DumpInterrupted) => continue,
                other => return other,
            }
        }
        Err(Error::DumpInterrupted)
    }

    /// Sends one message and collects the data messages answering it, until
    /// its ACK (a request) or `NLMSG_DONE` (a dump); an error ends it early.
    /// A dump's parts marked `NLM_F_DUMP_INTR` make it [`Error::DumpInterrupted`], once read to
    /// its end (so that the socket holds nothing of it afterwards).
    fn exchange(
        &mut self,
        msg: &IpvsMessage,
        flags: u16,
        is_dump: bool,
    ) -> Result<Vec<IpvsMessage>, Error> {
        let seq = self.next_seq();
        self.link.send(&encode(self.family, flags, seq, msg))?;
        let mut out = Vec::new();
        let mut interrupted = false;
        loop {
            self.recv()?;
            for f in decode(&self.buf)? {
                if f.seq != seq {
                    continue; // a late answer to an earlier, timed-out request
                }
                if is_dump && f.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match f.body {
                    Body::Data(p) if f.message_type == self.family => {
                        out.push(IpvsMessage::parse(p)?)
                    }
                    Body::Error { errno: 0, .. } if !is_dump => return Ok(out),
                    Body::Done { errno: 0 } if is_dump && interrupted => {
                        return Err(Error::DumpInterrupted)
                    }
                    Body::Done { errno: 0 } if is_dump => return Ok(out),
                    Body::Error { errno: 0, .. } | Body::Done { errno: 0 } => {}
                    Body::Error { errno, ext_ack } => {
                        return Err(Error::Kernel(KernelError { errno, ext_ack }))
                    }
                    Body::Done { errno } => {
                        return Err(Error::Kernel(KernelError {
                            errno,
                            ext_ack: None,
                        }))
                    }
                    _ => {}
                }
            }
        }
    }

    fn batch(&mut self, msgs: &[IpvsMessage]) -> Result<Vec<BatchResult>, Error> {
        let mut results = Vec::with_capacity(msgs.len());
        let mut start = 0;
        while start < msgs.len() {
            // Choose the chunk first, so its last message is known before encoding.
            let mut end = start;
            let mut bytes = 0;
            while end < msgs.len() && end - start < self.batch_max {
                let len = (frame::NLMSG_HDRLEN + msgs[end].buffer_len() + 3) & !3;
                if end > start && bytes + len > BATCH_BYTES {
                    break;
                }
                bytes += len;
                end += 1;
            }
            let first_seq = self.seq.wrapping_add(1);
            let mut wire = Vec::with_capacity(bytes);
            for (i, msg) in msgs[start..end].iter().enumerate() {
                let seq = self.next_seq();
                let last = start + i + 1 == end;
                let flags = if last {
                    NLM_F_REQUEST | NLM_F_ACK
                } else {
                    NLM_F_REQUEST
                };
                wire.extend_from_slice(&encode(self.family, flags, seq, msg));
            }
            let last_seq = self.seq;
            self.link.send(&wire)?;
            let mut chunk: Vec<BatchResult> = vec![Ok(()); end - start];
            'wait: loop {
                match self.recv() {
                    Err(Error::Io(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                        // The kernel ran the whole send before we read (genetlink answers in
                        // the sender's context) and dropped the answers that did not fit.
                        // What is queued is all that will come: read it, for the refusals
                        // that did arrive, and because the socket stays congested (it drops
                        // every later answer) until its queue has been emptied.
                        let mut refused = Vec::new();
                        while self.link.recv_nowait(&mut self.buf)? {
                            for f in decode(&self.buf)? {
                                let idx = f.seq.wrapping_sub(first_seq) as usize;
                                match f.body {
                                    Body::Error { errno, ext_ack }
                                        if errno != 0 && idx < chunk.len() =>
                                    {
                                        refused.push((start + idx, KernelError { errno, ext_ack }))
                                    }
                                    _ => {}
                                }
                            }
                        }
                        self.batch_max = (self.batch_max / 2).max(1);
                        return Err(Error::BatchOverrun {
                            done: results,
                            in_flight: Range { start, end },
                            refused,
                        });
                    }
                    other => other?,
                }
                for f in decode(&self.buf)? {
                    let idx = f.seq.wrapping_sub(first_seq) as usize;
                    if idx >= chunk.len() {
                        continue;
                    }
                    if let Body::Error { errno, ext_ack } = f.body {
                        if errno != 0 {
                            chunk[idx] = Err(KernelError { errno, ext_ack });
                        }
                        if f.seq == last_seq {
                            break 'wait;
                        }
                    }
                }
            }
            results.extend(chunk);
            start = end;
        }
        Ok(results)
    }
}

/// Asks for `want` bytes of receive queue: beyond rmem_max as root (SO_RCVBUFFORCE),
/// else what SO_RCVBUF allows. Returns what the kernel granted.
fn set_rcvbuf(sock: &Socket, want: usize) -> usize {
    let v = want as libc::c_int;
    // SAFETY: `v` outlives the call and its size is passed; the fd is valid while `sock` lives.
    let forced = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &v as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if forced != 0 {
        let _ = sock.set_rx_buf_sz(v);
    }
    // The kernel reports double what it accounts, overhead included.
    sock.get_rx_buf_sz().map(|n| n / 2).unwrap_or(212_992 / 2)
}

fn set_timeout(sock: &Socket, timeout: Duration) -> std::io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: `tv` outlives the call and its size is passed; the fd is valid while `sock` lives.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The kernel's side played with crafted datagrams: what cannot be provoked on demand
/// (`NLM_F_DUMP_INTR`: IPVS's dumps do not mark themselves) or only with a real kernel.
#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use netlink_packet_core::{NLMSG_DONE, NLMSG_ERROR, NLM_F_MULTIPART};

    use super::*;
    use crate::frame::NLMSG_HDRLEN;
    use crate::message::Command;

    const FAMILY: u16 = 0x2a;

    /// One answer of the fake kernel to one send: the datagrams it queues, given the sent
    /// messages' sequence numbers.
    type Answer = Box<dyn Fn(&[u32]) -> Vec<Result<Vec<u8>, Error>>>;

    #[derive(Default)]
    struct FakeKernel {
        answers: VecDeque<Answer>,
        queue: VecDeque<Result<Vec<u8>, Error>>,
        sends: usize,
    }

    impl std::fmt::Debug for FakeKernel {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "FakeKernel({} sends)", self.sends)
        }
    }

    impl Link for FakeKernel {
        fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
            self.sends += 1;
            let seqs: Vec<u32> = decode(bytes).unwrap().iter().map(|f| f.seq).collect();
            let answer = self.answers.pop_front().expect("an answer for every send");
            self.queue.extend(answer(&seqs));
            Ok(())
        }

        fn recv(&mut self, buf: &mut Vec<u8>) -> Result<(), Error> {
            buf.clear();
            // Nothing queued: what the socket's receive timeout turns into.
            let d = self.queue.pop_front().unwrap_or(Err(Error::Timeout))?;
            buf.extend_from_slice(&d);
            Ok(())
        }

        fn recv_nowait(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error> {
            if self.queue.is_empty() {
                return Ok(false);
            }
            self.recv(buf).map(|()| true)
        }
    }

    fn wire(answers: Vec<Answer>) -> Wire<FakeKernel> {
        let mut w = Wire::new(
            FakeKernel {
                answers: answers.into(),
                ..Default::default()
            },
            1024,
        );
        w.family = FAMILY;
        w
    }

    /// A part of a GET_SERVICE dump: an empty NEW_SERVICE message.
    fn part(seq: u32, flags: u16) -> Vec<u8> {
        encode(
            FAMILY,
            NLM_F_MULTIPART | flags,
            seq,
            &IpvsMessage::new(Command::NewService, vec![]),
        )
    }

    fn done(seq: u32, flags: u16) -> Vec<u8> {
        let mut d = vec![0u8; NLMSG_HDRLEN + 4];
        let len = d.len() as u32;
        d[..4].copy_from_slice(&len.to_ne_bytes());
        d[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        d[6..8].copy_from_slice(&(NLM_F_MULTIPART | flags).to_ne_bytes());
        d[8..12].copy_from_slice(&seq.to_ne_bytes());
        d
    }

    fn ack(seq: u32, errno: i32) -> Vec<u8> {
        let mut d = vec![0u8; NLMSG_HDRLEN + 4 + NLMSG_HDRLEN];
        let len = d.len() as u32;
        d[..4].copy_from_slice(&len.to_ne_bytes());
        d[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        d[8..12].copy_from_slice(&seq.to_ne_bytes());
        d[16..20].copy_from_slice(&(-errno).to_ne_bytes());
        d
    }

    /// A dump of `n` parts, one datagram each, then DONE; with `Some(i)`, part `i` and every
    /// message after it (DONE included: `Some(n)` marks DONE alone) carry NLM_F_DUMP_INTR.
    fn dump_answer(n: usize, intr_from: Option<usize>) -> Answer {
        Box::new(move |seqs| {
            let seq = seqs[0];
            let flag = |i: usize| match intr_from {
                Some(from) if i >= from => NLM_F_DUMP_INTR,
                _ => 0,
            };
            (0..n)
                .map(|i| Ok(part(seq, flag(i))))
                .chain([Ok(done(seq, flag(n)))])
                .collect()
        })
    }

    fn get_services() -> IpvsMessage {
        IpvsMessage::new(Command::GetService, vec![])
    }

    #[test]
    fn an_interrupted_dump_is_read_again_not_returned_half() {
        // The table changed after the first part: the first answer is half and marked.
        let mut w = wire(vec![dump_answer(2, Some(1)), dump_answer(3, None)]);
        let got = w.dump(&get_services()).expect("the second, whole dump");
        assert_eq!(got.len(), 3);
        assert_eq!(w.link.sends, 2);
        assert!(w.link.queue.is_empty());
    }

    #[test]
    fn a_dump_whose_done_alone_is_marked_is_read_again() {
        let mut w = wire(vec![dump_answer(2, Some(2)), dump_answer(4, None)]);
        assert_eq!(w.dump(&get_services()).expect("dump").len(), 4);
        assert_eq!(w.link.sends, 2);
    }

    #[test]
    fn a_dump_interrupted_every_time_is_an_error_after_the_attempts() {
        let answers = (0..DUMP_ATTEMPTS)
            .map(|_| dump_answer(3, Some(0)))
            .collect();
        let mut w = wire(answers);
        match w.dump(&get_services()) {
            Err(Error::DumpInterrupted) => {}
            other => panic!("expected DumpInterrupted, got {other:?}"),
        }
        assert_eq!(w.link.sends, DUMP_ATTEMPTS);
        assert!(w.link.queue.is_empty(), "every attempt was read to its end");
        // The socket is still usable: the next dump, whole, is returned.
        w.link.answers.push_back(dump_answer(1, None));
        assert_eq!(w.dump(&get_services()).expect("dump").len(), 1);
    }

    #[test]
    fn a_request_whose_answer_never_comes_times_out() {
        let mut w = wire(vec![Box::new(|_| vec![])]);
        match w.request(&get_services()) {
            Err(Error::Timeout) => {}
            other => panic!("expected Timeout, got {other:?}"),
        }
    }

    #[test]
    fn a_batch_overrun_reports_what_was_answered_and_what_is_unknown() {
        let mut w = wire(vec![
            // The first send (messages 0 and 1): message 0 failed, the ACK of 1.
            Box::new(|seqs| vec![Ok(ack(seqs[0], libc::EEXIST)), Ok(ack(seqs[1], 0))]),
            // The second (2 and 3): the answers overflowed the queue; the refusal of 2 was
            // queued before, the ACK of 3 was dropped.
            Box::new(|seqs| {
                vec![
                    Err(Error::Io(std::io::Error::from_raw_os_error(libc::ENOBUFS))),
                    Ok(ack(seqs[0], libc::ENOENT)),
                ]
            }),
        ]);
        w.batch_max = 2;
        let msgs: Vec<IpvsMessage> = (0..5).map(|_| get_services()).collect();
        match w.batch(&msgs) {
            Err(Error::BatchOverrun {
                done,
                in_flight,
                refused,
            }) => {
                assert_eq!(done.len(), 2);
                assert_eq!(done[0].as_ref().unwrap_err().errno, libc::EEXIST);
                assert!(done[1].is_ok());
                assert_eq!(in_flight, 2..4);
                assert_eq!(refused.len(), 1, "{refused:?}");
                assert_eq!((refused[0].0, refused[0].1.errno), (2, libc::ENOENT));
            }
            other => panic!("expected BatchOverrun, got {other:?}"),
        }
        assert!(
            w.link.queue.is_empty(),
            "the queue was emptied: the kernel answers again"
        );
        assert_eq!(w.link.sends, 2, "message 4 was not sent");
        assert_eq!(w.batch_max, 1, "later sends are smaller");
    }
}
