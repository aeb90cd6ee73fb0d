//! The IPVS generic-netlink socket: family resolution, request/ACK, dumps
//! and batches of many messages per send.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netlink_packet_core::{DecodeError, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use crate::consts::{CTRL_CMD_NEWFAMILY, GENL_ID_CTRL, IPVS_GENL_NAME};
use crate::ctrl::{parse_family_id, GetFamily};
use crate::error::{Error, KernelError};
use crate::frame::{self, decode, encode, frames, Body};
use crate::message::IpvsMessage;
use crate::netns::run_in_netns;

/// Receive buffer for one datagram. The kernel sizes dump chunks from the
/// largest read it has seen (up to 32 KiB), so 64 KiB never truncates.
const RECV_BUF: usize = 64 * 1024;
/// The most a read asks for until a dump needs more than one chunk. The kernel
/// allocates every dump chunk (and the one that only says `NLMSG_DONE`) at the
/// size of the largest read the socket has made, at least `NLMSG_GOODSIZE`
/// (under a page, or under 8 KiB with bigger pages): with 64 KiB reads, each
/// dump of a service's few destinations cost two 32 KiB buffers, which kernels
/// with `init_on_alloc` (Debian's default) clear page by page. A page-sized
/// read holds any chunk of that size, and any request's answer.
fn small_recv() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).unwrap_or(4096).clamp(4096, 8192)
}
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
    /// The namespace the socket was opened in (held open), to open a fresh socket there.
    netns: Option<File>,
    /// The receive timeout set, for a fresh socket.
    timeout: Duration,
    /// The receive queue asked for by [`IpvsSocket::set_receive_buffer`], for a fresh socket.
    rcvbuf: Option<usize>,
}

/// What the request, dump and batch logic needs of a netlink socket: one datagram out, one
/// datagram in. The seam that lets host tests play the kernel's side with crafted bytes.
pub(crate) trait Link {
    /// Sends one datagram.
    fn send(&mut self, bytes: &[u8]) -> Result<(), Error>;
    /// Receives one datagram into `buf`, a read of `buf.len()` bytes; returns its length. A
    /// longer datagram is an error (it was truncated).
    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error>;
    /// [`Link::recv`] if a datagram is queued: `None` when none is.
    fn recv_nowait(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Error>;
}

impl Link for Socket {
    fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        Socket::send(self, bytes, 0)?;
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        socket_recv(self, buf, 0)
    }

    fn recv_nowait(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        match socket_recv(self, buf, libc::MSG_DONTWAIT) {
            Ok(n) => Ok(Some(n)),
            Err(Error::Timeout) => Ok(None), // EAGAIN: the queue is empty
            Err(e) => Err(e),
        }
    }
}

fn socket_recv(sock: &Socket, buf: &mut [u8], flags: libc::c_int) -> Result<usize, Error> {
    let want = buf.len();
    let n = loop {
        let mut window: &mut [u8] = &mut *buf;
        match Socket::recv(sock, &mut window, libc::MSG_TRUNC | flags) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => break r?,
        }
    };
    if n > want {
        return Err(Error::Io(std::io::Error::other(format!(
            "netlink datagram of {n} bytes truncated to {want}"
        ))));
    }
    Ok(n)
}

/// The conversation with the kernel over a [`Link`]: sequence numbers, ACKs, dumps, batches.
#[derive(Debug)]
pub(crate) struct Wire<L> {
    link: L,
    family: u16,
    seq: u32,
    /// The receive buffer, as long as the longest read asked for so far.
    buf: Vec<u8>,
    /// The last request sent by [`Wire::exchange_with`], its buffer kept for the next.
    req: Vec<u8>,
    /// Bytes of `buf` the last read filled.
    len: usize,
    /// Bytes the next read asks for: [`small_recv`] until a dump needs more.
    recv_len: usize,
    /// How many messages one batch send may hold, from the receive queue we got.
    batch_max: usize,
}

/// The outcome of one message of a batch.
pub type BatchResult = Result<(), KernelError>;

impl IpvsSocket {
    /// Opens a socket in the caller's network namespace and resolves the family.
    pub fn open() -> Result<Self, Error> {
        Self::from_socket(Self::new_socket()?, None)
    }

    /// Opens a socket in the network namespace at `path` (e.g. `/var/run/netns/NAME`
    /// or `/proc/PID/ns/net`). Only a short-lived helper thread enters it.
    pub fn open_in_netns(path: &Path) -> Result<Self, Error> {
        let sock = run_in_netns(path, Self::new_socket)?;
        // Held open, so that a fresh socket (see `renew`) is opened in this very namespace,
        // even once its name is gone or names another; the socket keeps it alive anyway.
        let netns = File::open(path).ok();
        Self::from_socket(sock, netns)
    }

    fn new_socket() -> std::io::Result<Socket> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        Ok(sock)
    }

    /// Sets the options every socket gets; returns the receive queue granted.
    fn configure(
        sock: &Socket,
        timeout: Duration,
        rcvbuf: Option<usize>,
    ) -> std::io::Result<usize> {
        // Errors echo only the request header; the kernel's text still comes.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        let granted = match rcvbuf {
            None => set_rcvbuf(sock, RCVBUF),
            Some(bytes) => {
                sock.set_rx_buf_sz(bytes.min(i32::MAX as usize) as libc::c_int)?;
                sock.get_rx_buf_sz()? / 2
            }
        };
        set_timeout(sock, timeout)?;
        Ok(granted)
    }

    fn from_socket(sock: Socket, netns: Option<File>) -> Result<Self, Error> {
        let rcvbuf = Self::configure(&sock, DEFAULT_TIMEOUT, None)?;
        let mut wire = Wire::new(sock, batch_max_for(rcvbuf));
        wire.family = wire.resolve_family()?;
        Ok(IpvsSocket {
            wire,
            netns,
            timeout: DEFAULT_TIMEOUT,
            rcvbuf: None,
        })
    }

    /// After a dump that needed big reads: a fresh socket in the same namespace (the family
    /// id, the sequence numbers and the batch size stay), so that the next dumps get small
    /// chunks again. Keeps the old socket when a new one cannot be had.
    fn renew(&mut self) {
        let sock = match &self.netns {
            Some(ns) => {
                let path = PathBuf::from(format!("/proc/self/fd/{}", ns.as_raw_fd()));
                run_in_netns(&path, Self::new_socket)
            }
            None => Self::new_socket(),
        };
        if let Ok(sock) = sock {
            if Self::configure(&sock, self.timeout, self.rcvbuf).is_ok() {
                self.wire.link = sock;
                self.wire.small_reads();
            }
        }
    }

    /// The generic-netlink family id of IPVS in this namespace.
    pub fn family_id(&self) -> u16 {
        self.wire.family
    }

    /// Changes the receive timeout (default [`DEFAULT_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        set_timeout(&self.wire.link, timeout).map_err(Error::from)?;
        self.timeout = timeout;
        Ok(())
    }

    /// Asks for a receive queue of `bytes` (`SO_RCVBUF`, within the system's limits) and sizes
    /// the sends of [`IpvsSocket::batch`] to what the kernel granted, which it returns: a
    /// smaller queue means fewer messages per send, so that the answers of one send fit.
    pub fn set_receive_buffer(&mut self, bytes: usize) -> Result<usize, Error> {
        self.wire
            .link
            .set_rx_buf_sz(bytes.min(i32::MAX as usize) as libc::c_int)?;
        let granted = self.wire.link.get_rx_buf_sz()? / 2;
        self.rcvbuf = Some(bytes);
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
        self.wire
            .exchange(&|out| frame::push_emitable(out, msg), NLM_F_REQUEST, false)
    }

    /// Sends `msg` and waits for its ACK, returning the data messages that came before it
    /// (the reply of a `GET_SERVICE`, `GET_INFO` or `GET_CONFIG`).
    pub fn request(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        self.wire.request(msg)
    }

    /// [`request`](Self::request) of the payload that `write` appends to its buffer (with a
    /// [`PayloadWriter`](crate::PayloadWriter)).
    pub fn request_with(
        &mut self,
        write: impl Fn(&mut Vec<u8>),
    ) -> Result<Vec<IpvsMessage>, Error> {
        self.wire.exchange(&write, NLM_F_REQUEST | NLM_F_ACK, false)
    }

    /// Sends `msg` as a dump request and reads every part until `NLMSG_DONE`. A dump the
    /// kernel marks interrupted (`NLM_F_DUMP_INTR`: the table changed while it was being read)
    /// is read again, up to [`DUMP_ATTEMPTS`] times, never returned half.
    /// After a dump that needed big reads, the socket is replaced by a fresh one in the same
    /// namespace, so that the kernel sizes the next dumps' chunks from small reads again.
    pub fn dump(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        let out = self.wire.dump(msg);
        if self.wire.big_reads() {
            self.renew();
        }
        out
    }

    /// [`dump`](Self::dump) that hands each part's generic-netlink payload (the bytes after
    /// `struct nlmsghdr`) to `decode` as it lies in the receive buffer and appends what it
    /// returns (`None`: nothing) to `out`: no intermediate [`IpvsMessage`] per part. A dump
    /// read again after an interruption first cuts `out` back to its length before.
    pub fn dump_into<T>(
        &mut self,
        msg: &IpvsMessage,
        out: &mut Vec<T>,
        decode: impl FnMut(&[u8]) -> Result<Option<T>, DecodeError>,
    ) -> Result<(), Error> {
        self.dump_with(|out| frame::push_emitable(out, msg), out, decode)
    }

    /// [`dump_into`](Self::dump_into) of the request payload that `write` appends to its
    /// buffer (with a [`PayloadWriter`](crate::PayloadWriter): no message built first; a
    /// listing sends one such request per service).
    pub fn dump_with<T>(
        &mut self,
        write: impl Fn(&mut Vec<u8>),
        out: &mut Vec<T>,
        decode: impl FnMut(&[u8]) -> Result<Option<T>, DecodeError>,
    ) -> Result<(), Error> {
        let r = self.wire.dump_into(&write, out, decode);
        if self.wire.big_reads() {
            self.renew();
        }
        r
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
        self.wire
            .batch_with(msgs.len(), |i, out| frame::push_emitable(out, &msgs[i]))
    }

    /// [`batch`](Self::batch) of `count` messages whose generic-netlink payloads `write(i,
    /// out)` appends to `out` (with a [`PayloadWriter`](crate::PayloadWriter): no message
    /// built first). `write` may be asked for one message twice.
    pub fn batch_with(
        &mut self,
        count: usize,
        write: impl FnMut(usize, &mut Vec<u8>),
    ) -> Result<Vec<BatchResult>, Error> {
        self.wire.batch_with(count, write)
    }

    /// [`batch_with`](Self::batch_with) of requests that the kernel answers with data (such
    /// as `GET_SERVICE` for one key each): each data message answering request `i` is handed
    /// to `reply(i, payload)` (its generic-netlink payload) as it lies in the receive buffer;
    /// an error `reply` returns ends the batch. The result says, per request, whether the
    /// kernel refused it. Sends hold fewer requests than a batch of changes, since a data
    /// answer takes more room in the receive queue than an ACK.
    pub fn batch_replies_with(
        &mut self,
        count: usize,
        write: impl FnMut(usize, &mut Vec<u8>),
        reply: impl FnMut(usize, &[u8]) -> Result<(), Error>,
    ) -> Result<Vec<BatchResult>, Error> {
        self.wire.batch_replies_with(count, write, reply)
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
            buf: Vec::new(),
            req: Vec::new(),
            len: 0,
            recv_len: small_recv(),
            batch_max,
        }
    }

    /// Whether reads have grown past a page (a dump brought a second chunk of data).
    fn big_reads(&self) -> bool {
        self.recv_len > small_recv()
    }

    /// Reads ask for a page again (on a fresh link: the kernel remembers the largest read).
    fn small_reads(&mut self) {
        self.recv_len = small_recv();
    }

    /// Reads one datagram into `buf[..len]`, with a read of `recv_len` bytes.
    fn recv(&mut self) -> Result<(), Error> {
        self.len = 0;
        let want = self.recv_len;
        if self.buf.len() < want {
            // Grown only when a dump needs big reads: most runs never touch 64 KiB.
            self.buf.resize(want, 0);
        }
        self.len = self.link.recv(&mut self.buf[..want])?;
        Ok(())
    }

    /// [`Wire::recv`] if a datagram is queued: false when none is.
    fn recv_nowait(&mut self) -> Result<bool, Error> {
        self.len = 0;
        let want = self.recv_len;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        match self.link.recv_nowait(&mut self.buf[..want])? {
            Some(n) => {
                self.len = n;
                Ok(true)
            }
            None => Ok(false),
        }
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
            for f in decode(&self.buf[..self.len])? {
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
        self.exchange(
            &|out| frame::push_emitable(out, msg),
            NLM_F_REQUEST | NLM_F_ACK,
            false,
        )
    }

    fn dump(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        let mut out = Vec::new();
        self.dump_into(
            &|out: &mut Vec<u8>| frame::push_emitable(out, msg),
            &mut out,
            |p| IpvsMessage::parse(p).map(Some),
        )?;
        Ok(out)
    }

    /// A dump of the request payload `payload` writes, whose parts `decode` turns into values
    /// appended to `out` straight from the receive buffer. An interrupted dump is read again,
    /// `out` first cut back to its length before (so it never holds half a dump).
    fn dump_into<T>(
        &mut self,
        payload: &dyn Fn(&mut Vec<u8>),
        out: &mut Vec<T>,
        mut decode: impl FnMut(&[u8]) -> Result<Option<T>, DecodeError>,
    ) -> Result<(), Error> {
        let before = out.len();
        for _ in 0..DUMP_ATTEMPTS {
            let mut sink = |p: &[u8]| -> Result<(), Error> {
                if let Some(v) = decode(p)? {
                    out.push(v);
                }
                Ok(())
            };
            match self.exchange_with(payload, NLM_F_REQUEST | NLM_F_DUMP, true, &mut sink) {
                Err(Error::DumpInterrupted) => out.truncate(before),
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
        payload: &dyn Fn(&mut Vec<u8>),
        flags: u16,
        is_dump: bool,
    ) -> Result<Vec<IpvsMessage>, Error> {
        let mut out = Vec::new();
        let mut sink = |p: &[u8]| -> Result<(), Error> {
            out.push(IpvsMessage::parse(p)?);
            Ok(())
        };
        self.exchange_with(payload, flags, is_dump, &mut sink)?;
        Ok(out)
    }

    /// [`Wire::exchange`] that hands each data message's payload (after `nlmsghdr`) to `sink`
    /// as it lies in the receive buffer.
    fn exchange_with(
        &mut self,
        payload: &dyn Fn(&mut Vec<u8>),
        flags: u16,
        is_dump: bool,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let seq = self.next_seq();
        // The request's buffer is kept between requests: a listing makes one per service.
        let mut req = std::mem::take(&mut self.req);
        req.clear();
        frame::encode_with(&mut req, self.family, flags, seq, payload);
        let sent = self.link.send(&req);
        self.req = req;
        sent?;
        let mut interrupted = false;
        let mut chunks = 0;
        loop {
            self.recv()?;
            let mut data = false;
            let datagram = &self.buf[..self.len];
            // The whole datagram is checked before any of it is acted on, as a list of its
            // messages was made first; walked twice, it needs no list (two reads a service).
            frames(datagram).try_for_each(|f| f.map(drop))?;
            for f in frames(datagram).flatten() {
                if f.seq != seq {
                    continue; // a late answer to an earlier, timed-out request
                }
                if is_dump && f.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match f.body {
                    Body::Data(p) if f.message_type == self.family => {
                        data = true;
                        sink(p)?
                    }
                    Body::Error { errno: 0, .. } if !is_dump => return Ok(()),
                    Body::Done { errno: 0 } if is_dump && interrupted => {
                        return Err(Error::DumpInterrupted)
                    }
                    Body::Done { errno: 0 } if is_dump => return Ok(()),
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
            // The kernel ends a dump with a chunk of its own that says NLMSG_DONE. A second
            // chunk of data makes a big dump: big reads, so that the kernel fills fewer,
            // larger chunks (each one walks the table again from its start).
            if is_dump && data {
                chunks += 1;
                if chunks >= 2 {
                    self.recv_len = RECV_BUF;
                }
            }
        }
    }

    #[cfg(test)]
    fn batch(&mut self, msgs: &[IpvsMessage]) -> Result<Vec<BatchResult>, Error> {
        self.batch_with(msgs.len(), |i, out| frame::push_emitable(out, &msgs[i]))
    }

    fn batch_with(
        &mut self,
        count: usize,
        write: impl FnMut(usize, &mut Vec<u8>),
    ) -> Result<Vec<BatchResult>, Error> {
        let per_send = self.batch_max;
        self.batch_each(count, per_send, write, |_, _| Ok(()))
    }

    /// A batch whose requests may be answered with data (a `GET_SERVICE` each, say): every
    /// data message answering request `i` goes to `reply(i, payload)`. A data answer takes
    /// about four times an ACK's room in the receive queue, so a send holds a quarter as many.
    fn batch_replies_with(
        &mut self,
        count: usize,
        write: impl FnMut(usize, &mut Vec<u8>),
        reply: impl FnMut(usize, &[u8]) -> Result<(), Error>,
    ) -> Result<Vec<BatchResult>, Error> {
        let per_send = (self.batch_max / 4).max(1);
        self.batch_each(count, per_send, write, reply)
    }

    fn batch_each(
        &mut self,
        count: usize,
        per_send: usize,
        mut write: impl FnMut(usize, &mut Vec<u8>),
        mut reply: impl FnMut(usize, &[u8]) -> Result<(), Error>,
    ) -> Result<Vec<BatchResult>, Error> {
        let mut results = Vec::with_capacity(count);
        let mut wire = Vec::with_capacity(BATCH_BYTES + 4096);
        let mut start = 0;
        while start < count {
            // Each message is encoded once, straight into the send buffer; one that would
            // take the send past BATCH_BYTES is taken back and opens the next send.
            wire.clear();
            let first_seq = self.seq.wrapping_add(1);
            let mut end = start;
            let mut last_at = 0;
            while end < count && end - start < per_send {
                let at = wire.len();
                let seq = self.seq.wrapping_add(1);
                frame::encode_with(&mut wire, self.family, NLM_F_REQUEST, seq, |out| {
                    write(end, out)
                });
                if end > start && wire.len() > BATCH_BYTES {
                    wire.truncate(at);
                    break;
                }
                self.seq = seq;
                last_at = at;
                end += 1;
            }
            // Only the last message of the send asks for an ACK: nlmsg_flags is at bytes 6..8.
            let flags = (NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes();
            wire[last_at + 6..last_at + 8].copy_from_slice(&flags);
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
                        while self.recv_nowait()? {
                            for f in decode(&self.buf[..self.len])? {
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
                for f in decode(&self.buf[..self.len])? {
                    let idx = f.seq.wrapping_sub(first_seq) as usize;
                    if idx >= chunk.len() {
                        continue;
                    }
                    match f.body {
                        Body::Data(p) if f.message_type == self.family => reply(start + idx, p)?,
                        Body::Error { errno, ext_ack } => {
                            if errno != 0 {
                                chunk[idx] = Err(KernelError { errno, ext_ack });
                            }
                            if f.seq == last_seq {
                                break 'wait;
                            }
                        }
                        _ => {}
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

/// Mutated replies of the golden captures (`socket/fuzz.rs`).
#[cfg(test)]
mod fuzz;

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
        /// The longest read asked for (the kernel sizes dump chunks from it).
        largest_read: usize,
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

        fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
            self.largest_read = self.largest_read.max(buf.len());
            // Nothing queued: what the socket's receive timeout turns into.
            let d = self.queue.pop_front().unwrap_or(Err(Error::Timeout))?;
            assert!(d.len() <= buf.len(), "a datagram of {} bytes", d.len());
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

    #[test]
    fn reads_are_a_page_until_a_dump_brings_a_second_chunk_of_data() {
        // One chunk of data then DONE: every read stays a page.
        let mut w = wire(vec![dump_answer(1, None), dump_answer(2, None)]);
        assert_eq!(w.dump(&get_services()).expect("dump").len(), 1);
        assert!(!w.big_reads());
        assert_eq!(w.link.largest_read, small_recv());
        // Two chunks of data: the reads after the second are 64 KiB.
        assert_eq!(w.dump(&get_services()).expect("dump").len(), 2);
        assert!(w.big_reads());
        assert_eq!(w.link.largest_read, RECV_BUF);
        w.small_reads();
        assert!(!w.big_reads());
    }

    #[test]
    fn a_batch_with_asks_for_each_message_once_and_splits_the_sends() {
        let mut w = wire(vec![
            Box::new(|seqs: &[u32]| {
                assert_eq!(seqs.len(), 3);
                vec![Ok(ack(seqs[1], libc::EEXIST)), Ok(ack(seqs[2], 0))]
            }),
            Box::new(|seqs: &[u32]| vec![Ok(ack(seqs[1], 0))]),
        ]);
        w.batch_max = 3;
        let mut asked = vec![0; 5];
        let got = w
            .batch_with(5, |i, out| {
                asked[i] += 1;
                frame::push_emitable(out, &get_services())
            })
            .expect("batch");
        assert_eq!(got.len(), 5);
        assert_eq!(got[1].as_ref().unwrap_err().errno, libc::EEXIST);
        assert!(got.iter().enumerate().all(|(i, r)| i == 1 || r.is_ok()));
        assert_eq!(asked, vec![1; 5]);
        assert_eq!(w.link.sends, 2);
    }

    #[test]
    fn a_batch_of_lookups_hands_each_answer_to_its_request_and_sends_fewer_per_send() {
        let found = |seq| {
            encode(
                FAMILY,
                0,
                seq,
                &IpvsMessage::new(Command::NewService, vec![]),
            )
        };
        let mut w = wire(vec![
            // Requests 0 and 1: 0 found; 1, the last of the send, refused (no such service).
            Box::new(move |seqs: &[u32]| {
                assert_eq!(seqs.len(), 2, "a quarter of the batch limit per send");
                vec![Ok(found(seqs[0])), Ok(ack(seqs[1], libc::ESRCH))]
            }),
            // Request 2: found, then its ACK.
            Box::new(move |seqs: &[u32]| vec![Ok(found(seqs[0])), Ok(ack(seqs[0], 0))]),
        ]);
        w.batch_max = 8;
        let mut answered = Vec::new();
        let got = w
            .batch_replies_with(
                3,
                |_, out| frame::push_emitable(out, &get_services()),
                |i, payload| {
                    assert_eq!(IpvsMessage::parse(payload)?.cmd, Command::NewService);
                    answered.push(i);
                    Ok(())
                },
            )
            .expect("batch");
        assert_eq!(answered, [0, 2]);
        assert!(got[0].is_ok() && got[2].is_ok());
        assert_eq!(got[1].as_ref().unwrap_err().errno, libc::ESRCH);
        assert_eq!(w.link.sends, 2);
    }
}
